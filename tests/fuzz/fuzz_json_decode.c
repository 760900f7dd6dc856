/* fuzz_json_decode: JsonConverter decode (lua/codec.h) on arbitrary bytes, with
 * schemas.enable=false and =true, plus lc_json_decode and the String/ByteArray converters.
 *
 * Each input gets a fresh task-like lua_State (closed afterwards, so LeakSanitizer sees
 * every codec allocation freed) and is decoded twice by each converter: the second time
 * meets the codec's per-state caches (schemas, object shapes) filled by the first, as the
 * records of a task do. Properties checked, beyond "no sanitizer report":
 * - success pushes exactly two values (value, schema), failure pushes nothing and says why;
 * - the second decode succeeds or fails as the first, with the same message;
 * - schemaless decoding never returns a schema; String/ByteArray give the bytes unchanged;
 * - a syntax error is reported as "invalid JSON at line L column C: ..." by every JSON
 *   decoder (codec.h: a syntax error anywhere in the text is the one reported);
 * - lc_json_canon's line is the schemaless decode's value encoded by lc_json_encode_sorted,
 *   or it declines and appends nothing; the line decodes to a value written as that line;
 * - lc_json_edit's line (a sink's text chain) is that value with the same ops applied to the
 *   table, encoded by lc_json_encode_sorted, or it declines and appends nothing. */
#include "fuzz_common.h"

static lua_State *L;

/* Decodes with c; returns 1 when decoding failed with a syntax error, 0 otherwise. */
static int decode_with(const lc_converter_t *c, const uint8_t *data, size_t size)
{
    char err[2][1024];
    int top = lua_gettop(L), rc[2];
    for (int round = 0; round < 2; round++) {
        err[round][0] = '\0';
        rc[round] = lc_conv_to_lua(c, L, data, size, err[round], sizeof(err[round]));
        if (rc[round] != 0) {
            FUZZ_ASSERT(lua_gettop(L) == top, "failed decode left %d values", lua_gettop(L) - top);
            FUZZ_ASSERT(err[round][0] != '\0', "failed decode without a message");
            continue;
        }
        FUZZ_ASSERT(lua_gettop(L) == top + 2, "decode pushed %d values, want 2",
                    lua_gettop(L) - top);
        if (c->kind == LC_CONV_JSON && !c->schemas_enable)
            FUZZ_ASSERT(lua_isnil(L, -1), "schemaless decode returned a %s schema",
                        luaL_typename(L, -1));
        if (c->kind != LC_CONV_JSON) {
            size_t n = 0;
            const char *s = lua_tolstring(L, -2, &n);
            FUZZ_ASSERT(s && n == size && memcmp(s, data, n) == 0, "%s converter changed the bytes",
                        c->kind == LC_CONV_STRING ? "String" : "ByteArray");
        }
        lua_settop(L, top);
    }
    FUZZ_ASSERT(rc[0] == rc[1] && strcmp(err[0], err[1]) == 0,
                "decoding twice differs: rc %d '%s', then rc %d '%s'", rc[0], err[0], rc[1],
                err[1]);
    return rc[0] != 0 && strncmp(err[0], "invalid JSON at line ", 21) == 0;
}

/* Two edits over the keys fuzzed texts have most: sets (a string with escapes, the record's
 * partition, offset and timestamp; a key already there or not), a drop, renames that swap and
 * chain, and a keep list. */
