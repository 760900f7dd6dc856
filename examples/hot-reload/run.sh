#!/usr/bin/env bash
# The hot reload demo: a file pipeline created over the REST API, whose transform script is
# edited (once well, once broken, once fixed) while records flow. Runs on the embedded broker.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${LC_BIN:-$here/../../build/luaconnect}
port=${LC_DEMO_PORT:-8083}
[ -x "$bin" ] || { echo "run.sh: $bin not built (run make)" >&2; exit 1; }
command -v curl >/dev/null || { echo "run.sh: needs curl" >&2; exit 1; }
work=$(mktemp -d /tmp/luaconnect-reload.XXXXXX)
cp -r "$here"/worker.properties "$here"/plugins "$work"/
cd "$work"
sed -i "s/^listeners=.*/listeners=http:\/\/127.0.0.1:$port/" worker.properties
api="http://127.0.0.1:$port"
say() { printf '\n\033[1m%s\033[0m\n' "$*"; }
wait_lines() { # file count seconds
  for _ in $(seq 1 $(( $3 * 10 ))); do
    [ -f "$1" ] && [ "$(wc -l < "$1")" -ge "$2" ] && return 0
    sleep 0.1
  done
  echo "demo: $1 did not reach $2 lines; worker log:" >&2; tail -20 worker.log >&2; return 1
}
wait_log() { # pattern count seconds
  for _ in $(seq 1 $(( $3 * 10 ))); do
    [ "$(grep -c "$1" worker.log || true)" -ge "$2" ] && return 0
    sleep 0.1
  done
  echo "demo: no '$1' in the worker log:" >&2; tail -20 worker.log >&2; return 1
}
json() { curl -sS -H 'Content-Type: application/json' "$@"; echo; }

touch input.txt
say "1. A worker with no connectors yet, with the REST API:"
"$bin" standalone --embedded-kafka worker.properties > worker.log 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
wait_log 'REST API listening' 1 10
api=$(sed -n 's/.*REST API listening on \(http:[^ ]*\)\/.*/\1/p' worker.log | head -1)  # port 0: the one it got
json "$api/"

say "2. Creating the pipeline over REST (POST /connectors, PUT /connectors/lines-out/config)"
json -X POST "$api/connectors" -d '{"name": "lines-in", "config": {
  "connector.class": "FileStreamSource", "file": "input.txt", "topic": "lines",
  "transforms": "stamp", "transforms.stamp.type": "stamp"}}' | sed 's/^/   /'
json -X PUT "$api/connectors/lines-out/config" -d '{"connector.class": "FileStreamSink",
  "file": "output.txt", "topics": "lines"}' | sed 's/^/   /'
echo "first line" >> input.txt
wait_lines output.txt 1 30
sed 's/^/   | /' output.txt

say "3. Editing plugins/stamp.lua (v1 -> v2) while it runs"
sed -i 's/\[v1\]/[v2]/' plugins/stamp.lua
wait_log "connector 'lines-in': reloaded" 1 10
grep "connector 'lines-in': reloaded" worker.log | tail -1 | sed 's/^/   /'
echo "second line" >> input.txt
wait_lines output.txt 2 30
tail -1 output.txt | sed 's/^/   | /'

say "4. Saving a broken version: the old code keeps running, the status says why"
printf 'return connect.transform {\n  apply = function(record\n' > plugins/stamp.lua
wait_log 'reload failed' 1 10
curl -sS "$api/connectors/lines-in/status?expand=scripts" | sed 's/^/   /'; echo
echo "third line" >> input.txt
wait_lines output.txt 3 30
tail -1 output.txt | sed 's/^/   | /'

say "5. Fixing it (v3): the next save reloads normally"
cp "$here/plugins/stamp.lua" plugins/stamp.lua
sed -i 's/\[v1\]/[v3]/' plugins/stamp.lua
wait_log "connector 'lines-in': reloaded" 2 10
echo "fourth line" >> input.txt
wait_lines output.txt 4 30
tail -1 output.txt | sed 's/^/   | /'

say "6. Stopping with SIGINT"
kill -INT $pid
wait $pid && rc=0 || rc=$?
trap - EXIT
echo "   exit status $rc"
say "output.txt: every line once, stamped by the version that was running"
sed 's/^/   | /' output.txt
say "Done. Files are in $work (worker.log has the full log)."
exit $rc
