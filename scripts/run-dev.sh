#!/usr/bin/env bash
# `make run`: serve with a development database. Uses DATABASE_URL when set; otherwise starts (or
# reuses) a PostgreSQL cluster under .data/postgres that keeps its data between runs.
set -euo pipefail
bin=${1:-.build/debug/audio-server}; shift || true
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
if [ -z "${DATABASE_URL:-}" ]; then
  DATABASE_URL=$(scripts/pgtmp.sh start .data/postgres --dev)
  export DATABASE_URL
  echo "development database: $DATABASE_URL (stop it with: make db-stop)"
fi
"$bin" migrate apply
exec "$bin" serve --auto-migrate "$@"
