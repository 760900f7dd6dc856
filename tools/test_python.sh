#!/usr/bin/env bash
# Prints the Python that runs the integration tests: a venv of the project's own
# (${LC_VENV:-$HOME/.cache/luaconnect/venv}, made on first use with the system's site
# packages, so Debian's pytest is seen) holding the test tools that come from PyPI:
# Playwright, which drives the system's Chromium in tests/integration/test_console.py and
# downloads no browser, DuckDB, which queries the partitioned sink's files in
# tests/integration/test_partitioned_sink.py, and pytest-xdist, with which tools/test.sh runs
# two integration test files at once. When the venv cannot be made (no network on first use), it prints
# python3 and says why on stderr; the browser tests then skip, naming the reason.
set -uo pipefail
venv=${LC_VENV:-$HOME/.cache/luaconnect/venv}
if [ ! -x "$venv/bin/python" ]; then
  mkdir -p "$(dirname "$venv")"
  if ! python3 -m venv --system-site-packages "$venv" >&2; then
    echo "test_python: cannot make the test venv at $venv; using python3" >&2
    rm -rf "$venv"
    echo python3
    exit 0
  fi
fi
for pkg in playwright duckdb pytest-xdist; do
  mod=$pkg
  [ "$pkg" = pytest-xdist ] && mod=xdist
  if ! "$venv/bin/python" -c "import $mod" 2>/dev/null; then
    echo "test_python: pip install $pkg into $venv" >&2
    "$venv/bin/python" -m pip install -q "$pkg" >&2 ||
      echo "test_python: pip install $pkg failed; the tests that need it will skip (pytest-xdist: the integration tests run one at a time)" >&2
  fi
done
echo "$venv/bin/python"
