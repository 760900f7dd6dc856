/* Unit tests for core/java_conf.c: the Java client settings of Kafka Connect configs (a SASL
 * cluster's, Confluent Cloud's) set as librdkafka's, and the exact reasons for those that
 * cannot be. The SASL/PLAIN path also runs against a real broker
 * (tests/integration/test_security.py). */
#include "java_conf.h"
#include "lc_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static const char *get(rd_kafka_conf_t *c, const char *key)
{
    static char v[512];
    size_t vl = sizeof(v);
    return rd_kafka_conf_get(c, key, v, &vl) == RD_KAFKA_CONF_OK ? v : "(unset)";
}

static char err[512];

static rd_kafka_conf_res_t put(rd_kafka_conf_t *c, const char *key, const char *value)
{
    err[0] = 0;
    return lc_java_conf_set(c, key, value, err, sizeof(err));
}

TEST(jaas_plain_and_scram_give_username_and_password)
{
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    CHECK_INT(put(c, "sasl.jaas.config",
                  "org.apache.kafka.common.security.plain.PlainLoginModule required "
                  "username=\"ALICE-KEY\" password=\"se\\\"cr=et;\";"),
              RD_KAFKA_CONF_OK);
    CHECK_STR(get(c, "sasl.username"), "ALICE-KEY");
    CHECK_STR(get(c, "sasl.password"), "se\"cr=et;");
    CHECK_INT(put(c, "sasl.jaas.config",
                  "org.apache.kafka.common.security.scram.ScramLoginModule required\n"
                  "  username=bob\n  password=\"b p\";\n"),
              RD_KAFKA_CONF_OK);
    CHECK_STR(get(c, "sasl.username"), "bob");
    CHECK_STR(get(c, "sasl.password"), "b p");
    rd_kafka_conf_destroy(c);
}

TEST(jaas_oauthbearer_and_kerberos)
{
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    if (put(c, "sasl.jaas.config",
            "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required "
            "clientId=\"app\" clientSecret=\"s3\" scope=\"kafka\";") == RD_KAFKA_CONF_OK) {
        CHECK_STR(get(c, "sasl.oauthbearer.method"), "oidc");
        CHECK_STR(get(c, "sasl.oauthbearer.client.id"), "app");
        CHECK_STR(get(c, "sasl.oauthbearer.scope"), "kafka");
    } else { /* Debian's librdkafka 2.0.2 is built without OIDC: its own reason is given */
        CHECK(strstr(err, "\"sasl.oauthbearer.method\" not supported in this build") != NULL);
        fprintf(stderr, "skipped: OIDC settings (this librdkafka: %s)\n", err);
    }
    rd_kafka_conf_destroy(c);
    c = rd_kafka_conf_new();
    CHECK_INT(put(c, "sasl.jaas.config",
                  "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required "
                  "unsecuredLoginStringClaim_sub=\"alice\";"),
              RD_KAFKA_CONF_OK);
    CHECK_STR(get(c, "enable.sasl.oauthbearer.unsecure.jwt"), "true");
    CHECK_STR(get(c, "sasl.oauthbearer.config"), "principal=alice");
    rd_kafka_conf_destroy(c);
    c = rd_kafka_conf_new();
    CHECK_INT(put(c, "sasl.jaas.config",
                  "com.sun.security.auth.module.Krb5LoginModule required useKeyTab=true "
                  "storeKey=true keyTab=\"/etc/security/keytabs/connect.keytab\" "
                  "principal=\"connect@EXAMPLE.COM\";"),
              RD_KAFKA_CONF_OK);
    CHECK_STR(get(c, "sasl.kerberos.keytab"), "/etc/security/keytabs/connect.keytab");
    CHECK_STR(get(c, "sasl.kerberos.principal"), "connect@EXAMPLE.COM");
    rd_kafka_conf_destroy(c);
}

TEST(jaas_errors_say_what_is_wrong_and_never_the_secret)
{
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    CHECK_INT(put(c, "sasl.jaas.config",
                  "org.apache.kafka.common.security.plain.PlainLoginModule required "
                  "username=\"alice\";"),
              RD_KAFKA_CONF_INVALID);
    CHECK_STR(err, "PlainLoginModule needs the options username and password");
    CHECK_INT(put(c, "sasl.jaas.config",
                  "org.apache.kafka.common.security.plain.PlainLoginModule required "
                  "username=\"alice\" password=\"top-secret"),
              RD_KAFKA_CONF_INVALID);
    CHECK_STR(err, "cannot be read as a JAAS login module entry: a quoted value has no closing "
                   "quote");
    CHECK_INT(put(c, "sasl.jaas.config",
                  "org.apache.kafka.common.security.plain.PlainLoginModule "
                  "username=\"alice\" password=\"top-secret\";"),
              RD_KAFKA_CONF_INVALID);
    CHECK_STR(err, "cannot be read as a JAAS login module entry: 'username' where a control flag "
                   "(required, ...) belongs");
    CHECK_INT(
        put(c, "sasl.jaas.config", "org.example.CustomLoginModule required token=\"top-secret\";"),
        RD_KAFKA_CONF_INVALID);
    CHECK_STR(err, "login module org.example.CustomLoginModule has no librdkafka equivalent "
                   "(PlainLoginModule, ScramLoginModule, OAuthBearerLoginModule and "
                   "Krb5LoginModule have)");
    CHECK_INT(put(c, "sasl.jaas.config",
                  "org.apache.kafka.common.security.plain.PlainLoginModule required "
                  "username=\"a\" password=\"top-secret\"; other.Module required;"),
              RD_KAFKA_CONF_INVALID);
    CHECK_STR(err, "cannot be read as a JAAS login module entry: more than one login module (a "
                   "client uses one)");
    CHECK(strstr(err, "top-secret") == NULL);
    rd_kafka_conf_destroy(c);
}

