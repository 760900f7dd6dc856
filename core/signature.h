/* signature: KIP-507 signing of internal requests between workers — HMAC of the request
 * body with the session key the leader keeps in the config topic, base64, in the
 * X-Connect-Authorization header; Kafka Connect's answers to an unsigned (400) and a badly
 * signed (403) request. Depends on OpenSSL (libcrypto). */
#ifndef LC_SIGNATURE_H
#define LC_SIGNATURE_H

#include <stddef.h>

/** A new session key: random bytes (size_bits/8; 0 = the algorithm's default, 256 bits for
 * HmacSHA256) base64-encoded (caller frees), or NULL with errstr for an unknown algorithm. */
char *lc_signature_new_key(const char *algorithm, int size_bits, char *errstr, size_t errstr_size);
/** base64(HMAC(key, body)) of the base64 key under algorithm (HmacSHA256, HmacSHA1,
 * HmacSHA512...) into out. 0 or -1. */
int lc_signature_sign(const char *key_b64, const char *algorithm, const void *body, size_t len,
                      char *out, size_t out_size);
/** Checks the X-Connect-Authorization and X-Connect-Request-Signature-Algorithm header values
 * (either may be NULL): 0 ok; 400 missing; 403 invalid or algorithm not allowed; errstr gets
 * Kafka Connect's message. */
int lc_signature_verify(const char *key_b64, const char *key_algorithm, const void *body,
                        size_t len, const char *signature, const char *algorithm, char *errstr,
                        size_t errstr_size);

#endif
