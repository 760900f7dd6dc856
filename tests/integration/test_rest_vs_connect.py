"""REST completeness: one scripted sequence of requests (the ones the console and third-party
clients make) run against Apache Kafka Connect 4.3.1 (the jars `make bench` uses) and
against luaconnect on the same broker: Connect standalone against luaconnect standalone, then
Connect distributed against a one-worker luaconnect cluster. Status codes and JSON shapes
(keys, types, nesting, and the values that must agree: states, types, error codes, config
maps, definitions' metadata; not worker ids, versions, traces' or messages' text) are compared
step by step.

Every difference is either in DOCUMENTED below, each entry quoting the bullet of the
"Differences from Kafka Connect" section of docs/rest-api.md that documents it, or in PENDING
(known, being fixed by another change: one strict xfail per entry, so a fixed one XPASSes and
its entry must go), or it fails the test, which prints every difference as a table.
LC_RVC_DUMP=<path> writes both sides' answers to <path>.<mode> for a closer look."""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest

import http_json
from conftest import REPO_ROOT
from cluster import Cluster
from connect_java import ConnectDistributed, ConnectStandalone, java_available
from worker import Worker

pytestmark = [
    pytest.mark.skipif(java_available() is not None, reason=str(java_available())),
]

DOCS = (REPO_ROOT / "docs" / "rest-api.md").read_text()

SRC, SINK = "rvc-source", "rvc-sink"

# --------------------------------------------------------------------------
# the sequence: (label, method, path, body, wait)
# body: a JSON value, or bytes sent as they are; "{file}", "{out}", "{topic}" in strings are
# replaced per run. wait: (path, predicate on the decoded body) polled before the request.


def running(body):
    return (isinstance(body, dict) and body.get("connector", {}).get("state") == "RUNNING"
            and body.get("tasks") and all(t.get("state") == "RUNNING" for t in body["tasks"]))


def state_is(s):
    return lambda body: isinstance(body, dict) and body.get("connector", {}).get("state") == s


def paused(body):
    return state_is("PAUSED")(body) and all(t.get("state") == "PAUSED" for t in body["tasks"])


SOURCE_CONFIG = {
    "connector.class": "FileStreamSource",
    "tasks.max": "1",
    "file": "{file}",
    "topic": "{topic}",
    "transforms": "hoist,ins",
    "transforms.hoist.type": "org.apache.kafka.connect.transforms.HoistField$Value",
    "transforms.hoist.field": "line",
    "transforms.ins.type": "org.apache.kafka.connect.transforms.InsertField$Value",
    "transforms.ins.static.field": "origin",
    "transforms.ins.static.value": "rvc",
    "errors.tolerance": "all",
    "errors.log.enable": "true",
    "errors.log.include.messages": "true",
    "errors.retry.timeout": "0",
}
SINK_CONFIG = {
    "connector.class": "org.apache.kafka.connect.file.FileStreamSinkConnector",
    "tasks.max": "1",
    "file": "{out}",
    "topics": "{topic}",
    "errors.tolerance": "all",
    "errors.deadletterqueue.topic.name": "{topic}-dlq",
    "errors.deadletterqueue.topic.replication.factor": "1",
    "errors.deadletterqueue.context.headers.enable": "true",
}
C = f"/connectors/{SRC}"
K = f"/connectors/{SINK}"

def tracked(body) -> bool:
    """A connector's active topics are recorded once its task has used one (KIP-558: a sink
    when it gets its first record): both workers are asked after that."""
    return isinstance(body, dict) and any(v.get("topics") for v in body.values()
                                          if isinstance(v, dict))


