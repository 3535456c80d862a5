#!/usr/bin/env bash
# bench/ab.sh OLD_BINARY NEW_BINARY PATH [CONNECTIONS] [PAIRS]
#
# Alternating A/B of two server binaries on one database: the measurement behind "this change made
# X faster" on a machine too noisy for two separate `make bench` runs to tell. Each pair runs A then
# B for 8 s of wrk (after 2 s of warm-up) against PATH, and prints req/s and the CPU each process
# used per request (from /proc/<pid>/stat), which is steadier than req/s when other tenants share
# the cores. Compare within pairs, not across them.
#
# Needs the catalogue of a kept benchmark database: run `BENCH_KEEP=1 make bench` first (or
# `BENCH_KEEP=1 BENCH_DURATION=2 make bench` for a quicker one); this starts that cluster again.
# PATH is a server path, `random-song` for GET /api/audio/song/<random id>, or `create-song` for
# POST /api/audio/create of a valid song (the songs and audit rows it makes are deleted again at the end); a PATH with {n} takes a random AB_MIN..AB_MAX (default
# 1..1000) per request. AB_PSQL_A / AB_PSQL_B: SQL run on the benchmark database before that side's
# server starts (e.g. `ALTER DATABASE postgres SET plan_cache_mode = force_generic_plan`), to compare
# PostgreSQL settings with one binary. AB_KINDS_A=DIR gives A its own kinds folder (an older binary cannot read a
# newer kinds/ vocabulary, e.g. `access:`). The servers inherit the environment (e.g. SHARED_ROUND_TRIPS); BENCH_ROUTES=on
# turns on the /_static ceiling route.
#
#   bench/ab.sh /tmp/audio-server-before .build-release/release/audio-server random-song 64 3
#   AB_SLICES=15 bench/ab.sh old new random-song 16        (both up at once, 2-s slices: see `interleaved`)
#   bench/ab.sh old new '/api/audio/podcast?limit=50' 16 4
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
A=${1:?old binary}; B=${2:?new binary}; P=${3:?path or random-song}; C=${4:-64}; PAIRS=${5:-3}
WORK=bench/.work
if ! command -v wrk >/dev/null; then
  [ "$(id -u)" = 0 ] || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 2; }
  apt-get update -qq && apt-get install -y -qq wrk >/dev/null
fi
[ -d "$WORK/pg/data" ] || { echo "no kept benchmark database in $WORK/pg: run BENCH_KEEP=1 make bench first" >&2; exit 2; }
DATABASE_URL=$(scripts/pgtmp.sh start "$WORK/pg")
export DATABASE_URL KINDS_DIR="$here/kinds" MIGRATIONS_DIR="$here/migrations"
max_song=$(psql -X -qtA "$DATABASE_URL" -c 'SELECT max(id) FROM song')
mode=(); url_path=$P
if [ "$P" = random-song ]; then mode=(BENCH_MODE=random_id BENCH_PREFIX=/api/audio/song/ BENCH_MAX_ID="$max_song"); url_path=/; fi
case "$P" in *'{n}'*) mode=(BENCH_MODE=template "BENCH_TEMPLATE=$P" "BENCH_MIN=${AB_MIN:-1}" "BENCH_MAX_ID=${AB_MAX:-1000}"); url_path=/ ;; esac
if [ "$P" = create-song ]; then mode=(BENCH_MODE=post 'BENCH_BODY={"filetype":"song","name":"Bench song","duration":215}'); url_path=/api/audio/create; fi
# A create A/B adds ~100k songs (and their audit rows) per side and pair. They are taken out again
# at the end, however the script ends, so that the kept database stays the one `make bench` loaded:
# before this, session after session of create runs had grown it from its load to 1.44 million
# songs, and GETs by random id then read a different table from the one their report names.
max_audit=$(psql -X -qtA "$DATABASE_URL" -c 'SELECT coalesce(max(id), 0) FROM audio_server.audit')
finish() {
  if [ "$P" = create-song ]; then
    # REINDEX too: the deleted rows leave song's indexes mostly empty pages ((duration, id): 1,087
    # deleted of 1,113 pages for 5,000 songs after one pair), and distinct pages afterwards cost
    # PostgreSQL 13 times the CPU (1,520 against 112-121 µs per page at 16 connections, session
    # 22; the plain statement's EXPLAIN still reads 57 buffers, the cause in the shared statement
    # was not found): every page A/B after a create A/B measured that, not the server.
    psql -X -q "$DATABASE_URL" -c "DELETE FROM audio_server.audit WHERE id > $max_audit" -c "DELETE FROM song WHERE id > $max_song" \
      -c "SELECT setval(pg_get_serial_sequence('song', 'id'), $max_song)" -c "VACUUM ANALYZE song" \
      -c "REINDEX TABLE song" -c "VACUUM FULL audio_server.audit" >/dev/null || true
  fi
  scripts/pgtmp.sh stop "$WORK/pg" >/dev/null 2>&1 || true
}
trap finish EXIT
# Both servers get a key on every request; a binary from before access control ignores it, so
# an A/B across that change measures what the check costs. The key is made with the newer binary.
export SECRET_KEY="bench-secret-key-of-at-least-32-characters"
for bin in "$B" "$A"; do
  if "$bin" keys --help >/dev/null 2>&1; then
    BENCH_KEY=$("$bin" keys create --name "ab-$(date +%s%N)" --scope admin | tail -1); export BENCH_KEY; break
  fi
done
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port)

