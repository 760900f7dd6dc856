/* encode_plan: what the encoder keeps per frozen schema table. A schema table the codec may
 * treat as never changing (one the decoder built, or one lc_codec_freeze marked: the SDK's
 * schema builders mark theirs) gets an entry in the weak-keyed frozen table, made when a
 * record first carries it:
 *   - its JSON text as write_schema writes it, written once (the envelope of
 *     schemas.enable=true repeats it in every record);
 *   - for a struct, a plan: per field its name, its key text ("name": pre-escaped, with the
 *     comma) and its type, so a value is written field by field without walking the schema
 *     table (enc_struct reads ~10 schema entries a field). A field the plan does not write
 *     itself (null or missing, a default, bytes, arrays, maps) goes to enc_schema with the
 *     field's schema; a struct field to enc_frozen again (its schema is frozen with its
 *     parent), so errors and defaults are enc_schema's, word for word.
 * Depends on codec_internal.h, encode_schema.c, encode.c (count_keys) and json_write.c. */
#include "codec_internal.h"

typedef struct {
    stype_t type;
    int simple;       /* boolean, integer, float or string without a default: written here */
    const char *name; /* the field's name (a Lua string in the environment) */
    size_t nlen;
    size_t koff, klen; /* its key text in keys */
} pfield_t;

typedef struct {
    int plan;          /* 1: a struct whose fields are in f[] */
    int nf;            /* fields */
    const char *keys;  /* the key texts, one after the other (environment slot ENV_KEYS) */
    const char *text;  /* the schema's JSON once written (slot ENV_TEXT), or NULL */
    size_t tlen;
    pfield_t f[];
} frozen_t;

/* The entry's environment table: field i's name at i, its schema at nf + i, then these. */
#define ENV_KEYS(nf) (2 * (nf) + 1)
#define ENV_TEXT(nf) (2 * (nf) + 2)
#define ENV_FIELDS(nf) (2 * (nf) + 3)

/* Fills the struct plan of fz from the fields list at fidx, field schemas and names going
 * into the environment at env; 0 leaves fz->plan unset (a field the plan cannot describe:
 * enc_schema then reports it). The key texts are written at the end of x->out and taken
 * back from there. */
static void plan_compile(codec_ctx_t *x, frozen_t *fz, int fidx, int env)
{
    lua_State *L = x->L;
    size_t start = x->out->len;
    int top = lua_gettop(L), i;

    for (i = 0; i < fz->nf; i++) {
        pfield_t *f = &fz->f[i];
        int fs;

        lua_rawgeti(L, fidx, i + 1); /* top+1 */
        fs = top + 1;
        if (lua_type(L, fs) != LUA_TTABLE) goto out;
        rawget_k(x, fs, K_FIELD); /* top+2 */
        if (lua_type(L, top + 2) != LUA_TSTRING) goto out;
        if (schema_type(x, fs, &f->type)) {
            x->failed = 0; /* enc_schema reports it, with the value's path */
            goto out;
        }
        f->name = lua_tolstring(L, top + 2, &f->nlen);
        for (int k = 0; k < i; k++) /* a name twice: enc_struct writes the value twice */
            if (fz->f[k].name == f->name) goto out;
        rawget_k(x, fs, K_DEFAULT); /* top+3 */
        f->simple = is_nil_or_null(L, top + 3) && f->type != ST_BYTES && f->type < ST_ARRAY;
        lua_pop(L, 1);
        f->koff = x->out->len - start;
        if ((i && putc_(x, ',')) || put_string(x, f->name, f->nlen) || putc_(x, ':')) goto out;
        f->klen = x->out->len - start - f->koff;
        if (f->type == ST_STRUCT) { /* frozen with its parent */
            lua_pushvalue(L, fs);
            lua_rawget(L, lua_upvalueindex(UPV_FROZEN));
            if (lua_isnil(L, -1)) {
                lua_pushvalue(L, fs);
                lua_pushboolean(L, 1);
                lua_rawset(L, lua_upvalueindex(UPV_FROZEN));
            }
            lua_pop(L, 1);
        }
        lua_rawseti(L, env, i + 1);          /* the name */
        lua_rawseti(L, env, fz->nf + i + 1); /* the field's schema */
    }
    lua_pushlstring(L, x->out->data + start, x->out->len - start);
    fz->keys = lua_tostring(L, -1);
    lua_rawseti(L, env, ENV_KEYS(fz->nf));
    lua_pushvalue(L, fidx);
    lua_rawseti(L, env, ENV_FIELDS(fz->nf));
    fz->plan = 1;
out:
    x->out->len = start;
    lua_settop(L, top);
}

