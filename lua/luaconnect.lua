--- luaconnect: the SDK every connector, transform and predicate script requires.
--
--   local connect = require "luaconnect"
--   return connect.source { version = "1.0.0", doc = "...", config = {...}, poll = function(task) ... end }
--
-- Public: connect.source, connect.sink, connect.transform, connect.predicate, connect.null,
-- connect.array, connect.is_null, connect.json (encode, decode, lines), connect.log, connect.now_ms, connect.headers.
-- Private functions (leading underscore) are what the C core calls, once per batch.
local core = require "luaconnect.core"

local M = {}
M.null = core.null
M.version = core.version
M.json = { encode = core.json_encode, decode = core.json_decode }
do
  local json_lines, json_lines_of, rawget = core.json_lines, core.json_lines_of, rawget
  local ffi = require "ffi"
  local idx, cap = nil, 0
  -- The fields of a lazy sink record (lua/record_lines.h).
  local LINES, LINE = "\0lines", "\0line"
  --- json.lines(records) -> the text FileStreamSink writes for a batch: each record's value
  -- as JSON (keys sorted; a string as it is), a newline after each; nil when a value cannot
  -- be written so (a function, a cycle): write those one by one with json.encode. A record
  -- whose value was never read (a sink with lazy_values = true) gives its line unparsed.
  function M.json.lines(records)
    local n = #records
    local r = records[1]
    local lines = type(r) == "table" and rawget(r, "value") == nil and rawget(r, LINES)
    if lines then -- every record lazy and unread, of one batch: its lines in one C call
      if n > cap then
        cap = math.max(n, 2 * cap)
        idx = ffi.new("int32_t[?]", cap)
      end
      for i = 1, n do
        r = records[i]
        if type(r) ~= "table" then return json_lines(records) end
        local at = rawget(r, LINE)
        if at == nil or rawget(r, LINES) ~= lines or rawget(r, "value") ~= nil then
          return json_lines(records)
        end
        idx[i - 1] = at
      end
      return json_lines_of(lines, idx, n)
    end
    return json_lines(records)
  end
end
--- freeze_schema(schema) -> schema: a promise that neither the schema table nor any table
-- inside it changes from now on, so the converters write its JSON once and compile a
-- struct's fields once for every record carrying it. Decoded schemas and those the SMT
-- builders make are frozen already; for a connector's own schemas, freeze when built.
M.freeze_schema = core.freeze_schema
M.now_ms = core.now_ms
M.stat = core.stat
--- cut_lines(s, init, max) -> n, stop: the first n <= max complete lines of s from byte
-- init on; stop is the index of the n-th one's "\n" (init - 1 when n is 0). For poll_lines().
M.cut_lines = core.cut_lines
--- line_buffer() -> a line source's read buffer in C memory (lua/line_buffer.h); poll_lines()
-- may return it as its batch.
M.line_buffer = core.line_buffer
M.fsync = core.fsync
--- lock(file, "ex"|"un"): an advisory whole-file lock (flock) shared by every process.
M.lock = core.lock
--- Record headers: an ordered list of {name, value} pairs with map-style access (_headers.lua).
M.headers = require "_headers"

local array_mt = core.array_mt
local float = require "luaconnect._float"

-- A monotonic clock in ns for the per-transform time (a vDSO call through the FFI, compiled
-- by the JIT; the symbol is renamed so that a script declaring clock_gettime does not clash).
local ffi = require "ffi"
local new_table = require "table.new"
pcall(ffi.cdef, [[
typedef struct { long sec, nsec; } lc_sdk_timespec_t;
int lc_sdk_clock_gettime(int clock, lc_sdk_timespec_t *ts) __asm__("clock_gettime");
]])
local sdk_ts = ffi.new("lc_sdk_timespec_t")
local clock_tonumber = tonumber -- the builtin: the wrapper below aborts the trace
local function clock_ns()
  ffi.C.lc_sdk_clock_gettime(1, sdk_ts) -- CLOCK_MONOTONIC
  return clock_tonumber(sdk_ts.sec) * 1e9 + clock_tonumber(sdk_ts.nsec)
end

--- An integral float that stays a float through JSON (connect.float(1) encodes as 1.0).
M.float = float.new
--- True when v is such a float.
M.is_float = float.is

-- tonumber() also unwraps connect.float values, so scripts can treat them as numbers.
local raw_tonumber = tonumber
_G.tonumber = function(v, base)
  if base == nil and float.is(v) then return v.v end
  return raw_tonumber(v, base)
end
local traceback = debug.traceback
local format, concat = string.format, table.concat
local type, pairs, ipairs, tostring, select = type, pairs, ipairs, tostring, select

--- Marks t (default {}) as a JSON array so an empty one encodes as [].
function M.array(t)
  return setmetatable(t or {}, array_mt)
end

--- True when v is JSON null inside a value.
function M.is_null(v)
  return v == core.null
end

-- Logging ---------------------------------------------------------------------------

local LEVELS = { error = 0, warn = 1, info = 2, debug = 3, trace = 4 }

--- A logger whose lines carry ctx ("connector|task-0"); each method takes a format and args.
function M.logger(ctx)
  local log = {}
  for name, level in pairs(LEVELS) do
    log[name] = function(fmt, ...)
      if not core.log_enabled(level) then return end
      local msg = select("#", ...) > 0 and format(fmt, ...) or tostring(fmt)
      core.log(level, ctx, msg)
    end
  end
  return log
end

M.log = M.logger(nil)

-- Plugin definitions ----------------------------------------------------------------

local CONFIG_TYPES = {
  string = true, password = true, int = true, long = true, short = true, double = true,
  boolean = true, list = true, class = true,
}

local function check_definition(kind, def, required_fns)
  if type(def) ~= "table" then
    error(format("connect.%s expects a table, got %s", kind, type(def)), 3)
  end
  for _, fn in ipairs(required_fns) do
    if type(def[fn]) ~= "function" then
      error(format("connect.%s: '%s' must be a function", kind, fn), 3)
    end
  end
  def.config = def.config or {}
  for key, d in pairs(def.config) do
    if type(d) ~= "table" then
      error(format("connect.%s: config '%s' must be a table", kind, tostring(key)), 3)
    end
    d.type = d.type or "string"
    if not CONFIG_TYPES[d.type] then
      error(format("connect.%s: config '%s' has unknown type '%s'", kind, key, tostring(d.type)), 3)
    end
  end
  if def.task_class ~= nil and type(def.task_class) ~= "string" then
    error(format("connect.%s: 'task_class' must be a string (the task.class of its task "
      .. "configs), got %s", kind, type(def.task_class)), 3)
  end
  def.version = def.version or "0.0.0"
  def.doc = def.doc or ""
  def.aliases = def.aliases or {}
  def._kind = kind
  return def
