/* offsets_admin: see offsets_admin.h. */
#include "offsets_admin.h"
#include "log.h"
#include "task.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ADMIN_TIMEOUT_MS 15000

/* Waits for an admin result on q; returns the event or NULL with errstr. */
static rd_kafka_event_t *admin_wait(rd_kafka_queue_t *q, const char *what, char *errstr,
                                    size_t errsz)
{
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, ADMIN_TIMEOUT_MS + 2000);
    if (!ev) {
        snprintf(errstr, errsz, "%s: no answer from Kafka within %d ms", what, ADMIN_TIMEOUT_MS);
        return NULL;
    }
    if (rd_kafka_event_error(ev)) {
        snprintf(errstr, errsz, "%s: %s", what, rd_kafka_event_error_string(ev));
        rd_kafka_event_destroy(ev);
        return NULL;
    }
    return ev;
}

/* Checks one group result and its partitions; copies the partitions to *parts if asked. */
static int group_result(const rd_kafka_group_result_t **groups, size_t n, const char *what,
                        rd_kafka_topic_partition_list_t **parts, char *errstr, size_t errsz)
{
    if (n < 1) {
        snprintf(errstr, errsz, "%s: empty answer from Kafka", what);
        return -1;
    }
    const rd_kafka_error_t *e = rd_kafka_group_result_error(groups[0]);
    if (e && rd_kafka_error_code(e) != RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND) {
        snprintf(errstr, errsz, "%s: %s", what, rd_kafka_error_string(e));
        return -1;
    }
    const rd_kafka_topic_partition_list_t *p = rd_kafka_group_result_partitions(groups[0]);
    for (int i = 0; p && i < p->cnt; i++)
        if (p->elems[i].err && p->elems[i].err != RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND) {
            snprintf(errstr, errsz, "%s: partition %s-%d: %s", what, p->elems[i].topic,
                     p->elems[i].partition, rd_kafka_err2str(p->elems[i].err));
            return -1;
        }
    if (parts) *parts = p ? rd_kafka_topic_partition_list_copy(p) : NULL;
    return 0;
}

static rd_kafka_AdminOptions_t *admin_options(rd_kafka_t *rk)
{
    char err[256];
    rd_kafka_AdminOptions_t *o = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_ANY);
    rd_kafka_AdminOptions_set_request_timeout(o, ADMIN_TIMEOUT_MS, err, sizeof(err));
    return o;
}

