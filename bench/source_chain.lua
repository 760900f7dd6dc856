--- The Lua side of pipeline (a) of bench/compare.py (issue 20): FileStreamSource's poll()
-- and the chain HoistField$Value + InsertField$Value + ReplaceField$Value + RegexRouter over
-- N lines of 100 bytes, as the worker runs them (connect._source_poll), without the
-- converters and the producer. CPU ns/record, GC included.
-- Run: build/luaconnect lua bench/source_chain.lua [N] [steps]: steps (0-4, default 4) runs
-- the first steps of the chain only; -1 writes the input and stops (to subtract its cost
-- from an instruction count, bench/results/chain-lua.md).
local connect = require "luaconnect"

local N = tonumber(arg[1]) or 1000000
local STEPS = tonumber(arg[2]) or 4
local root = (arg[0]:match("^(.*)/bench/") or ".")
local file = os.tmpname()
do
  local f = assert(io.open(file, "wb"))
  local pad = ("x"):rep(89)
  for i = 0, N - 1 do f:write(string.format("%09d %s\n", i, pad)) end
  f:close()
end

if STEPS < 0 then os.remove(file) return end

local function spec(alias, name, variant, config)
  return { alias = alias, type = name, variant = variant, config = config,
    path = root .. "/transforms/" .. name .. ".lua" }
end
local task = connect._task_open(root .. "/scripts/file_source.lua",
  { file = file, topic = "bench-raw" }, 0, "bench",
  { get = function() return nil end }, { unpack({
    spec("hoist", "hoist_field", "value", { field = "line" }),
    spec("insert", "insert_field", "value",
      { ["static.field"] = "source", ["static.value"] = "bench" }),
    spec("rename", "replace_field", "value", { renames = "line:text" }),
    spec("route", "regex_router", nil, { regex = "(.*)-raw", replacement = "$1-clean" }),
  }, 1, STEPS) }, {})

local n, sample = 0, nil
local t0 = os.clock()
while n < N do
  local out = connect._source_poll(task)
  if not out then break end
  n = n + #out
  sample = sample or out[1]
end
local ns = (os.clock() - t0) / n * 1e9
connect._task_close(task)
os.remove(file)
print(string.format("file source poll() + %d steps of HoistField + InsertField + ReplaceField"
  .. " + RegexRouter, %d lines of 100 bytes", STEPS, n))
print(string.format("  %6.0f ns/record CPU", ns))
print(string.format("  sample output: topic=%s value=%s", sample.topic,
  type(sample.value) == "table" and connect.json.encode(sample.value) or sample.value))
