"""A sink's text chain: when a sink declares lazy_values (FileStreamSink does) and every
transform of its chain has a text edit (InsertField$Value, ReplaceField$Value, RegexRouter;
predicates TopicNameMatches and RecordIsTombstone), the worker edits each schemaless JSON
object value as text (lua/json_canon.c lc_json_edit) and neither decodes it nor runs the Lua
chain on it. What the sink writes must be byte for byte what the Lua chain gives.

Each connector runs twice over the same topic: as is, and with a user transform at the end
that returns its record unchanged but has no text edit, which makes the worker decode every
value and run the whole chain in Lua (the way every chain ran before). Both files must be
equal, line for line."""

from __future__ import annotations

import re
import urllib.request

from conftest import kcat_produce, unique_topic
from kafka_records import create_topic
from worker import Worker, file_lines, wait_for

NOOP = """local connect = require "luaconnect"
return connect.transform {
  doc = "returns its record unchanged; it has no text edit, so the chain runs in Lua",
  apply = function(record) return record end,
}
"""

# A lazy sink that writes each record's topic, then its value as JSON: put() reads
# record.topic (the chain's topic), and with touch = true also reads and changes record.value
# (decoded from the edited text on first read).
TOPIC_LINES = r"""
local connect = require "luaconnect"
return connect.sink {
  lazy_values = true,
  config = { file = { type = "string", required = true },
             touch = { type = "boolean", default = false } },
  open = function(task) task.f = assert(io.open(task.config.file, "ab")) end,
  put = function(task, records)
    local out = {}
    for i, r in ipairs(records) do
      if task.config.touch and type(r.value) == "table" then r.value.seen = r.offset end
      out[i] = r.topic .. "\t" .. connect.json.encode(r.value) .. "\n"
    end
    task.f:write(table.concat(out))
    task.f:flush()
  end,
  close = function(task) task.f:close() end,
}
"""

VALUES = [
    '{"id":1,"name":"user-000001","email":"u1@example.com","debug":false,"score":1.5,"n":[1,2]}',
    '  {"name" : "spaced" , "debug":true, "z":{"b":[{"y":1,"x":2}],"a":null}}  ',
    '{"source":"overwritten","full_name":"also overwritten","name":"moved"}',
    '{"big":9007199254740993,"neg":-9223372036854775808,"small":5e-324,"f":1.0,"e":1e2,"nz":-0}',
    '{"line":"tab\\there \\u00e9 \\ud83d\\ude00 \\/ \\u0001","é":"中文"}',
    '{}',
    '{"esc\\u0061ped key":1,"name":"escaped"}',  # an escaped key: the Lua chain runs
    '{"dup":1,"dup":2,"name":"dup"}',            # a key given twice: the Lua chain runs
    '[1,"two",{"b":2,"a":1}]',                   # not an object: the Lua chain runs (and fails)
    '"just a string"',
    'null',
    'not json at all',                           # the converter's error
    '{"after":"the bad ones","debug":1}',
]

# InsertField (static, topic, partition, offset, timestamp), ReplaceField (exclude, renames
# onto an existing field), RegexRouter, then InsertField under predicates (on the routed
# topic; on not-a-tombstone)
CHAIN_A = {
    "transforms": "ins,repl,route,tagged,objects",
    "transforms.ins.type": "org.apache.kafka.connect.transforms.InsertField$Value",
    "transforms.ins.static.field": "source",
    "transforms.ins.static.value": "bench \"quoted\" é",
    "transforms.ins.topic.field": "from_topic",
    "transforms.ins.partition.field": "p",
    "transforms.ins.offset.field": "o!",
    "transforms.repl.type": "org.apache.kafka.connect.transforms.ReplaceField$Value",
    "transforms.repl.exclude": "debug",
    "transforms.repl.renames": "name:full_name,id:name",
    "transforms.route.type": "org.apache.kafka.connect.transforms.RegexRouter",
    "transforms.route.regex": "(.*)-raw",
    "transforms.route.replacement": "$1-clean",
    "transforms.tagged.type": "org.apache.kafka.connect.transforms.InsertField$Value",
    "transforms.tagged.static.field": "clean",
    "transforms.tagged.static.value": "yes",
    "transforms.tagged.predicate": "isclean",
    "transforms.objects.type": "org.apache.kafka.connect.transforms.InsertField$Value",
    "transforms.objects.topic.field": "routed",
    "transforms.objects.predicate": "tomb",
    "transforms.objects.negate": "true",
    "predicates": "isclean,tomb",
    "predicates.isclean.type": "org.apache.kafka.connect.transforms.predicates.TopicNameMatches",
    "predicates.isclean.pattern": ".*-clean",
    "predicates.tomb.type": "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone",
}

