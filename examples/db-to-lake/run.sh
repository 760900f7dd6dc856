#!/usr/bin/env bash
# Database -> Kafka -> data lake -> query: orders.db (SQLite) -> JDBC source -> Kafka
# (embedded, in memory) -> partitioned sink (Confluent's HDFS layout, daily directories,
# CSV) -> a DuckDB query over the files as a Hive-partitioned table (when python3 has duckdb).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${LC_BIN:-$here/../../build/luaconnect}
[ -x "$bin" ] || { echo "run.sh: $bin not built (run make)" >&2; exit 1; }
command -v sqlite3 >/dev/null || { echo "run.sh: needs the sqlite3 command (make deps)" >&2; exit 1; }
work=$(mktemp -d /tmp/luaconnect-lake.XXXXXX)
cp "$here"/*.properties "$work"/
cd "$work"
say() { printf '\n\033[1m%s\033[0m\n' "$*"; }

say "1. orders.db: six orders over three days (created_at in epoch ms)"
sqlite3 orders.db "CREATE TABLE orders(id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, region TEXT, amount INTEGER, created_at INTEGER);
  INSERT INTO orders(region, amount, created_at) VALUES
    ('eu', 10, 1709251200000), ('us', 25, 1709280000000), ('eu', 7, 1709337600000),
    ('us', 3, 1709366400000), ('eu', 40, 1709424000000), ('eu', 15, 1709450000000);"
sqlite3 -header -column orders.db 'SELECT * FROM orders' | sed 's/^/   | /'

say "2. The worker: the JDBC source and the HDFS-style sink on an embedded broker"
"$bin" standalone --embedded-kafka worker.properties source-orders.properties sink-lake.properties > worker.log 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
files() { find lake -name '*.csv' -not -path '*/+tmp/*' 2>/dev/null | wc -l; }
for _ in $(seq 1 300); do [ "$(files)" -ge 3 ] && break; sleep 0.1; done
[ "$(files)" -ge 3 ] || { echo "db-to-lake: no files after 30 s; worker log:" >&2; tail -20 worker.log >&2; exit 1; }

say "3. The lake: <topics.dir>/<topic>/<day partition>/<topic>+<partition>+<start>+<end>.csv"
find lake -type f -not -path '*/+tmp/*' | sort | sed 's/^/   /'
first=$(find lake -name '*.csv' -not -path '*/+tmp/*' | sort | head -1)
echo "   $first:"
sed 's/^/   | /' "$first"

say "4. Stopping with SIGINT"
kill -INT $pid
wait $pid && rc=0 || rc=$?
trap - EXIT

# PYTHON: the Python that has duckdb (default python3; the tests pass their own).
py=${PYTHON:-python3}
if "$py" -c 'import duckdb' 2>/dev/null; then
  say "5. DuckDB reads the directories as a table partitioned by year/month/day:"
  "$py" - <<'PY'
import duckdb
q = ("SELECT day, count(*) AS orders, sum(amount) AS amount FROM "
     "read_csv('lake/shop-orders/*/*/*/*.csv', hive_partitioning=true, header=true) "
     "GROUP BY day ORDER BY day")
print("   " + q)
for row in duckdb.sql(q).fetchall():
    print("   |", row)
PY
else
  say "5. (pip install duckdb to query the lake with SQL)"
fi
say "Done. Files are in $work."
exit $rc
