import NIOCore
import PostgresNIO
import Schema

/// Why a connection to PostgreSQL could not be made, told the way an operator fixes it: nothing
/// listens there, the database does not exist, the credentials were refused, or no answer at all.
/// `serve` and the other commands print it when they give up; the health watcher logs it.
public enum ConnectFailure {
    public static func explain(_ error: any Error) -> String {
        if let psql = error as? PSQLError {
            if let code = PostgresError.Code(of: psql) {
                let message = psql.serverInfo?[.message] ?? "SQLSTATE \(code.raw)"
                switch code {
                case .invalidCatalogName: return "the database does not exist (\(message)): create it, or fix the database name in DATABASE_URL"
                case .invalidPassword, .invalidAuthorizationSpecification:
                    return "authentication failed (\(message)): check the user and password in DATABASE_URL"
                case .cannotConnectNow: return "PostgreSQL is starting up or shutting down (\(message)): try again in a moment"
                case .tooManyConnections: return "PostgreSQL has no free connection slots (\(message)): lower DB_POOL_SIZE or raise max_connections"
                default: return message
                }
            }
            switch psql.code {
            case .connectionError, .serverClosedConnection, .uncleanShutdown:
                if let underlying = psql.underlying { return explainSocket(underlying) }
                return "the connection to PostgreSQL failed (\(psql.code))"
            case .authMechanismRequiresPassword:
                return "PostgreSQL asks for a password and DATABASE_URL has none: add it (postgres://user:password@host/db)"
            case .sslUnsupported:
                return "PostgreSQL does not offer TLS but DATABASE_URL requires it: use sslmode=disable or prefer, or enable TLS in PostgreSQL"
            default:
                return "\(psql.code)"
            }
        }
        return explainSocket(error)
    }

    private static func explainSocket(_ error: any Error) -> String {
        if let io = error as? IOError {
            switch io.errnoCode {
            case ECONNREFUSED:
                return "connection refused: nothing listens at that host and port; start PostgreSQL, or fix the host and port in DATABASE_URL"
            case ENOENT: return "no PostgreSQL socket at that path: start PostgreSQL, or fix the socket folder in DATABASE_URL"
            case EACCES: return "permission denied on the PostgreSQL socket"
            default: return "\(io)"
            }
        }
        if let connect = error as? NIOConnectionError, let first = connect.connectionErrors.first?.error {
            return explainSocket(first)
        }
        if case .connectTimeout(let after)? = error as? ChannelError {
            return "no answer within \(after): the host may be wrong or a firewall drops the packets; check the host and port in DATABASE_URL"
        }
        return String(describing: error)
    }
}
