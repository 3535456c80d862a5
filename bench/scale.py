#!/usr/bin/env python3
"""Scale run (issue 21): does a browsing page cost the same at page 1 and page 10,000, and a GET
by id the same at 5,000 and at BENCH_SONGS rows?

`make bench-scale` (= `bench/scale.py`; BENCH_SONGS=1000000 by default, 10000000 for the big run):

1. starts a throwaway PostgreSQL under bench/.work/scale (tuned like bench/run.sh: fsync=off,
   synchronous_commit=off, shared_buffers=512MB or BENCH_SCALE_SHARED_BUFFERS, autovacuum off)
   and applies migrations/;
2. loads 5,000 songs and measures GET of a random song by id (wrk, 16 and 64 connections);
3. loads the rest up to BENCH_SONGS with `INSERT … SELECT generate_series` (with the song kind's
   indexes in place, as a real table grows), then VACUUM ANALYZE; reports the load time and the
   database, table and index sizes;
4. walks `next_cursor` to page 10,000 of `duration[gte]=600&sort=duration&limit=50` (the song
   kind's browsing field) and measures that page and page 1 alternately (twice each, 1 and 16
   connections, p50/p99), then GET by id again, and the guard's answer for an unindexed sort.

Writes BENCH_OUT (default bench/results/<date>-scale-<songs>.md). Loopback only; bounded runs.
"""
import datetime
import http.client
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peer  # noqa: E402  (shared helpers: free_port, wait_until_up, wrk, measure, log)

HERE = peer.HERE
WORK = os.path.join(HERE, "bench", ".work", "scale")
SONGS = int(os.environ.get("BENCH_SONGS", "1000000"))
DEEP = int(os.environ.get("BENCH_SCALE_PAGE", "10000"))
DURATION = int(os.environ.get("BENCH_PEER_DURATION", "8"))
PAGE = "/api/audio/song?duration%5Bgte%5D=600&sort=duration&limit=50"


def psql(url, sql):
    return subprocess.run(["psql", "-X", "-q", "-tA", "-v", "ON_ERROR_STOP=1", url], input=sql, text=True, check=True,
                          capture_output=True).stdout.strip()


def walk(base, pages, auth):
    """The cursor of page `pages` (walking next_cursor on one kept-alive connection)."""
    parsed = urllib.parse.urlparse(base)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
    cursor = None
    for _ in range(pages - 1):
        conn.request("GET", PAGE + (f"&cursor={cursor}" if cursor else ""), headers=auth)
        body = json.loads(conn.getresponse().read())
        cursor = body["next_cursor"]
    conn.close()
    return cursor


