#!/usr/bin/env bash
# bench/threads.sh BINARY [RUNS] [CONNECTIONS]
#
# GET by random id against fresh server processes, one line per process: req/s, the server's CPU
# per request, PostgreSQL statements per request (from pg_stat_database.xact_commit, which shows
# how many GETs shared a statement), the server's context switches per request, and the CPU of
# its busiest threads (ticks, user/system, thread name: NIO-SGLTN-* are the event loops,
# *default-qos the cooperative pool). For questions `bench/ab.sh` cannot answer: which threads a
# change moves work between, and whether two speeds belong to processes or to the machine.
# Uses the kept benchmark database (`BENCH_KEEP=1 make bench` first), like ab.sh.
#
#   bench/threads.sh .build-release/release/audio-server 6 16
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
BIN=${1:?server binary}; RUNS=${2:-6}; C=${3:-16}
[ -d bench/.work/pg/data ] || { echo "no kept benchmark database in bench/.work/pg: run BENCH_KEEP=1 make bench first" >&2; exit 2; }
DATABASE_URL=$(scripts/pgtmp.sh start bench/.work/pg)
export DATABASE_URL SECRET_KEY=bench-secret-key-of-at-least-32-characters KINDS_DIR=$here/kinds MIGRATIONS_DIR=$here/migrations
BENCH_KEY=$("$BIN" keys create --name "threads-$RANDOM" --scope admin | tail -1)
export BENCH_KEY BENCH_MODE=random_id BENCH_PREFIX=/api/audio/song/
BENCH_MAX_ID=$(psql -X -qtA "$DATABASE_URL" -c 'SELECT max(id) FROM song')
export BENCH_MAX_ID
port=${THREADS_PORT:-47990}
xact() { psql -X -qtA "$DATABASE_URL" -c 'SELECT sum(xact_commit) FROM pg_stat_database'; }
ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
switches() { grep -h ctxt "/proc/$1"/task/*/status | awk '{s+=$2} END{print s}'; }
for i in $(seq "$RUNS"); do
  HOST=127.0.0.1 PORT=$port STORAGE_DIR=$here/bench/.work/storage LOG_LEVEL=warning "$BIN" serve >/tmp/bench-threads-server.log 2>&1 &
  pid=$!
  for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
  timeout 20 wrk -t2 "-c$C" -d2s -s bench/lua/bench.lua "http://127.0.0.1:$port/" >/dev/null 2>&1 || true  # warm-up
  x0=$(xact); t0=$(ticks "$pid"); cs0=$(switches "$pid")
  line=$(timeout 30 wrk -t2 "-c$C" -d8s -s bench/lua/bench.lua "http://127.0.0.1:$port/" 2>&1 | grep WRK_RESULT)
  x1=$(xact); t1=$(ticks "$pid"); cs1=$(switches "$pid")
  req=$(echo "$line" | sed 's/.*requests=\([0-9]*\).*/\1/'); rps=$(echo "$line" | sed 's/.*rps=\([0-9.]*\).*/\1/')
  threads=$(for t in /proc/"$pid"/task/*; do echo "$(awk '{print $14+$15":u"$14"/s"$15}' "$t/stat"):$(cat "$t/comm")"; done | sort -t: -k1 -nr | head -4 | tr '\n' ' ')
  echo "run $i: $rps req/s  server $(((t1 - t0) * 10000000 / req)) ns/req  statements/req $(echo "scale=3; ($x1-$x0)/$req" | bc)  switches/req $(echo "scale=2; ($cs1-$cs0)/$req" | bc)  threads: $threads"
  kill "$pid"; wait "$pid" 2>/dev/null || true
done
