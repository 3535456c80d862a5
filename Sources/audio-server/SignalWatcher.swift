import Dispatch
import Foundation

/// Delivers a Unix signal as an async stream (used for SIGHUP → reload kinds).
enum SignalWatcher {
    static func watch(_ signalNumber: Int32) -> AsyncStream<Void> {
        signal(signalNumber, SIG_IGN)
        return AsyncStream { continuation in
            let source = SendableSource(DispatchSource.makeSignalSource(signal: signalNumber, queue: .global()))
            source.value.setEventHandler { continuation.yield() }
            continuation.onTermination = { _ in source.value.cancel() }
            source.value.resume()
        }
    }
}

/// Dispatch sources are thread-safe; the wrapper only tells the compiler so.
private struct SendableSource: @unchecked Sendable {
    let value: any DispatchSourceSignal
    init(_ value: any DispatchSourceSignal) { self.value = value }
}
