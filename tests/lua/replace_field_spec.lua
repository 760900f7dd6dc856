-- Specs for transforms/replace_field.lua, after Kafka's ReplaceFieldTest.
local connect = require "luaconnect"
local null = connect.null
local PATH = "transforms/replace_field.lua"

local fails = expect.error_contains

local function four_fields()
  return { type = "struct", optional = false, fields = connect.array {
    { field = "dont", type = "string", optional = false },
    { field = "abc", type = "int32", optional = false },
    { field = "foo", type = "boolean", optional = false },
    { field = "etc", type = "string", optional = false },
  } }
end

describe("ReplaceField schemaless", function()
  it("excludes and renames", function()
    local out = transform(PATH, { exclude = "dont", renames = "abc:xyz,foo:bar" }, "value")({
      topic = "test", partition = 0, offset = 0,
      value = { dont = "whatever", abc = 42, foo = true, etc = "etc" } })
    expect.same(out[1].value, { xyz = 42, bar = true, etc = "etc" })
  end)

  it("includes only the listed fields, exclude taking precedence", function()
    local out = transform(PATH, { include = "abc,foo,dont", exclude = "dont" }, "value")({
      topic = "t", value = { dont = 1, abc = 2, foo = 3, etc = 4 } })
    expect.same(out[1].value, { abc = 2, foo = 3 })
  end)

  it("renames on the original names: swaps and chains", function()
    local t = transform(PATH, { renames = "a:b,b:a" }, "value")
    expect.same(t({ topic = "t", value = { a = 1, b = 2, c = 3 } })[1].value, { a = 2, b = 1, c = 3 })
    t = transform(PATH, { renames = "a:b,b:c" }, "value")
    expect.same(t({ topic = "t", value = { a = 1, b = 2 } })[1].value, { b = 1, c = 2 })
    expect.same(t({ topic = "t", value = { b = 2 } })[1].value, { c = 2 })
  end)

  it("filters before renaming, on the old names", function()
    local out = transform(PATH, { include = "abc", renames = "abc:xyz" }, "value")({
      topic = "t", value = { abc = 1, xyz = 2 } })
    expect.same(out[1].value, { xyz = 1 })
  end)

  it("keeps nulls as nulls", function()
    local out = transform(PATH, { renames = "a:b" }, "value")({ topic = "t", value = { a = null } })
    expect.same(out[1].value, { b = null })
  end)

  it("works on the key with $Key", function()
    local out = transform(PATH, { exclude = "x" }, "key")({ topic = "t", key = { x = 1, y = 2 },
      value = { x = 1 } })
    expect.same(out[1].key, { y = 2 })
    expect.same(out[1].value, { x = 1 })
  end)

  it("passes a tombstone through", function()
    local out = transform(PATH, { include = "abc,foo", renames = "abc:xyz,foo:bar" }, "value")({
      topic = "test", partition = 0, offset = 0 })
    expect.eq(out[1].value, nil)
    expect.eq(out[1].value_schema, nil)
  end)

  it("requires a map", function()
    fails(function() transform(PATH, { exclude = "a" }, "value")({ topic = "t", value = 5 }) end,
      "Only Map objects supported in absence of schema for [field replacement], found: number")
  end)

  it("accepts the deprecated blacklist and whitelist", function()
    local out = transform(PATH, { blacklist = "dont", renames = "abc:xyz,foo:bar" }, "value")({
      topic = "t", value = { dont = "whatever", abc = 42, foo = true, etc = "etc" } })
    expect.same(out[1].value, { xyz = 42, bar = true, etc = "etc" })
    out = transform(PATH, { whitelist = "abc,foo", renames = "abc:xyz,foo:bar" }, "value")({
      topic = "t", value = { dont = "whatever", abc = 42, foo = true, etc = "etc" } })
    expect.same(out[1].value, { xyz = 42, bar = true })
  end)

  it("prefers exclude/include over their deprecated aliases", function()
    local out = transform(PATH, { exclude = "a", blacklist = "b" }, "value")({
      topic = "t", value = { a = 1, b = 2 } })
    expect.same(out[1].value, { b = 2 })
    out = transform(PATH, { include = "a", whitelist = "b" }, "value")({
      topic = "t", value = { a = 1, b = 2 } })
    expect.same(out[1].value, { a = 1 })
  end)
end)

