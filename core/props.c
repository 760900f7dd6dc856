/* props: Java .properties files; see props.h for the contract.
 *
 * The parser works in two steps per entry, like java.util.Properties: gather one logical
 * line (joining continuations) into a reused buffer, then split it into key and value and
 * decode escapes. Input bytes pass through untouched, so UTF-8 files stay UTF-8; \uXXXX
 * escapes are encoded as UTF-8. Lookups go through a small open-addressing index so that
 * large files and repeated keys stay linear. On a parse error p keeps the entries read
 * before the failing line, as Properties.load() does; callers discard p. */
#include "props.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *key;
    char *value;
    int line;
} lc_prop_t;

struct lc_props {
    lc_prop_t *items; /* file order */
    size_t count, cap;
    size_t *index; /* slot holds item position + 1, 0 = empty; kept at most half full */
    size_t index_cap;
    char *source;
};

/* One continuation piece of a logical line: where it starts in the buffer and on which
 * file line, so errors inside a continued value name the right line. */
typedef struct {
    size_t pos;
    int line;
} lc_props_seg_t;

typedef struct {
    lc_props_t *p;
    const char *name;
    char *errstr;
    size_t errstr_size;
    char *buf; /* raw logical line, continuations joined */
    size_t len, cap;
    char *out; /* decoded key and value, each NUL-terminated */
    size_t out_cap;
    lc_props_seg_t *segs;
    size_t nsegs, segs_cap;
} lc_props_parser_t;

static char *props_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    return d ? memcpy(d, s, n) : NULL;
}

static size_t props_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return (size_t)h;
}

/* Returns the index slot holding key, or the empty slot where it belongs. */
static size_t props_slot(const lc_props_t *p, const char *key)
{
    size_t mask = p->index_cap - 1, i = props_hash(key) & mask;
    while (p->index[i] && strcmp(p->items[p->index[i] - 1].key, key) != 0)
        i = (i + 1) & mask;
    return i;
}

/* Returns the position of key, or SIZE_MAX. */
static size_t props_find(const lc_props_t *p, const char *key)
{
    size_t pos = p->index[props_slot(p, key)];
    return pos ? pos - 1 : SIZE_MAX;
}

static int props_reindex(lc_props_t *p, size_t cap)
{
    size_t *index = calloc(cap, sizeof(*index));
    if (!index) return -1;
    free(p->index);
    p->index = index;
    p->index_cap = cap;
    for (size_t i = 0; i < p->count; i++)
        p->index[props_slot(p, p->items[i].key)] = i + 1;
    return 0;
}

/* Sets key to value (both copied) and records line; an existing key keeps its position. */
static int props_put(lc_props_t *p, const char *key, const char *value, int line)
{
    size_t slot = props_slot(p, key);
    char *k = NULL, *v = props_strdup(value);

    if (!v) goto err;
    if (p->index[slot]) {
        lc_prop_t *it = &p->items[p->index[slot] - 1];
        free(it->value);
        it->value = v;
        it->line = line;
        return 0;
    }
    if (p->count == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 16;
        lc_prop_t *items = realloc(p->items, cap * sizeof(*items));
        if (!items) goto err;
        p->items = items;
        p->cap = cap;
    }
    if ((p->count + 1) * 2 > p->index_cap) {
        if (props_reindex(p, p->index_cap * 2) != 0) goto err;
        slot = props_slot(p, key);
    }
    if (!(k = props_strdup(key))) goto err;
    p->items[p->count] = (lc_prop_t){k, v, line};
    p->index[slot] = ++p->count;
    return 0;
err:
    free(k);
    free(v);
    return -1;
}

lc_props_t *lc_props_new(void)
{
    lc_props_t *p = calloc(1, sizeof(*p));
    if (!p || props_reindex(p, 16) != 0) {
        free(p);
        return NULL;
    }
    return p;
}

void lc_props_destroy(lc_props_t *p)
{
    if (!p) return;
    for (size_t i = 0; i < p->count; i++) {
        free(p->items[i].key);
        free(p->items[i].value);
    }
    free(p->items);
    free(p->index);
    free(p->source);
    free(p);
}

const char *lc_props_get(const lc_props_t *p, const char *key)
{
    size_t pos = props_find(p, key);
    return pos == SIZE_MAX ? NULL : p->items[pos].value;
}

const char *lc_props_get_or(const lc_props_t *p, const char *key, const char *def)
{
    const char *v = lc_props_get(p, key);
    return v ? v : def;
}

