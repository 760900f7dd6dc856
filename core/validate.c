/* validate: see validate.h. */
#include "validate.h"
#include "config.h"
#include "connector.h"
#include "lc_build.h"
#include "plugin_api.h"
#include "plugins.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *plugin_type(const char *kind)
{
    if (strcmp(kind, "transform") == 0) return "transformation";
    return kind; /* source, sink, predicate */
}

/* The Kafka class name a plugin answers to (its first dotted alias), else its name. */
static void plugin_class(const lc_plugin_info_t *p, char *out, size_t outsz)
{
    const char *a = p->aliases;
    while (a && *a) {
        const char *end = strchr(a, ',');
        size_t l = end ? (size_t)(end - a) : strlen(a);
        if (memchr(a, '.', l)) {
            snprintf(out, outsz, "%.*s", (int)l, a);
            return;
        }
        a = end ? end + 1 : NULL;
    }
    snprintf(out, outsz, "%s", p->name);
}

json_t *lc_validate_plugins(const lc_worker_t *w, int connectors_only)
{
    size_t n;
    lc_plugin_info_t *list = lc_plugins_scan(lc_worker_plugin_path(w), &n);
    json_t *out = json_array();
    /* Connect's order: sinks, sources, transformations, predicates, converters, header
     * converters; a transform with variants is listed as Connect lists it, Cast$Key and
     * Cast$Value (the bare class is not a plugin there). */
    static const char *const kinds[] = {"sink", "source", "transform", "predicate"};
    for (int k = 0; k < (connectors_only ? 2 : 4); k++)
        for (size_t i = 0; i < n; i++) {
            if (strcmp(list[i].kind, kinds[k]) != 0) continue;
            char cls[512], v[600];
            plugin_class(&list[i], cls, sizeof(cls));
            for (int s = 0; s < (list[i].variants ? 2 : 1); s++) {
                snprintf(v, sizeof(v), "%s%s", cls,
                         !list[i].variants ? ""
                         : s == 0          ? "$Key"
                                           : "$Value");
                json_array_append_new(out, json_pack("{s:s,s:s,s:s}", "class", v, "type",
                                                     plugin_type(list[i].kind), "version",
                                                     list[i].version));
            }
        }
    if (!connectors_only) {
        /* The converters a connector or worker config may name (value/key converters, and
         * the header converters of header.converter). */
        static const char *const converters[] = {
            "org.apache.kafka.connect.converters.ByteArrayConverter",
            "org.apache.kafka.connect.json.JsonConverter",
            "org.apache.kafka.connect.storage.StringConverter"};
        /* Header values are kept as their bytes (strings to scripts): what these three
         * write and read for byte and string values (docs/rest-api.md). */
        static const char *const header_converters[] = {
            "org.apache.kafka.connect.converters.ByteArrayConverter",
            "org.apache.kafka.connect.storage.SimpleHeaderConverter",
            "org.apache.kafka.connect.storage.StringConverter"};
        for (size_t i = 0; i < 3; i++)
            json_array_append_new(out, json_pack("{s:s,s:s,s:s}", "class", converters[i], "type",
                                                 "converter", "version", LC_VERSION));
        for (size_t i = 0; i < 3; i++)
            json_array_append_new(out,
                                  json_pack("{s:s,s:s,s:s}", "class", header_converters[i], "type",
                                            "header_converter", "version", LC_VERSION));
    }
    lc_plugins_free(list, n);
    return out;
}

/* Loads the definitions of the script at path: *kind and a JSON list of ConfigKeyInfo. */
static json_t *script_defs(const lc_worker_t *w, const char *path, char *kind, size_t kindsz,
                           char *errstr, size_t errsz)
{
    char *defs;
    if (lc_plugin_api_config(lc_sdk_dir(), lc_worker_plugin_path(w), path, kind, kindsz, &defs,
                             errstr, errsz) != 0)
        return NULL;
    json_error_t je;
    json_t *out = json_loads(defs, 0, &je);
    if (!out) snprintf(errstr, errsz, "definitions: %s", je.text);
    free(defs);
    return out;
}

