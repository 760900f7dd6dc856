-- Specs for scripts/_jdbc.lua (the JDBC core) and scripts/_pg.lua (its PostgreSQL dialect):
-- URL parsing, quoting, type mapping, time and decimal conversions, the generated SQL.
local jdbc = require "_jdbc"
local pg = require "_pg"

describe("_pg URLs", function()
  it("reads host, port, database and parameters", function()
    expect.same(pg.parse_url("jdbc:postgresql://db.example:6432/shop?sslmode=require&user=u"),
      { host = "db.example", port = 6432, db = "shop", params = { sslmode = "require", user = "u" } })
  end)
  it("defaults to localhost:5432 and takes IPv6 in brackets", function()
    expect.same(pg.parse_url("jdbc:postgresql:///x"), { host = "localhost", port = 5432, db = "x", params = {} })
    expect.eq(pg.parse_url("jdbc:postgresql://[::1]:5433/x").host, "::1")
    expect.eq(pg.parse_url("jdbc:postgresql://[::1]:5433/x").port, 5433)
  end)
  it("rejects other URLs, and the core routes only server URLs away from SQLite", function()
    local u, why = pg.parse_url("jdbc:mysql://h/x")
    expect.eq(u, nil)
    expect.truthy(why:find("not a jdbc:postgresql:// URL", 1, true))
    expect.eq(jdbc.dialect_of("jdbc:sqlite:/tmp/x.db"), nil)
    expect.eq(jdbc.dialect_of("jdbc:postgresql://h/x"), pg)
  end)
end)

describe("_pg quoting and SQL", function()
  it("quotes identifiers with double quotes, doubling embedded ones", function()
    expect.eq(pg.quote('we"ird name'), '"we""ird name"')
    expect.eq(pg.literal("it's"), "'it''s'")
  end)
  it("writes ON CONFLICT upserts, DO NOTHING when every column is a key", function()
    expect.eq(pg.upsert_sql(pg.quote, '"t"', { "id", "name" }, { "id" }),
      'INSERT INTO "t" ("id","name") VALUES ($1,$2) ON CONFLICT ("id") DO UPDATE SET "name"=EXCLUDED."name"')
    expect.eq(pg.upsert_sql(pg.quote, '"t"', { "id" }, { "id" }),
      'INSERT INTO "t" ("id") VALUES ($1) ON CONFLICT ("id") DO NOTHING')
  end)
  it("builds WHERE clauses on the bare columns (an index can serve them)", function()
    local q = { from = '"public"."t"', mode = "timestamp+incrementing", uses_ts = true, uses_inc = true,
      ts_cols = { "m" }, inc_col = "id" }
    expect.eq(jdbc.build_sql(q, pg.quote), 'SELECT * FROM "public"."t" WHERE "public"."t"."m" < $1 AND '
      .. '(("public"."t"."m" = $2 AND "public"."t"."id" > $3) OR "public"."t"."m" > $4) '
      .. 'ORDER BY "public"."t"."m","public"."t"."id" ASC')
  end)
end)

describe("_pg type mapping", function()
  it("maps OIDs to Connect types, numeric with its precision and scale", function()
    expect.eq(pg.column_kind(20), "int64")
    expect.eq(pg.column_kind(1184), "timestamp")
    local k, p, s = pg.column_kind(1700, (10 * 65536 + 2) + 4)
    expect.same({ k, p, s }, { "numeric", 10, 2 })
  end)
  it("follows numeric.mapping as Confluent does", function()
    local col = { name = "n", oid = 1700, typmod = (5 * 65536 + 0) + 4 }
    expect.eq(jdbc.column_schema(pg, col, "best_fit", true).type, "int32")
    expect.eq(jdbc.column_schema(pg, col, "none", true).name, "org.apache.kafka.connect.data.Decimal")
    col.typmod = (12 * 65536 + 3) + 4
    expect.eq(jdbc.column_schema(pg, col, "best_fit", true).type, "double")
    expect.eq(jdbc.column_schema(pg, col, "precision_only", true).type, "bytes")
  end)
  it("decodes and encodes bytea", function()
    expect.eq(pg.bytes_of("\\x00ff41"), "\0\255A")
    expect.eq(pg.bytes_param("\0\255A"), "\\x00ff41")
  end)
end)

