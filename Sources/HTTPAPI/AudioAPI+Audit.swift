import Foundation
import Hummingbird
import KindModel
import Storage

/// `GET /api/audit` (admin): the audit trail, newest first, with keyset paging and filters.
extension AudioAPI {
    static let auditLimits = (default: 50, max: 500)

    func listAudit(_ request: Request) async throws -> Response {
        let filter = try Self.auditFilter(request.uri.queryParameters, catalog: registry.runtime.catalog)
        // One row more than asked tells whether there is a next page.
        var asked = filter
        asked.limit = filter.limit + 1
        let rows = try await access.audit.list(asked)
        let page = rows.prefix(filter.limit)
        var next = JSONValue.null
        if rows.count > filter.limit, let last = page.last { next = .string(Base64URL.encode(Array("audit:\(last.id)".utf8))) }
        let body = JSONObject([("items", .array(page.map(Self.json))), ("next_cursor", next)])
        return JSONResponse.make(.ok, JSONWriter.string(.object(body)))
    }

    /// The filter a query asks for; every unknown, repeated or bad parameter is a 400 naming it.
    /// `kind` must name a kind of `catalog` (an alias finds its kind's rows, which record the
    /// canonical name); rows of a kind since removed from `kinds/` are read with
    /// `audio-server audit --kind NAME`, which takes any name. A repeated parameter is refused
    /// rather than one of its values silently chosen (filters combine with AND; one action at a time).
    static func auditFilter(_ query: Parameters, catalog: KindCatalog) throws -> AuditFilter {
        var filter = AuditFilter()
        var issues: [ValidationIssue] = []
        var seen: Set<Substring> = []
        for (name, value) in query {
            let text = String(value)
            guard seen.insert(name).inserted else {
                if !issues.contains(where: { $0.field == String(name) && $0.code == .duplicate }) {
                    issues.append(ListQueryParser.givenTwice(name))
                }
                continue
            }
            switch String(name) {
            case "limit":
                if let n = Int(text), (1...auditLimits.max).contains(n) {
                    filter.limit = n
                } else {
                    issues.append(ValidationIssue(field: "limit", code: .range, message: "'limit' must be 1–\(auditLimits.max)"))
                }
            case "cursor" where text.isEmpty:
                continue  // an empty cursor is the first page, as for record lists
            case "cursor":
                if let bytes = Base64URL.decode(Substring(text).utf8), let decoded = String(bytes: bytes, encoding: .utf8),
                    decoded.hasPrefix("audit:"), let id = Int64(decoded.dropFirst(6))
                {
                    filter.before = id
                } else {
                    issues.append(ValidationIssue(field: "cursor", code: .format, message: "'cursor' must be a next_cursor this route returned"))
                }
            case "kind":
                if let kind = catalog.kind(named: text) {
                    filter.kind = kind.name
                } else {
                    issues.append(
                        ValidationIssue(
                            field: "kind", code: .enum,
                            message: "'kind' must be one of: \(catalog.names.joined(separator: ", ")) (or an alias of one)"))
                }
            case "record_id":
                if let n = Int64(text) {
                    filter.recordID = n
                } else {
                    issues.append(ValidationIssue(field: "record_id", code: .type, message: "'record_id' must be an integer"))
                }
            case "key_id":
                if let n = Int64(text) {
                    filter.keyID = n
                } else {
                    issues.append(ValidationIssue(field: "key_id", code: .type, message: "'key_id' must be an integer"))
                }
            case "action":
                if let action = AuditAction(rawValue: text) {
                    filter.action = action
                } else {
                    issues.append(
                        ValidationIssue(
                            field: "action", code: .enum,
                            message: "'action' must be one of: \(AuditAction.allCases.map(\.rawValue).joined(separator: ", "))"))
                }
            default:
                issues.append(
                    ValidationIssue(
                        field: String(name), code: .unknown,
                        message: "'\(name)' is not a filter; use limit, cursor, kind, record_id, key_id or action"))
            }
        }
        guard issues.isEmpty else {
            throw Problem(.invalidQuery, detail: Problem.summary(issues.map(\.message)) + ".", errors: issues)
        }
        return filter
    }

    static func json(_ entry: AuditEntry) -> JSONValue {
        .object(
            JSONObject([
                ("id", .integer(entry.id)),
                ("at", .string(entry.at)),
                ("key_id", entry.keyID.map(JSONValue.integer) ?? .null),
                ("key_name", entry.keyName.map(JSONValue.string) ?? .null),
                ("action", .string(entry.action)),
                ("kind", entry.kind.map(JSONValue.string) ?? .null),
                ("record_id", entry.recordID.map(JSONValue.integer) ?? .null),
                ("request_id", entry.requestID.map(JSONValue.string) ?? .null),
                ("client", entry.client.map(JSONValue.string) ?? .null),
            ]))
    }
}
