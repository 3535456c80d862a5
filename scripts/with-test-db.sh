#!/usr/bin/env bash
# Runs a command with TEST_DATABASE_URL pointing at a throwaway PostgreSQL cluster, then removes it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d /tmp/audio-test-pg.XXXXXX)
cleanup() { "$here/pgtmp.sh" stop "$dir"; rm -rf "$dir"; }
trap cleanup EXIT
export TEST_DATABASE_URL=$("$here/pgtmp.sh" start "$dir")
echo "throwaway PostgreSQL: $TEST_DATABASE_URL" >&2
"$@"
