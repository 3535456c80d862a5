# Shared by the scripts that start real servers (fuzz-api.sh, tus-e2e.sh, lb-e2e.sh,
# deploy/two-servers.sh): source it, then call these.

# Sets `bin`: AUDIO_SERVER_BIN, or a debug build (SWIFT_BUILD_FLAGS passed to `swift build`).
server_binary() {
  if [ -n "${AUDIO_SERVER_BIN:-}" ]; then
    bin=$AUDIO_SERVER_BIN
  else
    # shellcheck disable=SC2086
    (cd "$(dirname "${BASH_SOURCE[0]}")/../.." && swift build --product audio-server ${SWIFT_BUILD_FLAGS:-} >&2)
    # shellcheck disable=SC2086
    bin="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && swift build --show-bin-path ${SWIFT_BUILD_FLAGS:-})/audio-server"
  fi
}

# How release binaries are built, here and in `make release`. With the Swift runtime linked in
# (--static-swift-stdlib) the server spent 12-17 % less CPU per GET and create on average, and less
# in every bench/ab.sh pair (4-23 %). The likely reason: the runtime's retains, releases and
# metadata lookups become direct calls, not calls through the PLT into libswiftCore.so
# (docs/performance.md, "Session 12"). The binary also runs where no Swift toolchain is installed.
RELEASE_BUILD_FLAGS="-c release --static-swift-stdlib"

# Sets `bin` for a benchmark: BENCH_BIN, or the release build in .build-release (built if needed).
bench_binary() {
  if [ -n "${BENCH_BIN:-}" ]; then
    bin=$BENCH_BIN
  else
    # shellcheck disable=SC2086
    (cd "$(dirname "${BASH_SOURCE[0]}")/../.." && swift build $RELEASE_BUILD_FLAGS --product audio-server --scratch-path .build-release >&2)
    # shellcheck disable=SC2086
    bin="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && swift build $RELEASE_BUILD_FLAGS --scratch-path .build-release --show-bin-path)/audio-server"
  fi
}

# Prints a free TCP port on 127.0.0.1 (scripts/lib/free_port.py says why below the ephemeral range).
free_port() {
  python3 "$(dirname "${BASH_SOURCE[0]}")/free_port.py"
}

# wait_healthy URL PID LOG: waits up to 20 s for URL/healthz; fails, showing LOG, if the server
# exits or never answers.
wait_healthy() {
  local url=$1 pid=$2 log=$3
  for _ in $(seq 1 100); do
    curl -fsS "$url/healthz" >/dev/null 2>&1 && return 0
    kill -0 "$pid" 2>/dev/null || { echo "server exited:" >&2; tail -30 "$log" >&2; return 1; }
    sleep 0.2
  done
  echo "server did not become healthy" >&2; tail -30 "$log" >&2; return 1
}

# e2e_begin NAME: the throwaway set-up of a script that tests one server against its own
# PostgreSQL (tus-e2e.sh, console-e2e.sh, fuzz-api.sh). Makes `tmp` (/tmp/audio-NAME.XXXXXX) with a
# copy of kinds/ (plus the files in E2E_EXTRA_KINDS, if set) and migrations/, starts PostgreSQL in
# it, exports the server's settings (DATABASE_URL, KINDS_DIR, MIGRATIONS_DIR, STORAGE_DIR, HOST,
# a random SECRET_KEY; LOG_LEVEL=warning unless set) and installs an EXIT trap: it stops the server
# (`server_pid`, when the script started one) and PostgreSQL, runs `e2e_on_exit` if the script
# defines it, and removes `tmp` unless the run failed or E2E_KEEP is set. Needs `bin` (server_binary).
e2e_begin() {
  local name=$1 lib_root
  lib_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  tmp=$(mktemp -d "/tmp/audio-$name.XXXXXX")
  chmod 755 "$tmp"  # pgtmp.sh runs postgres as another user when we are root
  server_pid=""
  E2E_NAME=$name
  trap e2e_cleanup EXIT
  mkdir -p "$tmp/kinds" "$tmp/migrations" "$tmp/storage"
  # shellcheck disable=SC2086
  cp "$lib_root"/kinds/*.yaml ${E2E_EXTRA_KINDS:-} "$tmp/kinds/"
  cp "$lib_root"/migrations/* "$tmp/migrations/"
  DATABASE_URL=$("$lib_root/scripts/pgtmp.sh" start "$tmp/pg")
  export DATABASE_URL KINDS_DIR="$tmp/kinds" MIGRATIONS_DIR="$tmp/migrations" STORAGE_DIR="$tmp/storage" HOST=127.0.0.1
  export LOG_LEVEL=${LOG_LEVEL:-warning}
  SECRET_KEY="$name-secret-$(head -c 24 /dev/urandom | base64 | tr -d '\n')"
  export SECRET_KEY
}

e2e_cleanup() {
  local status=$? lib_root
  lib_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  if [ -n "${server_pid:-}" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  "$lib_root/scripts/pgtmp.sh" stop "$tmp/pg" || true
  if declare -F e2e_on_exit >/dev/null; then e2e_on_exit || true; fi
  if [ -n "${E2E_KEEP:-}" ] || [ "$status" -ne 0 ]; then
    echo "$E2E_NAME artifacts kept in $tmp (server.log)" >&2
  else
    rm -rf "$tmp"
  fi
  exit "$status"
}

# bench_workspace NAME: for a benchmark run by `bin` (bench_binary). Makes `work` (a temporary
# folder), starts a throwaway PostgreSQL in it with the migrations applied, and exports what
# `serve` needs besides its PORT, with a bench secret. Processes added to `pids` are stopped, a
# SeaweedFS started in "$work/s3" too, and the folder removed when the script exits.
bench_workspace() {
  work=$(mktemp -d "/tmp/audio-bench-$1.XXXXXX")
  chmod 755 "$work"  # pgtmp.sh runs postgres as another user when we are root
  pids=()
  trap bench_cleanup EXIT
  export DATABASE_URL
  DATABASE_URL=$(scripts/pgtmp.sh start "$work/pg")
  export KINDS_DIR=$PWD/kinds MIGRATIONS_DIR=$PWD/migrations LOG_LEVEL=warning HOST=127.0.0.1
  export SECRET_KEY="bench-secret-key-of-at-least-32-characters" STORAGE_DIR=$work/storage
  "$bin" migrate apply >/dev/null
}

bench_cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ -d "$work/s3" ]; then scripts/seaweedfs.sh stop "$work/s3" >/dev/null 2>&1 || true; fi
  scripts/pgtmp.sh stop "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
