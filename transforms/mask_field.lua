--- MaskField: Kafka Connect's MaskField$Key / $Value. Replaces the listed fields with the
-- "null value" of their type (0, false, "", empty array or map) or with a replacement
-- converted to the field's type (numbers and strings only). Null fields stay null.
local connect = require "luaconnect"
local smt = require "_smt"
local ffi = require "ffi"

local null, array, float, is_float = connect.null, connect.array, connect.float, connect.is_float
local type, error, format, floor = type, error, string.format, math.floor
local PURPOSE = "mask fields"
local logical = smt.logical

-- BigDecimal's syntax (no hex, inf or nan, which tonumber would take).
local function parse_decimal(s)
  local t = s:gsub("^%s+", ""):gsub("%s+$", "")
  if not (t:match("^[+-]?%d+%.?%d*$") or t:match("^[+-]?%.%d+$")
      or t:match("^[+-]?%d+%.?%d*[eE][+-]?%d+$") or t:match("^[+-]?%.%d+[eE][+-]?%d+$")) then
    return nil
  end
  return tonumber(t)
end

-- BigDecimal.longValue() of s: truncated toward zero, exact for integer text beyond 2^53.
local function to_long(s, n)
  local digits = s:match("^%s*([+-]?%d+)%s*$")
  if digits and (n >= 2 ^ 53 or n <= -2 ^ 53) then
    local neg, acc = digits:sub(1, 1) == "-", 0LL
    for d in digits:gmatch("%d") do acc = acc * 10 + (neg and -tonumber(d) or tonumber(d)) end
    return acc
  end
  return n >= 0 and floor(n) or -floor(-n)
end

-- Java's narrowing casts: (byte), (short), (int) wrap around.
local function wrap(n, bits)
  if type(n) ~= "number" then n = tonumber(n) end
  local m = 2 ^ bits
  n = n % m
  if n >= m / 2 then n = n - m end
  return n
end

-- Minimal big-endian two's complement bytes of v (BigInteger.toByteArray).
local function twos_complement(v)
  v = ffi.cast("int64_t", v)
  local out = {}
  repeat
    local b = tonumber(bit.band(v, 0xff))
    table.insert(out, 1, string.char(b))
    v = bit.arshift(v, 8)
    local sign_ok = (v == 0 and b < 0x80) or (v == -1 and b >= 0x80)
  until sign_ok
  return table.concat(out)
end

-- The replacement as a Decimal's bytes at the schema's scale, or nil and why not.
local function decimal_bytes(text, scale)
  local n = parse_decimal(text)
  if not n then return nil, format("Unable to convert %s (string) to a number", text) end
  local unscaled = n * 10 ^ scale
  if unscaled ~= floor(unscaled) or unscaled >= 2 ^ 63 or unscaled < -2 ^ 63 then
    return nil, "BigDecimal has mismatching scale value for given Decimal schema"
  end
  return twos_complement(unscaled)
end

local function no_replacement(what)
  return format("Cannot mask value of type %s with custom replacement.", what)
end

-- How to mask one field of a struct schema: {kind, const} or {err}.
-- kinds: "const" (the masked value), "array", "map" (fresh empty tables).
local function field_rule(f, cfg)
  local t, name, r = f.type, f.name, cfg.replacement
  if name == logical.DATE or name == logical.TIME or name == logical.TIMESTAMP then
    if r then return { err = no_replacement(name) } end
    return { kind = "const", const = 0 }
  end
  if t == "boolean" then
    if r then return { err = no_replacement("boolean") } end
    return { kind = "const", const = false }
  elseif t == "int8" or t == "int16" or t == "int32" or t == "int64" then
    if not r then return { kind = "const", const = 0 } end
    if not cfg._number then return { err = cfg._number_err } end
    local bits = ({ int8 = 8, int16 = 16, int32 = 32 })[t]
    return { kind = "const", const = bits and wrap(cfg._long, bits) or cfg._long }
  elseif t == "float" or t == "double" then
    if not r then return { kind = "const", const = 0 } end
    if not cfg._number then return { err = cfg._number_err } end
    return { kind = "const", const = cfg._number }
  elseif t == "string" then
    return { kind = "const", const = r or "" }
  elseif t == "bytes" and name == logical.DECIMAL then
    if not r then return { kind = "const", const = "\0" } end
    local scale = tonumber(f.parameters and f.parameters.scale or 0) or 0
    local bytes, err = decimal_bytes(r, scale)
    if not bytes then return { err = err } end
    return { kind = "const", const = bytes }
  elseif t == "array" or t == "map" then
    if r then return { err = no_replacement(t) } end
    return { kind = t }
  end
  if r then return { err = no_replacement(t) } end
  return { err = "Cannot mask value of type: " .. tostring(t) }
end

