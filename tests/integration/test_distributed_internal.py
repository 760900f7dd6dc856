"""Worker-to-worker REST on a 3-worker luaconnect cluster, as Kafka Connect 4.x answers it:
KIP-507's signed internal POST /connectors/<c>/tasks (unsigned 400, wrongly signed 403, signed
with the session key of the config topic 204, and forwarded from a follower with its
headers), Connect's forward=false rule on a follower (409), and a create through a follower
(201, the leader's body, a Location header).

The signature is computed here in Python (hmac, HmacSHA256) with the key read from the
config topic's `session-key` record, as another Connect worker would."""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import time
import uuid
from typing import Dict, Optional, Tuple

import pytest

from cluster import Cluster, has_distributed
from conftest import luaconnect_bin
from kafka_records import dump_topic
from worker import wait_for

pytestmark = pytest.mark.skipif(
    not has_distributed(luaconnect_bin()),
    reason=f"{luaconnect_bin()} has no 'distributed' command (luaconnect --help)")

# Kafka Connect 4.3.1's texts (DistributedHerder.putTaskConfigs, HerderRequestHandler)
MISSING = "Internal request missing required signature"
INVALID = "Internal request contained invalid signature."
CONFLICT = "Cannot complete request because of a conflicting operation (e.g. worker rebalance)"


def raw(worker, method: str, path: str, body: Optional[bytes] = None,
        headers: Optional[Dict[str, str]] = None) -> Tuple[int, Dict[str, str], object]:
    """One request with exactly these body bytes and headers: (status, headers with lower-case
    names, decoded JSON body or None)."""
    conn = http.client.HTTPConnection("127.0.0.1", worker.port, timeout=60)
    try:
        h = {"Content-Type": "application/json", "Accept": "application/json"}
        h.update(headers or {})
        conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
        data = r.read()
        return (r.status, {k.lower(): v for k, v in r.getheaders()},
                json.loads(data) if data else None)
    finally:
        conn.close()


def session_key(kafka: str, config_topic: str) -> Tuple[str, str]:
    """(base64 key, algorithm) of the last session-key record of the config topic."""
    recs = [r for r in dump_topic(kafka, config_topic) if r["key"] == b"session-key"]
    assert recs, f"no session-key record on {config_topic}"
    v = json.loads(recs[-1]["value"])
    return v["key"], v["algorithm"]


def sign(key_b64: str, body: bytes) -> str:
    """KIP-507: base64(HmacSHA256(key, body))."""
    return base64.b64encode(hmac.new(base64.b64decode(key_b64), body, hashlib.sha256).digest()
                            ).decode()


def signed(key_b64: str, body: bytes) -> Dict[str, str]:
    return {"X-Connect-Authorization": sign(key_b64, body),
            "X-Connect-Request-Signature-Algorithm": "HmacSHA256"}


def error(code: int, message: str) -> dict:
    return {"error_code": code, "message": message}


def seq(name: str, topic: str, tasks: int) -> dict:
    return {"connector.class": "seq_shards_source", "tasks.max": str(tasks), "topic": topic,
            "rate": "5", "name": name}


def task_configs_everywhere(c, name, want) -> bool:
    """True when GET /connectors/<name>/tasks answers want's configs on every live worker."""
    for w in c.live():
        st, body = w.call("GET", f"/connectors/{name}/tasks")
        if st != 200 or [t["config"] for t in body] != want:
            return False
    return True


def follower_knows_leader(c, follower, timeout=30):
    """Waits until follower forwards writes (it answers GETs as soon as it has read the
    topics, but until it has read the leader's first assignment it answers writes with 409
    "no known leader URL", as Connect does during a rebalance). Returns the seconds waited."""
    t0 = time.monotonic()
    wait_for(lambda: raw(follower, "PUT", "/connectors/none/pause")[0] != 409, timeout,
             f"{follower.name} to know the leader", follower.log)
    return time.monotonic() - t0


