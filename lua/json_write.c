/* json_write: JSON text out, appended to the context's lc_buf_t: integers, floats in Java's
 * spelling, strings in Jackson's escapes (invalid UTF-8 as U+FFFD), base64. The smallest
 * pieces (put, putc_, put_number) are inline in codec_internal.h. Depends on
 * codec_internal.h and libc. */
#include "codec_internal.h"

#include <float.h>
#include <stdio.h>
#include <stdlib.h>

/* Bytes that end a plain run inside a JSON string, both ways: control characters, '"',
 * '\\' and everything from 0x80 (UTF-8, checked separately). */
const unsigned char str_special[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
};

/* ---------------------------------------------------------------- JSON writing */

static const char digit_pairs[] = "00010203040506070809101112131415161718192021222324"
                                  "25262728293031323334353637383940414243444546474849"
                                  "50515253545556575859606162636465666768697071727374"
                                  "75767778798081828384858687888990919293949596979899";

/* Writes u in decimal ending at end; returns its length. Two digits per division. */
static size_t fmt_u64(char *end, uint64_t u)
{
    char *p = end;

    while (u >= 100) {
        unsigned r = (unsigned)(u % 100);
        u /= 100;
        p -= 2;
        memcpy(p, digit_pairs + 2 * r, 2);
    }
    if (u >= 10) {
        p -= 2;
        memcpy(p, digit_pairs + 2 * u, 2);
    } else {
        *--p = (char)('0' + u);
    }
    return (size_t)(end - p);
}

int put_u64(codec_ctx_t *x, uint64_t u)
{
    char tmp[24];
    size_t n = fmt_u64(tmp + sizeof tmp, u);

    return put(x, tmp + sizeof tmp - n, n);
}

