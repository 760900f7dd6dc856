"""The SQLite source's other modes and value types on a real broker through the CLI, beyond
test_sqlite_source.py: bulk, timestamp with updates, a custom query (the WHERE clause appended),
tables created while running, NULLs / BLOBs / large integers / REAL / UTF-8 arriving exactly
(on the topic and in a sink table), a bad query's status trace, and the two SQLite examples'
shipped configs end to end (sqlite-updates: an UPDATE flows into the upserted table)."""

from __future__ import annotations

import base64
import json
import random
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Dict, List, Tuple

from conftest import kcat_consume_records, unique_topic
from test_sqlite_sink import query, sink
from test_sqlite_source import db_exec, payloads, source
from worker import Worker, wait_for

REPO = Path(__file__).resolve().parents[2]


def rows_of(db: Path, sql: str) -> List[tuple]:
    return query(db, sql) or []


def count(db: Path, table: str) -> int:
    r = query(db, f'SELECT count(*) FROM "{table}"')
    return r[0][0] if r else 0


def text_ms(text: str) -> int:
    """Epoch ms of SQLite TEXT 'YYYY-MM-DD HH:MM:SS.fff' (UTC)."""
    dt = datetime.strptime(text, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=timezone.utc)
    return round(dt.timestamp() * 1000)


def test_bulk_mode_sends_the_whole_table_at_every_poll(kafka, tmp_path):
    db, prefix = tmp_path / "bulk.db", unique_topic("lc-sqlite-bulk") + "-"
    db_exec(db, "CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT)",
            "INSERT INTO items VALUES (1, 'a'), (2, 'b'), (3, 'c')")
    w = Worker(tmp_path, kafka, [source("bulk", db, prefix, mode="bulk",
                                        **{"poll.interval.ms": "300"})])
    topic = prefix + "items"
    old = [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}, {"id": 3, "name": "c"}]
    new = [{"id": 1, "name": "a"}, {"id": 2, "name": "B"}, {"id": 3, "name": "c"}, {"id": 4, "name": "d"}]
    with w:
        recs = kcat_consume_records(kafka, topic, 6, timeout=30)
        assert payloads(recs) == old + old, w.log()[-3000:]
        db_exec(db, "UPDATE items SET name = 'B' WHERE id = 2", "INSERT INTO items VALUES (4, 'd')")
        time.sleep(1.5)  # five more polls
        assert w.stop() == 0
    # read once the worker has stopped: while it polls every 300 ms kcat -e never sees the end
    recs = kcat_consume_records(kafka, topic, 1_000_000, timeout=1)
    rounds: List[list] = []
    for p in payloads(recs):  # a poll's rows come in id order: a smaller id starts the next poll
        if not rounds or p["id"] <= rounds[-1][-1]["id"]:
            rounds.append([])
        rounds[-1].append(p)
    first_new = next(i for i, r in enumerate(rounds) if r != old)
    assert rounds[:first_new] == [old] * first_new and first_new >= 2
    assert rounds[first_new:-1] == [new] * (len(rounds) - first_new - 1) and len(rounds) - first_new >= 2
    assert new[:len(rounds[-1])] == rounds[-1]  # the last one may be cut off by the count
    assert [json.loads(r["key"])["payload"] for r in recs[:3]] == [1, 2, 3]
    # bulk records carry no offset, so nothing is committed for the table
    assert w.source_offset("bulk", {"protocol": "1", "table": "items"}) is None


