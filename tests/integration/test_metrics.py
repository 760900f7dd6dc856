"""GET /metrics on a real broker: a known workload (N records through a source, N through a
sink of which some fail into a dead letter queue with errors.tolerance=all) and the counters
that must say so, under Strimzi's names for Kafka Connect's metrics; the page is validated with
promtool (Prometheus and OpenMetrics text)."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Dict, Tuple

import pytest

from conftest import kcat_consume, kcat_produce, luaconnect_bin, unique_topic
from test_errors import plugins_dir
from worker import Worker, file_lines, wait_for

N = 300
BAD_EVERY = 25  # every 25th record of the sink's input fails its transform: 12 of 300

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def scrape(url: str, accept: str = "text/plain") -> Tuple[str, str]:
    req = urllib.request.Request(url + "/metrics", headers={"Accept": accept})
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.headers["Content-Type"], r.read().decode()


def samples(text: str) -> Dict[Tuple[str, frozenset], float]:
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, f"not a sample line: {line!r}"
        labels = frozenset(LABEL.findall(m.group(2) or ""))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def value(s, name: str, **labels) -> float:
    key = (name, frozenset((k, str(v)) for k, v in labels.items()))
    assert key in s, f"{name}{labels} missing; have: " + ", ".join(
        sorted({n for n, _ in s if n.startswith(name.rsplit('_', 2)[0])}))
    return s[key]


# promtool's lint rules on names that Kafka Connect's own metrics (and Strimzi's rules) fix:
# *_time_ms, *-count gauges. Every other lint problem fails the test.
CONNECT_NAMING = ("metric names should not contain abbreviated units",
                  'non-histogram and non-summary metrics should not have "_count" suffix')


def promtool_check(text: str) -> None:
    promtool = shutil.which("promtool")
    if not promtool:
        pytest.skip("promtool is not installed (Debian package prometheus, tools/deps.sh)")
    r = subprocess.run([promtool, "check", "metrics"], input=text.encode(), capture_output=True,
                       timeout=60)
    out = (r.stdout + r.stderr).decode()
    # Exit 1: the text does not parse; 3: lint problems only.
    assert r.returncode in (0, 3), out
    problems = [l for l in out.splitlines() if l.strip() and not l.endswith(CONNECT_NAMING)]
    assert not problems, out


def openmetrics_check(text: str) -> None:
    """OpenMetrics 1.0 rules promtool (a Prometheus text linter) does not know: the text ends
    with '# EOF', every sample follows its family's TYPE line, a counter's samples are named
    <family>_total, and a family appears once."""
    assert text.endswith("# EOF\n"), text[-200:]
    seen, family, ftype = set(), None, None
    for line in text.splitlines()[:-1]:
        if line.startswith("# TYPE "):
            _, _, family, ftype = line.split(" ")
            assert family not in seen, f"family {family} twice"
            seen.add(family)
            assert not (ftype == "counter" and family.endswith("_total")), line
            continue
        if line.startswith("#"):
            assert line.startswith(("# HELP ", "# UNIT ")), line
            continue
        name = SAMPLE.match(line).group(1)
        want = family + "_total" if ftype == "counter" else family
        assert name == want, f"sample {name} in family {family} ({ftype})"
    # and it still parses as Prometheus text
    promtool = shutil.which("promtool")
    if promtool:
        r = subprocess.run([promtool, "check", "metrics"], input=text.encode(),
                           capture_output=True, timeout=60)
        assert r.returncode in (0, 3), (r.stdout + r.stderr).decode()


# The kafka_connect_* series of Strimzi's dashboard for Kafka Connect
# (packaging/examples/metrics/grafana-dashboards/strimzi-kafka-connect.json).
STRIMZI_DASHBOARD = {
    "kafka_connect_worker_connector_count", "kafka_connect_worker_task_count",
    "kafka_connect_worker_connector_running_task_count",
    "kafka_connect_worker_connector_paused_task_count",
    "kafka_connect_worker_connector_failed_task_count",
    "kafka_connect_worker_connector_unassigned_task_count",
    "kafka_connect_worker_connector_destroyed_task_count",
    "kafka_connect_connector_status", "kafka_connect_connector_task_status",
}


def test_metrics_count_a_known_workload(kafka, tmp_path):
    src_topic, sink_topic, dlq = unique_topic("lc-m-src"), unique_topic("lc-m-in"), unique_topic("lc-m-dlq")
    src = tmp_path / "in.txt"
    src.write_bytes(b"".join(b"line %d\n" % i for i in range(N)))
    values = [b'{"n": %d, "bad": true}' % i if i % BAD_EVERY == 0 else b'{"n": %d}' % i
              for i in range(N)]
    bad = sum(1 for i in range(N) if i % BAD_EVERY == 0)
    kcat_produce(kafka, sink_topic, values)
    dst = tmp_path / "out.txt"
    w = Worker(tmp_path, kafka, [
        {"name": "m-source", "connector.class": "FileStreamSource", "tasks.max": "1",
         "file": str(src), "topic": src_topic,
         "value.converter": "org.apache.kafka.connect.storage.StringConverter",
         # a transform that keeps every record as it is, to time it
         "transforms": "route", "transforms.route.type": "org.apache.kafka.connect.transforms.RegexRouter",
         "transforms.route.regex": "(.*)", "transforms.route.replacement": "$1"},
        {"name": "m-sink", "connector.class": "FileStreamSink", "file": str(dst),
         "topics": sink_topic,
         "value.converter": "org.apache.kafka.connect.json.JsonConverter",
         "value.converter.schemas.enable": "false",
         "transforms": "check", "transforms.check.type": "check",
         "errors.tolerance": "all", "errors.log.enable": "true",
         "errors.deadletterqueue.topic.name": dlq,
         "errors.deadletterqueue.topic.replication.factor": "1"}],
        worker={"plugin.path": str(plugins_dir(tmp_path))})
    with w:
        url = w.url()
        wait_for(lambda: len(file_lines(dst)) >= N - bad, 60, "the good records", w.log)
        assert len(kcat_consume(kafka, src_topic, N)) == N
        assert len(kcat_consume(kafka, dlq, bad)) == bad

        def settled():
            s = samples(scrape(url)[1])
            key = ("kafka_connect_source_task_source_record_write_total",
                   frozenset({("connector", "m-source"), ("task", "0")}))
            return s.get(key) == N and s.get(
                ("kafka_connect_sink_task_sink_record_read_total",
                 frozenset({("connector", "m-sink"), ("task", "0")}))) == N
        wait_for(settled, 30, "the counters to reach N", w.log)
        time.sleep(1.5)  # one offset commit (offset.flush.interval.ms=1000)

        ctype, text = scrape(url)
        assert ctype == "text/plain; version=0.0.4; charset=utf-8"
        s = samples(text)
        src_t, snk_t = {"connector": "m-source", "task": 0}, {"connector": "m-sink", "task": 0}
        # source-task
        assert value(s, "kafka_connect_source_task_source_record_poll_total", **src_t) == N
        assert value(s, "kafka_connect_source_task_source_record_write_total", **src_t) == N
        assert value(s, "kafka_connect_source_task_source_record_active_count", **src_t) == 0
        assert value(s, "kafka_connect_source_task_source_record_write_rate", **src_t) > 0
        # sink-task: N read, the failures were not put
        assert value(s, "kafka_connect_sink_task_sink_record_read_total", **snk_t) == N
        assert value(s, "kafka_connect_sink_task_sink_record_send_total", **snk_t) == N - bad
        assert value(s, "kafka_connect_sink_task_partition_count", **snk_t) == 1
        assert value(s, "kafka_connect_sink_task_offset_commit_completion_total", **snk_t) >= 1
        assert value(s, "kafka_connect_sink_task_offset_commit_seq_no", **snk_t) == \
            value(s, "kafka_connect_sink_task_offset_commit_completion_total", **snk_t) + \
            value(s, "kafka_connect_sink_task_offset_commit_skip_total", **snk_t)
        assert value(s, "kafka_connect_sink_task_offset_commit_completion_rate", **snk_t) > 0
        assert value(s, "kafka_connect_sink_task_offset_commit_skip_rate", **snk_t) >= 0
        # the sink: all read was committed; at the end of its first batch nothing was
        assert value(s, "kafka_connect_sink_task_sink_record_active_count", **snk_t) == 0
        assert 1 <= value(s, "kafka_connect_sink_task_sink_record_active_count_avg", **snk_t) \
            <= value(s, "kafka_connect_sink_task_sink_record_active_count_max", **snk_t) <= N
        assert 0 <= value(s, "kafka_connect_source_task_source_record_active_count_avg", **src_t) \
            <= value(s, "kafka_connect_source_task_source_record_active_count_max", **src_t) <= N
        # task-error
        te = "kafka_connect_task_error_"
        assert value(s, te + "total_record_failures", **snk_t) == bad
        assert value(s, te + "total_record_errors", **snk_t) == bad
        assert value(s, te + "total_records_skipped", **snk_t) == bad
        assert value(s, te + "total_errors_logged", **snk_t) == bad
        assert value(s, te + "deadletterqueue_produce_requests", **snk_t) == bad
        assert value(s, te + "deadletterqueue_produce_failures", **snk_t) == 0
        assert value(s, te + "last_error_timestamp", **snk_t) > 1.6e12
        assert value(s, te + "total_record_failures", **src_t) == 0
        assert value(s, te + "last_error_timestamp", **src_t) == 0
        # connector, connector-task, worker
        assert value(s, "kafka_connect_connector_status", connector="m-sink", status="running") == 1
        assert value(s, "kafka_connect_connector_connector_type", connector="m-source",
                     connector_type="source") == 1
        assert value(s, "kafka_connect_connector_connector_class", connector="m-sink",
                     connector_class="FileStreamSink") == 1
        versions = [dict(l) for n, l in s if n == "kafka_connect_connector_connector_version"]
        assert {v["connector"] for v in versions} == {"m-source", "m-sink"}, versions
        assert all(v["connector_version"] for v in versions), versions
        assert value(s, "kafka_connect_connector_task_status", connector="m-sink", task=0,
                     status="running") == 1
        assert 0 < value(s, "kafka_connect_connector_task_running_ratio", **snk_t) <= 1
        assert value(s, "kafka_connect_connector_task_offset_commit_success_percentage",
                     **src_t) == 1
        assert value(s, "kafka_connect_worker_connector_count") == 2
        assert value(s, "kafka_connect_worker_connector_running_task_count", connector="m-sink") == 1
        assert value(s, "kafka_connect_worker_connector_total_task_count", connector="m-sink") == 1
        assert value(s, "kafka_connect_worker_connector_failed_task_count", connector="m-sink") == 0
        assert value(s, "kafka_connect_worker_task_count") == 2
        assert value(s, "luaconnect_transform_records_dropped_total", **src_t) == 0
        assert 0 < value(s, "luaconnect_task_lua_memory_bytes", **snk_t) < 1 << 30
        assert 0 < value(s, "luaconnect_task_lua_memory_bytes", **src_t) < 1 << 30
        assert value(s, "kafka_connect_sink_task_sink_record_lag_max", **snk_t) == 0
        assert value(s, "luaconnect_consumer_lag", topic=sink_topic, partition=0, **snk_t) == 0
        assert value(s, "kafka_connect_worker_task_startup_attempts_total") == 2
        assert value(s, "kafka_connect_worker_task_startup_success_total") == 2
        assert value(s, "kafka_connect_worker_task_startup_failure_total") == 0
        assert value(s, "kafka_connect_worker_task_startup_success_percentage") == 1
        assert value(s, "kafka_connect_worker_connector_startup_attempts_total") == 2
        assert value(s, "kafka_connect_worker_connector_startup_success_total") == 2
        assert value(s, "kafka_connect_worker_connector_startup_failure_total") == 0
        assert value(s, "kafka_connect_worker_connector_startup_success_percentage") == 1
        assert value(s, "kafka_connect_worker_connector_startup_failure_percentage") == 0
        # per-transform time: the SDK times one record in 256, the first included
        route = {"transform": "route", **src_t}
        assert value(s, "luaconnect_transform_sampled_records_total", **route) == -(-N // 256)
        spent = value(s, "luaconnect_transform_sampled_time_seconds_total", **route)
        assert 0 < spent < 1, spent
        avg = value(s, "luaconnect_transform_avg_time_ms", **route)
        assert abs(avg - spent * 1000 / -(-N // 256)) < 1e-3 * avg + 1e-6, (avg, spent)
        assert value(s, "luaconnect_transform_dropped_total", **route) == 0
        check = {"transform": "check", **snk_t}  # the sink's: its failing records are not timed
        assert 1 <= value(s, "luaconnect_transform_sampled_records_total", **check) <= -(-N // 256)
        assert not any(n.startswith("kafka_connect_worker_rebalance") for n, _ in s)  # standalone
        # every Kafka Connect name Strimzi's Grafana dashboard (strimzi-kafka-connect.json) asks for
        names = {n for n, _ in s}
        assert STRIMZI_DASHBOARD <= names, STRIMZI_DASHBOARD - names
        assert "# TYPE kafka_connect_source_task_source_record_write_total counter" in text
        promtool_check(text)

        # OpenMetrics when the scraper asks for it (as Prometheus does)
        ctype, om = scrape(url, "application/openmetrics-text;version=1.0.0,text/plain;q=0.5")
        assert ctype == "application/openmetrics-text; version=1.0.0; charset=utf-8"
        assert om.endswith("# EOF\n")
        assert "# TYPE kafka_connect_source_task_source_record_write counter" in om
        assert value(samples(om), "kafka_connect_source_task_source_record_write_total",
                     **src_t) == N
        openmetrics_check(om)

        # luaconnect status: the same figures in a terminal view of 80 columns
        r = subprocess.run([str(luaconnect_bin()), "status", "--url", url, "--interval", "0.5"],
                           capture_output=True, timeout=60)
        out = r.stdout.decode()
        assert r.returncode == 0, out + r.stderr.decode()
        print(out)
        lines = out.splitlines()
        assert all(len(l) <= 80 for l in lines), out
        assert lines[0].split() == ["CONNECTOR", "TYPE", "STATE", "TASKS", "REC/S", "RECORDS",
                                    "ERRORS"], out
        rows = {l.split()[0]: l.split() for l in lines[1:] if not l.startswith(" ")}
        assert rows["m-source"] == ["m-source", "source", "RUNNING", "1/1", "0", str(N), "0"], out
        assert rows["m-sink"] == ["m-sink", "sink", "RUNNING", "1/1", "0", str(N - bad),
                                  str(bad)], out
        task_rows = [l.split() for l in lines if l.startswith("  task ")]
        assert len(task_rows) == 2 and all(t[3] == "RUNNING" for t in task_rows), out
        assert w.stop() == 0


def test_metrics_share_the_api_auth(kafka, tmp_path):
    users = tmp_path / "users.properties"
    users.write_text("admin=secret\n")
    w = Worker(tmp_path, kafka, [], worker={"rest.basic.auth.credentials.file": str(users)})
    with w:
        url = w.url()
        with pytest.raises(urllib.error.HTTPError) as e:
            scrape(url)
        assert e.value.code == 401
        req = urllib.request.Request(url + "/metrics", headers={
            "Authorization": "Basic " + base64.b64encode(b"admin:secret").decode()})
        with urllib.request.urlopen(req, timeout=30) as r:
            assert r.status == 200
            assert "kafka_connect_worker_connector_count 0" in r.read().decode()
        # luaconnect status takes the credentials in the URL
        authed = url.replace("http://", "http://admin:secret@")
        r = subprocess.run([str(luaconnect_bin()), "status", "--url", authed, "--interval", "0"],
                           capture_output=True, timeout=60)
        assert r.returncode == 0, r.stderr
        assert r.stdout.decode().splitlines()[1] == "(no connectors)"
        r = subprocess.run([str(luaconnect_bin()), "status", "--url", url], capture_output=True,
                           timeout=60)
        assert r.returncode == 1
        assert r.stderr.decode().startswith("luaconnect status: GET " + url +
                                            "/connectors?expand=status&expand=info answered 401")
        assert w.stop() == 0


def test_status_names_an_unreachable_worker(tmp_path):
    r = subprocess.run([str(luaconnect_bin()), "status", "--url", "http://127.0.0.1:1"],
                       capture_output=True, timeout=60)
    assert r.returncode == 1
    assert r.stderr.decode().startswith("luaconnect status: cannot reach http://127.0.0.1:1/"), r.stderr
    assert r.stdout == b""
    r = subprocess.run([str(luaconnect_bin()), "status", "--bogus"], capture_output=True, timeout=60)
    assert r.returncode == 2
    assert b"usage: luaconnect status [--url URL] [--interval SECONDS]" in r.stderr


def test_distributed_workers_show_their_own_tasks_and_the_rebalance_group(kafka, tmp_path):
    from cluster import Cluster
    src = tmp_path / "in.txt"
    src.write_bytes(b"".join(b"d %d\n" % i for i in range(N)))
    topic = unique_topic("lc-m-dist")
    with Cluster(tmp_path, kafka, n=2) as c:
        c.start()
        a, b = c.workers
        a.rest("POST", "/connectors", {"name": "d-src", "config": {
            "connector.class": "FileStreamSource", "tasks.max": "1", "file": str(src),
            "topic": topic, "value.converter": "org.apache.kafka.connect.storage.StringConverter"}})
        key = ("kafka_connect_source_task_source_record_write_total",
               frozenset({("connector", "d-src"), ("task", "0")}))
        wait_for(lambda: sum(samples(scrape(w.url)[1]).get(key, 0) for w in c.workers) == N, 60,
                 "N records written, counted on the worker running the task", a.log)
        status = a.rest("GET", "/connectors/d-src/status")
        runs = status["tasks"][0]["worker_id"]
        leader = c.leader()
        for w in c.workers:
            text = scrape(w.url)[1]
            s = samples(text)
            assert value(s, "kafka_connect_worker_rebalance_completed_rebalances_total") >= 1
            assert value(s, "kafka_connect_worker_rebalance_epoch") >= 0
            assert value(s, "kafka_connect_worker_rebalance_time_since_last_rebalance_ms") >= 0
            assert value(s, "kafka_connect_worker_rebalance_connect_protocol",
                         connect_protocol="SESSIONED") == 1
            names = [dict(l)["leader_name"] for n, l in s
                     if n == "kafka_connect_worker_rebalance_leader_name"]
            assert [n.rstrip("/") for n in names] == [leader.url.rstrip("/")], (names, leader.url)
            assert value(s, "kafka_connect_worker_rebalance_rebalancing") in (0, 1)
            assert 0 <= value(s, "kafka_connect_worker_rebalance_rebalance_avg_time_ms") <= \
                value(s, "kafka_connect_worker_rebalance_rebalance_max_time_ms")
            # the connector starts once, on the worker that owns it
            owner = status["connector"]["worker_id"] == w.worker_id
            assert value(s, "kafka_connect_worker_connector_startup_attempts_total") == (1 if owner else 0)
            assert value(s, "kafka_connect_worker_connector_startup_success_total") == (1 if owner else 0)
            assert value(s, "kafka_connect_coordinator_assigned_connectors") == (1 if owner else 0)
            mine = w.worker_id == runs
            assert (key in s) == mine, (w.worker_id, runs)
            assert value(s, "kafka_connect_worker_task_count") == (1 if mine else 0)
            assert value(s, "kafka_connect_coordinator_assigned_tasks") == (1 if mine else 0)
            if mine:
                assert value(s, "kafka_connect_connector_task_status", connector="d-src",
                             task=0, status="running") == 1
            promtool_check(text)
        # stopped: no worker shows the task's counters any more
        a.rest("PUT", "/connectors/d-src/stop")
        wait_for(lambda: all(key not in samples(scrape(w.url)[1]) for w in c.workers), 60,
                 "the stopped task's counters gone from every worker", a.log)


# drops the record "b"
IDENTITY = ('local connect = require "luaconnect"\n'
            'return connect.transform { apply = function(r)\n'
            '  if r.value == "b" then return nil end\n'
            '  return r\n'
            'end }  -- @V@\n')


def test_hot_reloads_are_counted(kafka, tmp_path):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    tag = plugins / "tag.lua"
    tag.write_text(IDENTITY.replace("@V@", "1"))
    src = tmp_path / "in.txt"
    src.write_bytes(b"a\nb\n")
    w = Worker(tmp_path, kafka, [
        {"name": "r-src", "connector.class": "FileStreamSource", "file": str(src),
         "topic": unique_topic("lc-m-reload"), "transforms": "tag", "transforms.tag.type": "tag",
         "value.converter": "org.apache.kafka.connect.storage.StringConverter"}],
        worker={"plugin.path": str(plugins)})
    conn, task = {"connector": "r-src"}, {"connector": "r-src", "task": 0}
    with w:
        url = w.url()
        wait_for(lambda: w.status("r-src", 0) and w.status("r-src", 0)[0] == "RUNNING", 60,
                 "the task running", w.log)

        def metric(name, **labels):
            s = samples(scrape(url)[1])
            return s.get((name, frozenset((k, str(v)) for k, v in labels.items())))

        assert metric("luaconnect_connector_reloads_total", **conn) == 0
        wait_for(lambda: metric("luaconnect_transform_dropped_total", transform="tag", **task) == 1,
                 30, "the dropped record counted for its transform", w.log)
        assert metric("luaconnect_transform_records_dropped_total", **task) == 1
        tag.write_text("this is not Lua\n")  # refused: the old code stays
        wait_for(lambda: metric("luaconnect_connector_reload_failures_total", **conn) == 1, 30,
                 "a failed reload counted", w.log)
        assert metric("luaconnect_task_reloads_total", **task) == 0
        tag.write_text(IDENTITY.replace("@V@", "2"))
        wait_for(lambda: metric("luaconnect_connector_reloads_total", **conn) == 1, 30,
                 "a reload counted", w.log)
        wait_for(lambda: metric("luaconnect_task_reloads_total", **task) == 1, 30,
                 "the task took the new transform", w.log)
        assert metric("luaconnect_connector_reload_failures_total", **conn) == 1
        assert metric("luaconnect_task_reload_failures_total", **task) == 0
        assert w.stop() == 0


def test_a_failed_task_in_metrics_and_status(kafka, tmp_path):
    topic = unique_topic("lc-m-fail")
    kcat_produce(kafka, topic, [b'{"n": 1}', b'{"n": 2, "broken": ', b'{"n": 3}'])
    w = Worker(tmp_path, kafka, [
        {"name": "f-sink", "connector.class": "FileStreamSink", "file": str(tmp_path / "o.txt"),
         "topics": topic, "value.converter": "org.apache.kafka.connect.json.JsonConverter",
         "value.converter.schemas.enable": "false"}])
    with w:
        url = w.url()
        wait_for(lambda: w.status("f-sink", 0) and w.status("f-sink", 0)[0] == "FAILED", 60,
                 "the task FAILED on the malformed record", w.log)
        text = scrape(url)[1]
        s = samples(text)
        t = {"connector": "f-sink", "task": 0}
        assert value(s, "kafka_connect_connector_task_status", status="failed", **t) == 1
        assert value(s, "kafka_connect_task_error_total_record_failures", **t) == 1
        assert value(s, "kafka_connect_task_error_total_record_errors", **t) == 0
        assert value(s, "kafka_connect_task_error_total_records_skipped", **t) == 0
        assert value(s, "kafka_connect_task_error_last_error_timestamp", **t) > 1.6e12
        assert value(s, "kafka_connect_worker_connector_failed_task_count", connector="f-sink") == 1
        promtool_check(text)

        r = subprocess.run([str(luaconnect_bin()), "status", "--url", url, "--interval", "0"],
                           capture_output=True, timeout=60)
        out = r.stdout.decode()
        assert r.returncode == 0, out + r.stderr.decode()
        lines = out.splitlines()
        assert all(len(l) <= 80 for l in lines), out
        assert lines[1].split()[:4] == ["f-sink", "sink", "RUNNING", "0/1"], out
        assert lines[2].split()[0:3] == ["task", "0", w.url().split("//")[1]], out
        assert lines[2].split()[3] == "FAILED", out
        # the first line of the trace under the task, on at most two lines of the width
        assert lines[3].startswith("    ") and lines[4].startswith("    "), out
        assert "stage VALUE_CONVERTER" in lines[3][4:] + lines[4][4:], out
        assert w.stop() == 0


def test_a_rebalance_in_a_two_worker_cluster(kafka, tmp_path):
    """A third worker joins: each worker's completed-rebalances-total grows and its epoch
    follows; the leader stops: the one left names the new leader."""
    from cluster import Cluster
    R = "kafka_connect_worker_rebalance_"
    with Cluster(tmp_path, kafka, n=2) as c:
        c.start()
        a, b = c.workers

        def rebalances(w):
            s = samples(scrape(w.url)[1])
            return (s.get((R + "completed_rebalances_total", frozenset())),
                    s.get((R + "epoch", frozenset())))
        wait_for(lambda: all(rebalances(w)[0] for w in (a, b)), 60, "a first rebalance", a.log)
        leader = c.leader()
        wait_for(lambda: all(rebalances(w)[1] == rebalances(leader)[1] for w in (a, b)), 60,
                 "both workers on the same generation", a.log)
        before = {w.worker_id: rebalances(w) for w in (a, b)}
        third = c.add_worker()
        third.wait_rest()
        wait_for(lambda: all(rebalances(w)[0] > before[w.worker_id][0] and
                             rebalances(w)[1] > before[w.worker_id][1] for w in (a, b)), 60,
                 "the join counted as a rebalance on both workers", a.log)
        for w in (a, b, third):
            text = scrape(w.url)[1]
            s = samples(text)
            names = [dict(l)["leader_name"] for n, l in s if n == R + "leader_name"]
            assert [n.rstrip("/") for n in names] == [leader.url.rstrip("/")], names
            assert s[(R + "time_since_last_rebalance_ms", frozenset())] >= 0
            assert s[(R + "rebalance_max_time_ms", frozenset())] >= 0
            promtool_check(text)
            openmetrics_check(scrape(w.url, "application/openmetrics-text")[1])
        # the leader leaves: a survivor leads, and every survivor names it
        leader.stop()
        survivors = [w for w in (a, b, third) if w is not leader]
        new_leader = c.leader()
        assert new_leader is not leader

        def named(w):
            s = samples(scrape(w.url)[1])
            return [dict(l)["leader_name"].rstrip("/") for n, l in s if n == R + "leader_name"]
        wait_for(lambda: all(named(w) == [new_leader.url.rstrip("/")] for w in survivors), 60,
                 "the survivors name the new leader", survivors[0].log)


def test_connector_startups_are_counted(kafka, tmp_path):
    """A connector whose transform script broke fails when restarted: a failed startup."""
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    tag = plugins / "tag.lua"
    tag.write_text(IDENTITY.replace("@V@", "1"))
    src = tmp_path / "in.txt"
    src.write_bytes(b"a\n")
    w = Worker(tmp_path, kafka, [
        {"name": "s-src", "connector.class": "FileStreamSource", "file": str(src),
         "topic": unique_topic("lc-m-start"), "transforms": "tag", "transforms.tag.type": "tag",
         "value.converter": "org.apache.kafka.connect.storage.StringConverter"}],
        worker={"plugin.path": str(plugins)})
    W = "kafka_connect_worker_connector_startup_"
    with w:
        url = w.url()
        wait_for(lambda: w.status("s-src", 0) and w.status("s-src", 0)[0] == "RUNNING", 60,
                 "the task running", w.log)
        s = samples(scrape(url)[1])
        assert (value(s, W + "attempts_total"), value(s, W + "success_total"),
                value(s, W + "failure_total")) == (1, 1, 0)
        tag.write_text("this is not Lua\n")  # a refused hot reload: no startup
        wait_for(lambda: samples(scrape(url)[1]).get(
            ("luaconnect_connector_reload_failures_total", frozenset({("connector", "s-src")}))) == 1,
            30, "the failed reload", w.log)
        s = samples(scrape(url)[1])
        assert value(s, W + "attempts_total") == 1
        req = urllib.request.Request(url + "/connectors/s-src/restart", method="POST")
        with urllib.request.urlopen(req, timeout=30) as r:
            assert r.status in (200, 202, 204)
        text = scrape(url)[1]
        s = samples(text)
        assert (value(s, W + "attempts_total"), value(s, W + "success_total"),
                value(s, W + "failure_total")) == (2, 1, 1)
        assert value(s, W + "success_percentage") == 0.5
        assert value(s, W + "failure_percentage") == 0.5
        assert value(s, "kafka_connect_connector_status", connector="s-src", status="failed") == 1
        promtool_check(text)
        assert w.stop() == 0


SLOW_SINK = ('local connect = require "luaconnect"\n'
             'local core = require "luaconnect.core"\n'
             'return connect.sink { put = function(task, records) core.sleep_ms(700) end }\n')


def test_consumer_lag_per_partition(kafka, tmp_path):
    """A slow sink behind a 2-partition backlog: its lag per partition is at most what the
    partition holds, sink-record-lag-max is their largest, and both reach 0 once it read all."""
    from kafka_records import create_topic
    topic = unique_topic("lc-m-lag")
    create_topic(kafka, topic, partitions=2)
    per = {0: 1500, 1: 300}
    for part, n in per.items():
        r = subprocess.run(["kcat", "-q", "-b", kafka, "-P", "-t", topic, "-p", str(part),
                            "-X", "acks=all"], input=b"".join(b"v%d\n" % i for i in range(n)),
                           capture_output=True, timeout=60)
        assert r.returncode == 0, r.stderr
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "slow.lua").write_text(SLOW_SINK)
    w = Worker(tmp_path, kafka, [
        {"name": "lag-sink", "connector.class": "slow", "topics": topic,
         "value.converter": "org.apache.kafka.connect.storage.StringConverter"}],
        worker={"plugin.path": str(plugins)})
    t = {"connector": "lag-sink", "task": 0}
    seen = []
    with w:
        url = w.url()

        def sample():
            s = samples(scrape(url)[1])
            lags = {p: s.get(("luaconnect_consumer_lag", frozenset(
                {("connector", "lag-sink"), ("task", "0"), ("topic", topic), ("partition", str(p))})))
                for p in per}
            mx = s.get(("kafka_connect_sink_task_sink_record_lag_max",
                        frozenset((k, str(v)) for k, v in t.items())))
            read = s.get(("kafka_connect_sink_task_sink_record_read_total",
                          frozenset((k, str(v)) for k, v in t.items())))
            active = s.get(("kafka_connect_sink_task_sink_record_active_count",
                            frozenset((k, str(v)) for k, v in t.items())))
            assert active is None or 0 <= active <= (read or 0), (active, read)
            seen.append((lags, mx, read))
            return lags, mx, read

        def done():
            lags, mx, read = sample()
            return read == sum(per.values()) and all(v == 0 for v in lags.values()) and mx == 0
        wait_for(done, 90, "the backlog read and the lag back to 0", w.log)
        # a partition shows once the task has read from it (it has a position)
        measured = [({p: v for p, v in lags.items() if v is not None}, mx) for lags, mx, _ in seen]
        assert any(sum(lags.values()) > 0 for lags, _ in measured), seen  # it was behind once
        for lags, mx in measured:
            assert all(0 <= lags[p] <= per[p] for p in lags), lags
            # sampled together at the same commit
            assert mx == max(lags.values(), default=0), (lags, mx)
        promtool_check(scrape(url)[1])
        assert w.stop() == 0
