--- _sqlite_dialect: the SQLite dialect of the JDBC core (_jdbc), served by the connectors
-- sqlite_source / sqlite_sink (JdbcSourceConnector / JdbcSinkConnector) when connection.url is
-- jdbc:sqlite:PATH or a plain path. Depends on _sqlite (the FFI binding to libsqlite3) and _jdbc.
--
-- What is SQLite's lives here: identifier quoting with backticks, "?" placeholders, the
-- timestamp expression that reads TEXT / INTEGER epoch ms / REAL Julian days as one (ts_expr),
-- column kinds from declared types and storage classes, the INTEGER PRIMARY KEY as the
-- default incrementing column and as the record key, busy-database handling, and the two
-- engines: the source steps a prepared statement across polls (the result set is never held
-- whole) and reads typed columns; the sink prepares a statement per table and record shape and
-- binds values by type (INSERT OR REPLACE for upserts; schemaless JSON objects too). Table
-- selection, task split, statements of the modes, offsets, mapping keys, Decimal text,
-- connection attempts and the exactly.once offset bookkeeping are _jdbc's, shared with the
-- server dialects. What the user sees is described in sqlite_source / sqlite_sink.
local connect = require "luaconnect"
local sqlite = require "_sqlite"
local jdbc = require "_jdbc"
local ffi = require "ffi"

local M = { name = "SqliteDatabaseDialect", quote = sqlite.quote, source = {}, sink = {} }

--- "?" placeholders (sqlite3_bind_* by position).
function M.placeholder() return "?" end

--- jdbc:sqlite:PATH or a plain path, as the dialect's URL (_jdbc.connect's interface).
function M.parse_url(url) return { url = url } end

--- Opens the database for the sink (created when missing; busy timeout 5 s); raises "cannot open ...".
function M.connect(u)
  return sqlite.open(u.url, { busy_timeout_ms = 5000 })
end

-- Source ------------------------------------------------------------------------------------

do
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

  --- The SQL expression that maps a timestamp value x (TEXT, INTEGER epoch ms, REAL Julian day)
  -- to epoch ms, or NULL when it is not a date.
  function M.ts_expr(x)
    return format("CASE typeof(%s) WHEN 'integer' THEN %s WHEN 'real' THEN "
      .. "CAST(round((%s - 2440587.5) * 86400000.0) AS INTEGER) ELSE "
      .. "CAST(round((julianday(%s) - 2440587.5) * 86400000.0) AS INTEGER) END", x, x, x, x)
  end
  local ts_expr = M.ts_expr
  local table_filter, group, copy = jdbc.table_filter, jdbc.group, jdbc.copy
  local name_hash, columns_for = jdbc.name_hash, jdbc.columns_for

  local function the_query(cfg)
    local q = cfg.query or ""
    if q == "" then q = cfg["query.masked"] or "" end
    return q
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

  local function ts_offset(ms, out)
    return jdbc.ts_offset(ms and ms * 1000, out)
  end

  local function new_querier(task, name)
    local cfg, mode = task.config, task.config.mode
    local q = { table = name, mode = mode, querying = false, next_at = 0, schemas = {} }
    if name then
      q.topic = cfg["topic.prefix"] .. name
      q.partition = { protocol = "1", table = name }
      q.from = task.qi(name)
    else
      q.topic = cfg["topic.prefix"]
      q.partition = { query = "query" }
    end
    q.inc_col, q.ts_cols = columns_for(task, name)
    q.uses_inc = mode == "incrementing" or mode == "timestamp+incrementing"
    q.uses_ts = mode == "timestamp" or mode == "timestamp+incrementing"
    if mode ~= "bulk" then
      local inc, us = jdbc.resume(task, q.partition, name)
      q.inc, q.ts = inc, us and floor(us / 1000) -- SQLite's precision: milliseconds
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

  -- Confluent's validateColumnsExist and validateNonNullable (_jdbc's), the rowid counting as
  -- NOT NULL.
  local function validate_table(task, q, info)
    jdbc.validate_columns(task, q, info, rowid_column(info))
  end

  -- The statement Confluent's queriers build (criteria appended, then query.suffix); the
  -- timestamp goes through ts_expr, so TEXT, INTEGER and REAL forms compare as one.
  local function build_sql(task, q)
    local cfg = task.config
    return jdbc.build_sql(q, task.qi, the_query(cfg), cfg["query.suffix"], M)
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
      sch = { value = connect.freeze_schema { type = "struct", fields = fl, optional = false,
        name = q.table } }
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
    return false
  end

  -- The next row of q's statement as _jdbc.fetch reads it: record, incrementing value,
  -- timestamp (epoch ms); nil at the end of the result.
  local function read_row(task, q)
    if not next_row(q) then return nil end
    if not q.setup then setup_columns(task, q) end
    local h = q.st._h
    local rec = read_record(task, q, h)
    local inc = q.uses_inc and incrementing_of_row(q, h) or nil
    return rec, inc, q.uses_ts and ts_of_row(task, q, h) or nil
  end

  -- Appends up to max records of q to out (_jdbc.fetch). Returns true when the result set is
  -- exhausted.
  local function fetch(task, q, out, max)
    return jdbc.fetch(task, q, out, max, read_row, ts_offset)
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

  --- Splits the tables over the tasks as Confluent does; a query runs in one task.
  function M.source.task_configs(_, cfg, max_tasks)
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
  end

  --- Opens the database and builds the queriers of this task's tables.
  function M.source.open(d, task)
    local cfg = task.config
    jdbc.source.setup(d, task)
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
  end

  --- One poll: up to batch.max.rows records, starting at a different table each time.
  function M.source.poll(task)
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
  end

  --- Closes the database.
  function M.source.close(task)
    if task.db then task.db:close() end
    task.db = nil
  end
