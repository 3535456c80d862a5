import Foundation

/// One reason a request's value was refused, in the shape of the API's `errors` array.
public struct ValidationIssue: Sendable, Equatable, Codable, CustomStringConvertible {
    /// Path of the value: `name`, `participants[3]`.
    public var field: String
    /// Machine-readable rule name: `required`, `type`, `max_length`, `min`, `pattern`, `enum`, ...
    public var code: ValidationCode
    /// A sentence a person can act on.
    public var message: String

    public init(field: String, code: ValidationCode, message: String) {
        self.field = field
        self.code = code
        self.message = message
    }

    public var description: String { "\(field): \(message)" }
}

/// Every problem of one request; the API returns them all at once.
public struct ValidationFailure: Error, Sendable, Equatable {
    public var issues: [ValidationIssue]
    public init(issues: [ValidationIssue]) { self.issues = issues }
}
