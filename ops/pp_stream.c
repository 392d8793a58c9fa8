#include "pp_stream.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "pp_time.h"

/* No time known yet (stream time, or the stamp of an item that arrived
 * before the first timestamp). */
#define NO_TIME INT64_MIN

/*
 * The state of one key: a free slot has seen == 0. won_ms are the stamps
 * of the winning records (dedup). A key with a pending post refers to it
 * (pending, an index + 1 into the stream's pending pool; 0: none), whose
 * parts are always a subset of seen. The pending post lives apart because
 * almost every key is only remembered for dedup (for dedup.ttl, while
 * posts wait for their parts only for the join's latency): a slot is 40
 * bytes instead of 120, and the table is most of the stream's memory.
 */
struct stream_key {
    int64_t ind;
    int64_t won_ms[PP_TOPIC_COUNT];
    uint32_t pending;
    uint8_t seen;
};

/* A pending post; a free entry links the next free one through next_free
 * (an index + 1; 0 ends the list). */
struct stream_pending {
    int64_t first_ms; /* stamp of the pending post's first part */
    int64_t last_ms;  /* largest stamp of its parts */
    struct pp_post post;
    uint32_t next_free;
};

/* A time-ordered (in arrival order) queue of keys to look at once their
 * stamp is past a duration: a ring that doubles when full. */
struct stream_event {
    int64_t stamp;
    int64_t ind;
};

struct stream_queue {
    struct stream_event *ev;
    size_t cap; /* a power of two, or 0 */
    size_t head;
    size_t len;
};

struct pp_stream {
    struct pp_stream_options opt;
    struct pp_intern *strings;
    int64_t now_ms;   /* stream time */
    int64_t first_ms; /* the first timestamp seen: the stamp of NO_TIME items */
    struct stream_key *keys;
    size_t cap; /* a power of two */
    size_t n_keys;
    size_t n_pending;
    struct stream_pending *pending; /* the pool: n_pool entries in use or free */
    size_t n_pool;
    size_t pool_cap;
    uint32_t free_pending; /* the first free entry, an index + 1; 0: none */
    struct stream_queue dedup;
    struct stream_queue join;
    struct pp_stream_counts counts;
};

/* ---- queues -------------------------------------------------------------------------- */

/* Room for n more events without growing. */
static enum pp_err queue_reserve(struct stream_queue *q, size_t n)
{
    size_t cap = q->cap ? q->cap : 256;
    struct stream_event *ev;

    while (cap - q->len < n)
        cap *= 2;
    if (cap == q->cap)
        return PP_OK;
    if ((ev = malloc(cap * sizeof *ev)) == NULL)
        return PP_ERR_NOMEM;
    for (size_t i = 0; i < q->len; i++)
        ev[i] = q->ev[(q->head + i) & (q->cap - 1)];
    free(q->ev);
    q->ev = ev;
    q->cap = cap;
    q->head = 0;
    return PP_OK;
}

static enum pp_err queue_push(struct stream_queue *q, int64_t stamp, int64_t ind)
{
    enum pp_err err;

    if (q->len == q->cap && (err = queue_reserve(q, 1)))
        return err;
    q->ev[(q->head + q->len) & (q->cap - 1)].stamp = stamp;
    q->ev[(q->head + q->len) & (q->cap - 1)].ind = ind;
    q->len++;
    return PP_OK;
}

/* ---- pending posts ----------------------------------------------------------------------- */

/* A zeroed pending entry for key (the key refers to it); PP_ERR_NOMEM.
 * The dedup queue keeps room for an event per pending post, the one its
 * end queues (key_queue_dedup()), so that push never fails. */
static enum pp_err pending_new(struct pp_stream *stream, struct stream_key *key)
{
    uint32_t idx = stream->free_pending;
    enum pp_err err;

    if ((err = queue_reserve(&stream->dedup, stream->n_pending + 1)))
        return err;

