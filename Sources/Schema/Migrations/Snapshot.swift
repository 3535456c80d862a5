import Foundation
public import KindModel

/// The kinds that the committed migrations produce, stored beside each migration as
/// `NNNN_name.kinds.json`. The newest snapshot is the schema state that `migrate generate` diffs
/// against, so generating needs no database and is byte-for-byte reproducible.
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

    public static func encode(_ kinds: [KindDefinition]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        let sorted = kinds.map(normalized).sorted { $0.name < $1.name }
        // Encoding plain value types cannot fail.
        let data = try! encoder.encode(sorted)
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    public static func decode(_ text: String) throws -> [KindDefinition] {
        try JSONDecoder().decode([KindDefinition].self, from: Data(text.utf8))
    }
}
