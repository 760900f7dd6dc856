--- _curl: HTTP requests over libcurl through FFI, for the HTTP connectors.
--
-- One client per task: its easy handle keeps connections alive between requests (libcurl
-- reuses them), and a request blocks only the task's own thread. The binary links libcurl
-- already (core/http_client.c), so its symbols are found in the process; otherwise the
-- shared library is loaded.
--
--   local curl = require "_curl"
--   local c = curl.client { connect_timeout_ms = 30000, timeout_ms = 30000 }
--   local res, err = c:request { method = "POST", url = u, headers = {"A: b"}, body = s }
--   -- res = { status = 200, body = "...", headers = { etag = "...", link = "..." } }
--   c:close()
local ffi = require "ffi"

pcall(ffi.cdef, [[
typedef void CURL;
struct curl_slist { char *data; struct curl_slist *next; };
int curl_global_init(long flags);
CURL *curl_easy_init(void);
void curl_easy_cleanup(CURL *h);
void curl_easy_reset(CURL *h);
int curl_easy_setopt(CURL *h, int option, ...);
int curl_easy_perform(CURL *h);
int curl_easy_getinfo(CURL *h, int info, ...);
const char *curl_easy_strerror(int code);
struct curl_slist *curl_slist_append(struct curl_slist *list, const char *s);
void curl_slist_free_all(struct curl_slist *list);
]])

local function find_lib()
  if pcall(function() return ffi.C.curl_easy_init end) then return ffi.C end
  for _, name in ipairs({ "curl", "libcurl.so.4" }) do
    local ok, lib = pcall(ffi.load, name)
    if ok then return lib end
  end
  error("_curl: libcurl not found (install libcurl4)", 0)
end

-- Loaded by the first client, not when the module loads: the worker loads every connector
-- script to list its plugins, and libcurl maps ~15 libraries (Kerberos, LDAP, SSH...) that
-- ffi.load keeps for the process's life (~1.5 MB of an idle worker's RSS).
local C

-- Option and info numbers from curl.h (stable ABI).
local OPT = {
  WRITEDATA = 10001, URL = 10002, ERRORBUFFER = 10010, POSTFIELDS = 10015,
  HTTPHEADER = 10023, CUSTOMREQUEST = 10036, USERNAME = 10173, PASSWORD = 10174,
  WRITEFUNCTION = 20011, HEADERFUNCTION = 20079, HEADERDATA = 10029,
  POSTFIELDSIZE = 60, POST = 47, NOBODY = 44, HTTPGET = 80, NOSIGNAL = 99, HTTPAUTH = 107,
  TIMEOUT_MS = 155, CONNECTTIMEOUT_MS = 156, FOLLOWLOCATION = 52, PROTOCOLS_STR = 10318,
}
local INFO_RESPONSE_CODE = 0x200000 + 2
local CURLAUTH_BASIC = 1
local GLOBAL_DEFAULT = 3 -- CURL_GLOBAL_SSL | CURL_GLOBAL_WIN32


local M = {}
local format = string.format
local Client = {}
Client.__index = Client

-- The response being read; callbacks append to it (one request at a time per state).
local current

