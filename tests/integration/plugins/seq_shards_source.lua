--- seq_shards_source: a counting source with one counter per task, for tests that spread a
-- source over several workers. Task k (config `shard`, set by task_configs) sends the values
-- "k:000000000", "k:000000001", ... with the source offset {next = i + 1} in partition
-- {source = "seq", shard = k}, so a task moved to another worker continues from its committed
-- offset, and every gap or repeat per shard is the cluster's doing. At most `rate` records
-- per second per task. With keyed=true the key is the shard ("k"), so one shard's records
-- stay in one partition, in order (tests of ordering); else keys are null.
local connect = require "luaconnect"

return connect.source {
  version = "1.0.0",
  doc = "Test source: one sequence per task at a bounded rate",
  config = {
    topic = { type = "string", required = true, doc = "Where the numbers go" },
    rate = { type = "int", default = 1000, doc = "Records per second per task at most" },
    shard = { type = "int", default = 0, doc = "This task's counter (set by task_configs)" },
    keyed = { type = "boolean", default = false, doc = "Key each record with its shard" },
  },

  task_configs = function(cfg, max_tasks)
    local out = {}
    for k = 0, max_tasks - 1 do
      local c = {}
      for n, v in pairs(cfg) do c[n] = v end
      c.shard = tostring(k)
      out[#out + 1] = c
    end
    return out
  end,

  open = function(task)
    task.partition = { source = "seq", shard = task.config.shard }
    local off = task.offsets:get(task.partition)
    task.next = off and tonumber(off.next) or 0
    task.since, task.sent = connect.now_ms(), 0
    task.log.info("shard %d counting from %d", task.config.shard, task.next)
  end,

  poll = function(task)
    local allowed = math.floor((connect.now_ms() - task.since) * task.config.rate / 1000) - task.sent
    if allowed <= 0 then return nil end
    local out, topic, shard = {}, task.config.topic, task.config.shard
    local key = task.config.keyed and tostring(shard) or nil
    for k = 1, math.min(allowed, 500) do
      local i = task.next
      out[k] = { topic = topic, key = key, value = string.format("%d:%09d", shard, i),
                 source_partition = task.partition, source_offset = { next = i + 1 } }
      task.next = i + 1
    end
    task.sent = task.sent + #out
    return out
  end,
}
