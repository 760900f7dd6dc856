--- _smt: what Kafka Connect's built-in SMTs share (Requirements, SchemaUtil, SchemaBuilder,
-- Struct.get, SingleFieldPath), for the transforms in this directory and any SMT like them.
--
--   local smt = require "_smt"
--
-- Depends on the SDK's value model (lua/codec.h): a map is a table, an array a table with
-- the connect.array metatable, JSON null inside a value is connect.null, a nil value is a
-- tombstone. A schema is a table shaped like JsonConverter's schema JSON; a struct value is
-- a table keyed by field name and a struct field is its schema table plus `field = name`.
-- Schema tables may be shared (cached, constants, other records): never mutate one. Build
-- a new one (the builders here copy) and cache it per input schema with smt.cache().
-- Errors are raised with error(message, 0) and carry Kafka's text. Kafka names Java classes
-- in "found: ..."; we name our value types (smt.type_name) or the schema type.
--
-- API (stable: other SMTs rely on it)
--   smt.null, smt.is_null(v)            connect.null; true for nil and connect.null
--   smt.is_array(v), smt.is_map(v)      array table; table that is not an array
--   smt.type_name(v)                    type for messages: null string number boolean array map
--   smt.target(cfg)                     "key", "key_schema" or "value", "value_schema":
--                                       the record fields of cfg._target ($Key / $Value)
--   smt.require_map(v, purpose)         Requirements.requireMap: returns v or raises
--   smt.require_map_or_null(v, purpose)   "Only Map objects supported in absence of schema
--                                         for [purpose], found: string"
--   smt.require_struct(v, schema, purpose)          requireStruct; found: the schema type
--   smt.require_struct_or_null(v, schema, purpose)    when it is not struct, else type_name
--   smt.require_schema(schema, purpose) "Schema required for [purpose]"
--   smt.require_sink_record(r, purpose) a record with an offset (sink side)
--   smt.cache()                         weak-keyed table: cache[input_schema] = derived
--   smt.fields(schema)                  name -> field table of a struct schema (cached)
--   smt.field(schema, name)             ConnectSchema.field: the field or nil; raises on a
--                                       schema that is not a struct
--   smt.defaults(schema)                the struct's fields that have a default (cached list)
--   smt.get(struct, field, with_default) Struct.get (true) / getWithoutDefault (false);
--                                       null comes back as connect.null
--   smt.fill_defaults(struct, schema)   Struct.get for every field, in place: null fields
--                                       that have a default get it
--   smt.type_enum(schema)               Kafka's Schema.Type name of a schema: INT32, FLOAT64...
--   smt.copy_schema(schema, changes)    a shallow copy with changes (a table) applied
--   smt.copy_schema_basics(src, dst)    SchemaUtil.copySchemaBasics: name, version, doc,
--                                       parameters (not optional/default, as in Kafka)
--   smt.struct_builder(src)             SchemaBuilder.struct() (+ basics of src when given):
--                                       b:field(name, schema) ... b:build()
--   smt.as_field(name, schema)          schema as a field called name (schema itself if so)
--   smt.field_schema(field)             a field as a standalone schema, no "field" (cached)
--   smt.schemas                         Kafka's constants: STRING, OPTIONAL_STRING, INT32,
--                                       OPTIONAL_INT32, INT64, OPTIONAL_INT64, TIMESTAMP,
--                                       OPTIONAL_TIMESTAMP; smt.logical: DECIMAL, DATE, TIME,
--                                       TIMESTAMP (logical type names)
--   smt.path(text, version)             SingleFieldPath ("V1"/"V2"): a path, or nil and
--                                       Kafka's ConfigException text. p.steps, p.n, p.text,
--                                       p:value_from_map(m), p:field_from(schema),
--                                       p:value_from_struct(struct, schema, with_default);
--                                       values may come back as nil or connect.null for a
--                                       null or missing field (test with smt.is_null)
--   smt.field_syntax_config()           the definition of field.syntax.version
local connect = require "luaconnect"
local ffi = require "ffi"

local type, pairs, ipairs, setmetatable, getmetatable = type, pairs, ipairs, setmetatable,
  getmetatable
local error, format, sub, find = error, string.format, string.sub, string.find
local null = connect.null
local array_mt = getmetatable(connect.array())
local is_float = connect.is_float
local istype = ffi.istype
local freeze = connect.freeze_schema

local M = {}

