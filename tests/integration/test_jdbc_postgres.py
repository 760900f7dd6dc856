"""The JDBC connectors (Confluent's class names and keys) on PostgreSQL through libpq, against
a PostgreSQL 15 the test starts itself (initdb + pg_ctl, tests/integration/pg_server.py) and the
real broker: rows of every common type to JsonConverter records in order, Confluent's offsets,
a restart without loss or duplicates, the sink's upsert / delete / auto.create / auto.evolve,
a wrong password failing the task with the server's message (the password masked)."""

from __future__ import annotations

import json
import shutil
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import kcat_consume_records, kcat_produce, unique_topic
from pg_server import PgServer
from test_sqlite_sink import envelope, produce_keyed
from worker import Worker, wait_for


@pytest.fixture(scope="module")
def pg():
    # Not under pytest's tmp (mode 0700): the server runs as user postgres when we are root.
    base = Path(tempfile.mkdtemp(prefix="lc-pg-"))
    server = PgServer(base)
    try:
        yield server.start()
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


def source(pg: PgServer, name: str, prefix: str, **extra) -> dict:
    c = {"name": name, "connector.class": "io.confluent.connect.jdbc.JdbcSourceConnector",
         "tasks.max": "1", "connection.url": pg.url(), "connection.user": pg.user,
         "connection.password": pg.password, "topic.prefix": prefix, "poll.interval.ms": "200"}
    c.update({k.replace("_", "."): v for k, v in extra.items()})
    return c


def sink(pg: PgServer, name: str, topic: str, **extra) -> dict:
    c = {"name": name, "connector.class": "io.confluent.connect.jdbc.JdbcSinkConnector",
         "tasks.max": "1", "topics": topic, "connection.url": pg.url(), "connection.user": pg.user,
         "connection.password": pg.password}
    c.update({k.replace("_", "."): v for k, v in extra.items()})
    return c


def test_every_common_type_in_order_with_confluent_offsets(kafka, pg, tmp_path):
    table = unique_topic("t").replace("-", "_")
    prefix = "pg-"
    pg.psql(f'''CREATE TABLE "{table}" (id BIGSERIAL PRIMARY KEY, "Small" SMALLINT, i INT, big BIGINT,
        price NUMERIC(10,2), r REAL, d DOUBLE PRECISION, name VARCHAR(50), t TEXT, raw BYTEA, ok BOOLEAN,
        day DATE, at TIME, ts TIMESTAMP, tz TIMESTAMPTZ)''')
    pg.psql(f'''INSERT INTO "{table}" ("Small", i, big, price, r, d, name, t, raw, ok, day, at, ts, tz) VALUES
        (-3, 70000, 9007199254740993, 12.34, 1.5, 2.25, 'émile 🙂', 'x', '\\x00ff', true, '2024-02-29',
         '13:14:15.5', '2024-01-02 03:04:05.678', '2024-01-02 03:04:05+02'),
        (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)''')
    w = Worker(tmp_path, kafka, [source(pg, "pgtypes", prefix, mode="incrementing",
                                        incrementing_column_name="id")])
    topic = prefix + table
    with w:
        recs = kcat_consume_records(kafka, topic, 2, timeout=30)
        assert len(recs) == 2, w.log()[-3000:]
        part = {"protocol": "1", "table": f"shop.public.{table}"}
        wait_for(lambda: w.source_offset("pgtypes", part) == {"incrementing": 2}, 20,
                 "Confluent's offset", w.log)
        assert w.stop() == 0
    v = json.loads(recs[0]["value"])
    fields = {f["field"]: f for f in v["schema"]["fields"]}
    assert [f["field"] for f in v["schema"]["fields"]] == ["id", "Small", "i", "big", "price", "r", "d",
                                                           "name", "t", "raw", "ok", "day", "at", "ts", "tz"]
    assert fields["id"] == {"type": "int64", "optional": False, "field": "id"}
    assert fields["Small"]["type"] == "int16" and fields["i"]["type"] == "int32"
    assert fields["price"] == {"type": "bytes", "optional": True, "name": "org.apache.kafka.connect.data.Decimal",
                               "version": 1, "parameters": {"scale": "2", "connect.decimal.precision": "10"},
                               "field": "price"}
    assert fields["r"]["type"] == "float" and fields["d"]["type"] == "double"
    assert fields["ts"]["name"] == "org.apache.kafka.connect.data.Timestamp"
    assert fields["day"]["name"] == "org.apache.kafka.connect.data.Date"
    assert fields["at"]["name"] == "org.apache.kafka.connect.data.Time"
    p = v["payload"]
    assert p["Small"] == -3 and p["i"] == 70000 and p["big"] == 9007199254740993
    assert p["price"] == "BNI="  # 1234 unscaled, big-endian
    assert p["r"] == 1.5 and p["d"] == 2.25 and p["name"] == "émile 🙂" and p["raw"] == "AP8="
    assert p["ok"] is True and p["day"] == 19782 and p["at"] == 47655500
    assert p["ts"] == 1704164645678 and p["tz"] == 1704157445000
    assert all(x is None for k, x in json.loads(recs[1]["value"])["payload"].items() if k != "id")


