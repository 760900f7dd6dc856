#!/usr/bin/env bash
# Updates as events: a timestamp+incrementing source turns new rows *and* UPDATEs of
# shop.db's customers into change events, and an upserting sink applies them to replica.db,
# where an update replaces the row it changed. Embedded broker, in memory.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${LC_BIN:-$here/../../build/luaconnect}
[ -x "$bin" ] || { echo "run.sh: $bin not built (run make)" >&2; exit 1; }
command -v sqlite3 >/dev/null || { echo "run.sh: needs the sqlite3 command (make deps)" >&2; exit 1; }
work=$(mktemp -d /tmp/luaconnect-updates.XXXXXX)
cp "$here"/*.properties "$work"/
cd "$work"
say() { printf '\n\033[1m%s\033[0m\n' "$*"; }
show() { sqlite3 -header -column "$1" "$2" | sed 's/^/   | /'; }
# The replica's updated_at is a Connect Timestamp, stored as epoch milliseconds.
show_replica() { show replica.db "SELECT id, name, tier, updated_at AS updated_at_ms,
  strftime('%Y-%m-%d %H:%M:%f', updated_at / 1000.0, 'unixepoch') AS updated_at FROM customers ORDER BY id"; }
wait_sql() { # db sql expected seconds: until sql prints expected
  for _ in $(seq 1 $(( $4 * 10 ))); do
    [ "$(sqlite3 "$1" "$2" 2>/dev/null || true)" = "$3" ] && return 0
    sleep 0.1
  done
  echo "demo: $1 did not reach [$2] = $3; worker log:" >&2; tail -20 worker.log >&2; return 1
}

say "1. A table with an updated_at column that every write sets (shop.db):"
sqlite3 shop.db "CREATE TABLE customers(id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT, tier TEXT,
                   updated_at TIMESTAMP NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f','now')));
                 INSERT INTO customers(name, tier) VALUES ('alice', 'basic'), ('bob', 'basic');"
show shop.db 'SELECT * FROM customers'

say "2. Starting the worker: timestamp+incrementing source on (updated_at, id), upserting sink:"
echo "   $bin standalone --embedded-kafka worker.properties source.properties sink.properties"
"$bin" standalone --embedded-kafka worker.properties source.properties sink.properties > worker.log 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do grep -q '^embedded Kafka at' worker.log && break; sleep 0.1; done
broker=$(sed -n 's/^embedded Kafka at //p' worker.log)
echo "   $(grep '^embedded Kafka at' worker.log)   (in memory: gone when the worker stops)"

wait_sql replica.db 'SELECT count(*) FROM customers' 2 60
say "3. Both rows arrived as events on topic shop-customers and were upserted into replica.db:"
show_replica

say "4. Inserting carol while the pipeline runs (the source polls every 500 ms)..."
sqlite3 shop.db "INSERT INTO customers(name, tier) VALUES ('carol', 'basic')"
wait_sql replica.db 'SELECT count(*) FROM customers' 3 30
show_replica

say "5. Updating bob in shop.db (tier gold, updated_at now): an UPDATE, not a new row..."
start=$(date +%s%N)
sqlite3 shop.db "UPDATE customers SET tier = 'gold', updated_at = strftime('%Y-%m-%d %H:%M:%f','now')
                 WHERE name = 'bob'"
show shop.db "SELECT * FROM customers WHERE name = 'bob'"
wait_sql replica.db "SELECT tier FROM customers WHERE name = 'bob'" gold 30
echo "   it reached replica.db as a fourth event after $(( ($(date +%s%N) - start) / 1000000 )) ms; bob's row"
echo "   changed in place (still three rows, upserted by id):"
show_replica

if command -v kcat >/dev/null; then
  say "6. What Kafka holds: one event per insert and one for the update (payloads; each record"
  printf '\033[1m%s\033[0m\n' "   also carries its schema, Kafka Connect's JSON envelope):"
  kcat -q -b "$broker" -C -t shop-customers -o beginning -e -f 'offset %o: %s\n' 2>/dev/null \
    | sed 's/{"schema":.*,"payload":\(.*\)}$/\1/; s/^/   /'
fi

say "7. Stopping with SIGINT: the worker flushes, commits offsets and exits 0"
kill -INT $pid
wait $pid && rc=0 || rc=$?
trap - EXIT
echo "   exit status $rc; the source's committed offset (Confluent's format: last updated_at as"
echo "   epoch ms and its nanoseconds, and the id that breaks ties within that millisecond):"
sqlite3 updates.offsets.db "select key, value from offsets where key like '[\"sqlite-updates-source\"%'" | sed 's/^/   /'
say "Done: inserts and updates became events, and the events a table again. Files are in $work."
exit $rc
