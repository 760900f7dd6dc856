-- Specs for transforms/hoist_field.lua, after Kafka's HoistFieldTest.
local connect = require "luaconnect"
local null = connect.null
local PATH = "transforms/hoist_field.lua"

local fails = expect.error_contains

describe("HoistField", function()
  it("wraps a schemaless key in a map", function()
    local out = transform(PATH, { field = "magic" }, "key")({ topic = "test", partition = 0,
      offset = 0, key = 42 })
    expect.eq(out[1].key_schema, nil)
    expect.same(out[1].key, { magic = 42 })
    out[1].key.k = "v" -- the new map is the record's own
    expect.same(out[1].key, { magic = 42, k = "v" })
  end)

  it("wraps a value with a schema in a struct holding that schema", function()
    local int32 = { type = "int32", optional = false }
    local t = transform(PATH, { field = "magic" }, "key")
    local out = t({ topic = "test", partition = 0, offset = 0, key_schema = int32, key = 42 })
    local s = out[1].key_schema
    expect.eq(s.type, "struct")
    expect.eq(s.optional, false)
    expect.same(s.fields, { { field = "magic", type = "int32", optional = false } })
    expect.eq(int32.field, nil) -- the input schema is untouched
    expect.same(out[1].key, { magic = 42 })
    expect.eq(t({ topic = "t", key_schema = int32, key = 1 })[1].key_schema, s)
  end)

  it("keeps the wrapped schema's name and parameters on the field", function()
    local named = { type = "struct", optional = true, name = "inner", version = 2,
      fields = connect.array { { field = "x", type = "string", optional = false } } }
    local out = transform(PATH, { field = "payload" }, "value")({ topic = "t",
      value_schema = named, value = { x = "y" } })
    local fld = out[1].value_schema.fields[1]
    expect.eq(fld.field, "payload")
    expect.eq(fld.name, "inner")
    expect.eq(fld.version, 2)
    expect.eq(fld.fields, named.fields)
    expect.same(out[1].value, { payload = { x = "y" } })
  end)

  it("hoists a null too", function()
    local out = transform(PATH, { field = "f" }, "value")({ topic = "t" })
    expect.same(out[1].value, { f = null })
    out = transform(PATH, { field = "f" }, "value")({ topic = "t",
      value_schema = { type = "string", optional = true } })
    expect.same(out[1].value, { f = null })
    fails(function()
      transform(PATH, { field = "f" }, "value")({ topic = "t", value_schema = { type = "double", optional = false } })
    end, 'Invalid value: null used for required field: "f", schema type: FLOAT64')
  end)

  it("needs field and a variant", function()
    fails(function() transform(PATH, {}, "value") end, "missing required key 'field'")
    fails(function() transform(PATH, { field = "f" }) end, "needs a $Key or $Value variant")
  end)
end)
