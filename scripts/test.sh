#!/usr/bin/env bash
# `make test`: every test against a throwaway PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/with-test-db.sh swift test
