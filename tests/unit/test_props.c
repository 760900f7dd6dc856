/* Unit tests for core/props.c: java.util.Properties.load() semantics plus our stricter
 * errors. Expected values follow what Java loads from the same text. */
#include "lc_test.h"
#include "props.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

static char errbuf[512];

/* Parses text under the name "t.properties"; returns the props or NULL (errbuf holds why). */
static lc_props_t *parse(const char *text, size_t len)
{
    lc_props_t *p = lc_props_new();
    errbuf[0] = '\0';
    if (lc_props_parse_string(p, "t.properties", text, len, errbuf, sizeof(errbuf)) != 0) {
        lc_props_destroy(p);
        return NULL;
    }
    return p;
}

#define PARSE(text) parse((text), sizeof(text) - 1)

/* Returns the error text of a parse that must fail. */
static const char *parse_err(const char *text, size_t len)
{
    lc_props_t *p = parse(text, len);
    if (p) {
        lc_props_destroy(p);
        return "(parsed without error)";
    }
    return errbuf;
}

#define PARSE_ERR(text) parse_err((text), sizeof(text) - 1)

TEST(test_comments)
{
    lc_props_t *p = PARSE("# hash comment\n"
                          "! bang comment\n"
                          "   # indented comment\n"
                          "\t! tab-indented comment\n"
                          "a=1\n"
                          "b=x#y!z\n"
                          "#c=3\n");
    CHECK(p != NULL);
    CHECK_INT(lc_props_count(p), 2);
    CHECK_STR(lc_props_get(p, "a"), "1");
    CHECK_STR(lc_props_get(p, "b"), "x#y!z"); /* '#' inside a value is not a comment */
    CHECK(lc_props_get(p, "#c") == NULL);
    CHECK_INT(lc_props_line(p, "a"), 5);
    lc_props_destroy(p);
}

TEST(test_separators)
{
    lc_props_t *p = PARSE("a=1\n"
                          "b:2\n"
                          "c 3\n"
                          "d\t4\n"
                          "e\f5\n"
                          "f  =  6\n"
                          "g :7\n"
                          "h   8\n"
                          "   i\t=\tnine  \n"
                          "j  :  x y  \n"
                          "k = = v\n"
                          "l==x\n"
                          "m :=x\n"
                          "n=a=b:c\n");
    CHECK(p != NULL);
    CHECK_INT(lc_props_count(p), 14);
    CHECK_STR(lc_props_get(p, "a"), "1");
    CHECK_STR(lc_props_get(p, "b"), "2");
    CHECK_STR(lc_props_get(p, "c"), "3");
    CHECK_STR(lc_props_get(p, "d"), "4");
    CHECK_STR(lc_props_get(p, "e"), "5");
    CHECK_STR(lc_props_get(p, "f"), "6");
    CHECK_STR(lc_props_get(p, "g"), "7");
    CHECK_STR(lc_props_get(p, "h"), "8");
    CHECK_STR(lc_props_get(p, "i"), "nine  "); /* trailing whitespace belongs to the value */
    CHECK_STR(lc_props_get(p, "j"), "x y  ");
    CHECK_STR(lc_props_get(p, "k"), "= v"); /* only one separator is swallowed */
    CHECK_STR(lc_props_get(p, "l"), "=x");
    CHECK_STR(lc_props_get(p, "m"), "=x");
    CHECK_STR(lc_props_get(p, "n"), "a=b:c");
    CHECK_STR(lc_props_key(p, 0), "a");
    CHECK_STR(lc_props_key(p, 13), "n");
    CHECK_STR(lc_props_value(p, 13), "a=b:c");
    CHECK(lc_props_key(p, 14) == NULL);
    lc_props_destroy(p);
}

