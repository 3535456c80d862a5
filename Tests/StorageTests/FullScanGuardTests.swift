import KindModel
import Testing

@testable import Storage

/// Which list orders an index serves (`KindQueries.unindexedSortKey`): pure, from the kind's
/// declared indexes. The refusal itself is tested on a real table in `HTTPAPITests.FullScanGuardTests`.
@Suite struct UnindexedSortTests {
    static let kind = """
        name: episode
        fields:
          name: {type: string}
          host: {type: string, index: true}
          code: {type: string, unique: true}
          duration: {type: integer, required: true, browse: desc}
          rating: {type: number}
        indexes:
          - [host, -duration, name]
        """

    static func unindexed(_ sort: [(String, Bool)], equal: [String] = [], range: [String] = []) throws -> String? {
        let kind = try #require(try KindLoader.parse([("kinds/episode.yaml", Self.kind)]).kind(named: "episode"))
        var query = ListQuery()
        func field(_ name: String) throws -> FieldDefinition { try #require(kind.filterField(named: name)) }
        query.filters =
            try equal.map { RecordFilter(field: try field($0), op: .eq, value: "1") }
            + range.map { RecordFilter(field: try field($0), op: .gte, value: "1") }
        query.sort = sort.map { SortKey(column: $0.0, descending: $0.1, sqlType: "text") }
        return KindQueries(kind: kind).unindexedSortKey(query).map { ($0.descending ? "-" : "") + $0.column }
    }

    @Test func servedOrders() throws {
        #expect(try Self.unindexed([]) == nil, "id order: the primary key")
        #expect(try Self.unindexed([("id", false)]) == nil)
        #expect(try Self.unindexed([("id", true), ("name", false)]) == nil, "the primary key backwards")
        #expect(try Self.unindexed([("duration", true)], range: ["duration", "rating"]) == nil, "browse: desc")
        #expect(try Self.unindexed([("host", false), ("name", false)]) == nil, "index: true, ascending")
        #expect(try Self.unindexed([("code", false)]) == nil, "unique: true")
        #expect(try Self.unindexed([("duration", true), ("name", false)], equal: ["host"]) == nil, "after the entry's `=` prefix")
    }

    @Test func unservedOrdersNameTheirFirstKey() throws {
        #expect(try Self.unindexed([("duration", false)]) == "duration", "browse: desc only")
        #expect(try Self.unindexed([("name", false), ("duration", true)]) == "name")
        #expect(try Self.unindexed([("host", true)]) == "-host", "index: true is ascending only")
        #expect(try Self.unindexed([("duration", true)], equal: ["name"]) == nil, "the browse index still serves it")
        #expect(try Self.unindexed([("name", false)], equal: ["host"]) == "name", "the entry's next key is -duration")
        #expect(try Self.unindexed([("created_at", false)]) == "created_at")
    }

    @Test func theSettingIsARowCountOrOffAndNothingElse() throws {
        #expect(try FullScanGuard.configured(nil)?.maxRows == FullScanGuard.defaultMaxRows)
        #expect(try FullScanGuard.configured("off") == nil)
        #expect(try FullScanGuard.configured("OFF") == nil)
        #expect(try FullScanGuard.configured("5000")?.maxRows == 5000)
        #expect(try FullScanGuard.configured("0")?.maxRows == 0)
        for bad in ["lots", "100k", "abc", "-1", "1.5", "1e6", "", " 5000"] {
            #expect(throws: FullScanGuard.InvalidSetting.self, "\(bad)") { try FullScanGuard.configured(bad) }
        }
    }
}
