--- TimestampConverter: Kafka Connect's TimestampConverter$Key / $Value. Converts a field
-- (or the whole key or value) between Unix epoch numbers, formatted strings (Java
-- SimpleDateFormat patterns, UTC) and Connect's Date, Time and Timestamp logical types,
-- updating the schema to the target type's schema.
--
-- Values as the codec holds them: Timestamp and unix are int64 (ms, or unix.precision),
-- Date is int32 days, Time int32 ms of the day. Without a schema there is no java.util.Date:
-- a Date, Time or Timestamp target gives epoch milliseconds (midnight for Date, the time of
-- day for Time), and numbers read as unix times (integers) as Kafka reads a Long.
local connect = require "luaconnect"
local smt = require "_smt"
local datetime = require "_datetime"
local ffi = require "ffi"

local null = connect.null
local type, tonumber, tostring, error, format = type, tonumber, tostring, error, string.format
local pairs, ipairs, setmetatable = pairs, ipairs, setmetatable
local floor = math.floor
local istype = ffi.istype
local int64_t, uint64_t = ffi.typeof("int64_t"), ffi.typeof("uint64_t")

local PURPOSE = "converting timestamp formats"
local DAY = 86400000
local TWO53 = 2 ^ 53
local LONG_MAX, LONG_MIN = 9223372036854775807LL, -9223372036854775807LL - 1
local L = smt.logical

local TYPES = { "string", "unix", "Date", "Time", "Timestamp" }
local PRECISIONS = { "nanoseconds", "microseconds", "milliseconds", "seconds" }

