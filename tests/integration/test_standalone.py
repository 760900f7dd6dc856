"""The standalone worker end to end on a real Kafka broker: file -> Kafka -> file,
restarts, kill -9, a failing script next to a healthy connector."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import kcat_consume, kcat_consume_records, kcat_produce, unique_topic, release_round_only
from kafka_records import create_topic
from worker import Worker, file_lines, wait_for

SANITIZER = os.environ.get("LC_SANITIZER") == "1"


def pipeline(tmp: Path, topic: str, src: Path, dst: Path, name: str = "p"):
    return [
        {"name": f"{name}-source", "connector.class": "FileStreamSource", "tasks.max": "1",
         "file": str(src), "topic": topic},
        {"name": f"{name}-sink", "connector.class": "org.apache.kafka.connect.file.FileStreamSinkConnector",
         "tasks.max": "1", "file": str(dst), "topics": topic},
    ]


def special_lines(n: int):
    lines = []
    for i in range(n):
        if i % 1000 == 1:
            lines.append(b"")
        elif i % 1000 == 2:
            lines.append('é 中文 🙂 "quoted" \'single\' back\\slash \\\\ {"json":true}'.encode())
        elif i % 1000 == 3:
            lines.append(b"\ttabs\tand  spaces  ")
        else:
            lines.append(b"line %07d %s" % (i, b"x" * (i % 50)))
    return lines


def test_100k_lines_file_to_kafka_to_file_byte_identical(kafka, tmp_path):
    topic = unique_topic("lc-100k")
    src, dst = tmp_path / "in.txt", tmp_path / "out.txt"
    lines = special_lines(100_000)
    lines[50_000] = b"M" * 1_000_000  # a 1 MB line
    src.write_bytes(b"".join(l + b"\n" for l in lines))
    w = Worker(tmp_path, kafka, pipeline(tmp_path, topic, src, dst),
               worker={"producer.message.max.bytes": "2000000"})
    with w:
        wait_for(lambda: dst.exists() and dst.stat().st_size >= src.stat().st_size, 240,
                 "the sink file to hold every line", w.log)
        assert w.stop() == 0, w.log()[-3000:]
    assert dst.read_bytes() == src.read_bytes()
    # The topic holds exactly one record per line, Kafka Connect's envelope, in order.
    recs = kcat_consume_records(kafka, topic, 100_000, timeout=60)
    assert len(recs) == 100_000
    assert json.loads(recs[2]["value"]) == {"schema": {"type": "string", "optional": False},
                                            "payload": lines[2].decode()}
    assert recs[2]["value"].startswith(b'{"schema":{"type":"string","optional":false},"payload":')
    assert [json.loads(r["value"])["payload"].encode() for r in recs[:1000]] == lines[:1000]
    # Offsets are stored in Kafka Connect's format, at the end of the file.
    assert w.source_offset("p-source", {"filename": str(src)}) == {"position": src.stat().st_size}


def test_stop_and_restart_resumes_without_loss_or_duplicates(kafka, tmp_path):
    topic = unique_topic("lc-restart")
    src, dst = tmp_path / "in.txt", tmp_path / "out.txt"
    first = [b"first %d" % i for i in range(20_000)]
    src.write_bytes(b"".join(l + b"\n" for l in first))
    w = Worker(tmp_path, kafka, pipeline(tmp_path, topic, src, dst))
    with w:
        wait_for(lambda: len(file_lines(dst)) >= len(first), 120, "first half", w.log)
        assert w.stop() == 0
    second = [b"second %d" % i for i in range(20_000)]
    with open(src, "ab") as f:
        f.write(b"".join(l + b"\n" for l in second))
    with w.start():
        wait_for(lambda: len(file_lines(dst)) >= len(first) + len(second), 120, "second half", w.log)
        time.sleep(1.5)  # anything doubled would arrive now
        assert w.stop() == 0
    assert file_lines(dst) == first + second
    assert "resuming" in w.log()


@release_round_only("kill -9 of a worker mid-stream")
def test_kill_9_mid_stream_loses_nothing(kafka, tmp_path):
    topic = unique_topic("lc-kill")
    src, dst = tmp_path / "in.txt", tmp_path / "out.txt"
    n = 300_000
    lines = [b"%07d" % i for i in range(n)]
    src.write_bytes(b"")

    def append_slowly():  # the file grows while the worker runs, like a live log
        with open(src, "ab") as f:
            for i in range(0, n, 1000):
                f.write(b"".join(l + b"\n" for l in lines[i:i + 1000]))
                f.flush()
                time.sleep(0.02)

    writer = threading.Thread(target=append_slowly)
    w = Worker(tmp_path, kafka, pipeline(tmp_path, topic, src, dst),
               worker={"offset.flush.interval.ms": "500",
                       # the killed member leaves the group only when its session expires
                       "consumer.session.timeout.ms": "6000",
                       "consumer.heartbeat.interval.ms": "1000"})
    w.start()
    writer.start()
    wait_for(lambda: len(file_lines(dst)) >= 20_000
             and w.source_offset("p-source", {"filename": str(src)}) is not None,
             120, "the pipeline to be mid-stream with an offset committed", w.log)
    w.kill()
    committed = w.source_offset("p-source", {"filename": str(src)})
    assert committed is not None, "no source offset was committed before the kill"
    resumed_at = committed["position"] // 8  # each line is 8 bytes
    assert writer.is_alive(), "the kill came too late to test anything"
    w.start()
    writer.join()
    wait_for(lambda: file_lines(dst)[-1:] == [lines[-1]], 180, "the last line after restart", w.log)
    time.sleep(1.5)
    assert w.stop() == 0

    # The topic: everything once, then a resend that starts exactly at the committed offset.
    topic_vals = [json.loads(v)["payload"].encode() for v in kcat_consume(kafka, topic, 2 * n, timeout=30)]
    first_dup = next((i for i in range(1, len(topic_vals)) if topic_vals[i] <= topic_vals[i - 1]), None)
    if first_dup is None:
        assert topic_vals == lines
    else:
        assert topic_vals[:first_dup] == lines[:first_dup]
        assert topic_vals[first_dup:] == lines[resumed_at:], "resend did not start at the committed offset"
    # The sink file: the topic once, with at most one replayed stretch (uncommitted sink batch).
    out = file_lines(dst)
    assert set(out) == set(lines)
    back = [i for i in range(1, len(out)) if out[i] <= out[i - 1]]
    assert len(back) <= 2, f"order broken at {back[:5]}"


def test_lua_error_fails_only_its_task(kafka, tmp_path):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "flaky_source.lua").write_text(
        'local connect = require "luaconnect"\n'
        "return connect.source {\n"
        '  config = { topic = { type = "string", required = true } },\n'
        "  open = function(task) task.n = 0 end,\n"
        "  poll = function(task)\n"
        "    task.n = task.n + 1\n"
        '    if task.n > 3 then error("sensor offline") end\n'
        '    return { { topic = task.config.topic, value = "tick " .. task.n } }\n'
        "  end,\n"
        "}\n")
    topic, flaky_topic = unique_topic("lc-good"), unique_topic("lc-flaky")
    src, dst = tmp_path / "in.txt", tmp_path / "out.txt"
    src.write_bytes(b"before\n")
    conns = pipeline(tmp_path, topic, src, dst) + [
        {"name": "flaky", "connector.class": "flaky_source", "topic": flaky_topic}]
    w = Worker(tmp_path, kafka, conns, worker={"plugin.path": str(plugins)})
    with w:
        wait_for(lambda: (w.status("flaky", 0) or ("",))[0] == "FAILED", 60, "flaky to fail", w.log)
        state, trace = w.status("flaky", 0)
        assert "flaky_source.lua:7: sensor offline" in trace
        assert "stack traceback" in trace
        assert "stage TASK_POLL" in trace
        with open(src, "ab") as f:
            f.write(b"after the failure\n")
        wait_for(lambda: file_lines(dst) == [b"before", b"after the failure"], 60,
                 "the healthy pipeline to go on", w.log)
        assert w.status("p-source", 0)[0] == "RUNNING"
        assert w.alive()
        assert w.stop() == 0
    assert [json.loads(v)["payload"] for v in kcat_consume(kafka, flaky_topic, 3)] == ["tick 1", "tick 2", "tick 3"]
    assert "task FAILED" in w.log()


def test_kafka_example_files_run_unchanged_apart_from_paths(kafka, tmp_path):
    """connect-standalone.properties, connect-file-source/sink.properties as shipped with Kafka."""
    examples = Path(__file__).resolve().parents[2] / "examples" / "kafka-quickstart"
    (tmp_path / "test.txt").write_text("foo\nbar\n")
    worker = (examples / "connect-standalone.properties").read_text()
    worker = worker.replace("localhost:9092", kafka).replace("/tmp/connect.offsets", str(tmp_path / "connect.offsets"))
    worker += "offset.flush.interval.ms=1000\n"
    worker += "listeners=http://127.0.0.1:0\n"  # other test files run at the same time: 8083 may be taken
    (tmp_path / "connect-standalone.properties").write_text(worker)
    topic = unique_topic("connect-test")
    for name in ("connect-file-source.properties", "connect-file-sink.properties"):
        text = (examples / name).read_text().replace("connect-test", topic)
        (tmp_path / name).write_text(text)
    import subprocess
    from conftest import luaconnect_bin
    log = open(tmp_path / "log", "wb")
    proc = subprocess.Popen([str(luaconnect_bin()), "standalone", "connect-standalone.properties",
                             "connect-file-source.properties", "connect-file-sink.properties"],
                            cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: (tmp_path / "test.sink.txt").exists()
                 and (tmp_path / "test.sink.txt").read_text() == "foo\nbar\n", 60, "test.sink.txt",
                 lambda: (tmp_path / "log").read_text())
    finally:
        proc.terminate()
        assert proc.wait(60) == 0
    assert kcat_consume(kafka, topic, 2) == [b'{"schema":{"type":"string","optional":false},"payload":"foo"}',
                                             b'{"schema":{"type":"string","optional":false},"payload":"bar"}']


def test_sink_drains_a_backlog_through_a_small_prefetch_queue_exactly_once(kafka, tmp_path):
    """A backlog 40 times the sink consumer's prefetch queue, in record batches of 500 fetched
    one at a time (consumer.override.* wins over the worker's defaults; the byte limit binds
    as well as the count): the sink wakes librdkafka's fetcher each time the full queue
    drained (core/prefetch.c; without it each fetch waits up to 1 s), and every record
    reaches the file once, in order."""
    topic, dst = unique_topic("lc-prefetch"), tmp_path / "out.txt"
    values = [f"r{i:06d} " + "x" * 90 for i in range(20000)]
    p = subprocess.run(["kcat", "-q", "-b", kafka, "-P", "-t", topic, "-p", "0", "-X", "acks=all",
                        "-X", "batch.num.messages=500"],  # a fetch returns at least one batch
                       input="".join(v + "\n" for v in values).encode(), capture_output=True,
                       timeout=60)
    assert p.returncode == 0 and b"ERROR" not in p.stderr, p.stderr.decode(errors="replace")
    string = "org.apache.kafka.connect.storage.StringConverter"
    w = Worker(tmp_path, kafka, [{"name": "drain", "connector.class": "FileStreamSink",
                                  "tasks.max": "1", "file": str(dst), "topics": topic,
                                  "consumer.override.queued.min.messages": "500",
                                  "consumer.override.queued.max.messages.kbytes": "40",
                                  "consumer.override.max.partition.fetch.bytes": "65536"}],
               worker={"key.converter": string, "value.converter": string})
    with w:
        wait_for(lambda: len(file_lines(dst)) >= len(values), 120, "every record in the file",
                 w.log)
        assert w.status("drain", 0)[0] == "RUNNING"
        assert w.stop() == 0
    assert [line.decode() for line in file_lines(dst)] == values


def test_four_sink_tasks_share_the_prefetch_and_deliver_every_record_once(kafka, tmp_path):
    """A 4-partition backlog read by FileStreamSink with tasks.max=4: the tasks share the
    connector's prefetch (12,500 records a task instead of 50,000; core/kafka.c), each
    partition holds more than that, so every task's queue fills and is woken when it
    drained. Every record reaches the one file once, and each partition's records in order."""
    topic, dst = unique_topic("lc-share"), tmp_path / "out.txt"
    create_topic(kafka, topic, 4)
    per = 30000
    for part in range(4):
        values = "".join(f"p{part}-{i:06d} " + "x" * 80 + "\n" for i in range(per))
        p = subprocess.run(["kcat", "-q", "-b", kafka, "-P", "-t", topic, "-p", str(part),
                            "-X", "acks=all"], input=values.encode(), capture_output=True, timeout=60)
        assert p.returncode == 0 and b"ERROR" not in p.stderr, p.stderr.decode(errors="replace")
    string = "org.apache.kafka.connect.storage.StringConverter"
    w = Worker(tmp_path, kafka, [{"name": "shared", "connector.class": "FileStreamSink",
                                  "tasks.max": "4", "file": str(dst), "topics": topic}],
               worker={"key.converter": string, "value.converter": string})
    with w:
        wait_for(lambda: len(file_lines(dst)) >= 4 * per, 180, "every record in the file", w.log)
        assert [w.status("shared", t)[0] for t in range(4)] == ["RUNNING"] * 4
        assert w.stop() == 0
    lines = [line.decode() for line in file_lines(dst)]
    assert len(lines) == 4 * per and len(set(lines)) == 4 * per
    for part in range(4):
        mine = [line.split(" ")[0] for line in lines if line.startswith(f"p{part}-")]
        assert mine == [f"p{part}-{i:06d}" for i in range(per)], f"partition {part} out of order"


