"""Faults on a real broker: the offset store becomes unwritable, the broker goes away for 30 s,
a sink's put() fails with a retriable error or a plain one. Each test counts what a user
would count: records lost, records doubled, the task's state, the log line that says why."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from conftest import kcat_consume, unique_topic
from worker import Worker, file_lines, wait_for


def payloads(bootstrap: str, topic: str, count: int, timeout: float = 30) -> list:
    """The JsonConverter payloads of up to count records of topic, in order."""
    return [json.loads(v)["payload"] for v in kcat_consume(bootstrap, topic, count, timeout)]


def committed_position(db: Path, connector: str, filename: Path):
    """The file source's committed byte position, read without writing to the store."""
    if not db.exists():
        return None
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        key = json.dumps([connector, {"filename": str(filename)}], separators=(",", ":"))
        row = con.execute("SELECT value FROM offsets WHERE key=?", (key,)).fetchone()
        return json.loads(row[0])["position"] if row else None
    except sqlite3.OperationalError:
        return None
    finally:
        con.close()


def chattr(flag: str, *paths: Path) -> None:
    subprocess.run(["chattr", flag, *map(str, paths)], check=True, stdout=subprocess.PIPE,
                   stderr=subprocess.PIPE)


def immutable_supported(probe: Path) -> str:
    """'' if chattr +i works on probe's file system, else why not. Root passes every
    permission check (chmod 0444 changes nothing for it, and SQLite keeps its files open), but
    not the immutable flag: writes to an immutable file fail with EPERM even for root."""
    if shutil.which("chattr") is None:
        return "chattr not installed (e2fsprogs)"
    probe.write_bytes(b"x")
    try:
        chattr("+i", probe)
    except subprocess.CalledProcessError as e:
        return ("chattr +i is not possible here (needs root with CAP_LINUX_IMMUTABLE on ext4, xfs, "
                f"btrfs or tmpfs >= 6.0): {e.stderr.decode(errors='replace').strip()}")
    chattr("-i", probe)
    probe.unlink()
    return ""


def test_unwritable_offset_store_keeps_offsets_and_commits_them_later(kafka, tmp_path):
    """The store's files turn immutable while a file source runs: the worker logs the store file
    and SQLite's error at each commit, keeps producing, keeps the acknowledged offsets, and
    commits them once the store is writable again. A restart then sends nothing twice."""
    why = immutable_supported(tmp_path / "probe")
    if why:
        pytest.skip(why)
    topic = unique_topic("lc-store-ro")
    src = tmp_path / "in.txt"
    first = [f"first {i:05d}" for i in range(2000)]
    second = [f"second {i:05d}" for i in range(3000)]
    src.write_text("".join(l + "\n" for l in first))
    w = Worker(tmp_path, kafka, [{"name": "ro-source", "connector.class": "FileStreamSource",
                                  "file": str(src), "topic": topic}],
               worker={"offset.flush.interval.ms": "300"})
    db, wal = w.db, Path(str(w.db) + "-wal")
    locked = []
    try:
        w.start()
        wait_for(lambda: committed_position(db, "ro-source", src) == src.stat().st_size, 60,
                 "the first 2,000 lines committed", w.log)
        size_before = src.stat().st_size
        chattr("+i", db, wal)
        locked = [db, wal]
        with open(src, "a") as f:
            f.write("".join(l + "\n" for l in second))
        wait_for(lambda: len(payloads(kafka, topic, 5000, 5)) == 5000, 60,
                 "all 5,000 lines in Kafka while the store is unwritable", w.log)
        wait_for(lambda: w.log().count("cannot commit source offsets") >= 3, 30,
                 "three failed commits", w.log)
        assert committed_position(db, "ro-source", src) == size_before
        assert (f"cannot commit source offsets of 1 source partitions to the offset store: offset store "
                f"{db}: disk I/O error (kept; tried again at the next commit)") in w.log()
        chattr("-i", db, wal)
        locked = []
        wait_for(lambda: committed_position(db, "ro-source", src) == src.stat().st_size, 30,
                 "the kept offsets committed once the store is writable", w.log)
        assert "committed the source offsets kept since" in w.log()
        assert w.status("ro-source", 0)[0] == "RUNNING"
        assert w.stop() == 0
        # A restart resumes at the committed end: nothing is sent twice.
        w.start()
        wait_for(lambda: f"resuming {src} at byte {src.stat().st_size}" in w.log(), 30,
                 "the restarted source to resume at the end", w.log)
        time.sleep(2)
        assert w.stop() == 0
    finally:
        if locked:
            chattr("-i", *locked)
        if w.alive():
            w.kill()
    got = payloads(kafka, topic, 10_000, 5)
    lost = len(set(first + second) - set(got))
    doubled = len(got) - len(set(got))
    print(f"offset store unwritable: {len(got)} records, lost {lost}, doubled {doubled}")
    assert got == first + second
