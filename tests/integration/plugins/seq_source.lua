--- seq_source: a test source that counts. Record i has the value "%09d" of i and the source
-- offset {next = i + 1} in partition {source = "seq"}, so after a restart it continues where
-- its committed offset says. At most `rate` records per second, so a stream lasts long
-- enough to be interrupted; every gap or repeat in what arrives is the pipeline's doing.
local connect = require "luaconnect"

local PARTITION = { source = "seq" }

return connect.source {
  version = "1.0.0",
  doc = "Test source: sequence numbers 0, 1, 2, ... at a bounded rate",
  config = {
    topic = { type = "string", required = true, doc = "Where the numbers go" },
    rate = { type = "int", default = 5000, doc = "Records per second at most" },
  },

  open = function(task)
    local off = task.offsets:get(PARTITION)
    task.next = off and tonumber(off.next) or 0
    task.since, task.sent = connect.now_ms(), 0
    task.log.info("counting from %d", task.next)
  end,

  poll = function(task)
    local allowed = math.floor((connect.now_ms() - task.since) * task.config.rate / 1000) - task.sent
    if allowed <= 0 then return nil end
    local out, topic = {}, task.config.topic
    for k = 1, math.min(allowed, 500) do
      local i = task.next
      out[k] = { topic = topic, value = string.format("%09d", i), source_partition = PARTITION,
                 source_offset = { next = i + 1 } }
      task.next = i + 1
    end
    task.sent = task.sent + #out
    return out
  end,
}
