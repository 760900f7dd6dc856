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
        if (lua_type(L, top + 2) != LUA_TSTRING || schema_type(x, fs, &f->type)) goto out;
        f->name = lua_tolstring(L, top + 2, &f->nlen);
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
    x->failed = 0; /* a schema_type failure here is enc_schema's to report */
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

int put_frozen_schema(codec_ctx_t *x, int sidx)
{
    lua_State *L = x->L;
    size_t start = x->out->len;
    frozen_t *fz = lua_type(L, sidx) == LUA_TTABLE ? frozen_get(x, sidx) : NULL;

    if (!fz) return write_schema(x, sidx, 0);
    if (fz->text) {
        lua_pop(L, 1);
        return put(x, fz->text, fz->tlen);
    }
    if (write_schema(x, sidx, 0)) return -1;
    lua_pushlstring(L, x->out->data + start, x->out->len - start);
    fz->text = lua_tolstring(L, -1, &fz->tlen);
    lua_rawseti(L, -2, ENV_TEXT(fz->nf));
    lua_pop(L, 1);
    return 0;
}

/* Writes the struct at vidx with fz's plan; env is the entry's environment (absolute). */
static int enc_plan(codec_ctx_t *x, int vidx, const frozen_t *fz, int env)
{
    lua_State *L = x->L;
    int top = lua_gettop(L), i, rc;
    size_t matched = 0, n;
    int64_t iv;
    double d;
    const char *s;

    if (putc_(x, '{')) return -1;
    for (i = 0; i < fz->nf; i++) {
        const pfield_t *f = &fz->f[i];
        int t;

        if (put(x, fz->keys + f->koff, f->klen)) return -1;
        lua_rawgeti(L, env, i + 1);
        lua_rawget(L, vidx); /* top+1: the value */
        t = lua_type(L, top + 1);
        seg_key(x, f->name, f->nlen);
        if (t != LUA_TNIL) matched++;
        if (f->simple) {
            switch (f->type) {
            case ST_STRING:
                if (t != LUA_TSTRING) break;
                s = lua_tolstring(L, top + 1, &n);
                if (put_string(x, s, n)) return -1;
                goto next;
            case ST_BOOLEAN:
                if (t != LUA_TBOOLEAN) break;
                if (lua_toboolean(L, top + 1) ? PUTLIT(x, "true") : PUTLIT(x, "false")) return -1;
                goto next;
            case ST_INT8:
            case ST_INT16:
            case ST_INT32:
            case ST_INT64:
                if (t != LUA_TNUMBER && t != LC_TCDATA) break;
                if (get_integer(x, top + 1, f->type, &iv) || put_i64(x, iv)) return -1;
                goto next;
            case ST_FLOAT32:
            case ST_FLOAT64:
                if (t != LUA_TNUMBER && t != LC_TCDATA) break;
                if (get_double(x, top + 1, f->type, &d) ||
                    put_float(x, f->type == ST_FLOAT32 ? (double)(float)d : d,
                              f->type == ST_FLOAT32))
                    return -1;
                goto next;
            default:
                break;
            }
        }
        /* null, a default, a container or a type mismatch: as enc_struct would */
        lua_rawgeti(L, env, fz->nf + i + 1); /* top+2: the field's schema */
        rc = f->type == ST_STRUCT && t == LUA_TTABLE ? enc_frozen(x, top + 1, top + 2)
                                                     : enc_schema(x, top + 1, top + 2);
        if (rc) return -1;
    next:
        x->nsegs--;
        lua_settop(L, top);
    }
    if (putc_(x, '}')) return -1;
    if (count_keys(L, vidx) <= matched) return 0;
    lua_rawgeti(L, env, ENV_FIELDS(fz->nf));
    rc = check_fields(x, vidx, lua_gettop(L), matched);
    lua_settop(L, top);
    return rc;
}

int enc_frozen(codec_ctx_t *x, int vidx, int sidx)
{
    lua_State *L = x->L;
    frozen_t *fz;
    int rc;

    if (lua_type(L, vidx) != LUA_TTABLE || lua_type(L, sidx) != LUA_TTABLE)
        return enc_schema(x, vidx, sidx);
    if (!(fz = frozen_get(x, sidx))) return enc_schema(x, vidx, sidx);
    if (!fz->plan) {
        lua_pop(L, 1);
        return enc_schema(x, vidx, sidx);
    }
    if (ctx_enter(x)) return -1;
    rc = enc_plan(x, vidx, fz, lua_gettop(L));
    x->depth--;
    lua_pop(L, 1);
    return rc;
}