    if (idx != 0) {
        stream->free_pending = stream->pending[idx - 1].next_free;
    } else {
        struct stream_pending *pool;

        if (stream->n_pool >= UINT32_MAX)
            return PP_ERR_NOMEM;
        pool =
            pp_array_reserve(stream->pending, &stream->pool_cap, stream->n_pool, sizeof *pool, 64);
        if (pool == NULL)
            return PP_ERR_NOMEM;
        stream->pending = pool;
        idx = (uint32_t)++stream->n_pool;
    }
    memset(&stream->pending[idx - 1], 0, sizeof stream->pending[idx - 1]);
    key->pending = idx;
    stream->n_pending++;
    return PP_OK;
}

/* The pending post of key (key->pending != 0). */
static struct stream_pending *pending_of(const struct pp_stream *stream,
                                         const struct stream_key *key)
{
    assert(key->pending != 0 && key->pending <= stream->n_pool);
    return &stream->pending[key->pending - 1];
}

static void pending_free(struct pp_stream *stream, struct stream_key *key)
{
    pending_of(stream, key)->next_free = stream->free_pending;
    stream->free_pending = key->pending;
    key->pending = 0;
    stream->n_pending--;
}

/* The parts of key's pending post; 0 when none. */
static unsigned key_pending_parts(const struct pp_stream *stream, const struct stream_key *key)
{
    return key->pending ? pending_of(stream, key)->post.parts : 0;
}

/* ---- time ------------------------------------------------------------------------------ */

/* Whether stream time is past stamp + dur (strictly), without overflow. */
static bool is_past(const struct pp_stream *stream, int64_t stamp, int64_t dur)
{
    if (stream->now_ms == NO_TIME)
        return false;
    if (stamp == NO_TIME)
        stamp = stream->first_ms;
    return stream->now_ms > stamp && (uint64_t)stream->now_ms - (uint64_t)stamp > (uint64_t)dur;
}

/* ---- the key table: linear probing, backward-shift deletion ------------------------------- */

static inline size_t key_home(int64_t ind, size_t cap)
{
    return (size_t)pp_hash_u64((uint64_t)ind) & (cap - 1);
}

/* The slot of ind, or of the free slot that ends its probe sequence. */
static size_t key_slot(const struct pp_stream *stream, int64_t ind)
{
    size_t i;

    for (i = key_home(ind, stream->cap);; i = (i + 1) & (stream->cap - 1))
        if (stream->keys[i].seen == 0 || stream->keys[i].ind == ind)
            return i;
}

static enum pp_err key_grow(struct pp_stream *stream)
{
    size_t cap = stream->cap * 2;
    struct stream_key *keys = pp_table_alloc(cap * sizeof *keys);
    size_t i;
    size_t j;

    if (keys == NULL)
        return PP_ERR_NOMEM;
    for (i = 0; i < stream->cap; i++) {
        if (stream->keys[i].seen == 0)
            continue;
        for (j = key_home(stream->keys[i].ind, cap); keys[j].seen; j = (j + 1) & (cap - 1))
            ;
        keys[j] = stream->keys[i];
    }
    free(stream->keys);
    stream->keys = keys;
    stream->cap = cap;
    return PP_OK;
}

/* Frees slot i and shifts back the entries whose probe sequence crossed
 * it, so lookups never need tombstones. */
static void key_delete(struct pp_stream *stream, size_t i)
{
    size_t mask = stream->cap - 1;
    size_t j = i;

    for (;;) {
        j = (j + 1) & mask;
        if (stream->keys[j].seen == 0)
            break;
        /* Entry j may move to i when its home is not in (i, j]. */
        if (((j - key_home(stream->keys[j].ind, stream->cap)) & mask) >= ((j - i) & mask)) {
            stream->keys[i] = stream->keys[j];
            i = j;
        }
    }
    stream->keys[i].seen = 0;
    stream->n_keys--;
}

