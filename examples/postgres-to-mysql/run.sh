#!/usr/bin/env bash
# PostgreSQL -> Kafka -> MySQL/MariaDB, the classic ETL pipeline with Confluent's JDBC keys:
# starts a throwaway PostgreSQL (initdb + pg_ctl) and MariaDB (mariadb-install-db + mariadbd)
# on free ports in a temporary directory, runs the JDBC source and sink on an embedded broker,
# changes rows in PostgreSQL and shows them arriving in MariaDB, then stops everything.
# Needs Debian's postgresql, mariadb-server and mariadb-client packages (make deps).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${LC_BIN:-$here/../../build/luaconnect}
[ -x "$bin" ] || { echo "run.sh: $bin not built (run make)" >&2; exit 1; }
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$pgbin" ] || { echo "run.sh: needs PostgreSQL's initdb (package postgresql)" >&2; exit 1; }
command -v mariadbd >/dev/null || { echo "run.sh: needs mariadbd (package mariadb-server)" >&2; exit 1; }
work=$(mktemp -d /tmp/luaconnect-pg2my.XXXXXX)
chmod 755 "$work"
cd "$work"
say() { printf '\n\033[1m%s\033[0m\n' "$*"; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
pg_port=$(free_port)
my_port=$(free_port)
as_pg=()
as_my=()
if [ "$(id -u)" = 0 ]; then as_pg=(runuser -u postgres --); as_my=(--user=root); fi
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  "${as_pg[@]}" "$pgbin/pg_ctl" -D "$work/pg/data" -m fast stop >/dev/null 2>&1 || true
  [ -f "$work/my/mariadbd.pid" ] && kill "$(cat "$work/my/mariadbd.pid")" 2>/dev/null || true
}
trap cleanup EXIT
pg() { PGPASSWORD=secret "$pgbin/psql" -h 127.0.0.1 -p "$pg_port" -U lc -X -q -v ON_ERROR_STOP=1 "$@"; }
my() { mariadb --no-defaults -h 127.0.0.1 -P "$my_port" -u lc -psecret "$@"; }

say "1. PostgreSQL on port $pg_port: database shop, table orders with three rows"
mkdir pg && echo secret > pg/pw
if [ -n "${as_pg[*]}" ]; then chown -R postgres pg; fi
"${as_pg[@]}" "$pgbin/initdb" -D "$work/pg/data" -U lc --pwfile "$work/pg/pw" -A scram-sha-256 -E UTF8 \
  --locale C >/dev/null
"${as_pg[@]}" "$pgbin/pg_ctl" -D "$work/pg/data" -w -l "$work/pg/pg.log" \
  -o "-p $pg_port -k $work/pg -c listen_addresses=127.0.0.1" start >/dev/null
pg -d postgres -c "CREATE DATABASE shop"
pg -d shop -c "CREATE TABLE orders (id SERIAL PRIMARY KEY, customer TEXT NOT NULL, amount NUMERIC(10,2),
                 status TEXT NOT NULL, updated_at TIMESTAMPTZ NOT NULL DEFAULT now());
               CREATE INDEX ON orders (updated_at, id);
               INSERT INTO orders (customer, amount, status) VALUES
                 ('ada', 12.50, 'new'), ('grace', 99.95, 'new'), ('linus', 7.00, 'new');"
pg -d shop -c "SELECT id, customer, amount, status FROM orders ORDER BY id" | sed 's/^/   | /'

say "2. MariaDB on port $my_port: an empty database warehouse"
mkdir my
mariadb-install-db --no-defaults --datadir="$work/my/data" --auth-root-authentication-method=socket \
  --skip-test-db "${as_my[@]}" >/dev/null 2>&1
mariadbd --no-defaults --datadir="$work/my/data" --socket="$work/my/sock" --port="$my_port" \
  --bind-address=127.0.0.1 --skip-name-resolve --character-set-server=utf8mb4 \
  --pid-file="$work/my/mariadbd.pid" "${as_my[@]}" > "$work/my/mariadbd.log" 2>&1 &
for _ in $(seq 1 300); do
  mariadb-admin --no-defaults --socket="$work/my/sock" -uroot ping >/dev/null 2>&1 && break
  sleep 0.2
done
mariadb --no-defaults --socket="$work/my/sock" -uroot -e "CREATE DATABASE warehouse;
  CREATE USER 'lc'@'%' IDENTIFIED BY 'secret'; GRANT ALL ON warehouse.* TO 'lc'@'%'"

say "3. The worker: the JDBC source (PostgreSQL) and sink (MariaDB) on an embedded broker"
for f in "$here"/*.properties; do
  sed -e "s/@PG_PORT@/$pg_port/" -e "s/@MY_PORT@/$my_port/" "$f" > "$(basename "$f")"
done
"$bin" standalone --embedded-kafka worker.properties source-postgres.properties sink-mysql.properties \
  > worker.log 2>&1 &
pid=$!
rows() { my -N -B warehouse -e "SELECT count(*) FROM orders" 2>/dev/null || echo 0; }
wait_rows() {
  for _ in $(seq 1 300); do [ "$(rows)" -ge "$1" ] && return 0; sleep 0.1; done
  echo "postgres-to-mysql: warehouse.orders has not $1 rows after 30 s; worker log:" >&2
  tail -20 worker.log >&2
  exit 1
}
wait_rows 3
echo "   warehouse.orders in MariaDB (created by the sink):"
my warehouse -e "SELECT id, customer, amount, status FROM orders ORDER BY id" | sed 's/^/   | /'

say "4. In PostgreSQL: order 2 is paid, a fourth order comes in"
pg -d shop -c "UPDATE orders SET status = 'paid', updated_at = now() WHERE id = 2;
               INSERT INTO orders (customer, amount, status) VALUES ('margaret', 42.00, 'new')"
start=$(date +%s%N)
wait_rows 4
for _ in $(seq 1 300); do
  [ "$(my -N -B warehouse -e "SELECT status FROM orders WHERE id = 2")" = paid ] && break
  sleep 0.1
done
echo "   it reached MariaDB after $(( ($(date +%s%N) - start) / 1000000 )) ms:"
my warehouse -e "SELECT id, customer, amount, status FROM orders ORDER BY id" | sed 's/^/   | /'

say "5. Stopping with SIGINT"
kill -INT $pid
wait $pid && rc=0 || rc=$?
pid=
echo "   exit status $rc"
echo "   the source's offset (Confluent's format): $(python3 -c 'import sqlite3, sys
print(*sqlite3.connect(sys.argv[1]).execute("SELECT key, value FROM offsets").fetchone(), sep="|")' \
  pipeline.offsets.db 2>/dev/null || true)"
say "Done. Files are in $work."
exit $rc
