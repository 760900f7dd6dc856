-- Specs for lua/luaconnect.lua: the SDK's value model, config validation, chains.
local connect = require "luaconnect"
local json = connect.json

describe("values", function()
  it("keeps JSON null inside a value as connect.null", function()
    local v = json.decode('{"a":null,"b":[1,null]}')
    expect.eq(v.a, connect.null)
    expect.eq(v.b[2], connect.null)
    expect.truthy(connect.is_null(v.a))
    expect.eq(json.encode(v), '{"a":null,"b":[1,null]}')
  end)

  it("round-trips integers beyond 2^53 exactly", function()
    local v = json.decode('{"id":9007199254740993}')
    expect.eq(type(v.id), "cdata")
    expect.truthy(v.id == 9007199254740993LL)
    expect.eq(json.encode(v), '{"id":9007199254740993}')
    expect.eq(json.encode({ n = -9223372036854775807LL }), '{"n":-9223372036854775807}')
  end)

  it("keeps the int/float distinction", function()
    local v = json.decode('{"f":1.0,"i":1,"g":2.5}')
    expect.eq(json.encode(v), '{"f":1.0,"g":2.5,"i":1}')
    expect.eq(v.f + 1, 2)
    expect.eq(v.f + 0.5, 1.5)
    expect.truthy(v.f == 1)
    expect.eq(tonumber(v.f), 1)
    expect.truthy(connect.is_float(v.f))
    expect.eq(json.encode({ x = connect.float(2) }), "{\"x\":2.0}")
    expect.eq(v.i, 1)
  end)

  it("encodes empty arrays marked with connect.array as []", function()
    expect.eq(json.encode({ a = connect.array() }), '{"a":[]}')
    expect.eq(json.encode(json.decode("[]")), "[]")
    expect.eq(json.encode({}), "{}")
  end)

  it("reports values JSON cannot hold", function()
    local s, err = json.encode({ f = print })
    expect.eq(s, nil)
    expect.truthy(err:find("f"), err)
  end)
end)

describe("definitions", function()
  it("requires poll for a source and put for a sink", function()
    expect.error_matches(function() connect.source { config = {} } end, "'poll' must be a function")
    expect.error_matches(function() connect.sink {} end, "'put' must be a function")
    expect.error_matches(function() connect.transform { apply = 1 } end, "'apply' must be a function")
  end)

  it("rejects unknown config types", function()
    expect.error_matches(function()
      connect.source { poll = function() end, config = { a = { type = "integer" } } }
    end, "config 'a' has unknown type 'integer'")
  end)
end)

describe("config validation", function()
  local defs = {
    file = { type = "string", required = true, doc = "the file" },
    ["batch.size"] = { type = "int", default = 2000 },
    verbose = { type = "boolean", default = false },
    fields = { type = "list" },
    ratio = { type = "double" },
    mode = { type = "string", values = { "a", "b" } },
  }

  it("types values, fills defaults and keeps the worker's own keys", function()
    local cfg, errs = connect._validate("connector 'x'", defs,
      { file = "in.txt", ["batch.size"] = "10", verbose = "TRUE", fields = "a, b,,c",
        ratio = "0.5", name = "x", ["connector.class"] = "file_source", ["transforms.t.type"] = "y" }, true)
    expect.same(errs, {})
    expect.eq(cfg.file, "in.txt")
    expect.eq(cfg["batch.size"], 10)
    expect.eq(cfg.verbose, true)
    expect.same(cfg.fields, { "a", "b", "c" })
    expect.eq(cfg.ratio, 0.5)
    expect.eq(cfg.name, "x")
  end)

  it("names the connector and the key in every error", function()
    local _, errs = connect._validate("connector 'x'", defs,
      { ["batch.size"] = "ten", fiel = "a", verbose = "yes", mode = "c" }, true)
    expect.same(errs, {
      "connector 'x': key 'batch.size': expected int, got 'ten'",
      "connector 'x': key 'mode': must be one of a, b, got 'c'",
      "connector 'x': key 'verbose': expected boolean (true or false), got 'yes'",
      "connector 'x': missing required key 'file' (the file)",
      "connector 'x': unknown key 'fiel' (did you mean 'file'?)",
    })
  end)

  it("rejects the worker's keys where they do not belong (transform configs)", function()
    local _, errs = connect._validate("t", {}, { name = "x" }, false)
    expect.same(errs, { "t: unknown key 'name'" })
  end)
end)

