import HTTPTypes

/// tus 1.0 (core protocol, "X-HTTP-Method-Override"): a client whose environment cannot send PATCH
/// or DELETE sends POST with this header, and the server MUST take the header as the method.
/// Only an upload URL (`/api/audio/<kind>/<id>/uploads/<token>`) takes it, and only on a POST, so
/// no other route's method can be changed by a header (a proxy's or firewall's method rules keep
/// meaning what they say for the rest of the API). Applied to the request head as it arrives
/// (`ConnectionGuard`), before Hummingbird's router picks a route by method: the request is then
/// routed and access-checked as the method it names.
enum TusMethodOverride {
    static let header = HTTPField.Name("X-HTTP-Method-Override")!

    /// Changes `head`'s method to the one its header names, when it applies.
    static func apply(to head: inout HTTPRequest) {
        // The method and the header first: a create (POST, a hot path) pays one header lookup.
        guard head.method == .post, let text = head.headerFields.value(header), let path = head.path, isUploadURL(path),
            let method = HTTPRequest.Method(text.uppercased()), method != .post
        else { return }
        head.method = method
    }

    /// A tus upload URL (`/api/audio/*/*/uploads/*`), by the route table.
    static func isUploadURL(_ path: String) -> Bool {
        APIOperation.matching(.patch, path: bare(path))?.0 == .appendUpload
    }

    /// A tus route (the creation URL or an upload URL), by the route table: every answer there
    /// carries `Tus-Resumable`, refusals made before the handler included (405, 421).
    static func isTusPath(_ path: String) -> Bool {
        APIOperation.matching(.post, path: bare(path))?.0 == .createUpload || isUploadURL(path)
    }

    private static func bare(_ path: String) -> Substring {
        path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? Substring(path)
    }
}
