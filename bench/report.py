#!/usr/bin/env python3
"""Turns bench/.work/results.txt (written by bench/run.sh) into the Markdown report.

usage: bench/report.py RESULTS.txt OUT.md

Line formats of RESULTS.txt:
  meta KEY free text
  wrk NAME CONNS key=value ...        (from the WRK_RESULT line of bench/lua/bench.lua)
  pgbench NAME CONNS tps=X lat_ms=Y failed=N
  xfer NAME bytes=N seconds=S status=C
  rss PHASE hwm_kb=N rss_kb=N
"""
import os
import platform
import subprocess
import sys
from collections import OrderedDict, defaultdict

# Targets of issue 6 (2-core machine, wrk sharing the cores).
GET_COMBINED_RATIO = 0.75
FLASK_REFERENCE_RPS = 575.0
FLASK_FACTOR = 15.0
LIST_COMBINED_RATIO = 0.40
CREATE_INSERT_RATIO = 0.50
P99_MS_AT_16 = 20.0
TRANSFER_MBPS = 300.0          # MB = 10^6 bytes
PEAK_RSS_MIB = 150.0
UPLOAD_RSS_GROWTH_MIB = 64.0   # issue 3: a 1 GiB upload raises peak RSS by less than 64 MiB
TARGET_CONNS = 64


def kv(tokens):
    out = {}
    for t in tokens:
        if "=" in t:
            k, v = t.split("=", 1)
            out[k] = v
    return out


def num(x, default=0.0):
    try:
        return float(x)
    except (TypeError, ValueError):
        return default


def parse(path):
    meta = OrderedDict()
    wrk = {}
    pgb = {}
    xfer = OrderedDict()
    rss = OrderedDict()
    with open(path) as f:
        for line in f:
            parts = line.strip().split()
            if not parts:
                continue
            kind = parts[0]
            if kind == "meta" and len(parts) >= 2:
                key = parts[1]
                val = " ".join(parts[2:])
                if key in meta:
                    meta[key] = meta[key] + "; " + val
                else:
                    meta[key] = val
            elif kind == "wrk" and len(parts) >= 3:
                wrk[(parts[1], int(parts[2]))] = kv(parts[3:])
            elif kind == "pgbench" and len(parts) >= 3:
                pgb[(parts[1], int(parts[2]))] = kv(parts[3:])
            elif kind == "xfer" and len(parts) >= 2:
                xfer[parts[1]] = kv(parts[2:])
            elif kind == "rss" and len(parts) >= 2:
                rss[parts[1]] = kv(parts[2:])
    return meta, wrk, pgb, xfer, rss


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=30).stdout.strip()
    except Exception:
        return ""


def machine():
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal"):
                    mem = "%.1f GiB" % (int(line.split()[1]) / 1048576)
                    break
    except OSError:
        pass
    return {
        "nproc": str(os.cpu_count()),
        "model": model or platform.processor(),
        "memory": mem,
        "kernel": platform.release(),
        "swift": sh("swift --version 2>&1 | head -1"),
        "wrk": sh("wrk --version 2>&1 | head -1").split(" Copyright")[0],
        "commit": sh("git rev-parse --short=12 HEAD"),
        "dirty": sh("git status --porcelain --untracked-files=no | wc -l"),
    }


def fmt(x, digits=0):
    if x is None:
        return "—"
    return f"{x:,.{digits}f}"


