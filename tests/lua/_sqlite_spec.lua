-- Specs for scripts/_sqlite.lua, the FFI binding the SQLite connectors share.
local connect = require "luaconnect"
local sqlite = require "_sqlite"
local ffi = require "ffi"

ffi.cdef [[
struct sqlite3_stmt *sqlite3_next_stmt(struct sqlite3 *db, struct sqlite3_stmt *st);
]]

local dir = tmpdir()
local n = 0
local function fresh(opts)
  n = n + 1
  local path = dir .. "/db" .. n .. ".sqlite"
  return sqlite.open(path, opts), path
end

-- Statements still open on db (0 means nothing leaked).
local function open_statements(db)
  local count, st = 0, sqlite.lib.sqlite3_next_stmt(db._h, nil)
  while st ~= nil do
    count = count + 1
    st = sqlite.lib.sqlite3_next_stmt(db._h, st)
  end
  return count
end

describe("_sqlite open", function()
  it("accepts jdbc:sqlite: URLs and plain paths to the same file", function()
    local path = dir .. "/url.sqlite"
    local a = sqlite.open("jdbc:sqlite:" .. path)
    a:exec("CREATE TABLE t(x); INSERT INTO t VALUES (42)")
    a:close()
    local b = sqlite.open(path)
    local st = b:prepare("SELECT x FROM t")
    expect.eq(st:step(), true)
    expect.eq(st:value(1), 42)
    b:close()
  end)

  it("applies ?key=value URL parameters as pragmas, as sqlite-jdbc does", function()
    local path = dir .. "/wal.sqlite"
    local db = sqlite.open("jdbc:sqlite:" .. path .. "?journal_mode=WAL&busy_timeout=1234")
    local st = db:prepare("PRAGMA journal_mode")
    st:step()
    expect.eq(st:text(1), "wal")
    expect.eq(db.busy_timeout_ms, 1234)
    db:close()
    expect.error_contains(function() sqlite.open(path .. "?x=1;DROP") end,
      "cannot open " .. path .. ": bad URL parameter 'x=1;DROP'")
  end)

  it("names the path when it cannot open", function()
    local path = dir .. "/no/such/dir/x.db"
    expect.error_contains(function() sqlite.open("jdbc:sqlite:" .. path) end,
      "cannot open " .. path .. ": unable to open database file")
    expect.error_contains(function() sqlite.open(dir .. "/absent.db", { create = false }) end,
      "cannot open " .. dir .. "/absent.db: unable to open database file")
  end)
end)