TEST(test_escapes)
{
    lc_props_t *p = PARSE("a\\ b=1\n"
                          "c\\=d=2\n"
                          "e\\:f:3\n"
                          "back\\\\slash=\\\\\n"
                          "ctl=\\t\\n\\r\\f.\n"
                          "other=\\q\\\"\\'\\#\n"
                          "e.acute=caf\\u00e9\n"
                          "euro=\\u20AC \\u20ac\n"
                          "ascii=\\u0041\\u007a\n"
                          "emoji=\\ud83d\\ude00\n"
                          "\\u00e9t\\u00e9=summer\n"
                          "\\#notcomment=1\n"
                          "raw=caf\xc3\xa9\n"
                          "lead=\\ \\ two\n");
    CHECK(p != NULL);
    CHECK_STR(lc_props_get(p, "a b"), "1");
    CHECK_STR(lc_props_get(p, "c=d"), "2");
    CHECK_STR(lc_props_get(p, "e:f"), "3");
    CHECK_STR(lc_props_get(p, "back\\slash"), "\\");
    CHECK_STR(lc_props_get(p, "ctl"), "\t\n\r\f.");
    CHECK_STR(lc_props_get(p, "other"), "q\"'#");
    CHECK_STR(lc_props_get(p, "e.acute"), "caf\xc3\xa9");
    CHECK_STR(lc_props_get(p, "euro"), "\xe2\x82\xac \xe2\x82\xac");
    CHECK_STR(lc_props_get(p, "ascii"), "Az");
    CHECK_STR(lc_props_get(p, "emoji"), "\xf0\x9f\x98\x80");
    CHECK_STR(lc_props_get(p, "\xc3\xa9t\xc3\xa9"), "summer");
    CHECK_STR(lc_props_get(p, "#notcomment"), "1");
    CHECK_STR(lc_props_get(p, "raw"), "caf\xc3\xa9"); /* UTF-8 bytes pass through */
    CHECK_STR(lc_props_get(p, "lead"), "  two");      /* escaped spaces are not skipped */
    lc_props_destroy(p);
}

TEST(test_continuation)
{
    lc_props_t *p = PARSE("a=one \\\n"
                          "      two \\\n"
                          "\t three\n"
                          "even=x\\\\\n"
                          "after.even=y\n"
                          "odd=x\\\\\\\n"
                          "   z\n"
                          "# a comment ending in a backslash does not continue \\\n"
                          "after.comment=ok\n"
                          "hash=1\\\n"
                          "   #2\n"
                          "spl\\\n"
                          "  it = joined\n"
                          "blank=a\\\n"
                          "\n"
                          "after.blank=b\n"
                          "last=end\\");
    CHECK(p != NULL);
    CHECK_STR(lc_props_get(p, "a"), "one two three");
    CHECK_STR(lc_props_get(p, "even"), "x\\");
    CHECK_STR(lc_props_get(p, "after.even"), "y");
    CHECK_STR(lc_props_get(p, "odd"), "x\\z");
    CHECK_STR(lc_props_get(p, "after.comment"), "ok");
    CHECK(lc_props_get(p, "after.comment=ok") == NULL);
    CHECK_STR(lc_props_get(p, "hash"), "1#2"); /* a continuation line is never a comment */
    CHECK_STR(lc_props_get(p, "split"), "joined");
    CHECK_STR(lc_props_get(p, "blank"), "a");
    CHECK_STR(lc_props_get(p, "after.blank"), "b");
    CHECK_STR(lc_props_get(p, "last"), "end");
    CHECK_INT(lc_props_count(p), 10);
    /* The line is where the key started, not where its value ended. */
    CHECK_INT(lc_props_line(p, "a"), 1);
    CHECK_INT(lc_props_line(p, "even"), 4);
    CHECK_INT(lc_props_line(p, "after.even"), 5);
    CHECK_INT(lc_props_line(p, "odd"), 6);
    CHECK_INT(lc_props_line(p, "after.comment"), 9);
    CHECK_INT(lc_props_line(p, "split"), 12);
    CHECK_INT(lc_props_line(p, "after.blank"), 16);
    CHECK_INT(lc_props_line(p, "last"), 17);
    lc_props_destroy(p);
}

TEST(test_empty_continuation)
{
    /* Java: a logical line still empty after "\<newline>" has not begun, so a comment or a
     * blank line may follow it; the key then starts on the line that holds it. */
    lc_props_t *p = PARSE("\\\n"
                          "# comment, not a key\n"
                          "\\\n"
                          "\n"
                          "  a=1\n");
    CHECK(p != NULL);
    CHECK_INT(lc_props_count(p), 1);
    CHECK_STR(lc_props_get(p, "a"), "1");
    CHECK_INT(lc_props_line(p, "a"), 5);
    lc_props_destroy(p);
}

