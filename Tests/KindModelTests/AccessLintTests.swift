import Foundation
import Testing

@testable import KindModel

/// The `access:` block: parsed, private by default, every mistake a positioned lint problem.
@Suite struct AccessLintTests {
    static let fields = "fields:\n  title:\n    type: string\n"

    @Test func aKindWithoutAccessIsPrivateAndTheShippedKindsArePublicReadsWithSignedDownloads() throws {
        let plain = try KindLoader.parse([("kinds/clip.yaml", "name: clip\n" + Self.fields)])
        #expect(plain.kinds[0].access == .private)
        #expect(plain.kinds[0].access == KindAccess(read: .key, download: .key))
        let shipped = try KindLoader.load(directory: repoRoot + "/kinds")
        for kind in shipped.kinds {
            #expect(kind.access == KindAccess(read: .public, download: .signed), "\(kind.name)")
        }
    }

    @Test func everyValueParses() throws {
        for read in ReadAccess.allCases {
            for download in DownloadAccess.allCases {
                let yaml = "name: clip\naccess:\n  read: \(read.rawValue)\n  download: \(download.rawValue)\n" + Self.fields
                let kind = try KindLoader.parse([("kinds/clip.yaml", yaml)]).kinds[0]
                #expect(kind.access == KindAccess(read: read, download: download))
            }
        }
        // A key left out stays private.
        let half = try KindLoader.parse([("kinds/clip.yaml", "name: clip\naccess:\n  read: public\n" + Self.fields)]).kinds[0]
        #expect(half.access == KindAccess(read: .public, download: .key))
    }

    @Test func mistakesAreLintedWithTheirPosition() {
        expectProblem("name: sample\naccess:\n  read: everyone\n" + Self.fields, "access.read must be one of: public, key, not 'everyone'", line: 3)
        expectProblem("name: sample\naccess:\n  download: open\n" + Self.fields, "access.download must be one of: public, key, signed", line: 3)
        expectProblem("name: sample\naccess:\n  reed: public\n" + Self.fields, "unknown access key 'reed'; expected one of: read, download", line: 3)
        expectProblem("name: sample\naccess:\n  write: public\n" + Self.fields, "access.write cannot be set", line: 3)
        expectProblem("name: sample\naccess:\n  delete: public\n" + Self.fields, "access.delete cannot be set", line: 3)
        expectProblem("name: sample\naccess: public\n" + Self.fields, "`access:` must be a mapping", line: 2)
    }

    @Test func accessIsNotPartOfTheSchemaSnapshot() throws {
        let yaml = "name: clip\naccess:\n  read: public\n" + Self.fields
        let kind = try KindLoader.parse([("kinds/clip.yaml", yaml)]).kinds[0]
        let encoded = String(decoding: try JSONEncoder().encode(kind), as: UTF8.self)
        #expect(!encoded.contains("access"))
    }

    @Test func scopesParseAndDecide() {
        #expect(Scope("admin") == .admin)
        #expect(Scope("read:song") == .action(.read, kind: "song"))
        #expect(Scope("delete:*") == .action(.delete, kind: nil))
        for bad in ["", "read", "read:", "Read:song", "read:Song", "fly:song", "admin:song", "read:song:x"] {
            #expect(Scope(bad) == nil, "\(bad)")
        }
        let set = ScopeSet([.action(.read, kind: "song"), .action(.write, kind: nil)])
        #expect(set.allows(.read, on: "song") && !set.allows(.read, on: "podcast"))
        #expect(set.allows(.write, on: "podcast") && !set.allows(.delete, on: "song") && !set.allowsAdmin)
        #expect(ScopeSet([.admin]).allows(.delete, on: "anything"))

        let signed = KindAccess(read: .public, download: .signed)
        #expect(KindRoutePurpose.read.decide(kind: "song", access: signed) == .allowed)
        #expect(KindRoutePurpose.download.decide(kind: "song", access: signed) == .needsScopeOrSignature(.action(.read, kind: "song")))
        #expect(KindRoutePurpose.link.decide(kind: "song", access: signed) == .needsScope(.action(.read, kind: "song")))
        #expect(
            KindRoutePurpose.write.decide(kind: "song", access: KindAccess(read: .public, download: .public))
                == .needsScope(.action(.write, kind: "song")))
        #expect(KindRoutePurpose.link.decide(kind: "song", access: KindAccess(read: .key, download: .public)) == .allowed)
    }
}
