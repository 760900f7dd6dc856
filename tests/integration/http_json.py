"""A JSON REST client for the integration tests (Kafka Connect's API, on Connect or on
luaconnect workers): one call, the status code and the decoded body."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any, Optional, Tuple


def call(method: str, url: str, body: Any = None, timeout: float = 30) -> Tuple[int, Any]:
    """Sends method url with body as JSON (None: no body). Returns (status, decoded JSON, or
    the raw text when it is not JSON, or None when empty). Raises OSError when the server
    cannot be reached."""
    data = None if body is None else json.dumps(body).encode()
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


def _rebalance_expected(answer: Tuple[int, Any]) -> bool:
    status, body = answer
    return (status == 500 and isinstance(body, dict)
            and "rebalance is expected" in str(body.get("message", "")))


def call_ok(method: str, url: str, body: Any = None, timeout: float = 60,
            ok: Tuple[int, ...] = (200, 201, 202, 204)) -> Any:
    """call() retried while the cluster answers 409 (rebalance in progress / no leader
    known), 503 (still starting), Kafka Connect's transient 500 "Request cannot be
    completed because a rebalance is expected" (RebalanceNeededException, answered between
    a config change and the rebalance it causes) or cannot be reached, until timeout;
    returns the body of the first answer in ok, raises AssertionError with the last answer
    otherwise."""
    deadline = time.monotonic() + timeout
    last: Optional[Tuple[int, Any]] = None
    while True:
        try:
            last = call(method, url, body)
            if last[0] in ok:
                return last[1]
            if last[0] not in (409, 503) and not _rebalance_expected(last):
                break
        except OSError as e:
            last = (-1, str(e))
        if time.monotonic() >= deadline:
            break
        time.sleep(0.25)
    raise AssertionError(f"{method} {url} -> {last[0]}: {last[1]}")
