/* test_batch_api: lua/source_api.c and lua/sink_api.c, what the task loops read and build
 * per record. A polled batch is walked as typed entries (records, skip and error markers),
 * a record's parts come out as the bytes the tasks produce, the source partition is encoded
 * once while records share its table, a failure report gets the marker's record (plain
 * JSON when the converter is what failed), and a sink record table holds what the message
 * held. The SDK calls (_source_poll, _sink_put) run in the integration tests. */
#include "lc_test.h"
#include "bridge.h"
#include "plugins.h"
#include "sink_api.h"
#include "source_api.h"

#include <lauxlib.h>
#include <stdlib.h>

static lua_State *new_state(void)
{
    char err[512] = "";
    lua_State *L = lc_lua_new(lc_sdk_dir(), NULL, NULL, err, sizeof err);
    if (!L || lc_lua_sdk(L, err, sizeof err) != 0) {
        fprintf(stderr, "state: %s\n", err);
        exit(1);
    }
    lua_setglobal(L, "connect");
    return L;
}

/* Leaves the value of Lua expression expr on the stack as a batch to read. */
static void batch_of(lua_State *L, lc_source_batch_t *b, const char *expr)
{
    char code[2048];
    snprintf(code, sizeof code, "return %s", expr);
    if (luaL_dostring(L, code)) {
        fprintf(stderr, "batch: %s\n", lua_tostring(L, -1));
        exit(1);
    }
    *b = (lc_source_batch_t){.L = L, .list = lua_gettop(L), .n = (int)lua_objlen(L, -1)};
}

static char *str(const lc_buf_t *b)
{
    static char out[512];
    snprintf(out, sizeof out, "%.*s", (int)b->len, b->data ? b->data : "");
    return out;
}

TEST(test_source_entries)
{
    lua_State *L = new_state();
    lc_converter_t json = {LC_CONV_JSON, 0};
    lc_buf_t k = {0}, v = {0}, p = {0}, o = {0};
    lc_source_batch_t b;
    lc_source_entry_t e;
    rd_kafka_headers_t *h;
    char err[512];
    int knull, vnull;
    batch_of(
        L, &b,
        "(function() local part = {file = 'a'}\n"
        "return {{topic = 't', partition = 2, timestamp = 5, key = 'k', value = {x = 1},\n"
        "         headers = {{'h', 'v'}}, source_partition = part, source_offset = {pos = 1}},\n"
        "        {topic = 't', value = 'y', source_partition = part, source_offset = {pos = 2}},\n"
        "        {_lc = 'skip', source_partition = {file = 'b'}, source_offset = {pos = 9}},\n"
        "        {_lc = 'error', record = {topic = 'u', key = 'kk', value = {z = true}},\n"
        "         class = 'Cls', message = 'boom', trace = 'tb', where = 'record 4'},\n"
        "        42} end)()");
    CHECK_INT(b.n, 5);

    CHECK_INT(lc_source_api_entry(&b, 1, &e, err, sizeof err), 0);
    CHECK_INT(e.kind, LC_SOURCE_RECORD);
    CHECK_STR(e.topic, "t");
    CHECK_INT(e.partition, 2);
    CHECK_INT(e.timestamp, 5);
    CHECK_INT(lc_source_api_convert(&b, 0, &json, &k, &knull, err, sizeof err), 0);
    CHECK_STR(str(&k), "\"k\"");
    CHECK_INT(lc_source_api_convert(&b, 1, &json, &v, &vnull, err, sizeof err), 0);
    CHECK_STR(str(&v), "{\"x\":1}");
    CHECK_INT(lc_source_api_headers(&b, &o, &h, err, sizeof err), 0);
    CHECK(h && rd_kafka_header_cnt(h) == 1);
    if (h) rd_kafka_headers_destroy(h);
    const void *part1, *part2;
    CHECK_INT(lc_source_api_partition(&b, &p, &part1, err, sizeof err), 0);
    CHECK(part1 != NULL);
    CHECK_STR(p.data, "{\"file\":\"a\"}");

    /* Same partition table: pbuf is not encoded again (a marker here would show it). */
    p.data[2] = 'X';
    CHECK_INT(lc_source_api_entry(&b, 2, &e, err, sizeof err), 0);
    CHECK_INT(e.partition, -1);
    CHECK_INT(e.timestamp, 0);
    CHECK_INT(lc_source_api_headers(&b, &o, &h, err, sizeof err), 0);
    CHECK(h == NULL);
    CHECK_INT(lc_source_api_partition(&b, &p, &part2, err, sizeof err), 0);
    CHECK(part2 == part1);
    CHECK_STR(p.data, "{\"Xile\":\"a\"}");
    CHECK_INT(lc_source_api_offset_at(&b, 2, &p, &o, err, sizeof err), 0);
    CHECK_STR(p.data, "{\"file\":\"a\"}");
    CHECK_STR(o.data, "{\"pos\":2}");

    CHECK_INT(lc_source_api_entry(&b, 3, &e, err, sizeof err), 0);
    CHECK_INT(e.kind, LC_SOURCE_SKIP);
    CHECK_INT(lc_source_api_skip_offset(&b, &p, &o), 0);
    CHECK_STR(p.data, "{\"file\":\"b\"}");
    CHECK_STR(o.data, "{\"pos\":9}");

    /* An error marker's failure report reads its record; a converter that cannot encode
     * the value (a string converter given a table) leaves plain JSON for the DLQ. */
    lc_converter_t string = {LC_CONV_STRING, 0};
    lc_source_failed_t f;
    CHECK_INT(lc_source_api_entry(&b, 4, &e, err, sizeof err), 0);
    CHECK_INT(e.kind, LC_SOURCE_ERROR);
    CHECK_STR(e.class_name, "Cls");
    CHECK_STR(e.message, "boom");
    CHECK_STR(e.trace, "tb");
    CHECK_STR(e.where, "record 4");
    lc_source_api_failed(&b, &string, &string, &k, &v, &p, &o, &f);
    CHECK_STR(f.topic, "u");
    CHECK_INT(f.key_null, 0);
    CHECK_STR(str(&k), "kk");
    CHECK_INT(f.value_null, 0);
    CHECK_STR(str(&v), "{\"z\":true}");
    CHECK_INT(f.has_offset, 0);

    CHECK_INT(lc_source_api_entry(&b, 5, &e, err, sizeof err), -1);
    CHECK_STR(err, "poll() returned a number at position 5 of 5; records are tables");
    lc_source_api_end(&b);
    CHECK_INT(lua_gettop(L), 0);
    lc_buf_free(&k);
    lc_buf_free(&v);
    lc_buf_free(&p);
    lc_buf_free(&o);
    lc_lua_close(L);
}

