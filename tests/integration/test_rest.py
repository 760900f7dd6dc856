"""The REST API (Kafka Connect 4.x's paths, codes and JSON shapes) through real HTTP against
a real worker running real connectors on the real broker.

Connectors used: FileStreamSource / FileStreamSink (scripts/), and two test connectors in
tests/integration/plugins/: marker_source.lua (one marker directory per open task, so a
task that runs twice is caught) and secret_source.lua (a password key, for masking).

The helpers at the top (Api, start_worker, wait_status, ...) are used by
test_rest_concurrency.py too.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import socket
import ssl
import subprocess
import time
from pathlib import Path
from typing import Any, Dict, List, Optional
from urllib.parse import quote, urlsplit

import pytest

from conftest import REPO_ROOT, kcat_consume, kcat_produce, luaconnect_bin, unique_topic
from worker import Worker, file_lines, wait_for, write_props

PLUGINS = Path(__file__).resolve().parent / "plugins"
STRING = "org.apache.kafka.connect.storage.StringConverter"
_NO_BODY = object()


# --------------------------------------------------------------------------
# HTTP


def kafka_shape(o: Any) -> Any:
    """o without luaconnect's additions to Kafka Connect's connector info and status: the
    "scripts" list (which script versions run, for hot reload)."""
    if isinstance(o, list):
        return [kafka_shape(v) for v in o]
    if isinstance(o, dict):
        drop = "scripts" if "name" in o and "type" in o else None
        return {k: kafka_shape(v) for k, v in o.items() if k != drop}
    return o


class Resp:
    """An answer: code, headers (lower-case names), text, json (Kafka Connect's shape: see
    kafka_shape) and raw_json (as sent)."""

    def __init__(self, code: int, headers: Dict[str, str], text: str):
        self.code, self.headers, self.text = code, headers, text
        try:
            self.raw_json = json.loads(text) if text else None
        except ValueError:
            self.raw_json = None
        self.json = kafka_shape(self.raw_json)

    def __repr__(self):
        return f"<{self.code} {self.text[:300]}>"


class Api:
    """A REST client on http.client. keep=True reuses one connection (a session)."""

    def __init__(self, base: str, ctx: Optional[ssl.SSLContext] = None,
                 auth: Optional[tuple] = None, keep: bool = False, timeout: float = 90):
        u = urlsplit(base)
        self.https = u.scheme == "https"
        self.host, self.port = u.hostname, u.port
        self.ctx, self.auth, self.keep, self.timeout = ctx, auth, keep, timeout
        self.conn = None

    def _connect(self):
        if self.https:
            return http.client.HTTPSConnection(self.host, self.port, context=self.ctx,
                                               timeout=self.timeout)
        return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)

    def request(self, method: str, path: str, body: Any = _NO_BODY, *, raw: Optional[bytes] = None,
                content_type: Optional[str] = "application/json", headers: Optional[dict] = None,
                auth: Any = _NO_BODY, chunked: bool = False) -> Resp:
        hdrs = dict(headers or {})
        data = None
        if raw is not None:
            data = raw
        elif body is not _NO_BODY:
            data = json.dumps(body).encode()
        if data is not None and content_type:
            hdrs["Content-Type"] = content_type
        creds = self.auth if auth is _NO_BODY else auth
        if creds:
            token = base64.b64encode(f"{creds[0]}:{creds[1]}".encode()).decode()
            hdrs["Authorization"] = "Basic " + token
        for attempt in (0, 1):
            conn = self.conn if self.keep and self.conn else self._connect()
            try:
                try:
                    if chunked:
                        conn.request(method, path, body=iter([data]), headers=hdrs,
                                     encode_chunked=True)
                    else:
                        conn.request(method, path, body=data, headers=hdrs)
                except (BrokenPipeError, ConnectionResetError):
                    # The server answered (413) and closed before the whole body was sent:
                    # its answer is still in the socket.
                    if data is None or len(data) < (1 << 20):
                        raise
                r = conn.getresponse()
                text = r.read().decode("utf-8", errors="replace")
                out = Resp(r.status, {k.lower(): v for k, v in r.getheaders()}, text)
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                conn.close()
                self.conn = None
                if self.keep and attempt == 0:
                    continue  # the server closed an idle kept-alive connection
                raise
            if self.keep:
                self.conn = conn
            else:
                conn.close()
            return out
        raise AssertionError("unreachable")

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=_NO_BODY, **kw):
        return self.request("POST", path, body, **kw)

    def put(self, path, body=_NO_BODY, **kw):
        return self.request("PUT", path, body, **kw)

    def patch(self, path, body=_NO_BODY, **kw):
        return self.request("PATCH", path, body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def close(self):
        if self.conn:
            self.conn.close()
            self.conn = None


def error(code: int, message: str) -> dict:
    return {"error_code": code, "message": message}


def not_found(name: str) -> dict:
    return error(404, f"Connector {name} not found")


METHOD_NOT_ALLOWED = error(405, "HTTP 405 Method Not Allowed")


# --------------------------------------------------------------------------
# workers


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture
def workers():
    """start(tmp, kafka, ...) -> (Worker, Api); every worker is killed at teardown."""
    started: List[Worker] = []

    def start(tmp: Path, kafka: str, connectors=(), worker: Optional[dict] = None,
              name: str = "w", ctx=None, auth=None):
        props = {"key.converter": STRING, "value.converter": STRING,
                 "plugin.path": str(PLUGINS), "task.shutdown.graceful.timeout.ms": "2000"}
        props.update(worker or {})
        w = Worker(tmp, kafka, list(connectors), worker=props, name=name)
        w.start()
        started.append(w)
        api = Api(w.url(), ctx=ctx, auth=auth)
        wait_up(api, w)
        return w, api

    yield start
    for w in started:
        if w.alive():
            w.proc.kill()
            w.proc.wait(30)


def wait_up(api: Api, w: Worker, timeout: float = 30) -> None:
    """Waits until the worker answers (a restarted worker's log still holds the old URL)."""
    def up():
        try:
            return api.get("/health").code in (200, 401)
        except OSError:
            assert w.alive(), "the worker exited:\n" + w.log()[-4000:]
            return False
    wait_for(up, timeout, "the REST API to answer", w.log)


def wait_status(api: Api, name: str, state: str, tasks: Optional[List[str]] = None,
                timeout: float = 30, w: Optional[Worker] = None) -> dict:
    """Waits until GET status shows the connector in state and its tasks in the given states."""
    last = {}

    def ok():
        r = api.get(f"/connectors/{quote(name)}/status")
        last["r"] = r
        if r.code != 200 or r.json["connector"]["state"] != state:
            return False
        return tasks is None or [t["state"] for t in r.json["tasks"]] == tasks

    try:
        wait_for(ok, timeout, f"{name} to be {state} with tasks {tasks}", w.log if w else None)
    except AssertionError as e:
        raise AssertionError(f"{e}\nlast status: {last.get('r')}") from None
    return last["r"].json


def file_source(name: str, path: Path, topic: str, **extra) -> dict:
    cfg = {"connector.class": "FileStreamSource", "file": str(path), "topic": topic}
    cfg.update(extra)
    return cfg


def marker(tmp: Path, **extra) -> dict:
    d = tmp / "markers"
    d.mkdir(exist_ok=True)
    cfg = {"connector.class": "MarkerSource", "marker.dir": str(d)}
    cfg.update(extra)
    return cfg


def markers(tmp: Path) -> List[str]:
    d = tmp / "markers"
    return sorted(p.name for p in d.iterdir() if p.is_dir()) if d.exists() else []


def anomalies(tmp: Path) -> str:
    f = tmp / "markers" / "anomalies.log"
    return f.read_text() if f.exists() else ""


def status_json(name: str, worker_id: str, state: str, tasks: List[str], kind: str,
                version: str = "1.0.0") -> dict:
    """Connect 4.x's status body; version: the plugin's (the test plugins' 1.0.0)."""
    return {"name": name, "connector": {"state": state, "worker_id": worker_id, "version": version},
            "tasks": [{"id": i, "state": s, "worker_id": worker_id, "version": version}
                      for i, s in enumerate(tasks)],
            "type": kind}


def worker_id(api: Api) -> str:
    return f"{api.host}:{api.port}"


def lines_of(bootstrap: str, topic: str, count: int, timeout: float = 30) -> List[str]:
    return [v.decode() for v in kcat_consume(bootstrap, topic, count, timeout)]


def settle_lines(bootstrap: str, topic: str, expect: int, extra_wait: float = 1.5) -> List[str]:
    """All values of topic once expect exist, after waiting a little for any surplus."""
    got = lines_of(bootstrap, topic, expect)
    assert len(got) == expect, f"expected {expect} records in {topic}, got {got}"
    time.sleep(extra_wait)
    return lines_of(bootstrap, topic, expect + 1000, timeout=2)


# --------------------------------------------------------------------------
# GET / and /health


def test_root_and_health(tmp_path, kafka, workers):
    w, api = workers(tmp_path, kafka)
    version = subprocess.run([str(luaconnect_bin()), "--version"], stdout=subprocess.PIPE,
                             text=True, check=True).stdout
    r = api.get("/")
    assert r.code == 200 and r.headers["content-type"] == "application/json"
    assert set(r.json) == {"version", "commit", "kafka_cluster_id"}
    assert r.json["version"] in version
    assert isinstance(r.json["commit"], str) and r.json["commit"]
    # The real broker's cluster id (KRaft: 22 characters of base64).
    assert isinstance(r.json["kafka_cluster_id"], str) and len(r.json["kafka_cluster_id"]) == 22

    r = api.get("/health")
    assert (r.code, r.json) == (200, {"status": "healthy", "message":
                                      "Worker has completed startup and is ready to handle requests."})
    for method, path in [("POST", "/"), ("DELETE", "/"), ("PUT", "/health")]:
        r = api.request(method, path)
        assert (r.code, r.json) == (405, METHOD_NOT_ALLOWED), (method, path)


# --------------------------------------------------------------------------
# connectors: create, read, change, delete


def test_connector_lifecycle_file_source(tmp_path, kafka, workers):
    w, api = workers(tmp_path, kafka)
    wid = worker_id(api)
    src = tmp_path / "in.txt"
    src.write_text("a\nb\nc\n")
    t1, t2 = unique_topic("rest-src1"), unique_topic("rest-src2")

    assert (api.get("/connectors").code, api.get("/connectors").json) == (200, [])

    cfg = file_source("src", src, t1)
    r = api.post("/connectors", {"name": "src", "config": cfg})
    info = {"name": "src", "config": dict(cfg, name="src"), "tasks": [{"connector": "src", "task": 0}],
            "type": "source"}
    assert (r.code, r.json) == (201, info)
    assert r.headers["location"] == "/connectors/src"
    wait_status(api, "src", "RUNNING", ["RUNNING"], w=w)
    assert lines_of(kafka, t1, 3) == ["a", "b", "c"]

    assert api.get("/connectors").json == ["src"]
    r = api.get("/connectors/src")
    assert (r.code, r.json) == (200, info)
    r = api.get("/connectors/src/config")
    assert (r.code, r.json) == (200, dict(cfg, name="src"))
    status = status_json("src", wid, "RUNNING", ["RUNNING"], "source")
    r = api.get("/connectors/src/status")
    assert (r.code, r.json) == (200, status)
    # Exactly Connect's fields by default; ours (the scripts that run) when asked for.
    assert "scripts" not in json.loads(r.text) and "scripts" not in json.loads(
        api.get("/connectors/src").text)
    ours = json.loads(api.get("/connectors/src/status?expand=scripts").text)
    assert [x["path"].rsplit("/", 1)[-1] for x in ours["scripts"]][-1] == "file_source.lua", ours
    assert "scripts" in json.loads(api.get("/connectors/src?expand=scripts").text)
    listed = json.loads(api.get("/connectors?expand=status&expand=info").text)["src"]
    assert "scripts" not in listed["status"] and "scripts" not in listed["info"]
    listed = json.loads(api.get("/connectors?expand=status&expand=scripts").text)["src"]
    assert "scripts" in listed["status"]
    r = api.get("/connectors/src/tasks/0/status")
    assert (r.code, r.json) == (200, {"id": 0, "state": "RUNNING", "worker_id": wid,
                                  "version": "1.0.0"})
    r = api.get("/connectors/src/tasks")
    assert r.code == 200 and len(r.json) == 1
    assert r.json[0]["id"] == {"connector": "src", "task": 0}
    tcfg = r.json[0]["config"]
    assert all(isinstance(v, str) for v in tcfg.values())  # Kafka Connect's string maps
    # as Kafka Connect's: the user's keys, not the script's defaults (batch.size)
    assert tcfg == dict(cfg, name="src", **{"task.class":
                                            "org.apache.kafka.connect.file.FileStreamSourceTask"})

    assert api.get("/connectors?expand=status").json == {"src": {"status": status}}
    assert api.get("/connectors?expand=info").json == {"src": {"info": info}}
    assert api.get("/connectors?expand=status&expand=info").json == \
        {"src": {"status": status, "info": info}}

    r = api.post("/connectors", {"name": "src", "config": cfg})
    assert (r.code, r.json) == (409, error(409, "Connector src already exists"))

    # PUT on an existing connector: 200, new config; the file source resumes at its offset,
    # so only the line appended afterwards goes to the new topic.
    cfg2 = file_source("src", src, t2)
    r = api.put("/connectors/src/config", cfg2)
    assert (r.code, r.json) == (200, dict(info, config=dict(cfg2, name="src")))
    assert "location" not in r.headers
    wait_status(api, "src", "RUNNING", ["RUNNING"], w=w)
    with src.open("a") as f:
        f.write("d\n")
    assert settle_lines(kafka, t2, 1) == ["d"]
    assert lines_of(kafka, t1, 10, timeout=2) == ["a", "b", "c"]

    # PATCH merges; null removes a key; the name may be repeated but not changed.
    r = api.patch("/connectors/src/config", {"batch.size": "10", "name": "src"})
    assert r.code == 200 and r.json["config"] == dict(cfg2, name="src", **{"batch.size": "10"})
    r = api.patch("/connectors/src/config", {"batch.size": None})
    assert r.code == 200 and r.json["config"] == dict(cfg2, name="src")
    assert api.get("/connectors/src/config").json == dict(cfg2, name="src")
    r = api.patch("/connectors/src/config", {"name": "other"})
    assert (r.code, r.json) == (400, error(400, "Connector name configuration (other) doesn't match "
                                                "connector name in the URL (src)"))
    r = api.put("/connectors/src/config", dict(cfg2, name="other"))
    assert (r.code, r.json) == (400, error(400, "Connector name configuration (other) doesn't match "
                                                "connector name in the URL (src)"))
    r = api.patch("/connectors/src/config", {"batch.size": "0"})
    assert r.code == 400 and "connector 'src': key 'batch.size': must be at least 1" in r.json["message"]
    assert api.get("/connectors/src/config").json == dict(cfg2, name="src")  # unchanged

    # PUT on a new name creates it: 201 with Location.
    r = api.put("/connectors/src2/config", file_source("src2", src, t2))
    assert r.code == 201 and r.headers["location"] == "/connectors/src2"
    assert r.json["name"] == "src2" and r.json["config"]["name"] == "src2"
    assert api.get("/connectors").json == ["src", "src2"]

    r = api.patch("/connectors/nope/config", {"batch.size": "5"})
    assert (r.code, r.json) == (404, not_found("nope"))

    for name in ("src", "src2"):
        r = api.delete(f"/connectors/{name}")
        assert (r.code, r.text) == (204, "")
    r = api.get("/connectors/src")
    assert (r.code, r.json) == (404, not_found("src"))
    r = api.delete("/connectors/src")
    assert (r.code, r.json) == (404, not_found("src"))
    assert api.get("/connectors").json == []
    assert w.alive()


def test_create_with_initial_state(tmp_path, kafka, workers):
    w, api = workers(tmp_path, kafka)
    wid = worker_id(api)
    for state, tasks in [("PAUSED", ["PAUSED", "PAUSED"]), ("STOPPED", []), ("RUNNING", ["RUNNING"] * 2)]:
        name = f"init-{state.lower()}"
        r = api.post("/connectors", {"name": name, "config": marker(tmp_path, **{"tasks.max": "2"}),
                                     "initial_state": state})
        assert r.code == 201, r
        wait_status(api, name, state, tasks, w=w)
        assert api.get(f"/connectors/{name}/status").json == \
            status_json(name, wid, state, tasks, "source")
    assert api.get("/connectors/init-stopped/tasks").json == []
    assert api.get("/connectors/init-stopped").json["tasks"] == []
    # A STOPPED connector has no open task; a PAUSED one keeps its tasks open.
    assert markers(tmp_path) == ["init-paused-0", "init-paused-1", "init-running-0", "init-running-1"]
    r = api.post("/connectors", {"name": "x", "config": marker(tmp_path), "initial_state": "RUN"})
    assert (r.code, r.json) == (400, error(400, "initial_state must be one of RUNNING, PAUSED, STOPPED"))
    assert anomalies(tmp_path) == ""


# --------------------------------------------------------------------------
# pause, resume, stop


def test_pause_resume_stop(tmp_path, kafka, workers):
    w, api = workers(tmp_path, kafka)
    src = tmp_path / "in.txt"
    src.write_text("1\n2\n")
    topic = unique_topic("rest-pause")
    assert api.post("/connectors", {"name": "p", "config": file_source("p", src, topic)}).code == 201
    wait_status(api, "p", "RUNNING", ["RUNNING"], w=w)
    assert lines_of(kafka, topic, 2) == ["1", "2"]

    r = api.put("/connectors/p/pause")
    assert (r.code, r.text) == (202, "")
    wait_status(api, "p", "PAUSED", ["PAUSED"], w=w)
    with src.open("a") as f:
        f.write("3\n")
    time.sleep(2)
    assert lines_of(kafka, topic, 3, timeout=2) == ["1", "2"]  # paused: nothing polled
    assert api.put("/connectors/p/pause").code == 202  # idempotent

    r = api.put("/connectors/p/resume")
    assert (r.code, r.text) == (202, "")
    wait_status(api, "p", "RUNNING", ["RUNNING"], w=w)
    assert lines_of(kafka, topic, 3) == ["1", "2", "3"]

    r = api.put("/connectors/p/stop")
    assert (r.code, r.text) == (204, "")
    st = wait_status(api, "p", "STOPPED", [], w=w)
    assert st["tasks"] == []
    assert api.get("/connectors/p/tasks").json == []
    assert api.get("/connectors/p").json["tasks"] == []
    r = api.get("/connectors/p/tasks/0/status")
    assert (r.code, r.json) == (404, error(404, "No status found for task p-0"))
    with src.open("a") as f:
        f.write("4\n")
    time.sleep(1.5)
    assert lines_of(kafka, topic, 4, timeout=2) == ["1", "2", "3"]
    assert api.put("/connectors/p/stop").code == 204  # idempotent

    r = api.put("/connectors/p/resume")  # resume restarts the task set of a STOPPED connector
    assert r.code == 202
    wait_status(api, "p", "RUNNING", ["RUNNING"], w=w)
    assert api.get("/connectors/p").json["tasks"] == [{"connector": "p", "task": 0}]
    assert settle_lines(kafka, topic, 4) == ["1", "2", "3", "4"]

    # Stopped then paused: the tasks come back, paused.
    assert api.put("/connectors/p/stop").code == 204
    wait_status(api, "p", "STOPPED", [], w=w)
    assert api.put("/connectors/p/pause").code == 202
    wait_status(api, "p", "PAUSED", ["PAUSED"], w=w)

    for action in ("pause", "resume", "stop"):
        r = api.put(f"/connectors/nope/{action}")
        assert (r.code, r.json) == (404, not_found("nope")), action


# --------------------------------------------------------------------------
# restart


def test_restart_rules(tmp_path, kafka, workers):
    w, api = workers(tmp_path, kafka)
    wid = worker_id(api)
    # Task 1 of "r" cannot open while its marker exists: it fails with a trace.
    (tmp_path / "markers").mkdir()
    (tmp_path / "markers" / "r-1").mkdir()
    r = api.post("/connectors", {"name": "r", "config": marker(tmp_path, **{"tasks.max": "2"})})
    assert r.code == 201
    st = wait_status(api, "r", "RUNNING", ["RUNNING", "FAILED"], w=w)
    assert "already running" in st["tasks"][1]["trace"]
    assert "trace" not in st["tasks"][0] and "trace" not in st["connector"]
    r = api.get("/connectors/r/tasks/1/status")
    assert r.code == 200 and r.json["state"] == "FAILED" and "already running" in r.json["trace"]
    (tmp_path / "markers" / "anomalies.log").unlink()
    (tmp_path / "markers" / "r-1").rmdir()

    # Plain restart: the connector instance only, 204 without a body.
    r = api.post("/connectors/r/restart")
    assert (r.code, r.text) == (204, "")
    wait_status(api, "r", "RUNNING", ["RUNNING", "FAILED"], w=w)

    # onlyFailed without includeTasks: the connector is not FAILED, so nothing restarts: 202
    # with the current states.
    r = api.post("/connectors/r/restart?onlyFailed=true")
    assert r.code == 202
    assert r.json["connector"]["state"] == "RUNNING"
    assert [t["state"] for t in r.json["tasks"]] == ["RUNNING", "FAILED"]

    # includeTasks&onlyFailed: only the failed task is RESTARTING.
    r = api.post("/connectors/r/restart?includeTasks=true&onlyFailed=true")
    assert r.code == 202
    body = dict(r.json)
    for t in body["tasks"]:
        t.pop("trace", None)
    assert body == {"name": "r", "type": "source",
                    "connector": {"state": "RUNNING", "worker_id": wid, "version": "1.0.0"},
                    "tasks": [{"id": 0, "state": "RUNNING", "worker_id": wid, "version": "1.0.0"},
                              {"id": 1, "state": "RESTARTING", "worker_id": wid,
                               "version": "1.0.0"}]}
    wait_status(api, "r", "RUNNING", ["RUNNING", "RUNNING"], w=w)
    assert "trace" not in api.get("/connectors/r/tasks/1/status").json

    # includeTasks: everything is RESTARTING.
    r = api.post("/connectors/r/restart?includeTasks=true")
    assert r.code == 202
    assert r.json == {"name": "r", "type": "source",
                      "connector": {"state": "RESTARTING", "worker_id": wid, "version": "1.0.0"},
                      "tasks": [{"id": 0, "state": "RESTARTING", "worker_id": wid,
                                 "version": "1.0.0"},
                                {"id": 1, "state": "RESTARTING", "worker_id": wid,
                                 "version": "1.0.0"}]}
    wait_status(api, "r", "RUNNING", ["RUNNING", "RUNNING"], w=w)

    r = api.post("/connectors/r/tasks/0/restart")
    assert (r.code, r.text) == (204, "")
    wait_status(api, "r", "RUNNING", ["RUNNING", "RUNNING"], w=w)
    r = api.post("/connectors/r/tasks/7/restart")
    assert (r.code, r.json) == (404, error(404, "Task r-7 not found"))
    r = api.post("/connectors/nope/restart")
    assert (r.code, r.json) == (404, not_found("nope"))
    r = api.post("/connectors/nope/restart?includeTasks=true")
    assert (r.code, r.json) == (404, not_found("nope"))
    r = api.post("/connectors/nope/tasks/0/restart")
    assert (r.code, r.json) == (404, not_found("nope"))
    r = api.get("/connectors/nope/status")  # Kafka Connect's words
    assert (r.code, r.json) == (404, error(404, "No status found for connector nope"))

    # Every open was matched by a close: exactly one marker per running task.
    assert markers(tmp_path) == ["r-0", "r-1"]
    assert anomalies(tmp_path) == ""
    assert api.delete("/connectors/r").code == 204
    wait_for(lambda: markers(tmp_path) == [], 10, "the tasks to close")
    assert anomalies(tmp_path) == ""


# --------------------------------------------------------------------------
# offsets


def test_source_offsets(tmp_path, kafka, workers):
    w, api = workers(tmp_path, kafka, worker={"offset.flush.interval.ms": "200"})
    src = tmp_path / "in.txt"
    src.write_text("l1\nl2\nl3\nl4\n")
    topic = unique_topic("rest-srcoff")
    partition = {"filename": str(src)}
    assert api.post("/connectors", {"name": "so", "config": file_source("so", src, topic)}).code == 201
    assert lines_of(kafka, topic, 4) == ["l1", "l2", "l3", "l4"]
    wait_for(lambda: api.get("/connectors/so/offsets").json ==
             {"offsets": [{"partition": partition, "offset": {"position": 12}}]}, 15,
             "the source offset to be committed", w.log)

    body = {"offsets": [{"partition": partition, "offset": {"position": 3}}]}
    must_stop = error(400, "Connectors must be in the STOPPED state before their offsets can be "
                           "modified. This can be done for the specified connector by issuing a "
                           "'PUT' request to the '/connectors/so/stop' endpoint")
    r = api.patch("/connectors/so/offsets", body)
    assert (r.code, r.json) == (400, must_stop)
    r = api.delete("/connectors/so/offsets")
    assert (r.code, r.json) == (400, must_stop)
    assert api.put("/connectors/so/pause").code == 202
    wait_status(api, "so", "PAUSED", ["PAUSED"], w=w)
    assert api.patch("/connectors/so/offsets", body).code == 400  # paused is not stopped

    assert api.put("/connectors/so/stop").code == 204
    wait_status(api, "so", "STOPPED", [], w=w)
    r = api.get("/connectors/so/offsets")
    assert (r.code, r.json) == (200, {"offsets": [{"partition": partition, "offset": {"position": 12}}]})
    r = api.patch("/connectors/so/offsets", {"offsets": []})
    assert r.code == 400
    r = api.patch("/connectors/so/offsets", {"offsets": [{"partition": "x", "offset": {}}]})
    assert r.code == 400

    # Back to the end of l1: l2..l4 are produced again.
    r = api.patch("/connectors/so/offsets", body)
    assert (r.code, r.json) == (200, {"message": "The offsets for this connector have been altered "
                                                 "successfully"})
    assert api.get("/connectors/so/offsets").json == body
    assert api.put("/connectors/so/resume").code == 202
    assert settle_lines(kafka, topic, 7) == ["l1", "l2", "l3", "l4", "l2", "l3", "l4"]

    # Reset: every line again.
    assert api.put("/connectors/so/stop").code == 204
    wait_status(api, "so", "STOPPED", [], w=w)
    r = api.delete("/connectors/so/offsets")
    assert (r.code, r.json) == (200, {"message": "The offsets for this connector have been reset "
                                                 "successfully"})
    assert api.get("/connectors/so/offsets").json == {"offsets": []}
    assert api.put("/connectors/so/resume").code == 202
    assert settle_lines(kafka, topic, 11)[7:] == ["l1", "l2", "l3", "l4"]

    for method in ("GET", "DELETE"):
        r = api.request(method, "/connectors/nope/offsets")
        assert (r.code, r.json) == (404, not_found("nope"))
    r = api.patch("/connectors/nope/offsets", body)
    assert (r.code, r.json) == (404, not_found("nope"))
    assert (api.post("/connectors/so/offsets", body).code, api.put("/connectors/so/offsets", body).code) \
        == (405, 405)


def test_sink_offsets(tmp_path, kafka, workers):
    w, api = workers(tmp_path, kafka, worker={"offset.flush.interval.ms": "500"})
    topic = unique_topic("rest-sinkoff")
    kcat_produce(kafka, topic, [f"v{i}" for i in range(5)])
    out = tmp_path / "out.txt"
    cfg = {"connector.class": "FileStreamSink", "topics": topic, "file": str(out)}
    # The consumer group (connect-<name>) outlives the test on the shared broker: a fresh name.
    sk = unique_topic("sk")
    assert api.post("/connectors", {"name": sk, "config": cfg}).code == 201
    wait_for(lambda: len(file_lines(out)) == 5, 60, "5 lines in the sink file", w.log)
    part = {"kafka_topic": topic, "kafka_partition": 0}
    wait_for(lambda: api.get(f"/connectors/{sk}/offsets").json ==
             {"offsets": [{"partition": part, "offset": {"kafka_offset": 5}}]}, 30,
             "the consumer offsets to be committed", w.log)

    body = {"offsets": [{"partition": part, "offset": {"kafka_offset": 2}}]}
    assert api.patch(f"/connectors/{sk}/offsets", body).code == 400  # running
    assert api.put(f"/connectors/{sk}/stop").code == 204
    wait_status(api, sk, "STOPPED", [], w=w)
    r = api.get(f"/connectors/{sk}/offsets")
    assert (r.code, r.json) == (200, {"offsets": [{"partition": part, "offset": {"kafka_offset": 5}}]})
    r = api.patch(f"/connectors/{sk}/offsets", {"offsets": [{"partition": {"kafka_topic": topic},
                                                          "offset": {"kafka_offset": 1}}]})
    assert r.code == 400 and "kafka_partition" in r.json["message"]
    r = api.patch(f"/connectors/{sk}/offsets", {"offsets": [{"partition": part, "offset": {"kafka_offset": "x"}}]})
    assert r.code == 400 and "kafka_offset" in r.json["message"]

    r = api.patch(f"/connectors/{sk}/offsets", body)
    assert (r.code, r.json) == (200, {"message": "The offsets for this connector have been altered "
                                                 "successfully"})
    assert api.get(f"/connectors/{sk}/offsets").json == body
    assert api.put(f"/connectors/{sk}/resume").code == 202
    wait_for(lambda: len(file_lines(out)) >= 8, 60, "records from offset 2 again", w.log)
    time.sleep(1)
    assert [l.decode() for l in file_lines(out)] == ["v0", "v1", "v2", "v3", "v4", "v2", "v3", "v4"]

    # Reset deletes the consumer group's offsets: everything again from the start.
    assert api.put(f"/connectors/{sk}/stop").code == 204
    wait_status(api, sk, "STOPPED", [], w=w)
    r = api.delete(f"/connectors/{sk}/offsets")
    assert (r.code, r.json) == (200, {"message": "The offsets for this connector have been reset "
                                                 "successfully"})
    assert api.get(f"/connectors/{sk}/offsets").json == {"offsets": []}
    assert api.put(f"/connectors/{sk}/resume").code == 202
    wait_for(lambda: len(file_lines(out)) >= 13, 60, "all records again after the reset", w.log)
    time.sleep(1)
    assert [l.decode() for l in file_lines(out)][8:] == ["v0", "v1", "v2", "v3", "v4"]


# --------------------------------------------------------------------------
# plugins and validation


def test_connector_plugins(tmp_path, kafka, workers):
    w, api = workers(tmp_path, kafka)
    r = api.get("/connector-plugins")
    assert r.code == 200
    assert {"class": "org.apache.kafka.connect.file.FileStreamSourceConnector", "type": "source",
            "version": "1.0.0"} in r.json
    assert {"class": "org.apache.kafka.connect.file.FileStreamSinkConnector", "type": "sink",
            "version": "1.0.0"} in r.json
    assert {p["type"] for p in r.json} == {"source", "sink"}
    assert all(set(p) == {"class", "type", "version"} for p in r.json)

    r = api.get("/connector-plugins?connectorsOnly=false")
    assert r.code == 200
    # Connect's order of types, and its names of the key/value forms of a transformation.
    order = [p["type"] for p in r.json]
    assert sorted(set(order), key=order.index) == [
        "sink", "source", "transformation", "predicate", "converter", "header_converter"], order
    classes = {p["class"] for p in r.json}
    assert {"org.apache.kafka.connect.transforms.InsertField$Key",
            "org.apache.kafka.connect.transforms.InsertField$Value",
            "org.apache.kafka.connect.transforms.Cast$Value",
            "org.apache.kafka.connect.transforms.RegexRouter",
            "org.apache.kafka.connect.storage.SimpleHeaderConverter",
            "org.apache.kafka.connect.transforms.predicates.TopicNameMatches",
            "org.apache.kafka.connect.json.JsonConverter",
            "org.apache.kafka.connect.storage.StringConverter",
            "org.apache.kafka.connect.converters.ByteArrayConverter"} <= classes, classes
    assert "org.apache.kafka.connect.transforms.InsertField" not in classes
    assert "org.apache.kafka.connect.transforms.RegexRouter$Key" not in classes

    r = api.get("/connector-plugins/FileStreamSource/config")
    assert r.code == 200
    defs = {d["name"]: d for d in r.json}
    # Like Connect: the plugin's own keys, then the common connector keys (source ones, no
    # errors.deadletterqueue.*); each exactly Connect's ConfigKeyInfo fields.
    assert {"batch.size", "file", "topic", "connector.class", "tasks.max", "key.converter",
            "value.converter", "transforms", "predicates", "errors.tolerance"} <= set(defs), set(defs)
    assert not any(n.startswith("errors.deadletterqueue.") for n in defs), set(defs)
    for d in r.json:
        assert set(d) == {"name", "type", "required", "default_value", "importance",
                          "documentation", "group", "order_in_group", "width", "display_name",
                          "dependents"}, d
    bs = defs["batch.size"]
    assert {k: bs[k] for k in ("name", "type", "required", "default_value", "importance",
                               "documentation", "display_name", "dependents")} == {
        "name": "batch.size", "type": "INT", "required": False, "default_value": "2000",
        "importance": "LOW", "display_name": "batch.size", "dependents": [],
        "documentation": "The maximum number of records the source task can read from the file "
                         "each time it is polled"}
    assert defs["topic"]["required"] is True and defs["topic"]["default_value"] is None
    # The Kafka class name works too.
    r2 = api.get("/connector-plugins/org.apache.kafka.connect.file.FileStreamSourceConnector/config")
    assert (r2.code, r2.json) == (200, r.json)
    r = api.get("/connector-plugins/SecretSource/config")
    assert {d["name"]: d["type"] for d in r.json}["db.password"] == "PASSWORD"
    r = api.get("/connector-plugins/NoSuchPlugin/config")
    assert r.code == 404 and r.json["error_code"] == 404
    assert r.json["message"].startswith("unknown plugin 'NoSuchPlugin'; available: "), r.json
    assert api.post("/connector-plugins").code == 405
    assert api.put("/connector-plugins/FileStreamSource/config", {}).code == 405


def test_validate_lists_transformation_keys(tmp_path, kafka, workers):
    """As Kafka Connect: each transformation's keys in a "Transforms: <alias>" group, its
    missing required keys as errors on them (no Lua traceback), a predicate's error on its key."""
    w, api = workers(tmp_path, kafka)
    path = "/connector-plugins/FileStreamSource/config/validate"
    r = api.put(path, {"connector.class": "FileStreamSource", "name": "v", "topic": "t",
                       "transforms": "r",
                       "transforms.r.type": "org.apache.kafka.connect.transforms.RegexRouter"})
    assert r.code == 200, r
    assert "Transforms: r" in r.json["groups"]
    by = {c["definition"]["name"]: c for c in r.json["configs"]}
    assert [n for n in by if n.startswith("transforms.r.")] == [
        "transforms.r.type", "transforms.r.negate", "transforms.r.predicate",
        "transforms.r.regex", "transforms.r.replacement"]
    t = by["transforms.r.type"]
    assert t["definition"]["display_name"] == "Transformation type for r"
    assert "org.apache.kafka.connect.transforms.RegexRouter" in t["value"]["recommended_values"]
    assert r.json["error_count"] == 2
    assert by["transforms.r.regex"]["value"]["errors"] == [
        'Missing required configuration "transforms.r.regex" which has no default value.']
    assert not any(e.startswith(("stack traceback", "\t")) for c in r.json["configs"]
                   for e in c["value"]["errors"])


def test_validate(tmp_path, kafka, workers):
    w, api = workers(tmp_path, kafka)
    path = "/connector-plugins/FileStreamSourceConnector/config/validate"
    good = {"connector.class": "FileStreamSourceConnector", "name": "v", "topic": "t", "file": "/x"}
    r = api.put(path, good)
    assert r.code == 200, r
    assert set(r.json) == {"name", "error_count", "groups", "configs"}
    assert r.json["name"] == "FileStreamSourceConnector"
    assert r.json["error_count"] == 0
    assert "Common" in r.json["groups"]
    for c in r.json["configs"]:
        assert set(c) == {"definition", "value"}
        # Exactly Kafka Connect's ConfigKeyInfo fields (order_in_group, not order).
        assert set(c["definition"]) == {"name", "type", "required", "default_value", "importance",
                                         "documentation", "group", "order_in_group", "width",
                                         "display_name", "dependents"}
        assert set(c["value"]) == {"name", "value", "recommended_values", "errors", "visible"}
        assert c["value"]["errors"] == []
        # Connect lists no group for keys defined without one
        assert c["definition"]["group"] in r.json["groups"] + [None]
    by = {c["definition"]["name"]: c for c in r.json["configs"]}
    assert {"name", "connector.class", "tasks.max", "topic", "file", "batch.size"} <= set(by)
    assert by["topic"]["value"]["value"] == "t"
    assert by["batch.size"]["value"]["value"] == "2000"  # not given: the default, as Connect

    # Every error, each on its key.
    bad = {"connector.class": "FileStreamSourceConnector", "name": "v", "batch.size": "0"}
    r = api.put(path, bad)
    assert r.code == 200 and r.json["error_count"] == 2, r
    by = {c["definition"]["name"]: c["value"] for c in r.json["configs"]}
    assert by["batch.size"]["errors"] == ["connector 'v': key 'batch.size': must be at least 1"]
    assert by["batch.size"]["value"] == "0"
    assert by["topic"]["errors"] == ["connector 'v': missing required key 'topic' (The topic to "
                                     "publish data to)"]
    assert sum(len(v["errors"]) for v in by.values()) == 2

    # A password is "[hidden]" in the answer.
    r = api.put("/connector-plugins/SecretSource/config/validate",
                {"connector.class": "SecretSource", "name": "s", "db.user": "u",
                 "db.password": "pa55-validate", "echo.file": "/tmp/x", "retries": "-1"})
    assert r.code == 200 and r.json["error_count"] == 1
    by = {c["definition"]["name"]: c for c in r.json["configs"]}
    assert by["db.password"]["value"]["value"] == "[hidden]"
    assert by["db.password"]["definition"]["type"] == "PASSWORD"
    assert by["retries"]["value"]["errors"] == ["connector 's': key 'retries': must be >= 0"]
    assert "pa55-validate" not in r.text and "pa55-validate" not in w.log()

    r = api.put(path, {"connector.class": "FileStreamSink", "name": "v"})
    assert (r.code, r.json) == (400, error(400, "Included connector type FileStreamSink does not match "
                                                "request type FileStreamSourceConnector"))
    r = api.put("/connector-plugins/NoSuchPlugin/config/validate", {"name": "v"})
    assert r.code == 404
    r = api.put(path, {"name": ["v"]})
    assert r.code == 400
    assert api.get(path).code == 405



def test_every_config_error_is_listed(tmp_path, kafka, workers):
    w, api = workers(tmp_path, kafka)
    cfg = {"connector.class": "FileStreamSource", "tasks.max": "many", "batch.size": "0"}
    r = api.put("/connectors/x/config", cfg)
    assert r.code == 400
    assert "contains the following 3 error(s)" in r.json["message"], r
    for part in ("key 'tasks.max'", "key 'batch.size'", "missing required key 'topic'"):
        assert part in r.json["message"]
    r = api.put("/connector-plugins/FileStreamSource/config/validate", dict(cfg, name="x"))
    assert r.code == 200 and r.json["error_count"] == 3, r


# --------------------------------------------------------------------------
# passwords


def test_password_is_masked_everywhere(tmp_path, kafka, workers):
    w, api = workers(tmp_path, kafka)
    secret, secret2 = "s3cr3t-Pa55word-123", "n3w-s3cr3t-456"
    echo = tmp_path / "echo.txt"
    cfg = {"connector.class": "SecretSource", "db.user": "alice", "db.password": secret,
           "echo.file": str(echo)}
    masked = dict(cfg, name="sec", **{"db.password": "[hidden]"})
    # Log everything the worker may say about it.
    assert api.put("/admin/loggers/root", {"level": "TRACE"}).code == 200

    r = api.post("/connectors", {"name": "sec", "config": cfg})
    assert r.code == 201 and r.json["config"] == masked
    wait_status(api, "sec", "RUNNING", ["RUNNING"], w=w)
    wait_for(lambda: echo.exists() and echo.read_text() == secret, 10, "the task to see its password")
    seen = [r.text]
    for path in ("/connectors/sec", "/connectors/sec/config", "/connectors/sec/tasks",
                 "/connectors?expand=info", "/connectors?expand=status&expand=info",
                 "/connectors/sec/status"):
        r = api.get(path)
        assert r.code == 200
        seen.append(r.text)
    assert api.get("/connectors/sec/config").json == masked
    assert api.get("/connectors/sec/tasks").json[0]["config"]["db.password"] == "[hidden]"

    # GET then PUT back the masked config: the real password is kept (seen by the task
    # when it opens again).
    echo.unlink()
    r = api.put("/connectors/sec/config", api.get("/connectors/sec/config").json)
    assert r.code == 200 and r.json["config"] == masked
    seen.append(r.text)
    assert api.post("/connectors/sec/restart?includeTasks=true").code == 202
    wait_for(lambda: echo.exists() and echo.read_text() == secret, 10, "the task to reopen")
    # PATCH with a new password: masked, and the task gets the new one.
    echo.unlink()
    r = api.patch("/connectors/sec/config", {"db.password": secret2})
    assert r.code == 200 and r.json["config"] == masked
    seen.append(r.text)
    wait_for(lambda: echo.exists() and echo.read_text() == secret2, 10, "the new password")
    # A config error in another key does not echo the password.
    r = api.put("/connectors/sec/config", dict(cfg, retries="-5"))
    assert r.code == 400
    seen.append(r.text)

    for text in seen:
        assert secret not in text and secret2 not in text, text
    log = w.log()
    assert "DEBUG" in log  # the log level took effect, so the check below means something
    assert secret not in log and secret2 not in log


# --------------------------------------------------------------------------
# loggers


def test_loggers(tmp_path, kafka, workers):
    w, api = workers(tmp_path, kafka)
    r = api.get("/admin/loggers")
    assert (r.code, r.json) == (200, {"root": {"level": "INFO", "last_modified": None}})
    for name in ("lg", "other"):
        assert api.post("/connectors", {"name": name, "config": marker(tmp_path)}).code == 201
        wait_status(api, name, "RUNNING", ["RUNNING"], w=w)

    before = time.time() * 1000
    r = api.put("/admin/loggers/luaconnect.lg", {"level": "DEBUG"})
    assert (r.code, r.json) == (200, ["luaconnect.lg"])
    r = api.get("/admin/loggers/luaconnect.lg")
    assert r.code == 200 and r.json["level"] == "DEBUG"
    assert before - 5 <= r.json["last_modified"] <= time.time() * 1000 + 5
    assert api.get("/admin/loggers").json["luaconnect.lg"] == r.json
    assert api.get("/admin/loggers/luaconnect.other").json["level"] == "INFO"

    for name in ("lg", "other"):
        assert api.post(f"/connectors/{name}/tasks/0/restart").code == 204
        wait_status(api, name, "RUNNING", ["RUNNING"], w=w)
    wait_for(lambda: "DEBUG [lg|task-0] marker" in w.log(), 10, "a DEBUG line of lg", w.log)
    assert "DEBUG [other|task-0]" not in w.log()
    assert "DEBUG REST" not in w.log()  # the worker's own logger stays at INFO

    # root resets every logger.
    r = api.put("/admin/loggers/root", {"level": "INFO"})
    assert r.code == 200 and set(r.json) == {"root", "luaconnect.lg"}
    assert api.get("/admin/loggers/luaconnect.lg").json["level"] == "INFO"
    assert api.get("/admin/loggers/root").json["level"] == "INFO"
    n = w.log().count("DEBUG [lg|task-0]")
    assert api.post("/connectors/lg/tasks/0/restart").code == 204
    wait_status(api, "lg", "RUNNING", ["RUNNING"], w=w)
    time.sleep(0.5)
    assert w.log().count("DEBUG [lg|task-0]") == n

    r = api.put("/admin/loggers/root", {"level": "LOUD"})
    assert r.code == 400 and "LOUD" in r.json["message"]
    r = api.put("/admin/loggers/root", {"lvl": "INFO"})
    assert r.code == 400
    r = api.put("/admin/loggers/root", raw=b"{", content_type="application/json")
    assert r.code == 400
    assert api.delete("/admin/loggers/root").code == 405
    assert api.post("/admin/loggers").code == 405
    assert api.get("/admin/nothing").code == 404


# --------------------------------------------------------------------------
# bad requests


def _evil(tmp_path: Path):
    """A connector script outside plugin.path that leaves a trace when it is ever loaded, and
    an extra (empty) plugin.path directory. (A symlink placed in plugin.path is the operator's
    choice: scanning plugin.path follows it.)"""
    evil_dir = tmp_path / "evil"
    evil_dir.mkdir()
    pwned = tmp_path / "PWNED"
    script = evil_dir / "evil.lua"
    script.write_text(f'local f = io.open("{pwned}", "w"); f:write("loaded"); f:close()\n'
                      'local connect = require "luaconnect"\n'
                      'return connect.source { poll = function() return nil end }\n')
    extra = tmp_path / "plugins2"
    extra.mkdir()
    return script, extra, pwned


def test_bad_requests(tmp_path, kafka, workers):
    script, extra, pwned = _evil(tmp_path)
    w, api = workers(tmp_path, kafka, worker={"plugin.path": f"{PLUGINS},{extra}"})
    good = marker(tmp_path)
    assert api.post("/connectors", {"name": "ok", "config": good}).code == 201

    # Truncated / malformed JSON: 400 with the parse position.
    for raw in (b'{"name": "x", "config": {"connector.class": "Mark', b'{"name": "x",}', b"[1, 2",
                b'{"name": "\xff\xfe"}', b"", b"nul\x00l"):
        r = api.post("/connectors", raw=raw)
        assert r.code == 400, (raw, r)
        assert r.json["error_code"] == 400
        assert r.json["message"].startswith("Cannot deserialize the request body: "), r
        assert "position" in r.json["message"]
    truncated = b'{"name": "x", "config": {"connector.class": "Mark'
    r = api.post("/connectors", raw=truncated)
    assert r.json["message"].endswith(f"(position {len(truncated)})"), r

    # Wrong types.
    cases = [
        ({"name": 5, "config": good}, "Connector name is required (\"name\" must be a non-empty string)"),
        ({"name": "", "config": good}, "Connector name is required (\"name\" must be a non-empty string)"),
        ({"config": good}, "Connector name is required (\"name\" must be a non-empty string)"),
        ({"name": "x", "config": ["a"]}, "Connector config is required (\"config\" must be an object "
                                         "of strings)"),
        ({"name": "x"}, "Connector config is required (\"config\" must be an object of strings)"),
        ({"name": "x", "config": dict(good, **{"tasks.max": {"n": 1}})},
         "config key 'tasks.max': the value must be a string, got an object"),
        ({"name": "x", "config": dict(good, label=None)},
         "config key 'label': the value must be a string, got null"),
        ({"name": "x", "config": dict(good, name="y")},
         "Connector name configuration (y) doesn't match connector name in the URL (x)"),
        ({"name": "x", "config": good, "initial_state": 3},
         "initial_state must be one of RUNNING, PAUSED, STOPPED"),
        (["x"], "the request body must be a JSON object {\"name\": ..., \"config\": {...}}"),
    ]
    for body, msg in cases:
        r = api.post("/connectors", body)
        assert (r.code, r.json) == (400, error(400, msg)), body
    r = api.put("/connectors/x/config", ["a"])
    assert (r.code, r.json) == (400, error(400, "the connector config must be a JSON object of strings"))
    r = api.post("/connectors", {"name": "a/b", "config": good})
    assert r.code == 400 and "must not contain '/'" in r.json["message"]
    # A control character is shown escaped: one error, said on one line.
    r = api.post("/connectors", {"name": "bad\nname", "config": good})
    assert r.code == 400 and r.json["message"].startswith(
        "Connector configuration is invalid and contains the following 1 error(s):\n"
        "Connector name 'bad\\x0aname' must not contain '/' or control characters\n"), r.json
    # Numbers and booleans are taken as their text (Kafka Connect's JSON mapper does the same).
    r = api.post("/connectors", {"name": "num", "config": dict(good, **{"tasks.max": 2})})
    assert r.code == 201 and r.json["config"]["tasks.max"] == "2"
    # Every config error is listed (script keys here; worker keys: test_every_config_error_is_listed).
    r = api.post("/connectors", {"name": "x", "config": {"connector.class": "MarkerSource", "bogus": "1"}})
    assert (r.code, r.json) == (400, error(400, (
        "Connector configuration is invalid and contains the following 2 error(s):\n"
        "connector 'x': missing required key 'marker.dir' (Directory for the markers)\n"
        "connector 'x': unknown key 'bogus'\n"
        "You can also find the above list of errors at the endpoint "
        "`/connector-plugins/{connectorType}/config/validate`")))

    # Content type and size.
    r = api.post("/connectors", raw=json.dumps({"name": "x", "config": good}).encode(), content_type=None)
    assert r.code == 415 and r.json["error_code"] == 415
    r = api.post("/connectors", raw=json.dumps({"name": "x", "config": good}).encode(),
                 content_type="text/plain")
    assert r.code == 415
    r = api.post("/connectors", {"name": "big", "config": dict(good, label="x" * (1 << 20))})
    assert (r.code, r.json) == (413, error(413, "Request body larger than 1048576 bytes"))
    r = api.request("POST", "/connectors", raw=b"{" + b" " * (1 << 20) + b"}",
                    headers={"Transfer-Encoding": "chunked"}, chunked=True)  # no Content-Length
    assert r.code == 413
    # Exactly 1 MiB is allowed.
    body = {"name": "big", "config": dict(good, label="")}
    pad = (1 << 20) - len(json.dumps(body))
    body["config"]["label"] = "y" * pad
    assert len(json.dumps(body)) == 1 << 20
    r = api.post("/connectors", body)
    assert r.code == 201, r
    assert api.delete("/connectors/big").code == 204
    r = api.post("/connectors", raw=b"{}", headers={"Content-Length": "99999999999999999999"})
    assert r.code in (400, 413)  # a Content-Length that does not fit: refused either way

    # Unknown connector on every connector endpoint.
    patch = {"offsets": [{"partition": {"a": 1}, "offset": None}]}
    for method, path, body in [
            ("GET", "/connectors/nope", _NO_BODY), ("DELETE", "/connectors/nope", _NO_BODY),
            ("GET", "/connectors/nope/config", _NO_BODY), ("PATCH", "/connectors/nope/config", {"a": "b"}),
            ("GET", "/connectors/nope/tasks", _NO_BODY),
            ("GET", "/connectors/nope/tasks/0/status", _NO_BODY),
            ("POST", "/connectors/nope/restart", _NO_BODY),
            ("POST", "/connectors/nope/tasks/0/restart", _NO_BODY),
            ("PUT", "/connectors/nope/pause", _NO_BODY), ("PUT", "/connectors/nope/resume", _NO_BODY),
            ("PUT", "/connectors/nope/stop", _NO_BODY), ("GET", "/connectors/nope/offsets", _NO_BODY),
            ("PATCH", "/connectors/nope/offsets", patch), ("DELETE", "/connectors/nope/offsets", _NO_BODY)]:
        r = api.request(method, path, body)
        assert (r.code, r.json) == (404, not_found("nope")), (method, path)
    r = api.get("/connectors/nope/status")  # Kafka Connect's words there
    assert (r.code, r.json) == (404, error(404, "No status found for connector nope"))

    # Wrong methods.
    for method, path in [
            ("PUT", "/connectors"), ("DELETE", "/connectors"), ("PATCH", "/connectors"),
            ("POST", "/connectors/ok"), ("PUT", "/connectors/ok"),
            ("POST", "/connectors/ok/config"), ("DELETE", "/connectors/ok/config"),
            ("POST", "/connectors/ok/status"), ("DELETE", "/connectors/ok/tasks"),
            ("PUT", "/connectors/ok/tasks/0/status"), ("GET", "/connectors/ok/tasks/0/restart"),
            ("GET", "/connectors/ok/restart"), ("PUT", "/connectors/ok/restart"),
            ("GET", "/connectors/ok/pause"), ("POST", "/connectors/ok/resume"),
            ("DELETE", "/connectors/ok/stop"), ("POST", "/connectors/ok/offsets"),
            ("DELETE", "/connector-plugins"), ("POST", "/connector-plugins/MarkerSource/config"),
            ("POST", "/connector-plugins/MarkerSource/config/validate"),
            ("POST", "/admin/loggers/root"), ("PATCH", "/health")]:
        r = api.request(method, path)
        assert (r.code, r.json) == (405, METHOD_NOT_ALLOWED), (method, path)
    for path in ("/nothing", "/connectors/ok/nothing", "/connectors/ok/tasks/0/nothing",
                 "/connectors/ok/tasks/x/status", "/a/b/c/d/e/f/g/h/i/j/k", "/admin"):
        r = api.get(path)
        assert r.code == 404 and r.json["error_code"] == 404, path

    # Nothing from outside plugin.path is loaded: connector.class, transforms, predicates.
    rel = os.path.relpath(script, PLUGINS)
    outside = [{"connector.class": str(script)}, {"connector.class": rel},
               {"connector.class": str(PLUGINS / rel)}, {"connector.class": str(extra / ".." / "evil" / "evil.lua")},
               {"connector.class": "file:" + str(script)},
               dict(good, transforms="t", **{"transforms.t.type": str(script)}),
               dict(good, transforms="t", **{"transforms.t.type": rel}),
               dict(good, transforms="t", **{"transforms.t.type": "Filter", "transforms.t.predicate": "p",
                                             "predicates": "p", "predicates.p.type": str(script)}),
               dict(good, transforms="t", **{"transforms.t.type": "Filter", "transforms.t.predicate": "p",
                                             "predicates": "p", "predicates.p.type": rel})]
    for cfg in outside:
        cfg = dict(cfg)
        r = api.post("/connectors", {"name": "evil", "config": cfg})
        assert r.code == 400, (cfg, r)
        assert "Connector configuration is invalid" in r.json["message"], r
        r = api.put("/connectors/evil/config", cfg)
        assert r.code == 400, (cfg, r)
    for plugin in (quote(str(script), safe=""), quote(rel, safe="")):
        r = api.get(f"/connector-plugins/{plugin}/config")
        assert r.code in (400, 404), (plugin, r)
        r = api.put(f"/connector-plugins/{plugin}/config/validate", {"name": "evil"})
        assert r.code in (400, 404), (plugin, r)
    assert not pwned.exists(), "a script outside plugin.path was loaded"
    assert api.get("/connectors").json == ["num", "ok"]

    # Garbage on the socket does not hurt the worker.
    for junk in (b"GARBAGE\r\n\r\n", b"GET /" + b"a" * 200000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
                 b"POST /connectors HTTP/1.1\r\nContent-Length: 10\r\n\r\n{", b"\x16\x03\x01\x00\xff" * 50):
        s = socket.create_connection((api.host, api.port), timeout=5)
        try:
            s.sendall(junk)
            s.shutdown(socket.SHUT_WR)
            s.recv(65536)
        except OSError:
            pass
        finally:
            s.close()
    r = api.get("/health")
    assert r.code == 200 and w.alive()
    assert wait_status(api, "ok", "RUNNING", ["RUNNING"], w=w)
    assert w.stop() == 0


# --------------------------------------------------------------------------
# basic authentication and HTTPS


def _credentials(tmp_path: Path) -> Path:
    f = tmp_path / "users.properties"
    f.write_text("# REST users\nalice=wonder land\nbob=builder\n")
    return f


def test_basic_auth(tmp_path, kafka, workers):
    users = _credentials(tmp_path)
    w, api = workers(tmp_path, kafka, worker={"rest.basic.auth.credentials.file": str(users)})
    for auth in (None, ("alice", "wrong"), ("alice", "wonder lan"), ("mallory", "builder"), ("", "")):
        for method, path, body in [("GET", "/", _NO_BODY), ("GET", "/connectors", _NO_BODY),
                                   ("POST", "/connectors", {"name": "x", "config": marker(tmp_path)})]:
            r = api.request(method, path, body, auth=auth)
            assert r.code == 401, (auth, method, path, r)
            assert r.json["error_code"] == 401
            assert r.headers["www-authenticate"].startswith("Basic realm=")
    assert api.get("/connectors", auth=("alice", "wonder land")).json == []  # nothing was created
    r = api.get("/", auth=("alice", "wonder land"))
    assert r.code == 200 and "version" in r.json
    r = api.post("/connectors", {"name": "x", "config": marker(tmp_path)}, auth=("bob", "builder"))
    assert r.code == 201
    assert api.get("/connectors", auth=("bob", "builder")).json == ["x"]
    assert "wonder land" not in w.log() and "builder" not in w.log()


def test_cors_as_connect(tmp_path, kafka, workers):
    """access.control.allow.origin / access.control.allow.methods, answered as Kafka Connect's
    Jetty CrossOriginHandler does: a matching Origin is echoed with credentials allowed, a
    preflight (no credentials, as browsers send it) gets the methods and headers, another
    origin gets no CORS headers, and Vary: Origin is always there."""
    users = _credentials(tmp_path)
    w, api = workers(tmp_path, kafka, worker={
        "access.control.allow.origin": "https://ui\\.example\\.com,http://localhost:[0-9]+",
        "access.control.allow.methods": "GET,POST,PUT,DELETE",
        "rest.basic.auth.credentials.file": str(users)})
    ok = ("alice", "wonder land")
    r = api.get("/connectors", auth=ok, headers={"Origin": "https://UI.example.com"})
    assert r.code == 200 and r.json == []
    assert r.headers["access-control-allow-origin"] == "https://UI.example.com"
    assert r.headers["access-control-allow-credentials"] == "true"
    assert r.headers["vary"] == "Origin"
    assert "access-control-allow-methods" not in r.headers
    r = api.request("OPTIONS", "/connectors/x/config", headers={
        "Origin": "http://localhost:3000", "Access-Control-Request-Method": "PUT",
        "Access-Control-Request-Headers": "content-type"})
    assert r.code == 200, r
    assert r.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert r.headers["access-control-allow-methods"] == "GET,POST,PUT,DELETE"
    assert r.headers["access-control-allow-headers"] == "Content-Type"
    assert r.headers["access-control-max-age"] == "60"
    # Not an allowed origin: served as usual (auth applies), without CORS headers.
    r = api.get("/connectors", auth=ok, headers={"Origin": "https://evil.example.org"})
    assert r.code == 200 and "access-control-allow-origin" not in r.headers
    r = api.request("OPTIONS", "/connectors", headers={
        "Origin": "https://evil.example.org", "Access-Control-Request-Method": "DELETE"})
    assert r.code == 401 and "access-control-allow-origin" not in r.headers
    # A 401 to an allowed origin carries the headers, so the page can read the error.
    r = api.get("/connectors", headers={"Origin": "https://ui.example.com"})
    assert r.code == 401 and r.headers["access-control-allow-origin"] == "https://ui.example.com"
    w.stop()
    # Off by default: no CORS headers at all.
    w2, api2 = workers(tmp_path, kafka, name="w2")
    r = api2.get("/connectors", headers={"Origin": "https://ui.example.com"})
    assert r.code == 200 and "access-control-allow-origin" not in r.headers
    assert "vary" not in r.headers


def test_cors_origin_that_is_not_a_regex_is_named(tmp_path, kafka):
    w = Worker(tmp_path, kafka, [], worker={"access.control.allow.origin": "https://(unclosed"})
    w.start()
    assert w.proc.wait(30) != 0
    assert ("worker config key 'access.control.allow.origin': 'https://(unclosed' is not a "
            "regular expression") in w.log()


def _keystore(tmp_path: Path, password: Optional[str] = None):
    """A self-signed certificate for 127.0.0.1 and a PEM keystore (key + certificate)."""
    key, cert, store = tmp_path / "key.pem", tmp_path / "cert.pem", tmp_path / "keystore.pem"
    if password:
        subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                        "-aes-256-cbc", "-pass", f"pass:{password}", "-out", str(key)],
                       check=True, capture_output=True)
        subprocess.run(["openssl", "req", "-x509", "-key", str(key), "-passin", f"pass:{password}",
                        "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    else:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
                        "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    store.write_text(key.read_text() + cert.read_text())
    ctx = ssl.create_default_context(cafile=str(cert))
    return store, ctx


def _plain_http_fails(api: Api):
    plain = Api(f"http://{api.host}:{api.port}", timeout=5)
    with pytest.raises((OSError, http.client.HTTPException)):
        r = plain.get("/")
        raise OSError(f"plain HTTP got an answer: {r}")


def test_https(tmp_path, kafka, workers):
    store, ctx = _keystore(tmp_path)
    w, api = workers(tmp_path, kafka, ctx=ctx, worker={
        "listeners": "https://127.0.0.1:0", "listeners.https.ssl.keystore.location": str(store),
        "listeners.https.ssl.keystore.type": "PEM"})
    assert api.https
    r = api.get("/")
    assert r.code == 200 and "version" in r.json
    r = api.post("/connectors", {"name": "tls", "config": marker(tmp_path)})
    assert r.code == 201
    wait_status(api, "tls", "RUNNING", ["RUNNING"], w=w)
    assert api.get("/connectors/tls/status").json["connector"]["worker_id"] == worker_id(api)
    # Not trusted without the certificate; not spoken in plain HTTP.
    with pytest.raises(ssl.SSLError):
        Api(f"https://{api.host}:{api.port}", ctx=ssl.create_default_context()).get("/")
    _plain_http_fails(api)
    assert api.get("/health").code == 200


def test_https_encrypted_key_with_auth(tmp_path, kafka, workers):
    store, ctx = _keystore(tmp_path, password="ks-pass")
    users = _credentials(tmp_path)
    w, api = workers(tmp_path, kafka, ctx=ctx, auth=("bob", "builder"), worker={
        "listeners": "https://127.0.0.1:0", "listeners.https.ssl.keystore.location": str(store),
        "listeners.https.ssl.keystore.type": "PEM", "listeners.https.ssl.key.password": "ks-pass",
        "rest.basic.auth.credentials.file": str(users)})
    assert api.get("/connectors").json == []
    assert api.get("/connectors", auth=None).code == 401
    assert api.get("/connectors", auth=("bob", "builderx")).code == 401


def test_https_bad_keystore_refused(tmp_path, kafka):
    """A worker whose keystore is missing or wrong does not start (nor fall back to HTTP)."""
    bad = tmp_path / "bad.pem"
    bad.write_text("not a pem\n")
    for extra, text in [({}, "listeners.https.ssl.keystore.location"),
                        ({"listeners.https.ssl.keystore.location": str(bad)}, "must hold a PEM"),
                        ({"listeners.https.ssl.keystore.location": str(bad),
                          "listeners.https.ssl.keystore.type": "PKCS12"}, "only PEM is supported")]:
        props = {"bootstrap.servers": kafka, "offset.storage.file.filename": str(tmp_path / "o.db"),
                 "listeners": "https://127.0.0.1:0"}
        props.update(extra)
        wf = write_props(tmp_path / "bad-worker.properties", props)
        p = subprocess.run([str(luaconnect_bin()), "standalone", str(wf)], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=30)
        assert p.returncode != 0 and text in p.stderr, (extra, p.stderr)


# --------------------------------------------------------------------------
# persistence


def _snapshot(api: Api) -> dict:
    out = {"list": api.get("/connectors?expand=status&expand=info").json}
    for name in out["list"]:
        out[name] = {"config": api.get(f"/connectors/{name}/config").json,
                     "tasks": api.get(f"/connectors/{name}/tasks").json,
                     "offsets": api.get(f"/connectors/{name}/offsets").json}
    return out



def test_connectors_persist_across_restart(tmp_path, kafka, workers):
    port = free_port()
    src = tmp_path / "in.txt"
    src.write_text("x\ny\n")
    t1, t2 = unique_topic("rest-persist1"), unique_topic("rest-persist2")
    cli = dict(file_source("cli", src, t1), name="cli")
    worker = {"listeners": f"http://127.0.0.1:{port}", "offset.flush.interval.ms": "200"}
    w, api = workers(tmp_path, kafka, connectors=[cli], worker=worker)
    secret = "persisted-s3cret"
    echo = tmp_path / "echo.txt"

    wait_status(api, "cli", "RUNNING", ["RUNNING"], w=w)
    assert api.post("/connectors", {"name": "run", "config": marker(tmp_path, **{"tasks.max": "2"})}).code == 201
    assert api.post("/connectors", {"name": "paused", "config": marker(tmp_path),
                                    "initial_state": "PAUSED"}).code == 201
    assert api.post("/connectors", {"name": "stopped", "config": marker(tmp_path)}).code == 201
    assert api.put("/connectors/stopped/stop").code == 204
    assert api.put("/connectors/changed/config", marker(tmp_path, label="a")).code == 201
    assert api.put("/connectors/changed/config", marker(tmp_path, label="b", **{"tasks.max": "3"})).code == 200
    assert api.patch("/connectors/changed/config", {"label": "c"}).code == 200
    assert api.post("/connectors", {"name": "gone", "config": marker(tmp_path)}).code == 201
    assert api.delete("/connectors/gone").code == 204
    assert api.post("/connectors", {"name": "sec", "config": {
        "connector.class": "SecretSource", "db.user": "u", "db.password": secret,
        "echo.file": str(echo)}}).code == 201
    assert api.put("/connectors/cli/pause").code == 202  # a command-line connector, paused over REST
    for name, state, tasks in [("run", "RUNNING", ["RUNNING"] * 2), ("paused", "PAUSED", ["PAUSED"]),
                               ("stopped", "STOPPED", []), ("changed", "RUNNING", ["RUNNING"] * 3),
                               ("sec", "RUNNING", ["RUNNING"]), ("cli", "PAUSED", ["PAUSED"])]:
        wait_status(api, name, state, tasks, w=w)
    wait_for(lambda: api.get("/connectors/cli/offsets").json["offsets"] != [], 10, "cli's offsets")
    before = _snapshot(api)
    assert sorted(before["list"]) == ["changed", "cli", "paused", "run", "sec", "stopped"]
    assert before["changed"]["config"]["label"] == "c"

    assert w.stop() == 0
    assert markers(tmp_path) == [] and anomalies(tmp_path) == ""  # every task closed
    echo.unlink()

    # Same worker file, same connector file: everything comes back the same.
    w2, api2 = workers(tmp_path, kafka, connectors=[cli], worker=worker)
    wait_for(lambda: len(api2.get("/connectors").json) == 6, 15, "6 connectors restored", w2.log)
    for name, state, tasks in [("run", "RUNNING", ["RUNNING"] * 2), ("paused", "PAUSED", ["PAUSED"]),
                               ("stopped", "STOPPED", []), ("changed", "RUNNING", ["RUNNING"] * 3),
                               ("sec", "RUNNING", ["RUNNING"]), ("cli", "PAUSED", ["PAUSED"])]:
        wait_status(api2, name, state, tasks, w=w2)
    after = _snapshot(api2)
    assert after == before
    wait_for(lambda: echo.exists() and echo.read_text() == secret, 10, "the real password after restart")
    assert [m for m in markers(tmp_path)] == ["changed-0", "changed-1", "changed-2", "paused-0",
                                              "run-0", "run-1"]
    assert w2.stop() == 0

    # A changed connector file applies at start; the stored target state (paused) is kept.
    cli2 = dict(cli, topic=t2)
    w3, api3 = workers(tmp_path, kafka, connectors=[cli2], worker=worker)
    st = wait_status(api3, "cli", "PAUSED", ["PAUSED"], w=w3)
    assert api3.get("/connectors/cli/config").json == cli2
    assert api3.put("/connectors/cli/resume").code == 202
    with src.open("a") as f:
        f.write("z\n")
    assert settle_lines(kafka, t2, 1) == ["z"]  # resumed at its stored offset, on the new topic
    assert lines_of(kafka, t1, 10, timeout=2) == ["x", "y"]
    assert st["connector"]["worker_id"] == f"127.0.0.1:{port}"
    assert w3.stop() == 0
