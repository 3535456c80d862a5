#!/usr/bin/env bash
# `make bench`: the reproducible end-to-end benchmark of issue 6.
#
# Builds the release server, starts a throwaway PostgreSQL under bench/.work/, loads a catalogue
# (BENCH_SONGS songs, BENCH_PODCASTS podcasts with participants) with SQL, starts the server on a
# free loopback port and measures with wrk at 1, 16 and 64 connections; measures the ceilings
# (pgbench -S, pgbench single-row INSERT, the server's own /_static route) in the same run; uploads
# and downloads a 100 MiB and a 1 GiB WAV; and writes bench/results/<date>.md via bench/report.py.
#
# Knobs (environment):
#   BENCH_DURATION=10      seconds per wrk / pgbench run      BENCH_WARMUP=2   seconds of warm-up
#   BENCH_CONNECTIONS="1 16 64"                               BENCH_SONGS=1000000 BENCH_PODCASTS=100000
#   BENCH_BIG_MIB=1024     size of the large upload (MiB)     BENCH_SMALL_MIB=100
#   BENCH_SKIP_BUILD=1     use the existing .build-release binary; BENCH_BIN=path: use that binary
#   BENCH_PROFILE=1        also record `perf record` of the server during GET-by-id at 64 connections
#   BENCH_KEEP=1           keep bench/.work (database, files) for inspection
#   BENCH_OUT=path.md      where to write the report (default bench/results/<YYYY-MM-DD>.md)
# Only loopback (127.0.0.1) traffic; every run and loop is bounded in time.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
# shellcheck source=scripts/lib/server.sh
. scripts/lib/server.sh  # RELEASE_BUILD_FLAGS

DUR=${BENCH_DURATION:-10}
WARM=${BENCH_WARMUP:-2}
CONNS=${BENCH_CONNECTIONS:-"1 16 64"}
SONGS=${BENCH_SONGS:-1000000}
PODCASTS=${BENCH_PODCASTS:-100000}
SMALL_MIB=${BENCH_SMALL_MIB:-100}
BIG_MIB=${BENCH_BIG_MIB:-1024}
OUT=${BENCH_OUT:-bench/results/$(date +%F).md}
WORK=bench/.work
RES=$WORK/results.txt
LUA=bench/lua/bench.lua
started=$(date +%s)

log() { printf '[bench %4ds] %s\n' $(( $(date +%s) - started )) "$*" >&2; }
rec() { printf '%s\n' "$*" >>"$RES"; }
die() { log "FAILED: $*"; exit 1; }

