--- HoistField: Kafka Connect's HoistField$Key / $Value. Wraps the key or value in a map
-- (no schema) or a struct (with a schema) holding it as its one field.
local connect = require "luaconnect"
local smt = require "_smt"

local null = connect.null
local new_table = require "table.new"

return connect.transform {
  content_blind = true, -- the text of a string value changes nothing it does
  version = "1.0.0",
  reads_headers = false,
  doc = "Wrap the key or value in a struct (with a schema) or map (without) under one field",
  aliases = { "HoistField", "org.apache.kafka.connect.transforms.HoistField" },
  variants = true,
  config = {
    field = { type = "string", required = true, importance = "MEDIUM",
      doc = "Field name for the single field that will be created in the resulting Struct or Map." },
  },

  init = function(cfg)
    cfg._vk, cfg._sk = smt.target(cfg)
    cfg._cache = smt.cache()
    return cfg
  end,

  apply = function(record, cfg)
    local vk, sk, name = cfg._vk, cfg._sk, cfg.field
    local value, schema = record[vk], record[sk]
    if value == nil then value = null end -- as in Kafka, a null is hoisted too
    if schema == nil then
      record[vk] = { [name] = value }
      return record
    end
    local updated = cfg._cache[schema]
    if not updated then
      updated = smt.struct_builder(nil):field(name, schema):build()
      cfg._cache[schema] = updated
    end
    if value == null and not schema.optional then
      -- Struct.put's validation
      error(string.format('Invalid value: null used for required field: "%s", schema type: %s',
        name, smt.type_enum(schema)), 0)
    end
    -- Room for fields the next transforms add (InsertField, a ReplaceField rename) without
    -- a rehash each; a struct is written following its schema, whatever its hash layout.
    local struct = new_table(0, 4)
    struct[name] = value
    record[vk], record[sk] = struct, updated
    return record
  end,
}
