#!/usr/bin/env python3
"""Scale run (issue 21): does a browsing page cost the same at page 1 and page 10,000, and a GET
by id the same at 5,000 and at BENCH_SONGS rows?

`make bench-scale` (= `bench/scale.py`; BENCH_SONGS=1000000 by default, 10000000 for the big run):

1. starts a throwaway PostgreSQL under bench/.work/scale (tuned like bench/run.sh: fsync=off,
   synchronous_commit=off, shared_buffers=512MB or BENCH_SCALE_SHARED_BUFFERS, autovacuum off)
   and applies migrations/;
2. loads BENCH_SONGS songs with `INSERT … SELECT generate_series` (with the song kind's
   indexes in place, as a real table grows), then VACUUM ANALYZE; reports the load time and the
   database, table and index sizes;
3. reads the table and its indexes into shared_buffers (`pg_prewarm`, BENCH_SCALE_PREWARM=0 skips
   it): a bulk load goes through a small ring of buffers, so right after it every random GET
   would read its pages from the OS page cache, which is the state of a freshly loaded database,
   not of a server that has been serving its working set; the report says how much of the
   database fits in shared_buffers;
4. walks `next_cursor` to page 10,000 of `duration[gte]=600&sort=duration&limit=50` (the song
   kind's browsing field) and measures that page and page 1 alternately (twice each, 1 and 16
   connections, p50/p99), and the guard's answer for an unindexed sort;
5. measures GET of a random song by id (wrk, 16 and 64 connections) and a different filtered page
   per request (1 and 16 connections) against a second server on a second database of 5,000
   songs in the same cluster, alternated with the big one (two rounds, better of each), so that
   both figures come from the same minutes of the same machine.

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
VARIED = "/api/audio/song?duration%5Bgte%5D={n}&sort=duration&limit=50"


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
    # The 5,000-song comparison: its own database in the same cluster, same kinds and key.
    psql(url, "CREATE DATABASE scale_small")
    small_env = dict(env, DATABASE_URL=url.replace("/postgres?", "/scale_small?"))
    subprocess.run([binary, "migrate", "apply"], check=True, env=small_env, capture_output=True)
    small_key = subprocess.run([binary, "keys", "create", "--name", "scale-bench", "--scope", "admin"], check=True, env=small_env,
                               capture_output=True, text=True).stdout.strip().splitlines()[-1]
    psql(small_env["DATABASE_URL"], insert.format(1, 5000) + " VACUUM ANALYZE song;")
    port, small_port = peer.free_port(), peer.free_port()
    base, small_base = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{small_port}"
    storage = os.path.join(WORK, "storage")
    os.makedirs(storage, exist_ok=True)
    server = small_server = None

    def start_server(server_env, server_port, server_base):
        proc = subprocess.Popen([binary, "serve"], env=dict(server_env, HOST="127.0.0.1", PORT=str(server_port), STORAGE_DIR=storage, LOG_LEVEL="warning"),
                                stdout=open(os.path.join(WORK, "server.log"), "a"), stderr=subprocess.STDOUT)
        peer.wait_until_up(server_base + "/healthz", proc)
        return proc

    def pids(proc):
        return [proc.pid] + peer.postgres_pids(pg_dir)

    get_env = {"BENCH_MODE": "random_id", "BENCH_PREFIX": "/api/audio/song/"}
    results = {}
    try:
        peer.log(f"loading {SONGS} songs")
        t0 = time.time()
        step = 1000000
        for lo in range(1, SONGS + 1, step):
            psql(url, insert.format(lo, min(lo + step - 1, SONGS)))
        load_s = time.time() - t0
        t0 = time.time()
        psql(url, "VACUUM ANALYZE song; CHECKPOINT;")
        vacuum_s = time.time() - t0
        sizes = psql(url, "SELECT pg_size_pretty(pg_database_size(current_database())) || '|' || pg_size_pretty(pg_table_size('song')) || '|' || "
                          "pg_size_pretty(pg_indexes_size('song')) || '|' || (SELECT count(*) FROM song)").split("|")
        fits = psql(url, "SELECT round(100 * least(1.0, (SELECT setting::numeric * 8192 FROM pg_settings WHERE name = 'shared_buffers') "
                         "/ greatest(1, pg_total_relation_size('song'))))")
        prewarm = "not read in (BENCH_SCALE_PREWARM=0)"
        if os.environ.get("BENCH_SCALE_PREWARM", "1") != "0":
            t0 = time.time()
            blocks = psql(url, "CREATE EXTENSION IF NOT EXISTS pg_prewarm; SELECT sum(pg_prewarm(c.oid::regclass)) FROM pg_class c "
                               "WHERE c.oid = 'song'::regclass OR c.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid = 'song'::regclass)")
            prewarm = f"read into shared_buffers with `pg_prewarm` ({int(blocks.splitlines()[-1]):,} blocks, {time.time() - t0:.0f} s)"
        server = start_server(env, port, base)
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
                    results[f"{label}_{c}"].append(peer.measure(base, path, {"BENCH_KEY": key}, c, pids(server)))
        small_server = start_server(small_env, small_port, small_base)
        peer.log("GET by id, 5,000 songs and", SONGS, "alternated")
        def alternated(name, conns, small_load, big_load):
            # The same load on the 5,000-song server and on the big one, alternated twice; the better run of each.
            for c in conns:
                small_runs, big_runs = [], []
                for _ in range(2):
                    small_runs.append(peer.measure(small_base, "/", dict(small_load, BENCH_KEY=small_key), c, pids(small_server)))
                    big_runs.append(peer.measure(base, "/", dict(big_load, BENCH_KEY=key), c, pids(server)))
                results[f"{name}_small_{c}"] = max(small_runs, key=lambda r: r["rps"])
                results[f"{name}_big_{c}"] = max(big_runs, key=lambda r: r["rps"])

        alternated("get", (16, 64), dict(get_env, BENCH_MAX_ID="5000"), dict(get_env, BENCH_MAX_ID=str(SONGS)))
        # A different page per request, as a person browsing asks: concurrent ones share statements,
        # which is where a plan that costs more than it reads (JIT compiling) would show.
        varied_env = {"BENCH_MODE": "template", "BENCH_TEMPLATE": VARIED, "BENCH_MIN": "1", "BENCH_MAX_ID": "3600"}
        alternated("varied", (1, 16), varied_env, varied_env)
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
        for proc in (server, small_server):
            if proc:
                proc.terminate()
                proc.wait(10)
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
        f"| database size | {sizes[0]} (song table {sizes[1]}, its indexes {sizes[2]}); shared_buffers {shared_buffers}, which holds {fits} % of the table and its indexes |",
        f"| before measuring | the table and its indexes {prewarm} |",
        f"| walking `next_cursor` to page {DEEP:,} | {walk_s:.1f} s ({(DEEP - 1) / walk_s:,.0f} pages/s, one connection) |", "",
        f"Page: `{PAGE}` (browsing field `duration`), page 1 and page {DEEP:,} (its cursor), the same URL repeated, alternated, two runs each of {DURATION} s; p50/p99 is the lower of the two runs.", "",
        "| conns | page 1 req/s | page 1 p50 / p99 ms | page 10,000 req/s | page 10,000 p50 / p99 ms | p50 ratio | p99 ratio |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for c in (1, 16):
        f, d = results[f"first_{c}"], results[f"deep_{c}"]
        lines.append(f"| {c} | {max(r['rps'] for r in f):,.0f} | {best(f, 'p50'):.2f} / {best(f, 'p99'):.2f} | {max(r['rps'] for r in d):,.0f} | "
                     f"{best(d, 'p50'):.2f} / {best(d, 'p99'):.2f} | {best(d, 'p50') / best(f, 'p50'):.2f} | {best(d, 'p99') / best(f, 'p99'):.2f} |")
    lines += ["", "GET one song by random id, a second server on a 5,000-song database in the same cluster, alternated with the big one (better of two runs each):", "",
              "| conns | 5,000 songs req/s | p99 ms | " + f"{SONGS:,} songs req/s | p99 ms | ratio |", "|---:|---:|---:|---:|---:|---:|"]
    for c in (16, 64):
        s, b = results[f"get_small_{c}"], results[f"get_big_{c}"]
        lines.append(f"| {c} | {s['rps']:,.0f} | {s['p99']:.2f} | {b['rps']:,.0f} | {b['p99']:.2f} | {b['rps'] / s['rps']:.2f} |")
    lines += ["", f"A different page per request (`{VARIED}`, n random in 1–3600), the same two servers alternated (better of two runs each):", "",
              "| conns | 5,000 songs req/s | p50 / p99 ms | " + f"{SONGS:,} songs req/s | p50 / p99 ms | ratio |", "|---:|---:|---:|---:|---:|---:|"]
    for c in (1, 16):
        s, b = results[f"varied_small_{c}"], results[f"varied_big_{c}"]
        lines.append(f"| {c} | {s['rps']:,.0f} | {s['p50']:.2f} / {s['p99']:.2f} | {b['rps']:,.0f} | {b['p50']:.2f} / {b['p99']:.2f} | {b['rps'] / s['rps']:.2f} |")
    lines += ["", f"Descending browsing page (`sort=-duration`), one request: {served_status} in {served_ms:.1f} ms. "
              f"An unindexed sort (`sort=name`), one request, {guard_ms:.1f} ms: {guard}"]
    open(out, "w").write("\n".join(lines) + "\n")
    peer.log("wrote", out)


if __name__ == "__main__":
    main()
