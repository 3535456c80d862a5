"""schemathesis hooks for scripts/fuzz-api.sh.

No schema can say "a valid audio file": the upload bodies are `format: binary`, for which
schemathesis draws image samples or random bytes, which the server rightly refuses with 415. So
that valid uploads are generated too (and their responses and the ranged download get checked),
binary values are drawn as real WAV files of varying length, rate and channel count.
"""
import io
import wave

import schemathesis
from hypothesis import strategies as st


def _wav(frames: int, rate: int, channels: int, width: int) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(width)
        out.setframerate(rate)
        out.writeframes(bytes((i * 7) & 0xFF for i in range(frames * channels * width)))
    return buffer.getvalue()


audio = st.builds(
    _wav,
    frames=st.integers(min_value=1, max_value=4000),
    rate=st.sampled_from([8000, 22050, 44100, 48000]),
    channels=st.integers(min_value=1, max_value=2),
    width=st.sampled_from([1, 2, 3]),
)

schemathesis.openapi.format("binary", audio)
schemathesis.openapi.media_type("audio/wav", audio, aliases=["audio/*", "audio/x-wav"])
# The bytes of a resumable upload (tus PATCH and creation-with-upload).
schemathesis.openapi.media_type("application/offset+octet-stream", audio)
