"""What the metrics cost a running pipeline: one luaconnect standalone worker runs the
FileStreamSource -> Kafka pipeline of compare.py (a), with its four transforms, over N lines,
while GET /metrics is scraped every 100 ms, every second, or not at all; rounds alternate
the three modes so that all see the same machine load. Per mode: the median process CPU
(user+sys, every thread, at the moment the last record is in the topic) and the median wall
time from the first record in the topic to the last.

usage: bench/metrics_cost.py --bootstrap HOST:PORT [--binary build/luaconnect]
                             [--records 200000] [--rounds 5]
Prints a markdown table (docs/benchmarks.md quotes it)."""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import EndOffsets, proc_stats, write_props  # noqa: E402
from compare import Bench, free_port, stop  # noqa: E402

MODES = (("none", None), ("every 1 s", 1.0), ("every 100 ms", 0.1))


def scraper(url, period, halt, counts):
    """GETs url/metrics every period seconds until halt is set; counts the pages."""
    while not halt.wait(period):
        try:
            with urllib.request.urlopen(url + "/metrics", timeout=10) as r:
                r.read()
            counts[0] += 1
        except OSError:
            pass  # not listening yet


def page_cost(url, pid, pages=200):
    """(worker CPU ms per GET /metrics, page bytes): pages scraped back to back."""
    time.sleep(0.5)  # let the pipeline's last batch settle
    size = 0
    cpu0 = proc_stats(pid)[0]
    for _ in range(pages):
        with urllib.request.urlopen(url + "/metrics", timeout=10) as r:
            size = len(r.read())
    return (proc_stats(pid)[0] - cpu0) * 1000 / pages, size


def one(args, tmp, period, rnd):
    """One run: (cpu s, wall s from first to last record, pages scraped, page_cost())."""
    tag = f"{rnd}-{period}-{uuid.uuid4().hex[:6]}"
    port = free_port()
    src = os.path.join(tmp, "in.txt")
    topic = f"lc-mcost-{tag}".replace(".", "")
    worker = write_props(os.path.join(tmp, f"{tag}.worker.properties"), {
        "bootstrap.servers": args.bootstrap,
        "key.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "key.converter.schemas.enable": "false", "value.converter.schemas.enable": "false",
        "offset.storage.file.filename": os.path.join(tmp, f"{tag}.offsets"),
        "offset.flush.interval.ms": "10000",
        "listeners": f"http://127.0.0.1:{port}",
    })
    conn = write_props(os.path.join(tmp, f"{tag}.properties"),
                       Bench.file_source(f"mcost-{tag}", src, topic))
    offsets = EndOffsets(args.bootstrap)
    offsets.create(topic + "-clean")  # auto-creation is not measured
    halt, counts = threading.Event(), [0]
    log = open(os.path.join(tmp, f"{tag}.log"), "w")
    p = subprocess.Popen([args.binary, "standalone", worker, conn], stdout=log,
                         stderr=subprocess.STDOUT)
    t = None
    if period:
        t = threading.Thread(target=scraper, args=(f"http://127.0.0.1:{port}", period, halt,
                                                   counts), daemon=True)
        t.start()
    first = None
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and p.poll() is None:
            n = offsets.end(topic + "-clean") or 0
            now = time.monotonic()
            if n and first is None:
                first = now
            if n >= args.records:
                cpu = proc_stats(p.pid)[0]
                return cpu, now - first, counts[0], page_cost(f"http://127.0.0.1:{port}", p.pid)
            time.sleep(0.05)
        raise SystemExit(f"run {tag} did not finish: see {log.name}")
    finally:
        halt.set()
        if t:
            t.join()
        stop(p)
        offsets.close()
        log.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--binary", default="build/luaconnect")
    ap.add_argument("--records", type=int, default=200000)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="lc-mcost-")
    with open(os.path.join(tmp, "in.txt"), "w") as f:
        line = "x" * 99
        f.write("".join(f"{i:08d}{line[8:]}\n" for i in range(args.records)))
    res = {name: [] for name, _ in MODES}
    try:
        for rnd in range(args.rounds):
            order = MODES if rnd % 2 == 0 else tuple(reversed(MODES))
            for name, period in order:
                r = one(args, tmp, period, rnd)
                res[name].append(r)
                print(f"round {rnd + 1} {name:>12}: cpu {r[0]:.2f} s, wall {r[1]:.2f} s, "
                      f"{r[2]} pages", file=sys.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"FileStreamSource -> Kafka, 4 transforms, {args.records} records, "
          f"{args.rounds} rounds (median)\n")
    print("| /metrics scraped | process CPU s | wall s (first to last record) | pages |")
    print("|---|---|---|---|")
    for name, _ in MODES:
        rs = res[name]
        print(f"| {name} | {statistics.median(r[0] for r in rs):.2f} | "
              f"{statistics.median(r[1] for r in rs):.2f} | "
              f"{statistics.median(r[2] for r in rs):.0f} |")
    costs = [r[3] for rs in res.values() for r in rs]
    print(f"\nOne GET /metrics (1 task, {costs[0][1]} bytes), 200 back to back after each run: "
          f"median {statistics.median(c[0] for c in costs):.2f} ms worker CPU per page")


if __name__ == "__main__":
    main()
