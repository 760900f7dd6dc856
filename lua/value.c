/* value: the Lua value model of codec.h on the C side. int64 and integral floats are FFI
 * cdata made and inspected by a few Lua helpers (only the FFI can); arrays carry the
 * array metatable; tables are built with their final size (building tables) and objects
 * whose keys repeat come from compiled constructors (object shapes). Depends on
 * codec_internal.h, LuaJIT's FFI and libc. */
#include "codec_internal.h"

#include <lualib.h>
#include <stdio.h>

/* Registry keys: addresses are unique, so they cannot clash with other modules' keys. */
char reg_array_mt;
static char reg_box_i64, reg_box_f64, reg_classify;

/* ---------------------------------------------------------------- FFI helpers */

/* The helpers live in Lua because only the FFI can make and inspect int64 and double
 * cdata; C calls them for rare values only (big integers, integral floats, cdata). */
static const char helpers_lua[] =
    "local ffi = ...\n"
    "local istype, new, cast, tonumber, pcall, type = ffi.istype, ffi.new, ffi.cast, "
    "tonumber, pcall, type\n"
    "local i64, u64 = ffi.typeof('int64_t'), ffi.typeof('uint64_t')\n"
    "local dbl, flt = ffi.typeof('double'), ffi.typeof('float')\n"
    "local two32 = new(u64, 4294967296)\n"
    "local h = {}\n"
    "function h.box_i64(hi, lo, unsigned)\n"
    "  local u = new(u64, hi) * two32 + lo\n"
    "  if not unsigned then u = cast(i64, u) end\n"
    "  return u\n"
    "end\n"
    /* An integral float (1.0) is a struct cdata whose metamethods do float arithmetic and
     * compare equal to Lua numbers; a plain boxed double would do int64 math in LuaJIT. */
    "ffi.cdef('typedef struct { double v; } lc_float_t;')\n"
    "local fl\n"
    "local function num(x) if istype(fl, x) then return x.v end return x end\n"
    "fl = ffi.metatype('lc_float_t', {\n"
    "  __add = function(a, b) return num(a) + num(b) end,\n"
    "  __sub = function(a, b) return num(a) - num(b) end,\n"
    "  __mul = function(a, b) return num(a) * num(b) end,\n"
    "  __div = function(a, b) return num(a) / num(b) end,\n"
    "  __mod = function(a, b) return num(a) % num(b) end,\n"
    "  __pow = function(a, b) return num(a) ^ num(b) end,\n"
    "  __unm = function(a) return -a.v end,\n"
    "  __eq = function(a, b) return num(a) == num(b) end,\n"
    "  __lt = function(a, b) return num(a) < num(b) end,\n"
    "  __le = function(a, b) return num(a) <= num(b) end,\n"
    "  __concat = function(a, b) return tostring(num(a)) .. tostring(num(b)) end,\n"
    "  __tostring = function(a) return string.format('%.1f', a.v) end,\n"
    "})\n"
    "function h.box_f64(x) local f = fl(x) return f end\n"
    "package.loaded['luaconnect._float'] = { new = fl, is = function(x) return istype(fl, x) end, "
    "value = num }\n"
    "function h.classify(x)\n"
    "  if istype(i64, x) then\n"
    "    local u = cast(u64, x)\n"
    "    return 'i64', tonumber(u / two32), tonumber(u % two32)\n"
    "  elseif istype(u64, x) then\n"
    "    return 'u64', tonumber(x / two32), tonumber(x % two32)\n"
    "  elseif istype(fl, x) then\n"
    "    return 'f64', x.v\n"
    "  elseif istype(dbl, x) or istype(flt, x) then\n"
    "    return 'f64', tonumber(x)\n"
    "  end\n"
    "  local ok, n = pcall(tonumber, x)\n"
    "  if ok and type(n) == 'number' then return 'num', n end\n"
    "  return nil\n"
    "end\n"
    "return h\n";

/* registry[key] = top of stack (popped). */
void reg_set(lua_State *L, void *key)
{
    lua_pushlightuserdata(L, key);
    lua_insert(L, -2);
    lua_rawset(L, LUA_REGISTRYINDEX);
}

void push_i64(lua_State *L, uint64_t u, int is_unsigned)
{
    if (is_unsigned ? u <= (uint64_t)TWO53
                    : ((int64_t)u >= -(int64_t)TWO53 && (int64_t)u <= (int64_t)TWO53)) {
        lua_pushnumber(L, is_unsigned ? (double)u : (double)(int64_t)u);
        return;
    }
    push_reg(L, &reg_box_i64);
    lua_pushnumber(L, (double)(u >> 32));
    lua_pushnumber(L, (double)(u & 0xffffffffu));
    lua_pushboolean(L, is_unsigned);
    lua_call(L, 3, 1);
}

void push_boxed_double(lua_State *L, double d)
{
    push_reg(L, &reg_box_f64);
    lua_pushnumber(L, d);
    lua_call(L, 1, 1);
}

/* Classifies the cdata at idx; fills *u for CD_I64/CD_U64 (two's complement bits) and *d
 * for CD_F64/CD_NUM. */
