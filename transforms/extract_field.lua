--- ExtractField: Kafka Connect's ExtractField$Key / $Value. Replaces the key or value with
-- one of its fields (field.syntax.version=V2: a nested one, "a.b" or "`a.b`.c"); with a
-- schema the new schema is that field's. Null keys and values pass through.
local connect = require "luaconnect"
local smt = require "_smt"

local null = connect.null
local PURPOSE = "field extraction"

return connect.transform {
  content_blind = true, -- the text of a string value changes nothing it does
  version = "1.0.0",
  reads_headers = false,
  doc = "Replace the key or value with one of its (possibly nested) fields",
  aliases = { "ExtractField", "org.apache.kafka.connect.transforms.ExtractField" },
  variants = true,
  config = {
    field = { type = "string", required = true, doc = "Field name to extract." },
    ["field.syntax.version"] = smt.field_syntax_config(),
    ["replace.null.with.default"] = { type = "boolean", default = true,
      doc = "Whether to replace fields that have a default value and that are null to the "
        .. "default value. When set to true, the default value is used, otherwise null is used." },
  },

  init = function(cfg)
    local path, err = smt.path(cfg.field, cfg["field.syntax.version"])
    if not path then error("key 'field': " .. err, 0) end
    cfg._path = path
    cfg._single = path.n == 1 and path.steps[1] -- the common case, one map/struct lookup
    cfg._vk, cfg._sk = smt.target(cfg)
    cfg._cache = smt.cache()
    return cfg
  end,

  apply = function(record, cfg)
    local vk, sk = cfg._vk, cfg._sk
    local value, schema = record[vk], record[sk]
    if schema == nil then
      value = smt.require_map_or_null(value, PURPOSE)
      if value ~= nil then
        local single = cfg._single
        if single then value = value[single] else value = cfg._path:value_from_map(value) end
        if value == null then value = nil end
      end
      record[vk] = value
      return record
    end
    value = smt.require_struct_or_null(value, schema, PURPOSE)
    local field = cfg._cache[schema]
    if field == nil then
      field = cfg._path:field_from(schema) or false
      cfg._cache[schema] = field
    end
    if not field then error("Unknown field: " .. cfg.field, 0) end
    if value ~= nil then
      value = cfg._path:value_from_struct(value, schema, cfg["replace.null.with.default"])
      if value == null then value = nil end
    end
    record[vk], record[sk] = value, smt.field_schema(field)
    return record
  end,
}
