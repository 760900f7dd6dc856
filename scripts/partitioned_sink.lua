--- partitioned_sink: writes each topic partition into files named by their Kafka offsets, in
-- directories partitioned by Kafka partition, a field or time: the layout of Confluent's HDFS
-- and S3 sinks, on a local or mounted filesystem.
--
--   <topics.dir>/<topic>/<encoded partition>/<topic>+<partition>+<start>+<end>.<ext>
--
-- Exactly once by file name: records go to temporary files under <topics.dir>/+tmp/<topic>/
-- <partition>/; a rotation (flush.size, rotate.interval.ms, rotate.schedule.interval.ms)
-- fsyncs them and renames them to their final names. When one rotation commits several
-- files (several encoded partitions), a commit list is made durable first and replayed on
-- recovery, as the HDFS connector's write-ahead log does. On assignment the highest end
-- offset among committed names tells where each partition resumes (open_partitions()), and
-- leftover temporary files are removed: after kill -9 nothing is lost or written twice.
local connect = require "luaconnect"
local lake = require "_lake"
local fs = require "_lake_fs"

local format, concat = string.format, table.concat

local function not_here(why)
  return { type = "string", doc = "not used: " .. why,
    validate = function(v) if v ~= nil and v ~= "" then return why end end }
end

local function file_url(v)
  if v == nil or v == "" then return end
  if v:match("^%a[%w+.-]*://") and not v:match("^file://") then
    return "only file:// URLs (a local or mounted directory) are supported; topics.dir is "
      .. "written under it"
  end
end

-- Directory a store URL names: file:///mnt/lake -> /mnt/lake.
local function url_dir(v)
  if v == nil or v == "" then return nil end
  return (v:gsub("^file://", ""))
end

local SEP = "\t"

-- Temporary directory of a topic partition.
local function tmp_dir(L, topic, partition)
  return format("%s/+tmp/%s/%d", L.root, topic, partition)
end

local function tp_key(topic, partition) return topic .. "\0" .. partition end

-- Closes (and fsyncs) one open file.
local function close_file(f)
  if f.fh then
    if f.gz then f.fh:close() else assert(f.fh:flush()); assert(connect.fsync(f.fh)); f.fh:close() end
    f.fh = nil
    if f.gz then fs.fsync_path(f.tmp) end
  end
end

-- Drops the open files of tp without committing them (their records come again).
local function discard(L, tp)
  for _, f in pairs(tp.files) do
    if f.fh then pcall(f.fh.close, f.fh) end
    fs.unlink(f.tmp)
    L.open_files = L.open_files - 1
  end
  tp.files, tp.count, tp.base_ts, tp.deadline = {}, 0, nil, nil
end

-- Replays a commit list left by a rotation that stopped between its renames.
local function replay_commit_list(dir)
  local list = dir .. "/+commit"
  local f = io.open(list, "rb")
  if not f then return 0 end
  local n = 0
  for line in f:lines() do
    local tmp, final = line:match("^(.-)\t(.*)$")
    local h = tmp and io.open(tmp, "rb")
    if h then
      h:close()
      fs.mkdirs(final:match("^(.*)/[^/]*$"))
      fs.rename(tmp, final)
      fs.fsync_path(final:match("^(.*)/[^/]*$"), true)
      n = n + 1
    end
  end
  f:close()
  fs.unlink(list)
  return n
end

