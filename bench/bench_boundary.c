/* bench_boundary: records/s across the C/Lua boundary as the task threads cross it (not a
 * test).
 *
 * sink direction (C -> Lua): C builds one record table per message with lua/sink_api.c's
 *   lc_sink_api_add, as sink_task.c does (topic, partition, offset, timestamp, key and
 *   value decoded by the JsonConverter) into a batch list, then makes one lua_pcall per
 *   batch into a put() that reads every value.
 * source direction (Lua -> C): one lua_pcall per batch into a poll() that returns a list
 *   of records built in Lua; C reads each with lua/source_api.c as source_task.c does
 *   (the entry's fields, key and value encoded with the JsonConverter, headers, source
 *   partition and offset as JSON text).
 * Each direction runs with batches of 1, 100 and 500 records, so the cost of one crossing
 * and the cost of one record can be told apart; batch 500 runs again with three headers
 * per record (a=1, b=2, a=3) pushed and read by lua/headers.c as the tasks do.
 *
 * Build (from the repository root; bench/run.sh does this):
 *   gcc -std=c11 -D_GNU_SOURCE -DLC_VERSION='"bench"' -O2 -Ilua \
 *       $(pkg-config --cflags luajit) bench/bench_boundary.c lua/?*.c \
 *       $(pkg-config --libs luajit rdkafka) -lm -ldl -o /tmp/bench_boundary
 *   /tmp/bench_boundary [records] */
#include "bench.h"
#include "headers.h"
#include "sink_api.h"
#include "source_api.h"

#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char value[] =
    "{\"text\":\"000000042 xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\",\"source\":\"bench\"}";

static const char script[] =
    "local put_seen = 0\n"
    "function put(records)\n"
    "  for i = 1, #records do\n"
    "    local r = records[i]\n"
    "    if r.value.source and r.headers == nil then put_seen = put_seen + 1 end\n"
    "    if r.headers ~= nil then put_seen = put_seen + 1 end\n"
    "  end\n"
    "end\n"
    "local proto = ...\n"
    "function poll(n, hdrs)\n"
    "  local out = {}\n"
    "  for i = 1, n do\n"
    "    out[i] = { topic = 'bench-clean', key = nil, value = { text = proto.text, source = "
    "'bench' },\n"
    "               source_partition = { filename = 'in.txt' }, source_offset = { position = i },\n"
    "               headers = hdrs and { { 'a', '1' }, { 'b', '2' }, { 'a', '3' } } or nil }\n"
    "  end\n"
    "  return out\n"
    "end\n";

/* C -> Lua: n records in batches of batch; 0, or -1 with err. The batch is set up by hand
 * (lc_sink_api_begin would push the task table of a task's state). */
static int sink_side(lua_State *L, const lc_converter_t *c, long n, int batch,
                     const rd_kafka_headers_t *hdrs, char *err, size_t errsz)
{
    for (long done = 0; done < n;) {
        int count = (int)(n - done < batch ? n - done : batch);
        lua_getglobal(L, "put");
        lua_createtable(L, count, 0);
        lc_sink_batch_t b = {.L = L, .list = lua_gettop(L), .n = 0};
        for (int i = 1; i <= count; i++, done++) {
            const char *stage;
            lc_sink_msg_t m = {.topic = "bench-clean",
                               .partition = 0,
                               .offset = done,
                               .timestamp = 1700000000000 + done,
                               .value = value,
                               .value_len = sizeof value - 1,
                               .headers = hdrs};
            if (lc_sink_api_add(&b, c, c, &m, &stage, err, errsz)) return -1;
        }
        if (lua_pcall(L, 1, 0, 0)) {
            snprintf(err, errsz, "put: %s", lua_tostring(L, -1));
            return -1;
        }
    }
    return 0;
}

/* Lua -> C: n records in batches of batch; 0, or -1 with err. *bytes gets the encoded
 * bytes (so the work cannot be optimised away). The batch is set up by hand
 * (lc_source_api_poll would call the SDK's _source_poll). */
