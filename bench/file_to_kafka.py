#!/usr/bin/env python3
"""file source -> real Kafka: records/s, worker CPU seconds and peak RSS for N lines of
~100 bytes (JSON values without schemas). Delivery is counted, not assumed: the run ends
when the committed source offset (written only after the broker acknowledged every
earlier record) reaches the end of the file, and the topic's record count is checked.

usage: bench/file_to_kafka.py BOOTSTRAP [LINES] [BINARY]"""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid


def proc_stats(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / tick
    rss = hwm = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                hwm = int(line.split()[1]) / 1024
            elif line.startswith("VmRSS:"):
                rss = int(line.split()[1]) / 1024
    return cpu, rss, hwm


def main():
    bootstrap = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    here = os.path.dirname(os.path.abspath(__file__))
    binary = sys.argv[3] if len(sys.argv) > 3 else os.path.join(here, "..", "build", "luaconnect")
    tmp = tempfile.mkdtemp(prefix="lc-bench-")
    src = os.path.join(tmp, "in.txt")
    pad = "x" * 89
    with open(src, "w") as f:  # 100 bytes a line, newline included
        for i in range(n):
            f.write(f"{i:09d} {pad}\n")
    size = os.path.getsize(src)
    topic = f"bench-{uuid.uuid4().hex[:8]}"
    db = os.path.join(tmp, "offsets.db")
    with open(os.path.join(tmp, "worker.properties"), "w") as f:
        f.write(f"bootstrap.servers={bootstrap}\n"
                "key.converter=org.apache.kafka.connect.json.JsonConverter\n"
                "value.converter=org.apache.kafka.connect.json.JsonConverter\n"
                "key.converter.schemas.enable=false\nvalue.converter.schemas.enable=false\n"
                f"offset.storage.file.filename={db}\noffset.flush.interval.ms=100\n")
    with open(os.path.join(tmp, "source.properties"), "w") as f:
        f.write(f"name=bench-source\nconnector.class=FileStreamSource\nfile={src}\ntopic={topic}\n")
    # The topic exists before the clock starts, so auto-creation is not measured.
    subprocess.run(["kcat", "-q", "-b", bootstrap, "-P", "-t", topic], input=b"", check=False)
    key = json.dumps(["bench-source", {"filename": src}], separators=(",", ":"))
    t0 = time.monotonic()
    p = subprocess.Popen([binary, "standalone", os.path.join(tmp, "worker.properties"),
                          os.path.join(tmp, "source.properties")],
                         stdout=open(os.path.join(tmp, "log"), "w"), stderr=subprocess.STDOUT)
    time.sleep(0.3)
    _, idle_rss, _ = proc_stats(p.pid)
    done = None
    while time.monotonic() - t0 < 600:
        try:
            con = sqlite3.connect(db)
            row = con.execute("SELECT value FROM offsets WHERE key=?", (key,)).fetchone()
            con.close()
        except sqlite3.Error:
            row = None
        if row and json.loads(row[0])["position"] >= size:
            done = time.monotonic()
            break
        time.sleep(0.02)
    cpu, _, hwm = proc_stats(p.pid)
    p.send_signal(signal.SIGTERM)
    rc = p.wait(60)
    if done is None:
        sys.exit("bench: not every record was acknowledged within 600 s (failed run)")
    last = subprocess.run(["kcat", "-q", "-b", bootstrap, "-C", "-t", topic, "-o", "-1", "-e",
                           "-f", "%o\n"], capture_output=True, text=True).stdout.split()
    count = int(last[-1]) + 1 if last else 0
    if count != n:
        sys.exit(f"bench: topic holds {count} records, expected {n} (failed run)")
    secs = done - t0
    print(f"file -> Kafka, {n} lines of ~100 bytes, JSON without schemas, acks=all")
    print(f"  records/s        {n / secs:,.0f}  ({secs:.2f} s wall, incl. start)")
    print(f"  worker CPU       {cpu:.2f} s user+sys ({cpu / n * 1e6:.2f} us/record)")
    print(f"  peak RSS         {hwm:.1f} MB   (idle after start {idle_rss:.1f} MB)")
    print(f"  exit status      {rc}")


if __name__ == "__main__":
    main()
