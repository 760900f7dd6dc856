/* config: see config.h. */
#include "config.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define JSONC "org.apache.kafka.connect.json.JsonConverter"

static const lc_config_def_t defs[] = {
    /* The worker (connect-standalone.properties). */
    {"bootstrap.servers", LC_CFG_LIST, "localhost:9092", 0, NULL, 0, LC_CFG_WORKER, "Worker",
     "Kafka brokers to connect to (host:port, comma-separated)."},
    {"offset.storage.file.filename", LC_CFG_STRING, NULL, 0, NULL, 1, LC_CFG_WORKER, "Worker",
     "Standalone: the SQLite file that keeps source offsets, connector configs and statuses "
     "(distributed mode keeps them in Kafka topics)."},
    {"offset.flush.interval.ms", LC_CFG_LONG, "60000", 1, NULL, 0, LC_CFG_WORKER, "Worker",
     "How often source offsets acknowledged by the broker are committed to the store."},
    {"task.shutdown.graceful.timeout.ms", LC_CFG_LONG, "5000", 0, NULL, 0, LC_CFG_WORKER, "Worker",
     "How long a stopping task may take to flush and commit (and again to close) before its "
     "script is interrupted."},
    {"listeners", LC_CFG_LIST, "http://127.0.0.1:8083", 0, NULL, 0, LC_CFG_WORKER, "Worker",
     "REST API listeners (http:// or https://host:port, comma-separated; port 0 picks one)."},
    {"access.control.allow.origin", LC_CFG_STRING, "", 0, NULL, 0, LC_CFG_WORKER, "Worker",
     "CORS: origins allowed to call the REST API from a browser, comma-separated: '*' or "
     "regular expressions matched against the Origin header (Kafka Connect's key; empty: off)."},
    {"access.control.allow.methods", LC_CFG_STRING, "", 0, NULL, 0, LC_CFG_WORKER, "Worker",
     "CORS: the methods allowed in cross-origin requests, comma-separated (empty: GET,POST,HEAD)."},
    {"plugin.path", LC_CFG_LIST, "", 0, NULL, 0, LC_CFG_WORKER, "Worker",
     "Directories searched for connector, transform and predicate scripts (the bundled ones "
     "are always found)."},
    {"rest.basic.auth.credentials.file", LC_CFG_STRING, NULL, 0, NULL, 0, LC_CFG_WORKER, "Worker",
     "A user=password .properties file: the REST API then asks for HTTP basic authentication."},
    {"topic.tracking.enable", LC_CFG_BOOLEAN, "true", 0, NULL, 0, LC_CFG_WORKER, "Worker",
     "Tasks record the topics they use (KIP-558): GET /connectors/{c}/topics."},
    {"topic.tracking.allow.reset", LC_CFG_BOOLEAN, "true", 0, NULL, 0, LC_CFG_WORKER, "Worker",
     "PUT /connectors/{c}/topics/reset may forget the topics a connector used."},
    {"hot.reload", LC_CFG_BOOLEAN, "true", 0, NULL, 0, LC_CFG_WORKER, "Worker",
     "Reload a connector when one of its scripts or its .properties file is saved."},
    {"exactly.once.source.support", LC_CFG_STRING, "disabled", 0, "disabled,preparing,enabled", 0,
     LC_CFG_WORKER, "Worker",
     "enabled: every source task writes its records and their offsets in one Kafka transaction "
     "(exactly-once, KIP-618; in standalone mode too, with the offsets in a Kafka topic); "
     "preparing: the step of a rolling upgrade (no task transactions yet)."},
    /* The distributed worker (connect-distributed.properties). */
    {"group.id", LC_CFG_STRING, NULL, 0, NULL, 1, LC_CFG_DISTRIBUTED, "Distributed",
     "A unique string that identifies the Connect cluster group this worker belongs to."},
    {"config.storage.topic", LC_CFG_STRING, NULL, 0, NULL, 1, LC_CFG_DISTRIBUTED, "Distributed",
     "The name of the Kafka topic where connector configurations are stored (1 partition, "
     "compacted)."},
    {"config.storage.replication.factor", LC_CFG_SHORT, "3", -1, NULL, 0, LC_CFG_DISTRIBUTED,
     "Distributed",
     "Replication factor used when creating the configuration storage topic (-1: the broker's "
     "default)."},
    {"offset.storage.topic", LC_CFG_STRING, NULL, 0, NULL, 1, LC_CFG_DISTRIBUTED, "Distributed",
     "The name of the Kafka topic where source connector offsets are stored (compacted). A "
     "standalone worker with exactly.once.source.support=enabled uses it too (default there: "
     "connect-offsets)."},
    {"offset.storage.partitions", LC_CFG_INT, "25", -1, NULL, 0, LC_CFG_DISTRIBUTED, "Distributed",
     "The number of partitions used when creating the offset storage topic (-1: the broker's "
     "default)."},
    {"offset.storage.replication.factor", LC_CFG_SHORT, "3", -1, NULL, 0, LC_CFG_DISTRIBUTED,
     "Distributed",
     "Replication factor used when creating the offset storage topic (-1: the broker's default)."},
    {"status.storage.topic", LC_CFG_STRING, NULL, 0, NULL, 1, LC_CFG_DISTRIBUTED, "Distributed",
     "The name of the Kafka topic where connector and task status are stored (compacted)."},
    {"status.storage.partitions", LC_CFG_INT, "5", -1, NULL, 0, LC_CFG_DISTRIBUTED, "Distributed",
     "The number of partitions used when creating the status storage topic (-1: the broker's "
     "default)."},
    {"status.storage.replication.factor", LC_CFG_SHORT, "3", -1, NULL, 0, LC_CFG_DISTRIBUTED,
     "Distributed",
     "Replication factor used when creating the status storage topic (-1: the broker's default)."},
    {"luaconnect.coordination.topic", LC_CFG_STRING, "", 0, NULL, 0, LC_CFG_DISTRIBUTED,
     "Distributed",
     "The 1-partition compacted topic the workers' group membership and the leader's assignments "
     "use (default: <config.storage.topic>-luaconnect)."},
    {"session.timeout.ms", LC_CFG_INT, "10000", 1, NULL, 0, LC_CFG_DISTRIBUTED, "Distributed",
     "The timeout used to detect worker failures: a worker that sends no heartbeat for this long "
     "leaves the group."},
    {"heartbeat.interval.ms", LC_CFG_INT, "3000", 1, NULL, 0, LC_CFG_DISTRIBUTED, "Distributed",
     "The expected time between heartbeats to the group coordinator."},
    {"rebalance.timeout.ms", LC_CFG_INT, "60000", 1, NULL, 0, LC_CFG_DISTRIBUTED, "Distributed",
     "The maximum time each worker is allowed to take to join the group once a rebalance has "
     "begun."},
    {"scheduled.rebalance.max.delay.ms", LC_CFG_INT, "300000", 0, NULL, 0, LC_CFG_DISTRIBUTED,
     "Distributed",
     "How long the work of a departed worker stays unassigned, waiting for it to return, before it "
     "is reassigned to the others (docs/distributed.md)."},
    {"worker.sync.timeout.ms", LC_CFG_INT, "3000", 1, NULL, 0, LC_CFG_DISTRIBUTED, "Distributed",
     "How long a worker waits to catch up with the config topic before it gives up, leaves the "
     "group and waits a backoff."},
    {"worker.unsync.backoff.ms", LC_CFG_INT, "300000", 0, NULL, 0, LC_CFG_DISTRIBUTED,
     "Distributed",
     "How long a worker that could not catch up with the config topic stays out of the group "
     "before it joins again."},
    {"rest.advertised.host.name", LC_CFG_STRING, "", 0, NULL, 0, LC_CFG_DISTRIBUTED, "Distributed",
     "The host name other workers use to reach this worker's REST API (default: the listener's "
     "host)."},
    {"rest.advertised.port", LC_CFG_INT, "0", 0, NULL, 0, LC_CFG_DISTRIBUTED, "Distributed",
     "The port other workers use to reach this worker's REST API (default: the listener's port)."},
    {"rest.advertised.listener", LC_CFG_STRING, "", 0, NULL, 0, LC_CFG_DISTRIBUTED, "Distributed",
     "The listener (http or https) other workers use (default: the first listener)."},
    {"inter.worker.key.generation.algorithm", LC_CFG_STRING, "HmacSHA256", 0, NULL, 0,
     LC_CFG_DISTRIBUTED, "Distributed",
     "The algorithm used to generate the session key that signs internal requests."},
    {"inter.worker.key.size", LC_CFG_INT, "0", 0, NULL, 0, LC_CFG_DISTRIBUTED, "Distributed",
     "The size in bits of the session key (0: the algorithm's default)."},
    {"inter.worker.key.ttl.ms", LC_CFG_INT, "3600000", 0, NULL, 0, LC_CFG_DISTRIBUTED,
     "Distributed", "How long a session key is used before the leader makes a new one."},
    {"inter.worker.signature.algorithm", LC_CFG_STRING, "HmacSHA256", 0, NULL, 0,
     LC_CFG_DISTRIBUTED, "Distributed", "The algorithm used to sign internal requests."},
    {"inter.worker.verification.algorithms", LC_CFG_LIST, "HmacSHA256", 0, NULL, 0,
     LC_CFG_DISTRIBUTED, "Distributed", "The algorithms accepted on internal requests."},
    /* Every connector (Kafka Connect's ConnectorConfig, SinkConnectorConfig and
     * SourceConnectorConfig), in Connect's order. */
    {"name", LC_CFG_STRING, NULL, 0, NULL, 1, LC_CFG_CONNECTOR, "Common",
     "Globally unique name to use for this connector."},
    {"connector.class", LC_CFG_STRING, NULL, 0, NULL, 1, LC_CFG_CONNECTOR, "Common",
     "Name or alias of the connector script (a Kafka Connect class name works too)."},
    {"tasks.max", LC_CFG_INT, "1", 1, NULL, 0, LC_CFG_CONNECTOR, "Common",
     "Maximum number of tasks to use for this connector."},
    {"tasks.max.enforce", LC_CFG_BOOLEAN, "true", 0, NULL, 0, LC_CFG_CONNECTOR, "Common",
     "Accepted for Kafka Connect compatibility: luaconnect never runs more tasks than "
     "tasks.max."},
    {"key.converter", LC_CFG_CLASS, JSONC, 0, NULL, 0, LC_CFG_WORKER | LC_CFG_CONNECTOR, "Common",
     "Converter for record keys (JsonConverter, StringConverter, ByteArrayConverter)."},
    {"value.converter", LC_CFG_CLASS, JSONC, 0, NULL, 0, LC_CFG_WORKER | LC_CFG_CONNECTOR, "Common",
     "Converter for record values."},
    {"header.converter", LC_CFG_CLASS, "org.apache.kafka.connect.storage.SimpleHeaderConverter", 0,
     NULL, 0, LC_CFG_CONNECTOR, "Common",
     "Header converter (header values are kept as their bytes, strings to scripts)."},
    {"transforms", LC_CFG_LIST, "", 0, NULL, 0, LC_CFG_CONNECTOR, "Transforms",
     "Aliases for the transformations to apply."},
    {"predicates", LC_CFG_LIST, "", 0, NULL, 0, LC_CFG_CONNECTOR, "Predicates",
     "Aliases for the predicates used by transforms."},
    {"config.action.reload", LC_CFG_STRING, "restart", 0, "none,restart", 0, LC_CFG_CONNECTOR,
     "Common", "Accepted for Kafka Connect compatibility (there are no config providers)."},
    {"errors.retry.timeout", LC_CFG_LONG, "0", -1, NULL, 0, LC_CFG_CONNECTOR, "Error Handling",
     "Maximum duration in ms a failed operation is retried (-1: forever)."},
    {"errors.retry.delay.max.ms", LC_CFG_LONG, "60000", 1, NULL, 0, LC_CFG_CONNECTOR,
     "Error Handling", "Maximum delay in ms between retries."},
    {"errors.tolerance", LC_CFG_STRING, "none", 0, "none,all", 0, LC_CFG_CONNECTOR,
     "Error Handling", "none: an error fails the task; all: bad records are skipped."},
    {"errors.log.enable", LC_CFG_BOOLEAN, "false", 0, NULL, 0, LC_CFG_CONNECTOR, "Error Handling",
     "Log each error."},
    {"errors.log.include.messages", LC_CFG_BOOLEAN, "false", 0, NULL, 0, LC_CFG_CONNECTOR,
     "Error Handling", "Include the record in error logs."},
    {"topics", LC_CFG_LIST, "", 0, NULL, 0, LC_CFG_CONNECTOR | LC_CFG_SINK, "Common",
     "Sink: list of topics to consume."},
    {"topics.regex", LC_CFG_STRING, "", 0, NULL, 0, LC_CFG_CONNECTOR | LC_CFG_SINK, "Common",
     "Sink: regular expression of topics to consume."},
    {"errors.deadletterqueue.topic.name", LC_CFG_STRING, "", 0, NULL, 0,
     LC_CFG_CONNECTOR | LC_CFG_SINK, "Error Handling", "Topic that receives records that failed."},
    {"errors.deadletterqueue.topic.replication.factor", LC_CFG_SHORT, "3", -1, NULL, 0,
     LC_CFG_CONNECTOR | LC_CFG_SINK, "Error Handling",
     "Replication factor of the dead letter queue topic when it is created."},
    {"errors.deadletterqueue.context.headers.enable", LC_CFG_BOOLEAN, "false", 0, NULL, 0,
     LC_CFG_CONNECTOR | LC_CFG_SINK, "Error Handling",
     "Add __connect.errors.* headers to dead letter queue records."},
    {"topic.creation.groups", LC_CFG_LIST, "", 0, NULL, 0, LC_CFG_CONNECTOR | LC_CFG_SOURCE,
     "Topic Creation", "Source: groups of topic.creation.<group>.* settings."},
    {"exactly.once.support", LC_CFG_STRING, "requested", 0, "requested,required", 0,
     LC_CFG_CONNECTOR | LC_CFG_SOURCE, "Exactly Once Support",
     "required: refuse to run unless the worker runs source tasks exactly-once."},
    {"transaction.boundary", LC_CFG_STRING, "poll", 0, "poll,interval,connector", 0,
     LC_CFG_CONNECTOR | LC_CFG_SOURCE, "Exactly Once Support",
     "Where exactly-once transactions end: after every poll() batch, every "
     "transaction.boundary.interval.ms, or where the script says (task.transaction)."},
    {"transaction.boundary.interval.ms", LC_CFG_LONG, "-1", -1, NULL, 0,
     LC_CFG_CONNECTOR | LC_CFG_SOURCE, "Exactly Once Support",
     "With transaction.boundary=interval: how often a transaction commits (-1: the worker's "
     "offset.flush.interval.ms)."},
    {"offsets.storage.topic", LC_CFG_STRING, "", 0, NULL, 0, LC_CFG_CONNECTOR | LC_CFG_SOURCE,
     "Exactly Once Support",
     "Accepted for Kafka Connect compatibility; offsets go to the worker's offsets topic."},
};

