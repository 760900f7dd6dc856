/* source_api: see source_api.h. */
#include "source_api.h"
#include "bridge.h"
#include "line_buffer.h"
#include "task_api.h"

#include <lauxlib.h>
#include <stdio.h>
#include <string.h>

/* Stack slots of a record's fields after lc_source_api_entry, relative to the entry; the
 * same numbers index entry_keys, the field names lc_source_api_poll pushes once a batch
 * (looking a field up by a string already on the stack skips lua_getfield's interning of
 * its name: 10 fields a record). */
enum {
    F_LC = 0,
    F_TOPIC = 1,
    F_PARTITION,
    F_TIMESTAMP,
    F_KEY,
    F_KEY_SCHEMA,
    F_VALUE,
    F_VALUE_SCHEMA,
    F_HEADERS,
    F_SOURCE_PARTITION,
    F_SOURCE_OFFSET,
    F_COUNT
};
static const char *const entry_keys[F_COUNT] = {
    "_lc",   "topic",        "partition", "timestamp",        "key",          "key_schema",
    "value", "value_schema", "headers",   "source_partition", "source_offset"};

static int encode_json_cstr(lua_State *L, int idx, lc_buf_t *b, char *err, size_t errsz)
{
    b->len = 0;
    return lc_json_encode_sorted(L, idx, b, err, errsz) || lc_buf_append(b, "", 1);
}

int lc_source_api_poll(lua_State *L, lc_source_batch_t *b, char *errstr, size_t errstr_size)
{
    lc_task_api_push(L);
    if (lc_lua_call_sdk(L, "_source_next", 1, 3, errstr, errstr_size) != 0) return -1;
    b->text = NULL;
    if (lua_type(L, -3) == LUA_TSTRING || /* lines: text (or a line buffer), template, info */
        (lua_type(L, -3) == LUA_TUSERDATA && lua_type(L, -2) == LUA_TTABLE)) {
        b->L = L;
        b->info = lua_gettop(L);
        if (!lc_line_buffer_batch(L, -3, &b->text, &b->text_len))
            b->text = lua_tolstring(L, -3, &b->text_len);
        int n = 0;
        for (const char *p = b->text, *e = p + b->text_len; p < e; n++) {
            const char *nl = memchr(p, '\n', (size_t)(e - p));
            p = nl ? nl + 1 : e;
        }
        b->n = n;
        return 2;
    }
    lua_pop(L, 2);
    if (lua_isnil(L, -1)) {
        lua_settop(L, 0);
        return 0;
    }
    /* The field names, an entry, its fields and a failure report's fields stay on the stack
     * together. */
    lua_checkstack(L, 40 + F_COUNT);
    b->L = L;
    b->list = lua_gettop(L);
    b->keys = 0;
    b->n = (int)lua_objlen(L, b->list);
    b->r = b->failed_rec = 0;
    b->last_part = NULL;
    return 1;
}

typedef struct {
    lc_source_batch_t *b;
    int (*fn)(void *opaque);
    void *opaque;
} run_t;

/* Inside lc_conv_protected: the batch's list is the argument at first; the field names are
 * pushed above it by the first lc_source_api_entry, as outside. */
static int run_region(lua_State *L, int first, void *opaque)
{
    run_t *a = opaque;
    lua_checkstack(L, 40 + F_COUNT);
    a->b->list = first;
    a->b->keys = 0;
    return a->fn(a->opaque);
}

int lc_source_api_run(lc_source_batch_t *b, int (*fn)(void *opaque), void *opaque, char *errstr,
                      size_t errstr_size)
{
    run_t a = {b, fn, opaque};
    int list = b->list;
    lua_pushvalue(b->L, list);
    int rc = lc_conv_protected(b->L, 1, run_region, &a, errstr, errstr_size);
    b->list = list; /* the slots inside the call are gone with it */
    b->keys = b->r = b->failed_rec = 0;
    return rc;
}

