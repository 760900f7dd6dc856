---@meta luaconnect
-- Annotations of the luaconnect SDK for lua-language-server (LuaLS): completion, hover docs
-- and type warnings for `require "luaconnect"` in any editor with LuaLS. Not loaded at run
-- time; installed next to the SDK (share/luaconnect/lua/types). Point LuaLS at it with a
-- .luarc.json (`luaconnect new` writes one):
--   { "workspace.library": ["<prefix>/share/luaconnect/lua/types"] }
-- docs/lua-sdk.md describes the same API in prose.

---A JSON value as the converters give it: nil, connect.null inside values, booleans,
---numbers (integers beyond 2^53 as int64 cdata), strings, tables (objects and arrays).
---@alias luaconnect.Value any

---A Connect schema (JsonConverter's envelope form): { type = "struct"|"string"|..., optional,
---name, version, fields = { {field =, type =, ...} }, ... }.
---@alias luaconnect.Schema table

---Record headers: an ordered list of {name, value} pairs (names may repeat); `h.name` reads
---the last value, `h.name = v` replaces every header of that name. See connect.headers.
---@class luaconnect.Headers

---A plain headers table a source may return: a list of {name, value} pairs (sent in order)
---or a map {name = value}.
---@alias luaconnect.HeadersInit luaconnect.Headers|table

---What transforms and predicates see: a source record on its way to Kafka, or a sink record
---on its way to put().
---@class luaconnect.Record
---@field topic string
---@field partition? integer
---@field offset? integer Sink records: the record's Kafka offset.
---@field timestamp? number Milliseconds since the epoch.
---@field key? luaconnect.Value
---@field key_schema? luaconnect.Schema
---@field value? luaconnect.Value
---@field value_schema? luaconnect.Schema
---@field headers? luaconnect.Headers
---@field source_partition? table Source records: which stream the record comes from.
---@field source_offset? table Source records: where in that stream; committed once Kafka acknowledged it.

---A record poll() returns. `topic` is required; the offset of a record is committed once
---Kafka acknowledged it and every earlier record of its source partition.
---@class luaconnect.SourceRecord
---@field topic string
---@field partition? integer Default: the producer's partitioner (by key).
---@field timestamp? number Milliseconds since the epoch.
---@field key? luaconnect.Value
---@field key_schema? luaconnect.Schema
---@field value? luaconnect.Value
---@field value_schema? luaconnect.Schema
---@field headers? luaconnect.HeadersInit
---@field source_partition? table e.g. { filename = "/var/log/app.log" }
---@field source_offset? table e.g. { position = 1234 }

