import AudioProbe
import Foundation
import Hummingbird
import KindModel
import Storage

/// Streams an upload body into an `UploadSink` with bounded memory: raw `audio/*` bodies byte for
/// byte, `multipart/form-data` through `MultipartScanner`, taking the first file
/// part (named `file`, named after the kind, or carrying a filename) and skipping other parts.
struct UploadReceiver {
    enum Mode {
        /// The body is the file; its name, if any, came in the request's `Content-Disposition`.
        case raw(originalName: String?)
        case multipart(boundary: String)

        var isMultipart: Bool { if case .multipart = self { true } else { false } }
    }

    let mode: Mode
    let limit: Int64
    let fieldNames: Set<String>
    /// The 415 for a file whose first bytes are no audio format: thrown as soon as they arrived,
    /// before the rest of the body is read or written.
    let notAudio: Problem
    private let sniffer = Sniffer()

    init(mode: Mode, limit: Int64, fieldNames: Set<String>, notAudio: Problem) {
        self.mode = mode
        self.limit = limit
        self.fieldNames = fieldNames
        self.notAudio = notAudio
    }

    /// Collects the file's first 4096 bytes, as many as `AudioProbe.probe` sniffs, and judges them
    /// once: the verdict the full probe would reach first, without waiting for the rest.
    final class Sniffer {
        static let length = 4096
        var prefix: [UInt8] = []
        var decided = false

        /// Takes the next bytes of the file; false once they show it is not audio.
        func take(_ bytes: UnsafeRawBufferPointer) -> Bool {
            guard !decided else { return true }
            prefix.append(contentsOf: bytes.prefix(Self.length - prefix.count))
            return prefix.count < Self.length || decide()
        }

        /// Judges what arrived (at the end of a file shorter than the sniff length, too).
        func decide() -> Bool {
            guard !decided else { return true }
            decided = true
            defer { prefix = [] }
            return prefix.isEmpty || AudioFormat.sniff(prefix) != nil
        }
    }

    /// What arrived besides the bytes: the original file name (from the part's `filename`).
    /// The declared type is not kept: the stored type is the detected one.
    struct Received {
        var originalName: String?
    }

    /// Reads the request body into `sink`; throws a `Problem` for client mistakes.
    func receive(_ body: RequestBody, into sink: UploadSink) async throws -> Received {
        let received: Received
        switch mode {
        case .raw(let originalName):
            for try await buffer in body {
                if try write(buffer, to: sink) { try await sink.flush() }
            }
            received = Received(originalName: originalName)
        case .multipart(let boundary):
            received = try await receiveMultipart(body, boundary: boundary, into: sink)
        }
        guard sniffer.decide() else { throw notAudio }
        return received
    }

    /// Hands bytes to the sink; true when the sink should be flushed (`UploadSink.flush`).
    private func write(_ buffer: ByteBuffer, to sink: UploadSink) throws -> Bool {
        try buffer.withUnsafeReadableBytes { try write($0, to: sink) }
    }

    private func write(_ bytes: UnsafeRawBufferPointer, to sink: UploadSink) throws -> Bool {
        if sink.size + Int64(bytes.count) > limit { throw UploadProblems.tooLarge(limit) }
        guard sniffer.take(bytes) else { throw notAudio }
        return sink.append(bytes)
    }

    /// Where the multipart walk is: the current part's headers and whether it is the file.
    private struct PartState {
        var headers: [(String, String)] = []
        var isFile: Bool?
        var fileDone = false
        var inPart = false
        var skippedBytes = 0
        var received = Received()
    }

    private func receiveMultipart(_ body: RequestBody, boundary: String, into sink: UploadSink) async throws -> Received {
        var scanner = MultipartScanner(boundary: boundary)
        var part = PartState()
        for try await chunk in body {
            do {
                try chunk.withUnsafeReadableBytes { bytes in
                    try scanner.feed(bytes) { event in try handle(event, &part, sink) }
                }
                if sink.needsFlush { try await sink.flush() }
            } catch let error as MultipartScanner.Failure {
                throw Problem(
                    .malformedMultipart, detail: "The multipart/form-data body could not be parsed (\(error)); send one file part named 'file'.")
            }
        }
        if part.inPart && part.isFile == true && !part.fileDone {
            throw Problem(.truncatedUpload, detail: "The multipart body ended before the file part was complete; send the whole file again.")
        }
        if !scanner.foundDelimiter {
            throw Problem(
                .malformedMultipart,
                detail:
                    "The body never contains the delimiter --\(boundary) of its Content-Type boundary; send the multipart body the header describes (curl -F file=@song.mp3 builds both)."
            )
        }
        guard part.fileDone else {
            throw Problem(
                .missingFile, detail: "The multipart body has no file part; send the audio as a part named 'file' (curl -F file=@song.mp3).")
        }
        return part.received
    }

