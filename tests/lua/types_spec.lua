-- lua/types/luaconnect.lua (the LuaLS annotations) describes every public function and field
-- of the SDK, and the task fields the SDK sets.
local connect = require "luaconnect"

local function read(path)
  local f = assert(io.open(path, "rb"))
  local text = f:read("*a")
  f:close()
  return text
end

describe("lua/types/luaconnect.lua", function()
  local types = read("lua/types/luaconnect.lua")

  it("is a ---@meta file that loads as Lua", function()
    expect.truthy(types:find("^%-%-%-@meta luaconnect\n"))
    expect.truthy(loadstring(types))
  end)

  it("annotates every public member of the SDK", function()
    local missing = {}
    for key in pairs(connect) do
      if type(key) == "string" and key:sub(1, 1) ~= "_" then
        local declared = types:find("function connect%." .. key .. "%(") or types:find("\nconnect%." .. key .. " = ")
        if not declared then missing[#missing + 1] = key end
      end
    end
    table.sort(missing)
    expect.eq(table.concat(missing, ", "), "")
  end)

  it("annotates every function of connect.headers", function()
    local missing = {}
    for key, v in pairs(connect.headers) do
      if type(v) == "function" and not types:find("function headers%." .. key .. "%(") then
        missing[#missing + 1] = key
      end
    end
    table.sort(missing)
    expect.eq(table.concat(missing, ", "), "")
  end)

  it("annotates the task fields the SDK sets", function()
    local script = file_writer(tmpdir())("bare.lua",
      'return require("luaconnect").source { poll = function() end }')
    local task = connect._task_open(script, {}, 0, "c", { get = function() return nil end }, {})
    local missing = {}
    for key in pairs(task) do
      if type(key) == "string" and key:sub(1, 1) ~= "_" and not types:find("@field " .. key .. " ", 1, true)
          and not types:find("function Task%." .. key .. "%(") then
        missing[#missing + 1] = key
      end
    end
    table.sort(missing)
    expect.eq(table.concat(missing, ", "), "")
  end)
end)