/*
 * The dedup queue gets one event per pending post that ends (joined, or
 * orphaned), at the largest stamp the key has won: when it pops, every
 * topic the key won by then is past dedup.ttl and the key goes. A topic
 * won is always part of a pending post until that post ends, so no topic
 * is left without an event; one won later starts a new pending post,
 * which queues its own. (One event per winning record made the queue as
 * large as the key table: three per post.) An orphan's event comes
 * join.timeout after its stamps, behind later ones: its key is reclaimed
 * up to join.timeout late, never wrongly (lookups check the stamps).
 */
static void key_queue_dedup(struct pp_stream *stream, const struct stream_key *key)
{
    int64_t stamp = NO_TIME;

    /* As is_past() reads them: NO_TIME is the first timestamp, which may
     * be later than a stamp that came out of order. */
    for (int t = 0; t < PP_TOPIC_COUNT; t++) {
        int64_t won = key->won_ms[t] == NO_TIME ? stream->first_ms : key->won_ms[t];
        if ((key->seen >> t) & 1u && won > stamp)
            stamp = won;
    }
    /* Room kept by pending_new() and pp_stream_load(): cannot fail. */
    assert(stream->dedup.cap - stream->dedup.len >= 1);
    (void)queue_push(&stream->dedup, stamp, key->ind);
}

/*
 * Applies what expired to the key in slot i: its pending post past
 * join.timeout becomes orphans (and the key's dedup event is queued);
 * topics past dedup.ttl (and not pending) are forgotten; a key left with
 * nothing is deleted. Returns whether it was deleted.
 */
static bool key_refresh(struct pp_stream *stream, size_t i)
{
    struct stream_key *key = &stream->keys[i];
    bool is_orphaned = false;
    unsigned parts;
    int t;

    if (key->pending &&
        is_past(stream, pending_of(stream, key)->first_ms, stream->opt.join_timeout_ms)) {
        parts = pending_of(stream, key)->post.parts;
        for (t = 0; t < PP_TOPIC_COUNT; t++)
            stream->counts.orphans[t] += (parts >> t) & 1u;
        pending_free(stream, key);
        is_orphaned = true;
    }
    parts = key_pending_parts(stream, key);
    for (t = 0; t < PP_TOPIC_COUNT; t++) {
        unsigned bit = 1u << t;
        if ((key->seen & bit) && !(parts & bit) &&
            is_past(stream, key->won_ms[t], stream->opt.dedup_ttl_ms))
            key->seen &= (uint8_t)~bit;
    }
    if (key->seen) {
        if (is_orphaned)
            key_queue_dedup(stream, key);
        return false;
    }
    key_delete(stream, i);
    return true;
}

/* Pops the events whose stamp is past dur and refreshes their keys. An
 * event whose key has moved on (re-won, a new post) finds nothing expired:
 * the newer event stays queued behind it. */
static void queue_expire(struct pp_stream *stream, struct stream_queue *q, int64_t dur)
{
    while (q->len && is_past(stream, q->ev[q->head].stamp, dur)) {
        size_t i = key_slot(stream, q->ev[q->head].ind);
        if (stream->keys[i].seen)
            key_refresh(stream, i);
        q->head = (q->head + 1) & (q->cap - 1);
        q->len--;
    }
}

static void stream_expire(struct pp_stream *stream)
{
    queue_expire(stream, &stream->join, stream->opt.join_timeout_ms);
    queue_expire(stream, &stream->dedup, stream->opt.dedup_ttl_ms);
}

/* ---- the API ---------------------------------------------------------------------------- */

struct pp_stream *pp_stream_new(const struct pp_stream_options *opt, struct pp_intern *strings)
{
    struct pp_stream *stream = calloc(1, sizeof *stream);

    assert(opt->dedup_ttl_ms >= 0 && opt->join_timeout_ms >= 0);
    if (stream == NULL)
        return NULL;
    stream->opt = *opt;
    stream->strings = strings;
    stream->now_ms = NO_TIME;
    stream->first_ms = NO_TIME;
    stream->cap = 64;
    stream->keys = pp_table_alloc(stream->cap * sizeof *stream->keys);
    if (stream->keys == NULL) {
        free(stream);
        return NULL;
    }
    return stream;
}

