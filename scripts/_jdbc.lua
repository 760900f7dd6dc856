--- _jdbc: the JDBC core: Confluent's JDBC source modes and offsets and its sink's
-- insert/upsert/pk.mode/auto.create/auto.evolve/delete, written once over a dialect module
-- (_pg, _mysql, _sqlite_dialect) that owns the driver, quoting, type mapping and upsert syntax.
-- sqlite_source / sqlite_sink are the connectors (JdbcSourceConnector, JdbcSinkConnector): they
-- hold the config and hand every task to this core with the dialect of its connection.url.
--
-- What every dialect shares lives here: table selection (whitelist/blacklist, include/exclude
-- regexes), the task split and the hash that gives a new table to one task, the statements of
-- the modes, offsets (resume, Confluent's timestamp fields), the mapping keys, Decimal bytes,
-- connection attempts and the exactly.once offset bookkeeping. A dialect with its own reading
-- or writing engine (SQLite: prepared statements stepped across polls, typed binding) exports
-- it as d.source / d.sink; the server dialects use M.source / M.sink below.
--
-- Offsets are Confluent's (OffsetProtocols, TimestampIncrementingOffset): partition
-- {"protocol":"1","table":"<db>.<schema>.<table>"} or {"query":"query"}; offset
-- {"incrementing":N} and/or {"timestamp":EPOCH_MS,"timestamp_nanos":NANOS_OF_SECOND}.
local connect = require "luaconnect"

local null, float = connect.null, connect.float
local format, concat, floor = string.format, table.concat, math.floor

local M = {}

local TIMESTAMP, DATE, TIME, DECIMAL = "org.apache.kafka.connect.data.Timestamp",
  "org.apache.kafka.connect.data.Date", "org.apache.kafka.connect.data.Time",
  "org.apache.kafka.connect.data.Decimal"

--- The server dialect module for a connection.url, or nil for SQLite (the connectors then use
-- _sqlite_dialect, which depends on this module).
function M.dialect_of(url)
  if type(url) ~= "string" then return nil end
  if url:find("^jdbc:postgresql:") then return require "_pg" end
  if url:find("^jdbc:mysql:") or url:find("^jdbc:mariadb:") then return require "_mysql" end
  return nil
end

local function sleep_ms(ms)
  if ms > 0 then require("ffi").C.poll(nil, 0, ms) end
end
M.sleep_ms = sleep_ms
pcall(require("ffi").cdef, "int poll(void *fds, unsigned long nfds, int timeout);")
pcall(require("ffi").cdef, "long long strtoll(const char *s, char **end, int base);")

-- Integer text -> a Lua number within 2^53, else int64_t cdata (the codec writes it exactly).
local function int_of(v)
  local n = tonumber(v)
  if n and n > -2 ^ 53 and n < 2 ^ 53 then return n end
  return require("ffi").C.strtoll(v, nil, 10)
end
M.int_of = int_of

--- Connects with connection.attempts tries connection.backoff.ms apart; raises the last
-- database message.
function M.connect(d, cfg, log)
  local u, why = d.parse_url(cfg["connection.url"])
  if not u then error("connection.url: " .. why, 0) end
  local attempts, backoff = cfg["connection.attempts"] or 3, cfg["connection.backoff.ms"] or 10000
  local last
  for a = 1, math.max(1, attempts) do
    local ok, c = pcall(d.connect, u, cfg["connection.user"], cfg["connection.password"],
      cfg["db.timezone"] or "UTC")
    if ok then c.db = u.db return c end
    last = c
    if a < attempts then
      log.warn("Unable to connect to database on attempt %d/%d. Will retry in %d ms: %s", a, attempts,
        backoff, tostring(c))
      sleep_ms(backoff)
    end
  end
  error(tostring(last), 0)
end

-- Time -----------------------------------------------------------------------------------

local function days_from_civil(y, m, d) -- proleptic Gregorian day number since 1970-01-01
  y = m <= 2 and y - 1 or y
  local era = floor(y / 400)
  local yoe = y - era * 400
  local mp = (m + 9) % 12
  local doy = floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + floor(yoe / 4) - floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

local function civil_from_days(z)
  z = z + 719468
  local era = floor(z / 146097)
  local doe = z - era * 146097
  local yoe = floor((doe - floor(doe / 1460) + floor(doe / 36524) - floor(doe / 146096)) / 365)
  local y = yoe + era * 400
  local doy = doe - (365 * yoe + floor(yoe / 4) - floor(yoe / 100))
  local mp = floor((5 * doy + 2) / 153)
  local d = doy - floor((153 * mp + 2) / 5) + 1
  local m = mp < 10 and mp + 3 or mp - 9
  return m <= 2 and y + 1 or y, m, d
end

--- ISO text "YYYY-MM-DD[ HH:MM:SS[.ffffff]][+HH[:MM]]" -> epoch microseconds (nil if not one).
function M.parse_ts_us(s)
  local y, mo, d, rest = s:match("^(%d%d%d%d+)-(%d%d)-(%d%d)(.*)$")
  if not y then return nil end
  local us = days_from_civil(tonumber(y), tonumber(mo), tonumber(d)) * 86400e6
  local h, mi, se, frac, tz = rest:match("^[ T](%d%d):(%d%d):(%d%d)(%.?%d*)(.*)$")
  if h then
    us = us + ((tonumber(h) * 60 + tonumber(mi)) * 60 + tonumber(se)) * 1e6
    if #frac > 1 then us = us + floor(tonumber("0" .. frac) * 1e6 + 0.5) end
    local sign, th, tm = tz:match("^([+-])(%d%d):?(%d*)")
    if sign then
      local off = (tonumber(th) * 60 + (tonumber(tm) or 0)) * 60e6
      us = sign == "+" and us - off or us + off
    end
  end
  if rest:find("BC", 1, true) then return nil end
  return us
end

--- Epoch microseconds -> "YYYY-MM-DD HH:MM:SS.ffffff" (UTC).
function M.format_ts_us(us)
  local days = floor(us / 86400e6)
  local rem = us - days * 86400e6
  local y, m, d = civil_from_days(days)
  local secs = floor(rem / 1e6)
  return format("%04d-%02d-%02d %02d:%02d:%02d.%06d", y, m, d, floor(secs / 3600), floor(secs / 60) % 60,
    secs % 60, rem - secs * 1e6)
end

--- Confluent's offset fields of a timestamp (epoch microseconds) into out.
function M.ts_offset(us, out)
  out = out or {}
  if us then
    out.timestamp = floor(us / 1000)
    out.timestamp_nanos = (us % 1e6) * 1000
  end
  return out
end

--- A stored offset's timestamp as epoch microseconds (Timestamp(ms).setNanos(nanos)).
function M.stored_us(off)
  local ms = off.timestamp
  if ms == nil or ms == null then return nil end
  ms = tonumber(ms)
  local nanos = off.timestamp_nanos
  if nanos ~= nil and nanos ~= null then
    return floor(ms / 1000) * 1e6 + floor(tonumber(nanos) / 1000)
  end
  return ms * 1000
end

-- Decimal ----------------------------------------------------------------------------------

--- Decimal text ("-12.345") at scale -> big-endian two's complement unscaled bytes.
function M.decimal_bytes(text, scale)
  local neg = text:sub(1, 1) == "-"
  local int, frac = text:gsub("^[-+]", ""):match("^(%d*)%.?(%d*)$")
  frac = (frac .. ("0"):rep(scale)):sub(1, scale)
  local digits = ((int or "") .. frac):gsub("^0+", "")
  local bytes = {}
  -- repeated division of the decimal digit string by 256
  while digits ~= "" do
    local q, r = {}, 0
    for i = 1, #digits do
      local x = r * 10 + digits:byte(i) - 48
      q[#q + 1] = floor(x / 256)
      r = x % 256
    end
    bytes[#bytes + 1] = r
    digits = concat(q):gsub("^0+", "")
  end
  if #bytes == 0 then bytes[1] = 0 end
  if bytes[#bytes] >= 128 then bytes[#bytes + 1] = 0 end
  if neg then
    local carry = 1
    for i = 1, #bytes do
      local x = 255 - bytes[i] + carry
      bytes[i], carry = x % 256, floor(x / 256)
    end
  end
  local out = {}
  for i = #bytes, 1, -1 do out[#out + 1] = string.char(bytes[i]) end
  return concat(out)
end

--- Decimal bytes (big-endian two's complement unscaled value) at scale -> decimal text.
function M.decimal_text(bytes, scale)
  local n = #bytes
  if n == 0 then return "0" end
  local b = { bytes:byte(1, n) }
  local neg = b[1] >= 128
  if neg then
    for i = 1, n do b[i] = 255 - b[i] end
    for i = n, 1, -1 do
      if b[i] == 255 then b[i] = 0 else b[i] = b[i] + 1 break end
    end
  end
  local acc = { 0 } -- base 1e7, least significant first
  for i = 1, n do
    local carry = b[i]
    for j = 1, #acc do
      local x = acc[j] * 256 + carry
      acc[j], carry = x % 1e7, floor(x / 1e7)
    end
    while carry > 0 do acc[#acc + 1], carry = carry % 1e7, floor(carry / 1e7) end
  end
  local parts = { format("%d", acc[#acc]) }
  for j = #acc - 1, 1, -1 do parts[#parts + 1] = format("%07d", acc[j]) end
  local s = concat(parts)
  if scale > 0 then
    if #s <= scale then s = ("0"):rep(scale - #s + 1) .. s end
    s = s:sub(1, #s - scale) .. "." .. s:sub(#s - scale + 1)
  elseif scale < 0 then
    s = s .. ("0"):rep(-scale)
  end
  return (neg and s:find("[1-9]")) and "-" .. s or s
end

-- Source ----------------------------------------------------------------------------------

--- The Connect schema and converter of a result column under numeric.mapping.
function M.column_schema(d, col, mapping, optional)
  local kind, prec, scale = d.column_kind(col.oid, col.typmod or col)
  local s = { type = kind, optional = optional, field = col.name }
  local conv
  if kind == "boolean" then
    conv = d.bool_of or function(v) return v == "t" end
  elseif kind == "int8" or kind == "int16" or kind == "int32" or kind == "int64" then
    conv = int_of
  elseif kind == "float" or kind == "double" then
    conv = function(v) local n = tonumber(v) if n == floor(n) then return float(n) end return n end
  elseif kind == "bytes" then
    conv = d.bytes_of
  elseif kind == "date" then
    s.type, s.name, s.version = "int32", DATE, 1
    conv = function(v) return floor(M.parse_ts_us(v) / 86400e6) end
  elseif kind == "time" then
    s.type, s.name, s.version = "int32", TIME, 1
    conv = function(v) return floor(M.parse_ts_us("1970-01-01 " .. v) / 1000) end
  elseif kind == "timestamp" then
    s.type, s.name, s.version = "int64", TIMESTAMP, 1
    conv = function(v) return floor(M.parse_ts_us(v) / 1000) end
  elseif kind == "numeric" then
    mapping = mapping or "none"
    if scale < 0 then -- unbounded NUMERIC: no fixed scale for a Decimal
      s.type = "double"
      conv = function(v) local n = tonumber(v) if n == floor(n) then return float(n) end return n end
    elseif scale == 0 and prec < 19 and (mapping == "best_fit" or mapping == "precision_only"
        or mapping == "best_fit_eager_double") then
      s.type = prec < 3 and "int8" or prec < 5 and "int16" or prec < 10 and "int32" or "int64"
      conv = int_of
    elseif (mapping == "best_fit" and prec <= 15) or mapping == "best_fit_eager_double" then
      s.type = "double"
      conv = function(v) local n = tonumber(v) if n == floor(n) then return float(n) end return n end
    else
      s.type, s.name, s.version = "bytes", DECIMAL, 1
      s.parameters = { scale = tostring(scale), ["connect.decimal.precision"] = tostring(prec) }
      conv = function(v) return M.decimal_bytes(v, scale) end
    end
  else
    s.type = "string"
  end
  return s, conv
end

local function copy(t)
  local o = {}
  for k, v in pairs(t) do o[k] = v end
  return o
end
M.copy = copy

--- A predicate (name, qualified) -> boolean for table.whitelist / table.blacklist /
-- table.include.list / table.exclude.list; qualified is "schema.name" where the dialect has
-- schemas (either form may be listed).
function M.table_filter(cfg)
  local wl, bl = cfg["table.whitelist"] or {}, cfg["table.blacklist"] or {}
  local inc_list, exc_list = cfg["table.include.list"] or {}, cfg["table.exclude.list"] or {}
  if #wl > 0 then
    local set = {}
    for _, t in ipairs(wl) do set[t] = true end
    return function(name, qualified) return set[name] == true or (qualified ~= nil and set[qualified] == true) end
  end
  local black = {}
  for _, t in ipairs(bl) do black[t] = true end
  local inc, exc = {}, {}
  if #inc_list > 0 or #exc_list > 0 then
    local regex = require "_regex"
    for _, p in ipairs(inc_list) do inc[#inc + 1] = assert(regex.compile(p)) end
    for _, p in ipairs(exc_list) do exc[#exc + 1] = assert(regex.compile(p)) end
  end
  local function hit(list, name, qualified)
    for _, re in ipairs(list) do
      if re:matches(name) or (qualified ~= nil and re:matches(qualified)) then return true end
    end
    return false
  end
  return function(name, qualified)
    if black[name] or (qualified ~= nil and black[qualified]) then return false end
    if #inc > 0 then
      if not hit(inc, name, qualified) then return false end
      if hit(exc, name, qualified) then return false end
    end
    return true
  end
end

--- FNV-1a of a table name: the stable task choice for tables created after the start.
function M.name_hash(s)
  local h = 2166136261
  for i = 1, #s do
    h = bit.bxor(h, s:byte(i))
    h = (h * 16777619) % 4294967296
  end
  return h
end

--- Confluent's ConnectorUtils.groupPartitions: n contiguous groups, the first ones larger.
function M.group(list, n)
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

local function the_query(cfg)
  local q = cfg.query or ""
  if q == "" then q = cfg["query.masked"] or "" end
  return q
end

local function source_tables(task)
  local cfg, d, c = task.config, task.d, task.c
  task.keep = task.keep or M.table_filter(cfg)
  local out = {}
  for _, t in ipairs(d.list_tables(c, cfg["schema.pattern"], cfg["table.types"] or { "TABLE" },
      cfg["catalog.pattern"])) do
    if task.keep(t.name, t.schema .. "." .. t.name) then out[#out + 1] = t end
  end
  return out
end

--- Parses timestamp.columns.mapping (multi: regex:[col1|col2]) or incrementing.column.mapping
-- (regex:col) into { {re, cols}, ... }; raises naming the key and the item.
function M.parse_mappings(list, key, multi)
  local out = {}
  if #list == 0 then return out end
  local regex = require "_regex"
  for _, item in ipairs(list) do
    local re_text, cols = item:match("^(.-):(.*)$")
    if not re_text or cols:find(":", 1, true) then
      error(format("%s: invalid format in '%s'. Expected '%s'", key, item,
        multi and "regex:[col1|col2|...]" or "regex:columnName"), 0)
    end
    local re, err = regex.compile((re_text:gsub("^%s+", ""):gsub("%s+$", "")))
    if not re then error(format("%s: invalid regular expression '%s': %s", key, re_text, err), 0) end
    cols = cols:gsub("^%s+", ""):gsub("%s+$", "")
    local names = {}
    if multi then
      if not cols:match("^%[.*%]$") then
        error(format("%s: columns list must be enclosed in square brackets in '%s'", key, item), 0)
      end
      for c in (cols:sub(2, -2) .. "|"):gmatch("([^|]*)|") do
        c = c:gsub("^%s+", ""):gsub("%s+$", "")
        if c == "" then error(format("%s: every column name should be non-empty in '%s'", key, item), 0) end
        names[#names + 1] = c
      end
    else
      if cols == "" then error(format("%s: column name cannot be empty in '%s'", key, item), 0) end
      names[1] = cols
    end
    out[#out + 1] = { re = re, cols = names }
  end
  return out
end

--- The incrementing column and timestamp columns of table name: from task.inc_map /
-- task.ts_map (the parsed mappings) when set, else incrementing.column.name and
-- timestamp.column.name.
function M.columns_for(task, name)
  local cfg = task.config
  local inc, ts = cfg["incrementing.column.name"] or "", cfg["timestamp.column.name"] or {}
  local function pick(list, key)
    local found
    for _, m in ipairs(list) do
      if m.re:matches(name) then
        if found then error(format("%s: table '%s' matches more than one mapping", key, name), 0) end
        found = m.cols
      end
    end
    return found
  end
  if name and #task.inc_map > 0 then
    local cols = pick(task.inc_map, "incrementing.column.mapping")
    if not cols then error(format("incrementing.column.mapping: no mapping matches table '%s'", name), 0) end
    inc = cols[1]
  end
  if name and #task.ts_map > 0 then
    local cols = pick(task.ts_map, "timestamp.columns.mapping")
    if not cols then error(format("timestamp.columns.mapping: no mapping matches table '%s'", name), 0) end
    ts = cols
  end
  return inc, ts
end

--- Where a querier of table name (nil: the query) starts: its stored offset under partition
-- (or protocol v0's {"table": name}), else timestamp.initial. Returns incrementing, timestamp
-- (epoch microseconds), either nil.
function M.resume(task, partition, name)
  local what = name and ("table " .. name) or "the query"
  local off = task.offsets:get(partition)
  if off == nil and name then off = task.offsets:get({ table = name }) end -- protocol v0
  if off ~= nil then
    local inc
    if off.incrementing ~= nil and off.incrementing ~= null then inc = off.incrementing end
    task.log.info("resuming %s after offset %s", what, connect.json.encode(off))
    return inc, M.stored_us(off)
  end
  local init = task.config["timestamp.initial"]
  if init ~= nil then
    local ms = init == -1 and (task.now or connect.now_ms)() or init
    task.log.info("no offset for %s; starting at timestamp %d (timestamp.initial)", what, ms)
    return nil, ms * 1000
  end
  return nil, nil
end

--- Confluent's validateColumnsExist and validateNonNullable for querier q of a table that
-- exists: cols = { {name, notnull}, ... } (names compared without case); rowid, when given,
-- names a column that is NOT NULL whatever it says (SQLite's INTEGER PRIMARY KEY). Raises.
function M.validate_columns(task, q, cols, rowid)
  local cfg = task.config
  local by_lower = {}
  for _, c in ipairs(cols) do by_lower[c.name:lower()] = c end
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
  if cfg["validate.non.null"] == false then return end
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

local function new_querier(task, t)
  local cfg, mode = task.config, task.config.mode
  local q = { mode = mode, next_at = 0, buf = nil }
  if t then
    q.table = t.name
    q.from = task.qi(t.schema) .. "." .. task.qi(t.name)
    q.topic = cfg["topic.prefix"] .. t.name
    q.partition = { protocol = "1", table = t.fqn or (t.catalog .. "." .. t.schema .. "." .. t.name) }
  else
    q.topic = cfg["topic.prefix"]
    q.partition = { query = "query" }
  end
  q.inc_col, q.ts_cols = M.columns_for(task, t and t.name)
  q.uses_inc = mode == "incrementing" or mode == "timestamp+incrementing"
  q.uses_ts = mode == "timestamp" or mode == "timestamp+incrementing"
  if q.uses_inc and q.inc_col == "" then
    error(format("mode '%s' needs incrementing.column.name for %s", mode, q.table or "the query"), 0)
  end
  if mode ~= "bulk" then q.inc, q.ts = M.resume(task, q.partition, t and t.name) end
  return q
end

--- The SELECT of a querier as Confluent's queriers build it (criteria, then query.suffix):
-- q.from is the quoted table (nil: query). The dialect d may set placeholder(i) (default $i)
-- and ts_expr(x), an expression wrapped around the timestamp column (SQLite's mixed forms;
-- the server dialects compare the column itself, so an index serves it).
function M.build_sql(q, qi, query, suffix, d)
  local sql = q.from and ("SELECT * FROM " .. q.from) or query
  local function col(c) return q.from and (q.from .. "." .. qi(c)) or qi(c) end
  local ph = d and d.placeholder or function(i) return "$" .. i end
  local ts
  if q.uses_ts then
    local parts = {}
    for i, c in ipairs(q.ts_cols) do parts[i] = col(c) end
    ts = #parts == 1 and parts[1] or ("COALESCE(" .. concat(parts, ",") .. ")")
    if d and d.ts_expr then ts = d.ts_expr(ts) end
  end
  local inc = q.uses_inc and col(q.inc_col)
  if q.mode == "incrementing" then
    sql = sql .. " WHERE " .. inc .. " > " .. ph(1) .. " ORDER BY " .. inc .. " ASC"
  elseif q.mode == "timestamp" then
    sql = sql .. " WHERE " .. ts .. " > " .. ph(1) .. " AND " .. ts .. " < " .. ph(2) .. " ORDER BY " .. ts .. " ASC"
  elseif q.mode == "timestamp+incrementing" then
    sql = sql .. " WHERE " .. ts .. " < " .. ph(1) .. " AND ((" .. ts .. " = " .. ph(2) .. " AND " .. inc
      .. " > " .. ph(3) .. ") OR " .. ts .. " > " .. ph(4) .. ") ORDER BY " .. ts .. "," .. inc .. " ASC"
  end
  if suffix and suffix ~= "" then sql = sql .. " " .. suffix end
  return sql
end

-- The connection a cursor runs on: the task's own, or, for a dialect whose streamed result
-- blocks its connection (MySQL's mysql_use_result), a second one kept for the cursors.
local function cursor_connection(task)
  if not task.d.stream_connection then return task.c end
  if not task.sc then task.sc = M.connect(task.d, task.config, task.log) end
  return task.sc
end

-- Ends q's cursor (read to the end or not); a streamed connection left mid-result is closed.
local function close_cursor(task, q)
  local cur = q.cur
  q.cur, q.buf, q.pending, task.open_q = nil, nil, nil, nil
  if cur and not pcall(cur.close, cur) and task.sc then
    pcall(task.sc.close, task.sc)
    task.sc = nil
  end
end

-- Starts q's query through a server-side cursor (PostgreSQL: DECLARE ... CURSOR and FETCH
-- batch.max.rows at a time; MySQL: mysql_use_result), so a table of any size is read in
-- batch.max.rows pieces with bounded memory, and reads its first piece and the schema.
local function run_query(task, q, now)
  local cfg = task.config
  if not q.sql then
    q.sql = M.build_sql(q, task.qi, the_query(cfg), cfg["query.suffix"])
    if cfg.query ~= "" or q.table then task.log.info("%s: %s", q.table and ("table " .. q.table) or "query", q.sql) end
  end
  local params = { n = 0 }
  local fts = M.format_ts_us
  local end_ts = fts((now - (cfg["timestamp.delay.interval.ms"] or 0)) * 1000)
  local begin_ts = fts(q.ts or 0)
  if q.mode == "incrementing" then
    params = { q.inc or -1, n = 1 }
  elseif q.mode == "timestamp" then
    params = { begin_ts, end_ts, n = 2 }
  elseif q.mode == "timestamp+incrementing" then
    params = { end_ts, begin_ts, q.inc or -1, begin_ts, n = 4 }
  end
  -- schema of this result (columns NOT NULL in the table are required fields), read before
  -- the cursor opens: a streamed result blocks its connection until it is read
  local notnull = {}
  if q.table then
    local tcols = task.d.table_columns(task.c, q.from_schema or task.schema_of[q.table], q.table)
    for _, c in ipairs(tcols) do notnull[c.name] = c.notnull end
    if not q.validated and #tcols > 0 then
      M.validate_columns(task, q, tcols)
      q.validated = true
    end
  end
  q.page = cfg["batch.max.rows"] or 1000
  q.cur = cursor_connection(task):cursor(q.sql, params)
  task.open_q = q
  local r = q.cur:fetch(q.page)
  local fields, convs = {}, {}
  for i, col in ipairs(r.columns) do
    fields[i], convs[i] = M.column_schema(task.d, col, cfg["numeric.mapping"], not notnull[col.name])
  end
  local function find(name, what)
    for i, col in ipairs(r.columns) do if col.name == name then return i end end
    error(format("%s column %s not found in %s", what, name, q.table or "the query"), 0)
  end
  q.inc_i = q.uses_inc and find(q.inc_col, "Incrementing")
  if q.uses_ts then
    q.ts_i = {}
    for i, c in ipairs(q.ts_cols) do q.ts_i[i] = find(c, "Timestamp") end
  end
  q.schema = connect.freeze_schema { type = "struct", fields = fields, optional = false,
    name = q.table }
  q.convs, q.cols, q.buf, q.pos = convs, r.columns, r.rows, 0
  q.last = #r.rows < q.page
end

-- The row after q's current one (the next piece is fetched when this one is read); nil at
-- the end of the result.
local function peek(q)
  if q.buf[q.pos + 1] == nil and not q.last then
    local r = q.cur:fetch(q.page)
    q.buf, q.pos, q.last = r.rows, 0, #r.rows < q.page
  end
  return q.buf[q.pos + 1]
end

local function row_ts(q, row)
  for _, i in ipairs(q.ts_i) do
    if row[i] then return M.parse_ts_us(row[i]) end
  end
end

local function row_record(q, row)
  local v = {}
  for i, col in ipairs(q.cols) do
    local x = row[i]
    if x == nil then v[col.name] = null
    else
      local conv = q.convs[i]
      v[col.name] = conv and conv(x) or x
    end
  end
  local rec = { topic = q.topic, value = v, value_schema = q.schema }
  if q.mode ~= "bulk" then rec.source_partition = q.partition end
  return rec
end

--- Up to max records of querier q's open result into out, with Confluent's offsets, for every
-- dialect: read(ctx, q) answers the next row's record, incrementing value and timestamp, or
-- nil at the end of the result; ts_offset(ts, out) makes the offset fields of a timestamp (in
-- the dialect's unit). q.inc / q.ts follow the records handed out. In timestamp mode a
-- timestamp becomes the offset only once the next row has a later one (Confluent's
-- TimestampTableQuerier), so a restart never skips rows sharing a timestamp: one row is held
-- back in q.pending for that. Returns true when the result is exhausted.
function M.fetch(ctx, q, out, max, read, ts_offset)
  local n, mode = #out, q.mode
  if mode == "timestamp" then
    for _ = 1, max do
      local cur = q.pending
      if not cur then
        local rec, _, ts = read(ctx, q)
        if not rec then return true end
        cur = { rec = rec, ts = ts }
      end
      q.pending = nil
      local rec, _, ts = read(ctx, q)
      local nxt = rec and { rec = rec, ts = ts }
      if nxt == nil or cur.ts < nxt.ts then q.ts = cur.ts end
      cur.rec.source_offset = ts_offset(q.ts)
      n = n + 1
      out[n] = cur.rec
      q.pending = nxt
      if not nxt then return true end
    end
    return false
  end
  for _ = 1, max do
    local rec, inc, ts = read(ctx, q)
    if not rec then return true end
    if mode == "incrementing" then
      q.inc = inc
      rec.source_offset = { incrementing = inc }
    elseif mode == "timestamp+incrementing" then
      q.inc, q.ts = inc, ts
      rec.source_offset = ts_offset(ts, { incrementing = inc })
    end
    n = n + 1
    out[n] = rec
  end
  return false
end

-- The next row of q's cursor as M.fetch reads it: record, incrementing value, timestamp (us).
local function read_row(_, q)
  local row = peek(q)
  if not row then return nil end
  q.pos = q.pos + 1
  return row_record(q, row), q.uses_inc and int_of(row[q.inc_i]) or nil, q.uses_ts and row_ts(q, row) or nil
end

local function fetch(q, out, max)
  return M.fetch(nil, q, out, max, read_row, M.ts_offset)
end

M.source = {}

--- Splits tables over tasks (contiguous groups, as Confluent's ConnectorUtils).
function M.source.task_configs(d, cfg, max_tasks)
  if the_query(cfg) ~= "" then return { copy(cfg) } end
  local out, n = {}, math.max(1, max_tasks)
  local wl = cfg["table.whitelist"] or {}
  if #wl > 0 then n = math.min(n, #wl) end
  for i = 1, n do
    local t = copy(cfg)
    t._task, t._tasks = i - 1, n
    out[i] = t
  end
  return out
end

--- What every dialect's source task starts with: task.d, the quoting function task.qi
-- (quote.sql.identifiers) and the parsed mapping keys (task.inc_map, task.ts_map).
function M.source.setup(d, task)
  local cfg = task.config
  task.d = d
  task.qi = cfg["quote.sql.identifiers"] == "never" and function(s) return s end or d.quote
  task.inc_map = M.parse_mappings(cfg["incrementing.column.mapping"] or {}, "incrementing.column.mapping", false)
  task.ts_map = M.parse_mappings(cfg["timestamp.columns.mapping"] or {}, "timestamp.columns.mapping", true)
end

--- Connects and builds the queriers of this task's tables.
function M.source.open(d, task)
  local cfg = task.config
  M.source.setup(d, task)
  task.c = M.connect(d, cfg, task.log)
  task.queriers, task.schema_of = {}, {}
  if the_query(cfg) ~= "" then
    task.queriers[1] = new_querier(task, nil)
    return
  end
  local tables = source_tables(task)
  local names = {}
  for _, t in ipairs(M.group(tables, cfg._tasks or 1)[(cfg._task or 0) + 1]) do
    task.schema_of[t.name] = t.schema
    local q = new_querier(task, t)
    q.from_schema = t.schema
    task.queriers[#task.queriers + 1] = q
    names[#names + 1] = t.schema .. "." .. t.name
  end
  task.log.info("Using %s: mode %s, tables: %s", d.name, cfg.mode,
    #names > 0 and concat(names, ", ") or "(none)")
  task.known = {}
  for _, t in ipairs(tables) do task.known[t.schema .. "." .. t.name] = true end
  task.next_table_poll = connect.now_ms() + (cfg["table.poll.interval.ms"] or 60000)
end

-- Every table.poll.interval.ms: tables created since are picked up (by one task each).
local function refresh_tables(task, now)
  local cfg = task.config
  if the_query(cfg) ~= "" or now < task.next_table_poll then return end
  task.next_table_poll = now + (cfg["table.poll.interval.ms"] or 60000)
  for _, t in ipairs(source_tables(task)) do
    local id = t.schema .. "." .. t.name
    if not task.known[id] or task.known[id] == "gone" then
      task.known[id] = true
      if M.name_hash(id) % (cfg._tasks or 1) == (cfg._task or 0) then
        task.schema_of[t.name] = t.schema
        local q = new_querier(task, t)
        q.from_schema = t.schema
        task.queriers[#task.queriers + 1] = q
        task.log.info("new table %s: now polled", id)
      end
    end
  end
end

--- One poll: up to batch.max.rows records from the tables that are due.
function M.source.poll(task)
  local cfg = task.config
  local now = connect.now_ms()
  local out, max = {}, cfg["batch.max.rows"] or 1000
  refresh_tables(task, now)
  for _, q in ipairs(task.queriers) do
    if #out >= max then break end
    -- One cursor at a time per task: the querier reading one goes on first, the others wait.
    local open = task.open_q
    if not q.gone and (q == open or (open == nil and now >= q.next_at)) then
      local ok, err = pcall(function()
        if not q.cur then run_query(task, q, now) end
        if fetch(q, out, max - #out) then
          close_cursor(task, q)
          q.next_at = now + (cfg["poll.interval.ms"] or 5000)
        end
      end)
      if not ok then
        close_cursor(task, q)
        -- A database that went away is reconnected (connection.attempts, then the task
        -- FAILS with its message); any other error (a bad query) fails the task now.
        if task.c:alive() and (task.sc == nil or task.sc:alive()) then
          if not q.table or the_query(cfg) ~= "" then error(err, 0) end
          local still = false
          for _, t in ipairs(source_tables(task)) do
            if t.name == q.table and t.schema == q.from_schema then still = true end
          end
          if still then error(err, 0) end
          task.log.info("table %s.%s is gone; no longer polled", q.from_schema, q.table)
          q.gone = true
          task.known[q.from_schema .. "." .. q.table] = "gone" -- taken again if re-created
          goto continue
        end
        -- the records read before the loss carry their offsets: the query resumes after them
        task.log.warn("the database connection is lost (%s); reconnecting", tostring(err))
        pcall(task.c.close, task.c)
        if task.sc then pcall(task.sc.close, task.sc) end
        task.sc = nil
        task.c = M.connect(task.d, cfg, task.log)
        return out[1] and out or nil
      end
    end
    ::continue::
  end
  if out[1] == nil then return nil end
  return out
end

--- Closes the cursor and the connections.
function M.source.close(task)
  if task.open_q then close_cursor(task, task.open_q) end
  if task.sc then task.sc:close() end
  if task.c then task.c:close() end
  task.c, task.sc = nil, nil
end

-- Record fields (the sinks) ---------------------------------------------------------------

local array_mt = getmetatable(connect.array())
local is_float, sort = connect.is_float, table.sort
local TWO53 = 2 ^ 53

--- Where a sink column's value comes from (fields_metadata's f.src).
M.SRC_VALUE_FIELD, M.SRC_KEY_FIELD, M.SRC_KEY, M.SRC_VALUE = 1, 2, 3, 4
M.SRC_TOPIC, M.SRC_PARTITION, M.SRC_OFFSET = 5, 6, 7
local SRC_VALUE_FIELD, SRC_KEY_FIELD, SRC_KEY, SRC_VALUE = 1, 2, 3, 4
local SRC_TOPIC, SRC_PARTITION, SRC_OFFSET = 5, 6, 7
local DEFAULT_KAFKA_PK_NAMES = { "__connect_topic", "__connect_partition", "__connect_offset" }

-- JsonConverter schema type names -> Kafka Connect's Schema.Type names (for messages and the
-- SQL type maps).
local CONNECT_TYPE = {
  int8 = "INT8", int16 = "INT16", int32 = "INT32", int64 = "INT64", float = "FLOAT32",
  double = "FLOAT64", float32 = "FLOAT32", float64 = "FLOAT64", boolean = "BOOLEAN",
  string = "STRING", bytes = "BYTES", array = "ARRAY", map = "MAP", struct = "STRUCT",
}

--- Kafka Connect's Schema.Type name of a schema (INT64, STRUCT, ...).
function M.connect_type(schema)
  return CONNECT_TYPE[schema.type] or tostring(schema.type):upper()
end

--- A value as error messages show it.
function M.describe_value(v)
  local t = type(v)
  if t == "string" then
    return format("%q (string)", #v > 40 and v:sub(1, 40) .. "..." or v)
  elseif t == "table" then
    return getmetatable(v) == array_mt and "an array" or "an object"
  end
  return format("%s (%s)", tostring(v), t)
end


--- The Connect type (INT64, FLOAT64, BOOLEAN, STRING) a schemaless sample value would have
-- (nil for null); objects and arrays are stored as JSON text.
function M.infer(v)
  local t = type(v)
  if v == nil or v == null then return nil end
  if t == "number" then
    if v == floor(v) and v >= -TWO53 and v <= TWO53 then return "INT64" end
    return "FLOAT64"
  elseif t == "cdata" then
    if is_float(v) then return "FLOAT64" end
    return "INT64"
  elseif t == "boolean" then
    return "BOOLEAN"
  elseif t == "string" then
    return "STRING"
  end
  return "STRING" -- objects and arrays are stored as JSON text
end


--- True for a schemaless JSON object (not an array).
function M.is_object(v)
  return type(v) == "table" and getmetatable(v) ~= array_mt and v[1] == nil
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  sort(keys)
  return keys
end

--- A list as Java prints one: [a, b].
function M.list_text(list)
  return "[" .. concat(list, ", ") .. "]"
end


--- FieldsMetadata: the key and non-key fields of a record's table row, as Confluent's
-- FieldsMetadata.extract (plus schemaless objects: fields from the keys, types from values),
-- for every dialect's sink. S: pk_mode, pk_fields, whitelist (a set or nil), string_column,
-- name; sql_types maps a schemaless field's Connect type to the dialect's SQL type. A field:
-- { name, pk, src (M.SRC_*), path, schema | kind+sqltype (schemaless), optional, default };
-- returns { keys, nonkeys, ordered (CREATE TABLE's column order, as Confluent's) }.
function M.fields_metadata(S, tname, rec, tombstone, sql_types)
  local function infer(v)
    local kind = M.infer(v)
    return kind, kind and sql_types[kind]
  end
  local key, value, ks, vs = rec.key, rec.value, rec.key_schema, rec.value_schema
  local all, keys, nonkeys = {}, {}, {}
  local function add(list, f)
    if all[f.name] then return end
    all[f.name] = f
    list[#list + 1] = f
  end
  local string_value = not tombstone and
    ((vs and vs.type == "string") or (not vs and type(value) == "string"))
  if not tombstone then
    if vs and vs.type ~= "struct" and vs.type ~= "string" then
      error("Value schema must be of type Struct or String", 0)
    end
    if not vs and not string_value and not M.is_object(value) then
      error(format("Value must be a Struct, a String or a schemaless JSON object, got %s",
        M.describe_value(value)), 0)
    end
  end
  local pk_fields, mode = S.pk_fields, S.pk_mode
  if mode == "kafka" then
    local names = DEFAULT_KAFKA_PK_NAMES
    if #pk_fields == 3 then
      names = pk_fields
    elseif #pk_fields ~= 0 then
      error(format("PK mode for table '%s' is KAFKA so there should either be no field names "
        .. "defined for defaults %s to be applicable, or exactly 3, defined fields are: %s",
        tname, M.list_text(DEFAULT_KAFKA_PK_NAMES), M.list_text(pk_fields)), 0)
    end
    add(keys, { name = names[1], pk = true, src = SRC_TOPIC, schema = { type = "string" } })
    add(keys, { name = names[2], pk = true, src = SRC_PARTITION, schema = { type = "int32" } })
    add(keys, { name = names[3], pk = true, src = SRC_OFFSET, schema = { type = "int64" } })
  elseif mode == "record_key" then
    if key == nil then
      error(format("PK mode for table '%s' is RECORD_KEY, but record key schema is missing", tname), 0)
    end
    local struct_fields -- list of { field, schema | sample }
    if ks and ks.type == "struct" then
      struct_fields = {}
      for _, f in ipairs(ks.fields) do struct_fields[f.field] = { schema = f } end
    elseif not ks and M.is_object(key) then
      struct_fields = {}
      for k, v in pairs(key) do struct_fields[k] = { sample = v } end
    elseif (ks and (ks.type == "array" or ks.type == "map")) or type(key) == "table" then
      error(format("Key schema must be primitive type or Struct, but is of type: %s",
        ks and M.connect_type(ks) or (getmetatable(key) == array_mt and "ARRAY" or "MAP")), 0)
    end
    if not struct_fields then
      if #pk_fields ~= 1 then
        error(format("Need exactly one PK column defined since the key schema for records is a "
          .. "primitive type, defined columns are: %s", M.list_text(pk_fields)), 0)
      end
      local kind, sqltype = infer(key)
      add(keys, { name = pk_fields[1], pk = true, src = SRC_KEY, schema = ks, kind = kind,
        sqltype = sqltype })
    else
      local names = pk_fields
      if #names == 0 then
        names = {}
        if ks then
          for i, f in ipairs(ks.fields) do names[i] = f.field end
        else
          names = sorted_keys(struct_fields)
        end
      end
      for _, name in ipairs(names) do
        local sf = struct_fields[name]
        if not sf then
          error(format("PK mode for table '%s' is RECORD_KEY with configured PK fields %s, but "
            .. "record key schema does not contain field: %s", tname, M.list_text(pk_fields), name), 0)
        end
        local f = { name = name, pk = true, src = SRC_KEY_FIELD, path = name }
        if sf.schema then
          f.schema, f.optional, f.default = sf.schema, sf.schema.optional, sf.schema.default
        else
          f.kind, f.sqltype = infer(sf.sample)
        end
        add(keys, f)
      end
    end
  elseif mode == "record_value" and not tombstone then
    if string_value then
      error("pk.mode record_value is not supported with String value schemas", 0)
    end
    local names = pk_fields
    if #names == 0 then
      names = {}
      if vs then
        for i, f in ipairs(vs.fields) do names[i] = f.field end
      else
        names = sorted_keys(value)
      end
    end
    local by_name
    if vs then
      by_name = {}
      for _, f in ipairs(vs.fields) do by_name[f.field] = f end
    end
    for _, name in ipairs(names) do
      local sf = by_name and by_name[name]
      if (vs and not sf) or (not vs and value[name] == nil) then
        error(format("PK mode for table '%s' is RECORD_VALUE with configured PK fields %s, but "
          .. "record value schema does not contain field: %s", tname, M.list_text(pk_fields), name), 0)
      end
      local f = { name = name, pk = true, src = SRC_VALUE_FIELD, path = name }
      if sf then
        f.schema, f.optional, f.default = sf, sf.optional, sf.default
      else
        f.kind, f.sqltype = infer(value[name])
      end
      add(keys, f)
    end
  end

  local whitelist = S.whitelist
  if tombstone then
    -- A delete needs the key columns only.
  elseif string_value then
    local col = S.string_column
    if all[col] then
      error(format("Configured string.output.value.column.name '%s' conflicts with a primary key "
        .. "column for table '%s'", col, tname), 0)
    end
    if whitelist then
      error(format("Sink connector '%s' is configured with field-level options that are not "
        .. "applicable to String values: fields.whitelist. Remove these options, or have the "
        .. "upstream producer emit Struct values instead.", S.name), 0)
    end
    add(nonkeys, { name = col, src = SRC_VALUE, schema = vs or { type = "string" }, optional = true })
  elseif vs then
    for _, sf in ipairs(vs.fields) do
      local name = sf.field
      if not all[name] and (not whitelist or whitelist[name]) then
        add(nonkeys, { name = name, src = SRC_VALUE_FIELD, path = name, schema = sf,
          optional = sf.optional, default = sf.default })
      end
    end
  else
    for _, name in ipairs(sorted_keys(value)) do
      if not all[name] and (not whitelist or whitelist[name]) then
        local kind, sqltype = infer(value[name])
        add(nonkeys, { name = name, src = SRC_VALUE_FIELD, path = name, kind = kind,
          sqltype = sqltype, optional = true, schemaless = true })
      end
    end
  end
  if #keys + #nonkeys == 0 then
    error("No fields found using key and value schemas for table: " .. tname, 0)
  end
  for _, f in ipairs(keys) do
    if not f.schema then f.schemaless = true end
    if f.optional == nil then f.optional = false end
  end
  -- Column order for CREATE TABLE: Kafka coordinates, value fields, then the rest by name.
  local ordered, seen = {}, {}
  local function take(name)
    local f = all[name]
    if f and not seen[name] then
      seen[name] = true
      ordered[#ordered + 1] = f
    end
  end
  if mode == "kafka" then
    for _, f in ipairs(keys) do take(f.name) end
  end
  if tombstone then
    -- key columns only
  elseif vs and vs.type == "struct" then
    for _, sf in ipairs(vs.fields) do take(sf.field) end
  elseif string_value then
    take(S.string_column)
  else
    for _, name in ipairs(sorted_keys(value)) do take(name) end
  end
  for _, name in ipairs(sorted_keys(all)) do take(name) end
  return { keys = keys, nonkeys = nonkeys, ordered = ordered }
end

local function schema_text(f) -- Kafka Connect's ConnectSchema.toString()
  if f.schema then
    local t = M.connect_type(f.schema)
    return f.schema.name and format("Schema{%s:%s}", f.schema.name, t) or format("Schema{%s}", t)
  end
  return format("Schema{%s}", f.kind or "STRING")
end

--- Confluent's SinkRecordField.toString() of a field (fields_metadata's shape).
function M.field_text(f)
  return format("SinkRecordField{schema=%s, name='%s', isPrimaryKey=%s}", schema_text(f), f.name,
    tostring(f.pk == true))
end

local function table_text(tname) -- Confluent's TableId.toString() in messages
  return '"' .. tname .. '"'
end

--- auto.create: raises Confluent's message when table tname is missing and may not be created.
function M.check_create(S, tname)
  if not S.auto_create then
    error(format("Table %s is missing and auto-creation is disabled", table_text(tname)), 0)
  end
end

--- auto.evolve (Confluent's amendIfNecessary): raises when a missing field (fields_metadata's
-- shape: name, schema|kind, pk, optional, default) is required without a default or
-- auto.evolve is off; returns their SinkRecordField texts.
function M.check_amend(S, tname, missing)
  for _, f in ipairs(missing) do
    if not f.optional and (f.default == nil or f.default == null) then
      error(format("Cannot ALTER TABLE %s to add missing field %s, as the field is not optional "
        .. "and does not have a default value", table_text(tname), M.field_text(f)), 0)
    end
  end
  local texts = {}
  for i, f in ipairs(missing) do texts[i] = M.field_text(f) end
  if not S.auto_evolve then
    error(format("Table %s is missing fields (%s) and auto-evolution is disabled", table_text(tname),
      M.list_text(texts)), 0)
  end
  return texts
end

--- Logs the ALTER TABLE statements of an amendment as Confluent does.
function M.log_amend(S, texts, sqls)
  S.log.info("Amending TABLE to add missing fields:%s maxRetries:%d with SQL: %s", M.list_text(texts),
    S.max_retries, M.list_text(sqls))
end

--- Confluent's RecordValidator for a tombstone when deletes are off: raises.
function M.reject_tombstone(S, rec)
  error(format("Sink connector '%s' is configured with 'delete.enabled=false' and 'pk.mode=%s' and "
    .. "therefore requires records with a non-null Struct or String value and non-null Struct or "
    .. "String schema, but found record at (topic='%s',partition=%s,offset=%s,timestamp=%s) with a "
    .. "null value and %s value schema.", S.name, S.pk_mode, tostring(rec.topic),
    tostring(rec.partition), tostring(rec.offset), tostring(rec.timestamp or -1),
    rec.value_schema and M.connect_type(rec.value_schema) or "null"), 0)
end

--- The table of topic: table.name.format (S.table_format) with ${topic} replaced, cached in
-- S.table_of; raises when it comes out empty.
function M.table_name(S, topic)
  local fmt = S.table_format
  local name, from = {}, 1
  while true do
    local a, b = fmt:find("${topic}", from, true)
    if not a then break end
    name[#name + 1] = fmt:sub(from, a - 1)
    name[#name + 1] = topic
    from = b + 1
  end
  name[#name + 1] = fmt:sub(from)
  name = concat(name)
  if name == "" then
    error(format("Destination table name for topic '%s' is empty using the format string '%s'",
      topic, fmt), 0)
  end
  S.table_of[topic] = name
  return name
end

local function describe_record(rec, i, n)
  return format("record %d of %d (topic %s, partition %s, offset %s)", i, n, tostring(rec.topic),
    tostring(rec.partition), tostring(rec.offset))
end

--- One put() for every dialect's sink. ops.transaction(S, records, upto, skipped, single)
-- writes records[1..upto] but the skipped ones in one transaction and answers true, or false,
-- the error and where it lies: the index of the record, "group" (a multi-row statement
-- failed: the batch is run again record by record to name the record) or nil (the batch).
-- ops.after_failure(S) forgets what the rolled-back transaction knew; ops.retryable(S, err)
-- says the database failed, not a record (locked, gone): the batch is retried max.retries
-- times retry.backoff.ms apart, after ops.reopen(S). A bad record goes to task.report() with
-- errors.tolerance=all (errors.log, the DLQ) and the batch is written without it; otherwise
-- the records before it are committed and put() raises "record I of N (topic T, partition P,
-- offset O): why", which fails the task (Kafka Connect's semantics for put()).
function M.sink_put(task, S, ops, records)
  local n = #records
  local skipped, retries, single = nil, 0, false
  while true do
    local ok, err, i = ops.transaction(S, records, n, skipped, single)
    if ok then return end
    err = tostring(err)
    ops.after_failure(S)
    if ops.retryable(S, err) then
      if retries >= S.max_retries then
        error(format("writing %d records failed after %d retries: %s", n, retries, err), 0)
      end
      retries = retries + 1
      task.log.warn("Write of %d records failed, remainingRetries=%d: %s", n, S.max_retries - retries + 1, err)
      sleep_ms(S.retry_backoff_ms)
      ops.reopen(S)
    elseif i == "group" then
      single = true
    elseif not i then
      error(format("writing %d records failed: %s", n, err), 0)
    else
      local what = describe_record(records[i], i, n) .. ": " .. err
      if S.tolerant then
        task.report(records[i], what)
        skipped = skipped or {}
        skipped[i] = true
      else
        -- Keep what came before the bad record, then fail naming it.
        if i > 1 then
          local ok2, err2 = ops.transaction(S, records, i - 1, skipped, single)
          if not ok2 then
            ops.after_failure(S)
            what = what .. format(" (and records 1..%d were not written either: %s)", i - 1, tostring(err2))
          end
        end
        error(what, 0)
      end
    end
  end
end

-- Sink ------------------------------------------------------------------------------------

local function sql_type(d, s)
  local t = s.name and d.SQL_TYPE[s.name] or d.SQL_TYPE[CONNECT_TYPE[s.type] or ""]
  if not t then
    error(format("%s (%s) type doesn't have a mapping to the SQL database column type", s.name or "null",
      tostring(s.type):upper()), 0)
  end
  if s.name == DECIMAL and d.name ~= "PostgreSqlDatabaseDialect" then
    t = format("DECIMAL(65,%s)", (s.parameters or {}).scale or "0")
  end
  return t
end

-- A record field value -> the text parameter for its column.
local function param_of(d, s, v)
  if v == nil or v == null then return nil end
  if s.name == DECIMAL then
    return type(v) == "string" and M.decimal_text(v, tonumber((s.parameters or {}).scale) or 0) or v
  elseif s.name == DATE then
    return M.format_ts_us(v * 86400e6):sub(1, 10)
  elseif s.name == TIME then
    return M.format_ts_us(v * 1000):sub(12)
  elseif s.name == TIMESTAMP then
    return M.format_ts_us(v * 1000)
  elseif s.type == "bytes" then
    return d.bytes_param(v)
  end
  return v
end

-- The value of fields_metadata's field f in rec.
local function field_value(rec, f)
  local src = f.src
  if src == SRC_VALUE_FIELD then return rec.value[f.path]
  elseif src == SRC_KEY_FIELD then return rec.key[f.path]
  elseif src == SRC_KEY then return rec.key
  elseif src == SRC_VALUE then return rec.value
  elseif src == SRC_TOPIC then return rec.topic
  elseif src == SRC_PARTITION then return rec.partition
  end
  return rec.offset
end

-- The schema a schemaless field's column is made and written with, by its inferred type.
local SCHEMALESS = { INT64 = { type = "int64", optional = true }, FLOAT64 = { type = "double", optional = true },
  BOOLEAN = { type = "boolean", optional = true }, STRING = { type = "string", optional = true } }

-- Column list of a record for table tname: { {name, schema, value, pk} } in CREATE TABLE
-- order (fields_metadata: pk.mode, pk.fields, fields.whitelist, String values, schemaless
-- objects) and the key column names. A schemaless null makes no column.
local function record_columns(S, rec, tombstone, tname)
  local fm = M.fields_metadata(S, tname, rec, tombstone, S.d.SQL_TYPE)
  local cols, pks = {}, {}
  for _, f in ipairs(fm.keys) do pks[#pks + 1] = f.name end
  for _, f in ipairs(fm.ordered) do
    local schema = f.schema or SCHEMALESS[f.kind]
    if schema then
      local v = field_value(rec, f)
      if type(v) == "table" then v = connect.json.encode(v) end -- schemaless objects: JSON text
      cols[#cols + 1] = { name = f.name, schema = schema, value = v, pk = f.pk == true }
    end
  end
  return cols, pks
end

local function ensure_table(S, tname, cols, pks)
  local d, c, qi = S.d, S.c, S.qi
  local existing = S.tables[tname]
  if not existing then
    existing = {}
    for _, col in ipairs(d.table_columns(c, S.schema, tname)) do existing[col.name] = col end
    if next(existing) == nil then
      M.check_create(S, tname)
      local defs = {}
      for i, col in ipairs(cols) do
        local ty = sql_type(d, col.schema)
        if col.pk and col.schema.type == "string" and d.KEY_STRING_TYPE then ty = d.KEY_STRING_TYPE end
        defs[i] = qi(col.name) .. " " .. ty
          .. ((col.pk or not col.schema.optional) and " NOT NULL" or " NULL")
      end
      local qpk = {}
      for i, k in ipairs(pks) do qpk[i] = qi(k) end
      if #qpk > 0 then defs[#defs + 1] = "PRIMARY KEY(" .. concat(qpk, ",") .. ")" end
      local sql = format("CREATE TABLE %s (\n%s)", qi(tname), concat(defs, ",\n"))
      S.log.info("Creating table with sql: %s", sql)
      c:query(sql)
      for _, col in ipairs(cols) do existing[col.name] = { name = col.name } end
    end
    S.tables[tname] = existing
  end
  local missing = {}
  for _, col in ipairs(cols) do
    if not existing[col.name] then
      missing[#missing + 1] = { name = col.name, schema = col.schema, pk = col.pk,
        optional = not col.pk and col.schema.optional, default = col.schema.default }
    end
  end
  if #missing == 0 then return end
  local texts, sqls = M.check_amend(S, tname, missing), {}
  for i, f in ipairs(missing) do
    sqls[i] = format("ALTER TABLE %s ADD %s %s NULL", qi(tname), qi(f.name), sql_type(d, f.schema))
  end
  M.log_amend(S, texts, sqls)
  for i, f in ipairs(missing) do
    c:query(sqls[i])
    existing[f.name] = { name = f.name }
  end
end

-- Creates or widens the table of rec before the transaction starts (for a dialect whose DDL
-- commits the open transaction, as MySQL's does).
local function prepare_table(S, rec)
  if rec.value == nil or rec.value == null then return end
  local tname = S.table_of[rec.topic] or M.table_name(S, rec.topic)
  local cols, pks = record_columns(S, rec, false, tname)
  ensure_table(S, tname, cols, pks)
end

-- Writes rec, or, when group is given and rec is an insert or upsert, returns the statement
-- (sql, the placeholder list "$1,...,$n" in it, params, key) for a multi-row statement.
local function write_record(S, rec, group)
  local tname = S.table_of[rec.topic] or M.table_name(S, rec.topic)
  local qi, d = S.qi, S.d
  local tombstone = rec.value == nil or rec.value == null
  if tombstone then
    if not S.delete_enabled then M.reject_tombstone(S, rec) end
    local cols = record_columns(S, rec, true, tname)
    local where, params = {}, { n = #cols }
    for i, col in ipairs(cols) do
      where[i] = qi(col.name) .. " = $" .. i
      params[i] = param_of(d, col.schema, col.value)
    end
    S.c:query(format("DELETE FROM %s WHERE %s", qi(tname), concat(where, " AND ")), params)
    return
  end
  local cols, pks = record_columns(S, rec, false, tname)
  ensure_table(S, tname, cols, pks)
  local names, params = {}, { n = #cols }
  for i, col in ipairs(cols) do
    names[i] = col.name
    params[i] = param_of(d, col.schema, col.value)
  end
  local sql
  if S.insert_mode == "upsert" then
    if #pks == 0 then error(format("Write to table '%s' in UPSERT mode requires key field names to be "
      .. "known, check the primary key configuration", tname), 0) end
    sql = d.upsert_sql(qi, qi(tname), names, pks)
  elseif S.insert_mode == "update" then
    local sets, where, ps, n = {}, {}, { n = #cols }, 0
    for _, col in ipairs(cols) do
      if not col.pk then n = n + 1; sets[#sets + 1] = qi(col.name) .. " = $" .. n; ps[n] = param_of(d, col.schema, col.value) end
    end
    for _, col in ipairs(cols) do
      if col.pk then n = n + 1; where[#where + 1] = qi(col.name) .. " = $" .. n; ps[n] = param_of(d, col.schema, col.value) end
    end
    sql, params = format("UPDATE %s SET %s WHERE %s", qi(tname), concat(sets, ","), concat(where, " AND ")), ps
  else
    local qc, ph = {}, {}
    for i, n in ipairs(names) do qc[i] = qi(n); ph[i] = "$" .. i end
    sql = format("INSERT INTO %s (%s) VALUES (%s)", qi(tname), concat(qc, ","), concat(ph, ","))
  end
  if group and S.insert_mode ~= "update" then
    local ph, key = {}, {}
    for i = 1, #names do ph[i] = "$" .. i end
    for i, col in ipairs(cols) do
      if col.pk then key[#key + 1] = tostring(params[i]) end
    end
    return sql, concat(ph, ","), params, #key > 0 and concat(key, "\0") or nil
  end
  S.c:query(sql, params)
end

-- Multi-row statements: consecutive records for the same statement (same table, columns and
-- mode) become one INSERT of up to batch.size rows, as Confluent's sink sends them as one JDBC
-- batch. A key seen twice ends the group first, so an upsert never touches a row twice in one
-- statement and the changes to a row keep their order. Parameters stay under 65,535.
local function flush_group(S, g)
  if g.rows == 0 then return end
  local sql, params = g.sql, g.params
  if g.rows > 1 then
    local groups, k = {}, 0
    for r = 1, g.rows do
      local ph = {}
      for i = 1, g.width do k = k + 1; ph[i] = "$" .. k end
      groups[r] = concat(ph, ",")
    end
    local at = sql:find(g.ph, 1, true)
    sql = sql:sub(1, at - 1) .. concat(groups, "),(") .. sql:sub(at + #g.ph)
  end
  params.n = g.rows * g.width
  S.c:query(sql, params)
  g.rows, g.params, g.keys, g.sql = 0, { n = 0 }, {}, nil
end

local function add_to_group(S, g, sql, ph, params, key)
  local width = params.n
  if g.rows > 0 and (g.sql ~= sql or g.rows >= g.max or (g.rows + 1) * width > 65535
      or (key and g.keys[key])) then
    flush_group(S, g)
  end
  if g.rows == 0 then g.sql, g.ph, g.width = sql, ph, width end
  local base = g.rows * width
  for i = 1, width do g.params[base + i] = params[i] end
  g.rows = g.rows + 1
  if key then g.keys[key] = true end
end

M.sink = {}

--- Connects for a sink task.
function M.sink.open(d, task)
  local cfg = task.config
  local pk_mode = (cfg["pk.mode"] or "none"):lower()
  if cfg["delete.enabled"] == true and pk_mode ~= "record_key" then
    error("Primary key mode must be 'record_key' when delete support is enabled", 0)
  end
  local wl
  if cfg["fields.whitelist"] and #cfg["fields.whitelist"] > 0 then
    wl = {}
    for _, f in ipairs(cfg["fields.whitelist"]) do wl[f] = true end
  end
  local tol = cfg["errors.tolerance"]
  task.sink = {
    d = d, log = task.log, pk_mode = pk_mode, pk_fields = cfg["pk.fields"] or {}, whitelist = wl,
    insert_mode = (cfg["insert.mode"] or "insert"):lower(), delete_enabled = cfg["delete.enabled"] == true,
    auto_create = cfg["auto.create"] == true, auto_evolve = cfg["auto.evolve"] == true,
    table_format = (cfg["table.name.format"] or "${topic}"):match("^%s*(.-)%s*$"), table_of = {},
    tables = {}, schema = "public",
    string_column = cfg["string.output.value.column.name"] or "record_value",
    qi = cfg["quote.sql.identifiers"] == "never" and function(s) return s end or d.quote,
    max_retries = cfg["max.retries"] or 10, retry_backoff_ms = cfg["retry.backoff.ms"] or 3000,
    tolerant = type(tol) == "string" and tol:lower() == "all",
    batch_size = cfg["batch.size"] or 3000,
  }
  task.log.info("Initializing writer using SQL dialect: %s", d.name)
  task.sink.c = M.connect(d, cfg, task.log)
  if d.default_schema then task.sink.schema = d.default_schema(task.sink.c) end
  local S = task.sink
  S.name, S.next_offsets, S.config = task.name, {}, cfg
  if cfg["exactly.once"] == true then
    S.eos = true
    S.offsets_table = d.quote(cfg["exactly.once.offsets.table"] or "__luaconnect_offsets")
    S.c:query("CREATE TABLE IF NOT EXISTS " .. S.offsets_table .. " (connector VARCHAR(255) NOT NULL, "
      .. "topic VARCHAR(255) NOT NULL, " .. d.quote("partition") .. " INT NOT NULL, next_offset BIGINT NOT NULL, "
      .. "PRIMARY KEY(connector, topic, " .. d.quote("partition") .. "))")
  end
end

-- exactly.once: the stored next offsets of this connector -> S.next_offsets[topic][partition].
local function load_offsets(S)
  local r = S.c:query("SELECT topic, " .. S.d.quote("partition") .. ", next_offset FROM " .. S.offsets_table
    .. " WHERE connector = $1", { S.name, n = 1 })
  local out = {}
  for _, row in ipairs(r.rows) do
    out[row[1]] = out[row[1]] or {}
    out[row[1]][tonumber(row[2])] = tonumber(row[3])
  end
  S.next_offsets = out
end

--- exactly.once: the next offsets to store for records[1..n] (skipped records included: they
-- are done too): { {topic, partition, next}, ... } for each
-- partition whose next offset moves past the one in next_offsets[topic][partition].
function M.offsets_to_store(next_offsets, records, n)
  local hi, list = {}, {}
  for i = 1, n do
    local rec = records[i]
    local offset = rec.offset
    if offset ~= nil then
      local by_p = hi[rec.topic]
      if not by_p then
        by_p = {}
        hi[rec.topic] = by_p
      end
      local cur = by_p[rec.partition]
      if cur == nil or offset + 1 > cur then by_p[rec.partition] = offset + 1 end
    end
  end
  for topic, by_p in pairs(hi) do
    for p, nx in pairs(by_p) do
      local old = next_offsets[topic] and next_offsets[topic][p]
      if old == nil or nx > old then list[#list + 1] = { topic, p, nx } end
    end
  end
  return list
end

--- exactly.once: once the transaction committed, the stored list becomes next_offsets.
function M.offsets_stored(next_offsets, list)
  for _, e in ipairs(list) do
    next_offsets[e[1]] = next_offsets[e[1]] or {}
    next_offsets[e[1]][e[2]] = e[3]
  end
end

--- exactly.once: where each of partitions resumes ({topic, partition, offset} for those with
-- a stored next offset).
function M.resume_partitions(next_offsets, partitions)
  local out = {}
  for _, tp in ipairs(partitions) do
    local nx = next_offsets[tp.topic] and next_offsets[tp.topic][tp.partition]
    if nx then out[#out + 1] = { topic = tp.topic, partition = tp.partition, offset = nx } end
  end
  return out
end

-- exactly.once: stores the next offset of every partition of records[1..n] in the open
-- transaction; returns them for the cache (updated once the transaction committed).
local function store_offsets(S, records, n)
  local list = M.offsets_to_store(S.next_offsets, records, n)
  local sql = S.d.upsert_sql(S.d.quote, S.offsets_table, { "connector", "topic", "partition", "next_offset" },
    { "connector", "topic", "partition" })
  for _, e in ipairs(list) do S.c:query(sql, { S.name, e[1], e[2], e[3], n = 4 }) end
  return list
end

-- Writes records[1..n] (minus skipped) in one transaction; ok or false, err, index. Unless
-- single, inserts and upserts go in multi-row statements; a failed one answers index "group"
-- (the caller runs the batch again record by record to name the record).
local function transaction(S, records, n, skipped, single)
  if S.d.ddl_commits then
    -- MySQL ends the transaction at CREATE/ALTER TABLE: all DDL happens before BEGIN, so the
    -- rows and the offsets of exactly.once still commit together.
    for i = 1, n do
      if not (skipped and skipped[i]) then
        local ok, err = pcall(prepare_table, S, records[i])
        if not ok then
          S.tables = {}
          return false, err, i
        end
      end
    end
  end
  local ok, err = pcall(S.c.query, S.c, "BEGIN")
  if not ok then return false, err end
  local g = not single and S.batch_size > 1 and S.insert_mode ~= "update"
    and { rows = 0, params = { n = 0 }, keys = {}, max = S.batch_size } or nil
  local function fail(e, where)
    pcall(S.c.query, S.c, "ROLLBACK")
    S.tables = {}
    return false, e, where
  end
  for i = 1, n do
    local rec = records[i]
    local done = S.eos and S.next_offsets[rec.topic] and S.next_offsets[rec.topic][rec.partition]
    if not (skipped and skipped[i]) and not (done and rec.offset and rec.offset < done) then
      if g and g.rows > 0 and (rec.value == nil or rec.value == null) then
        -- a delete goes out on its own: the rows before it first, in order
        local okf, errf = pcall(flush_group, S, g)
        if not okf then return fail(errf, "group") end
      end
      local ok2, sql, ph, params, key = pcall(write_record, S, rec, g)
      if not ok2 then return fail(sql, g and g.rows > 0 and "group" or i) end
      if sql then
        ok2, sql = pcall(add_to_group, S, g, sql, ph, params, key)
        if not ok2 then return fail(sql, "group") end
      end
    end
  end
  if g then
    ok, err = pcall(flush_group, S, g)
    if not ok then return fail(err, "group") end
  end
  local stored = {}
  if S.eos then
    ok, err = pcall(function() stored = store_offsets(S, records, n) end)
    if not ok then
      pcall(S.c.query, S.c, "ROLLBACK")
      return false, err
    end
  end
  ok, err = pcall(S.c.query, S.c, "COMMIT")
  if not ok then return false, err end
  M.offsets_stored(S.next_offsets, stored)
  return true
end

--- exactly.once: where each assigned partition resumes (the stored next offsets).
function M.sink.open_partitions(task, partitions)
  local S = task.sink
  if not S.eos then return nil end
  load_offsets(S)
  return M.resume_partitions(S.next_offsets, partitions)
end

-- The server dialects' parts of the put() loop (M.sink_put): a failure is the database's when
-- the connection is gone; a retry reconnects.
local PUT_OPS = {
  transaction = transaction,
  after_failure = function(S) S.tables = {} end,
  retryable = function(S) return not S.c:alive() end,
  reopen = function(S)
    pcall(function() S.c:close() end)
    S.c = M.connect(S.d, S.config, S.log)
  end,
}

--- One put(): a transaction of multi-row statements (M.sink_put: bad records, retries).
function M.sink.put(task, records)
  return M.sink_put(task, task.sink, PUT_OPS, records)
end

--- Closes the connection.
function M.sink.close(task)
  local S = task.sink
  if S and S.c then S.c:close() end
  task.sink = nil
end

return M
