#!/usr/bin/env bash
# Generates the audio fixtures for Tests/AudioProbeTests into Tests/AudioProbeTests/Fixtures/,
# plus durations.json, the manifest of what each well-formed fixture really is.
#
# The fixtures are committed, so CI never needs these tools; rerun this script only to change them.
# Needs (Debian packages): sox, lame, flac, vorbis-tools, opus-tools, ffmpeg, coreutils.
#
# Every duration below is the one the generator was told to produce, so the manifest records the
# truth rather than what some other prober measured. An mp3 without a Xing/Info header cannot say
# how many samples of encoder delay and padding it carries (about 1.5 frames), so the headerless
# mp3s are 8-12 s long to keep that overhead under the tests' 1% tolerance.
#
# Files named bad_* or not_audio* are deliberately broken or non-audio inputs; BrokenFixtureTests
# lists what each of them must yield. Output is deterministic: rerunning reproduces the same bytes.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/Tests/AudioProbeTests/Fixtures"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

for tool in sox lame flac oggenc opusenc ffmpeg; do
    command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install sox lame flac vorbis-tools opus-tools ffmpeg)" >&2; exit 1; }
done

mkdir -p "$out"
find "$out" -type f -delete

# sox -R makes noise generators repeatable, so reruns produce the same signal.
tone() { # tone FILE SECONDS RATE CHANNELS [sox output options...]
    local file=$1 seconds=$2 rate=$3 channels=$4; shift 4
    sox -R -n -r "$rate" -c "$channels" "$@" "$file" synth "$seconds" sine 440 sine 660 gain -3
}
# Half tone, half pink noise: gives a VBR encoder something to vary its bitrate over.
mixed() { # mixed FILE SECONDS RATE CHANNELS
    local file=$1 seconds=$2 rate=$3 channels=$4 half
    half=$(awk "BEGIN { print $seconds / 2 }")
    sox -R -n -r "$rate" -c "$channels" -b 16 "$work/a.wav" synth "$half" sine 300-3000 gain -3
    sox -R -n -r "$rate" -c "$channels" -b 16 "$work/b.wav" synth "$half" pinknoise gain -6
    sox "$work/a.wav" "$work/b.wav" "$file"
}
ffmpeg_quiet() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }

manifest=()
record() { # record FILE FORMAT CODEC SECONDS RATE CHANNELS [BITRATE]
    local bitrate=${7:-}
    local entry="  \"$1\": {\"format\": \"$2\", \"codec\": \"$3\", \"duration\": $4, \"sampleRate\": $5, \"channels\": $6"
    [[ -n "$bitrate" ]] && entry+=", \"bitrate\": $bitrate"
    manifest+=("$entry}")
}

# --- WAV / AIFF -------------------------------------------------------------------------------
tone "$out/wav_mono_s16.wav" 2 8000 1 -b 16
record wav_mono_s16.wav wav pcm_s16le 2 8000 1 128000
tone "$out/wav_stereo_s16.wav" 1.5 11025 2 -b 16
record wav_stereo_s16.wav wav pcm_s16le 1.5 11025 2 352800
# sox writes WAVE_FORMAT_EXTENSIBLE for 24-bit samples.
tone "$out/wav_mono_s24_extensible.wav" 1 16000 1 -b 24
record wav_mono_s24_extensible.wav wav pcm_s24le 1 16000 1 384000
tone "$out/wav_stereo_f32.wav" 1 8000 2 -e floating-point -b 32
record wav_stereo_f32.wav wav pcm_f32le 1 8000 2 512000
tone "$out/aiff_stereo_s16.aiff" 1.5 8000 2 -b 16
record aiff_stereo_s16.aiff aiff pcm_s16be 1.5 8000 2 256000
# ffmpeg stores little-endian PCM as AIFF-C with the 'sowt' compression type.
tone "$work/aifc.wav" 1 22050 1 -b 16
ffmpeg_quiet -i "$work/aifc.wav" -c:a pcm_s16le -fflags +bitexact "$out/aifc_sowt.aifc"
record aifc_sowt.aifc aiff pcm_s16le 1 22050 1 352800

