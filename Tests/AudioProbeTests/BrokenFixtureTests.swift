import AudioProbe
import Testing

/// What each deliberately broken or non-audio fixture must yield. A header that survives is
/// not enough: a file cut short must be refused, so its recorded duration is never a lie.
@Suite("Broken and non-audio fixtures")
struct BrokenFixtureTests {
    enum Outcome: Equatable, CustomStringConvertible {
        case unrecognized, truncated(AudioFormat), corrupt(AudioFormat)

        init(_ error: AudioProbeError) {
            switch error {
            case .unrecognized: self = .unrecognized
            case .truncated(let format, _): self = .truncated(format)
            case .corrupt(let format, _): self = .corrupt(format)
            }
        }

        var description: String {
            switch self {
            case .unrecognized: "unrecognized"
            case .truncated(let format): "truncated(\(format))"
            case .corrupt(let format): "corrupt(\(format))"
            }
        }
    }

    static let expectations: [String: Outcome] = [
        "bad_wav_truncated.wav": .truncated(.wav),  // data chunk larger than the file
        "bad_wav_zero_channels.wav": .corrupt(.wav),  // fmt says 0 channels
        "bad_aiff_truncated.aiff": .truncated(.aiff),  // SSND larger than the file
        "bad_flac_truncated.flac": .truncated(.flac),  // last frame ends before STREAMINFO's total
        "bad_flac_garbage_streaminfo.flac": .corrupt(.flac),  // block sizes and sample rate zeroed
        "bad_mp3_truncated.mp3": .truncated(.mp3),  // smaller than the Xing header's byte count
        "bad_mp3_no_frames.mp3": .corrupt(.mp3),  // an ID3v2 tag followed by text
        "bad_ogg_truncated.ogg": .truncated(.ogg),  // ends inside a page
        "bad_opus_truncated.opus": .truncated(.opus),  // ends inside a page
        "bad_m4a_no_moov.m4a": .truncated(.m4a),  // cut where moov (after mdat) began
        "not_audio.txt": .unrecognized,
        "not_audio.png": .unrecognized,
    ]

    @Test("each broken fixture yields its error", arguments: expectations.keys.sorted())
    func yieldsExpectedError(name: String) throws {
        let bytes = try Fixtures.bytes(name)
        let error = #expect(throws: AudioProbeError.self) { try AudioProbe.probe(InMemoryByteSource(bytes)) }
        let outcome = try #require(error.map(Outcome.init))
        #expect(outcome == Self.expectations[name])
        #expect(error?.description.hasSuffix(".") == true)
    }

    @Test("every fixture file is either in durations.json or has an expected error")
    func everyFixtureIsCovered() {
        #expect(Fixtures.allNames.count >= 30)
        for name in Fixtures.allNames {
            #expect(Fixtures.manifest[name] != nil || Self.expectations[name] != nil, "\(name) is not tested")
        }
    }

    @Test("truncated files still sniff as their format, so the error can name it")
    func truncatedFilesSniff() throws {
        for (name, outcome) in Self.expectations {
            guard case .truncated(let format) = outcome else { continue }
            #expect(try AudioFormat.sniff(Fixtures.bytes(name).prefix(4096)) == format, "\(name)")
        }
    }

    @Test("error messages say what is wrong in plain words")
    func messages() throws {
        #expect(
            AudioProbeError.unrecognized.description
                == "The file is not in a supported audio format (WAV, AIFF, FLAC, MP3, Ogg Vorbis, Ogg Opus or M4A).")
        #expect(
            AudioProbeError.corrupt(.wav, "the fmt chunk declares 0 channels").description
                == "The WAV file is corrupt: the fmt chunk declares 0 channels.")
        let bytes = try Fixtures.bytes("bad_wav_truncated.wav")
        #expect(throws: AudioProbeError.truncated(.wav, "the data chunk declares 66152 bytes but only 33054 are present")) {
            try AudioProbe.probe(InMemoryByteSource(bytes))
        }
        let flac = try Fixtures.bytes("bad_flac_truncated.flac")
        let error = #expect(throws: AudioProbeError.self) { try AudioProbe.probe(InMemoryByteSource(flac)) }
        #expect(error?.description.contains("of the 132300 that STREAMINFO declares") == true)
    }
}
