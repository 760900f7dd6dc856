/* sink_api: see sink_api.h. */
#include "sink_api.h"
#include "bridge.h"
#include "json_edit_api.h"
#include "record_lines.h"
#include "task_api.h"

#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

/* Record field names, pushed once a batch below the task table (lc_sink_api_begin): when
 * there is no builder, setting a field by a string already on the stack skips lua_setfield's
 * interning of its name, 8 fields a record. One more slot, S_LAST_TOPIC, holds the last topic
 * name as a Lua string (most batches have one topic, and pushing the name each record
 * interned it each time). */
enum {
    S_TOPIC,
    S_PARTITION,
    S_OFFSET,
    S_TIMESTAMP,
    S_KEY,
    S_KEY_SCHEMA,
    S_VALUE,
    S_VALUE_SCHEMA,
    S_HEADERS,
    S_COUNT,
    S_LAST_TOPIC = S_COUNT,
    S_BUILDER,   /* the records' builder (build_src), or nil */
    S_BUILD,     /* the build's userdata (lc_sink_build_t: pending records, lazy lines) */
    S_TOPICS,    /* the pending records' topic names, then by record number their keys, */
    S_LKEYS,     /* key schemas, values, value schemas and headers (each table nil until */
    S_LKSCHEMAS, /* a record has one that is not nil) */
    S_LVALUES,
    S_LVSCHEMAS,
    S_LHEADERS,
    S_END = S_LHEADERS
};
static const char *const sink_keys[S_COUNT] = {"topic",     "partition",    "offset",
                                               "timestamp", "key",          "key_schema",
                                               "value",     "value_schema", "headers"};

/* The records of a build are made at its end by one Lua loop the JIT compiles (the builder
 * build_src returns), where a constructor called from C for each record ran in the
 * interpreter: lc_sink_api_add notes each record (lc_sink_pending_t, in the build's
 * userdata) and puts its Lua values in tables by record number (the slots from S_TOPICS).
 * A record whose value is decoded when first read (sinks that declare lazy_values = true)
 * holds, instead of value, the build's userdata and its place there (record_lines.h). Its
 * template has 8 fields, one hash of 8 slots: value and value_schema (nil until value is
 * read) and key_schema (nil but for a key converter with schemas) are left out of it.
 * Its metatable's __index decodes the line kept there (the values the message holds) on the
 * first read of record.value, and keeps the result in value; an assignment to value drops
 * the line. The chunk's arguments are the decoder and ffi. */
