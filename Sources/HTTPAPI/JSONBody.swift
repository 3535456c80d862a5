import Hummingbird
import KindModel
import NIOCore
import NIOPosix
import Storage

/// Reads a JSON request body with the checks a public API needs before validation even starts.
enum JSONBody {
    /// What a route's body is, for the problems that say how to send it.
    struct Shape: Sendable {
        /// "the record", "the key"
        let noun: String
        /// A JSON object of this shape.
        let example: String

        static let record = Shape(noun: "the record", example: #"{"filetype": "song", "name": ...}"#)
        static let key = Shape(noun: "the key", example: #"{"name": "player", "scopes": ["read:song"]}"#)
        /// A PATCH: only the fields to change.
        static func changes(_ kind: KindDefinition) -> Shape {
            Shape(noun: "the fields to change", example: "{\"\(kind.fields.first?.name ?? "field")\": ...}")
        }
    }

    static func readObject(_ request: Request, limit: Int, shape: Shape) async throws -> JSONObject {
        let contentType = request.headers.value(.contentType) ?? ""
        guard isJSON(contentType) else {
            throw Problem(
                .unsupportedMediaType,
                detail:
                    "Send \(shape.noun) as JSON with Content-Type: application/json (got '\(contentType.isEmpty ? "none" : contentType)').")
        }
        if let length = request.headers.value(.contentLength).flatMap({ Int($0) }), length > limit {
            throw tooLarge(limit)
        }
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: limit)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw tooLarge(limit)
        } catch is NIOTooManyBytesError {
            // A chunked body (no Content-Length) that passes the limit while being read.
            throw tooLarge(limit)
        }
        var bytes = Array(buffer.readableBytesView)
        // RFC 8259 §8.1 lets a parser ignore a UTF-8 byte-order mark; some Windows tools add one.
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        if bytes.isEmpty {
            throw Problem(.malformedJSON, detail: "The request body is empty; send a JSON object.")
        }
        let value: JSONValue
        switch await parse(bytes) {
        case .success(let v):
            value = v
        case .failure(let error) where error.isLimit:
            throw Problem(
                .jsonLimit,
                detail:
                    "The body passes a limit of the JSON parser: \(error.description). An object may have at most \(JSONParser.maxMembers) members and values may nest at most \(JSONParser.maxDepth) levels deep; send less data per request."
            )
        case .failure(let error):
            throw Problem(.malformedJSON, detail: "The body is not valid JSON: \(error.description).")
        }
        guard case .object(let object) = value else {
            throw Problem(.notAnObject, detail: "Send \(shape.noun) as a JSON object like \(shape.example); got \(value.typeDescription).")
        }
        return object
    }

    /// Bodies larger than this are parsed on `NIOThreadPool.singleton`, not in the request's task.
    static let offloadThreshold = 64 * 1024

    /// Parses a body; a large one off the request executor.
    ///
    /// Handlers run on Swift's cooperative pool, which has one thread per core (two here) and is
    /// shared by every request: a 1 MiB body of the costliest shape takes ~0.1 s of CPU even with
    /// the linear parser, during which that thread would serve nothing else. `NIOThreadPool` is the
    /// pool this server already uses for blocking work (upload fsync + probe), so large parses queue
    /// there instead of stalling other requests, and no new executor or thread type is introduced.
    /// The hop costs a few microseconds, so bodies up to 64 KiB (every normal record; ~2 ms at worst)
    /// stay inline and the common case is unchanged.
    static func parse(_ bytes: [UInt8]) async -> Result<JSONValue, JSONSyntaxError> {
        let parse: @Sendable () -> Result<JSONValue, JSONSyntaxError> = {
            do throws(JSONSyntaxError) { return .success(try JSONParser.parse(bytes)) } catch { return .failure(error) }
        }
        guard bytes.count > offloadThreshold else { return parse() }
        // `runIfActive` fails only when the pool is shut down (process exit): parse inline then.
        return (try? await NIOThreadPool.singleton.runIfActive(parse)) ?? parse()
    }

    /// Whether a Content-Type names JSON: `application/json` or `application/*+json`, any case,
    /// with or without parameters.
    static func isJSON(_ contentType: String) -> Bool {
        let mediaType = HeaderText.mediaType(contentType)
        return mediaType == "application/json" || (mediaType.hasPrefix("application/") && mediaType.hasSuffix("+json"))
    }

    static func tooLarge(_ limit: Int) -> Problem {
        Problem(.tooLarge, detail: "JSON bodies are limited to \(limit / 1024) KiB; this one is larger.")
    }
}

/// Builders for JSON responses.
enum JSONResponse {
    static func make(_ status: HTTPResponse.Status, _ body: String) -> Response {
        make(status, ByteBuffer(string: body))
    }

    static func make(_ status: HTTPResponse.Status, _ body: ByteBuffer) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: body))
    }

    /// A record body with its version as a strong ETag (used by `If-Match` on updates).
    /// `readable` false (a write by a caller who may not read the kind, `AccessGate.mayRead`):
    /// only `{"id": N}`, with the same status and ETag, so that a write-only or upload-only key
    /// cannot read records through the answers of its writes (as Supabase's `return=representation`
    /// needs a SELECT policy). The ETag is kept: such a caller needs it for `If-Match`.
    static func record(_ status: HTTPResponse.Status, _ record: StoredRecord, readable: Bool = true) -> Response {
        let (headers, body) = recordParts(record, readable: readable)
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: body))
    }

    /// The headers and body of `record(_:_:readable:)`, for the fast path (`FastPath`), which
    /// writes them to the channel itself.
    static func recordParts(_ record: StoredRecord, readable: Bool) -> (HTTPFields, ByteBuffer) {
        let body = readable ? ByteBuffer(bytes: record.json) : ByteBuffer(string: idOnlyBody(record.id))
        return ([.contentType: "application/json", .eTag: "\"\(record.version)\""], body)
    }

    /// The minimal answer of a write (`record(_:_:readable:)`): the record's id, nothing else.
    static func idOnly(_ status: HTTPResponse.Status, _ id: Int64) -> Response {
        make(status, idOnlyBody(id))
    }

    static func idOnlyBody(_ id: Int64) -> String { "{\"id\":\(id)}" }

    /// A write's answer (an upload's, whose record is rendered deep in `storeFile`) for a caller
    /// who may not read the kind: the body becomes `{"id": N}`; status and headers (ETag,
    /// `Upload-Complete`, …) stay. Answers without a JSON body (204, a tus 201) are left alone.
    static func withoutRecord(_ response: Response, id: Int64, readable: Bool) -> Response {
        guard !readable, response.headers[.contentType] == "application/json" else { return response }
        var minimal = idOnly(response.status, id)
        for field in response.headers where field.name != .contentType && field.name != .contentLength { minimal.headers.append(field) }
        return minimal
    }
}
