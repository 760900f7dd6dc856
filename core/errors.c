/* errors: see errors.h. */
#include "errors.h"
#include "config.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int lc_errors_parse(lc_errors_t *e, const lc_props_t *p, const char *label, char *errs,
                    size_t errsz, size_t *elen)
{
    int bad = 0;
    long rf = 3;
    memset(e, 0, sizeof(*e));
    bad |= lc_config_choice(p, "errors.tolerance", label, &e->tolerant, errs, errsz, elen);
    e->tolerant = e->tolerant == 1; /* choices: none, all */
    bad |=
        lc_config_long(p, "errors.retry.timeout", label, &e->retry_timeout_ms, errs, errsz, elen);
    bad |= lc_config_long(p, "errors.retry.delay.max.ms", label, &e->retry_delay_max_ms, errs,
                          errsz, elen);
    bad |= lc_config_bool(p, "errors.log.enable", label, &e->log_enable, errs, errsz, elen);
    bad |= lc_config_bool(p, "errors.log.include.messages", label, &e->log_include_messages, errs,
                          errsz, elen);
    bad |= lc_config_bool(p, "errors.deadletterqueue.context.headers.enable", label,
                          &e->dlq_headers, errs, errsz, elen);
    bad |= lc_config_long(p, "errors.deadletterqueue.topic.replication.factor", label, &rf, errs,
                          errsz, elen);
    e->dlq_replication = (int)rf;
    const char *dlq = lc_props_get(p, "errors.deadletterqueue.topic.name");
    if (dlq && *dlq) e->dlq_topic = strdup(dlq);
    return bad ? -1 : 0;
}

void lc_errors_free(lc_errors_t *e)
{
    if (!e) return;
    free(e->dlq_topic);
    e->dlq_topic = NULL;
}

int lc_errors_ensure_dlq(const lc_errors_t *e, lc_kafka_t *k, rd_kafka_t *rk, char *errstr,
                         size_t errsz)
{
    char err[512];
    int rc = -1;
    if (!e->dlq_topic) return 0;
    if (lc_kafka_ensure_topic(k, e->dlq_topic)) return 0;
    rd_kafka_NewTopic_t *nt =
        rd_kafka_NewTopic_new(e->dlq_topic, 1, e->dlq_replication, err, sizeof(err));
    if (!nt) {
        snprintf(errstr, errsz, "dead letter queue topic '%s': %s", e->dlq_topic, err);
        return -1;
    }
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *opt = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_AdminOptions_set_request_timeout(opt, 30000, err, sizeof(err));
    rd_kafka_CreateTopics(rk, &nt, 1, opt, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 35000);
    if (!ev) {
        snprintf(errstr, errsz, "dead letter queue topic '%s': no answer from Kafka in 35 s",
                 e->dlq_topic);
        goto out;
    }
    if (rd_kafka_event_error(ev)) {
        snprintf(errstr, errsz, "dead letter queue topic '%s': %s", e->dlq_topic,
                 rd_kafka_event_error_string(ev));
        goto out;
    }
    size_t n;
    const rd_kafka_topic_result_t **res =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
    rc = 0;
    for (size_t i = 0; i < n; i++) {
        rd_kafka_resp_err_t te = rd_kafka_topic_result_error(res[i]);
        if (te && te != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
            snprintf(errstr, errsz,
                     "could not create the dead letter queue topic '%s' "
                     "(errors.deadletterqueue.topic.replication.factor=%d): %s",
                     e->dlq_topic, e->dlq_replication, rd_kafka_topic_result_error_string(res[i]));
            rc = -1;
        }
    }
out:
    if (ev) rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(opt);
    rd_kafka_queue_destroy(q);
    rd_kafka_NewTopic_destroy(nt);
    return rc;
}

static void add_header(rd_kafka_headers_t *h, const char *name, const char *value)
{
    rd_kafka_header_add(h, name, -1, value ? value : "", -1);
}

static void log_failure(const lc_errors_t *e, const char *connector, int task_id, const char *ctx,
                        const lc_failure_t *f)
{
    char rec[1024];
    if (f->partition >= 0)
        snprintf(rec, sizeof(rec), "consumed record is {topic='%s', partition=%d, offset=%lld}",
                 f->topic ? f->topic : "", (int)f->partition, (long long)f->offset);
    else
        snprintf(rec, sizeof(rec), "source record is %s", f->where ? f->where : "(unknown)");
    if (e->log_include_messages)
        lc_error(ctx,
                 "Error encountered in task %s-%d. Executing stage '%s' with class '%s', where %s"
                 " (key=%.*s, value=%.*s): %s",
                 connector, task_id, f->stage, f->class_name, rec, f->key ? (int)f->key_len : 4,
                 f->key ? (const char *)f->key : "null", f->value ? (int)f->value_len : 4,
                 f->value ? (const char *)f->value : "null", f->trace ? f->trace : f->message);
    else
        lc_error(ctx,
                 "Error encountered in task %s-%d. Executing stage '%s' with class '%s', "
                 "where %s: %s",
                 connector, task_id, f->stage, f->class_name, rec,
                 f->trace ? f->trace : f->message);
}

int lc_errors_report(const lc_errors_t *e, const char *connector, int task_id, const char *ctx,
                     rd_kafka_t *rk, const lc_failure_t *f, void *opaque, atomic_int *abort,
                     char *errstr, size_t errsz)
{
    if (e->log_enable) log_failure(e, connector, task_id, ctx, f);
    if (!e->dlq_topic) return 0;
    rd_kafka_headers_t *h =
        f->headers ? rd_kafka_headers_copy(f->headers) : rd_kafka_headers_new(11);
    if (e->dlq_headers) {
        char num[32];
        add_header(h, "__connect.errors.topic", f->topic);
        snprintf(num, sizeof(num), "%d", (int)f->partition);
        add_header(h, "__connect.errors.partition", num);
        snprintf(num, sizeof(num), "%lld", (long long)f->offset);
        add_header(h, "__connect.errors.offset", num);
        add_header(h, "__connect.errors.connector.name", connector);
        snprintf(num, sizeof(num), "%d", task_id);
        add_header(h, "__connect.errors.task.id", num);
        add_header(h, "__connect.errors.stage", f->stage);
        add_header(h, "__connect.errors.class.name", f->class_name);
        add_header(h, "__connect.errors.exception.class.name", f->exception_class);
        add_header(h, "__connect.errors.exception.message", f->message);
        if (f->trace) add_header(h, "__connect.errors.exception.stacktrace", f->trace);
    }
    rd_kafka_resp_err_t err;
    for (;;) {
        err = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(e->dlq_topic),
                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                RD_KAFKA_V_KEY(f->key, f->key ? f->key_len : 0),
                                RD_KAFKA_V_VALUE((void *)f->value, f->value ? f->value_len : 0),
                                RD_KAFKA_V_TIMESTAMP(f->timestamp > 0 ? f->timestamp : 0),
                                RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL || (abort && atomic_load(abort))) break;
        rd_kafka_poll(rk, 20); /* back-pressure: wait for deliveries */
    }
    if (err) {
        rd_kafka_headers_destroy(h);
        snprintf(errstr, errsz, "cannot produce to the dead letter queue '%s': %s", e->dlq_topic,
                 rd_kafka_err2str(err));
        return -1;
    }
    return 1;
}
