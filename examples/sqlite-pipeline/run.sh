#!/usr/bin/env bash
# The database demo: a table becomes a stream of change events and the stream becomes a
# table again. test.db (accounts) -> SQLite source -> Kafka (embedded, in memory) ->
# SQLite sink -> replica.db (accounts_replica). Run it with `make demo`.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${LC_BIN:-$here/../../build/luaconnect}
[ -x "$bin" ] || { echo "run.sh: $bin not built (run make)" >&2; exit 1; }
command -v sqlite3 >/dev/null || { echo "run.sh: needs the sqlite3 command (make deps)" >&2; exit 1; }
work=$(mktemp -d /tmp/luaconnect-demo.XXXXXX)
cp "$here"/*.properties "$work"/
cd "$work"
say() { printf '\n\033[1m%s\033[0m\n' "$*"; }
replica_rows() { sqlite3 replica.db 'SELECT count(*) FROM accounts_replica' 2>/dev/null || echo 0; }
wait_rows() { # count seconds
  for _ in $(seq 1 $(( $2 * 10 ))); do
    [ "$(replica_rows)" -ge "$1" ] && return 0
    sleep 0.1
  done
  echo "demo: replica.db did not reach $1 rows; worker log:" >&2; tail -20 worker.log >&2; return 1
}

say "1. A database with a table and two rows (test.db):"
sqlite3 test.db "CREATE TABLE accounts(id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, name VARCHAR(255));
                 INSERT INTO accounts(name) VALUES ('alice'); INSERT INTO accounts(name) VALUES ('bob');"
sqlite3 -header -column test.db 'SELECT * FROM accounts' | sed 's/^/   | /'

say "2. Starting the worker on an embedded broker with Confluent's SQLite source quick-start config and a sink:"
echo "   $bin standalone --embedded-kafka worker.properties source-quickstart-sqlite.properties sink-sqlite.properties"
"$bin" standalone --embedded-kafka worker.properties source-quickstart-sqlite.properties sink-sqlite.properties > worker.log 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do grep -q '^embedded Kafka at' worker.log && break; sleep 0.1; done
broker=$(sed -n 's/^embedded Kafka at //p' worker.log)
echo "   $(grep '^embedded Kafka at' worker.log)   (in memory: gone when the worker stops)"

wait_rows 2 60
say "3. Both rows travelled through topic test-sqlite-jdbc-accounts into replica.db:"
sqlite3 -header -column replica.db 'SELECT * FROM accounts_replica ORDER BY id' | sed 's/^/   | /'

say "4. Inserting a third row into test.db while the pipeline runs (source polls every 500 ms)..."
start=$(date +%s%N)
sqlite3 test.db "INSERT INTO accounts(name) VALUES ('carol')"
wait_rows 3 30
echo "   it reached replica.db after $(( ($(date +%s%N) - start) / 1000000 )) ms:"
sqlite3 -header -column replica.db 'SELECT * FROM accounts_replica ORDER BY id' | sed 's/^/   | /'

if command -v kcat >/dev/null; then
  say "5. What Kafka holds: one change event per row, Kafka Connect's JSON envelope with the schema"
  kcat -q -b "$broker" -C -t test-sqlite-jdbc-accounts -o beginning -e 2>/dev/null | sed 's/^/   /'
fi

say "6. Stopping with SIGINT: the worker flushes, commits offsets and exits 0"
kill -INT $pid
wait $pid && rc=0 || rc=$?
trap - EXIT
echo "   exit status $rc; the source's committed offset (Confluent's format, in SQLite):"
sqlite3 demo.offsets.db 'select key, value from offsets' | sed 's/^/   /'
say "Done: a table became a stream and the stream a table again. Files are in $work."
exit $rc
