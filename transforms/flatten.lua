--- Flatten: Kafka Connect's Flatten$Key / $Value. Nested structs (with a schema) or maps
-- (without) become one level, their field names joined with the delimiter; arrays stay as
-- they are. With a schema, a flattened field is optional when any parent is, and takes
-- its own default, else the one its parents' defaults give it. Tombstones pass unchanged.
local connect = require "luaconnect"
local smt = require "_smt"

local null = connect.null
local type, pairs, getmetatable, error, format = type, pairs, getmetatable, error, string.format
local array_mt = getmetatable(connect.array())
local PURPOSE = "flattening"

local ok, new_table = pcall(require, "table.new")
if not ok then new_table = function() return {} end end

-- Field types copied as they are; struct recurses; anything else (map) is refused.
local LEAF = { int8 = true, int16 = true, int32 = true, int64 = true, float = true,
  double = true, float32 = true, float64 = true, boolean = true, string = true, bytes = true,
  array = true }

-- Schema.Type names as Kafka's messages print them.
local JAVA_TYPE = { float = "FLOAT32", double = "FLOAT64" }
local function java_type(t)
  return JAVA_TYPE[t] or tostring(t):upper()
end

-- Schemaless ----------------------------------------------------------------------------

local function flatten_map(map, prefix, delim, out)
  for k, v in pairs(map) do
    local name = prefix == "" and k or prefix .. delim .. k
    local t = type(v)
    if t == "table" and getmetatable(v) ~= array_mt and v[1] == nil then
      flatten_map(v, name, delim, out)
    elseif t == "function" or t == "thread" or (t == "userdata" and v ~= null) then
      error(format("Flatten transformation was passed a value of type %s which is not "
        .. "supported by Connect's data API", t), 0)
    else
      out[name] = v
    end
  end
end

-- With a schema ---------------------------------------------------------------------------

-- convertFieldSchema: the leaf's type (and items), basics, the optionality and default
-- the flattening gives it; already named as the flattened field.
local function leaf_schema(orig, name, optional, default)
  local s = { type = orig.type, optional = optional, field = name }
  if orig.type == "array" then s.items = orig.items end
  s.name, s.version, s.doc, s.parameters = orig.name, orig.version, orig.doc, orig.parameters
  if default ~= nil and default ~= null then s.default = default end
  return s
end

-- Walks schema's fields: adds the flattened fields to builder b and the steps that copy
-- values to plan (leaf = {key, out, field}, struct = {key, field, child, leaves}).
local function build(schema, prefix, delim, b, optional, parent_default, plan, leaves)
  for _, f in ipairs(schema.fields or {}) do
    local name = prefix == "" and f.field or prefix .. delim .. f.field
    local f_optional = optional or f.optional == true
    local default = f.default
    if default == nil or default == null then
      default = parent_default and parent_default[f.field] -- Struct.get on the parent default
      if default == null then default = nil end
    end
    local t = f.type
    if LEAF[t] then
      b:field(name, leaf_schema(f, name, f_optional, default))
      plan[#plan + 1] = { key = f.field, out = name, field = f }
      leaves[#leaves + 1] = name
    elseif t == "struct" then
      local child, child_leaves = {}, {}
      build(f, name, delim, b, f_optional, default, child, child_leaves)
      plan[#plan + 1] = { key = f.field, field = f, child = child, leaves = child_leaves }
      for i = 1, #child_leaves do leaves[#leaves + 1] = child_leaves[i] end
    else
      error(format("Flatten transformation does not support %s for record with schemas "
        .. "(for field %s).", java_type(t), name), 0)
    end
  end
end

-- The flattened schema and its copy plan for schema, built once per schema table.
local function plan_for(cfg, schema)
  local p = cfg._plans[schema]
  if p then return p end
  local b = smt.struct_builder(schema)
  local steps, leaves = {}, {}
  local default = schema.default
  if default == null then default = nil end
  build(schema, "", cfg.delimiter, b, schema.optional == true, default, steps, leaves)
  p = { schema = b:build(), steps = steps, n = #leaves }
  cfg._plans[schema] = p
  return p
end

-- Struct.get semantics: a null field reads as its default; nested structs recurse, and the
-- fields under a null one are null.
local function copy_struct(value, steps, out)
  for i = 1, #steps do
    local s = steps[i]
    local v = value[s.key]
    if v == nil or v == null then
      v = s.field.default
      if v == nil then v = null end
    end
    local child = s.child
    if not child then
      out[s.out] = v
    elseif v ~= null then
      copy_struct(v, child, out)
    else
      local leaves = s.leaves
      for j = 1, #leaves do out[leaves[j]] = null end
    end
  end
end

return connect.transform {
  content_blind = true, -- the text of a string value changes nothing it does
  version = "1.0.0",
  reads_headers = false,
  doc = "Flatten nested structs or maps into one level, joining field names with a delimiter",
  aliases = { "Flatten", "org.apache.kafka.connect.transforms.Flatten" },
  variants = true,
  config = {
    delimiter = { type = "string", default = ".",
      doc = "Delimiter to insert between field names from the input record when generating "
        .. "field names for the output record" },
  },

  init = function(cfg)
    cfg._vk, cfg._sk = smt.target(cfg)
    cfg._plans = smt.cache()
    return cfg
  end,

  apply = function(record, cfg)
    local vk = cfg._vk
    local value = record[vk]
    if value == nil or value == null then return record end
    local schema = record[cfg._sk]
    if schema == nil then
      smt.require_map(value, PURPOSE)
      local out = {}
      flatten_map(value, "", cfg.delimiter, out)
      record[vk] = out
      return record
    end
    smt.require_struct(value, schema, PURPOSE)
    local p = plan_for(cfg, schema)
    local out = new_table(0, p.n)
    copy_struct(value, p.steps, out)
    record[vk], record[cfg._sk] = out, p.schema
    return record
  end,
}
