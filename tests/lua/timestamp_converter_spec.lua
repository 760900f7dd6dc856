-- Specs for transforms/timestamp_converter.lua: Kafka's TimestampConverterTest cases,
-- written anew for the value model (Timestamp = int64 ms, Date = int32 days, Time = int32
-- ms of day; without a schema, Date/Time/Timestamp targets give epoch milliseconds).
local connect = require "luaconnect"
local null = connect.null
local PATH = "transforms/timestamp_converter.lua"

local DAY = 86400000
local DATE_PLUS_TIME_UNIX = DAY + 1234 -- 1970-01-02T00:00:01.234Z
local DATE_PLUS_TIME_MICROS = DATE_PLUS_TIME_UNIX * 1000 + 123
local DATE_PLUS_TIME_NANOS = DATE_PLUS_TIME_MICROS * 1000 + 456
local DATE_PLUS_TIME_SECONDS = 86401
local FMT = "yyyy MM dd HH mm ss SSS z"
local DATE_PLUS_TIME_STRING = "1970 01 02 00 00 01 234 UTC"

local DATE_NAME = "org.apache.kafka.connect.data.Date"
local TIME_NAME = "org.apache.kafka.connect.data.Time"
local TIMESTAMP_NAME = "org.apache.kafka.connect.data.Timestamp"

local function schema(t, optional, name)
  return { type = t, optional = optional or false, name = name, version = name and 1 or nil }
end
local TIMESTAMP, OPT_TIMESTAMP = schema("int64", false, TIMESTAMP_NAME), schema("int64", true, TIMESTAMP_NAME)
local DATE, OPT_DATE = schema("int32", false, DATE_NAME), schema("int32", true, DATE_NAME)
local TIME, OPT_TIME = schema("int32", false, TIME_NAME), schema("int32", true, TIME_NAME)
local INT64, OPT_INT64 = schema("int64"), schema("int64", true)
local STRING, OPT_STRING = schema("string"), schema("string", true)

local function field(name, s)
  local f = { field = name }
  for k, v in pairs(s) do f[k] = v end
  return f
end

local function struct(fields, optional, extra)
  local s = { type = "struct", optional = optional or false, fields = fields }
  for k, v in pairs(extra or {}) do s[k] = v end
  return s
end

local function converter(config, variant)
  local run = transform(PATH, config, variant or "value")
  return function(record)
    record.topic = record.topic or "topic"
    return run(record)[1]
  end
end

local function convert(target, value_schema, value, extra)
  local config = { ["target.type"] = target }
  for k, v in pairs(extra or {}) do config[k] = v end
  local rec = converter(config)({ value_schema = value_schema, value = value })
  return rec.value, rec.value_schema
end

local function config_error(config)
  local ok, err = pcall(connect._chain, "connector 'c'",
    { { alias = "ts", path = PATH, config = config, variant = "value" } })
  expect.eq(ok, false)
  return err
end

describe("TimestampConverter config", function()
  it("needs target.type", function()
    expect.truthy(config_error({}):find("missing required key 'target.type'", 1, true))
  end)

  it("refuses an unknown target.type or unix.precision", function()
    expect.truthy(config_error({ ["target.type"] = "invalid" }):find(
      "key 'target.type': must be one of string, unix, Date, Time, Timestamp, got 'invalid'", 1, true))
    expect.truthy(config_error({ ["target.type"] = "unix", ["unix.precision"] = "invalid" }):find(
      "key 'unix.precision': must be one of", 1, true))
    converter({ ["target.type"] = "unix", ["unix.precision"] = "seconds" }) -- valid
  end)

  it("needs a format for string timestamps", function()
    local want = "key 'format': TimestampConverter requires format option to be specified when "
      .. "using string timestamps"
    expect.truthy(config_error({ ["target.type"] = "string" }):find(want, 1, true))
    expect.truthy(config_error({ ["target.type"] = "string", format = "  " }):find(want, 1, true))
  end)

  it("refuses a format SimpleDateFormat refuses", function()
    expect.eq(config_error({ ["target.type"] = "string", format = "bad-format" }),
      "connector 'c': transform 'ts': key 'format': TimestampConverter requires a "
      .. "SimpleDateFormat-compatible pattern for string timestamps: bad-format "
      .. "(Illegal pattern character 'b')")
  end)

  it("has no field.syntax.version, like Kafka's TimestampConverter", function()
    expect.truthy(config_error({ ["target.type"] = "unix", ["field.syntax.version"] = "V2" }):find(
      "unknown key 'field.syntax.version'", 1, true))
  end)
end)

