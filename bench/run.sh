#!/usr/bin/env bash
# make bench: starts the real test broker and runs the benchmarks, printing figures.
# (Side-by-side runs against Apache Kafka Connect are not here yet.)
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d /tmp/luaconnect-bench.XXXXXX)
trap 'tests/kafka/kafka.sh stop "$work/kafka" >/dev/null 2>&1; rm -rf "$work"' EXIT
if [ -z "${LC_KAFKA_BOOTSTRAP:-}" ]; then
  tests/kafka/kafka.sh deps
  tests/kafka/kafka.sh start "$work/kafka"
  LC_KAFKA_BOOTSTRAP=$(cat "$work/kafka/bootstrap")
fi
build/luaconnect lua bench/chain.lua "${BENCH_RECORDS:-1000000}"
python3 bench/file_to_kafka.py "$LC_KAFKA_BOOTSTRAP" "${BENCH_LINES:-1000000}"
python3 bench/sqlite_to_kafka.py "$LC_KAFKA_BOOTSTRAP" "${BENCH_ROWS:-1000000}"
