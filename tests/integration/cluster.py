"""A luaconnect cluster driven the way a user drives it: N `luaconnect distributed
worker-N.properties` processes (the binary is $LC_BIN) with the same group.id, each on its
own loopback REST port, each logging to its own file; plus what the tests do to workers
(kill -9, SIGSTOP, SIGCONT) and ask of the cluster (which worker leads, where tasks run).

The leader is found from Kafka itself, by the mechanism of docs/distributed.md: every worker
is a member of group.id on the 1-partition coordination topic with client.id = its worker id,
and the member assigned partition 0 leads. DescribeGroups (spoken here directly, the test
machine has no Kafka client library for Python) names it."""

from __future__ import annotations

import os
import re
import signal
import socket
import struct
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any, Dict, List, Optional

import http_json
from conftest import luaconnect_bin
from connect_java import TEST_GROUP_SETTINGS, free_port, write_props

PLUGINS = Path(__file__).resolve().parent / "plugins"
STRING = "org.apache.kafka.connect.storage.StringConverter"


def has_distributed(binary: Path) -> bool:
    """True when `luaconnect --help` lists the distributed command."""
    try:
        out = subprocess.run([str(binary), "--help"], capture_output=True, text=True,
                             timeout=30)
    except OSError:
        return False
    return any(line.strip().startswith("distributed")
               for line in (out.stdout + out.stderr).splitlines())


