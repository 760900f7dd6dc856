/* Unit tests for core/rest.c over a fake herder (herder.h): the REST layer's answers when
 * the herder's state changes between two calls of one request. Real HTTP on loopback. */
#include "herder.h"
#include "lc_test.h"
#include "rest.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static int puts_seen;

/* The connector is created, then deleted by another request before the answer is built. */
static int put_then_gone(lc_herder_t *h, const char *name, const lc_props_t *config, int mode,
                         int target, char *errstr, size_t errsz)
{
    puts_seen++;
    return 201;
}
static json_t *no_info(lc_herder_t *h, const char *name)
{
    return NULL;
}

static int unknown_target(lc_herder_t *h, const char *name, lc_target_t target, char *errstr,
                          size_t errsz)
{
    snprintf(errstr, errsz, "Connector %s not found", name);
    return 404;
}

static const lc_herder_ops_t racing_ops = {
    .put_connector = put_then_gone, .connector_info = no_info, .set_target = unknown_target};

/* Sends one HTTP request to host:port and returns the response (caller frees). */
static char *http(const char *id, const char *request)
{
    const char *colon = strrchr(id, ':');
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(colon + 1))};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(fd);
        return NULL;
    }
    if (write(fd, request, strlen(request)) < 0) {
        close(fd);
        return NULL;
    }
    size_t cap = 65536, len = 0;
    char *out = calloc(1, cap);
    ssize_t n;
    while (len < cap - 1 && (n = read(fd, out + len, cap - 1 - len)) > 0)
        len += (size_t)n;
    close(fd);
    return out;
}

TEST(put_of_a_connector_deleted_meanwhile_is_a_404_not_a_crash)
{
    lc_herder_t h = {&racing_ops};
    lc_props_t *p = lc_props_new();
    lc_props_set(p, "listeners", "http://127.0.0.1:0");
    char err[512];
    lc_rest_t *r = lc_rest_start(&h, p, err, sizeof(err));
    CHECK(r != NULL);
    if (!r) return;
    const char *body = "{\"connector.class\":\"FileStreamSource\",\"file\":\"/dev/null\"}";
    char req[1024];
    snprintf(req, sizeof(req),
             "PUT /connectors/gone/config HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
             "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
             strlen(body), body);
    char *resp = http(lc_rest_id(r), req);
    CHECK(resp != NULL);
    CHECK_INT(puts_seen, 1);
    CHECK(resp && strncmp(resp, "HTTP/1.1 404", 12) == 0);
    CHECK(resp && strstr(resp, "{\"error_code\":404,\"message\":\"Connector gone not found\"}"));
    free(resp);
    lc_rest_stop(r);
    lc_props_destroy(p);
}

/* Found by tests/fuzz/fuzz_rest: a name that is not UTF-8 made the error body empty
 * (jansson refuses such strings). */
TEST(an_error_about_a_name_that_is_not_utf8_still_has_a_body)
{
    lc_herder_t h = {&racing_ops};
    char *out = NULL, loc[64];
    int code = lc_rest_handle(&h, "PUT", "/connectors/a\xff\xfe/pause", NULL, NULL, NULL, 0, &out,
                              loc, sizeof(loc));
    CHECK_INT(code, 404);
    CHECK_STR(out, "{\"error_code\":404,\"message\":\"Connector a?? not found\"}");
    free(out);
}

int main(void)
{
    RUN(an_error_about_a_name_that_is_not_utf8_still_has_a_body);
    RUN(put_of_a_connector_deleted_meanwhile_is_a_404_not_a_crash);
    return lc_test_summary("test_rest");
}
