/* Unit tests for core/chain.c: transforms= / predicates= configs resolved against the
 * scripts shipped in transforms/ (Kafka Connect class names as aliases). */
#include "lc_test.h"
#include "chain.h"
#include "plugins.h"
#include "props.h"

#include <stdlib.h>

static char errs[4096];
static size_t elen;

/* Parses text as a connector config and its chain; returns lc_chain_parse's result. */
static int parse_chain(const char *text, lc_chain_spec_t **specs, int *n)
{
    char err[512];
    lc_props_t *p = lc_props_new();
    char *pp = lc_plugin_path(NULL);
    int rc = -2;
    errs[0] = '\0';
    elen = 0;
    *specs = NULL;
    *n = 0;
    if (lc_props_parse_string(p, "c.properties", text, strlen(text), err, sizeof(err)) == 0)
        rc = lc_chain_parse(pp, p, "c", specs, n, errs, sizeof(errs), &elen);
    else
        fprintf(stderr, "parse: %s\n", err);
    free(pp);
    lc_props_destroy(p);
    return rc;
}

TEST(test_kafka_names_and_predicate)
{
    lc_chain_spec_t *s;
    int n;
    CHECK_INT(
        parse_chain("transforms=tag\n"
                    "transforms.tag.type=org.apache.kafka.connect.transforms.InsertField$Value\n"
                    "transforms.tag.static.field=src\n"
                    "transforms.tag.predicate=isTest\n"
                    "transforms.tag.negate=true\n"
                    "predicates=isTest\n"
                    "predicates.isTest.type=org.apache.kafka.connect.transforms.predicates."
                    "TopicNameMatches\n"
                    "predicates.isTest.pattern=test-.*\n",
                    &s, &n),
        0);
    CHECK_STR(errs, "");
    CHECK_INT(n, 1);
    if (n == 1) {
        CHECK_STR(s[0].alias, "tag");
        CHECK_STR(s[0].variant, "value");
        CHECK(strstr(s[0].path, "/transforms/insert_field.lua") != NULL);
        CHECK_INT(s[0].negate, 1);
        CHECK_INT(lc_props_count(s[0].config), 1);
        CHECK_STR(lc_props_get(s[0].config, "static.field"), "src");
        CHECK_STR(s[0].pred_alias, "isTest");
        CHECK_STR(lc_props_get(s[0].pred_config, "pattern"), "test-.*");
    }
    lc_chain_free(s, n);
}

/* Regression (found by tests/fuzz/fuzz_chain): keys were built in a 512-byte buffer, so with
 * a 500-character alias "transforms.<alias>.type" was cut to "transforms.<alias>" and the
 * chain silently took that key's value as the type. A long alias is now an error. */
TEST(test_long_alias_is_an_error)
{
    char text[2048], alias[501], want[1024];
    lc_chain_spec_t *s;
    int n;
    memset(alias, 'A', 500);
    alias[500] = '\0';
    snprintf(text, sizeof(text), "transforms=%s\ntransforms.%s=InsertField$Value\n", alias, alias);
    CHECK_INT(parse_chain(text, &s, &n), -1);
    CHECK_INT(n, 0);
    snprintf(want, sizeof(want),
             "c: key 'transforms': alias '%.40s...' is too long (at most 256 characters)\n", alias);
    CHECK_STR(errs, want);
    lc_chain_free(s, n);

    /* The same for a predicate alias, and a type longer than any script name. */
    snprintf(text, sizeof(text),
             "transforms=t\ntransforms.t.type=InsertField$Value\ntransforms.t.predicate=%s\n"
             "predicates=%s\npredicates.%s=TopicNameMatches\n",
             alias, alias, alias);
    CHECK_INT(parse_chain(text, &s, &n), -1);
    snprintf(want, sizeof(want),
             "c: key 'predicates': alias '%.40s...' is too long (at most 256 characters)\n", alias);
    CHECK_STR(errs, want);
    lc_chain_free(s, n);
}

int main(void)
{
    RUN(test_kafka_names_and_predicate);
    RUN(test_long_alias_is_an_error);
    return lc_test_summary("test_chain");
}
