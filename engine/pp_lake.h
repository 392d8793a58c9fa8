/*
 * pp_lake: the object layout of the Confluent S3 sink on a local directory.
 *
 *   <root>/<topics.dir>/<topic>/<partition path>/<topic>+<p>+<startOffset>.json[.zst]
 *
 * The partition path is "partition=<p>" (DefaultPartitioner) or any
 * directories (TimeBasedPartitioner): the reader takes partition and start
 * offset from the file name only, so both layouts read the same way.
 * Objects hold one record per line; the last line may lack its newline (the
 * one-record objects of flush.size=1).
 *
 * Main-thread API; a pp_lake_listing is immutable once built and may then be
 * read by any thread.
 */
#ifndef PP_LAKE_H
#define PP_LAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pp_batch.h"
#include "pp_err.h"
#include "pp_topic.h"

#define PP_LAKE_TOPICS_DIR "topics"
#define PP_LAKE_OFFSET_PAD 10
/* The most folders between a topic's directory and its objects that the
 * reader walks; deeper is an error. */
#define PP_LAKE_MAX_DEPTH 32

struct pp_lake_object {
    char *path;           /* full path of the file */
    int32_t partition;    /* from the file name */
    int64_t start_offset; /* offset of the first line */
    uint64_t size;        /* bytes on disk */
    bool is_zstd;         /* name ends in .zst */
};

struct pp_lake_listing {
    char *prefix;                                   /* topic prefix, e.g. "pinterest" */
    char *topic_name[PP_TOPIC_COUNT];               /* "<prefix>.pin", ... */
    struct pp_lake_object *objects[PP_TOPIC_COUNT]; /* sorted (partition, start) */
    size_t object_count[PP_TOPIC_COUNT];
    size_t ignored_files; /* files under the topics that are not objects */
};

/*
 * Lists the lake at root. prefix NULL discovers it: the topic directories
 * whose names end in .pin/.geo/.user; exactly one prefix must have all
 * three, otherwise a usage error lists the candidates. A topic with no
 * directory at all is an error; one with no objects is empty.
 * On error, msg (of msg_len bytes) names the path or problem.
 * The caller frees the listing with pp_lake_listing_cleanup().
 */
enum pp_err pp_lake_list(const char *root, const char *topics_dir, const char *prefix,
                         struct pp_lake_listing *listing, char *msg, size_t msg_len);

/* Accepts a zeroed or partly built listing. */
void pp_lake_listing_cleanup(struct pp_lake_listing *listing);

/*
 * Parses an object file name "<topic>+<p>+<offset>.json[.zst]" (no
 * directory). topic must match exactly. Returns PP_OK or PP_ERR_INVALID.
 */
enum pp_err pp_lake_parse_name(const char *name, const char *topic, int32_t *partition,
                               int64_t *start_offset, bool *is_zstd);

/*
 * Writes the key "<topics_dir>/<topic>/partition=<p>/<topic>+<p>+<offset>.json[.zst]"
 * with the offset zero-padded to pad_width digits. Returns the length it
 * needs (like snprintf); the output is truncated when that is >= cap.
 */
int pp_lake_format_key(char *out, size_t cap, const char *topics_dir, const char *topic,
                       int32_t partition, int64_t start_offset, int pad_width, bool is_zstd);

/*
 * The lake reader: a pipeline source that streams the objects of a listing
 * (topics in pin, geo, user order; each topic's objects in (partition,
 * start offset) order) into batches, decompressing .zst objects. A batch
 * holds whole records only; a record longer than the batch capacity becomes
 * an oversized span. Runs on the pipeline's source thread.
 */
struct pp_lake_reader;

struct pp_lake_reader_stats {
    uint64_t objects;         /* objects read (including skipped corrupt ones) */
    uint64_t corrupt_objects; /* skipped with skip_corrupt */
    uint64_t bytes_in;        /* bytes read from disk */
    uint64_t bytes_out;       /* bytes after decompression */
};

/* The listing must outlive the reader. skip_corrupt: a corrupt or
 * unreadable object is counted and skipped (records of it already handed
 * out stay, as with Spark's ignoreCorruptFiles) instead of failing. */
struct pp_lake_reader *pp_lake_reader_new(const struct pp_lake_listing *listing, bool skip_corrupt);
/* Accepts NULL. */
void pp_lake_reader_destroy(struct pp_lake_reader *reader);

/* A pp_source_fill_fn. Errors: PP_ERR_CORRUPT / PP_ERR_IO with the object
 * named by pp_lake_reader_error(). */
enum pp_err pp_lake_reader_fill(void *reader, struct pp_batch *batch);

/* The message of the last error ("<path>: <problem>"), or "". */
const char *pp_lake_reader_error(const struct pp_lake_reader *reader);

/* Counters; read them after the pipeline has stopped. */
void pp_lake_reader_get_stats(const struct pp_lake_reader *reader,
                              struct pp_lake_reader_stats *stats);

#endif
