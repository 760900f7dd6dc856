--- sqlite_sink: Confluent's JDBC sink connector (JdbcSinkConnector) for SQLite. Writes each
-- record as a row of the table named by table.name.format (${topic}): insert, upsert
-- (INSERT OR REPLACE, as Confluent's SQLite dialect) or update; primary keys from the Kafka
-- coordinates, the record key or the record value; a tombstone deletes by key
-- (delete.enabled); tables created (auto.create) and widened (auto.evolve) from the record
-- schema, or from the record itself when it is a schemaless JSON object. Same keys, SQL type
-- mapping (int8..int64, boolean -> INTEGER; float32/64 -> REAL; string -> TEXT; bytes ->
-- BLOB; Decimal/Date/Time/Timestamp -> NUMERIC) and error texts as Confluent where practical.
-- Depends on _sqlite (the FFI binding to libsqlite3).
--
-- Transactions: one SQLite transaction per put() batch; statements are prepared once per
-- table and record shape (key and value schema, or the key set of a schemaless object). The
-- database is switched to journal_mode=WAL unless connection.url sets journal_mode.
--
-- Exactly once (exactly.once=true, ours): the next offset of every partition written is
-- stored in exactly.once.offsets.table (__luaconnect_offsets) in the same transaction as the
-- rows; open_partitions() returns those offsets so consumption resumes right after the last
-- committed row, and put() skips records below them. A kill -9 at any moment leaves every
-- record written once. Without it delivery is at least once (as Confluent's sink).
--
-- A record that does not fit (bad type, missing column with auto.evolve off, constraint
-- violation, tombstone without delete.enabled, ...) rolls the batch back; the batch is then
-- written again without it, so one bad record never takes the others with it or leaves
-- anything half-written. With errors.tolerance=none the records before the bad one are
-- committed and put() raises "record I of N (topic T, partition P, offset O): why (SQL)",
-- which fails the task (Kafka Connect semantics for put()). With errors.tolerance=all the bad
-- record goes to task.report() (Kafka's errant-record reporter): errors.log.enable logs it
-- and a dead letter queue receives the original record, stage TASK_PUT.
-- "database is locked" (after the busy timeout) retries the whole batch max.retries times,
-- retry.backoff.ms apart, then fails the task.
--
-- Dialects: this file is the connector (config, checks); every task runs in the JDBC core
-- (_jdbc) with the dialect of connection.url: _sqlite_dialect (above: SQLite), _pg
-- (jdbc:postgresql://) or _mysql (jdbc:mysql://, jdbc:mariadb://), so the class name
-- JdbcSinkConnector serves every database.
local connect = require "luaconnect"
local jdbc = require "_jdbc"
local sqlite_dialect = require "_sqlite_dialect"

local format, concat, ipairs = string.format, table.concat, ipairs

-- Config ---------------------------------------------------------------------------------

local function enum(values)
  local allowed = {}
  for _, v in ipairs(values) do allowed[v] = true end
  return function(v)
    if not allowed[v:lower()] then
      return format("Invalid enumerator '%s' (one of %s)", v, concat(values, ", "))
    end
  end
end

local function at_least(min)
  return function(v)
    if v < min then return format("Value must be at least %d", min) end
  end
end

local function no_op(doc)
  return "Accepted for compatibility with Confluent's JDBC sink; no effect here (" .. doc .. ")"
end

local CONFIG = {
  ["connection.url"] = { type = "string", required = true,
    doc = "jdbc:sqlite:PATH or a plain path; ?k=v&... sets PRAGMAs (journal_mode defaults to "
      .. "WAL, synchronous=NORMAL trades power-loss durability for speed), busy_timeout=MS the "
      .. "lock wait (5000); or jdbc:postgresql:// / jdbc:mysql:// / jdbc:mariadb://HOST[:PORT]/DB (_jdbc's dialects)" },
  ["connection.user"] = { type = "string", doc = no_op("SQLite has no users") },
  ["connection.password"] = { type = "password", doc = no_op("SQLite has no passwords") },
  ["connection.attempts"] = { type = "int", default = 3, validate = at_least(1),
    doc = "Attempts to open the database before the task fails" },
  ["connection.backoff.ms"] = { type = "long", default = 10000, validate = at_least(0),
    doc = "Wait between attempts to open the database" },
  ["insert.mode"] = { type = "string", default = "insert",
    validate = enum { "insert", "upsert", "update" },
    doc = "insert: INSERT; upsert: INSERT OR REPLACE (needs a primary key); update: UPDATE by key" },
  ["batch.size"] = { type = "int", default = 3000, validate = at_least(0),
    doc = no_op("each put() batch, up to max.poll.records (500) records, is one transaction") },
  ["delete.enabled"] = { type = "boolean", default = false,
    doc = "Treat null record values as deletes. Requires pk.mode to be record_key" },
  ["table.name.format"] = { type = "string", default = "${topic}",
    validate = function(v) if v:match("^%s*$") then return "String must be non-empty" end end,
    doc = "Destination table name; ${topic} is replaced by the record's topic" },
  ["pk.mode"] = { type = "string", default = "none",
    validate = enum { "none", "kafka", "record_key", "record_value" },
    doc = "none, kafka (__connect_topic, __connect_partition, __connect_offset), record_key, record_value" },
  ["pk.fields"] = { type = "list", default = {},
    doc = "Primary key field names; empty: all fields of the key/value struct (kafka: the three defaults)" },
  ["fields.whitelist"] = { type = "list", default = {},
    doc = "Record value fields to write (empty: all); pk.fields apply independently" },
  ["auto.create"] = { type = "boolean", default = false,
    doc = "CREATE the destination table from the record schema when it is missing" },
  ["auto.evolve"] = { type = "boolean", default = false,
    doc = "ALTER TABLE ADD COLUMN for record fields the table lacks (optional or with a default)" },
  ["max.retries"] = { type = "int", default = 10, validate = at_least(0),
    doc = "Times to retry a batch that failed with 'database is locked' before failing the task" },
  ["retry.backoff.ms"] = { type = "int", default = 3000, validate = at_least(0),
    doc = "Wait before such a retry" },
  ["string.output.value.column.name"] = { type = "string", default = "record_value",
    doc = "Column receiving a String record value" },
  ["replace.null.with.default"] = { type = "boolean", default = true,
    doc = no_op("the converter already replaces a null field by its schema default") },
  ["dialect.name"] = { type = "string", default = "",
    validate = function(v)
      if v ~= "" and v ~= "SqliteDatabaseDialect" and v ~= "PostgreSqlDatabaseDialect"
          and v ~= "MySqlDatabaseDialect" then
        return format("must be empty, SqliteDatabaseDialect, PostgreSqlDatabaseDialect or MySqlDatabaseDialect, got '%s'", v)
      end
    end,
    doc = "Empty (from connection.url), SqliteDatabaseDialect, PostgreSqlDatabaseDialect or MySqlDatabaseDialect" },
  ["db.timezone"] = { type = "string", default = "UTC",
    doc = no_op("Date/Time/Timestamp are stored as epoch milliseconds, as sqlite-jdbc does") },
  ["date.timezone"] = { type = "string", default = "DB_TIMEZONE", doc = no_op("see db.timezone") },
  ["db.timezone.date"] = { type = "string", default = "NONE", doc = no_op("see db.timezone") },
  ["date.calendar.system"] = { type = "string", default = "LEGACY", doc = no_op("see db.timezone") },
  ["timestamp.precision.mode"] = { type = "string", default = "microseconds", doc = no_op("see db.timezone") },
  ["timestamp.fields.list"] = { type = "list", default = {}, doc = no_op("see db.timezone") },
  ["table.types"] = { type = "list", default = { "TABLE" }, doc = no_op("tables only") },
  ["quote.sql.identifiers"] = { type = "string", default = "always",
    doc = no_op("identifiers are always quoted with backticks") },
  ["trim.sensitive.log"] = { type = "boolean", default = false, doc = no_op("values are never logged") },
  ["mssql.use.merge.holdlock"] = { type = "boolean", default = true, doc = no_op("SQL Server only") },
  ["exactly.once"] = { type = "boolean", default = false,
    doc = "luaconnect: store the written offsets in exactly.once.offsets.table in the same "
      .. "transaction as the rows and resume from them, so each record is written once" },
  ["exactly.once.offsets.table"] = { type = "string", default = "__luaconnect_offsets",
    validate = function(v) if v == "" then return "String must be non-empty" end end,
    doc = "luaconnect: table (connector, topic, partition, next_offset) used by exactly.once" },
}

return connect.sink {
  version = "1.0.0",
  doc = "Writes records to SQLite tables like Confluent's JDBC sink (insert/upsert/update, "
    .. "auto.create/auto.evolve, deletes), optionally exactly once",
  aliases = { "JdbcSinkConnector", "io.confluent.connect.jdbc.JdbcSinkConnector" },
  config = CONFIG,

  task_configs = function(cfg, max_tasks)
    if cfg["delete.enabled"] == true and (cfg["pk.mode"] or "none"):lower() ~= "record_key" then
      error("Primary key mode must be 'record_key' when delete support is enabled", 0)
    end
    local out = {}
    for i = 1, max_tasks do out[i] = cfg end
    return out
  end,

  -- The task runs in the engine of its dialect (the dialect's own, else _jdbc's).
  open = function(task)
    local d = jdbc.dialect_of(task.config["connection.url"]) or sqlite_dialect
    task.engine = d.sink or jdbc.sink
    return task.engine.open(d, task)
  end,
  put = function(task, records) return task.engine.put(task, records) end,
  open_partitions = function(task, partitions) return task.engine.open_partitions(task, partitions) end,
  close = function(task) return task.engine.close(task) end,
}
