#!/usr/bin/env bash
# scripts/outage-check.sh [BINARY]: what the server answers while PostgreSQL is down, and how soon
# it recovers — the measurement behind docs/api.md's "503 database-unavailable" paragraph.
#
# Starts a throwaway cluster (scripts/pgtmp.sh) and the server (default: the debug build), stops
# PostgreSQL for a few seconds with three requests in between, restarts it on the same port, then
# times requests until one succeeds, and finally times the server's exit on SIGTERM.
# Everything is bounded: each request by curl --max-time 80, the whole run by `timeout 300`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
BIN=${1:-.build/debug/audio-server}
[ -x "$BIN" ] || { echo "no binary at $BIN (swift build first, or pass one)" >&2; exit 2; }
dir=$(mktemp -d /tmp/audio-outage.XXXXXX)
chmod 755 "$dir" # the cluster runs as audio_pg when started by root (scripts/pgtmp.sh)
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill -9 "$server_pid" 2>/dev/null || true
  scripts/pgtmp.sh stop "$dir/pg" >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT
DATABASE_URL=$(scripts/pgtmp.sh start "$dir/pg")
export DATABASE_URL KINDS_DIR="$root/kinds" MIGRATIONS_DIR="$root/migrations"
pg_port=$(cat "$dir/pg/port")
bindir=""; for d in /usr/lib/postgresql/*/bin; do [ -x "$d/pg_ctl" ] && bindir=$d; done
[ -n "$bindir" ] || bindir=$(dirname "$(command -v pg_ctl)")
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u audio_pg -- "$@"; else "$@"; fi; }
"$BIN" migrate apply >/dev/null
export SECRET_KEY="outage-check-secret-key-of-32-characters"
key=$("$BIN" keys create --name outage --scope admin | tail -1)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
HOST=127.0.0.1 PORT=$port STORAGE_DIR="$dir/storage" LOG_LEVEL=warning "$BIN" serve >"$dir/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
id=$(curl -fsS -H "Authorization: Bearer $key" -H 'Content-Type: application/json' -d '{"filetype":"song","name":"outage","duration":5}' "http://127.0.0.1:$port/api/audio/create" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
get() { curl -s --max-time 80 -o /dev/null -w "%{http_code} in %{time_total}s" "http://127.0.0.1:$port/api/audio/song/$id"; }
echo "database up:    GET -> $(get)"
as_pg "$bindir/pg_ctl" -D "$dir/pg/data" -m fast stop >/dev/null
sleep 2.5
for i in 1 2 3; do echo "database down:  GET -> $(get)"; done
as_pg "$bindir/pg_ctl" -D "$dir/pg/data" -l "$dir/pg/restart.log" \
  -o "-c listen_addresses=127.0.0.1 -c port=$pg_port -c unix_socket_directories=$dir/pg -c fsync=off" start >/dev/null
started=$(date +%s.%N)
for i in $(seq 40); do
  answer=$(get)
  if [[ $answer == 200* ]]; then
    echo "database back:  GET -> $answer, first 200 $(python3 -c "print(round($(date +%s.%N) - $started, 2))") s after the restart"
    break
  fi
  sleep 0.25
done
[[ ${answer:-} == 200* ]] || echo "database back:  still no 200 after 10 s (last: $answer)"
kill -TERM "$server_pid"; t0=$(date +%s.%N)
for _ in $(seq 150); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.2; done
if kill -0 "$server_pid" 2>/dev/null; then echo "SIGTERM:        still running after 30 s"; else echo "SIGTERM:        exited in $(python3 -c "print(round($(date +%s.%N) - $t0, 2))") s"; server_pid=""; fi
