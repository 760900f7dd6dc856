/* Unit tests for core/signature.c: signatures byte for byte what Kafka Connect computes, and
 * the answers (status and exact message) Connect gives to unsigned, badly signed and
 * wrongly signed internal requests. */
#include "lc_test.h"
#include "signature.h"

#include <stdlib.h>

/* base64 of the 35 bytes "session-key-for-luaconnect-tests!!!" */
#define KEY "c2Vzc2lvbi1rZXktZm9yLWx1YWNvbm5lY3QtdGVzdHMhISE="
#define BODY "[{\"task.class\":\"a\"},{\"task.class\":\"b\"}]"

/* Expected signatures of BODY under KEY, computed with
 *   printf '%s' "$BODY" | openssl dgst -sha256 -hmac 'session-key-for-luaconnect-tests!!!' \
 *     -binary | base64
 * (and -sha1/-sha384/-sha512), and confirmed identical with Java 17's javax.crypto.Mac
 * (Mac.getInstance(alg).init(new SecretKeySpec(Base64.getDecoder().decode(KEY), alg)),
 * Base64.getEncoder().encodeToString(mac.doFinal(body))), which is what Connect runs. */
#define SIG_SHA256 "pSGCntokBi6f9cFTYtSnYuWa/hBBU1ErNVStDIxvaF0="
#define SIG_SHA1 "pkaky85MyCG/CjVyE74DD6wTc0M="
#define SIG_SHA384 "RvDibsSkwvmBlawkgMK/ADyikeE9zGKq5Lq6ZouYGdNlINw9z1D1hVeZJNQKEvwA"
#define SIG_SHA512                                                                                 \
    "SYerOCwsOHrvqBzqbeiSGb9laptL9kI0xoIq31jElpaZ5q8jQG9TM96OMC8iSEtWoLdPkavMDOj/XxdfLQJdLw=="

#define NOT_SUPPORTED(alg, list)                                                                   \
    "This worker does not support the '" alg "' key signing algorithm used by other workers. "     \
    "This worker is currently configured to use: " list ". Check that all workers' "               \
    "configuration files permit the same set of signature algorithms, and correct any "            \
    "misconfigured worker and restart it."

TEST(test_sign_known_vectors)
{
    char out[LC_SIGNATURE_SIZE];
    CHECK_INT(lc_signature_sign(KEY, "HmacSHA256", BODY, strlen(BODY), out, sizeof(out)), 0);
    CHECK_STR(out, SIG_SHA256);
    CHECK_INT(lc_signature_sign(KEY, "HmacSHA1", BODY, strlen(BODY), out, sizeof(out)), 0);
    CHECK_STR(out, SIG_SHA1);
    CHECK_INT(lc_signature_sign(KEY, "HmacSHA384", BODY, strlen(BODY), out, sizeof(out)), 0);
    CHECK_STR(out, SIG_SHA384);
    CHECK_INT(lc_signature_sign(KEY, "HmacSHA512", BODY, strlen(BODY), out, sizeof(out)), 0);
    CHECK_STR(out, SIG_SHA512);
    /* Java's decoder takes the key without its padding too */
    CHECK_INT(lc_signature_sign("c2Vzc2lvbi1rZXktZm9yLWx1YWNvbm5lY3QtdGVzdHMhISE", "HmacSHA256",
                                BODY, strlen(BODY), out, sizeof(out)),
              0);
    CHECK_STR(out, SIG_SHA256);
    /* the JCE looks names up case-insensitively */
    CHECK_INT(lc_signature_sign(KEY, "hmacsha256", BODY, strlen(BODY), out, sizeof(out)), 0);
    CHECK_STR(out, SIG_SHA256);
}

