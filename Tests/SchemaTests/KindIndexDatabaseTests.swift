import Foundation
import KindModel
import TestSupport
import Testing

@testable import Schema

/// `indexes:` against a real PostgreSQL: the migration creates the index, the list query's plan
/// reads it in order (the reason the feature exists), and `migrate check` notices when it is gone.
@Suite struct KindIndexDatabaseTests {
    static let indexName = "podcast_host_duration_desc_name_idx"

    /// The project's kinds with podcast's `indexes:` removed (as before migration 0003) or kept.
    static func catalog(podcastIndexes: Bool) throws -> KindCatalog {
        var all = try projectKinds().kinds
        let i = try #require(all.firstIndex { $0.name == "podcast" })
        if !podcastIndexes { all[i].indexes = [] }
        return KindCatalog(all)
    }

    @Test func migrationCreatesTheIndexAndTheListQueryUsesIt() async throws {
        try await withFixture("kidx") { f in
            try await f.migrate(try Self.catalog(podcastIndexes: false))
            let file = try await f.migrate(try Self.catalog(podcastIndexes: true))
            #expect(file.name == "0002_index_podcast_host_duration_name")
            #expect(
                try await f.column("SELECT indexdef FROM pg_indexes WHERE indexname = '\(Self.indexName)'") == [
                    "CREATE INDEX \(Self.indexName) ON public.podcast USING btree (host, duration DESC NULLS LAST, name, id)"
                ])
            // 3000 episodes over 10 hosts, then statistics, as a real table would have.
            try await f.execute(
                """
                INSERT INTO podcast (name, duration, host)
                SELECT 'episode ' || g, 1 + (g * 7919) % 7200, 'host ' || (g % 10) FROM generate_series(1, 3000) AS g
                """, "ANALYZE podcast")
            let plan = try await f.column(
                """
                EXPLAIN (COSTS OFF) SELECT * FROM podcast WHERE host = 'host 3' AND duration >= 60
                ORDER BY duration DESC NULLS LAST, name ASC NULLS LAST, id ASC LIMIT 51
                """
            ).compactMap { $0 }.joined(separator: "\n")
            #expect(plan.contains("Index Scan using \(Self.indexName) on podcast"), "\(plan)")
            #expect(!plan.contains("Sort"), "the rows come in index order, no sort: \(plan)")
        }
    }

    @Test func droppedOrAlteredIndexIsDrift() async throws {
        try await withFixture("kidx-drift") { f in
            try await f.migrate(try Self.catalog(podcastIndexes: true))
            #expect(try await f.runner { try await $0.checkDrift() }.isClean)
            try await f.execute("DROP INDEX \(Self.indexName)")
            let missing = try await f.runner { try await $0.checkDrift() }.differences
            #expect(
                missing == [
                    #"table "podcast": index "\#(Self.indexName)" (`CREATE INDEX \#(Self.indexName) ON podcast USING btree (host, duration DESC NULLS LAST, name, id)`) is missing from the database"#
                ])
            // Same name, wrong direction: the list query could not use it either.
            try await f.execute("CREATE INDEX \(Self.indexName) ON podcast (host, duration, name, id)")
            let altered = try await f.runner { try await $0.checkDrift() }.differences
            #expect(
                altered.count == 1
                    && altered[0].contains("is `CREATE INDEX \(Self.indexName) ON podcast USING btree (host, duration, name, id)` in the database"),
                "\(altered)")
        }
    }
}