int lc_source_api_entry(lc_source_batch_t *b, int i, lc_source_entry_t *e, char *errstr,
                        size_t errstr_size)
{
    lua_State *L = b->L;
    if (!b->keys) { /* once a batch, above the list */
        lua_settop(L, b->list);
        for (int k = 0; k < F_COUNT; k++)
            lua_pushstring(L, entry_keys[k]);
        b->keys = b->list + 1;
    }
    int keys = b->keys;
    lua_settop(L, keys + F_COUNT - 1);
    lua_rawgeti(L, b->list, i);
    int r = b->r = b->failed_rec = lua_gettop(L);
    if (!lua_istable(L, r)) {
        snprintf(errstr, errstr_size,
                 "poll() returned a %s at position %d of %d; records are tables",
                 luaL_typename(L, r), i, b->n);
        return -1;
    }
    memset(e, 0, sizeof(*e));
    /* A record without a metatable (the usual one) is read with raw gets, which is what
     * lua_gettable does then, minus its metamethod checks on each missing field. */
    int raw = !lua_getmetatable(L, r);
    if (!raw) lua_pop(L, 1);
    lua_pushvalue(L, keys + F_LC); /* r+1: record._lc */
    if (raw)
        lua_rawget(L, r);
    else
        lua_gettable(L, r);
    if (!lua_isnil(L, -1)) {
        const char *kind = lua_tostring(L, -1);
        if (kind && strcmp(kind, "skip") == 0) {
            e->kind = LC_SOURCE_SKIP;
            return 0;
        }
        e->kind = LC_SOURCE_ERROR;
        lua_getfield(L, r, "record");  /* r+2 */
        lua_getfield(L, r, "class");   /* r+3 */
        lua_getfield(L, r, "message"); /* r+4 */
        lua_getfield(L, r, "trace");   /* r+5 */
        lua_getfield(L, r, "where");   /* r+6 */
        b->failed_rec = r + 2;
        e->class_name = lua_tostring(L, r + 3);
        e->message = lua_tostring(L, r + 4);
        e->trace = lua_tostring(L, r + 5);
        e->where = lua_tostring(L, r + 6);
        return 0;
    }
    lua_pop(L, 1);
    for (int k = F_TOPIC; k < F_COUNT; k++) { /* r+k: record[entry_keys[k]], as lua_getfield */
        lua_pushvalue(L, keys + k);
        if (raw)
            lua_rawget(L, r);
        else
            lua_gettable(L, r);
    }
    e->kind = LC_SOURCE_RECORD;
    e->topic = lua_type(L, r + F_TOPIC) == LUA_TSTRING ? lua_tostring(L, r + F_TOPIC) : NULL;
    e->partition = lua_isnumber(L, r + F_PARTITION) ? (int32_t)lua_tointeger(L, r + F_PARTITION)
                                                    : RD_KAFKA_PARTITION_UA;
    e->timestamp = lua_isnumber(L, r + F_TIMESTAMP) ? (int64_t)lua_tonumber(L, r + F_TIMESTAMP) : 0;
    return 0;
}

int lc_source_api_convert(lc_source_batch_t *b, int value, const lc_converter_t *cv, lc_buf_t *out,
                          int *is_null, char *errstr, size_t errstr_size)
{
    int v = b->r + (value ? F_VALUE : F_KEY);
    return lc_conv_from_lua(cv, b->L, v, v + 1, out, is_null, errstr, errstr_size);
}

int lc_source_api_headers(lc_source_batch_t *b, lc_buf_t *tmp, rd_kafka_headers_t **out,
                          char *errstr, size_t errstr_size)
{
    int h = b->r + F_HEADERS;
    *out = NULL;
    if (!lua_istable(b->L, h)) return 0;
    *out = lc_headers_from_lua(b->L, h, tmp, errstr, errstr_size);
    return *out ? 0 : -1;
}

int lc_source_api_partition(lc_source_batch_t *b, lc_buf_t *pbuf, const void **part, char *errstr,
                            size_t errstr_size)
{
    lua_State *L = b->L;
    int p = b->r + F_SOURCE_PARTITION;
    *part = NULL;
    if (!lua_istable(L, p)) return 0;
    const void *t = lua_topointer(L, p);
    if (t != b->last_part) {
        if (encode_json_cstr(L, p, pbuf, errstr, errstr_size) != 0) return -1;
        b->last_part = t;
    }
    *part = t;
    return 0;
}

