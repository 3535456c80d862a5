#!/usr/bin/env python3
"""A resumable (tus 1.0) upload of FILE to /api/audio/KIND/ID in CHUNK_MIB chunks, as a benchmark
client: one creation request, then one PATCH per chunk on a kept-alive connection, the chunk read
from disk just before it is sent, into one buffer reused for every chunk (as curl reuses its
buffer for the plain upload it is compared with: a fresh 8 MiB object per chunk costs the client
~0.3 s of page faults per GiB, which would count against the server). Prints `bytes seconds status` (status of the completing PATCH).

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
buffer = bytearray(chunk)
view = memoryview(buffer)
with open(path, "rb", buffering=0) as f:
    while offset < size:
        f.seek(offset)
        n = f.readinto(buffer)
        conn.request("PATCH", location, body=view[:n], headers={**common, "Upload-Offset": str(offset),
                                                            "Content-Type": "application/offset+octet-stream"})
        r = conn.getresponse(); r.read()
        status = r.status
        if status != 204: sys.exit(f"PATCH at {offset}: {status}")
        offset = int(r.getheader("Upload-Offset"))
print(size, f"{time.monotonic() - started:.3f}", status)
