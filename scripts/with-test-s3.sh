#!/usr/bin/env bash
# Runs a command with TEST_S3_URL, TEST_S3_ACCESS_KEY_ID and TEST_S3_SECRET_ACCESS_KEY pointing at a
# throwaway SeaweedFS (scripts/seaweedfs.sh), then stops and removes it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d /tmp/audio-test-s3.XXXXXX)
cleanup() { "$here/seaweedfs.sh" stop "$dir"; rm -rf "$dir"; }
trap cleanup EXIT
"$here/seaweedfs.sh" start "$dir" >/dev/null
# shellcheck disable=SC1091
. "$dir/env"
echo "throwaway SeaweedFS: $TEST_S3_URL" >&2
"$@"
