-- Specs for scripts/_sqlite_dialect.lua (the SQLite dialect of the JDBC core): what differs
-- from the server dialects; the connectors' behaviour is in sqlite_source_spec / sqlite_sink_spec.
local jdbc = require "_jdbc"
local d = require "_sqlite_dialect"

describe("_sqlite_dialect", function()
  it("is the dialect of every URL that is not a server's", function()
    expect.eq(jdbc.dialect_of("jdbc:sqlite:/tmp/x.db"), nil)
    expect.eq(d.name, "SqliteDatabaseDialect")
    expect.eq(d.quote("we`ird"), "`we``ird`")
  end)
  it("builds the core's statements with ? placeholders and the timestamp expression", function()
    local q = { from = "`t`", mode = "timestamp+incrementing", uses_ts = true, uses_inc = true,
      ts_cols = { "m" }, inc_col = "id" }
    local ts = d.ts_expr("`t`.`m`")
    expect.eq(jdbc.build_sql(q, d.quote, nil, "", d), "SELECT * FROM `t` WHERE " .. ts .. " < ? AND ((" .. ts
      .. " = ? AND `t`.`id` > ?) OR " .. ts .. " > ?) ORDER BY " .. ts .. ",`t`.`id` ASC")
    expect.truthy(ts:find("julianday(`t`.`m`)", 1, true))
  end)
  it("plugs its own engines into the core", function()
    for _, k in ipairs({ "task_configs", "open", "poll", "close" }) do expect.eq(type(d.source[k]), "function") end
    for _, k in ipairs({ "open", "put", "open_partitions", "close" }) do expect.eq(type(d.sink[k]), "function") end
  end)
end)
