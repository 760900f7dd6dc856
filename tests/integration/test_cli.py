"""The command line as a user meets it: help, version, plugins, and every kind of bad
input answered with a message that names the file, line or key."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

from conftest import luaconnect_bin
from worker import Worker, wait_for, write_props


def run(*args, cwd=None, timeout=30):
    p = subprocess.run([str(luaconnect_bin()), *args], cwd=cwd, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def worker_file(tmp: Path, **extra) -> Path:
    # Port 0: other test files run at the same time (tools/test.sh), 8083 may be taken.
    props = {"bootstrap.servers": "127.0.0.1:1", "offset.storage.file.filename": str(tmp / "o.db"),
             "listeners": "http://127.0.0.1:0"}
    props.update(extra)
    return write_props(tmp / "worker.properties", props)


def test_help_and_version():
    rc, out, _ = run("--help")
    assert rc == 0 and "standalone [--embedded-kafka] WORKER.properties CONNECTOR.properties" in out
    rc, out, _ = run("--version")
    assert rc == 0 and out.startswith("luaconnect 0.") and "librdkafka" in out
    rc, _, err = run("frobnicate")
    assert rc == 2 and "unknown command 'frobnicate'" in err


def test_plugins_lists_connectors_with_version_and_doc(tmp_path):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "broken.lua").write_text("return connect.source {\n")
    (plugins / "mine.lua").write_text('local c = require "luaconnect"\n'
                                      'return c.transform { version = "2.1.0", doc = "my own", apply = function(r) return r end }\n')
    rc, out, _ = run("plugins", str(worker_file(tmp_path, **{"plugin.path": str(plugins)})))
    assert rc == 0
    rows = {line.split()[0]: line for line in out.splitlines() if line and not line.startswith(" ")}
    assert "source" in rows["file_source"] and "1.0.0" in rows["file_source"]
    assert "sink" in rows["file_sink"] and "Writes record values to a file" in rows["file_sink"]
    assert "transform" in rows["mine"] and "2.1.0" in rows["mine"] and "my own" in rows["mine"]
    assert "error" in rows["broken"] and "broken.lua:2:" in rows["broken"]
    assert "org.apache.kafka.connect.file.FileStreamSourceConnector" in out


def test_properties_syntax_error_names_file_and_line(tmp_path):
    w = worker_file(tmp_path)
    bad = tmp_path / "bad.properties"
    bad.write_text("name=x\n# fine\nconnector.class\n")
    rc, _, err = run("standalone", str(w), str(bad))
    assert rc == 1
    assert f"{bad}:3: expected '=' or ':' after key 'connector.class'" in err
    bad.write_text("name=x\nfile=\\u12G4\n")
    rc, _, err = run("standalone", str(w), str(bad))
    assert rc == 1 and f"{bad}:2:" in err and "\\uXXXX" in err


def test_unknown_connector_class_lists_the_available_ones(tmp_path):
    c = write_props(tmp_path / "c.properties", {"name": "c", "connector.class": "FileStreamSauce", "topic": "t"})
    rc, _, err = run("standalone", str(worker_file(tmp_path)), str(c))
    assert rc == 1
    assert "connector 'c': key 'connector.class': unknown connector 'FileStreamSauce'; available: file_sink (FileStreamSink), file_source (FileStreamSource)" in err


def test_config_errors_name_connector_and_key_all_at_once(tmp_path):
    c = write_props(tmp_path / "c.properties", {"name": "src", "connector.class": "file_source",
                                                "batch.size": "lots", "fille": "x"})
    rc, _, err = run("standalone", str(worker_file(tmp_path)), str(c))
    assert rc == 1
    assert "connector 'src': key 'batch.size': expected int, got 'lots'" in err
    assert "connector 'src': missing required key 'topic'" in err
    assert "connector 'src': unknown key 'fille' (did you mean 'file'?)" in err
    assert not (tmp_path / "o.db").exists() or "RUNNING" not in (tmp_path / "o.db").read_bytes().decode(errors="ignore")


def test_sink_needs_topics(tmp_path):
    c = write_props(tmp_path / "c.properties", {"name": "snk", "connector.class": "FileStreamSink", "file": "x"})
    rc, _, err = run("standalone", str(worker_file(tmp_path)), str(c))
    assert rc == 1 and "connector 'snk': must configure exactly one of 'topics' or 'topics.regex'" in err


def test_lua_syntax_error_names_script_file_and_line(tmp_path):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "oops.lua").write_text('local connect = require "luaconnect"\nreturn connect.source {\n  poll = function(task)\n    return {\n  end,\n}\n')
    c = write_props(tmp_path / "c.properties", {"name": "o", "connector.class": "oops"})
    rc, _, err = run("standalone", str(worker_file(tmp_path, **{"plugin.path": str(plugins)})), str(c))
    assert rc == 1
    assert f"{plugins}/oops.lua:5:" in err and "failed to load" in err


def test_transform_type_errors(tmp_path):
    c = write_props(tmp_path / "c.properties", {
        "name": "s", "connector.class": "FileStreamSource", "topic": "t", "file": "x",
        "transforms": "a,b", "transforms.a.type": "NoSuchTransform", "transforms.b.predicate": "p"})
    rc, _, err = run("standalone", str(worker_file(tmp_path)), str(c))
    assert rc == 1
    assert "connector 's': key 'transforms.a.type': unknown transform 'NoSuchTransform'" in err
    assert "connector 's': missing required key 'transforms.b.type'" in err


def test_missing_offsets_file_setting(tmp_path):
    w = write_props(tmp_path / "w.properties", {"bootstrap.servers": "127.0.0.1:1"})
    rc, _, err = run("standalone", str(w))
    assert rc == 1 and "missing required key 'offset.storage.file.filename'" in err


def test_unreachable_broker_is_reported_and_retried_without_crash(tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("a\nb\n")
    w = Worker(tmp_path, "127.0.0.1:1", [{"name": "s", "connector.class": "FileStreamSource",
                                          "file": str(src), "topic": "t"}],
               worker={"task.shutdown.graceful.timeout.ms": "1000"})
    with w:
        wait_for(lambda: "Kafka:" in w.log() and "retrying" in w.log(), 30, "the broker warning", w.log)
        time.sleep(1)
        assert w.alive()
        assert w.status("s", 0)[0] == "RUNNING"
        assert w.stop() == 0
    log = w.log()
    assert "127.0.0.1:1" in log
    assert "2 records not acknowledged by Kafka within 1000 ms; their offsets are not committed" in log
    assert w.source_offset("s", {"filename": str(src)}) is None


def test_configuration_docs_are_generated_from_the_key_table():
    """docs/configuration.md is what `luaconnect config-docs` prints from core/config.c."""
    rc, out, _ = run("config-docs")
    assert rc == 0
    doc = (Path(__file__).resolve().parents[2] / "docs" / "configuration.md").read_text()
    assert out == doc, "docs/configuration.md is stale: run build/luaconnect config-docs > docs/configuration.md"
    assert "| `offset.flush.interval.ms` | LONG | 60000 | >= 1 |" in out
    assert "| `errors.tolerance` | STRING | none | none,all |" in out


def test_worker_key_errors_name_file_and_key(tmp_path):
    wf = worker_file(tmp_path, **{"offset.flush.interval.ms": "soon"})
    rc, _, err = run("standalone", str(wf), timeout=20)
    assert rc == 1
    assert (f"worker config {wf}: key 'offset.flush.interval.ms': expected an integer >= 1, "
            "got 'soon'") in err
