/* java_conf: see java_conf.h. */
#include "java_conf.h"
#include "log.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OPT_MAX 16 /* options of one login module read */

typedef struct {
    char *name, *value;
} opt_t;

typedef struct {
    char module[256];
    opt_t opts[OPT_MAX];
    int n;
} jaas_t;

static void jaas_free(jaas_t *j)
{
    for (int i = 0; i < j->n; i++) {
        free(j->opts[i].name);
        free(j->opts[i].value);
    }
    j->n = 0;
}

static const char *opt(const jaas_t *j, const char *name)
{
    for (int i = 0; i < j->n; i++)
        if (strcmp(j->opts[i].name, name) == 0) return j->opts[i].value;
    return NULL;
}

/* A word of the JAAS syntax (Kafka's JaasConfig reads it with a StreamTokenizer): letters,
 * digits and . _ - $ / : (a class name, a flag, an option's name or unquoted value). */
static int word_char(char c)
{
    return isalnum((unsigned char)c) || strchr("._-$/:", c) != NULL;
}

/* The next token at *p: a word or a quoted string (\" and \\ escaped) into a new string;
 * NULL at the end or on a syntax error (errstr says which). */
static char *token(const char **p, int quoted_ok, char *errstr, size_t errsz)
{
    const char *s = *p;
    while (isspace((unsigned char)*s))
        s++;
    if (quoted_ok && *s == '"') {
        size_t cap = strlen(s), n = 0;
        char *out = malloc(cap + 1);
        if (!out) return NULL;
        for (s++; *s && *s != '"'; s++) {
            if (*s == '\\' && (s[1] == '"' || s[1] == '\\')) s++;
            out[n++] = *s;
        }
        if (*s != '"') {
            free(out);
            snprintf(errstr, errsz, "a quoted value has no closing quote");
            return NULL;
        }
        out[n] = 0;
        *p = s + 1;
        return out;
    }
    const char *b = s;
    while (word_char(*s))
        s++;
    if (s == b) {
        if (*s)
            snprintf(errstr, errsz, "unexpected '%c'", *s);
        else
            snprintf(errstr, errsz, "it ends early");
        return NULL;
    }
    *p = s;
    return strndup(b, (size_t)(s - b));
}

/* Reads "<login module class> <flag> name=value ... ;" (one module: a Kafka client's
 * sasl.jaas.config holds one). 0, or -1 with errstr. */
static int jaas_parse(const char *text, jaas_t *j, char *errstr, size_t errsz)
{
    const char *p = text;
    char *t = token(&p, 0, errstr, errsz);
    memset(j, 0, sizeof(*j));
    if (!t) return -1;
    snprintf(j->module, sizeof(j->module), "%s", t);
    free(t);
    if (!(t = token(&p, 0, errstr, errsz))) return -1;
    int flag = !strcmp(t, "required") || !strcmp(t, "requisite") || !strcmp(t, "sufficient") ||
               !strcmp(t, "optional");
    if (!flag) snprintf(errstr, errsz, "'%s' where a control flag (required, ...) belongs", t);
    free(t);
    if (!flag) return -1;
    for (;;) {
        while (isspace((unsigned char)*p))
            p++;
        if (*p == ';') break;
        if (j->n == OPT_MAX) {
            snprintf(errstr, errsz, "more than %d options", OPT_MAX);
            goto fail;
        }
        char *name = token(&p, 0, errstr, errsz);
        if (!name) goto fail;
        while (isspace((unsigned char)*p))
            p++;
        if (*p != '=') {
            snprintf(errstr, errsz, "option '%s' has no '='", name);
            free(name);
            goto fail;
        }
        p++;
        char *value = token(&p, 1, errstr, errsz);
        if (!value) {
            free(name);
            goto fail;
        }
        j->opts[j->n].name = name;
        j->opts[j->n++].value = value;
    }
    for (p++; isspace((unsigned char)*p); p++)
        ;
    if (*p) {
        snprintf(errstr, errsz, "more than one login module (a client uses one)");
        goto fail;
    }
    return 0;
fail:
    jaas_free(j);
    return -1;
}

/* The class name without its package. */
static const char *simple_name(const char *cls)
{
    const char *dot = strrchr(cls, '.');
    return dot ? dot + 1 : cls;
}

static rd_kafka_conf_res_t set(rd_kafka_conf_t *conf, const char *key, const char *value,
                               char *errstr, size_t errsz)
{
    return rd_kafka_conf_set(conf, key, value, errstr, errsz);
}