describe("TimestampConverter without a schema", function()
  it("converts a unix time to each type", function()
    local f = { format = FMT }
    expect.eq((convert("Timestamp", nil, DATE_PLUS_TIME_UNIX, f)), DATE_PLUS_TIME_UNIX)
    expect.eq((convert("Date", nil, DATE_PLUS_TIME_UNIX, f)), DAY)
    expect.eq((convert("Time", nil, DATE_PLUS_TIME_UNIX, f)), 1234)
    expect.eq((convert("unix", nil, DATE_PLUS_TIME_UNIX, f)), DATE_PLUS_TIME_UNIX)
    expect.eq((convert("string", nil, DATE_PLUS_TIME_UNIX, f)), DATE_PLUS_TIME_STRING)
    local v, s = convert("Timestamp", nil, DAY)
    expect.eq(v, DAY)
    expect.eq(s, nil)
  end)

  it("parses strings with the format", function()
    expect.eq((convert("Timestamp", nil, DATE_PLUS_TIME_STRING, { format = FMT })), DATE_PLUS_TIME_UNIX)
  end)

  it("converts strings to unix times in each precision, losing sub-millisecond parts", function()
    local function unix(p) return (convert("unix", nil, DATE_PLUS_TIME_STRING, { format = FMT, ["unix.precision"] = p })) end
    expect.eq(unix("microseconds"), 86401234000)
    expect.eq(unix("nanoseconds"), 86401234000000)
    expect.eq(unix("seconds"), DATE_PLUS_TIME_SECONDS)
  end)

  it("passes null values and null fields through for every target type", function()
    for _, t in ipairs({ "string", "Date", "Timestamp", "unix", "Time" }) do
      local v, s = convert(t, nil, nil, { format = FMT })
      expect.eq(v, nil)
      expect.eq(s, nil)
      v, s = convert(t, nil, nil, { format = FMT, field = "ts" })
      expect.eq(v, nil)
      v = convert(t, nil, { ts = null }, { format = FMT, field = "ts" })
      expect.same(v, { ts = null })
    end
  end)

  it("converts a field of a map, adding null when the map lacks it (as Kafka's put does)", function()
    expect.same((convert("Date", nil, { ts = DATE_PLUS_TIME_UNIX, other = "x" }, { field = "ts" })),
      { ts = DAY, other = "x" })
    expect.same((convert("Date", nil, { other = "x" }, { field = "ts" })), { ts = null, other = "x" })
  end)

  it("converts the key", function()
    local rec = converter({ ["target.type"] = "Timestamp" }, "key")({ key = DATE_PLUS_TIME_UNIX, value = 5 })
    expect.eq(rec.key, DATE_PLUS_TIME_UNIX)
    expect.eq(rec.key_schema, nil)
    expect.eq(rec.value, 5)
  end)

  it("reads a JSON integer as unix time and refuses other values", function()
    expect.eq((convert("string", nil, connect.json.decode("86401234"), { format = FMT })), DATE_PLUS_TIME_STRING)
    expect.error_matches(function() convert("unix", nil, 1.5) end,
      "TimestampConverter does not support double objects as timestamps")
    expect.error_matches(function() convert("unix", nil, connect.json.decode("[1.0]")[1]) end,
      "TimestampConverter does not support double objects as timestamps")
    expect.error_matches(function() convert("unix", nil, true) end,
      "TimestampConverter does not support boolean objects as timestamps")
    expect.error_matches(function() convert("unix", nil, "x", { field = "ts" }) end,
      "Only Map objects supported in absence of schema for %[converting timestamp formats%], found: string")
  end)

  it("reports a string that does not match the format", function()
    expect.error_matches(function() convert("unix", nil, "nope", { format = FMT }) end,
      "Could not parse timestamp: value %(nope%) does not match pattern %(yyyy MM dd HH mm ss SSS z%)")
    expect.error_matches(function() convert("unix", nil, "2024") end,
      "TimestampConverter requires format option to be specified when using string timestamps")
  end)
end)