cdkind_t cdata_classify(lua_State *L, int idx, uint64_t *u, double *d)
{
    cdkind_t k = CD_NONE;
    const char *s;

    push_reg(L, &reg_classify);
    lua_pushvalue(L, idx);
    lua_call(L, 1, 3);
    s = lua_tostring(L, -3);
    if (s && (s[0] == 'i' || s[0] == 'u')) {
        k = s[0] == 'i' ? CD_I64 : CD_U64;
        *u = ((uint64_t)lua_tonumber(L, -2) << 32) | (uint64_t)lua_tonumber(L, -1);
    } else if (s) {
        k = s[0] == 'f' ? CD_F64 : CD_NUM;
        *d = lua_tonumber(L, -2);
    }
    lua_pop(L, 3);
    return k;
}

/* Registers the array metatable, then runs helpers_lua and keeps what it returns. */
int value_init(lua_State *L)
{
    int top = lua_gettop(L);

    luaL_newmetatable(L, LC_ARRAY_MT);
    reg_set(L, &reg_array_mt);

    /* Take ffi from package.loaded when there, else open it: a sandbox may have no require. */
    lua_getfield(L, LUA_REGISTRYINDEX, "_LOADED");
    if (lua_istable(L, -1)) lua_getfield(L, -1, "ffi");
    if (!lua_istable(L, -1)) {
        lua_settop(L, top);
        lua_pushcfunction(L, luaopen_ffi);
        lua_pushstring(L, "ffi");
        if (lua_pcall(L, 1, 1, 0)) return -1;
    }
    if (luaL_loadbuffer(L, helpers_lua, sizeof helpers_lua - 1, "=luaconnect.codec")) return -1;
    lua_insert(L, -2);
    if (lua_pcall(L, 1, 1, 0)) return -1;
    lua_getfield(L, -1, "box_i64");
    reg_set(L, &reg_box_i64);
    lua_getfield(L, -1, "box_f64");
    reg_set(L, &reg_box_f64);
    lua_getfield(L, -1, "classify");
    reg_set(L, &reg_classify);
    lua_settop(L, top);
    return 0;
}

/* ---------------------------------------------------------------- building tables */

/* ctx_enter for a container that may keep up to PEND_MAX pairs on the stack: *pend says
 * whether it may (one lua_checkstack for both). */
int ctx_enter_pend(codec_ctx_t *x, int *pend)
{
    int top = lua_gettop(x->L);

    if (x->depth >= LC_CODEC_MAX_DEPTH) {
        x->nsegs = 0;
        return ctx_fail(x, "nesting too deep (more than %d levels)", LC_CODEC_MAX_DEPTH);
    }
    *pend = top + 2 * PEND_MAX + 8 <= PEND_TOP && lua_checkstack(x->L, 2 * PEND_MAX + 8);
    if (!*pend && !lua_checkstack(x->L, 8)) return ctx_fail(x, "Lua stack exhausted");
    x->depth++;
    return 0;
}

/* Makes the table of the pending items (pairs) at b->base + 1, room for extra more. Array
 * items go in from the last, popped, once the table is below them; pairs in their order
 * (duplicate keys: the last one wins). */
void tb_flush(lua_State *L, tb_t *b, int extra)
{
    int i, n = b->n, base = b->base;

    if (!b->obj) {
        lua_createtable(L, n + extra, 0);
        lua_insert(L, base + 1);
        for (i = n; i > 0; i--)
            lua_rawseti(L, base + 1, i);
        b->direct = 1;
        return;
    }
    lua_createtable(L, 0, n + extra);
    for (i = 0; i < n; i++) {
        lua_pushvalue(L, base + 1 + 2 * i);
        lua_pushvalue(L, base + 2 + 2 * i);
        lua_rawset(L, -3);
    }
    if (n) {
        lua_replace(L, base + 1);
        lua_settop(L, base + 1);
    }
    b->direct = 1;
}

/* ---------------------------------------------------------------- object shapes */

/* Objects in a stream of records mostly share their keys. When a key sequence (a shape)
 * keeps coming, it gets a Lua constructor, function(v1, ..., vn) return {k1 = v1,
 * ..., kn = vn} end: LuaJIT copies its table template with the keys already hashed and the
 * size right, twice as fast as making the table and setting each key through the C API.
 * Shapes live in a direct-mapped cache in the codec state; the constructors and the key
 * texts (which shape_t points into) in the shape table, the decode runner's upvalue 3. The
 * decoder compares an object's keys with the shape last seen at its place as it reads them
 * (jp_object in decode.c), and comes here only when they differ. */

/* Up to eight bytes of s as a number, for hashing (overlapping loads, no byte loop and no
 * store to memory, which would stall the load that follows). */
static inline uint64_t load_upto8(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    uint64_t v;
    uint32_t a, b;

    if (n >= 8) {
        memcpy(&v, s, 8);
        return v;
    }
    if (n >= 4) {
        memcpy(&a, s, 4);
        memcpy(&b, s + n - 4, 4);
        return (uint64_t)a << 32 | b;
    }
    return n ? (uint64_t)u[0] << 16 | (uint64_t)u[n / 2] << 8 | u[n - 1] : 0;
}