void pp_stream_destroy(struct pp_stream *stream)
{
    if (stream == NULL)
        return;
    free(stream->keys);
    free(stream->pending);
    free(stream->dedup.ev);
    free(stream->join.ev);
    free(stream);
}

static void stream_set_time(struct pp_stream *stream, int64_t ms)
{
    if (ms < 0)
        return;
    if (stream->first_ms == NO_TIME)
        stream->first_ms = ms;
    if (stream->now_ms == NO_TIME || ms > stream->now_ms)
        stream->now_ms = ms;
}

void pp_stream_advance(struct pp_stream *stream, int64_t now_ms)
{
    stream_set_time(stream, now_ms);
    stream_expire(stream);
}

enum pp_err pp_stream_add(struct pp_stream *stream, const struct pp_clean_item *item,
                          struct pp_stream_post *out, bool *is_joined)
{
    struct stream_key *key;
    struct stream_pending *pending;
    unsigned bit = 1u << item->topic;
    int64_t stamp;
    enum pp_err err;
    size_t i;

    *is_joined = false;
    stream_set_time(stream, item->timestamp_ms);
    stream_expire(stream);
    /* Out-of-order stamps keep their own time (SPEC 4 ties the ttl to the
     * record's timestamp); is_past() is exact either way. */
    stamp = item->timestamp_ms >= 0 ? item->timestamp_ms : stream->now_ms;

    if (item->reject != PP_REJECT_NONE) {
        stream->counts.input.records[item->topic]++;
        stream->counts.input.rejected[item->topic][item->reject]++;
        stream->counts.no_timestamp += item->timestamp_ms < 0;
        return PP_OK;
    }
    i = key_slot(stream, item->rec.ind);
    if (stream->keys[i].seen && key_refresh(stream, i))
        i = key_slot(stream, item->rec.ind);
    if (stream->keys[i].seen == 0) {
        if (stream->opt.max_keys && stream->n_keys >= stream->opt.max_keys)
            return PP_AGAIN;
        /* Load factor at most 3/4, as pp_hmap: deletions shift entries
         * back, which stays cheap while probe runs are short. */
        if ((stream->n_keys + 1) * 4 > stream->cap * 3) {
            if ((err = key_grow(stream)))
                return err;
            i = key_slot(stream, item->rec.ind);
        }
        key = &stream->keys[i];
        memset(key, 0, sizeof *key);
        key->ind = item->rec.ind;
        stream->n_keys++;
    }
    key = &stream->keys[i];
    stream->counts.input.records[item->topic]++;
    stream->counts.no_timestamp += item->timestamp_ms < 0;
    if (key->seen & bit) {
        stream->counts.input.duplicates[item->topic]++;
        return PP_OK;
    }
    key->seen |= (uint8_t)bit;
    key->won_ms[item->topic] = stamp;
    if (key->pending == 0) {
        if ((err = pending_new(stream, key)))
            return err;
        pending = pending_of(stream, key);
        pending->post.ind = key->ind;
        pending->first_ms = stamp;
        pending->last_ms = stamp;
        if ((err = queue_push(&stream->join, stamp, key->ind)))
            return err;
    }
    pending = pending_of(stream, key);
    if ((err = pp_post_fill(&pending->post, item, stream->strings)))
        return err;
    pending->post.parts |= (uint8_t)bit;
    /* NO_TIME is the smallest value, so a real stamp always wins. */
    if (stamp > pending->last_ms)
        pending->last_ms = stamp;
    if (pending->post.parts != PP_POST_ALL_PARTS)
        return PP_OK;

