/* console: the built-in web console — one self-contained HTML page (ui/console.html,
 * embedded at build time by tools/embed.cmake) served at /ui/ and, to a browser asking
 * for text/html, at /. The page itself calls the REST API; this module only decides
 * whether a request is for the page and sends it.
 * Depends on libmicrohttpd. */
#ifndef LC_CONSOLE_H
#define LC_CONSOLE_H

#include <microhttpd.h>

/** 1 when the request is for the console page: GET or HEAD of /ui, /ui/ or /ui/index.html,
 * or of / with an Accept header that lists text/html (API clients keep Connect's JSON). */
int lc_console_wants(struct MHD_Connection *conn, const char *method, const char *url);
/** Queues the page (200, text/html; no caching, no framing by other sites). */
enum MHD_Result lc_console_send(struct MHD_Connection *conn);

#endif
