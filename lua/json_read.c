/* json_read: the strict (RFC 8259) JSON reader both decoders share: strings, numbers,
 * literals, skipping and counting values, syntax errors with line and column. It calls no
 * Lua API; the decoders push the values (decode.c, decode_schema.c). The per-token pieces
 * (jp_ws, jp_string, jp_next, jp_key, jp_lit) are inline in codec_internal.h. Depends on
 * codec_internal.h and libc. */
#include "codec_internal.h"

#include <float.h>
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* ---------------------------------------------------------------- JSON reading */

/* The parser reads x->beg..x->end at the cursor x->p and pushes Lua values as it goes, with
 * no tree in between. Strings without escapes are pushed straight from the input, others
 * are unescaped into x->scratch first. A syntax error names its line and column (lines
 * count '\n', columns count characters, as jansson did); any other failure is checked
 * against the whole text afterwards (dec_recheck), so a syntax error anywhere still wins,
 * as it did when a full parse came first. The reading functions below call no Lua API, so
 * they also run outside lua_pcall. */

LC_COLD int jp_fail(codec_ctx_t *x, const unsigned char *at, const char *fmt, ...)
{
    const unsigned char *q;
    char msg[256];
    int line = 1, col = 0;
    va_list ap;

    if (x->failed) return -1;
    x->failed = x->syntax = 1;
    for (q = x->beg; q < at; q++) {
        if (*q == '\n') {
            line++;
            col = 0;
        } else if ((*q & 0xC0) != 0x80) {
            col++;
        }
    }
    if (at < x->end) col++; /* the offending character itself; at the end, the last one */
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    set_err(x->errstr, x->errstr_size, "invalid JSON at line %d column %d: %s", line, col, msg);
    return -1;
}

/* "unexpected <what is at at>[, expected <expected>]". */
LC_COLD int jp_unexpected(codec_ctx_t *x, const unsigned char *at, const char *expected)
{
    char what[16];

    if (at >= x->end) return jp_fail(x, at, "unexpected end of input");
    if (*at >= 0x20 && *at < 0x7F)
        snprintf(what, sizeof what, "'%c'", *at);
    else
        snprintf(what, sizeof what, "byte 0x%02X", *at);
    return jp_fail(x, at, "unexpected %s%s%s", what, expected ? ", expected " : "",
                   expected ? expected : "");
}

/* Reads the four hex digits of the \u escape at p (the backslash); -1 when they are not. */
static int hex4(const unsigned char *p, const unsigned char *e, uint32_t *cp)
{
    uint32_t v = 0;
    int i, c;

    if (e - p < 6 || p[0] != '\\' || p[1] != 'u') return -1;
    for (i = 2; i < 6; i++) {
        c = p[i];
        if (is_digit((unsigned char)c))
            c -= '0';
        else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
            c = (c | 0x20) - 'a' + 10;
        else
            return -1;
        v = v << 4 | (uint32_t)c;
    }
    *cp = v;
    return 0;
}

static size_t utf8_put(unsigned char *o, uint32_t cp)
{
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xC0 | cp >> 6);
        o[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | cp >> 12);
        o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | cp >> 18);
    o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

/* The rest of a string from its first escape at p: unescaped into x->scratch when out is
 * given, else only checked. */