    /// One scanner event: the first file part goes to `sink`, other parts are skipped (1 MiB in all).
    private func handle(_ event: MultipartScanner.Event, _ part: inout PartState, _ sink: UploadSink) throws {
        switch event {
        case .header(let name, let value):
            part.inPart = true
            part.headers.append((name, value))
        case .body(let bytes):
            part.inPart = true
            if part.isFile == nil {
                try refuseSecondFile(part)
                part.isFile = !part.fileDone && isFilePart(part.headers, into: &part.received)
            }
            if part.isFile == true {
                _ = try write(bytes, to: sink)  // flushed after the chunk (the scanner's callback cannot await)
            } else {
                part.skippedBytes += bytes.count
                if part.skippedBytes > 1 << 20 {
                    throw Problem(.malformedMultipart, detail: "Only one file part is read; other parts are limited to 1 MiB in all.")
                }
            }
        case .partComplete:
            if part.isFile == nil { try refuseSecondFile(part) }
            if part.isFile == nil, !part.fileDone, isFilePart(part.headers, into: &part.received) { part.isFile = true }
            if part.isFile == true { part.fileDone = true }
            part.headers = []
            part.isFile = nil
            part.inPart = false
        }
    }

    /// A second file part is refused rather than silently dropped: which file was meant is unclear.
    private func refuseSecondFile(_ part: PartState) throws {
        var ignored = Received()
        if part.fileDone && isFilePart(part.headers, into: &ignored) {
            throw Problem(.multipleFiles, detail: "The multipart body has more than one file part; send one file per request.")
        }
    }

    /// A part is the file when its Content-Disposition names `file` (or the kind) or gives a filename.
    private func isFilePart(_ headers: [(String, String)], into received: inout Received) -> Bool {
        guard let disposition = headers.first(where: { $0.0 == "content-disposition" })?.1 else { return false }
        let params = HeaderParameters.parse(disposition)
        let name = params["name"]
        let filename = Self.filename(params)
        guard name.map(fieldNames.contains) == true || filename != nil else { return false }
        received.originalName = filename.flatMap(Self.baseName)
        return true
    }

    /// The file name a `Content-Disposition` gives (`filename*` before `filename`, RFC 6266), as
    /// `original_name` keeps it: of a multipart part, or of a whole request whose body is the file.
    static func originalName(fromDisposition disposition: String?) -> String? {
        disposition.flatMap { filename(HeaderParameters.parse($0)) }.flatMap(baseName)
    }

    private static func filename(_ params: [String: String]) -> String? {
        params["filename*"].flatMap(HeaderParameters.decodeRFC5987) ?? params["filename"]
    }

    /// The longest `original_name` kept, in UTF-8 bytes (the usual file-system name limit).
    static let maxNameBytes = 255
    /// An extension up to this many bytes (after the dot) survives truncation: `….flac`.
    static let maxKeptExtensionBytes = 16