def test_64_bit_integers_and_floats_survive_kafka(kafka, tmp_path):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "numbers.lua").write_text(
        'local connect = require "luaconnect"\n'
        "return connect.source {\n"
        '  config = { topic = { type = "string", required = true } },\n'
        "  poll = function(task)\n"
        "    if task.done then return nil end\n"
        "    task.done = true\n"
        '    return { { topic = task.config.topic, key = "k", value = connect.json.decode(\'{"big":9007199254740993,"f":1.0,"g":0.1,"neg":-9223372036854775808,"s":"x","n":null}\') } }\n'
        "  end,\n"
        "}\n")
    topic = unique_topic("lc-num")
    dst = tmp_path / "out.txt"
    conns = [{"name": "num", "connector.class": "numbers", "topic": topic},
             {"name": "num-sink", "connector.class": "FileStreamSink", "file": str(dst), "topics": topic}]
    w = Worker(tmp_path, kafka, conns, worker={"plugin.path": str(plugins),
                                               "value.converter.schemas.enable": "false",
                                               "key.converter": "org.apache.kafka.connect.storage.StringConverter"})
    with w:
        wait_for(lambda: len(file_lines(dst)) == 1, 60, "the record in the sink file", w.log)
        assert w.stop() == 0
    expected = b'{"big":9007199254740993,"f":1.0,"g":0.1,"n":null,"neg":-9223372036854775808,"s":"x"}'
    assert file_lines(dst) == [expected]
    rec = kcat_consume_records(kafka, topic, 1)[0]
    assert rec["key"] == b"k"
    assert json.loads(rec["value"]) == {"big": 9007199254740993, "f": 1.0, "g": 0.1, "n": None,
                                        "neg": -9223372036854775808, "s": "x"}
    assert b"9007199254740993" in rec["value"] and b'"f":1.0' in rec["value"]