local write_cb = ffi.cast("size_t (*)(char *, size_t, size_t, void *)", function(ptr, size, n)
  local len = tonumber(size * n)
  current.chunks[#current.chunks + 1] = ffi.string(ptr, len)
  return len
end)

local header_cb = ffi.cast("size_t (*)(char *, size_t, size_t, void *)", function(ptr, size, n)
  local len = tonumber(size * n)
  local line = ffi.string(ptr, len)
  if line:match("^HTTP/") then
    current.headers = {} -- a new response (after a redirect or 100-continue)
  else
    local name, value = line:match("^([^:]+):%s*(.-)%s*$")
    if name then current.headers[name:lower()] = value end
  end
  return len
end)

--- A client: opts.connect_timeout_ms, opts.timeout_ms (0: none), opts.user/opts.password
-- (basic auth).
function M.client(opts)
  if not C then
    C = find_lib()
    -- Reference-counted, and thread-safe since libcurl 7.84 (Debian 12 has 7.88): every
    -- task's state may call it; without it curl_easy_init would initialise on its own, unsafely.
    C.curl_global_init(GLOBAL_DEFAULT)
  end
  local h = C.curl_easy_init()
  if h == nil then error("_curl: curl_easy_init failed", 0) end
  return setmetatable({ h = ffi.gc(h, C.curl_easy_cleanup), opts = opts or {},
    errbuf = ffi.new("char[256]") }, Client)
end

local function setopt(h, opt, value)
  local rc = C.curl_easy_setopt(h, opt, value)
  if rc ~= 0 then error("_curl: setopt " .. opt .. ": " .. ffi.string(C.curl_easy_strerror(rc)), 0) end
end

--- Sends one request: req.method ("GET", "POST", "PUT", "PATCH", "DELETE"), req.url,
-- req.headers (a list of "Name: value" lines), req.body (string or nil). Returns
-- {status, body, headers (lower-case names)}, or nil and the transport error (connection
-- refused, timeout...).
function Client:request(req)
  local h, o = self.h, self.opts
  C.curl_easy_reset(h) -- keeps the connection cache: the next request reuses the connection
  setopt(h, OPT.URL, req.url)
  setopt(h, OPT.NOSIGNAL, ffi.cast("long", 1))
  setopt(h, OPT.PROTOCOLS_STR, "http,https")
  setopt(h, OPT.ERRORBUFFER, self.errbuf)
  setopt(h, OPT.CONNECTTIMEOUT_MS, ffi.cast("long", o.connect_timeout_ms or 30000))
  setopt(h, OPT.TIMEOUT_MS, ffi.cast("long", o.timeout_ms or 30000))
  setopt(h, OPT.WRITEFUNCTION, write_cb)
  setopt(h, OPT.HEADERFUNCTION, header_cb)
  if o.user then
    setopt(h, OPT.HTTPAUTH, ffi.cast("long", CURLAUTH_BASIC))
    setopt(h, OPT.USERNAME, o.user)
    setopt(h, OPT.PASSWORD, o.password or "")
  end
  local method = req.method or "GET"
  if req.body then
    setopt(h, OPT.POSTFIELDSIZE, ffi.cast("long", #req.body))
    setopt(h, OPT.POSTFIELDS, req.body) -- the Lua string stays alive until perform returns
  end
  if method == "GET" and not req.body then
    setopt(h, OPT.HTTPGET, ffi.cast("long", 1))
  elseif method ~= "POST" then
    setopt(h, OPT.CUSTOMREQUEST, method)
  end
  local list = nil
  for _, line in ipairs(req.headers or {}) do list = C.curl_slist_append(list, line) end
  if list ~= nil then setopt(h, OPT.HTTPHEADER, list) end
  self.errbuf[0] = 0
  current = { chunks = {}, headers = {} }
  local rc = C.curl_easy_perform(h)
  local res = current
  current = nil
  if list ~= nil then C.curl_slist_free_all(list) end
  if rc ~= 0 then
    local detail = ffi.string(self.errbuf)
    return nil, detail ~= "" and detail or ffi.string(C.curl_easy_strerror(rc))
  end
  local code = ffi.new("long[1]")
  C.curl_easy_getinfo(h, INFO_RESPONSE_CODE, code)
  return { status = tonumber(code[0]), body = table.concat(res.chunks), headers = res.headers }
end

--- Closes the client's connections now (else when it is collected).
function Client:close()
  if self.h then
    C.curl_easy_cleanup(ffi.gc(self.h, nil))
    self.h = nil
  end
end

-- Callbacks into Lua from curl_easy_perform: never from a compiled trace.
jit.off(Client.request)

--- "429,500-" -> a predicate on HTTP status codes: single codes and ranges "A-B", "A-", "-B";
-- or nil and an error naming the bad item (retry.on.status.codes of both HTTP connectors).
function M.status_codes(spec)
  local ranges = {}
  for item in spec:gmatch("[^,]+") do
    item = item:match("^%s*(.-)%s*$")
    if item ~= "" then
      local lo, hi = item:match("^(%d*)%s*%-%s*(%d*)$")
      if lo then
        ranges[#ranges + 1] = { tonumber(lo) or 0, tonumber(hi) or 999 }
      elseif item:match("^%d+$") then
        ranges[#ranges + 1] = { tonumber(item), tonumber(item) }
      else
        return nil, format("'%s' is not a status code or a range like 500-599", item)
      end
    end
  end
  return function(code)
    for _, r in ipairs(ranges) do
      if code >= r[1] and code <= r[2] then return true end
    end
    return false
  end
end

return M
