--- _pg: the PostgreSQL dialect of the JDBC core (_jdbc): a LuaJIT FFI binding to libpq
-- (libpq.so.5, package libpq5) plus PostgreSQL's quoting, URL parsing, type mapping both ways
-- and upsert syntax. Everything here is PostgreSQL-specific; the modes, offsets and record
-- building live once in _jdbc.
--
--   local pg = require "_pg"
--   local c = pg.connect(pg.parse_url("jdbc:postgresql://h:5432/db"), "user", "secret")
--   local res = c:query("SELECT id, name FROM t WHERE id > $1", { 5 })
--   -- res.columns = { {name, oid, typmod}, ... }, res.rows = { {"6", "a"}, ... } (text or nil)
--   c:close()
--
-- Values travel in libpq's text format both ways (PQexecParams with text parameters and
-- results): the session runs with TimeZone set to db.timezone (UTC by default) and
-- DateStyle ISO, so timestamps read and written here are plain ISO text.
local ffi = require "ffi"

ffi.cdef [[
typedef struct pg_conn PGconn;
typedef struct pg_result PGresult;
PGconn *PQconnectdb(const char *conninfo);
int PQstatus(const PGconn *conn);
char *PQerrorMessage(const PGconn *conn);
void PQfinish(PGconn *conn);
PGresult *PQexecParams(PGconn *conn, const char *command, int nParams, const unsigned int *paramTypes,
                       const char *const *paramValues, const int *paramLengths, const int *paramFormats,
                       int resultFormat);
int PQresultStatus(const PGresult *res);
char *PQresultErrorMessage(const PGresult *res);
void PQclear(PGresult *res);
int PQntuples(const PGresult *res);
int PQnfields(const PGresult *res);
char *PQfname(const PGresult *res, int field_num);
unsigned int PQftype(const PGresult *res, int field_num);
int PQfmod(const PGresult *res, int field_num);
char *PQgetvalue(const PGresult *res, int tup_num, int field_num);
int PQgetlength(const PGresult *res, int tup_num, int field_num);
int PQgetisnull(const PGresult *res, int tup_num, int field_num);
char *PQcmdTuples(PGresult *res);
]]

local function load_lib()
  local ok, lib = pcall(ffi.load, "libpq.so.5")
  if ok then return lib end
  local ok2, lib2 = pcall(ffi.load, "pq")
  if ok2 then return lib2 end
  error("cannot load libpq (install the libpq5 package): " .. tostring(lib), 0)
end

local M = { name = "PostgreSqlDatabaseDialect" }
local C -- loaded on first connect, so specs of the pure functions need no libpq

local CONNECTION_OK = 0
local PGRES_COMMAND_OK, PGRES_TUPLES_OK = 1, 2
local format, concat = string.format, table.concat

--- "jdbc:postgresql://host[:port][/db][?k=v&...]" -> { host, port, db, params } or nil, why.
function M.parse_url(url)
  local rest = type(url) == "string" and url:match("^jdbc:postgresql://(.*)$")
  if not rest then return nil, "not a jdbc:postgresql:// URL: " .. tostring(url) end
  local params = {}
  local q = rest:find("?", 1, true)
  if q then
    for k, v in rest:sub(q + 1):gmatch("([^&=]+)=([^&]*)") do params[k] = v end
    rest = rest:sub(1, q - 1)
  end
  local hostport, db = rest:match("^([^/]*)/?(.*)$")
  local host, port = hostport:match("^%[(.-)%]:?(%d*)$")
  if not host then host, port = hostport:match("^([^:]*):?(%d*)$") end
  if not host then return nil, "cannot read host:port in " .. url end
  return { host = host ~= "" and host or "localhost", port = tonumber(port) or 5432,
    db = db ~= "" and db or nil, params = params }
end

