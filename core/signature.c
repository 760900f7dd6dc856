/* signature: see signature.h. The messages are Kafka Connect's (DistributedHerder,
 * InternalRequestSignature) and the JDK's (javax.crypto.Mac, KeyGenerator) word for word, so a
 * mixed cluster answers alike. */
#include "signature.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct {
    const char *java;    /* javax.crypto.Mac name */
    const char *openssl; /* EVP digest name */
    int key_bits;        /* the JDK KeyGenerator's default size */
} lc_hmac_alg_t;

/* The HMACs of the JDK's SunJCE provider (Java 17), with KeyGenerator's default key sizes. */
static const lc_hmac_alg_t ALGS[] = {
    {"HmacMD5", "MD5", 512},
    {"HmacSHA1", "SHA1", 512},
    {"HmacSHA224", "SHA224", 224},
    {"HmacSHA256", "SHA256", 256},
    {"HmacSHA384", "SHA384", 384},
    {"HmacSHA512", "SHA512", 512},
    {"HmacSHA512/224", "SHA512-224", 224},
    {"HmacSHA512/256", "SHA512-256", 256},
    {"HmacSHA3-224", "SHA3-224", 224},
    {"HmacSHA3-256", "SHA3-256", 256},
    {"HmacSHA3-384", "SHA3-384", 384},
    {"HmacSHA3-512", "SHA3-512", 512},
};

/* The JCE finds algorithms case-insensitively: so does this. NULL for unknown. */
static const lc_hmac_alg_t *find_alg(const char *name)
{
    if (!name) return NULL;
    for (size_t i = 0; i < sizeof(ALGS) / sizeof(ALGS[0]); i++)
        if (strcasecmp(ALGS[i].java, name) == 0) return &ALGS[i];
    return NULL;
}

int lc_signature_algorithm_known(const char *algorithm)
{
    const lc_hmac_alg_t *a = find_alg(algorithm);
    return a && EVP_get_digestbyname(a->openssl) != NULL;
}

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* java.util.Base64.getDecoder(): the basic alphabet, no whitespace, '=' padding optional but
 * only at the end, no dangling single character. Returns a malloc'd buffer (caller frees) and
 * *n, or NULL when s is not base64 (or on OOM). */
static unsigned char *b64_decode(const char *s, size_t *n)
{
    size_t len = strlen(s), pad = 0;
    while (len > 0 && s[len - 1] == '=' && pad < 2) {
        len--;
        pad++;
    }
    if (len % 4 == 1 || (pad && (len + pad) % 4 != 0)) return NULL;
    unsigned char *out = malloc(len / 4 * 3 + 3);
    if (!out) return NULL;
    size_t o = 0;
    unsigned int acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b64_value((unsigned char)s[i]);
        if (v < 0) {
            free(out);
            return NULL;
        }
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    *n = o;
    return out;
}

/* base64 of n bytes (padded, no line breaks) into out; 0, or -1 when out is too small. */
static int b64_encode(const unsigned char *in, size_t n, char *out, size_t out_size)
{
    if (out_size < (n + 2) / 3 * 4 + 1 || n > 0x7fffffff) return -1;
    EVP_EncodeBlock((unsigned char *)out, in, (int)n);
    return 0;
}

char *lc_signature_new_key(const char *algorithm, int size_bits, char *errstr, size_t errstr_size)
{
    const lc_hmac_alg_t *a = find_alg(algorithm);
    if (!a) {
        snprintf(errstr, errstr_size, "%s KeyGenerator not available",
                 algorithm ? algorithm : "null");
        return NULL;
    }
    if (size_bits == 0) size_bits = a->key_bits;
    if (size_bits < 40 || size_bits > 65536) {
        snprintf(errstr, errstr_size, "%s: Key length must be at least 40 bits%s", a->java,
                 size_bits > 65536 ? " and at most 65536" : "");
        return NULL;
    }
    size_t n = ((size_t)size_bits + 7) / 8; /* the JDK rounds up to whole bytes too */
    unsigned char *raw = malloc(n);
    char *out = malloc((n + 2) / 3 * 4 + 1);
    if (!raw || !out || RAND_bytes(raw, (int)n) != 1) {
        snprintf(errstr, errstr_size, "%s: cannot generate a session key: %s", a->java,
                 raw && out ? "RAND_bytes failed" : "out of memory");
        free(raw);
        free(out);
        return NULL;
    }
    b64_encode(raw, n, out, (n + 2) / 3 * 4 + 1);
    OPENSSL_cleanse(raw, n);
    free(raw);
    return out;
}

