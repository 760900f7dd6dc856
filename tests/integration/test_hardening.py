"""Defects found by reading the code, each reproduced the way a user would meet it. Under
the sanitizer round of make test a leak or overflow here fails the run."""

from __future__ import annotations

import os
import time
import urllib.request
from pathlib import Path

from conftest import unique_topic
from worker import Worker, file_lines, wait_for

# A source whose record carries headers and a source_partition that cannot be encoded as
# JSON (a function): the headers built for it were leaked when the task failed on it.
BAD_PARTITION = (
    'local connect = require "luaconnect"\n'
    "return connect.source {\n"
    "  config = { topic = { type = 'string', required = true } },\n"
    "  poll = function(task)\n"
    "    return { { topic = task.config.topic, value = 'v', headers = { a = '1', b = '2' },\n"
    "               source_partition = { f = print }, source_offset = { n = 1 } } }\n"
    "  end,\n"
    "}\n")


def test_a_source_record_whose_partition_cannot_be_encoded_fails_its_task(kafka, tmp_path: Path):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "bad_partition.lua").write_text(BAD_PARTITION)
    topic = unique_topic("lc-badpart")
    w = Worker(tmp_path, kafka, [{"name": "badpart", "connector.class": "bad_partition",
                                  "topic": topic}],
               worker={"plugin.path": str(plugins)})
    with w:
        wait_for(lambda: (w.status("badpart", 0) or ("",))[0] == "FAILED", 30, "the task to fail",
                 w.log)
        state, trace = w.status("badpart", 0)[:2]
        assert "stage TASK_POLL: value.f: cannot encode a function" in trace, trace
        assert w.stop() == 0


SPIN = (
    'local connect = require "luaconnect"\n'
    "return connect.source {\n"
    "  poll = function(task)\n"
    "    local n = 0\n"
    "    while true do n = n + 1 end\n"  # LuaJIT compiles this loop: hooks never run in it
    "  end,\n"
    "}\n")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_a_script_stuck_in_a_compiled_loop_is_interrupted_and_the_worker_goes_on(kafka, tmp_path,
                                                                                 monkeypatch):
    # The interrupted task's Lua state and Kafka client stay allocated by design (docs/
    # lua-sdk.md, "Trust model"): under the sanitizer round, leak detection is off for this
    # worker only; ASan still checks every access.
    if os.environ.get("ASAN_OPTIONS"):
        monkeypatch.setenv("ASAN_OPTIONS", os.environ["ASAN_OPTIONS"] + ":detect_leaks=0")
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "spin.lua").write_text(SPIN)
    src = tmp_path / "in.txt"
    src.write_text("".join(f"line {i}\n" for i in range(100)))
    out = tmp_path / "out.txt"
    topic = unique_topic("lc-spin-ok")
    w = Worker(tmp_path, kafka, [
        {"name": "spin", "connector.class": "spin"},
        {"name": "ok-src", "connector.class": "FileStreamSource", "file": str(src), "topic": topic},
        {"name": "ok-sink", "connector.class": "FileStreamSink", "file": str(out), "topics": topic}],
        worker={"plugin.path": str(plugins), "task.shutdown.graceful.timeout.ms": "1000",
                "key.converter": "org.apache.kafka.connect.storage.StringConverter",
                "value.converter": "org.apache.kafka.connect.storage.StringConverter"})
    with w:
        wait_for(lambda: len(file_lines(out)) >= 100, 60, "the healthy pipeline", w.log)
        base = w.url()
        t0 = time.monotonic()
        req = urllib.request.Request(base + "/connectors/spin/stop", method="PUT")
        with urllib.request.urlopen(req, timeout=30) as r:
            assert r.status == 204
        took = time.monotonic() - t0
        # task.shutdown.graceful.timeout.ms (1 s) plus a little, not the 2 x timeout + 3 s
        # after which a thread is abandoned (and would spin on a core for ever).
        assert took < 4.5, f"stop took {took:.1f} s"
        log = w.log()
        assert f"{plugins / 'spin.lua'}: poll() (or one of its transforms) did not return within " \
               "task.shutdown.graceful.timeout.ms=1000 ms" in log, log[-3000:]
        assert "abandoned" not in log
        # The spinning thread is gone: the worker idles.
        before = cpu_seconds(w.proc.pid)
        time.sleep(2)
        assert cpu_seconds(w.proc.pid) - before < 1.0
        # The other connectors go on.
        with src.open("a") as f:
            f.write("".join(f"more {i}\n" for i in range(10)))
        wait_for(lambda: len(file_lines(out)) >= 110, 60, "records after the stop", w.log)
        assert file_lines(out)[-1] == b"more 9"
        assert w.stop() == 0


