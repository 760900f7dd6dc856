#!/usr/bin/env python3
"""luaconnect vs Apache Kafka Connect standalone, side by side on one real broker.

Pipelines (the same .properties files serve both workers):
  (a) file source -> Kafka: FileStreamSource over N lines of 100 bytes, JSON without
      schemas, chain HoistField$Value + InsertField$Value + ReplaceField$Value + RegexRouter
  (b) Kafka -> file: FileStreamSink of a topic that (a)'s config wrote (N records)
  (c) as (a) with schemas enabled (JsonConverter envelopes)
  (d) SQLite source -> Kafka, N rows (JdbcSourceConnector), luaconnect alone
  (a1k) as (a) with lines of 1,024 bytes (MB/s too)
  (s1) (s2) (s4) Kafka -> file: FileStreamSink of a 4-partition topic (N records, N/4 a
      partition) with tasks.max=1, 2, 4, every task appending to the one file
  (e) (f) (g) Kafka -> SQLite / PostgreSQL 15 / MariaDB: JdbcSinkConnector of the topic a
      (d) run wrote (N rows), luaconnect alone (Confluent's JDBC connector is not on Maven
      Central); (f) and (g) start a throwaway server for the run (tests/integration/)
and an idle run per worker: the (a) connector on an empty file.

The limit anchor, in every round: kcat (librdkafka, no runtime around it) doing (a)'s and
(b)'s Kafka side alone with luaconnect's client settings. `kcat -P` sends the records (a)
writes (its values byte for byte, one a line) to a fresh topic with acks=all, idempotence
and librdkafka's batching; `kcat -C` reads (b)'s input topic into a file with the sink's
consumer settings. (a) and (b) are then printed as a % of the anchor.

Each run starts a fresh worker with its input already in place and a fresh topic, offset
file and consumer group. Figures: records/s from exec until the last record is in the
topic (its end offset, polled) or in the sink file (its lines, counted); worker CPU
seconds (user+sys of the worker process, every thread, from /proc/PID/stat) at that
moment; peak RSS (VmHWM); time from exec to the first record in the topic / file. A run
that does not deliver exactly N records is FAILED and counts in no figure.

Rounds alternate which worker goes first. Before the clock, (a), (c) and (a1k) run on a
small input on both workers and their topics must hold the same keys and values byte for
byte ((a) and (a1k): also the values the kcat anchor sends). The sink rows check their
output: (b) and (s*) every input id once in N lines; (e)-(g) count(*), sum(id), sum(qty).

usage: bench/compare.py --bootstrap HOST:PORT --binary build/luaconnect
           --connect-lib DIR [--rounds 3] [--records 1000000] [--micro FILE]... --out DIR
           [--note TEXT]    (a paragraph under latest.md's title)
           [--no-connect]   (luaconnect and the kcat anchor only: a quick look, no ratios)"""

import argparse
import json
import os
import platform
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "integration"))
from benchlib import TICK, EndOffsets, proc_stats, write_props  # noqa: E402
from sqlite_to_kafka import (make_orders_db, sink_check, sink_props, sink_totals_sql,  # noqa: E402
                             source_props)

RUN_TIMEOUT = float(os.environ.get("BENCH_RUN_TIMEOUT", "900"))
FLUSH_MS = "10000"  # offset.flush.interval.ms, as in Kafka's config/connect-standalone.properties
CONNECT_HEAP = os.environ.get("BENCH_CONNECT_HEAP", "-Xms256M -Xmx2G")
# what Kafka's bin/kafka-run-class.sh adds to every JVM it starts
CONNECT_JVM = ["-server", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
               "-XX:InitiatingHeapOccupancyPercent=35", "-XX:+ExplicitGCInvokesConcurrent",
               "-XX:MaxInlineLevel=15", "-Djava.awt.headless=true"]
SIDES = ("luaconnect", "connect")
PIPELINES = {
    "a": "file source -> Kafka, JSON without schemas, 4 SMTs",
    "b": "Kafka -> file sink, JSON without schemas",
    "bt": "(b) with InsertField$Value + ReplaceField$Value + RegexRouter (luaconnect: a text chain)",
    "c": "file source -> Kafka, JSON with schemas, 4 SMTs",
    "d": "SQLite source -> Kafka, JSON with schemas (luaconnect only)",
    "a1k": "(a) with 1 KB records: lines of 1,024 bytes",
    "s1": "Kafka -> file sink from a 4-partition topic, tasks.max=1",
    "s2": "Kafka -> file sink from a 4-partition topic, tasks.max=2",
    "s4": "Kafka -> file sink from a 4-partition topic, tasks.max=4 (the 4 tasks append to one file)",
    "e": "Kafka -> SQLite sink (JdbcSinkConnector), (d)'s records",
    "f": "Kafka -> PostgreSQL 15 sink (JdbcSinkConnector), (d)'s records",
    "g": "Kafka -> MariaDB sink (JdbcSinkConnector), (d)'s records",
}
# Rows Kafka Connect does not run: Confluent's JDBC connector is on Confluent's Maven
# repository, not on Maven Central (where the bench takes Connect's jars from).
LC_ONLY = {"d", "e", "f", "g"}
LC_ONLY_CELL = "not run (luaconnect only)"
SCALING = {"s1": 1, "s2": 2, "s4": 4}
PARTITIONS = 4
# a log line that says the task is running and has nothing else to set up
READY = {"luaconnect": re.compile(r"task RUNNING"),
         "connect": re.compile(r"task finished initialization and start")}
# The anchor's client settings: what luaconnect's worker gives its producer / sink consumer
# (core/kafka.c) beyond librdkafka's defaults, which both share (linger.ms=5,
# batch.size=1000000, batch.num.messages=10000, no compression).
KCAT_PRODUCER = ["-X", "acks=all", "-X", "enable.idempotence=true", "-X", "message.timeout.ms=0"]
# kcat -C keeps the large prefetch the sink had before core/prefetch.c: the sink wakes
# librdkafka 2.0.2's fetcher when its bounded queue drained, kcat cannot, and with the sink's
# queued.min.messages=50000 it would wait up to 1 s at every full queue.
KCAT_CONSUMER = ["-X", "fetch.wait.max.ms=100", "-X", "queued.min.messages=300000"]


