/* bridge: see bridge.h. */
#include "bridge.h"
#include "codec.h"
#include "headers.h"
#include "json_edit_api.h"
#include "line_buffer.h"
#include "record_lines.h"

#include <dlfcn.h>
#include <errno.h>
#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#ifndef LC_VERSION
#error "LC_VERSION comes from the build (CMake target lclua)"
#endif

#define STOP_KEY "luaconnect.stop_flag"
#define SDK_KEY "luaconnect.sdk"

/* Globals a script may see; everything else (dofile, loadfile, module, ...) is removed
 * because scripts load other code only through require on plugin.path. */
static const char *const allowed_globals[] = {"_G",
                                              "_VERSION",
                                              "assert",
                                              "error",
                                              "getmetatable",
                                              "ipairs",
                                              "next",
                                              "pairs",
                                              "pcall",
                                              "print",
                                              "rawequal",
                                              "rawget",
                                              "rawset",
                                              "require",
                                              "select",
                                              "setmetatable",
                                              "tonumber",
                                              "tostring",
                                              "type",
                                              "unpack",
                                              "xpcall",
                                              "string",
                                              "table",
                                              "math",
                                              "os",
                                              "io",
                                              "coroutine",
                                              "bit",
                                              "jit",
                                              "package",
                                              "load",
                                              "loadstring",
                                              "collectgarbage",
                                              "debug",
                                              NULL};

/* The log sink core installs (lc_lua_set_log): lua/ cannot include core's log.h. */
static lc_lua_log_fn log_fn;
static lc_lua_log_level_fn log_level_fn;

/** Installs the sink of luaconnect.core.log and log_enabled (see bridge.h). */
void lc_lua_set_log(lc_lua_log_fn log, lc_lua_log_level_fn level)
{
    log_fn = log;
    log_level_fn = level;
}

static int core_log(lua_State *L)
{
    int level = (int)luaL_checkinteger(L, 1);
    const char *ctx = luaL_optstring(L, 2, NULL);
    const char *msg = luaL_checkstring(L, 3);
    if (log_fn)
        log_fn(level, ctx, msg);
    else if (level <= LC_LUA_LOG_INFO)
        fprintf(stderr, "%s%s%s%s\n", ctx ? "[" : "", ctx ? ctx : "", ctx ? "] " : "", msg);
    return 0;
}

static int core_log_enabled(lua_State *L)
{
    int level = log_level_fn ? log_level_fn() : LC_LUA_LOG_INFO;
    lua_pushboolean(L, luaL_checkinteger(L, 1) <= (lua_Integer)level);
    return 1;
}

/* json_encode's output buffer, an upvalue kept from call to call (a file sink encodes every
 * record: one malloc and free each before); freed by the GC with the state. */
static int json_buf_gc(lua_State *L)
{
    lc_buf_free(lua_touserdata(L, 1));
    return 0;
}

static int core_json_encode(lua_State *L)
{
    lc_buf_t *b = lua_touserdata(L, lua_upvalueindex(1));
    char err[512];
    luaL_checkany(L, 1);
    b->len = 0;
    if (lc_json_encode_sorted(L, 1, b, err, sizeof(err)) != 0) {
        lua_pushnil(L);
        lua_pushstring(L, err);
        return 2;
    }
    lua_pushlstring(L, b->data ? b->data : "", b->len);
    if (b->cap > 1 << 20) lc_buf_free(b); /* keep no large one */
    return 1;
}

/* Appends the line of the value at idx as FileStreamSink writes it: a string as it is, nil
 * and connect.null as null, a table or cdata as sorted JSON, a number or boolean as
 * tostring() gives it. 0, or -1 for anything else or a value JSON cannot hold (nothing
 * appended: the caller writes the batch the slow way, which raises the error). */
