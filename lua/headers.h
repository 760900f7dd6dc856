/* headers: Kafka message headers <-> the `headers` field of a Lua record.
 *
 * Sink tasks push a consumed message's headers into its record table; source tasks turn a
 * record's `headers` back into librdkafka headers before producing. Both run once per
 * record inside a batch, never calling into Lua. Depends on librdkafka, LuaJIT and codec. */
#ifndef LC_HEADERS_H
#define LC_HEADERS_H

#include "codec.h"

#include <librdkafka/rdkafka.h>
#include <lua.h>

/** Pushes the Lua headers value of h (a consumed message's headers, not NULL). */
void lc_headers_push(lua_State *L, const rd_kafka_headers_t *h);
/** Builds the headers to produce from the Lua headers value at idx (a table). tmp is scratch
 * for JSON-encoded values. Caller owns (and frees, or hands to producev) the result; NULL
 * with errstr when a name or value cannot be a header. */
rd_kafka_headers_t *lc_headers_from_lua(lua_State *L, int idx, lc_buf_t *tmp, char *errstr,
                                        size_t errstr_size);

#endif
