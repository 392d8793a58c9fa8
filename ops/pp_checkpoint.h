/*
 * pp_checkpoint: an analytics state of `pinpipe run` as one lake object,
 * so that the answers survive a crash and move with their partition
 * (docs/checkpoints.md). pp_run keeps one state (a shard) per partition
 * number and checkpoints each on its own; this module does not care which
 * records a state holds.
 *
 * A checkpoint holds the interned strings, the stream (dedup keys, pending
 * joins, counts), the window set (every window and pane, the watermark)
 * and the next offset of every partition applied to them: exactly the
 * state those records made; and where a restart resumes reading, which the
 * caller chooses (the lake sink's committable offsets). It is one zstd frame of the pp_snap
 * encoding, headed by a magic, a format version, a layout fingerprint of this build and the text of
 * the configuration the state depends on, all checked before anything is loaded.
 *
 * Threads: the state belongs to the loop thread of pp_run, which encodes
 * and decodes it between batches.
 */
#ifndef PP_CHECKPOINT_H
#define PP_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "pp_arena.h"
#include "pp_err.h"
#include "pp_hmap.h"
#include "pp_stream.h"
#include "pp_window.h"

/* Where the state lives and what it depends on (all borrowed). */
struct pp_checkpoint_state {
    struct pp_intern *strings;
    struct pp_stream *stream;
    struct pp_window_set *windows;
    struct pp_hmap *offsets; /* (topic, partition) -> next offset applied */
    /* (topic, partition) -> where a restart resumes reading, at or below
     * offsets (the records between are read again but not applied again). */
    struct pp_hmap *resume;
    /* The keys the state depends on, e.g. "analytics.windows=...\n...":
     * a checkpoint taken with other values is refused at load. */
    const char *config;
    /* The Kafka cluster the offsets are of (its cluster id), "" when not
     * known: a checkpoint of another cluster (a development broker that
     * restarted empty, another Kafka) is refused at load; when either
     * side does not know its cluster, it is not checked. */
    const char *cluster_id;
    /* When not NULL, pp_checkpoint_decode() copies there the cluster id the
     * checkpoint was taken on ("" when it has none), for a caller that did
     * not know its own cluster yet and checks later. */
    char *taken_on;
    size_t taken_on_cap;
};

/* Encodes and compresses the state as checkpoint number seq (the caller
 * counts them), appending one zstd frame to out. PP_OK or PP_ERR_NOMEM
 * (out may then hold part of it). */
enum pp_err pp_checkpoint_encode(const struct pp_checkpoint_state *state, uint64_t seq,
                                 struct pp_buf *out);

/*
 * Whether data (len bytes) is a whole checkpoint of this build: a complete
 * frame, the header and the end marker. *seq gets its number. PP_OK,
 * PP_ERR_CORRUPT (e.g. an object cut short: some S3-compatible stores keep
 * what arrived of an upload whose client died), PP_ERR_INVALID (another
 * format or layout), PP_ERR_NOMEM. Decompresses the whole frame: into raw
 * when it is not NULL (its content replaced; the caller frees it), so that
 * pp_checkpoint_decode_raw() loads it without decompressing it again.
 */
enum pp_err pp_checkpoint_check(const void *data, size_t len, uint64_t *seq, struct pp_buf *raw);

/*
 * Loads a checkpoint (data, len bytes: an object pp_checkpoint_encode()
 * made) into a state just created (empty strings, a new stream and window
 * set from the same configuration, empty offsets and resume maps). Errors, with one
 * line in msg: PP_ERR_CORRUPT (not a checkpoint, truncated, inconsistent),
 * PP_ERR_INVALID (another format version or build layout, another
 * configuration or Kafka cluster: msg names both), PP_ERR_NOMEM. On error the state is
 * only good for being destroyed.
 */
enum pp_err pp_checkpoint_decode(const struct pp_checkpoint_state *state, const void *data,
                                 size_t len, char *msg, size_t msg_len);

/* pp_checkpoint_decode() of the raw_len bytes that pp_checkpoint_check()
 * decompressed into raw (borrowed): the same loading and errors. */
enum pp_err pp_checkpoint_decode_raw(const struct pp_checkpoint_state *state, const void *raw,
                                     size_t raw_len, char *msg, size_t msg_len);

/*
 * The object key of the checkpoints of one partition's state in a consumer
 * group, of one generation,
 * "_pinpipe/state/<group, %-encoded>/p<partition>/checkpoint-<generation>.bin.zst",
 * into key (cap bytes). Checkpoint seq goes to generation seq % 2, so
 * that writing one never touches the newest durable one. A partition < 0
 * gives the key of format 2, one checkpoint for the group
 * ("<group>/checkpoint-<generation>.bin.zst"), which a run refuses to
 * start on. PP_ERR_TOOBIG when it does not fit.
 */
enum pp_err pp_checkpoint_key(const char *group_id, int32_t partition, unsigned generation,
                              char *key, size_t cap);

#endif