int lc_validate_plugin_config(const lc_worker_t *w, const char *plugin, json_t **out, char *errstr,
                              size_t errsz)
{
    char path[4096], kind[32];
    if (lc_plugins_resolve(lc_worker_plugin_path(w), plugin, "any", path, sizeof(path), errstr,
                           errsz) != 0)
        return 404;
    json_t *defs = script_defs(w, path, kind, sizeof(kind), errstr, errsz);
    if (!defs) return 500;
    *out = json_array();
    size_t i;
    json_t *d;
    json_array_foreach(defs, i, d)
    {
        /* Connect's ConfigKeyInfo has no recommended_values. */
        json_object_del(d, "recommended_values");
        json_array_append(*out, d);
    }
    if (strcmp(kind, "sink") == 0 || strcmp(kind, "source") == 0) {
        /* Connect lists the common connector keys after the plugin's own; its converter
         * keys have no default here (validate shows the worker's). */
        size_t ndefs;
        const lc_config_def_t *table = lc_config_defs(&ndefs);
        for (size_t k = 0; k < ndefs; k++) {
            const lc_config_def_t *cd = &table[k];
            if (!lc_config_applies(cd, kind)) continue;
            json_t *j = lc_config_def_json(cd, 0);
            if (cd->type == LC_CFG_CLASS) json_object_set_new(j, "default_value", json_null());
            json_array_append_new(*out, j);
        }
    }
    json_decref(defs);
    return 200;
}

/* Which key an error line is about: "key 'k'", "unknown key 'k'", "required key 'k'"; a
 * transformation's or predicate's own key ("transform 'a': missing required key 'k'") is
 * transforms.a.k / predicates.a.k. */
static void error_key(const char *line, char *out, size_t outsz)
{
    const char *p = strstr(line, "key '");
    if (!p) {
        snprintf(out, outsz, "connector.class");
        return;
    }
    p += 5;
    const char *q = strchr(p, '\'');
    int klen = q ? (int)(q - p) : (int)strlen(p);
    static const char *const owners[][2] = {{"transform '", "transforms"},
                                            {"predicate '", "predicates"}};
    for (size_t i = 0; i < 2; i++) {
        const char *a = strstr(line, owners[i][0]);
        if (!a || a > p) continue;
        a += strlen(owners[i][0]);
        const char *b = strchr(a, '\'');
        if (!b || b > p) continue;
        snprintf(out, outsz, "%s.%.*s.%.*s", owners[i][1], (int)(b - a), a, klen, p);
        return;
    }
    snprintf(out, outsz, "%.*s", klen, p);
}

static json_t *config_value(const char *name, json_t *config, int secret)
{
    json_t *v = json_object_get(config, name);
    json_t *value = !json_is_string(v) ? json_null()
                    : secret           ? json_string("[hidden]")
                                       : json_string(json_string_value(v));
    return json_pack("{s:s,s:o,s:[],s:[],s:b}", "name", name, "value", value, "recommended_values",
                     "errors", "visible", 1);
}

/* A converter key's recommended_values: the converters luaconnect has (Connect lists every
 * converter class it finds, in name order). */
static void converter_choices(const char *key, json_t *value)
{
    int header = strcmp(key, "header.converter") == 0;
    json_t *rec = json_object_get(value, "recommended_values");
    json_array_append_new(rec,
                          json_string("org.apache.kafka.connect.converters.ByteArrayConverter"));
    if (!header)
        json_array_append_new(rec, json_string("org.apache.kafka.connect.json.JsonConverter"));
    if (header)
        json_array_append_new(
            rec, json_string("org.apache.kafka.connect.storage.SimpleHeaderConverter"));
    json_array_append_new(rec, json_string("org.apache.kafka.connect.storage.StringConverter"));
}

/* The name of a definition ("" when it has none). */
static const char *def_name(json_t *d)
{
    const char *n = json_string_value(json_object_get(d, "name"));
    return n ? n : "";
}

