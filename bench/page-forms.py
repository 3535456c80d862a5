#!/usr/bin/env python3
"""PostgreSQL's CPU per list page for the forms a page's rows can be sent in (session 23).

  bench/page-forms.py [BATCH] [STATEMENTS]     (defaults: 8 pages per statement, 3,000 statements)

Runs the server's shared page statement (songs, `duration >= N`, sort by duration, 51 rows a page,
BATCH random pages per statement) in each form on the kept benchmark database (`BENCH_KEEP=1 make
bench` first), prepared, with binary results as the server asks for them, and reads the backend's
CPU time from /proc: the database's share of a page, without the server. Two rounds, alternated.

  rows         a row per record (the form before session 23)
  record_send  one row per page, its records as one bytea: string_agg(record_send(r), '')
  array_agg    one row per page, its records as a record[] (array_agg(r))
  row_column   a row per record, the record as one composite column
  ordered      record_send with the order restated inside the aggregate (ORDER BY in string_agg)

Needs psycopg (installed here if missing).
"""
import os
import random
import subprocess
import sys
import time

here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
try:
    import psycopg
except ImportError:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check",
                    "--root-user-action=ignore", "psycopg[binary]==3.3.9"], check=True)
    import psycopg

PAGE = ('SELECT t."id", t."name", t."duration", t."uploaded_time", t."created_at", t."updated_at", t."file" '
        'FROM "song" t WHERE t."duration" >= b."p1"::bigint ORDER BY t."duration" ASC NULLS LAST, t."id" ASC LIMIT b."lim"')
UNNEST = 'unnest((SELECT %s::text[])::text[], (SELECT %s::int8[])::int8[]) WITH ORDINALITY AS b("p1", "lim", "n")'
FORMS = {
    "rows": f'SELECT b."n", r.* FROM {UNNEST} CROSS JOIN LATERAL ({PAGE}) r',
    "record_send": f"SELECT b.\"n\", (SELECT string_agg(record_send(r), ''::bytea) FROM ({PAGE}) r) FROM {UNNEST}",
    "array_agg": f'SELECT b."n", (SELECT array_agg(r) FROM ({PAGE}) r) FROM {UNNEST}',
    "row_column": f'SELECT b."n", r FROM {UNNEST} CROSS JOIN LATERAL ({PAGE}) r',
    "ordered": f"SELECT b.\"n\", (SELECT string_agg(record_send(r), ''::bytea ORDER BY r.\"duration\", r.\"id\") FROM ({PAGE}) r) FROM {UNNEST}",
}


def ticks(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def main():
    batch = int(sys.argv[1]) if len(sys.argv) > 1 else 8
    statements = int(sys.argv[2]) if len(sys.argv) > 2 else 3000
    work = os.path.join(here, "bench/.work/pg")
    if not os.path.isdir(os.path.join(work, "data")):
        sys.exit("no kept benchmark database in bench/.work/pg: run BENCH_KEEP=1 make bench first")
    url = subprocess.run([os.path.join(here, "scripts/pgtmp.sh"), "start", work], check=True,
                         capture_output=True, text=True).stdout.strip()
    hz = os.sysconf("SC_CLK_TCK")
    try:
        print(f"{batch} pages per statement, {statements} statements per form and round")
        for _ in range(2):
            for name, sql in FORMS.items():
                with psycopg.connect(url, autocommit=True) as conn:
                    pid = conn.info.backend_pid
                    cur = conn.cursor(binary=True)

                    def run():
                        pages = [str(random.randint(1, 3600)) for _ in range(batch)]
                        cur.execute(sql, (pages, [51] * batch), prepare=True, binary=True)
                        return cur.fetchall()

                    for _ in range(200):
                        run()
                    t0, w0 = ticks(pid), time.time()
                    for _ in range(statements):
                        run()
                    t1, w1 = ticks(pid), time.time()
                    pages = statements * batch
                    print(f"{name:12s} PostgreSQL {(t1 - t0) / hz / pages * 1e6:6.1f} µs CPU per page"
                          f"   (wall, with this client's decoding: {(w1 - w0) / pages * 1e6:6.1f} µs)", flush=True)
    finally:
        subprocess.run([os.path.join(here, "scripts/pgtmp.sh"), "stop", work], capture_output=True)


main()
