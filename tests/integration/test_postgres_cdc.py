"""PostgreSQL change data capture (scripts/postgres_cdc_source.lua) with Debezium's class name,
keys, topics, schemas and offsets, against a PostgreSQL 15 with wal_level=logical the test starts
itself (pg_server.py), the real broker and the real CLI: the initial snapshot from the slot's
exported snapshot, then inserts, updates, deletes, truncates, a multi-statement transaction, NULLs,
the common types, REPLICA IDENTITY FULL, ALTER TABLE mid-stream, and kill -9 while streaming."""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
from pathlib import Path

import pytest

import cdc_compare as cc
from conftest import kcat_consume_records, unique_topic
from http_json import call_ok
from pg_server import PgServer
from worker import Worker, wait_for


@pytest.fixture(scope="module")
def pg():
    base = Path(tempfile.mkdtemp(prefix="lc-pgcdc-"))
    server = PgServer(base, logical=True)
    try:
        yield server.start()
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


def cdc(pg: PgServer, name: str, prefix: str, **extra) -> dict:
    c = {"name": name, "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
         "tasks.max": "1", "database.hostname": "127.0.0.1", "database.port": str(pg.port),
         "database.user": pg.user, "database.password": pg.password, "database.dbname": pg.db,
         "topic.prefix": prefix, "slot.name": prefix.replace("-", "_"), "publication.name": prefix + "_pub"}
    c.update({k.replace("_", "."): v for k, v in extra.items()})
    return c


def payloads(recs):
    return [None if r["value"] is None else json.loads(r["value"])["payload"] for r in recs]


def slot_lsn(pg: PgServer, slot: str) -> int:
    row = pg.psql(f"SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = '{slot}'")
    return lsn_num(row[0][0])


def test_snapshot_then_stream_with_debezium_records_and_offsets(kafka, pg, tmp_path):
    pg.psql("CREATE SCHEMA s1")
    pg.psql("CREATE TABLE s1.items (id INT PRIMARY KEY, name TEXT NOT NULL, qty INT)")
    pg.psql("INSERT INTO s1.items VALUES (1, 'one', 10), (2, 'two', NULL)")
    prefix = unique_topic("cdc1").replace("-", "_")  # topics outlive a run on a shared broker
    conf = cdc(pg, "cdc1", prefix, table_include_list="s1\\.items")
    w = Worker(tmp_path, kafka, [conf])
    topic = prefix + ".s1.items"
    with w:
        snap = kcat_consume_records(kafka, topic, 2, timeout=60)
        assert len(snap) == 2, w.log()[-3000:]
        pg.psql("BEGIN; INSERT INTO s1.items VALUES (3, 'three', 30); UPDATE s1.items SET qty = 11 WHERE id = 1; "
                "DELETE FROM s1.items WHERE id = 2; COMMIT")
        pg.psql("TRUNCATE s1.items")
        pg.psql("INSERT INTO s1.items VALUES (4, 'four', 40)")
        recs = kcat_consume_records(kafka, topic, 7, timeout=60)[2:]  # after the 2 snapshot records
        assert len(recs) == 5, w.log()[-3000:]
        wait_for(lambda: (w.source_offset("cdc1", {"server": prefix}) or {}).get("lsn_proc") is not None
                 and slot_lsn(pg, prefix) >= w.source_offset("cdc1", {"server": prefix})["lsn_proc"], 30,
                 "the slot confirmed up to the committed offset", w.log)
        assert w.stop() == 0

    first = json.loads(snap[0]["value"])
    assert json.loads(snap[0]["key"]) == {
        "schema": {"type": "struct", "fields": [{"type": "int32", "optional": False, "field": "id"}],
                   "optional": False, "name": prefix + ".s1.items.Key"}, "payload": {"id": 1}}
    sch = first["schema"]
    assert sch["name"] == prefix + ".s1.items.Envelope" and sch["version"] == 2
    assert [f["field"] for f in sch["fields"]] == ["before", "after", "source", "transaction", "op", "ts_ms",
                                                   "ts_us", "ts_ns"]
    value_schema = {"type": "struct", "fields": [{"type": "int32", "optional": False, "field": "id"},
                                                 {"type": "string", "optional": False, "field": "name"},
                                                 {"type": "int32", "optional": True, "field": "qty"}],
                    "optional": True, "name": prefix + ".s1.items.Value", "field": "after"}
    assert sch["fields"][1] == value_schema
    assert sch["fields"][2]["name"] == "io.debezium.connector.postgresql.Source" and sch["fields"][2]["version"] == 1
    assert sch["fields"][2]["fields"][4] == {
        "type": "string", "optional": True, "name": "io.debezium.data.Enum", "version": 1,
        "parameters": {"allowed": "true,first,first_in_data_collection,last_in_data_collection,last,false,incremental"},
        "default": "false", "field": "snapshot"}
    assert sch["fields"][3] == {
        "type": "struct", "fields": [{"type": "string", "optional": False, "field": "id"},
                                     {"type": "int64", "optional": False, "field": "total_order"},
                                     {"type": "int64", "optional": False, "field": "data_collection_order"}],
        "optional": True, "name": "event.block", "version": 1, "field": "transaction"}
    assert [f["field"] for f in sch["fields"][2]["fields"]] == [
        "version", "connector", "name", "ts_ms", "snapshot", "db", "sequence", "ts_us", "ts_ns", "schema",
        "table", "txId", "lsn", "xmin", "origin", "origin_lsn"]
    p = payloads(snap)
    assert [(x["op"], x["after"], x["before"], x["source"]["snapshot"]) for x in p] == [
        ("r", {"id": 1, "name": "one", "qty": 10}, None, "first"),
        ("r", {"id": 2, "name": "two", "qty": None}, None, "last")]
    src = p[0]["source"]
    assert (src["connector"], src["name"], src["db"], src["schema"], src["table"]) == (
        "postgresql", prefix, "shop", "s1", "items")

    p = payloads(recs)
    ops = [(x["op"], x["before"], x["after"]) if x else None for x in p[:5]]
    assert ops == [("c", None, {"id": 3, "name": "three", "qty": 30}),
                   ("u", None, {"id": 1, "name": "one", "qty": 11}),
                   ("d", {"id": 2, "name": "", "qty": None}, None),
                   None,  # the tombstone after the delete
                   ("c", None, {"id": 4, "name": "four", "qty": 40})]
    assert json.loads(recs[3]["key"])["payload"] == {"id": 2}
    # the three changes of one transaction share txId; truncate gives no record (skipped.operations=t)
    assert p[0]["source"]["txId"] == p[1]["source"]["txId"] == p[2]["source"]["txId"]
    assert p[4]["source"]["txId"] != p[0]["source"]["txId"]
    assert p[0]["source"]["snapshot"] == "false" and p[0]["source"]["lsn"] < p[1]["source"]["lsn"]
    off = w.source_offset("cdc1", {"server": prefix})
    # Debezium's offset of the last change: its LSN as lsn and lsn_proc, the end LSN of the
    # transaction before it (the TRUNCATE's, as source.sequence says) as lsn_commit
    src = p[4]["source"]
    assert off == {"lsn": src["lsn"], "lsn_proc": src["lsn"], "lsn_commit": int(json.loads(src["sequence"])[0]),
                   "txId": src["txId"], "ts_usec": src["ts_us"], "messageType": "INSERT"}, (off, src)