/* sasl.jaas.config: the login module's options as librdkafka's SASL settings. */
static rd_kafka_conf_res_t jaas_set(rd_kafka_conf_t *conf, const char *value, char *errstr,
                                    size_t errsz)
{
    jaas_t j;
    char why[256] = "";
    rd_kafka_conf_res_t r = RD_KAFKA_CONF_OK;
    if (jaas_parse(value, &j, why, sizeof(why)) != 0) {
        snprintf(errstr, errsz, "cannot be read as a JAAS login module entry: %s", why);
        return RD_KAFKA_CONF_INVALID;
    }
    const char *m = simple_name(j.module);
    if (!strcmp(m, "PlainLoginModule") || !strcmp(m, "ScramLoginModule")) {
        const char *u = opt(&j, "username"), *pw = opt(&j, "password");
        if (!u || !pw) {
            snprintf(errstr, errsz, "%s needs the options username and password", m);
            r = RD_KAFKA_CONF_INVALID;
        } else if ((r = set(conf, "sasl.username", u, errstr, errsz)) == RD_KAFKA_CONF_OK) {
            r = set(conf, "sasl.password", pw, errstr, errsz);
        }
    } else if (!strcmp(m, "Krb5LoginModule")) {
        const char *kt = opt(&j, "keyTab"), *pr = opt(&j, "principal");
        if (kt) r = set(conf, "sasl.kerberos.keytab", kt, errstr, errsz);
        if (r == RD_KAFKA_CONF_OK && pr)
            r = set(conf, "sasl.kerberos.principal", pr, errstr, errsz);
    } else if (!strcmp(m, "OAuthBearerLoginModule")) {
        const char *id = opt(&j, "clientId"), *secret = opt(&j, "clientSecret");
        const char *scope = opt(&j, "scope"), *sub = opt(&j, "unsecuredLoginStringClaim_sub");
        if (id && secret) { /* OIDC client credentials (KIP-768) */
            r = set(conf, "sasl.oauthbearer.method", "oidc", errstr, errsz);
            if (r == RD_KAFKA_CONF_OK)
                r = set(conf, "sasl.oauthbearer.client.id", id, errstr, errsz);
            if (r == RD_KAFKA_CONF_OK)
                r = set(conf, "sasl.oauthbearer.client.secret", secret, errstr, errsz);
            if (r == RD_KAFKA_CONF_OK && scope)
                r = set(conf, "sasl.oauthbearer.scope", scope, errstr, errsz);
        } else if (sub) { /* unsecured JWTs, for development */
            char cfg[512];
            snprintf(cfg, sizeof(cfg), "principal=%s", sub);
            r = set(conf, "enable.sasl.oauthbearer.unsecure.jwt", "true", errstr, errsz);
            if (r == RD_KAFKA_CONF_OK) r = set(conf, "sasl.oauthbearer.config", cfg, errstr, errsz);
        } else {
            snprintf(errstr, errsz,
                     "OAuthBearerLoginModule needs clientId and clientSecret (OIDC) or "
                     "unsecuredLoginStringClaim_sub");
            r = RD_KAFKA_CONF_INVALID;
        }
    } else {
        snprintf(errstr, errsz,
                 "login module %s has no librdkafka equivalent (PlainLoginModule, "
                 "ScramLoginModule, OAuthBearerLoginModule and Krb5LoginModule have)",
                 j.module);
        r = RD_KAFKA_CONF_INVALID;
    }
    jaas_free(&j);
    return r;
}

/* One Java assignor name (a class, with or without its package, or librdkafka's name) as
 * librdkafka's; NULL when it has none. */
static const char *assignor(const char *name)
{
    static const char *const map[][2] = {{"RangeAssignor", "range"},
                                         {"RoundRobinAssignor", "roundrobin"},
                                         {"CooperativeStickyAssignor", "cooperative-sticky"},
                                         {"range", "range"},
                                         {"roundrobin", "roundrobin"},
                                         {"cooperative-sticky", "cooperative-sticky"}};
    const char *s = simple_name(name);
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (!strcmp(s, map[i][0])) return map[i][1];
    return NULL;
}

/* partition.assignment.strategy: a list of Java assignor classes as librdkafka's names. A
 * Java consumer given eager and cooperative assignors together (Kafka 3's default, "range,
 * cooperative-sticky") uses the first until every member can upgrade; librdkafka takes one
 * protocol, so the assignors of the first one's protocol are kept. */
