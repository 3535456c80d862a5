#!/usr/bin/env bash
# The web console in a real browser: starts the server on a throwaway PostgreSQL (as
# scripts/tus-e2e.sh does) and runs scripts/console_e2e.py, which drives headless Chromium with
# Selenium through every step of issue 18 (sign in, browse, forms and their errors, filters in the
# URL, upload with progress, play and seek, a stale edit, delete, keys, audit, a kind added as
# YAML only). Screenshots of each step go to .test-results/console/ (CONSOLE_RESULTS overrides).
# Installs what is missing: chromium and chromium-driver (apt-get, as root), Selenium (pip).
#
# Environment: AUDIO_SERVER_BIN (use this binary instead of building), SWIFT_BUILD_FLAGS,
# CONSOLE_KEEP (keep the temp dir with the server log), CONSOLE_RESULTS.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing chromium and chromium-driver (Debian packages)..." >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver) >/dev/null \
      || { echo "could not install chromium with apt-get: install chromium and chromium-driver by hand" >&2; exit 1; }
  else
    echo "chromium and chromedriver are needed: apt-get install chromium chromium-driver (as root)" >&2; exit 1
  fi
fi
python3 -c 'import selenium' 2>/dev/null || python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore 'selenium==4.51.0'

# shellcheck source=scripts/lib/server.sh
. "$root/scripts/lib/server.sh"
server_binary

results=${CONSOLE_RESULTS:-$root/.test-results/console}
rm -rf "$results"; mkdir -p "$results"
# The server log is kept with the screenshots.
e2e_on_exit() { cp "$tmp/server.log" "$results/server.log" 2>/dev/null; }
# LOG_LEVEL=info: the access log (one line per request) is kept with the screenshots.
export LOG_LEVEL=info
E2E_KEEP=${CONSOLE_KEEP:-}
e2e_begin console
"$bin" migrate apply >/dev/null
admin_key=$("$bin" keys create --name console-admin --scope admin | tail -1)

port=$(free_port)
"$bin" serve --port "$port" >>"$tmp/server.log" 2>&1 &
server_pid=$!
base="http://127.0.0.1:$port"
wait_healthy "$base" "$server_pid" "$tmp/server.log"

SE_OFFLINE=true timeout 600 python3 "$root/scripts/console_e2e.py" \
  --base "$base" --admin-key "$admin_key" --bin "$bin" --kinds-dir "$tmp/kinds" --server-pid "$server_pid" \
  --results "$results" --work "$tmp"
if grep -h "unhandled error" "$tmp/server.log"; then echo "the server logged unhandled errors (500s)" >&2; exit 1; fi
echo "console-e2e: ok (screenshots in ${results#"$root"/})"
