--- _mysql: the MySQL/MariaDB dialect of the JDBC core (_jdbc): a LuaJIT FFI binding to
-- MariaDB Connector/C (libmariadb.so.3, package libmariadb3) plus MySQL's quoting (backticks),
-- URL parsing (jdbc:mysql:// and jdbc:mariadb://), type mapping both ways and upsert syntax
-- (INSERT ... ON DUPLICATE KEY UPDATE). The interface is _pg's (connect, query with $n
-- parameters, column_kind, list_tables, table_columns, upsert_sql, SQL_TYPE).
--
-- Parameters: the text protocol has no $n placeholders, so query() writes each parameter
-- into the statement as a literal escaped by mysql_real_escape_string (binary-safe) before
-- sending it; values come back as text and are converted by _jdbc as PostgreSQL's are.
local ffi = require "ffi"

ffi.cdef [[
typedef struct st_mysql MYSQL;
typedef struct st_mysql_res MYSQL_RES;
typedef char **MYSQL_ROW;
typedef struct lc_mysql_field {
  char *name; char *org_name; char *table; char *org_table; char *db; char *catalog; char *def;
  unsigned long length; unsigned long max_length;
  unsigned int name_length, org_name_length, table_length, org_table_length, db_length,
    catalog_length, def_length;
  unsigned int flags; unsigned int decimals; unsigned int charsetnr; int type;
  void *extension;
} LC_MYSQL_FIELD;
MYSQL *mysql_init(MYSQL *m);
MYSQL *mysql_real_connect(MYSQL *m, const char *host, const char *user, const char *passwd,
                          const char *db, unsigned int port, const char *unix_socket, unsigned long flags);
const char *mysql_error(MYSQL *m);
void mysql_close(MYSQL *m);
int mysql_real_query(MYSQL *m, const char *q, unsigned long len);
MYSQL_RES *mysql_store_result(MYSQL *m);
MYSQL_RES *mysql_use_result(MYSQL *m);
unsigned int mysql_errno(MYSQL *m);
unsigned int mysql_field_count(MYSQL *m);
unsigned long long mysql_affected_rows(MYSQL *m);
unsigned int mysql_num_fields(MYSQL_RES *r);
unsigned long long mysql_num_rows(MYSQL_RES *r);
LC_MYSQL_FIELD *mysql_fetch_field_direct(MYSQL_RES *r, unsigned int i);
MYSQL_ROW mysql_fetch_row(MYSQL_RES *r);
unsigned long *mysql_fetch_lengths(MYSQL_RES *r);
void mysql_free_result(MYSQL_RES *r);
unsigned long mysql_real_escape_string(MYSQL *m, char *to, const char *from, unsigned long len);
int mysql_set_character_set(MYSQL *m, const char *cs);
int mysql_ping(MYSQL *m);
]]

local function load_lib()
  for _, name in ipairs({ "libmariadb.so.3", "mariadb", "libmysqlclient.so.21" }) do
    local ok, lib = pcall(ffi.load, name)
    if ok then return lib end
  end
  error("cannot load libmariadb (install the libmariadb3 package)", 0)
end

-- ddl_commits: CREATE/ALTER TABLE commit the open transaction (the core runs DDL before it).
-- stream_connection: a streamed result (cursor()) blocks its connection until it is read, so
-- the core keeps a second connection for the source's cursors.
local M = { name = "MySqlDatabaseDialect", ddl_commits = true, stream_connection = true }
local C
local format, concat = string.format, table.concat

--- "jdbc:mysql://host[:port][/db][?k=v&...]" (or jdbc:mariadb:) -> { host, port, db, params }.
function M.parse_url(url)
  local rest = type(url) == "string" and (url:match("^jdbc:mysql://(.*)$") or url:match("^jdbc:mariadb://(.*)$"))
  if not rest then return nil, "not a jdbc:mysql:// or jdbc:mariadb:// URL: " .. tostring(url) end
  local params = {}
  local q = rest:find("?", 1, true)
  if q then
    for k, v in rest:sub(q + 1):gmatch("([^&=]+)=([^&]*)") do params[k] = v end
    rest = rest:sub(1, q - 1)
  end
  local hostport, db = rest:match("^([^/]*)/?(.*)$")
  local host, port = hostport:match("^([^:]*):?(%d*)$")
  if not host then return nil, "cannot read host:port in " .. url end
  return { host = host ~= "" and host or "localhost", port = tonumber(port) or 3306,
    db = db ~= "" and db or nil, params = params }
