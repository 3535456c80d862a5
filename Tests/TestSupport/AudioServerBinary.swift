import Foundation

/// The `audio-server` executable that `swift build --build-tests` / `swift test` build next to the
/// test bundle, for tests that run the CLI as a user would.
public enum AudioServerBinary {
    /// Its path, if built.
    public static let path: String? = {
        var dir = URL(fileURLWithPath: CommandLine.arguments.first ?? "").deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("audio-server").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return nil
    }()
}
