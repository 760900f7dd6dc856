--- postgres_cdc_source: change data capture from PostgreSQL, record-compatible with Debezium's
-- PostgreSQL connector (io.debezium.connector.postgresql.PostgresConnector): an initial
-- snapshot from the slot's exported snapshot, then the logical replication stream (pgoutput)
-- over a replication=database libpq connection, decoded in Lua (_pgoutput).
--
-- Records: topic <topic.prefix>.<schema>.<table>, key = primary key struct (<...>.Key), value =
-- Debezium's envelope (<...>.Envelope) with before/after (<...>.Value), source
-- (io.debezium.connector.postgresql.Source), op, ts_ms, transaction. Offsets under
-- {"server": topic.prefix} exactly as Debezium 3.6 writes them (_pgoffsets), so either
-- connector can take over the other's slot and offset; restart resumes by Debezium's rule
-- (its WalPositionLocator), offsets of versions before 1.1.0 by theirs.
--
-- A transaction's records are emitted together when its Commit arrives. The slot is confirmed
-- (standby status update) only up to the lsn_proc of the offset the worker has committed, i.e.
-- what Kafka acknowledged: read back through task.offsets:get, since the SDK has no commit
-- callback.
local connect = require "luaconnect"
local ffi = require "ffi"
local pg = require "_pg"
local jdbc = require "_jdbc"
local pgo = require "_pgoutput"
local po = require "_pgoffsets"
local pgt = require "_pgtypes"

ffi.cdef [[
PGresult *PQexec(PGconn *conn, const char *query);
int PQgetCopyData(PGconn *conn, char **buffer, int async);
int PQputCopyData(PGconn *conn, const char *buffer, int nbytes);
int PQflush(PGconn *conn);
int PQconsumeInput(PGconn *conn);
void PQfreemem(void *ptr);
PGresult *PQgetResult(PGconn *conn);
]]

pcall(ffi.cdef, "int PQsocket(const PGconn *conn);")
pcall(ffi.cdef, "int poll(void *fds, unsigned long nfds, int timeout);")

local format, concat = string.format, table.concat
local floor = math.floor
local null = connect.null

local VERSION = "1.2.0"
local PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_COPY_BOTH = 1, 2, 8
local UNAVAILABLE = "__debezium_unavailable_value"