end

--- name quoted as a MySQL identifier (`name`, with ` doubled), as Confluent's MySQL dialect.
function M.quote(name)
  return "`" .. tostring(name):gsub("`", "``") .. "`"
end

--- s as a SQL string literal (no connection: quotes and backslashes escaped).
function M.literal(s)
  return "'" .. tostring(s):gsub("\\", "\\\\"):gsub("'", "''") .. "'"
end

local Conn = {}
Conn.__index = Conn

--- Opens a connection; raises the server's message (e.g. Access denied for user ...).
function M.connect(u, user, password, timezone)
  C = C or load_lib()
  local h = C.mysql_init(nil)
  if h == nil then error("cannot connect to MySQL: out of memory", 0) end
  user = user or u.params.user
  password = password or u.params.password
  if C.mysql_real_connect(h, u.host, user, password, u.db, u.port, u.params.socket, 0) == nil then
    local msg = ffi.string(C.mysql_error(h))
    C.mysql_close(h)
    error(format("cannot connect to MySQL at %s:%d: %s", u.host, u.port, msg), 0)
  end
  C.mysql_set_character_set(h, "utf8mb4")
  local c = setmetatable({ _h = ffi.gc(h, C.mysql_close), url = u }, Conn)
  local tz = timezone or "UTC"
  if tz == "UTC" or tz == "Z" or tz == "GMT" or tz == "Etc/UTC" then tz = "+00:00" end
  c:query("SET time_zone = " .. M.literal(tz))
  return c
end

function Conn:escape(s)
  local buf = ffi.new("char[?]", #s * 2 + 1)
  local n = C.mysql_real_escape_string(self._h, buf, s, #s)
  return "'" .. ffi.string(buf, n) .. "'"
end

-- sql with its $1.. parameters written in as escaped literals.
function Conn:bind(sql, params)
  if params and (params.n or #params) > 0 then
    sql = sql:gsub("%$(%d+)", function(i)
      local v = params[tonumber(i)]
      if v == nil then return "NULL" end
      local t = type(v)
      if t == "boolean" then return v and "1" or "0" end
      if t == "number" then
        if v == math.floor(v) and math.abs(v) < 2 ^ 63 then return format("%d", v) end
        return format("%.17g", v)
      end
      if t == "cdata" then return (tostring(v):gsub("U?LL$", "")) end
      return self:escape(tostring(v))
    end)
  end
  return sql
end

-- The column entries of a result (query()'s columns).
local function result_columns(r)
  local cols = {}
  for f = 0, C.mysql_num_fields(r) - 1 do
    local fd = C.mysql_fetch_field_direct(r, f)
    cols[f + 1] = { name = ffi.string(fd.name, fd.name_length), oid = fd.type,
      length = tonumber(fd.length), decimals = fd.decimals, flags = fd.flags, binary = fd.charsetnr == 63 }
  end
  return cols
end

-- The current row of r (nf columns) as a list of text values or nil.
local function row_values(r, row, nf)
  local lens = C.mysql_fetch_lengths(r)
  local t = {}
  for f = 0, nf - 1 do
    if row[f] ~= nil then t[f + 1] = ffi.string(row[f], lens[f]) end
  end
  return t
end

--- Runs sql with $1.. parameters written in as escaped literals; returns _pg's result shape.
function Conn:query(sql, params)
  sql = self:bind(sql, params)
  local h = self._h
  if C.mysql_real_query(h, sql, #sql) ~= 0 then
    error(format("SQL error: %s (in: %s)", ffi.string(C.mysql_error(h)), sql), 0)
  end
  local out = { columns = {}, rows = {}, changed = 0 }
  local r = C.mysql_store_result(h)
  if r == nil then
    if C.mysql_field_count(h) ~= 0 then
      error(format("SQL error: %s (in: %s)", ffi.string(C.mysql_error(h)), sql), 0)
    end
    out.changed = tonumber(C.mysql_affected_rows(h))
    return out
  end
  local nf = C.mysql_num_fields(r)
  out.columns = result_columns(r)
  local n = 0
  while true do
    local row = C.mysql_fetch_row(r)
    if row == nil then break end
    n = n + 1
    out.rows[n] = row_values(r, row, nf)
  end
  C.mysql_free_result(r)
  return out
end

local Cursor = {}
Cursor.__index = Cursor

--- Runs sql with params as a streamed result (mysql_use_result: rows come from the server as
-- they are read, never held whole): cur:fetch(n) answers query()'s shape with the next n rows
-- at most (fewer: the end). The connection runs nothing else until the result is read to its
-- end; cur:close() raises when it was not (the caller then closes the connection, which is
-- cheaper than reading the rest).
function Conn:cursor(sql, params)
  sql = self:bind(sql, params)
  local h = self._h
  if C.mysql_real_query(h, sql, #sql) ~= 0 then
    error(format("SQL error: %s (in: %s)", ffi.string(C.mysql_error(h)), sql), 0)
  end
  local r = C.mysql_use_result(h)
  if r == nil then
    if C.mysql_field_count(h) ~= 0 then
      error(format("SQL error: %s (in: %s)", ffi.string(C.mysql_error(h)), sql), 0)
    end
    return setmetatable({ c = self, columns = {}, sql = sql }, Cursor)
  end
  return setmetatable({ c = self, r = r, nf = C.mysql_num_fields(r), columns = result_columns(r), sql = sql },
    Cursor)
end

--- The next n rows at most ({columns, rows}); raises the server's message when the stream
-- breaks (e.g. the server went away).
function Cursor:fetch(n)
  local out = { columns = self.columns, rows = {}, changed = 0 }
  local r = self.r
  if not r then return out end
  local rows = out.rows
  for i = 1, n do
    local row = C.mysql_fetch_row(r)
    if row == nil then
      local h = self.c._h
      local failed = C.mysql_errno(h) ~= 0
      local msg = failed and ffi.string(C.mysql_error(h))
      C.mysql_free_result(r)
      self.r = nil
      if failed then error(format("SQL error: %s (in: %s)", msg, self.sql), 0) end
      break
    end
    rows[i] = row_values(r, row, self.nf)
  end
  return out
end

--- Ends the cursor: frees a result read to its end; raises when rows are left (the
-- connection must then be closed, as reading the rest could take long).
function Cursor:close()
  if self.r then
    self.r = nil -- left to the connection's close
    error("the result was not read to its end", 0)
  end
end

--- True while the server connection is usable.
function Conn:alive()
  return self._h ~= nil and C.mysql_ping(self._h) == 0
end

--- Closes the connection.
function Conn:close()
  if self._h then
    C.mysql_close(ffi.gc(self._h, nil))
    self._h = nil
  end
end

local UNSIGNED_FLAG = 32
-- enum_field_types -> _jdbc kind
local TYPE_KIND = {
  [0] = "numeric", [246] = "numeric", [1] = "int8", [2] = "int16", [3] = "int32", [9] = "int32",
  [8] = "int64", [4] = "float", [5] = "double", [7] = "timestamp", [12] = "timestamp",
  [10] = "date", [14] = "date", [11] = "time", [13] = "int32", [15] = "string", [253] = "string",
  [254] = "string", [247] = "string", [248] = "string", [249] = "string", [250] = "string",
  [251] = "string", [252] = "string", [245] = "string",
}

--- The kind of a result column (a column entry of query()), with precision and scale for
-- DECIMAL; unsigned integers widen one step as Confluent's MySQL dialect does.
function M.column_kind(oid, col)
  local k = TYPE_KIND[oid] or "string"
  col = type(col) == "table" and col or {}
  if oid == 16 then return col.length == 1 and "boolean" or "bytes" end
  if k == "string" and col.binary and oid ~= 247 and oid ~= 248 then return "bytes" end
  if col.flags and bit.band(col.flags, UNSIGNED_FLAG) ~= 0 then
    if k == "int8" then k = "int16" elseif k == "int16" then k = "int32" elseif k == "int32" then k = "int64" end
  end
  if k == "numeric" then
    local scale = col.decimals or 0
    local unsigned = col.flags and bit.band(col.flags, UNSIGNED_FLAG) ~= 0
    local prec = (col.length or 0) - (scale > 0 and 1 or 0) - (unsigned and 0 or 1)
    return k, prec, scale
  end
  return k
end

--- A BIT(1) value (one raw byte) as a boolean.
function M.bool_of(v) return v ~= "\0" and v ~= "" and v ~= "0" end

--- Bytes come back raw.
function M.bytes_of(text) return text end

--- Bytes go out as a binary-safe escaped literal.
function M.bytes_param(s) return s end

-- Sink type mapping, as Confluent's MySqlDatabaseDialect.getSqlType (key columns: VARCHAR(256)).
local SQL_TYPE = {
  INT8 = "TINYINT", INT16 = "SMALLINT", INT32 = "INT", INT64 = "BIGINT", FLOAT32 = "FLOAT",
  FLOAT64 = "DOUBLE", BOOLEAN = "TINYINT", STRING = "TEXT", BYTES = "VARBINARY(1024)",
  ["org.apache.kafka.connect.data.Decimal"] = "DECIMAL(65,%s)",
  ["org.apache.kafka.connect.data.Date"] = "DATE",
  ["org.apache.kafka.connect.data.Time"] = "TIME(3)",
  ["org.apache.kafka.connect.data.Timestamp"] = "DATETIME(3)",
}
M.SQL_TYPE = SQL_TYPE
M.KEY_STRING_TYPE = "VARCHAR(256)"

--- INSERT ... ON DUPLICATE KEY UPDATE c=VALUES(c) for table with cols and keys.
function M.upsert_sql(qi, tname, cols, keys)
  local ph, qc, sets, iskey = {}, {}, {}, {}
  for _, k in ipairs(keys) do iskey[k] = true end
  for i, c in ipairs(cols) do
    qc[i] = qi(c)
    ph[i] = "$" .. i
    if not iskey[c] then sets[#sets + 1] = qi(c) .. "=VALUES(" .. qi(c) .. ")" end
  end
  if #sets == 0 then sets[1] = qi(keys[1]) .. "=" .. qi(keys[1]) end
  return format("INSERT INTO %s(%s) VALUES(%s) ON DUPLICATE KEY UPDATE %s", tname, concat(qc, ","),
    concat(ph, ","), concat(sets, ","))
end

--- Columns of tname in database schema: { {name, type, notnull}, ... } in order.
function M.table_columns(c, schema, tname)
  local r = c:query("SELECT column_name, data_type, is_nullable FROM information_schema.columns "
    .. "WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position", { schema or c.db, tname, n = 2 })
  local out = {}
  for i, row in ipairs(r.rows) do out[i] = { name = row[1], type = row[2], notnull = row[3] == "NO" } end
  return out
end

--- Tables (and views when asked) of the connection's database, or of every database whose
-- name matches catalog_pattern (LIKE) when set: MySQL's catalogs are its databases, as in
-- Confluent's connector (catalog.pattern). Confluent's TableId for MySQL has the database as
-- its catalog and no schema: the offset name is "db.table".
function M.list_tables(c, _, types, catalog_pattern)
  local kinds = {}
  for _, t in ipairs(types) do
    if t == "TABLE" then kinds[#kinds + 1] = "'BASE TABLE'" elseif t == "VIEW" then kinds[#kinds + 1] = "'VIEW'" end
  end
  if #kinds == 0 then kinds[1] = "'BASE TABLE'" end
  local where, params = "table_schema = DATABASE()", nil
  if catalog_pattern and catalog_pattern ~= "" then
    where = "table_schema LIKE $1 AND table_schema NOT IN ('information_schema','mysql','performance_schema','sys')"
    params = { catalog_pattern, n = 1 }
  end
  local r = c:query("SELECT table_schema, table_name FROM information_schema.tables WHERE table_type IN ("
    .. concat(kinds, ",") .. ") AND " .. where .. " ORDER BY table_schema, table_name", params)
  local out = {}
  for i, row in ipairs(r.rows) do
    out[i] = { catalog = row[1], schema = row[1], name = row[2], fqn = row[1] .. "." .. row[2] }
  end
  return out
end

--- The schema the sink creates tables in: the connection's database.
function M.default_schema(c) return c.db end

return M
