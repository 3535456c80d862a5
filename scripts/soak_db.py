#!/usr/bin/env python3
"""Soak: the server under mixed traffic while PostgreSQL restarts, stops, and refuses logins.

Run by `make test` (scripts/soak-db.sh starts the throwaway cluster and passes its folder). The
server must stay up through every fault, answer 503 with Retry-After while the database is away,
answer every request within a bounded time, and serve 200s again within about a second of the
database's return. Loopback only; the load is open-loop at RATE requests/s for DURATION seconds.

usage: soak_db.py BINARY CLUSTER_DIR DATABASE_URL
"""
import http.client
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

binary, cluster, database_url = sys.argv[1:4]
here = os.path.dirname(os.path.abspath(__file__))
repo = os.path.dirname(here)
RATE = 60                 # requests per second, open loop
REQUEST_TIMEOUT = 20      # a request with no answer by then counts as never answered
ANSWER_BOUND = 6.0        # every request answered within this (5 s lease timeout + slack)
RECOVERY_BOUND = 1.5      # first 2xx after the database is back, seconds

failures = []
passed = 0


def check(ok, what):
    global passed
    if ok:
        passed += 1
        print(f"  ok: {what}")
    else:
        failures.append(what)
        print(f"  FAIL: {what}")


def pg(*args):
    subprocess.run([os.path.join(here, "pgtmp.sh"), *args], check=True, stdout=subprocess.DEVNULL)


def psql(sql):
    port = open(os.path.join(cluster, "port")).read().strip()
    subprocess.run(["psql", "-h", cluster, "-p", port, "-U", "postgres", "-d", "postgres", "-qAtc", sql],
                   check=True, stdout=subprocess.DEVNULL)


def set_auth(mode):
    """trust, or scram-sha-256 for TCP (a password the server does not have): new logins are refused."""
    hba = os.path.join(cluster, "data", "pg_hba.conf")
    lines = ["local all all trust", f"host all all 127.0.0.1/32 {mode}", f"host all all ::1/128 {mode}"]
    with open(hba, "w") as f:
        f.write("\n".join(lines) + "\n")
    psql("SELECT pg_reload_conf()")
    if mode != "trust":
        # Logins are checked only when a connection opens: end the server's open ones.
        psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()")


port = int(subprocess.check_output([sys.executable, "-c",
    "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])"]).strip())
work = tempfile.mkdtemp(prefix="audio-soak-")
env = dict(os.environ, DATABASE_URL=database_url, PORT=str(port), STORAGE_DIR=os.path.join(work, "storage"),
           SECRET_KEY="soak-test-secret-key-of-at-least-32-chars", LOG_LEVEL="info", DB_POOL_SIZE="16")