static const char build_src[] =
    "local setmetatable, rawget, rawset, decode, ffi = setmetatable, rawget, rawset, ...\n"
    "local LINES, LINE = '" LC_RECORD_LINES_LUA "', '" LC_RECORD_LINE_LUA "'\n"
    "pcall(ffi.cdef, 'typedef struct { double offset, timestamp; int32_t index, partition, "
    "topic, line; } lc_sink_pending_t;')\n"
    "local entries_t = ffi.typeof('const lc_sink_pending_t *')\n"
    "local mt = { __metatable = 'luaconnect.record' }\n"
    "function mt.__index(r, k)\n"
    "  if k ~= 'value' then return nil end\n"
    "  local i = rawget(r, LINE)\n"
    "  if i == nil then return nil end\n"
    "  local v = decode(rawget(r, LINES), i)\n"
    "  rawset(r, LINE, nil)\n"
    "  rawset(r, LINES, nil)\n"
    "  rawset(r, 'value', v)\n"
    "  return v\n"
    "end\n"
    "function mt.__newindex(r, k, v)\n"
    "  if k == 'value' then\n"
    "    rawset(r, LINE, nil)\n"
    "    rawset(r, LINES, nil)\n"
    "  end\n"
    "  rawset(r, k, v)\n"
    "end\n"
    "return function(n, entries, list, lines, topics, keys, kschemas, values, vschemas, headers)\n"
    "  local e = ffi.cast(entries_t, entries)\n"
    "  for j = 0, n - 1 do\n"
    "    local x = e[j]\n"
    "    local i, line = x.index, x.line\n"
    "    local r\n"
    "    if line > 0 then\n"
    "      r = { topic = false, partition = false, offset = false, timestamp = false,\n"
    "        key = false, headers = false,\n"
    "        ['" LC_RECORD_LINES_LUA "'] = false, ['" LC_RECORD_LINE_LUA "'] = false }\n"
    "      r[LINES], r[LINE] = lines, line\n"
    "    else\n"
    "      r = { topic = false, partition = false, offset = false, timestamp = false,\n"
    "        key = false, key_schema = false, value = false, value_schema = false,\n"
    "        headers = false }\n"
    "      r.key_schema = nil\n"
    "      if values then r.value = values[i] else r.value = nil end\n"
    "      if vschemas then r.value_schema = vschemas[i] else r.value_schema = nil end\n"
    "    end\n"
    "    r.topic, r.partition, r.offset = topics[x.topic], x.partition, x.offset\n"
    "    local ts = x.timestamp\n"
    "    if ts >= 0 then r.timestamp = ts else r.timestamp = nil end\n"
    "    if keys then r.key = keys[i] else r.key = nil end\n"
    "    if headers then r.headers = headers[i] else r.headers = nil end\n"
    "    if kschemas and kschemas[i] ~= nil then r.key_schema = kschemas[i] end\n"
    "    if line > 0 then setmetatable(r, mt) end\n"
    "    list[i] = r\n"
    "  end\n"
    "end\n";
static char builder_key, build_mt_key;

/* decode(lines, i): the value of lazy record i, decoded from its line: the same values the
 * message text gives (json_canon writes every scalar so that it reads back the same), with
 * the keys of objects in sorted order. */
static int lazy_decode(lua_State *L)
{
    static const lc_converter_t plain = {LC_CONV_JSON, 0};
    const lc_sink_build_t *l = lua_touserdata(L, 1);
    char err[512];
    const char *s;
    size_t n;

    if (!l || lc_record_line(l, lua_tonumber(L, 2), &s, &n))
        return luaL_error(L, "record value: not a record of this batch");
    if (lc_conv_to_lua(&plain, L, s, n, err, sizeof err))
        return luaL_error(L, "record value: %s", err);
    lua_pop(L, 1); /* the (nil) schema */
    return 1;
}

static int build_gc(lua_State *L)
{
    lc_sink_build_t *l = lua_touserdata(L, 1);
    lc_buf_free(&l->text);
    free(l->spans);
    free(l->pending);
    l->spans = NULL;
    l->pending = NULL;
    l->n = l->cap = l->npending = l->pcap = 0;
    return 0;
}

/* Pushes the records' builder (made once per state), or nil when it cannot be made (no ffi:
 * lc_sink_api_add then builds each record field by field, none of them lazy). */
static void push_builder(lua_State *L)
{
    lua_pushlightuserdata(L, &builder_key);
    lua_rawget(L, LUA_REGISTRYINDEX);
    if (!lua_isnil(L, -1)) return;
    lua_pop(L, 1);
    if (luaL_loadbuffer(L, build_src, sizeof build_src - 1, "=luaconnect.sink_record")) {
        lua_pop(L, 1);
        lua_pushnil(L);
        return;
    }
    lua_pushcfunction(L, lazy_decode);
    lua_getfield(L, LUA_REGISTRYINDEX, "_LOADED");
    lua_getfield(L, -1, "ffi");
    lua_remove(L, -2);
    if (!lua_istable(L, -1)) { /* the chunk and its two arguments */
        lua_pop(L, 3);
        lua_pushnil(L);
        return;
    }
    if (lua_pcall(L, 2, 1, 0)) {
        lua_pop(L, 1);
        lua_pushnil(L);
        return;
    }
    lua_pushlightuserdata(L, &builder_key);
    lua_pushvalue(L, -2);
    lua_rawset(L, LUA_REGISTRYINDEX);
}