/* Connect's validate lists each transformation's keys in a "Transforms: <alias>" group: its
 * type (recommending every transformation class), then the transformation's own keys with
 * negate and predicate, in name order (order_in_group 1 is Connect's plugin.version); the
 * required keys missing counted as errors, which it returns. */
static int transform_entries(const lc_worker_t *w, json_t *config, json_t *configs, json_t *byname)
{
    int n = 0, nerr = 0;
    char **aliases = lc_split_list(json_string_value(json_object_get(config, "transforms")), &n);
    json_t *classes = json_array(), *plugins = lc_validate_plugins(w, 0), *p;
    size_t i;
    json_array_foreach(plugins, i, p)
    {
        if (strcmp(json_string_value(json_object_get(p, "type")), "transformation") == 0)
            json_array_append(classes, json_object_get(p, "class"));
    }
    json_decref(plugins);
    for (int a = 0; a < n; a++) {
        char group[600], key[700], display[700], doc[700];
        snprintf(group, sizeof(group), "Transforms: %s", aliases[a]);
        snprintf(key, sizeof(key), "transforms.%s.type", aliases[a]);
        snprintf(display, sizeof(display), "Transformation type for %s", aliases[a]);
        snprintf(doc, sizeof(doc), "Class for the '%s' transformation.", aliases[a]);
        json_t *value = config_value(key, config, 0);
        json_object_set(value, "recommended_values", classes);
        json_t *entry =
            json_pack("{s:{s:s,s:s,s:b,s:n,s:s,s:s,s:s,s:s,s:s,s:[],s:i},s:o}", "definition",
                      "name", key, "type", "CLASS", "required", 1, "default_value", "importance",
                      "HIGH", "documentation", doc, "group", group, "width", "LONG", "display_name",
                      display, "dependents", "order_in_group", 0, "value", value);
        json_array_append_new(configs, entry);
        json_object_set(byname, key, entry);
        /* The transformation's own keys, when its type resolves (else its error says why). */
        const char *type = json_string_value(json_object_get(config, key));
        json_t *defs = NULL;
        if (type) {
            char base[1024], path[4096], kind[32], err[2048];
            const char *dollar = strrchr(type, '$');
            snprintf(base, sizeof(base), "%.*s", dollar ? (int)(dollar - type) : (int)strlen(type),
                     type);
            if (lc_plugins_resolve(lc_worker_plugin_path(w), base, "transform", path, sizeof(path),
                                   err, sizeof(err)) == 0)
                defs = script_defs(w, path, kind, sizeof(kind), err, sizeof(err));
        }
        if (!defs) continue; /* a type that does not resolve: Connect lists none of its keys */
        json_array_append_new(defs, json_pack("{s:s,s:s,s:b,s:s,s:s,s:s}", "name", "negate", "type",
                                              "BOOLEAN", "required", 0, "default_value", "false",
                                              "importance", "MEDIUM", "documentation",
                                              "Whether the predicate's result is inverted."));
        json_array_append_new(defs, json_pack("{s:s,s:s,s:b,s:n,s:s,s:s}", "name", "predicate",
                                              "type", "STRING", "required", 0, "default_value",
                                              "importance", "MEDIUM", "documentation",
                                              "The alias of a predicate deciding where the "
                                              "transformation applies."));
        size_t nd = json_array_size(defs);
        const char **names = calloc(nd ? nd : 1, sizeof(*names));
        for (size_t k = 0; k < nd; k++)
            names[k] = def_name(json_array_get(defs, k));
        for (size_t k = 0; k < nd; k++) /* name order; a handful of keys */
            for (size_t j = k + 1; j < nd; j++)
                if (strcmp(names[j], names[k]) < 0) {
                    const char *t = names[k];
                    names[k] = names[j];
                    names[j] = t;
                }
        for (size_t k = 0; k < nd; k++) {
            json_t *d = NULL, *x;
            json_array_foreach(defs, i, x)
            {
                if (strcmp(def_name(x), names[k]) == 0) d = x;
            }
            snprintf(key, sizeof(key), "transforms.%s.%s", aliases[a], names[k]);
            json_t *def = json_deep_copy(d);
            json_object_set_new(def, "name", json_string(key));
            json_object_set_new(def, "group", json_string(group));
            json_object_set_new(def, "width", json_string("NONE"));
            json_object_set_new(def, "display_name", json_string(names[k]));
            json_object_set_new(def, "order_in_group", json_integer((json_int_t)k + 2));
            if (!json_object_get(def, "dependents"))
                json_object_set_new(def, "dependents", json_array());
            json_t *v = config_value(key, config, 0);
            json_t *dv = json_object_get(def, "default_value");
            if (json_is_null(json_object_get(v, "value")) && json_is_string(dv))
                json_object_set(v, "value", dv);
            json_t *rec = json_object_get(def, "recommended_values");
            if (json_is_array(rec)) json_object_set(v, "recommended_values", rec);
            json_object_del(def, "recommended_values");
            /* Checked here too: the plan stops at the first transformation that fails. */
            if (json_is_true(json_object_get(def, "required")) && !json_object_get(config, key)) {
                char msg[800];
                snprintf(msg, sizeof(msg),
                         "Missing required configuration \"%s\" which has no default value.", key);
                json_array_append_new(json_object_get(v, "errors"), json_string(msg));
                nerr++;
            }
            entry = json_pack("{s:o,s:o}", "definition", def, "value", v);
            json_array_append_new(configs, entry);
            json_object_set(byname, key, entry);
        }
        free(names);
        json_decref(defs);
    }
    json_decref(classes);
    lc_free_list(aliases, n);
    return nerr;
}

