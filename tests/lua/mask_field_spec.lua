-- Specs for transforms/mask_field.lua, after Kafka's MaskFieldTest.
local connect = require "luaconnect"
local null = connect.null
local PATH = "transforms/mask_field.lua"
local json = connect.json

local fails = expect.error_contains

local function f(name, type_, extra)
  local t = { field = name, type = type_, optional = false }
  for k, v in pairs(extra or {}) do t[k] = v end
  return t
end

local SCHEMA = { type = "struct", optional = false, fields = connect.array {
  f("magic", "int32"), f("bool", "boolean"), f("byte", "int8"), f("short", "int16"),
  f("int", "int32"), f("long", "int64"), f("float", "float"), f("double", "double"),
  f("string", "string"),
  f("date", "int32", { name = "org.apache.kafka.connect.data.Date", version = 1 }),
  f("time", "int32", { name = "org.apache.kafka.connect.data.Time", version = 1 }),
  f("timestamp", "int64", { name = "org.apache.kafka.connect.data.Timestamp", version = 1 }),
  f("decimal", "bytes", { name = "org.apache.kafka.connect.data.Decimal", version = 1,
    parameters = { scale = "0" } }),
  f("array", "array", { items = { type = "int32", optional = false } }),
  f("map", "map", { keys = { type = "string", optional = false },
    values = { type = "string", optional = false } }),
  f("withDefault", "string", { optional = true, default = "default" }),
} }

local function values_with_schema()
  return { magic = 42, bool = true, byte = 42, short = 42, int = 42, long = 42, float = 42,
    double = 42, string = "hmm", date = 19000, time = 3600000, timestamp = 1700000000000,
    decimal = "\42", array = connect.array { 1, 2, 3 }, map = { what = "what" },
    withDefault = null }
end

-- Kafka's schemaless VALUES in our value model: Java's Byte/Short/Integer/Long are integral
-- numbers, Float/Double integral floats (connect.float), List an array, Map a table.
local function values()
  return { magic = 42, bool = true, byte = 42, short = 42, int = 42, long = 9007199254740993LL,
    float = connect.float(42), double = 42.5, string = "55.121.20.20",
    list = connect.array { 42 }, map = { key = "value" } }
end

local function masker(fields, replacement, rnwd)
  return transform(PATH, { fields = fields, replacement = replacement,
    ["replace.null.with.default"] = rnwd or "false" }, "value")
end

local function mask(fields, replacement, schema, value)
  return masker(fields, replacement)({ topic = "", partition = 0, offset = 0,
    value_schema = schema, value = value })[1].value
end

describe("MaskField schemaless", function()
  it("masks with each type's null value", function()
    local v = mask("bool,byte,short,int,long,float,double,string,list,map", nil, nil, values())
    expect.eq(v.magic, 42)
    expect.eq(v.bool, false)
    expect.eq(v.byte, 0)
    expect.eq(v.short, 0)
    expect.eq(v.int, 0)
    expect.eq(v.long, 0)
    expect.eq(v.string, "")
    expect.same(v.list, {})
    expect.same(v.map, {})
    -- Floats stay floats, lists stay lists: what a reader of the JSON sees.
    expect.eq(json.encode({ f = v.float, d = v.double, l = v.list, m = v.map, i = v.int }),
      '{"d":0.0,"f":0.0,"i":0,"l":[],"m":{}}')
  end)

  it("masks with a replacement converted to the value's type", function()
    local function check(field, replacement, want)
      local v = mask(field, replacement, nil, values())
      expect.eq(json.encode({ x = v[field] }), '{"x":' .. want .. '}', field)
    end
    check("short", "123", "123")
    check("byte", "123", "123")
    check("int", "123", "123")
    check("long", "123", "123")
    check("float", "123.0", "123.0")
    check("double", "123", "123.0")
    check("double", "1.5", "1.5")
    check("int", "12.9", "12") -- BigDecimal.longValue() truncates
    check("int", "-12.9", "-12")
    check("long", "9007199254740993", "9007199254740993")
    check("string", "123", '"123"')
  end)

  it("puts a null for a listed field the value lacks", function()
    local v = mask("absent", nil, nil, { a = 1 })
    expect.eq(v.absent, null)
    expect.eq(v.a, 1)
  end)

  it("leaves nulls null", function()
    local v = mask("n", "x", nil, { n = null })
    expect.eq(v.n, null)
  end)

  it("refuses a replacement for booleans, lists and maps", function()
    fails(function() mask("bool", "false", nil, values()) end,
      "Cannot mask value of type boolean with custom replacement.")
    fails(function() mask("list", "123", nil, values()) end,
      "Cannot mask value of type array with custom replacement.")
    fails(function() mask("map", "123", nil, values()) end,
      "Cannot mask value of type map with custom replacement.")
  end)

  it("refuses a replacement that is not a number for numbers", function()
    for _, field in ipairs({ "byte", "short", "int", "long", "float", "double" }) do
      fails(function() mask(field, "foo", nil, values()) end, "Unable to convert foo (string) to a number")
    end
    fails(function() mask("string,int", "foo", nil, values()) end, "Unable to convert foo (string) to a number")
    fails(function() mask("int", "0x10", nil, values()) end, "Unable to convert 0x10")
  end)

  it("leaves the record as it was when masking fails", function()
    local v = values()
    fails(function()
      masker("string,bool", "x")({ topic = "", offset = 0, value = v })
    end, "Cannot mask value of type boolean")
    expect.eq(v.string, "55.121.20.20")
  end)

  it("fails on a tombstone, as Kafka does", function()
    fails(function() masker("a")({ topic = "", offset = 0 }) end,
      "Only Map objects supported in absence of schema for [mask fields], found: null")
  end)
end)