class Bench:
    def __init__(self, args):
        self.args = args
        self.sides = SIDES[:1] if args.no_connect else SIDES
        self.bootstrap = args.bootstrap
        self.n = args.records
        self.tmp = tempfile.mkdtemp(prefix="lc-compare-")
        self.run_id = uuid.uuid4().hex[:8]
        self.offsets = EndOffsets(self.bootstrap)
        self.seq = 0
        self.java = shutil.which("java")
        self.load0 = load()

    # ------------------------------------------------------------ configs
    def worker(self, tag, schemas):
        flag = "true" if schemas else "false"
        return write_props(os.path.join(self.tmp, f"{tag}.worker.properties"), {
            "bootstrap.servers": self.bootstrap,
            "key.converter": "org.apache.kafka.connect.json.JsonConverter",
            "value.converter": "org.apache.kafka.connect.json.JsonConverter",
            "key.converter.schemas.enable": flag,
            "value.converter.schemas.enable": flag,
            "offset.storage.file.filename": os.path.join(self.tmp, f"{tag}.offsets"),
            "offset.flush.interval.ms": FLUSH_MS,
            "listeners": f"http://127.0.0.1:{free_port()}",
        })

    @staticmethod
    def file_source(name, path, topic):
        return {
            "name": name, "connector.class": "FileStreamSource", "tasks.max": "1",
            "file": path, "topic": topic + "-raw",
            "transforms": "hoist,insert,rename,route",
            "transforms.hoist.type": "org.apache.kafka.connect.transforms.HoistField$Value",
            "transforms.hoist.field": "line",
            "transforms.insert.type": "org.apache.kafka.connect.transforms.InsertField$Value",
            "transforms.insert.static.field": "source",
            "transforms.insert.static.value": "bench",
            "transforms.rename.type": "org.apache.kafka.connect.transforms.ReplaceField$Value",
            "transforms.rename.renames": "line:text",
            "transforms.route.type": "org.apache.kafka.connect.transforms.RegexRouter",
            "transforms.route.regex": "(.*)-raw",
            "transforms.route.replacement": "$1-clean",
        }

    def command(self, side, worker, connector):
        if side == "luaconnect":
            return [self.args.binary, "standalone", worker, connector]
        return ([self.java] + CONNECT_HEAP.split() + CONNECT_JVM +
                # log4j2's default console logging at INFO, as Connect's shipped config logs
                ["-Dorg.apache.logging.log4j.level=INFO", "-cp", os.path.join(self.args.connect_lib, "*"),
                 "org.apache.kafka.connect.cli.ConnectStandalone", worker, connector])

    # ------------------------------------------------------------ one run
    def run(self, side, pipeline, n, prepare, rnd=0, nbytes=None):
        """Starts a worker on the pipeline's connector and waits until n records arrived.
        prepare(tag) returns (worker file, connector props, counter, verify) where counter()
        is how many records arrived so far and verify() checks the finished output and
        returns an error text or None. nbytes: the input's size, for MB/s."""
        self.seq += 1
        tag = f"{pipeline}-{side}-{self.seq}"
        worker, connector, counter, verify = prepare(tag)
        conn = write_props(os.path.join(self.tmp, f"{tag}.properties"), connector)
        log = os.path.join(self.tmp, f"{tag}.log")
        res = {"side": side, "pipeline": pipeline, "round": rnd, "records": n, "ok": False}
        t0 = time.monotonic()
        p = subprocess.Popen(self.command(side, worker, conn), stdout=open(log, "w"),
                             stderr=subprocess.STDOUT)
        first = done = None
        count = 0
        try:
            while time.monotonic() - t0 < RUN_TIMEOUT and p.poll() is None:
                count = counter()
                now = time.monotonic()
                if count and first is None:
                    first = now
                if count >= n:
                    done = now
                    break
                time.sleep(0.002 if first is None else 0.05)
            if done is not None:
                res["cpu"], _, res["peak_rss"] = proc_stats(p.pid)
        finally:
            res["exit"] = stop(p)
        if done is None:
            res["error"] = (f"{count} of {n} records after {time.monotonic() - t0:.0f} s"
                            f"{'' if p.returncode is None else ' (worker exited)'}; log {log}")
        else:
            res["error"] = verify()
        if res["error"]:
            print(f"  FAILED {tag}: {res['error']}", file=sys.stderr)
            print(tail(log), file=sys.stderr)
            return res
        secs = done - t0
        res.update(ok=True, secs=secs, rps=n / secs, ttfr_ms=(first - t0) * 1000,
                   cpu_us=res["cpu"] / n * 1e6)
        if nbytes:
            res["mbps"] = nbytes / secs / 1e6
        print(f"  {tag:<20} {res['rps']:>10,.0f} rec/s  {res['cpu']:6.2f} s CPU  "
              f"{res['peak_rss']:7.1f} MB peak  first record {res['ttfr_ms']:6.0f} ms"
              + (f"  {res['mbps']:.1f} MB/s" if nbytes else ""), flush=True)
        return res

    def idle(self, side, rnd):
        """The (a) connector on an empty file: RSS once the task runs and ~2 s have passed."""
        self.seq += 1
        tag = f"idle-{side}-{self.seq}"
        empty = os.path.join(self.tmp, f"{tag}.txt")
        open(empty, "w").close()
        conn = write_props(os.path.join(self.tmp, f"{tag}.properties"),
                           self.file_source(f"bench-{tag}", empty, f"bench-{self.run_id}-{tag}"))
        log = os.path.join(self.tmp, f"{tag}.log")
        res = {"side": side, "pipeline": "idle", "round": rnd, "ok": False}
        t0 = time.monotonic()
        p = subprocess.Popen(self.command(side, self.worker(tag, False), conn),
                             stdout=open(log, "w"), stderr=subprocess.STDOUT)
        try:
            while time.monotonic() - t0 < 120 and p.poll() is None:
                with open(log, errors="replace") as f:
                    if READY[side].search(f.read()):
                        ready = time.monotonic()
                        cpu0, _, _ = proc_stats(p.pid)
                        time.sleep(2)
                        cpu1, rss, _ = proc_stats(p.pid)
                        res.update(ok=True, idle_rss=rss, ready_ms=(ready - t0) * 1000,
                                   idle_cpu_pct=(cpu1 - cpu0) / 2 * 100)
                        break
                time.sleep(0.01)
        finally:
            stop(p)
        if not res["ok"]:
            res["error"] = f"task not running after 120 s; log {log}"
            print(f"  FAILED {tag}: {res['error']}\n{tail(log)}", file=sys.stderr)
        else:
            print(f"  {tag:<20} idle RSS {res['idle_rss']:.1f} MB (task running after "
                  f"{res['ready_ms']:.0f} ms, {res['idle_cpu_pct']:.1f}% CPU idle)", flush=True)
        return res

    # ------------------------------------------------------------ the limit anchor
    def anchor(self, pipeline, source, n, rnd):
        """kcat alone doing the Kafka side of (a) (pipeline "a", source: the file of values
        to send) or of (b) (pipeline "b", source: the topic to read). Same clock as run():
        exec to the N-th record in the topic / file; CPU and peak RSS from kcat's own rusage
        (it exits when done, so /proc cannot be read at the end)."""
        self.seq += 1
        tag = f"{pipeline}-kcat-{self.seq}"
        base = ["kcat", "-q", "-b", self.bootstrap]
        if pipeline == "a":
            topic = f"bench-{self.run_id}-{tag}"
            self.wait_topic(topic)
            cmd = base + ["-P", "-t", topic, "-p", "0"] + KCAT_PRODUCER + ["-l", source]
            out, counter, verify = None, self.topic_counter(topic), self.exact_topic(topic, n)
        else:
            out = os.path.join(self.tmp, f"{tag}.out")
            open(out, "w").close()
            cmd = base + ["-C", "-t", source, "-o", "beginning", "-e", "-f", "%s\\n"] + KCAT_CONSUMER
            counter = LineCounter(out)

            def verify():
                return check_sink_file(out, n)
        res = {"side": "kcat", "pipeline": pipeline, "round": rnd, "records": n, "ok": False}
        err = os.path.join(self.tmp, f"{tag}.log")
        t0 = time.monotonic()
        p = subprocess.Popen(cmd, stdout=open(out, "w") if out else subprocess.DEVNULL,
                             stderr=open(err, "w"))
        first = done = usage = None
        count = 0
        while time.monotonic() - t0 < RUN_TIMEOUT:
            if usage is None:
                pid, status, ru = os.wait4(p.pid, os.WNOHANG)
                if pid:
                    usage, p.returncode = ru, os.waitstatus_to_exitcode(status)
            count = counter()
            now = time.monotonic()
            if count and first is None:
                first = now
            if count >= n and done is None:
                done = now
            if done is not None and usage is not None:
                break
            if usage is not None and count < n:
                time.sleep(0.2)  # kcat is done: the broker's end offset may lag a little
                if counter() < n:
                    break
            time.sleep(0.002 if first is None else 0.01)
        if usage is None:
            stop(p)
        if done is None or usage is None:
            res["error"] = (f"{count} of {n} records after {time.monotonic() - t0:.0f} s"
                            f" (kcat exit {p.returncode}); log {err}")
        else:
            res["error"] = verify() or (f"kcat exit {p.returncode}" if p.returncode else None)
        if res["error"]:
            print(f"  FAILED {tag}: {res['error']}", file=sys.stderr)
            print(tail(err), file=sys.stderr)
            return res
        secs = done - t0
        res.update(ok=True, secs=secs, rps=n / secs, ttfr_ms=(first - t0) * 1000,
                   cpu=usage.ru_utime + usage.ru_stime, peak_rss=usage.ru_maxrss / 1024)
        res["cpu_us"] = res["cpu"] / n * 1e6
        print(f"  {tag:<20} {res['rps']:>10,.0f} rec/s  {res['cpu']:6.2f} s CPU  "
              f"{res['peak_rss']:7.1f} MB peak  first record {res['ttfr_ms']:6.0f} ms", flush=True)
        return res

    # ------------------------------------------------------------ pipelines
    def topic_counter(self, topic):
        def count():
            return self.offsets.end(topic) or 0
        return count

    def exact_topic(self, topic, n):
        def verify():
            got = self.offsets.end(topic) or 0
            return None if got == n else f"topic {topic} holds {got} records, expected {n}"
        return verify

    def source_pipeline(self, pipeline, side, path, n, schemas, rnd=0):
        def prepare(tag):
            topic = f"bench-{self.run_id}-{tag}"
            self.wait_topic(topic + "-clean")
            return (self.worker(tag, schemas), self.file_source(f"bench-{tag}", path, topic),
                    self.topic_counter(topic + "-clean"),
                    self.exact_topic(topic + "-clean", n))
        return self.run(side, pipeline, n, prepare, rnd, nbytes=os.path.getsize(path))

    # (bt)'s chain over (b)'s records ({"text": ..., "source": "bench"}): every transform of it
    # has a text edit, so luaconnect's sink decodes no value (docs/lua-sdk.md, text chains)
    SINK_CHAIN = {
        "transforms": "insert,replace,route",
        "transforms.insert.type": "org.apache.kafka.connect.transforms.InsertField$Value",
        "transforms.insert.topic.field": "from_topic",
        "transforms.insert.offset.field": "kafka_offset",
        "transforms.replace.type": "org.apache.kafka.connect.transforms.ReplaceField$Value",
        "transforms.replace.exclude": "source",
        "transforms.replace.renames": "text:line",
        "transforms.route.type": "org.apache.kafka.connect.transforms.RegexRouter",
        "transforms.route.regex": "(.*)-clean",
        "transforms.route.replacement": "$1-out",
    }

    def sink_pipeline(self, side, topic, n, rnd=0, pipeline="b", tasks=1):
        """FileStreamSink of topic into one file; with tasks > 1 every task appends to it
        (both FileStreamSinks give each task the connector's config: luaconnect's appends a
        put() batch under a file lock, Kafka's one line per write(2) on an O_APPEND file).
        Pipeline bt adds SINK_CHAIN."""
        def prepare(tag):
            out = os.path.join(self.tmp, f"{tag}.out")
            open(out, "w").close()
            counter = LineCounter(out)
            props = {"name": f"bench-{tag}", "connector.class": "FileStreamSink",
                     "tasks.max": str(tasks), "file": out, "topics": topic}
            if pipeline == "bt":
                props.update(self.SINK_CHAIN)

            def verify():
                return check_sink_file(out, n)
            return self.worker(tag, False), props, counter, verify
        return self.run(side, pipeline, n, prepare, rnd)

    def db_sink_pipeline(self, pipeline, db, topic, n, rnd=0):
        """JdbcSinkConnector of topic into a new table of db (a SinkDb), luaconnect alone."""
        def prepare(tag):
            table = "orders_" + tag.replace("-", "_")
            props = sink_props(f"bench-{tag}", topic, db.url(tag), table, **db.extra)

            def verify():
                return sink_check(db.query(tag, sink_totals_sql(table)), n)
            return self.worker(tag, True), props, db.counter(tag, table), verify
        return self.run("luaconnect", pipeline, n, prepare, rnd)

    def partitioned_topic(self, values, n):
        """(s*)'s input, untimed: a topic of PARTITIONS partitions holding values' lines (the
        records (a) writes), line i in partition i % PARTITIONS, sent by kcat -P with the
        anchor's producer settings; checked by every partition's end offset."""
        topic = f"bench-{self.run_id}-scaling"
        self.offsets.create(topic, PARTITIONS)
        for _ in range(200):
            if all(self.offsets.end(topic, p) is not None for p in range(PARTITIONS)):
                break
            time.sleep(0.05)
        parts = [open(os.path.join(self.tmp, f"scaling.{p}"), "w") for p in range(PARTITIONS)]
        with open(values) as f:
            for i, line in enumerate(f):
                parts[i % PARTITIONS].write(line)
        for p, part in enumerate(parts):
            part.close()
            subprocess.run(["kcat", "-q", "-b", self.bootstrap, "-P", "-t", topic, "-p", str(p)] +
                           KCAT_PRODUCER + ["-l", part.name], check=True)
        ends = [self.offsets.end(topic, p) for p in range(PARTITIONS)]
        want = [len(range(p, n, PARTITIONS)) for p in range(PARTITIONS)]
        if ends != want:
            raise SystemExit(f"compare: {topic}'s partitions hold {ends} records, not {want}")
        return topic

    def sqlite_pipeline(self, db, n, rnd=0, pipeline="d"):
        def prepare(tag):
            prefix = f"bench-{self.run_id}-{tag}-"
            self.wait_topic(prefix + "orders")
            return (self.worker(tag, True), source_props(f"bench-{tag}", db, prefix),
                    self.topic_counter(prefix + "orders"), self.exact_topic(prefix + "orders", n))
        return self.run("luaconnect", pipeline, n, prepare, rnd)

    def wait_topic(self, topic):
        """Creates topic and waits until the broker serves it and 1 s more, so that neither
        worker's clock includes creation (a producer that asks for a topic's metadata within
        ~20 ms of its creation may be told it has no leader yet and retry only 1 s later)."""
        self.offsets.create(topic)
        for _ in range(200):
            if self.offsets.end(topic) is not None:
                time.sleep(1)
                return
            time.sleep(0.05)
        raise RuntimeError(f"topic {topic} was not created")

    # ------------------------------------------------------------ verification
    def verify_same_records(self, lines=1000):
        """(a) and (c) on a small input on both workers: the topics must hold the same
        keys and values. Returns a list of one text per pipeline."""
        notes = []
        for pipeline, schemas, size in (("a", False, 100), ("c", True, 100), ("a1k", False, 1024)):
            path = os.path.join(self.tmp, f"small-{size}.txt")
            write_lines(path, lines, size)
            values = os.path.join(self.tmp, f"small-{size}.values")
            write_values(values, lines, size)
            dumps = {}
            for side in self.sides:
                res = self.source_pipeline(pipeline, side, path, lines, schemas)
                if not res["ok"]:
                    sys.exit(f"compare: verification run {pipeline}/{side} failed: {res['error']}")
                topic = f"bench-{self.run_id}-{pipeline}-{side}-{self.seq}-clean"
                dumps[side] = subprocess.run(
                    ["kcat", "-q", "-b", self.bootstrap, "-C", "-t", topic, "-o", "beginning",
                     "-e", "-f", "%k\t%s\t%h\n"], capture_output=True, check=True).stdout
            a, b = dumps["luaconnect"], dumps.get("connect", dumps["luaconnect"])
            if not schemas:
                with open(values, "rb") as f:
                    want = [b"\t" + v + b"\t" for v in f.read().splitlines()]
                if a.splitlines() != want:
                    sys.exit(f"compare: the kcat anchor's values (write_values) differ from "
                             f"what ({pipeline}) writes; first record: "
                             f"{a.splitlines()[0].decode(errors='replace')}")
            if a != b:
                la, lb = a.splitlines(), b.splitlines()
                i = next((i for i in range(min(len(la), len(lb))) if la[i] != lb[i]), None)
                sys.exit(f"compare: ({pipeline}) the workers wrote different records "
                         f"({len(la)} vs {len(lb)} lines); first difference at record {i}:\n"
                         f"  luaconnect: {la[i] if i is not None else ''}\n"
                         f"  connect:    {lb[i] if i is not None else ''}")
            sample = a.splitlines()[0].decode(errors="replace").split("\t")[1]
            if len(sample) > 400:
                sample = f"{sample[:60]}…({len(sample)} bytes)…{sample[-40:]}"
            notes.append(f"({pipeline}) {lines} records identical on both workers "
                         f"(key, value, headers); record 0: `{sample}`"
                         if len(dumps) == 2 else f"({pipeline}) record 0: `{sample}`")
        return notes