def test_embedded_kafka_pipeline(tmp_path):
    src, dst = tmp_path / "in.txt", tmp_path / "out.txt"
    src.write_text("hello\nembedded\n")
    w = Worker(tmp_path, None, pipeline(tmp_path, "embedded-test", src, dst), embedded=True)
    with w:
        wait_for(lambda: file_lines(dst) == [b"hello", b"embedded"], 60, "the sink file", w.log)
        assert w.stop() == 0
    first = w.log().splitlines()[0]
    assert first.startswith("embedded Kafka at 127.0.0.1:") or first.startswith("embedded Kafka at localhost:")


def test_user_transform_chain_with_predicate(kafka, tmp_path):
    """transforms=a,b with a user transform and a user predicate (negated), source side and
    sink side, through real Kafka."""
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "tag.lua").write_text(
        'local connect = require "luaconnect"\n'
        "return connect.transform {\n"
        '  config = { prefix = { type = "string", required = true } },\n'
        "  apply = function(r, cfg) r.value = cfg.prefix .. r.value; return r end,\n"
        "}\n")
    (plugins / "drop_comments.lua").write_text(
        'local connect = require "luaconnect"\n'
        "return connect.transform { apply = function(r) return nil end }\n")
    (plugins / "is_comment.lua").write_text(
        'local connect = require "luaconnect"\n'
        "return connect.predicate { test = function(r) return r.value:sub(1, 1) == '#' end }\n")
    topic = unique_topic("lc-chain")
    src, dst = tmp_path / "in.txt", tmp_path / "out.txt"
    src.write_text("one\n# a comment\ntwo\n")
    conns = pipeline(tmp_path, topic, src, dst)
    conns[0].update({"transforms": "dropc,tag", "transforms.dropc.type": "drop_comments",
                     "transforms.dropc.predicate": "comment", "predicates": "comment",
                     "predicates.comment.type": "is_comment",
                     "transforms.tag.type": "tag", "transforms.tag.prefix": "src:"})
    conns[1].update({"transforms": "tag", "transforms.tag.type": str(plugins / "tag.lua"),
                     "transforms.tag.prefix": "sink:"})
    w = Worker(tmp_path, kafka, conns, worker={"plugin.path": str(plugins)})
    with w:
        wait_for(lambda: len(file_lines(dst)) >= 2, 60, "the sink file", w.log)
        time.sleep(1)
        assert w.stop() == 0
    assert file_lines(dst) == [b"sink:src:one", b"sink:src:two"]
    assert [json.loads(v)["payload"] for v in kcat_consume(kafka, topic, 2)] == ["src:one", "src:two"]


