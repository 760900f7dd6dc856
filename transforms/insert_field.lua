--- InsertField: Kafka Connect's InsertField$Key / $Value. Adds the record's topic,
-- partition, offset (sink records), timestamp and a static value as fields of the key or
-- value; with a schema, the struct schema gains those fields. Tombstones pass unchanged.
local connect = require "luaconnect"
local smt = require "_smt"

local null = connect.null
local schemas = smt.schemas
local PURPOSE = "field insertion"

local OPTIONALITY = " Suffix with '!' to make this a required field, or '?' to keep it "
  .. "optional (the default)."

-- "name!" is a required field, "name?" or "name" an optional one.
local function spec(text)
  if text == nil then return nil end
  local last = text:sub(-1)
  if last == "?" then return { name = text:sub(1, -2), optional = true } end
  if last == "!" then return { name = text:sub(1, -2), optional = false } end
  return { name = text, optional = true }
end

-- The struct schema Kafka's makeUpdatedSchema builds: the input's basics and fields, then
-- the inserted fields in Kafka's order.
local function updated_schema(schema, cfg)
  local b = smt.struct_builder(schema)
  for _, f in ipairs(schema.fields) do b:field(f.field, f) end
  local t, p, o, ts, s = cfg._topic, cfg._partition, cfg._offset, cfg._timestamp, cfg._static
  if t then b:field(t.name, t.optional and schemas.OPTIONAL_STRING or schemas.STRING) end
  if p then b:field(p.name, p.optional and schemas.OPTIONAL_INT32 or schemas.INT32) end
  if o then b:field(o.name, o.optional and schemas.OPTIONAL_INT64 or schemas.INT64) end
  if ts then b:field(ts.name, ts.optional and schemas.OPTIONAL_TIMESTAMP or schemas.TIMESTAMP) end
  if s then b:field(s.name, s.optional and schemas.OPTIONAL_STRING or schemas.STRING) end
  return b:build()
end

return connect.transform {
  content_blind = true, -- the text of a string value changes nothing it does
  version = "1.0.0",
  reads_headers = false,
  doc = "Insert the record's topic, partition, offset, timestamp or a static value as fields",
  aliases = { "InsertField", "org.apache.kafka.connect.transforms.InsertField" },
  variants = true,
  config = {
    ["topic.field"] = { type = "string", doc = "Field name for Kafka topic." .. OPTIONALITY },
    ["partition.field"] = { type = "string", doc = "Field name for Kafka partition." .. OPTIONALITY },
    ["offset.field"] = { type = "string",
      doc = "Field name for Kafka offset - only applicable to sink connectors." .. OPTIONALITY },
    ["timestamp.field"] = { type = "string", doc = "Field name for record timestamp." .. OPTIONALITY },
    ["static.field"] = { type = "string", doc = "Field name for static data field." .. OPTIONALITY },
    ["static.value"] = { type = "string", doc = "Static field value, if field name configured." },
    ["replace.null.with.default"] = { type = "boolean", default = true,
      doc = "Whether to replace fields that have a default value and that are null to the "
        .. "default value. When set to true, the default value is used, otherwise null is used." },
  },

  init = function(cfg)
    cfg._topic = spec(cfg["topic.field"])
    cfg._partition = spec(cfg["partition.field"])
    cfg._offset = spec(cfg["offset.field"])
    cfg._timestamp = spec(cfg["timestamp.field"])
    cfg._static = spec(cfg["static.field"])
    if not (cfg._topic or cfg._partition or cfg._offset or cfg._timestamp or cfg._static) then
      error("No field insertion configured (set topic.field, partition.field, offset.field, "
        .. "timestamp.field or static.field)", 0)
    end
    if cfg._static and cfg["static.value"] == nil then
      error(string.format("key 'static.value': No value specified for static field: %s",
        cfg._static.name), 0)
    end
    cfg._vk, cfg._sk = smt.target(cfg)
    cfg._cache = smt.cache()
    return cfg
  end,

  apply = function(record, cfg)
    local vk = cfg._vk
    local value = record[vk]
    if value == nil or value == null then return record end
    local schema = record[cfg._sk]
    if schema == nil then
      smt.require_map(value, PURPOSE)
    else
      smt.require_struct(value, schema, PURPOSE)
    end
    -- Checked before anything changes: a failed record must reach error handling intact.
    if cfg._offset then smt.require_sink_record(record, PURPOSE) end
    if schema ~= nil then
      local updated = cfg._cache[schema]
      if not updated then
        updated = updated_schema(schema, cfg)
        cfg._cache[schema] = updated
      end
      if cfg["replace.null.with.default"] then smt.fill_defaults(value, schema) end
      record[cfg._sk] = updated
    end
    -- The value table is updated in place: it belongs to this record.
    local f = cfg._topic
    if f then value[f.name] = record.topic end
    f = cfg._partition
    if f and record.partition ~= nil then value[f.name] = record.partition end
    f = cfg._offset
    if f then value[f.name] = record.offset end
    f = cfg._timestamp
    if f and record.timestamp ~= nil then value[f.name] = record.timestamp end
    f = cfg._static
    if f then value[f.name] = cfg["static.value"] end
    return record
  end,

  -- What apply() does to a schemaless object value, for a sink's text chain (lua-sdk.md).
  edit = function(cfg, e)
    if cfg._vk ~= "value" then return false end
    local f = cfg._topic
    if f then e:set_string(f.name, e.topic) end
    f = cfg._partition
    if f then e:set_partition(f.name) end
    f = cfg._offset
    if f then e:set_offset(f.name) end
    f = cfg._timestamp
    if f then e:set_timestamp(f.name) end
    f = cfg._static
    if f then e:set_string(f.name, cfg["static.value"]) end
  end,
}
