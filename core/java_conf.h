/* java_conf: a Kafka Connect worker's or connector's Java client settings in librdkafka's
 * terms, so that the configs written for Connect (Confluent Cloud's, a SASL cluster's) run
 * unchanged: a Java-only key or value with a librdkafka twin is set as that twin
 * (sasl.jaas.config's login module options as sasl.username / sasl.password and the like,
 * fetch.max.wait.ms as fetch.wait.max.ms, auto.offset.reset=none as error, a PEM trust store
 * as ssl.ca.location, ...); every other key goes to librdkafka as it is.
 * Depends on log and librdkafka. */
#ifndef LC_JAVA_CONF_H
#define LC_JAVA_CONF_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>

/** Sets key=value on conf as a Java Kafka client would take it. RD_KAFKA_CONF_OK when set
 * (or dropped with a warning that says why, e.g. a JKS trust store librdkafka cannot read),
 * RD_KAFKA_CONF_UNKNOWN when neither librdkafka nor this table knows the key (a Java-only
 * setting the caller may ignore), RD_KAFKA_CONF_INVALID with errstr giving the reason (the
 * caller names the key and where it came from). */
rd_kafka_conf_res_t lc_java_conf_set(rd_kafka_conf_t *conf, const char *key, const char *value,
                                     char *errstr, size_t errstr_size);

#endif