/* Pushes the environment of the frozen entry of the schema table at sidx and returns the
 * entry, making it when the schema is frozen but has none yet; NULL (nothing pushed) when
 * the schema is not frozen. */
static frozen_t *frozen_get(codec_ctx_t *x, int sidx)
{
    lua_State *L = x->L;
    frozen_t *fz;
    stype_t st;
    int t, base, fidx = 0, nf = 0, env;

    lua_pushvalue(L, sidx);
    lua_rawget(L, lua_upvalueindex(UPV_FROZEN));
    t = lua_type(L, -1);
    if (t == LUA_TUSERDATA) {
        fz = lua_touserdata(L, -1);
        lua_getfenv(L, -1);
        lua_replace(L, -2);
        return fz;
    }
    lua_pop(L, 1);
    if (t != LUA_TBOOLEAN) return NULL;
    /* A type that does not parse is enc_schema's to report, with the value's path. */
    if (schema_type(x, sidx, &st)) {
        x->failed = 0;
        return NULL;
    }
    base = lua_gettop(L);
    if (st == ST_STRUCT) { /* without a fields list, an entry without a plan */
        rawget_k(x, sidx, K_FIELDS);
        if (lua_type(L, -1) == LUA_TTABLE) {
            fidx = lua_gettop(L);
            nf = (int)lua_objlen(L, fidx);
        }
    }
    fz = lua_newuserdata(L, sizeof(frozen_t) + (size_t)nf * sizeof(pfield_t));
    memset(fz, 0, sizeof(frozen_t));
    fz->nf = nf;
    lua_createtable(L, ENV_FIELDS(nf), 0);
    env = lua_gettop(L);
    if (fidx) plan_compile(x, fz, fidx, env);
    lua_pushvalue(L, env);
    lua_setfenv(L, env - 1);
    lua_pushvalue(L, sidx);
    lua_pushvalue(L, env - 1);
    lua_rawset(L, lua_upvalueindex(UPV_FROZEN));
    lua_replace(L, base + 1); /* the environment alone is left */
    lua_settop(L, base + 1);
    return fz;
}

/* The frozen entry of the schema table at sidx, or NULL; nothing pushed. The last
 * LC_PLAN_RECENT schemas are found by pointer first, with no table lookup: the state's
 * environment holds them (and their entries), so their addresses cannot be reused. */
static frozen_t *frozen_find(codec_ctx_t *x, int sidx)
{
    lua_State *L = x->L;
    codec_state_t *st = x->st;
    const void *p = lua_topointer(L, sidx);
    frozen_t *fz;
    int i;

    for (i = 0; i < LC_PLAN_RECENT; i++)
        if (st->plan_schema[i] == p) return st->plan_entry[i];
    if (!(fz = frozen_get(x, sidx))) return NULL;
    i = st->plan_next;
    st->plan_next = (i + 1) % LC_PLAN_RECENT;
    lua_getfenv(L, lua_upvalueindex(UPV_STATE));
    lua_pushvalue(L, sidx);
    lua_rawseti(L, -2, LC_SCHEMA_RECENT + 1 + i);
    lua_pop(L, 2);
    st->plan_schema[i] = p;
    st->plan_entry[i] = fz;
    return fz;
}

/* Pushes the environment of the entry of the frozen schema at sidx (which has one). */
static int push_env(codec_ctx_t *x, int sidx)
{
    lua_State *L = x->L;

    lua_pushvalue(L, sidx);
    lua_rawget(L, lua_upvalueindex(UPV_FROZEN));
    lua_getfenv(L, -1);
    lua_replace(L, -2);
    return lua_gettop(L);
}

int put_frozen_schema(codec_ctx_t *x, int sidx)
{
    lua_State *L = x->L;
    size_t start = x->out->len;
    frozen_t *fz = lua_type(L, sidx) == LUA_TTABLE ? frozen_find(x, sidx) : NULL;

    if (!fz) return write_schema(x, sidx, 0);
    if (fz->text) return put(x, fz->text, fz->tlen);
    if (write_schema(x, sidx, 0)) return -1;
    push_env(x, sidx);
    lua_pushlstring(L, x->out->data + start, x->out->len - start);
    fz->text = lua_tolstring(L, -1, &fz->tlen);
    lua_rawseti(L, -2, ENV_TEXT(fz->nf));
    lua_pop(L, 1);
    return 0;
}

