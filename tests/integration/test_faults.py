"""Faults on a real broker: the offset store becomes unwritable, the broker goes away for 30 s,
a sink's put() fails with a retriable error or a plain one. Each test counts what a user
would count: records lost, records doubled, the task's state, the log line that says why."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import KAFKA_SH, KAFKA_START_TIMEOUT, kcat_consume, kcat_produce, unique_topic
from test_standalone import pipeline
from worker import Worker, file_lines, wait_for


def payloads(bootstrap: str, topic: str, count: int, timeout: float = 30) -> list:
    """The JsonConverter payloads of up to count records of topic, in order."""
    return [json.loads(v)["payload"] for v in kcat_consume(bootstrap, topic, count, timeout)]


def committed_position(db: Path, connector: str, filename: Path):
    """The file source's committed byte position, read without writing to the store."""
    if not db.exists():
        return None
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        key = json.dumps([connector, {"filename": str(filename)}], separators=(",", ":"))
        row = con.execute("SELECT value FROM offsets WHERE key=?", (key,)).fetchone()
        return json.loads(row[0])["position"] if row else None
    except sqlite3.OperationalError:
        return None
    finally:
        con.close()


def chattr(flag: str, *paths: Path) -> None:
    subprocess.run(["chattr", flag, *map(str, paths)], check=True, stdout=subprocess.PIPE,
                   stderr=subprocess.PIPE)


def immutable_supported(probe: Path) -> str:
    """'' if chattr +i works on probe's file system, else why not. Root passes every
    permission check (chmod 0444 changes nothing for it, and SQLite keeps its files open), but
    not the immutable flag: writes to an immutable file fail with EPERM even for root."""
    if shutil.which("chattr") is None:
        return "chattr not installed (e2fsprogs)"
    probe.write_bytes(b"x")
    try:
        chattr("+i", probe)
    except subprocess.CalledProcessError as e:
        return ("chattr +i is not possible here (needs root with CAP_LINUX_IMMUTABLE on ext4, xfs, "
                f"btrfs or tmpfs >= 6.0): {e.stderr.decode(errors='replace').strip()}")
    chattr("-i", probe)
    probe.unlink()
    return ""


def test_unwritable_offset_store_keeps_offsets_and_commits_them_later(kafka, tmp_path):
    """The store's files turn immutable while a file source runs: the worker logs the store file
    and SQLite's error at each commit, keeps producing, keeps the acknowledged offsets, and
    commits them once the store is writable again. A restart then sends nothing twice."""
    why = immutable_supported(tmp_path / "probe")
    if why:
        pytest.skip(why)
    topic = unique_topic("lc-store-ro")
    src = tmp_path / "in.txt"
    first = [f"first {i:05d}" for i in range(2000)]
    second = [f"second {i:05d}" for i in range(3000)]
    src.write_text("".join(l + "\n" for l in first))
    w = Worker(tmp_path, kafka, [{"name": "ro-source", "connector.class": "FileStreamSource",
                                  "file": str(src), "topic": topic}],
               worker={"offset.flush.interval.ms": "300"})
    db, wal = w.db, Path(str(w.db) + "-wal")
    locked = []
    try:
        w.start()
        wait_for(lambda: committed_position(db, "ro-source", src) == src.stat().st_size, 60,
                 "the first 2,000 lines committed", w.log)
        size_before = src.stat().st_size
        chattr("+i", db, wal)
        locked = [db, wal]
        with open(src, "a") as f:
            f.write("".join(l + "\n" for l in second))
        wait_for(lambda: len(payloads(kafka, topic, 5000, 5)) == 5000, 60,
                 "all 5,000 lines in Kafka while the store is unwritable", w.log)
        wait_for(lambda: w.log().count("cannot commit source offsets") >= 3, 30,
                 "three failed commits", w.log)
        assert committed_position(db, "ro-source", src) == size_before
        assert (f"cannot commit source offsets of 1 source partitions to the offset store: offset store "
                f"{db}: disk I/O error (kept; tried again at the next commit)") in w.log()
        chattr("-i", db, wal)
        locked = []
        wait_for(lambda: committed_position(db, "ro-source", src) == src.stat().st_size, 30,
                 "the kept offsets committed once the store is writable", w.log)
        assert "committed the source offsets kept since" in w.log()
        assert w.status("ro-source", 0)[0] == "RUNNING"
        assert w.stop() == 0
        # A restart resumes at the committed end: nothing is sent twice.
        w.start()
        wait_for(lambda: f"resuming {src} at byte {src.stat().st_size}" in w.log(), 30,
                 "the restarted source to resume at the end", w.log)
        time.sleep(2)
        assert w.stop() == 0
    finally:
        if locked:
            chattr("-i", *locked)
        if w.alive():
            w.kill()
    got = payloads(kafka, topic, 10_000, 5)
    lost = len(set(first + second) - set(got))
    doubled = len(got) - len(set(got))
    print(f"offset store unwritable: {len(got)} records, lost {lost}, doubled {doubled}")
    assert got == first + second