# A sink like FileStreamSink that may read, replace or clear record.value before its lines
# are written; LAZY is replaced by true or false (lazy_values).
_LINES_SINK = r'''
local connect = require "luaconnect"
local json_lines = connect.json.lines
return connect.sink {
  lazy_values = LAZY,
  config = { file = { type = "string", required = true }, touch = { type = "boolean", default = false } },
  open = function(task) task.f = assert(io.open(task.config.file, "ab")) end,
  put = function(task, records)
    if task.config.touch then
      for _, r in ipairs(records) do
        local k = r.offset % 6
        if k == 0 then r.value = { replaced = r.offset }
        elseif k == 1 then r.value = nil
        elseif k == 2 and type(r.value) == "table" then r.value.seen = r.offset
        elseif k == 3 then local _ = r.value
        elseif k == 4 then r.value = { key = r.key, ks = r.key_schema and r.key_schema.type, t = r.topic ~= nil }
        end
      end
    end
    local text = json_lines(records)
    if not text then
      local lines = {}
      for _, r in ipairs(records) do lines[#lines + 1] = connect.json.encode(r.value) .. "\n" end
      text = table.concat(lines)
    end
    task.f:write(text)
    task.f:flush()
  end,
  close = function(task) task.f:close() end,
}
'''


def test_json_values_written_undecoded_match_decoded_ones(kafka, tmp_path):
    """FileStreamSink writes a schemaless JSON object's line straight from the message text
    (lazy_values, lua/json_canon.c): byte for byte the line a decode then an encode give,
    for every shape, with the records it cannot write that way decoded as before, and a
    record.value that put() reads or changes behaving as if it had been decoded."""
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "eager_lines.lua").write_text(_LINES_SINK.replace("LAZY", "false"))
    (plugins / "lazy_lines.lua").write_text(_LINES_SINK.replace("LAZY", "true"))
    values = [
        '{"b":1,"a":"x","c":{"z":null,"y":[1,2.5,{"q":true,"p":false}]},"d":[]}',
        '  {"line":"tab\\there \\u00e9 \\ud83d\\ude00 \\/ \\u0001","n":-0,"f":1.0,"e":1e2} ',
        '{"big":9007199254740993,"neg":-9223372036854775808,"small":5e-324,"g":0.1}',
        '{"esc\\u0061ped key":1,"a":2}',   # an escaped key: decoded as before
        '{"dup":1,"dup":2}',               # a key given twice: decoded as before
        '{"é":"中文","ab":{},"a":{"b":{"c":{"d":"deep"}}}}',
        '[1,"two",{"b":2,"a":1}]',         # not an object
        '"just a string"',
        '12.5',
        'not json at all',                 # the converter's error: skipped with tolerance=all
        '{"unterminated":',
        '{"after":"the bad ones"}',
    ] * 5
    topic = unique_topic("lc-lazy")
    keys = ['{"schema":{"type":"string","optional":false},"payload":"k%d"}' % i
            for i in range(len(values))]
    kcat_produce(kafka, topic, values, keys=keys)
    # a topic of objects only: every batch is lazy throughout (connect.json.lines' one-call path)
    plain_topic = unique_topic("lc-lazy-plain")
    plain = ['{"s":"%s","n":%d,"b":%s,"z":null,"f":%d.5}' % ("x" * (i % 40), i, str(i % 2 == 0).lower(), i)
             for i in range(300)]
    kcat_produce(kafka, plain_topic, plain)
    outs = {name: tmp_path / f"{name}.txt" for name in
            ("file", "eager", "lazy", "eager_touch", "lazy_touch", "file_plain", "eager_plain")}
    common = {"topics": topic, "errors.tolerance": "all", "errors.log.enable": "true"}
    conns = [
        {"name": "file", "connector.class": "FileStreamSink", "file": str(outs["file"]), **common},
        {"name": "eager", "connector.class": "eager_lines", "file": str(outs["eager"]), **common},
        {"name": "lazy", "connector.class": "lazy_lines", "file": str(outs["lazy"]), **common},
        {"name": "eager_touch", "connector.class": "eager_lines", "file": str(outs["eager_touch"]),
         "touch": "true", **common},
        {"name": "lazy_touch", "connector.class": "lazy_lines", "file": str(outs["lazy_touch"]),
         "touch": "true", **common},
        {"name": "file_plain", "connector.class": "FileStreamSink", "file": str(outs["file_plain"]),
         "topics": plain_topic},
        {"name": "eager_plain", "connector.class": "eager_lines", "file": str(outs["eager_plain"]),
         "topics": plain_topic},
    ]
    good = len(values) - 10  # two bad texts in each of the 5 rounds
    want = {name: len(plain) if name.endswith("_plain") else good for name in outs}
    w = Worker(tmp_path, kafka, conns, worker={"plugin.path": str(plugins),
                                               "value.converter.schemas.enable": "false"})
    with w:
        for name, out in outs.items():
            wait_for(lambda: len(file_lines(out)) == want[name], 60, f"{want[name]} lines in {out.name}",
                     w.log)
        assert w.stop() == 0
    eager = file_lines(outs["eager"])
    assert eager[:9] == [
        b'{"a":"x","b":1,"c":{"y":[1,2.5,{"p":false,"q":true}],"z":null},"d":[]}',
        '{"e":100.0,"f":1.0,"line":"tab\\there é 😀 / \\u0001","n":0}'.encode(),
        b'{"big":9007199254740993,"g":0.1,"neg":-9223372036854775808,"small":4.9E-324}',
        b'{"a":2,"escaped key":1}',
        b'{"dup":2}',
        '{"a":{"b":{"c":{"d":"deep"}}},"ab":{},"é":"中文"}'.encode(),
        b'[1,"two",{"a":1,"b":2}]',
        b"just a string",
        b"12.5",
    ]
    assert eager[9] == b'{"after":"the bad ones"}'
    assert file_lines(outs["file"]) == eager
    assert file_lines(outs["lazy"]) == eager
    plain_lines = file_lines(outs["eager_plain"])
    assert plain_lines[3] == b'{"b":false,"f":3.5,"n":3,"s":"xxx","z":null}'
    assert file_lines(outs["file_plain"]) == plain_lines
    touched = file_lines(outs["eager_touch"])
    assert file_lines(outs["lazy_touch"]) == touched
    assert touched[0] == b'{"replaced":0}' and touched[1] == b"null"
    assert touched[:5] == [b'{"replaced":0}', b"null",
                           b'{"big":9007199254740993,"g":0.1,"neg":-9223372036854775808,'
                           b'"seen":2,"small":4.9E-324}',
                           b'{"a":2,"escaped key":1}',
                           b'{"key":"k4","ks":"string","t":true}']