LC_COLD int jp_string_esc(codec_ctx_t *x, const unsigned char *start, const unsigned char *p,
                          const char **out, size_t *outn)
{
    lc_buf_t *b = &x->scratch;
    const unsigned char *e = x->end, *run = start;
    unsigned char u8[4], c;
    uint32_t cp, lo;
    size_t k, skip;

    b->len = 0;
    for (;;) {
        if (out && lc_buf_append(b, run, (size_t)(p - run))) return ctx_oom(x);
        if (p >= e) return jp_fail(x, p, "unexpected end of input in a string");
        c = *p;
        if (c == '"') break;
        if (c >= 0x80) {
            if (!(k = utf8_seq(p, (size_t)(e - p), &skip)))
                return jp_fail(x, p, "invalid UTF-8 in string");
            run = p;
            p += k;
            if (out && lc_buf_append(b, run, k)) return ctx_oom(x);
        } else if (c != '\\') {
            return jp_fail(x, p, "control character 0x%02X in string (must be escaped)", c);
        } else {
            if (p + 1 >= e) return jp_fail(x, p + 1, "unexpected end of input in a string");
            k = 1;
            switch (p[1]) {
            case '"':
            case '\\':
            case '/':
                u8[0] = p[1];
                break;
            case 'b':
                u8[0] = '\b';
                break;
            case 'f':
                u8[0] = '\f';
                break;
            case 'n':
                u8[0] = '\n';
                break;
            case 'r':
                u8[0] = '\r';
                break;
            case 't':
                u8[0] = '\t';
                break;
            case 'u':
                if (hex4(p, e, &cp))
                    return jp_fail(x, p, "invalid \\u escape (4 hex digits needed)");
                if (cp >= 0xDC00 && cp <= 0xDFFF)
                    return jp_fail(x, p, "invalid \\u%04X: a low surrogate without a high one",
                                   (unsigned)cp);
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    if (hex4(p + 6, e, &lo) || lo < 0xDC00 || lo > 0xDFFF)
                        return jp_fail(x, p,
                                       "invalid \\u%04X: a high surrogate without a low one "
                                       "after it",
                                       (unsigned)cp);
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    p += 6;
                }
                k = utf8_put(u8, cp);
                p += 4;
                break;
            default:
                return jp_unexpected(x, p + 1, "an escape (\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u)");
            }
            p += 2;
            if (out && lc_buf_append(b, u8, k)) return ctx_oom(x);
        }
        run = p;
        p = str_scan(p, e);
    }
    if (out) {
        *out = b->data ? b->data : "";
        *outn = b->len;
    }
    x->p = p + 1;
    x->unescaped = 1;
    return 0;
}

/* strtod on a NUL-terminated copy of the number (the input is not terminated), with the
 * locale's decimal point as jansson does. */
LC_COLD static int jp_strtod(codec_ctx_t *x, const unsigned char *s, size_t n, double *d)
{
    char small[64], *buf = small, *dot;
    char dp = localeconv()->decimal_point[0];

    if (n >= sizeof small && !(buf = malloc(n + 1))) return ctx_oom(x);
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (dp && dp != '.' && (dot = memchr(buf, '.', n))) *dot = dp;
    *d = strtod(buf, NULL);
    if (buf != small) free(buf);
    if (isinf(*d))
        return jp_fail(x, s, "number out of range: %.*s", n > 40 ? 40 : (int)n, (const char *)s);
    return 0;
}

/* Reads the number at x->p. Integers must fit int64 (as with jansson); other numbers are
 * doubles, exact: m * 10^e in one rounding when m < 2^53 and |e| <= 22 (both factors
 * exact), else strtod. jp_number (codec_internal.h) reads the short ones itself. */
int jp_number_slow(codec_ctx_t *x, jnum_t *v)
{
    const unsigned char *p = x->p, *e = x->end, *start = p, *ip, *ie, *fp = NULL, *fe = NULL, *q;
    uint64_t m = 0;
    int neg = 0, ex = 0, exneg = 0, nd = 0, e10;
    double d;

    if (*p == '-') {
        neg = 1;
        p++;
    }
    ip = p;
    if (p >= e || !is_digit(*p)) return jp_unexpected(x, p, "a digit");
    if (*p == '0') {
        p++;
        if (p < e && is_digit(*p)) return jp_fail(x, p, "invalid number (leading zero)");
    } else {
        while (p < e && is_digit(*p))
            p++;
    }
    ie = p;
    if (p < e && *p == '.') {
        fp = ++p;
        if (p >= e || !is_digit(*p)) return jp_unexpected(x, p, "a digit after '.'");
        while (p < e && is_digit(*p))
            p++;
        fe = p;
    }
    if (p < e && (*p | 0x20) == 'e') {
        p++;
        if (p < e && (*p == '+' || *p == '-')) exneg = *p++ == '-';
        if (p >= e || !is_digit(*p)) return jp_unexpected(x, p, "a digit in the exponent");
        for (; p < e && is_digit(*p); p++)
            if (ex < 100000) ex = ex * 10 + (*p - '0');
    } else if (!fp) {
        x->p = p;
        if (ie - ip > 19) goto int_range;
        for (q = ip; q < ie; q++)
            m = m * 10 + (uint64_t)(*q - '0');
        if (m > (uint64_t)INT64_MAX + (uint64_t)neg) goto int_range;
        v->is_int = 1;
        v->i = !neg ? (int64_t)m : m > (uint64_t)INT64_MAX ? INT64_MIN : -(int64_t)m;
        return 0;
    }
    x->p = p;
    v->is_int = 0;
#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD == 0
    for (q = ip; q < (fp ? fe : ie) && nd <= 19; q++) {
        if (q == ie) q = fp;
        if (m || *q != '0') {
            m = m * 10 + (uint64_t)(*q - '0');
            nd++;
        }
    }
    e10 = (exneg ? -ex : ex) - (fp ? (int)(fe - fp) : 0);
    if (nd <= 19 && (m == 0 || (m <= (1ull << 53) && e10 >= -22 && e10 <= 22))) {
        d = (double)m;
        if (m) d = e10 < 0 ? d / pow10_exact[-e10] : d * pow10_exact[e10];
        v->d = neg ? -d : d;
        return 0;
    }
#else
    (void)nd;
    (void)e10;
    (void)d;
#endif
    return jp_strtod(x, start, (size_t)(p - start), &v->d);
int_range:
    return jp_fail(x, start, "integer out of range (64 bits): %.*s",
                   (int)(p - start) > 40 ? 40 : (int)(p - start), (const char *)start);
}

