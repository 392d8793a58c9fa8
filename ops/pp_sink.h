/*
 * pp_sink: the lake sink (SPEC 7). Raw records, cleaned records and rejects
 * become compressed, partitioned objects in the Confluent S3 sink layout,
 * written exactly once across crashes. docs/sink.md is the design.
 *
 * Two halves, so that compression runs on every core:
 *  - the encode stage, a pipeline worker stage that cleans a batch (it is
 *    pp_clean_stage plus this) and encodes it into chunks: per partition
 *    and run, per kind (raw, cleaned, dlq) and per time partition, the
 *    batch's lines as one zstd frame, or plain bytes when they are few;
 *  - the sink, on the pipeline's consumer thread, which appends the chunks
 *    of each batch, in order, to the open objects (gathering small plain
 *    chunks into frames of their own), closes the objects of a
 *    partition when its run ends, hands them to a pp_store, and reports per
 *    partition the offset up to which everything is durable.
 *
 * Runs: a partition's records are cut into runs at every offset multiple
 * of flush.size and, with rotate.interval.ms, wherever a record's
 * timestamp falls in another interval-aligned slot than its predecessor's.
 * A run's records make one object per kind and time partition, named by
 * the offset of its first record. Runs depend only on offsets and records,
 * so a restart from the start of a run rewrites the same objects (the same
 * keys): committing only run starts whose earlier runs are durable gives
 * exactly-once objects. An object is a concatenation of zstd frames, which
 * every zstd reader (the CLI, DuckDB, Spark's codec) reads as one stream.
 */
#ifndef PP_SINK_H
#define PP_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pp_batch.h"
#include "pp_clean.h"
#include "pp_config.h"
#include "pp_err.h"
#include "pp_pipeline.h"
#include "pp_store.h"
#include "pp_topic.h"

enum pp_sink_kind {
    PP_SINK_RAW,     /* <topics.dir>/<topic>/...: the values as received */
    PP_SINK_CLEANED, /* cleaned/<pin|geo|user>/...: SPEC 2's records */
    PP_SINK_DLQ,     /* dlq/<topic>/...: rejects with reason and bytes */
};
#define PP_SINK_KIND_COUNT 3

/* "raw", "cleaned", "dlq". */
const char *pp_sink_kind_name(enum pp_sink_kind kind);

enum pp_sink_extractor {
    PP_SINK_TIME_RECORD,       /* the Kafka record timestamp */
    PP_SINK_TIME_RECORD_FIELD, /* a column of the cleaned record (docs/sink.md) */
    PP_SINK_TIME_WALLCLOCK,    /* the time the worker encodes it */
};

/* What the objects look like; the configuration keys of SPEC 8. Strings
 * are borrowed and must outlive the stage and the sink. */
struct pp_sink_layout {
    const char *topic_name[PP_TOPIC_COUNT]; /* "<prefix>.pin", ... */
    const char *topics_dir;                 /* topics.dir */
    int64_t flush_size;                     /* records per run, >= 1 */
    int64_t rotate_interval_ms;             /* record-time slots; <= 0: off */
    int64_t rotate_schedule_ms;             /* wall-clock closes; <= 0: off */
    bool is_time_partitioner;               /* TimeBasedPartitioner */
    const char *path_format;                /* its path.format */
    int64_t partition_duration_ms;          /* its partition.duration.ms */
    int64_t timezone_offset_ms;             /* timezone, as a fixed UTC offset */
    enum pp_sink_extractor extractor;
    const char *timestamp_field; /* RecordField: "timestamp" or "date_joined" */
    bool is_zstd;
    int zstd_level; /* 1..19 */
    int offset_pad_width;
};

/*
 * Fills a layout from the sink keys of a validated configuration (SPEC 8:
 * topics.dir, flush.size, rotate.*, partitioner.class, path.format, ...)
 * and checks it like pp_sink_layout_check(). topic_name is copied; the
 * layout borrows the configuration's strings.
 */
