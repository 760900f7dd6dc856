-- A transform of our own: prefixes each line with a version stamp. run.sh edits it while
-- the pipeline runs.
local connect = require "luaconnect"

return connect.transform {
  version = "1.0.0",
  doc = "Prefixes string values with a stamp",
  config = {},
  apply = function(record)
    record.value = "[v1] " .. tostring(record.value)
    return record
  end,
}
