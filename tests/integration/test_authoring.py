"""Writing a plugin, the way an author meets it (issue 16): `luaconnect new` scaffolds it,
`luaconnect spec` runs its specs, `luaconnect test` runs a source's poll() or a sink's put()
offline. Everything through the real CLI, outputs asserted exactly; no broker needed."""

from __future__ import annotations

import json
import os
import pty
import subprocess
from pathlib import Path

from conftest import luaconnect_bin

OFFLINE_ENV = {k: v for k, v in os.environ.items() if k != "LUACONNECT_LOG_LEVEL"}


def run(*args, cwd=None, stdin=None, env=None):
    p = subprocess.run([str(luaconnect_bin()), *args], cwd=cwd, input=stdin, capture_output=True,
                       text=True, timeout=60, env=env or OFFLINE_ENV)
    return p.returncode, p.stdout, p.stderr


def new(tmp: Path, kind: str, name: str) -> Path:
    rc, out, err = run("new", kind, name, cwd=tmp)
    assert (rc, err) == (0, "")
    return tmp / name


def test_new_source_is_ready_to_run(tmp_path):
    rc, out, err = run("new", "source", "counter", cwd=tmp_path)
    assert (rc, err) == (0, "")
    assert out == ("created counter/counter.lua\n"
                   "created counter/counter_spec.lua\n"
                   "created counter/counter.properties\n"
                   "created counter/worker.properties\n"
                   "created counter/.luarc.json\n"
                   "created counter/README.md\n"
                   "next: cd counter && luaconnect spec && "
                   "luaconnect test --worker worker.properties counter.properties\n")
    d = tmp_path / "counter"
    assert run("spec", cwd=d) == (0, "counter_spec.lua: 4 passed, 0 failed\n", "")
    rc, out, err = run("test", "--worker", "worker.properties", "--idle-ms", "0", "counter.properties", cwd=d)
    assert (rc, err) == (0, 'offsets: {"offsets":[{"partition":{"source":"counter"},"offset":{"position":3}}]}\n')
    assert out == "".join('{"topic":"counter","key":"%d","value":{"message":"hello from counter","n":%d}}\n'
                          % (i, i) for i in (1, 2, 3))
    # lua-language-server finds the SDK's annotations the build installs
    luarc = json.loads((d / ".luarc.json").read_text())
    assert luarc["runtime.version"] == "LuaJIT"
    types = Path(luarc["workspace.library"][0])
    assert (types / "luaconnect.lua").read_text().startswith("---@meta luaconnect\n")
    # the README's commands are the ones that work
    readme = (d / "README.md").read_text()
    assert "    luaconnect spec\n" in readme
    assert "    luaconnect test --worker worker.properties counter.properties\n" in readme
    assert "    luaconnect standalone --embedded-kafka worker.properties counter.properties\n" in readme


def test_source_stops_at_max_records_and_resumes_from_offsets(tmp_path):
    d = new(tmp_path, "source", "counter")
    (d / "counter.properties").write_text("name=c\nconnector.class=counter\ntopic=t\ncount=1000\nbatch.size=7\n")
    rc, out, err = run("test", "--worker", "worker.properties", "--max-records", "10", "counter.properties", cwd=d)
    assert rc == 0
    assert [json.loads(l)["value"]["n"] for l in out.splitlines()] == list(range(1, 11))
    assert err == 'offsets: {"offsets":[{"partition":{"source":"counter"},"offset":{"position":10}}]}\n'
    # the offsets printed are the ones --offsets takes back: a restart resumes after them
    (d / "offsets.json").write_text(err.removeprefix("offsets: "))
    rc, out, err = run("test", "--worker", "worker.properties", "--max-records", "2", "--offsets", "offsets.json",
                       "counter.properties", cwd=d)
    assert rc == 0
    assert [json.loads(l)["key"] for l in out.splitlines()] == ["11", "12"]
    assert err == 'offsets: {"offsets":[{"partition":{"source":"counter"},"offset":{"position":12}}]}\n'


def test_source_records_go_through_transforms_and_converters(tmp_path):
    d = new(tmp_path, "source", "counter")
    (d / "counter.properties").write_text(
        "name=c\nconnector.class=counter\ntopic=t\ncount=2\n"
        "transforms=route,ins\n"
        "transforms.route.type=org.apache.kafka.connect.transforms.RegexRouter\n"
        "transforms.route.regex=t\ntransforms.route.replacement=renamed\n"
        "transforms.ins.type=InsertField$Value\ntransforms.ins.static.field=env\n"
        "transforms.ins.static.value=test\n")
    rc, out, err = run("test", "--worker", "worker.properties", "--idle-ms", "0", "counter.properties", cwd=d)
    assert rc == 0, err
    assert out == "".join('{"topic":"renamed","key":"%d","value":{"env":"test","message":"hello from counter",'
                          '"n":%d}}\n' % (i, i) for i in (1, 2))
    with open(d / "counter.properties", "a") as f:
        f.write("value.converter=org.apache.kafka.connect.storage.StringConverter\n")
    rc, out, err = run("test", "--worker", "worker.properties", "--idle-ms", "0", "counter.properties", cwd=d)
    assert (rc, out) == (1, "")
    assert err == ("error: record 1: VALUE_CONVERTER: value: StringConverter cannot encode a table\n"
                   "error: record 2: VALUE_CONVERTER: value: StringConverter cannot encode a table\n"
                   'offsets: {"offsets":[]}\n')


