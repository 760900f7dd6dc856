/* props: Java .properties files (Kafka Connect's worker and connector configs).
 *
 * Follows java.util.Properties.load(): '#' and '!' comments, '=', ':' or whitespace
 * separators, backslash escapes (\t \n \r \f \uXXXX, others drop the backslash),
 * line continuation with a trailing odd backslash, leading whitespace ignored on
 * continuation lines. Stricter than Java where Java silently guesses: a malformed
 * \uXXXX escape and a key with no separator and no value ("bare key") are errors
 * reported as FILE:LINE: message. Keys keep file order; a repeated key replaces the
 * earlier value (Java semantics). Depends on nothing but libc. */
#ifndef LC_PROPS_H
#define LC_PROPS_H

#include <stddef.h>

typedef struct lc_props lc_props_t;

/** Creates an empty property list; lc_props_destroy() frees it. */
lc_props_t *lc_props_new(void);
/** Frees p; NULL is a no-op. */
void lc_props_destroy(lc_props_t *p);
/** Parses the file at path into p. Returns 0, or -1 with "PATH:LINE: message" in errstr. */
int lc_props_parse_file(lc_props_t *p, const char *path, char *errstr, size_t errstr_size);
/** For the command line: the .properties file at path, or NULL after printing
 * "luaconnect: <error>" (which names the file and line) to stderr. */
lc_props_t *lc_props_load_or_report(const char *path);
/** Parses text (len bytes); name is used in error messages as the file name. */
int lc_props_parse_string(lc_props_t *p, const char *name, const char *text, size_t len,
                          char *errstr, size_t errstr_size);
/** Returns the value of key or NULL; the pointer lives until p is changed or destroyed. */
const char *lc_props_get(const lc_props_t *p, const char *key);
/** Returns the value of key, or def when key is absent. */
const char *lc_props_get_or(const lc_props_t *p, const char *key, const char *def);
/** Sets key to value (both copied), replacing an existing value in place. Returns 0 or -1 (OOM). */
int lc_props_set(lc_props_t *p, const char *key, const char *value);
/** Removes key; returns 1 if it was present. */
int lc_props_unset(lc_props_t *p, const char *key);
/** Number of keys. */
size_t lc_props_count(const lc_props_t *p);
/** Key and value at position i (file order), 0 <= i < count. */
const char *lc_props_key(const lc_props_t *p, size_t i);
const char *lc_props_value(const lc_props_t *p, size_t i);
/** Line where key was defined (0 if set by code or absent). */
int lc_props_line(const lc_props_t *p, const char *key);
/** File name given to the parser ("" if none). */
const char *lc_props_source(const lc_props_t *p);
/** Returns a deep copy of p, or NULL (OOM). */
lc_props_t *lc_props_copy(const lc_props_t *p);

#endif
