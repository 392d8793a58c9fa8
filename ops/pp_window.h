/*
 * pp_window: the nine queries of pp_query per time window (SPEC 6), the
 * analytics state the streaming engine keeps. docs/windows.md is the
 * user's view.
 *
 * A set holds one list of windows per window spec. Spec 0 is always `all`
 * (one window, start INT64_MIN, end INT64_MAX, always open); the specs
 * given to pp_window_set_new() follow in order, without `all` and without
 * duplicates, so the indices are those of pp_config_windows().
 *
 * Time: every joined post comes with its time (ms since the epoch), the
 * largest Kafka timestamp of its three parts, computed by the caller.
 *   watermark = largest post time seen - allowed lateness.
 * A post with time < watermark on arrival is late: it counts in `all` and
 * in the late counter only, never in a time window (even one still open).
 * Otherwise it counts in every window of every spec that contains it:
 * tumbling:S window k is [k*S, (k+1)*S); hopping:S/L windows start at
 * every multiple of L and last S, so a post is in S/L of them. A window
 * is open while watermark < end and closed (final) from watermark >= end;
 * a closed window is freed once watermark >= end + retention. Windows are
 * created when their first post arrives: a window no post fell into does
 * not exist (it is not listed).
 *
 * Times must lie in [0, INT64_MAX); a post with another time (e.g.
 * librdkafka's -1, "no timestamp") is handled like a late post: `all`
 * and the late counter, and it does not move the watermark.
 *
 * Panes: a hopping:S/L spec with S > L keeps one pp_query_state per pane
 * (the tumbling:L window [k*L, (k+1)*L)), and a post goes into its one
 * pane; window [k*L, k*L + S) is the merge (pp_query_merge_for) of its S/L
 * panes, done when its answer is read while it is open. Tumbling specs,
 * and hopping with S == L, are their own panes. A window exists (is
 * listed) iff one of its panes has had a post; `posts` counts the posts of
 * its panes.
 *
 * Closed windows are final. A closed window keeps one pp_query_state: a
 * tumbling window its own, a hopping window the merge of its panes, done
 * once when it closes, after which the panes no open window shares are
 * freed; its answers are computed from that state when read. It keeps a
 * state rather than its nine answers so that the windows of shards (one
 * set per Kafka partition, pp_window_shards_result()) merge: answers do
 * not (medians, distinct users). The state is kept frozen: encoded and
 * zstd-compressed when the window closes, about a tenth of its size in
 * memory; a read decompresses a copy (about 1 ms a MB of state), so a
 * reader that asks for a closed window often keeps the answer.
 *
 * Memory: per spec, the states of the open windows (tumbling) or of the
 * panes of the open windows (hopping: at most (lateness + size) / slide +
 * 1 panes), plus the frozen state of each closed window within retention, at most
 * (lateness + retention + size) / slide + 1 windows in all. A state is
 * bounded by groups and distinct follower counts except for the distinct
 * users of users_joined_by_year: one 16-byte entry (in a set at most 3/4
 * full) per distinct user of the window, for open and closed windows
 * alike. Nothing else grows with the stream. Adding a post costs one query
 * update per spec; for hopping, size/slide counter increments and, when
 * the post's user is new to its pane, up to size/slide - 1 lookups in the
 * neighbouring panes (each pane counts its distinct users by the distance
 * to the nearest earlier pane holding them, so that users_joined_by_year
 * over a window is a sum of counters, not a union of user sets; up to
 * 1024 panes per window, beyond which windows merge the sets). Reading a
 * hopping window that is still open merges its panes for the other eight
 * queries: one hash upsert per entry of each pane (groups and distinct
 * follower counts, not posts); the close does that once for all nine,
 * distinct users included (one upsert per distinct user of each pane).
 *
 * Threads: a set belongs to one thread (the consumer of the pipeline,
 * which also owns the post table whose interned strings the posts and the
 * results refer to). Nothing here locks.
 */
#ifndef PP_WINDOW_H
#define PP_WINDOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pp_config.h"
#include "pp_err.h"
#include "pp_hmap.h"
#include "pp_post.h"
#include "pp_snap.h"
#include "pp_query.h"

struct pp_window_set;

