/*
 * pp_batch: the unit of work that travels through the pipeline's rings.
 *
 * A batch carries a block of input bytes (records, one per line) described
 * by spans, and the output a worker stage wrote for them. The batch travels
 * source -> worker -> consumer -> back to the pool; whoever holds the
 * pointer owns the whole batch, and only that thread touches it.
 *
 * Lifetime rule: parsed records are views into data[] and into arena, so
 * they are valid until the consumer releases the batch back to the pool
 * (pp_pipeline_release). Only then may the records' offsets be considered
 * done (committable, in streaming).
 */
#ifndef PP_BATCH_H
#define PP_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pp_arena.h"
#include "pp_err.h"

/* Readable bytes past data[len]: what simdjson needs (pp_json). */
#define PP_BATCH_PADDING 64

/*
 * A run of records from one object (or one partition): bytes
 * data[begin..end) hold complete records separated by '\n' (the last one may
 * lack its newline). An oversized span holds no bytes: it stands for one
 * record too long to carry, at first_offset.
 *
 * A single-record span (is_single, as a Kafka source writes them) holds
 * exactly one record, which may contain '\n' (JSON allows it between
 * tokens); timestamp_ms is then its record timestamp. Lake spans carry
 * timestamp_ms = PP_BATCH_NO_TIMESTAMP.
 */
#define PP_BATCH_NO_TIMESTAMP INT64_MIN

struct pp_batch_span {
    uint32_t begin;
    uint32_t end;
    int64_t first_offset;
    int64_t timestamp_ms;
    int32_t partition;
    uint16_t topic;
    bool is_oversized;
    bool is_single;
    /* The first record of its partition since the partition was (re)assigned
     * to this consumer (Kafka sources): any earlier record of the partition
     * in the pipeline came from an earlier assignment. */
    bool is_resumed;
};

struct pp_batch {
    /* Input, written by the source. */
    char *data; /* cap + PP_BATCH_PADDING bytes */
    size_t len; /* bytes used */
    size_t cap;
    size_t base_cap; /* cap at pp_batch_new: pp_batch_reset returns to it */
    struct pp_batch_span *spans;
    size_t n_spans;
    size_t spans_cap;
    uint64_t seq; /* position in the stream of batches, set by the pipeline */

    /* Output, written by the worker stage; the layout of out is the
     * stage's (an array of its items). Views may point into data and
     * arena. */
    struct pp_buf out;
    size_t n_out;
    struct pp_arena arena;

    /* A second output, for a stage that writes two kinds of items (the
     * lake sink's encoded chunks next to the cleaned records): aux holds
     * n_aux items, aux_bytes the bytes they refer to by position (so the
     * buffer may grow while the worker fills it). */
    struct pp_buf aux;
    size_t n_aux;
    struct pp_buf aux_bytes;
};

/* cap: input bytes. Returns NULL when out of memory. */
struct pp_batch *pp_batch_new(size_t cap);
/* Accepts NULL. */
void pp_batch_destroy(struct pp_batch *batch);
/* Empties input and output, keeping memory for reuse (data shrinks back to
 * base_cap after a pp_batch_grow). */
void pp_batch_reset(struct pp_batch *batch);
/*
 * Grows data to hold cap bytes, for one record larger than a whole batch
 * (a Kafka message, carried whole so that its bytes reach the raw lake and
 * the dlq: SPEC 3). Only while nothing points into data (the source, while
 * filling); spans are positions and stay valid. PP_ERR_NOMEM leaves the
 * batch as it was.
 */
enum pp_err pp_batch_grow(struct pp_batch *batch, size_t cap);
/* Appends a span; PP_ERR_NOMEM on failure. */
enum pp_err pp_batch_add_span(struct pp_batch *batch, const struct pp_batch_span *span);

#endif
