/* source_api: the Lua side of a source task's batch. One call into Lua per batch
 * (luaconnect._source_next: the script's poll() and the transform chain); then the core
 * walks the batch's entries as typed C values — a record, or the marker the chain left in
 * place of a dropped (skip) or failed (error) record — and takes each part of a record in
 * the order it needs it: key and value as bytes through the connector's converters,
 * headers as librdkafka headers, source partition and offset as JSON text. Reading an
 * entry never calls into Lua (except _describe_record, for an error text).
 *
 * Strings an entry gives (topic, class, message, trace, where) stay valid until the next
 * lc_source_api_entry or lc_source_api_end. Depends on bridge, codec, headers, task_api. */
#ifndef LC_SOURCE_API_H
#define LC_SOURCE_API_H

#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "headers.h"

/** A polled batch being read. Zero-initialise it once per task; its fields are the
 * binding's (the core only passes it along). */
typedef struct lc_source_batch {
    lua_State *L;
    int n;                 /* entries in the batch */
    int list;              /* stack slot of the batch's list */
    int r;                 /* stack slot of the current entry (or of a marker's record) */
    int failed_rec;        /* stack slot of the record a failure report reads */
    const void *last_part; /* the source partition table pbuf was last encoded from */
    int keys;              /* stack slot of the first record field name (0: not pushed yet) */
    /* A batch of lines (lc_source_api_poll returned 2): the text, its info table's slot,
     * and what the template of gen tpl_gen converted to. */
    const char *text;
    size_t text_len;
    int info;
    double tpl_gen; /* 0: none converted yet */
    lc_buf_t pre, suf, key, topic, field, part;
    int key_null, raw_hole, has_part;
    double position;
} lc_source_batch_t;

/** Runs fn(opaque) (the batch's record loop: lc_source_api_entry, _convert, ...) inside one
 * protected call into Lua, so the converters skip a lua_pcall per record. Returns fn's
 * result, or -1 with errstr when a Lua error (out of memory) ended it. */
int lc_source_api_run(lc_source_batch_t *b, int (*fn)(void *opaque), void *opaque, char *errstr,
                      size_t errstr_size);

/** What an entry of the batch is. */
typedef enum { LC_SOURCE_RECORD, LC_SOURCE_SKIP, LC_SOURCE_ERROR } lc_source_kind_t;

/** One entry of the batch. For a record: topic (NULL when not a string), partition (-1,
 * librdkafka's RD_KAFKA_PARTITION_UA, when not a number), timestamp (0 when not a number).
 * For an error marker (a tolerated transform failure): class, message, trace, where. */
typedef struct lc_source_entry {
    lc_source_kind_t kind;
    const char *topic;
    int32_t partition;
    int64_t timestamp;
    const char *class_name, *message, *trace, *where;
} lc_source_entry_t;

/** Runs _source_next(task) in L, the task's state. Returns 1 with a batch of b->n entries
 * to read, 2 with a batch of b->n lines (a line source whose transform chain is
 * content-blind: lc_source_api_lines), 0 when poll() returned nothing, -1 with errstr (the
 * SDK's error text). */
int lc_source_api_poll(lua_State *L, lc_source_batch_t *b, char *errstr, size_t errstr_size);

/** A batch of lines as the worker writes it: every line's record is the template's (the
 * transform chain's result for one line, converted once) with the line in place of the
 * hole. Valid until lc_source_api_end. */
typedef struct lc_source_lines {
    const char *text; /* the lines, each ending in '\n' (a '\r' before it is not the line's) */
    size_t len;
    const char *topic;
    const char *key; /* NULL: a Kafka null */
    size_t key_len;
    const char *partition; /* the source partition as JSON text; NULL: none (no offsets) */
} lc_source_lines_t;

/** Converts the template of the line batch b (once per template) with the connector's
 * converters and fills out. Returns 1; or 0 when a converter's result cannot be cut at the
 * hole (a converter other than JsonConverter or StringConverter/ByteArrayConverter on the
 * bare line, or one that failed on the template): the SDK then made the batch's records
 * (and makes them from now on), b holds b->n entries to read as after a return of 1 from
 * lc_source_api_poll; -1 with errstr. */
int lc_source_api_lines(lc_source_batch_t *b, const lc_converter_t *key_conv,
                        const lc_converter_t *value_conv, lc_source_lines_t *out, char *errstr,
                        size_t errstr_size);
