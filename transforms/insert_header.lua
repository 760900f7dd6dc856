--- InsertHeader: Kafka Connect's org.apache.kafka.connect.transforms.InsertHeader. Sets the
-- header `header` to `value.literal` on every record.
--
-- Differences from Kafka, both from our headers being a map name -> string: a header of the
-- same name is replaced, not added a second time; and the literal is stored as its text,
-- where Kafka parses it with Values.parseString and the header converter writes it back
-- (the same bytes for strings, numbers and booleans; "[1, 2]" would come out as "[1,2]").
local connect = require "luaconnect"

return connect.transform {
  version = "1.0.0",
  doc = "Add a header with a fixed value to every record",
  aliases = { "InsertHeader", "org.apache.kafka.connect.transforms.InsertHeader" },
  config = {
    header = { type = "string", required = true, doc = "The name of the header." },
    ["value.literal"] = { type = "string", required = true,
      doc = "The literal value that is to be set as the header value on all records." },
  },

  apply = function(record, cfg)
    local h = record.headers
    if h == nil then
      h = {}
      record.headers = h
    end
    h[cfg.header] = cfg["value.literal"]
    return record
  end,
}