def test_sink_begins_at_the_committed_offset_or_at_auto_offset_reset(kafka, tmp_path):
    """Each assigned partition begins at the group's committed offset; one without begins at
    auto.offset.reset's position: earliest, Connect's default for sinks, reads what was there
    before; latest only what was written after the assignment. The worker looks the offsets up
    itself before it assigns (core/sink_task.c start_offsets) and logs where each begins."""
    topic = unique_topic("lc-begin")
    create_topic(kafka, topic, 2)
    keys = [f"k{i}" for i in range(10)]  # spread over both partitions
    before = [f"before {i}" for i in range(10)]
    kcat_produce(kafka, topic, before, keys=keys)
    early, late = tmp_path / "early.txt", tmp_path / "late.txt"
    string = "org.apache.kafka.connect.storage.StringConverter"
    w = Worker(tmp_path, kafka, [
        {"name": "early", "connector.class": "FileStreamSink", "tasks.max": "1",
         "file": str(early), "topics": topic},
        {"name": "late", "connector.class": "FileStreamSink", "tasks.max": "1",
         "file": str(late), "topics": topic, "consumer.override.auto.offset.reset": "latest"}],
        worker={"key.converter": string, "value.converter": string})

    def lines(path):
        return sorted(line.decode() for line in file_lines(path))

    def begun(n):
        return lambda: w.log().count(f"{topic}-0 begins at offset") + \
            w.log().count(f"{topic}-1 begins at offset") >= n
    after = [f"after {i}" for i in range(10)]
    more = [f"more {i}" for i in range(10)]
    with w:
        wait_for(begun(4), 60, "both sinks' partitions to begin", w.log)
        log = w.log()
        assert log.count("(no committed offset; auto.offset.reset=earliest)") == 2, log[-3000:]
        assert log.count("(no committed offset; auto.offset.reset=latest)") == 2, log[-3000:]
        kcat_produce(kafka, topic, after, keys=keys)
        wait_for(lambda: len(file_lines(early)) >= 20 and len(file_lines(late)) >= 10, 60,
                 "the records in both files", w.log)
        assert w.stop() == 0, w.log()[-3000:]
    assert lines(early) == sorted(before + after)
    assert lines(late) == sorted(after)
    kcat_produce(kafka, topic, more, keys=keys)
    with w.start():
        wait_for(begun(8), 60, "both sinks' partitions to begin again", w.log)
        assert w.log().count("begins at offset") == 8
        assert w.log().count("(committed)") == 4, w.log()[-3000:]
        wait_for(lambda: len(file_lines(early)) >= 30 and len(file_lines(late)) >= 20, 60,
                 "the new records in both files", w.log)
        time.sleep(1.5)  # anything doubled would arrive now
        assert w.stop() == 0, w.log()[-3000:]
    assert lines(early) == sorted(before + after + more)
    assert lines(late) == sorted(after + more)


