--- InsertHeader: Kafka Connect's org.apache.kafka.connect.transforms.InsertHeader. Adds the
-- header `header` with `value.literal` after the record's headers, as Kafka does, even when
-- a header of that name is already there (both are kept, in order).
--
-- One difference from Kafka: the literal is stored as its text, where Kafka parses it with
-- Values.parseString and the header converter writes it back (the same bytes for strings,
-- numbers and booleans; "[1, 2]" would come out as "[1,2]").
local connect = require "luaconnect"
local headers = connect.headers

return connect.transform {
  content_blind = true, -- the text of a string value changes nothing it does
  version = "1.0.0",
  doc = "Add a header with a fixed value to every record",
  aliases = { "InsertHeader", "org.apache.kafka.connect.transforms.InsertHeader" },
  config = {
    header = { type = "string", required = true, doc = "The name of the header." },
    ["value.literal"] = { type = "string", required = true,
      doc = "The literal value that is to be set as the header value on all records." },
  },

  apply = function(record, cfg)
    headers.add(headers.of(record), cfg.header, cfg["value.literal"])
    return record
  end,
}
