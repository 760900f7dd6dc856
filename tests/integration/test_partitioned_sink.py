"""partitioned_sink on the real broker: Confluent's HDFS/S3 layout and file names, time
partitions in a fixed zone and in America/New_York through a DST change, and kill -9 cycles that must leave every offset in exactly one
committed file (and no temporary file)."""

from __future__ import annotations

import datetime
import json
import os
import random
import subprocess
import time
import uuid
from pathlib import Path
from typing import Dict, List, Tuple

from http_json import call
from kafka_records import create_topic, dump_topic
from worker import Worker, wait_for

JSON_PLAIN = {
    "key.converter": "org.apache.kafka.connect.storage.StringConverter",
    "value.converter": "org.apache.kafka.connect.json.JsonConverter",
    "value.converter.schemas.enable": "false",
}
KILLS = int(os.environ.get("LC_LAKE_KILLS", "5"))


def produce(kafka: str, topic: str, partition: int, values: List[dict]) -> None:
    """Sends values (as JSON lines) to one partition, in order, acks=all."""
    payload = "".join(json.dumps(v, separators=(",", ":")) + "\n" for v in values).encode()
    p = subprocess.run(["kcat", "-q", "-b", kafka, "-P", "-t", topic, "-p", str(partition),
                        "-X", "acks=all"], input=payload, capture_output=True, timeout=60)
    assert p.returncode == 0 and b"ERROR" not in p.stderr, p.stderr.decode(errors="replace")


def committed(root: Path) -> Dict[str, List[dict]]:
    """Every committed file under root (relative path -> its JSON lines); +tmp left out."""
    out = {}
    for f in sorted(root.rglob("*")):
        rel = f.relative_to(root).as_posix()
        if f.is_file() and not rel.startswith("+tmp/"):
            out[rel] = [json.loads(line) for line in f.read_text().splitlines()]
    return out


def temp_files(root: Path) -> List[str]:
    return [p.as_posix() for p in (root / "+tmp").rglob("*") if p.is_file()]


def lake_connector(name: str, topic: str, root: Path, **extra: str) -> Dict[str, str]:
    return {"name": name, "connector.class": "io.confluent.connect.hdfs.HdfsSinkConnector",
            "tasks.max": "1", "topics": topic, "topics.dir": str(root), **JSON_PLAIN, **extra}


def test_default_partitioner_names_files_as_confluent_does(kafka, tmp_path):
    topic = f"lc-lake-{uuid.uuid4().hex[:8]}"
    create_topic(kafka, topic, 3)
    for p in range(3):
        produce(kafka, topic, p, [{"id": p * 1000 + i, "p": p} for i in range(25)])
    root = tmp_path / "topics"
    w = Worker(tmp_path, kafka, [lake_connector("lake", topic, root, **{"flush.size": "10"})])
    with w:
        # 25 records a partition, 10 a file: two files each, offsets 20-24 stay uncommitted.
        wait_for(lambda: len(committed(root)) == 6, 60, "6 committed files", w.log)
        assert w.stop() == 0
    files = committed(root)
    want = {}
    for p in range(3):
        for a, b in ((0, 9), (10, 19)):
            want[f"{topic}/partition={p}/{topic}+{p}+{a:010d}+{b:010d}.json"] = [
                {"id": p * 1000 + i, "p": p} for i in range(a, b + 1)]
    assert files == want
    assert temp_files(root) == []  # a clean stop drops the open temporary files


def test_hourly_paths_in_a_fixed_zone_commit_two_files_at_once(kafka, tmp_path):
    topic = f"lc-lake-time-{uuid.uuid4().hex[:8]}"
    create_topic(kafka, topic, 1)
    # 2024-03-01T21:59:00Z and 22:00:30Z: hours 23 and 00 (next day) at +02:00
    t0 = 1709330340000
    values = [{"id": i, "at": t0 + i * 15000} for i in range(8)]
    produce(kafka, topic, 0, values)
    root = tmp_path / "lake"
    w = Worker(tmp_path, kafka, [lake_connector(
        "lake", topic, root, **{
            "connector.class": "io.confluent.connect.s3.S3SinkConnector",
            "flush.size": "8", "partitioner.class": "io.confluent.connect.storage.partitioner.TimeBasedPartitioner",
            "path.format": "'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH", "partition.duration.ms": "3600000",
            "locale": "en-US", "timezone": "+02:00", "timestamp.extractor": "RecordField",
            "timestamp.field": "at", "filename.offset.zero.pad.width": "4"})])
    with w:
        wait_for(lambda: len(committed(root)) == 2, 60, "2 committed files", w.log)
        assert w.stop() == 0
    assert committed(root) == {
        f"{topic}/year=2024/month=03/day=01/hour=23/{topic}+0+0000+0003.json": values[:4],
        f"{topic}/year=2024/month=03/day=02/hour=00/{topic}+0+0004+0007.json": values[4:],
    }