def file_sink_script(functions: str) -> str:
    """A sink script that opens config.file for appending, flushes and closes it, with the
    given functions (put, ...) besides."""
    return ('local connect = require "luaconnect"\n'
            'return connect.sink {\n'
            '  config = { file = { type = "string", required = true } },\n'
            '  open = function(task) task.f = assert(io.open(task.config.file, "ab")) end,\n'
            '  flush = function(task) task.f:flush() end,\n'
            '  close = function(task) task.f:close() end,\n' + functions + '}\n')


KEEPS_ONE_START = file_sink_script(r'''
  open_partitions = function(task, partitions)
    for _, p in ipairs(partitions) do
      if p.partition == 1 then return { { topic = p.topic, partition = 1, offset = 2 } } end
    end
  end,
  put = function(task, records)
    for _, r in ipairs(records) do
      task.f:write(string.format("%d %d %s\n", r.partition, r.offset, r.value))
    end
  end,
''')


def test_sink_begins_where_the_script_says_and_elsewhere_at_the_reset(kafka, tmp_path):
    """open_partitions() keeps the start of one partition of three: that one begins at the
    script's offset, the two it left alone at auto.offset.reset's (earliest): every record
    of partitions 0 and 2 once, partition 1 from offset 2, and the log says so for each."""
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    script = plugins / "keeps_one.lua"
    script.write_text(KEEPS_ONE_START)
    topic = unique_topic("lc-begin-mixed")
    create_topic(kafka, topic, 3)
    kcat_produce(kafka, topic, [f"v{i}" for i in range(60)], keys=[f"k{i}" for i in range(60)])
    records = kcat_consume_records(kafka, topic, 60)
    assert len(records) == 60
    want = sorted((r["partition"], r["offset"], r["value"].decode()) for r in records
                  if r["partition"] != 1 or r["offset"] >= 2)
    assert len({r["partition"] for r in records}) == 3 and len(want) == 58
    out = tmp_path / "out.txt"
    w = Worker(tmp_path, kafka, [{"name": "mixed", "connector.class": str(script),
                                  "topics": topic, "file": str(out)}],
               worker={"plugin.path": str(plugins),
                       "key.converter": "org.apache.kafka.connect.storage.StringConverter",
                       "value.converter": "org.apache.kafka.connect.storage.StringConverter"})
    with w:
        wait_for(lambda: len(file_lines(out)) >= 58, 60, "the records in the file", w.log)
        time.sleep(1)  # anything doubled would arrive now
        assert w.stop() == 0, w.log()[-3000:]
    got = sorted((int(p), int(o), v) for p, o, v in
                 (line.decode().split(" ", 2) for line in file_lines(out)))
    assert got == want
    log = w.log()
    assert f"{topic}-1 starts at offset 2 (kept by the connector)" in log, log[-3000:]
    for p in (0, 2):
        assert f"{topic}-{p} begins at offset 0 (no committed offset; auto.offset.reset=earliest)" \
            in log, log[-3000:]
    assert f"{topic}-1 begins at offset" not in log, log[-3000:]


