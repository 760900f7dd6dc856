-- Specs for transforms/insert_header.lua: Kafka's InsertHeaderTest.
local connect = require "luaconnect"

local PATH = "transforms/insert_header.lua"

local function record(headers)
  return { topic = "topic", partition = 0, timestamp = 0, key = "key", value = "value",
    headers = headers }
end

describe("InsertHeader", function()
  it("adds the header next to others (insertionWithExistingOtherHeader)", function()
    local t = transform(PATH, { header = "inserted", ["value.literal"] = "inserted-value" })
    local out = t(record({ existing = "existing-value" }))
    expect.same(out[1], { topic = "topic", partition = 0, timestamp = 0, key = "key",
      value = "value", headers = { { "existing", "existing-value" }, { "inserted", "inserted-value" } } })
  end)

  it("adds a second header of the same name, both kept in order (insertionWithExistingSameHeader)", function()
    local t = transform(PATH, { header = "existing", ["value.literal"] = "inserted-value" })
    local h = t(record({ existing = "preexisting-value" }))[1].headers
    expect.same(h, { { "existing", "preexisting-value" }, { "existing", "inserted-value" } })
    expect.eq(h.existing, "inserted-value") -- the last one, as Kafka's lastWithName
    expect.same(connect.headers.all(h, "existing"), { "preexisting-value", "inserted-value" })
  end)

  it("keeps repeated headers of the record and their order", function()
    local t = transform(PATH, { header = "a", ["value.literal"] = "4" })
    local rec = record(connect.headers.new({ { "a", "1" }, { "b", "2" }, { "a", "3" } }))
    expect.same(t(rec)[1].headers, { { "a", "1" }, { "b", "2" }, { "a", "3" }, { "a", "4" } })
  end)

  it("writes a number literal as its text (insertionWithByteHeader)", function()
    local t = transform(PATH, { header = "inserted", ["value.literal"] = "1" })
    expect.same(t(record({ existing = "existing-value" }))[1].headers,
      { { "existing", "existing-value" }, { "inserted", "1" } })
  end)

  it("creates the headers of a record that has none, and allows an empty value", function()
    local t = transform(PATH, { header = "h", ["value.literal"] = "" })
    expect.same(t(record(nil))[1].headers, { { "h", "" } })
  end)

  it("requires header and value.literal (configRejectsNull...)", function()
    expect.error_matches(function() transform(PATH, { ["value.literal"] = "1" }) end,
      "missing required key 'header'")
    expect.error_matches(function() transform(PATH, { header = "inserted" }) end,
      "missing required key 'value.literal'")
  end)

  it("is found by Kafka's class names", function()
    expect.same(connect._describe(PATH).aliases,
      { "InsertHeader", "org.apache.kafka.connect.transforms.InsertHeader" })
  end)
end)
