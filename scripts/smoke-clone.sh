#!/usr/bin/env bash
# The README's first command as a newcomer meets it: a fresh clone under a private folder (mode 0700,
# like /root), `make run` in it, the README's example requests, a second `make run` refused in one
# line, a clean stop. Run by `make test` (so by CI, as root there). It reuses the binary this
# checkout built (AUDIO_SERVER_BIN) but takes the newcomer's path through the Makefile,
# scripts/run-dev.sh and scripts/pgtmp.sh.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$repo/.build/debug/audio-server}
[ -x "$bin" ] || { echo "smoke-clone: build first ($bin is missing)"; exit 1; }
parent=$(mktemp -d /tmp/afs-private.XXXXXX)
chmod 700 "$parent"
clone=$parent/afs
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base=http://127.0.0.1:$port
server=""
fail() { echo "smoke-clone: FAIL: $*"; [ -f "$parent/run.log" ] && tail -20 "$parent/run.log"; exit 1; }
cleanup() {
  if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then kill -TERM -- -"$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  [ -d "$clone" ] && (cd "$clone" && make -s db-remove >/dev/null 2>&1 || true)
  rm -rf "$parent"
}
trap cleanup EXIT

git clone -q "$repo" "$clone"
cd "$clone"
# setsid: the server gets its own process group, so the whole `make run` can be stopped at once.
PORT=$port AUDIO_SERVER_BIN=$bin setsid make run >"$parent/run.log" 2>&1 &
server=$!
for _ in $(seq 1 240); do
  curl -fs "$base/healthz" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || fail "make run exited before serving"
  sleep 0.5
done
curl -fs "$base/healthz" >/dev/null || fail "no /healthz within 120 s"

passed=0
# make run made a development admin key and kept it where the README says.
[ -s "$clone/.data/admin-key" ] || fail "make run kept no development admin key in .data/admin-key"
auth="Authorization: Bearer $(cat "$clone/.data/admin-key")"
expect() { # expect STATUS METHOD PATH [JSON]   (with the admin key; ANON=1 without)
  local want=$1 method=$2 path=$3 body=${4:-} got
  local header=$auth
  [ -n "${ANON:-}" ] && header="X-Anonymous: 1"
  if [ -n "$body" ]; then
    got=$(curl -s -o "$parent/body" -w '%{http_code}' -X "$method" "$base$path" -H "$header" -H 'Content-Type: application/json' -d "$body")
  else
    got=$(curl -s -o "$parent/body" -w '%{http_code}' -X "$method" "$base$path" -H "$header")
  fi
  [ "$got" = "$want" ] || fail "$method $path answered $got, expected $want: $(head -c 400 "$parent/body")"
  passed=$((passed + 1))
}
ANON=1 expect 401 POST /api/audio/create '{"filetype":"song","name":"Blue in Green","duration":337}'
expect 201 POST /api/audio/create '{"filetype":"song","name":"Blue in Green","duration":337}'
song=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$parent/body")
expect 201 POST /api/audio/create '{"filetype":"podcast","name":"Episode 1","duration":3600,"host":"Joe","participants":["Ann","Bo"]}'
expect 201 POST /api/audio/create '{"filetype":"audiobook","title":"Dune","author":"Frank Herbert","narrator":"Scott Brick","duration":75600}'
expect 200 GET "/api/audio/song/$song"
grep -q '"Blue in Green"' "$parent/body" || fail "GET song/$song did not return the created song"
ANON=1 expect 200 GET '/api/audio/song?limit=2'
grep -q '"items"' "$parent/body" || fail "the song list has no items"
expect 404 GET /api/audio/song/999999999
expect 400 POST /api/audio/create '{"filetype":"podcast","name":"","duration":0,"participants":["a","b","c","d","e","f","g","h","i","j","k"]}'
grep -q '"errors"' "$parent/body" || fail "the 400 lists no errors"

# A second `make run` of the same clone is refused with one line that says what to do.
if second=$(PORT=$port AUDIO_SERVER_BIN=$bin make -s run 2>&1); then fail "a second make run succeeded"; fi
echo "$second" | grep -q "already running" || fail "a second make run said: $second"
passed=$((passed + 1))

kill -TERM -- -"$server"
wait "$server" 2>/dev/null || true
server=""
curl -fs "$base/healthz" >/dev/null 2>&1 && fail "the server still answers after SIGTERM"
make -s db-stop
echo "smoke-clone: $passed passed, 0 failed"
