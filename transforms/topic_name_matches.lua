--- TopicNameMatches: Kafka Connect's predicate
-- org.apache.kafka.connect.transforms.predicates.TopicNameMatches: true when the whole
-- topic name matches the Java regex `pattern`. The answer is cached per topic name.
local connect = require "luaconnect"
local regex = require "_regex"

local format = string.format

local CACHE_MAX = 10000

-- Whether topic matches, kept in cfg's cache.
local function matches(cfg, topic)
  local hit = cfg._re:matches(topic)
  if cfg._cached >= CACHE_MAX then cfg._cache, cfg._cached = {}, 0 end
  cfg._cache[topic], cfg._cached = hit, cfg._cached + 1
  return hit
end

return connect.predicate {
  content_blind = true, -- the text of a string value changes nothing it does
  version = "1.0.0",
  reads_headers = false,
  doc = "True for records whose whole topic name matches a Java regex",
  aliases = { "TopicNameMatches", "org.apache.kafka.connect.transforms.predicates.TopicNameMatches" },
  config = {
    pattern = { type = "string", required = true,
      doc = "A Java regular expression for matching against the name of a record's topic.",
      validate = function(v)
        if v == "" then return "String must be non-empty" end
        local _, err = regex.compile(v)
        if err then return format("Invalid regex '%s': %s", v, err) end
      end },
  },

  init = function(cfg)
    cfg._re, cfg._cache, cfg._cached = assert(regex.compile(cfg.pattern)), {}, 0
    return cfg
  end,

  test = function(record, cfg)
    local topic = record.topic
    local hit = cfg._cache[topic]
    if hit == nil then
      if topic == nil then return false end
      hit = matches(cfg, topic)
    end
    return hit
  end,

  -- What test() gives a record of topic, for a sink's text chain (lua-sdk.md).
  edit_test = function(cfg, topic)
    local hit = cfg._cache[topic]
    if hit == nil then hit = matches(cfg, topic) end
    return hit
  end,
}
