--- Prints a reference of plugins from their own definitions (docs/transforms.md, and the
-- SQLite part of docs/connectors.md):
-- build/luaconnect lua tools/plugin_docs.lua [transforms|scripts] [NAME-PATTERN]
local connect = require "luaconnect"
local root = arg[0]:match("^(.*)/tools/") or "."
local dir, only = arg[1] or "transforms", arg[2] or "."
local names = {}
for name in io.popen("ls " .. root .. "/" .. dir):lines() do
  if name:match("^[^_].*%.lua$") and name:match(only) then names[#names + 1] = name end
end
table.sort(names)
for _, file in ipairs(names) do
  local def = connect._load(root .. "/" .. dir .. "/" .. file)
  local kind = def._kind
  print(string.format("### %s (%s)\n", def.aliases[1] or file, kind))
  print(def.doc .. "\n")
  local aliases = {}
  for i, a in ipairs(def.aliases) do aliases[i] = "`" .. a .. (def.variants and "$Key/$Value" or "") .. "`" end
  print(string.format("Script `%s`; type names %s.\n", file:gsub("%.lua$", ""), table.concat(aliases, ", ")))
  local keys = {}
  for k in pairs(def.config) do keys[#keys + 1] = k end
  table.sort(keys)
  if #keys > 0 then
    print("| key | type | default | meaning |\n|---|---|---|---|")
    for _, k in ipairs(keys) do
      local d = def.config[k]
      local default = d.default
      if type(default) == "table" then default = table.concat(default, ",") end
      print(string.format("| %s | %s | %s | %s |", k, d.type, d.required and "required"
        or (default ~= nil and ("`" .. tostring(default) .. "`") or ""), (d.doc or ""):gsub("|", "\\|"):gsub("\n", " ")))
    end
    print("")
  end
end