# ReplaceField's include list (with an exclude that wins over it), then the record's
# timestamp; a predicate that never matches
CHAIN_B = {
    "transforms": "keep,ts,never",
    "transforms.keep.type": "org.apache.kafka.connect.transforms.ReplaceField$Value",
    "transforms.keep.include": "name,score,z,debug,full_name",
    "transforms.keep.exclude": "debug",
    "transforms.keep.renames": "score:points",
    "transforms.ts.type": "org.apache.kafka.connect.transforms.InsertField$Value",
    "transforms.ts.timestamp.field": "ts",
    "transforms.never.type": "org.apache.kafka.connect.transforms.InsertField$Value",
    "transforms.never.static.field": "never",
    "transforms.never.static.value": "x",
    "transforms.never.predicate": "nomatch",
    "predicates": "nomatch",
    "predicates.nomatch.type": "org.apache.kafka.connect.transforms.predicates.TopicNameMatches",
    "predicates.nomatch.pattern": "nothing-.*",
}


def with_noop(chain):
    """The chain with the pass-through transform after it: every value decoded, the chain in Lua."""
    out = dict(chain)
    out["transforms"] = chain["transforms"] + ",noop"
    out["transforms.noop.type"] = "noop"
    return out


def metric(text, name, connector):
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") and f'connector="{connector}"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_text_chain_writes_what_the_lua_chain_gives(kafka, tmp_path):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "noop.lua").write_text(NOOP)
    (plugins / "topic_lines.lua").write_text(TOPIC_LINES)
    topic = unique_topic("lc-text") + "-raw"
    create_topic(kafka, topic, 1)
    rounds = 40  # 520 records: several batches, and the sampled record of the first one
    kcat_produce(kafka, topic, VALUES * rounds)
    common = {"topics": topic, "errors.tolerance": "all", "errors.log.enable": "true"}
    cases = {
        "file_a": ("FileStreamSink", CHAIN_A, {}),
        "file_b": ("FileStreamSink", CHAIN_B, {}),
        "topics_a": ("topic_lines", CHAIN_A, {}),
        "touch_a": ("topic_lines", CHAIN_A, {"touch": "true"}),
    }
    conns, outs = [], {}
    for name, (cls, chain, extra) in cases.items():
        for variant, ch in ((name, chain), (name + "_lua", with_noop(chain))):
            outs[variant] = tmp_path / f"{variant}.txt"
            conns.append({"name": variant, "connector.class": cls, "file": str(outs[variant]),
                          **common, **ch, **extra})
    # per round: 9 objects (the escaped and duplicated keys too), the array and the string fail
    # InsertField$Value, null is a tombstone (InsertField returns it), one text is not JSON
    want = {"a": 10 * rounds, "b": 10 * rounds}
    w = Worker(tmp_path, kafka, conns, worker={"plugin.path": str(plugins),
                                               "value.converter.schemas.enable": "false"})
    with w:
        for variant, out in outs.items():
            n = want[variant.split("_")[1]]
            wait_for(lambda: len(file_lines(out)) == n, 90, f"{n} lines in {out.name}", w.log)
        # the transforms' time metrics come from the records the chain ran on in Lua (the
        # page is refreshed at each offset commit)
        url = w.url() + "/metrics"
        sampled = {}

        def timed():
            page = urllib.request.urlopen(url, timeout=30).read().decode()
            for name in ("file_a", "file_b", "file_a_lua"):
                sampled[name] = metric(page, "luaconnect_transform_sampled_records_total", name)
            return all(sampled.values())
        wait_for(timed, 30, "transform time samples", w.log)
        assert w.stop() == 0
    for name in cases:
        assert file_lines(outs[name]) == file_lines(outs[name + "_lua"]), name

    a = file_lines(outs["file_a"])
    routed = topic[:-4] + "-clean"
    assert a[0] == ('{"clean":"yes","email":"u1@example.com","from_topic":"%s",'
                    '"full_name":"user-000001","n":[1,2],"name":1,"o":0,"p":0,"routed":"%s",'
                    '"score":1.5,"source":"bench \\"quoted\\" é"}' % (topic, routed)).encode()
    assert b'"full_name":"moved"' in a[2] and b"overwritten" not in a[2]
    assert a[3].startswith(b'{"big":9007199254740993,"clean":"yes","e":100.0,"f":1.0,')
    assert b'"nz":0,' in a[3] and b'"small":4.9E-324' in a[3]
    assert b'"escaped key":1' in a[6] and b'"dup":2' in a[7]
    assert a[8] == b"null"  # the tombstone: InsertField returns it as it is
    # the routed topic, and the records put() read and changed
    t = file_lines(outs["topics_a"])
    assert all(line.startswith(routed.encode() + b"\t") for line in t)
    assert t[0].split(b"\t", 1)[1] == a[0]
    touched = file_lines(outs["touch_a"])
    assert b'"routed":"%s","seen":1,"source"' % routed.encode() in touched[1]
    b = file_lines(outs["file_b"])
    assert re.fullmatch(rb'\{"name":"user-000001","points":1\.5,"ts":\d{13}\}', b[0]), b[0]
    assert re.fullmatch(rb'\{"name":"spaced","ts":\d{13},"z":\{"a":null,"b":\[\{"x":2,"y":1\}\]\}\}',
                        b[1]), b[1]
    # in Lua: the record of the first batch left to the chain to be timed (5 transforms),
    # and one in 256 of the 200 the edit declines (the first of them is that one)
    assert 5 <= sampled["file_a"] <= 10, sampled
    assert 0 < sampled["file_a_lua"] <= 6 * 3, sampled
