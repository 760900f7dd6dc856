--- file_txn_source (make bench-eos): Kafka's FileStreamSource (scripts/file_source.lua, same
-- keys) that defines its own transactions: with transaction.boundary=connector it commits
-- after every `commit.records` records, to measure connector-defined boundaries on pipeline (a).
local connect = require "luaconnect"

-- scripts/ is on plugin.path beside bench/plugins (bench/eos.py), so the shipped
-- FileStreamSource loads as a module
local base = require "file_source"

local def = {}
for k, v in pairs(base) do def[k] = v end
def.aliases = nil
def._kind = nil
def.doc = "FileStreamSource committing a transaction every commit.records records (bench)"
def.transactions = true
def.config = {}
for k, v in pairs(base.config) do def.config[k] = v end
def.config["commit.records"] = { type = "int", default = 10000,
                                 doc = "Records per connector-defined transaction" }

local poll = base.poll
def.poll = function(task)
  local records = poll(task)
  if not records or #records == 0 then
    -- idle (the end of the file for now): what is open commits
    if (task.since_commit or 0) > 0 then
      task.since_commit = 0
      return records, { commit = true }
    end
    return records
  end
  task.since_commit = (task.since_commit or 0) + #records
  if task.since_commit >= task.config["commit.records"] then
    task.since_commit = 0
    return records, { commit = true }
  end
  return records
end

return connect.source(def)
