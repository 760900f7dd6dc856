-- Specs for transforms/_datetime.lua: SimpleDateFormat patterns in UTC, as Java formats
-- and parses them (expected texts are what java.text.SimpleDateFormat gives).
local datetime = require "_datetime"

local DAY = 86400000
local JUNE_2024 = 1717200000000 -- 2024-06-01T00:00Z, "now" for two-digit years

local function fmt(pattern, ms)
  return assert(datetime.compile(pattern, JUNE_2024)):format(ms)
end

local function parse(pattern, text)
  return assert(datetime.compile(pattern, JUNE_2024)):parse(text)
end

describe("compile", function()
  it("rejects what SimpleDateFormat rejects, with Java's message", function()
    local cases = {
      ["bad-format"] = "Illegal pattern character 'b'",
      ["yyyy-MM-dd'T"] = "Unterminated quote",
      ["HH:mm XXXX"] = "invalid ISO 8601 format: length=4",
      ["yyyy-MM-ddTHH"] = "Illegal pattern character 'T'",
    }
    for pattern, want in pairs(cases) do
      local f, err = datetime.compile(pattern)
      expect.eq(f, nil, pattern)
      expect.eq(err, want, pattern)
    end
  end)

  it("refuses week-date letters it does not implement instead of misformatting", function()
    local f, err = datetime.compile("YYYY-ww")
    expect.eq(f, nil)
    expect.truthy(err:find("'Y'"), err)
  end)

  it("accepts literals: quoted runs, '' as a quote, punctuation and non-ASCII text", function()
    expect.eq(fmt("hh 'o''clock' a", 13 * 3600000), "01 o'clock PM")
    expect.eq(fmt("''yyyy''", 0), "'1970'")
    expect.eq(fmt("yyyy年MM月dd日", 0), "1970年01月01日")
  end)
end)

describe("format", function()
  it("formats Kafka's TimestampConverter test instant", function()
    expect.eq(fmt("yyyy MM dd HH mm ss SSS z", DAY + 1234), "1970 01 02 00 00 01 234 UTC")
  end)

  it("spells months, weekdays, eras, AM/PM and zones as the US locale does", function()
    local ms = 994248536000 -- 2001-07-04T12:08:56Z, a Wednesday
    expect.eq(fmt("EEE, d MMM yyyy HH:mm:ss Z", ms), "Wed, 4 Jul 2001 12:08:56 +0000")
    expect.eq(fmt("EEEE, MMMM dd, yyyy G", ms), "Wednesday, July 04, 2001 AD")
    expect.eq(fmt("yyyy-MM-dd'T'HH:mm:ss.SSSXXX", ms), "2001-07-04T12:08:56.000Z")
    expect.eq(fmt("h:mm a, zzzz", ms), "12:08 PM, Coordinated Universal Time")
    expect.eq(fmt("K:mm a", ms), "0:08 PM")
    expect.eq(fmt("k:mm", 8 * 60000), "24:08")
    expect.eq(fmt("hh:mm a", 30 * 60000), "12:30 AM")
    expect.eq(fmt("D F u", ms), "185 1 3")
  end)

  it("pads numbers to the letter count and cuts yy to two digits", function()
    expect.eq(fmt("y yy yyy yyyyy M MM S SSSS", 5), "1970 70 1970 01970 1 01 5 0005")
  end)

  it("uses the Julian calendar before 1582-10-15 as java.util.GregorianCalendar does", function()
    local cutover = -12219292800000
    expect.eq(fmt("yyyy-MM-dd", cutover), "1582-10-15")
    expect.eq(fmt("yyyy-MM-dd", cutover - DAY), "1582-10-04")
    expect.eq(fmt("yyyy-MM-dd G", -62135596800000), "0001-01-03 AD") -- 0001-01-01 proleptic
    expect.eq(fmt("yyyy G", -62135596800000 - 3 * DAY), "0001 BC")
  end)

  it("formats instants before 1970 and sub-second parts", function()
    expect.eq(fmt("yyyy-MM-dd HH:mm:ss.SSS", -1), "1969-12-31 23:59:59.999")
  end)
end)