def test_timestamp_incrementing_restart_resumes_without_loss_or_duplicates(kafka, pg, tmp_path):
    table = unique_topic("orders").replace("-", "_")
    pg.psql(f"CREATE TABLE {table} (id INT PRIMARY KEY, status TEXT, modified TIMESTAMP NOT NULL)")
    pg.psql(f"CREATE INDEX ON {table} (modified, id)")
    pg.psql(f"INSERT INTO {table} SELECT g, 'new', TIMESTAMP '2024-01-01' + g * INTERVAL '1 millisecond' "
            f"FROM generate_series(1, 300) g")
    # batch.max.rows=7: the cursor hands the 300 rows over 7 at a time
    conf = source(pg, "pgts", "pg-", mode="timestamp+incrementing", incrementing_column_name="id",
                  timestamp_column_name="modified", table_whitelist=table, batch_max_rows="7")
    w = Worker(tmp_path, kafka, [conf])
    topic = "pg-" + table
    part = {"protocol": "1", "table": f"shop.public.{table}"}
    with w:
        assert len(kcat_consume_records(kafka, topic, 300, timeout=60)) == 300, w.log()[-3000:]
        wait_for(lambda: (w.source_offset("pgts", part) or {}).get("incrementing") == 300, 30,
                 "the offset of row 300", w.log)
        assert w.stop() == 0
    assert w.source_offset("pgts", part) == {"incrementing": 300, "timestamp": 1704067200300,
                                             "timestamp_nanos": 300000000}
    # rows added and updated while the worker is down arrive once after the restart
    pg.psql(f"INSERT INTO {table} SELECT g, 'new', TIMESTAMP '2024-01-02' + g * INTERVAL '1 second' "
            f"FROM generate_series(301, 320) g")
    pg.psql(f"UPDATE {table} SET status = 'paid', modified = TIMESTAMP '2024-01-03' WHERE id = 5")
    with w:
        recs = kcat_consume_records(kafka, topic, 321, timeout=60)
        assert len(recs) == 321, w.log()[-3000:]
        time.sleep(2)
        assert len(kcat_consume_records(kafka, topic, 322, timeout=5)) == 321
        assert w.stop() == 0
    ids = [json.loads(r["value"])["payload"]["id"] for r in recs]
    assert ids == list(range(1, 321)) + [5]
    assert json.loads(recs[-1]["value"])["payload"]["status"] == "paid"
    assert "resuming table " + table in w.log()
    # the timestamp WHERE clause uses the index (no expression around the column)
    plan = pg.psql(f"EXPLAIN SELECT * FROM {table} WHERE modified < now() AND ((modified = '2024-01-01' "
                   f"AND id > 5) OR modified > '2024-01-01') ORDER BY modified, id")
    assert "Index" in " ".join(r[0] for r in plan)


