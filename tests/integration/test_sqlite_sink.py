"""scripts/sqlite_sink.lua (Confluent's JDBC sink for SQLite) on a real broker through the CLI:
JsonConverter envelopes produced with kcat land in SQLite tables; upsert, tombstones, auto.evolve,
a bad record's error, and exactly once across 20 kill -9s."""

from __future__ import annotations

import json
import random
import sqlite3
import subprocess
import threading
import time
import uuid
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

from conftest import kcat_consume_json, kcat_produce, unique_topic
from worker import Worker, wait_for

PERSON = {"type": "struct", "optional": False, "fields": [
    {"field": "id", "type": "int64", "optional": False},
    {"field": "name", "type": "string", "optional": True},
    {"field": "amount", "type": "double", "optional": True},
    {"field": "big", "type": "int64", "optional": True},
]}
KEY = {"type": "struct", "optional": False, "fields": [{"field": "id", "type": "int64", "optional": False}]}


def envelope(schema: dict, payload) -> bytes:
    return json.dumps({"schema": schema, "payload": payload}, separators=(",", ":"),
                      ensure_ascii=False).encode()


def produce_keyed(bootstrap: str, topic: str, msgs: Sequence[Tuple[bytes, Optional[bytes]]]) -> None:
    """Produce (key, value) pairs in order; value None is a tombstone (kcat -Z)."""
    payload = b"".join(k + b"\t" + (v or b"") + b"\n" for k, v in msgs)
    proc = subprocess.run(["kcat", "-q", "-b", bootstrap, "-P", "-t", topic, "-K", "\t", "-Z",
                           "-X", "acks=all"], input=payload, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=60)
    assert proc.returncode == 0 and b"ERROR" not in proc.stderr, proc.stderr.decode(errors="replace")


def query(db: Path, sql: str) -> Optional[List[tuple]]:
    """Rows of sql on db, or None while the database or table does not exist yet."""
    if not db.exists():
        return None
    con = sqlite3.connect(db, timeout=10)
    try:
        return con.execute(sql).fetchall()
    except sqlite3.OperationalError:
        return None
    finally:
        con.close()


def sink(name: str, topic: str, db: Path, **props: str) -> dict:
    conf = {"name": name, "connector.class": "io.confluent.connect.jdbc.JdbcSinkConnector",
            "topics": topic, "connection.url": f"jdbc:sqlite:{db}"}
    conf.update({k.replace("_", "."): v for k, v in props.items()})
    return conf


def test_json_envelopes_upsert_by_record_value(kafka, tmp_path):
    topic, db = unique_topic("lc-jdbc-upsert"), tmp_path / "out.db"
    values, want = [], {}
    for i in range(300):
        row = {"id": i % 200, "name": f"n{i} ✓", "amount": i / 4, "big": 2 ** 60 + i}
        values.append(envelope(PERSON, row))
        want[row["id"]] = (row["id"], row["name"], row["amount"], row["big"])
    kcat_produce(kafka, topic, values)
    w = Worker(tmp_path, kafka, [sink("jdbc-upsert", topic, db, insert_mode="upsert",
                                      pk_mode="record_value", pk_fields="id", auto_create="true")])
    with w:
        wait_for(lambda: query(db, f'SELECT name FROM "{topic}" WHERE id = 99') == [("n299 ✓",)],
                 60, "the last upsert", w.log)
        time.sleep(1)
        assert w.status("jdbc-upsert", 0)[0] == "RUNNING"
        assert w.stop() == 0
    rows = query(db, f'SELECT id, name, amount, big FROM "{topic}" ORDER BY id')
    assert rows == [want[i] for i in sorted(want)]
    assert query(db, f"SELECT name, type, pk FROM pragma_table_info('{topic}')") == [
        ("id", "INTEGER", 1), ("name", "TEXT", 0), ("amount", "REAL", 0), ("big", "INTEGER", 0)]
    assert "Creating table with sql: CREATE TABLE" in w.log()