const lc_config_def_t *lc_config_defs(size_t *n)
{
    *n = sizeof(defs) / sizeof(*defs);
    return defs;
}

const lc_config_def_t *lc_config_find(const char *key)
{
    for (size_t i = 0; key && i < sizeof(defs) / sizeof(*defs); i++)
        if (strcmp(defs[i].name, key) == 0) return &defs[i];
    return NULL;
}

const char *lc_config_type_name(lc_config_type_t type)
{
    static const char *const names[] = {"STRING",  "INT",  "LONG",  "SHORT",
                                        "BOOLEAN", "LIST", "CLASS", "PASSWORD"};
    return names[type];
}

/* The definition of key; a key missing from the table is a programming error. */
static const lc_config_def_t *def_of(const char *key)
{
    const lc_config_def_t *d = lc_config_find(key);
    if (!d) {
        fprintf(stderr, "luaconnect: config key '%s' is not in core/config.c's table\n", key);
        abort();
    }
    return d;
}

const char *lc_config_string(const lc_props_t *p, const char *key)
{
    const char *v = lc_props_get(p, key);
    return v ? v : def_of(key)->def;
}

int lc_config_long(const lc_props_t *p, const char *key, const char *label, long *out, char *errs,
                   size_t errsz, size_t *elen)
{
    const lc_config_def_t *d = def_of(key);
    const char *v = lc_props_get(p, key);
    if (!v) v = d->def ? d->def : "0";
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    while (*end == ' ')
        end++;
    if (errno || end == v || *end || n < d->min) {
        lc_appendf(errs, errsz, elen, "%s: key '%s': expected an integer >= %ld, got '%s'\n", label,
                   key, d->min, v);
        return -1;
    }
    *out = n;
    return 0;
}

