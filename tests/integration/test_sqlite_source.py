"""The SQLite source (Confluent's JdbcSourceConnector keys) on a real broker through the CLI:
JsonConverter envelopes, updates as new events, restarts without loss or duplicates,
Confluent's quickstart file, and a missing table failing its task."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import time
import uuid
from pathlib import Path

from conftest import kcat_consume_records, luaconnect_bin, unique_topic
from worker import Worker, wait_for

REPO = Path(__file__).resolve().parents[2]


def db_exec(path: Path, *statements, params=()):
    con = sqlite3.connect(path, timeout=10)
    try:
        for s in statements:
            con.execute(s, params) if params else con.execute(s)
        con.commit()
    finally:
        con.close()


def payloads(recs):
    return [json.loads(r["value"])["payload"] for r in recs]


def source(name, db: Path, prefix: str, **extra):
    c = {"name": name, "connector.class": "io.confluent.connect.jdbc.JdbcSourceConnector",
         "tasks.max": "1", "connection.url": f"jdbc:sqlite:{db}", "topic.prefix": prefix,
         "poll.interval.ms": "200"}
    c.update(extra)
    return c


def test_incrementing_rows_arrive_as_jsonconverter_envelopes(kafka, tmp_path):
    db, prefix = tmp_path / "shop.db", unique_topic("lc-sqlite-inc") + "-"
    db_exec(db, "CREATE TABLE accounts(id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, name VARCHAR(255), "
                "balance REAL, photo BLOB)",
            "INSERT INTO accounts(name, balance, photo) VALUES ('alice', 10.5, x'00ff'), ('bob', 2.0, NULL)")
    w = Worker(tmp_path, kafka, [source("inc", db, prefix, mode="incrementing",
                                        **{"incrementing.column.name": "id"})])
    topic = prefix + "accounts"
    with w:
        recs = kcat_consume_records(kafka, topic, 2, timeout=30)
        assert len(recs) == 2, w.log()[-3000:]
        db_exec(db, "INSERT INTO accounts(name, balance) VALUES ('émile 🙂', NULL)")
        recs = kcat_consume_records(kafka, topic, 3, timeout=30)
        assert len(recs) == 3, w.log()[-3000:]
        wait_for(lambda: w.source_offset("inc", {"protocol": "1", "table": "accounts"}) == {"incrementing": 3},
                 20, "the committed offset", w.log)
        assert w.stop() == 0
    schema = {"type": "struct", "fields": [
        {"type": "int64", "optional": False, "field": "id"},
        {"type": "string", "optional": True, "field": "name"},
        {"type": "double", "optional": True, "field": "balance"},
        {"type": "bytes", "optional": True, "field": "photo"}],
        "optional": False, "name": "accounts"}
    assert json.loads(recs[0]["value"]) == {"schema": schema, "payload": {
        "id": 1, "name": "alice", "balance": 10.5, "photo": "AP8="}}
    assert recs[1]["value"] == (b'{"schema":' + json.dumps(schema, separators=(",", ":")).encode()
                                + b',"payload":{"id":2,"name":"bob","balance":2.0,"photo":null}}')
    assert payloads(recs)[2] == {"id": 3, "name": "émile 🙂", "balance": None, "photo": None}
    assert [json.loads(r["key"]) for r in recs] == [{"schema": {"type": "int64", "optional": False},
                                                     "payload": i} for i in (1, 2, 3)]


def test_timestamp_incrementing_updates_and_restart_without_loss_or_duplicates(kafka, tmp_path):
    db, prefix = tmp_path / "orders.db", unique_topic("lc-sqlite-ts") + "-"
    db_exec(db, "CREATE TABLE orders(id INTEGER PRIMARY KEY, status TEXT, modified TIMESTAMP NOT NULL)")
    for i in range(1, 201):
        db_exec(db, "INSERT INTO orders VALUES (?, 'new', ?)",
                params=(i, f"2024-01-01 00:{i // 60:02d}:{i % 60:02d}.{i % 1000:03d}"))
    conn = source("ts", db, prefix, mode="timestamp+incrementing",
                  **{"incrementing.column.name": "id", "timestamp.column.name": "modified",
                     "batch.max.rows": "50"})
    w = Worker(tmp_path, kafka, [conn])
    topic = prefix + "orders"
    expected = [(i, "new") for i in range(1, 201)]
    with w:
        assert len(kcat_consume_records(kafka, topic, 200, timeout=30)) == 200, w.log()[-3000:]
        # an update is a new event; rows sharing a timestamp come once each
        db_exec(db, "UPDATE orders SET status = 'paid', modified = '2024-02-01 00:00:00' WHERE id IN (7, 9)")
        expected += [(7, "paid"), (9, "paid")]
        assert len(kcat_consume_records(kafka, topic, 202, timeout=30)) == 202, w.log()[-3000:]
        wait_for(lambda: (w.source_offset("ts", {"protocol": "1", "table": "orders"}) or {}).get("incrementing") == 9,
                 20, "the committed offset of the last update", w.log)
        assert w.stop() == 0
    assert w.source_offset("ts", {"protocol": "1", "table": "orders"}) == {
        "incrementing": 9, "timestamp": 1706745600000, "timestamp_nanos": 0}
    # changes while the worker is down, then a restart
    db_exec(db, "UPDATE orders SET status = 'shipped', modified = '2024-02-02 00:00:00.250' WHERE id = 7",
            "INSERT INTO orders VALUES (201, 'new', '2024-02-03 00:00:00')")
    expected += [(7, "shipped"), (201, "new")]
    with w.start():
        recs = kcat_consume_records(kafka, topic, 204, timeout=30)
        assert len(recs) == 204, w.log()[-3000:]
        time.sleep(1.5)  # a duplicate would arrive now
        assert w.stop() == 0
    recs = kcat_consume_records(kafka, topic, 205, timeout=5)
    assert [(p["id"], p["status"]) for p in payloads(recs)] == expected
    assert payloads(recs)[-2]["modified"] == 1706832000250  # a Connect Timestamp (epoch ms)
    assert "resuming table orders after offset" in w.log()


def test_confluent_quickstart_sqlite_file_runs_unchanged_apart_from_paths(kafka, tmp_path):
    table = "accounts_" + uuid.uuid4().hex[:8]  # a fresh topic on a shared broker
    db_exec(tmp_path / "test.db",
            f"CREATE TABLE {table}(id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, name VARCHAR(255))",
            f"INSERT INTO {table}(name) VALUES ('alice'), ('bob')")
    # config/source-quickstart-sqlite.properties from confluentinc/kafka-connect-jdbc
    (tmp_path / "source-quickstart-sqlite.properties").write_text(
        "# A simple example that copies all tables from a SQLite database.\n"
        "name=test-source-sqlite-jdbc-autoincrement\n"
        "connector.class=io.confluent.connect.jdbc.JdbcSourceConnector\n"
        "tasks.max=1\n"
        "connection.url=jdbc:sqlite:test.db\n"
        "mode=incrementing\n"
        "incrementing.column.name=id\n"
        "topic.prefix=test-sqlite-jdbc-\n"
        "\n"
        "#quote.sql.identifiers=always\n")
    worker = (REPO / "examples" / "kafka-quickstart" / "connect-standalone.properties").read_text()
    worker = worker.replace("localhost:9092", kafka).replace("/tmp/connect.offsets", str(tmp_path / "offsets"))
    worker += "\nlisteners=http://127.0.0.1:0\n"  # other test files run at the same time: 8083 may be taken
    (tmp_path / "connect-standalone.properties").write_text(worker)
    log = open(tmp_path / "log", "wb")
    proc = subprocess.Popen([str(luaconnect_bin()), "standalone", "connect-standalone.properties",
                             "source-quickstart-sqlite.properties"],
                            cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
    try:
        recs = kcat_consume_records(kafka, "test-sqlite-jdbc-" + table, 2, timeout=30)
        assert payloads(recs) == [{"id": 1, "name": "alice"}, {"id": 2, "name": "bob"}], \
            (tmp_path / "log").read_text()[-3000:]
    finally:
        proc.terminate()
        assert proc.wait(60) == 0


def test_missing_table_fails_the_task_with_the_sql_error(kafka, tmp_path):
    db = tmp_path / "empty.db"
    db_exec(db, "CREATE TABLE present(id INTEGER PRIMARY KEY)")
    w = Worker(tmp_path, kafka, [source("missing", db, unique_topic("lc-sqlite-missing") + "-",
                                        mode="incrementing",
                                        **{"incrementing.column.name": "id", "table.whitelist": "missing"})])
    with w:
        wait_for(lambda: (w.status("missing", 0) or ("",))[0] == "FAILED", 30, "the task to fail", w.log)
        state, trace = w.status("missing", 0)
        assert ("SQL error: no such table: missing (in: SELECT * FROM `missing` "
                "WHERE `missing`.`id` > ? ORDER BY `missing`.`id` ASC)") in trace
        assert "stage TASK_POLL" in trace
        assert w.stop() == 0
