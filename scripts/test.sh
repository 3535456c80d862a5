#!/usr/bin/env bash
# `make test`: every test against a throwaway PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/with-test-db.sh swift test
# The project's own kinds/ must have their migrations committed, and those must apply cleanly
# and leave no drift (migrate check compares the live catalog with what the migrations produce).
scripts/with-test-db.sh sh -c '.build/debug/audio-server migrate apply --database-url "$TEST_DATABASE_URL" && .build/debug/audio-server migrate check --database-url "$TEST_DATABASE_URL"'
