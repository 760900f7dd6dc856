"""Taking over a slot and its offset between the PostgreSQL CDC source
(scripts/postgres_cdc_source.lua) and the real thing: Debezium's PostgreSQL connector
(io.debezium:debezium-connector-postgres 3.6.1.Final through plugin.path in Apache Kafka Connect
4.x standalone), as a user moving from one to the other does it.

(a) Debezium snapshots a table and streams part of a workload, is stopped mid-stream
    (PUT /connectors/X/stop); its offset, read with GET /connectors/X/offsets, goes to a
    luaconnect connector created STOPPED (PATCH /connectors/X/offsets, KIP-875), which resumes
    on the same slot and topic.prefix.
(b) the other way: luaconnect snapshots and streams part, is stopped; its offset goes to a
    Debezium connector created STOPPED (Connect writes it to its offset store: Debezium 3.6.1
    has no alterOffsets of its own), which resumes on the same slot.

Each table's topic then holds every change of the workload exactly once and in order (keys and
ops, tombstones included), with records of both connectors in it; but when Debezium's offset is
on a delete, luaconnect gives that delete's tombstone again (Kafka Connect may have committed the
offset before the tombstone was sent), so it may be there twice. Both connectors hand out
small batches (max.batch.size=3), so the stop usually falls inside a transaction.
About 25 s for both, Kafka Connect's start included."""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import List, Tuple

import pytest

import cdc_compare as cc
from conftest import release_round_only, unique_topic
from http_json import call_ok
from kafka_records import read_topic
from connect_java import ConnectStandalone, java_available
from pg_server import PgServer
from worker import Worker, wait_for

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "kafka"))
import connect_jars  # noqa: E402

SEED = 4  # rows before the connectors start (snapshot records)
TXS = 40  # workload transactions, each: insert 2 rows, update one, delete the other
HALF = 10  # transactions read by the connector that hands over (and maybe a few more)


def skip_reason():
    why = java_available()
    if why:
        return why
    if connect_jars.debezium_resolved() is None and not shutil.which("mvn"):
        return "Debezium's plugin is not cached and mvn is not installed to fetch it"
    return None


pytestmark = pytest.mark.skipif(skip_reason() is not None, reason=str(skip_reason()))


