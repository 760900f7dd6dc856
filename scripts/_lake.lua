--- _lake: the pure parts of partitioned_sink (Confluent's HDFS/S3 sink layout): partitioners
-- (Default, Field, TimeBased, Daily, Hourly), Joda-style path formats in a time zone (_tz),
-- committed file names, and the record formats (JSON lines, CSV, bytes, string).
--
--   local lake = require "_lake"
--   local enc = lake.partitioner(cfg)      -- enc(record, now_ms) -> "year=2024/month=01"
--   lake.file_name("t", 0, 5, 9, 10, "+", ".json") --> "t+0+0000000005+0000000009.json"
--   lake.parse_file_name(name, "t", 0, "+")          --> start, end (or nil)
--
-- Depends on the SDK only for JSON. Errors are plain strings naming the key or the record.
local connect = require "luaconnect"
local tz = require "_tz"

local M = {}
local format, floor, concat = string.format, math.floor, table.concat
local null, encode = connect.null, connect.json.encode

-- Time zones -----------------------------------------------------------------------------

--- Offset in ms of a fixed-offset timezone id (UTC, +05:30, Etc/GMT-5 ...: _tz.fixed_offset), or
-- nil and an error. ISO-8601 offsets in timestamp fields use it.
function M.zone_offset(id)
  local off = tz.fixed_offset(id)
  if off then return off end
  return nil, format("timezone '%s': not a fixed offset (UTC, +05:30, Etc/GMT-5)", id)
end

--- The zone of a timezone id (_tz.zone: fixed offsets and tz database ids such as
-- America/New_York), or nil and an error naming the id.
function M.zone(id) return tz.zone(id) end

-- Calendar (proleptic Gregorian, as Joda's ISOChronology) ------------------------------------

local function civil(days)
  local z = days + 719468
  local era = floor(z / 146097)
  local doe = z - era * 146097
  local yoe = floor((doe - floor(doe / 1460) + floor(doe / 36524) - floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + floor(yoe / 4) - floor(yoe / 100))
  local mp = floor((5 * doy + 2) / 153)
  local d = doy - floor((153 * mp + 2) / 5) + 1
  local m = mp < 10 and mp + 3 or mp - 9
  local y = yoe + era * 400 + (m <= 2 and 1 or 0)
  return y, m, d
end

--- Epoch day of year-month-day (proleptic Gregorian).
function M.days(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = floor(y / 400)
  local yoe = y - era * 400
  local mp = m > 2 and m - 3 or m + 9
  local doy = floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + floor(yoe / 4) - floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

local MONTHS = { "January", "February", "March", "April", "May", "June", "July", "August",
  "September", "October", "November", "December" }
local WEEKDAYS = { "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday" }

-- Fields of local time ms (already shifted into the zone).
local function fields(ms)
  local days = floor(ms / 86400000)
  local rem = ms - days * 86400000
  local y, mo, d = civil(days)
  return {
    y = y, M = mo, d = d, H = floor(rem / 3600000), m = floor(rem / 60000) % 60,
    s = floor(rem / 1000) % 60, S = rem % 1000, D = days - M.days(y, 1, 1) + 1,
    E = (days + 3) % 7 + 1, -- 1970-01-01 was a Thursday (ISO day 4)
  }
end

local function pad(n, width)
  local s = tostring(n)
  if #s < width then s = string.rep("0", width - #s) .. s end
  return s
end

-- One pattern element: formats fields t.
local function element(letter, count)
  if letter == "y" or letter == "Y" or letter == "u" then
    if count == 2 then return function(t) return pad(t.y % 100, 2) end end
    return function(t) return pad(t.y, count) end
  elseif letter == "M" then
    if count >= 4 then return function(t) return MONTHS[t.M] end end
    if count == 3 then return function(t) return MONTHS[t.M]:sub(1, 3) end end
    return function(t) return pad(t.M, count) end
  elseif letter == "E" then
    if count >= 4 then return function(t) return WEEKDAYS[t.E] end end
    return function(t) return WEEKDAYS[t.E]:sub(1, 3) end
  elseif letter == "a" then
    return function(t) return t.H < 12 and "AM" or "PM" end
  elseif letter == "S" then
    return function(t) return pad(t.S, 3):sub(1, count) .. string.rep("0", count - 3) end
  end
  local get = ({
    d = function(t) return t.d end, H = function(t) return t.H end,
    k = function(t) return t.H == 0 and 24 or t.H end,
    h = function(t) return (t.H % 12 == 0) and 12 or t.H % 12 end,
    K = function(t) return t.H % 12 end, m = function(t) return t.m end,
    s = function(t) return t.s end, D = function(t) return t.D end,
    e = function(t) return t.E end,
  })[letter]
  if not get then return nil end
  return function(t) return pad(get(t), count) end
end

--- Compiles a Joda DateTimeFormat pattern (the subset path.format needs: y Y u M d H k h K
-- m s S D E e a, quoted literals, '' for a quote). Returns fn(local_ms) or nil, error.
function M.compile_pattern(pattern)
  local parts, i, n = {}, 1, #pattern
  while i <= n do
    local c = pattern:sub(i, i)
    if c == "'" then
      local j, lit = i + 1, {}
      if pattern:sub(j, j) == "'" then
        parts[#parts + 1] = "'"
        i = j + 1
      else
        while true do
          if j > n then return nil, format("Invalid format: unterminated quote in '%s'", pattern) end
          local ch = pattern:sub(j, j)
          if ch == "'" then
            if pattern:sub(j + 1, j + 1) == "'" then lit[#lit + 1] = "'"; j = j + 2
            else break end
          else lit[#lit + 1] = ch; j = j + 1 end
        end
        parts[#parts + 1] = concat(lit)
        i = j + 1
      end
    elseif c:match("%a") then
      local j = i
      while pattern:sub(j + 1, j + 1) == c do j = j + 1 end
      local el = element(c, j - i + 1)
      if not el then return nil, format("Illegal pattern component: %s", pattern:sub(i, j)) end
      parts[#parts + 1] = el
      i = j + 1
    else
      parts[#parts + 1] = c
      i = i + 1
    end
  end
  return function(ms)
    local t, out = fields(ms), {}
    for k = 1, #parts do
      local p = parts[k]
      out[k] = type(p) == "string" and p or p(t)
    end
    return concat(out)
  end
end

-- Java's long division truncates toward zero; getPartition relies on it.
local function jdiv(a, b)
  local q = a / b
  return q >= 0 and floor(q) or -floor(-q)
end

--- Start (UTC ms) of the time partition of ts in zone (a _tz zone):
-- TimeBasedPartitioner.getPartition, i.e. the local time floored to the duration and converted
-- back with Joda's convertLocalToUTC(local, false). In the repeated hour of a DST overlap both
-- hours map to the same instant (the earlier one west of UTC), so to the same path.
function M.bucket(ts, duration, zone)
  return zone:to_utc(jdiv(zone:to_local(ts), duration) * duration)
end

--- Next wall-clock rotation after now (UTC ms) for rotate.schedule.interval.ms in zone:
-- DateTimeUtils.getNextTimeAdjustedByDay (multiples of the interval from the local midnight,
-- at most the next day). Confluent converts midnight strictly and fails the task when midnight
-- falls in a DST gap; here the day then starts where the gap ends.
function M.next_rotation(now, interval, zone)
  local midnight = floor(zone:to_local(now) / 86400000) * 86400000
  local start = midnight - (zone:offset_at_local(midnight, true) or zone:offset_at_local(midnight))
  local step = math.min((jdiv(now - start, interval) + 1) * interval, 86400000)
  return start + step
end

--- Parses an ISO-8601 date-time (Joda's dateTimeParser subset: date, optional time with
-- fraction, optional Z or offset; no offset means UTC here). Returns ms or nil.
function M.parse_iso(s)
  local y, mo, d, rest = s:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)(.*)$")
  if not y then return nil end
  local ms = M.days(tonumber(y), tonumber(mo), tonumber(d)) * 86400000
  if rest == "" then return ms end
  local h, mi, tail = rest:match("^T(%d%d):(%d%d)(.*)$")
  if not h then return nil end
  ms = ms + tonumber(h) * 3600000 + tonumber(mi) * 60000
  local sec, t2 = tail:match("^:(%d%d)(.*)$")
  if sec then ms = ms + tonumber(sec) * 1000; tail = t2 end
  local frac, t3 = tail:match("^[.,](%d+)(.*)$")
  if frac then ms = ms + floor(tonumber("0." .. frac) * 1000 + 0.5); tail = t3 end
  if tail == "" or tail == "Z" then return ms end
  local off = M.zone_offset(tail)
  if not off then return nil end
  return ms - off
end

-- Partitioners -------------------------------------------------------------------------

local PARTITIONERS = {}
for _, short in ipairs({ "Default", "Field", "TimeBased", "Daily", "Hourly" }) do
  local kind = short:lower()
  PARTITIONERS[short .. "Partitioner"] = kind
  PARTITIONERS["io.confluent.connect.storage.partitioner." .. short .. "Partitioner"] = kind
  PARTITIONERS["io.confluent.connect.hdfs.partitioner." .. short .. "Partitioner"] = kind
end
M.PARTITIONERS = PARTITIONERS

--- Describes a record for errors: "topic t, partition 0, offset 5".
function M.where(rec)
  return format("topic %s, partition %s, offset %s", tostring(rec.topic), tostring(rec.partition),
    tostring(rec.offset))
end

-- Value of a dotted field path in a struct or map (DataUtils.getNestedFieldValue).
local function nested(value, path)
  local v = value
  for part in path:gmatch("[^.]+") do
    if type(v) ~= "table" then return nil end
    v = v[part]
  end
  return v
end

-- The timestamp of a record for the configured extractor; raises naming the record.
local function extractor(kind, field)
  if kind == "Wallclock" then return function(_, now) return now end end
  if kind == "Record" then
    return function(rec)
      local ts = rec.timestamp
      if ts == nil or ts < 0 then
        error(format("Unable to determine timestamp using timestamp.extractor Record for record (%s): "
          .. "the record has no timestamp", M.where(rec)), 0)
      end
      return ts
    end
  end
  return function(rec)
    if type(rec.value) ~= "table" then
      error(format("record (%s): timestamp.extractor RecordField needs a struct or map value", M.where(rec)), 0)
    end
    local v = nested(rec.value, field)
    if type(v) == "number" then return v end
    if type(v) == "cdata" then return tonumber(v) end
    if type(v) == "string" then
      local ms = M.parse_iso(v)
      if ms then return ms end
      error(format("record (%s): timestamp.field '%s' value '%s' is not an ISO-8601 date-time",
        M.where(rec), field, v), 0)
    end
    error(format("record (%s): Error extracting timestamp from record field: %s (%s)", M.where(rec),
      field, v == nil and "missing" or type(v)), 0)
  end
end

--- Builds the partitioner of a config (typed keys as partitioned_sink defines them): returns
-- fn(record, now_ms) -> encoded partition, or nil and an error naming the key.
function M.partitioner(cfg)
  local cls = cfg["partitioner.class"]
  local kind = PARTITIONERS[cls]
  if not kind then
    return nil, format("partitioner.class '%s': not one of Default, Field, TimeBased, Daily, Hourly "
      .. "(io.confluent.connect.storage.partitioner.*Partitioner)", tostring(cls))
  end
  local delim = cfg["directory.delim"] or "/"
  if kind == "default" then
    return function(rec) return "partition=" .. tostring(rec.partition) end
  end
  if kind == "field" then
    local names = cfg["partition.field.name"] or {}
    if #names == 0 then return nil, "partition.field.name: FieldPartitioner needs at least one field" end
    return function(rec)
      local v = rec.value
      if type(v) ~= "table" then
        error(format("record (%s): FieldPartitioner needs a struct or map value (Value is not Struct type)",
          M.where(rec)), 0)
      end
      local out = {}
      for i = 1, #names do
        local x, t = v[names[i]], type(v[names[i]])
        if t == "cdata" then x = tostring(x):gsub("LL$", ""):gsub("ULL$", "")
        elseif t == "number" then
          if x ~= floor(x) then
            error(format("record (%s): field '%s': Type float is not supported as a partition key",
              M.where(rec), names[i]), 0)
          end
          x = format("%d", x)
        elseif t == "boolean" then x = tostring(x)
        elseif t ~= "string" then
          error(format("record (%s): field '%s': %s is not supported as a partition key", M.where(rec),
            names[i], x == nil and "a missing value" or (x == null and "null" or "Type " .. t)), 0)
        end
        out[i] = names[i] .. "=" .. x
      end
      return concat(out, delim)
    end
  end
  local path, duration = cfg["path.format"], cfg["partition.duration.ms"]
  if kind == "daily" then
    path = "'year'=YYYY" .. delim .. "'month'=MM" .. delim .. "'day'=dd"
    duration = 86400000
  elseif kind == "hourly" then
    path = "'year'=YYYY" .. delim .. "'month'=MM" .. delim .. "'day'=dd" .. delim .. "'hour'=HH"
    duration = 3600000
  end
  if path == nil or path:match("^%s*$") or path == delim then
    return nil, "path.format: Path format cannot be empty."
  end
  if delim ~= "" and path:sub(-#delim) == delim then path = path:sub(1, -#delim - 1) end
  if duration == nil or duration <= 0 then
    return nil, "partition.duration.ms: TimeBasedPartitioner needs a positive duration"
  end
  local zone, zerr = tz.zone(cfg.timezone or "")
  if not zone then return nil, zerr end
  local fmt, ferr = M.compile_pattern(path)
  if not fmt then return nil, "path.format '" .. path .. "': " .. ferr end
  local ex = cfg["timestamp.extractor"] or "Wallclock"
  if ex == "RecordField" and (cfg["timestamp.field"] or "") == "" then
    return nil, "timestamp.field: timestamp.extractor RecordField needs a field name"
  end
  local get = extractor(ex, cfg["timestamp.field"])
  return function(rec, now) return fmt(zone:to_local(M.bucket(get(rec, now), duration, zone))) end, get
end

-- File names ------------------------------------------------------------------------------

--- The committed name of a file (FileUtils.committedFileName).
function M.file_name(topic, partition, first, last, width, delim, ext)
  return concat({ topic, tostring(partition), pad(first, width), pad(last, width) }, delim) .. ext
end

local function escape(s) return (s:gsub("%p", "%%%0")) end

--- Start and end offsets of a committed file name of topic/partition, or nil.
function M.parse_file_name(name, topic, partition, delim)
  local d = escape(delim)
  local a, b = name:match("^" .. escape(topic) .. d .. partition .. d .. "(%d+)" .. d .. "(%d+)%.")
  if not a then return nil end
  return tonumber(a), tonumber(b)
end

-- Formats ---------------------------------------------------------------------------------

local FORMATS = {
  ["io.confluent.connect.hdfs.json.JsonFormat"] = "json",
  ["io.confluent.connect.s3.format.json.JsonFormat"] = "json",
  ["io.confluent.connect.hdfs.string.StringFormat"] = "string",
  ["io.confluent.connect.s3.format.bytearray.ByteArrayFormat"] = "bytes",
  json = "json", csv = "csv", bytes = "bytes", string = "string",
}
M.FORMATS = FORMATS
M.EXTENSIONS = { json = ".json", csv = ".csv", bytes = ".bin", string = ".txt" }

local function json_text(v)
  if v == nil or v == null then return "null" end
  local t = type(v)
  if t == "table" or t == "cdata" or t == "string" then return (encode(v)) end
  return tostring(v)
end

-- One CSV cell (RFC 4180: quoted when it holds a comma, quote or line break).
local function csv_cell(v)
  if v == nil or v == null then return "" end
  local t = type(v)
  local s
  if t == "table" then s = encode(v)
  elseif t == "cdata" then s = tostring(v):gsub("U?LL$", "")
  else s = tostring(v) end
  if s:find('[,"\r\n]') then s = '"' .. s:gsub('"', '""') .. '"' end
  return s
end

--- CSV column names of a record: the value schema's fields in order, else the sorted keys of
-- a map value. nil and an error for a value that is not a struct or map.
function M.csv_columns(rec)
  local s = rec.value_schema
  if s and s.type == "struct" and s.fields then
    local cols = {}
    for i, f in ipairs(s.fields) do cols[i] = f.field end
    return cols
  end
  if type(rec.value) ~= "table" then
    return nil, format("record (%s): format csv needs a struct or map value", M.where(rec))
  end
  local cols = {}
  for k in pairs(rec.value) do cols[#cols + 1] = tostring(k) end
  table.sort(cols)
  return cols
end

--- The header line of a CSV file.
function M.csv_header(cols)
  local out = {}
  for i = 1, #cols do out[i] = csv_cell(cols[i]) end
  return concat(out, ",") .. "\n"
end

--- The bytes one record adds to a file of format kind (cols: the CSV columns of the file).
function M.encode_record(kind, rec, cols, separator)
  local v = rec.value
  if kind == "json" then return json_text(v) .. "\n" end
  if kind == "string" then
    if type(v) == "string" then return v .. "\n" end
    return json_text(v) .. "\n"
  end
  if kind == "bytes" then
    if type(v) ~= "string" then
      error(format("record (%s): ByteArrayFormat needs bytes values (use value.converter="
        .. "org.apache.kafka.connect.converters.ByteArrayConverter), got %s", M.where(rec), type(v)), 0)
    end
    return v .. separator
  end
  if type(v) ~= "table" then
    error(format("record (%s): format csv needs a struct or map value", M.where(rec)), 0)
  end
  local out = {}
  for i = 1, #cols do out[i] = csv_cell(v[cols[i]]) end
  return concat(out, ",") .. "\n"
end

return M
