"""The web console (ui/console.html, served at /ui/ and at / to browsers) in a real browser:
headless Chromium from Debian's `chromium` package, driven by Playwright for Python, against
a real worker on the real broker. The page is used as a user uses it: clicks and typing,
and what it shows is read back from the page.

Screenshots of each step go to $LC_CONSOLE_ARTIFACTS, else tests/integration/artifacts/
(ignored by git); the directory is printed. Without Playwright or a Chromium that starts,
the browser tests skip and say why (tools/deps.sh installs both). $LC_CHROMIUM names another
Chromium binary.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import urllib.request
from pathlib import Path

import pytest

from conftest import REPO_ROOT, unique_topic
from test_rest import PLUGINS, wait_status, workers  # noqa: F401  (fixture)
from worker import wait_for

ARTIFACTS = Path(os.environ.get("LC_CONSOLE_ARTIFACTS", REPO_ROOT / "tests" / "integration" / "artifacts"))
STEP_TIMEOUT_MS = 30_000  # how long the page may take to show a state; not a performance bound


def chromium_path() -> str:
    """$LC_CHROMIUM, else Debian's chromium on PATH."""
    if os.environ.get("LC_CHROMIUM"):
        return os.environ["LC_CHROMIUM"]
    for name in ("chromium", "chromium-browser"):
        p = shutil.which(name)
        if p:
            return p
    return ""


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium (the system's, nothing downloaded) under Playwright."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Playwright for Python is not installed (tools/deps.sh installs it: "
                    "pip install playwright)")
    exe = chromium_path()
    if not exe:
        pytest.skip("no Chromium on PATH (tools/deps.sh installs Debian's chromium package)")
    pw = sync_playwright().start()
    try:
        b = pw.chromium.launch(executable_path=exe, args=["--no-sandbox", "--disable-gpu"])
    except Exception as e:  # noqa: BLE001 — any launch failure is a reason to skip, shown
        pw.stop()
        pytest.skip(f"Chromium at {exe} did not start: {str(e).splitlines()[0]}")
    yield b
    b.close()
    pw.stop()


@pytest.fixture
def shots(request):
    """shot(page, step): saves a full-page screenshot as an artefact and says where."""
    d = ARTIFACTS / request.node.name
    d.mkdir(parents=True, exist_ok=True)
    print(f"\nconsole screenshots: {d}")
    n = [0]

    def shot(page, step: str) -> Path:
        n[0] += 1
        p = d / f"{n[0]:02d}-{step}.png"
        page.screenshot(path=str(p), full_page=True)
        return p

    return shot


def open_console(browser, url: str, **ctx):
    context = browser.new_context(viewport={"width": 1400, "height": 900}, **ctx)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("dialog", lambda d: d.accept())  # delete / reset ask first
    page.goto(url + "/ui/")
    page.wait_for_selector("#updated:not(:empty)", timeout=STEP_TIMEOUT_MS)
    return context, page, errors


def row(page, name: str):
    """The list's row of connector name (its name cell holds exactly that text)."""
    exact = re.compile("^" + re.escape(name) + "$")
    return page.locator("#connectors tr.conn").filter(has=page.locator("td.name", has_text=exact))


def wait_row_state(page, name: str, state: str):
    row(page, name).locator(f"td .state.{state}").wait_for(timeout=STEP_TIMEOUT_MS)


def http_get(url: str, accept: str):
    req = urllib.request.Request(url, headers={"Accept": accept})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status, r.headers, r.read()


# --------------------------------------------------------------------------
# serving the page (no browser needed)


def test_console_served_to_browsers_json_to_clients(tmp_path, kafka, workers):
    w, api = workers(tmp_path, kafka)
    base = w.url()
    browser_accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    for path, accept in [("/", browser_accept), ("/ui/", "*/*"), ("/ui", "application/json"),
                         ("/ui/index.html", browser_accept)]:
        code, headers, body = http_get(base + path, accept)
        assert code == 200, path
        assert headers["Content-Type"] == "text/html; charset=utf-8", path
        assert body.startswith(b"<!doctype html>") and b"luaconnect console" in body, path
        # self-contained: no script, style or font from anywhere else
        assert b"<script src" not in body and b"<link" not in body and b"http://" not in \
            body.replace(b"http://www.w3.org/2000/svg", b"")
    # API clients keep Connect's JSON at /
    for accept in ("application/json", "*/*", "text/html;q=0, application/json"):
        code, headers, body = http_get(base + "/", accept)
        assert code == 200 and headers["Content-Type"] == "application/json", accept
        assert set(json.loads(body)) == {"version", "commit", "kafka_cluster_id"}
    r = api.request("POST", "/ui/")
    assert r.code == 404


# --------------------------------------------------------------------------
# in the browser


