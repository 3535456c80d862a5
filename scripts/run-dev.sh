#!/usr/bin/env bash
# `make run`: serve with a development database. Uses DATABASE_URL when set; otherwise starts (or
# reuses) this clone's development PostgreSQL cluster, which keeps its data between runs:
# .data/postgres, or as root /var/lib/audio-file-server/<clone>-<hash> (scripts/pgtmp.sh devdir says
# which; `make db-stop` stops it, `make db-remove` deletes it).
# Each way this can fail on a fresh machine ends in one line that says what to do.
set -euo pipefail
bin=${1:-.build/debug/audio-server}; shift || true
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
die() { echo "make run: $*" >&2; exit 1; }
host=${HOST:-127.0.0.1}
port=${PORT:-8080}
mkdir -p .data
pidfile=.data/serve.pid

# A second `make run` of this clone while the first still serves. The process is recognised by the
# command line this script gives it below (`<binary> serve --auto-migrate`), whatever the binary is
# called (AUDIO_SERVER_BIN may name any file); a reused pid of another program is not mistaken for it.
if [ -f "$pidfile" ]; then
  pid=$(cat "$pidfile")
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- ' serve --auto-migrate'; then
    die "this clone's server is already running (pid $pid, $(cat .data/serve.address 2>/dev/null)): use it, or stop it with Ctrl-C in its terminal or 'kill $pid'"
  fi
  rm -f "$pidfile"
fi
# Anything else on the port.
probe_host=$host; [ "$probe_host" = 0.0.0.0 ] && probe_host=127.0.0.1; [ "$probe_host" = "::" ] && probe_host=::1
if (exec 3<>"/dev/tcp/$probe_host/$port") 2>/dev/null; then
  die "port $port on $host is already in use by another program: pick a free one with 'PORT=8081 make run' (or stop that program)"
fi

if [ -z "${DATABASE_URL:-}" ]; then
  dev=$(scripts/pgtmp.sh devdir "$here")
  # An older layout kept the cluster in .data/postgres even as root; bring its data along.
  if [ "$dev" != "$here/.data/postgres" ] && [ -d .data/postgres ]; then
    if [ -f .data/postgres/data/PG_VERSION ] && [ ! -e "$dev/data" ]; then
      scripts/pgtmp.sh stop .data/postgres
      mkdir -p "$dev" && mv .data/postgres/data "$dev/data" && rm -rf .data/postgres \
        || die "could not move the development database from .data/postgres to $dev: move .data/postgres/data there by hand, or delete .data/postgres to start empty"
      echo "moved the development database from .data/postgres to $dev (its new home; see README)" >&2
    elif [ ! -f .data/postgres/data/PG_VERSION ]; then
      rm -rf .data/postgres   # the remains of an initdb that could not finish: no data in it
    else
      die "two development databases: .data/postgres (older layout) and $dev: delete the one you do not need ('rm -rf .data/postgres', or 'make db-remove' for the other)"
    fi
  fi
  DATABASE_URL=$(scripts/pgtmp.sh start "$dev" --dev)
  export DATABASE_URL
  echo "development database: $DATABASE_URL, data in $dev (stop: make db-stop; delete: make db-remove)"
fi
# The server secret (signs list cursors and signed links), made once and kept with the development data.
if [ -z "${SECRET_KEY:-}" ]; then
  [ -s .data/secret-key ] || (umask 077; head -c 32 /dev/urandom | base64 | tr -d '\n' >.data/secret-key)
  SECRET_KEY=$(cat .data/secret-key)
  export SECRET_KEY
fi
"$bin" migrate apply
# A development admin key, made on first start and kept in .data/admin-key for the README's curl
# lines. Made again when the database no longer has it (a removed or new database): its secret
# cannot be read back, so a working key of that name without the file is revoked first.
working=$("$bin" keys list 2>/dev/null | awk -F'\t' '$2 == "dev-admin" && $7 == "no" { print $1 }')
if [ ! -s .data/admin-key ] || [ -z "$working" ]; then
  [ -n "$working" ] && "$bin" keys revoke dev-admin >/dev/null
  (umask 077; "$bin" keys create --name dev-admin --scope admin | tail -1 >.data/admin-key.new) && mv .data/admin-key.new .data/admin-key
  echo "development admin key (kept in .data/admin-key; send it as -H \"Authorization: Bearer \$(cat .data/admin-key)\"): $(cat .data/admin-key)"
fi
echo "$$" >"$pidfile"
echo "http://$host:$port" >.data/serve.address
exec "$bin" serve --auto-migrate "$@"
