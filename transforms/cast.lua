--- Cast: Kafka Connect's Cast$Key / $Value. Casts fields of a struct or map ("f:int32,g:
-- string") or the whole key or value ("int64") to int8, int16, int32, int64, float32,
-- float64, boolean or string with Java's conversions: integers wrap, floats truncate and
-- saturate, strings parse as Java parses them, numbers are true when their integer part is
-- not 0, bytes become base64 and Decimal/Date/Time/Timestamp their text. With a schema,
-- the cast fields (or the whole schema) change type and their defaults are cast too.
-- Tombstones pass unchanged.
local connect = require "luaconnect"
local smt = require "_smt"
local datetime = require "_datetime"
local ffi = require "ffi"
local bit = require "bit"

local null, is_float, float = connect.null, connect.is_float, connect.float
local type, pairs, ipairs, tonumber, tostring, error = type, pairs, ipairs, tonumber, tostring,
  error
local floor, huge = math.floor, math.huge
local fmt, byte, sub, rep, concat = string.format, string.byte, string.sub, string.rep,
  table.concat
local istype, band = ffi.istype, bit.band
local int64_t, uint64_t = ffi.typeof("int64_t"), ffi.typeof("uint64_t")
local array_mt = getmetatable(connect.array())

local PURPOSE = "cast types"
local DECIMAL, DATE, TIME, TIMESTAMP = smt.logical.DECIMAL, smt.logical.DATE, smt.logical.TIME,
  smt.logical.TIMESTAMP
local TWO53, TWO63 = 2 ^ 53, 2 ^ 63
local INT64_MAX, INT64_MIN = 9223372036854775807LL, -9223372036854775807LL - 1
local DAY = 86400000

-- Schema.Type names (what specs and messages use) and the schema type each one writes.
local SCHEMA_TYPE = { INT8 = "int8", INT16 = "int16", INT32 = "int32", INT64 = "int64",
  FLOAT32 = "float", FLOAT64 = "double", BOOLEAN = "boolean", STRING = "string",
  BYTES = "bytes", ARRAY = "array", MAP = "map", STRUCT = "struct" }
