--- txn_source: a counting source that defines its own transactions
-- (transaction.boundary=connector). Each transaction holds `per_txn` records "000000000",
-- "000000001", ...; every `abort_every`-th transaction is aborted instead of committed, and
-- the script then counts again from the last committed number, as a connector that rolls
-- back a unit of work would. A read_committed consumer must see every number exactly once.
local connect = require "luaconnect"

return connect.source {
  version = "1.0.0",
  doc = "Test source: connector-defined transactions, some aborted",
  transactions = true,
  config = {
    topic = { type = "string", required = true, doc = "Where the numbers go" },
    per_txn = { type = "int", default = 50, doc = "Records per transaction" },
    abort_every = { type = "int", default = 3, doc = "Abort every N-th transaction" },
    batch = { type = "int", default = 20, doc = "Records per poll()" },
  },

  open = function(task)
    task.partition = { source = "txn" }
    local off = task.offsets:get(task.partition)
    task.committed = off and tonumber(off.next) or 0
    task.next, task.txns, task.in_txn = task.committed, 0, 0
    task.aborted = 0
    task.log.info("counting from %d", task.next)
  end,

  poll = function(task)
    local c = task.config
    local n = math.min(c.batch, c.per_txn - task.in_txn)
    local out = {}
    for k = 1, n do
      local i = task.next
      out[k] = { topic = c.topic, value = string.format("%09d", i),
                 source_partition = task.partition, source_offset = { next = i + 1 } }
      task.next = i + 1
    end
    task.in_txn = task.in_txn + n
    if task.in_txn < c.per_txn then return out end
    task.in_txn, task.txns = 0, task.txns + 1
    if task.txns % c.abort_every == 0 then
      task.next = task.committed        -- the aborted numbers come again
      task.aborted = task.aborted + 1
      task.log.info("aborting transaction %d (%d aborted so far)", task.txns, task.aborted)
      return out, { abort = true }
    end
    task.committed = task.next
    return out, { commit = true }
  end,
}