/* The source partition and offset of the table at slot rec as JSON text. 0, or -1 with
 * errstr. */
static int encode_pair(lc_source_batch_t *b, int rec, lc_buf_t *pbuf, lc_buf_t *obuf, char *errstr,
                       size_t errstr_size)
{
    lua_State *L = b->L;
    lua_getfield(L, rec, "source_partition");
    lua_getfield(L, rec, "source_offset");
    int top = lua_gettop(L);
    b->last_part = NULL; /* pbuf is reused */
    int rc = encode_json_cstr(L, top - 1, pbuf, errstr, errstr_size) == 0 &&
                     encode_json_cstr(L, top, obuf, errstr, errstr_size) == 0
                 ? 0
                 : -1;
    lua_pop(L, 2);
    return rc;
}

int lc_source_api_skip_offset(lc_source_batch_t *b, lc_buf_t *pbuf, lc_buf_t *obuf)
{
    char err[512];
    return encode_pair(b, b->r, pbuf, obuf, err, sizeof(err));
}

int lc_source_api_offset_at(lc_source_batch_t *b, int i, lc_buf_t *pbuf, lc_buf_t *obuf,
                            char *errstr, size_t errstr_size)
{
    lua_rawgeti(b->L, b->list, i);
    int rc = encode_pair(b, lua_gettop(b->L), pbuf, obuf, errstr, errstr_size);
    lua_pop(b->L, 1);
    return rc;
}

void lc_source_api_describe(lc_source_batch_t *b, int i, char *out, size_t outsz)
{
    lua_State *L = b->L;
    char err[256];
    lua_pushvalue(L, b->r);
    lua_pushinteger(L, i);
    lua_pushinteger(L, b->n);
    if (lc_lua_call_sdk(L, "_describe_record", 3, 1, err, sizeof(err)) != 0) {
        snprintf(out, outsz, "record %d of %d", i, b->n);
        return;
    }
    snprintf(out, outsz, "%s", lua_tostring(L, -1));
    lua_pop(L, 1);
}

/* Bytes for a DLQ record: the converter's, or plain JSON when the converter is what failed. */
static void encode_for_dlq(const lc_converter_t *cv, lua_State *L, int v, int sch, lc_buf_t *b,
                           int *is_null)
{
    char err[256];
    if (lc_conv_from_lua(cv, L, v, sch, b, is_null, err, sizeof(err)) == 0) return;
    b->len = 0;
    *is_null = lua_isnil(L, v);
    if (!*is_null && lc_json_encode_sorted(L, v, b, err, sizeof(err)) != 0) *is_null = 1;
}

void lc_source_api_failed(lc_source_batch_t *b, const lc_converter_t *key_conv,
                          const lc_converter_t *value_conv, lc_buf_t *kbuf, lc_buf_t *vbuf,
                          lc_buf_t *pbuf, lc_buf_t *obuf, lc_source_failed_t *out)
{
    lua_State *L = b->L;
    char err[512];
    int rec = b->failed_rec, top = lua_gettop(L);
    lua_getfield(L, rec, "topic");            /* top+1 */
    lua_getfield(L, rec, "key");              /* top+2 */
    lua_getfield(L, rec, "key_schema");       /* top+3 */
    lua_getfield(L, rec, "value");            /* top+4 */
    lua_getfield(L, rec, "value_schema");     /* top+5 */
    lua_getfield(L, rec, "source_partition"); /* top+6 */
    lua_getfield(L, rec, "source_offset");    /* top+7 */
    out->key_null = out->value_null = 1;
    encode_for_dlq(key_conv, L, top + 2, top + 3, kbuf, &out->key_null);
    encode_for_dlq(value_conv, L, top + 4, top + 5, vbuf, &out->value_null);
    b->last_part = NULL; /* pbuf is reused */
    out->has_offset = lua_istable(L, top + 6) &&
                      encode_json_cstr(L, top + 6, pbuf, err, sizeof(err)) == 0 &&
                      encode_json_cstr(L, top + 7, obuf, err, sizeof(err)) == 0;
    out->topic = lua_tostring(L, top + 1);
}

void lc_source_api_end(lc_source_batch_t *b)
{
    if (b->L) lua_settop(b->L, 0);
    b->text = NULL;
}

