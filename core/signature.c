/* signature: see signature.h. */
#include "signature.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Java's Mac algorithm names and the digests they use. */
static const EVP_MD *digest_of(const char *algorithm)
{
    if (!algorithm) return NULL;
    if (strcasecmp(algorithm, "HmacSHA256") == 0) return EVP_sha256();
    if (strcasecmp(algorithm, "HmacSHA1") == 0) return EVP_sha1();
    if (strcasecmp(algorithm, "HmacSHA224") == 0) return EVP_sha224();
    if (strcasecmp(algorithm, "HmacSHA384") == 0) return EVP_sha384();
    if (strcasecmp(algorithm, "HmacSHA512") == 0) return EVP_sha512();
    if (strcasecmp(algorithm, "HmacMD5") == 0) return EVP_md5();
    return NULL;
}

static char *b64(const unsigned char *in, size_t len)
{
    char *out = malloc(4 * ((len + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)out, in, (int)len);
    return out;
}

/* Decodes base64 into out (at least 3/4 of the text); returns the length or -1. */
static int unb64(const char *in, unsigned char *out)
{
    size_t len = strlen(in);
    if (len % 4) return -1;
    int n = EVP_DecodeBlock(out, (const unsigned char *)in, (int)len);
    if (n < 0) return -1;
    if (len >= 1 && in[len - 1] == '=') n--;
    if (len >= 2 && in[len - 2] == '=') n--;
    return n;
}

char *lc_signature_new_key(const char *algorithm, int size_bits, char *errstr, size_t errsz)
{
    const EVP_MD *md = digest_of(algorithm);
    if (!md) {
        snprintf(errstr, errsz, "unknown key generation algorithm '%s'",
                 algorithm ? algorithm : "");
        return NULL;
    }
    /* Java's KeyGenerator default for HmacSHA* is the digest's output size. */
    int bytes = size_bits > 0 ? (size_bits + 7) / 8 : EVP_MD_get_size(md);
    unsigned char key[512];
    if (bytes > (int)sizeof(key)) bytes = (int)sizeof(key);
    if (RAND_bytes(key, bytes) != 1) {
        snprintf(errstr, errsz, "no random bytes for a session key");
        return NULL;
    }
    return b64(key, (size_t)bytes);
}

int lc_signature_sign(const char *key_b64, const char *algorithm, const void *body, size_t len,
                      char *out, size_t out_size)
{
    const EVP_MD *md = digest_of(algorithm);
    unsigned char key[1024], mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    if (!md || !key_b64 || strlen(key_b64) > sizeof(key) * 4 / 3) return -1;
    int klen = unb64(key_b64, key);
    if (klen < 0) return -1;
    if (!HMAC(md, key, klen, body, len, mac, &maclen)) return -1;
    char *s = b64(mac, maclen);
    int rc = strlen(s) < out_size ? 0 : -1;
    if (rc == 0) memcpy(out, s, strlen(s) + 1);
    free(s);
    return rc;
}

int lc_signature_verify(const char *key_b64, const char *key_algorithm, const void *body,
                        size_t len, const char *signature, const char *algorithm, char *errstr,
                        size_t errsz)
{
    (void)key_algorithm;
    if (!signature || !algorithm) {
        snprintf(errstr, errsz, "Internal request missing required signature");
        return 400;
    }
    if (!digest_of(algorithm)) {
        snprintf(errstr, errsz,
                 "This worker does not support the '%s' key signing algorithm used by other "
                 "workers. This worker is currently configured to use: [HmacSHA256]. Check that "
                 "all workers' configuration files permit the same set of signature algorithms, "
                 "and correct any misconfigured worker and restart it.",
                 algorithm);
        return 400;
    }
    char want[256];
    if (lc_signature_sign(key_b64, algorithm, body, len, want, sizeof(want)) != 0) {
        snprintf(errstr, errsz, "Internal request contained invalid signature.");
        return 403;
    }
    /* Constant time in the signature's length. */
    size_t a = strlen(want), b = strlen(signature);
    unsigned char diff = a != b;
    for (size_t i = 0; i < a && i < b; i++)
        diff |= (unsigned char)(want[i] ^ signature[i]);
    if (diff) {
        snprintf(errstr, errsz, "Internal request contained invalid signature.");
        return 403;
    }
    return 0;
}