def test_timestamp_mode_turns_updates_into_events(kafka, tmp_path):
    db, prefix = tmp_path / "ts.db", unique_topic("lc-sqlite-tsmode") + "-"
    db_exec(db, "CREATE TABLE tickets(id INTEGER PRIMARY KEY, status TEXT, modified DATETIME NOT NULL)",
            "INSERT INTO tickets VALUES (1, 'open', '2024-01-01 00:00:01'), (2, 'open', '2024-01-01 00:00:02'),"
            " (3, 'open', '2024-01-01 00:00:02.500')")
    w = Worker(tmp_path, kafka, [source("tsmode", db, prefix, mode="timestamp",
                                        **{"timestamp.column.name": "modified"})])
    topic = prefix + "tickets"
    part = {"protocol": "1", "table": "tickets"}
    with w:
        assert len(kcat_consume_records(kafka, topic, 3, timeout=30)) == 3, w.log()[-3000:]
        db_exec(db, "UPDATE tickets SET status = 'closed', modified = '2024-01-02 00:00:00' WHERE id = 1")
        assert len(kcat_consume_records(kafka, topic, 4, timeout=30)) == 4, w.log()[-3000:]
        # an UPDATE that leaves the timestamp alone is not seen; one to an integer epoch ms is
        db_exec(db, "UPDATE tickets SET status = 'unseen' WHERE id = 3",
                "UPDATE tickets SET status = 'reopened', modified = 1704240000123 WHERE id = 2")
        assert len(kcat_consume_records(kafka, topic, 5, timeout=30)) == 5, w.log()[-3000:]
        wait_for(lambda: w.source_offset("tsmode", part) == {"timestamp": 1704240000123,
                                                             "timestamp_nanos": 123000000},
                 20, "the committed offset of the last update", w.log)
        recs = kcat_consume_records(kafka, topic, 6, timeout=1.5)  # nothing more arrives
        assert w.stop() == 0
    assert [(p["id"], p["status"], p["modified"]) for p in payloads(recs)] == [
        (1, "open", 1704067201000), (2, "open", 1704067202000), (3, "open", 1704067202500),
        (1, "closed", 1704153600000), (2, "reopened", 1704240000123)]
    assert json.loads(recs[0]["value"])["schema"]["fields"][2] == {
        "type": "int64", "optional": False, "name": "org.apache.kafka.connect.data.Timestamp",
        "version": 1, "field": "modified"}


def test_custom_query_with_incrementing_gets_the_where_clause_appended(kafka, tmp_path):
    db, topic = tmp_path / "shop.db", unique_topic("lc-sqlite-query")
    db_exec(db, "CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT)",
            "CREATE TABLE orders(order_id INTEGER PRIMARY KEY, customer_id INTEGER, qty INTEGER)",
            "INSERT INTO customers VALUES (1, 'alice'), (2, 'bob')",
            "INSERT INTO orders VALUES (10, 1, 5), (11, 2, 1)")
    q = ("SELECT o.order_id, c.name AS customer, o.qty * 2 AS double_qty "
         "FROM orders o JOIN customers c ON c.id = o.customer_id")
    w = Worker(tmp_path, kafka, [source("query", db, topic, mode="incrementing", query=q,
                                        **{"incrementing.column.name": "order_id"})])
    with w:
        assert len(kcat_consume_records(kafka, topic, 2, timeout=30)) == 2, w.log()[-3000:]
        db_exec(db, "INSERT INTO orders VALUES (12, 1, 7)")
        recs = kcat_consume_records(kafka, topic, 3, timeout=30)
        assert len(recs) == 3, w.log()[-3000:]
        wait_for(lambda: w.source_offset("query", {"query": "query"}) == {"incrementing": 12},
                 20, "the committed offset", w.log)
        assert w.stop() == 0
    assert f"query: {q} WHERE `order_id` > ? ORDER BY `order_id` ASC" in w.log()
    assert payloads(recs) == [{"order_id": 10, "customer": "alice", "double_qty": 10},
                              {"order_id": 11, "customer": "bob", "double_qty": 2},
                              {"order_id": 12, "customer": "alice", "double_qty": 14}]
    # an unnamed struct; the expression's type comes from its first value; no key for a query
    assert json.loads(recs[0]["value"])["schema"] == {"type": "struct", "optional": False, "fields": [
        {"type": "int64", "optional": False, "field": "order_id"},
        {"type": "string", "optional": True, "field": "customer"},
        {"type": "int64", "optional": True, "field": "double_qty"}]}
    assert [r["key"] for r in recs] == [None] * 3


