/* http_client: see http_client.h. libcurl is loaded with dlopen on the first request, not
 * linked: it and the libraries it needs (Kerberos, LDAP, SSH, RTMP, HTTP/2...) added ~1 MB to
 * every worker's RSS (idle worker 15.6 -> 14.6 MB), and only distributed mode and the status
 * CLI make requests. */
#include "http_client.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A response larger than this is refused: worker-to-worker answers are small JSON bodies. */
#define LC_HTTP_MAX_RESPONSE (64u << 20)
#define LC_CURL_SONAME "libcurl.so.4"

/* The libcurl functions used here, found in LC_CURL_SONAME. */
static struct {
    CURLcode (*global_init)(long flags);
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *h, CURLoption option, ...);
    CURLcode (*easy_perform)(CURL *h);
    CURLcode (*easy_getinfo)(CURL *h, CURLINFO info, ...);
    void (*easy_cleanup)(CURL *h);
    const char *(*easy_strerror)(CURLcode rc);
    struct curl_slist *(*slist_append)(struct curl_slist *list, const char *s);
    void (*slist_free_all)(struct curl_slist *list);
} cu;

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static char global_error[512] = "not loaded";
static pthread_mutex_t truststore_mu = PTHREAD_MUTEX_INITIALIZER;
static char *truststore; /* owned; NULL: the system's trust store */

static int load_sym(void *lib, void *fn, const char *name)
{
    void *p = dlsym(lib, name);
    if (!p) {
        snprintf(global_error, sizeof(global_error), "%s has no %s", LC_CURL_SONAME, name);
        return -1;
    }
    memcpy(fn, &p, sizeof(p)); /* a data pointer to a function pointer, as POSIX allows */
    return 0;
}

/* Loads libcurl and runs curl_global_init, exactly once (curl_global_init is not thread-safe
 * before curl 7.84). global_error stays "" on success. */
static void global_init(void)
{
    void *lib = dlopen(LC_CURL_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        snprintf(global_error, sizeof(global_error), "cannot load %s: %s", LC_CURL_SONAME, dlerror());
        return;
    }
    if (load_sym(lib, &cu.global_init, "curl_global_init") ||
        load_sym(lib, &cu.easy_init, "curl_easy_init") ||
        load_sym(lib, &cu.easy_setopt, "curl_easy_setopt") ||
        load_sym(lib, &cu.easy_perform, "curl_easy_perform") ||
        load_sym(lib, &cu.easy_getinfo, "curl_easy_getinfo") ||
        load_sym(lib, &cu.easy_cleanup, "curl_easy_cleanup") ||
        load_sym(lib, &cu.easy_strerror, "curl_easy_strerror") ||
        load_sym(lib, &cu.slist_append, "curl_slist_append") ||
        load_sym(lib, &cu.slist_free_all, "curl_slist_free_all"))
        return;
    CURLcode rc = cu.global_init(CURL_GLOBAL_DEFAULT);
    if (rc != CURLE_OK)
        snprintf(global_error, sizeof(global_error), "curl_global_init failed: %s",
                 cu.easy_strerror(rc));
    else
        global_error[0] = '\0';
}

int lc_http_client_set_truststore(const char *pem_path, char *errstr, size_t errstr_size)
{
    char *copy = NULL;
    if (pem_path) {
        if (access(pem_path, R_OK) != 0) {
            snprintf(errstr, errstr_size, "truststore %s cannot be read", pem_path);
            return -1;
        }
        copy = strdup(pem_path);
        if (!copy) {
            snprintf(errstr, errstr_size, "truststore %s: out of memory", pem_path);
            return -1;
        }
    }
    pthread_mutex_lock(&truststore_mu);
    free(truststore);
    truststore = copy;
    pthread_mutex_unlock(&truststore_mu);
    return 0;
}

typedef struct {
    char *data;
    size_t len, cap;
    int too_large;
} lc_http_buf_t;

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    lc_http_buf_t *b = userdata;
    size_t n = size * nmemb;
    if (b->len + n + 1 > LC_HTTP_MAX_RESPONSE) {
        b->too_large = 1;
        return 0; /* makes curl fail with CURLE_WRITE_ERROR */
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d) return 0;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, ptr, n);
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

/* Sets the method and body on h: GET and HEAD as curl knows them, everything else as a custom
 * method with the body (an empty one when NULL, so POST and PUT send Content-Length: 0). */