int lc_props_set(lc_props_t *p, const char *key, const char *value)
{
    return props_put(p, key, value, 0);
}

int lc_props_unset(lc_props_t *p, const char *key)
{
    size_t pos = props_find(p, key);
    if (pos == SIZE_MAX) return 0;
    free(p->items[pos].key);
    free(p->items[pos].value);
    memmove(&p->items[pos], &p->items[pos + 1], (p->count - pos - 1) * sizeof(*p->items));
    p->count--;
    /* Positions after pos shifted. Rebuilding at the same size needs no new memory, so
     * unset cannot fail; it is O(n), which is fine for the rare unset. */
    memset(p->index, 0, p->index_cap * sizeof(*p->index));
    for (size_t i = 0; i < p->count; i++)
        p->index[props_slot(p, p->items[i].key)] = i + 1;
    return 1;
}

size_t lc_props_count(const lc_props_t *p)
{
    return p->count;
}

const char *lc_props_key(const lc_props_t *p, size_t i)
{
    return i < p->count ? p->items[i].key : NULL;
}

const char *lc_props_value(const lc_props_t *p, size_t i)
{
    return i < p->count ? p->items[i].value : NULL;
}

int lc_props_line(const lc_props_t *p, const char *key)
{
    size_t pos = props_find(p, key);
    return pos == SIZE_MAX ? 0 : p->items[pos].line;
}

const char *lc_props_source(const lc_props_t *p)
{
    return p->source ? p->source : "";
}

lc_props_t *lc_props_copy(const lc_props_t *p)
{
    lc_props_t *c = lc_props_new();
    if (!c) goto err;
    for (size_t i = 0; i < p->count; i++)
        if (props_put(c, p->items[i].key, p->items[i].value, p->items[i].line) != 0) goto err;
    if (p->source && !(c->source = props_strdup(p->source))) goto err;
    return c;
err:
    lc_props_destroy(c);
    return NULL;
}