TEST(renamed_and_rewritten_settings)
{
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    CHECK_INT(put(c, "fetch.max.wait.ms", "250"), RD_KAFKA_CONF_OK);
    CHECK_STR(get(c, "fetch.wait.max.ms"), "250");
    CHECK_INT(put(c, "max.request.size", "2097152"), RD_KAFKA_CONF_OK);
    CHECK_STR(get(c, "message.max.bytes"), "2097152");
    CHECK_INT(put(c, "auto.offset.reset", "none"), RD_KAFKA_CONF_OK);
    CHECK_STR(get(c, "auto.offset.reset"), "error");
    CHECK_INT(put(c, "ssl.endpoint.identification.algorithm", ""), RD_KAFKA_CONF_OK);
    CHECK_STR(get(c, "ssl.endpoint.identification.algorithm"), "none");
    CHECK_INT(put(c, "buffer.memory", "33554432"), RD_KAFKA_CONF_OK);
    CHECK_STR(get(c, "queue.buffering.max.kbytes"), "32768");
    CHECK_INT(put(c, "ssl.truststore.type", "PEM"), RD_KAFKA_CONF_OK);
    CHECK_INT(put(c, "max.block.ms", "100"), RD_KAFKA_CONF_UNKNOWN); /* Java-only */
    CHECK_INT(put(c, "max.poll.records", "100"), RD_KAFKA_CONF_OK);   /* the sink task's */
    CHECK_INT(put(c, "linger.ms", "7"), RD_KAFKA_CONF_OK); /* the same in both */
    CHECK_STR(get(c, "linger.ms"), "7");
    rd_kafka_conf_destroy(c);
}

TEST(java_assignor_classes_become_librdkafka_names)
{
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    CHECK_INT(put(c, "partition.assignment.strategy",
                  "org.apache.kafka.clients.consumer.CooperativeStickyAssignor"),
              RD_KAFKA_CONF_OK);
    CHECK_STR(get(c, "partition.assignment.strategy"), "cooperative-sticky");
    /* Kafka 3's default list: the first one's protocol (eager) wins */
    CHECK_INT(put(c, "partition.assignment.strategy",
                  "org.apache.kafka.clients.consumer.RangeAssignor, "
                  "org.apache.kafka.clients.consumer.CooperativeStickyAssignor"),
              RD_KAFKA_CONF_OK);
    CHECK_STR(get(c, "partition.assignment.strategy"), "range");
    CHECK_INT(put(c, "partition.assignment.strategy", "RoundRobinAssignor,range"),
              RD_KAFKA_CONF_OK);
    CHECK_STR(get(c, "partition.assignment.strategy"), "roundrobin,range");
    CHECK_INT(
        put(c, "partition.assignment.strategy", "org.apache.kafka.clients.consumer.StickyAssignor"),
        RD_KAFKA_CONF_INVALID);
    CHECK_STR(err, "org.apache.kafka.clients.consumer.StickyAssignor has no librdkafka "
                   "equivalent (RangeAssignor, RoundRobinAssignor and CooperativeStickyAssignor "
                   "have)");
    rd_kafka_conf_destroy(c);
}

TEST(a_pem_trust_store_is_the_ca_location_a_jks_one_is_left_out)
{
    char pem[] = "/tmp/lc-java-conf-XXXXXX", jks[] = "/tmp/lc-java-conf-XXXXXX";
    int fd = mkstemp(pem);
    CHECK(fd >= 0 && write(fd, "-----BEGIN CERTIFICATE-----\nMIIB\n", 33) == 33);
    close(fd);
    fd = mkstemp(jks);
    CHECK(fd >= 0 && write(fd, "\xfe\xed\xfe\xed\0\0\0\2", 8) == 8);
    close(fd);
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    CHECK_INT(put(c, "ssl.truststore.location", pem), RD_KAFKA_CONF_OK);
    CHECK_STR(get(c, "ssl.ca.location"), pem);
    rd_kafka_conf_destroy(c);
    c = rd_kafka_conf_new();
    CHECK_INT(put(c, "ssl.truststore.location", jks), RD_KAFKA_CONF_OK);
    CHECK_STR(get(c, "ssl.ca.location"), "(unset)");
    CHECK_INT(put(c, "ssl.truststore.location", "/nonexistent/truststore.jks"),
              RD_KAFKA_CONF_INVALID);
    CHECK_STR(err, "/nonexistent/truststore.jks cannot be read");
    rd_kafka_conf_destroy(c);
    unlink(pem);
    unlink(jks);
}

int main(void)
{
    RUN(jaas_plain_and_scram_give_username_and_password);
    RUN(jaas_oauthbearer_and_kerberos);
    RUN(jaas_errors_say_what_is_wrong_and_never_the_secret);
    RUN(renamed_and_rewritten_settings);
    RUN(java_assignor_classes_become_librdkafka_names);
    RUN(a_pem_trust_store_is_the_ca_location_a_jks_one_is_left_out);
    return lc_test_summary("test_java_conf");
}