/* Makes the build's userdata (in its slot) when its first record comes, with room for the
 * batch's records. */
static lc_sink_build_t *batch_build(lc_sink_batch_t *b)
{
    lua_State *L = b->L;
    if (b->build) return b->build;
    lc_sink_build_t *l = lua_newuserdata(L, sizeof *l);
    memset(l, 0, sizeof *l);
    if ((l->pending = malloc((size_t)b->expect * sizeof *l->pending))) l->pcap = (size_t)b->expect;
    lua_pushlightuserdata(L, &build_mt_key);
    lua_rawget(L, LUA_REGISTRYINDEX);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_createtable(L, 0, 1);
        lua_pushcfunction(L, build_gc);
        lua_setfield(L, -2, "__gc");
        lua_pushlightuserdata(L, &build_mt_key);
        lua_pushvalue(L, -2);
        lua_rawset(L, LUA_REGISTRYINDEX);
    }
    lua_setmetatable(L, -2);
    lua_replace(L, b->keys + S_BUILD);
    return b->build = l;
}

/* The text edit of records of m's topic (b->edit, NULL for none) and the topic it gives them
 * (b->edit_topic): the SDK's _text_edit(task, topic), looked up once a topic a build. A
 * lookup that fails leaves the records to the Lua chain, which reports what is wrong. */
static void edit_lookup(lc_sink_batch_t *b, const char *topic)
{
    lua_State *L = b->L;
    char err[256];
    const char *t;

    b->edit_for = topic;
    b->edit = NULL;
    lc_task_api_push(L);
    lua_pushstring(L, topic);
    if (lc_lua_call_sdk(L, "_text_edit", 2, 1, err, sizeof err) != 0) return;
    if (lc_json_edit_get(L, -1, &b->edit, &t)) b->edit_topic = t;
    lua_pop(L, 1); /* the task's cache keeps the edit */
}

/* Adds m's line to the build's lines: its place (1-based), or 0 when the value is not one
 * json_canon writes (or memory ran out): decode it then. With a text chain the line is the
 * edited value (lc_json_edit) and *topic the topic the chain gives it; 0 when there is no
 * edit for its topic or the edit declines it, and for the sampled record (text_sample). */
static size_t add_line(lc_sink_batch_t *b, const lc_sink_msg_t *m, const char **topic)
{
    if (b->text_chain) {
        if (m->topic != b->edit_for && (!b->edit_for || strcmp(m->topic, b->edit_for) != 0))
            edit_lookup(b, m->topic);
        if (!b->edit) return 0;
        if (b->text_sample) {
            b->text_sample = 0;
            b->sample_index = b->n + 1;
            return 0;
        }
    }
    lc_sink_build_t *l = batch_build(b);
    size_t start = l->text.len, expect = (size_t)b->expect;
    if (!l->text.cap) { /* room for the batch's lines sized by the first (at most 1 MB) */
        size_t text = expect * (m->value_len + 8);
        if (text > (1u << 20)) text = 1u << 20;
        if ((l->text.data = malloc(text))) l->text.cap = text;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : expect;
        lc_line_span_t *sp = realloc(l->spans, cap * sizeof *sp);
        if (!sp) return 0;
        l->spans = sp;
        l->cap = cap;
    }
    if (b->text_chain) {
        lc_edit_meta_t meta = {m->partition, m->offset, m->timestamp};
        if (lc_json_edit(m->value, m->value_len, b->edit, &meta, &l->text) != 1) return 0;
        *topic = b->edit_topic;
    } else if (lc_json_canon(m->value, m->value_len, &l->text) != 1) {
        return 0;
    }
    if (lc_buf_append(&l->text, "\n", 1)) {
        l->text.len = start;
        return 0;
    }
    lc_line_span_t *sp = &l->spans[l->n++];
    sp->off = start;
    sp->line_len = l->text.len - start;
    return l->n;
}