/* Records of one partition table give one pointer (their run: only the last one's offset is
 * encoded, by lc_source_api_offset_at), another table another; a record without a table
 * gives NULL. The offset of any record is read back by its index, with the encoder's error
 * when it cannot be written. */
TEST(test_source_partition_runs)
{
    lua_State *L = new_state();
    lc_buf_t p = {0}, o = {0};
    lc_source_batch_t b;
    lc_source_entry_t e;
    char err[512];
    batch_of(L, &b,
             "(function() local part, q = {file = 'a'}, {file = 'a'}\n"
             "local function r(sp, so) return {topic = 't', source_partition = sp,\n"
             "  source_offset = so} end\n"
             "return {r(part, {pos = 1}), r(part, {pos = 2}), r(part, nil), r(q, {pos = 4}),\n"
             "        r(nil, nil), r(q, {f = print})} end)()");
    const void *parts[7];
    CHECK_INT(b.n, 6);
    for (int i = 1; i <= b.n; i++) {
        CHECK_INT(lc_source_api_entry(&b, i, &e, err, sizeof err), 0);
        int top = lua_gettop(L);
        CHECK_INT(lc_source_api_partition(&b, &p, &parts[i], err, sizeof err), 0);
        CHECK_INT(lua_gettop(L), top);
        if (parts[i]) CHECK_STR(p.data, "{\"file\":\"a\"}");
    }
    CHECK(parts[1] && parts[2] == parts[1] && parts[3] == parts[1]);
    CHECK(parts[4] && parts[4] != parts[1] && parts[6] == parts[4]);
    CHECK(parts[5] == NULL);
    static const char *const off[] = {"{\"pos\":1}", "{\"pos\":2}", "null", "{\"pos\":4}"};
    for (int i = 1; i <= 4; i++) {
        int top = lua_gettop(L);
        CHECK_INT(lc_source_api_offset_at(&b, i, &p, &o, err, sizeof err), 0);
        CHECK_INT(lua_gettop(L), top);
        CHECK_STR(p.data, "{\"file\":\"a\"}");
        CHECK_STR(o.data, off[i - 1]);
    }
    CHECK_INT(lc_source_api_offset_at(&b, 6, &p, &o, err, sizeof err), -1);
    CHECK_STR(err, "value.f: cannot encode a function");
    lc_source_api_end(&b);
    lc_buf_free(&p);
    lc_buf_free(&o);
    lc_lua_close(L);
}

