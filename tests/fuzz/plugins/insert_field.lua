-- Fuzz fixture: a transform known by Kafka Connect's class name, used with $Key/$Value.
local connect = require "luaconnect"
return connect.transform {
  version = "1.0.0",
  doc = "fixture transform",
  aliases = { "InsertField", "org.apache.kafka.connect.transforms.InsertField" },
  apply = function(record) return record end,
}