int lc_validate(const lc_worker_t *w, const char *plugin, json_t *config, json_t **out,
                char *errstr, size_t errsz)
{
    char path[4096], other[4096], kind[32];
    if (lc_plugins_resolve(lc_worker_plugin_path(w), plugin, "connector", path, sizeof(path),
                           errstr, errsz) != 0)
        return 404;
    const char *cls = json_string_value(json_object_get(config, "connector.class"));
    if (cls && (lc_plugins_resolve(lc_worker_plugin_path(w), cls, "connector", other, sizeof(other),
                                   errstr, errsz) != 0 ||
                strcmp(other, path) != 0)) {
        snprintf(errstr, errsz, "Included connector type %s does not match request type %s", cls,
                 plugin);
        return 400;
    }
    json_t *defs = script_defs(w, path, kind, sizeof(kind), errstr, errsz);
    if (!defs) return 500;

    lc_props_t *props = lc_props_new();
    const char *k;
    json_t *v;
    json_object_foreach(config, k, v) if (json_is_string(v))
        lc_props_set(props, k, json_string_value(v));
    lc_props_set(props, "connector.class", cls ? cls : plugin);
    int named = lc_props_get(props, "name") && *lc_props_get(props, "name");
    if (!named) lc_props_set(props, "name", "(unnamed)");
    /* Planning runs in its own scratch Lua state: validations never wait for each other or
     * for connector changes. */
    size_t errs_size = 65536;
    char *errs = malloc(errs_size);
    lc_connector_t *c = lc_connector_plan(w, props, errs, errs_size);
    lc_connector_free(c);

    json_t *configs = json_array(), *byname = json_object();
    /* The keys the worker reads itself (core/config.c), then the script's own. */
    size_t ndefs;
    const lc_config_def_t *table = lc_config_defs(&ndefs);
    int order = 0;
    for (size_t i = 0; i < ndefs; i++) {
        const lc_config_def_t *cd = &table[i];
        if (!lc_config_applies(cd, kind)) continue;
        json_t *def = lc_config_def_json(cd, ++order);
        json_t *value = config_value(cd->name, config, 0);
        /* Connect's value is the parsed one: the default when the key is not given. */
        json_t *dv = json_object_get(def, "default_value");
        if (json_is_null(json_object_get(value, "value")) && json_is_string(dv))
            json_object_set(value, "value", dv);
        if (cd->type == LC_CFG_CLASS) converter_choices(cd->name, value);
        json_t *entry = json_pack("{s:o,s:o}", "definition", def, "value", value);
        json_array_append(configs, entry);
        json_object_set_new(byname, cd->name, entry);
    }
    int nerr = transform_entries(w, config, configs, byname);
    size_t i;
    json_t *d;
    json_array_foreach(defs, i, d)
    {
        const char *name = json_string_value(json_object_get(d, "name"));
        if (!name || json_object_get(byname, name)) continue;
        const char *type = json_string_value(json_object_get(d, "type"));
        int secret = type && strcmp(type, "PASSWORD") == 0;
        json_t *value = config_value(name, config, secret);
        /* Connect's value is the parsed one: the default when the key is not given. */
        json_t *dv = json_object_get(d, "default_value");
        if (json_is_null(json_object_get(value, "value")) && json_is_string(dv) && !secret)
            json_object_set(value, "value", dv);
        /* Connect's definitions have no recommended_values: a script's choices go to the
         * value, where Connect puts them. */
        json_t *rec = json_object_get(d, "recommended_values");
        if (json_is_array(rec)) json_object_set(value, "recommended_values", rec);
        json_object_del(d, "recommended_values");
        json_t *entry = json_pack("{s:O,s:o}", "definition", d, "value", value);
        json_array_append(configs, entry);
        json_object_set_new(byname, name, entry);
    }
    if (!named) {
        json_array_append_new(
            json_object_get(json_object_get(json_object_get(byname, "name"), "value"), "errors"),
            json_string("Missing required configuration \"name\" which has no "
                        "default value."));
        nerr++;
    }
    for (char *line = c ? NULL : errs; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = 0;
        if (strncmp(line, "stack traceback:", 16) == 0 || line[0] == '\t') {
            line = nl ? nl + 1 : NULL; /* a Lua traceback: no use to a form */
            continue;
        }
        char key[512];
        error_key(line, key, sizeof(key));
        json_t *entry = json_object_get(byname, key);
        if (entry && strstr(line, "missing required key") &&
            json_array_size(json_object_get(json_object_get(entry, "value"), "errors"))) {
            line = nl ? nl + 1 : NULL; /* already said (transform_entries) */
            continue;
        }
        if (!entry) { /* an unknown key: listed so its error has a home */
            entry =
                json_pack("{s:{s:s,s:s,s:b,s:n,s:s,s:s,s:n,s:s,s:s,s:[],s:i},s:o}", "definition",
                          "name", key, "type", "STRING", "required", 0, "default_value",
                          "importance", "LOW", "documentation", "not a key of this connector",
                          "group", "width", "NONE", "display_name", key, "dependents",
                          "order_in_group", -1, "value", config_value(key, config, 0));
            json_array_append(configs, entry);
            json_object_set_new(byname, key, entry);
        }
        json_array_append_new(json_object_get(json_object_get(entry, "value"), "errors"),
                              json_string(line));
        nerr++;
        line = nl ? nl + 1 : NULL;
    }
    free(errs);
    json_t *groups = json_array();
    json_array_foreach(configs, i, d)
    {
        json_t *g = json_object_get(json_object_get(d, "definition"), "group");
        if (!json_is_string(g)) continue; /* Connect lists no group for ungrouped keys */
        size_t j;
        json_t *have;
        int seen = 0;
        json_array_foreach(groups, j, have) seen |= json_equal(have, g);
        if (!seen) json_array_append(groups, g);
    }
    char name_buf[512];
    snprintf(name_buf, sizeof(name_buf), "%s", cls ? cls : plugin);
    *out = json_pack("{s:s,s:i,s:o,s:o}", "name", name_buf, "error_count", nerr, "groups", groups,
                     "configs", configs);
    json_decref(byname);
    json_decref(defs);
    lc_props_destroy(props);
    return 200;
}
