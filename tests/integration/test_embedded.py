"""The embedded broker (`standalone --embedded-kafka`) is where a newcomer tries things first:
what works on a real broker must work there, with the same outcome. Each test runs the same
pipeline on both and compares what a user would look at: the task states, the sink's file,
the dead-letter queue and the topics' partition counts."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import kcat_consume_json, kcat_produce, unique_topic
from http_json import call
from worker import Worker, file_lines, wait_for

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def embedded_bootstrap(w: Worker) -> str:
    found = []

    def printed():
        m = re.search(r"embedded Kafka at (\S+)", w.log())
        if m:
            found.append(m.group(1))
        return bool(m)

    wait_for(printed, 30, "the embedded broker's address", w.log)
    return found[0]


def task_state(w: Worker, connector: str) -> str:
    st = w.status(connector, 0)
    return st[0] if st else ""


def partitions(bootstrap: str, topic: str) -> int:
    out = subprocess.run(["kcat", "-b", bootstrap, "-L", "-t", topic, "-J"], capture_output=True,
                         timeout=30, check=True).stdout
    meta = json.loads(out)
    return len(next(t for t in meta["topics"] if t["topic"] == topic)["partitions"])


def start(tmp_path: Path, kafka, embedded: bool, connectors) -> tuple:
    w = Worker(tmp_path, None if embedded else kafka, connectors, embedded=embedded,
               worker={"value.converter.schemas.enable": "false",
                       "key.converter": "org.apache.kafka.connect.storage.StringConverter"})
    w.start()
    return w, (embedded_bootstrap(w) if embedded else kafka)


@pytest.mark.parametrize("embedded", [True, False], ids=["embedded", "real-broker"])
def test_a_sink_with_a_dead_letter_queue_runs_and_routes_bad_records(kafka, tmp_path, embedded):
    """The quick-start case that used to stall 30 s and then FAIL on the embedded broker: a
    FileStreamSink with errors.tolerance=all and a DLQ of replication factor 1."""
    topic, dlq = unique_topic("emb-in"), unique_topic("emb-dlq")
    out = tmp_path / "out.txt"
    w, bootstrap = start(tmp_path, kafka, embedded, [{
        "name": "dlq-sink", "connector.class": "FileStreamSink", "topics": topic,
        "file": str(out), "errors.tolerance": "all",
        "errors.deadletterqueue.topic.name": dlq,
        "errors.deadletterqueue.topic.replication.factor": "1",
        "errors.deadletterqueue.context.headers.enable": "true"}])
    with w:
        # No stall: the task is RUNNING as soon as its consumer is up (30 s was the timeout of
        # a CreateTopics the embedded broker never answered).
        wait_for(lambda: task_state(w, "dlq-sink") == "RUNNING", 20, "the sink task RUNNING",
                 w.log)
        kcat_produce(bootstrap, topic, [b'{"n":1}', b"not json", b'{"n":2}', b'{"n":3}'])
        wait_for(lambda: len(file_lines(out)) == 3, 30, "three good records in the file", w.log)
        assert file_lines(out) == [b"{\"n\":1}", b"{\"n\":2}", b"{\"n\":3}"]
        bad = kcat_consume_json(bootstrap, dlq, 1)
        assert [m["payload"] for m in bad] == ["not json"]
        assert bad[0]["headers"]["__connect.errors.topic"] == topic
        assert bad[0]["headers"]["__connect.errors.stage"] == "VALUE_CONVERTER"
        # The worker created both topics with one partition, as a fresh Kafka would.
        assert partitions(bootstrap, topic) == 1 and partitions(bootstrap, dlq) == 1
        assert task_state(w, "dlq-sink") == "RUNNING"
        assert "Timed out" not in w.log() and "FAILED" not in w.log()
        assert w.stop() == 0


def run_transforms_example(tmp_path: Path, kafka, embedded: bool) -> tuple:
    """examples/transforms/orders-sink.properties for real: its input records produced to
    their topics, then what reached the file and the DLQ."""
    ex = tmp_path / "ex"
    shutil.copytree(EXAMPLES / "transforms", ex)
    props = dict(line.split("=", 1) for line in (ex / "orders-sink.properties").read_text()
                 .splitlines() if line and not line.startswith("#"))
    tag = unique_topic("x").replace("-", "")
    props["file"] = str(ex / "orders-clean.txt")
    props["topics.regex"] = f"orders-.*-raw-{tag}"
    props["predicates.isTest.pattern"] = f"orders-test-.*-{tag}"
    props["errors.deadletterqueue.topic.name"] = dlq = f"orders-dlq-{tag}"
    # New topics matching topics.regex are found at the next metadata refresh (5 min by default).
    props["consumer.override.topic.metadata.refresh.interval.ms"] = "500"
    records = [json.loads(x) for x in (ex / "input.jsonl").read_text().splitlines() if x.strip()]
    w, bootstrap = start(tmp_path, kafka, embedded, [props])
    with w:
        wait_for(lambda: task_state(w, props["name"]) == "RUNNING", 20, "the sink RUNNING", w.log)
        for r in records:
            value = json.dumps(r["value"])
            # One partition each, in input order (a topic first produced by kcat gets the
            # embedded broker's default partition count, see README.md, --embedded-kafka).
            subprocess.run(["kcat", "-b", bootstrap, "-P", "-t", f"{r['topic']}-{tag}", "-p", "0",
                            "-k", r["key"]], input=value.encode(), check=True, timeout=30)
        expected_dlq = 1
        wait_for(lambda: len(kcat_consume_json(bootstrap, dlq, expected_dlq, 2)) == expected_dlq
                 and len(file_lines(ex / "orders-clean.txt")) >= 1, 60,
                 "the file and the DLQ", w.log)
        lines = sorted(file_lines(ex / "orders-clean.txt"))
        dead = [(m["payload"], m["headers"]["__connect.errors.stage"])
                for m in kcat_consume_json(bootstrap, dlq, expected_dlq)]
        assert w.stop() == 0
    return lines, dead, tag


def test_the_transforms_example_has_the_same_outcome_on_both_brokers(kafka, tmp_path):
    lines_e, dead_e, tag_e = run_transforms_example(tmp_path / "e", kafka, True)
    lines_r, dead_r, tag_r = run_transforms_example(tmp_path / "r", kafka, False)
    assert lines_e and [x.replace(tag_e.encode(), b"T") for x in lines_e] == \
        [x.replace(tag_r.encode(), b"T") for x in lines_r]
    assert dead_e == dead_r and len(dead_e) == 1, (dead_e, dead_r)
    assert dead_e[0][1] == "TRANSFORMATION"
    # What `luaconnect test` prints for the same input (examples/transforms/expected.jsonl).
    expected = [json.loads(x) for x in (EXAMPLES / "transforms" / "expected.jsonl").read_text()
                .splitlines() if x.strip()]
    def core(v):  # the offsets and topic names differ from the example's made-up ones
        return {k: x for k, x in v.items() if k not in ("source_offset", "source_topic")}
    assert sorted(json.dumps(core(json.loads(x))) for x in lines_e) == \
        sorted(json.dumps(core(e["value"])) for e in expected)


@pytest.mark.parametrize("embedded", [True, False], ids=["embedded", "real-broker"])
def test_standalone_exactly_once_source(kafka, tmp_path, embedded):
    """exactly.once.source.support=enabled keeps source offsets in a Kafka topic, created by
    the worker: on the embedded broker too, with the same records and offsets."""
    src = tmp_path / "in.txt"
    src.write_text("".join(f"line {i}\n" for i in range(500)))
    topic, offsets = unique_topic("emb-eos"), unique_topic("emb-eos-offsets")
    w = Worker(tmp_path, None if embedded else kafka, [{
        "name": "src", "connector.class": "FileStreamSource", "file": str(src), "topic": topic}],
        embedded=embedded, worker={
            "exactly.once.source.support": "enabled", "offset.storage.topic": offsets,
            "value.converter": "org.apache.kafka.connect.storage.StringConverter",
            "key.converter": "org.apache.kafka.connect.storage.StringConverter"})
    w.start()
    bootstrap = embedded_bootstrap(w) if embedded else kafka
    with w:
        # Read the topic only once the worker made it: on the embedded broker a consumer's
        # metadata request would auto-create it first, with the mock's 4 partitions (then
        # the records interleave across them and the order check below fails).
        url = w.url()
        wait_for(lambda: call("GET", f"{url}/connectors/src/topics") ==
                 (200, {"src": {"topics": [topic]}}), 30, "the connector's topic", w.log)

        def committed():
            out = subprocess.run(["kcat", "-b", bootstrap, "-C", "-t", topic, "-e", "-q",
                                  "-X", "isolation.level=read_committed"],
                                 capture_output=True, timeout=30).stdout.decode()
            return out.splitlines()
        wait_for(lambda: len(committed()) == 500, 30, "500 committed records", w.log)
        assert committed() == [f"line {i}" for i in range(500)]
        offs = subprocess.run(["kcat", "-b", bootstrap, "-C", "-t", offsets, "-e", "-q",
                               "-f", "%k %s\n"], capture_output=True, timeout=30).stdout.decode()
        last = offs.splitlines()[-1]
        assert last == f'["src",{{"filename":"{src}"}}] {{"position":{src.stat().st_size}}}', offs
        assert "exactly-once: transactional.id" in w.log()
        assert w.stop() == 0
