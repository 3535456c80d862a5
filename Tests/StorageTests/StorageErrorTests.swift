import Foundation
import KindModel
import Logging
import PostgresNIO
import Schema
import TestSupport
import Testing

@testable import Storage

/// Which database failures are the client's (4xx), which mean "PostgreSQL is unreachable" (503),
/// and which are bugs (500): classified from real PostgresNIO errors, not hand-made ones.
@Suite struct StorageErrorTests {
    @Test func aRefusedConnectionIsUnavailability() async throws {
        // Port 1 on loopback: nothing listens, the connection is refused at once.
        let configuration = PostgresConnection.Configuration(
            host: "127.0.0.1", port: 1, username: "nobody",
            password: nil, database: nil, tls: .disable)
        do {
            let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: Logger(label: "test"))
            try await connection.close()
            Issue.record("connected to 127.0.0.1:1")
        } catch {
            #expect(StorageError.unavailability(of: error) != nil, "\(String(reflecting: error))")
            #expect(StorageError.from(error, kind: "song") == nil)
        }
    }

    @Test func valueAndSyntaxErrorsAreNotUnavailability() async throws {
        let url = try await TestDatabase.create(label: "storage-error")
        try await TestDatabase.withClient(url) { client in
            do {
                try await client.query("SELECT 'abc'::bigint")
                Issue.record("no error")
            } catch {
                #expect(StorageError.unavailability(of: error) == nil)
                guard case .invalidValue(let message)? = StorageError.from(error, kind: "song") else {
                    Issue.record("not mapped to invalidValue: \(String(reflecting: error))")
                    return
                }
                #expect(message.contains("bigint"))
            }
            do {
                try await client.query("SELEC 1")
                Issue.record("no error")
            } catch {
                #expect(StorageError.unavailability(of: error) == nil && StorageError.from(error, kind: "song") == nil)
            }
        }
    }
}

@Suite struct DatabaseHealthTests {
    static let dead = PostgresConnection.Configuration(host: "127.0.0.1", port: 1, username: "nobody", password: nil, database: nil, tls: .disable)

    @Test func theWatcherSeesAReachableAndAnUnreachableDatabase() async throws {
        let logger = Logger(label: "health-test")
        let url = try await TestDatabase.create(label: "health")
        let up = DatabaseHealth()
        up.record(reachable: false, problem: "not probed yet")
        let down = DatabaseHealth()
        let live = try url.connectionConfiguration()
        // Generous probe timeout and deadline: what is tested is what the watcher sees, not how fast
        // (the full suite beside a benchmark once stalled this test for 30 s, and every 2 s probe of
        // the live database timed out). The loop ends as soon as both verdicts are in.
        let watchers = [
            Task { await up.watch(live, interval: .milliseconds(100), timeout: .seconds(10), logger: logger) },
            Task { await down.watch(Self.dead, interval: .milliseconds(100), logger: logger) },
        ]
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline && !(!up.isKnownDown && down.isKnownDown) {
            try await Task.sleep(for: .milliseconds(50))
        }
        for watcher in watchers { watcher.cancel() }
        #expect(!up.isKnownDown)
        #expect(down.isKnownDown && down.problem != nil)
    }

    /// A verdict that is not renewed stops counting: a stalled watcher must not keep turning a
    /// healthy server's requests away.
    @Test func anOldVerdictFailsOpen() async throws {
        // 1 s, not less: the first check must come within it, however loaded the machine.
        let health = DatabaseHealth(staleAfter: .seconds(1))
        health.record(reachable: false, problem: "probe failed")
        #expect(health.isKnownDown)
        try await Task.sleep(for: .milliseconds(1200))
        #expect(!health.isKnownDown)
    }