TEST(test_sign_errors)
{
    char out[LC_SIGNATURE_SIZE], small[44];
    CHECK_INT(lc_signature_sign(KEY, "HmacFoo", BODY, strlen(BODY), out, sizeof(out)), -1);
    CHECK_INT(lc_signature_sign("not*base64", "HmacSHA256", BODY, 3, out, sizeof(out)), -1);
    CHECK_INT(lc_signature_sign(NULL, "HmacSHA256", BODY, 3, out, sizeof(out)), -1);
    CHECK_INT(lc_signature_sign(KEY, "HmacSHA256", BODY, strlen(BODY), small, sizeof(small)), -1);
    CHECK_INT(lc_signature_sign(KEY, "HmacSHA256", BODY, strlen(BODY), out, 45), 0);
    CHECK(lc_signature_algorithm_known("HmacSHA512/256"));
    CHECK(lc_signature_algorithm_known("HmacSHA3-256"));
    CHECK(!lc_signature_algorithm_known("HmacFoo"));
    CHECK(!lc_signature_algorithm_known(NULL));
}

TEST(test_verify_ok)
{
    char err[512] = "";
    CHECK_INT(lc_signature_verify(KEY, "HmacSHA256", BODY, strlen(BODY), SIG_SHA256, "HmacSHA256",
                                  err, sizeof(err)),
              0);
    const char *allowed[] = {"HmacSHA256", "HmacSHA1", NULL};
    CHECK_INT(lc_signature_verify_allowed(KEY, allowed, BODY, strlen(BODY), SIG_SHA1, "HmacSHA1",
                                          err, sizeof(err)),
              0);
}

TEST(test_verify_missing_is_400)
{
    char err[512];
    CHECK_INT(
        lc_signature_verify(KEY, "HmacSHA256", BODY, strlen(BODY), NULL, NULL, err, sizeof(err)),
        400);
    CHECK_STR(err, "Internal request missing required signature");
    err[0] = '\0';
    CHECK_INT(lc_signature_verify(KEY, "HmacSHA256", BODY, strlen(BODY), SIG_SHA256, NULL, err,
                                  sizeof(err)),
              400);
    CHECK_STR(err, "Internal request missing required signature");
    err[0] = '\0';
    CHECK_INT(lc_signature_verify(KEY, "HmacSHA256", BODY, strlen(BODY), NULL, "HmacSHA256", err,
                                  sizeof(err)),
              400);
    CHECK_STR(err, "Internal request missing required signature");
}

TEST(test_verify_invalid_is_403)
{
    char err[512];
    const char *tampered = "[{\"task.class\":\"a\"},{\"task.class\":\"c\"}]";
    CHECK_INT(lc_signature_verify(KEY, "HmacSHA256", tampered, strlen(tampered), SIG_SHA256,
                                  "HmacSHA256", err, sizeof(err)),
              403);
    CHECK_STR(err, "Internal request contained invalid signature.");
    /* another key */
    err[0] = '\0';
    CHECK_INT(lc_signature_verify("b3RoZXIta2V5", "HmacSHA256", BODY, strlen(BODY), SIG_SHA256,
                                  "HmacSHA256", err, sizeof(err)),
              403);
    CHECK_STR(err, "Internal request contained invalid signature.");
    /* a prefix of the right MAC, an empty one, one that is not base64 */
    const char *bad[] = {"pSGCntokBi6f9cFTYtSnYuWa", "", "pSGC*tok", SIG_SHA1};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        CHECK_INT(lc_signature_verify(KEY, "HmacSHA256", BODY, strlen(BODY), bad[i], "HmacSHA256",
                                      err, sizeof(err)),
                  403);
        CHECK_STR(err, "Internal request contained invalid signature.");
    }
}

