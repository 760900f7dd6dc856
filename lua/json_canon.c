/* json_canon: a JSON object text straight to the line lc_json_encode_sorted writes for the
 * value JsonConverter (schemas.enable=false) decodes from it, without making Lua values.
 * A sink that writes each record's value as a JSON line (FileStreamSink) otherwise decodes
 * every value into tables only to encode them again.
 *
 * "The same line" holds by construction: the text is read by json_read.c's readers and each
 * scalar written by the json_write.c function the encoder calls for the Lua value the
 * decoder makes of it (codec.h's rules, decode.c's push_jnum). Object members are written in
 * text order, each one's output span noted, then put in the encoder's key order (bytes, then
 * length). What the decoder and encoder would treat in a way this file does not repeat is
 * declined, and the caller decodes as before: a text that is not an object, invalid JSON,
 * keys with escapes, a key given twice, numbers that are not finite, nesting deeper than
 * CANON_DEPTH or more than CANON_MEMBERS members held at once. tests/fuzz/fuzz_json_decode.c
 * checks the property on every input.
 * Depends on codec_internal.h, json_read.c and json_write.c; no Lua. */
#include "codec_internal.h"

#include <stdlib.h>

#define CANON_DEPTH 64
#define CANON_MEMBERS 256

typedef struct {
    const char *k; /* the key as it stands in the text (no escapes) */
    size_t kn;
    size_t start, end; /* its member's output, "key":value */
} member_t;

typedef struct {
    codec_ctx_t x;
    int nm; /* members[] held by the objects being read */
    member_t m[CANON_MEMBERS];
} canon_t;

static int canon_value(canon_t *c, int depth);

static inline int member_cmp(const member_t *a, const member_t *b)
{
    int r = memcmp(a->k, b->k, a->kn < b->kn ? a->kn : b->kn);

    return r ? r : (a->kn > b->kn) - (a->kn < b->kn);
}

static int member_qcmp(const void *a, const void *b)
{
    return member_cmp(a, b);
}

/* Puts the n members m (written in text order from out->len = first, commas between) in key
 * order. Returns 0, or -1 for a key given twice or out of memory. */
static int sort_members(canon_t *c, member_t *m, int n, size_t first)
{
    lc_buf_t *out = c->x.out;
    size_t len = out->len - first, at;
    int i, j, sorted = 1;
    member_t t;

    for (i = 1; i < n; i++) {
        int r = member_cmp(&m[i - 1], &m[i]);
        if (r == 0) return -1;
        if (r > 0) sorted = 0;
    }
    if (sorted) return 0;
    if (n <= 16) {
        for (i = 1; i < n; i++) {
            t = m[i];
            for (j = i; j > 0 && member_cmp(&m[j - 1], &t) > 0; j--)
                m[j] = m[j - 1];
            m[j] = t;
        }
    } else {
        qsort(m, (size_t)n, sizeof *m, member_qcmp);
    }
    for (i = 1; i < n; i++)
        if (member_cmp(&m[i - 1], &m[i]) == 0) return -1;
    /* The members' text goes behind the object, then comes back in order. */
    if (buf_reserve(out, len)) return -1;
    memcpy(out->data + out->len, out->data + first, len);
    at = first;
    for (i = 0; i < n; i++) {
        size_t mn = m[i].end - m[i].start;
        if (i) out->data[at++] = ',';
        memcpy(out->data + at, out->data + out->len + (m[i].start - first), mn);
        at += mn;
    }
    return 0;
}

static int canon_object(canon_t *c, int depth)
{
    codec_ctx_t *x = &c->x;
    lc_buf_t *out = x->out;
    int m0 = c->nm, n = 0, more, rc;
    size_t first;
    member_t *m;

    if (depth >= CANON_DEPTH) return -1;
    x->p = jp_ws(x->p + 1, x->end);
    if (putc_(x, '{')) return -1;
    first = out->len;
    if (x->p < x->end && *x->p == '}') {
        x->p++;
        return putc_(x, '}');
    }
    do {
        if (c->nm == CANON_MEMBERS) return -1;
        m = &c->m[c->nm++];
        if (n++ && putc_(x, ',')) return -1;
        m->start = out->len;
        if (jp_key(x, &m->k, &m->kn) || x->unescaped) return -1;
        /* "key": as canon_value writes a string without escapes */
        if (put(x, m->k - 1, m->kn + 2) || putc_(x, ':') || canon_value(c, depth + 1)) return -1;
        m->end = out->len;
    } while ((more = jp_next(x, '}')) > 0);
    if (more < 0) return -1;
    rc = sort_members(c, &c->m[m0], n, first);
    c->nm = m0;
    return rc || putc_(x, '}') ? -1 : 0;
}

