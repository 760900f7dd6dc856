/* Unit tests for core/config_topic.c: Kafka Connect's config topic records, read as
 * KafkaConfigBackingStore reads them and written byte for byte as it writes them. */
#include "config_topic.h"
#include "connector.h"
#include "lc_test.h"

#include <stdlib.h>
#include <string.h>

static int64_t next_offset;

static int put(lc_cfgtopic_t *s, const char *key, const char *value)
{
    return lc_cfgtopic_apply(s, key, strlen(key), value, value ? strlen(value) : 0, next_offset++);
}

static char *task_value(lc_cfgtopic_t *s, const char *c, int n)
{
    json_t *t = lc_cfgtopic_task_config(s, c, n);
    char *out = t ? json_dumps(t, JSON_COMPACT | JSON_PRESERVE_ORDER) : strdup("(none)");
    json_decref(t);
    return out;
}

TEST(test_values_as_connect_writes_them)
{
    json_t *props = json_pack("{s:s,s:s}", "name", "a", "tasks.max", "1");
    char *v = lc_cfgtopic_config_value(props);
    CHECK_STR(v, "{\"properties\":{\"name\":\"a\",\"tasks.max\":\"1\"}}");
    free(v);
    json_decref(props);
    v = lc_cfgtopic_target_value(LC_TARGET_STOPPED);
    CHECK_STR(v, "{\"state\":\"PAUSED\",\"state.v2\":\"STOPPED\"}");
    free(v);
    v = lc_cfgtopic_target_value(LC_TARGET_STARTED);
    CHECK_STR(v, "{\"state\":\"STARTED\",\"state.v2\":\"STARTED\"}");
    free(v);
    v = lc_cfgtopic_commit_value(3);
    CHECK_STR(v, "{\"tasks\":3}");
    free(v);
    v = lc_cfgtopic_restart_value(1, 0);
    CHECK_STR(v, "{\"include-tasks\":true,\"only-failed\":false}");
    free(v);
    v = lc_cfgtopic_session_key_value("a2V5", "HmacSHA256", 1700000000000LL);
    CHECK_STR(v, "{\"key\":\"a2V5\",\"algorithm\":\"HmacSHA256\",\"creation-timestamp\":"
                 "1700000000000}");
    free(v);
}

TEST(test_connector_tasks_commit)
{
    lc_cfgtopic_t *s = lc_cfgtopic_new();
    CHECK_INT(put(s, "connector-my-conn", "{\"properties\":{\"name\":\"my-conn\"}}"),
              LC_CFGT_CONNECTOR);
    CHECK_INT(lc_cfgtopic_target(s, "my-conn"), LC_TARGET_STARTED);
    CHECK_INT(lc_cfgtopic_task_count(s, "my-conn"), -1);
    /* task configs wait for their commit; "my-conn" has a dash: the last one splits */
    CHECK_INT(put(s, "task-my-conn-0", "{\"properties\":{\"t\":\"0\"}}"), 0);
    CHECK_INT(put(s, "task-my-conn-1", "{\"properties\":{\"t\":\"1\"}}"), 0);
    CHECK_INT(lc_cfgtopic_task_count(s, "my-conn"), -1);
    CHECK_INT(put(s, "commit-my-conn", "{\"tasks\":2}"), LC_CFGT_TASKS);
    CHECK_INT(lc_cfgtopic_task_count(s, "my-conn"), 2);
    char *t = task_value(s, "my-conn", 1);
    CHECK_STR(t, "{\"t\":\"1\"}");
    free(t);
    CHECK_INT(lc_cfgtopic_task_generation(s, "my-conn"), 0);
    /* an incomplete commit (task 1 compacted away) keeps the old tasks, marks inconsistent */
    put(s, "task-my-conn-0", "{\"properties\":{\"t\":\"new\"}}");
    CHECK_INT(put(s, "commit-my-conn", "{\"tasks\":2}"), 0);
    CHECK_INT(lc_cfgtopic_inconsistent(s, "my-conn"), 1);
    t = task_value(s, "my-conn", 0);
    CHECK_STR(t, "{\"t\":\"0\"}");
    free(t);
    /* the deferred updates were cleared: a complete set is needed again */
    put(s, "task-my-conn-1", "{\"properties\":{\"t\":\"x\"}}");
    CHECK_INT(put(s, "commit-my-conn", "{\"tasks\":2}"), 0);
    put(s, "task-my-conn-0", "{\"properties\":{\"t\":\"a\"}}");
    put(s, "task-my-conn-1", "{\"properties\":{\"t\":\"b\"}}");
    CHECK_INT(put(s, "commit-my-conn", "{\"tasks\":2}"), LC_CFGT_TASKS);
    CHECK_INT(lc_cfgtopic_inconsistent(s, "my-conn"), 0);
    CHECK_INT(lc_cfgtopic_task_generation(s, "my-conn"), 1);
    CHECK_INT((int)lc_cfgtopic_offset(s), (int)next_offset);
    lc_cfgtopic_free(s);
}