def test_common_types_nulls_replica_identity_full_and_alter_table(kafka, pg, tmp_path):
    pg.psql("""CREATE TABLE public.typed (id BIGINT PRIMARY KEY, s SMALLINT, i INT, b BOOLEAN, r REAL,
        d DOUBLE PRECISION, price NUMERIC(10,2), anyn NUMERIC, v VARCHAR(20), day DATE, ts TIMESTAMP,
        ts3 TIMESTAMP(3), tz TIMESTAMPTZ, u UUID, j JSONB, raw BYTEA)""")
    pg.psql("ALTER TABLE public.typed REPLICA IDENTITY FULL")
    prefix = unique_topic("cdc2").replace("-", "_")  # topics outlive a run on a shared broker
    w = Worker(tmp_path, kafka, [cdc(pg, "cdc2", prefix, table_include_list="public\\.typed",
                                     snapshot_mode="no_data")])
    topic = prefix + ".public.typed"
    with w:
        wait_for(lambda: "streaming from slot" in w.log(), 30, "streaming", w.log)
        pg.psql("""INSERT INTO typed VALUES (1, -3, 70000, true, 1.5, 2.25, 12.34, 3.14159, 'émile',
            '2024-02-29', '2024-01-02 03:04:05.678901', '2024-01-02 03:04:05.678', '2024-01-02 03:04:05+02',
            'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"a": 1}', '\\x00ff')""")
        pg.psql("INSERT INTO typed (id) VALUES (2)")
        pg.psql("UPDATE typed SET v = 'x' WHERE id = 2")
        pg.psql("ALTER TABLE typed ADD COLUMN extra TEXT DEFAULT 'e'")
        pg.psql("INSERT INTO typed (id, extra) VALUES (3, 'added')")
        recs = kcat_consume_records(kafka, topic, 4, timeout=60)
        assert len(recs) == 4, w.log()[-3000:]
        assert w.stop() == 0
    v = json.loads(recs[0]["value"])
    fields = {f["field"]: f for f in v["schema"]["fields"][1]["fields"]}
    assert fields["id"] == {"type": "int64", "optional": False, "field": "id"}
    assert fields["s"]["type"] == "int16" and fields["r"]["type"] == "float" and fields["d"]["type"] == "double"
    assert fields["price"] == {"type": "bytes", "optional": True, "name": "org.apache.kafka.connect.data.Decimal",
                               "version": 1, "parameters": {"scale": "2", "connect.decimal.precision": "10"},
                               "field": "price"}
    assert fields["anyn"]["name"] == "io.debezium.data.VariableScaleDecimal"
    assert fields["day"] == {"type": "int32", "optional": True, "name": "io.debezium.time.Date", "version": 1,
                             "field": "day"}
    assert fields["ts"]["name"] == "io.debezium.time.MicroTimestamp"
    assert fields["ts3"]["name"] == "io.debezium.time.Timestamp"
    assert fields["tz"] == {"type": "string", "optional": True, "name": "io.debezium.time.ZonedTimestamp",
                            "version": 1, "field": "tz"}
    assert fields["u"]["name"] == "io.debezium.data.Uuid" and fields["j"]["name"] == "io.debezium.data.Json"
    assert fields["raw"]["type"] == "bytes"
    a = v["payload"]["after"]
    assert a == {"id": 1, "s": -3, "i": 70000, "b": True, "r": 1.5, "d": 2.25, "price": "BNI=",
                 "anyn": {"scale": 5, "value": "BMsv"}, "v": "émile", "day": 19782, "ts": 1704164645678901,
                 "ts3": 1704164645678, "tz": "2024-01-02T01:04:05.000000Z", "u": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
                 "j": '{"a": 1}', "raw": "AP8="}
    p = payloads(recs)
    assert all(x is None for k, x in p[1]["after"].items() if k != "id")
    # REPLICA IDENTITY FULL: the whole before-image
    assert p[2]["op"] == "u" and p[2]["before"] == p[1]["after"] and p[2]["after"]["v"] == "x"
    # ALTER TABLE ADD COLUMN: the new column in the schema from the next change on
    assert p[3]["after"]["extra"] == "added"
    assert json.loads(recs[3]["value"])["schema"]["fields"][1]["fields"][-1] == {
        "type": "string", "optional": True, "default": "e", "field": "extra"}  # Debezium's default