STEPS: List[Tuple[str, str, str, Any, Any]] = [
    ("root", "GET", "/", None, None),
    ("list empty", "GET", "/connectors", None, None),
    ("create source", "POST", "/connectors", {"name": SRC, "config": SOURCE_CONFIG}, None),
    ("create sink", "POST", "/connectors", {"name": SINK, "config": SINK_CONFIG}, None),
    ("source status", "GET", C + "/status", None, (C + "/status", running)),
    ("sink status", "GET", K + "/status", None, (K + "/status", running)),
    ("list", "GET", "/connectors", None, None),
    ("source info", "GET", C, None, None),
    ("source config", "GET", C + "/config", None, None),
    ("source tasks", "GET", C + "/tasks", None, None),
    ("source task status", "GET", C + "/tasks/0/status", None, None),
    ("source topics", "GET", C + "/topics", None, (C + "/topics", tracked)),
    ("sink info", "GET", K, None, None),
    ("sink config", "GET", K + "/config", None, None),
    ("sink tasks", "GET", K + "/tasks", None, None),
    ("sink task status", "GET", K + "/tasks/0/status", None, None),
    ("sink topics", "GET", K + "/topics", None, (K + "/topics", tracked)),
    ("expand status", "GET", "/connectors?expand=status", None, None),
    ("expand info", "GET", "/connectors?expand=info", None, None),
    ("expand both", "GET", "/connectors?expand=status&expand=info", None, None),
    ("put config", "PUT", C + "/config", {**SOURCE_CONFIG, "batch.size": "100"},
     (C + "/status", running)),
    ("config after put", "GET", C + "/config", None, None),
    ("patch config", "PATCH", C + "/config", {"batch.size": "200", "errors.log.enable": None},
     (C + "/status", running)),
    ("config after patch", "GET", C + "/config", None, None),
    ("pause", "PUT", C + "/pause", None, (C + "/status", running)),
    ("status paused", "GET", C + "/status", None, (C + "/status", paused)),
    ("resume", "PUT", C + "/resume", None, None),
    ("status resumed", "GET", C + "/status", None, (C + "/status", running)),
    ("restart", "POST", C + "/restart", None, None),
    ("restart includeTasks", "POST", C + "/restart?includeTasks=true", None,
     (C + "/status", running)),
    # Connect applies a restart after its 202: its status may still say RUNNING from before
    # the restart, then RESTARTING. Both sides must have finished the restart above, so RUNNING
    # must hold for a while (Connect's 202 here once gave RESTARTING while ours gave RUNNING).
    ("restart onlyFailed", "POST", C + "/restart?includeTasks=true&onlyFailed=true", None,
     (C + "/status", running, 3.0)),
    ("restart task", "POST", C + "/tasks/0/restart", None, (C + "/status", running)),
    ("offsets running", "GET", C + "/offsets", None,
     (C + "/offsets", lambda b: isinstance(b, dict) and b.get("offsets"))),
    ("stop", "PUT", C + "/stop", None, None),
    ("status stopped", "GET", C + "/status", None,
     (C + "/status", lambda b: state_is("STOPPED")(b) and b.get("tasks") == [])),
    ("info stopped", "GET", C, None, None),
    ("tasks stopped", "GET", C + "/tasks", None, None),
    ("offsets stopped", "GET", C + "/offsets", None, None),
    ("patch offsets", "PATCH", C + "/offsets",
     {"offsets": [{"partition": {"filename": "{file}"}, "offset": {"position": 3}}]}, None),
    ("offsets patched", "GET", C + "/offsets", None, None),
    ("delete offsets", "DELETE", C + "/offsets", None, None),
    ("offsets deleted", "GET", C + "/offsets", None, None),
    ("patch offsets bad", "PATCH", C + "/offsets", {"offsets": "x"}, None),
    ("offsets of running", "DELETE", K + "/offsets", None, None),
    ("resume stopped", "PUT", C + "/resume", None, None),
    ("status after stop", "GET", C + "/status", None, (C + "/status", running)),
    ("plugins", "GET", "/connector-plugins", None, None),
    ("plugins connectorsOnly=true", "GET", "/connector-plugins?connectorsOnly=true", None, None),
    ("plugins connectorsOnly=false", "GET", "/connector-plugins?connectorsOnly=false", None,
     None),
    ("source plugin config", "GET", "/connector-plugins/FileStreamSource/config", None, None),
    ("sink plugin config", "GET", "/connector-plugins/FileStreamSinkConnector/config", None,
     None),
    ("unknown plugin config", "GET", "/connector-plugins/NoSuchPlugin/config", None, None),
    ("validate good", "PUT", "/connector-plugins/FileStreamSource/config/validate",
     SOURCE_CONFIG, None),
    ("validate errors", "PUT", "/connector-plugins/FileStreamSource/config/validate",
     {"connector.class": "FileStreamSource", "tasks.max": "x", "file": "{file}",
      "batch.size": "-1"}, None),
    ("validate transform errors", "PUT", "/connector-plugins/FileStreamSource/config/validate",
     {"connector.class": "FileStreamSource", "topic": "t", "transforms": "r,x",
      "transforms.r.type": "org.apache.kafka.connect.transforms.RegexRouter",
      "transforms.x.type": "org.apache.kafka.connect.transforms.NoSuchTransform"}, None),
    ("validate sink", "PUT", "/connector-plugins/FileStreamSink/config/validate",
     SINK_CONFIG, None),
    ("loggers", "GET", "/admin/loggers", None, None),
    ("logger root", "GET", "/admin/loggers/root", None, None),
    ("unknown connector", "GET", "/connectors/no-such-connector", None, None),
    ("unknown connector status", "GET", "/connectors/no-such-connector/status", None, None),
    ("unknown task", "GET", C + "/tasks/7/status", None, None),
    ("bad JSON", "POST", "/connectors", b'{"name": "x", "config": {', None),
    ("wrong method", "DELETE", "/connectors", None, None),
    ("create twice", "POST", "/connectors", {"name": SRC, "config": SOURCE_CONFIG}, None),
    ("no config", "POST", "/connectors", {"name": "rvc-nothing"}, None),
    ("invalid name", "POST", "/connectors",
     {"name": "bad\nname", "config": {**SOURCE_CONFIG}}, None),
    ("empty name", "POST", "/connectors", {"name": "", "config": {**SOURCE_CONFIG}}, None),
    ("delete source", "DELETE", C, None, None),
    ("delete sink", "DELETE", K, None, None),
    ("delete again", "DELETE", C, None, None),
    ("list at end", "GET", "/connectors", None, None),
]


