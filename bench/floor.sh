#!/usr/bin/env bash
# `make bench-floor`: the fixed cost of one HTTP request in this stack, apart from our own code.
# Three servers answer GET /_static with a 2-byte body, alternated, each round 2 s of warm-up and
# BENCH_FLOOR_SECONDS (8) of `wrk -t2 -c64` (BENCH_FLOOR_CONNS: another count of connections):
#   - nio-hello: one SwiftNIO channel handler (bench/floor): event loop, HTTP/1 codec, kernel;
#   - hummingbird-hello: the same route on Hummingbird 2 with its defaults (bench/floor);
#   - ours: audio-server's /_static (BENCH_ROUTES=on), through its middleware and handlers.
# Prints and writes (bench/results/<date>-floor.md) req/s and each server's CPU per request (from
# /proc/<pid>/stat), the figure that matters when wrk, PostgreSQL and the server share 2 cores.
#
#   BENCH_BIN=path (default: release build)  BENCH_FLOOR_ROUNDS=3  BENCH_FLOOR_SECONDS=8  BENCH_FLOOR_CONNS=64
#   BENCH_OUT_FLOOR=path.md
# The first run builds bench/floor (its own package, release) from cold: several minutes.
# Loopback only; every wrk run is bounded in time.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
# shellcheck source=scripts/lib/server.sh
. scripts/lib/server.sh
ROUNDS=${BENCH_FLOOR_ROUNDS:-3}
SECONDS_PER_RUN=${BENCH_FLOOR_SECONDS:-8}
CONNS=${BENCH_FLOOR_CONNS:-64}
OUT=${BENCH_OUT_FLOOR:-bench/results/$(date +%F)-floor.md}
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
bench_binary
# Built as ours is, so that the three differ only in their request path.
# shellcheck disable=SC2086
(cd bench/floor && swift build $RELEASE_BUILD_FLAGS >&2)
# shellcheck disable=SC2086
floor_bin=$(cd bench/floor && swift build $RELEASE_BUILD_FLAGS --show-bin-path)
bench_workspace floor
ours_port=$(free_port); hb_port=$(free_port); nio_port=$(free_port)
BENCH_ROUTES=on PORT=$ours_port "$bin" serve >"$work/ours.log" 2>&1 & pids+=($!); ours_pid=$!
"$floor_bin/hummingbird-hello" "$hb_port" >"$work/hb.log" 2>&1 & pids+=($!); hb_pid=$!
"$floor_bin/nio-hello" "$nio_port" >"$work/nio.log" 2>&1 & pids+=($!); nio_pid=$!
wait_healthy "http://127.0.0.1:$ours_port" "$ours_pid" "$work/ours.log"
for port in "$hb_port" "$nio_port"; do
  for _ in $(seq 50); do curl -fsS "http://127.0.0.1:$port/_static" >/dev/null 2>&1 && break; sleep 0.2; done
done

ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
runs=$work/runs.txt
for round in $(seq "$ROUNDS"); do
  for entry in "nio-hello $nio_port $nio_pid" "hummingbird-hello $hb_port $hb_pid" "ours $ours_port $ours_pid"; do
    read -r name port pid <<<"$entry"
    timeout 30 wrk -t2 -c"$CONNS" -d2s "http://127.0.0.1:$port/_static" >/dev/null 2>&1 || true
    t0=$(ticks "$pid")
    rps=$(timeout $(( SECONDS_PER_RUN + 30 )) wrk -t2 -c"$CONNS" -d"${SECONDS_PER_RUN}s" "http://127.0.0.1:$port/_static" | awk '/Requests\/sec/{print $2}')
    t1=$(ticks "$pid")
    us=$(awk -v a="$t0" -v b="$t1" -v r="$rps" -v s="$SECONDS_PER_RUN" -v hz="$hz" 'BEGIN{printf "%.1f", (b-a)/hz*1e6/(r*s)}')
    echo "round $round $name $rps req/s, server $us µs CPU/req"
    echo "$name $rps $us" >>"$runs"
  done
done

median() { sort -n | awk '{a[NR]=$1} END{print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
{
  echo "# The HTTP stack's floor per request, $(date -u +%F)"
  echo
  echo "Produced by \`make bench-floor\` (\`bench/floor.sh\`): GET /_static, \`wrk -t2 -c$CONNS\`, $ROUNDS alternated rounds of ${SECONDS_PER_RUN} s;"
  echo "binary \`$bin\`, commit \`$(git rev-parse --short=12 HEAD)\`, $(nproc) cores, load average at the end $(cut -d' ' -f1-3 /proc/loadavg)."
  echo
  echo "| server | median req/s | median server CPU per request | runs (req/s, µs) |"
  echo "|---|---:|---:|---|"
  for name in nio-hello hummingbird-hello ours; do
    r=$(awk -v n="$name" '$1==n{print $2}' "$runs" | median)
    u=$(awk -v n="$name" '$1==n{print $3}' "$runs" | median)
    all=$(awk -v n="$name" '$1==n{printf "%s%.0f/%s", sep, $2, $3; sep=", "}' "$runs")
    printf '| %s | %.0f | %s µs | %s |\n' "$name" "$r" "$u" "$all"
  done
} >"$OUT"
cat "$OUT"