def test_sink_upsert_delete_auto_create_and_evolve(kafka, pg, tmp_path):
    topic = unique_topic("lc-pg-sink")
    key_schema = {"type": "struct", "optional": False, "fields": [{"field": "id", "type": "int64", "optional": False}]}
    v1 = {"type": "struct", "optional": False, "fields": [
        {"field": "id", "type": "int64", "optional": False},
        {"field": "name", "type": "string", "optional": True},
        {"field": "amount", "type": "bytes", "optional": True, "name": "org.apache.kafka.connect.data.Decimal",
         "version": 1, "parameters": {"scale": "2"}},
        {"field": "at", "type": "int64", "optional": True, "name": "org.apache.kafka.connect.data.Timestamp",
         "version": 1}]}
    v2 = {**v1, "fields": v1["fields"] + [{"field": "note", "type": "string", "optional": True}]}
    msgs = []
    for i in range(1, 6):
        msgs.append((envelope(key_schema, {"id": i}),
                     envelope(v1, {"id": i, "name": f"n{i} ✓", "amount": "BNI=", "at": 1704164645678})))
    msgs.append((envelope(key_schema, {"id": 2}), envelope(v2, {"id": 2, "name": "two", "amount": None,
                                                                "at": None, "note": "evolved"})))
    msgs.append((envelope(key_schema, {"id": 3}), None))
    produce_keyed(kafka, topic, msgs)
    w = Worker(tmp_path, kafka, [sink(pg, "pgsink", topic, insert_mode="upsert", pk_mode="record_key",
                                      auto_create="true", auto_evolve="true", delete_enabled="true")])

    def rows():
        try:
            return pg.psql(f'SELECT id, name, amount, at, note FROM "{topic}" ORDER BY id')
        except RuntimeError:
            return None
    with w:
        wait_for(lambda: rows() is not None and len(rows()) == 4, 60, "the rows", w.log)
        assert w.status("pgsink", 0)[0] == "RUNNING"
        assert w.stop() == 0
    assert rows() == [["1", "n1 ✓", "12.34", "2024-01-02 03:04:05.678", ""],
                      ["2", "two", "", "", "evolved"],
                      ["4", "n4 ✓", "12.34", "2024-01-02 03:04:05.678", ""],
                      ["5", "n5 ✓", "12.34", "2024-01-02 03:04:05.678", ""]]
    pk = pg.psql(f"SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
                 f"AND a.attnum = ANY(i.indkey) WHERE i.indrelid = '\"{topic}\"'::regclass AND i.indisprimary")
    assert pk == [["id"]]


def test_wrong_password_fails_the_task_with_the_server_message_and_is_masked(kafka, pg, tmp_path):
    conf = source(pg, "pgbad", "pg-", mode="bulk", connection_password="not-the-password",
                  connection_attempts="2", connection_backoff_ms="100")
    w = Worker(tmp_path, kafka, [conf])
    with w:
        wait_for(lambda: (w.status("pgbad", 0) or ("",))[0] == "FAILED", 60, "the task to fail", w.log)
        trace = w.status("pgbad", 0)[1]
        assert 'password authentication failed for user "lc"' in trace, trace
        assert "Unable to connect to database on attempt 1/2" in w.log()
        with urllib.request.urlopen(w.url() + "/connectors/pgbad") as r:
            cfg = json.loads(r.read())["config"]
        assert "not-the-password" not in json.dumps(cfg)
        assert "not-the-password" not in w.log()
        assert w.stop() == 0


