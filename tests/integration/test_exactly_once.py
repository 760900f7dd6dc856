"""Exactly-once sources (KIP-618) on the real broker, as a user checks them: a read_committed
consumer of the topic sees every sequence number once, in order per source partition, after
workers are killed, paused past their session or the script aborts its own transactions.

The kill loops run LC_EOS_KILLS times (make test: 3 in the distributed test, 5 standalone);
`make test-eos` runs the issue's 20 of each (LC_EOS_KILLS=20)."""

from __future__ import annotations

import json
import os
import random
import subprocess
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Dict, List

import pytest

from cluster import STRING, Cluster, has_distributed
from conftest import luaconnect_bin, release_round_only
from kafka_records import create_topic
from worker import Worker, wait_for

KILLS = int(os.environ.get("LC_EOS_KILLS", "0"))  # 0: each test's short default
EOS = {"exactly.once.source.support": "enabled"}

pytestmark = pytest.mark.skipif(not has_distributed(luaconnect_bin()),
                                reason="this luaconnect has no distributed command")


def consume(kafka: str, topic: str, committed: bool = True, timestamps: bool = False) -> list:
    """Every value of topic from the beginning to its end, read_committed (or not); with
    timestamps, (timestamp ms, value) pairs. Call it once the producers have stopped: while
    transactional producers keep committing, a read_committed consumer may never see the end
    (every fetch returns newly committed records), so `kcat -e` would not return."""
    iso = "read_committed" if committed else "read_uncommitted"
    p = subprocess.run(["kcat", "-q", "-b", kafka, "-C", "-t", topic, "-o", "beginning", "-e",
                        "-X", f"isolation.level={iso}", "-f", "%p %T %s\n"],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    out = [line.split(" ", 2)[1:] for line in p.stdout.splitlines() if line.count(" ") >= 2]
    return [(int(ts), v) for ts, v in out] if timestamps else [v for _, v in out]


def assert_exactly_once(values: List[str]) -> Dict[str, int]:
    """values are "<shard>:<n>" as the topic holds them, partition by partition (a shard's
    records share a key, so one partition). Per shard, n must run 0, 1, 2, ... in order: no
    gap, no repeat. Returns {shard: count}."""
    seen: Dict[str, List[int]] = defaultdict(list)
    for v in values:
        shard, n = v.split(":")
        seen[shard].append(int(n))
    for shard, ns in seen.items():
        if ns == list(range(len(ns))):
            continue
        counts: Dict[int, int] = defaultdict(int)
        for n in ns:
            counts[n] += 1
        dup = sorted(n for n, c in counts.items() if c > 1)
        gaps = sorted(set(range(max(ns) + 1)) - set(ns))
        disorder = next((i for i in range(1, len(ns)) if ns[i] < ns[i - 1]), None)
        raise AssertionError(
            f"shard {shard}: {len(ns)} records, duplicates {dup[:10]} ({len(dup)}), "
            f"missing {gaps[:10]} ({len(gaps)}), first out of order at index {disorder}")
    return {s: len(ns) for s, ns in seen.items()}


def seq_source(topic: str, tasks: int, rate: int) -> dict:
    return {"connector.class": "seq_shards_source", "tasks.max": str(tasks), "topic": topic,
            "rate": str(rate), "keyed": "true", "value.converter": STRING}


def task_owners(w, name: str) -> Dict[int, str]:
    """{task id: worker id} of the connector's RUNNING tasks, as w reports them."""
    st, body = w.call("GET", f"/connectors/{name}/status")
    if st != 200:
        return {}
    return {t["id"]: t["worker_id"] for t in body["tasks"] if t["state"] == "RUNNING"}


def stop_and_wait(w, name: str) -> None:
    w.rest("PUT", f"/connectors/{name}/stop")

    def stopped():
        st, body = w.call("GET", f"/connectors/{name}/status")
        return st == 200 and body["connector"]["state"] == "STOPPED"
    wait_for(stopped, 60, f"{name} STOPPED", w.log)


# ------------------------------------------------------------------ distributed
@release_round_only("kill -9 cycles of random workers")
def test_kill_9_of_random_workers_leaves_every_number_exactly_once(kafka, tmp_path):
    kills = KILLS or 3
    tasks, rate = 6, 300
    topic = f"lc-eos-{uuid.uuid4().hex[:8]}"
    create_topic(kafka, topic, 6)
    rng = random.Random(os.environ.get("LC_EOS_SEED", "14"))
    with Cluster(tmp_path, kafka, n=3, extra=EOS) as c:
        c.start()
        c.workers[0].rest("PUT", "/connectors/src/config", seq_source(topic, tasks, rate))
        wait_for(lambda: len(task_owners(c.workers[0], "src")) == tasks, 60, "6 tasks RUNNING",
                 c.workers[0].log)
        for k in range(kills):
            time.sleep(rng.uniform(1.0, 3.0))
            victim = rng.choice(c.live())
            victim.kill9()
            others = c.live()
            ids = {w.worker_id for w in others}
            wait_for(lambda: (lambda o: len(o) == tasks and set(o.values()) <= ids)(
                task_owners(others[0], "src")), 90,
                f"kill {k + 1}/{kills}: the 6 tasks RUNNING on the survivors", others[0].log)
            victim.start()
            victim.wait_rest(60)
        last_kill_ms = int(time.time() * 1000)
        time.sleep(4)
        w = c.live()[0]
        stop_and_wait(w, "src")
        stamped = consume(kafka, topic, timestamps=True)
        values = [v for _, v in stamped]
        assert any(ts > last_kill_ms for ts, _ in stamped), "no record committed after the last kill"
        raw = consume(kafka, topic, committed=False)
        counts = assert_exactly_once(values)
        assert sorted(counts) == [str(s) for s in range(tasks)], counts
        print(f"\nexactly-once, {kills} kill -9 of random workers: {len(values)} committed "
              f"records over {tasks} shards, none lost or doubled "
              f"({len(raw) - len(values)} records of aborted transactions in the topic)")


def test_a_zombie_worker_is_fenced_and_commits_nothing(kafka, tmp_path):
    tasks = 3
    topic = f"lc-eos-zombie-{uuid.uuid4().hex[:8]}"
    create_topic(kafka, topic, 3)
    with Cluster(tmp_path, kafka, n=3, extra=EOS) as c:
        c.start()
        a = c.workers[0]
        # Long transactions: the zombie's is open when it is paused, whatever the timing, so
        # its end (a commit once the interval is over, or the commit of a clean stop when the
        # worker finds it lost its membership) is what the new instance fenced.
        cfg = {**seq_source(topic, tasks, 300), "transaction.boundary": "interval",
               "transaction.boundary.interval.ms": "20000"}
        a.rest("PUT", "/connectors/src/config", cfg)
        wait_for(lambda: len(task_owners(a, "src")) == tasks, 60, "3 tasks RUNNING", a.log)
        leader = c.leader()
        owners = task_owners(a, "src")
        zombie = next(w for w in c.workers
                      if w is not leader and w.worker_id in owners.values())
        moved = sorted(t for t, wid in owners.items() if wid == zombie.worker_id)
        time.sleep(1)
        zombie.sigstop()
        others = [w for w in c.workers if w is not zombie]
        wait_for(lambda: (lambda o: len(o) == tasks and zombie.worker_id not in o.values())(
            task_owners(others[0], "src")), 90,
            f"the paused worker's tasks {moved} RUNNING on the other workers", others[0].log)
        time.sleep(3)  # the new instances commit transactions of their own
        zombie.sigcont()
        # The zombie's open transaction was from before the pause: its commit is fenced.
        wait_for(lambda: "fenced this one" in zombie.log(), 60,
                 "the zombie to log that it was fenced", zombie.log)
        wait_for(lambda: len(task_owners(a, "src")) == tasks, 60,
                 "every task RUNNING once the zombie rejoined", a.log)
        time.sleep(2)
        stop_and_wait(a, "src")
        values = consume(kafka, topic)
        counts = assert_exactly_once(values)
        assert sorted(counts) == [str(s) for s in range(tasks)], counts
        line = next(x for x in zombie.log().splitlines() if "fenced this one" in x)
        assert "transactional.id" in line and f"{c.group_id}-src-" in line, line


def test_required_on_a_worker_without_exactly_once_is_a_400_naming_both_keys(kafka, tmp_path):
    with Cluster(tmp_path, kafka, n=1) as c:
        c.start()
        cfg = {**seq_source("t", 1, 10), "exactly.once.support": "required"}
        st, body = c.workers[0].call("PUT", "/connectors/req/config", cfg)
        assert st == 400, body
        assert "exactly.once.support" in body["message"], body
        assert "exactly.once.source.support" in body["message"], body
        assert c.workers[0].call("GET", "/connectors/req")[0] == 404


def test_connector_defined_transactions_abort_and_commit(kafka, tmp_path):
    topic = f"lc-eos-txn-{uuid.uuid4().hex[:8]}"
    create_topic(kafka, topic, 1)
    with Cluster(tmp_path, kafka, n=1, extra=EOS) as c:
        c.start()
        w = c.workers[0]
        bad = {"connector.class": "seq_shards_source", "topic": topic,
               "transaction.boundary": "connector"}
        st, body = w.call("PUT", "/connectors/bad/config", bad)
        assert st == 400 and "transaction.boundary" in body["message"], body
        w.rest("PUT", "/connectors/txn/config", {
            "connector.class": "txn_source", "topic": topic, "per_txn": "50",
            "abort_every": "3", "transaction.boundary": "connector", "value.converter": STRING})
        wait_for(lambda: w.log().count("aborting transaction") >= 4, 60,
                 "four aborted transactions", w.log)
        stop_and_wait(w, "txn")
        # Each aborted transaction's 50 numbers came again in the next one: read_committed
        # sees 0, 1, 2, ... once each, in whole transactions of 50, while the topic also holds
        # the 50 records of every aborted transaction.
        values = consume(kafka, topic)
        raw = consume(kafka, topic, committed=False)
        nums = [int(v) for v in values]
        assert nums == list(range(len(nums))), nums[:80]
        aborted = w.log().count("transaction aborted by the connector")
        assert aborted >= 4 and len(nums) % 50 == 0 and len(nums) >= 400, (aborted, len(nums))
        assert len(raw) == len(nums) + 50 * aborted, (len(raw), len(nums), aborted)
        assert "task FAILED" not in w.log()


# ------------------------------------------------------------------ standalone
def test_standalone_kill_9_cycles_leave_every_number_exactly_once(kafka, tmp_path):
    cycles = KILLS or 5
    topic = f"lc-eos-sa-{uuid.uuid4().hex[:8]}"
    offsets = f"lc-eos-sa-offsets-{uuid.uuid4().hex[:8]}"
    create_topic(kafka, topic, 1)
    rng = random.Random(os.environ.get("LC_EOS_SEED", "14"))
    plugins = Path(__file__).resolve().parent / "plugins"
    w = Worker(tmp_path, kafka, [{
        "name": "src", "connector.class": "seq_shards_source", "tasks.max": "1",
        "topic": topic, "rate": "2000", "keyed": "true", "value.converter": STRING}],
        worker={**EOS, "plugin.path": str(plugins), "offset.storage.topic": offsets,
                "offset.storage.replication.factor": "1"})
    try:
        for k in range(cycles):
            w.start()
            wait_for(lambda: w.log().count("task RUNNING") > k, 60,
                     f"cycle {k + 1}: the task RUNNING", w.log)
            time.sleep(rng.uniform(0.5, 2.0))
            w.kill()
        w.start()
        wait_for(lambda: w.log().count("task RUNNING") > cycles, 60, "the task RUNNING", w.log)
        time.sleep(1)
        assert w.stop() == 0
    finally:
        if w.alive():
            w.kill()
    values = consume(kafka, topic)
    counts = assert_exactly_once(values)
    assert list(counts) == ["0"] and counts["0"] > 1000, counts
    # The source offset is in the Kafka offsets topic (committed with the records), as
    # Connect's key and value: ["src",{"shard":0,"source":"seq"}] -> {"next": N}.
    p = subprocess.run(["kcat", "-q", "-b", kafka, "-C", "-t", offsets, "-o", "beginning", "-e",
                        "-X", "isolation.level=read_committed", "-f", "%k\t%s\n"],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    last = [line.split("\t") for line in p.stdout.splitlines()
            if line.startswith('["src",')][-1]
    assert json.loads(last[0]) == ["src", {"shard": 0, "source": "seq"}], last
    assert json.loads(last[1]) == {"next": counts["0"]}, last
    print(f"\nexactly-once standalone, {cycles} kill -9 cycles: {counts['0']} committed records,"
          f" none lost or doubled ({len(consume(kafka, topic, committed=False)) - counts['0']}"
          " records of aborted transactions in the topic)")