#define QUOTED "\"q\\\"\xc3\xa9\"" /* the string q"é as the encoder writes it */
static const lc_str_t moves[] = {{"a", 1}, {"b", 1}, {"b", 1}, {"a", 1}, {"c", 1}, {"", 0}};
static const lc_str_t kept[] = {{"a", 1}, {"", 0}, {"\xc3\xa9", 2}, {"p", 1}};
static const lc_json_edit_op_t ops1[] = {
    {LC_EDIT_SET, LC_EDIT_TEXT, {"s", 1}, {QUOTED, sizeof QUOTED - 1}, NULL, 0},
    {LC_EDIT_SET, LC_EDIT_PARTITION, {"a", 1}, {NULL, 0}, NULL, 0},
    {LC_EDIT_DROP, LC_EDIT_TEXT, {"d", 1}, {NULL, 0}, NULL, 0},
    {LC_EDIT_MOVE, LC_EDIT_TEXT, {NULL, 0}, {NULL, 0}, moves, 3},
    {LC_EDIT_SET, LC_EDIT_OFFSET, {"o", 1}, {NULL, 0}, NULL, 0},
    {LC_EDIT_SET, LC_EDIT_TIMESTAMP, {"t", 1}, {NULL, 0}, NULL, 0},
};
static const lc_json_edit_op_t ops2[] = {
    {LC_EDIT_KEEP, LC_EDIT_TEXT, {NULL, 0}, {NULL, 0}, kept, 4},
    {LC_EDIT_SET, LC_EDIT_PARTITION, {"p", 1}, {NULL, 0}, NULL, 0},
};

/* ops applied to the table at idx as the SMTs apply theirs (InsertField, ReplaceField). */
static void table_edit(int idx, const lc_json_edit_t *e, const lc_edit_meta_t *m)
{
    for (int i = 0; i < e->nops; i++) {
        const lc_json_edit_op_t *op = &e->ops[i];
        int top = lua_gettop(L);
        switch (op->kind) {
        case LC_EDIT_SET:
            lua_pushlstring(L, op->name.s, op->name.n);
            if (op->src == LC_EDIT_TEXT) {
                char err[256];
                FUZZ_ASSERT(lc_json_decode(L, op->text.s, op->text.n, err, sizeof err) == 0, "%s",
                            err);
            } else if (op->src == LC_EDIT_PARTITION) {
                lua_pushnumber(L, m->partition);
            } else if (op->src == LC_EDIT_OFFSET) {
                lua_pushnumber(L, (double)m->offset);
            } else if (m->timestamp >= 0) {
                lua_pushnumber(L, (double)m->timestamp);
            } else {
                break;
            }
            lua_rawset(L, idx);
            break;
        case LC_EDIT_DROP:
            lua_pushlstring(L, op->name.s, op->name.n);
            lua_pushnil(L);
            lua_rawset(L, idx);
            break;
        case LC_EDIT_KEEP:
            lua_newtable(L); /* the keys to remove, then removed */
            lua_pushnil(L);
            while (lua_next(L, idx)) {
                lua_pop(L, 1);
                size_t kn;
                const char *k = lua_tolstring(L, -1, &kn);
                int j = 0;
                while (j < op->n && !(op->names[j].n == kn && memcmp(op->names[j].s, k, kn) == 0))
                    j++;
                if (j == op->n) {
                    lua_pushvalue(L, -1);
                    lua_rawseti(L, top + 1, (int)lua_objlen(L, top + 1) + 1);
                }
            }
            for (int j = 1; j <= (int)lua_objlen(L, top + 1); j++) {
                lua_rawgeti(L, top + 1, j);
                lua_pushnil(L);
                lua_rawset(L, idx);
            }
            break;
        case LC_EDIT_MOVE:
            for (int j = 0; j < op->n; j++) { /* the olds' values on the stack, then set */
                lua_pushlstring(L, op->names[2 * j].s, op->names[2 * j].n);
                lua_rawget(L, idx);
                lua_pushlstring(L, op->names[2 * j].s, op->names[2 * j].n);
                lua_pushnil(L);
                lua_rawset(L, idx);
            }
            for (int j = 0; j < op->n; j++) {
                if (lua_isnil(L, top + 1 + j)) continue;
                lua_pushlstring(L, op->names[2 * j + 1].s, op->names[2 * j + 1].n);
                lua_pushvalue(L, top + 1 + j);
                lua_rawset(L, idx);
            }
            break;
        }
        lua_settop(L, top);
    }
}

/* lc_json_canon (e NULL) writes what a sink would write otherwise (schemaless decode, then
 * lc_json_encode_sorted), lc_json_edit what it would write after the SMTs' ops on the
 * decoded table; or either declines and appends nothing. */
