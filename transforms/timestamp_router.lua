--- TimestampRouter: Kafka Connect's org.apache.kafka.connect.transforms.TimestampRouter.
-- The topic becomes topic.format with ${topic} replaced by the topic and then ${timestamp}
-- by the record timestamp formatted with timestamp.format (a SimpleDateFormat pattern, UTC,
-- via _datetime). A record without a timestamp is an error, as in Kafka.
--
-- Per record: the formatted timestamp is reused while the timestamp stays in the same
-- unit of the finest field of the pattern (the same day for yyyyMMdd), and the output topic
-- is reused per topic while that text stays the same, so the usual case allocates nothing.
local connect = require "luaconnect"
local datetime = require "_datetime"

local floor, find, sub, format, concat = math.floor, string.find, string.sub, string.format,
  table.concat
local type, tonumber, tostring = type, tonumber, tostring

local CACHE_MAX = 10000
local DAY = 86400000
-- The time unit each pattern letter depends on; letters not listed change with the day or
-- not at all.
local UNIT = { S = 1, s = 1000, m = 60000, H = 3600000, k = 3600000, K = 3600000,
  h = 3600000, a = 3600000 }

-- s with every plain (non-pattern) occurrence of needle replaced by repl.
local function replace_all(s, needle, repl)
  local out, i = {}, 1
  while true do
    local a, b = find(s, needle, i, true)
    if not a then break end
    out[#out + 1] = sub(s, i, a - 1)
    out[#out + 1] = repl
    i = b + 1
  end
  if i == 1 then return s end
  out[#out + 1] = sub(s, i)
  return concat(out)
end

-- The pieces of s around each "${timestamp}" (n pieces means n - 1 placeholders).
local function split_timestamp(s)
  local parts, i = {}, 1
  while true do
    local a, b = find(s, "${timestamp}", i, true)
    if not a then break end
    parts[#parts + 1] = sub(s, i, a - 1)
    i = b + 1
  end
  parts[#parts + 1] = sub(s, i)
  return parts
end

local function describe(record)
  return format("topic='%s', partition=%s, offset=%s, timestamp=null", tostring(record.topic),
    tostring(record.partition), tostring(record.offset))
end

return connect.transform {
  version = "1.0.0",
  reads_headers = false,
  doc = "Route records to a topic named from the topic and the record timestamp",
  aliases = { "TimestampRouter", "org.apache.kafka.connect.transforms.TimestampRouter" },
  config = {
    ["topic.format"] = { type = "string", default = "${topic}-${timestamp}",
      doc = "Format string which can contain ${topic} and ${timestamp} as placeholders for "
        .. "the topic and timestamp, respectively." },
    ["timestamp.format"] = { type = "string", default = "yyyyMMdd",
      doc = "Format string for the timestamp that is compatible with java.text.SimpleDateFormat.",
      validate = function(v)
        local _, err = datetime.compile(v)
        if err then return format("invalid SimpleDateFormat pattern '%s': %s", v, err) end
      end },
  },

  init = function(cfg)
    local f = assert(datetime.compile(cfg["timestamp.format"]))
    local unit = DAY
    for _, el in ipairs(f.elements) do
      if el.tag and UNIT[el.tag] and UNIT[el.tag] < unit then unit = UNIT[el.tag] end
    end
    cfg._fmt, cfg._unit = f, unit
    cfg._bucket, cfg._stamp = nil, nil
    cfg._topics, cfg._cached = {}, 0
    return cfg
  end,

  apply = function(record, cfg)
    local ts = record.timestamp
    if ts == nil or ts == connect.null then
      error("Timestamp missing on record: " .. describe(record), 0)
    end
    if type(ts) ~= "number" then ts = tonumber(ts) end
    local bucket = floor(ts / cfg._unit)
    local stamp = cfg._stamp
    if bucket ~= cfg._bucket then
      stamp = cfg._fmt:format(ts)
      cfg._bucket, cfg._stamp = bucket, stamp
    end
    local topic = record.topic
    local entry = cfg._topics[topic]
    if entry == nil then
      -- As Kafka: ${topic} first, then ${timestamp} anywhere in the result.
      entry = { parts = split_timestamp(replace_all(cfg["topic.format"], "${topic}", topic)) }
      if cfg._cached >= CACHE_MAX then cfg._topics, cfg._cached = {}, 0 end
      cfg._topics[topic], cfg._cached = entry, cfg._cached + 1
    end
    if entry.stamp ~= stamp then
      entry.stamp, entry.out = stamp, concat(entry.parts, stamp)
    end
    record.topic = entry.out
    return record
  end,
}