/** The value of the line of n bytes at s (the '\r' and '\n' left out): the template's
 * converted value with the line in place of the hole, in out. 0, or -1 (out of memory). */
int lc_source_api_line_value(const lc_source_batch_t *b, const char *s, size_t n, lc_buf_t *out);
/** The source offset of a line batch's record whose line ends at byte end of the text
 * (its '\n' included), as JSON text NUL-terminated in out. 0, or -1 (out of memory). */
int lc_source_api_line_offset(const lc_source_batch_t *b, size_t end, lc_buf_t *out);
/** Frees what a line batch's template was converted to (at the task's end, and when a hot
 * reload replaced the task's state: the next template is converted again). */
void lc_source_api_free(lc_source_batch_t *b);
/** Reads entry i (1-based) of the batch into e. Returns 0, or -1 with errstr when the
 * entry is not a table ("poll() returned a ... at position i of n; records are tables"). */
int lc_source_api_entry(lc_source_batch_t *b, int i, lc_source_entry_t *e, char *errstr,
                        size_t errstr_size);
/** Converts the current record's key (value when value != 0) with cv into out (*is_null
 * for a Kafka null). Returns 0, or -1 with errstr (the converter's text). */
int lc_source_api_convert(lc_source_batch_t *b, int value, const lc_converter_t *cv, lc_buf_t *out,
                          int *is_null, char *errstr, size_t errstr_size);
/** The current record's headers to produce in *out (NULL when it has none; the caller
 * owns them); tmp is scratch. Returns 0, or -1 with errstr naming the header. */
int lc_source_api_headers(lc_source_batch_t *b, lc_buf_t *tmp, rd_kafka_headers_t **out,
                          char *errstr, size_t errstr_size);
/** The current record's source partition table as a pointer to compare (*part; NULL when
 * it has none), its JSON text NUL-terminated in pbuf: not encoded again while records share
 * one partition table. Its offset is not read here: only the last record of a run of one
 * partition has it encoded (lc_source_api_offset_at), since a commit takes the offset of
 * the last acknowledged record of a partition. Returns 0, or -1 with errstr. */
int lc_source_api_partition(lc_source_batch_t *b, lc_buf_t *pbuf, const void **part, char *errstr,
                            size_t errstr_size);
/** The source partition and offset of a skip marker as NUL-terminated JSON text in pbuf
 * and obuf. Returns 0, or -1 when either cannot be encoded. */
int lc_source_api_skip_offset(lc_source_batch_t *b, lc_buf_t *pbuf, lc_buf_t *obuf);
/** The source partition and offset of record i of the batch, as lc_source_api_skip_offset:
 * the offset of the last record of a run of one partition. Returns 0, or -1 with errstr. */
int lc_source_api_offset_at(lc_source_batch_t *b, int i, lc_buf_t *pbuf, lc_buf_t *obuf,
                            char *errstr, size_t errstr_size);
/** "record 3 of 10 (source partition {...}, offset {...})" for the current entry, from the
 * SDK's _describe_record ("record i of n" when that fails). */
void lc_source_api_describe(lc_source_batch_t *b, int i, char *out, size_t outsz);

/** What a failure report (errors.log, DLQ) needs from the failed record. */
typedef struct lc_source_failed {
    const char *topic; /* NULL when not a string */
    int key_null, value_null;
    int has_offset; /* pbuf and obuf hold the source partition and offset */
} lc_source_failed_t;

/** Reads the failed record — the current record, or an error marker's record — for a
 * report: key and value as the converters' bytes, or plain JSON when the converter is what
 * failed (null when even that fails); source partition and offset as JSON text when the
 * record has a partition table. */
void lc_source_api_failed(lc_source_batch_t *b, const lc_converter_t *key_conv,
                          const lc_converter_t *value_conv, lc_buf_t *kbuf, lc_buf_t *vbuf,
                          lc_buf_t *pbuf, lc_buf_t *obuf, lc_source_failed_t *out);
/** Ends the batch: L's stack is left empty. */
void lc_source_api_end(lc_source_batch_t *b);
/** The JSON text of the string s in out (NUL-terminated), for offset keys. Returns 0, or
 * -1 with errstr. */
int lc_source_api_json_string(lua_State *L, const char *s, lc_buf_t *out, char *errstr,
                              size_t errstr_size);

/** transaction.boundary=connector: what the script asked for since the last call (0 nothing,
 * 1 commit, 2 abort), cleared. */
int lc_source_api_txn_request(lua_State *L);

#endif
