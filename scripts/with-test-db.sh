#!/usr/bin/env bash
# Runs a command with TEST_DATABASE_URL pointing at a throwaway PostgreSQL cluster, then removes it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d /tmp/audio-test-pg.XXXXXX)
cleanup() { "$here/pgtmp.sh" stop "$dir"; rm -rf "$dir"; }
trap cleanup EXIT
export TEST_DATABASE_URL=$("$here/pgtmp.sh" start "$dir")
# Every test server in the test process shares NIO's one blocking-I/O pool (one thread per core by
# default): on 2 cores, two tests fsyncing large uploads stalled every other test server's file I/O
# for seconds, and raw-socket tests timed out. A server process has the pool to itself.
export NIO_SINGLETON_BLOCKING_POOL_THREAD_COUNT=${NIO_SINGLETON_BLOCKING_POOL_THREAD_COUNT:-16}
echo "throwaway PostgreSQL: $TEST_DATABASE_URL" >&2
"$@"
