"""errors.tolerance, the dead-letter queue with Kafka Connect's context headers, and
per-record isolation, on a real broker."""

from __future__ import annotations

import json
import time
from pathlib import Path

from conftest import kcat_consume, kcat_consume_json, kcat_produce, unique_topic
from worker import Worker, file_lines, wait_for

CHECK = (
    'local connect = require "luaconnect"\n'
    "return connect.transform {\n"
    "  apply = function(r)\n"
    '    if r.value.bad then error("refusing record " .. r.value.n) end\n'
    "    r.value.checked = true\n"
    "    return r\n"
    "  end,\n"
    "}\n")


def plugins_dir(tmp: Path) -> Path:
    d = tmp / "plugins"
    d.mkdir()
    (d / "check.lua").write_text(CHECK)
    return d


def test_sink_dlq_gets_every_bad_record_with_kafka_connect_headers(kafka, tmp_path):
    topic, dlq = unique_topic("lc-dlq-in"), unique_topic("lc-dlq")
    values, keys, kinds = [], [], []
    for i in range(500):
        if i % 50 == 7:
            values.append(b'{"n": %d, "broken": ' % i); kinds.append("malformed")
        elif i % 50 == 13:
            values.append(b'{"n": %d, "bad": true}' % i); kinds.append("transform")
        else:
            values.append(b'{"n": %d}' % i); kinds.append("good")
        keys.append(b"k%d" % i)
    kcat_produce(kafka, topic, values, keys=keys)
    dst = tmp_path / "out.txt"
    w = Worker(tmp_path, kafka, [{
        "name": "dlq-sink", "connector.class": "FileStreamSink", "file": str(dst), "topics": topic,
        "key.converter": "org.apache.kafka.connect.storage.StringConverter",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable": "false",
        "transforms": "check", "transforms.check.type": "check",
        "errors.tolerance": "all", "errors.log.enable": "true",
        "errors.deadletterqueue.topic.name": dlq,
        "errors.deadletterqueue.topic.replication.factor": "1",
        "errors.deadletterqueue.context.headers.enable": "true"}],
        worker={"plugin.path": str(plugins_dir(tmp_path))})
    good = [json.loads(v) for v, k in zip(values, kinds) if k == "good"]
    with w:
        wait_for(lambda: len(file_lines(dst)) >= len(good), 60, "the good records", w.log)
        time.sleep(1)
        assert w.status("dlq-sink", 0)[0] == "RUNNING"
        assert w.stop() == 0
    assert [json.loads(l) for l in file_lines(dst)] == [dict(g, checked=True) for g in good]

    bad = [(i, k) for i, k in enumerate(kinds) if k != "good"]
    msgs = kcat_consume_json(kafka, dlq, len(bad), timeout=20)
    # The worker has stopped: the topic is read once to its end (timeout=0), nothing more.
    assert len(kcat_consume_json(kafka, dlq, len(bad) + 1, timeout=0)) == len(bad), "no extra DLQ record"
    assert len(msgs) == len(bad), "every bad record once in the DLQ"
    for m, (i, kind) in zip(msgs, bad):
        assert m["key"] == "k%d" % i
        assert m["payload"] == values[i].decode(), "original bytes unchanged"
        h = m["headers"]
        assert h["__connect.errors.topic"] == topic
        assert h["__connect.errors.partition"] == "0"
        assert h["__connect.errors.offset"] == str(i)
        assert h["__connect.errors.connector.name"] == "dlq-sink"
        assert h["__connect.errors.task.id"] == "0"
        if kind == "malformed":
            assert h["__connect.errors.stage"] == "VALUE_CONVERTER"
            assert h["__connect.errors.class.name"] == "org.apache.kafka.connect.json.JsonConverter"
            assert h["__connect.errors.exception.class.name"] == "org.apache.kafka.connect.errors.DataException"
            assert "JSON" in h["__connect.errors.exception.message"]
        else:
            assert h["__connect.errors.stage"] == "TRANSFORMATION"
            assert h["__connect.errors.class.name"] == "check"
            assert h["__connect.errors.exception.message"].endswith("refusing record %d" % i)
            assert "stack traceback" in h["__connect.errors.exception.stacktrace"]
    log = w.log()
    assert "Executing stage 'VALUE_CONVERTER' with class 'org.apache.kafka.connect.json.JsonConverter'" in log
    assert "Executing stage 'TRANSFORMATION' with class 'check'" in log


