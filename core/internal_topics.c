/* internal_topics: see internal_topics.h. */
#include "internal_topics.h"
#include "log.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ADMIN_MS 30000

typedef struct itopic {
    const char *name;
    const char *property; /* the worker key that names it */
    const char *purpose;  /* Connect's words for what it keeps */
    int partitions;       /* -1: the broker's default */
    int replication;      /* -1: the broker's default */
    int exists, found_partitions;
} itopic_t;

/* A partition count (INT) or replication factor (SHORT) as Kafka Connect's ConfigDef reads it:
 * the value, the default when absent, or -2 with Connect's error text. */
static int read_count(const lc_props_t *p, const char *key, int def, int is_short, char *errstr,
                      size_t errsz)
{
    const char *v = lc_props_get(p, key);
    if (!v) return def;
    char buf[64];
    snprintf(buf, sizeof(buf), "%s", v);
    char *s = buf, *e;
    while (isspace((unsigned char)*s))
        s++;
    for (e = s + strlen(s); e > s && isspace((unsigned char)e[-1]);)
        *--e = 0;
    errno = 0;
    long n = strtol(s, &e, 10);
    long lo = is_short ? -32768 : -2147483647L - 1, hi = is_short ? 32767 : 2147483647L;
    if (!*s || *e || errno || n < lo || n > hi) {
        /* ConfigDef parses the trimmed text and names the value as given */
        snprintf(errstr, errsz, "Invalid value %s for configuration %s: Not a number of type %s", v,
                 key, is_short ? "SHORT" : "INT");
        return -2;
    }
    if (n != -1 && n < 1) {
        snprintf(errstr, errsz, "Invalid value %ld for configuration %s: %s", n, key,
                 is_short ? "Replication factor must be positive and not larger than the number "
                            "of brokers in the Kafka cluster, or -1 to use the broker's default"
                          : "Number of partitions must be positive, or -1 to use the broker's "
                            "default");
        return -2;
    }
    return (int)n;
}

/* Partition counts of the topics that exist. */
static int describe(rd_kafka_t *rk, itopic_t *t, int n, char *errstr, size_t errsz)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 1, NULL, &md, ADMIN_MS);
    if (err) {
        snprintf(errstr, errsz, "cannot read the cluster's topics: %s", rd_kafka_err2str(err));
        return -1;
    }
    for (int i = 0; i < n; i++) {
        t[i].exists = 0;
        for (int j = 0; j < md->topic_cnt; j++)
            if (strcmp(md->topics[j].topic, t[i].name) == 0 && !md->topics[j].err) {
                t[i].exists = 1;
                t[i].found_partitions = md->topics[j].partition_cnt;
            }
    }
    rd_kafka_metadata_destroy(md);
    return 0;
}

static int create_missing(rd_kafka_t *rk, itopic_t *t, int n, char *errstr, size_t errsz)
{
    rd_kafka_NewTopic_t *nt[8];
    int m = 0;
    char err[512];
    for (int i = 0; i < n; i++) {
        if (t[i].exists) continue;
        nt[m] =
            rd_kafka_NewTopic_new(t[i].name, t[i].partitions, t[i].replication, err, sizeof(err));
        if (!nt[m]) {
            snprintf(errstr, errsz, "cannot create topic '%s' (%s): %s", t[i].name, t[i].property,
                     err);
            for (int j = 0; j < m; j++)
                rd_kafka_NewTopic_destroy(nt[j]);
            return -1;
        }
        rd_kafka_NewTopic_set_config(nt[m], "cleanup.policy", "compact");
        lc_info(NULL, "creating topic '%s' (%s, %d partitions, cleanup.policy=compact)", t[i].name,
                t[i].property, t[i].partitions);
        m++;
    }
    if (m == 0) return 0;
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_AdminOptions_set_request_timeout(opts, ADMIN_MS, err, sizeof(err));
    rd_kafka_AdminOptions_set_operation_timeout(opts, ADMIN_MS, err, sizeof(err));
    rd_kafka_CreateTopics(rk, nt, (size_t)m, opts, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, ADMIN_MS + 5000);
    int rc = 0;
    if (!ev || rd_kafka_event_error(ev)) {
        snprintf(errstr, errsz, "cannot create the internal topics: %s",
                 ev ? rd_kafka_event_error_string(ev) : "timed out");
        rc = -1;
    } else {
        size_t cnt;
        const rd_kafka_topic_result_t **res =
            rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &cnt);
        for (size_t i = 0; i < cnt && rc == 0; i++) {
            rd_kafka_resp_err_t e = rd_kafka_topic_result_error(res[i]);
            if (e && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
                snprintf(errstr, errsz, "cannot create topic '%s': %s",
                         rd_kafka_topic_result_name(res[i]),
                         rd_kafka_topic_result_error_string(res[i]));
                rc = -1;
            }
        }
    }
    if (ev) rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(opts);
    rd_kafka_queue_destroy(q);
    for (int j = 0; j < m; j++)
        rd_kafka_NewTopic_destroy(nt[j]);
    return rc;
}

