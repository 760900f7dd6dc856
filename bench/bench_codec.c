/* bench_codec: throughput of the JSON converter's hot paths (not a test).
 *
 * Measures decode (bytes -> Lua) and encode (Lua -> bytes) of a typical ~100-byte
 * schemaless record and of a ~1 KB struct envelope (schemas.enable=true), each
 * ITERATIONS times (default 1,000,000), and prints MB/s of JSON text. A second argument
 * runs only the cases whose label contains it ("decode record", "encode", ...), which is
 * what a profiler wants.
 *
 * Build (from the repository root): make bench's gcc line in bench/run.sh (the codec's
 * files: lua's C files but bridge.c and the _api.c bindings), or the build tree's
 * bench_codec target (CMakeLists.txt).
 *   /tmp/bench_codec [iterations [case]]
 *   perf record -g /tmp/bench_codec 1000000 "decode record" */
#include "bench.h"

#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char record[] = "{\"id\":1234567,\"name\":\"Alice Smith\",\"email\":\"alice@example."
                             "com\",\"active\":true,\"score\":87.25,\"tags\":[\"a\",\"b\"]}";

/* Builds the ~1 KB struct envelope by encoding a Lua record, so the bench input is exactly
 * what the codec (and Kafka Connect) would write. */
static const char struct_lua[] =
    "local fields, value = {}, {}\n"
    "local types = {'int32','int64','string','double','boolean','string','int64','string'}\n"
    "for i = 1, 12 do\n"
    "  local t = types[(i - 1) % #types + 1]\n"
    "  fields[i] = {field = 'field_' .. i, type = t, optional = (i % 3 == 0)}\n"
    "  if t == 'int32' then value['field_' .. i] = i * 1000\n"
    "  elseif t == 'int64' then value['field_' .. i] = 1700000000000 + i\n"
    "  elseif t == 'double' then value['field_' .. i] = i + 0.25\n"
    "  elseif t == 'boolean' then value['field_' .. i] = (i % 2 == 0)\n"
    "  else value['field_' .. i] = 'value number ' .. i end\n"
    "end\n"
    "return value, {type = 'struct', name = 'com.example.Row', version = 1, fields = fields}\n";

static const char *only; /* run only the cases whose label contains this */

static int wanted(const char *label)
{
    return !only || strstr(label, only) != NULL;
}

static void report(const char *what, size_t bytes, long iters, double secs)
{
    printf("%-34s %6zu B  %8.1f MB/s  %7.0f ns/op\n", what, bytes,
           (double)bytes * (double)iters / secs / 1e6, secs * 1e9 / (double)iters);
}

/* Decodes text iters times, then encodes the decoded value iters times. */
static int bench(lua_State *L, const lc_converter_t *c, const char *name, const char *text,
                 size_t len, long iters)
{
    char err[512], label[64];
    lc_buf_t out = {0};
    int is_null;
    long i;
    double t0;

    snprintf(label, sizeof label, "decode %s", name);
    if (wanted(label)) {
        t0 = now();
        for (i = 0; i < iters; i++) {
            if (lc_conv_to_lua(c, L, text, len, err, sizeof err)) goto fail;
            lua_settop(L, 0);
        }
        report(label, len, iters, now() - t0);
    }

    snprintf(label, sizeof label, "encode %s", name);
    if (wanted(label)) {
        if (lc_conv_to_lua(c, L, text, len, err, sizeof err)) goto fail;
        t0 = now();
        for (i = 0; i < iters; i++)
            if (lc_conv_from_lua(c, L, 1, 2, &out, &is_null, err, sizeof err)) goto fail;
        report(label, out.len, iters, now() - t0);
    }
    lua_settop(L, 0);
    lc_buf_free(&out);
    return 0;
fail:
    fprintf(stderr, "bench %s: %s\n", name, err);
    lc_buf_free(&out);
    return -1;
}

int main(int argc, char **argv)
{
    lc_converter_t plain = {LC_CONV_JSON, 0}, schemas = {LC_CONV_JSON, 1};
    char err[512], *end;
    long iters = 1000000;
    lc_buf_t env = {0};
    lua_State *L;
    int is_null, rc = 1;

    if (argc > 3 || (argc >= 2 && ((iters = strtol(argv[1], &end, 10)) <= 0 || *end))) {
        fprintf(stderr, "usage: %s [iterations > 0 [case]]\n", argv[0]);
        return 2;
    }
    if (argc == 3) only = argv[2];
    L = bench_lua_new();
    if (!L) return 1;
    if (luaL_dostring(L, struct_lua) ||
        lc_conv_from_lua(&schemas, L, 1, 2, &env, &is_null, err, sizeof err)) {
        fprintf(stderr, "building the envelope: %s\n",
                lua_gettop(L) && lua_isstring(L, -1) ? lua_tostring(L, -1) : err);
        goto out;
    }
    lua_settop(L, 0);
    printf("%ld iterations each\n", iters);
    if (bench(L, &plain, "record (schemaless)", record, sizeof record - 1, iters)) goto out;
    if (bench(L, &schemas, "struct envelope", env.data, env.len, iters)) goto out;
    rc = 0;
out:
    lc_buf_free(&env);
    lua_close(L);
    return rc;
}