TEST(test_parse_merges)
{
    /* Like Properties.load(), a second parse adds to and overrides the first. */
    lc_props_t *p = PARSE("a=1\nb=2\n");
    CHECK(p != NULL);
    CHECK_INT(
        lc_props_parse_string(p, "override.properties", "b=3\nc=4\n", 8, errbuf, sizeof(errbuf)),
        0);
    CHECK_INT(lc_props_count(p), 3);
    CHECK_STR(lc_props_get(p, "a"), "1");
    CHECK_STR(lc_props_get(p, "b"), "3");
    CHECK_STR(lc_props_key(p, 1), "b");
    CHECK_STR(lc_props_get(p, "c"), "4");
    CHECK_STR(lc_props_source(p), "override.properties");
    lc_props_destroy(p);
}

TEST(test_line_endings)
{
    lc_props_t *p = PARSE("a=1\r\n"
                          "b=2\r\n"
                          "\r\n"
                          "c=x\\\r\n"
                          "   y\r\n"
                          "d=3\r"
                          "e=4\r"
                          "f=z\\\r"
                          "  w\r"
                          "g=5");
    CHECK(p != NULL);
    CHECK_INT(lc_props_count(p), 7);
    CHECK_STR(lc_props_get(p, "a"), "1");
    CHECK_STR(lc_props_get(p, "b"), "2");
    CHECK_STR(lc_props_get(p, "c"), "xy");
    CHECK_STR(lc_props_get(p, "d"), "3");
    CHECK_STR(lc_props_get(p, "e"), "4");
    CHECK_STR(lc_props_get(p, "f"), "zw");
    CHECK_STR(lc_props_get(p, "g"), "5");
    CHECK_INT(lc_props_line(p, "b"), 2);
    CHECK_INT(lc_props_line(p, "c"), 4);
    CHECK_INT(lc_props_line(p, "d"), 6);
    CHECK_INT(lc_props_line(p, "e"), 7);
    CHECK_INT(lc_props_line(p, "g"), 10);
    lc_props_destroy(p);
}

TEST(test_bom)
{
    lc_props_t *p = PARSE("\xef\xbb\xbf"
                          "a=1\n");
    CHECK(p != NULL);
    CHECK_INT(lc_props_count(p), 1);
    CHECK_STR(lc_props_key(p, 0), "a");
    CHECK_INT(lc_props_line(p, "a"), 1);
    lc_props_destroy(p);

    /* Only a leading BOM is special; elsewhere the bytes are ordinary text. */
    p = PARSE("a=\xef\xbb\xbf\n");
    CHECK(p != NULL);
    CHECK_STR(lc_props_get(p, "a"), "\xef\xbb\xbf");
    lc_props_destroy(p);
}

TEST(test_empty_values)
{
    lc_props_t *p = PARSE("a=\n"
                          "b:\n"
                          "c =  \n"
                          "d\t:\n"
                          "=nokey\n");
    CHECK(p != NULL);
    CHECK_STR(lc_props_get(p, "a"), "");
    CHECK_STR(lc_props_get(p, "b"), "");
    CHECK_STR(lc_props_get(p, "c"), "");
    CHECK_STR(lc_props_get(p, "d"), "");
    CHECK_STR(lc_props_get(p, ""), "nokey"); /* Java accepts an empty key */
    lc_props_destroy(p);

    /* A key alone is a bare key: Java would load key="" and hide a missing '='. */
    CHECK_STR(PARSE_ERR("key\n"), "t.properties:1: expected '=' or ':' after key 'key'");
    CHECK_STR(PARSE_ERR("key"), "t.properties:1: expected '=' or ':' after key 'key'");
    CHECK_STR(PARSE_ERR("key   \n"), "t.properties:1: expected '=' or ':' after key 'key'");
}

TEST(test_repeated_keys)
{
    lc_props_t *p = PARSE("a=1\n"
                          "b=2\n"
                          "a=3\n");
    CHECK(p != NULL);
    CHECK_INT(lc_props_count(p), 2);
    CHECK_STR(lc_props_key(p, 0), "a"); /* keeps its first position */
    CHECK_STR(lc_props_value(p, 0), "3");
    CHECK_STR(lc_props_key(p, 1), "b");
    CHECK_STR(lc_props_get(p, "a"), "3");
    CHECK_INT(lc_props_line(p, "a"), 3); /* the line the current value came from */
    lc_props_destroy(p);
}

