#!/usr/bin/env bash
# make bench-distributed / make bench-eos / make bench-lake / make bench-http / make bench-jdbc /
# make bench-cdc: runs bench/<name>.py (cdc.py: PostgreSQL CDC beside Debezium, results in cdc.md)
# (distributed.py, eos.py, lake.py or http_bench.py, which results in http.md) on the real test broker, the first two beside Apache Kafka Connect 4.x in
# distributed mode (lake.py, http_bench.py: luaconnect alone; they ignore --sides). Results go to
# bench/results/<name>.md and .json.
#
# Environment:
#   BENCH_RECORDS       records per pipeline run (default 1000000)
#   BENCH_CONNECT_HEAP  Kafka Connect's JVM heap (default -Xms256M -Xmx2G, as connect-distributed.sh)
#   BENCH_SIDES         luaconnect,connect (default both)
#   BENCH_OUT           where the results go (default bench/results)
#   LC_KAFKA_BOOTSTRAP  use this broker instead of starting one
#   LC_BIN              the luaconnect binary (default build/luaconnect)
set -euo pipefail
cd "$(dirname "$0")/.."
name=${1:?usage: bench/cluster_run.sh distributed|eos|lake|http_bench|jdbc|cdc}
work=$(mktemp -d /tmp/luaconnect-bench-$name.XXXXXX)
trap 'tests/kafka/kafka.sh stop "$work/kafka" >/dev/null 2>&1; rm -rf "$work"' EXIT

# Kafka Connect's jars from Maven Central, resolved once into the cache (as make bench does).
case $name in lake | http_bench | jdbc) ;; *) python3 tests/kafka/connect_jars.py >/dev/null ;; esac
if [ -z "${LC_KAFKA_BOOTSTRAP:-}" ]; then
  tests/kafka/kafka.sh deps
  tests/kafka/kafka.sh start "$work/kafka"
  LC_KAFKA_BOOTSTRAP=$(cat "$work/kafka/bootstrap")
fi
python3 "bench/$name.py" --bootstrap "$LC_KAFKA_BOOTSTRAP" --binary "${LC_BIN:-build/luaconnect}" \
  --records "${BENCH_RECORDS:-1000000}" --sides "${BENCH_SIDES:-luaconnect,connect}" \
  --out "${BENCH_OUT:-bench/results}"
