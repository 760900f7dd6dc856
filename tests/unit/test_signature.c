/* KIP-507 request signing (core/signature.h): known HMAC vectors, Kafka Connect's answers to
 * an unsigned (400), badly signed (403) and unknown-algorithm (400) internal request. */
#include "lc_test.h"
#include "signature.h"

#include <stdlib.h>

/* The 32 bytes 0x00..0x1f, base64: a session key as the `session-key` record carries it. */
static const char *KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
/* A task-configs body as POST /connectors/<c>/tasks sends it. */
static const char *BODY =
    "[{\"connector.class\":\"FileStreamSource\",\"name\":\"c\",\"task.class\":\"x\"}]";
/* The expected signatures were computed independently with Python's hmac module:
 *   key = bytes(range(32)); body = BODY.encode()
 *   base64.b64encode(hmac.new(key, body, hashlib.sha256).digest())   -> SIG256
 *   base64.b64encode(hmac.new(key, body, hashlib.sha512).digest())   -> SIG512
 *   base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest())    -> SIG256_EMPTY */
static const char *SIG256 = "fFJ9WzsfI1Opo0oDUJI01ng/e6/JmPZ+6TFTstTWf5w=";
static const char *SIG512 = "LcrMpCHfh7H7h6QVTwPBIge4zfgH5Uy6om+2lTD8CfvotYruPe6QpW88TgttECJXP"
                            "VDxKMd2gOGA2TNTITnf5g==";
static const char *SIG256_EMPTY = "04tCCW2A9F+Ca0Sp1WB95ySWpBXT9KGoyI47udqNwcs=";

TEST(sign_matches_pythons_hmac_sha256)
{
    char out[256];
    CHECK_INT(lc_signature_sign(KEY, "HmacSHA256", BODY, strlen(BODY), out, sizeof(out)), 0);
    CHECK_STR(out, SIG256);
    CHECK_INT(lc_signature_sign(KEY, "HmacSHA256", "", 0, out, sizeof(out)), 0);
    CHECK_STR(out, SIG256_EMPTY);
}

TEST(sign_matches_pythons_hmac_sha512)
{
    char out[256];
    CHECK_INT(lc_signature_sign(KEY, "HmacSHA512", BODY, strlen(BODY), out, sizeof(out)), 0);
    CHECK_STR(out, SIG512);
}

TEST(sign_refuses_unknown_algorithm_and_short_buffer)
{
    char out[256];
    CHECK_INT(lc_signature_sign(KEY, "HmacFoo", BODY, strlen(BODY), out, sizeof(out)), -1);
    char tiny[8];
    CHECK_INT(lc_signature_sign(KEY, "HmacSHA256", BODY, strlen(BODY), tiny, sizeof(tiny)), -1);
}

TEST(verify_accepts_the_right_signature)
{
    char err[1024] = "";
    CHECK_INT(lc_signature_verify(KEY, "HmacSHA256", BODY, strlen(BODY), SIG256, "HmacSHA256", err,
                                  sizeof(err)),
              0);
}

TEST(verify_unsigned_is_400_with_connects_message)
{
    char err[1024] = "";
    CHECK_INT(
        lc_signature_verify(KEY, "HmacSHA256", BODY, strlen(BODY), NULL, NULL, err, sizeof(err)),
        400);
    CHECK_STR(err, "Internal request missing required signature");
    /* a signature without its algorithm header is as good as none (Connect's fromHeaders) */
    err[0] = 0;
    CHECK_INT(
        lc_signature_verify(KEY, "HmacSHA256", BODY, strlen(BODY), SIG256, NULL, err, sizeof(err)),
        400);
    CHECK_STR(err, "Internal request missing required signature");
    err[0] = 0;
    CHECK_INT(lc_signature_verify(KEY, "HmacSHA256", BODY, strlen(BODY), NULL, "HmacSHA256", err,
                                  sizeof(err)),
              400);
    CHECK_STR(err, "Internal request missing required signature");
}

