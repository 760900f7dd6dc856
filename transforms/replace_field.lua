--- ReplaceField: Kafka Connect's ReplaceField$Key / $Value. Drops fields (exclude),
-- keeps only some (include) and renames others (renames=old:new,...); with a schema the
-- struct schema follows. Tombstones pass unchanged.
local connect = require "luaconnect"
local smt = require "_smt"

local null = connect.null
local pairs = pairs
local PURPOSE = "field replacement"

-- Java's String.split(":"): trailing empty parts are dropped, so "a:" is one part and
-- "a:b:" two.
local function split_colon(s)
  local parts = {}
  for part in (s .. ":"):gmatch("([^:]*):") do parts[#parts + 1] = part end
  while #parts > 0 and parts[#parts] == "" do parts[#parts] = nil end
  return parts
end

local function check_renames(list)
  for _, mapping in ipairs(list) do
    if #split_colon(mapping) ~= 2 then return "Invalid rename mapping: " .. mapping end
  end
end

local function set_of(list)
  local s = {}
  for _, v in ipairs(list) do s[v] = true end
  return s
end

-- The struct schema and the per-record steps for one input schema.
local function plan_for(schema, cfg)
  local b = smt.struct_builder(schema)
  local drop, moves = {}, {}
  local exclude, include, has_include, renames = cfg._exclude, cfg._include, cfg._has_include,
    cfg._renames
  for _, f in ipairs(schema.fields) do
    local name = f.field
    if not exclude[name] and (not has_include or include[name]) then
      local new = renames[name] or name
      b:field(new, f)
      if new ~= name then moves[#moves + 1] = { name, new } end
    else
      drop[#drop + 1] = name
    end
  end
  return { schema = b:build(), drop = drop, moves = moves, scratch = {} }
end

-- Moves value[old] to value[new] for each {old, new}, all reads before any write so that
-- swaps and chains (a:b,b:c) work.
local function move_all(value, moves, scratch)
  local n = #moves
  for i = 1, n do
    local old = moves[i][1]
    scratch[i] = value[old]
    value[old] = nil
  end
  for i = 1, n do
    local v = scratch[i]
    if v ~= nil then
      value[moves[i][2]] = v
      scratch[i] = nil
    end
  end
end

return connect.transform {
  content_blind = true, -- the text of a string value changes nothing it does
  version = "1.0.0",
  reads_headers = false,
  doc = "Filter or rename fields",
  aliases = { "ReplaceField", "org.apache.kafka.connect.transforms.ReplaceField" },
  variants = true,
  config = {
    exclude = { type = "list",
      doc = "Fields to exclude. This takes precedence over the fields to include." },
    include = { type = "list", doc = "Fields to include. If specified, only these fields will be used." },
    blacklist = { type = "list", doc = "Deprecated. Use exclude instead." },
    whitelist = { type = "list", doc = "Deprecated. Use include instead." },
    renames = { type = "list", validate = check_renames,
      doc = "Field rename mappings: a list of colon-delimited pairs, e.g. foo:bar,abc:xyz" },
    ["replace.null.with.default"] = { type = "boolean", default = true,
      doc = "Whether to replace fields that have a default value and that are null to the "
        .. "default value. When set to true, the default value is used, otherwise null is used." },
  },

  init = function(cfg)
    -- Kafka 3.x's deprecated aliases: used only when the new key is not set.
    local exclude = cfg.exclude or cfg.blacklist or {}
    local include = cfg.include or cfg.whitelist or {}
    if (cfg.exclude and cfg.blacklist) or (cfg.include and cfg.whitelist) then
      connect.log.warn("ReplaceField: exclude/include set as well as the deprecated "
        .. "blacklist/whitelist; using exclude/include")
    elseif cfg.blacklist or cfg.whitelist then
      connect.log.warn("ReplaceField: blacklist/whitelist are deprecated; use exclude/include")
    end
    cfg._exclude_list = exclude
    cfg._exclude = set_of(exclude)
    cfg._include = set_of(include)
    cfg._has_include = #include > 0
    local renames, moves = {}, {}
    for _, mapping in ipairs(cfg.renames or {}) do
      local parts = split_colon(mapping)
      if renames[parts[1]] == nil then moves[#moves + 1] = { parts[1], parts[2] } end
      renames[parts[1]] = parts[2]
    end
    for _, m in ipairs(moves) do m[2] = renames[m[1]] end -- the last mapping of a name wins
    cfg._renames, cfg._moves, cfg._scratch = renames, moves, {}
    cfg._vk, cfg._sk = smt.target(cfg)
    cfg._cache = smt.cache()
    return cfg
  end,

  apply = function(record, cfg)
    local value = record[cfg._vk]
    if value == nil or value == null then return record end
    local schema = record[cfg._sk]
    -- The value table is updated in place: it belongs to this record.
    if schema == nil then
      smt.require_map(value, PURPOSE)
      if cfg._has_include then
        local exclude, include = cfg._exclude, cfg._include
        for k in pairs(value) do
          if exclude[k] or not include[k] then value[k] = nil end
        end
      else
        local exclude = cfg._exclude_list
        for i = 1, #exclude do value[exclude[i]] = nil end
      end
      if cfg._moves[1] then move_all(value, cfg._moves, cfg._scratch) end
      return record
    end
    smt.require_struct(value, schema, PURPOSE)
    local plan = cfg._cache[schema]
    if not plan then
      plan = plan_for(schema, cfg)
      cfg._cache[schema] = plan
    end
    if cfg["replace.null.with.default"] then smt.fill_defaults(value, schema) end
    local drop = plan.drop
    for i = 1, #drop do value[drop[i]] = nil end
    if plan.moves[1] then move_all(value, plan.moves, plan.scratch) end
    record[cfg._sk] = plan.schema
    return record
  end,

  -- What apply() does to a schemaless object value, for a sink's text chain (lua-sdk.md).
  edit = function(cfg, e)
    if cfg._vk ~= "value" then return false end
    if cfg._has_include then
      local keep = {}
      for name in pairs(cfg._include) do
        if not cfg._exclude[name] then keep[#keep + 1] = name end
      end
      e:keep(keep)
    else
      for _, name in ipairs(cfg._exclude_list) do e:drop(name) end
    end
    if cfg._moves[1] then
      local list = {}
      for _, m in ipairs(cfg._moves) do
        list[#list + 1], list[#list + 2] = m[1], m[2]
      end
      e:move(list)
    end
  end,
}
