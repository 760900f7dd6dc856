#!/usr/bin/env python3
"""make bench-jdbc: the JDBC connectors on PostgreSQL end to end, for N rows of a 6-column
table, through the real broker: rows/s, CPU µs per row and peak RSS of the source and of the
sink. A throwaway PostgreSQL 15 is started for the run (initdb + pg_ctl on a free port, as
the tests do: tests/integration/pg_server.py) and stopped afterwards.

(a) source: JdbcSourceConnector on jdbc:postgresql://, mode=incrementing on the primary key,
    defaults otherwise (batch.max.rows=1000: the table is read through a server-side cursor,
    1,000 rows a FETCH). The run ends when the committed source offset (written only after
    the broker acknowledged every earlier record) reaches the last id; the topic must then
    hold N records.
(b) sink: JdbcSinkConnector into a new PostgreSQL table from the topic (a) wrote:
    insert.mode=insert, pk.mode=record_value on id, auto.create, batch.size 3000 (multi-row
    INSERTs, one transaction per put()). The run ends when the table holds N rows; count,
    sum(id) and sum(qty) are then checked.

Each clock runs from the worker's start (start-up included, as bench/sqlite_to_kafka.py);
CPU is the worker's user+sys over the same span. luaconnect only: Confluent's JDBC connector
is published on Confluent's Maven repository, not on Maven Central, so it is not run here.

usage: bench/jdbc.py --bootstrap HOST:PORT --binary build/luaconnect --out DIR [--records N]"""

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
from benchlib import create_topic, topic_count  # noqa: E402
from pg_server import PgServer  # noqa: E402
from sqlite_to_kafka import (incrementing_reached, run_until, sink_check, sink_props,  # noqa: E402
                             sink_totals_sql)


def figures(n, secs, cpu, hwm, rc):
    return {"rows": n, "rows_per_s": round(n / secs), "wall_s": round(secs, 2), "cpu_s": round(cpu, 2),
            "cpu_us_per_row": round(cpu / n * 1e6, 2), "peak_rss_mb": round(hwm, 1), "exit": rc}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--binary", default=str(HERE.parent / "build" / "luaconnect"))
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--sides", default="luaconnect")  # cluster_run.sh passes it; luaconnect only
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    n = a.records
    tmp = tempfile.mkdtemp(prefix="lc-bench-jdbc-")
    base = Path(tempfile.mkdtemp(prefix="lc-bench-pg-"))  # not under tmp: the server may run as postgres
    pg = PgServer(base)
    pg.start()
    try:
        res = run(a, n, tmp, pg)
    finally:
        pg.stop()
        shutil.rmtree(base, ignore_errors=True)
    print(json.dumps(res, indent=1))
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "jdbc.json").write_text(json.dumps(res, indent=1) + "\n")
    s, k = res["source"], res["sink"]
    (out / "jdbc.md").write_text(
        "# make bench-jdbc: PostgreSQL -> Kafka -> PostgreSQL with the JDBC connectors\n\n"
        f"{n:,} rows of 6 columns (bigint, text, text, double, int, timestamp), JsonConverter with schemas, "
        "standalone worker, one task, PostgreSQL 15 and the broker on the same machine "
        "(clocks include the worker's start-up).\n\n"
        "| | rows/s | CPU µs/row | worker CPU s | peak RSS MB | check |\n|---|---|---|---|---|---|\n"
        f"| (a) source, incrementing, cursor of batch.max.rows=1000 | {s['rows_per_s']:,} | {s['cpu_us_per_row']} "
        f"| {s['cpu_s']} | {s['peak_rss_mb']} | {s['check']} |\n"
        f"| (b) sink, insert, multi-row batch.size=3000 | {k['rows_per_s']:,} | {k['cpu_us_per_row']} "
        f"| {k['cpu_s']} | {k['peak_rss_mb']} | {k['check']} |\n")


def run(a, n, tmp, pg):
    pg.psql("CREATE TABLE orders (id BIGINT PRIMARY KEY, customer TEXT NOT NULL, email TEXT, "
            "amount DOUBLE PRECISION, qty INT, created TIMESTAMP NOT NULL)")
    pg.psql(f"INSERT INTO orders SELECT g, 'customer ' || lpad(g::text, 7, '0'), 'c' || g || '@example.com', "
            f"g * 0.25 + 0.01, g % 17, TIMESTAMP '2023-11-14 22:13:20' + g * INTERVAL '1 millisecond' "
            f"FROM generate_series(1, {n}) g")
    pg.psql("VACUUM ANALYZE orders")
    run_id = uuid.uuid4().hex[:8]
    common = {"connection.url": pg.url(), "connection.user": pg.user, "connection.password": pg.password}

    # (a) PostgreSQL source -> Kafka
    prefix = f"bench-jdbc-{run_id}-"
    topic = prefix + "orders"
    create_topic(a.bootstrap, topic)  # before the clock: auto-creation is not measured
    name = "bench-jdbc-source"
    source_done = incrementing_reached(os.path.join(tmp, "source.offsets.db"), name,
                                       "shop.public.orders", n)

    secs, cpu, hwm, _, rc = run_until(a.binary, tmp, "source", a.bootstrap, dict(common, **{
        "name": name, "connector.class": "io.confluent.connect.jdbc.JdbcSourceConnector",
        "mode": "incrementing", "incrementing.column.name": "id", "table.whitelist": "orders",
        "topic.prefix": prefix}), source_done)
    src = figures(n, secs, cpu, hwm, rc)
    count = topic_count(a.bootstrap, topic)
    src["check"] = "ok" if count == n else f"FAILED: the topic holds {count} records"

    # (b) Kafka -> PostgreSQL sink, from the topic (a) wrote
    def sink_rows():
        try:
            return int(pg.psql("SELECT count(*) FROM orders_copy")[0][0])
        except (RuntimeError, IndexError, ValueError):
            return 0

    def sink_done():
        time.sleep(0.2)  # psql per check: keep it off the worker's CPU
        return sink_rows() >= n

    secs, cpu, hwm, _, rc = run_until(a.binary, tmp, "sink", a.bootstrap, sink_props(
        f"bench-jdbc-sink-{run_id}", topic, pg.url(), "orders_copy",
        **{"connection.user": pg.user, "connection.password": pg.password}), sink_done)
    snk = figures(n, secs, cpu, hwm, rc)
    err = sink_check(pg.psql(sink_totals_sql("orders_copy"))[0], n)
    snk["check"] = f"FAILED: {err}" if err else "ok"
    return {"records": n, "source": src, "sink": snk}


if __name__ == "__main__":
    main()