/* One window of a spec as pp_window_set_info() reports it. */
struct pp_window_info {
    int64_t start_ms; /* inclusive; INT64_MIN for `all` */
    int64_t end_ms;   /* exclusive; INT64_MAX for `all` (and when start + size overflows) */
    bool is_open;     /* watermark < end_ms; always true for `all` */
    uint64_t posts;   /* posts added to this window */
};

/*
 * A set for n specs (specs may be NULL when n is 0). Each spec must be
 * valid as pp_config_windows() or pp_config_window_parse() return them
 * (positive sizes, slide <= size, size a multiple of slide): anything
 * else is a programming error (assert). allowed_lateness_ms and
 * retention_ms are >= 0. The specs are copied. Returns NULL when out of
 * memory; the caller frees the set with pp_window_set_destroy().
 */
struct pp_window_set *pp_window_set_new(const struct pp_config_window *specs, size_t n,
                                        int64_t allowed_lateness_ms, int64_t retention_ms);
/* Frees the set and all its windows. Accepts NULL. */
void pp_window_set_destroy(struct pp_window_set *set);

/*
 * Adds one joined post (borrowed: its text ids refer to strings) with its
 * time, then advances the watermark, closes the windows it passes (for a
 * hopping window, merging its panes: see above) and frees the closed
 * windows past retention and the panes no open window needs. PP_OK, or
 * PP_ERR_NOMEM: the post may then be counted in some windows only and the
 * caller is expected to stop.
 *
 * All the posts of a set refer to one strings table, which the set
 * remembers (from the last add or load) to merge panes when
 * pp_window_set_advance() closes windows: it must stay at its address.
 */
enum pp_err pp_window_set_add(struct pp_window_set *set, const struct pp_post *post,
                              const struct pp_intern *strings, int64_t post_time_ms);
/*
 * Moves the watermark as a post of time time_ms would (largest post time =
 * max(it, time_ms)), closing and freeing windows as pp_window_set_add()
 * does, but counts nothing. Invalid times (outside [0, INT64_MAX)) are
 * ignored. What keeps shards on one clock: a shard advanced to the
 * member's largest post time before each post it takes decides lateness,
 * closing and retention as one set fed every post would. PP_OK or
 * PP_ERR_NOMEM.
 */
enum pp_err pp_window_set_advance(struct pp_window_set *set, int64_t time_ms);
/* The largest valid post time seen or advanced to; INT64_MIN before any. */
int64_t pp_window_set_max_time(const struct pp_window_set *set);

/* The watermark in ms; INT64_MIN before the first post with a valid time. */
int64_t pp_window_set_watermark(const struct pp_window_set *set);
/* Posts counted as late (see above) so far. */
uint64_t pp_window_set_late_posts(const struct pp_window_set *set);

/* What a set's windows hold (/metrics, tests). */
struct pp_window_stats {
    uint64_t states;       /* windows and panes with a query state in memory */
    uint64_t frozen;       /* closed windows kept frozen (see above) */
    uint64_t frozen_bytes; /* their compressed states */
};
/* Adds set's counts to *stats (the caller zeroes it first: the counts of
 * several shards add up). */
void pp_window_set_stats(const struct pp_window_set *set, struct pp_window_stats *stats);

/* The number of specs (1 + the distinct non-`all` specs given). */
size_t pp_window_set_spec_count(const struct pp_window_set *set);
/* Spec number spec (< pp_window_set_spec_count()); spec 0 is `all`. */
const struct pp_config_window *pp_window_set_spec(const struct pp_window_set *set, size_t spec);
/*
 * Finds a spec by value (kind, size and slide; `tumbling:60s` finds
 * `tumbling:1m`, `hopping:5m/5m` does not find `tumbling:5m`). PP_OK and
 * *spec, or PP_ERR_NOTFOUND.
 */
enum pp_err pp_window_set_lookup(const struct pp_window_set *set,
                                 const struct pp_config_window *window, size_t *spec);

/*
 * The windows of a spec that exist now, in start order: indices
 * 0 .. pp_window_set_count() - 1. Indices shift when a post creates an
 * earlier window or retention frees the oldest, so read them between two
 * adds (on the owning thread).
 */
