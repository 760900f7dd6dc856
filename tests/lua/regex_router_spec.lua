-- Specs for transforms/regex_router.lua: Kafka's RegexRouterTest plus config errors,
-- record fields left alone, and the per-topic cache.
local connect = require "luaconnect"

local PATH = "transforms/regex_router.lua"

local function route(regex, replacement, topic)
  local t = transform(PATH, { regex = regex, replacement = replacement })
  local out = t({ topic = topic, partition = 0, offset = 0 })
  return out[1].topic
end

describe("RegexRouter", function()
  it("routes as Kafka's RegexRouterTest", function()
    expect.eq(route("foo", "bar", "foo"), "bar")              -- staticReplacement
    expect.eq(route("foo", "bar", "orig"), "orig")            -- doesntMatch
    expect.eq(route("(.*)", "$1", "orig"), "orig")            -- identity
    expect.eq(route("(.*)", "prefix-$1", "orig"), "prefix-orig")
    expect.eq(route("(.*)", "$1-suffix", "orig"), "orig-suffix")
    expect.eq(route("(.*)-(\\d\\d\\d\\d\\d\\d\\d\\d)", "$1", "index-20160117"), "index")
  end)

  it("needs the whole topic to match", function()
    expect.eq(route("foo", "bar", "foobar"), "foobar")
    expect.eq(route("foo.*", "bar", "foobar"), "bar")
    expect.eq(route("db\\.([^.]+)\\.(.+)", "$1_$2", "db.sales.orders"), "sales_orders")
  end)

  it("leaves every other part of the record as it was", function()
    local t = transform(PATH, { regex = "(.*)", replacement = "x-$1" })
    local rec = { topic = "a", partition = 3, offset = 9, timestamp = 5, key = "k",
      key_schema = { type = "string" }, value = { v = 1 }, headers = { h = "1" } }
    local out = t(rec)
    expect.eq(#out, 1)
    expect.same(out[1], { topic = "x-a", partition = 3, offset = 9, timestamp = 5, key = "k",
      key_schema = { type = "string" }, value = { v = 1 }, headers = { h = "1" } })
  end)

  it("gives the same answer for a topic every time, with many topics", function()
    local t = transform(PATH, { regex = "t(\\d+)", replacement = "n$1" })
    for round = 1, 2 do
      for i = 1, 50 do
        expect.eq(t({ topic = "t" .. i })[1].topic, "n" .. i, "round " .. round)
        expect.eq(t({ topic = "u" .. i })[1].topic, "u" .. i, "round " .. round)
      end
    end
  end)

  it("passes tombstones through", function()
    local out = transform(PATH, { regex = "a", replacement = "b" })({ topic = "a", value = nil })
    expect.eq(out[1].topic, "b")
    expect.eq(out[1].value, nil)
  end)

  it("refuses an invalid regex at config time, naming the key", function()
    expect.error_matches(function() transform(PATH, { regex = "[", replacement = "x" }) end,
      "transform 't': key 'regex': Invalid regex '%[': Unclosed character class near index 0")
    expect.error_matches(function() transform(PATH, { regex = "${topic}", replacement = "x" }) end,
      "key 'regex': Invalid regex '%${topic}': Illegal repetition")
  end)

  it("refuses a replacement that cannot work at config time, naming the key", function()
    expect.error_matches(function() transform(PATH, { regex = "(.*)", replacement = "$2" }) end,
      "key 'replacement': invalid replacement '%$2': No group 2")
    expect.error_matches(function() transform(PATH, { regex = "(.*)", replacement = "a$" }) end,
      "key 'replacement': .*Illegal group reference: group index is missing")
  end)

  it("requires regex and replacement", function()
    expect.error_matches(function() transform(PATH, { regex = "a" }) end,
      "missing required key 'replacement'")
    expect.error_matches(function() transform(PATH, { replacement = "a" }) end,
      "missing required key 'regex'")
  end)

  it("is found by Kafka's class names", function()
    local d = connect._describe(PATH)
    expect.eq(d.kind, "transform")
    expect.same(d.aliases, { "RegexRouter", "org.apache.kafka.connect.transforms.RegexRouter" })
  end)
end)