TEST(test_sink_records)
{
    lua_State *L = new_state();
    lc_converter_t json = {LC_CONV_JSON, 0};
    rd_kafka_headers_t *hdrs = rd_kafka_headers_new(1);
    rd_kafka_header_add(hdrs, "a", -1, "1", 1);
    char err[512];
    const char *stage = NULL;
    lua_newtable(L); /* stands for the task table lc_sink_api_begin pushes */
    lua_createtable(L, 2, 0);
    lc_sink_batch_t b = {.L = L, .list = lua_gettop(L), .n = 0};
    lc_sink_msg_t m = {.topic = "t",
                       .partition = 3,
                       .offset = 7,
                       .timestamp = -1,
                       .key = "\"k\"",
                       .key_len = 3,
                       .value = "{\"x\":1}",
                       .value_len = 7,
                       .headers = hdrs};
    CHECK_INT(lc_sink_api_add(&b, &json, &json, &m, &stage, err, sizeof err), 0);
    m.value = "{bad";
    m.value_len = 4;
    CHECK_INT(lc_sink_api_add(&b, &json, &json, &m, &stage, err, sizeof err), -1);
    CHECK_STR(stage, "VALUE_CONVERTER");
    CHECK_INT(b.n, 1);
    CHECK_INT(lua_gettop(L), b.list);
    lua_setglobal(L, "records");
    CHECK_INT(luaL_dostring(L, "local r = records[1]\n"
                               "return table.concat({#records, r.topic, r.partition, r.offset,\n"
                               "  tostring(r.timestamp), r.key, r.value.x, r.headers.a}, ',')"),
              0);
    CHECK_STR(lua_tostring(L, -1), "1,t,3,7,nil,k,1,1");
    rd_kafka_headers_destroy(hdrs);
    lc_lua_close(L);
}

/* lc_source_api_run: the record loop inside one protected call reads and converts as
 * outside it, a converter failure included; the batch is usable afterwards. */
typedef struct {
    lc_source_batch_t *b;
    lc_buf_t out;
    char text[256];
} run_ctx_t;

static int run_loop(void *opaque)
{
    run_ctx_t *rc = opaque;
    lc_converter_t json = {LC_CONV_JSON, 0};
    lc_source_entry_t e;
    char err[256];
    int isnull;
    for (int i = 1; i <= rc->b->n; i++) {
        if (lc_source_api_entry(rc->b, i, &e, err, sizeof err) != 0) return -1;
        int failed = lc_source_api_convert(rc->b, 1, &json, &rc->out, &isnull, err, sizeof err);
        size_t used = strlen(rc->text);
        if (failed) /* a converter failure: the loop goes on */
            snprintf(rc->text + used, sizeof rc->text - used, "%s<%s>", i > 1 ? " " : "", err);
        else
            snprintf(rc->text + used, sizeof rc->text - used, "%s%.*s", i > 1 ? " " : "",
                     (int)rc->out.len, rc->out.data);
    }
    return 5;
}

TEST(test_source_run)
{
    lua_State *L = new_state();
    lc_source_batch_t b;
    char err[256];
    run_ctx_t rc = {.b = &b};
    batch_of(L, &b,
             "{{topic = 't', value = {x = 1}}, {topic = 't', value = print},"
             " {topic = 't', value = {y = 2}}}");
    CHECK_INT(lc_source_api_run(&b, run_loop, &rc, err, sizeof err), 5);
    CHECK_STR(rc.text, "{\"x\":1} <value: cannot encode a function> {\"y\":2}");
    CHECK_INT(lua_istable(L, b.list), 1);
    lc_source_api_end(&b);
    lc_buf_free(&rc.out);
    lc_lua_close(L);
}

/* lc_sink_api_build: each message through one protected call, a failure where it is; topics
 * that alternate, each name at two pointers (the builder compares the pointer first). */
static const char *const build_values[] = {"{\"x\":1}", "{bad", "{\"x\":3}", "[1,2.0]"};
static char build_topics[][3] = {"ta", "tb", "tb", "ta"};

