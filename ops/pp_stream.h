/*
 * pp_stream: streaming deduplication and join (SPEC 4), the state the
 * consumer thread of `pinpipe run` keeps between the clean stage and the
 * windows. docs/stream.md is the user's view.
 *
 * Items are added in stream order (per partition, offset order). Time is
 * stream time: one clock for the whole stream (not per partition), the
 * largest record timestamp seen so far, in ms. An item without a timestamp
 * (timestamp_ms < 0, e.g. PP_BATCH_NO_TIMESTAMP) is stamped with the
 * current stream time; before the first timestamp, with the first
 * timestamp that arrives later.
 *
 * Dedup: within each topic the first valid record of a key wins and is
 * remembered while stream time <= its stamp + dedup_ttl_ms (inclusive);
 * later records of that key and topic in that span are duplicates
 * (counted, not used). A part still waiting to join is remembered however
 * old it is. After the ttl the key's next record of that topic wins again
 * and may start a new post.
 *
 * Join: the first winning part of a key opens a pending post; when the
 * third part arrives the post is emitted with time = the largest stamp of
 * its parts. A pending post is evicted, its parts counted as orphans per
 * topic, once stream time > the first part's stamp + join_timeout_ms; a
 * part arriving exactly at that bound still joins.
 *
 * Memory: one 40-byte slot per key within its ttl or pending (the table at
 * most half full), an 88-byte entry per pending post (a pool that keeps
 * its largest size), plus two FIFO queues of (stamp, key) (dedup and
 * join, 16 bytes per winning record and per post) popped as time passes
 * and checked lazily against the table, so eviction is O(1) amortised. Expiry is also
 * checked on every lookup, so answers are exact even when out-of-order
 * timestamps leave a queue unsorted (only reclamation is then delayed).
 *
 * Threads: a stream belongs to one thread (the pipeline's consumer).
 */
#ifndef PP_STREAM_H
#define PP_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pp_clean.h"
#include "pp_err.h"
#include "pp_hmap.h"
#include "pp_post.h"
#include "pp_snap.h"

struct pp_stream_options {
    int64_t dedup_ttl_ms;    /* >= 0: config dedup.ttl */
    int64_t join_timeout_ms; /* >= 0: config join.timeout */
    size_t max_keys;         /* the budget: live keys at most; 0 = no limit (tests only) */
};

struct pp_stream_counts {
    struct pp_post_counts input;      /* records, rejects by reason, duplicates, per topic */
    uint64_t posts;                   /* joined posts emitted */
    uint64_t orphans[PP_TOPIC_COUNT]; /* parts evicted by join.timeout, per topic */
    uint64_t no_timestamp;            /* items stamped with the stream time */
};

/* A joined post as pp_stream_add() hands it out (copied: the caller owns
 * it; its text ids refer to the stream's strings). */
struct pp_stream_post {
    struct pp_post post; /* parts == PP_POST_ALL_PARTS */
    int64_t time_ms;     /* largest stamp of the parts; -1 when no time is known yet */
};

struct pp_stream;

/*
 * A stream with the options (copied). strings: where the posts' text is
 * interned (borrowed: it must outlive the stream, and every window set or
 * table built from the emitted posts, since their results point into it).
 * Returns NULL when out of memory; free with pp_stream_destroy().
 */
struct pp_stream *pp_stream_new(const struct pp_stream_options *opt, struct pp_intern *strings);
/* Accepts NULL. The strings are not freed (the caller owns them). */
void pp_stream_destroy(struct pp_stream *stream);

/*
 * Adds one item (borrowed; nothing of it is kept but interned text):
 * advances stream time, evicts what expired, counts the item and, when
 * valid and first for its key and topic, stores it as a part.
 *   PP_OK: the item is applied; *is_joined tells whether it completed a
 *     post, then copied into *out (out is untouched otherwise).
 *   PP_AGAIN: the budget is full (max_keys live keys) and the item needs a
 *     new key: nothing of it is applied or counted (stream time may have
 *     advanced, which a retry repeats harmlessly). The caller pauses
 *     consumption and retries the same item after pp_stream_advance() or
 *     when the budget is raised; its offset is not committable yet.
 *   PP_ERR_NOMEM: out of memory; the stream is unusable, the caller stops.
 */
enum pp_err pp_stream_add(struct pp_stream *stream, const struct pp_clean_item *item,
                          struct pp_stream_post *out, bool *is_joined);

/* Moves stream time to now_ms when that is later, then evicts what expired
 * (for an idle stream or end of input; now_ms is stream time, not the wall
 * clock, unless the caller decides so). */
void pp_stream_advance(struct pp_stream *stream, int64_t now_ms);

/* Stream time in ms; INT64_MIN before the first timestamp. */
int64_t pp_stream_time(const struct pp_stream *stream);
/* Live keys (within a ttl or pending): what the budget counts. */
size_t pp_stream_key_count(const struct pp_stream *stream);
/* Keys with a pending (incomplete) post. */
size_t pp_stream_pending_count(const struct pp_stream *stream);
const struct pp_stream_counts *pp_stream_counts(const struct pp_stream *stream);
/* Adds src's counts to dst's (a member's counts over several streams). */
void pp_stream_counts_add(struct pp_stream_counts *dst, const struct pp_stream_counts *src);

/*
 * Checkpoints (pp_snap, docs/checkpoints.md): stream time, every key with
 * its dedup stamps, the pending posts, the expiry queues and the counts.
 * Load into a stream just made by pp_stream_new() with the same options
 * (a saved dedup_ttl_ms or join_timeout_ms that differs is PP_ERR_CORRUPT:
 * the caller checks the configuration first) and whose strings already
 * hold the saved ids. PP_OK or the reader's error; on error the stream is
 * only good for pp_stream_destroy().
 */
void pp_stream_save(const struct pp_stream *stream, struct pp_snap_writer *w);
enum pp_err pp_stream_load(struct pp_stream *stream, struct pp_snap_reader *rd);

#endif
