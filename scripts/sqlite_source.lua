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
-- Server databases: a connection.url of jdbc:postgresql://, jdbc:mysql:// or jdbc:mariadb://
-- hands the task to the JDBC core (_jdbc, with its _pg / _mysql dialects), so the class name
-- JdbcSourceConnector serves every database; everything above describes SQLite.
local connect = require "luaconnect"
local sqlite = require "_sqlite"
local jdbc = require "_jdbc"
local parse_mappings = jdbc.parse_mappings
local ffi = require "ffi"

local C = sqlite.lib
local null, float, now_ms = connect.null, connect.float, connect.now_ms
local ffi_string, format, concat, floor = ffi.string, string.format, table.concat, math.floor
local type, tonumber, tostring, ipairs, pairs = type, tonumber, tostring, ipairs, pairs
local new_table = require "table.new"

local BUSY_TIMEOUT_MS = 100   -- keeps poll() short; a busy database is retried next poll
local BUSY_RETRY_MS = 200
local TWO53 = 2 ^ 53
local MS_PER_DAY = 86400000
local TIMESTAMP_NAME, DATE_NAME = "org.apache.kafka.connect.data.Timestamp",
  "org.apache.kafka.connect.data.Date"

-- Column kinds
local K_INT, K_FLOAT, K_STRING, K_BYTES, K_BOOL, K_TS, K_DATE, K_AUTO = 1, 2, 3, 4, 5, 6, 7, 8
local KIND_TYPES = { "int64", "double", "string", "bytes", "boolean", "int64", "int32" }
local T_INTEGER, T_FLOAT, T_TEXT, T_NULL = 1, 2, 3, 5
local STORAGE_KIND = { K_INT, K_FLOAT, K_STRING, K_BYTES, K_STRING }

-- The SQL expression that maps a timestamp value x (TEXT, INTEGER epoch ms, REAL Julian day)
-- to epoch ms, or NULL when it is not a date.
local function ts_expr(x)
  return format("CASE typeof(%s) WHEN 'integer' THEN %s WHEN 'real' THEN "
    .. "CAST(round((%s - 2440587.5) * 86400000.0) AS INTEGER) ELSE "
    .. "CAST(round((julianday(%s) - 2440587.5) * 86400000.0) AS INTEGER) END", x, x, x, x)
end

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
  ["catalog.pattern"] = noop("string", nil, "Catalog pattern to fetch table metadata"),
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

