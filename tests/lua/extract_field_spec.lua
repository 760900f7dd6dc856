-- Specs for transforms/extract_field.lua, after Kafka's ExtractFieldTest.
local connect = require "luaconnect"
local null = connect.null
local PATH = "transforms/extract_field.lua"

local fails = expect.error_contains

local INT32 = { type = "int32", optional = false }
local function struct(fields, optional)
  return { type = "struct", optional = optional or false, fields = connect.array(fields) }
end
local function as(name, schema)
  local t = { field = name }
  for k, v in pairs(schema) do t[k] = v end
  return t
end

describe("ExtractField schemaless", function()
  it("extracts a field", function()
    local out = transform(PATH, { field = "magic" }, "key")({ topic = "test", partition = 0,
      offset = 0, key = { magic = 42 } })
    expect.eq(out[1].key_schema, nil)
    expect.eq(out[1].key, 42)
  end)

  it("extracts a nested field with V2", function()
    local out = transform(PATH, { field = "magic.foo", ["field.syntax.version"] = "V2" }, "key")({
      topic = "test", key = { magic = { foo = 42 } } })
    expect.eq(out[1].key, 42)
  end)

  it("takes a dotted name whole with V1 and with backticks in V2", function()
    local rec = function() return { topic = "t", value = { ["a.b"] = { c = 1 }, a = { b = 2 } } } end
    expect.same(transform(PATH, { field = "a.b" }, "value")(rec())[1].value, { c = 1 })
    expect.eq(transform(PATH, { field = "a.b", ["field.syntax.version"] = "v2" }, "value")(rec())[1].value, 2)
    expect.eq(transform(PATH, { field = "`a.b`.c", ["field.syntax.version"] = "V2" }, "value")(rec())[1].value, 1)
  end)

  it("passes a null through", function()
    local out = transform(PATH, { field = "magic" }, "key")({ topic = "test", partition = 0, offset = 0 })
    expect.eq(out[1].key_schema, nil)
    expect.eq(out[1].key, nil)
  end)

  it("gives null for a field that does not exist, nested or not", function()
    local out = transform(PATH, { field = "nonexistent" }, "key")({ topic = "t", key = { magic = 42 } })
    expect.eq(out[1].key, nil)
    out = transform(PATH, { field = "magic.nonexistent", ["field.syntax.version"] = "V2" }, "key")({
      topic = "t", key = { magic = { foo = 42 } } })
    expect.eq(out[1].key, nil)
  end)

  it("makes an extracted JSON null a Kafka null (a tombstone for values)", function()
    local out = transform(PATH, { field = "v" }, "value")({ topic = "t", value = { v = null } })
    expect.eq(out[1].value, nil)
  end)

  it("requires maps, also on the way down", function()
    fails(function() transform(PATH, { field = "a" }, "value")({ topic = "t", value = "s" }) end,
      "Only Map objects supported in absence of schema for [field extraction], found: string")
    fails(function()
      transform(PATH, { field = "a.b", ["field.syntax.version"] = "V2" }, "value")({ topic = "t", value = { a = 5 } })
    end, "Only Map objects supported in absence of schema for [nested field access], found: number")
  end)
end)

describe("ExtractField with a schema", function()
  it("extracts a field and its schema", function()
    local schema = struct({ as("magic", INT32) })
    local out = transform(PATH, { field = "magic" }, "key")({ topic = "test", partition = 0,
      offset = 0, key_schema = schema, key = { magic = 42 } })
    expect.same(out[1].key_schema, INT32)
    expect.eq(out[1].key_schema.field, nil)
    expect.eq(out[1].key, 42)
  end)

  it("extracts a nested field with V2", function()
    local foo = struct({ as("foo", INT32) })
    local schema = struct({ as("magic", foo) })
    local out = transform(PATH, { field = "magic.foo", ["field.syntax.version"] = "V2" }, "key")({
      topic = "test", key_schema = schema, key = { magic = { foo = 42 } } })
    expect.same(out[1].key_schema, INT32)
    expect.eq(out[1].key, 42)
    out = transform(PATH, { field = "magic", ["field.syntax.version"] = "V2" }, "key")({
      topic = "test", key_schema = schema, key = { magic = { foo = 42 } } })
    expect.same(out[1].key_schema, foo)
    expect.same(out[1].key, { foo = 42 })
  end)

  it("keeps the field's schema for a null key", function()
    local schema = struct({ as("magic", INT32) }, true)
    local out = transform(PATH, { field = "magic" }, "key")({ topic = "test", key_schema = schema })
    expect.same(out[1].key_schema, INT32)
    expect.eq(out[1].key, nil)
  end)

  it("fails on a field the schema lacks, nested or not", function()
    fails(function()
      transform(PATH, { field = "nonexistent" }, "key")({ topic = "t",
        key_schema = struct({ as("magic", INT32) }), key = { magic = 42 } })
    end, "Unknown field: nonexistent")
    local foo = struct({ as("foo", INT32) })
    fails(function()
      transform(PATH, { field = "magic.nonexistent", ["field.syntax.version"] = "V2" }, "key")({
        topic = "t", key_schema = struct({ as("magic", foo) }), key = { magic = { foo = 42 } } })
    end, "Unknown field: magic.nonexistent")
  end)

  it("requires a struct", function()
    fails(function()
      transform(PATH, { field = "a" }, "value")({ topic = "t", value_schema = INT32, value = 1 })
    end, "Only Struct objects supported for [field extraction], found: int32")
  end)

  for _, case in ipairs({ { "false", nil }, { "true", 42 } }) do
    for _, variant in ipairs({ "key", "value" }) do
      it("replace.null.with.default=" .. case[1] .. " on the " .. variant, function()
        local schema = struct({ { field = "optional_with_default", type = "int32", optional = true,
          default = 42 } })
        local rec = { topic = "test", partition = 0, offset = 0 }
        rec[variant], rec[variant .. "_schema"] = { optional_with_default = null }, schema
        local out = transform(PATH, { field = "optional_with_default",
          ["replace.null.with.default"] = case[1] }, variant)(rec)
        expect.eq(out[1][variant], case[2])
      end)
    end
  end
end)

describe("ExtractField config", function()
  it("rejects an unknown syntax version and a bad V2 path, naming the key", function()
    fails(function() transform(PATH, { field = "a", ["field.syntax.version"] = "V3" }, "value") end,
      "key 'field.syntax.version': String must be one of (case insensitive): V1, V2")
    fails(function() transform(PATH, { field = "`a.b", ["field.syntax.version"] = "V2" }, "value") end,
      "transform 't': key 'field': Incomplete backtick pair in path: [`a.b], consider adding a backslash before "
        .. "backtick at position 0 to escape it")
  end)

  it("needs field and a variant", function()
    fails(function() transform(PATH, {}, "value") end, "missing required key 'field'")
    fails(function() transform(PATH, { field = "a" }) end, "needs a $Key or $Value variant")
  end)
end)
