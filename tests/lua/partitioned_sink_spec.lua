-- Specs for scripts/partitioned_sink.lua and its helpers scripts/_lake.lua, scripts/_lake_fs.lua.
local connect = require "luaconnect"
local lake = require "_lake"
local fs = require "_lake_fs"
local path = "scripts/partitioned_sink.lua"

local function read(file)
  local f = assert(io.open(file, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

-- Every committed file under dir as "relative/path" -> contents (+tmp left out).
local function tree(dir)
  local out = {}
  fs.walk(dir, function(d, name)
    out[(d .. "/" .. name):sub(#dir + 2)] = read(d .. "/" .. name)
  end, { ["+tmp"] = true })
  return out
end

local function cfg(t)
  t["partitioner.class"] = t["partitioner.class"] or "io.confluent.connect.storage.partitioner.DefaultPartitioner"
  t["directory.delim"] = t["directory.delim"] or "/"
  t.timezone = t.timezone or ""
  t["timestamp.extractor"] = t["timestamp.extractor"] or "Wallclock"
  t["partition.duration.ms"] = t["partition.duration.ms"] or -1
  return t
end

describe("_lake partitioners", function()
  it("encodes Default as partition=N", function()
    local enc = lake.partitioner(cfg {})
    expect.eq(enc({ topic = "t", partition = 7 }), "partition=7")
  end)

  it("encodes Field as name=value joined by directory.delim, for ints, strings and booleans", function()
    local enc = lake.partitioner(cfg {
      ["partitioner.class"] = "FieldPartitioner", ["partition.field.name"] = { "country", "n", "ok" },
    })
    expect.eq(enc({ value = { country = "fr", n = 12, ok = true } }), "country=fr/n=12/ok=true")
    expect.eq(enc({ value = { country = "fr", n = 9007199254740993LL, ok = false } }),
      "country=fr/n=9007199254740993/ok=false")
    expect.error_contains(function() enc({ topic = "t", partition = 0, offset = 3, value = { n = 1 } }) end,
      "record (topic t, partition 0, offset 3): field 'country': a missing value is not supported")
    expect.error_contains(function() enc({ topic = "t", partition = 0, offset = 4, value = "x" }) end,
      "FieldPartitioner needs a struct or map value")
  end)

  it("formats Daily and Hourly paths as Confluent does (UTC and a fixed offset)", function()
    local ts = 1700000000000 -- 2023-11-14T22:13:20Z
    local daily = lake.partitioner(cfg {
      ["partitioner.class"] = "io.confluent.connect.storage.partitioner.DailyPartitioner",
      timezone = "UTC", ["timestamp.extractor"] = "Record" })
    expect.eq(daily({ timestamp = ts }), "year=2023/month=11/day=14")
    local hourly = lake.partitioner(cfg {
      ["partitioner.class"] = "io.confluent.connect.hdfs.partitioner.HourlyPartitioner",
      timezone = "+05:30", ["timestamp.extractor"] = "Record" })
    expect.eq(hourly({ timestamp = ts }), "year=2023/month=11/day=15/hour=03")
  end)

  it("formats TimeBased path.format in buckets of partition.duration.ms", function()
    local enc = lake.partitioner(cfg {
      ["partitioner.class"] = "TimeBasedPartitioner", ["path.format"] = "'dt'=YYYY-MM-dd/'m'=HHmm/",
      ["partition.duration.ms"] = 900000, timezone = "Etc/GMT+2",
      ["timestamp.extractor"] = "RecordField", ["timestamp.field"] = "meta.at" })
    expect.eq(enc({ value = { meta = { at = "2024-02-29T23:59:59.999Z" } } }), "dt=2024-02-29/m=2145")
    expect.eq(enc({ value = { meta = { at = 1709251199999 } } }), "dt=2024-02-29/m=2145")
    expect.error_contains(function()
      enc({ topic = "t", partition = 1, offset = 2, value = { meta = { at = "yesterday" } } })
    end, "timestamp.field 'meta.at' value 'yesterday' is not an ISO-8601 date-time")
  end)

  it("names month and day texts and refuses unknown letters and zones", function()
    local f = assert(lake.compile_pattern("EEE, dd MMM yyyy hh a 'o''clock'"))
    expect.eq(f(0), "Thu, 01 Jan 1970 12 AM o'clock")
    local _, err = lake.compile_pattern("YYYY/qq")
    expect.eq(err, "Illegal pattern component: qq")
    local ok, zerr = lake.zone("Europe/Pariss")
    expect.eq(ok, nil)
    expect.truthy(zerr:find("timezone 'Europe/Pariss' is not recognised", 1, true))
    local _, perr = lake.partitioner(cfg { ["partitioner.class"] = "Weekly" })
    expect.truthy(perr:find("partitioner.class 'Weekly'", 1, true))
  end)
end)

describe("_lake file names and formats", function()
  it("names committed files as FileUtils.committedFileName and parses them back", function()
    local name = lake.file_name("orders", 2, 0, 499, 10, "+", ".json")
    expect.eq(name, "orders+2+0000000000+0000000499.json")
    local a, b = lake.parse_file_name(name, "orders", 2, "+")
    expect.eq(a, 0)
    expect.eq(b, 499)
    expect.eq(lake.file_name("t", 0, 12345, 123456, 3, "#", ".bin"), "t#0#12345#123456.bin")
  end)

  it("writes JSON lines, CSV with quoting and bytes", function()
    expect.eq(lake.encode_record("json", { value = { a = 1 } }), '{"a":1}\n')
    expect.eq(lake.encode_record("json", { value = "é\"" }), '"é\\""\n')
    local rec = { value = { id = 1, note = 'a,"b"' }, value_schema = { type = "struct", fields = {
      { field = "note", type = "string" }, { field = "id", type = "int32" } } } }
    local cols = lake.csv_columns(rec)
    expect.eq(lake.csv_header(cols), "note,id\n")
    expect.eq(lake.encode_record("csv", rec, cols), '"a,""b""",1\n')
    expect.eq(lake.encode_record("bytes", { value = "\0\1" }, nil, "\n"), "\0\1\n")
  end)
end)

describe("partitioned_sink", function()
  local function open(dir, extra)
    local c = { ["topics.dir"] = dir, ["flush.size"] = "3" }
    for k, v in pairs(extra or {}) do c[k] = v end
    local task = connect._task_open(path, c, 0, "sink", nil, {})
    return task
  end
  local function recs(topic, partition, from, to)
    local out = {}
    for o = from, to do out[#out + 1] = { topic = topic, partition = partition, offset = o, value = { n = o } } end
    return out
  end

  it("commits every flush.size records under the offset names and resumes after them", function()
    local dir = tmpdir() .. "/lake"
    local task = open(dir)
    expect.same(connect._sink_open_partitions(task, { { topic = "t", partition = 0 } }),
      { { topic = "t", partition = 0, offset = -2 } })
    connect._sink_put(task, recs("t", 0, 0, 6))
    local files = tree(dir)
    expect.eq(files["t/partition=0/t+0+0000000000+0000000002.json"], '{"n":0}\n{"n":1}\n{"n":2}\n')
    expect.eq(files["t/partition=0/t+0+0000000003+0000000005.json"], '{"n":3}\n{"n":4}\n{"n":5}\n')
    -- offset 6 sits in a temporary file: a new task removes it and resumes at 6
    connect._task_close(task)
    local again = open(dir)
    expect.same(connect._sink_open_partitions(again, { { topic = "t", partition = 0 } }),
      { { topic = "t", partition = 0, offset = 6 } })
    connect._sink_put(again, recs("t", 0, 4, 8)) -- 4 and 5 again: skipped
    expect.eq(tree(dir)["t/partition=0/t+0+0000000006+0000000008.json"], '{"n":6}\n{"n":7}\n{"n":8}\n')
    connect._task_close(again)
    local n = 0
    for _ in pairs(tree(dir)) do n = n + 1 end
    expect.eq(n, 3)
    expect.eq(#fs.list(dir .. "/+tmp/t/0"), 0)
  end)

  it("removes temporary files and completes an interrupted multi-file commit on assignment", function()
    local dir = tmpdir() .. "/lake2"
    local tmp = dir .. "/+tmp/t/1"
    fs.mkdirs(tmp)
    local w = file_writer(tmp)
    w("a_tmp.json", '{"n":0}\n')
    w("b_tmp.json", '{"n":1}\n')
    w("stale_tmp.json", '{"n":9}\n')
    w("+commit", tmp .. "/a_tmp.json\t" .. dir .. "/t/k=a/t+1+0000000000+0000000000.json\n"
      .. tmp .. "/b_tmp.json\t" .. dir .. "/t/k=b/t+1+0000000001+0000000001.json\n")
    local task = open(dir)
    expect.same(connect._sink_open_partitions(task, { { topic = "t", partition = 1 } }),
      { { topic = "t", partition = 1, offset = 2 } })
    expect.same(tree(dir), {
      ["t/k=a/t+1+0000000000+0000000000.json"] = '{"n":0}\n',
      ["t/k=b/t+1+0000000001+0000000001.json"] = '{"n":1}\n',
    })
    expect.eq(#fs.list(tmp), 0)
    connect._task_close(task)
  end)

  it("writes gzip CSV files into field partitions", function()
    local dir = tmpdir() .. "/lake3"
    local task = open(dir, { ["format.class"] = "csv", ["s3.compression.type"] = "gzip",
      ["partitioner.class"] = "FieldPartitioner", ["partition.field.name"] = "k", ["flush.size"] = "2" })
    connect._sink_open_partitions(task, { { topic = "t", partition = 0 } })
    connect._sink_put(task, {
      { topic = "t", partition = 0, offset = 0, value = { k = "x", v = 1 } },
      { topic = "t", partition = 0, offset = 1, value = { k = "y", v = 2 } },
    })
    connect._task_close(task)
    local files = tree(dir)
    local gz = files["t/k=x/t+0+0000000000+0000000000.csv.gz"]
    expect.truthy(gz and gz:sub(1, 2) == "\31\139", "a gzip file for k=x")
    local p = io.popen("gzip -dc " .. dir .. "/t/k=y/t+0+0000000001+0000000001.csv.gz")
    expect.eq(p:read("*a"), "k,v\ny,2\n")
    p:close()
  end)

  it("drops the open files of revoked partitions (close_partitions) and rotates on the clock when idle", function()
    local dir = tmpdir() .. "/lake4"
    local task = open(dir, { ["flush.size"] = "100", ["rotate.schedule.interval.ms"] = "3600000" })
    connect._sink_open_partitions(task, { { topic = "t", partition = 0 }, { topic = "t", partition = 1 } })
    connect._sink_put(task, recs("t", 0, 0, 1))
    connect._sink_put(task, recs("t", 1, 0, 1))
    expect.eq(#fs.list(dir .. "/+tmp/t/0"), 1)
    connect._sink_close_partitions(task, { { topic = "t", partition = 0 } })
    expect.eq(#fs.list(dir .. "/+tmp/t/0"), 0)
    connect._sink_idle(task)
    expect.same(tree(dir), {}) -- the hour has not passed
    task.lake.tps["t\0" .. 1].deadline = connect.now_ms() -- as if it had
    connect._sink_idle(task)
    expect.same(tree(dir), { ["t/partition=1/t+1+0000000000+0000000001.json"] = '{"n":0}\n{"n":1}\n' })
    connect._task_close(task)
  end)

  it("commits the partition of the oldest open file when luaconnect.max.open.files is reached", function()
    local dir = tmpdir() .. "/lake5"
    local task = open(dir, { ["flush.size"] = "100", ["luaconnect.max.open.files"] = "2",
      ["partitioner.class"] = "FieldPartitioner", ["partition.field.name"] = "k" })
    connect._sink_open_partitions(task, { { topic = "t", partition = 0 }, { topic = "t", partition = 1 } })
    connect._sink_put(task, {
      { topic = "t", partition = 0, offset = 0, value = { k = "a" } },
      { topic = "t", partition = 0, offset = 1, value = { k = "b" } },
      { topic = "t", partition = 1, offset = 0, value = { k = "a" } }, -- a third file: p0 commits
    })
    expect.same(tree(dir), {
      ["t/k=a/t+0+0000000000+0000000000.json"] = '{"k":"a"}\n',
      ["t/k=b/t+0+0000000001+0000000001.json"] = '{"k":"b"}\n',
    })
    expect.eq(task.lake.open_files, 1)
    connect._task_close(task)
  end)

  it("rotates on record time with rotate.interval.ms, the record past the interval opening the next file", function()
    local dir = tmpdir() .. "/lake6"
    local task = open(dir, { ["flush.size"] = "100", ["rotate.interval.ms"] = "1000" })
    connect._sink_open_partitions(task, { { topic = "t", partition = 0 } })
    local rs = recs("t", 0, 0, 3)
    for i, r in ipairs(rs) do r.timestamp = ({ 5000, 5500, 5999, 6000 })[i] end
    connect._sink_put(task, rs)
    expect.same(tree(dir), {
      ["t/partition=0/t+0+0000000000+0000000002.json"] = '{"n":0}\n{"n":1}\n{"n":2}\n' })
    connect._task_close(task)
  end)

  it("refuses keys of other stores with a clear error", function()
    local def = connect._load(path, "connector")
    local function errors(extra)
      local c = { ["flush.size"] = "3" }
      for k, v in pairs(extra) do c[k] = v end
      local _, errs = connect._validate("connector 'lake'", def.config, c, false)
      return table.concat(errs, "\n")
    end
    expect.eq(errors({}), "")
    expect.truthy(errors({ ["s3.bucket.name"] = "b" }):find("S3 buckets are not supported", 1, true))
    expect.truthy(errors({ ["hdfs.url"] = "hdfs://nn:8020" }):find("only file:// URLs", 1, true))
    expect.eq(errors({ timezone = "America/New_York" }), "")
    expect.truthy(errors({ timezone = "Mars/Olympus_Mons" }):find("timezone 'Mars/Olympus_Mons' is not recognised", 1, true))
    expect.error_contains(function() open(tmpdir(), { ["format.class"] = "parquet" }) end,
      "format.class 'parquet'")
  end)
end)
