-- Specs for transforms/value_to_key.lua, after Kafka's ValueToKeyTest.
local connect = require "luaconnect"
local null = connect.null
local PATH = "transforms/value_to_key.lua"

local fails = expect.error_contains

local function abc()
  return { type = "struct", optional = false, fields = connect.array {
    { field = "a", type = "int32", optional = false },
    { field = "b", type = "int32", optional = false },
    { field = "c", type = "int32", optional = false },
  } }
end

describe("ValueToKey", function()
  it("makes a map key without a schema", function()
    local value = { a = 1, b = 2, c = 3 }
    local out = transform(PATH, { fields = "a,b" })({ topic = "", partition = 0, offset = 0,
      key = "old", value = value })
    expect.eq(out[1].key_schema, nil)
    expect.same(out[1].key, { a = 1, b = 2 })
    expect.eq(out[1].value, value)
    expect.same(value, { a = 1, b = 2, c = 3 })
  end)

  it("keeps a missing field as a null in a schemaless key", function()
    local out = transform(PATH, { fields = "a,zz" })({ topic = "", value = { a = 1, f = false } })
    expect.same(out[1].key, { a = 1, zz = null })
    out = transform(PATH, { fields = "f" })({ topic = "", value = { f = false } })
    expect.same(out[1].key, { f = false })
  end)

  it("makes a struct key of those fields with a schema", function()
    local schema = abc()
    local t = transform(PATH, { fields = "b,a" })
    local out = t({ topic = "", partition = 0, offset = 0, value_schema = schema,
      value = { a = 1, b = 2, c = 3 } })
    expect.same(out[1].key_schema, { type = "struct", optional = false, fields = {
      { field = "b", type = "int32", optional = false },
      { field = "a", type = "int32", optional = false },
    } })
    expect.same(out[1].key, { a = 1, b = 2 })
    expect.eq(out[1].value_schema, schema)
    local again = t({ topic = "", value_schema = schema, value = { a = 5, b = 6, c = 7 } })
    expect.eq(again[1].key_schema, out[1].key_schema) -- cached per value schema
    expect.same(again[1].key, { a = 5, b = 6 })
  end)

  it("fails on a field the value schema lacks", function()
    local schema = { type = "struct", optional = false, fields = connect.array {
      { field = "a", type = "int32", optional = false } } }
    local ok, err = pcall(transform(PATH, { fields = "not_exist" }), { topic = "", partition = 0,
      offset = 0, value_schema = schema, value = { a = 1 } })
    expect.eq(ok, false)
    expect.truthy(err:find(": Field does not exist: not_exist\n", 1, true), err)
  end)

  it("requires a map or a struct (a tombstone fails, as in Kafka)", function()
    fails(function() transform(PATH, { fields = "a" })({ topic = "" }) end,
      "Only Map objects supported in absence of schema for [copying fields from value to key], found: null")
    fails(function() transform(PATH, { fields = "a" })({ topic = "", value = 1,
      value_schema = { type = "int32", optional = false } }) end,
      "Only Struct objects supported for [copying fields from value to key], found: int32")
  end)

  for _, case in ipairs({ { "false", null }, { "true", 42 } }) do
    it("replace.null.with.default=" .. case[1], function()
      local schema = { type = "struct", optional = false, fields = connect.array {
        { field = "optional_with_default", type = "int32", optional = true, default = 42 } } }
      local out = transform(PATH, { fields = "optional_with_default",
        ["replace.null.with.default"] = case[1] })({ topic = "", value_schema = schema,
        value = { optional_with_default = null } })
      expect.eq(out[1].key.optional_with_default, case[2])
    end)
  end

  it("has no $Key/$Value variants and needs fields", function()
    fails(function() transform(PATH, { fields = "a" }, "value") end, "this transform has no $Key/$Value variants")
    fails(function() transform(PATH, {}) end, "missing required key 'fields'")
    fails(function() transform(PATH, { fields = " , " }) end, "key 'fields': Empty list")
  end)
end)
