--- busy_source: a test source whose poll() computes for `busy.ms` without returning (a stuck
-- or very slow script), then returns one record. For the test that a busy task cannot make its
-- worker leave its cluster's group.
local connect = require "luaconnect"

return connect.source {
  version = "1.0.0",
  doc = "Test source: poll() spins for busy.ms",
  config = {
    topic = { type = "string", required = true, doc = "Where the records go" },
    ["busy.ms"] = { type = "int", default = 20000, doc = "How long each poll() computes" },
  },
  poll = function(task)
    local until_clock = os.clock() + task.config["busy.ms"] / 1000
    local x = 0
    while os.clock() < until_clock do x = x + 1 end
    return { { topic = task.config.topic, value = tostring(x) } }
  end,
}