def test_tables_created_while_running_are_picked_up(kafka, tmp_path):
    db, prefix = tmp_path / "grow.db", unique_topic("lc-sqlite-grow") + "-"
    db_exec(db, "CREATE TABLE alpha(id INTEGER PRIMARY KEY, v TEXT)", "INSERT INTO alpha VALUES (1, 'one')")
    w = Worker(tmp_path, kafka, [source("grow", db, prefix, mode="incrementing",
                                        **{"table.poll.interval.ms": "300"})])
    with w:
        assert payloads(kcat_consume_records(kafka, prefix + "alpha", 1, timeout=30)) == [
            {"id": 1, "v": "one"}], w.log()[-3000:]
        db_exec(db, "CREATE TABLE beta(id INTEGER PRIMARY KEY, v TEXT)",
                "INSERT INTO beta VALUES (1, 'uno'), (2, 'dos')")
        recs = kcat_consume_records(kafka, prefix + "beta", 2, timeout=30)
        assert payloads(recs) == [{"id": 1, "v": "uno"}, {"id": 2, "v": "dos"}], w.log()[-3000:]
        db_exec(db, "DROP TABLE alpha", "INSERT INTO beta VALUES (3, 'tres')")
        assert len(kcat_consume_records(kafka, prefix + "beta", 3, timeout=30)) == 3, w.log()[-3000:]
        wait_for(lambda: "table alpha is gone; no longer polled" in w.log(), 10, "the dropped table", w.log)
        assert w.status("grow", 0)[0] == "RUNNING"
        assert w.stop() == 0
    assert f"found table beta; copying it to {prefix}beta" in w.log()
    assert w.source_offset("grow", {"protocol": "1", "table": "beta"}) == {"incrementing": 3}


def test_nulls_blobs_large_integers_reals_and_utf8_arrive_exactly(kafka, tmp_path):
    src, dst, prefix = tmp_path / "types.db", tmp_path / "copy.db", unique_topic("lc-sqlite-types") + "-"
    rnd = random.Random(7)
    rows: List[Tuple] = [
        (1, 9007199254740993, 0.1, "émile 🙂 — 日本語", b"\x00\xff\x10"),
        (2, None, None, None, None),
        (3, -9223372036854775808, 1e300, 'quote " backslash \\ newline \n tab \t ctl \x01 nul \x00', b""),
        (4, 9223372036854775807, -2.5, "", bytes(rnd.randrange(256) for _ in range(3000))),
        (5, 0, 3.141592653589793, "\u2028\u2029 zero\u200bwidth e\u0301 \U0001f600", bytes(range(256))),
        (6, -9007199254740993, 1.0, "x" * 5000, b"\n"),
        (7, 2 ** 62 + 1, 5e-324, "ok", b"\x80"),
        (8, 1, 123456789.12345679, "\ud7ff\ue000\uffff", None),
    ]
    db_exec(src, "CREATE TABLE vals(id INTEGER PRIMARY KEY, i BIGINT, r REAL, t TEXT, b BLOB)")
    for r in rows:
        db_exec(src, "INSERT INTO vals VALUES (?, ?, ?, ?, ?)", params=r)
    topic = prefix + "vals"
    w = Worker(tmp_path, kafka, [
        source("types", src, prefix, mode="incrementing"),
        sink("types-sink", topic, dst, insert_mode="upsert", pk_mode="record_value", pk_fields="id",
             auto_create="true", table_name_format="vals_copy")])
    with w:
        wait_for(lambda: count(dst, "vals_copy") == len(rows), 60, "the sink table", w.log)
        assert w.status("types", 0)[0] == "RUNNING" and w.status("types-sink", 0)[0] == "RUNNING"
        assert w.stop() == 0
    recs = kcat_consume_records(kafka, topic, len(rows), timeout=10)
    envs = [json.loads(r["value"]) for r in recs]
    assert envs[0]["schema"]["fields"] == [
        {"type": "int64", "optional": False, "field": "id"},
        {"type": "int64", "optional": True, "field": "i"},
        {"type": "double", "optional": True, "field": "r"},
        {"type": "string", "optional": True, "field": "t"},
        {"type": "bytes", "optional": True, "field": "b"}]
    got = [(p["id"], p["i"], p["r"], p["t"], None if p["b"] is None else base64.b64decode(p["b"], validate=True))
           for p in (e["payload"] for e in envs)]
    assert got == rows
    assert all(type(p["r"]) is float for p in payloads(recs) if p["r"] is not None)
    assert b'"i":9007199254740993,' in recs[0]["value"] and b'"b":"AP8Q"' in recs[0]["value"]
    assert b'"b":""' in recs[2]["value"] and b'"r":1.0,' in recs[5]["value"]
    # and the sink wrote them back exactly, with the types auto.create chose
    assert rows_of(dst, "SELECT id, i, r, t, b FROM vals_copy ORDER BY id") == rows
    assert rows_of(dst, "SELECT DISTINCT typeof(i), typeof(r), typeof(t), typeof(b) FROM vals_copy "
                        "WHERE id = 1") == [("integer", "real", "text", "blob")]
    assert rows_of(dst, "SELECT name, type FROM pragma_table_info('vals_copy')") == [
        ("id", "INTEGER"), ("i", "INTEGER"), ("r", "REAL"), ("t", "TEXT"), ("b", "BLOB")]