static int canon_array(canon_t *c, int depth)
{
    codec_ctx_t *x = &c->x;
    int more, n = 0;

    if (depth >= CANON_DEPTH) return -1;
    x->p = jp_ws(x->p + 1, x->end);
    if (putc_(x, '[')) return -1;
    if (x->p < x->end && *x->p == ']') {
        x->p++;
        return putc_(x, ']');
    }
    do {
        if ((n++ && putc_(x, ',')) || canon_value(c, depth + 1)) return -1;
    } while ((more = jp_next(x, ']')) > 0);
    return more < 0 || putc_(x, ']') ? -1 : 0;
}

/* A number as the encoder writes what push_jnum makes of it: an integer within 2^53 is a Lua
 * number (put_number), beyond it int64 cdata (put_i64); an integral real is an lc_float_t
 * (put_float), any other real a Lua number. */
static int canon_number(codec_ctx_t *x)
{
    const unsigned char *p = x->p;
    jnum_t v;

    if (jp_number(x, &v)) return -1;
    if (v.is_int) {
        /* An integer's JSON spelling has no leading zeros: put_i64 writes it as it stands,
         * but for -0 (put_number writes 0) */
        if (v.i != 0 || *p != '-') return put(x, p, (size_t)(x->p - p));
        return put_number(x, (double)v.i);
    }
    if (!isfinite(v.d)) return -1;
    if (v.d == floor(v.d)) return put_float(x, v.d, 0);
    return put_number(x, v.d);
}

static int canon_value(canon_t *c, int depth)
{
    codec_ctx_t *x = &c->x;
    const char *s;
    size_t n;

    if (x->p >= x->end) return -1;
    switch (*x->p) {
    case '"': {
        const unsigned char *q = x->p;
        if (jp_string(x, &s, &n)) return -1;
        /* Without escapes the string has no byte put_string escapes (no quote, backslash or
         * control character, valid UTF-8): written as it stands, quotes included */
        return (x->unescaped ? put_string(x, s, n) : put(x, q, (size_t)(x->p - q))) ? -1 : 0;
    }
    case '{':
        return canon_object(c, depth);
    case '[':
        return canon_array(c, depth);
    case 't':
        return jp_lit(x, "true", 4) || PUTLIT(x, "true") ? -1 : 0;
    case 'f':
        return jp_lit(x, "false", 5) || PUTLIT(x, "false") ? -1 : 0;
    case 'n':
        return jp_lit(x, "null", 4) || PUTLIT(x, "null") ? -1 : 0;
    default:
        return canon_number(x);
    }
}

int lc_json_canon(const char *text, size_t len, lc_buf_t *out)
{
    canon_t c;
    size_t start = out->len;
    int rc;

    ctx_init(&c.x, NULL, NULL, 0);
    c.x.out = out;
    c.x.beg = (const unsigned char *)text;
    c.x.end = c.x.beg + len;
    c.x.p = jp_ws(c.x.beg, c.x.end);
    c.nm = 0;
    rc = c.x.p < c.x.end && *c.x.p == '{' && canon_object(&c, 0) == 0;
    if (rc) {
        c.x.p = jp_ws(c.x.p, c.x.end);
        rc = c.x.p == c.x.end;
    }
    if (c.x.scratch.data) lc_buf_free(&c.x.scratch);
    if (!rc) out->len = start;
    return rc;
}

/* ---------------------------------------------------------------- top-level edits */

/* lc_json_edit: the object's members read as lc_json_canon reads them (each value written
 * canonically into out, its span noted), the ops applied to that list as the SMTs apply
 * theirs to the decoded table, then the list sorted and written. A key given twice in the
 * text is declined before any op (the decoder keeps the last one; an op would see either). */

#define EDIT_MOVES 64

