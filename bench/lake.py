#!/usr/bin/env python3
"""make bench-lake: the partitioned file sink (scripts/partitioned_sink.lua) end to end, Kafka
to committed files, for N JSON records of about 100 bytes into hourly directories, fsync on
(every commit fsyncs the file and its directory; the sink has no way to turn that off).

The records are produced first (not measured): {"id", "ts", "customer", "amount", "note"},
ts advancing so that each hour of record time holds exactly N/25 records. The sink runs
HourlyPartitioner with timestamp.extractor=RecordField (ts), JsonFormat, flush.size N/100:
every hour is committed as 4 files of flush.size records, 100 files in all, the last one
committed by the last record. The clock runs from the POST of the connector until the 100th
file has its final name; the worker's CPU (user+sys, every thread) over the same span.

Figures: records/s, MB/s of committed JSON, CPU µs per record, the worker's peak RSS; the
committed files are then checked: N lines, every id once.

usage: bench/lake.py --bootstrap HOST:PORT --binary build/luaconnect --out DIR [--records N]"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from benchlib import (create_topic, proc_stats, produce_lines, rest_call,  # noqa: E402
                      wait_rest, write_props)

HOUR_MS = 3600 * 1000
START_MS = 1767225600000  # 2026-01-01T00:00:00Z


def produce(bootstrap, topic, n):
    per_hour = n // 25
    step = HOUR_MS // per_hour

    def chunks():
        for start in range(0, n, 20000):
            out = []
            for i in range(start, min(n, start + 20000)):
                hour, k = divmod(i, per_hour)
                ts = START_MS + hour * HOUR_MS + k * step
                out.append('{"id":%d,"ts":%d,"customer":"c-%05d","amount":%d.%02d,"note":"bench"}\n'
                           % (i, ts, i % 50000, i % 997, i % 100))
            yield "".join(out)
    produce_lines(bootstrap, topic, chunks(), n)


def committed(lake):
    return [p for p in lake.rglob("*.json") if "+tmp" not in p.parts]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--binary", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--records", type=int, default=1000000)
    ap.add_argument("--sides", default="luaconnect", help="ignored: luaconnect only")
    a = ap.parse_args()
    n = a.records - a.records % 100
    flush = n // 100
    tmp = Path(tempfile.mkdtemp(prefix="luaconnect-bench-lake."))
    topic = f"bench-lake-{uuid.uuid4().hex[:8]}"
    create_topic(a.bootstrap, topic)
    t = time.monotonic()
    produce(a.bootstrap, topic, n)
    print(f"produced {n:,} records to {topic} in {time.monotonic() - t:.1f} s", flush=True)

    lake = tmp / "lake"
    port = 18000 + os.getpid() % 1000
    worker = write_props(tmp / "worker.properties", {
        "bootstrap.servers": a.bootstrap,
        "key.converter": "org.apache.kafka.connect.storage.StringConverter",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable": "false",
        "offset.storage.file.filename": str(tmp / "offsets.db"),
        "listeners": f"http://127.0.0.1:{port}"})
    log = open(tmp / "worker.log", "wb")
    proc = subprocess.Popen([a.binary, "standalone", str(worker)], stdout=log,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    api = f"http://127.0.0.1:{port}"
    wait_rest(api)
    config = {
        "connector.class": "io.confluent.connect.hdfs.HdfsSinkConnector", "topics": topic,
        "topics.dir": str(lake), "flush.size": str(flush),
        "format.class": "io.confluent.connect.hdfs.json.JsonFormat",
        "partitioner.class": "io.confluent.connect.storage.partitioner.HourlyPartitioner",
        "timestamp.extractor": "RecordField", "timestamp.field": "ts",
        "locale": "en-US", "timezone": "UTC"}
    cpu0 = proc_stats(proc.pid)[0]
    t0 = time.monotonic()
    rest_call(api + "/connectors", "POST", {"name": "lake", "config": config})
    deadline = t0 + 900
    while len(committed(lake)) < 100:
        if time.monotonic() > deadline or proc.poll() is not None:
            raise SystemExit(f"only {len(committed(lake))} of 100 files committed; "
                             f"see {tmp / 'worker.log'}")
        time.sleep(0.05)
    secs = time.monotonic() - t0
    cpu, _, hwm = proc_stats(proc.pid)
    cpu -= cpu0
    proc.terminate()
    proc.wait(60)
    files = committed(lake)
    size = sum(f.stat().st_size for f in files)
    ids = []
    for f in files:
        ids.extend(json.loads(line)["id"] for line in f.read_text().splitlines())
    ok = len(ids) == n and len(set(ids)) == n
    hours = len({f.parent for f in files})
    res = {"records": n, "seconds": round(secs, 2), "records_per_s": round(n / secs),
           "mb_per_s": round(size / secs / 1e6, 1), "bytes": size, "files": len(files),
           "hour_directories": hours, "cpu_seconds": round(cpu, 2),
           "cpu_us_per_record": round(cpu / n * 1e6, 2), "peak_rss_mb": round(hwm, 1),
           "flush_size": flush, "exactly_once_check": "ok" if ok else "FAILED"}
    print(json.dumps(res, indent=1))
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "lake.json").write_text(json.dumps(res, indent=1) + "\n")
    (out / "lake.md").write_text(
        "# make bench-lake: Kafka -> partitioned JSON files, hourly, fsync on\n\n"
        f"{n:,} JSON records (~{size // n} bytes each as written) from one topic partition into "
        f"{hours} hourly directories (HourlyPartitioner, RecordField `ts`, JsonFormat, "
        f"flush.size {flush:,}: {len(files)} files, each fsynced with its directory), "
        "standalone worker, one task, the broker on the same 2-core machine.\n\n"
        "| records/s | MB/s written | CPU µs/record | worker CPU s | peak RSS MB | check |\n"
        "|---|---|---|---|---|---|\n"
        f"| {res['records_per_s']:,} | {res['mb_per_s']} | {res['cpu_us_per_record']} | "
        f"{res['cpu_seconds']} | {res['peak_rss_mb']} | {res['exactly_once_check']} |\n")
    if not ok:
        raise SystemExit(f"committed files hold {len(ids)} ids ({len(set(ids))} distinct), not {n}")


if __name__ == "__main__":
    main()