    out->post = pending->post;
    out->time_ms = pending->last_ms != NO_TIME   ? pending->last_ms
                   : stream->first_ms != NO_TIME ? stream->first_ms
                                                 : -1;
    *is_joined = true;
    stream->counts.posts++;
    pending_free(stream, key);
    if (!key_refresh(stream, i))
        key_queue_dedup(stream, key);
    return PP_OK;
}

int64_t pp_stream_time(const struct pp_stream *stream)
{
    return stream->now_ms;
}

size_t pp_stream_key_count(const struct pp_stream *stream)
{
    return stream->n_keys;
}

size_t pp_stream_pending_count(const struct pp_stream *stream)
{
    return stream->n_pending;
}

const struct pp_stream_counts *pp_stream_counts(const struct pp_stream *stream)
{
    return &stream->counts;
}

void pp_stream_counts_add(struct pp_stream_counts *dst, const struct pp_stream_counts *src)
{
    for (int t = 0; t < PP_TOPIC_COUNT; t++) {
        dst->input.records[t] += src->input.records[t];
        dst->input.duplicates[t] += src->input.duplicates[t];
        for (int k = 0; k < PP_REJECT_COUNT; k++)
            dst->input.rejected[t][k] += src->input.rejected[t][k];
        dst->orphans[t] += src->orphans[t];
    }
    dst->posts += src->posts;
    dst->no_timestamp += src->no_timestamp;
}

/* ---- checkpoints ---------------------------------------------------------------------- */

static void queue_save(const struct stream_queue *q, struct pp_snap_writer *w)
{
    size_t i;

    pp_snap_put_u64(w, q->len);
    for (i = 0; i < q->len; i++)
        pp_snap_put(w, &q->ev[(q->head + i) & (q->cap - 1)], sizeof *q->ev);
}

static void queue_load(struct stream_queue *q, struct pp_snap_reader *rd)
{
    size_t len = pp_snap_get_count(rd, sizeof *q->ev);
    size_t cap = 256;

    if (rd->err != PP_OK || len == 0)
        return;
    while (cap < len)
        cap *= 2;
    if ((q->ev = malloc(cap * sizeof *q->ev)) == NULL) {
        pp_snap_fail(rd, PP_ERR_NOMEM);
        return;
    }
    q->cap = cap;
    q->head = 0;
    q->len = len;
    pp_snap_get(rd, q->ev, len * sizeof *q->ev);
}

void pp_stream_save(const struct pp_stream *stream, struct pp_snap_writer *w)
{
    pp_snap_put_i64(w, stream->opt.dedup_ttl_ms);
    pp_snap_put_i64(w, stream->opt.join_timeout_ms);
    pp_snap_put_i64(w, stream->now_ms);
    pp_snap_put_i64(w, stream->first_ms);
    pp_snap_put_u64(w, stream->n_keys);
    pp_snap_put_slots(w, stream->keys, stream->cap, sizeof *stream->keys);
    pp_snap_put_u64(w, stream->n_pending);
    pp_snap_put_u64(w, stream->free_pending);
    pp_snap_put_u64(w, stream->n_pool);
    pp_snap_put(w, stream->pending, stream->n_pool * sizeof *stream->pending);
    queue_save(&stream->dedup, w);
    queue_save(&stream->join, w);
    pp_snap_put(w, &stream->counts, sizeof stream->counts);
}

/* The text ids of a pending post are the stream's strings' or 0, null (a
 * joined post takes them to the windows, which read them as indices). */
static bool stream_post_ids_are_valid(const struct pp_stream *stream, const struct pp_post *post)
{
    const uint32_t ids[] = {post->category, post->poster_name, post->country, post->user_name};

    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        if (ids[i] != 0 && ids[i] >= stream->strings->count)
            return false;
    return true;
}

/* Marks pool entry idx (an index + 1) in bits; false when it was marked
 * already or is outside the pool. */
static bool stream_mark_entry(const struct pp_stream *stream, uint64_t *bits, uint32_t idx)
{
    if (idx == 0 || idx > stream->n_pool || (bits[(idx - 1) / 64] >> ((idx - 1) % 64)) & 1u)
        return false;
    bits[(idx - 1) / 64] |= UINT64_C(1) << ((idx - 1) % 64);
    return true;
}

