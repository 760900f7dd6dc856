"""The demos a newcomer runs first (`make demo` runs sqlite-pipeline) must keep working:
each script runs on the embedded broker and must end cleanly with the data in place."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import luaconnect_bin

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run_demo(name: str, **extra_env: str) -> str:
    env = dict(os.environ, LC_BIN=str(luaconnect_bin()), **extra_env)
    p = subprocess.run([str(EXAMPLES / name / "run.sh")], env=env, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    out = p.stdout.decode(errors="replace")
    assert p.returncode == 0, out
    return out


def test_make_demo_sqlite_pipeline():
    out = run_demo("sqlite-pipeline")
    assert "embedded Kafka at 127.0.0.1:" in out
    assert "it reached replica.db after" in out
    assert out.count("carol") >= 2  # in the replica table and in the topic
    assert '"payload":{"id":3,"name":"carol"}' in out
    assert "exit status 0" in out
    assert '{"protocol":"1","table":"accounts"}]|{"incrementing":3}' in out


def test_file_pipeline_demo():
    out = run_demo("file-pipeline")
    assert "it reached output.txt after" in out
    assert '{"schema":{"type":"string","optional":false},"payload":"hello from luaconnect"}' in out
    assert "exit status 0" in out


def test_hot_reload_demo():
    # Port 0, not 8083: the test must not depend on a free well-known port.
    out = run_demo("hot-reload", LC_DEMO_PORT="0")
    assert '"kafka_cluster_id":"mockCluster' in out
    assert "reload failed: plugins/stamp.lua:3:" in out
    assert out.rstrip().count("| [v") >= 8  # 4 lines shown as they arrive, 4 at the end
    tail = out[out.index("every line once"):]
    assert ["[v1] first line", "[v2] second line", "[v2] third line", "[v3] fourth line"] == \
        [line.split("| ", 1)[1] for line in tail.splitlines() if "| [v" in line]
    assert "exit status 0" in out



def test_db_to_lake_demo():
    # the demo queries with DuckDB from the Python that runs the tests (the test venv's)
    out = run_demo("db-to-lake", PYTHON=sys.executable)
    for day, first, last in (("01", 0, 1), ("02", 2, 3), ("03", 4, 5)):
        assert (f"lake/shop-orders/year=2024/month=03/day={day}/"
                f"shop-orders+0+{first:010d}+{last:010d}.csv") in out
    assert "| id,region,amount,created_at\n   | 1,eu,10,1709251200000\n   | 2,us,25,1709280000000\n" in out
    try:
        import duckdb  # noqa: F401
    except ImportError:
        return
    assert "| ('01', 2, 35)\n   | ('02', 2, 10)\n   | ('03', 2, 55)" in out


@pytest.mark.skipif(os.environ.get("LC_SANITIZER") == "1",
                    reason="libmariadb's init leaks 224 bytes LeakSanitizer reports (see test_jdbc_mysql)")
def test_postgres_to_mysql_demo():
    out = run_demo("postgres-to-mysql")
    assert "warehouse.orders in MariaDB (created by the sink):" in out
    assert "| 1\tada\t12.50\tnew\n   | 2\tgrace\t99.95\tnew\n   | 3\tlinus\t7.00\tnew\n" in out
    tail = out[out.index("it reached MariaDB after"):]
    assert "| 2\tgrace\t99.95\tpaid\n" in tail and "| 4\tmargaret\t42.00\tnew\n" in tail
    assert "exit status 0" in out
    assert '["orders-from-postgres",{"protocol":"1","table":"shop.public.orders"}]|{"incrementing":4,' in out
