-- Specs for transforms/set_schema_metadata.lua, after Kafka's SetSchemaMetadataTest.
local connect = require "luaconnect"
local null = connect.null
local PATH = "transforms/set_schema_metadata.lua"

local fails = expect.error_contains

local function empty_struct()
  return { type = "struct", optional = false, fields = connect.array() }
end

local function f1f2(f1)
  return { type = "struct", optional = false, name = "my.orig.SchemaDefn", fields = connect.array {
    f1 or { field = "f1", type = "string", optional = false },
    { field = "f2", type = "int32", optional = false },
  } }
end

describe("SetSchemaMetadata", function()
  it("sets the name", function()
    local schema = empty_struct()
    local out = transform(PATH, { ["schema.name"] = "foo" }, "value")({ topic = "", partition = 0,
      offset = 0, value_schema = schema })
    expect.eq(out[1].value_schema.name, "foo")
    expect.eq(schema.name, nil) -- a new schema, the input untouched
  end)

  it("sets the version", function()
    local out = transform(PATH, { ["schema.version"] = "42" }, "value")({ topic = "",
      value_schema = empty_struct() })
    expect.eq(out[1].value_schema.version, 42)
  end)

  it("sets both and keeps everything else", function()
    local schema = f1f2()
    schema.doc, schema.parameters, schema.optional = "d", { a = "b" }, true
    local t = transform(PATH, { ["schema.name"] = "foo", ["schema.version"] = "42" }, "value")
    local out = t({ topic = "", value_schema = schema, value = { f1 = "value1", f2 = 1 } })
    local s = out[1].value_schema
    expect.eq(s.name, "foo")
    expect.eq(s.version, 42)
    expect.eq(s.doc, "d")
    expect.eq(s.optional, true)
    expect.eq(s.parameters, schema.parameters)
    expect.eq(s.fields, schema.fields) -- the same fields: the struct matches the new schema
    expect.same(out[1].value, { f1 = "value1", f2 = 1 })
    expect.eq(schema.name, "my.orig.SchemaDefn")
    expect.eq(t({ topic = "", value_schema = schema, value = { f1 = "x", f2 = 2 } })[1].value_schema, s)
  end)

  it("works on arrays, maps and primitives, and on the key", function()
    local arr = { type = "array", optional = false, items = { type = "int32", optional = false } }
    local out = transform(PATH, { ["schema.name"] = "ints" }, "key")({ topic = "", key_schema = arr,
      key = connect.array { 1 } })
    expect.eq(out[1].key_schema.name, "ints")
    expect.eq(out[1].key_schema.items, arr.items)
    expect.same(out[1].key, { 1 })
  end)

  for _, case in ipairs({ { "false", null }, { "true", "default" } }) do
    it("replace.null.with.default=" .. case[1] .. " on a null field", function()
      local schema = f1f2({ field = "f1", type = "string", optional = true, default = "default" })
      local out = transform(PATH, { ["schema.name"] = "foo", ["schema.version"] = "42",
        ["replace.null.with.default"] = case[1] }, "value")({ topic = "", value_schema = schema,
        value = { f1 = null, f2 = 1 } })
      expect.eq(out[1].value_schema.name, "foo")
      expect.eq(out[1].value_schema.version, 42)
      expect.eq(out[1].value.f1, case[2])
    end)
  end

  it("requires a schema", function()
    fails(function()
      transform(PATH, { ["schema.name"] = "foo" }, "value")({ topic = "", value = 42 })
    end, "Schema required for [updating schema metadata]")
  end)

  it("ignores a record with a null value and no schema", function()
    local rec = { topic = "", partition = 0, offset = 0 }
    local out = transform(PATH, { ["schema.name"] = "foo" }, "value")(rec)
    expect.eq(out[1], rec)
    expect.eq(out[1].value, nil)
    expect.eq(out[1].value_schema, nil)
    expect.eq(out[1].key, nil)
    expect.eq(out[1].key_schema, nil)
  end)

  it("renames the schema of a tombstone", function()
    local out = transform(PATH, { ["schema.name"] = "foo" }, "value")({ topic = "",
      value_schema = empty_struct() })
    expect.eq(out[1].value, nil)
    expect.eq(out[1].value_schema.name, "foo")
  end)

  it("needs a name or a version, and an int version", function()
    fails(function() transform(PATH, {}, "value") end, "transform 't': Neither schema name nor version configured")
    fails(function() transform(PATH, { ["schema.version"] = "x" }, "value") end,
      "key 'schema.version': expected int, got 'x'")
  end)
end)
