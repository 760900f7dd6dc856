#!/usr/bin/env python3
"""make bench-distributed: a 3-worker luaconnect cluster beside a 3-worker Apache Kafka
Connect cluster (4.x, distributed), on the same broker with the same settings.

Measured, on each side:
  failover  kill -9 of a worker that runs tasks (first a follower, later the leader): time
            until each of its tasks is RUNNING on another worker (GET .../status on a
            survivor) and until its records flow again (the task's topic grows past where
            it stood when the worker died). Target: session.timeout.ms + 2 s.
  join      a fourth worker started into the cluster: time from its exec until it runs its
            share of the tasks, and how many tasks changed worker (the fewest possible is
            its share).
  pipeline  pipeline (a) of make bench (FileStreamSource, JSON without schemas, the 4 SMTs)
            as 3 connectors of N/3 lines each on a fresh 3-worker cluster: records/s from
            the first POST until every record is in its topic; CPU seconds and peak RSS of
            each worker.

Failover and join run on one cluster: 6 FileStreamSource connectors, each fed 100 lines/s
by this script, each writing its own 1-partition topic. Group settings on both sides are
Connect's defaults (session.timeout.ms 10000, heartbeat.interval.ms 3000) except
scheduled.rebalance.max.delay.ms=0: with Connect's default of 5 minutes both would wait on
purpose for the dead worker to return.

usage: bench/distributed.py --bootstrap HOST:PORT --binary build/luaconnect --out DIR
           [--records 1000000] [--sides luaconnect,connect]"""

import argparse
import json
import os
import re
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests" / "integration"))
from benchlib import EndOffsets, proc_stats  # noqa: E402
from compare import Bench  # noqa: E402

SESSION_MS = 10000
GROUP = {"session.timeout.ms": str(SESSION_MS), "heartbeat.interval.ms": "3000",
         "scheduled.rebalance.max.delay.ms": "0"}
JSON_NO_SCHEMAS = {
    "key.converter": "org.apache.kafka.connect.json.JsonConverter",
    "value.converter": "org.apache.kafka.connect.json.JsonConverter",
    "key.converter.schemas.enable": "false",
    "value.converter.schemas.enable": "false",
}
CONNECT_HEAP = os.environ.get("BENCH_CONNECT_HEAP", "-Xms256M -Xmx2G")
# what Kafka's bin/kafka-run-class.sh adds to every JVM it starts
CONNECT_JVM = ["-server", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
               "-XX:InitiatingHeapOccupancyPercent=35", "-XX:+ExplicitGCInvokesConcurrent",
               "-XX:MaxInlineLevel=15", "-Djava.awt.headless=true",
               "-Dorg.apache.logging.log4j.level=INFO"]
FEED_RATE = 100  # lines per second into each failover connector's file
FAILOVER_CONNECTORS = 6
WAIT = 180


def file_source(path, topic):
    """Pipeline (a)'s connector, bench/compare.py's, writing to topic."""
    cfg = Bench.file_source("", str(path), "")
    del cfg["name"]
    cfg["topic"] = topic
    return cfg