PLUGINS = Path(__file__).resolve().parent / "plugins"
STRING = "org.apache.kafka.connect.storage.StringConverter"


def flaky_sink(name: str, topic: str, out: Path, **props: str) -> dict:
    conf = {"name": name, "connector.class": "flaky_sink", "topics": topic, "file": str(out),
            "value.converter": STRING, "key.converter": STRING}
    conf.update({k.replace("_", "."): v for k, v in props.items()})
    return conf


@pytest.mark.parametrize("timeout_ms", [0, 200])
def test_retriable_put_redelivers_the_batch_until_it_succeeds(kafka, tmp_path, timeout_ms):
    """put() raises connect.retriable() for its first 3 calls: each time the same batch comes
    back after the next offset commit (Kafka's wait; offset.flush.interval.ms=1000), or after
    task.timeout(200) when the script set it; every record arrives once, in order, and the
    task never leaves RUNNING."""
    topic, out = unique_topic("lc-retriable"), tmp_path / "out.txt"
    values = [f"v{i:05d}" for i in range(2000)]
    kcat_produce(kafka, topic, values)
    w = Worker(tmp_path, kafka, [flaky_sink("flaky", topic, out, fail_times="3",
                                                  timeout_ms=str(timeout_ms))],
               worker={"plugin.path": str(PLUGINS)})
    t0 = time.monotonic()
    with w:
        wait_for(lambda: len(file_lines(out)) >= len(values), 60, "every record in the file", w.log)
        took = time.monotonic() - t0
        time.sleep(1.5)  # a record delivered twice would arrive now
        assert w.status("flaky", 0)[0] == "RUNNING"
        assert w.stop() == 0
    got = [l.decode() for l in file_lines(out)]
    log = w.log()
    print(f"retriable put: 3 retries, {len(got)} records, lost {len(set(values) - set(got))}, "
          f"doubled {len(got) - len(set(got))}, all delivered after {took:.1f} s")
    assert got == values
    assert log.count("put() raised a retriable error; its ") == 3
    assert "records refused" in log and "service busy: put() call 3 of " in log
    assert "records were delivered after 3 retries" in log
    assert "task FAILED" not in log
    if timeout_ms:
        assert log.count("records are delivered again in 200 ms") == 3


def test_plain_error_from_put_fails_the_task_with_its_traceback(kafka, tmp_path):
    topic, out = unique_topic("lc-put-error"), tmp_path / "out.txt"
    kcat_produce(kafka, topic, ["a", "b", "c"])
    w = Worker(tmp_path, kafka, [flaky_sink("broken", topic, out, fail_times="1", fail_with="error")],
               worker={"plugin.path": str(PLUGINS)})
    with w:
        wait_for(lambda: (w.status("broken", 0) or ("",))[0] == "FAILED", 60, "the task to fail", w.log)
        trace = w.status("broken", 0)[1]
        assert w.alive()
        assert w.stop() == 0
    assert trace.startswith("stage TASK_PUT: ")
    assert "flaky_sink.lua:29: disk on fire: put() call 1 of 3 records refused" in trace
    assert trace.count("stack traceback:") == 1, trace
    assert "in function 'put'" in trace or "flaky_sink.lua:29: in function" in trace, trace
    assert not out.exists() or file_lines(out) == []


