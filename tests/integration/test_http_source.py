"""http_source (scripts/http_source.lua) against a real local HTTP API the test starts
(Python's http.server): cursor paging, Link paging, ETag/304, a flapping server, a server
that stays down (bounded retries, then the task fails naming the URL and status), offline
through `luaconnect test` and end to end on a real broker with a kill -9 and a restart."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import random
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from conftest import kcat_consume_json, luaconnect_bin, unique_topic
from worker import Worker, wait_for, write_props

ENV = {k: v for k, v in os.environ.items() if k != "LUACONNECT_LOG_LEVEL"}


class Api:
    """A paged API over self.items ({"id": n}), page size `page`.
    /cursor?after=ID -> {"data": [...], "next": last id of the page or null at the end}
    /link?page=K     -> a JSON array, Link: <...>; rel="next" while there are more.
    Every 200 carries an ETag of its body; If-None-Match with it gets a 304.
    fail(n) -> a status to answer the nth request with instead (None: answer)."""

    def __init__(self, n: int, page: int = 10, fail=lambda n: None):
        self.items = [{"id": i} for i in range(1, n + 1)]
        self.page, self.fail, self.lock = page, fail, threading.Lock()
        self.log = []  # (path, If-None-Match, Authorization, status)
        self.headers = []  # every request's headers
        api = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                u = urlparse(self.path)
                q = {k: v[0] for k, v in parse_qs(u.query, keep_blank_values=True).items()}
                with api.lock:
                    n = len(api.log) + 1
                    status = api.fail(n)
                    headers = {}
                    if status is None:
                        status, body, headers = api.answer(u.path, q)
                        etag = '"%s"' % hashlib.sha1(body).hexdigest()[:16]
                        headers["ETag"] = etag
                        if self.headers.get("If-None-Match") == etag:
                            status, body = 304, b""
                    else:
                        body = b"busy"
                    api.headers.append(dict(self.headers))
                    api.log.append((self.path, self.headers.get("If-None-Match"),
                                    self.headers.get("Authorization"), status))
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                if status != 304:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def answer(self, path, q):
        if path == "/cursor":
            after = int(q.get("after") or 0)
            data = [it for it in self.items if it["id"] > after][: self.page]
            more = data and data[-1]["id"] < self.items[-1]["id"]
            # the last page names no next cursor; a cursor API's client asks it again
            return 200, json.dumps({"data": data, "next": str(data[-1]["id"]) if more else None}).encode(), {}
        if path == "/lines":  # one page, line-delimited: JSON objects and plain text
            return 200, b'{"id": 1}\nplain text\n{"id": 2}\n', {}
        if path == "/link":
            k = int(q.get("page", "1"))
            data = self.items[(k - 1) * self.page: k * self.page]
            headers = {}
            if k * self.page < len(self.items):
                headers["Link"] = f'</link?page={k + 1}>; rel="next", </link?page=1>; rel="first"'
            return 200, json.dumps(data).encode(), headers
        return 404, b"no such path", {}

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def offline(tmp: Path, config: dict, *args):
    props = {"name": "api", "connector.class": "HttpSource", "topic.name.pattern": "t",
             "retry.backoff.ms": "1", "request.interval.ms": "50"}
    props.update(config)
    conn = write_props(tmp / "api.properties", props)
    p = subprocess.run([str(luaconnect_bin()), "test", *args, str(conn)], capture_output=True,
                       text=True, timeout=120, env=ENV)
    return p.returncode, [json.loads(l) for l in p.stdout.splitlines()], p.stderr


CURSOR = {"http.response.data.json.pointer": "/data", "http.next.page.json.pointer": "/next"}


def test_cursor_paging_etag_and_basic_auth(tmp_path):
    api = Api(25)
    try:
        rc, out, err = offline(tmp_path, {"url": api.url + "/cursor?after=${offset}", **CURSOR,
                                          "auth.type": "BASIC", "connection.user": "u",
                                          "connection.password": "p w"}, "--idle-ms", "600")
    finally:
        api.close()
    assert rc == 0, err
    assert [r["value"] for r in out] == [{"id": i} for i in range(1, 26)], "every item once, in order"
    paths = [l[0] for l in api.log]
    assert paths[:3] == ["/cursor?after=", "/cursor?after=10", "/cursor?after=20"]
    # the last page is asked again with its ETag, and 304 gives nothing
    again = api.log[3:]
    assert again and all(p == "/cursor?after=20" and inm and s == 304 for p, inm, _, s in again)
    assert {l[2] for l in api.log} == {"Basic " + base64.b64encode(b"u:p w").decode()}
    offsets = json.loads(err.split("offsets: ", 1)[1])
    assert offsets == {"offsets": [{"partition": {"url": api.url + "/cursor?after=${offset}"},
                                    "offset": {"cursor": "20", "skip": 5}}]}


def test_resume_from_offsets_and_growing_last_page(tmp_path):
    api = Api(25)
    stored = tmp_path / "offsets.json"
    stored.write_text(json.dumps({"offsets": [{"partition": {"url": api.url + "/cursor?after=${offset}"},
                                               "offset": {"cursor": "20", "skip": 3}}]}))
    try:
        api.items += [{"id": 26}, {"id": 27}]  # the last page grew (page size 10: 21..27)
        rc, out, err = offline(tmp_path, {"url": api.url + "/cursor?after=${offset}", **CURSOR},
                               "--idle-ms", "300", "--offsets", str(stored))
    finally:
        api.close()
    assert rc == 0, err
    assert [r["value"]["id"] for r in out] == [24, 25, 26, 27], "only what was not emitted"


def test_line_delimited_response_and_headers(tmp_path):
    api = Api(0)
    try:
        rc, out, err = offline(tmp_path, {"url": api.url + "/lines", "response.format": "lines",
                                          "http.request.headers": "X-Api-Key: k1 | Accept:text/plain"},
                               "--idle-ms", "300")
    finally:
        api.close()
    assert rc == 0, err
    assert [r["value"] for r in out] == [{"id": 1}, "plain text", {"id": 2}]
    assert api.headers[0]["X-Api-Key"] == "k1" and api.headers[0]["Accept"] == "text/plain"
    assert all(s == 304 for *_, s in api.log[1:]), "the unchanged page asked again with its ETag"


def test_link_header_paging(tmp_path):
    api = Api(23, page=5)
    try:
        rc, out, err = offline(tmp_path, {"url": api.url + "/link", "http.offset.mode": "LINK_HEADER"},
                               "--idle-ms", "300")
    finally:
        api.close()
    assert rc == 0, err
    assert [r["value"]["id"] for r in out] == list(range(1, 24))
    assert [l[0] for l in api.log[:5]] == ["/link", "/link?page=2", "/link?page=3", "/link?page=4", "/link?page=5"]
    offsets = json.loads(err.split("offsets: ", 1)[1])["offsets"]
    assert offsets[0]["offset"] == {"url": api.url + "/link?page=5", "skip": 3}


def test_flapping_server_gives_every_record_once_in_order(tmp_path):
    rng = random.Random(16)
    api = Api(200, page=7, fail=lambda n: rng.choice([503, 429, 502]) if rng.random() < 0.4 else None)
    try:
        rc, out, err = offline(tmp_path, {"url": api.url + "/cursor?after=${offset}", **CURSOR,
                                          "max.retries": "30"}, "--idle-ms", "500", "--max-records", "1000")
    finally:
        api.close()
    assert rc == 0, err
    assert [r["value"]["id"] for r in out] == list(range(1, 201))
    assert {s for *_, s in api.log} >= {503, 429, 502, 200}


def test_server_down_fails_after_bounded_retries(tmp_path):
    api = Api(5, fail=lambda n: 503)
    try:
        rc, out, err = offline(tmp_path, {"url": api.url + "/cursor?after=${offset}", **CURSOR,
                                          "max.retries": "3"}, "--idle-ms", "2000")
    finally:
        api.close()
    assert rc == 1 and out == []
    assert len(api.log) == 4, "one request and 3 retries"
    assert f"http_source: GET {api.url}/cursor?after= failed after 3 retries: HTTP 503" in err


def test_refused_connection_is_retried_then_fails(tmp_path):
    rc, out, err = offline(tmp_path, {"url": "http://127.0.0.1:1/x", "max.retries": "2"}, "--idle-ms", "2000")
    assert rc == 1 and out == []
    assert err.count("GET http://127.0.0.1:1/x failed (Failed to connect to 127.0.0.1 port 1") == 2
    assert "TASK_POLL: http_source: GET http://127.0.0.1:1/x failed after 2 retries: Failed to connect" in err


def test_config_errors(tmp_path):
    rc, _, err = offline(tmp_path, {"url": "ftp://x/"})
    assert rc != 0 and "key 'url': must be an http:// or https:// URL" in err
    rc, _, err = offline(tmp_path, {"url": "http://127.0.0.1:1/", "http.next.page.json.pointer": "next"})
    assert rc != 0 and "key 'http.next.page.json.pointer': must be empty or start with '/'" in err
    rc, _, err = offline(tmp_path, {"url": "http://127.0.0.1:1/", "auth.type": "BASIC"})
    assert rc != 0 and "http_source: auth.type=BASIC needs connection.user" in err


def test_end_to_end_kill_restart_and_server_down(kafka, tmp_path):
    topic = unique_topic("lc-http-src")
    down = threading.Event()
    # every 4th request answers 503 (never max.retries in a row) until the server goes down
    api = Api(300, page=20, fail=lambda n: 503 if down.is_set() or n % 4 == 0 else None)
    url = api.url + "/cursor?after=${offset}"
    conn = {"name": "api", "connector.class": "io.confluent.connect.http.HttpSourceConnector",
            "url": url, "topic.name.pattern": topic, **CURSOR, "request.interval.ms": "100",
            "retry.backoff.ms": "20", "max.retries": "4",
            "value.converter": "org.apache.kafka.connect.json.JsonConverter",
            "value.converter.schemas.enable": "false"}
    w = Worker(tmp_path, kafka, [conn], worker={"offset.flush.interval.ms": "200"})
    try:
        w.start()
        wait_for(lambda: (w.source_offset("api", {"url": url}) or {}).get("cursor") not in (None, ""), 60,
                 "a committed cursor", w.log)
        w.kill()  # kill -9 mid-stream
        committed = w.source_offset("api", {"url": url})
        api.items += [{"id": i} for i in range(301, 351)]
        w.start()
        wait_for(lambda: w.source_offset("api", {"url": url}) == {"cursor": "340", "skip": 10}, 90,
                 "the last page committed", w.log)
        assert w.status("api", 0)[0] == "RUNNING"
        assert "resuming at" in w.log()
        down.set()  # the server stays down: 1 request + 4 retries, then FAILED
        wait_for(lambda: (w.status("api", 0) or ("",))[0] == "FAILED", 60, "the task to fail", w.log)
        trace = w.status("api", 0)[1]
        assert f"http_source: GET {api.url}/cursor?after=340 failed after 4 retries: HTTP 503" in trace
        w.stop()
    finally:
        if w.alive():
            w.kill()
        api.close()
    assert committed is not None
    ids = [json.loads(m["payload"])["id"] for m in kcat_consume_json(kafka, topic, 1000, timeout=10)]
    assert set(ids) == set(range(1, 351)), "no record lost across kill -9 and restart"
    # duplicates only after the committed position (at least once): ids are 1.., so the
    # position is the page's cursor plus the items of it emitted
    position = int(committed.get("cursor") or 0) + int(committed.get("skip") or 0)
    assert all(i > position for i in set(ids) if ids.count(i) > 1)
