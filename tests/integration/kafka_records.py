"""Reading Kafka Connect's internal topics whole, as the tests compare them: every record of
every partition (key and value bytes, partition, offset), read_committed, with kcat.
Also Kafka's default partitioner (murmur2), to check where a key landed."""

from __future__ import annotations

import json
import subprocess
import time
from typing import Dict, List, Optional

from conftest import _parse_records


def dump_topic(bootstrap: str, topic: str, isolation: str = "read_committed",
               timeout: float = 30) -> List[dict]:
    """Every record now in topic, as {"partition", "offset", "key", "value"} (bytes, None for
    null), ordered by partition then offset. Retries while the topic is not known yet."""
    deadline = time.monotonic() + timeout
    while True:
        proc = subprocess.run(
            ["kcat", "-q", "-b", bootstrap, "-C", "-t", topic, "-o", "beginning", "-e",
             "-X", f"isolation.level={isolation}", "-X", "fetch.wait.max.ms=10",
             "-f", "%p %o %K:%k%S:%s"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            timeout=timeout + 5)
        if proc.returncode == 0:
            recs = _parse_records(proc.stdout)
            return sorted(recs, key=lambda r: (r["partition"], r["offset"]))
        if time.monotonic() >= deadline:
            raise AssertionError(f"kcat cannot read {topic}: {proc.stderr.decode(errors='replace')}")
        time.sleep(0.25)


def read_topic(bootstrap: str, topic: str, timeout: float = 120) -> List[dict]:
    """Every record now in topic (kcat to the end of each partition), or [] while the topic
    cannot be read (it does not exist yet): for tests that poll until a topic fills."""
    proc = subprocess.run(["kcat", "-q", "-b", bootstrap, "-C", "-t", topic, "-o", "beginning", "-e",
                           "-f", "%p %o %K:%k%S:%s"], stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    return _parse_records(proc.stdout) if proc.returncode == 0 else []


def partitions(bootstrap: str, topic: str) -> Optional[int]:
    """The topic's partition count from the broker's metadata, or None if it does not exist."""
    proc = subprocess.run(["kcat", "-b", bootstrap, "-L", "-t", topic, "-J"],
                          stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
    if proc.returncode != 0:
        return None
    for t in json.loads(proc.stdout).get("topics", []):
        if t.get("topic") == topic and not t.get("error"):
            return len(t.get("partitions", []))
    return None


def settle(bootstrap: str, topics: List[str], quiet: float = 2.0,
           timeout: float = 60) -> Dict[str, List[dict]]:
    """Dumps topics until two dumps quiet seconds apart are the same (the workers have
    written everything the last operation causes); returns the last dumps by topic."""
    deadline = time.monotonic() + timeout
    last = {t: dump_topic(bootstrap, t) for t in topics}
    while time.monotonic() < deadline:
        time.sleep(quiet)
        now = {t: dump_topic(bootstrap, t) for t in topics}
        if now == last:
            return now
        last = now
    return last


def murmur2(data: bytes) -> int:
    """Kafka's Utils.murmur2 (the Java client's default partitioner), as an unsigned int."""
    m, r = 0x5BD1E995, 24
    length = len(data)
    h = (0x9747B28C ^ length) & 0xFFFFFFFF
    for i in range(length // 4):
        k = int.from_bytes(data[i * 4:i * 4 + 4], "little")
        k = (k * m) & 0xFFFFFFFF
        k ^= k >> r
        k = (k * m) & 0xFFFFFFFF
        h = (h * m) & 0xFFFFFFFF
        h ^= k
    tail = length & ~3
    rem = length % 4
    if rem == 3:
        h ^= data[tail + 2] << 16
    if rem >= 2:
        h ^= data[tail + 1] << 8
    if rem >= 1:
        h ^= data[tail]
        h = (h * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    h ^= h >> 15
    return h


def default_partition(key: bytes, n: int) -> int:
    """The partition the Java producer's default partitioner gives a keyed record."""
    return (murmur2(key) & 0x7FFFFFFF) % n


def create_topic(bootstrap: str, topic: str, partitions: int = 1,
                 configs: Optional[Dict[str, str]] = None) -> None:
    """Creates topic (replication 1: the test broker is one node) with topic-level configs,
    by CreateTopics v2 to the bootstrap broker; an existing topic is an error."""
    import socket
    import struct

    def s16(s):
        b = s.encode()
        return struct.pack(">h", len(b)) + b
    cfg = configs or {}
    body = (struct.pack(">i", 1) + s16(topic) + struct.pack(">ihi", partitions, 1, 0)
            + struct.pack(">i", len(cfg)) + b"".join(s16(k) + s16(v) for k, v in cfg.items())
            + struct.pack(">ib", 30000, 0))
    host, port = bootstrap.split(",")[0].rsplit(":", 1)
    client = b"lc-tests"
    req = struct.pack(">hhih", 19, 2, 1, len(client)) + client + body
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(struct.pack(">i", len(req)) + req)
        buf = b""
        while len(buf) < 4 or len(buf) < 4 + struct.unpack_from(">i", buf)[0]:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("broker closed the connection")
            buf += chunk
    resp = buf[4:]
    pos = 4 + 4 + 4  # correlation id, throttle, topics array length
    pos += 2 + struct.unpack_from(">h", resp, pos)[0]
    err = struct.unpack_from(">h", resp, pos)[0]
    if err:
        raise RuntimeError(f"CreateTopics {topic}: Kafka error code {err}")
