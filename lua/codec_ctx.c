/* codec_ctx: the output buffer (lc_buf_t, codec.h) and the walk context every conversion
 * carries: where errors go, the path to the value being converted ("value.items[3]: ..."),
 * the nesting depth. Depends on codec_internal.h and libc. */
#include "codec_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* ---------------------------------------------------------------- buffers */

int buf_grow(lc_buf_t *b, size_t n)
{
    size_t need, cap = b->cap ? b->cap : 256;
    char *p;

    if (n > SIZE_MAX - b->len) return -1;
    need = b->len + n;
    while (cap < need) {
        if (cap > SIZE_MAX / 2) {
            cap = need;
            break;
        }
        cap *= 2;
    }
    p = realloc(b->data, cap);
    if (!p) return -1;
    b->data = p;
    b->cap = cap;
    return 0;
}

/** Appends n bytes; returns 0 or -1 (OOM). */
int lc_buf_append(lc_buf_t *b, const void *p, size_t n)
{
    if (buf_reserve(b, n)) return -1;
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

/** Frees the buffer's memory and zeroes it; safe on a zeroed buffer. */
void lc_buf_free(lc_buf_t *b)
{
    if (!b) return;
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

/* ---------------------------------------------------------------- walk context */

const char *const key_names[K_COUNT] = {"type",  "optional", "default", "fields",
                                        "field", "items",    "keys",    "values",
                                        "name",  "version",  "doc",     "parameters"};

void ctx_init(codec_ctx_t *x, lua_State *L, char *errstr, size_t errstr_size)
{
    /* Field by field: the seg array is large and needs no zeroing. */
    x->L = L;
    x->errstr = errstr;
    x->errstr_size = errstr_size;
    x->failed = 0;
    x->root = "value";
    x->depth = x->nsegs = 0;
    x->mt = 0;
    x->mode = MODE_CONV;
    x->conv = NULL;
    x->out = NULL;
    x->has_schema = x->is_null = 0;
    x->data = NULL;
    x->len = 0;
    x->beg = x->end = x->p = NULL;
    x->syntax = x->started = x->env = x->unescaped = x->nks = x->ordered = 0;
    x->st = NULL;
    x->scratch.data = NULL;
    x->scratch.len = x->scratch.cap = 0;
}

void set_err(char *errstr, size_t errstr_size, const char *fmt, ...)
{
    va_list ap;

    if (!errstr || !errstr_size) return;
    va_start(ap, fmt);
    vsnprintf(errstr, errstr_size, fmt, ap);
    va_end(ap);
}

/* Records "<path>: <message>" and returns -1. The first failure wins: outer frames only
 * propagate it. */
int ctx_fail(codec_ctx_t *x, const char *fmt, ...)
{
    char path[512], msg[512];
    size_t n;
    int i, w;
    va_list ap;

    if (x->failed) return -1;
    x->failed = 1;
    w = snprintf(path, sizeof path, "%s", x->root);
    n = w < 0 ? 0 : (size_t)w;
    for (i = 0; i < x->nsegs && n < sizeof path; i++) {
        if (x->segs[i].key)
            w = snprintf(path + n, sizeof path - n, ".%.*s", (int)x->segs[i].len, x->segs[i].key);
        else
            w = snprintf(path + n, sizeof path - n, "[%lld]", x->segs[i].index);
        if (w < 0) break;
        n += (size_t)w;
    }
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    set_err(x->errstr, x->errstr_size, "%s: %s", path, msg);
    return -1;
}

/* Entering a container: bounds recursion (cycles in Lua tables end here too) and makes room
 * on the Lua stack for the container's slots. */
int ctx_enter(codec_ctx_t *x)
{
    if (x->depth >= LC_CODEC_MAX_DEPTH) {
        x->nsegs = 0; /* a thousand-step path helps nobody */
        return ctx_fail(x, "nesting too deep (more than %d levels)", LC_CODEC_MAX_DEPTH);
    }
    if (!lua_checkstack(x->L, 8)) return ctx_fail(x, "Lua stack exhausted");
    x->depth++;
    return 0;
}

/* lua_typename, with names for cdata and connect.null. */
const char *type_name(lua_State *L, int idx)
{
    int t = lua_type(L, idx);

    if (t == LC_TCDATA) return "cdata";
    if (t == LUA_TLIGHTUSERDATA && !lua_touserdata(L, idx)) return "connect.null";
    return lua_typename(L, t);
}

int ctx_oom(codec_ctx_t *x)
{
    return ctx_fail(x, "out of memory");
}
