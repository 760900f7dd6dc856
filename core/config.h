/* config: the one table of worker-level and connector-level config keys the core itself
 * reads (name, type, default, bounds, choices, group, doc), in the manner of librdkafka's
 * property table. It drives parsing (typed getters whose errors name the key), the
 * "Common" and "Error Handling" groups of validate, and docs/configuration.md
 * (`luaconnect config-docs`). Keys a connector script defines itself live in the script.
 * Depends on props, util, jansson. */
#ifndef LC_CONFIG_H
#define LC_CONFIG_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#include "props.h"

typedef enum {
    LC_CFG_STRING = 0,
    LC_CFG_INT,
    LC_CFG_LONG,
    LC_CFG_SHORT,
    LC_CFG_BOOLEAN,
    LC_CFG_LIST,
    LC_CFG_CLASS,
    LC_CFG_PASSWORD
} lc_config_type_t;

/** Where a key applies. */
enum {
    LC_CFG_WORKER = 1,      /* the worker .properties file */
    LC_CFG_CONNECTOR = 2,   /* every connector's config */
    LC_CFG_SINK = 4,        /* sink connectors only */
    LC_CFG_DISTRIBUTED = 8, /* the worker file of `luaconnect distributed` only */
    LC_CFG_SOURCE = 16      /* source connectors only */
};

typedef struct lc_config_def {
    const char *name;
    lc_config_type_t type;
    const char *def;     /* default as text; NULL: none */
    long min;            /* INT/LONG/SHORT: smallest value accepted */
    const char *choices; /* STRING: accepted values, comma-separated; NULL: any */
    int required;
    int scope;         /* LC_CFG_WORKER, LC_CFG_CONNECTOR | LC_CFG_SINK / LC_CFG_SOURCE */
    const char *group; /* Kafka Connect's group of the key */
    const char *doc;
} lc_config_def_t;

/** The definition of key, or NULL. */
const lc_config_def_t *lc_config_find(const char *key);
/** The definitions of scope, in table order: *n gets the count of the whole table; test each
 * entry's scope. */
const lc_config_def_t *lc_config_defs(size_t *n);
/** Kafka Connect's type name (STRING, INT, ...). */
const char *lc_config_type_name(lc_config_type_t type);

/** The value of key in p, else its default (NULL when neither). */
const char *lc_config_string(const lc_props_t *p, const char *key);
/** Reads the integer key of p (or its default) into *out. On a bad value appends
 * "<label>: key '<key>': expected an integer >= <min>, got '<value>'" and a newline to errs at
 * *elen and returns -1. */
int lc_config_long(const lc_props_t *p, const char *key, const char *label, long *out, char *errs,
                   size_t errs_size, size_t *elen);
/** Reads the boolean key of p (or its default) into *out (0/1); errors as lc_config_long. */
int lc_config_bool(const lc_props_t *p, const char *key, const char *label, int *out, char *errs,
                   size_t errs_size, size_t *elen);
/** Reads key of p (or its default) and checks it against the key's choices; *out gets the
 * index of the choice. Errors as lc_config_long ("must be one of a, b, got 'x'"). */
int lc_config_choice(const lc_props_t *p, const char *key, const char *label, int *out, char *errs,
                     size_t errs_size, size_t *elen);
/** True when the connector key d applies to a connector of kind ("source", "sink"). */
int lc_config_applies(const lc_config_def_t *d, const char *kind);
/** Kafka Connect's ConfigKeyInfo of d ({name, type, required, default_value, importance,
 * documentation, group, width, display_name, dependents, order_in_group}); a key Connect
 * defines gets Connect's display name, importance, width, group and order_in_group, others
 * order. */
json_t *lc_config_def_json(const lc_config_def_t *d, int order);
/** Writes the table as Markdown (docs/configuration.md). */
void lc_config_write_docs(FILE *out);

#endif