describe("MaskField with a schema", function()
  it("masks with each type's null value", function()
    local list = {}
    for _, fld in ipairs(SCHEMA.fields) do
      if fld.field ~= "magic" then list[#list + 1] = fld.field end
    end
    local out = masker(table.concat(list, ","))({ topic = "", offset = 0, value_schema = SCHEMA,
      value = values_with_schema() })
    local v = out[1].value
    expect.eq(out[1].value_schema, SCHEMA) -- the schema does not change
    expect.eq(v.magic, 42)
    expect.eq(v.bool, false)
    for _, name in ipairs({ "byte", "short", "int", "long", "float", "double", "date", "time",
      "timestamp" }) do
      expect.eq(v[name], 0, name)
    end
    expect.eq(v.string, "")
    expect.eq(v.decimal, "\0") -- BigDecimal.ZERO
    expect.same(v.array, {})
    expect.same(v.map, {})
    expect.eq(v.withDefault, null)
    local conv = require("luaconnect.core").converter("JsonConverter", "false")
    expect.eq(select(2, conv:encode(v.array, nil)), "[]")
    expect.eq(select(2, conv:encode(v.map, nil)), "{}")
  end)

  it("gives fresh, mutable empty arrays and maps each time", function()
    local t = masker("array,map")
    local a = t({ topic = "", offset = 0, value_schema = SCHEMA, value = values_with_schema() })[1].value
    local b = t({ topic = "", offset = 0, value_schema = SCHEMA, value = values_with_schema() })[1].value
    expect.truthy(a.array ~= b.array and a.map ~= b.map)
    a.array[1] = 0
    a.map.k = "v"
    expect.same(b.array, {})
    expect.same(b.map, {})
  end)

  it("masks with a replacement converted to the field's type", function()
    local function check(field, replacement, want)
      expect.eq(mask(field, replacement, SCHEMA, values_with_schema())[field], want, field)
    end
    check("short", "123", 123)
    check("byte", "123", 123)
    check("byte", "200", -56) -- Java's (byte) cast
    check("int", "123", 123)
    check("long", "123", 123)
    check("float", "123.0", 123)
    check("double", "123.0", 123)
    check("string", "123", "123")
    check("decimal", "123", "\123")
    check("decimal", "123.0", "\123")
    check("decimal", "-1", "\255")
    check("decimal", "300", "\1\44")
  end)

  it("scales Decimal replacements by the schema's scale", function()
    local schema = { type = "struct", optional = false, fields = connect.array {
      f("d", "bytes", { name = "org.apache.kafka.connect.data.Decimal", parameters = { scale = "2" } }) } }
    expect.eq(mask("d", "1.5", schema, { d = "\1" }).d, "\0\150") -- unscaled 150
    fails(function() mask("d", "1.555", schema, { d = "\1" }) end,
      "BigDecimal has mismatching scale value for given Decimal schema")
  end)

  it("refuses a replacement for dates, times, timestamps and arrays", function()
    fails(function() mask("time", "123", SCHEMA, values_with_schema()) end,
      "Cannot mask value of type org.apache.kafka.connect.data.Time with custom replacement.")
    fails(function() mask("timestamp", "123", SCHEMA, values_with_schema()) end,
      "Cannot mask value of type org.apache.kafka.connect.data.Timestamp with custom replacement.")
    fails(function() mask("array", "123", SCHEMA, values_with_schema()) end,
      "Cannot mask value of type array with custom replacement.")
    fails(function() mask("int", "foo", SCHEMA, values_with_schema()) end,
      "Unable to convert foo (string) to a number")
  end)

  it("cannot mask bytes or structs, as Kafka cannot", function()
    local schema = { type = "struct", optional = false, fields = connect.array {
      f("b", "bytes"), f("s", "struct", { fields = connect.array { f("x", "int32") } }) } }
    fails(function() mask("b", nil, schema, { b = "xx", s = { x = 1 } }) end, "Cannot mask value of type: bytes")
    fails(function() mask("s", nil, schema, { b = "xx", s = { x = 1 } }) end, "Cannot mask value of type: struct")
  end)

  it("masks the default of a null field with replace.null.with.default=true", function()
    local v = masker("withDefault", nil, "true")({ topic = "", offset = 0, value_schema = SCHEMA,
      value = values_with_schema() })[1].value
    expect.eq(v.withDefault, "")
    v = masker("withDefault", "***", "true")({ topic = "", offset = 0, value_schema = SCHEMA,
      value = values_with_schema() })[1].value
    expect.eq(v.withDefault, "***")
  end)

  it("requires a struct", function()
    fails(function() mask("a", nil, { type = "string", optional = false }, "x") end,
      "Only Struct objects supported for [mask fields], found: string")
  end)
end)

describe("MaskField config", function()
  it("rejects an empty replacement at config time", function()
    fails(function() masker("short", "") end, "key 'replacement': String must be non-empty")
  end)

  it("needs fields, and not an empty list", function()
    fails(function() transform(PATH, {}, "value") end, "missing required key 'fields'")
    fails(function() transform(PATH, { fields = "" }, "value") end, "key 'fields': Empty list")
  end)
end)