def test_sink_with_auto_offset_reset_none_fails_without_an_offset(kafka, tmp_path):
    """consumer.override.auto.offset.reset=none (the Java client's word; librdkafka's is
    error): where the group has no committed offset the task FAILS and says which partition,
    as Kafka Connect's does (NoOffsetForPartitionException), instead of waiting forever;
    where it has one, it begins there."""
    topic = unique_topic("lc-reset-none")
    kcat_produce(kafka, topic, ["a", "b"])
    out = tmp_path / "out.txt"
    string = "org.apache.kafka.connect.storage.StringConverter"

    def worker(where, reset):
        where.mkdir()
        return Worker(where, kafka, [{"name": "nooffset", "connector.class": "FileStreamSink",
                                      "topics": topic, "file": str(out),
                                      "consumer.override.auto.offset.reset": reset}],
                      worker={"key.converter": string, "value.converter": string})

    w = worker(tmp_path / "none", "none")
    with w:
        wait_for(lambda: (w.status("nooffset", 0) or ("",))[0] == "FAILED", 60,
                 "the task to fail", w.log)
        trace = w.status("nooffset", 0)[1]
        assert w.alive()
    assert (f"Undefined offset with no reset policy for partition {topic}-0: "
            "no previously committed offset available") in trace, trace
    assert "commit an offset for group 'connect-nooffset' or set " \
        "consumer.override.auto.offset.reset=earliest or latest" in trace, trace
    assert not out.exists() or out.read_bytes() == b""
    w = worker(tmp_path / "earliest", "earliest")  # reads both and commits offset 2
    with w:
        wait_for(lambda: file_lines(out) == [b"a", b"b"], 60, "both records", w.log)
        assert w.stop() == 0, w.log()[-3000:]
    kcat_produce(kafka, topic, ["c"])
    w = worker(tmp_path / "none-again", "none")
    with w:
        wait_for(lambda: file_lines(out) == [b"a", b"b", b"c"], 60, "the new record", w.log)
        assert f"{topic}-0 begins at offset 2 (committed)" in w.log(), w.log()[-3000:]
        assert w.status("nooffset", 0)[0] == "RUNNING"
        assert w.stop() == 0, w.log()[-3000:]


BATCH_SIZES = file_sink_script(r'''
  put = function(task, records)
    if #records > 0 then task.f:write(#records, "\n") end
  end,
''')


