/* test_headers: lua/headers.c, what the sink and source tasks run per record. Headers of a
 * consumed message reach Lua as the ordered list (repeated names and nulls kept), go back
 * to librdkafka headers unchanged, and a record's bad headers are refused with the reason. */
#include "lc_test.h"
#include "bridge.h"
#include "headers.h"
#include "plugins.h"

#include <lauxlib.h>
#include <stdlib.h>

/* A task-like state with the SDK loaded (its headers metatable filled in) and the global
 * `connect`. */
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

/* Runs Lua chunk code with the table at the top of the stack as `h` (not popped); returns
 * its string result, or "error: ..." (static buffer). */
static const char *eval(lua_State *L, const char *code)
{
    static char out[1024];
    lua_pushvalue(L, -1);
    lua_setglobal(L, "h");
    if (luaL_dostring(L, code)) {
        snprintf(out, sizeof out, "error: %s", lua_tostring(L, -1));
    } else {
        const char *s = lua_tostring(L, -1);
        snprintf(out, sizeof out, "%s", s ? s : "(not a string)");
    }
    lua_pop(L, 1);
    return out;
}

/* The headers of h as "name=value,..." (value "NULL" for a null header). */
static const char *show(const rd_kafka_headers_t *h)
{
    static char out[1024];
    const char *name;
    const void *val;
    size_t size, n = 0;
    out[0] = 0;
    for (size_t i = 0; rd_kafka_header_get_all(h, i, &name, &val, &size) == 0; i++)
        n += (size_t)snprintf(out + n, sizeof out - n, "%s%s=%.*s", i ? "," : "", name,
                              val ? (int)size : 4, val ? (const char *)val : "NULL");
    return out;
}

/* Builds headers from the Lua expression expr; NULL with err. Checks the stack balance. */
static rd_kafka_headers_t *from_expr(lua_State *L, const char *expr, char *err, size_t errsz)
{
    char code[1024];
    lc_buf_t tmp = {0};
    snprintf(code, sizeof code, "return %s", expr);
    if (luaL_dostring(L, code)) {
        snprintf(err, errsz, "bad expression: %s", lua_tostring(L, -1));
        lua_pop(L, 1);
        return NULL;
    }
    int top = lua_gettop(L);
    rd_kafka_headers_t *h = lc_headers_from_lua(L, top, &tmp, err, errsz);
    CHECK_INT(lua_gettop(L), top);
    lua_pop(L, 1);
    lc_buf_free(&tmp);
    return h;
}

TEST(test_push_keeps_order_repeats_and_nulls)
{
    lua_State *L = new_state();
    rd_kafka_headers_t *in = rd_kafka_headers_new(4);
    rd_kafka_header_add(in, "a", -1, "1", 1);
    rd_kafka_header_add(in, "b", -1, "2", 1);
    rd_kafka_header_add(in, "a", -1, "3", 1);
    rd_kafka_header_add(in, "n", -1, NULL, 0);
    rd_kafka_header_add(in, "bin", -1, "x\0y", 3);
    int top = lua_gettop(L);
    lc_headers_push(L, in);
    CHECK_INT(lua_gettop(L), top + 1);
    CHECK_STR(eval(L, "local t = {} for n, v in connect.headers.each(h) do "
                      "t[#t + 1] = n .. '=' .. (v == connect.null and 'NULL' or v) end "
                      "return table.concat(t, ',')"),
              "a=1,b=2,a=3,n=NULL,bin=x"); /* the rest of "x\0y" is checked below */
    CHECK_STR(eval(L, "return tostring(#h)"), "5");
    CHECK_STR(eval(L, "return #h.bin == 3 and h.a .. h.b or 'bad'"), "32");
    CHECK_STR(eval(L, "return tostring(connect.headers.is(h) and h.n == connect.null)"), "true");

    /* back to librdkafka headers unchanged, as a record passing through untouched */
    char err[256] = "";
    lc_buf_t tmp = {0};
    rd_kafka_headers_t *out = lc_headers_from_lua(L, lua_gettop(L), &tmp, err, sizeof err);
    CHECK(out != NULL);
    if (out) {
        CHECK_INT(rd_kafka_header_cnt(out), 5);
        CHECK_STR(show(out), "a=1,b=2,a=3,n=NULL,bin=x");
        const void *v;
        size_t size;
        CHECK(rd_kafka_header_get(out, 0, "bin", &v, &size) == 0 && size == 3 &&
              memcmp(v, "x\0y", 3) == 0);
        rd_kafka_headers_destroy(out);
    }
    CHECK_INT(lua_gettop(L), top + 1);

    /* map-style writes in Lua, then out again */
    eval(L, "h.b = nil; connect.headers.add(h, 'a', '4'); h.bin = nil; return ''");
    out = lc_headers_from_lua(L, -1, &tmp, err, sizeof err);
    CHECK(out != NULL);
    if (out) {
        CHECK_STR(show(out), "a=1,a=3,n=NULL,a=4");
        rd_kafka_headers_destroy(out);
    }
    lc_buf_free(&tmp);
    rd_kafka_headers_destroy(in);
    lc_lua_close(L);
}