def test_a_bad_query_fails_the_task_with_the_sql_error_and_the_statement(kafka, tmp_path):
    db = tmp_path / "bad.db"
    db_exec(db, "CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT)", "INSERT INTO items VALUES (1, 'a')")
    w = Worker(tmp_path, kafka, [
        source("bad-column", db, unique_topic("lc-sqlite-badcol"), mode="incrementing",
               query="SELECT id, nme FROM items", **{"incrementing.column.name": "id"}),
        source("bad-syntax", db, unique_topic("lc-sqlite-badsyn"), mode="bulk", query="SELEC * FROM items")])
    with w:
        for name in ("bad-column", "bad-syntax"):
            wait_for(lambda: (w.status(name, 0) or ("",))[0] == "FAILED", 30, f"{name} to fail", w.log)
        col, syn = w.status("bad-column", 0)[1], w.status("bad-syntax", 0)[1]
        assert w.alive()  # the other connectors' failures do not stop the worker
        assert w.stop() == 0
    assert ("SQL error: no such column: nme (in: SELECT id, nme FROM items "
            "WHERE `id` > ? ORDER BY `id` ASC)") in col
    assert 'SQL error: near "SELEC": syntax error (in: SELEC * FROM items)' in syn
    assert "stage TASK_POLL" in col and "stage TASK_POLL" in syn


# The examples' shipped .properties files, with the broker, absolute database paths and a
# fresh topic prefix (the broker is shared between runs) as the only changes.

def read_props(path: Path) -> Dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith(("#", "!")):
            k, _, v = line.partition("=")
            out[k.strip()] = v.strip()
    return out


def example_worker(tmp: Path, kafka: str, example: str, files: List[str], old_prefix: str, new_prefix: str):
    d = REPO / "examples" / example
    wp = read_props(d / "worker.properties")
    wp.pop("offset.storage.file.filename")  # the Worker's own, which it reads back
    wp.pop("bootstrap.servers")
    conns = []
    for f in files:
        c = read_props(d / f)
        c["connection.url"] = c["connection.url"].replace("jdbc:sqlite:", f"jdbc:sqlite:{tmp}/")
        for k in ("topic.prefix", "topics"):
            if k in c:
                assert c[k].startswith(old_prefix)
                c[k] = new_prefix + c[k][len(old_prefix):]
        conns.append(c)
    return Worker(tmp, kafka, conns, worker=wp)