def wait(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    raise RuntimeError(f"timed out after {timeout}s waiting for {what}")


# ------------------------------------------------------------------ the two clusters
class Side:
    """A cluster of one kind: workers that can be added, killed and asked where tasks run."""

    def __init__(self, kind, tmp, bootstrap, extra):
        self.kind, self.tmp, self.bootstrap = kind, Path(tmp), bootstrap
        run = uuid.uuid4().hex[:8]
        self.group = f"bench-{kind}-{run}"
        self.topics = (f"bench-{run}-configs", f"bench-{run}-offsets", f"bench-{run}-status")
        self.extra = {**GROUP, **JSON_NO_SCHEMAS, **extra}
        self.workers = []
        if kind == "luaconnect":
            from cluster import Cluster
            self.cluster = Cluster(self.tmp, bootstrap, n=0, group_id=self.group,
                                   topics=self.topics, extra=self.extra)

    def add(self):
        """Starts one more worker (not waiting); returns it."""
        if self.kind == "luaconnect":
            w = self.cluster.add_worker(start=True)
        else:
            w = BenchConnect(self.tmp, self.bootstrap, self.group, self.topics, self.extra,
                             name=f"connect-{len(self.workers)}").start(wait=False)
        w.t_exec = time.monotonic()
        self.workers.append(w)
        return w

    @staticmethod
    def wid(w):
        return w.worker_id if hasattr(w, "worker_id") else f"127.0.0.1:{w.port}"

    def pid(self, w):
        return w.proc.pid

    def live(self):
        return [w for w in self.workers if w.alive()]

    def leader(self):
        """The leading worker: from Kafka's group for luaconnect, from the last assignment
        each Connect worker logged (leaderUrl) for Connect."""
        if self.kind == "luaconnect":
            return self.cluster.leader()
        pat = re.compile(r"leaderUrl='http://127\.0\.0\.1:(\d+)/'")
        for w in self.live():
            found = pat.findall(w.log())
            if found:
                port = int(found[-1])
                return next((x for x in self.live() if x.port == port), None)
        return None

    def placement(self, names, via=None):
        """{connector: worker id of its RUNNING task 0} for those whose task runs."""
        w = via or self.live()[0]
        try:
            st = w.rest("GET", "/connectors?expand=status", timeout=10)
        except Exception:  # noqa: BLE001 - a worker mid-rebalance; ask again
            return {}
        out = {}
        for c in names:
            for t in st.get(c, {}).get("status", {}).get("tasks", []):
                if t["state"] == "RUNNING":
                    out[c] = t["worker_id"]
        return out

    def stop(self):
        for w in self.workers:
            try:
                w.stop()
            except Exception as e:  # noqa: BLE001
                print(f"  ({self.kind}: stopping {self.wid(w)}: {e})")


def bench_connect_class():
    from connect_java import ConnectDistributed

    class BenchConnect(ConnectDistributed):
        """Connect as connect-distributed.sh starts it (the test harness uses a smaller heap
        and the C1 compiler only, to start fast; a benchmark must not)."""

        def command(self):
            return (["java"] + CONNECT_HEAP.split() + CONNECT_JVM +
                    ["-cp", self.classpath(), "org.apache.kafka.connect.cli.ConnectDistributed",
                     str(self.props_path)])

        def kill9(self):
            self.kill()

        @property
        def worker_id(self):
            return f"127.0.0.1:{self.port}"
    return BenchConnect


BenchConnect = None


# ------------------------------------------------------------------ feeding files
class Feeder(threading.Thread):
    """Appends FEED_RATE lines per second to each file."""

    def __init__(self, paths):
        super().__init__(daemon=True)
        self.paths, self.stop_flag, self.n = paths, threading.Event(), 0

    def run(self):
        files = [open(p, "a") for p in self.paths]
        t0 = time.monotonic()
        while not self.stop_flag.is_set():
            due = int((time.monotonic() - t0) * FEED_RATE)
            while self.n < due:
                for f in files:
                    f.write(f"line {self.n:09d} " + "x" * 84 + "\n")
                self.n += 1
            for f in files:
                f.flush()
            time.sleep(0.01)
        for f in files:
            f.close()


# ------------------------------------------------------------------ failover and join
def failover_and_join(kind, tmp, bootstrap):
    side = Side(kind, tmp, bootstrap, {"offset.flush.interval.ms": "1000"})
    offs = EndOffsets(bootstrap)
    names = [f"src{i}" for i in range(FAILOVER_CONNECTORS)]
    run = uuid.uuid4().hex[:6]
    topics = {c: f"bench-fo-{run}-{c}" for c in names}
    files = {c: tmp / f"{kind}-{c}.txt" for c in names}
    for c in names:
        offs.create(topics[c])
        files[c].write_text("")
    feeder = Feeder([files[c] for c in names])
    out = {}
    try:
        for _ in range(3):
            side.add()
        for w in side.workers:
            w.wait_ready(WAIT) if kind == "connect" else w.wait_rest(WAIT)
        feeder.start()
        a = side.workers[0]
        for c in names:
            a.rest("PUT", f"/connectors/{c}/config", file_source(files[c], topics[c]))
        wait(lambda: len(side.placement(names)) == len(names), WAIT, "6 tasks RUNNING")
        wait(lambda: all((offs.end(topics[c]) or 0) > 0 for c in names), WAIT,
             "records in every topic")
        time.sleep(3)

        def kill(victim, label):
            place = side.placement(names)
            vid = side.wid(victim)
            mine = [c for c, w in place.items() if w == vid]
            survivors = [w for w in side.live() if w is not victim]
            t0 = time.monotonic()
            victim.kill9()
            time.sleep(0.3)  # what the victim had in flight lands before the baseline
            base = {c: offs.end(topics[c]) or 0 for c in mine}
            running, flowing = {}, {}
            deadline = t0 + WAIT
            while (len(running) < len(mine) or len(flowing) < len(mine)) and \
                    time.monotonic() < deadline:
                now = time.monotonic()
                place = side.placement(mine, via=survivors[0])
                for c in mine:
                    if c not in running and place.get(c) not in (None, vid):
                        running[c] = now - t0
                    if c not in flowing and (offs.end(topics[c]) or 0) > base[c]:
                        flowing[c] = now - t0
                time.sleep(0.1)
            r = {"tasks": len(mine),
                 "running_s": max(running.values()) if len(running) == len(mine) else None,
                 "flowing_s": max(flowing.values()) if len(flowing) == len(mine) else None}
            print(f"  {kind}: kill -9 of the {label} ({vid}, {len(mine)} tasks): RUNNING "
                  f"elsewhere after {fmt(r['running_s'])} s, records flowing after "
                  f"{fmt(r['flowing_s'])} s")
            return r

        leader = wait(side.leader, WAIT, "a leader")
        follower = max((w for w in side.live() if w is not leader),
                       key=lambda w: sum(1 for v in side.placement(names).values()
                                         if v == side.wid(w)))
        out["failover_follower"] = kill(follower, "follower")
        time.sleep(3)

        # join: a new worker takes its share
        before = side.placement(names)
        w = side.add()
        share = len(names) // len(side.live())
        wid = side.wid(w)

        def joined():
            p = side.placement(names, via=side.workers[0] if side.workers[0].alive()
                               else side.live()[0])
            return p if sum(1 for v in p.values() if v == wid) >= share and \
                len(p) == len(names) else None
        after = wait(joined, WAIT, "the new worker running its share")
        t_join = time.monotonic() - w.t_exec
        time.sleep(5)  # a later rebalance may still move tasks: count what settled
        after = side.placement(names) or after
        moved = sum(1 for c in names if before.get(c) != after.get(c))
        out["join"] = {"seconds": t_join, "share": share, "moved": moved,
                       "on_new": sum(1 for v in after.values() if v == wid)}
        print(f"  {kind}: join: the new worker ran its share ({share} tasks) "
              f"{t_join:.1f} s after exec; tasks that changed worker: {moved}")
        time.sleep(3)

        leader = wait(side.leader, WAIT, "a leader")
        out["failover_leader"] = kill(leader, "leader")
    finally:
        feeder.stop_flag.set()
        side.stop()
        offs.close()
    return out


# ------------------------------------------------------------------ throughput
def pipeline(kind, tmp, bootstrap, n):
    side = Side(kind, tmp, bootstrap, {"offset.flush.interval.ms": "10000"})
    offs = EndOffsets(bootstrap)
    per = n // 3
    run = uuid.uuid4().hex[:6]
    names = [f"a{i}" for i in range(3)]
    topics = {c: f"bench-a-{run}-{c}" for c in names}
    files = {c: tmp / f"{kind}-{c}-input.txt" for c in names}
    line = "y" * 99 + "\n"
    for c in names:
        offs.create(topics[c] + "-clean")
        with open(files[c], "w") as f:
            for _ in range(per // 10000):
                f.write(line * 10000)
            f.write(line * (per % 10000))
    try:
        for _ in range(3):
            side.add()
        for w in side.workers:
            w.wait_ready(WAIT) if kind == "connect" else w.wait_rest(WAIT)
        time.sleep(2)
        cpu0 = {side.wid(w): proc_stats(side.pid(w))[0] for w in side.workers}
        idle = {side.wid(w): proc_stats(side.pid(w))[1] for w in side.workers}
        t0 = time.monotonic()
        for c in names:
            side.workers[0].rest("PUT", f"/connectors/{c}/config",
                                 file_source(files[c], topics[c] + "-raw"))

        def count():
            return sum(offs.end(topics[c] + "-clean") or 0 for c in names)
        deadline = t0 + 1800
        got = 0
        while time.monotonic() < deadline:
            got = count()
            if got >= per * 3:
                break
            time.sleep(0.05)
        elapsed = time.monotonic() - t0
        workers = []
        for w in side.workers:
            cpu, rss, hwm = proc_stats(side.pid(w))
            workers.append({"worker": side.wid(w), "cpu_s": cpu - cpu0[side.wid(w)],
                            "rss_idle_mb": idle[side.wid(w)], "rss_peak_mb": hwm})
        placement = side.placement(names)
        ok = got == per * 3
        r = {"records": per * 3, "delivered": got, "ok": ok, "seconds": elapsed,
             "records_per_s": got / elapsed if ok else None, "workers": workers,
             "placement": placement}
        print(f"  {kind}: pipeline (a) on 3 workers: {got}/{per * 3} records in {elapsed:.2f} s"
              f" = {r['records_per_s'] or 0:,.0f} records/s; CPU s "
              f"{', '.join(fmt(x['cpu_s']) for x in workers)}; peak RSS MB "
              f"{', '.join(fmt(x['rss_peak_mb'], 0) for x in workers)}")
        return r
    finally:
        side.stop()
        offs.close()


# ------------------------------------------------------------------ report
def fmt(v, d=1):
    return "—" if v is None else f"{v:.{d}f}"


def render(res, args, started):
    target = SESSION_MS / 1000 + 2
    lines = ["# Distributed mode: luaconnect vs Kafka Connect, 3 workers each", "",
             f"Run {started} on {os.cpu_count()} cores, broker {args.bootstrap} (shared "
             "machine). Settings on both sides: session.timeout.ms=10000, "
             "heartbeat.interval.ms=3000, scheduled.rebalance.max.delay.ms=0. "
             f"Connect heap {CONNECT_HEAP}. bench/distributed.py explains each figure.", "",
             f"## Failover (target: session timeout + 2 s = {target:.0f} s)", "",
             "| side | worker killed | tasks | RUNNING elsewhere (s) | records flowing (s) |"
             " target met |", "|---|---|---|---|---|---|"]
    for side in args.sides:
        r = res.get(side, {}).get("failover")
        if not r:
            continue
        for label in ("follower", "leader"):
            x = r.get(f"failover_{label}")
            if x:
                met = x["flowing_s"] is not None and x["flowing_s"] <= target
                lines.append(f"| {side} | {label} | {x['tasks']} | {fmt(x['running_s'])} | "
                             f"{fmt(x['flowing_s'])} | {'yes' if met else 'NO'} |")
    lines += ["", "## Join (a fourth worker)", "",
              "| side | exec → running its share (s) | its share | tasks on it | tasks moved |",
              "|---|---|---|---|---|"]
    for side in args.sides:
        j = res.get(side, {}).get("failover", {}).get("join")
        if j:
            lines.append(f"| {side} | {fmt(j['seconds'])} | {j['share']} | {j['on_new']} | "
                         f"{j['moved']} |")
    lines += ["", f"## Pipeline (a) on 3 workers ({args.records:,} records as 3 connectors)",
              "", "| side | records/s | seconds | CPU s per worker | peak RSS MB per worker |"
              " idle RSS MB per worker |", "|---|---|---|---|---|---|"]
    for side in args.sides:
        p = res.get(side, {}).get("pipeline")
        if p:
            ws = p["workers"]
            rate = f"{p['records_per_s']:,.0f}" if p["ok"] else \
                f"FAILED ({p['delivered']}/{p['records']})"
            lines.append(f"| {side} | {rate} | {p['seconds']:.2f} | "
                         f"{' / '.join(fmt(w['cpu_s']) for w in ws)} | "
                         f"{' / '.join(fmt(w['rss_peak_mb'], 0) for w in ws)} | "
                         f"{' / '.join(fmt(w['rss_idle_mb'], 0) for w in ws)} |")
    lc, kc = res.get("luaconnect", {}).get("pipeline"), res.get("connect", {}).get("pipeline")
    if lc and kc and lc["ok"] and kc["ok"]:
        cpu = lambda p: sum(w["cpu_s"] for w in p["workers"])  # noqa: E731
        rss = lambda p: max(w["rss_peak_mb"] for w in p["workers"])  # noqa: E731
        lines += ["", f"luaconnect / Connect: throughput "
                  f"{lc['records_per_s'] / kc['records_per_s']:.1f}×, CPU of the cluster per "
                  f"record 1/{(cpu(kc) / kc['records']) / (cpu(lc) / lc['records']):.1f}, "
                  f"largest worker's peak RSS 1/{rss(kc) / rss(lc):.0f}."]
    return "\n".join(lines) + "\n"


def main():
    global BenchConnect
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--binary", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--records", type=int, default=1000000)
    ap.add_argument("--sides", default="luaconnect,connect")
    args = ap.parse_args()
    args.sides = args.sides.split(",")
    os.environ["LC_BIN"] = os.path.abspath(args.binary)
    BenchConnect = bench_connect_class()
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    res = {}
    tmp = Path(tempfile.mkdtemp(prefix="lc-bench-dist-"))
    for side in args.sides:
        print(f"bench-distributed: {side}: failover and join")
        res.setdefault(side, {})["failover"] = failover_and_join(side, tmp, args.bootstrap)
    for side in args.sides:
        print(f"bench-distributed: {side}: pipeline (a) on 3 workers")
        res[side]["pipeline"] = pipeline(side, tmp, args.bootstrap, args.records)
    os.makedirs(args.out, exist_ok=True)
    md = render(res, args, started)
    Path(args.out, "distributed.md").write_text(md)
    Path(args.out, "distributed.json").write_text(json.dumps(res, indent=1) + "\n")
    print(md)
    print(f"bench-distributed: logs in {tmp}")


if __name__ == "__main__":
    main()