static void check_line(const uint8_t *data, size_t size, const lc_json_edit_t *e,
                       const lc_edit_meta_t *m)
{
    static const lc_converter_t plain = {LC_CONV_JSON, 0};
    const char *fn = e ? "lc_json_edit" : "lc_json_canon";
    lc_buf_t got = {0}, want = {0};
    char err[1024] = "";

    lc_buf_append(&got, "=", 1);
    int rc = e ? lc_json_edit((const char *)data, size, e, m, &got)
               : lc_json_canon((const char *)data, size, &got);
    FUZZ_ASSERT(rc == 0 || rc == 1, "%s returned %d", fn, rc);
    if (rc == 0) {
        FUZZ_ASSERT(got.len == 1, "%s declined after appending %zu bytes", fn, got.len - 1);
    } else {
        FUZZ_ASSERT(lc_conv_to_lua(&plain, L, data, size, err, sizeof err) == 0,
                    "%s wrote a line for a text the converter refuses: %s", fn, err);
        if (e) {
            FUZZ_ASSERT(lua_istable(L, -2), "%s wrote a line for a %s", fn, luaL_typename(L, -2));
            table_edit(lua_gettop(L) - 1, e, m);
        }
        FUZZ_ASSERT(lc_json_encode_sorted(L, -2, &want, err, sizeof err) == 0,
                    "%s wrote a line for a value the encoder refuses: %s", fn, err);
        FUZZ_ASSERT(got.len == want.len + 1 && memcmp(got.data + 1, want.data, want.len) == 0,
                    "%s wrote %.*s, the encoder %.*s", fn, (int)got.len - 1, got.data + 1,
                    (int)want.len, want.data);
        lua_settop(L, 0);
        /* A lazy sink record decodes its value from the line: the same value, so encoding
         * it again gives the same line. */
        want.len = 0;
        FUZZ_ASSERT(lc_conv_to_lua(&plain, L, got.data + 1, got.len - 1, err, sizeof err) == 0,
                    "the converter refuses %s's line %.*s: %s", fn, (int)got.len - 1, got.data + 1,
                    err);
        FUZZ_ASSERT(lc_json_encode_sorted(L, -2, &want, err, sizeof err) == 0 &&
                        got.len == want.len + 1 && memcmp(got.data + 1, want.data, want.len) == 0,
                    "the line %.*s decodes to a value written as %.*s", (int)got.len - 1,
                    got.data + 1, (int)want.len, want.data);
        lua_settop(L, 0);
    }
    lc_buf_free(&got);
    lc_buf_free(&want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const lc_converter_t plain = {LC_CONV_JSON, 0}, schemas = {LC_CONV_JSON, 1},
                                string = {LC_CONV_STRING, 0}, bytes = {LC_CONV_BYTES, 0};
    char err[1024];

    L = fuzz_state();
    int syntax_plain = decode_with(&plain, data, size);
    int syntax_env = decode_with(&schemas, data, size);
    decode_with(&string, data, size);
    decode_with(&bytes, data, size);

    err[0] = '\0';
    int rc = lc_json_decode(L, (const char *)data, size, err, sizeof(err));
    FUZZ_ASSERT(lua_gettop(L) == (rc == 0), "lc_json_decode left %d values (rc %d)", lua_gettop(L),
                rc);
    int syntax_json = rc != 0 && strncmp(err, "invalid JSON at line ", 21) == 0;

    /* The same text is syntactically bad for all three, or for none (an empty text is a
     * Kafka null for the converters, and an error for lc_json_decode). */
    if (size > 0) {
        FUZZ_ASSERT(syntax_plain == syntax_json, "syntax error: converter %d, lc_json_decode %d",
                    syntax_plain, syntax_json);
        FUZZ_ASSERT(syntax_plain == syntax_env, "syntax error: schemaless %d, envelope %d",
                    syntax_plain, syntax_env);
    }
    lua_settop(L, 0);
    check_line(data, size, NULL, NULL);
    {
        static const lc_json_edit_t e1 = {ops1, 6}, e2 = {ops2, 2};
        lc_edit_meta_t with_ts = {7, 9007199254740993LL, 1700000000123LL}, none = {0, 0, -1};
        check_line(data, size, &e1, size % 2 ? &with_ts : &none);
        check_line(data, size, &e2, &with_ts);
    }
    lc_lua_close(L);
    return 0;
}
