--- file_source: reads lines from a file and follows it like `tail -F`
-- (Kafka's FileStreamSource: same keys, same offsets {"filename"} -> {"position"}).
local connect = require "luaconnect"

local CHUNK = 65536
local sub, concat = string.sub, table.concat
local cut_lines = connect.cut_lines

return connect.source {
  version = "1.1.0",
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

  -- The batch's complete lines as one text (the SDK makes their records: value the line,
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

    -- Complete lines are taken out of buf before each read, so a read copies only the
    -- unfinished line it completes (not the whole batch read so far), and the batch's text is
    -- made once, from its pieces.
    local max = cfg["batch.size"]
    local buf, bpos = task.buf, task.bpos
    local stdin = task.f == io.stdin
    local n, stop = cut_lines(buf, bpos, max)
    local pieces, np, position = nil, 0, task.position
    while n < max do
      local data = stdin and task.f:read("*l") or task.f:read(CHUNK)
      if data and stdin then data = data .. "\n" end
      if not data then
        if not stdin then task.f:seek("set", task.file_pos) end -- clears the sticky EOF
        break
      end
      task.file_pos = task.file_pos + #data
      if stop >= bpos then
        pieces = pieces or {}
        np = np + 1
        pieces[np] = sub(buf, bpos, stop)
        task.position = task.position + (stop - bpos + 1)
        bpos = stop + 1
      end
      buf, bpos = sub(buf, bpos) .. data, 1
      local more
      more, stop = cut_lines(buf, 1, max - n)
      n = n + more
    end
    local text = stop >= bpos and sub(buf, bpos, stop) or ""
    if np > 0 then
      pieces[np + 1] = text
      text = concat(pieces)
    end
    task.buf, task.bpos = buf, stop >= bpos and stop + 1 or bpos
    task.position = task.position + (stop >= bpos and stop - bpos + 1 or 0)

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
    if n == 0 then return nil end
    return text, { topic = cfg.topic, source_partition = task.partition,
      offset_field = "position", position = position }
  end,

  close = function(task)
    if task.f and task.f ~= io.stdin then task.f:close() end
    task.f = nil
  end,
}