static CURLcode set_method(CURL *h, const char *method, const char *body, size_t len)
{
    CURLcode rc = CURLE_OK;
    if (strcmp(method, "GET") == 0 && !body) return cu.easy_setopt(h, CURLOPT_HTTPGET, 1L);
    if (strcmp(method, "HEAD") == 0) return cu.easy_setopt(h, CURLOPT_NOBODY, 1L);
    if (body || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0) {
        rc = cu.easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? len : 0));
        if (!rc) rc = cu.easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
    }
    if (!rc && strcmp(method, "POST") != 0) rc = cu.easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    return rc;
}

int lc_http_request(const char *method, const char *url, const char *const *headers,
                    const char *body, size_t len, long timeout_ms, char **body_out, char *errstr,
                    size_t errstr_size)
{
    char curl_err[CURL_ERROR_SIZE] = "";
    lc_http_buf_t buf = {0};
    struct curl_slist *hdrs = NULL;
    CURL *h = NULL;
    CURLcode rc;
    long status = -1;
    int ret = -1;

    *body_out = NULL;
    if (!url || !method || !*method) {
        snprintf(errstr, errstr_size, "cannot reach %s: no %s given", url ? url : "(no URL)",
                 url ? "method" : "URL");
        return -1;
    }
    pthread_once(&global_once, global_init);
    if (global_error[0]) {
        snprintf(errstr, errstr_size, "cannot reach %s: %s", url, global_error);
        return -1;
    }
    h = cu.easy_init();
    if (!h) {
        snprintf(errstr, errstr_size, "cannot reach %s: curl_easy_init failed", url);
        return -1;
    }
    hdrs = cu.slist_append(NULL, "Content-Type: application/json");
    /* no "Expect: 100-continue" round trip before bodies over 1 KiB */
    if (hdrs) hdrs = cu.slist_append(hdrs, "Expect:");
    for (size_t i = 0; hdrs && headers && headers[i]; i++) {
        struct curl_slist *more = cu.slist_append(hdrs, headers[i]);
        if (!more) {
            cu.slist_free_all(hdrs);
            hdrs = NULL;
        }
        hdrs = more;
    }
    if (!hdrs) {
        snprintf(errstr, errstr_size, "cannot reach %s: out of memory", url);
        goto out;
    }

    pthread_mutex_lock(&truststore_mu);
    rc = truststore ? cu.easy_setopt(h, CURLOPT_CAINFO, truststore) : CURLE_OK;
    pthread_mutex_unlock(&truststore_mu);
    if (!rc) rc = cu.easy_setopt(h, CURLOPT_ERRORBUFFER, curl_err);
    if (!rc) rc = cu.easy_setopt(h, CURLOPT_URL, url);
#if LIBCURL_VERSION_NUM >= 0x075500
    if (!rc) rc = cu.easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    if (!rc) rc = cu.easy_setopt(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    /* signals cannot interrupt name resolution in a multi-threaded process */
    if (!rc) rc = cu.easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    if (!rc) rc = cu.easy_setopt(h, CURLOPT_PROXY, "");
    if (!rc) rc = cu.easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms > 0 ? timeout_ms : 0L);
    if (!rc) rc = cu.easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    if (!rc) rc = cu.easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    if (!rc) rc = cu.easy_setopt(h, CURLOPT_WRITEDATA, &buf);
    if (!rc) rc = set_method(h, method, body, len);
    if (!rc) rc = cu.easy_perform(h);
    if (rc != CURLE_OK) {
        if (buf.too_large)
            snprintf(errstr, errstr_size, "cannot reach %s: response larger than %u bytes", url,
                     LC_HTTP_MAX_RESPONSE);
        else
            snprintf(errstr, errstr_size, "cannot reach %s: %s", url,
                     curl_err[0] ? curl_err : cu.easy_strerror(rc));
        goto out;
    }
    cu.easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    *body_out = buf.data ? buf.data : strdup("");
    buf.data = NULL;
    if (!*body_out) {
        snprintf(errstr, errstr_size, "cannot reach %s: out of memory", url);
        goto out;
    }
    ret = (int)status;
out:
    free(buf.data);
    cu.slist_free_all(hdrs);
    cu.easy_cleanup(h);
    return ret;
}
