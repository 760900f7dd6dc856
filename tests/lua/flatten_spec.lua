-- Specs for transforms/flatten.lua: Kafka's FlattenTest cases, written anew, and more.
local connect = require "luaconnect"
local null = connect.null
local PATH = "transforms/flatten.lua"

local function flatten(config, variant)
  local run = transform(PATH, config or {}, variant or "value")
  return function(record)
    local out = run(record)
    return out[1]
  end
end

local function field(name, schema)
  local f = { field = name }
  for k, v in pairs(schema) do f[k] = v end
  return f
end

local function struct(fields, extra)
  local s = { type = "struct", optional = false, fields = fields }
  for k, v in pairs(extra or {}) do s[k] = v end
  return s
end

local INT32 = { type = "int32", optional = false }
local OPT_INT32 = { type = "int32", optional = true }
local STRING = { type = "string", optional = false }
local OPT_STRING = { type = "string", optional = true }

local function all_types_schema()
  return struct({
    field("int8", { type = "int8", optional = false }),
    field("int16", { type = "int16", optional = false }),
    field("int32", INT32),
    field("int64", { type = "int64", optional = false }),
    field("float32", { type = "float", optional = false }),
    field("float64", { type = "double", optional = false }),
    field("boolean", { type = "boolean", optional = false }),
    field("string", STRING),
    field("bytes", { type = "bytes", optional = false }),
  })
end

local function all_types_value()
  return { int8 = 8, int16 = 16, int32 = 32, int64 = 64, float32 = 32.5, float64 = 64.25,
    boolean = true, string = "stringy", bytes = "bytes" }
end

describe("Flatten requirements", function()
  it("needs a struct when there is a schema", function()
    expect.error_matches(function()
      flatten()({ topic = "t", value_schema = INT32, value = 42 })
    end, "Only Struct objects supported for %[flattening%], found: int32")
  end)

  it("needs a map when there is no schema", function()
    expect.error_matches(function() flatten()({ topic = "t", value = 42 }) end,
      "Only Map objects supported in absence of schema for %[flattening%], found: number")
  end)

  it("needs a $Key or $Value variant", function()
    expect.error_matches(function()
      connect._chain("c", { { alias = "f", path = PATH, config = {} } })
    end, "needs a %$Key or %$Value variant")
  end)
end)

