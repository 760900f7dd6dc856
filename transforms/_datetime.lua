--- _datetime: Java's SimpleDateFormat in UTC, for the SMTs that format or parse dates
-- (TimestampConverter, Cast's logical types, TimestampRouter).
--
--   local datetime = require "_datetime"
--   local f, err = datetime.compile("yyyy-MM-dd'T'HH:mm:ss.SSSX")  -- nil, Java's message
--   f:format(ms)   --> "2024-01-02T03:04:05.006Z"
--   f:parse(text)  --> ms, or nil and 'Unparseable date: "text"'
--   datetime.civil(epoch_day) --> year, month, day;  datetime.days(y, m, d) --> epoch day
--
-- Depends on the SDK only for the clock. Times are epoch milliseconds (Lua numbers).
-- Behaves as new SimpleDateFormat(pattern) with setTimeZone(UTC) and the US locale does:
--  - pattern letters G y M L d E u a H k K h m s S D F z Z X and quoted literals ('' is a
--    quote); any other ASCII letter is "Illegal pattern character"; Y w W (week dates) are
--    refused too, as this subset does not implement them;
--  - the hybrid Julian/Gregorian calendar of java.util.GregorianCalendar (the Gregorian
--    calendar starts on 1582-10-15; dates before are Julian), years of era with G;
--  - lenient parsing: fields out of range roll over, abutting numeric fields ("yyyyMMdd")
--    take exactly their width, spaces before a number are skipped, text after the last
--    field is ignored, the most recently parsed field wins when fields disagree, "yy"
--    maps into the 100 years starting 80 years before the formatter was made;
--  - zones when parsing: +hhmm, GMT+hh:mm, X forms, and the names UTC, GMT, Z and a few
--    common abbreviations (EST, PDT, CET, ...); Java knows every zone name, we do not.
local floor, fmt, byte, sub, lower = math.floor, string.format, string.byte, string.sub,
  string.lower
local concat, tonumber, type = table.concat, tonumber, type
local now_ms = require("luaconnect").now_ms

local M = {}

local DAY = 86400000
-- Epoch day of 1582-10-15, the first Gregorian day of java.util.GregorianCalendar.
local CUTOVER = -141427

local MONTHS = { "January", "February", "March", "April", "May", "June", "July", "August",
  "September", "October", "November", "December" }
local SHORT_MONTHS = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
  "Nov", "Dec" }
local WEEKDAYS = { "Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
  "Saturday" }
local SHORT_WEEKDAYS = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" }
local AMPM = { "AM", "PM" }
local ERAS = { "BC", "AD" }

