#!/usr/bin/env bash
# Three luaconnect workers on this machine forming one distributed cluster against a real
# Kafka broker, a file pipeline created through worker 1 and looked at through workers 2 and 3.
#
#   BOOTSTRAP=broker:9092 examples/distributed/run.sh
#
# Environment:
#   BOOTSTRAP  the broker (required)
#   LC_BIN     the luaconnect binary (default build/luaconnect)
#   GROUP      group.id (default connect-cluster-$USER-$$: a new cluster with its own topics
#              each run; set it to reuse one, or to take over a Kafka Connect cluster's)
# Ctrl-C stops the three workers (each flushes and commits its offsets).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${LC_BIN:-$root/build/luaconnect}
: "${BOOTSTRAP:?set BOOTSTRAP=host:port of your Kafka broker}"
group=${GROUP:-connect-cluster-${USER:-user}-$$}
work=$(mktemp -d /tmp/luaconnect-distributed.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  echo "workers stopped; logs and files in $work"
}
trap cleanup EXIT INT TERM

for i in 1 2 3; do
  sed -e "s|^bootstrap.servers=.*|bootstrap.servers=$BOOTSTRAP|" \
      -e "s|^group.id=.*|group.id=$group|" \
      -e "s|^config.storage.topic=.*|config.storage.topic=$group-configs|" \
      -e "s|^offset.storage.topic=.*|offset.storage.topic=$group-offsets|" \
      -e "s|^status.storage.topic=.*|status.storage.topic=$group-status|" \
      "$here/worker-$i.properties" >"$work/worker-$i.properties"
  "$bin" distributed "$work/worker-$i.properties" >"$work/worker-$i.log" 2>&1 &
  pids+=($!)
done
url() { echo "http://127.0.0.1:$((8082 + $1))"; }
for i in 1 2 3; do
  for _ in $(seq 300); do
    curl -fs "$(url "$i")/connectors" >/dev/null && break
    kill -0 "${pids[$((i - 1))]}" 2>/dev/null || { cat "$work/worker-$i.log"; exit 1; }
    sleep 0.2
  done
  echo "worker $i: $(url "$i") (log $work/worker-$i.log)"
done

seq 1 1000 | sed 's/^/line /' >"$work/in.txt"
topic=$group-lines
echo "creating a file source and a file sink through worker 1"
curl -fsS -X POST -H 'Content-Type: application/json' "$(url 1)/connectors" -d @- <<JSON >/dev/null
{"name": "lines-source", "config": {"connector.class": "FileStreamSource", "tasks.max": "1",
 "file": "$work/in.txt", "topic": "$topic"}}
JSON
curl -fsS -X POST -H 'Content-Type: application/json' "$(url 1)/connectors" -d @- <<JSON >/dev/null
{"name": "lines-sink", "config": {"connector.class": "FileStreamSink", "tasks.max": "1",
 "file": "$work/out.txt", "topics": "$topic"}}
JSON
sleep 5
for i in 2 3; do
  echo "GET /connectors?expand=status through worker $i:"
  curl -fsS "$(url "$i")/connectors?expand=status"; echo
done
echo "$(wc -l <"$work/out.txt" 2>/dev/null || echo 0) of 1000 lines in $work/out.txt"
echo "try: kill -9 one worker's pid (${pids[*]}); after session.timeout.ms (10 s) and"
echo "     scheduled.rebalance.max.delay.ms (10 s here) its tasks run on the others:"
echo "     curl -s $(url 2)/connectors?expand=status"
echo "Ctrl-C stops the cluster."
wait
