public import Logging

/// The request id of the request a task is serving, for log lines written by code that is handed
/// no request context: the record store, the database pool, PostgresNIO. `RequestMiddleware` binds
/// it around each request; `metadataProvider`, installed with the logging system (`audio-server`
/// does it at start), adds it to every line written in the request's task as `hb.request.id`, the
/// key the request's own lines use. PostgresNIO writes its query lines on an event loop, where no
/// task-local is visible: `tagged` copies the id into the logger a query is handed.
public enum RequestLogContext {
    @TaskLocal public static var requestID: String?

    /// Adds `hb.request.id` to lines written while a request is being served.
    public static let metadataProvider = Logger.MetadataProvider {
        guard let id = requestID else { return [:] }
        return ["hb.request.id": .string(id)]
    }

    /// `logger` with the current request id in its metadata, for work that logs outside the task
    /// (a query's lines on the connection's event loop). Only when debug lines are written: the
    /// copy costs an allocation per query, and PostgresNIO's per-query lines are debug and trace.
    public static func tagged(_ logger: Logger) -> Logger {
        guard logger.logLevel <= .debug, let id = requestID else { return logger }
        var tagged = logger
        tagged[metadataKey: "hb.request.id"] = .string(id)
        return tagged
    }
}
