/* Unit tests for core/http_client.c against a libmicrohttpd server started here on an
 * ephemeral loopback port: status and body come back, the headers, method and body arrive,
 * errors name the URL, and threads may share the client. */
#include "http_client.h"
#include "lc_test.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>

/* The server answers /status/<n> with status n, /empty with an empty 204, /slow only once
 * the test releases it, anything else with 200; the body echoes what it received:
 * "<method> <path> ct=<Content-Type> auth=<X-Connect-Authorization> len=<Content-Length>
 * body=<body>". */
typedef struct {
    char *data;
    size_t len;
} upload_t;

static pthread_mutex_t slow_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t slow_cv = PTHREAD_COND_INITIALIZER;
static int slow_released;

static const char *hdr(struct MHD_Connection *c, const char *name)
{
    const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
    return v ? v : "-";
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **con_cls)
{
    upload_t *u = *con_cls;
    if (!u) {
        *con_cls = calloc(1, sizeof(upload_t));
        return *con_cls ? MHD_YES : MHD_NO;
    }
    if (*upload_data_size) {
        char *d = realloc(u->data, u->len + *upload_data_size + 1);
        if (!d) return MHD_NO;
        memcpy(d + u->len, upload_data, *upload_data_size);
        u->data = d;
        u->len += *upload_data_size;
        u->data[u->len] = '\0';
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (strcmp(url, "/slow") == 0) {
        pthread_mutex_lock(&slow_mu);
        while (!slow_released)
            pthread_cond_wait(&slow_cv, &slow_mu);
        pthread_mutex_unlock(&slow_mu);
    }
    int status = 200;
    if (strncmp(url, "/status/", 8) == 0) status = atoi(url + 8);
    char *text = NULL;
    if (strcmp(url, "/empty") == 0) {
        status = 204;
        text = strdup("");
    } else if (asprintf(&text, "%s %s ct=%s auth=%s len=%s body=%s", method, url,
                        hdr(c, "Content-Type"), hdr(c, "X-Connect-Authorization"),
                        hdr(c, "Content-Length"), u->data ? u->data : "") < 0) {
        text = NULL;
    }
    if (!text) return MHD_NO;
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    return ret;
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    upload_t *u = *con_cls;
    if (u) free(u->data);
    free(u);
    *con_cls = NULL;
}

static struct MHD_Daemon *start_server(int *port)
{
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = 0; /* ephemeral */
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct MHD_Daemon *d =
        MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL,
                         NULL, handle, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                         MHD_OPTION_NOTIFY_COMPLETED, completed, NULL, MHD_OPTION_END);
    if (!d) return NULL;
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    *port = info ? info->port : 0;
    return d;
}

static int port;

TEST(test_get)
{
    char url[64], err[256] = "", *body = NULL;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/connectors", port);
    CHECK_INT(lc_http_request("GET", url, NULL, NULL, 0, 5000, &body, err, sizeof(err)), 200);
    CHECK_STR(body, "GET /connectors ct=application/json auth=- len=- body=");
    free(body);
}

TEST(test_post_body_and_headers)
{
    char url[64], err[256] = "", *body = NULL;
    const char *headers[] = {"X-Connect-Authorization: c2lnbmF0dXJl",
                             "X-Connect-Request-Signature-Algorithm: HmacSHA256", NULL};
    const char *payload = "[{\"task.class\":\"a\"}]";
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/status/201", port);
    CHECK_INT(lc_http_request("POST", url, headers, payload, strlen(payload), 5000, &body, err,
                              sizeof(err)),
              201);
    CHECK_STR(body, "POST /status/201 ct=application/json auth=c2lnbmF0dXJl len=20 "
                    "body=[{\"task.class\":\"a\"}]");
    free(body);
    /* only len bytes of the body are sent */
    body = NULL;
    CHECK_INT(lc_http_request("PUT", url, NULL, payload, 5, 5000, &body, err, sizeof(err)), 201);
    CHECK_STR(body, "PUT /status/201 ct=application/json auth=- len=5 body=[{\"ta");
    free(body);
    /* a POST without a body says so with Content-Length: 0 */
    body = NULL;
    CHECK_INT(lc_http_request("POST", url, NULL, NULL, 0, 5000, &body, err, sizeof(err)), 201);
    CHECK_STR(body, "POST /status/201 ct=application/json auth=- len=0 body=");
    free(body);
}

TEST(test_error_status_and_empty_body)
{
    char url[64], err[256] = "", *body = NULL;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/status/409", port);
    /* an HTTP error is an answer, not a failure: its status and body come back */
    CHECK_INT(lc_http_request("DELETE", url, NULL, NULL, 0, 5000, &body, err, sizeof(err)), 409);
    CHECK_STR(body, "DELETE /status/409 ct=application/json auth=- len=- body=");
    free(body);
    body = NULL;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/empty", port);
    CHECK_INT(lc_http_request("GET", url, NULL, NULL, 0, 5000, &body, err, sizeof(err)), 204);
    CHECK_STR(body, "");
    free(body);
}

