-- Specs for scripts/_tz.lua (zones from the tz database) and its use by scripts/_lake.lua.
-- Expected offsets were checked with Python's zoneinfo; bucket instants follow Joda's
-- convertLocalToUTC(local, false), which zoneinfo does not implement.
local tz = require "_tz"
local lake = require "_lake"

local H = 3600000

-- Writes a TZif v2 file with no transition, one type and a footer rule (a "slim" file).
local function slim_file(dir, name, utoff, abbr, footer)
  local function be32(v)
    if v < 0 then v = v + 4294967296 end
    return string.char(math.floor(v / 16777216) % 256, math.floor(v / 65536) % 256,
      math.floor(v / 256) % 256, v % 256)
  end
  local header = "TZif2" .. string.rep("\0", 15) .. be32(0) .. be32(0) .. be32(0) .. be32(0)
    .. be32(1) .. be32(#abbr + 1)
  local body = be32(utoff) .. "\0\0" .. abbr .. "\0"
  local f = assert(io.open(dir .. "/" .. name, "wb"))
  f:write(header .. body .. header .. body .. "\n" .. footer .. "\n")
  f:close()
end

local function hourly(zone)
  return assert(lake.partitioner({
    ["partitioner.class"] = "HourlyPartitioner", ["directory.delim"] = "/", timezone = zone,
    ["timestamp.extractor"] = "Record", ["partition.duration.ms"] = -1 }))
end

describe("_tz zones from the tz database", function()
  it("gives America/New_York's offsets around the 2024 transitions", function()
    local ny = assert(tz.zone("America/New_York"))
    expect.eq(ny:offset_at_utc(1710053999999), -5 * H) -- 2024-03-10T06:59:59.999Z, EST
    expect.eq(ny:offset_at_utc(1710054000000), -4 * H) -- 07:00Z, EDT
    expect.eq(ny:offset_at_utc(1730613599999), -4 * H) -- 2024-11-03T05:59:59.999Z, EDT
    expect.eq(ny:offset_at_utc(1730613600000), -5 * H) -- 06:00Z, EST
    expect.eq(ny:next_transition(1710000000000), 1710054000000)
    expect.eq(ny:next_transition(1710054000000), 1730613600000)
  end)

  it("gives Europe/Berlin's offsets around the 2024 transitions", function()
    local z = assert(tz.zone("Europe/Berlin"))
    expect.eq(z:offset_at_utc(1711846799999), 1 * H) -- 2024-03-31T00:59:59.999Z
    expect.eq(z:offset_at_utc(1711846800000), 2 * H)
    expect.eq(z:offset_at_utc(1729990799999), 2 * H) -- 2024-10-27T00:59:59.999Z
    expect.eq(z:offset_at_utc(1729990800000), 1 * H)
  end)

  it("gives Australia/Lord_Howe's 30-minute daylight saving time", function()
    local z = assert(tz.zone("Australia/Lord_Howe"))
    expect.eq(z:offset_at_utc(1712415599999), 11 * H) -- 2024-04-06T14:59:59.999Z
    expect.eq(z:offset_at_utc(1712415600000), 10.5 * H)
    expect.eq(z:offset_at_utc(1728142199999), 10.5 * H) -- 2024-10-05T15:29:59.999Z
    expect.eq(z:offset_at_utc(1728142200000), 11 * H)
  end)

  it("follows the footer rule far past the last transition", function()
    local ny = assert(tz.zone("America/New_York"))
    expect.eq(ny:offset_at_utc(7273800000000), -4 * H) -- 2200-07-01T12:00Z
    expect.eq(ny:offset_at_utc(7287019200000), -5 * H) -- 2200-12-01T12:00Z
    expect.eq(ny:offset_at_utc(7263932399999), -5 * H) -- 2200-03-09T06:59:59.999Z
    expect.eq(ny:offset_at_utc(7263932400000), -4 * H)
    local lh = assert(tz.zone("Australia/Lord_Howe"))
    expect.eq(lh:offset_at_utc(10413792000000), 11 * H) -- 2300-01-01T00:00Z
    expect.eq(lh:offset_at_utc(10429430400000), 10.5 * H) -- 2300-07-01T00:00Z
  end)

  it("reads a slim file that has only the footer rule", function()
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p " .. dir .. "/Test"))
    slim_file(dir, "Test/Slim_Eastern", -18000, "EST", "EST5EDT,M3.2.0,M11.1.0")
    local saved = tz.dir
    tz.dir = dir
    local z, err = tz.zone("Test/Slim_Eastern")
    tz.dir = saved
    os.execute("rm -rf " .. dir)
    expect.eq(err, nil)
    expect.eq(z:offset_at_utc(1710053999999), -5 * H)
    expect.eq(z:offset_at_utc(1710054000000), -4 * H)
    expect.eq(z:offset_at_utc(1730613600000), -5 * H)
    expect.eq(z:next_transition(1710000000000), 1710054000000)
  end)

  it("parses POSIX TZ rules with quoted names, minutes and week 5", function()
    expect.same(tz.parse_rule("<+1030>-10:30<+11>-11,M10.1.0,M4.1.0"), {
      std = 10.5 * H, dst = 11 * H,
      start = { kind = "M", m = 10, w = 1, d = 0, secs = 7200 },
      stop = { kind = "M", m = 4, w = 1, d = 0, secs = 7200 } })
    expect.same(tz.parse_rule("CET-1CEST,M3.5.0,M10.5.0/3"), {
      std = 1 * H, dst = 2 * H,
      start = { kind = "M", m = 3, w = 5, d = 0, secs = 7200 },
      stop = { kind = "M", m = 10, w = 5, d = 0, secs = 10800 } })
    expect.same(tz.parse_rule("JST-9"), { std = 9 * H })
    expect.eq(tz.parse_rule("5EST"), nil)
  end)

  it("keeps fixed offsets and caches zones per id", function()
    expect.eq(assert(tz.zone("+05:30")):offset_at_utc(0), 5.5 * H)
    expect.eq(assert(tz.zone("Etc/GMT+5")):offset_at_utc(1710054000000), -5 * H)
    expect.eq(assert(tz.zone("UTC")):to_utc(1234), 1234)
    expect.eq(tz.zone("Europe/Berlin"), tz.zone("Europe/Berlin"))
  end)

  it("names an unknown zone and the forms accepted", function()
    local z, err = tz.zone("America/Nowhere")
    expect.eq(z, nil)
    expect.truthy(err:find("timezone 'America/Nowhere' is not recognised", 1, true), err)
    expect.truthy(err:find("UTC, a fixed offset (+05:30, UTC+05:30, Etc/GMT-5) or a tz database id", 1, true), err)
    local _, up = tz.zone("../../etc/passwd")
    expect.truthy(up:find("timezone '../../etc/passwd' is not recognised", 1, true), up)
    local _, d = tz.zone("America")
    expect.truthy(d:find("is not a TZif file", 1, true), d)
    local _, perr = lake.partitioner({ ["partitioner.class"] = "DailyPartitioner", timezone = "Mars/Base",
      ["timestamp.extractor"] = "Record" })
    expect.truthy(perr:find("timezone 'Mars/Base' is not recognised", 1, true), perr)
  end)
end)

describe("_tz local to UTC as Joda's convertLocalToUTC(local, false)", function()
  it("moves a local time in the spring gap past it", function()
    local ny = assert(tz.zone("America/New_York"))
    -- 2024-03-10 02:30 local does not exist: EST's offset applies, giving 03:30 EDT (07:30Z).
    local local_0230 = 1710037800000 -- 2024-03-10T02:30 as if UTC
    expect.eq(ny:to_utc(local_0230), 1710055800000)
    expect.eq(ny:offset_at_local(local_0230, true), nil)
    local berlin = assert(tz.zone("Europe/Berlin"))
    -- 2024-03-31 02:30 local does not exist: 03:30 CEST (01:30Z).
    expect.eq(berlin:to_utc(1711852200000), 1711848600000)
  end)

  it("takes the offset its estimate finds in the autumn overlap (EDT in New York, CET in Berlin)", function()
    local ny = assert(tz.zone("America/New_York"))
    expect.eq(ny:to_utc(1730595600000), 1730610000000) -- 2024-11-03 01:00 local -> 05:00Z (EDT)
    local berlin = assert(tz.zone("Europe/Berlin"))
    expect.eq(berlin:to_utc(1729994400000), 1729990800000) -- 2024-10-27 02:00 local -> 01:00Z (CET)
  end)
end)

describe("_lake time partitions in a zone with daylight saving time", function()
  it("skips the missing hour in March (America/New_York)", function()
    local enc = hourly("America/New_York")
    expect.eq(enc({ timestamp = 1710052200000 }), "year=2024/month=03/day=10/hour=01") -- 06:30Z
    expect.eq(enc({ timestamp = 1710054000000 }), "year=2024/month=03/day=10/hour=03") -- 07:00Z
    expect.eq(enc({ timestamp = 1710055800000 }), "year=2024/month=03/day=10/hour=03") -- 07:30Z
    local ny = tz.zone("America/New_York")
    expect.eq(lake.bucket(1710055800000, H, ny), 1710054000000)
  end)

  it("puts both repeated hours of November in one directory, as Confluent does", function()
    local enc, ny = hourly("America/New_York"), tz.zone("America/New_York")
    -- 05:30Z is 01:30 EDT, 06:30Z is 01:30 EST: two instants, one local hour, one bucket
    -- instant (01:00 EDT = 05:00Z), one path.
    expect.eq(enc({ timestamp = 1730611800000 }), "year=2024/month=11/day=03/hour=01")
    expect.eq(enc({ timestamp = 1730615400000 }), "year=2024/month=11/day=03/hour=01")
    expect.eq(lake.bucket(1730611800000, H, ny), 1730610000000)
    expect.eq(lake.bucket(1730615400000, H, ny), 1730610000000)
    expect.eq(enc({ timestamp = 1730617200000 }), "year=2024/month=11/day=03/hour=02") -- 07:00Z
  end)

  it("maps both 02:00 hours of Berlin's October overlap to the CET instant", function()
    local enc, z = hourly("Europe/Berlin"), tz.zone("Europe/Berlin")
    expect.eq(enc({ timestamp = 1729989000000 }), "year=2024/month=10/day=27/hour=02") -- 00:30Z CEST
    expect.eq(enc({ timestamp = 1729992600000 }), "year=2024/month=10/day=27/hour=02") -- 01:30Z CET
    expect.eq(lake.bucket(1729989000000, H, z), 1729990800000)
  end)

  it("names days by the local date in Lord_Howe and where midnight is in a gap (Havana)", function()
    local daily = function(zone)
      return assert(lake.partitioner({ ["partitioner.class"] = "DailyPartitioner", ["directory.delim"] = "/",
        timezone = zone, ["timestamp.extractor"] = "Record" }))
    end
    -- +10:30 until 2024-10-05T15:30Z: 13:15Z is 23:45 on the 5th, 13:45Z is 00:15 on the 6th.
    expect.eq(daily("Australia/Lord_Howe")({ timestamp = 1728135900000 }), "year=2024/month=10/day=06")
    expect.eq(daily("Australia/Lord_Howe")({ timestamp = 1728134100000 }), "year=2024/month=10/day=05")
    -- America/Havana skips 2024-03-10 00:00-01:00: the day starts at 01:00 CDT (05:00Z).
    expect.eq(daily("America/Havana")({ timestamp = 1710072000000 }), "year=2024/month=03/day=10")
    expect.eq(lake.bucket(1710072000000, 86400000, tz.zone("America/Havana")), 1710046800000)
  end)

  it("schedules rotations from the local midnight, at most a day (getNextTimeAdjustedByDay)", function()
    local ny = tz.zone("America/New_York")
    -- 2024-03-10 (23 hours) starts at 05:00Z; 12:00Z + 7h steps -> 19:00Z.
    expect.eq(lake.next_rotation(1710072000000, 7 * H, ny), 1710097200000)
    -- 23:30Z (19:30 EDT) with 10h steps -> 20h after midnight, 01:00Z on the 11th.
    expect.eq(lake.next_rotation(1710113400000, 10 * H, ny), 1710118800000)
    -- 03:00Z on the 11th (23:00 EDT on the 10th): capped at 24h after midnight, 05:00Z.
    expect.eq(lake.next_rotation(1710126000000, 10 * H, ny), 1710133200000)
    expect.eq(lake.next_rotation(1710072000000, H, assert(tz.zone("UTC"))), 1710075600000)
  end)
end)
