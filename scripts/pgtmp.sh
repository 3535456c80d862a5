#!/usr/bin/env bash
# Throwaway or development PostgreSQL clusters, without touching the system's own.
#   scripts/pgtmp.sh start DIR [--dev]   initdb DIR/data if needed, start it on a free loopback
#                                        port with its socket in DIR; prints DATABASE_URL
#   scripts/pgtmp.sh stop DIR            stop it (fast shutdown)
# --dev keeps durability (fsync on) and a fixed port 54329 when free; without it the cluster is
# tuned for tests (fsync=off) and must only hold throwaway data.
# postgres refuses to run as root: as root, a system user `audio_pg` is created and used.
set -euo pipefail
cmd=${1:?usage: pgtmp.sh start|stop DIR [--dev]}
dir=$(mkdir -p "${2:?dir}" && cd "$2" && pwd)
mode=${3:-}

find_bindir() {
  bindir=""
  for d in /usr/lib/postgresql/*/bin; do [ -x "$d/initdb" ] && bindir=$d; done
}
find_bindir
# On a fresh Debian machine where we are root, install the server rather than fail.
if [ -z "$bindir" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null && ! command -v pg_ctl >/dev/null; then
  echo "installing postgresql-15 (Debian package)..." >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15) >&2
  find_bindir
fi
if [ -z "$bindir" ]; then
  if command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then bindir=$(dirname "$(command -v pg_ctl)")
  else echo "PostgreSQL server binaries not found: install postgresql-15 (Debian/Ubuntu: apt-get install postgresql-15)" >&2; exit 1; fi
fi

as_pg() {
  if [ "$(id -u)" = 0 ]; then
    id audio_pg >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin audio_pg
    chown -R audio_pg "$dir"
    runuser -u audio_pg -- "$@"
  else
    "$@"
  fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null \
    || echo $((20000 + RANDOM % 20000))
}

case "$cmd" in
start)
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    as_pg "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 ${mode:+} \
      $([ "$mode" = --dev ] || echo --no-sync) >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
  fi
  if [ -f "$dir/port" ] && as_pg "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    echo "postgres://postgres@127.0.0.1:$(cat "$dir/port")/postgres?sslmode=disable"; exit 0
  fi
  port=$(free_port)
  if [ "$mode" = --dev ] && ! (exec 3<>/dev/tcp/127.0.0.1/54329) 2>/dev/null; then port=54329; fi
  opts="-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c max_connections=200"
  [ "$mode" = --dev ] || opts="$opts -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -o "$opts" -w -t 60 start >/dev/null \
    || { cat "$dir/postgres.log" >&2; exit 1; }
  echo "$port" >"$dir/port"
  echo "postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
  ;;
stop)
  [ -f "$dir/data/PG_VERSION" ] && as_pg "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  ;;
*) echo "usage: pgtmp.sh start|stop DIR [--dev]" >&2; exit 2 ;;
esac
