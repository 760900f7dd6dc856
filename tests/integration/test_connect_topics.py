"""Golden records: what Apache Kafka Connect 4.x (distributed) writes to its config, offsets
and status topics for each REST operation on a FileStreamSource connector, run on the real
test broker. tests/fixtures/connect_topics.json holds the reference that luaconnect's
distributed mode is checked against (keys, values, partitions, order); this test runs Connect
again and compares what it writes now with the fixture, structure for structure (names,
ports, paths, generations, session keys and timestamps are replaced by placeholders).

LC_REGEN_GOLDEN=1 rewrites the fixture from this run instead of comparing."""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from pathlib import Path

import pytest

from conftest import REPO_ROOT
from connect_java import ConnectDistributed, java_available
from http_json import call
from kafka_records import default_partition, partitions, settle
from worker import wait_for

FIXTURE = REPO_ROOT / "tests" / "fixtures" / "connect_topics.json"
CONNECTOR = "golden-file-source"  # fixed: the status and offsets partitions depend on it
STOPPED_CONNECTOR = "golden-created-stopped"
LINES = [f"line {i}" for i in range(5)]

pytestmark = [
    pytest.mark.skipif(java_available() is not None, reason=str(java_available())),
    # Only Apache Kafka Connect runs here: nothing of luaconnect to check for memory errors.
    pytest.mark.skipif(os.environ.get("LC_SANITIZER") == "1",
                       reason="runs Kafka Connect only; make test's release round runs it"),
]


def _text(b):
    if b is None:
        return None
    try:
        return b.decode("utf-8")
    except UnicodeDecodeError:
        return "base64:" + __import__("base64").b64encode(b).decode()


class Normalizer:
    """Replaces what differs between runs by placeholders, in keys and values."""

    def __init__(self, subs):
        self.subs = sorted(subs.items(), key=lambda kv: -len(kv[0]))

    def text(self, s):
        if s is None:
            return None
        for real, ph in self.subs:
            s = s.replace(real, ph)
        return s

    def value(self, s):
        s = self.text(s)
        if s is None:
            return None
        try:
            v = json.loads(s)
        except ValueError:
            return s
        return self._walk(v)

    def _walk(self, v, key=None):
        if isinstance(v, dict):
            return {k: self._walk(x, k) for k, x in v.items()}
        if isinstance(v, list):
            return [self._walk(x) for x in v]
        if key in ("generation",) and isinstance(v, int):
            return "<int>"
        if key in ("creation-timestamp", "discoverTimestamp") and isinstance(v, int):
            return "<timestamp>"
        if key == "key" and isinstance(v, str):
            return "<base64 key>"
        if key == "version" and (v is None or isinstance(v, str)):
            # the plugin's version, or null when the worker had not loaded it yet (timing)
            return "<version or null>"
        if key == "trace" and isinstance(v, str):
            return "<trace>"
        return v


def record_entry(topic_kind, rec, nparts, norm):
    """One fixture entry: raw key/value text and the normalized structure compared."""
    key, value = _text(rec["key"]), _text(rec["value"])
    entry = {"partition": rec["partition"], "key": key, "value": value}
    if rec["key"] is not None and nparts > 1:
        entry["partition_is_murmur2"] = (
            default_partition(rec["key"], nparts) == rec["partition"])
    entry["norm"] = {"key": norm.text(key), "value": norm.value(value),
                     "partition": rec["partition"] if nparts == 1 else
                     ("murmur2" if entry.get("partition_is_murmur2") else rec["partition"])}
    return entry


def compare_view(steps):
    """What the test compares: per step and topic, the normalized records in order; for the
    status topic (whose interleaving between connector and task writes depends on thread
    timing) the order within each key only, a record repeated at once counted once (Connect
    writes a topic's status once per batch that names it, and tombstones some keys twice);
    for the offsets topic the distinct keys and the last value per key (commit counts depend
    on the flush timer)."""
    out = []
    for s in steps:
        view = {"operation": s["operation"]}
        view["config"] = [r["norm"] for r in s["records"]["config"]]
        by_key = {}
        for r in s["records"]["status"]:
            seq = by_key.setdefault(json.dumps(r["norm"]["key"]), [])
            if not seq or seq[-1] != r["norm"]:
                seq.append(r["norm"])
        view["status"] = by_key
        last = {}
        for r in s["records"]["offsets"]:
            last[json.dumps(r["norm"]["key"])] = r["norm"]
        view["offsets"] = last
        out.append(view)
    return out