describe("_jdbc time and decimals", function()
  it("parses ISO timestamps with fractions and zones to epoch microseconds", function()
    expect.eq(jdbc.parse_ts_us("1970-01-01 00:00:01.5"), 1500000)
    expect.eq(jdbc.parse_ts_us("2024-01-02 03:04:05+02"), 1704157445e6)
    expect.eq(jdbc.parse_ts_us("1969-12-31 23:59:59"), -1e6)
    expect.eq(jdbc.format_ts_us(1704164645678000), "2024-01-02 03:04:05.678000")
    expect.eq(jdbc.format_ts_us(-1), "1969-12-31 23:59:59.999999")
  end)
  it("writes and reads Confluent's timestamp offsets", function()
    expect.same(jdbc.ts_offset(1704067201000001), { timestamp = 1704067201000, timestamp_nanos = 1000 })
    expect.eq(jdbc.stored_us({ timestamp = 1704067201000, timestamp_nanos = 1000 }), 1704067201000001)
    expect.eq(jdbc.stored_us({ timestamp = 1704067201123 }), 1704067201123000)
  end)
  it("round-trips Decimal bytes", function()
    expect.eq(jdbc.decimal_bytes("12.34", 2), "\4\210")
    expect.eq(jdbc.decimal_bytes("-1", 0), "\255")
    expect.eq(jdbc.decimal_bytes("128", 0), "\0\128")
    for _, v in ipairs({ "0.00", "12.34", "-12.34", "99999999999999999999.99", "-0.01" }) do
      expect.eq(jdbc.decimal_text(jdbc.decimal_bytes(v, 2), 2), v)
    end
  end)
end)

describe("_mysql dialect", function()
  local my = require "_mysql"
  it("reads jdbc:mysql:// and jdbc:mariadb:// URLs", function()
    expect.same(my.parse_url("jdbc:mysql://h:3307/shop?useSSL=false"),
      { host = "h", port = 3307, db = "shop", params = { useSSL = "false" } })
    expect.eq(my.parse_url("jdbc:mariadb://h/shop").port, 3306)
    expect.eq(jdbc.dialect_of("jdbc:mariadb://h/shop"), my)
    expect.eq(jdbc.dialect_of("jdbc:mysql://h/shop"), my)
  end)
  it("quotes with backticks and upserts with ON DUPLICATE KEY UPDATE", function()
    expect.eq(my.quote("a`b"), "`a``b`")
    expect.eq(my.upsert_sql(my.quote, "`t`", { "id", "name" }, { "id" }),
      "INSERT INTO `t`(`id`,`name`) VALUES($1,$2) ON DUPLICATE KEY UPDATE `name`=VALUES(`name`)")
  end)
  it("maps column types as Confluent's MySQL dialect (unsigned widens, BIT(1) is boolean)", function()
    expect.eq(my.column_kind(1, { flags = 0 }), "int8")
    expect.eq(my.column_kind(3, { flags = 32 }), "int64")
    expect.eq(my.column_kind(16, { length = 1, binary = true }), "boolean")
    expect.eq(my.column_kind(253, { binary = true }), "bytes")
    expect.eq(my.column_kind(253, { binary = false }), "string")
    expect.same({ my.column_kind(246, { length = 12, decimals = 2, flags = 0 }) }, { "numeric", 10, 2 })
  end)
end)