/* Hashes the keys' lengths and first and last eight bytes; 0 when they cannot be a shape. */
static uint32_t shape_hash(const kspan_t *ks, int n)
{
    uint64_t h = 0x9E3779B97F4A7C15u ^ (uint64_t)n;
    size_t total = 0;
    int i;

    for (i = 0; i < n; i++) {
        size_t len = ks[i].len;
        if (len > 255) return 0;
        total += len + 1;
        h = (h ^ len ^ load_upto8(ks[i].k, len)) * 0xFF51AFD7ED558CCDu;
        if (len > 8) h = (h ^ load_upto8(ks[i].k + len - 8, 8)) * 0xC4CEB9FE1A85EC53u;
        h ^= h >> 29;
    }
    if (total > LC_SHAPE_TEXT_MAX) return 0;
    return (uint32_t)(h >> 32) | 1;
}

static int shape_equal(const shape_t *sh, const kspan_t *ks, int n)
{
    const unsigned char *t = (const unsigned char *)sh->text;
    int i;

    for (i = 0; i < n; i++) {
        if (*t != ks[i].len || memcmp(t + 1, ks[i].k, ks[i].len) != 0) return 0;
        t += 1 + ks[i].len;
    }
    return 1;
}

/* Builds and stores the constructor of slot's shape; -1 leaves the slot without one. */
static int shape_compile(codec_ctx_t *x, int slot, const kspan_t *ks, int n)
{
    lua_State *L = x->L;
    lc_buf_t *b = &x->scratch;
    char tmp[16];
    int i, ok = 1;
    size_t j;

    b->len = 0;
    ok &= !lc_buf_append(b, "return function(", 16);
    for (i = 0; i < n; i++) {
        snprintf(tmp, sizeof tmp, i ? ",v%d" : "v%d", i + 1);
        ok &= !lc_buf_append(b, tmp, strlen(tmp));
    }
    ok &= !lc_buf_append(b, ") return {", 10);
    for (i = 0; i < n; i++) {
        ok &= !lc_buf_append(b, "[\"", 2);
        for (j = 0; j < ks[i].len; j++) {
            unsigned char c = (unsigned char)ks[i].k[j];
            if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') {
                ok &= !lc_buf_append(b, &c, 1);
            } else {
                snprintf(tmp, sizeof tmp, "\\%03u", c);
                ok &= !lc_buf_append(b, tmp, 4);
            }
        }
        snprintf(tmp, sizeof tmp, "\"]=v%d,", i + 1);
        ok &= !lc_buf_append(b, tmp, strlen(tmp));
    }
    ok &= !lc_buf_append(b, "} end", 5);
    if (!ok) return -1;
    if (luaL_loadbuffer(L, b->data, b->len, "=luaconnect.codec.shape")) {
        lua_pop(L, 1);
        return -1;
    }
    lua_call(L, 0, 1);
    lua_rawseti(L, SHAPE_TABLE, 2 * slot + 1);
    return 0;
}

/* Records the shape of ks[0..n) in its slot, replacing what was there. */
static void shape_set(codec_ctx_t *x, shape_t *sh, int slot, uint32_t h, const kspan_t *ks, int n)
{
    lua_State *L = x->L;
    char text[LC_SHAPE_TEXT_MAX], *t = text;
    int i;

    if (sh->compiled) {
        lua_pushnil(L);
        lua_rawseti(L, SHAPE_TABLE, 2 * slot + 1);
    }
    x->st->shape_gen++;
    sh->hash = h;
    sh->nkeys = n;
    sh->compiled = 0;
    if (!ks) { /* met once: a hash is enough to notice it again */
        sh->text = NULL;
        return;
    }
    for (i = 0; i < n; i++) {
        *t++ = (char)ks[i].len;
        memcpy(t, ks[i].k, ks[i].len);
        t += ks[i].len;
    }
    lua_pushlstring(L, text, (size_t)(t - text));
    sh->text = lua_tolstring(L, -1, &sh->len);
    lua_rawseti(L, SHAPE_TABLE, 2 * slot + 2);
}

/* Pushes the constructor for the keys ks[0..n) and returns its slot + 1, or returns 0. A
 * slot learns a shape in steps, so that one-off key sets (maps keyed by ids) cost little: its
 * hash when it is first met, its keys the second time, a constructor the third. */
int shape_get(codec_ctx_t *x, const kspan_t *ks, int n)
{
    uint32_t h = shape_hash(ks, n);
    int slot = (int)(h & (LC_SHAPES - 1));
    shape_t *sh = &x->st->shapes[slot];

    if (!h) return 0;
    if (sh->hash != h || sh->nkeys != n) {
        shape_set(x, sh, slot, h, NULL, n);
        return 0;
    }
    if (!sh->text || !shape_equal(sh, ks, n)) {
        shape_set(x, sh, slot, h, ks, n);
        return 0;
    }
    if (!sh->compiled) {
        if (shape_compile(x, slot, ks, n)) return 0;
        sh->compiled = 1;
    }
    lua_rawgeti(x->L, SHAPE_TABLE, 2 * slot + 1);
    return slot + 1;
}
