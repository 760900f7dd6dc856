-- Specs for transforms/cast.lua: Kafka's CastTest cases, written anew, and Java's
-- conversion rules (wrapping, saturation, parsing, Double.toString, BigDecimal.toString).
local connect = require "luaconnect"
local null = connect.null
local PATH = "transforms/cast.lua"

local DAY, HOUR = 86400000, 3600000
local DECIMAL = "org.apache.kafka.connect.data.Decimal"
local DATE = "org.apache.kafka.connect.data.Date"
local TIME = "org.apache.kafka.connect.data.Time"
local TIMESTAMP = "org.apache.kafka.connect.data.Timestamp"

local function cast(spec, variant, extra)
  local config = { spec = spec }
  for k, v in pairs(extra or {}) do config[k] = v end
  local run = transform(PATH, config, variant or "value")
  return function(record)
    record.topic = record.topic or "topic"
    return run(record)[1]
  end
end

-- Casts one value with a schema (or none) to the spec's whole-value type.
local function whole(spec, schema, value)
  local rec = cast(spec)({ value_schema = schema, value = value })
  return rec.value, rec.value_schema
end

local function s(t, extra)
  local out = { type = t, optional = false }
  for k, v in pairs(extra or {}) do out[k] = v end
  return out
end

local function field(name, schema)
  local f = { field = name }
  for k, v in pairs(schema) do f[k] = v end
  return f
end

local function struct(fields, extra)
  local out = s("struct", extra)
  out.fields = fields
  return out
end

local function decimal(scale) return s("bytes", { name = DECIMAL, version = 1, parameters = { scale = tostring(scale) } }) end

local function config_error(spec)
  local ok, err = pcall(connect._chain, "connector 'c'",
    { { alias = "cast", path = PATH, config = { spec = spec }, variant = "value" } })
  expect.eq(ok, false, "spec '" .. spec .. "' should be refused")
  return err
end

describe("Cast config", function()
  it("refuses bad specs at config time, naming the key, with Kafka's messages", function()
    local cases = {
      [""] = "Must specify at least one field to cast.",
      ["foo:faketype"] = "Invalid type found in casting spec: faketype",
      ["foo:array"] = "Cast transformation does not support casting to ARRAY; supported types are "
        .. "[INT8, INT16, INT32, INT64, FLOAT32, FLOAT64, BOOLEAN, STRING]",
      ["array"] = "Cast transformation does not support casting to ARRAY; supported types are "
        .. "[INT8, INT16, INT32, INT64, FLOAT32, FLOAT64, BOOLEAN, STRING]",
      ["foo:bytes"] = "Cast transformation does not support casting to BYTES; supported types are "
        .. "[INT8, INT16, INT32, INT64, FLOAT32, FLOAT64, BOOLEAN, STRING]",
      ["foo:int8:extra"] = "Invalid rename mapping: foo:int8:extra",
      ["foo:int8,int32"] = "Cast transformations that specify a type to cast the entire value to "
        .. "may only specify a single cast in their spec",
    }
    for spec, want in pairs(cases) do
      expect.eq(config_error(spec), "connector 'c': transform 'cast': key 'spec': " .. want)
    end
  end)

  it("reads type names in any case and with blanks", function()
    local rec = cast(" a : INT16 , b:Float64")({ value = { a = 1, b = 2 } })
    expect.eq(connect.json.encode(rec.value), '{"a":1,"b":2.0}')
  end)

  it("refuses unknown keys", function()
    local ok, err = pcall(connect._chain, "c",
      { { alias = "cast", path = PATH, config = { spec = "int8", spc = "x" }, variant = "value" } })
    expect.eq(ok, false)
    expect.truthy(err:find("unknown key 'spc'"), err)
  end)
end)