# A source that sends the records of its "records" config (JSON: [{ts, value}]) once, with
# those record timestamps (kcat cannot set them).
STAMPED_SOURCE = (
    'local connect = require "luaconnect"\n'
    "return connect.source {\n"
    "  config = { topic = { type = 'string', required = true },\n"
    "             records = { type = 'string', required = true } },\n"
    "  poll = function(task)\n"
    "    local sp = { stamped = task.config.topic }\n"
    "    if task.sent or task.offsets:get(sp) then return nil end\n"
    "    task.sent = true\n"
    "    local out = {}\n"
    "    for i, r in ipairs(connect.json.decode(task.config.records)) do\n"
    "      out[i] = { topic = task.config.topic, partition = 0, timestamp = r.ts, value = r.value,\n"
    "                 source_partition = sp, source_offset = { n = i } }\n"
    "    end\n"
    "    return out\n"
    "  end,\n"
    "}\n")


def test_hourly_partitions_in_new_york_through_the_march_dst_change(kafka, tmp_path):
    """HourlyPartitioner with timezone=America/New_York over records spanning 2024-03-10, when
    02:00 EST jumps to 03:00 EDT: the directories are the local hours Confluent's connector
    names (no hour=02), for the record timestamp (Record) and for a value field holding epoch
    ms or ISO-8601 date-times with offsets (RecordField); every record exactly once."""
    topic = f"lc-lake-ny-{uuid.uuid4().hex[:8]}"
    create_topic(kafka, topic, 1)
    utc = [  # (UTC instant, local hour in New York)
        ("2024-03-10T05:30:00Z", "00"), ("2024-03-10T06:00:00Z", "01"),
        ("2024-03-10T06:30:00Z", "01"), ("2024-03-10T06:59:59.999Z", "01"),
        ("2024-03-10T07:00:00Z", "03"), ("2024-03-10T07:30:00Z", "03"),
        ("2024-03-10T08:00:00Z", "04")]
    ms = [int(datetime.datetime.fromisoformat(u.replace("Z", "+00:00")).timestamp() * 1000)
          for u, _ in utc]
    # The field: epoch ms, an ISO-8601 date-time in UTC, or one with the local offset.
    fields = [ms[0], "2024-03-10T06:00:00Z", "2024-03-10T01:30:00-05:00", ms[3],
              "2024-03-10T03:00:00-04:00", "2024-03-10T07:30:00.000Z", ms[6]]
    values = [{"id": i, "at": fields[i]} for i in range(len(utc))]
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "stamped.lua").write_text(STAMPED_SOURCE)
    hourly = {"flush.size": "7", "partitioner.class": "io.confluent.connect.storage.partitioner.HourlyPartitioner",
              "locale": "en-US", "timezone": "America/New_York"}
    by_record, by_field = tmp_path / "by-record", tmp_path / "by-field"
    w = Worker(tmp_path, kafka, [
        {"name": "stamped", "connector.class": "stamped", "topic": topic, **JSON_PLAIN,
         "records": json.dumps([{"ts": ms[i], "value": values[i]} for i in range(len(utc))])},
        lake_connector("lake-record", topic, by_record, **hourly, **{"timestamp.extractor": "Record"}),
        lake_connector("lake-field", topic, by_field, **hourly, **{
            "connector.class": "io.confluent.connect.s3.S3SinkConnector",
            "timestamp.extractor": "RecordField", "timestamp.field": "at"})],
        worker={"plugin.path": str(plugins)})
    def state() -> str:  # what a timeout shows beside the log (the test once timed out under ASan)
        return (w.log() + f"\n--- {topic}: {len(dump_topic(kafka, topic))} records; files: "
                + ", ".join(p.relative_to(tmp_path).as_posix()
                            for root in (by_record, by_field) for p in sorted(root.rglob("*"))
                            if p.is_file()))

    with w:
        wait_for(lambda: len(committed(by_record)) == 4 and len(committed(by_field)) == 4, 60,
                 "4 committed files in each lake", state)
        assert w.stop() == 0
    want = {}
    for hour in ("00", "01", "03", "04"):
        offs = [i for i, (_, h) in enumerate(utc) if h == hour]
        want[f"{topic}/year=2024/month=03/day=10/hour={hour}/{topic}+0+{offs[0]:010d}+{offs[-1]:010d}.json"] = [
            values[i] for i in offs]
    assert committed(by_record) == want
    assert committed(by_field) == want
    assert temp_files(by_record) == [] and temp_files(by_field) == []


