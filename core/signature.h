/* signature: KIP-507 signing of worker-to-worker requests, as Kafka Connect does it.
 *
 * The leader puts a session key (random bytes, base64) on the config topic; a worker signs the
 * body of an internal request (POST /connectors/<c>/tasks) with HMAC under that key and sends
 * base64(HMAC) in X-Connect-Authorization and the Java algorithm name (HmacSHA256...) in
 * X-Connect-Request-Signature-Algorithm; the receiver checks both. Algorithm names are Java's
 * (javax.crypto.Mac, looked up case-insensitively as the JCE does), mapped to OpenSSL digests;
 * base64 is java.util.Base64's basic alphabet (padding optional when decoding).
 * Thread-safe. Depends on OpenSSL's libcrypto. */
#ifndef LC_SIGNATURE_H
#define LC_SIGNATURE_H

#include <stddef.h>

#define LC_SIGNATURE_HEADER "X-Connect-Authorization"
#define LC_SIGNATURE_ALGORITHM_HEADER "X-Connect-Request-Signature-Algorithm"
/** Room for any signature lc_signature_sign writes (base64 of a 64-byte MAC, NUL). */
#define LC_SIGNATURE_SIZE 96

/** A new session key: random bytes (size_bits/8; 0 = the algorithm's default, 256 bits for
 * HmacSHA256) base64-encoded (caller frees), or NULL with errstr for an unknown algorithm. */
char *lc_signature_new_key(const char *algorithm, int size_bits, char *errstr, size_t errstr_size);
/** base64(HMAC(key, body)) of the base64 key under algorithm (HmacSHA256, HmacSHA1,
 * HmacSHA512...) into out. 0 or -1. */
int lc_signature_sign(const char *key_b64, const char *algorithm, const void *body, size_t len,
                      char *out, size_t out_size);
/** Checks the X-Connect-Authorization and X-Connect-Request-Signature-Algorithm header values
 * (either may be NULL) against key_b64, allowing key_algorithm only; see
 * lc_signature_verify_allowed for the answers. */
int lc_signature_verify(const char *key_b64, const char *key_algorithm, const void *body,
                        size_t len, const char *signature, const char *algorithm, char *errstr,
                        size_t errstr_size);
/** The check Connect's DistributedHerder makes, in its order, with its messages in errstr:
 * 0 ok; 400 a header missing ("Internal request missing required signature"), an algorithm
 * the JCE would not know ("Algorithm X not available") or one not in allowed (a
 * NULL-terminated list, Connect's inter.worker.verification.algorithms; "This worker does not
 * support the 'X' key signing algorithm..."); 503 no session key yet (key_b64 NULL); 403 a
 * signature that does not match ("Internal request contained invalid signature."), which here
 * includes one that is not base64 (Connect answers 500 with the decoder's message). */
int lc_signature_verify_allowed(const char *key_b64, const char *const *allowed, const void *body,
                                size_t len, const char *signature, const char *algorithm,
                                char *errstr, size_t errstr_size);
/** 1 when algorithm is a Java Mac name this module can compute (case-insensitive), else 0. */
int lc_signature_algorithm_known(const char *algorithm);

#endif
