/* util: small helpers the core modules share (lists, error text, file hashes, mkdir -p, clocks).
 * Depends on libc. */
#ifndef LC_UTIL_H
#define LC_UTIL_H

#include <stddef.h>
#include <sys/types.h>

/** Splits a comma-separated list into trimmed, non-empty items; *n gets the count.
 * Free with lc_free_list. */
char **lc_split_list(const char *s, int *n);
/** 1 when the comma-separated list s holds item (items trimmed). */
int lc_list_contains(const char *s, const char *item);
/** Frees a list from lc_split_list; NULL is a no-op. */
void lc_free_list(char **list, int n);
/** Appends formatted text to buf (size bytes) at *len, never past the end. Returns 0, or -1
 * when buf was already full. */
int lc_appendf(char *buf, size_t size, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/** The FNV-1a 64-bit offset basis: the hash of nothing. */
#define LC_FNV1A_INIT 0xcbf29ce484222325ULL
/** FNV-1a 64-bit: h (LC_FNV1A_INIT to start) extended by n bytes at p. */
unsigned long long lc_fnv1a(unsigned long long h, const void *p, size_t n);
/** FNV-1a 64-bit hash of a file's content into *hash. 0, or -1 if it cannot be read. */
int lc_file_hash(const char *path, unsigned long long *hash);
/** mkdir -p dir, each directory made with mode. Returns 0, or -1 with errno. */
int lc_make_dirs(const char *dir, mode_t mode);
/** Milliseconds since the epoch. */
long long lc_wall_ms(void);
/** Milliseconds on a monotonic clock (for intervals and deadlines). */
long long lc_now_ms(void);

#endif
