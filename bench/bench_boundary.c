/* bench_boundary: records/s across the C/Lua boundary as the task threads cross it (not a
 * test).
 *
 * sink direction (C -> Lua): C builds one record table per message as sink_task.c does
 *   (topic, partition, offset, timestamp, key and value decoded by the JsonConverter) into
 *   a batch list, then makes one lua_pcall per batch into a put() that reads every value.
 * source direction (Lua -> C): one lua_pcall per batch into a poll() that returns a list
 *   of records built in Lua; C reads topic/key/value of each with the Lua C API and
 *   encodes key and value with the JsonConverter, as source_task.c does before producing.
 * Each direction runs with batches of 1, 100 and 500 records, so the cost of one crossing
 * and the cost of one record can be told apart.
 *
 * Build (from the repository root; bench/run.sh does this):
 *   gcc -std=c11 -D_GNU_SOURCE -O2 -Ilua $(pkg-config --cflags luajit) \
 *       bench/bench_boundary.c $(ls lua/*.c | grep -v bridge.c) $(pkg-config --libs luajit) -lm \
 *       -o /tmp/bench_boundary
 *   /tmp/bench_boundary [records] */
#include "bench.h"

#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char value[] = "{\"text\":\"000000042 xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\",\"source\":\"bench\"}";

static const char script[] =
    "local put_seen = 0\n"
    "function put(records)\n"
    "  for i = 1, #records do if records[i].value.source then put_seen = put_seen + 1 end end\n"
    "end\n"
    "local proto = ...\n"
    "function poll(n)\n"
    "  local out = {}\n"
    "  for i = 1, n do\n"
    "    out[i] = { topic = 'bench-clean', key = nil, value = { text = proto.text, source = 'bench' },\n"
    "               source_partition = { filename = 'in.txt' }, source_offset = { position = i } }\n"
    "  end\n"
    "  return out\n"
    "end\n";

/* Sets field name of the table at t to the integer v. */
static void set_int(lua_State *L, int t, const char *name, double v)
{
    lua_pushnumber(L, v);
    lua_setfield(L, t, name);
}

/* C -> Lua: n records in batches of batch; 0, or -1 with err. */
static int sink_side(lua_State *L, const lc_converter_t *c, long n, int batch, char *err,
                     size_t errsz)
{
    for (long done = 0; done < n;) {
        int count = (int)(n - done < batch ? n - done : batch);
        lua_getglobal(L, "put");
        lua_createtable(L, count, 0);
        int list = lua_gettop(L);
        for (int i = 1; i <= count; i++, done++) {
            lua_createtable(L, 0, 10);
            int r = lua_gettop(L);
            lua_pushliteral(L, "bench-clean");
            lua_setfield(L, r, "topic");
            set_int(L, r, "partition", 0);
            set_int(L, r, "offset", (double)done);
            set_int(L, r, "timestamp", 1700000000000.0 + (double)done);
            if (lc_conv_to_lua(c, L, NULL, 0, err, errsz)) return -1; /* null key */
            lua_setfield(L, r, "key_schema");
            lua_setfield(L, r, "key");
            if (lc_conv_to_lua(c, L, value, sizeof value - 1, err, errsz)) return -1;
            lua_setfield(L, r, "value_schema");
            lua_setfield(L, r, "value");
            lua_rawseti(L, list, i);
        }
        if (lua_pcall(L, 1, 0, 0)) {
            snprintf(err, errsz, "put: %s", lua_tostring(L, -1));
            return -1;
        }
    }
    return 0;
}

/* Lua -> C: n records in batches of batch; 0, or -1 with err. *bytes gets the encoded
 * value bytes (so the work cannot be optimised away). */
static int source_side(lua_State *L, const lc_converter_t *c, long n, int batch, size_t *bytes,
                       char *err, size_t errsz)
{
    lc_buf_t key = {0}, val = {0};
    int is_null, rc = -1;
    for (long done = 0; done < n;) {
        int count = (int)(n - done < batch ? n - done : batch);
        lua_getglobal(L, "poll");
        lua_pushinteger(L, count);
        if (lua_pcall(L, 1, 1, 0)) {
            snprintf(err, errsz, "poll: %s", lua_tostring(L, -1));
            goto out;
        }
        int list = lua_gettop(L);
        for (int i = 1; i <= count; i++, done++) {
            lua_rawgeti(L, list, i);
            int r = lua_gettop(L);
            lua_getfield(L, r, "topic");
            lua_getfield(L, r, "key");
            lua_getfield(L, r, "key_schema");
            lua_getfield(L, r, "value");
            lua_getfield(L, r, "value_schema");
            size_t tlen;
            if (!lua_tolstring(L, r + 1, &tlen) ||
                lc_conv_from_lua(c, L, r + 2, r + 3, &key, &is_null, err, errsz) ||
                lc_conv_from_lua(c, L, r + 4, r + 5, &val, &is_null, err, errsz))
                goto out;
            *bytes += val.len + tlen;
            key.len = val.len = 0;
            lua_settop(L, list);
        }
        lua_settop(L, 0);
    }
    rc = 0;
out:
    lc_buf_free(&key);
    lc_buf_free(&val);
    return rc;
}

int main(int argc, char **argv)
{
    lc_converter_t conv = {LC_CONV_JSON, 0};
    static const int batches[] = {1, 100, 500};
    char err[512], *end;
    long n = 1000000;
    size_t bytes = 0;
    lua_State *L;
    int rc = 1;

    if (argc > 2 || (argc == 2 && ((n = strtol(argv[1], &end, 10)) <= 0 || *end))) {
        fprintf(stderr, "usage: %s [records > 0]\n", argv[0]);
        return 2;
    }
    L = bench_lua_new();
    if (!L) return 1;
    if (luaL_loadstring(L, script) || lc_conv_to_lua(&conv, L, value, sizeof value - 1, err,
                                                     sizeof err) ||
        (lua_pop(L, 1), lua_pcall(L, 1, 0, 0))) {
        fprintf(stderr, "script: %s\n", lua_gettop(L) ? lua_tostring(L, -1) : err);
        goto out;
    }
    printf("C/Lua batch boundary, %ld records of %zu bytes (schemaless JSON value, null key)\n",
           n, sizeof value - 1);
    for (size_t b = 0; b < sizeof batches / sizeof *batches; b++) {
        double t0 = now();
        if (sink_side(L, &conv, n, batches[b], err, sizeof err)) goto fail;
        double sink = now() - t0;
        lua_gc(L, LUA_GCCOLLECT, 0);
        t0 = now();
        if (source_side(L, &conv, n, batches[b], &bytes, err, sizeof err)) goto fail;
        double source = now() - t0;
        lua_gc(L, LUA_GCCOLLECT, 0);
        printf("  batch %3d  C -> Lua (sink: build + decode + put)  %10.0f records/s %5.0f "
               "ns/record\n"
               "             Lua -> C (source: poll + read + encode) %10.0f records/s %5.0f "
               "ns/record\n",
               batches[b], (double)n / sink, sink * 1e9 / (double)n, (double)n / source,
               source * 1e9 / (double)n);
    }
    rc = bytes ? 0 : 1;
    goto out;
fail:
    fprintf(stderr, "bench_boundary: %s\n", err);
out:
    lua_close(L);
    return rc;
}
