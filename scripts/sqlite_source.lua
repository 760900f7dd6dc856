--- sqlite_source: copies SQLite tables (or the rows of a query) to Kafka the way Confluent's
-- JDBC source connector (io.confluent.connect.jdbc.JdbcSourceConnector) does with its SQLite
-- dialect: same keys, modes, WHERE clauses, topics and offsets. Depends on _sqlite (FFI) and,
-- for the regex keys only, _regex.
--
-- Modes: bulk (the whole table at every poll.interval.ms), incrementing (WHERE inc > ?),
-- timestamp (WHERE ts > ? AND ts < ?), timestamp+incrementing (WHERE ts < ? AND ((ts = ? AND
-- inc > ?) OR ts > ?)), each ordered as Confluent orders it. With query=..., the same clause
-- is appended to the query (bulk runs it as is) and there is one task.
--
-- Offsets are Confluent's, so a connector moved between the two resumes where it was
-- (OffsetProtocols.java, JdbcSourceConnectorConstants.java, TimestampIncrementingOffset.java):
--   partition {"protocol":"1","table":"<name>"} (read back also from the v0 {"table":"<name>"})
--   or {"query":"query"}; offset {"incrementing":N}, {"timestamp":MS,"timestamp_nanos":NS}
--   or both, where timestamp is epoch ms and timestamp_nanos the nanoseconds within that
--   second (java.sql.Timestamp.getNanos). Bulk records carry no offset.
--
-- Timestamps: a timestamp column may hold TEXT ('YYYY-MM-DD HH:MM:SS[.fff]', any form
-- SQLite's date functions read, UTC), INTEGER epoch milliseconds or REAL Julian days (the
-- three forms sqlite-jdbc reads). The WHERE clause compares every row through one SQL
-- expression that maps all three to epoch ms, and offsets come from the same expression,
-- so mixed forms order correctly; the price is that an index on the column is not used.
-- Precision is SQLite's: milliseconds.
--
-- Schemas: a struct named after the table (unnamed for a query) with a field per column,
-- typed from the declared type: *INT* -> int64, BOOL* -> boolean, *CHAR*/*CLOB*/*TEXT* ->
-- string, *BLOB* -> bytes, *REAL*/*FLOA*/*DOUB*/NUMERIC/DECIMAL/NUMBER -> float64 (written
-- "double", JsonConverter's name), DATETIME/TIMESTAMP -> Connect Timestamp, DATE -> Connect
-- Date; any other or no declared type (expressions): the storage class of the first row of
-- each query. A value of another storage class is converted as JDBC's getLong/getDouble/
-- getString would (SQLite's own conversion). Columns are optional unless NOT NULL or an
-- INTEGER PRIMARY KEY. The key is the primary key value when the table has a one-column
-- primary key (Confluent sets no key; this is the only difference in the records).
--
-- Tasks: tables are split into min(tables, tasks.max) contiguous groups as Confluent's
-- ConnectorUtils.groupPartitions does. There is no task reconfiguration here, so each task
-- also lists the tables every table.poll.interval.ms and takes a new table when a stable
-- hash of its name picks that task; a table that disappears is dropped.
--
-- Keys accepted for Confluent configs but without effect here: connection.user,
-- connection.password (SQLite has no users), connection.attempts, connection.backoff.ms,
-- numeric.mapping, numeric.precision.mapping, date.calendar.system, schema.pattern,
-- catalog.pattern, transaction.isolation.mode, query.retry.attempts, max.buffer.size,
-- poll.linger.ms, table.monitoring.startup.polling.limit.ms. dialect.name must be empty or
-- SqliteDatabaseDialect, db.timezone UTC and timestamp.granularity connect_logical.
--
-- Locks: a result set larger than batch.max.rows stays open across polls (as Confluent
-- keeps its ResultSet), which in rollback-journal mode makes writers wait until it is read;
-- use WAL (PRAGMA journal_mode=WAL) for busy tables. A poll that meets a locked database
-- returns what it has and tries again on the next poll; nothing is skipped.
--
-- Dialects: this file is the connector (config, checks); every task runs in the JDBC core
-- (_jdbc) with the dialect of connection.url: _sqlite_dialect (above: SQLite), _pg
-- (jdbc:postgresql://) or _mysql (jdbc:mysql://, jdbc:mariadb://), so the class name
-- JdbcSourceConnector serves every database.
local connect = require "luaconnect"
local jdbc = require "_jdbc"
local sqlite_dialect = require "_sqlite_dialect"
local parse_mappings = jdbc.parse_mappings
local format, ipairs = string.format, ipairs

local MODES = { "bulk", "incrementing", "timestamp", "timestamp+incrementing" }

-- Config ---------------------------------------------------------------------------------

local function noop(t, default, doc)
  return { type = t, default = default, doc = doc .. " (accepted for Confluent configs; no effect on SQLite)" }
end

local CONFIG = {
  ["connection.url"] = { type = "string", required = true,
    doc = "JDBC connection URL: jdbc:sqlite:PATH (or a plain path), jdbc:postgresql://HOST[:PORT]/DB, jdbc:mysql:// or jdbc:mariadb://HOST[:PORT]/DB" },
  ["connection.user"] = noop("string", nil, "JDBC connection user"),
  ["connection.password"] = noop("password", nil, "JDBC connection password"),
  ["connection.attempts"] = noop("int", 3, "Maximum number of attempts to retrieve a valid JDBC connection"),
  ["connection.backoff.ms"] = noop("long", 10000, "Backoff time in milliseconds between connection attempts"),
  ["dialect.name"] = { type = "string", default = "",
    doc = "The dialect; empty (from connection.url), SqliteDatabaseDialect, PostgreSqlDatabaseDialect or MySqlDatabaseDialect",
    validate = function(v)
      if v ~= "" and v ~= "SqliteDatabaseDialect" and v ~= "PostgreSqlDatabaseDialect"
          and v ~= "MySqlDatabaseDialect" then
        return "must be empty, SqliteDatabaseDialect, PostgreSqlDatabaseDialect or MySqlDatabaseDialect, got '" .. v .. "'"
      end
    end },
  mode = { type = "string", required = true, values = MODES,
    doc = "The mode for updating a table each time it is polled: bulk, incrementing, timestamp, timestamp+incrementing" },
  ["incrementing.column.name"] = { type = "string", default = "",
    doc = "The name of the strictly incrementing column to use to detect new rows (empty: the INTEGER PRIMARY KEY)" },
  ["timestamp.column.name"] = { type = "list", default = {},
    doc = "Comma separated list of one or more timestamp columns, combined with COALESCE" },
  ["incrementing.column.mapping"] = { type = "list", default = {},
    doc = "Table regex to incrementing column mappings: regex1:col1,regex2:col2" },
  ["timestamp.columns.mapping"] = { type = "list", default = {},
    doc = "Table regex to timestamp columns mappings: regex1:[col1|col2],regex2:[col3]" },
  ["timestamp.initial"] = { type = "long",
    doc = "The epoch timestamp (ms) used for initial queries that use timestamp criteria; -1 for the current time" },
  ["timestamp.delay.interval.ms"] = { type = "long", default = 0,
    doc = "How long to wait after a row with certain timestamp appears before we include it in the result",
    validate = function(v) if v < 0 then return "must be at least 0" end end },
  ["timestamp.granularity"] = { type = "string", default = "connect_logical", values = { "connect_logical" },
    doc = "The granularity of Timestamp columns (connect_logical only)" },
  ["validate.non.null"] = { type = "boolean", default = true,
    doc = "Check that the incrementing and timestamp columns are NOT NULL" },
  ["poll.interval.ms"] = { type = "int", default = 5000, doc = "Frequency in ms to poll for new data in each table",
    validate = function(v) if v < 0 then return "must be at least 0" end end },
  ["batch.max.rows"] = { type = "int", default = 1000,
    doc = "Maximum number of rows to include in a single batch when polling for new data",
    validate = function(v) if v < 1 then return "must be at least 1" end end },
  ["table.poll.interval.ms"] = { type = "long", default = 60000,
    doc = "Frequency in ms to poll for new or removed tables" },
  ["table.whitelist"] = { type = "list", default = {}, doc = "List of tables to include in copying" },
  ["table.blacklist"] = { type = "list", default = {}, doc = "List of tables to exclude from copying" },
  ["table.include.list"] = { type = "list", default = {},
    doc = "Regular expressions (Java syntax) matching the tables to copy" },
  ["table.exclude.list"] = { type = "list", default = {},
    doc = "Regular expressions matching tables not to copy (needs table.include.list)" },
  ["table.types"] = { type = "list", default = { "TABLE" }, doc = "Table types to copy: TABLE, VIEW",
    validate = function(v)
      for _, t in ipairs(v) do
        if t ~= "TABLE" and t ~= "VIEW" then return "SQLite has TABLE and VIEW, got '" .. t .. "'" end
      end
    end },
  ["topic.prefix"] = { type = "string", default = "",
    doc = "Prefix to prepend to table names to generate the name of the Kafka topic (the whole topic for a query)",
    validate = function(v)
      if #v > 249 then return "Topic prefix length must not exceed max topic name length, 249 chars" end
      if v:find("[^%w%._%-]") then
        return "Topic prefix must not contain any character other than ASCII alphanumerics, '.', '_' and '-'."
      end
    end },
  query = { type = "string", default = "", doc = "If specified, the query to perform to select new or updated rows" },
  ["query.masked"] = { type = "password", default = "",
    doc = "Same as 'query' but the query is not logged" },
  ["query.suffix"] = { type = "string", default = "", doc = "Suffix to append at the end of the generated query" },
  ["quote.sql.identifiers"] = { type = "string", default = "always", values = { "always", "never" },
    doc = "When to quote table and column names in SQL statements" },
  ["db.timezone"] = { type = "string", default = "UTC", doc = "Time zone of TEXT timestamps (UTC only)",
    validate = function(v)
      if v ~= "UTC" and v ~= "Z" and v ~= "GMT" and v ~= "Etc/UTC" then
        return "only UTC is supported for SQLite, got '" .. v .. "'"
      end
    end },
  ["numeric.mapping"] = { type = "string",
    doc = "How NUMERIC columns map (accepted for Confluent configs; NUMERIC and DECIMAL are float64 here)",
    validate = function(v)
      for _, ok in ipairs({ "none", "precision_only", "best_fit", "best_fit_eager_double" }) do
        if v == ok then return nil end
      end
      return "must be one of none, precision_only, best_fit, best_fit_eager_double, got '" .. v .. "'"
    end },
  ["numeric.precision.mapping"] = noop("boolean", false, "Map NUMERIC values by precision"),
  ["date.calendar.system"] = { type = "string", default = "LEGACY", values = { "LEGACY", "PROLEPTIC_GREGORIAN" },
    doc = "Calendar for DATE/TIMESTAMP values (SQLite's calendar is proleptic Gregorian either way)" },
  ["schema.pattern"] = noop("string", nil, "Schema pattern to fetch table metadata"),
  ["catalog.pattern"] = noop("string", nil,
    "Catalog pattern (LIKE) to fetch table metadata: MySQL's databases (default: the URL's), PostgreSQL's database"),
  ["transaction.isolation.mode"] = noop("string", "DEFAULT", "Transaction isolation level"),
  ["query.retry.attempts"] = noop("int", -1, "Number of times to retry SQL exceptions"),
  ["max.buffer.size"] = noop("int", 0, "Maximum number of records buffered"),
  ["poll.linger.ms"] = noop("long", 5000, "How long a poll waits to fill a batch"),
  ["table.monitoring.startup.polling.limit.ms"] = noop("long", 10000,
    "How long to wait for the initial table list"),
}

local function the_query(cfg)
  local q = cfg.query or ""
  if q == "" then q = cfg["query.masked"] or "" end
  return q
end

-- Mapping lists: "regex:[a|b]" (timestamps) or "regex:col" (incrementing).

-- Raises on a combination of keys that cannot work (ConfigException in Confluent).
local function check_config(cfg)
  local mode, query = cfg.mode, the_query(cfg)
  local wl, bl = cfg["table.whitelist"] or {}, cfg["table.blacklist"] or {}
  local inc_list, exc_list = cfg["table.include.list"] or {}, cfg["table.exclude.list"] or {}
  if #wl > 0 and #bl > 0 then error("table.whitelist and table.blacklist cannot both be set", 0) end
  if #inc_list > 0 and (#wl > 0 or #bl > 0) then
    error("table.include.list cannot be set together with table.whitelist or table.blacklist", 0)
  end
  if #exc_list > 0 and #inc_list == 0 then error("table.exclude.list requires table.include.list", 0) end
  local uses_ts = mode == "timestamp" or mode == "timestamp+incrementing"
  local uses_inc = mode == "incrementing" or mode == "timestamp+incrementing"
  parse_mappings(cfg["timestamp.columns.mapping"] or {}, "timestamp.columns.mapping", true)
  parse_mappings(cfg["incrementing.column.mapping"] or {}, "incrementing.column.mapping", false)
  if uses_ts and #(cfg["timestamp.column.name"] or {}) == 0
      and (query ~= "" or #(cfg["timestamp.columns.mapping"] or {}) == 0) then
    error(format("mode '%s' needs timestamp.column.name", mode), 0)
  end
  if query ~= "" then
    if uses_inc and (cfg["incrementing.column.name"] or "") == "" then
      error(format("mode '%s' with a query needs incrementing.column.name", mode), 0)
    end
    if (cfg["topic.prefix"] or "") == "" then
      error("topic.prefix is the topic of a query's records and cannot be empty", 0)
    end
  end
end

-- Table selection ------------------------------------------------------------------------


-- The dialect of a task and the engine that runs it (the dialect's own, else _jdbc's).
local function engine_of(cfg)
  local d = jdbc.dialect_of(cfg["connection.url"]) or sqlite_dialect
  return d, d.source or jdbc.source
end

return connect.source {
  version = "1.0.0",
  doc = "Copies SQLite tables or a query to Kafka like Confluent's JDBC source connector",
  aliases = { "JdbcSourceConnector", "io.confluent.connect.jdbc.JdbcSourceConnector" },
  config = CONFIG,

  -- Splits the tables over the tasks as Confluent does; a query runs in one task.
  task_configs = function(cfg, max_tasks)
    check_config(cfg)
    local d, engine = engine_of(cfg)
    return engine.task_configs(d, cfg, max_tasks)
  end,

  open = function(task)
    check_config(task.config)
    local d, engine = engine_of(task.config)
    task.engine = engine
    return engine.open(d, task)
  end,

  poll = function(task) return task.engine.poll(task) end,

  close = function(task) return task.engine.close(task) end,
}