    /// A probe gives its verdict within its timeout even when nothing ever answers: here a socket
    /// that accepts connections and never speaks.
    @Test func aSilentServerIsAVerdictWithinTheTimeout() async throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        #expect(listen(fd, 4) == 0)
        let port = Int(UInt16(bigEndian: address.sin_port))
        let silent = PostgresConnection.Configuration(host: "127.0.0.1", port: port, username: "nobody", password: nil, database: nil, tls: .disable)
        let started = ContinuousClock.now
        let verdict = await DatabaseHealth.probe(silent, id: 1, timeout: .milliseconds(500), logger: Logger(label: "health-test"))
        #expect(verdict != nil)
        // Without the deadline the probe would wait forever for the silent server's greeting; the
        // bound is loose because parallel tests can keep the cooperative pool busy for a while.
        #expect(ContinuousClock.now - started < .seconds(30))
    }
}

/// A refusal by the database maps back to the field and rule that made the constraint, also when
/// the constraint's name was shortened (names past 63 bytes are hashed).
@Suite struct ConstraintOwnerTests {
    static let strict = """
        name: a_kind_with_a_rather_long_name_for_testing_xy
        fields:
          a_field_with_a_rather_long_name_for_testing_zz:
            type: string
            unique: true
          level:
            type: integer
            min: 1
            max: 10
          title:
            type: string
            max_length: 5
        """

    @Test func refusalsNameTheirFieldAndRule() async throws {
        let strictKind = try #require(try KindLoader.parse([("kinds/k.yaml", Self.strict)]).kinds.first)
        let loose = try #require(
            try KindLoader.parse([
                (
                    "kinds/k.yaml",
                    Self.strict.replacingOccurrences(of: "max: 10", with: "max: 100").replacingOccurrences(
                        of: "max_length: 5", with: "max_length: 50")
                )
            ]).kinds.first)
        let queries = KindQueries(kind: strictKind)
        let url = try await TestDatabase.create(label: "owners")
        let migrations = FileManager.default.temporaryDirectory.appendingPathComponent("owners-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: migrations) }
        let directory = MigrationDirectory(path: migrations)
        _ = try directory.generate(for: KindCatalog([strictKind]))
        try await TestDatabase.withClient(url) { client in
            _ = try await MigrationRunner(client: client, directory: directory, logger: TestDatabase.logger).apply()
            let store = RecordStore(client: client, logger: TestDatabase.logger, sharing: .off)
            func record(_ json: String, _ kind: KindDefinition) throws -> ValidatedRecord {
                try RecordValidator.validate(try #require(try JSONParser.parse(json).objectValue), kind: kind, mode: .create).get()
            }
            let long = "a_field_with_a_rather_long_name_for_testing_zz"
            _ = try await store.create(try record(#"{"\#(long)":"u","level":5}"#, strictKind), in: queries)
            await #expect(throws: StorageError.uniqueViolation(kind: strictKind.name, field: long)) {
                _ = try await store.create(try record(#"{"\#(long)":"u","level":5}"#, strictKind), in: queries)
            }
            // Valid for the looser definition, refused by the table's CHECK: the field and rule come back.
            await #expect(throws: StorageError.ruleViolation(kind: strictKind.name, field: "level", rule: .max)) {
                _ = try await store.create(try record(#"{"\#(long)":"v","level":50}"#, loose), in: queries)
            }
            // A string's length is a named rule too (not a varchar(n) whose refusal names no field).
            await #expect(throws: StorageError.ruleViolation(kind: strictKind.name, field: "title", rule: .maxLength)) {
                _ = try await store.create(try record(#"{"\#(long)":"w","level":5,"title":"much too long"}"#, loose), in: queries)
            }
        }
    }
}

/// The stored file's members are defined once; the JSON it writes has exactly them, in order.
@Suite struct StoredFileTests {
    @Test func oneEncoderWritesEveryMember() throws {
        let file = StoredFile(
            size: 10, sha256: String(repeating: "a", count: 64), contentType: "audio/wav", originalName: nil, format: "wav",
            codec: "pcm_s16le", durationSeconds: 1.23456, sampleRate: 44_100, channels: 2, bitrate: nil)
        let object = try #require(file.json.objectValue)
        #expect(object.keys == StoredFile.members)
        #expect(object["duration_seconds"] == .double(1.235) && object["original_name"] == .null && object["bitrate"] == .null)
    }
}