end

--- Declares a source connector: poll(task) returns a list of records, or (a line source)
-- poll_lines(task) returns the text of complete lines and what their records share.
function M.source(def)
  if type(def) == "table" and def.poll == nil and def.poll_lines ~= nil then
    return check_definition("source", def, { "poll_lines" })
  end
  return check_definition("source", def, { "poll" })
end

--- Declares a sink connector: put(task, records); optional flush(task, offsets).
function M.sink(def)
  return check_definition("sink", def, { "put" })
end

--- Declares a single-message transform: apply(record, cfg) returns a record, nil or a list.
function M.transform(def)
  return check_definition("transform", def, { "apply" })
end

--- Declares a predicate: test(record, cfg) returns true or false.
function M.predicate(def)
  return check_definition("predicate", def, { "test" })
end

-- Config validation -----------------------------------------------------------------

-- Keys the worker itself handles; a connector script need not define them.
local COMMON_KEYS = {
  name = true, ["connector.class"] = true, ["tasks.max"] = true, topics = true,
  ["topics.regex"] = true, transforms = true, predicates = true, ["key.converter"] = true,
  ["value.converter"] = true, ["header.converter"] = true, ["config.action.reload"] = true,
  ["exactly.once.support"] = true, ["transaction.boundary"] = true,
  ["offsets.storage.topic"] = true, ["topic.creation.groups"] = true,
  ["transaction.boundary.interval.ms"] = true, ["tasks.max.enforce"] = true,
}
local COMMON_PREFIXES = {
  "transforms.", "predicates.", "key.converter.", "value.converter.", "header.converter.",
  "errors.", "producer.override.", "consumer.override.", "admin.override.", "topic.creation.",
}