/* Kafka Connect's check (TopicAdmin.verifyTopicCleanupPolicyOnlyCompact): exactly compact. */
static int check_compacted(rd_kafka_t *rk, itopic_t *t, int n, char *errstr, size_t errsz)
{
    rd_kafka_ConfigResource_t *res[8];
    char err[512];
    for (int i = 0; i < n; i++)
        res[i] = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, t[i].name);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *opts =
        rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS);
    rd_kafka_AdminOptions_set_request_timeout(opts, ADMIN_MS, err, sizeof(err));
    rd_kafka_DescribeConfigs(rk, res, (size_t)n, opts, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, ADMIN_MS + 5000);
    int rc = 0;
    if (!ev || rd_kafka_event_error(ev)) {
        /* Connect goes on (with a log line) when it cannot describe the configs. */
        lc_info(NULL, "cannot verify the cleanup policy of the internal topics: %s",
                ev ? rd_kafka_event_error_string(ev) : "timed out");
    } else {
        size_t cnt;
        const rd_kafka_ConfigResource_t **out = rd_kafka_DescribeConfigs_result_resources(
            rd_kafka_event_DescribeConfigs_result(ev), &cnt);
        for (size_t i = 0; i < cnt && rc == 0; i++) {
            const char *name = rd_kafka_ConfigResource_name(out[i]);
            itopic_t *it = NULL;
            for (int j = 0; j < n; j++)
                if (strcmp(t[j].name, name) == 0) it = &t[j];
            if (!it || rd_kafka_ConfigResource_error(out[i])) continue;
            size_t ce;
            const rd_kafka_ConfigEntry_t **entries = rd_kafka_ConfigResource_configs(out[i], &ce);
            for (size_t e = 0; e < ce; e++) {
                if (strcmp(rd_kafka_ConfigEntry_name(entries[e]), "cleanup.policy") != 0) continue;
                const char *v = rd_kafka_ConfigEntry_value(entries[e]);
                char norm[256];
                size_t k = 0;
                for (const char *p = v ? v : ""; *p && k + 1 < sizeof(norm); p++)
                    if (*p != ' ') norm[k++] = *p;
                norm[k] = 0;
                if (strcmp(norm, "compact") != 0) {
                    snprintf(errstr, errsz,
                             "Topic '%s' supplied via the '%s' property is required to have "
                             "'cleanup.policy=compact' to guarantee consistency and durability of "
                             "%s, but found the topic currently has 'cleanup.policy=%s'. "
                             "Continuing would likely result in eventually losing %s and problems "
                             "restarting this Connect cluster in the future. Change the '%s' "
                             "property in the Connect worker configurations to use a topic with "
                             "'cleanup.policy=compact'.",
                             it->name, it->property, it->purpose, norm, it->purpose, it->property);
                    rc = -1;
                }
            }
        }
    }
    if (ev) rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(opts);
    rd_kafka_queue_destroy(q);
    for (int i = 0; i < n; i++)
        rd_kafka_ConfigResource_destroy(res[i]);
    return rc;
}

