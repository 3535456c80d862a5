// Time per byte of JSONParser.parse for three hostile shapes at 1 KiB, 64 KiB and 1 MiB.
// Linear parsing shows a flat ns/byte column; a quadratic one grows ~1000x from 1 KiB to 1 MiB.
// Built by json-scaling.sh with `swiftc -O` straight from Sources/KindModel's parser files,
// so it needs neither the benchmark framework nor Yams. Not a unit test: speed lives here.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// CPU time of this thread: the machine is shared (2 cores, builds of other worktrees), and wall
/// clock there measures the scheduler more than the parser.
func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// `{"k0-…":0,"k1-…":1,...}` of about `size` bytes, keys padded to `keyLength` bytes. With 100-byte
/// keys 1 MiB holds about 9,500 members, under the 10,000-member cap; with short keys the cap
/// refuses it and the time measured is the time to refuse.
func manyKeys(_ size: Int, keyLength: Int) -> [UInt8] {
    var s = "{"
    var i = 0
    while s.utf8.count < size - keyLength - 16 {
        if i > 0 { s += "," }
        let key = "k\(i)-"
        s += "\"" + key + String(repeating: "x", count: max(0, keyLength - key.utf8.count)) + "\":\(i)"
        i += 1
    }
    s += "}"
    return Array(s.utf8)
}

/// `{"s":"\n\u00e9\"..."}`: a string made of escapes only.
func escapedString(_ size: Int) -> [UInt8] {
    let unit = #"\n\u00e9\"\\\ud83c\udfb5"#
    var s = #"{"s":""#
    while s.utf8.count < size - unit.utf8.count - 2 { s += unit }
    s += "\"}"
    return Array(s.utf8)
}

/// `[[[...]]],[[[...]]],...`: arrays nested to the depth limit, repeated to fill the size.
func deepArrays(_ size: Int) -> [UInt8] {
    let depth = 60
    let one = String(repeating: "[", count: depth) + "1" + String(repeating: "]", count: depth)
    var s = "["
    var first = true
    while s.utf8.count < size - one.utf8.count - 2 {
        if !first { s += "," }
        s += one
        first = false
    }
    s += "]"
    return Array(s.utf8)
}

let shapes: [(String, (Int) -> [UInt8])] = [
    ("many keys (100-byte keys)", { manyKeys($0, keyLength: 100) }),
    ("many keys (short keys)", { manyKeys($0, keyLength: 0) }),
    ("escaped string", escapedString), ("deep arrays", deepArrays)]
let sizes = [1 << 10, 64 << 10, 1 << 20]
print("| shape | size | outcome | CPU time per parse (incl. freeing the result) | ns/byte | MB/s |")
print("|---|---:|---|---:|---:|---:|")
for (name, make) in shapes {
    for size in sizes {
        let bytes = make(size)
        var outcome = "ok"
        // The best of up to 50 runs within about 0.5 s of CPU (at least one run).
        var best = Double.infinity
        var spent = 0.0
        for _ in 0..<50 where spent < 0.5 {
            let t0 = now()
            do { _ = try JSONParser.parse(bytes) } catch { outcome = "refused: \(error.message)" }
            let t = now() - t0
            best = min(best, t)
            spent += t
        }
        let nsPerByte = best * 1e9 / Double(bytes.count)
        let label = size >= 1 << 20 ? "\(size >> 20) MiB" : "\(size >> 10) KiB"
        print("| \(name) | \(label) (\(bytes.count) B) | \(outcome) | \(format3(best * 1e3)) ms | \(format3(nsPerByte)) | \(format3(Double(bytes.count) / best / 1e6)) |")
    }
}

func format3(_ x: Double) -> String {
    let r = (x * 1000).rounded() / 1000
    return "\(r)"
}
