"""http_sink (scripts/http_sink.lua) against a real local HTTP server the test starts
(Python's http.server with a handler that can be slow, fail, flap and reject records):
offline through `luaconnect test --connector`, and end to end on a real broker with a
dead-letter queue. No record lost, retries bounded, rejected records where they belong."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from conftest import kcat_consume_json, kcat_produce, luaconnect_bin, unique_topic
from worker import Worker, wait_for, write_props

ENV = {k: v for k, v in os.environ.items() if k != "LUACONNECT_LOG_LEVEL"}


class Server:
    """A local HTTP API. behave(n, body) -> (status, delay_s) for the nth request (1-based);
    accepted: the bodies answered 2xx; requests: (method, path, headers, body) of all."""

    def __init__(self, behave=lambda n, body: (200, 0)):
        self.behave, self.requests, self.accepted, self.lock = behave, [], [], threading.Lock()
        self.ports = []  # the client port of each request: one port, one connection
        srv = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: the sink reuses its connection

            def handle_any(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                with srv.lock:
                    srv.requests.append((self.command, self.path, dict(self.headers), body))
                    srv.ports.append(self.client_address[1])
                    n = len(srv.requests)
                status, delay = srv.behave(n, body)
                if delay:
                    time.sleep(delay)
                if 200 <= status < 300:
                    with srv.lock:
                        srv.accepted.append(body)
                reply = b"rejected: bad record" if status == 400 else b"ok"
                self.send_response(status)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            do_POST = do_PUT = do_PATCH = do_DELETE = handle_any

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def offline(tmp: Path, config: dict, lines: list[str]):
    props = {"name": "web", "connector.class": "HttpSink", "topics": "t", "retry.backoff.ms": "1"}
    props.update(config)
    conn = write_props(tmp / "web.properties", props)
    p = subprocess.run([str(luaconnect_bin()), "test", "--connector", str(conn)], capture_output=True,
                       text=True, timeout=120, env=ENV, input="".join(l + "\n" for l in lines))
    return p.returncode, p.stdout, p.stderr


def records(n, bad=()):
    return [json.dumps({"topic": "t", "key": f"k{i}", "value": {"n": i, **({"bad": True} if i in bad else {})}})
            for i in range(1, n + 1)]


def test_batches_headers_and_auth(tmp_path):
    srv = Server()
    try:
        rc, out, err = offline(tmp_path, {
            "http.api.url": srv.url + "/in/${topic}?k=${key}", "request.method": "put",
            "batch.max.size": "2", "batch.prefix": "<", "batch.suffix": ">", "batch.separator": ";",
            "headers": "X-Team: data|X-Env:test", "auth.type": "BASIC",
            "connection.user": "u", "connection.password": "p w"}, records(3))
    finally:
        srv.close()
    assert (rc, out) == (0, "")
    assert err == ('offsets: {"offsets":[{"partition":{"kafka_partition":0,"kafka_topic":"t"},'
                   '"offset":{"kafka_offset":3}}]}\n')
    # ${key} is the first record's of a request; a new key starts a new request
    assert [(m, p, b) for m, p, _, b in srv.requests] == [
        ("PUT", "/in/t?k=k1", '<{"n":1}>'), ("PUT", "/in/t?k=k2", '<{"n":2}>'), ("PUT", "/in/t?k=k3", '<{"n":3}>')]
    h = srv.requests[0][2]
    assert h["X-Team"] == "data" and h["X-Env"] == "test"
    assert h["Content-Type"] == "text/plain; charset=utf-8"
    assert h["Authorization"] == "Basic " + base64.b64encode(b"u:p w").decode()

    srv = Server()
    try:
        rc, out, err = offline(tmp_path, {"http.api.url": srv.url + "/bulk", "batch.max.size": "3",
                                          "request.body.format": "json", "batch.json.as.array": "true"},
                               records(7))
    finally:
        srv.close()
    assert rc == 0
    assert [b for _, _, _, b in srv.requests] == [
        '[{"n":1},{"n":2},{"n":3}]', '[{"n":4},{"n":5},{"n":6}]', '[{"n":7}]']
    assert srv.requests[0][2]["Content-Type"] == "application/json"
    # one connection for every request: the task's curl handle keeps it alive
    assert len(srv.ports) == 3 and len(set(srv.ports)) == 1


def test_rejected_records_are_reported_one_by_one(tmp_path):
    srv = Server(lambda n, body: (400 if "bad" in body else 200, 0))
    try:
        rc, out, err = offline(tmp_path, {"http.api.url": srv.url + "/in", "batch.max.size": "4"},
                               records(6, bad={2, 5}))
    finally:
        srv.close()
    assert rc == 1
    assert err.splitlines() == [
        f"error: record 2: TASK_PUT: http_sink: POST {srv.url}/in: HTTP 400: rejected: bad record",
        f"error: record 5: TASK_PUT: http_sink: POST {srv.url}/in: HTTP 400: rejected: bad record",
        'offsets: {"offsets":[{"partition":{"kafka_partition":0,"kafka_topic":"t"},"offset":{"kafka_offset":6}}]}']
    # the rejected batch [1..4] was resent record by record; batch [5, 6] likewise
    assert sorted(json.loads(b)["n"] for b in srv.accepted) == [1, 3, 4, 6]


def test_flapping_slow_server_loses_nothing_and_retries_are_bounded(tmp_path):
    # every other request 503 or 429, some slow: each record arrives exactly once
    srv = Server(lambda n, body: ((503 if n % 4 == 1 else 429) if n % 2 == 1 else 200, 0.05 if n % 3 == 0 else 0))
    try:
        rc, out, err = offline(tmp_path, {"http.api.url": srv.url + "/in", "batch.max.size": "5",
                                          "request.body.format": "json", "batch.json.as.array": "true"},
                               records(40))
    finally:
        srv.close()
    assert rc == 0, err
    got = [r["n"] for b in srv.accepted for r in json.loads(b)]
    assert got == list(range(1, 41))
    assert len(srv.requests) == 16  # 8 batches, each failed once first

    # a server that never recovers: max.retries retries, then put() fails like the task would
    srv = Server(lambda n, body: (503, 0))
    try:
        rc, out, err = offline(tmp_path, {"http.api.url": srv.url + "/in", "max.retries": "3"}, records(2))
    finally:
        srv.close()
    assert rc == 1
    lines = err.splitlines()
    assert [l.split(" WARN [web|task-0] ")[1] for l in lines[:3]] == [
        f"POST {srv.url}/in with 1 record failed (HTTP 503: ok); retry {i} of 3 in {ms} ms"
        for i, ms in ((1, 1), (2, 2), (3, 4))]
    assert lines[3:] == [f"error: records 1-2: TASK_PUT: POST {srv.url}/in failed after 3 retries: HTTP 503: ok"]
    assert len(srv.requests) == 4

    # a server that does not answer in time: the timeout is a transport error, retried
    srv = Server(lambda n, body: (200, 3 if n == 1 else 0))
    try:
        rc, out, err = offline(tmp_path, {"http.api.url": srv.url + "/in", "http.request.timeout.ms": "300"},
                               records(1))
    finally:
        srv.close()
    assert rc == 0, err
    assert len(srv.requests) == 2


def test_null_values_and_config_errors(tmp_path):
    srv = Server()
    try:
        rc, _, err = offline(tmp_path, {"http.api.url": srv.url + "/items/${key}",
                                        "behavior.on.null.values": "delete"},
                             ['{"topic":"t","key":"a","value":{"n":1}}', '{"topic":"t","key":"a","value":null}'])
    finally:
        srv.close()
    assert rc == 0, err
    assert [(m, p) for m, p, _, _ in srv.requests] == [("POST", "/items/a"), ("DELETE", "/items/a")]
    rc, _, err = offline(tmp_path, {"http.api.url": "ftp://x", "request.method": "GET",
                                    "retry.on.status.codes": "5xx"}, [])
    assert rc == 1
    assert err == ("luaconnect: " + str(tmp_path / "web.properties") + ": "
                   "connector 'web': key 'http.api.url': must be an http:// or https:// URL\n"
                   "connector 'web': key 'request.method': must be one of POST, PUT, PATCH, got 'GET'\n"
                   "connector 'web': key 'retry.on.status.codes': '5xx' is not a status code or a range like 500-599\n")


def test_end_to_end_with_broker_and_dead_letter_queue(kafka, tmp_path):
    topic, dlq = unique_topic("lc-http-in"), unique_topic("lc-http-dlq")
    n, bad = 300, {i for i in range(1, 301) if i % 37 == 0}
    kcat_produce(kafka, topic, [json.dumps({"n": i, **({"bad": True} if i in bad else {})}).encode()
                                for i in range(1, n + 1)], keys=[b"k%d" % i for i in range(1, n + 1)])
    # flapping: every 5th request 503; rejected: any body with a bad record
    srv = Server(lambda i, body: (503 if i % 5 == 0 else 400 if "bad" in body else 200, 0))
    w = Worker(tmp_path, kafka, [{
        "name": "web", "connector.class": "io.confluent.connect.http.HttpSinkConnector", "topics": topic,
        "http.api.url": srv.url + "/in", "request.body.format": "json", "batch.max.size": "10",
        "batch.json.as.array": "true", "retry.backoff.ms": "5",
        "key.converter": "org.apache.kafka.connect.storage.StringConverter",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable": "false",
        "errors.tolerance": "all", "errors.deadletterqueue.topic.name": dlq,
        "errors.deadletterqueue.topic.replication.factor": "1",
        "errors.deadletterqueue.context.headers.enable": "true"}])
    try:
        with w:
            good = n - len(bad)
            wait_for(lambda: sum(len(json.loads(b)) for b in list(srv.accepted)) >= good, 90,
                     "every good record at the server", w.log)
            assert w.status("web", 0)[0] == "RUNNING"
            assert w.stop() == 0
    finally:
        srv.close()
    got = [r["n"] for b in srv.accepted for r in json.loads(b)]
    assert sorted(got) == [i for i in range(1, n + 1) if i not in bad], "no record lost"
    assert len(got) == len(set(got)), "none sent twice"
    msgs = kcat_consume_json(kafka, dlq, len(bad), timeout=20)
    # The worker has stopped: the topic is read once to its end (timeout=0), nothing more.
    assert len(kcat_consume_json(kafka, dlq, len(bad) + 1, timeout=0)) == len(bad), "no extra DLQ record"
    assert sorted(m["key"] for m in msgs) == sorted("k%d" % i for i in bad)
    h = msgs[0]["headers"]
    assert h["__connect.errors.stage"] == "TASK_PUT"
    assert h["__connect.errors.exception.message"].startswith(f"http_sink: POST {srv.url}/in: HTTP 400")