typedef struct {
    const char *k; /* the key: in the text (raw) or an op's name */
    size_t kn;
    uint64_t pre;  /* its first 8 bytes (zeros after its end), big-endian: most compares */
    const char *v; /* the value's JSON when it is an op's text, else NULL and */
    size_t vs, ve; /* its span in out */
    int raw;       /* k is written as it stands (a key of the text, which has no escapes) */
} emember_t;

static inline uint64_t key_prefix(const char *k, size_t kn)
{
    uint64_t v = 0;
    size_t i;

#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (kn >= 8) {
        memcpy(&v, k, 8);
        return __builtin_bswap64(v);
    }
#endif
    if (kn > 8) kn = 8;
    for (i = 0; i < kn; i++)
        v |= (uint64_t)(unsigned char)k[i] << (56 - 8 * i);
    return v;
}

/* The encoder's key order: bytes, then length. Prefixes that differ decide as the bytes do
 * (a shorter key's zeros stand where the longer one's bytes are: equal bytes up to there, the
 * shorter first, unless the longer one has a zero there, when the prefixes tie). */
static inline int em_cmp(const emember_t *a, const emember_t *b)
{
    if (a->pre != b->pre) return a->pre < b->pre ? -1 : 1;
    int r = memcmp(a->k, b->k, a->kn < b->kn ? a->kn : b->kn);

    return r ? r : (a->kn > b->kn) - (a->kn < b->kn);
}

static int em_qcmp(const void *a, const void *b)
{
    return em_cmp(a, b);
}

/* The members stay in key order from the first sort on: removed and added in place. */
static void em_sort(emember_t *m, int n)
{
    int i, j;
    emember_t t;

    if (n > 16) {
        qsort(m, (size_t)n, sizeof *m, em_qcmp);
        return;
    }
    for (i = 1; i < n; i++) {
        t = m[i];
        for (j = i; j > 0 && em_cmp(&m[j - 1], &t) > 0; j--)
            m[j] = m[j - 1];
        m[j] = t;
    }
}