# --------------------------------------------------------------------------
# running the sequence


def request(method: str, url: str, body: Any) -> Tuple[int, Any]:
    """(status, decoded JSON or raw text or None)."""
    return http_json.call(method, url, body, timeout=60)


def substitute(v: Any, subs: Dict[str, str]) -> Any:
    if isinstance(v, dict):
        return {substitute(k, subs): substitute(x, subs) for k, x in v.items()}
    if isinstance(v, list):
        return [substitute(x, subs) for x in v]
    if isinstance(v, str):
        for a, b in subs.items():
            v = v.replace(a, b)
    return v


def run_sequence(base: str, subs: Dict[str, str]) -> Dict[str, Tuple[int, Any]]:
    """label -> (status, body) of every step, in order."""
    out = {}
    for label, method, path, body, wait in STEPS:
        if wait:
            wpath, pred, hold = wait if len(wait) == 3 else (*wait, 0.0)
            deadline = time.monotonic() + 60
            since = None  # when pred first held in the current run of answers that satisfy it
            while True:
                st, b = request("GET", base + wpath, None)
                ok = st == 200 and pred(b)
                since = (since or time.monotonic()) if ok else None
                if ok and time.monotonic() - since >= hold:
                    break
                if time.monotonic() > deadline:
                    raise AssertionError(f"{base}: before {label!r}, {wpath} never "
                                         f"satisfied its condition: {st} {b}")
                time.sleep(0.2)
        if not isinstance(body, bytes):
            body = substitute(body, subs)
        out[label] = http_json.call_settled(method, base + path, body)
    return out


# --------------------------------------------------------------------------
# comparing

# keys whose string values are free text or differ by nature: only their type is compared
FREE_TEXT = {"message", "trace", "documentation", "worker_id", "commit", "kafka_cluster_id",
             "version", "last_modified", "errors"}


