"""A luaconnect standalone worker driven the way a user drives it: real .properties
files, the real CLI, signals, and its SQLite store read back afterwards."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional

from conftest import luaconnect_bin


def write_props(path: Path, props: Dict[str, str]) -> Path:
    path.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
    return path


def wait_for(pred: Callable[[], bool], timeout: float, what: str, log: Optional[Callable[[], str]] = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.1)
    extra = ("\n--- worker log (tail) ---\n" + log()[-4000:]) if log else ""
    raise AssertionError(f"timed out after {timeout}s waiting for {what}{extra}")


class Worker:
    def __init__(self, tmp: Path, bootstrap: Optional[str], connectors: List[Dict[str, str]],
                 worker: Optional[Dict[str, str]] = None, embedded: bool = False, name: str = "w"):
        self.tmp = tmp
        self.db = tmp / f"{name}.offsets.db"
        props = {
            "bootstrap.servers": bootstrap or "127.0.0.1:1",
            "key.converter": "org.apache.kafka.connect.json.JsonConverter",
            "value.converter": "org.apache.kafka.connect.json.JsonConverter",
            "key.converter.schemas.enable": "true",
            "value.converter.schemas.enable": "true",
            "offset.storage.file.filename": str(self.db),
            "offset.flush.interval.ms": "1000",
            # A free port per worker, so tests can run workers side by side; url() reads it.
            "listeners": "http://127.0.0.1:0",
        }
        props.update(worker or {})
        self.worker_file = write_props(tmp / f"{name}.worker.properties", props)
        self.connector_files = [write_props(tmp / f"{name}.{c['name']}.properties", c) for c in connectors]
        self.embedded = embedded
        self.log_path = tmp / f"{name}.log"
        self.proc: Optional[subprocess.Popen] = None

    def start(self) -> "Worker":
        args = [str(luaconnect_bin()), "standalone"]
        if self.embedded:
            args.append("--embedded-kafka")
        args += [str(self.worker_file)] + [str(f) for f in self.connector_files]
        self.log_file = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self.log_file,
                                     stderr=subprocess.STDOUT)
        return self

    def url(self, timeout: float = 30) -> str:
        """The REST API's base URL, read from the worker's last 'REST API listening on' line
        (the log accumulates across restarts, and each start may listen on a new port)."""
        found = []

        def listening():
            for line in reversed(self.log().splitlines()):
                if "REST API listening on " in line:
                    found.append(line.split("REST API listening on ", 1)[1].split()[0].rstrip("/"))
                    return True
            return False

        wait_for(listening, timeout, "the REST API to listen", self.log)
        return found[0]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, timeout: float = 60) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError("worker did not stop on SIGTERM\n" + self.log()[-4000:])
        self.log_file.close()
        return rc

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)
        self.log_file.close()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def status(self, connector: str, task: int):
        """(state, trace) of a task (-1: the connector), or None before it is recorded."""
        if not self.db.exists():
            return None
        con = sqlite3.connect(self.db)
        try:
            return con.execute("SELECT state, trace FROM statuses WHERE connector=? AND task=?",
                               (connector, task)).fetchone()
        except sqlite3.OperationalError:  # the worker has not created its tables yet
            return None
        finally:
            con.close()

    def source_offset(self, connector: str, partition: dict):
        """The committed source offset (Kafka Connect's key format), or None."""
        if not self.db.exists():
            return None
        con = sqlite3.connect(self.db)
        try:
            key = json.dumps([connector, partition], separators=(",", ":"), sort_keys=True)
            row = con.execute("SELECT value FROM offsets WHERE key=?", (key,)).fetchone()
            return json.loads(row[0]) if row else None
        except sqlite3.OperationalError:  # tables not created yet
            return None
        finally:
            con.close()

    def __enter__(self):
        return self if self.alive() else self.start()

    def __exit__(self, *exc):
        if self.alive():
            self.proc.kill()
            self.proc.wait(30)


def file_lines(path: Path) -> List[bytes]:
    if not path.exists():
        return []
    data = path.read_bytes()
    lines = data.split(b"\n")
    return lines[:-1]  # only complete lines