end

-- Sink ----------------------------------------------------------------------------------------

do
  local null, encode, is_float = connect.null, connect.json.encode, connect.is_float
  local quote, is_busy = sqlite.quote, sqlite.is_busy
  local format, concat, floor = string.format, table.concat, math.floor
  local type, pairs, ipairs, tostring, tonumber = type, pairs, ipairs, tostring, tonumber
  local pcall, error = pcall, error

  local DECIMAL = "org.apache.kafka.connect.data.Decimal"
  local DATE = "org.apache.kafka.connect.data.Date"
  local TIME = "org.apache.kafka.connect.data.Time"
  local TIMESTAMP = "org.apache.kafka.connect.data.Timestamp"

  local SQL_TYPE = {
    BOOLEAN = "INTEGER", INT8 = "INTEGER", INT16 = "INTEGER", INT32 = "INTEGER", INT64 = "INTEGER",
    FLOAT32 = "REAL", FLOAT64 = "REAL", STRING = "TEXT", BYTES = "BLOB",
  }

  -- Where a column's value comes from (_jdbc.fields_metadata's f.src).
  local SRC_VALUE_FIELD, SRC_KEY_FIELD, SRC_KEY, SRC_VALUE = jdbc.SRC_VALUE_FIELD, jdbc.SRC_KEY_FIELD,
    jdbc.SRC_KEY, jdbc.SRC_VALUE
  local SRC_TOPIC, SRC_PARTITION = jdbc.SRC_TOPIC, jdbc.SRC_PARTITION
  local describe_value, connect_type = jdbc.describe_value, jdbc.connect_type
  -- How it is bound: as it is, as a BLOB, or through a conversion/check function.
  local OP_PLAIN, OP_BLOB, OP_CONV = 0, 1, 2

  -- Plan-cache keys for records that have no schema table to key on.
  local NO_KEY, PRIMITIVE_KEY, PRIMITIVE_VALUE, TOMBSTONE = {}, {}, {}, {}

  local function dq(name) -- a table as Confluent's messages show it (TableId.toString)
    return '"' .. name .. '"'
  end

  -- Values ----------------------------------------------------------------------------------

  local TWO53 = 2 ^ 53

  -- A Connect Decimal's bytes as decimal text; SQLite's NUMERIC affinity turns it into an INTEGER
  -- or REAL as sqlite-jdbc's setBigDecimal.
  local decimal_text = jdbc.decimal_text

  -- SQLite's type affinity of a declared column type (sqlite.org/datatype3.html, 3.1).
  local function affinity(decl)
    local d = (decl or ""):upper()
    if d:find("INT", 1, true) then return "INTEGER" end
    if d:find("CHAR", 1, true) or d:find("CLOB", 1, true) or d:find("TEXT", 1, true) then return "TEXT" end
    if d == "" or d:find("BLOB", 1, true) then return "BLOB" end
    if d:find("REAL", 1, true) or d:find("FLOA", 1, true) or d:find("DOUB", 1, true) then return "REAL" end
    return "NUMERIC"
  end

  local function fail_fit(c, v)
    error(format("field '%s': value %s does not fit column %s %s of table %s", c.name,
      describe_value(v), quote(c.name), c.decl ~= "" and c.decl or "(no type)", dq(c.table)), 0)
  end

  -- Conversions (OP_CONV): called with a non-null value and the column descriptor.
  local function conv_numeric_text(v, c) -- a string into a numeric column must look like a number
    if tonumber(v) == nil then fail_fit(c, v) end
    return v
  end

  local function conv_schemaless(v, c) -- a schemaless value: JSON text for objects and arrays
    local t = type(v)
    if t == "table" then
      if c.numeric then fail_fit(c, v) end
      local s, err = encode(v)
      if not s then error(format("field '%s': %s", c.name, tostring(err)), 0) end
      return s
    elseif t == "string" and c.numeric and tonumber(v) == nil then
      fail_fit(c, v)
    end
    return v
  end

  local function conv_decimal(v, c)
    if type(v) == "string" then return decimal_text(v, c.scale) end
    return v -- decimal.format=NUMERIC: already a number
  end

  local function conv_date(v) -- days since the epoch -> epoch milliseconds (sqlite-jdbc's INTEGER dates)
    return v * 86400000
  end

  -- Schema'd fields ---------------------------------------------------------------------------

  local function sql_type_of_schema(schema)
    local name = schema.name
    if name == DECIMAL or name == DATE or name == TIME or name == TIMESTAMP then return "NUMERIC" end
    local t = connect_type(schema)
    local s = SQL_TYPE[t]
    if not s then
      error(format("%s (%s) type doesn't have a mapping to the SQL database column type",
        name or "null", t), 0)
    end
    return s
  end

  local function sql_literal(v, schema)
    if schema and schema.name == DATE and type(v) == "number" then v = v * 86400000 end
    local t = type(v)
    if t == "boolean" then return v and "1" or "0" end
    if t == "cdata" and not is_float(v) then return (tostring(v):gsub("[UL]+$", "")) end
    if t == "number" or t == "cdata" then
      v = tonumber(v)
      if v == floor(v) and v >= -TWO53 and v <= TWO53 then return format("%d", v) end
      return format("%.17g", v)
    end
    if t == "string" then
      if schema and schema.type == "bytes" then
        if schema.name == DECIMAL then
          return decimal_text(v, tonumber(schema.parameters and schema.parameters.scale) or 0)
        end
        return "X'" .. v:gsub(".", function(ch) return format("%02X", ch:byte()) end) .. "'"
      end
      return "'" .. v:gsub("'", "''") .. "'"
    end
    return nil
  end

  -- Tables ------------------------------------------------------------------------------------

  -- The table's columns by lower-cased name, or nil when it does not exist (cached until a
  -- rollback or DDL).
  local function table_info(S, tname)
    local t = S.tables[tname]
    if t ~= nil then return t or nil end
    local info = S.db:table_info(tname)
    if #info == 0 then
      S.tables[tname] = false
      return nil
    end
    t = {}
    for _, c in ipairs(info) do t[c.name:lower()] = c end
    S.tables[tname] = t
    return t
  end

  local function column_spec(f)
    local spec = quote(f.name) .. " " .. (f.sqltype or sql_type_of_schema(f.schema))
    local lit = f.default ~= nil and f.default ~= null and sql_literal(f.default, f.schema)
    if lit then
      return spec .. " DEFAULT " .. lit
    elseif f.optional then
      return spec .. " NULL"
    end
    return spec .. " NOT NULL"
  end

  local function create_table(S, tname, fm)
    jdbc.check_create(S, tname)
    local cols, pks = {}, {}
    for _, f in ipairs(fm.ordered) do
      if f.schema or f.sqltype then cols[#cols + 1] = "\n" .. column_spec(f) end
      if f.pk then pks[#pks + 1] = quote(f.name) end
    end
    local sql = "CREATE TABLE " .. quote(tname) .. " (" .. concat(cols, ",")
    if #pks > 0 then sql = sql .. ",\nPRIMARY KEY(" .. concat(pks, ",") .. ")" end
    sql = sql .. ")"
    S.log.info("Creating table with sql: %s", sql)
    S.db:exec(sql)
    S.tables[tname] = nil
  end

  -- Adds the columns the record has and the table lacks (Confluent's amendIfNecessary).
  local function amend_table(S, tname, t, fm)
    local missing = {}
    for _, f in ipairs(fm.ordered) do
      -- A schemaless null says nothing about the column's type: it is left out until a value comes.
      if not t[f.name:lower()] and (f.schema or f.sqltype) then missing[#missing + 1] = f end
    end
    if #missing == 0 then return t end
    local texts = jdbc.check_amend(S, tname, missing)
    local sqls = {}
    for i, f in ipairs(missing) do
      sqls[i] = "ALTER TABLE " .. quote(tname) .. " ADD " .. column_spec(f)
    end
    jdbc.log_amend(S, texts, sqls)
    for _, sql in ipairs(sqls) do S.db:exec(sql) end
    S.tables[tname] = nil
    return table_info(S, tname)
  end

  -- Statements --------------------------------------------------------------------------------

  local function statement(S, sql)
    local st = S.stmts[sql]
    if not st then
      st = S.db:prepare(sql)
      S.stmts[sql] = st
    end
    return st
  end

  -- The bind descriptor of field f for a column of table tname (described by col).
  local function column_binding(tname, f, col)
    local decl = col and col.type or ""
    local aff = affinity(decl)
    local c = { name = f.name, table = tname, decl = decl, src = f.src, path = f.path, op = OP_PLAIN,
      numeric = aff == "INTEGER" or aff == "REAL" or aff == "NUMERIC" }
    local schema = f.schema
    if f.schemaless or not schema then
      c.op, c.conv = OP_CONV, conv_schemaless
      return c
    end
    local t = connect_type(schema)
    if schema.name == DECIMAL then
      c.op, c.conv, c.scale = OP_CONV, conv_decimal, tonumber(schema.parameters and schema.parameters.scale) or 0
    elseif schema.name == DATE then
      c.op, c.conv = OP_CONV, conv_date
    elseif t == "BYTES" then
      if c.numeric then
        error(format("field '%s' (BYTES) does not fit column %s %s of table %s", f.name, quote(f.name),
          decl, dq(tname)), 0)
      end
      c.op = OP_BLOB
    elseif t == "STRING" then
      if c.numeric then c.op, c.conv = OP_CONV, conv_numeric_text end
    elseif not SQL_TYPE[t] then
      error(format("field '%s': Unsupported source data type: %s", f.name, t), 0)
    end
    return c
  end

  -- Builds the statement and bindings for a table and record shape (creating or widening
  -- the table first when allowed).
  local function build_plan(S, tname, rec, tombstone)
    local fm = jdbc.fields_metadata(S, tname, rec, tombstone, SQL_TYPE)
    local t = table_info(S, tname)
    if tombstone then
      if not t then return false end -- no table, nothing to delete
    else
      if not t then
        create_table(S, tname, fm)
        t = table_info(S, tname)
      end
      t = amend_table(S, tname, t, fm)
    end
    local keys, nonkeys = {}, {}
    for _, f in ipairs(fm.keys) do keys[#keys + 1] = f end
    for _, f in ipairs(fm.nonkeys) do
      if t[f.name:lower()] then nonkeys[#nonkeys + 1] = f end -- drops schemaless nulls with no column
    end
    local mode, q = S.insert_mode, quote(tname)
    local sql, order
    if tombstone then
      if #keys == 0 then error("Require primary keys to support delete", 0) end
      local where = {}
      for i, f in ipairs(keys) do where[i] = quote(f.name) .. " = ?" end
      sql, order = "DELETE FROM " .. q .. " WHERE " .. concat(where, " AND "), keys
    elseif mode == "update" then
      if #nonkeys == 0 then return false end -- nothing to set: the key is the whole row
      local set, where = {}, {}
      order = {}
      for i, f in ipairs(nonkeys) do set[i] = quote(f.name) .. " = ?"; order[#order + 1] = f end
      for i, f in ipairs(keys) do where[i] = quote(f.name) .. " = ?"; order[#order + 1] = f end
      sql = "UPDATE " .. q .. " SET " .. concat(set, ", ")
      if #where > 0 then sql = sql .. " WHERE " .. concat(where, " AND ") end
    else
      if mode == "upsert" and #keys == 0 then
        error(format("Write to table '%s' in UPSERT mode requires key field names to be known, check "
          .. "the primary key configuration", dq(tname)), 0)
      end
      local names, marks = {}, {}
      order = {}
      for _, f in ipairs(keys) do order[#order + 1] = f end
      for _, f in ipairs(nonkeys) do order[#order + 1] = f end
      for i, f in ipairs(order) do names[i], marks[i] = quote(f.name), "?" end
      sql = (mode == "upsert" and "INSERT OR REPLACE INTO " or "INSERT INTO ") .. q .. "("
        .. concat(names, ",") .. ") VALUES(" .. concat(marks, ",") .. ")"
    end
    local cols = {}
    for i, f in ipairs(order) do cols[i] = column_binding(tname, f, t[f.name:lower()]) end
    return { st = statement(S, sql), cols = cols, n = #cols, sql = sql }
  end

  -- Writing ------------------------------------------------------------------------------------

  local shape_buf = {}

  -- The key set of a schemaless object as a string (nulls marked, since a null alone does not
  -- make a column). Tables the converter builds for one key set iterate in one order, so this
  -- stays one cache entry per shape in practice.
  local function shape_of(t)
    local n = 0
    for k, v in pairs(t) do
      n = n + 1
      shape_buf[n] = v == null and k .. "\1" or k
    end
    return concat(shape_buf, "\0", 1, n)
  end

  local function plan_for(S, tname, rec, value, key)
    local tombstone = value == nil
    local vkey = tombstone and TOMBSTONE or rec.value_schema
      or (type(value) == "table" and shape_of(value)) or PRIMITIVE_VALUE
    local kkey = false
    if S.key_matters then
      kkey = key == nil and NO_KEY or rec.key_schema
        or (type(key) == "table" and shape_of(key)) or PRIMITIVE_KEY
    end
    local by_table = S.plans[tname]
    if not by_table then
      by_table = setmetatable({}, { __mode = "k" })
      S.plans[tname] = by_table
    end
    local by_value = by_table[vkey]
    if not by_value then
      by_value = setmetatable({}, { __mode = "k" })
      by_table[vkey] = by_value
    end
    local plan = by_value[kkey]
    if plan == nil then
      plan = build_plan(S, tname, rec, tombstone)
      -- "Nothing to delete" depends on whether the table exists yet: do not keep it.
      if plan or not tombstone then
        S.nplans = S.nplans + 1
        if S.nplans > 10000 then -- endless distinct schemaless key sets: start over
          S.plans, S.nplans = {}, 0
        end
        by_value[kkey] = plan
      end
    end
    return plan
  end

  local at_index -- the record being written, so a failure can name it

  -- Writes records[1..upto] but the skipped ones inside the open transaction.
  local function write_range(S, records, upto, skipped)
    local next_offsets, table_of = S.eos and S.next_offsets, S.table_of
    for i = 1, upto do
      at_index = i
      local rec = records[i]
      local topic = rec.topic
      local done = skipped and skipped[i]
      if not done and next_offsets then
        local by_partition = next_offsets[topic]
        local nx = by_partition and by_partition[rec.partition]
        done = nx ~= nil and rec.offset ~= nil and rec.offset < nx
      end
      if not done then
        local value, key = rec.value, rec.key
        if value == nil and not S.delete_enabled then jdbc.reject_tombstone(S, rec) end
        local tname = table_of[topic] or jdbc.table_name(S, topic)
        local plan = plan_for(S, tname, rec, value, key)
        if plan then
          local st, cols = plan.st, plan.cols
          for j = 1, plan.n do
            local c = cols[j]
            local src, v = c.src, nil
            if src == SRC_VALUE_FIELD then
              v = value[c.path]
            elseif src == SRC_KEY_FIELD then
              v = key[c.path]
            elseif src == SRC_KEY then
              v = key
            elseif src == SRC_VALUE then
              v = value
            elseif src == SRC_TOPIC then
              v = topic
            elseif src == SRC_PARTITION then
              v = rec.partition
            else
              v = rec.offset
            end
            local op = c.op
            if op == OP_PLAIN or v == nil or v == null then
              st:bind(j, v)
            elseif op == OP_BLOB then
              st:bind_blob(j, v)
            else
              st:bind(j, c.conv(v, c))
            end
          end
          st:step()
          st:reset()
        end
      end
    end
    at_index = nil
  end

  -- Offsets (exactly once) -----------------------------------------------------------------------

  local function ensure_offsets_table(S)
    S.db:exec("CREATE TABLE IF NOT EXISTS " .. quote(S.offsets_table) .. " (\n"
      .. "`connector` TEXT NOT NULL,\n`topic` TEXT NOT NULL,\n`partition` INTEGER NOT NULL,\n"
      .. "`next_offset` INTEGER NOT NULL,\nPRIMARY KEY(`connector`,`topic`,`partition`))")
  end

  -- Reads the stored next offsets of this connector into S.next_offsets.
  local function load_offsets(S)
    local st = S.db:prepare("SELECT `topic`, `partition`, `next_offset` FROM " .. quote(S.offsets_table)
      .. " WHERE `connector` = ?")
    st:bind(1, S.name)
    local out = {}
    local ok, err = pcall(function()
      while st:step() do
        local topic, partition, nx = st:text(1), st:int(2), tonumber(st:int(3))
        out[topic] = out[topic] or {}
        out[topic][partition] = nx
      end
    end)
    st:finalize()
    if not ok then error(err, 0) end
    S.next_offsets = out
  end

  -- Stores the next offset of every partition in records[1..upto] (in the open transaction);
  -- returns them so the cache is updated once the transaction committed.
  local function store_offsets(S, records, upto)
    local list = jdbc.offsets_to_store(S.next_offsets, records, upto)
    local st = statement(S, "INSERT OR REPLACE INTO " .. quote(S.offsets_table)
      .. "(`connector`,`topic`,`partition`,`next_offset`) VALUES(?,?,?,?)")
    for _, e in ipairs(list) do
      st:bind(1, S.name)
      st:bind(2, e[1])
      st:bind(3, e[2])
      st:bind(4, e[3])
      st:step()
      st:reset()
    end
    return list
  end

  -- Batches ------------------------------------------------------------------------------------

  -- After a rollback: what we knew about tables may be undone, and a failed statement must not
  -- be reused half-way. Start from scratch (rare path).
  local function forget(S)
    pcall(S.db.rollback, S.db)
    for _, st in pairs(S.stmts) do st:finalize() end
    S.stmts, S.plans, S.tables, S.nplans = {}, {}, {}, 0
  end

  -- One transaction writing records[1..upto] but the skipped ones (and their offsets).
  -- Returns true, or false, the error and the index of the record it belongs to (nil: the batch).
  local function transaction(S, records, upto, skipped)
    local db = S.db
    local ok, err = pcall(db.begin, db, "immediate")
    if not ok then return false, err, nil end
    at_index = nil
    ok, err = pcall(write_range, S, records, upto, skipped)
    if not ok then return false, err, at_index end
    local stored
    if S.eos then
      ok, stored = pcall(store_offsets, S, records, upto)
      if not ok then return false, stored, nil end
    end
    ok, err = pcall(db.commit, db)
    if not ok then return false, err, nil end
    if stored then jdbc.offsets_stored(S.next_offsets, stored) end
    return true
  end

  -- The put() loop is _jdbc's (retries, bad records, errors.tolerance); these are SQLite's parts.
  local PUT_OPS = {
    transaction = transaction,
    after_failure = forget,
    retryable = function(_, err) return is_busy(err) end,
    reopen = function() end,
  }

  --- Writes one batch in one transaction (_jdbc.sink_put: a bad record is skipped or fails the
  -- task naming it; "database is locked" retries max.retries times).
  function M.sink.put(task, records)
    return jdbc.sink_put(task, task.sink, PUT_OPS, records)
  end

  -- Task ------------------------------------------------------------------------------------------

  -- Opens connection.url (connection.attempts times, connection.backoff.ms apart: _jdbc's).
  local function open_db(task)
    local url = task.config["connection.url"]
    local db = jdbc.connect(M, task.config, task.log)
    -- WAL unless the URL chooses: a commit per batch costs one fsync instead of several
    -- (2x the throughput) and readers of the table no longer block the writer.
    if not url:lower():find("journal_mode=", 1, true) then
      local wal_ok, err = pcall(db.exec, db, "PRAGMA journal_mode=WAL")
      if not wal_ok then task.log.warn("cannot switch %s to WAL: %s", url, tostring(err)) end
    end
    return db
  end

  -- A list as a set, nil when empty (fields.whitelist: empty means every field).
  local function set_of(list)
    if not list or #list == 0 then return nil end
    local s = {}
    for _, v in ipairs(list) do s[v] = true end
    return s
  end

  --- Opens the database (and the offsets table with exactly.once) for a task.
  function M.sink.open(_, task)
    local cfg = task.config
    local pk_mode = (cfg["pk.mode"] or "none"):lower()
    local delete_enabled = cfg["delete.enabled"] == true
    if delete_enabled and pk_mode ~= "record_key" then
      error("Primary key mode must be 'record_key' when delete support is enabled", 0)
    end
    local tolerance = cfg["errors.tolerance"]
    local S = {
      name = task.name, log = task.log,
      insert_mode = (cfg["insert.mode"] or "insert"):lower(),
      pk_mode = pk_mode,
      pk_fields = cfg["pk.fields"] or {},
      whitelist = set_of(cfg["fields.whitelist"]),
      delete_enabled = delete_enabled,
      auto_create = cfg["auto.create"] == true,
      auto_evolve = cfg["auto.evolve"] == true,
      table_format = (cfg["table.name.format"] or "${topic}"):match("^%s*(.-)%s*$"),
      string_column = cfg["string.output.value.column.name"] or "record_value",
      max_retries = cfg["max.retries"] or 10,
      retry_backoff_ms = cfg["retry.backoff.ms"] or 3000,
      eos = cfg["exactly.once"] == true,
      offsets_table = cfg["exactly.once.offsets.table"] or "__luaconnect_offsets",
      tolerant = type(tolerance) == "string" and tolerance:lower() == "all",
      stmts = {}, plans = {}, tables = {}, nplans = 0, table_of = {}, next_offsets = {},
    }
    S.key_matters = pk_mode == "record_key" or delete_enabled
    task.log.info("Initializing writer using SQL dialect: SqliteDatabaseDialect")
    S.db = open_db(task)
    task.sink = S
    if S.eos then
      ensure_offsets_table(S)
      load_offsets(S)
    end
  end

  --- With exactly.once: where each assigned partition resumes (the stored next offsets).
  function M.sink.open_partitions(task, partitions)
    local S = task.sink
    if not S.eos then return nil end
    load_offsets(S) -- another task may have written them before this assignment
    return jdbc.resume_partitions(S.next_offsets, partitions)
  end

  --- Finalizes the statements and closes the database.
  function M.sink.close(task)
    local S = task.sink
    if not S then return end
    for _, st in pairs(S.stmts) do st:finalize() end
    S.stmts = {}
    if S.db then
      pcall(S.db.rollback, S.db)
      S.db:close()
    end
    task.sink = nil
  end
end

return M
