"""A throwaway PostgreSQL server for the JDBC tests: initdb into a temporary directory and
pg_ctl start on a free port (Debian's postgresql package), stopped afterwards. Nothing
depends on a server already running on the machine."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
from pathlib import Path
from typing import List, Optional


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if found:
        return found[-1]
    path = shutil.which(name)
    if not path:
        raise RuntimeError(f"{name} not found: install the postgresql package (tools/deps.sh)")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgServer:
    """initdb + pg_ctl on a free port; user 'lc' with password 'secret', database 'shop'."""

    user, password, db = "lc", "secret", "shop"

    def __init__(self, base: Path, logical: bool = False):
        self.base = base
        # wal_level=logical: for the CDC connector's replication slots (pg_hba's default lines
        # already let the bootstrap superuser open replication connections from 127.0.0.1).
        self.logical = logical
        self.data = base / "pgdata"
        self.port = free_port()
        self.as_user: List[str] = []
        if os.geteuid() == 0:  # initdb refuses to run as root
            self.as_user = ["runuser", "-u", "postgres", "--"]

    def _run(self, args: List[str], **kw) -> subprocess.CompletedProcess:
        return subprocess.run(self.as_user + args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=120, check=True, **kw)

    def start(self) -> "PgServer":
        self.base.mkdir(parents=True, exist_ok=True)
        if self.as_user:
            shutil.chown(self.base, "postgres")
            os.chmod(self.base, 0o755)
        pw = self.base / "pw"
        pw.write_text(self.password + "\n")
        if self.as_user:
            shutil.chown(pw, "postgres")
        self._run([_bin("initdb"), "-D", str(self.data), "-U", self.user, "--pwfile", str(pw),
                   "-A", "scram-sha-256", "-E", "UTF8", "--locale", "C"])
        self.pg_ctl("start")
        self.psql("CREATE DATABASE shop", db="postgres")
        return self

    def pg_ctl(self, action: str) -> None:
        args = [_bin("pg_ctl"), "-D", str(self.data), "-w", "-l", str(self.base / "pg.log")]
        if action in ("start", "restart"):
            opts = f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1"
            if self.logical:
                opts += " -c wal_level=logical -c max_replication_slots=40 -c max_wal_senders=40"
            args += ["-o", opts]
        if action in ("stop", "restart"):
            args += ["-m", "fast"]
        self._run(args + [action])

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self.pg_ctl("stop")

    def url(self) -> str:
        return f"jdbc:postgresql://127.0.0.1:{self.port}/{self.db}"

    def psql(self, sql: str, db: Optional[str] = None) -> List[List[str]]:
        """Runs sql; the rows of its last statement as lists of text ('' for NULL)."""
        env = dict(os.environ, PGPASSWORD=self.password)
        proc = subprocess.run([_bin("psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user,
                               "-d", db or self.db, "-X", "-q", "-A", "-t", "-F", "\t",
                               "-v", "ON_ERROR_STOP=1", "-c", sql], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=60)
        if proc.returncode != 0:
            raise RuntimeError(f"psql failed: {proc.stderr.decode(errors='replace')}")
        out = proc.stdout.decode()
        return [line.split("\t") for line in out.splitlines() if line != ""]
