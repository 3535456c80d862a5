#!/usr/bin/env bash
# Two servers behind Caddy on one PostgreSQL (deploy/two-servers.sh), under a stream of creates,
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
deploy/two-servers.sh start "$dir"
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
echo "lb-e2e: ok"