def test_tombstones_delete_and_auto_evolve_adds_a_column(kafka, tmp_path):
    topic, db = unique_topic("lc-jdbc-del"), tmp_path / "out.db"
    wider = dict(PERSON, fields=PERSON["fields"] + [{"field": "email", "type": "string", "optional": True}])
    msgs = [(envelope(KEY, {"id": i}), envelope(PERSON, {"id": i, "name": f"p{i}"})) for i in range(1, 6)]
    msgs.append((envelope(KEY, {"id": 6}), envelope(wider, {"id": 6, "name": "p6", "email": "six@x"})))
    msgs += [(envelope(KEY, {"id": 2}), None), (envelope(KEY, {"id": 4}), None)]
    produce_keyed(kafka, topic, msgs)
    w = Worker(tmp_path, kafka, [sink("jdbc-del", topic, db, insert_mode="upsert", pk_mode="record_key",
                                      delete_enabled="true", auto_create="true", auto_evolve="true",
                                      table_name_format="kafka_${topic}")])
    table = f"kafka_{topic}"
    with w:
        wait_for(lambda: query(db, f'SELECT id FROM "{table}" ORDER BY id') == [(1,), (3,), (5,), (6,)],
                 60, "rows 2 and 4 deleted", w.log)
        # a later record with the old schema still goes in; the new column stays NULL
        produce_keyed(kafka, topic, [(envelope(KEY, {"id": 2}), envelope(PERSON, {"id": 2, "name": "back"}))])
        wait_for(lambda: len(query(db, f'SELECT id FROM "{table}"') or []) == 5, 60, "id 2 again", w.log)
        assert w.status("jdbc-del", 0)[0] == "RUNNING"
        assert w.stop() == 0
    assert query(db, f'SELECT id, name, email FROM "{table}" ORDER BY id') == [
        (1, "p1", None), (2, "back", None), (3, "p3", None), (5, "p5", None), (6, "p6", "six@x")]
    assert "ALTER TABLE `%s` ADD `email` TEXT NULL" % table in w.log()


def test_a_record_that_does_not_fit_fails_the_task_naming_it(kafka, tmp_path):
    topic, db = unique_topic("lc-jdbc-bad"), tmp_path / "out.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, name TEXT NOT NULL, amount REAL, big INTEGER)")
    con.commit()
    con.close()
    kcat_produce(kafka, topic, [envelope(PERSON, {"id": 1, "name": "a"}), envelope(PERSON, {"id": 2}),
                                envelope(PERSON, {"id": 3, "name": "c"})])
    w = Worker(tmp_path, kafka, [sink("jdbc-bad", topic, db, table_name_format="orders",
                                      exactly_once="true")])
    with w:
        wait_for(lambda: (w.status("jdbc-bad", 0) or ("",))[0] == "FAILED", 60, "the task to fail", w.log)
        trace = w.status("jdbc-bad", 0)[1]
        assert w.stop() == 0
    assert (f"(topic {topic}, partition 0, offset 1): SQL error: NOT NULL constraint failed: orders.name "
            "(in: INSERT INTO `orders`(`id`,`name`,`amount`,`big`) VALUES(?,?,?,?))") in trace
    assert query(db, "SELECT id, name FROM orders") == [(1, "a")], "the record before it is kept"
    assert query(db, "SELECT topic, partition, next_offset FROM __luaconnect_offsets") == [(topic, 0, 1)]

    # errors.tolerance=all: the bad record takes the error path (log + DLQ, stage TASK_PUT,
    # original bytes), the rest is written
    dlq = unique_topic("lc-jdbc-dlq")
    conn = sink("jdbc-bad-tolerant", topic, db, table_name_format="orders", insert_mode="upsert",
                pk_mode="record_value", pk_fields="id", errors_tolerance="all")
    conn.update({"errors.log.enable": "true", "errors.deadletterqueue.topic.name": dlq,
                 "errors.deadletterqueue.topic.replication.factor": "1",
                 "errors.deadletterqueue.context.headers.enable": "true"})
    w2 = Worker(tmp_path, kafka, [conn], name="w2")
    with w2:
        wait_for(lambda: query(db, "SELECT id FROM orders ORDER BY id") == [(1,), (3,)], 60,
                 "records 1 and 3", w2.log)
        assert w2.status("jdbc-bad-tolerant", 0)[0] == "RUNNING"
        assert w2.stop() == 0
    assert "Executing stage 'TASK_PUT' with class 'JdbcSinkConnector'" in w2.log()
    msgs = kcat_consume_json(kafka, dlq, 1)
    assert len(msgs) == 1
    assert msgs[0]["payload"] == envelope(PERSON, {"id": 2}).decode(), "original bytes unchanged"
    h = msgs[0]["headers"]
    assert (h["__connect.errors.stage"], h["__connect.errors.offset"]) == ("TASK_PUT", "1")
    assert "NOT NULL constraint failed: orders.name" in h["__connect.errors.exception.message"]


