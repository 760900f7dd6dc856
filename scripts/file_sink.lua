--- file_sink: writes each record's value to a file, one line per record
-- (Kafka's FileStreamSink: same keys). flush() fsyncs before offsets are committed.
local connect = require "luaconnect"

local ffi = require "ffi"
pcall(ffi.cdef, "int truncate(const char *path, long length);")

local concat, type, tostring = table.concat, type, tostring
local null, encode = connect.null, connect.json.encode
-- The batch's text in one C call (one Lua string a batch, not one a record); nil when a
-- value needs line_of below (its errors included).
local json_lines = connect.json.lines

-- The line of one value; nil and the reason when it cannot be written as JSON (a value an
-- SMT or script made: a function, a cycle).
local function line_of(v)
  local t = type(v)
  if t == "string" then return v end
  if v == nil or v == null then return "null" end
  if t == "table" or t == "cdata" then return encode(v) end
  if t == "number" or t == "boolean" then return tostring(v) end
  return nil, "a " .. t .. " value"
end

-- After a kill -9 the file may end inside a line whose record was never committed (it
-- comes again from Kafka); cut that partial line so the redelivered one starts clean.
-- Called under the file's lock: every writer appends under it, so a partial line seen here
-- is an unclean stop's and no other task's lines can be appended while it is cut.
local function cut_partial_line(task, path)
  local f = io.open(path, "rb")
  if not f then return end
  local size = f:seek("end")
  local keep, pos = 0, size
  while pos > 0 do
    local n = math.min(65536, pos)
    f:seek("set", pos - n)
    local chunk = f:read(n)
    local last = chunk:match(".*()\n")
    if last then keep = pos - n + last; break end
    pos = pos - n
  end
  f:close()
  if keep < size then
    task.log.warn("%s ends with %d bytes of an unfinished line from an unclean stop; removing them",
      path, size - keep)
    assert(ffi.C.truncate(path, keep) == 0, "cannot truncate " .. path)
  end
end

-- One write per batch so readers see lines promptly; fsync waits for flush(). Tasks of one
-- connector (on any worker of a cluster) may share the file: the lock keeps a batch larger
-- than the buffer from interleaving with another task's inside a line.
local function write_text(task, text)
  if task.locked then assert(connect.lock(task.f, "ex")) end
  local ok, err = task.f:write(text)
  if ok then ok, err = task.f:flush() end
  if task.locked then assert(connect.lock(task.f, "un")) end
  assert(ok, err)
end

return connect.sink {
  version = "1.0.0",
  reads_headers = false, -- put() writes values only: message headers stay unparsed
  lazy_values = true, -- json_lines writes a JSON value without decoding it
  doc = "Writes record values to a file (or stdout), one line per record",
  aliases = {
    "FileStreamSink", "FileStreamSinkConnector",
    "org.apache.kafka.connect.file.FileStreamSinkConnector",
  },
  task_class = "org.apache.kafka.connect.file.FileStreamSinkTask",
  config = {
    file = { type = "string", importance = "HIGH", doc = "Destination filename. If not specified, the standard output will be used" },
  },

  task_configs = function(cfg, max_tasks)
    local out = {}
    for i = 1, max_tasks do out[i] = cfg end
    return out
  end,

  open = function(task)
    local file = task.config.file
    if file then
      task.f = assert(io.open(file, "ab"))
      task.locked = true
      assert(connect.lock(task.f, "ex"))
      local ok, err = pcall(cut_partial_line, task, file)
      assert(connect.lock(task.f, "un"))
      if not ok then error(err, 0) end
    else
      task.f = io.stdout
    end
    task.f:setvbuf("full", 65536)
  end,

  -- A batch whose records are all unread lazy ones (no transform): the worker hands over
  -- their lines as one text and makes no record tables (what json_lines(records) gives).
  put_lines = function(task, text)
    write_text(task, text)
  end,

  put = function(task, records)
    local text = json_lines(records)
    if not text then
      local lines = {}
      for i = 1, #records do
        local r = records[i]
        local line, err = line_of(r.value)
        if line then
          lines[#lines + 1] = line
        else
          -- the error path (DLQ / errors.log with errors.tolerance=all), else the task fails
          task.report(r, string.format("%s-%d@%d: the value cannot be written as a line: %s",
            r.topic, r.partition, r.offset, tostring(err)))
        end
      end
      if #lines == 0 then return end
      lines[#lines + 1] = ""
      text = concat(lines, "\n")
    end
    write_text(task, text)
  end,

  flush = function(task)
    if task.f == io.stdout then
      task.f:flush()
    else
      assert(connect.fsync(task.f))
    end
  end,

  close = function(task)
    if task.f and task.f ~= io.stdout then task.f:close() end
    task.f = nil
  end,
}
