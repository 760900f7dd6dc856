--- ValueToKey: Kafka Connect's ValueToKey. Replaces the record key with a new key made of
-- the listed fields of the value: a map without a schema, a struct of those fields (in the
-- listed order, with their schemas) with one.
local connect = require "luaconnect"
local smt = require "_smt"

local null = connect.null
local PURPOSE = "copying fields from value to key"

-- The key schema for one value schema; a listed field the value lacks is an error (not
-- cached, so each such record fails the same way).
local function key_schema_for(schema, cfg)
  local b = smt.struct_builder(nil)
  local idx = smt.fields(schema)
  for _, name in ipairs(cfg.fields) do
    local f = idx[name]
    if f == nil then error("Field does not exist: " .. name, 0) end
    b:field(name, f)
  end
  return b:build()
end

return connect.transform {
  version = "1.0.0",
  reads_headers = false,
  doc = "Replace the record key with a new key formed from a subset of fields in the record value",
  aliases = { "ValueToKey", "org.apache.kafka.connect.transforms.ValueToKey" },
  config = {
    fields = { type = "list", required = true,
      doc = "Field names on the record value to extract as the record key.",
      validate = function(v) if #v == 0 then return "Empty list" end end },
    ["replace.null.with.default"] = { type = "boolean", default = true,
      doc = "Whether to replace fields that have a default value and that are null to the "
        .. "default value. When set to true, the default value is used, otherwise null is used." },
  },

  init = function(cfg)
    cfg._cache = smt.cache()
    return cfg
  end,

  apply = function(record, cfg)
    local value, schema = record.value, record.value_schema
    local fields = cfg.fields
    local key = {}
    if schema == nil then
      smt.require_map(value, PURPOSE)
      for i = 1, #fields do
        local name = fields[i]
        local v = value[name]
        if v == nil then v = null end -- Kafka's key map holds the name with a null
        key[name] = v
      end
      record.key, record.key_schema = key, nil
      return record
    end
    smt.require_struct(value, schema, PURPOSE)
    local key_schema = cfg._cache[schema]
    if not key_schema then
      key_schema = key_schema_for(schema, cfg)
      cfg._cache[schema] = key_schema
    end
    local kf, rnwd = key_schema.fields, cfg["replace.null.with.default"]
    for i = 1, #kf do key[kf[i].field] = smt.get(value, kf[i], rnwd) end
    record.key, record.key_schema = key, key_schema
    return record
  end,
}