/* With a text chain, the transforms' time metrics (luaconnect_transform_*_time) come from
 * the records the Lua chain runs on: one record of the first build and of every
 * TEXT_SAMPLE-th after it goes that way and is timed (TEXT_SAMPLE_FIELD), the others are
 * edited; of the records the edit declines, one in 256 is timed, as in any chain. */
#define TEXT_SAMPLE 256

void lc_sink_api_begin(lc_sink_batch_t *b, lua_State *L, int n)
{
    b->L = L;
    b->n = 0;
    lua_checkstack(L, S_END + 8);
    b->keys = lua_gettop(L) + 1;
    for (int k = 0; k < S_COUNT; k++)
        lua_pushstring(L, sink_keys[k]);
    lua_pushnil(L); /* S_LAST_TOPIC */
    lc_task_api_push(L);
    b->reads_headers = 1;
    b->lazy = 0;
    b->put_lines = 0;
    b->lines_only = 0;
    b->build = NULL;
    b->expect = n > 0 ? n : 1;
    b->text_chain = b->text_sample = b->sample_index = 0;
    b->edit_for = b->edit_topic = NULL;
    b->edit = NULL;
    if (lua_istable(L, -1)) {
        lua_getfield(L, -1, "_reads_headers");
        b->reads_headers = lua_isnil(L, -1) || lua_toboolean(L, -1);
        lua_getfield(L, -2, "_lazy_values");
        b->lazy = lua_toboolean(L, -1);
        lua_getfield(L, -3, "_put_lines");
        b->put_lines = lua_toboolean(L, -1);
        lua_getfield(L, -4, "_text_chain");
        b->text_chain = lua_toboolean(L, -1);
        lua_pop(L, 4);
        if (b->text_chain) { /* one build in TEXT_SAMPLE times one record in the Lua chain */
            lua_getfield(L, -1, "_text_builds");
            lua_Integer k = lua_tointeger(L, -1);
            lua_pop(L, 1);
            b->text_sample = k % TEXT_SAMPLE == 0;
            lua_pushinteger(L, k + 1);
            lua_setfield(L, -2, "_text_builds");
        }
    }
    lua_pop(L, 1);
    push_builder(L);
    b->lazy = b->lazy && lua_isfunction(L, -1);
    for (int k = S_BUILD; k <= S_END; k++)
        lua_pushnil(L);
    lc_task_api_push(L);
    lua_createtable(L, n, 0);
    b->list = lua_gettop(L);
}

/* Where a lines-only batch keeps its text: a field of the batch's list, which no script
 * sees then (lc_sink_api_put passes the text in its place). */
#define LINES_TEXT "lines_text"

/* A field of the batch's list (which put() never gets: _sink_put hands it the chain's
 * output): the number of the record a text chain's build left to the Lua chain to be timed. */
#define TEXT_SAMPLE_FIELD "text_sample"

/* Bytes of a lazy record's line the collector is not told of: about what its decoded value
 * would take in the Lua heap (record_lines.h). */
#define LINES_FREE 512

typedef struct {
    lc_sink_batch_t *b;
    int n;
    lc_sink_each_fn each;
    void *opaque;
} build_t;

