/// One thing wrong with a kind file, located as `kinds/FILE.yaml:LINE:COL` so editors can jump to it.
public struct KindProblem: Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int
    public var message: String

    public init(file: String, line: Int, column: Int, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
    }

    public var description: String { "\(file):\(line):\(column): \(message)" }
}

/// Every problem found in a kinds folder. A server never starts with any of them.
public struct KindLintError: Error, Sendable, CustomStringConvertible {
    public var problems: [KindProblem]
    public init(problems: [KindProblem]) { self.problems = problems }
    public var description: String { problems.map(\.description).joined(separator: "\n") }
}