def test_validate_names_an_unknown_timezone_and_accepts_tz_database_ids(kafka, tmp_path):
    w = Worker(tmp_path, kafka, [])
    with w:
        url = w.url() + "/connector-plugins/HdfsSinkConnector/config/validate"

        def errors(zone: str) -> List[str]:
            code, body = call("PUT", url, {"connector.class": "HdfsSinkConnector", "name": "v",
                                           "topics": "t", "flush.size": "3", "timezone": zone})
            assert code == 200, body
            return [e for c in body["configs"] if c["value"]["name"] == "timezone"
                    for e in c["value"]["errors"]]
        for zone in ("America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "+05:30", "UTC"):
            assert errors(zone) == [], zone
        tzdir = os.environ.get("TZDIR", "/usr/share/zoneinfo")
        assert errors("Mars/Base") == [
            "connector 'v': key 'timezone': timezone 'Mars/Base' is not recognised: not a fixed "
            f"offset and no such zone in the tz database {tzdir} (accepted: UTC, a fixed offset "
            "(+05:30, UTC+05:30, Etc/GMT-5) or a tz database id such as America/New_York)"]
        assert w.stop() == 0


def test_kill_9_cycles_leave_every_offset_in_exactly_one_committed_file(kafka, tmp_path):
    topic = f"lc-lake-eos-{uuid.uuid4().hex[:8]}"
    create_topic(kafka, topic, 3)
    per_batch, rng = 400, random.Random(os.environ.get("LC_LAKE_SEED", "19"))
    root = tmp_path / "lake"
    # Field partitions (k=a/b/c) make each rotation commit several files at once.
    conn = lake_connector("lake", topic, root, **{
        "flush.size": "30", "partitioner.class": "FieldPartitioner", "partition.field.name": "k",
        "consumer.override.max.poll.records": "50"})
    sent: Dict[int, int] = {0: 0, 1: 0, 2: 0}

    def send_batch():
        for p in range(3):
            produce(kafka, topic, p, [{"id": sent[p] + i, "p": p, "k": "abc"[(sent[p] + i) % 3]}
                                      for i in range(per_batch)])
            sent[p] += per_batch

    # A short consumer session: each restart's group join waits for the killed member's
    # session to end (45 s by default).
    w = Worker(tmp_path, kafka, [conn], worker={"consumer.session.timeout.ms": "6000",
                                                "consumer.heartbeat.interval.ms": "1000"})
    try:
        for k in range(KILLS):
            send_batch()
            w.start()
            # The log accumulates over the cycles: this cycle's task is the (k+1)-th RUNNING.
            wait_for(lambda: w.log().count("task RUNNING") > k, 60,
                     f"cycle {k + 1}: the task RUNNING", w.log)
            time.sleep(rng.uniform(0.2, 1.5))
            w.kill()
        # Last run: everything up to a multiple of flush.size gets committed.
        w.start()
        full = {p: n - n % 30 for p, n in sent.items()}

        def done():
            seen = {0: 0, 1: 0, 2: 0}
            for rows in committed(root).values():
                for r in rows:
                    seen[r["p"]] += 1
            return all(seen[p] >= full[p] for p in seen)
        wait_for(done, 120, "every full file committed", w.log)
        assert w.stop() == 0
    finally:
        if w.alive():
            w.kill()
    seen: Dict[Tuple[int, int], str] = {}
    for name, rows in committed(root).items():
        fname = name.rsplit("/", 1)[1]
        t, p, a, b = fname[: -len(".json")].rsplit("+", 3)
        assert t == topic
        ids = [r["id"] for r in rows]
        assert ids == sorted(ids) and ids[0] == int(a) and ids[-1] == int(b), (name, ids)
        assert all(r["p"] == int(p) and name.split("/")[1] == f"k={r['k']}" for r in rows), name
        for r in rows:
            assert (r["p"], r["id"]) not in seen, f"offset {r['id']} of partition {p} in {name} and {seen[(r['p'], r['id'])]}"
            seen[(r["p"], r["id"])] = name
    for p in range(3):
        got = sorted(i for q, i in seen if q == p)
        assert got == list(range(full[p])), f"partition {p}: {len(got)} offsets, want 0..{full[p] - 1}"
    assert temp_files(root) == []
    print(f"\npartitioned_sink, {KILLS} kill -9 cycles: {len(seen)} records in "
          f"{len(committed(root))} files, each offset exactly once")


def test_duckdb_reads_the_lake_as_hive_partitioned_tables(kafka, tmp_path):
    duckdb = __import__("pytest").importorskip("duckdb")
    topic = f"lc-lake-duck-{uuid.uuid4().hex[:8]}"
    create_topic(kafka, topic, 2)
    day = 86400000
    t0 = 1704067200000  # 2024-01-01T00:00:00Z
    rows = {p: [{"id": p * 100 + i, "region": "eu" if i % 3 else "us", "amount": i * 7 + p,
                 "note": 'a,"quoted" é' if i == 4 else "", "at": t0 + (i % 4) * day}
                for i in range(40)] for p in range(2)}
    for p in range(2):
        produce(kafka, topic, p, rows[p])
    csv_root, json_root = tmp_path / "csv", tmp_path / "json"
    w = Worker(tmp_path, kafka, [
        lake_connector("lake-csv", topic, csv_root, **{
            "connector.class": "PartitionedSink", "flush.size": "20", "format.class": "csv",
            "partitioner.class": "FieldPartitioner", "partition.field.name": "region"}),
        lake_connector("lake-json", topic, json_root, **{
            "connector.class": "io.confluent.connect.s3.S3SinkConnector", "flush.size": "40",
            "format.class": "io.confluent.connect.s3.format.json.JsonFormat",
            "s3.compression.type": "gzip", "partitioner.class": "DailyPartitioner",
            "timezone": "UTC", "timestamp.extractor": "RecordField", "timestamp.field": "at"}),
    ])
    with w:
        def n_files(root):
            return len([f for f in root.rglob("*") if f.is_file() and "+tmp" not in f.parts])
        wait_for(lambda: n_files(csv_root) == 8 and n_files(json_root) == 8, 60, "all files committed", w.log)
        assert w.stop() == 0
    allrows = rows[0] + rows[1]
    want = {r: (sum(1 for x in allrows if x["region"] == r), sum(x["amount"] for x in allrows if x["region"] == r))
            for r in ("eu", "us")}
    con = duckdb.connect()
    got = con.execute(
        f"SELECT region, count(*), sum(amount) FROM read_csv('{csv_root}/{topic}/*/*.csv', "
        "hive_partitioning=true, header=true) GROUP BY region ORDER BY region").fetchall()
    assert {r: (c, s) for r, c, s in got} == want
    notes = con.execute(f"SELECT DISTINCT note FROM read_csv('{csv_root}/{topic}/*/*.csv', "
                        "hive_partitioning=true, header=true) WHERE note IS NOT NULL").fetchall()
    assert notes == [('a,"quoted" é',)]
    got = con.execute(
        f"SELECT day, count(*), sum(amount) FROM read_json('{json_root}/{topic}/*/*/*/*.json.gz', "
        "hive_partitioning=true) GROUP BY day ORDER BY day").fetchall()
    want_days = [(f"{d + 1:02d}", sum(1 for x in allrows if (x["at"] - t0) // day == d),
                  sum(x["amount"] for x in allrows if (x["at"] - t0) // day == d)) for d in range(4)]
    assert [(f"{int(d):02d}", c, s) for d, c, s in got] == want_days


def test_rotate_schedule_commits_an_idle_partition_on_the_wall_clock(kafka, tmp_path):
    topic = f"lc-lake-sched-{uuid.uuid4().hex[:8]}"
    create_topic(kafka, topic, 1)
    produce(kafka, topic, 0, [{"id": i} for i in range(3)])
    root = tmp_path / "topics"
    w = Worker(tmp_path, kafka, [lake_connector("lake", topic, root, **{
        "flush.size": "1000", "rotate.schedule.interval.ms": "2000", "timezone": "UTC"})])
    with w:
        # No more records come: only the clock (idle()) can commit the three.
        def rows():
            return [r for f in committed(root).values() for r in f]
        wait_for(lambda: len(rows()) == 3, 60, "the scheduled rotation", w.log)
        assert w.stop() == 0
    files = committed(root)
    if len(files) == 1:
        assert files == {
            f"{topic}/partition=0/{topic}+0+0000000000+0000000002.json": [{"id": i} for i in range(3)]}
    else:  # the records came in two fetches on both sides of a 2 s boundary
        assert sorted(r["id"] for f in files.values() for r in f) == [0, 1, 2], files


def test_binary_values_tombstones_and_schema_csv(kafka, tmp_path):
    topic = f"lc-lake-bin-{uuid.uuid4().hex[:8]}"
    create_topic(kafka, topic, 1)
    blobs = [bytes([0, 255, 128, 7]), "é€😀".encode(), bytes(range(11, 40))]
    # a tombstone (kcat -Z: an empty value is NULL) between the binary values
    payload = b"".join(b"k:" + v + b"\x01" for v in (blobs[0], b"", blobs[1], blobs[2]))
    p = subprocess.run(["kcat", "-q", "-b", kafka, "-P", "-t", topic, "-p", "0", "-Z", "-K", ":",
                        "-D", "\x01", "-X", "acks=all"], input=payload, capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr
    struct_topic = f"lc-lake-struct-{uuid.uuid4().hex[:8]}"
    create_topic(kafka, struct_topic, 1)
    schema = {"type": "struct", "fields": [{"field": "name", "type": "string"},
                                           {"field": "qty", "type": "int32"}]}
    produce(kafka, struct_topic, 0, [{"schema": schema, "payload": {"name": n, "qty": q}}
                                      for n, q in (("plain", 1), ("with,comma", 2), ("é", 3))])
    root = tmp_path / "lake"
    w = Worker(tmp_path, kafka, [
        lake_connector("bin", topic, root, **{
            "connector.class": "io.confluent.connect.s3.S3SinkConnector", "flush.size": "3",
            "format.class": "io.confluent.connect.s3.format.bytearray.ByteArrayFormat",
            "value.converter": "org.apache.kafka.connect.converters.ByteArrayConverter",
            "behavior.on.null.values": "ignore", "format.bytearray.separator": "|"}),
        lake_connector("csv", struct_topic, root, **{
            "flush.size": "3", "format.class": "csv", "value.converter.schemas.enable": "true"}),
        lake_connector("fail", topic, tmp_path / "fail", **{"flush.size": "3",
            "value.converter": "org.apache.kafka.connect.converters.ByteArrayConverter",
            "format.class": "bytes"}),
    ])
    with w:
        wait_for(lambda: len(list(root.rglob("*.bin"))) == 1 and len(list(root.rglob("*.csv"))) == 1,
                 60, "the bytes and CSV files", w.log)
        wait_for(lambda: (w.status("fail", 0) or ("",))[0] == "FAILED", 60, "the task failing on the tombstone", w.log)
        trace = w.status("fail", 0)[1]
        assert f"record (topic {topic}, partition 0, offset 1): null value (tombstone)" in trace, trace
        w.stop()
    # offsets 0, 2, 3 are the blobs; the tombstone (1) is skipped, the file still spans 0-3
    f = root / topic / "partition=0" / f"{topic}+0+0000000000+0000000003.bin"
    assert f.read_bytes() == b"|".join(blobs) + b"|"
    c = root / struct_topic / "partition=0" / f"{struct_topic}+0+0000000000+0000000002.csv"
    assert c.read_text(encoding="utf-8") == 'name,qty\nplain,1\n"with,comma",2\né,3\n'