static int append_line(lua_State *L, int idx, lc_buf_t *b)
{
    char err[256];
    size_t n, start = b->len;
    const char *s;
    int rc;
    switch (lua_type(L, idx)) {
    case LUA_TSTRING:
    case LUA_TNUMBER:
        lua_pushvalue(L, idx); /* lua_tolstring converts a number in place: a copy */
        s = lua_tolstring(L, -1, &n);
        rc = lc_buf_append(b, s, n);
        lua_pop(L, 1);
        if (rc) return -1;
        break;
    case LUA_TNIL:
        if (lc_buf_append(b, "null", 4)) return -1;
        break;
    case LUA_TBOOLEAN:
        if (lua_toboolean(L, idx) ? lc_buf_append(b, "true", 4) : lc_buf_append(b, "false", 5))
            return -1;
        break;
    case LUA_TLIGHTUSERDATA:
        if (lua_touserdata(L, idx) || lc_buf_append(b, "null", 4)) return -1;
        break;
    case LUA_TTABLE:
    case 10: /* LuaJIT's cdata (LC_TCDATA) */
        if (lc_json_encode_sorted(L, idx, b, err, sizeof(err))) {
            b->len = start;
            return -1;
        }
        break;
    default:
        return -1;
    }
    return lc_buf_append(b, "\n", 1);
}

/* core.json_lines(records) -> the text FileStreamSink writes for a batch (each record's
 * value as append_line writes it, then a newline), or nil when a value needs the script's
 * own path. One Lua string a batch instead of one a record. A record whose value is not
 * decoded yet (sink_api.c's lazy records) gives the line kept for it (record_lines.h). */
static int core_json_lines(lua_State *L)
{
    lc_buf_t *b = lua_touserdata(L, lua_upvalueindex(1));
    luaL_checktype(L, 1, LUA_TTABLE);
    size_t n = lua_objlen(L, 1), len;
    const char *s;
    const lc_sink_build_t *lines;
    b->len = 0;
    lua_settop(L, 1);
    lua_pushliteral(L, "value");                                     /* 2 */
    lua_pushlstring(L, LC_RECORD_LINES, sizeof LC_RECORD_LINES - 1); /* 3 */
    lua_pushlstring(L, LC_RECORD_LINE, sizeof LC_RECORD_LINE - 1);   /* 4 */
    for (size_t i = 1; i <= n; i++) {
        lua_rawgeti(L, 1, (int)i); /* 5: the record */
        if (!lua_istable(L, 5)) return 0;
        lua_pushvalue(L, 2);
        lua_rawget(L, 5); /* 6: record.value */
        if (lua_isnil(L, 6)) {
            lua_pushvalue(L, 3);
            lua_rawget(L, 5); /* 7: the lines of a lazy record */
            lua_pushvalue(L, 4);
            lua_rawget(L, 5); /* 8: its place there */
            if (lua_type(L, 7) == LUA_TUSERDATA && lua_type(L, 8) == LUA_TNUMBER &&
                (lines = lua_touserdata(L, 7)) &&
                lc_record_line(lines, lua_tonumber(L, 8), &s, &len) == 0) {
                if (lc_buf_append(b, s, len)) return 0;
                lua_settop(L, 4);
                continue;
            }
            lua_settop(L, 5);
            lua_pushvalue(L, 2);
            lua_gettable(L, 5); /* 6: record.value, through a metatable */
        }
        if (append_line(L, 6, b)) return 0;
        lua_settop(L, 4);
    }
    lua_pushlstring(L, b->data ? b->data : "", b->len);
    if (b->cap > 1 << 20) lc_buf_free(b); /* keep no large one */
    return 1;
}

/* core.json_lines_of(lines, idx, n) -> the lines of records idx[0..n) (an int32_t cdata
 * array of places in lines, a sink build's userdata: record_lines.h) in one string: the
 * SDK's connect.json.lines when every record of the batch is lazy and unread. Raises when a
 * place is not one of lines' records. */