    /// The last segment of a client's file name (browsers on Windows and some tools send a whole
    /// path: `C:\Users\me\song.wav`, `../../song.wav`), without control characters (Unicode Cc)
    /// nor bidirectional controls (a name with U+202E shows `song\u{202E}vaw.exe` as
    /// `songexe.wav`), at most `maxNameBytes` UTF-8 bytes — cut between characters, keeping a
    /// short extension; nil when nothing is left, so the record says "no name" rather than `""`.
    static func baseName(_ filename: String) -> String? {
        let last = filename.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "/" || $0 == "\\" }).last.map(String.init) ?? ""
        let clean = String(String.UnicodeScalarView(last.unicodeScalars.filter { !isDropped($0) }))
            .trimmingCharacters(in: .whitespaces)
        guard !clean.isEmpty, clean != ".", clean != ".." else { return nil }
        return truncated(clean)
    }

    /// Cc (C0, DEL, C1) and the bidi controls: LRM/RLM, ALM, the embeddings and overrides
    /// U+202A–U+202E and the isolates U+2066–U+2069.
    static func isDropped(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F, 0x200E, 0x200F, 0x061C, 0x202A...0x202E, 0x2066...0x2069: true
        default: false
        }
    }

    /// `name` cut to `maxNameBytes` UTF-8 bytes on a character boundary; a short extension is kept
    /// and the stem before it is cut instead.
    static func truncated(_ name: String) -> String {
        guard name.utf8.count > maxNameBytes else { return name }
        if let dot = name.lastIndex(of: "."), dot != name.startIndex {
            let ext = name[dot...]  // with the dot
            if ext.utf8.count - 1 <= maxKeptExtensionBytes, ext.utf8.count > 1 {
                let stem = prefix(of: name[..<dot], bytes: maxNameBytes - ext.utf8.count)
                if !stem.isEmpty { return stem + ext }
            }
        }
        return prefix(of: Substring(name), bytes: maxNameBytes)
    }

    /// The longest prefix of whole characters within `bytes` UTF-8 bytes (whole scalars when even
    /// the first character is longer, as a run of combining marks can be).
    private static func prefix(of text: Substring, bytes: Int) -> String {
        var used = 0
        var end = text.startIndex
        for character in text {
            let size = character.utf8.count
            guard used + size <= bytes else { break }
            used += size
            end = text.index(after: end)
        }
        if end != text.startIndex { return String(text[..<end]) }
        var scalars = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            let size = UTF8.width(scalar)
            guard used + size <= bytes else { break }
            used += size
            scalars.append(scalar)
        }
        return String(scalars)
    }
}

/// Parsing of `; key=value` header parameters (Content-Type boundary, Content-Disposition names).
enum HeaderParameters {
    static func parse(_ header: String) -> [String: String] {
        var out: [String: String] = [:]
        var rest = Substring(header)
        // Skip the leading token (form-data, multipart/form-data).
        if let semi = rest.firstIndex(of: ";") { rest = rest[rest.index(after: semi)...] } else { return out }
        while !rest.isEmpty {
            rest = rest.drop { $0 == " " || $0 == "\t" || $0 == ";" }
            guard let eq = rest.firstIndex(of: "=") else { break }
            let key = rest[..<eq].trimmingCharacters(in: .whitespaces).lowercased()
            rest = rest[rest.index(after: eq)...]
            var value = ""
            if rest.first == "\"" {
                rest = rest.dropFirst()
                while let c = rest.first {
                    rest = rest.dropFirst()
                    // A backslash escapes only `"` and `\`: browsers send Windows paths unescaped
                    // (`C:\Users\me\song.wav`), which must keep their separators.
                    if c == "\\", let next = rest.first, next == "\"" || next == "\\" {
                        value.append(next)
                        rest = rest.dropFirst()
                    } else if c == "\"" {
                        break
                    } else {
                        value.append(c)
                    }
                }
                if let semi = rest.firstIndex(of: ";") { rest = rest[semi...] } else { rest = "" }
            } else {
                let end = rest.firstIndex(of: ";") ?? rest.endIndex
                value = rest[..<end].trimmingCharacters(in: .whitespaces)
                rest = rest[end...]
            }
            out[key] = value
        }
        return out
    }

    /// `UTF-8''na%C3%AFve.mp3` → `naïve.mp3`.
    static func decodeRFC5987(_ value: String) -> String? {
        let parts = value.split(separator: "'", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].lowercased() == "utf-8" else { return nil }
        return parts[2].removingPercentEncoding
    }
}

enum UploadProblems {
    /// 409 while another request holds the resumable upload's claim. `Retry-After: 1`: a claim
    /// ends when its append does, or at the latest when its 20 s lease runs out unrenewed, so a
    /// client that waits a second and asks again (HEAD, then resume) is not hammering the server.
    static func busy(_ detail: String) -> Problem {
        Problem(.uploadBusy, detail: detail, headers: [.retryAfter: "1"])
    }

    static func tooLarge(_ limit: Int64) -> Problem {
        Problem(
            .tooLarge, detail: "This kind accepts files of at most \(limit) bytes (\(formatBytes(limit))); the upload is larger.",
            extensions: [("max_bytes", .integer(limit))])
    }

    static func formatBytes(_ n: Int64) -> String {
        let units = ["bytes", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(n)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(n) bytes" : String(format: "%.1f %@", value, units[unit])
    }
}