def test_kill_9_while_streaming_loses_nothing_and_slot_never_passes_kafka(kafka, pg, tmp_path):
    pg.psql("CREATE TABLE public.events (id INT PRIMARY KEY, n INT)")
    prefix = unique_topic("cdc3").replace("-", "_")  # topics outlive a run on a shared broker
    conf = cdc(pg, "cdc3", prefix, table_include_list="public\\.events", snapshot_mode="no_data")
    w = Worker(tmp_path, kafka, [conf])
    topic = prefix + ".public.events"
    w.start()
    try:
        wait_for(lambda: "streaming from slot" in w.log(), 30, "streaming", w.log)
        for b in range(10):
            pg.psql(f"INSERT INTO events SELECT g, 0 FROM generate_series({b * 50 + 1}, {b * 50 + 50}) g")
        assert len(kcat_consume_records(kafka, topic, 500, timeout=60)) == 500, w.log()[-3000:]
        wait_for(lambda: (w.source_offset("cdc3", {"server": prefix}) or {}).get("lsn_proc") is not None, 30,
                 "an offset commit", w.log)
        before_update = lsn_num(pg.psql("SELECT pg_current_wal_lsn()")[0][0])
        pg.psql("UPDATE events SET n = 1 WHERE id <= 100")
        w.kill()
    finally:
        if w.alive():
            w.kill()
    committed = w.source_offset("cdc3", {"server": prefix})
    # The slot never passes a change Kafka may not hold: the 500 inserts are all in Kafka, so
    # it may stand anywhere before the UPDATE, or up to the committed offset if that holds
    # some of the UPDATE's records. (Once every record handed out is committed, the slot is
    # confirmed at the end of the last transaction read, past its last change's lsn_proc.)
    assert slot_lsn(pg, prefix) <= max(committed["lsn_proc"], before_update)
    pg.psql("INSERT INTO events SELECT g, 2 FROM generate_series(501, 600) g")
    last_write = lsn_num(pg.psql("SELECT pg_current_wal_lsn()")[0][0])
    with w:
        wait_for(lambda: len(kcat_consume_records(kafka, topic, 700, timeout=5)) >= 700, 60,
                 "every change after the restart", w.log)
        assert w.stop() == 0
    recs = kcat_consume_records(kafka, topic, 2000, timeout=10)
    seen = {(x["op"], x["after"]["id"], x["after"]["n"]) for x in payloads(recs)}
    want = {("c", i, 0) for i in range(1, 501)} | {("u", i, 1) for i in range(1, 101)} | \
        {("c", i, 2) for i in range(501, 601)}
    assert seen == want
    # Every change is in Kafka now: the slot may stand at the committed offset or at the end
    # of the last transaction read, never past the last write.
    assert slot_lsn(pg, prefix) <= last_write


def test_bad_config_names_the_key(pg, tmp_path):
    w = Worker(tmp_path, None, [cdc(pg, "bad", "bad", plugin_name="wal2json")])
    w.start()
    try:
        wait_for(lambda: "plugin.name" in w.log() or not w.alive(), 30, "the error", w.log)
    finally:
        if w.alive():
            w.kill()
    assert "plugin.name 'wal2json' is not supported" in w.log()


def test_unsupported_debezium_key_is_an_error_naming_it(pg, tmp_path):
    w = Worker(tmp_path, None, [cdc(pg, "bad2", "bad2", skipped_operations="none")])
    w.start()
    try:
        wait_for(lambda: "skipped.operations" in w.log() or not w.alive(), 30, "the error", w.log)
    finally:
        if w.alive():
            w.kill()
    assert "Debezium's 'skipped.operations' is not supported by this connector" in w.log()


