import AudioProbe
import Testing

@Suite("Sniffing formats from leading bytes")
struct SniffTests {
    @Test(
        "every audio fixture sniffs as its format from its first 64 bytes and from 64 KiB",
        arguments: Fixtures.audioNames)
    func fixtures(name: String) throws {
        let bytes = try Fixtures.bytes(name)
        let expected = try #require(Fixtures.manifest[name]).format
        #expect(AudioFormat.sniff(bytes.prefix(64))?.rawValue == expected)
        #expect(AudioFormat.sniff(bytes.prefix(64 * 1024))?.rawValue == expected)
    }

    @Test("non-audio and empty input is not sniffed as audio")
    func nonAudio() throws {
        #expect(AudioFormat.sniff([UInt8]()) == nil)
        #expect(AudioFormat.sniff(try Fixtures.bytes("not_audio.txt")) == nil)
        #expect(AudioFormat.sniff(try Fixtures.bytes("not_audio.png")) == nil)
        #expect(AudioFormat.sniff(Array("%PDF-1.7\n".utf8) + [UInt8](repeating: 0, count: 100)) == nil)
        // RIFF that is not WAVE (AVI), FORM that is not AIFF, an MP4 video brand, Ogg Theora.
        #expect(AudioFormat.sniff(Array("RIFF\u{0}\u{0}\u{0}\u{0}AVI LIST".utf8)) == nil)
        #expect(AudioFormat.sniff(Array("FORM\u{0}\u{0}\u{0}\u{0}8SVXVHDR".utf8)) == nil)
        #expect(AudioFormat.sniff([0, 0, 0, 16] + Array("ftypqt  \u{0}\u{0}\u{0}\u{0}".utf8)) == nil)
        var theora = try Fixtures.bytes("ogg_vorbis_stereo.ogg").prefix(64).map { $0 }
        theora.replaceSubrange(28..<35, with: Array("\u{80}theora".utf8))
        #expect(AudioFormat.sniff(theora) == nil)
    }

    @Test("an MPEG sync needs valid header fields, and a second frame where one fits")
    func mpegSync() {
        // 0xFFFB 0x90 0x64: MPEG-1 layer III, 128 kbit/s, 44.1 kHz — a 417-byte frame.
        let header: [UInt8] = [0xFF, 0xFB, 0x90, 0x64]
        #expect(AudioFormat.sniff(header + [UInt8](repeating: 0, count: 60)) == .mp3)
        let twoFrames = header + [UInt8](repeating: 0, count: 413) + header + [0, 0, 0]
        #expect(AudioFormat.sniff(twoFrames) == .mp3)
        var brokenSecond = twoFrames
        brokenSecond[417] = 0x00
        #expect(AudioFormat.sniff(brokenSecond) == nil)
        #expect(AudioFormat.sniff([0xFF, 0xFB, 0xF0, 0x64] + [UInt8](repeating: 0, count: 60)) == nil)  // bitrate index 15
        #expect(AudioFormat.sniff([0xFF, 0xFB, 0x0C, 0x64] + [UInt8](repeating: 0, count: 60)) == nil)  // free format
        #expect(AudioFormat.sniff([0xFF, 0xFB, 0x9C, 0x64] + [UInt8](repeating: 0, count: 60)) == nil)  // sample rate index 3
        #expect(AudioFormat.sniff([0xFF, 0xEB, 0x90, 0x64] + [UInt8](repeating: 0, count: 60)) == nil)  // reserved version
        #expect(AudioFormat.sniff([0xFF, 0xF1, 0x50, 0x80] + [UInt8](repeating: 0, count: 60)) == nil)  // ADTS AAC: layer 0
        #expect(AudioFormat.sniff([0xFF, 0xE0, 0x00, 0x00] + [UInt8](repeating: 0, count: 60)) == nil)  // bare 11-bit sync
    }

    @Test("an ID3v2 header sniffs as mp3 only when well formed")
    func id3() {
        #expect(AudioFormat.sniff(Array("ID3".utf8) + [4, 0, 0, 0, 0, 1, 0] + [UInt8](repeating: 0, count: 54)) == .mp3)
        #expect(AudioFormat.sniff(Array("ID3".utf8) + [9, 0, 0, 0, 0, 1, 0]) == nil)  // unknown version
        #expect(AudioFormat.sniff(Array("ID3".utf8) + [3, 0, 0, 0x80, 0, 1, 0]) == nil)  // size not syncsafe
    }

    @Test("content types and extensions")
    func names() {
        #expect(
            AudioFormat.allCases.map(\.contentType)
                == ["audio/wav", "audio/aiff", "audio/flac", "audio/mpeg", "audio/ogg", "audio/ogg", "audio/mp4"])
        #expect(AudioFormat.allCases.map(\.fileExtension) == ["wav", "aiff", "flac", "mp3", "ogg", "opus", "m4a"])
    }
}
