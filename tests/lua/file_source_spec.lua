-- Specs for scripts/file_source.lua, driven through the SDK the way the core drives it.
local connect = require "luaconnect"
local path = "scripts/file_source.lua"

local function offsets(stored)
  return { get = function(_, p) return stored and stored[p.filename] end }
end

local function open(cfg, stored)
  return connect._task_open(path, cfg, 0, "src", offsets(stored), {})
end

local function write(file, text, mode)
  local f = assert(io.open(file, mode or "wb"))
  f:write(text)
  f:close()
end

-- A file of n lines, prefix .. i each.
local function write_numbered(file, prefix, n)
  local lines = {}
  for i = 1, n do lines[i] = prefix .. i end
  write(file, table.concat(lines, "\n") .. "\n")
end

local function poll(task)
  return connect._source_poll(task) or {}
end

describe("file_source", function()
  local dir = tmpdir()

  it("emits one record per line with Kafka's partition and offset shape", function()
    local file = dir .. "/a.txt"
    write(file, 'one\n\n"quoted" \\ back\né ünïcödé\r\nlast')
    local task = open({ file = file, topic = "t", ["batch.size"] = 100 })
    local recs = poll(task)
    expect.eq(#recs, 4)
    expect.eq(recs[1].value, "one")
    expect.eq(recs[2].value, "")
    expect.eq(recs[3].value, '"quoted" \\ back')
    expect.eq(recs[4].value, "é ünïcödé")
    expect.same(recs[1].source_partition, { filename = file })
    expect.same(recs[1].source_offset, { position = 4 })
    expect.same(recs[4].source_offset, { position = 4 + 1 + 16 + #"é ünïcödé" + 2 })
    expect.same(recs[1].value_schema, { type = "string", optional = false })
    expect.eq(recs[1].topic, "t")
  end)

  it("waits for the end of an unfinished line, then follows appends", function()
    local file = dir .. "/b.txt"
    write(file, "x\npart")
    local task = open({ file = file, topic = "t", ["batch.size"] = 100 })
    expect.eq(#poll(task), 1)
    expect.eq(#poll(task), 0)
    write(file, "ial\nnext\n", "ab")
    local recs = poll(task)
    expect.eq(#recs, 2)
    expect.eq(recs[1].value, "partial")
    expect.eq(recs[2].value, "next")
    expect.same(recs[2].source_offset, { position = 2 + 8 + 5 })
  end)

  it("returns at most batch.size records per poll", function()
    local file = dir .. "/c.txt"
    write_numbered(file, "line", 25)
    local task = open({ file = file, topic = "t", ["batch.size"] = 10 })
    expect.eq(#poll(task), 10)
    expect.eq(#poll(task), 10)
    local last = poll(task)
    expect.eq(#last, 5)
    expect.eq(last[5].value, "line25")
  end)

  it("resumes from the stored position after a restart", function()
    local file = dir .. "/d.txt"
    write(file, "a\nb\nc\n")
    local task = open({ file = file, topic = "t", ["batch.size"] = 100 }, { [file] = { position = 2 } })
    local recs = poll(task)
    expect.eq(#recs, 2)
    expect.eq(recs[1].value, "b")
  end)

  it("starts again from the top when the file is truncated or replaced", function()
    local file = dir .. "/e.txt"
    write(file, "old1\nold2\n")
    local task = open({ file = file, topic = "t", ["batch.size"] = 100 })
    expect.eq(#poll(task), 2)
    write(file, "n\n") -- truncated and rewritten, shorter than before
    poll(task)         -- notices the truncation
    local recs = poll(task)
    expect.eq(#recs, 1)
    expect.eq(recs[1].value, "n")
    os.rename(file, file .. ".1")
    write(file, "rotated\n")
    poll(task)
    recs = poll(task)
    expect.eq(recs[1].value, "rotated")
  end)

  it("reads a line of 1 MB in one record", function()
    local file = dir .. "/f.txt"
    local big = string.rep("0123456789", 100000)
    write(file, big .. "\nafter\n")
    local task = open({ file = file, topic = "t", ["batch.size"] = 100 })
    local recs = poll(task)
    expect.eq(#recs, 2)
    expect.eq(recs[1].value, big)
  end)

  it("waits for a missing file to appear", function()
    local file = dir .. "/later.txt"
    local task = open({ file = file, topic = "t", ["batch.size"] = 100 })
    expect.eq(#poll(task), 0)
    write(file, "here\n")
    expect.eq(poll(task)[1].value, "here")
  end)

  it("is validated like FileStreamSource: topic is required, batch.size an int", function()
    local _, _, errs = connect._plan(path, "connector 'f'", { name = "f", ["batch.size"] = "x" }, 1)
    expect.same(errs, {
      "connector 'f': key 'batch.size': expected int, got 'x'",
      "connector 'f': missing required key 'topic' (The topic to publish data to)",
    })
  end)
  local function spec_of(alias, name, variant, config)
    return { alias = alias, type = name, variant = variant, config = config,
      path = "transforms/" .. name .. ".lua" }
  end

  it("gives the worker its lines and a template when the chain is content-blind", function()
    local file = dir .. "/g.txt"
    write(file, "a\r\nbb\nccc\n")
    local chain = {
      spec_of("hoist", "hoist_field", "value", { field = "line" }),
      spec_of("route", "regex_router", nil, { regex = "(.*)-raw", replacement = "$1-clean" }),
    }
    local task = connect._task_open(path, { file = file, topic = "t-raw", ["batch.size"] = 100 },
      0, "src", offsets(), chain)
    local text, tpl, info = connect._source_next(task)
    expect.eq(text:text(), "a\r\nbb\nccc\n") -- the batch, in the source's line buffer
    expect.eq(#text, 10)
    expect.eq(text:line(2), "bb\n")
    expect.same(info, { topic = "t-raw", source_partition = { filename = file },
      offset_field = "position", position = 0 })
    expect.eq(tpl.record.topic, "t-clean")
    expect.same(tpl.record.value, { line = tpl.hole })
    expect.eq(tpl.record.value_schema.fields[1].field, "line")
    -- the records the same batch gives when made: what the worker writes must equal them
    local recs = connect._apply_chain(task._chain, {
      { topic = "t-raw", value = "bb", value_schema = { type = "string", optional = false } } })
    expect.same(recs[1].value, { line = "bb" })
    -- the template is made once per topic and source partition
    write(file, "dd\n", "ab")
    local _, tpl2 = connect._source_next(task)
    expect.eq(tpl2, tpl)
  end)

  it("makes records when a transform is not content-blind, or the chain drops a line", function()
    local file = dir .. "/h.txt"
    local task = connect._task_open(path, { file = file, topic = "t", ["batch.size"] = 100 },
      0, "src", offsets(), { spec_of("cast", "cast", "value", { spec = "int32" }) })
    write(file, "1\n2\n")
    local out = connect._source_next(task)
    expect.eq(type(out), "table") -- Cast reads the text: each record made
    expect.eq(out[2].value, 2)
    write(file, "x\ny\n")
    local filter = connect._task_open(path, { file = file, topic = "t", ["batch.size"] = 100 },
      0, "src", offsets(), { spec_of("drop", "filter", nil, {}) })
    out = connect._source_next(filter)
    expect.eq(type(out), "table")
    expect.eq(filter._line_off, "the transform chain does not give one record a line")
    expect.eq(out[1]._lc, "skip") -- dropped records still commit their offsets
    expect.same(out[2].source_offset, { position = 4 })
  end)

  it("times one line in every 256 through the chain, as records made are timed", function()
    local file = dir .. "/i.txt"
    write_numbered(file, "l", 600)
    local task = connect._task_open(path, { file = file, topic = "t", ["batch.size"] = 100 },
      0, "src", offsets(), { spec_of("hoist", "hoist_field", "value", { field = "line" }) })
    connect._sample_transforms(256)
    local n = 0
    while true do
      local text = connect._source_next(task)
      if not text then break end
      expect.eq(type(text), "userdata")
      n = n + select(2, text:text():gsub("\n", ""))
    end
    expect.eq(n, 600)
    expect.eq(task._chain[1].timed, 3) -- lines 1, 257 and 513
  end)
end)
