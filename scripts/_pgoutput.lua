--- _pgoutput: decodes PostgreSQL's logical replication stream (pgoutput, protocol version 1)
-- into Lua tables, and encodes the standby status update. Pure Lua over strings: no libpq here,
-- so the decoder can be tested on captured bytes.
--
--   local pgo = require "_pgoutput"
--   local m = pgo.copy_message(buf)   -- {kind="w", wal_start=, wal_end=, data=} or {kind="k", ...}
--   local msg = pgo.decode(m.data)    -- {type="insert", relid=, new={...}} etc.
--
-- LSNs and timestamps are Lua numbers: LSNs stay below 2^53 for any real server, and
-- microseconds since 2000-01-01 stay below 2^53 until the year 2285.
local M = {}

local byte, sub, char = string.byte, string.sub, string.char
local floor = math.floor

--- Microseconds between 1970-01-01 and PostgreSQL's epoch 2000-01-01.
M.PG_EPOCH_US = 946684800000000

local function u32(s, i)
  local a, b, c, d = byte(s, i, i + 3)
  return ((a * 256 + b) * 256 + c) * 256 + d
end

local function i32(s, i)
  local v = u32(s, i)
  if v >= 2147483648 then v = v - 4294967296 end
  return v
end

local function u16(s, i)
  local a, b = byte(s, i, i + 1)
  return a * 256 + b
end

local function i64(s, i)
  local hi, lo = u32(s, i), u32(s, i + 4)
  if hi >= 2147483648 then return (hi - 4294967296) * 4294967296 + lo end
  return hi * 4294967296 + lo
end
M.i64 = i64

local function cstring(s, i)
  local z = s:find("\0", i, true)
  if not z then error("pgoutput: unterminated string at byte " .. i, 0) end
  return sub(s, i, z - 1), z + 1
end

--- n as 8 big-endian bytes (n >= 0).
function M.be64(n)
  local hi, lo = floor(n / 4294967296), n % 4294967296
  local out = {}
  for k = 3, 0, -1 do out[#out + 1] = char(floor(hi / 256 ^ k) % 256) end
  for k = 3, 0, -1 do out[#out + 1] = char(floor(lo / 256 ^ k) % 256) end
  return table.concat(out)
end

--- "16/B374D848" -> number, nil for anything else.
function M.lsn_of(text)
  local hi, lo = tostring(text or ""):match("^(%x+)/(%x+)$")
  if not hi then return nil end
  return tonumber(hi, 16) * 4294967296 + tonumber(lo, 16)
end

--- number -> "16/B374D848" (PostgreSQL's LSN text).
function M.lsn_text(n)
  return string.format("%X/%X", floor(n / 4294967296), n % 4294967296)
end

--- One CopyData message of the replication stream: XLogData ('w') or keepalive ('k').
function M.copy_message(buf)
  local kind = sub(buf, 1, 1)
  if kind == "w" then
    return { kind = "w", wal_start = i64(buf, 2), wal_end = i64(buf, 10), send_time = i64(buf, 18),
      data = sub(buf, 26) }
  elseif kind == "k" then
    return { kind = "k", wal_end = i64(buf, 2), send_time = i64(buf, 10), reply = byte(buf, 18) == 1 }
  end
  return { kind = kind }
end

--- The standby status update ('r'): written, flushed and applied up to lsn.
function M.status_update(lsn, now_us_since_2000, reply)
  local l = M.be64(lsn)
  return "r" .. l .. l .. l .. M.be64(now_us_since_2000) .. char(reply and 1 or 0)
end

-- TupleData: a list of column values, each nil (NULL), M.UNCHANGED (unchanged TOAST) or text.
M.UNCHANGED = setmetatable({}, { __tostring = function() return "unchanged-toast" end })

local function tuple(s, i)
  local n = u16(s, i)
  i = i + 2
  local vals = { n = n }
  for c = 1, n do
    local k = sub(s, i, i)
    i = i + 1
    if k == "n" then
      vals[c] = nil
    elseif k == "u" then
      vals[c] = M.UNCHANGED
    elseif k == "t" or k == "b" then
      local len = u32(s, i)
      vals[c] = sub(s, i + 4, i + 3 + len)
      i = i + 4 + len
    else
      error("pgoutput: unknown tuple column kind '" .. k .. "'", 0)
    end
  end
  return vals, i
end

--- Decodes one pgoutput message (the payload of an XLogData).
function M.decode(s)
  local t = sub(s, 1, 1)
  if t == "B" then
    return { type = "begin", final_lsn = i64(s, 2), commit_time = i64(s, 10), xid = u32(s, 18) }
  elseif t == "C" then
    return { type = "commit", flags = byte(s, 2), commit_lsn = i64(s, 3), end_lsn = i64(s, 11),
      commit_time = i64(s, 19) }
  elseif t == "R" then
    local m = { type = "relation", relid = u32(s, 2), columns = {} }
    local i
    m.namespace, i = cstring(s, 6)
    m.name, i = cstring(s, i)
    m.replident = sub(s, i, i)
    local n = u16(s, i + 1)
    i = i + 3
    for c = 1, n do
      local col = { key = byte(s, i) == 1 }
      col.name, i = cstring(s, i + 1)
      col.oid, col.typmod = u32(s, i), i32(s, i + 4)
      i = i + 8
      m.columns[c] = col
    end
    return m
  elseif t == "I" then
    local m = { type = "insert", relid = u32(s, 2) }
    m.new = tuple(s, 7) -- byte 6 is 'N'
    return m
  elseif t == "U" then
    local m = { type = "update", relid = u32(s, 2) }
    local i = 6
    local k = sub(s, i, i)
    if k == "K" or k == "O" then
      m.old, i = tuple(s, i + 1)
      m.old_kind = k
      k = sub(s, i, i)
    end
    m.new = tuple(s, i + 1)
    return m
  elseif t == "D" then
    local m = { type = "delete", relid = u32(s, 2), old_kind = sub(s, 6, 6) }
    m.old = tuple(s, 7)
    return m
  elseif t == "T" then
    local n = u32(s, 2)
    local m = { type = "truncate", options = byte(s, 6), relids = {} }
    for r = 1, n do m.relids[r] = u32(s, 7 + (r - 1) * 4) end
    return m
  elseif t == "Y" then
    return { type = "type" }
  elseif t == "O" then
    return { type = "origin" }
  end
  return { type = "unknown", tag = t }
end

return M