/* Writes the struct at vidx with the plan fz of the frozen schema at sidx. One lua_next
 * walk puts each field's value in its slot (keys are interned strings: the plan's name
 * pointers find them) and tells whether a key is not a field; then the fields are written
 * in order. A field the plan does not write itself goes to enc_schema with its schema, and
 * an unknown key to check_fields, after the fields as in enc_struct, so the same error
 * comes first. */
static int enc_plan(codec_ctx_t *x, int vidx, int sidx, const frozen_t *fz)
{
    lua_State *L = x->L;
    int top = lua_gettop(L), nf = fz->nf, i, j = 0, c, env = 0, unknown = 0, rc;
    size_t matched = 0, n;
    int64_t iv;
    double d;
    const char *s;

    if (!lua_checkstack(L, nf + 8)) return ctx_fail(x, "Lua stack exhausted");
    lua_settop(L, top + nf); /* top+1+i: field i's value */
    lua_pushnil(L);
    while (lua_next(L, vidx)) {
        if (lua_type(L, -2) == LUA_TSTRING) {
            s = lua_tostring(L, -2);
            for (c = 0; c < nf && fz->f[j].name != s; c++)
                j = j + 1 == nf ? 0 : j + 1;
            if (c < nf) {
                lua_replace(L, top + 1 + j);
                matched++;
                j = j + 1 == nf ? 0 : j + 1; /* keys mostly come in field order */
                continue;
            }
        }
        unknown = 1;
        lua_pop(L, 1);
    }
    if (putc_(x, '{')) return -1;
    for (i = 0; i < nf; i++) {
        const pfield_t *f = &fz->f[i];
        int v = top + 1 + i, t = lua_type(L, v);

        if (put(x, fz->keys + f->koff, f->klen)) return -1;
        seg_key(x, f->name, f->nlen);
        if (f->simple) {
            switch (f->type) {
            case ST_STRING:
                if (t != LUA_TSTRING) break;
                s = lua_tolstring(L, v, &n);
                if (put_string(x, s, n)) return -1;
                goto next;
            case ST_BOOLEAN:
                if (t != LUA_TBOOLEAN) break;
                if (lua_toboolean(L, v) ? PUTLIT(x, "true") : PUTLIT(x, "false")) return -1;
                goto next;
            case ST_INT8:
            case ST_INT16:
            case ST_INT32:
            case ST_INT64:
                if (t != LUA_TNUMBER && t != LC_TCDATA) break;
                if (get_integer(x, v, f->type, &iv) || put_i64(x, iv)) return -1;
                goto next;
            case ST_FLOAT32:
            case ST_FLOAT64:
                if (t != LUA_TNUMBER && t != LC_TCDATA) break;
                if (get_double(x, v, f->type, &d) ||
                    put_float(x, f->type == ST_FLOAT32 ? (double)(float)d : d,
                              f->type == ST_FLOAT32))
                    return -1;
                goto next;
            default:
                break;
            }
        }
        /* null, a default, a container or a type mismatch: as enc_struct would */
        if (!env) env = push_env(x, sidx);
        lua_rawgeti(L, env, nf + i + 1); /* the field's schema */
        rc = f->type == ST_STRUCT && t == LUA_TTABLE ? enc_frozen(x, v, lua_gettop(L))
                                                     : enc_schema(x, v, lua_gettop(L));
        if (rc) return -1;
        lua_pop(L, 1);
    next:
        x->nsegs--;
    }
    if (putc_(x, '}')) return -1;
    rc = 0;
    if (unknown) {
        if (!env) env = push_env(x, sidx);
        lua_rawgeti(L, env, ENV_FIELDS(nf));
        rc = check_fields(x, vidx, lua_gettop(L), matched);
    }
    lua_settop(L, top);
    return rc;
}

int enc_frozen(codec_ctx_t *x, int vidx, int sidx)
{
    lua_State *L = x->L;
    frozen_t *fz;
    int rc;

    if (lua_type(L, vidx) != LUA_TTABLE || lua_type(L, sidx) != LUA_TTABLE ||
        !(fz = frozen_find(x, sidx)) || !fz->plan)
        return enc_schema(x, vidx, sidx);
    if (ctx_enter(x)) return -1;
    rc = enc_plan(x, vidx, sidx, fz);
    x->depth--;
    return rc;
}