TEST(test_target_states_and_removal)
{
    lc_cfgtopic_t *s = lc_cfgtopic_new();
    /* an initial target state written before the config (Connect's KIP-980) */
    put(s, "target-state-c", "{\"state\":\"PAUSED\",\"state.v2\":\"STOPPED\"}");
    CHECK_INT(lc_cfgtopic_target(s, "c"), -1); /* no config yet */
    put(s, "connector-c", "{\"properties\":{\"name\":\"c\"}}");
    CHECK_INT(lc_cfgtopic_target(s, "c"), LC_TARGET_STOPPED);
    /* an old worker's record has only "state" */
    CHECK_INT(put(s, "target-state-c", "{\"state\":\"PAUSED\"}"), LC_CFGT_TARGET);
    CHECK_INT(lc_cfgtopic_target(s, "c"), LC_TARGET_PAUSED);
    CHECK_INT(put(s, "target-state-c", "{\"state\":\"BOGUS\"}"), 0);
    CHECK_INT(lc_cfgtopic_target(s, "c"), LC_TARGET_PAUSED);
    json_t *names = lc_cfgtopic_connectors(s);
    CHECK_INT((int)json_array_size(names), 1);
    json_decref(names);
    /* deletion: config tombstone then target-state tombstone */
    CHECK_INT(put(s, "connector-c", NULL), LC_CFGT_CONNECTOR);
    put(s, "target-state-c", NULL);
    names = lc_cfgtopic_connectors(s);
    CHECK_INT((int)json_array_size(names), 0);
    json_decref(names);
    CHECK(lc_cfgtopic_config(s, "c") == NULL);
    /* a commit for a connector gone (compacted) is ignored */
    put(s, "task-c-0", "{\"properties\":{}}");
    CHECK_INT(put(s, "commit-c", "{\"tasks\":1}"), 0);
    CHECK_INT(lc_cfgtopic_task_count(s, "c"), -1);
    lc_cfgtopic_free(s);
}

TEST(test_restarts_session_key_and_junk)
{
    lc_cfgtopic_t *s = lc_cfgtopic_new();
    CHECK_INT(put(s, "restart-connector-c", "{\"include-tasks\":true,\"only-failed\":true}"),
              LC_CFGT_RESTART);
    json_t *r = lc_cfgtopic_take_restarts(s);
    char *d = json_dumps(r, JSON_COMPACT | JSON_SORT_KEYS);
    CHECK_STR(d, "[{\"connector\":\"c\",\"include_tasks\":true,\"only_failed\":true}]");
    free(d);
    json_decref(r);
    r = lc_cfgtopic_take_restarts(s);
    CHECK_INT((int)json_array_size(r), 0);
    json_decref(r);
    CHECK_INT(put(s, "session-key",
                  "{\"key\":\"a2V5\",\"algorithm\":\"HmacSHA256\",\"creation-timestamp\":5}"),
              LC_CFGT_SESSION_KEY);
    const char *alg;
    int64_t created;
    CHECK_STR(lc_cfgtopic_session_key(s, &alg, &created), "a2V5");
    CHECK_STR(alg, "HmacSHA256");
    CHECK_INT((int)created, 5);
    /* what Connect discards: unknown keys, bad JSON, wrong shapes */
    CHECK_INT(put(s, "something-else", "{}"), 0);
    CHECK_INT(put(s, "connector-x", "not json"), 0);
    CHECK_INT(put(s, "connector-x", "{\"properties\":[1]}"), 0);
    CHECK_INT(put(s, "task-nodash", "{\"properties\":{}}"), 0);
    CHECK(lc_cfgtopic_config(s, "x") == NULL);
    lc_cfgtopic_free(s);
}

int main(void)
{
    RUN(test_values_as_connect_writes_them);
    RUN(test_connector_tasks_commit);
    RUN(test_target_states_and_removal);
    RUN(test_restarts_session_key_and_junk);
    return lc_test_summary(__FILE__);
}
