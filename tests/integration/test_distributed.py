"""Distributed mode (issue 13) on the real broker with three (or four) `luaconnect
distributed` worker processes: REST on any worker, balance and stickiness, kill -9 under
load, a paused leader fenced, a bad config topic refused, and migration both ways with Apache
Kafka Connect 4.x distributed on the same topics.

Skipped, with the reason, while the binary has no `distributed` command."""

from __future__ import annotations

import os
import subprocess
import threading
import time
import uuid
from collections import Counter

import pytest

from cluster import STRING, Cluster, has_distributed
from conftest import kcat_consume, luaconnect_bin, release_round_only
from connect_java import ConnectDistributed, java_available
from http_json import call
from kafka_records import create_topic, dump_topic
from worker import file_lines, wait_for

pytestmark = pytest.mark.skipif(
    not has_distributed(luaconnect_bin()),
    reason=f"{luaconnect_bin()} has no 'distributed' command yet (luaconnect --help); "
           "these tests turn on when the distributed herder lands")

SESSION_S = 6  # session.timeout.ms of the test workers (cluster.py)
FLUSH_S = 1    # offset.flush.interval.ms


def seq_source(name, topic, tasks, rate=200):
    return {"connector.class": "seq_shards_source", "tasks.max": str(tasks), "topic": topic,
            "rate": str(rate), "value.converter": STRING, "name": name}


def running(w, name, tasks):
    """True when the connector and its tasks tasks are RUNNING, as w reports it."""
    st, body = w.call("GET", f"/connectors/{name}/status")
    return (st == 200 and body["connector"]["state"] == "RUNNING"
            and len(body["tasks"]) == tasks and all(t["state"] == "RUNNING" for t in body["tasks"]))


def states(w, name):
    st, body = w.call("GET", f"/connectors/{name}/status")
    if st != 200:
        return None
    return body["connector"]["state"], tuple(t["state"] for t in body["tasks"])


def same_everywhere(cluster, path):
    """The body of GET path if every live worker answers 200 with the same JSON, else None."""
    bodies = [w.call("GET", path) for w in cluster.live()]
    if all(b == bodies[0] for b in bodies) and bodies[0][0] == 200:
        return bodies[0][1]
    return None


def counts(assignment, workers):
    return sorted(len(assignment.get(w.worker_id, [])) for w in workers)


# ---------------------------------------------------------------- REST on any worker
def test_create_through_one_worker_read_identical_through_the_others(kafka, tmp_path):
    topic = f"lc-dist-rest-{uuid.uuid4().hex[:8]}"
    with Cluster(tmp_path, kafka, n=3) as c:
        c.start()
        a, b, w3 = c.workers
        cfg = seq_source("rest-seq", topic, 3)
        created = a.rest("POST", "/connectors", {"name": "rest-seq", "config": cfg})
        assert created["name"] == "rest-seq"
        for path in ("/connectors", "/connectors/rest-seq", "/connectors/rest-seq/config",
                     "/connectors/rest-seq/tasks"):
            wait_for(lambda: same_everywhere(c, path) is not None, 30,
                     f"identical GET {path} on every worker", a.log)
        assert same_everywhere(c, "/connectors") == ["rest-seq"]
        assert same_everywhere(c, "/connectors/rest-seq/config") == cfg
        wait_for(lambda: all(running(w, "rest-seq", 3) for w in c.workers), 60,
                 "RUNNING on every worker's view", a.log)
        wait_for(lambda: same_everywhere(c, "/connectors/rest-seq/status") is not None, 30,
                 "identical status everywhere", a.log)
        status = same_everywhere(c, "/connectors/rest-seq/status")
        ids = {w.worker_id for w in c.workers}
        assert status["connector"]["worker_id"] in ids
        assert {t["worker_id"] for t in status["tasks"]} <= ids

        # every write through another worker than the last
        b.rest("PUT", "/connectors/rest-seq/pause")
        wait_for(lambda: all(states(w, "rest-seq") == ("PAUSED", ("PAUSED",) * 3)
                             for w in c.workers), 60, "PAUSED everywhere", b.log)
        w3.rest("PUT", "/connectors/rest-seq/resume")
        wait_for(lambda: all(running(w, "rest-seq", 3) for w in c.workers), 60,
                 "RUNNING again everywhere", w3.log)
        a.rest("PUT", "/connectors/rest-seq/stop")
        wait_for(lambda: all(states(w, "rest-seq") == ("STOPPED", ()) for w in c.workers), 60,
                 "STOPPED everywhere", a.log)
        b.rest("PUT", "/connectors/rest-seq/resume")
        wait_for(lambda: all(running(w, "rest-seq", 3) for w in c.workers), 60,
                 "RUNNING after STOPPED", b.log)
        w3.rest("POST", "/connectors/rest-seq/restart?includeTasks=true&onlyFailed=false")
        wait_for(lambda: all(running(w, "rest-seq", 3) for w in c.workers), 60,
                 "RUNNING after restart", w3.log)
        cfg2 = dict(cfg, rate="100")
        a.rest("PUT", "/connectors/rest-seq/config", cfg2)
        wait_for(lambda: same_everywhere(c, "/connectors/rest-seq/config") == cfg2, 30,
                 "the new config everywhere", a.log)
        b.rest("DELETE", "/connectors/rest-seq")
        wait_for(lambda: same_everywhere(c, "/connectors") == [], 30,
                 "the connector gone everywhere", b.log)
        for w in c.workers:
            st, body = w.call("GET", "/connectors/rest-seq")
            assert st == 404 and body["message"] == "Connector rest-seq not found"


