#!/usr/bin/env python3
"""SQLite -> real Kafka -> SQLite: rows/s, worker CPU seconds and peak RSS of the JDBC source
and of the JDBC sink, for N rows of a 6-column table (JsonConverter with schemas, so each
record carries its schema: ~550 bytes).

(a) source: JdbcSourceConnector, mode=incrementing on the INTEGER PRIMARY KEY, defaults
    otherwise (batch.max.rows=1000). Delivery is counted, not assumed: the run ends when the
    committed source offset (written only after the broker acknowledged every earlier
    record) reaches the last id, and the topic's record count is checked.
(b) sink: a JdbcSinkConnector (insert.mode=insert, pk.mode=record_value on id, auto.create,
    WAL) reads the topic (a) wrote into a new database; the run ends when the table holds N
    rows (count(*) through Python's sqlite3).

usage: bench/sqlite_to_kafka.py BOOTSTRAP [ROWS] [BINARY]"""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import create_topic, proc_stats, topic_count, write_props  # noqa: E402

TIMEOUT = 600


def worker_props(tmp, name, bootstrap):
    return write_props(os.path.join(tmp, f"{name}.worker.properties"), {
        "bootstrap.servers": bootstrap,
        "key.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "key.converter.schemas.enable": "true",
        "value.converter.schemas.enable": "true",
        "offset.storage.file.filename": os.path.join(tmp, f"{name}.offsets.db"),
        "offset.flush.interval.ms": "100",
    })


def make_orders_db(path, n):
    """The source table: n rows of 6 columns, ids 1..n."""
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE orders(id INTEGER PRIMARY KEY, customer TEXT NOT NULL, email TEXT, "
                "amount REAL, qty INTEGER, created TIMESTAMP NOT NULL)")
    con.executemany("INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?)",
                    ((i, f"customer {i:07d}", f"c{i}@example.com", i * 0.25 + 0.01, i % 17,
                      1_700_000_000_000 + i) for i in range(1, n + 1)))
    con.commit()
    con.close()


def source_props(name, db, prefix):
    """JdbcSourceConnector on the orders table, mode=incrementing, defaults otherwise."""
    return {"name": name, "connector.class": "io.confluent.connect.jdbc.JdbcSourceConnector",
            "connection.url": f"jdbc:sqlite:{db}", "mode": "incrementing",
            "table.whitelist": "orders", "topic.prefix": prefix}


def sink_props(name, topic, url, table, **extra):
    """JdbcSinkConnector (SQLite, PostgreSQL or MariaDB by url) from topic into a new table:
    insert.mode=insert, pk.mode=record_value on id, auto.create, defaults otherwise."""
    return dict({"name": name, "connector.class": "io.confluent.connect.jdbc.JdbcSinkConnector",
                 "topics": topic, "connection.url": url, "table.name.format": table,
                 "insert.mode": "insert", "pk.mode": "record_value", "pk.fields": "id",
                 "auto.create": "true"}, **extra)


def sink_totals_sql(table):
    """The query whose one row sink_check compares: count(*), sum(id), sum(qty)."""
    return f"SELECT count(*), sum(id), sum(qty) FROM {table}"


