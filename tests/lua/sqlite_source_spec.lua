-- Specs for scripts/sqlite_source.lua, driven through the SDK the way the core drives it:
-- _plan (validation + task_configs), _task_open with a fake task.offsets, _source_poll.
local connect = require "luaconnect"
local sqlite = require "_sqlite"
local path = "scripts/sqlite_source.lua"
local encode = connect.json.encode

local dir = tmpdir()
local ndb = 0
local function new_db(sql)
  ndb = ndb + 1
  local file = dir .. "/src" .. ndb .. ".db"
  local db = sqlite.open(file)
  if sql then db:exec(sql) end
  return db, file
end

-- An offset store shaped like the core's: keys are the partitions' sorted JSON.
local function store()
  local s = { data = {} }
  function s.get(_, p) return s.data[encode(p)] end
  -- Commits the offsets of records as the core does once Kafka acknowledged them.
  function s.commit(recs, upto)
    for i = 1, upto or #recs do
      local r = recs[i]
      if r.source_partition then s.data[encode(r.source_partition)] = r.source_offset end
    end
  end
  return s
end

local function plan(raw, max_tasks)
  local _, tasks, errs = connect._plan(path, "connector 'src'", raw, max_tasks or 1)
  if #errs > 0 then error(table.concat(errs, "\n"), 2) end
  return tasks
end

local function open(raw, offsets, max_tasks, index)
  local tasks = plan(raw, max_tasks)
  local cfg = connect.json.decode(encode(tasks[(index or 0) + 1])) -- as the core ships it
  return connect._task_open(path, cfg, index or 0, "src", offsets or store(), {})
end

local function poll(task)
  return connect._source_poll(task) or {}
end

local function values(recs, field)
  local out = {}
  for i, r in ipairs(recs) do out[i] = r.value[field] end
  return out
end

local function sql_of(task, i)
  return task.queriers[i or 1].st.sql
end

local function cfg(file, t)
  local c = { ["connection.url"] = "jdbc:sqlite:" .. file, ["topic.prefix"] = "db-",
    ["poll.interval.ms"] = "0" }
  for k, v in pairs(t or {}) do c[k] = v end
  return c
end

local TS_EXPR = "CASE typeof(%s) WHEN 'integer' THEN %s WHEN 'real' THEN CAST(round((%s - 2440587.5) "
  .. "* 86400000.0) AS INTEGER) ELSE CAST(round((julianday(%s) - 2440587.5) * 86400000.0) AS INTEGER) END"
local function ts_sql(x) return TS_EXPR:format(x, x, x, x) end

