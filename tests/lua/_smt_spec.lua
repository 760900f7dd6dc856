-- Specs for transforms/_smt.lua: Kafka's Requirements, SchemaUtil, SchemaBuilder,
-- Struct.get and SingleFieldPath (FieldPathNotationTest, SingleFieldPathTest) in Lua.
local connect = require "luaconnect"
local smt = require "_smt"
local null = connect.null

-- fn must raise an error whose text contains text (plain, not a pattern).
local fails = expect.error_contains

local function struct(fields, extra)
  local s = { type = "struct", optional = false, fields = connect.array(fields) }
  for k, v in pairs(extra or {}) do s[k] = v end
  return s
end

describe("values", function()
  it("names types as messages show them", function()
    expect.eq(smt.type_name(nil), "null")
    expect.eq(smt.type_name(null), "null")
    expect.eq(smt.type_name("x"), "string")
    expect.eq(smt.type_name(1.5), "number")
    expect.eq(smt.type_name(9007199254740993LL), "number")
    expect.eq(smt.type_name(connect.float(1)), "number")
    expect.eq(smt.type_name(true), "boolean")
    expect.eq(smt.type_name(connect.array()), "array")
    expect.eq(smt.type_name({ 1, 2 }), "array")
    expect.eq(smt.type_name({}), "map")
  end)

  it("tells maps from arrays and null from values", function()
    expect.truthy(smt.is_map({}) and smt.is_map({ a = 1 }))
    expect.truthy(not smt.is_map(connect.array()) and not smt.is_map({ 1 }) and not smt.is_map("x"))
    expect.truthy(smt.is_array(connect.array()) and smt.is_array({ 1 }))
    expect.truthy(smt.is_null(nil) and smt.is_null(null))
    expect.truthy(not smt.is_null(false) and not smt.is_null(0))
  end)

  it("maps $Key / $Value to the record's fields", function()
    expect.same({ smt.target({ _target = "key" }) }, { "key", "key_schema" })
    expect.same({ smt.target({ _target = "value" }) }, { "value", "value_schema" })
  end)
end)

describe("requirements", function()
  it("requires maps without a schema, with Kafka's message", function()
    local m = { a = 1 }
    expect.eq(smt.require_map(m, "x"), m)
    fails(function() smt.require_map("s", "field insertion") end,
      "Only Map objects supported in absence of schema for [field insertion], found: string")
    fails(function() smt.require_map(nil, "p") end, "found: null")
    fails(function() smt.require_map(connect.array { 1 }, "p") end, "found: array")
    expect.eq(smt.require_map_or_null(nil, "p"), nil)
    expect.eq(smt.require_map_or_null(null, "p"), nil)
    fails(function() smt.require_map_or_null(42, "p") end, "found: number")
  end)

  it("requires structs with a schema, naming the schema type otherwise", function()
    local s = struct({ { field = "a", type = "int32", optional = false } })
    local v = { a = 1 }
    expect.eq(smt.require_struct(v, s, "p"), v)
    fails(function() smt.require_struct(42, { type = "int32", optional = false }, "field insertion") end,
      "Only Struct objects supported for [field insertion], found: int32")
    fails(function() smt.require_struct("x", s, "p") end, "found: string")
    fails(function() smt.require_struct(nil, s, "p") end, "found: null")
    expect.eq(smt.require_struct_or_null(nil, s, "p"), nil)
    fails(function() smt.require_struct_or_null({}, { type = "map" }, "p") end, "found: map")
  end)

  it("requires a schema and sink records", function()
    fails(function() smt.require_schema(nil, "updating schema metadata") end,
      "Schema required for [updating schema metadata]")
    local r = { topic = "t", offset = 5 }
    expect.eq(smt.require_sink_record(r, "p"), r)
    fails(function() smt.require_sink_record({ topic = "t" }, "field insertion") end,
      "Only SinkRecord supported for [field insertion], found: SourceRecord")
  end)

  it("raises the bare message (no file:line prefix)", function()
    local ok, err = pcall(smt.require_map, 1, "p")
    expect.eq(ok, false)
    expect.eq(err, "Only Map objects supported in absence of schema for [p], found: number")
  end)
end)

