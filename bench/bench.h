/* bench.h: what the C micro-benchmarks (bench_codec.c, bench_boundary.c) share. Header
 * only, so each benchmark still builds with one gcc line. */
#ifndef LC_BENCH_H
#define LC_BENCH_H

#include "codec.h"

#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <time.h>

/* Monotonic seconds. */
static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A Lua state with the standard libraries and the codec, or NULL (said on stderr). */
static lua_State *bench_lua_new(void)
{
    char err[512];
    lua_State *L = luaL_newstate();

    if (!L) return NULL;
    luaL_openlibs(L);
    if (lc_codec_init(L, err, sizeof err)) {
        fprintf(stderr, "lc_codec_init: %s\n", err);
        lua_close(L);
        return NULL;
    }
    return L;
}

#endif