typedef struct {
    const lc_converter_t *json;
    int failed_at;
    char err[256];
} build_ctx_t;

static int build_each(void *opaque, int i, lc_sink_batch_t *b)
{
    build_ctx_t *bc = opaque;
    const char *stage = NULL;
    lc_sink_msg_t m = {.topic = build_topics[i],
                       .partition = 0,
                       .offset = i,
                       .timestamp = 5,
                       .value = build_values[i],
                       .value_len = strlen(build_values[i])};
    if (lc_sink_api_add(b, bc->json, bc->json, &m, &stage, bc->err, sizeof bc->err) != 0)
        bc->failed_at = i;
    return 0;
}

static int build_stop(void *opaque, int i, lc_sink_batch_t *b)
{
    (void)b;
    return i == 1 ? 7 : build_each(opaque, i, b);
}

TEST(test_sink_build)
{
    lua_State *L = new_state();
    lc_converter_t json = {LC_CONV_JSON, 0};
    char err[512];
    build_ctx_t bc = {.json = &json, .failed_at = -1};
    lc_sink_batch_t b;
    lc_sink_api_begin(&b, L, 4);
    int top = lua_gettop(L);
    CHECK_INT(lc_sink_api_build(&b, 4, build_each, &bc, err, sizeof err), 0);
    CHECK_INT(lua_gettop(L), top);
    CHECK_INT(b.n, 3);
    CHECK_INT(bc.failed_at, 1);
    CHECK_STR(bc.err, "invalid JSON at line 1 column 2: unexpected 'b', expected a string key");
    lua_pushvalue(L, b.list);
    lua_setglobal(L, "records");
    CHECK_INT(luaL_dostring(L, "local out = {}\n"
                               "for i, r in ipairs(records) do\n"
                               "  out[i] = r.topic .. ':' .. r.offset .. '=' ..\n"
                               "    connect.json.encode(r.value)\n"
                               "end\n"
                               "return table.concat(out, ' ')"),
              0);
    CHECK_STR(lua_tostring(L, -1), "ta:0={\"x\":1} tb:2={\"x\":3} ta:3=[1,2.0]");
    lc_sink_api_end(&b);
    lc_sink_api_begin(&b, L, 4);
    CHECK_INT(lc_sink_api_build(&b, 4, build_stop, &bc, err, sizeof err), 7);
    CHECK_INT(b.n, 1);
    lc_sink_api_end(&b);
    lc_lua_close(L);
}

/* Records with keys (an envelope with a schema), headers and no timestamp, a converter
 * failure between two of them (the next record must not get the failed one's key), and the
 * same messages for a sink that declares lazy_values: its object values come undecoded,
 * are decoded on first read, and connect.json.lines writes the lines a decode would give.
 * Last, the same sink in a state without ffi, where no builder can be made: the records are
 * built field by field, none lazy, and hold the same. */
#define TASK_KEY_NAME "luaconnect.task" /* where lua/task_api.c keeps the task table */

static const struct {
    const char *key, *value;
} keyed[] = {
    {"{\"schema\":{\"type\":\"string\"},\"payload\":\"k0\"}", "{\"b\":1,\"a\":\"x\"}"},
    {"{\"schema\":{\"type\":\"string\"},\"payload\":\"k1\"}", "{bad"},
    {NULL, "{\"a\\u0062\":2}"},
    {"{\"schema\":{\"type\":\"string\"},\"payload\":\"k3\"}", "[1,{\"d\":1,\"c\":2}]"},
    {NULL, "{\"z\":[],\"y\":{\"q\":null,\"p\":1.0}}"},
};

static int keyed_each(void *opaque, int i, lc_sink_batch_t *b)
{
    build_ctx_t *bc = opaque;
    static const lc_converter_t keys = {LC_CONV_JSON, 1};
    rd_kafka_headers_t *h = NULL;
    const char *stage = NULL;
    if (i == 3) {
        h = rd_kafka_headers_new(1);
        rd_kafka_header_add(h, "hd", -1, "v", 1);
    }
    lc_sink_msg_t m = {.topic = i < 4 ? "t1" : "t2",
                       .partition = i,
                       .offset = 10 + i,
                       .timestamp = i == 0 ? -1 : 100 + i,
                       .key = keyed[i].key,
                       .key_len = keyed[i].key ? strlen(keyed[i].key) : 0,
                       .value = keyed[i].value,
                       .value_len = strlen(keyed[i].value),
                       .headers = h};
    if (lc_sink_api_add(b, &keys, bc->json, &m, &stage, bc->err, sizeof bc->err) != 0)
        bc->failed_at = i;
    if (h) rd_kafka_headers_destroy(h);
    return 0;
}