class SinkDb:
    """The database of a (e)-(g) row: url(tag) for a run's connector, query(tag, sql) -> the
    first row, counter(tag, table) -> max(id) so far (the rows arrive in id order from one
    partition, one transaction a put(): max(id) = n means every row is committed; asked at
    most every `every` s, as psql / mariadb cost a process each)."""

    def __init__(self, url, query, extra=None, every=0.0):
        self.url, self.query, self.extra, self.every = url, query, extra or {}, every

    def counter(self, tag, table):
        state = {"at": 0.0, "max": 0}

        def count():
            now = time.monotonic()
            if now - state["at"] >= self.every:
                state["at"] = now
                try:
                    state["max"] = int(self.query(tag, f"SELECT max(id) FROM {table}")[0] or 0)
                except (RuntimeError, IndexError, ValueError, TypeError, sqlite3.Error):
                    pass  # no table yet
            return state["max"]
        return count


def sink_dbs(tmp):
    """(e) SQLite (a file per run), (f) PostgreSQL 15 and (g) MariaDB (a throwaway server
    each, as the tests start them: tests/integration/pg_server.py, my_server.py). Returns
    ({pipeline: SinkDb}, notes, stop functions); a server that does not start leaves its
    row out, with a note."""
    def sqlite_query(tag, sql):
        c = sqlite3.connect(os.path.join(tmp, f"{tag}.db"), timeout=1)
        try:
            return c.execute(sql).fetchone()
        finally:
            c.close()
    dbs = {"e": SinkDb(lambda tag: "jdbc:sqlite:" + os.path.join(tmp, f"{tag}.db"), sqlite_query)}
    notes, stops = [], []
    from my_server import MyServer
    from pg_server import PgServer
    for p, cls, ask in (("f", PgServer, "psql"), ("g", MyServer, "client")):
        base = tempfile.mkdtemp(prefix=f"lc-compare-{p}-")  # not under tmp: PostgreSQL runs as postgres
        server = cls(Path(base))
        try:
            server.start()
        except (OSError, RuntimeError, subprocess.SubprocessError) as e:
            notes.append(f"({p}) not run: its database server did not start ({e})")
            server.stop()
            shutil.rmtree(base, ignore_errors=True)
            continue

        def query(tag, sql, ask=getattr(server, ask)):
            return ask(sql)[0]
        dbs[p] = SinkDb(lambda tag, s=server: s.url(), query, every=0.2, extra={
            "connection.user": server.user, "connection.password": server.password})
        stops.append(lambda s=server, b=base: (s.stop(), shutil.rmtree(b, ignore_errors=True)))
    return dbs, notes, stops