TEST(test_empty_file)
{
    lc_props_t *p = PARSE("");
    CHECK(p != NULL);
    CHECK_INT(lc_props_count(p), 0);
    CHECK(lc_props_get(p, "a") == NULL);
    CHECK_STR(lc_props_source(p), "t.properties");
    lc_props_destroy(p);

    p = PARSE("\n\n   \n# only comments\n\t\r\n");
    CHECK(p != NULL);
    CHECK_INT(lc_props_count(p), 0);
    lc_props_destroy(p);
}

TEST(test_errors)
{
    CHECK_STR(PARSE_ERR("x=1\n"
                        "y=2\n"
                        "a.b=\\u00g9\n"),
              "t.properties:3: malformed \\uXXXX escape in value of key 'a.b': expected 4 hex "
              "digits");
    CHECK_STR(PARSE_ERR("x=1\n"
                        "\n"
                        "a\\u12.b=1\n"),
              "t.properties:3: malformed \\uXXXX escape in key 'a\\u12.b': expected 4 hex digits");
    CHECK_STR(PARSE_ERR("a.b=\\u12"),
              "t.properties:1: malformed \\uXXXX escape in value of key 'a.b': expected 4 hex "
              "digits");
    /* Inside a continued value the error names the line holding the escape. */
    CHECK_STR(PARSE_ERR("a.b=ok \\\n"
                        "  still ok \\\n"
                        "  \\uzzzz\n"),
              "t.properties:3: malformed \\uXXXX escape in value of key 'a.b': expected 4 hex "
              "digits");
    CHECK_STR(PARSE_ERR("a=\\u0000\n"),
              "t.properties:1: malformed \\uXXXX escape in value of key 'a': \\u0000 is not "
              "allowed");
    CHECK_STR(PARSE_ERR("a=\\ud83d!\n"),
              "t.properties:1: malformed \\uXXXX escape in value of key 'a': expected a low "
              "surrogate \\uDC00-\\uDFFF to follow");
    CHECK_STR(PARSE_ERR("a=\\ude00\n"),
              "t.properties:1: malformed \\uXXXX escape in value of key 'a': unpaired low "
              "surrogate");
    CHECK_STR(PARSE_ERR("# header\n"
                        "a=1\n"
                        "b=2\n"
                        "\n"
                        "c=3\n"
                        "d 4\n"
                        "foo\n"
                        "e=5\n"),
              "t.properties:7: expected '=' or ':' after key 'foo'");
    CHECK_STR(PARSE_ERR("a=1\n"
                        "b=x\0y\n"),
              "t.properties:2: unexpected NUL byte (not a text file?)");

    lc_props_t *p = lc_props_new();
    CHECK_INT(lc_props_parse_file(p, "/nonexistent/connect.properties", errbuf, sizeof(errbuf)),
              -1);
    CHECK_STR(errbuf, "/nonexistent/connect.properties: cannot open: No such file or directory");
    /* A short buffer truncates the message and still terminates it. */
    char small[8];
    CHECK_INT(lc_props_parse_string(p, "t.properties", "k\n", 2, small, sizeof(small)), -1);
    CHECK_STR(small, "t.prope");
    /* A NULL errstr is allowed. */
    CHECK_INT(lc_props_parse_string(p, "t.properties", "k\n", 2, NULL, 0), -1);
    lc_props_destroy(p);
}

TEST(test_parse_file)
{
    char path[] = "/tmp/test_props_XXXXXX";
    int fd = mkstemp(path);
    const char text[] = "# worker\nname = orders\ntasks.max: 2\n";
    char want[64];

    CHECK(fd >= 0);
    CHECK_INT(write(fd, text, sizeof(text) - 1), sizeof(text) - 1);
    close(fd);

    lc_props_t *p = lc_props_new();
    CHECK_INT(lc_props_parse_file(p, path, errbuf, sizeof(errbuf)), 0);
    CHECK_STR(lc_props_get(p, "name"), "orders");
    CHECK_STR(lc_props_get(p, "tasks.max"), "2");
    CHECK_INT(lc_props_line(p, "tasks.max"), 3);
    CHECK_STR(lc_props_source(p), path);
    lc_props_destroy(p);

    /* Errors name the path given. */
    fd = open(path, O_WRONLY | O_TRUNC);
    CHECK_INT(write(fd, "a=1\nbare\n", 9), 9);
    close(fd);
    p = lc_props_new();
    CHECK_INT(lc_props_parse_file(p, path, errbuf, sizeof(errbuf)), -1);
    snprintf(want, sizeof(want), "%s:2: expected '=' or ':' after key 'bare'", path);
    CHECK_STR(errbuf, want);
    lc_props_destroy(p);
    unlink(path);
}

