import AudioProbe
import Testing

@Suite("Hand-built files for cases the fixture tools do not produce")
struct SyntheticFileTests {
    @Test("M4A with a 64-bit mdat size and version-1 mvhd/mdhd; channels come from esds, not the template")
    func largeBoxSizes() throws {
        let payload = [UInt8](repeating: 0xAB, count: 1000)
        let file =
            Synthetic.ftyp + Synthetic.largeBoxHeader("mdat", totalSize: UInt64(16 + payload.count)) + payload
            + Synthetic.moov()
        let result = try AudioProbe.probe(InMemoryByteSource(file))
        #expect(
            result
                == AudioProbeResult(
                    format: .m4a, codec: "aac", durationSeconds: 2.5,
                    sampleRate: 44100, channels: 1, bitrate: 3200))
    }

    @Test(
        "HE-AAC reports the SBR output rate",
        arguments: [
            // AAC-LC, 44.1 kHz, mono / HE-AAC: 24 kHz core, 48 kHz output, stereo.
            ([0x12, 0x08] as [UInt8], 44100, 1), ([0x2B, 0x11, 0x88], 48000, 2),
        ])
    func audioSpecificConfig(config: [UInt8], sampleRate: Int, channels: Int) throws {
        let file = Synthetic.ftyp + Synthetic.moov(audioSpecificConfig: config) + Synthetic.box("mdat", [1, 2, 3])
        let result = try AudioProbe.probe(InMemoryByteSource(file))
        #expect(result.sampleRate == sampleRate)
        #expect(result.channels == channels)
    }

    @Test("moov after a 1 GiB mdat is reached by seeking, not by reading the media")
    func moovAfterHugeMdat() throws {
        let mdatSize: UInt64 = 1 << 30
        let head = Synthetic.ftyp + Synthetic.largeBoxHeader("mdat", totalSize: mdatSize)
        let moov = Synthetic.moov()
        let moovOffset = Int64(Synthetic.ftyp.count) + Int64(mdatSize)
        let source = SparseByteSource(size: moovOffset + Int64(moov.count), regions: [(0, head), (moovOffset, moov)])
        let result = try AudioProbe.probe(source)
        #expect(result.durationSeconds == 2.5)
        #expect(source.bytesRead < 16 * 1024)
    }

    @Test("M4A edge cases: no sound track, no duration, mdat cut short")
    func m4aEdgeCases() throws {
        let video = Synthetic.ftyp + Synthetic.moov(handler: "vide")
        #expect(throws: AudioProbeError.unrecognized) { try AudioProbe.probe(InMemoryByteSource(video)) }

        let unknownDuration = Synthetic.ftyp + Synthetic.moov(movieDuration: 0)
        let fromMediaHeader = try AudioProbe.probe(InMemoryByteSource(unknownDuration))
        #expect(fromMediaHeader.durationSeconds == 2.5)  // mdhd: 110250 / 44100

        let cutMdat = Synthetic.ftyp + Synthetic.moov() + Synthetic.box("mdat", [UInt8](repeating: 0, count: 100)).dropLast(10)
        #expect(throws: AudioProbeError.truncated(.m4a, "the 'mdat' box runs past the end of the file")) {
            try AudioProbe.probe(InMemoryByteSource(Array(cutMdat)))
        }

        var overrun = Synthetic.ftyp + Synthetic.moov()
        overrun[Synthetic.ftyp.count + 8 + 1] = 0xFF  // mvhd's size now exceeds moov
        #expect(throws: AudioProbeError.corrupt(.m4a, "the 'mvhd' box overruns the 'moov' box that contains it")) {
            try AudioProbe.probe(InMemoryByteSource(overrun))
        }
    }

    @Test("a VBRI header gives the frame count; a smaller file than it declares is truncated")
    func vbri() throws {
        let result = try AudioProbe.probe(InMemoryByteSource(Synthetic.vbriFile(frames: 100)))
        #expect(result.durationSeconds == 100.0 * 1152 / 44100)
        #expect(result.sampleRate == 44100)
        #expect(result.channels == 2)
        #expect(throws: AudioProbeError.truncated(.mp3, "the VBR header declares 1000000 bytes of audio but the file holds 2085")) {
            try AudioProbe.probe(InMemoryByteSource(Synthetic.vbriFile(frames: 100, declaredBytes: 1_000_000)))
        }
    }

    @Test("trailing APEv2 and ID3v1 tags are not counted as frames, even when they contain frames")
    func trailingTags() throws {
        let mp3 = try Fixtures.bytes("mp3_cbr_mpeg2_noheader.mp3")
        let plain = try AudioProbe.probe(InMemoryByteSource(mp3))
        // Two real frames hidden in the tags would add 2 × 576 samples if scanned.
        let frames = Array(mp3.prefix(2 * 104))
        let tagged = mp3 + Synthetic.apeTag(value: frames) + Synthetic.id3v1Tag(title: Array(frames.prefix(100)))
        let result = try AudioProbe.probe(InMemoryByteSource(tagged))
        #expect(result.durationSeconds == plain.durationSeconds)
        #expect(result.bitrate == 24000)
    }

    @Test("a FLAC stream behind an ID3v2 tag is probed as FLAC")
    func id3BeforeFLAC() throws {
        let tag = Synthetic.ascii("ID3") + [3, 0, 0, 0, 0, 0, 100] + [UInt8](repeating: 0, count: 100)
        let result = try AudioProbe.probe(InMemoryByteSource(tag + Fixtures.bytes("flac_stereo.flac")))
        #expect(result.format == .flac)
        #expect(result.durationSeconds == 3)
    }

    @Test("FLAC with an unknown total (0) takes the length from the last frame header")
    func flacUnknownLength() throws {
        var flac = try Fixtures.bytes("flac_stereo.flac")
        flac[21] &= 0xF0  // the low 36 bits of STREAMINFO's packed field are the total
        flac.replaceSubrange(22..<26, with: [0, 0, 0, 0])
        let result = try AudioProbe.probe(InMemoryByteSource(flac))
        #expect(result.durationSeconds == 3)
    }

    @Test("AIFF's 80-bit sample rate may be fractional, like the classic Mac rate of 22254.54 Hz")
    func aiffExtendedRate() throws {
        let rate = 22_254.545_454_545_454
        let result = try AudioProbe.probe(InMemoryByteSource(Synthetic.aiff(frames: 22_255, sampleRate: rate, soundBytes: 22_255)))
        #expect(
            result
                == AudioProbeResult(
                    format: .aiff, codec: "pcm_s8", durationSeconds: 22_255 / rate,
                    sampleRate: 22_255, channels: 1, bitrate: 178_036))
        #expect(throws: AudioProbeError.truncated(.aiff, "the file ends before the SSND chunk")) {
            try AudioProbe.probe(InMemoryByteSource(Array(Synthetic.aiff(frames: 10, sampleRate: 8000, soundBytes: 10).prefix(38))))
        }
    }

    @Test("a 1 GiB WAV is probed from its header alone")
    func hugeWAV() throws {
        let dataSize: UInt32 = 1 << 30
        let header = Synthetic.wavHeader(dataSize: dataSize)
        let source = SparseByteSource(size: Int64(header.count) + Int64(dataSize), regions: [(0, header)])
        let result = try AudioProbe.probe(source)
        #expect(result.durationSeconds == Double(dataSize) / 192_000)
        #expect(result.bitrate == 1_536_000)
        #expect(source.bytesRead <= 4096 + 64)
    }

    @Test("an Ogg page whose checksum fails is corrupt; a cut at a page boundary keeps the length it has")
    func oggPages() throws {
        var damaged = try Fixtures.bytes("opus_stereo.opus")
        damaged[damaged.count - 1] ^= 0x01
        let error = #expect(throws: AudioProbeError.self) { try AudioProbe.probe(InMemoryByteSource(damaged)) }
        #expect(error.map { if case .corrupt(.opus, _) = $0 { true } else { false } } == true)

        let opus = try Fixtures.bytes("opus_stereo.opus")
        let lastPageStart = try #require(Self.pageOffsets(opus).last)
        let cut = try AudioProbe.probe(InMemoryByteSource(Array(opus.prefix(lastPageStart))))
        #expect(cut.durationSeconds > 2 && cut.durationSeconds < 3)
    }

    @Test("errors thrown by the byte source propagate unchanged")
    func sourceErrors() throws {
        let source = FailingByteSource(prefix: Synthetic.wavHeader(dataSize: 1000))
        #expect(throws: FailingByteSource.DiskError()) { try AudioProbe.probe(source) }
    }

    /// The byte offsets where Ogg pages start, found by walking page lengths.
    private static func pageOffsets(_ bytes: [UInt8]) -> [Int] {
        var offsets: [Int] = []
        var offset = 0
        while offset + 27 <= bytes.count {
            let segments = Int(bytes[offset + 26])
            let bodyLength = bytes[(offset + 27)..<(offset + 27 + segments)].reduce(0) { $0 + Int($1) }
            offsets.append(offset)
            offset += 27 + segments + bodyLength
        }
        return offsets
    }
}