describe("Flatten with a schema", function()
  it("flattens two levels of structs with every primitive type", function()
    local inner = all_types_schema()
    local one = struct({ field("B", inner) })
    local two = struct({ field("A", one) })
    local rec = flatten()({ topic = "t", value_schema = two, value = { A = { B = all_types_value() } } })
    expect.eq(rec.value_schema.type, "struct")
    expect.eq(#rec.value_schema.fields, 9)
    expect.same(rec.value, { ["A.B.int8"] = 8, ["A.B.int16"] = 16, ["A.B.int32"] = 32,
      ["A.B.int64"] = 64, ["A.B.float32"] = 32.5, ["A.B.float64"] = 64.25,
      ["A.B.boolean"] = true, ["A.B.string"] = "stringy", ["A.B.bytes"] = "bytes" })
    local names = {}
    for i, f in ipairs(rec.value_schema.fields) do names[i] = f.field .. ":" .. f.type end
    expect.eq(table.concat(names, ","), "A.B.int8:int8,A.B.int16:int16,A.B.int32:int32,"
      .. "A.B.int64:int64,A.B.float32:float,A.B.float64:double,A.B.boolean:boolean,"
      .. "A.B.string:string,A.B.bytes:bytes")
  end)

  it("uses the configured delimiter", function()
    local s = struct({ field("A", struct({ field("x", INT32) })) })
    local rec = flatten({ delimiter = "_" })({ topic = "t", value_schema = s, value = { A = { x = 1 } } })
    expect.same(rec.value, { A_x = 1 })
    expect.eq(rec.value_schema.fields[1].field, "A_x")
  end)

  it("keeps a null optional field null", function()
    local s = struct({ field("B", struct({ field("opt_int32", OPT_INT32) })) })
    local rec = flatten()({ topic = "t", value_schema = s, value = { B = { opt_int32 = null } } })
    expect.same(rec.value, { ["B.opt_int32"] = null })
  end)

  it("passes a tombstone with an optional struct schema unchanged", function()
    local s = struct({ field("opt_int32", OPT_INT32) }, { optional = true })
    local rec = flatten()({ topic = "t", value_schema = s, value = nil })
    expect.eq(rec.value, nil)
    expect.eq(rec.value_schema, s)
  end)

  it("passes a tombstone with a named schema unchanged (schema not rebuilt)", function()
    local s = struct({ field("magic", { type = "int64", optional = true }) },
      { name = "name", version = 1, doc = "doc" })
    local rec = flatten()({ topic = "t", value_schema = s })
    expect.eq(rec.value_schema, s)
  end)

  it("gives the fields of a null optional nested struct null values", function()
    local inner = struct({ field("opt_int32", OPT_INT32) }, { optional = true })
    local s = struct({ field("B", inner) })
    local rec = flatten()({ topic = "t", value_schema = s, value = { B = null } })
    expect.same(rec.value, { ["B.opt_int32"] = null })
    expect.eq(rec.value_schema.fields[1].optional, true)
  end)

  it("leaves arrays and the structs inside them alone", function()
    local nested = struct({ field("lfg", STRING) })
    local inner = struct({ field("baz", nested) })
    local s = struct({ field("foo", { type = "array", items = inner, doc = "durk", optional = false }) })
    local value = { foo = connect.array({ { baz = { lfg = "lfg" } } }) }
    local rec = flatten()({ topic = "t", value_schema = s, value = value })
    expect.same(rec.value, { foo = { { baz = { lfg = "lfg" } } } })
    expect.eq(rec.value.foo, value.foo)
    expect.same(rec.value_schema, s)
  end)

  it("makes children of an optional struct optional and takes defaults from the parent", function()
    local child = struct({
      field("req_field", STRING),
      field("opt_field", { type = "string", optional = true, default = "child_default" }),
    }, { optional = true, default = { req_field = "req_default" } })
    local rec = flatten()({ topic = "t", value_schema = child, value = {} })
    local fields = rec.value_schema.fields
    expect.eq(#fields, 2)
    expect.same(fields[1], { field = "req_field", type = "string", optional = true, default = "req_default" })
    expect.same(fields[2], { field = "opt_field", type = "string", optional = true, default = "child_default" })
    -- Kafka keeps the flattened struct itself required and without a default
    expect.eq(rec.value_schema.optional, false)
    expect.eq(rec.value_schema.default, nil)
    -- Struct.get: a null field reads as its own default
    expect.same(rec.value, { req_field = null, opt_field = "child_default" })
  end)

  it("reads a null nested struct as its default struct", function()
    local inner = struct({ field("x", INT32) }, { optional = true, default = { x = 7 } })
    local s = struct({ field("in", inner) })
    local rec = flatten()({ topic = "t", value_schema = s, value = { ["in"] = null } })
    expect.same(rec.value, { ["in.x"] = 7 })
    expect.same(rec.value_schema.fields[1], { field = "in.x", type = "int32", optional = true, default = 7 })
  end)

  it("keeps null fields of a flat struct", function()
    local s = struct({ field("firstNull", OPT_STRING), field("firstNonNull", OPT_STRING),
      field("secondNull", OPT_STRING), field("secondNonNull", OPT_STRING), field("thirdNonNull", OPT_STRING) })
    local value = { firstNull = null, firstNonNull = "nonNull", secondNull = null,
      secondNonNull = "alsoNonNull", thirdNonNull = null }
    local rec = flatten()({ topic = "t", value_schema = s, value = value })
    expect.same(rec.value, { firstNull = null, firstNonNull = "nonNull", secondNull = null,
      secondNonNull = "alsoNonNull", thirdNonNull = null })
    expect.same(rec.value_schema, s)
  end)

  it("keeps logical types, names, docs and parameters of leaf fields", function()
    local ts = { type = "int64", optional = false, name = "org.apache.kafka.connect.data.Timestamp", version = 1 }
    local dec = { type = "bytes", optional = true, name = "org.apache.kafka.connect.data.Decimal",
      version = 1, parameters = { scale = "2" }, doc = "money" }
    local s = struct({ field("o", struct({ field("at", ts), field("amount", dec) })) },
      { name = "Order", version = 3, doc = "an order", parameters = { a = "b" } })
    local rec = flatten()({ topic = "t", value_schema = s, value = { o = { at = 5, amount = "\1" } } })
    expect.same(rec.value_schema, struct({ field("o.at", ts), field("o.amount", dec) },
      { name = "Order", version = 3, doc = "an order", parameters = { a = "b" } }))
  end)

  it("refuses map fields as Kafka does", function()
    local s = struct({ field("A", struct({ field("m", { type = "map", keys = STRING, values = STRING, optional = false }) })) })
    expect.error_matches(function()
      flatten()({ topic = "t", value_schema = s, value = { A = { m = {} } } })
    end, "Flatten transformation does not support MAP for record with schemas %(for field A%.m%)%.")
  end)

  it("refuses flattened names that collide", function()
    local s = struct({ field("a", struct({ field("b", INT32) })), field("a.b", INT32) })
    expect.error_matches(function()
      flatten()({ topic = "t", value_schema = s, value = { a = { b = 1 }, ["a.b"] = 2 } })
    end, "Cannot create field because of field name duplication a%.b")
  end)

  it("builds the flattened schema once per input schema and never changes the input", function()
    local s = struct({ field("A", struct({ field("x", INT32) })) })
    local before = connect.json.encode(s)
    local f = flatten()
    local r1 = f({ topic = "t", value_schema = s, value = { A = { x = 1 } } })
    local r2 = f({ topic = "t", value_schema = s, value = { A = { x = 2 } } })
    expect.eq(r1.value_schema, r2.value_schema)
    expect.eq(r2.value["A.x"], 2)
    expect.eq(connect.json.encode(s), before)
  end)

  it("works on the key with Flatten$Key and leaves the value alone", function()
    local s = struct({ field("A", struct({ field("B", INT32) })) })
    local rec = flatten({}, "key")({ topic = "t", key_schema = s, key = { A = { B = 12 } },
      value = { A = { B = 1 } } })
    expect.same(rec.key, { ["A.B"] = 12 })
    expect.same(rec.value, { A = { B = 1 } })
  end)
end)

describe("Flatten without a schema", function()
  it("flattens nested maps with the delimiter", function()
    local value = { A = { B = all_types_value() } }
    local rec = flatten({ delimiter = "#" })({ topic = "t", value = value })
    expect.eq(rec.value_schema, nil)
    expect.same(rec.value, { ["A#B#int8"] = 8, ["A#B#int16"] = 16, ["A#B#int32"] = 32,
      ["A#B#int64"] = 64, ["A#B#float32"] = 32.5, ["A#B#float64"] = 64.25,
      ["A#B#boolean"] = true, ["A#B#string"] = "stringy", ["A#B#bytes"] = "bytes" })
  end)

  it("keeps nulls, int64 and float values as they are", function()
    local v = connect.json.decode('{"B":{"opt_int32":null,"big":9007199254740993,"f":1.0}}')
    local rec = flatten()({ topic = "t", value = v })
    expect.eq(connect.json.encode(rec.value), '{"B.big":9007199254740993,"B.f":1.0,"B.opt_int32":null}')
  end)

  it("keeps null fields at the top level", function()
    local value = { firstNull = null, firstNonNull = "nonNull", secondNull = null }
    local rec = flatten()({ topic = "t", value = value })
    expect.same(rec.value, { firstNull = null, firstNonNull = "nonNull", secondNull = null })
  end)

  it("leaves arrays, and maps inside them, alone", function()
    local value = connect.json.decode('{"foo":["bar",{"baz":{"lfg":"lfg"}}]}')
    local rec = flatten()({ topic = "t", value = value })
    expect.eq(connect.json.encode(rec.value), '{"foo":["bar",{"baz":{"lfg":"lfg"}}]}')
  end)

  it("passes a schemaless tombstone unchanged", function()
    local rec = flatten()({ topic = "t" })
    expect.eq(rec.value, nil)
    expect.eq(rec.value_schema, nil)
  end)

  it("works on the key", function()
    local rec = flatten({}, "key")({ topic = "t", key = { A = { B = 12 } } })
    expect.eq(rec.key_schema, nil)
    expect.same(rec.key, { ["A.B"] = 12 })
  end)

  it("drops empty nested maps, as Kafka does", function()
    local rec = flatten()({ topic = "t", value = { a = 1, e = {} } })
    expect.same(rec.value, { a = 1 })
  end)
end)