static int sink_offsets_get(lc_worker_t *w, const char *group, json_t *list, char *errstr,
                            size_t errsz)
{
    rd_kafka_t *rk = lc_kafka_admin(lc_worker_kafka(w), errstr, errsz);
    if (!rk) return -1;
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *o = admin_options(rk);
    rd_kafka_ListConsumerGroupOffsets_t *req = rd_kafka_ListConsumerGroupOffsets_new(group, NULL);
    rd_kafka_ListConsumerGroupOffsets(rk, &req, 1, o, q);
    rd_kafka_ListConsumerGroupOffsets_destroy(req);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_topic_partition_list_t *parts = NULL;
    int rc = -1;
    rd_kafka_event_t *ev = admin_wait(q, "listing the consumer group offsets", errstr, errsz);
    if (ev) {
        size_t n;
        const rd_kafka_group_result_t **g = rd_kafka_ListConsumerGroupOffsets_result_groups(
            rd_kafka_event_ListConsumerGroupOffsets_result(ev), &n);
        rc = group_result(g, n, "listing the consumer group offsets", &parts, errstr, errsz);
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_queue_destroy(q);
    for (int i = 0; parts && i < parts->cnt; i++) {
        if (parts->elems[i].offset < 0) continue;
        json_array_append_new(list, json_pack("{s:{s:s,s:i},s:{s:I}}", "partition", "kafka_topic",
                                              parts->elems[i].topic, "kafka_partition",
                                              parts->elems[i].partition, "offset", "kafka_offset",
                                              (json_int_t)parts->elems[i].offset));
    }
    if (parts) rd_kafka_topic_partition_list_destroy(parts);
    return rc;
}

struct src_offsets {
    const char *name;
    json_t *list;
    char **keys; /* with list == NULL: collect keys (reset) */
    size_t nkeys;
};

static void collect_source_offset(void *arg, const char *key, const char *value)
{
    struct src_offsets *s = arg;
    json_t *k = json_loads(key, 0, NULL);
    if (json_is_array(k) && json_array_size(k) == 2 && json_is_string(json_array_get(k, 0)) &&
        strcmp(json_string_value(json_array_get(k, 0)), s->name) == 0) {
        if (s->list) {
            json_t *v = json_loads(value, JSON_DECODE_ANY, NULL);
            json_array_append_new(s->list, json_pack("{s:O,s:o}", "partition", json_array_get(k, 1),
                                                     "offset", v ? v : json_null()));
        } else {
            s->keys = realloc(s->keys, (s->nkeys + 1) * sizeof(char *));
            s->keys[s->nkeys++] = strdup(key);
        }
    }
    json_decref(k);
}

int lc_offsets_get(lc_worker_t *w, const char *name, int is_source, int known, json_t **out,
                   char *errstr, size_t errsz)
{
    json_t *list = json_array();
    if (!known) {
        snprintf(errstr, errsz,
                 "Connector %s is FAILED and its type is unknown: fix its config "
                 "first",
                 name);
        json_decref(list);
        return 400;
    }
    int rc;
    if (is_source) {
        struct src_offsets s = {name, list, NULL, 0};
        lc_offset_store_t *os = lc_worker_task_env(w)->offsets;
        rc = os->each(os, "[", collect_source_offset, &s, errstr, errsz);
    } else {
        char group[1024];
        snprintf(group, sizeof(group), "connect-%s", name);
        rc = sink_offsets_get(w, group, list, errstr, errsz);
    }
    if (rc != 0) {
        json_decref(list);
        return 500;
    }
    *out = json_pack("{s:o}", "offsets", list);
    return 200;
}

/* Sink offsets: alter the non-null ones, delete the null ones; body NULL deletes the group. */
static int sink_offsets_alter(lc_worker_t *w, const char *group, json_t *offsets, char *errstr,
                              size_t errsz)
{
    rd_kafka_t *rk = lc_kafka_admin(lc_worker_kafka(w), errstr, errsz);
    if (!rk) return 500;
    rd_kafka_topic_partition_list_t *set = rd_kafka_topic_partition_list_new(8);
    rd_kafka_topic_partition_list_t *del = rd_kafka_topic_partition_list_new(8);
    int rc = 400;
    size_t i;
    json_t *e;
    json_array_foreach(offsets, i, e)
    {
        json_t *p = json_object_get(e, "partition"), *o = json_object_get(e, "offset");
        json_t *topic = json_object_get(p, "kafka_topic"),
               *part = json_object_get(p, "kafka_partition");
        if (!json_is_string(topic) || !json_is_integer(part) || json_integer_value(part) < 0) {
            snprintf(errstr, errsz,
                     "offsets[%zu]: Kafka partitions must be given as {\"kafka_topic\": "
                     "string, \"kafka_partition\": non-negative integer}",
                     i);
            goto out;
        }
        if (!o || json_is_null(o)) {
            rd_kafka_topic_partition_list_add(del, json_string_value(topic),
                                              (int32_t)json_integer_value(part));
            continue;
        }
        json_t *off = json_object_get(o, "kafka_offset");
        if (!json_is_object(o) || !json_is_integer(off) || json_integer_value(off) < 0) {
            snprintf(errstr, errsz,
                     "offsets[%zu]: a Kafka offset must be {\"kafka_offset\": "
                     "non-negative integer} or null",
                     i);
            goto out;
        }
        rd_kafka_topic_partition_list_add(set, json_string_value(topic),
                                          (int32_t)json_integer_value(part))
            ->offset = json_integer_value(off);
    }
    rc = 500;
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *opt = admin_options(rk);
    int bad = 0;
    if (set->cnt) {
        rd_kafka_AlterConsumerGroupOffsets_t *req =
            rd_kafka_AlterConsumerGroupOffsets_new(group, set);
        rd_kafka_AlterConsumerGroupOffsets(rk, &req, 1, opt, q);
        rd_kafka_AlterConsumerGroupOffsets_destroy(req);
        rd_kafka_event_t *ev = admin_wait(q, "altering the consumer group offsets", errstr, errsz);
        /* The groups first: n must be set before it is passed (argument order is unspecified). */
        size_t n = 0;
        const rd_kafka_group_result_t **g =
            ev ? rd_kafka_AlterConsumerGroupOffsets_result_groups(
                     rd_kafka_event_AlterConsumerGroupOffsets_result(ev), &n)
               : NULL;
        bad = !ev || group_result(g, n, "altering the consumer group offsets", NULL, errstr, errsz);
        if (ev) rd_kafka_event_destroy(ev);
    }
    if (!bad && (del->cnt || !offsets)) {
        rd_kafka_event_t *ev;
        const rd_kafka_group_result_t **g = NULL;
        size_t n = 0;
        if (offsets) {
            rd_kafka_DeleteConsumerGroupOffsets_t *req =
                rd_kafka_DeleteConsumerGroupOffsets_new(group, del);
            rd_kafka_DeleteConsumerGroupOffsets(rk, &req, 1, opt, q);
            rd_kafka_DeleteConsumerGroupOffsets_destroy(req);
            ev = admin_wait(q, "deleting consumer group offsets", errstr, errsz);
            if (ev)
                g = rd_kafka_DeleteConsumerGroupOffsets_result_groups(
                    rd_kafka_event_DeleteConsumerGroupOffsets_result(ev), &n);
            bad = !ev || group_result(g, n, "deleting consumer group offsets", NULL, errstr, errsz);
        } else {
            rd_kafka_DeleteGroup_t *req = rd_kafka_DeleteGroup_new(group);
            rd_kafka_DeleteGroups(rk, &req, 1, opt, q);
            rd_kafka_DeleteGroup_destroy(req);
            ev = admin_wait(q, "deleting the consumer group", errstr, errsz);
            if (ev)
                g = rd_kafka_DeleteGroups_result_groups(rd_kafka_event_DeleteGroups_result(ev), &n);
            bad = !ev || group_result(g, n, "deleting the consumer group", NULL, errstr, errsz);
        }
        if (ev) rd_kafka_event_destroy(ev);
    }
    rd_kafka_AdminOptions_destroy(opt);
    rd_kafka_queue_destroy(q);
    if (!bad) rc = 200;
out:
    rd_kafka_topic_partition_list_destroy(set);
    rd_kafka_topic_partition_list_destroy(del);
    return rc;
}

static int source_offsets_alter(lc_worker_t *w, const char *name, json_t *offsets, char *errstr,
                                size_t errsz)
{
    lc_offset_store_t *os = lc_worker_task_env(w)->offsets;
    struct src_offsets s = {name, NULL, NULL, 0};
    char **values = NULL;
    int rc = 400;
    if (!offsets) { /* reset: every key of this connector */
        if (os->each(os, "[", collect_source_offset, &s, errstr, errsz) != 0) return 500;
        values = calloc(s.nkeys + 1, sizeof(char *));
    } else {
        size_t i;
        json_t *e;
        values = calloc(json_array_size(offsets) + 1, sizeof(char *));
        s.keys = calloc(json_array_size(offsets) + 1, sizeof(char *));
        json_array_foreach(offsets, i, e)
        {
            json_t *p = json_object_get(e, "partition"), *o = json_object_get(e, "offset");
            if (!json_is_object(p)) {
                snprintf(errstr, errsz, "offsets[%zu]: 'partition' must be an object", i);
                goto out;
            }
            if (o && !json_is_null(o) && !json_is_object(o)) {
                snprintf(errstr, errsz, "offsets[%zu]: 'offset' must be an object or null", i);
                goto out;
            }
            /* The store's key format, exactly as tasks write it: sorted keys, compact. */
            json_t *key = json_pack("[s,O]", name, p);
            s.keys[s.nkeys] = json_dumps(key, JSON_COMPACT | JSON_SORT_KEYS);
            json_decref(key);
            values[s.nkeys++] =
                o && !json_is_null(o) ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        }
    }
    rc = os->put(os, (const char *const *)s.keys, (const char *const *)values, s.nkeys, errstr,
                 errsz) == 0
             ? 200
             : 500;
out:
    for (size_t i = 0; i < s.nkeys; i++) {
        free(s.keys[i]);
        free(values[i]);
    }
    free(s.keys);
    free(values);
    return rc;
}

int lc_offsets_alter(lc_worker_t *w, const char *name, int is_source, int state, int known,
                     json_t *body, char *errstr, size_t errsz)
{
    if (state != LC_TASK_STOPPED) {
        snprintf(errstr, errsz,
                 "Connectors must be in the STOPPED state before their offsets can be modified. "
                 "This can be done for the specified connector by issuing a 'PUT' request to the "
                 "'/connectors/%s/stop' endpoint",
                 name);
        return 400;
    }
    json_t *offsets = NULL;
    if (body) {
        offsets = json_object_get(body, "offsets");
        if (!json_is_array(offsets) || json_array_size(offsets) == 0) {
            snprintf(errstr, errsz, "The offsets to be modified must not be null or empty");
            return 400;
        }
    }
    if (!known) {
        snprintf(errstr, errsz, "Connector %s is FAILED and its type is unknown", name);
        return 400;
    }
    char group[1024];
    snprintf(group, sizeof(group), "connect-%s", name);
    int rc = is_source ? source_offsets_alter(w, name, offsets, errstr, errsz)
                       : sink_offsets_alter(w, group, offsets, errstr, errsz);
    if (rc == 200) {
        lc_info(NULL, "connector '%s': offsets %s", name, body ? "altered" : "reset");
        snprintf(errstr, errsz, "The offsets for this connector have been %s successfully",
                 body ? "altered" : "reset");
    }
    return rc;
}
