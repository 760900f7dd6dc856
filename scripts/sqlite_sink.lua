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
-- Server databases: a connection.url of jdbc:postgresql://, jdbc:mysql:// or jdbc:mariadb://
-- hands the task to the JDBC core (_jdbc, with its _pg / _mysql dialects), so the class name
-- JdbcSinkConnector serves every database; everything above describes SQLite.
local connect = require "luaconnect"
local sqlite = require "_sqlite"
local jdbc = require "_jdbc"
local ffi = require "ffi"

local null, encode, is_float = connect.null, connect.json.encode, connect.is_float
local array_mt = getmetatable(connect.array())
local quote, is_busy = sqlite.quote, sqlite.is_busy
local format, concat, sort, floor = string.format, table.concat, table.sort, math.floor
local type, pairs, ipairs, tostring, tonumber = type, pairs, ipairs, tostring, tonumber
local pcall, error, getmetatable = pcall, error, getmetatable

local DEFAULT_KAFKA_PK_NAMES = { "__connect_topic", "__connect_partition", "__connect_offset" }
local DECIMAL = "org.apache.kafka.connect.data.Decimal"
local DATE = "org.apache.kafka.connect.data.Date"
local TIME = "org.apache.kafka.connect.data.Time"
local TIMESTAMP = "org.apache.kafka.connect.data.Timestamp"

-- JsonConverter schema type names -> Kafka Connect's Schema.Type names (for messages).
local CONNECT_TYPE = {
  int8 = "INT8", int16 = "INT16", int32 = "INT32", int64 = "INT64", float = "FLOAT32",
  double = "FLOAT64", float32 = "FLOAT32", float64 = "FLOAT64", boolean = "BOOLEAN",
  string = "STRING", bytes = "BYTES", array = "ARRAY", map = "MAP", struct = "STRUCT",
}
local SQL_TYPE = {
  BOOLEAN = "INTEGER", INT8 = "INTEGER", INT16 = "INTEGER", INT32 = "INTEGER", INT64 = "INTEGER",
  FLOAT32 = "REAL", FLOAT64 = "REAL", STRING = "TEXT", BYTES = "BLOB",
}

-- Where a column's value comes from.
local SRC_VALUE_FIELD, SRC_KEY_FIELD, SRC_KEY, SRC_VALUE = 1, 2, 3, 4
local SRC_TOPIC, SRC_PARTITION, SRC_OFFSET = 5, 6, 7
-- How it is bound: as it is, as a BLOB, or through a conversion/check function.
local OP_PLAIN, OP_BLOB, OP_CONV = 0, 1, 2

-- Plan-cache keys for records that have no schema table to key on.
local NO_KEY, PRIMITIVE_KEY, PRIMITIVE_VALUE, TOMBSTONE = {}, {}, {}, {}

pcall(ffi.cdef, "int poll(void *fds, unsigned long nfds, int timeout);")

local function sleep_ms(ms)
  if ms > 0 then ffi.C.poll(nil, 0, ms) end
end

local function dq(name) -- a table as Confluent's messages show it (TableId.toString)
  return '"' .. name .. '"'
end

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
    doc = no_op("each put() batch, up to 500 records, is one transaction") },
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

-- Values ----------------------------------------------------------------------------------

local TWO53 = 2 ^ 53