/* Inside lc_conv_protected: the list and the field names are the arguments from first on. */
static int build_region(lua_State *L, int first, void *opaque)
{
    build_t *a = opaque;
    lc_sink_batch_t inner = *a->b;
    int rc = 0;
    lua_checkstack(L, S_END + 16);
    inner.list = first;
    inner.keys = a->b->keys ? first + 1 : 0;
    inner.build = NULL; /* each build makes its own */
    for (int i = 0; i < a->n && rc == 0; i++) {
        rc = a->each(a->opaque, i, &inner);
        a->b->n = inner.n;
    }
    lc_sink_build_t *l = inner.build;
    if (inner.sample_index) { /* the record the Lua chain is timed on (_sink_put) */
        lua_pushinteger(L, inner.sample_index);
        lua_setfield(L, inner.list, TEXT_SAMPLE_FIELD);
    }
    if (l && l->npending && rc == 0 && a->b->put_lines && inner.n == a->n && l->n == l->npending) {
        /* every message a lazy record, in order: put_lines gets their lines (the text, in
         * the list under LINES_TEXT) and no record table is made */
        lua_pushlstring(L, l->text.data, l->text.len);
        lua_setfield(L, inner.list, LINES_TEXT);
        a->b->lines_only = 1;
        lua_pushcfunction(L, build_gc); /* nothing refers to its lines: freed now */
        lua_pushvalue(L, inner.keys + S_BUILD);
        lua_call(L, 1, 0);
    } else if (l && l->npending) { /* the records noted, made in one call (the builder) */
        lua_pushvalue(L, inner.keys + S_BUILDER);
        lua_pushinteger(L, (lua_Integer)l->npending);
        lua_pushlightuserdata(L, l->pending);
        lua_pushvalue(L, inner.list);
        for (int k = S_BUILD; k <= S_END; k++)
            lua_pushvalue(L, inner.keys + k);
        lua_call(L, 4 + S_END - S_BUILD, 0);
        l->npending = 0;
        /* The lines' text is malloc'd, out of the collector's sight: for records of large
         * values it would grow far faster than the Lua heap that paces the collector, and
         * builds would pile up before a cycle frees them. Text beyond LINES_FREE bytes a
         * record is paid for with collector work, as if the Lua heap had grown by it. */
        size_t free_text = LINES_FREE * l->n;
        if (l->text.len > free_text) lua_gc(L, LUA_GCSTEP, (int)((l->text.len - free_text) >> 10));
    }
    return rc;
}

int lc_sink_api_build(lc_sink_batch_t *b, int n, lc_sink_each_fn each, void *opaque, char *errstr,
                      size_t errstr_size)
{
    lua_State *L = b->L;
    build_t a = {b, n, each, opaque};
    int nargs = 1;
    lua_pushvalue(L, b->list);
    if (b->keys) {
        for (int k = 0; k <= S_END; k++)
            lua_pushvalue(L, b->keys + k);
        nargs += S_END + 1;
    }
    return lc_conv_protected(L, nargs, build_region, &a, errstr, errstr_size);
}

int lc_sink_api_reads_headers(const lc_sink_batch_t *b)
{
    return b->reads_headers;
}

/* Pushes the name of record field k, the batch's copy when there is one: the value is
 * pushed after it and lua_rawset sets both (the record is a fresh table without a metatable,
 * so a raw set is what lua_setfield would do), with no lua_insert to put the key under it. */
static void push_key(const lc_sink_batch_t *b, int k)
{
    if (b->keys)
        lua_pushvalue(b->L, b->keys + k);
    else
        lua_pushstring(b->L, sink_keys[k]);
}

/* Pushes the topic name, the previous record's Lua string when it is the same name. */
static void push_topic(const lc_sink_batch_t *b, const char *topic)
{
    lua_State *L = b->L;
    if (!b->keys) {
        lua_pushstring(L, topic);
        return;
    }
    int slot = b->keys + S_LAST_TOPIC;
    const char *last = lua_tostring(L, slot);
    if (!last || strcmp(last, topic) != 0) {
        lua_pushstring(L, topic);
        lua_replace(L, slot);
    }
    lua_pushvalue(L, slot);
}

/* Sets slot[k][i] = the value on top (popped), making the table when first needed. */
static void slot_set(lc_sink_batch_t *b, int k, int i)
{
    lua_State *L = b->L;
    if (lua_isnil(L, b->keys + k)) {
        lua_newtable(L);
        lua_replace(L, b->keys + k);
    }
    lua_rawseti(L, b->keys + k, i);
}

/* slot_set for a value on top that is not nil; a nil is popped. */
static void slot_set_or_pop(lc_sink_batch_t *b, int k, int i)
{
    if (lua_isnil(b->L, -1))
        lua_pop(b->L, 1);
    else
        slot_set(b, k, i);
}

