--- _sqlite: a LuaJIT FFI binding to libsqlite3 for the SQLite connectors (sqlite_source,
-- sqlite_sink). Depends on libsqlite3.so.0 (package libsqlite3-0) and the luaconnect SDK
-- (connect.null, connect.float, connect.now_ms).
--
-- Why the FFI and not a C module: connectors are plugins, and the core stays free of code
-- that serves one connector (require loads no C modules). LuaJIT compiles FFI
-- calls into direct C calls, so a loop over sqlite3_step/sqlite3_column_* runs as fast as a
-- hand-written Lua C binding would, without a stack protocol in between. The core links the
-- same libsqlite3.so.0 for its offset store, so the process holds one copy of SQLite.
--
--   local sqlite = require "_sqlite"
--   local db = sqlite.open("jdbc:sqlite:/data/app.db", { busy_timeout_ms = 5000 })
--   db:exec("CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT)")
--   local st = db:prepare("INSERT INTO t(name) VALUES (?)")
--   st:bind_all("a"); st:step(); st:reset()
--   st = db:prepare("SELECT * FROM t")
--   while st:step() do local row = st:row() end
--   st:finalize(); db:close()
--
-- API (every SQL failure raises "SQL error: <sqlite message> (in: <sql>)"):
--   sqlite.open(url_or_path, opts) -> db. url_or_path: "jdbc:sqlite:PATH", a plain path,
--     ":memory:" or a "file:" URI; "?k=v&..." after a plain path sets PRAGMA k=v (as
--     sqlite-jdbc does), except busy_timeout which sets the timeout. opts: busy_timeout_ms
--     (5000), create (true: create a missing file), readonly (false). Raises
--     "cannot open PATH: msg".
--   db:exec(sql)        one or more statements, each run to completion
--   db:prepare(sql)     -> st (one statement; text after it is an error)
--   db:begin(kind)      BEGIN [DEFERRED|IMMEDIATE|EXCLUSIVE]; db:commit(); db:rollback()
--   db:changes(), db:last_insert_rowid(), db:in_transaction(), db:close() (finalizes the
--   statements still open), db:tables() (user tables, sorted; opts.views adds views),
--   db:table_info(name) -> { {name, type, notnull, pk, default}, ... } (empty: no table),
--   db:errcode() the last result code this module raised for (0 after success)
--   st:bind(i, v), st:bind_blob(i, s), st:bind_all(...), st:clear_bindings()
--   st:step() -> true (a row) / false (done), st:row() -> {column = value},
--   st:columns() -> { {name, decltype}, ... }, st:column_count(), st:reset(), st:finalize()
--   Typed readers for a column i (1-based) of the current row, no conversion by storage class:
--   st:type(i) -> "integer"|"real"|"text"|"blob"|"null", st:value(i) (as st:row() does),
--   st:int(i) (sqlite3_column_int64 coercion, number or int64 cdata), st:double(i),
--   st:text(i), st:blob(i).
--   st:origin(i) -> table, column (the table column a result column comes from, or nil).
--   sqlite.quote(name) -> `name` (SQLite identifier quoting, as Confluent's dialect does),
--   sqlite.is_busy(err) -> true when err is a "database is locked" error from this module.
--
-- Values: INTEGER -> Lua number within 2^53, else int64_t cdata; REAL -> number, or
-- connect.float(x) when integral (so 1.0 stays a float); TEXT and BLOB -> string;
-- NULL -> connect.null. Binding: nil/connect.null -> NULL, integral numbers -> int64 (else
-- double), int64/uint64 cdata -> int64, connect.float -> double, booleans -> 1/0,
-- strings -> TEXT (bind_blob for BLOB).
--
-- Busy: SQLite's busy handler waits up to busy_timeout_ms; on top of it, a SQLITE_BUSY or
-- SQLITE_LOCKED that the handler does not cover (a WAL snapshot conflict, a shared-cache
-- lock) is retried here until the same deadline, as long as the statement has not returned
-- a row since its last reset (retrying then would repeat rows). After the deadline the error
-- is "SQL error: database is locked (in: sql)".
--
-- Lifetimes: statements and connections carry ffi.gc finalizers, so a statement dropped by
-- an error is finalized by the collector; exec() finalizes its own statements before it
-- raises. Connections close with sqlite3_close_v2, which waits for outstanding statements,
-- so the collector may finalize them in any order.
local ffi = require "ffi"
local connect = require "luaconnect"

ffi.cdef [[
struct sqlite3;
struct sqlite3_stmt;
int sqlite3_open_v2(const char *filename, struct sqlite3 **ppDb, int flags, const char *zVfs);
int sqlite3_close_v2(struct sqlite3 *db);
int sqlite3_busy_timeout(struct sqlite3 *db, int ms);
int sqlite3_extended_result_codes(struct sqlite3 *db, int onoff);
const char *sqlite3_errmsg(struct sqlite3 *db);
const char *sqlite3_errstr(int rc);
int sqlite3_errcode(struct sqlite3 *db);
int sqlite3_prepare_v2(struct sqlite3 *db, const char *zSql, int nByte,
                       struct sqlite3_stmt **ppStmt, const char **pzTail);
int sqlite3_step(struct sqlite3_stmt *st);
int sqlite3_reset(struct sqlite3_stmt *st);
int sqlite3_finalize(struct sqlite3_stmt *st);
int sqlite3_clear_bindings(struct sqlite3_stmt *st);
int sqlite3_bind_null(struct sqlite3_stmt *st, int i);
int sqlite3_bind_int64(struct sqlite3_stmt *st, int i, int64_t v);
int sqlite3_bind_double(struct sqlite3_stmt *st, int i, double v);
int sqlite3_bind_text(struct sqlite3_stmt *st, int i, const char *v, int n, void (*d)(void *));
int sqlite3_bind_blob(struct sqlite3_stmt *st, int i, const void *v, int n, void (*d)(void *));
int sqlite3_bind_parameter_count(struct sqlite3_stmt *st);
int sqlite3_column_count(struct sqlite3_stmt *st);
const char *sqlite3_column_name(struct sqlite3_stmt *st, int i);
const char *sqlite3_column_decltype(struct sqlite3_stmt *st, int i);
const char *sqlite3_column_table_name(struct sqlite3_stmt *st, int i);
const char *sqlite3_column_origin_name(struct sqlite3_stmt *st, int i);
int sqlite3_column_type(struct sqlite3_stmt *st, int i);
int64_t sqlite3_column_int64(struct sqlite3_stmt *st, int i);
double sqlite3_column_double(struct sqlite3_stmt *st, int i);
const unsigned char *sqlite3_column_text(struct sqlite3_stmt *st, int i);
const void *sqlite3_column_blob(struct sqlite3_stmt *st, int i);
int sqlite3_column_bytes(struct sqlite3_stmt *st, int i);
const char *sqlite3_sql(struct sqlite3_stmt *st);
int sqlite3_changes(struct sqlite3 *db);
int64_t sqlite3_last_insert_rowid(struct sqlite3 *db);
int sqlite3_get_autocommit(struct sqlite3 *db);
int sqlite3_sleep(int ms);
int sqlite3_libversion_number(void);
]]

local function load_lib()
  local ok, lib = pcall(ffi.load, "libsqlite3.so.0")
  if ok then return lib end
  local ok2, lib2 = pcall(ffi.load, "sqlite3")
  if ok2 then return lib2 end
  error("cannot load libsqlite3 (install the libsqlite3-0 package): " .. tostring(lib), 0)
end
local C = load_lib()

local M = { lib = C, version = C.sqlite3_libversion_number() }

local SQLITE_OK, SQLITE_BUSY, SQLITE_LOCKED = 0, 5, 6
local SQLITE_ROW, SQLITE_DONE = 100, 101
local OPEN_READONLY, OPEN_READWRITE, OPEN_CREATE, OPEN_URI = 0x1, 0x2, 0x4, 0x40
local OPEN_NOMUTEX = 0x8000 -- each connection stays on its task's thread
local T_INTEGER, T_FLOAT, T_TEXT, T_BLOB = 1, 2, 3, 4
local TYPE_NAMES = { "integer", "real", "text", "blob", "null" }
-- Strings are bound without a copy (SQLITE_STATIC); the statement keeps them alive.
local STATIC = ffi.cast("void (*)(void *)", 0)
local TWO53 = 2 ^ 53

local null, float, is_float, now_ms = connect.null, connect.float, connect.is_float, connect.now_ms
local ffi_string, tonumber, type, format, band = ffi.string, tonumber, type, string.format, bit.band
local floor = math.floor
local int64_t, uint64_t = ffi.typeof("int64_t"), ffi.typeof("uint64_t")
local pstmt_t, pdb_t = ffi.typeof("struct sqlite3_stmt *[1]"), ffi.typeof("struct sqlite3 *[1]")
local ptail_t = ffi.typeof("const char *[1]")

--- `name` quoted as a SQLite identifier (backticks, as Confluent's SQLite dialect quotes).
function M.quote(name)
  return "`" .. tostring(name):gsub("`", "``") .. "`"
end

--- True when err (an error raised by this module) is a lock timeout worth retrying later.
function M.is_busy(err)
  return type(err) == "string" and err:find("SQL error: database is locked", 1, true) == 1
end

local Db, Stmt = {}, {}
Db.__index, Stmt.__index = Db, Stmt

local function sql_error(db, msg, sql, code)
  db._errcode = code or -1
  error(format("SQL error: %s (in: %s)", msg, sql), 0)
end

local function errmsg(db)
  return ffi_string(C.sqlite3_errmsg(db._h))
end

-- int64 cdata -> Lua number when it fits in 2^53 (the codec's rule), else the cdata.
local function int_value(v)
  if v >= -TWO53 and v <= TWO53 then return tonumber(v) end
  return v
end

-- Opening ------------------------------------------------------------------------------

-- "jdbc:sqlite:PATH?k=v" -> path, { {k, v}, ... }, is_uri.
local function parse_url(url)
  local path = url:gsub("^jdbc:sqlite:", "")
  if path:sub(1, 5) == "file:" then return path, {}, true end
  local params = {}
  local q = path:find("?", 1, true)
  if q then
    for k, v in path:sub(q + 1):gmatch("([^&=]+)=([^&]*)") do params[#params + 1] = { k, v } end
    path = path:sub(1, q - 1)
  end
  return path, params, false
end

--- Opens a database: a "jdbc:sqlite:PATH" URL or a plain path. See the header for opts.
function M.open(url, opts)
  opts = opts or {}
  if type(url) ~= "string" or url == "" then error("cannot open database: no path given", 0) end
  local path, params, uri = parse_url(url)
  if path == "" then path = ":memory:" end -- sqlite-jdbc: "jdbc:sqlite:" is an in-memory database
  local flags = opts.readonly and OPEN_READONLY or OPEN_READWRITE
  if opts.create ~= false and not opts.readonly then flags = flags + OPEN_CREATE end
  if uri then flags = flags + OPEN_URI end
  flags = flags + OPEN_NOMUTEX
  local pdb = pdb_t()
  local rc = C.sqlite3_open_v2(path, pdb, flags, nil)
  local h = pdb[0]
  if rc ~= SQLITE_OK then
    local msg = h ~= nil and ffi_string(C.sqlite3_errmsg(h)) or ffi_string(C.sqlite3_errstr(rc))
    if h ~= nil then C.sqlite3_close_v2(h) end
    error(format("cannot open %s: %s", path, msg), 0)
  end
  h = ffi.gc(h, C.sqlite3_close_v2)
  C.sqlite3_extended_result_codes(h, 1) -- db:errcode() tells NOT NULL from UNIQUE
  local db = setmetatable({
    _h = h, path = path, busy_timeout_ms = opts.busy_timeout_ms or 5000, _errcode = 0,
    _stmts = setmetatable({}, { __mode = "k" }),
  }, Db)
  for _, kv in ipairs(params) do
    if kv[1] == "busy_timeout" and tonumber(kv[2]) then
      db.busy_timeout_ms = tonumber(kv[2])
    end
  end
  C.sqlite3_busy_timeout(h, db.busy_timeout_ms)
  for _, kv in ipairs(params) do
    local k, v = kv[1], kv[2]
    if k ~= "busy_timeout" then
      if not k:match("^[%a_][%w_]*$") or not v:match("^[%w_%-]+$") then
        db:close()
        error(format("cannot open %s: bad URL parameter '%s=%s'", path, k, v), 0)
      end
      local ok, err = pcall(db.exec, db, format("PRAGMA %s = %s", k, v))
      if not ok then
        db:close()
        error(format("cannot open %s: %s", path, err), 0)
      end
    end
  end
  return db
end

-- Statements ---------------------------------------------------------------------------

local function new_stmt(db, h, sql)
  local st = setmetatable({ _h = ffi.gc(h, C.sqlite3_finalize), db = db, sql = sql,
    _anchors = {}, _rows = false, _ncol = C.sqlite3_column_count(h) }, Stmt)
  db._stmts[st] = true
  return st
end

local function check_open(db)
  if db._h == nil then error("SQL error: the database is closed", 0) end
end

--- Prepares one SQL statement; raises "SQL error: msg (in: sql)".
function Db:prepare(sql)
  check_open(self)
  local pst, tail = pstmt_t(), ptail_t()
  local rc = C.sqlite3_prepare_v2(self._h, sql, #sql, pst, tail)
  if rc ~= SQLITE_OK then sql_error(self, errmsg(self), sql, rc) end
  local h = pst[0]
  if h == nil then sql_error(self, "no SQL statement", sql, 1) end
  local rest = ffi_string(tail[0])
  if rest:find("[^%s;]") then
    C.sqlite3_finalize(h)
    sql_error(self, "more than one statement (use exec)", sql, 1)
  end
  return new_stmt(self, h, sql)
end

-- Runs a step of h, retrying SQLITE_BUSY/LOCKED until the busy deadline when allowed.
local function step_rc(db, h, may_retry)
  local rc = C.sqlite3_step(h)
  if rc == SQLITE_ROW or rc == SQLITE_DONE then return rc end
  local prim = band(rc, 0xff)
  if (prim == SQLITE_BUSY or prim == SQLITE_LOCKED) and may_retry then
    local deadline, delay = now_ms() + db.busy_timeout_ms, 1
    while prim == SQLITE_BUSY or prim == SQLITE_LOCKED do
      local left = deadline - now_ms()
      if left <= 0 then break end
      C.sqlite3_reset(h)
      C.sqlite3_sleep(math.min(delay, left))
      delay = math.min(delay * 2, 100)
      rc = C.sqlite3_step(h)
      if rc == SQLITE_ROW or rc == SQLITE_DONE then return rc end
      prim = band(rc, 0xff)
    end
  end
  return rc
end

local function raise_step(db, h, rc, sql)
  local prim = band(rc, 0xff)
  local msg = (prim == SQLITE_BUSY or prim == SQLITE_LOCKED) and "database is locked"
    or ffi_string(C.sqlite3_errmsg(db._h))
  C.sqlite3_reset(h) -- leaves the statement reusable
  sql_error(db, msg, sql, rc)
end

local function live(st)
  local h = st._h
  if h == nil then error(format("SQL error: statement is finalized (in: %s)", st.sql), 0) end
  return h
end

--- Advances to the next row: true for a row, false when done. Raises on errors.
function Stmt:step()
  local h = live(self)
  local rc = step_rc(self.db, h, not self._rows)
  if rc == SQLITE_ROW then
    self._rows = true
    return true
  elseif rc == SQLITE_DONE then
    return false
  end
  self._rows = false
  raise_step(self.db, h, rc, self.sql)
end

--- Rewinds the statement so it can run again (bindings stay).
function Stmt:reset()
  local h = live(self)
  C.sqlite3_reset(h)
  self._rows = false
  self._names = nil
end

--- Sets every parameter back to NULL.
function Stmt:clear_bindings()
  C.sqlite3_clear_bindings(live(self))
  self._anchors = {}
end

--- Releases the statement now (later use raises); safe to call twice.
function Stmt:finalize()
  local h = self._h
  if h == nil then return end
  self._h = nil
  self.db._stmts[self] = nil
  ffi.gc(h, nil)
  C.sqlite3_finalize(h)
end

local function bind_rc(st, rc, i)
  if rc ~= SQLITE_OK then
    sql_error(st.db, format("bind parameter %d: %s", i, ffi_string(C.sqlite3_errmsg(st.db._h))),
      st.sql, rc)
  end
end

--- Binds v to parameter i (1-based); see the header for the type rules.
function Stmt:bind(i, v)
  local h = live(self)
  local t = type(v)
  local rc
  if v == nil or v == null then
    rc = C.sqlite3_bind_null(h, i)
  elseif t == "number" then
    if v == floor(v) and v >= -9.2233720368547758e18 and v < 9.2233720368547758e18 then
      rc = C.sqlite3_bind_int64(h, i, v)
    else
      rc = C.sqlite3_bind_double(h, i, v)
    end
  elseif t == "string" then
    self._anchors[i] = v
    rc = C.sqlite3_bind_text(h, i, v, #v, STATIC)
  elseif t == "boolean" then
    rc = C.sqlite3_bind_int64(h, i, v and 1 or 0)
  elseif t == "cdata" and is_float(v) then
    rc = C.sqlite3_bind_double(h, i, tonumber(v))
  elseif t == "cdata" and ffi.istype(int64_t, v) then
    rc = C.sqlite3_bind_int64(h, i, v)
  elseif t == "cdata" and ffi.istype(uint64_t, v) then
    if v > 9223372036854775807ULL then
      sql_error(self.db, format("bind parameter %d: %s is beyond the int64 range", i, tostring(v)),
        self.sql, 1)
    end
    rc = C.sqlite3_bind_int64(h, i, v)
  else
    sql_error(self.db, format("bind parameter %d: cannot bind a %s", i,
      t == "cdata" and tostring(ffi.typeof(v)) or t), self.sql, 1)
  end
  bind_rc(self, rc, i)
end

--- Binds the string s to parameter i as a BLOB.
function Stmt:bind_blob(i, s)
  local h = live(self)
  if s == nil or s == null then return bind_rc(self, C.sqlite3_bind_null(h, i), i) end
  s = tostring(s)
  self._anchors[i] = s
  bind_rc(self, C.sqlite3_bind_blob(h, i, s, #s, STATIC), i)
end

--- Binds its arguments to parameters 1..n (nil binds NULL).
function Stmt:bind_all(...)
  for i = 1, select("#", ...) do self:bind(i, (select(i, ...))) end
end

--- Number of result columns.
function Stmt:column_count()
  return C.sqlite3_column_count(live(self))
end

local function column_names(st)
  local h = st._h
  local n = C.sqlite3_column_count(h)
  local names = {}
  for i = 0, n - 1 do names[i + 1] = ffi_string(C.sqlite3_column_name(h, i)) end
  st._names, st._ncol = names, n
  return names
end

--- The result columns: { {name =, decltype =}, ... } (decltype nil for expressions).
function Stmt:columns()
  local h = live(self)
  local out = {}
  for i = 0, C.sqlite3_column_count(h) - 1 do
    local d = C.sqlite3_column_decltype(h, i)
    out[i + 1] = { name = ffi_string(C.sqlite3_column_name(h, i)),
      decltype = d ~= nil and ffi_string(d) or nil }
  end
  return out
end

local has_origin = pcall(function() return C.sqlite3_column_table_name end)

--- The table and column a result column is read from (nil for an expression).
function Stmt:origin(i)
  if not has_origin then return nil end
  local h = live(self)
  local t, c = C.sqlite3_column_table_name(h, i - 1), C.sqlite3_column_origin_name(h, i - 1)
  if t == nil or c == nil then return nil end
  return ffi_string(t), ffi_string(c)
end

-- Value of column c (0-based) by its storage class.
local function value_at(h, c)
  local t = C.sqlite3_column_type(h, c)
  if t == T_INTEGER then
    local d = C.sqlite3_column_double(h, c)
    if d > -TWO53 and d < TWO53 then return d end -- exact: |int| < 2^53 converts exactly
    return int_value(C.sqlite3_column_int64(h, c))
  elseif t == T_FLOAT then
    local d = C.sqlite3_column_double(h, c)
    if d == floor(d) and d > -1e300 and d < 1e300 then return float(d) end
    return d
  elseif t == T_TEXT then
    local p = C.sqlite3_column_text(h, c)
    return ffi_string(p, C.sqlite3_column_bytes(h, c))
  elseif t == T_BLOB then
    local p = C.sqlite3_column_blob(h, c)
    local n = C.sqlite3_column_bytes(h, c)
    if n == 0 then return "" end
    return ffi_string(p, n)
  end
  return null
end

--- The current row as { column name = value } (see the header for the value rules).
function Stmt:row()
  local h = live(self)
  local names = self._names or column_names(self)
  local row = {}
  for c = 1, self._ncol do row[names[c]] = value_at(h, c - 1) end
  return row
end

--- Column i (1-based) of the current row, converted by its storage class.
function Stmt:value(i)
  return value_at(live(self), i - 1)
end

--- Storage class of column i of the current row: "integer", "real", "text", "blob", "null".
function Stmt:type(i)
  return TYPE_NAMES[C.sqlite3_column_type(live(self), i - 1)]
end

--- Column i as an integer (SQLite's conversion; number within 2^53, else int64 cdata).
function Stmt:int(i)
  return int_value(C.sqlite3_column_int64(live(self), i - 1))
end

--- Column i as a double (SQLite's conversion).
function Stmt:double(i)
  return C.sqlite3_column_double(live(self), i - 1)
end

--- Column i as text (SQLite's conversion; "" for NULL).
function Stmt:text(i)
  local h = live(self)
  local p = C.sqlite3_column_text(h, i - 1)
  if p == nil then return "" end
  return ffi_string(p, C.sqlite3_column_bytes(h, i - 1))
end

--- Column i as the bytes of a BLOB ("" for NULL).
function Stmt:blob(i)
  local h = live(self)
  local p = C.sqlite3_column_blob(h, i - 1)
  local n = C.sqlite3_column_bytes(h, i - 1)
  if n == 0 then return "" end
  return ffi_string(p, n)
end

M._value_at = value_at -- for connectors that read rows in their own loop (st._h)

-- Connection ---------------------------------------------------------------------------

--- Runs one or more SQL statements to completion (rows are discarded).
function Db:exec(sql)
  check_open(self)
  local h = self._h
  local pst, tail = pstmt_t(), ptail_t()
  local rest, single = sql, nil
  while true do
    local rc = C.sqlite3_prepare_v2(h, rest, #rest, pst, tail)
    if rc ~= SQLITE_OK then
      local msg = errmsg(self)
      sql_error(self, msg, single == nil and sql or rest:match("^%s*(.-)%s*$"), rc)
    end
    local sh = pst[0]
    local next_rest = ffi_string(tail[0])
    if sh == nil then break end -- only whitespace or comments left
    -- Errors name the caller's text when it holds one statement, else the failing one.
    local this = sql
    if single ~= nil or next_rest:find("[^%s;]") then
      this = ffi_string(C.sqlite3_sql(sh)):match("^%s*(.-)%s*$")
      single = false
    end
    repeat
      rc = step_rc(self, sh, true)
    until rc ~= SQLITE_ROW
    if rc ~= SQLITE_DONE then
      local prim = band(rc, 0xff)
      local msg = (prim == SQLITE_BUSY or prim == SQLITE_LOCKED) and "database is locked"
        or errmsg(self)
      C.sqlite3_finalize(sh)
      sql_error(self, msg, this, rc)
    end
    C.sqlite3_finalize(sh)
    rest = next_rest
    if not rest:find("[^%s;]") then break end
  end
  self._errcode = 0
end

--- BEGIN a transaction; kind is nil, "deferred", "immediate" or "exclusive".
function Db:begin(kind)
  self:exec(kind and ("BEGIN " .. kind:upper()) or "BEGIN")
end

--- COMMIT (retried while the database is busy, up to busy_timeout_ms).
function Db:commit()
  self:exec("COMMIT")
end

--- ROLLBACK; a no-op when no transaction is open (SQLite may have rolled back already).
function Db:rollback()
  check_open(self)
  if C.sqlite3_get_autocommit(self._h) ~= 0 then return end
  self:exec("ROLLBACK")
end

--- True inside BEGIN ... COMMIT.
function Db:in_transaction()
  check_open(self)
  return C.sqlite3_get_autocommit(self._h) == 0
end

--- Rows changed by the last INSERT, UPDATE or DELETE.
function Db:changes()
  check_open(self)
  return C.sqlite3_changes(self._h)
end

--- Rowid of the last inserted row (number within 2^53, else int64 cdata).
function Db:last_insert_rowid()
  check_open(self)
  return int_value(C.sqlite3_last_insert_rowid(self._h))
end

--- The result code of the last error this module raised on db (0 after a good exec).
function Db:errcode()
  return self._errcode
end

--- User tables (no sqlite_* tables), sorted by name; with views = true also views.
function Db:tables(views)
  local st = self:prepare("SELECT name FROM sqlite_master WHERE type IN ('table', ?) "
    .. "AND substr(name, 1, 7) <> 'sqlite_' ORDER BY name")
  st:bind(1, views and "view" or "table")
  local out = {}
  local ok, err = pcall(function()
    while st:step() do out[#out + 1] = st:text(1) end
  end)
  st:finalize()
  if not ok then error(err, 0) end
  return out
end

--- Columns of a table: { {name, type, notnull (bool), pk (position, 0 = not), default}, ... };
-- empty when the table does not exist. default is the default's SQL text or nil.
function Db:table_info(name)
  local st = self:prepare("SELECT name, type, \"notnull\", pk, dflt_value FROM pragma_table_info(?)")
  st:bind(1, name)
  local out = {}
  local ok, err = pcall(function()
    while st:step() do
      local default = st:type(5) ~= "null" and st:text(5) or nil
      out[#out + 1] = { name = st:text(1), type = st:text(2), notnull = st:int(3) ~= 0,
        pk = st:int(4), default = default }
    end
  end)
  st:finalize()
  if not ok then error(err, 0) end
  return out
end

--- Finalizes the statements still open and closes the connection; safe to call twice.
function Db:close()
  local h = self._h
  if h == nil then return end
  for st in pairs(self._stmts) do st:finalize() end
  self._h = nil
  ffi.gc(h, nil)
  C.sqlite3_close_v2(h)
end

return M