describe("_jdbc shared by every dialect", function()
  it("selects tables by whitelist, blacklist and include/exclude regexes, plain or schema-qualified", function()
    local keep = jdbc.table_filter({ ["table.whitelist"] = { "a", "s.b" } })
    expect.eq(keep("a", "s.a"), true)
    expect.eq(keep("b", "s.b"), true)
    expect.eq(keep("b", "t.b"), false)
    keep = jdbc.table_filter({ ["table.include.list"] = { "sales\\..*" }, ["table.exclude.list"] = { ".*_tmp" } })
    expect.eq(keep("orders", "sales.orders"), true)
    expect.eq(keep("orders_tmp", "sales.orders_tmp"), false)
    expect.eq(keep("orders", "hr.orders"), false)
    expect.eq(jdbc.table_filter({ ["table.blacklist"] = { "x" } })("x"), false)
  end)
  it("splits tables into contiguous groups as Confluent, the first ones larger", function()
    expect.same(jdbc.group({ 1, 2, 3, 4, 5 }, 2), { { 1, 2, 3 }, { 4, 5 } })
    expect.same(jdbc.group({ 1 }, 3), { { 1 }, {}, {} })
    expect.eq(jdbc.name_hash("orders"), jdbc.name_hash("orders"))
  end)
  it("writes Decimal text at negative scales too", function()
    expect.eq(jdbc.decimal_text("\x04\xd2", -2), "123400")
    expect.eq(jdbc.decimal_text("\xfb\x2e", 2), "-12.34")
  end)
  it("keeps the exactly.once offsets: the next offset per partition, only forward", function()
    local stored = { t = { [0] = 5 } }
    local list = jdbc.offsets_to_store(stored, { { topic = "t", partition = 0, offset = 3 },
      { topic = "t", partition = 1, offset = 7 }, { topic = "t", partition = 1, offset = 8 } }, 3)
    expect.same(list, { { "t", 1, 9 } })
    jdbc.offsets_stored(stored, list)
    expect.same(jdbc.resume_partitions(stored, { { topic = "t", partition = 1 }, { topic = "u", partition = 0 } }),
      { { topic = "t", partition = 1, offset = 9 } })
  end)
  it("validates columns as Confluent's validateColumnsExist / validateNonNullable", function()
    local task = { config = { ["validate.non.null"] = true } }
    local q = { table = "t", uses_inc = true, inc_col = "ID", uses_ts = false }
    expect.error_contains(function() jdbc.validate_columns(task, q, { { name = "x", notnull = true } }) end,
      "Incrementing column: ID does not exist in table 't'")
    expect.error_contains(function() jdbc.validate_columns(task, q, { { name = "id", notnull = false } }) end,
      "Cannot make incremental queries using incrementing column ID on t because this column is nullable.")
    jdbc.validate_columns(task, q, { { name = "id", notnull = false } }, "id") -- a rowid is never NULL
    task.config["validate.non.null"] = false
    jdbc.validate_columns(task, q, { { name = "id", notnull = false } })
  end)
  it("builds rows from records as Confluent's FieldsMetadata, schemaless types from the dialect", function()
    local S = { pk_mode = "record_key", pk_fields = {}, string_column = "record_value", name = "s" }
    local fm = jdbc.fields_metadata(S, "t", { key = { id = 1 }, value = { id = 1, name = "a", n = 2.5 } }, false,
      pg.SQL_TYPE)
    local names = {}
    for i, f in ipairs(fm.ordered) do names[i] = f.name .. ":" .. (f.sqltype or "?") .. (f.pk and "*" or "") end
    expect.same(names, { "id:BIGINT*", "n:DOUBLE PRECISION", "name:TEXT" })
    S.pk_fields = {}
    expect.error_contains(function() jdbc.fields_metadata(S, "t", { key = 5, value = { a = 1 } }, false, pg.SQL_TYPE) end,
      "Need exactly one PK column defined since the key schema for records is a primitive type, defined columns are: []")
  end)
  it("runs put() batches: retries, the record-by-record fallback, bad records skipped or failing the task", function()
    local calls, reports = {}, {}
    local task = { log = { warn = function() end }, report = function(r, why) reports[#reports + 1] = why end }
    local S = { max_retries = 2, retry_backoff_ms = 0, tolerant = true }
    local recs = { { topic = "t", partition = 0, offset = 1 }, { topic = "t", partition = 0, offset = 2 } }
    local script = { { false, "locked" }, { false, "bad group", "group" }, { false, "no", 2 }, { true } }
    local ops = {
      transaction = function(_, _, upto, skipped, single)
        calls[#calls + 1] = { upto, skipped and skipped[2] or false, single }
        return unpack(table.remove(script, 1))
      end,
      after_failure = function() end,
      retryable = function(_, err) return err == "locked" end,
      reopen = function() end,
    }
    jdbc.sink_put(task, S, ops, recs)
    expect.same(calls, { { 2, false, false }, { 2, false, false }, { 2, false, true }, { 2, true, true } })
    expect.same(reports, { "record 2 of 2 (topic t, partition 0, offset 2): no" })
    -- errors.tolerance=none: the records before the bad one are committed, then the task fails
    S.tolerant, calls, script = false, {}, { { false, "no", 2 }, { true } }
    expect.error_contains(function() jdbc.sink_put(task, S, ops, recs) end,
      "record 2 of 2 (topic t, partition 0, offset 2): no")
    expect.same(calls, { { 2, false, false }, { 1, false, false } })
  end)
end)