/* Writes "NAME:LINE: message" (or "NAME: message" for line 0) into the caller's buffer. */
__attribute__((format(printf, 3, 4))) static int props_error(lc_props_parser_t *ps, int line,
                                                             const char *fmt, ...)
{
    va_list ap;
    int n;

    if (!ps->errstr || !ps->errstr_size) return -1;
    if (line > 0)
        n = snprintf(ps->errstr, ps->errstr_size, "%s:%d: ", ps->name, line);
    else
        n = snprintf(ps->errstr, ps->errstr_size, "%s: ", ps->name);
    if (n >= 0 && (size_t)n < ps->errstr_size) {
        va_start(ap, fmt);
        vsnprintf(ps->errstr + n, ps->errstr_size - n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static int props_is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\f';
}

/* Skips one line terminator (\n, \r or \r\n) at s. */
static const char *props_eol(const char *s, const char *end)
{
    if (*s == '\r' && s + 1 < end && s[1] == '\n') return s + 2;
    return s + 1;
}

static int props_append(lc_props_parser_t *ps, const char *s, size_t n)
{
    if (ps->len + n > ps->cap) {
        size_t cap = ps->cap ? ps->cap : 256;
        char *buf;
        while (cap < ps->len + n)
            cap *= 2;
        if (!(buf = realloc(ps->buf, cap))) return props_error(ps, 0, "out of memory");
        ps->buf = buf;
        ps->cap = cap;
    }
    memcpy(ps->buf + ps->len, s, n);
    ps->len += n;
    return 0;
}

static int props_add_seg(lc_props_parser_t *ps, int line)
{
    if (ps->nsegs == ps->segs_cap) {
        size_t cap = ps->segs_cap ? ps->segs_cap * 2 : 8;
        lc_props_seg_t *segs = realloc(ps->segs, cap * sizeof(*segs));
        if (!segs) return props_error(ps, 0, "out of memory");
        ps->segs = segs;
        ps->segs_cap = cap;
    }
    ps->segs[ps->nsegs++] = (lc_props_seg_t){ps->len, line};
    return 0;
}

/* File line of buffer position pos. */
static int props_line_of(const lc_props_parser_t *ps, size_t pos)
{
    size_t i = ps->nsegs - 1;
    while (i > 0 && ps->segs[i].pos > pos)
        i--;
    return ps->segs[i].line;
}

static int props_hex4(const char *s, const char *end, unsigned *cp)
{
    unsigned v = 0;
    if (end - s < 4) return -1;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        if (c >= '0' && c <= '9')
            v = v * 16 + (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v = v * 16 + (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v = v * 16 + (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *cp = v;
    return 0;
}

/* Decodes escapes of src[0..n) into dst; the result is never longer than the source.
 * Returns the decoded length, or -1 with *bad at the offending backslash and *why set. */
static long props_unescape(const char *src, size_t n, char *dst, size_t *bad, const char **why)
{
    const char *s = src, *end = src + n;
    char *d = dst;

    while (s < end) {
        unsigned cp, lo;
        char c;
        if (*s != '\\') {
            *d++ = *s++;
            continue;
        }
        if (++s == end) /* cannot happen: the line reader drops an odd trailing backslash */
            break;
        c = *s++;
        if (c != 'u') {
            *d++ = c == 't' ? '\t' : c == 'n' ? '\n' : c == 'r' ? '\r' : c == 'f' ? '\f' : c;
            continue;
        }
        *bad = (size_t)(s - 2 - src);
        if (props_hex4(s, end, &cp) != 0) {
            *why = "expected 4 hex digits";
            return -1;
        }
        s += 4;
        if (cp == 0) {
            /* A NUL would silently cut the C string short. */
            *why = "\\u0000 is not allowed";
            return -1;
        }
        /* Java strings are UTF-16: a character outside the BMP is written as a surrogate
         * pair of escapes, which UTF-8 must encode as one code point. */
        if (cp >= 0xDC00 && cp <= 0xDFFF) {
            *why = "unpaired low surrogate";
            return -1;
        }
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (end - s < 2 || s[0] != '\\' || s[1] != 'u' || props_hex4(s + 2, end, &lo) != 0 ||
                lo < 0xDC00 || lo > 0xDFFF) {
                *why = "expected a low surrogate \\uDC00-\\uDFFF to follow";
                return -1;
            }
            s += 6;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        if (cp < 0x80) {
            *d++ = (char)cp;
        } else if (cp < 0x800) {
            *d++ = (char)(0xC0 | cp >> 6);
            *d++ = (char)(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            *d++ = (char)(0xE0 | cp >> 12);
            *d++ = (char)(0x80 | (cp >> 6 & 0x3F));
            *d++ = (char)(0x80 | (cp & 0x3F));
        } else {
            *d++ = (char)(0xF0 | cp >> 18);
            *d++ = (char)(0x80 | (cp >> 12 & 0x3F));
            *d++ = (char)(0x80 | (cp >> 6 & 0x3F));
            *d++ = (char)(0x80 | (cp & 0x3F));
        }
    }
    return d - dst;
}

/* Splits the gathered logical line into key and value (Properties.load0) and stores them. */
static int props_entry(lc_props_parser_t *ps, int line)
{
    const char *b = ps->buf, *why;
    size_t n = ps->len, k, v, bad;
    int sep = 0, bs = 0;
    long klen, vlen;
    char *key, *val;

    for (k = 0; k < n; k++) {
        char c = b[k];
        if (!bs && (c == '=' || c == ':')) {
            sep = 1;
            break;
        }
        if (!bs && props_is_ws(c)) break;
        bs = c == '\\' ? !bs : 0;
    }
    /* Whitespace after the key may be followed by one '=' or ':' and more whitespace. */
    for (v = k < n ? k + 1 : n; v < n; v++) {
        char c = b[v];
        if (props_is_ws(c)) continue;
        if (!sep && (c == '=' || c == ':')) {
            sep = 1;
            continue;
        }
        break;
    }

    if (ps->out_cap < n + 2) {
        char *out = realloc(ps->out, n + 2);
        if (!out) return props_error(ps, 0, "out of memory");
        ps->out = out;
        ps->out_cap = n + 2;
    }
    key = ps->out;
    if ((klen = props_unescape(b, k, key, &bad, &why)) < 0)
        return props_error(ps, props_line_of(ps, bad), "malformed \\uXXXX escape in key '%.*s': %s",
                           (int)k, b, why);
    key[klen] = '\0';
    /* Java reads a lone "key" as key="", which hides typos such as a missing '=';
     * "key=" and "key:" stay valid ways to write an empty value. */
    if (!sep && v == n) return props_error(ps, line, "expected '=' or ':' after key '%s'", key);
    val = key + klen + 1;
    if ((vlen = props_unescape(b + v, n - v, val, &bad, &why)) < 0)
        return props_error(ps, props_line_of(ps, v + bad),
                           "malformed \\uXXXX escape in value of key '%s': %s", key, why);
    val[vlen] = '\0';
    if (props_put(ps->p, key, val, line) != 0) return props_error(ps, line, "out of memory");
    return 0;
}

/* Line number of position at, counting \n, \r and \r\n as one terminator each. */
static int props_count_lines(const char *s, const char *at)
{
    int line = 1;
    for (; s < at; s++)
        if (*s == '\n' || (*s == '\r' && (s + 1 >= at || s[1] != '\n'))) line++;
    return line;
}

int lc_props_parse_string(lc_props_t *p, const char *name, const char *text, size_t len,
                          char *errstr, size_t errstr_size)
{
    lc_props_parser_t ps = {
        .p = p, .name = name ? name : "<string>", .errstr = errstr, .errstr_size = errstr_size};
    const char *s, *end, *nul;
    char *source = props_strdup(name ? name : "");
    int line = 1, rc = -1;

    if (!source) {
        props_error(&ps, 0, "out of memory");
        goto err;
    }
    free(p->source);
    p->source = source;

    if (!text) text = "", len = 0;
    s = text;
    end = text + len;
    if ((nul = memchr(text, '\0', len))) {
        props_error(&ps, props_count_lines(text, nul), "unexpected NUL byte (not a text file?)");
        goto err;
    }
    if (len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) s += 3;

    while (s < end) {
        int start = line;

        /* Whitespace and blank lines before a logical line are skipped. */
        if (props_is_ws(*s)) {
            s++;
            continue;
        }
        if (*s == '\n' || *s == '\r') {
            s = props_eol(s, end);
            line++;
            continue;
        }
        /* A comment never continues, even when it ends in a backslash. */
        if (*s == '#' || *s == '!') {
            while (s < end && *s != '\n' && *s != '\r')
                s++;
            continue;
        }

        ps.len = 0;
        ps.nsegs = 0;
        if (props_add_seg(&ps, line) != 0) goto err;
        for (;;) {
            const char *e = s;
            size_t seg = ps.segs[ps.nsegs - 1].pos, i;
            int odd = 0;

            while (e < end && *e != '\n' && *e != '\r')
                e++;
            if (props_append(&ps, s, (size_t)(e - s)) != 0) goto err;
            s = e;
            for (i = ps.len; i > seg && ps.buf[i - 1] == '\\'; i--)
                odd = !odd;
            if (!odd) break;
            ps.len--; /* the continuation backslash itself */
            if (s == end) break;
            s = props_eol(s, end);
            line++;
            /* Java keeps treating a line that is still empty as not yet begun: after
             * "\<newline>" alone, blank lines and comments are skipped as usual. */
            if (ps.len == 0) break;
            while (s < end && props_is_ws(*s))
                s++;
            if (props_add_seg(&ps, line) != 0) goto err;
        }
        if (ps.len > 0 && props_entry(&ps, start) != 0) goto err;
    }
    rc = 0;
err:
    free(ps.buf);
    free(ps.out);
    free(ps.segs);
    return rc;
}

int lc_props_parse_file(lc_props_t *p, const char *path, char *errstr, size_t errstr_size)
{
    lc_props_parser_t ps = {.name = path, .errstr = errstr, .errstr_size = errstr_size};
    FILE *f = NULL;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int rc = -1;

    if (!(f = fopen(path, "rb"))) {
        props_error(&ps, 0, "cannot open: %s", strerror(errno));
        goto done;
    }
    for (;;) {
        size_t n;
        if (len == cap) {
            char *b;
            cap = cap ? cap * 2 : 16384;
            if (!(b = realloc(buf, cap))) {
                props_error(&ps, 0, "out of memory");
                goto done;
            }
            buf = b;
        }
        n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0) {
            if (ferror(f)) {
                props_error(&ps, 0, "cannot read: %s", strerror(errno));
                goto done;
            }
            break;
        }
    }
    rc = lc_props_parse_string(p, path, buf, len, errstr, errstr_size);
done:
    if (f) fclose(f);
    free(buf);
    return rc;
}

lc_props_t *lc_props_load_or_report(const char *path)
{
    char err[1024];
    lc_props_t *p = lc_props_new();
    if (lc_props_parse_file(p, path, err, sizeof(err)) != 0) {
        fprintf(stderr, "luaconnect: %s\n", err);
        lc_props_destroy(p);
        return NULL;
    }
    return p;
}