describe("Cast of null values", function()
  it("passes tombstones with and without a schema, key or value, unchanged", function()
    local rec = cast("foo:int64")({ key_schema = s("string"), key = "key", value_schema = s("string") })
    expect.eq(rec.value, nil)
    expect.same(rec.value_schema, s("string"))
    rec = cast("foo:int64")({ key = "key" })
    expect.eq(rec.value, nil)
    rec = cast("foo:int64", "key")({ key_schema = s("string"), value_schema = s("string"), value = "value" })
    expect.eq(rec.key, nil)
    expect.same(rec.key_schema, s("string"))
    expect.eq(rec.value, "value")
  end)

  it("casts a null field's default, or keeps null with replace.null.with.default=false", function()
    local schema = struct({ field("magic", s("int32", { optional = true, default = 10 })) })
    local rec = cast("magic:string")({ value_schema = schema, value = { magic = null } })
    expect.eq(rec.value_schema.fields[1].type, "string")
    expect.eq(rec.value_schema.fields[1].default, "10")
    expect.eq(rec.value.magic, "10")
    rec = cast("magic:string", "value", { ["replace.null.with.default"] = "false" })(
      { value_schema = schema, value = { magic = null } })
    expect.eq(rec.value.magic, null)
  end)

  it("replaces nulls of fields it does not cast too, as Kafka's new Struct does", function()
    local schema = struct({ field("a", s("int32")), field("b", s("string", { optional = true, default = "d" })) })
    local rec = cast("a:int64")({ value_schema = schema, value = { a = 1, b = null } })
    expect.same(rec.value, { a = 1, b = "d" })
    rec = cast("a:int64", "value", { ["replace.null.with.default"] = "false" })(
      { value_schema = schema, value = { a = 1, b = null } })
    expect.same(rec.value, { a = 1, b = null })
  end)
end)

describe("Cast of a whole key or value with a schema", function()
  it("casts an int32 key to int8", function()
    local rec = cast("int8", "key")({ key_schema = s("int32"), key = 42, value_schema = s("string"), value = "bogus" })
    expect.same(rec.key_schema, s("int8"))
    expect.eq(rec.key, 42)
    expect.eq(rec.value, "bogus")
  end)

  it("casts an int32 value to every target type", function()
    local cases = {
      { "int8", 42, "int8" }, { "int16", 42, "int16" }, { "int32", 42, "int32" },
      { "int64", 42, "int64" }, { "float32", 42, "float" }, { "float64", 42, "double" },
      { "boolean", true, "boolean" }, { "string", "42", "string" },
    }
    for _, c in ipairs(cases) do
      local v, schema = whole(c[1], s("int32"), 42)
      expect.eq(v, c[2], c[1])
      expect.same(schema, s(c[3]))
    end
    expect.eq((whole("boolean", s("int32"), 0)), false)
  end)

  it("keeps the schema's name, version, doc and parameters, and its optionality", function()
    local _, schema = whole("int64", s("int32", { name = "n", version = 2, doc = "d", optional = true,
      parameters = { p = "q" } }), 1)
    expect.same(schema, { type = "int64", optional = true, name = "n", version = 2, doc = "d",
      parameters = { p = "q" } })
  end)

  it("casts a Decimal to its text (keeping the logical name, as Kafka does)", function()
    local v, schema = whole("string", decimal(0), "\42")
    expect.eq(v, "42")
    expect.same(schema, s("string", { name = DECIMAL, version = 1, parameters = { scale = "0" } }))
  end)

  it("casts a Timestamp to ISO 8601 text", function()
    expect.eq((whole("string", s("int64", { name = TIMESTAMP, version = 1 }), DAY + 1)),
      "1970-01-02T00:00:00.001Z")
  end)

  it("casts the schema's default value too", function()
    local v, schema = whole("int32", s("float", { default = -42.125 }), 42.125)
    expect.eq(v, 42)
    expect.same(schema, s("int32", { default = -42 }))
  end)

  it("refuses to cast a struct", function()
    expect.error_matches(function()
      whole("int8", struct({ field("a", s("int32")) }), { a = 1 })
    end, "Cast transformation does not support casting from STRUCT; supported types are "
      .. "%[INT8, INT16, INT32, INT64, FLOAT32, FLOAT64, BOOLEAN, STRING, BYTES%]")
  end)
end)