static int core_json_lines_of(lua_State *L)
{
    lc_buf_t *b = lua_touserdata(L, lua_upvalueindex(1));
    const lc_sink_build_t *lines = lua_touserdata(L, 1);
    const int32_t *idx = lua_topointer(L, 2);
    lua_Integer n = luaL_checkinteger(L, 3);
    const char *s;
    size_t len;
    luaL_argcheck(L, lines && lua_type(L, 1) == LUA_TUSERDATA, 1, "lines expected");
    luaL_argcheck(L, idx && lua_type(L, 2) == 10 /* cdata */, 2, "int32_t array expected");
    b->len = 0;
    /* The usual batch: its records' lines one after the other in lines' text, which then is
     * the result as it stands (no copy into b). */
    const char *first = NULL, *next = NULL;
    for (lua_Integer i = 0; i < n; i++) {
        if (lc_record_line(lines, idx[i], &s, &len))
            return luaL_error(L, "json_lines_of: %d is not a record of the batch", (int)idx[i]);
        if (i == 0)
            first = s;
        else if (s != next)
            break;
        next = s + len;
        if (i == n - 1) {
            lua_pushlstring(L, first, (size_t)(next - first));
            return 1;
        }
    }
    for (lua_Integer i = 0; i < n; i++) {
        if (lc_record_line(lines, idx[i], &s, &len))
            return luaL_error(L, "json_lines_of: %d is not a record of the batch", (int)idx[i]);
        if (lc_buf_append(b, s, len)) return luaL_error(L, "not enough memory");
    }
    lua_pushlstring(L, b->data ? b->data : "", b->len);
    if (b->cap > 1 << 20) lc_buf_free(b); /* keep no large one */
    return 1;
}

/* Pushes a new output buffer (freed with the state) for a json_* closure. */
static void push_json_buf(lua_State *L)
{
    lc_buf_t *b = lua_newuserdata(L, sizeof(*b));
    memset(b, 0, sizeof(*b));
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, json_buf_gc);
    lua_setfield(L, -2, "__gc");
    lua_setmetatable(L, -2);
}

/* Sets core.json_encode, core.json_lines and core.json_lines_of, with their buffers, in the
 * table on top. */
static void open_json_encode(lua_State *L)
{
    push_json_buf(L);
    lua_pushcclosure(L, core_json_encode, 1);
    lua_setfield(L, -2, "json_encode");
    push_json_buf(L);
    lua_pushvalue(L, -1);
    lua_pushcclosure(L, core_json_lines, 1);
    lua_setfield(L, -3, "json_lines");
    lua_pushcclosure(L, core_json_lines_of, 1); /* one buffer: neither calls the other */
    lua_setfield(L, -2, "json_lines_of");
}

static int core_json_decode(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    char err[512];
    if (lc_json_decode(L, s, len, err, sizeof(err)) != 0) {
        lua_pushnil(L);
        lua_pushstring(L, err);
        return 2;
    }
    return 1;
}

/* stat(path) -> {size=, ino=, dev=, mtime=} or nil, message: lets file connectors notice
 * truncation and rotation (tail -F) without FFI struct layouts. */
static int core_stat(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    struct stat st;
    if (stat(path, &st) != 0) {
        lua_pushnil(L);
        lua_pushfstring(L, "%s: %s", path, strerror(errno));
        return 2;
    }
    lua_createtable(L, 0, 4);
    lua_pushnumber(L, (lua_Number)st.st_size);
    lua_setfield(L, -2, "size");
    lua_pushnumber(L, (lua_Number)st.st_ino);
    lua_setfield(L, -2, "ino");
    lua_pushnumber(L, (lua_Number)st.st_dev);
    lua_setfield(L, -2, "dev");
    lua_pushnumber(L, (lua_Number)st.st_mtime);
    lua_setfield(L, -2, "mtime");
    return 1;
}

/* fsync(file) -> true or nil, message: flush() of a sink must make data durable before
 * offsets are committed, which io's flush alone does not. */
static int core_fsync(lua_State *L)
{
    FILE **fp = (FILE **)luaL_checkudata(L, 1, "FILE*");
    if (!*fp) return luaL_argerror(L, 1, "file is closed");
    if (fflush(*fp) != 0 || fsync(fileno(*fp)) != 0) {
        lua_pushnil(L);
        lua_pushstring(L, strerror(errno));
        return 2;
    }
    lua_pushboolean(L, 1);
    return 1;
}