M.null = null

--- True for nil and connect.null.
function M.is_null(v)
  return v == nil or v == null
end

--- True when v is a table the codec writes as a JSON array.
local function is_array(v)
  return type(v) == "table" and (getmetatable(v) == array_mt or v[1] ~= nil)
end
M.is_array = is_array

--- True when v is a table the codec writes as a JSON object.
function M.is_map(v)
  return type(v) == "table" and getmetatable(v) ~= array_mt and v[1] == nil
end

--- The type of v as error messages name it (Kafka names Java classes; we name ours).
local function type_name(v)
  local t = type(v)
  if v == nil or v == null then return "null" end
  if t == "table" then return is_array(v) and "array" or "map" end
  if t == "cdata" and (is_float(v) or istype("int64_t", v) or istype("uint64_t", v)) then
    return "number"
  end
  return t
end
M.type_name = type_name

--- The record fields a $Key / $Value transform works on: value field, schema field.
function M.target(cfg)
  if cfg._target == "key" then return "key", "key_schema" end
  return "value", "value_schema"
end

-- Requirements ------------------------------------------------------------------------

--- Requirements.requireMap: v when it is a map, else a DataException-like error.
function M.require_map(v, purpose)
  if type(v) ~= "table" or getmetatable(v) == array_mt or v[1] ~= nil then
    error(format("Only Map objects supported in absence of schema for [%s], found: %s",
      purpose, type_name(v)), 0)
  end
  return v
end

--- Requirements.requireMapOrNull: nil for null, else as require_map.
function M.require_map_or_null(v, purpose)
  if v == nil or v == null then return nil end
  return M.require_map(v, purpose)
end

--- Requirements.requireStruct: v when schema is a struct schema and v a table.
function M.require_struct(v, schema, purpose)
  local st = schema and schema.type
  if st ~= "struct" or type(v) ~= "table" or getmetatable(v) == array_mt then
    local found = (v ~= nil and v ~= null and st and st ~= "struct") and st or type_name(v)
    error(format("Only Struct objects supported for [%s], found: %s", purpose, found), 0)
  end
  return v
end

--- Requirements.requireStructOrNull: nil for null, else as require_struct.
function M.require_struct_or_null(v, schema, purpose)
  if v == nil or v == null then return nil end
  return M.require_struct(v, schema, purpose)
end

--- Requirements.requireSchema.
function M.require_schema(schema, purpose)
  if schema == nil or schema == null then
    error(format("Schema required for [%s]", purpose), 0)
  end
  return schema
end

--- Requirements.requireSinkRecord: sink records are the ones with a Kafka offset.
function M.require_sink_record(record, purpose)
  if record.offset == nil then
    error(format("Only SinkRecord supported for [%s], found: SourceRecord", purpose), 0)
  end
  return record
end

-- Schemas -----------------------------------------------------------------------------

local weak_keys = { __mode = "k" }

--- A weak-keyed table for derived schemas: cache[input_schema] = output. Entries go away
-- with the input schema, so a cache never pins schemas of records long gone.
function M.cache()
  return setmetatable({}, weak_keys)
end

local index_cache = M.cache()

--- name -> field table of a struct schema, built once per schema table.
local function fields_of(schema)
  local idx = index_cache[schema]
  if idx then return idx end
  idx = {}
  local fields = schema.fields
  if fields then
    for _, f in ipairs(fields) do idx[f.field] = f end
  end
  index_cache[schema] = idx
  return idx
end
M.fields = fields_of

--- ConnectSchema.field(name): the field table or nil; only struct schemas have fields.
function M.field(schema, name)
  if schema.type ~= "struct" then
    error("Cannot look up fields on non-struct type", 0)
  end
  return fields_of(schema)[name]
end

local defaults_cache = M.cache()