/* Converts the template at slot tpl (the SDK's {record, hole}) into b's pre, suf, key and
 * topic. 0, or -1 with why (the reason the worker cannot write lines into it). */
static int convert_template(lc_source_batch_t *b, const lc_converter_t *kc,
                            const lc_converter_t *vc, int tpl, char *why, size_t whysz)
{
    lua_State *L = b->L;
    int top = lua_gettop(L), rc = -1, vnull = 0;
    lc_buf_t v = {0}, needle = {0};
    char err[512];
    lua_getfield(L, tpl, "record");           /* top+1 */
    lua_getfield(L, tpl, "hole");             /* top+2 */
    lua_getfield(L, top + 1, "topic");        /* top+3 */
    lua_getfield(L, top + 1, "key");          /* top+4 */
    lua_getfield(L, top + 1, "key_schema");   /* top+5 */
    lua_getfield(L, top + 1, "value");        /* top+6 */
    lua_getfield(L, top + 1, "value_schema"); /* top+7 */
    size_t hl = 0, tl = 0;
    const char *hole = lua_tolstring(L, top + 2, &hl);
    const char *topic = lua_tolstring(L, top + 3, &tl);
    b->topic.len = b->pre.len = b->suf.len = 0;
    if (!hole || !topic || lc_buf_append(&b->topic, topic, tl + 1) != 0) {
        snprintf(why, whysz, "the template has no topic");
        goto out;
    }
    if (lc_conv_from_lua(kc, L, top + 4, top + 5, &b->key, &b->key_null, err, sizeof(err)) != 0) {
        snprintf(why, whysz, "the key converter fails on the transform chain's result: %s", err);
        goto out;
    }
    if (!b->key_null && memmem(b->key.data, b->key.len, hole, hl)) {
        snprintf(why, whysz, "the key holds the line");
        goto out;
    }
    if (lc_conv_from_lua(vc, L, top + 6, top + 7, &v, &vnull, err, sizeof(err)) != 0) {
        snprintf(why, whysz, "the value converter fails on the transform chain's result: %s", err);
        goto out;
    }
    if (vnull) {
        snprintf(why, whysz, "the value is null");
        goto out;
    }
    if (vc->kind == LC_CONV_JSON) {
        /* the line is written where the hole's JSON string is, as the converter writes any
         * string: the hole must be there exactly once */
        if (lc_json_string(&needle, hole, hl) != 0) goto oom;
        const char *at = memmem(v.data, v.len, needle.data, needle.len);
        size_t after = at ? (size_t)(at - v.data) + needle.len : 0;
        if (!at || memmem(v.data + after, v.len - after, needle.data, needle.len)) {
            snprintf(why, whysz, "the value does not hold the line once");
            goto out;
        }
        if (lc_buf_append(&b->pre, v.data, (size_t)(at - v.data)) != 0 ||
            lc_buf_append(&b->suf, v.data + after, v.len - after) != 0)
            goto oom;
        b->raw_hole = 0;
    } else if (v.len == hl && memcmp(v.data, hole, hl) == 0) {
        b->raw_hole = 1; /* StringConverter, ByteArrayConverter: the line's bytes as they are */
    } else {
        snprintf(why, whysz, "the value converter's bytes are not the line's");
        goto out;
    }
    rc = 0;
    goto out;
oom:
    snprintf(why, whysz, "out of memory");
out:
    lc_buf_free(&v);
    lc_buf_free(&needle);
    lua_settop(L, top);
    return rc;
}