class LineCounter:
    """Counts the newlines of a growing file, reading only what was added."""

    def __init__(self, path):
        self.path, self.pos, self.lines = path, 0, 0

    def __call__(self):
        with open(self.path, "rb") as f:
            f.seek(self.pos)
            chunk = f.read()
        self.pos += len(chunk)
        self.lines += chunk.count(b"\n")
        return self.lines


def check_sink_file(path, n):
    """Every input line 0..n-1 exactly once, whatever each worker's line format (the
    FileStreamSinks differ: luaconnect writes JSON, Kafka's writes Map.toString())."""
    with open(path, "rb") as f:
        data = f.read()
    ids = re.findall(rb"(?<![0-9])([0-9]{9}) x", data)
    lines = data.count(b"\n")
    if len(ids) != n or lines != n:
        return f"sink file holds {lines} lines with {len(ids)} ids, expected {n}"
    if len(set(ids)) != n or int(min(ids)) != 0 or int(max(ids)) != n - 1:
        return "sink file: ids are not exactly 0..n-1 once each"
    return None


def write_lines(path, n, size=100):
    pad = "x" * (size - 11)
    with open(path, "w") as f:  # size bytes a line, newline included
        for i in range(n):
            f.write(f"{i:09d} {pad}\n")


def write_values(path, n, size=100):
    """The values pipeline (a) writes for write_lines' input, one a line: the kcat producer
    anchor's input (verify_same_records checks they are (a)'s, byte for byte)."""
    pad = "x" * (size - 11)
    with open(path, "w") as f:
        for i in range(n):
            f.write(f'{{"text":"{i:09d} {pad}","source":"bench"}}\n')


