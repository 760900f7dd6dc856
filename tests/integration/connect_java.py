"""Apache Kafka Connect 4.x in distributed mode, driven the way its users drive it: a
connect-distributed.properties file and `org.apache.kafka.connect.cli.ConnectDistributed`,
with its REST API on a free loopback port. The jars are the ones `make bench` uses
(tests/kafka/connect_jars.py resolves them from Maven Central once).

    with ConnectDistributed(tmp, bootstrap, group_id="g", topics=("c", "o", "s")) as c:
        c.rest("POST", "/connectors", {...})

The connect-file plugin (FileStreamSource/Sink) is given through plugin.path, as a user
installs a plugin; it is left out of the class path so that it is loaded only from there."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

import http_json

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "kafka"))
import connect_jars  # noqa: E402

# What Kafka's bin/kafka-run-class.sh gives every JVM, with a smaller heap: several JVMs
# (broker, Connect workers) share a small test machine.
JVM = ["-server", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
       "-XX:InitiatingHeapOccupancyPercent=35", "-XX:+ExplicitGCInvokesConcurrent",
       "-XX:MaxInlineLevel=15", "-Djava.awt.headless=true", "-XX:TieredStopAtLevel=1",
       "-Dorg.apache.logging.log4j.level=INFO"]
HEAP = os.environ.get("LC_CONNECT_HEAP", "-Xms64m -Xmx384m")
START_TIMEOUT = float(os.environ.get("LC_CONNECT_START_TIMEOUT", "120"))

# Short group timings for tests (the settings); Connect's defaults are 10 s / 3 s /
# 5 min.
TEST_GROUP_SETTINGS = {
    "session.timeout.ms": "6000",
    "heartbeat.interval.ms": "2000",
    "scheduled.rebalance.max.delay.ms": "0",
}


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def write_props(path: Path, props: Dict[str, str]) -> Path:
    """Writes props as a .properties file (keys in the given order)."""
    path.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
    return path


def java_available() -> Optional[str]:
    """None when Connect can run here (java on PATH, and the jars cached or mvn present to
    resolve them), else the reason it cannot."""
    if not shutil.which("java"):
        return "java not found on PATH (tools/deps.sh installs a JDK)"
    if connect_jars.resolved() is None and not shutil.which("mvn"):
        return "Kafka Connect's jars are not cached and mvn is not installed"
    return None


class ConnectDistributed:
    """One Kafka Connect distributed worker (a JVM) with its own properties and log file."""

    def __init__(self, tmp: Path, bootstrap: str, group_id: str,
                 topics: Tuple[str, str, str], extra: Optional[Dict[str, str]] = None,
                 name: str = "connect"):
        """topics: (config, offsets, status) topic names. extra overrides or adds worker
        keys (e.g. offset.flush.interval.ms)."""
        self.tmp = Path(tmp)
        self.name = name
        self.lib = connect_jars.connect_lib()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.plugins = self.tmp / f"{name}.plugins"
        self._install_connect_file()
        config, offsets, status = topics
        props = {
            "bootstrap.servers": bootstrap,
            "group.id": group_id,
            "key.converter": "org.apache.kafka.connect.json.JsonConverter",
            "value.converter": "org.apache.kafka.connect.json.JsonConverter",
            "key.converter.schemas.enable": "true",
            "value.converter.schemas.enable": "true",
            "config.storage.topic": config,
            "config.storage.replication.factor": "1",
            "offset.storage.topic": offsets,
            "offset.storage.replication.factor": "1",
            "status.storage.topic": status,
            "status.storage.replication.factor": "1",
            "offset.flush.interval.ms": "1000",
            "listeners": self.url,
            "rest.advertised.host.name": "127.0.0.1",
            "rest.advertised.port": str(self.port),
            "plugin.path": str(self.plugins),
            # the plugins ship ServiceLoader manifests; no reflective scan of the class path
            "plugin.discovery": "service_load",
            **TEST_GROUP_SETTINGS,
        }
        props.update(extra or {})
        self.props = props
        self.props_path = write_props(self.tmp / f"{name}.properties", props)
        self.log_path = self.tmp / f"{name}.log"
        self.proc: Optional[subprocess.Popen] = None

    def _install_connect_file(self) -> None:
        """plugin.path/connect-file/ holds the connect-file jar (a symlink into the cache)."""
        d = self.plugins / "connect-file"
        d.mkdir(parents=True, exist_ok=True)
        for jar in self.lib.glob("connect-file-*.jar"):
            link = d / jar.name
            if not link.exists():
                link.symlink_to(jar)

    def classpath(self) -> str:
        """Every cached jar but connect-file (which comes from plugin.path)."""
        return ":".join(str(j) for j in sorted(self.lib.glob("*.jar"))
                        if not j.name.startswith("connect-file-"))

    def command(self) -> list:
        """The java command line that starts this worker."""
        return (["java"] + HEAP.split() + JVM + ["-cp", self.classpath(),
                "org.apache.kafka.connect.cli.ConnectDistributed", str(self.props_path)])

    def start(self, wait: bool = True) -> "ConnectDistributed":
        """Starts the JVM (log appended to <name>.log); with wait, until its REST answers."""
        self.log_file = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL,
                                     stdout=self.log_file, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        """Until GET /connectors answers 200 (Connect answers 503 while its herder starts,
        and only serves connectors once it has joined the group and read the config
        topic)."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"Connect worker {self.name} exited "
                                     f"({self.proc.returncode}):\n{self.log_tail()}")
            try:
                last = http_json.call("GET", self.url + "/connectors", timeout=5)
                if last[0] == 200:
                    return
            except OSError as e:
                last = str(e)
            time.sleep(0.25)
        raise AssertionError(f"Connect worker {self.name}: REST not ready after {timeout}s "
                             f"({last})\n{self.log_tail()}")

    def rest(self, method: str, path: str, body: Any = None, timeout: float = 60) -> Any:
        """A REST call retried over 409/503 (see http_json.call_ok); the decoded body."""
        return http_json.call_ok(method, self.url + path, body, timeout=timeout)

    def log(self) -> str:
        """The whole log so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, n: int = 6000) -> str:
        """The last n characters of the log."""
        return self.log()[-n:]

    def alive(self) -> bool:
        """True while the JVM runs."""
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM (Connect's shutdown hook stops the herder cleanly), SIGKILL after
        timeout; the exit status."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(30)
        self.log_file.close()
        return self.proc.returncode

    def kill(self) -> None:
        """SIGKILL, as a crash."""
        if self.alive():
            self.proc.kill()
            self.proc.wait(30)
            self.log_file.close()

    def __enter__(self) -> "ConnectDistributed":
        return self if self.alive() else self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class ConnectStandalone(ConnectDistributed):
    """One Kafka Connect standalone worker (`org.apache.kafka.connect.cli.ConnectStandalone`
    with a worker file and offset.storage.file.filename; no connector files, connectors
    come over REST), otherwise as ConnectDistributed."""

    def __init__(self, tmp: Path, bootstrap: str, extra: Optional[Dict[str, str]] = None,
                 name: str = "connect-standalone"):
        """extra overrides or adds worker keys."""
        self.tmp = Path(tmp)
        self.name = name
        self.lib = connect_jars.connect_lib()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.plugins = self.tmp / f"{name}.plugins"
        self._install_connect_file()
        props = {
            "bootstrap.servers": bootstrap,
            "key.converter": "org.apache.kafka.connect.json.JsonConverter",
            "value.converter": "org.apache.kafka.connect.json.JsonConverter",
            "key.converter.schemas.enable": "true",
            "value.converter.schemas.enable": "true",
            "offset.storage.file.filename": str(self.tmp / f"{name}.offsets"),
            "offset.flush.interval.ms": "1000",
            "listeners": self.url,
            "plugin.path": str(self.plugins),
            "plugin.discovery": "service_load",
        }
        props.update(extra or {})
        self.props = props
        self.props_path = write_props(self.tmp / f"{name}.properties", props)
        self.log_path = self.tmp / f"{name}.log"
        self.proc = None

    def command(self) -> list:
        """The java command line that starts this worker."""
        return (["java"] + HEAP.split() + JVM + ["-cp", self.classpath(),
                "org.apache.kafka.connect.cli.ConnectStandalone", str(self.props_path)])
