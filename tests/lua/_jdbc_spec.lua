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
