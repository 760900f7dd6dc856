/* kstores_probe: drives klog, kafka_stores and internal_topics against a real broker for
 * tests/integration/test_kafka_stores.py (no CLI reaches these modules yet). Built for the
 * tests only, never installed.
 *
 *   kstores_probe WORKER.properties ensure
 *   kstores_probe WORKER.properties put-offsets WORKER_ID KEY VALUE|null [KEY VALUE|null ...]
 *   kstores_probe WORKER.properties get-offset WORKER_ID KEY        prints the value or (none)
 *   kstores_probe WORKER.properties count-offsets WORKER_ID PREFIX  prints the keys' count
 *   kstores_probe WORKER.properties put-status WORKER_ID CONNECTOR TASK STATE [TRACE]
 *   kstores_probe WORKER.properties status WORKER_ID CONNECTOR TASK prints the JSON or (none)
 *   kstores_probe WORKER.properties partition KEY PARTITIONS        Java's partition of KEY
 *   kstores_probe WORKER.properties create TOPIC PARTITIONS POLICY  a topic made by hand
 *                                                   (replication 1, cleanup.policy=POLICY)
 *   kstores_probe WORKER.properties txn TOPIC N     N aborted then N committed records, in
 *                                                   two transactions
 *   kstores_probe WORKER.properties klog-count TOPIC  reads TOPIC to the end with klog
 *                                                   (read_committed): prints the record count
 * Exit status 0 on success; errors on stderr. */
#include "internal_topics.h"
#include "kafka.h"
#include "kafka_stores.h"
#include "klog.h"
#include "props.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int count;

static void counter(void *arg, int32_t partition, int64_t offset, const void *key, size_t keylen,
                    const void *value, size_t vallen)
{
    count++;
}

static void count_key(void *arg, const char *key, const char *value)
{
    count++;
}

static int txn(lc_kafka_t *k, const char *topic, int n)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", lc_kafka_bootstrap(k), err, sizeof(err)) ||
        rd_kafka_conf_set(conf, "transactional.id", "kstores-probe", err, sizeof(err))) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (!rk) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    rd_kafka_error_t *e = rd_kafka_init_transactions(rk, 30000);
    for (int round = 0; !e && round < 2; round++) {
        e = rd_kafka_begin_transaction(rk);
        for (int i = 0; !e && i < n; i++) {
            char key[32];
            snprintf(key, sizeof(key), "k%d", i);
            rd_kafka_resp_err_t r =
                rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, strlen(key)),
                                  RD_KAFKA_V_VALUE(round ? "committed" : "aborted", round ? 9 : 7),
                                  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
            if (r) e = rd_kafka_error_new(r, "produce: %s", rd_kafka_err2str(r));
        }
        /* flushed first, so the aborted records are in the log (behind an abort marker) */
        if (!e && rd_kafka_flush(rk, 30000))
            e = rd_kafka_error_new(RD_KAFKA_RESP_ERR__TIMED_OUT, "flush timed out");
        if (!e)
            e = round ? rd_kafka_commit_transaction(rk, 30000)
                      : rd_kafka_abort_transaction(rk, 30000);
    }
    rd_kafka_destroy(rk);
    if (e) {
        fprintf(stderr, "transaction: %s\n", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
        return 1;
    }
    return 0;
}

/* The end offsets move past a commit marker only once the coordinator wrote it, a moment
 * after commit_transaction returned: the test asks again until it sees the records. */
static int klog_count(lc_kafka_t *k, const char *topic)
{
    char err[512];
    lc_klog_opts_t o = {.topic = topic, .client_id = "probe-count", .fn = counter};
    lc_klog_t *l = lc_klog_start(k, &o, err, sizeof(err));
    int rc = !l || lc_klog_read_to_end(l, 10000, err, sizeof(err));
    lc_klog_stop(l);
    if (rc) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    printf("%d\n", count);
    return 0;
}

