/* txwriter: see txwriter.h. */
#include "txwriter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct lc_txwriter {
    rd_kafka_t *rk;
    int fenced;
};

static int set(rd_kafka_conf_t *conf, const char *key, const char *value, char *errstr,
               size_t errsz)
{
    return lc_kafka_set(conf, "leader producer", key, value, errstr, errsz);
}

/* Fills errstr from a transactional error; marks the writer fenced when it is fatal. */
static int fail(lc_txwriter_t *w, rd_kafka_error_t *e, const char *what, char *errstr, size_t errsz)
{
    snprintf(errstr, errsz, "%s: %s", what, rd_kafka_error_string(e));
    if (rd_kafka_error_is_fatal(e) || rd_kafka_error_code(e) == RD_KAFKA_RESP_ERR__FENCED ||
        rd_kafka_error_code(e) == RD_KAFKA_RESP_ERR_PRODUCER_FENCED ||
        rd_kafka_error_code(e) == RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH)
        w->fenced = 1;
    rd_kafka_error_destroy(e);
    return -1;
}

lc_txwriter_t *lc_txwriter_start(lc_kafka_t *k, const char *txid, int timeout_ms, char *errstr,
                                 size_t errsz)
{
    lc_txwriter_t *w = calloc(1, sizeof(*w));
    char err[512], cid[512];
    snprintf(cid, sizeof(cid), "%s-leader", txid);
    rd_kafka_conf_t *conf = lc_kafka_internal_conf(k, cid, errstr, errsz);
    if (!conf) {
        free(w);
        return NULL;
    }
    if (set(conf, "transactional.id", txid, errstr, errsz) ||
        set(conf, "partitioner", "murmur2_random", errstr, errsz) ||
        set(conf, "linger.ms", "0", errstr, errsz)) {
        rd_kafka_conf_destroy(conf);
        free(w);
        return NULL;
    }
    w->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (!w->rk) {
        rd_kafka_conf_destroy(conf);
        snprintf(errstr, errsz, "leader producer: %s", err);
        free(w);
        return NULL;
    }
    rd_kafka_error_t *e = rd_kafka_init_transactions(w->rk, timeout_ms);
    if (e) {
        fail(w, e, "cannot claim the leader's transactional.id", errstr, errsz);
        lc_txwriter_stop(w);
        return NULL;
    }
    return w;
}

int lc_txwriter_write(lc_txwriter_t *w, const lc_txrecord_t *recs, int n, int timeout_ms,
                      char *errstr, size_t errsz)
{
    if (w->fenced) {
        snprintf(errstr, errsz, "this worker's leader producer was fenced by a newer leader");
        return -1;
    }
    rd_kafka_error_t *e = rd_kafka_begin_transaction(w->rk);
    if (e) return fail(w, e, "cannot begin a transaction", errstr, errsz);
    for (int i = 0; i < n; i++) {
        rd_kafka_resp_err_t err = rd_kafka_producev(
            w->rk, RD_KAFKA_V_TOPIC(recs[i].topic),
            RD_KAFKA_V_KEY(recs[i].key, strlen(recs[i].key)),
            RD_KAFKA_V_VALUE((void *)recs[i].value, recs[i].value ? strlen(recs[i].value) : 0),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        if (err) {
            snprintf(errstr, errsz, "cannot write '%s' to '%s': %s", recs[i].key, recs[i].topic,
                     rd_kafka_err2str(err));
            rd_kafka_error_t *a = rd_kafka_abort_transaction(w->rk, timeout_ms);
            if (a) {
                char ignored[256];
                fail(w, a, "abort", ignored, sizeof(ignored));
            }
            return -1;
        }
    }
    e = rd_kafka_commit_transaction(w->rk, timeout_ms);
    if (e) {
        int abortable = rd_kafka_error_txn_requires_abort(e);
        fail(w, e, "cannot commit the transaction", errstr, errsz);
        if (abortable && !w->fenced) {
            rd_kafka_error_t *a = rd_kafka_abort_transaction(w->rk, timeout_ms);
            if (a) {
                char ignored[256];
                fail(w, a, "abort", ignored, sizeof(ignored));
            }
        }
        return -1;
    }
    return 0;
}

int lc_txwriter_fenced(const lc_txwriter_t *w)
{
    return w->fenced;
}

void lc_txwriter_stop(lc_txwriter_t *w)
{
    if (!w) return;
    rd_kafka_destroy(w->rk);
    free(w);
}

int lc_txwriter_fence(lc_kafka_t *k, const char *txid, int timeout_ms, char *errstr, size_t errsz)
{
    lc_txwriter_t *w = lc_txwriter_start(k, txid, timeout_ms, errstr, errsz);
    if (!w) return -1;
    lc_txwriter_stop(w);
    return 0;
}
