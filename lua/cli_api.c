/* cli_api: see cli_api.h. */
#include "cli_api.h"
#include "bridge.h"
#include "codec.h"

#include <lauxlib.h>
#include <luajit.h>
#include <stdio.h>
#include <stdlib.h>

const char *lc_cli_api_luajit_version(void)
{
    return LUAJIT_VERSION;
}

int lc_cli_api_run_file(const char *sdk_dir, const char *plugin_path, int argc, char **argv,
                        int *status, char *errstr, size_t errstr_size)
{
    int rc = -1;
    lua_State *L = lc_lua_new(sdk_dir, plugin_path, NULL, errstr, errstr_size);
    if (!L) return -1;
    lua_createtable(L, argc, 0);
    for (int i = 0; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, i);
    }
    lua_setglobal(L, "arg");
    if (luaL_loadfile(L, argv[0]) != 0) {
        snprintf(errstr, errstr_size, "%s", lua_tostring(L, -1));
        goto out;
    }
    for (int i = 1; i < argc; i++)
        lua_pushstring(L, argv[i]);
    if (lc_lua_pcall(L, argc - 1, 1, errstr, errstr_size) != 0) goto out;
    *status = lua_isnumber(L, -1) ? (int)lua_tointeger(L, -1) : 0;
    rc = 0;
out:
    lc_lua_close(L);
    return rc;
}

/* Pushes a converter object (luaconnect.core.converter) of class cls. *is_json tells
 * _test_run how to print: 0 not JSON, 1 schemaless JSON (printed with sorted keys, so output
 * lines are stable), 2 the JSON envelope (printed as the converter wrote it). */
static int push_converter(lua_State *L, const char *cls, const char *schemas, int *is_json,
                          char *err, size_t errsz)
{
    lc_converter_t probe;
    if (lc_converter_init(&probe, cls, schemas, err, errsz) != 0) return -1;
    *is_json = probe.kind != LC_CONV_JSON ? 0 : probe.schemas_enable ? 2 : 1;
    lua_getglobal(L, "require");
    lua_pushstring(L, "luaconnect.core");
    lua_call(L, 1, 1);
    lua_getfield(L, -1, "converter");
    lua_remove(L, -2);
    lua_pushstring(L, cls);
    lua_pushstring(L, schemas);
    return lc_lua_pcall(L, 2, 1, err, errsz);
}

static void set_str(lua_State *L, const char *key, const char *value)
{
    if (!value) return;
    lua_pushstring(L, value);
    lua_setfield(L, -2, key);
}

/* The options table _testrun.run reads (see lc_cli_test_in_t). */
static void push_options(lua_State *L, const lc_cli_test_in_t *in)
{
    lua_createtable(L, 0, 12);
    set_str(L, "mode", in->mode ? in->mode : "chain");
    set_str(L, "label", in->label);
    set_str(L, "name", in->name);
    set_str(L, "script", in->script_path);
    set_str(L, "task_config", in->task_config);
    set_str(L, "input", in->input);
    set_str(L, "offsets", in->offsets_file);
    lua_pushnumber(L, (lua_Number)in->max_records);
    lua_setfield(L, -2, "max_records");
    lua_pushnumber(L, (lua_Number)in->idle_ms);
    lua_setfield(L, -2, "idle_ms");
    lua_pushnumber(L, (lua_Number)in->batch_size);
    lua_setfield(L, -2, "batch_size");
}

int lc_cli_api_test(const lc_cli_test_in_t *in, int *failed, char *errstr, size_t errstr_size)
{
    char err[16384];
    int rc = -1, kjson = 0, vjson = 0;
    lua_State *L = lc_lua_new(in->sdk_dir, in->plugin_path, NULL, errstr, errstr_size);
    if (!L) return -1;
    if (lc_lua_sdk(L, errstr, errstr_size) != 0) goto out;
    lua_pop(L, 1);
    push_options(L, in);
    lc_chain_api_push(L, in->chain, in->chain_len);
    if (push_converter(L, in->key_class, in->key_schemas, &kjson, err, sizeof(err)) != 0 ||
        push_converter(L, in->value_class, in->value_schemas, &vjson, err, sizeof(err)) != 0) {
        snprintf(errstr, errstr_size, "%s: %s", in->connector_file, err);
        goto out;
    }
    lua_pushinteger(L, kjson);
    lua_pushinteger(L, vjson);
    if (lc_lua_call_sdk(L, "_test_run", 6, 1, errstr, errstr_size) != 0) goto out;
    *failed = (int)lua_tointeger(L, -1);
    rc = 0;
out:
    lc_lua_close(L);
    return rc;
}