def kafka_sh(*args: str, timeout: float = 300) -> str:
    proc = subprocess.run(["bash", str(KAFKA_SH), *args], stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    out = proc.stdout.decode(errors="replace")
    assert proc.returncode == 0, f"kafka.sh {' '.join(args)} failed:\n{out}"
    return out


@pytest.fixture
def own_kafka(tmp_path):
    """A broker of this test's own (tests/kafka/kafka.sh in tmp_path/kafka), so stopping it
    disturbs no other test; yields its directory."""
    kdir = tmp_path / "kafka"
    kafka_sh("start", str(kdir), timeout=KAFKA_START_TIMEOUT)
    try:
        yield kdir
    finally:
        subprocess.run(["bash", str(KAFKA_SH), "stop", str(kdir)], stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)


def rest_status(base: str, connector: str) -> dict:
    with urllib.request.urlopen(f"{base}/connectors/{connector}/status", timeout=10) as r:
        return json.loads(r.read())


@pytest.mark.skipif(os.environ.get("LC_SANITIZER") == "1" and os.environ.get("LC_FAULTS_SANITIZER") != "1",
                    reason="runs in make test's release round only: 80 s, most of it waiting on a "
                           "stopped broker (LC_FAULTS_SANITIZER=1 runs it under the sanitizers too)")
def test_broker_stopped_30s_mid_stream_loses_nothing(own_kafka, tmp_path):
    """File -> Kafka -> file while lines are appended at ~2,000/s; the broker is stopped for
    30 s in the middle and started again (same port, same data). Every line reaches the topic
    exactly once and the sink file at least once, duplicates only from the sink's last commit
    interval before the outage, and both tasks are RUNNING again through the REST API without
    anyone restarting them."""
    bootstrap = (own_kafka / "bootstrap").read_text().strip()
    topic, src, dst = unique_topic("lc-outage"), tmp_path / "in.txt", tmp_path / "out.txt"
    src.write_bytes(b"")
    flush_ms, chunk, every = 1000, 200, 0.1
    w = Worker(tmp_path, bootstrap, pipeline(tmp_path, topic, src, dst),
               worker={"offset.flush.interval.ms": str(flush_ms),
                       # The restarted coordinator no longer knows the sink's member: it joins
                       # again, and the rebalance waits for the old member's session to end
                       # (45 s by default: the pipeline recovers the same way, 35 s later).
                       "consumer.session.timeout.ms": "10000",
                       "consumer.heartbeat.interval.ms": "2000"})
    written, done = [], threading.Event()

    def append():  # a live log: the file keeps growing before, during and after the outage
        i = 0
        with open(src, "ab") as f:
            while not done.is_set():
                lines = [b"%08d" % n for n in range(i, i + chunk)]
                f.write(b"".join(l + b"\n" for l in lines))
                f.flush()
                written.extend(lines)
                i += chunk
                time.sleep(every)

    writer = threading.Thread(target=append)
    t0 = time.monotonic()
    try:
        w.start()
        base = w.url()
        writer.start()
        wait_for(lambda: len(file_lines(dst)) >= 5000, 60, "the pipeline to be mid-stream", w.log)
        kafka_sh("stop", str(own_kafka))
        t_stop = time.monotonic()
        at_stop = len(file_lines(dst))
        time.sleep(30)
        during = {c: rest_status(base, c)["tasks"][0]["state"] for c in ("p-source", "p-sink")}
        assert len(file_lines(dst)) == at_stop, "records arrived while the broker was down"
        kafka_sh("restart", str(own_kafka))
        outage = time.monotonic() - t_stop
        time.sleep(3)
        done.set()
        writer.join()
        wait_for(lambda: file_lines(dst)[-1:] == written[-1:] and len(set(file_lines(dst))) == len(written),
                 120, "every line in the sink file after the outage", w.log)
        caught_up = time.monotonic() - t_stop - outage
        time.sleep(2)  # anything delivered twice late would arrive now
        after = rest_status(base, "p-source"), rest_status(base, "p-sink")
        assert [s["connector"]["state"] for s in after] == ["RUNNING", "RUNNING"], after
        assert [s["tasks"][0]["state"] for s in after] == ["RUNNING", "RUNNING"], after
        assert w.stop() == 0
    finally:
        done.set()
        if writer.is_alive():
            writer.join()
        if w.alive():
            w.kill()
    topic_vals = [json.loads(v)["payload"].encode() for v in kcat_consume(bootstrap, topic, 2 * len(written), 30)]
    out = file_lines(dst)
    lost = len(set(written) - set(out))
    doubled_topic = len(topic_vals) - len(set(topic_vals))
    doubled_sink = len(out) - len(set(out))
    rate = chunk / every
    print(f"broker stopped {outage:.1f} s (tasks during: {during}): {len(written)} lines, lost {lost}, "
          f"doubled in the topic {doubled_topic}, in the sink file {doubled_sink} "
          f"(bound: one commit interval = {rate * flush_ms / 1000:.0f} lines + a batch); "
          f"caught up {caught_up:.1f} s after the restart; test {time.monotonic() - t0:.0f} s")
    assert lost == 0
    assert topic_vals == written, "the topic holds every line once, in order"
    assert set(out) == set(written)
    back = [i for i in range(1, len(out)) if out[i] <= out[i - 1]]
    assert len(back) <= 1, f"more than one replayed stretch: {back[:5]}"
    assert doubled_sink <= rate * flush_ms / 1000 + 500