TEST(test_set_unset_copy)
{
    lc_props_t *p = PARSE("a=1\nb=2\nc=3\n"), *c;
    CHECK(p != NULL);

    CHECK_STR(lc_props_get_or(p, "a", "def"), "1");
    CHECK_STR(lc_props_get_or(p, "zz", "def"), "def");
    CHECK(lc_props_get_or(p, "zz", NULL) == NULL);

    /* set replaces in place and the value is now the code's, not the file's. */
    CHECK_INT(lc_props_set(p, "b", "two"), 0);
    CHECK_STR(lc_props_key(p, 1), "b");
    CHECK_STR(lc_props_value(p, 1), "two");
    CHECK_INT(lc_props_line(p, "b"), 0);
    CHECK_INT(lc_props_set(p, "d", "4"), 0);
    CHECK_INT(lc_props_count(p), 4);
    CHECK_STR(lc_props_key(p, 3), "d");
    CHECK_INT(lc_props_line(p, "d"), 0);
    CHECK_INT(lc_props_line(p, "c"), 3);
    CHECK_INT(lc_props_line(p, "absent"), 0);

    /* set copies: the caller's buffer may change afterwards. */
    char buf[8] = "val";
    CHECK_INT(lc_props_set(p, "e", buf), 0);
    buf[0] = 'X';
    CHECK_STR(lc_props_get(p, "e"), "val");

    CHECK_INT(lc_props_unset(p, "b"), 1);
    CHECK_INT(lc_props_unset(p, "b"), 0);
    CHECK_INT(lc_props_unset(p, "nope"), 0);
    CHECK_INT(lc_props_count(p), 4);
    CHECK_STR(lc_props_key(p, 0), "a");
    CHECK_STR(lc_props_key(p, 1), "c");
    CHECK_STR(lc_props_key(p, 2), "d");
    CHECK_STR(lc_props_key(p, 3), "e");
    CHECK(lc_props_get(p, "b") == NULL);
    CHECK_STR(lc_props_get(p, "d"), "4");
    CHECK_STR(lc_props_get(p, "e"), "val");

    c = lc_props_copy(p);
    CHECK(c != NULL);
    CHECK_INT(lc_props_set(p, "a", "changed"), 0);
    CHECK_INT(lc_props_unset(p, "c"), 1);
    CHECK_INT(lc_props_count(c), 4);
    CHECK_STR(lc_props_get(c, "a"), "1");
    CHECK_STR(lc_props_get(c, "c"), "3");
    CHECK_INT(lc_props_line(c, "c"), 3);
    CHECK_STR(lc_props_key(c, 3), "e");
    CHECK_STR(lc_props_source(c), "t.properties");
    lc_props_destroy(p);
    lc_props_destroy(c);

    /* A props built by code has no source. */
    p = lc_props_new();
    CHECK_STR(lc_props_source(p), "");
    CHECK_INT(lc_props_count(p), 0);
    c = lc_props_copy(p);
    CHECK(c != NULL);
    CHECK_INT(lc_props_count(c), 0);
    lc_props_destroy(p);
    lc_props_destroy(c);
    lc_props_destroy(NULL);
}