TEST(test_from_lua_forms)
{
    lua_State *L = new_state();
    char err[256] = "";
    rd_kafka_headers_t *h;

    /* a plain list from a script, no metatable */
    h = from_expr(L, "{ {'a', '1'}, {'b', '2'}, {'a', '3'} }", err, sizeof err);
    CHECK(h != NULL);
    if (h) CHECK_STR(show(h), "a=1,b=2,a=3");
    if (h) rd_kafka_headers_destroy(h);

    /* a map (one name each); null and non-string values */
    h = from_expr(L, "{ n = connect.null }", err, sizeof err);
    CHECK(h != NULL);
    if (h) CHECK_STR(show(h), "n=NULL");
    if (h) rd_kafka_headers_destroy(h);

    h = from_expr(L, "{ {'j', {b = 1, a = {1, 2}}}, {'t', true}, {'i', 42}, {'nil'} }", err,
                  sizeof err);
    CHECK(h != NULL);
    if (h) CHECK_STR(show(h), "j={\"a\":[1,2],\"b\":1},t=true,i=42,nil=NULL");
    if (h) rd_kafka_headers_destroy(h);

    /* entries first, then map fields */
    h = from_expr(L, "{ {'a', '1'}, z = '9' }", err, sizeof err);
    CHECK(h != NULL);
    if (h) CHECK_STR(show(h), "a=1,z=9");
    if (h) rd_kafka_headers_destroy(h);

    h = from_expr(L, "connect.headers.new()", err, sizeof err);
    CHECK(h != NULL);
    if (h) CHECK_INT(rd_kafka_header_cnt(h), 0);
    if (h) rd_kafka_headers_destroy(h);
    lc_lua_close(L);
}

TEST(test_from_lua_errors)
{
    lua_State *L = new_state();
    char err[256] = "";

    CHECK(from_expr(L, "{ 'a' }", err, sizeof err) == NULL);
    CHECK_STR(err, "header 1 of 1: expected a {name, value} pair, got a string");
    CHECK(from_expr(L, "{ {'a', '1'}, {2, 'x'} }", err, sizeof err) == NULL);
    CHECK_STR(err, "header 2 of 2: names must be strings, got a number");
    CHECK(from_expr(L, "{ {'a', '1'}, {'f', print} }", err, sizeof err) == NULL);
    CHECK(strncmp(err, "header 'f': ", 12) == 0);
    CHECK(from_expr(L, "{ [true] = 'x' }", err, sizeof err) == NULL);
    CHECK_STR(err, "header names must be strings, got a boolean");
    CHECK(from_expr(L, "{ [2.5] = 'x' }", err, sizeof err) == NULL);
    CHECK_STR(err, "headers: entry at 2.5 after a gap (entries are 1..0)");
    lc_lua_close(L);
}

int main(void)
{
    RUN(test_push_keeps_order_repeats_and_nulls);
    RUN(test_from_lua_forms);
    RUN(test_from_lua_errors);
    return lc_test_summary("test_headers");
}
