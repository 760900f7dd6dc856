-- Specs for transforms/header_from.lua: Kafka's HeaderFromTest cases for $Key and $Value,
-- schemaless and with schemas, plus header texts and errors. Headers are added after the
-- record's own, so a repeated name is kept twice, in order, as in Kafka.
local connect = require "luaconnect"

local PATH = "transforms/header_from.lua"
local null = connect.null

local STRING = { type = "string", optional = false }
local OPT_DEFAULT = { type = "string", optional = true, default = "default" }
local FOO_SCHEMA = { type = "struct", optional = false,
  fields = connect.array({ { field = "foo", type = "string", optional = false } }) }

-- fields: list of {name, schema, value}. Returns the key/value and its schema.
local function schemaless(fields)
  local m = {}
  for _, f in ipairs(fields) do m[f[1]] = f[3] end
  return m
end

local function with_schema(fields)
  local s = { type = "struct", optional = false, fields = connect.array() }
  local v = {}
  for _, f in ipairs(fields) do
    local fs = {}
    for k, x in pairs(f[2]) do fs[k] = x end
    fs.field = f[1]
    s.fields[#s.fields + 1] = fs
    v[f[1]] = f[3] == nil and null or f[3]
  end
  return v, s
end

local function record(target, v, s, headers)
  local r = { topic = "topic", partition = 0, timestamp = 0, headers = headers,
    key = "key", value = "value" }
  r[target], r[target .. "_schema"] = v, s
  return r
end

local function run(target, cfg, rec)
  local out = transform(PATH, cfg, target)(rec)
  expect.eq(#out, 1)
  return out[1]
end

local function cfg(fields, headers, operation, replace)
  return { fields = fields, headers = headers, operation = operation,
    ["replace.null.with.default"] = replace == false and "false" or "true" }
end

local TWO = { { "field1", STRING, "field1-value" }, { "field2", STRING, "field2-value" } }

for _, target in ipairs({ "key", "value" }) do
  describe("HeaderFrom$" .. (target == "key" and "Key" or "Value"), function()
    local function case(name, fields, c, want_fields, want_headers, headers)
      it(name .. " (schemaless)", function()
        local r = run(target, c, record(target, schemaless(fields), nil, headers and headers()))
        expect.same(r[target], schemaless(want_fields))
        expect.eq(r[target .. "_schema"], nil)
        expect.same(r.headers, want_headers)
      end)
      it(name .. " (with schema)", function()
        local v, s = with_schema(fields)
        local r = run(target, c, record(target, v, s, headers and headers()))
        local wv, ws = with_schema(want_fields)
        expect.same(r[target], wv)
        expect.same(r[target .. "_schema"], ws)
        expect.same(r.headers, want_headers)
        expect.eq(r[target == "key" and "value" or "key"], target == "key" and "value" or "key")
      end)
    end
    local existing = function() return { header1 = "existing-value" } end

    case("basic copy", TWO, cfg("field1", "inserted1", "copy"), TWO,
      { { "header1", "existing-value" }, { "inserted1", "field1-value" } }, existing)
    case("basic move", TWO, cfg("field1", "inserted1", "move"), { TWO[2] },
      { { "header1", "existing-value" }, { "inserted1", "field1-value" } }, existing)
    case("copy with preexisting header", TWO, cfg("field1", "inserted1", "copy"), TWO,
      { { "inserted1", "existing-value" }, { "inserted1", "field1-value" } },
      function() return { inserted1 = "existing-value" } end)
    case("move with preexisting header", TWO, cfg("field1", "inserted1", "move"), { TWO[2] },
      { { "inserted1", "existing-value" }, { "inserted1", "field1-value" } },
      function() return { inserted1 = "existing-value" } end)
    case("copy after repeated headers (a=1, b=2, a=3)", TWO, cfg("field1", "a", "copy"), TWO,
      { { "a", "1" }, { "b", "2" }, { "a", "3" }, { "a", "field1-value" } },
      function() return connect.headers.new({ { "a", "1" }, { "b", "2" }, { "a", "3" } }) end)
    local STRUCT = { { "field1", FOO_SCHEMA, { foo = "foo-value" } }, TWO[2] }
    case("copy with struct value", STRUCT, cfg("field1", "inserted1", "copy"), STRUCT,
      { { "header1", "existing-value" }, { "inserted1", '{"foo":"foo-value"}' } }, existing)
    case("move with struct value", STRUCT, cfg("field1", "inserted1", "move"), { TWO[2] },
      { { "header1", "existing-value" }, { "inserted1", '{"foo":"foo-value"}' } }, existing)
    case("two headers from same field", TWO, cfg("field1,field1", "inserted1,inserted2", "move"),
      { TWO[2] }, { { "header1", "existing-value" }, { "inserted1", "field1-value" },
        { "inserted2", "field1-value" } }, existing)
    case("two fields to same header", TWO, cfg("field1,field2", "inserted1,inserted1", "move"),
      {}, { { "header1", "existing-value" }, { "inserted1", "field1-value" },
        { "inserted1", "field2-value" } }, existing)

    local NULLS = { { "field1", OPT_DEFAULT, "field1-value" }, { "field2", OPT_DEFAULT, nil } }
    case("copy null field without default", NULLS, cfg("field1,field2", "inserted1,inserted2", "copy", false),
      NULLS, { { "header1", "existing-value" }, { "inserted1", "field1-value" }, { "inserted2", null } },
      existing)
    case("move null field without default", NULLS, cfg("field1,field2", "inserted1,inserted2", "move", false),
      {}, { { "header1", "existing-value" }, { "inserted1", "field1-value" }, { "inserted2", null } },
      existing)

    it("copies a null field's default when replace.null.with.default=true", function()
      local v, s = with_schema(NULLS)
      local r = run(target, cfg("field2", "h", "copy"), record(target, v, s))
      expect.same(r.headers, { { "h", "default" } })
      r = run(target, cfg("field2", "h", "copy", false), record(target, with_schema(NULLS)))
      expect.same(r.headers, { { "h", null } })
    end)

    it("fills defaults of the fields that stay when moving, unless told not to", function()
      local v, s = with_schema({ TWO[1], { "field2", OPT_DEFAULT, nil } })
      local r = run(target, cfg("field1", "h", "move"), record(target, v, s))
      expect.same(r[target], { field2 = "default" })
      v, s = with_schema({ TWO[1], { "field2", OPT_DEFAULT, nil } })
      r = run(target, cfg("field1", "h", "move", false), record(target, v, s))
      expect.same(r[target], { field2 = null })
    end)

    it("creates headers on a record without any", function()
      local r = run(target, cfg("field1", "h", "copy"), record(target, schemaless(TWO), nil, nil))
      expect.same(r.headers, { { "h", "field1-value" } })
    end)

    it("writes a missing schemaless field as a null header", function()
      local r = run(target, cfg("nope", "h", "move"), record(target, schemaless(TWO), nil, nil))
      expect.same(r.headers, { { "h", null } })
      expect.same(r[target], schemaless(TWO))
    end)

    it("fails on a value that is not a map or struct, tombstones included", function()
      local t = transform(PATH, cfg("a", "h", "copy"), target)
      expect.error_matches(function() t(record(target, "text", nil)) end,
        "Only Map objects supported in absence of schema for %[header copy%], found: string")
      expect.error_matches(function() t(record(target, connect.array({ 1 }), nil)) end,
        "Only Map objects supported in absence of schema for %[header copy%], found: array")
      expect.error_matches(function() t(record(target, nil, nil)) end,
        "Only Map objects supported in absence of schema for %[header copy%], found: null")
      t = transform(PATH, cfg("a", "h", "move"), target)
      expect.error_matches(function() t(record(target, "text", STRING)) end,
        "Only Struct objects supported for %[header move%], found: string")
    end)

    it("fails on a field the schema does not have, before changing anything", function()
      local v, s = with_schema(TWO)
      local rec = record(target, v, s, { keep = "1" })
      expect.error_matches(function() transform(PATH, cfg("field1,nope", "a,b", "move"), target)(rec) end,
        "nope is not a valid field name")
      expect.same(rec.headers, { keep = "1" })
      expect.same(rec[target], with_schema(TWO))
    end)
  end)
end

describe("HeaderFrom schemas", function()
  it("builds the moved schema as Kafka: basics kept, required, input untouched", function()
    local v, s = with_schema(TWO)
    s.name, s.version, s.doc, s.parameters, s.optional = "n", 2, "d", { p = "1" }, true
    local before = { name = s.name, fields = #s.fields, optional = s.optional }
    local r = run("value", cfg("field1", "h", "move"), record("value", v, s))
    local m = r.value_schema
    expect.same({ m.type, m.name, m.version, m.doc, m.optional }, { "struct", "n", 2, "d", false })
    expect.same(m.parameters, { p = "1" })
    expect.eq(#m.fields, 1)
    expect.eq(m.fields[1].field, "field2")
    expect.same({ name = s.name, fields = #s.fields, optional = s.optional }, before)
  end)

  it("reuses the moved schema for records sharing a schema", function()
    local t = transform(PATH, cfg("field1", "h", "move"), "value")
    local _, s = with_schema(TWO)
    local a = t(record("value", with_schema(TWO), s))[1].value_schema
    local b = t(record("value", with_schema(TWO), s))[1].value_schema
    expect.truthy(a == b, "expected the cached schema")
  end)
end)

describe("HeaderFrom header texts", function()
  local function header_of(v, schema)
    local rec
    if schema then
      rec = record("value", { f = v }, { type = "struct", optional = false,
        fields = connect.array({ (function()
          local fs = { field = "f" }
          for k, x in pairs(schema) do fs[k] = x end
          return fs
        end)() }) })
    else
      rec = record("value", { f = v }, nil)
    end
    return run("value", cfg("f", "h", "copy"), rec).headers.h
  end

  it("writes values as Kafka's SimpleHeaderConverter would", function()
    expect.eq(header_of(42), "42")
    expect.eq(header_of(1.5), "1.5")
    expect.eq(header_of(connect.float(3)), "3.0")
    expect.eq(header_of(3, { type = "double" }), "3.0")
    expect.eq(header_of(3, { type = "int32" }), "3")
    expect.eq(header_of(9007199254740993LL), "9007199254740993")
    expect.eq(header_of(true), "true")
    expect.eq(header_of("hi\"x"), 'hi"x')
    expect.eq(header_of("hi", { type = "bytes" }), "aGk=")
    expect.eq(header_of(connect.array({ 1, "a", null })), '[1,"a",null]')
    expect.eq(header_of({ b = 'x"y\\', a = { c = 1 } }), '{"a":{"c":1},"b":"x\\"y\\\\"}')
    expect.eq(header_of({ 1, 2 }, { type = "array", items = { type = "float" } }), "[1.0,2.0]")
    expect.eq(header_of({ k = "v" }, { type = "map", keys = { type = "string" },
      values = { type = "string" } }), '{"k":"v"}')
  end)
end)

describe("HeaderFrom config", function()
  it("rejects fields and headers of different lengths (invalidConfigExtra...)", function()
    expect.error_matches(function() transform(PATH, cfg("foo,bar", "foo", "copy"), "value") end,
      "key 'headers': 'fields' config must have the same number of elements as 'headers' config")
    expect.error_matches(function() transform(PATH, cfg("foo", "foo,bar", "copy"), "key") end,
      "'fields' config must have the same number of elements as 'headers' config")
  end)

  it("rejects empty lists and unknown operations", function()
    expect.error_matches(function() transform(PATH, cfg("", "", "copy"), "value") end,
      "key 'fields': Empty list")
    expect.error_matches(function() transform(PATH, cfg("a", "b", "cut"), "value") end,
      "key 'operation': String must be one of: move, copy")
  end)

  it("needs a $Key or $Value variant", function()
    expect.error_matches(function() transform(PATH, cfg("a", "b", "copy")) end,
      "type needs a %$Key or %$Value variant")
  end)

  it("is found by Kafka's class name", function()
    expect.same(connect._describe(PATH).aliases,
      { "HeaderFrom", "org.apache.kafka.connect.transforms.HeaderFrom" })
  end)
end)