local function plan_for(schema, cfg)
  local rules = {}
  local idx = smt.fields(schema)
  for _, name in ipairs(cfg.fields) do
    local f = idx[name]
    if f then
      local rule = field_rule(f, cfg)
      rule.name, rule.field = name, f
      rules[#rules + 1] = rule
    end
  end
  return rules
end

-- Kafka's masking of a schemaless value by its Java class, with our types standing in:
-- an integral Lua number is an Integer/Long, other numbers and connect.float a Double.
local function mask_schemaless(v, cfg)
  if v == nil or v == null then return null end
  local t, r = type(v), cfg.replacement
  if t == "string" then return r or "" end
  if t == "boolean" then
    if r then error(no_replacement("boolean"), 0) end
    return false
  end
  local integral = (t == "number" and v == floor(v))
    or (t == "cdata" and (ffi.istype("int64_t", v) or ffi.istype("uint64_t", v)))
  local double = (t == "number" and not integral) or is_float(v)
  if integral or double then
    if not r then return integral and 0 or cfg._float_zero end
    if not cfg._number then error(cfg._number_err, 0) end
    if integral then return cfg._long end
    return cfg._double
  end
  if t == "table" then
    local kind = smt.is_array(v) and "array" or "map"
    if r then error(no_replacement(kind), 0) end
    return kind == "array" and array() or {}
  end
  if r then error(no_replacement(smt.type_name(v)), 0) end
  error("Cannot mask value of type: " .. smt.type_name(v), 0)
end

return connect.transform {
  content_blind = true, -- the text of a string value changes nothing it does
  version = "1.0.0",
  reads_headers = false,
  doc = "Mask fields with the null value of their type (0, false, \"\", ...) or a replacement",
  aliases = { "MaskField", "org.apache.kafka.connect.transforms.MaskField" },
  variants = true,
  config = {
    fields = { type = "list", required = true, doc = "Names of fields to mask.",
      validate = function(v) if #v == 0 then return "Empty list" end end },
    replacement = { type = "string",
      doc = "Custom value replacement, that will be applied to all 'fields' values "
        .. "(numeric or non-empty string values only).",
      validate = function(v) if v == "" then return "String must be non-empty" end end },
    ["replace.null.with.default"] = { type = "boolean", default = true,
      doc = "Whether to replace fields that have a default value and that are null to the "
        .. "default value. When set to true, the default value is used, otherwise null is used." },
  },

  init = function(cfg)
    local r = cfg.replacement
    if r then
      -- Parsed once; whether it is needed as a number depends on each value's type.
      cfg._number = parse_decimal(r)
      local n = cfg._number
      if n then
        cfg._long = to_long(r, n)
        cfg._double = n == floor(n) and float(n) or n
      else
        cfg._number_err = format("Unable to convert %s (string) to a number", r)
      end
    end
    cfg._float_zero = float(0)
    cfg._scratch = {}
    local seen, unique = {}, {}
    for _, name in ipairs(cfg.fields) do
      if not seen[name] then unique[#unique + 1], seen[name] = name, true end
    end
    cfg.fields = unique -- a set in Kafka: a name listed twice is masked once
    cfg._vk, cfg._sk = smt.target(cfg)
    cfg._cache = smt.cache()
    return cfg
  end,

  apply = function(record, cfg)
    local vk = cfg._vk
    local value = record[vk]
    local schema = record[cfg._sk]
    -- The value table is updated in place (it belongs to this record), but only once
    -- nothing can fail: a failed record reaches error handling unchanged. As in Kafka, a
    -- null key or value (tombstone) is an error, not passed through.
    if schema == nil then
      smt.require_map(value, PURPOSE)
      local fields, scratch = cfg.fields, cfg._scratch
      local n = #fields
      for i = 1, n do scratch[i] = mask_schemaless(value[fields[i]], cfg) end
      for i = 1, n do
        value[fields[i]] = scratch[i]
        scratch[i] = nil
      end
      return record
    end
    smt.require_struct(value, schema, PURPOSE)
    local rules = cfg._cache[schema]
    if not rules then
      rules = plan_for(schema, cfg)
      cfg._cache[schema] = rules
    end
    local rnwd = cfg["replace.null.with.default"]
    local n = #rules
    for i = 1, n do
      local rule = rules[i]
      if rule.err and smt.get(value, rule.field, rnwd) ~= null then error(rule.err, 0) end
    end
    if rnwd then smt.fill_defaults(value, schema) end
    for i = 1, n do
      local rule = rules[i]
      local name = rule.name
      local v = value[name]
      if v ~= nil and v ~= null then
        local kind = rule.kind
        if kind == "const" then
          value[name] = rule.const
        elseif kind == "array" then
          value[name] = array()
        else
          value[name] = {}
        end
      end
    end
    return record
  end,
}