def sink_check(got, n):
    """None when the row of sink_totals_sql (any database: values as ints or text) is that of
    make_orders_db's rows 1..n written once each; else the error text."""
    want = (n, n * (n + 1) // 2, sum(i % 17 for i in range(1, n + 1)))
    try:
        got = tuple(int(x) for x in got)
    except (TypeError, ValueError):
        pass
    if got == want:
        return None
    return f"the sink table holds (count, sum(id), sum(qty)) {got}, expected {want}"


def incrementing_reached(offsets_db, connector, table, n):
    """A predicate: the JDBC source connector's committed incrementing offset for table, in
    the standalone worker's offsets file, is n or more (every row was read and committed)."""
    key = json.dumps([connector, {"protocol": "1", "table": table}], separators=(",", ":"),
                     sort_keys=True)

    def done():
        try:
            c = sqlite3.connect(offsets_db)
            row = c.execute("SELECT value FROM offsets WHERE key=?", (key,)).fetchone()
            c.close()
        except sqlite3.Error:
            return False
        return bool(row) and json.loads(row[0]).get("incrementing", 0) >= n
    return done


def run_until(binary, tmp, name, bootstrap, connector, done_pred):
    """Starts a worker with one connector; returns (seconds to done, CPU s, peak RSS MB,
    idle RSS MB, exit status). Exits the script when done_pred is not met in TIMEOUT s."""
    conn = write_props(os.path.join(tmp, f"{name}.properties"), connector)
    log = os.path.join(tmp, f"{name}.log")
    t0 = time.monotonic()
    p = subprocess.Popen([binary, "standalone", worker_props(tmp, name, bootstrap), conn],
                         stdout=open(log, "w"), stderr=subprocess.STDOUT)
    time.sleep(0.3)
    _, idle_rss, _ = proc_stats(p.pid)
    done = None
    while time.monotonic() - t0 < TIMEOUT and p.poll() is None:
        if done_pred():
            done = time.monotonic()
            break
        time.sleep(0.05)
    cpu, _, hwm = proc_stats(p.pid) if p.poll() is None else (0, 0, 0)
    p.send_signal(signal.SIGTERM)
    rc = p.wait(60)
    if done is None:
        with open(log) as f:
            tail = f.read()[-3000:]
        sys.exit(f"bench: {name} did not finish within {TIMEOUT} s (failed run)\n{tail}")
    return done - t0, cpu, hwm, idle_rss, rc


def report(title, unit, n, secs, cpu, hwm, idle_rss, rc):
    print(title)
    print(f"  {unit + '/s':<16} {n / secs:,.0f}  ({secs:.2f} s wall, incl. start)")
    print(f"  worker CPU       {cpu:.2f} s user+sys ({cpu / n * 1e6:.2f} us/{unit[:-1]})")
    print(f"  peak RSS         {hwm:.1f} MB   (idle after start {idle_rss:.1f} MB)")
    print(f"  exit status      {rc}")


def main():
    bootstrap = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    here = os.path.dirname(os.path.abspath(__file__))
    binary = sys.argv[3] if len(sys.argv) > 3 else os.path.join(here, "..", "build", "luaconnect")
    tmp = tempfile.mkdtemp(prefix="lc-bench-sqlite-")
    run_id = uuid.uuid4().hex[:8]

    src = os.path.join(tmp, "source.db")
    make_orders_db(src, n)

    # (a) SQLite source -> Kafka
    prefix = f"bench-sqlite-{run_id}-"
    topic = prefix + "orders"
    # The topic exists before the clock starts, so auto-creation is not measured.
    create_topic(bootstrap, topic)
    source_done = incrementing_reached(os.path.join(tmp, "source.offsets.db"),
                                       "bench-sqlite-source", "orders", n)

    secs, cpu, hwm, idle, rc = run_until(binary, tmp, "source", bootstrap,
                                         source_props("bench-sqlite-source", src, prefix),
                                         source_done)
    count = topic_count(bootstrap, topic)
    if count != n:
        sys.exit(f"bench: topic holds {count} records, expected {n} (failed run)")
    sample = subprocess.run(["kcat", "-q", "-b", bootstrap, "-C", "-t", topic, "-o", "beginning",
                             "-c", "1", "-e", "-f", "%S"], capture_output=True, text=True).stdout
    report(f"SQLite -> Kafka, {n} rows of 6 columns, JsonConverter with schemas "
           f"({sample.strip() or '?'} bytes a value), mode=incrementing, acks=all",
           "rows", n, secs, cpu, hwm, idle, rc)

    # (b) Kafka -> SQLite sink, from the topic (a) wrote
    dst = os.path.join(tmp, "sink.db")

    def sink_rows():
        try:
            c = sqlite3.connect(dst, timeout=1)
            r = c.execute("SELECT count(*) FROM orders").fetchone()[0]
            c.close()
            return r
        except sqlite3.Error:
            return 0

    secs, cpu, hwm, idle, rc = run_until(
        binary, tmp, "sink", bootstrap,
        sink_props(f"bench-sqlite-sink-{run_id}", topic, f"jdbc:sqlite:{dst}", "orders"),
        lambda: sink_rows() >= n)
    c = sqlite3.connect(dst)
    err = sink_check(c.execute(sink_totals_sql("orders")).fetchone(), n)
    c.close()
    if err:
        sys.exit(f"bench: {err} (failed run)")
    report(f"Kafka -> SQLite, {n} JsonConverter records, JdbcSinkConnector insert (pk id), "
           "auto.create, WAL", "records", n, secs, cpu, hwm, idle, rc)


if __name__ == "__main__":
    main()
