"""End to end with a real tus client (tuspy): scripts/tus-e2e.sh starts the server and runs this.

Usage: tus_e2e.py BASE_URL ADMIN_KEY                 the scenarios below
       tus_e2e.py BASE_URL ADMIN_KEY before-kill STATE  two chunks of an upload, its URL saved in STATE
       tus_e2e.py BASE_URL ADMIN_KEY after-kill STATE   (another server, after the first was killed
                                                        with SIGKILL) resume from STATE and finish
       tus_e2e.py BASE_URL ADMIN_KEY failed-completion DATABASE_URL
                                                        the last chunk's completion fails on the
                                                        server's side (PostgreSQL refuses the row's
                                                        update); a fresh uploader resumes and the
                                                        record gets its file (on disk and on S3)

1. A WAV sent whole by `uploader.upload()` in 256 KiB chunks with sha1 Upload-Checksum and a
   filename in Upload-Metadata: the record's file must have the WAV's SHA-256, name and duration.
   A fresh uploader given that URL afterwards (a client whose completing answer was lost) reads
   the final offset from HEAD and sends nothing.
2. Resumed by a second uploader that knows only the stored URL (as after a client restart): two
   chunks, then a fresh uploader with `url=` asks the offset (HEAD) and finishes.
3. A file that is not audio: the completing PATCH is refused (415) and the session is gone.
4. Termination (DELETE through tuspy's request helpers is not offered, so plain HTTP) → 204.
"""
import hashlib
import io
import json
import sys
import tempfile
import urllib.error
import urllib.request
import wave

from tusclient import client as tus_client
from tusclient.exceptions import TusCommunicationError

base, key = sys.argv[1], sys.argv[2]
auth = {"Authorization": f"Bearer {key}"}


