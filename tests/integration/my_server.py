"""A throwaway MariaDB server for the JDBC tests: mariadb-install-db into a temporary
directory and mariadbd on a free port with its own socket (Debian's mariadb-server package),
stopped afterwards. Nothing depends on a server already running on the machine."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import List, Optional

from pg_server import free_port


class MyServer:
    """mariadbd on a free port; user 'lc' with password 'secret', database 'shop'."""

    user, password, db = "lc", "secret", "shop"

    def __init__(self, base: Path):
        self.base = base
        self.data = base / "data"
        self.sock = base / "mysqld.sock"
        self.port = free_port()
        self.proc: Optional[subprocess.Popen] = None
        self.as_root = ["--user=root"] if os.geteuid() == 0 else []

    def start(self) -> "MyServer":
        self.base.mkdir(parents=True, exist_ok=True)
        subprocess.run(["mariadb-install-db", "--no-defaults", f"--datadir={self.data}",
                        "--auth-root-authentication-method=socket", "--skip-test-db"] + self.as_root,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=180, check=True)
        self.launch()
        self.client(f"CREATE DATABASE {self.db}; CREATE USER '{self.user}'@'%' IDENTIFIED BY "
                    f"'{self.password}'; GRANT ALL ON *.* TO '{self.user}'@'%'", root=True)
        return self

    def launch(self) -> None:
        self.log = open(self.base / "mariadbd.log", "ab")
        self.proc = subprocess.Popen(["mariadbd", "--no-defaults", f"--datadir={self.data}",
                                      f"--socket={self.sock}", f"--port={self.port}",
                                      "--bind-address=127.0.0.1", "--skip-name-resolve",
                                      "--character-set-server=utf8mb4", "--collation-server=utf8mb4_general_ci",
                                      f"--pid-file={self.base / 'mariadbd.pid'}"] + self.as_root,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while time.time() < deadline:
            if subprocess.run(["mariadb-admin", "--no-defaults", f"--socket={self.sock}", "-uroot", "ping"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0:
                return
            time.sleep(0.2)
        raise RuntimeError("mariadbd did not start: " + (self.base / "mariadbd.log").read_text())

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(60)
            self.log.close()

    def url(self) -> str:
        return f"jdbc:mariadb://127.0.0.1:{self.port}/{self.db}"

    def client(self, sql: str, root: bool = False) -> List[List[str]]:
        """Runs sql; the rows of its output as lists of text ('NULL' for NULL)."""
        args = ["mariadb", "--no-defaults", "--default-character-set=utf8mb4", "-N", "-B"]
        if root:
            args += [f"--socket={self.sock}", "-uroot"]
        else:
            args += ["-h", "127.0.0.1", "-P", str(self.port), "-u", self.user, f"-p{self.password}", self.db]
        proc = subprocess.run(args + ["-e", sql], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        if proc.returncode != 0:
            raise RuntimeError(f"mariadb failed: {proc.stderr.decode(errors='replace')}")
        return [line.split("\t") for line in proc.stdout.decode().splitlines()]