describe("transform chains", function()
  local dir = tmpdir()
  local write = file_writer(dir)
  local upper = write("upper.lua", [[
    local connect = require "luaconnect"
    return connect.transform {
      config = { field = { type = "string", required = true } },
      apply = function(r, cfg)
        if r.value[cfg.field] == "boom" then error("cannot upper boom") end
        r.value[cfg.field] = r.value[cfg.field]:upper()
        return r
      end,
    }]])
  local fan = write("fan.lua", [[
    local connect = require "luaconnect"
    return connect.transform { apply = function(r)
      if r.value.drop then return nil end
      if r.value.twice then return { r, { topic = r.topic, value = { s = "copy" } } } end
      return r
    end }]])
  local is_a = write("is_a.lua", [[
    local connect = require "luaconnect"
    return connect.predicate { test = function(r) return r.topic == "a" end }]])

  it("applies steps in order, drops and fans out", function()
    local chain = connect._chain("connector 'x'", {
      { alias = "f", path = fan, config = {} },
      { alias = "u", path = upper, config = { field = "s" } },
    })
    local out = connect._apply_chain(chain, {
      { topic = "t", value = { s = "one" } },
      { topic = "t", value = { s = "gone", drop = true } },
      { topic = "t", value = { s = "two", twice = true } },
    })
    expect.eq(#out, 3)
    expect.eq(out[1].value.s, "ONE")
    expect.eq(out[2].value.s, "TWO")
    expect.eq(out[3].value.s, "COPY")
  end)

  it("times each step on one record in the sampling period, counts drops", function()
    local chain = connect._chain("connector 'x'", {
      { alias = "f", path = fan, config = {} },
      { alias = "u", path = upper, config = { field = "s" } },
    })
    local function batch()
      local recs = {}
      for i = 1, 16 do recs[i] = { topic = "t", value = { s = "r" .. i, drop = i == 5 } } end
      return recs
    end
    connect._sample_transforms(4) -- records 1, 5, 9, 13 timed
    connect._apply_chain(chain, batch())
    expect.eq(chain[1].dropped, 1)
    expect.eq(chain[1].timed, 4)
    expect.eq(chain[2].timed, 3) -- the dropped 5th record never reaches the second step
    expect.truthy(chain[1].timed_ns > 0 and chain[2].timed_ns > 0)
    connect._apply_chain(chain, batch()) -- the period goes on across batches
    expect.eq(chain[1].timed, 8)
    connect._sample_transforms(0) -- off: nothing timed
    connect._apply_chain(chain, batch())
    connect._apply_chain(chain, batch())
    expect.eq(chain[1].timed, 8)
    expect.eq(chain[1].dropped, 4)
    connect._sample_transforms(64)
    connect._apply_chain(chain, batch())
    expect.eq(chain[1].timed, 9)
  end)

  it("runs a step only where its predicate holds (and the reverse with negate)", function()
    local chain = connect._chain("c", {
      { alias = "u", path = upper, config = { field = "s" }, predicate = { alias = "p", path = is_a, config = {} } },
    })
    local out = connect._apply_chain(chain, { { topic = "a", value = { s = "x" } }, { topic = "b", value = { s = "y" } } })
    expect.eq(out[1].value.s, "X")
    expect.eq(out[2].value.s, "y")
    chain = connect._chain("c", {
      { alias = "u", path = upper, config = { field = "s" }, negate = true, predicate = { alias = "p", path = is_a, config = {} } },
    })
    out = connect._apply_chain(chain, { { topic = "a", value = { s = "x" } }, { topic = "b", value = { s = "y" } } })
    expect.eq(out[1].value.s, "x")
    expect.eq(out[2].value.s, "Y")
  end)

  it("names the failing record, the stage and the script line", function()
    local chain = connect._chain("c", { { alias = "u", path = upper, config = { field = "s" } } })
    expect.error_matches(function()
      connect._apply_chain(chain, {
        { topic = "t", value = { s = "a" }, source_partition = { f = 1 }, source_offset = { p = 1 } },
        { topic = "t", value = { s = "boom" }, source_partition = { f = 1 }, source_offset = { p = 2 } },
      })
    end, 'record 2 of 2 %(source partition {"f":1}, offset {"p":2}%): stage TRANSFORMATION: .*upper.lua:5: cannot upper boom')
  end)

  it("runs chains of any length and names the step that failed", function()
    connect._sample_transforms(0) -- every record through the compiled chain
    for _, n in ipairs({ 3, 17, 70 }) do
      local specs = {}
      for i = 1, n - 1 do specs[i] = { alias = "f" .. i, path = fan, config = {} } end
      specs[n] = { alias = "last", path = upper, config = { field = "s" } }
      local chain = connect._chain("c", specs)
      local out = connect._apply_chain(chain, {
        { topic = "t", value = { s = "a" } },
        { topic = "t", value = { s = "b", drop = true } },
        { topic = "t", value = { s = "c", twice = true } },
      })
      expect.eq(#out, n + 1) -- "c" and its copy from each of the n - 1 fan steps, and "a"
      expect.eq(out[1].value.s, "A")
      expect.eq(out[2].value.s, "C")
      expect.eq(chain[1].dropped, 1)
      expect.error_matches(function()
        connect._apply_chain(chain,
          { { topic = "t", value = { s = "x" } }, { topic = "t", value = { s = "boom" } } })
      end, "record 2 of 2: stage TRANSFORMATION: transform 'last' .*cannot upper boom")
    end
    connect._sample_transforms(256)
  end)

  it("validates transform configs with the transform's alias in the message", function()
    expect.error_matches(function()
      connect._chain("connector 'x'", { { alias = "u", path = upper, config = { feild = "s" } } })
    end, "connector 'x': transform 'u': missing required key 'field'")
  end)

  it("reports a script that does not load with its file and line", function()
    local bad = write("bad.lua", "local x = \n return }")
    expect.error_matches(function() connect._load(bad) end, "bad.lua:2:")
  end)
end)

describe("error tolerance", function()
  local dir = tmpdir()
  local write = file_writer(dir)
  local picky = write("picky.lua", [[
    local connect = require "luaconnect"
    return connect.transform { apply = function(r)
      if r.value == 37 then error("no 37") end
      return r
    end }]])
  local drop_odd = write("drop_odd.lua", [[
    local connect = require "luaconnect"
    return connect.transform { apply = function(r) if r.value % 2 == 1 then return nil end return r end }]])
  local flaky = write("flaky.lua", [[
    local connect = require "luaconnect"
    local calls = 0
    return connect.transform { apply = function(r)
      calls = calls + 1
      if calls < 3 then connect.retriable("not yet (" .. calls .. ")") end
      return r
    end }]])

  local function batch(n, with_offsets)
    local recs = {}
    for i = 1, n do
      recs[i] = { topic = "t", value = i }
      if with_offsets then recs[i].source_partition, recs[i].source_offset = { f = "x" }, { n = i } end
    end
    return recs
  end

  it("affects only the failing record of a batch (record 37 of 500)", function()
    local chain = connect._chain("c", { { alias = "p", type = "Picky", path = picky, config = {} } })
    local out, failures = connect._apply_chain(chain, batch(500), { tolerant = true }, false)
    expect.eq(#out, 499)
    expect.eq(out[36].value, 36)
    expect.eq(out[37].value, 38)
    expect.eq(#failures, 1)
    expect.eq(failures[1].index, 37)
    expect.eq(failures[1].stage, "TRANSFORMATION")
    expect.eq(failures[1].class, "Picky")
    expect.truthy(failures[1].message:find("picky.lua:3: no 37$"), failures[1].message)
    expect.truthy(failures[1].trace:find("stack traceback"))
  end)

  it("keeps failures and dropped source records in order for offset tracking", function()
    local chain = connect._chain("c", {
      { alias = "d", path = drop_odd, config = {} },
      { alias = "p", path = picky, config = {} },
    })
    local out = connect._apply_chain(connect._chain("c", { { alias = "p", path = picky, config = {} } }),
      batch(40, true), { tolerant = true }, true)
    expect.eq(#out, 40)
    expect.eq(out[37]._lc, "error")
    expect.same(out[37].record.source_offset, { n = 37 })
    out = connect._apply_chain(chain, batch(4, true), { tolerant = true }, true)
    expect.eq(out[1]._lc, "skip")
    expect.same(out[1].source_offset, { n = 1 })
    expect.eq(out[2].value, 2)
    expect.eq(out[3]._lc, "skip")
  end)

  it("retries retriable errors within errors.retry.timeout", function()
    local chain = connect._chain("c", { { alias = "f", path = flaky, config = {} } })
    local out = connect._apply_chain(chain, batch(1), { tolerant = false, retry_timeout = 5000, retry_delay_max = 100 })
    expect.eq(#out, 1)
  end)

  it("does not retry when errors.retry.timeout is 0", function()
    local chain = connect._chain("c", { { alias = "f", path = flaky, config = {} } })
    expect.error_matches(function()
      connect._apply_chain(chain, batch(1), { tolerant = false, retry_timeout = 0 })
    end, "not yet %(1%)")
  end)
end)

describe("sink put() and connect.retriable", function()
  local dir = tmpdir()
  local function script(name, body)
    local p = dir .. "/" .. name .. ".lua"
    local f = assert(io.open(p, "wb"))
    f:write('local connect = require "luaconnect"\nreturn connect.sink {\n', body, "\n}\n")
    f:close()
    return p
  end

  it("keeps the transformed batch for redelivery and passes task.timeout()", function()
    local p = script("busy", [[
  open = function(task) task.seen = {} end,
  put = function(task, records)
    task.seen[#task.seen + 1] = records
    if #task.seen < 3 then task.timeout(250); connect.retriable("busy " .. #task.seen) end
  end,]])
    local task = connect._task_open(p, {}, 0, "busy", nil, {})
    local batch = { { topic = "t", partition = 0, offset = 7, value = "a" } }
    local failures, retry, timeout = connect._sink_put(task, batch)
    expect.eq(failures, nil)
    expect.eq(retry, "busy 1")
    expect.eq(timeout, 250)
    failures, retry = connect._sink_redeliver(task)
    expect.eq(retry, "busy 2")
    failures, retry, timeout = connect._sink_redeliver(task)
    expect.eq(retry, nil)
    expect.eq(timeout, nil)
    expect.eq(#task.seen, 3)
    expect.truthy(task.seen[3] == task.seen[1]) -- the same records, not transformed again
    expect.eq(task._redeliver, nil)
  end)

  it("leaves message headers unparsed only when the sink and every step say they read none", function()
    local function step(name, kind, flag)
      local p = dir .. "/" .. name .. ".lua"
      local f = assert(io.open(p, "wb"))
      f:write('local connect = require "luaconnect"\nreturn connect.', kind, " {", flag,
        kind == "transform" and " apply = function(r) return r end }" or " test = function() return true end }")
      f:close()
      return p
    end
    local blind = step("blind", "transform", " reads_headers = false,")
    local reader = step("reader", "transform", "")
    local blind_p = step("blind_p", "predicate", " reads_headers = false,")
    local reader_p = step("reader_p", "predicate", "")
    local quiet = script("quiet", "  reads_headers = false,\n  put = function() end,")
    local loud = script("loud", "  put = function() end,")
    local function reads(sink, steps)
      return connect._task_open(sink, {}, 0, "h", nil, steps)._reads_headers
    end
    local b = { alias = "b", path = blind, config = {} }
    expect.eq(reads(quiet, {}), false)
    expect.eq(reads(quiet, { b }), false)
    expect.eq(reads(loud, {}), true)
    expect.eq(reads(loud, { b }), true)
    expect.eq(reads(quiet, { b, { alias = "r", path = reader, config = {} } }), true)
    expect.eq(reads(quiet, { { alias = "b", path = blind, config = {},
      predicate = { alias = "p", path = reader_p, config = {} } } }), true)
    expect.eq(reads(quiet, { { alias = "b", path = blind, config = {},
      predicate = { alias = "p", path = blind_p, config = {} } } }), false)
    local task = connect._task_open(quiet, {}, 0, "h", nil, { b })
    connect._rechain(task, { { alias = "r", path = reader, config = {} } })
    expect.eq(task._reads_headers, true)
    connect._rechain(task, {})
    expect.eq(task._reads_headers, false)
  end)

  it("raises any other error once, with put()'s traceback", function()
    local p = script("broken", [[
  put = function(task, records) error("no space left") end,]])
    local task = connect._task_open(p, {}, 0, "broken", nil, {})
    local ok, err = pcall(connect._sink_put, task, { { topic = "t", value = "a" } })
    expect.eq(ok, false)
    err = tostring(err)
    expect.truthy(err:find("broken.lua:3: no space left", 1, true), err)
    local _, n = err:gsub("stack traceback:", "")
    expect.eq(n, 1)
  end)
end)
