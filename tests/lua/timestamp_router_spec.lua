-- Specs for transforms/timestamp_router.lua: Kafka's TimestampRouterTest, formats, the
-- per-unit cache across day and hour boundaries, and errors.
local connect = require "luaconnect"

local PATH = "transforms/timestamp_router.lua"
local DAY, HOUR = 86400000, 3600000

local function router(cfg)
  local t = transform(PATH, cfg or {})
  return function(topic, ts)
    return t({ topic = topic, partition = 0, offset = 1, timestamp = ts })[1].topic
  end
end

describe("TimestampRouter", function()
  it("routes with the default configuration (TimestampRouterTest)", function()
    expect.eq(router()("test", 1483425001864), "test-20170103")
  end)

  it("formats SimpleDateFormat patterns in UTC", function()
    local r = router({ ["timestamp.format"] = "yyyy-MM-dd'T'HH" })
    expect.eq(r("t", 1483425001864), "t-2017-01-03T06")
    r = router({ ["timestamp.format"] = "yyyy.MM.dd HH:mm:ss.SSS", ["topic.format"] = "${timestamp}" })
    expect.eq(r("t", 1483425001864), "2017.01.03 06:30:01.864")
    r = router({ ["timestamp.format"] = "yy_MMM_d", ["topic.format"] = "${topic}_${timestamp}" })
    expect.eq(r("t", 1483425001864), "t_17_Jan_3")
    expect.eq(router()("t", 0), "t-19700101")
    expect.eq(router()("t", -1), "t-19691231")
  end)

  it("replaces every placeholder, ${topic} first", function()
    local r = router({ ["topic.format"] = "${topic}/${timestamp}/${topic}/${timestamp}" })
    expect.eq(r("a", 0), "a/19700101/a/19700101")
    expect.eq(router({ ["topic.format"] = "fixed" })("a", 0), "fixed")
    -- Kafka replaces ${timestamp} after ${topic}, so one inside a topic name is replaced too.
    expect.eq(router()("x${timestamp}", 0), "x19700101-19700101")
  end)

  it("follows the timestamp across day and hour boundaries (nothing stale from caches)", function()
    local r = router()
    expect.eq(r("t", DAY - 1), "t-19700101")
    expect.eq(r("t", DAY), "t-19700102")
    expect.eq(r("u", DAY), "u-19700102")
    expect.eq(r("t", DAY - 1), "t-19700101")
    expect.eq(r("u", 2 * DAY), "u-19700103")
    local h = router({ ["timestamp.format"] = "yyyyMMddHH" })
    expect.eq(h("t", HOUR - 1), "t-1970010100")
    expect.eq(h("t", HOUR), "t-1970010101")
    local ms = router({ ["timestamp.format"] = "SSS" })
    expect.eq(ms("t", 1), "t-001")
    expect.eq(ms("t", 2), "t-002")
  end)

  it("accepts a timestamp given as int64 cdata", function()
    expect.eq(router()("t", 1483425001864LL), "t-20170103")
  end)

  it("leaves the rest of the record alone", function()
    local t = transform(PATH, {})
    local out = t({ topic = "t", partition = 2, offset = 7, timestamp = 0, key = "k",
      value = { a = 1 }, headers = { h = "v" } })
    expect.same(out[1], { topic = "t-19700101", partition = 2, offset = 7, timestamp = 0,
      key = "k", value = { a = 1 }, headers = { h = "v" } })
  end)

  it("fails a record without a timestamp with Kafka's message", function()
    local t = transform(PATH, {})
    expect.error_matches(function() t({ topic = "t", partition = 0, offset = 4 }) end,
      "Timestamp missing on record: topic='t', partition=0, offset=4")
  end)

  it("refuses an invalid timestamp.format at config time, naming the key", function()
    expect.error_matches(function() transform(PATH, { ["timestamp.format"] = "yyyyq" }) end,
      "transform 't': key 'timestamp.format': invalid SimpleDateFormat pattern 'yyyyq': "
        .. "Illegal pattern character 'q'")
    expect.error_matches(function() transform(PATH, { ["timestamp.format"] = "yyyy'MM" }) end,
      "key 'timestamp.format': .*Unterminated quote")
  end)

  it("is found by Kafka's class names", function()
    expect.same(connect._describe(PATH).aliases,
      { "TimestampRouter", "org.apache.kafka.connect.transforms.TimestampRouter" })
  end)
end)