/* Sets slot[k][i] = nil when the table is there (undoing slot_set). */
static void slot_clear(lc_sink_batch_t *b, int k, int i)
{
    lua_State *L = b->L;
    if (lua_isnil(L, b->keys + k)) return;
    lua_pushnil(L);
    lua_rawseti(L, b->keys + k, i);
}

/* Notes m as record b->n + 1 (its table is made by the builder at the end of the build):
 * a lazy one whose line is line, or with line 0 one whose value is converted here. Returns
 * as lc_sink_api_add. */
static int note_record(lc_sink_batch_t *b, const lc_converter_t *key_conv,
                       const lc_converter_t *value_conv, const lc_sink_msg_t *m, const char *topic,
                       size_t line, const char **stage, char *errstr, size_t errstr_size)
{
    lua_State *L = b->L;
    lc_sink_build_t *l = batch_build(b);
    int i = b->n + 1, top = lua_gettop(L);
    if (l->npending == l->pcap) {
        size_t cap = l->pcap ? 2 * l->pcap : 64;
        lc_sink_pending_t *p = realloc(l->pending, cap * sizeof *p);
        if (!p) {
            if (line) l->n--;
            return luaL_error(L, "out of memory");
        }
        l->pending = p;
        l->pcap = cap;
    }
    if (m->key) {
        if (lc_conv_to_lua(key_conv, L, m->key, m->key_len, errstr, errstr_size) != 0) {
            *stage = "KEY_CONVERTER";
            if (line) l->n--; /* its text stays until the batch goes */
            lua_settop(L, top);
            return -1;
        }
        slot_set_or_pop(b, S_LKSCHEMAS, i);
        slot_set_or_pop(b, S_LKEYS, i);
    }
    if (!line && m->value) {
        if (lc_conv_to_lua(value_conv, L, m->value, m->value_len, errstr, errstr_size) != 0) {
            *stage = "VALUE_CONVERTER";
            lua_settop(L, top);
            if (m->key) { /* the next record takes number i */
                slot_clear(b, S_LKEYS, i);
                slot_clear(b, S_LKSCHEMAS, i);
            }
            return -1;
        }
        slot_set_or_pop(b, S_LVSCHEMAS, i);
        slot_set_or_pop(b, S_LVALUES, i);
    }
    if (m->headers) {
        lc_headers_push(L, m->headers);
        slot_set(b, S_LHEADERS, i);
    }
    /* the topic: the last name noted unless it differs. librdkafka gives every message of a
     * topic the same name pointer, so that compare is the per-record one; another pointer
     * is compared by its text (the Lua string the topics table keeps) */
    if (topic != l->last_topic) {
        if (!l->ntopics || strcmp(topic, l->last_name) != 0) {
            lua_pushstring(L, topic);
            l->last_name = lua_tostring(L, -1);
            slot_set(b, S_TOPICS, ++l->ntopics);
        }
        l->last_topic = topic;
    }
    lc_sink_pending_t *e = &l->pending[l->npending++];
    e->offset = (double)m->offset;
    e->timestamp = m->timestamp >= 0 ? (double)m->timestamp : -1;
    e->index = i;
    e->partition = m->partition;
    e->topic = l->ntopics;
    e->line = (int32_t)line;
    b->n = i;
    return 0;
}

