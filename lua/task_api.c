/* task_api: see task_api.h. */
#include "task_api.h"
#include "bridge.h"
#include "codec.h"

#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

#define TASK_KEY "luaconnect.task"

/* The userdata behind task.offsets: the core's lookup and the connector name its keys use. */
typedef struct offsets_ud {
    lc_offsets_get_fn get;
    void *opaque;
    char name[]; /* the connector name */
} offsets_ud_t;

/* Offset key in Kafka Connect's format: ["<connector>",{partition}] */
static int offset_key(lua_State *L, const char *name, int part_idx, lc_buf_t *key, char *err,
                      size_t errsz)
{
    lua_pushstring(L, name);
    int rc = lc_json_encode_sorted(L, -1, key, err, errsz);
    lua_pop(L, 1);
    if (rc != 0) return -1;
    lc_buf_t part = {0};
    if (lc_json_encode_sorted(L, part_idx, &part, err, errsz) != 0) {
        lc_buf_free(&part);
        return -1;
    }
    lc_buf_t out = {0};
    rc = lc_buf_append(&out, "[", 1) || lc_buf_append(&out, key->data, key->len) ||
         lc_buf_append(&out, ",", 1) || lc_buf_append(&out, part.data, part.len) ||
         lc_buf_append(&out, "]", 2);
    lc_buf_free(&part);
    lc_buf_free(key);
    *key = out;
    return rc ? -1 : 0;
}

/* task.offsets:get(partition) -> the committed offset table, or nil. */
static int offsets_get(lua_State *L)
{
    offsets_ud_t *ud = luaL_checkudata(L, 1, "luaconnect.offsets");
    luaL_checktype(L, 2, LUA_TTABLE);
    char err[512];
    lc_buf_t key = {0};
    if (offset_key(L, ud->name, 2, &key, err, sizeof(err)) != 0) {
        lc_buf_free(&key);
        return luaL_error(L, "task.offsets:get: %s", err);
    }
    char *value = ud->get(ud->opaque, key.data);
    lc_buf_free(&key);
    if (!value) {
        lua_pushnil(L);
        return 1;
    }
    int rc = lc_json_decode(L, value, strlen(value), err, sizeof(err));
    free(value);
    if (rc != 0) return luaL_error(L, "task.offsets:get: stored offset is not JSON: %s", err);
    return 1;
}

/* Pushes the task.offsets object. */
static void push_offsets(lua_State *L, const lc_task_api_in_t *in)
{
    size_t nl = strlen(in->name) + 1;
    offsets_ud_t *ud = lua_newuserdata(L, sizeof(*ud) + nl);
    ud->get = in->offsets_get;
    ud->opaque = in->offsets_opaque;
    memcpy(ud->name, in->name, nl);
    if (luaL_newmetatable(L, "luaconnect.offsets")) {
        lua_newtable(L);
        lua_pushcfunction(L, offsets_get);
        lua_setfield(L, -2, "get");
        lua_setfield(L, -2, "__index");
    }
    lua_setmetatable(L, -2);
}

lua_State *lc_task_api_open(const lc_task_api_in_t *in, char *errstr, size_t errstr_size)
{
    lua_State *L = lc_lua_new(in->sdk_dir, in->plugin_path, in->stop_flag, errstr, errstr_size);
    if (!L) return NULL;
    lua_pushstring(L, in->script_path);
    if (lc_json_decode(L, in->config_json, strlen(in->config_json), errstr, errstr_size) != 0)
        goto err;
    lua_pushinteger(L, in->id);
    lua_pushstring(L, in->name);
    push_offsets(L, in);
    lc_chain_api_push(L, in->chain, in->chain_len);
    lua_createtable(L, 0, 3);
    lua_pushboolean(L, in->tolerant);
    lua_setfield(L, -2, "tolerant");
    lua_pushnumber(L, (lua_Number)in->retry_timeout_ms);
    lua_setfield(L, -2, "retry_timeout");
    lua_pushnumber(L, (lua_Number)in->retry_delay_max_ms);
    lua_setfield(L, -2, "retry_delay_max");
    if (lc_lua_call_sdk(L, "_task_open", 7, 1, errstr, errstr_size) != 0) goto err;
    lua_setfield(L, LUA_REGISTRYINDEX, TASK_KEY);
    return L;
err:
    lc_lua_close(L);
    return NULL;
}

void lc_task_api_push(lua_State *L)
{
    lua_getfield(L, LUA_REGISTRYINDEX, TASK_KEY);
}

int lc_task_api_rechain(lua_State *L, const lc_chain_step_t *steps, int n, char *errstr,
                        size_t errstr_size)
{
    lc_task_api_push(L);
    lc_chain_api_push(L, steps, n);
    return lc_lua_call_sdk(L, "_rechain", 2, 0, errstr, errstr_size);
}

int lc_task_api_close(lua_State *L, char *errstr, size_t errstr_size)
{
    /* close() must run even when the stop flag interrupted the script. */
    lua_sethook(L, NULL, 0, 0);
    lc_task_api_push(L);
    return lc_lua_call_sdk(L, "_task_close", 1, 0, errstr, errstr_size);
}

void lc_task_api_free(lua_State *L)
{
    lc_lua_close(L);
}

void lc_task_api_chain_dropped(lua_State *L,
                               void (*fn)(void *opaque, const char *alias, double dropped,
                                          double timed, double timed_ns),
                               void *opaque)
{
    int top = lua_gettop(L);
    lc_task_api_push(L);
    lua_getfield(L, -1, "_chain");
    if (lua_istable(L, -1)) {
        for (int i = 1;; i++) {
            lua_rawgeti(L, -1, i);
            if (!lua_istable(L, -1)) break;
            lua_getfield(L, -1, "alias");
            lua_getfield(L, -2, "dropped");
            lua_getfield(L, -3, "timed");
            lua_getfield(L, -4, "timed_ns");
            const char *alias = lua_tostring(L, -4);
            if (alias)
                fn(opaque, alias, lua_tonumber(L, -3), lua_tonumber(L, -2), lua_tonumber(L, -1));
            lua_pop(L, 5);
        }
    }
    lua_settop(L, top);
}

size_t lc_task_api_memory(lua_State *L)
{
    return (size_t)lua_gc(L, LUA_GCCOUNT, 0) * 1024 + (size_t)lua_gc(L, LUA_GCCOUNTB, 0);
}

const void *lc_task_api_vm_address(void)
{
    return (const void *)lua_pcall;
}
