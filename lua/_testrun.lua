--- _testrun: what `luaconnect test` runs, offline and with no Kafka (docs/errors.md).
--
-- Three modes over the same record lines {"topic","partition","offset","timestamp","key",
-- "value","headers"}, keys and values through the connector's converters exactly as in a task:
--   chain   the connector config's transforms and predicates over input lines;
--   source  the connector's poll() until max_records records or idle_ms without any, the
--           records printed after transforms and converters, the offsets it would commit last;
--   sink    the connector's put() over the input lines in batches, then flush(), and the
--           consumer offsets it would commit.
-- Errors go to stderr as "error: WHERE: STAGE: message" (WHERE is "record N", "records N-M"
-- for a put() batch, "poll N" for a poll() call); offsets as "offsets: {KIP-875 JSON}".
local connect = require "luaconnect"
local core = require "luaconnect.core"
local ffi = require "ffi"

local format, concat, type, ipairs, tostring = string.format, table.concat, type, ipairs, tostring
local encode, decode, null = core.json_encode, core.json_decode, core.null
local traceback = debug.traceback

pcall(ffi.cdef, "int isatty(int fd);")

local T = {}

local RECORD_FIELDS = { "topic", "partition", "offset", "timestamp" }
local PROGRESS_MIN_BYTES = 1048576 -- smaller inputs finish before a progress line helps
local PROGRESS_EVERY_MS = 200

-- JSON text of a key or value as the lines carry it: for JsonConverter the converted bytes
-- (schemaless: with sorted keys, so output is stable), else a JSON string.
local function line_value(json_kind, bytes)
  if bytes == nil then return "null" end
  if json_kind == 2 then return bytes end
  if json_kind == 1 then return encode((decode(bytes))) end
  return encode(bytes)
end

local function first_line(msg)
  return (tostring(msg):gsub("\n.*", ""))
end

-- A progress line on stderr while a large input file is read, only when stderr is a
-- terminal: piped or captured output gets nothing extra.
local function progress_for(input, path)
  local ok, tty = pcall(function() return ffi.C.isatty(2) == 1 end)
  if not path or not ok or not tty then return nil end
  local size = input:seek("end")
  input:seek("set", 0)
  if not size or size < PROGRESS_MIN_BYTES then return nil end
  local p, last, shown = {}, 0, false
  function p.tick(n)
    local now = core.now_ms()
    if now - last < PROGRESS_EVERY_MS then return end
    last, shown = now, true
    local pos = input:seek() or 0
    io.stderr:write(format("\r\27[Kluaconnect test: %d%% of %s, %d records",
      math.floor(pos * 100 / size), path, n))
    io.stderr:flush()
  end
  function p.clear()
    if shown then io.stderr:write("\r\27[K"); io.stderr:flush(); shown = false end
  end
  return p
end