--- The struct schema's fields that have a default value (a list, often empty; cached).
local function defaults_of(schema)
  local list = defaults_cache[schema]
  if list then return list end
  list = {}
  for _, f in ipairs(schema.fields or {}) do
    if f.default ~= nil and f.default ~= null then list[#list + 1] = f end
  end
  defaults_cache[schema] = list
  return list
end
M.defaults = defaults_of

--- Struct.get(field) when with_default, else Struct.getWithoutDefault; null is connect.null.
function M.get(struct, field, with_default)
  local v = struct[field.field]
  if v == nil or v == null then
    if with_default then
      local d = field.default
      if d ~= nil then return d end
    end
    return null
  end
  return v
end

--- In place, what copying a Struct field by field with Struct.get does: every null field
-- that has a default gets the default. Returns struct.
function M.fill_defaults(struct, schema)
  local list = defaults_of(schema)
  for i = 1, #list do
    local f = list[i]
    local name = f.field
    local v = struct[name]
    if v == nil or v == null then struct[name] = f.default end
  end
  return struct
end

local TYPE_ENUM = { float = "FLOAT32", double = "FLOAT64" }

--- Kafka's Schema.Type name for schema's type (messages name types this way).
function M.type_enum(schema)
  local t = tostring(schema.type)
  return TYPE_ENUM[t] or t:upper()
end

--- A new table with schema's entries, then changes' entries (may be nil).
function M.copy_schema(schema, changes)
  local out = {}
  for k, v in pairs(schema) do out[k] = v end
  if changes then
    for k, v in pairs(changes) do out[k] = v end
  end
  return out
end

--- SchemaUtil.copySchemaBasics: name, version, doc and parameters of src into dst.
-- Kafka copies neither optional nor default: a rebuilt struct is required, as there.
function M.copy_schema_basics(src, dst)
  dst.name, dst.version, dst.doc = src.name, src.version, src.doc
  if src.parameters ~= nil then dst.parameters = src.parameters end
  return dst
end

--- schema as a struct field called name: schema itself when it already is that field.
local function as_field(name, schema)
  if schema.field == name then return schema end
  local f = {}
  for k, v in pairs(schema) do f[k] = v end
  f.field = name
  return f
end
M.as_field = as_field

local field_schema_cache = M.cache()

--- A struct field as a schema of its own (Field.schema()): without the "field" key.
function M.field_schema(field)
  if field.field == nil then return field end
  local s = field_schema_cache[field]
  if s then return s end
  s = {}
  for k, v in pairs(field) do s[k] = v end
  s.field = nil
  field_schema_cache[field] = s
  return s
end

local Builder = {}
Builder.__index = Builder

--- Adds a field; a name used twice raises SchemaBuilder's error.
function Builder:field(name, schema)
  if self.names[name] then
    error("Cannot create field because of field name duplication " .. name, 0)
  end
  local f = as_field(name, schema)
  self.names[name] = f
  local fields = self.schema.fields
  fields[#fields + 1] = f
  return self
end

--- The schema, frozen (connect.freeze_schema): neither the builder nor the schema may change
-- afterwards.
function Builder:build()
  return freeze(self.schema)
end

--- SchemaBuilder.struct(), with copySchemaBasics(src) when src is given.
function M.struct_builder(src)
  local s = { type = "struct", optional = false, fields = setmetatable({}, array_mt) }
  if src then M.copy_schema_basics(src, s) end
  return setmetatable({ schema = s, names = {} }, Builder)
end

local TIMESTAMP_NAME = "org.apache.kafka.connect.data.Timestamp"
M.logical = {
  DECIMAL = "org.apache.kafka.connect.data.Decimal",
  DATE = "org.apache.kafka.connect.data.Date",
  TIME = "org.apache.kafka.connect.data.Time",
  TIMESTAMP = TIMESTAMP_NAME,
}

M.schemas = {
  STRING = freeze { type = "string", optional = false },
  OPTIONAL_STRING = freeze { type = "string", optional = true },
  INT32 = freeze { type = "int32", optional = false },
  OPTIONAL_INT32 = freeze { type = "int32", optional = true },
  INT64 = freeze { type = "int64", optional = false },
  OPTIONAL_INT64 = freeze { type = "int64", optional = true },
  TIMESTAMP = freeze { type = "int64", optional = false, name = TIMESTAMP_NAME, version = 1 },
  OPTIONAL_TIMESTAMP = freeze { type = "int64", optional = true, name = TIMESTAMP_NAME,
    version = 1 },
}

-- Field paths (KIP-821) ---------------------------------------------------------------

local BACKTICK, DOT, BACKSLASH = 96, 46, 92

local function incomplete(path, at)
  return nil, format("Incomplete backtick pair in path: [%s], consider adding a backslash "
    .. "before backtick at position %d to escape it", path, at)
end

-- SingleFieldPath's V2 grammar: steps split on dots; a step may be wrapped in backticks
-- (closed by a backtick followed by a dot or the end), where \` keeps a backtick.
-- Positions below are 1-based; messages report Kafka's 0-based ones.
local function parse_v2(path)
  local steps, n, idx = {}, #path, 1
  local byte = string.byte
  while idx <= n do
    if byte(path, idx) ~= BACKTICK then
      local dot = find(path, ".", idx, true)
      if dot then
        steps[#steps + 1] = sub(path, idx, dot - 1)
        idx = dot + 1
      else
        steps[#steps + 1] = sub(path, idx)
        idx = n + 1
      end
    else
      local backtick_at = idx
      idx = idx + 1
      local parts, start = {}, idx
      while true do
        idx = find(path, "`", idx, true)
        if not idx then return incomplete(path, backtick_at - 1) end
        local escaped = byte(path, idx - 1) == BACKSLASH
        if idx >= n then -- the closing backtick ends the path
          if escaped then return incomplete(path, backtick_at - 1) end
          parts[#parts + 1] = sub(path, start, idx - 1)
          steps[#steps + 1] = table.concat(parts)
          idx = idx + 1
          break
        end
        if byte(path, idx + 1) ~= DOT then
          idx = idx + 1 -- a backtick inside the name
        elseif escaped then
          parts[#parts + 1] = sub(path, start, idx - 2) .. "`"
          idx = idx + 1
          start = idx
        else
          parts[#parts + 1] = sub(path, start, idx - 1)
          steps[#steps + 1] = table.concat(parts)
          idx = idx + 2
          break
        end
      end
    end
  end
  if n > 0 and byte(path, n) == DOT then steps[#steps + 1] = "" end
  return steps
end

local Path = {}
Path.__index = Path

--- SingleFieldPath.valueFrom(map): the value at the path or nil; intermediate steps must
-- be maps (or null, which gives nil).
function Path:value_from_map(map)
  if map == nil or map == null then return nil end
  local steps, n = self.steps, self.n
  local cur = map
  for i = 1, n - 1 do
    cur = M.require_map_or_null(cur[steps[i]], "nested field access")
    if cur == nil then return nil end
  end
  return cur[steps[n]]
end

--- SingleFieldPath.fieldFrom(schema): the field table at the path or nil.
function Path:field_from(schema)
  if schema == nil then return nil end
  local steps, n = self.steps, self.n
  local cur = schema
  for i = 1, n - 1 do
    local f = M.field(cur, steps[i])
    if f == nil then return nil end
    cur = f
  end
  return M.field(cur, steps[n])
end

--- SingleFieldPath.valueFrom(struct, withDefault): the value at the path or connect.null
-- (nil when struct is null). Intermediate steps always take defaults, as in Kafka.
function Path:value_from_struct(struct, schema, with_default)
  if struct == nil or struct == null then return nil end
  local steps, n = self.steps, self.n
  local cur, cur_schema = struct, schema
  for i = 1, n - 1 do
    local f = fields_of(cur_schema)[steps[i]]
    if f == nil then return null end
    cur = M.require_struct_or_null(M.get(cur, f, true), f, "nested field access")
    if cur == nil then return null end
    cur_schema = f
  end
  local f = fields_of(cur_schema)[steps[n]]
  if f == nil then return null end
  return M.get(cur, f, with_default)
end

--- A SingleFieldPath for text under syntax version ("V1" or "V2", any case): the path,
-- or nil and Kafka's ConfigException message.
function M.path(text, version)
  local steps
  version = (version or "V1"):upper()
  if version == "V1" then
    steps = { text }
  elseif version == "V2" then
    local err
    steps, err = parse_v2(text)
    if not steps then return nil, err end
    if #steps == 0 then return nil, "Field path must not be empty" end
  else
    return nil, format("Unknown syntax version: %s", version)
  end
  return setmetatable({ steps = steps, n = #steps, text = text, version = version }, Path)
end

--- The config definition of field.syntax.version (FieldSyntaxVersion.appendConfigTo).
function M.field_syntax_config()
  return {
    type = "string", default = "V1",
    doc = "Defines the version of the syntax to access fields. V1: field paths address "
      .. "the root level only. V2: dotted notation reaches nested fields; wrap names "
      .. "containing dots in backticks, e.g. \"`foo.bar`.baz\".",
    validate = function(v)
      local u = v:upper()
      if u ~= "V1" and u ~= "V2" then return "String must be one of (case insensitive): V1, V2" end
    end,
  }
end

return M
