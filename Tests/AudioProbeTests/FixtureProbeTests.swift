import AudioProbe
import Foundation
import Testing

@Suite("Probing the generated fixtures")
struct FixtureProbeTests {
    @Test("every well-formed fixture matches durations.json", arguments: Fixtures.audioNames)
    func matchesManifest(name: String) throws {
        let expected = try #require(Fixtures.manifest[name])
        let result = try AudioProbe.probe(InMemoryByteSource(Fixtures.bytes(name)))
        #expect(result.format.rawValue == expected.format)
        #expect(result.codec == expected.codec)
        #expect(result.sampleRate == expected.sampleRate)
        #expect(result.channels == expected.channels)
        #expect(
            abs(result.durationSeconds - expected.duration) <= expected.duration * 0.01,
            "duration \(result.durationSeconds) s, expected \(expected.duration) s")
        if let bitrate = expected.bitrate {
            #expect(result.bitrate == bitrate)
        } else {
            // Derived from size and duration: positive and plausible for these small files.
            let bitrate = try #require(result.bitrate)
            #expect((8_000...2_000_000).contains(bitrate))
        }
    }

    @Test("headers that state the exact length give it exactly")
    func exactDurations() throws {
        // PCM, FLAC, Vorbis and Opus granules, and a LAME header with delay and padding are sample-exact.
        let exact = [
            "wav_mono_s16.wav", "aiff_stereo_s16.aiff", "flac_stereo.flac", "ogg_vorbis_stereo.ogg",
            "opus_mono.opus", "opus_stereo.opus", "mp3_cbr_info.mp3", "mp3_vbr_xing.mp3", "mp3_cbr_mpeg25.mp3",
        ]
        for name in exact {
            let expected = try #require(Fixtures.manifest[name])
            let result = try AudioProbe.probe(InMemoryByteSource(Fixtures.bytes(name)))
            #expect(abs(result.durationSeconds - expected.duration) < 1e-9, "\(name): \(result.durationSeconds)")
        }
    }

    @Test("results survive a JSON round trip, with the format as its raw name")
    func codable() throws {
        let result = try AudioProbe.probe(InMemoryByteSource(Fixtures.bytes("opus_mono.opus")))
        let json = try JSONEncoder().encode(result)
        #expect(String(decoding: json, as: UTF8.self).contains(#""format":"opus""#))
        #expect(try JSONDecoder().decode(AudioProbeResult.self, from: json) == result)
    }

    @Test("the headerless VBR mp3 is counted frame by frame and reported as variable bitrate")
    func headerlessVBR() throws {
        let bytes = try Fixtures.bytes("mp3_vbr_noheader.mp3")
        let result = try AudioProbe.probe(InMemoryByteSource(bytes))
        // A CBR-style estimate from the first frame's bitrate would be several percent off.
        #expect(abs(result.durationSeconds - 12) < 0.12)
        let derived = Double(bytes.count) * 8 / result.durationSeconds
        #expect(result.bitrate == Int(derived.rounded()))
    }

    @Test("a 300 KB ID3v2.4 tag with footer is skipped without reading it")
    func largeTagIsSkipped() throws {
        let bytes = try Fixtures.bytes("mp3_large_id3v2.mp3")
        #expect(bytes.count > 300_000)
        let source = SparseByteSource(size: Int64(bytes.count), regions: [(0, bytes)])
        let result = try AudioProbe.probe(source)
        #expect(result.bitrate == 64_000)
        // The frame scan reads the ~64 KB of audio; the picture in the tag is never read.
        #expect(source.bytesRead < 200_000)
    }
}
