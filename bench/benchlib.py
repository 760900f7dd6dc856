"""What the bench scripts share: process figures from /proc, .properties files, a REST call,
producing lines with kcat, and a small Kafka client (stdlib only) that asks the broker for a topic's end offset.

The end offset is the count of records in a partition the broker has acknowledged to
acks=all producers (the high watermark; idempotent producers write no control records),
so polling it tells when the last record is in the topic without consuming anything. One
request on one kept-open socket costs the broker and this process far less than a kcat
run, which matters on a 2-core machine where the broker and the worker share the CPU."""

import json
import os
import socket
import struct
import subprocess
import time
import urllib.request

TICK = os.sysconf("SC_CLK_TCK")


def proc_stats(pid):
    """(CPU seconds user+sys of every thread, VmRSS MB, VmHWM MB) of a live process."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / TICK
    rss = hwm = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                hwm = int(line.split()[1]) / 1024
            elif line.startswith("VmRSS:"):
                rss = int(line.split()[1]) / 1024
    return cpu, rss, hwm


def write_props(path, props):
    """Writes a dict as a .properties file (values as given: no escaping is needed for the
    keys and values the benches use); returns path."""
    with open(path, "w") as f:
        f.write("".join(f"{k}={v}\n" for k, v in props.items()))
    return path


def rest_call(url, method, body=None):
    """One REST request (JSON body) to a worker; returns the HTTP status (an error raises)."""
    req = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body
                                 else None, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.status


def wait_rest(api, seconds=10):
    """Waits until the worker at api answers GET /connectors (a few seconds at most)."""
    for _ in range(int(seconds * 10)):
        try:
            rest_call(api + "/connectors", "GET")
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"no worker answers at {api}")


def produce_lines(bootstrap, topic, chunks, n):
    """Sends every line of chunks (an iterable of str, each a run of '\n'-ended lines) to
    partition 0 of topic with kcat, lz4-batched, and checks the topic then holds n records."""
    p = subprocess.Popen(["kcat", "-q", "-b", bootstrap, "-P", "-t", topic, "-z", "lz4",
                          "-X", "linger.ms=50", "-X", "batch.num.messages=10000"],
                         stdin=subprocess.PIPE)
    for chunk in chunks:
        p.stdin.write(chunk.encode())
    p.stdin.close()
    if p.wait() != 0:
        raise SystemExit("kcat could not produce the records")
    got = topic_count(bootstrap, topic)
    if got != n:
        raise SystemExit(f"the topic holds {got} records, not {n}")


def topic_count(bootstrap, topic):
    """Records in partition 0 of topic, read with kcat (one-off checks)."""
    last = subprocess.run(["kcat", "-q", "-b", bootstrap, "-C", "-t", topic, "-o", "-1", "-e",
                           "-f", "%o\n"], capture_output=True, text=True).stdout.split()
    return int(last[-1]) + 1 if last else 0


def create_topic(bootstrap, topic, partitions=1):
    """Creates topic before a clock starts, so auto-creation is not measured."""
    k = EndOffsets(bootstrap)
    try:
        k.create(topic, partitions)
    finally:
        k.close()


class EndOffsets:
    """ListOffsets (v1, latest) for one partition of a topic on a single-node cluster, and
    CreateTopics (v2)."""

    def __init__(self, bootstrap):
        host, port = bootstrap.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=10)
        self.corr = 0

    def close(self):
        self.sock.close()

    def _recv(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("broker closed the connection")
            buf += chunk
        return buf

    def _call(self, api, version, body):
        self.corr += 1
        client = b"lc-bench"
        req = struct.pack(">hhih", api, version, self.corr, len(client)) + client + body
        self.sock.sendall(struct.pack(">i", len(req)) + req)
        size = struct.unpack(">i", self._recv(4))[0]
        return self._recv(size)

    def create(self, topic, partitions=1):
        """Creates topic with partitions partitions, one replica (the test broker is one node)."""
        name = topic.encode()
        resp = self._call(19, 2, struct.pack(">ih", 1, len(name)) + name +
                          struct.pack(">ihii", partitions, 1, 0, 0) + struct.pack(">ib", 30000, 0))
        # correlation id, throttle, [name, error, message]
        pos = 4 + 4 + 4
        pos += 2 + struct.unpack_from(">h", resp, pos)[0]
        err = struct.unpack_from(">h", resp, pos)[0]
        if err not in (0, 36):  # 36: TOPIC_ALREADY_EXISTS
            raise RuntimeError(f"CreateTopics {topic}: Kafka error code {err}")

    def end(self, topic, partition=0):
        """The end offset of a partition of topic, or None while the broker does not know the
        topic."""
        name = topic.encode()
        resp = self._call(2, 1, struct.pack(">ii", -1, 1) + struct.pack(">h", len(name)) + name +
                          struct.pack(">iiq", 1, partition, -1))
        # correlation id, [topic name, [partition, error, timestamp, offset]]
        pos = 4 + 4
        tlen = struct.unpack_from(">h", resp, pos)[0]
        pos += 2 + tlen + 4
        _, err, _, off = struct.unpack_from(">ihqq", resp, pos)
        if err in (3, 5, 6):  # unknown topic, no leader yet, not the leader (yet)
            return None
        if err:
            raise RuntimeError(f"ListOffsets {topic}: Kafka error code {err}")
        return off
