--- Transform chain micro-benchmark (issue: SMTs must be fast).
-- CPU ns/record of InsertField$Value + ReplaceField$Value + RegexRouter over N schemaless
-- JSON records of ~100 bytes: conversion included (bytes -> Lua -> chain -> bytes, as a
-- sink-to-source round trip does in the worker), the chain alone, and each converter
-- direction alone. Run: build/luaconnect lua bench/chain.lua [N]
local connect = require "luaconnect"
local core = require "luaconnect.core"

local N = tonumber(arg[1]) or 1000000
local BATCH = 10000
local root = (arg[0]:match("^(.*)/bench/") or ".")
local conv = core.converter("org.apache.kafka.connect.json.JsonConverter", "false")

local chain = connect._chain("connector 'bench'", {
  { alias = "insert", type = "InsertField$Value", variant = "value",
    path = root .. "/transforms/insert_field.lua",
    config = { ["static.field"] = "source", ["static.value"] = "bench", ["topic.field"] = "from_topic" } },
  { alias = "replace", type = "ReplaceField$Value", variant = "value",
    path = root .. "/transforms/replace_field.lua",
    config = { exclude = "debug", renames = "name:full_name" } },
  { alias = "route", type = "RegexRouter", path = root .. "/transforms/regex_router.lua",
    config = { regex = "(.*)-raw", replacement = "$1-clean" } },
})

local inputs = {}
for i = 1, 1000 do
  inputs[i] = string.format(
    '{"id":%d,"name":"user-%06d","email":"u%06d@example.com","debug":false,"score":%d.5,"n":[1,2]}',
    i, i, i, i % 100)
end
local bytes = 0
for i = 1, #inputs do bytes = bytes + #inputs[i] end

local function decode_batch(count, base)
  local recs = {}
  for j = 1, count do
    local ok, v = conv:decode(inputs[(base + j) % #inputs + 1])
    recs[j] = { topic = "orders-raw", partition = 0, offset = base + j, value = v }
  end
  return recs
end

-- 1. End to end: decode + chain + encode.
local t0 = os.clock()
local out_bytes = 0
for base = 0, N - 1, BATCH do
  local count = math.min(BATCH, N - base)
  local recs = decode_batch(count, base)
  local out = connect._apply_chain(chain, recs)
  for j = 1, #out do
    local ok, b = conv:encode(out[j].value)
    out_bytes = out_bytes + #b
  end
end
local e2e = (os.clock() - t0) / N * 1e9

-- 2. Chain alone (decoding happens outside the clock).
local chain_cpu = 0
local sample
for base = 0, N - 1, BATCH do
  local count = math.min(BATCH, N - base)
  local recs = decode_batch(count, base)
  local t = os.clock()
  local out = connect._apply_chain(chain, recs)
  chain_cpu = chain_cpu + (os.clock() - t)
  sample = sample or out[1]
end
local chain_ns = chain_cpu / N * 1e9

-- 2b. What the metrics cost the chain: the SDK times one record in 256 per transform
-- (luaconnect_transform_*_time metrics). Batches alternate between timing off
-- (connect._sample_transforms(0)) and on (256), so both see the same machine load.
local cost = { [0] = 0, [256] = 0 }
local cost_n = { [0] = 0, [256] = 0 }
local k = 0
local timed = 0
for _, step in ipairs(chain) do timed = timed - step.timed end
for base = 0, N - 1, BATCH do
  local count = math.min(BATCH, N - base)
  for _, period in ipairs(k % 2 == 0 and { 0, 256 } or { 256, 0 }) do
    local recs = decode_batch(count, base)
    connect._sample_transforms(period)
    local t = os.clock()
    connect._apply_chain(chain, recs)
    cost[period] = cost[period] + (os.clock() - t)
    cost_n[period] = cost_n[period] + count
  end
  k = k + 1
end
connect._sample_transforms(256)
for _, step in ipairs(chain) do timed = timed + step.timed end
local untimed_ns, timed_ns = cost[0] / cost_n[0] * 1e9, cost[256] / cost_n[256] * 1e9

-- 3. Converters alone.
t0 = os.clock()
local v
for i = 1, N do v = select(2, conv:decode(inputs[i % #inputs + 1])) end
local dec = (os.clock() - t0) / N * 1e9
t0 = os.clock()
for _ = 1, N do conv:encode(v) end
local enc = (os.clock() - t0) / N * 1e9

-- 4. What the worker does with this chain in a sink whose values are schemaless JSON (a text
-- chain, docs/lua-sdk.md): each message text edited into its line (core.json_edit, the
-- function lua/sink_api.c calls), no Lua values. Each line is also made a Lua string here,
-- which the worker does not do.
local task = { _chain = chain, _text_edits = {}, _text_topics = 0, log = connect.logger("bench") }
local edit = assert(connect._text_edit(task, "orders-raw"), "the chain has no text edit")
local apply = edit.apply
t0 = os.clock()
local text_bytes = 0
for i = 1, N do text_bytes = text_bytes + #apply(edit, inputs[i % #inputs + 1], 0, i) end
local text_ns = (os.clock() - t0) / N * 1e9
do -- the same line as the Lua chain's
  local ok, v = conv:decode(inputs[2])
  local out = connect._apply_chain(chain, { { topic = "orders-raw", partition = 0, offset = 1, value = v } })
  assert(apply(edit, inputs[2], 0, 1) == connect.json.encode(out[1].value), "the text edit differs")
end

print(string.format("transform chain InsertField$Value + ReplaceField$Value + RegexRouter, %d records of ~%d bytes (schemaless JSON)",
  N, math.floor(bytes / #inputs)))
print(string.format("  end to end (decode + chain + encode)  %6.0f ns/record CPU   (target <= 1000)", e2e))
print(string.format("  the worker's sink path (text edit)    %6.0f ns/record CPU   (target <= 1000; no Lua values)", text_ns))
print(string.format("  chain alone                           %6.0f ns/record CPU   (target <= 200)", chain_ns))
print(string.format("  chain, per-transform time off / on      %6.1f / %.1f ns/record CPU (metrics cost %+.1f ns/record, %d step timings)",
  untimed_ns, timed_ns, timed_ns - untimed_ns, timed))
print(string.format("  JsonConverter decode                  %6.0f ns/record  %6.1f MB/s", dec, (bytes / #inputs) / dec * 1e3))
print(string.format("  JsonConverter encode                  %6.0f ns/record", enc))
print(string.format("  sample output: topic=%s value=%s", sample.topic, connect.json.encode(sample.value)))
