/* fuzz_props: the .properties parser (core/props.c) on arbitrary bytes.
 *
 * Properties checked on every input, beyond "no sanitizer report":
 * - an error names the file ("fuzz.properties:LINE: ..." or "fuzz.properties: ...");
 * - after a successful parse every key is found by lc_props_get with its value, keys are
 *   unique, lines are positive and a copy holds the same entries;
 * - writing the entries back as Properties.store() escapes them and parsing that text again
 *   gives the same entries in the same order (the parser agrees with its own escaping);
 * - unsetting every key leaves an empty list whose lookups all miss. */
#include "fuzz_common.h"
#include "props.h"

/* Appends s escaped as java.util.Properties.store() does (key: every separator and
 * whitespace; value: leading whitespace only). */
static void put_escaped(char **o, const char *s, int is_key)
{
    char *d = *o;
    for (const char *c = s; *c; c++) {
        switch (*c) {
        case '\\':
            *d++ = '\\', *d++ = '\\';
            break;
        case '\t':
            *d++ = '\\', *d++ = 't';
            break;
        case '\n':
            *d++ = '\\', *d++ = 'n';
            break;
        case '\r':
            *d++ = '\\', *d++ = 'r';
            break;
        case '\f':
            *d++ = '\\', *d++ = 'f';
            break;
        case '=':
        case ':':
        case '#':
        case '!':
            *d++ = '\\', *d++ = *c;
            break;
        case ' ':
            if (is_key || c == s) *d++ = '\\';
            *d++ = ' ';
            break;
        default:
            *d++ = *c;
        }
    }
    *o = d;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    lc_props_t *p = lc_props_new();
    FUZZ_ASSERT(p != NULL, "out of memory");
    err[0] = '\0';
    if (lc_props_parse_string(p, "fuzz.properties", (const char *)data, size, err, sizeof(err)) !=
        0) {
        FUZZ_ASSERT(strncmp(err, "fuzz.properties:", 16) == 0, "error text '%s'", err);
        lc_props_destroy(p);
        return 0;
    }
    size_t n = lc_props_count(p), cap = 64;
    for (size_t i = 0; i < n; i++) {
        const char *k = lc_props_key(p, i), *v = lc_props_value(p, i);
        FUZZ_ASSERT(lc_props_get(p, k) == v, "key '%s' at %zu not found by lc_props_get", k, i);
        FUZZ_ASSERT(lc_props_line(p, k) > 0, "key '%s' has line %d", k, lc_props_line(p, k));
        for (size_t j = 0; j < i; j++)
            FUZZ_ASSERT(strcmp(lc_props_key(p, j), k) != 0, "key '%s' listed twice", k);
        cap += 2 * (strlen(k) + strlen(v)) + 2;
    }

    lc_props_t *c = lc_props_copy(p);
    FUZZ_ASSERT(c != NULL && lc_props_count(c) == n, "copy has %zu entries, want %zu",
                c ? lc_props_count(c) : 0, n);

    /* Store, load again, compare. The comment line first, as store() writes one: a key
     * starting with a BOM must not be the first bytes of the text, where a BOM is dropped. */
    char *text = malloc(cap + 16), *o = text;
    memcpy(o, "#stored\n", 8);
    o += 8;
    for (size_t i = 0; i < n; i++) {
        put_escaped(&o, lc_props_key(p, i), 1);
        *o++ = '=';
        put_escaped(&o, lc_props_value(p, i), 0);
        *o++ = '\n';
    }
    lc_props_t *again = lc_props_new();
    int rc = lc_props_parse_string(again, "stored.properties", text, (size_t)(o - text), err,
                                   sizeof(err));
    FUZZ_ASSERT(rc == 0, "stored text does not parse: %s\n%.*s", err, (int)(o - text), text);
    FUZZ_ASSERT(lc_props_count(again) == n, "stored text has %zu entries, want %zu",
                lc_props_count(again), n);
    for (size_t i = 0; i < n; i++) {
        FUZZ_ASSERT(strcmp(lc_props_key(again, i), lc_props_key(p, i)) == 0 &&
                        strcmp(lc_props_value(again, i), lc_props_value(p, i)) == 0 &&
                        strcmp(lc_props_value(c, i), lc_props_value(p, i)) == 0,
                    "entry %zu: '%s'='%s' came back as '%s'='%s'", i, lc_props_key(p, i),
                    lc_props_value(p, i), lc_props_key(again, i), lc_props_value(again, i));
    }
    free(text);
    lc_props_destroy(again);

    /* Unset in file order: exercises the index rebuild. */
    while (lc_props_count(c) > 0) {
        char *k = strdup(lc_props_key(c, 0));
        FUZZ_ASSERT(lc_props_unset(c, k) == 1, "unset '%s' missed", k);
        FUZZ_ASSERT(lc_props_get(c, k) == NULL, "'%s' still there after unset", k);
        free(k);
    }
    for (size_t i = 0; i < n; i++)
        FUZZ_ASSERT(lc_props_get(c, lc_props_key(p, i)) == NULL, "lookup hit in an empty list");
    lc_props_destroy(c);
    lc_props_destroy(p);
    return 0;
}