/* lock(file, "ex"|"un") -> true or nil, message: an advisory lock (flock) on the whole file, so
 * several sink tasks (and workers) appending to one file never interleave inside a line and
 * the repair of a half-written last line after a kill -9 cannot cut another writer's lines. */
static int core_lock(lua_State *L)
{
    FILE **fp = (FILE **)luaL_checkudata(L, 1, "FILE*");
    const char *mode = luaL_checkstring(L, 2);
    int op;
    if (!*fp) return luaL_argerror(L, 1, "file is closed");
    if (strcmp(mode, "ex") == 0)
        op = LOCK_EX;
    else if (strcmp(mode, "un") == 0)
        op = LOCK_UN;
    else
        return luaL_argerror(L, 2, "expected \"ex\" or \"un\"");
    while (flock(fileno(*fp), op) != 0) {
        if (errno == EINTR) continue;
        lua_pushnil(L);
        lua_pushstring(L, strerror(errno));
        return 2;
    }
    lua_pushboolean(L, 1);
    return 1;
}

static int core_now_ms(lua_State *L)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    lua_pushnumber(L, (lua_Number)tv.tv_sec * 1000 + tv.tv_usec / 1000);
    return 1;
}

static int core_sleep_ms(lua_State *L)
{
    lua_Number ms = luaL_checknumber(L, 1);
    if (ms > 0) {
        struct timespec ts = {(time_t)(ms / 1000), (long)((long long)ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    return 0;
}

/* loadfile(path) -> chunk or nil, "path:line: message": the only way scripts are loaded,
 * so every load error names its file and line. */
static int core_loadfile(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    if (luaL_loadfile(L, path) != 0) {
        /* Lua shortens long chunk names to "...tail"; give the user the whole path. */
        const char *msg = lua_tostring(L, -1);
        size_t plen = strlen(path);
        if (msg && strncmp(msg, "...", 3) == 0) {
            const char *colon = strchr(msg + 3, ':');
            size_t tail = colon ? (size_t)(colon - (msg + 3)) : 0;
            if (colon && tail <= plen && strncmp(path + plen - tail, msg + 3, tail) == 0) {
                lua_pushfstring(L, "%s%s", path, colon);
                lua_remove(L, -2);
            }
        }
        lua_pushnil(L);
        lua_insert(L, -2);
        return 2;
    }
    return 1;
}

/* converter(class, schemas_enable) -> a converter object with :decode(bytes) and
 * :encode(value, schema), so Lua tools (luaconnect test) convert exactly as tasks do. */
static int conv_decode(lua_State *L)
{
    lc_converter_t *c = luaL_checkudata(L, 1, "luaconnect.converter");
    size_t len = 0;
    const char *data = lua_isnil(L, 2) ? NULL : luaL_checklstring(L, 2, &len);
    char err[1024];
    lua_pushboolean(L, 1);
    if (lc_conv_to_lua(c, L, data, len, err, sizeof(err)) != 0) {
        lua_pop(L, 1);
        lua_pushboolean(L, 0);
        lua_pushstring(L, err);
        return 2;
    }
    return 3;
}

static int conv_encode(lua_State *L)
{
    lc_converter_t *c = luaL_checkudata(L, 1, "luaconnect.converter");
    lc_buf_t b = {0};
    int is_null = 0;
    char err[1024];
    lua_settop(L, 3);
    if (lc_conv_from_lua(c, L, 2, lua_isnil(L, 3) ? 0 : 3, &b, &is_null, err, sizeof(err)) != 0) {
        lc_buf_free(&b);
        lua_pushboolean(L, 0);
        lua_pushstring(L, err);
        return 2;
    }
    lua_pushboolean(L, 1);
    if (is_null)
        lua_pushnil(L);
    else
        lua_pushlstring(L, b.data ? b.data : "", b.len);
    lc_buf_free(&b);
    return 2;
}

static int core_converter(lua_State *L)
{
    const char *cls = luaL_checkstring(L, 1);
    const char *schemas = luaL_optstring(L, 2, NULL);
    char err[1024];
    lc_converter_t *c = lua_newuserdata(L, sizeof(*c));
    if (lc_converter_init(c, cls, schemas, err, sizeof(err)) != 0) return luaL_error(L, "%s", err);
    if (luaL_newmetatable(L, "luaconnect.converter")) {
        lua_newtable(L);
        lua_pushcfunction(L, conv_decode);
        lua_setfield(L, -2, "decode");
        lua_pushcfunction(L, conv_encode);
        lua_setfield(L, -2, "encode");
        lua_setfield(L, -2, "__index");
    }
    lua_setmetatable(L, -2);
    return 1;
}

/* core.freeze_schema(t) -> t, marked frozen (lc_codec_freeze). */
static int core_freeze_schema(lua_State *L)
{
    lc_codec_freeze(L, 1);
    lua_settop(L, 1);
    return 1;
}

/* core.cut_lines(s, init, max) -> n, stop: the complete lines of s from byte init on
 * (1-based), at most max of them; stop is the index of the n-th one's '\n' (init - 1 when n
 * is 0). A line source cuts its batch with it (memchr, not a string.find a line). */
static int core_cut_lines(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    lua_Integer init = luaL_checkinteger(L, 2), max = luaL_checkinteger(L, 3), n = 0;
    size_t pos = init > 1 ? (size_t)(init - 1) : 0;
    if (pos > len) pos = len;
    size_t stop = pos;
    while (n < max && pos < len) {
        const char *nl = memchr(s + pos, '\n', len - pos);
        if (!nl) break;
        pos = stop = (size_t)(nl - s) + 1;
        n++;
    }
    lua_pushinteger(L, n);
    lua_pushinteger(L, (lua_Integer)stop);
    return 2;
}

static int core_stopping(lua_State *L)
{
    lua_getfield(L, LUA_REGISTRYINDEX, STOP_KEY);
    atomic_int *flag = (atomic_int *)lua_touserdata(L, -1);
    lua_pushboolean(L, flag && *flag);
    return 1;
}

static int open_core(lua_State *L)
{
    static const luaL_Reg fns[] = {{"log", core_log},
                                   {"log_enabled", core_log_enabled},
                                   {"json_decode", core_json_decode},
                                   {"stat", core_stat},
                                   {"fsync", core_fsync},
                                   {"lock", core_lock},
                                   {"now_ms", core_now_ms},
                                   {"sleep_ms", core_sleep_ms},
                                   {"loadfile", core_loadfile},
                                   {"stopping", core_stopping},
                                   {"cut_lines", core_cut_lines},
                                   {"converter", core_converter},
                                   {"freeze_schema", core_freeze_schema},
                                   {NULL, NULL}};
    lua_newtable(L);
    luaL_register(L, NULL, fns);
    open_json_encode(L);
    lua_pushlightuserdata(L, NULL);
    lua_setfield(L, -2, "null");
    luaL_newmetatable(L, "luaconnect.array");
    lua_setfield(L, -2, "array_mt");
    lc_line_buffer_open(L);
    lua_setfield(L, -2, "line_buffer");
    lc_json_edit_open(L);
    lua_setfield(L, -2, "json_edit");
    lc_headers_open(L);
    lua_setfield(L, -2, "headers_mt");
    lua_pushstring(L, LC_VERSION);
    lua_setfield(L, -2, "version");
    return 1;
}

static void stop_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    lua_getfield(L, LUA_REGISTRYINDEX, STOP_KEY);
    atomic_int *flag = (atomic_int *)lua_touserdata(L, -1);
    lua_pop(L, 1);
    if (flag && *flag) luaL_error(L, "task is stopping: script interrupted");
}

static int traceback(lua_State *L)
{
    const char *msg = lua_tostring(L, 1);
    if (!msg) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) return 1;
        msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    /* Use debug.traceback from the registry copy; the global is not in the allow-list. */
    lua_getfield(L, LUA_REGISTRYINDEX, "luaconnect.traceback");
    lua_pushstring(L, msg);
    lua_pushinteger(L, 2);
    lua_call(L, 2, 1);
    return 1;
}

int lc_lua_pcall(lua_State *L, int nargs, int nresults, char *errstr, size_t errstr_size)
{
    int base = lua_gettop(L) - nargs;
    lua_pushcfunction(L, traceback);
    lua_insert(L, base);
    int rc = lua_pcall(L, nargs, nresults, base);
    lua_remove(L, base);
    if (rc != 0) {
        const char *m = lua_tostring(L, -1);
        snprintf(errstr, errstr_size, "%s", m ? m : "(no message)");
        lua_pop(L, 1);
        return -1;
    }
    return 0;
}

int lc_lua_sdk(lua_State *L, char *errstr, size_t errstr_size)
{
    lua_getfield(L, LUA_REGISTRYINDEX, SDK_KEY);
    if (!lua_isnil(L, -1)) return 0;
    lua_pop(L, 1);
    lua_getglobal(L, "require");
    lua_pushstring(L, "luaconnect");
    if (lc_lua_pcall(L, 1, 1, errstr, errstr_size) != 0) return -1;
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, SDK_KEY);
    return 0;
}