def free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def stop(p):
    """SIGTERM, then SIGKILL after 60 s; the exit status."""
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            return p.wait(60)
        except subprocess.TimeoutExpired:
            p.kill()
    return p.wait()


def tail(path, n=3000):
    with open(path, errors="replace") as f:
        return f.read()[-n:]


# ---------------------------------------------------------------- report
FIGURES = [  # key, label, unit, format, higher is better
    ("rps", "records/s", "", "{:,.0f}", True),
    ("mbps", "input MB/s", "", "{:.1f}", True),
    ("cpu", "worker CPU", "s", "{:.2f}", False),
    ("cpu_us", "CPU per record", "µs", "{:.2f}", False),
    ("peak_rss", "peak RSS", "MB", "{:.1f}", False),
    ("ttfr_ms", "start to first record", "ms", "{:.0f}", False),
]


def summary(results, side, pipeline, key):
    vals = [r[key] for r in results
            if r["side"] == side and r["pipeline"] == pipeline and r["ok"] and key in r]
    if not vals:
        return None
    return statistics.median(vals), min(vals), max(vals), len(vals)


def cell(s, fmt):
    if not s:
        return "—"
    med, lo, hi, _ = s
    return f"{fmt.format(med)} ({fmt.format(lo)}–{fmt.format(hi)})"


def machine():
    def run(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout + \
                subprocess.run(cmd, capture_output=True, text=True, timeout=30).stderr
        except OSError:
            return "?"
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                if l.startswith("model name")), "?")
    mem = next((int(l.split()[1]) // 1024 for l in open("/proc/meminfo")
                if l.startswith("MemTotal")), 0)
    osr = dict(l.rstrip().split("=", 1) for l in open("/etc/os-release") if "=" in l)
    return {
        "nproc": os.cpu_count(), "cpu": cpu, "ram_mb": mem, "kernel": platform.release(),
        "os": osr.get("PRETTY_NAME", "?").strip('"'),
        "java": run(["java", "-version"]).splitlines()[0] if shutil.which("java") else "?",
        "librdkafka": run(["pkg-config", "--modversion", "rdkafka"]).strip(),
        "luajit": run(["luajit", "-v"]).split(" -- ")[0].strip(),
        "python": platform.python_version(),
    }


def load():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def ratio(lc, kc):
    return lc[0] / kc[0] if lc and kc and kc[0] else None