describe("Cast of a whole key or value without a schema", function()
  it("casts an integer to every target type", function()
    local cases = {
      { "int8", "42" }, { "int16", "42" }, { "int32", "42" }, { "int64", "42" },
      { "float32", "42.0" }, { "float64", "42.0" }, { "boolean", "true" }, { "string", '"42"' },
    }
    for _, c in ipairs(cases) do
      local v, schema = whole(c[1], nil, 42)
      expect.eq(schema, nil)
      expect.eq(connect.json.encode({ v }), "[" .. c[2] .. "]", c[1])
    end
    expect.eq((whole("boolean", nil, 0)), false)
  end)

  it("casts the key without touching the value", function()
    local rec = cast("int8", "key")({ key = 42, value_schema = s("string"), value = "bogus" })
    expect.eq(rec.key_schema, nil)
    expect.eq(rec.key, 42)
  end)

  it("refuses arrays and maps", function()
    expect.error_matches(function() whole("int8", nil, connect.array({ "foo" })) end,
      "Cast transformation does not support casting from ARRAY")
    expect.error_matches(function() whole("string", nil, { a = 1 }) end,
      "Cast transformation does not support casting from MAP")
  end)

  it("treats JSON floats as doubles and integers as longs", function()
    local v = connect.json.decode('{"f":1.0,"g":2.5,"i":7,"big":9223372036854775807}')
    expect.eq((whole("string", nil, v.f)), "1.0")
    expect.eq((whole("string", nil, v.g)), "2.5")
    expect.eq((whole("string", nil, v.i)), "7")
    expect.eq((whole("string", nil, v.big)), "9223372036854775807")
    expect.eq((whole("int8", nil, v.big)), -1)
  end)
end)

