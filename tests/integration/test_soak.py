"""Soak: a counting source -> Kafka -> file sink pipeline whose worker is killed with SIGKILL
mid-stream and restarted, cycle after cycle. Nothing may be lost; duplicates (the records
after the last offset commit, sent or written again) are counted and bounded.

`make test` runs 5 cycles; `make soak` runs 100 (LC_SOAK_CYCLES) and prints the figures."""

from __future__ import annotations

import json
import os
import random
import time
import urllib.request
import uuid
from pathlib import Path

from conftest import kcat_consume, unique_topic
from worker import Worker, file_lines, wait_for

PLUGINS = Path(__file__).resolve().parent / "plugins"
STRING = "org.apache.kafka.connect.storage.StringConverter"
RATE = 5000      # records per second from the source
FLUSH_MS = 500   # offset.flush.interval.ms: what a kill can send or write again
BATCH = 500      # the largest poll()/put() batch


def task_state(base: str, connector: str) -> str:
    with urllib.request.urlopen(f"{base}/connectors/{connector}/status", timeout=10) as r:
        return json.loads(r.read())["tasks"][0]["state"]


def sink_offset(base: str, sink: str, topic: str) -> int:
    """The sink group's committed offset of topic (REST GET /connectors/<sink>/offsets), or -1."""
    try:
        with urllib.request.urlopen(f"{base}/connectors/{sink}/offsets", timeout=10) as r:
            offsets = json.loads(r.read())["offsets"]
    except OSError:  # the REST API is not up yet
        return -1
    return max((o["offset"]["kafka_offset"] for o in offsets
                if o["partition"]["kafka_topic"] == topic), default=-1)


def test_kill_9_soak(kafka, tmp_path):
    cycles = int(os.environ.get("LC_SOAK_CYCLES", "5"))
    topic, dst = unique_topic("lc-soak"), tmp_path / "out.txt"
    sink = "soak-sink-" + uuid.uuid4().hex[:8]  # its own consumer group
    w = Worker(tmp_path, kafka, [
        {"name": "seq", "connector.class": "seq_source", "topic": topic, "rate": str(RATE),
         "value.converter": STRING},
        {"name": sink, "connector.class": "FileStreamSink", "file": str(dst), "topics": topic,
         "value.converter": STRING},
    ], worker={"plugin.path": str(PLUGINS), "offset.flush.interval.ms": str(FLUSH_MS),
               "consumer.session.timeout.ms": "6000", "consumer.heartbeat.interval.ms": "1000",
               # the restarted worker takes its killed predecessor's place in the group at
               # once instead of waiting for the old session to expire
               "consumer.group.instance.id": "soak-" + uuid.uuid4().hex[:8]})
    rng = random.Random(12)
    offset = lambda: (w.source_offset("seq", {"source": "seq"}) or {}).get("next", 0)
    t0 = time.monotonic()
    per_kill = []  # records the sink file got again because of each kill
    try:
        for cycle in range(cycles + 1):
            lines_before, committed_before = len(file_lines(dst)), offset()
            w.start()
            wait_for(lambda: w.log().count("REST API listening on ") == cycle + 1, 30,
                     "this start's REST API", w.log)
            base = w.url()
            sink_before = sink_offset(base, sink, topic)
            # mid-stream: the sink writes again, and both sides committed since this start
            wait_for(lambda: len(file_lines(dst)) >= lines_before + 1000 and offset() > committed_before
                     and sink_offset(base, sink, topic) > sink_before, 60, "progress after a restart", w.log)
            if cycle == cycles:
                break
            time.sleep(rng.uniform(0, FLUSH_MS / 1000))
            assert w.alive(), w.log()[-4000:]
            w.kill()
            lines = file_lines(dst)
            per_kill.append(len(lines) - len(set(lines)) - sum(per_kill))
        # Stop counting (the source commits what Kafka has), then let the sink catch up.
        urllib.request.urlopen(urllib.request.Request(f"{base}/connectors/seq/pause", method="PUT"),
                               timeout=10).close()
        wait_for(lambda: task_state(base, "seq") == "PAUSED", 30, "the source to pause", w.log)
        time.sleep(FLUSH_MS / 1000 * 2)
        last = offset() - 1
        wait_for(lambda: f"{last:09d}".encode() in file_lines(dst)[-BATCH * 4:], 60,
                 "the sink to reach the last number", w.log)
        time.sleep(1.5)
        assert w.stop() == 0
    finally:
        if w.alive():
            w.kill()
    took = time.monotonic() - t0
    sent = [int(v) for v in kcat_consume(kafka, topic, 10 ** 9, timeout=5)]
    out = [int(l) for l in file_lines(dst)]
    want = set(range(last + 1))
    lost_topic, lost = len(want - set(sent)), len(want - set(out))
    dup_topic, dup_file = len(sent) - len(set(sent)), len(out) - len(set(out))
    # A kill costs at most one commit interval on each side: the source sends again what it
    # produced after its last offset commit, the sink writes again what it consumed after its
    # last one (both intervals are FLUSH_MS, plus a batch in flight).
    bound = cycles * 2 * (RATE * FLUSH_MS // 1000 + BATCH)
    print(f"\nsoak: {cycles} cycles of kill -9, {last + 1} records, lost {lost} (topic {lost_topic}), "
          f"duplicated {dup_file} in the sink file ({dup_topic} of them sent twice to the topic), "
          f"{dup_file / cycles:.0f} per kill on average, at most {max(per_kill)} (bound {bound // cycles}); "
          f"{took:.0f} s")
    assert lost_topic == 0 and lost == 0
    assert set(out) <= want | set(sent)
    assert dup_file <= bound
