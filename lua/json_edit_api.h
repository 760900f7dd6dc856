/* json_edit_api: core.json_edit(ops, topic), a top-level edit of schemaless JSON object
 * values (codec.h's lc_json_edit) as a userdata, "luaconnect.json_edit": what the SDK makes of
 * a transform chain for one topic (lua/luaconnect.lua's _text_edit) and a sink's batch
 * applies to each message text (sink_api.c). The ops, in order:
 *   {"set_string", name, s}  name = the string s
 *   {"set_partition", name}, {"set_offset", name}, {"set_timestamp", name}
 *                            name = the record's partition, offset, timestamp (if any)
 *   {"drop", name}           the member name removed
 *   {"keep", {names...}}     every member not named removed
 *   {"move", {old, new, ...}} ReplaceField's renames: all olds taken out, then set as news
 * topic is the records' topic after the chain. Names and strings are copied into the userdata.
 * Methods: e:apply(text, partition, offset[, timestamp]) -> line (no newline) or nil when the
 * text is one the edit declines (the chain then runs in Lua); e:topic().
 * Depends on codec.h and LuaJIT. */
#ifndef LC_JSON_EDIT_API_H
#define LC_JSON_EDIT_API_H

#include <lua.h>

#include "codec.h"

/** Pushes core.json_edit, the constructor. */
void lc_json_edit_open(lua_State *L);

/** When the value at idx is a json_edit: the edit and its topic (valid while the value
 * lives), and 1; else 0. */
int lc_json_edit_get(lua_State *L, int idx, const lc_json_edit_t **e, const char **topic);

#endif
