/* metrics: GET /metrics, the worker's metrics as Prometheus text (0.0.4) or OpenMetrics text
 * (1.0.0), named as Strimzi's JMX exporter rules name Kafka Connect's metrics
 * (kafka_connect_<group>_<metric>{connector,task}) so that existing dashboards work, plus
 * luaconnect_* metrics of our own. Statuses come from the herder, counters from the tasks of
 * this process (task_metrics.h). docs/metrics.md lists every metric.
 * Depends on herder (views), task_metrics, jansson. */
#ifndef LC_METRICS_H
#define LC_METRICS_H

#include "herder.h"

/** The Content-Type of Prometheus text and of OpenMetrics text. */
#define LC_METRICS_PROMETHEUS_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define LC_METRICS_OPENMETRICS_TYPE "application/openmetrics-text; version=1.0.0; charset=utf-8"

/** 1 when an Accept header asks for OpenMetrics text (application/openmetrics-text). */
int lc_metrics_wants_openmetrics(const char *accept);

/** The metrics page of h's worker (caller frees), OpenMetrics when openmetrics is 1; NULL
 * when out of memory. */
char *lc_metrics_render(lc_herder_t *h, int openmetrics);

/** GET /metrics: the page in the format the Accept header (may be NULL) asks for, its
 * Content-Type in *content_type (static). Caller frees; NULL when out of memory. */
char *lc_metrics_page(lc_herder_t *h, const char *accept, const char **content_type);

#endif