int lc_sink_api_add(lc_sink_batch_t *b, const lc_converter_t *key_conv,
                    const lc_converter_t *value_conv, const lc_sink_msg_t *m, const char **stage,
                    char *errstr, size_t errstr_size)
{
    lua_State *L = b->L;
    if (b->keys && lua_isfunction(L, b->keys + S_BUILDER)) {
        size_t line = 0;
        const char *topic = m->topic;
        if (b->lazy && value_conv->kind == LC_CONV_JSON && !value_conv->schemas_enable &&
            m->value && m->value_len)
            line = add_line(b, m, &topic);
        return note_record(b, key_conv, value_conv, m, topic, line, stage, errstr, errstr_size);
    }
    /* no builder (no ffi), or a batch set up by hand: the record's table now, with the
     * fields the builder gives it */
    lua_createtable(L, 0, 10);
    int r = lua_gettop(L);
    push_key(b, S_TOPIC);
    push_topic(b, m->topic);
    lua_rawset(L, r);
    push_key(b, S_PARTITION);
    lua_pushinteger(L, m->partition);
    lua_rawset(L, r);
    push_key(b, S_OFFSET);
    lua_pushnumber(L, (lua_Number)m->offset);
    lua_rawset(L, r);
    if (m->timestamp >= 0) {
        push_key(b, S_TIMESTAMP);
        lua_pushnumber(L, (lua_Number)m->timestamp);
        lua_rawset(L, r);
    }
    push_key(b, S_KEY);
    if (lc_conv_to_lua(key_conv, L, m->key, m->key_len, errstr, errstr_size) != 0) {
        *stage = "KEY_CONVERTER";
        goto bad;
    }
    push_key(b, S_KEY_SCHEMA); /* key, its value, the schema: the schema's name under it */
    lua_insert(L, -2);
    lua_rawset(L, r);
    lua_rawset(L, r);
    push_key(b, S_VALUE);
    if (lc_conv_to_lua(value_conv, L, m->value, m->value_len, errstr, errstr_size) != 0) {
        *stage = "VALUE_CONVERTER";
        goto bad;
    }
    push_key(b, S_VALUE_SCHEMA);
    lua_insert(L, -2);
    lua_rawset(L, r);
    lua_rawset(L, r);
    if (m->headers) {
        push_key(b, S_HEADERS);
        lc_headers_push(L, m->headers);
        lua_rawset(L, r);
    }
    lua_rawseti(L, b->list, ++b->n);
    return 0;
bad:
    lua_settop(L, r - 1);
    return -1;
}

/* The results of _sink_put/_sink_redeliver (failures, retriable message, timeout) on the
 * stack: 1 with the message when put() raised connect.retriable(), else 0 with the
 * failures list left on top. */
static int put_result(lua_State *L, const char **retry_msg, long *timeout_ms)
{
    if (!lua_isnil(L, -2)) {
        *retry_msg = lua_tostring(L, -2);
        *timeout_ms = (long)lua_tonumber(L, -1);
        return 1;
    }
    lua_pop(L, 2);
    return 0;
}

int lc_sink_api_put(lc_sink_batch_t *b, const char **retry_msg, long *timeout_ms, char *errstr,
                    size_t errstr_size)
{
    if (b->lines_only) { /* the task and the list on top: the task, the text and n */
        lua_getfield(b->L, b->list, LINES_TEXT);
        lua_replace(b->L, b->list);
        lua_pushinteger(b->L, b->n);
        if (lc_lua_call_sdk(b->L, "_sink_put_lines", 3, 3, errstr, errstr_size) != 0) return -1;
    } else if (lc_lua_call_sdk(b->L, "_sink_put", 2, 3, errstr, errstr_size) != 0) {
        return -1;
    }
    return put_result(b->L, retry_msg, timeout_ms);
}

int lc_sink_api_redeliver(lc_sink_batch_t *b, const char **retry_msg, long *timeout_ms,
                          char *errstr, size_t errstr_size)
{
    lua_settop(b->L, 0);
    lc_task_api_push(b->L);
    if (lc_lua_call_sdk(b->L, "_sink_redeliver", 1, 3, errstr, errstr_size) != 0) return -1;
    return put_result(b->L, retry_msg, timeout_ms);
}

