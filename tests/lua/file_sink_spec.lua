-- Specs for scripts/file_sink.lua.
local connect = require "luaconnect"
local path = "scripts/file_sink.lua"

local function read(file)
  local f = assert(io.open(file, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

describe("file_sink", function()
  local dir = tmpdir()

  it("writes one line per record value and makes it durable on flush", function()
    local file = dir .. "/out.txt"
    local task = connect._task_open(path, { file = file }, 0, "sink", nil, {})
    connect._sink_put(task, {
      { topic = "t", partition = 0, offset = 0, value = "plain é" },
      { topic = "t", partition = 0, offset = 1, value = "" },
      { topic = "t", partition = 0, offset = 2, value = { id = 9007199254740993LL } },
      { topic = "t", partition = 0, offset = 3, value = nil },
      { topic = "t", partition = 0, offset = 4, value = 42 },
    })
    connect._sink_flush(task, { { topic = "t", partition = 0, offset = 5 } })
    expect.eq(read(file), 'plain é\n\n{"id":9007199254740993}\nnull\n42\n')
    connect._task_close(task)
  end)

  it("writes booleans, floats, nested values and connect.null as FileStreamSink does", function()
    local file = dir .. "/types.txt"
    local task = connect._task_open(path, { file = file }, 0, "sink", nil, {})
    connect._sink_put(task, {
      { topic = "t", value = true },
      { topic = "t", value = 1.5 },
      { topic = "t", value = connect.null },
      { topic = "t", value = { b = { 1, connect.null }, a = false } },
      { topic = "t", value = { f = connect.float(2) } },
    })
    expect.eq(read(file), 'true\n1.5\nnull\n{"a":false,"b":[1,null]}\n{"f":2.0}\n')
    connect._task_close(task)
  end)

  it("sends a value it cannot write to the error path, never drops it silently", function()
    local file = dir .. "/bad.txt"
    local bad = { topic = "t", partition = 2, offset = 7, value = { f = print } }
    -- errors.tolerance=none: the task fails naming the record
    local task = connect._task_open(path, { file = file }, 0, "sink", nil, {}, {})
    local ok, err = pcall(connect._sink_put, task, { { topic = "t", partition = 2, offset = 6, value = "a" }, bad })
    expect.eq(ok, false)
    expect.truthy(tostring(err):find("t-2@7: the value cannot be written as a line", 1, true), tostring(err))
    connect._task_close(task)
    -- errors.tolerance=all: reported (errors.log / DLQ), the other records written
    task = connect._task_open(path, { file = file }, 0, "sink", nil, {}, { tolerant = true })
    local failures = connect._sink_put(task, { { topic = "t", partition = 2, offset = 6, value = "a" }, bad,
      { topic = "t", partition = 2, offset = 8, value = "b" } })
    connect._sink_flush(task, {})
    connect._task_close(task)
    expect.eq(read(file), "a\nb\n")
    expect.eq(#failures, 1)
    expect.eq(failures[1].index, 2)
    expect.eq(failures[1].stage, "TASK_PUT")
  end)

  it("appends to an existing file and cuts a partial line left by a crash", function()
    local file = dir .. "/partial.txt"
    local f = assert(io.open(file, "wb"))
    f:write("complete\nhalf a li")
    f:close()
    local task = connect._task_open(path, { file = file }, 0, "sink", nil, {})
    connect._sink_put(task, { { topic = "t", value = "again" } })
    connect._sink_flush(task, {})
    connect._task_close(task)
    expect.eq(read(file), "complete\nagain\n")
  end)

  it("splits into tasks.max identical tasks like FileStreamSink", function()
    local kind, tasks, errs = connect._plan(path, "c", { file = "x", topics = "t" }, 3)
    expect.eq(kind, "sink")
    expect.same(errs, {})
    expect.eq(#tasks, 3)
  end)
end)
