import KindModel
import Logging
import Storage

extension AudioAPI {
    /// Removes files a crash left without a row: keys noted in `FileIntents` longer ago than `age`
    /// that no record names (a new file whose row never committed, a replaced file whose removal
    /// never ran). A key some record names is only forgotten. Returns how many files were removed.
    ///
    /// Every kind's row with the key's record id is checked, not only the kind in the key: a kind
    /// renamed since keeps its files' keys, and removing a file a row names would lose data.
    func sweepOrphanFiles(olderThan age: Duration) async throws -> Int {
        var removed = 0
        for key in try await intents.stale(olderThan: age) {
            guard let owner = FileBackend.owner(ofKey: key) else {
                try await intents.forget(key)  // not a key this server makes: leave the file alone
                continue
            }
            if try await isNamed(key, recordID: owner.id) {
                try await intents.forget(key)
                continue
            }
            if let error = await backend.remove(key: key) {
                records.logger.warning("could not remove a file a crash left without a record", metadata: ["key": "\(key)", "error": "\(error)"])
                continue
            }
            try await intents.forget(key)
            removed += 1
        }
        return removed
    }

    /// Whether record `id` of any kind names `key` as its file.
    private func isNamed(_ key: String, recordID id: Int64) async throws -> Bool {
        for kind in registry.runtime.catalog.kinds {
            guard let queries = registry.runtime.resolve(kind.name) else { continue }
            if case .file(let info) = try await records.fileInfo(id, in: queries), info.key == key { return true }
        }
        return false
    }
}