def render(bench, results, notes, micro, started, elapsed):
    args, m = bench.args, machine()
    lcver = subprocess.run([args.binary, "--version"], capture_output=True,
                           text=True).stdout.strip()
    kcver = next((f[len("connect-runtime-"):-4] for f in sorted(os.listdir(args.connect_lib))
                  if f.startswith("connect-runtime-")), "?")
    out = [f"# luaconnect vs Apache Kafka Connect {kcver} standalone", "",
           f"`make bench`, {started}; {args.rounds} round(s) of {bench.n:,} records "
           f"per pipeline, workers alternating (rounds alternate who goes first); "
           f"{elapsed / 60:.0f} min in all. Cells: median (min–max) over the rounds that "
           "delivered every record; ratio = luaconnect median / Connect median.", ""]
    if args.note:
        out += [f"**Note:** {args.note}", ""]
    out += [
           "## Machine", "",
           f"- {m['nproc']} CPUs ({m['cpu']}), {m['ram_mb']:,} MB RAM, {m['os']}, "
           f"kernel {m['kernel']}",
           f"- {lcver}",
           f"- Apache Kafka Connect {kcver} (connect-runtime, connect-file, connect-json, "
           f"connect-transforms from Maven Central) on {m['java']}, "
           f"`{CONNECT_HEAP}` + kafka-run-class.sh's JVM flags",
           "- broker: Apache Kafka 4.4.0, KRaft, single node on the same machine "
           "(tests/kafka/kafka.sh); the broker and the worker share the CPUs",
           f"- load average before / after the runs: {bench.load0} / {load()} (other "
           "processes on the machine shift both workers' figures)", ""]
    failed = [r for r in results if not r["ok"]]
    out += ["## Results", ""]
    rows = ["| pipeline | figure | luaconnect | Kafka Connect | ratio |", "|---|---|---|---|---|"]
    chart = []
    for p in PIPELINES:
        for key, label, unit, fmt, _higher in FIGURES:
            lc, kc = summary(results, "luaconnect", p, key), summary(results, "connect", p, key)
            if not lc and not kc:
                continue
            r = ratio(lc, kc)
            rows.append(f"| ({p}) | {label}{' (' + unit + ')' if unit else ''} | {cell(lc, fmt)} "
                        f"| {LC_ONLY_CELL if p in LC_ONLY else cell(kc, fmt)} "
                        f"| {f'{r:.3g}' if r else '—'} |")
            if r and key not in ("cpu", "mbps"):
                chart.append((f"({p}) {label}", r))
    for key, label, fmt in (("idle_rss", "idle RSS (MB)", "{:.1f}"),
                            ("ready_ms", "start to task running (ms)", "{:.0f}"),
                            ("idle_cpu_pct", "CPU while idle (%)", "{:.1f}")):
        lc, kc = summary(results, "luaconnect", "idle", key), summary(results, "connect", "idle", key)
        r = ratio(lc, kc)
        rows.append(f"| idle | {label} | {cell(lc, fmt)} | {cell(kc, fmt)} | "
                    f"{f'{r:.3g}' if r else '—'} |")
        if r and key == "idle_rss":
            chart.append(("idle RSS", r))
    out += [f"- ({k}) {v}" for k, v in PIPELINES.items()] + [""] + rows + [""]
    out += [f"({', '.join(sorted(LC_ONLY))}) are luaconnect only: Confluent's JDBC connector is "
            "published on Confluent's Maven repository, not on Maven Central, where this bench "
            "takes Kafka Connect's jars from.", ""]
    out += scaling_table(results)
    out += anchor_table(results)
    ok_runs = len(results) - len(failed)
    out.append(f"{ok_runs} runs delivered every record; {len(failed)} FAILED"
               + (":" if failed else "."))
    for r in failed:
        out.append(f"- FAILED {r['pipeline']}/{r['side']} round {r['round']}: {r['error']}")
    out += ["", "![luaconnect / Connect ratios](ratios.png)", "",
            "Causes of missed targets found while profiling, and the patches (applied) with their "
            "measured effect: [bench/proposed/README.md](../proposed/README.md).", ""]
    out += targets(results)
    out += ["## What is measured", "",
            "- records/s: N / (time from exec of the worker to the moment the topic's end "
            "offset — polled every 50 ms with a ListOffsets request — or the sink file's "
            "line count reaches N). The input (file, topic or table) exists before exec, so "
            "start-up is inside the figure, as it is for a user.",
            "- worker CPU: utime+stime of the worker process (all threads; the whole JVM "
            "for Connect) from /proc/PID/stat at that moment. Peak RSS: VmHWM then.",
            "- start to first record: exec to the first record visible in the topic (end "
            "offset > 0, polled every 2 ms) or in the sink file.",
            "- idle RSS: VmRSS of a worker running connector (a) on an empty file, 2 s "
            "after its task said it was running (luaconnect: `task RUNNING`; Connect: "
            "`Source task finished initialization and start`).",
            "- input MB/s (file sources): the input file's bytes (N lines of 100 or 1,024 "
            "bytes, newlines included) / the same time, MB = 10^6 bytes.",
            "- (e)-(g): the clock stops when the table's max(id) is N (the rows arrive in id "
            "order from one partition, one transaction a put()), asked every 50 ms in-process "
            "for SQLite, every 200 ms through psql / mariadb for PostgreSQL / MariaDB (a "
            "process a question; the clock's resolution there).",
            "- a run is FAILED unless the topic's end offset is exactly N afterwards (file "
            "sinks: the file holds N lines carrying each input id 0..N-1 once; database "
            "sinks: count(*), sum(id), sum(qty) of the table are those of rows 1..N); FAILED "
            "runs are listed and count in no figure.",
            "- each run has its own topic, offset file and connector name (so its own sink "
            "consumer group); topics exist before the clock starts.", "",
            "## Same input, same configuration", ""]
    out += [f"- {n}" for n in notes]
    out += ["- the same worker and connector .properties files start both workers "
            f"(JsonConverter, `offset.flush.interval.ms={FLUSH_MS}` on both, as in Kafka's "
            "config/connect-standalone.properties); no producer.* / consumer.* overrides on "
            "either side, so each runs its client's defaults plus what its runtime sets:", "",
            "| setting | luaconnect (librdkafka) | Kafka Connect (Java client) |",
            "|---|---|---|",
            "| acks | all | all (-1) |",
            "| idempotence | enable.idempotence=true | false (Connect sets max.in.flight=1 instead) |",
            "| in flight per connection | 5 (idempotence cap) | 1 (set by Connect) |",
            "| linger | linger.ms=5 | linger.ms=5 |",
            "| batch size | batch.size=1000000 B, batch.num.messages=10000 | batch.size=16384 B |",
            "| compression | none | none |",
            "| delivery timeout | message.timeout.ms=0 (none) | delivery.timeout.ms=MAX_INT |",
            "| source batch | batch.size=2000 lines a poll (FileStreamSource default) | same |",
            "| sink consumer | fetch.wait.max.ms=100, queued.min.messages=50000, "
            "queued.max.messages.kbytes=16384, up to 500 records a put, earliest | "
            "fetch.max.wait.ms=500, max.poll.records=500, earliest |", "",
            f"- JVM heap: `{CONNECT_HEAP}` (the default of Kafka's bin/connect-standalone.sh) "
            "with the G1 flags of kafka-run-class.sh; override with BENCH_CONNECT_HEAP.",
            "- the FileStreamSinks write different text for the same record: luaconnect "
            "writes the value as JSON, Kafka's writes Java's Map.toString() "
            "(`{text=..., source=bench}`); both write one line per record.",
            "- (b) reads a topic that luaconnect's worker filled with the (a) configuration "
            "before the rounds (untimed); both workers read the same topic.",
            "- (s*): the same consumer settings as (b), one consumer per task in the "
            "connector's group; tasks.max is the only difference between (s1), (s2), (s4).",
            "- (e)-(g): JdbcSinkConnector with insert.mode=insert, pk.mode=record_value "
            "(id), auto.create, batch.size=3000 (default), a new table per run, one "
            "transaction a put(); SQLite in WAL mode (the connector's default) with no "
            "synchronous= override, PostgreSQL 15 and MariaDB started by the bench with "
            "their defaults (fsync=on, synchronous_commit=on; "
            "innodb_flush_log_at_trx_commit=1): no durability traded.", ""]
    if micro:
        out += ["## Micro-benchmarks (luaconnect)", ""]
        for title, text in micro:
            out += [f"{title}:", "", "```", text.rstrip(), "```", ""]
    return "\n".join(out) + "\n", chart


ANCHOR = {"a": "kcat -P: (a)'s values to a topic", "b": "kcat -C: (b)'s topic to a file"}


def anchor_table(results):
    """(a) and (b) beside kcat doing their Kafka side alone, as a % of kcat."""
    out = ["### The limit anchor: kcat on the same broker, same client settings", "",
           "| pipeline | figure | luaconnect | kcat | luaconnect / kcat |", "|---|---|---|---|---|"]
    for p in ("a", "b"):
        for key, label, unit, fmt, _higher in FIGURES:
            if key in ("cpu", "mbps"):
                continue
            lc, kc = summary(results, "luaconnect", p, key), summary(results, "kcat", p, key)
            if not lc and not kc:
                continue
            r = ratio(lc, kc)
            shown = (f"{r * 100:.0f}%" if key == "rps" else f"{r:.3g}") if r else "—"
            out.append(f"| ({p}) vs {ANCHOR[p]} | {label}{' (' + unit + ')' if unit else ''} | "
                       f"{cell(lc, fmt)} | {cell(kc, fmt)} | {shown} |")
    out += ["", "kcat -P: `" + " ".join(KCAT_PRODUCER).replace("-X ", "") +
            "` plus librdkafka's defaults (linger.ms=5, batch.size=1000000, "
            "batch.num.messages=10000), partition 0 of a fresh topic, the file that (a) turns "
            "into records given as their values, one a line (checked byte for byte against "
            "(a)'s output on the small input); kcat -C: `" +
            " ".join(KCAT_CONSUMER).replace("-X ", "") + "` as the sink's consumer, "
            "`-o beginning -e -f '%s\\n'` into a file. Same clock as the pipelines (exec to the "
            "N-th record in the topic / file); kcat's CPU and peak RSS from its rusage. kcat "
            "runs after both workers in each round.", ""]
    return out


