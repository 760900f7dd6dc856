--- Record headers: an ordered list of {name, value} pairs, as Kafka keeps them (names may
-- repeat; order is kept), with map-style access for scripts. Exported as connect.headers.
--
--   local h = record.headers          -- h[1] = {"a", "1"}, h[2] = {"b", "2"}, h[3] = {"a", "3"}
--   h.a                               -- "3": the last value with that name (Kafka's lastWithName)
--   h.b = "x"                         -- replaces every "b" header by one, where the first was
--   h.a = nil                         -- removes every "a" header
--   connect.headers.add(h, "a", "4")  -- appends, even when the name is present
--   for i, e in ipairs(h) do print(e[1], e[2]) end
--
-- The list lives in the table's array part and names are never stored as keys, so every
-- string-keyed read and write goes through the metatable below. The metatable itself is
-- made in C (lua/headers.c), which gives it to the headers of every consumed record.
local core = require "luaconnect.core"

local type, rawset, setmetatable, getmetatable, pairs, ipairs, sort, format, tostring =
  type, rawset, setmetatable, getmetatable, pairs, ipairs, table.sort, string.format, tostring

local mt = core.headers_mt
local H = { mt = mt }

--- The last value of the header called name, or nil.
local function last(h, name)
  for i = #h, 1, -1 do
    local e = h[i]
    if e[1] == name then return e[2] end
  end
  return nil
end

--- Removes every header called name, keeping the others in order. Returns how many went.
local function remove(h, name)
  local n, j = #h, 0
  for i = 1, n do
    local e = h[i]
    if e[1] ~= name then
      j = j + 1
      h[j] = e
    end
  end
  for i = j + 1, n do h[i] = nil end
  return n - j
end

--- Replaces every header called name by one {name, value} where the first of them was
-- (appended when there was none); value nil removes them.
local function set(h, name, value)
  if value == nil then
    remove(h, name)
    return
  end
  local n = #h
  for i = 1, n do
    if h[i][1] == name then
      h[i] = { name, value }
      local j = i
      for k = i + 1, n do
        local e = h[k]
        if e[1] ~= name then
          j = j + 1
          h[j] = e
        end
      end
      for k = j + 1, n do h[k] = nil end
      return
    end
  end
  rawset(h, n + 1, { name, value })
end

mt.__index = function(h, name)
  if type(name) == "string" then return last(h, name) end
  return nil
end

mt.__newindex = function(h, name, value)
  if type(name) == "string" then
    set(h, name, value)
  else
    rawset(h, name, value) -- h[#h + 1] = {name, value} appends, as table.insert does
  end
end

-- Turns a plain table in place into headers: its {name, value} entries stay first, then its
-- name = value fields in name order (a Lua map has no order; sorting makes it repeatable).
local function adopt(t)
  local names = nil
  for k in pairs(t) do
    if type(k) == "string" then
      names = names or {}
      names[#names + 1] = k
    end
  end
  if names then
    sort(names)
    local n = #t
    for i, k in ipairs(names) do
      t[n + i] = { k, t[k] }
      t[k] = nil
    end
  end
  return setmetatable(t, mt)
end

--- True when v is a headers list (has the headers metatable).
function H.is(v)
  return getmetatable(v) == mt
end

--- New headers from init (optional): a list of {name, value} pairs, kept in order, and/or a
-- map {name = value}, added in name order. The list's entries are copied, not shared; an
-- entry without a value is a null header.
function H.new(init)
  local h = setmetatable({}, mt)
  if init == nil then return h end
  if type(init) ~= "table" then
    error(format("connect.headers.new: expected a table, got a %s", type(init)), 2)
  end
  for i = 1, #init do
    local e = init[i]
    if type(e) ~= "table" or type(e[1]) ~= "string" then
      error(format("connect.headers.new: entry %d must be a {name, value} pair with a string "
        .. "name, got %s", i, type(e) == "table" and "a " .. type(e[1]) .. " name" or "a " .. type(e)), 2)
    end
    local v = e[2]
    if v == nil then v = core.null end
    rawset(h, i, { e[1], v })
  end
  local names = nil
  for k in pairs(init) do
    if type(k) == "string" then
      names = names or {}
      names[#names + 1] = k
    end
  end
  if names then
    sort(names)
    local n = #h
    for i, k in ipairs(names) do rawset(h, n + i, { k, init[k] }) end
  end
  return h
end

--- The headers of record, made headers in place if they are a plain table (a source script
-- may return headers = {name = value}) and created empty if absent. What transforms use.
function H.of(record)
  local h = record.headers
  if h == nil then
    h = setmetatable({}, mt)
    record.headers = h
  elseif getmetatable(h) ~= mt then
    if type(h) ~= "table" then
      error(format("record headers must be a table, got a %s", type(h)), 2)
    end
    adopt(h)
  end
  return h
end

-- Functions below take headers or nil (a record without headers), and also a plain table,
-- which they make headers in place first.
local function check(h)
  if h ~= nil and getmetatable(h) ~= mt then
    if type(h) ~= "table" then error(format("headers must be a table, got a %s", type(h)), 3) end
    adopt(h)
  end
  return h
end

--- Appends header {name, value}, even when a header called name is present (Kafka's
-- Headers.add); a nil value is a null header (connect.null). Returns h.
function H.add(h, name, value)
  h = check(h)
  if type(name) ~= "string" then
    error(format("header names must be strings, got a %s", type(name)), 2)
  end
  if value == nil then value = core.null end
  rawset(h, #h + 1, { name, value })
  return h
end

--- The last value of the header called name, or nil (Kafka's Headers.lastWithName); h.name
-- does the same.
function H.last(h, name)
  h = check(h)
  if h == nil then return nil end
  return last(h, name)
end

--- Every value of the header called name, in order (Kafka's Headers.allWithName); {} if none.
function H.all(h, name)
  h = check(h)
  local out = {}
  if h == nil then return out end
  for i = 1, #h do
    local e = h[i]
    if e[1] == name then out[#out + 1] = e[2] end
  end
  return out
end

--- True when h has a header called name (whatever its value, null included).
function H.has(h, name)
  h = check(h)
  if h == nil then return false end
  for i = 1, #h do
    if h[i][1] == name then return true end
  end
  return false
end

--- Removes every header called name (Kafka's Headers.remove). Returns how many went.
function H.remove(h, name)
  h = check(h)
  if h == nil then return 0 end
  return remove(h, name)
end

--- Sets the header called name to value alone (h.name = value does the same): the first of
-- that name is replaced and the others removed; nil removes them all. Returns h.
function H.set(h, name, value)
  h = check(h)
  if type(name) ~= "string" then
    error(format("header names must be strings, got a %s", type(name)), 2)
  end
  set(h, name, value)
  return h
end

--- Iterator over (name, value) in order: for name, value in connect.headers.each(h) do ... end
function H.each(h)
  h = check(h)
  local i = 0
  return function()
    i = i + 1
    local e = h and h[i]
    if e then return e[1], e[2] end
  end
end

--- A copy of h (new entry tables) for a record that must not share h, or nil for nil.
function H.copy(h)
  h = check(h)
  if h == nil then return nil end
  local out = setmetatable({}, mt)
  for i = 1, #h do
    local e = h[i]
    rawset(out, i, { e[1], e[2] })
  end
  return out
end

--- The headers as plain data for JSON: a list of [name, value] pairs, or nil when empty.
function H.to_list(h)
  h = check(h)
  if h == nil or h[1] == nil then return nil end
  local out = {}
  for i = 1, #h do
    local e = h[i]
    local v = e[2]
    if v == nil then v = core.null end
    out[i] = { e[1], v }
  end
  return out
end

mt.__tostring = function(h)
  local parts = {}
  for i = 1, #h do
    local e = h[i]
    parts[i] = format("%s=%s", tostring(e[1]), tostring(e[2]))
  end
  return "headers{" .. table.concat(parts, ", ") .. "}"
end

return H