# ---------------------------------------------------------------- balance
def test_12_tasks_spread_4_4_4_and_a_fourth_worker_takes_exactly_3(kafka, tmp_path):
    topic = f"lc-dist-bal-{uuid.uuid4().hex[:8]}"
    with Cluster(tmp_path, kafka, n=3) as c:
        c.start()
        c.workers[0].rest("POST", "/connectors",
                          {"name": "bal", "config": seq_source("bal", topic, 12, rate=10)})
        wait_for(lambda: counts(c.task_workers(["bal"]), c.workers) == [4, 4, 4], 60,
                 "12 tasks RUNNING, 4 on each worker", c.workers[0].log)
        before = {t: w for w, ts in c.task_workers(["bal"]).items() for t in ts}
        d = c.add_worker()
        d.wait_rest()
        wait_for(lambda: counts(c.task_workers(["bal"]), c.workers) == [3, 3, 3, 3], 60,
                 "12 tasks RUNNING, 3 on each of 4 workers", d.log)
        after = {t: w for w, ts in c.task_workers(["bal"]).items() for t in ts}
        moved = sorted(t for t in after if after[t] != before[t])
        assert len(moved) == 3, f"moved {moved}"
        assert all(after[t] == d.worker_id for t in moved)


# ---------------------------------------------------------------- failover under load
@release_round_only("kill -9 of a worker under load")
def test_kill_9_under_load_loses_no_sequence_number(kafka, tmp_path):
    rate, batch = 300, 500
    topic = f"lc-dist-load-{uuid.uuid4().hex[:8]}"
    create_topic(kafka, topic, 6)
    out = tmp_path / "sink.txt"
    # The sink's consumers of a killed worker stay in group connect-snk until their session
    # times out (librdkafka's and Kafka Connect's default: 45 s); 10 s keeps the test short.
    with Cluster(tmp_path, kafka, n=3, extra={"consumer.session.timeout.ms": "10000"}) as c:
        c.start()
        a = c.workers[0]
        a.rest("POST", "/connectors", {"name": "src", "config": seq_source("src", topic, 6, rate)})
        a.rest("POST", "/connectors", {"name": "snk", "config": {
            "connector.class": "FileStreamSink", "tasks.max": "6", "topics": topic,
            "file": str(out), "value.converter": STRING}})
        wait_for(lambda: running(a, "src", 6) and running(a, "snk", 6), 60, "12 tasks running",
                 a.log)
        wait_for(lambda: len(file_lines(out)) >= 6 * rate * 2, 60, "2 s of records in the sink",
                 a.log)
        victim = next(w for w in c.workers if w is not c.leader())
        placed = c.task_workers(["src", "snk"])
        moved = placed.get(victim.worker_id, [])
        victim.kill9()
        survivors = [w for w in c.workers if w is not victim]
        wait_for(lambda: sorted(len(v) for v in c.task_workers(["src", "snk"], survivors[0])
                                .values()) == [6, 6], 60,
                 "the 12 tasks RUNNING on the 2 survivors (6 each)", survivors[0].log)
        time.sleep(3)  # records flow again from the moved tasks
        survivors[0].rest("PUT", "/connectors/src/stop")
        wait_for(lambda: states(survivors[0], "src") == ("STOPPED", ()), 60, "source stopped",
                 survivors[0].log)
        sent = [v.decode() for v in kcat_consume(kafka, topic, 10 ** 9, timeout=5)]
        last = {}
        for v in sent:
            k, i = v.split(":")
            last[k] = max(last.get(k, -1), int(i))
        wait_for(lambda: set(file_lines(out)) >= {v.encode() for v in sent}, 120,
                 "the sink to write every record sent", survivors[0].log)
        time.sleep(2)
    lines = [l.decode() for l in file_lines(out)]
    want = {f"{k}:{i:09d}" for k, n in last.items() for i in range(n + 1)}
    assert len(last) == 6
    assert want - set(sent) == set(), "sequence numbers lost on the topic"
    assert want - set(lines) == set(), "sequence numbers lost in the sink"
    dups = len(lines) - len(set(lines))
    bound = len(moved) * (rate * FLUSH_S + batch)
    print(f"\nkill -9: {len(moved)} tasks moved, {len(want)} records, {dups} duplicates "
          f"(bound {bound})")
    assert dups <= bound


