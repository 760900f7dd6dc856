-- Specs for lua/_headers.lua (connect.headers): the ordered header list, its map-style
-- access, and what a record passing through unchanged keeps. Names and semantics follow
-- Kafka's org.apache.kafka.connect.header.Headers (add, lastWithName, allWithName, remove).
local connect = require "luaconnect"
local H = connect.headers
local null = connect.null

local function aba()
  return H.new({ { "a", "1" }, { "b", "2" }, { "a", "3" } })
end

describe("connect.headers", function()
  it("keeps every header, repeated names included, in order", function()
    local h = aba()
    expect.eq(#h, 3)
    expect.same(h, { { "a", "1" }, { "b", "2" }, { "a", "3" } })
    local seen = {}
    for name, value in H.each(h) do seen[#seen + 1] = name .. "=" .. value end
    expect.eq(table.concat(seen, ","), "a=1,b=2,a=3")
    seen = {}
    for i, e in ipairs(h) do seen[i] = e[1] .. "=" .. e[2] end
    expect.eq(table.concat(seen, ","), "a=1,b=2,a=3")
  end)

  it("reads a name as its last value (lastWithName), nil when absent", function()
    local h = aba()
    expect.eq(h.a, "3")
    expect.eq(h.b, "2")
    expect.eq(h.c, nil)
    expect.eq(h["1"], nil) -- a name is never a position
    expect.eq(H.last(h, "a"), "3")
    expect.same(H.all(h, "a"), { "1", "3" })
    expect.same(H.all(h, "c"), {})
    expect.eq(H.has(h, "b"), true)
    expect.eq(H.has(h, "c"), false)
  end)

  it("assignment replaces every header of the name by one, where the first was", function()
    local h = aba()
    h.a = "x"
    expect.same(h, { { "a", "x" }, { "b", "2" } })
    h.c = "new"
    expect.same(h, { { "a", "x" }, { "b", "2" }, { "c", "new" } })
    H.set(h, "b", "y")
    expect.same(h, { { "a", "x" }, { "b", "y" }, { "c", "new" } })
  end)

  it("assigning nil removes every header of the name, the others keep their order", function()
    local h = H.new({ { "a", "1" }, { "b", "2" }, { "a", "3" }, { "c", "4" }, { "a", "5" } })
    h.a = nil
    expect.same(h, { { "b", "2" }, { "c", "4" } })
    expect.eq(H.remove(h, "b"), 1)
    expect.eq(H.remove(h, "zzz"), 0)
    expect.same(h, { { "c", "4" } })
  end)

  it("add appends even when the name is present (Kafka's Headers.add)", function()
    local h = aba()
    H.add(h, "b", "4")
    H.add(h, "n") -- no value: a null header
    expect.same(h, { { "a", "1" }, { "b", "2" }, { "a", "3" }, { "b", "4" }, { "n", null } })
    expect.eq(h.n, null)
    expect.eq(H.has(h, "n"), true)
    expect.error_matches(function() H.add(h, 1, "x") end, "header names must be strings, got a number")
  end)

  it("keeps null headers as connect.null", function()
    local h = H.new({ { "a", null }, { "a", "2" } })
    expect.eq(h.a, "2")
    expect.same(H.all(h, "a"), { null, "2" })
  end)

  it("builds from a map in name order, and from a list in its order", function()
    expect.same(H.new({ z = "1", a = "2", m = "3" }), { { "a", "2" }, { "m", "3" }, { "z", "1" } })
    expect.same(H.new({ { "z", "1" }, { "a", "2" } }), { { "z", "1" }, { "a", "2" } })
    expect.same(H.new(), {})
    expect.error_matches(function() H.new({ "a" }) end,
      "entry 1 must be a {name, value} pair with a string name, got a string")
    expect.error_matches(function() H.new({ { 1, "x" } }) end, "entry 1 .* got a number name")
  end)

  it("copies entries, so two records never share one", function()
    local list = { { "a", "1" } }
    local h = H.new(list)
    h.a = "2"
    expect.eq(list[1][2], "1")
    local c = H.copy(h)
    c.a = "3"
    expect.eq(h.a, "2")
    expect.eq(H.copy(nil), nil)
  end)

  it("makes a source script's plain map headers in place (of)", function()
    local rec = { headers = { trace = "t1", span = "s1" } }
    local h = H.of(rec)
    expect.truthy(rawequal(h, rec.headers), "the same table")
    expect.truthy(H.is(h), "now headers")
    expect.same(h, { { "span", "s1" }, { "trace", "t1" } })
    expect.eq(rawget(h, "trace"), nil)
    expect.eq(h.trace, "t1")
    local none = {}
    expect.same(H.of(none), {})
    expect.truthy(H.is(none.headers), "created")
    expect.error_matches(function() H.of({ headers = "x" }) end, "record headers must be a table, got a string")
  end)

  it("takes nil (a record without headers) where it reads", function()
    expect.eq(H.last(nil, "a"), nil)
    expect.same(H.all(nil, "a"), {})
    expect.eq(H.has(nil, "a"), false)
    expect.eq(H.remove(nil, "a"), 0)
    expect.eq(H.to_list(nil), nil)
    for _ in H.each(nil) do error("no headers to see") end
  end)

  it("gives plain JSON data: a list of [name, value] pairs", function()
    expect.eq(connect.json.encode(H.to_list(aba())), '[["a","1"],["b","2"],["a","3"]]')
    expect.eq(connect.json.encode(H.to_list(H.new({ { "n", null } }))), '[["n",null]]')
    expect.eq(H.to_list(H.new()), nil)
  end)

  it("h[#h + 1] = {name, value} and table.insert append as on a list", function()
    local h = aba()
    h[#h + 1] = { "c", "4" }
    table.insert(h, { "a", "5" })
    expect.same(h, { { "a", "1" }, { "b", "2" }, { "a", "3" }, { "c", "4" }, { "a", "5" } })
    expect.eq(h.a, "5")
  end)
end)

describe("headers through a transform chain", function()
  it("a record no transform touches keeps every header, in order", function()
    local chain = connect._chain("connector 'spec'", {
      { alias = "r", path = "transforms/regex_router.lua",
        config = { regex = "(.*)", replacement = "$1-out" } },
    })
    local rec = { topic = "t", value = "v", headers = aba() }
    local out = connect._apply_chain(chain, { rec })
    expect.eq(out[1].topic, "t-out")
    expect.same(out[1].headers, { { "a", "1" }, { "b", "2" }, { "a", "3" } })
  end)

  it("InsertHeader, DropHeaders and HasHeaderKey together on repeated names", function()
    local chain = connect._chain("connector 'spec'", {
      { alias = "ins", path = "transforms/insert_header.lua",
        config = { header = "a", ["value.literal"] = "4" } },
      { alias = "drop", path = "transforms/drop_headers.lua", config = { headers = "b" },
        predicate = { alias = "hasb", path = "transforms/has_header_key.lua", config = { name = "b" } } },
    })
    local out = connect._apply_chain(chain, { { topic = "t", value = "v", headers = aba() } })
    expect.same(out[1].headers, { { "a", "1" }, { "a", "3" }, { "a", "4" } })
  end)
end)
