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

# Prints a free TCP port on 127.0.0.1.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
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