# steps whose message text must be Connect's too (clients show or match it)
EXACT_MESSAGES = {"unknown connector", "unknown connector status", "unknown task", "wrong method",
                  "create twice", "delete again", "offsets of running", "patch offsets",
                  "delete offsets"}


def canon(v: Any, key: Optional[str] = None) -> Any:
    """The value as compared: free text by type only; lists of names sorted."""
    if key in FREE_TEXT:
        if isinstance(v, list):
            return [f"<{type(x).__name__}>" for x in v]
        return f"<{type(v).__name__}>"
    if isinstance(v, dict):
        return {k: canon(x, k) for k, x in v.items()}
    if isinstance(v, list):
        return [canon(x) for x in v]
    return v


def diff(a: Any, b: Any, path: str, out: List[Tuple[str, str, str]]) -> None:
    """Appends (path, connect, luaconnect) for every difference between a and b."""
    def short(x):
        s = json.dumps(x, sort_keys=True)
        return s if len(s) <= 70 else s[:67] + "..."

    if isinstance(a, dict) and isinstance(b, dict):
        for k in a:
            if k not in b:
                out.append((f"{path}.{k}", short(a[k]), "(missing)"))
            else:
                diff(a[k], b[k], f"{path}.{k}", out)
        for k in b:
            if k not in a:
                out.append((f"{path}.{k}", "(missing)", short(b[k])))
        return
    if isinstance(a, list) and isinstance(b, list):
        named = (all(isinstance(x, dict) for x in a + b) and a + b
                 and all(named_key(x) is not None for x in a + b))
        if named:
            da = {named_key(x): x for x in a}
            db = {named_key(x): x for x in b}
            diff(da, db, path, out)
            if [k for k in da if k in db] != [k for k in db if k in da]:
                out.append((f"{path}[order]", short([k for k in da if k in db]),
                            short([k for k in db if k in da])))
            return
        if len(a) != len(b):
            out.append((f"{path}[len]", f"{len(a)}: {short(a)}", f"{len(b)}: {short(b)}"))
        for i, (x, y) in enumerate(zip(a, b)):
            diff(x, y, f"{path}[{i}]", out)
        return
    if a != b:
        out.append((path, short(a), short(b)))


def named_key(x: dict) -> Optional[str]:
    """The key that names a list element: a config definition or validate entry by its key
    name, a plugin by its class."""
    if "definition" in x and isinstance(x["definition"], dict):
        return x["definition"].get("name")
    if "class" in x and "type" in x:
        return f'{x["class"]} ({x["type"]})' 
    if "name" in x and "type" in x and "importance" in x:
        return x["name"]
    return None


def compare(connect: Dict[str, Tuple[int, Any]], lc: Dict[str, Tuple[int, Any]]):
    """[(step, path, connect, luaconnect)] of every difference."""
    diffs = []
    for label, *_ in STEPS:
        (sa, ba), (sb, bb) = connect[label], lc[label]
        out: List[Tuple[str, str, str]] = []
        if sa != sb:
            out.append(("status", str(sa), str(sb)))
        ca, cb = canon(ba), canon(bb)
        if label in EXACT_MESSAGES and isinstance(ba, dict) and isinstance(bb, dict):
            ca["message"], cb["message"] = ba.get("message"), bb.get("message")
        if label == "loggers" and isinstance(ca, dict) and isinstance(cb, dict):
            # which loggers exist differs by nature; each entry's shape must not
            ca, cb = ({"loggers": sorted(x), "entries": sorted({json.dumps(v, sort_keys=True)
                                                              for v in x.values()})}
                      for x in (ca, cb))
        if label.startswith("list") and isinstance(ca, list):
            ca, cb = sorted(ca), sorted(cb) if isinstance(cb, list) else cb
        diff(ca, cb, "$", out)
        diffs += [(label, p, x, y) for p, x, y in out]
    return diffs


# --------------------------------------------------------------------------
# what is known


