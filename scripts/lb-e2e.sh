#!/usr/bin/env bash
# Two servers behind Caddy on one PostgreSQL and one SeaweedFS bucket (deploy/two-servers.sh; each
# phase runs once with the files in S3 and once on a shared disk), under a stream of creates,
# uploads and reads (scripts/lb_e2e.py, bounded in time and count):
#   1. a rolling restart: server 2 gets SIGTERM mid-stream and is started again; no request may
#      fail (the balancer retries a refused connection elsewhere; the server drains what it has);
#   2. a crash: server 1 gets SIGKILL mid-stream; only requests in flight on it at that instant
#      may fail (a 502 from Caddy, never acknowledged).
# Afterwards every acknowledged write must be readable through the balancer. Installs Caddy when
# missing. Environment: AUDIO_SERVER_BIN (default: a debug build), LB_KEEP (keep the directory).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
dir=$(mktemp -d /tmp/audio-lb.XXXXXX)
# shellcheck source=scripts/lib/server.sh
. "$root/scripts/lib/server.sh"
export LB_PORT SERVER_PORTS
LB_PORT=$(free_port); SERVER_PORTS="$(free_port) $(free_port)"
cleanup() {
  status=$?
  deploy/two-servers.sh stop "$dir" >/dev/null 2>&1 || true
  if [ -n "${LB_KEEP:-}" ] || [ "$status" -ne 0 ]; then echo "lb-e2e directory kept: $dir" >&2; else rm -rf "$dir"; fi
  exit "$status"
}
trap cleanup EXIT
export ORPHAN_FILE_AGE=15s
for storage in s3 disk; do
  echo "== files on $storage"
  LB_STORAGE=$storage deploy/two-servers.sh start "$dir"
  export LB_URL ADMIN_KEY
  LB_URL=$(cat "$dir/url"); ADMIN_KEY=$(cat "$dir/admin-key")
  echo "rolling restart of server 2 under load:"
  python3 scripts/lb_e2e.py --duration 10 \
    --event "3:kill -TERM \$(cat $dir/server2.pid)" \
    --event "5:deploy/two-servers.sh restart $dir 2"
  echo "SIGKILL of server 1 under load:"
  python3 scripts/lb_e2e.py --duration 10 --allow-in-flight --kill-at 3 \
    --event "3:kill -KILL \$(cat $dir/server1.pid)"
  if grep -h "unhandled error" "$dir"/server*.log; then echo "a server logged unhandled errors (500s)" >&2; exit 1; fi
  # One resumable upload whose appends alternate between the two servers (straight to their ports):
  # on S3 they have separate staging folders, so only the bucket carries the bytes across.
  deploy/two-servers.sh restart "$dir" 1
  python3 bench/make_wav.py "$dir/resumable.wav" 12
  python3 - "$dir/ports" "$ADMIN_KEY" "$dir/resumable.wav" <<'PY'
import hashlib, http.client, json, sys
ports, key, path = open(sys.argv[1]).read().split(), sys.argv[2], sys.argv[3]
data = open(path, "rb").read()
auth = {"Authorization": "Bearer " + key}
def call(port, method, url, body=None, headers={}):
    conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=60)
    conn.request(method, url, body=body, headers={**auth, **headers})
    r = conn.getresponse(); payload = r.read(); conn.close()
    return r, payload
r, body = call(ports[0], "POST", "/api/audio/create", json.dumps({"filetype": "song", "name": "across", "duration": round(len(data) / 176400)}).encode(), {"Content-Type": "application/json"})
assert r.status == 201, (r.status, body[:300])
rid = json.loads(body)["id"]
tus = {"Tus-Resumable": "1.0.0"}
r, _ = call(ports[0], "POST", f"/api/audio/song/{rid}/uploads", headers={**tus, "Upload-Length": str(len(data))})
assert r.status == 201, r.status
location = r.getheader("Location")
offset, n = 0, 0
while offset < len(data):
    chunk = data[offset:offset + 5_000_000]
    r, body = call(ports[n % 2], "PATCH", location, chunk, {**tus, "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"})
    assert r.status == 204, (r.status, body[:300])
    offset, n = int(r.getheader("Upload-Offset")), n + 1
r, body = call(ports[1], "GET", f"/api/audio/song/{rid}")
file = json.loads(body)["file"]
assert file["sha256"] == hashlib.sha256(data).hexdigest(), file
print(f"resumable upload across both servers: {n} appends, alternating, sha256 right")
PY
  if [ "$storage" = s3 ]; then
    # Every acknowledged upload is an object, and nothing else stays: an object the SIGKILL left
    # between its upload and its row is removed by the surviving server's sweeper (FileIntents,
    # ORPHAN_FILE_AGE=15s here, swept every 30 s), so verify must come out clean within a minute.
    clean=""
    for _ in $(seq 1 20); do
      if ( . "$dir/env"; "$bin" storage verify >"$dir/verify.log" 2>&1 ); then clean=1; break; fi
      sleep 3
    done
    [ -n "$clean" ] || { cat "$dir/verify.log" >&2; echo "storage verify still finds problems in the bucket after 60 s" >&2; exit 1; }
    echo "storage verify: the bucket holds exactly the acknowledged files"
  fi
  deploy/two-servers.sh stop "$dir" >/dev/null
  rm -rf "${dir:?}"/*
done
echo "lb-e2e: ok"
