/* fuzz_common: what the libFuzzer harnesses of tests/fuzz share.
 *
 * FUZZ_ASSERT turns a broken property into a crash libFuzzer reports and saves (abort), with
 * the property and the values involved on stderr. fuzz_state() gives a lua_State made as
 * the host makes one for a task (lc_lua_new: sandbox, codec, SDK on package.path).
 * Depends on bridge, plugins (for the SDK directory) and codec. */
#ifndef LC_FUZZ_COMMON_H
#define LC_FUZZ_COMMON_H

#include "bridge.h"
#include "codec.h"
#include "plugins.h"

#include <lauxlib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_ASSERT(cond, ...)                                                                     \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: property broken: %s\n  ", __FILE__, __LINE__, #cond);          \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* A task-like Lua state; aborts when it cannot be made (no input is to blame then). */
static inline lua_State *fuzz_state(void)
{
    char err[1024] = "";
    lua_State *L = lc_lua_new(lc_sdk_dir(), NULL, NULL, err, sizeof(err));
    if (!L) {
        fprintf(stderr, "fuzz: cannot create a Lua state: %s\n", err);
        abort();
    }
    return L;
}

#endif