static int source_side(lua_State *L, const lc_converter_t *c, long n, int batch, int hdrs,
                       size_t *bytes, char *err, size_t errsz)
{
    lc_buf_t key = {0}, val = {0}, pbuf = {0}, obuf = {0};
    int is_null, rc = -1;
    for (long done = 0; done < n;) {
        int count = (int)(n - done < batch ? n - done : batch);
        lua_getglobal(L, "poll");
        lua_pushinteger(L, count);
        lua_pushboolean(L, hdrs);
        if (lua_pcall(L, 2, 1, 0)) {
            snprintf(err, errsz, "poll: %s", lua_tostring(L, -1));
            goto out;
        }
        lua_checkstack(L, 40);
        lc_source_batch_t b = {.L = L, .list = lua_gettop(L), .n = count};
        for (int i = 1; i <= count; i++, done++) {
            lc_source_entry_t e;
            rd_kafka_headers_t *h = NULL;
            if (lc_source_api_entry(&b, i, &e, err, errsz) || !e.topic ||
                lc_source_api_convert(&b, 0, c, &key, &is_null, err, errsz) ||
                lc_source_api_convert(&b, 1, c, &val, &is_null, err, errsz))
                goto out;
            *bytes += val.len + strlen(e.topic);
            if (lc_source_api_headers(&b, &obuf, &h, err, errsz)) goto out;
            if (h) {
                *bytes += rd_kafka_header_cnt(h);
                rd_kafka_headers_destroy(h);
            }
            /* as the source task does: the partition of every record, the offset of the
             * last record of a run of one partition (here the batch's last) */
            const void *part;
            if (lc_source_api_partition(&b, &pbuf, &part, err, errsz)) goto out;
            *bytes += pbuf.len;
        }
        if (lc_source_api_offset_at(&b, count, &pbuf, &obuf, err, errsz)) goto out;
        *bytes += obuf.len;
        lua_settop(L, 0);
    }
    rc = 0;
out:
    lc_buf_free(&key);
    lc_buf_free(&val);
    lc_buf_free(&pbuf);
    lc_buf_free(&obuf);
    return rc;
}

int main(int argc, char **argv)
{
    lc_converter_t conv = {LC_CONV_JSON, 0};
    static const int batches[] = {1, 100, 500, 500};
    char err[512], *end;
    long n = 1000000;
    size_t bytes = 0;
    lua_State *L;
    int rc = 1;
    rd_kafka_headers_t *hdrs = rd_kafka_headers_new(3);
    rd_kafka_header_add(hdrs, "a", -1, "1", 1);
    rd_kafka_header_add(hdrs, "b", -1, "2", 1);
    rd_kafka_header_add(hdrs, "a", -1, "3", 1);

    if (argc > 2 || (argc == 2 && ((n = strtol(argv[1], &end, 10)) <= 0 || *end))) {
        fprintf(stderr, "usage: %s [records > 0]\n", argv[0]);
        return 2;
    }
    L = bench_lua_new();
    if (!L) return 1;
    lc_headers_open(L); /* the metatable sink headers get (its methods come from the SDK) */
    lua_pop(L, 1);
    if (luaL_loadstring(L, script) ||
        lc_conv_to_lua(&conv, L, value, sizeof value - 1, err, sizeof err) ||
        (lua_pop(L, 1), lua_pcall(L, 1, 0, 0))) {
        fprintf(stderr, "script: %s\n", lua_gettop(L) ? lua_tostring(L, -1) : err);
        goto out;
    }
    printf("C/Lua batch boundary, %ld records of %zu bytes (schemaless JSON value, null key)\n", n,
           sizeof value - 1);
    for (size_t b = 0; b < sizeof batches / sizeof *batches; b++) {
        int with_headers = b == 3;
        double t0 = now();
        if (sink_side(L, &conv, n, batches[b], with_headers ? hdrs : NULL, err, sizeof err))
            goto fail;
        double sink = now() - t0;
        lua_gc(L, LUA_GCCOLLECT, 0);
        t0 = now();
        if (source_side(L, &conv, n, batches[b], with_headers, &bytes, err, sizeof err)) goto fail;
        double source = now() - t0;
        lua_gc(L, LUA_GCCOLLECT, 0);
        printf(
            "  batch %3d%s C -> Lua (sink: build + decode + put)  %10.0f records/s %5.0f "
            "ns/record\n"
            "                      Lua -> C (source: poll + read + encode) %10.0f records/s %5.0f "
            "ns/record\n",
            batches[b], with_headers ? " 3 headers" : "          ", (double)n / sink,
            sink * 1e9 / (double)n, (double)n / source, source * 1e9 / (double)n);
    }
    rc = bytes ? 0 : 1;
    goto out;
fail:
    fprintf(stderr, "bench_boundary: %s\n", err);
out:
    lua_close(L);
    rd_kafka_headers_destroy(hdrs);
    return rc;
}
