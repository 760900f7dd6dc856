-- Specs for transforms/insert_field.lua, after Kafka's InsertFieldTest.
local connect = require "luaconnect"
local null = connect.null
local PATH = "transforms/insert_field.lua"

local fails = expect.error_contains

local ALL = {
  ["topic.field"] = "topic_field!",
  ["partition.field"] = "partition_field",
  ["timestamp.field"] = "timestamp_field?",
  ["static.field"] = "instance_id",
  ["static.value"] = "my-instance-id",
}

local function simple_schema()
  return { type = "struct", optional = false, name = "name", version = 1, doc = "doc",
    fields = connect.array { { field = "magic", type = "int64", optional = true } } }
end

describe("InsertField schemaless", function()
  it("inserts the configured fields", function()
    local out = transform(PATH, ALL, "value")({ topic = "test", partition = 0, timestamp = 123,
      value = { magic = 42 } })
    expect.eq(#out, 1)
    expect.same(out[1].value, { magic = 42, topic_field = "test", partition_field = 0,
      timestamp_field = 123, instance_id = "my-instance-id" })
    expect.eq(out[1].value_schema, nil)
  end)

  it("skips partition and timestamp when the record has none", function()
    local out = transform(PATH, ALL, "value")({ topic = "test", value = {} })
    expect.same(out[1].value, { topic_field = "test", instance_id = "my-instance-id" })
  end)

  it("inserts the offset of sink records and refuses source records", function()
    local t = transform(PATH, { ["offset.field"] = "off" }, "value")
    local out = t({ topic = "t", partition = 1, offset = 77, value = { a = 1 } })
    expect.same(out[1].value, { a = 1, off = 77 })
    local rec = { topic = "t", value = { a = 1 } }
    fails(function() t(rec) end, "Only SinkRecord supported for [field insertion], found: SourceRecord")
    expect.same(rec.value, { a = 1 }) -- a failed record is left as it was
  end)

  it("works on the key with the $Key variant, leaving the value alone", function()
    local out = transform(PATH, ALL, "key")({ topic = "test", partition = 0,
      key = { magic = 42 }, value = nil })
    expect.same(out[1].key, { magic = 42, topic_field = "test", partition_field = 0,
      instance_id = "my-instance-id" })
    expect.eq(out[1].value, nil)
  end)

  it("passes tombstones and null keys through unchanged", function()
    local rec = { topic = "test", partition = 0 }
    local out = transform(PATH, ALL, "value")(rec)
    expect.eq(out[1], rec)
    expect.eq(out[1].value, nil)
    expect.eq(out[1].value_schema, nil)
    rec = { topic = "test", partition = 0, value = { magic = 42 } }
    out = transform(PATH, ALL, "key")(rec)
    expect.eq(out[1], rec)
    expect.same(out[1].value, { magic = 42 })
    expect.eq(out[1].key, nil)
  end)

  it("requires a map", function()
    fails(function() transform(PATH, ALL, "value")({ topic = "t", value = "x" }) end,
      "Only Map objects supported in absence of schema for [field insertion], found: string")
    fails(function() transform(PATH, ALL, "value")({ topic = "t", value = connect.array { 1 } }) end,
      "found: array")
  end)
end)

describe("InsertField with a schema", function()
  it("copies the schema and inserts the configured fields", function()
    local schema = simple_schema()
    local t = transform(PATH, ALL, "value")
    local out = t({ topic = "test", partition = 0, timestamp = 789, value_schema = schema,
      value = { magic = 42 } })
    local s, v = out[1].value_schema, out[1].value
    expect.eq(s.name, "name")
    expect.eq(s.version, 1)
    expect.eq(s.doc, "doc")
    expect.eq(s.type, "struct")
    expect.same(s.fields, {
      { field = "magic", type = "int64", optional = true },
      { field = "topic_field", type = "string", optional = false },
      { field = "partition_field", type = "int32", optional = true },
      { field = "timestamp_field", type = "int64", optional = true,
        name = "org.apache.kafka.connect.data.Timestamp", version = 1 },
      { field = "instance_id", type = "string", optional = true },
    })
    expect.same(v, { magic = 42, topic_field = "test", partition_field = 0, timestamp_field = 789,
      instance_id = "my-instance-id" })
    expect.eq(#schema.fields, 1) -- the input schema is untouched
    -- the updated schema is cached per input schema
    local out2 = t({ topic = "test", partition = 1, value_schema = schema, value = {} })
    expect.eq(out2[1].value_schema, s)
  end)

  it("gives what Kafka Connect's JsonConverter writes (decode, transform, encode)", function()
    local conv = require("luaconnect.core").converter("JsonConverter", "true")
    local ok, v, s = conv:decode('{"schema":{"type":"struct","fields":[{"type":"int64",'
      .. '"optional":true,"field":"magic"}],"optional":false,"name":"name","version":1,'
      .. '"doc":"doc"},"payload":{"magic":42}}')
    expect.truthy(ok, v)
    local out = transform(PATH, { ["topic.field"] = "t!", ["timestamp.field"] = "ts" }, "value")({
      topic = "orders", timestamp = 1700000000000, value_schema = s, value = v })
    local ok2, bytes = conv:encode(out[1].value, out[1].value_schema)
    expect.truthy(ok2, bytes)
    expect.eq(bytes, '{"schema":{"type":"struct","fields":[{"type":"int64","optional":true,'
      .. '"field":"magic"},{"type":"string","optional":false,"field":"t"},{"type":"int64",'
      .. '"optional":true,"name":"org.apache.kafka.connect.data.Timestamp","version":1,'
      .. '"field":"ts"}],"optional":false,"name":"name","version":1,"doc":"doc"},'
      .. '"payload":{"magic":42,"t":"orders","ts":1700000000000}}')
  end)

  it("makes the rebuilt struct required, as SchemaUtil.copySchemaBasics does", function()
    local schema = simple_schema()
    schema.optional = true
    local out = transform(PATH, ALL, "value")({ topic = "t", value_schema = schema, value = {} })
    expect.eq(out[1].value_schema.optional, false)
  end)

  it("leaves a tombstone and its schema unchanged", function()
    local schema = simple_schema()
    local out = transform(PATH, ALL, "value")({ topic = "test", partition = 0, value_schema = schema })
    expect.eq(out[1].value, nil)
    expect.eq(out[1].value_schema, schema)
  end)

  it("requires a struct", function()
    fails(function()
      transform(PATH, { ["topic.field"] = "topic_field" }, "value")({ topic = "",
        partition = 0, value_schema = { type = "int32", optional = false }, value = 42 })
    end, "Only Struct objects supported for [field insertion], found: int32")
  end)

  it("fails like SchemaBuilder when a field name is taken", function()
    fails(function()
      transform(PATH, { ["topic.field"] = "magic" }, "value")({ topic = "t",
        value_schema = simple_schema(), value = { magic = 1 } })
    end, "Cannot create field because of field name duplication magic")
  end)

  for _, case in ipairs({ { "false", null }, { "true", 42 } }) do
    it("replace.null.with.default=" .. case[1] .. " on an unset optional field", function()
      local cfg = {}
      for k, v in pairs(ALL) do cfg[k] = v end
      cfg["replace.null.with.default"] = case[1]
      local field = { field = "magic_with_default", type = "int64", optional = true, default = 42 }
      local schema = { type = "struct", optional = false, name = "name", version = 1, doc = "doc",
        fields = connect.array { field } }
      local out = transform(PATH, cfg, "value")({ topic = "test", partition = 0, timestamp = 789,
        value_schema = schema, value = { magic_with_default = null } })
      expect.eq(out[1].value_schema.fields[1], field)
      expect.eq(out[1].value.magic_with_default, case[2])
    end)
  end
end)

describe("InsertField config", function()
  it("needs at least one field to insert", function()
    fails(function() transform(PATH, {}, "value") end, "transform 't': No field insertion configured")
  end)

  it("needs static.value with static.field", function()
    fails(function() transform(PATH, { ["static.field"] = "s" }, "value") end,
      "transform 't': key 'static.value': No value specified for static field: s")
  end)

  it("needs a $Key or $Value variant", function()
    fails(function() transform(PATH, ALL) end, "type needs a $Key or $Value variant (e.g. InsertField$Value)")
  end)

  it("rejects unknown keys", function()
    fails(function() transform(PATH, { ["topic.feild"] = "t" }, "value") end,
      "unknown key 'topic.feild' (did you mean 'topic.field'?)")
  end)
end)
