--- DropHeaders: Kafka Connect's org.apache.kafka.connect.transforms.DropHeaders. Removes the
-- listed headers: every header with one of the names, the others kept in order (as Kafka).
local connect = require "luaconnect"
local headers = connect.headers

return connect.transform {
  content_blind = true, -- the text of a string value changes nothing it does
  version = "1.0.0",
  doc = "Remove the named headers from every record",
  aliases = { "DropHeaders", "org.apache.kafka.connect.transforms.DropHeaders" },
  config = {
    headers = { type = "list", required = true, doc = "The name of the headers to be removed.",
      validate = function(v)
        if #v == 0 then return "Empty list" end
      end },
  },

  init = function(cfg)
    cfg._drop = {} -- the names, as a set
    for _, name in ipairs(cfg.headers) do cfg._drop[name] = true end
    return cfg
  end,

  apply = function(record, cfg)
    if record.headers == nil then return record end
    local h, drop = headers.of(record), cfg._drop
    local n, j = #h, 0
    for i = 1, n do
      local e = h[i]
      if not drop[e[1]] then
        j = j + 1
        h[j] = e
      end
    end
    for i = j + 1, n do h[i] = nil end
    return record
  end,
}
