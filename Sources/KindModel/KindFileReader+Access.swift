import Yams

extension KindFileReader {
    /// Reads `access:` (`read: public|key`, `download: public|key|signed`); a key left out stays
    /// private. Unknown keys and values are lint problems with their position, like every other.
    mutating func readAccess(_ node: Node) -> KindAccess {
        var access = KindAccess.private
        guard let mapping = node.mapping else {
            problem(node, "`access:` must be a mapping, e.g. `access: {read: public, download: signed}`")
            return access
        }
        for (keyNode, value) in mapping {
            guard let key = keyNode.string else {
                problem(keyNode, "keys must be strings")
                continue
            }
            switch key {
            case "read":
                guard let text = scalarString(value, "access.read") else { continue }
                if let read = ReadAccess(rawValue: text) {
                    access.read = read
                } else {
                    problem(value, "access.read must be one of: \(ReadAccess.allCases.map(\.rawValue).joined(separator: ", ")), not '\(text)'")
                }
            case "download":
                guard let text = scalarString(value, "access.download") else { continue }
                if let download = DownloadAccess(rawValue: text) {
                    access.download = download
                } else {
                    problem(
                        value, "access.download must be one of: \(DownloadAccess.allCases.map(\.rawValue).joined(separator: ", ")), not '\(text)'")
                }
            case "write", "upload", "delete":
                problem(keyNode, "access.\(key) cannot be set: writes, uploads and deletes always need a key with the \(key):<kind> scope; remove it")
            default:
                problem(keyNode, "unknown access key '\(key)'; expected one of: \(KindAccess.keys.joined(separator: ", "))")
            }
        }
        return access
    }
}