def test_exactly_once_across_20_kill_9s(kafka, tmp_path):
    """A producer streams 50,000 records while the worker is killed with SIGKILL 20 times at
    random moments and restarted: the table ends with each record exactly once (plain INSERTs
    without a key, so a record written twice would be a second row)."""
    topic, db, n = unique_topic("lc-jdbc-eos"), tmp_path / "out.db", 50_000
    schema = {"type": "struct", "optional": False, "fields": [
        {"field": "id", "type": "int64", "optional": False},
        {"field": "text", "type": "string", "optional": False}]}
    chunks = [[envelope(schema, {"id": i, "text": "row %d" % i}) for i in range(c, min(c + 1250, n))]
              for c in range(0, n, 1250)]
    rng = random.Random(20240607)

    def produce():
        for chunk in chunks:
            kcat_produce(kafka, topic, chunk, timeout=60)
            time.sleep(random.uniform(0.1, 0.5))

    # A rollback journal: each commit takes several fsyncs, so kills land inside transactions
    # more often, and a killed one leaves a hot journal for the next start to roll back.
    conf = sink("jdbc-eos", topic, db, exactly_once="true", auto_create="true", table_name_format="events")
    conf["connection.url"] += "?journal_mode=DELETE"
    w = Worker(tmp_path, kafka, [conf],
               worker={"offset.flush.interval.ms": "500",
                       "consumer.session.timeout.ms": "6000",
                       "consumer.heartbeat.interval.ms": "1000",
                       # a restarted worker takes over its killed predecessor's place in the
                       # group at once instead of waiting for the session to expire
                       "consumer.group.instance.id": "eos-" + uuid.uuid4().hex[:8]})

    def count() -> int:
        r = query(db, "SELECT count(*) FROM events")
        return r[0][0] if r else 0

    producer = threading.Thread(target=produce)
    producer.start()
    t0 = time.monotonic()
    journal = Path(str(db) + "-journal")  # exists while a write transaction is open
    kills_in_txn = 0
    try:
        for k in range(20):
            w.start()
            deadline = time.monotonic() + 5
            if k % 2 == 0:
                # inside a write transaction
                while not journal.exists() and time.monotonic() < deadline and w.alive():
                    time.sleep(0.0002)
            else:
                # at a random moment once it is writing again
                before = count()
                while count() == before and time.monotonic() < deadline and w.alive():
                    time.sleep(0.002)
                time.sleep(rng.uniform(0, 0.3))
            assert w.alive(), w.log()[-4000:]
            w.kill()
            kills_in_txn += journal.exists() and journal.stat().st_size > 0
        w.start()
        producer.join()
        wait_for(lambda: count() >= n, 120, "all 50,000 records", w.log)
        time.sleep(2)  # anything written twice would arrive now
        assert w.status("jdbc-eos", 0)[0] == "RUNNING"
        assert w.stop() == 0
    finally:
        producer.join()
    rows = query(db, "SELECT count(*), count(DISTINCT id), min(id), max(id), sum(id) FROM events")
    assert rows == [(n, n, 0, n - 1, n * (n - 1) // 2)]
    bad = query(db, "SELECT count(*) FROM events WHERE text <> 'row ' || id")
    assert bad == [(0,)]
    assert query(db, "SELECT topic, partition, next_offset FROM __luaconnect_offsets") == [(topic, 0, n)]
    assert w.log().count("starts at offset") >= 10, "restarts resumed from the sink's own offsets"
    assert kills_in_txn >= 1, "no kill landed inside a write transaction"
    print(f"exactly-once test: 20 kills ({kills_in_txn} inside a write transaction) in "
          f"{time.monotonic() - t0:.1f} s")
