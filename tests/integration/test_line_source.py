"""A line source (FileStreamSource's poll_lines) whose transform chain is content-blind: the
worker writes each line into the chain's result for one line, converted once, and makes no
record tables. What reaches Kafka must be byte for byte what the records made in Lua give.

Each case runs twice over the same file: as is (the worker writes the lines), and with a
user transform that returns its record unchanged but does not declare content_blind, which
makes the SDK build every record and run the chain on it (the way every chain ran before).
Both topics must hold the same keys and values in the same order, and both connectors must
commit the same source offset, in the same text."""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

from conftest import unique_topic
from kafka_records import dump_topic
from worker import Worker, wait_for

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import compare  # noqa: E402  (make bench's pipeline definitions)

HOLE = b"lc-line-hole-5f0c2e9a7b31d846"  # the SDK's placeholder, as a line of its own too

LINES = [
    b"plain",
    b"",
    b'"quoted" \\ back\\\\slash {"json":true} /slash',
    "é 中文 🙂 ünïcödé".encode(),
    b"ctl \x01\x02\x1f \x7f tab\there",
    b"bell \x07 form\x0cfeed backspace\x08",
    b"a lone \r inside",
    b"invalid \xff\xfe utf-8 \xc3 truncated \xc0\xaf overlong \xed\xa0\x80 surrogate",
    b"\xf0\x9f\x98",  # a 4-byte sequence cut short
    HOLE,
    b"before " + HOLE + b" after",
    b"x" * 70_000,  # longer than the source's 64 KB read
    b"  spaces around  ",
]


def write_input(path):
    """The lines, some ending in \\r\\n, then an unfinished line the source must keep back."""
    body = b"".join(l + (b"\r\n" if i % 3 == 1 else b"\n") for i, l in enumerate(LINES * 40))
    path.write_bytes(body + b"unfinished, no newline")
    return len(LINES) * 40, len(body)


NOOP = """local connect = require "luaconnect"
return connect.transform {
  doc = "returns its record unchanged; not content_blind, so records are made",
  apply = function(record) return record end,
}
"""

# pipeline (a)'s chain in make bench (HoistField, InsertField, ReplaceField, RegexRouter), with
# InsertField's topic field besides its static one
BENCH_CHAIN = {k: v for k, v in compare.Bench.file_source("x", "in.txt", "t").items()
               if k.startswith("transforms")}
BENCH_CHAIN["transforms.insert.topic.field"] = "from_topic"

# a connector's converter settings count when it names its converter (as in Kafka Connect)
SCHEMALESS = {"value.converter": "org.apache.kafka.connect.json.JsonConverter",
              "value.converter.schemas.enable": "false"}

CASES = {
    # no transform, JsonConverter with schemas: {"schema":{"type":"string",...},"payload":"<line>"}
    "plain": {},
    "plain-schemaless": dict(SCHEMALESS),
    "string-converter": {"value.converter": "org.apache.kafka.connect.storage.StringConverter"},
    "chain-schemaless": {**BENCH_CHAIN, **SCHEMALESS},
    "chain-schemas": dict(BENCH_CHAIN),
    "chain-predicate": {
        "transforms": "hoist,meta,mask",
        "transforms.hoist.type": "org.apache.kafka.connect.transforms.HoistField$Value",
        "transforms.hoist.field": "line",
        "transforms.meta.type": "org.apache.kafka.connect.transforms.SetSchemaMetadata$Value",
        "transforms.meta.schema.name": "com.example.Line",
        "transforms.meta.schema.version": "3",
        "transforms.meta.predicate": "isRaw",
        "transforms.mask.type": "org.apache.kafka.connect.transforms.MaskField$Value",
        "transforms.mask.fields": "line",
        "transforms.mask.predicate": "isRaw",
        "transforms.mask.negate": "true",
        "predicates": "isRaw",
        "predicates.isRaw.type": "org.apache.kafka.connect.transforms.predicates.TopicNameMatches",
        "predicates.isRaw.pattern": ".*-raw",
    },
}


def with_noop(props):
    """The same connector with the unchanged-record transform added at the chain's end."""
    props = dict(props)
    names = [n for n in props.get("transforms", "").split(",") if n]
    props["transforms"] = ",".join(names + ["noop"])
    props["transforms.noop.type"] = "noop"
    return props