def test_kill_9_during_snapshot_then_snapshot_again_and_stream(kafka, pg, tmp_path):
    pg.psql("CREATE TABLE public.big (id INT PRIMARY KEY, pad TEXT)")
    pg.psql("INSERT INTO big SELECT g, repeat('x', 200) FROM generate_series(1, 20000) g")
    prefix = unique_topic("cdc4").replace("-", "_")
    conf = cdc(pg, "cdc4", prefix, table_include_list="public\\.big", snapshot_fetch_size="100")
    w = Worker(tmp_path, kafka, [conf])
    topic = prefix + ".public.big"
    w.start()
    try:
        assert len(kcat_consume_records(kafka, topic, 1, timeout=60)) == 1, w.log()[-3000:]
        w.kill()
    finally:
        if w.alive():
            w.kill()
    off = w.source_offset("cdc4", {"server": prefix})
    assert off is None or (off["snapshot"] == "INITIAL" and off["last_snapshot_record"] is False
                           and off["snapshot_completed"] is False), off
    pg.psql("INSERT INTO big VALUES (20001, 'while down')")
    with w:
        wait_for(lambda: (w.source_offset("cdc4", {"server": prefix}) or {}).get("last_snapshot_record") is True,
                 120, "the snapshot's last record committed", w.log)
        pg.psql("UPDATE big SET pad = 'streamed' WHERE id = 7")
        wait_for(lambda: "lsn_proc" in (w.source_offset("cdc4", {"server": prefix}) or {}), 60,
                 "the update streamed", w.log)
        assert w.stop() == 0
    assert "its snapshot was not completed; dropped and created again" in w.log()
    recs = payloads(kcat_consume_records(kafka, topic, 50000, timeout=15))
    ids = {x["after"]["id"] for x in recs if x["op"] == "r"}
    assert ids == set(range(1, 20002))
    assert [(x["op"], x["after"]["pad"]) for x in recs if x["op"] != "r"] == [("u", "streamed")]


def test_slot_advances_while_only_other_tables_change(kafka, pg, tmp_path):
    pg.psql("CREATE TABLE public.quiet (id INT PRIMARY KEY)")
    pg.psql("CREATE TABLE public.busy (id INT PRIMARY KEY)")
    prefix = unique_topic("cdc5").replace("-", "_")
    w = Worker(tmp_path, kafka, [cdc(pg, "cdc5", prefix, table_include_list="public\\.quiet",
                                     snapshot_mode="no_data")])
    with w:
        wait_for(lambda: "streaming from slot" in w.log(), 30, "streaming", w.log)
        start = slot_lsn(pg, prefix)
        pg.psql("INSERT INTO busy SELECT generate_series(1, 1000)")
        wait_for(lambda: slot_lsn(pg, prefix) > start + 10000, 30, "the slot past the other table's WAL", w.log)
        assert w.stop() == 0


def test_unchanged_toast_value_is_debeziums_placeholder(kafka, pg, tmp_path):
    pg.psql("CREATE TABLE public.docs (id INT PRIMARY KEY, big TEXT, n INT)")
    prefix = unique_topic("cdc6").replace("-", "_")
    w = Worker(tmp_path, kafka, [cdc(pg, "cdc6", prefix, table_include_list="public\\.docs",
                                     snapshot_mode="no_data")])
    topic = prefix + ".public.docs"
    with w:
        wait_for(lambda: "streaming from slot" in w.log(), 30, "streaming", w.log)
        # 32 kB of md5 text does not compress below the TOAST threshold: stored out of line
        pg.psql("INSERT INTO docs SELECT 1, string_agg(md5(g::text), '') FROM generate_series(1, 1000) g")
        pg.psql("UPDATE docs SET n = 5 WHERE id = 1")
        recs = kcat_consume_records(kafka, topic, 2, timeout=60)
        assert len(recs) == 2, w.log()[-3000:]
        assert w.stop() == 0
    p = payloads(recs)
    assert len(p[0]["after"]["big"]) == 32000
    assert p[1]["op"] == "u" and p[1]["after"] == {"id": 1, "big": "__debezium_unavailable_value", "n": 5}


def test_column_exclude_list_leaves_columns_out_of_values_not_keys(kafka, pg, tmp_path):
    pg.psql("CREATE TABLE public.users (id INT PRIMARY KEY, name TEXT, secret TEXT)")
    pg.psql("INSERT INTO users VALUES (1, 'ann', 'pw1')")
    prefix = unique_topic("cdc7").replace("-", "_")
    w = Worker(tmp_path, kafka, [cdc(pg, "cdc7", prefix, table_include_list="public\\.users",
                                     column_exclude_list="public\\.users\\.SECRET")])
    topic = prefix + ".public.users"
    with w:
        assert len(kcat_consume_records(kafka, topic, 1, timeout=60)) == 1, w.log()[-3000:]
        pg.psql("INSERT INTO users VALUES (2, 'bob', 'pw2')")
        recs = kcat_consume_records(kafka, topic, 2, timeout=60)
        assert len(recs) == 2, w.log()[-3000:]
        assert w.stop() == 0
    assert [x["after"] for x in payloads(recs)] == [{"id": 1, "name": "ann"}, {"id": 2, "name": "bob"}]
    assert [f["field"] for f in json.loads(recs[1]["value"])["schema"]["fields"][1]["fields"]] == ["id", "name"]