# ---------------------------------------------------------------- heartbeats
@release_round_only("waits past the session timeout")
def test_a_busy_script_does_not_make_its_worker_leave_the_group(kafka, tmp_path):
    """poll() computes for 20 s, three times the session timeout: the worker's membership is
    kept by a thread that never waits on a task, so nothing is reassigned."""
    topic = f"lc-dist-busy-{uuid.uuid4().hex[:8]}"
    with Cluster(tmp_path, kafka, n=2) as c:
        c.start()
        a = c.workers[0]
        a.rest("POST", "/connectors", {"name": "busy", "config": {
            "connector.class": "busy_source", "tasks.max": "1", "topic": topic,
            "busy.ms": "20000", "value.converter": STRING}})
        wait_for(lambda: running(a, "busy", 1), 60, "busy RUNNING", a.log)
        owner = a.rest("GET", "/connectors/busy/status")["tasks"][0]["worker_id"]
        assignments = lambda: sum(w.log().count("cluster: assignment ") for w in c.workers)
        before = assignments()
        time.sleep(20)  # the task is inside poll() the whole time; session.timeout.ms is 6 s
        st = a.rest("GET", "/connectors/busy/status")
        assert st["tasks"][0] == {"id": 0, "state": "RUNNING", "worker_id": owner,
                                   "version": "1.0.0"}
        assert assignments() == before, "an assignment changed while the script was busy"
        assert not any("membership lost" in w.log() or "left group" in w.log()
                       for w in c.workers)


# ---------------------------------------------------------------- fencing
@release_round_only("a leader paused past its session timeout")
def test_leader_paused_past_its_session_is_fenced_and_rejoins(kafka, tmp_path):
    topic = f"lc-dist-fence-{uuid.uuid4().hex[:8]}"
    with Cluster(tmp_path, kafka, n=3) as c:
        c.start()
        old = c.leader()
        follower = next(w for w in c.workers if w is not old)
        follower.rest("POST", "/connectors", {"name": "before",
                                              "config": seq_source("before", topic, 1, 10)})
        wait_for(lambda: running(follower, "before", 1), 60, "before RUNNING", follower.log)
        config_topic = c.topics[0]
        n_before = len(dump_topic(kafka, config_topic))
        old.sigstop()
        wait_for(lambda: (c.leader_id() or old.worker_id) != old.worker_id, SESSION_S * 3,
                 "another worker to lead", follower.log)
        c.leader()
        # a write sent to the frozen leader: it reaches it only once it runs again
        answer = {}
        t = threading.Thread(target=lambda: answer.update(
            r=call("POST", old.url + "/connectors",
                   {"name": "during", "config": seq_source("during", topic, 1, 10)}, timeout=60)))
        t.start()
        time.sleep(SESSION_S / 2)
        old.sigcont()
        t.join(70)
        wait_for(lambda: old.worker_id in c.members(), SESSION_S * 4, "the old leader back in the group",
                 old.log)
        # It comes back as a follower (a new membership, a later join time); the worker that
        # took over keeps leading, and nothing the old leader wrote while frozen lands.
        new_leader = c.leader()
        assert new_leader is not old, f"{old.worker_id} leads again after rejoining"
        time.sleep(3)
        assert c.leader_id() == new_leader.worker_id, "\n".join(
            f"--- {w.worker_id}{' (frozen)' if w is old else ''}{' (leader)' if w is new_leader else ''}:\n"
            + w.log()[-2500:] for w in c.workers)
        assert "joining again as a new member" in old.log()
        after = dump_topic(kafka, config_topic)[n_before:]
        keys = Counter(r["key"].decode() for r in after if r["key"])
        # whatever was written after the freeze is the new leader's handling of "during",
        # written once; nothing of the frozen leader's survives read_committed
        assert set(keys) <= {"connector-during", "task-during-0", "commit-during",
                             "target-state-during", "session-key"}, keys
        assert keys["connector-during"] <= 1 and keys["commit-during"] <= 1, keys
        if answer.get("r", (0,))[0] in (200, 201):
            assert keys["connector-during"] == 1
        wait_for(lambda: same_everywhere(c, "/connectors") is not None, 30,
                 "every worker, the old leader too, answering the same connectors", old.log)