SLOW_CLOSE = (
    'local connect = require "luaconnect"\n'
    'local core = require "luaconnect.core"\n'
    "return connect.source {\n"
    "  poll = function(task) core.sleep_ms(20) return {} end,\n"
    "  close = function(task) core.sleep_ms(3000) end,\n"
    "}\n")


def test_validate_does_not_wait_behind_a_connector_change(kafka, tmp_path):
    """Validation plans in a scratch state: it used to share one static buffer under the
    change lock, so it waited for a stopping connector's close()."""
    import json
    import threading
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "slow_close.lua").write_text(SLOW_CLOSE)
    w = Worker(tmp_path, kafka, [{"name": "slow", "connector.class": "slow_close"}],
               worker={"plugin.path": str(plugins)})
    with w:
        base = w.url()
        wait_for(lambda: (w.status("slow", 0) or ("",))[0] == "RUNNING", 30, "the task", w.log)
        done = {}

        def stop():
            req = urllib.request.Request(base + "/connectors/slow/stop", method="PUT")
            with urllib.request.urlopen(req, timeout=30) as r:
                done["stop"] = (r.status, time.monotonic())

        th = threading.Thread(target=stop)
        th.start()
        time.sleep(0.5)  # the stop now holds the change lock while close() sleeps 3 s
        body = json.dumps({"connector.class": "FileStreamSource", "name": "v", "file": "/x",
                           "topic": "t"}).encode()
        req = urllib.request.Request(
            base + "/connector-plugins/FileStreamSource/config/validate", data=body,
            method="PUT", headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            answer = json.loads(r.read())
        validated = time.monotonic()
        th.join()
        assert answer["error_count"] == 0, answer
        assert done["stop"][0] == 204
        assert validated < done["stop"][1], "validate waited for the stop to finish"
        assert w.stop() == 0


HUGE_PARTITION = (
    'local connect = require "luaconnect"\n'
    "local sent = false\n"
    "return connect.source {\n"
    "  config = { topic = { type = 'string', required = true } },\n"
    "  poll = function(task)\n"
    "    if sent then return {} end\n"
    "    sent = true\n"
    "    return { { topic = task.config.topic, value = 'v',\n"
    "               source_partition = { p = string.rep('x', 12 * 1024 * 1024) },\n"
    "               source_offset = { n = 1 } } }\n"
    "  end,\n"
    "}\n")


def test_a_source_partition_larger_than_a_thread_stack_is_committed(kafka, tmp_path):
    """The offset key was built in a stack array sized by the script's partition: 12 MiB
    overflowed the task thread's stack and crashed the worker."""
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "huge_partition.lua").write_text(HUGE_PARTITION)
    topic = unique_topic("lc-hugepart")
    w = Worker(tmp_path, kafka, [{"name": "huge", "connector.class": "huge_partition",
                                  "topic": topic}],
               worker={"plugin.path": str(plugins)})
    with w:
        wait_for(lambda: w.source_offset("huge", {"p": "x" * (12 * 1024 * 1024)}) is not None,
                 60, "the offset commit", w.log)
        assert w.source_offset("huge", {"p": "x" * (12 * 1024 * 1024)}) == {"n": 1}
        assert w.stop() == 0