int lc_config_bool(const lc_props_t *p, const char *key, const char *label, int *out, char *errs,
                   size_t errsz, size_t *elen)
{
    const lc_config_def_t *d = def_of(key);
    const char *v = lc_props_get(p, key);
    if (!v) v = d->def ? d->def : "false";
    if (strcasecmp(v, "true") == 0) {
        *out = 1;
    } else if (strcasecmp(v, "false") == 0) {
        *out = 0;
    } else {
        lc_appendf(errs, errsz, elen, "%s: key '%s': expected boolean (true or false), got '%s'\n",
                   label, key, v);
        return -1;
    }
    return 0;
}

int lc_config_choice(const lc_props_t *p, const char *key, const char *label, int *out, char *errs,
                     size_t errsz, size_t *elen)
{
    const lc_config_def_t *d = def_of(key);
    const char *v = lc_config_string(p, key);
    int n;
    char **choices = lc_split_list(d->choices, &n);
    char list[512];
    size_t len = 0;
    list[0] = 0;
    *out = -1;
    for (int i = 0; i < n; i++) {
        if (v && strcmp(choices[i], v) == 0) *out = i;
        lc_appendf(list, sizeof(list), &len, "%s%s", i ? ", " : "", choices[i]);
    }
    lc_free_list(choices, n);
    if (*out >= 0) return 0;
    lc_appendf(errs, errsz, elen, "%s: key '%s': must be one of %s, got '%s'\n", label, key, list,
               v ? v : "");
    return -1;
}

