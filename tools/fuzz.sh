#!/usr/bin/env bash
# make fuzz and the fuzz step of make test: builds the libFuzzer harnesses of tests/fuzz with
# clang (-fsanitize=fuzzer,address,undefined) in build-fuzz and runs them. See docs/fuzzing.md.
#
#   tools/fuzz.sh [TARGET...]          each target for FUZZ_SECONDS (180) seconds, growing the
#                                      work corpus build-fuzz/fuzz-corpus/TARGET; prints execs/s
#                                      and findings (saved in build-fuzz/fuzz-findings/TARGET)
#   tools/fuzz.sh --smoke [TARGET...]  each target over its seed corpus, then FUZZ_RUNS (2000)
#                                      mutations with a fixed seed: quick, repeatable (make test)
#
# TARGET is a harness name without "fuzz_" (props, json_decode, ...); default: all of them.
# Exit status: 0 when no target found anything, 1 otherwise (2: the build failed).
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
build=${FUZZ_BUILD:-build-fuzz}
case $build in /*) ;; *) build="$root/$build" ;; esac
seconds=${FUZZ_SECONDS:-180}
runs=${FUZZ_RUNS:-2000}
jobs=$(nproc 2>/dev/null || echo 2)
werror=OFF
[ "${CI:-}" = true ] && werror=ON

smoke=0
if [ "${1:-}" = --smoke ]; then
  smoke=1
  shift
fi

command -v clang >/dev/null || { echo "fuzz: clang not found (tools/deps.sh installs it)" >&2; exit 2; }
# Two runs at once (e.g. two targets in two terminals) must not build at the same time.
mkdir -p "$build"
exec 9>"$build/.fuzz-build.lock"
flock 9
cmake -S . -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLC_FUZZ=ON \
  -DLC_WERROR=$werror >/dev/null &&
  cmake --build "$build" -j "$jobs" --target fuzzers 2>&1 | grep -v '^\['
[ "${PIPESTATUS[0]}" -eq 0 ] || { echo "fuzz: build failed" >&2; exit 2; }
flock -u 9

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in tests/fuzz/fuzz_*.c; do
    t=$(basename "$f" .c)
    targets+=("${t#fuzz_}")
  done
fi

# LuaJIT keeps process-lifetime allocations (tests/lsan.supp); a finding must stop the run.
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$root/tests/lsan.supp:print_suppressions=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

failed=0
summary=()
for t in "${targets[@]}"; do
  bin="$build/tests/fuzz/fuzz_$t"
  seeds="$root/tests/fuzz/corpus/$t"
  [ -x "$bin" ] || { echo "fuzz: no harness fuzz_$t" >&2; failed=1; continue; }
  [ -d "$seeds" ] || { echo "fuzz: no seed corpus $seeds" >&2; failed=1; continue; }
  findings="$build/fuzz-findings/$t"
  log="$build/fuzz-$t.log"
  mkdir -p "$findings"
  if [ $smoke -eq 1 ]; then
    # New inputs go to a scratch directory, never into the committed seeds.
    corpus="$build/fuzz-smoke/$t"
    rm -rf "$corpus"
    nseeds=$(find "$seeds" -type f | wc -l)
    args=(-runs=$((nseeds + runs)) -seed=1)
  else
    corpus="$build/fuzz-corpus/$t"
    args=(-max_total_time="$seconds")
  fi
  mkdir -p "$corpus"
  dict="$root/tests/fuzz/dict/$t.dict"
  [ -f "$dict" ] && args+=(-dict="$dict")
  before=$(find "$findings" -type f | wc -l)
  start=$(date +%s.%N)
  # Absolute paths: fuzz_plugins changes its working directory.
  "$bin" "${args[@]}" -timeout=10 -print_final_stats=1 -artifact_prefix="$findings/" \
    "$corpus" "$seeds" >"$log" 2>&1
  rc=$?
  took=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  after=$(find "$findings" -type f | wc -l)
  found=$((after - before))
  [ $rc -ne 0 ] && [ $found -eq 0 ] && found=1 # a failure that left no input is one too
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  # libFuzzer's rate is whole seconds; a smoke run takes less than one.
  if [ $smoke -eq 1 ]; then
    line=$(printf '%-12s %10s execs in %5ss  %d finding(s)' "$t" "${execs:-?}" "$took" "$found")
  else
    line=$(printf '%-12s %10s execs %7s execs/s  %d finding(s)' "$t" "${execs:-?}" "${rate:-?}" "$found")
  fi
  summary+=("$line")
  echo "$line"
  if [ $found -ne 0 ]; then
    failed=1
    grep -a -m1 -E 'property broken|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error' "$log" | sed 's/^/    /'
    echo "    log: $log; inputs: $findings/"
  fi
done

echo
echo "fuzz summary ($([ $smoke -eq 1 ] && echo "smoke: seeds + $runs runs" || echo "${seconds}s each")):"
printf '  %s\n' "${summary[@]}"
exit $failed