def committed_offset_text(w, connector, partition):
    key = json.dumps([connector, partition], separators=(",", ":"), sort_keys=True)
    con = sqlite3.connect(w.db)
    try:
        row = con.execute("SELECT value FROM offsets WHERE key=?", (key,)).fetchone()
        return row[0] if row else None
    finally:
        con.close()


def test_lines_the_worker_writes_are_the_records_lua_makes(kafka, tmp_path, monkeypatch):
    monkeypatch.setenv("LUACONNECT_LOG_LEVEL", "debug")
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "noop.lua").write_text(NOOP)
    src = tmp_path / "in.txt"
    n, size = write_input(src)
    conns, topics = [], {}
    for case, props in CASES.items():
        base = unique_topic(f"lc-lines-{case}")
        for kind, p in (("fast", props), ("made", with_noop(props))):
            name = f"{case}-{kind}"
            raw = f"{base}-{kind}-raw"
            routed = "route" in p.get("transforms", "")
            topics[name] = f"{base}-{kind}-clean" if routed else raw
            conns.append({"name": name, "connector.class": "FileStreamSource", "tasks.max": "1",
                          "file": str(src), "topic": raw, "batch.size": "7", **p})
    w = Worker(tmp_path, kafka, conns, worker={"plugin.path": str(plugins),
                                               "offset.flush.interval.ms": "500"})
    with w:
        for name in topics:
            wait_for(lambda: w.source_offset(name, {"filename": str(src)}) == {"position": size},
                     90, f"{name} to commit the position after the last complete line", w.log)
        log = w.log()
        assert w.stop() == 0, log[-3000:]
    for case in CASES:
        # the worker wrote the lines of the first, the SDK made the records of the second
        assert f"{case}-fast|task-0" in log and f"{case}-made|task-0" in log
        fast_note = [l for l in log.splitlines() if f"{case}-fast|task-0" in l and
                     "the worker writes each line into" in l]
        made_note = [l for l in log.splitlines() if f"{case}-made|task-0" in l and
                     "records are made in Lua" in l]
        assert fast_note and not [l for l in log.splitlines() if f"{case}-fast|task-0" in l
                                  and "records are made in Lua" in l], (case, log[-3000:])
        assert made_note, (case, log[-3000:])
        fast = dump_topic(kafka, topics[f"{case}-fast"])
        made = dump_topic(kafka, topics[f"{case}-made"])
        assert len(fast) == n and len(made) == n, (case, len(fast), len(made))
        for i, (a, b) in enumerate(zip(fast, made)):
            # InsertField's topic.field holds each connector's own input topic
            value = a["value"] and a["value"].replace(b"-fast-raw", b"-made-raw")
            assert (a["key"], value) == (b["key"], b["value"]), (case, i, a, b)
        assert committed_offset_text(w, f"{case}-fast", {"filename": str(src)}) == \
            committed_offset_text(w, f"{case}-made", {"filename": str(src)}) == \
            '{"position":%d}' % size
    # what the values are, spelled out for three cases
    plain = dump_topic(kafka, topics["plain-fast"])
    assert plain[0]["value"] == b'{"schema":{"type":"string","optional":false},"payload":"plain"}'
    assert plain[2]["value"] == (b'{"schema":{"type":"string","optional":false},"payload":'
                                 b'"\\"quoted\\" \\\\ back\\\\\\\\slash {\\"json\\":true} /slash"}')
    raw = dump_topic(kafka, topics["string-converter-fast"])
    assert [r["value"] for r in raw[:len(LINES)]] == LINES  # the empty line: empty bytes
    chain = dump_topic(kafka, topics["chain-schemaless-fast"])
    raw_topic = topics["chain-schemaless-fast"].replace("-clean", "-raw")
    assert json.loads(chain[4]["value"]) == {
        "text": "ctl \x01\x02\x1f \x7f tab\there", "source": "bench", "from_topic": raw_topic}
    assert chain[7]["value"].startswith(b'{"text":"invalid \xef\xbf\xbd\xef\xbf\xbd utf-8 ')


