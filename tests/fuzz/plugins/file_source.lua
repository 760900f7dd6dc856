-- Fuzz fixture: a source connector (a name of another kind for the transform lookups).
local connect = require "luaconnect"
return connect.source {
  version = "1.0.0",
  doc = "fixture source",
  aliases = { "FileStreamSource", "org.apache.kafka.connect.file.FileStreamSourceConnector" },
  poll = function() return {} end,
}