def test_sqlite_updates_example_end_to_end(kafka, tmp_path):
    shop, replica, prefix = tmp_path / "shop.db", tmp_path / "replica.db", unique_topic("lc-ex-updates") + "-"
    db_exec(shop, "CREATE TABLE customers(id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT, tier TEXT, "
                  "updated_at TIMESTAMP NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f','now')))",
            "INSERT INTO customers(name, tier) VALUES ('alice', 'basic'), ('bob', 'basic')")
    w = example_worker(tmp_path, kafka, "sqlite-updates", ["source.properties", "sink.properties"],
                       "shop-", prefix)
    part = {"protocol": "1", "table": "customers"}
    rep = "SELECT id, name, tier FROM customers ORDER BY id"
    with w:
        wait_for(lambda: count(replica, "customers") == 2, 60, "the first two rows", w.log)
        db_exec(shop, "INSERT INTO customers(name, tier) VALUES ('carol', 'basic')")
        wait_for(lambda: count(replica, "customers") == 3, 30, "carol", w.log)
        db_exec(shop, "UPDATE customers SET tier = 'gold', updated_at = strftime('%Y-%m-%d %H:%M:%f','now') "
                      "WHERE name = 'bob'")
        wait_for(lambda: rows_of(replica, rep) == [(1, "alice", "basic"), (2, "bob", "gold"), (3, "carol", "basic")],
                 30, "bob's update in the replica", w.log)
        wait_for(lambda: (w.source_offset("sqlite-updates-source", part) or {}).get("incrementing") == 2,
                 20, "the committed offset of the update", w.log)
        assert w.status("sqlite-updates-source", 0)[0] == "RUNNING"
        assert w.status("sqlite-updates-sink", 0)[0] == "RUNNING"
        assert w.stop() == 0
    bob_ms = text_ms(rows_of(shop, "SELECT updated_at FROM customers WHERE id = 2")[0][0])
    assert w.source_offset("sqlite-updates-source", part) == {
        "incrementing": 2, "timestamp": bob_ms, "timestamp_nanos": bob_ms % 1000 * 1_000_000}
    recs = kcat_consume_records(kafka, prefix + "customers", 5, timeout=2)
    assert [(p["id"], p["tier"]) for p in payloads(recs)] == [(1, "basic"), (2, "basic"), (3, "basic"),
                                                              (2, "gold")]
    assert payloads(recs)[-1]["updated_at"] == bob_ms
    assert rows_of(replica, "SELECT updated_at FROM customers WHERE id = 2") == [(bob_ms,)]


def test_sqlite_pipeline_example_end_to_end(kafka, tmp_path):
    test_db, replica, prefix = tmp_path / "test.db", tmp_path / "replica.db", unique_topic("lc-ex-pipeline") + "-"
    db_exec(test_db, "CREATE TABLE accounts(id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, name VARCHAR(255))",
            "INSERT INTO accounts(name) VALUES ('alice'), ('bob')")
    w = example_worker(tmp_path, kafka, "sqlite-pipeline",
                       ["source-quickstart-sqlite.properties", "sink-sqlite.properties"], "test-sqlite-jdbc-", prefix)
    rep = "SELECT id, name FROM accounts_replica ORDER BY id"
    with w:
        wait_for(lambda: rows_of(replica, rep) == [(1, "alice"), (2, "bob")], 60, "the first two rows", w.log)
        db_exec(test_db, "INSERT INTO accounts(name) VALUES ('carol')")
        wait_for(lambda: rows_of(replica, rep) == [(1, "alice"), (2, "bob"), (3, "carol")], 30, "carol", w.log)
        wait_for(lambda: w.source_offset("test-source-sqlite-jdbc-autoincrement",
                                         {"protocol": "1", "table": "accounts"}) == {"incrementing": 3},
                 20, "the committed offset", w.log)
        assert w.status("test-sink-sqlite-jdbc", 0)[0] == "RUNNING"
        assert w.stop() == 0
    assert len(kcat_consume_records(kafka, prefix + "accounts", 4, timeout=2)) == 3
