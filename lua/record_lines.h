/* record_lines: a sink build's userdata (lc_sink_build_t): the records sink_api.c noted and
 * its builder has not made yet, and the text of the build's lazy records (sink_api.c's
 * lazy_values). Shared by sink_api.c, which writes it, and bridge.c's core.json_lines, which
 * reads the lines: a layout and one lookup, no functions of either file.
 *
 * A lazy record holds, instead of its value, the build's userdata under LC_RECORD_LINES and
 * its place in it (1-based) under LC_RECORD_LINE. The userdata keeps each record's line:
 * what core.json_lines writes for the value, ending with a newline, and what record.value is
 * decoded from on its first read (json_canon writes every scalar so that it reads back the
 * same). Records keep the userdata alive; its __gc frees the text. */
#ifndef LC_RECORD_LINES_H
#define LC_RECORD_LINES_H

#include <stddef.h>
#include <stdint.h>

#include "codec.h"

/* The two fields, in C (with their lengths) and as Lua string literals. */
#define LC_RECORD_LINES "\0lines"
#define LC_RECORD_LINE "\0line"
#define LC_RECORD_LINES_LUA "\\0lines"
#define LC_RECORD_LINE_LUA "\\0line"

typedef struct {
    size_t off;      /* the line's first byte in text */
    size_t line_len; /* with its newline */
} lc_line_span_t;

/* A record noted by sink_api.c and not made yet, lazy (line > 0) or not (the Lua builder
 * reads it by FFI). */
typedef struct {
    double offset, timestamp; /* timestamp < 0: none */
    int32_t index, partition, topic, line;
} lc_sink_pending_t;

/* A build's userdata: the lazy records' lines (text, spans), and what only sink_api.c reads:
 * the records pending and the topic names they were given. */
typedef struct {
    lc_buf_t text;
    lc_line_span_t *spans;
    size_t n, cap; /* lines */
    lc_sink_pending_t *pending;
    size_t npending, pcap;
    int32_t ntopics;
    const char *last_topic; /* the last record's topic as its caller gave it */
    const char *last_name;  /* topic ntopics: its Lua string, which the topics table keeps */
} lc_sink_build_t;

/* The line of record i (1-based) of l; 0, or -1 when i is not one of its records. */
static inline int lc_record_line(const lc_sink_build_t *l, double i, const char **s, size_t *n)
{
    if (!(i >= 1 && i <= (double)l->n)) return -1;
    const lc_line_span_t *sp = &l->spans[(size_t)i - 1];
    *s = l->text.data + sp->off;
    *n = sp->line_len;
    return 0;
}

#endif
