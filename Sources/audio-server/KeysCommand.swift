import ArgumentParser
import Foundation
import HTTPAPI
import KindModel
import Storage

/// `audio-server keys create|list|revoke`: API keys, the same as `/api/keys` for an admin.
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys", abstract: "Create, list and revoke API keys.",
        subcommands: [Create.self, List.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a key; its secret is printed once, alone on the last line (KEY=$(audio-server keys create … | tail -1)).")
        @OptionGroup var settings: Settings
        @Option(help: "A label for the key, e.g. ci or player (unique among working keys).") var name: String
        @Option(
            name: .customLong("scope"), help: "A scope: admin, read:KIND, write:KIND, upload:KIND, delete:KIND, or ACTION:* (repeat for several).")
        var scopes: [String] = []
        @Option(help: "Lifetime, e.g. 30d, 12h, 90m or 3600s (default: never expires).") var expires: String?

        func run() async throws {
            let catalog = try settings.loadKinds()
            var object = JSONObject([("name", .string(name)), ("scopes", .array(scopes.map(JSONValue.string)))])
            if let expires {
                guard let seconds = Self.duration(expires) else {
                    throw ValidationError("--expires must be a duration like 30d, 12h, 90m or 3600s; got '\(expires)'")
                }
                object["expires_at"] = .string(RFC3339.format(Date().addingTimeInterval(seconds)))
            }
            let parsed: (String, [Scope], Date?)
            do { parsed = try KeyRequest.parse(object, catalog: catalog) } catch let problem as Problem {
                throw ValidationError(problem.errors.map(\.message).joined(separator: "; "))
            }
            let url = try settings.requireDatabaseURL()
            let logger = settings.makeLogger()
            let made = try await withDatabase(url, logger: logger) { client in
                try await AccessTables.ensure(on: client, logger: logger)
                return try await APIKeyStore(client: client, logger: logger).create(
                    name: parsed.0, scopes: parsed.1, expiresAt: parsed.2, actor: commandLineActor)
            }
            print(
                "created key \(made.key.id) '\(made.key.name)' with scopes \(made.key.scopes.joined(separator: " "))"
                    + (made.key.expiresAt.map { ", expires \($0)" } ?? ", never expires"))
            print("the secret below is shown this once; store it now:")
            print(made.secret)
        }

        /// `30d`, `12h`, `90m`, `3600s` or bare seconds.
        static func duration(_ text: String) -> TimeInterval? {
            let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604_800]
            var number = Substring(text)
            var unit = 1.0
            if let last = text.last, let scale = units[last] {
                number = number.dropLast()
                unit = scale
            }
            guard let value = Double(number), value > 0, value.isFinite else { return nil }
            return value * unit
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List keys (never their secrets).")
        @OptionGroup var settings: Settings

        func run() async throws {
            let url = try settings.requireDatabaseURL()
            let logger = settings.makeLogger()
            let keys = try await withDatabase(url, logger: logger) { client in
                try await AccessTables.ensure(on: client, logger: logger)
                return try await APIKeyStore(client: client, logger: logger).list()
            }
            print(["ID", "NAME", "SCOPES", "CREATED", "EXPIRES", "LAST USED", "REVOKED"].joined(separator: "\t"))
            for key in keys {
                print(
                    [
                        String(key.id), key.name, key.scopes.joined(separator: ","), key.createdAt, key.expiresAt ?? "never",
                        key.lastUsedAt ?? "never", key.revoked ? "yes" : "no",
                    ].joined(separator: "\t"))
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a key by id or name; it stops working at once on every server.")
        @OptionGroup var settings: Settings
        @Argument(help: "The key's id (as keys list shows it) or name.") var key: String

        func run() async throws {
            let url = try settings.requireDatabaseURL()
            let logger = settings.makeLogger()
            // A key that is not there is printed by `withDatabase` (APIKeyError's description), exit 1.
            let revoked = try await withDatabase(url, logger: logger) { client in
                try await AccessTables.ensure(on: client, logger: logger)
                return try await APIKeyStore(client: client, logger: logger).revoke(key, actor: commandLineActor)
            }
            print("revoked key \(revoked.id) '\(revoked.name)'")
        }
    }
}

/// Who the audit trail names for a key made or revoked with `audio-server keys`: no key (the
/// command needs none: it has the database), the command as the request, the user and host as
/// the client.
var commandLineActor: AuditActor {
    let env = ProcessInfo.processInfo.environment
    // `USER` is unset under cron, systemd and `docker exec`: the account's name then comes from the uid.
    let user = env["USER"] ?? env["LOGNAME"] ?? getpwuid(getuid()).flatMap { $0.pointee.pw_name.map { String(cString: $0) } } ?? "uid \(getuid())"
    return AuditActor(
        keyID: nil, keyName: nil, requestID: "cli-\(UInt64.random(in: 0...UInt64.max))",
        client: "audio-server CLI (\(user)@\(ProcessInfo.processInfo.hostName))")
}

/// `audio-server audit`: the audit trail, newest first, like `GET /api/audit`.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "audit", abstract: "Print the audit trail, newest first.")
    @OptionGroup var settings: Settings
    @Option(help: "Only this kind.") var kind: String?
    @Option(name: .customLong("record-id"), help: "Only this record id.") var recordID: Int64?
    @Option(name: .customLong("key-id"), help: "Only changes made with this key id.") var keyID: Int64?
    @Option(help: "Only this action: \(AuditAction.allCases.map(\.rawValue).joined(separator: ", ")).") var action: String?
    @Option(help: "At most this many rows (default 100).") var limit: Int = 100

    func run() async throws {
        var filter = AuditFilter(kind: kind, recordID: recordID, keyID: keyID, limit: max(1, limit))
        if let action {
            guard let value = AuditAction(rawValue: action) else {
                throw ValidationError("--action must be one of: \(AuditAction.allCases.map(\.rawValue).joined(separator: ", ")); got '\(action)'")
            }
            filter.action = value
        }
        let url = try settings.requireDatabaseURL()
        let logger = settings.makeLogger()
        let asked = filter
        let entries = try await withDatabase(url, logger: logger) { client in
            try await AccessTables.ensure(on: client, logger: logger)
            return try await AuditLog(client: client, logger: logger).list(asked)
        }
        print(["AT", "ACTION", "KIND", "RECORD", "KEY", "REQUEST", "CLIENT"].joined(separator: "\t"))
        for e in entries {
            let key = e.keyID.map { "\($0) \(e.keyName ?? "")" } ?? "-"
            print(
                [e.at, e.action, e.kind ?? "-", e.recordID.map(String.init) ?? "-", key, e.requestID ?? "-", e.client ?? "-"].joined(separator: "\t"))
        }
    }
}