def test_source_errors_name_the_poll_and_the_record(tmp_path):
    d = new(tmp_path, "source", "counter")
    (d / "bad.lua").write_text(
        'local connect = require "luaconnect"\n'
        "return connect.source {\n"
        "  poll = function(task)\n"
        "    task.n = (task.n or 0) + 1\n"
        "    if task.n == 1 then return { { value = 'no topic' }, { topic = 't', value = 'ok' } } end\n"
        "    error('the system is down')\n"
        "  end,\n"
        "}\n")
    (d / "bad.properties").write_text("name=bad\nconnector.class=bad\n")
    rc, out, err = run("test", "--worker", "worker.properties", "bad.properties", cwd=d)
    assert rc == 1
    assert out == '{"topic":"t","key":null,"value":"ok"}\n'
    lines = err.splitlines()
    assert lines[0] == "error: record 1: TASK_POLL: record has no topic"
    assert lines[1].startswith("error: poll 2: TASK_POLL: ") and lines[1].endswith("bad.lua:6: the system is down")
    assert lines[2:] == ['offsets: {"offsets":[]}']
    # a source reads no input lines, and its config is validated as the worker does
    rc, _, err = run("test", "--worker", "worker.properties", "--connector", "counter.properties", "x.jsonl", cwd=d)
    assert (rc, err) == (1, "luaconnect: counter.properties: connector 'counter' is a source: its records come "
                            "from poll(), not from x.jsonl\n")
    (d / "typo.properties").write_text("name=c\nconnector.class=counter\ntopik=t\n")
    rc, _, err = run("test", "--worker", "worker.properties", "typo.properties", cwd=d)
    assert rc == 1
    assert err == ("luaconnect: typo.properties: connector 'c': missing required key 'topic' (The topic to write to)\n"
                   "connector 'c': unknown key 'topik' (did you mean 'topic'?)\n")


def test_new_sink_puts_and_flushes_offline(tmp_path):
    d = new(tmp_path, "sink", "archive")
    assert run("spec", cwd=d) == (0, "archive_spec.lua: 2 passed, 0 failed\n", "")
    (d / "example.jsonl").write_text('{"topic":"a","key":"k1","value":{"n":1}}\n'
                                     '{"topic":"a","key":"k2","value":null}\n'
                                     '{"topic":"a","partition":3,"offset":41,"value":"x"}\n'
                                     '{"topic":"b","value":[1,2]}\n'
                                     'not json\n'
                                     '{"topic":"a","value":{"n":5}}\n')
    rc, out, err = run("test", "--worker", "worker.properties", "--connector", "--batch-size", "2",
                       "archive.properties", "example.jsonl", cwd=d)
    assert rc == 1
    assert out == ""
    assert err == ("error: record 2: TASK_PUT: archive: a record without a value is not written\n"
                   "error: record 5: INPUT: invalid JSON at line 1 column 2: unexpected 'o', expected null\n"
                   'offsets: {"offsets":['
                   '{"partition":{"kafka_partition":0,"kafka_topic":"a"},"offset":{"kafka_offset":3}},'
                   '{"partition":{"kafka_partition":3,"kafka_topic":"a"},"offset":{"kafka_offset":42}},'
                   '{"partition":{"kafka_partition":0,"kafka_topic":"b"},"offset":{"kafka_offset":1}}]}\n')
    assert (d / "archive.out.jsonl").read_text() == (
        '{"key":"k1","offset":0,"partition":0,"topic":"a","value":{"n":1}}\n'
        '{"offset":41,"partition":3,"topic":"a","value":"x"}\n'
        '{"offset":0,"partition":0,"topic":"b","value":[1,2]}\n'
        '{"offset":2,"partition":0,"topic":"a","value":{"n":5}}\n')