TEST(test_many_keys)
{
    enum { N = 5000 };
    lc_props_t *p = lc_props_new();
    char key[32], val[32];
    size_t len = 0, cap = N * 32;
    char *text = malloc(cap);

    for (int i = 0; i < N; i++)
        len += (size_t)snprintf(text + len, cap - len, "key.%d = value %d\n", i, i);
    CHECK_INT(lc_props_parse_string(p, "big", text, len, errbuf, sizeof(errbuf)), 0);
    CHECK_INT(lc_props_count(p), N);
    for (int i = 0; i < N; i += 2) {
        snprintf(key, sizeof(key), "key.%d", i);
        CHECK_INT(lc_props_unset(p, key), 1);
    }
    CHECK_INT(lc_props_count(p), N / 2);
    for (int i = 0; i < N; i++) {
        snprintf(key, sizeof(key), "key.%d", i);
        snprintf(val, sizeof(val), "value %d", i);
        if (i % 2) {
            CHECK_STR(lc_props_get(p, key), val);
            CHECK_INT(lc_props_line(p, key), i + 1);
            CHECK_STR(lc_props_key(p, (size_t)i / 2), key);
        } else {
            CHECK(lc_props_get(p, key) == NULL);
        }
    }
    free(text);
    lc_props_destroy(p);
}

TEST(test_connect_standalone)
{
    lc_props_t *p =
        PARSE("# Licensed to the Apache Software Foundation (ASF) under one or more\n"
              "# contributor license agreements.  See the NOTICE file distributed with\n"
              "# this work for additional information regarding copyright ownership.\n"
              "# The ASF licenses this file to You under the Apache License, Version 2.0\n"
              "# (the \"License\"); you may not use this file except in compliance with\n"
              "# the License.  You may obtain a copy of the License at\n"
              "#\n"
              "#    http://www.apache.org/licenses/LICENSE-2.0\n"
              "#\n"
              "# Unless required by applicable law or agreed to in writing, software\n"
              "# distributed under the License is distributed on an \"AS IS\" BASIS,\n"
              "# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.\n"
              "# See the License for the specific language governing permissions and\n"
              "# limitations under the License.\n"
              "\n"
              "# These are defaults. This file just demonstrates how to override some settings.\n"
              "bootstrap.servers=localhost:9092\n"
              "\n"
              "# The converters specify the format of data in Kafka and how to translate it into "
              "Connect data.\n"
              "key.converter=org.apache.kafka.connect.json.JsonConverter\n"
              "value.converter=org.apache.kafka.connect.json.JsonConverter\n"
              "key.converter.schemas.enable=true\n"
              "value.converter.schemas.enable=true\n"
              "\n"
              "offset.storage.file.filename=/tmp/connect.offsets\n"
              "# Flush much faster than normal, which is useful for testing/debugging\n"
              "offset.flush.interval.ms=10000\n"
              "\n"
              "#plugin.path=/usr/local/share/java,/usr/local/share/kafka/plugins\n");
    CHECK(p != NULL);
    CHECK_INT(lc_props_count(p), 7);
    CHECK_STR(lc_props_get(p, "bootstrap.servers"), "localhost:9092");
    CHECK_STR(lc_props_get(p, "key.converter"), "org.apache.kafka.connect.json.JsonConverter");
    CHECK_STR(lc_props_get(p, "value.converter"), "org.apache.kafka.connect.json.JsonConverter");
    CHECK_STR(lc_props_get(p, "key.converter.schemas.enable"), "true");
    CHECK_STR(lc_props_get(p, "value.converter.schemas.enable"), "true");
    CHECK_STR(lc_props_get(p, "offset.storage.file.filename"), "/tmp/connect.offsets");
    CHECK_STR(lc_props_get(p, "offset.flush.interval.ms"), "10000");
    CHECK(lc_props_get(p, "plugin.path") == NULL);
    CHECK_STR(lc_props_key(p, 0), "bootstrap.servers");
    CHECK_STR(lc_props_key(p, 6), "offset.flush.interval.ms");
    CHECK_INT(lc_props_line(p, "bootstrap.servers"), 17);
    CHECK_INT(lc_props_line(p, "offset.flush.interval.ms"), 27);
    lc_props_destroy(p);
}

int main(void)
{
    RUN(test_comments);
    RUN(test_separators);
    RUN(test_escapes);
    RUN(test_continuation);
    RUN(test_empty_continuation);
    RUN(test_parse_merges);
    RUN(test_line_endings);
    RUN(test_bom);
    RUN(test_empty_values);
    RUN(test_repeated_keys);
    RUN(test_empty_file);
    RUN(test_errors);
    RUN(test_parse_file);
    RUN(test_set_unset_copy);
    RUN(test_many_keys);
    RUN(test_connect_standalone);
    return lc_test_summary(__FILE__);
}