-- Zone names we parse (Java matches every zone name it knows): name -> {offset ms, dst ms}.
local H = 3600000
local ZONES = {
  ["utc"] = { 0, 0 }, ["coordinated universal time"] = { 0, 0 },
  ["greenwich mean time"] = { 0, 0 }, ["ut"] = { 0, 0 },
  ["est"] = { -5 * H, 0 }, ["edt"] = { -5 * H, H }, ["cst"] = { -6 * H, 0 },
  ["cdt"] = { -6 * H, H }, ["mst"] = { -7 * H, 0 }, ["mdt"] = { -7 * H, H },
  ["pst"] = { -8 * H, 0 }, ["pdt"] = { -8 * H, H }, ["akst"] = { -9 * H, 0 },
  ["akdt"] = { -9 * H, H }, ["hst"] = { -10 * H, 0 },
  ["eastern standard time"] = { -5 * H, 0 }, ["eastern daylight time"] = { -5 * H, H },
  ["central standard time"] = { -6 * H, 0 }, ["central daylight time"] = { -6 * H, H },
  ["mountain standard time"] = { -7 * H, 0 }, ["mountain daylight time"] = { -7 * H, H },
  ["pacific standard time"] = { -8 * H, 0 }, ["pacific daylight time"] = { -8 * H, H },
  ["wet"] = { 0, 0 }, ["west"] = { 0, H }, ["cet"] = { H, 0 }, ["cest"] = { H, H },
  ["eet"] = { 2 * H, 0 }, ["eest"] = { 2 * H, H }, ["msk"] = { 3 * H, 0 },
  ["jst"] = { 9 * H, 0 }, ["kst"] = { 9 * H, 0 }, ["aest"] = { 10 * H, 0 },
  ["aedt"] = { 10 * H, H },
}
local ZONE_NAMES = {}
for name in pairs(ZONES) do ZONE_NAMES[#ZONE_NAMES + 1] = name end

-- Calendar arithmetic (epoch days, astronomical years: 0 is 1 BC) --------------------

local function fdiv(a, b) return floor(a / b) end

--- Epoch day of a proleptic Gregorian date (month 1-12; day may overflow).
local function gregorian_days(y, m, d)
  local a = fdiv(14 - m, 12)
  local yy, mm = y + 4800 - a, m + 12 * a - 3
  return d + fdiv(153 * mm + 2, 5) + 365 * yy + fdiv(yy, 4) - fdiv(yy, 100) + fdiv(yy, 400)
    - 32045 - 2440588
end

--- Epoch day of a Julian calendar date.
local function julian_days(y, m, d)
  local a = fdiv(14 - m, 12)
  local yy, mm = y + 4800 - a, m + 12 * a - 3
  return d + fdiv(153 * mm + 2, 5) + 365 * yy + fdiv(yy, 4) - 32083 - 2440588
end

local function gregorian_civil(days)
  local a = days + 2440588 + 32044
  local b = fdiv(4 * a + 3, 146097)
  local c = a - fdiv(146097 * b, 4)
  local d = fdiv(4 * c + 3, 1461)
  local e = c - fdiv(1461 * d, 4)
  local m = fdiv(5 * e + 2, 153)
  return 100 * b + d - 4800 + fdiv(m, 10), m + 3 - 12 * fdiv(m, 10), e - fdiv(153 * m + 2, 5) + 1
end

local function julian_civil(days)
  local c = days + 2440588 + 32082
  local d = fdiv(4 * c + 3, 1461)
  local e = c - fdiv(1461 * d, 4)
  local m = fdiv(5 * e + 2, 153)
  return d - 4800 + fdiv(m, 10), m + 3 - 12 * fdiv(m, 10), e - fdiv(153 * m + 2, 5) + 1
end

--- Year, month (1-12), day of the epoch day in GregorianCalendar's hybrid calendar.
local function civil(days)
  if days >= CUTOVER then return gregorian_civil(days) end
  return julian_civil(days)
end
M.civil = civil

--- Epoch day of year-month-day (Gregorian from 1582-10-15, Julian before).
function M.days(y, m, d)
  local g = gregorian_days(y, m, d)
  if g >= CUTOVER then return g end
  return julian_days(y, m, d)
end

local function month_length(julian, y, m)
  if m == 2 then
    local leap = y % 4 == 0 and (julian or y % 100 ~= 0 or y % 400 == 0)
    return leap and 29 or 28
  end
  return (m == 4 or m == 6 or m == 9 or m == 11) and 30 or 31
end

-- Patterns -------------------------------------------------------------------------------

-- Letters SimpleDateFormat knows; those we implement map to true.
local KNOWN = { G = true, y = true, M = true, L = true, d = true, E = true, u = true, a = true,
  H = true, k = true, K = true, h = true, m = true, s = true, S = true, D = true, F = true,
  z = true, Z = true, X = true, Y = false, w = false, W = false }

-- Fields a numeric parse should read at their exact width when one abuts (shouldObeyCount).
local function obeys_count(el)
  local t = el.tag
  if not t then return false end
  if t == "M" or t == "L" then return el.count <= 2 end
  return t == "y" or t == "d" or t == "k" or t == "H" or t == "m" or t == "s" or t == "S"
    or t == "D" or t == "F" or t == "h" or t == "K" or t == "u"
end

local function is_letter(c)
  return (c >= 97 and c <= 122) or (c >= 65 and c <= 90)
end

-- Splits a pattern into elements {tag, count} and {lit} as SimpleDateFormat.compile does:
-- each unquoted ASCII non-letter is a literal of its own, a quoted run is one literal.
local function compile_pattern(pattern)
  local els, n, i = {}, #pattern, 1
  local last_tag, count = nil, 0
  local function flush()
    if count > 0 then
      if last_tag == "X" and count >= 4 then
        return fmt("invalid ISO 8601 format: length=%d", count)
      end
      els[#els + 1] = { tag = last_tag, count = count }
      last_tag, count = nil, 0
    end
  end
  local in_quote, buf = false, nil
  while i <= n do
    local c = byte(pattern, i)
    if c == 39 then -- '
      if i < n and byte(pattern, i + 1) == 39 then
        i = i + 1
        local err = flush()
        if err then return nil, err end
        if in_quote then buf[#buf + 1] = "'" else els[#els + 1] = { lit = "'" } end
      elseif not in_quote then
        local err = flush()
        if err then return nil, err end
        buf, in_quote = {}, true
      else
        els[#els + 1] = { lit = concat(buf) }
        in_quote = false
      end
    elseif in_quote then
      buf[#buf + 1] = sub(pattern, i, i)
    elseif not is_letter(c) then
      local err = flush()
      if err then return nil, err end
      if c < 128 then
        els[#els + 1] = { lit = sub(pattern, i, i) }
      else -- a run of non-ASCII characters is one literal
        local j = i + 1
        while j <= n do
          local d = byte(pattern, j)
          if d == 39 or is_letter(d) then break end
          j = j + 1
        end
        els[#els + 1] = { lit = sub(pattern, i, j - 1) }
        i = j - 1
      end
    else
      local ch = sub(pattern, i, i)
      local known = KNOWN[ch]
      if known == nil then return nil, fmt("Illegal pattern character '%s'", ch) end
      if known == false then
        return nil, fmt("Pattern character '%s' (week dates) is not supported", ch)
      end
      if last_tag == nil or last_tag == ch then
        last_tag, count = ch, count + 1
      else
        local err = flush()
        if err then return nil, err end
        last_tag, count = ch, 1
      end
    end
    i = i + 1
  end
  if in_quote then return nil, "Unterminated quote" end
  local err = flush()
  if err then return nil, err end
  -- Empty literals ('' inside nothing) carry no text; drop them.
  local out = {}
  for _, el in ipairs(els) do
    if not (el.lit and el.lit == "") then out[#out + 1] = el end
  end
  for k, el in ipairs(out) do
    el.obey = out[k + 1] ~= nil and obeys_count(out[k + 1])
    if el.tag then el.pad = "%0" .. el.count .. "d" end
  end
  return out
end

-- Formatting -----------------------------------------------------------------------------

local Formatter = {}
Formatter.__index = Formatter

-- Fills t with the calendar fields of ms (UTC).
local function fields_of(ms, t)
  local days = floor(ms / DAY)
  local msod = ms - days * DAY
  local y, m, d = civil(days)
  local jan1 = gregorian_days(y, 1, 1)
  if jan1 < CUTOVER then jan1 = julian_days(y, 1, 1) end
  t.year, t.month, t.day = y, m, d
  t.doy = days - jan1 + 1
  t.dow = (days + 4) % 7 + 1 -- 1 = Sunday; 1970-01-01 was a Thursday
  t.hour = floor(msod / 3600000)
  t.minute = floor(msod / 60000) % 60
  t.second = floor(msod / 1000) % 60
  t.milli = msod % 1000
  return t
end

local function format_el(el, t, out, n)
  local tag, count = el.tag, el.count
  local s
  if tag == "y" then
    local y = t.year
    if y <= 0 then y = 1 - y end
    s = count == 2 and fmt("%02d", y % 100) or fmt(el.pad, y)
  elseif tag == "M" or tag == "L" then
    if count >= 4 then s = MONTHS[t.month]
    elseif count == 3 then s = SHORT_MONTHS[t.month]
    else s = fmt(el.pad, t.month) end
  elseif tag == "d" then s = fmt(el.pad, t.day)
  elseif tag == "H" then s = fmt(el.pad, t.hour)
  elseif tag == "m" then s = fmt(el.pad, t.minute)
  elseif tag == "s" then s = fmt(el.pad, t.second)
  elseif tag == "S" then s = fmt(el.pad, t.milli)
  elseif tag == "h" then
    local h = t.hour % 12
    s = fmt(el.pad, h == 0 and 12 or h)
  elseif tag == "K" then s = fmt(el.pad, t.hour % 12)
  elseif tag == "k" then s = fmt(el.pad, t.hour == 0 and 24 or t.hour)
  elseif tag == "a" then s = AMPM[t.hour < 12 and 1 or 2]
  elseif tag == "E" then s = count >= 4 and WEEKDAYS[t.dow] or SHORT_WEEKDAYS[t.dow]
  elseif tag == "u" then s = fmt(el.pad, t.dow == 1 and 7 or t.dow - 1)
  elseif tag == "D" then s = fmt(el.pad, t.doy)
  elseif tag == "F" then s = fmt(el.pad, floor((t.day - 1) / 7) + 1)
  elseif tag == "G" then s = ERAS[t.year <= 0 and 1 or 2]
  elseif tag == "z" then s = count >= 4 and "Coordinated Universal Time" or "UTC"
  elseif tag == "Z" then s = "+0000"
  elseif tag == "X" then s = "Z"
  end
  out[n] = s
end

--- The text of epoch milliseconds ms (a number) in this pattern, in UTC.
function Formatter:format(ms)
  if type(ms) ~= "number" then ms = tonumber(ms) end
  local t = fields_of(ms, self._t)
  local out, els = self._out, self.elements
  for i = 1, #els do
    local el = els[i]
    if el.lit then out[i] = el.lit else format_el(el, t, out, i) end
  end
  return concat(out, "", 1, #els)
end

-- Parsing --------------------------------------------------------------------------------

-- Java's DecimalFormat.parse as SimpleDateFormat configures it (integers only, no
-- grouping, '-' prefix, an optional exponent), then Number.intValue(). Reads text from p
-- up to limit; returns the value and the next position, or nil.
local function parse_number(text, p, limit)
  local neg = false
  if p <= limit and byte(text, p) == 45 then neg, p = true, p + 1 end
  local s = p
  while p <= limit do
    local c = byte(text, p)
    if c < 48 or c > 57 then break end
    p = p + 1
  end
  if p == s then return nil end
  local digits = sub(text, s, p - 1)
  local exp = 0
  if p <= limit and byte(text, p) == 69 then -- E, an exponent as DecimalFormat reads one
    local q, eneg = p + 1, false
    if q <= limit and byte(text, q) == 45 then eneg, q = true, q + 1 end
    local es = q
    while q <= limit do
      local c = byte(text, q)
      if c < 48 or c > 57 then break end
      q = q + 1
    end
    if q > es then
      exp = tonumber(sub(text, es, q - 1)) * (eneg and -1 or 1)
      p = q
    end
  end
  local d = tonumber(digits .. "e" .. exp)
  if neg then d = -d end
  local value
  if d == floor(d) and d > -9.2233720368547758e18 and d < 9.2233720368547758e18 then
    -- a Long: intValue() keeps the low 32 bits, computed exactly digit by digit
    local low = 0
    for i = 1, #digits do low = (low * 10 + byte(digits, i) - 48) % 4294967296 end
    for _ = 1, math.min(exp, 32) do low = (low * 10) % 4294967296 end -- 10^32 = 0 mod 2^32
    if neg then low = (-low) % 4294967296 end
    value = low >= 2147483648 and low - 4294967296 or low
  else -- a Double: intValue() truncates and saturates
    if d ~= d then value = 0
    elseif d >= 2147483647 then value = 2147483647
    elseif d <= -2147483648 then value = -2147483648
    else value = d < 0 and -floor(-d) or floor(d) end
  end
  return value, p
end

-- Case-insensitive longest match of one of list's entries at p: index, next position.
local function match_string(text, p, list)
  local best, best_len = nil, 0
  for i = 1, #list do
    local w = list[i]
    local len = #w
    if len > best_len and lower(sub(text, p, p + len - 1)) == lower(w) then
      best, best_len = i, len
    end
  end
  if best then return best, p + best_len end
  return nil
end

local function is_digit(c) return c and c >= 48 and c <= 57 end

-- Records a parsed field and when it was set (CalendarBuilder's stamps).
local function set(st, name, v)
  local seq = st.seq + 1
  st.seq = seq
  st.f[name], st.s[name] = v, seq
end

-- SimpleDateFormat.subParseNumericZone: "hh[[:]mm]" from p; sets the zone in f.
local function numeric_zone(text, p, sign, count, colon, st)
  local c = byte(text, p)
  if not is_digit(c) then return nil end
  local hours = c - 48
  p = p + 1
  c = byte(text, p)
  if is_digit(c) then
    hours = hours * 10 + c - 48
    p = p + 1
  elseif count > 0 or not colon then
    return nil
  end
  if hours > 23 then return nil end
  local minutes = 0
  if count ~= 1 then
    c = byte(text, p)
    p = p + 1
    if colon then
      if c ~= 58 then return nil end
      c = byte(text, p)
      p = p + 1
    end
    if not is_digit(c) then return nil end
    minutes = c - 48
    c = byte(text, p)
    p = p + 1
    if not is_digit(c) then return nil end
    minutes = minutes * 10 + c - 48
    if minutes > 59 then return nil end
  end
  set(st, "zone", (minutes + hours * 60) * 60000 * sign)
  set(st, "dst", 0)
  return p
end

-- One field at start (SimpleDateFormat.subParse): the next position or nil.
local function subparse(self, text, start, el, st)
  local n = #text
  local p = start
  while true do
    if p > n then return nil end
    local c = byte(text, p)
    if c ~= 32 and c ~= 9 then break end
    p = p + 1
  end
  local actual = p
  local tag, count = el.tag, el.count
  local limit = n
  if el.obey then
    limit = start + count - 1
    if limit > n then return nil end
  end
  local value
  if tag == "y" or tag == "k" or tag == "h" or ((tag == "M" or tag == "L") and count <= 2) then
    value, p = parse_number(text, p, limit)
    if not value then return nil end
  end
  if tag == "y" then
    if count <= 2 and p - actual == 2 and is_digit(byte(text, actual))
        and is_digit(byte(text, actual + 1)) then
      local cy = self._century_year
      local amb = cy % 100
      st.ambiguous = value == amb
      value = value + floor(cy / 100) * 100 + (value < amb and 100 or 0)
    end
    set(st, "year", value)
    return p
  elseif tag == "M" or tag == "L" then
    if count <= 2 then
      set(st, "month", value - 1)
      return p
    end
    local i, q = match_string(text, start, MONTHS)
    if not i then i, q = match_string(text, start, SHORT_MONTHS) end
    if not i then return nil end
    set(st, "month", i - 1)
    return q
  elseif tag == "k" then
    set(st, "hod", value == 24 and 0 or value)
    return p
  elseif tag == "h" then
    set(st, "hour", value == 12 and 0 or value)
    return p
  elseif tag == "E" then
    local i, q = match_string(text, start, WEEKDAYS)
    if not i then i, q = match_string(text, start, SHORT_WEEKDAYS) end
    if not i then return nil end
    set(st, "dow", i)
    return q
  elseif tag == "a" then
    local i, q = match_string(text, start, AMPM)
    if not i then return nil end
    set(st, "ampm", i - 1)
    return q
  elseif tag == "G" then
    local i, q = match_string(text, start, ERAS)
    if not i then return nil end
    set(st, "era", i - 1)
    return q
  elseif tag == "z" or tag == "Z" then
    local c = byte(text, p)
    if c == 43 or c == 45 then
      return numeric_zone(text, p + 1, c == 43 and 1 or -1, 0, false, st)
    end
    if (c == 71 or c == 103) and lower(sub(text, start, start + 2)) == "gmt" then
      p = start + 3
      c = byte(text, p)
      if c ~= 43 and c ~= 45 then
        set(st, "zone", 0)
        set(st, "dst", 0)
        return p
      end
      return numeric_zone(text, p + 1, c == 43 and 1 or -1, 0, true, st)
    end
    local i, q = match_string(text, p, ZONE_NAMES)
    if not i then return nil end
    local z = ZONES[ZONE_NAMES[i]]
    set(st, "zone", z[1])
    set(st, "dst", z[2])
    return q
  elseif tag == "X" then
    local c = byte(text, p)
    if c == 90 then
      set(st, "zone", 0)
      set(st, "dst", 0)
      return p + 1
    end
    if c ~= 43 and c ~= 45 then return nil end
    return numeric_zone(text, p + 1, c == 43 and 1 or -1, count, count == 3, st)
  end
  -- d H m s S D F K u: plain numbers
  value, p = parse_number(text, p, limit)
  if not value then return nil end
  if tag == "d" then set(st, "dom", value)
  elseif tag == "H" then set(st, "hod", value)
  elseif tag == "m" then set(st, "minute", value)
  elseif tag == "s" then set(st, "second", value)
  elseif tag == "S" then set(st, "milli", value)
  elseif tag == "D" then set(st, "doy", value)
  elseif tag == "F" then set(st, "dowim", value)
  elseif tag == "K" then set(st, "hour", value)
  elseif tag == "u" then
    if value >= 1 and value <= 7 then value = value == 7 and 1 or value + 1 end
    set(st, "dow", value)
  end
  return p
end

local function agg(a, b)
  if a == 0 or b == 0 then return 0 end
  return a > b and a or b
end

-- Epoch day of the date fields in one calendar system (GregorianCalendar.getFixedDate).
local function fixed_date(julian, year, mode, f, s)
  local month = 0
  if mode ~= "doy" then
    month = f.month or 0
    if month > 11 or month < 0 then
      year = year + floor(month / 12)
      month = month % 12
    end
  end
  local days_of = julian and julian_days or gregorian_days
  local fd = days_of(year, month + 1, 1)
  if mode == "dom" then
    if s.dom > 0 then fd = fd + f.dom - 1 end
  elseif mode == "dowim" then
    local dow = s.dow > 0 and f.dow or 1 -- the US week starts on Sunday
    local dowim = s.dowim > 0 and f.dowim or 1
    local target
    if dowim >= 0 then
      target = fd + 7 * dowim - 1
    else
      target = fd + month_length(julian, year, month + 1) + 7 * (dowim + 1) - 1
    end
    -- the day of week dow (1 = Sunday) on or before target
    fd = target - ((target + 4 - (dow - 1)) % 7)
  else
    fd = fd + (f.doy or 1) - 1
  end
  return fd
end

-- Epoch milliseconds of the parsed fields: GregorianCalendar's field resolution
-- (selectFields) and computeTime, lenient, in UTC unless a zone was parsed.
local function resolve(f, s)
  local dom_s, dow_s, doy_s = s.dom, s.dow, s.doy
  local dowim_s = agg(s.dowim, dow_s)
  local best = math.max(dom_s, dowim_s, doy_s)
  if best == 0 then
    dowim_s = math.max(s.dowim, dow_s)
    best = dowim_s
    if best == 0 then
      best = s.month
      dom_s = best
    end
  end
  local mode
  if best == dom_s then mode = "dom"
  elseif best == dowim_s then mode = "dowim"
  else mode = "doy" end

  local year = s.year > 0 and f.year or 1970
  if s.era > 0 and f.era == 0 then year = 1 - year end

  local tod = 0
  local hod_s, hour_s = s.hod, agg(s.hour, s.ampm)
  local hbest = hour_s > hod_s and hour_s or hod_s
  if hbest == 0 then hbest = math.max(s.hour, s.ampm) end
  if hbest ~= 0 then
    if hbest == hod_s then
      tod = f.hod
    else
      tod = (s.hour > 0 and f.hour or 0) + (s.ampm > 0 and 12 * f.ampm or 0)
    end
  end
  tod = ((tod * 60 + (f.minute or 0)) * 60 + (f.second or 0)) * 1000 + (f.milli or 0)
  local fd = floor(tod / DAY)
  tod = tod - fd * DAY

  local gfd, jfd
  if year > 1582 then
    gfd = fd + fixed_date(false, year, mode, f, s)
    if gfd >= CUTOVER then return (gfd * DAY + tod) - (f.zone or 0) - (f.dst or 0) end
    jfd = fd + fixed_date(true, year, mode, f, s)
  elseif year < 1582 then
    jfd = fd + fixed_date(true, year, mode, f, s)
    if jfd < CUTOVER then return (jfd * DAY + tod) - (f.zone or 0) - (f.dst or 0) end
    gfd = jfd
  else
    jfd = fd + fixed_date(true, year, mode, f, s)
    gfd = fd + fixed_date(false, year, mode, f, s)
  end
  local day
  if mode == "doy" then
    day = jfd
  elseif gfd >= CUTOVER then
    day = gfd
  else
    day = jfd
  end
  return (day * DAY + tod) - (f.zone or 0) - (f.dst or 0)
end

local FIELDS = { "era", "year", "month", "dom", "dow", "dowim", "doy", "ampm", "hour", "hod",
  "minute", "second", "milli", "zone", "dst" }

--- Epoch milliseconds of text, or nil and 'Unparseable date: "text"' (DateFormat.parse).
function Formatter:parse(text)
  local st = self._st
  local f, s = st.f, st.s
  for i = 1, #FIELDS do
    local name = FIELDS[i]
    f[name], s[name] = nil, 0
  end
  st.seq, st.ambiguous = 0, false
  local p, n = 1, #text
  local els = self.elements
  for i = 1, #els do
    local el = els[i]
    local lit = el.lit
    if lit then
      local len = #lit
      if p + len - 1 > n or sub(text, p, p + len - 1) ~= lit then
        return nil, fmt('Unparseable date: "%s"', text)
      end
      p = p + len
    else
      p = subparse(self, text, p, el, st)
      if not p then return nil, fmt('Unparseable date: "%s"', text) end
    end
  end
  local ms = resolve(f, s)
  if st.ambiguous and ms < self._century_start then
    f.year = f.year + 100
    ms = resolve(f, s)
  end
  return ms
end

--- A formatter for a SimpleDateFormat pattern, or nil and Java's IllegalArgumentException
-- text. now (epoch ms, default: the clock) anchors two-digit years as creating a
-- SimpleDateFormat does.
function M.compile(pattern, now)
  local els, err = compile_pattern(pattern)
  if not els then return nil, err end
  -- defaultCenturyStart: the same instant 80 years earlier (Calendar.add(YEAR, -80))
  local t = fields_of(now or now_ms(), {})
  local y = t.year - 80
  local d = math.min(t.day, month_length(y < 1583, y, t.month))
  local msod = ((t.hour * 60 + t.minute) * 60 + t.second) * 1000 + t.milli
  local start = M.days(y, t.month, d) * DAY + msod
  return setmetatable({
    pattern = pattern, elements = els, _t = {}, _out = {}, _st = { f = {}, s = {} },
    _century_start = start, _century_year = y,
  }, Formatter)
end

return M
