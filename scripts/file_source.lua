--- file_source: reads lines from a file and follows it like `tail -F`
-- (Kafka's FileStreamSource: same keys, same offsets {"filename"} -> {"position"}).
local connect = require "luaconnect"

local CHUNK = 65536

return connect.source {
  version = "1.0.0",
  doc = "Reads lines from a file (or stdin), following appends like tail -F",
  aliases = {
    "FileStreamSource", "FileStreamSourceConnector",
    "org.apache.kafka.connect.file.FileStreamSourceConnector",
  },
  task_class = "org.apache.kafka.connect.file.FileStreamSourceTask",
  config = {
    file = { type = "string", importance = "HIGH", doc = "Source filename. If not specified, the standard input will be used" },
    topic = { type = "string", required = true, doc = "The topic to publish data to" },
    ["batch.size"] = {
      type = "int", default = 2000, importance = "LOW",
      doc = "The maximum number of records the source task can read from the file each time it is polled",
      validate = function(v) if v < 1 then return "must be at least 1" end end,
    },
  },

  -- One file, one reader: like Kafka's, this connector runs a single task.
  task_configs = function(cfg) return { cfg } end,

  open = function(task)
    local cfg = task.config
    task.lines = connect.line_buffer() -- bytes read and not yet in a batch (C memory)
    task.position = 0                  -- file offset of the next batch
    if cfg.file then
      task.partition = { filename = cfg.file }
      local off = task.offsets:get(task.partition)
      if off and off.position then
        task.position = tonumber(off.position)
        task.log.info("resuming %s at byte %d", cfg.file, task.position)
      end
    end
    task.file_pos = task.position -- file offset after the buffer's bytes
  end,

  -- The batch's complete lines, in the line buffer (the SDK makes their records: value the line,
  -- value_schema string, source offset {position} after each line; or, with a transform chain
  -- that allows it, the worker writes them without making records).
  poll_lines = function(task)
    local cfg = task.config
    if not task.f then
      if not cfg.file then
        task.f = io.stdin
      else
        local f, err = io.open(cfg.file, "rb")
        if not f then
          if not task.missing_logged then
            task.log.warn("cannot open %s (waiting for it to appear): %s", cfg.file, err)
            task.missing_logged = true
          end
          return nil
        end
        task.missing_logged = nil
        local st = connect.stat(cfg.file)
        task.ino = st and st.ino
        if st and st.size < task.file_pos then
          task.log.warn("%s is shorter (%d bytes) than the stored position %d; reading it from the start",
            cfg.file, st.size, task.file_pos)
          task.position, task.file_pos = 0, 0
        end
        f:seek("set", task.file_pos)
        task.f = f
      end
    end

    -- The lines stay in the buffer's C memory (a Lua string per read would be hashed by
    -- LuaJIT byte by byte): the batch is cut there and handed to the worker as it is.
    local max, lines, stdin = cfg["batch.size"], task.lines, task.f == io.stdin
    local position = task.position
    lines:begin()
    local n = lines:cut(max)
    while n < max do
      local got
      if stdin then
        local line = task.f:read("*l")
        if line then lines:append(line .. "\n") end
        got = line and #line + 1 or 0
      else
        got = lines:fill(task.f, CHUNK)
      end
      if got == 0 then
        if not stdin then task.f:seek("set", task.file_pos) end -- clears the sticky EOF
        break
      end
      task.file_pos = task.file_pos + got
      n = lines:cut(max)
    end
    local _, bytes = lines:cut(max)
    task.position = position + bytes

    if n == 0 and cfg.file then
      -- Nothing new: was the file truncated or replaced (log rotation)?
      local st = connect.stat(cfg.file)
      if not st or st.ino ~= task.ino or st.size < task.file_pos then
        task.log.info("%s was %s; reading it from the start", cfg.file,
          (not st or st.ino ~= task.ino) and "replaced" or "truncated")
        task.f:close()
        task.f = nil
        lines:reset()
        task.position, task.file_pos = 0, 0
      end
    end
    if n == 0 then return nil end
    return lines, { topic = cfg.topic, source_partition = task.partition,
      offset_field = "position", position = position }
  end,

  close = function(task)
    if task.f and task.f ~= io.stdin then task.f:close() end
    task.f = nil
  end,
}