static rd_kafka_conf_res_t assignors_set(rd_kafka_conf_t *conf, const char *value, char *errstr,
                                         size_t errsz)
{
    char out[256] = "", item[256];
    int coop = -1;
    const char *p = value;
    while (*p) {
        size_t n = strcspn(p, ",");
        const char *b = p, *e = p + n;
        while (b < e && isspace((unsigned char)*b))
            b++;
        while (e > b && isspace((unsigned char)e[-1]))
            e--;
        p += n + (p[n] == ',');
        if (b == e) continue;
        snprintf(item, sizeof(item), "%.*s", (int)(e - b), b);
        const char *a = assignor(item);
        if (!a) {
            snprintf(errstr, errsz,
                     "%s has no librdkafka equivalent (RangeAssignor, RoundRobinAssignor and "
                     "CooperativeStickyAssignor have)",
                     item);
            return RD_KAFKA_CONF_INVALID;
        }
        int c = strcmp(a, "cooperative-sticky") == 0;
        if (coop < 0) coop = c;
        if (c != coop || strstr(out, a)) continue;
        if (*out) strncat(out, ",", sizeof(out) - strlen(out) - 1);
        strncat(out, a, sizeof(out) - strlen(out) - 1);
    }
    if (!*out) {
        snprintf(errstr, errsz, "no assignor given");
        return RD_KAFKA_CONF_INVALID;
    }
    return set(conf, "partition.assignment.strategy", out, errstr, errsz);
}

/* ssl.truststore.location: librdkafka reads CA certificates from PEM only. A PEM store (Java
 * 11's ssl.truststore.type=PEM) is ssl.ca.location; a JKS or PKCS12 one is left out with a
 * warning, and the system's CA certificates are used (enough for a public CA, as Confluent
 * Cloud's). */
static rd_kafka_conf_res_t truststore_set(rd_kafka_conf_t *conf, const char *path, char *errstr,
                                          size_t errsz)
{
    char head[64] = "";
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(errstr, errsz, "%s cannot be read", path);
        return RD_KAFKA_CONF_INVALID;
    }
    size_t n = fread(head, 1, sizeof(head) - 1, f);
    fclose(f);
    head[n] = 0;
    if (strstr(head, "-----BEGIN")) return set(conf, "ssl.ca.location", path, errstr, errsz);
    lc_warn(NULL,
            "ssl.truststore.location %s is not PEM (a JKS or PKCS12 store), which librdkafka "
            "cannot read: the system's CA certificates are used instead; for a private CA give "
            "its certificate as PEM (ssl.truststore.type=PEM, or ssl.ca.location)",
            path);
    return RD_KAFKA_CONF_OK;
}

rd_kafka_conf_res_t lc_java_conf_set(rd_kafka_conf_t *conf, const char *key, const char *value,
                                     char *errstr, size_t errsz)
{
    /* Same meaning, another name. */
    static const char *const renamed[][2] = {
        {"fetch.max.wait.ms", "fetch.wait.max.ms"},
        {"max.request.size", "message.max.bytes"},
        {"ssl.truststore.certificates", "ssl.ca.pem"},
        {"ssl.keystore.certificate.chain", "ssl.certificate.pem"},
        {"ssl.keystore.key", "ssl.key.pem"},
    };
    /* Java-only keys with nothing to do in librdkafka: dropped without a warning
     * (max.poll.records is the sink task's batch size: lc_kafka_client_setting). */
    static const char *const moot[] = {
        "ssl.truststore.type", "ssl.truststore.password", "key.serializer",  "value.serializer",
        "key.deserializer",    "value.deserializer",      "max.poll.records"};
    for (size_t i = 0; i < sizeof(renamed) / sizeof(renamed[0]); i++)
        if (!strcmp(key, renamed[i][0])) return set(conf, renamed[i][1], value, errstr, errsz);
    for (size_t i = 0; i < sizeof(moot) / sizeof(moot[0]); i++)
        if (!strcmp(key, moot[i])) return RD_KAFKA_CONF_OK;
    if (!strcmp(key, "sasl.jaas.config")) return jaas_set(conf, value, errstr, errsz);
    if (!strcmp(key, "partition.assignment.strategy"))
        return assignors_set(conf, value, errstr, errsz);
    if (!strcmp(key, "ssl.truststore.location")) return truststore_set(conf, value, errstr, errsz);
    if (!strcmp(key, "buffer.memory")) {
        /* The Java producer's bound on what waits to be sent, in bytes: librdkafka's is
         * queue.buffering.max.kbytes. */
        char *end, kbytes[32];
        long long bytes = strtoll(value, &end, 10);
        if (end == value || *end || bytes < 1024) {
            snprintf(errstr, errsz, "expected a number of bytes >= 1024, got '%s'", value);
            return RD_KAFKA_CONF_INVALID;
        }
        snprintf(kbytes, sizeof(kbytes), "%lld", bytes / 1024);
        return set(conf, "queue.buffering.max.kbytes", kbytes, errstr, errsz);
    }
    if (!strcmp(key, "auto.offset.reset") && !strcmp(value, "none"))
        return set(conf, key, "error", errstr, errsz); /* "no offset: fail", in librdkafka's word */
    if (!strcmp(key, "ssl.endpoint.identification.algorithm") && !*value)
        return set(conf, key, "none", errstr, errsz); /* Java's "" turns the check off */
    return set(conf, key, value, errstr, errsz);
}