# --- FLAC -------------------------------------------------------------------------------------
tone "$work/flac.wav" 3 44100 2 -b 16
flac --silent --force -8 -o "$out/flac_stereo.flac" "$work/flac.wav"
record flac_stereo.flac flac flac 3 44100 2

# --- MP3 --------------------------------------------------------------------------------------
tone "$work/mp3_44k.wav" 4 44100 1 -b 16
lame --quiet -b 64 "$work/mp3_44k.wav" "$out/mp3_cbr_info.mp3"          # CBR with a LAME "Info" header
record mp3_cbr_info.mp3 mp3 mp3 4 44100 1 64000
tone "$work/mp3_22k.wav" 10 22050 1 -b 16
lame --quiet -b 24 --resample 22.05 -t "$work/mp3_22k.wav" "$out/mp3_cbr_mpeg2_noheader.mp3"  # MPEG-2, no Info header
record mp3_cbr_mpeg2_noheader.mp3 mp3 mp3 10 22050 1 24000
tone "$work/mp3_8k.wav" 3 8000 1 -b 16
lame --quiet -b 24 "$work/mp3_8k.wav" "$out/mp3_cbr_mpeg25.mp3"        # MPEG-2.5 (8 kHz); 24 kbps so the Info header fits a frame
record mp3_cbr_mpeg25.mp3 mp3 mp3 3 8000 1 24000
mixed "$work/vbr.wav" 5 44100 2
lame --quiet -V 6 "$work/vbr.wav" "$out/mp3_vbr_xing.mp3"              # VBR with a Xing header
record mp3_vbr_xing.mp3 mp3 mp3 5 44100 2
mixed "$work/vbr16.wav" 12 16000 1
lame --quiet --vbr-new -V 6 -t "$work/vbr16.wav" "$out/mp3_vbr_noheader.mp3"  # VBR, -t: no Xing header
record mp3_vbr_noheader.mp3 mp3 mp3 12 16000 1

# A ~300 KB ID3v2.4 tag with a footer in front, an ID3v1 tag behind, and no Info header, so the
# prober has to skip both tags and count frames. The "picture" is noise full of false frame syncs.
syncsafe() { printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(( ($1 >> 21) & 127 )) $(( ($1 >> 14) & 127 )) $(( ($1 >> 7) & 127 )) $(( $1 & 127 )); }
sox -R -n -r 8000 -c 1 -b 16 -t raw "$work/picture.bin" synth 18.75 whitenoise
{ printf '\x00image/png\x00\x03\x00'; cat "$work/picture.bin"; } > "$work/apic.bin"
apic_size=$(stat -c %s "$work/apic.bin")
{ printf 'APIC'; printf "$(syncsafe "$apic_size")"; printf '\x00\x00'; cat "$work/apic.bin"; } > "$work/frames.bin"
frames_size=$(stat -c %s "$work/frames.bin")
{
    printf 'ID3\x04\x00\x10'; printf "$(syncsafe "$frames_size")"; cat "$work/frames.bin"
    printf '3DI\x04\x00\x10'; printf "$(syncsafe "$frames_size")"
} > "$work/id3v2.bin"
tone "$work/mp3_44k_long.wav" 8 44100 1 -b 16
lame --quiet -b 64 -t --id3v1-only --tt Fixture --ta AudioProbe "$work/mp3_44k_long.wav" "$work/tagged.mp3"
cat "$work/id3v2.bin" "$work/tagged.mp3" > "$out/mp3_large_id3v2.mp3"
record mp3_large_id3v2.mp3 mp3 mp3 8 44100 1 64000

