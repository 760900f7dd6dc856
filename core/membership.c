/* membership: see membership.h. */
#include "membership.h"
#include "log.h"
#include "util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEARTBEAT_MAX_MS 1000L
/* client.id of a membership: CLIENT_PREFIX, the join time in ms (13 digits), '-', the
 * worker id. The range assignor gives partition 0 to the first member id in order, and a
 * member id starts with the client.id, so the oldest membership leads. */
#define CLIENT_PREFIX "luaconnect-"
#define CLIENT_TIME_DIGITS 13

struct lc_membership {
    rd_kafka_t *rk;     /* the member; replaced by the membership thread after a loss */
    rd_kafka_t *lister; /* lists the group's members (any thread) */
    lc_kafka_t *k;
    const lc_props_t *props;
    char topic[256], worker_id[256];
    int retire; /* membership lost: this handle leaves, a new one (a new join time) joins */
    char group[256];
    pthread_t thread;
    atomic_int stop;
    atomic_long leave_ms; /* lc_membership_leave: leave now, join again after this long */
    pthread_mutex_t mu; /* guards view */
    lc_member_view_t view;
    void (*notify)(void *arg);
    void *arg;
};

static void set_view(lc_membership_t *m, int joined, int leader, int rebalanced, int lost)
{
    pthread_mutex_lock(&m->mu);
    m->view.joined = joined;
    m->view.leader = leader;
    if (rebalanced) m->view.rebalances++;
    if (lost) m->view.losses++;
    pthread_mutex_unlock(&m->mu);
    if (m->notify) m->notify(m->arg);
}

/* After a loss (session timeout, a SIGSTOP, a partition) the handle must not simply rejoin:
 * its old join time would sort first and take the leadership back from the worker that
 * took over (Connect's rule: a member that comes back joins as a follower). It stops
 * joining here, and the membership thread replaces it with a handle that has a new join
 * time. */
static void retire(lc_membership_t *m)
{
    if (m->retire) return;
    m->retire = 1;
    rd_kafka_unsubscribe(m->rk);
}

/* Runs inside rd_kafka_consumer_poll on the membership thread. */
static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    lc_membership_t *m = opaque;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        rd_kafka_assign(rk, parts);
        int leader = 0;
        for (int i = 0; i < parts->cnt; i++)
            if (parts->elems[i].partition == 0) leader = 1;
        /* Nothing is read through this consumer: the coordination topic is read by a log. */
        if (parts->cnt) rd_kafka_pause_partitions(rk, parts);
        if (m->retire) return; /* a lost membership's handle never leads again */
        lc_info(NULL, "cluster: joined group '%s' as %s", m->group, leader ? "leader" : "follower");
        set_view(m, 1, leader, 1, 0);
    } else {
        int lost = rd_kafka_assignment_lost(rk);
        rd_kafka_assign(rk, NULL);
        if (lost) {
            lc_warn(NULL,
                    "cluster: membership of group '%s' was lost; joining again as a new member",
                    m->group);
            retire(m);
        }
        set_view(m, !lost, 0, 0, lost);
    }
}

static rd_kafka_t *join(lc_membership_t *m, char *errstr, size_t errsz);

