#!/usr/bin/env bash
# The file pipeline demo: input.txt -> file source -> Kafka (embedded, in memory) -> file
# sink -> output.txt. Run it with `make demo`, or directly once luaconnect is built.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${LC_BIN:-$here/../../build/luaconnect}
[ -x "$bin" ] || { echo "run.sh: $bin not built (run make)" >&2; exit 1; }
work=$(mktemp -d /tmp/luaconnect-demo.XXXXXX)
cp "$here"/*.properties "$work"/
cd "$work"
say() { printf '\n\033[1m%s\033[0m\n' "$*"; }
wait_lines() { # file count seconds
  for _ in $(seq 1 $(( $3 * 10 ))); do
    [ -f "$1" ] && [ "$(wc -l < "$1")" -ge "$2" ] && return 0
    sleep 0.1
  done
  echo "demo: $1 did not reach $2 lines; worker log:" >&2; tail -20 worker.log >&2; return 1
}

printf 'hello from luaconnect\nline two: "quotes", backslash \\ and UTF-8 é 中文\nline three\n' > input.txt
say "1. input.txt has 3 lines; starting the worker on an embedded broker:"
echo "   $bin standalone --embedded-kafka worker.properties file-source.properties file-sink.properties"
"$bin" standalone --embedded-kafka worker.properties file-source.properties file-sink.properties > worker.log 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do grep -q '^embedded Kafka at' worker.log && break; sleep 0.1; done
broker=$(sed -n 's/^embedded Kafka at //p' worker.log)
echo "   $(grep '^embedded Kafka at' worker.log)   (in memory: gone when the worker stops)"

wait_lines output.txt 3 30
say "2. The 3 lines went through Kafka topic demo-lines into output.txt:"
sed 's/^/   | /' output.txt

say "3. Appending a line to input.txt while the pipeline runs..."
start=$(date +%s%N)
echo "appended at $(date +%T)" >> input.txt
wait_lines output.txt 4 30
echo "   it reached output.txt after $(( ($(date +%s%N) - start) / 1000000 )) ms:"
tail -1 output.txt | sed 's/^/   | /'

if command -v kcat >/dev/null; then
  say "4. What Kafka holds (kcat -C -t demo-lines): Kafka Connect's JSON envelope"
  kcat -q -b "$broker" -C -t demo-lines -o beginning -e 2>/dev/null | sed 's/^/   /'
fi

say "5. Stopping with SIGINT: the worker flushes, commits offsets and exits 0"
kill -INT $pid
wait $pid && rc=0 || rc=$?
trap - EXIT
grep -E 'task (RUNNING|STOPPED)|worker stopped' worker.log | sed 's/^/   /'
echo "   exit status $rc; committed source offset (Kafka Connect's format, in SQLite):"
command -v sqlite3 >/dev/null && sqlite3 demo.offsets.db 'select key, value from offsets' | sed 's/^/   /'
say "Done. Files are in $work (worker.log has the full log)."
exit $rc
