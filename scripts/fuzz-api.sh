#!/usr/bin/env bash
# The fuzzed contract: starts the real server on a throwaway PostgreSQL and runs schemathesis
# against its own /openapi.json — every route of every kind, all checks (no 5xx, status codes,
# content types, headers and bodies as documented, invalid input refused, valid input accepted,
# deleted records gone). Exits non-zero on any finding.
#
# Kinds served: kinds/*.yaml plus scripts/fuzz-kinds/*.yaml (a fixture kind using every field type,
# so every schema shape the generator emits is exercised).
#
# Environment:
#   FUZZ_MAX_EXAMPLES  test cases per operation and phase (default 30)
#   FUZZ_SEED          hypothesis seed (default 20260131); the run is deterministic for a given seed
#   FUZZ_TIMEOUT       hard limit for the schemathesis run in seconds (default 1200)
#   FUZZ_WORKERS       concurrent schemathesis workers (default 1: with more, CPython 3.11 can hit
#                      "AST constructor recursion depth mismatch" inside hypothesis)
#   FUZZ_KEEP          keep the temp dir (server log, reports) when set
#   FUZZ_EXTRA_ARGS    more `schemathesis run` options, e.g. --no-shrink
#   SWIFT_BUILD_FLAGS  extra flags for `swift build` (e.g. --scratch-path .build-api)
#   AUDIO_SERVER_BIN   use this binary instead of building
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

command -v schemathesis >/dev/null || { echo "schemathesis is not installed: pip install schemathesis==4.32.5" >&2; exit 2; }

# shellcheck source=scripts/lib/server.sh
. "$root/scripts/lib/server.sh"
server_binary

E2E_KEEP=${FUZZ_KEEP:-}
E2E_EXTRA_KINDS="$root/scripts/fuzz-kinds/*.yaml"
e2e_begin fuzz
# The fuzzer's negative phases send missing and invalid keys on purpose, from the same address as
# its valid requests: with the default limit (20 a minute) a fast machine locks that address out
# and every later valid request gets 429. The limit itself is covered by the HTTP tests.
export FAILED_AUTH_LIMIT=1000000
"$bin" migrate generate --name fuzz_kinds >/dev/null
"$bin" migrate apply >/dev/null
# Every request carries an admin key (the contract with access control on). Revoking keys is left
# out of the run: a generated id would sooner or later be this key's own, and every later request
# would be refused; revocation is covered by the HTTP tests.
admin_key=$("$bin" keys create --name fuzz-admin --scope admin | tail -1)

port=$(free_port)
"$bin" serve --port "$port" >"$tmp/server.log" 2>&1 &
server_pid=$!
base="http://127.0.0.1:$port"
wait_healthy "$base" "$server_pid" "$tmp/server.log" || exit 1

echo "fuzzing $base/openapi.json (kinds: $(ls "$tmp/kinds" | tr '\n' ' '))" >&2
set +e
# Run from the temp dir so schemathesis' and hypothesis' caches stay out of the repository.
(cd "$tmp" && SCHEMATHESIS_HOOKS="$root/scripts/fuzz_api_hooks.py" timeout "${FUZZ_TIMEOUT:-1200}" schemathesis \
  --config-file "$root/scripts/fuzz-api.toml" \
  run "$base/openapi.json" \
  --checks all \
  --phases examples,coverage,fuzzing,stateful \
  --max-examples "${FUZZ_MAX_EXAMPLES:-30}" \
  --seed "${FUZZ_SEED:-20260131}" \
  --generation-database none \
  --workers "${FUZZ_WORKERS:-1}" \
  --request-timeout 30 \
  --header "Authorization: Bearer $admin_key" \
  --exclude-operation-id revoke_key \
  --no-color \
  --report junit,ndjson,har --report-dir "$tmp/report" \
  ${FUZZ_EXTRA_ARGS:-})
result=$?
set -e

# What the run left behind, to show it reached past validation: records per kind and how many
# received a file (uploads are generated as real WAV files by scripts/fuzz_api_hooks.py).
psql "$DATABASE_URL" -qAt -F ' ' -c "
  SELECT string_agg(format('%s: %s records, %s with a file', t, n, f), '; ' ORDER BY t) FROM (
    SELECT c.table_name AS t,
           (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %I', c.table_name), false, true, '')))[1]::text AS n,
           (xpath('/row/f/text()', query_to_xml(format('SELECT count(file_key) AS f FROM %I', c.table_name), false, true, '')))[1]::text AS f
    FROM information_schema.columns c WHERE c.table_schema = 'public' AND c.column_name = 'file_key') s" >&2 || true

# A crash is a finding even if every response before it was fine.
if ! kill -0 "$server_pid" 2>/dev/null; then
  echo "the server died during the fuzz run:" >&2
  tail -50 "$tmp/server.log" >&2
  result=1
fi
if grep -q "unhandled error" "$tmp/server.log"; then
  echo "the server logged unhandled errors (500s):" >&2
  grep "unhandled error" "$tmp/server.log" | head -20 >&2
  result=1
fi
if [ "$result" -eq 124 ]; then echo "schemathesis exceeded FUZZ_TIMEOUT" >&2; fi
exit "$result"
