"""The JDBC connectors (Confluent's class names and keys) on MariaDB 10.11 through
libmariadb, against a server the test starts itself (mariadb-install-db + mariadbd,
tests/integration/my_server.py) and the real broker: rows of the common types to records in
order, Confluent's offsets ("db.table"), a restart without loss or duplicates, the sink's
upsert (ON DUPLICATE KEY UPDATE) / delete / auto.create / auto.evolve, a wrong password
failing the task with the server's message."""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from conftest import kcat_consume_records, unique_topic
from my_server import MyServer
from test_sqlite_sink import envelope, produce_keyed
from worker import Worker, wait_for


@pytest.fixture(scope="module")
def my():
    base = Path(tempfile.mkdtemp(prefix="lc-my-"))
    server = MyServer(base)
    try:
        yield server.start()
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


def source(my: MyServer, name: str, prefix: str, **extra) -> dict:
    c = {"name": name, "connector.class": "io.confluent.connect.jdbc.JdbcSourceConnector",
         "tasks.max": "1", "connection.url": my.url(), "connection.user": my.user,
         "connection.password": my.password, "topic.prefix": prefix, "poll.interval.ms": "200"}
    c.update({k.replace("_", "."): v for k, v in extra.items()})
    return c


def test_common_types_in_order_with_confluent_offsets(kafka, my, tmp_path):
    table = unique_topic("t").replace("-", "_")
    my.client(f"""CREATE TABLE `{table}` (id BIGINT AUTO_INCREMENT PRIMARY KEY, `Small` SMALLINT, tiny TINYINT,
        i INT, big BIGINT, price DECIMAL(10,2), d DOUBLE, name VARCHAR(50), raw VARBINARY(10), day DATE,
        at TIME(3), ts DATETIME(3), flag BIT(1)) CHARACTER SET utf8mb4""")
    my.client(f"""INSERT INTO `{table}` (`Small`, tiny, i, big, price, d, name, raw, day, at, ts, flag) VALUES
        (-3, 7, 70000, 9007199254740993, 12.34, 2.25, 'émile 🙂', X'00ff', '2024-02-29', '13:14:15.5',
         '2024-01-02 03:04:05.678', b'1'),
        (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)""")
    w = Worker(tmp_path, kafka, [source(my, "mytypes", "my-", mode="incrementing",
                                        incrementing_column_name="id")])
    topic = "my-" + table
    with w:
        recs = kcat_consume_records(kafka, topic, 2, timeout=30)
        assert len(recs) == 2, w.log()[-3000:]
        wait_for(lambda: w.source_offset("mytypes", {"protocol": "1", "table": f"shop.{table}"})
                 == {"incrementing": 2}, 20, "Confluent's offset", w.log)
        assert w.stop() == 0
    v = json.loads(recs[0]["value"])
    fields = {f["field"]: f for f in v["schema"]["fields"]}
    assert fields["id"] == {"type": "int64", "optional": False, "field": "id"}
    assert fields["tiny"]["type"] == "int8" and fields["Small"]["type"] == "int16"
    assert fields["price"]["name"] == "org.apache.kafka.connect.data.Decimal"
    assert fields["price"]["parameters"] == {"scale": "2", "connect.decimal.precision": "10"}
    assert fields["raw"]["type"] == "bytes" and fields["flag"]["type"] == "boolean"
    p = v["payload"]
    assert p["Small"] == -3 and p["tiny"] == 7 and p["i"] == 70000 and p["big"] == 9007199254740993
    assert p["price"] == "BNI=" and p["d"] == 2.25 and p["name"] == "émile 🙂" and p["raw"] == "AP8="
    assert p["day"] == 19782 and p["at"] == 47655500 and p["ts"] == 1704164645678
    assert all(x is None for k, x in json.loads(recs[1]["value"])["payload"].items() if k != "id")


def test_timestamp_incrementing_restart_resumes_without_loss_or_duplicates(kafka, my, tmp_path):
    table = unique_topic("orders").replace("-", "_")
    my.client(f"CREATE TABLE {table} (id INT PRIMARY KEY, status TEXT, modified DATETIME(3) NOT NULL, "
              f"INDEX (modified, id))")
    my.client(f"INSERT INTO {table} SELECT seq, 'new', TIMESTAMP '2024-01-01 00:00:00' + INTERVAL seq * 1000 MICROSECOND "
              f"FROM seq_1_to_300")
    conf = source(my, "myts", "my-", mode="timestamp+incrementing", incrementing_column_name="id",
                  timestamp_column_name="modified", table_whitelist=table, batch_max_rows="50")
    w = Worker(tmp_path, kafka, [conf])
    topic = "my-" + table
    part = {"protocol": "1", "table": f"shop.{table}"}
    with w:
        assert len(kcat_consume_records(kafka, topic, 300, timeout=60)) == 300, w.log()[-3000:]
        wait_for(lambda: (w.source_offset("myts", part) or {}).get("incrementing") == 300, 30,
                 "the offset of row 300", w.log)
        assert w.stop() == 0
    assert w.source_offset("myts", part) == {"incrementing": 300, "timestamp": 1704067200300,
                                             "timestamp_nanos": 300000000}
    my.client(f"INSERT INTO {table} SELECT seq, 'new', TIMESTAMP '2024-01-02 00:00:00' + INTERVAL seq SECOND "
              f"FROM seq_301_to_320")
    my.client(f"UPDATE {table} SET status = 'paid', modified = '2024-01-03' WHERE id = 5")
    with w:
        recs = kcat_consume_records(kafka, topic, 321, timeout=60)
        assert len(recs) == 321, w.log()[-3000:]
        time.sleep(2)
        assert len(kcat_consume_records(kafka, topic, 322, timeout=5)) == 321
        assert w.stop() == 0
    ids = [json.loads(r["value"])["payload"]["id"] for r in recs]
    assert ids == list(range(1, 321)) + [5]
    # the WHERE clause compares the bare column, so the (modified, id) index serves it
    plan = my.client(f"EXPLAIN SELECT * FROM {table} WHERE modified < NOW() AND ((modified = '2024-01-02 00:05:00' "
                     f"AND id > 5) OR modified > '2024-01-02 00:05:00') ORDER BY modified, id")
    assert plan[0][5] == "modified", plan