-- A predicate name -> boolean for the include/exclude keys.
local function table_filter(cfg)
  local wl, bl = cfg["table.whitelist"] or {}, cfg["table.blacklist"] or {}
  local inc_list, exc_list = cfg["table.include.list"] or {}, cfg["table.exclude.list"] or {}
  if #wl > 0 then
    local set = {}
    for _, t in ipairs(wl) do set[t] = true end
    return function(name) return set[name] == true end
  end
  local black = {}
  for _, t in ipairs(bl) do black[t] = true end
  local inc, exc = {}, {}
  if #inc_list > 0 or #exc_list > 0 then
    local regex = require "_regex"
    for _, p in ipairs(inc_list) do inc[#inc + 1] = assert(regex.compile(p)) end
    for _, p in ipairs(exc_list) do exc[#exc + 1] = assert(regex.compile(p)) end
  end
  return function(name)
    if black[name] then return false end
    if #inc > 0 then
      local hit = false
      for _, re in ipairs(inc) do if re:matches(name) then hit = true break end end
      if not hit then return false end
      for _, re in ipairs(exc) do if re:matches(name) then return false end end
    end
    return true
  end
end

-- Tables (and views when table.types says so) that pass the filter, sorted by name.
local function list_tables(db, cfg, keep)
  local types = {}
  for _, t in ipairs(cfg["table.types"] or { "TABLE" }) do types[#types + 1] = "'" .. t:lower() .. "'" end
  local st = db:prepare("SELECT name FROM sqlite_master WHERE type IN (" .. concat(types, ",")
    .. ") AND substr(name, 1, 7) <> 'sqlite_' ORDER BY name")
  local out = {}
  local ok, err = pcall(function()
    while st:step() do
      local name = st:text(1)
      if keep(name) then out[#out + 1] = name end
    end
  end)
  st:finalize()
  if not ok then error(err, 0) end
  return out
end

-- FNV-1a: a stable task choice for tables created after the connector started.
local function name_hash(s)
  local h = 2166136261
  for i = 1, #s do
    h = bit.bxor(h, s:byte(i))
    h = (h * 16777619) % 4294967296
  end
  return h
end

-- Confluent's ConnectorUtils.groupPartitions: n contiguous groups, the first ones larger.
local function group(list, n)
  local groups, per, extra, at = {}, floor(#list / n), #list % n, 1
  for g = 1, n do
    local size = per + (g <= extra and 1 or 0)
    local grp = {}
    for i = at, at + size - 1 do grp[#grp + 1] = list[i] end
    at = at + size
    groups[g] = grp
  end
  return groups
end

local function copy(t)
  local out = {}
  for k, v in pairs(t) do out[k] = v end
  return out
end

-- Offsets --------------------------------------------------------------------------------

local function ts_offset(ms, out)
  out = out or {}
  if ms ~= nil then
    out.timestamp = ms
    out.timestamp_nanos = (ms % 1000) * 1000000
  end
  return out
end

-- Stored offset -> epoch ms of its timestamp (java.sql.Timestamp(millis).setNanos(nanos)).
local function stored_ms(off)
  local ms = off.timestamp
  if ms == nil or ms == null then return nil end
  ms = tonumber(ms)
  local nanos = off.timestamp_nanos
  if nanos ~= nil and nanos ~= null then
    ms = floor(ms / 1000) * 1000 + floor(tonumber(nanos) / 1000000)
  end
  return ms
end

-- Queriers -------------------------------------------------------------------------------

local function quoter(cfg)
  if cfg["quote.sql.identifiers"] == "never" then return function(s) return s end end
  return sqlite.quote
end

local columns_for = jdbc.columns_for

local function new_querier(task, name)
  local cfg, mode = task.config, task.config.mode
  local q = { table = name, mode = mode, querying = false, next_at = 0, schemas = {} }
  if name then
    q.topic = cfg["topic.prefix"] .. name
    q.partition = { protocol = "1", table = name }
  else
    q.topic = cfg["topic.prefix"]
    q.partition = { query = "query" }
  end
  q.inc_col, q.ts_cols = columns_for(task, name)
  q.uses_inc = mode == "incrementing" or mode == "timestamp+incrementing"
  q.uses_ts = mode == "timestamp" or mode == "timestamp+incrementing"
  if mode ~= "bulk" then
    local off = task.offsets:get(q.partition)
    if off == nil and name then off = task.offsets:get({ table = name }) end
    if off ~= nil then
      if off.incrementing ~= nil and off.incrementing ~= null then q.inc = off.incrementing end
      q.ts = stored_ms(off)
      task.log.info("resuming %s after offset %s", name and ("table " .. name) or "the query",
        connect.json.encode(off))
    elseif cfg["timestamp.initial"] ~= nil then
      local init = cfg["timestamp.initial"]
      q.ts = init == -1 and (task.now or now_ms)() or init
      task.log.info("no offset for %s; starting at timestamp %d (timestamp.initial)",
        name and ("table " .. name) or "the query", q.ts)
    end
    q.committable = q.ts
  end
  return q
end

local function add_querier(task, name)
  local q = new_querier(task, name)
  task.queriers[#task.queriers + 1] = q
  if name then task.by_name[name] = q end
  return q
end

local function drop_querier(task, q)
  if q.st then q.st:finalize() end
  for i, other in ipairs(task.queriers) do
    if other == q then table.remove(task.queriers, i) break end
  end
  if q.table then task.by_name[q.table] = nil end
end

-- Which task reads a table: the plan's choice for the tables it saw, a hash for newer ones.
local function is_mine(task, name)
  local cfg = task.config
  if task.known[name] then return task.assigned[name] == true end
  return name_hash(name) % (cfg._tasks or 1) == (cfg._task or 0)
end

-- Finds the incrementing column when incrementing.column.name is empty: the INTEGER PRIMARY
-- KEY (SQLite's auto-increment column, the rowid).
local function rowid_column(info)
  local pk, n = nil, 0
  for _, c in ipairs(info) do
    if c.pk > 0 then n, pk = n + 1, c end
  end
  if n == 1 and pk.type:upper() == "INTEGER" then return pk.name end
  return nil
end

local function lower_index(list)
  local out = {}
  for _, c in ipairs(list) do out[c.name:lower()] = c end
  return out
end

-- Confluent's validateColumnsExist and validateNonNullable, for a table that exists.
local function validate_table(task, q, info)
  local cfg = task.config
  local by_lower = lower_index(info)
  local rowid = rowid_column(info)
  if q.uses_inc and q.inc_col ~= "" and not by_lower[q.inc_col:lower()] then
    error(format("Incrementing column: %s does not exist in table '%s'", q.inc_col, q.table), 0)
  end
  if q.uses_ts then
    local missing = {}
    for _, c in ipairs(q.ts_cols) do
      if not by_lower[c:lower()] then missing[#missing + 1] = c end
    end
    if #missing > 0 then
      error(format("Timestamp columns: %s do not exist in table '%s'", concat(missing, ", "), q.table), 0)
    end
  end
  if not cfg["validate.non.null"] then return end
  if q.uses_inc then
    local c = by_lower[q.inc_col:lower()]
    if not c.notnull and c.name ~= rowid then
      error(format("Cannot make incremental queries using incrementing column %s on %s because this "
        .. "column is nullable.", q.inc_col, q.table), 0)
    end
  end
  if q.uses_ts then
    local any = false
    for _, name in ipairs(q.ts_cols) do
      local c = by_lower[name:lower()]
      if c.notnull or c.name == rowid then any = true end
    end
    if not any then
      error(format("Cannot make incremental queries using timestamp columns %s on %s because all of "
        .. "these columns are nullable.", concat(q.ts_cols, ","), q.table), 0)
    end
  end
end

-- The statement Confluent's queriers build (criteria appended, then query.suffix).
local function build_sql(task, q)
  local cfg, qi = task.config, task.qi
  local sql
  local function col(c)
    if q.table then return qi(q.table) .. "." .. qi(c) end
    return qi(c)
  end
  if q.table then sql = "SELECT * FROM " .. qi(q.table) else sql = the_query(cfg) end
  local ts
  if q.uses_ts then
    local parts = {}
    for i, c in ipairs(q.ts_cols) do parts[i] = col(c) end
    ts = ts_expr(#parts == 1 and parts[1] or ("COALESCE(" .. concat(parts, ",") .. ")"))
  end
  local inc = q.uses_inc and col(q.inc_col)
  if q.mode == "incrementing" then
    sql = sql .. " WHERE " .. inc .. " > ? ORDER BY " .. inc .. " ASC"
  elseif q.mode == "timestamp" then
    sql = sql .. " WHERE " .. ts .. " > ? AND " .. ts .. " < ? ORDER BY " .. ts .. " ASC"
  elseif q.mode == "timestamp+incrementing" then
    sql = sql .. " WHERE " .. ts .. " < ? AND ((" .. ts .. " = ? AND " .. inc .. " > ?) OR "
      .. ts .. " > ?) ORDER BY " .. ts .. "," .. inc .. " ASC"
  end
  if cfg["query.suffix"] ~= "" then sql = sql .. " " .. cfg["query.suffix"] end
  return sql
end

local function prepare(task, q)
  if q.table and not q.validated then
    local info = task.db:table_info(q.table)
    if #info > 0 then
      if q.uses_inc and q.inc_col == "" then
        q.inc_col = rowid_column(info)
        if not q.inc_col then
          error(format("incrementing.column.name is empty and table '%s' has no INTEGER PRIMARY KEY "
            .. "to use instead", q.table), 0)
        end
      end
      validate_table(task, q, info)
      q.validated = true
    end
  end
  local sql = build_sql(task, q)
  q.st = task.db:prepare(sql)
  if q.table or task.config.query ~= "" then -- query.masked stays out of the log
    task.log.info("%s: %s", q.table and ("table " .. q.table) or "query", sql)
  end
end

local function start_query(task, q, now)
  if not q.st then prepare(task, q) end
  local st, end_ts = q.st, nil
  if q.uses_ts then end_ts = now - task.config["timestamp.delay.interval.ms"] end
  local begin_ts = q.ts or 0
  if q.mode == "incrementing" then
    st:bind(1, q.inc or -1)
  elseif q.mode == "timestamp" then
    begin_ts = q.committable or 0
    st:bind(1, begin_ts)
    st:bind(2, end_ts)
  elseif q.mode == "timestamp+incrementing" then
    st:bind(1, end_ts)
    st:bind(2, begin_ts)
    st:bind(3, q.inc or -1)
    st:bind(4, begin_ts)
  end
  q.querying, q.setup, q.pending = true, false, nil
end

-- Column setup: kinds, names, schema, key and offset columns, at each query's first row.
local function kind_of(decl)
  if decl == nil or decl == "" then return K_AUTO end
  local u = decl:upper()
  if u:find("BOOL", 1, true) then return K_BOOL end
  if u:find("TIMESTAMP", 1, true) or u:find("DATETIME", 1, true) then return K_TS end
  if u:match("^DATE") then return K_DATE end
  if u:find("INT", 1, true) then return K_INT end
  if u:find("CHAR", 1, true) or u:find("CLOB", 1, true) or u:find("TEXT", 1, true) then return K_STRING end
  if u:find("BLOB", 1, true) then return K_BYTES end
  if u:find("REAL", 1, true) or u:find("FLOA", 1, true) or u:find("DOUB", 1, true) then return K_FLOAT end
  if u:match("^NUMERIC") or u:match("^DECIMAL") or u:match("^NUMBER") then return K_FLOAT end
  return K_AUTO
end

local function field_schema(kind, optional)
  local s = { type = KIND_TYPES[kind], optional = optional }
  if kind == K_TS then s.name, s.version = TIMESTAMP_NAME, 1 end
  if kind == K_DATE then s.name, s.version = DATE_NAME, 1 end
  return s
end

local function find_column(names, want, what, sep)
  for i, n in ipairs(names) do if n == want then return i end end
  local hit
  for i, n in ipairs(names) do
    if n:lower() == want:lower() then
      if hit then error(format("%s column %s matches more than one column of %s", what, want,
        concat(names, ",")), 0) end
      hit = i
    end
  end
  if not hit then error(format("%s column %s not found in %s", what, want, concat(names, sep or ",")), 0) end
  return hit
end

local function setup_columns(task, q)
  local st = q.st
  local h = st._h
  local n = C.sqlite3_column_count(h)
  local names, kinds, fields, key_parts = {}, {}, {}, {}
  local infos, seen = {}, {}
  for i = 1, n do
    local name = ffi_string(C.sqlite3_column_name(h, i - 1))
    if seen[name] then
      error(format("%s returns two columns named '%s'; name them apart (AS ...)",
        q.table and ("table " .. q.table) or "the query", name), 0)
    end
    seen[name] = true
    local d = C.sqlite3_column_decltype(h, i - 1)
    local kind = kind_of(d ~= nil and ffi_string(d) or nil)
    if kind == K_AUTO then kind = STORAGE_KIND[C.sqlite3_column_type(h, i - 1)] end
    local optional = true
    local otable, ocol = st:origin(i)
    if otable then
      local info = infos[otable]
      if not info then
        info = task.db:table_info(otable)
        info.rowid, info.by_name = rowid_column(info), {}
        for _, c in ipairs(info) do info.by_name[c.name] = c end
        infos[otable] = info
      end
      local c = info.by_name[ocol]
      if c and (c.notnull or c.name == info.rowid) then optional = false end
    end
    names[i], kinds[i] = name, kind
    fields[i] = { field = name, schema = field_schema(kind, optional) }
    key_parts[i] = kind .. (optional and "?" or "") .. name
  end
  -- One schema table per column layout, shared by the records (the codec caches by table).
  local key = concat(key_parts, "\0")
  local sch = q.schemas[key]
  if not sch then
    local fl = {}
    for i, f in ipairs(fields) do
      local s = f.schema
      s.field = f.field
      fl[i] = s
    end
    sch = { value = { type = "struct", fields = fl, optional = false, name = q.table } }
    if q.table then
      local info = infos[q.table] or task.db:table_info(q.table)
      local pk, npk = nil, 0
      for _, c in ipairs(info) do if c.pk > 0 then npk, pk = npk + 1, c.name end end
      if npk == 1 then
        for i = 1, n do
          if names[i] == pk then
            sch.key_index = i
            sch.key = field_schema(kinds[i], fl[i].optional)
          end
        end
      end
    end
    q.schemas[key] = sch
  end
  q.names, q.kinds, q.ncol, q.schema = names, kinds, n, sch
  if q.uses_inc then q.inc_index = find_column(names, q.inc_col, "Incrementing") end
  if q.uses_ts then
    q.ts_index = {}
    for i, c in ipairs(q.ts_cols) do q.ts_index[i] = find_column(names, c, "Timestamp") end
  end
  q.setup = true
end

-- epoch ms of column c (0-based) of the current row, through the same SQL expression as the
-- WHERE clause; nil when the value is not a date.
local function ts_ms(task, h, c, t)
  if t == T_INTEGER then return tonumber(C.sqlite3_column_int64(h, c)) end
  local v
  if t == T_FLOAT then
    v = C.sqlite3_column_double(h, c)
  else
    local p = C.sqlite3_column_text(h, c)
    v = ffi_string(p, C.sqlite3_column_bytes(h, c))
  end
  if v == task.ts_last_in then return task.ts_last_out end
  local st = task.ts_st
  if not st then
    st = task.db:prepare("SELECT " .. ts_expr("?1"))
    task.ts_st = st
  end
  st:reset()
  st:bind(1, v)
  local out
  if st:step() and st:type(1) ~= "null" then out = st:int(1) end
  st:reset()
  task.ts_last_in, task.ts_last_out = v, out
  return out
end

local function ts_of_row(task, q, h)
  for _, i in ipairs(q.ts_index) do
    local t = C.sqlite3_column_type(h, i - 1)
    if t ~= T_NULL then return ts_ms(task, h, i - 1, t) end
  end
  return nil
end

local function bad_value(q, c, what)
  error(format("%s column '%s': cannot read %s", q.table and ("table " .. q.table .. ":") or "query:",
    q.names[c], what), 0)
end

-- The record of the current row (without its source_offset).
local function read_record(task, q, h)
  local n, kinds, names = q.ncol, q.kinds, q.names
  local value = new_table(0, n)
  for c = 1, n do
    local i = c - 1
    local t = C.sqlite3_column_type(h, i)
    local v
    if t == T_NULL then
      v = null
    else
      local k = kinds[c]
      if k == K_STRING then
        v = ffi_string(C.sqlite3_column_text(h, i), C.sqlite3_column_bytes(h, i))
      elseif k == K_INT then
        if t == T_INTEGER then
          local d = C.sqlite3_column_double(h, i)
          if d > -TWO53 and d < TWO53 then
            v = d
          else
            v = C.sqlite3_column_int64(h, i)
            if v >= -TWO53 and v <= TWO53 then v = tonumber(v) end
          end
        else
          v = C.sqlite3_column_int64(h, i)
          if v >= -TWO53 and v <= TWO53 then v = tonumber(v) end
        end
      elseif k == K_FLOAT then
        v = C.sqlite3_column_double(h, i)
        if v == floor(v) and v > -TWO53 and v < TWO53 then v = float(v) end
      elseif k == K_BYTES then
        local p = C.sqlite3_column_blob(h, i)
        local len = C.sqlite3_column_bytes(h, i)
        v = len == 0 and "" or ffi_string(p, len)
      elseif k == K_BOOL then
        v = C.sqlite3_column_int64(h, i) ~= 0
      else -- K_TS, K_DATE
        v = ts_ms(task, h, i, t)
        if v == nil then
          local raw = t == T_TEXT and ("'" .. ffi_string(C.sqlite3_column_text(h, i)) .. "'") or "value"
          bad_value(q, c, raw .. " as a " .. (k == K_TS and "timestamp" or "date"))
        end
        if k == K_DATE then v = floor(v / MS_PER_DAY) end
      end
    end
    value[names[c]] = v
  end
  local sch = q.schema
  local rec = { topic = q.topic, value = value, value_schema = sch.value }
  if sch.key_index then
    local k = value[names[sch.key_index]]
    if k ~= null then rec.key, rec.key_schema = k, sch.key end
  end
  if q.mode ~= "bulk" then rec.source_partition = q.partition end
  return rec
end

local function incrementing_of_row(q, h)
  local i = q.inc_index - 1
  local t = C.sqlite3_column_type(h, i)
  if t == T_INTEGER then
    local v = C.sqlite3_column_int64(h, i)
    if v >= -TWO53 and v <= TWO53 then return tonumber(v) end
    return v
  elseif t == T_NULL then
    error(format("Null value for incrementing column %s of type: INT64", q.inc_col), 0)
  end
  error(format("Invalid type for incrementing column %s: %s", q.inc_col,
    t == T_FLOAT and "FLOAT64" or t == T_TEXT and "STRING" or "BYTES"), 0)
end

-- Steps q's statement once; false (and the statement reset) at the end of the result.
local function next_row(q)
  if q.st:step() then return true end
  q.st:reset()
  q.done = true
  return false
end

-- Appends up to max records of q to out. Returns true when the result set is exhausted.
local function fetch(task, q, out, max)
  local st = q.st
  local h = st._h
  local n, mode = #out, q.mode
  q.done = false
  if mode == "timestamp" then
    -- TimestampTableQuerier: a record's offset moves to its timestamp only once the next row
    -- has a later one (or there is none), so a restart never skips rows sharing a timestamp.
    for _ = 1, max do
      local cur = q.pending
      if not cur then
        if not next_row(q) then break end
        if not q.setup then setup_columns(task, q) end
        cur = { rec = read_record(task, q, h), ts = ts_of_row(task, q, h) }
      end
      q.pending = nil
      local nxt
      if next_row(q) then
        if not q.setup then setup_columns(task, q) end
        nxt = { rec = read_record(task, q, h), ts = ts_of_row(task, q, h) }
      end
      if nxt == nil or cur.ts < nxt.ts then q.committable = cur.ts end
      cur.rec.source_offset = ts_offset(q.committable)
      n = n + 1
      out[n] = cur.rec
      q.pending = nxt
      if not nxt then break end
    end
    return q.done and q.pending == nil
  end
  for _ = 1, max do
    if not next_row(q) then break end
    if not q.setup then setup_columns(task, q) end
    local rec = read_record(task, q, h)
    if mode == "incrementing" then
      local inc = incrementing_of_row(q, h)
      q.inc = inc
      rec.source_offset = { incrementing = inc }
    elseif mode == "timestamp+incrementing" then
      local inc, ts = incrementing_of_row(q, h), ts_of_row(task, q, h)
      q.inc, q.ts = inc, ts
      rec.source_offset = ts_offset(ts, { incrementing = inc })
    end
    n = n + 1
    out[n] = rec
  end
  return q.done
end

-- Lists the tables again (table.poll.interval.ms): new ones of this task start, gone ones stop.
local function refresh_tables(task, now)
  if task.fixed or now < task.next_table_poll then return end
  task.next_table_poll = now + task.config["table.poll.interval.ms"]
  local names = list_tables(task.db, task.config, task.keep)
  local want = {}
  for _, name in ipairs(names) do
    if is_mine(task, name) then
      want[name] = true
      if not task.by_name[name] then
        add_querier(task, name)
        task.log.info("found table %s; copying it to %s", name, task.config["topic.prefix"] .. name)
      end
    end
  end
  for i = #task.queriers, 1, -1 do
    local q = task.queriers[i]
    if not want[q.table] and not q.querying then
      task.log.info("table %s is gone; no longer polled", q.table)
      drop_querier(task, q)
    end
  end
end

local function table_exists(task, name)
  for _, t in ipairs(list_tables(task.db, task.config, function() return true end)) do
    if t == name then return true end
  end
  return false
end

local function stop_query(q)
  if q.st then pcall(q.st.reset, q.st) end
  q.querying, q.pending = false, nil
end

return connect.source {
  version = "1.0.0",
  doc = "Copies SQLite tables or a query to Kafka like Confluent's JDBC source connector",
  aliases = { "JdbcSourceConnector", "io.confluent.connect.jdbc.JdbcSourceConnector" },
  config = CONFIG,

  -- Splits the tables over the tasks as Confluent does; a query runs in one task.
  task_configs = function(cfg, max_tasks)
    check_config(cfg)
    local d = jdbc.dialect_of(cfg["connection.url"])
    if d then return jdbc.source.task_configs(d, cfg, max_tasks) end
    if the_query(cfg) ~= "" then
      local t = copy(cfg)
      t._task, t._tasks, t._tables, t._known = 0, 1, {}, {}
      return { t }
    end
    local tables
    local wl = cfg["table.whitelist"] or {}
    if #wl > 0 then
      local seen = {}
      tables = {}
      for _, name in ipairs(wl) do
        if not seen[name] then seen[name] = true tables[#tables + 1] = name end
      end
    else
      -- A database that cannot be read yet gets one task, which finds the tables later.
      local ok, db = pcall(sqlite.open, cfg["connection.url"], { create = false, busy_timeout_ms = 1000 })
      tables = {}
      if ok then
        local ok2, list = pcall(list_tables, db, cfg, table_filter(cfg))
        if ok2 then tables = list end
        db:close()
      end
    end
    local n = math.max(1, math.min(#tables, max_tasks))
    local out = {}
    for g, grp in ipairs(group(tables, n)) do
      local t = copy(cfg)
      t._task, t._tasks, t._tables, t._known = g - 1, n, grp, tables
      out[g] = t
    end
    return out
  end,

  open = function(task)
    local cfg = task.config
    check_config(cfg)
    local d = jdbc.dialect_of(cfg["connection.url"])
    if d then
      task.jdbc = true
      return jdbc.source.open(d, task)
    end
    task.qi = quoter(cfg)
    task.inc_map = parse_mappings(cfg["incrementing.column.mapping"] or {}, "incrementing.column.mapping", false)
    task.ts_map = parse_mappings(cfg["timestamp.columns.mapping"] or {}, "timestamp.columns.mapping", true)
    task.db = sqlite.open(cfg["connection.url"], { create = false, busy_timeout_ms = BUSY_TIMEOUT_MS })
    task.queriers, task.by_name, task.known, task.assigned = {}, {}, {}, {}
    task.keep = table_filter(cfg)
    task.next_table_poll, task.rr = 0, 0
    if the_query(cfg) ~= "" then
      task.fixed = true
      add_querier(task, nil)
      return
    end
    task.fixed = #(cfg["table.whitelist"] or {}) > 0
    if cfg._tables then
      for _, name in ipairs(cfg._known or {}) do task.known[name] = true end
      for _, name in ipairs(cfg._tables) do
        task.assigned[name] = true
        add_querier(task, name)
      end
      task.next_table_poll = now_ms() + cfg["table.poll.interval.ms"]
    elseif task.fixed then
      for _, name in ipairs(cfg["table.whitelist"]) do
        if not task.by_name[name] then add_querier(task, name) end
      end
    end
    local names = {}
    for i, q in ipairs(task.queriers) do names[i] = q.table end
    task.log.info("mode %s, tables: %s", cfg.mode, #names > 0 and concat(names, ", ") or "(none yet)")
  end,

  poll = function(task)
    if task.jdbc then return jdbc.source.poll(task) end
    local cfg = task.config
    local now = (task.now or now_ms)()
    refresh_tables(task, now)
    local out, qs = {}, task.queriers
    local nq = #qs
    if nq == 0 then return nil end
    -- Start at a different querier each poll so one busy table cannot starve the others.
    task.rr = task.rr % nq + 1
    local max = cfg["batch.max.rows"]
    for j = 0, nq - 1 do
      local q = qs[(task.rr + j - 1) % nq + 1]
      if q and (q.querying or now >= q.next_at) then
        local ok, err = pcall(function()
          if not q.querying then start_query(task, q, now) end
          if fetch(task, q, out, max) then
            q.querying = false
            q.next_at = now + cfg["poll.interval.ms"]
          end
        end)
        if not ok then
          stop_query(q)
          if sqlite.is_busy(err) then
            q.next_at = now + BUSY_RETRY_MS
            if now - (task.busy_logged or 0) > 10000 then
              task.busy_logged = now
              task.log.warn("%s: the database is locked; trying again", q.table or "query")
            end
          elseif q.table and not task.fixed and not table_exists(task, q.table) then
            task.log.info("table %s is gone; no longer polled", q.table)
            drop_querier(task, q)
          else
            error(err, 0)
          end
        end
      end
    end
    if out[1] == nil then return nil end
    return out
  end,

  close = function(task)
    if task.jdbc then return jdbc.source.close(task) end
    if task.db then task.db:close() end
    task.db = nil
  end,
}