/* The place of key k (prefix pre) in the sorted m: its index, or -(insertion point) - 1. */
static int em_find(const emember_t *m, int n, const char *k, size_t kn, uint64_t pre)
{
    emember_t key;
    int lo = 0, hi = n, mid, r;

    key.k = k;
    key.kn = kn;
    key.pre = pre;
    while (lo < hi) {
        mid = (lo + hi) / 2;
        r = em_cmp(&m[mid], &key);
        if (r == 0) return mid;
        if (r < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -lo - 1;
}

static inline int em_remove(emember_t *m, int n, int i)
{
    memmove(&m[i], &m[i + 1], (size_t)(n - i - 1) * sizeof *m);
    return n - 1;
}

/* name = the value v (its k fields ignored): replaces the member of that name, else adds
 * one in its place. Returns the member count, or -1 when there is no room. */
static int em_set(emember_t *m, int n, const lc_str_t *name, uint64_t pre, const emember_t *v)
{
    int i = em_find(m, n, name->s, name->n, pre);

    if (i < 0) {
        if (n == CANON_MEMBERS) return -1;
        i = -i - 1;
        memmove(&m[i + 1], &m[i], (size_t)(n - i) * sizeof *m);
        n++;
    }
    m[i] = *v;
    m[i].k = name->s;
    m[i].kn = name->n;
    m[i].pre = pre;
    m[i].raw = 0;
    return n;
}

/* Applies op to the n members m; returns their count after it, or -1 (declined). */
static int edit_apply(codec_ctx_t *x, const lc_json_edit_op_t *op, const lc_edit_meta_t *meta,
                      emember_t *m, int n)
{
    emember_t v, taken[EDIT_MOVES];
    int i, j, has[EDIT_MOVES];
    double num;

    switch (op->kind) {
    case LC_EDIT_SET:
        memset(&v, 0, sizeof v);
        if (op->src == LC_EDIT_TEXT) {
            v.v = op->text.s;
            v.vs = 0;
            v.ve = op->text.n;
            return em_set(m, n, &op->name, key_prefix(op->name.s, op->name.n), &v);
        }
        if (op->src == LC_EDIT_TIMESTAMP && meta->timestamp < 0) return n;
        num = op->src == LC_EDIT_PARTITION ? (double)meta->partition
              : op->src == LC_EDIT_OFFSET  ? (double)meta->offset
                                           : (double)meta->timestamp;
        v.vs = x->out->len;
        if (put_number(x, num)) return -1;
        v.ve = x->out->len;
        return em_set(m, n, &op->name, key_prefix(op->name.s, op->name.n), &v);
    case LC_EDIT_DROP:
        i = em_find(m, n, op->name.s, op->name.n, key_prefix(op->name.s, op->name.n));
        return i >= 0 ? em_remove(m, n, i) : n;
    case LC_EDIT_KEEP:
        for (i = n - 1; i >= 0; i--) {
            for (j = 0; j < op->n; j++)
                if (op->names[j].n == m[i].kn && memcmp(op->names[j].s, m[i].k, m[i].kn) == 0)
                    break;
            if (j == op->n) n = em_remove(m, n, i);
        }
        return n;
    case LC_EDIT_MOVE:
        if (op->n > EDIT_MOVES) return -1;
        for (j = 0; j < op->n; j++) {
            const lc_str_t *old = &op->names[2 * j];
            has[j] = (i = em_find(m, n, old->s, old->n, key_prefix(old->s, old->n))) >= 0;
            if (has[j]) {
                taken[j] = m[i];
                n = em_remove(m, n, i);
            }
        }
        for (j = 0; j < op->n && n >= 0; j++) {
            const lc_str_t *to = &op->names[2 * j + 1];
            if (has[j]) n = em_set(m, n, to, key_prefix(to->s, to->n), &taken[j]);
        }
        return n;
    }
    return -1;
}

int lc_json_edit(const char *text, size_t len, const lc_json_edit_t *e, const lc_edit_meta_t *meta,
                 lc_buf_t *out)
{
    canon_t c;
    codec_ctx_t *x = &c.x;
    emember_t m[CANON_MEMBERS];
    size_t start = out->len, need = 2, at;
    int n = 0, more, i, ok = 0;

    ctx_init(x, NULL, NULL, 0);
    x->out = out;
    x->beg = (const unsigned char *)text;
    x->end = x->beg + len;
    x->p = jp_ws(x->beg, x->end);
    c.nm = 0;
    if (x->p >= x->end || *x->p != '{') goto out;
    x->p = jp_ws(x->p + 1, x->end);
    if (x->p < x->end && *x->p == '}') {
        x->p++;
    } else {
        do {
            if (n == CANON_MEMBERS) goto out;
            if (jp_key(x, &m[n].k, &m[n].kn) || x->unescaped) goto out;
            m[n].pre = key_prefix(m[n].k, m[n].kn);
            m[n].v = NULL;
            m[n].raw = 1;
            m[n].vs = out->len;
            if (canon_value(&c, 1)) goto out;
            m[n++].ve = out->len;
        } while ((more = jp_next(x, '}')) > 0);
        if (more < 0) goto out;
    }
    x->p = jp_ws(x->p, x->end);
    if (x->p != x->end) goto out;
    em_sort(m, n);
    for (i = 1; i < n; i++)
        if (em_cmp(&m[i - 1], &m[i]) == 0) goto out;
    for (i = 0; i < e->nops && n >= 0; i++)
        n = edit_apply(x, &e->ops[i], meta, m, n);
    if (n < 0) goto out;
    /* The line goes behind what was read, in room reserved first (so that the values read
     * from out stay where they are), then moves to start. */
    for (i = 0; i < n; i++)
        need += 6 * m[i].kn + 4 + (m[i].ve - m[i].vs);
    if (buf_reserve(out, need)) goto out;
    at = out->len;
    if (putc_(x, '{')) goto out;
    for (i = 0; i < n; i++) {
        if (i && putc_(x, ',')) goto out;
        if (m[i].raw) {
            if (putc_(x, '"') || put(x, m[i].k, m[i].kn) || putc_(x, '"')) goto out;
        } else if (put_string(x, m[i].k, m[i].kn)) {
            goto out;
        }
        if (putc_(x, ':') || put(x, m[i].v ? m[i].v : out->data + m[i].vs, m[i].ve - m[i].vs))
            goto out;
    }
    if (putc_(x, '}')) goto out;
    memmove(out->data + start, out->data + at, out->len - at);
    out->len = start + (out->len - at);
    ok = 1;
out:
    if (x->scratch.data) lc_buf_free(&x->scratch);
    if (!ok) out->len = start;
    return ok;
}