enum pp_err pp_sink_layout_init(struct pp_sink_layout *layout, const struct pp_config *cfg,
                                const char *const topic_name[PP_TOPIC_COUNT], char *msg,
                                size_t msg_len);

/*
 * Checks a layout: path.format (quoted 'literals', YYYY or yyyy, MM, dd,
 * HH, mm, ss, and the characters / = - _ .), timestamp.field, and that
 * topics.dir and path.format make object keys the store accepts (no
 * empty, "." or ".." folder). PP_OK, PP_ERR_USAGE with one line in msg
 * naming the key, or PP_ERR_NOMEM.
 */
enum pp_err pp_sink_layout_check(const struct pp_sink_layout *layout, char *msg, size_t msg_len);

/*
 * Appends a reject's dlq line, without a newline:
 * {"topic","partition","offset","timestamp","reason","raw"} (raw null and
 * "raw_base64" for bytes that are not UTF-8). Also the value of the
 * errors.deadletterqueue.topic.name messages. is_raw_omitted: "raw":null
 * and "raw_omitted_bytes":<length> instead of the record (for a topic that
 * cannot take a message that large).
 */
enum pp_err pp_sink_render_dlq(const struct pp_sink_layout *layout,
                               const struct pp_clean_item *item, bool is_raw_omitted,
                               struct pp_buf *out);

/*
 * The encode stage: pp_clean_stage (all columns) and then the chunks of the
 * batch into batch->aux and batch->aux_bytes (their layout is pp_sink.c's:
 * only pp_sink_add() reads them).
 * stage_arg points to a struct pp_sink_stage_arg, borrowed for the
 * pipeline's life.
 */
struct pp_sink_stage_arg {
    struct pp_clean_options clean;
    const struct pp_sink_layout *layout;
};
extern const struct pp_stage_ops pp_sink_stage;

/*
 * The sink. Borrows the layout and the store (both must outlive it).
 * Returns NULL when out of memory. Consumer thread, like every call below.
 */
struct pp_sink;
struct pp_sink *pp_sink_new(const struct pp_sink_layout *layout, struct pp_store *store);

/*
 * Tells the sink which partitions this process owns (a consumer group
 * member's assignment): a flush (shutdown, rotate.schedule.interval.ms)
 * drops, instead of writing, the open objects of a partition it no longer
 * owns, whose records the new owner rewrites from the committed offset.
 * Without it every partition is owned (replay, emulate). is_owned is
 * called on the sink's thread.
 */
typedef bool (*pp_sink_owned_fn)(void *arg, enum pp_topic topic, int32_t partition);
void pp_sink_set_owner(struct pp_sink *sink, pp_sink_owned_fn is_owned, void *arg);

/*
 * Lets the open objects wait in spool (borrowed: it must outlive the sink)
 * instead of memory: an open object keeps less than PP_SPOOL_BLOCK bytes of
 * its frames and less than PP_SPOOL_BLOCK of its plain tail in memory, the
 * rest in spool blocks. The tail comes back to be compressed, the frames
 * when the store takes the closed object (closed objects waiting for a
 * store slot stay spooled). Without it (replay, emulate, tests) open
 * objects stay in memory, bounded by flush.size times the partitions. A
 * spool write that fails (a full disk) is logged once and the sink goes on
 * in memory; a read that fails fails the sink (PP_ERR_IO: the records are
 * not committed, a restart writes them again).
 */
struct pp_spool;
void pp_sink_set_spool(struct pp_sink *sink, struct pp_spool *spool);

/*
 * Frees the sink, abandoning what is not durable yet (pp_sink_abandon):
 * it never waits for the store. Write everything first with
 * pp_sink_drain(). Accepts NULL.
 */
void pp_sink_destroy(struct pp_sink *sink);

/*
 * Appends the chunks of a processed batch (the sink copies what it keeps:
 * the batch may be released right after). A partition that comes back to
 * this process (a record marked is_resumed, or offsets that go back:
 * librdkafka re-reads from the committed offset after a rebalance) drops
 * its open objects and starts again from there. Closed objects go to the
 * store. Errors: PP_ERR_NOMEM, or an object that failed for good.
 */
