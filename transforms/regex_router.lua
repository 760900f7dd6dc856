--- RegexRouter: Kafka Connect's org.apache.kafka.connect.transforms.RegexRouter. When the
-- whole topic name matches `regex` (Matcher.matches()), the topic becomes
-- Matcher.replaceFirst(replacement): $1, ${name} and \$ work as in Java.
-- Regexes are Java's, run by _regex. A topic always maps to the same name, so the result
-- is cached per topic and a record costs one table lookup.
local connect = require "luaconnect"
local regex = require "_regex"

local format = string.format

-- Topics seen by one task are few; the bound only guards against unbounded topic names.
local CACHE_MAX = 10000

-- The topic a record of topic gets, kept in cfg's cache.
local function route(cfg, topic)
  local re = cfg._re
  local out = re:matches(topic) and re:replace_first(topic, cfg._rep) or topic
  if cfg._cached >= CACHE_MAX then cfg._cache, cfg._cached = {}, 0 end
  cfg._cache[topic], cfg._cached = out, cfg._cached + 1
  return out
end

return connect.transform {
  content_blind = true, -- the text of a string value changes nothing it does
  version = "1.0.0",
  reads_headers = false,
  doc = "Rename the topic of records whose whole topic name matches a Java regex",
  aliases = { "RegexRouter", "org.apache.kafka.connect.transforms.RegexRouter" },
  config = {
    regex = { type = "string", required = true, doc = "Regular expression to use for matching.",
      validate = function(v)
        local _, err = regex.compile(v)
        if err then return format("Invalid regex '%s': %s", v, err) end
      end },
    replacement = { type = "string", required = true, doc = "Replacement string." },
  },

  init = function(cfg)
    local re = assert(regex.compile(cfg.regex))
    -- Kafka finds a bad replacement at the first matching record; we refuse it up front.
    local rep, err = re:replacement(cfg.replacement)
    if not rep then
      error(format("key 'replacement': invalid replacement '%s': %s", cfg.replacement, err), 0)
    end
    cfg._re, cfg._rep, cfg._cache, cfg._cached = re, rep, {}, 0
    return cfg
  end,

  apply = function(record, cfg)
    local topic = record.topic
    local out = cfg._cache[topic]
    if out == nil then
      if topic == nil then return record end
      out = route(cfg, topic)
    end
    record.topic = out
    return record
  end,

  -- A sink's text chain (lua-sdk.md): only the topic changes.
  edit = function(cfg, e)
    if e.topic ~= nil then e.topic = cfg._cache[e.topic] or route(cfg, e.topic) end
  end,
}
