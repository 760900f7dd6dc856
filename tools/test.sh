#!/usr/bin/env bash
# make test: build, unit + Lua specs, integration tests on a real Apache Kafka broker, then
# the same unit and integration tests on an AddressSanitizer + UBSan build. One broker
# serves both rounds. A sanitizer report anywhere fails the run. Last, each libFuzzer
# harness of tests/fuzz runs over its seed corpus plus 2000 mutations (tools/fuzz.sh --smoke).
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
jobs=$(nproc 2>/dev/null || echo 2)
werror=OFF
[ "${CI:-}" = true ] && werror=ON

passed=0
failed=0
step() { printf '\n==== %s\n' "$*"; }
result() { # name rc
  if [ "$2" -eq 0 ]; then passed=$((passed + 1)); echo "---- $1: ok"; else failed=$((failed + 1)); echo "---- $1: FAILED (exit $2)"; fi
}

work=$(mktemp -d /tmp/luaconnect-test.XXXXXX)
cleanup() {
  [ -f "$work/kafka/pid" ] && tests/kafka/kafka.sh stop "$work/kafka" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

step "build (warnings are errors: $werror)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLC_WERROR=$werror >/dev/null &&
  cmake --build build -j "$jobs" 2>&1 | grep -v '^\[' ; rc=${PIPESTATUS[0]}
result build "$rc"
[ "$rc" -eq 0 ] || { echo "0 passed, 1 failed"; exit 1; }

step "real Kafka broker (tests/kafka)"
if [ -z "${LC_KAFKA_BOOTSTRAP:-}" ]; then
  tests/kafka/kafka.sh deps && tests/kafka/kafka.sh start "$work/kafka"; rc=$?
  result kafka-start "$rc"
  [ "$rc" -eq 0 ] && export LC_KAFKA_BOOTSTRAP=$(cat "$work/kafka/bootstrap") \
    LC_KAFKA_SASL_BOOTSTRAP=$(cat "$work/kafka/sasl_bootstrap")
fi

py=$(tools/test_python.sh)
# The integration tests spend most of their time waiting (for the broker, for kill -9
# cycles, for timeouts), so two test files run at once (pytest-xdist, whole files to a
# worker so that a file's PostgreSQL, MariaDB or Connect fixture starts once); the release
# round took 21.4 min one at a time and 11.0 min so on 2 cores. LC_TEST_WORKERS=1 runs them
# one at a time.
pworkers=${LC_TEST_WORKERS:-2}
pytest_par=()
if [ "$pworkers" -gt 1 ] && "$py" -c 'import xdist' 2>/dev/null; then
  pytest_par=(-n "$pworkers" --dist loadfile)
fi

run_suite() { # label build-dir
  local label=$1 dir=$2
  step "$label: unit tests and Lua specs (ctest)"
  (cd "$dir" && ctest --output-on-failure -j "$jobs"); result "$label ctest" $?
  step "$label: integration tests (real Kafka at ${LC_KAFKA_BOOTSTRAP:-none})"
  LC_BIN="$root/$dir/luaconnect" "$py" -m pytest -q -p no:cacheprovider --durations=25 "${pytest_par[@]}" tests/integration
  result "$label integration" $?
}

run_suite release build

step "sanitizer build (-fsanitize=address,undefined)"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DLC_SANITIZE=ON -DLC_WERROR=$werror >/dev/null &&
  cmake --build build-asan -j "$jobs" 2>&1 | grep -v '^\['; rc=${PIPESTATUS[0]}
result asan-build "$rc"
if [ "$rc" -eq 0 ]; then
  mkdir -p "$work/san"
  export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:log_path=$work/san/asan:suppressions=$root/tests/asan.supp"
  export LSAN_OPTIONS="suppressions=$root/tests/lsan.supp:print_suppressions=0"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$work/san/ubsan"
  export LC_SANITIZER=1
  run_suite asan build-asan
  if ls "$work/san"/* >/dev/null 2>&1; then
    echo "sanitizer reports:"; cat "$work/san"/*
    result sanitizer-reports 1
  else
    result sanitizer-reports 0
  fi
fi

# Its own ASAN_OPTIONS: the harnesses must abort on a finding, not log to $work/san.
step "fuzz harnesses: seed corpus + ${FUZZ_RUNS:-2000} runs each (tools/fuzz.sh --smoke)"
env -u ASAN_OPTIONS -u LSAN_OPTIONS -u UBSAN_OPTIONS tools/fuzz.sh --smoke
result fuzz-smoke $?

echo
echo "test suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