describe("Cast of fields", function()
  it("casts logical types to their numbers", function()
    local spec = "date_to_int32:int32,timestamp_to_int64:int64,time_to_int64:int64,"
      .. "decimal_to_int32:int32,timestamp_to_float64:float64,null_timestamp_to_int32:int32"
    local schema = struct({
      field("date_to_int32", s("int32", { name = DATE, version = 1 })),
      field("timestamp_to_int64", s("int64", { name = TIMESTAMP, version = 1 })),
      field("time_to_int64", s("int32", { name = TIME, version = 1 })),
      field("decimal_to_int32", decimal(0)),
      field("timestamp_to_float64", s("int64", { name = TIMESTAMP, version = 1 })),
      field("null_timestamp_to_int32", s("int64", { name = TIMESTAMP, version = 1, optional = true })),
    })
    local value = { date_to_int32 = 1, timestamp_to_int64 = 0, time_to_int64 = 1,
      decimal_to_int32 = "\0\128\0\0\0", -- 2^31
      timestamp_to_float64 = 9223372036854775807LL, null_timestamp_to_int32 = null }
    local rec = cast(spec)({ value_schema = schema, value = value })
    expect.same(rec.value, { date_to_int32 = 1, timestamp_to_int64 = 0, time_to_int64 = 1,
      decimal_to_int32 = -2147483648, timestamp_to_float64 = 9.223372036854776e18,
      null_timestamp_to_int32 = null })
    local types = {}
    for i, f in ipairs(rec.value_schema.fields) do types[i] = f.field .. ":" .. f.type end
    expect.eq(table.concat(types, ","), "date_to_int32:int32,timestamp_to_int64:int64,"
      .. "time_to_int64:int64,decimal_to_int32:int32,timestamp_to_float64:double,"
      .. "null_timestamp_to_int32:int32")
    expect.same(rec.value_schema.fields[6], { field = "null_timestamp_to_int32", type = "int32", optional = true })
  end)

  it("casts logical types to text as Values.dateFormatFor and BigDecimal print them", function()
    local schema = struct({
      field("date", s("int32", { name = DATE, version = 1 })),
      field("decimal", decimal(0)),
      field("time", s("int32", { name = TIME, version = 1 })),
      field("timestamp", s("int64", { name = TIMESTAMP, version = 1 })),
      field("epoch", s("int32", { name = DATE, version = 1 })),
    })
    local rec = cast("date:string,decimal:string,time:string,timestamp:string,epoch:string")({
      value_schema = schema,
      value = { date = 1, decimal = "\7\190", time = HOUR, timestamp = 1704153600123, epoch = 0 },
    })
    expect.same(rec.value, { date = "1970-01-02", decimal = "1982", time = "01:00:00.000Z",
      timestamp = "2024-01-02T00:00:00.123Z", epoch = "00:00:00.000Z" })
  end)

  it("casts every primitive field type, passing the others through", function()
    local spec = "int8:int16,int16:int32,int32:int64,int64:boolean,float32:float64,float64:boolean,"
      .. "boolean:int8,string:int32,bigdecimal:string,date:string,optional:int32,bytes:string"
    local schema = struct({
      field("int8", s("int8")), field("int16", s("int16", { optional = true })),
      field("int32", s("int32", { default = 2 })), field("int64", s("int64")),
      field("float32", s("float")), field("float64", s("double", { default = -1.125 })),
      field("boolean", s("boolean")), field("string", s("string")),
      field("bigdecimal", decimal(0)), field("date", s("int32", { name = DATE, version = 1 })),
      field("optional", s("float", { optional = true })),
      field("timestamp", s("int64", { name = TIMESTAMP, version = 1 })),
      field("bytes", s("bytes")),
    })
    local value = { int8 = 8, int16 = 16, int32 = 32, int64 = 64, float32 = 32, float64 = -64,
      boolean = true, string = "42", bigdecimal = "\42", date = 1, optional = null, timestamp = 0,
      bytes = "\254\220\186\152\118\84\50\16" }
    local rec = cast(spec)({ value_schema = schema, value = value })
    expect.same(rec.value, { int8 = 8, int16 = 16, int32 = 32, int64 = true, float32 = 32,
      float64 = true, boolean = 1, string = 42, bigdecimal = "42", date = "1970-01-02",
      optional = null, timestamp = 0, bytes = "/ty6mHZUMhA=" })
    local f = {}
    for _, x in ipairs(rec.value_schema.fields) do f[x.field] = x end
    expect.same(f.int8, { field = "int8", type = "int16", optional = false })
    expect.same(f.int16, { field = "int16", type = "int32", optional = true })
    expect.same(f.int32, { field = "int32", type = "int64", optional = false, default = 2 })
    expect.same(f.float64, { field = "float64", type = "boolean", optional = false, default = true })
    expect.same(f.optional, { field = "optional", type = "int32", optional = true })
    expect.eq(f.timestamp, schema.fields[12]) -- not cast: the very same field
  end)

  it("casts fields of a schemaless map", function()
    local spec = "int8:int16,int16:int32,int32:int64,int64:boolean,float32:float64,float64:boolean,"
      .. "boolean:int8,string:int32"
    local value = { int8 = 8, int16 = 16, int32 = 32, int64 = 64, float32 = 32.5, float64 = -64,
      boolean = true, string = "42" }
    local rec = cast(spec)({ value = value })
    expect.eq(rec.value_schema, nil)
    expect.eq(connect.json.encode(rec.value), '{"boolean":1,"float32":32.5,"float64":true,'
      .. '"int16":16,"int32":32,"int64":true,"int8":8,"string":42}')
  end)

  it("adds a null for a cast field the map lacks, as Kafka's HashMap.put does", function()
    local rec = cast("missing:int32")({ value = { a = 1 } })
    expect.eq(connect.json.encode(rec.value), '{"a":1,"missing":null}')
  end)

  it("needs a map or a struct", function()
    expect.error_matches(function() cast("a:int8")({ value = "x" }) end,
      "Only Map objects supported in absence of schema for %[cast types%], found: string")
    expect.error_matches(function() cast("a:int8")({ value_schema = s("string"), value = "x" }) end,
      "Only Struct objects supported for %[cast types%], found: string")
  end)

  it("refuses to cast nested structs", function()
    local schema = struct({ field("n", struct({ field("x", s("int32")) })) })
    expect.error_matches(function() cast("n:string")({ value_schema = schema, value = { n = { x = 1 } } }) end,
      "does not support casting from STRUCT")
  end)

  it("fails, as Kafka does, on a struct schema that has a default", function()
    local schema = struct({ field("a", s("int32")) }, { default = { a = 1 } })
    expect.error_matches(function() cast("a:string")({ value_schema = schema, value = { a = 2 } }) end,
      "does not support casting from STRUCT")
  end)

  it("builds the new schema once per input schema and leaves the input alone", function()
    local schema = struct({ field("a", s("int32")), field("b", s("string")) })
    local before = connect.json.encode(schema)
    local f = cast("a:string")
    local r1 = f({ value_schema = schema, value = { a = 1, b = "x" } })
    local r2 = f({ value_schema = schema, value = { a = 2, b = "y" } })
    expect.eq(r1.value_schema, r2.value_schema)
    expect.eq(r2.value.a, "2")
    expect.eq(connect.json.encode(schema), before)
  end)

  it("works on the key", function()
    local rec = cast("id:int64", "key")({ key = { id = "17" }, value = { id = "x" } })
    expect.eq(rec.key.id, 17)
    expect.eq(rec.value.id, "x")
  end)
end)