/* HMAC of body under the decoded key into mac (EVP_MAX_MD_SIZE bytes); its length, or -1. */
static int hmac(const lc_hmac_alg_t *a, const unsigned char *key, size_t keylen, const void *body,
                size_t len, unsigned char *mac)
{
    const EVP_MD *md = EVP_get_digestbyname(a->openssl);
    unsigned int maclen = 0;
    if (!md || keylen > 0x7fffffff) return -1;
    /* HMAC() wants a non-NULL data pointer even for an empty body */
    if (!HMAC(md, key, (int)keylen, body ? body : (const void *)"", len, mac, &maclen)) return -1;
    return (int)maclen;
}

int lc_signature_sign(const char *key_b64, const char *algorithm, const void *body, size_t len,
                      char *out, size_t out_size)
{
    const lc_hmac_alg_t *a = find_alg(algorithm);
    size_t keylen = 0;
    unsigned char *key = key_b64 ? b64_decode(key_b64, &keylen) : NULL;
    unsigned char mac[EVP_MAX_MD_SIZE];
    int rc = -1;
    if (a && key) {
        int n = hmac(a, key, keylen, body, len, mac);
        if (n >= 0) rc = b64_encode(mac, (size_t)n, out, out_size);
    }
    if (key) OPENSSL_cleanse(key, keylen);
    free(key);
    return rc;
}

int lc_signature_verify_allowed(const char *key_b64, const char *const *allowed, const void *body,
                                size_t len, const char *signature, const char *algorithm,
                                char *errstr, size_t errstr_size)
{
    if (!signature || !algorithm) {
        snprintf(errstr, errstr_size, "Internal request missing required signature");
        return 400;
    }
    const lc_hmac_alg_t *a = find_alg(algorithm);
    if (!a || !EVP_get_digestbyname(a->openssl)) {
        snprintf(errstr, errstr_size, "Algorithm %s not available", algorithm);
        return 400;
    }
    /* Mac.getAlgorithm() is the name as requested, so the list is matched case-sensitively */
    int ok = 0;
    for (size_t i = 0; allowed && allowed[i]; i++)
        if (strcmp(allowed[i], algorithm) == 0) ok = 1;
    if (!ok) {
        /* the list as Java's List.toString() prints it */
        char list[256];
        size_t off = 0;
        list[off++] = '[';
        list[off] = '\0';
        for (size_t i = 0; allowed && allowed[i] && off < sizeof(list); i++)
            off +=
                (size_t)snprintf(list + off, sizeof(list) - off, "%s%s", i ? ", " : "", allowed[i]);
        if (off < sizeof(list) - 1) snprintf(list + off, sizeof(list) - off, "]");
        snprintf(errstr, errstr_size,
                 "This worker does not support the '%s' key signing algorithm used by other "
                 "workers. This worker is currently configured to use: %s. Check that all "
                 "workers' configuration files permit the same set of signature algorithms, "
                 "and correct any misconfigured worker and restart it.",
                 algorithm, list);
        return 400;
    }
    if (!key_b64) {
        snprintf(errstr, errstr_size,
                 "This worker is still starting up and has not been able "
                 "to read a session key from the config topic yet");
        return 503;
    }
    size_t keylen = 0, siglen = 0;
    unsigned char *key = b64_decode(key_b64, &keylen);
    unsigned char *sig = b64_decode(signature, &siglen);
    unsigned char mac[EVP_MAX_MD_SIZE];
    int n = key ? hmac(a, key, keylen, body, len, mac) : -1, rc = 0;
    if (!key || n < 0) {
        snprintf(errstr, errstr_size, "cannot compute %s of the request with the session key%s",
                 a->java, key ? "" : " (not base64)");
        rc = 500;
    } else if (!sig || siglen != (size_t)n || CRYPTO_memcmp(sig, mac, siglen) != 0) {
        snprintf(errstr, errstr_size, "Internal request contained invalid signature.");
        rc = 403;
    }
    if (key) OPENSSL_cleanse(key, keylen);
    free(key);
    free(sig);
    return rc;
}

int lc_signature_verify(const char *key_b64, const char *key_algorithm, const void *body,
                        size_t len, const char *signature, const char *algorithm, char *errstr,
                        size_t errstr_size)
{
    const char *allowed[] = {key_algorithm, NULL};
    return lc_signature_verify_allowed(key_b64, allowed, body, len, signature, algorithm, errstr,
                                       errstr_size);
}
