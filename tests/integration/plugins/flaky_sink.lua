--- flaky_sink: a test sink whose put() fails for its first `fail.times` calls, then writes
-- each record's value to `file`, one line per record. `fail.with=retriable` raises
-- connect.retriable() (the batch must come again, unchanged); `fail.with=error` raises a
-- plain error (the task must fail with it). `timeout.ms` > 0 calls task.timeout(ms) before
-- a retriable failure (Kafka's SinkTaskContext.timeout).
local connect = require "luaconnect"

return connect.sink {
  version = "1.0.0",
  doc = "Test sink: put() fails for its first N calls, then appends values to a file",
  config = {
    file = { type = "string", required = true, doc = "Where the values go" },
    ["fail.times"] = { type = "int", default = 0, doc = "put() calls that fail first" },
    ["fail.with"] = { type = "string", default = "retriable", values = { "retriable", "error" },
      doc = "retriable: connect.retriable(); error: a plain error" },
    ["timeout.ms"] = { type = "int", default = 0, doc = "task.timeout() before each retriable failure" },
  },

  open = function(task)
    task.calls = 0
    task.out = assert(io.open(task.config.file, "ab"))
  end,

  put = function(task, records)
    task.calls = task.calls + 1
    local cfg = task.config
    if task.calls <= cfg["fail.times"] then
      local msg = string.format("put() call %d of %d records refused", task.calls, #records)
      if cfg["fail.with"] == "error" then error("disk on fire: " .. msg) end
      if cfg["timeout.ms"] > 0 then task.timeout(cfg["timeout.ms"]) end
      connect.retriable("service busy: " .. msg)
    end
    local lines = {}
    for i, r in ipairs(records) do lines[i] = r.value end
    task.out:write(table.concat(lines, "\n"), "\n")
    task.out:flush()
  end,

  close = function(task) if task.out then task.out:close() end end,
}
