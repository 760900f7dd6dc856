-- Specs for scripts/sqlite_sink.lua (Confluent's JDBC sink for SQLite), driven the way the
-- core drives a sink task: _task_open, _sink_put, _sink_flush, _sink_open_partitions.
local connect = require "luaconnect"
local sqlite = require "_sqlite"
local path = "scripts/sqlite_sink.lua"
local def = connect._load(path)
local null = connect.null

local dir = tmpdir()
local ndb = 0

local function fresh_db()
  ndb = ndb + 1
  return dir .. "/sink" .. ndb .. ".db"
end

--- Opens a sink task on config (strings, as in a .properties file); returns task, db file.
local function open_task(raw, file, name)
  file = file or fresh_db()
  raw["connection.url"] = raw["connection.url"] or ("jdbc:sqlite:" .. file)
  local cfg, errs = connect._validate("connector 'sink'", def.config, raw, true)
  if #errs > 0 then error(table.concat(errs, "\n"), 0) end
  return connect._task_open(path, cfg, 0, name or "sink", nil, {},
    { tolerant = raw["errors.tolerance"] == "all" }), file
end

--- Rows of a query on file, each a { column = value } table.
local function query(file, sql)
  local db = sqlite.open(file)
  local st = db:prepare(sql)
  local out = {}
  while st:step() do out[#out + 1] = st:row() end
  db:close()
  return out
end

local function columns(file, tname)
  local db = sqlite.open(file)
  local info = db:table_info(tname)
  db:close()
  local out = {}
  for i, c in ipairs(info) do
    out[i] = c.name .. " " .. c.type .. (c.notnull and " NOT NULL" or "") .. (c.pk > 0 and " PK" or "")
  end
  return out
end

local function struct(fields, name)
  local out = {}
  for i, f in ipairs(fields) do
    out[i] = { field = f[1], type = f[2], optional = f[3] == true, name = f.name,
      parameters = f.parameters, default = f.default }
  end
  return { type = "struct", fields = out, optional = false, name = name }
end

local PERSON = struct { { "id", "int64" }, { "name", "string", true }, { "score", "double", true } }

local function rec(offset, value, schema, extra)
  local r = { topic = "people", partition = 0, offset = offset, timestamp = 1700000000000 + offset,
    value = value, value_schema = schema }
  for k, v in pairs(extra or {}) do r[k] = v end
  return r
end

local function people(n, from)
  local out = {}
  for i = 1, n do
    local id = (from or 0) + i
    out[i] = rec(id - 1, { id = id, name = "p" .. id, score = id / 4 }, PERSON)
  end
  return out
end

describe("sqlite_sink", function()
  describe("configuration", function()
    it("answers to Confluent's class names and splits into tasks.max copies", function()
      expect.same(def.aliases, { "JdbcSinkConnector", "io.confluent.connect.jdbc.JdbcSinkConnector" })
      local kind, tasks, errs = connect._plan(path, "connector 'c'",
        { ["connection.url"] = "x.db", topics = "t", ["insert.mode"] = "UPSERT" }, 2)
      expect.eq(kind, "sink")
      expect.same(errs, {})
      expect.eq(#tasks, 2)
    end)

    it("accepts Confluent's other keys and rejects unknown ones", function()
      local _, _, errs = connect._plan(path, "connector 'c'", {
        ["connection.url"] = "x.db", ["dialect.name"] = "SqliteDatabaseDialect",
        ["db.timezone"] = "UTC", ["max.retries"] = "3", ["retry.backoff.ms"] = "10",
        ["batch.size"] = "100", ["connection.user"] = "u", ["connection.password"] = "p",
        ["quote.sql.identifiers"] = "always", ["table.types"] = "TABLE",
      }, 1)
      expect.same(errs, {})
      _, _, errs = connect._plan(path, "connector 'c'",
        { ["connection.url"] = "x.db", ["auto.crate"] = "true", ["pk.mode"] = "record_val",
          ["dialect.name"] = "OracleDatabaseDialect" }, 1)
      expect.eq(errs[1], "connector 'c': key 'dialect.name': must be empty, SqliteDatabaseDialect, "
        .. "PostgreSqlDatabaseDialect or MySqlDatabaseDialect, got 'OracleDatabaseDialect'")
      expect.eq(errs[2], "connector 'c': key 'pk.mode': Invalid enumerator 'record_val' (one of "
        .. "none, kafka, record_key, record_value)")
      expect.eq(errs[3], "connector 'c': unknown key 'auto.crate' (did you mean 'auto.create'?)")
    end)

    it("requires pk.mode=record_key for delete.enabled, as Confluent", function()
      local _, tasks, errs = connect._plan(path, "connector 'c'",
        { ["connection.url"] = "x.db", ["delete.enabled"] = "true", ["pk.mode"] = "record_value" }, 1)
      expect.eq(tasks, nil)
      expect.same(errs, { "connector 'c': Primary key mode must be 'record_key' when delete support is enabled" })
    end)
  end)

  describe("insert", function()
    it("creates the table from the schema with Confluent's SQLite types and inserts rows", function()
      local schema = struct {
        { "i8", "int8" }, { "i16", "int16" }, { "i32", "int32" }, { "i64", "int64" },
        { "f32", "float" }, { "f64", "double" }, { "b", "boolean" }, { "s", "string" },
        { "bin", "bytes", true }, { "opt", "string", true }, { "dflt", "int32", default = 7 },
        { "dec", "bytes", true, name = "org.apache.kafka.connect.data.Decimal", parameters = { scale = "2" } },
        { "day", "int32", true, name = "org.apache.kafka.connect.data.Date" },
        { "ts", "int64", true, name = "org.apache.kafka.connect.data.Timestamp" },
      }
      local task, file = open_task { ["auto.create"] = "true" }
      connect._sink_put(task, { rec(0, {
        i8 = -8, i16 = 16, i32 = 32, i64 = 9007199254740993LL, f32 = connect.float(1), f64 = 0.1,
        b = true, s = "héllo ✓", bin = "\0\1\255", opt = null, dflt = 7,
        dec = "\1\226\64", day = 19000, ts = 1700000000123,
      }, schema) })
      connect._sink_flush(task, { { topic = "people", partition = 0, offset = 1 } })
      connect._task_close(task)
      expect.same(columns(file, "people"), {
        "i8 INTEGER NOT NULL", "i16 INTEGER NOT NULL", "i32 INTEGER NOT NULL", "i64 INTEGER NOT NULL",
        "f32 REAL NOT NULL", "f64 REAL NOT NULL", "b INTEGER NOT NULL", "s TEXT NOT NULL",
        "bin BLOB", "opt TEXT", "dflt INTEGER", "dec NUMERIC", "day NUMERIC", "ts NUMERIC",
      })
      local r = query(file, "SELECT *, typeof(f32) AS tf, typeof(bin) AS tb, typeof(opt) AS topt, "
        .. "typeof(dec) AS tdec, CAST(i64 AS TEXT) AS i64s FROM people")[1]
      expect.eq(r.i8, -8)
      expect.eq(tostring(r.i64), "9007199254740993LL")
      expect.eq(r.i64s, "9007199254740993")
      expect.eq(r.tf, "real")
      expect.truthy(connect.is_float(r.f32) and r.f32 == 1, "1.0 stays REAL")
      expect.eq(r.f64, 0.1)
      expect.eq(r.b, 1)
      expect.eq(r.s, "héllo ✓")
      expect.eq(r.tb, "blob")
      expect.eq(r.bin, "\0\1\255")
      expect.eq(r.topt, "null")
      expect.eq(r.tdec, "real")
      expect.eq(r.dec, 1234.56) -- 0x01E240 = 123456, scale 2
      expect.eq(r.day, 19000 * 86400000)
      expect.eq(r.ts, 1700000000123)
    end)

    it("writes the CREATE TABLE Confluent's dialect writes (defaults, NULL/NOT NULL, key last)", function()
      local schema = struct { { "id", "int32" }, { "name", "string", default = "it's" } }
      local task, file = open_task { ["auto.create"] = "true", ["pk.mode"] = "record_value",
        ["pk.fields"] = "id" }
      connect._sink_put(task, { rec(0, { id = 1, name = "a" }, schema) })
      connect._task_close(task)
      local sql = query(file, "SELECT sql FROM sqlite_master WHERE name = 'people'")[1].sql
      expect.eq(sql, "CREATE TABLE `people` (\n`id` INTEGER NOT NULL,\n`name` TEXT DEFAULT "
        .. "'it''s',\nPRIMARY KEY(`id`))")
    end)

    it("creates the table from schemaless JSON objects, inferring column types", function()
      local task, file = open_task { ["auto.create"] = "true" }
      connect._sink_put(task, {
        rec(0, { n = 5, x = 2.5, f = connect.float(3), big = 9007199254740993LL, s = "ü",
          ok = false, obj = { a = connect.array { 1, 2 } }, gone = null }),
        rec(1, { n = 6, s = "v" }),
      })
      connect._task_close(task)
      expect.same(columns(file, "people"), { "big INTEGER", "f REAL", "n INTEGER", "obj TEXT",
        "ok INTEGER", "s TEXT", "x REAL" })
      local rows = query(file, "SELECT n, x, f, typeof(f) AS tf, CAST(big AS TEXT) AS big, s, ok, obj "
        .. "FROM people ORDER BY n")
      expect.eq(#rows, 2)
      expect.eq(rows[1].x, 2.5)
      expect.eq(rows[1].tf, "real")
      expect.eq(rows[1].big, "9007199254740993")
      expect.eq(rows[1].s, "ü")
      expect.eq(rows[1].ok, 0)
      expect.eq(rows[1].obj, '{"a":[1,2]}')
      expect.eq(rows[2].x, null)
      expect.eq(rows[2].s, "v")
    end)

    it("refuses a missing table when auto.create is off, naming the record", function()
      local task = open_task {}
      expect.error_contains(function() connect._sink_put(task, people(1)) end,
        'record 1 of 1 (topic people, partition 0, offset 0): Table "people" is missing and '
        .. "auto-creation is disabled")
      connect._task_close(task)
    end)

    it("writes NULL for connect.null and for missing optional fields", function()
      local task, file = open_task { ["auto.create"] = "true" }
      connect._sink_put(task, {
        rec(0, { id = 1, name = null, score = null }, PERSON),
        rec(1, { id = 2 }, PERSON),
      })
      connect._task_close(task)
      expect.same(query(file, "SELECT typeof(name) AS a, typeof(score) AS b FROM people"),
        { { a = "null", b = "null" }, { a = "null", b = "null" } })
    end)

    it("maps table.name.format and keeps UTF-8 names", function()
      local task, file = open_task { ["auto.create"] = "true", ["table.name.format"] = "kafka_${topic}_v${topic}" }
      local r = rec(0, { ["größe"] = 42 })
      r.topic = "bestellungen-ä"
      connect._sink_put(task, { r })
      connect._task_close(task)
      expect.same(query(file, 'SELECT "größe" AS g FROM "kafka_bestellungen-ä_vbestellungen-ä"'),
        { { g = 42 } })
    end)

    it("writes only fields.whitelist besides the key fields", function()
      local task, file = open_task { ["auto.create"] = "true", ["pk.mode"] = "record_value",
        ["pk.fields"] = "id", ["fields.whitelist"] = "score" }
      connect._sink_put(task, people(2))
      connect._task_close(task)
      expect.same(columns(file, "people"), { "id INTEGER NOT NULL PK", "score REAL" })
      expect.same(query(file, "SELECT id, score FROM people ORDER BY id"),
        { { id = 1, score = 0.25 }, { id = 2, score = 0.5 } })
    end)

    it("writes a String value into string.output.value.column.name", function()
      local task, file = open_task { ["auto.create"] = "true", ["pk.mode"] = "kafka",
        ["string.output.value.column.name"] = "line" }
      connect._sink_put(task, { rec(3, "plain text", { type = "string", optional = false }) })
      connect._task_close(task)
      expect.same(query(file, "SELECT * FROM people"), { {
        __connect_topic = "people", __connect_partition = 0, __connect_offset = 3, line = "plain text" } })
    end)
  end)

  describe("upsert and update", function()
    it("upserts with INSERT OR REPLACE by the record_value key", function()
      local task, file = open_task { ["auto.create"] = "true", ["insert.mode"] = "upsert",
        ["pk.mode"] = "record_value", ["pk.fields"] = "id" }
      connect._sink_put(task, people(3))
      connect._sink_put(task, { rec(3, { id = 2, name = "second", score = 9 }, PERSON) })
      connect._task_close(task)
      expect.same(query(file, "SELECT id, name, score FROM people ORDER BY id"), {
        { id = 1, name = "p1", score = 0.25 }, { id = 2, name = "second", score = 9 },
        { id = 3, name = "p3", score = 0.75 } })
    end)

    it("uses every value field as the key when pk.fields is empty", function()
      local task, file = open_task { ["auto.create"] = "true", ["insert.mode"] = "upsert",
        ["pk.mode"] = "record_value" }
      connect._sink_put(task, { rec(0, { id = 1, name = "a", score = 1 }, PERSON),
        rec(1, { id = 1, name = "a", score = 1 }, PERSON) })
      connect._task_close(task)
      expect.same(columns(file, "people"), { "id INTEGER NOT NULL PK", "name TEXT PK", "score REAL PK" })
      expect.eq(#query(file, "SELECT * FROM people"), 1)
    end)

    it("updates rows by key and leaves missing rows alone", function()
      local task, file = open_task { ["auto.create"] = "true", ["pk.mode"] = "record_value",
        ["pk.fields"] = "id" }
      connect._sink_put(task, people(2))
      connect._task_close(task)
      task = open_task({ ["insert.mode"] = "update", ["pk.mode"] = "record_value",
        ["pk.fields"] = "id" }, file)
      connect._sink_put(task, { rec(2, { id = 2, name = "two", score = 2 }, PERSON),
        rec(3, { id = 7, name = "seven", score = 7 }, PERSON) })
      connect._task_close(task)
      expect.same(query(file, "SELECT id, name, score FROM people ORDER BY id"),
        { { id = 1, name = "p1", score = 0.25 }, { id = 2, name = "two", score = 2 } })
    end)

    it("refuses upsert without key fields with Confluent's message", function()
      local task = open_task { ["auto.create"] = "true", ["insert.mode"] = "upsert" }
      expect.error_contains(function() connect._sink_put(task, people(1)) end,
        "Write to table '\"people\"' in UPSERT mode requires key field names to be known, check "
        .. "the primary key configuration")
      connect._task_close(task)
    end)
  end)

  describe("pk.mode", function()
    it("none: no primary key, every record a row", function()
      local task, file = open_task { ["auto.create"] = "true" }
      connect._sink_put(task, { rec(0, { id = 1 }, PERSON), rec(1, { id = 1 }, PERSON) })
      connect._task_close(task)
      expect.same(columns(file, "people"), { "id INTEGER NOT NULL", "name TEXT", "score REAL" })
      expect.eq(#query(file, "SELECT * FROM people"), 2)
    end)

    it("kafka: __connect_topic, __connect_partition, __connect_offset first, as the key", function()
      local task, file = open_task { ["auto.create"] = "true", ["insert.mode"] = "upsert",
        ["pk.mode"] = "kafka" }
      connect._sink_put(task, people(2))
      connect._sink_put(task, people(1)) -- redelivered: replaces, does not double
      connect._task_close(task)
      expect.same(columns(file, "people"), { "__connect_topic TEXT NOT NULL PK",
        "__connect_partition INTEGER NOT NULL PK", "__connect_offset INTEGER NOT NULL PK",
        "id INTEGER NOT NULL", "name TEXT", "score REAL" })
      expect.same(query(file, "SELECT __connect_topic AS t, __connect_partition AS p, "
        .. "__connect_offset AS o, id FROM people ORDER BY o"),
        { { t = "people", p = 0, o = 0, id = 1 }, { t = "people", p = 0, o = 1, id = 2 } })
    end)

    it("kafka: takes three pk.fields names, and refuses another count", function()
      local task, file = open_task { ["auto.create"] = "true", ["pk.mode"] = "kafka",
        ["pk.fields"] = "t,p,o" }
      connect._sink_put(task, people(1))
      connect._task_close(task)
      expect.same(query(file, "SELECT t, p, o FROM people"), { { t = "people", p = 0, o = 0 } })
      task = open_task { ["auto.create"] = "true", ["pk.mode"] = "kafka", ["pk.fields"] = "t,p" }
      expect.error_contains(function() connect._sink_put(task, people(1)) end,
        "PK mode for table 'people' is KAFKA so there should either be no field names defined for "
        .. "defaults [__connect_topic, __connect_partition, __connect_offset] to be applicable, or "
        .. "exactly 3, defined fields are: [t, p]")
      connect._task_close(task)
    end)

    it("record_key: a struct key's fields, ahead of the value's", function()
      local key_schema = struct { { "region", "string" }, { "id", "int32" } }
      local task, file = open_task { ["auto.create"] = "true", ["insert.mode"] = "upsert",
        ["pk.mode"] = "record_key" }
      local value_schema = struct { { "name", "string" } }
      connect._sink_put(task, {
        rec(0, { name = "a" }, value_schema, { key = { region = "eu", id = 1 }, key_schema = key_schema }),
        rec(1, { name = "b" }, value_schema, { key = { region = "us", id = 1 }, key_schema = key_schema }),
        rec(2, { name = "c" }, value_schema, { key = { region = "eu", id = 1 }, key_schema = key_schema }),
      })
      connect._task_close(task)
      expect.same(columns(file, "people"), { "name TEXT NOT NULL", "id INTEGER NOT NULL PK",
        "region TEXT NOT NULL PK" })
      expect.same(query(file, "SELECT region, id, name FROM people ORDER BY region"),
        { { region = "eu", id = 1, name = "c" }, { region = "us", id = 1, name = "b" } })
    end)

    it("record_key: a primitive key needs exactly one pk.fields name", function()
      local task, file = open_task { ["auto.create"] = "true", ["insert.mode"] = "upsert",
        ["pk.mode"] = "record_key", ["pk.fields"] = "k" }
      connect._sink_put(task, {
        rec(0, { v = 1 }, nil, { key = "a", key_schema = { type = "string", optional = false } }),
        rec(1, { v = 2 }, nil, { key = "a", key_schema = { type = "string", optional = false } }),
        rec(2, { v = 3 }, nil, { key = 9007199254740993LL }), -- schemaless key
      })
      connect._task_close(task)
      expect.same(columns(file, "people"), { "v INTEGER", "k TEXT NOT NULL PK" }) -- value fields first
      expect.same(query(file, "SELECT k, v FROM people ORDER BY v"),
        { { k = "a", v = 2 }, { k = "9007199254740993", v = 3 } })
      task = open_task { ["auto.create"] = "true", ["pk.mode"] = "record_key" }
      expect.error_contains(function()
        connect._sink_put(task, { rec(0, { v = 1 }, nil, { key = "a" }) })
      end, "Need exactly one PK column defined since the key schema for records is a primitive "
        .. "type, defined columns are: []")
      expect.error_contains(function() connect._sink_put(task, { rec(0, { v = 1 }) }) end,
        "PK mode for table 'people' is RECORD_KEY, but record key schema is missing")
      connect._task_close(task)
    end)

    it("record_value: names a configured field the value lacks", function()
      local task = open_task { ["auto.create"] = "true", ["pk.mode"] = "record_value",
        ["pk.fields"] = "id,nope" }
      expect.error_contains(function() connect._sink_put(task, people(1)) end,
        "PK mode for table 'people' is RECORD_VALUE with configured PK fields [id, nope], but "
        .. "record value schema does not contain field: nope")
      connect._task_close(task)
    end)
  end)

  describe("delete.enabled", function()
    local key_schema = struct { { "id", "int64" } }
    local function keyed(offset, id, value)
      return rec(offset, value, value and PERSON or nil, { key = { id = id }, key_schema = key_schema })
    end

    it("deletes the row of a tombstone's key, in order with the writes around it", function()
      local task, file = open_task { ["auto.create"] = "true", ["insert.mode"] = "upsert",
        ["pk.mode"] = "record_key", ["delete.enabled"] = "true" }
      connect._sink_put(task, {
        keyed(0, 1, { id = 1, name = "a" }), keyed(1, 2, { id = 2, name = "b" }),
        keyed(2, 1, nil), keyed(3, 2, nil), keyed(4, 2, { id = 2, name = "again" }),
      })
      connect._task_close(task)
      expect.same(query(file, "SELECT id, name FROM people"), { { id = 2, name = "again" } })
    end)

    it("ignores a tombstone for a table that does not exist yet", function()
      local task, file = open_task { ["auto.create"] = "true", ["pk.mode"] = "record_key",
        ["delete.enabled"] = "true" }
      connect._sink_put(task, { keyed(0, 1, nil) })
      connect._task_close(task)
      expect.same(query(file, "SELECT name FROM sqlite_master WHERE name = 'people'"), {})
    end)

    it("fails on a tombstone when deletes are off, naming the record", function()
      local task = open_task { ["auto.create"] = "true" }
      expect.error_contains(function() connect._sink_put(task, { keyed(5, 1, nil) }) end,
        "record 1 of 1 (topic people, partition 0, offset 5): Sink connector 'sink' is configured "
        .. "with 'delete.enabled=false' and 'pk.mode=none' and therefore requires records with a "
        .. "non-null Struct or String value and non-null Struct or String schema, but found record "
        .. "at (topic='people',partition=0,offset=5,timestamp=1700000000005) with a null value and "
        .. "null value schema.")
      connect._task_close(task)
    end)
  end)

  describe("auto.evolve", function()
    it("adds optional fields with ALTER TABLE ADD and fills them from then on", function()
      local task, file = open_task { ["auto.create"] = "true", ["auto.evolve"] = "true" }
      connect._sink_put(task, people(1))
      local wider = struct { { "id", "int64" }, { "name", "string", true }, { "score", "double", true },
        { "email", "string", true }, { "level", "int32", default = 3 } }
      connect._sink_put(task, { rec(1, { id = 2, email = "x@y", level = 5 }, wider) })
      connect._sink_put(task, { rec(2, { id = 3, extra = true }) }) -- schemaless adds too
      connect._task_close(task)
      expect.same(columns(file, "people"), { "id INTEGER NOT NULL", "name TEXT", "score REAL",
        "email TEXT", "level INTEGER", "extra INTEGER" })
      expect.same(query(file, "SELECT id, email, level, extra FROM people ORDER BY id"), {
        { id = 1, email = null, level = 3, extra = null }, { id = 2, email = "x@y", level = 5, extra = null },
        { id = 3, email = null, level = 3, extra = 1 } })
    end)

    it("refuses new fields when auto.evolve is off, and required ones without a default", function()
      local task, file = open_task { ["auto.create"] = "true" }
      connect._sink_put(task, people(1))
      local wider = struct { { "id", "int64" }, { "email", "string", true } }
      expect.error_contains(function() connect._sink_put(task, { rec(1, { id = 2, email = "e" }, wider) }) end,
        "record 1 of 1 (topic people, partition 0, offset 1): Table \"people\" is missing fields "
        .. "([SinkRecordField{schema=Schema{STRING}, name='email', isPrimaryKey=false}]) and "
        .. "auto-evolution is disabled")
      connect._task_close(task)
      task = open_task({ ["auto.evolve"] = "true" }, file)
      local required = struct { { "id", "int64" }, { "age", "int32" } }
      expect.error_contains(function() connect._sink_put(task, { rec(1, { id = 2, age = 3 }, required) }) end,
        "Cannot ALTER TABLE \"people\" to add missing field SinkRecordField{schema=Schema{INT32}, "
        .. "name='age', isPrimaryKey=false}, as the field is not optional and does not have a "
        .. "default value")
      connect._task_close(task)
      expect.same(columns(file, "people"), { "id INTEGER NOT NULL", "name TEXT", "score REAL" })
    end)
  end)

  describe("bad records", function()
    -- Five records, the third violates NOT NULL on a table made by hand.
    local function batch()
      return {
        rec(10, { id = 1, name = "a" }), rec(11, { id = 2, name = "b" }), rec(12, { id = 3 }),
        rec(13, { id = 4, name = "d" }), rec(14, { id = 5, name = "e" }),
      }
    end
    local function made_table()
      local file = fresh_db()
      local db = sqlite.open(file)
      db:exec("CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
      db:close()
      return file
    end

    it("fail the task naming the record, the SQL error and the statement, keeping the records before", function()
      local file = made_table()
      local task = open_task({ ["exactly.once"] = "true" }, file)
      expect.error_contains(function() connect._sink_put(task, batch()) end,
        "record 3 of 5 (topic people, partition 0, offset 12): SQL error: NOT NULL constraint "
        .. "failed: people.name (in: INSERT INTO `people`(`id`) VALUES(?))")
      connect._task_close(task)
      expect.same(query(file, "SELECT id FROM people ORDER BY id"), { { id = 1 }, { id = 2 } })
      expect.same(query(file, "SELECT topic, partition, next_offset FROM __luaconnect_offsets"),
        { { topic = "people", partition = 0, next_offset = 12 } })
    end)

    it("with errors.tolerance=all go to the error path (task.report), the others written in one go", function()
      local file = made_table()
      local task = open_task({ ["errors.tolerance"] = "all", ["exactly.once"] = "true",
        ["errors.deadletterqueue.topic.name"] = "dlq" }, file)
      local failures = connect._sink_put(task, batch())
      expect.eq(#failures, 1)
      expect.eq(failures[1].index, 3)
      expect.eq(failures[1].stage, "TASK_PUT")
      expect.eq(failures[1].class, "JdbcSinkConnector")
      expect.truthy(failures[1].message:find("record 3 of 5 (topic people, partition 0, offset 12): SQL error: NOT NULL constraint failed", 1, true), failures[1].message)
      connect._task_close(task)
      expect.same(query(file, "SELECT id FROM people ORDER BY id"),
        { { id = 1 }, { id = 2 }, { id = 4 }, { id = 5 } })
      expect.same(query(file, "SELECT next_offset FROM __luaconnect_offsets"), { { next_offset = 15 } })
    end)

    it("leave nothing half-written: DDL for the bad record is rolled back with it", function()
      local file = made_table()
      local task = open_task({ ["auto.create"] = "true", ["auto.evolve"] = "true" }, file)
      local wider = struct { { "id", "int64" }, { "email", "string", true } }
      local required = struct { { "id", "int64" } }
      local other = rec(2, { id = null }, required)
      other.topic = "other"
      expect.error_contains(function()
        connect._sink_put(task, { rec(0, { id = 1, name = "a" }), rec(1, { id = 2, email = "e" }, wider) })
      end, "record 2 of 2 (topic people, partition 0, offset 1): SQL error: NOT NULL constraint "
        .. "failed: people.name (in: INSERT INTO `people`(`id`,`email`) VALUES(?,?))")
      expect.error_contains(function() connect._sink_put(task, { other }) end,
        "record 1 of 1 (topic other, partition 0, offset 2): SQL error: NOT NULL constraint "
        .. "failed: other.id (in: INSERT INTO `other`(`id`) VALUES(?))")
      connect._task_close(task)
      expect.same(columns(file, "people"), { "id INTEGER PK", "name TEXT NOT NULL" }) -- no email
      expect.same(query(file, "SELECT id, name FROM people"), { { id = 1, name = "a" } })
      expect.same(query(file, "SELECT name FROM sqlite_master WHERE name = 'other'"), {})
    end)

    it("refuse a value that does not fit the column's type", function()
      local task, file = open_task { ["auto.create"] = "true" }
      connect._sink_put(task, { rec(0, { n = 1, s = "a" }) })
      expect.error_contains(function()
        connect._sink_put(task, { rec(1, { n = "12", s = 5 }), rec(2, { n = "twelve", s = "b" }) })
      end, "record 2 of 2 (topic people, partition 0, offset 2): field 'n': value \"twelve\" "
        .. "(string) does not fit column `n` INTEGER of table \"people\"")
      expect.error_contains(function() connect._sink_put(task, { rec(3, { n = connect.array { 1 }, s = "b" }) }) end,
        "field 'n': value an array does not fit column `n` INTEGER")
      connect._task_close(task)
      expect.same(query(file, "SELECT n, typeof(n) AS t, s FROM people ORDER BY n"),
        { { n = 1, t = "integer", s = "a" }, { n = 12, t = "integer", s = "5" } })
    end)

    it("refuse values that are not objects or strings", function()
      local task = open_task { ["auto.create"] = "true" }
      expect.error_contains(function() connect._sink_put(task, { rec(0, 42) }) end,
        "Value must be a Struct, a String or a schemaless JSON object, got 42 (number)")
      expect.error_contains(function() connect._sink_put(task, { rec(0, { 1 }, { type = "array" }) }) end,
        "Value schema must be of type Struct or String")
      connect._task_close(task)
    end)
  end)

  describe("exactly.once", function()
    it("stores next offsets with the rows and returns them from open_partitions", function()
      local task, file = open_task { ["auto.create"] = "true", ["exactly.once"] = "true" }
      expect.same(connect._sink_open_partitions(task, { { topic = "people", partition = 0 } }), {})
      local batch = people(3)
      local other = rec(41, { id = 100 }, PERSON)
      other.partition = 1
      batch[#batch + 1] = other
      connect._sink_put(task, batch)
      connect._sink_flush(task, {})
      connect._task_close(task)
      expect.same(query(file, "SELECT connector, topic, partition, next_offset FROM __luaconnect_offsets "
        .. "ORDER BY partition"), {
        { connector = "sink", topic = "people", partition = 0, next_offset = 3 },
        { connector = "sink", topic = "people", partition = 1, next_offset = 42 } })
      task = open_task({ ["exactly.once"] = "true" }, file)
      expect.same(connect._sink_open_partitions(task, {
        { topic = "people", partition = 0 }, { topic = "people", partition = 1 },
        { topic = "people", partition = 2 } }), {
        { topic = "people", partition = 0, offset = 3 }, { topic = "people", partition = 1, offset = 42 } })
      connect._task_close(task)
      -- another connector on the same database keeps its own offsets
      task = open_task({ ["exactly.once"] = "true" }, file, "other")
      expect.same(connect._sink_open_partitions(task, { { topic = "people", partition = 0 } }), {})
      connect._task_close(task)
    end)

    it("writes each record once when records are delivered again after a crash", function()
      local task, file = open_task { ["auto.create"] = "true", ["exactly.once"] = "true" }
      connect._sink_put(task, people(500))
      connect._sink_put(task, people(200, 500))
      -- a restart without the consumer seeking: everything from offset 0 comes again
      connect._task_close(task)
      task = open_task({ ["exactly.once"] = "true" }, file)
      connect._sink_put(task, people(500))
      connect._sink_put(task, people(500, 500))
      connect._task_close(task)
      local r = query(file, "SELECT count(*) AS n, count(DISTINCT id) AS d, min(id) AS lo, max(id) AS hi "
        .. "FROM people")[1]
      expect.same(r, { n = 1000, d = 1000, lo = 1, hi = 1000 })
      expect.same(query(file, "SELECT next_offset FROM __luaconnect_offsets"), { { next_offset = 1000 } })
    end)

    it("keeps no offsets table without exactly.once", function()
      local task, file = open_task { ["auto.create"] = "true" }
      connect._sink_put(task, people(2))
      expect.eq(connect._sink_open_partitions(task, { { topic = "people", partition = 0 } }), nil)
      connect._task_close(task)
      expect.same(query(file, "SELECT name FROM sqlite_master WHERE name = '__luaconnect_offsets'"), {})
    end)
  end)

  describe("the database", function()
    it("is switched to WAL unless the URL sets journal_mode, whose PRAGMAs apply", function()
      local task, file = open_task { ["auto.create"] = "true" }
      connect._sink_put(task, people(1))
      connect._task_close(task)
      expect.same(query(file, "PRAGMA journal_mode"), { { journal_mode = "wal" } })
      local file2 = fresh_db()
      task = open_task({ ["auto.create"] = "true",
        ["connection.url"] = "jdbc:sqlite:" .. file2 .. "?journal_mode=DELETE&user_version=7" }, file2)
      connect._sink_put(task, people(1))
      connect._task_close(task)
      expect.same(query(file2, "PRAGMA journal_mode"), { { journal_mode = "delete" } })
      expect.same(query(file2, "PRAGMA user_version"), { { user_version = 7 } })
    end)

    it("retries a locked database max.retries times, then fails with nothing written", function()
      local file = fresh_db()
      local task = open_task({ ["auto.create"] = "true", ["max.retries"] = "2", ["retry.backoff.ms"] = "1",
        ["connection.url"] = "jdbc:sqlite:" .. file .. "?busy_timeout=20" }, file)
      connect._sink_put(task, people(1))
      local other = sqlite.open(file)
      other:begin("immediate")
      local t0 = connect.now_ms()
      expect.error_contains(function() connect._sink_put(task, people(1, 1)) end,
        "writing 1 records failed after 2 retries: SQL error: database is locked")
      expect.truthy(connect.now_ms() - t0 >= 60, "three attempts of 20 ms each")
      other:rollback()
      connect._sink_put(task, people(1, 1))
      other:close()
      connect._task_close(task)
      expect.same(query(file, "SELECT id FROM people ORDER BY id"), { { id = 1 }, { id = 2 } })
    end)

    it("names the file it cannot open", function()
      expect.error_contains(function()
        open_task { ["connection.url"] = "jdbc:sqlite:" .. dir .. "/no/such/dir/x.db",
          ["connection.attempts"] = "1" }
      end, "cannot open " .. dir .. "/no/such/dir/x.db")
    end)
  end)
end)
