--- _spec_runner: the spec runner of `luaconnect spec` (the project's own tests/lua and a connector
-- repository's specs alike): describe/it/before_each, an `expect` vocabulary, and helpers
-- that drive transforms, predicates and connectors the way the worker does.
-- Run with: luaconnect spec [FILES|DIRS] (each spec file in a Lua state of its own).
-- Prints one line per failure and "FILE: N passed, N failed"; returns the exit status.
local spec_file = ...
assert(spec_file, "usage: luaconnect spec SPEC.lua")

local passed, failed, stack, befores = 0, 0, {}, {}

local function deep_equal(a, b, path)
  if a == b then return true end
  if type(a) == "cdata" or type(b) == "cdata" then
    if tostring(a) == tostring(b) then return true end
    return false, string.format("%s: %s ~= %s", path, tostring(a), tostring(b))
  end
  if type(a) ~= "table" or type(b) ~= "table" then
    return false, string.format("%s: %s ~= %s", path, tostring(a), tostring(b))
  end
  for k, v in pairs(a) do
    local ok, why = deep_equal(v, b[k], path .. "." .. tostring(k))
    if not ok then return false, why end
  end
  for k in pairs(b) do
    if a[k] == nil then return false, string.format("%s.%s: missing", path, tostring(k)) end
  end
  return true
end

local function show(v)
  if type(v) == "string" then return string.format("%q", v) end
  return tostring(v)
end

expect = {
  eq = function(got, want, msg)
    if got ~= want then
      error(string.format("%sexpected %s, got %s", msg and msg .. ": " or "", show(want), show(got)), 2)
    end
  end,
  same = function(got, want)
    local ok, why = deep_equal(got, want, "value")
    if not ok then error("not the same: " .. why, 2) end
  end,
  truthy = function(v, msg)
    if not v then error(msg or "expected a true value", 2) end
  end,
  --- fn must raise an error whose text contains text (plain, not a pattern).
  error_contains = function(fn, text)
    local ok, err = pcall(fn)
    if ok then error("expected an error containing " .. text, 2) end
    if not tostring(err):find(text, 1, true) then
      error(string.format("error %q does not contain %q", tostring(err), text), 2)
    end
  end,
  error_matches = function(fn, pattern)
    local ok, err = pcall(fn)
    if ok then error("expected an error matching " .. pattern, 2) end
    if not tostring(err):find(pattern) then
      error(string.format("error %q does not match %q", tostring(err), pattern), 2)
    end
  end,
}

function describe(name, fn)
  stack[#stack + 1] = name
  local saved = #befores
  fn()
  for i = #befores, saved + 1, -1 do befores[i] = nil end
  stack[#stack] = nil
end

function before_each(fn) befores[#befores + 1] = fn end

function it(name, fn)
  local full = table.concat(stack, " ") .. " " .. name
  for _, b in ipairs(befores) do b() end
  local ok, err = xpcall(fn, debug.traceback)
  if ok then
    passed = passed + 1
  else
    failed = failed + 1
    io.stderr:write("FAIL ", full, "\n  ", tostring(err), "\n")
  end
end

--- A scratch directory for a spec, removed by the OS eventually (tmp).
function tmpdir()
  local p = os.tmpname()
  os.remove(p)
  assert(os.execute("mkdir -p " .. p) == 0 or true)
  return p
end

--- Returns write(name, text) that creates dir/name with text and returns its path.
function file_writer(dir)
  return function(name, text)
    local f = assert(io.open(dir .. "/" .. name, "w"))
    f:write(text)
    f:close()
    return dir .. "/" .. name
  end
end

--- A transform configured as in a connector file: transform("transforms/x.lua",
-- {["static.field"]="a"}, "value") returns a function record -> list of output records
-- (empty when dropped). Config values are strings, as in .properties files.
function transform(path, config, variant)
  local connect = require "luaconnect"
  local chain = connect._chain("connector 'spec'", {
    { alias = "t", path = path, config = config or {}, variant = variant },
  })
  return function(record) return connect._apply_chain(chain, { record }) end
end

--- A predicate configured as in a connector file; returns a function record -> boolean.
function predicate(path, config)
  local connect = require "luaconnect"
  local def = connect._load(path, "predicate")
  local cfg, errs = connect._validate("connector 'spec': predicate 'p'", def.config, config or {}, false)
  if #errs > 0 then error(table.concat(errs, "\n"), 0) end
  if def.init then cfg = def.init(cfg) or cfg end
  return function(record) return def.test(record, cfg) end
end

-- task.offsets from a list of {partition = {...}, offset = {...}} (what the worker stored).
local function offsets_of(list)
  local encode, map = require("luaconnect.core").json_encode, {}
  for _, e in ipairs(list or {}) do map[encode(e.partition)] = e.offset end
  return { get = function(_, p) return map[encode(p)] end }
end

--- A connector's task 0 as the worker opens it: config is validated as a .properties file
-- would be (string values; errors raise with the worker's messages), task_configs() splits
-- it, open() runs. offsets (sources): the stored {partition =, offset =} list task.offsets
-- returns from. Drive it with poll(task), put(task, records), flush(task, offsets),
-- close(task).
function connector(path, config, offsets)
  local connect = require "luaconnect"
  local kind, tasks, errs = connect._plan(path, "connector 'spec'", config or {}, 1)
  if #errs > 0 then error(table.concat(errs, "\n"), 2) end
  local task = connect._task_open(path, tasks[1], 0, "spec", offsets_of(offsets), {}, {})
  task._kind = kind
  return task
end

--- One poll() of a source task: the list of records (empty when it returned nothing).
function poll(task)
  return require("luaconnect")._source_poll(task) or {}
end

--- One put() of a sink task. Records without partition/offset get 0 and their position in
-- the list. Returns the failures put() reported with task.report (or nil).
function put(task, records)
  for i, r in ipairs(records) do
    r.partition = r.partition or 0
    r.offset = r.offset or i - 1
  end
  return require("luaconnect")._sink_put(task, records)
end

--- flush(task, {{topic =, partition =, offset =}, ...}) as before an offset commit.
function flush(task, offsets)
  return require("luaconnect")._sink_flush(task, offsets or {})
end

--- Closes the task (the script's close()).
function close(task)
  return require("luaconnect")._task_close(task)
end

local chunk = assert(require("luaconnect.core").loadfile(spec_file))
chunk()
print(string.format("%s: %d passed, %d failed", spec_file, passed, failed))
return failed == 0 and 0 or 1
