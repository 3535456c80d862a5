import Foundation
public import KindModel

/// What the committed migrations produce: the kinds, and the layout their tables have.
public struct SchemaState: Sendable, Equatable {
    public var kinds: [KindDefinition]
    public var layout: SchemaLayout

    public init(kinds: [KindDefinition], layout: SchemaLayout = .current) {
        self.kinds = kinds
        self.layout = layout
    }

    /// No migration yet: nothing to upgrade from.
    public static let empty = SchemaState(kinds: [], layout: .current)
}

/// The kinds that the committed migrations produce, stored beside each migration as
/// `NNNN_name.kinds.json`. The newest snapshot is the schema state that `migrate generate` diffs
/// against, so generating needs no database and is byte-for-byte reproducible.
///
/// The first layout's snapshots are a JSON array of kinds; later ones an object
/// `{"kinds": [...], "layout": N}`, so a snapshot says which layout its tables have.
public enum Snapshot {
    /// A kind as it is stored in a snapshot: rename hints removed (they have been applied).
    public static func normalized(_ kind: KindDefinition) -> KindDefinition {
        var k = kind
        k.renamedFrom = nil
        k.access = .private  // not part of the schema (see `KindDefinition.access`)
        k.upload?.resumable = nil  // resumable upload tuning is not part of the schema either
        k.fields = k.fields.map {
            var f = $0
            f.renamedFrom = nil
            return f
        }
        return k
    }

    private struct Versioned: Codable {
        var kinds: [KindDefinition]
        var layout: SchemaLayout
    }

    public static func encode(_ kinds: [KindDefinition], layout: SchemaLayout = .current) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        let sorted = kinds.map(normalized).sorted { $0.name < $1.name }
        // Encoding plain value types cannot fail.
        let data = layout == .varcharStrings ? try! encoder.encode(sorted) : try! encoder.encode(Versioned(kinds: sorted, layout: layout))
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    public static func decode(_ text: String) throws -> [KindDefinition] { try decodeState(text).kinds }

    public static func decodeState(_ text: String) throws -> SchemaState {
        let data = Data(text.utf8)
        if text.drop(while: \.isWhitespace).first == "[" {
            return SchemaState(kinds: try JSONDecoder().decode([KindDefinition].self, from: data), layout: .varcharStrings)
        }
        let versioned = try JSONDecoder().decode(Versioned.self, from: data)
        return SchemaState(kinds: versioned.kinds, layout: versioned.layout)
    }
}