# ---------------------------------------------------------------- bad topics
def test_non_compacted_config_topic_stops_the_worker_with_connects_message(kafka, tmp_path):
    run = uuid.uuid4().hex[:8]
    config_topic = f"lc-dist-{run}-configs"
    create_topic(kafka, config_topic, 1, {"cleanup.policy": "delete"})
    c = Cluster(tmp_path, kafka, n=1,
                topics=(config_topic, f"lc-dist-{run}-offsets", f"lc-dist-{run}-status"))
    with c:
        w = c.workers[0].start()
        rc = w.proc.wait(60)
        w._close_log()
    assert rc != 0
    # Apache Kafka Connect 4.3.1's text (TopicAdmin.verifyTopicCleanupPolicyOnlyCompact)
    assert (f"Topic '{config_topic}' supplied via the 'config.storage.topic' property is "
            "required to have 'cleanup.policy=compact' to guarantee consistency and durability "
            "of connector configurations, but found the topic currently has "
            "'cleanup.policy=delete'. Continuing would likely result in eventually losing "
            "connector configurations and problems restarting this Connect cluster in the "
            "future. Change the 'config.storage.topic' property in the Connect worker "
            "configurations to use a topic with 'cleanup.policy=compact'.") in w.log()


# ---------------------------------------------------------------- migration
@pytest.mark.skipif(java_available() is not None, reason=str(java_available()))
@pytest.mark.skipif(os.environ.get("LC_SANITIZER") == "1",
                    reason="runs in make test's release round only (two Kafka Connect JVMs, ~40 s); "
                           "the sanitizer round runs the other cluster tests")
