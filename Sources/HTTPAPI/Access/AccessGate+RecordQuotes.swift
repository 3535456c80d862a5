import Foundation
import Hummingbird
import KindModel
import Storage

/// A refusal that quotes a record's values is an answer about the record. Today one does: the 422
/// `duration-mismatch` of an upload names the record's declared duration. A key that may upload to
/// a kind but not read it gets that refusal without the record's value, as its writes answer only
/// the record's id (`JSONResponse.withoutRecord`); what the file itself lasts is still said, so the
/// uploader learns what was wrong with what it sent.
extension AccessGate {
    /// Runs an upload route's `body`; a refusal quoting the record reaches only a key that may read `kind`.
    func quotingRecordsToReaders(_ kind: KindDefinition, key: ActiveKey?, _ body: () async throws -> Response) async throws -> Response {
        do {
            return try await body()
        } catch let problem as Problem where problem.quotesRecord && !mayRead(kind, key: key) {
            throw problem.withoutRecordValues()
        }
    }
}

extension Problem {
    /// Whether this problem carries values read from a record.
    var quotesRecord: Bool { type == .durationMismatch }

    /// This problem without the record's values (`declared_duration`, and its mention in `detail`).
    func withoutRecordValues() -> Problem {
        guard quotesRecord else { return self }
        var redacted = self
        redacted.extensions.removeAll { $0.key == "declared_duration" }
        var probed: String?
        for (key, value) in extensions where key == "probed_duration" {
            if case .number(let seconds) = value { probed = seconds.double.map { String(format: "%.3f s", $0) } }
        }
        redacted.detail =
            "The file lasts \(probed ?? "a different time") and the record's declared duration does not allow it (within the kind's allowed difference); upload the file that belongs to this record."
        return redacted
    }
}
