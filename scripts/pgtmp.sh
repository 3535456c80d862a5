#!/usr/bin/env bash
# Throwaway or development PostgreSQL clusters, without touching the system's own.
#   scripts/pgtmp.sh start DIR [--dev]   initdb DIR/data if needed, start it on a free loopback
#                                        port with its socket in DIR; prints DATABASE_URL
#   scripts/pgtmp.sh stop DIR            stop it (fast shutdown)
#   scripts/pgtmp.sh devdir [CLONE]      where `make run` keeps this clone's development cluster
#   scripts/pgtmp.sh remove DIR          stop it and delete it (all its data)
# --dev keeps durability (fsync on) and a fixed port 54329 when free; without it the cluster is
# tuned for tests (fsync=off) and must only hold throwaway data.
#
# postgres refuses to run as root: as root, a system user `audio_pg` is created and runs it. That
# user must be able to reach DIR, and a clone under a private folder (/root is 0700) is out of its
# reach; so as root the development cluster lives under /var/lib/audio-file-server/, one folder per
# clone named after the clone's path (`devdir`), and nothing above the clone changes mode.
# Every failure a newcomer can meet ends in one line that says what to do.
set -euo pipefail
cmd=${1:?usage: pgtmp.sh start|stop|remove DIR [--dev] | devdir [CLONE]}
die() { echo "$*" >&2; exit 1; }

# The development cluster's folder for a clone: .data/postgres inside it, or (as root) a folder the
# service user can reach, stable for the clone's path so data survives restarts.
dev_dir() {
  local clone; clone=$(cd "${1:-.}" && pwd)
  if [ "$(id -u)" = 0 ]; then
    local hash; hash=$(printf '%s' "$clone" | sha256sum | cut -c1-12)
    echo "${AUDIO_DEV_PG_ROOT:-/var/lib/audio-file-server}/$(basename "$clone")-$hash"
  else
    echo "$clone/.data/postgres"
  fi
}
if [ "$cmd" = devdir ]; then dev_dir "${2:-.}"; exit 0; fi

if [ "$(id -u)" = 0 ] && [ "$cmd" = start ]; then
  mkdir -p "${2:?dir}" 2>/dev/null || die "cannot create $2: choose a writable place with AUDIO_DEV_PG_ROOT=/some/dir make run"
fi
[ -d "${2:?dir}" ] || { [ "$cmd" = start ] && mkdir -p "$2"; } || exit 0
dir=$(cd "$2" && pwd)
mode=${3:-}

find_bindir() {
  bindir=""
  for d in /usr/lib/postgresql/*/bin; do [ -x "$d/initdb" ] && bindir=$d; done
  return 0
}
find_bindir
# On a fresh Debian machine where we are root, install the server rather than fail.
if [ -z "$bindir" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null && ! command -v pg_ctl >/dev/null; then
  echo "installing postgresql-15 (Debian package)..." >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15) >/dev/null 2>&1 \
    || die "could not install postgresql-15 with apt-get: install it by hand (apt-get install postgresql-15), then run this again"
  find_bindir
fi
if [ -z "$bindir" ]; then
  if command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then bindir=$(dirname "$(command -v pg_ctl)")
  else
    [ "$cmd" = start ] || exit 0
    die "PostgreSQL's server is not installed: run 'sudo apt-get install postgresql-15' (Debian/Ubuntu; elsewhere put initdb and pg_ctl on PATH, or set DATABASE_URL), then run this again"
  fi
fi

as_pg() {
  if [ "$(id -u)" = 0 ]; then
    id audio_pg >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin audio_pg
    chown -R audio_pg "$dir"
    # From the cluster's folder: the caller's may be private to root (a clone under /root).
    (cd "$dir" && runuser -u audio_pg -- "$@")
  else
    "$@"
  fi
}

free_port() {
  python3 "$(cd "$(dirname "$0")" && pwd)/lib/free_port.py" 2>/dev/null || echo $((20000 + RANDOM % 10000))
}

case "$cmd" in
start)
  if [ "$(id -u)" = 0 ]; then
    # The service user must pass through every folder above the cluster.
    id audio_pg >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin audio_pg
    chown audio_pg "$dir"
    (cd / && runuser -u audio_pg -- test -x "$dir") \
      || die "the PostgreSQL service user audio_pg cannot reach $dir (a folder above it is private): use a clone-independent place, e.g. AUDIO_DEV_PG_ROOT=/var/lib/audio-file-server"
  fi
  if [ -f "$dir/data/PG_VERSION" ]; then
    have=$(cat "$dir/data/PG_VERSION"); want=$("$bindir/pg_ctl" --version | sed -E 's/.* ([0-9]+)(\.[0-9]+)*.*/\1/')
    [ "$have" = "$want" ] || die "the database in $dir/data was made by PostgreSQL $have, but the installed server is $want: install postgresql-$have, or delete it with 'make db-remove' (its data is lost)"
  elif [ -d "$dir/data" ] && [ -n "$(ls -A "$dir/data" 2>/dev/null)" ]; then
    die "$dir/data holds an unfinished PostgreSQL cluster (an earlier initdb failed): delete it with 'make db-remove', then run this again"
  fi
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    as_pg "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 \
      $([ "$mode" = --dev ] || echo --no-sync) >"$dir/initdb.log" 2>&1 \
      || die "initdb failed: $(tail -1 "$dir/initdb.log") (whole log: $dir/initdb.log)"
  fi
  if [ -f "$dir/port" ] && as_pg "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    echo "postgres://postgres@127.0.0.1:$(cat "$dir/port")/postgres?sslmode=disable"; exit 0
  fi
  # The port it had before, when still free: a restarted cluster keeps its DATABASE_URL.
  if [ -f "$dir/port" ] && ! (exec 3<>"/dev/tcp/127.0.0.1/$(cat "$dir/port")") 2>/dev/null; then port=$(cat "$dir/port")
  elif [ "$mode" = --dev ] && ! (exec 3<>/dev/tcp/127.0.0.1/54329) 2>/dev/null; then port=54329
  else port=$(free_port); fi
  opts="-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c max_connections=200"
  # Tests run ~70 suites at once, each server with its own pool (and a second server in some),
  # so the throwaway cluster takes more connections than a development one needs.
  [ "$mode" = --dev ] || opts="$opts -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=500"
  as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -o "$opts" -w -t 60 start >/dev/null \
    || die "PostgreSQL did not start: $(grep -E 'FATAL|ERROR' "$dir/postgres.log" | tail -1) (whole log: $dir/postgres.log)"
  echo "$port" >"$dir/port"
  echo "postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
  ;;
stop)
  [ -f "$dir/data/PG_VERSION" ] && as_pg "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  ;;
remove)
  [ -f "$dir/data/PG_VERSION" ] && as_pg "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
  echo "removed the PostgreSQL cluster in $dir"
  ;;
*) echo "usage: pgtmp.sh start|stop|remove DIR [--dev] | devdir [CLONE]" >&2; exit 2 ;;
esac
