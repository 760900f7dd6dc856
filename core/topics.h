/* topics: KIP-558 active topics as the REST API shows them. Tasks record the topics they use
 * in their status store (lc_task_note_topic); this answers GET /connectors/{c}/topics and
 * PUT /connectors/{c}/topics/reset from that store, with Kafka Connect's codes and messages.
 * Depends on store (the status store), task_env (the worker's settings). */
#ifndef LC_TOPICS_H
#define LC_TOPICS_H

#include <jansson.h>
#include <stddef.h>

#include "task_env.h"

/** {"<name>":{"topics":[...]}} in *out: 200, or 403 with errstr (tracking disabled). As in
 * Connect, a connector that does not exist has no topics (200, an empty list). */
int lc_topics_get(const lc_task_env_t *env, const char *name, json_t **out, char *errstr,
                  size_t errstr_size);
/** Forgets the topics name used: 202, 403 (tracking or its reset disabled) or 500, with
 * errstr. */
int lc_topics_reset(const lc_task_env_t *env, const char *name, char *errstr, size_t errstr_size);

#endif
