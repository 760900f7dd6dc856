"""32 REST clients at once for 30 s (15 s in make test's sanitizer round; LC_REST_SECONDS sets it): creating, reconfiguring, pausing, resuming, stopping,
restarting and deleting connectors (marker_source.lua, which records a task that opens
twice), and reading their status. Afterwards the API reports what each client last wrote,
exactly one marker exists per open task, no task was ever open twice, and the worker is
healthy and stops cleanly.

Each client owns two connector names, so it knows what it last wrote and which answer each
request must get (201/409, 200/404, ...). The p50/p99 latency of GET /connectors/{c}/status
under this load is printed (also without -s) and written as JSON to $LC_REST_LATENCY_FILE
when that is set.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from pathlib import Path

from test_rest import (Api, anomalies, markers, marker, not_found, wait_status,  # noqa: F401
                       workers)
from worker import wait_for

CLIENTS = 32
# The sanitizer build runs the same requests about 3x slower: half the time still makes
# thousands of concurrent requests there.
DURATION = float(os.environ.get("LC_REST_SECONDS",
                                "15" if os.environ.get("LC_SANITIZER") == "1" else "30"))
NAMES_PER_CLIENT = 2


class Model:
    """What one connector should be after the client's last successful write."""

    def __init__(self):
        self.exists = False
        self.config = None
        self.target = None  # RUNNING, PAUSED, STOPPED