local function is_common(key)
  if COMMON_KEYS[key] then return true end
  for _, p in ipairs(COMMON_PREFIXES) do
    if key:sub(1, #p) == p then return true end
  end
  return false
end

local function edit_distance(a, b)
  local prev = {}
  for j = 0, #b do prev[j] = j end
  for i = 1, #a do
    local cur = { [0] = i }
    for j = 1, #b do
      local cost = a:byte(i) == b:byte(j) and 0 or 1
      cur[j] = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
    end
    prev = cur
  end
  return prev[#b]
end

--- The closest of candidates to word, or nil when none is close (for "did you mean").
function M._suggest(word, candidates)
  local best, best_d
  for _, c in ipairs(candidates) do
    local d = edit_distance(word:lower(), c:lower())
    local closer = not best_d or d < best_d
      or (d == best_d and math.abs(#c - #word) < math.abs(#best - #word))
    if d <= math.max(2, math.floor(#c / 4)) and closer then
      best, best_d = c, d
    end
  end
  return best
end

local function trim(s)
  return (s:gsub("^%s+", ""):gsub("%s+$", ""))
end

local function coerce(d, raw)
  local t = d.type
  if t == "string" or t == "password" or t == "class" then
    return raw
  elseif t == "int" or t == "long" or t == "short" then
    local s = trim(raw)
    if not s:match("^[-+]?%d+$") then return nil, format("expected %s, got '%s'", t, raw) end
    local n = tonumber(s)
    if t == "int" and (n < -2147483648 or n > 2147483647) then
      return nil, format("expected int, got '%s' (out of range)", raw)
    end
    return n
  elseif t == "double" then
    local n = tonumber(trim(raw))
    if not n then return nil, format("expected double, got '%s'", raw) end
    return n
  elseif t == "boolean" then
    local s = trim(raw):lower()
    if s == "true" then return true elseif s == "false" then return false end
    return nil, format("expected boolean (true or false), got '%s'", raw)
  elseif t == "list" then
    local out = {}
    for item in raw:gmatch("[^,]+") do
      item = trim(item)
      if item ~= "" then out[#out + 1] = item end
    end
    return out
  end
  return raw
end

--- Validates raw (string -> string) against defs. label prefixes every error
-- ("connector 'x'"); allow_common accepts the worker's own keys. Returns the typed
-- config (defaults filled, undefined common keys kept as strings) and a list of errors.
function M._validate(label, defs, raw, allow_common)
  local out, errors, names = {}, {}, {}
  for key in pairs(defs) do names[#names + 1] = key end
  table.sort(names)
  for key, value in pairs(raw) do
    local d = defs[key]
    if d then
      local v, err = coerce(d, value)
      if err then
        errors[#errors + 1] = format("%s: key '%s': %s", label, key, err)
      else
        if d.values then
          local ok = false
          for _, allowed in ipairs(d.values) do
            if allowed == v then ok = true end
          end
          if not ok then
            err = format("must be one of %s, got '%s'", concat(d.values, ", "), tostring(value))
          end
        end
        if not err and d.validate then err = d.validate(v) end
        if err then
          errors[#errors + 1] = format("%s: key '%s': %s", label, key, err)
        else
          out[key] = v
        end
      end
    elseif allow_common and is_common(key) then
      out[key] = value
    else
      local hint = M._suggest(key, names)
      errors[#errors + 1] = format("%s: unknown key '%s'%s", label, key,
        hint and format(" (did you mean '%s'?)", hint) or "")
    end
  end
  for _, key in ipairs(names) do
    local d = defs[key]
    if out[key] == nil and raw[key] == nil then
      if d.default ~= nil then
        out[key] = d.default
      elseif d.required then
        errors[#errors + 1] = format("%s: missing required key '%s'%s", label, key,
          d.doc and d.doc ~= "" and format(" (%s)", d.doc) or "")
      end
    end
  end
  table.sort(errors)
  return out, errors
end

-- Loading plugins -------------------------------------------------------------------

local loaded_files = {} -- path -> true: every script this state loaded (hot reload watches them)

--- Loads the plugin script at path and returns its definition; errors name the file.
function M._load(path, want_kind)
  loaded_files[path] = true
  local chunk, err = core.loadfile(path)
  if not chunk then error(err, 0) end
  local ok, def = xpcall(chunk, traceback)
  if not ok then error(format("%s: %s", path, tostring(def)), 0) end
  if type(def) ~= "table" or not def._kind then
    error(format("%s: the script must return connect.source{...}, connect.sink{...}, "
      .. "connect.transform{...} or connect.predicate{...}", path), 0)
  end
  if want_kind and def._kind ~= want_kind
      and not (want_kind == "connector" and (def._kind == "source" or def._kind == "sink")) then
    error(format("%s: is a %s, expected a %s", path, def._kind, want_kind), 0)
  end
  def._path = path
  return def
end

--- Describes the plugin at path for `luaconnect plugins` and the worker's class lookup.
function M._describe(path)
  local def = M._load(path)
  return { kind = def._kind, version = def.version, doc = def.doc, aliases = def.aliases,
    variants = def.variants and true or false }
end

local function secrets_of(defs)
  local out = {}
  for key, d in pairs(defs) do
    if d.type == "password" then out[#out + 1] = key end
  end
  table.sort(out)
  return out
end

--- Validates a connector config (string map) against the script at path and splits it
-- into at most max_tasks task configs. Returns kind, task configs (list), errors and the
-- keys whose definition is a password (masked in the REST API).
function M._plan(path, label, raw, max_tasks)
  local def = M._load(path, "connector")
  local cfg, errors = M._validate(label, def.config, raw, true)
  -- KIP-618: transaction.boundary=connector only with a script that ends its own transactions
  -- (connect.source { transactions = true, ... } and task.transaction:commit()).
  if raw["transaction.boundary"] == "connector" and not def.transactions then
    errors[#errors + 1] = format("%s: key 'transaction.boundary': 'connector' needs a connector "
      .. "that defines its own transactions (transactions = true in its connect.source{} and "
      .. "task.transaction:commit()); %s does not", label, path)
  end
  if #errors > 0 then return def._kind, nil, errors, secrets_of(def.config) end
  local tasks = { cfg }
  if def.task_configs then
    local ok, res = pcall(def.task_configs, cfg, max_tasks)
    if not ok then return def._kind, nil, { format("%s: %s", label, tostring(res)) } end
    tasks = res
    if type(tasks) ~= "table" then
      return def._kind, nil, { format("%s: task_configs() must return a list of configs", label) }
    end
  end
  for i = max_tasks + 1, #tasks do tasks[i] = nil end
  -- A task config holds what the user set and what task_configs() put there, not the
  -- script's defaults (as Kafka Connect's task configs): a task gets them back when it
  -- opens (retype), so a config written by either runs the same.
  for _, t in ipairs(tasks) do
    if type(t) == "table" then
      for key, d in pairs(def.config or {}) do
        if raw[key] == nil and d.default ~= nil and t[key] == d.default then t[key] = nil end
      end
      -- Connect names each task's Task class (task.class): the script's Java counterpart
      -- (task_class = "...") or, without one, the connector.class the user gave.
      t["task.class"] = def.task_class or raw["connector.class"]
    end
  end
  return def._kind, tasks, {}, secrets_of(def.config), def.version and tostring(def.version)
end

local TYPE_NAMES = {
  string = "STRING", password = "PASSWORD", int = "INT", long = "LONG", short = "SHORT",
  double = "DOUBLE", boolean = "BOOLEAN", list = "LIST", class = "CLASS",
}

--- The config definitions of the plugin at path in Kafka Connect's ConfigKeyInfo shape
-- (GET /connector-plugins/{p}/config), sorted by name, plus its kind.
function M._plugin_config(path)
  local def = M._load(path)
  local names, out = {}, {}
  for key in pairs(def.config) do names[#names + 1] = key end
  table.sort(names)
  for i, key in ipairs(names) do
    local d = def.config[key]
    local default = d.default
    if type(default) == "table" then
      local parts = {}
      for j, v in ipairs(default) do parts[j] = tostring(v) end
      default = concat(parts, ",")
    elseif default ~= nil then
      default = tostring(default)
    end
    out[i] = {
      name = key, type = TYPE_NAMES[d.type] or "STRING",
      required = d.required == true and d.default == nil,
      default_value = default == nil and M.null or default,
      importance = d.importance or (d.required and "HIGH" or "MEDIUM"),
      documentation = d.doc or "", group = d.group or M.null, width = "NONE",
      display_name = d.display_name or key, dependents = M.array{},
      -- Kafka Connect's ConfigDef: -1 for a key defined without a group and order
      order_in_group = d.order_in_group or (d.group and i or -1),
      recommended_values = M.array(d.values or {}),
    }
  end
  return def._kind, out
end

-- Transform chains ------------------------------------------------------------------

local function build_step(label, spec)
  local def = M._load(spec.path, "transform")
  local cfg, errors = M._validate(format("%s: transform '%s'", label, spec.alias), def.config,
    spec.config, false)
  if #errors > 0 then error(concat(errors, "\n"), 0) end
  local label_t = format("%s: transform '%s'", label, spec.alias)
  if def.variants then
    if not spec.variant then
      error(format("%s: type needs a $Key or $Value variant (e.g. %s$Value)", label_t,
        def.aliases[1] or spec.path:match("([^/]+)%.lua$")), 0)
    end
    cfg._target = spec.variant
  elseif spec.variant then
    error(format("%s: this transform has no $Key/$Value variants", label_t), 0)
  end
  if def.init then
    local ok, res = pcall(def.init, cfg)
    if not ok then error(format("%s: %s", label_t, tostring(res)), 0) end
    cfg = res or cfg
  end
  local step = { alias = spec.alias, type = spec.type or spec.path, apply = def.apply, cfg = cfg,
    negate = spec.negate, dropped = 0, timed = 0, timed_ns = 0,
    reads_headers = def.reads_headers ~= false, blind = def.content_blind == true,
    edit = def.edit }
  if spec.predicate then
    local p = spec.predicate
    local pdef = M._load(p.path, "predicate")
    local pcfg, perr = M._validate(format("%s: predicate '%s'", label, p.alias), pdef.config,
      p.config, false)
    if #perr > 0 then error(concat(perr, "\n"), 0) end
    if pdef.init then
      local ok, res = pcall(pdef.init, pcfg)
      if not ok then error(format("%s: predicate '%s': %s", label, p.alias, tostring(res)), 0) end
      pcfg = res or pcfg
    end
    step.test, step.pcfg, step.edit_test = pdef.test, pcfg, pdef.edit_test
    step.reads_headers = step.reads_headers or pdef.reads_headers ~= false
    step.blind = step.blind and pdef.content_blind == true
  end
  return step
end

-- Whether a sink record's headers may be read by anyone: put() unless the sink declares
-- reads_headers = false, and every transform and predicate of the chain likewise. When none
-- does, the worker leaves the message headers unparsed (task._reads_headers, read once a
-- batch), which nobody can tell from the headers being there.
local function reads_headers(def, chain)
  if def.reads_headers ~= false then return true end
  for _, step in ipairs(chain) do
    if step.reads_headers then return true end
  end
  return false
end

-- Whether a lazy_values sink's chain is a text chain (see "Text chains" below): every
-- transform defines edit and every predicate edit_test.
local function text_chain(def, chain)
  if def.lazy_values ~= true or #chain == 0 then return false end
  for _, step in ipairs(chain) do
    if type(step.edit) ~= "function" then return false end
    if step.test and type(step.edit_test) ~= "function" then return false end
  end
  return true
end

-- Whether a sink record's JSON value (schemaless) may be decoded when it is first read
-- instead of when the record is made: the sink declares lazy_values = true (put() mostly
-- hands values to the worker undecoded, as FileStreamSink's core.json_lines does) and no
-- transform runs before put() (a transform reads every value) or the chain is a text chain
-- (the worker edits the value's text instead).
local function lazy_values(def, chain)
  return def.lazy_values == true and (#chain == 0 or text_chain(def, chain))
end
M._text_chain_of = text_chain -- specs

-- Whether a lazy sink's batch of lines only may skip its record tables: the sink defines
-- put_lines(task, text, n), which gets the text connect.json.lines(records) would give.
local function puts_lines(def, chain)
  return lazy_values(def, chain) and type(def.put_lines) == "function"
end

-- Whether the records of a line source may be written by the worker without record tables:
-- every transform and predicate of the chain declares content_blind = true (what it does to
-- a record does not depend on the text of its string values: it may wrap, move, rename or
-- route them), so the chain's result for one line, computed once, holds for every line.
local function lines_chain(task)
  if type(task._def.poll_lines) ~= "function" then return false end
  for _, step in ipairs(task._chain) do
    if not step.blind then
      task.log.debug("records are made in Lua: transform '%s' (%s) is not content_blind",
        step.alias, step.type)
      return false
    end
  end
  return true
end

--- Builds a transform chain from specs {alias, path, config, predicate?, negate?}.
function M._chain(label, specs)
  local chain = {}
  for i, spec in ipairs(specs) do chain[i] = build_step(label, spec) end
  return chain
end

--- The files this state's code came from: plugin scripts loaded through _load and the
-- modules required from package.path (the SDK's own modules included). Sorted list.
function M._script_files()
  local seen, out = {}, {}
  for path in pairs(loaded_files) do seen[path] = true end
  for name in pairs(package.loaded) do
    if type(name) == "string" then
      local path = package.searchpath(name, package.path)
      if path then seen[path] = true end
    end
  end
  for path in pairs(seen) do out[#out + 1] = path end
  table.sort(out)
  return out
end

-- What the worker reads of a task's chain (task._def, task._chain), set when the task opens
-- and when its chain changes; what was made for the previous chain is dropped.
local function chain_state(task)
  local def, chain = task._def, task._chain
  task._reads_headers = reads_headers(def, chain)
  task._lazy_values = lazy_values(def, chain)
  task._put_lines = puts_lines(def, chain)
  task._text_chain, task._text_edits, task._text_topics = text_chain(def, chain), {}, 0
  task._line_tpl, task._line_off = nil, nil
  task._lines_chain = lines_chain(task)
end

--- Hot reload of the transforms only: builds the chain anew from the (changed) scripts
-- and swaps it in between two batches.
function M._rechain(task, chain_specs)
  task._chain = M._chain(format("connector '%s'", task.name), chain_specs or {})
  chain_state(task)
end

-- Errors ------------------------------------------------------------------------------

local retriable_mt = { __tostring = function(e) return e.message end }

--- Raises an error the worker retries (errors.retry.timeout), like Kafka's RetriableException.
function M.retriable(message)
  error(setmetatable({ message = tostring(message), retriable = true }, retriable_mt), 2)
end

-- xpcall handler: keep retriable errors as tables (with their trace), others as text.
local function on_error(e)
  if type(e) == "table" and e.retriable then
    e.trace = traceback(e.message, 2)
    return e
  end
  return traceback(tostring(e), 2)
end

-- A transform may return one record, nil (drop) or a list of records (fan out).
local function is_record_list(r)
  return r[1] ~= nil and getmetatable(r) ~= array_mt and r.topic == nil and r.value == nil
end

local current_step -- the step running now, so a failure can name its transform

-- Per-transform time is measured on one record in sample_every (0: never): one clock read
-- per step boundary of that record only (4 for a chain of 3); the other records pay one
-- decrement and one comparison. Each record a timed record fans out into is timed too.
local sample_every, sample_left = 256, 1

--- Times one record in every (0: none) per transform chain run, from the next record on
-- (benchmarks and specs; the worker keeps the default, 256).
function M._sample_transforms(every)
  sample_every, sample_left = every, 1
end

-- A chain runs as a function generated for it (chain_runner): the loop over the steps
-- unrolled into a call site per step, so that each call site sees a single apply function and
-- the JIT compiles the whole chain into the record loop's trace (a loop dispatching to a
-- different function at one call site per iteration leaves the trace on every step). One
-- template gives every variant: untimed and timed (each step, its predicate included, measured
-- into step.timed and step.timed_ns, which the metrics page reads), unrolled for chains of up to
-- COMPILED_STEPS_MAX steps and a loop for longer ones (one trace for all their steps could
-- exceed the JIT's trace length). run(rec, out, from) runs steps from..#chain; a record a step
-- fans out into continues at the next step through the same function. The step tables are
-- read per record (apply, cfg, test, pcfg, negate): a chain is a plain list of steps.
local function set_current_step(step) current_step = step end

local COMPILED_STEPS_MAX = 16

-- One step: {I} its index (a number, or "i" in the loop), {NEXT} the next one, {T} the timing.
local STEP_CODE = [[
    step = chain[{I}]
    set_step(step)
    r = rec
    if not step.test or (step.test(rec, step.pcfg) and true or false) ~= (step.negate == true) then
      r = step.apply(rec, step.cfg)
    end{T}
    if r ~= rec then
      if r == nil then
        step.dropped = step.dropped + 1 -- the metrics page reads it (_chain_dropped)
        return
      end
      if is_record_list(r) then
        for _, each in ipairs(r) do run(each, out, {NEXT}) end
        return
      end
      rec = r
    end
]]
local TIMING_CODE = [[

    t1 = clock_ns()
    step.timed, step.timed_ns = step.timed + 1, step.timed_ns + (t1 - t0)
    t0 = t1]]

local function step_code(i, timed)
  local next_i = type(i) == "number" and tostring(i + 1) or i .. " + 1"
  return (STEP_CODE:gsub("{(%u+)}", { I = tostring(i), NEXT = next_i, T = timed and TIMING_CODE or "" }))
end

-- steps: the chain's steps (a copy, so the cache below does not hold the chain).
local function generate(steps, timed)
  local n, body = #steps, {}
  if n > COMPILED_STEPS_MAX then
    body[1] = "  for i = from, #chain do\n" .. step_code("i", timed) .. "  end\n"
  else
    for i = 1, n do
      body[i] = format("  if from <= %d then\n%s  end\n", i, step_code(i, timed))
    end
  end
  local src = format([[
local chain, is_record_list, set_step, ipairs, clock_ns = ...
local run
run = function(rec, out, from)
  local step, r, t1
  local t0 = %s
%s  out[#out + 1] = rec
end
return run
]], timed and "clock_ns() -- one clock read per step boundary" or "nil", concat(body))
  return assert(load(src, timed and "=(timed transform chain)" or "=(transform chain)"))(
    steps, is_record_list, set_current_step, ipairs, clock_ns)
end

-- chain -> {steps, run, timed}: generated on the chain's first use, again when its steps
-- changed since (specs build and edit their own chains).
local compiled = setmetatable({}, { __mode = "k" })

-- The function that runs chain, timed or not.
local function chain_runner(chain, timed)
  local c = compiled[chain]
  local same = c and #c.steps == #chain
  for i = 1, same and #chain or 0 do
    if c.steps[i] ~= chain[i] then same = false break end
  end
  if not same then
    local steps = {}
    for i = 1, #chain do steps[i] = chain[i] end
    c = { steps = steps }
    compiled[chain] = c
  end
  local key = timed and "timed" or "run"
  if not c[key] then c[key] = generate(c.steps, timed) end
  return c[key]
end

local function describe_record(rec, i, n)
  if rec.source_partition ~= nil then
    return format("record %d of %d (source partition %s, offset %s)", i, n,
      core.json_encode(rec.source_partition) or "?", core.json_encode(rec.source_offset) or "?")
  elseif rec.offset ~= nil then
    return format("record %d of %d (topic %s, partition %s, offset %s)", i, n,
      tostring(rec.topic), tostring(rec.partition), tostring(rec.offset))
  end
  return format("record %d of %d", i, n)
end
M._describe_record = describe_record

-- Retries a record whose first attempt failed with err, as errors.retry.timeout allows
-- (Kafka's backoff: 300 ms doubling up to errors.retry.delay.max.ms). Returns true, or false
-- and the last error.
local function retry(chain, rec, out, policy, err)
  local timeout = policy and policy.retry_timeout or 0
  local deadline, delay = nil, 300
  while type(err) == "table" and err.retriable and timeout ~= 0 do
    local now = core.now_ms()
    deadline = deadline or (timeout < 0 and math.huge or now + timeout)
    if now + delay > deadline then break end
    core.sleep_ms(delay)
    delay = math.min(delay * 2, policy.retry_delay_max or 60000)
    local mark = #out
    local ok
    ok, err = xpcall(chain_runner(chain, false), on_error, rec, out, 1)
    if ok then return true end
    for j = #out, mark + 1, -1 do out[j] = nil end -- drop a partial fan-out
  end
  return false, err
end

-- Where a batch run stopped: the record being processed and the output length before it.
local at_record, at_mark

local function skip_entry(rec)
  return { _lc = "skip", source_partition = rec.source_partition, source_offset = rec.source_offset }
end

-- A sink record the worker edited as text (_text_edit): its line holds the chain's result.
local EDITED = "\0line"

local function run_batch(chain, records, from, out, markers, edited)
  local run = chain_runner(chain, false)
  for i = from, #records do
    local rec, mark = records[i], #out
    at_record, at_mark = i, mark
    if edited then
      if rawget(rec, EDITED) ~= nil then
        out[mark + 1] = rec
        goto next
      end
      -- the record the worker left to the chain to be timed
      if i == edited and sample_every > 0 then sample_left = 1 end
    end
    sample_left = sample_left - 1
    if sample_left ~= 0 then
      run(rec, out, 1)
    else
      sample_left = sample_every
      -- 0: below 0 from now on, never again
      chain_runner(chain, sample_every > 0)(rec, out, 1)
    end
    if markers and #out == mark and rec.source_partition ~= nil then out[mark + 1] = skip_entry(rec) end
    ::next::
  end
end

--- Applies the chain to each record of a batch, each record on its own: a failure affects
-- that record only. policy: {tolerant, retry_timeout, retry_delay_max}. Without tolerance a
-- failure raises an error naming the record, the stage, the transform and the traceback.
-- With tolerance, failures are returned as entries {_lc="error", index, stage, class,
-- message, trace, record}: in order inside the output when markers is true (sources, where
-- order matters for offsets), else in a second list. With markers, a dropped source record
-- leaves {_lc="skip", source_partition, source_offset} so its offset is still committed.
-- The batch runs under one xpcall; after a failure it resumes with the next record.
-- edited: a sink batch of a text chain, whose edited records pass as they are; its value is
-- the number of the record to time (0: none; lua/sink_api.c's TEXT_SAMPLE_FIELD).
function M._apply_chain(chain, records, policy, markers, edited)
  if #chain == 0 then return records, nil end
  local out, failures, n, from = {}, nil, #records, 1
  local tolerant = policy and policy.tolerant
  while from <= n do
    local ok, err = xpcall(run_batch, on_error, chain, records, from, out, markers, edited)
    if ok then break end
    local i, mark, step = at_record, at_mark, current_step
    local rec = records[i]
    for j = #out, mark + 1, -1 do out[j] = nil end -- drop a partial fan-out
    ok, err = retry(chain, rec, out, policy, err)
    if ok then
      if markers and #out == mark and rec.source_partition ~= nil then out[mark + 1] = skip_entry(rec) end
    else
      local trace = type(err) == "table" and err.trace or err
      local message = type(err) == "table" and err.message or tostring(err):match("^[^\n]*")
      if not tolerant then
        error(format("%s: stage TRANSFORMATION: transform '%s' (%s): %s", describe_record(rec, i, n),
          step.alias, step.type, trace), 0)
      end
      local entry = { _lc = "error", index = i, stage = "TRANSFORMATION", class = step.type,
        message = message, trace = trace, record = rec, where = describe_record(rec, i, n) }
      if markers then
        out[#out + 1] = entry
      else
        failures = failures or {}
        failures[#failures + 1] = entry
      end
    end
    from = i + 1
  end
  return out, failures
end

-- Tasks -----------------------------------------------------------------------------

--- Creates the task context a script sees: task.config, task.id, task.name, task.log,
-- task.offsets (set by the core), and runs the script's open().
-- errors (from the errors.* keys): {tolerant, retry_timeout, retry_delay_max}.
-- A task config read from Kafka Connect's config topic is a map of strings (distributed
-- mode, or written by Kafka Connect itself): give the keys the script defines their types
-- again, as validation gave them when the config was planned.
local function retype(defs, config)
  -- A config written by Kafka Connect holds only what its connector put there: defaults
  -- the script defines fill the rest, as validation fills them.
  for key, d in pairs(defs or {}) do
    if config[key] == nil and d.default ~= nil then config[key] = d.default end
  end
  for key, value in pairs(config) do
    local d = defs and defs[key]
    if d and type(value) == "string" and d.type ~= "string" and d.type ~= "password"
        and d.type ~= "class" then
      local v = coerce(d, value)
      if v ~= nil then config[key] = v end
    end
  end
  return config
end

function M._task_open(path, config, id, name, offsets, chain_specs, errors)
  local def = M._load(path, "connector")
  config = retype(def.config, config)
  local ctx = format("%s|task-%d", name, id)
  local task = {
    config = config, id = id, name = name, log = M.logger(ctx), offsets = offsets,
    _def = def, _chain = M._chain(format("connector '%s'", name), chain_specs or {}),
    _errors = errors or {},
  }
  chain_state(task)
  --- Errant-record reporter for sinks (Kafka's ErrantRecordReporter): put() hands a record it
  -- cannot write to the error path (errors.log, the DLQ) instead of failing the task.
  function task.report(record, message)
    local index = task._batch_index
    if not index and task._batch then -- made on the first report of a batch, not per batch
      index = {}
      for j, r in ipairs(task._batch) do index[r] = j end
      task._batch_index = index
    end
    local i = index and index[record]
    if not i then error("task.report(): the record is not one of the current put() batch", 2) end
    message = tostring(message)
    if not task._errors.tolerant then error(message, 2) end
    task._reported = task._reported or {}
    task._reported[#task._reported + 1] = { _lc = "error", index = i, stage = "TASK_PUT",
      class = def.aliases[1] or def._path, message = message:match("^[^\n]*"),
      trace = traceback(message, 2), record = record }
  end
  --- Kafka Connect's TransactionContext for transaction.boundary=connector (exactly-once
  -- sources): commit() or abort() ends the open transaction once the current poll() batch is
  -- written (with abort, that batch and the rest of the transaction are discarded).
  task.transaction = {
    commit = function() task._txn = "commit" end,
    abort = function() task._txn = "abort" end,
  }
  --- Kafka's SinkTaskContext.timeout(ms): after put() raised connect.retriable(), wait at
  -- most ms before the batch is delivered again (by default: until the next offset commit).
  function task.timeout(ms) task._timeout = tonumber(ms) end
  if def.open then def.open(task) end
  return task
end

-- Line sources ----------------------------------------------------------------------
--
-- A source may define poll_lines(task) instead of poll(): it returns text, n complete lines
-- each ending in "\n" (a "\r" before it is not part of the line; a string, or a line buffer
-- whose batch they are, connect.line_buffer), and info, what their
-- records share: {topic, source_partition, offset_field, position}. Line k's record is
--   { topic = info.topic, value = <line k>, value_schema = {type="string"},
--     source_partition = info.source_partition,
--     source_offset = { [info.offset_field] = info.position + <bytes of lines 1..k> } }
-- (no source_offset without a source_partition), which the SDK makes for the transform
-- chain. When every transform of the chain is content_blind, no record is made: the chain
-- runs once on a record whose value is LINE_HOLE (its result is the "template"), and the
-- worker writes each line into the converted template in place of the hole.

local LINE_STRING_SCHEMA = core.freeze_schema { type = "string", optional = false }
local cut_lines = core.cut_lines
local LINE_BUFFER_MT = getmetatable(core.line_buffer())
local LINE_HOLE = "lc-line-hole-5f0c2e9a7b31d846"
local find, sub, byte = string.find, string.sub, string.byte
local line_tpl_gen = 0

-- The records of a poll_lines() batch, as described above.
local function line_records(text, info)
  if type(text) ~= "string" then text = text:text() end -- a line buffer
  local out, n, at, len = {}, 0, 1, #text
  local topic, part, field = info.topic, info.source_partition, info.offset_field or "position"
  local pos = part ~= nil and info.position or nil
  while at <= len do
    local nl = find(text, "\n", at, true) or len + 1
    local stop = nl - 1
    if stop >= at and byte(text, stop) == 13 then stop = stop - 1 end
    if pos then pos = pos + ((nl <= len and nl or len) - at + 1) end
    n = n + 1
    out[n] = { topic = topic, value = sub(text, at, stop), value_schema = LINE_STRING_SCHEMA,
      source_partition = part, source_offset = pos and { [field] = pos } or nil }
    at = nl + 1
  end
  return out
end

-- The chain's result for a line of this batch's kind, made once per topic and source
-- partition; nil (task._line_off says why) when it cannot stand for every line.
local function line_template(task, info)
  local t = task._line_tpl
  if t and t.in_topic == info.topic and t.part == info.source_partition then return t end
  if task._line_off then return nil end
  local probe = line_records(LINE_HOLE .. "\n",
    { topic = info.topic, source_partition = info.source_partition,
      offset_field = info.offset_field, position = info.position })[1]
  local ok, out = pcall(M._apply_chain, task._chain, { probe }, nil, false)
  local rec = ok and #out == 1 and out[1]
  local why = not ok and "the transform chain fails on a line: " .. tostring(out):match("^[^\n]*")
    or not rec and "the transform chain does not give one record a line"
    or rec.headers ~= nil and next(rec.headers) ~= nil and "the transform chain adds headers"
    or (rec.timestamp ~= nil or rec.partition ~= nil) and "the transform chain sets a timestamp or partition"
    or type(rec.topic) ~= "string" and "the transform chain gives no topic"
    or (rec.source_partition ~= probe.source_partition or rec.source_offset ~= probe.source_offset)
      and "the transform chain changes the source offset"
  if why then
    task._line_off = why
    task.log.debug("records are made in Lua: %s", why)
    return nil
  end
  line_tpl_gen = line_tpl_gen + 1
  t = { gen = line_tpl_gen, in_topic = info.topic, part = info.source_partition, record = rec,
    hole = LINE_HOLE }
  task._line_tpl = t
  task.log.debug("the worker writes each line into the transform chain's result for one line "
    .. "(topic %s)", rec.topic)
  return t
end

-- The per-transform time of lines the worker writes: the records of the lines that would
-- have been timed (one in sample_every, as run_batch times records) are made and run through
-- the timed chain, and their results dropped (the template stands for them).
local function time_lines(task, text, info)
  local buffer = type(text) ~= "string"
  local n
  if buffer then
    n = text:cut(0) -- extends the batch by no line: its line count
  else
    n = cut_lines(text, 1, #text + 1)
    if #text > 0 and byte(text, #text) ~= 10 then n = n + 1 end -- an unterminated last line
  end
  local k, at, done = sample_left, 1, 0
  while k <= n do
    local line, stop2
    if buffer then
      line = text:line(k)
    else
      local _, stop = cut_lines(text, at, k - done - 1)
      _, stop2 = cut_lines(text, stop + 1, 1)
      if stop2 == stop then stop2 = #text end
      line = sub(text, stop + 1, stop2)
    end
    local rec = line_records(line, info)[1]
    pcall(chain_runner(task._chain, true), rec, {}, 1)
    at, done = stop2 and stop2 + 1 or at, k
    k = k + sample_every
  end
  sample_left = k - n
end

--- One source batch as the worker takes it: poll() (or poll_lines()) then the transform
-- chain. Returns the entries to produce, in order: records, and with errors.tolerance=all
-- the error and skip entries described at _apply_chain. A line source whose chain allows it
-- returns text, template, info instead (see Line sources).
function M._source_next(task)
  local def, records, opts = task._def
  local text, info
  if def.poll_lines then
    text, info = def.poll_lines(task)
    opts = info
  else
    records, opts = def.poll(task)
  end
  -- transaction.boundary=connector: `return records, { commit = true }` (or abort) ends the
  -- transaction after this batch, as task.transaction:commit() does.
  if type(opts) == "table" then
    if opts.abort then task._txn = "abort" elseif opts.commit then task._txn = "commit" end
  end
  if text ~= nil then
    if type(text) ~= "string" and getmetatable(text) ~= LINE_BUFFER_MT then
      error(format("poll_lines() returned a %s; it returns a string of lines or a "
        .. "connect.line_buffer()", type(text)), 0)
    end
    if #text == 0 then return nil end
    if type(info) ~= "table" then
      error(format("poll_lines() returned no table of what its lines share ({topic, "
        .. "source_partition, offset_field, position}) after the lines, got %s", type(info)), 0)
    end
    local tpl = task._lines_chain and line_template(task, info)
    if tpl then
      if sample_every > 0 and #task._chain > 0 then time_lines(task, text, info) end
      return text, tpl, info
    end
    records = line_records(text, info)
  end
  if records == nil or records[1] == nil then return nil end
  return (M._apply_chain(task._chain, records, task._errors, true))
end

--- One source batch as a list of entries (what _source_next gives, lines made records).
function M._source_poll(task)
  local out, tpl, info = M._source_next(task)
  if tpl == nil then return out end -- entries, or nil
  return (M._apply_chain(task._chain, line_records(out, info), task._errors, true))
end

--- The worker cannot write a line batch into its template (why: a converter's result it
-- cannot cut at the hole): from now on this task's lines become records; this batch's too.
function M._source_lines_off(task, why, text, info)
  task._line_off, task._line_tpl = why, nil
  task.log.debug("records are made in Lua: %s", why)
  return (M._apply_chain(task._chain, line_records(text, info), task._errors, true))
end

-- An error re-raised from put(): its text already carries the traceback, so the core's
-- handler must not add a second one (it uses __tostring for tables).
local raised_mt = { __tostring = function(e) return e.text end }

-- Calls put() on the transformed records. A retriable error (connect.retriable) keeps them in
-- task._redeliver and returns nil, its message and the wait the script asked for with
-- task.timeout(ms); any other error is raised with put()'s traceback. On success returns the
-- batch's failures: the chain's (task._failures) then what put() reported (task.report).
local function sink_deliver(task, out)
  task._reported, task._timeout = nil, nil
  local ok, err = xpcall(task._def.put, on_error, task, out)
  if not ok then
    if type(err) == "table" and err.retriable then
      task._redeliver = out
      return nil, err.message, task._timeout
    end
    error(setmetatable({ text = tostring(err) }, raised_mt), 0)
  end
  local failures = task._failures
  for _, entry in ipairs(task._reported or {}) do
    failures = failures or {}
    failures[#failures + 1] = entry
  end
  task._batch, task._batch_index, task._redeliver, task._failures, task._reported = nil, nil, nil, nil, nil
  return failures
end

--- One sink batch: the transform chain then put(). Returns the tolerated failures (entries
-- whose index is the record's position in the batch) or nil; when put() raised
-- connect.retriable() also its message and task.timeout() (see _sink_redeliver).
function M._sink_put(task, records)
  -- task.report() finds a record's place in the batch: the index is made on the first report,
  -- from this list, which put() never gets (it may reorder its list).
  task._batch, task._batch_index = records, nil
  local out, failures = M._apply_chain(task._chain, records, task._errors, false,
    task._text_chain and (rawget(records, "text_sample") or 0) or nil)
  if out == records then
    local n = #records
    out = new_table(n, 0)
    for i = 1, n do out[i] = records[i] end
  end
  if out[1] == nil then
    task._batch = nil
    return failures
  end
  task._failures = failures
  return sink_deliver(task, out)
end

-- Text chains -----------------------------------------------------------------------
--
-- A sink that declares lazy_values = true, whose chain's transforms all define
-- edit(cfg, e) and whose predicates all define edit_test(cfg, topic), has its schemaless JSON
-- object values edited as text by the worker (core.json_edit, lua/json_canon.c), not decoded
-- and run through the Lua chain: InsertField$Value, ReplaceField$Value and RegexRouter do.
-- edit(cfg, e) says what apply() does to such a value of a record of topic e.topic, as ops on
-- e (below), and sets e.topic to the topic apply() gives; it returns false when it cannot
-- (a $Key variant). edit_test(cfg, topic) is what test() gives such a record. The chain runs
-- in Lua on the records the edit declines (not an object, a key with escapes) and on one in
-- a while for the transforms' time metrics; the results are the same (what is written).

local editor = {}
editor.__index = editor
local function op(e, ...) e.ops[#e.ops + 1] = { ... } end
--- name = the string s
function editor:set_string(name, s) op(self, "set_string", name, s) end
--- name = the record's partition, offset, timestamp (when it has one)
function editor:set_partition(name) op(self, "set_partition", name) end
function editor:set_offset(name) op(self, "set_offset", name) end
function editor:set_timestamp(name) op(self, "set_timestamp", name) end
--- the field name removed
function editor:drop(name) op(self, "drop", name) end
--- every field not in the list names removed
function editor:keep(names) op(self, "keep", names) end
--- renames: {old, new, old, new...}, all olds taken out first, then each set as its new
function editor:move(pairs_list) op(self, "move", pairs_list) end

local TEXT_TOPICS_MAX = 10000

-- The edit of a record of topic, or false when its records go through the Lua chain.
local function make_edit(task, topic)
  local e = setmetatable({ ops = {}, topic = topic }, editor)
  for _, step in ipairs(task._chain) do
    local applies = true
    if step.test then
      applies = (step.edit_test(step.pcfg, e.topic) and true or false) ~= (step.negate == true)
    end
    if applies and step.edit(step.cfg, e) == false then
      task.log.debug("records of topic %s go through the Lua chain: transform '%s' (%s) has no "
        .. "text edit here", topic, step.alias, step.type)
      return false
    end
  end
  if type(e.topic) ~= "string" then return false end
  return core.json_edit(e.ops, e.topic)
end

--- The worker's lookup (lua/sink_api.c), once a topic a batch: the text edit of records of
-- topic (a core.json_edit) or false. Kept per task until the chain changes; past
-- TEXT_TOPICS_MAX topics, records of new ones go through the Lua chain.
function M._text_edit(task, topic)
  local got = task._text_edits[topic]
  if got == nil then
    if task._text_topics >= TEXT_TOPICS_MAX then return false end
    local ok
    ok, got = pcall(make_edit, task, topic)
    if not ok then -- a script's edit or edit_test failed: the Lua chain says what it does
      task.log.warn("records of topic %s go through the Lua chain: its text edit failed: %s",
        topic, tostring(got))
      got = false
    end
    task._text_edits[topic], task._text_topics = got, task._text_topics + 1
  end
  return got
end

local function lines_deliver(task, text, n)
  task._reported, task._timeout = nil, nil
  local ok, err = xpcall(task._def.put_lines, on_error, task, text, n)
  if not ok then
    if type(err) == "table" and err.retriable then
      task._redeliver_lines = { text, n }
      return nil, err.message, task._timeout
    end
    error(setmetatable({ text = tostring(err) }, raised_mt), 0)
  end
  task._redeliver_lines = nil
  return nil
end

--- One sink batch whose records are all lazy and unread, for a sink that defines
-- put_lines (task._put_lines): the worker made no record tables, text holds the n lines
-- connect.json.lines(records) would give. Returns as _sink_put does (no failures: put_lines
-- has no record to report).
function M._sink_put_lines(task, text, n)
  return lines_deliver(task, text, n)
end

--- Delivers the batch whose put() (or put_lines()) raised connect.retriable() again, the
-- same records as transformed the first time (Kafka's WorkerSinkTask redelivers its
-- messageBatch). Returns as _sink_put does.
function M._sink_redeliver(task)
  local lines = task._redeliver_lines
  if lines then return lines_deliver(task, lines[1], lines[2]) end
  return sink_deliver(task, task._redeliver)
end

--- Partitions assigned to a sink task: the script's open_partitions(task, partitions) may
-- return {{topic, partition, offset}, ...} to start there (offsets it keeps itself).
function M._sink_open_partitions(task, partitions)
  if task._def.open_partitions then return task._def.open_partitions(task, partitions) end
  return nil
end

--- Partitions revoked from a sink task, after their last flush: the script's
-- close_partitions(task, partitions) lets go of what it holds for them (Kafka's close()).
function M._sink_close_partitions(task, partitions)
  if task._def.close_partitions then task._def.close_partitions(task, partitions) end
end

--- No record came for a while (Kafka's put() of no records): the script's idle(task), if any.
function M._sink_idle(task)
  if task._def.idle then task._def.idle(task) end
end

--- Sink flush before offsets are committed; offsets is a list of {topic, partition, offset}.
function M._sink_flush(task, offsets)
  if task._def.flush then task._def.flush(task, offsets) end
end

-- luaconnect test --------------------------------------------------------------------

--- Runs `luaconnect test` (lua/_testrun.lua): the chain over JSON lines, or a source's
-- poll() or a sink's put() offline. Returns the number of records that failed.
function M._test_run(opts, specs, kconv, vconv, kjson, vjson)
  return require("_testrun").run(opts, specs, kconv, vconv, kjson, vjson)
end

--- Closes the task (the script's close()).
function M._task_close(task)
  if task._def.close then task._def.close(task) end
end

return M
