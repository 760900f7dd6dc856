/* headers: Kafka message headers <-> the `headers` field of a Lua record.
 *
 * In Lua, headers are a list of {name, value} pairs in the table's array part, in Kafka's
 * order and with repeated names kept, whose metatable (made here, filled in by
 * lua/_headers.lua) gives map-style access: h.name reads the last value with that name,
 * h.name = v replaces them all. A value is a string, or connect.null for a null header.
 * Sink tasks push a consumed message's headers into its record table; source tasks turn a
 * record's `headers` back into librdkafka headers before producing. Both run once per
 * record inside a batch and never call into Lua. Depends on librdkafka, LuaJIT and codec. */
#ifndef LC_HEADERS_H
#define LC_HEADERS_H

#include "codec.h"

#include <librdkafka/rdkafka.h>
#include <lua.h>

/** Creates the headers metatable of state L, keeps it in the registry for lc_headers_push
 * and pushes it (the SDK gets it as luaconnect.core.headers_mt). */
void lc_headers_open(lua_State *L);
/** Pushes the Lua headers list of h (a consumed message's headers, not NULL). */
void lc_headers_push(lua_State *L, const rd_kafka_headers_t *h);
/** Builds the headers to produce from the Lua headers at idx (a table): its {name, value}
 * entries in order, then any name = value fields (a plain map from a source script). A
 * string value is sent as it is, connect.null as a null header, any other value as JSON
 * text. tmp is scratch. Caller owns (frees, or hands to producev) the result; NULL with
 * errstr naming the header when one cannot be sent. */
rd_kafka_headers_t *lc_headers_from_lua(lua_State *L, int idx, lc_buf_t *tmp, char *errstr,
                                        size_t errstr_size);

#endif
