#!/usr/bin/env bash
# Installs the Debian packages the build, the demo and the tests need, when missing.
# Safe to run again: it only installs what is not there. Needs root (or sudo) for apt-get.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  librdkafka-dev libluajit-5.1-dev luajit libsqlite3-dev sqlite3 libjansson-dev libmicrohttpd-dev
  kcat clang-format openssl libcurl4-openssl-dev libssl-dev
  # partitioned_sink's timezone ids (America/New_York ...): the tz database, /usr/share/zoneinfo
  tzdata
  # the JDBC connectors' PostgreSQL dialect (libpq over FFI) and its tests' own server
  libpq5 libpq-dev postgresql
  # ... and its MySQL/MariaDB dialect (libmariadb over FFI) and that test server
  libmariadb3 libmariadb-dev mariadb-server mariadb-client
  # tests: a real Kafka broker runs on Java 17 with jars from Maven Central
  openjdk-17-jdk-headless maven python3 python3-pytest
  # tests/integration/test_metrics.py: promtool check metrics
  prometheus
  # make bench: the ratio chart
  gnuplot-nox
  # tests/fuzz (make fuzz, make test): clang, and libFuzzer + sanitizer runtimes, which
  # clang-14 only recommends
  clang libclang-rt-14-dev
  # tests/integration/test_console.py: the web console in a real browser (Playwright for
  # Python, pip-installed into the test venv by tools/test_python.sh, drives this Chromium;
  # it downloads no browser of its own)
  chromium python3-venv
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# A JDK or Maven installed outside Debian's packages (e.g. in the machine image) will do.
filtered=()
for p in "${missing[@]}"; do
  case "$p" in
    python3-venv) python3 -c 'import ensurepip, venv' 2>/dev/null && continue ;;
    openjdk-17-jdk-headless) command -v java >/dev/null && java -version 2>&1 | grep -q '"1[7-9]\|"2[0-9]' && continue ;;
    maven) command -v mvn >/dev/null && continue ;;
    python3-pytest) python3 -c 'import pytest' 2>/dev/null && continue ;;
    python3) command -v python3 >/dev/null && continue ;;
    prometheus) command -v promtool >/dev/null && continue ;;
  esac
  filtered+=("$p")
done

if [ ${#filtered[@]} -gt 0 ]; then
  echo "deps: installing ${filtered[*]}"
  SUDO=
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { echo "deps: need root to run: apt-get install ${filtered[*]}" >&2; exit 1; }
    SUDO=sudo
  fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${filtered[@]}" >/dev/null
  echo "deps: done"
fi

# The test venv and the PyPI test tools in it (tools/test_python.sh).
"$(dirname "$0")/test_python.sh" >/dev/null
