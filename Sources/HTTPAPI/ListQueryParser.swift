import Foundation
import Hummingbird
import KindModel
import Storage

/// Turns the query string of `GET /api/audio/<kind>` into a `ListQuery`, refusing anything it does
/// not understand with a 400 that names the parameter and what is allowed — a typo in a filter must
/// not silently return everything.
enum ListQueryParser {
    static let reserved: Set<String> = ["limit", "cursor", "sort", "count", "has_file"]

    /// A boolean in a query string, the same for `has_file` and boolean fields: `true`/`false` in
    /// any case, or `1`/`0` (what HTML forms and most query builders send).
    static func queryBool(_ text: String) -> Bool? {
        switch text.lowercased() {
        case "true", "1": true
        case "false", "0": false
        default: nil
        }
    }
    /// Most filters and sort keys one request may use. Each distinct filter shape is a statement
    /// PostgreSQL plans (and, prepared, keeps per connection), and a shared list statement carries
    /// a column per filter value: thousands of filters cost seconds of planning and megabytes per
    /// backend, and past PostgreSQL's 1,664 columns a shared page would fail.
    ///
    /// The filter cap is 100, or the number of filter parameters the kind declares when that is
    /// more: a request that uses every documented filter once is always valid (the OpenAPI
    /// contract cannot say "at most N of these parameters", and the fuzzer sends them all).
    public static let minimumFilterCap = 100
    public static let maxSortKeys = 8

    public static func maxFilters(for kind: KindDefinition) -> Int {
        let declared = (kind.fields + KindDefinition.filterableSystemFields).reduce(0) {
            $0 + ($1.isList ? 1 : FilterOperator.allowed(for: $1).count)
        }
        return max(minimumFilterCap, declared)
    }
    static let systemSortColumns: [String: String] = ["id": "bigint", "created_at": "timestamptz", "updated_at": "timestamptz"]