# ---------------------------------------------------------------- tools
need_apt=()
command -v wrk >/dev/null || need_apt+=(wrk)
command -v pgbench >/dev/null || need_apt+=(postgresql-contrib)
command -v curl >/dev/null || need_apt+=(curl)
command -v python3 >/dev/null || need_apt+=(python3)
if [ ${#need_apt[@]} -gt 0 ]; then
  log "installing ${need_apt[*]}"
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else die "missing ${need_apt[*]}: apt-get install -y ${need_apt[*]}"; fi
fi
PGBIN=""
for d in /usr/lib/postgresql/*/bin; do [ -x "$d/pgbench" ] && PGBIN=$d; done
PGBENCH=${PGBIN:+$PGBIN/}pgbench
command -v "$PGBENCH" >/dev/null || PGBENCH=pgbench

# ---------------------------------------------------------------- work dir and cleanup
server_pid=""; sampler_pid=""; off_pid=""
cleanup() {
  set +e
  [ -n "$sampler_pid" ] && kill "$sampler_pid" 2>/dev/null
  [ -n "$off_pid" ] && kill "$off_pid" 2>/dev/null
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid"; for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$server_pid" 2>/dev/null
  fi
  scripts/pgtmp.sh stop "$WORK/pg" >/dev/null 2>&1
  if [ -z "${BENCH_KEEP:-}" ]; then rm -rf "$WORK/pg" "$WORK/storage" "$WORK"/*.wav "$WORK/xfer-body" "$WORK/perf.data" "$WORK/perf.data.old"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$WORK" bench/results
scripts/pgtmp.sh stop "$WORK/pg" >/dev/null 2>&1 || true
rm -rf "$WORK/pg" "$WORK/storage" "$WORK"/*.wav "$WORK"/wrk-*.txt "$WORK"/pgbench-*.txt "$WORK"/server-*.sql "$WORK"/perf-*.txt "$RES"
mkdir -p "$WORK/storage"
: >"$RES"

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
rec "meta started $(date -u +%Y-%m-%dT%H:%M:%SZ)"
rec "meta loadavg_start $(loadavg)"
rec "meta duration_s $DUR"
rec "meta connections $CONNS"
top -bn1 -o %CPU 2>/dev/null | sed -n '8,14p' | awk '{printf "meta top_at_start %s %s%% %s\n", $NF, $9, $1}' >>"$RES" || true

# ---------------------------------------------------------------- build
if [ -n "${BENCH_BIN:-}" ]; then
  log "using BENCH_BIN=$BENCH_BIN (not a fresh release build)"
  rec "meta binary $BENCH_BIN (given by BENCH_BIN)"
elif [ -z "${BENCH_SKIP_BUILD:-}" ]; then
  log "building release binary (swift build $RELEASE_BUILD_FLAGS --scratch-path .build-release)"
  t0=$(date +%s)
  # shellcheck disable=SC2086
  swift build $RELEASE_BUILD_FLAGS --product audio-server --scratch-path .build-release >"$WORK/build.log" 2>&1 \
    || { tail -30 "$WORK/build.log" >&2; die "release build"; }
  rec "meta build_s $(( $(date +%s) - t0 ))"
fi
# shellcheck disable=SC2086
BIN=${BENCH_BIN:-$(swift build $RELEASE_BUILD_FLAGS --scratch-path .build-release --show-bin-path 2>/dev/null)/audio-server}
[ -x "$BIN" ] || die "no release binary at $BIN (unset BENCH_SKIP_BUILD)"

# ---------------------------------------------------------------- PostgreSQL
log "starting a throwaway PostgreSQL in $WORK/pg"
scripts/pgtmp.sh start "$WORK/pg" >/dev/null
# Tuned like a development server with room for the catalogue; the throwaway cluster keeps
# fsync=off / synchronous_commit=off / full_page_writes=off (set by pgtmp.sh): no disk flush per commit,
# for pgbench and the server alike, so the ratios compare CPU paths, not the disk.
pg_sql() { psql -X -q -v ON_ERROR_STOP=1 -h "$here/$WORK/pg" -p "$(cat "$WORK/pg/port")" -U postgres "$@"; }
pg_sql -d postgres -c "ALTER SYSTEM SET shared_buffers = '512MB'" \
  -c "ALTER SYSTEM SET effective_cache_size = '4GB'" -c "ALTER SYSTEM SET work_mem = '16MB'" \
  -c "ALTER SYSTEM SET maintenance_work_mem = '256MB'" -c "ALTER SYSTEM SET max_wal_size = '4GB'" \
  -c "ALTER SYSTEM SET checkpoint_timeout = '30min'" -c "ALTER SYSTEM SET autovacuum = 'off'"
# autovacuum is off so that no background vacuum of song (the INSERT ceilings below add about
# 2 million rows) competes for the two cores during a measurement; the script vacuums explicitly
# after the load and after the ceilings instead, so every wrk phase starts from the same state.
scripts/pgtmp.sh stop "$WORK/pg"
DATABASE_URL=$(scripts/pgtmp.sh start "$WORK/pg")
export DATABASE_URL
PGPORT=$(cat "$WORK/pg/port")
psql_q() { pg_sql -d "${2:-postgres}" -tA -c "$1"; }
rec "meta postgres $(psql_q 'SHOW server_version') fsync=$(psql_q 'SHOW fsync') synchronous_commit=$(psql_q 'SHOW synchronous_commit') shared_buffers=$(psql_q 'SHOW shared_buffers')"

export KINDS_DIR="$here/kinds" MIGRATIONS_DIR="$here/migrations"
"$BIN" migrate apply >"$WORK/migrate.log" 2>&1 || { cat "$WORK/migrate.log" >&2; die "migrate apply"; }
# Access control is on, as in production: every request of the benchmark sends an admin key
# (bench/lua/bench.lua reads BENCH_KEY), so its check is part of every figure.
export SECRET_KEY="bench-secret-key-of-at-least-32-characters"
BENCH_KEY=$("$BIN" keys create --name "bench-$(date +%s)" --scope admin | tail -1) || die "keys create"
export BENCH_KEY
auth=(-H "Authorization: Bearer $BENCH_KEY")  # for curl; wrk sends it through bench/lua/bench.lua

log "loading $SONGS songs and $PODCASTS podcasts"
t0=$(date +%s)
pg_sql -d postgres <<SQL
SET synchronous_commit = off;
-- name 1..100 chars, duration 1..2147483647 (song_*_min_length / _min / _max CHECKs)
INSERT INTO song (name, duration)
  SELECT 'Song number ' || g, 1 + (g * 7919) % 3600 FROM generate_series(1::bigint, $SONGS) AS g;
-- host 1..100 chars; 0..10 participants, each 1..100 chars, no NULLs (podcast_participants_* CHECKs)
INSERT INTO podcast (name, duration, host, participants)
  SELECT 'Podcast episode ' || g, 60 + (g * 104729) % 7200, 'Host ' || (g % 500),
         ARRAY(SELECT 'Guest ' || ((g * 31 + k) % 5000) FROM generate_series(1, g % 11) AS k)::varchar(100)[]
  FROM generate_series(1::bigint, $PODCASTS) AS g;
VACUUM ANALYZE song;
VACUUM ANALYZE podcast;
CHECKPOINT;
SQL
rec "meta load_s $(( $(date +%s) - t0 ))"
rec "meta rows song=$(psql_q 'SELECT count(*) FROM song') podcast=$(psql_q 'SELECT count(*) FROM podcast') podcast_with_participants=$(psql_q 'SELECT count(*) FROM podcast WHERE cardinality(participants) > 0')"
MAX_SONG=$(psql_q 'SELECT max(id) FROM song')

log "pgbench -i (scale 10, database pgbench on the same cluster)"
pg_sql -d postgres -c 'CREATE DATABASE pgbench'
"$PGBENCH" -i -q -s 10 -h 127.0.0.1 -p "$PGPORT" -U postgres pgbench >"$WORK/pgbench-init.log" 2>&1 \
  || { cat "$WORK/pgbench-init.log" >&2; die "pgbench -i"; }
cat >"$WORK/insert.sql" <<'SQL'
\set d random(1, 3600)
INSERT INTO song (name, duration) VALUES ('pgbench song', :d);
SQL

# ---------------------------------------------------------------- server
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
BASE="http://127.0.0.1:$PORT"
log "starting $BIN serve on 127.0.0.1:$PORT"
BENCH_ROUTES=on HOST=127.0.0.1 PORT=$PORT STORAGE_DIR="$here/$WORK/storage" MAX_UPLOAD_BYTES=$(( (BIG_MIB + 64) * 1048576 )) \
  LOG_LEVEL=${BENCH_LOG_LEVEL:-warning} "$BIN" serve >"$WORK/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 150); do
  curl -fsS "$BASE/healthz" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$WORK/server.log" >&2; die "server exited"; }
  sleep 0.2
done
curl -fsS "$BASE/healthz" >/dev/null || die "server not healthy after 30 s"
curl -fsS "$BASE/_static" >/dev/null || die "GET /_static (the ceiling route) is missing from the server"
rec "meta server_pid_start_rss_kb $(awk '/VmRSS/{print $2}' /proc/$server_pid/status)"

# RSS sampler: VmRSS every 0.5 s while the server lives (bounded to 2 h).
( for _ in $(seq 14400); do
    kill -0 "$server_pid" 2>/dev/null || exit 0
    printf '%s %s\n' "$(date +%s.%N | cut -c1-14)" "$(awk '/VmRSS/{print $2}' /proc/$server_pid/status 2>/dev/null)"
    sleep 0.5
  done ) >"$WORK/rss.log" 2>/dev/null &
sampler_pid=$!
rss_mark() { rec "rss $1 hwm_kb=$(awk '/VmHWM/{print $2}' /proc/$server_pid/status) rss_kb=$(awk '/VmRSS/{print $2}' /proc/$server_pid/status) loadavg=$(loadavg | tr ' ' '/')"; }
rss_mark after_start

# ---------------------------------------------------------------- runners
threads() { [ "$1" -ge 2 ] && echo 2 || echo 1; }
# wrk_run NAME CONNS URL [ENV...]: one timed run; records "wrk NAME CONNS key=value ..."
wrk_run() {
  local name=$1 c=$2 url=$3; shift 3
  local outf="$WORK/wrk-$name-$c.txt"
  env "$@" timeout $(( DUR + 30 )) wrk -t "$(threads "$c")" -c "$c" -d "${DUR}s" --timeout 5s --latency -s "$LUA" "$url" >"$outf" 2>&1 \
    || { cat "$outf" >&2; die "wrk $name $c"; }
  local line; line=$(grep '^WRK_RESULT ' "$outf" | tail -1)
  [ -n "$line" ] || { cat "$outf" >&2; die "wrk $name $c: no WRK_RESULT line"; }
  rec "wrk $name $c ${line#WRK_RESULT } loadavg=$(loadavg | tr ' ' '/')"
  # A run of error responses measures nothing (the range reads once lost their key and the report
  # showed 401s as req/s): only create_invalid answers 400 on purpose.
  local bad; bad=$(sed -E 's/.*err_status=([0-9]+).*/\1/' <<<"$line")
  [ "$name" = create_invalid ] || [ "$bad" = 0 ] || die "wrk $name $c: $bad responses were errors (4xx/5xx); see $outf"
  log "wrk $name c=$c: $(sed -E 's/.*rps=([0-9.]+).*p99_us=([0-9]+).*err_status=([0-9]+).*/\1 req\/s, p99 \2 us, non-2xx \3/' <<<"$line")"
}
wrk_warm() {
  local url=$1; shift
  env "$@" timeout $(( WARM + 20 )) wrk -t 2 -c 16 -d "${WARM}s" -s "$LUA" "$url" >/dev/null 2>&1 || true
}
# pgbench_run NAME CONNS DB ARGS...: records "pgbench NAME CONNS tps=X lat_ms=Y"
pgbench_run() {
  local name=$1 c=$2 db=$3; shift 3
  local outf="$WORK/pgbench-$name-$c.txt"
  timeout $(( DUR + 60 )) "$PGBENCH" -h 127.0.0.1 -p "$PGPORT" -U postgres -n -c "$c" -j "$(threads "$c")" -T "$DUR" "$@" "$db" >"$outf" 2>&1 \
    || { cat "$outf" >&2; die "pgbench $name $c"; }
  local tps lat failed
  tps=$(sed -nE 's/^tps = ([0-9.]+) \(without initial connection time\).*/\1/p' "$outf" | head -1)
  [ -n "$tps" ] || tps=$(sed -nE 's/^tps = ([0-9.]+).*/\1/p' "$outf" | head -1)
  lat=$(sed -nE 's/^latency average = ([0-9.]+) ms.*/\1/p' "$outf" | head -1)
  failed=$(sed -nE 's/^number of failed transactions: ([0-9]+).*/\1/p' "$outf" | head -1)
  [ -n "$tps" ] || { cat "$outf" >&2; die "pgbench $name $c: no tps line"; }
  rec "pgbench $name $c tps=$tps lat_ms=${lat:-0} failed=${failed:-0} loadavg=$(loadavg | tr ' ' '/')"
  log "pgbench $name c=$c: $tps tps"
}

# The server's own SQL, captured from PostgreSQL's log for one request of each kind, replayed by
# pgbench (diagnostic: it separates the database's share of an endpoint from the server's).
pg_sql -d postgres -c "ALTER SYSTEM SET log_min_duration_statement = 0" -c "SELECT pg_reload_conf()" >/dev/null
sleep 0.3
curl -fsS "$BASE/api/audio/song/77" >/dev/null
curl "${auth[@]}" -fsS -H 'Content-Type: application/json' -d '{"filetype":"song","name":"sql capture","duration":5}' "$BASE/api/audio/create" >/dev/null
curl -fsS "$BASE/api/audio/podcast?limit=50" >/dev/null
sleep 0.3
pg_sql -d postgres -c "ALTER SYSTEM RESET log_min_duration_statement" -c "SELECT pg_reload_conf()" >/dev/null
python3 - "$WORK/pg/postgres.log" "$WORK" "$MAX_SONG" <<'PY' || log "could not capture the server's SQL; skipping the server-SQL pgbench runs"
import re, sys
logf, work, max_song = sys.argv[1], sys.argv[2], sys.argv[3]
# "execute <unnamed>: SQL" for unprepared statements, "execute audio_statement_N: SQL" for prepared ones.
stmts = [m.group(1).strip() for m in re.finditer(r"execute [^:\s]+: (.*)", open(logf, errors="replace").read())]
def pick(pred):
    for s in stmts:
        if pred(s):
            return s
    raise SystemExit(f"statement not found in {logf}")
def pgbench_text(sql):
    # pgbench reads every ':name' as a variable, also inside string literals: spell ':' as \x3a there.
    def esc(m):
        body = m.group(1)
        return m.group(0) if ":" not in body else "E'" + body.replace("\\", "\\\\").replace(":", "\\x3a") + "'"
    return re.sub(r"(?<![A-Za-z0-9_])'((?:[^']|'')*)'", esc, sql)
get = pick(lambda s: 'FROM "song" t WHERE t."id" = $1' in s and "$2" not in s)
ins = pick(lambda s: s.startswith('INSERT INTO "song"'))
lst = pick(lambda s: 'FROM "podcast" t' in s and "LIMIT $" in s)
n = max(int(x) for x in re.findall(r"\$(\d+)", lst))
open(f"{work}/server-get.sql", "w").write(f"\\set id random(1, {max_song})\n" + pgbench_text(get).replace("$1", ":id") + ";\n")
open(f"{work}/server-insert.sql", "w").write("\\set d random(1, 3600)\n" + pgbench_text(ins).replace("$1", "'pgbench song'").replace("$2", ":d") + ";\n")
open(f"{work}/server-list.sql", "w").write(pgbench_text(lst).replace(f"${n}", "51") + ";\n")
PY

# ---------------------------------------------------------------- 5. ceilings first (same run)
log "ceilings: pgbench -S (extended, prepared), pgbench INSERT, GET /_static"
"$PGBENCH" -h 127.0.0.1 -p "$PGPORT" -U postgres -n -S -c 16 -j 2 -T "$WARM" pgbench >/dev/null 2>&1 || true
"$PGBENCH" -h 127.0.0.1 -p "$PGPORT" -U postgres -n -c 16 -j 2 -T "$WARM" -f "$WORK/insert.sql" postgres >/dev/null 2>&1 || true
for c in $CONNS; do
  pgbench_run select_extended "$c" pgbench -S -M extended
  pgbench_run select_prepared "$c" pgbench -S -M prepared
  pgbench_run insert_extended "$c" postgres -M extended -f "$WORK/insert.sql"
  if [ -s "$WORK/server-get.sql" ]; then
    pgbench_run server_get_extended "$c" postgres -M extended -f "$WORK/server-get.sql"
    pgbench_run server_get_prepared "$c" postgres -M prepared -f "$WORK/server-get.sql"
    pgbench_run server_list_extended "$c" postgres -M extended -f "$WORK/server-list.sql"
    pgbench_run server_list_prepared "$c" postgres -M prepared -f "$WORK/server-list.sql"
    pgbench_run server_insert_extended "$c" postgres -M extended -f "$WORK/server-insert.sql"
    pgbench_run server_insert_prepared "$c" postgres -M prepared -f "$WORK/server-insert.sql"
  fi
done
pg_sql -d postgres -c "VACUUM ANALYZE song" -c "CHECKPOINT"
wrk_warm "$BASE/_static"
for c in $CONNS; do wrk_run static "$c" "$BASE/_static"; done
rss_mark after_static

# ---------------------------------------------------------------- 1. GET song by random id
log "GET /api/audio/song/<random id in 1..$MAX_SONG>"
curl -fsS "$BASE/api/audio/song/$(( MAX_SONG / 2 ))" >/dev/null || die "GET song by id"
GETENV=(BENCH_MODE=random_id BENCH_PREFIX=/api/audio/song/ BENCH_MAX_ID="$MAX_SONG")
wrk_warm "$BASE/" "${GETENV[@]}"
for c in $CONNS; do wrk_run get_song "$c" "$BASE/" "${GETENV[@]}"; done
if [ -n "${BENCH_PROFILE:-}" ] && command -v perf >/dev/null; then
  # An extra run (not in the figures) under a system-wide CPU profile; the software clock event
  # works where hardware counters are not exposed (VMs).
  c=${CONNS##* }
  log "profiling GET by id at $c connections (perf record -e cpu-clock -a)"
  perf record -e cpu-clock -F 499 -a -o "$WORK/perf.data" -- sleep "$DUR" >/dev/null 2>&1 &
  perf_pid=$!
  wrk_run get_song_profiled "$c" "$BASE/" "${GETENV[@]}"
  wait "$perf_pid" || true
  demangle() { if command -v swift >/dev/null; then swift demangle --simplified 2>/dev/null || cat; else cat; fi; }
  { echo "## CPU by command (system-wide, GET by id at $c connections)"
    perf report -i "$WORK/perf.data" --sort comm --stdio 2>/dev/null | grep -v '^#' | grep -v '^$' | head -25
    echo; echo "## server process: CPU by shared object"
    perf report -i "$WORK/perf.data" --pid "$server_pid" --sort dso --stdio 2>/dev/null | grep -v '^#' | grep -v '^$' | head -20
    echo; echo "## server process: top symbols (self)"
    perf report -i "$WORK/perf.data" --pid "$server_pid" --sort dso,symbol --stdio 2>/dev/null | grep -v '^#' | grep -v '^$' | head -70 | demangle
    echo; echo "## postgres: top symbols (self)"
    perf report -i "$WORK/perf.data" --comm postgres --sort dso,symbol --stdio 2>/dev/null | grep -v '^#' | grep -v '^$' | head -30
  } >"$WORK/perf-get-song.txt" 2>&1 || true
fi
rss_mark after_get

# ---------------------------------------------------------------- 2. podcast pages
log "podcast list pages"
first=$(curl -fsS "$BASE/api/audio/podcast?limit=50")
n_items=$(jq '.items | length' <<<"$first"); [ "$n_items" = 50 ] || die "first page has $n_items items"
# The deep cursor: walk 999 pages by next_cursor (keep-alive, bounded to 120 s) so that it does not
# depend on the cursor's encoding, then check that page 1000 starts at row 49,951 in id order.
DEEP_CURSOR=$(python3 - "$PORT" <<'PY'
import http.client, json, sys, time, urllib.parse
conn = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=10)
cursor, deadline = None, time.time() + 120
for page in range(1, 1000):
    if time.time() > deadline:
        sys.exit("walking pages took longer than 120 s")
    path = "/api/audio/podcast?limit=50" + ("&cursor=" + urllib.parse.quote(cursor) if cursor else "")
    conn.request("GET", path)
    resp = conn.getresponse()
    body = json.loads(resp.read())
    if resp.status != 200 or not body.get("next_cursor"):
        sys.exit(f"page {page}: HTTP {resp.status}, next_cursor {body.get('next_cursor')!r}")
    cursor = body["next_cursor"]
print(cursor)
PY
) || die "walking to page 1000"
deep_expected=$(psql_q 'SELECT id FROM podcast ORDER BY id OFFSET 49950 LIMIT 1')
deep_first=$(curl -fsS "$BASE/api/audio/podcast?limit=50&cursor=$DEEP_CURSOR" | jq '.items[0].id')
[ "$deep_first" = "$deep_expected" ] || die "page 1000 starts at id $deep_first, expected $deep_expected"
rec "meta deep_cursor page=1000 first_id=$deep_first cursor_chars=${#DEEP_CURSOR}"
wrk_warm "$BASE/api/audio/podcast?limit=50"
for c in $CONNS; do wrk_run list_first "$c" "$BASE/api/audio/podcast?limit=50"; done
for c in $CONNS; do wrk_run list_deep "$c" "$BASE/api/audio/podcast?limit=50&cursor=$DEEP_CURSOR"; done

# Filtered, sorted page (issue 4 filters): measured only if the server really filters and sorts.
FILTER_QS='host=Host%2042&duration%5Bgte%5D=60&sort=-duration,name&limit=50'
fcode=$(curl -sS -o "$WORK/filter.json" -w '%{http_code}' "$BASE/api/audio/podcast?$FILTER_QS")
filter_ok=no
if [ "$fcode" = 200 ] && jq -e '(.items | length) > 0 and all(.items[]; .host == "Host 42" and .duration >= 60)
      and ([.items[].duration] == ([.items[].duration] | sort | reverse))' "$WORK/filter.json" >/dev/null 2>&1; then
  filter_ok=yes
fi
rec "meta filter_supported $filter_ok http=$fcode query=$FILTER_QS"
if [ "$filter_ok" = yes ]; then
  wrk_warm "$BASE/api/audio/podcast?$FILTER_QS"
  for c in $CONNS; do wrk_run list_filtered "$c" "$BASE/api/audio/podcast?$FILTER_QS"; done
else
  log "filters not implemented by this server (HTTP $fcode, or the page was not filtered/sorted): skipped"
fi

# Diagnostic: the same two page shapes, but every request asks for a different page (a random
# start id; a random host of 500), so concurrent requests cannot share one identical read.
MAX_PODCAST=$(psql_q 'SELECT max(id) FROM podcast')
VARIED_DEEP='/api/audio/podcast?limit=50&id%5Bgt%5D={n}'
VARIED_FILTER='/api/audio/podcast?host=Host%20{n}&duration%5Bgte%5D=60&sort=-duration,name&limit=50'
DEEPENV=(BENCH_MODE=template "BENCH_TEMPLATE=$VARIED_DEEP" BENCH_MIN=1 BENCH_MAX_ID=$(( MAX_PODCAST - 100 )))
FILTERENV=(BENCH_MODE=template "BENCH_TEMPLATE=$VARIED_FILTER" BENCH_MIN=0 BENCH_MAX_ID=499)
wrk_warm "$BASE/" "${DEEPENV[@]}"
for c in $CONNS; do wrk_run list_varied_deep "$c" "$BASE/" "${DEEPENV[@]}"; done
for c in $CONNS; do wrk_run list_varied_filtered "$c" "$BASE/" "${FILTERENV[@]}"; done
rss_mark after_list

# ---------------------------------------------------------------- 3. create
log "POST /api/audio/create (valid song, invalid song)"
VALID='{"filetype":"song","name":"Benchmark song","duration":215}'
INVALID='{"filetype":"song","name":"","duration":0,"extra":true}'
[ "$(curl "${auth[@]}" -sS -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' -d "$VALID" "$BASE/api/audio/create")" = 201 ] || die "valid create is not 201"
[ "$(curl "${auth[@]}" -sS -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' -d "$INVALID" "$BASE/api/audio/create")" = 400 ] || die "invalid create is not 400"
wrk_warm "$BASE/api/audio/create" BENCH_MODE=post BENCH_BODY="$VALID"
for c in $CONNS; do wrk_run create_valid "$c" "$BASE/api/audio/create" BENCH_MODE=post BENCH_BODY="$VALID"; done
for c in $CONNS; do wrk_run create_invalid "$c" "$BASE/api/audio/create" BENCH_MODE=post BENCH_BODY="$INVALID"; done
rss_mark after_create

# Diagnostic: what sharing round trips buys. A second server on the same database with
# SHARED_ROUND_TRIPS=off (one statement per request) runs the shareable endpoints at the
# highest connection count; the main server sits idle meanwhile.
c_off=${CONNS##* }
OFF_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
OFF_BASE="http://127.0.0.1:$OFF_PORT"
HOST=127.0.0.1 PORT=$OFF_PORT STORAGE_DIR="$here/$WORK/storage" SHARED_ROUND_TRIPS=off LOG_LEVEL=warning \
  "$BIN" serve >"$WORK/server-unshared.log" 2>&1 &
off_pid=$!
for _ in $(seq 150); do curl -fsS "$OFF_BASE/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
curl -fsS "$OFF_BASE/healthz" >/dev/null || die "the unshared server did not start"
wrk_warm "$OFF_BASE/" "${GETENV[@]}"
wrk_run get_song_unshared "$c_off" "$OFF_BASE/" "${GETENV[@]}"
wrk_run list_first_unshared "$c_off" "$OFF_BASE/api/audio/podcast?limit=50"
wrk_run list_varied_filtered_unshared "$c_off" "$OFF_BASE/" "${FILTERENV[@]}"
wrk_run create_valid_unshared "$c_off" "$OFF_BASE/api/audio/create" BENCH_MODE=post BENCH_BODY="$VALID"
kill "$off_pid"; wait "$off_pid" 2>/dev/null || true

# ---------------------------------------------------------------- 4. upload / download
make_wav() { python3 bench/make_wav.py "$1" "$2"; }  # a random-sample PCM WAV of $2 MiB
xfer() { # xfer NAME EXPECTED_STATUS CURL_ARGS...: records "xfer NAME bytes=N seconds=S status=C"
  local name=$1 want=$2; shift 2
  local sink="$WORK/xfer-body"; [[ $name == download* ]] && sink=/dev/null
  local out; out=$(timeout 600 curl -sS -o "$sink" -w '%{http_code} %{size_upload} %{size_download} %{time_total}' "${auth[@]}" "$@") || die "curl $name"
  read -r code up down secs <<<"$out"
  [ "$code" = "$want" ] || { [ "$sink" = /dev/null ] || head -c 600 "$sink" >&2; die "$name: HTTP $code, expected $want"; }
  local bytes=$up; [ "${up%.*}" = 0 ] && bytes=$down
  rec "xfer $name bytes=${bytes%.*} seconds=$secs status=$code loadavg=$(loadavg | tr ' ' '/')"
  log "$name: $(python3 -c "print(f'{${bytes%.*}/$secs/1e6:.0f} MB/s')")"
  rss_mark "$name"
}
new_song() { curl -fsS "${auth[@]}" -H 'Content-Type: application/json' -d '{"filetype":"song","name":"upload target","duration":600}' "$BASE/api/audio/create" | jq -r .id; }
for mib in "$SMALL_MIB" "$BIG_MIB"; do
  log "upload/download ${mib} MiB"
  wav="$here/$WORK/bench-$mib.wav"
  make_wav "$wav" "$mib"
  # Flush the input file now, or its write-back (1 GiB for the big file) competes with the
  # uploads' own writes and fsync for the disk, and the upload figures measure the benchmark.
  sync
  id=$(new_song); id2=$(new_song)
  # `Expect:` turns off curl's `Expect: 100-continue`: the server sends no `100 Continue`, so curl
  # would wait 1 s before sending the body. The default behaviour is measured once, separately.
  xfer "upload_raw_${mib}MiB" 200 -H 'Expect:' -X PUT -H 'Content-Type: audio/wav' -T "$wav" "$BASE/api/audio/song/$id"
  xfer "upload_multipart_${mib}MiB" 200 -H 'Expect:' -X PUT -F "file=@$wav;type=audio/wav" "$BASE/api/audio/song/$id2"
  # Resumable (tus) in 8 MiB chunks, beside the plain upload (issue 17: at least 80 % of its rate),
  # and the RSS the server adds meanwhile (flat: under 64 MiB for 1 GiB).
  id4=$(new_song)
  rss_before=$(awk '/VmRSS/{print $2}' /proc/$server_pid/status); t0=$(date +%s.%N)
  read -r tbytes tsecs tstatus <<<"$(python3 bench/tus_upload.py "$BASE" "$BENCH_KEY" song "$id4" "$wav" 8)" || die "tus upload"
  t1=$(date +%s.%N)
  rec "xfer upload_tus_8MiB_chunks_${mib}MiB bytes=$tbytes seconds=$tsecs status=$tstatus loadavg=$(loadavg | tr ' ' '/')"
  rec "rss window_upload_tus_${mib}MiB added_kb=$(awk -v a="$t0" -v b="$t1" -v base="$rss_before" '$1>=a && $1<=b && $2-base>max {max=$2-base} END{print max+0}' "$WORK/rss.log")"
  log "upload_tus_8MiB_chunks_${mib}MiB: $(python3 -c "print(f'{$tbytes/$tsecs/1e6:.0f} MB/s')")"
  if [ "$mib" = "$SMALL_MIB" ]; then
    id3=$(new_song)
    xfer "info_upload_raw_${mib}MiB_with_curl_expect_100_continue" 200 -X PUT -H 'Content-Type: audio/wav' -T "$wav" "$BASE/api/audio/song/$id3"
  fi
  size=$(( mib * 1048576 ))
  xfer "download_full_${mib}MiB" 200 "$BASE/api/audio/song/$id/file"
  xfer "download_range_half_${mib}MiB" 206 -H "Range: bytes=$(( size / 4 ))-$(( size / 4 + size / 2 - 1 ))" "$BASE/api/audio/song/$id/file"
  xfer "download_range_suffix_${mib}MiB" 206 -H "Range: bytes=-$(( size / 2 ))" "$BASE/api/audio/song/$id/file"
  if [ "$mib" = "$BIG_MIB" ]; then
    for c in 1 16; do
      wrk_run "range_1MiB_${mib}MiB" "$c" "$BASE/api/audio/song/$id/file" BENCH_MODE=range BENCH_FILE_SIZE=$size BENCH_RANGE_SIZE=1048576
    done
    rss_mark after_range_wrk
  fi
  # Ceiling for uploads: the storage disk itself writing the same size with fsync (dd).
  ddsecs=$(LC_ALL=C dd if=/dev/zero of="$WORK/storage/dd.tmp" bs=1M count="$mib" conv=fsync 2>&1 | sed -nE 's/.* copied, ([0-9.]+) s.*/\1/p')
  rm -f "$WORK/storage/dd.tmp"
  [ -n "$ddsecs" ] && rec "xfer info_disk_dd_fsync_${mib}MiB bytes=$size seconds=$ddsecs status=0 loadavg=$(loadavg | tr ' ' '/')"
  rm -f "$wav" "$WORK/xfer-body"
done
rss_mark end
rec "meta loadavg_end $(loadavg)"
rec "meta storage_tmp_leftovers $(find "$WORK/storage" -name '*.part' 2>/dev/null | wc -l)"
kill "$sampler_pid" 2>/dev/null || true; sampler_pid=""
rec "meta rss_samples $(wc -l <"$WORK/rss.log") max_rss_kb=$(awk 'max<$2{max=$2} END{print max+0}' "$WORK/rss.log")"
rec "meta finished $(date -u +%Y-%m-%dT%H:%M:%SZ) elapsed_s=$(( $(date +%s) - started ))"

# ---------------------------------------------------------------- report
python3 bench/report.py "$RES" "$OUT"
log "wrote $OUT"
[ -s "$WORK/perf-get-song.txt" ] && log "perf profile of GET-by-id at 64 connections: $WORK/perf-get-song.txt"
exit 0
