--- _pgtypes: PostgreSQL text forms that need more than a pattern, read as Debezium's
-- PostgreSQL connector gives them: arrays of any dimension, hstore (Debezium's JSON text in
-- the key order of the java.util.HashMap it builds), the geometric types. Pure Lua over
-- strings (the text PostgreSQL writes on the replication stream and to a query), so each
-- parser is tested on its own (tests/lua/_pgtypes_spec.lua).
--
--   local pgt = require "_pgtypes"
--   pgt.array("{{1,2},{3,NULL}}")      -- { {"1","2",n=2}, {"3",nil,n=2}, n=2 }
--   pgt.hstore('"a"=>"1", "b"=>NULL')   -- { {"a","1"}, {"b",nil} } in the text's order
--   pgt.hstore_json(pairs_)             -- '{"b":null,"a":"1"}' (HashMap order)
local connect = require "luaconnect"
local bit = require "bit"

local M = {}

local concat, sub, find, byte = table.concat, string.sub, string.find, string.byte
local band, bxor, rshift = bit.band, bit.bxor, bit.rshift
local json = connect.json.encode

-- One quoted item at i (just after its opening '"'), backslash escapes undone: text, next i.
local function quoted(v, i, what)
  local buf = {}
  while true do
    local j = find(v, '[\\"]', i)
    if not j then error(what .. ": unterminated quoted item in " .. v, 0) end
    buf[#buf + 1] = sub(v, i, j - 1)
    if sub(v, j, j) == '"' then return concat(buf), j + 1 end
    buf[#buf + 1] = sub(v, j + 1, j + 1)
    i = j + 2
  end
end

--- The text form of an array of any dimension ('{1,NULL,"a \"b\""}', '{{1,2},{3,4}}',
-- '[0:1]={1,2}') -> a list of item texts (nil for NULL) and, for a dimension below, lists;
-- each list has n = its item count.
function M.array(v)
  local i = 1
  if sub(v, 1, 1) == "[" then i = (find(v, "=", 1, true) or 0) + 1 end -- bounds decoration
  local function list()
    if sub(v, i, i) ~= "{" then error("array: not an array: " .. v, 0) end
    i = i + 1
    local out, n = {}, 0
    if sub(v, i, i) == "}" then
      i = i + 1
      out.n = 0
      return out
    end
    while true do
      local c = sub(v, i, i)
      n = n + 1
      if c == "{" then
        out[n] = list()
      elseif c == '"' then
        out[n], i = quoted(v, i + 1, "array")
      else
        local j = find(v, "[,}]", i)
        if not j then error("array: unterminated array " .. v, 0) end
        local text = sub(v, i, j - 1)
        if text:upper() ~= "NULL" then out[n] = text end
        i = j
      end
      c = sub(v, i, i)
      i = i + 1
      if c == "}" then break end
      if c ~= "," then error("array: malformed array " .. v, 0) end
    end
    out.n = n
    return out
  end
  return list()
end

--- hstore's text form ('"a"=>"1", "b"=>NULL') -> list of {key, value-or-nil} in the text's
-- order (PostgreSQL's: by key length, then bytes), as pgjdbc's HStoreConverter reads it.
function M.hstore(v)
  local out, i, len = {}, 1, #v
  while true do
    i = find(v, "[^%s,]", i)
    if not i then return out end
    if sub(v, i, i) ~= '"' then error("hstore: expected a quoted key at " .. i .. " in " .. v, 0) end
    local key, val
    key, i = quoted(v, i + 1, "hstore")
    local j = find(v, "=>", i, true)
    if not j then error("hstore: expected => after a key in " .. v, 0) end
    i = find(v, "[^%s]", j + 2) or len + 1
    if sub(v, i, i) == '"' then
      val, i = quoted(v, i + 1, "hstore")
    elseif sub(v, i, i + 3):upper() == "NULL" then
      i = i + 4
    else
      error("hstore: expected a quoted value or NULL in " .. v, 0)
    end
    out[#out + 1] = { key, val }
  end
end

-- java.lang.String.hashCode of UTF-8 text: over UTF-16 code units, in 32-bit arithmetic
-- (kept as a number in [0, 2^32)). Invalid UTF-8 counts as U+FFFD, as Java decodes it.
local function java_hash(s)
  local h, i, len = 0, 1, #s
  local function add(u) h = (h * 31 + u) % 4294967296 end
  while i <= len do
    local c = byte(s, i)
    local cp, extra
    if c < 0x80 then cp, extra = c, 0
    elseif c >= 0xF0 then cp, extra = c % 8, 3
    elseif c >= 0xE0 then cp, extra = c % 16, 2
    elseif c >= 0xC0 then cp, extra = c % 32, 1
    else cp, extra = 0xFFFD, 0 end
    for k = 1, extra do
      local d = byte(s, i + k)
      if not d or d < 0x80 or d >= 0xC0 then cp, extra = 0xFFFD, k - 1 break end
      cp = cp * 64 + d % 64
    end
    i = i + extra + 1
    if cp >= 0x10000 then
      cp = cp - 0x10000
      add(0xD800 + math.floor(cp / 1024))
      add(0xDC00 + cp % 1024)
    else
      add(cp)
    end
  end
  return h
end
M.java_hash = java_hash

--- The order a java.util.HashMap filled with these keys (in this order, no duplicates)
-- iterates them: by bucket ((h ^ h >>> 16) & (capacity - 1), the capacity doubled from 16
-- while more than 3/4 full), then in insertion order within a bucket. Returns the indexes of
-- keys. (A bucket of 8 or more keys in a table of 64+ becomes a tree in Java; hstore keys
-- that collide that much are not expected and keep insertion order here.)
function M.hashmap_order(keys)
  local cap = 16
  while #keys > cap * 0.75 do cap = cap * 2 end
  local idx = {}
  for k, key in ipairs(keys) do
    local h = java_hash(key)
    idx[k] = { band(bxor(h, rshift(h, 16)), cap - 1), k }
  end
  table.sort(idx, function(a, b)
    if a[1] ~= b[1] then return a[1] < b[1] end
    return a[2] < b[2]
  end)
  for k, e in ipairs(idx) do idx[k] = e[2] end
  return idx
end

--- Debezium's hstore.handling.mode=json: the pairs from M.hstore as one JSON object text,
-- keys in HashMap order, NULL values as null, strings in Jackson's escapes.
function M.hstore_json(kv)
  local keys = {}
  for k, p in ipairs(kv) do keys[k] = p[1] end
  local parts = {}
  for k, i in ipairs(M.hashmap_order(keys)) do
    local p = kv[i]
    parts[k] = json(p[1]) .. ":" .. (p[2] == nil and "null" or json(p[2]))
  end
  return "{" .. concat(parts, ",") .. "}"
end

--- Debezium's hstore.handling.mode=map: a Lua table key -> value (connect.null for NULL).
function M.hstore_map(kv)
  local out = {}
  for _, p in ipairs(kv) do out[p[1]] = p[2] == nil and connect.null or p[2] end
  return out
end

return M