def test_bulk_timestamp_and_query_modes(kafka, pg, tmp_path):
    table = unique_topic("ev").replace("-", "_")
    pg.psql(f'CREATE TABLE "{table}" (id INT NOT NULL, what TEXT, at TIMESTAMPTZ NOT NULL)')
    pg.psql(f"""INSERT INTO "{table}" VALUES (1, 'a', '2024-01-01 00:00:00+00'), (2, 'b', '2024-01-01 00:00:00+00'),
                (3, 'c', '2024-01-01 00:00:01.000001+00')""")
    conns = [source(pg, "pgbulk", "bulk-", mode="bulk", table_whitelist=table, poll_interval_ms="600000"),
             source(pg, "pgtsm", "tsm-", mode="timestamp", table_whitelist=table, timestamp_column_name="at"),
             source(pg, "pgq", f"q-{table}", mode="incrementing", incrementing_column_name="id",
                    query=f'SELECT id, upper(what) AS up FROM "{table}"')]
    w = Worker(tmp_path, kafka, conns)
    with w:
        bulk = kcat_consume_records(kafka, "bulk-" + table, 3, timeout=30)
        tsm = kcat_consume_records(kafka, "tsm-" + table, 3, timeout=30)
        qr = kcat_consume_records(kafka, f"q-{table}", 3, timeout=30)
        assert (len(bulk), len(tsm), len(qr)) == (3, 3, 3), w.log()[-3000:]
        wait_for(lambda: w.source_offset("pgtsm", {"protocol": "1", "table": f"shop.public.{table}"})
                 == {"timestamp": 1704067201000, "timestamp_nanos": 1000}, 20, "the timestamp offset", w.log)
        wait_for(lambda: w.source_offset("pgq", {"query": "query"}) == {"incrementing": 3}, 20,
                 "the query offset", w.log)
        assert w.stop() == 0
    assert [json.loads(r["value"])["payload"]["id"] for r in bulk] == [1, 2, 3]
    assert [json.loads(r["value"])["payload"]["at"] for r in tsm] == [1704067200000, 1704067200000, 1704067201000]
    assert [json.loads(r["value"])["payload"] for r in qr] == [{"id": 1, "up": "A"}, {"id": 2, "up": "B"},
                                                               {"id": 3, "up": "C"}]


def test_column_mappings_pick_each_tables_columns(kafka, pg, tmp_path):
    """timestamp.columns.mapping / incrementing.column.mapping: each table its own columns,
    by regex on the table name; a table no mapping matches fails the task naming it."""
    tag = unique_topic("m").replace("-", "_")
    a, b = f"orders_{tag}", f"users_{tag}"
    pg.psql(f'CREATE TABLE "{a}" (oid INT NOT NULL, changed TIMESTAMPTZ NOT NULL)')
    pg.psql(f'CREATE TABLE "{b}" (uid INT NOT NULL, modified TIMESTAMPTZ, created TIMESTAMPTZ NOT NULL)')
    pg.psql(f"""INSERT INTO "{a}" VALUES (1, '2024-01-01 00:00:01+00'), (2, '2024-01-01 00:00:02+00')""")
    pg.psql(f"""INSERT INTO "{b}" VALUES (7, NULL, '2024-01-01 00:00:05+00'),
                (8, '2024-01-01 00:00:09+00', '2024-01-01 00:00:03+00')""")
    conn = source(pg, "pgmap", "map-", mode="timestamp+incrementing", table_whitelist=f"{a},{b}")
    conn["incrementing.column.mapping"] = f"orders_.*:oid,users_.*:uid"
    conn["timestamp.columns.mapping"] = f"orders_.*:[changed],users_.*:[modified|created]"
    w = Worker(tmp_path, kafka, [conn])
    with w:
        ra = kcat_consume_records(kafka, "map-" + a, 2, timeout=30)
        rb = kcat_consume_records(kafka, "map-" + b, 2, timeout=30)
        assert (len(ra), len(rb)) == (2, 2), w.log()[-3000:]
        # users: COALESCE(modified, created) orders 7 (00:05) before 8 (00:09)
        wait_for(lambda: w.source_offset("pgmap", {"protocol": "1", "table": f"shop.public.{b}"})
                 == {"timestamp": 1704067209000, "timestamp_nanos": 0, "incrementing": 8}, 20,
                 "the users offset", w.log)
        assert w.source_offset("pgmap", {"protocol": "1", "table": f"shop.public.{a}"}) == {
            "timestamp": 1704067202000, "timestamp_nanos": 0, "incrementing": 2}
        assert w.stop() == 0
    assert [json.loads(r["value"])["payload"]["oid"] for r in ra] == [1, 2]
    assert [json.loads(r["value"])["payload"]["uid"] for r in rb] == [7, 8]
    bad = source(pg, "pgmapbad", "mapbad-", mode="incrementing", table_whitelist=a)
    bad["incrementing.column.mapping"] = "nomatch_.*:id"
    (tmp_path / "w2").mkdir()
    w2 = Worker(tmp_path / "w2", kafka, [bad])
    with w2:
        wait_for(lambda: (w2.status("pgmapbad", 0) or ("",))[0] == "FAILED", 30, "the task FAILED",
                 w2.log)
        assert (f"incrementing.column.mapping: no mapping matches table '{a}'"
                in w2.status("pgmapbad", 0)[1]), w2.status("pgmapbad", 0)


