"""A JSON REST client for the integration tests (Kafka Connect's API, on Connect or on
luaconnect workers): one call, the status code and the decoded body."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any, Optional, Tuple


def call(method: str, url: str, body: Any = None, timeout: float = 30) -> Tuple[int, Any]:
    """Sends method url with body as JSON (None: no body; bytes: sent as they are). Returns
    (status, decoded JSON, or the raw text when it is not JSON, or None when empty). Raises
    OSError when the server cannot be reached."""
    data = None if body is None else body if isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json",
                                          "Accept": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, raw = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    if not raw:
        return status, None
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


def transient(answer: Tuple[int, Any]) -> bool:
    """An answer a distributed cluster gives only while it settles: 409 (rebalance in progress,
    no leader known; not "already exists"), 503 (still starting), or Kafka Connect's 500
    "Request cannot be completed because a rebalance is expected" (RebalanceNeededException,
    between a config change and the rebalance it causes)."""
    status, body = answer
    msg = str(body.get("message", "")) if isinstance(body, dict) else ""
    return ((status == 409 and "already exists" not in msg) or status == 503
            or (status == 500 and "rebalance is expected" in msg))


def call_settled(method: str, url: str, body: Any = None, timeout: float = 60) -> Tuple[int, Any]:
    """call(), asked again while the answer is transient(), until timeout: the first answer
    that is not (or the last one)."""
    deadline = time.monotonic() + timeout
    while True:
        answer = call(method, url, body, timeout=60)
        if not transient(answer) or time.monotonic() > deadline:
            return answer
        time.sleep(0.25)


def call_ok(method: str, url: str, body: Any = None, timeout: float = 60,
            ok: Tuple[int, ...] = (200, 201, 202, 204)) -> Any:
    """call() retried while the answer is transient() or the server cannot be reached, until
    timeout; returns the body of the first answer in ok, raises AssertionError with the last
    answer otherwise."""
    deadline = time.monotonic() + timeout
    last: Optional[Tuple[int, Any]] = None
    while True:
        try:
            last = call(method, url, body)
            if last[0] in ok:
                return last[1]
            if not transient(last):
                break
        except OSError as e:
            last = (-1, str(e))
        if time.monotonic() >= deadline:
            break
        time.sleep(0.25)
    raise AssertionError(f"{method} {url} -> {last[0]}: {last[1]}")
