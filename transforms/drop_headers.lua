--- DropHeaders: Kafka Connect's org.apache.kafka.connect.transforms.DropHeaders. Removes the
-- listed headers (every value of each, as in Kafka; our headers keep one value per name).
local connect = require "luaconnect"

return connect.transform {
  version = "1.0.0",
  doc = "Remove the named headers from every record",
  aliases = { "DropHeaders", "org.apache.kafka.connect.transforms.DropHeaders" },
  config = {
    headers = { type = "list", required = true, doc = "The name of the headers to be removed.",
      validate = function(v)
        if #v == 0 then return "Empty list" end
      end },
  },

  apply = function(record, cfg)
    local h = record.headers
    if h ~= nil then
      local names = cfg.headers
      for i = 1, #names do h[names[i]] = nil end
    end
    return record
  end,
}