def main():
    binary = os.environ.get("BENCH_BIN") or os.path.join(HERE, ".build", "release", "audio-server")
    if not os.access(binary, os.X_OK):
        raise SystemExit(f"no release binary at {binary}: swift build -c release --product audio-server, or set BENCH_BIN")
    subprocess.run([os.path.join(HERE, "scripts", "pgtmp.sh"), "remove", os.path.join(WORK, "pg")], capture_output=True)
    os.makedirs(WORK, exist_ok=True)
    started = datetime.datetime.now(datetime.timezone.utc)
    load_start = open("/proc/loadavg").read().split()[:3]
    pgtmp = os.path.join(HERE, "scripts", "pgtmp.sh")
    pg_dir = os.path.join(WORK, "pg")
    url = subprocess.run([pgtmp, "start", pg_dir], check=True, capture_output=True, text=True).stdout.strip()
    shared_buffers = os.environ.get("BENCH_SCALE_SHARED_BUFFERS", "512MB")
    psql(url, f"ALTER SYSTEM SET shared_buffers = '{shared_buffers}'; ALTER SYSTEM SET effective_cache_size = '4GB';"
              "ALTER SYSTEM SET work_mem = '16MB'; ALTER SYSTEM SET maintenance_work_mem = '256MB';"
              "ALTER SYSTEM SET max_wal_size = '8GB'; ALTER SYSTEM SET checkpoint_timeout = '30min'; ALTER SYSTEM SET autovacuum = 'off';")
    subprocess.run([pgtmp, "stop", pg_dir], check=True, capture_output=True)
    url = subprocess.run([pgtmp, "start", pg_dir], check=True, capture_output=True, text=True).stdout.strip()
    env = dict(os.environ, DATABASE_URL=url, KINDS_DIR=os.path.join(HERE, "kinds"), MIGRATIONS_DIR=os.path.join(HERE, "migrations"))
    env.setdefault("SECRET_KEY", "scale-bench-secret-key-of-at-least-32-characters")
    subprocess.run([binary, "migrate", "apply"], check=True, env=env, capture_output=True)
    # Access control on, as in bench/peer.py: every request carries an admin API key.
    key = subprocess.run([binary, "keys", "create", "--name", "scale-bench", "--scope", "admin"], check=True, env=env,
                         capture_output=True, text=True).stdout.strip().splitlines()[-1]
    auth = {"Authorization": f"Bearer {key}"}
    insert = "INSERT INTO song (name, duration) SELECT 'Song number ' || g, 1 + (g * 7919) % 3600 FROM generate_series({}::bigint, {}) g;"
    psql(url, insert.format(1, 5000) + " VACUUM ANALYZE song;")
    port = peer.free_port()
    base = f"http://127.0.0.1:{port}"
    storage = os.path.join(WORK, "storage")
    os.makedirs(storage, exist_ok=True)
    server = None

    def start_server():
        proc = subprocess.Popen([binary, "serve"], env=dict(env, HOST="127.0.0.1", PORT=str(port), STORAGE_DIR=storage, LOG_LEVEL="warning"),
                                stdout=open(os.path.join(WORK, "server.log"), "a"), stderr=subprocess.STDOUT)
        peer.wait_until_up(base + "/healthz", proc)
        return proc

    def pids():
        return [server.pid] + peer.postgres_pids(pg_dir)

    get_env = {"BENCH_MODE": "random_id", "BENCH_PREFIX": "/api/audio/song/", "BENCH_KEY": key}
    results = {}
    try:
        server = start_server()
        for c in (16, 64):
            results[f"get_small_{c}"] = max((peer.measure(base, "/", dict(get_env, BENCH_MAX_ID="5000"), c, pids()) for _ in range(2)), key=lambda r: r["rps"])
        server.terminate()
        server.wait(10)
        peer.log(f"loading {SONGS - 5000} more songs")
        t0 = time.time()
        if SONGS > 5000:
            step = 1000000
            for lo in range(5001, SONGS + 1, step):
                psql(url, insert.format(lo, min(lo + step - 1, SONGS)))
        load_s = time.time() - t0
        t0 = time.time()
        psql(url, "VACUUM ANALYZE song; CHECKPOINT;")
        vacuum_s = time.time() - t0
        sizes = psql(url, "SELECT pg_size_pretty(pg_database_size(current_database())) || '|' || pg_size_pretty(pg_table_size('song')) || '|' || "
                          "pg_size_pretty(pg_indexes_size('song')) || '|' || (SELECT count(*) FROM song)").split("|")
        server = start_server()
        peer.log("walking to page", DEEP)
        t0 = time.time()
        cursor = walk(base, DEEP, auth)
        walk_s = time.time() - t0
        deep = PAGE + "&cursor=" + cursor
        for c in (1, 16):
            for label, path in (("first", PAGE), ("deep", deep)):
                results[f"{label}_{c}"] = []
            for _ in range(2):
                for label, path in (("first", PAGE), ("deep", deep)):
                    results[f"{label}_{c}"].append(peer.measure(base, path, {"BENCH_KEY": key}, c, pids()))
        for c in (16, 64):
            results[f"get_big_{c}"] = max((peer.measure(base, "/", dict(get_env, BENCH_MAX_ID=str(SONGS)), c, pids()) for _ in range(2)), key=lambda r: r["rps"])
        t0 = time.time()
        with urllib.request.urlopen(urllib.request.Request(base + "/api/audio/song?duration%5Bgte%5D=600&sort=-duration&limit=50", headers=auth)) as r:
            served_status = r.status
        served_ms = (time.time() - t0) * 1000
        t0 = time.time()
        try:
            urllib.request.urlopen(urllib.request.Request(base + "/api/audio/song?sort=name&limit=50", headers=auth))
            guard = "200 (not refused)"
        except urllib.error.HTTPError as e:
            guard = f"{e.code} {e.headers.get('Content-Type')}: {json.loads(e.read()).get('detail')}"
        guard_ms = (time.time() - t0) * 1000
    finally:
        if server:
            server.terminate()
            server.wait(10)
        if os.environ.get("BENCH_KEEP") != "1":
            subprocess.run([pgtmp, "remove", pg_dir], capture_output=True)
        else:
            subprocess.run([pgtmp, "stop", pg_dir], capture_output=True)
    json.dump(results, open(os.path.join(WORK, "results.json"), "w"), indent=1)
    finished = datetime.datetime.now(datetime.timezone.utc)
    commit = subprocess.run(["git", "-C", HERE, "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True).stdout.strip()
    out = os.environ.get("BENCH_OUT") or os.path.join(HERE, "bench", "results", f"{started:%Y-%m-%d}-scale-{SONGS}.md")
    best = lambda runs, key: min(r[key] for r in runs)
    lines = [
        f"# Scale run {started:%Y-%m-%d}: {SONGS:,} songs", "",
        f"Produced by `{os.environ.get('BENCH_SCALE_COMMAND', f'BENCH_SONGS={SONGS} make bench-scale')}` (`bench/scale.py`), binary `{binary}`, commit `{commit}`.",
        f"Load average: start {' '.join(load_start)}; end {' '.join(open('/proc/loadavg').read().split()[:3])}. Started {started:%H:%M:%SZ}, finished {finished:%H:%M:%SZ}.", "",
        "| | |", "|---|---|",
        f"| rows | {sizes[3]} songs |",
        f"| load (`INSERT … SELECT generate_series`, song's pkey and both browsing indexes in place) | {load_s:.0f} s, then VACUUM ANALYZE + CHECKPOINT {vacuum_s:.0f} s |",
        f"| database size | {sizes[0]} (song table {sizes[1]}, its indexes {sizes[2]}); shared_buffers {shared_buffers} |",
        f"| walking `next_cursor` to page {DEEP:,} | {walk_s:.1f} s ({(DEEP - 1) / walk_s:,.0f} pages/s, one connection) |", "",
        f"Page: `{PAGE}` (browsing field `duration`), page 1 and page {DEEP:,} (its cursor), the same URL repeated, alternated, two runs each of {DURATION} s; p50/p99 is the lower of the two runs.", "",
        "| conns | page 1 req/s | page 1 p50 / p99 ms | page 10,000 req/s | page 10,000 p50 / p99 ms | p50 ratio | p99 ratio |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for c in (1, 16):
        f, d = results[f"first_{c}"], results[f"deep_{c}"]
        lines.append(f"| {c} | {max(r['rps'] for r in f):,.0f} | {best(f, 'p50'):.2f} / {best(f, 'p99'):.2f} | {max(r['rps'] for r in d):,.0f} | "
                     f"{best(d, 'p50'):.2f} / {best(d, 'p99'):.2f} | {best(d, 'p50') / best(f, 'p50'):.2f} | {best(d, 'p99') / best(f, 'p99'):.2f} |")
    lines += ["", "GET one song by random id (better of two runs):", "",
              "| conns | 5,000 songs req/s | p99 ms | " + f"{SONGS:,} songs req/s | p99 ms | ratio |", "|---:|---:|---:|---:|---:|---:|"]
    for c in (16, 64):
        s, b = results[f"get_small_{c}"], results[f"get_big_{c}"]
        lines.append(f"| {c} | {s['rps']:,.0f} | {s['p99']:.2f} | {b['rps']:,.0f} | {b['p99']:.2f} | {b['rps'] / s['rps']:.2f} |")
    lines += ["", f"Descending browsing page (`sort=-duration`), one request: {served_status} in {served_ms:.1f} ms. "
              f"An unindexed sort (`sort=name`), one request, {guard_ms:.1f} ms: {guard}"]
    open(out, "w").write("\n".join(lines) + "\n")
    peer.log("wrote", out)


if __name__ == "__main__":
    main()