/// A header's duration claim is held against the bytes the file has, so a forged header cannot
/// pass a duration check (the issue's example: a 1.6 KB AIFF claiming 536,870 s).
@Suite("Header claims cross-checked against the file's size")
struct PlausibleSizeTests {
    @Test("an AIFF whose COMM claims more PCM frames than SSND holds is corrupt")
    func aiffFramesBeyondSSND() throws {
        // 2^32 - 1 frames at 8 kHz: 536,870 s in a 1.6 KB file.
        let forged = Synthetic.aiff(frames: UInt32.max, sampleRate: 8000, soundBytes: 1600)
        #expect(forged.count < 1700)
        #expect(
            throws: AudioProbeError.corrupt(
                .aiff,
                "COMM claims 4294967295 sample frames, which need 4294967295 bytes, "
                    + "but the SSND chunk holds 1600 bytes of samples")
        ) {
            try AudioProbe.probe(InMemoryByteSource(forged))
        }
        // One frame more than SSND holds is refused too (PCM is checked exactly); exactly full passes.
        #expect(throws: AudioProbeError.self) {
            try AudioProbe.probe(InMemoryByteSource(Synthetic.aiff(frames: 1601, sampleRate: 8000, soundBytes: 1600)))
        }
        let full = try AudioProbe.probe(InMemoryByteSource(Synthetic.aiff(frames: 1600, sampleRate: 8000, soundBytes: 1600)))
        #expect(full.durationSeconds == 0.2)
    }

    @Test("a PCM WAV whose byte rate is below what its samples need is corrupt")
    func wavByteRateTooLow() throws {
        var wav = Synthetic.wavHeader(dataSize: 1600, channels: 1, sampleRate: 8000) + [UInt8](repeating: 0, count: 1600)
        // byte rate (offset 28) 1 instead of 16,000: 1,600 bytes would last 1,600 s.
        wav.replaceSubrange(28..<32, with: Synthetic.le(1, width: 4))
        #expect(
            throws: AudioProbeError.corrupt(.wav, "the fmt chunk's byte rate 1 is below the 16000 bytes/s that 8000 Hz × 1 channels × 2 bytes need")
        ) {
            try AudioProbe.probe(InMemoryByteSource(wav))
        }
        var honest = wav
        honest.replaceSubrange(28..<32, with: Synthetic.le(16000, width: 4))
        #expect(try AudioProbe.probe(InMemoryByteSource(honest)).durationSeconds == 0.1)
    }

    @Test("an M4A whose mvhd claims more than 64 bit/s of its size allows is corrupt")
    func m4aDurationBeyondSize() throws {
        // timescale 1000: 2,000,000 s needs 16,000,000 bytes at 64 bit/s.
        let file = Synthetic.ftyp + Synthetic.moov(movieDuration: 2_000_000_000) + Synthetic.box("mdat", [1, 2, 3])
        let error = #expect(throws: AudioProbeError.self) { try AudioProbe.probe(InMemoryByteSource(file)) }
        #expect(
            error
                == .corrupt(
                    .m4a,
                    "the header claims 2000000 s of audio, which needs at least 16000000 bytes even at 64 bit/s, but the file has \(file.count) bytes"
                ))
    }

    @Test("an MP3 whose VBRI header claims more frames than 1 kbit/s allows is corrupt")
    func mp3FramesBeyondSize() throws {
        // 10,000,000 frames of 1152 samples at 44.1 kHz: 261,224 s in 2,085 bytes.
        let file = Synthetic.vbriFile(frames: 10_000_000)
        let error = #expect(throws: AudioProbeError.self) { try AudioProbe.probe(InMemoryByteSource(file)) }
        guard case .corrupt(.mp3, let reason)? = error else {
            Issue.record("\(String(describing: error))")
            return
        }
        #expect(reason.contains("261224 s") && reason.contains("1000 bit/s") && reason.contains("2085 bytes"), "\(reason)")
    }

    @Test("an Opus file whose last granule claims more than 64 bit/s of its size allows is corrupt")
    func oggGranuleBeyondSize() throws {
        var opus = try Fixtures.bytes("opus_stereo.opus")
        // The last page: walk page lengths from the start.
        var offset = 0
        var last = 0
        while offset + 27 <= opus.count {
            last = offset
            let segments = Int(opus[offset + 26])
            offset += 27 + segments + opus[(offset + 27)..<(offset + 27 + segments)].reduce(0) { $0 + Int($1) }
        }
        // Granule 2^40 at 48 kHz: ~22.9 million seconds. Re-sign the page so only the claim is wrong.
        opus.replaceSubrange((last + 6)..<(last + 14), with: Synthetic.le(1 << 40, width: 8))
        opus.replaceSubrange((last + 22)..<(last + 26), with: [0, 0, 0, 0])
        let crc = Self.oggCRC(opus[last..<offset])
        opus.replaceSubrange((last + 22)..<(last + 26), with: Synthetic.le(UInt64(crc), width: 4))
        let error = #expect(throws: AudioProbeError.self) { try AudioProbe.probe(InMemoryByteSource(opus)) }
        guard case .corrupt(.opus, let reason)? = error else {
            Issue.record("\(String(describing: error))")
            return
        }
        #expect(reason.contains("64 bit/s") && reason.contains("the file has \(opus.count) bytes"), "\(reason)")
    }

    /// Ogg's page checksum: CRC-32, polynomial 0x04C11DB7, no reflection, initial value 0.
    static func oggCRC(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        var crc: UInt32 = 0
        for byte in bytes {
            crc ^= UInt32(byte) << 24
            for _ in 0..<8 { crc = crc & 0x8000_0000 != 0 ? (crc << 1) ^ 0x04C1_1DB7 : crc << 1 }
        }
        return crc
    }
}