def percentile(sorted_values, p):
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, int(round(p / 100.0 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[k]


def test_32_clients_for_30_seconds(tmp_path, kafka, workers, capsys):
    w, api = workers(tmp_path, kafka, worker={"task.shutdown.graceful.timeout.ms": "5000"})
    base = f"http://{api.host}:{api.port}"
    latencies = []  # seconds, GET status
    errors = []
    counts = {}
    lock = threading.Lock()
    models = {}
    stop_at = time.monotonic() + DURATION

    def client(i: int):
        rnd = random.Random(1000 + i)
        c = Api(base, keep=True, timeout=120)
        names = [f"c{i:02d}-{k}" for k in range(NAMES_PER_CLIENT)]
        mine = {n: Model() for n in names}
        with lock:
            models.update(mine)

        def cfg(name):
            return marker(tmp_path, **{"tasks.max": str(rnd.randint(1, 2)),
                                       "label": f"{name}-{rnd.randint(0, 10**6)}"})

        def check(cond, what, r):
            if not cond:
                with lock:
                    errors.append(f"client {i}: {what}: {r}")

        try:
            while time.monotonic() < stop_at:
                name = rnd.choice(names)
                m = mine[name]
                op = rnd.choices(["status", "create", "put", "patch", "pause", "resume", "stop",
                                  "restart", "restart_tasks", "restart_task", "delete"],
                                 weights=[8, 3, 2, 2, 2, 2, 1, 1, 1, 1, 2])[0]
                with lock:
                    counts[op] = counts.get(op, 0) + 1
                path = f"/connectors/{name}"
                if op == "status":
                    t0 = time.perf_counter()
                    r = c.get(path + "/status")
                    dt = time.perf_counter() - t0
                    with lock:
                        latencies.append(dt)
                    if m.exists:
                        check(r.code == 200 and r.json["name"] == name, "status", r)
                        if r.code == 200 and m.target == "STOPPED":
                            check(r.json["tasks"] == [], "stopped connector lists tasks", r)
                    else:
                        gone = {"error_code": 404,
                                "message": f"No status found for connector {name}"}
                        check((r.code, r.json) == (404, gone), "status of deleted", r)
                elif op == "create":
                    state = rnd.choice(["RUNNING", "PAUSED", "STOPPED", None])
                    conf = cfg(name)
                    body = {"name": name, "config": conf}
                    if state:
                        body["initial_state"] = state
                    r = c.post("/connectors", body)
                    if m.exists:
                        check(r.code == 409, "create existing", r)
                    else:
                        check(r.code == 201, "create", r)
                        if r.code == 201:
                            m.exists, m.config, m.target = True, dict(conf, name=name), state or "RUNNING"
                elif op == "put":
                    conf = cfg(name)
                    r = c.put(path + "/config", conf)
                    check(r.code == (200 if m.exists else 201), "put config", r)
                    if r.code in (200, 201):
                        if not m.exists:
                            m.exists, m.target = True, "RUNNING"
                        m.config = dict(conf, name=name)
                elif op == "patch":
                    label = f"patched-{rnd.randint(0, 10**6)}"
                    r = c.patch(path + "/config", {"label": label})
                    if m.exists:
                        check(r.code == 200, "patch", r)
                        if r.code == 200:
                            m.config = dict(m.config, label=label)
                    else:
                        check(r.code == 404, "patch missing", r)
                elif op in ("pause", "resume", "stop"):
                    r = c.put(f"{path}/{op}")
                    if m.exists:
                        check(r.code == (204 if op == "stop" else 202), op, r)
                        m.target = {"pause": "PAUSED", "resume": "RUNNING", "stop": "STOPPED"}[op]
                    else:
                        check(r.code == 404, op + " missing", r)
                elif op in ("restart", "restart_tasks"):
                    q = "?includeTasks=true" if op == "restart_tasks" else ""
                    r = c.post(f"{path}/restart{q}")
                    if m.exists:
                        check(r.code == (202 if q else 204), op, r)
                    else:
                        check(r.code == 404, op + " missing", r)
                elif op == "restart_task":
                    r = c.post(f"{path}/tasks/0/restart")
                    if m.exists and m.target != "STOPPED":
                        check(r.code == 204, "task restart", r)
                    else:
                        check(r.code == 404, "task restart without task", r)
                elif op == "delete":
                    r = c.delete(path)
                    check(r.code == (204 if m.exists else 404), "delete", r)
                    if r.code == 204:
                        m.exists, m.config, m.target = False, None, None
        except Exception as e:  # a dropped connection or a timeout is a failure too
            with lock:
                errors.append(f"client {i}: {type(e).__name__}: {e}")
        finally:
            c.close()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(CLIENTS)]
    t_start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(DURATION + 180)
    elapsed = time.monotonic() - t_start
    assert not any(t.is_alive() for t in threads), "a client is stuck:\n" + w.log()[-3000:]

    lat = sorted(latencies)
    p50, p99 = percentile(lat, 50) * 1000, percentile(lat, 99) * 1000
    total = sum(counts.values())
    line = (f"REST latency, GET /connectors/{{c}}/status under {CLIENTS} concurrent clients: "
            f"p50 {p50:.2f} ms, p99 {p99:.2f} ms over {len(lat)} requests "
            f"({total} requests in {elapsed:.1f} s: {json.dumps(counts, sort_keys=True)})")
    with capsys.disabled():
        print("\n" + line)
    out = os.environ.get("LC_REST_LATENCY_FILE")
    if out:
        Path(out).write_text(json.dumps({"clients": CLIENTS, "duration_s": round(elapsed, 1),
                                         "status_requests": len(lat), "p50_ms": round(p50, 3),
                                         "p99_ms": round(p99, 3), "requests": counts}) + "\n")

    assert errors == [], "\n".join(errors[:30])
    assert w.alive()
    assert api.get("/health").code == 200

    # The API reports what was last written.
    expected = {n: m for n, m in models.items() if m.exists}
    assert api.get("/connectors").json == sorted(expected)
    want_markers = []
    for name, m in sorted(expected.items()):
        ntasks = int(m.config["tasks.max"])
        tasks = [] if m.target == "STOPPED" else [m.target] * ntasks
        st = wait_status(api, name, m.target, tasks, w=w, timeout=60)
        assert [t["id"] for t in st["tasks"]] == list(range(len(tasks)))
        assert api.get(f"/connectors/{name}/config").json == m.config
        info = api.get(f"/connectors/{name}").json
        assert info["config"] == m.config and len(info["tasks"]) == len(tasks)
        if m.target != "STOPPED":
            want_markers += [f"{name}-{k}" for k in range(ntasks)]
    # No task ran twice, and every task that runs is open exactly once.
    assert anomalies(tmp_path) == ""
    assert markers(tmp_path) == sorted(want_markers)
    assert "abandoned" not in w.log()

    # Still healthy, and a clean stop closes every task.
    assert api.get("/").code == 200
    assert w.stop() == 0
    assert markers(tmp_path) == [] and anomalies(tmp_path) == ""