describe("TimestampConverter with a schema", function()
  it("converts a Timestamp to each type, with Kafka's schemas", function()
    local function check(target, want_value, want_schema)
      local v, s = convert(target, TIMESTAMP, DATE_PLUS_TIME_UNIX, { format = FMT })
      expect.eq(v, want_value, target)
      expect.same(s, want_schema)
    end
    check("Timestamp", DATE_PLUS_TIME_UNIX, TIMESTAMP)
    check("Date", 1, DATE)
    check("Time", 1234, TIME)
    check("unix", DATE_PLUS_TIME_UNIX, INT64)
    check("string", DATE_PLUS_TIME_STRING, STRING)
  end)

  it("converts Date, Time, unix and string values to a Timestamp", function()
    local function check(from_schema, value, want)
      local v, s = convert("Timestamp", from_schema, value, { format = FMT })
      expect.eq(v, want)
      expect.same(s, TIMESTAMP)
    end
    check(DATE, 1, DAY)
    check(TIME, 1234, 1234)
    check(INT64, DATE_PLUS_TIME_UNIX, DATE_PLUS_TIME_UNIX)
    check(STRING, DATE_PLUS_TIME_STRING, DATE_PLUS_TIME_UNIX)
  end)

  it("updates the schema of null values and null fields for every pair of types", function()
    local targets = { Timestamp = OPT_TIMESTAMP, Date = OPT_DATE, Time = OPT_TIME, unix = OPT_INT64,
      string = OPT_STRING }
    local sources = { OPT_INT64, OPT_TIME, OPT_DATE, OPT_STRING, OPT_TIMESTAMP }
    for target, want in pairs(targets) do
      for _, from in ipairs(sources) do
        local v, s = convert(target, from, nil, { format = FMT })
        expect.eq(v, nil)
        expect.same(s, want)

        local in_schema = struct({ field("ts", from), field("other", STRING) })
        local want_schema = struct({ field("ts", want), field("other", STRING) })
        local config = { format = FMT, field = "ts" }
        v, s = convert(target, in_schema, { ts = null, other = "test" }, config)
        expect.same(s, want_schema)
        expect.same(v, { ts = null, other = "test" })

        v, s = convert(target, struct(in_schema.fields, true), nil, config)
        expect.same(s, struct(want_schema.fields, true))
        expect.eq(v, nil)
      end
    end
  end)

  it("converts a field of a struct and keeps the others", function()
    local in_schema = struct({ field("ts", INT64), field("other", STRING) }, false, { name = "rec", doc = "d" })
    local v, s = convert("Timestamp", in_schema, { ts = DATE_PLUS_TIME_UNIX, other = "test" }, { field = "ts" })
    expect.same(s, struct({ field("ts", TIMESTAMP), field("other", STRING) }, false, { name = "rec", doc = "d" }))
    expect.same(v, { ts = DATE_PLUS_TIME_UNIX, other = "test" })
  end)

  it("converts a null field's default, or keeps null with replace.null.with.default=false", function()
    local in_schema = struct({ field("ts", { type = "int64", optional = true, default = 0 }), field("other", STRING) })
    local want = struct({ field("ts", OPT_TIMESTAMP), field("other", STRING) })
    local v, s = convert("Timestamp", in_schema, { ts = null, other = "test" },
      { field = "ts", ["replace.null.with.default"] = "false" })
    expect.same(s, want)
    expect.same(v, { ts = null, other = "test" })
    v = convert("string", in_schema, { ts = null, other = "test" }, { field = "ts", format = "yyyy" })
    expect.same(v, { ts = "1970", other = "test" })
  end)

  it("reads unix fields in each precision", function()
    local in_schema = struct({ field("ts", INT64) })
    local want = struct({ field("ts", TIMESTAMP) })
    local function ts(p, value)
      local v, s = convert("Timestamp", in_schema, { ts = value }, { field = "ts", ["unix.precision"] = p })
      expect.same(s, want)
      return v.ts
    end
    expect.eq(ts("microseconds", DATE_PLUS_TIME_MICROS), DATE_PLUS_TIME_UNIX)
    expect.eq(ts("nanoseconds", DATE_PLUS_TIME_NANOS), DATE_PLUS_TIME_UNIX)
    expect.eq(ts("seconds", DATE_PLUS_TIME_SECONDS), DAY + 1000)
    expect.eq(ts("nanoseconds", 1704153600123456789LL), 1704153600123)
    expect.eq(ts("microseconds", -1500), -1) -- truncation toward zero, as TimeUnit does
  end)

  it("writes unix times in each precision, long ones as int64", function()
    local function unix(p, ms) return (convert("unix", TIMESTAMP, ms, { ["unix.precision"] = p })) end
    expect.eq(unix("nanoseconds", 1704153600123), 1704153600123000000LL)
    expect.eq(unix("microseconds", 1704153600123), 1704153600123000)
    expect.eq(unix("seconds", 1704153600123), 1704153600)
    expect.eq(unix("seconds", -1500), -1)
    expect.eq(unix("nanoseconds", 9223372036855), 9223372036854775807LL) -- saturates
  end)

  it("floors instants before 1970 to their day and time of day", function()
    expect.eq((convert("Date", TIMESTAMP, -1)), -1)
    expect.eq((convert("Time", TIMESTAMP, -1)), DAY - 1)
    expect.eq((convert("Date", nil, -1)), -DAY)
  end)

  it("converts the field of a struct schema's default", function()
    local in_schema = struct({ field("ts", INT64), field("other", STRING) }, true,
      { default = { ts = DATE_PLUS_TIME_UNIX, other = "x" } })
    local _, s = convert("Date", in_schema, { ts = 0, other = "y" }, { field = "ts" })
    expect.same(s.default, { ts = 1, other = "x" })
    expect.same(in_schema.default, { ts = DATE_PLUS_TIME_UNIX, other = "x" })
  end)

  it("builds the schema once per input schema and leaves the input alone", function()
    local in_schema = struct({ field("ts", INT64), field("other", STRING) })
    local before = connect.json.encode(in_schema)
    local c = converter({ ["target.type"] = "Date", field = "ts" })
    local r1 = c({ value_schema = in_schema, value = { ts = DAY, other = "a" } })
    local r2 = c({ value_schema = in_schema, value = { ts = 2 * DAY, other = "b" } })
    expect.eq(r1.value_schema, r2.value_schema)
    expect.eq(r2.value.ts, 2)
    expect.eq(connect.json.encode(in_schema), before)
  end)

  it("leaves a struct without the field as it is", function()
    local in_schema = struct({ field("other", STRING) })
    local v, s = convert("Date", in_schema, { other = "a" }, { field = "ts" })
    expect.same(v, { other = "a" })
    expect.same(s, in_schema)
  end)

  it("refuses schemas that hold no timestamp, with Kafka's messages", function()
    expect.error_matches(function() convert("unix", schema("int32"), 5) end,
      "Schema Schema{INT32} does not correspond to a known timestamp type format")
    expect.error_matches(function() convert("unix", schema("double", false, "x.Y"), 5) end,
      "Schema Schema{x.Y:FLOAT64} does not correspond to a known timestamp type format")
    expect.error_matches(function() convert("unix", STRING, "x", { field = "ts" }) end,
      "Only Struct objects supported for %[converting timestamp formats%], found: string")
    expect.error_matches(function() convert("unix", INT64, "x") end,
      "Expected Unix timestamp to be a Long, but found string")
  end)

  it("converts the key with TimestampConverter$Key", function()
    local rec = converter({ ["target.type"] = "Date" }, "key")({ key_schema = TIMESTAMP,
      key = DATE_PLUS_TIME_UNIX, value_schema = TIMESTAMP, value = 7 })
    expect.eq(rec.key, 1)
    expect.same(rec.key_schema, DATE)
    expect.eq(rec.value, 7)
    expect.eq(rec.value_schema, TIMESTAMP)
  end)
end)