ticks() { local t=0 p; for p in "$@"; do [ -r "/proc/$p/stat" ] && t=$((t + $(awk '{print $14+$15}' "/proc/$p/stat"))); done; echo "$t"; }
# serve BINARY PORT LOG [KINDS_DIR]: starts a server in the background (its pid in $served), waits
# until it answers, and warms it up with 2 s of the measured load.
serve() {
  mkdir -p "$WORK/ab-storage"
  KINDS_DIR=${4:-$KINDS_DIR} BENCH_ROUTES=on HOST=127.0.0.1 PORT=$2 STORAGE_DIR="$here/$WORK/ab-storage" LOG_LEVEL=warning "$1" serve >"$3" 2>&1 &
  served=$!
  local _
  for _ in $(seq 150); do curl -fsS "http://127.0.0.1:$2/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
  load "$2" 2 >/dev/null
}
# load PORT SECONDS: wrk's WRK_RESULT line for SECONDS of the measured load on PORT.
load() { env "${mode[@]}" timeout $(($2 + 30)) wrk -t2 -c"$C" -d"$2"s -s bench/lua/bench.lua "http://127.0.0.1:$1$url_path" 2>&1 | grep '^WRK_RESULT' || true; }
# field NAME LINE: a number of a WRK_RESULT line (empty when the line has none).
field() { sed -nE "s/.*[ ]$1=([0-9.]+).*/\1/p" <<<"$2"; }
one() { # one LABEL BINARY [KINDS_DIR] [SQL]
  [ -z "${4:-}" ] || psql -X -q -v ON_ERROR_STOP=1 "$DATABASE_URL" -c "$4" >/dev/null
  serve "$2" "$port" "$WORK/ab-server.log" "${3:-}"
  local pid=$served
  # This cluster's postmaster and its backends only: other clusters on a shared machine are not ours.
  local pg postmaster; postmaster=$(head -1 "$WORK/pg/data/postmaster.pid"); pg="$postmaster $(pgrep -P "$postmaster" | tr '\n' ' ')"
  local s0 g0 s1 g1 line rps
  s0=$(ticks "$pid"); g0=$(ticks $pg)
  line=$(load "$port" 8)
  s1=$(ticks "$pid"); g1=$(ticks $pg)
  kill "$pid"; wait "$pid" 2>/dev/null || true
  rps=$(field rps "$line")
  # Error responses are not the endpoint's speed: say so loudly rather than print them as req/s.
  local bad; bad=$(field err_status "$line")
  [ "${bad:-0}" = 0 ] || echo "$1: $bad responses were errors (4xx/5xx): this pair measures nothing" >&2
  python3 -c "
rps=float('${rps:-0}' or 0); n=max(rps*8,1); hz=$(getconf CLK_TCK)
print(f'$1 {rps:10.0f} req/s   server {($s1-$s0)/hz/n*1e6:6.1f} µs CPU/req   postgres {($g1-$g0)/hz/n*1e6:6.1f} µs CPU/req')"
}
# AB_SLICES=N: both servers run at once and wrk alternates N slices of 2 s between them, for
# effects of a few per cent. The host's slow and fast phases last minutes and move both sides'
# figures by up to half between 8-s pairs; within 4 s they are nearly the same for both. An A/A run
# of one binary (session 24, GET by id, 16 connections, 15 slices) gave a median B/A of 1.005 and
# server CPU within 1.3 %. AB_PSQL_* and AB_KINDS_A do not apply (both servers share one start).
interleaved() {
  local pb ia ib i side p pid t0 t1 line rps bad
  pb=$(free_port)
  serve "$A" "$port" "$WORK/ab-server.log"; ia=$served
  serve "$B" "$pb" "$WORK/ab-server-b.log"; ib=$served
  : >"$WORK/ab-slices.txt"
  for i in $(seq "$AB_SLICES"); do
    for side in A B; do
      if [ $side = A ]; then p=$port pid=$ia; else p=$pb pid=$ib; fi
      t0=$(ticks "$pid"); line=$(load "$p" 2); t1=$(ticks "$pid")
      rps=$(field rps "$line"); bad=$(field err_status "$line")
      [ "${bad:-0}" = 0 ] || echo "slice $i $side: $bad responses were errors (4xx/5xx): it measures nothing" >&2
      echo "$side ${rps:-0} $((t1 - t0))" >>"$WORK/ab-slices.txt"
    done
  done
  kill "$ia" "$ib"; wait "$ia" "$ib" 2>/dev/null || true
  python3 - "$WORK/ab-slices.txt" "$(getconf CLK_TCK)" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
hz = int(sys.argv[2])
side = {s: [(float(r[1]), int(r[2])) for r in rows if r[0] == s] for s in "AB"}
for s, slices in side.items():
    cpu = sum(t for _, t in slices) / hz / max(sum(r * 2 for r, _ in slices), 1) * 1e6
    print(f"{s}: median {statistics.median(r for r, _ in slices):8.0f} req/s   server {cpu:6.1f} µs CPU/req")
ratios = [b[0] / a[0] for a, b in zip(side["A"], side["B"]) if a[0] > 0]
print(f"B/A per slice: median {statistics.median(ratios):.3f}, mean {statistics.mean(ratios):.3f}, "
      f"{min(ratios):.3f} to {max(ratios):.3f}; B faster in {sum(r > 1 for r in ratios)} of {len(ratios)}")
PY
}
echo "A = $A"; echo "B = $B"
if [ -n "${AB_SLICES:-}" ]; then
  echo "$P at $C connections, both servers up, $AB_SLICES alternating 2-s slices"
  interleaved
  exit 0
fi
echo "$P at $C connections, $PAIRS alternating pairs"
# AB_KINDS_A: the kinds folder for A, when A is older than a kinds/ change it cannot read.
for i in $(seq "$PAIRS"); do one "pair $i A" "$A" "${AB_KINDS_A:-}" "${AB_PSQL_A:-}"; one "pair $i B" "$B" "" "${AB_PSQL_B:-}"; done