void lc_sink_api_failures(lc_sink_batch_t *b, lc_sink_failure_fn fn, void *opaque)
{
    lua_State *L = b->L;
    int flist = lua_gettop(L);
    for (int k = 1; lua_istable(L, flist); k++) {
        lua_rawgeti(L, flist, k);
        if (lua_isnil(L, -1)) break;
        int f = lua_gettop(L);
        lua_getfield(L, f, "index");
        lua_getfield(L, f, "class");
        lua_getfield(L, f, "message");
        lua_getfield(L, f, "trace");
        lua_getfield(L, f, "stage");
        int idx = (int)lua_tointeger(L, f + 1);
        const char *stage = lua_tostring(L, f + 5);
        int stop = 0;
        if (idx >= 1 && idx <= b->n)
            stop = fn(opaque, idx, stage && strcmp(stage, "TASK_PUT") == 0, lua_tostring(L, f + 2),
                      lua_tostring(L, f + 3), lua_tostring(L, f + 4));
        lua_settop(L, f - 1);
        if (stop) break;
    }
}

void lc_sink_api_end(lc_sink_batch_t *b)
{
    lua_settop(b->L, 0);
}

int lc_sink_api_flush(lua_State *L, const rd_kafka_topic_partition_list_t *pos, char *errstr,
                      size_t errstr_size)
{
    lc_task_api_push(L);
    lua_createtable(L, pos->cnt, 0);
    for (int i = 0; i < pos->cnt; i++) {
        const rd_kafka_topic_partition_t *p = &pos->elems[i];
        lua_createtable(L, 0, 3);
        lua_pushstring(L, p->topic);
        lua_setfield(L, -2, "topic");
        lua_pushinteger(L, p->partition);
        lua_setfield(L, -2, "partition");
        lua_pushnumber(L, (lua_Number)p->offset);
        lua_setfield(L, -2, "offset");
        lua_rawseti(L, -2, i + 1);
    }
    return lc_lua_call_sdk(L, "_sink_flush", 2, 0, errstr, errstr_size);
}

/* Pushes {{topic=, partition=}, ...} of parts. */
static void push_partitions(lua_State *L, const rd_kafka_topic_partition_list_t *parts)
{
    lua_createtable(L, parts->cnt, 0);
    for (int i = 0; i < parts->cnt; i++) {
        lua_createtable(L, 0, 2);
        lua_pushstring(L, parts->elems[i].topic);
        lua_setfield(L, -2, "topic");
        lua_pushinteger(L, parts->elems[i].partition);
        lua_setfield(L, -2, "partition");
        lua_rawseti(L, -2, i + 1);
    }
}

int lc_sink_api_close_partitions(lua_State *L, const rd_kafka_topic_partition_list_t *parts,
                                 char *errstr, size_t errstr_size)
{
    lc_task_api_push(L);
    push_partitions(L, parts);
    int rc = lc_lua_call_sdk(L, "_sink_close_partitions", 2, 0, errstr, errstr_size);
    lua_settop(L, 0);
    return rc;
}

int lc_sink_api_idle(lua_State *L, char *errstr, size_t errstr_size)
{
    lc_task_api_push(L);
    int rc = lc_lua_call_sdk(L, "_sink_idle", 1, 0, errstr, errstr_size);
    lua_settop(L, 0);
    return rc;
}

int lc_sink_api_open_partitions(lua_State *L, const rd_kafka_topic_partition_list_t *parts,
                                lc_sink_offset_fn fn, void *opaque, char *errstr,
                                size_t errstr_size)
{
    lc_task_api_push(L);
    push_partitions(L, parts);
    if (lc_lua_call_sdk(L, "_sink_open_partitions", 2, 1, errstr, errstr_size) != 0) return -1;
    for (int k = 1; lua_istable(L, -1); k++) {
        lua_rawgeti(L, -1, k);
        if (!lua_istable(L, -1)) {
            lua_pop(L, 1);
            break;
        }
        lua_getfield(L, -1, "topic");
        lua_getfield(L, -2, "partition");
        lua_getfield(L, -3, "offset");
        const char *topic = lua_tostring(L, -3);
        if (topic && lua_isnumber(L, -2) && lua_isnumber(L, -1))
            fn(opaque, topic, (int32_t)lua_tointeger(L, -2), (int64_t)lua_tonumber(L, -1));
        lua_pop(L, 4);
    }
    lua_settop(L, 0);
    return 0;
}
