-- Specs for transforms/topic_name_matches.lua: Kafka's TopicNameMatchesTest.
local connect = require "luaconnect"

local PATH = "transforms/topic_name_matches.lua"

describe("TopicNameMatches", function()
  it("requires a non-empty, valid pattern", function()
    expect.error_matches(function() predicate(PATH, {}) end, "missing required key 'pattern'")
    expect.error_matches(function() predicate(PATH, { pattern = "" }) end,
      "key 'pattern': String must be non%-empty")
    expect.error_matches(function() predicate(PATH, { pattern = "[" }) end,
      "key 'pattern': Invalid regex '%[': Unclosed character class near index 0")
    expect.error_matches(function() predicate(PATH, { pattern = "*" }) end,
      "key 'pattern': Invalid regex '%*': Dangling meta character '%*' near index 0")
  end)

  it("matches whole topic names (testTest)", function()
    local p = predicate(PATH, { pattern = "my-prefix-.*" })
    expect.eq(p({ topic = "my-prefix-" }), true)
    expect.eq(p({ topic = "my-prefix-foo" }), true)
    expect.eq(p({ topic = "x-my-prefix-" }), false)
    expect.eq(p({ topic = "x-my-prefix-foo" }), false)
    expect.eq(p({ topic = "your-prefix-" }), false)
    expect.eq(p({ topic = "your-prefix-foo" }), false)
    expect.eq(p({}), false)
  end)

  it("answers the same for a topic every time", function()
    local p = predicate(PATH, { pattern = "(orders|payments)\\.v\\d+" })
    for _ = 1, 3 do
      expect.eq(p({ topic = "orders.v2" }), true)
      expect.eq(p({ topic = "payments.v10" }), true)
      expect.eq(p({ topic = "orders.v" }), false)
    end
  end)

  it("is found by Kafka's class names", function()
    local d = connect._describe(PATH)
    expect.eq(d.kind, "predicate")
    expect.same(d.aliases,
      { "TopicNameMatches", "org.apache.kafka.connect.transforms.predicates.TopicNameMatches" })
  end)
end)