describe("sqlite_source incrementing mode", function()
  it("emits each row once, with Confluent's partition and offset, a struct and the key", function()
    local db, file = new_db([[CREATE TABLE accounts(id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
      name VARCHAR(255)); INSERT INTO accounts(name) VALUES ('alice'), ('bob');]])
    local task = open(cfg(file, { mode = "incrementing", ["incrementing.column.name"] = "id" }))
    local recs = poll(task)
    expect.eq(#recs, 2)
    expect.eq(recs[1].topic, "db-accounts")
    expect.same(recs[1].value, { id = 1, name = "alice" })
    expect.same(recs[1].value_schema, { type = "struct", name = "accounts", optional = false, fields = {
      { field = "id", type = "int64", optional = false },
      { field = "name", type = "string", optional = true },
    } })
    expect.eq(recs[2].key, 2)
    expect.same(recs[2].key_schema, { type = "int64", optional = false })
    expect.eq(encode(recs[1].source_partition), '{"protocol":"1","table":"accounts"}')
    expect.eq(encode(recs[2].source_offset), '{"incrementing":2}')
    expect.eq(sql_of(task), "SELECT * FROM `accounts` WHERE `accounts`.`id` > ? ORDER BY `accounts`.`id` ASC")
    expect.eq(#poll(task), 0)
    db:exec("INSERT INTO accounts(name) VALUES ('carol')")
    recs = poll(task)
    expect.eq(#recs, 1)
    expect.same(recs[1].value, { id = 3, name = "carol" })
    db:close()
  end)

  it("resumes exactly after the last committed row, also from a v0 partition", function()
    local db, file = new_db("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)")
    for i = 1, 5 do db:exec("INSERT INTO t(v) VALUES ('r" .. i .. "')") end
    local offsets = store()
    local raw = cfg(file, { mode = "incrementing" }) -- empty column name: the INTEGER PRIMARY KEY
    local task = open(raw, offsets)
    local recs = poll(task)
    expect.eq(#recs, 5)
    offsets.commit(recs, 3) -- only 3 acknowledged when the worker stopped
    connect._task_close(task)
    task = open(raw, offsets)
    expect.same(values(poll(task), "v"), { "r4", "r5" })
    connect._task_close(task)
    -- an offset an older Confluent version stored under {"table":"t"}
    local old = store()
    old.data['{"table":"t"}'] = { incrementing = 4 }
    task = open(raw, old)
    expect.same(values(poll(task), "v"), { "r5" })
    db:close()
  end)

  it("reads at most batch.max.rows per table per poll and continues where it stopped", function()
    local db, file = new_db("CREATE TABLE a(id INTEGER PRIMARY KEY); CREATE TABLE b(id INTEGER PRIMARY KEY)")
    db:exec("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 25) "
      .. "INSERT INTO a SELECT x FROM c")
    db:exec("INSERT INTO b VALUES (1), (2)")
    local task = open(cfg(file, { mode = "incrementing", ["batch.max.rows"] = "10" }))
    local recs = poll(task)
    expect.eq(#recs, 12) -- 10 of a, 2 of b
    local seen = {}
    for _ = 1, 3 do
      for _, r in ipairs(recs) do
        if r.topic == "db-a" then seen[#seen + 1] = r.value.id end
      end
      recs = poll(task)
    end
    expect.eq(#seen, 25)
    for i = 1, 25 do expect.eq(seen[i], i) end
    db:close()
  end)

  it("waits poll.interval.ms between queries of a table without blocking", function()
    local db, file = new_db("CREATE TABLE t(id INTEGER PRIMARY KEY); INSERT INTO t VALUES (1)")
    local task = open(cfg(file, { mode = "incrementing", ["poll.interval.ms"] = "5000" }))
    local now = 1000000
    task.now = function() return now end
    expect.eq(#poll(task), 1)
    db:exec("INSERT INTO t VALUES (2)")
    local t0 = connect.now_ms()
    expect.eq(connect._source_poll(task), nil)
    expect.truthy(connect.now_ms() - t0 < 50, "poll() must return at once")
    now = now + 4999
    expect.eq(connect._source_poll(task), nil)
    now = now + 1
    expect.eq(poll(task)[1].value.id, 2)
    db:close()
  end)

  it("carries ids beyond 2^53 exactly, in values and offsets", function()
    local db, file = new_db("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)")
    db:exec("INSERT INTO t VALUES (9007199254740993, 'big'), (9007199254740992, 'edge')")
    local offsets = store()
    local task = open(cfg(file, { mode = "incrementing" }), offsets)
    local recs = poll(task)
    expect.eq(encode(recs[2].value.id), "9007199254740993")
    expect.eq(encode(recs[2].source_offset), '{"incrementing":9007199254740993}')
    expect.eq(encode(recs[1].source_offset), '{"incrementing":9007199254740992}')
    offsets.commit(recs)
    db:exec("INSERT INTO t VALUES (9007199254740995, 'next')")
    local stored = connect.json.decode(encode(offsets.data['{"protocol":"1","table":"t"}']))
    offsets.data['{"protocol":"1","table":"t"}'] = stored -- as the store hands it back
    task = open(cfg(file, { mode = "incrementing" }), offsets)
    expect.same(values(poll(task), "v"), { "next" })
    db:close()
  end)
end)

describe("sqlite_source values and schemas", function()
  it("maps declared types, NULLs, BLOBs, REALs, UTF-8 TEXT and dates", function()
    local db, file = new_db([[CREATE TABLE k(id INTEGER PRIMARY KEY, i INT NOT NULL, big BIGINT, r REAL,
      d DOUBLE, n NUMERIC, t TEXT, c VARCHAR(10), b BLOB, flag BOOLEAN, ts TIMESTAMP, day DATE, x)]])
    db:exec([[INSERT INTO k VALUES (1, 7, 9007199254740993, 1.5, 2.0, 3, 'é 中文 🙂', 'c', x'00ff00',
      1, '2024-01-02 03:04:05.678', '2024-01-02', 'free'),
      (2, 8, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 5)]])
    local task = open(cfg(file, { mode = "bulk" }))
    local recs = poll(task)
    local v = recs[1].value
    expect.eq(v.i, 7)
    expect.eq(tostring(v.big), "9007199254740993LL")
    expect.eq(v.r, 1.5)
    expect.truthy(connect.is_float(v.d), "2.0 stays a float")
    expect.eq(encode(v.n), "3.0")
    expect.eq(v.t, "é 中文 🙂")
    expect.eq(v.b, "\0\255\0")
    expect.eq(v.flag, true)
    expect.eq(v.ts, 1704164645678)
    expect.eq(v.day, 19724)
    expect.eq(v.x, "free")
    local w = recs[2].value
    for _, f in ipairs({ "big", "r", "d", "n", "t", "c", "b", "flag", "ts", "day" }) do
      expect.eq(w[f], connect.null, f)
    end
    expect.eq(w.x, "5") -- untyped column: typed by the first row (TEXT), read as text
    expect.same(recs[1].value_schema.fields, {
      { field = "id", type = "int64", optional = false },
      { field = "i", type = "int64", optional = false },
      { field = "big", type = "int64", optional = true },
      { field = "r", type = "double", optional = true },
      { field = "d", type = "double", optional = true },
      { field = "n", type = "double", optional = true },
      { field = "t", type = "string", optional = true },
      { field = "c", type = "string", optional = true },
      { field = "b", type = "bytes", optional = true },
      { field = "flag", type = "boolean", optional = true },
      { field = "ts", type = "int64", optional = true, name = "org.apache.kafka.connect.data.Timestamp", version = 1 },
      { field = "day", type = "int32", optional = true, name = "org.apache.kafka.connect.data.Date", version = 1 },
      { field = "x", type = "string", optional = true },
    })
    expect.eq(recs[1].value_schema, recs[2].value_schema) -- one shared table
    expect.eq(recs[1].source_partition, nil) -- bulk: no offsets, as Confluent
    db:close()
  end)

  it("has no key without a one-column primary key", function()
    local db, file = new_db([[CREATE TABLE two(a INTEGER, b TEXT, PRIMARY KEY (a, b));
      CREATE TABLE none(a INTEGER); INSERT INTO two VALUES (1, 'x'); INSERT INTO none VALUES (1)]])
    local task = open(cfg(file, { mode = "bulk" }))
    local recs = poll(task)
    expect.eq(#recs, 2)
    for _, r in ipairs(recs) do
      expect.eq(r.key, nil)
      expect.eq(r.key_schema, nil)
    end
    db:close()
  end)

  it("fails naming the column when a timestamp column holds no date", function()
    local db, file = new_db("CREATE TABLE e(ts DATETIME); INSERT INTO e VALUES ('not a date')")
    local task = open(cfg(file, { mode = "bulk" }))
    expect.error_contains(function() poll(task) end,
      "table e: column 'ts': cannot read 'not a date' as a timestamp")
    db:close()
  end)
end)

describe("sqlite_source bulk mode", function()
  it("copies the whole table at every poll.interval.ms", function()
    local db, file = new_db("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t(v) VALUES ('a'), ('b')")
    local task = open(cfg(file, { mode = "bulk", ["poll.interval.ms"] = "1000" }))
    local now = 0
    task.now = function() return now end
    expect.same(values(poll(task), "v"), { "a", "b" })
    expect.eq(sql_of(task), "SELECT * FROM `t`")
    expect.eq(connect._source_poll(task), nil)
    db:exec("INSERT INTO t(v) VALUES ('c')")
    now = 1000
    expect.same(values(poll(task), "v"), { "a", "b", "c" })
    db:close()
  end)
end)

describe("sqlite_source timestamp modes", function()
  it("timestamp+incrementing: Confluent's WHERE clause, updates as new events, exact restart", function()
    local db, file = new_db([[CREATE TABLE o(id INTEGER PRIMARY KEY, modified TIMESTAMP NOT NULL, v TEXT);
      INSERT INTO o VALUES (1, '2024-01-01 00:00:00', 'a'), (2, '2024-01-01 00:00:00', 'b'),
      (3, '2024-01-01 00:00:01.250', 'c')]])
    local offsets = store()
    local raw = cfg(file, { mode = "timestamp+incrementing", ["incrementing.column.name"] = "id",
      ["timestamp.column.name"] = "modified" })
    local task = open(raw, offsets)
    local recs = poll(task)
    expect.same(values(recs, "v"), { "a", "b", "c" })
    local ts = ts_sql("`o`.`modified`")
    expect.eq(sql_of(task), "SELECT * FROM `o` WHERE " .. ts .. " < ? AND ((" .. ts .. " = ? AND `o`.`id` > ?) OR "
      .. ts .. " > ?) ORDER BY " .. ts .. ",`o`.`id` ASC")
    expect.eq(encode(recs[1].source_offset), '{"incrementing":1,"timestamp":1704067200000,"timestamp_nanos":0}')
    expect.eq(encode(recs[3].source_offset),
      '{"incrementing":3,"timestamp":1704067201250,"timestamp_nanos":250000000}')
    offsets.commit(recs, 2)
    db:exec("UPDATE o SET v = 'a2', modified = '2024-01-01 00:00:02' WHERE id = 1")
    expect.same(values(poll(task), "v"), { "a2" })
    connect._task_close(task)
    -- restart from the offset of id 2: id 3 and the update of id 1 come, nothing else
    task = open(raw, offsets)
    expect.same(values(poll(task), "v"), { "c", "a2" })
    db:close()
  end)

  it("timestamp: rows sharing a timestamp keep the older offset until the next timestamp", function()
    local db, file = new_db([[CREATE TABLE e(id INTEGER PRIMARY KEY, at INTEGER NOT NULL, v TEXT);
      INSERT INTO e VALUES (1, 1000, 'a'), (2, 2000, 'b'), (3, 2000, 'c'), (4, 3000, 'd')]])
    local offsets = store()
    local raw = cfg(file, { mode = "timestamp", ["timestamp.column.name"] = "at", ["batch.max.rows"] = "2" })
    local task = open(raw, offsets)
    local recs = poll(task)
    expect.same(values(recs, "v"), { "a", "b" })
    local ts = ts_sql("`e`.`at`")
    expect.eq(sql_of(task), "SELECT * FROM `e` WHERE " .. ts .. " > ? AND " .. ts .. " < ? ORDER BY " .. ts .. " ASC")
    expect.eq(encode(recs[1].source_offset), '{"timestamp":1000,"timestamp_nanos":0}')
    -- b shares 2000 with c, which is not read yet: b's offset stays at 1000
    expect.eq(encode(recs[2].source_offset), '{"timestamp":1000,"timestamp_nanos":0}')
    offsets.commit(recs)
    connect._task_close(task)
    task = open(raw, offsets)
    recs = poll(task)
    expect.same(values(recs, "v"), { "b", "c" }) -- b again (at least once), nothing lost
    expect.eq(encode(recs[2].source_offset), '{"timestamp":2000,"timestamp_nanos":0}')
    recs = poll(task)
    expect.same(values(recs, "v"), { "d" })
    expect.eq(encode(recs[1].source_offset), '{"timestamp":3000,"timestamp_nanos":0}')
    db:close()
  end)

  it("reads TEXT, integer epoch ms and REAL Julian days in one column, COALESCEd", function()
    local db, file = new_db([[CREATE TABLE m(id INTEGER PRIMARY KEY, created DATETIME NOT NULL,
      updated DATETIME, v TEXT)]])
    db:exec([[INSERT INTO m VALUES
      (1, '2024-01-01 00:00:03', NULL, 'text'),
      (2, 1704067201000, NULL, 'int'),
      (3, '2024-01-01T00:00:02.5Z', NULL, 'iso'),
      (4, 2460310.5, NULL, 'julian'),
      (5, '2024-01-01 00:00:09', '2024-01-01 00:00:00.500', 'coalesce')]])
    local task = open(cfg(file, { mode = "timestamp+incrementing",
      ["timestamp.column.name"] = "updated, created" }))
    local recs = poll(task)
    expect.same(values(recs, "v"), { "julian", "coalesce", "int", "iso", "text" })
    expect.same(values(recs, "created"), { 1704067200000, 1704067209000, 1704067201000, 1704067202500,
      1704067203000 })
    expect.eq(encode(recs[2].source_offset),
      '{"incrementing":5,"timestamp":1704067200500,"timestamp_nanos":500000000}')
    expect.truthy(sql_of(task):find("COALESCE(`m`.`updated`,`m`.`created`)", 1, true))
    db:close()
  end)

  it("leaves out rows newer than now - timestamp.delay.interval.ms until they are old enough", function()
    local db, file = new_db("CREATE TABLE d(id INTEGER PRIMARY KEY, at INTEGER NOT NULL)")
    local now = 1800000000000
    db:exec(("INSERT INTO d VALUES (1, %d), (2, %d)"):format(now - 90000, now - 30000))
    local task = open(cfg(file, { mode = "timestamp+incrementing", ["timestamp.column.name"] = "at",
      ["timestamp.delay.interval.ms"] = "60000" }))
    task.now = function() return now end
    expect.same(values(poll(task), "id"), { 1 })
    now = now + 30001
    expect.same(values(poll(task), "id"), { 2 })
    db:close()
  end)

  it("takes each table's columns from timestamp.columns.mapping and incrementing.column.mapping", function()
    local db, file = new_db([[CREATE TABLE orders(oid INTEGER PRIMARY KEY, changed INTEGER NOT NULL);
      CREATE TABLE users(uid INTEGER PRIMARY KEY, seen INTEGER NOT NULL);
      INSERT INTO orders VALUES (1, 10); INSERT INTO users VALUES (1, 20)]])
    local task = open(cfg(file, { mode = "timestamp+incrementing",
      ["incrementing.column.mapping"] = "ord.*:oid,us.*:uid",
      ["timestamp.columns.mapping"] = "ord.*:[changed],us.*:[seen]" }))
    local recs = poll(task)
    expect.eq(#recs, 2)
    local by_topic = {}
    for _, r in ipairs(recs) do by_topic[r.topic] = encode(r.source_offset) end
    expect.eq(by_topic["db-orders"], '{"incrementing":1,"timestamp":10,"timestamp_nanos":10000000}')
    expect.eq(by_topic["db-users"], '{"incrementing":1,"timestamp":20,"timestamp_nanos":20000000}')
    expect.error_contains(function()
      plan(cfg(file, { mode = "timestamp", ["timestamp.columns.mapping"] = "ord.*:changed" }))
    end, "timestamp.columns.mapping: columns list must be enclosed in square brackets in 'ord.*:changed'")
    db:close()
  end)

  it("starts at timestamp.initial when there is no offset", function()
    local db, file = new_db([[CREATE TABLE d(id INTEGER PRIMARY KEY, at TEXT NOT NULL);
      INSERT INTO d VALUES (1, '2020-01-01 00:00:00'), (2, '2024-01-01 00:00:00')]])
    local task = open(cfg(file, { mode = "timestamp", ["timestamp.column.name"] = "at",
      ["timestamp.initial"] = "1600000000000" }))
    expect.same(values(poll(task), "id"), { 2 })
    db:close()
  end)
end)

describe("sqlite_source custom query", function()
  it("appends the incremental WHERE clause, uses one task, topic.prefix and the query partition", function()
    local db, file = new_db([[CREATE TABLE a(id INTEGER PRIMARY KEY, x TEXT); CREATE TABLE b(id INTEGER PRIMARY KEY);
      INSERT INTO a VALUES (1, 'one'), (2, 'two')]])
    local raw = cfg(file, { mode = "incrementing", ["incrementing.column.name"] = "id", ["topic.prefix"] = "joined",
      query = "SELECT * FROM (SELECT a.id AS id, upper(a.x) AS big FROM a)" })
    expect.eq(#plan(raw, 4), 1)
    local offsets = store()
    local task = open(raw, offsets, 4)
    local recs = poll(task)
    expect.eq(sql_of(task), "SELECT * FROM (SELECT a.id AS id, upper(a.x) AS big FROM a) WHERE `id` > ? ORDER BY `id` ASC")
    expect.same(values(recs, "big"), { "ONE", "TWO" })
    expect.eq(recs[1].topic, "joined")
    expect.eq(encode(recs[1].source_partition), '{"query":"query"}')
    expect.eq(recs[1].key, nil)
    expect.same(recs[1].value_schema, { type = "struct", optional = false, fields = {
      { field = "id", type = "int64", optional = false },
      { field = "big", type = "string", optional = true },
    } })
    offsets.commit(recs, 1)
    task = open(raw, offsets, 4)
    expect.same(values(poll(task), "big"), { "TWO" })
    db:close()
  end)

  it("runs the query as it is in bulk mode", function()
    local db, file = new_db("CREATE TABLE a(v INTEGER); INSERT INTO a VALUES (1), (2), (3)")
    local task = open(cfg(file, { mode = "bulk", ["topic.prefix"] = "q", query = "SELECT sum(v) AS s FROM a WHERE v > 1" }))
    local recs = poll(task)
    expect.eq(sql_of(task), "SELECT sum(v) AS s FROM a WHERE v > 1")
    expect.same(recs[1].value, { s = 5 })
    expect.same(recs[1].value_schema.fields, { { field = "s", type = "int64", optional = true } })
    db:close()
  end)
end)

describe("sqlite_source tables and tasks", function()
  it("splits the tables over tasks in contiguous groups, like Confluent's groupPartitions", function()
    local db, file = new_db()
    for _, t in ipairs({ "a", "b", "c", "d", "e" }) do db:exec("CREATE TABLE " .. t .. "(id INTEGER PRIMARY KEY)") end
    local tasks = plan(cfg(file, { mode = "bulk" }), 2)
    expect.eq(#tasks, 2)
    expect.same(tasks[1]._tables, { "a", "b", "c" })
    expect.same(tasks[2]._tables, { "d", "e" })
    expect.eq(#plan(cfg(file, { mode = "bulk" }), 10), 5)
    tasks = plan(cfg(file, { mode = "bulk", ["table.blacklist"] = "b, d" }), 10)
    expect.eq(#tasks, 3)
    tasks = plan(cfg(file, { mode = "bulk", ["table.include.list"] = "[a-c]", ["table.exclude.list"] = "b" }), 10)
    expect.same({ tasks[1]._tables[1], tasks[2]._tables[1] }, { "a", "c" })
    tasks = plan(cfg(file, { mode = "bulk", ["table.whitelist"] = "e,zz" }), 10)
    expect.same({ tasks[1]._tables[1], tasks[2]._tables[1] }, { "e", "zz" })
    db:close()
  end)

  it("picks up new tables every table.poll.interval.ms, each in exactly one task, and drops gone ones", function()
    local db, file = new_db("CREATE TABLE a(id INTEGER PRIMARY KEY); INSERT INTO a VALUES (1)")
    local raw = cfg(file, { mode = "incrementing", ["table.poll.interval.ms"] = "0" })
    local t0, t1 = open(raw, store(), 2, 0), nil
    expect.eq(#plan(raw, 2), 1) -- one table: one task
    expect.eq(#poll(t0), 1)
    local names = {}
    for i = 1, 12 do
      names[i] = "new" .. i
      db:exec(("CREATE TABLE %s(id INTEGER PRIMARY KEY); INSERT INTO %s VALUES (1)"):format(names[i], names[i]))
    end
    local topics = {}
    for _, r in ipairs(poll(t0)) do topics[#topics + 1] = r.topic end
    table.sort(topics)
    expect.eq(#topics, 12)
    expect.eq(topics[1], "db-new1")
    -- with two tasks planned (two tables then), new tables split between them
    db:exec("CREATE TABLE b(id INTEGER PRIMARY KEY)")
    local tasks2 = {}
    for i = 0, 1 do
      local tasks = plan(raw, 2)
      tasks2[i] = connect._task_open(path, connect.json.decode(encode(tasks[i + 1])), i, "src", store(), {})
    end
    t0, t1 = tasks2[0], tasks2[1]
    poll(t0)
    poll(t1)
    db:exec("CREATE TABLE later1(id INTEGER PRIMARY KEY); INSERT INTO later1 VALUES (1);"
      .. "CREATE TABLE later2(id INTEGER PRIMARY KEY); INSERT INTO later2 VALUES (1);"
      .. "CREATE TABLE later3(id INTEGER PRIMARY KEY); INSERT INTO later3 VALUES (1)")
    local count = {}
    for _, t in ipairs({ t0, t1 }) do
      for _, r in ipairs(poll(t)) do count[r.topic] = (count[r.topic] or 0) + 1 end
    end
    expect.same(count, { ["db-later1"] = 1, ["db-later2"] = 1, ["db-later3"] = 1 })
    -- a dropped table is no longer polled (and is no error)
    db:exec("DROP TABLE later1; DROP TABLE later2; DROP TABLE later3")
    poll(t0)
    poll(t1)
    for _, t in ipairs({ t0, t1 }) do
      for _, q in ipairs(t.queriers) do expect.truthy(not q.table:find("^later"), q.table .. " still polled") end
    end
    db:close()
  end)
end)

describe("sqlite_source errors", function()
  it("fails with the SQL error and the statement for a missing whitelisted table", function()
    local db, file = new_db("CREATE TABLE t(id INTEGER PRIMARY KEY)")
    local task = open(cfg(file, { mode = "incrementing", ["incrementing.column.name"] = "id",
      ["table.whitelist"] = "missing" }))
    expect.error_contains(function() poll(task) end,
      "SQL error: no such table: missing (in: SELECT * FROM `missing` WHERE `missing`.`id` > ? ORDER BY `missing`.`id` ASC)")
    db:close()
  end)

  it("fails with the SQL error for a bad query", function()
    local db, file = new_db("CREATE TABLE t(id INTEGER PRIMARY KEY)")
    local task = open(cfg(file, { mode = "bulk", ["topic.prefix"] = "q", query = "SELEKT 1" }))
    expect.error_contains(function() poll(task) end, 'SQL error: near "SELEKT": syntax error (in: SELEKT 1)')
    db:close()
  end)

  it("checks the offset columns as Confluent does", function()
    local db, file = new_db("CREATE TABLE t(id INTEGER, ts TEXT, v TEXT)")
    local function fails(extra, text)
      local task = open(cfg(file, extra))
      expect.error_contains(function() poll(task) end, text)
    end
    fails({ mode = "incrementing", ["incrementing.column.name"] = "id" },
      "Cannot make incremental queries using incrementing column id on t because this column is nullable.")
    fails({ mode = "timestamp", ["timestamp.column.name"] = "ts" },
      "Cannot make incremental queries using timestamp columns ts on t because all of these columns are nullable.")
    fails({ mode = "incrementing", ["incrementing.column.name"] = "nope" },
      "Incrementing column: nope does not exist in table 't'")
    fails({ mode = "timestamp", ["timestamp.column.name"] = "ts,x,y" },
      "Timestamp columns: x, y do not exist in table 't'")
    fails({ mode = "incrementing" },
      "incrementing.column.name is empty and table 't' has no INTEGER PRIMARY KEY to use instead")
    -- validate.non.null=false lets a nullable column through; a value that is no integer fails
    db:exec("INSERT INTO t VALUES (NULL, NULL, 'x'), (1.5, NULL, 'y')")
    fails({ mode = "incrementing", ["incrementing.column.name"] = "id", ["validate.non.null"] = "false" },
      "Invalid type for incrementing column id: FLOAT64")
    db:close()
  end)

  it("rejects configs Confluent rejects, before any task starts", function()
    local function errs(raw)
      local _, _, e = connect._plan(path, "connector 'src'", raw, 1)
      return e
    end
    local base = { ["connection.url"] = "jdbc:sqlite:x.db", mode = "bulk" }
    local function with(t)
      local c = {}
      for k, v in pairs(base) do c[k] = v end
      for k, v in pairs(t) do c[k] = v end
      return c
    end
    expect.same(errs({ mode = "bulk" }), {
      "connector 'src': missing required key 'connection.url' (JDBC connection URL: jdbc:sqlite:PATH (or a plain path), jdbc:postgresql://HOST[:PORT]/DB, jdbc:mysql:// or jdbc:mariadb://HOST[:PORT]/DB)" })
    expect.same(errs(with({ mode = "full" })), {
      "connector 'src': key 'mode': must be one of bulk, incrementing, timestamp, timestamp+incrementing, got 'full'" })
    expect.error_contains(function() plan(with({ ["table.whitelist"] = "a", ["table.blacklist"] = "b" })) end,
      "table.whitelist and table.blacklist cannot both be set")
    expect.error_contains(function() plan(with({ mode = "timestamp" })) end,
      "mode 'timestamp' needs timestamp.column.name")
    expect.same(errs(with({ ["topic.prefix"] = "bad topic" })), {
      "connector 'src': key 'topic.prefix': Topic prefix must not contain any character other than ASCII alphanumerics, '.', '_' and '-'." })
    expect.same(errs(with({ ["dialect.name"] = "OracleDatabaseDialect" })), {
      "connector 'src': key 'dialect.name': must be empty, SqliteDatabaseDialect, PostgreSqlDatabaseDialect or MySqlDatabaseDialect, got 'OracleDatabaseDialect'" })
    expect.same(errs(with({ ["batch.max.row"] = "5" })), {
      "connector 'src': unknown key 'batch.max.row' (did you mean 'batch.max.rows'?)" })
    -- Confluent keys without effect on SQLite are accepted
    expect.same(errs(with({ ["connection.user"] = "u", ["connection.password"] = "p", ["numeric.mapping"] = "best_fit",
      ["dialect.name"] = "SqliteDatabaseDialect", ["connection.attempts"] = "3" })), {})
  end)

  it("fails to open a database file that does not exist", function()
    expect.error_contains(function() open(cfg(dir .. "/absent.db", { mode = "bulk" })) end,
      "cannot open " .. dir .. "/absent.db: unable to open database file")
  end)
end)

describe("sqlite_source locked database", function()
  it("returns nothing while another connection holds the lock, then everything", function()
    local db, file = new_db("CREATE TABLE t(id INTEGER PRIMARY KEY); INSERT INTO t VALUES (1)")
    local task = open(cfg(file, { mode = "incrementing" }))
    expect.eq(#poll(task), 1)
    db:exec("BEGIN EXCLUSIVE; INSERT INTO t VALUES (2)")
    local t0 = connect.now_ms()
    expect.eq(connect._source_poll(task), nil)
    expect.truthy(connect.now_ms() - t0 < 1000, "poll() waited too long")
    db:exec("INSERT INTO t VALUES (3); COMMIT")
    local deadline, got = connect.now_ms() + 2000, {}
    while #got < 2 and connect.now_ms() < deadline do
      for _, r in ipairs(poll(task)) do got[#got + 1] = r.value.id end
    end
    expect.same(got, { 2, 3 })
    db:close()
  end)
end)