def test_internal_task_configs_are_signed_as_kip_507(kafka, tmp_path):
    topic = f"lc-kip507-{uuid.uuid4().hex[:8]}"
    with Cluster(tmp_path, kafka, n=3) as c:
        c.start()
        leader = c.leader()
        follower = next(w for w in c.workers if w is not leader)
        print(f"follower forwards {follower_knows_leader(c, follower):.1f} s after REST ready")
        leader.rest("POST", "/connectors", {"name": "kip", "config": seq("kip", topic, 2)})
        wait_for(lambda: len(leader.rest("GET", "/connectors/kip/tasks")) == 2, 60,
                 "2 task configs", leader.log)
        current = [t["config"] for t in leader.rest("GET", "/connectors/kip/tasks")]
        key, algorithm = session_key(kafka, c.topics[0])
        assert algorithm == "HmacSHA256" and len(base64.b64decode(key)) == 32

        configs = [dict(t, rate="7") for t in current]
        body = json.dumps(configs).encode()
        path = "/connectors/kip/tasks"

        # unsigned: 400
        st, _, got = raw(leader, "POST", path, body)
        assert (st, got) == (400, error(400, MISSING))
        # signed with another key: 403
        other = base64.b64encode(bytes(32)).decode()
        st, _, got = raw(leader, "POST", path, body, signed(other, body))
        assert (st, got) == (403, error(403, INVALID))
        # the right key over other bytes than those sent: 403
        st, _, got = raw(leader, "POST", path, body, signed(key, body + b" "))
        assert (st, got) == (403, error(403, INVALID))
        # a signature without its algorithm header counts as none (Connect's fromHeaders)
        st, _, got = raw(leader, "POST", path, body,
                         {"X-Connect-Authorization": sign(key, body)})
        assert (st, got) == (400, error(400, MISSING))
        # nothing of the refused requests was taken
        assert task_configs_everywhere(c, "kip", current)

        # signed with the session key: 204, and every worker serves the new task configs
        st, _, got = raw(leader, "POST", path, body, signed(key, body))
        assert (st, got) == (204, None)
        wait_for(lambda: task_configs_everywhere(c, "kip", configs), 30,
                 "the signed task configs on every worker", leader.log)

        # through a follower: forwarded to the leader with its signature headers
        configs2 = [dict(t, rate="9") for t in current]
        body2 = json.dumps(configs2).encode()
        st, _, got = raw(follower, "POST", path, body2)
        assert (st, got) == (400, error(400, MISSING))
        st, _, got = raw(follower, "POST", path, body2, signed(other, body2))
        assert (st, got) == (403, error(403, INVALID))
        assert task_configs_everywhere(c, "kip", configs)
        st, _, got = raw(follower, "POST", path, body2, signed(key, body2))
        assert (st, got) == (204, None)
        wait_for(lambda: task_configs_everywhere(c, "kip", configs2), 30,
                 "the forwarded task configs on every worker", follower.log)

        # an unknown connector: signature first, then 404
        body3 = json.dumps([{"a": "b"}]).encode()
        st, _, got = raw(leader, "POST", "/connectors/nope/tasks", body3, signed(key, body3))
        assert (st, got) == (404, error(404, "Connector nope not found"))


def test_follower_forwards_once_and_answers_with_the_leaders_response(kafka, tmp_path):
    topic = f"lc-fwd-{uuid.uuid4().hex[:8]}"
    with Cluster(tmp_path, kafka, n=3) as c:
        c.start()
        leader = c.leader()
        follower = next(w for w in c.workers if w is not leader)
        print(f"follower forwards {follower_knows_leader(c, follower):.1f} s after REST ready")

        # a request that already took its hop (forward=false) and reached a follower: 409
        cfg = seq("fwd", topic, 1)
        body = json.dumps({"name": "fwd", "config": cfg}).encode()
        st, _, got = raw(follower, "POST", "/connectors?forward=false", body)
        assert (st, got) == (409, error(409, CONFLICT))
        st, _, got = raw(follower, "PUT", "/connectors/fwd/config?forward=false",
                         json.dumps(cfg).encode())
        assert (st, got) == (409, error(409, CONFLICT))
        key, _ = session_key(kafka, c.topics[0])
        tb = b"[]"
        st, _, got = raw(follower, "POST", "/connectors/fwd/tasks?forward=false", tb,
                         signed(key, tb))
        assert (st, got) == (409, error(409, CONFLICT))
        assert leader.rest("GET", "/connectors") == []  # nothing was created

        # a create through a follower: 201, the leader's body, Location
        st, hdrs, got = raw(follower, "POST", "/connectors", body)
        assert st == 201, (st, got)
        # A difference from Connect, on purpose: luaconnect's leader writes the connector and
        # its task configs in one transaction, so the create answer already lists the tasks;
        # Connect's lists "tasks": [] (its task configs are written later, once the connector
        # has started).
        assert got == {"name": "fwd", "config": cfg, "tasks": [{"connector": "fwd", "task": 0}],
                       "type": "source"}
        assert hdrs.get("location") == "/connectors/fwd", hdrs
        # the same create on the leader itself answers the same way (body and Location)
        cfg2 = seq("direct", topic, 1)
        st2, hdrs2, got2 = raw(leader, "POST", "/connectors",
                               json.dumps({"name": "direct", "config": cfg2}).encode())
        assert st2 == 201 and got2 == {"name": "direct", "config": cfg2,
                                       "tasks": [{"connector": "direct", "task": 0}],
                                       "type": "source"}
        assert hdrs2.get("location") == "/connectors/direct", hdrs2
        # the leader's error answers come back unchanged through a follower
        st, _, got = raw(follower, "POST", "/connectors", body)
        assert (st, got) == (409, error(409, "Connector fwd already exists"))
        wait_for(lambda: all(w.call("GET", "/connectors")[1] == ["direct", "fwd"]
                             for w in c.workers), 30, "both connectors on every worker",
                 follower.log)
