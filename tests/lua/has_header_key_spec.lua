-- Specs for transforms/has_header_key.lua: Kafka's HasHeaderKeyTest.
local connect = require "luaconnect"

local PATH = "transforms/has_header_key.lua"

local function with_headers(...)
  local h = {}
  for _, name in ipairs({ ... }) do h[name] = "v" end
  return { topic = "t", headers = h }
end

describe("HasHeaderKey", function()
  it("requires a non-empty name (testNameRequiredInConfig, testNameMayNotBeEmptyInConfig)", function()
    expect.error_matches(function() predicate(PATH, {}) end, "missing required key 'name'")
    expect.error_matches(function() predicate(PATH, { name = "" }) end,
      "key 'name': String must be non%-empty")
  end)

  it("is true when a header has the name (testTest)", function()
    local p = predicate(PATH, { name = "foo" })
    expect.eq(p(with_headers("foo")), true)
    expect.eq(p(with_headers("foo", "bar")), true)
    expect.eq(p(with_headers("bar", "foo")), true)
    expect.eq(p(with_headers("bar")), false)
    expect.eq(p(with_headers()), false)
    expect.eq(p({ topic = "t" }), false)
  end)

  it("counts a header whose value is null", function()
    local p = predicate(PATH, { name = "foo" })
    expect.eq(p({ topic = "t", headers = { foo = connect.null } }), true)
    expect.eq(p({ topic = "t", headers = connect.headers.new({ { "foo", connect.null } }) }), true)
  end)

  it("finds a repeated name anywhere in the list", function()
    local p = predicate(PATH, { name = "a" })
    local h = connect.headers.new({ { "a", "1" }, { "b", "2" }, { "a", "3" } })
    expect.eq(p({ topic = "t", headers = h }), true)
    expect.eq(predicate(PATH, { name = "c" })({ topic = "t", headers = h }), false)
    expect.same(h, { { "a", "1" }, { "b", "2" }, { "a", "3" } }) -- unchanged
  end)

  it("is found by Kafka's class names", function()
    local d = connect._describe(PATH)
    expect.eq(d.kind, "predicate")
    expect.same(d.aliases, { "HasHeaderKey", "org.apache.kafka.connect.transforms.predicates.HasHeaderKey" })
  end)
end)
