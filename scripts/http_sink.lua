--- http_sink: sends records to an HTTP API (Confluent's HTTP Sink keys where they apply).
--
-- put() groups the batch by target URL (http.api.url may name ${topic} and ${key}) into
-- requests of at most batch.max.size records, body = batch.prefix, the records joined by
-- batch.separator, batch.suffix. A 2xx response delivers them. A status in
-- retry.on.status.codes (default 429 and 5xx) or a transport error (refused, timeout) is
-- retried max.retries times, retry.backoff.ms doubling each time; still failing, put()
-- raises and the task fails with nothing committed (no record lost). Any other status is the
-- records' fault: a batch is resent record by record to find the ones the server rejects,
-- and those go to the error path (task.report: errors.log and the dead-letter queue with
-- errors.tolerance=all; the task fails without it) as behavior.on.error says.
--
-- Requests go through libcurl (scripts/_curl.lua): one handle per task, so connections are
-- reused, and a slow server blocks only this task's thread.
local connect = require "luaconnect"
local curl = require "_curl"
local ffi = require "ffi"

local format, concat, type, tostring, ipairs = string.format, table.concat, type, tostring, ipairs
local encode, null = connect.json.encode, connect.null

pcall(ffi.cdef, "int poll(void *fds, unsigned long nfds, int timeout);")

local function sleep_ms(ms)
  if ms > 0 then ffi.C.poll(nil, 0, ms) end
end

local parse_codes = curl.status_codes

local function text_of(v, as_json)
  if as_json then return (encode(v)) end
  local t = type(v)
  if t == "string" then return v end
  if t == "table" or t == "cdata" then return (encode(v)) end
  return tostring(v)
end

local function url_for(template, record)
  return (template:gsub("%${(%w+)}", function(name)
    if name == "topic" then return record.topic end
    if name == "key" then return record.key == nil and "" or text_of(record.key, false) end
  end))
end

local function short(body)
  body = (body or ""):gsub("%s+", " ")
  return #body > 200 and body:sub(1, 200) .. "..." or body
end

-- One request with bounded retries. Returns the response, or raises when the server or the
-- network still fails after max.retries.
local function send(task, method, url, body, n)
  local S = task.http
  local delay = S.backoff
  for attempt = 0, S.max_retries do
    local res, err = S.client:request { method = method, url = url, headers = S.headers, body = body }
    local why
    if not res then
      why = err
    elseif S.retry_on(res.status) then
      why = format("HTTP %d: %s", res.status, short(res.body))
    else
      return res
    end
    if attempt == S.max_retries then
      error(format("%s %s failed after %d retries: %s", method, url, S.max_retries, why), 0)
    end
    task.log.warn("%s %s with %d record%s failed (%s); retry %d of %d in %d ms", method, url, n,
      n == 1 and "" or "s", why, attempt + 1, S.max_retries, delay)
    sleep_ms(delay)
    delay = math.min(delay * 2, S.backoff_max)
  end
end

-- The records' fault: the error path, as behavior.on.error says.
local function reject(task, record, message)
  local how = task.config["behavior.on.error"]
  if how == "ignore" then return end
  if how == "log" then
    task.log.warn("%s (topic %s, partition %s, offset %s)", message, tostring(record.topic),
      tostring(record.partition), tostring(record.offset))
    return
  end
  task.report(record, message)
end

local function body_of(S, texts)
  if S.json_array then return "[" .. concat(texts, ",") .. "]" end
  return S.prefix .. concat(texts, S.separator) .. S.suffix
end

-- Sends records[i..j] (same URL) as one request; a rejected batch is resent record by record.
local function deliver(task, url, recs, texts)
  local S = task.http
  local res = send(task, S.method, url, body_of(S, texts), #recs)
  if res.status >= 200 and res.status < 300 then return end
  if #recs > 1 then
    for i = 1, #recs do deliver(task, url, { recs[i] }, { texts[i] }) end
    return
  end
  reject(task, recs[1], format("http_sink: %s %s: HTTP %d: %s", S.method, url, res.status, short(res.body)))
end

local function put(task, records)
  local S, cfg = task.http, task.config
  local url, recs, texts = nil, {}, {}
  local function flush_group()
    if #recs > 0 then deliver(task, url, recs, texts) end
    recs, texts = {}, {}
  end
  for _, r in ipairs(records) do
    if r.value == nil or r.value == null then
      local how = cfg["behavior.on.null.values"]
      if how == "fail" then
        reject(task, r, "http_sink: the record has a null value (behavior.on.null.values=fail)")
      elseif how == "log" then
        task.log.info("skipping a record with a null value (topic %s, partition %s, offset %s, key %s)",
          tostring(r.topic), tostring(r.partition), tostring(r.offset), text_of(r.key, false))
      elseif how == "delete" then
        flush_group()
        local u = url_for(cfg["http.api.url"], r)
        local res = send(task, "DELETE", u, nil, 1)
        if res.status < 200 or res.status >= 300 then
          reject(task, r, format("http_sink: DELETE %s: HTTP %d: %s", u, res.status, short(res.body)))
        end
      end
    else
      local u = url_for(cfg["http.api.url"], r)
      if u ~= url or #recs >= S.batch_max then
        flush_group()
        url = u
      end
      recs[#recs + 1] = r
      texts[#texts + 1] = text_of(r.value, S.as_json)
    end
  end
  flush_group()
end

local function enum(values, upper)
  return function(v)
    for _, ok in ipairs(values) do
      if (upper and v:upper() or v) == ok then return nil end
    end
    return format("must be one of %s, got '%s'", concat(values, ", "), v)
  end
end

return connect.sink {
  version = "1.0.0",
  doc = "Sends records to an HTTP API (Confluent's HTTP Sink keys)",
  aliases = { "HttpSink", "HttpSinkConnector", "io.confluent.connect.http.HttpSinkConnector" },
  config = {
    ["http.api.url"] = { type = "string", required = true,
      doc = "The HTTP API URL; ${topic} and ${key} are replaced by the record's",
      validate = function(v)
        if not v:match("^https?://") then return "must be an http:// or https:// URL" end
      end },
    ["request.method"] = { type = "string", default = "POST", doc = "POST, PUT or PATCH",
      validate = enum({ "POST", "PUT", "PATCH" }, true) },
    headers = { type = "string", default = "",
      doc = "Headers sent with every request: Name:value pairs separated by header.separator" },
    ["header.separator"] = { type = "string", default = "|", doc = "Separates the headers" },
    ["request.body.format"] = { type = "string", default = "string", values = { "string", "json" },
      doc = "string: a string value as it is, others as JSON; json: every value as JSON" },
    ["batch.max.size"] = { type = "int", default = 1, doc = "The most records in one request",
      validate = function(v) if v < 1 then return "must be at least 1" end end },
    ["batch.prefix"] = { type = "string", default = "", doc = "Text before the records of a request" },
    ["batch.suffix"] = { type = "string", default = "", doc = "Text after the records of a request" },
    ["batch.separator"] = { type = "string", default = ",", doc = "Text between two records" },
    ["batch.json.as.array"] = { type = "boolean", default = false,
      doc = "With request.body.format=json: send each request's records as one JSON array" },
    ["auth.type"] = { type = "string", default = "NONE", doc = "NONE or BASIC",
      validate = enum({ "NONE", "BASIC" }, true) },
    ["connection.user"] = { type = "string", doc = "The user for auth.type=BASIC" },
    ["connection.password"] = { type = "password", doc = "The password for auth.type=BASIC" },
    ["max.retries"] = { type = "int", default = 10,
      doc = "Retries of a request that failed with a retried status or a transport error",
      validate = function(v) if v < 0 then return "must be 0 or more" end end },
    ["retry.backoff.ms"] = { type = "int", default = 3000,
      doc = "The wait before the first retry; it doubles each retry (at most 60000 ms)",
      validate = function(v) if v < 0 then return "must be 0 or more" end end },
    ["retry.on.status.codes"] = { type = "string", default = "429,500-",
      doc = "Status codes retried: codes and ranges, e.g. 429,500-",
      validate = function(v) local _, err = parse_codes(v); return err end },
    ["behavior.on.null.values"] = { type = "string", default = "ignore",
      values = { "ignore", "log", "fail", "delete" },
      doc = "A record with a null value: skipped, logged, an error, or a DELETE request" },
    ["behavior.on.error"] = { type = "string", default = "fail", values = { "fail", "log", "ignore" },
      doc = "A record the server rejects: the error path (errors.tolerance, DLQ), a log line, or nothing" },
    ["http.connect.timeout.ms"] = { type = "int", default = 30000, doc = "Connect timeout" },
    ["http.request.timeout.ms"] = { type = "int", default = 30000, doc = "Whole-request timeout" },
  },

  ---@param task luaconnect.Task
  open = function(task)
    local cfg = task.config
    local basic = cfg["auth.type"]:upper() == "BASIC"
    if basic and not cfg["connection.user"] then
      error("http_sink: auth.type=BASIC needs connection.user", 0)
    end
    local headers, has_type = {}, false
    local sep = cfg["header.separator"]
    for item in (cfg.headers .. sep):gmatch("(.-)" .. sep:gsub("%p", "%%%0")) do
      local name, value = item:match("^%s*([^:]-)%s*:%s*(.-)%s*$")
      if name and name ~= "" then
        headers[#headers + 1] = name .. ": " .. value
        has_type = has_type or name:lower() == "content-type"
      elseif item:match("%S") then
        error(format("http_sink: key 'headers': '%s' is not Name:value", item), 0)
      end
    end
    local as_json = cfg["request.body.format"] == "json"
    if not has_type then
      headers[#headers + 1] = as_json and "Content-Type: application/json"
        or "Content-Type: text/plain; charset=utf-8"
    end
    headers[#headers + 1] = "Expect:" -- no 100-continue round trip for large bodies
    task.http = {
      client = curl.client { connect_timeout_ms = cfg["http.connect.timeout.ms"],
        timeout_ms = cfg["http.request.timeout.ms"],
        user = basic and cfg["connection.user"] or nil,
        password = basic and cfg["connection.password"] or nil },
      method = cfg["request.method"]:upper(), headers = headers, as_json = as_json,
      json_array = as_json and cfg["batch.json.as.array"],
      prefix = cfg["batch.prefix"], suffix = cfg["batch.suffix"], separator = cfg["batch.separator"],
      batch_max = cfg["batch.max.size"], max_retries = cfg["max.retries"],
      backoff = cfg["retry.backoff.ms"], backoff_max = math.max(60000, cfg["retry.backoff.ms"]),
      retry_on = assert(parse_codes(cfg["retry.on.status.codes"])),
    }
  end,

  put = put,

  close = function(task)
    if task.http then task.http.client:close() end
  end,
}
