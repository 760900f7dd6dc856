-- Specs for transforms/filter.lua: drops everything, and with a predicate only what matches.
local connect = require "luaconnect"

local PATH = "transforms/filter.lua"

describe("Filter", function()
  it("drops every record, tombstones included", function()
    local t = transform(PATH, {})
    expect.eq(#t({ topic = "a", value = { x = 1 } }), 0)
    expect.eq(#t({ topic = "a", value = nil }), 0)
  end)

  it("takes no configuration", function()
    expect.error_matches(function() transform(PATH, { x = "1" }) end, "unknown key 'x'")
  end)

  it("drops only the records its predicate picks, or the others with negate", function()
    local function chain(negate)
      return connect._chain("connector 'c'", {
        { alias = "f", path = PATH, config = {}, negate = negate,
          predicate = { alias = "p", path = "transforms/topic_name_matches.lua",
            config = { pattern = "drop-.*" } } },
      })
    end
    local records = function()
      return { { topic = "drop-1" }, { topic = "keep" }, { topic = "drop-2" }, { topic = "x-drop-3" } }
    end
    local out = connect._apply_chain(chain(false), records())
    expect.same({ out[1].topic, out[2].topic }, { "keep", "x-drop-3" })
    expect.eq(#out, 2)
    out = connect._apply_chain(chain(true), records())
    expect.same({ out[1].topic, out[2].topic }, { "drop-1", "drop-2" })
    expect.eq(#out, 2)
  end)

  it("drops tombstones with RecordIsTombstone", function()
    local c = connect._chain("connector 'c'", {
      { alias = "f", path = PATH, config = {},
        predicate = { alias = "p", path = "transforms/record_is_tombstone.lua", config = {} } },
    })
    local out = connect._apply_chain(c, { { topic = "a", value = 1 }, { topic = "a" }, { topic = "a", value = 3 } })
    expect.same({ out[1].value, out[2].value }, { 1, 3 })
    expect.eq(#out, 2)
  end)

  it("is found by Kafka's class names", function()
    expect.same(connect._describe(PATH).aliases, { "Filter", "org.apache.kafka.connect.transforms.Filter" })
  end)
end)