def test_max_poll_records_bounds_a_sinks_batch(kafka, tmp_path):
    """consumer.override.max.poll.records (Connect's way to size put() batches, e.g. for a JDBC
    sink's batch.size) bounds every batch; a bad value fails the task and names the key."""
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    script = plugins / "batch_sizes.lua"
    script.write_text(BATCH_SIZES)
    topic = unique_topic("lc-max-poll")
    kcat_produce(kafka, topic, [f"v{i}" for i in range(300)])
    out = tmp_path / "sizes.txt"
    string = "org.apache.kafka.connect.storage.StringConverter"
    w = Worker(tmp_path, kafka, [
        {"name": "sizes", "connector.class": str(script), "topics": topic, "file": str(out),
         "consumer.override.max.poll.records": "7"},
        {"name": "bad", "connector.class": str(script), "topics": topic,
         "file": str(tmp_path / "bad.txt"), "consumer.override.max.poll.records": "0"}],
        worker={"plugin.path": str(plugins), "key.converter": string, "value.converter": string})
    with w:
        wait_for(lambda: sum(int(x) for x in file_lines(out)) >= 300, 60, "every record", w.log)
        wait_for(lambda: (w.status("bad", 0) or ("",))[0] == "FAILED", 30, "the bad one to fail",
                 w.log)
        trace = w.status("bad", 0)[1]
        assert w.stop() == 0, w.log()[-3000:]
    sizes = [int(x) for x in file_lines(out)]
    assert sum(sizes) == 300 and max(sizes) == 7, sizes
    assert trace.startswith("connector config key 'max.poll.records': expected an integer from 1 "
                            "to 100000, got '0'"), trace
    assert "'max.poll.records': not a librdkafka setting" not in w.log()


# A sink with put_lines: each call's n and its text's lines go to the file, marked with the
# entry point; the first put_lines raises connect.retriable() (the same text comes again).
_PUT_LINES_SINK = file_sink_script(r'''
  lazy_values = true,
  put_lines = function(task, text, n)
    if not task.retried then
      task.retried = true
      error(connect.retriable("not now"))
    end
    local count = select(2, text:gsub("\n", "\n"))
    task.f:write(string.format("put_lines %d %d\n", n, count), text)
    task.f:flush()
  end,
  put = function(task, records)
    task.f:write(string.format("put %d\n", #records), connect.json.lines(records))
    task.f:flush()
  end,
''')


def test_put_lines_gets_a_lazy_batchs_text(kafka, tmp_path):
    """A sink that declares lazy_values and defines put_lines(task, text, n) gets each batch of
    unread schemaless JSON objects as their lines (no record tables made): n records, n
    lines, in order, and the same text again after connect.retriable(); with a transform
    (every value read) or a value that is not an object, put() gets the records as before."""
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "lines_sink.lua").write_text(_PUT_LINES_SINK)
    objects, mixed = unique_topic("lc-put-lines"), unique_topic("lc-put-lines-mixed")
    values = ['{"n":%d,"s":"v%d"}' % (i, i) for i in range(40)]
    kcat_produce(kafka, objects, values)
    kcat_produce(kafka, mixed, values[:5] + ['"a string"'] + values[5:10])
    outs = {name: tmp_path / f"{name}.txt" for name in ("lines", "chained", "mixed")}
    w = Worker(tmp_path, kafka, [
        {"name": "lines", "connector.class": "lines_sink", "topics": objects,
         "file": str(outs["lines"])},
        {"name": "chained", "connector.class": "lines_sink", "topics": objects,
         "file": str(outs["chained"]), "transforms": "cast",
         "transforms.cast.type": "org.apache.kafka.connect.transforms.Cast$Value",
         "transforms.cast.spec": "n:string"},
        {"name": "mixed", "connector.class": "lines_sink", "topics": mixed,
         "file": str(outs["mixed"])}],
        worker={"plugin.path": str(plugins), "value.converter.schemas.enable": "false"})
    with w:
        for name, want in (("lines", 40), ("chained", 40), ("mixed", 11)):
            wait_for(lambda: sum(1 for x in file_lines(outs[name]) if not x.startswith(b"put"))
                     >= want, 60, f"{want} records from {name}", w.log)
        assert w.stop() == 0, w.log()[-3000:]

    def calls(name):
        heads = [x.decode() for x in file_lines(outs[name]) if x.startswith(b"put")]
        body = [x for x in file_lines(outs[name]) if not x.startswith(b"put")]
        return heads, body
    heads, body = calls("lines")
    assert heads and all(h.startswith("put_lines ") for h in heads), heads
    assert all(h.split()[1] == h.split()[2] for h in heads), heads  # n == lines in text
    assert sum(int(h.split()[1]) for h in heads) == 40
    assert body == [v.encode() for v in values]  # once each, in order, after the retry
    heads, body = calls("chained")
    assert heads and all(h.startswith("put ") for h in heads), heads
    assert body == [('{"n":"%d","s":"v%d"}' % (i, i)).encode() for i in range(40)]
    heads, body = calls("mixed")
    assert any(h.startswith("put ") for h in heads), heads
    assert body == [v.encode() for v in values[:5]] + [b"a string"] + \
        [v.encode() for v in values[5:10]]
