#!/usr/bin/env python3
"""make bench-eos: what exactly-once costs, on pipeline (a) of make bench (FileStreamSource,
JSON without schemas, the 4 SMTs, N lines of 100 bytes), luaconnect beside Apache Kafka
Connect 4.x. Connect offers exactly-once only in distributed mode, so both sides run one
distributed worker: once with exactly.once.source.support=disabled, once with enabled.

Runs, on each side (a fresh connector, file and topic each):
  off        exactly-once disabled (at-least-once, offsets flushed every 10 s)
  poll       enabled, transaction.boundary=poll (a transaction per poll() batch)
  interval   enabled, transaction.boundary=interval, transaction.boundary.interval.ms=1000
  connector  enabled, transaction.boundary=connector (luaconnect only: Connect's
             FileStreamSource cannot define transactions): bench/plugins/file_txn_source.lua,
             FileStreamSource committing every 10,000 records

Figures: records/s from the PUT of the connector until a read_committed consumer (kcat,
streaming from the start) has counted all N records; worker CPU seconds (user+sys, every
thread) over the same span, per record; the worker's peak RSS. A run whose consumer does
not count exactly N records is FAILED.

usage: bench/eos.py --bootstrap HOST:PORT --binary build/luaconnect --out DIR
           [--records 1000000] [--sides luaconnect,connect]"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import distributed as d  # noqa: E402
from benchlib import EndOffsets, proc_stats  # noqa: E402

RUNS = {"off": None, "poll": {"transaction.boundary": "poll"},
        "interval": {"transaction.boundary": "interval",
                     "transaction.boundary.interval.ms": "1000"},
        "connector": {"transaction.boundary": "connector", "commit.records": "10000"}}


class Counter(threading.Thread):
    """kcat -C from the beginning, read_committed, one byte per record, unbuffered (-u: a pipe
    would otherwise hold back the last few thousand records): counts records."""

    def __init__(self, bootstrap, topic):
        super().__init__(daemon=True)
        self.n = 0
        self.p = subprocess.Popen(["kcat", "-q", "-u", "-b", bootstrap, "-C", "-t", topic, "-o",
                                   "beginning", "-X", "isolation.level=read_committed",
                                   "-f", "x"], stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL)

    def run(self):
        while True:
            chunk = self.p.stdout.read1(65536)
            if not chunk:
                return
            self.n += len(chunk)

    def stop(self):
        self.p.kill()
        self.p.wait()


def one_side(kind, tmp, bootstrap, n, runs):
    out = []
    line = "z" * 99 + "\n"
    for eos in (False, True):
        names = [r for r in runs if (RUNS[r] is None) != eos]
        if kind == "connect":
            names = [r for r in names if r != "connector"]
        if not names:
            continue
        extra = {"offset.flush.interval.ms": "10000",
                 "exactly.once.source.support": "enabled" if eos else "disabled"}
        if kind == "luaconnect":
            extra["plugin.path"] = f"{HERE / 'plugins'},{HERE.parent / 'scripts'}"
        side = d.Side(kind, tmp, bootstrap, extra)
        offs = EndOffsets(bootstrap)
        try:
            w = side.add()
            w.wait_ready(d.WAIT) if kind == "connect" else w.wait_rest(d.WAIT)
            pid = side.pid(w)
            for name in names:
                run = uuid.uuid4().hex[:6]
                topic = f"bench-eos-{run}"
                offs.create(topic + "-clean")
                path = tmp / f"{kind}-{name}-{run}.txt"
                with open(path, "w") as f:
                    for _ in range(n // 10000):
                        f.write(line * 10000)
                    f.write(line * (n % 10000))
                cfg = d.file_source(path, topic + "-raw")
                if name == "connector":
                    cfg["connector.class"] = "file_txn_source"
                cfg.update({k: v for k, v in (RUNS[name] or {}).items()})
                if eos:
                    cfg["exactly.once.support"] = "required"
                counter = Counter(bootstrap, topic + "-clean")
                counter.start()
                time.sleep(1)
                cpu0 = proc_stats(pid)[0]
                t0 = time.monotonic()
                w.rest("PUT", f"/connectors/{name}/config", cfg)
                deadline = t0 + 1800
                while counter.n < n and time.monotonic() < deadline:
                    time.sleep(0.02)
                elapsed = time.monotonic() - t0
                cpu, _, hwm = proc_stats(pid)
                time.sleep(1)
                got = counter.n
                counter.stop()
                ok = got == n
                r = {"side": kind, "run": name, "records": n, "counted": got, "ok": ok,
                     "seconds": elapsed, "records_per_s": n / elapsed if ok else None,
                     "cpu_s": cpu - cpu0, "cpu_us_per_record": (cpu - cpu0) / n * 1e6,
                     "rss_peak_mb": hwm}
                out.append(r)
                print(f"  {kind} {name:9s}: {got}/{n} read_committed in {elapsed:.2f} s = "
                      f"{(r['records_per_s'] or 0):,.0f} records/s, CPU {r['cpu_s']:.2f} s "
                      f"({r['cpu_us_per_record']:.2f} µs/record), peak RSS {hwm:.0f} MB"
                      + ("" if ok else "  FAILED"))
                w.rest("DELETE", f"/connectors/{name}")
                time.sleep(1)
        finally:
            side.stop()
            offs.close()
    return out


def render(results, args, started):
    lines = ["# Exactly-once sources: cost on pipeline (a), luaconnect vs Kafka Connect", "",
             f"Run {started} on {os.cpu_count()} cores, broker {args.bootstrap} (shared "
             f"machine), {args.records:,} records per run, one distributed worker per side. "
             "bench/eos.py explains each figure.", "",
             "| side | exactly-once | records/s | vs off | CPU µs/record | peak RSS MB |",
             "|---|---|---|---|---|---|"]
    base = {r["side"]: r for r in results if r["run"] == "off" and r["ok"]}
    for r in results:
        rate = f"{r['records_per_s']:,.0f}" if r["ok"] else f"FAILED ({r['counted']}/{r['records']})"
        b = base.get(r["side"])
        vs = f"{r['records_per_s'] / b['records_per_s']:.2f}×" if r["ok"] and b else "—"
        label = "off" if r["run"] == "off" else f"on, boundary={r['run']}"
        lines.append(f"| {r['side']} | {label} | {rate} | {vs} | {r['cpu_us_per_record']:.2f} | "
                     f"{r['rss_peak_mb']:.0f} |")
    lc = {r["run"]: r for r in results if r["side"] == "luaconnect" and r["ok"]}
    kc = {r["run"]: r for r in results if r["side"] == "connect" and r["ok"]}
    both = [k for k in ("off", "poll", "interval") if k in lc and k in kc]
    if both:
        lines += [""] + [f"- {k}: luaconnect {lc[k]['records_per_s'] / kc[k]['records_per_s']:.1f}× "
                         f"Connect's throughput, CPU per record 1/"
                         f"{kc[k]['cpu_us_per_record'] / lc[k]['cpu_us_per_record']:.1f}"
                         for k in both]
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--binary", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--records", type=int, default=1000000)
    ap.add_argument("--sides", default="luaconnect,connect")
    ap.add_argument("--runs", default=",".join(RUNS))
    args = ap.parse_args()
    os.environ["LC_BIN"] = os.path.abspath(args.binary)
    d.BenchConnect = d.bench_connect_class()
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    tmp = Path(tempfile.mkdtemp(prefix="lc-bench-eos-"))
    results = []
    for side in args.sides.split(","):
        print(f"bench-eos: {side}")
        results += one_side(side, tmp, args.bootstrap, args.records, args.runs.split(","))
    os.makedirs(args.out, exist_ok=True)
    md = render(results, args, started)
    Path(args.out, "eos.md").write_text(md)
    Path(args.out, "eos.json").write_text(json.dumps(results, indent=1) + "\n")
    print(md)
    print(f"bench-eos: logs in {tmp}")


if __name__ == "__main__":
    main()