/* The SDK function this thread is running (read by a signal handler: a plain pointer in
 * initial-exec TLS, written before and after the call). */
static __thread const char *volatile current_call;

int lc_lua_call_sdk(lua_State *L, const char *name, int nargs, int nresults, char *errstr,
                    size_t errstr_size)
{
    if (lc_lua_sdk(L, errstr, errstr_size) != 0) {
        lua_pop(L, nargs);
        return -1;
    }
    lua_getfield(L, -1, name);
    lua_remove(L, -2);
    if (!lua_isfunction(L, -1)) {
        snprintf(errstr, errstr_size, "luaconnect SDK has no function '%s'", name);
        lua_pop(L, nargs + 1);
        return -1;
    }
    lua_insert(L, -(nargs + 1));
    const char *outer = current_call;
    current_call = name;
    int rc = lc_lua_pcall(L, nargs, nresults, errstr, errstr_size);
    current_call = outer;
    return rc;
}

const char *lc_lua_current_call(void)
{
    return current_call;
}

/* package.path from the SDK dir and plugin.path: "dir/?.lua;dir/?/init.lua;..."
 * Built in a growing buffer: a fixed-size estimate overflowed with many short entries. */
static char *build_package_path(const char *sdk_dir, const char *plugin_path)
{
    lc_buf_t b = {0};
    int ok =
        lc_buf_append(&b, sdk_dir, strlen(sdk_dir)) == 0 && lc_buf_append(&b, "/?.lua", 6) == 0;
    const char *p = plugin_path;
    while (ok && p && *p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        while (len && (*p == ' ' || *p == '\t'))
            p++, len--;
        while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if (len)
            ok = lc_buf_append(&b, ";", 1) == 0 && lc_buf_append(&b, p, len) == 0 &&
                 lc_buf_append(&b, "/?.lua;", 7) == 0 && lc_buf_append(&b, p, len) == 0 &&
                 lc_buf_append(&b, "/?/init.lua", 11) == 0;
        p = comma ? comma + 1 : NULL;
    }
    if (ok && lc_buf_append(&b, "", 1) == 0) return b.data; /* caller frees */
    lc_buf_free(&b);
    return NULL;
}

