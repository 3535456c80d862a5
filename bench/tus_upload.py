#!/usr/bin/env python3
"""A resumable (tus 1.0) upload of FILE to /api/audio/KIND/ID in CHUNK_MIB chunks, as a benchmark
client: one creation request, then one PATCH per chunk on a kept-alive connection. Each chunk is
streamed as curl streams the plain upload it is compared with: read from the file in 1 MiB blocks
into one reused buffer, each block sent as it is read. (Reading a whole 8 MiB chunk into a fresh
object before sending it cost the client ~1 ms per chunk while the server sat idle waiting for
the request, ~0.3 s per GiB counted against the server.) Prints `bytes seconds status` (status of the completing PATCH).

  bench/tus_upload.py BASE_URL KEY KIND ID FILE [CHUNK_MIB]
"""
import http.client, os, sys, time, urllib.parse

base, key, kind, rid, path = sys.argv[1:6]
chunk = int(sys.argv[6] if len(sys.argv) > 6 else 8) << 20
size = os.path.getsize(path)
url = urllib.parse.urlparse(base)
conn = http.client.HTTPConnection(url.hostname, url.port, timeout=600)
common = {"Authorization": "Bearer " + key, "Tus-Resumable": "1.0.0"}
started = time.monotonic()
conn.request("POST", f"/api/audio/{kind}/{rid}/uploads", headers={**common, "Upload-Length": str(size)})
r = conn.getresponse(); r.read()
if r.status != 201: sys.exit(f"creation: {r.status}")
location = urllib.parse.urlparse(r.getheader("Location")).path
offset, status = 0, 0
block = bytearray(1 << 20)
view = memoryview(block)
with open(path, "rb", buffering=0) as f:
    while offset < size:
        n = min(chunk, size - offset)
        conn.putrequest("PATCH", location, skip_accept_encoding=True)
        for name, value in {**common, "Upload-Offset": str(offset), "Content-Length": str(n),
                            "Content-Type": "application/offset+octet-stream"}.items():
            conn.putheader(name, value)
        conn.endheaders()
        f.seek(offset)
        left = n
        while left:
            got = f.readinto(view[:min(left, len(block))])
            if not got: sys.exit(f"{path} ended early")
            conn.send(view[:got])
            left -= got
        r = conn.getresponse(); r.read()
        status = r.status
        if status != 204: sys.exit(f"PATCH at {offset}: {status}")
        offset = int(r.getheader("Upload-Offset"))
print(size, f"{time.monotonic() - started:.3f}", status)
