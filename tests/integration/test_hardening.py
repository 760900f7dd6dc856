"""Defects found by reading the code, each reproduced the way a user would meet it. Under
the sanitizer round of make test a leak or overflow here fails the run."""

from __future__ import annotations

from pathlib import Path

from conftest import unique_topic
from worker import Worker, wait_for

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
