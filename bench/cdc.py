#!/usr/bin/env python3
"""make bench-cdc: PostgreSQL change data capture, scripts/postgres_cdc_source.lua in luaconnect
beside Debezium's PostgreSQL connector (3.6.1.Final, through plugin.path) in Apache Kafka
Connect 4.x, on the same PostgreSQL server (wal_level=logical, started here) and the same broker.
Both workers run standalone with JsonConverter and schemas (Debezium's usual envelope); each
connector has its own slot, publication and topic.prefix; Debezium's and Connect's settings are
their defaults.

Measured, one side at a time (the other idle):
  snapshot  a table of --records rows (6 columns) read by a new connector (snapshot.mode=initial):
            rows/s from its first record to its last; worker CPU seconds over the run, per row.
  inserts   --records single-row INSERT transactions (6 columns), written while every
            connector was stopped (PUT .../stop), then the connector resumed: change events/s
            from the first event in the topic to the last, and worker CPU per event.
  updates   --updates single-row UPDATE transactions of a 32-column row (default replica
            identity), in the WAL right after the inserts: events/s from the last insert event
            to the last update event; CPU per event over the same span.

Event counts come from the topics' end offsets (benchlib.EndOffsets), polled every 20 ms. A run
whose topic does not reach its count within BENCH_RUN_TIMEOUT is FAILED.

usage: bench/cdc.py --bootstrap HOST:PORT --binary build/luaconnect --out DIR
           [--records 1000000] [--updates 100000] [--sides luaconnect,connect]"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests" / "integration"))
sys.path.insert(0, str(HERE.parent / "tests" / "kafka"))
from benchlib import EndOffsets, proc_stats  # noqa: E402

RUN_TIMEOUT = float(os.environ.get("BENCH_RUN_TIMEOUT", "1800"))
CONNECT_HEAP = os.environ.get("BENCH_CONNECT_HEAP", "-Xms256M -Xmx2G")
# what Kafka's bin/kafka-run-class.sh adds to every JVM it starts
CONNECT_JVM = ["-server", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
               "-XX:InitiatingHeapOccupancyPercent=35", "-XX:+ExplicitGCInvokesConcurrent",
               "-XX:MaxInlineLevel=15", "-Djava.awt.headless=true",
               "-Dorg.apache.logging.log4j.level=INFO"]
WIDE_TEXT, WIDE_INT, WIDE_NUM, WIDE_TS = 10, 10, 6, 5  # + id: 32 columns
WORKER = {
    "key.converter": "org.apache.kafka.connect.json.JsonConverter",
    "value.converter": "org.apache.kafka.connect.json.JsonConverter",
    "key.converter.schemas.enable": "true",
    "value.converter.schemas.enable": "true",
    "offset.flush.interval.ms": "10000",
}


def wide_columns():
    cols = [f"c{i} TEXT" for i in range(WIDE_TEXT)] + [f"n{i} INT" for i in range(WIDE_INT)]
    cols += [f"d{i} NUMERIC(12,2)" for i in range(WIDE_NUM)] + [f"t{i} TIMESTAMP" for i in range(WIDE_TS)]
    return cols


def setup_db(pg, n, u):
    """bench.snap (n rows), bench.ins (empty), bench.wide (u rows of 32 columns)."""
    pg.psql("CREATE SCHEMA bench")
    row6 = "id INT PRIMARY KEY, name TEXT NOT NULL, qty INT, price NUMERIC(10,2), created TIMESTAMP, flag BOOLEAN"
    pg.psql(f"CREATE TABLE bench.snap ({row6})")
    pg.psql(f"CREATE TABLE bench.warm ({row6})")
    pg.psql(f"CREATE TABLE bench.ins ({row6})")
    pg.psql(f"CREATE TABLE bench.wide (id INT PRIMARY KEY, {', '.join(wide_columns())})")
    pg.psql("INSERT INTO bench.snap SELECT g, 'name ' || g, g % 1000, g / 100.0, "
            "'2024-01-01'::timestamp + g * interval '1 second', g % 2 = 0 FROM generate_series(1, " + str(n) + ") g")
    vals = ([f"'text value ' || g || ' {i}'" for i in range(WIDE_TEXT)] + [f"g + {i}" for i in range(WIDE_INT)]
            + [f"g / 7.0 + {i}" for i in range(WIDE_NUM)]
            + [f"'2024-01-01'::timestamp + g * interval '{i + 1} second'" for i in range(WIDE_TS)])
    pg.psql(f"INSERT INTO bench.wide SELECT g, {', '.join(vals)} FROM generate_series(1, {u}) g")
    pg.psql(f"INSERT INTO bench.warm SELECT * FROM bench.snap WHERE id <= {min(n, 20000)}")
    pg.psql("VACUUM ANALYZE")


# The WAL is the same with or without a flush per commit; writing the workload just takes less
# of the bench's time.
NO_FSYNC = "SET synchronous_commit = off;\n"


def write_changes(pg, n, u):
    """n single-row INSERT transactions into bench.ins, then u single-row UPDATE transactions
    of bench.wide (one psql session reading a script; each statement autocommits)."""
    import cdc_compare
    t0 = time.monotonic()
    step = 50000
    for lo in range(0, n, step):
        cdc_compare.run_script(pg, NO_FSYNC + "".join(
            f"INSERT INTO bench.ins VALUES ({i}, 'name {i}', {i % 1000}, {i % 100000}.{i % 100:02d}, "
            f"'2024-01-01 00:00:00', {'true' if i % 2 else 'false'});\n" for i in range(lo + 1, min(n, lo + step) + 1)))
    t1 = time.monotonic()
    for lo in range(0, u, step):
        cdc_compare.run_script(pg, NO_FSYNC + "".join(
            f"UPDATE bench.wide SET n0 = n0 + 1, c0 = 'updated {i}' WHERE id = {i};\n"
            for i in range(lo + 1, min(u, lo + step) + 1)))
    return t1 - t0, time.monotonic() - t1


def debezium_config(pg, prefix, tables, mode):
    return {"connector.class": "io.debezium.connector.postgresql.PostgresConnector", "tasks.max": "1",
            "plugin.name": "pgoutput", "database.hostname": "127.0.0.1", "database.port": str(pg.port),
            "database.user": pg.user, "database.password": pg.password, "database.dbname": pg.db,
            "topic.prefix": prefix, "slot.name": prefix, "publication.name": prefix + "_pub",
            "publication.autocreate.mode": "filtered", "table.include.list": tables,
            "snapshot.mode": mode}


class Side:
    """One worker (luaconnect or Kafka Connect standalone) and its REST API."""

    def __init__(self, kind, tmp, bootstrap):
        self.kind = kind
        import http_json
        self.http = http_json
        if kind == "luaconnect":
            from worker import Worker
            self.w = Worker(tmp, bootstrap, [], worker=WORKER, name="lc").start()
            self.url = self.w.url(60)
            self.pid = self.w.proc.pid
        else:
            import connect_jars
            from connect_java import ConnectStandalone

            class BenchConnect(ConnectStandalone):
                """Connect as connect-standalone.sh starts it (full JIT, its default heap)."""

                def command(self):
                    return (["java"] + CONNECT_HEAP.split() + CONNECT_JVM + ["-cp", self.classpath(),
                            "org.apache.kafka.connect.cli.ConnectStandalone", str(self.props_path)])

            plugins = Path(tmp) / "connect-standalone.plugins"
            self.w = BenchConnect(tmp, bootstrap, extra={
                **WORKER, "plugin.path": f"{plugins},{connect_jars.debezium_plugin()}"}).start()
            self.url = self.w.url
            self.pid = self.w.proc.pid

    def rest(self, method, path, body=None):
        return self.http.call_ok(method, self.url + path, body, timeout=120)

    def state(self, name):
        try:
            st = self.rest("GET", f"/connectors/{name}/status")
        except Exception:  # noqa: BLE001 - not created yet
            return None
        tasks = st.get("tasks") or []
        return tasks[0]["state"] if tasks else st.get("connector", {}).get("state")

    def stop(self):
        self.w.stop()


def wait(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.1)
    raise RuntimeError(f"timed out after {timeout}s waiting for {what}")


def slot_active(pg, slot):
    rows = pg.psql(f"SELECT active FROM pg_replication_slots WHERE slot_name = '{slot}'")
    return bool(rows) and rows[0][0] == "t"


def follow(offs, topic, n, pid, t_start):
    """Polls topic's end offset until n: (first-record time, last-record time, CPU at each)."""
    first = cpu_first = None
    deadline = t_start + RUN_TIMEOUT
    while time.monotonic() < deadline:
        end = offs.end(topic) or 0
        if end > 0 and first is None:
            first, cpu_first = time.monotonic(), proc_stats(pid)[0]
        if end >= n:
            return first, time.monotonic(), cpu_first, proc_stats(pid)[0], end
        time.sleep(0.02)
    return first, None, cpu_first, None, offs.end(topic) or 0


