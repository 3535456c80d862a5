import Foundation
import NIOSSL
public import PostgresNIO

/// Parses `DATABASE_URL` (`postgres://user:pass@host:port/db?sslmode=disable`) into a
/// `PostgresClient.Configuration`; PostgresNIO has no URL initializer.
///
/// A host that is an absolute path (`postgres://user@%2Ftmp%2Fpg/db` or `?host=/tmp/pg`) means a
/// unix socket directory, as in libpq.
public struct DatabaseURL: Sendable, Equatable, CustomStringConvertible {
    public var user: String
    public var password: String?
    public var host: String
    public var port: Int
    public var database: String
    public var sslMode: String

    public struct ParseError: Error, CustomStringConvertible {
        public let description: String
    }

    public init(_ text: String) throws {
        guard let components = URLComponents(string: text),
            let scheme = components.scheme, ["postgres", "postgresql"].contains(scheme)
        else {
            throw ParseError(description: "DATABASE_URL must look like postgres://user:password@host:5432/database")
        }
        let query = Dictionary((components.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { $1 })
        user = components.user?.removingPercentEncoding ?? query["user"] ?? "postgres"
        password = components.password?.removingPercentEncoding ?? query["password"]
        host = query["host"] ?? components.percentEncodedHost?.removingPercentEncoding ?? "127.0.0.1"
        if host.isEmpty { host = "127.0.0.1" }
        port = components.port ?? Int(query["port"] ?? "") ?? 5432
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        database = path.isEmpty ? user : path
        sslMode = query["sslmode"] ?? "prefer"
        guard ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"].contains(sslMode) else {
            throw ParseError(description: "DATABASE_URL sslmode '\(sslMode)' is not one of disable, prefer, require")
        }
    }

    public var isUnixSocket: Bool { host.hasPrefix("/") }

    /// The `PostgresClient` configuration of the short-lived commands (`migrate`, `storage`) and of
    /// tests; `serve` uses `DatabasePool` instead. A unix socket path follows libpq's
    /// `.s.PGSQL.<port>` naming. No minimum of connections: with one, PostgresNIO 1.33's pool can
    /// trap after failed reconnects (see `DatabasePool`).
    public func configuration(maximumConnections: Int = 20) -> PostgresClient.Configuration {
        var config: PostgresClient.Configuration
        if isUnixSocket {
            config = .init(unixSocketPath: socketPath, username: user, password: password, database: database)
        } else {
            let tls: PostgresClient.Configuration.TLS =
                switch tlsUse {
                case .off: .disable
                case .require: .require(.makeClientConfiguration())
                case .prefer: .prefer(.makeClientConfiguration())
                }
            config = .init(host: host, port: port, username: user, password: password, database: database, tls: tls)
        }
        config.options.maximumConnections = maximumConnections
        config.options.minimumConnections = 0
        config.options.additionalStartupParameters = Self.sessionSettings
        return config
    }

    /// Settings every connection of ours starts with, sent in the startup message (no round trip).
    ///
    /// `jit=off`: PostgreSQL compiles a statement's expressions to machine code when its plan's
    /// estimated cost passes `jit_above_cost`, which suits long analytical queries. A shared page
    /// statement's estimate is large however little it reads (its `LIMIT` comes from a column, so
    /// the planner guesses a tenth of the table), so on 10 million songs every page paid 5 ms of
    /// compiling, and 148 ms with inlining and optimisation, for 0.5 ms of executing
    /// (docs/performance.md, "Session 14"). This server's statements are short lookups and pages.
    static let sessionSettings: [(String, String)] = [("jit", "off")]

    /// A single connection's configuration (the health watcher's, the server's pool's), with the same
    /// TLS choice as the pool.
    ///
    /// `statementTimeout` (milliseconds): PostgreSQL cancels any statement of the connection that
    /// runs longer (SQLSTATE 57014), set in the startup message like `jit`, so it costs no round
    /// trip. The server's request pool sets it (`STATEMENT_TIMEOUT`): one list whose filter no
    /// index serves could otherwise hold a pooled connection for minutes on a large table, and 32
    /// of them every connection. Migrations and the CLI run on connections without it.
    public func connectionConfiguration(statementTimeout: Int? = nil) throws -> PostgresConnection.Configuration {
        var config: PostgresConnection.Configuration
        if isUnixSocket {
            config = .init(unixSocketPath: socketPath, username: user, password: password, database: database)
        } else {
            let tls: PostgresConnection.Configuration.TLS =
                switch tlsUse {
                case .off: .disable
                case .require: .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
                case .prefer: .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
                }
            config = .init(host: host, port: port, username: user, password: password, database: database, tls: tls)
        }
        config.options.additionalStartupParameters = Self.sessionSettings
        if let statementTimeout { config.options.additionalStartupParameters.append(("statement_timeout", "\(statementTimeout)")) }
        return config
    }

    /// libpq's `.s.PGSQL.<port>` socket in the directory `host`.
    private var socketPath: String { "\(host)/.s.PGSQL.\(port)" }

    /// TLS as libpq's `sslmode` asks; unset, off on loopback and tried elsewhere.
    private enum TLSUse { case off, prefer, require }

    private var tlsUse: TLSUse {
        switch sslMode {
        case "disable", "allow": .off
        case "require", "verify-ca", "verify-full": .require
        default: host == "127.0.0.1" || host == "localhost" || host == "::1" ? .off : .prefer
        }
    }

    /// The URL with the password hidden, for logs and error messages.
    public var description: String {
        "postgres://\(user)\(password == nil ? "" : ":***")@\(isUnixSocket ? host.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? host : host):\(port)/\(database)"
    }

    /// The same server, another database (tests create one database per test).
    public func with(database: String) -> DatabaseURL {
        var copy = self
        copy.database = database
        return copy
    }
}