class LcWorker:
    """One `luaconnect distributed` process."""

    def __init__(self, tmp: Path, name: str, props: Dict[str, str]):
        self.name = name
        self.port = int(props["rest.advertised.port"])
        self.worker_id = f"127.0.0.1:{self.port}"
        self.url = f"http://{self.worker_id}"
        self.props = props
        self.props_path = write_props(tmp / f"{name}.properties", props)
        self.log_path = tmp / f"{name}.log"
        self.proc: Optional[subprocess.Popen] = None
        self.stopped = False  # SIGSTOPped

    def start(self) -> "LcWorker":
        """Starts the process (its log is appended to <name>.log)."""
        self.log_file = open(self.log_path, "ab")
        self.proc = subprocess.Popen([str(luaconnect_bin()), "distributed", str(self.props_path)],
                                     stdin=subprocess.DEVNULL, stdout=self.log_file,
                                     stderr=subprocess.STDOUT)
        self.stopped = False
        return self

    def alive(self) -> bool:
        """True while the process runs (stopped or not)."""
        return self.proc is not None and self.proc.poll() is None

    def log(self) -> str:
        """The whole log so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def rest(self, method: str, path: str, body: Any = None, timeout: float = 60) -> Any:
        """A REST call on this worker retried over 409/503; the decoded body."""
        return http_json.call_ok(method, self.url + path, body, timeout=timeout)

    def call(self, method: str, path: str, body: Any = None, timeout: float = 30):
        """One REST call on this worker: (status, body)."""
        return http_json.call(method, self.url + path, body, timeout=timeout)

    def wait_rest(self, timeout: float = 60) -> None:
        """Until GET /connectors answers 200 (the worker has read the config topic and
        joined); fails at once if the process exited."""
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            if not self.alive():
                raise AssertionError(f"worker {self.name} exited ({self.proc.returncode}):\n"
                                     f"{self.log()[-6000:]}")
            try:
                last = self.call("GET", "/connectors", timeout=5)
                if last[0] == 200:
                    return
            except OSError as e:
                last = str(e)
            time.sleep(0.2)
        raise AssertionError(f"worker {self.name}: REST not ready after {timeout}s ({last})\n"
                             f"{self.log()[-6000:]}")

    def kill9(self) -> None:
        """kill -9, as a crash."""
        if self.alive():
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(30)
        self._close_log()

    def sigstop(self) -> None:
        """SIGSTOP: the process freezes (no heartbeats, no writes) until sigcont()."""
        self.proc.send_signal(signal.SIGSTOP)
        self.stopped = True

    def sigcont(self) -> None:
        """SIGCONT after sigstop()."""
        self.proc.send_signal(signal.SIGCONT)
        self.stopped = False

    def stop(self, timeout: float = 60) -> Optional[int]:
        """SIGTERM (SIGCONT first if stopped), SIGKILL after timeout; the exit status."""
        if self.proc is None:
            return None
        if self.alive():
            if self.stopped:
                self.sigcont()
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(30)
        self._close_log()
        return self.proc.returncode

    def _close_log(self) -> None:
        f = getattr(self, "log_file", None)
        if f and not f.closed:
            f.close()


class Cluster:
    """N luaconnect workers of one group on the given broker, with fresh internal topics."""

    def __init__(self, tmp: Path, bootstrap: str, n: int = 3, group_id: Optional[str] = None,
                 topics: Optional[tuple] = None, extra: Optional[Dict[str, str]] = None):
        """topics: (config, offsets, status) names; fresh unique ones by default. extra adds
        or overrides worker keys on every worker."""
        self.tmp = Path(tmp)
        self.bootstrap = bootstrap
        run = uuid.uuid4().hex[:8]
        self.group_id = group_id or f"lc-cluster-{run}"
        self.topics = topics or (f"lc-{run}-configs", f"lc-{run}-offsets", f"lc-{run}-status")
        self.extra = dict(extra or {})
        self.workers: List[LcWorker] = []
        for _ in range(n):
            self.add_worker(start=False)

    @property
    def coordination_topic(self) -> str:
        """luaconnect.coordination.topic, default <config.storage.topic>-luaconnect."""
        return self.extra.get("luaconnect.coordination.topic", self.topics[0] + "-luaconnect")

    def worker_props(self, port: int) -> Dict[str, str]:
        """A worker's keys: Kafka's connect-distributed.properties with test timings."""
        config, offsets, status = self.topics
        props = {
            "bootstrap.servers": self.bootstrap,
            "group.id": self.group_id,
            "key.converter": STRING,
            "value.converter": STRING,
            "config.storage.topic": config,
            "config.storage.replication.factor": "1",
            "offset.storage.topic": offsets,
            "offset.storage.replication.factor": "1",
            "status.storage.topic": status,
            "status.storage.replication.factor": "1",
            "offset.flush.interval.ms": "1000",
            "listeners": f"http://127.0.0.1:{port}",
            "rest.advertised.host.name": "127.0.0.1",
            "rest.advertised.port": str(port),
            "plugin.path": str(PLUGINS),
            **TEST_GROUP_SETTINGS,
        }
        props.update(self.extra)
        return props

    def add_worker(self, start: bool = True) -> LcWorker:
        """A new worker (worker-<i>), started unless start is False."""
        w = LcWorker(self.tmp, f"worker-{len(self.workers)}", self.worker_props(free_port()))
        self.workers.append(w)
        if start:
            w.start()
        return w

    def start(self, wait: bool = True) -> "Cluster":
        """Starts every worker not running; with wait, until all answer REST."""
        for w in self.workers:
            if not w.alive():
                w.start()
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout: float = 60) -> None:
        """Until every live worker answers GET /connectors with 200."""
        for w in self.live():
            w.wait_rest(timeout)

    def live(self) -> List[LcWorker]:
        """The workers whose process runs and is not stopped."""
        return [w for w in self.workers if w.alive() and not w.stopped]

    def by_id(self, worker_id: str) -> LcWorker:
        """The worker with that advertised host:port."""
        return next(w for w in self.workers if w.worker_id == worker_id)

    # ------------------------------------------------------------ leadership
    def leader_id(self) -> Optional[str]:
        """The worker id of the member assigned the coordination topic's
        partition 0, or None when the group has no such member now (rebalancing, empty)."""
        for m in describe_group(self.bootstrap, self.group_id):
            for topic, parts in m["assignment"]:
                if topic == self.coordination_topic and 0 in parts:
                    return m["worker_id"]
        return None

    def leader(self, timeout: float = 60) -> LcWorker:
        """The leading worker, waiting until the group has one that is one of ours and
        alive."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            lid = self.leader_id()
            if lid and any(w.worker_id == lid and w.alive() and not w.stopped
                           for w in self.workers):
                return self.by_id(lid)
            time.sleep(0.2)
        raise AssertionError(f"no leader in group {self.group_id} after {timeout}s: "
                             f"{describe_group(self.bootstrap, self.group_id)}")

    def members(self) -> List[str]:
        """Worker ids of the group's members now."""
        return sorted(m["worker_id"] for m in describe_group(self.bootstrap, self.group_id)
                      if m["worker_id"])

    # ------------------------------------------------------------ where work runs
    def task_workers(self, connectors: List[str], via: Optional[LcWorker] = None) -> Dict[str, list]:
        """{worker_id: [(connector, task), ...]} of RUNNING tasks, from GET
        /connectors?expand=status on via (default: the first live worker)."""
        w = via or self.live()[0]
        st = w.rest("GET", "/connectors?expand=status")
        out: Dict[str, list] = {}
        for c in connectors:
            for t in st.get(c, {}).get("status", {}).get("tasks", []):
                if t["state"] == "RUNNING":
                    out.setdefault(t["worker_id"], []).append((c, t["id"]))
        return out

    def stop(self) -> None:
        """Stops every worker (SIGCONT first where stopped)."""
        for w in self.workers:
            w.stop()

    def __enter__(self) -> "Cluster":
        return self

    def __exit__(self, *exc) -> None:
        # A clean stop (SIGTERM), so a sanitizer build also checks the shutdown for leaks.
        for w in self.workers:
            if w.alive():
                if w.stopped:
                    w.sigcont()
                w.proc.terminate()
        for w in self.workers:
            if w.proc is not None:
                try:
                    w.proc.wait(30)
                except subprocess.TimeoutExpired:
                    w.proc.kill()
                    w.proc.wait(30)
            w._close_log()
        # A sanitizer build writes what it finds to the worker's log: a finding fails the test.
        found = [f"{w.name}: {line}" for w in self.workers for line in w.log().splitlines()
                 if "runtime error:" in line or "ERROR: AddressSanitizer" in line]
        if found and not exc[0]:
            raise AssertionError("sanitizer findings in worker logs:\n" + "\n".join(found[:20]))