subprocess.run([binary, "migrate", "apply"], env=env, cwd=repo, check=True, stdout=subprocess.DEVNULL)
# Writes need a key (the secret is the last line `keys create` prints).
admin_key = subprocess.run([binary, "keys", "create", "--name", "soak", "--scope", "admin"], env=env, cwd=repo,
                           check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
log = open(os.path.join(work, "server.log"), "w")
server = subprocess.Popen([binary, "serve"], env=env, cwd=repo, stdout=log, stderr=subprocess.STDOUT)


def request(method, path, body=None):
    started = time.monotonic()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
        headers = {"Content-Type": "application/json"} if body else {}
        headers["Authorization"] = f"Bearer {admin_key}"
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        payload = response.read()
        status, retry = response.status, response.getheader("Retry-After")
        conn.close()
    except Exception as error:  # no answer at all
        status, retry, payload = None, None, str(error).encode()
    return started, time.monotonic(), status, retry, payload


for _ in range(200):
    try:
        if request("GET", "/healthz")[2] == 200:
            break
    except Exception:
        pass
    time.sleep(0.1)
else:
    print("soak: the server did not come up"); sys.exit(1)

ids = []
for i in range(20):
    _, _, status, _, payload = request("POST", "/api/audio/create", json.dumps({"filetype": "song", "name": f"seed {i}", "duration": 100 + i}))
    if status == 201:
        ids.append(json.loads(payload)["id"])
check(len(ids) == 20, "seeded 20 songs")

results = []
results_lock = threading.Lock()
events = []  # (time, what)
stop = threading.Event()


def one(n):
    r = random.random()
    if r < 0.6:
        out = request("GET", f"/api/audio/song/{random.choice(ids)}")
    elif r < 0.85:
        out = request("POST", "/api/audio/create", json.dumps({"filetype": "song", "name": f"soak {n}", "duration": 60}))
    else:
        out = request("PATCH", f"/api/audio/song/{random.choice(ids)}", json.dumps({"duration": random.randint(1, 999)}))
    with results_lock:
        results.append(out)


def load(seconds):
    with ThreadPoolExecutor(max_workers=256) as pool:
        start = time.monotonic()
        n = 0
        while not stop.is_set() and time.monotonic() - start < seconds:
            pool.submit(one, n)
            n += 1
            next_at = start + n / RATE
            time.sleep(max(0, next_at - time.monotonic()))


def mark(what):
    events.append((time.monotonic(), what))
    print(f"  {time.strftime('%H:%M:%S')} {what}")


def faults():
    time.sleep(2)
    for i in range(3):                       # restarts under load (the crash of the issue)
        mark(f"restart {i + 1}"); pg("stop", cluster); pg("start", cluster); mark(f"back {i + 1}")
        time.sleep(3)
    mark("stop for 12 s"); pg("stop", cluster)
    time.sleep(12)
    pg("start", cluster); mark("back after outage")
    time.sleep(4)
    mark("logins refused"); set_auth("scram-sha-256")
    # A command started now says why it cannot connect, not just that it could not.
    said = subprocess.run([binary, "migrate", "status"], env=env, cwd=repo, capture_output=True, text=True, timeout=60)
    check(said.returncode != 0 and "password" in said.stderr, f"migrate status names the refused login: {said.stderr.strip()[-200:]!r}")
    time.sleep(2)
    set_auth("trust"); mark("logins allowed")
    time.sleep(5)
    stop.set()


print(f"soak: {RATE} req/s mixing GET, create and PATCH; PostgreSQL restarted 3 times, stopped 12 s, logins refused 5 s")
loader = threading.Thread(target=load, args=(120,))
loader.start()
faults()
loader.join()
time.sleep(1)

alive = server.poll() is None
check(alive, "the server process is still running after every fault")
unanswered = [r for r in results if r[2] is None]
check(not unanswered, f"every request got an answer ({len(unanswered)} of {len(results)} did not: {unanswered[:1]})")
errors = [r for r in results if r[2] is not None and r[2] >= 500 and r[2] != 503]
check(not errors, f"no 5xx other than 503 ({len(errors)}: {[(e[2], e[4][:200]) for e in errors[:2]]})")
no_retry = [r for r in results if r[2] == 503 and not r[3]]
check(not no_retry, f"every 503 carries Retry-After ({len(no_retry)} do not)")
slow = [r for r in results if r[2] is not None and r[1] - r[0] > ANSWER_BOUND]
worst = max((r[1] - r[0] for r in results if r[2] is not None), default=0)
check(not slow, f"every request answered within {ANSWER_BOUND} s (worst {worst:.2f} s, {len(slow)} slower)")

t_stop = next(t for t, w in events if w.startswith("stop for"))
t_back = next(t for t, w in events if w == "back after outage")
during = [r for r in results if t_stop + 1.5 < r[0] < t_back - 0.5]
check(during and all(r[2] == 503 for r in during), f"503 while the database is stopped ({len(during)} requests, statuses {sorted(set(r[2] for r in during))})")
first_ok = min((r[1] for r in results if r[0] >= t_back and r[2] is not None and r[2] < 300), default=None)
recovery = None if first_ok is None else first_ok - t_back
check(recovery is not None and recovery <= RECOVERY_BOUND, f"first 2xx within {RECOVERY_BOUND} s of the database's return (took {recovery if recovery is None else round(recovery, 2)} s)")
t_refuse = next(t for t, w in events if w == "logins refused")
t_allow = next(t for t, w in events if w == "logins allowed")
refused = [r for r in results if t_refuse + 1.5 < r[0] < t_allow - 0.5]
check(refused and all(r[2] == 503 for r in refused), f"503 while logins are refused ({len(refused)} requests, statuses {sorted(set(r[2] for r in refused))})")
first_ok = min((r[1] for r in results if r[0] >= t_allow and r[2] is not None and r[2] < 300), default=None)
check(first_ok is not None and first_ok - t_allow <= RECOVERY_BOUND + 1, f"2xx again within {RECOVERY_BOUND + 1} s of logins being allowed")
tail = [r for r in results if r[0] > t_allow + 2.5]
check(tail and all(r[2] is not None and r[2] < 300 for r in tail), f"only 2xx once the database is healthy again ({len(tail)} requests, statuses {sorted(set(r[2] for r in tail if r[2]))})")
print(f"soak: {len(results)} requests, {sum(1 for r in results if r[2] == 503)} answered 503")

server.terminate()
try:
    server.wait(timeout=15)
except subprocess.TimeoutExpired:
    server.kill()
log.close()
if failures:
    print("server log (last 40 lines):")
    print("".join(open(os.path.join(work, "server.log")).readlines()[-40:]))
print(f"soak: {passed} passed, {len(failures)} failed")
sys.exit(1 if failures else 0)