static void *run(void *arg)
{
    lc_membership_t *m = arg;
    while (!atomic_load(&m->stop)) {
        long backoff = atomic_exchange(&m->leave_ms, 0);
        if (backoff > 0) {
            /* A proper LeaveGroup: the others rebalance at once, without waiting for a session
             * timeout. Counted as a loss, so the worker stops what it runs. */
            rd_kafka_consumer_close(m->rk);
            rd_kafka_destroy(m->rk);
            m->rk = NULL;
            set_view(m, 0, 0, 0, 1);
            for (long waited = 0; waited < backoff && !atomic_load(&m->stop); waited += 100)
                rd_kafka_poll(m->lister, 100);
            if (atomic_load(&m->stop)) break;
            atomic_store(&m->leave_ms, 0); /* asked again while away: already done */
            lc_info(NULL, "cluster: joining group '%s' again after %ld ms away", m->group, backoff);
            m->retire = 1; /* joins below with a new handle, so as a follower */
        }
        if (m->retire) {
            char err[512];
            /* The membership is gone already and the handle stopped joining (retire()):
             * nothing to leave, and a close would wait for the unsubscribe to settle (6 s
             * measured) before the new handle could join. */
            if (m->rk) rd_kafka_destroy_flags(m->rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
            m->retire = 0;
            while (!(m->rk = join(m, err, sizeof(err))) && !atomic_load(&m->stop)) {
                lc_error(NULL, "cluster: %s (trying again in 1 s)", err);
                for (int i = 0; i < 10 && !atomic_load(&m->stop); i++)
                    rd_kafka_poll(m->lister, 100);
            }
            if (!m->rk) break;
            continue;
        }
        rd_kafka_message_t *msg = rd_kafka_consumer_poll(m->rk, 200);
        if (!msg) continue;
        if (msg->err && msg->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            const char *e = rd_kafka_message_errstr(msg);
            if (msg->err == RD_KAFKA_RESP_ERR__MAX_POLL_EXCEEDED ||
                msg->err == RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID) {
                lc_warn(NULL, "cluster: left group '%s': %s", m->group, e);
                retire(m);
                set_view(m, 0, 0, 0, 1);
            } else {
                lc_debug(NULL, "cluster: group '%s': %s", m->group, e);
            }
        }
        rd_kafka_message_destroy(msg);
    }
    return NULL;
}

static int set(rd_kafka_conf_t *conf, const char *key, const char *value, char *errstr,
               size_t errsz)
{
    return lc_kafka_set(conf, "cluster membership", key, value, errstr, errsz);
}

/* A new member handle: a consumer of the coordination topic in the group, with a client.id
 * that carries the join time. NULL with errstr. */
static rd_kafka_t *join(lc_membership_t *m, char *errstr, size_t errsz)
{
    char cid[512], err[512];
    snprintf(cid, sizeof(cid), CLIENT_PREFIX "%0*lld-%s", CLIENT_TIME_DIGITS,
             (long long)lc_wall_ms(), m->worker_id);
    rd_kafka_conf_t *conf = lc_kafka_internal_conf(m->k, cid, errstr, errsz);
    if (!conf) return NULL;
    /* Heartbeats at most HEARTBEAT_MAX_MS apart (heartbeat.interval.ms when lower): a member
     * learns that the group rebalances from its next heartbeat, so this bounds how long after
     * a dead worker's session times out the survivors take over its work (Connect's default
     * 3000 ms would add up to 3 s). One small request a second per worker. */
    char hb[32];
    const lc_props_t *props = m->props;
    long hb_ms = strtol(lc_props_get_or(props, "heartbeat.interval.ms", "3000"), NULL, 10);
    if (hb_ms <= 0 || hb_ms > HEARTBEAT_MAX_MS) hb_ms = HEARTBEAT_MAX_MS;
    snprintf(hb, sizeof(hb), "%ld", hb_ms);
    if (set(conf, "group.id", m->group, errstr, errsz) ||
        set(conf, "session.timeout.ms", lc_props_get_or(props, "session.timeout.ms", "10000"),
            errstr, errsz) ||
        set(conf, "heartbeat.interval.ms", hb, errstr, errsz) ||
        set(conf, "max.poll.interval.ms", lc_props_get_or(props, "rebalance.timeout.ms", "60000"),
            errstr, errsz) ||
        set(conf, "partition.assignment.strategy", "range", errstr, errsz) ||
        set(conf, "enable.auto.commit", "false", errstr, errsz) ||
        set(conf, "enable.auto.offset.store", "false", errstr, errsz) ||
        set(conf, "auto.offset.reset", "latest", errstr, errsz)) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_conf_set_opaque(conf, m);
    rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        snprintf(errstr, errsz, "cluster membership: %s", err);
        return NULL;
    }
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, m->topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(rk, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    if (e) {
        snprintf(errstr, errsz, "cluster membership: cannot subscribe to '%s': %s", m->topic,
                 rd_kafka_err2str(e));
        rd_kafka_destroy(rk);
        return NULL;
    }
    return rk;
}

lc_membership_t *lc_membership_start(lc_kafka_t *k, const lc_props_t *props, const char *group_id,
                                     const char *topic, const char *worker_id,
                                     void (*notify)(void *arg), void *arg, char *errstr,
                                     size_t errsz)
{
    lc_membership_t *m = calloc(1, sizeof(*m));
    char err[512];
    snprintf(m->group, sizeof(m->group), "%s", group_id);
    snprintf(m->topic, sizeof(m->topic), "%s", topic);
    snprintf(m->worker_id, sizeof(m->worker_id), "%s", worker_id);
    m->k = k;
    m->props = props;
    pthread_mutex_init(&m->mu, NULL);
    m->notify = notify;
    m->arg = arg;
    char cid[512];
    snprintf(cid, sizeof(cid), "%s-members", worker_id);
    rd_kafka_conf_t *conf = lc_kafka_internal_conf(k, cid, errstr, errsz);
    if (!conf) goto fail;
    m->lister = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (!m->lister) {
        rd_kafka_conf_destroy(conf);
        snprintf(errstr, errsz, "cluster membership: %s", err);
        goto fail;
    }
    if (!(m->rk = join(m, errstr, errsz))) goto fail;
    if (pthread_create(&m->thread, NULL, run, m) != 0) {
        snprintf(errstr, errsz, "cluster membership: cannot start its thread");
        goto fail;
    }
    return m;
fail:
    if (m->rk) rd_kafka_destroy(m->rk);
    if (m->lister) rd_kafka_destroy(m->lister);
    pthread_mutex_destroy(&m->mu);
    free(m);
    return NULL;
}

/** The worker id in a membership's client.id (see join()), or NULL for another client. */
const char *lc_membership_worker_id(const char *client_id)
{
    size_t n = strlen(CLIENT_PREFIX);
    if (!client_id || strncmp(client_id, CLIENT_PREFIX, n) != 0) return NULL;
    for (size_t i = 0; i < CLIENT_TIME_DIGITS; i++)
        if (client_id[n + i] < '0' || client_id[n + i] > '9') return NULL;
    if (client_id[n + CLIENT_TIME_DIGITS] != '-') return NULL;
    return client_id + n + CLIENT_TIME_DIGITS + 1;
}

lc_member_view_t lc_membership_view(lc_membership_t *m)
{
    pthread_mutex_lock(&m->mu);
    lc_member_view_t v = m->view;
    pthread_mutex_unlock(&m->mu);
    return v;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

json_t *lc_membership_members(lc_membership_t *m, char *errstr, size_t errsz)
{
    const struct rd_kafka_group_list *groups = NULL;
    rd_kafka_resp_err_t err = rd_kafka_list_groups(m->lister, m->group, &groups, 5000);
    if (err) {
        snprintf(errstr, errsz, "cannot list the members of group '%s': %s", m->group,
                 rd_kafka_err2str(err));
        return NULL;
    }
    json_t *out = NULL;
    if (groups->group_cnt != 1 || groups->groups[0].err) {
        snprintf(errstr, errsz, "cannot list the members of group '%s': %s", m->group,
                 groups->group_cnt ? rd_kafka_err2str(groups->groups[0].err) : "no such group");
    } else if (strcmp(groups->groups[0].state, "Stable") != 0) {
        snprintf(errstr, errsz, "group '%s' is %s", m->group, groups->groups[0].state);
    } else {
        const struct rd_kafka_group_info *g = &groups->groups[0];
        const char **ids = calloc((size_t)g->member_cnt + 1, sizeof(*ids));
        size_t n = 0;
        for (int i = 0; i < g->member_cnt; i++) {
            const char *wid = lc_membership_worker_id(g->members[i].client_id);
            if (wid) ids[n++] = wid;
        }
        qsort(ids, n, sizeof(*ids), cmp_str);
        out = json_array();
        for (size_t i = 0; i < n; i++)
            if (i == 0 || strcmp(ids[i], ids[i - 1]) != 0)
                json_array_append_new(out, json_string(ids[i]));
        free(ids);
    }
    rd_kafka_group_list_destroy(groups);
    return out;
}

void lc_membership_leave(lc_membership_t *m, long backoff_ms)
{
    atomic_store(&m->leave_ms, backoff_ms > 0 ? backoff_ms : 1);
}

void lc_membership_stop(lc_membership_t *m)
{
    if (!m) return;
    atomic_store(&m->stop, 1);
    pthread_join(m->thread, NULL);
    if (m->rk) {
        rd_kafka_consumer_close(m->rk); /* leaves the group: the others rebalance now */
        rd_kafka_destroy(m->rk);
    }
    rd_kafka_destroy(m->lister);
    pthread_mutex_destroy(&m->mu);
    free(m);
}
