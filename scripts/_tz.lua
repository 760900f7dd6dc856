--- _tz: time zones by id, as Joda-Time's DateTimeZone.forID resolves them, from the system's
-- tz database (TZif files under /usr/share/zoneinfo, Debian's tzdata; $TZDIR overrides it).
--
--   local tz = require "_tz"
--   local ny = assert(tz.zone("America/New_York"))
--   ny:offset_at_utc(1710054000000)   --> -14400000 (EDT: local = utc + offset)
--   ny:to_utc(local_ms)               --> Joda's convertLocalToUTC(local_ms, false)
--
-- Fixed offsets (UTC, +05:30, Etc/GMT-5 ...) need no file. A TZif file's 64-bit section
-- (v2+) gives the transitions; its footer, a POSIX TZ rule such as EST5EDT,M3.2.0,M11.1.0,
-- gives the offsets after the last one (Debian's "slim" files rely on it). Pure Lua: io.open
-- and string.byte. Zones are cached per id.
local M = {}
local format, floor, byte = string.format, math.floor, string.byte

M.dir = os.getenv("TZDIR") or "/usr/share/zoneinfo"

local HOUR, DAY = 3600000, 86400000
local ACCEPTED = "accepted: UTC, a fixed offset (+05:30, UTC+05:30, Etc/GMT-5) or a tz database "
  .. "id such as America/New_York"

-- Calendar ----------------------------------------------------------------------------------

-- Epoch day of year-month-day, proleptic Gregorian (the same arithmetic as _lake.days).
local function days(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = floor(y / 400)
  local yoe = y - era * 400
  local mp = m > 2 and m - 3 or m + 9
  local doe = yoe * 365 + floor(yoe / 4) - floor(yoe / 100) + floor((153 * mp + 2) / 5) + d - 1
  return era * 146097 + doe - 719468
end

local function leap(y) return y % 4 == 0 and (y % 100 ~= 0 or y % 400 == 0) end

local MDAYS = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 }

-- Year of an epoch day.
local function year_of(d)
  local y = floor(d / 365.2425) + 1970
  while days(y, 1, 1) > d do y = y - 1 end
  while days(y + 1, 1, 1) <= d do y = y + 1 end
  return y
end

-- Fixed offsets ------------------------------------------------------------------------------

--- Offset in ms of a fixed-offset id (Joda's forID for fixed zones, and the UTC+/GMT+ forms of
-- java.util.TimeZone): UTC, GMT, Z, +HH, +HH:MM, +HHMM, UTC+HH:MM, GMT+HH:MM, Etc/GMT+N (POSIX
-- sign: Etc/GMT+5 is -05:00). nil for anything else.
function M.fixed_offset(id)
  if id == "UTC" or id == "GMT" or id == "Z" or id == "Etc/UTC" or id == "Etc/GMT" or id == "UCT" then
    return 0
  end
  local etc_sign, etc_h = id:match("^Etc/GMT([+-])(%d%d?)$")
  if etc_sign then
    local h = tonumber(etc_h)
    if h <= 14 then return (etc_sign == "+" and -1 or 1) * h * HOUR end
  end
  local rest = id:match("^UTC([+-].*)$") or id:match("^GMT([+-].*)$") or id
  local sign, h, m = rest:match("^([+-])(%d%d?):?(%d?%d?)$")
  if sign and (m == "" or #m == 2) then
    local hh, mm = tonumber(h), tonumber(m) or 0
    if hh <= 23 and mm <= 59 then return (sign == "+" and 1 or -1) * (hh * HOUR + mm * 60000) end
  end
  return nil
end

-- POSIX TZ rules (the TZif footer) -------------------------------------------------------------

-- [+-]hh[:mm[:ss]] at position i of s: seconds and the next position, or nil.
local function hms(s, i)
  local sign, h, rest = s:match("^([+-]?)(%d%d?%d?)()", i)
  if not h then return nil end
  local secs = tonumber(h) * 3600
  local m, j = s:match("^:(%d%d)()", rest)
  if m then
    secs, rest = secs + tonumber(m) * 60, j
    local sec, k = s:match("^:(%d%d)()", rest)
    if sec then secs, rest = secs + tonumber(sec), k end
  end
  return sign == "-" and -secs or secs, rest
end

-- A zone abbreviation (alphabetic, or quoted in <>) at position i: the next position or nil.
local function abbr(s, i)
  local q = s:match("^<[^>]*>()", i)
  if q then return q end
  return s:match("^%a%a%a+()", i)
end

-- A transition date (Jn, n or Mm.w.d) with its optional /time at position i.
local function date_rule(s, i)
  local r, j = {}, nil
  local jn, a = s:match("^J(%d+)()", i)
  if jn then r.kind, r.n, j = "J", tonumber(jn), a
  else
    local mo, w, d, b = s:match("^M(%d+)%.(%d)%.(%d)()", i)
    if mo then r.kind, r.m, r.w, r.d, j = "M", tonumber(mo), tonumber(w), tonumber(d), b
    else
      local n, c = s:match("^(%d+)()", i)
      if not n then return nil end
      r.kind, r.n, j = "n", tonumber(n), c
    end
  end
  r.secs = 7200
  if s:sub(j, j) == "/" then
    local t, k = hms(s, j + 1)
    if not t then return nil end
    r.secs, j = t, k
  end
  return r, j
end

--- Parses a POSIX TZ string (e.g. "EST5EDT,M3.2.0,M11.1.0", "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0").
-- Returns { std = ms, dst = ms or nil, start = date, stop = date } (offsets east of UTC) or nil.
function M.parse_rule(s)
  local i = abbr(s, 1)
  if not i then return nil end
  local std, j = hms(s, i)
  if not std then return nil end
  local r = { std = -std * 1000 }
  if j > #s then return r end
  local k = abbr(s, j)
  if not k then return nil end
  r.dst = r.std + HOUR
  if k <= #s and s:sub(k, k) ~= "," then
    local d, l = hms(s, k)
    if not d then return nil end
    r.dst, k = -d * 1000, l
  end
  if k > #s then -- no rule given: POSIX leaves it to the implementation; the US rule as glibc
    return M.parse_rule(s .. ",M3.2.0,M11.1.0")
  end
  if s:sub(k, k) ~= "," then return nil end
  local a, l = date_rule(s, k + 1)
  if not a or s:sub(l, l) ~= "," then return nil end
  local b, e = date_rule(s, l + 1)
  if not b or e <= #s then return nil end
  r.start, r.stop = a, b
  return r
end

-- Epoch day of a rule date in year y.
local function rule_day(r, y)
  if r.kind == "J" then -- 1..365, February 29 never counted
    local d = days(y, 1, 1) + r.n - 1
    if leap(y) and r.n >= 60 then d = d + 1 end
    return d
  elseif r.kind == "n" then
    return days(y, 1, 1) + r.n
  end
  local first = days(y, r.m, 1)
  local wd = (first + 4) % 7 -- 0 = Sunday (1970-01-01 was a Thursday)
  local d = first + (r.d - wd) % 7 + (r.w - 1) * 7
  local last = MDAYS[r.m] + ((r.m == 2 and leap(y)) and 1 or 0)
  while d >= first + last do d = d - 7 end -- week 5 means the last such day
  return d
end

-- The rule's transitions of years y0-1 .. y0+1: sorted list of { at = utc ms, off = ms },
-- cached per year (records come in time order, so a few years serve a whole run).
local function rule_transitions(r, y0)
  local cache = r.cache
  if not cache or cache.n > 64 then cache = { n = 0 }; r.cache = cache end
  if cache[y0] then return cache[y0] end
  local list = {}
  for y = y0 - 1, y0 + 1 do
    -- Both times are in the local time in effect before the transition.
    list[#list + 1] = { at = rule_day(r.start, y) * DAY + r.start.secs * 1000 - r.std, off = r.dst, dst = true }
    list[#list + 1] = { at = rule_day(r.stop, y) * DAY + r.stop.secs * 1000 - r.dst, off = r.std }
  end
  -- Equal instants (DST all year, e.g. "…,0/0,J365/25"): the end before the start, so DST holds.
  table.sort(list, function(a, b)
    if a.at ~= b.at then return a.at < b.at end
    return not a.dst and b.dst
  end)
  cache[y0], cache.n = list, cache.n + 1
  return list
end

-- Offset of the rule at utc ms.
local function rule_offset(r, ms)
  if not r.dst then return r.std end
  local list = rule_transitions(r, year_of(floor((ms + r.std) / DAY)))
  local off = r.std
  for i = 1, #list do
    if list[i].at <= ms then off = list[i].off else break end
  end
  return off
end

-- First instant after ms where the rule's offset changes, or nil.
local function rule_next(r, ms)
  if not r.dst or r.dst == r.std then return nil end
  local y = year_of(floor((ms + r.std) / DAY))
  for yy = y, y + 1 do
    local list = rule_transitions(r, yy)
    for i = 1, #list do
      if list[i].at > ms and list[i].off ~= rule_offset(r, list[i].at - 1) then return list[i].at end
    end
  end
  return nil
end

-- TZif files --------------------------------------------------------------------------------

local function u32(s, i)
  local a, b, c, d = byte(s, i, i + 3)
  return ((a * 256 + b) * 256 + c) * 256 + d
end

local function i32(s, i)
  local v = u32(s, i)
  return v >= 2147483648 and v - 4294967296 or v
end

local function i64(s, i) return i32(s, i) * 4294967296 + u32(s, i + 4) end

-- Parses the TZif text of zone id: { trans = {utc ms}, offs = {ms}, first = ms, rule = ... }.
local function parse_tzif(id, s)
  if s:sub(1, 4) ~= "TZif" or #s < 44 then
    return nil, format("timezone '%s': %s/%s is not a TZif file", id, M.dir, id)
  end
  local function counts(p)
    if #s < p + 43 then return nil end
    return u32(s, p + 20), u32(s, p + 24), u32(s, p + 28), u32(s, p + 32), u32(s, p + 36), u32(s, p + 40)
  end
  local version = s:sub(5, 5)
  local p, size = 1, 4
  local isut, isstd, leapcnt, timecnt, typecnt, charcnt = counts(p)
  if version >= "2" then
    -- Skip the 32-bit block: its header, then times, indexes, types, names, leaps, flags.
    p = p + 44 + timecnt * 5 + typecnt * 6 + charcnt + leapcnt * 8 + isstd + isut
    if s:sub(p, p + 3) ~= "TZif" then
      return nil, format("timezone '%s': %s/%s: corrupt TZif file", id, M.dir, id)
    end
    isut, isstd, leapcnt, timecnt, typecnt, charcnt = counts(p)
    size = 8
  end
  if not isut or typecnt == 0 then
    return nil, format("timezone '%s': %s/%s: corrupt TZif file", id, M.dir, id)
  end
  local t0 = p + 44
  local x0 = t0 + timecnt * size
  local y0 = x0 + timecnt
  local stop = y0 + typecnt * 6 + charcnt + leapcnt * (size + 4) + isstd + isut
  if #s < stop - 1 then return nil, format("timezone '%s': %s/%s: truncated TZif file", id, M.dir, id) end
  local types = {}
  for k = 0, typecnt - 1 do types[k] = i32(s, y0 + k * 6) * 1000 end
  -- Only transitions that change the offset are kept (not those of a name or isdst alone, nor
  -- the 2038 marker of "fat" files), so next_transition finds real changes; the footer rule
  -- still starts at the file's last transition (rule_from).
  local z = { trans = {}, offs = {}, first = types[0], rule_from = -math.huge }
  local prev = types[0]
  for k = 0, timecnt - 1 do
    local at = size == 8 and i64(s, t0 + k * 8) or i32(s, t0 + k * 4)
    local off = types[byte(s, x0 + k)]
    if off == nil then return nil, format("timezone '%s': %s/%s: corrupt TZif file", id, M.dir, id) end
    if off ~= prev then z.trans[#z.trans + 1], z.offs[#z.offs + 1], prev = at * 1000, off, off end
    z.rule_from = at * 1000
  end
  if size == 8 then
    local footer = s:match("^\n([^\n]*)\n", stop)
    if footer and footer ~= "" then
      z.rule = M.parse_rule(footer)
      if not z.rule then
        return nil, format("timezone '%s': %s/%s: unreadable TZ rule '%s'", id, M.dir, id, footer)
      end
    end
  end
  return z
end

-- Zone objects ------------------------------------------------------------------------------

local Zone = {}
Zone.__index = Zone

--- Offset (ms east of UTC) in effect at the UTC instant ms (Joda's getOffset).
function Zone:offset_at_utc(ms)
  if self.fixed then return self.fixed end
  local trans, n = self.trans, #self.trans
  if self.rule and ms >= self.rule_from then return rule_offset(self.rule, ms) end
  if n == 0 then return self.first end
  if ms < trans[1] then return self.first end
  if ms >= trans[n] then return self.offs[n] end
  local lo, hi = 1, n -- trans[lo] <= ms < trans[hi]
  while hi - lo > 1 do
    local mid = floor((lo + hi) / 2)
    if trans[mid] <= ms then lo = mid else hi = mid end
  end
  return self.offs[lo]
end

--- The first UTC instant after ms where the offset changes; ms itself when there is none
-- (Joda's nextTransition).
function Zone:next_transition(ms)
  if self.fixed then return ms end
  local trans, n = self.trans, #self.trans
  if n > 0 and ms < trans[n] then
    local lo, hi = 0, n -- trans[hi] > ms, trans[lo] <= ms (lo 0: before all)
    if ms < trans[1] then hi = 1 end
    while hi - lo > 1 do
      local mid = floor((lo + hi) / 2)
      if trans[mid] <= ms then lo = mid else hi = mid end
    end
    return trans[hi]
  end
  local r = self.rule and rule_next(self.rule, math.max(ms, self.rule_from))
  return r or ms
end

--- Offset to subtract from the local time local_ms to get UTC, as Joda's
-- convertLocalToUTC(local_ms, strict): in an overlap the offset its two-step estimate finds (the
-- earlier offset west of UTC), in a gap the offset before it (so the time moves past the gap).
-- strict: nil and an error for a local time in a gap.
function Zone:offset_at_local(local_ms, strict)
  local off_local = self:offset_at_utc(local_ms)
  local off = self:offset_at_utc(local_ms - off_local)
  if off_local ~= off and (strict or off_local < 0) then
    local next_local = self:next_transition(local_ms - off_local)
    if next_local == local_ms - off_local then next_local = math.huge end
    local next_adjusted = self:next_transition(local_ms - off)
    if next_adjusted == local_ms - off then next_adjusted = math.huge end
    if next_local ~= next_adjusted then -- in the gap
      if strict then
        return nil, format("Illegal instant due to time zone offset transition (daylight savings "
          .. "time 'gap'): local time %d in zone %s", local_ms, self.id)
      end
      off = off_local
    end
  end
  return off
end

--- Local time (ms) of the UTC instant ms (Joda's convertUTCToLocal).
function Zone:to_local(ms) return ms + self:offset_at_utc(ms) end

--- UTC instant of the local time local_ms (Joda's convertLocalToUTC(local_ms, false)).
function Zone:to_utc(local_ms) return local_ms - self:offset_at_local(local_ms) end

local cache = {}

--- The zone of id: a fixed offset, or the TZif file <dir>/<id>. Returns the zone or nil and an
-- error naming the id and the forms accepted.
function M.zone(id)
  local z = cache[id]
  if z then return z end
  if type(id) ~= "string" or id == "" then
    return nil, format("timezone '%s' is not recognised (%s)", tostring(id), ACCEPTED)
  end
  local fixed = M.fixed_offset(id)
  if fixed then
    z = setmetatable({ id = id, fixed = fixed }, Zone)
  else
    -- An id is a relative path of names: no "..", no absolute path, nothing else to open.
    local ok = id:match("^[%w_+-]+[%w_+./-]*$") and not id:find("..", 1, true) and not id:find("//", 1, true)
    local f = ok and io.open(M.dir .. "/" .. id, "rb")
    if not f then
      return nil, format("timezone '%s' is not recognised: not a fixed offset and no such zone in "
        .. "the tz database %s (%s)", id, M.dir, ACCEPTED)
    end
    local s = f:read("*a")
    f:close()
    if not s then
      return nil, format("timezone '%s': %s/%s is not a TZif file (%s)", id, M.dir, id, ACCEPTED)
    end
    local t, err = parse_tzif(id, s)
    if not t then return nil, err .. " (" .. ACCEPTED .. ")" end
    t.id = id
    z = setmetatable(t, Zone)
  end
  cache[id] = z
  return z
end

return M
