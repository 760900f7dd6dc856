-- Specs for a sink's text chain (lua/luaconnect.lua _text_edit, core.json_edit,
-- lua/json_canon.c lc_json_edit): for chains of InsertField$Value, ReplaceField$Value,
-- RegexRouter and the predicates with a text edit, the edited text of a schemaless JSON
-- object is the line connect.json.encode writes for the value the Lua chain gives; the
-- texts it cannot edit so it declines (nil), and the chain runs in Lua on them.
local connect = require "luaconnect"
local core = require "luaconnect.core"

local ROOT = "transforms/"
local conv = core.converter("org.apache.kafka.connect.json.JsonConverter", "false")

local function step(alias, kind, file, config, variant, predicate, negate)
  return { alias = alias, type = kind, path = ROOT .. file, config = config, variant = variant,
    predicate = predicate, negate = negate }
end

local function task_of(specs)
  return { _chain = connect._chain("connector 'spec'", specs), _text_edits = {},
    _text_topics = 0, log = connect.logger("spec") }
end

-- The Lua chain's line for text, or nil when a transform fails on it (text = "null" gives
-- "null": the chain returns a tombstone as it is).
local function lua_line(chain, text, topic, partition, offset, timestamp)
  local ok, v = conv:decode(text)
  assert(ok, v)
  local rec = { topic = topic, partition = partition, offset = offset, timestamp = timestamp,
    value = v }
  local pok, out = pcall(connect._apply_chain, chain, { rec })
  if not pok then return nil, out end
  return connect.json.encode(out[1].value), out[1].topic
end

local CHAINS = {
  all = {
    step("ins", "InsertField$Value", "insert_field.lua", { ["static.field"] = "source",
      ["static.value"] = "st\"at\\ic é\1", ["topic.field"] = "t", ["partition.field"] = "p",
      ["offset.field"] = "o", ["timestamp.field"] = "ts" }, "value"),
    step("repl", "ReplaceField$Value", "replace_field.lua",
      { exclude = "debug,ts", renames = "name:full_name,id:name,a:b,b:a" }, "value"),
    step("route", "RegexRouter", "regex_router.lua", { regex = "(.*)-raw", replacement = "$1-x" }),
    step("tag", "InsertField$Value", "insert_field.lua", { ["topic.field"] = "routed" }, "value",
      { alias = "m", path = ROOT .. "topic_name_matches.lua", config = { pattern = ".*-x" } }),
    step("untag", "InsertField$Value", "insert_field.lua", { ["static.field"] = "never",
      ["static.value"] = "x" }, "value",
      { alias = "m2", path = ROOT .. "topic_name_matches.lua", config = { pattern = ".*-x" } }, true),
    step("obj", "InsertField$Value", "insert_field.lua", { ["static.field"] = "obj",
      ["static.value"] = "1" }, "value",
      { alias = "tomb", path = ROOT .. "record_is_tombstone.lua", config = {} }, true),
  },
  include = {
    step("keep", "ReplaceField$Value", "replace_field.lua",
      { include = "a,b,name,zz,debug", exclude = "debug", renames = "b:bb,a:b" }, "value"),
    step("ins", "InsertField$Value", "insert_field.lua", { ["static.field"] = "a",
      ["static.value"] = "again", ["timestamp.field"] = "when" }, "value"),
  },
}

local TEXTS = {
  '{"id":1,"name":"user-1","email":"u@x","debug":false,"score":1.5,"n":[1,2,{"b":1,"a":2}]}',
  '{}',
  ' { "a" : 1.0 , "b" : -0 , "c" : 1e300, "d" : "\\u00e9\\n", "zz": [ ] } ',
  '{"source":"there","t":"there","p":"there","full_name":"there","name":"moved","a":1,"b":2}',
  '{"big":9007199254740993,"neg":-9223372036854775808,"small":5e-324,"f":2.50,"e":1E2}',
  '{"é":"中文","ab":{},"a":{"b":{"c":{"d":"deep"}}},"ts":1}',
  '{"debug":{"x":1}}',
}