def doc(quote: str) -> str:
    """quote, checked to be in docs/rest-api.md (whitespace-insensitive)."""
    squash = lambda s: re.sub(r"\s+", " ", s)  # noqa: E731
    assert squash(quote) in squash(DOCS), f"not in docs/rest-api.md: {quote!r}"
    return quote


# (step regex, path regex, the docs/rest-api.md text that documents it)
DOCUMENTED: List[Tuple[str, str, str]] = [
    ("^(bad JSON|no config|patch offsets bad)$", r"^(status|\$\.error_code)$",
     doc("Where Kafka Connect answers 500 with a Java parser or `NullPointerException` message "
         "(malformed JSON, a `POST /connectors` body without `config`, offsets of the wrong "
         "shape in `PATCH /connectors/{c}/offsets`), luaconnect answers 400 with a clear "
         "message.")),
    ("^plugins", r"^\$\.io\.confluent\.connect\.(jdbc\.Jdbc(Source|Sink)|hdfs\.HdfsSink|http\.Http(Source|Sink))"
     r"Connector \((source|sink)\)$|^\$\.io\.debezium\.connector\.postgresql\.Postgres"
     r"Connector \((source|sink)\)$",
     doc("`GET /connector-plugins` lists the bundled scripts, some under the Kafka class they "
         "stand in for (`io.confluent.connect.jdbc.JdbcSourceConnector`, `…JdbcSinkConnector`, "
         "`io.confluent.connect.hdfs.HdfsSinkConnector`, `io.confluent.connect.http.HttpSourceConnector`, "
         "`…HttpSinkConnector`, `io.debezium.connector.postgresql.PostgresConnector`), and the "
         "scripts of `plugin.path`.")),
    ("^plugins connectorsOnly=false$",
     r"^\$\.org\.apache\.kafka\.connect\.(converters\.(Boolean|Double|Float|Integer|Long|"
     r"Short)Converter \((header_)?converter\)|json\.JsonConverter \(header_converter\))$",
     doc("the three converters and three header converters (`ByteArrayConverter`, "
         "`SimpleHeaderConverter`, `StringConverter`)")),
    ("^validate", r"converter\.value\.recommended_values",
     doc("converter keys recommend the converters luaconnect has.")),
    ("^(source plugin config|validate good|validate errors|validate transform errors)$",
     r"\[order\]$|^\$\.configs\.transforms\.[^.]+\.[^.]+.*\.definition\.order_in_group$",
     doc("A script's own keys come in name order (Connect: the order the plugin defines them).")),
    ("^validate (transform )?errors$", r"^\$\.configs\.(tasks\.max\.value\.(value|errors\[len\])|"
     r"batch\.size\.value\.errors\[len\]|transforms\.x\.type\.value\.value|"
     r"transforms\.r\.regex\.value\.errors\[len\])$|^\$\.error_count$",
     doc("Validate reports luaconnect's checks: one error per bad value with the value as given "
         "(Connect may report two and a `null` value for one that does not parse), and the "
         "bundled plugins' own checks (FileStreamSource's `batch.size` must be at least 1; "
         "Connect accepts any integer).")),
    ("^create (source|sink)$", r"^\$\.tasks\[len\]$",
     doc("In distributed mode the 201 of `POST /connectors` lists the connector's tasks (Kafka "
         "Connect lists them only once the rebalance that starts them is done, so mostly `[]`).")),
    ("^loggers$", r"^\$\.loggers",
     doc("`GET /admin/loggers` lists `root` and the loggers luaconnect has (one per connector, "
         "`luaconnect.<c>`), where Kafka Connect lists the Java class loggers it has created.")),
    ("^validate", r"\.plugin\.version$",
     doc("There are no `*.plugin.version` keys (one version of each plugin is installed)")),
    ("plugin config$", r"\.plugin\.version$",
     doc("There are no `*.plugin.version` keys (one version of each plugin is installed)")),
]

# (step regex, path regex, why): differences another change on the way to main fixes; each is
# an xfail(strict=True) of its own, so the entry must go once the fix lands.
BEING_FIXED = "being fixed elsewhere (issue 15, REST completeness)"
PENDING: List[Tuple[str, str, str]] = []