def test_console_create_run_pause_fail_validate(tmp_path, kafka, workers, browser, shots):
    w, api = workers(tmp_path, kafka)
    context, page, errors = open_console(browser, w.url())
    try:
        assert page.locator("#empty").is_visible()
        shots(page, "empty")

        # create a FileStreamSource from the page
        src = tmp_path / "in.txt"
        src.write_text("one\ntwo\nthree\n")
        topic = unique_topic("console")
        page.click("#new")
        cls = "org.apache.kafka.connect.file.FileStreamSourceConnector"
        page.wait_for_selector(f"#create-class option[value='{cls}']", state="attached")
        page.select_option("#create-class", cls)
        assert json.loads(page.input_value("#create-config")) == {"connector.class": cls, "tasks.max": "1",
                                                                   "topic": ""}
        page.fill("#create-name", "lines")
        page.fill("#create-config", json.dumps({"connector.class": cls, "tasks.max": "1",
                                                 "file": str(src), "topic": topic}, indent=2))
        shots(page, "create-form")
        page.click("#create-save")
        wait_row_state(page, "lines", "RUNNING")
        assert api.get("/connectors/lines/config").json["file"] == str(src)
        r = row(page, "lines")
        assert r.locator("td").nth(1).inner_text() == "source"
        assert r.locator("td").nth(2).inner_text() == "FileStreamSourceConnector"
        assert r.locator("td").nth(3).inner_text() == topic
        r.locator("td.tasks", has_text=re.compile("^1 running$")).wait_for(timeout=STEP_TIMEOUT_MS)
        page.locator("#d-tasks tr.task .state.RUNNING").wait_for(timeout=STEP_TIMEOUT_MS)
        page.locator("#d-name", has_text=re.compile("^lines$")).wait_for(timeout=STEP_TIMEOUT_MS)  # selected
        assert "file_source.lua" in page.locator("#d-scripts").inner_text()
        # /metrics: charts when the worker has it, a quiet "no metrics" when it answers 404
        if api.get("/metrics").code == 404:
            assert r.locator("td.chart").inner_text() == "no metrics"
        else:  # the 3 lines written, as the worker's counters say
            r.locator("td.chart svg").wait_for(timeout=STEP_TIMEOUT_MS)
            r.locator("td.chart", has_text=" · 3 rec · 0 err").wait_for(timeout=STEP_TIMEOUT_MS)
        shots(page, "running")

        # pause it
        page.click("[data-act=pause]")
        wait_row_state(page, "lines", "PAUSED")
        assert api.get("/connectors/lines/status").json["connector"]["state"] == "PAUSED"
        shots(page, "paused")

        # a config with a typo: the validation errors show and nothing is saved
        cfg = api.get("/connectors/lines/config").json
        typo = {k: v for k, v in cfg.items() if k != "name" and k != "topic"}
        typo["topik"] = topic
        page.fill("#d-config", json.dumps(typo, indent=2))
        page.click("#d-save")
        page.locator("#d-errors li", has_text="did you mean 'topic'").wait_for(timeout=STEP_TIMEOUT_MS)
        messages = page.locator("#d-errors li").all_inner_texts()
        assert "topik: connector 'lines': unknown key 'topik' (did you mean 'topic'?)" in messages, messages
        assert any(m.startswith("topic: ") and "missing required key 'topic'" in m for m in messages), messages
        assert api.get("/connectors/lines/config").json == cfg
        shots(page, "validation-error")
        # fixed, it saves
        typo["topic"] = typo.pop("topik")
        typo["batch.size"] = "7"
        page.fill("#d-config", json.dumps(typo, indent=2))
        page.click("#d-save")
        wait_for(lambda: api.get("/connectors/lines/config").json.get("batch.size") == "7", 30,
                 "the saved config")
        page.locator("#d-errors li", has_text="Valid").wait_for(timeout=STEP_TIMEOUT_MS)

        # resume, stop, reset offsets, delete
        page.click("[data-act=resume]")
        wait_row_state(page, "lines", "RUNNING")
        page.click("[data-act=stop]")
        wait_row_state(page, "lines", "STOPPED")
        page.click("[data-act=reset]")
        page.locator("#banner", has_text="reset lines").wait_for(timeout=STEP_TIMEOUT_MS)
        assert "info" in page.locator("#banner").get_attribute("class")  # green: it worked
        shots(page, "offsets-reset")

        # a failed task's trace: a sink whose file cannot be opened
        r = api.post("/connectors", {"name": "broken", "config": {
            "connector.class": "flaky_sink", "topics": topic, "file": str(tmp_path / "missing" / "out.txt")}})
        assert r.code == 201, r
        wait_row_state(page, "broken", "RUNNING")  # the connector runs; its task fails
        r = row(page, "broken")
        r.locator("td.tasks .FAILED").wait_for(timeout=STEP_TIMEOUT_MS)
        assert r.locator("td.tasks").inner_text() == "0 running, 1 failed"
        r.click()
        trace = page.locator("#d-tasks tr.task-trace pre.trace")
        trace.wait_for(timeout=STEP_TIMEOUT_MS)
        want = api.get("/connectors/broken/status").json["tasks"][0]["trace"]
        assert "No such file or directory" in want
        assert trace.inner_text() == want
        shots(page, "failed-task")
        page.click("[data-act=restart-failed]")
        page.locator("#banner", has_text="restart-failed broken").wait_for(timeout=STEP_TIMEOUT_MS)

        page.click("[data-act=delete]")
        wait_for(lambda: api.get("/connectors").json == ["lines"], 30, "broken deleted")
        row(page, "broken").wait_for(state="detached", timeout=STEP_TIMEOUT_MS)
        assert errors == []
    finally:
        context.close()


