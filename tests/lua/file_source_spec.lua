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
    local lines = {}
    for i = 1, 25 do lines[i] = "line" .. i end
    write(file, table.concat(lines, "\n") .. "\n")
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
end)