/* Skips the array or object at x->p; depth counts the levels around it. */
static int jp_skip_container(codec_ctx_t *x, int depth)
{
    const unsigned char *e = x->end;
    int obj = *x->p == '{';
    unsigned char close = obj ? '}' : ']';

    x->p = jp_ws(x->p + 1, e);
    if (x->p < e && *x->p == close) {
        x->p++;
        return 0;
    }
    for (;;) {
        if (obj) {
            if (x->p >= e || *x->p != '"') return jp_unexpected(x, x->p, "a string key");
            if (jp_string(x, NULL, NULL)) return -1;
            x->p = jp_ws(x->p, e);
            if (x->p >= e || *x->p != ':') return jp_unexpected(x, x->p, "':'");
            x->p = jp_ws(x->p + 1, e);
        }
        if (jp_skip(x, depth)) return -1;
        x->p = jp_ws(x->p, e);
        if (x->p < e && *x->p == ',') {
            x->p = jp_ws(x->p + 1, e);
            continue;
        }
        if (x->p < e && *x->p == close) {
            x->p++;
            return 0;
        }
        return jp_unexpected(x, x->p, obj ? "',' or '}'" : "',' or ']'");
    }
}

/* Skips (and checks) the value at x->p. */
int jp_skip(codec_ctx_t *x, int depth)
{
    jnum_t v;

    if (x->p >= x->end) return jp_unexpected(x, x->p, NULL);
    switch (*x->p) {
    case '"':
        return jp_string(x, NULL, NULL);
    case 't':
        return jp_lit(x, "true", 4);
    case 'f':
        return jp_lit(x, "false", 5);
    case 'n':
        return jp_lit(x, "null", 4);
    case '[':
    case '{':
        if (depth >= LC_CODEC_MAX_DEPTH) {
            x->nsegs = 0;
            return ctx_fail(x, "nesting too deep (more than %d levels)", LC_CODEC_MAX_DEPTH);
        }
        return jp_skip_container(x, depth + 1);
    default:
        if (*x->p == '-' || is_digit(*x->p)) return jp_number(x, &v);
        return jp_unexpected(x, x->p, "a JSON value");
    }
}

/* Counts the items of the array at x->p, leaving x->p after it. */
int jp_count_items(codec_ctx_t *x, size_t *n)
{
    const unsigned char *e = x->end;

    *n = 0;
    x->p = jp_ws(x->p + 1, e);
    if (x->p < e && *x->p == ']') {
        x->p++;
        return 0;
    }
    for (;;) {
        if (jp_skip(x, x->depth)) return -1;
        ++*n;
        x->p = jp_ws(x->p, e);
        if (x->p < e && *x->p == ',') {
            x->p = jp_ws(x->p + 1, e);
            continue;
        }
        if (x->p < e && *x->p == ']') {
            x->p++;
            return 0;
        }
        return jp_unexpected(x, x->p, "',' or ']'");
    }
}

const char *json_kind_at(unsigned char c)
{
    switch (c) {
    case '{':
        return "object";
    case '[':
        return "array";
    case '"':
        return "string";
    case 't':
    case 'f':
        return "boolean";
    case 'n':
        return "null";
    default:
        return "number";
    }
}

/* Decodes base64 (padding optional) into out, which holds n / 4 * 3 + 3 bytes. Returns
 * the decoded length or -1. */
static inline int b64_val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

long b64_decode(const char *s, size_t n, unsigned char *out)
{
    size_t i, m = n, o = 0;
    uint32_t acc = 0;
    int bits = 0;
    if (m && s[m - 1] == '=') m--;
    if (m && s[m - 1] == '=') m--;
    if (m != n && n % 4) return -1;
    if (m % 4 == 1) return -1;
    for (i = 0; i < m; i++) {
        int v = b64_val((unsigned char)s[i]);
        if (v < 0) return -1;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    return (long)o;
}