def test_sink_upsert_delete_auto_create_and_evolve(kafka, my, tmp_path):
    topic = unique_topic("lc_my_sink").replace("-", "_")
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
    conf = {"name": "mysink", "connector.class": "io.confluent.connect.jdbc.JdbcSinkConnector", "tasks.max": "1",
            "topics": topic, "connection.url": my.url(), "connection.user": my.user,
            "connection.password": my.password, "insert.mode": "upsert", "pk.mode": "record_key",
            "auto.create": "true", "auto.evolve": "true", "delete.enabled": "true"}
    w = Worker(tmp_path, kafka, [conf])

    def rows():
        try:
            return my.client(f"SELECT id, name, amount, at, note FROM `{topic}` ORDER BY id")
        except RuntimeError:
            return None
    with w:
        wait_for(lambda: rows() is not None and len(rows()) == 4, 60, "the rows", w.log)
        assert w.status("mysink", 0)[0] == "RUNNING"
        assert w.stop() == 0
    assert rows() == [["1", "n1 ✓", "12.34", "2024-01-02 03:04:05.678", "NULL"],
                      ["2", "two", "NULL", "NULL", "evolved"],
                      ["4", "n4 ✓", "12.34", "2024-01-02 03:04:05.678", "NULL"],
                      ["5", "n5 ✓", "12.34", "2024-01-02 03:04:05.678", "NULL"]]


def test_wrong_password_fails_the_task_with_the_server_message(kafka, my, tmp_path):
    conf = source(my, "mybad", "my-", mode="bulk", connection_password="not-the-password",
                  connection_attempts="2", connection_backoff_ms="100")
    w = Worker(tmp_path, kafka, [conf])
    with w:
        wait_for(lambda: (w.status("mybad", 0) or ("",))[0] == "FAILED", 60, "the task to fail", w.log)
        trace = w.status("mybad", 0)[1]
        assert "Access denied for user 'lc'" in trace, trace
        assert "not-the-password" not in w.log()
        assert w.stop() == 0


def test_sink_exactly_once_across_kill_9s(kafka, my, tmp_path):
    """Plain INSERTs without a key, the worker killed with SIGKILL 5 times while it writes:
    each record is in the table once."""
    import random
    from conftest import kcat_produce
    topic, n = unique_topic("lc_my_eos").replace("-", "_"), 100_000
    schema = {"type": "struct", "optional": False, "fields": [
        {"field": "id", "type": "int64", "optional": False}, {"field": "text", "type": "string", "optional": False}]}
    kcat_produce(kafka, topic, [envelope(schema, {"id": i, "text": f"row {i}"}) for i in range(n)])
    conf = {"name": "myeos", "connector.class": "io.confluent.connect.jdbc.JdbcSinkConnector", "tasks.max": "1",
            "topics": topic, "connection.url": my.url(), "connection.user": my.user,
            "connection.password": my.password, "auto.create": "true", "table.name.format": "my_eos",
            "exactly.once": "true"}
    # A killed worker's consumer stays in the group until its session expires: 6 s, not the
    # default 45 s, before the next worker's sink gets the partition.
    w = Worker(tmp_path, kafka, [conf], worker={"consumer.session.timeout.ms": "6000"})

    def count():
        try:
            return int(my.client("SELECT count(*) FROM my_eos")[0][0])
        except RuntimeError:
            return 0
    kills, rnd = 0, random.Random(7)
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
    assert my.client("SELECT count(*), count(DISTINCT id), min(id), max(id) FROM my_eos") == [
        [str(n), str(n), "0", str(n - 1)]]
    assert kills > 0