@pytest.fixture(scope="module")
def pg():
    base = Path(tempfile.mkdtemp(prefix="lc-cdcoff-"))
    server = PgServer(base, logical=True)
    try:
        server.start()
        server.psql(f"CREATE SCHEMA {cc.SCHEMA}")
        yield server
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def connect(kafka, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("connect")
    cj = ConnectStandalone(tmp, kafka, extra={"plugin.path": f"{tmp / 'connect-standalone.plugins'},"
                                                              f"{connect_jars.debezium_plugin()}"})
    with cj:
        yield cj


def changes(recs: List[dict]) -> List[Tuple[str, int]]:
    """(op, id) of each record; ("tombstone", id) for a tombstone."""
    out = []
    for r in recs:
        key = json.loads(r["key"])["payload"]["id"]
        out.append((json.loads(r["value"])["payload"]["op"], key) if r["value"] else ("tombstone", key))
    return out


def writers(recs: List[dict]) -> List[str]:
    """source.version of each streamed record: which connector wrote it."""
    return [json.loads(r["value"])["payload"]["source"]["version"] for r in recs
            if r["value"] and json.loads(r["value"])["payload"]["op"] != "r"]


def expected(table_rows: int) -> List[Tuple[str, int]]:
    want = [("r", i) for i in range(1, table_rows + 1)]
    for k in range(TXS):
        a, b = 100 + 2 * k, 101 + 2 * k
        want += [("c", a), ("c", b), ("u", a), ("d", b), ("tombstone", b)]
    return want


def workload(pg, table: str, first: int, last: int, pace: float = 0) -> str:
    """Transactions first..last-1 of the workload, pace seconds apart, as one psql script."""
    parts = []
    for k in range(first, last):
        a, b = 100 + 2 * k, 101 + 2 * k
        parts.append(f"BEGIN; INSERT INTO {table} VALUES ({a}, {k}); INSERT INTO {table} VALUES ({b}, {k}); "
                     f"UPDATE {table} SET v = -{k} WHERE id = {a}; DELETE FROM {table} WHERE id = {b}; COMMIT;"
                     + (f" SELECT pg_sleep({pace});" if pace else ""))
    return "\n".join(parts)


def run_workload(pg, table: str, kafka: str, topic: str, log) -> threading.Thread:
    """The first HALF transactions, read by the first connector; then the rest in the
    background, a few ms apart, while the test stops that connector."""
    cc.run_script(pg, workload(pg, table, 0, HALF))
    wait_records(kafka, topic, SEED + 5 * HALF, "the first part of the workload", log)
    t = threading.Thread(target=cc.run_script, args=(pg, workload(pg, table, HALF, TXS, 0.1)), daemon=True)
    t.start()
    time.sleep(0.5)  # a few transactions on their way as the connector stops
    return t


def setup_table(pg, name: str) -> Tuple[str, dict]:
    """A table with SEED rows, and the configuration both connectors run for it."""
    table = f"{cc.SCHEMA}.{name}"
    pg.psql(f"CREATE TABLE {table} (id INT PRIMARY KEY, v INT)")
    pg.psql(f"INSERT INTO {table} SELECT g, 0 FROM generate_series(1, {SEED}) g")
    prefix = unique_topic(name).replace("-", "_")
    conf = cc.connector_config(pg, prefix, {"table.include.list": table.replace(".", r"\."),
                                            "max.batch.size": "3"})
    return prefix + "." + table, conf


def debezium(conf: dict) -> dict:
    """conf for Debezium (its queue must be larger than a batch)."""
    return dict(conf, **{"max.queue.size": "8"})


def slot_active(pg, slot: str) -> bool:
    """True while a connector streams from slot (False also before it exists)."""
    return pg.psql(f"SELECT active FROM pg_replication_slots WHERE slot_name = '{slot}'") == [["t"]]


def slot_idle(pg, slot: str) -> bool:
    return pg.psql(f"SELECT active FROM pg_replication_slots WHERE slot_name = '{slot}'") == [["f"]]


def wait_records(kafka: str, topic: str, n: int, what: str, log) -> List[dict]:
    got: List[List[dict]] = [[]]

    def enough():
        got[0] = read_topic(kafka, topic)
        return len(got[0]) >= n

    wait_for(enough, 90, what, log)
    return got[0]


def check(kafka: str, topic: str, log, handed: dict = None) -> None:
    """Every change of the workload once, in order. handed: Debezium's offset luaconnect took
    over; when it is on a delete, that delete's tombstone may be there twice: Kafka Connect
    commits Debezium's offset once the delete is acknowledged, before its tombstone is sent, so
    luaconnect gives the tombstone again (at least once; see _pgoffsets.resume_at)."""
    want = expected(SEED)
    recs = wait_records(kafka, topic, len(want), f"{len(want)} records on {topic}",
                        lambda: f"{log()[-1000:]}\nrecords (op, id): {changes(read_topic(kafka, topic))}")
    while True:  # anything doubled arrives with the rest: read until nothing moves
        time.sleep(1.5)
        again = read_topic(kafka, topic)
        if len(again) == len(recs):
            break
        recs = again
    got = changes(recs)
    if handed and handed.get("messageType") == "DELETE":
        again = [i for i in range(1, len(got)) if got[i] == got[i - 1] and got[i][0] == "tombstone"]
        assert len(again) <= 1, ("more than the handed-over tombstone doubled", got, log())
        if again:
            print("the tombstone of the handed-over delete came twice:", got[again[0]])
            del got[again[0]]
    assert got == want, ("records (op, id) differ from the workload's changes", got, log())
    who = writers(recs)
    # the takeover happened mid-workload: both connectors wrote streamed records
    assert len(set(who)) == 2, (who, log())


@release_round_only("two connectors handing a slot over beside a Kafka Connect JVM; test_postgres_cdc "
                    "runs the same Lua paths under the sanitizers")
def test_luaconnect_takes_over_from_debezium(kafka, pg, connect, tmp_path):
    topic, conf = setup_table(pg, "from_dbz")
    name, slot = conf["name"], conf["slot.name"]
    connect.rest("POST", "/connectors", {"name": name, "config": debezium(conf)})
    wait_records(kafka, topic, SEED, "Debezium's snapshot", connect.log_tail)
    wait_for(lambda: slot_active(pg, slot), 60, "Debezium streaming", connect.log_tail)
    load = run_workload(pg, conf["table.include.list"].replace("\\", ""), kafka, topic, connect.log_tail)
    connect.rest("PUT", f"/connectors/{name}/stop")
    wait_for(lambda: slot_idle(pg, slot), 60, "Debezium to let the slot go", connect.log_tail)
    offsets = connect.rest("GET", f"/connectors/{name}/offsets")["offsets"]
    assert [o["partition"] for o in offsets] == [{"server": conf["topic.prefix"]}], offsets
    print("Debezium's offset:", offsets[0]["offset"])

    w = Worker(tmp_path, kafka, [])
    with w:
        url = w.url()
        call_ok("POST", f"{url}/connectors", {"name": name, "config": conf, "initial_state": "STOPPED"})
        call_ok("PATCH", f"{url}/connectors/{name}/offsets", {"offsets": offsets})
        call_ok("PUT", f"{url}/connectors/{name}/resume")
        load.join(60)
        check(kafka, topic, lambda: w.log()[-4000:] + connect.log_tail(2000), offsets[0]["offset"])
        assert "snapshot of" not in w.log(), w.log()[-3000:]
        call_ok("PUT", f"{url}/connectors/{name}/stop")
    connect.rest("DELETE", f"/connectors/{name}")


@release_round_only("two connectors handing a slot over beside a Kafka Connect JVM; test_postgres_cdc "
                    "runs the same Lua paths under the sanitizers")
def test_debezium_takes_over_from_luaconnect(kafka, pg, connect, tmp_path):
    topic, conf = setup_table(pg, "from_lc")
    name, slot = conf["name"], conf["slot.name"]
    w = Worker(tmp_path, kafka, [])
    with w:
        url = w.url()
        call_ok("POST", f"{url}/connectors", {"name": name, "config": conf})
        wait_records(kafka, topic, SEED, "luaconnect's snapshot", w.log)
        wait_for(lambda: slot_active(pg, slot), 60, "luaconnect streaming", w.log)
        load = run_workload(pg, conf["table.include.list"].replace("\\", ""), kafka, topic, w.log)
        call_ok("PUT", f"{url}/connectors/{name}/stop")
        wait_for(lambda: slot_idle(pg, slot), 60, "luaconnect to let the slot go", w.log)
        offsets = call_ok("GET", f"{url}/connectors/{name}/offsets")["offsets"]
    assert [o["partition"] for o in offsets] == [{"server": conf["topic.prefix"]}], offsets
    print("luaconnect's offset:", offsets[0]["offset"])
    connect.rest("POST", "/connectors", {"name": name, "config": debezium(conf), "initial_state": "STOPPED"})
    connect.rest("PATCH", f"/connectors/{name}/offsets", {"offsets": offsets})
    connect.rest("PUT", f"/connectors/{name}/resume")
    load.join(60)
    check(kafka, topic, lambda: connect.log_tail(4000) + w.log()[-2000:])
    assert connect.rest("GET", f"/connectors/{name}/status")["tasks"][0]["state"] == "RUNNING"
    connect.rest("PUT", f"/connectors/{name}/stop")
