"""Record headers on a real broker: repeated names and null headers keep their order from
Kafka through a sink task, and from a source task to Kafka, with and without the header
SMTs (Kafka Connect's semantics: InsertHeader adds, DropHeaders removes every header of
the name)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from conftest import kcat_consume_json, kcat_produce, unique_topic
from worker import Worker, file_lines, wait_for

# A sink that writes each record as a JSON line: its value and its headers as a list of
# [name, value] pairs, in order.
HEADERS_SINK = '''
local connect = require "luaconnect"
return connect.sink {
  config = { file = { type = "string", required = true } },
  open = function(task) task.out = assert(io.open(task.config.file, "ab")) end,
  put = function(task, records)
    for _, r in ipairs(records) do
      task.out:write(connect.json.encode({ value = r.value,
        headers = connect.headers.to_list(r.headers) or connect.array() }), "\\n")
    end
    task.out:flush()
  end,
  close = function(task) task.out:close() end,
}
'''

# A source that sends three records once, with headers as a headers list, a plain list of
# pairs, and a map.
HEADERS_SOURCE = '''
local connect = require "luaconnect"
return connect.source {
  config = { topic = { type = "string", required = true } },
  poll = function(task)
    if task.done then return nil end
    task.done = true
    local t = task.config.topic
    return {
      { topic = t, value = "r1", headers = connect.headers.new({ { "a", "1" }, { "b", "2" },
        { "a", "3" }, { "n", connect.null } }) },
      { topic = t, value = "r2", headers = { { "a", "1" }, { "a", "2" } } },
      { topic = t, value = "r3", headers = { x = "1" } },
    }
  end,
}
'''

STRING = "org.apache.kafka.connect.storage.StringConverter"


def plugins(tmp: Path) -> Path:
    d = tmp / "plugins"
    d.mkdir(exist_ok=True)
    (d / "headers_sink.lua").write_text(HEADERS_SINK)
    (d / "headers_source.lua").write_text(HEADERS_SOURCE)
    return d


def test_sink_keeps_repeated_headers_in_order(kafka, tmp_path):
    topic = unique_topic("lc-headers-sink")
    kcat_produce(kafka, topic, ["v1", "v2"], headers=[("a", "1"), ("b", "2"), ("a", "3"), ("n", None)])
    plain, smt = tmp_path / "plain.jsonl", tmp_path / "smt.jsonl"
    common = {"connector.class": "headers_sink", "tasks.max": "1", "topics": topic,
              "value.converter": STRING}
    conns = [dict(common, name="plain", file=str(plain)),
             dict(common, name="smt", file=str(smt), transforms="ins,drop",
                  **{"transforms.ins.type": "InsertHeader", "transforms.ins.header": "a",
                     "transforms.ins.value.literal": "4",
                     "transforms.drop.type": "org.apache.kafka.connect.transforms.DropHeaders",
                     "transforms.drop.headers": "b"})]
    w = Worker(tmp_path, kafka, conns, worker={"plugin.path": str(plugins(tmp_path))})
    with w:
        wait_for(lambda: len(file_lines(plain)) >= 2 and len(file_lines(smt)) >= 2, 60,
                 "both sink files", w.log)
        time.sleep(1)  # nothing more may arrive
        assert w.stop() == 0
    want = [["a", "1"], ["b", "2"], ["a", "3"], ["n", None]]
    assert [json.loads(l) for l in file_lines(plain)] == [
        {"value": "v1", "headers": want}, {"value": "v2", "headers": want}]
    want = [["a", "1"], ["a", "3"], ["n", None], ["a", "4"]]
    assert [json.loads(l) for l in file_lines(smt)] == [
        {"value": "v1", "headers": want}, {"value": "v2", "headers": want}]


def test_source_sends_repeated_headers_in_order(kafka, tmp_path):
    plain_topic, smt_topic = unique_topic("lc-headers-src"), unique_topic("lc-headers-src-smt")
    common = {"connector.class": "headers_source", "tasks.max": "1", "value.converter": STRING}
    conns = [dict(common, name="plain", topic=plain_topic),
             dict(common, name="smt", topic=smt_topic, transforms="ins",
                  **{"transforms.ins.type": "InsertHeader", "transforms.ins.header": "a",
                     "transforms.ins.value.literal": "4"})]
    w = Worker(tmp_path, kafka, conns, worker={"plugin.path": str(plugins(tmp_path))})
    with w:
        got = {}

        def arrived():
            got["plain"] = kcat_consume_json(kafka, plain_topic, 3, timeout=1)
            got["smt"] = kcat_consume_json(kafka, smt_topic, 3, timeout=1)
            return len(got["plain"]) >= 3 and len(got["smt"]) >= 3

        wait_for(arrived, 60, "the records of both sources", w.log)
        assert w.stop() == 0
    assert [(m["payload"], m["header_list"]) for m in got["plain"]] == [
        ("r1", [("a", "1"), ("b", "2"), ("a", "3"), ("n", None)]),
        ("r2", [("a", "1"), ("a", "2")]),
        ("r3", [("x", "1")]),
    ]
    assert [(m["payload"], m["header_list"]) for m in got["smt"]] == [
        ("r1", [("a", "1"), ("b", "2"), ("a", "3"), ("n", None), ("a", "4")]),
        ("r2", [("a", "1"), ("a", "2"), ("a", "4")]),
        ("r3", [("x", "1"), ("a", "4")]),
    ]