def test_bad_query_fails_and_a_restarted_server_loses_nothing(kafka, my, tmp_path):
    table = unique_topic("rs").replace("-", "_")
    my.client(f"CREATE TABLE {table} (id INT PRIMARY KEY, v TEXT)")
    my.client(f"INSERT INTO {table} SELECT seq, 'x' FROM seq_1_to_100")
    good = source(my, "myrs", "rs-", mode="incrementing", incrementing_column_name="id", table_whitelist=table,
                  connection_attempts="30", connection_backoff_ms="500")
    bad = source(my, "mybadq", "badq", mode="bulk", query="SELECT * FROM no_such_table")
    w = Worker(tmp_path, kafka, [good, bad])
    topic = "rs-" + table
    with w:
        assert len(kcat_consume_records(kafka, topic, 100, timeout=30)) == 100, w.log()[-3000:]
        wait_for(lambda: (w.status("mybadq", 0) or ("",))[0] == "FAILED", 60, "the bad query to fail", w.log)
        assert "Table 'shop.no_such_table' doesn't exist" in w.status("mybadq", 0)[1]
        my.stop()
        time.sleep(1.5)
        my.launch()
        my.client(f"INSERT INTO {table} SELECT seq, 'y' FROM seq_101_to_150")
        recs = kcat_consume_records(kafka, topic, 150, timeout=60)
        assert len(recs) == 150, w.log()[-3000:]
        assert w.status("myrs", 0)[0] == "RUNNING"
        assert "the database connection is lost" in w.log()
        assert w.stop() == 0
    assert [json.loads(r["value"])["payload"]["id"] for r in recs] == list(range(1, 151))


def test_a_table_larger_than_batch_max_rows_is_streamed_in_order(kafka, my, tmp_path):
    """bulk and the first incremental poll stream a 5,000-row table (mysql_use_result, on a
    connection of its own) 100 rows (batch.max.rows) at a time: every row once, in order; the
    rows added later arrive too."""
    table = unique_topic("big").replace("-", "_")
    my.client(f"CREATE TABLE `{table}` (id INT PRIMARY KEY, pad VARCHAR(300) NOT NULL)")
    my.client(f"INSERT INTO `{table}` SELECT seq, REPEAT('x', 200) FROM seq_1_to_5000")
    bulk = source(my, "mybigbulk", "mybulk-", mode="bulk", table_whitelist=table, batch_max_rows="100",
                  poll_interval_ms="600000")
    inc = source(my, "mybiginc", "myinc-", mode="incrementing", incrementing_column_name="id",
                 table_whitelist=table, batch_max_rows="100")
    w = Worker(tmp_path, kafka, [bulk, inc])
    with w:
        recs = kcat_consume_records(kafka, "mybulk-" + table, 5000, timeout=60)
        assert sorted(json.loads(r["value"])["payload"]["id"] for r in recs) == list(range(1, 5001)), \
            w.log()[-3000:]
        recs = kcat_consume_records(kafka, "myinc-" + table, 5000, timeout=60)
        assert [json.loads(r["value"])["payload"]["id"] for r in recs] == list(range(1, 5001)), w.log()[-3000:]
        my.client(f"INSERT INTO `{table}` SELECT seq, 'y' FROM seq_5001_to_5010")
        recs = kcat_consume_records(kafka, "myinc-" + table, 5010, timeout=30)
        assert [json.loads(r["value"])["payload"]["id"] for r in recs] == list(range(1, 5011)), w.log()[-3000:]
        wait_for(lambda: w.source_offset("mybiginc", {"protocol": "1", "table": f"shop.{table}"})
                 == {"incrementing": 5010}, 20, "the last offset", w.log)
        assert w.stop() == 0


def test_catalog_pattern_picks_the_databases_whose_tables_are_copied(kafka, my, tmp_path):
    """catalog.pattern: MySQL's catalogs are its databases (Confluent's TableId "db.table"); the
    tables of the matching database are copied, those of the URL's database are not."""
    db = unique_topic("shop2").replace("-", "_")
    table = unique_topic("items").replace("-", "_")
    my.client(f"CREATE DATABASE `{db}`; CREATE TABLE `{db}`.`{table}` (id INT PRIMARY KEY, name TEXT); "
              f"INSERT INTO `{db}`.`{table}` VALUES (1, 'in {db}'), (2, 'b')")
    # a table of the URL's database (shop) with the same name: not copied
    my.client(f"CREATE TABLE `{table}` (id INT PRIMARY KEY, name TEXT); INSERT INTO `{table}` VALUES (7, 'in shop')")
    conf = source(my, "mycatalog", "mycat-", mode="incrementing", incrementing_column_name="id",
                  catalog_pattern=db)
    w = Worker(tmp_path, kafka, [conf])
    with w:
        recs = kcat_consume_records(kafka, "mycat-" + table, 2, timeout=30)
        assert [json.loads(r["value"])["payload"]["name"] for r in recs] == [f"in {db}", "b"], w.log()[-3000:]
        wait_for(lambda: w.source_offset("mycatalog", {"protocol": "1", "table": f"{db}.{table}"})
                 == {"incrementing": 2}, 20, "the offset under db.table", w.log)
        time.sleep(1)
        assert len(kcat_consume_records(kafka, "mycat-" + table, 3, timeout=3)) == 2
        assert w.stop() == 0
    assert f"{db}.{table}" in w.log()