--- name quoted as a PostgreSQL identifier ("name", with " doubled).
function M.quote(name)
  return '"' .. tostring(name):gsub('"', '""') .. '"'
end

local function conninfo_value(v)
  return "'" .. tostring(v):gsub("\\", "\\\\"):gsub("'", "\\'") .. "'"
end

local Conn = {}
Conn.__index = Conn

--- Opens a connection; raises the server's message (e.g. password authentication failed).
function M.connect(u, user, password, timezone)
  C = C or load_lib()
  local parts = { "host=" .. conninfo_value(u.host), "port=" .. conninfo_value(u.port),
    "connect_timeout=10", "application_name='luaconnect'" }
  if u.db then parts[#parts + 1] = "dbname=" .. conninfo_value(u.db) end
  user = user or u.params.user
  password = password or u.params.password
  if user and user ~= "" then parts[#parts + 1] = "user=" .. conninfo_value(user) end
  if password and password ~= "" then parts[#parts + 1] = "password=" .. conninfo_value(password) end
  if u.params.sslmode then parts[#parts + 1] = "sslmode=" .. conninfo_value(u.params.sslmode) end
  local h = C.PQconnectdb(concat(parts, " "))
  if h == nil then error("cannot connect to PostgreSQL: out of memory", 0) end
  if C.PQstatus(h) ~= CONNECTION_OK then
    local msg = ffi.string(C.PQerrorMessage(h)):gsub("%s+$", "")
    C.PQfinish(h)
    error(format("cannot connect to PostgreSQL at %s:%d: %s", u.host, u.port, msg), 0)
  end
  local c = setmetatable({ _h = ffi.gc(h, C.PQfinish), url = u }, Conn)
  c:query("SET TimeZone = " .. M.literal(timezone or "UTC"))
  c:query("SET DateStyle = 'ISO'")
  return c
end

--- Runs sql with $1.. parameters (strings, numbers, booleans or nil); returns
-- { columns = {{name, oid, typmod}}, rows = {{text|nil, ...}}, changed = N }.
-- Raises "SQL error: <server message> (in: <sql>)".
function Conn:query(sql, params)
  local n = params and params.n or (params and #params) or 0
  local vals = n > 0 and ffi.new("const char *[?]", n) or nil
  local keep = {}
  for i = 1, n do
    local v = params[i]
    if v ~= nil then
      if type(v) == "boolean" then v = v and "t" or "f" end
      if type(v) == "number" and v == math.floor(v) and math.abs(v) < 2 ^ 63 then
        v = format("%d", v)
      end
      if type(v) == "cdata" then v = tostring(v):gsub("U?LL$", "") end
      v = tostring(v)
      keep[i] = v
      vals[i - 1] = v
    end
  end
  local r = C.PQexecParams(self._h, sql, n, nil, vals, nil, nil, 0)
  if r == nil then
    error(format("SQL error: %s (in: %s)", ffi.string(C.PQerrorMessage(self._h)):gsub("%s+$", ""), sql), 0)
  end
  local st = C.PQresultStatus(r)
  if st ~= PGRES_COMMAND_OK and st ~= PGRES_TUPLES_OK then
    local msg = ffi.string(C.PQresultErrorMessage(r)):gsub("%s+$", "")
    C.PQclear(r)
    error(format("SQL error: %s (in: %s)", msg, sql), 0)
  end
  local out = { columns = {}, rows = {}, changed = tonumber(ffi.string(C.PQcmdTuples(r))) or 0 }
  if st == PGRES_TUPLES_OK then
    local nf, nt = C.PQnfields(r), C.PQntuples(r)
    for f = 0, nf - 1 do
      out.columns[f + 1] = { name = ffi.string(C.PQfname(r, f)), oid = tonumber(C.PQftype(r, f)),
        typmod = C.PQfmod(r, f) }
    end
    for t = 0, nt - 1 do
      local row = {}
      for f = 0, nf - 1 do
        if C.PQgetisnull(r, t, f) == 0 then
          row[f + 1] = ffi.string(C.PQgetvalue(r, t, f), C.PQgetlength(r, t, f))
        end
      end
      out.rows[t + 1] = row
    end
  end
  keep = nil
  C.PQclear(r)
  return out
end

local Cursor = {}
Cursor.__index = Cursor

--- Runs sql with params through a server-side cursor (DECLARE lc_cursor NO SCROLL CURSOR in a
-- transaction of its own): cur:fetch(n) answers query()'s shape with the next n rows at most
-- (fewer: the end), cur:close() ends the transaction. One cursor per connection at a time;
-- an error rolls the transaction back, so the connection stays usable. Raises as query()
-- with the caller's statement in the message.
function Conn:cursor(sql, params)
  local ok, err = pcall(self.query, self, "BEGIN")
  if ok then ok, err = pcall(self.query, self, "DECLARE lc_cursor NO SCROLL CURSOR FOR " .. sql, params) end
  if not ok then
    pcall(self.query, self, "ROLLBACK")
    error((tostring(err):gsub("%(in: DECLARE lc_cursor NO SCROLL CURSOR FOR ", "(in: ", 1)), 0)
  end
  return setmetatable({ c = self }, Cursor)
end

--- The next n rows at most of the cursor ({columns, rows}); raises after rolling back.
function Cursor:fetch(n)
  local c = self.c
  local ok, r = pcall(c.query, c, format("FETCH FORWARD %d FROM lc_cursor", n))
  if not ok then
    pcall(c.query, c, "ROLLBACK")
    self.c = nil
    error(r, 0)
  end
  return r
end

--- Closes the cursor and ends its transaction (idempotent).
function Cursor:close()
  local c = self.c
  if not c then return end
  self.c = nil
  local ok, err = pcall(c.query, c, "CLOSE lc_cursor")
  if ok then ok, err = pcall(c.query, c, "COMMIT") end
  if not ok then
    pcall(c.query, c, "ROLLBACK")
    error(err, 0)
  end
end

--- True while the server connection is usable (false after the server went away).
function Conn:alive()
  if not self._h or C.PQstatus(self._h) ~= CONNECTION_OK then return false end
  return pcall(self.query, self, "SELECT 1")
end

--- Closes the connection.
function Conn:close()
  if self._h then
    C.PQfinish(ffi.gc(self._h, nil))
    self._h = nil
  end
end

--- s as a SQL string literal.
function M.literal(s)
  return "'" .. tostring(s):gsub("'", "''") .. "'"
end

-- Source type mapping: column OID -> kind (see _jdbc's KIND_* names).
local OID_KIND = {
  [16] = "boolean", [20] = "int64", [21] = "int16", [23] = "int32", [26] = "int64",
  [700] = "float", [701] = "double", [1700] = "numeric",
  [25] = "string", [1043] = "string", [1042] = "string", [19] = "string", [18] = "string",
  [114] = "string", [3802] = "string", [2950] = "string",
  [17] = "bytes", [1082] = "date", [1083] = "time", [1114] = "timestamp", [1184] = "timestamp",
}

--- The kind of a result column (oid, typmod): a _jdbc kind name, plus precision and scale for
-- numeric (typmod - 4 = precision << 16 | scale; -1 when the column has none).
function M.column_kind(oid, typmod)
  local k = OID_KIND[oid] or "string"
  if k == "numeric" then
    if typmod and typmod >= 4 then
      local m = typmod - 4
      return k, math.floor(m / 65536), m % 65536
    end
    return k, 0, -1
  end
  return k
end

--- Decodes bytea text output ("\x0a0b...") into bytes.
function M.bytes_of(text)
  if text:sub(1, 2) == "\\x" then
    return (text:sub(3):gsub("%x%x", function(h) return string.char(tonumber(h, 16)) end))
  end
  return text
end

--- Encodes bytes as a bytea text literal parameter.
function M.bytes_param(s)
  return "\\x" .. (s:gsub(".", function(ch) return format("%02x", ch:byte()) end))
end

-- Sink type mapping: Connect type (upper case) or logical name -> PostgreSQL column type, as
-- Confluent's PostgreSqlDatabaseDialect.getSqlType.
local SQL_TYPE = {
  INT8 = "SMALLINT", INT16 = "SMALLINT", INT32 = "INT", INT64 = "BIGINT", FLOAT32 = "REAL",
  FLOAT64 = "DOUBLE PRECISION", BOOLEAN = "BOOLEAN", STRING = "TEXT", BYTES = "BYTEA",
  ["org.apache.kafka.connect.data.Decimal"] = "DECIMAL",
  ["org.apache.kafka.connect.data.Date"] = "DATE",
  ["org.apache.kafka.connect.data.Time"] = "TIME",
  ["org.apache.kafka.connect.data.Timestamp"] = "TIMESTAMP",
}
M.SQL_TYPE = SQL_TYPE

--- The upsert statement for table with cols (all), keys (pk columns): INSERT ... ON CONFLICT.
function M.upsert_sql(qi, tname, cols, keys)
  local ph, qc, qk, sets = {}, {}, {}, {}
  local iskey = {}
  for _, k in ipairs(keys) do iskey[k] = true; qk[#qk + 1] = qi(k) end
  for i, c in ipairs(cols) do
    qc[i] = qi(c)
    ph[i] = "$" .. i
    if not iskey[c] then sets[#sets + 1] = qi(c) .. "=EXCLUDED." .. qi(c) end
  end
  local sql = format("INSERT INTO %s (%s) VALUES (%s) ON CONFLICT (%s) ", tname, concat(qc, ","),
    concat(ph, ","), concat(qk, ","))
  if #sets == 0 then return sql .. "DO NOTHING" end
  return sql .. "DO UPDATE SET " .. concat(sets, ",")
end

--- Columns of table (schema-qualified or not): { {name, type, notnull}, ... } in order.
function M.table_columns(c, schema, tname)
  local r = c:query("SELECT column_name, data_type, is_nullable FROM information_schema.columns "
    .. "WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position", { schema, tname, n = 2 })
  local out = {}
  for i, row in ipairs(r.rows) do out[i] = { name = row[1], type = row[2], notnull = row[3] == "NO" } end
  return out
end

--- Tables (and views when asked) of schema pattern (LIKE; nil: every non-system schema); a
-- catalog_pattern (LIKE) must match the connection's database (PostgreSQL's one catalog).
function M.list_tables(c, schema_pattern, types, catalog_pattern)
  local kinds = {}
  for _, t in ipairs(types) do
    if t == "TABLE" then kinds[#kinds + 1] = "'BASE TABLE'" elseif t == "VIEW" then kinds[#kinds + 1] = "'VIEW'" end
  end
  if #kinds == 0 then kinds[1] = "'BASE TABLE'" end
  local r = c:query("SELECT table_catalog, table_schema, table_name FROM information_schema.tables "
    .. "WHERE table_type IN (" .. concat(kinds, ",") .. ") AND table_schema LIKE $1 "
    .. "AND table_schema NOT IN ('pg_catalog','information_schema') AND table_catalog LIKE $2 "
    .. "ORDER BY table_schema, table_name", { schema_pattern or "%", catalog_pattern or "%", n = 2 })
  local out = {}
  for i, row in ipairs(r.rows) do out[i] = { catalog = row[1], schema = row[2], name = row[3] } end
  return out
end

return M