describe("parse", function()
  it("reads what it formats", function()
    local p = "yyyy MM dd HH mm ss SSS z"
    expect.eq(parse(p, "1970 01 02 00 00 01 234 UTC"), DAY + 1234)
    for _, ms in ipairs({ 0, 994248536123, -12219292800000 - DAY, 253402300799999 }) do
      local f = datetime.compile("yyyy-MM-dd'T'HH:mm:ss.SSSXXX G")
      expect.eq(f:parse(f:format(ms)), ms)
    end
  end)

  it("fails with DateFormat's message when a field or literal does not match", function()
    local f = datetime.compile("yyyy-MM-dd")
    local ms, err = f:parse("2024/01/01")
    expect.eq(ms, nil)
    expect.eq(err, 'Unparseable date: "2024/01/01"')
    expect.eq(f:parse("2024-01-"), nil)
    expect.eq(f:parse(""), nil)
  end)

  it("ignores text after the last field and skips blanks before numbers", function()
    expect.eq(parse("yyyy-MM-dd", "2024-01-02 and more"), 1704153600000)
    expect.eq(parse("yyyy-MM-dd", " 2024-01- 2"), 1704153600000)
  end)

  it("is lenient: fields out of range roll over", function()
    expect.eq(parse("yyyy-MM-dd", "2024-13-01"), 1735689600000)
    expect.eq(parse("yyyy-MM-dd", "2024-02-30"), 1709251200000)
    expect.eq(parse("HH:mm", "25:00"), DAY + 3600000)
  end)

  it("takes abutting numeric fields at their width", function()
    expect.eq(parse("yyyyMMddHHmmss", "20010704120856"), 994248536000)
    expect.eq(parse("yyyyMMdd", "2001074"), 994204800000) -- the last field reads on
    expect.eq(parse("yyyyMMdd", "200107"), nil)
  end)

  it("reads month and weekday names in either length, any case", function()
    expect.eq(parse("EEE, d MMM yyyy HH:mm:ss Z", "Wed, 4 Jul 2001 12:08:56 +0000"), 994248536000)
    expect.eq(parse("MMM d yyyy", "JULY 4 2001"), 994204800000)
    expect.eq(parse("MMMM d yyyy", "jul 4 2001"), 994204800000)
  end)

  it("lets the most recently parsed field win when day and weekday disagree", function()
    -- 2024-01-02 is a Tuesday: the day of month comes last and wins
    expect.eq(parse("EEE, dd MMM yyyy", "Mon, 02 Jan 2024"), 1704153600000)
    -- a weekday alone picks that weekday in the first week of the month
    expect.eq(parse("EEE MMM yyyy", "Fri Mar 2024"), parse("yyyy-MM-dd", "2024-03-01"))
  end)

  it("reads 12-hour clocks with AM/PM", function()
    expect.eq(parse("hh:mm a", "12:30 AM"), 30 * 60000)
    expect.eq(parse("hh:mm a", "12:30 PM"), 12 * 3600000 + 30 * 60000)
    expect.eq(parse("hh:mm a", "01:30 pm"), 13 * 3600000 + 30 * 60000)
  end)

  it("applies parsed zones: RFC 822, GMT offsets, ISO 8601 and names", function()
    local at_0830 = 1704097800000 -- 2024-01-01T08:30Z
    expect.eq(parse("yyyy-MM-dd HH:mm Z", "2024-01-01 10:00 +0130"), at_0830)
    expect.eq(parse("yyyy-MM-dd HH:mm z", "2024-01-01 03:30 GMT-05:00"), at_0830)
    expect.eq(parse("yyyy-MM-dd HH:mm z", "2024-01-01 08:30 GMT"), at_0830)
    expect.eq(parse("yyyy-MM-dd HH:mm z", "2024-01-01 00:30 PST"), at_0830)
    expect.eq(parse("yyyy-MM-dd HH:mm z", "2024-01-01 01:30 PDT"), at_0830)
    expect.eq(parse("yyyy-MM-dd'T'HH:mmXXX", "2024-01-01T09:30+01:00"), at_0830)
    expect.eq(parse("yyyy-MM-dd'T'HH:mmXX", "2024-01-01T09:30+0100"), at_0830)
    expect.eq(parse("yyyy-MM-dd'T'HH:mmX", "2024-01-01T09:30+01"), at_0830)
    expect.eq(parse("yyyy-MM-dd'T'HH:mmX", "2024-01-01T08:30Z"), at_0830)
    expect.eq(parse("yyyy-MM-dd'T'HH:mmXXX", "2024-01-01T09:30+0100"), nil) -- XXX needs ':'
    expect.eq(parse("yyyy-MM-dd HH:mm z", "2024-01-01 08:30 Mars/Olympus"), nil)
  end)

  it("places two-digit years in the century starting 80 years before creation", function()
    -- created 2024-06-01: yy covers 1944-06-01 .. 2044-05-31
    expect.eq(parse("yy-MM-dd", "45-03-04"), -783561600000)
    expect.eq(parse("yy-MM-dd", "43-03-04"), 2309040000000)
    expect.eq(parse("yy-MM-dd", "44-07-01"), -804816000000)
    expect.eq(parse("yy-MM-dd", "44-01-01"), 2335219200000)
    -- three digits or a four-digit year are taken literally
    expect.eq(parse("yy-MM-dd", "2044-01-01"), 2335219200000)
  end)

  it("reads eras and Julian dates", function()
    expect.eq(parse("yyyy-MM-dd G", "0001-01-03 AD"), -62135596800000)
    expect.eq(parse("yyyy-MM-dd", "1582-10-04"), -12219292800000 - DAY)
  end)
end)