TEST(test_verify_algorithm)
{
    char err[1024];
    /* unknown to the JCE: InternalRequestSignature.fromHeaders' BadRequestException */
    CHECK_INT(lc_signature_verify(KEY, "HmacSHA256", BODY, strlen(BODY), SIG_SHA256, "HmacFoo", err,
                                  sizeof(err)),
              400);
    CHECK_STR(err, "Algorithm HmacFoo not available");
    /* known but not allowed: a valid HmacSHA1 signature is refused before it is checked */
    CHECK_INT(lc_signature_verify(KEY, "HmacSHA256", BODY, strlen(BODY), SIG_SHA1, "HmacSHA1", err,
                                  sizeof(err)),
              400);
    CHECK_STR(err, NOT_SUPPORTED("HmacSHA1", "[HmacSHA256]"));
    /* Mac.getAlgorithm() keeps the requested spelling: not in the list */
    CHECK_INT(lc_signature_verify(KEY, "HmacSHA256", BODY, strlen(BODY), SIG_SHA256, "hmacsha256",
                                  err, sizeof(err)),
              400);
    CHECK_STR(err, NOT_SUPPORTED("hmacsha256", "[HmacSHA256]"));
    const char *allowed[] = {"HmacSHA256", "HmacSHA384", NULL};
    CHECK_INT(lc_signature_verify_allowed(KEY, allowed, BODY, strlen(BODY), SIG_SHA512,
                                          "HmacSHA512", err, sizeof(err)),
              400);
    CHECK_STR(err, NOT_SUPPORTED("HmacSHA512", "[HmacSHA256, HmacSHA384]"));
}

TEST(test_verify_no_session_key_is_503)
{
    char err[512];
    CHECK_INT(lc_signature_verify(NULL, "HmacSHA256", BODY, strlen(BODY), SIG_SHA256, "HmacSHA256",
                                  err, sizeof(err)),
              503);
    CHECK_STR(err, "This worker is still starting up and has not been able to read a session key "
                   "from the config topic yet");
}

/* Length of the key a base64 text decodes to (padded text). */
static size_t decoded_len(const char *b64)
{
    size_t n = strlen(b64), pad = 0;
    while (n > pad && b64[n - 1 - pad] == '=')
        pad++;
    return n / 4 * 3 - pad;
}

TEST(test_new_key)
{
    char err[256];
    char *k1 = lc_signature_new_key("HmacSHA256", 0, err, sizeof(err));
    char *k2 = lc_signature_new_key("HmacSHA256", 0, err, sizeof(err));
    CHECK(k1 && k2);
    if (!k1 || !k2) return;
    CHECK_INT(decoded_len(k1), 32); /* KeyGenerator's default for HmacSHA256 */
    CHECK(strcmp(k1, k2) != 0);
    char *k3 = lc_signature_new_key("HmacSHA1", 0, err, sizeof(err));
    CHECK_INT(decoded_len(k3), 64);
    char *k4 = lc_signature_new_key("HmacSHA256", 100, err, sizeof(err));
    CHECK_INT(decoded_len(k4), 13); /* rounded up to whole bytes, as the JDK does */
    /* a new key signs and verifies */
    char sig[LC_SIGNATURE_SIZE];
    CHECK_INT(lc_signature_sign(k1, "HmacSHA256", BODY, strlen(BODY), sig, sizeof(sig)), 0);
    CHECK_INT(lc_signature_verify(k1, "HmacSHA256", BODY, strlen(BODY), sig, "HmacSHA256", err,
                                  sizeof(err)),
              0);
    CHECK_INT(lc_signature_verify(k2, "HmacSHA256", BODY, strlen(BODY), sig, "HmacSHA256", err,
                                  sizeof(err)),
              403);
    CHECK(lc_signature_new_key("HmacFoo", 0, err, sizeof(err)) == NULL);
    CHECK_STR(err, "HmacFoo KeyGenerator not available");
    CHECK(lc_signature_new_key("HmacSHA256", 32, err, sizeof(err)) == NULL);
    CHECK_STR(err, "HmacSHA256: Key length must be at least 40 bits");
    free(k1);
    free(k2);
    free(k3);
    free(k4);
}

int main(void)
{
    RUN(test_sign_known_vectors);
    RUN(test_sign_errors);
    RUN(test_verify_ok);
    RUN(test_verify_missing_is_400);
    RUN(test_verify_invalid_is_403);
    RUN(test_verify_algorithm);
    RUN(test_verify_no_session_key_is_503);
    RUN(test_new_key);
    return lc_test_summary(__FILE__);
}
