"""Shared fixtures and helpers for luaconnect integration tests.

Kafka: the session-scoped ``kafka`` fixture yields a bootstrap string
"HOST:PORT". With LC_KAFKA_BOOTSTRAP set it uses that external broker;
otherwise it starts a single-node KRaft broker with tests/kafka/kafka.sh in a
temporary directory and stops it when the session ends.

Binary under test: ``luaconnect_bin()`` (also a fixture) returns $LC_BIN or
<repo>/build/luaconnect. Nothing is built here.

Helpers for tests (import from conftest or use the fixtures of the same name):
``kcat_produce``, ``kcat_consume``, ``kcat_consume_records``, ``unique_topic``.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from pathlib import Path
from typing import Iterable, List, Optional, Sequence, Tuple, Union

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
KAFKA_SH = REPO_ROOT / "tests" / "kafka" / "kafka.sh"

# start includes `deps`, which on a cold Maven cache downloads ~45 MB
KAFKA_START_TIMEOUT = float(os.environ.get("LC_KAFKA_FIXTURE_TIMEOUT", "900"))

Bytesish = Union[bytes, bytearray, str]


# --------------------------------------------------------------------------
# binary under test


def release_round_only(why: str):
    """Marks a test that make test runs in its release round only: one whose subject is
    behaviour over time (kill -9, paused processes, timeouts), which the sanitizer build only
    makes slower, while the paths it runs are run under the sanitizers by shorter tests.
    LC_SANITIZER_ALL=1 runs it under the sanitizers too."""
    return pytest.mark.skipif(
        os.environ.get("LC_SANITIZER") == "1" and os.environ.get("LC_SANITIZER_ALL") != "1",
        reason=f"runs in make test's release round only: {why} (LC_SANITIZER_ALL=1 runs it "
               "under the sanitizers too)")


def luaconnect_bin() -> Path:
    """Path of the luaconnect binary: $LC_BIN, else <repo>/build/luaconnect."""
    env = os.environ.get("LC_BIN")
    if env:
        return Path(env).resolve()
    return REPO_ROOT / "build" / "luaconnect"


@pytest.fixture(name="luaconnect_bin", scope="session")
def luaconnect_bin_fixture() -> Path:
    path = luaconnect_bin()
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(f"luaconnect binary not found or not executable: {path} "
                    "(build it first or set LC_BIN)")
    return path


# --------------------------------------------------------------------------
# kafka broker


@pytest.fixture(scope="session")
def kafka(tmp_path_factory) -> str:
    """Bootstrap "HOST:PORT" of a Kafka broker for the whole session."""
    external = os.environ.get("LC_KAFKA_BOOTSTRAP")
    if external:
        yield external
        return

    kdir = tmp_path_factory.mktemp("kafka")
    try:
        proc = subprocess.run(
            ["bash", str(KAFKA_SH), "start", str(kdir)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=KAFKA_START_TIMEOUT,
        )
    except subprocess.TimeoutExpired as e:
        _stop_kafka(kdir)
        out = (e.stdout or b"").decode(errors="replace")
        pytest.fail(f"kafka.sh start timed out after {KAFKA_START_TIMEOUT}s\n{out}")
    out = proc.stdout.decode(errors="replace")
    if proc.returncode != 0:
        _stop_kafka(kdir)
        pytest.fail(f"kafka.sh start failed (exit {proc.returncode}):\n{out}")
    print(out.strip().splitlines()[-1] if out.strip() else "kafka started")
    bootstrap = (kdir / "bootstrap").read_text().strip()
    sasl = kdir / "sasl_bootstrap"
    if sasl.exists():
        os.environ.setdefault("LC_KAFKA_SASL_BOOTSTRAP", sasl.read_text().strip())
    try:
        yield bootstrap
    finally:
        _stop_kafka(kdir)


# The SASL_PLAINTEXT listener of tests/kafka/kafka.sh's broker (mechanism PLAIN).
KAFKA_SASL_USER, KAFKA_SASL_PASSWORD = "connect", "connect-secret"


@pytest.fixture(scope="session")
def kafka_sasl(kafka) -> str:
    """Bootstrap "HOST:PORT" of the broker's SASL_PLAINTEXT listener (PLAIN, user
    KAFKA_SASL_USER): $LC_KAFKA_SASL_BOOTSTRAP, which tools/test.sh and the kafka fixture
    set from kafka.sh's DIR/sasl_bootstrap. Skips when an external broker has none."""
    sasl = os.environ.get("LC_KAFKA_SASL_BOOTSTRAP")
    if not sasl:
        pytest.skip("the broker has no SASL listener: LC_KAFKA_SASL_BOOTSTRAP is not set "
                    "(tests/kafka/kafka.sh writes it to DIR/sasl_bootstrap)")
    return sasl


def _stop_kafka(kdir: Path) -> None:
    subprocess.run(["bash", str(KAFKA_SH), "stop", str(kdir)],
                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=60, check=False)


# --------------------------------------------------------------------------
# topics


def unique_topic(prefix: str = "lc-test") -> str:
    """A fresh topic name (legal Kafka characters only)."""
    return f"{prefix}-{int(time.time())}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def topic(request) -> str:
    """A unique topic name derived from the test's name."""
    base = "".join(c if c.isalnum() or c in "-_" else "-"
                   for c in request.node.name)[:100]
    return unique_topic(f"lc-{base}")


# --------------------------------------------------------------------------
# kcat helpers


def _b(v: Bytesish) -> bytes:
    return v.encode("utf-8") if isinstance(v, str) else bytes(v)


