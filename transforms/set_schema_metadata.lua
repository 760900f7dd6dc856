--- SetSchemaMetadata: Kafka Connect's SetSchemaMetadata$Key / $Value. Sets the name,
-- the version or both of the key or value schema; the data is unchanged.
local connect = require "luaconnect"
local smt = require "_smt"

local null = connect.null

return connect.transform {
  content_blind = true, -- the text of a string value changes nothing it does
  version = "1.0.0",
  reads_headers = false,
  doc = "Set the schema name, version or both on the record's key or value schema",
  aliases = { "SetSchemaMetadata", "org.apache.kafka.connect.transforms.SetSchemaMetadata" },
  variants = true,
  config = {
    ["schema.name"] = { type = "string", doc = "Schema name to set." },
    ["schema.version"] = { type = "int", doc = "Schema version to set." },
    ["replace.null.with.default"] = { type = "boolean", default = true,
      doc = "Whether to replace fields that have a default value and that are null to the "
        .. "default value. When set to true, the default value is used, otherwise null is used." },
  },

  init = function(cfg)
    if cfg["schema.name"] == nil and cfg["schema.version"] == nil then
      error("Neither schema name nor version configured (set schema.name or schema.version)", 0)
    end
    cfg._changes = { name = cfg["schema.name"], version = cfg["schema.version"] }
    cfg._vk, cfg._sk = smt.target(cfg)
    cfg._cache = smt.cache()
    return cfg
  end,

  apply = function(record, cfg)
    local vk, sk = cfg._vk, cfg._sk
    local value, schema = record[vk], record[sk]
    if (value == nil or value == null) and schema == nil then return record end
    smt.require_schema(schema, "updating schema metadata")
    local updated = cfg._cache[schema]
    if not updated then
      updated = smt.copy_schema(schema, cfg._changes)
      cfg._cache[schema] = updated
    end
    -- A Struct is rebuilt on the new schema field by field with Struct.get: null fields
    -- that have a default get it (replace.null.with.default).
    if schema.type == "struct" and type(value) == "table" and cfg["replace.null.with.default"] then
      smt.fill_defaults(value, schema)
    end
    record[sk] = updated
    return record
  end,
}