-- Regex list entries are Java regexes matched against the whole schema.table, case-insensitively
-- as Debezium does (transforms/_regex implements Java's syntax).
local function compile_list(list, key)
  local regex = require "_regex"
  local out = {}
  for i, text in ipairs(list or {}) do
    local re, err = regex.compile("(?i)" .. text)
    if not re then return nil, format("%s: invalid regular expression '%s': %s", key, text, err) end
    out[i] = re
  end
  return out
end

local function regex_list_check(key)
  return function(v)
    local _, err = compile_list(v, key)
    return err
  end
end

local function matcher(list, key)
  if not list or #list == 0 then return nil end
  local res = assert(compile_list(list, key))
  return function(name)
    for _, re in ipairs(res) do if re:matches(name) then return true end end
    return false
  end
end

-- Debezium keys this connector knows but does not implement: set, they fail validation with
-- a message that says so, instead of being silently ignored.
local UNSUPPORTED = { "schema.include.list",
  "schema.exclude.list", "heartbeat.action.query", "skipped.operations",
  "provide.transaction.metadata", "message.key.columns", "snapshot.select.statement.overrides",
  "snapshot.include.collection.list", "include.unknown.datatypes", "binary.handling.mode",
  "xmin.fetch.interval.ms", "slot.stream.params",
  "database.sslmode", "signal.data.collection", "incremental.snapshot.chunk.size",
  "publish.via.partition.root", "converters", "event.processing.failure.handling.mode",
  "schema.name.adjustment.mode", "field.name.adjustment.mode", "datatype.propagate.source.type",
  "column.propagate.source.type", "table.ignore.builtin", "plugin.path" }

local CONFIG = {
  ["database.hostname"] = { type = "string", required = true, doc = "PostgreSQL host" },
  ["database.port"] = { type = "int", default = 5432, doc = "PostgreSQL port" },
  ["database.user"] = { type = "string", required = true, doc = "user with the REPLICATION attribute" },
  ["database.password"] = { type = "password", default = "", doc = "password (masked)" },
  ["database.dbname"] = { type = "string", required = true, doc = "database to capture" },
  ["topic.prefix"] = { type = "string", required = true, doc = "topic prefix and logical server name" },
  ["plugin.name"] = { type = "string", default = "pgoutput", validate = function(v)
    if v ~= "pgoutput" then
      return "plugin.name '" .. v .. "' is not supported: only pgoutput "
        .. "(decoderbufs and wal2json need server plugins this connector does not read)"
    end
  end, doc = "logical decoding plugin (pgoutput only)" },
  ["slot.name"] = { type = "string", default = "debezium", doc = "replication slot" },
  ["publication.name"] = { type = "string", default = "dbz_publication", doc = "publication" },
  ["publication.autocreate.mode"] = { type = "string", default = "all_tables",
    values = { "all_tables", "disabled", "filtered" }, doc = "create the publication when missing" },
  ["table.include.list"] = { type = "list", default = "", validate = regex_list_check("table.include.list"),
    doc = "regexes of schema.table to capture" },
  ["table.exclude.list"] = { type = "list", default = "", validate = regex_list_check("table.exclude.list"),
    doc = "regexes of schema.table to skip" },
  ["column.include.list"] = { type = "list", default = "", validate = regex_list_check("column.include.list"),
    doc = "regexes of schema.table.column to put into values" },
  ["column.exclude.list"] = { type = "list", default = "", validate = regex_list_check("column.exclude.list"),
    doc = "regexes of schema.table.column to leave out of values" },
  ["snapshot.mode"] = { type = "string", default = "initial",
    values = { "initial", "no_data", "always", "when_needed" }, doc = "when to snapshot" },
  ["tombstones.on.delete"] = { type = "boolean", default = true, doc = "a tombstone after each delete" },
  ["slot.drop.on.stop"] = { type = "boolean", default = false, doc = "drop the slot when the task stops" },
  ["decimal.handling.mode"] = { type = "string", default = "precise", values = { "precise", "double", "string" },
    doc = "numeric as Connect Decimal (precise), double or string" },
  ["time.precision.mode"] = { type = "string", default = "adaptive",
    values = { "adaptive", "adaptive_time_microseconds", "connect" },
    doc = "temporal types: Debezium's io.debezium.time.* (adaptive) or Kafka Connect's (connect)" },
  ["hstore.handling.mode"] = { type = "string", default = "json", values = { "json", "map" },
    doc = "hstore as a JSON object text (io.debezium.data.Json) or a Connect map of strings" },
  ["heartbeat.interval.ms"] = { type = "int", default = 0, doc = "heartbeat records every N ms while streaming (0: none)" },
  ["topic.heartbeat.prefix"] = { type = "string", default = "__debezium-heartbeat", doc = "heartbeat topic prefix" },
  ["snapshot.fetch.size"] = { type = "int", default = 10240, doc = "rows per snapshot fetch" },
  ["max.batch.size"] = { type = "int", default = 2048, doc = "records per poll" },
}
for _, key in ipairs(UNSUPPORTED) do
  CONFIG[key] = { type = "string", doc = "Debezium's key, not supported here", validate = function()
    return "Debezium's '" .. key .. "' is not supported by this connector (see docs/connectors.md)"
  end }
end

local function wanted(task, schema, tname)
  local id = schema .. "." .. tname
  if task.include and not task.include(id) then return false end
  if task.exclude and task.exclude(id) then return false end
  return true
end

-- libpq replication connection -------------------------------------------------------------

local C

local function conninfo_value(v)
  return "'" .. tostring(v):gsub("\\", "\\\\"):gsub("'", "\\'") .. "'"
end

local function repl_connect(cfg)
  C = C or ffi.load("libpq.so.5")
  local parts = { "host=" .. conninfo_value(cfg["database.hostname"]),
    "port=" .. conninfo_value(cfg["database.port"]), "dbname=" .. conninfo_value(cfg["database.dbname"]),
    "user=" .. conninfo_value(cfg["database.user"]), "replication=database", "connect_timeout=10",
    "application_name='luaconnect-cdc'", "options='-c TimeZone=UTC -c DateStyle=ISO -c IntervalStyle=postgres -c extra_float_digits=3'" }
  if cfg["database.password"] ~= "" then parts[#parts + 1] = "password=" .. conninfo_value(cfg["database.password"]) end
  local h = C.PQconnectdb(concat(parts, " "))
  if h == nil or C.PQstatus(h) ~= 0 then
    local msg = h ~= nil and ffi.string(C.PQerrorMessage(h)):gsub("%s+$", "") or "out of memory"
    if h ~= nil then C.PQfinish(h) end
    error(format("cannot open a replication connection to PostgreSQL at %s:%d: %s",
      cfg["database.hostname"], cfg["database.port"], msg), 0)
  end
  return ffi.gc(h, C.PQfinish)
end

-- Simple-protocol command on the replication connection: rows as text.
local function repl_exec(h, sql)
  local r = C.PQexec(h, sql)
  local st = r ~= nil and C.PQresultStatus(r) or -1
  if st ~= PGRES_COMMAND_OK and st ~= PGRES_TUPLES_OK and st ~= PGRES_COPY_BOTH then
    local msg = r ~= nil and ffi.string(C.PQresultErrorMessage(r)) or ffi.string(C.PQerrorMessage(h))
    if r ~= nil then C.PQclear(r) end
    error(format("replication command failed: %s (in: %s)", msg:gsub("%s+$", ""), sql), 0)
  end
  local rows = {}
  if st == PGRES_TUPLES_OK then
    for t = 0, C.PQntuples(r) - 1 do
      local row = {}
      for f = 0, C.PQnfields(r) - 1 do
        if C.PQgetisnull(r, t, f) == 0 then row[f + 1] = ffi.string(C.PQgetvalue(r, t, f)) end
      end
      rows[#rows + 1] = row
    end
  end
  C.PQclear(r)
  return rows
end

-- Types -------------------------------------------------------------------------------------

local function int_value(v) return jdbc.int_of(v) end
-- NaN and the infinities are the float values, as Debezium carries them (JsonConverter writes
-- them as the strings "NaN", "Infinity", "-Infinity").
local NONFINITE = { NaN = 0 / 0, Infinity = 1 / 0, ["-Infinity"] = -1 / 0 }
local function float_value(v)
  local nf = NONFINITE[v]
  if nf then return nf end
  local n = tonumber(v)
  if n == floor(n) then return connect.float(n) end
  return n
end

local function date_days(v)
  return floor(jdbc.parse_ts_us(v) / 86400e6)
end

-- "2024-01-02 01:04:05.678+00" (session TimeZone UTC) -> "2024-01-02T01:04:05.678000Z": as
-- Debezium's ZonedTimestamp, exactly width fraction digits (the column's precision), none for
-- width 0 unless the value has some (Java's ISO_OFFSET_DATE_TIME).
local function zoned(v, width)
  local d, hms, frac = v:match("^(%d+%-%d+%-%d+) (%d%d:%d%d:%d%d)%.?(%d*)")
  if not d then return v end
  if width > 0 then
    frac = (frac .. "000000000"):sub(1, width)
  else
    frac = frac:gsub("0+$", "")
  end
  return d .. "T" .. hms .. (frac ~= "" and "." .. frac or "") .. "Z"
end

-- "10:00:00.5+02" -> "08:00:00.5Z": Debezium's ZonedTime, the time shifted to UTC in Java's
-- ISO_OFFSET_TIME (fraction digits only as many as needed).
local function zoned_time(v)
  local h, mi, se, frac, sign, oh, om, os = v:match("^(%d+):(%d+):(%d+)%.?(%d*)([+-])(%d+):?(%d*):?(%d*)$")
  if not h then return v end
  local off = (tonumber(oh) * 60 + (tonumber(om) or 0)) * 60 + (tonumber(os) or 0)
  local t = (tonumber(h) * 60 + tonumber(mi)) * 60 + tonumber(se) - (sign == "+" and off or -off)
  t = t % 86400
  frac = frac:gsub("0+$", "")
  return format("%02d:%02d:%02d%sZ", floor(t / 3600), floor(t / 60) % 60, t % 60, frac ~= "" and "." .. frac or "")
end

-- numeric's NaN and infinities: null in a Decimal or VariableScaleDecimal, as Debezium's
-- decimal.handling.mode=precise gives them.
local SPECIAL_NUMERIC = { NaN = true, Infinity = true, ["-Infinity"] = true }
local STRING_SPECIAL = { NaN = "NAN", Infinity = "POSITIVE_INFINITY", ["-Infinity"] = "NEGATIVE_INFINITY" }

-- Debezium's VariableScaleDecimal: the number without trailing fraction zeros (BigDecimal's
-- stripTrailingZeros, never a negative scale).
local function variable_decimal(v)
  local int, frac = v:match("^([^.]*)%.(%d+)$")
  if frac then
    frac = frac:gsub("0+$", "")
    v = frac ~= "" and int .. "." .. frac or int
  end
  frac = frac or ""
  return { scale = #frac, value = jdbc.decimal_bytes(v, #frac) }
end

-- PostgreSQL interval text (IntervalStyle postgres: "1 year 2 mons -3 days +04:05:06.5") ->
-- microseconds as Debezium's MicroDuration counts them (a month is 365.25 / 12 days).
local function interval_micros(v)
  local days = 0
  for n, unit in v:gmatch("([+-]?%d+) (%a+)") do
    n = tonumber(n)
    if unit:find("^year") then days = days + n * 365.25
    elseif unit:find("^mon") then days = days + n * 365.25 / 12
    elseif unit:find("^day") then days = days + n end
  end
  local us = days * 86400e6
  local sign, h, m, sec = v:match("([+-]?)(%d+):(%d%d):(%d%d%.?%d*)")
  if h then
    local t = ((tonumber(h) * 60 + tonumber(m)) * 60) * 1e6 + floor(tonumber(sec) * 1e6 + 0.5)
    us = us + (sign == "-" and -t or t)
  end
  return floor(us + 0.5)
end

-- Precision of a time/timestamp column from its typmod (-1: the default 6).
local function tprec(typmod) return (typmod and typmod >= 0) and typmod or 6 end

local function numeric_scale(typmod)
  if typmod and typmod >= 4 then
    local m = typmod - 4
    return floor(m / 65536), m % 65536
  end
end

-- "10100001" -> Debezium's Bits: the bit string as a number, little-endian bytes without
-- high zero bytes (java.util.BitSet.toByteArray).
local function bits_bytes(v)
  local bytes, len = {}, #v
  for i = len, 1, -1 do
    local k = len - i -- bit number, 0 = the last character
    local b = floor(k / 8) + 1
    bytes[b] = (bytes[b] or 0) + (v:byte(i) == 49 and 2 ^ (k % 8) or 0)
  end
  while #bytes > 0 and bytes[#bytes] == 0 do bytes[#bytes] = nil end
  for b = 1, #bytes do bytes[b] = string.char(bytes[b]) end
  return concat(bytes)
end

-- "(1.5,-2)" -> Debezium's geometry Point {x, y, wkb = the point as little-endian WKB, srid}.
local function point_struct(v)
  local x, y = v:match("^%(([^,]+),([^)]+)%)$")
  x, y = tonumber(x), tonumber(y)
  local d = ffi.new("double[2]", x, y)
  if not ffi.abi("le") then error("point: a big-endian host is not supported", 0) end
  return { x = connect.float(x), y = connect.float(y),
    wkb = "\1\1\0\0\0" .. ffi.string(d, 16), srid = null }
end
local POINT_FIELDS = { { field = "x", type = "double", optional = false },
  { field = "y", type = "double", optional = false }, { field = "wkb", type = "bytes", optional = true },
  { field = "srid", type = "int32", optional = true } }

-- Array types Debezium gives as Connect arrays, and their element types (oids).
local ARRAY_ELEMENT = { [1005] = 21, [1007] = 23, [1016] = 20, [1028] = 26, [1009] = 25, [1015] = 1043,
  [1014] = 1042, [1021] = 700, [1022] = 701, [1000] = 16, [2951] = 2950, [1182] = 1082, [199] = 114,
  [3807] = 3802, [1002] = 18, [1231] = 1700, [1183] = 1083, [1270] = 1266, [1115] = 1114, [1185] = 1184,
  [1001] = 17, [1041] = 869, [651] = 650, [1040] = 829, [775] = 774, [3905] = 3904, [3907] = 3906,
  [3909] = 3908, [3911] = 3910, [3913] = 3912, [3927] = 3926 }

-- An array's text -> the list of its items converted by iconv (NULL items null).
local function list_of(iconv)
  return function(v)
    local texts, list = pgt.array(v), {}
    for k = 1, texts.n do
      local t = texts[k]
      -- a dimension below the first: Debezium's element converter cannot read it (null)
      list[k] = (t == nil or type(t) == "table") and null or iconv(t)
    end
    return list
  end
end

-- 'infinity' and '-infinity' of date, timestamp and timestamptz as Debezium 3.6.1 streams them:
-- the text for ZonedTimestamp; pgjdbc's DATE_POSITIVE/NEGATIVE_INFINITY millisecond constants
-- read as microseconds (MicroTimestamp) or milliseconds (Timestamp); for a date the epoch days
-- of Debezium's POSITIVE/NEGATIVE_INFINITY_LOCAL_DATE (-5877611-06-21 and -22). (Debezium's
-- snapshot gives other day numbers for a date: see docs/connectors.md.)
local INFINITE_TIME = {
  infinity = { date = -2147472692, micros = 9223372036825200000LL, millis = 9223372036825200LL },
  ["-infinity"] = { date = -2147472691, micros = -9223372036832400000LL, millis = -9223372036832400LL },
}
local function infinite_time(s, v)
  local c = INFINITE_TIME[v]
  if s.type == "string" then return v end
  if s.type == "int32" then return c.date end
  return s.name == "io.debezium.time.MicroTimestamp" and c.micros or c.millis
end

-- Types Debezium 3.6's PostgreSQL connector has no schema for (its pgjdbc type is OTHER and
-- include.unknown.datatypes is off, or an array type its converter leaves for later): their
-- columns are left out of keys and values, with their values. Point is a type Debezium
-- supports (io.debezium.data.geometry.Point), point[] is not.
local OMITTED_TYPES = { line = true, lseg = true, box = true, path = true, polygon = true, circle = true,
  _line = true, _lseg = true, _box = true, _path = true, _polygon = true, _circle = true, _money = true,
  _name = true, _interval = true, _varbit = true, _xml = true, _point = true, _refcursor = true,
  pg_lsn = true, tsquery = true }

--- The Connect field schema and value converter of a column (Debezium's defaults:
-- decimal.handling.mode=precise, time.precision.mode=adaptive, hstore.handling.mode=json).
-- typname: the column's type name (extension types such as hstore have no fixed oid).
local column_schema
-- Returns nil for a type whose columns Debezium leaves out.
function column_schema(col, optional, dec_mode, time_mode, typname, hstore_mode)
  local oid, typmod = col.oid, col.typmod
  local s = { field = col.name, optional = optional }
  local conv = function(v) return v end
  if ARRAY_ELEMENT[oid] then
    local items, iconv = column_schema({ oid = ARRAY_ELEMENT[oid], typmod = typmod }, true, dec_mode, time_mode)
    items.field = nil
    s.type, s.items, conv = "array", items, list_of(iconv)
    if ARRAY_ELEMENT[oid] == 1700 then
      -- a numeric[] holding NaN or an infinity is null as a whole in Debezium (its element
      -- converter fails on the array, snapshot and stream alike), not only that item
      local list = conv
      conv = function(v)
        if v:find("NaN", 1, true) or v:find("Infinity", 1, true) then return null end
        return list(v)
      end
    end
  elseif OMITTED_TYPES[typname] then
    return nil
  elseif typname == "ltree" then
    s.type, s.name, s.version = "string", "io.debezium.data.Ltree", 1
  elseif typname == "_ltree" or typname == "_hstore" then
    local items, iconv = column_schema(col, true, dec_mode, time_mode, typname:sub(2), hstore_mode)
    items.field = nil
    s.type, s.items, conv = "array", items, list_of(iconv)
  elseif typname == "hstore" then
    -- Debezium's HStoreConverter map written by Jackson (json) or given to Connect (map)
    if hstore_mode == "map" then
      s.type, s.keys, s.values = "map", { type = "string", optional = false }, { type = "string", optional = true }
      conv = function(v) return pgt.hstore_map(pgt.hstore(v)) end
    else
      s.type, s.name, s.version = "string", "io.debezium.data.Json", 1
      conv = function(v) return pgt.hstore_json(pgt.hstore(v)) end
    end
  elseif oid == 16 then
    s.type, conv = "boolean", function(v) return v == "t" end
  elseif oid == 21 then
    s.type, conv = "int16", int_value
  elseif oid == 23 then
    s.type, conv = "int32", int_value
  elseif oid == 20 or oid == 26 then
    s.type, conv = "int64", int_value
  elseif oid == 700 then
    s.type, conv = "float", float_value
  elseif oid == 701 then
    s.type, conv = "double", float_value
  elseif oid == 142 then
    s.type, s.name, s.version = "string", "io.debezium.data.Xml", 1
  elseif oid == 3614 then
    s.type, s.name, s.version = "string", "io.debezium.data.Tsvector", 1
  elseif (oid == 1560 or oid == 1562) and typmod == 1 then
    s.type, conv = "boolean", function(v) return v == "1" end
  elseif oid == 1560 or oid == 1562 then
    -- varbit without a length: Debezium's length is Integer.MAX_VALUE
    s.type, s.name, s.version, conv = "bytes", "io.debezium.data.Bits", 1, bits_bytes
    s.parameters = { length = tostring(typmod >= 0 and typmod or 2147483647) }
  elseif oid == 1561 then
    -- bit[]: Debezium gives the element's schema (Bits, boolean for bit(1)) for the array
    -- column, and null for every value (its converter has no case for the array)
    s = column_schema({ name = col.name, oid = 1560, typmod = typmod }, optional, dec_mode, time_mode)
    conv = function() return null end
  elseif oid == 22 then
    -- int2vector: Debezium's array of required int16, always empty (its array reader does not
    -- read the vector's space-separated text)
    s.type, s.items = "array", { type = "int16", optional = false }
    conv = function() return connect.array({}) end
  elseif oid == 600 then
    s.type, s.name, s.version, s.doc = "struct", "io.debezium.data.geometry.Point", 1, "Geometry (POINT)"
    s.fields, conv = POINT_FIELDS, point_struct
  elseif oid == 790 then
    -- money ("$1,234.56", "-$1.00"): Debezium's money.fraction.digits=2
    local number = function(v) return (v:gsub("[^%d%.%-]", "")) end
    if dec_mode == "double" then
      s.type, conv = "double", function(v) return float_value(number(v)) end
    elseif dec_mode == "string" then
      s.type, conv = "string", number
    else
      s.type, s.name, s.version, s.parameters = "bytes", "org.apache.kafka.connect.data.Decimal", 1, { scale = "2" }
      conv = function(v) return jdbc.decimal_bytes(number(v), 2) end
    end
  elseif oid == 1700 and dec_mode == "double" then
    s.type, conv = "double", float_value
  elseif oid == 1700 and dec_mode == "string" then
    -- Debezium's SpecialValueDecimal: NaN and the infinities by their enum names; a value with
    -- fewer fraction digits than the column's scale (a default) padded to it
    local _, scale = numeric_scale(typmod)
    s.type, conv = "string", function(v)
      local special = STRING_SPECIAL[v]
      if special then return special end
      local frac = v:match("%.(%d*)$") or ""
      if scale and #frac < scale then v = (frac == "" and v .. "." or v) .. ("0"):rep(scale - #frac) end
      return v
    end
  elseif oid == 1700 then
    local prec, scale = numeric_scale(typmod)
    if prec then
      s.type, s.name, s.version = "bytes", "org.apache.kafka.connect.data.Decimal", 1
      s.parameters = { scale = tostring(scale), ["connect.decimal.precision"] = tostring(prec) }
      conv = function(v) return SPECIAL_NUMERIC[v] and null or jdbc.decimal_bytes(v, scale) end
    else
      s.type, s.name = "struct", "io.debezium.data.VariableScaleDecimal"
      s.version, s.doc = 1, "Variable scaled decimal"
      s.fields = { { field = "scale", type = "int32", optional = false },
        { field = "value", type = "bytes", optional = false } }
      conv = function(v) return SPECIAL_NUMERIC[v] and null or variable_decimal(v) end
    end
  elseif oid == 17 then
    s.type, conv = "bytes", pg.bytes_of
  elseif time_mode == "connect" and (oid == 1082 or oid == 1083 or oid == 1114) then
    -- Kafka Connect's own logical types, millisecond precision
    if oid == 1082 then
      s.type, s.name, s.version, conv = "int32", "org.apache.kafka.connect.data.Date", 1, date_days
    elseif oid == 1083 then
      s.type, s.name, s.version = "int32", "org.apache.kafka.connect.data.Time", 1
      conv = function(v) return floor(jdbc.parse_ts_us("1970-01-01 " .. v) / 1000) end
    else
      s.type, s.name, s.version = "int64", "org.apache.kafka.connect.data.Timestamp", 1
      conv = function(v) return floor(jdbc.parse_ts_us(v) / 1000) end
    end
  elseif oid == 1082 then
    s.type, s.name, s.version, conv = "int32", "io.debezium.time.Date", 1, date_days
  elseif oid == 1083 then
    if tprec(typmod) <= 3 and time_mode ~= "adaptive_time_microseconds" then
      s.type, s.name, s.version = "int32", "io.debezium.time.Time", 1
      conv = function(v) return floor(jdbc.parse_ts_us("1970-01-01 " .. v) / 1000) end
    else
      s.type, s.name, s.version = "int64", "io.debezium.time.MicroTime", 1
      conv = function(v) return jdbc.parse_ts_us("1970-01-01 " .. v) end
    end
  elseif oid == 1114 then
    if tprec(typmod) <= 3 then
      s.type, s.name, s.version = "int64", "io.debezium.time.Timestamp", 1
      conv = function(v) return floor(jdbc.parse_ts_us(v) / 1000) end
    else
      s.type, s.name, s.version = "int64", "io.debezium.time.MicroTimestamp", 1
      conv = function(v) return jdbc.parse_ts_us(v) end
    end
  elseif oid == 1184 then
    local width = tprec(typmod)
    s.type, s.name, s.version = "string", "io.debezium.time.ZonedTimestamp", 1
    conv = function(v) return zoned(v, width) end
  elseif oid == 1266 then
    s.type, s.name, s.version, conv = "string", "io.debezium.time.ZonedTime", 1, zoned_time
  elseif oid == 1186 then
    s.type, s.name, s.version, conv = "int64", "io.debezium.time.MicroDuration", 1, interval_micros
  elseif oid == 2950 then
    s.type, s.name, s.version = "string", "io.debezium.data.Uuid", 1
  elseif oid == 114 or oid == 3802 then
    s.type, s.name, s.version = "string", "io.debezium.data.Json", 1
  else
    s.type = "string" -- text, varchar, bpchar, name and every type not listed: its text form
  end
  if oid == 1082 or oid == 1114 or oid == 1184 then
    local finite = conv
    conv = function(v)
      if v == "infinity" or v == "-infinity" then return infinite_time(s, v) end
      return finite(v)
    end
  end
  return s, conv
end

-- Column defaults as Debezium's PostgresDefaultValueConverter reads them from the catalog's
-- expression text: per type name, the placeholder a function default (nextval(...), now())
-- stands for; a type not listed has no default in the schema.
local DEFAULT_PLACEHOLDER = { bool = "false", bpchar = "", varchar = "", text = "", numeric = "0.0",
  float4 = "0.0", float8 = "0.0", int2 = "0", int4 = "0", int8 = "0", json = "{}", jsonb = "{}", xml = "",
  uuid = "00000000-0000-0000-0000-000000000000", date = "1970-01-01", time = "00:00",
  timestamp = "1970-01-01", timestamptz = "1970-01-01", interval = "0" }
local DEFAULT_TRIMMED = { bool = true, numeric = true, float4 = true, float8 = true, int2 = true, int4 = true,
  int8 = true, uuid = true, date = true, time = true, timestamp = true, timestamptz = true, interval = true }
local DEFAULT_NULLABLE = { bool = true, numeric = true, float4 = true, float8 = true, int2 = true, int4 = true,
  int8 = true }
local CURRENT_DATE_TIMES = { current_timestamp = true, current_time = true, current_date = true,
  localtime = true, localtimestamp = true }

-- The text of a default expression ("'abc'::text", "42", "nextval('s'::regclass)"), nil for none.
local function default_text(typname, expr)
  if DEFAULT_TRIMMED[typname] then expr = expr:match("^%s*(.-)%s*$") end
  if DEFAULT_NULLABLE[typname] and expr:find("^NULL::") then return nil end
  if expr:find("^%(?[%w_.]+%(.*%)") or CURRENT_DATE_TIMES[expr:lower()] then return DEFAULT_PLACEHOLDER[typname] end
  if not expr:find("'", 1, true) then
    return (not expr:find("^NULL::")) and expr or nil
  end
  return expr:match("'(.-)'")
end

--- The schema default of a column (Debezium's converted value), or nil.
local function column_default(s, conv, typname, expr)
  if not expr or not DEFAULT_PLACEHOLDER[typname] or s.type == "struct" then return nil end
  local text = default_text(typname, expr)
  if text == nil then return nil end
  if typname == "bool" then return text:lower() == "true" end
  if typname == "timestamptz" and not text:find(" %d") then text = text .. " 00:00:00+00" end
  if (typname == "time") and not text:find("^%d+:%d+:%d+") then text = text .. ":00" end
  local ok, v = pcall(conv, text)
  if ok then return v end
  return nil -- as Debezium: "Cannot parse column default value", no default
end

-- Zero value for a required column a delete's key-only old tuple does not carry.
local function zero_of(s)
  if s.type == "string" then return "" elseif s.type == "boolean" then return false
  elseif s.type == "bytes" then return "" elseif s.type == "struct" then return null end
  return 0
end

-- Relations ---------------------------------------------------------------------------------

local function struct_name(task, rel, suffix)
  return format("%s.%s.%s.%s", task.prefix, rel.namespace, rel.name, suffix)
end

local function source_schema()
  local f = function(name, ty, opt) return { field = name, type = ty, optional = opt or false } end
  local snap = { field = "snapshot", type = "string", optional = true, name = "io.debezium.data.Enum",
    version = 1, default = "false",
    parameters = { allowed = "true,first,first_in_data_collection,last_in_data_collection,last,false,incremental" } }
  return { type = "struct", optional = false, name = "io.debezium.connector.postgresql.Source", version = 1,
    field = "source",
    fields = { f("version", "string"), f("connector", "string"), f("name", "string"), f("ts_ms", "int64"),
      snap, f("db", "string"), f("sequence", "string", true), f("ts_us", "int64", true),
      f("ts_ns", "int64", true), f("schema", "string"), f("table", "string"), f("txId", "int64", true),
      f("lsn", "int64", true), f("xmin", "int64", true), f("origin", "string", true),
      f("origin_lsn", "int64", true) } }
end
local SOURCE_SCHEMA = source_schema()
local HB_KEY = connect.freeze_schema { type = "struct", optional = false, name = "io.debezium.connector.common.ServerNameKey", version = 1,
  fields = { { field = "serverName", type = "string", optional = false } } }
local HB_VALUE = connect.freeze_schema { type = "struct", optional = false, name = "io.debezium.connector.common.Heartbeat", version = 1,
  fields = { { field = "ts_ms", type = "int64", optional = false } } }
local TX_SCHEMA = { type = "struct", optional = true, name = "event.block", version = 1, field = "transaction",
  fields = { { field = "id", type = "string", optional = false },
    { field = "total_order", type = "int64", optional = false },
    { field = "data_collection_order", type = "int64", optional = false } } }

-- Builds the schemas of a relation (columns from a Relation message or a snapshot query,
-- nullability and primary key from the catalog).
local function build_relation(task, rel)
  local meta = {}
  local r = task.sql:query("SELECT a.attname, a.attnotnull, coalesce(a.attnum = ANY(i.indkey), false), "
    .. "t.typname, pg_get_expr(d.adbin, d.adrelid), "
    .. "(SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid), "
    .. "(SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) FROM pg_enum e "
    .. "WHERE e.enumtypid = t.typelem AND t.typcategory = 'A'), "
    .. "bt.oid, bt.typname, t.typtypmod "
    .. "FROM pg_attribute a LEFT JOIN pg_index i ON i.indrelid = a.attrelid AND i.indisprimary "
    .. "JOIN pg_type t ON t.oid = a.atttypid "
    .. "LEFT JOIN pg_type bt ON t.typtype = 'd' AND bt.oid = t.typbasetype "
    .. "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum AND a.attgenerated = '' "
    .. "WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped",
    { pg.quote(rel.namespace) .. "." .. pg.quote(rel.name), n = 1 })
  for _, row in ipairs(r.rows) do
    meta[row[1]] = { notnull = row[2] == "t", pk = row[3] == "t", typname = row[9] or row[4], default = row[5],
      enum = row[6], enum_items = row[7], base_oid = tonumber(row[8]), base_typmod = tonumber(row[10]) }
  end
  local vfields, kfields = {}, {}
  rel.convs, rel.pk = {}, {}
  local cid = rel.namespace .. "." .. rel.name .. "."
  rel.schemas, rel.vcols = {}, {}
  for i, col in ipairs(rel.columns) do
    local m = meta[col.name] or {}
    -- a domain: its base type (the stream names the domain, a query its base type)
    local tcol = m.base_oid and { name = col.name, oid = m.base_oid, typmod = m.base_typmod } or col
    local s, conv = column_schema(tcol, not (m.notnull or m.pk), task.config["decimal.handling.mode"],
      task.config["time.precision.mode"], m.typname, task.config["hstore.handling.mode"])
    if not s then goto next_column end -- a type Debezium leaves out
    if m.enum and s.type == "string" then
      -- Debezium's enum: a string naming its labels
      s.name, s.version, s.parameters = "io.debezium.data.Enum", 1, { allowed = m.enum }
      s.default = m.default and m.default:match("^'(.*)'::") or nil
    elseif m.enum_items then
      -- an array of an enum: Debezium's array of (required) Enum strings
      s.type, s.items, conv = "array", { type = "string", optional = false, name = "io.debezium.data.Enum",
        version = 1, parameters = { allowed = m.enum_items } }, list_of(function(v) return v end)
    else
      s.default = column_default(s, conv, m.typname, m.default)
    end
    rel.schemas[i], rel.convs[i] = s, conv
    -- column.include/exclude.list filter the value only; the key keeps every key column
    local keep = (not task.col_include or task.col_include(cid .. col.name))
      and not (task.col_exclude and task.col_exclude(cid .. col.name))
    if keep then
      vfields[#vfields + 1] = s
      rel.vcols[#rel.vcols + 1] = i
    end
    if m.pk then
      kfields[#kfields + 1] = s
      rel.pk[#rel.pk + 1] = i
    end
    ::next_column::
  end
  rel.value_schema = { type = "struct", optional = true, name = struct_name(task, rel, "Value"), fields = vfields }
  if #kfields > 0 then
    rel.key_schema = connect.freeze_schema { type = "struct", optional = false, name = struct_name(task, rel, "Key"), fields = kfields }
  end
  local before, after = { field = "before" }, { field = "after" }
  for k, v in pairs(rel.value_schema) do before[k], after[k] = v, v end
  rel.envelope_schema = connect.freeze_schema { type = "struct", optional = false, name = struct_name(task, rel, "Envelope"), version = 2,
    -- Debezium 3.6's SchemaFactory order: before, after, source, transaction, then op, ts_ms,
    -- ts_us, ts_ns.
    fields = { before, after, SOURCE_SCHEMA, TX_SCHEMA, { field = "op", type = "string", optional = false },
      { field = "ts_ms", type = "int64", optional = true }, { field = "ts_us", type = "int64", optional = true },
      { field = "ts_ns", type = "int64", optional = true } } }
  rel.topic = format("%s.%s.%s", task.prefix, rel.namespace, rel.name)
  return rel
end

-- Row (list of text | nil | UNCHANGED) -> value struct; key_only: only key columns are known.
local function row_struct(rel, vals, key_only)
  if not vals then return null end
  local out = {}
  for _, i in ipairs(rel.vcols) do
    local s, v = rel.schemas[i], vals[i]
    if v == pgo.UNCHANGED then
      out[s.field] = UNAVAILABLE
    elseif v == nil then
      out[s.field] = (key_only and not s.optional) and zero_of(s) or null
    else
      out[s.field] = rel.convs[i](v)
    end
  end
  return out
end

local function key_struct(rel, vals)
  if not rel.key_schema or not vals then return nil end
  local out = {}
  for _, i in ipairs(rel.pk) do
    local v = vals[i]
    out[rel.schemas[i].field] = (v == nil or v == pgo.UNCHANGED) and null or rel.convs[i](v)
  end
  return out
end

-- Records -----------------------------------------------------------------------------------

local function source_block(task, rel, ts_us, snapshot, txid, lsn, sequence)
  return { version = VERSION, connector = "postgresql", name = task.prefix, ts_ms = floor(ts_us / 1000),
    snapshot = snapshot, db = task.config["database.dbname"], sequence = sequence or null,
    ts_us = ts_us, ts_ns = ts_us * 1000, schema = rel.namespace, table = rel.name,
    txId = txid or null, lsn = lsn or null, xmin = null, origin = null, origin_lsn = null }
end

local function envelope(task, rel, op, before, after, source)
  local now = connect.now_ms()
  return { before = before, after = after, source = source, transaction = null, op = op, ts_ms = now,
    ts_us = now * 1000, ts_ns = now * 1000000 }
end

local function record(rel, key, value, offset, partition)
  return { topic = rel.topic, key = key, key_schema = key ~= nil and rel.key_schema or nil,
    value = value, value_schema = value ~= nil and rel.envelope_schema or nil,
    source_partition = partition, source_offset = offset }
end

-- Snapshot ----------------------------------------------------------------------------------

local function snapshot_tables(task)
  local r = task.sql:query("SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    .. "WHERE c.relkind IN ('r','p') AND n.nspname NOT IN ('pg_catalog','information_schema') "
    .. "AND n.nspname NOT LIKE 'pg_toast%' ORDER BY 1, 2")
  local out = {}
  for _, row in ipairs(r.rows) do
    if wanted(task, row[1], row[2]) then out[#out + 1] = { namespace = row[1], name = row[2] } end
  end
  return out
end

local function snapshot_open_table(task)
  local s = task.snap
  local t = s.tables[s.ti]
  if not t then return false end
  local cur = "lc_snap_" .. s.ti
  task.sql:query(format("DECLARE %s NO SCROLL CURSOR FOR SELECT * FROM %s.%s", cur, pg.quote(t.namespace),
    pg.quote(t.name)))
  s.cursor, s.first_in_table = cur, true
  return true
end

-- One fetch of the snapshot: records marked first / true / last_in_data_collection / last as
-- Debezium marks them; the last row read is held back until we know whether more follow.
local function snapshot_poll(task)
  local s = task.snap
  local out = {}
  local function emit(rec, mark)
    rec.value.source.snapshot = mark
    rec.source_offset.last_snapshot_record = mark == "last"
    rec.source_offset.snapshot_completed = mark == "last"
    out[#out + 1] = rec
  end
  while #out == 0 do
    if not s.cursor and not snapshot_open_table(task) then
      if s.held then emit(s.held, "last") s.held = nil end
      task.sql:query("COMMIT")
      s.done = true
      return out
    end
    local t = s.tables[s.ti]
    local r = task.sql:query(format("FETCH %d FROM %s", task.config["snapshot.fetch.size"], s.cursor))
    if not t.rel then
      t.columns = {}
      for i, c in ipairs(r.columns) do t.columns[i] = { name = c.name, oid = c.oid, typmod = c.typmod } end
      t.rel = build_relation(task, t)
    end
    if #r.rows == 0 then
      task.sql:query("CLOSE " .. s.cursor)
      s.cursor = nil
      s.ti = s.ti + 1
      if s.held then
        s.held_table_end = true
        if s.tables[s.ti] then emit(s.held, "last_in_data_collection") s.held = nil end
      end
    else
      for _, row in ipairs(r.rows) do
        if s.held then emit(s.held, s.held_mark) end
        local now_us = connect.now_ms() * 1000
        local value = envelope(task, t.rel, "r", null, row_struct(t.rel, row), source_block(task, t.rel, now_us,
          "true", s.txid, s.lsn, s.sequence))
        local off = po.snapshot(s.lsn, s.txid, now_us, false)
        s.held = record(t.rel, key_struct(t.rel, row), value, off, task.partition)
        s.held_mark = s.first and "first" or (s.first_in_table and "first_in_data_collection" or "true")
        s.first, s.first_in_table = false, false
      end
    end
  end
  return out
end

-- Streaming ---------------------------------------------------------------------------------

local function send_status(task, lsn, reply)
  local now_us = connect.now_ms() * 1000 - pgo.PG_EPOCH_US
  local msg = pgo.status_update(lsn, now_us, reply)
  if C.PQputCopyData(task.repl, msg, #msg) ~= 1 or C.PQflush(task.repl) ~= 0 then
    error("cannot send the standby status update: " .. ffi.string(C.PQerrorMessage(task.repl)), 0)
  end
  task.sent_lsn, task.status_at = lsn, connect.now_ms()
end

-- The committed offset (what Kafka acknowledged) and the LSN it lets the slot confirm: its
-- lsn_proc (a change's LSN, or a transaction's end), or a completed snapshot's lsn. A change's
-- LSN is safe to confirm: the server then sends again every transaction whose Commit record
-- starts at or after it, which includes the change's own transaction and every later one.
local function committed(task)
  local off = task.offsets:get(task.partition)
  if not off then return nil end
  local snap_done = off.last_snapshot_record == true or off.snapshot_completed == true
  return off, off.lsn_proc or (snap_done and off.lsn) or nil
end

local function start_streaming(task, from_lsn)
  local pub = task.config["publication.name"]
  repl_exec(task.repl, format("START_REPLICATION SLOT %s LOGICAL %s (proto_version '1', publication_names %s)",
    pg.quote(task.config["slot.name"]), pgo.lsn_text(from_lsn or 0), pg.literal(pg.quote(pub))))
  task.streaming = true
  task.log.info("streaming from slot %s at %s", task.config["slot.name"], pgo.lsn_text(from_lsn or 0))
end

local OP_TYPE = { insert = "INSERT", update = "UPDATE", delete = "DELETE" }

local function on_change(task, m, lsn, passed_over)
  local rel = task.rels[m.relid]
  if not rel or not rel.wanted then return end
  if not rel.value_schema then build_relation(task, rel) end
  local tx = task.tx
  if not tx or passed_over then return end -- passed_over: in Kafka before the restart
  if po.skip_change(task.skip, lsn) then return end -- one of the rows at the offset's LSN in Kafka
  if task.legacy and po.skip_legacy(task.legacy, tx.final_lsn, lsn) then return end
  -- rest: the change of the offset, its first record in Kafka (see _pgoffsets.resume_at)
  tx.recs[#tx.recs + 1] = { rel = rel, m = m, lsn = lsn, rest = po.take_rest(task.rest, lsn) }
end

-- A transaction's records once its Commit (XLogData start end_lsn) is read. Each change's
-- offset is Debezium's: its LSN as lsn and lsn_proc, the end LSN of the transaction read
-- before as lsn_commit.
local function tx_records(task, tx, c, end_lsn)
  local out = {}
  local ts_us = c.commit_time + pgo.PG_EPOCH_US
  local tomb = task.config["tombstones.on.delete"]
  local recs = tx.recs
  -- The position before each change: the offset of the change before it, or the last Commit's
  -- (or the offset resumed from). A change that gives more than one record (a delete and its
  -- tombstone, a key change's delete + tombstone + create) carries that position on all but its
  -- last record: Kafka Connect commits the offset of the last record acknowledged, and a crash
  -- between two of them must give the change again (a duplicate), not resume past it.
  local before = task.hb_offset
  local index = 0
  for i, e in ipairs(recs) do
    local rel, m = e.rel, e.m
    index = (i > 1 and recs[i - 1].lsn == e.lsn) and index + 1 or 1
    local shared = index > 1 or (recs[i + 1] and recs[i + 1].lsn == e.lsn)
    local off = po.change(e.lsn, tx.prev_commit, tx.xid, ts_us, OP_TYPE[m.type], shared and index or nil)
    -- Debezium's sequence: [the last commit's LSN as the stream gave it (the XLogData start of
    -- a Commit message is the transaction's end LSN), this change's LSN]
    local seq = format('["%s","%s"]', tx.prev_commit and format("%.0f", tx.prev_commit) or "null", format("%.0f", e.lsn))
    seq = seq:gsub('"null"', "null")
    local src = function() return source_block(task, rel, ts_us, "false", tx.xid, e.lsn, seq) end
    local first = #out + 1
    local add = function(key, value)
      out[#out + 1] = record(rel, key, value, off, task.partition)
    end
    if m.type == "insert" then
      add(key_struct(rel, m.new), envelope(task, rel, "c", null, row_struct(rel, m.new), src()))
    elseif m.type == "update" then
      local before = m.old and row_struct(rel, m.old, m.old_kind == "K") or null
      local newkey, oldkey = key_struct(rel, m.new), m.old and key_struct(rel, m.old)
      if oldkey and newkey and connect.json.encode(oldkey) ~= connect.json.encode(newkey) then
        -- a primary key change: Debezium's delete + tombstone + create
        add(oldkey, envelope(task, rel, "d", before, null, src()))
        if tomb then add(oldkey, nil) end
        add(newkey, envelope(task, rel, "c", null, row_struct(rel, m.new), src()))
      else
        add(newkey, envelope(task, rel, "u", before, row_struct(rel, m.new), src()))
      end
    elseif m.type == "delete" then
      local key = key_struct(rel, m.old)
      add(key, envelope(task, rel, "d", row_struct(rel, m.old, m.old_kind == "K"), null, src()))
      if tomb and key ~= nil then add(key, nil) end
    end
    if before then
      for j = first, #out - 1 do out[j].source_offset = before end
    end
    if #out > first then po.complete(off) end
    if e.rest and #out >= first then table.remove(out, first) end
    before = off
  end
  -- A transaction that gave no record still moves lsn_commit, and the heartbeat's offset, on.
  task.last_end, task.commit_lsn = end_lsn, end_lsn
  task.hb_offset = po.commit(end_lsn, tx.xid, ts_us)
  return out
end

-- Up to ms milliseconds until the replication socket has data to read.
local function wait_readable(task, ms)
  local pfd = ffi.new("int16_t[4]") -- struct pollfd { int fd; short events; short revents; }
  ffi.cast("int32_t *", pfd)[0] = C.PQsocket(task.repl)
  pfd[2] = 1 -- POLLIN
  ffi.C.poll(pfd, 1, ms)
end

-- How long a poll that has nothing to hand out waits for the stream (as Debezium's poll waits
-- on its queue): returning empty at once would let the worker back off while the walsender
-- has the next changes on their way.
local STREAM_WAIT_MS = 100

local LOCATOR_KIND = { begin = "BEGIN", commit = "COMMIT", insert = "CHANGE", update = "CHANGE", delete = "CHANGE",
  origin = "CHANGE" }

-- One CopyData message of the stream: transactions are collected until their Commit, whose
-- records go to out.
local function on_message(task, buf, out)
  local cm = pgo.copy_message(buf)
  if cm.kind == "k" then
    if cm.reply then send_status(task, task.confirmed or 0, false) end
  elseif cm.kind == "w" then
    local m = pgo.decode(cm.data)
    local lsn = cm.wal_start
    local loc = task.locator
    if loc then
      -- Debezium's WAL position search (WalPositionLocator): read on until the first message
      -- to process is known, then the messages read so far again, those before it passed over
      -- (Debezium reconnects and reads the same stream again; here they are held in memory).
      loc.held[#loc.held + 1] = buf
      local kind = LOCATOR_KIND[m.type]
      local from = kind and po.locate(loc, kind, lsn)
      if from then
        task.locator = nil
        local at = po.resume_at(loc, from)
        task.pass, task.skip, task.rest = { from = at.from }, at.skip, at.rest
        task.log.info("resuming at %s (last change in Kafka %s, last commit %s)%s", pgo.lsn_text(at.from),
          pgo.lsn_text(loc.event), pgo.lsn_text(loc.commit or 0),
          at.rest and "; the records of that change after its first are given again (its offset does not say they are all in Kafka)" or "")
        for _, held in ipairs(loc.held) do on_message(task, held, out) end
      end
      return
    end
    -- passed over: before the resume position (Begin, Commit and Relation are read anyway)
    local passed_over = task.pass and m.type ~= "type" and m.type ~= "truncate" and po.pass_over(task.pass, lsn)
    if m.type == "begin" then
      task.tx = { xid = m.xid, recs = {}, final_lsn = m.final_lsn, prev_commit = task.commit_lsn }
    elseif m.type == "commit" then
      local tx = task.tx
      task.tx = nil
      if tx then
        for _, r in ipairs(tx_records(task, tx, m, lsn)) do
          out[#out + 1] = r
          task.emitted = r.source_offset
        end
      end
    elseif m.type == "relation" then
      local old = task.rels[m.relid]
      m.wanted = wanted(task, m.namespace, m.name)
      task.rels[m.relid] = m
      if old and m.wanted then task.log.info("table %s.%s: relation changed", m.namespace, m.name) end
    elseif m.type == "insert" or m.type == "update" or m.type == "delete" then
      on_change(task, m, lsn, passed_over)
    end
    -- truncate: skipped, as Debezium's default skipped.operations=t
  end
end

local function stream_poll(task)
  local out = {}
  local bufp = ffi.new("char *[1]")
  local max = task.config["max.batch.size"]
  local deadline = connect.now_ms() + STREAM_WAIT_MS
  while #out < max do
    local n = C.PQgetCopyData(task.repl, bufp, 1)
    if n == 0 then
      if C.PQconsumeInput(task.repl) ~= 1 then
        error("replication connection lost: " .. ffi.string(C.PQerrorMessage(task.repl)):gsub("%s+$", ""), 0)
      end
      n = C.PQgetCopyData(task.repl, bufp, 1)
    end
    if n == 0 then
      local left = deadline - connect.now_ms()
      if #out > 0 or left <= 0 then break end
      wait_readable(task, left)
    else
      if n == -1 then error("the server ended the replication stream", 0) end
      if n < 0 then
        error("replication stream error: " .. ffi.string(C.PQerrorMessage(task.repl)):gsub("%s+$", ""), 0)
      end
      local buf = ffi.string(bufp[0], n)
      C.PQfreemem(bufp[0])
      on_message(task, buf, out)
    end
  end
  -- Debezium's heartbeat: a record on <topic.heartbeat.prefix>.<topic.prefix> carrying the
  -- offset after the last Commit read (before any: the offset streaming resumed from), so its
  -- commit moves the slot past transactions that gave no record (it is committed only after
  -- every record before it).
  local hb = task.config["heartbeat.interval.ms"]
  local now = connect.now_ms()
  if hb > 0 and not task.tx and now - (task.hb_at or 0) >= hb then
    task.hb_at = now
    if task.hb_offset then
      out[#out + 1] = { topic = task.config["topic.heartbeat.prefix"] .. "." .. task.prefix,
        key = { serverName = task.prefix }, key_schema = HB_KEY, value = { ts_ms = now }, value_schema = HB_VALUE,
        source_partition = task.partition, source_offset = task.hb_offset }
      task.emitted = task.hb_offset
    end
  end
  -- Confirm to the server only what Kafka acknowledged (at most once a second).
  if now - (task.status_at or 0) >= 1000 then
    local off, c = committed(task)
    if c and c > (task.confirmed or 0) then task.confirmed = c end
    -- Every record handed out is in Kafka (the committed offset is the last one's) and no
    -- transaction is open: the transactions read since then gave no record (other tables), so
    -- the slot may move past them too; without this a quiet captured table next to a busy
    -- other one would keep WAL forever.
    if not task.tx and not task.locator and #out == 0 and task.last_end
        and (task.emitted == nil or po.same_position(off, task.emitted))
        and task.last_end > (task.confirmed or 0) then
      task.confirmed = task.last_end
    end
    send_status(task, task.confirmed or 0, false)
  end
  return out
end

-- Setup -------------------------------------------------------------------------------------

local function ensure_publication(task)
  local cfg = task.config
  local pub = cfg["publication.name"]
  local r = task.sql:query("SELECT 1 FROM pg_publication WHERE pubname = $1", { pub, n = 1 })
  if #r.rows > 0 then return end
  local mode = cfg["publication.autocreate.mode"]
  if mode == "disabled" then
    error(format("publication '%s' does not exist and publication.autocreate.mode=disabled", pub), 0)
  elseif mode == "all_tables" then
    task.sql:query(format("CREATE PUBLICATION %s FOR ALL TABLES", pg.quote(pub)))
  else
    local names = {}
    for _, t in ipairs(snapshot_tables(task)) do names[#names + 1] = pg.quote(t.namespace) .. "." .. pg.quote(t.name) end
    if #names == 0 then
      error(format("publication.autocreate.mode=filtered: no table matches table.include.list for publication '%s'", pub), 0)
    end
    task.sql:query(format("CREATE PUBLICATION %s FOR TABLE %s", pg.quote(pub), concat(names, ", ")))
  end
  task.log.info("created publication %s (%s)", pub, mode)
end

local function slot_info(task)
  local r = task.sql:query("SELECT confirmed_flush_lsn, plugin FROM pg_replication_slots WHERE slot_name = $1 AND database = $2",
    { task.config["slot.name"], task.config["database.dbname"], n = 2 })
  return r.rows[1]
end

local function begin_snapshot(task, exported, lsn)
  task.sql:query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
  if exported then task.sql:query("SET TRANSACTION SNAPSHOT " .. pg.literal(exported)) end
  local txid = tonumber(task.sql:query("SELECT txid_current()").rows[1][1])
  task.snap = { tables = snapshot_tables(task), ti = 1, first = true, lsn = lsn, txid = txid,
    sequence = format('[null,"%.0f"]', lsn) } -- Debezium's: no commit yet, the slot's LSN
  task.log.info("snapshot of %d table(s) at %s", #task.snap.tables, pgo.lsn_text(lsn))
end

local function open(task)
  local cfg = task.config
  task.prefix = cfg["topic.prefix"]
  task.partition = { server = task.prefix }
  task.include, task.exclude = matcher(cfg["table.include.list"], "table.include.list"),
    matcher(cfg["table.exclude.list"], "table.exclude.list")
  task.col_include = matcher(cfg["column.include.list"], "column.include.list")
  task.col_exclude = matcher(cfg["column.exclude.list"], "column.exclude.list")
  task.rels = {}
  task.sql = pg.connect({ host = cfg["database.hostname"], port = cfg["database.port"], db = cfg["database.dbname"],
    params = {} }, cfg["database.user"], cfg["database.password"], "UTC")
  task.sql:query("SET IntervalStyle = 'postgres'") -- the text interval_micros reads, as on the stream
  task.sql:query("SET extra_float_digits = 3")
  task.repl = repl_connect(cfg)
  ensure_publication(task)
  local off = task.offsets:get(task.partition)
  local mode = cfg["snapshot.mode"]
  local slot = slot_info(task)
  if slot and slot[2] ~= "pgoutput" then
    error(format("slot '%s' uses plugin '%s', not pgoutput", cfg["slot.name"], slot[2]), 0)
  end
  local snapshot_done = off and not po.snapshot_running(off)
  local need = (mode == "always") or ((mode == "initial" or mode == "when_needed") and not snapshot_done)
  if mode == "when_needed" and snapshot_done and not slot then need = true end
  if need and slot and (not off or not snapshot_done or mode ~= "always") then
    -- The slot's exported snapshot is gone: recreate the slot so the snapshot and the stream meet.
    task.log.info("slot %s: its snapshot was not completed; dropped and created again", cfg["slot.name"])
    repl_exec(task.repl, "DROP_REPLICATION_SLOT " .. pg.quote(cfg["slot.name"]) .. " WAIT")
    slot = nil
  end
  if not slot then
    local rows = repl_exec(task.repl, format("CREATE_REPLICATION_SLOT %s LOGICAL pgoutput%s",
      pg.quote(cfg["slot.name"]), need and " EXPORT_SNAPSHOT" or " NOEXPORT_SNAPSHOT"))
    local lsn = pgo.lsn_of(rows[1][2])
    task.log.info("created slot %s at %s", cfg["slot.name"], rows[1][2])
    if need then begin_snapshot(task, rows[1][3], lsn) return end
  elseif need then
    begin_snapshot(task, nil, pgo.lsn_of(slot[1]) or 0) -- snapshot.mode=always on an existing slot
    return
  end
  -- Debezium's offsets and ours since 1.1.0 resume by Debezium's rule; ours from before by
  -- theirs (see _pgoffsets.is_legacy for how they are told apart).
  local r = po.resume(off)
  task.legacy, task.commit_lsn = r.legacy, r.commit
  if r.locator then
    r.locator.held = {}
    task.locator = r.locator
  end
  task.hb_offset = off -- a heartbeat before the first Commit read carries the offset resumed from
  task.confirmed = r.start
  start_streaming(task, r.start)
end

return connect.source {
  version = VERSION,
  doc = "Change data capture from PostgreSQL (pgoutput), records as Debezium's PostgreSQL connector",
  aliases = { "PostgresConnector", "io.debezium.connector.postgresql.PostgresConnector" },
  config = CONFIG,
  task_configs = function(cfg) return { cfg } end,
  open = open,
  poll = function(task)
    if task.snap and not task.snap.done then
      local out = snapshot_poll(task)
      if task.snap.done then
        task.last_end = task.snap.lsn
        -- Debezium's offset once its snapshot is over (what a heartbeat carries until a Commit)
        task.hb_offset = { lsn = task.snap.lsn, txId = task.snap.txid, ts_usec = connect.now_ms() * 1000 }
        start_streaming(task, task.snap.lsn)
      end
      return out
    end
    return stream_poll(task)
  end,
  close = function(task)
    if task.repl then
      C.PQfinish(ffi.gc(task.repl, nil))
      task.repl = nil
    end
    if task.config["slot.drop.on.stop"] and task.sql then
      -- the walsender of the connection just closed may hold the slot for a moment
      local ok, err
      for _ = 1, 50 do
        ok, err = pcall(task.sql.query, task.sql, "SELECT pg_drop_replication_slot($1)", { task.config["slot.name"], n = 1 })
        if ok or not tostring(err):find("is active", 1, true) then break end
        pcall(task.sql.query, task.sql, "SELECT pg_sleep(0.1)")
      end
      if ok then
        task.log.info("dropped slot %s (slot.drop.on.stop)", task.config["slot.name"])
      else
        task.log.warn("cannot drop slot %s: %s", task.config["slot.name"], tostring(err))
      end
    end
    if task.sql then task.sql:close() end
  end,
}