    /// Splits a raw query string as HTML forms encode it: `+` is a space, then percent-decoding,
    /// for keys (`duration%5Bgte%5D`) as well as values.
    /// A `%` not followed by two hex digits, or escapes that are not UTF-8, are a 400: searching
    /// for the literal text would quietly answer an empty page.
    static func pairs(_ query: String?) throws -> [(String, String)] {
        guard let query, !query.isEmpty else { return [] }
        return try query.split(separator: "&").map { item in
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ s: Substring) throws -> String {
                guard let decoded = formDecoded(s) else {
                    let name = String(parts[0])
                    throw Problem(
                        .invalidQuery,
                        detail:
                            "'\(item)' is not valid percent-encoding (a '%' must start two hex digits of UTF-8); encode the value with encodeURIComponent or curl --data-urlencode.",
                        errors: [ValidationIssue(field: name, code: .encoding, message: "'\(name)' is not valid percent-encoded UTF-8")])
                }
                return decoded
            }
            return (try decode(parts[0]), parts.count > 1 ? try decode(parts[1]) : "")
        }
    }

    /// One name or value of a form-encoded query: `+` is a space and `%XX` a byte; nil when a `%`
    /// does not start two hex digits or the bytes are not UTF-8.
    ///
    /// The same answers as Foundation's `replacingOccurrences(of: "+", with: " ")
    /// .removingPercentEncoding` (a test compares them), except for the few invalid bytes
    /// Foundation repairs to U+FFFD (`%A9` alone), which are refused here like every other escape
    /// that is not UTF-8. One pass over the bytes because the Foundation pair cost a distinct page
    /// (whose keys arrive as `duration%5Bgte%5D`) ~2.5 % of the machine's CPU at 16 connections.
    static func formDecoded(_ s: Substring) -> String? {
        let utf8 = s.utf8
        // Most parameters (`limit=50`, `cursor=…`) need no decoding.
        guard utf8.contains(where: { $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "%") }) else { return String(s) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(utf8.count)
        var i = utf8.startIndex
        while i != utf8.endIndex {
            let byte = utf8[i]
            i = utf8.index(after: i)
            switch byte {
            case UInt8(ascii: "+"): bytes.append(UInt8(ascii: " "))
            case UInt8(ascii: "%"):
                guard i != utf8.endIndex, let high = hexValue(utf8[i]) else { return nil }
                i = utf8.index(after: i)
                guard i != utf8.endIndex, let low = hexValue(utf8[i]) else { return nil }
                i = utf8.index(after: i)
                bytes.append(high << 4 | low)
            default: bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// The issue of a cursor this server did not issue for the page's sort (or whose values were edited).
    static let cursorIssue = ValidationIssue(
        field: "cursor", code: .format,
        message: "'cursor' is not a next_cursor this server issued for this sort; omit it to start at the first page")

    /// A parameter given more than once where one value is taken (the audit and link routes refuse
    /// the repeat rather than choose one of its values silently).
    static func givenTwice(_ name: some StringProtocol) -> ValidationIssue {
        ValidationIssue(field: String(name), code: .duplicate, message: "'\(name)' is given more than once; give it once")
    }

    /// A cursor sent with other filters (or `has_file`) than the page that gave it: its position
    /// means nothing among other matches (the next page would skip every one before it).
    static let cursorFiltersIssue = ValidationIssue(
        field: "cursor", code: .format,
        message:
            "'cursor' was issued for other filters; send the same filters (and has_file) as the page that gave it, or omit the cursor to start at the first page"
    )

    static func parse(
        _ parameters: [(String, String)], kind: KindDefinition, cursors: CursorSigner = .ephemeral()
    ) throws -> (ListQuery, scope: CursorScope) {
        var query = ListQuery()
        var issues: [ValidationIssue] = []
        var cursorText: String?
        var sortSpec = ""
        var filterCount = 0
        var filterCap = minimumFilterCap
        for (key, value) in parameters {
            // A repeated paging parameter takes its last value (as most frameworks do, so a client
            // may append `&limit=1` to a URL it was given); filters repeat and combine with AND.
            switch key {
            case "limit":
                if let n = Int(value), (1...1000).contains(n) {
                    query.limit = n
                } else {
                    issues.append(
                        ValidationIssue(field: "limit", code: .range, message: "'limit' must be a whole number from 1 to 1000 (got '\(value)')"))
                }
            case "cursor":
                if !value.isEmpty { cursorText = value }
            case "count":
                if value == "exact" {
                    query.countTotal = true
                } else {
                    issues.append(ValidationIssue(field: "count", code: .enum, message: "'count' must be 'exact' (got '\(value)')"))
                }
            case "has_file":
                if let flag = Self.queryBool(value) {
                    query.hasFile = flag
                } else {
                    issues.append(ValidationIssue(field: "has_file", code: .type, message: "'has_file' must be true or false (got '\(value)')"))
                }
            case "sort":
                sortSpec = value
                parseSort(value, kind: kind, into: &query, issues: &issues)
            default:
                filterCount += 1
                if filterCount == minimumFilterCap + 1 { filterCap = maxFilters(for: kind) }
                if filterCount == filterCap + 1 {
                    issues.append(
                        ValidationIssue(
                            field: key, code: .tooManyFilters,
                            message:
                                "a list request on \(kind.name) takes at most \(filterCap) filters; narrow the query (split it, or filter on fewer values)"
                        ))
                }
                if filterCount > filterCap { continue }
                parseFilter(key, value, kind: kind, into: &query, issues: &issues)
            }
        }
        let scope = CursorScope(sort: sortSpec, filters: CursorSigner.filterPrint(query))
        if let cursorText {
            switch cursors.decode(cursorText, kind: kind.name, scope: scope, keyCount: query.sort.count) {
            case .position(let position): query.after = position
            case .otherFilters: issues.append(cursorFiltersIssue)
            case .invalid: issues.append(cursorIssue)
            }
        }
        if !issues.isEmpty {
            throw Problem(.invalidQuery, detail: Problem.summary(issues.map(\.message)), errors: issues)
        }
        return (query, scope)
    }

    private static func parseSort(_ value: String, kind: KindDefinition, into query: inout ListQuery, issues: inout [ValidationIssue]) {
        query.sort = []  // the last `sort` wins, like `sortSpec` and the other paging parameters
        var seen = Set<String>()
        let parts = value.split(separator: ",", omittingEmptySubsequences: false)
        guard parts.count <= maxSortKeys else {
            issues.append(
                ValidationIssue(
                    field: "sort", code: .tooManySortKeys,
                    message: "'sort' takes at most \(maxSortKeys) keys (got \(parts.count)); the id already breaks ties"))
            return
        }
        for part in parts {
            let descending = part.hasPrefix("-")
            let name = String(descending ? part.dropFirst() : part.drop { $0 == "+" })
            if let type = systemSortColumns[name] {
                query.sort.append(SortKey(column: name, descending: descending, sqlType: type, nullable: false))
            } else if let field = kind.field(named: name), !field.isList {
                query.sort.append(SortKey(column: name, descending: descending, sqlType: ListQuery.bindType(field.type), nullable: !field.required))
            } else {
                issues.append(
                    ValidationIssue(
                        field: "sort", code: .unknownField,
                        message:
                            "cannot sort by '\(name)'; sort takes a comma list of \(kind.sortableNames.joined(separator: ", ")), each optionally prefixed with '-' for descending"
                    ))
                continue
            }
            if !seen.insert(name).inserted {
                issues.append(ValidationIssue(field: "sort", code: .duplicate, message: "'sort' names '\(name)' twice"))
            }
        }
    }

    private static func parseFilter(
        _ key: String, _ value: String, kind: KindDefinition, into query: inout ListQuery, issues: inout [ValidationIssue]
    ) {
        var name = key
        var op = FilterOperator.eq
        if let open = key.firstIndex(of: "["), key.hasSuffix("]") {
            name = String(key[..<open])
            let opText = String(key[key.index(after: open)..<key.index(before: key.endIndex)])
            guard let parsed = FilterOperator(rawValue: opText) else {
                let allowed = kind.filterField(named: name).map { FilterOperator.allowed(for: $0).map(\.rawValue).joined(separator: ", ") } ?? "eq"
                issues.append(
                    ValidationIssue(field: key, code: .unknownOperator, message: "unknown operator '\(opText)' on '\(name)'; allowed: \(allowed)"))
                return
            }
            op = parsed
        }
        guard let field = kind.filterField(named: name) else {
            let filterable = (kind.fields + KindDefinition.filterableSystemFields).map(\.name)
            issues.append(
                ValidationIssue(
                    field: key, code: .unknownField,
                    message:
                        "'\(name)' is not a field of \(kind.name); filter on \(filterable.joined(separator: ", ")), or use \(reserved.sorted().joined(separator: ", "))"
                ))
            return
        }
        let allowed = FilterOperator.allowed(for: field)
        if field.isList && op == .eq { op = .has }
        guard allowed.contains(op) else {
            issues.append(
                ValidationIssue(
                    field: key, code: .unknownOperator,
                    message:
                        "operator '\(op.rawValue)' does not apply to \(field.isList ? "list" : field.type.rawValue) field '\(name)'; allowed: \(allowed.map(\.rawValue).joined(separator: ", "))"
                ))
            return
        }
        var text = value
        // An unencoded '+' of a timestamp offset arrives as a space; put it back.
        if field.valueType == .datetime { text = text.replacingOccurrences(of: " ", with: "+") }
        if op == .contains {
            guard !text.unicodeScalars.contains("\u{0}") else {
                issues.append(ValidationIssue(field: key, code: .invalidCharacter, message: "'\(key)' contains a NUL character"))
                return
            }
        } else {
            var itemIssues: [ValidationIssue] = []
            let scalar = FieldDefinition(
                name: name, type: field.valueType,
                rules: ValueRules(enumValues: field.rules.enumValues))
            let json: JSONValue =
                switch field.valueType {
                case .integer, .number: .number(JSONNumber(literal: text))
                case .boolean: Self.queryBool(text).map(JSONValue.bool) ?? .string(text)
                case .string, .text, .enum, .date, .datetime, .list: .string(text)
                }
            // The body's rules judge the value, so a number PostgreSQL would refuse (1e-400) is a 400
            // naming the parameter. Only decimal literals: those rules read digits, not `0x10` or `nan`.
            let numericOK = !field.valueType.isNumeric || JSONNumber(literal: text).isDecimal
            _ = RecordValidator.validateValue(json, field: scalar, path: key, now: nil, issues: &itemIssues)
            // Any RFC 3339 instant is a fine bound to compare with, even one no record can hold.
            if field.valueType == .datetime { itemIssues.removeAll { $0.code == .outOfRange } }
            if !numericOK || !itemIssues.isEmpty {
                let expected = RecordValidator.describe(scalar)
                // A value of the right type that no column can hold says why (1e400, 1e-400).
                let message = numericOK ? itemIssues.first { $0.code == .outOfRange }?.message : nil
                issues.append(
                    ValidationIssue(field: key, code: .invalidValue, message: message ?? "'\(key)' must be \(expected) (got '\(value)')"))
                return
            }
            if field.valueType == .integer, case .number(let n) = json, let i = n.int64 { text = String(i) }
            if field.valueType == .boolean, case .bool(let flag) = json { text = flag ? "true" : "false" }
            // Bound as text and cast by PostgreSQL, which refuses offsets beyond ±15:59 and year 0:
            // send UTC, and ±infinity for instants before or after every storable one.
            if field.valueType == .datetime, let date = RFC3339.parseDateTime(text) {
                text = date < RFC3339.earliest ? "-infinity" : date >= RFC3339.endOfYear9999 ? "infinity" : RFC3339.format(date)
            }
        }
        query.filters.append(RecordFilter(field: field, op: op, value: text))
    }
}
