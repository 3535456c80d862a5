import Foundation

/// Compiled patterns, shared across requests: compiling a regex per request would dominate validation.
enum PatternCache {
    private final class Store: @unchecked Sendable {
        let lock = NSLock()
        var compiled: [String: NSRegularExpression] = [:]
    }
    private static let store = Store()

    static func matches(_ pattern: String, _ string: String) -> Bool {
        store.lock.lock()
        let cached = store.compiled[pattern]
        store.lock.unlock()
        let regex: NSRegularExpression
        if let cached {
            regex = cached
        } else {
            guard let made = try? NSRegularExpression(pattern: pattern) else { return false }
            store.lock.lock()
            store.compiled[pattern] = made
            store.lock.unlock()
            regex = made
        }
        let range = NSRange(string.startIndex..<string.endIndex, in: string)
        return regex.firstMatch(in: string, range: range) != nil
    }
}
