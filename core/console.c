/* console: see console.h. */
#include "console.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Generated from ui/console.html by tools/embed.cmake (build directory). */
extern const unsigned char lc_console_html[];
extern const unsigned long lc_console_html_len;

/* Whether an Accept header lists text/html as a media range (q=0 means "not this"). */
static int accepts_html(const char *accept)
{
    for (const char *p = accept; p && *p;) {
        p += strspn(p, " ,");
        size_t n = strcspn(p, ",");
        if (n >= 9 && strncasecmp(p, "text/html", 9) == 0 && (n == 9 || strchr("; ", p[9]))) {
            const char *q = strstr(p, "q=");
            if (!q || q >= p + n || strtod(q + 2, NULL) > 0) return 1;
        }
        p += n;
    }
    return 0;
}

int lc_console_wants(struct MHD_Connection *conn, const char *method, const char *url)
{
    if (!method || !url || (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)) return 0;
    if (strcmp(url, "/ui") == 0 || strcmp(url, "/ui/") == 0 || strcmp(url, "/ui/index.html") == 0)
        return 1;
    if (strcmp(url, "/") != 0) return 0;
    return accepts_html(MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT));
}

enum MHD_Result lc_console_send(struct MHD_Connection *conn)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        (size_t)lc_console_html_len, (void *)lc_console_html, MHD_RESPMEM_PERSISTENT);
    if (!resp) return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/html; charset=utf-8");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    /* The page runs only its own inline script and talks only to this worker. */
    MHD_add_response_header(resp, "Content-Security-Policy",
                            "default-src 'none'; script-src 'unsafe-inline'; "
                            "style-src 'unsafe-inline'; img-src data:; connect-src 'self'; "
                            "frame-ancestors 'none'");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    /* Vary: the same URL / answers JSON to API clients. */
    MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, "Accept");
    enum MHD_Result rc = MHD_queue_response(conn, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return rc;
}