int put_i64(codec_ctx_t *x, int64_t v)
{
    char tmp[24];
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    size_t n = fmt_u64(tmp + sizeof tmp, u);

    if (v < 0) tmp[sizeof tmp - ++n] = '-';
    return put(x, tmp + sizeof tmp - n, n);
}
const double pow10_exact[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* fmt_java_float's shortcut for doubles in Java's plain range, 1e-3 <= |d| < 1e7: finds the
 * fewest fraction digits p for which m = round(|d| * 10^p) reads back as |d| (m / 10^p is
 * one correctly rounded division of two exact numbers, what strtod computes). While
 * |d| * 10^p < 2^50, |d|'s rounding interval spans less than 1/4 there, so m is the only
 * candidate with p digits and the first p that works gives the shortest digits, Java's
 * choice. Returns 0 when it cannot tell; fmt_java_float searches then. */
static size_t fmt_double_plain(char *dst, double d)
{
    char digits[24], *o = dst;
    const char *s;
    double a = fabs(d), t;
    uint64_t m = 0;
    size_t n, p, i;

    if (!(a >= 1e-3 && a < 1e7)) return 0;
    for (p = 0;; p++) {
        if (p > 22) return 0;
        t = a * pow10_exact[p];
        if (t >= 1125899906842624.0) return 0; /* 2^50 */
        m = (uint64_t)(t + 0.5);
        if ((double)m / pow10_exact[p] == a) break;
    }
    n = fmt_u64(digits + sizeof digits, m);
    s = digits + sizeof digits - n;
    if (d < 0) *o++ = '-';
    if (p == 0) {
        memcpy(o, s, n);
        memcpy(o + n, ".0", 2);
        return (size_t)(o + n + 2 - dst);
    }
    if (n > p) {
        memcpy(o, s, n - p);
        o += n - p;
        *o++ = '.';
        memcpy(o, s + n - p, p);
        return (size_t)(o + p - dst);
    }
    *o++ = '0';
    *o++ = '.';
    for (i = n; i < p; i++)
        *o++ = '0';
    memcpy(o, s, n);
    return (size_t)(o + n - dst);
}

/* Formats a finite d as Java's Double.toString (is_float: Float.toString of (float)d) with
 * the shortest digits that parse back to the same value. dst needs 32 bytes. */
static size_t fmt_java_float(char *dst, double d, int is_float)
{
    char tmp[48], tmp2[48], digits[24];
    const char *s;
    char *p = dst;
    int prec, maxprec = is_float ? 9 : 17, ndig = 0, e, i;

    if (signbit(d)) {
        *p++ = '-';
        d = -d;
    }
    if (d == 0) {
        memcpy(p, "0.0", 3);
        return (size_t)(p + 3 - dst);
    }
    /* A normal double rounded to DBL_DIG (FLT_DIG) digits is its shortest form padded with
     * zeros, so start there; subnormals have fewer bits and need the search from 1. */
    prec = is_float ? (d < FLT_MIN ? 1 : 6) : (d < DBL_MIN ? 1 : 15);
    for (;; prec++) {
        snprintf(tmp, sizeof tmp, "%.*e", prec - 1, d);
        if (prec >= maxprec) break;
        if (is_float ? strtof(tmp, NULL) == (float)d : strtod(tmp, NULL) == d) break;
    }
    /* Java picks the closest of the one- and two-digit candidates when one digit would do:
     * Double.MIN_VALUE is 4.9E-324, not 5.0E-324. Only subnormals can differ. */
    if (prec == 1) {
        snprintf(tmp2, sizeof tmp2, "%.1e", d);
        if (is_float ? strtof(tmp2, NULL) == (float)d : strtod(tmp2, NULL) == d)
            memcpy(tmp, tmp2, sizeof tmp);
    }
    for (s = tmp; *s && *s != 'e'; s++)
        if (*s >= '0' && *s <= '9') digits[ndig++] = *s;
    e = atoi(s + 1);
    while (ndig > 1 && digits[ndig - 1] == '0')
        ndig--;
    if (e >= -3 && e < 7) {
        if (e >= 0) {
            for (i = 0; i <= e; i++)
                *p++ = i < ndig ? digits[i] : '0';
            *p++ = '.';
            if (ndig > e + 1)
                for (i = e + 1; i < ndig; i++)
                    *p++ = digits[i];
            else
                *p++ = '0';
        } else {
            *p++ = '0';
            *p++ = '.';
            for (i = 0; i < -e - 1; i++)
                *p++ = '0';
            for (i = 0; i < ndig; i++)
                *p++ = digits[i];
        }
    } else {
        *p++ = digits[0];
        *p++ = '.';
        if (ndig > 1)
            for (i = 1; i < ndig; i++)
                *p++ = digits[i];
        else
            *p++ = '0';
        p += sprintf(p, "E%d", e);
    }
    return (size_t)(p - dst);
}

/* NaN and the infinities as Kafka Connect's JsonConverter writes them: Jackson's
 * QUOTE_NON_NUMERIC_NUMBERS (on by default) makes them the JSON strings of Java's
 * Double.toString / Float.toString, "NaN", "Infinity", "-Infinity". */
static LC_COLD int put_nonfinite(codec_ctx_t *x, double d)
{
    if (isnan(d)) return PUTLIT(x, "\"NaN\"");
    return d > 0 ? PUTLIT(x, "\"Infinity\"") : PUTLIT(x, "\"-Infinity\"");
}

int put_float(codec_ctx_t *x, double d, int is_float)
{
    char tmp[40];
    size_t n;

    if (!isfinite(d)) return put_nonfinite(x, d);
    if (is_float || !(n = fmt_double_plain(tmp, d))) n = fmt_java_float(tmp, d, is_float);
    return put(x, tmp, n);
}

/* Length of the valid UTF-8 sequence at s (2..4), or 0 with *skip set to the length of the
 * maximal invalid subpart (Unicode's "U+FFFD substitution of maximal subparts"). */
size_t utf8_seq(const unsigned char *s, size_t n, size_t *skip)
{
    unsigned char c = s[0], lo = 0x80, hi = 0xBF;
    size_t need, k;

    if (c < 0xC2 || c > 0xF4) {
        *skip = 1;
        return 0;
    }
    need = c < 0xE0 ? 1 : c < 0xF0 ? 2 : 3;
    if (c == 0xE0)
        lo = 0xA0;
    else if (c == 0xED)
        hi = 0x9F; /* surrogates are not characters */
    else if (c == 0xF0)
        lo = 0x90;
    else if (c == 0xF4)
        hi = 0x8F;
    for (k = 1; k <= need; k++) {
        if (k >= n || s[k] < lo || s[k] > hi) {
            *skip = k;
            return 0;
        }
        lo = 0x80;
        hi = 0xBF;
    }
    return need + 1;
}

/* Writes a JSON string: one reservation for the text as is, more only when an escape or a
 * U+FFFD grows it; runs of plain bytes are found with str_scan and copied at once. */
static int buf_put_string(lc_buf_t *b, const char *str, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *s = (const unsigned char *)str, *e = s + n, *run;
    size_t k, skip = 1;
    unsigned char c;
    char *o;

    if (n > SIZE_MAX / 2 || buf_reserve(b, n + 8)) return -1;
    o = b->data + b->len;
    *o++ = '"';
    for (;;) {
        /* Invariant: room for the rest of the input as is, plus the closing quote. */
        run = s;
        s = str_scan(s, e);
        copy(o, run, (size_t)(s - run));
        o += s - run;
        if (s == e) break;
        c = *s;
        if (c >= 0x80 && (k = utf8_seq(s, (size_t)(e - s), &skip)) != 0) {
            memcpy(o, s, k);
            o += k;
            s += k;
            continue;
        }
        b->len = (size_t)(o - b->data);
        if (buf_reserve(b, (size_t)(e - s) + 8)) return -1;
        o = b->data + b->len;
        if (c >= 0x80) {
            memcpy(o, "\xEF\xBF\xBD", 3);
            o += 3;
            s += skip;
            continue;
        }
        *o++ = '\\';
        switch (c) {
        case '"':
        case '\\':
            *o++ = (char)c;
            break;
        case '\b':
            *o++ = 'b';
            break;
        case '\t':
            *o++ = 't';
            break;
        case '\n':
            *o++ = 'n';
            break;
        case '\f':
            *o++ = 'f';
            break;
        case '\r':
            *o++ = 'r';
            break;
        default:
            memcpy(o, "u00", 3);
            o[3] = hex[c >> 4];
            o[4] = hex[c & 15];
            o += 5;
        }
        s++;
    }
    *o++ = '"';
    b->len = (size_t)(o - b->data);
    return 0;
}

int put_string(codec_ctx_t *x, const char *str, size_t n)
{
    return buf_put_string(x->out, str, n) ? ctx_oom(x) : 0;
}

int lc_json_string(lc_buf_t *out, const char *s, size_t n)
{
    return buf_put_string(out, s, n);
}

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Standard alphabet with padding: Jackson's default (MIME without line feeds). */
int put_base64(codec_ctx_t *x, const unsigned char *s, size_t n)
{
    lc_buf_t *b = x->out;
    char *p;
    size_t i;

    if (n > (SIZE_MAX - 8) / 4 * 3 || buf_reserve(b, (n + 2) / 3 * 4 + 2)) return ctx_oom(x);
    p = b->data + b->len;
    *p++ = '"';
    for (i = 0; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
        *p++ = b64chars[v >> 18];
        *p++ = b64chars[(v >> 12) & 63];
        *p++ = b64chars[(v >> 6) & 63];
        *p++ = b64chars[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)s[i] << 16 | (i + 1 < n ? (uint32_t)s[i + 1] << 8 : 0);
        *p++ = b64chars[v >> 18];
        *p++ = b64chars[(v >> 12) & 63];
        *p++ = i + 1 < n ? b64chars[(v >> 6) & 63] : '=';
        *p++ = '=';
    }
    *p++ = '"';
    b->len = (size_t)(p - b->data);
    return 0;
}