def test_tolerance_none_fails_the_task_naming_record_and_stage(kafka, tmp_path):
    topic = unique_topic("lc-none")
    kcat_produce(kafka, topic, [b'{"n": 1}', b'{"n": 2, "bad": true}', b'{"n": 3}'])
    dst = tmp_path / "out.txt"
    w = Worker(tmp_path, kafka, [{
        "name": "strict", "connector.class": "FileStreamSink", "file": str(dst), "topics": topic,
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable": "false", "transforms": "check",
        "transforms.check.type": "check"}],
        worker={"plugin.path": str(plugins_dir(tmp_path))})
    with w:
        wait_for(lambda: (w.status("strict", 0) or ("",))[0] == "FAILED", 60, "the task to fail", w.log)
        trace = w.status("strict", 0)[1]
        assert w.stop() == 0
    assert f"record 2 of 3 (topic {topic}, partition 0, offset 1): stage TRANSFORMATION: transform 'check' (check)" in trace
    assert "check.lua:4: refusing record 2" in trace and "stack traceback" in trace
    assert not dst.exists() or file_lines(dst) == []  # put() never saw the batch


def test_a_record_that_cannot_be_converted_fails_its_task_with_the_records_before_it_committed(
        kafka, tmp_path):
    """Records of one source partition in one batch carry no offset of their own but the next
    record's: when that next record fails, the offset of the one before it is still committed."""
    topic = unique_topic("lc-conv")
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "fn_value.lua").write_text(
        'local connect = require "luaconnect"\n'
        "return connect.transform { apply = function(r)\n"
        '  if r.value == "c" then r.value = print end\n'
        "  return r\n"
        "end }\n")
    src = tmp_path / "in.txt"
    src.write_text("a\nb\nc\nd\n")
    w = Worker(tmp_path, kafka, [{
        "name": "src", "connector.class": "FileStreamSource", "file": str(src), "topic": topic,
        "transforms": "fn", "transforms.fn.type": "fn_value"}],
        worker={"plugin.path": str(plugins)})
    with w:
        wait_for(lambda: (w.status("src", 0) or ("",))[0] == "FAILED", 60, "the task to fail", w.log)
        assert "record 3 of 4" in w.status("src", 0)[1]
        assert "stage VALUE_CONVERTER" in w.status("src", 0)[1]
        wait_for(lambda: w.source_offset("src", {"filename": str(src)}) is not None, 30,
                 "the offset commit of the failed task", w.log)
        assert w.source_offset("src", {"filename": str(src)}) == {"position": 4}  # after "b"
        assert w.stop() == 0
    assert [json.loads(v)["payload"] for v in kcat_consume(kafka, topic, 2)] == ["a", "b"]


def test_source_side_dlq_and_offsets_move_past_bad_records(kafka, tmp_path):
    topic, dlq = unique_topic("lc-src"), unique_topic("lc-src-dlq")
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "no_x.lua").write_text(
        'local connect = require "luaconnect"\n'
        "return connect.transform { apply = function(r)\n"
        '  if r.value:find("x") then error("no x please") end\n'
        "  return r\n"
        "end }\n")
    src = tmp_path / "in.txt"
    lines = ["a", "bx", "c", "dx", "e"]
    src.write_text("".join(l + "\n" for l in lines))
    w = Worker(tmp_path, kafka, [{
        "name": "src", "connector.class": "FileStreamSource", "file": str(src), "topic": topic,
        "transforms": "nox", "transforms.nox.type": "no_x", "errors.tolerance": "all",
        "errors.deadletterqueue.topic.name": dlq,
        "errors.deadletterqueue.topic.replication.factor": "1",
        "errors.deadletterqueue.context.headers.enable": "true"}],
        worker={"plugin.path": str(plugins)})
    with w:
        wait_for(lambda: (w.source_offset("src", {"filename": str(src)}) or {}).get("position") == src.stat().st_size,
                 60, "the offset to reach the end of the file", w.log)
        assert w.status("src", 0)[0] == "RUNNING"
        assert w.stop() == 0
    assert [json.loads(v)["payload"] for v in kcat_consume(kafka, topic, 3)] == ["a", "c", "e"]
    msgs = kcat_consume_json(kafka, dlq, 2)
    assert [json.loads(m["payload"])["payload"] for m in msgs] == ["bx", "dx"]
    h = msgs[0]["headers"]
    assert h["__connect.errors.topic"] == topic
    assert h["__connect.errors.stage"] == "TRANSFORMATION"
    assert h["__connect.errors.partition"] == "-1"
    assert json.loads(h["__connect.errors.source.partition"]) == {"filename": str(src)}
    assert json.loads(h["__connect.errors.source.offset"]) == {"position": 5}
    assert h["__connect.errors.exception.message"].endswith("no x please")
