-- Specs for connect.freeze_schema and the encoder's per-schema plans (lua/encode_plan.c):
-- a frozen schema must give exactly what the same schema gives unfrozen, text and error
-- text alike, on the first record and on every later one (when its plan and JSON are reused).
local connect = require "luaconnect"
local core = require "luaconnect.core"

local null = connect.null
local json_schemas = core.converter("JsonConverter", "true")
local json_plain = core.converter("JsonConverter", "false")

local function copy(t)
  if type(t) ~= "table" then return t end
  local c = {}
  for k, v in pairs(t) do c[k] = copy(v) end
  return setmetatable(c, getmetatable(t))
end

local function f(name, type_, extra)
  local s = { field = name, type = type_, optional = false }
  for k, v in pairs(extra or {}) do s[k] = v end
  return s
end

local function struct(fields, extra)
  local s = { type = "struct", optional = false, fields = fields }
  for k, v in pairs(extra or {}) do s[k] = v end
  return s
end

-- Encodes value with a fresh copy of schema, unfrozen, and with one frozen copy three times;
-- all results (ok flag and text) must agree. Returns the unfrozen result.
local function same_frozen(value, schema)
  local results = {}
  for _, conv in ipairs({ json_plain, json_schemas }) do
    local ok, want = conv:encode(copy(value), copy(schema))
    local frozen = connect.freeze_schema(copy(schema))
    for i = 1, 3 do
      local fok, got = conv:encode(copy(value), frozen)
      expect.eq(fok, ok, "ok flag, encode " .. i)
      expect.eq(got, want, "encode " .. i)
    end
    results[#results + 1] = want
  end
  return results[1], results[2]
end

local scalars = struct({
  f("i8", "int8"), f("i16", "int16"), f("i32", "int32"), f("i64", "int64"),
  f("f32", "float"), f("f64", "double"), f("b", "boolean"), f("s", "string"),
  f("raw", "bytes"),
})

describe("a frozen struct schema", function()
  it("writes every scalar type as the unfrozen schema does", function()
    local plain, env = same_frozen({ i8 = -8, i16 = 300, i32 = 70000, i64 = 9007199254740993LL,
      f32 = 1.5, f64 = 0.1, b = true, s = 'quo"te\n', raw = "\0\1" }, scalars)
    expect.eq(plain, '{"i8":-8,"i16":300,"i32":70000,"i64":9007199254740993,"f32":1.5,'
      .. '"f64":0.1,"b":true,"s":"quo\\"te\\n","raw":"AAE="}')
    expect.truthy(env:find('"payload":' .. plain, 1, true))
  end)

  it("uses defaults, writes optional nulls, and names the field of a missing required one", function()
    local s = struct({ f("a", "int32", { optional = true }), f("b", "string", { default = "dflt" }),
      f("c", "boolean") })
    local plain = same_frozen({ c = false }, s)
    expect.eq(plain, '{"a":null,"b":"dflt","c":false}')
    same_frozen({ a = null, c = true }, s)
    local ok, err = json_plain:encode({ a = 1 }, connect.freeze_schema(copy(s)))
    expect.eq(ok, false)
    expect.eq(err, "value.c: null value for a required field that has no default value")
    same_frozen({ a = 1 }, s)
  end)

  it("reports a value of the wrong type with its path", function()
    local ok, err = json_plain:encode({ i8 = "x" }, connect.freeze_schema(copy(scalars)))
    expect.eq(ok, false)
    expect.eq(err, "value.i8: expected int8, got string")
    same_frozen({ i8 = "x" }, scalars)
    same_frozen({ i8 = 1, i16 = 2, i32 = 3, i64 = 4, f32 = 1, f64 = 2, b = 1, s = "", raw = "" },
      scalars)
    same_frozen({ i8 = 1, i16 = 2, i32 = 3, i64 = 4, f32 = 1, f64 = 2, b = true, s = 5, raw = "" },
      scalars)
    same_frozen({ i8 = 1, i16 = 2, i32 = 3, i64 = 4, f32 = "x", f64 = 2, b = true, s = "", raw = "" },
      scalars)
  end)

  it("refuses out-of-range integers and fractions as before", function()
    local ok, err = json_plain:encode({ i8 = 300 }, connect.freeze_schema(copy(scalars)))
    expect.eq(ok, false)
    expect.eq(err, "value.i8: 300 is out of range for int8")
    same_frozen({ i8 = 1.5 }, scalars)
    same_frozen({ i8 = 1, i16 = 1, i32 = 1, i64 = 2 ^ 64 }, scalars)
  end)

  it("refuses a key that is not a field", function()
    local s = struct({ f("a", "int32") })
    local ok, err = json_plain:encode({ a = 1, b = 2 }, connect.freeze_schema(copy(s)))
    expect.eq(ok, false)
    expect.eq(err, "value: unknown field 'b' (not in the struct schema)")
    same_frozen({ a = 1, b = 2 }, s)
    same_frozen({ a = 1, [1] = 2 }, s)
  end)

  it("writes nested structs, arrays and maps, with their errors' paths", function()
    local inner = struct({ f("x", "int64"), f("y", "string", { optional = true }) })
    local s = struct({
      { field = "in", type = "struct", optional = false, fields = inner.fields },
      { field = "list", type = "array", optional = false,
        items = { type = "int32", optional = false } },
      { field = "m", type = "map", optional = true, keys = { type = "string", optional = false },
        values = { type = "double", optional = false } },
    }, { name = "com.example.Outer", version = 2, doc = "d", parameters = { p = "v" } })
    local plain = same_frozen({ ["in"] = { x = 1 }, list = connect.array({ 1, 2 }), m = { k = 0.5 } }, s)
    expect.eq(plain, '{"in":{"x":1,"y":null},"list":[1,2],"m":{"k":0.5}}')
    local ok, err = json_plain:encode({ ["in"] = { x = "no" }, list = connect.array({}) },
      connect.freeze_schema(copy(s)))
    expect.eq(ok, false)
    expect.eq(err, "value.in.x: expected int64, got string")
    same_frozen({ ["in"] = { x = 1, z = 2 }, list = connect.array({}) }, s)
    same_frozen({ ["in"] = "flat", list = connect.array({}) }, s)
    same_frozen({ ["in"] = { x = 1 }, list = connect.array({ "a" }) }, s)
  end)

  it("gives a broken schema's error, not a plan's", function()
    same_frozen({ a = 1 }, struct({ f("a", "int33") }))
    same_frozen({ a = 1 }, struct({ "not a table" }))
    same_frozen({ a = 1 }, struct({ { type = "int32" } }))
    same_frozen({ a = 1 }, { type = "struct" })
    same_frozen({ a = 1 }, { type = 5 })
    -- a name twice (Connect's SchemaBuilder refuses it; a decoded schema may have it)
    same_frozen({ a = 1 }, struct({ f("a", "int32"), f("a", "int32") }))
  end)

  it("writes the schema envelope of a frozen scalar schema", function()
    local _, env = same_frozen("text", { type = "string", optional = true, name = "n" })
    expect.eq(env, '{"schema":{"type":"string","optional":true,"name":"n"},"payload":"text"}')
  end)
end)

describe("freeze_schema", function()
  it("returns its argument and ignores what is not a table", function()
    local s = { type = "string" }
    expect.eq(connect.freeze_schema(s), s)
    expect.eq(connect.freeze_schema("x"), "x")
    expect.eq(connect.freeze_schema(nil), nil)
  end)

  it("is what the SMT schema builders return", function()
    local smt = require "_smt"
    local built = smt.struct_builder(nil):field("line", smt.schemas.STRING):build()
    local ok, text = json_schemas:encode({ line = "l" }, built)
    expect.eq(ok, true)
    expect.eq(text, '{"schema":{"type":"struct","fields":[{"type":"string","optional":false,'
      .. '"field":"line"}],"optional":false},"payload":{"line":"l"}}')
    -- the same table, changed in place (which the contract forbids), keeps its first text:
    -- this is what frozen means, and why the builders' tables must not be changed
    built.fields[1].field = "other"
    local _, again = json_schemas:encode({ line = "l" }, built)
    expect.eq(again, text)
  end)
end)
