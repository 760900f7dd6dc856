--- HasHeaderKey: Kafka Connect's predicate
-- org.apache.kafka.connect.transforms.predicates.HasHeaderKey: true for records with a header
-- called `name` (whatever its value, null included).
local connect = require "luaconnect"
local headers = connect.headers

return connect.predicate {
  content_blind = true, -- the text of a string value changes nothing it does
  version = "1.0.0",
  doc = "True for records that have a header with the given name",
  aliases = { "HasHeaderKey", "org.apache.kafka.connect.transforms.predicates.HasHeaderKey" },
  config = {
    name = { type = "string", required = true, doc = "The header name.",
      validate = function(v)
        if v == "" then return "String must be non-empty" end
      end },
  },

  test = function(record, cfg)
    return headers.has(record.headers, cfg.name)
  end,
}