enum pp_err pp_sink_add(struct pp_sink *sink, const struct pp_batch *batch);

/* Closes every partition's open objects now: on shutdown, and for
 * rotate.schedule.interval.ms (pp_sink_poll() does that one by itself).
 * A restart may then re-read records of objects written after the last
 * commit: at least once (docs/sink.md). */
enum pp_err pp_sink_flush(struct pp_sink *sink);

/*
 * Drives the store: starts queued objects, collects finished ones, closes
 * runs on the wall-clock schedule. Waits up to timeout_ms (0: no wait).
 * Errors: an object that failed for good (pp_sink_error() says which) or
 * the store's own failure; the caller stops without committing.
 */
enum pp_err pp_sink_poll(struct pp_sink *sink, int timeout_ms);

/*
 * A stop's last step: closes every open object (pp_sink_flush) and drives
 * the store until every object is durable or timeout_ms has passed, so
 * that a store that stays unreachable (S3 down: puts are retried without
 * limit) cannot hold a shutdown forever. PP_OK says nothing about the
 * outcome: pp_sink_pending_objects() is 0 when everything is durable.
 * Errors as pp_sink_poll().
 */
enum pp_err pp_sink_drain(struct pp_sink *sink, int64_t timeout_ms);

/*
 * Gives up on every object not yet durable (open, queued, and the store's
 * puts: pp_store_abandon) and returns how many there were. Their runs stay
 * uncommitted, so read pp_sink_committable() before: a restart re-reads
 * them and writes the same keys again. The sink is failed afterwards.
 */
size_t pp_sink_abandon(struct pp_sink *sink);

/*
 * The offset from which a restart of (topic, partition) rewrites only
 * objects that are not durable yet: every record below it is in durable
 * objects. false when the sink has seen no record of the partition, and
 * once it has failed or abandoned objects (commit nothing more then).
 */
bool pp_sink_committable(const struct pp_sink *sink, enum pp_topic topic, int32_t partition,
                         int64_t *offset);

/* Bytes held in memory: open objects (not their spooled blocks), queued
 * objects and the store's in-flight ones. Above sink.max.buffered.bytes
 * the caller stops taking batches. */
uint64_t pp_sink_buffered_bytes(const struct pp_sink *sink);

/* Objects not yet durable (open, queued or in flight). */
size_t pp_sink_pending_objects(const struct pp_sink *sink);

/* Objects closed and not yet durable (queued or in flight): waiting for
 * the store helps only while this is not 0. */
size_t pp_sink_writing_objects(const struct pp_sink *sink);

/*
 * Whether the caller should stop taking batches and wait for the store
 * (sink.max.buffered.bytes = budget). Only the objects waiting for the
 * store (queued or in flight) shrink by waiting; the open ones shrink only
 * by consuming on (closing runs), and are bounded by flush.size times the
 * partitions. So the objects waiting get what the open ones leave of the
 * budget, and at least a quarter of it: held bytes stay below the larger
 * of the budget and the open objects plus a quarter of it, and open objects
 * above the budget never stall the stream on every run that closes.
 */
bool pp_sink_is_over_budget(const struct pp_sink *sink, uint64_t budget);

struct pp_sink_stats {
    uint64_t objects[PP_SINK_KIND_COUNT]; /* durable objects */
    uint64_t bytes[PP_SINK_KIND_COUNT];   /* their stored bytes */
    uint64_t records[PP_SINK_KIND_COUNT]; /* their records */
    uint64_t retries;                     /* the store's */
    uint64_t restarts;                    /* partitions that went back (re-read) */
    uint64_t spooled_bytes;               /* objects' bytes in the spool now (open, queued) */
};
void pp_sink_get_stats(const struct pp_sink *sink, struct pp_sink_stats *stats);

/* The last permanent failure ("<key>: <cause>"), or "". */
const char *pp_sink_error(const struct pp_sink *sink);

#endif