def test_heartbeat_records_carry_the_offset_past_other_tables(kafka, pg, tmp_path):
    pg.psql("CREATE TABLE public.hb_quiet (id INT PRIMARY KEY)")
    pg.psql("CREATE TABLE public.hb_busy (id INT PRIMARY KEY)")
    prefix = unique_topic("cdc8").replace("-", "_")
    w = Worker(tmp_path, kafka, [cdc(pg, "cdc8", prefix, table_include_list="public\\.hb_quiet",
                                     snapshot_mode="no_data", heartbeat_interval_ms="300")])
    with w:
        wait_for(lambda: "streaming from slot" in w.log(), 30, "streaming", w.log)
        pg.psql("INSERT INTO hb_busy SELECT generate_series(1, 100)")
        end = pg.psql("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn")[0][0]
        wait_for(lambda: (w.source_offset("cdc8", {"server": prefix}) or {}).get("lsn_proc", 0) >= int(end) - 200,
                 30, "a heartbeat's offset committed", w.log)
        recs = kcat_consume_records(kafka, "__debezium-heartbeat." + prefix, 1, timeout=30)
        assert w.stop() == 0
    assert json.loads(recs[0]["key"]) == {
        "schema": {"type": "struct", "fields": [{"type": "string", "optional": False, "field": "serverName"}],
                   "optional": False, "name": "io.debezium.connector.common.ServerNameKey", "version": 1},
        "payload": {"serverName": prefix}}
    v = json.loads(recs[0]["value"])
    assert v["schema"] == {"type": "struct", "fields": [{"type": "int64", "optional": False, "field": "ts_ms"}],
                           "optional": False, "name": "io.debezium.connector.common.Heartbeat", "version": 1}
    assert isinstance(v["payload"]["ts_ms"], int)


def test_slot_drop_on_stop(kafka, pg, tmp_path):
    prefix = unique_topic("cdc9").replace("-", "_")
    w = Worker(tmp_path, kafka, [cdc(pg, "cdc9", prefix, snapshot_mode="no_data", slot_drop_on_stop="true",
                                     table_include_list="public\\.none")])
    with w:
        wait_for(lambda: "streaming from slot" in w.log(), 30, "streaming", w.log)
        assert pg.psql(f"SELECT count(*) FROM pg_replication_slots WHERE slot_name = '{prefix}'") == [["1"]]
        assert w.stop() == 0
    assert pg.psql(f"SELECT count(*) FROM pg_replication_slots WHERE slot_name = '{prefix}'") == [["0"]], w.log()


def test_decimal_double_and_connect_time_precision(kafka, pg, tmp_path):
    pg.psql("CREATE TABLE public.modes (id INT PRIMARY KEY, price NUMERIC(10,2), day DATE, at TIME, ts TIMESTAMP, "
            "span INTERVAL)")
    prefix = unique_topic("cdc10").replace("-", "_")
    w = Worker(tmp_path, kafka, [cdc(pg, "cdc10", prefix, table_include_list="public\\.modes", snapshot_mode="no_data",
                                     decimal_handling_mode="double", time_precision_mode="connect")])
    topic = prefix + ".public.modes"
    with w:
        wait_for(lambda: "streaming from slot" in w.log(), 30, "streaming", w.log)
        pg.psql("INSERT INTO modes VALUES (1, 12.34, '2024-02-29', '13:14:15.5', '2024-01-02 03:04:05.678901', "
                "'1 day 02:03:04.5')")
        recs = kcat_consume_records(kafka, topic, 1, timeout=60)
        assert len(recs) == 1, w.log()[-3000:]
        assert w.stop() == 0
    v = json.loads(recs[0]["value"])
    fields = {f["field"]: f for f in v["schema"]["fields"][1]["fields"]}
    assert fields["price"] == {"type": "double", "optional": True, "field": "price"}
    assert fields["day"]["name"] == "org.apache.kafka.connect.data.Date"
    assert fields["at"]["name"] == "org.apache.kafka.connect.data.Time"
    assert fields["ts"]["name"] == "org.apache.kafka.connect.data.Timestamp"
    assert fields["span"] == {"type": "int64", "optional": True, "name": "io.debezium.time.MicroDuration",
                              "version": 1, "field": "span"}
    assert v["payload"]["after"] == {"id": 1, "price": 12.34, "day": 19782, "at": 47655500, "ts": 1704164645678,
                                     "span": 93784500000}


def test_primary_key_change_is_delete_tombstone_create(kafka, pg, tmp_path):
    pg.psql("CREATE TABLE public.pkc (id INT PRIMARY KEY, v TEXT)")
    prefix = unique_topic("cdc11").replace("-", "_")
    w = Worker(tmp_path, kafka, [cdc(pg, "cdc11", prefix, table_include_list="public\\.pkc",
                                     snapshot_mode="no_data")])
    topic = prefix + ".public.pkc"
    with w:
        wait_for(lambda: "streaming from slot" in w.log(), 30, "streaming", w.log)
        pg.psql("INSERT INTO pkc VALUES (1, 'a')")
        pg.psql("UPDATE pkc SET id = 2 WHERE id = 1")
        recs = kcat_consume_records(kafka, topic, 4, timeout=60)
        assert len(recs) == 4, w.log()[-3000:]
        assert w.stop() == 0
    keys = [json.loads(r["key"])["payload"] for r in recs]
    p = payloads(recs)
    assert keys == [{"id": 1}, {"id": 1}, {"id": 1}, {"id": 2}]
    assert [(x["op"], x["before"], x["after"]) if x else None for x in p] == [
        ("c", None, {"id": 1, "v": "a"}),
        ("d", {"id": 1, "v": None}, None),
        None,
        ("c", None, {"id": 2, "v": "a"})]