int lc_internal_topics_ensure(lc_kafka_t *k, const lc_props_t *p, char *errstr, size_t errsz)
{
    const char *keys[] = {"offset.storage.topic", "config.storage.topic", "status.storage.topic"};
    for (int i = 0; i < 3; i++)
        if (!lc_props_get(p, keys[i]) || !*lc_props_get(p, keys[i])) {
            snprintf(errstr, errsz,
                     "Missing required configuration \"%s\" which has no default value.", keys[i]);
            return -1;
        }
    const char *config = lc_props_get(p, "config.storage.topic");
    char coord[600];
    lc_internal_topics_coordination(p, coord, sizeof(coord));
    /* DistributedConfig's definition order decides which bad value is reported first. */
    int off_parts = read_count(p, "offset.storage.partitions", 25, 0, errstr, errsz);
    if (off_parts == -2) return -1;
    int off_rf = read_count(p, "offset.storage.replication.factor", 3, 1, errstr, errsz);
    if (off_rf == -2) return -1;
    int config_rf = read_count(p, "config.storage.replication.factor", 3, 1, errstr, errsz);
    if (config_rf == -2) return -1;
    int st_parts = read_count(p, "status.storage.partitions", 5, 0, errstr, errsz);
    if (st_parts == -2) return -1;
    int st_rf = read_count(p, "status.storage.replication.factor", 3, 1, errstr, errsz);
    if (st_rf == -2) return -1;
    itopic_t t[4] = {
        {config, "config.storage.topic", "connector configurations", 1, config_rf, 0, 0},
        {lc_props_get(p, "offset.storage.topic"), "offset.storage.topic",
         "source connector offsets", off_parts, off_rf, 0, 0},
        {lc_props_get(p, "status.storage.topic"), "status.storage.topic",
         "connector and task statuses", st_parts, st_rf, 0, 0},
        {coord, "luaconnect.coordination.topic", "the workers' assignments", 1, config_rf, 0, 0},
    };
    rd_kafka_t *rk = lc_kafka_admin(k, errstr, errsz);
    if (!rk) return -1;
    if (describe(rk, t, 4, errstr, errsz) != 0) return -1;
    if (create_missing(rk, t, 4, errstr, errsz) != 0) return -1;
    /* A topic created a moment ago (here or by another client) may not be in the metadata
     * yet: ask again until all four are, so the partition check below never skips one. */
    for (int tries = 0;; tries++) {
        if (describe(rk, t, 4, errstr, errsz) != 0) return -1;
        int all = 1;
        for (int i = 0; i < 4; i++)
            all &= t[i].exists && t[i].found_partitions > 0;
        if (all || tries >= 100) break;
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
    }
    for (int i = 0; i < 4; i += 3)
        if (t[i].exists && t[i].found_partitions > 1) {
            snprintf(errstr, errsz,
                     "Topic '%s' supplied via the '%s' property is required to have a single "
                     "partition in order to guarantee consistency of %s, but found %d partitions.",
                     t[i].name, t[i].property, i == 0 ? "connector configurations" : t[i].purpose,
                     t[i].found_partitions);
            return -1;
        }
    return check_compacted(rk, t, 4, errstr, errsz);
}

int lc_internal_topic_ensure(lc_kafka_t *k, const char *topic, const char *property,
                             const char *purpose, int partitions, int replication, char *errstr,
                             size_t errsz)
{
    /* The embedded broker has no CreateTopics controller and no compaction to check. */
    if (lc_kafka_ensure_topic(k, topic)) return 0;
    rd_kafka_t *rk = lc_kafka_admin(k, errstr, errsz);
    if (!rk) return -1;
    itopic_t t[1] = {{topic, property, purpose, partitions, replication, 0, 0}};
    if (describe(rk, t, 1, errstr, errsz) != 0 || create_missing(rk, t, 1, errstr, errsz) != 0)
        return -1;
    return check_compacted(rk, t, 1, errstr, errsz);
}

void lc_internal_topics_coordination(const lc_props_t *p, char *out, size_t out_size)
{
    const char *coord = lc_props_get(p, "luaconnect.coordination.topic");
    const char *config = lc_props_get(p, "config.storage.topic");
    if (coord && *coord)
        snprintf(out, out_size, "%s", coord);
    else if (config && *config)
        snprintf(out, out_size, "%s-luaconnect", config);
    else if (out_size)
        out[0] = 0;
}