static const char *keyed_dump =
    "local out = {}\n"
    "for i, r in ipairs(records) do\n"
    "  out[i] = table.concat({r.topic, r.partition, r.offset, tostring(r.timestamp),\n"
    "    tostring(r.key), r.key_schema and r.key_schema.type or '-',\n"
    "    r.headers and r.headers.hd or '-', connect.json.encode(r.value)}, ',')\n"
    "end\n"
    "return table.concat(out, ' ')";

TEST(test_sink_build_keyed_and_lazy)
{
    lua_State *L = new_state();
    lc_converter_t json = {LC_CONV_JSON, 0};
    char err[512];
    const char *want =
        "t1,0,10,nil,k0,string,-,{\"a\":\"x\",\"b\":1} t1,2,12,102,nil,-,-,{\"ab\":2} "
        "t1,3,13,103,k3,string,v,[1,{\"c\":2,\"d\":1}] t2,4,14,104,nil,-,-,{\"y\":{\"p\":1.0,\"q\":null},\"z\":[]}";
    const char *lines = "{\"a\":\"x\",\"b\":1}\n{\"ab\":2}\n[1,{\"c\":2,\"d\":1}]\n"
                        "{\"y\":{\"p\":1.0,\"q\":null},\"z\":[]}\n";
    for (int mode = 0; mode < 3; mode++) {
        build_ctx_t bc = {.json = &json, .failed_at = -1};
        lc_sink_batch_t b;
        int lazy = mode == 1;
        if (mode == 2) { /* a state of its own: the builder is kept per state */
            lc_lua_close(L);
            L = new_state();
            luaL_dostring(L, "package.loaded.ffi = nil");
        }
        luaL_dostring(L, mode ? "debug.getregistry()['" TASK_KEY_NAME "'] = { _lazy_values = true }"
                              : "debug.getregistry()['" TASK_KEY_NAME "'] = nil");
        lc_sink_api_begin(&b, L, 5);
        CHECK_INT(b.lazy, lazy); /* mode 2: lazy_values declared, but no builder */
        CHECK_INT(lc_sink_api_build(&b, 5, keyed_each, &bc, err, sizeof err), 0);
        CHECK_INT(b.n, 4);
        CHECK_INT(bc.failed_at, 1);
        lua_pushvalue(L, b.list);
        lua_setglobal(L, "records");
        /* lines first: lazy values are still unread */
        CHECK_INT(luaL_dostring(L, "return connect.json.lines(records)"), 0);
        CHECK_STR(lua_tostring(L, -1), lines);
        lua_pop(L, 1);
        CHECK_INT(luaL_dostring(L, lazy ? "return getmetatable(records[1]) .. ',' .."
                                          " tostring(rawget(records[1], 'value'))"
                                        : "return tostring(getmetatable(records[1]))"),
                  0);
        CHECK_STR(lua_tostring(L, -1), lazy ? "luaconnect.record,nil" : "nil");
        lua_pop(L, 1);
        CHECK_INT(luaL_dostring(L, keyed_dump), 0);
        CHECK_STR(lua_tostring(L, -1), want);
        lua_pop(L, 1);
        /* read, then changed: lines follow the values */
        CHECK_INT(luaL_dostring(L, "records[1].value.c = 3; records[2].value = nil\n"
                                   "return connect.json.lines(records)"),
                  0);
        CHECK_STR(lua_tostring(L, -1), "{\"a\":\"x\",\"b\":1,\"c\":3}\nnull\n[1,{\"c\":2,\"d\":1}]\n"
                                       "{\"y\":{\"p\":1.0,\"q\":null},\"z\":[]}\n");
        lua_pop(L, 1);
        lc_sink_api_end(&b);
    }
    lc_lua_close(L);
}

int main(void)
{
    RUN(test_source_entries);
    RUN(test_source_partition_runs);
    RUN(test_sink_records);
    RUN(test_sink_build);
    RUN(test_sink_build_keyed_and_lazy);
    RUN(test_source_run);
    return lc_test_summary("test_batch_api");
}
