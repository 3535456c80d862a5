#!/usr/bin/env bash
# The database-fault soak (scripts/soak_db.py) against a throwaway cluster of its own, which it
# restarts, stops and locks out while the server is under load. Run by `make test`.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-$here/../.build/debug/audio-server}
dir=$(mktemp -d /tmp/audio-soak-pg.XXXXXX)
cleanup() { "$here/pgtmp.sh" stop "$dir"; rm -rf "$dir"; }
trap cleanup EXIT
url=$("$here/pgtmp.sh" start "$dir")
python3 "$here/soak_db.py" "$bin" "$dir" "$url"