def test_a_bad_query_fails_the_task_with_the_database_message(kafka, pg, tmp_path):
    conf = source(pg, "pgbadq", "badq", mode="bulk", query="SELECT * FROM no_such_table")
    w = Worker(tmp_path, kafka, [conf])
    with w:
        wait_for(lambda: (w.status("pgbadq", 0) or ("",))[0] == "FAILED", 60, "the task to fail", w.log)
        assert 'relation "no_such_table" does not exist' in w.status("pgbadq", 0)[1]
        assert w.stop() == 0


def test_database_restarted_mid_stream_loses_nothing(kafka, pg, tmp_path):
    table = unique_topic("rs").replace("-", "_")
    pg.psql(f"CREATE TABLE {table} (id INT PRIMARY KEY, v TEXT)")
    pg.psql(f"INSERT INTO {table} SELECT g, 'x' FROM generate_series(1, 100) g")
    conf = source(pg, "pgrs", "rs-", mode="incrementing", incrementing_column_name="id", table_whitelist=table,
                  connection_attempts="30", connection_backoff_ms="500")
    w = Worker(tmp_path, kafka, [conf])
    topic = "rs-" + table
    with w:
        assert len(kcat_consume_records(kafka, topic, 100, timeout=30)) == 100, w.log()[-3000:]
        pg.pg_ctl("stop")
        time.sleep(1.5)
        pg.pg_ctl("start")
        pg.psql(f"INSERT INTO {table} SELECT g, 'y' FROM generate_series(101, 150) g")
        recs = kcat_consume_records(kafka, topic, 150, timeout=60)
        assert len(recs) == 150, w.log()[-3000:]
        assert w.status("pgrs", 0)[0] == "RUNNING"
        assert "the database connection is lost" in w.log()
        assert w.stop() == 0
    assert [json.loads(r["value"])["payload"]["id"] for r in recs] == list(range(1, 151))