-- The schema of each target type (Kafka's constants), required and optional.
local function schema_pair(t, name)
  local req = { type = t, optional = false, name = name, version = name and 1 or nil }
  local opt = { type = t, optional = true, name = name, version = name and 1 or nil }
  return { [false] = req, [true] = opt }
end
local TYPE_SCHEMAS = {
  string = schema_pair("string"),
  unix = schema_pair("int64"),
  Date = schema_pair("int32", L.DATE),
  Time = schema_pair("int32", L.TIME),
  Timestamp = schema_pair("int64", L.TIMESTAMP),
}

-- Schema.Type names, for ConnectSchema.toString in messages.
local JAVA_TYPE = { float = "FLOAT32", double = "FLOAT64" }

local function blank(s)
  return s == nil or s:match("^%s*$") ~= nil
end

--- A whole-number value as the value model holds it: a number up to 2^53, else int64_t.
local function norm64(v)
  if type(v) == "number" then
    if v >= -TWO53 and v <= TWO53 then return v end
    if v >= 9.2233720368547758e18 then return LONG_MAX end
    if v <= -9.2233720368547758e18 then return LONG_MIN end
    return int64_t(v)
  end
  if v >= -TWO53 and v <= TWO53 then return tonumber(v) end
  return v
end

local function is_long(v)
  local t = type(v)
  if t == "number" then return v == floor(v) and v - v == 0 end
  return t == "cdata" and (istype(int64_t, v) or istype(uint64_t, v))
end

local function trunc(x)
  return x < 0 and -floor(-x) or floor(x)
end

--- ms * factor saturated to the long range (TimeUnit.MILLISECONDS.toMicros / toNanos).
local function scale_up(ms, factor)
  local limit = 9223372036854775807 / factor
  if ms > limit then return LONG_MAX end
  if ms < -limit then return LONG_MIN end
  local r = ms * factor
  if r >= -TWO53 and r <= TWO53 then return r end
  return norm64(int64_t(ms) * factor)
end

--- v (a long in unit/1000^k) to ms, truncating toward zero (TimeUnit.toMillis).
local function scale_down(v, divisor)
  if type(v) == "number" then return trunc(v / divisor) end
  if istype(uint64_t, v) then v = ffi.cast(int64_t, v) end
  return tonumber(v / divisor)
end

-- What a value is, for messages (Kafka names the Java class: Long, Double, ...).
local function found(v)
  if (type(v) == "number" and not is_long(v)) or connect.is_float(v) then return "double" end
  return smt.type_name(v)
end

-- TimestampTranslator.toRaw: the value in type t as epoch milliseconds (a number).
local function to_raw(cfg, t, v)
  if t == "Timestamp" or t == "Time" or t == "Date" then
    if type(v) ~= "number" and not is_long(v) then
      error(format("Expected %s to be a java.util.Date, but found %s", t, found(v)), 0)
    end
    v = tonumber(v)
    if t == "Date" and cfg._with_schema then return v * DAY end
    return v
  elseif t == "unix" then
    if not is_long(v) then
      error("Expected Unix timestamp to be a Long, but found " .. found(v), 0)
    end
    local p = cfg._precision
    if p == "seconds" then
      local s = tonumber(v)
      if s > 9223372036854775.807 then return tonumber(LONG_MAX) end
      if s < -9223372036854775.808 then return tonumber(LONG_MIN) end
      return s * 1000
    elseif p == "microseconds" then
      return scale_down(v, 1000)
    elseif p == "nanoseconds" then
      return scale_down(v, 1000000)
    end
    return tonumber(v)
  else -- string
    if type(v) ~= "string" then
      error("Expected string timestamp to be a String, but found " .. found(v), 0)
    end
    local f = cfg._format
    if not f then
      error("TimestampConverter requires format option to be specified when using string "
        .. "timestamps", 0)
    end
    local ms = f:parse(v)
    if not ms then
      error(format("Could not parse timestamp: value (%s) does not match pattern (%s)", v,
        f.pattern), 0)
    end
    return ms
  end
end

-- TimestampTranslator.toType: epoch milliseconds as the target type's value.
local function to_type(cfg, ms)
  local t = cfg["target.type"]
  if t == "Timestamp" then
    return norm64(ms)
  elseif t == "Date" then
    local days = floor(ms / DAY)
    if cfg._with_schema then return days end
    return days * DAY
  elseif t == "Time" then
    return ms - floor(ms / DAY) * DAY
  elseif t == "unix" then
    local p = cfg._precision
    if p == "seconds" then return norm64(trunc(ms / 1000)) end
    if p == "microseconds" then return scale_up(ms, 1000) end
    if p == "nanoseconds" then return scale_up(ms, 1000000) end
    return norm64(ms)
  else
    local f = cfg._format
    if not f then
      error("TimestampConverter requires format option to be specified when using string "
        .. "timestamps", 0)
    end
    return f:format(ms)
  end
end

--- The timestamp type a schema holds (timestampTypeFromSchema).
local function type_from_schema(schema)
  local name = schema.name
  if name == L.TIMESTAMP then return "Timestamp" end
  if name == L.DATE then return "Date" end
  if name == L.TIME then return "Time" end
  if schema.type == "string" then return "string" end
  if schema.type == "int64" then return "unix" end
  local jt = JAVA_TYPE[schema.type] or tostring(schema.type):upper()
  error(format("Schema %s does not correspond to a known timestamp type format",
    name and format("Schema{%s:%s}", name, jt) or format("Schema{%s}", jt)), 0)
end

--- The timestamp type of a schemaless value (inferTimestampType).
local function infer_type(v)
  if type(v) == "string" then return "string" end
  if is_long(v) then return "unix" end
  error(format("TimestampConverter does not support %s objects as timestamps", found(v)), 0)
end

-- convertTimestamp: null stays null; from is the source type (nil: infer it).
local function convert(cfg, v, from)
  if v == nil or v == null then return v end
  return to_type(cfg, to_raw(cfg, from or infer_type(v), v))
end

-- The struct's field converted (when the schema has it: from is its type), others copied,
-- nulls replaced by defaults if asked.
local function convert_struct(cfg, value, schema, from)
  if cfg._defaults then smt.fill_defaults(value, schema) end
  if not from then return value end
  local name = cfg.field
  local v = value[name]
  if v ~= nil then value[name] = convert(cfg, v, from) end
  return value
end

local function copy_table(t)
  local out = {}
  for k, v in pairs(t) do out[k] = v end
  return out
end

-- The updated struct schema (and the field's source type), once per input schema.
local function plan_for(cfg, schema)
  local p = cfg._plans[schema]
  if p then return p end
  local b = smt.struct_builder(schema)
  local target = TYPE_SCHEMAS[cfg["target.type"]]
  local from
  for _, f in ipairs(schema.fields) do
    if f.field == cfg.field then
      from = type_from_schema(f)
      b:field(f.field, smt.as_field(f.field, target[f.optional == true]))
    else
      b:field(f.field, f)
    end
  end
  if schema.optional then b.schema.optional = true end
  local default = schema.default
  if default ~= nil and default ~= null then
    b.schema.default = convert_struct(cfg, copy_table(default), schema, from)
  end
  local out = b:build()
  p = { schema = out, from = from }
  cfg._plans[schema] = p
  return p
end

return connect.transform {
  version = "1.0.0",
  reads_headers = false,
  doc = "Convert timestamps between Unix epoch numbers, formatted strings and Connect's "
    .. "Date, Time and Timestamp types",
  aliases = { "TimestampConverter", "org.apache.kafka.connect.transforms.TimestampConverter" },
  variants = true,
  config = {
    field = { type = "string", default = "",
      doc = "The field containing the timestamp, or empty if the entire value is a timestamp" },
    ["target.type"] = { type = "string", required = true, values = TYPES,
      doc = "The desired timestamp representation: string, unix, Date, Time, or Timestamp" },
    format = { type = "string", default = "",
      doc = "A SimpleDateFormat-compatible format for the timestamp. Used to generate the "
        .. "output when type=string or used to parse the input if the input is a string.",
      validate = function(v)
        if blank(v) then return nil end
        local f, err = datetime.compile(v)
        if not f then
          return format("TimestampConverter requires a SimpleDateFormat-compatible pattern for "
            .. "string timestamps: %s (%s)", v, err)
        end
      end },
    ["unix.precision"] = { type = "string", default = "milliseconds", values = PRECISIONS,
      doc = "The desired Unix precision for the timestamp: seconds, milliseconds, "
        .. "microseconds, or nanoseconds. Used to generate the output when type=unix or used "
        .. "to parse the input if the input is a Long. Note: This SMT will cause precision "
        .. "loss during conversions from, and to, values with sub-millisecond components." },
    ["replace.null.with.default"] = { type = "boolean", default = true,
      doc = "Whether to replace fields that have a default value and that are null to the "
        .. "default value. When set to true, the default value is used, otherwise null is used." },
  },

  init = function(cfg)
    if cfg["target.type"] == "string" and blank(cfg.format) then
      error("key 'format': TimestampConverter requires format option to be specified when "
        .. "using string timestamps", 0)
    end
    if not blank(cfg.format) then cfg._format = assert(datetime.compile(cfg.format)) end
    cfg._precision = cfg["unix.precision"]
    cfg._defaults = cfg["replace.null.with.default"]
    cfg._vk, cfg._sk = smt.target(cfg)
    cfg._plans = smt.cache()
    -- Two views of the same settings: with a schema Date values are days, without ms.
    cfg._schemaless = setmetatable({ _with_schema = false }, { __index = cfg })
    cfg._with_schema = true
    return cfg
  end,

  apply = function(record, cfg)
    local vk, sk = cfg._vk, cfg._sk
    local value, schema = record[vk], record[sk]
    if schema == nil then
      local c = cfg._schemaless
      if value == nil or value == null or cfg.field == "" then
        record[vk] = convert(c, value, nil)
        return record
      end
      smt.require_map(value, PURPOSE)
      local v = value[cfg.field]
      if v == nil then v = null end
      value[cfg.field] = convert(c, v, nil)
      return record
    end
    if cfg.field == "" then
      local from = type_from_schema(schema)
      record[vk] = convert(cfg, value, from)
      record[sk] = TYPE_SCHEMAS[cfg["target.type"]][schema.optional == true]
      return record
    end
    local struct = smt.require_struct_or_null(value, schema, PURPOSE)
    if schema.type ~= "struct" then error("Cannot list fields on non-struct type", 0) end
    local p = plan_for(cfg, schema)
    if struct then convert_struct(cfg, struct, schema, p.from) end
    record[sk] = p.schema
    return record
  end,
}