def scaling_table(results):
    """(s1), (s2), (s4): records/s and CPU per record by tasks.max, and CPU per record as a
    multiple of tasks.max=1's on each worker (the issue: 4 tasks keep the per-record CPU)."""
    def med(side, p, key):
        s = summary(results, side, p, key)
        return s[0] if s else None
    if not any(med("luaconnect", p, "rps") for p in SCALING):
        return []
    out = [f"### Scaling: a {PARTITIONS}-partition topic into one file, tasks.max=1, 2, 4", "",
           "| tasks.max | records/s luaconnect | records/s Connect | ratio | CPU µs/record "
           "luaconnect (× tasks.max=1) | CPU µs/record Connect (× tasks.max=1) |",
           "|---|---|---|---|---|---|"]
    base = {side: med(side, "s1", "cpu_us") for side in SIDES}

    def cpu(side, p):
        v = med(side, p, "cpu_us")
        if v is None:
            return "—"
        return f"{v:.2f} ({v / base[side]:.2f}×)" if base[side] else f"{v:.2f}"
    for p, tasks in SCALING.items():
        lc, kc = med("luaconnect", p, "rps"), med("connect", p, "rps")
        out.append(f"| {tasks} | {f'{lc:,.0f}' if lc else '—'} | {f'{kc:,.0f}' if kc else '—'} | "
                   f"{f'{lc / kc:.3g}' if lc and kc else '—'} | {cpu('luaconnect', p)} | "
                   f"{cpu('connect', p)} |")
    return out + ["", "Medians of the (s*) rows above. Both FileStreamSinks give every task the "
                  "connector's config, so the tasks append to one file (luaconnect: a put() batch "
                  "a write under a file lock; Kafka's: one line a write(2) on an O_APPEND "
                  "stream), the set-up a Connect user gets with tasks.max > 1; the check is the "
                  "same as (b)'s (N lines, every id once).", ""]


def targets(results):
    def med(side, p, key):
        s = summary(results, side, p, key)
        return s[0] if s else None

    def line(ok, text):
        if ok is None:
            return f"- n/a — {text}"
        return f"- {'MET' if ok else 'MISSED'} — {text}"

    out = ["## Targets", ""]
    for p in ("a", "b"):
        lc, kc = med("luaconnect", p, "rps"), med("kcat", p, "rps")
        r = lc / kc if lc and kc else None
        out.append(line(r >= 0.85 if r else None,
                        f"({p}) ≥85% of {ANCHOR[p].split(':')[0]}'s records/s: "
                        f"{f'{r * 100:.0f}%' if r else '—'}"))
    for p in ("a", "b", "c"):
        lc, kc = med("luaconnect", p, "rps"), med("connect", p, "rps")
        r = lc / kc if lc and kc else None
        out.append(line(r and r >= 5 if r else None,
                        f"throughput ≥5x Connect on ({p}): "
                        f"{f'{r:.2f}x' if r else '—'}"))
    for p in ("a", "b", "c"):
        lc, kc = med("luaconnect", p, "cpu_us"), med("connect", p, "cpu_us")
        r = lc / kc if lc and kc else None
        out.append(line(r <= 0.1 if r else None,
                        f"worker CPU per record ≤1/10 of Connect's on ({p}): "
                        f"{f'{lc:.2f} vs {kc:.2f} µs = 1/{1 / r:.1f}' if r else '—'}"))
    idle = med("luaconnect", "idle", "idle_rss")
    out.append(line(idle <= 15 if idle else None, f"idle RSS ≤15 MB: "
                    f"{f'{idle:.1f} MB' if idle else '—'}"))
    # memory bounds hold in every round, not in the median only
    peak = summary(results, "luaconnect", "a", "peak_rss")
    out.append(line(peak[2] <= 32 if peak else None, "source peak RSS under (a) ≤32 MB, every round: "
                    + (f"at most {peak[2]:.1f} MB (median {peak[0]:.1f})" if peak else "—")))
    sinks = [(p, summary(results, "luaconnect", p, "peak_rss")) for p in ("b", "bt", "s1", "s2", "s4")]
    sinks = [(p, s) for p, s in sinks if s]
    worst = max(sinks, key=lambda ps: ps[1][2]) if sinks else None
    out.append(line(worst[1][2] <= 64 if worst else None,
                    "sink peak RSS ≤64 MB, every round of (b), (bt), (s1), (s2), (s4): "
                    + (f"at most {worst[1][2]:.1f} MB, on ({worst[0]}); "
                       + ", ".join(f"({p}) {s[2]:.1f}" for p, s in sinks) if worst else "—")))
    s1, s4 = med("luaconnect", "s1", "cpu_us"), med("luaconnect", "s4", "cpu_us")
    k1, k4 = med("connect", "s1", "cpu_us"), med("connect", "s4", "cpu_us")
    runs = [r for r in results if r["pipeline"] == "s1" and r["ok"]]
    tick = (f"; /proc counts CPU in {1000 / TICK:.0f} ms ticks, ±{1e6 / TICK / runs[0]['records']:.2f} "
            "µs/record at this N" if runs else "")
    out.append(line(s4 <= 1.1 * s1 if s1 and s4 else None,
                    "a sink with 4 tasks keeps the per-record CPU of 1 task (≤1.1×): "
                    + (f"{s4:.2f} vs {s1:.2f} µs = {s4 / s1:.2f}×" if s1 and s4 else "—")
                    + (f" (Connect: {k4:.2f} vs {k1:.2f} µs = {k4 / k1:.2f}×)" if k1 and k4 else "")
                    + tick))
    for p in ("a", "b", "c", "d"):
        t = med("luaconnect", p, "ttfr_ms")
        out.append(line(t <= 100 if t else None, f"start to first record ≤100 ms on ({p}): "
                        f"{f'{t:.0f} ms' if t else '—'}"))
    return out + [""]