TEST(test_connection_refused)
{
    /* a port that was just free: start a server, note its port, stop it */
    int dead = 0;
    struct MHD_Daemon *d = start_server(&dead);
    CHECK(d != NULL && dead > 0);
    MHD_stop_daemon(d);
    char url[64], err[256] = "", *body = (char *)"untouched";
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/connectors", dead);
    CHECK_INT(lc_http_request("GET", url, NULL, NULL, 0, 5000, &body, err, sizeof(err)), -1);
    CHECK(body == NULL);
    char want[128];
    snprintf(want, sizeof(want), "cannot reach %s: ", url);
    CHECK(strncmp(err, want, strlen(want)) == 0);
    CHECK(strstr(err, "onnect") != NULL); /* curl's "Failed to connect ..." */
    if (strncmp(err, want, strlen(want)) != 0) fprintf(stderr, "  errstr: %s\n", err);
}

TEST(test_bad_urls)
{
    char err[256] = "", *body = NULL;
    CHECK_INT(
        lc_http_request("GET", "ftp://127.0.0.1/x", NULL, NULL, 0, 5000, &body, err, sizeof(err)),
        -1);
    CHECK(strncmp(err, "cannot reach ftp://127.0.0.1/x: ", 32) == 0);
    CHECK_INT(lc_http_request("GET", NULL, NULL, NULL, 0, 5000, &body, err, sizeof(err)), -1);
    CHECK_STR(err, "cannot reach (no URL): no URL given");
    CHECK(body == NULL);
}

TEST(test_timeout)
{
    char url[64], err[256] = "", *body = NULL;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/slow", port);
    /* the server holds /slow until released below: the client gives up on its own */
    CHECK_INT(lc_http_request("GET", url, NULL, NULL, 0, 200, &body, err, sizeof(err)), -1);
    char want[128];
    snprintf(want, sizeof(want), "cannot reach %s: ", url);
    CHECK(strncmp(err, want, strlen(want)) == 0);
    CHECK(strstr(err, "timed out") != NULL);
    if (!strstr(err, "timed out")) fprintf(stderr, "  errstr: %s\n", err);
    pthread_mutex_lock(&slow_mu);
    slow_released = 1;
    pthread_cond_broadcast(&slow_cv);
    pthread_mutex_unlock(&slow_mu);
}

#define THREADS 8
#define PER_THREAD 25

static void *client_thread(void *arg)
{
    long id = (long)arg, ok = 0;
    for (int i = 0; i < PER_THREAD; i++) {
        char url[64], payload[64], want[160], err[256], *body = NULL;
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/t%ld", port, id);
        snprintf(payload, sizeof(payload), "{\"thread\":%ld,\"i\":%d}", id, i);
        snprintf(want, sizeof(want), "POST /t%ld ct=application/json auth=- len=%zu body=%s", id,
                 strlen(payload), payload);
        if (lc_http_request("POST", url, NULL, payload, strlen(payload), 5000, &body, err,
                            sizeof(err)) == 200 &&
            body && strcmp(body, want) == 0)
            ok++;
        free(body);
    }
    return (void *)ok;
}

TEST(test_threads)
{
    pthread_t t[THREADS];
    for (long i = 0; i < THREADS; i++)
        CHECK_INT(pthread_create(&t[i], NULL, client_thread, (void *)i), 0);
    long total = 0;
    for (int i = 0; i < THREADS; i++) {
        void *ok = NULL;
        pthread_join(t[i], &ok);
        total += (long)ok;
    }
    CHECK_INT(total, THREADS * PER_THREAD);
}

TEST(test_truststore)
{
    char err[256] = "";
    CHECK_INT(lc_http_client_set_truststore("/nonexistent/ca.pem", err, sizeof(err)), -1);
    CHECK_STR(err, "truststore /nonexistent/ca.pem cannot be read");
    CHECK_INT(lc_http_client_set_truststore(NULL, err, sizeof(err)), 0);
}

int main(void)
{
    struct MHD_Daemon *d = start_server(&port);
    if (!d || port <= 0) {
        fprintf(stderr, "cannot start the test HTTP server on 127.0.0.1\n");
        return 1;
    }
    RUN(test_get);
    RUN(test_post_body_and_headers);
    RUN(test_error_status_and_empty_body);
    RUN(test_connection_refused);
    RUN(test_bad_urls);
    RUN(test_timeout);
    RUN(test_threads);
    RUN(test_truststore);
    MHD_stop_daemon(d);
    return lc_test_summary(__FILE__);
}
