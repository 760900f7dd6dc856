-- Specs for transforms/record_is_tombstone.lua.
local connect = require "luaconnect"

local PATH = "transforms/record_is_tombstone.lua"

describe("RecordIsTombstone", function()
  it("is true only for a record whose value is nil", function()
    local p = predicate(PATH, {})
    expect.eq(p({ topic = "t" }), true)
    expect.eq(p({ topic = "t", key = "k", value_schema = { type = "string", optional = true } }), true)
    expect.eq(p({ topic = "t", value = "" }), false)
    expect.eq(p({ topic = "t", value = 0 }), false)
    expect.eq(p({ topic = "t", value = false }), false)
    expect.eq(p({ topic = "t", value = {} }), false)
  end)

  it("takes no configuration", function()
    expect.error_matches(function() predicate(PATH, { x = "1" }) end, "unknown key 'x'")
  end)

  it("is found by Kafka's class names", function()
    local d = connect._describe(PATH)
    expect.eq(d.kind, "predicate")
    expect.same(d.aliases,
      { "RecordIsTombstone", "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone" })
  end)
end)