def test_sink_bad_record_to_dlq_and_kafka_primary_keys(kafka, pg, tmp_path):
    from conftest import kcat_consume_json
    from test_sqlite_sink import PERSON
    topic, ktopic, dlq = unique_topic("lc-pg-bad"), unique_topic("lc-pg-kpk"), unique_topic("lc-pg-dlq")
    pg.psql('CREATE TABLE pg_orders (id BIGINT PRIMARY KEY, name TEXT NOT NULL, amount DOUBLE PRECISION, big BIGINT)')
    kcat_produce(kafka, topic, [envelope(PERSON, {"id": 1, "name": "a"}), envelope(PERSON, {"id": 2}),
                                envelope(PERSON, {"id": 3, "name": "c", "big": 2 ** 60})])
    kcat_produce(kafka, ktopic, [envelope(PERSON, {"id": i, "name": f"k{i}"}) for i in range(3)])
    bad = sink(pg, "pgbadrec", topic, table_name_format="pg_orders", pk_mode="record_value", pk_fields="id",
               errors_tolerance="all")
    bad.update({"errors.log.enable": "true", "errors.deadletterqueue.topic.name": dlq,
                "errors.deadletterqueue.topic.replication.factor": "1",
                "errors.deadletterqueue.context.headers.enable": "true"})
    kpk = sink(pg, "pgkpk", ktopic, table_name_format="pg_kafka_pk", pk_mode="kafka", auto_create="true")
    w = Worker(tmp_path, kafka, [bad, kpk])

    def count(sql):
        try:
            return pg.psql(sql)
        except RuntimeError:
            return None
    with w:
        wait_for(lambda: count("SELECT id, big FROM pg_orders ORDER BY id") == [["1", ""], ["3", str(2 ** 60)]],
                 60, "records 1 and 3", w.log)
        wait_for(lambda: count("SELECT count(*) FROM pg_kafka_pk") == [["3"]], 60, "the kafka-keyed rows", w.log)
        assert w.status("pgbadrec", 0)[0] == "RUNNING"
        assert w.stop() == 0
    msgs = kcat_consume_json(kafka, dlq, 1)
    assert len(msgs) == 1
    assert msgs[0]["payload"] == envelope(PERSON, {"id": 2}).decode(), "original bytes unchanged"
    assert 'null value in column "name"' in msgs[0]["headers"]["__connect.errors.exception.message"]
    assert pg.psql(f"SELECT __connect_topic, __connect_partition, __connect_offset, id, name FROM pg_kafka_pk "
                   f"ORDER BY __connect_offset") == [[ktopic, "0", str(i), str(i), f"k{i}"] for i in range(3)]


def test_a_table_added_while_running_is_picked_up(kafka, pg, tmp_path):
    pg.psql("CREATE SCHEMA IF NOT EXISTS added")
    first = unique_topic("a").replace("-", "_")
    pg.psql(f"CREATE TABLE added.{first} (id INT PRIMARY KEY)")
    pg.psql(f"INSERT INTO added.{first} VALUES (1)")
    conf = source(pg, "pgadd", "add-", mode="incrementing", incrementing_column_name="id",
                  schema_pattern="added", table_poll_interval_ms="500")
    w = Worker(tmp_path, kafka, [conf])
    with w:
        assert len(kcat_consume_records(kafka, "add-" + first, 1, timeout=30)) == 1, w.log()[-3000:]
        second = unique_topic("b").replace("-", "_")
        pg.psql(f"CREATE TABLE added.{second} (id INT PRIMARY KEY, v TEXT)")
        pg.psql(f"INSERT INTO added.{second} VALUES (1, 'new')")
        recs = kcat_consume_records(kafka, "add-" + second, 1, timeout=30)
        assert len(recs) == 1, w.log()[-3000:]
        assert f"new table added.{second}: now polled" in w.log()
        # a dropped table stops being polled; the others go on
        pg.psql(f"DROP TABLE added.{first}")
        pg.psql(f"INSERT INTO added.{second} VALUES (2, 'after')")
        assert len(kcat_consume_records(kafka, "add-" + second, 2, timeout=30)) == 2, w.log()[-3000:]
        wait_for(lambda: f"table added.{first} is gone; no longer polled" in w.log(), 20, "the drop", w.log)
        assert w.status("pgadd", 0)[0] == "RUNNING"
        assert w.stop() == 0
    assert json.loads(recs[0]["value"])["payload"] == {"id": 1, "v": "new"}