def _delimiter(blobs: Iterable[bytes]) -> bytes:
    """A delimiter that occurs in none of blobs (nor across their joins)."""
    blobs = list(blobs)
    while True:
        d = b"\x1e" + uuid.uuid4().hex.encode() + b"\x1f"
        if not any(d in b for b in blobs):
            return d


def kcat_produce(bootstrap: str, topic: str, values: Sequence[Bytesish],
                 keys: Optional[Sequence[Optional[Bytesish]]] = None,
                 timeout: float = 30.0,
                 headers: Sequence[Tuple[str, Optional[str]]] = ()) -> None:
    """Produce values (bytes or str, sent exactly; may contain newlines) in
    order to topic, optionally with keys; waits for delivery (acks=all).
    headers: (name, value) pairs, in order, given to every message (kcat -H; a value
    of None is a null header).

    kcat cannot send an empty value or key other than as NULL, so b"" is
    rejected here rather than silently dropped.
    """
    vals = [_b(v) for v in values]
    ks = None if keys is None else [None if k is None else _b(k) for k in keys]
    if ks is not None and len(ks) != len(vals):
        raise ValueError("keys and values differ in length")
    if any(len(v) == 0 for v in vals) or (ks and any(k == b"" for k in ks)):
        raise ValueError("kcat cannot produce empty (non-NULL) values or keys")
    if ks and any(k is None for k in ks):
        raise ValueError("NULL keys are not supported together with keys=")
    if not vals:
        return

    delim = _delimiter(vals + (ks or []))
    kdelim = _delimiter(vals + (ks or []) + [delim]) if ks else None
    if ks:
        payload = delim.join(k + kdelim + v for k, v in zip(ks, vals))
    else:
        payload = delim.join(vals)
    payload += delim

    cmd = ["kcat", "-q", "-b", bootstrap, "-P", "-t", topic,
           "-D", delim.decode("latin-1"),
           "-X", f"message.timeout.ms={int(timeout * 1000)}",
           "-X", "acks=all"]
    if kdelim:
        cmd += ["-K", kdelim.decode("latin-1")]
    for name, value in headers:
        cmd += ["-H", name if value is None else f"{name}={value}"]  # no '=': a null header
    proc = subprocess.run(cmd, input=payload, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=timeout + 15)
    if proc.returncode != 0 or b"ERROR" in proc.stderr:
        raise RuntimeError(f"kcat produce to {topic} failed "
                           f"(exit {proc.returncode}): "
                           f"{proc.stderr.decode(errors='replace')}")


def _parse_records(out: bytes) -> List[dict]:
    """Parse kcat -f '%p %o %K:%k%S:%s' output (lengths make it exact)."""
    recs = []
    i, n = 0, len(out)

    def read_until(sep: bytes) -> bytes:
        nonlocal i
        j = out.index(sep, i)
        s, i = out[i:j], j + len(sep)
        return s

    def read_sized() -> Optional[bytes]:
        nonlocal i
        size = int(read_until(b":"))
        if size < 0:
            return None
        s, i = out[i:i + size], i + size
        return s

    while i < n:
        part = int(read_until(b" "))
        off = int(read_until(b" "))
        key = read_sized()
        val = read_sized()
        recs.append({"partition": part, "offset": off, "key": key, "value": val})
    return recs


def kcat_consume_records(bootstrap: str, topic: str, count: int,
                         timeout: float = 30.0) -> List[dict]:
    """Read up to count records from the beginning of topic; retries until
    count records exist or timeout passes, then returns what it has.

    Each record is {"partition", "offset", "key", "value"}; key/value are
    bytes, or None for NULL.
    """
    deadline = time.monotonic() + timeout
    recs: List[dict] = []
    while True:
        left = deadline - time.monotonic()
        try:
            proc = subprocess.run(
                ["kcat", "-q", "-b", bootstrap, "-C", "-t", topic,
                 "-o", "beginning", "-e", "-c", str(count),
                 "-f", "%p %o %K:%k%S:%s"],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, timeout=max(left, 1.0) + 5)
            if proc.returncode == 0:
                recs = _parse_records(proc.stdout)
        except subprocess.TimeoutExpired:
            pass
        if len(recs) >= count or time.monotonic() >= deadline:
            return recs
        time.sleep(0.25)


def kcat_consume(bootstrap: str, topic: str, count: int,
                 timeout: float = 30.0) -> List[Optional[bytes]]:
    """Values (bytes; None for NULL) of up to count messages from the
    beginning of topic, in partition/offset order as kcat delivers them."""
    return [r["value"] for r in
            kcat_consume_records(bootstrap, topic, count, timeout)]


def kcat_consume_json(bootstrap: str, topic: str, count: int, timeout: float = 30.0) -> List[dict]:
    """Up to count messages from the beginning of topic as kcat -J envelopes:
    {"partition", "offset", "key", "payload", "headers": {name: value}} (strings; None for
    NULL; a repeated name keeps its last value), plus "header_list": every header as a
    (name, value) pair, in order. Retries until count messages exist or timeout passes."""
    import json as _json
    deadline = time.monotonic() + timeout
    out: List[dict] = []
    while True:
        proc = subprocess.run(["kcat", "-q", "-b", bootstrap, "-C", "-t", topic, "-o", "beginning",
                               "-e", "-c", str(count), "-J"],
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=max(deadline - time.monotonic(), 1) + 5)
        if proc.returncode == 0:
            out = []
            for line in proc.stdout.decode().splitlines():
                m = _json.loads(line)
                h = m.get("headers") or []
                m["headers"] = {h[i]: h[i + 1] for i in range(0, len(h), 2)}
                m["header_list"] = [(h[i], h[i + 1]) for i in range(0, len(h), 2)]
                out.append(m)
        if len(out) >= count or time.monotonic() >= deadline:
            return out
        time.sleep(0.25)