# --- Ogg Vorbis / Ogg Opus --------------------------------------------------------------------
tone "$work/vorbis.wav" 3 22050 2 -b 16
oggenc --quiet -q 0 -s 1 -o "$out/ogg_vorbis_stereo.ogg" "$work/vorbis.wav"
record ogg_vorbis_stereo.ogg ogg vorbis 3 22050 2
tone "$work/opus_mono.wav" 2 16000 1 -b 16
opusenc --quiet --bitrate 16 --serial 1 "$work/opus_mono.wav" "$out/opus_mono.opus"
record opus_mono.opus opus opus 2 48000 1
tone "$work/opus_stereo.wav" 3 48000 2 -b 16
opusenc --quiet --bitrate 32 --serial 2 "$work/opus_stereo.wav" "$out/opus_stereo.opus"
record opus_stereo.opus opus opus 3 48000 2

# --- MP4 audio --------------------------------------------------------------------------------
tone "$work/aac.wav" 3 44100 2 -b 16
ffmpeg_quiet -i "$work/aac.wav" -c:a aac -b:a 48k -fflags +bitexact "$out/m4a_aac_stereo.m4a"   # moov after mdat
record m4a_aac_stereo.m4a m4a aac 3 44100 2
tone "$work/aac_fast.wav" 2 22050 1 -b 16
ffmpeg_quiet -i "$work/aac_fast.wav" -c:a aac -b:a 24k -movflags +faststart -fflags +bitexact "$out/m4a_aac_faststart.m4a"
record m4a_aac_faststart.m4a m4a aac 2 22050 1
tone "$work/alac.wav" 1 8000 1 -b 16
ffmpeg_quiet -i "$work/alac.wav" -c:a alac -fflags +bitexact "$out/m4a_alac.m4a"
record m4a_alac.m4a m4a alac 1 8000 1

# --- Broken and non-audio inputs --------------------------------------------------------------
half() { head -c $(( $(stat -c %s "$1") / 2 )) "$1" > "$2"; }
overwrite() { # overwrite FILE OFFSET HEXBYTES
    printf "$3" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
half "$out/wav_stereo_s16.wav" "$out/bad_wav_truncated.wav"
cp "$out/wav_mono_s16.wav" "$out/bad_wav_zero_channels.wav"
overwrite "$out/bad_wav_zero_channels.wav" 22 '\x00\x00'                # fmt channel count
half "$out/aiff_stereo_s16.aiff" "$out/bad_aiff_truncated.aiff"
half "$out/flac_stereo.flac" "$out/bad_flac_truncated.flac"
cp "$out/flac_stereo.flac" "$out/bad_flac_garbage_streaminfo.flac"
# Zero STREAMINFO from the block sizes through the sample rate, channels and sample count.
overwrite "$out/bad_flac_garbage_streaminfo.flac" 8 "$(printf '\\x00%.0s' {1..18})"
half "$out/mp3_vbr_xing.mp3" "$out/bad_mp3_truncated.mp3"
{ printf 'ID3\x03\x00\x00\x00\x00\x00\x0a'; printf '\x00%.0s' {1..10}; echo "this is not MPEG audio, just text after a tag"; } > "$out/bad_mp3_no_frames.mp3"
half "$out/ogg_vorbis_stereo.ogg" "$out/bad_ogg_truncated.ogg"
half "$out/opus_stereo.opus" "$out/bad_opus_truncated.opus"
# Cut the file where the moov box starts (it follows mdat), as an interrupted recording leaves it.
moov_at=$(grep -obUaP 'moov' "$out/m4a_aac_stereo.m4a" | tail -1 | cut -d: -f1)
head -c $(( moov_at - 4 )) "$out/m4a_aac_stereo.m4a" > "$out/bad_m4a_no_moov.m4a"
echo "Just some text. Not audio, even though it is long enough to be sniffed." > "$out/not_audio.txt"
ffmpeg_quiet -f lavfi -i color=c=red:s=16x16 -frames:v 1 -fflags +bitexact "$out/not_audio.png"

# --- Manifest ---------------------------------------------------------------------------------
{
    echo "{"
    for i in "${!manifest[@]}"; do
        (( i + 1 < ${#manifest[@]} )) && echo "${manifest[$i]}," || echo "${manifest[$i]}"
    done
    echo "}"
} > "$out/durations.json"

du -ch "$out"/* | tail -1
