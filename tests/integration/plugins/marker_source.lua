--- marker_source: a test source connector that proves no task runs twice. open() creates
-- the directory <marker.dir>/<connector>-<task id> (mkdir is atomic: it fails when the
-- marker exists, i.e. when the same task is already open somewhere) and close() removes
-- it. Every anomaly is appended to <marker.dir>/anomalies.log, which tests expect empty.
-- poll() produces nothing; the task only exists.
local connect = require "luaconnect"
local ffi = require "ffi"
pcall(ffi.cdef, "int mkdir(const char *path, unsigned int mode);")

local function anomaly(dir, text)
  local f = assert(io.open(dir .. "/anomalies.log", "ab"))
  f:write(text, "\n")
  f:close()
end

return connect.source {
  version = "1.0.0",
  doc = "Test connector: one marker directory per open task; records double opens",
  aliases = { "MarkerSource" },
  config = {
    ["marker.dir"] = { type = "string", required = true, doc = "Directory for the markers" },
    ["label"] = { type = "string", default = "", doc = "Free text (tests change it to reconfigure)" },
  },

  task_configs = function(cfg, max_tasks)
    local out = {}
    for i = 1, max_tasks do out[i] = cfg end
    return out
  end,

  open = function(task)
    local dir = task.config["marker.dir"]
    local marker = string.format("%s/%s-%d", dir, task.name, task.id)
    if ffi.C.mkdir(marker, 493) ~= 0 then
      anomaly(dir, string.format("open: task %s-%d is already open (%s exists)", task.name, task.id, marker))
      error("marker " .. marker .. " exists: this task is already running")
    end
    task.marker = marker
    task.log.debug("marker %s created", marker)
  end,

  poll = function(task) return nil end,

  close = function(task)
    if not task.marker then return end
    local ok, err = os.remove(task.marker)
    if not ok then
      anomaly(task.config["marker.dir"], string.format("close: task %s-%d: cannot remove %s: %s",
        task.name, task.id, task.marker, tostring(err)))
    end
    task.log.debug("marker %s removed", task.marker)
  end,
}