int lc_source_api_lines(lc_source_batch_t *b, const lc_converter_t *key_conv,
                        const lc_converter_t *value_conv, lc_source_lines_t *out, char *errstr,
                        size_t errstr_size)
{
    lua_State *L = b->L;
    int tpl = b->info - 1, text = b->info - 2;
    char why[700] = "";
    lua_getfield(L, tpl, "gen");
    double gen = lua_tonumber(L, -1);
    lua_pop(L, 1);
    if (gen != b->tpl_gen) {
        b->tpl_gen = 0;
        if (convert_template(b, key_conv, value_conv, tpl, why, sizeof(why)) == 0) b->tpl_gen = gen;
    }
    if (!b->tpl_gen) { /* the SDK makes this batch's records, and the next batches' */
        lc_task_api_push(L);
        lua_pushstring(L, why);
        lua_pushvalue(L, text);
        lua_pushvalue(L, b->info);
        if (lc_lua_call_sdk(L, "_source_lines_off", 4, 1, errstr, errstr_size) != 0) return -1;
        lua_replace(L, text);
        lua_settop(L, text);
        b->text = NULL;
        b->list = text;
        b->keys = b->r = b->failed_rec = 0;
        b->n = lua_istable(L, text) ? (int)lua_objlen(L, text) : 0;
        b->last_part = NULL;
        return 0;
    }
    lua_getfield(L, b->info, "source_partition");
    lua_getfield(L, b->info, "offset_field");
    lua_getfield(L, b->info, "position");
    int top = lua_gettop(L);
    b->has_part = lua_istable(L, top - 2);
    if (b->has_part) {
        double pos = lua_tonumber(L, top);
        if (!lua_isnumber(L, top) || pos < 0 || pos > 0x1p53 || pos != (double)(long long)pos) {
            snprintf(errstr, errstr_size,
                     "poll_lines() gave a source_partition without a position (an integer, "
                     "0 or more), got %s",
                     lua_isnumber(L, top) ? lua_tostring(L, top) : luaL_typename(L, top));
            return -1;
        }
        b->position = pos;
        const char *field = lua_isstring(L, top - 1) ? lua_tostring(L, top - 1) : "position";
        b->field.len = 0;
        if (encode_json_cstr(L, top - 2, &b->part, errstr, errstr_size) != 0) return -1;
        if (lc_json_string(&b->field, field, strlen(field)) != 0) {
            snprintf(errstr, errstr_size, "out of memory");
            return -1;
        }
    }
    lua_settop(L, b->info);
    out->text = b->text;
    out->len = b->text_len;
    out->topic = b->topic.data;
    out->key = b->key_null ? NULL : b->key.data;
    out->key_len = b->key_null ? 0 : b->key.len;
    out->partition = b->has_part ? b->part.data : NULL;
    return 1;
}

int lc_source_api_line_value(const lc_source_batch_t *b, const char *s, size_t n, lc_buf_t *out)
{
    out->len = 0;
    if (lc_buf_append(out, b->pre.data, b->pre.len) != 0) return -1;
    if (b->raw_hole ? lc_buf_append(out, s, n) : lc_json_string(out, s, n)) return -1;
    return lc_buf_append(out, b->suf.data, b->suf.len);
}

int lc_source_api_line_offset(const lc_source_batch_t *b, size_t end, lc_buf_t *out)
{
    char num[32];
    int k = snprintf(num, sizeof(num), ":%lld}", (long long)(b->position + (double)end));
    out->len = 0;
    return lc_buf_append(out, "{", 1) || lc_buf_append(out, b->field.data, b->field.len) ||
                   lc_buf_append(out, num, (size_t)k + 1)
               ? -1
               : 0;
}

void lc_source_api_free(lc_source_batch_t *b)
{
    lc_buf_free(&b->pre);
    lc_buf_free(&b->suf);
    lc_buf_free(&b->key);
    lc_buf_free(&b->topic);
    lc_buf_free(&b->field);
    lc_buf_free(&b->part);
    b->tpl_gen = 0;
}

int lc_source_api_json_string(lua_State *L, const char *s, lc_buf_t *out, char *errstr,
                              size_t errstr_size)
{
    lua_pushstring(L, s);
    int rc = lc_json_encode_sorted(L, -1, out, errstr, errstr_size);
    lua_pop(L, 1);
    return rc != 0 || lc_buf_append(out, "", 1) != 0 ? -1 : 0;
}

int lc_source_api_txn_request(lua_State *L)
{
    lc_task_api_push(L);
    lua_getfield(L, -1, "_txn");
    const char *v = lua_tostring(L, -1);
    int r = !v ? 0 : strcmp(v, "abort") == 0 ? 2 : 1;
    lua_pop(L, 1);
    if (r) {
        lua_pushnil(L);
        lua_setfield(L, -2, "_txn");
    }
    lua_pop(L, 1);
    return r;
}