/* Every pool entry is one key's pending post or on the free list, once
 * (two keys sharing a post would free it twice); the pending posts' text
 * ids inside the strings. PP_OK, PP_ERR_CORRUPT, PP_ERR_NOMEM. */
static enum pp_err stream_check(const struct pp_stream *stream)
{
    uint64_t *bits = calloc(stream->n_pool / 64 + 1, sizeof *bits);
    size_t i, used = 0, pending = 0, free_n = 0;
    bool is_consistent = true;
    uint32_t f;

    if (bits == NULL)
        return PP_ERR_NOMEM;
    for (i = 0; i < stream->cap && is_consistent; i++) {
        const struct stream_key *key = &stream->keys[i];
        if (key->seen == 0)
            continue;
        used++;
        if (key->pending == 0)
            continue;
        pending++;
        is_consistent = stream_mark_entry(stream, bits, key->pending) &&
                        stream_post_ids_are_valid(stream, &pending_of(stream, key)->post);
    }
    /* The next link is read only from an entry checked to be in the pool. */
    for (f = stream->free_pending; f != 0 && is_consistent; free_n++) {
        if ((is_consistent = stream_mark_entry(stream, bits, f)))
            f = stream->pending[f - 1].next_free;
    }
    free(bits);
    return is_consistent && used == stream->n_keys && used < stream->cap &&
                   pending == stream->n_pending && pending + free_n == stream->n_pool
               ? PP_OK
               : PP_ERR_CORRUPT;
}

enum pp_err pp_stream_load(struct pp_stream *stream, struct pp_snap_reader *rd)
{
    size_t n_pool;
    enum pp_err err;

    if (pp_snap_get_i64(rd) != stream->opt.dedup_ttl_ms ||
        pp_snap_get_i64(rd) != stream->opt.join_timeout_ms)
        pp_snap_fail(rd, PP_ERR_CORRUPT);
    stream->now_ms = pp_snap_get_i64(rd);
    stream->first_ms = pp_snap_get_i64(rd);
    stream->n_keys = (size_t)pp_snap_get_u64(rd);
    free(stream->keys);
    stream->keys = pp_snap_get_slots(rd, &stream->cap, sizeof *stream->keys);
    stream->n_pending = (size_t)pp_snap_get_u64(rd);
    stream->free_pending = (uint32_t)pp_snap_get_u64(rd);
    n_pool = pp_snap_get_count(rd, sizeof *stream->pending);
    if (rd->err == PP_OK && n_pool > 0) {
        if ((stream->pending = malloc(n_pool * sizeof *stream->pending)) == NULL)
            pp_snap_fail(rd, PP_ERR_NOMEM);
        else
            stream->n_pool = stream->pool_cap = n_pool;
    }
    if (stream->pending != NULL)
        pp_snap_get(rd, stream->pending, n_pool * sizeof *stream->pending);
    queue_load(&stream->dedup, rd);
    queue_load(&stream->join, rd);
    pp_snap_get(rd, &stream->counts, sizeof stream->counts);
    /* A table of at least 64 slots, as pp_stream_new() makes it. */
    if (rd->err == PP_OK && stream->cap < 64)
        pp_snap_fail(rd, PP_ERR_CORRUPT);
    if (rd->err == PP_OK && (err = stream_check(stream)))
        pp_snap_fail(rd, err);
    /* n_pending is checked now: the room pending_new() keeps. */
    if (rd->err == PP_OK && queue_reserve(&stream->dedup, stream->n_pending) != PP_OK)
        pp_snap_fail(rd, PP_ERR_NOMEM);
    if (rd->err != PP_OK && stream->keys == NULL) {
        /* Leave a usable table for pp_stream_destroy() and nothing else. */
        stream->cap = 0;
        stream->n_keys = 0;
    }
    return rd->err;
}