def test_sink_exactly_once_across_kill_9s(kafka, pg, tmp_path):
    """Plain INSERTs without a key (a record written twice would be a second row), the worker
    killed with SIGKILL 5 times while it writes: each record is in the table once."""
    import random
    topic, n = unique_topic("lc-pg-eos"), 100_000
    schema = {"type": "struct", "optional": False, "fields": [
        {"field": "id", "type": "int64", "optional": False}, {"field": "text", "type": "string", "optional": False}]}
    kcat_produce(kafka, topic, [envelope(schema, {"id": i, "text": f"row {i}"}) for i in range(n)])
    conf = sink(pg, "pgeos", topic, auto_create="true", table_name_format="pg_eos")
    conf["exactly.once"] = "true"
    # A killed worker's consumer stays in the group until its session expires: 6 s, not the
    # default 45 s, before the next worker's sink gets the partition.
    w = Worker(tmp_path, kafka, [conf], worker={"consumer.session.timeout.ms": "6000"})

    def count():
        try:
            return int(pg.psql("SELECT count(*) FROM pg_eos")[0][0])
        except RuntimeError:
            return 0
    kills = 0
    rnd = random.Random(7)
    while kills < 5:
        w.start()
        wait_for(lambda: count() > 0 or not w.alive(), 60, "rows", w.log)
        time.sleep(rnd.uniform(0.05, 0.5))
        if count() >= n:
            break
        w.kill()
        kills += 1
    with w:
        wait_for(lambda: count() >= n, 120, "every row", w.log)
        time.sleep(1)
        assert w.stop() == 0
    assert pg.psql("SELECT count(*), count(DISTINCT id), min(id), max(id) FROM pg_eos") == [
        [str(n), str(n), "0", str(n - 1)]]
    assert pg.psql(f"SELECT next_offset FROM __luaconnect_offsets WHERE connector = 'pgeos' AND topic = '{topic}'") \
        == [[str(n)]]
    assert kills > 0


def test_a_table_larger_than_batch_max_rows_is_read_through_a_cursor_in_order(kafka, pg, tmp_path):
    """bulk and the first incremental poll read a 5,000-row table through a server-side cursor,
    100 rows (batch.max.rows) at a time: every row once, in order, and the cursor's transaction
    ends, so the rows added later arrive too."""
    table = unique_topic("big").replace("-", "_")
    pg.psql(f"CREATE TABLE {table} (id INT PRIMARY KEY, pad TEXT NOT NULL)")
    pg.psql(f"INSERT INTO {table} SELECT g, repeat('x', 200) FROM generate_series(1, 5000) g")
    bulk = source(pg, "pgbigbulk", "pgbulk-", mode="bulk", table_whitelist=table, batch_max_rows="100",
                  poll_interval_ms="600000")
    inc = source(pg, "pgbiginc", "pginc-", mode="incrementing", incrementing_column_name="id",
                 table_whitelist=table, batch_max_rows="100")
    w = Worker(tmp_path, kafka, [bulk, inc])
    with w:
        recs = kcat_consume_records(kafka, "pgbulk-" + table, 5000, timeout=60)
        assert [json.loads(r["value"])["payload"]["id"] for r in recs] == list(range(1, 5001)), w.log()[-3000:]
        recs = kcat_consume_records(kafka, "pginc-" + table, 5000, timeout=60)
        assert [json.loads(r["value"])["payload"]["id"] for r in recs] == list(range(1, 5001)), w.log()[-3000:]
        pg.psql(f"INSERT INTO {table} SELECT g, 'y' FROM generate_series(5001, 5010) g")
        recs = kcat_consume_records(kafka, "pginc-" + table, 5010, timeout=30)
        assert [json.loads(r["value"])["payload"]["id"] for r in recs] == list(range(1, 5011)), w.log()[-3000:]
        part = {"protocol": "1", "table": f"shop.public.{table}"}
        wait_for(lambda: w.source_offset("pgbiginc", part) == {"incrementing": 5010}, 20, "the last offset", w.log)
        # no transaction of the source is left open once the table is read
        wait_for(lambda: pg.psql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'luaconnect' "
                                 "AND state LIKE 'idle in transaction%'") == [["0"]], 20,
                 "no open cursor transaction", w.log)
        assert w.stop() == 0


