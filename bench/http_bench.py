#!/usr/bin/env python3
"""make bench-http: the HTTP sink (scripts/http_sink.lua) end to end, Kafka to a local HTTP
server, for N JSON records of about 60 bytes, with batching off (batch.max.size=1, one
request per record, Confluent's default) and on (batch.max.size=B, one JSON array per request).

The records are produced first (not measured). The server is Python's http.server in this
process (HTTP/1.1 keep-alive, one thread per connection: the sink keeps one connection), and
it answers 200 "ok" and counts the records in each body; it is part of what is measured, and
with batching off it is most of it. The clock runs from the POST of the connector until the
server has N records; the worker's CPU (user+sys, every thread) over the same span.

Figures per mode: records/s, requests/s, the worker's CPU µs per record; then every id is
checked to have arrived once.

usage: bench/http_bench.py --bootstrap HOST:PORT --binary build/luaconnect --out DIR [--records N]
       [--batch B]"""

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from benchlib import (create_topic, proc_stats, produce_lines, rest_call,  # noqa: E402
                      write_props)


def produce(bootstrap, topic, n):
    produce_lines(bootstrap, topic, ("".join('{"id":%d,"customer":"c-%05d","amount":%d.%02d}\n'
                                             % (i, i % 50000, i % 997, i % 100)
                                             for i in range(start, min(n, start + 20000)))
                                     for start in range(0, n, 20000)), n)


class Server:
    """Counts records ('"id":' in the bodies) and requests; keeps the bodies for the check."""

    def __init__(self):
        self.records, self.requests, self.bodies = 0, 0, []
        srv = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # headers and body are two writes: with Nagle on, each response waits for the
            # client's delayed ACK (40 ms)
            disable_nagle_algorithm = True

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                srv.bodies.append(body)
                srv.records += body.count(b'"id":')
                srv.requests += 1
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/in"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def run(a, topic, tmp, mode, batch):
    srv = Server()
    worker = write_props(tmp / f"{mode}.worker.properties", {
        "bootstrap.servers": a.bootstrap,
        "key.converter": "org.apache.kafka.connect.storage.StringConverter",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable": "false",
        "offset.storage.file.filename": str(tmp / f"{mode}.offsets.db"),
        "listeners": "http://127.0.0.1:0"})
    log_path = tmp / f"{mode}.worker.log"
    log = open(log_path, "wb")
    proc = subprocess.Popen([a.binary, "standalone", str(worker)], stdout=log,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    api = None
    for _ in range(200):
        for line in log_path.read_text(errors="replace").splitlines():
            if "REST API listening on " in line:
                api = line.split("REST API listening on ", 1)[1].split()[0].rstrip("/")
        if api:
            break
        time.sleep(0.05)
    if not api:
        raise SystemExit(f"the worker did not start; see {log_path}")
    config = {"connector.class": "io.confluent.connect.http.HttpSinkConnector", "topics": topic,
              "http.api.url": srv.url, "request.body.format": "json",
              "batch.max.size": str(batch), "batch.json.as.array": "true" if batch > 1 else "false"}
    n = a.records
    cpu0 = proc_stats(proc.pid)[0]
    t0 = time.monotonic()
    rest_call(api + "/connectors", "POST", {"name": f"http-{mode}", "config": config})
    deadline = t0 + 900
    while srv.records < n:
        if time.monotonic() > deadline or proc.poll() is not None:
            raise SystemExit(f"{mode}: only {srv.records} of {n} records at the server; see {log_path}")
        time.sleep(0.02)
    secs = time.monotonic() - t0
    cpu, _, hwm = proc_stats(proc.pid)
    cpu -= cpu0
    proc.terminate()
    proc.wait(60)
    srv.close()
    ids = []
    for b in srv.bodies:
        v = json.loads(b)
        ids.extend(r["id"] for r in (v if isinstance(v, list) else [v]))
    ok = sorted(ids) == list(range(n))
    res = {"mode": mode, "batch_max_size": batch, "records": n, "seconds": round(secs, 2),
           "records_per_s": round(n / secs), "requests": srv.requests,
           "requests_per_s": round(srv.requests / secs), "cpu_seconds": round(cpu, 2),
           "cpu_us_per_record": round(cpu / n * 1e6, 2), "peak_rss_mb": round(hwm, 1),
           "check": "ok" if ok else "FAILED"}
    print(json.dumps(res), flush=True)
    if not ok:
        raise SystemExit(f"{mode}: the server got {len(ids)} ids ({len(set(ids))} distinct), not {n}")
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--binary", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--records", type=int, default=100000)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--sides", default="luaconnect", help="ignored: luaconnect only")
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="luaconnect-bench-http."))
    topic = f"bench-http-{uuid.uuid4().hex[:8]}"
    create_topic(a.bootstrap, topic)
    t = time.monotonic()
    produce(a.bootstrap, topic, a.records)
    print(f"produced {a.records:,} records to {topic} in {time.monotonic() - t:.1f} s", flush=True)
    results = [run(a, topic, tmp, "off", 1), run(a, topic, tmp, "on", a.batch)]
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "http.json").write_text(json.dumps(results, indent=1) + "\n")
    rows = "".join(f"| {r['mode']} (batch.max.size={r['batch_max_size']}) | {r['records_per_s']:,} | "
                   f"{r['requests_per_s']:,} | {r['cpu_us_per_record']} | {r['peak_rss_mb']} | "
                   f"{r['check']} |\n" for r in results)
    (out / "http.md").write_text(
        "# make bench-http: Kafka -> the HTTP sink -> a local HTTP server, batching off and on\n\n"
        f"{a.records:,} JSON records (~50 bytes) from one topic partition, request.body.format=json "
        "(batching on: batch.json.as.array=true), standalone worker, one task, one kept-alive "
        "connection; the server is Python's http.server on the same 2-core machine as the broker "
        "and the worker, so with batching off the server's per-request cost is most of the time.\n\n"
        "| batching | records/s | requests/s | worker CPU µs/record | peak RSS MB | every id once |\n"
        "|---|---|---|---|---|---|\n" + rows +
        f"\nLoad average (1, 5, 15 min) at the end: {' '.join(open('/proc/loadavg').read().split()[:3])} "
        "(the machine is shared; figures move with it).\n")


if __name__ == "__main__":
    main()