/* ffi.load, with the library pinned first: dlopen'ed with RTLD_NODELETE under the name
 * LuaJIT's ffi.load gives it ("pq" -> "libpq.so", as its clib_extname), so that closing a task's
 * Lua state (which dlcloses what its ffi.load opened) never unloads it. Unloading gained
 * nothing (the next task loads it again) and lost what the library and the ones it pulls in
 * (libpq: Kerberos, LDAP) allocated at load time, which the sanitizer build reports as leaks.
 * Upvalue 1: LuaJIT's ffi.load. */
static int pinned_ffi_load(lua_State *L)
{
    int nargs = lua_gettop(L) > 2 ? 2 : lua_gettop(L); /* (name[, global]) */
    const char *name = luaL_checkstring(L, 1);
    if (!strchr(name, '/')) {
        if (!strchr(name, '.')) name = lua_pushfstring(L, "%s.so", name);
        if (strncmp(name, "lib", 3) != 0) name = lua_pushfstring(L, "lib%s", name);
    }
    void *h = dlopen(name, RTLD_LAZY | RTLD_NODELETE);
    if (h) dlclose(h); /* stays loaded: RTLD_NODELETE */
    lua_settop(L, nargs);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, nargs, 1);
    return 1;
}

lua_State *lc_lua_new(const char *sdk_dir, const char *plugin_path, atomic_int *stop_flag,
                      char *errstr, size_t errstr_size)
{
    lua_State *L = luaL_newstate();
    char *ppath = NULL;
    if (!L) {
        snprintf(errstr, errstr_size, "cannot create a Lua state (out of memory)");
        return NULL;
    }
    luaL_openlibs(L);
    lua_getglobal(L, "require");
    lua_pushliteral(L, "ffi");
    if (lua_pcall(L, 1, 1, 0) == 0 && lua_istable(L, -1)) {
        lua_getfield(L, -1, "load");
        lua_pushcclosure(L, pinned_ffi_load, 1);
        lua_setfield(L, -2, "load");
    }
    lua_pop(L, 1);
    lua_getglobal(L, "debug");
    lua_getfield(L, -1, "traceback");
    lua_setfield(L, LUA_REGISTRYINDEX, "luaconnect.traceback");
    lua_pop(L, 1);

    /* A tidy namespace, not a sandbox (plugins are trusted code, docs/lua-sdk.md): keep
     * only the allow-listed globals so scripts do not lean on the rest by accident. */
    lua_newtable(L);
    for (int i = 0; allowed_globals[i]; i++) {
        lua_getglobal(L, allowed_globals[i]);
        lua_setfield(L, -2, allowed_globals[i]);
    }
    lua_pushnil(L);
    while (lua_next(L, LUA_GLOBALSINDEX) != 0) {
        lua_pop(L, 1);
        lua_pushvalue(L, -1);
        lua_rawget(L, -3);
        int keep = !lua_isnil(L, -1);
        lua_pop(L, 1);
        if (!keep) {
            lua_pushvalue(L, -1);
            lua_pushnil(L);
            lua_rawset(L, LUA_GLOBALSINDEX);
        }
    }
    lua_pop(L, 1);

    ppath = build_package_path(sdk_dir, plugin_path);
    if (!ppath) {
        snprintf(errstr, errstr_size, "out of memory");
        goto err;
    }
    lua_getglobal(L, "package");
    lua_pushstring(L, ppath);
    lua_setfield(L, -2, "path");
    lua_pushstring(L, ""); /* no native modules: plugins are Lua (and FFI) only */
    lua_setfield(L, -2, "cpath");
    lua_getfield(L, -1, "preload");
    lua_pushcfunction(L, open_core);
    lua_setfield(L, -2, "luaconnect.core");
    lua_pop(L, 2);
    free(ppath);
    ppath = NULL;

    if (lc_codec_init(L, errstr, errstr_size) != 0) goto err;
    lua_pushlightuserdata(L, (void *)stop_flag);
    lua_setfield(L, LUA_REGISTRYINDEX, STOP_KEY);
    if (stop_flag) lua_sethook(L, stop_hook, LUA_MASKCOUNT, 100000);
    return L;
err:
    free(ppath);
    lua_close(L);
    return NULL;
}

void lc_lua_close(lua_State *L)
{
    if (L) lua_close(L);
}