def plot(chart, path, tmp):
    """Bar chart of the ratios (log scale) with gnuplot."""
    data = os.path.join(tmp, "ratios.dat")
    with open(data, "w") as f:
        for label, r in chart:
            f.write(f"\"{label}\" {r:.6g}\n")
    script = f"""set terminal pngcairo size 1000,560 noenhanced font "sans,10"
set output "{path}"
set title "luaconnect / Apache Kafka Connect (median of the rounds)\\nrecords/s: higher is better for luaconnect; everything else: lower is better"
set style data histograms
set style fill solid 0.8 border -1
set boxwidth 0.7
set logscale y 10
set yrange [0.001:100]
set ylabel "ratio (log scale)"
set grid ytics
set xtics rotate by -35 left
set key off
set arrow from graph 0, first 1 to graph 1, first 1 nohead lc rgb "black" lw 1.5
plot "{data}" using 2:xtic(1) lc rgb "#3a7bd5", "" using 0:2:(sprintf("%.3g", $2)) with labels offset 0,0.8
"""
    try:
        r = subprocess.run(["gnuplot"], input=script, text=True, capture_output=True)
    except OSError as e:
        return f"gnuplot: {e}"
    return r.stderr.strip() or None


# ---------------------------------------------------------------- main
def rounds(bench, n, lines, values, lines1k, db, sink_topic, scaling_topic, orders_topic, dbs):
    """Every pipeline, bench.args.rounds times; returns every run's result."""
    results = []
    for rnd in range(1, bench.args.rounds + 1):
        order = bench.sides if rnd % 2 else bench.sides[::-1]
        print(f"compare: round {rnd} of {bench.args.rounds} ({' first, '.join(order)} second; "
              "then the kcat anchor)", flush=True)
        for side in order:
            results.append(bench.source_pipeline("a", side, lines, n, False, rnd))
        results.append(bench.anchor("a", values, n, rnd))
        if sink_topic:
            for side in order:
                results.append(bench.sink_pipeline(side, sink_topic, n, rnd))
            results.append(bench.anchor("b", sink_topic, n, rnd))
            for side in order:
                results.append(bench.sink_pipeline(side, sink_topic, n, rnd, "bt"))
        for side in order:
            results.append(bench.source_pipeline("c", side, lines, n, True, rnd))
        for side in order:
            results.append(bench.idle(side, rnd))
        results.append(bench.sqlite_pipeline(db, n, rnd))
        for side in order:
            results.append(bench.source_pipeline("a1k", side, lines1k, n, False, rnd))
        for p, tasks in SCALING.items():
            for side in order:
                results.append(bench.sink_pipeline(side, scaling_topic, n, rnd, p, tasks))
        for p, sdb in dbs.items():
            results.append(bench.db_sink_pipeline(p, sdb, orders_topic, n, rnd))
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--binary", required=True)
    ap.add_argument("--connect-lib", required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--micro", action="append", default=[], metavar="TITLE=FILE")
    ap.add_argument("--out", required=True)
    ap.add_argument("--note", default="", help="a paragraph printed under latest.md's title")
    ap.add_argument("--no-connect", action="store_true",
                    help="luaconnect and the kcat anchor only (no Kafka Connect runs)")
    args = ap.parse_args()
    bench = Bench(args)
    started = time.strftime("%Y-%m-%d %H:%M %Z")
    t_start = time.monotonic()
    n = args.records
    print(f"compare: work directory {bench.tmp}", flush=True)

    print("compare: verifying both workers write the same records (small input)", flush=True)
    notes = bench.verify_same_records()

    print(f"compare: inputs ({n:,} lines, {n:,} rows)", flush=True)
    lines = os.path.join(bench.tmp, "lines.txt")
    write_lines(lines, n)
    values = os.path.join(bench.tmp, "values.txt")
    write_values(values, n)
    lines1k = os.path.join(bench.tmp, "lines-1k.txt")
    write_lines(lines1k, n, 1024)
    db = os.path.join(bench.tmp, "orders.db")
    make_orders_db(db, n)
    scaling_topic = bench.partitioned_topic(values, n)
    notes.append(f"(s1), (s2), (s4) read one topic of {PARTITIONS} partitions, {n // PARTITIONS:,} "
                 "of (a)'s records each, written once by kcat -P before the rounds")
    # (e)-(g)'s input: a (d) run writes it once, untimed
    orders_topic = None
    res = bench.sqlite_pipeline(db, n, pipeline="prefill-d")
    if res["ok"]:
        orders_topic = f"bench-{bench.run_id}-prefill-d-luaconnect-{bench.seq}-orders"
        notes.append("(e), (f), (g) read one topic that luaconnect's SQLite source wrote with "
                     "(d)'s configuration before the rounds (untimed)")
    else:
        notes.append(f"(e), (f), (g) not run: the (d) run that writes their input failed ({res['error']})")
    # (b)'s input: the (a) configuration writes it once, untimed
    sink_topic = None
    for side in bench.sides:
        res = bench.source_pipeline("prefill", side, lines, n, False)
        if res["ok"]:
            sink_topic = f"bench-{bench.run_id}-prefill-{side}-{bench.seq}-clean"
            notes.append(f"(b)'s input topic was written by {side}'s worker")
            break

    if sink_topic:
        # The broker makes __consumer_offsets when a group first asks for its coordinator
        # (~1 s on this broker): a group read before the rounds, so that no sink run pays it.
        subprocess.run(["kcat", "-q", "-b", bench.bootstrap, "-G", f"bench-{bench.run_id}-warm-up",
                        "-o", "beginning", "-c", "1", "-e", sink_topic], stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
        notes.append("a consumer group read one record of (b)'s input before the rounds, so that "
                     "the broker's __consumer_offsets exists before the first sink run")
    dbs, db_notes, db_stops = sink_dbs(bench.tmp) if orders_topic else ({}, [], [])
    notes += db_notes
    try:
        results = rounds(bench, n, lines, values, lines1k, db, sink_topic, scaling_topic,
                         orders_topic, dbs)
    finally:
        for stop_db in db_stops:
            stop_db()

    micro = []
    for spec in args.micro:
        title, path = spec.split("=", 1)
        with open(path) as f:
            micro.append((title, f.read()))
    md, chart = render(bench, results, notes, micro, started, time.monotonic() - t_start)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "latest.md"), "w") as f:
        f.write(md)
    with open(os.path.join(args.out, "latest.json"), "w") as f:
        json.dump({"machine": machine(), "records": n, "rounds": args.rounds,
                   "results": results}, f, indent=1)
    err = plot(chart, os.path.join(os.path.abspath(args.out), "ratios.png"), bench.tmp)
    if err:
        print(f"compare: {err}", file=sys.stderr)
    bench.offsets.close()
    print(md)
    if not any(r["ok"] for r in results):
        sys.exit("compare: no run delivered every record")
    shutil.rmtree(bench.tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