-- Texts the edit declines: the Lua chain runs on them.
local DECLINED = {
  '{"esc\\u0061ped":1}', '{"dup":1,"dup":2}', '[1,2]', '"s"', '12', 'null', '{"a":1} x',
  '{"n":1e999}',
}

describe("a sink's text chain", function()
  it("edits an object value into the line the Lua chain gives", function()
    for name, specs in pairs(CHAINS) do
      local task = task_of(specs)
      for _, topic in ipairs({ "orders-raw", "other" }) do
        local e = connect._text_edit(task, topic)
        expect.truthy(e, name)
        for i, text in ipairs(TEXTS) do
          for _, ts in ipairs({ 1700000000123, -1 }) do
            local want, want_topic = lua_line(task._chain, text, topic, 7, 123456789,
              ts >= 0 and ts or nil)
            expect.eq(e:apply(text, 7, 123456789, ts), want, string.format("%s %s text %d", name, topic, i))
            expect.eq(e:topic(), want_topic)
          end
        end
      end
    end
  end)

  it("declines what it does not edit as the decoder reads it", function()
    local e = connect._text_edit(task_of(CHAINS.all), "orders-raw")
    for _, text in ipairs(DECLINED) do expect.eq(e:apply(text, 0, 0), nil, text) end
  end)

  it("is made from the SMTs' edits and predicates' edit_tests only", function()
    local key = task_of({ step("k", "InsertField$Key", "insert_field.lua",
      { ["static.field"] = "s", ["static.value"] = "v" }, "key") })
    expect.eq(connect._text_edit(key, "t"), false) -- the $Key variant has no text edit
    local plan = task_of({ step("h", "HoistField$Value", "hoist_field.lua", { field = "f" }, "value") })
    local def = { lazy_values = true }
    expect.eq(connect._text_chain_of(def, plan._chain), false) -- HoistField has no edit
    expect.eq(connect._text_chain_of(def, task_of(CHAINS.all)._chain), true)
    local headers = task_of({ step("i", "InsertField$Value", "insert_field.lua",
      { ["static.field"] = "s", ["static.value"] = "v" }, "value",
      { alias = "h", path = ROOT .. "has_header_key.lua", config = { name = "x" } }) })
    expect.eq(connect._text_chain_of(def, headers._chain), false) -- HasHeaderKey has no edit_test
    expect.eq(connect._text_chain_of({}, task_of(CHAINS.all)._chain), false) -- not lazy_values
  end)

  it("leaves a topic to the Lua chain when a script's edit fails", function()
    local base = os.tmpname()
    local path = base .. ".lua"
    local f = assert(io.open(path, "w"))
    f:write([[
local connect = require "luaconnect"
return connect.transform {
  apply = function(r) r.value.seen = true return r end,
  edit = function(cfg, e) error("no edit for " .. e.topic) end,
}
]])
    f:close()
    local task = task_of({ { alias = "bad", type = "bad", path = path, config = {} } })
    expect.eq(connect._text_chain_of({ lazy_values = true }, task._chain), true)
    expect.eq(connect._text_edit(task, "t"), false)
    expect.eq(task._text_edits.t, false) -- kept: not tried again each batch
    expect.eq(lua_line(task._chain, '{"a":1}', "t", 0, 0), '{"a":1,"seen":true}')
    os.remove(path)
    os.remove(base)
  end)

  it("keeps one edit a topic, made once", function()
    local task = task_of(CHAINS.all)
    local a = connect._text_edit(task, "orders-raw")
    expect.eq(connect._text_edit(task, "orders-raw"), a)
    expect.eq(a:topic(), "orders-x")
    expect.eq(connect._text_edit(task, "b"):topic(), "b")
    expect.eq(task._text_topics, 2)
  end)

  it("refuses ops it does not know, with the op's place", function()
    expect.error_contains(function()
      core.json_edit({ { "set_string", "a", "b" }, { "explode", "x" } }, "t")
    end, "json_edit: op 2: unknown op 'explode'")
  end)
end)