def test_console_escapes_what_it_shows(tmp_path, kafka, workers, browser, shots):
    """A connector name and a trace made of HTML show as text and run nothing."""
    w, api = workers(tmp_path, kafka)
    name = 'x<img src=z onerror="window.pwned=1"><b id=injected>bold'  # no '/' in a name
    bad_dir = tmp_path / '<script>window.pwned=2</script><img src=q onerror="window.pwned=3">'
    r = api.post("/connectors", {"name": name, "config": {
        "connector.class": "flaky_sink", "topics": unique_topic("console"), "file": str(bad_dir / "f")}})
    assert r.code == 201, r
    wait_status(api, name, "RUNNING", ["FAILED"], w=w)
    context, page, errors = open_console(browser, w.url())
    try:
        r = row(page, name)
        r.wait_for(timeout=STEP_TIMEOUT_MS)
        assert r.locator("td.name").inner_text() == name
        r.click()
        trace = page.locator("#d-tasks tr.task-trace pre.trace")
        trace.wait_for(timeout=STEP_TIMEOUT_MS)
        assert str(bad_dir) in trace.inner_text()
        assert page.locator("#d-name").inner_text() == name
        shots(page, "escaped")
        assert page.evaluate("window.pwned") is None
        assert page.locator("#injected").count() == 0
        assert page.locator("img").count() == 0
        assert page.locator("script").count() == 1  # the page's own
        assert errors == []
    finally:
        context.close()


def test_console_with_basic_auth(tmp_path, kafka, workers, browser, shots):
    users = tmp_path / "users.properties"
    users.write_text("alice=wonder land\n")
    w, api = workers(tmp_path, kafka, worker={"rest.basic.auth.credentials.file": str(users)})
    (tmp_path / "markers").mkdir()
    assert api.get("/connectors", auth=("alice", "wonder land")).code == 200
    r = api.request("GET", "/ui/")
    assert r.code == 401 and r.headers["www-authenticate"].startswith("Basic realm=")

    # the page and every call it makes go with the credentials the browser was given
    context, page, errors = open_console(browser, w.url(),
                                         http_credentials={"username": "alice", "password": "wonder land"})
    try:
        assert page.locator("#banner").inner_text() == ""
        assert "luaconnect" in page.locator("#worker").inner_text()
        api.post("/connectors", {"name": "m", "config": {
            "connector.class": "MarkerSource", "marker.dir": str(tmp_path / "markers")}},
            auth=("alice", "wonder land"))
        wait_row_state(page, "m", "RUNNING")
        shots(page, "auth")
        assert errors == []
    finally:
        context.close()


def test_console_shows_failed_reload(tmp_path, kafka, workers, browser, shots):
    """A broken save of a running connector's script: the page shows the reload error (as
    text: the bad line holds HTML) while the old code keeps running."""
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    script = plugins / "marker_source.lua"
    shutil.copy(PLUGINS / "marker_source.lua", script)
    (tmp_path / "markers").mkdir()
    w, api = workers(tmp_path, kafka, worker={"plugin.path": str(plugins)})
    assert api.post("/connectors", {"name": "m", "config": {
        "connector.class": "MarkerSource", "marker.dir": str(tmp_path / "markers")}}).code == 201
    wait_status(api, "m", "RUNNING", ["RUNNING"], w=w)
    context, page, errors = open_console(browser, w.url())
    try:
        row(page, "m").click()
        page.locator("#d-scripts", has_text=str(script)).wait_for(timeout=STEP_TIMEOUT_MS)
        assert page.locator("#d-reload").is_hidden()
        script.write_text(script.read_text() + "\nthis is not Lua <b id=reloadinj>\n")
        api.post("/connectors/m/reload")  # as SIGHUP or the watcher would
        wait_for(lambda: "reload_error" in api.get("/connectors/m/status?expand=scripts").json["connector"], 30,
                 "the failed reload in the status", w.log)
        page.locator("#d-reload").wait_for(timeout=STEP_TIMEOUT_MS)
        want = api.get("/connectors/m/status?expand=scripts").json["connector"]["reload_error"]
        assert want.startswith("reload failed: ") and str(script) in want
        assert page.locator("#d-reload-error").inner_text() == want
        assert page.locator("#reloadinj").count() == 0
        wait_row_state(page, "m", "RUNNING")
        shots(page, "reload-failed")
        assert errors == []
    finally:
        context.close()
