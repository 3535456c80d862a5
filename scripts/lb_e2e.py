#!/usr/bin/env python3
"""Load through the load balancer while servers are stopped and killed (scripts/lb-e2e.sh).

Creates songs, uploads small WAV files to some, reads them back, from several threads, for a
bounded time and count, while the shell's events run at given seconds (stop a server, kill one,
restart one). Then checks: every acknowledged create is readable through the balancer with what
was sent, every acknowledged upload serves the same bytes, and no response was a 5xx other than
the documented 503s -- except, with --allow-in-flight, a gateway error (502/504) for a request
that was in flight on the server at the instant it was killed (its write was not acknowledged).
"""
import argparse, hashlib, io, json, os, random, struct, subprocess, sys, threading, time, urllib.request, urllib.error, wave

parser = argparse.ArgumentParser()
parser.add_argument("--duration", type=float, default=10)
parser.add_argument("--max-ops", type=int, default=3000)
parser.add_argument("--threads", type=int, default=8)
parser.add_argument("--event", action="append", default=[], help="SECONDS:SHELL COMMAND")
parser.add_argument("--kill-at", type=float, default=None, help="the second of a SIGKILL event")
parser.add_argument("--allow-in-flight", action="store_true")
args = parser.parse_args()
base = os.environ["LB_URL"]
key = os.environ["ADMIN_KEY"]

def request(method, path, body=None, headers=None, timeout=30):
    h = {"Authorization": "Bearer " + key}
    h.update(headers or {})
    req = urllib.request.Request(base + path, data=body, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except Exception as e:  # a reset connection: the write was not acknowledged
        return 0, str(e).encode()

def wav(seconds, seed):
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1); w.setsampwidth(2); w.setframerate(8000)
        rnd = random.Random(seed)
        w.writeframes(b"".join(struct.pack("<h", rnd.randint(-2000, 2000)) for _ in range(8000 * seconds)))
    return buf.getvalue()

lock = threading.Lock()
created = {}    # id -> name
uploaded = {}   # id -> sha256
outcomes = []   # (start, end, method, status)
ops = [0]
started = time.monotonic()
stop = threading.Event()

def note(t0, method, status):
    with lock:
        outcomes.append((t0 - started, time.monotonic() - started, method, status))

def worker(n):
    rnd = random.Random(n)
    while not stop.is_set():
        with lock:
            if ops[0] >= args.max_ops: return
            ops[0] += 1
            i = ops[0]
        if time.monotonic() - started > args.duration: return
        name = f"lb-{os.getpid()}-{n}-{i}"
        t0 = time.monotonic()
        status, body = request("POST", "/api/audio/create", json.dumps({"filetype": "song", "name": name, "duration": 1}).encode(),
                               {"Content-Type": "application/json"})
        note(t0, "POST", status)
        if status != 201: continue
        rid = json.loads(body)["id"]
        with lock: created[rid] = name
        if i % 3 == 0:
            data = wav(1, i)
            t0 = time.monotonic()
            status, _ = request("PUT", f"/api/audio/song/{rid}", data, {"Content-Type": "audio/wav"})
            note(t0, "PUT", status)
            if status == 200:
                with lock: uploaded[rid] = hashlib.sha256(data).hexdigest()
        t0 = time.monotonic()
        status, _ = request("GET", f"/api/audio/song/{rid}")
        note(t0, "GET", status)

def events():
    for spec in sorted(args.event, key=lambda s: float(s.split(":", 1)[0])):
        at, command = spec.split(":", 1)
        delay = float(at) - (time.monotonic() - started)
        if delay > 0: time.sleep(delay)
        print(f"  t={time.monotonic() - started:5.2f}s  {command}", flush=True)
        subprocess.run(command, shell=True, check=True)

threads = [threading.Thread(target=worker, args=(n,)) for n in range(args.threads)]
chaos = threading.Thread(target=events)
for t in threads + [chaos]: t.start()
for t in threads + [chaos]: t.join(timeout=args.duration + 120)
stop.set()

problems = []
for (t0, t1, method, status) in outcomes:
    if status in (0, 502, 504):
        in_flight = args.allow_in_flight and args.kill_at is not None and t0 <= args.kill_at + 0.5 and t1 >= args.kill_at - 0.5
        if not in_flight: problems.append(f"{method} at {t0:.2f}-{t1:.2f}s: {status or 'connection error'}")
    elif status >= 500 and status != 503:
        problems.append(f"{method} at {t0:.2f}s: {status}")

# Every acknowledged write is there, read through the balancer (either server may answer).
missing = 0
for rid, name in created.items():
    status, body = request("GET", f"/api/audio/song/{rid}")
    if status != 200 or json.loads(body).get("name") != name: missing += 1; problems.append(f"record {rid}: {status}")
for rid, digest in uploaded.items():
    status, body = request("GET", f"/api/audio/song/{rid}/file")
    if status != 200 or hashlib.sha256(body).hexdigest() != digest: missing += 1; problems.append(f"file of {rid}: {status}")

counts = {}
for (_, _, _, s) in outcomes: counts[s] = counts.get(s, 0) + 1
print(f"  {len(outcomes)} requests {dict(sorted(counts.items()))}; {len(created)} creates and {len(uploaded)} uploads acknowledged, {missing} missing afterwards")
if problems:
    print("  FAILED:\n    " + "\n    ".join(problems[:20]), file=sys.stderr)
    sys.exit(1)