describe("_sqlite exec and prepare", function()
  it("runs several statements and raises with the SQL that failed", function()
    local db = fresh()
    db:exec("CREATE TABLE a(x); INSERT INTO a VALUES (1);\n INSERT INTO a VALUES (2);")
    local st = db:prepare("SELECT count(*) FROM a")
    st:step()
    expect.eq(st:value(1), 2)
    st:finalize()
    expect.error_contains(function() db:exec("SELECT * FROM nope") end,
      "SQL error: no such table: nope (in: SELECT * FROM nope)")
    expect.error_contains(function() db:exec("INSERT INTO a VALUES (3); SELEC 1") end,
      'SQL error: near "SELEC": syntax error (in: SELEC 1)')
    expect.error_contains(function() db:prepare("SELECT * FROM nope") end,
      "SQL error: no such table: nope (in: SELECT * FROM nope)")
    expect.error_contains(function() db:prepare("SELECT 1; SELECT 2") end,
      "SQL error: more than one statement (use exec) (in: SELECT 1; SELECT 2)")
    -- the statements before the failing one ran
    st = db:prepare("SELECT count(*) FROM a")
    st:step()
    expect.eq(st:value(1), 3)
    st:finalize()
    expect.eq(open_statements(db), 0)
    db:close()
  end)

  it("raises constraint errors from step with the statement", function()
    local db = fresh()
    db:exec("CREATE TABLE u(id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
    local st = db:prepare("INSERT INTO u(id, name) VALUES (?, ?)")
    st:bind_all(1, nil)
    expect.error_contains(function() st:step() end,
      "SQL error: NOT NULL constraint failed: u.name (in: INSERT INTO u(id, name) VALUES (?, ?))")
    expect.eq(db:errcode(), 1299) -- SQLITE_CONSTRAINT_NOTNULL
    -- the statement is usable again after the error
    st:bind_all(1, "ok")
    expect.eq(st:step(), false)
    expect.eq(db:changes(), 1)
    db:close()
  end)

  it("leaks no statement when exec fails half way", function()
    local db = fresh()
    db:exec("CREATE TABLE a(x UNIQUE)")
    for _ = 1, 3 do
      pcall(db.exec, db, "INSERT INTO a VALUES (1); INSERT INTO a VALUES (1); INSERT INTO a VALUES (2)")
    end
    expect.eq(open_statements(db), 0)
    local ok = pcall(function()
      local st = db:prepare("SELECT x FROM a")
      st:step()
      error("caller fails while holding a statement")
    end)
    expect.eq(ok, false)
    collectgarbage()
    collectgarbage()
    expect.eq(open_statements(db), 0)
    db:close()
  end)
end)

describe("_sqlite values", function()
  local db = fresh()
  db:exec("CREATE TABLE v(i INTEGER, r REAL, t TEXT, b BLOB, n NUMERIC, x)")

  local function roundtrip(...)
    db:exec("DELETE FROM v")
    local st = db:prepare("INSERT INTO v(i, r, t, b, x) VALUES (?, ?, ?, ?, ?)")
    st:bind_all(...)
    st:step()
    st:finalize()
    st = db:prepare("SELECT i, r, t, b, x, typeof(i) AS ti, typeof(r) AS tr, typeof(t) AS tt, "
      .. "typeof(b) AS tb, typeof(x) AS tx FROM v")
    expect.eq(st:step(), true)
    local row = st:row()
    expect.eq(st:step(), false)
    st:finalize()
    return row
  end

  it("binds and reads integers, large integers, reals, UTF-8 text and NULL", function()
    local row = roundtrip(9007199254740993LL, 1.5, "é 中文 🙂 \"q\"", nil, connect.null)
    expect.eq(row.ti, "integer")
    expect.eq(type(row.i), "cdata")
    expect.eq(tostring(row.i), "9007199254740993LL")
    expect.eq(row.r, 1.5)
    expect.eq(row.t, "é 中文 🙂 \"q\"")
    expect.eq(row.b, connect.null)
    expect.eq(row.x, connect.null)
    expect.eq(row.tx, "null")
    row = roundtrip(-9007199254740992, -0.25, "", nil, 2^53)
    expect.eq(row.i, -9007199254740992)
    expect.eq(type(row.i), "number")
    expect.eq(row.x, 9007199254740992)
    expect.eq(row.t, "")
    expect.eq(row.r, -0.25)
  end)

  it("keeps integral reals as connect.float and binds integral numbers as integers", function()
    local row = roundtrip(3.0, connect.float(2), "x", nil, 7.0)
    expect.eq(row.ti, "integer")
    expect.eq(row.i, 3)
    expect.eq(row.tr, "real")
    expect.truthy(connect.is_float(row.r), "2.0 should come back as connect.float")
    expect.eq(connect.json.encode(row.r), "2.0")
    expect.eq(row.tx, "integer")
    row = roundtrip(true, false, nil, nil, 0.1)
    expect.eq(row.i, 1)
    expect.eq(row.tr, "real") -- false binds 0; the REAL column's affinity makes it 0.0
    expect.truthy(connect.is_float(row.r))
    expect.eq(row.r, 0)
    expect.eq(row.x, 0.1)
    expect.eq(row.tx, "real")
  end)

  it("binds uint64 and int64 cdata, refuses tables and out-of-range uint64", function()
    local row = roundtrip(18446744073709551615ULL - 18446744073709551615ULL + 5ULL, nil, nil, nil, -2LL)
    expect.eq(row.i, 5)
    expect.eq(row.x, -2)
    local st = db:prepare("SELECT ?")
    expect.error_contains(function() st:bind(1, {}) end,
      "SQL error: bind parameter 1: cannot bind a table (in: SELECT ?)")
    expect.error_contains(function() st:bind(1, 18446744073709551615ULL) end,
      "SQL error: bind parameter 1: 18446744073709551615ULL is beyond the int64 range (in: SELECT ?)")
    expect.error_contains(function() st:bind(2, 1) end,
      "SQL error: bind parameter 2: column index out of range (in: SELECT ?)")
    st:finalize()
  end)

  it("reads BLOBs with zero bytes and binds BLOBs only when told", function()
    local bytes = "\0\1\2\255binary\0"
    local st = db:prepare("SELECT ?, typeof(?1), ?2, typeof(?2)")
    st:bind(1, bytes)
    st:bind_blob(2, bytes)
    st:step()
    expect.eq(st:value(1), bytes)
    expect.eq(st:value(2), "text")
    expect.eq(st:value(3), bytes)
    expect.eq(st:value(4), "blob")
    expect.eq(st:type(3), "blob")
    expect.eq(st:blob(3), bytes)
    st:finalize()
    local row = roundtrip(nil, nil, nil, "", nil)
    expect.eq(row.tb, "text") -- a string binds TEXT even in a BLOB column
    expect.eq(row.b, "")
  end)

  it("describes result columns with their declared types", function()
    local st = db:prepare("SELECT i, r AS real_one, t, n, x, i + 1 AS expr FROM v")
    expect.same(st:columns(), {
      { name = "i", decltype = "INTEGER" }, { name = "real_one", decltype = "REAL" },
      { name = "t", decltype = "TEXT" }, { name = "n", decltype = "NUMERIC" },
      { name = "x" }, { name = "expr" },
    })
    expect.eq(st:column_count(), 6)
    local t, c = st:origin(2)
    expect.eq(t, "v")
    expect.eq(c, "r")
    expect.eq(st:origin(6), nil)
    st:finalize()
  end)

  it("converts by request like JDBC getters (int, double, text)", function()
    local st = db:prepare("SELECT '12abc', 2.9, 7, NULL")
    st:step()
    expect.eq(st:int(1), 12)
    expect.eq(st:int(2), 2)
    expect.eq(st:double(3), 7)
    expect.eq(st:text(3), "7")
    expect.eq(st:text(4), "")
    expect.eq(st:type(4), "null")
    st:finalize()
  end)
end)

describe("_sqlite statements and transactions", function()
  it("steps, resets and runs again with new bindings", function()
    local db = fresh()
    db:exec("CREATE TABLE t(id INTEGER PRIMARY KEY AUTOINCREMENT, v TEXT)")
    local ins = db:prepare("INSERT INTO t(v) VALUES (?)")
    for i = 1, 3 do
      ins:bind(1, "v" .. i)
      expect.eq(ins:step(), false)
      ins:reset()
      expect.eq(db:last_insert_rowid(), i)
    end
    ins:finalize()
    ins:finalize() -- twice is fine
    expect.error_contains(function() ins:step() end,
      "SQL error: statement is finalized (in: INSERT INTO t(v) VALUES (?))")
    local sel = db:prepare("SELECT v FROM t WHERE id >= ? ORDER BY id")
    sel:bind(1, 2)
    local got = {}
    while sel:step() do got[#got + 1] = sel:row().v end
    expect.same(got, { "v2", "v3" })
    sel:reset()
    sel:bind(1, 3)
    expect.eq(sel:step(), true)
    expect.same(sel:row(), { v = "v3" })
    expect.same(db:tables(), { "t" }) -- sqlite_sequence is not a user table
    db:close()
  end)

  it("commits and rolls back", function()
    local db = fresh()
    db:exec("CREATE TABLE t(x)")
    db:begin()
    expect.eq(db:in_transaction(), true)
    db:exec("INSERT INTO t VALUES (1), (2)")
    expect.eq(db:changes(), 2)
    db:rollback()
    expect.eq(db:in_transaction(), false)
    db:rollback() -- nothing open: a no-op
    db:begin("immediate")
    db:exec("INSERT INTO t VALUES (3)")
    db:commit()
    local st = db:prepare("SELECT group_concat(x) FROM t")
    st:step()
    expect.eq(st:value(1), "3")
    db:close()
  end)

  it("reports table columns with types, NOT NULL, primary key position and defaults", function()
    local db = fresh()
    db:exec([[CREATE TABLE o(a INTEGER NOT NULL, b TEXT DEFAULT 'x', c REAL, PRIMARY KEY (c, a));
              CREATE VIEW w AS SELECT a FROM o]])
    expect.same(db:table_info("o"), {
      { name = "a", type = "INTEGER", notnull = true, pk = 2 },
      { name = "b", type = "TEXT", notnull = false, pk = 0, default = "'x'" },
      { name = "c", type = "REAL", notnull = false, pk = 1 },
    })
    expect.same(db:table_info("missing"), {})
    expect.same(db:tables(), { "o" })
    expect.same(db:tables(true), { "o", "w" })
    db:close()
  end)

  it("finalizes open statements on close and refuses use afterwards", function()
    local db = fresh()
    db:exec("CREATE TABLE t(x); INSERT INTO t VALUES (1), (2)")
    local st = db:prepare("SELECT x FROM t")
    st:step()
    db:close()
    db:close()
    expect.error_contains(function() st:step() end, "SQL error: statement is finalized (in: SELECT x FROM t)")
    expect.error_contains(function() db:exec("SELECT 1") end, "SQL error: the database is closed")
  end)
end)

describe("_sqlite busy handling", function()
  it("waits busy_timeout_ms for a lock, then raises 'database is locked'", function()
    local a, path = fresh()
    a:exec("CREATE TABLE t(x)")
    local b = sqlite.open(path, { busy_timeout_ms = 150 })
    local st = b:prepare("SELECT count(*) FROM t")
    a:begin("exclusive")
    a:exec("INSERT INTO t VALUES (1)")
    local t0 = connect.now_ms()
    local ok, err = pcall(b.exec, b, "INSERT INTO t VALUES (2)")
    local waited = connect.now_ms() - t0
    expect.eq(ok, false)
    expect.eq(err, "SQL error: database is locked (in: INSERT INTO t VALUES (2))")
    expect.truthy(sqlite.is_busy(err), "is_busy should recognise the error")
    expect.truthy(not sqlite.is_busy("SQL error: no such table: t (in: x)"))
    expect.truthy(waited >= 140, "waited only " .. waited .. " ms")
    expect.error_contains(function() st:step() end, "SQL error: database is locked (in: SELECT count(*) FROM t)")
    a:commit()
    -- the same statement works once the lock is gone: nothing was lost
    expect.eq(st:step(), true)
    expect.eq(st:value(1), 1)
    st:finalize()
    b:exec("INSERT INTO t VALUES (2)")
    a:close()
    b:close()
  end)
end)