describe("schemas", function()
  local schema = struct({
    { field = "id", type = "int64", optional = false },
    { field = "n", type = "int32", optional = true, default = 42 },
  }, { name = "rec", version = 3, doc = "d", parameters = { k = "v" }, optional = true,
    default = { id = 1 } })

  it("indexes fields by name, once per schema", function()
    local idx = smt.fields(schema)
    expect.eq(idx.id, schema.fields[1])
    expect.eq(idx.n, schema.fields[2])
    expect.eq(smt.fields(schema), idx)
    expect.eq(smt.field(schema, "n"), schema.fields[2])
    expect.eq(smt.field(schema, "nope"), nil)
    fails(function() smt.field({ type = "int32" }, "a") end, "Cannot look up fields on non-struct type")
  end)

  it("reads fields like Struct.get and getWithoutDefault", function()
    local n = schema.fields[2]
    expect.eq(smt.get({ n = null }, n, true), 42)
    expect.eq(smt.get({}, n, true), 42)
    expect.eq(smt.get({ n = null }, n, false), null)
    expect.eq(smt.get({ n = 7 }, n, true), 7)
    expect.eq(smt.get({}, schema.fields[1], true), null)
    expect.eq(smt.get({ n = false }, { field = "n", type = "boolean", default = true }, true), false)
  end)

  it("fills nulls with defaults in place", function()
    local v = { id = 1, n = null }
    expect.eq(smt.fill_defaults(v, schema), v)
    expect.same(v, { id = 1, n = 42 })
    expect.same(smt.defaults(schema), { schema.fields[2] })
  end)

  it("copies schemas without touching the original", function()
    local c = smt.copy_schema(schema, { name = "other" })
    expect.eq(c.name, "other")
    expect.eq(schema.name, "rec")
    expect.eq(c.fields, schema.fields)
    expect.eq(c.version, 3)
  end)

  it("copies basics as SchemaUtil does: name, version, doc, parameters only", function()
    local b = smt.copy_schema_basics(schema, {})
    expect.same(b, { name = "rec", version = 3, doc = "d", parameters = { k = "v" } })
  end)

  it("builds structs as SchemaBuilder does, rejecting duplicate names", function()
    local s = smt.struct_builder(schema):field("id", schema.fields[1])
      :field("x", smt.schemas.OPTIONAL_STRING):build()
    expect.eq(s.type, "struct")
    expect.eq(s.optional, false)
    expect.eq(s.default, nil)
    expect.eq(s.name, "rec")
    expect.eq(s.fields[1], schema.fields[1]) -- same name: the same field table
    expect.same(s.fields[2], { field = "x", type = "string", optional = true })
    expect.eq(smt.schemas.OPTIONAL_STRING.field, nil) -- the constant was copied, not changed
    expect.eq(getmetatable(s.fields), getmetatable(connect.array()))
    fails(function() smt.struct_builder():field("a", smt.schemas.INT32):field("a", smt.schemas.INT64) end,
      "Cannot create field because of field name duplication a")
    local plain = smt.struct_builder():build()
    expect.same(plain, { type = "struct", optional = false, fields = {} })
  end)

  it("turns a field into a standalone schema once", function()
    local f = schema.fields[2]
    local s = smt.field_schema(f)
    expect.same(s, { type = "int32", optional = true, default = 42 })
    expect.eq(f.field, "n")
    expect.eq(smt.field_schema(f), s)
    expect.eq(smt.field_schema(smt.schemas.INT32), smt.schemas.INT32)
    expect.same(smt.as_field("m", f), { field = "m", type = "int32", optional = true, default = 42 })
    expect.eq(smt.as_field("n", f), f)
  end)

  it("names types as Kafka's Schema.Type does", function()
    expect.eq(smt.type_enum({ type = "int32" }), "INT32")
    expect.eq(smt.type_enum({ type = "float" }), "FLOAT32")
    expect.eq(smt.type_enum({ type = "double" }), "FLOAT64")
  end)

  it("has Kafka's schema constants", function()
    expect.same(smt.schemas.TIMESTAMP, { type = "int64", optional = false,
      name = "org.apache.kafka.connect.data.Timestamp", version = 1 })
    expect.eq(smt.schemas.OPTIONAL_INT32.optional, true)
  end)

  it("caches with weak keys", function()
    local cache = smt.cache()
    cache[{}] = true
    collectgarbage()
    collectgarbage()
    expect.eq(next(cache), nil)
  end)
end)