def test_a_line_kafka_refuses_fails_the_task_naming_it_as_a_made_record_does(kafka, tmp_path):
    """A line longer than the producer's message.max.bytes: the task fails on that record,
    with the same text whether the worker wrote it or the SDK made it; the lines before it are
    in the topic and nothing after it is."""
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "noop.lua").write_text(NOOP)
    src = tmp_path / "in.txt"
    src.write_bytes(b"one\ntwo\n" + b"z" * 20_000 + b"\nfour\n")
    base = unique_topic("lc-lines-big")
    conns = [{"name": "fast", "connector.class": "FileStreamSource", "file": str(src),
              "topic": f"{base}-fast", **SCHEMALESS},
             {"name": "made", "connector.class": "FileStreamSource", "file": str(src),
              "topic": f"{base}-made", **with_noop(SCHEMALESS)}]
    w = Worker(tmp_path, kafka, conns, worker={"plugin.path": str(plugins),
                                               "producer.message.max.bytes": "10000"})
    with w:
        for name in ("fast", "made"):
            wait_for(lambda: (w.status(name, 0) or ("",))[0] == "FAILED", 60, f"{name} to fail", w.log)
        traces = {name: w.status(name, 0)[1] for name in ("fast", "made")}
        assert w.stop() == 0
    want = ('record 3 of 4 (source partition {"filename":"%s"}, offset {"position":20009}): '
            'stage KAFKA_PRODUCE: Broker: Message size too large' % src)
    assert traces["fast"].startswith(want), traces["fast"]
    assert traces["made"].startswith(want), traces["made"]
    for name in ("fast", "made"):
        assert [r["value"] for r in dump_topic(kafka, f"{base}-{name}")] == [b'"one"', b'"two"']


BAD_LINE_SOURCE = """local connect = require "luaconnect"
return connect.source {
  config = { topic = { type = "string", required = true }, mode = { type = "string" } },
  poll_lines = function(task)
    if task.done then return nil end
    task.done = true
    if task.config.mode == "records" then
      return { { topic = task.config.topic, value = "a record, not lines" } }
    elseif task.config.mode == "no info" then
      return "one\\n"
    end
    return "one\\ntwo\\n", { topic = task.config.topic, source_partition = { f = "x" },
      position = 1.5 }
  end,
}
"""


def test_a_line_source_that_breaks_its_contract_fails_its_own_task(kafka, tmp_path):
    """poll_lines() returning records, lines without what they share, or a source offset
    position that is not an integer:
    the task fails with the reason, the worker and the other connectors go on."""
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "bad_lines.lua").write_text(BAD_LINE_SOURCE)
    src = tmp_path / "in.txt"
    src.write_bytes(b"fine\n")
    base = unique_topic("lc-lines-bad")
    conns = [{"name": "records", "connector.class": "bad_lines", "topic": f"{base}-r", "mode": "records"},
             {"name": "fraction", "connector.class": "bad_lines", "topic": f"{base}-f"},
             {"name": "noinfo", "connector.class": "bad_lines", "topic": f"{base}-n", "mode": "no info"},
             {"name": "good", "connector.class": "FileStreamSource", "file": str(src),
              "topic": f"{base}-good"}]
    w = Worker(tmp_path, kafka, conns, worker={"plugin.path": str(plugins)})
    with w:
        for name in ("records", "fraction", "noinfo"):
            wait_for(lambda: (w.status(name, 0) or ("",))[0] == "FAILED", 60, f"{name} to fail", w.log)
        wait_for(lambda: len(dump_topic(kafka, f"{base}-good")) == 1, 60, "the good source's line",
                 w.log)
        traces = {name: w.status(name, 0)[1] for name in ("records", "fraction", "noinfo")}
        assert w.status("good", 0)[0] == "RUNNING"
        assert w.stop() == 0
    assert "poll_lines() returned a table; it returns a string of lines or a " \
           "connect.line_buffer()" in traces["records"], traces["records"]
    assert "poll_lines() gave a source_partition without a position (an integer, 0 or more), " \
           "got 1.5" in traces["fraction"], traces["fraction"]
    assert "poll_lines() returned no table of what its lines share ({topic, source_partition, " \
           "offset_field, position}) after the lines, got nil" in traces["noinfo"], traces["noinfo"]