-- The run's error and output writers. fail(where, stage, msg) counts a failure.
local function reporter()
  local r = { failed = 0 }
  function r.fail(where, stage, msg)
    if r.progress then r.progress.clear() end
    r.failed = r.failed + 1
    io.stderr:write(format("error: %s: %s: %s\n", where, stage, first_line(msg)))
  end
  -- Prints one record through the converters; false when a converter failed.
  function r.print(rec, where, kconv, vconv, kjson, vjson)
    local okk, kb = kconv:encode(rec.key, rec.key_schema)
    if not okk then r.fail(where, "KEY_CONVERTER", kb); return false end
    local okv, vb = vconv:encode(rec.value, rec.value_schema)
    if not okv then r.fail(where, "VALUE_CONVERTER", vb); return false end
    local parts = {}
    for _, f in ipairs(RECORD_FIELDS) do
      if rec[f] ~= nil then parts[#parts + 1] = format("%q:%s", f, encode(rec[f])) end
    end
    parts[#parts + 1] = '"key":' .. line_value(kjson, kb)
    parts[#parts + 1] = '"value":' .. line_value(vjson, vb)
    local hl = rec.headers ~= nil and connect.headers.to_list(rec.headers)
    if hl then parts[#parts + 1] = '"headers":' .. encode(hl) end
    io.stdout:write("{", concat(parts, ","), "}\n")
    return true
  end
  return r
end

-- Calls each(n, record) for every input line that decodes into a record; a bad line or a
-- key/value the converters reject is reported as record n.
local function each_input(o, r, kconv, vconv, kjson, vjson, each)
  local input = io.stdin
  if o.input and o.input ~= "-" then input = assert(io.open(o.input, "rb")) end
  r.progress = progress_for(input, o.input ~= "-" and o.input)
  local n = 0
  for line in input:lines() do
    n = n + 1
    if r.progress then r.progress.tick(n) end
    local obj, jerr = decode(line)
    local where = "record " .. n
    if type(obj) ~= "table" then
      r.fail(where, "INPUT", jerr or "each line must be a JSON object")
    else
      local rec, ok = {}, true
      for _, f in ipairs(RECORD_FIELDS) do
        if obj[f] ~= nil and obj[f] ~= null then rec[f] = obj[f] end
      end
      -- headers: a list of [name, value] pairs (order and repeated names kept), or an object
      local hok, h = pcall(connect.headers.new, type(obj.headers) == "table" and obj.headers or nil)
      if not hok then ok = false; r.fail(where, "INPUT", "headers: " .. tostring(h)) end
      rec.headers = h
      for _, part in ipairs({ "key", "value" }) do
        local conv, is_json = part == "key" and kconv or vconv, (part == "key" and kjson or vjson) > 0
        local raw = obj[part]
        local bytes
        if raw ~= nil and raw ~= null then
          bytes = (is_json or type(raw) ~= "string") and encode(raw) or raw
        end
        if ok then
          local good, value, schema = conv:decode(bytes)
          if not good then
            ok = false
            r.fail(where, part == "key" and "KEY_CONVERTER" or "VALUE_CONVERTER", value)
          else
            rec[part], rec[part .. "_schema"] = value, schema
          end
        end
      end
      if ok then each(n, rec) end
    end
  end
  if r.progress then r.progress.clear() end
  if input ~= io.stdin then input:close() end
end

-- The transforms and predicates only, over the input lines.
local function run_chain(o, specs, kconv, vconv, kjson, vjson)
  local chain = connect._chain(o.label, specs)
  local r = reporter()
  each_input(o, r, kconv, vconv, kjson, vjson, function(n, rec)
    local results, failures = connect._apply_chain(chain, { rec }, { tolerant = true }, false)
    if failures then return r.fail("record " .. n, "TRANSFORMATION", failures[1].message) end
    for _, out in ipairs(results) do r.print(out, "record " .. n, kconv, vconv, kjson, vjson) end
  end)
  io.stdout:flush()
  return r.failed
end

-- task.offsets for an offline task: the --offsets file's {"offsets":[{partition, offset}]}.
local function stored_offsets(path)
  local map = {}
  if path then
    local f, err = io.open(path, "rb")
    if not f then error(format("--offsets: %s", err), 0) end
    local doc, jerr = decode(f:read("*a"))
    f:close()
    if type(doc) ~= "table" or type(doc.offsets) ~= "table" then
      error(format("--offsets: %s: expected {\"offsets\":[{\"partition\":{...},\"offset\":{...}}]}%s",
        path, jerr and " (" .. jerr .. ")" or ""), 0)
    end
    for i, e in ipairs(doc.offsets) do
      if type(e) ~= "table" or type(e.partition) ~= "table" then
        error(format("--offsets: %s: entry %d has no \"partition\" object", path, i), 0)
      end
      map[encode(e.partition)] = e.offset ~= null and e.offset or nil
    end
  end
  return { get = function(_, p) return map[encode(p)] end }
end

-- Prints the offsets a worker would commit, in the shape of GET /connectors/{c}/offsets.
local function print_offsets(order, latest)
  local list = {}
  for i, key in ipairs(order) do list[i] = format('{"partition":%s,"offset":%s}', key, latest[key]) end
  io.stderr:write(format('offsets: {"offsets":[%s]}\n', concat(list, ",")))
end

local function open_task(o, specs)
  local cfg = decode(o.task_config)
  return connect._task_open(o.script, cfg, 0, o.name, stored_offsets(o.offsets), specs,
    { tolerant = true })
end

-- A source: poll() until max_records records or idle_ms without any.
local function run_source(o, specs, kconv, vconv, kjson, vjson)
  local r = reporter()
  local task = open_task(o, specs)
  local order, latest = {}, {}
  local function track(rec)
    if type(rec.source_partition) ~= "table" then return end
    local key = encode(rec.source_partition)
    if not latest[key] then order[#order + 1] = key end
    latest[key] = rec.source_offset == nil and "null" or encode(rec.source_offset)
  end
  local n, polls, idle_since, backoff = 0, 0, core.now_ms(), 1
  while n < o.max_records do
    polls = polls + 1
    local ok, out = xpcall(connect._source_poll, traceback, task)
    if not ok then
      r.fail("poll " .. polls, "TASK_POLL", out)
      break
    end
    if out == nil or out[1] == nil then
      if core.now_ms() - idle_since >= o.idle_ms then break end
      core.sleep_ms(backoff)
      backoff = math.min(backoff * 2, 64) -- as the worker waits between empty polls
    else
      idle_since, backoff = core.now_ms(), 1
      for _, e in ipairs(out) do
        if e._lc == "skip" then
          track(e)
        elseif n < o.max_records then
          n = n + 1
          local where = "record " .. n
          if e._lc == "error" then
            r.fail(where, e.stage, e.message)
            track(e.record)
          elseif type(e.topic) ~= "string" then
            r.fail(where, "TASK_POLL", "record has no topic")
          else
            if r.print(e, where, kconv, vconv, kjson, vjson) then track(e) end
          end
        end
      end
    end
  end
  io.stdout:flush()
  local ok, err = xpcall(connect._task_close, traceback, task)
  if not ok then r.fail("close", "TASK_CLOSE", err) end
  print_offsets(order, latest)
  return r.failed
end

-- A sink: the input lines in batches of batch_size through put(), then flush(). Input lines
-- without partition or offset get partition 0 and the next offset of their partition.
local function run_sink(o, specs, kconv, vconv, kjson, vjson)
  local r = reporter()
  local task = open_task(o, specs)
  local order, next_offset, batch, keys, first, stopped = {}, {}, {}, {}, 1, false
  local function tp_key(rec) return encode({ kafka_topic = rec.topic, kafka_partition = rec.partition }) end
  local function deliver()
    if #batch == 0 or stopped then return end
    local where = format("records %d-%d", first, first + #batch - 1)
    local ok, failures, retry_msg = xpcall(connect._sink_put, traceback, task, batch)
    if ok and failures == nil and retry_msg ~= nil then
      ok, failures = false, "retriable: " .. retry_msg
    end
    if not ok then
      r.fail(where, "TASK_PUT", failures)
      stopped = true -- the worker's task would fail here
      return
    end
    for _, f in ipairs(failures or {}) do r.fail("record " .. (first + f.index - 1), f.stage, f.message) end
    -- keys[i]: the record's own topic-partition and next offset (transforms may change the
    -- record; the consumer's position is the input's)
    for _, k in ipairs(keys) do
      if not next_offset[k[1]] then order[#order + 1] = k[1] end
      next_offset[k[1]] = k[2]
    end
    batch, keys = {}, {}
  end
  local seen = {}
  each_input(o, r, kconv, vconv, kjson, vjson, function(n, rec)
    if stopped then return end
    if type(rec.topic) ~= "string" then return r.fail("record " .. n, "INPUT", "a sink record needs a \"topic\"") end
    rec.partition = rec.partition or 0
    local key = tp_key(rec)
    rec.offset = rec.offset or seen[key] or 0
    seen[key] = rec.offset + 1
    if #batch == 0 then first = n end
    batch[#batch + 1] = rec
    keys[#keys + 1] = { key, rec.offset + 1 }
    if #batch >= o.batch_size then deliver() end
  end)
  deliver()
  if not stopped then
    local list = {}
    for i, key in ipairs(order) do
      local tp = decode(key)
      list[i] = { topic = tp.kafka_topic, partition = tp.kafka_partition, offset = next_offset[key] }
    end
    local ok, err = xpcall(connect._sink_flush, traceback, task, list)
    if not ok then r.fail("flush", "TASK_FLUSH", err); stopped = true end
  end
  local ok, err = xpcall(connect._task_close, traceback, task)
  if not ok then r.fail("close", "TASK_CLOSE", err) end
  io.stdout:flush()
  if not stopped then
    local latest = {}
    for key, off in pairs(next_offset) do latest[key] = format('{"kafka_offset":%d}', off) end
    print_offsets(order, latest)
  end
  return r.failed
end

--- Runs `luaconnect test`: o = {mode = "chain"|"source"|"sink", label, name, script,
-- task_config (JSON), input, offsets, max_records, idle_ms, batch_size}. Returns the number
-- of failures.
function T.run(o, specs, kconv, vconv, kjson, vjson)
  if o.mode == "source" then return run_source(o, specs, kconv, vconv, kjson, vjson) end
  if o.mode == "sink" then return run_sink(o, specs, kconv, vconv, kjson, vjson) end
  return run_chain(o, specs, kconv, vconv, kjson, vjson)
end

return T