describe("field paths", function()
  local function steps(text, version)
    local p, err = smt.path(text, version or "V2")
    if not p then error(err, 2) end
    return p.steps
  end
  local function path_error(text)
    local p, err = smt.path(text, "V2")
    expect.eq(p, nil)
    return err
  end

  it("keeps V1 paths whole", function()
    expect.same(steps("foo.bar.baz", "V1"), { "foo.bar.baz" })
    expect.same(steps("foo`bar`", "V1"), { "foo`bar`" })
    expect.same(steps("foo.`bar.baz`", "v1"), { "foo.`bar.baz`" })
    expect.same(steps("", "V1"), { "" })
  end)

  it("splits V2 paths on dots, keeping empty names", function()
    expect.same(steps("foobarbaz"), { "foobarbaz" })
    expect.same(steps("foo.bar.baz"), { "foo", "bar", "baz" })
    expect.same(steps(".."), { "", "", "" })
    expect.same(steps("foo.."), { "foo", "", "" })
    expect.same(steps(".bar."), { "", "bar", "" })
    expect.same(steps("..baz"), { "", "", "baz" })
    expect.same(steps("foo`bar`baz"), { "foo`bar`baz" })
  end)

  it("reads backtick pairs as one name", function()
    expect.same(steps("`foo.bar.baz`"), { "foo.bar.baz" })
    expect.same(steps("foo.`bar.baz`"), { "foo", "bar.baz" })
    expect.same(steps("`foo.bar`.baz"), { "foo.bar", "baz" })
    expect.same(steps("foo.`bar`.baz"), { "foo", "bar", "baz" })
  end)

  it("keeps backticks that do not wrap a name", function()
    expect.same(steps("foo.``bar.baz`"), { "foo", "`bar.baz" })
    expect.same(steps("foo.`bar.baz``"), { "foo", "bar.baz`" })
    expect.same(steps("foo.`ba`r.baz`"), { "foo", "ba`r.baz" })
    expect.same(steps("foo.ba`r.baz"), { "foo", "ba`r", "baz" })
    expect.same(steps("foo.``bar``.baz"), { "foo", "`bar`", "baz" })
    expect.same(steps("``foo.bar.baz``"), { "`foo.bar.baz`" })
  end)

  it("unescapes \\` before a dot inside backticks", function()
    expect.same(steps("foo.`bar\\`.baz`"), { "foo", "bar`.baz" })
    expect.same(steps("foo.`bar.`baz`"), { "foo", "bar.`baz" })
    expect.same(steps("foo.`bar\\`.`baz`"), { "foo", "bar`.`baz" })
    expect.same(steps("foo.`bar\\\\`.\\`baz`"), { "foo", "bar\\`.\\`baz" })
  end)

  it("rejects unclosed backticks with Kafka's message and 0-based position", function()
    expect.eq(path_error("`foo.bar.baz"), "Incomplete backtick pair in path: [`foo.bar.baz], "
      .. "consider adding a backslash before backtick at position 0 to escape it")
    expect.eq(path_error("foo.`bar.baz"), "Incomplete backtick pair in path: [foo.`bar.baz], "
      .. "consider adding a backslash before backtick at position 4 to escape it")
    expect.eq(path_error("foo.bar.`baz"), "Incomplete backtick pair in path: [foo.bar.`baz], "
      .. "consider adding a backslash before backtick at position 8 to escape it")
    expect.eq(path_error("foo.bar.`baz\\`"), "Incomplete backtick pair in path: [foo.bar.`baz\\`], "
      .. "consider adding a backslash before backtick at position 8 to escape it")
  end)

  it("rejects an empty V2 path and unknown versions", function()
    expect.eq(path_error(""), "Field path must not be empty")
    local p, err = smt.path("a", "V3")
    expect.eq(p, nil)
    expect.eq(err, "Unknown syntax version: V3")
  end)

  local bar = struct({ { field = "bar", type = "int32", optional = false } })
  local schema = struct({ smt.as_field("foo", bar) })

  it("finds fields in schemas", function()
    expect.eq(smt.path("foo.bar", "V2"):field_from(schema), bar.fields[1])
    expect.eq(smt.path("foo", "V2"):field_from(schema), schema.fields[1])
    expect.eq(smt.path("un.known", "V2"):field_from(schema), nil)
    expect.eq(smt.path("foo.unknown", "V2"):field_from(schema), nil)
    expect.eq(smt.path("unknown", "V2"):field_from(schema), nil)
    expect.eq(smt.path("test", "V2"):field_from(nil), nil)
    fails(function() smt.path("foo.bar.x", "V2"):field_from(schema) end,
      "Cannot look up fields on non-struct type")
  end)

  it("finds values in maps", function()
    local map = { foo = { bar = 42, baz = null } }
    expect.eq(smt.path("foo.bar", "V2"):value_from_map(map), 42)
    expect.truthy(smt.is_null(smt.path("foo.baz", "V2"):value_from_map(map)))
    expect.eq(smt.path("un.known", "V2"):value_from_map(map), nil)
    expect.eq(smt.path("foo.unknown", "V2"):value_from_map(map), nil)
    expect.eq(smt.path("unknown", "V2"):value_from_map(map), nil)
    expect.eq(smt.path("foo.baz.inner", "V2"):value_from_map(map), nil)
    expect.eq(smt.path("foo.bar", "V1"):value_from_map({ ["foo.bar"] = 1 }), 1)
    fails(function() smt.path("foo.bar.x", "V2"):value_from_map(map) end,
      "Only Map objects supported in absence of schema for [nested field access], found: number")
  end)

  it("finds values in structs", function()
    local baz = struct({ { field = "inner", type = "string", optional = false } }, { optional = true })
    local bar2 = struct({ { field = "bar", type = "int32", optional = false }, smt.as_field("baz", baz) })
    local s = struct({ smt.as_field("foo", bar2) })
    local v = { foo = { bar = 42, baz = null } }
    expect.eq(smt.path("foo.bar", "V2"):value_from_struct(v, s, true), 42)
    expect.truthy(smt.is_null(smt.path("foo.baz", "V2"):value_from_struct(v, s, true)))
    expect.truthy(smt.is_null(smt.path("un.known", "V2"):value_from_struct(v, s, true)))
    expect.truthy(smt.is_null(smt.path("foo.unknown", "V2"):value_from_struct(v, s, true)))
    expect.truthy(smt.is_null(smt.path("unknown", "V2"):value_from_struct(v, s, true)))
    expect.truthy(smt.is_null(smt.path("foo.baz.inner", "V2"):value_from_struct(v, s, true)))
    expect.eq(smt.path("foo.bar", "V2"):value_from_struct(nil, s, true), nil)
  end)

  it("defines field.syntax.version as Kafka does", function()
    local d = smt.field_syntax_config()
    expect.eq(d.default, "V1")
    expect.eq(d.validate("v2"), nil)
    expect.eq(d.validate("V3"), "String must be one of (case insensitive): V1, V2")
  end)
end)