def pf(ok):
    if ok is None:
        return "—"
    return "PASS" if ok else "**MISS**"


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    meta, wrk, pgb, xfer, rss = parse(sys.argv[1])
    conns = [int(c) for c in meta.get("connections", "1 16 64").split()]
    m = machine()

    def rps(name, c):
        r = wrk.get((name, c))
        return num(r["rps"]) if r else None

    def tps(name, c):
        r = pgb.get((name, c))
        return num(r["tps"]) if r else None

    def combined(c, mode="select_extended"):
        a, b = tps(mode, c), rps("static", c)
        if not a or not b:
            return None
        return 1.0 / (1.0 / a + 1.0 / b)

    lines = []
    w = lines.append
    date = meta.get("started", "")[:10]
    w(f"# Benchmark results {date}")
    w("")
    w("Produced by `make bench` (`bench/run.sh`, then `bench/report.py`). Everything — server, PostgreSQL, "
      "wrk and pgbench — ran on this one machine over loopback, sharing its cores.")
    w("")
    w("## Machine and run")
    w("")
    w("| | |")
    w("|---|---|")
    w(f"| CPU | {m['nproc']} × {m['model']} |")
    w(f"| memory | {m['memory']} |")
    w(f"| kernel | {m['kernel']} |")
    binary = meta.get("binary", "release build, `.build-release/release/audio-server`")
    w(f"| toolchain | {m['swift']} |")
    w(f"| server binary | {binary} |")
    dirty = f" + {m['dirty']} uncommitted change(s) to tracked files" if m["dirty"] not in ("", "0") else ""
    w(f"| commit | `{m['commit']}`{dirty} |")
    w(f"| PostgreSQL | {meta.get('postgres', '?')} (throwaway cluster, no disk flush per commit) |")
    w(f"| load generator | {m['wrk']}; 2 threads (1 at 1 connection); pgbench -j 2 |")
    w(f"| catalogue | {meta.get('rows', '?')} (loaded in {meta.get('load_s', '?')} s); pgbench scale 10 in database `pgbench` |")
    w(f"| each run | {meta.get('duration_s', '?')} s at {', '.join(map(str, conns))} connections |")
    w(f"| load average (1/5/15 min) | start {meta.get('loadavg_start', '?')}; end {meta.get('loadavg_end', '?')} — per run below; "
      "the per-run figures include the benchmark's own runnable processes (64 connections = up to 64 busy "
      "PostgreSQL backends), so only the start figure and the `top` line measure other users of the machine |")
    w(f"| started / finished | {meta.get('started', '?')} / {meta.get('finished', '?')} |")
    if "top_at_start" in meta:
        w(f"| busiest processes at start (`top`) | {meta['top_at_start']} |")
    w("")

    # ---------------------------------------------------------------- targets
    tc = TARGET_CONNS if TARGET_CONNS in conns else max(conns)
    targets = []
    g = rps("get_song", tc)
    comb = combined(tc)
    targets.append((f"GET song by id, {tc} conns ≥ {GET_COMBINED_RATIO:.0%} of combined ceiling",
                    f"{fmt(g)} req/s = {fmt(g / comb * 100 if g and comb else None, 1)}% of {fmt(comb)}",
                    pf(g is not None and comb is not None and g >= GET_COMBINED_RATIO * comb)))
    targets.append((f"GET song by id, {tc} conns ≥ {FLASK_FACTOR:.0f} × {FLASK_REFERENCE_RPS:.0f} req/s (Flask ref.)",
                    f"{fmt(g)} req/s = {fmt(g / FLASK_REFERENCE_RPS if g else None, 1)}×",
                    pf(g is not None and g >= FLASK_FACTOR * FLASK_REFERENCE_RPS)))
    for name, label in (("list_first", "podcast list, first page of 50"),
                        ("list_deep", "podcast list, page 1000 via cursor"),
                        ("list_filtered", "podcast list, filtered + sorted")):
        r = rps(name, tc)
        if r is None:
            targets.append((f"{label}, {tc} conns ≥ {LIST_COMBINED_RATIO:.0%} of combined ceiling",
                            "not measured (see notes)", "—"))
            continue
        targets.append((f"{label}, {tc} conns ≥ {LIST_COMBINED_RATIO:.0%} of combined ceiling",
                        f"{fmt(r)} req/s = {fmt(r / comb * 100 if comb else None, 1)}%",
                        pf(comb is not None and r >= LIST_COMBINED_RATIO * comb)))
    for name, label in (("list_varied_deep", "diagnostic: podcast list, a different deep page per request (random `id[gt]`)"),
                        ("list_varied_filtered", "diagnostic: podcast list, a different filtered + sorted page per request (random host)")):
        r = rps(name, tc)
        if r is not None:
            targets.append((f"{label}, {tc} conns ≥ {LIST_COMBINED_RATIO:.0%} of combined ceiling",
                            f"{fmt(r)} req/s = {fmt(r / comb * 100 if comb else None, 1)}%",
                            pf(comb is not None and r >= LIST_COMBINED_RATIO * comb)))
    cr, ins = rps("create_valid", tc), tps("insert_extended", tc)
    targets.append((f"create (valid song), {tc} conns ≥ {CREATE_INSERT_RATIO:.0%} of pgbench INSERT",
                    f"{fmt(cr)} req/s = {fmt(cr / ins * 100 if cr and ins else None, 1)}% of {fmt(ins)} tps",
                    pf(cr is not None and ins is not None and cr >= CREATE_INSERT_RATIO * ins)))
    worst = None
    for name in ("get_song", "list_first", "list_deep", "list_filtered", "list_varied_deep", "list_varied_filtered",
                 "create_valid", "create_invalid"):
        r = wrk.get((name, 16))
        if r:
            p99 = num(r["p99_us"]) / 1000
            if worst is None or p99 > worst[1]:
                worst = (name, p99)
    if worst:
        targets.append((f"p99 < {P99_MS_AT_16:.0f} ms at 16 conns (every API endpoint)",
                        f"worst: {worst[0]} {worst[1]:.2f} ms", pf(worst[1] < P99_MS_AT_16)))
    for name, r in xfer.items():
        if name.startswith("info_"):
            continue
        mbps = num(r["bytes"]) / max(num(r["seconds"]), 1e-9) / 1e6
        targets.append((f"{name.replace('_', ' ')} ≥ {TRANSFER_MBPS:.0f} MB/s", f"{mbps:,.0f} MB/s",
                        pf(mbps >= TRANSFER_MBPS)))
    # Resumable uploads (issue 17): 8 MiB tus chunks at ≥ 80 % of the plain upload's rate, and the
    # RSS the server adds during one under 64 MiB.
    for name, r in xfer.items():
        if not name.startswith("upload_tus_8MiB_chunks_"):
            continue
        size = name.rsplit("_", 1)[1]
        plain = xfer.get(f"upload_raw_{size}")
        if plain:
            ratio = (num(r["bytes"]) / max(num(r["seconds"]), 1e-9)) / (num(plain["bytes"]) / max(num(plain["seconds"]), 1e-9))
            targets.append((f"resumable upload {size} (8 MiB chunks) ≥ 80 % of the plain upload's rate",
                            f"{ratio * 100:.0f} %", pf(ratio >= 0.8)))
        window = rss.get(f"window_upload_tus_{size}")
        if window:
            added = num(window.get("added_kb")) / 1024
            targets.append((f"server RSS added during the {size} resumable upload < 64 MiB", f"+{added:,.1f} MiB", pf(added < 64)))
    if rss:
        peak_kb = max(num(v.get("hwm_kb")) for v in rss.values())
        targets.append((f"server peak RSS (VmHWM) < {PEAK_RSS_MIB:.0f} MiB through the whole run",
                        f"{peak_kb / 1024:,.1f} MiB", pf(peak_kb / 1024 < PEAK_RSS_MIB)))
        if "after_create" in rss and any(k.startswith("upload_") for k in rss):
            before = num(rss["after_create"]["hwm_kb"])
            after = max(num(rss[k]["hwm_kb"]) for k in rss if k.startswith("upload_"))
            growth = (after - before) / 1024
            targets.append((f"uploads raise peak RSS by < {UPLOAD_RSS_GROWTH_MIB:.0f} MiB (issue 3)",
                            f"+{growth:,.1f} MiB (VmHWM {before / 1024:,.1f} → {after / 1024:,.1f} MiB)",
                            pf(growth < UPLOAD_RSS_GROWTH_MIB)))
    w("## Targets (issue 6)")
    w("")
    w("| target | measured | result |")
    w("|---|---|---|")
    for t in targets:
        w(f"| {t[0]} | {t[1]} | {t[2]} |")
    w("")

    # ---------------------------------------------------------------- ceilings
    w("## Ceilings (same run, same machine)")
    w("")
    w("`pgbench -S` is select-only (one indexed SELECT by primary key per transaction) on the pgbench "
      "database of the same cluster; `INSERT` is a custom pgbench script of one single-row `INSERT INTO song` "
      "(extended protocol, like the server's unnamed statements); `/_static` is a route of this server "
      "that returns a fixed small JSON body without touching the database. Combined ceiling = "
      "`1 / (1/pgbench_S + 1/static)` at the same connection count.")
    w("")
    w("| conns | pgbench -S extended tps | pgbench -S prepared tps | pgbench INSERT tps | GET /_static req/s | /_static p99 ms | combined (extended) | combined (prepared) |")
    w("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for c in conns:
        st = wrk.get(("static", c), {})
        w(f"| {c} | {fmt(tps('select_extended', c))} | {fmt(tps('select_prepared', c))} | {fmt(tps('insert_extended', c))} "
          f"| {fmt(rps('static', c))} | {fmt(num(st.get('p99_us')) / 1000 if st else None, 2)} "
          f"| {fmt(combined(c))} | {fmt(combined(c, 'select_prepared'))} |")
    w("")
    if any(k[0].startswith("server_") for k in pgb):
        w("### Diagnostic: the server's own SQL replayed by pgbench")
        w("")
        w("The exact statements the server sent for one GET by id, one create and one first list page, captured from "
          "PostgreSQL's log during this run and replayed by pgbench (`bench/.work/server-*.sql`). `extended` re-parses "
          "and re-plans every execution; `prepared` parses once per connection, as the server now does for these "
          "statements (`Sources/Storage/PreparedStatements.swift`). pgbench reads results as text, the server as binary. "
          "This is the database's own limit for each endpoint, with no HTTP and no Swift.")
        w("")
        w("| conns | GET, extended tps | GET, prepared tps | list (51 rows), extended tps | list, prepared tps | create (INSERT … RETURNING), extended tps | create, prepared tps |")
        w("|---:|---:|---:|---:|---:|---:|---:|")
        for c in conns:
            w(f"| {c} | {fmt(tps('server_get_extended', c))} | {fmt(tps('server_get_prepared', c))} "
              f"| {fmt(tps('server_list_extended', c))} | {fmt(tps('server_list_prepared', c))} "
              f"| {fmt(tps('server_insert_extended', c))} | {fmt(tps('server_insert_prepared', c))} |")
        w("")

    # ---------------------------------------------------------------- endpoints
    w("## Endpoints")
    w("")
    w("Latencies from wrk's histogram (`--latency`, printed by `bench/lua/bench.lua`'s `done()`). "
      "Ratio = req/s ÷ the ceiling named; target per row at the given connection count.")
    w("")
    w("| endpoint | conns | req/s | p50 ms | p90 ms | p99 ms | max ms | non-2xx | errors | load avg | ceiling | ratio | target | result |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---:|---|---|")
    labels = OrderedDict([
        ("get_song", "GET /api/audio/song/&lt;random id&gt;"),
        ("list_first", "GET /api/audio/podcast?limit=50"),
        ("list_deep", "GET /api/audio/podcast?limit=50&cursor=&lt;page 1000&gt;"),
        ("list_filtered", "GET /api/audio/podcast?host=…&duration[gte]=60&sort=-duration,name"),
        ("list_varied_deep", "GET /api/audio/podcast?limit=50&id[gt]=&lt;random&gt; (a different page each)"),
        ("list_varied_filtered", "GET /api/audio/podcast?host=&lt;random of 500&gt;&duration[gte]=60&sort=-duration,name"),
        ("create_valid", "POST /api/audio/create (valid song → 201)"),
        ("create_invalid", "POST /api/audio/create (invalid song → 400)"),
        ("static", "GET /_static (ceiling route)"),
    ])
    for name, label in labels.items():
        for c in conns:
            r = wrk.get((name, c))
            if not r:
                continue
            v = num(r["rps"])
            ceiling, ratio, target, result = "—", None, "—", None
            if name in ("get_song", "list_first", "list_deep", "list_filtered", "list_varied_deep", "list_varied_filtered"):
                cb = combined(c)
                ceiling = f"combined {fmt(cb)}"
                ratio = v / cb if cb else None
                need = GET_COMBINED_RATIO if name == "get_song" else LIST_COMBINED_RATIO
                target = f"≥ {need:.0%}"
                result = ratio is not None and ratio >= need
                if name == "get_song":
                    target += f" and ≥ {FLASK_FACTOR * FLASK_REFERENCE_RPS:,.0f}"
                    result = result and v >= FLASK_FACTOR * FLASK_REFERENCE_RPS
            elif name == "create_valid":
                ins = tps("insert_extended", c)
                ceiling = f"INSERT {fmt(ins)}"
                ratio = v / ins if ins else None
                target = f"≥ {CREATE_INSERT_RATIO:.0%}"
                result = ratio is not None and ratio >= CREATE_INSERT_RATIO
            elif name == "create_invalid":
                s = rps("static", c)
                ceiling = f"static {fmt(s)}"
                ratio = v / s if s else None
            if c == 16 and name != "static":
                p99ok = num(r["p99_us"]) / 1000 < P99_MS_AT_16
                target = (target + "; " if target != "—" else "") + f"p99 < {P99_MS_AT_16:.0f} ms"
                result = p99ok if result is None else (result and p99ok)
            errors = sum(int(num(r.get(k))) for k in ("err_connect", "err_read", "err_write", "err_timeout"))
            w(f"| {label} | {c} | {fmt(v)} | {num(r['p50_us']) / 1000:.2f} | {num(r['p90_us']) / 1000:.2f} "
              f"| {num(r['p99_us']) / 1000:.2f} | {num(r['max_us']) / 1000:.1f} | {int(num(r['err_status'])):,} | {errors:,} "
              f"| {r.get('loadavg', '').replace('/', ' ')} | {ceiling} | {fmt(ratio * 100 if ratio is not None else None, 1)}{'%' if ratio is not None else ''} "
              f"| {target} | {pf(result)} |")
    w("")
    inv1, st1 = rps("create_invalid", 1), rps("static", 1)
    if inv1 and st1:
        extra = 1e6 / inv1 - 1e6 / st1
        verdict = (f"i.e. JSON parsing + validation + the 400 problem body cost ≈ {extra:,.0f} µs on top of the HTTP exchange"
                   if extra > 0 else "i.e. the validation cost is below this run's noise")
        w(f"Validation cost alone (1 connection): an invalid create (POST, 400 with every problem listed) takes "
          f"{1e6 / inv1:,.0f} µs per request against {1e6 / st1:,.0f} µs for `GET /_static`; {verdict}. "
          "The pure validation cost is measured by the micro-benchmarks in `Benchmarks/`.")
        w("")
    if "deep_cursor" in meta:
        w(f"Deep page: {meta['deep_cursor']} — the cursor was reached by walking 999 pages by `next_cursor` "
          "(independent of the cursor's encoding) and checked to start at row 49,951 in id order.")
        w("")
    fs = meta.get("filter_supported", "")
    if not fs.startswith("yes"):
        w(f"Filtered, sorted page: **not measured** — the server did not filter and sort ({fs}).")
        w("")

    # ---------------------------------------------------------------- sharing
    off_rows = [(n, c) for (n, c) in wrk if n.endswith("_unshared")]
    if off_rows:
        w("## Shared round trips (diagnostic)")
        w("")
        w("The server lets concurrent requests of one shape share a PostgreSQL statement "
          "(`SHARED_ROUND_TRIPS`, default `2,64`; docs/performance.md): GETs by id become one `id = ANY($1)`, "
          "creates one multi-row `INSERT`, list pages one `LATERAL` statement with identical pages read once. "
          "A statement is only sent after all its requests arrived, so each still sees every write committed "
          "before it. Here the same endpoints ran against a second server on the same database with "
          "`SHARED_ROUND_TRIPS=off` — one statement per request, as a plain pool client does.")
        w("")
        w("| endpoint | conns | shared req/s | ratio | one statement per request req/s | ratio | ceiling |")
        w("|---|---:|---:|---:|---:|---:|---|")
        names = OrderedDict([("get_song", "GET song by random id"), ("list_first", "podcast list, first page"),
                             ("list_varied_filtered", "podcast list, a different filtered page each"),
                             ("create_valid", "create (valid song)")])
        for name, label in names.items():
            for (n, c) in off_rows:
                if n != name + "_unshared":
                    continue
                on, off = rps(name, c), rps(n, c)
                if name == "create_valid":
                    ceil, cl = tps("insert_extended", c), "pgbench INSERT"
                else:
                    ceil, cl = combined(c), "combined"
                def ratio(v):
                    return f"{v / ceil * 100:.1f}%" if v and ceil else "—"
                w(f"| {label} | {c} | {fmt(on)} | {ratio(on)} | {fmt(off)} | {ratio(off)} | {cl} {fmt(ceil)} |")
        w("")

    # ---------------------------------------------------------------- transfers
    if xfer:
        w("## Upload and download")
        w("")
        w("WAV files (16-bit stereo PCM header + random samples, as dense in CR bytes and boundary-like runs as real audio) sent by curl over loopback: raw body "
          "(`Content-Type: audio/wav`, `curl -T`) and multipart (`-F file=@…`), both with `Expect:` (curl's "
          "`Expect: 100-continue` off — the server sends no `100 Continue`, so curl would stall 1 s first; the "
          "`info_…expect_100_continue` row shows that default); downloads to `/dev/null`, whole "
          "and with `Range`. Time is curl's `time_total` (for uploads it includes the server's SHA-256, fsync, "
          "probe and row update). MB = 10^6 bytes.")
        w("")
        w("| transfer | bytes | seconds | MB/s | MiB/s | server VmHWM after (MiB) | VmRSS after (MiB) | load avg | ≥ 300 MB/s |")
        w("|---|---:|---:|---:|---:|---:|---:|---|---|")
        for name, r in xfer.items():
            b, s = num(r["bytes"]), max(num(r["seconds"]), 1e-9)
            rr = rss.get(name, {})
            w(f"| {name} | {int(b):,} | {s:.3f} | {b / s / 1e6:,.0f} | {b / s / 1048576:,.0f} "
              f"| {fmt(num(rr.get('hwm_kb')) / 1024 if rr else None, 1)} | {fmt(num(rr.get('rss_kb')) / 1024 if rr else None, 1)} "
              f"| {r.get('loadavg', '').replace('/', ' ')} | {'(informational)' if name.startswith('info_') else pf(b / s / 1e6 >= TRANSFER_MBPS)} |")
        w("")
        for name, r in wrk.items():
            if name[0].startswith("range_"):
                mbps = num(r["bytes"]) / max(num(r["duration_us"]), 1)
                w(f"- random 1 MiB `Range` reads of the large file, {name[1]} conns (wrk): {fmt(num(r['rps']))} req/s, "
                  f"{mbps:,.0f} MB/s, p99 {num(r['p99_us']) / 1000:.2f} ms, non-2xx {int(num(r['err_status']))}")
        w("")

    # ---------------------------------------------------------------- memory
    if rss:
        w("## Server memory through the run")
        w("")
        w("`VmHWM` (peak resident set so far) and `VmRSS` from `/proc/<pid>/status` after each phase; "
          f"a sampler also read VmRSS every 0.5 s ({meta.get('rss_samples', '?').replace(' max_rss_kb=', ' samples, highest VmRSS seen (kB): ')}).")
        w("")
        w("| after | VmHWM MiB | VmRSS MiB |")
        w("|---|---:|---:|")
        for phase, r in rss.items():
            w(f"| {phase} | {num(r.get('hwm_kb')) / 1024:,.1f} | {num(r.get('rss_kb')) / 1024:,.1f} |")
        w("")
        if "storage_tmp_leftovers" in meta:
            w(f"Temporary upload files left in STORAGE_DIR/tmp after the run: {meta['storage_tmp_leftovers']}.")
            w("")

    perf = os.path.join(os.path.dirname(os.path.abspath(sys.argv[1])), "perf-get-song.txt")
    if os.path.exists(perf) and os.path.getmtime(perf) >= os.path.getmtime(sys.argv[1]) - 3600:
        w("## CPU profile (BENCH_PROFILE=1)")
        w("")
        w("An extra GET-by-id run at the highest connection count (not in the figures above) under "
          "`perf record -e cpu-clock -a` (system-wide, software clock). Shares are of all CPU samples.")
        w("")
        w("```")
        section, shown = None, 0
        for line in open(perf, errors="replace"):
            line = line.rstrip()
            if line.startswith("## "):
                section, shown = line, 0
                w("")
                w(line[3:])
                continue
            limit = 12 if "command" in (section or "") else 8 if "shared object" in (section or "") else 25
            if line.strip() and shown < limit:
                w(" ".join(line.split()).removesuffix(" - -")[:150])
                shown += 1
        w("```")
        w("")

    w("## Reproduce")
    w("")
    w("```sh")
    w("make bench                          # BENCH_DURATION=10 BENCH_CONNECTIONS=\"1 16 64\" by default")
    w("BENCH_DURATION=30 make bench        # longer runs")
    w("```")
    w("")
    w("Other agents' builds share this machine's two cores; compare the load averages above before "
      "comparing two reports.")
    w("")
    with open(sys.argv[2], "w") as f:
        f.write("\n".join(lines))


if __name__ == "__main__":
    main()
