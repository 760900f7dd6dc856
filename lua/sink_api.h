/* sink_api: the Lua side of a sink task. A batch of consumed messages (typed C values;
 * the core keeps every librdkafka call) becomes one list of record tables — key and value
 * through the connector's converters, headers through lua/headers.c — handed to
 * luaconnect._sink_put (the chain and put(): one call into Lua per batch), whose tolerated
 * failures come back as typed values indexed into the batch; a batch whose put() raised
 * connect.retriable() goes to put() again through _sink_redeliver. _sink_flush and
 * _sink_open_partitions take and give plain (topic, partition, offset) triples.
 * Depends on bridge, codec, headers, task_api. */
#ifndef LC_SINK_API_H
#define LC_SINK_API_H

#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "headers.h"

/** One consumed message, as its record table is built from it; everything is borrowed. */
typedef struct lc_sink_msg {
    const char *topic; /* its text must not change until the build ends (lc_sink_api_build):
                        * a topic at the previous record's pointer is taken for its topic */
    int32_t partition;
    int64_t offset;
    int64_t timestamp;       /* < 0: none */
    const void *key, *value; /* NULL: a Kafka null */
    size_t key_len, value_len;
    const rd_kafka_headers_t *headers; /* NULL: none */
} lc_sink_msg_t;

/** A batch being built. Its fields are the binding's (the core only passes it along). */
typedef struct lc_sink_batch {
    lua_State *L;
    int list;          /* stack slot of the list of record tables */
    int n;             /* records added */
    int keys;          /* stack slot of the record field names, then of the last topic (0: none) */
    int reads_headers; /* 0: neither put() nor a transform reads record.headers */
    int lazy;          /* schemaless JSON values are decoded when first read (lazy_values) */
    int put_lines;     /* the lazy sink defines put_lines(task, text, n) */
    int lines_only;    /* every record is lazy: no record tables made, put_lines gets the text */
    void *build;       /* the build's userdata (record_lines.h), once made */
    int expect;        /* records the batch may have (at least 1) */
    int text_chain;    /* lazy, and the chain is a text edit (_text_edit) for most values */
    int text_sample;   /* the next value the edit could take runs the chain in Lua instead */
    int sample_index;  /* the record that did (0: none), timed (_apply_chain's edited) */
    const char *edit_for;       /* the topic (as its caller gave it) edit was looked up for */
    const lc_json_edit_t *edit; /* its edit (NULL: its records go through the Lua chain) */
    const char *edit_topic;     /* the topic the chain gives its records */
} lc_sink_batch_t;

/** Starts a batch of up to n records in L, the task's state. */
void lc_sink_api_begin(lc_sink_batch_t *b, lua_State *L, int n);
/** One step of lc_sink_api_build: adds record i (lc_sink_api_add on inner, the batch as
 * seen inside the protected call) and returns 0 to go on, nonzero to stop there. */
typedef int (*lc_sink_each_fn)(void *opaque, int i, lc_sink_batch_t *inner);
/** Calls each(opaque, i, inner) for i = 0..n-1 inside one protected call into Lua, so the
 * converters skip a lua_pcall per record. Returns 0, the nonzero each() stopped with, or -1
 * with errstr when a Lua error (out of memory) ended it; b->n counts the records added. */
int lc_sink_api_build(lc_sink_batch_t *b, int n, lc_sink_each_fn each, void *opaque, char *errstr,
                      size_t errstr_size);
/** Whether the batch's records need their message headers: 0 when the sink and each step of
 * its transform chain declare reads_headers = false, so the core may leave them unparsed. */
int lc_sink_api_reads_headers(const lc_sink_batch_t *b);
/** Adds the record table of m as record b->n + 1. Returns 0, or -1 with *stage
 * ("KEY_CONVERTER" or "VALUE_CONVERTER") and errstr (the converter's text); nothing is
 * added then. */
int lc_sink_api_add(lc_sink_batch_t *b, const lc_converter_t *key_conv,
                    const lc_converter_t *value_conv, const lc_sink_msg_t *m, const char **stage,
                    char *errstr, size_t errstr_size);
/** Runs _sink_put(task, records) on the batch (or, when every record of the batch was lazy
 * and the sink defines put_lines, _sink_put_lines(task, text, n) with the batch's lines and
 * no record tables made). Returns 0 (its tolerated failures are read
 * with lc_sink_api_failures), 1 when put() raised connect.retriable(msg): *retry_msg is msg
 * (valid until the next call into the state) and *timeout_ms what task.timeout() set (0:
 * none), or -1 with errstr (the SDK's error text). */
int lc_sink_api_put(lc_sink_batch_t *b, const char **retry_msg, long *timeout_ms, char *errstr,
                    size_t errstr_size);
/** Runs _sink_redeliver(task): the batch whose put() raised connect.retriable() goes to
 * put() again (the SDK kept it). Returns as lc_sink_api_put. */
int lc_sink_api_redeliver(lc_sink_batch_t *b, const char **retry_msg, long *timeout_ms,
                          char *errstr, size_t errstr_size);
/** Called for each record the chain or put() failed, in the SDK's order: index is its
 * position among the added records (1-based), put is 1 for stage TASK_PUT and 0 for
 * TRANSFORMATION; class_name outlives the batch (it belongs to the chain or the script),
 * message and trace only the call. Returns nonzero to read no further failures. */
typedef int (*lc_sink_failure_fn)(void *opaque, int index, int put, const char *class_name,
                                  const char *message, const char *trace);
/** Gives fn each tolerated failure of the put that returned 0. */
void lc_sink_api_failures(lc_sink_batch_t *b, lc_sink_failure_fn fn, void *opaque);
/** Ends the batch, put or not: L's stack is left empty. */
void lc_sink_api_end(lc_sink_batch_t *b);
/** Runs _sink_flush(task, offsets) with the next offset to commit of each partition in
 * pos. Returns 0, or -1 with errstr. */
int lc_sink_api_flush(lua_State *L, const rd_kafka_topic_partition_list_t *pos, char *errstr,
                      size_t errstr_size);
/** Called for each {topic, partition, offset} open_partitions() returned. */
typedef void (*lc_sink_offset_fn)(void *opaque, const char *topic, int32_t partition,
                                  int64_t offset);
/** Runs _sink_open_partitions(task, partitions) with the topics and partitions of parts and
 * gives fn each offset the script keeps itself. Returns 0, or -1 with errstr. */
int lc_sink_api_open_partitions(lua_State *L, const rd_kafka_topic_partition_list_t *parts,
                                lc_sink_offset_fn fn, void *opaque, char *errstr,
                                size_t errstr_size);
/** Runs _sink_close_partitions(task, partitions) for partitions being revoked (Kafka's
 * SinkTask.close), after their last flush. Returns 0, or -1 with errstr. */
int lc_sink_api_close_partitions(lua_State *L, const rd_kafka_topic_partition_list_t *parts,
                                 char *errstr, size_t errstr_size);
/** Runs _sink_idle(task): the script's idle() when no record came for a while (Kafka calls
 * put() with no records then), e.g. to rotate files on the clock. Returns 0, or -1. */
int lc_sink_api_idle(lua_State *L, char *errstr, size_t errstr_size);

#endif