def test_restart_after_a_completed_snapshot_streams_on_without_a_second_snapshot(kafka, pg, tmp_path):
    pg.psql("CREATE TABLE public.again (id INT PRIMARY KEY)")
    pg.psql("INSERT INTO again VALUES (1), (2)")
    prefix = unique_topic("cdc12").replace("-", "_")
    w = Worker(tmp_path, kafka, [cdc(pg, "cdc12", prefix, table_include_list="public\\.again")])
    topic = prefix + ".public.again"
    part = {"server": prefix}
    with w:
        assert len(kcat_consume_records(kafka, topic, 2, timeout=60)) == 2, w.log()[-3000:]
        wait_for(lambda: (w.source_offset("cdc12", part) or {}).get("last_snapshot_record") is True, 30,
                 "the snapshot's offset", w.log)
        assert w.stop() == 0
    off = w.source_offset("cdc12", part)
    assert set(off) == {"lsn", "txId", "ts_usec", "snapshot", "last_snapshot_record", "snapshot_completed"}
    assert (off["snapshot"], off["last_snapshot_record"], off["snapshot_completed"]) == ("INITIAL", True, True)
    pg.psql("INSERT INTO again VALUES (3)")
    with w:
        recs = kcat_consume_records(kafka, topic, 3, timeout=60)
        assert len(recs) == 3, w.log()[-3000:]
        pg.psql("INSERT INTO again VALUES (4)")
        recs = kcat_consume_records(kafka, topic, 4, timeout=60)
        assert w.stop() == 0
    assert w.log().count("snapshot of 1 table(s)") == 1
    assert [(x["op"], x["after"]["id"]) for x in payloads(recs)] == [("r", 1), ("r", 2), ("c", 3), ("c", 4)]


def lsn_num(text: str) -> int:
    hi, lo = text.split("/")
    return (int(hi, 16) << 32) + int(lo, 16)


def stopped_streaming(w: Worker, pg: PgServer, name: str, conf: dict) -> str:
    """Creates connector name on w, waits until it streams, stops it and waits until its slot
    is free (the changes made next stay in the slot, for the test to peek). The worker's URL."""
    url = w.url()
    call_ok("POST", f"{url}/connectors", {"name": name, "config": conf})
    wait_for(lambda: "streaming from slot" in w.log(), 30, "streaming", w.log)
    call_ok("PUT", f"{url}/connectors/{name}/stop")
    wait_for(lambda: pg.psql(f"SELECT active FROM pg_replication_slots WHERE slot_name = '{conf['slot.name']}'")
             == [["f"]], 30, "the slot let go", w.log)
    return url


@contextlib.contextmanager
def stopped_on_a_table(kafka, pg: PgServer, tmp_path, name: str, table: str, columns: str):
    """Table public.<table> (columns), and a worker whose connector name (no snapshot) has
    streamed it and is stopped, its slot free: yields (worker, its URL, the topic prefix)."""
    pg.psql(f"CREATE TABLE public.{table} ({columns})")
    prefix = unique_topic(name).replace("-", "_")
    conf = cdc(pg, name, prefix, table_include_list=f"public\\.{table}", snapshot_mode="no_data")
    w = Worker(tmp_path, kafka, [])
    with w:
        yield w, stopped_streaming(w, pg, name, conf), prefix


def peek(pg: PgServer, prefix: str):
    """The messages in slot prefix as pgoutput sends them, read without consuming the slot:
    [lsn, xid, hex data] each."""
    return pg.psql(f"SELECT lsn, xid, encode(data, 'hex') FROM pg_logical_slot_peek_binary_changes("
                   f"'{prefix}', NULL, NULL, 'proto_version', '1', 'publication_names', '{prefix}_pub')")


def resume_from(url: str, name: str, prefix: str, off: dict) -> None:
    """Gives the stopped connector name the offset off (PATCH .../offsets) and resumes it."""
    call_ok("PATCH", f"{url}/connectors/{name}/offsets",
            {"offsets": [{"partition": {"server": prefix}, "offset": off}]})
    call_ok("PUT", f"{url}/connectors/{name}/resume")


def ops(recs) -> list:
    """(op, id) of each record, ("tombstone", id) for a tombstone."""
    return [("tombstone", json.loads(r["key"])["payload"]["id"]) if r["value"] is None else
            (json.loads(r["value"])["payload"]["op"], json.loads(r["key"])["payload"]["id"]) for r in recs]


def first_transaction(pg: PgServer, prefix: str):
    """The first transaction in slot prefix as pgoutput sends it, read without consuming the
    slot: its Begin message (lsn, xid, hex data) and the LSNs of its Insert messages."""
    msgs = peek(pg, prefix)
    begin = next(m for m in msgs if m[2].startswith("42"))  # 'B': final_lsn, commit time, xid
    inserts = [lsn_num(m[0]) for m in msgs if m[2].startswith("49") and m[1] == begin[1]]  # 'I'
    return begin, inserts, msgs