-- A Connect Decimal's bytes (big-endian two's complement unscaled value) as decimal text;
-- SQLite's NUMERIC affinity turns it into an INTEGER or REAL as sqlite-jdbc's setBigDecimal.
local function decimal_text(bytes, scale)
  local n = #bytes
  if n == 0 then return "0" end
  local b = { bytes:byte(1, n) }
  local neg = b[1] >= 128
  if neg then
    for i = 1, n do b[i] = 255 - b[i] end
    for i = n, 1, -1 do
      if b[i] == 255 then b[i] = 0 else b[i] = b[i] + 1; break end
    end
  end
  local acc = { 0 } -- base 1e7, least significant first
  for i = 1, n do
    local carry = b[i]
    for j = 1, #acc do
      local x = acc[j] * 256 + carry
      acc[j] = x % 1e7
      carry = floor(x / 1e7)
    end
    while carry > 0 do
      acc[#acc + 1] = carry % 1e7
      carry = floor(carry / 1e7)
    end
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

local function describe_value(v)
  local t = type(v)
  if t == "string" then
    return format("%q (string)", #v > 40 and v:sub(1, 40) .. "..." or v)
  elseif t == "table" then
    return getmetatable(v) == array_mt and "an array" or "an object"
  end
  return format("%s (%s)", tostring(v), t)
end

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

local function connect_type(schema)
  return CONNECT_TYPE[schema.type] or tostring(schema.type):upper()
end

local function schema_text(f) -- Kafka Connect's ConnectSchema.toString()
  if f.schema then
    local t = connect_type(f.schema)
    return f.schema.name and format("Schema{%s:%s}", f.schema.name, t) or format("Schema{%s}", t)
  end
  return format("Schema{%s}", f.kind or "STRING")
end

local function field_text(f) -- Confluent's SinkRecordField.toString()
  return format("SinkRecordField{schema=%s, name='%s', isPrimaryKey=%s}", schema_text(f), f.name,
    tostring(f.pk == true))
end

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

-- The Connect type a schemaless sample value would have, and its SQL type (nil for null).
local function infer(v)
  local t = type(v)
  if v == nil or v == null then return nil end
  if t == "number" then
    if v == floor(v) and v >= -TWO53 and v <= TWO53 then return "INT64", "INTEGER" end
    return "FLOAT64", "REAL"
  elseif t == "cdata" then
    if is_float(v) then return "FLOAT64", "REAL" end
    return "INT64", "INTEGER"
  elseif t == "boolean" then
    return "BOOLEAN", "INTEGER"
  elseif t == "string" then
    return "STRING", "TEXT"
  end
  return "STRING", "TEXT" -- objects and arrays are stored as JSON text
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

local function is_object(v)
  return type(v) == "table" and getmetatable(v) ~= array_mt and v[1] == nil
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  sort(keys)
  return keys
end

local function list_text(list)
  return "[" .. concat(list, ", ") .. "]"
end

-- FieldsMetadata: the key and non-key fields of a record's table row, as Confluent's
-- FieldsMetadata.extract (plus schemaless objects: fields from the keys, types from values).
-- A field: { name, pk, src, path, schema | kind+sqltype (schemaless), optional, default }.
local function fields_metadata(S, tname, rec, tombstone)
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
    if not vs and not string_value and not is_object(value) then
      error(format("Value must be a Struct, a String or a schemaless JSON object, got %s",
        describe_value(value)), 0)
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
        tname, list_text(DEFAULT_KAFKA_PK_NAMES), list_text(pk_fields)), 0)
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
    elseif not ks and is_object(key) then
      struct_fields = {}
      for k, v in pairs(key) do struct_fields[k] = { sample = v } end
    elseif (ks and (ks.type == "array" or ks.type == "map")) or type(key) == "table" then
      error(format("Key schema must be primitive type or Struct, but is of type: %s",
        ks and connect_type(ks) or (getmetatable(key) == array_mt and "ARRAY" or "MAP")), 0)
    end
    if not struct_fields then
      if #pk_fields ~= 1 then
        error(format("Need exactly one PK column defined since the key schema for records is a "
          .. "primitive type, defined columns are: %s", list_text(pk_fields)), 0)
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
            .. "record key schema does not contain field: %s", tname, list_text(pk_fields), name), 0)
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
          .. "record value schema does not contain field: %s", tname, list_text(pk_fields), name), 0)
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
  if not S.auto_create then
    error(format("Table %s is missing and auto-creation is disabled", dq(tname)), 0)
  end
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
  for _, f in ipairs(missing) do
    if not f.optional and (f.default == nil or f.default == null) then
      error(format("Cannot ALTER TABLE %s to add missing field %s, as the field is not optional "
        .. "and does not have a default value", dq(tname), field_text(f)), 0)
    end
  end
  local texts = {}
  for i, f in ipairs(missing) do texts[i] = field_text(f) end
  if not S.auto_evolve then
    error(format("Table %s is missing fields (%s) and auto-evolution is disabled", dq(tname),
      list_text(texts)), 0)
  end
  local sqls = {}
  for i, f in ipairs(missing) do
    sqls[i] = "ALTER TABLE " .. quote(tname) .. " ADD " .. column_spec(f)
  end
  S.log.info("Amending TABLE to add missing fields:%s maxRetries:%d with SQL: %s", list_text(texts),
    S.max_retries, list_text(sqls))
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
  local fm = fields_metadata(S, tname, rec, tombstone)
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

-- Confluent's RecordValidator for a tombstone when deletes are off.
local function reject_tombstone(S, rec)
  error(format("Sink connector '%s' is configured with 'delete.enabled=false' and 'pk.mode=%s' and "
    .. "therefore requires records with a non-null Struct or String value and non-null Struct or "
    .. "String schema, but found record at (topic='%s',partition=%s,offset=%s,timestamp=%s) with a "
    .. "null value and %s value schema.", S.name, S.pk_mode, tostring(rec.topic),
    tostring(rec.partition), tostring(rec.offset), tostring(rec.timestamp or -1),
    rec.value_schema and connect_type(rec.value_schema) or "null"), 0)
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