-- Schema types (JsonConverter's names and the float32/float64 aliases) as Schema.Type.
local KIND = { int8 = "INT8", int16 = "INT16", int32 = "INT32", int64 = "INT64",
  float = "FLOAT32", float32 = "FLOAT32", double = "FLOAT64", float64 = "FLOAT64",
  boolean = "BOOLEAN", string = "STRING", bytes = "BYTES", array = "ARRAY", map = "MAP",
  struct = "STRUCT" }
local INPUT = { INT8 = true, INT16 = true, INT32 = true, INT64 = true, FLOAT32 = true,
  FLOAT64 = true, BOOLEAN = true, STRING = true, BYTES = true }
local OUTPUT = { INT8 = true, INT16 = true, INT32 = true, INT64 = true, FLOAT32 = true,
  FLOAT64 = true, BOOLEAN = true, STRING = true }
local INPUT_LIST = "[INT8, INT16, INT32, INT64, FLOAT32, FLOAT64, BOOLEAN, STRING, BYTES]"
local OUTPUT_LIST = "[INT8, INT16, INT32, INT64, FLOAT32, FLOAT64, BOOLEAN, STRING]"

-- Spec parsing (config time) ------------------------------------------------------------

local function trim(s)
  return (s:gsub("^%s+", ""):gsub("%s+$", ""))
end

-- String.split(":") in Java: trailing empty parts are dropped.
local function split_colon(s)
  local parts = {}
  for part in (s .. ":"):gmatch("([^:]*):") do parts[#parts + 1] = part end
  while #parts > 0 and parts[#parts] == "" do parts[#parts] = nil end
  return parts
end

local function output_type(name)
  local t = trim(name):upper()
  if not SCHEMA_TYPE[t] then
    return nil, "Invalid type found in casting spec: " .. trim(name)
  end
  if not OUTPUT[t] then
    return nil, fmt("Cast transformation does not support casting to %s; supported types are %s",
      t, OUTPUT_LIST)
  end
  return t
end

--- Parses the spec list: field -> Schema.Type name, or the whole-value type; or nil, error.
local function parse_spec(list)
  if #list == 0 then return nil, "Must specify at least one field to cast." end
  local casts, order, whole = {}, {}, nil
  for _, mapping in ipairs(list) do
    local parts = split_colon(mapping)
    if #parts > 2 then return nil, "Invalid rename mapping: " .. mapping end
    if #parts <= 1 then
      local t, err = output_type(parts[1] or "")
      if not t then return nil, err end
      whole = t
    else
      local t, err = output_type(parts[2])
      if not t then return nil, err end
      local name = trim(parts[1])
      if not casts[name] then order[#order + 1] = name end
      casts[name] = t
    end
  end
  if whole and #list > 1 then
    return nil, "Cast transformations that specify a type to cast the entire value to may "
      .. "only specify a single cast in their spec"
  end
  return { casts = casts, order = order, whole = whole }
end

-- Java numbers ---------------------------------------------------------------------------

local f32buf = ffi.new("float[1]")
--- The double nearest the float nearest x (Java's (float) x, as a Lua number).
local function f32(x)
  f32buf[0] = x
  return f32buf[0]
end

--- An int64 result as the value model holds it: a number up to 2^53, else int64_t cdata.
local function norm64(v)
  if type(v) == "number" then
    if v >= -TWO53 and v <= TWO53 then return v end
    return int64_t(v)
  end
  if istype(uint64_t, v) then v = ffi.cast(int64_t, v) end
  if v >= -TWO53 and v <= TWO53 then return tonumber(v) end
  return v
end

--- The low `bits` bits of an integer (number or int64 cdata) as a signed number.
local function wrap(v, bits)
  local m = 2 ^ bits
  local r
  if type(v) == "number" then
    r = v % m
  else
    r = tonumber(band(v, int64_t(m - 1)))
  end
  if r >= m / 2 then r = r - m end
  return r
end

--- Java's (int) d: truncation, NaN is 0, saturation at the int range.
local function d2i(d)
  if d ~= d then return 0 end
  if d >= 2147483647 then return 2147483647 end
  if d <= -2147483648 then return -2147483648 end
  return d < 0 and -floor(-d) or floor(d)
end

--- Java's (long) d as the value model holds it.
local function d2l(d)
  if d ~= d then return 0 end
  if d >= TWO63 then return INT64_MAX end
  if d <= -TWO63 then return INT64_MIN end
  return norm64(d < 0 and -floor(-d) or floor(d))
end

--- Long.toString of an integer (number or int64 cdata).
local function int_string(v)
  if type(v) == "number" then return fmt("%d", v) end
  if istype(uint64_t, v) then v = ffi.cast(int64_t, v) end
  return (tostring(v):gsub("LL$", ""))
end

-- Java's Double.toString / Float.toString (JDK 19+: the shortest decimal that reads back
-- as the same value; a one-digit one may give way to a closer two-digit one).
local E_FORMATS = {}
for p = 1, 17 do E_FORMATS[p] = "%." .. (p - 1) .. "e" end

local function java_fp_string(d, max_digits, round)
  if d ~= d then return "NaN" end
  if d == huge then return "Infinity" end
  if d == -huge then return "-Infinity" end
  if d == 0 then return 1 / d < 0 and "-0.0" or "0.0" end
  local s
  for p = 1, max_digits do
    s = fmt(E_FORMATS[p], d)
    if round(tonumber(s)) == d then
      if p == 1 then
        local s2 = fmt("%.1e", d)
        if round(tonumber(s2)) == d then s = s2 end
      end
      break
    end
  end
  local sign, lead, rest, e = s:match("^(-?)(%d)%.?(%d*)e([-+]%d+)$")
  local digits = (lead .. rest):gsub("0+$", "")
  if digits == "" then digits = "0" end
  local E = tonumber(e)
  local out
  if E >= -3 and E < 7 then
    if E >= 0 then
      local int = sub(digits, 1, E + 1)
      if #int < E + 1 then int = int .. rep("0", E + 1 - #int) end
      local frac = sub(digits, E + 2)
      out = int .. "." .. (frac == "" and "0" or frac)
    else
      out = "0." .. rep("0", -E - 1) .. digits
    end
  else
    out = sub(digits, 1, 1) .. "." .. (#digits > 1 and sub(digits, 2) or "0") .. "E" .. E
  end
  return sign .. out
end

local function same(x) return x end
local function double_string(d) return java_fp_string(d, 17, same) end
local function float_string(d) return java_fp_string(f32(d), 9, f32) end

-- Java's String parsers; nil where they throw NumberFormatException.
local function parse_long_bits(s, bits)
  local sign, digits = s:match("^([+-]?)(%d+)$")
  if not digits then return nil end
  digits = digits:gsub("^0+", "")
  if digits == "" then return 0 end
  local neg = sign == "-"
  if bits == 64 then
    if #digits > 19 or (#digits == 19 and digits > (neg and "9223372036854775808"
        or "9223372036854775807")) then
      return nil
    end
    if #digits <= 15 then
      local n = tonumber(digits)
      return neg and -n or n
    end
    local v = int64_t(0)
    for i = 1, #digits do v = v * 10 + (byte(digits, i) - 48) end
    return norm64(neg and -v or v)
  end
  if #digits > 12 then return nil end
  local n = tonumber(digits)
  if neg then n = -n end
  local half = 2 ^ (bits - 1)
  if n < -half or n >= half then return nil end
  return n
end

-- Double.parseDouble: Java's literal grammar (trimmed; sign; digits with an optional point
-- and exponent, or hex with a binary exponent; NaN; Infinity; an f/F/d/D suffix).
local function parse_double(s)
  s = s:gsub("^[%z\1- ]+", ""):gsub("[%z\1- ]+$", "")
  local sign, body = s:match("^([+-]?)(.*)$")
  if body == "NaN" then return 0 / 0 end
  if body == "Infinity" then return sign == "-" and -huge or huge end
  body = body:gsub("[fFdD]$", "", 1)
  local ok
  if body:match("^0[xX]") then
    local mant = body:match("^0[xX]([%x%.]*)[pP][+-]?%d+$")
    ok = mant and (mant:match("^%x+%.?%x*$") or mant:match("^%.%x+$"))
  else
    local mant = body:gsub("[eE][+-]?%d+$", "", 1)
    ok = mant:match("^%d+%.?%d*$") or mant:match("^%.%d+$")
  end
  if not ok then return nil end
  local v = tonumber(body)
  if v == nil then return nil end
  return sign == "-" and -v or v
end

-- Bytes and Decimal -------------------------------------------------------------------------

local B64 = {}
do
  local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
  for i = 0, 63 do B64[i] = sub(alphabet, i + 1, i + 1) end
end

--- Base64 with padding (java.util.Base64.getEncoder()).
local function base64(s)
  local out, n = {}, #s
  local i = 1
  while i + 2 <= n do
    local a, b, c = byte(s, i, i + 2)
    local v = a * 65536 + b * 256 + c
    out[#out + 1] = B64[floor(v / 262144)] .. B64[floor(v / 4096) % 64] .. B64[floor(v / 64) % 64]
      .. B64[v % 64]
    i = i + 3
  end
  local left = n - i + 1
  if left == 1 then
    local v = byte(s, i) * 65536
    out[#out + 1] = B64[floor(v / 262144)] .. B64[floor(v / 4096) % 64] .. "=="
  elseif left == 2 then
    local a, b = byte(s, i, i + 1)
    local v = a * 65536 + b * 256
    out[#out + 1] = B64[floor(v / 262144)] .. B64[floor(v / 4096) % 64] .. B64[floor(v / 64) % 64]
      .. "="
  end
  return concat(out)
end

-- The unscaled value of a Decimal (big-endian two's complement): negative?, decimal digits.
local function unscaled(b)
  local n = #b
  if n == 0 then return false, "0" end
  local mag = { byte(b, 1, n) }
  local neg = mag[1] >= 128
  if neg then
    local carry = 1
    for i = n, 1, -1 do
      local x = 255 - mag[i] + carry
      mag[i], carry = x % 256, x >= 256 and 1 or 0
    end
  end
  local limbs = { 0 } -- base 10^7, least significant first
  for i = 1, n do
    local carry = mag[i]
    for j = 1, #limbs do
      local x = limbs[j] * 256 + carry
      limbs[j], carry = x % 10000000, floor(x / 10000000)
    end
    while carry > 0 do
      limbs[#limbs + 1], carry = carry % 10000000, floor(carry / 10000000)
    end
  end
  local parts = { fmt("%d", limbs[#limbs]) }
  for j = #limbs - 1, 1, -1 do parts[#parts + 1] = fmt("%07d", limbs[j]) end
  return neg, concat(parts)
end

--- BigDecimal.toString of a Decimal value.
local function decimal_string(b, scale)
  local neg, digits = unscaled(b)
  local n = #digits
  local adjusted = -scale + (n - 1)
  local out
  if scale == 0 then
    out = digits
  elseif scale > 0 and adjusted >= -6 then
    if n > scale then
      out = sub(digits, 1, n - scale) .. "." .. sub(digits, n - scale + 1)
    else
      out = "0." .. rep("0", scale - n) .. digits
    end
  else
    out = sub(digits, 1, 1) .. (n > 1 and "." .. sub(digits, 2) or "")
    if adjusted ~= 0 then out = out .. "E" .. (adjusted > 0 and "+" or "") .. adjusted end
  end
  return neg and "-" .. out or out
end

--- BigDecimal.longValue of a Decimal value: the integer part's low 64 bits.
local function decimal_long(b, scale)
  local neg, digits = unscaled(b)
  if scale > 0 then
    digits = #digits > scale and sub(digits, 1, #digits - scale) or "0"
  elseif scale < 0 then
    digits = digits .. rep("0", math.min(-scale, 64)) -- 10^64 is 0 modulo 2^64
  end
  local u = uint64_t(0)
  for i = 1, #digits do u = u * 10 + (byte(digits, i) - 48) end
  if neg then u = -u end
  return norm64(ffi.cast(int64_t, u))
end

local function decimal_double(b, scale)
  return tonumber(decimal_string(b, scale))
end

-- Dates as Values.dateFormatFor prints them (in UTC; Kafka uses the JVM's zone).
local ISO_TIME = assert(datetime.compile("HH:mm:ss.SSS'Z'"))
local ISO_DATE = assert(datetime.compile("yyyy-MM-dd"))
local ISO_TIMESTAMP = assert(datetime.compile("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'"))

local function date_string(ms)
  if ms < DAY then return ISO_TIME:format(ms) end
  if ms % DAY == 0 then return ISO_DATE:format(ms) end
  return ISO_TIMESTAMP:format(ms)
end

-- Casting ---------------------------------------------------------------------------------

-- A source: what Java class the value has. kind is its Schema.Type name; logical is
-- "decimal" (bytes with a scale), "date" (int32 days), "time" or "timestamp" (ms).
local INTEGRAL = { INT8 = true, INT16 = true, INT32 = true, INT64 = true }
local FLOATING = { FLOAT32 = true, FLOAT64 = true }

local function out_of_range(v)
  error(fmt("Value (%s) was out of range for requested data type", tostring(v)), 0)
end

local function unexpected(kind)
  error("Unexpected type in Cast transformation: " .. (kind == "BYTES" and "bytes" or kind), 0)
end

-- A floating source value as Java holds it (a float32 field is a Java float).
local function fp(kind, v)
  v = tonumber(v)
  if kind == "FLOAT32" then return f32(v) end
  return v
end

local function to_int(bits, kind, v, src)
  if src.logical == "decimal" then return wrap(decimal_long(v, src.scale), bits) end
  if INTEGRAL[kind] then return wrap(v, bits) end
  if FLOATING[kind] then return wrap(d2i(fp(kind, v)), bits) end
  if kind == "BOOLEAN" then return v and 1 or 0 end
  if kind == "STRING" then
    local n = parse_long_bits(v, bits)
    if n == nil then out_of_range(v) end
    return n
  end
  unexpected(kind)
end

local CAST = {}

CAST.INT8 = function(kind, v, src) return to_int(8, kind, v, src) end
CAST.INT16 = function(kind, v, src) return to_int(16, kind, v, src) end
CAST.INT32 = function(kind, v, src) return to_int(32, kind, v, src) end

CAST.INT64 = function(kind, v, src)
  if src.logical == "decimal" then return decimal_long(v, src.scale) end
  if INTEGRAL[kind] then return norm64(v) end
  if FLOATING[kind] then return d2l(fp(kind, v)) end
  if kind == "BOOLEAN" then return v and 1 or 0 end
  if kind == "STRING" then
    local n = parse_long_bits(v, 64)
    if n == nil then out_of_range(v) end
    return n
  end
  unexpected(kind)
end

CAST.FLOAT64 = function(kind, v, src)
  if src.logical == "decimal" then return decimal_double(v, src.scale) end
  if INTEGRAL[kind] then return tonumber(v) end
  if FLOATING[kind] then return fp(kind, v) end
  if kind == "BOOLEAN" then return v and 1 or 0 end
  if kind == "STRING" then
    local d = parse_double(v)
    if d == nil then out_of_range(v) end
    return d
  end
  unexpected(kind)
end

CAST.FLOAT32 = function(kind, v, src)
  if INTEGRAL[kind] and type(v) ~= "number" then -- long -> float rounds once
    f32buf[0] = v
    return f32buf[0]
  end
  return f32(CAST.FLOAT64(kind, v, src))
end

CAST.BOOLEAN = function(kind, v, src)
  if src.logical == "decimal" then return decimal_long(v, src.scale) ~= 0 end
  if INTEGRAL[kind] then return v ~= 0 end
  if FLOATING[kind] then return d2l(fp(kind, v)) ~= 0 end
  if kind == "BOOLEAN" then return v end
  if kind == "STRING" then return v:lower() == "true" end
  unexpected(kind)
end

CAST.STRING = function(kind, v, src)
  local logical = src.logical
  if logical then
    if logical == "decimal" then return decimal_string(v, src.scale) end
    local ms = tonumber(v)
    if logical == "date" then ms = ms * DAY end
    return date_string(ms)
  end
  if INTEGRAL[kind] then return int_string(v) end
  if kind == "FLOAT64" then return double_string(tonumber(v)) end
  if kind == "FLOAT32" then return float_string(tonumber(v)) end
  if kind == "BOOLEAN" then return v and "true" or "false" end
  if kind == "STRING" then return v end
  if kind == "BYTES" then return base64(v) end
  unexpected(kind)
end

local NO_SOURCE = {}

--- How a schema's values read as Java values: {kind, logical, scale}.
local function source_of(schema)
  local kind = KIND[schema.type]
  local name = schema.name
  local src = { kind = kind }
  if name == nil then return src end
  if name == DECIMAL and kind == "BYTES" then
    src.logical = "decimal"
    src.scale = tonumber(schema.parameters and schema.parameters.scale) or 0
  elseif name == DATE then
    src.logical = "date"
  elseif name == TIME then
    src.logical = "time"
  elseif name == TIMESTAMP then
    src.logical = "timestamp"
  end
  return src
end

--- The Schema.Type of a schemaless value (what JsonConverter gives: integers are longs).
local function infer_kind(v)
  local t = type(v)
  if t == "number" then
    if v == floor(v) and v > -TWO63 and v < TWO63 then return "INT64" end
    return "FLOAT64"
  elseif t == "string" then
    return "STRING"
  elseif t == "boolean" then
    return "BOOLEAN"
  elseif t == "cdata" then
    if is_float(v) then return "FLOAT64" end
    if istype(int64_t, v) or istype(uint64_t, v) then return "INT64" end
  elseif t == "table" then
    if getmetatable(v) == array_mt or v[1] ~= nil then return "ARRAY" end
    return "MAP"
  end
  return nil
end

-- castValueToType: the value cast from src to target, null staying null. Date, Time and
-- Timestamp cast to other types as their number; to string as their text.
local function cast_value(src, v, target)
  if v == nil or v == null then return null end
  local kind = src.kind
  if not INPUT[kind] then
    error(fmt("Cast transformation does not support casting from %s; supported types are %s",
      tostring(kind), INPUT_LIST), 0)
  end
  if target ~= "STRING" and src.logical and src.logical ~= "decimal" then
    src = NO_SOURCE -- encodeLogicalType: the physical int32/int64 value
  end
  return CAST[target](kind, v, src)
end

-- Schemaless values: the source is what the value is.
local schemaless_sources = {}
for kind in pairs(KIND) do schemaless_sources[KIND[kind]] = { kind = KIND[kind] } end

local function cast_schemaless(v, target)
  if v == nil or v == null then return null end
  local kind = infer_kind(v)
  if kind == nil then
    error(fmt("Cast transformation was passed a value of type %s which is not supported by "
      .. "Connect's data API", type(v)), 0)
  end
  local r = cast_value(schemaless_sources[kind], v, target)
  -- without a schema only the value says it is a float: keep 42.0 a float
  if (target == "FLOAT32" or target == "FLOAT64") and r == floor(r) and r - r == 0 then
    return float(r)
  end
  return r
end

-- Schemas ---------------------------------------------------------------------------------

local function new_schema(target, optional)
  return { type = SCHEMA_TYPE[target], optional = optional }
end

-- The updated schema and what casting a value of it needs, once per input schema.
local function plan_for(cfg, schema)
  local p = cfg._plans[schema]
  if p then return p end
  local src = source_of(schema)
  local whole = cfg._whole
  local out
  if whole then
    out = smt.copy_schema_basics(schema, new_schema(whole, schema.optional == true))
    if schema.default ~= nil and schema.default ~= null then
      out.default = cast_value(src, schema.default, whole)
    end
    p = { schema = out, src = src }
  else
    local casts = cfg._casts
    local b = smt.struct_builder(schema)
    local steps = {}
    for _, f in ipairs(schema.fields or {}) do
      local target = casts[f.field]
      if target then
        local fs = new_schema(target, f.optional == true)
        local fsrc = source_of(f)
        if f.default ~= nil and f.default ~= null then
          fs.default = cast_value(fsrc, f.default, target)
        end
        b:field(f.field, fs)
        steps[#steps + 1] = { key = f.field, src = fsrc, target = target }
      else
        b:field(f.field, f)
      end
    end
    if schema.optional then b.schema.optional = true end
    if schema.default ~= nil and schema.default ~= null then
      b.schema.default = cast_value(src, schema.default, "STRUCT") -- fails as in Kafka
    end
    out = b:build()
    p = { schema = out, steps = steps }
  end
  cfg._plans[schema] = p
  return p
end

return connect.transform {
  version = "1.0.0",
  reads_headers = false,
  doc = "Cast fields, or the whole key or value, to another primitive type",
  aliases = { "Cast", "org.apache.kafka.connect.transforms.Cast" },
  variants = true,
  config = {
    spec = { type = "list", required = true,
      doc = "List of fields and the type to cast them to of the form field1:type,field2:type "
        .. "to cast fields of Maps or Structs. A single type to cast the entire value. Valid "
        .. "types are int8, int16, int32, int64, float32, float64, boolean, and string. Note "
        .. "that binary fields can only be cast to string.",
      validate = function(v)
        local _, err = parse_spec(v)
        return err
      end },
    ["replace.null.with.default"] = { type = "boolean", default = true,
      doc = "Whether to replace fields that have a default value and that are null to the "
        .. "default value. When set to true, the default value is used, otherwise null is used." },
  },

  init = function(cfg)
    local spec = assert(parse_spec(cfg.spec))
    cfg._casts, cfg._whole = spec.casts, spec.whole
    cfg._order = {}
    for i, name in ipairs(spec.order) do cfg._order[i] = { name, spec.casts[name] } end
    cfg._vk, cfg._sk = smt.target(cfg)
    cfg._plans = smt.cache()
    cfg._defaults = cfg["replace.null.with.default"]
    return cfg
  end,

  apply = function(record, cfg)
    local vk = cfg._vk
    local value = record[vk]
    if value == nil or value == null then return record end
    local schema = record[cfg._sk]
    local whole = cfg._whole
    if schema == nil then
      if whole then
        record[vk] = cast_schemaless(value, whole)
        return record
      end
      smt.require_map(value, PURPOSE)
      local order = cfg._order
      for i = 1, #order do
        local c = order[i]
        value[c[1]] = cast_schemaless(value[c[1]], c[2])
      end
      return record
    end
    local p = plan_for(cfg, schema)
    if whole then
      record[vk], record[cfg._sk] = cast_value(p.src, value, whole), p.schema
      return record
    end
    smt.require_struct(value, schema, PURPOSE)
    if cfg._defaults then smt.fill_defaults(value, schema) end
    local steps = p.steps
    for i = 1, #steps do
      local s = steps[i]
      value[s.key] = cast_value(s.src, value[s.key], s.target)
    end
    record[cfg._sk] = p.schema
    return record
  end,
}