@pytest.mark.parametrize("form", ["1.0.0", "debezium"])
def test_offset_taken_mid_transaction_resumes_without_loss_or_repeat(kafka, pg, tmp_path, form):
    """An offset committed after the second of three changes of a transaction resumes at the
    third: in Debezium's form (lsn = lsn_proc = the change's LSN, messageType; found by
    Debezium's WAL position search) and in the form of 1.0.0 (lsn_commit = the start LSN of the
    transaction's Commit record, lsn_proc = the end of the transaction before, no messageType;
    read by that version's rule). The next offset committed is Debezium's form."""
    table = "mid_" + form.replace(".", "_")
    with stopped_on_a_table(kafka, pg, tmp_path, "cdc13", table, "id INT PRIMARY KEY") as (w, url, prefix):
        pg.psql(f"BEGIN; INSERT INTO {table} VALUES (1); INSERT INTO {table} VALUES (2); "
                f"INSERT INTO {table} VALUES (3); COMMIT")
        pg.psql(f"BEGIN; INSERT INTO {table} VALUES (4); INSERT INTO {table} VALUES (5); COMMIT")
        begin, inserts, msgs = first_transaction(pg, prefix)
        assert len(inserts) == 3, msgs
        before = slot_lsn(pg, prefix)  # the end of what was read before the transaction
        if form == "1.0.0":
            off = {"lsn": inserts[1], "txId": int(begin[1]), "ts_usec": 1,
                   "lsn_commit": int(begin[2][2:18], 16), "lsn_proc": before}
        else:
            off = {"lsn": inserts[1], "lsn_proc": inserts[1], "lsn_commit": before, "txId": int(begin[1]),
                   "ts_usec": 1, "messageType": "INSERT"}
        resume_from(url, "cdc13", prefix, off)
        recs = kcat_consume_records(kafka, f"{prefix}.public.{table}", 3, timeout=60)
        wait_for(lambda: (w.source_offset("cdc13", {"server": prefix}) or {}).get("messageType") == "INSERT"
                 and w.source_offset("cdc13", {"server": prefix})["lsn"] != inserts[1], 30,
                 "an offset of the resumed stream", w.log)
        more = kcat_consume_records(kafka, f"{prefix}.public.{table}", 10, timeout=3)
        assert w.stop() == 0
    assert [(x["op"], x["after"]["id"]) for x in payloads(more)] == [("c", 3), ("c", 4), ("c", 5)], w.log()[-3000:]
    assert len(recs) == 3


def test_offset_inside_a_copy_resumes_after_exactly_the_rows_in_kafka(kafka, pg, tmp_path):
    """The rows of one COPY are one WAL record: pgoutput gives them all one LSN, so an offset
    that names a change by its LSN alone (Debezium's) cannot say how many of them are in Kafka,
    and Debezium's rule resumes past all of them. Offsets of such rows carry lsn_index (the
    row's place among them): one committed after the second of five rows resumes at the third.
    The connector writes lsn_index itself (the offset committed after the COPY says 5)."""
    table = "copy_rows"
    with stopped_on_a_table(kafka, pg, tmp_path, "cdc14", table, "id INT PRIMARY KEY") as (w, url, prefix):
        pg.psql(f"COPY public.{table} FROM PROGRAM 'seq 1 5'")
        pg.psql(f"INSERT INTO public.{table} VALUES (6)")
        begin, inserts, msgs = first_transaction(pg, prefix)
        assert len(inserts) == 5 and len(set(inserts)) == 1, msgs  # the premise: one LSN for the COPY
        off = {"lsn": inserts[0], "lsn_proc": inserts[0], "lsn_commit": slot_lsn(pg, prefix),
               "txId": int(begin[1]), "ts_usec": 1, "messageType": "INSERT", "lsn_index": 2}
        resume_from(url, "cdc14", prefix, off)
        recs = kcat_consume_records(kafka, f"{prefix}.public.{table}", 4, timeout=60)
        more = kcat_consume_records(kafka, f"{prefix}.public.{table}", 10, timeout=3)
        # the INSERT after the COPY is the last offset committed
        wait_for(lambda: (w.source_offset("cdc14", {"server": prefix}) or {}).get("lsn") not in (None, inserts[0]),
                 30, "the offset of the row after the COPY", w.log)
        assert w.stop() == 0
    assert [(x["op"], x["after"]["id"]) for x in payloads(more)] == [("c", 3), ("c", 4), ("c", 5), ("c", 6)], \
        w.log()[-3000:]
    assert len(recs) == 4


def test_copy_rows_carry_lsn_index_in_their_offsets(kafka, pg, tmp_path):
    """What the connector commits for the rows of a COPY: lsn_index 1..n on the offsets of the
    rows sharing one LSN (read from Kafka Connect's offsets as the worker keeps them: the last
    one, 3 of 3, since the task commits after the batch)."""
    table = "copy_idx"
    pg.psql(f"CREATE TABLE public.{table} (id INT PRIMARY KEY)")
    prefix = unique_topic("cdc15").replace("-", "_")
    conf = cdc(pg, "cdc15", prefix, table_include_list=f"public\\.{table}", snapshot_mode="no_data")
    w = Worker(tmp_path, kafka, [])
    with w:
        url = w.url()
        call_ok("POST", f"{url}/connectors", {"name": "cdc15", "config": conf})
        wait_for(lambda: "streaming from slot" in w.log(), 30, "streaming", w.log)
        pg.psql(f"COPY public.{table} FROM PROGRAM 'seq 1 3'")
        recs = kcat_consume_records(kafka, f"{prefix}.public.{table}", 3, timeout=60)
        wait_for(lambda: (w.source_offset("cdc15", {"server": prefix}) or {}).get("lsn_index") == 3, 30,
                 "the offset of the COPY's last row", w.log)
        off = w.source_offset("cdc15", {"server": prefix})
        assert w.stop() == 0
    assert [x["after"]["id"] for x in payloads(recs)] == [1, 2, 3]
    assert off["messageType"] == "INSERT" and off["lsn"] == off["lsn_proc"], off


@pytest.mark.parametrize("at,ours", [(0, False), (1, False), (2, False), (3, False), (3, True)],
                         ids=["insert", "second-insert", "update", "delete", "delete-ours"])
