"""The plugin scan kept between runs (core/plugin_cache.c): a second start on unchanged
scripts takes the stored scan, and any change to a script or a module it loads, a new
script, a damaged or forged cache file, each gives what a fresh scan gives. No broker."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

from conftest import luaconnect_bin
from worker import write_props

SETTLE = 2.1  # plugin_cache.c stores no scan of a file changed in the last 2 s


def run(env_cache, *args):
    env = dict(os.environ, LUACONNECT_PLUGIN_CACHE=str(env_cache))
    p = subprocess.run([str(luaconnect_bin()), *args], stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60, env=env)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def rows(out):
    return {line.split()[0]: line for line in out.splitlines() if line and not line.startswith(" ")}


def setup(tmp: Path):
    plugins = tmp / "plugins"
    plugins.mkdir()
    (plugins / "_helper.lua").write_text('return { doc = "helped" }\n')
    (plugins / "mine.lua").write_text(
        'local c = require "luaconnect"\nlocal h = require "_helper"\n'
        'return c.transform { version = "2.1.0", doc = h.doc, aliases = { "com.example.Mine" },\n'
        '  apply = function(r) return r end }\n')
    (plugins / "broken.lua").write_text("return connect.source {\n")
    worker = write_props(tmp / "worker.properties", {
        "bootstrap.servers": "127.0.0.1:1", "offset.storage.file.filename": str(tmp / "o.db"),
        "listeners": "http://127.0.0.1:0", "plugin.path": str(plugins)})
    return plugins, worker


def only_file(cache: Path) -> Path:
    files = sorted(cache.glob("scan-*.json"))
    assert len(files) == 1, files
    return files[0]


def first_scan(tmp: Path):
    """A plugin.path of settled files scanned once: (plugins dir, worker file, output, the
    stored scan's file)."""
    plugins, worker = setup(tmp)
    time.sleep(SETTLE)
    rc, cold, _ = run(tmp / "cache", "plugins", str(worker))
    assert rc == 0
    return plugins, worker, cold, only_file(tmp / "cache")


def test_a_second_run_takes_the_stored_scan_until_a_file_changes(tmp_path):
    cache = tmp_path / "cache"
    plugins, worker, cold, stored = first_scan(tmp_path)
    assert "helped" in rows(cold)["mine"] and "error" in rows(cold)["broken"]
    scan = json.loads(stored.read_text())
    mine = [p for p in scan["plugins"] if p["name"] == "mine"]
    assert mine == [{"path": str(plugins / "mine.lua"), "name": "mine", "kind": "transform",
                     "version": "2.1.0", "doc": "helped", "aliases": "com.example.Mine",
                     "variants": False}]

    # The same files: the listing comes from the cache (a doc changed in the cache shows).
    rc, warm, _ = run(cache, "plugins", str(worker))
    assert rc == 0 and warm == cold
    mine[0]["doc"] = "from the cache"
    stored.write_text(json.dumps(scan))
    rc, out, _ = run(cache, "plugins", str(worker))
    assert rc == 0 and "from the cache" in rows(out)["mine"]

    # A module the script loads changed: scanned again, and not stored while it may still
    # change within its mtime's tick.
    (plugins / "_helper.lua").write_text('return { doc = "helped again" }\n')
    rc, out, _ = run(cache, "plugins", str(worker))
    assert rc == 0 and "helped again" in rows(out)["mine"]
    assert "from the cache" in stored.read_text()
    time.sleep(SETTLE)
    rc, out, _ = run(cache, "plugins", str(worker))
    assert rc == 0 and "helped again" in rows(out)["mine"]
    assert json.loads(only_file(cache).read_text())["plugins"][1]["doc"] == "helped again"

    # A script fixed, a script added: both show at once.
    (plugins / "broken.lua").write_text(
        'local c = require "luaconnect"\nreturn c.transform { version = "0.1.0", doc = "fixed", '
        'apply = function(r) return r end }\n')
    (plugins / "added.lua").write_text(
        'local c = require "luaconnect"\nreturn c.predicate { version = "0.2.0", doc = "new", '
        'test = function(r) return true end }\n')
    rc, out, _ = run(cache, "plugins", str(worker))
    assert rc == 0
    assert "fixed" in rows(out)["broken"] and "transform" in rows(out)["broken"]
    assert "predicate" in rows(out)["added"] and "new" in rows(out)["added"]


def test_a_damaged_or_forged_cache_is_scanned_again(tmp_path):
    cache = tmp_path / "cache"
    _, worker, cold, stored = first_scan(tmp_path)
    good = stored.read_text()

    stored.write_text(good[: len(good) // 2])
    rc, out, _ = run(cache, "plugins", str(worker))
    assert rc == 0 and out == cold
    assert json.loads(stored.read_text()) == json.loads(good)  # rewritten whole

    # A cache that names a script the directories do not hold is not believed.
    scan = json.loads(good)
    evil = tmp_path / "evil.lua"
    evil.write_text('error("must not be loaded")\n')
    for p in scan["plugins"]:
        if p["name"] == "mine":
            p["path"] = str(evil)
    stored.write_text(json.dumps(scan))
    rc, out, _ = run(cache, "plugins", str(worker))
    assert rc == 0 and out == cold
    assert json.loads(stored.read_text()) == json.loads(good)


def test_connector_names_resolve_the_same_from_the_cache(tmp_path):
    cache = tmp_path / "cache"
    _, worker = setup(tmp_path)
    conn = write_props(tmp_path / "c.properties", {
        "name": "c", "connector.class": "FileStreamSauce", "topic": "t"})
    time.sleep(SETTLE)
    answers = [run(cache, "standalone", str(worker), str(conn)) for _ in range(2)]
    only_file(cache)
    for rc, _, err in answers:
        assert rc == 1
        assert ("connector 'c': key 'connector.class': unknown connector 'FileStreamSauce'; "
                "available: file_sink (FileStreamSink), file_source (FileStreamSource)") in err
    assert answers[0][2].count("unknown connector") == answers[1][2].count("unknown connector")


def test_the_cache_can_be_turned_off(tmp_path):
    _, worker = setup(tmp_path)
    time.sleep(SETTLE)
    rc, out, _ = run("off", "plugins", str(worker))
    assert rc == 0 and "helped" in rows(out)["mine"]
    assert not (tmp_path / "off").exists() and not Path("off").exists()