-- Commits every open file of tp under its final name (one rotation).
local function commit(task, L, tp)
  local files = {}
  for _, f in pairs(tp.files) do files[#files + 1] = f end
  if #files == 0 then return end
  table.sort(files, function(a, b) return a.first < b.first end)
  for _, f in ipairs(files) do
    close_file(f)
    f.final = format("%s/%s", f.dir, lake.file_name(tp.topic, tp.partition, f.first, f.last,
      L.pad, L.file_delim, L.ext))
    fs.mkdirs(f.dir)
  end
  local dir = tmp_dir(L, tp.topic, tp.partition)
  if #files > 1 then
    -- Several renames are not atomic together: a durable list of them makes the rotation
    -- all-or-nothing (replayed on recovery), so the highest end offset never hides a file.
    local lines = {}
    for i, f in ipairs(files) do lines[i] = f.tmp .. SEP .. f.final end
    local tmp = dir .. "/+commit.tmp"
    local out = assert(io.open(tmp, "wb"))
    assert(out:write(concat(lines, "\n"), "\n"))
    assert(out:flush())
    assert(connect.fsync(out))
    out:close()
    fs.rename(tmp, dir .. "/+commit")
    fs.fsync_path(dir, true)
  end
  local dirs = {}
  for _, f in ipairs(files) do
    fs.rename(f.tmp, f.final)
    dirs[f.dir] = true
  end
  for d in pairs(dirs) do fs.fsync_path(d, true) end
  if #files > 1 then
    fs.unlink(dir .. "/+commit")
    fs.fsync_path(dir, true)
  end
  L.open_files = L.open_files - #files
  task.log.debug("%s-%d: committed %d file(s) up to offset %d", tp.topic, tp.partition, #files, tp.last)
  tp.files, tp.count, tp.base_ts, tp.deadline = {}, 0, nil, nil
end

local function random_id()
  local f = io.open("/dev/urandom", "rb")
  local b = f and f:read(16) or tostring(connect.now_ms()) .. tostring(math.random())
  if f then f:close() end
  return (b:gsub(".", function(c) return format("%02x", c:byte()) end))
end

-- Commits the topic partition holding the oldest open file (bounds open files).
local function rotate_oldest(task, L)
  local oldest
  for _, tp in pairs(L.tps) do
    for _, f in pairs(tp.files) do
      if not oldest or f.opened < oldest[2] then oldest = { tp, f.opened } end
    end
  end
  if oldest then commit(task, L, oldest[1]) end
end

-- The open file of tp for encoded partition enc (opened on first use).
local function file_for(task, L, tp, enc, rec)
  local f = tp.files[enc]
  if f then return f end
  if L.open_files >= L.max_open then rotate_oldest(task, L) end
  local dir = tmp_dir(L, tp.topic, tp.partition)
  fs.mkdirs(dir)
  local out_dir = L.root .. "/" .. tp.topic .. L.dir_delim .. enc
  f = { tmp = format("%s/%s_tmp%s", dir, random_id(), L.ext), dir = out_dir, opened = L.seq }
  L.seq = L.seq + 1
  if L.gzip then
    f.fh, f.gz = fs.gzip_open(f.tmp), true
  else
    f.fh = assert(io.open(f.tmp, "wb"))
    f.fh:setvbuf("full", 65536)
  end
  if L.kind == "csv" then
    local cols, err = lake.csv_columns(rec)
    if not cols then error(err, 0) end
    f.cols = cols
    assert(f.fh:write(lake.csv_header(cols)))
  end
  tp.files[enc] = f
  L.open_files = L.open_files + 1
  if tp.deadline == nil and L.schedule > 0 then
    local now = connect.now_ms()
    tp.deadline = lake.next_rotation(now, L.schedule, L.zone)
  end
  return f
end

local function tp_of(L, topic, partition)
  local k = tp_key(topic, partition)
  local tp = L.tps[k]
  if not tp then
    tp = { topic = topic, partition = partition, files = {}, count = 0 }
    L.tps[k] = tp
  end
  return tp
end

-- Writes one record (raises with a message naming it).
local function write_one(task, L, rec, now)
  local tp = tp_of(L, rec.topic, rec.partition)
  if tp.next and rec.offset < tp.next then return end -- already in a committed file
  if rec.value == nil then
    if L.on_null == "ignore" then tp.next = rec.offset + 1; return end
    error(format("record (%s): null value (tombstone); set behavior.on.null.values=ignore to skip "
      .. "tombstones", lake.where(rec)), 0)
  end
  if L.rotate_ms > 0 and tp.count > 0 then
    local ts = L.ts_of(rec, now)
    if tp.base_ts and ts - tp.base_ts >= L.rotate_ms then commit(task, L, tp) end
  end
  local enc = L.encode(rec, now)
  local f = file_for(task, L, tp, enc, rec)
  local bytes = lake.encode_record(L.kind, rec, f.cols, L.separator)
  assert(f.fh:write(bytes))
  if f.first == nil then f.first = rec.offset end
  f.last = rec.offset
  if tp.count == 0 and L.rotate_ms > 0 then tp.base_ts = L.ts_of(rec, now) end
  tp.count, tp.last, tp.next = tp.count + 1, rec.offset, rec.offset + 1
  if tp.count >= L.flush_size then commit(task, L, tp) end
end

-- Commits tp when its wall-clock rotation is due.
local function maybe_scheduled(task, L, tp, now)
  if tp.deadline and now >= tp.deadline and tp.count > 0 then commit(task, L, tp) end
end

-- Highest committed end offset of each wanted topic partition (keys tp_key).
local function committed_ends(L, wanted)
  local ends = {}
  local d = L.file_delim:gsub("%p", "%%%0")
  local pat = "^(.+)" .. d .. "(%d+)" .. d .. "(%d+)" .. d .. "(%d+)%."
  fs.walk(L.root, function(_, name)
    local topic, p, _, last = name:match(pat)
    if topic then
      local k = tp_key(topic, tonumber(p))
      if wanted[k] then
        local e = tonumber(last)
        if ends[k] == nil or e > ends[k] then ends[k] = e end
      end
    end
  end, { ["+tmp"] = true })
  return ends
end

return connect.sink {
  version = "1.0.0",
  doc = "Writes topic partitions into offset-named files partitioned by field or time "
    .. "(Confluent's HDFS/S3 sink layout), exactly once",
  aliases = {
    "PartitionedSink", "HdfsSinkConnector", "S3SinkConnector",
    "io.confluent.connect.hdfs.HdfsSinkConnector", "io.confluent.connect.hdfs3.Hdfs3SinkConnector",
    "io.confluent.connect.s3.S3SinkConnector",
  },
  config = {
    ["topics.dir"] = { type = "string", default = "topics",
      doc = "Directory the topic directories are written under (relative to store.url/hdfs.url "
        .. "when set, else to the worker's working directory)" },
    ["store.url"] = { type = "string", validate = file_url,
      doc = "file:///dir or a path: the directory topics.dir is under (HDFS: the namenode URL)" },
    ["hdfs.url"] = { type = "string", validate = file_url, doc = "Same as store.url (older HDFS key)" },
    ["flush.size"] = { type = "int", required = true,
      validate = function(v) if v < 1 then return "must be at least 1" end end,
      doc = "Records of a topic partition written before its files are committed" },
    ["rotate.interval.ms"] = { type = "long", default = -1,
      doc = "Commit when a record's time (the partitioner's timestamp.extractor; the record "
        .. "timestamp otherwise) is this far past the first record of the open files" },
    ["rotate.schedule.interval.ms"] = { type = "long", default = -1,
      doc = "Commit open files on the wall clock, at multiples of this interval in timezone" },
    ["partitioner.class"] = { type = "string",
      default = "io.confluent.connect.storage.partitioner.DefaultPartitioner",
      doc = "Default, Field, TimeBased, Daily or Hourly (Confluent class names or short names)" },
    ["partition.field.name"] = { type = "list", default = {}, doc = "FieldPartitioner's fields" },
    ["path.format"] = { type = "string", default = "",
      doc = "TimeBasedPartitioner: Joda pattern of the directories, e.g. 'year'=YYYY/'month'=MM" },
    ["partition.duration.ms"] = { type = "long", default = -1, doc = "TimeBasedPartitioner: bucket length" },
    locale = { type = "string", default = "en", doc = "Locale of month and day names (English only)" },
    timezone = { type = "string", default = "", validate = function(v)
      if v ~= "" then local ok, err = lake.zone(v); if not ok then return err end end
    end, doc = "Zone of time partitions and scheduled rotations: UTC, a fixed offset (+05:30) or "
      .. "a tz database id (America/New_York)" },
    ["timestamp.extractor"] = { type = "string", default = "Wallclock",
      values = { "Wallclock", "Record", "RecordField" }, doc = "Where a record's time comes from" },
    ["timestamp.field"] = { type = "string", default = "timestamp",
      doc = "RecordField: the (dotted) value field holding ms or an ISO-8601 date-time" },
    ["format.class"] = { type = "string", default = "io.confluent.connect.hdfs.json.JsonFormat",
      doc = "JsonFormat (HDFS/S3), ByteArrayFormat (S3), StringFormat (HDFS), or json, csv, bytes, string" },
    ["directory.delim"] = { type = "string", default = "/", doc = "Between directory levels" },
    ["file.delim"] = { type = "string", default = "+", doc = "Between the parts of a file name" },
    ["filename.offset.zero.pad.width"] = { type = "int", default = 10,
      validate = function(v) if v < 0 then return "must not be negative" end end,
      doc = "Digits offsets are zero-padded to in file names" },
    ["s3.compression.type"] = { type = "string", default = "none", values = { "none", "gzip" },
      doc = "gzip: JSON, CSV and string files are gzip streams named .json.gz etc." },
    ["format.bytearray.extension"] = { type = "string", default = ".bin", doc = "ByteArrayFormat file extension" },
    ["format.bytearray.separator"] = { type = "string", default = "\n",
      doc = "ByteArrayFormat: bytes written after each record" },
    ["behavior.on.null.values"] = { type = "string", default = "fail", values = { "fail", "ignore" },
      doc = "Tombstones: fail the task (Confluent's default) or skip them" },
    ["luaconnect.max.open.files"] = { type = "int", default = 100,
      validate = function(v) if v < 1 then return "must be at least 1" end end,
      doc = "luaconnect: open files of a task at most; the oldest one's partition is committed first" },
    ["logs.dir"] = { type = "string", default = "logs", doc = "not used: commit lists live under topics.dir/+tmp" },
    ["storage.class"] = { type = "string", default = "", doc = "not used: always the local filesystem" },
    ["schema.compatibility"] = { type = "string", default = "NONE", values = { "NONE" },
      doc = "NONE only: records are written as they come" },
    ["hive.integration"] = { type = "boolean", default = false,
      validate = function(v) if v then return "Hive metastore integration is not supported; query the "
        .. "files with Hive partitioning (e.g. DuckDB read_json(..., hive_partitioning=true))" end end,
      doc = "false only" },
    ["s3.bucket.name"] = not_here(
      "S3 buckets are not supported: mount the bucket (e.g. s3fs) and set store.url or topics.dir"),
    ["s3.region"] = not_here("S3 is not supported: use a mounted directory"),
  },

  task_configs = function(cfg, max_tasks)
    local out = {}
    for i = 1, max_tasks do out[i] = cfg end
    return out
  end,

  open = function(task)
    local c = task.config
    local encode, ts_or_err = lake.partitioner(c)
    if not encode then error(ts_or_err, 0) end
    local kind = lake.FORMATS[c["format.class"]]
    if not kind then
      error(format("format.class '%s': not one of io.confluent.connect.hdfs.json.JsonFormat, "
        .. "io.confluent.connect.s3.format.json.JsonFormat, io.confluent.connect.s3.format.bytearray."
        .. "ByteArrayFormat, io.confluent.connect.hdfs.string.StringFormat, json, csv, bytes, string",
        c["format.class"]), 0)
    end
    local gzip = c["s3.compression.type"] == "gzip"
    if gzip and kind == "bytes" then
      error("s3.compression.type=gzip: not offered for ByteArrayFormat (as in Confluent's S3 sink)", 0)
    end
    local ext = kind == "bytes" and c["format.bytearray.extension"] or lake.EXTENSIONS[kind]
    if gzip then ext = ext .. ".gz" end
    local base = url_dir(c["store.url"]) or url_dir(c["hdfs.url"])
    local root = c["topics.dir"]
    if base then root = base:gsub("/+$", "") .. "/" .. root end
    root = root:gsub("/+$", "")
    local ts_of = type(ts_or_err) == "function" and ts_or_err or function(rec)
      return rec.timestamp or 0
    end
    task.lake = {
      root = root, encode = encode, ts_of = ts_of, kind = kind, gzip = gzip, ext = ext,
      pad = c["filename.offset.zero.pad.width"], file_delim = c["file.delim"],
      dir_delim = c["directory.delim"], flush_size = c["flush.size"],
      rotate_ms = c["rotate.interval.ms"], schedule = c["rotate.schedule.interval.ms"],
      zone = assert(lake.zone(c.timezone ~= "" and c.timezone or "UTC")),
      separator = c["format.bytearray.separator"], on_null = c["behavior.on.null.values"],
      max_open = c["luaconnect.max.open.files"], open_files = 0, seq = 0, tps = {},
    }
    fs.mkdirs(root)
  end,

  open_partitions = function(task, partitions)
    local L = task.lake
    local wanted = {}
    for _, p in ipairs(partitions) do
      local tp = tp_of(L, p.topic, p.partition)
      discard(L, tp)
      local dir = tmp_dir(L, p.topic, p.partition)
      local replayed = replay_commit_list(dir)
      if replayed > 0 then
        task.log.info("%s-%d: completed an interrupted commit of %d files", p.topic, p.partition, replayed)
      end
      local removed = 0
      for _, e in ipairs(fs.list(dir)) do
        if not e[2] and fs.unlink(dir .. "/" .. e[1]) then removed = removed + 1 end
      end
      if removed > 0 then
        task.log.info("%s-%d: removed %d temporary files of an earlier run", p.topic, p.partition, removed)
      end
      wanted[tp_key(p.topic, p.partition)] = p
    end
    local ends = committed_ends(L, wanted)
    local out = {}
    for k, p in pairs(wanted) do
      local last = ends[k]
      local tp = L.tps[k]
      -- -2: the beginning of the partition (librdkafka's OFFSET_BEGINNING), as nothing of it
      -- is committed here; the group's offset may be past records lost with temporary files.
      tp.next = last and last + 1 or nil
      out[#out + 1] = { topic = p.topic, partition = p.partition, offset = last and last + 1 or -2 }
    end
    return out
  end,

  close_partitions = function(task, partitions)
    -- Revoked: their open files are dropped, uncommitted, as Confluent's close() does; the
    -- next owner resumes after the last committed file.
    local L = task.lake
    for _, p in ipairs(partitions) do
      local k = tp_key(p.topic, p.partition)
      if L.tps[k] then discard(L, L.tps[k]); L.tps[k] = nil end
    end
  end,

  put = function(task, records)
    local L = task.lake
    local now = connect.now_ms()
    for i = 1, #records do
      local rec = records[i]
      local ok, err = pcall(write_one, task, L, rec, now)
      if not ok then task.report(rec, tostring(err)) end
    end
    for _, tp in pairs(L.tps) do maybe_scheduled(task, L, tp, now) end
  end,

  -- No record for a while: files still rotate on the wall clock (rotate.schedule.interval.ms).
  idle = function(task)
    local L = task.lake
    local now = connect.now_ms()
    for _, tp in pairs(L.tps) do maybe_scheduled(task, L, tp, now) end
  end,

  -- Files are committed by rotation only (as Confluent's sinks): committed file names, not
  -- consumer offsets, decide where a partition resumes, so flush() has nothing to do.
  flush = function() end,

  close = function(task)
    local L = task.lake
    if not L then return end
    for _, tp in pairs(L.tps) do discard(L, tp) end
    L.tps = {}
  end,
}