describe("Cast conversions", function()
  local function to(target, schema_type, v)
    return (whole(target, schema_type and s(schema_type) or nil, v))
  end

  it("wraps integers to narrower types as Java's casts do", function()
    expect.eq(to("int8", "int64", 300), 44)
    expect.eq(to("int8", "int32", -129), 127)
    expect.eq(to("int16", "int32", 40000), -25536)
    expect.eq(to("int32", "int64", 4294967297), 1)
    expect.eq(to("int32", "int64", 9223372036854775807LL), -1)
    expect.eq(to("int64", "int64", 9223372036854775807LL), 9223372036854775807LL)
  end)

  it("truncates floats toward zero and saturates at the int and long range", function()
    expect.eq(to("int32", "double", 1e10), 2147483647)
    expect.eq(to("int32", "double", -2.9), -2)
    expect.eq(to("int8", "double", 1e10), -1) -- (byte) (int) 1e10
    expect.eq(to("int8", "double", 0 / 0), 0)
    expect.eq(to("int64", "double", 1e30), 9223372036854775807LL)
    expect.eq(to("int64", "double", -1e30), -9223372036854775807LL - 1)
    expect.eq(to("int64", "double", 2 ^ 60), 1152921504606846976LL)
  end)

  it("makes numbers booleans by their integer part", function()
    expect.eq(to("boolean", "double", 0.5), false)
    expect.eq(to("boolean", "double", -1.5), true)
    expect.eq(to("boolean", "int64", 0), false)
    expect.eq(to("boolean", "double", 0 / 0), false)
  end)

  it("parses strings as Java's parseByte/parseInt/parseLong/parseDouble/parseBoolean", function()
    expect.eq(to("int8", "string", "-128"), -128)
    expect.eq(to("int32", "string", "+17"), 17)
    expect.eq(to("int64", "string", "9223372036854775807"), 9223372036854775807LL)
    expect.eq(to("int64", "string", "-9007199254740993"), -9007199254740993LL)
    expect.eq(to("float64", "string", " 1.5 "), 1.5)
    expect.eq(to("float64", "string", "1e3"), 1000)
    expect.eq(to("float64", "string", "1.5f"), 1.5)
    expect.eq(to("float64", "string", ".5"), 0.5)
    expect.eq(to("float64", "string", "0x1.8p1"), 3)
    expect.eq(to("float64", "string", "-Infinity"), -math.huge)
    expect.eq(to("float32", "string", "0.1"), 0.10000000149011612)
    expect.eq(to("boolean", "string", "TRUE"), true)
    expect.eq(to("boolean", "string", "yes"), false)
  end)

  it("reports strings Java cannot parse as out of range", function()
    for _, c in ipairs({ { "int8", "128" }, { "int32", "abc" }, { "int32", " 1" }, { "int32", "1.0" },
        { "int64", "9223372036854775808" }, { "int16", "" }, { "float64", "1e" }, { "float64", "0x10" },
        { "float64", "inf" } }) do
      expect.error_matches(function() to(c[1], "string", c[2]) end,
        "%(transforms/cast%.lua%): Value %(" .. c[2]:gsub("%p", "%%%0") .. "%) was out of range for "
          .. "requested data type\n")
    end
  end)

  it("prints doubles as Double.toString and floats as Float.toString", function()
    local cases = { { 100, "100.0" }, { 1e21, "1.0E21" }, { 0.001, "0.001" }, { 0.0001, "1.0E-4" },
      { 1234567, "1234567.0" }, { 12345678, "1.2345678E7" }, { -0.5, "-0.5" }, { 0.1 + 0.2, "0.30000000000000004" },
      { 4.9e-324, "4.9E-324" }, { 1.7976931348623157e308, "1.7976931348623157E308" }, { -0.0, "-0.0" },
      { 2e-3, "0.002" }, { 1e7, "1.0E7" }, { 9999999, "9999999.0" } }
    for _, c in ipairs(cases) do
      expect.eq(to("string", "double", c[1]), c[2])
      -- the codec writes doubles with the same rules
      if c[1] ~= 0 then expect.eq(connect.json.encode({ connect.float(c[1]) }), "[" .. c[2] .. "]") end
    end
    expect.eq(to("string", "float", 0.1), "0.1")
    expect.eq(to("string", "float", 1.1), "1.1")
    expect.eq(to("string", "float", 1e10), "1.0E10")
    expect.eq(to("string", "float", 3.4028234663852886e38), "3.4028235E38")
    expect.eq(to("float64", "float", 1.1), 1.100000023841858)
    expect.eq(to("string", "double", 1.100000023841858), "1.100000023841858")
  end)

  it("prints integers exactly, long ones too", function()
    expect.eq(to("string", "int64", 9007199254740993LL), "9007199254740993")
    expect.eq(to("string", "int64", -9223372036854775807LL - 1), "-9223372036854775808")
    expect.eq(to("string", "int8", -5), "-5")
  end)

  it("reads Decimals with their scale", function()
    local function dec(target, scale, bytes) return (whole(target, decimal(scale), bytes)) end
    local minus_12345 = "\207\199"
    expect.eq(dec("string", 2, minus_12345), "-123.45")
    expect.eq(dec("int32", 2, minus_12345), -123)
    expect.eq(dec("float64", 2, minus_12345), -123.45)
    expect.eq(dec("boolean", 1, "\5"), false) -- 0.5: longValue() is 0
    expect.eq(dec("string", 10, "\1"), "1E-10")
    expect.eq(dec("string", 7, "\1"), "1E-7")
    expect.eq(dec("string", 6, "\1"), "0.000001")
    expect.eq(dec("string", -2, "\123"), "1.23E+4")
    expect.eq(dec("string", 2, "\0"), "0.00")
    expect.eq(dec("string", 0, "\0\128\0\0\0\0\0\0\0"), "9223372036854775808")
    expect.eq(dec("int64", 0, "\0\128\0\0\0\0\0\0\0"), -9223372036854775807LL - 1)
    expect.eq(dec("string", 3, "\255\255\255\255\255\255\255\255\255\255"), "-0.001")
  end)

  it("refuses bytes for anything but string", function()
    expect.error_matches(function() to("int32", "bytes", "\1") end,
      "Unexpected type in Cast transformation: bytes")
  end)
end)