# ---------------------------------------------------------------- Kafka protocol
def _str(s: str) -> bytes:
    b = s.encode()
    return struct.pack(">h", len(b)) + b


class _Reader:
    def __init__(self, buf: bytes):
        self.buf, self.pos = buf, 0

    def i16(self) -> int:
        v = struct.unpack_from(">h", self.buf, self.pos)[0]
        self.pos += 2
        return v

    def i32(self) -> int:
        v = struct.unpack_from(">i", self.buf, self.pos)[0]
        self.pos += 4
        return v

    def string(self) -> Optional[str]:
        n = self.i16()
        if n < 0:
            return None
        s = self.buf[self.pos:self.pos + n].decode()
        self.pos += n
        return s

    def bytes_(self) -> Optional[bytes]:
        n = self.i32()
        if n < 0:
            return None
        b = self.buf[self.pos:self.pos + n]
        self.pos += n
        return b


def _consumer_assignment(raw: Optional[bytes]) -> List[tuple]:
    """[(topic, [partitions])] of a consumer-protocol member assignment."""
    if not raw:
        return []
    r = _Reader(raw)
    r.i16()  # version
    out = []
    for _ in range(r.i32()):
        topic = r.string()
        out.append((topic, [r.i32() for _ in range(r.i32())]))
    return out


_MEMBER_CLIENT = re.compile(r"^luaconnect-[0-9]{13}-(.+)$")


def describe_group(bootstrap: str, group: str) -> List[dict]:
    """Members of a consumer group, [{"client_id", "worker_id", "member_id", "assignment":
    [(topic, [partitions])]}], by DescribeGroups v1 to the bootstrap broker (the test broker
    is one node, so it is the coordinator). A worker's membership has the client.id
    luaconnect-<join time in ms>-<worker id> (core/membership.c); worker_id is None for
    other clients."""
    host, port = bootstrap.split(",")[0].rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as s:
        client = b"lc-tests"
        body = struct.pack(">i", 1) + _str(group)
        req = struct.pack(">hhih", 15, 1, 1, len(client)) + client + body
        s.sendall(struct.pack(">i", len(req)) + req)

        def recv(n):
            buf = b""
            while len(buf) < n:
                chunk = s.recv(n - len(buf))
                if not chunk:
                    raise ConnectionError("broker closed the connection")
                buf += chunk
            return buf
        size = struct.unpack(">i", recv(4))[0]
        r = _Reader(recv(size))
    r.i32()  # correlation id
    r.i32()  # throttle
    members = []
    for _ in range(r.i32()):
        err = r.i16()
        r.string(), r.string(), r.string()
        protocol = r.string()
        if err:
            raise RuntimeError(f"DescribeGroups {group}: Kafka error code {err}")
        for _ in range(r.i32()):
            member_id, client_id = r.string(), r.string()
            r.string()  # host
            r.bytes_()  # metadata
            assignment = r.bytes_()
            m = _MEMBER_CLIENT.match(client_id)
            members.append({"member_id": member_id, "client_id": client_id,
                            "worker_id": m.group(1) if m else None,
                            "protocol": protocol,
                            "assignment": _consumer_assignment(assignment)})
    return members
