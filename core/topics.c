/* topics: see topics.h. */
#include "topics.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>

/* Connect's 403 messages (ConnectorsResource). */
static int disabled(const lc_task_env_t *env, int reset, char *errstr, size_t errsz)
{
    if (!env->topic_tracking) {
        snprintf(errstr, errsz, "Topic tracking is disabled.");
        return 403;
    }
    if (reset && !env->topic_tracking_reset) {
        snprintf(errstr, errsz, "Topic tracking reset is disabled.");
        return 403;
    }
    return 0;
}

int lc_topics_get(const lc_task_env_t *env, const char *name, json_t **out, char *errstr,
                  size_t errsz)
{
    int code = disabled(env, 0, errstr, errsz);
    if (code) return code;
    lc_status_store_t *ss = env->statuses;
    json_t *list = json_array();
    char **topics = ss && ss->topics ? ss->topics(ss, name) : NULL;
    for (size_t i = 0; topics && topics[i]; i++) {
        json_array_append_new(list, json_string(topics[i]));
        free(topics[i]);
    }
    free(topics);
    *out = json_pack("{s:{s:o}}", name, "topics", list);
    return 200;
}

int lc_topics_reset(const lc_task_env_t *env, const char *name, char *errstr, size_t errsz)
{
    int code = disabled(env, 1, errstr, errsz);
    if (code) return code;
    lc_status_store_t *ss = env->statuses;
    if (ss && ss->topics_reset && ss->topics_reset(ss, name, errstr, errsz) != 0) return 500;
    return 202;
}
