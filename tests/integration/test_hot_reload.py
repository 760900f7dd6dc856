"""Hot reload on the real broker: scripts and connector files change while records flow;
nothing is lost or doubled, the output switches at the reload points, broken versions
leave the old code running, and editors' ways of saving yield one reload or none.

The pause per swap (last record before -> first record after, by the records' own
timestamps) is printed and written to $LC_RELOAD_PAUSE_FILE when set."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import List, Tuple

import pytest

from conftest import kcat_produce, unique_topic
from worker import Worker, wait_for

SEQ_SOURCE = """
local connect = require "luaconnect"
local core = require "luaconnect.core"
return connect.source {
  config = {
    topic = { type = "string", required = true },
    count = { type = "int", required = true },
    batch = { type = "int", default = 50 },
    ["interval.ms"] = { type = "int", default = 5 },
  },
  open = function(task)
    local off = task.offsets:get({ stream = "seq" })
    task.next = off and (tonumber(off.seq) + 1) or 0
  end,
  poll = function(task)
    local cfg = task.config
    if task.next >= cfg.count then core.sleep_ms(20) return nil end
    core.sleep_ms(cfg["interval.ms"])
    local out = {}
    for _ = 1, cfg.batch do
      local n = task.next
      if n >= cfg.count then break end
      out[#out + 1] = { topic = cfg.topic, source_partition = { stream = "seq" },
                        source_offset = { seq = n }, value = { seq = n, gen = "@GEN@" } }
      task.next = n + 1
    end
    return out
  end,
}
"""

SEQ_SINK = """
local connect = require "luaconnect"
local core = require "luaconnect.core"
return connect.sink {
  config = { file = { type = "string", required = true },
             ["delay.ms"] = { type = "int", default = 20 } },
  open = function(task) task.f = assert(io.open(task.config.file, "ab")) end,
  put = function(task, records)
    local now = core.now_ms()
    for _, r in ipairs(records) do
      task.f:write(string.format("%d %s %s %d\\n", r.value.seq, "@GEN@", tostring(r.value.t), now))
    end
    core.sleep_ms(task.config["delay.ms"])
  end,
  flush = function(task) task.f:flush() end,
  close = function(task) task.f:close() end,
}
"""

TAG = """
local connect = require "luaconnect"
return connect.transform {
  config = {},
  apply = function(r) r.value.t = @T@ return r end,
}
"""

# Broken connector versions: a syntax error, a broken contract, a bad config definition.
BROKEN = [
    ("syntax", "local connect = require 'luaconnect'\nreturn connect.source {\n  poll = function(\n"),
    ("contract", "local connect = require 'luaconnect'\nreturn connect.source { config = {} }\n"),
    ("config", "local connect = require 'luaconnect'\nreturn connect.source {\n"
               "  config = { topic = { type = 'strnig' } },\n  poll = function() end }\n"),
]


def save_rename(path: Path, text: str) -> None:
    """How vim and most IDEs save: write a temporary file, rename it over the old one."""
    tmp = path.with_name("." + path.name + ".swp")
    tmp.write_text(text)
    os.replace(tmp, path)


def save_truncate(path: Path, text: str) -> None:
    """How nano and `cat >` save: truncate the file and write it in place."""
    with open(path, "w") as f:
        f.write(text[: len(text) // 2])
        f.flush()
        f.write(text[len(text) // 2:])


def rest(url: str, method: str = "GET", body=None):
    req = urllib.request.Request(url, method=method,
                                 data=None if body is None else json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read() or b"null")


def rest_or_none(url: str):
    """GET url's JSON, or None while the worker answers an error (e.g. 404 before a
    connector of a .properties file is installed, or while a reload replaces it)."""
    try:
        return rest(url)
    except urllib.error.HTTPError:
        return None


def reloads(worker: Worker, name: str) -> int:
    return worker.log().count(f"connector '{name}': reloaded")


def consume_with_timestamps(bootstrap: str, topic: str, count: int, timeout: float) -> List[Tuple[int, dict]]:
    deadline = time.monotonic() + timeout
    out: List[Tuple[int, dict]] = []
    while time.monotonic() < deadline:
        proc = subprocess.run(["kcat", "-q", "-b", bootstrap, "-C", "-t", topic, "-o", "beginning",
                               "-e", "-f", "%T %s\\n"], stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        lines = proc.stdout.decode().splitlines()
        if len(lines) >= count:
            out = []
            for line in lines:
                ts, value = line.split(" ", 1)
                out.append((int(ts), json.loads(value)))
            return out
        time.sleep(1)
    raise AssertionError(f"only {len(lines)} of {count} records arrived in {topic}")


def pauses_at_switches(records: List[Tuple[int, dict]]) -> List[int]:
    gaps = []
    for (ts0, v0), (ts1, v1) in zip(records, records[1:]):
        if (v0.get("gen"), v0.get("t")) != (v1.get("gen"), v1.get("t")):
            gaps.append(ts1 - ts0)
    return gaps


def report_pauses(label: str, gaps: List[int]) -> None:
    gaps = sorted(gaps)
    p50 = statistics.median(gaps)
    p99 = gaps[min(len(gaps) - 1, int(round(0.99 * (len(gaps) - 1))))]
    line = f"{label}: {len(gaps)} swaps, pause p50 {p50:.0f} ms, p99 {p99} ms, max {gaps[-1]} ms"
    print(line)
    if os.environ.get("LC_RELOAD_PAUSE_FILE"):
        with open(os.environ["LC_RELOAD_PAUSE_FILE"], "a") as f:
            f.write(line + "\n")


def assert_reload_failed(base: str, name: str, script: Path) -> None:
    def failed():
        st = rest(f"{base}/connectors/{name}/status?expand=scripts")
        return "reload failed: " in st["connector"].get("reload_error", "")
    wait_for(failed, 15, "the status to report the failed reload")
    st = rest(f"{base}/connectors/{name}/status?expand=scripts")
    assert str(script) in st["connector"]["reload_error"], st
    assert [t["state"] for t in st["tasks"]] == ["RUNNING"], st


def reload_schedule(w: Worker, base: str, name: str, script: Path, template: str, gen: str,
                    kind: str, tag: Path, steps: int, every: int, pause: float, styles) -> tuple:
    """Rewrites the transform at most steps and the connector script every `every` steps
    (good, three broken versions, good), each save waiting for its reload or its failure.
    Returns the connector versions written that must show up, and the reload count."""
    good_gens, expected = [gen + "0"], 0
    for step in range(1, steps + 1):
        time.sleep(pause)
        if step % every == 0:
            k = step // every
            if k in (2, 3, 4):
                save_rename(script, BROKEN[k - 2][1].replace("connect.source", kind))
                assert_reload_failed(base, name, script)
            else:
                save_rename(script, template.replace("@GEN@", f"{gen}{k}"))
                good_gens.append(f"{gen}{k}")
                expected += 1
        else:
            t = step - step // every
            styles[t % 2](tag, TAG.replace("@T@", str(t)))
            expected += 1
        wait_for(lambda: reloads(w, name) == expected, 15, f"reload {expected}", w.log)
    return good_gens, expected


def test_source_reloads_lose_and_double_nothing(kafka, tmp_path):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    src, tag = plugins / "seq_source.lua", plugins / "tag.lua"
    src.write_text(SEQ_SOURCE.replace("@GEN@", "c0"))
    tag.write_text(TAG.replace("@T@", "0"))
    topic, count = unique_topic("reload-src"), 300_000
    w = Worker(tmp_path, kafka, [{
        "name": "seq", "connector.class": str(src), "topic": topic, "count": str(count),
        "transforms": "tag", "transforms.tag.type": str(tag),
    }], worker={"plugin.path": str(plugins), "value.converter.schemas.enable": "false",
                "offset.flush.interval.ms": "500"})
    with w:
        base = w.url()
        wait_for(lambda: rest(f"{base}/connectors/seq/status?expand=scripts")["tasks"][0]["state"] == "RUNNING",
                 30, "the source task to run", w.log)
        good_gens, expected_reloads = reload_schedule(
            w, base, "seq", src, SEQ_SOURCE, "c", "connect.source", tag, steps=25, every=5,
            pause=0.9, styles=(save_truncate, save_rename))
        # Touching without a change reloads nothing.
        os.utime(tag)
        os.utime(src)
        time.sleep(1)
        assert reloads(w, "seq") == expected_reloads
        st = rest(f"{base}/connectors/seq/status?expand=scripts")
        assert "reload_error" not in st["connector"], st
        hashes = {s["path"]: s["hash"] for s in st["scripts"]}
        assert str(src) in hashes and str(tag) in hashes, st["scripts"]

        records = consume_with_timestamps(kafka, topic, count, timeout=180)
        assert w.stop() == 0
    values = [v for _, v in records]
    assert [v["seq"] for v in values] == list(range(count)), "lost, doubled or reordered records"
    ts = [v["t"] for v in values]
    assert ts == sorted(ts) and set(ts) == set(range(21)), "transform output must switch at reloads"
    gens = [v["gen"] for v in values]
    order = [g for i, g in enumerate(gens) if i == 0 or gens[i - 1] != g]
    assert order == good_gens, f"connector versions seen {order}, written {good_gens}"
    report_pauses("source reload", pauses_at_switches(records))


def test_sink_reloads_lose_and_double_nothing(kafka, tmp_path):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    snk, tag = plugins / "seq_sink.lua", plugins / "tag.lua"
    snk.write_text(SEQ_SINK.replace("@GEN@", "s0"))
    tag.write_text(TAG.replace("@T@", "0"))
    topic, count = unique_topic("reload-snk"), 300_000
    kcat_produce(kafka, topic, [json.dumps({"seq": n}) for n in range(count)])
    out = tmp_path / "out.txt"
    w = Worker(tmp_path, kafka, [{
        "name": "seqsink", "connector.class": str(snk), "topics": topic, "file": str(out),
        "transforms": "tag", "transforms.tag.type": str(tag),
    }], worker={"plugin.path": str(plugins), "value.converter.schemas.enable": "false"})
    with w:
        base = w.url()
        wait_for(lambda: out.exists() and out.stat().st_size > 0, 60, "the sink to write", w.log)
        good_gens, _ = reload_schedule(
            w, base, "seqsink", snk, SEQ_SINK, "s", "connect.sink", tag, steps=15, every=3,
            pause=0.4, styles=(save_rename, save_truncate))
        wait_for(lambda: len(out.read_bytes().splitlines()) >= count, 120, "every record in the file",
                 w.log)
        assert w.stop() == 0
    rows = [line.split() for line in out.read_text().splitlines()]
    assert [int(r[0]) for r in rows] == list(range(count)), "lost, doubled or reordered records"
    gens = [r[1] for r in rows]
    order = [g for i, g in enumerate(gens) if i == 0 or gens[i - 1] != g]
    assert order == good_gens, f"sink versions seen {order}, written {good_gens}"
    ts = [int(r[2]) for r in rows]
    assert ts == sorted(ts) and set(ts) <= set(range(11)) and ts[-1] == 10
    # Pause per swap: time the sink wrote the last record before and the first after.
    report_pauses("sink reload", pauses_at_switches(
        [(int(r[3]), {"gen": r[1], "t": r[2]}) for r in rows]))


def test_properties_file_reload_and_sighup(kafka, tmp_path):
    """A connector file given on the command line is watched: a good edit applies, a bad one
    names file and line and leaves the connector running; SIGHUP reloads what changed."""
    src_file = tmp_path / "in.txt"
    src_file.write_text("a\nb\n")
    topic, topic2 = unique_topic("reload-props"), unique_topic("reload-props2")
    w = Worker(tmp_path, kafka, [{"name": "fsrc", "connector.class": "FileStreamSource",
                                  "file": str(src_file), "topic": topic}],
               worker={"value.converter": "org.apache.kafka.connect.storage.StringConverter"})
    props = w.connector_files[0]
    with w:
        base = w.url()
        wait_for(lambda: ((rest_or_none(f"{base}/connectors/fsrc/status") or {}).get("tasks")
                          or [{}])[0].get("state") == "RUNNING", 30, "the task to run", w.log)
        props.write_text(props.read_text() + "tpoic=oops\n")
        wait_for(lambda: "reload_error" in rest(f"{base}/connectors/fsrc/status?expand=scripts")["connector"], 15,
                 "the failed reload", w.log)
        err = rest(f"{base}/connectors/fsrc/status?expand=scripts")["connector"]["reload_error"]
        line = len(props.read_text().splitlines())
        assert f"{props.resolve()}:{line}: " in err and "unknown key 'tpoic'" in err, err
        # With the watcher's event lost, SIGHUP still picks the change up.
        text = props.read_text().replace("tpoic=oops\n", "").replace(topic, topic2)
        props.write_text(text)
        w.proc.send_signal(1)
        wait_for(lambda: (rest_or_none(f"{base}/connectors/fsrc/config") or {}).get("topic")
                 == topic2, 15, "the new topic", w.log)
        st = rest(f"{base}/connectors/fsrc/status?expand=scripts")
        assert "reload_error" not in st["connector"], st
        with open(src_file, "a") as f:
            f.write("c\n")
        from conftest import kcat_consume
        assert kcat_consume(kafka, topic2, 1, timeout=30) == [b"c"]
        assert w.stop() == 0


def test_a_rest_change_detaches_a_connector_from_its_file(kafka, tmp_path):
    """A connector from a .properties file, then changed over REST: the REST change stays.
    Saving the file afterwards no longer overwrites it, and the log and the status say why."""
    src_file = tmp_path / "in.txt"
    src_file.write_text("a\n")
    topic, topic2, topic3 = (unique_topic("detach"), unique_topic("detach-rest"),
                             unique_topic("detach-file"))
    w = Worker(tmp_path, kafka, [{"name": "d", "connector.class": "FileStreamSource",
                                  "file": str(src_file), "topic": topic}],
               worker={"value.converter": "org.apache.kafka.connect.storage.StringConverter"})
    props = w.connector_files[0]
    with w:
        base = w.url()
        wait_for(lambda: rest(f"{base}/connectors/d/status?expand=scripts")["tasks"][0]["state"] == "RUNNING",
                 30, "the task to run", w.log)
        # The same config again (GET then PUT) changes nothing and detaches nothing.
        rest(f"{base}/connectors/d/config", "PUT", rest(f"{base}/connectors/d/config"))
        assert "detached" not in w.log()
        cfg = rest(f"{base}/connectors/d/config")
        cfg["topic"] = topic2
        rest(f"{base}/connectors/d/config", "PUT", cfg)
        wait_for(lambda: "detached from" in w.log(), 15, "the detach log line", w.log)
        line = next(x for x in w.log().splitlines() if "detached from" in x)
        assert (f"connector 'd': config changed over the REST API: detached from "
                f"{props.resolve()} (saving that file no longer changes it") in line, line
        st = rest(f"{base}/connectors/d/status?expand=scripts")
        assert st["connector"]["detached_from"] == str(props.resolve()), st
        props.write_text(props.read_text().replace(topic, topic3))
        w.proc.send_signal(1)  # as a save the watcher saw, and SIGHUP on top
        time.sleep(2)
        assert rest(f"{base}/connectors/d/config")["topic"] == topic2
        assert "reload_error" not in rest(f"{base}/connectors/d/status?expand=scripts")["connector"]
        with open(src_file, "a") as f:
            f.write("b\n")
        from conftest import kcat_consume
        # "a" went to the first topic; the file's offset carried over to the REST config.
        assert kcat_consume(kafka, topic2, 1, timeout=30) == [b"b"]
        assert w.stop() == 0


def test_rest_reload(kafka, tmp_path):
    """POST /connectors/{c}/reload reloads one connector even when nothing changed, and
    answers with its status; an unknown connector is a 404."""
    src_file = tmp_path / "in.txt"
    src_file.write_text("a\n")
    w = Worker(tmp_path, kafka, [{"name": "r", "connector.class": "FileStreamSource",
                                  "file": str(src_file), "topic": unique_topic("reload-rest")}])
    with w:
        base = w.url()
        wait_for(lambda: rest(f"{base}/connectors/r/status?expand=scripts")["tasks"][0]["state"] == "RUNNING",
                 30, "the task to run", w.log)
        before = rest(f"{base}/connectors/r/status?expand=scripts")["scripts"]
        time.sleep(0.01)
        st = rest(f"{base}/connectors/r/reload", "POST")
        assert st["name"] == "r" and st["tasks"][0]["state"] == "RUNNING", st
        assert [s["hash"] for s in st["scripts"]] == [s["hash"] for s in before]
        assert st["scripts"][0]["loaded_at"] > before[0]["loaded_at"]
        assert reloads(w, "r") == 1
        with pytest.raises(urllib.error.HTTPError) as e:
            rest(f"{base}/connectors/nope/reload", "POST")
        assert e.value.code == 404
        assert json.loads(e.value.read())["message"] == "Connector nope not found"
        assert w.stop() == 0
