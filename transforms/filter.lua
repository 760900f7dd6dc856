--- Filter: Kafka Connect's org.apache.kafka.connect.transforms.Filter. Drops every record;
-- meant to run under a predicate (transforms.x.predicate, optionally negate=true) so that
-- only the matching (or not matching) records are dropped.
local connect = require "luaconnect"

return connect.transform {
  content_blind = true, -- the text of a string value changes nothing it does
  version = "1.0.0",
  reads_headers = false,
  doc = "Drop every record (use with a predicate to drop only some)",
  aliases = { "Filter", "org.apache.kafka.connect.transforms.Filter" },
  config = {},
  apply = function() return nil end,
}