def test_migration_from_connect_and_back_loses_and_doubles_no_line(kafka, tmp_path):
    run = uuid.uuid4().hex[:8]
    topics = (f"lc-mig-{run}-configs", f"lc-mig-{run}-offsets", f"lc-mig-{run}-status")
    group, data = f"lc-mig-{run}", f"lc-mig-{run}-data"
    src = tmp_path / "in.txt"

    def append(a, b):
        with open(src, "a") as f:
            f.writelines(f"line {i:06d}\n" for i in range(a, b))

    def topic_lines(n):
        return [v.decode() for v in kcat_consume(kafka, data, n + 100, timeout=5)]

    def wait_lines(n, log):
        wait_for(lambda: len(kcat_consume(kafka, data, n, timeout=2)) >= n, 90,
                 f"{n} lines in the topic", log)

    cfg = {"connector.class": "FileStreamSource", "tasks.max": "1", "file": str(src),
           "topic": data, "value.converter": STRING}
    append(0, 1000)
    jc = ConnectDistributed(tmp_path, kafka, group, topics, name="connect-1")
    with jc:
        jc.rest("POST", "/connectors", {"name": "mig", "config": cfg})
        wait_lines(1000, jc.log)
        size = src.stat().st_size
        wait_for(lambda: (jc.rest("GET", "/connectors/mig/offsets")["offsets"] or
                          [{"offset": {}}])[0]["offset"].get("position") == size, 60,
                 "Connect's offset of the whole file", jc.log)
    append(1000, 1500)
    with Cluster(tmp_path, kafka, n=3, group_id=group, topics=topics) as c:
        c.start()
        a = c.workers[0]
        wait_for(lambda: running(a, "mig", 1), 60, "mig RUNNING under luaconnect", a.log)
        wait_lines(1500, a.log)
        size = src.stat().st_size
        wait_for(lambda: (a.rest("GET", "/connectors/mig/offsets")["offsets"] or
                          [{"offset": {}}])[0]["offset"].get("position") == size, 60,
                 "luaconnect's offset of the whole file", a.log)
        assert same_everywhere(c, "/connectors/mig/config") == dict(cfg, name="mig")
        c.stop()
    got = topic_lines(1500)
    assert got == [f"line {i:06d}" for i in range(1500)], "lines lost or doubled (to luaconnect)"
    append(1500, 2000)
    jc2 = ConnectDistributed(tmp_path, kafka, group, topics, name="connect-2")
    with jc2:
        wait_for(lambda: (call("GET", jc2.url + "/connectors/mig/status")[1] or {})
                 .get("tasks", [{}])[0].get("state") == "RUNNING", 60, "mig RUNNING in Connect again",
                 jc2.log)
        wait_lines(2000, jc2.log)
        time.sleep(2)
    got = topic_lines(2000)
    assert got == [f"line {i:06d}" for i in range(2000)], "lines lost or doubled (back to Connect)"


# ---------------------------------------------------------------- worker.sync.timeout.ms
def test_a_worker_that_cannot_catch_up_with_the_config_topic_leaves_and_backs_off(kafka, tmp_path):
    """worker.sync.timeout.ms as in Connect: a worker that cannot read the config topic to its
    end within it before applying an assignment leaves the group, so the others run the work,
    and joins again worker.unsync.backoff.ms later. Records keep arriving on the config topic
    (keys Connect ignores), so catching up within 1 ms never succeeds."""
    topic = f"lc-dist-sync-{uuid.uuid4().hex[:8]}"
    with Cluster(tmp_path, kafka, n=1) as c:
        c.start()
        a = c.workers[0]
        a.rest("PUT", "/connectors/s/config", seq_source("s", topic, 2))
        wait_for(lambda: running(a, "s", 2), 60, "s RUNNING", a.log)
        noise = subprocess.Popen(["kcat", "-b", kafka, "-P", "-t", c.topics[0], "-K", "\t"],
                                 stdin=subprocess.PIPE)
        stop = threading.Event()

        def write_noise():
            i = 0
            while not stop.is_set():
                noise.stdin.write(b"".join(b"luaconnect-test-noise-%d\t{}\n" % (i + j)
                                           for j in range(20)))
                noise.stdin.flush()
                i += 20
                time.sleep(0.002)
        writer = threading.Thread(target=write_noise, daemon=True)
        writer.start()
        try:
            c.extra.update({"worker.sync.timeout.ms": "1", "worker.unsync.backoff.ms": "3000"})
            b = c.add_worker()
            wait_for(lambda: "leaving group" in b.log(), 60, "the slow worker to leave", b.log)
            line = next(x for x in b.log().splitlines() if "leaving group" in x)
            assert (f"could not read config topic '{c.topics[0]}' to its end within "
                    "worker.sync.timeout.ms=1 (") in line, line
            assert f"leaving group '{c.group_id}' for worker.unsync.backoff.ms=3000" in line, line
            wait_for(lambda: "again after 3000 ms away" in b.log(), 30,
                     "the slow worker to join again after its backoff", b.log)
            # The work stays where the config is read: every task RUNNING on the first worker
            # (the slow one leaves again after each join, before it runs anything).
            wait_for(lambda: [(t["worker_id"], t["state"]) for t in
                              a.rest("GET", "/connectors/s/status")["tasks"]]
                     == [(a.worker_id, "RUNNING")] * 2, 30, "both tasks RUNNING on the first worker",
                     a.log)
            assert "task RUNNING" not in b.log(), "the worker that cannot catch up ran a task"
        finally:
            stop.set()
            writer.join(5)
            noise.stdin.close()
            noise.wait(30)
