"""docs/tutorial.md, run as a user would: its ```sh blocks in one shell, in order, in an empty
directory; ```lang file=NAME blocks written to NAME; each ```output block compared exactly with
what the ```sh block before it printed. Only the REST port differs: a free one instead of
8083 (other workers may run on this machine). Needs no external broker (--embedded-kafka)."""

from __future__ import annotations

import json
import os
import re
import select
import socket
import subprocess
import time
from pathlib import Path

from conftest import REPO_ROOT, luaconnect_bin

TUTORIAL = REPO_ROOT / "docs" / "tutorial.md"
END = "@@tutorial-block-end@@"
BLOCK_TIMEOUT = 180  # a guard against a hang, not a measure


def blocks(text: str):
    """(kind, arg, body) for each fenced block: ("sh", None, ...), ("output", None, ...),
    ("file", NAME, ...); other blocks are prose."""
    for m in re.finditer(r"^```(\S*)([^\n]*)\n(.*?)^```$", text, re.S | re.M):
        lang, info, body = m.group(1), m.group(2), m.group(3)
        f = re.search(r"\bfile=(\S+)", info)
        if f:
            yield "file", f.group(1), body
        elif lang in ("sh", "output"):
            yield lang, None, body


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Shell:
    """One bash, as a terminal session: cd, background jobs and variables carry over."""

    def __init__(self, cwd: Path, env: dict):
        self.p = subprocess.Popen(["bash", "--norc", "--noprofile"], cwd=cwd, env=env, text=True,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.run("set -e")

    def run(self, script: str) -> str:
        self.p.stdin.write(script + f"\necho {END}\n")
        self.p.stdin.flush()
        out, deadline = "", time.monotonic() + BLOCK_TIMEOUT
        fd = self.p.stdout.fileno()
        while True:
            left = deadline - time.monotonic()
            assert left > 0, f"block did not finish:\n{script}\n--- output so far ---\n{out}"
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, 65536).decode()
            assert chunk, f"the shell ended (a command failed):\n{script}\n--- output ---\n{out}"
            out += chunk
            if out.endswith(END + "\n"):
                return out[: -len(END) - 1]

    def cwd(self) -> Path:
        return Path(self.run("pwd").strip())

    def close(self):
        self.p.stdin.close()
        try:
            self.p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.p.kill()


def test_every_command_of_the_tutorial_runs_as_shown(tmp_path):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "luaconnect").symlink_to(luaconnect_bin())
    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "LUACONNECT_LOG_LEVEL"}
    env["PATH"] = f"{bindir}:{env['PATH']}"
    port = free_port()
    sh = Shell(work, env)
    ran, last_out, commands = 0, None, 0
    try:
        for kind, arg, body in blocks(TUTORIAL.read_text()):
            if kind == "file":
                (sh.cwd() / arg).write_text(body)
            elif kind == "sh":
                body = body.replace("localhost:8083", f"localhost:{port}")
                last_out = sh.run(body)
                ran += 1
                commands += sum(1 for l in body.splitlines() if l.strip())
                # the generated worker listens on the free port instead of 8083
                for w in sh.cwd().glob("worker.properties"):
                    w.write_text(w.read_text().replace("127.0.0.1:8083", f"127.0.0.1:{port}"))
            else:
                assert last_out is not None, "an output block before any command"
                assert last_out == body, f"tutorial output differs:\n--- shown ---\n{body}--- got ---\n{last_out}"
                last_out = None
        ticker = sh.cwd()
    finally:
        sh.close()
    assert ran >= 8 and commands >= 15
    # the worker stopped cleanly (kill -INT, wait), and across the reload every number once, in order
    numbers = [json.loads(l)["n"] for l in (ticker / "ticks.txt").read_text().splitlines()]
    assert numbers == list(range(1, len(numbers) + 1))
    messages = [json.loads(l)["message"] for l in (ticker / "ticks.txt").read_text().splitlines()]
    assert messages[0] == "tick" and messages[-1] == "TICK"
    assert messages == sorted(messages, key=lambda m: m == "TICK")  # the reload switched once
    log = (ticker / "worker.log").read_text()
    assert "ERROR" not in log, log[-3000:]
    print(f"tutorial: {ran} shell blocks, {commands} command lines")