def request(method, path, body=None, headers=None):
    req = urllib.request.Request(base + path, data=body, method=method, headers={**auth, **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def create_song(seconds):
    status, _, body = request("POST", "/api/audio/create", json.dumps({"filetype": "song", "name": "tus", "duration": seconds}).encode(),
                              {"Content-Type": "application/json"})
    assert status == 201, (status, body)
    return json.loads(body)["id"]


def wav_file(seconds, rate=44100):
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(bytes((i * 31 + (i >> 9)) & 0xFF for i in range(seconds * rate * 4)))
    handle = tempfile.NamedTemporaryFile(suffix=".wav", delete=False)
    handle.write(buffer.getvalue())
    handle.close()
    return handle.name, buffer.getvalue()


def record_file(song):
    status, _, body = request("GET", f"/api/audio/song/{song}")
    assert status == 200, (status, body)
    return json.loads(body)["file"]


def check(song, data, seconds, name):
    file = record_file(song)
    assert file is not None, "no file stored"
    assert file["sha256"] == hashlib.sha256(data).hexdigest(), file
    assert file["size"] == len(data), file
    assert abs(file["duration_seconds"] - seconds) < 0.01, file
    assert file["original_name"] == name, file


def main():
    # OPTIONS: what the server advertises.
    status, headers, _ = request("OPTIONS", "/api/audio/song/1/uploads")
    headers = {k.lower(): v for k, v in headers.items()}
    assert status == 204 and headers.get("tus-version") == "1.0.0", (status, headers)
    assert "sha1" in headers.get("tus-checksum-algorithm", ""), headers

    # 1. Whole, in chunks, with checksums.
    song = create_song(3)
    path, data = wav_file(3)
    client = tus_client.TusClient(f"{base}/api/audio/song/{song}/uploads", headers=auth)
    uploader = client.uploader(path, chunk_size=256 * 1024, metadata={"filename": "tuspy take.wav"}, upload_checksum=True)
    uploader.upload()
    check(song, data, 3, "tuspy take.wav")
    print(f"whole: {len(data)} bytes in {-(-len(data) // (256 * 1024))} chunks, sha256 matches")
    # A client that lost the completing answer, or resumes a finished upload: a fresh uploader
    # with the URL reads every byte stored (HEAD) and has nothing left to send.
    again = client.uploader(path, url=uploader.url, chunk_size=256 * 1024)
    assert again.offset == len(data), (again.offset, len(data))
    again.upload()
    check(song, data, 3, "tuspy take.wav")
    print(f"resumed after completion: HEAD says {again.offset} of {len(data)}; nothing sent again")

    # 2. Two chunks, then a new uploader that knows only the URL resumes.
    song = create_song(2)
    path, data = wav_file(2)
    client = tus_client.TusClient(f"{base}/api/audio/song/{song}/uploads", headers=auth)
    first = client.uploader(path, chunk_size=100_000, metadata={"filename": "resumed.wav"})
    first.upload_chunk()
    first.upload_chunk()
    url = first.url
    second = client.uploader(path, url=url, chunk_size=100_000)
    assert second.offset == 200_000, second.offset
    second.upload()
    check(song, data, 2, "resumed.wav")
    print(f"resumed at offset {200_000} from the stored URL; sha256 matches")

    # 3. Not audio: the completing append is refused and the upload is gone.
    song = create_song(1)
    with tempfile.NamedTemporaryFile(suffix=".txt", delete=False) as handle:
        handle.write(b"not audio " * 5000)
        text_path = handle.name
    client = tus_client.TusClient(f"{base}/api/audio/song/{song}/uploads", headers=auth)
    refused = client.uploader(text_path, chunk_size=20_000)
    try:
        refused.upload()
        raise AssertionError("a text file was accepted")
    except TusCommunicationError as error:
        assert error.status_code == 415, error.status_code
    status, _, _ = request("HEAD", refused.url[len(base):], headers={"Tus-Resumable": "1.0.0"})
    assert status == 404, status
    assert record_file(song) is None
    print("not audio: 415 on the completing PATCH, session removed")

    # 4. Termination.
    song = create_song(1)
    path, data = wav_file(1)
    client = tus_client.TusClient(f"{base}/api/audio/song/{song}/uploads", headers=auth)
    partial = client.uploader(path, chunk_size=50_000)
    partial.upload_chunk()
    status, _, _ = request("DELETE", partial.url[len(base):], headers={"Tus-Resumable": "1.0.0"})
    assert status == 204, status
    status, _, _ = request("HEAD", partial.url[len(base):], headers={"Tus-Resumable": "1.0.0"})
    assert status == 404, status
    print("terminated: 204, then 404")
    print("tus end-to-end: ok")


def before_kill(state):
    song = create_song(4)
    path, data = wav_file(4)
    client = tus_client.TusClient(f"{base}/api/audio/song/{song}/uploads", headers=auth)
    uploader = client.uploader(path, chunk_size=300_000, metadata={"filename": "killed.wav"}, upload_checksum=True)
    uploader.upload_chunk()
    uploader.upload_chunk()
    with open(state, "w") as out:
        json.dump({"song": song, "path": path, "url": uploader.url[len(base):], "offset": uploader.offset}, out)
    print(f"before the kill: {uploader.offset} bytes acknowledged")


def after_kill(state):
    with open(state) as handle:
        saved = json.load(handle)
    client = tus_client.TusClient(base, headers=auth)
    uploader = client.uploader(saved["path"], url=base + saved["url"], chunk_size=300_000, upload_checksum=True)
    assert uploader.offset == saved["offset"], (uploader.offset, saved["offset"])
    uploader.upload()
    with open(saved["path"], "rb") as handle:
        data = handle.read()
    check(saved["song"], data, 4, "killed.wav")
    print(f"after the kill, on another server: resumed at {saved['offset']}, sha256 matches")


def failed_completion(database_url):
    """The completing PATCH fails with a 5xx; a fresh uploader that knows only the URL resumes.
    On disk HEAD gives the offset before the last chunk, which is sent again; in object storage
    every byte is in the bucket and HEAD completes the upload. Either way tuspy ends with the file
    on the record (before session 25, on S3 HEAD said every byte was there and tuspy stopped with
    no file attached)."""
    import subprocess
    def sql(statement):
        subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", database_url, "-c", statement], check=True)
    song = create_song(70)
    path, data = wav_file(70, rate=22050)  # 6.2 MB: one 5 MB part in object storage, then the rest
    client = tus_client.TusClient(f"{base}/api/audio/song/{song}/uploads", headers=auth)
    first = client.uploader(path, chunk_size=5_000_000, metadata={"filename": "failed.wav"})
    first.upload_chunk()
    sql("CREATE FUNCTION tus_e2e_refuse() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'injected failure' USING ERRCODE = '58030'; END $$")
    sql(f"CREATE TRIGGER tus_e2e_refuse BEFORE UPDATE ON song FOR EACH ROW WHEN (OLD.id = {song}) EXECUTE FUNCTION tus_e2e_refuse()")
    try:
        first.upload_chunk()
        raise AssertionError("the completing PATCH succeeded despite the injected failure")
    except TusCommunicationError as error:
        assert error.status_code is not None and error.status_code >= 500, error.status_code
    finally:
        sql("DROP TRIGGER tus_e2e_refuse ON song")
        sql("DROP FUNCTION tus_e2e_refuse()")
    assert record_file(song) is None
    second = client.uploader(path, url=first.url, chunk_size=5_000_000)
    resumed_at = second.offset
    second.upload()
    check(song, data, 70, "failed.wav")
    print(f"failed completion: 5xx, then a fresh uploader resumed at {resumed_at} of {len(data)}; sha256 matches")


if len(sys.argv) > 3:
    {"before-kill": before_kill, "after-kill": after_kill, "failed-completion": failed_completion}[sys.argv[3]](sys.argv[4])
else:
    main()