def test_sink_schemaless_json_and_confluent_record_checks(kafka, pg, tmp_path):
    """The record-to-row rules are the core's, shared with SQLite (Confluent's FieldsMetadata):
    schemaless JSON objects make and fill a table (types from the values, nested values as JSON
    text), and a primitive key with pk.mode=record_key and no pk.fields fails the record with
    Confluent's message (to the DLQ with errors.tolerance=all)."""
    topic = unique_topic("lc-pg-schemaless")
    dlq = topic + "-dlq"
    produce_keyed(kafka, topic, [
        (b'{"id":1}', b'{"id":1,"name":"ada","score":9.5,"ok":true,"tags":["a","b"]}'),
        (b'{"id":2}', b'{"id":2,"name":"grace","score":7,"ok":false,"tags":null}'),
        (b'"not-a-struct-key"', b'{"id":3,"name":"bad key"}'),
    ])
    conf = sink(pg, "pgschemaless", topic, insert_mode="upsert", pk_mode="record_key", auto_create="true",
                table_name_format="people_" + topic.replace("-", "_"))
    conf.update({"key.converter": "org.apache.kafka.connect.json.JsonConverter",
                 "key.converter.schemas.enable": "false",
                 "value.converter": "org.apache.kafka.connect.json.JsonConverter",
                 "value.converter.schemas.enable": "false",
                 "errors.tolerance": "all", "errors.log.enable": "true", "errors.deadletterqueue.topic.name": dlq,
                 "errors.deadletterqueue.topic.replication.factor": "1"})
    w = Worker(tmp_path, kafka, [conf])
    table = "people_" + topic.replace("-", "_")

    def rows():
        try:
            return pg.psql(f"SELECT id, name, score, ok, tags FROM {table} ORDER BY id")
        except RuntimeError:
            return None
    with w:
        wait_for(lambda: rows() is not None and len(rows()) == 2, 60, "the rows", w.log)
        dead = kcat_consume_records(kafka, dlq, 1, timeout=30)
        assert w.status("pgschemaless", 0)[0] == "RUNNING"
        assert w.stop() == 0
    assert rows() == [["1", "ada", "9.5", "t", '["a","b"]'], ["2", "grace", "7", "f", ""]]
    types = pg.psql(f"SELECT column_name, data_type FROM information_schema.columns WHERE table_name = '{table}' "
                    "ORDER BY ordinal_position")
    assert types == [["id", "bigint"], ["name", "text"], ["ok", "boolean"], ["score", "double precision"],
                     ["tags", "text"]]
    assert [json.loads(r["value"])["name"] for r in dead] == ["bad key"]
    assert "Need exactly one PK column defined since the key schema for records is a primitive type" in w.log()


def test_columns_are_validated_as_confluent_does(kafka, pg, tmp_path):
    """The core's validateColumnsExist / validateNonNullable, shared with SQLite: a nullable
    incrementing column and a missing timestamp column fail the task with Confluent's messages."""
    table = unique_topic("nullable").replace("-", "_")
    pg.psql(f"CREATE TABLE {table} (id INT, at TIMESTAMP NOT NULL)")
    w = Worker(tmp_path, kafka, [
        source(pg, "pgnullinc", "ni-", mode="incrementing", incrementing_column_name="id", table_whitelist=table),
        source(pg, "pgnots", "nt-", mode="timestamp", timestamp_column_name="nope", table_whitelist=table)])
    with w:
        for name in ("pgnullinc", "pgnots"):
            wait_for(lambda: (w.status(name, 0) or ("",))[0] == "FAILED", 60, f"{name} to fail", w.log)
        assert (f"Cannot make incremental queries using incrementing column id on {table} because this column "
                "is nullable.") in w.status("pgnullinc", 0)[1]
        assert f"Timestamp columns: nope do not exist in table '{table}'" in w.status("pgnots", 0)[1]
        assert w.stop() == 0
