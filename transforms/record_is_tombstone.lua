--- RecordIsTombstone: Kafka Connect's predicate
-- org.apache.kafka.connect.transforms.predicates.RecordIsTombstone: true for records whose
-- value is null (a nil value: a tombstone).
local connect = require "luaconnect"

return connect.predicate {
  content_blind = true, -- the text of a string value changes nothing it does
  version = "1.0.0",
  reads_headers = false,
  doc = "True for tombstones (records with a null value)",
  aliases = { "RecordIsTombstone", "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone" },
  config = {},
  test = function(record) return record.value == nil end,
  -- A sink's text chain edits object values only: never a tombstone.
  edit_test = function() return false end,
}
