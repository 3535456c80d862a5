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
    ///
    /// Each key is claimed before it is checked (`FileIntents.claim`): from then on no upload can
    /// name it, however slow its commit, so a file found unnamed stays unnamed while it is removed.
    func sweepOrphanFiles(olderThan age: Duration) async throws -> Int {
        var removed = 0
        for key in try await intents.stale(olderThan: age) {
            // Not claimed: its row named it, or it was noted again, since the list was read.
            guard try await intents.claim(key, olderThan: age) else { continue }
            // Not a key this server makes: leave the file alone (its note is gone with the claim).
            guard let owner = FileBackend.owner(ofKey: key) else { continue }
            do {
                if try await isNamed(key, recordID: owner.id) { continue }
                // Not waited for at a shutdown: the key is noted again for a later sweep.
                if let error = await backend.removeOrphan(key: key) {
                    if !Task.isCancelled {
                        records.logger.warning(
                            "could not remove a file a crash left without a record", metadata: ["key": "\(key)", "error": "\(error)"])
                    }
                    try await noteAgain(key)  // to try again at a later sweep
                    continue
                }
            } catch {
                // Unsure whether a row names it: note it again rather than forget a possible orphan.
                try? await noteAgain(key)
                throw error
            }
            removed += 1
        }
        return removed
    }

    /// Notes a claimed key again, apart from the sweep's task: a shutdown cancels the sweep, and
    /// the note must still be written, or the file would be left with nothing naming or noting it.
    /// (PostgresNIO 1.x runs a query in a cancelled task today, `OrphanFileTests` checks the
    /// outcome; nothing in its API promises that.)
    private func noteAgain(_ key: String) async throws {
        try await Task.detached { [intents] in try await intents.note(key) }.value
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