TEST(verify_bad_signature_is_403_with_connects_message)
{
    char err[1024] = "";
    /* another key's signature */
    CHECK_INT(lc_signature_verify("AQECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", "HmacSHA256",
                                  BODY, strlen(BODY), SIG256, "HmacSHA256", err, sizeof(err)),
              403);
    CHECK_STR(err, "Internal request contained invalid signature.");
    /* the body changed by one byte */
    err[0] = 0;
    CHECK_INT(lc_signature_verify(KEY, "HmacSHA256", BODY, strlen(BODY) - 1, SIG256, "HmacSHA256",
                                  err, sizeof(err)),
              403);
    CHECK_STR(err, "Internal request contained invalid signature.");
    /* garbage, a prefix of the right one, the SHA-512 signature under SHA-256 */
    const char *bad[] = {"not-base64", "fFJ9WzsfI1Opo0oDUJI01ng", "", NULL};
    for (int i = 0; bad[i]; i++) {
        err[0] = 0;
        CHECK_INT(lc_signature_verify(KEY, "HmacSHA256", BODY, strlen(BODY), bad[i], "HmacSHA256",
                                      err, sizeof(err)),
                  403);
        CHECK_STR(err, "Internal request contained invalid signature.");
    }
    err[0] = 0;
    CHECK_INT(lc_signature_verify(KEY, "HmacSHA256", BODY, strlen(BODY), SIG512, "HmacSHA256", err,
                                  sizeof(err)),
              403);
}

TEST(verify_unknown_algorithm_is_400_with_connects_message)
{
    char err[1024] = "";
    CHECK_INT(lc_signature_verify(KEY, "HmacSHA256", BODY, strlen(BODY), SIG256, "HmacFoo", err,
                                  sizeof(err)),
              400);
    /* DistributedHerder.putTaskConfigs (Kafka Connect 4.x) */
    CHECK_STR(err, "This worker does not support the 'HmacFoo' key signing algorithm used by other "
                   "workers. This worker is currently configured to use: [HmacSHA256]. Check "
                   "that all workers' configuration files permit the same set of signature "
                   "algorithms, and correct any misconfigured worker and restart it.");
}

TEST(new_key_is_base64_of_the_default_size)
{
    char err[256] = "";
    char *k = lc_signature_new_key("HmacSHA256", 0, err, sizeof(err));
    CHECK(k != NULL);
    CHECK_INT(k ? strlen(k) : 0, 44); /* 32 bytes */
    char *k2 = lc_signature_new_key("HmacSHA256", 0, err, sizeof(err));
    CHECK(k && k2 && strcmp(k, k2) != 0); /* random */
    /* a fresh key signs and verifies */
    char sig[256];
    CHECK_INT(lc_signature_sign(k, "HmacSHA256", BODY, strlen(BODY), sig, sizeof(sig)), 0);
    CHECK_INT(lc_signature_verify(k, "HmacSHA256", BODY, strlen(BODY), sig, "HmacSHA256", err,
                                  sizeof(err)),
              0);
    CHECK_INT(lc_signature_verify(k2, "HmacSHA256", BODY, strlen(BODY), sig, "HmacSHA256", err,
                                  sizeof(err)),
              403);
    free(k);
    free(k2);
    char *k128 = lc_signature_new_key("HmacSHA256", 128, err, sizeof(err));
    CHECK_INT(k128 ? strlen(k128) : 0, 24); /* 16 bytes */
    free(k128);
}

TEST(new_key_unknown_algorithm_is_an_error)
{
    char err[256] = "";
    CHECK(lc_signature_new_key("HmacFoo", 0, err, sizeof(err)) == NULL);
    CHECK_STR(err, "unknown key generation algorithm 'HmacFoo'");
}

int main(void)
{
    RUN(sign_matches_pythons_hmac_sha256);
    RUN(sign_matches_pythons_hmac_sha512);
    RUN(sign_refuses_unknown_algorithm_and_short_buffer);
    RUN(verify_accepts_the_right_signature);
    RUN(verify_unsigned_is_400_with_connects_message);
    RUN(verify_bad_signature_is_403_with_connects_message);
    RUN(verify_unknown_algorithm_is_400_with_connects_message);
    RUN(new_key_is_base64_of_the_default_size);
    RUN(new_key_unknown_algorithm_is_an_error);
    return lc_test_summary(__FILE__);
}