int lc_config_applies(const lc_config_def_t *d, const char *kind)
{
    if (!(d->scope & LC_CFG_CONNECTOR)) return 0;
    if ((d->scope & LC_CFG_SINK) && strcmp(kind, "sink") != 0) return 0;
    if ((d->scope & LC_CFG_SOURCE) && strcmp(kind, "source") != 0) return 0;
    return 1;
}

/* What Kafka Connect 4.x's ConnectorConfig, SinkConnectorConfig and SourceConnectorConfig
 * say of their keys besides type and default (a GUI lays out forms by them). nodefault: Connect
 * has no default where ours is the value the core falls back to. */
static const struct {
    const char *name, *display, *importance, *width, *group;
    int order, nodefault;
} connect_meta[] = {
    {"name", "Connector name", "HIGH", "MEDIUM", NULL, 1, 0},
    {"connector.class", "Connector class", "HIGH", "LONG", NULL, 2, 0},
    {"tasks.max", "Tasks max", "HIGH", "SHORT", NULL, 4, 0},
    {"tasks.max.enforce", "Enforce tasks max", "LOW", "SHORT", NULL, 5, 0},
    {"key.converter", "Key converter class", "LOW", "SHORT", NULL, 6, 0},
    {"value.converter", "Value converter class", "LOW", "SHORT", NULL, 8, 0},
    {"header.converter", "Header converter class", "LOW", "SHORT", NULL, 10, 0},
    {"transforms", "Transforms", "LOW", "LONG", NULL, 12, 0},
    {"predicates", "Predicates", "LOW", "LONG", NULL, 13, 0},
    {"config.action.reload", "Reload Action", "LOW", "MEDIUM", NULL, 14, 0},
    {"errors.retry.timeout", "Retry Timeout for Errors", "MEDIUM", "MEDIUM", NULL, 1, 0},
    {"errors.retry.delay.max.ms", "Maximum Delay Between Retries for Errors", "MEDIUM", "MEDIUM",
     NULL, 2, 0},
    {"errors.tolerance", "Error Tolerance", "MEDIUM", "SHORT", NULL, 3, 0},
    {"errors.log.enable", "Log Errors", "MEDIUM", "SHORT", NULL, 4, 0},
    {"errors.log.include.messages", "Log Error Details", "MEDIUM", "SHORT", NULL, 5, 0},
    {"topics", "Topics", "HIGH", "LONG", NULL, 4, 0},
    {"topics.regex", "Topics regex", "HIGH", "LONG", NULL, 4, 0},
    {"errors.deadletterqueue.topic.name", "Dead Letter Queue Topic Name", "MEDIUM", "MEDIUM", NULL,
     6, 0},
    {"errors.deadletterqueue.topic.replication.factor",
     "Dead Letter Queue Topic Replication Factor", "MEDIUM", "MEDIUM", NULL, 7, 0},
    {"errors.deadletterqueue.context.headers.enable", "Enable Error Context Headers", "MEDIUM",
     "MEDIUM", NULL, 8, 0},
    {"topic.creation.groups", "Topic Creation Groups", "LOW", "LONG", NULL, 1, 0},
    {"exactly.once.support", "Exactly once support", "MEDIUM", "SHORT", NULL, 2, 0},
    {"transaction.boundary", "Transaction Boundary", "MEDIUM", "SHORT", NULL, 3, 0},
    {"transaction.boundary.interval.ms", "Transaction boundary interval", "LOW", "SHORT", NULL, 4,
     1},
    {"offsets.storage.topic", "Offsets topic", "LOW", "LONG", "offsets.topic", 1, 1},
};

