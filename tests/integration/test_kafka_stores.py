"""Distributed mode's stores on a real broker: core/klog.c, core/kafka_stores.c and
core/internal_topics.c, driven through build/kstores_probe (no CLI reaches them yet).

What a Kafka Connect user would check: the records on the offsets and status topics are
byte for byte Connect's and sit on the partition Java's client picks (murmur2, computed here
independently of the C code), a key Connect wrote with another field order is found and
rewritten with Connect's bytes, a log is read to its end (1,000 records; transaction markers),
and a badly made internal topic stops the worker with Connect's own message.
"""
from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from conftest import kcat_consume_records, kcat_produce, luaconnect_bin, unique_topic


def java_murmur2(data: bytes) -> int:
    """Kafka's Utils.murmur2 (Java int arithmetic)."""
    m, r = 0x5BD1E995, 24
    h = (0x9747B28C ^ len(data)) & 0xFFFFFFFF
    n4 = len(data) // 4
    for i in range(n4):
        k = int.from_bytes(data[4 * i:4 * i + 4], "little")
        k = (k * m) & 0xFFFFFFFF
        k ^= k >> r
        k = (k * m) & 0xFFFFFFFF
        h = (h * m) & 0xFFFFFFFF
        h ^= k
    rest, t = len(data) % 4, n4 * 4
    if rest == 3:
        h ^= data[t + 2] << 16
    if rest >= 2:
        h ^= data[t + 1] << 8
    if rest >= 1:
        h ^= data[t]
        h = (h * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    h ^= h >> 15
    return h - (1 << 32) if h & 0x80000000 else h


def java_partition(key: bytes, partitions: int) -> int:
    return (java_murmur2(key) & 0x7FFFFFFF) % partitions


def test_java_murmur2_vectors():
    # Kafka's UtilsTest.testMurmur2: the Python twin used below is right
    assert java_murmur2(b"21") == -973932308
    assert java_murmur2(b"foobar") == -790332482
    assert java_murmur2(b"a-little-bit-longer-string") == -1486304829
    assert java_murmur2(b"abc") == 479470107


@pytest.fixture(scope="module")
def probe() -> Path:
    path = luaconnect_bin().parent / "kstores_probe"
    if not path.is_file():
        pytest.fail(f"{path} not found: build the tree first (cmake --build build)")
    return path


class Worker:
    """A worker properties file with fresh internal topic names, and the probe to run."""

    def __init__(self, probe: Path, kafka: str, tmp_path: Path, **extra: str):
        base = unique_topic("lc-ks")
        self.kafka = kafka
        self.probe = probe
        self.configs, self.offsets, self.status = (f"{base}-configs", f"{base}-offsets",
                                                   f"{base}-status")
        props = {
            "bootstrap.servers": kafka,
            "group.id": base,
            "config.storage.topic": self.configs,
            "offset.storage.topic": self.offsets,
            "status.storage.topic": self.status,
            "config.storage.replication.factor": "1",
            "offset.storage.replication.factor": "1",
            "status.storage.replication.factor": "1",
        }
        props.update(extra)
        self.path = tmp_path / f"{base}.properties"
        self.path.write_text("".join(f"{k}={v}\n" for k, v in props.items()))

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run([str(self.probe), str(self.path), *args], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, timeout=60)
        if check and proc.returncode != 0:
            pytest.fail(f"kstores_probe {' '.join(args)}: exit {proc.returncode}\n{proc.stderr}")
        return proc


@pytest.fixture
def worker(probe, kafka, tmp_path) -> Worker:
    w = Worker(probe, kafka, tmp_path)
    w.run("ensure")
    return w


def kcat_produce_to(kafka: str, topic: str, partition: int, key: bytes, value: bytes) -> None:
    proc = subprocess.run(["kcat", "-q", "-b", kafka, "-P", "-t", topic, "-p", str(partition),
                           "-K", "\x1f", "-X", "acks=all"], input=key + b"\x1f" + value + b"\n",
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    assert proc.returncode == 0, proc.stderr


def test_internal_topics_created_as_connect_makes_them(worker):
    meta = subprocess.run(["kcat", "-b", worker.kafka, "-L"], stdout=subprocess.PIPE, text=True,
                          timeout=30).stdout
    assert f'topic "{worker.offsets}" with 25 partitions' in meta
    assert f'topic "{worker.status}" with 5 partitions' in meta
    assert f'topic "{worker.configs}" with 1 partitions' in meta
    assert f'topic "{worker.configs}-luaconnect" with 1 partitions' in meta
    # a second worker finds them and creates nothing
    assert worker.run("ensure").stdout == "ok\n"


def test_offsets_are_connects_bytes_on_javas_partition(worker):
    key, value = '["file-src",{"filename":"/data/a.txt"}]', '{"position":4217}'
    worker.run("put-offsets", "w1:8083", key, value)
    recs = kcat_consume_records(worker.kafka, worker.offsets, 1)
    assert [(r["key"], r["value"]) for r in recs] == [(key.encode(), value.encode())]
    assert recs[0]["partition"] == java_partition(key.encode(), 25)
    assert worker.run("partition", key, "25").stdout.strip() == str(recs[0]["partition"])
    # another worker (a fresh store) reads it back
    assert worker.run("get-offset", "w2:8083", key).stdout == value + "\n"


def test_connect_key_in_another_field_order_is_found_and_rewritten(worker):
    connect_key = b'["jdbc-src",{"table":"orders","protocol":"1"}]'
    kcat_produce_to(worker.kafka, worker.offsets, java_partition(connect_key, 25), connect_key,
                    b'{"incrementing":41}')
    ours = '["jdbc-src",{"protocol":"1","table":"orders"}]'
    assert worker.run("get-offset", "w1:8083", ours).stdout == '{"incrementing":41}\n'
    worker.run("put-offsets", "w1:8083", ours, '{"incrementing":42}')
    recs = kcat_consume_records(worker.kafka, worker.offsets, 2)
    assert [(r["key"], r["value"]) for r in recs] == [(connect_key, b'{"incrementing":41}'),
                                                       (connect_key, b'{"incrementing":42}')]
    assert {r["partition"] for r in recs} == {java_partition(connect_key, 25)}
    # a tombstone goes under the same bytes, and the key is gone
    worker.run("put-offsets", "w1:8083", ours, "null")
    recs = kcat_consume_records(worker.kafka, worker.offsets, 3)
    assert (recs[-1]["key"], recs[-1]["value"]) == (connect_key, None)
    assert worker.run("get-offset", "w1:8083", ours).stdout == "(none)\n"


def test_read_to_end_sees_all_1000_records(worker):
    keys = [f'["bulk",{{"n":{i}}}]' for i in range(1000)]
    kcat_produce(worker.kafka, worker.offsets, [f'{{"o":{i}}}' for i in range(1000)], keys=keys)
    started = time.monotonic()
    assert worker.run("count-offsets", "w1:8083", '["bulk",').stdout == "1000\n"
    assert time.monotonic() - started < 30
    assert worker.run("get-offset", "w1:8083", keys[999]).stdout == '{"o":999}\n'


def test_read_to_end_passes_transaction_markers(worker):
    topic = unique_topic("lc-ks-txn")
    worker.run("create", topic, "1", "compact")
    worker.run("txn", topic, "50")  # 50 aborted, then 50 committed
    deadline = time.monotonic() + 20
    while True:  # the commit marker lands a moment after commit_transaction returned
        got = worker.run("klog-count", topic).stdout.strip()
        if got == "50" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert got == "50"


def test_statuses_are_connects_bytes(worker):
    worker.run("put-status", "w1:8083", "orders", "-1", "RUNNING")
    worker.run("put-status", "w1:8083", "orders", "0", "FAILED", "boom\n\tat line 3")
    recs = kcat_consume_records(worker.kafka, worker.status, 2)
    got = {(r["partition"], r["key"], r["value"]) for r in recs}
    assert got == {
        (java_partition(b"status-connector-orders", 5), b"status-connector-orders",
         b'{"state":"RUNNING","trace":null,"worker_id":"w1:8083","generation":0,"version":null}'),
        (java_partition(b"status-task-orders-0", 5), b"status-task-orders-0",
         b'{"state":"FAILED","trace":"boom\\n\\tat line 3","worker_id":"w1:8083",'
         b'"generation":0,"version":null}'),
    }
    assert worker.run("status", "w2:8083", "orders", "0").stdout == (
        '{"state":"FAILED","trace":"boom\\n\\tat line 3","worker_id":"w1:8083",'
        '"generation":0,"version":null}\n')


def test_non_compacted_config_topic_fails_with_connects_message(probe, kafka, tmp_path):
    w = Worker(probe, kafka, tmp_path)
    w.run("create", w.configs, "1", "delete")
    proc = w.run("ensure", check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == (
        f"Topic '{w.configs}' supplied via the 'config.storage.topic' property is required to "
        "have 'cleanup.policy=compact' to guarantee consistency and durability of connector "
        "configurations, but found the topic currently has 'cleanup.policy=delete'. Continuing "
        "would likely result in eventually losing connector configurations and problems "
        "restarting this Connect cluster in the future. Change the 'config.storage.topic' "
        "property in the Connect worker configurations to use a topic with "
        "'cleanup.policy=compact'.")


def test_two_partition_config_topic_fails_with_connects_message(probe, kafka, tmp_path):
    w = Worker(probe, kafka, tmp_path)
    w.run("create", w.configs, "2", "compact")
    proc = w.run("ensure", check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == (
        f"Topic '{w.configs}' supplied via the 'config.storage.topic' property is required to "
        "have a single partition in order to guarantee consistency of connector "
        "configurations, but found 2 partitions.")


def test_missing_config_topic_key_is_connects_message(probe, kafka, tmp_path):
    w = Worker(probe, kafka, tmp_path)
    w.path.write_text("".join(l + "\n" for l in w.path.read_text().splitlines()
                              if not l.startswith("config.storage.topic=")))
    proc = w.run("ensure", check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == ('Missing required configuration "config.storage.topic" '
                                   "which has no default value.")
