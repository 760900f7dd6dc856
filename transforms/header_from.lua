--- HeaderFrom: Kafka Connect's HeaderFrom$Key / HeaderFrom$Value. Copies (or moves) the
-- listed fields of the key or value into headers: fields[i] goes to headers[i]. With a
-- schema, `move` also drops the fields from the struct schema.
--
-- Each header is added after the record's headers, as Kafka does: a name already present
-- (or listed twice) gets one more header, and every one is kept in order. Header values are
-- text, so a field value becomes the text Kafka's default header converter
-- (SimpleHeaderConverter, Values.convertToString) would write: strings as they are, numbers
-- and booleans as Java prints them, bytes as base64, structs, maps and arrays as
-- {"a":1,"b":"x"} / [1,2]; null is a header whose value is null (connect.null).
local connect = require "luaconnect"
local smt = require "_smt"
local add_header, headers_of = connect.headers.add, connect.headers.of

local null, json = connect.null, connect.json
local format, concat, byte, sort = string.format, table.concat, string.byte, table.sort
local type, tostring, pairs, floor = type, tostring, pairs, math.floor

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

local function base64(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = byte(s, i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local q1, q2 = floor(n / 262144) % 64, floor(n / 4096) % 64
    local q3, q4 = floor(n / 64) % 64, n % 64
    out[#out + 1] = B64:sub(q1 + 1, q1 + 1) .. B64:sub(q2 + 1, q2 + 1)
      .. (b and B64:sub(q3 + 1, q3 + 1) or "=") .. (c and B64:sub(q4 + 1, q4 + 1) or "=")
  end
  return concat(out)
end

-- Values.escape: only backslashes and double quotes.
local function escape(s)
  return (s:gsub('[\\"]', "\\%0"))
end

local function number_text(v, schema)
  local st = schema and schema.type
  if (st == "float" or st == "double" or st == "float32" or st == "float64")
      and type(v) == "number" and v == floor(v) then
    v = connect.float(v) -- Java prints a float-typed 3 as 3.0
  end
  return (json.encode(v))
end

-- Values.append: v (with its schema, may be nil) as text into out.
local function append(out, v, schema, embedded)
  if v == nil or v == null then
    out[#out + 1] = "null"
    return
  end
  local t, st = type(v), schema and schema.type
  if t == "string" then
    if st == "bytes" then
      v = base64(v)
      out[#out + 1] = embedded and '"' .. v .. '"' or v
    else
      out[#out + 1] = embedded and '"' .. escape(v) .. '"' or v
    end
  elseif t == "boolean" then
    out[#out + 1] = tostring(v)
  elseif t == "number" or t == "cdata" then
    out[#out + 1] = number_text(v, schema)
  elseif t == "table" and st == "struct" then
    out[#out + 1] = "{"
    for i, f in ipairs(schema.fields) do
      if i > 1 then out[#out + 1] = "," end
      append(out, f.field, nil, true)
      out[#out + 1] = ":"
      append(out, smt.get(v, f, true), f, true)
    end
    out[#out + 1] = "}"
  elseif t == "table" and (st == "array" or (st == nil and smt.is_array(v))) then
    out[#out + 1] = "["
    local items = schema and schema.items
    for i = 1, #v do
      if i > 1 then out[#out + 1] = "," end
      append(out, v[i], items, true)
    end
    out[#out + 1] = "]"
  elseif t == "table" then
    -- Java iterates a HashMap in no promised order; sorted keys give stable headers.
    local keys = {}
    for k in pairs(v) do keys[#keys + 1] = k end
    sort(keys, function(a, b) return tostring(a) < tostring(b) end)
    local ks, vs = schema and schema.keys, schema and schema.values
    out[#out + 1] = "{"
    for i, k in ipairs(keys) do
      if i > 1 then out[#out + 1] = "," end
      append(out, k, ks, true)
      out[#out + 1] = ":"
      append(out, v[k], vs, true)
    end
    out[#out + 1] = "}"
  else
    error(format("Failed to serialize unexpected value type %s: %s", t, tostring(v)), 0)
  end
end

--- The header value Kafka's header converter would produce for v: text, or connect.null.
local function header_value(v, schema)
  if v == nil or v == null then return null end
  local t = type(v)
  if t == "string" and not (schema and schema.type == "bytes") then return v end
  local out = {}
  append(out, v, schema, false)
  return concat(out)
end

local function non_empty(v)
  if #v == 0 then return "Empty list" end
end

return connect.transform {
  version = "1.0.0",
  doc = "Copy or move fields of the key or value into headers",
  aliases = { "HeaderFrom", "org.apache.kafka.connect.transforms.HeaderFrom" },
  variants = true,
  config = {
    fields = { type = "list", required = true, validate = non_empty,
      doc = "Field names in the record whose values are to be copied or moved to headers." },
    headers = { type = "list", required = true, validate = non_empty,
      doc = "Header names, in the same order as the field names listed in the fields "
        .. "configuration property." },
    operation = { type = "string", required = true,
      doc = "Either move if the fields are to be moved to the headers (removed from the "
        .. "key/value), or copy if the fields are to be copied to the headers (retained in "
        .. "the key/value).",
      validate = function(v)
        if v ~= "move" and v ~= "copy" then return "String must be one of: move, copy" end
      end },
    ["replace.null.with.default"] = { type = "boolean", default = true,
      doc = "Whether to replace fields that have a default value and that are null to the "
        .. "default value. When set to true, the default value is used, otherwise null is used." },
  },

  init = function(cfg)
    if #cfg.fields ~= #cfg.headers then
      error(format("key 'headers': 'fields' config must have the same number of elements as "
        .. "'headers' config (%d fields, %d headers).", #cfg.fields, #cfg.headers), 0)
    end
    cfg._vk, cfg._sk = smt.target(cfg)
    cfg._move = cfg.operation == "move"
    cfg._purpose = "header " .. cfg.operation
    cfg._with_default = cfg["replace.null.with.default"]
    cfg._remove = {} -- the fields a move takes out, as a set
    for _, f in ipairs(cfg.fields) do cfg._remove[f] = true end
    cfg._vals = {}   -- scratch: header values of the record at hand
    cfg._schemas = smt.cache()
    return cfg
  end,

  apply = function(record, cfg)
    local vk, sk = cfg._vk, cfg._sk
    local value, schema = record[vk], record[sk]
    local fields, headers, vals = cfg.fields, cfg.headers, cfg._vals
    local n = #fields
    if schema == nil then
      smt.require_map(value, cfg._purpose)
      for i = 1, n do vals[i] = header_value(value[fields[i]], nil) end
    else
      smt.require_struct(value, schema, cfg._purpose)
      local index, with_default = smt.fields(schema), cfg._with_default
      for i = 1, n do
        local f = index[fields[i]]
        if f == nil then error(format("%s is not a valid field name", fields[i]), 0) end
        vals[i] = header_value(smt.get(value, f, with_default), f)
      end
    end
    local h = headers_of(record)
    for i = 1, n do add_header(h, headers[i], vals[i]) end
    if cfg._move then
      for f in pairs(cfg._remove) do value[f] = nil end
      if schema ~= nil then
        local moved = cfg._schemas[schema]
        if moved == nil then
          local b = smt.struct_builder(schema)
          for _, f in ipairs(schema.fields) do
            if not cfg._remove[f.field] then b:field(f.field, f) end
          end
          moved = b:build()
          cfg._schemas[schema] = moved
        end
        record[sk] = moved
        if cfg._with_default then smt.fill_defaults(value, moved) end
      end
    end
    return record
  end,
}