json_t *lc_config_def_json(const lc_config_def_t *d, int order)
{
    const char *display = d->name, *importance = d->required ? "HIGH" : "MEDIUM";
    const char *width = "MEDIUM", *group = d->group, *def = d->def;
    for (size_t i = 0; i < sizeof(connect_meta) / sizeof(*connect_meta); i++) {
        if (strcmp(connect_meta[i].name, d->name) != 0) continue;
        display = connect_meta[i].display;
        importance = connect_meta[i].importance;
        width = connect_meta[i].width;
        if (connect_meta[i].group) group = connect_meta[i].group;
        order = connect_meta[i].order;
        if (connect_meta[i].nodefault) def = NULL;
        break;
    }
    return json_pack("{s:s,s:s,s:b,s:s?,s:s,s:s,s:s,s:s,s:s,s:[],s:i}", "name", d->name, "type",
                     lc_config_type_name(d->type), "required", d->required, "default_value", def,
                     "importance", importance, "documentation", d->doc, "group", group, "width",
                     width, "display_name", display, "dependents", "order_in_group", order);
}

void lc_config_write_docs(FILE *out)
{
    static const struct {
        int scope;
        const char *title;
    } parts[] = {{LC_CFG_WORKER, "Worker keys (the worker .properties file)"},
                 {LC_CFG_DISTRIBUTED,
                  "Distributed worker keys (`luaconnect distributed`, as connect-distributed)"},
                 {LC_CFG_CONNECTOR, "Connector keys (every connector's config)"}};
    fprintf(out, "# Configuration keys the core reads\n\n"
                 "Generated by `luaconnect config-docs` from the table in core/config.c; do not "
                 "edit by hand.\nKeys a connector, transform or predicate script defines are "
                 "listed in docs/connectors.md\nand docs/transforms.md.\n");
    for (size_t k = 0; k < sizeof(parts) / sizeof(*parts); k++) {
        fprintf(out,
                "\n## %s\n\n| key | type | default | valid values | description |\n"
                "|---|---|---|---|---|\n",
                parts[k].title);
        for (size_t i = 0; i < sizeof(defs) / sizeof(*defs); i++) {
            const lc_config_def_t *d = &defs[i];
            if (!(d->scope & parts[k].scope)) continue;
            char valid[256] = "";
            if (d->choices)
                snprintf(valid, sizeof(valid), "%s", d->choices);
            else if (d->type == LC_CFG_INT || d->type == LC_CFG_LONG || d->type == LC_CFG_SHORT)
                snprintf(valid, sizeof(valid), ">= %ld", d->min);
            else if (d->type == LC_CFG_BOOLEAN)
                snprintf(valid, sizeof(valid), "true, false");
            fprintf(out, "| `%s` | %s | %s | %s | %s |\n", d->name, lc_config_type_name(d->type),
                    d->required         ? "(required)"
                    : d->def && *d->def ? d->def
                                        : "",
                    valid, d->doc);
        }
    }
}