describe("ReplaceField with a schema", function()
  it("includes and renames, rebuilding the schema", function()
    local schema = four_fields()
    local t = transform(PATH, { include = "abc,foo", renames = "abc:xyz,foo:bar" }, "value")
    local out = t({ topic = "test", partition = 0, offset = 0, value_schema = schema,
      value = { dont = "whatever", abc = 42, foo = true, etc = "etc" } })
    expect.same(out[1].value_schema, { type = "struct", optional = false, fields = {
      { field = "xyz", type = "int32", optional = false },
      { field = "bar", type = "boolean", optional = false },
    } })
    expect.same(out[1].value, { xyz = 42, bar = true })
    expect.eq(schema.fields[2].field, "abc") -- the input schema is untouched
    local again = t({ topic = "test", value_schema = schema,
      value = { dont = "x", abc = 1, foo = false, etc = "e" } })
    expect.eq(again[1].value_schema, out[1].value_schema)
    expect.same(again[1].value, { xyz = 1, bar = false })
  end)

  it("keeps name, version, doc and parameters, in the field order of the input", function()
    local schema = four_fields()
    schema.name, schema.version, schema.doc, schema.parameters = "n", 2, "d", { p = "q" }
    local out = transform(PATH, { exclude = "abc", renames = "etc:zzz" }, "value")({
      topic = "t", value_schema = schema, value = { dont = "a", abc = 1, foo = true, etc = "e" } })
    local s = out[1].value_schema
    expect.eq(s.name, "n")
    expect.eq(s.version, 2)
    expect.eq(s.doc, "d")
    expect.same(s.parameters, { p = "q" })
    expect.eq(s.fields[1].field, "dont")
    expect.eq(s.fields[2].field, "foo")
    expect.eq(s.fields[3].field, "zzz")
    expect.same(out[1].value, { dont = "a", foo = true, zzz = "e" })
  end)

  it("fails like SchemaBuilder when a rename collides with a kept field", function()
    fails(function()
      transform(PATH, { renames = "abc:foo" }, "value")({ topic = "t", value_schema = four_fields(),
        value = { dont = "a", abc = 1, foo = true, etc = "e" } })
    end, "Cannot create field because of field name duplication foo")
  end)

  it("passes a tombstone through with its schema", function()
    local schema = four_fields()
    local out = transform(PATH, { include = "abc,foo", renames = "abc:xyz,foo:bar" }, "value")({
      topic = "test", partition = 0, offset = 0, value_schema = schema })
    expect.eq(out[1].value, nil)
    expect.eq(out[1].value_schema, schema)
  end)

  for _, case in ipairs({ { "false", null }, { "true", 42 } }) do
    for _, variant in ipairs({ "value", "key" }) do
      it("replace.null.with.default=" .. case[1] .. " on the " .. variant, function()
        local schema = { type = "struct", optional = false, fields = connect.array {
          { field = "abc", type = "int32", optional = true, default = 42 } } }
        local rec = { topic = "test", partition = 0, offset = 0 }
        rec[variant], rec[variant .. "_schema"] = { abc = null }, schema
        local out = transform(PATH, { include = "abc", renames = "abc:optional_with_default",
          ["replace.null.with.default"] = case[1] }, variant)(rec)
        local s = out[1][variant .. "_schema"]
        expect.eq(#s.fields, 1)
        expect.eq(s.fields[1].field, "optional_with_default")
        expect.eq(s.fields[1].default, 42)
        local got = out[1][variant].optional_with_default
        if got == nil then got = null end
        expect.eq(got, case[2])
      end)
    end
  end
end)

describe("ReplaceField config", function()
  it("rejects renames that are not old:new pairs, naming the key", function()
    fails(function() transform(PATH, { renames = "abc:xyz,foo" }, "value") end,
      "transform 't': key 'renames': Invalid rename mapping: foo")
    fails(function() transform(PATH, { renames = "a:b:c" }, "value") end, "Invalid rename mapping: a:b:c")
    fails(function() transform(PATH, { renames = "a:" }, "value") end, "Invalid rename mapping: a:")
  end)

  it("splits mappings as Java's String.split does", function()
    local out = transform(PATH, { renames = ":b,c:d:" }, "value")({ topic = "t",
      value = { [""] = 1, c = 2 } })
    expect.same(out[1].value, { b = 1, d = 2 })
  end)

  it("needs a $Key or $Value variant", function()
    fails(function() transform(PATH, { exclude = "a" }) end, "needs a $Key or $Value variant")
  end)
end)
