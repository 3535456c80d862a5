#!/usr/bin/env bash
# Resumable uploads with a real tus client: starts the server on a throwaway PostgreSQL (as
# scripts/fuzz-api.sh does) and runs scripts/tus_e2e.py, which uploads through tuspy (whole with
# checksums, resumed from a stored URL, refused, terminated, across a SIGKILL, and resumed after a
# completion that failed on the server's side, on disk and on a throwaway SeaweedFS). Installs
# tuspy when missing (and `weed`, through scripts/seaweedfs.sh).
#
# Environment: AUDIO_SERVER_BIN (use this binary instead of building), SWIFT_BUILD_FLAGS, TUS_KEEP
# (keep the temp dir with the server log).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

python3 -c 'import tusclient' 2>/dev/null || python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore 'tuspy==1.1.0'

# shellcheck source=scripts/lib/server.sh
. "$root/scripts/lib/server.sh"
server_binary

E2E_KEEP=${TUS_KEEP:-}
e2e_begin tus
"$bin" migrate apply >/dev/null
admin_key=$("$bin" keys create --name tus-admin --scope admin | tail -1)

# Starts a server on a free port: sets server_pid and base.
start_server() {
  local port
  port=$(free_port)
  "$bin" serve --port "$port" >>"$tmp/server.log" 2>&1 &
  server_pid=$!
  base="http://127.0.0.1:$port"
  wait_healthy "$base" "$server_pid" "$tmp/server.log" || exit 1
}

start_server
timeout 300 python3 "$root/scripts/tus_e2e.py" "$base" "$admin_key"

# The docs' curl walkthrough (docs/api.md, "Resumable uploads"), against song 1.
curl -fsS -X POST "$base/api/audio/create" -H "Authorization: Bearer $admin_key" -H 'Content-Type: application/json' \
  -d '{"filetype":"song","name":"docs","duration":3}' >/dev/null
python3 -c "import wave; w=wave.open('$tmp/tone.wav','wb'); w.setnchannels(1); w.setsampwidth(2); w.setframerate(8000); w.writeframes(b'\0\0'*8000*3); w.close()"
KEY="Authorization: Bearer $admin_key"
size=$(stat -c %s "$tmp/tone.wav")
loc=$(curl -si -X POST "$base/api/audio/song/1/uploads" -H "$KEY" -H 'Tus-Resumable: 1.0.0' \
  -H "Upload-Length: $size" -H "Upload-Metadata: filename $(printf tone.wav | base64)" | tr -d '\r' | awk 'tolower($1) == "location:" {print $2}')
curl -fsSI "$base$loc" -H "$KEY" -H 'Tus-Resumable: 1.0.0' | tr -d '\r' | grep -qi '^upload-offset: 0$'
curl -fsS -X PATCH "$base$loc" -H "$KEY" -H 'Tus-Resumable: 1.0.0' -H 'Upload-Offset: 0' \
  -H 'Content-Type: application/offset+octet-stream' --data-binary @"$tmp/tone.wav" -D - -o /dev/null | tr -d '\r' | grep -qi "^upload-offset: $size$"
curl -fsS "$base/api/audio/song/1" | grep -q '"original_name":"tone.wav"'
echo "docs walkthrough: ok"

# SIGKILL between two chunks; a second server (same database and storage) finishes the upload.
timeout 120 python3 "$root/scripts/tus_e2e.py" "$base" "$admin_key" before-kill "$tmp/state.json"
kill -KILL "$server_pid"
wait "$server_pid" 2>/dev/null || true
start_server
timeout 120 python3 "$root/scripts/tus_e2e.py" "$base" "$admin_key" after-kill "$tmp/state.json"
# Nothing partial may be left: every session above completed, was refused or terminated.
left=$(find "$tmp/storage" -path '*/uploads/*' -type f | wc -l)
[ "$left" -eq 0 ] || { echo "partial uploads left behind: $left" >&2; exit 1; }

# A completion that fails on the server's side, resumed by a fresh tuspy uploader: on disk, then
# with the files in a throwaway SeaweedFS (where every byte is already in the bucket when it fails).
timeout 120 python3 "$root/scripts/tus_e2e.py" "$base" "$admin_key" failed-completion "$DATABASE_URL"
e2e_on_exit() { "$root/scripts/seaweedfs.sh" stop "$tmp/weed" >/dev/null 2>&1 || true; }
"$root/scripts/seaweedfs.sh" start "$tmp/weed" >/dev/null
kill -TERM "$server_pid"
wait "$server_pid" 2>/dev/null || true
# shellcheck disable=SC1091
. "$tmp/weed/env"
export STORAGE_URL=$TEST_S3_URL AWS_ACCESS_KEY_ID=$TEST_S3_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY=$TEST_S3_SECRET_ACCESS_KEY STAGING_DIR="$tmp/staging"
start_server
timeout 120 python3 "$root/scripts/tus_e2e.py" "$base" "$admin_key" failed-completion "$DATABASE_URL"
echo "tus end-to-end on S3: ok"