static int create(lc_kafka_t *k, const char *topic, int partitions, const char *policy)
{
    char err[512];
    rd_kafka_t *rk = lc_kafka_admin(k, err, sizeof(err));
    rd_kafka_NewTopic_t *nt =
        rk ? rd_kafka_NewTopic_new(topic, partitions, 1, err, sizeof(err)) : NULL;
    if (!nt) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    rd_kafka_NewTopic_set_config(nt, "cleanup.policy", policy);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 30000);
    size_t n = 0;
    const rd_kafka_topic_result_t **tr =
        ev ? rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n) : NULL;
    int rc = !ev || n != 1 || rd_kafka_topic_result_error(tr[0]);
    if (rc)
        fprintf(stderr, "create %s: %s\n", topic,
                n == 1 ? rd_kafka_topic_result_error_string(tr[0]) : "no answer");
    if (ev) rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_NewTopic_destroy(nt);
    return rc;
}

static int run(lc_kafka_t *k, lc_props_t *p, int argc, char **argv)
{
    char err[2048];
    const char *cmd = argv[2];
    if (strcmp(cmd, "ensure") == 0) {
        if (lc_internal_topics_ensure(k, p, err, sizeof(err))) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        printf("ok\n");
        return 0;
    }
    if (strcmp(cmd, "partition") == 0 && argc == 5) {
        printf("%d\n", lc_klog_java_partition(argv[3], strlen(argv[3]), atoi(argv[4])));
        return 0;
    }
    if (strcmp(cmd, "txn") == 0 && argc == 5) return txn(k, argv[3], atoi(argv[4]));
    if (strcmp(cmd, "klog-count") == 0 && argc == 4) return klog_count(k, argv[3]);
    if (strcmp(cmd, "create") == 0 && argc == 6) return create(k, argv[3], atoi(argv[4]), argv[5]);
    if (argc < 4) return 2;
    lc_kstores_t *s = lc_kstores_start(k, p, argv[3], err, sizeof(err));
    if (!s) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    lc_offset_store_t *os = lc_kstores_offsets(s);
    lc_status_store_t *ss = lc_kstores_statuses(s);
    int rc = 0;
    if (strcmp(cmd, "put-offsets") == 0 && argc >= 6 && argc % 2 == 0) {
        size_t n = (size_t)(argc - 4) / 2;
        const char **keys = calloc(n, sizeof(char *)), **vals = calloc(n, sizeof(char *));
        for (size_t i = 0; i < n; i++) {
            keys[i] = argv[4 + 2 * i];
            vals[i] = strcmp(argv[5 + 2 * i], "null") == 0 ? NULL : argv[5 + 2 * i];
        }
        rc = os->put(os, keys, vals, n, err, sizeof(err));
        free(keys);
        free(vals);
    } else if (strcmp(cmd, "get-offset") == 0 && argc == 5) {
        char *v = os->get(os, argv[4]);
        printf("%s\n", v ? v : "(none)");
        free(v);
    } else if (strcmp(cmd, "count-offsets") == 0 && argc == 5) {
        rc = os->each(os, argv[4], count_key, NULL, err, sizeof(err));
        printf("%d\n", count);
    } else if (strcmp(cmd, "put-status") == 0 && (argc == 7 || argc == 8)) {
        rc = ss->put(ss, argv[4], atoi(argv[5]), argv[6], argc == 8 ? argv[7] : NULL, argv[3], NULL,
                     err, sizeof(err));
    } else if (strcmp(cmd, "status") == 0 && argc == 6) {
        json_t *st = lc_kstores_status(s, argv[4], atoi(argv[5]));
        char *txt = st ? json_dumps(st, JSON_COMPACT) : NULL;
        printf("%s\n", txt ? txt : "(none)");
        free(txt);
        json_decref(st);
    } else {
        rc = 2;
    }
    if (rc == -1) fprintf(stderr, "%s\n", err);
    lc_kstores_stop(s);
    return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
    char err[2048];
    if (argc < 3) {
        fprintf(stderr, "usage: kstores_probe WORKER.properties COMMAND ARGS...\n");
        return 2;
    }
    lc_props_t *p = lc_props_new();
    if (lc_props_parse_file(p, argv[1], err, sizeof(err))) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    lc_kafka_t *k = lc_kafka_new(p, 0, err, sizeof(err));
    if (!k) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    int rc = run(k, p, argc, argv);
    if (rc == 2) fprintf(stderr, "kstores_probe: bad arguments for '%s'\n", argv[2]);
    lc_kafka_destroy(k);
    lc_props_destroy(p);
    return rc;
}
