#!/usr/bin/env python3
"""Apache Kafka Connect's jars from Maven Central, resolved once per pom into a cache.

The pom is bench/connect/pom.xml (connect-runtime, connect-file, connect-json,
connect-transforms 4.3.1 and log4j2). `make bench` (bench/run.sh) and the integration tests
that run Connect (tests/integration/connect_java.py) both call this, so both use the same
jars and resolve them once.

    python3 tests/kafka/connect_jars.py            resolves if needed; prints the lib directory
    python3 tests/kafka/connect_jars.py debezium   the same for Debezium's PostgreSQL plugin:
                                                   prints the plugin directory for plugin.path

Debezium's PostgreSQL connector is installed as its users install it: the plugin archive
io.debezium:debezium-connector-postgres:<version>:tar.gz:plugin from Maven, unpacked into a
directory that Connect's plugin.path names (debezium_plugin()).

Environment:
  LC_CONNECT_CACHE  cache directory (default ~/.cache/luaconnect/connect); the jars go to
                    its lib/, lib.stamp holds the sha256 of the pom they came from
  LC_MVN_ARGS       extra Maven arguments (e.g. -Dmaven.repo.local=...)
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shlex
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
POM = REPO_ROOT / "bench" / "connect" / "pom.xml"


def cache_dir() -> Path:
    """$LC_CONNECT_CACHE, else ~/.cache/luaconnect/connect."""
    env = os.environ.get("LC_CONNECT_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "luaconnect" / "connect"


def _pom_hash() -> str:
    return hashlib.sha256(POM.read_bytes()).hexdigest()


def resolved() -> Path | None:
    """The lib directory if the jars of the current pom are already there, else None
    (never runs Maven)."""
    lib = cache_dir() / "lib"
    stamp = cache_dir() / "lib.stamp"
    try:
        if stamp.read_text().strip() == _pom_hash() and lib.is_dir():
            return lib
    except OSError:
        pass
    return None


def connect_lib(log=sys.stderr) -> Path:
    """The directory holding Connect's jars, resolving them with Maven first when the cache
    is missing or came from another pom. Concurrent callers are serialised by a lock file.
    Raises RuntimeError naming the Maven output when resolution fails."""
    cache = cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        lib = resolved()
        if lib:
            return lib
        if not shutil.which("mvn"):
            raise RuntimeError("mvn not found (tools/deps.sh installs maven)")
        lib = cache / "lib"
        tmp = cache / f"lib.tmp.{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        print(f"connect_jars: resolving Kafka Connect's jars with Maven into {lib}", file=log,
              flush=True)
        cmd = (["mvn", "-B", "-q", "-Dstyle.color=never", "-f", str(POM)]
               + shlex.split(os.environ.get("LC_MVN_ARGS", ""))
               + ["dependency:copy-dependencies", "-DincludeScope=runtime",
                  f"-DoutputDirectory={tmp}"])
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT)
        if proc.returncode != 0 or not any(tmp.glob("connect-runtime-*.jar")):
            shutil.rmtree(tmp, ignore_errors=True)
            raise RuntimeError(f"Maven could not resolve Kafka Connect's jars from {POM} "
                               f"(exit {proc.returncode}):\n"
                               f"{proc.stdout.decode(errors='replace')[-4000:]}")
        shutil.rmtree(lib, ignore_errors=True)
        tmp.rename(lib)
        (cache / "lib.stamp").write_text(_pom_hash() + "\n")
        return lib


def connect_version(lib: Path) -> str:
    """The connect-runtime version found in lib ("4.3.1"), or "?"."""
    for f in sorted(os.listdir(lib)):
        if f.startswith("connect-runtime-") and f.endswith(".jar"):
            return f[len("connect-runtime-"):-4]
    return "?"


DEBEZIUM_VERSION = "3.6.1.Final"
DEBEZIUM_ARTIFACT = f"io.debezium:debezium-connector-postgres:{DEBEZIUM_VERSION}:tar.gz:plugin"


def debezium_resolved() -> Path | None:
    """The plugin.path directory holding debezium-connector-postgres/ if it is unpacked in
    the cache already, else None (never runs Maven)."""
    d = cache_dir() / f"debezium-{DEBEZIUM_VERSION}"
    if any((d / "debezium-connector-postgres").glob("debezium-connector-postgres-*.jar")):
        return d
    return None


def debezium_plugin(log=sys.stderr) -> Path:
    """A directory to put on Connect's plugin.path: it holds debezium-connector-postgres/,
    the unpacked plugin archive of DEBEZIUM_ARTIFACT, fetched with Maven once into the cache.
    Raises RuntimeError naming the Maven output when resolution fails."""
    cache = cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = debezium_resolved()
        if done:
            return done
        if not shutil.which("mvn"):
            raise RuntimeError("mvn not found (tools/deps.sh installs maven)")
        dest = cache / f"debezium-{DEBEZIUM_VERSION}"
        tmp = cache / f"debezium.tmp.{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        print(f"connect_jars: fetching {DEBEZIUM_ARTIFACT} with Maven into {dest}", file=log,
              flush=True)
        cmd = (["mvn", "-B", "-q", "-Dstyle.color=never"]
               + shlex.split(os.environ.get("LC_MVN_ARGS", ""))
               + ["org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy",
                  f"-Dartifact={DEBEZIUM_ARTIFACT}", f"-DoutputDirectory={tmp}"])
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, cwd=cache)
        archives = list(tmp.glob("*.tar.gz"))
        if proc.returncode != 0 or not archives:
            shutil.rmtree(tmp, ignore_errors=True)
            raise RuntimeError(f"Maven could not fetch {DEBEZIUM_ARTIFACT} (exit {proc.returncode}):\n"
                               f"{proc.stdout.decode(errors='replace')[-4000:]}")
        with tarfile.open(archives[0]) as tar:
            tar.extractall(tmp / "plugins", filter="data")
        shutil.rmtree(dest, ignore_errors=True)
        (tmp / "plugins").rename(dest)
        shutil.rmtree(tmp, ignore_errors=True)
        return dest


if __name__ == "__main__":
    try:
        if sys.argv[1:] == ["debezium"]:
            print(debezium_plugin())
            sys.exit(0)
        print(connect_lib())
    except RuntimeError as e:
        sys.exit(f"connect_jars: {e}")