def test_sink_put_failure_stops_like_the_task(tmp_path):
    d = new(tmp_path, "sink", "archive")
    (d / "down.lua").write_text('local connect = require "luaconnect"\n'
                                "return connect.sink { put = function(task, records) error('database is down') end }\n")
    (d / "down.properties").write_text("name=down\nconnector.class=down\ntopics=a\n")
    rc, out, err = run("test", "--worker", "worker.properties", "--connector", "down.properties",
                       cwd=d, stdin='{"topic":"a","value":1}\n{"topic":"a","value":2}\n')
    assert (rc, out) == (1, "")
    assert err.startswith("error: records 1-2: TASK_PUT: ") and err.endswith("down.lua:2: database is down\n")
    assert err.count("\n") == 1
    # connect.retriable(): the worker would deliver the batch again later; offline that is the end
    (d / "down.lua").write_text('local connect = require "luaconnect"\n'
                                "return connect.sink { put = function() connect.retriable('busy, try later') end }\n")
    rc, out, err = run("test", "--worker", "worker.properties", "--connector", "down.properties",
                       cwd=d, stdin='{"topic":"a","value":1}\n')
    assert (rc, out, err) == (1, "", "error: records 1-1: TASK_PUT: retriable: busy, try later\n")


def test_new_transform_and_predicate_run_on_their_examples(tmp_path):
    d = new(tmp_path, "transform", "stamp")
    assert run("spec", cwd=d) == (0, "stamp_spec.lua: 2 passed, 0 failed\n", "")
    assert run("test", "--worker", "worker.properties", "stamp.properties", "example.jsonl", cwd=d) == (
        0, '{"topic":"orders","key":"a","value":{"n":1,"processed_by":"example"}}\n'
           '{"topic":"orders","key":"b","value":"not an object"}\n', "")
    d = new(tmp_path, "predicate", "is_test")
    assert run("spec", cwd=d) == (0, "is_test_spec.lua: 1 passed, 0 failed\n", "")
    assert run("test", "--worker", "worker.properties", "is_test.properties", "example.jsonl", cwd=d) == (
        0, '{"topic":"orders","key":"b","value":{"n":2}}\n', "")


def test_new_refuses_bad_names_and_existing_files(tmp_path):
    assert run("new", "source", "_x", cwd=tmp_path) == (
        2, "", "luaconnect new: invalid name '_x': a letter, then letters, digits, '_' or '-'\n")
    assert run("new", "connector", "x", cwd=tmp_path) == (
        2, "", "luaconnect new: unknown kind 'connector' (source, sink, transform or predicate)\n")
    (tmp_path / "here").mkdir()
    (tmp_path / "here" / "README.md").write_text("mine")
    assert run("new", "sink", "s", "here", cwd=tmp_path) == (
        1, "", "luaconnect new: here/README.md exists; not overwriting anything\n")
    assert sorted(p.name for p in (tmp_path / "here").iterdir()) == ["README.md"]
    assert (tmp_path / "here" / "README.md").read_text() == "mine"


def test_spec_runs_every_spec_and_fails_with_one(tmp_path):
    d = new(tmp_path, "transform", "stamp")
    (d / "tests").mkdir()
    (d / "tests" / "broken_spec.lua").write_text(
        'describe("broken", function()\n'
        '  it("fails", function() expect.eq(1 + 1, 3) end)\n'
        '  it("passes", function() expect.eq(2, 2) end)\n'
        "end)\n")
    rc, out, err = run("spec", cwd=d)
    assert rc == 1
    assert out == ("stamp_spec.lua: 2 passed, 0 failed\n"
                   "tests/broken_spec.lua: 1 passed, 1 failed\n"
                   "2 spec files: 1 passed, 1 failed\n")
    assert err.startswith("FAIL broken fails\n  tests/broken_spec.lua:2: expected 3, got 2\n")
    assert run("spec", "stamp_spec.lua", cwd=d) == (0, "stamp_spec.lua: 2 passed, 0 failed\n", "")
    assert run("spec", "nope", cwd=d) == (1, "", "luaconnect spec: nope: no such file or directory\n")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run("spec", cwd=empty) == (1, "", "luaconnect spec: no *_spec.lua files found\n")


def test_progress_only_when_stderr_is_a_terminal(tmp_path):
    d = new(tmp_path, "transform", "stamp")
    line = '{"topic":"orders","value":{"n":1,"pad":"%s"}}\n' % ("x" * 200)
    (d / "big.jsonl").write_text(line * 8000)  # > 1 MiB
    args = [str(luaconnect_bin()), "test", "--worker", "worker.properties", "stamp.properties", "big.jsonl"]
    piped = subprocess.run(args, cwd=d, capture_output=True, timeout=120, env=OFFLINE_ENV)
    assert (piped.returncode, piped.stderr) == (0, b"")
    assert piped.stdout.count(b"\n") == 8000
    master, slave = pty.openpty()
    try:
        p = subprocess.run(args, cwd=d, stdout=subprocess.PIPE, stderr=slave, timeout=120, env=OFFLINE_ENV)
        os.close(slave)
        slave = -1
        tty = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            tty += chunk
    finally:
        if slave >= 0:
            os.close(slave)
        os.close(master)
    assert p.returncode == 0 and p.stdout == piped.stdout
    assert b"\r\x1b[Kluaconnect test: " in tty and b"% of big.jsonl, " in tty
    assert tty.endswith(b"\r\x1b[K")  # the progress line is cleared at the end
