#!/usr/bin/env bash
# make bench: luaconnect side by side with Apache Kafka Connect standalone on the real test
# broker, plus luaconnect's micro-benchmarks. Writes bench/results/latest.md (table, machine,
# settings), latest.json (every run) and ratios.png. docs/benchmarks.md explains the figures.
#
# Environment:
#   BENCH_ROUNDS        rounds of every pipeline on each worker (default 3)
#   BENCH_RECORDS       records per pipeline run (default 1000000)
#   BENCH_CONNECT_HEAP  Kafka Connect's JVM heap (default -Xms256M -Xmx2G, as connect-standalone.sh)
#   BENCH_OUT           where the results go (default bench/results)
#   LC_KAFKA_BOOTSTRAP  use this broker instead of starting one
#   LC_BIN              the luaconnect binary (default build/luaconnect)
#   BENCH_NO_CONNECT=1  luaconnect and the kcat anchor only (no Kafka Connect runs, no ratios)
#   BENCH_NOTE          a paragraph printed under latest.md's title (e.g. why a run is reduced)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$(mktemp -d /tmp/luaconnect-bench.XXXXXX)
trap 'tests/kafka/kafka.sh stop "$work/kafka" >/dev/null 2>&1; rm -rf "$work"' EXIT

# Kafka Connect's jars from Maven Central, resolved once per pom into the cache
# (tests/kafka/connect_jars.py; the integration tests that run Connect use it too).
connect_lib=$(python3 tests/kafka/connect_jars.py)

if [ -z "${LC_KAFKA_BOOTSTRAP:-}" ]; then
  tests/kafka/kafka.sh deps
  tests/kafka/kafka.sh start "$work/kafka"
  LC_KAFKA_BOOTSTRAP=$(cat "$work/kafka/bootstrap")
fi
bin=${LC_BIN:-$root/build/luaconnect}
records=${BENCH_RECORDS:-1000000}
note=()
if [ -n "${BENCH_NOTE:-}" ]; then note=(--note "$BENCH_NOTE"); fi

# Micro-benchmarks: the C ones are built here, as their headers say (not part of CMake):
# bench_codec against the codec's files (lua/*.c but the bridge and the *_api.c bindings),
# bench_boundary against all of lua/ (it reads records through lua/source_api.c and
# lua/sink_api.c, which link the bridge).
codec_src=$(ls lua/*.c | grep -v -e '/bridge\.c$' -e '_api\.c$')
# shellcheck disable=SC2086
gcc -std=c11 -D_GNU_SOURCE -O2 -Ilua $(pkg-config --cflags luajit) bench/bench_codec.c $codec_src \
  $(pkg-config --libs luajit rdkafka) -lm -o "$work/bench_codec"
# shellcheck disable=SC2046
gcc -std=c11 -D_GNU_SOURCE -DLC_VERSION='"bench"' -O2 -Ilua $(pkg-config --cflags luajit) \
  bench/bench_boundary.c lua/*.c $(pkg-config --libs luajit rdkafka) -lm -ldl \
  -o "$work/bench_boundary"
echo "bench: micro-benchmarks"
"$bin" lua bench/chain.lua "$records" | tee "$work/chain.txt"
"$work/bench_codec" "$records" | tee "$work/codec.txt"
"$work/bench_boundary" "$records" | tee "$work/boundary.txt"
# What the metrics cost: the source pipeline with /metrics scraped never, every 1 s, every 100 ms
python3 bench/metrics_cost.py --bootstrap "$LC_KAFKA_BOOTSTRAP" --binary "$bin" \
  --records "$records" --rounds 3 | tee "$work/metrics_cost.txt"

python3 bench/compare.py --bootstrap "$LC_KAFKA_BOOTSTRAP" --binary "$bin" \
  --connect-lib "$connect_lib" --rounds "${BENCH_ROUNDS:-3}" --records "$records" \
  --out "${BENCH_OUT:-bench/results}" ${BENCH_NO_CONNECT:+--no-connect} "${note[@]}" \
  --micro "Lua transform chain (build/luaconnect lua bench/chain.lua)=$work/chain.txt" \
  --micro "JsonConverter both directions (bench/bench_codec.c)=$work/codec.txt" \
  --micro "C/Lua batch boundary (bench/bench_boundary.c)=$work/boundary.txt" \
  --micro "Metrics cost (bench/metrics_cost.py)=$work/metrics_cost.txt"