def classify(diffs):
    """(documented, pending, unexplained) lists of differences."""
    documented, pending, unexplained = [], [], []
    for d in diffs:
        step, path = d[0], d[1]
        if any(re.search(s, step) and re.search(p, path) for s, p, _ in DOCUMENTED):
            documented.append(d)
        elif any(re.search(s, step) and re.search(p, path) for s, p, _ in PENDING):
            pending.append(d)
        else:
            unexplained.append(d)
    return documented, pending, unexplained


def table(rows) -> str:
    w = [max(len(str(r[i])) for r in rows + [("step", "path", "connect", "luaconnect")])
         for i in range(4)]
    w = [min(x, 60) for x in w]
    line = lambda r: " | ".join(str(c)[:60].ljust(w[i]) for i, c in enumerate(r))  # noqa
    return "\n".join([line(("step", "path", "Kafka Connect", "luaconnect")),
                      "-+-".join("-" * x for x in w)] + [line(r) for r in rows])


# --------------------------------------------------------------------------
# the test


@pytest.fixture(scope="module", params=["standalone", "distributed"])
def answers(request, kafka, tmp_path_factory, luaconnect_bin):
    """(Connect's answers, luaconnect's answers) to the sequence, on the same broker: Connect
    standalone against luaconnect standalone, Connect distributed against a one-worker
    luaconnect cluster."""
    mode = request.param
    tmp = tmp_path_factory.mktemp(f"rvc-{mode}")
    run = uuid.uuid4().hex[:10]
    topic = f"rvc-{run}"
    src = tmp / "in.txt"
    src.write_text("".join(f"line {i}\n" for i in range(5)))
    subs = {"{file}": str(src), "{out}": str(tmp / "out.txt"), "{topic}": topic}
    if mode == "standalone":
        with ConnectStandalone(tmp, kafka) as cj:
            connect = run_sequence(cj.url, subs)
        with Worker(tmp, kafka, [], name="lc") as w:
            lc = run_sequence(w.url(), subs)
    else:
        with ConnectDistributed(tmp, kafka, group_id=f"rvc-cj-{run}",
                                topics=tuple(f"rvc-cj-{run}-{t}" for t in ("c", "o", "s"))) as cj:
            connect = run_sequence(cj.url, subs)
        json_conv = "org.apache.kafka.connect.json.JsonConverter"
        with Cluster(tmp, kafka, n=1, extra={"key.converter": json_conv,
                                             "value.converter": json_conv,
                                             "plugin.path": ""}).start() as c:
            lc = run_sequence(c.workers[0].url, subs)
    if os.environ.get("LC_RVC_DUMP"):
        Path(os.environ["LC_RVC_DUMP"] + "." + mode).write_text(
            json.dumps({"connect": connect, "lc": lc}, indent=1))
    return connect, lc


def test_documented_quotes_are_in_the_docs():
    for *_, quote in DOCUMENTED:
        doc(quote)


def test_rest_same_as_connect(answers):
    connect, lc = answers
    documented, pending, unexplained = classify(compare(connect, lc))
    print(f"{len(documented)} documented differences, {len(pending)} pending")
    assert not unexplained, ("differences from Kafka Connect not documented in "
                             "docs/rest-api.md:\n" + table(unexplained))


@pytest.mark.skipif(not PENDING, reason="no known difference is waiting for a fix")
@pytest.mark.parametrize("entry", PENDING, ids=[p[2][:60] for p in PENDING])
def test_known_difference(answers, entry, request):
    """Each known difference still there is an xfail; one that has gone XPASSes, which fails
    (strict): take its entry out."""
    request.applymarker(pytest.mark.xfail(strict=True, reason=entry[2]))
    connect, lc = answers
    step_re, path_re, why = entry
    found = [d for d in compare(connect, lc) if re.search(step_re, d[0]) and
             re.search(path_re, d[1]) and not any(re.search(s, d[0]) and re.search(p, d[1])
                                                  for s, p, _ in DOCUMENTED)]
    assert not found, why + "\n" + table(found)