size_t pp_window_set_count(const struct pp_window_set *set, size_t spec);
void pp_window_set_info(const struct pp_window_set *set, size_t spec, size_t i,
                        struct pp_window_info *info);
/*
 * One query's table over window i of a spec (see pp_query_result()). Text
 * cells point into strings. The caller frees the table with
 * pp_table_cleanup(). A closed window's table is computed from its kept
 * state; an open hopping window's by merging its panes (see above for the
 * cost). PP_OK or PP_ERR_NOMEM.
 */
enum pp_err pp_window_set_result(const struct pp_window_set *set, size_t spec, size_t i,
                                 const struct pp_intern *strings, enum pp_query_id id,
                                 struct pp_table *table);

/* A window set and the strings its posts' text ids refer to: one shard
 * (per Kafka partition) of a member's state. */
struct pp_window_shard {
    const struct pp_window_set *set;
    const struct pp_intern *strings;
};
/*
 * The windows of spec across n shards made with the same specs, lateness
 * and retention, fed disjoint posts and advanced to the same time: the
 * union of their windows by start, in start order, posts summed, is_open
 * as a single set fed all the posts would say. *infos is malloc'd (caller
 * free()s it; NULL when *count is 0). PP_OK or PP_ERR_NOMEM.
 */
enum pp_err pp_window_shards_list(const struct pp_window_shard *shards, size_t n, size_t spec,
                                  struct pp_window_info **infos, size_t *count);
/*
 * Query id's table over the window of spec starting at start_ms (INT64_MIN
 * for `all`) across the shards: equal to what a single set fed all their
 * posts answers. Text cells point into strings (the caller's, which must
 * outlive the table; results intern into it). Costs a merge of the
 * window's state in each shard holding it (of each of its panes while a
 * hopping window is open; for users_joined_by_year one upsert per distinct
 * user of each), except when one shard holds it. PP_OK, PP_ERR_NOTFOUND
 * (no shard has that window), PP_ERR_NOMEM, PP_ERR_INVALID (unknown id).
 */
enum pp_err pp_window_shards_result(const struct pp_window_shard *shards, size_t n, size_t spec,
                                    int64_t start_ms, enum pp_query_id id,
                                    struct pp_intern *strings, struct pp_table *table);

/*
 * The whole state of the window of spec starting at start_ms across the
 * shards, merged into merged (initialised by the caller, which cleans it
 * up) over strings (as above): what answering all nine queries over one
 * window needs, each shard's state read once (a frozen one thawed once)
 * instead of once per query. Meant for closed windows: an open window of
 * panes merges every pane, its distinct users included (one upsert per
 * distinct user of each pane), which pp_window_shards_result() avoids for
 * users_joined_by_year. PP_OK, PP_ERR_NOTFOUND (no shard has that
 * window), PP_ERR_NOMEM, PP_ERR_CORRUPT (a frozen state that does not
 * thaw); merged then holds part of the window.
 */
enum pp_err pp_window_shards_merge(const struct pp_window_shard *shards, size_t n, size_t spec,
                                   int64_t start_ms, struct pp_intern *strings,
                                   struct pp_query_state *merged);

/*
 * Checkpoints (pp_snap, docs/checkpoints.md): the watermark, the late
 * counter and every window and pane with its state (a closed window's
 * included). Load into a set just made by pp_window_set_new() with the
 * same specs, lateness and retention as the saved one (the caller checks
 * the configuration first; a mismatch here is PP_ERR_CORRUPT); the states'
 * text ids refer to strings, whose saved ids must already be loaded (the
 * set remembers it, as pp_window_set_add() does): an id beyond them, a
 * frozen state that does not thaw, or closed windows that are not exactly
 * those behind the saved watermark are PP_ERR_CORRUPT. PP_OK or the reader's
 * error; on error the set is only good for pp_window_set_destroy().
 */
void pp_window_set_save(const struct pp_window_set *set, struct pp_snap_writer *w);
enum pp_err pp_window_set_load(struct pp_window_set *set, struct pp_intern *strings,
                               struct pp_snap_reader *rd);

/* A spec's text (the HTTP API's `window=` parameter) is parsed and written
 * by pp_config_window_parse() and pp_config_window_format() (pp_config.h). */

#endif
