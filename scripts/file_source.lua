--- file_source: reads lines from a file and follows it like `tail -F`
-- (Kafka's FileStreamSource: same keys, same offsets {"filename"} -> {"position"}).
local connect = require "luaconnect"

local CHUNK = 65536
local STRING_SCHEMA = connect.freeze_schema { type = "string", optional = false }
local find, sub = string.find, string.sub

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
    task.buf, task.bpos = "", 1   -- bytes read but not yet returned, and where they start
    task.position = 0             -- file offset of buf[bpos]
    if cfg.file then
      task.partition = { filename = cfg.file }
      local off = task.offsets:get(task.partition)
      if off and off.position then
        task.position = tonumber(off.position)
        task.log.info("resuming %s at byte %d", cfg.file, task.position)
      end
    end
    task.file_pos = task.position -- file offset after buf
  end,

  poll = function(task)
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

    local out, n, max = {}, 0, cfg["batch.size"]
    local buf, bpos, position = task.buf, task.bpos, task.position
    local stdin = task.f == io.stdin
    while n < max do
      local nl = find(buf, "\n", bpos, true)
      if nl then
        local stop = nl - 1
        if stop >= bpos and buf:byte(stop) == 13 then stop = stop - 1 end -- \r\n
        position = position + (nl - bpos + 1)
        n = n + 1
        out[n] = {
          topic = cfg.topic, value = sub(buf, bpos, stop), value_schema = STRING_SCHEMA,
          source_partition = task.partition,
          source_offset = task.partition and { position = position } or nil,
        }
        bpos = nl + 1
      else
        local data = stdin and task.f:read("*l") or task.f:read(CHUNK)
        if data and stdin then data = data .. "\n" end
        if not data then
          if not stdin then task.f:seek("set", task.file_pos) end -- clears the sticky EOF
          break
        end
        task.file_pos = task.file_pos + #data
        buf, bpos = sub(buf, bpos) .. data, 1
      end
    end
    task.buf, task.bpos, task.position = buf, bpos, position

    if n == 0 and cfg.file then
      -- Nothing new: was the file truncated or replaced (log rotation)?
      local st = connect.stat(cfg.file)
      if not st or st.ino ~= task.ino or st.size < task.file_pos then
        task.log.info("%s was %s; reading it from the start", cfg.file,
          (not st or st.ino ~= task.ino) and "replaced" or "truncated")
        task.f:close()
        task.f = nil
        task.buf, task.bpos, task.position, task.file_pos = "", 1, 0, 0
      end
    end
    return out
  end,

  close = function(task)
    if task.f and task.f ~= io.stdin then task.f:close() end
    task.f = nil
  end,
}
