/* sink_api: see sink_api.h. */
#include "sink_api.h"
#include "bridge.h"
#include "task_api.h"

#include <lauxlib.h>
#include <string.h>

/* Record field names, pushed once a batch below the task table (lc_sink_api_begin): setting
 * a field by a string already on the stack skips lua_setfield's interning of its name, 8
 * fields a record. One more slot, S_LAST_TOPIC, holds the last topic name as a Lua string
 * (most batches have one topic, and pushing the name each record interned it each time). */
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
    S_MAKE /* the record constructor (make_record) */
};
static const char *const sink_keys[S_COUNT] = {"topic",     "partition",    "offset",
                                               "timestamp", "key",          "key_schema",
                                               "value",     "value_schema", "headers"};

/* A record is made by a Lua function: its table constructor copies a template that has
 * every field (one allocation of the right size, the keys in place), where 9 lua_rawsets
 * would insert each key into a growing table. Compiled once per lua_State. */
static const char make_record_src[] =
    "return function(t, p, o, ts, k, ks, v, vs, h)\n"
    "  local r = { topic = false, partition = false, offset = false, timestamp = false,\n"
    "    key = false, key_schema = false, value = false, value_schema = false, headers = false }\n"
    "  r.topic, r.partition, r.offset, r.timestamp = t, p, o, ts\n"
    "  r.key, r.key_schema, r.value, r.value_schema, r.headers = k, ks, v, vs, h\n"
    "  return r\n"
    "end\n";
static char make_record_key;

/* Pushes the record constructor (nil when it cannot be made: records are then built field
 * by field). */
static void push_make_record(lua_State *L)
{
    lua_pushlightuserdata(L, &make_record_key);
    lua_rawget(L, LUA_REGISTRYINDEX);
    if (!lua_isnil(L, -1)) return;
    lua_pop(L, 1);
    if (luaL_loadbuffer(L, make_record_src, sizeof make_record_src - 1, "=luaconnect.sink_record") ||
        lua_pcall(L, 0, 1, 0)) {
        lua_pop(L, 1);
        lua_pushnil(L);
        return;
    }
    lua_pushlightuserdata(L, &make_record_key);
    lua_pushvalue(L, -2);
    lua_rawset(L, LUA_REGISTRYINDEX);
}

void lc_sink_api_begin(lc_sink_batch_t *b, lua_State *L, int n)
{
    b->L = L;
    b->n = 0;
    lua_checkstack(L, S_COUNT + 8);
    b->keys = lua_gettop(L) + 1;
    for (int k = 0; k < S_COUNT; k++)
        lua_pushstring(L, sink_keys[k]);
    lua_pushnil(L); /* S_LAST_TOPIC */
    push_make_record(L);
    lc_task_api_push(L);
    b->reads_headers = 1;
    if (lua_istable(L, -1)) {
        lua_getfield(L, -1, "_reads_headers");
        b->reads_headers = lua_isnil(L, -1) || lua_toboolean(L, -1);
        lua_pop(L, 1);
    }
    lua_createtable(L, n, 0);
    b->list = lua_gettop(L);
}

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
    lua_checkstack(L, S_COUNT + 16);
    inner.list = first;
    inner.keys = a->b->keys ? first + 1 : 0;
    for (int i = 0; i < a->n && rc == 0; i++) {
        rc = a->each(a->opaque, i, &inner);
        a->b->n = inner.n;
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
        for (int k = 0; k <= S_MAKE; k++)
            lua_pushvalue(L, b->keys + k);
        nargs += S_MAKE + 1;
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

int lc_sink_api_add(lc_sink_batch_t *b, const lc_converter_t *key_conv,
                    const lc_converter_t *value_conv, const lc_sink_msg_t *m, const char **stage,
                    char *errstr, size_t errstr_size)
{
    lua_State *L = b->L;
    if (b->keys && lua_isfunction(L, b->keys + S_MAKE)) {
        int top = lua_gettop(L);
        lua_pushvalue(L, b->keys + S_MAKE);
        push_topic(b, m->topic);
        lua_pushinteger(L, m->partition);
        lua_pushnumber(L, (lua_Number)m->offset);
        if (m->timestamp >= 0)
            lua_pushnumber(L, (lua_Number)m->timestamp);
        else
            lua_pushnil(L);
        if (lc_conv_to_lua(key_conv, L, m->key, m->key_len, errstr, errstr_size) != 0) {
            *stage = "KEY_CONVERTER";
            lua_settop(L, top);
            return -1;
        }
        if (lc_conv_to_lua(value_conv, L, m->value, m->value_len, errstr, errstr_size) != 0) {
            *stage = "VALUE_CONVERTER";
            lua_settop(L, top);
            return -1;
        }
        if (m->headers)
            lc_headers_push(L, m->headers);
        else
            lua_pushnil(L);
        lua_call(L, 9, 1);
        lua_rawseti(L, b->list, ++b->n);
        return 0;
    }
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
    if (lc_lua_call_sdk(b->L, "_sink_put", 2, 3, errstr, errstr_size) != 0) return -1;
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
