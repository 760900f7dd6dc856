--- http_source: polls an HTTP API and emits what it returns (Confluent's HTTP Source keys
-- where they apply).
--
-- Pages are followed with a cursor (http.offset.mode=CURSOR_PAGINATION: the next cursor at
-- http.next.page.json.pointer, put into url's ${offset}) or with Link headers
-- (LINK_HEADER: rel="next"). Where it is, is the source offset {"cursor": ..., "skip": n} or
-- {"url": ..., "skip": n} of the source partition {"url": url}: the page, and how many of its
-- items were emitted. The last record of a page that has a next one carries the next page's
-- (skip 0). A restart, or asking the last page again, fetches the page and skips the items
-- already emitted, so a page that grows at its end gives only its new items and a page that
-- does not change gives nothing. At the last page it asks again every request.interval.ms,
-- with If-None-Match when the server gave an ETag (a 304 emits nothing). A failing server (a status
-- in retry.on.status.codes, or a transport error) is asked again after retry.backoff.ms,
-- doubling, max.retries times, then the task fails; poll() never sleeps: it returns nothing
-- until the next request is due. Requests go through libcurl (scripts/_curl.lua).
local connect = require "luaconnect"
local curl = require "_curl"

local format, concat, type, tostring, ipairs = string.format, table.concat, type, tostring, ipairs
local decode, encode, null = connect.json.decode, connect.json.encode, connect.null

local parse_codes = curl.status_codes

--- The value at a JSON pointer (RFC 6901, "" is the whole document), or nil.
local function at_pointer(doc, pointer)
  if pointer == nil or pointer == "" then return doc end
  local v = doc
  for part in pointer:gmatch("/([^/]*)") do
    if type(v) ~= "table" then return nil end
    part = part:gsub("~1", "/"):gsub("~0", "~")
    local i = tonumber(part)
    if i and v[part] == nil then v = v[i + 1] else v = v[part] end -- arrays count from 0
  end
  return v
end

local function check_pointer(v)
  if v ~= "" and v:sub(1, 1) ~= "/" then return "must be empty or start with '/' (a JSON pointer)" end
end

local function urlencode(s)
  return (tostring(s):gsub("[^%w%-%._~]", function(c) return format("%%%02X", c:byte()) end))
end

-- The rel="next" target of a Link header (made absolute against base), or nil.
local function link_next(link, base)
  if not link then return nil end
  for target, params in link:gmatch("<([^>]*)>([^,]*)") do
    for rel in params:gmatch('rel%s*=%s*"?([^";]+)"?') do
      for word in rel:gmatch("%S+") do
        if word == "next" then
          if target:match("^https?://") then return target end
          local origin = base:match("^(https?://[^/]+)")
          if target:sub(1, 1) == "/" then return origin .. target end
          return (base:gsub("[^/]*$", "")) .. target
        end
      end
    end
  end
  return nil
end

-- The items of a response body, and the next cursor (cursor mode).
local function items_of(task, body)
  local cfg = task.config
  if cfg["response.format"] == "lines" then
    local out = {}
    for line in body:gmatch("[^\r\n]+") do
      local v = decode(line)
      out[#out + 1] = type(v) == "table" and v or line
    end
    return out, nil
  end
  local doc, err = decode(body)
  if doc == nil then error(format("http_source: the response is not JSON: %s", tostring(err)), 0) end
  local items = at_pointer(doc, cfg["http.response.data.json.pointer"])
  if items == nil or items == null then
    items = {}
  elseif type(items) ~= "table" or (items[1] == nil and next(items) ~= nil) then
    items = { items } -- one object: one record
  end
  local nxt = at_pointer(doc, cfg["http.next.page.json.pointer"])
  if nxt == null or nxt == "" then nxt = nil end
  return items, nxt
end

local function current_url(task)
  local S = task.http
  if S.link then return S.link end
  return (task.config.url:gsub("%${offset}", function() return urlencode(S.cursor or "") end))
end

local function here(task, skip)
  local S = task.http
  return { cursor = S.cursor, url = S.link, skip = skip }
end

local function poll(task)
  local S, cfg = task.http, task.config
  local now = connect.now_ms()
  if now < S.next_at then return nil end
  local url = current_url(task)
  local headers = S.headers
  if S.etag and S.etag_url == url then
    headers = { unpack(S.headers) }
    headers[#headers + 1] = "If-None-Match: " .. S.etag
  end
  local res, err = S.client:request { method = cfg["http.request.method"], url = url, headers = headers }
  if not res or S.retry_on(res.status) then
    S.failures = S.failures + 1
    local why = res and format("HTTP %d", res.status) or err
    if S.failures > cfg["max.retries"] then
      error(format("http_source: GET %s failed after %d retries: %s", url, cfg["max.retries"], why), 0)
    end
    local delay = math.min(cfg["retry.backoff.ms"] * 2 ^ (S.failures - 1), math.max(60000, cfg["retry.backoff.ms"]))
    task.log.warn("GET %s failed (%s); retry %d of %d in %d ms", url, why, S.failures, cfg["max.retries"], delay)
    S.next_at = now + delay
    return nil
  end
  S.failures = 0
  if res.status == 304 then
    S.next_at = now + cfg["request.interval.ms"]
    return nil
  end
  if res.status < 200 or res.status >= 300 then
    error(format("http_source: GET %s: HTTP %d: %s", url, res.status, (res.body or ""):sub(1, 200)), 0)
  end
  S.etag_url, S.etag = url, res.headers.etag -- the page asked again is the last one
  local items, nxt = items_of(task, res.body)
  local skip = S.skip -- the items of this page emitted before
  local page_cursor, page_url = S.cursor, S.link
  local moved = false
  if cfg["http.offset.mode"] == "LINK_HEADER" then
    local target = link_next(res.headers.link, url)
    if target then S.link, moved = target, true else S.link = url end
  elseif nxt ~= nil and tostring(nxt) ~= S.cursor then
    S.cursor, moved = tostring(nxt), true
  end
  -- at the last page: ask again later; otherwise the next page now
  S.next_at = moved and now or now + cfg["request.interval.ms"]
  S.skip = moved and 0 or math.max(skip, #items)
  local records, topic = {}, cfg["topic.name.pattern"]
  for i = skip + 1, #items do
    local off = { cursor = page_cursor, url = page_url, skip = i }
    if i == #items and moved then off = here(task, 0) end
    records[#records + 1] = { topic = topic, value = items[i], source_partition = S.partition,
      source_offset = off }
  end
  return records
end

return connect.source {
  version = "1.0.0",
  doc = "Polls an HTTP API (JSON or lines), following a cursor or Link headers",
  aliases = { "HttpSource", "HttpSourceConnector", "io.confluent.connect.http.HttpSourceConnector" },
  config = {
    url = { type = "string", required = true,
      doc = "The URL to poll; ${offset} is replaced by the cursor (CURSOR_PAGINATION)",
      validate = function(v) if not v:match("^https?://") then return "must be an http:// or https:// URL" end end },
    ["topic.name.pattern"] = { type = "string", required = true, doc = "The topic to write to" },
    ["http.request.method"] = { type = "string", default = "GET", values = { "GET", "POST" },
      doc = "The request method" },
    ["http.request.headers"] = { type = "string", default = "",
      doc = "Headers sent with every request: Name:value pairs separated by http.request.headers.separator" },
    ["http.request.headers.separator"] = { type = "string", default = "|", doc = "Separates the headers" },
    ["http.offset.mode"] = { type = "string", default = "CURSOR_PAGINATION",
      values = { "CURSOR_PAGINATION", "LINK_HEADER" },
      doc = "How the next page is found: a cursor in the response, or the Link header's rel=next" },
    ["http.initial.offset"] = { type = "string", default = "", doc = "The first cursor" },
    ["http.response.data.json.pointer"] = { type = "string", default = "", validate = check_pointer,
      doc = "Where the records are in a JSON response (an array, or one object); empty: the whole response" },
    ["http.next.page.json.pointer"] = { type = "string", default = "", validate = check_pointer,
      doc = "Where the next cursor is in a JSON response (CURSOR_PAGINATION)" },
    ["response.format"] = { type = "string", default = "json", values = { "json", "lines" },
      doc = "json: one JSON document; lines: one record per line (JSON objects or text)" },
    ["request.interval.ms"] = { type = "int", default = 15000,
      doc = "Wait before asking the last page again",
      validate = function(v) if v < 0 then return "must be 0 or more" end end },
    ["max.retries"] = { type = "int", default = 10, doc = "Retries of a failing request, then the task fails",
      validate = function(v) if v < 0 then return "must be 0 or more" end end },
    ["retry.backoff.ms"] = { type = "int", default = 3000,
      doc = "Wait before the first retry; it doubles each retry (at most 60000 ms)",
      validate = function(v) if v < 0 then return "must be 0 or more" end end },
    ["retry.on.status.codes"] = { type = "string", default = "429,500-", doc = "Statuses retried",
      validate = function(v) local _, err = parse_codes(v); return err end },
    ["auth.type"] = { type = "string", default = "NONE", values = { "NONE", "BASIC" },
      doc = "NONE or BASIC" },
    ["connection.user"] = { type = "string", doc = "The user for auth.type=BASIC" },
    ["connection.password"] = { type = "password", doc = "The password for auth.type=BASIC" },
    ["http.connect.timeout.ms"] = { type = "int", default = 30000, doc = "Connect timeout" },
    ["http.request.timeout.ms"] = { type = "int", default = 30000, doc = "Whole-request timeout" },
  },

  -- One URL, one reader.
  task_configs = function(cfg) return { cfg } end,

  ---@param task luaconnect.Task
  open = function(task)
    local cfg = task.config
    local headers = {}
    local sep = cfg["http.request.headers.separator"]
    for item in (cfg["http.request.headers"] .. sep):gmatch("(.-)" .. sep:gsub("%p", "%%%0")) do
      local name, value = item:match("^%s*([^:]-)%s*:%s*(.-)%s*$")
      if name and name ~= "" then
        headers[#headers + 1] = name .. ": " .. value
      elseif item:match("%S") then
        error(format("http_source: key 'http.request.headers': '%s' is not Name:value", item), 0)
      end
    end
    local basic = cfg["auth.type"] == "BASIC"
    if basic and not cfg["connection.user"] then
      error("http_source: auth.type=BASIC needs connection.user", 0)
    end
    local partition = { url = cfg.url }
    local stored = task.offsets:get(partition)
    local S = {
      client = curl.client { connect_timeout_ms = cfg["http.connect.timeout.ms"],
        timeout_ms = cfg["http.request.timeout.ms"],
        user = basic and cfg["connection.user"] or nil,
        password = basic and cfg["connection.password"] or nil },
      headers = headers, partition = partition, failures = 0, next_at = 0,
      retry_on = assert(parse_codes(cfg["retry.on.status.codes"])),
      skip = stored and tonumber(stored.skip) or 0,
    }
    if cfg["http.offset.mode"] == "LINK_HEADER" then
      S.link = stored and stored.url or cfg.url
    else
      S.cursor = stored and stored.cursor or cfg["http.initial.offset"]
    end
    if stored then task.log.info("resuming at %s", encode(stored)) end
    task.http = S
  end,

  poll = poll,

  close = function(task)
    if task.http then task.http.client:close() end
  end,
}
