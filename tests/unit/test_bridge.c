/* Unit tests for lua/bridge.c: the package.path a state gets from the SDK directory and
 * plugin.path, and that require() finds a module in every plugin.path directory. */
#include "lc_test.h"
#include "bridge.h"
#include "plugins.h"

#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* Returns package.path of L (copied into out). */
static const char *package_path(lua_State *L, char *out, size_t size)
{
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "path");
    snprintf(out, size, "%s", lua_tostring(L, -1) ? lua_tostring(L, -1) : "(nil)");
    lua_pop(L, 2);
    return out;
}

TEST(test_package_path_order)
{
    char err[512] = "", got[1024];
    lua_State *L = lc_lua_new("/sdk", " /a , /b/c ,, ", NULL, err, sizeof(err));
    CHECK(L != NULL);
    if (!L) return;
    CHECK_STR(package_path(L, got, sizeof(got)),
              "/sdk/?.lua;/a/?.lua;/a/?/init.lua;/b/c/?.lua;/b/c/?/init.lua");
    lc_lua_close(L);

    L = lc_lua_new("/sdk", NULL, NULL, err, sizeof(err));
    CHECK(L != NULL);
    if (!L) return;
    CHECK_STR(package_path(L, got, sizeof(got)), "/sdk/?.lua");
    lc_lua_close(L);
}

/* Regression: every short plugin.path entry adds 19 bytes more than twice its length, and
 * the buffer was sized from twice the whole list plus a constant, so ~30 one-letter entries
 * wrote past it (heap overflow, found by review; ASan reports it). */
TEST(test_package_path_many_short_entries)
{
    enum { N = 200 };
    char err[512] = "", want[16384], got[16384], entry[16];
    char *list = calloc(N, 8);
    size_t wn = (size_t)snprintf(want, sizeof(want), "/s/?.lua"), ln = 0;
    for (int i = 0; i < N; i++) {
        snprintf(entry, sizeof(entry), "%c%d", 'a' + i % 26, i / 26);
        ln += (size_t)sprintf(list + ln, "%s%s", i ? "," : "", entry);
        wn +=
            (size_t)snprintf(want + wn, sizeof(want) - wn, ";%s/?.lua;%s/?/init.lua", entry, entry);
    }
    lua_State *L = lc_lua_new("/s", list, NULL, err, sizeof(err));
    CHECK(L != NULL);
    if (L) CHECK_STR(package_path(L, got, sizeof(got)), want);
    lc_lua_close(L);
    free(list);
}

/* What a user sees: a module in the last of 40 plugin.path directories can be required. */
TEST(test_require_from_last_of_many_dirs)
{
    char tmpl[] = "/tmp/lc-bridge-XXXXXX", err[512] = "", path[256], list[2048] = "";
    char cwd[4096];
    size_t ln = 0;
    CHECK(mkdtemp(tmpl) != NULL);
    CHECK(getcwd(cwd, sizeof(cwd)) != NULL);
    CHECK_INT(chdir(tmpl), 0);
    for (int i = 0; i < 40; i++) {
        snprintf(path, sizeof(path), "d%d", i);
        CHECK_INT(mkdir(path, 0700), 0);
        ln += (size_t)snprintf(list + ln, sizeof(list) - ln, "%s%s", i ? "," : "", path);
    }
    FILE *f = fopen("d39/lastmod.lua", "w");
    CHECK(f != NULL);
    if (f) {
        fputs("return { answer = 42 }\n", f);
        fclose(f);
    }
    lua_State *L = lc_lua_new(lc_sdk_dir(), list, NULL, err, sizeof(err));
    CHECK(L != NULL);
    if (L) {
        int rc = luaL_dostring(L, "return require('lastmod').answer");
        if (rc) fprintf(stderr, "require: %s\n", lua_tostring(L, -1));
        CHECK_INT(rc, 0);
        CHECK_INT(lua_tointeger(L, -1), 42);
    }
    lc_lua_close(L);
    unlink("d39/lastmod.lua");
    for (int i = 0; i < 40; i++) {
        snprintf(path, sizeof(path), "d%d", i);
        rmdir(path);
    }
    CHECK_INT(chdir(cwd), 0);
    rmdir(tmpl);
}

int main(void)
{
    RUN(test_package_path_order);
    RUN(test_package_path_many_short_entries);
    RUN(test_require_from_last_of_many_dirs);
    return lc_test_summary("test_bridge");
}