def test_offset_on_each_change_of_a_transaction_resumes_after_it(kafka, pg, tmp_path, at, ours):
    """An offset on change `at` of the second of three transactions written back to back
    (insert a, insert b, update a, delete b: the workload of test_cdc_offsets_vs_debezium),
    lsn_commit the end of the first, as Debezium's stop leaves it: the connector resumes with
    the change after it, nothing passed over, nothing repeated; but for Debezium's offset on the
    delete, whose tombstone is given again: Debezium puts the delete's offset on the delete and
    on its tombstone, and Kafka Connect commits it once the delete is acknowledged, so the
    tombstone may never have been sent (at least once: it may come twice, never not at all).
    This connector's own offset on a delete (change_complete, on the tombstone) repeats nothing."""
    table = f"each_{at}_{int(ours)}"
    with stopped_on_a_table(kafka, pg, tmp_path, "cdc15", table, "id INT PRIMARY KEY, v INT") as (w, url, prefix):
        cc.run_script(pg, "\n".join(
            f"BEGIN; INSERT INTO {table} VALUES ({a}, {k}); INSERT INTO {table} VALUES ({a + 1}, {k}); "
            f"UPDATE {table} SET v = -{k} WHERE id = {a}; DELETE FROM {table} WHERE id = {a + 1}; COMMIT;"
            for k, a in ((0, 10), (1, 20), (2, 30))))
        msgs = peek(pg, prefix)
        xids = sorted({m[1] for m in msgs}, key=int)
        assert len(xids) == 3, msgs
        changes = [lsn_num(m[0]) for m in msgs if m[1] == xids[1] and m[2][:2] in ("49", "55", "44")]  # I U D
        commit1 = [lsn_num(m[0]) for m in msgs if m[1] == xids[0] and m[2].startswith("43")]  # C
        assert len(changes) == 4 and len(commit1) == 1, msgs
        off = {"lsn": changes[at], "lsn_proc": changes[at], "lsn_commit": commit1[0], "txId": int(xids[1]),
               "ts_usec": 1, "messageType": ["INSERT", "INSERT", "UPDATE", "DELETE"][at]}
        if ours:
            off["change_complete"] = True
        resume_from(url, "cdc15", prefix, off)
        tx2 = [("c", 20), ("c", 21), ("u", 20), ("d", 21), ("tombstone", 21)]
        want = tx2[[1, 2, 3, 4 if not ours else 5][at]:] + [("c", 30), ("c", 31), ("u", 30), ("d", 31),
                                                             ("tombstone", 31)]
        recs = kcat_consume_records(kafka, f"{prefix}.public.{table}", len(want), timeout=30)
        more = kcat_consume_records(kafka, f"{prefix}.public.{table}", len(want) + 5, timeout=3)
        # the tombstone of tx 3's delete, a change of more than one record, says change_complete
        wait_for(lambda: (w.source_offset("cdc15", {"server": prefix}) or {}).get("messageType") == "DELETE"
                 and w.source_offset("cdc15", {"server": prefix})["lsn"] != changes[3], 30,
                 "the offset of the last delete", w.log)
        last = w.source_offset("cdc15", {"server": prefix})
        assert w.stop() == 0
    got = ops(more)
    assert got == want, (got, w.log()[-3000:])
    assert len(recs) == len(want)
    assert last.get("change_complete") is True, last


def test_debezium_offset_on_a_key_change_gives_its_tombstone_and_create_again(kafka, pg, tmp_path):
    """A primary key change gives three records (delete, tombstone, create) that Debezium all
    gives the UPDATE's offset: taking that offset over, the connector gives the tombstone and
    the create again (the delete, the first of them, is in Kafka if the offset was committed),
    then what follows."""
    table = "key_change"
    with stopped_on_a_table(kafka, pg, tmp_path, "cdc16", table, "id INT PRIMARY KEY, v INT") as (w, url, prefix):
        pg.psql(f"INSERT INTO public.{table} VALUES (1, 0)")
        cc.run_script(pg, f"BEGIN; UPDATE {table} SET id = 2 WHERE id = 1; INSERT INTO {table} VALUES (3, 0); COMMIT;")
        msgs = peek(pg, prefix)
        xids = sorted({m[1] for m in msgs}, key=int)
        assert len(xids) == 2, msgs
        update = [lsn_num(m[0]) for m in msgs if m[1] == xids[1] and m[2].startswith("55")]  # U
        commit1 = [lsn_num(m[0]) for m in msgs if m[1] == xids[0] and m[2].startswith("43")]  # C
        assert len(update) == 1 and len(commit1) == 1, msgs
        off = {"lsn": update[0], "lsn_proc": update[0], "lsn_commit": commit1[0], "txId": int(xids[1]),
               "ts_usec": 1, "messageType": "UPDATE"}
        resume_from(url, "cdc16", prefix, off)
        want = [("tombstone", 1), ("c", 2), ("c", 3)]
        recs = kcat_consume_records(kafka, f"{prefix}.public.{table}", len(want), timeout=30)
        more = kcat_consume_records(kafka, f"{prefix}.public.{table}", len(want) + 5, timeout=3)
        assert w.stop() == 0
    got = ops(more)
    assert got == want, (got, w.log()[-3000:])
    assert len(recs) == len(want)
    assert "the records of that change after its first are given again" in w.log()