def snapshot(s, pg, offs, prefix, table, n):
    """A new connector snapshotting bench.<table> (n rows) until its topic holds n records, then
    deleted with its slot: (start time, CPU then, first-record time, last-record time, CPU
    then, records counted)."""
    topic = f"{prefix}.bench.{table}"
    offs.create(topic)
    cpu0, t0 = proc_stats(s.pid)[0], time.monotonic()
    s.rest("PUT", f"/connectors/{prefix}/config", debezium_config(pg, prefix, rf"bench\.{table}", "initial"))
    first, last, _, cpu1, got = follow(offs, topic, n, s.pid, t0)
    s.rest("DELETE", f"/connectors/{prefix}")
    wait(lambda: not slot_active(pg, prefix), 120, f"slot {prefix} released")
    pg.psql(f"SELECT pg_drop_replication_slot('{prefix}')")
    return t0, cpu0, first, last, cpu1, got


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--binary", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--records", type=int, default=1000000)
    ap.add_argument("--updates", type=int, default=None, help="default: records / 10")
    ap.add_argument("--sides", default="luaconnect,connect")
    args = ap.parse_args()
    n, u = args.records, args.updates if args.updates is not None else max(1, args.records // 10)
    sides = args.sides.split(",")
    os.environ["LC_BIN"] = os.path.abspath(args.binary)
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    tmp = Path(tempfile.mkdtemp(prefix="lc-bench-cdc-"))
    from pg_server import PgServer
    pg_base = Path(tempfile.mkdtemp(prefix="lc-bench-cdc-pg-"))  # PgServer gives it to postgres
    pg = PgServer(pg_base, logical=True).start()
    offs = EndOffsets(args.bootstrap)
    run = uuid.uuid4().hex[:6]
    workers, results = {}, []
    try:
        print(f"bench-cdc: {n:,} snapshot rows, {n:,} inserts, {u:,} wide-row updates")
        setup_db(pg, n, u)
        for kind in sides:
            workers[kind] = Side(kind, tmp, args.bootstrap)
        # snapshot, one side at a time, after a warm-up snapshot of bench.warm
        for kind in sides:
            s = workers[kind]
            warm = min(n, 20000)
            snapshot(s, pg, offs, f"warm_{kind}_{run}", "warm", warm)
            prefix = f"snap_{kind}_{run}"
            t0, cpu0, first, last, cpu1, got = snapshot(s, pg, offs, prefix, "snap", n)
            ok = last is not None
            r = {"side": kind, "run": "snapshot", "events": n, "counted": got, "ok": ok,
                 "seconds": (last - first) if ok else None, "per_s": n / (last - first) if ok else None,
                 "from_create_s": (last - t0) if ok else None,
                 "cpu_s": (cpu1 - cpu0) if ok else None, "cpu_us_per_event": (cpu1 - cpu0) / n * 1e6 if ok else None}
            results.append(r)
            print(f"  {kind} snapshot: {got:,}/{n:,} rows" + (f" in {r['seconds']:.2f} s = {r['per_s']:,.0f} rows/s, "
                  f"CPU {r['cpu_s']:.2f} s ({r['cpu_us_per_event']:.1f} µs/row)" if ok else "  FAILED"))
        # streaming: every connector reaches streaming, then stops while the changes are written
        names = {}
        for kind in sides:
            s = workers[kind]
            prefix = names[kind] = f"cdc_{kind}_{run}"
            for t in ("ins", "wide"):
                offs.create(f"{prefix}.bench.{t}")
            s.rest("PUT", f"/connectors/{prefix}/config",
                   debezium_config(pg, prefix, r"bench\.ins,bench\.wide", "no_data"))
            wait(lambda: slot_active(pg, prefix), 180, f"{kind}: slot {prefix} streaming")
            time.sleep(2)
            s.rest("PUT", f"/connectors/{prefix}/stop")
            wait(lambda: s.state(prefix) in ("STOPPED", None) and not slot_active(pg, prefix), 120,
                 f"{kind}: connector {prefix} stopped")
        ins_s, upd_s = write_changes(pg, n, u)
        print(f"  (workload written: {n:,} inserts in {ins_s:.1f} s, {u:,} updates in {upd_s:.1f} s)")
        for kind in sides:
            s, prefix = workers[kind], names[kind]
            cpu0, t0 = proc_stats(s.pid)[0], time.monotonic()
            s.rest("PUT", f"/connectors/{prefix}/resume")
            f1, l1, c1a, c1b, got1 = follow(offs, f"{prefix}.bench.ins", n, s.pid, t0)
            f2, l2, _, c2b, got2 = follow(offs, f"{prefix}.bench.wide", u, s.pid, t0) if l1 else (None,) * 4 + (0,)
            ok1, ok2 = l1 is not None, l2 is not None
            r1 = {"side": kind, "run": "inserts", "events": n, "counted": got1, "ok": ok1,
                  "seconds": (l1 - f1) if ok1 else None, "per_s": n / (l1 - f1) if ok1 else None,
                  "from_resume_s": (l1 - t0) if ok1 else None,
                  "cpu_s": (c1b - c1a) if ok1 else None, "cpu_us_per_event": (c1b - c1a) / n * 1e6 if ok1 else None}
            r2 = {"side": kind, "run": "updates", "events": u, "counted": got2, "ok": ok2,
                  "seconds": (l2 - l1) if ok2 else None, "per_s": u / (l2 - l1) if ok2 else None,
                  "cpu_s": (c2b - c1b) if ok2 else None, "cpu_us_per_event": (c2b - c1b) / u * 1e6 if ok2 else None}
            results += [r1, r2]
            for r in (r1, r2):
                print(f"  {kind} {r['run']}: {r['counted']:,}/{r['events']:,} events" + (
                    f" in {r['seconds']:.2f} s = {r['per_s']:,.0f} events/s, CPU {r['cpu_s']:.2f} s "
                    f"({r['cpu_us_per_event']:.1f} µs/event)" if r["ok"] else "  FAILED"))
            s.rest("PUT", f"/connectors/{prefix}/stop")
    finally:
        for s in workers.values():
            try:
                s.stop()
            except Exception as e:  # noqa: BLE001
                print(f"  ({s.kind}: stopping: {e})")
        offs.close()
        pg.stop()
    os.makedirs(args.out, exist_ok=True)
    md = render(results, args, started, n, u)
    Path(args.out, "cdc.md").write_text(md)
    Path(args.out, "cdc.json").write_text(json.dumps(results, indent=1) + "\n")
    print(md)
    shutil.rmtree(pg_base, ignore_errors=True)
    print(f"bench-cdc: logs in {tmp}")


def render(results, args, started, n, u):
    import connect_jars
    lines = ["# PostgreSQL CDC: luaconnect's postgres_cdc_source beside Debezium in Kafka Connect", "",
             f"Run {started} on {os.cpu_count()} cores (shared machine; load average "
             f"{os.getloadavg()[1]:.1f} over the last 5 minutes at the end), broker {args.bootstrap}, "
             f"PostgreSQL 15 started by the bench (wal_level=logical). Debezium "
             f"{connect_jars.DEBEZIUM_VERSION} in Kafka Connect standalone (heap {CONNECT_HEAP}); "
             f"luaconnect standalone. JsonConverter with schemas on both. {n:,} snapshot rows, "
             f"{n:,} single-row inserts, {u:,} single-row updates of 32-column rows. "
             "CPU is the worker process's (user+sys, every thread); PostgreSQL's walsender does the "
             "same work for both and is not counted. Each side first snapshots a small warm-up table "
             "(JIT warm-up for the JVM). bench/cdc.py explains each figure.", "",
             "| run | luaconnect events/s | Debezium events/s | luaconnect / Debezium | "
             "luaconnect CPU µs/event | Debezium CPU µs/event | CPU luaconnect / Debezium |",
             "|---|---|---|---|---|---|---|"]
    by = {(r["side"], r["run"]): r for r in results}

    def rate(r):
        if r is None:
            return "—"
        return f"{r['per_s']:,.0f} ({r['seconds']:.1f} s)" if r["ok"] else f"FAILED ({r['counted']}/{r['events']})"

    def cpu(r):
        return f"{r['cpu_us_per_event']:.1f}" if r and r["ok"] else "—"

    labels = {"snapshot": f"snapshot, {n:,} rows (rows/s)", "inserts": f"{n:,} single-row inserts",
              "updates": f"{u:,} single-row updates, 32 columns"}
    for run in ("snapshot", "inserts", "updates"):
        lc, kc = by.get(("luaconnect", run)), by.get(("connect", run))
        both = lc and kc and lc["ok"] and kc["ok"]
        speed = f"{lc['per_s'] / kc['per_s']:.2f}×" if both else "—"
        cost = f"{lc['cpu_us_per_event'] / kc['cpu_us_per_event']:.2f}×" if both else "—"
        lines.append(f"| {labels[run]} | {rate(lc)} | {rate(kc)} | {speed} | {cpu(lc)} | {cpu(kc)} | {cost} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
