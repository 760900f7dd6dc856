-- Fuzz fixture: a predicate with Kafka Connect's class name.
local connect = require "luaconnect"
return connect.predicate {
  version = "1.0.0",
  doc = "fixture predicate",
  aliases = { "TopicNameMatches", "org.apache.kafka.connect.transforms.predicates.TopicNameMatches" },
  test = function() return true end,
}
