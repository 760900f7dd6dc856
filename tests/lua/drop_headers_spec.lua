-- Specs for transforms/drop_headers.lua: Kafka's DropHeadersTest.
local connect = require "luaconnect"

local PATH = "transforms/drop_headers.lua"

local function record(headers)
  return { topic = "topic", partition = 0, timestamp = 0, key = "key", value = "value",
    headers = headers }
end

describe("DropHeaders", function()
  it("drops an existing header and keeps the rest of the record (dropExistingHeader)", function()
    local t = transform(PATH, { headers = "to-drop" })
    expect.same(t(record({ existing = "existing-value", ["to-drop"] = "existing-value" }))[1],
      record({ { "existing", "existing-value" } }))
  end)

  it("does nothing when the header is absent (dropNonExistingHeader)", function()
    local t = transform(PATH, { headers = "to-drop" })
    expect.same(t(record({ existing = "existing-value" }))[1].headers, { { "existing", "existing-value" } })
    expect.eq(t(record(nil))[1].headers, nil)
  end)

  it("drops every listed header, null-valued ones too", function()
    local t = transform(PATH, { headers = "a, b ,c" })
    expect.same(t(record({ a = "1", b = connect.null, c = "3", d = "4" }))[1].headers, { { "d", "4" } })
  end)

  it("drops every header of a repeated name and keeps the others in order", function()
    local t = transform(PATH, { headers = "a" })
    local h = connect.headers.new({ { "a", "1" }, { "b", "2" }, { "a", "3" }, { "c", "4" }, { "b", "5" } })
    h = t(record(h))[1].headers
    expect.same(h, { { "b", "2" }, { "c", "4" }, { "b", "5" } })
    expect.eq(h.a, nil)
    expect.eq(h.b, "5")
  end)

  it("leaves a record whose headers are all dropped with an empty list", function()
    local t = transform(PATH, { headers = "a,b" })
    local h = t(record(connect.headers.new({ { "a", "1" }, { "b", "2" }, { "a", "3" } })))[1].headers
    expect.eq(#h, 0)
    expect.truthy(connect.headers.is(h), "still headers")
  end)

  it("rejects an empty list (configRejectsEmptyList)", function()
    expect.error_matches(function() transform(PATH, { headers = "" }) end,
      "key 'headers': Empty list")
    expect.error_matches(function() transform(PATH, {}) end, "missing required key 'headers'")
  end)

  it("is found by Kafka's class names", function()
    expect.same(connect._describe(PATH).aliases,
      { "DropHeaders", "org.apache.kafka.connect.transforms.DropHeaders" })
  end)
end)