---A record put() receives (after the connector's transforms).
---@class luaconnect.SinkRecord
---@field topic string
---@field partition integer
---@field offset integer
---@field timestamp? number
---@field key? luaconnect.Value
---@field key_schema? luaconnect.Schema
---@field value? luaconnect.Value
---@field value_schema? luaconnect.Schema
---@field headers? luaconnect.Headers

---A consumer position: the next offset to read from topic/partition.
---@class luaconnect.TopicPartitionOffset
---@field topic string
---@field partition integer
---@field offset integer

---@class luaconnect.TopicPartition
---@field topic string
---@field partition integer

---The committed source offsets of the task's connector.
---@class luaconnect.Offsets
local Offsets = {}

---The last committed source_offset of source_partition, or nil (first run).
---@param source_partition table
---@return table?
function Offsets:get(source_partition) end

---Lines in the worker's log, tagged with the task ("connector|task-0"); each method takes a
---string.format format and its arguments.
---@class luaconnect.Logger
---@field error fun(fmt: any, ...: any)
---@field warn fun(fmt: any, ...: any)
---@field info fun(fmt: any, ...: any)
---@field debug fun(fmt: any, ...: any)
---@field trace fun(fmt: any, ...: any)

---Kafka Connect's TransactionContext (transaction.boundary=connector).
---@class luaconnect.Transaction
---@field commit fun() Ends the open transaction once the current poll() batch is written.
---@field abort fun() Discards the current batch and the rest of the open transaction.

---The task a connector's functions receive. Scripts may keep their own state in it
---(task.position = ...); the fields below are the SDK's.
---@class luaconnect.Task
---@field config table<string, any> The task's config, typed by the script's definitions (defaults filled).
---@field id integer The task number (0-based).
---@field name string The connector's name.
---@field log luaconnect.Logger
---@field offsets luaconnect.Offsets Sources: the committed source offsets.
---@field transaction luaconnect.Transaction Sources with transactions = true.
---@field [string] any
local Task = {}

---Sinks, inside put(): hands one record of the batch to the error path (errors.log, the
---dead-letter queue) with errors.tolerance=all, and raises otherwise (ErrantRecordReporter).
---@param record luaconnect.SinkRecord
---@param message string
function Task.report(record, message) end

---Sinks: after put() raised connect.retriable(), deliver the batch again after at most ms
---(SinkTaskContext.timeout).
---@param ms integer
function Task.timeout(ms) end

---One config definition: `key = { type = "int", default = 100, doc = "..." }`.
---@class luaconnect.ConfigDef
---@field type? "string"|"password"|"int"|"long"|"short"|"double"|"boolean"|"list"|"class" Default "string"; list: comma-separated, trimmed.
---@field required? boolean A missing required key is an error naming the connector and the key.
---@field default? any The value when the key is absent (typed: 100, true, {"a","b"}).
---@field doc? string Shown in errors, GET /connector-plugins/{p}/config and docs.
---@field values? any[] The allowed values.
---@field validate? fun(value: any): string? Returns an error message, or nil when the value is fine.
---@field importance? "HIGH"|"MEDIUM"|"LOW"
---@field group? string
---@field display_name? string

---@class luaconnect.PluginDef
---@field version? string Shown by `luaconnect plugins` (default "0.0.0").
---@field doc? string One line a user reads in the plugin list.
---@field aliases? string[] Other names for connector.class / transforms.x.type (e.g. Kafka class names).
---@field config? table<string, luaconnect.ConfigDef>

---What a poll_lines() batch's records share.
---@class luaconnect.LinesInfo
---@field topic string Every record's topic.
---@field source_partition? table The records' source partition (none: no offsets).
---@field offset_field? string The source offset's key (default "position").
---@field position? number The offset of the text's first byte; a line's record gets position + the bytes up to its end.
---@field commit? boolean As poll()'s second result (transaction.boundary=connector).
---@field abort? boolean

---@class luaconnect.SourceDef: luaconnect.PluginDef
---@field poll? fun(task: luaconnect.Task): (luaconnect.SourceRecord[]?, { commit?: boolean, abort?: boolean }?) Records, or nil/{} when idle.
---@field poll_lines? fun(task: luaconnect.Task): ((string|luaconnect.LineBuffer)?, luaconnect.LinesInfo?) Instead of poll(): complete lines, each ending in "\n", whose records the SDK or the worker makes (value the line, value_schema string); nil when idle.
---@field open? fun(task: luaconnect.Task)
---@field close? fun(task: luaconnect.Task)
---@field task_configs? fun(config: table, max_tasks: integer): table[] Splits the work into at most max_tasks task configs.
---@field transactions? boolean The script ends its own transactions (transaction.boundary=connector).

---@class luaconnect.SinkDef: luaconnect.PluginDef
---@field put fun(task: luaconnect.Task, records: luaconnect.SinkRecord[]) One batch (up to 500 records).
---@field flush? fun(task: luaconnect.Task, offsets: luaconnect.TopicPartitionOffset[]) Make everything put so far durable; runs before offsets are committed.
---@field open? fun(task: luaconnect.Task)
---@field close? fun(task: luaconnect.Task)
---@field open_partitions? fun(task: luaconnect.Task, partitions: luaconnect.TopicPartition[]): luaconnect.TopicPartitionOffset[]? Start there instead of the group's offsets.
---@field task_configs? fun(config: table, max_tasks: integer): table[]

---@class luaconnect.TransformDef: luaconnect.PluginDef
---@field apply fun(record: luaconnect.Record, cfg: table): (luaconnect.Record|luaconnect.Record[]|nil) The record, nil to drop it, or a list to fan out.
---@field init? fun(cfg: table): table? Runs once per chain; may return a new cfg (compiled patterns...).
---@field variants? boolean The transform has $Key/$Value variants; cfg._target says which.
---@field content_blind? boolean What it does to a record never depends on the text of a string value (it may wrap, move, rename, route): a line source's records then need not be made (poll_lines).
---@field edit? fun(cfg: table, e: luaconnect.TextEdit): boolean? What apply() does to a schemaless JSON object value of a record of topic e.topic, as ops on e; false when it cannot say (docs/lua-sdk.md "Text chains").

---@class luaconnect.TextEdit
---@field topic string The record's topic; set it to the topic apply() gives.
---@field set_string fun(e: luaconnect.TextEdit, name: string, s: string) value[name] = s
---@field set_partition fun(e: luaconnect.TextEdit, name: string) value[name] = record.partition
---@field set_offset fun(e: luaconnect.TextEdit, name: string) value[name] = record.offset
---@field set_timestamp fun(e: luaconnect.TextEdit, name: string) value[name] = record.timestamp, when it has one
---@field drop fun(e: luaconnect.TextEdit, name: string) value[name] = nil
---@field keep fun(e: luaconnect.TextEdit, names: string[]) every field not named removed
---@field move fun(e: luaconnect.TextEdit, pairs: string[]) {old, new, ...}: all olds taken out, then each set as its new

---@class luaconnect.PredicateDef: luaconnect.PluginDef
---@field test fun(record: luaconnect.Record, cfg: table): boolean
---@field content_blind? boolean Its answer never depends on the text of a string value.
---@field edit_test? fun(cfg: table, topic: string): boolean What test() gives a record of topic whose value is a JSON object (a sink's text chain).
---@field init? fun(cfg: table): table?

---@class luaconnect.Stat
---@field size number
---@field ino number
---@field dev number
---@field mtime number Seconds since the epoch.

---@class luaconnect.HeadersModule
local headers = {}
---New headers from init: a list of {name, value} pairs (order kept) and/or a map.
---@param init? table
---@return luaconnect.Headers
function headers.new(init) end
---The headers of record, made headers in place if they are a plain table.
---@param record luaconnect.Record|luaconnect.SourceRecord
---@return luaconnect.Headers
function headers.of(record) end
---True when v is a headers list.
---@return boolean
function headers.is(v) end
---Appends {name, value}, even when a header called name is present.
---@param h luaconnect.Headers
---@param name string
function headers.add(h, name, value) end
---The last value of the header called name, or nil.
---@param h luaconnect.Headers
---@param name string
function headers.last(h, name) end
---Every value of the header called name, in order.
---@param h luaconnect.Headers
---@param name string
---@return any[]
function headers.all(h, name) end
---True when h has a header called name (null included).
---@param h luaconnect.Headers
---@param name string
---@return boolean
function headers.has(h, name) end
---Removes every header called name; returns how many went.
---@param h luaconnect.Headers
---@param name string
---@return integer
function headers.remove(h, name) end
---Sets the header called name to value alone.
---@param h luaconnect.Headers
---@param name string
function headers.set(h, name, value) end
---Iterator over (name, value) in order.
---@param h luaconnect.Headers
---@return fun(): string, any
function headers.each(h) end
---A copy of h, or nil for nil.
---@param h luaconnect.Headers?
---@return luaconnect.Headers?
function headers.copy(h) end
---The headers as a list of [name, value] pairs, or nil when empty.
---@param h luaconnect.Headers?
---@return table?
function headers.to_list(h) end

---@class luaconnect
local connect = {}

---JSON null inside a value (a field present with null); test with connect.is_null.
connect.null = nil ---@type lightuserdata
---The luaconnect version.
connect.version = "" ---@type string
---JSON with the converters' rules (object keys sorted, int64 kept).
connect.json = {
  ---@param v any
  ---@return string
  encode = function(v) end,
  ---@param text string
  ---@return any value, string? err
  decode = function(text) end,
  ---The text FileStreamSink writes for a batch: each record's value as JSON (a string as
  ---it is), a newline after each; nil when a value cannot be written so.
  ---@param records table[]
  ---@return string?
  lines = function(records) end,
}
---Promises that a schema table (and every table inside it) never changes from now on, so
---the converters write its JSON and compile a struct's fields once for all records carrying
---it. Decoded schemas and those the SMT builders make are frozen already.
---@generic T: table
---@param schema T
---@return T schema
function connect.freeze_schema(schema) end
---The worker's log, without a task tag.
connect.log = {} ---@type luaconnect.Logger
---Record headers (lua/_headers.lua).
connect.headers = headers

---Declares a source connector.
---@param def luaconnect.SourceDef
---@return luaconnect.SourceDef
function connect.source(def) end

---Declares a sink connector.
---@param def luaconnect.SinkDef
---@return luaconnect.SinkDef
function connect.sink(def) end

---Declares a single message transform.
---@param def luaconnect.TransformDef
---@return luaconnect.TransformDef
function connect.transform(def) end

---Declares a predicate.
---@param def luaconnect.PredicateDef
---@return luaconnect.PredicateDef
function connect.predicate(def) end

---Raises an error the worker retries (errors.retry.timeout; in put(): redelivery), like
---Kafka's RetriableException.
---@param message string
function connect.retriable(message) end

---Milliseconds since the epoch.
---@return number
function connect.now_ms() end

---stat(2) of path: {size, ino, dev, mtime}, or nil and the error.
---@param path string
---@return luaconnect.Stat?, string?
function connect.stat(path) end

---The complete lines of s from byte init on, at most max of them: their number, and the index of
---the last one's "\n" (init - 1 when none). For poll_lines().
---@param s string
---@param init integer
---@param max integer
---@return integer n, integer stop
function connect.cut_lines(s, init, max) end

---A line source's read buffer, in C memory (bytes read into Lua strings are hashed by LuaJIT
---byte by byte). poll_lines() may return it as its batch of lines.
---@class luaconnect.LineBuffer
---@field begin fun(self: luaconnect.LineBuffer) Drops the last batch: the next cut starts a new one.
---@field cut fun(self: luaconnect.LineBuffer, max: integer): integer, integer Extends the batch by the complete lines after it, up to max in all: its lines and bytes.
---@field fill fun(self: luaconnect.LineBuffer, file: file*, size: integer): integer Reads up to size bytes of file into the buffer; 0 at its end.
---@field append fun(self: luaconnect.LineBuffer, s: string) Appends s (a line read from stdin, say).
---@field reset fun(self: luaconnect.LineBuffer) Empties the buffer.
---@field text fun(self: luaconnect.LineBuffer): string The batch as one string.
---@field line fun(self: luaconnect.LineBuffer, k: integer): string The batch's k-th line, its newline included.

---A new, empty line buffer.
---@return luaconnect.LineBuffer
function connect.line_buffer() end

---fsync(2) of an open file: true, or nil and the error.
---@param file file*
---@return boolean?, string?
function connect.fsync(file) end

---An advisory whole-file lock (flock) shared by every process: "ex" takes it, "un" releases.
---@param file file*
---@param mode "ex"|"un"
---@return boolean?, string?
function connect.lock(file, mode) end

---A logger whose lines carry ctx.
---@param ctx string?
---@return luaconnect.Logger
function connect.logger(ctx) end

---Marks t (default {}) as a JSON array so an empty one encodes as [].
---@param t? table
---@return table
function connect.array(t) end

---True when v is JSON null inside a value.
---@return boolean
function connect.is_null(v) end

---An integral number that stays a float through JSON (connect.float(1) encodes as 1.0).
---@param n number
function connect.float(n) end

---True when v is a connect.float value.
---@return boolean
function connect.is_float(v) end

return connect
