/* bridge: creates the lua_State each task runs in and binds the core into it.
 *
 * A state gets an allow-list of globals, `require` limited to the SDK directory and
 * plugin.path, the codec, and the C module "luaconnect.core" that lua/luaconnect.lua
 * builds the public SDK on. Errors leave Lua through lc_lua_pcall with a traceback.
 * A count hook stops a runaway script when its task is asked to stop.
 * Log lines go to the sink core installs with lc_lua_set_log (lua/ does not depend on core/).
 * Depends on LuaJIT and codec. */
#ifndef LC_BRIDGE_H
#define LC_BRIDGE_H

#include <stdatomic.h>
#include <stddef.h>
#include <lua.h>

/* Levels of luaconnect.core.log, numbered as core's lc_log_level_t (ERROR 0 .. TRACE 4). */
enum { LC_LUA_LOG_ERROR = 0, LC_LUA_LOG_WARN, LC_LUA_LOG_INFO, LC_LUA_LOG_DEBUG, LC_LUA_LOG_TRACE };
/** Writes one log line from a script: level as above, ctx ("connector|task-0") may be NULL. */
typedef void (*lc_lua_log_fn)(int level, const char *ctx, const char *msg);
/** The most verbose level any logger enables (log_enabled compares against it). */
typedef int (*lc_lua_log_level_fn)(void);
/** Installs the log sink of every state; call once at startup, before any state exists.
 * Until then (or with NULLs) lines up to INFO go to stderr as "[ctx] msg". */
void lc_lua_set_log(lc_lua_log_fn log, lc_lua_log_level_fn level);

/** Creates a state (allow-listed globals; not a sandbox: plugins are trusted code) whose
 * require() searches sdk_dir then each directory of plugin_path (comma-separated).
 * stop_flag (may be NULL) is polled by the count hook: when
 * it becomes non-zero a running script raises "task is stopping". NULL with errstr on failure. */
lua_State *lc_lua_new(const char *sdk_dir, const char *plugin_path, atomic_int *stop_flag,
                      char *errstr, size_t errstr_size);
/** Closes L; NULL is a no-op. */
void lc_lua_close(lua_State *L);
/** Like lua_pcall with a traceback handler: on error pops the message and copies
 * "message\nstack traceback:..." into errstr. Returns 0 or -1. */
int lc_lua_pcall(lua_State *L, int nargs, int nresults, char *errstr, size_t errstr_size);
/** Pushes the SDK module (require "luaconnect") and returns 0, or -1 with errstr. */
int lc_lua_sdk(lua_State *L, char *errstr, size_t errstr_size);
/** Calls SDK function `name` (a private _function of luaconnect.lua) with nargs arguments
 * already on the stack, keeping nresults. Returns 0 or -1 (errstr with traceback). */
int lc_lua_call_sdk(lua_State *L, const char *name, int nargs, int nresults, char *errstr,
                    size_t errstr_size);
/** The name of the SDK function (e.g. "_source_poll") this thread is inside, or NULL;
 * async-signal-safe. */
const char *lc_lua_current_call(void);

#endif