def test_connect_writes_the_golden_records(kafka, tmp_path):
    run = uuid.uuid4().hex[:8]
    topics = {"config": f"golden-{run}-configs", "offsets": f"golden-{run}-offsets",
              "status": f"golden-{run}-status"}
    data_topic = f"golden-{run}-data"
    infile = tmp_path / "input.txt"
    infile.write_text("".join(l + "\n" for l in LINES))
    size = infile.stat().st_size

    c = ConnectDistributed(tmp_path, kafka, group_id=f"golden-{run}",
                           topics=(topics["config"], topics["offsets"], topics["status"]))
    norm = Normalizer({f"127.0.0.1:{c.port}": "${worker_id}", str(infile): "${file}",
                       data_topic: "${topic}"})
    t0 = time.monotonic()
    seen = {t: set() for t in topics}
    nparts = {}
    steps = []

    def step(operation, request, note):
        print(f"{time.monotonic() - t0:6.1f} s {operation}", flush=True)
        dumps = settle(kafka, list(topics.values()), quiet=1.0)
        recs = {}
        for kind, t in topics.items():
            if kind not in nparts:
                nparts[kind] = partitions(kafka, t)
            new = [r for r in dumps[t] if (r["partition"], r["offset"]) not in seen[kind]]
            seen[kind].update((r["partition"], r["offset"]) for r in new)
            recs[kind] = [record_entry(kind, r, nparts[kind], norm) for r in new]
        steps.append({"operation": operation, "request": norm.text(request), "note": note,
                      "records": recs})

    def status(name):
        st, body = call("GET", f"{c.url}/connectors/{name}/status")
        return body if st == 200 else None

    def states(name):
        s = status(name)
        if not s:
            return None
        return (s["connector"]["state"], tuple(t["state"] for t in s["tasks"]))

    def wait_states(name, want, what):
        wait_for(lambda: states(name) == want, 60, f"{name} {what}: {want}", c.log)

    def committed_position():
        st, body = call("GET", f"{c.url}/connectors/{CONNECTOR}/offsets")
        offs = body.get("offsets", []) if st == 200 else []
        # After DELETE .../offsets Connect may list the partition with a null offset: reset.
        return (offs[0]["offset"] or {}).get("position") if offs else None

    config = {"connector.class": "FileStreamSource", "tasks.max": "1", "file": str(infile),
              "topic": data_topic}
    try:
        c.start()
        step("start", "ConnectDistributed worker.properties",
             "the first leader of a new group writes the session key (KIP-507)")

        c.rest("POST", "/connectors", {"name": CONNECTOR, "config": config})
        wait_states(CONNECTOR, ("RUNNING", ("RUNNING",)), "running")
        wait_for(lambda: committed_position() == size, 60, "the offset of the whole file", c.log)
        step("create", f"POST /connectors {{name: {CONNECTOR}, config}}; the task reads "
             f"{len(LINES)} lines ({size} bytes) and its offset is committed",
             "connector config, then task config, then commit; the offset of the file "
             "on the offsets topic")

        c.rest("POST", f"/connectors/{CONNECTOR}/restart?includeTasks=true&onlyFailed=false")
        wait_states(CONNECTOR, ("RUNNING", ("RUNNING",)), "running after restart")
        step("restart", f"POST /connectors/{CONNECTOR}/restart?includeTasks=true&onlyFailed=false",
             "a restart request record; RESTARTING then RUNNING statuses")

        c.rest("PUT", f"/connectors/{CONNECTOR}/pause")
        wait_states(CONNECTOR, ("PAUSED", ("PAUSED",)), "paused")
        step("pause", f"PUT /connectors/{CONNECTOR}/pause", "target state PAUSED")

        c.rest("PUT", f"/connectors/{CONNECTOR}/resume")
        wait_states(CONNECTOR, ("RUNNING", ("RUNNING",)), "resumed")
        step("resume", f"PUT /connectors/{CONNECTOR}/resume", "target state STARTED")

        new_config = dict(config, **{"batch.size": "100"})
        c.rest("PUT", f"/connectors/{CONNECTOR}/config", new_config)
        wait_for(lambda: (c.rest("GET", f"/connectors/{CONNECTOR}/tasks")[0]["config"]
                          .get("batch.size") == "100"), 60, "the new task config", c.log)
        wait_states(CONNECTOR, ("RUNNING", ("RUNNING",)), "running after reconfiguration")
        step("reconfigure", f"PUT /connectors/{CONNECTOR}/config (batch.size=100 added)",
             "a new connector config, then the new task config and a commit")

        c.rest("PUT", f"/connectors/{CONNECTOR}/stop")
        wait_states(CONNECTOR, ("STOPPED", ()), "stopped")
        step("stop", f"PUT /connectors/{CONNECTOR}/stop",
             "target state STOPPED (state.v2; state says PAUSED for older workers), then an "
             "empty task set (commit with 0 tasks)")

        c.rest("DELETE", f"/connectors/{CONNECTOR}/offsets")
        wait_for(lambda: committed_position() is None, 60, "the offsets reset", c.log)
        step("reset-offsets", f"DELETE /connectors/{CONNECTOR}/offsets (while STOPPED)",
             "a tombstone for the file's offset key on the offsets topic")

        c.rest("DELETE", f"/connectors/{CONNECTOR}")
        wait_for(lambda: call("GET", f"{c.url}/connectors/{CONNECTOR}")[0] == 404, 60,
                 "the connector gone", c.log)
        step("delete", f"DELETE /connectors/{CONNECTOR}",
             "connector config and target state deleted by null values; statuses tombstoned")

        c.rest("POST", "/connectors", {"name": STOPPED_CONNECTOR, "config": config,
                                       "initial_state": "STOPPED"})
        wait_states(STOPPED_CONNECTOR, ("STOPPED", ()), "created stopped")
        step("create-stopped", f"POST /connectors {{name: {STOPPED_CONNECTOR}, config, "
             "initial_state: STOPPED}", "target state written before the connector config")

        c.rest("DELETE", f"/connectors/{STOPPED_CONNECTOR}")
        wait_for(lambda: call("GET", f"{c.url}/connectors/{STOPPED_CONNECTOR}")[0] == 404, 60,
                 "the second connector gone", c.log)
        step("delete-stopped", f"DELETE /connectors/{STOPPED_CONNECTOR}", "")
    finally:
        c.stop()

    from connect_jars import connect_version
    doc = {
        "about": ("Records Apache Kafka Connect writes to its internal topics, one step per "
                  "REST operation, regenerated by tests/integration/test_connect_topics.py "
                  "(LC_REGEN_GOLDEN=1). key/value: the exact bytes as UTF-8 text (null: a "
                  "null key or a tombstone); partition: where the record is; "
                  "partition_is_murmur2: the Java client's default partitioner puts that "
                  "key there; norm: key/value with run-specific parts replaced "
                  "(${worker_id}, ${file}, ${topic}, <int> generations, <base64 key>, "
                  "<timestamp>, <trace>, <version or null>) — what the test compares."),
        "connect_version": connect_version(c.lib),
        "worker": {k: v for k, v in c.props.items()
                   if k not in ("bootstrap.servers", "listeners", "rest.advertised.port",
                                "plugin.path", "group.id", "config.storage.topic",
                                "offset.storage.topic", "status.storage.topic")},
        "topics": {k: {"partitions": nparts[k]} for k in topics},
        "connector": {"name": CONNECTOR, "config": {k: norm.text(v) for k, v in config.items()},
                      "input_lines": LINES},
        "steps": steps,
    }
    if os.environ.get("LC_REGEN_GOLDEN"):
        FIXTURE.parent.mkdir(parents=True, exist_ok=True)
        FIXTURE.write_text(json.dumps(doc, indent=1) + "\n")
        return
    (tmp_path / "connect_topics.now.json").write_text(json.dumps(doc, indent=1) + "\n")
    assert FIXTURE.exists(), f"{FIXTURE} missing: run with LC_REGEN_GOLDEN=1"
    want = json.loads(FIXTURE.read_text())
    assert want["topics"] == doc["topics"]
    got_view, want_view = compare_view(doc["steps"]), compare_view(want["steps"])
    for g, w in zip(got_view, want_view):
        assert g == w, (f"step {w['operation']}: Connect wrote other records than the "
                        f"fixture (this run: {tmp_path / 'connect_topics.now.json'})")
    assert len(got_view) == len(want_view)
