#!/usr/bin/env bash
# Runs a command with TEST_S3_URL, TEST_S3_ACCESS_KEY_ID and TEST_S3_SECRET_ACCESS_KEY pointing at a
# throwaway SeaweedFS (scripts/seaweedfs.sh), then stops and removes it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d /tmp/audio-test-s3.XXXXXX)
# When the command fails, SeaweedFS's logs are kept (their path is printed): a failing S3 test is
# often explained only there (which requests arrived, and who deleted what).
cleanup() {
  local rc=$?
  "$here/seaweedfs.sh" stop "$dir"
  if [ "$rc" -ne 0 ] && [ -d "$dir/logs" ]; then
    kept=$(mktemp -d /tmp/audio-test-s3-logs.XXXXXX)
    cp -r "$dir/logs/." "$dir/weed.log" "$kept/" 2>/dev/null || true
    echo "SeaweedFS logs of the failed run kept in $kept" >&2
  fi
  rm -rf "$dir"
}
trap cleanup EXIT
"$here/seaweedfs.sh" start "$dir" >/dev/null
# shellcheck disable=SC1091
. "$dir/env"
echo "throwaway SeaweedFS: $TEST_S3_URL" >&2
"$@"