local function table_name(S, topic)
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
      if value == nil and not S.delete_enabled then reject_tombstone(S, rec) end
      local tname = table_of[topic] or table_name(S, topic)
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
  local hi, list = {}, {}
  for i = 1, upto do
    local rec = records[i]
    local offset = rec.offset
    if offset ~= nil then
      local topic = rec.topic
      local by_partition = hi[topic]
      if not by_partition then
        by_partition = {}
        hi[topic] = by_partition
      end
      local p = rec.partition
      local cur = by_partition[p]
      if cur == nil or offset + 1 > cur then by_partition[p] = offset + 1 end
    end
  end
  local st = statement(S, "INSERT OR REPLACE INTO " .. quote(S.offsets_table)
    .. "(`connector`,`topic`,`partition`,`next_offset`) VALUES(?,?,?,?)")
  local stored = S.next_offsets
  for topic, by_partition in pairs(hi) do
    for p, nx in pairs(by_partition) do
      local old = stored[topic] and stored[topic][p]
      if old == nil or nx > old then
        st:bind(1, S.name)
        st:bind(2, topic)
        st:bind(3, p)
        st:bind(4, nx)
        st:step()
        st:reset()
        list[#list + 1] = { topic, p, nx }
      end
    end
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
  if stored then
    local nexts = S.next_offsets
    for _, e in ipairs(stored) do
      nexts[e[1]] = nexts[e[1]] or {}
      nexts[e[1]][e[2]] = e[3]
    end
  end
  return true
end

local function describe_record(rec, i, n)
  return format("record %d of %d (topic %s, partition %s, offset %s)", i, n, tostring(rec.topic),
    tostring(rec.partition), tostring(rec.offset))
end

--- Writes one batch in one transaction (see the header for bad records and retries).
local function put(task, records)
  local S = task.sink
  local n = #records
  local skipped, retries = nil, 0
  while true do
    local ok, err, i = transaction(S, records, n, skipped)
    if ok then return end
    err = tostring(err)
    forget(S)
    if is_busy(err) then
      if retries >= S.max_retries then
        error(format("writing %d records failed after %d retries: %s", n, retries, err), 0)
      end
      retries = retries + 1
      task.log.warn("Write of %d records failed, remainingRetries=%d: %s", n,
        S.max_retries - retries + 1, err)
      sleep_ms(S.retry_backoff_ms)
    elseif not i then
      error(format("writing %d records failed: %s", n, err), 0)
    else
      local what = describe_record(records[i], i, n) .. ": " .. err
      if S.tolerant then
        -- The error path: errors.log and the dead letter queue get the original record.
        task.report(records[i], what)
        skipped = skipped or {}
        skipped[i] = true
      else
        -- Keep what came before the bad record, then fail naming it.
        if i > 1 then
          local ok2, err2 = transaction(S, records, i - 1, skipped)
          if not ok2 then
            forget(S)
            what = what .. format(" (and records 1..%d were not written either: %s)", i - 1,
              tostring(err2))
          end
        end
        error(what, 0)
      end
    end
  end
end

-- Task ------------------------------------------------------------------------------------------

-- Opens connection.url, connection.attempts times connection.backoff.ms apart.
local function open_db(task)
  local cfg = task.config
  local attempts, last = cfg["connection.attempts"] or 3, nil
  for a = 1, attempts do
    local url = cfg["connection.url"]
    local ok, db = pcall(sqlite.open, url, { busy_timeout_ms = 5000 })
    if ok then
      -- WAL unless the URL chooses: a commit per batch costs one fsync instead of several
      -- (2x the throughput) and readers of the table no longer block the writer.
      if not url:lower():find("journal_mode=", 1, true) then
        local wal_ok, err = pcall(db.exec, db, "PRAGMA journal_mode=WAL")
        if not wal_ok then task.log.warn("cannot switch %s to WAL: %s", url, tostring(err)) end
      end
      return db
    end
    last = db
    if a < attempts then
      task.log.warn("Unable to connect to database on attempt %d/%d. Will retry in %d ms: %s", a,
        attempts, cfg["connection.backoff.ms"] or 10000, tostring(db))
      sleep_ms(cfg["connection.backoff.ms"] or 10000)
    end
  end
  error(tostring(last), 0)
end

-- A list as a set, nil when empty (fields.whitelist: empty means every field).
local function set_of(list)
  if not list or #list == 0 then return nil end
  local s = {}
  for _, v in ipairs(list) do s[v] = true end
  return s
end

--- Opens the database (and the offsets table with exactly.once) for a task.
local function open(task)
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
local function open_partitions(task, partitions)
  local S = task.sink
  if not S.eos then return nil end
  load_offsets(S) -- another task may have written them before this assignment
  local out = {}
  for _, tp in ipairs(partitions) do
    local by_partition = S.next_offsets[tp.topic]
    local nx = by_partition and by_partition[tp.partition]
    if nx then out[#out + 1] = { topic = tp.topic, partition = tp.partition, offset = nx } end
  end
  return out
end

--- Finalizes the statements and closes the database.
local function close(task)
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

  open = function(task)
    local d = jdbc.dialect_of(task.config["connection.url"])
    if d then
      task.jdbc = true
      return jdbc.sink.open(d, task)
    end
    return open(task)
  end,
  put = function(task, records)
    if task.jdbc then return jdbc.sink.put(task, records) end
    return put(task, records)
  end,
  open_partitions = function(task, partitions)
    if task.jdbc then return jdbc.sink.open_partitions(task, partitions) end
    return open_partitions(task, partitions)
  end,
  close = function(task)
    if task.jdbc then return jdbc.sink.close(task) end
    return close(task)
  end,
}
