"""The PostgreSQL CDC source (scripts/postgres_cdc_source.lua) side by side with the real thing:
Debezium's PostgreSQL connector (io.debezium:debezium-connector-postgres 3.6.1.Final, installed
through plugin.path in Apache Kafka Connect 4.3.1) and luaconnect read the same database and the
same workload (cdc_compare.py), each with its own slot, publication and topic.prefix, and their
topics are compared record by record: keys, values and schemas in JsonConverter's envelope, only
times and server-generated identifiers left out. Every other difference fails the test.

The integration suite runs a small workload (LC_CDC_ROWS, default 12 rows per table) with
Debezium's defaults; `make cdc-vs-debezium` runs the long one, and once more with the other
value modes (LC_CDC_ALL_MODES=1: decimal.handling.mode=string, time.precision.mode=connect,
hstore.handling.mode=map). Skips only when Java or Maven are missing."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List

import pytest

import cdc_compare as cc
from conftest import release_round_only, unique_topic
from kafka_records import read_topic
from connect_java import ConnectStandalone, java_available
from pg_server import PgServer
from worker import Worker, wait_for

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "kafka"))
import connect_jars  # noqa: E402

ROWS = int(os.environ.get("LC_CDC_ROWS", "12"))
SETTLE_TIMEOUT = float(os.environ.get("LC_CDC_SETTLE_TIMEOUT", "90"))
# Configurations both sides run: Debezium's defaults, and (long form only) the other modes of
# the keys that change values.
MODES = [pytest.param({}, id="defaults")]
if os.environ.get("LC_CDC_ALL_MODES") == "1":
    MODES.append(pytest.param({"decimal.handling.mode": "string", "time.precision.mode": "connect",
                               "hstore.handling.mode": "map"}, id="other-modes"))


def skip_reason():
    why = java_available()
    if why:
        return why
    if connect_jars.debezium_resolved() is None and not shutil.which("mvn"):
        return "Debezium's plugin is not cached and mvn is not installed to fetch it"
    return None


pytestmark = pytest.mark.skipif(skip_reason() is not None, reason=str(skip_reason()))


def settle(kafka: str, prefixes: List[str], at_least: int, timeout: float) -> Dict[str, Dict[str, List[dict]]]:
    """Reads every table's topic of each prefix until all of them hold at least at_least
    records in total, the two sides hold as many records per table, and nothing moved for 3
    reads in a row (or timeout passes: the comparison then names what is missing)."""
    deadline = time.monotonic() + timeout
    last, same = None, 0
    while True:
        got = {p: {t: read_topic(kafka, f"{p}.{cc.SCHEMA}.{t}", 300) for t in cc.TABLES} for p in prefixes}
        counts = tuple(tuple(len(got[p][t]) for t in cc.TABLES) for p in prefixes)
        same = same + 1 if counts == last else 0
        last = counts
        full = all(sum(c) >= at_least for c in counts) and len(set(counts)) == 1
        if (full and same >= 2) or time.monotonic() > deadline:
            return got
        time.sleep(1)


@pytest.fixture
def pg():
    base = Path(tempfile.mkdtemp(prefix="lc-cdcvs-"))
    server = PgServer(base, logical=True)
    try:
        yield server.start()
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


@release_round_only("a record-by-record comparison beside a Kafka Connect JVM; test_postgres_cdc "
                    "runs the same Lua paths under the sanitizers")
@pytest.mark.parametrize("mode", MODES)
def test_records_same_as_debeziums(kafka, pg, tmp_path, mode):
    cc.seed(pg, ROWS)
    lua_prefix = unique_topic("lcside").replace("-", "_")
    dbz_prefix = unique_topic("dbzside").replace("-", "_")
    plugins = tmp_path / "connect-standalone.plugins"
    dbz_dir = connect_jars.debezium_plugin()
    cj = ConnectStandalone(tmp_path, kafka, extra={"plugin.path": f"{plugins},{dbz_dir}"})
    w = Worker(tmp_path, kafka, [cc.connector_config(pg, lua_prefix, mode)])
    with cj, w:
        cj.rest("POST", "/connectors", {"name": dbz_prefix,
                                        "config": cc.connector_config(pg, dbz_prefix, mode)})
        # both snapshots done (each slot exists and its connector streams) before the workload
        snap = 2 * ROWS + 2
        settle(kafka, [lua_prefix, dbz_prefix], snap, SETTLE_TIMEOUT)
        wait_for(lambda: len(pg.psql("SELECT 1 FROM pg_replication_slots WHERE active AND slot_name IN "
                                     f"('{lua_prefix}', '{dbz_prefix}')")) == 2, 60,
                 "both slots streaming", lambda: w.log()[-2000:] + cj.log_tail(3000))
        cc.workload(pg, ROWS)
        got = settle(kafka, [lua_prefix, dbz_prefix], snap + 2 * ROWS, SETTLE_TIMEOUT)
        status = cj.rest("GET", f"/connectors/{dbz_prefix}/status")
    assert status["tasks"] and status["tasks"][0]["state"] == "RUNNING", (status, cj.log_tail())
    # both topics as read, for a look at what differs
    (tmp_path / "topics.json").write_text(json.dumps(
        {p: {t: [{"key": r["key"] and r["key"].decode(), "value": r["value"] and r["value"].decode()}
                 for r in got[p][t]] for t in cc.TABLES} for p in (lua_prefix, dbz_prefix)}, indent=1))
    diffs: List[str] = []
    for t in cc.TABLES:
        diffs += cc.compare(t, got[lua_prefix][t], lua_prefix, got[dbz_prefix][t], dbz_prefix)
    total = sum(len(got[dbz_prefix][t]) for t in cc.TABLES)
    # the workload gave every kind of event (so an empty comparison cannot pass)
    ops = {json.loads(r["value"])["payload"]["op"] if r["value"] else "tombstone"
           for t in cc.TABLES for r in got[dbz_prefix][t]}
    assert ops == {"r", "c", "u", "d", "tombstone"}, (ops, cj.log_tail())
    assert total >= snap + 2 * ROWS, (total, cj.log_tail(), w.log()[-3000:])
    assert not diffs, f"{len(diffs)} difference(s) from Debezium over {total} records:\n" + "\n".join(diffs)
