/*
 * Unit tests of pp_stream: streaming dedup (ttl) and join (timeout), the
 * budget, stream time, eviction, and the SPEC 4 invariant: within the
 * timeouts the stream emits exactly the batch job's joined posts.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pp_batch.h"
#include "pp_check.h"
#include "pp_check_items.h"
#include "pp_clean.h"
#include "pp_post.h"
#include "pp_query.h"
#include "pp_stream.h"

#define ALL PP_POST_ALL_PARTS

struct fixture {
    struct pp_intern strings;
    struct pp_stream *stream;
    struct pp_stream_post last;
    uint64_t joined;
};

static void fixture_init(struct fixture *f, int64_t ttl, int64_t timeout, size_t max_keys)
{
    struct pp_stream_options opt = {ttl, timeout, max_keys};

    memset(f, 0, sizeof *f);
    pp_intern_init(&f->strings);
    f->stream = pp_stream_new(&opt, &f->strings);
    ck_assert_ptr_nonnull(f->stream);
}

static void fixture_cleanup(struct fixture *f)
{
    pp_stream_destroy(f->stream);
    pp_intern_cleanup(&f->strings);
}

/* Adds an item that must be applied; returns whether it joined a post. */
static bool add(struct fixture *f, struct pp_clean_item it)
{
    bool is_joined = true;

    ck_assert_int_eq(pp_stream_add(f->stream, &it, &f->last, &is_joined), PP_OK);
    if (is_joined) {
        ck_assert_uint_eq(f->last.post.parts, ALL);
        ck_assert(f->last.post.ind == it.rec.ind);
        f->joined++;
    }
    return is_joined;
}

static const char *str_of(const struct fixture *f, uint32_t id)
{
    static char buf[64];
    struct pp_str s = pp_intern_str(&f->strings, id);

    if (s.ptr == NULL)
        return "(null)";
    snprintf(buf, sizeof buf, "%.*s", (int)s.len, s.ptr);
    return buf;
}

/* ---- the invariant: stream == batch within the timeouts ---------------------------------- */

static uint64_t rng_next(uint64_t *state)
{
    *state += 0x9e3779b97f4a7c15ULL;
    return pp_hash_u64(*state);
}

static uint64_t rng_below(uint64_t *state, uint64_t n)
{
    return rng_next(state) % n;
}

static const char *const categories[] = {"art", "travel", "food", "diy", "beauty", "tattoos"};
static const char *const countries[] = {"Chad", "Peru", "Fiji", "Oman", "Mali", NULL};
static const char *const posters[] = {"Ann", "Bob", "Cy", "Di", "Ed", "Flo", "Gus", NULL};
static const char *const users[] = {"U A", "U B", "U C", "U D", "U E", "U F", "U G", NULL};
#define PICK(rng, arr) ((arr)[rng_below((rng), sizeof(arr) / sizeof((arr)[0]))])

static struct pp_clean_item random_part(uint64_t *rng, enum pp_topic topic, int64_t ind, int64_t ts)
{
    /* Seconds between 2014 and 2023, so that some years fall outside
     * the queries' ranges. */
    int64_t seconds = 1388534400 + (int64_t)rng_below(rng, 10ull * 365 * 86400);

    switch (topic) {
    case PP_TOPIC_PIN:
        return pin_item(ind, ts, PICK(rng, categories), PICK(rng, posters), rng_below(rng, 10) != 0,
                        (int64_t)rng_below(rng, 40) * 250);
    case PP_TOPIC_GEO:
        return geo_item(ind, ts, PICK(rng, countries), rng_below(rng, 10) != 0, seconds);
    case PP_TOPIC_USER:
        return user_item(ind, ts, PICK(rng, users), rng_below(rng, 10) != 0,
                         15 + (int64_t)rng_below(rng, 50), rng_below(rng, 10) != 0, seconds);
    }
    return item_base(topic, ind, ts);
}

struct ordered {
    int64_t order;
    size_t seq;
    struct pp_clean_item it;
};

static int ordered_cmp(const void *a, const void *b)
{
    const struct ordered *x = a;
    const struct ordered *y = b;

    if (x->order != y->order)
        return x->order < y->order ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/*
 * Items for n keys starting at t0: each key's parts (each present with
 * probability 9/10, so some keys never join) stamped within w ms of the
 * key's base time, duplicates with other values, rejects, a few items
 * without a timestamp, all delivered out of timestamp order by up to j ms
 * (so across topics parts come in any order).
 */
static size_t make_items(uint64_t seed, int64_t n, int64_t t0, int64_t w, int64_t j,
                         struct ordered *out)
{
    uint64_t rng = seed;
    size_t count = 0;
    int64_t k;
    int t;

    for (k = 0; k < n; k++) {
        int64_t ind = (k % 3 == 0 ? -k : k) * 7919 + 11;
        int64_t base = t0 + k * 50;
        for (t = 0; t < PP_TOPIC_COUNT; t++) {
            int copies;
            int c;
            if (rng_below(&rng, 10) == 0)
                continue;
            copies = 1 + (rng_below(&rng, 3) == 0) + (rng_below(&rng, 8) == 0);
            for (c = 0; c < copies; c++) {
                int64_t ts = base + (int64_t)rng_below(&rng, (uint64_t)w);
                struct ordered *o = &out[count];
                o->it = random_part(&rng, (enum pp_topic)t, ind, ts);
                o->order = ts + (int64_t)rng_below(&rng, (uint64_t)j);
                if (rng_below(&rng, 20) == 0)
                    o->it.timestamp_ms = rng_below(&rng, 2) ? PP_BATCH_NO_TIMESTAMP : -1;
                o->seq = count++;
            }
        }
        if (rng_below(&rng, 4) == 0) {
            struct ordered *o = &out[count];
            enum pp_reject reason = (enum pp_reject)(1 + rng_below(&rng, PP_REJECT_COUNT - 1));
            int64_t ts = base + (int64_t)rng_below(&rng, (uint64_t)w);
            o->it = reject_item((enum pp_topic)rng_below(&rng, PP_TOPIC_COUNT), ts, reason);
            o->order = ts;
            o->seq = count++;
        }
    }
    qsort(out, count, sizeof *out, ordered_cmp);
    return count;
}

static void expect_tables_equal(const struct pp_table *a, const struct pp_table *b)
{
    size_t i;

    ck_assert_uint_eq(a->n_rows, b->n_rows);
    ck_assert_uint_eq(a->n_cols, b->n_cols);
    for (i = 0; i < a->n_rows * a->n_cols; i++) {
        const struct pp_cell *x = &a->cells[i];
        const struct pp_cell *y = &b->cells[i];
        ck_assert_int_eq(x->type, y->type);
        ck_assert_msg(x->i == y->i && x->is_half == y->is_half, "%s cell %zu differs", a->name, i);
        ck_assert_int_eq(x->text.ptr == NULL, y->text.ptr == NULL);
        ck_assert_msg(pp_str_eq(x->text, y->text), "%s cell %zu text differs", a->name, i);
    }
}

static void expect_same_post(const struct pp_post *p, const struct pp_intern *ps,
                             const struct pp_post *q, const struct pp_intern *qs)
{
    ck_assert(p->ind == q->ind);
    ck_assert(pp_str_eq(pp_intern_str(ps, p->category), pp_intern_str(qs, q->category)));
    ck_assert(pp_str_eq(pp_intern_str(ps, p->poster_name), pp_intern_str(qs, q->poster_name)));
    ck_assert(pp_str_eq(pp_intern_str(ps, p->country), pp_intern_str(qs, q->country)));
    ck_assert(pp_str_eq(pp_intern_str(ps, p->user_name), pp_intern_str(qs, q->user_name)));
    ck_assert_int_eq((p->category == 0), (q->category == 0));
    ck_assert_int_eq(p->has_follower_count, q->has_follower_count);
    ck_assert(p->follower_count == q->follower_count);
    ck_assert_int_eq(p->post_year, q->post_year);
    ck_assert_int_eq(p->join_year, q->join_year);
    ck_assert_int_eq(p->has_age, q->has_age);
    ck_assert(p->age == q->age);
    ck_assert_int_eq(p->has_date_joined, q->has_date_joined);
    ck_assert(p->date_joined == q->date_joined);
}

static const struct pp_post *batch_find(const struct pp_post_table *t, int64_t ind)
{
    size_t i;

    for (i = 0; i < t->cap; i++)
        if (t->posts[i].parts && t->posts[i].ind == ind)
            return &t->posts[i];
    return NULL;
}

START_TEST(test_matches_batch)
{
    const int64_t n = 300;
    const int64_t timeout = 10000;
    struct ordered *items = calloc((size_t)n * 11, sizeof *items);
    uint64_t seed;

    ck_assert_ptr_nonnull(items);
    for (seed = 1; seed <= 8; seed++) {
        struct pp_post_table table;
        struct pp_query_state qb;
        struct pp_query_state qs;
        struct fixture f;
        const struct pp_stream_counts *c;
        uint64_t posts;
        uint64_t orphans[PP_TOPIC_COUNT];
        size_t count = make_items(seed, n, 1700000000000 + (int64_t)seed, 2000, 1000, items);
        size_t i;
        int q;
        int t;

        pp_post_table_init(&table);
        pp_query_init(&qb);
        pp_query_init(&qs);
        /* A small budget would fail here: keys within the ttl all stay. */
        fixture_init(&f, 3600 * 1000, timeout, (size_t)n);
        for (i = 0; i < count; i++) {
            ck_assert_int_eq(pp_post_table_add(&table, &items[i].it), PP_OK);
            if (add(&f, items[i].it)) {
                const struct pp_post *b = batch_find(&table, f.last.post.ind);
                ck_assert_ptr_nonnull(b);
                ck_assert_uint_eq(b->parts, ALL);
                expect_same_post(&f.last.post, &f.strings, b, &table.strings);
                ck_assert(f.last.time_ms >= 1700000000000);
                ck_assert_int_eq(pp_query_add(&qs, &f.last.post, &f.strings), PP_OK);
            }
        }
        for (i = 0; i < table.cap; i++)
            if (table.posts[i].parts == ALL)
                ck_assert_int_eq(pp_query_add(&qb, &table.posts[i], &table.strings), PP_OK);
        for (q = 0; q < PP_QUERY_COUNT; q++) {
            struct pp_table tb;
            struct pp_table ts;
            ck_assert_int_eq(pp_query_result(&qb, &table.strings, (enum pp_query_id)q, &tb), PP_OK);
            ck_assert_int_eq(pp_query_result(&qs, &f.strings, (enum pp_query_id)q, &ts), PP_OK);
            expect_tables_equal(&tb, &ts);
            pp_table_cleanup(&tb);
            pp_table_cleanup(&ts);
        }
        /* The counters agree too; the keys that never joined become
         * orphans once time passes the timeout, and then every key goes
         * once it passes the ttl: memory returns to nothing. */
        pp_post_table_join_counts(&table, &posts, orphans);
        c = pp_stream_counts(f.stream);
        ck_assert(memcmp(&c->input, &table.counts, sizeof c->input) == 0);
        ck_assert_uint_eq(c->posts, posts);
        ck_assert_uint_eq(f.joined, posts);
        ck_assert_uint_gt(posts, (uint64_t)n / 2);
        ck_assert_uint_lt(posts, (uint64_t)n);
        pp_stream_advance(f.stream, pp_stream_time(f.stream) + timeout + 1);
        ck_assert_uint_eq(pp_stream_pending_count(f.stream), 0);
        for (t = 0; t < PP_TOPIC_COUNT; t++)
            ck_assert_uint_eq(c->orphans[t], orphans[t]);
        pp_stream_advance(f.stream, pp_stream_time(f.stream) + 3600 * 1000 + 1);
        ck_assert_uint_eq(pp_stream_key_count(f.stream), 0);
        fixture_cleanup(&f);
        pp_query_cleanup(&qb);
        pp_query_cleanup(&qs);
        pp_post_table_cleanup(&table);
    }
    free(items);
}
END_TEST

/* ---- behaviours --------------------------------------------------------------------------- */

START_TEST(test_join_any_order)
{
    struct fixture f;

    fixture_init(&f, 1000000, 1000, 0);
    ck_assert(!add(&f, part(PP_TOPIC_USER, 1, 100, "u")));
    ck_assert(!add(&f, part(PP_TOPIC_PIN, 1, 300, "art")));
    ck_assert_uint_eq(pp_stream_pending_count(f.stream), 1);
    ck_assert(add(&f, part(PP_TOPIC_GEO, 1, 200, "Chad")));
    /* Post time: the largest of the three stamps. */
    ck_assert(f.last.time_ms == 300);
    ck_assert_str_eq(str_of(&f, f.last.post.category), "art");
    ck_assert_str_eq(str_of(&f, f.last.post.country), "Chad");
    ck_assert_str_eq(str_of(&f, f.last.post.user_name), "u");
    ck_assert_uint_eq(pp_stream_pending_count(f.stream), 0);
    /* The key stays (dedup), the pending post is gone. */
    ck_assert_uint_eq(pp_stream_key_count(f.stream), 1);
    ck_assert_uint_eq(pp_stream_counts(f.stream)->posts, 1);
    fixture_cleanup(&f);
    pp_stream_destroy(NULL);
}
END_TEST

START_TEST(test_duplicates_within_ttl)
{
    struct fixture f;
    const struct pp_stream_counts *c;

    fixture_init(&f, 5000, 1000, 0);
    c = pp_stream_counts(f.stream);
    add(&f, part(PP_TOPIC_PIN, 1, 0, "first"));
    ck_assert(!add(&f, part(PP_TOPIC_PIN, 1, 10, "second")));
    add(&f, part(PP_TOPIC_GEO, 1, 20, "g"));
    ck_assert(!add(&f, part(PP_TOPIC_GEO, 1, 30, "g2")));
    ck_assert(add(&f, part(PP_TOPIC_USER, 1, 40, "u")));
    ck_assert_str_eq(str_of(&f, f.last.post.category), "first");
    ck_assert_str_eq(str_of(&f, f.last.post.country), "g");
    /* After the join, still within the ttl: duplicates, no new post. */
    ck_assert(!add(&f, part(PP_TOPIC_PIN, 1, 4000, "third")));
    ck_assert(!add(&f, part(PP_TOPIC_GEO, 1, 4000, "g3")));
    ck_assert(!add(&f, part(PP_TOPIC_USER, 1, 4040, "u2")));
    ck_assert_uint_eq(c->input.duplicates[PP_TOPIC_PIN], 2);
    ck_assert_uint_eq(c->input.duplicates[PP_TOPIC_GEO], 2);
    ck_assert_uint_eq(c->input.duplicates[PP_TOPIC_USER], 1);
    ck_assert_uint_eq(c->input.records[PP_TOPIC_PIN], 3);
    ck_assert_uint_eq(c->posts, 1);
    ck_assert_uint_eq(pp_stream_pending_count(f.stream), 0);
    /* The same key in another topic is not a duplicate. */
    add(&f, part(PP_TOPIC_PIN, 2, 4050, "x"));
    ck_assert_uint_eq(c->input.duplicates[PP_TOPIC_PIN], 2);
    fixture_cleanup(&f);
}
END_TEST

START_TEST(test_new_post_after_ttl)
{
    struct fixture f;
    const struct pp_stream_counts *c;

    fixture_init(&f, 5000, 1000, 0);
    c = pp_stream_counts(f.stream);
    add(&f, part(PP_TOPIC_PIN, 1, 0, "old"));
    add(&f, part(PP_TOPIC_GEO, 1, 0, "old"));
    ck_assert(add(&f, part(PP_TOPIC_USER, 1, 0, "old")));
    /* At exactly the ttl the key is still remembered (inclusive)... */
    ck_assert(!add(&f, part(PP_TOPIC_PIN, 1, 5000, "dup")));
    ck_assert_uint_eq(c->input.duplicates[PP_TOPIC_PIN], 1);
    /* ...one ms later it is forgotten and a new post starts. */
    ck_assert(!add(&f, part(PP_TOPIC_PIN, 1, 5001, "new")));
    ck_assert(!add(&f, part(PP_TOPIC_USER, 1, 5100, "new")));
    ck_assert(add(&f, part(PP_TOPIC_GEO, 1, 5200, "new")));
    ck_assert_str_eq(str_of(&f, f.last.post.category), "new");
    ck_assert_str_eq(str_of(&f, f.last.post.country), "new");
    ck_assert_str_eq(str_of(&f, f.last.post.user_name), "new");
    ck_assert(f.last.time_ms == 5200);
    ck_assert_uint_eq(c->posts, 2);
    ck_assert_uint_eq(c->input.duplicates[PP_TOPIC_PIN], 1);
    ck_assert_uint_eq(c->orphans[0] + c->orphans[1] + c->orphans[2], 0);
    fixture_cleanup(&f);
}
END_TEST

START_TEST(test_orphans_after_timeout)
{
    struct fixture f;
    const struct pp_stream_counts *c;

    fixture_init(&f, 100000, 1000, 0);
    c = pp_stream_counts(f.stream);
    /* Key 1 lacks its user part. */
    add(&f, part(PP_TOPIC_PIN, 1, 100, "a"));
    add(&f, part(PP_TOPIC_GEO, 1, 600, "g"));
    /* Time reaches first + timeout: still waiting (a part now would join). */
    add(&f, part(PP_TOPIC_PIN, 2, 1100, "b"));
    ck_assert_uint_eq(pp_stream_pending_count(f.stream), 2);
    ck_assert_uint_eq(c->orphans[PP_TOPIC_PIN], 0);
    /* One ms more: key 1's parts are orphans. */
    add(&f, part(PP_TOPIC_GEO, 3, 1101, "c"));
    ck_assert_uint_eq(c->orphans[PP_TOPIC_PIN], 1);
    ck_assert_uint_eq(c->orphans[PP_TOPIC_GEO], 1);
    ck_assert_uint_eq(c->orphans[PP_TOPIC_USER], 0);
    ck_assert_uint_eq(pp_stream_pending_count(f.stream), 2);
    /* The late user part waits alone (the others are duplicates within
     * the ttl), and becomes an orphan in turn. */
    ck_assert(!add(&f, part(PP_TOPIC_USER, 1, 1200, "u")));
    ck_assert(!add(&f, part(PP_TOPIC_PIN, 1, 1200, "a2")));
    ck_assert_uint_eq(c->input.duplicates[PP_TOPIC_PIN], 1);
    pp_stream_advance(f.stream, 2201);
    ck_assert_uint_eq(c->orphans[PP_TOPIC_USER], 1);
    ck_assert_uint_eq(c->orphans[PP_TOPIC_PIN], 2);
    ck_assert_uint_eq(c->orphans[PP_TOPIC_GEO], 2);
    ck_assert_uint_eq(pp_stream_pending_count(f.stream), 0);
    ck_assert_uint_eq(c->posts, 0);
    fixture_cleanup(&f);
}
END_TEST

START_TEST(test_pending_part_outlives_ttl)
{
    struct fixture f;
    const struct pp_stream_counts *c;

    /* ttl shorter than the timeout: a waiting part still deduplicates. */
    fixture_init(&f, 100, 1000, 0);
    c = pp_stream_counts(f.stream);
    add(&f, part(PP_TOPIC_PIN, 1, 0, "a"));
    add(&f, part(PP_TOPIC_GEO, 2, 500, "x"));
    ck_assert(!add(&f, part(PP_TOPIC_PIN, 1, 500, "b")));
    ck_assert_uint_eq(c->input.duplicates[PP_TOPIC_PIN], 1);
    add(&f, part(PP_TOPIC_GEO, 1, 600, "g"));
    ck_assert(add(&f, part(PP_TOPIC_USER, 1, 900, "u")));
    ck_assert_str_eq(str_of(&f, f.last.post.category), "a");
    /* Once joined, the expired pin is forgotten. */
    ck_assert(!add(&f, part(PP_TOPIC_PIN, 1, 901, "c")));
    ck_assert_uint_eq(c->input.duplicates[PP_TOPIC_PIN], 1);
    fixture_cleanup(&f);
}
END_TEST

START_TEST(test_eviction_order)
{
    struct fixture f;
    const struct pp_stream_counts *c;
    int64_t k;

    fixture_init(&f, 2000, 1000, 0);
    c = pp_stream_counts(f.stream);
    for (k = 0; k < 5; k++)
        add(&f, part(PP_TOPIC_PIN, k, k * 100, "p"));
    /* Key 2 joins: it leaves the join queue's work but not the dedup's. */
    add(&f, part(PP_TOPIC_GEO, 2, 400, "g"));
    add(&f, part(PP_TOPIC_USER, 2, 400, "u"));
    ck_assert_uint_eq(pp_stream_pending_count(f.stream), 4);
    /* Keys leave the join in the order of their first part. */
    pp_stream_advance(f.stream, 1001);
    ck_assert_uint_eq(c->orphans[PP_TOPIC_PIN], 1);
    ck_assert_uint_eq(pp_stream_pending_count(f.stream), 3);
    pp_stream_advance(f.stream, 1101);
    ck_assert_uint_eq(c->orphans[PP_TOPIC_PIN], 2);
    pp_stream_advance(f.stream, 1401);
    ck_assert_uint_eq(c->orphans[PP_TOPIC_PIN], 4);
    ck_assert_uint_eq(c->orphans[PP_TOPIC_GEO] + c->orphans[PP_TOPIC_USER], 0);
    ck_assert_uint_eq(pp_stream_pending_count(f.stream), 0);
    /* Time never goes back. */
    pp_stream_advance(f.stream, 5);
    ck_assert(pp_stream_time(f.stream) == 1401);
    /* Then they leave the dedup table once the ttl has passed the last stamp
     * of their ended post, in the order their posts ended: key 2 (joined at
     * 400) first, at 2401; the orphans' keys queue behind it (an orphan's
     * event comes when it becomes one, up to join.timeout late). Lookups
     * stay exact meanwhile: key 0's pin (stamp 0) is forgotten at 2001. */
    ck_assert_uint_eq(pp_stream_key_count(f.stream), 5);
    pp_stream_advance(f.stream, 2001);
    ck_assert_uint_eq(pp_stream_key_count(f.stream), 5);
    add(&f, part(PP_TOPIC_PIN, 0, 2001, "p"));
    ck_assert_uint_eq(c->input.duplicates[PP_TOPIC_PIN], 0);
    ck_assert_uint_eq(pp_stream_pending_count(f.stream), 1);
    pp_stream_advance(f.stream, 2400);
    ck_assert_uint_eq(pp_stream_key_count(f.stream), 5);
    pp_stream_advance(f.stream, 2401);
    ck_assert_uint_eq(pp_stream_key_count(f.stream), 1); /* key 0, its new pin pending */
    pp_stream_advance(f.stream, 3002);                   /* an orphan: queued at stamp 2001 */
    ck_assert_uint_eq(c->orphans[PP_TOPIC_PIN], 5);
    ck_assert_uint_eq(pp_stream_key_count(f.stream), 1);
    pp_stream_advance(f.stream, 4001);
    ck_assert_uint_eq(pp_stream_key_count(f.stream), 1);
    pp_stream_advance(f.stream, 4002);
    ck_assert_uint_eq(pp_stream_key_count(f.stream), 0);
    fixture_cleanup(&f);
}
END_TEST

START_TEST(test_out_of_order_stamps)
{
    struct fixture f;
    const struct pp_stream_counts *c;

    fixture_init(&f, 2000, 1000, 0);
    c = pp_stream_counts(f.stream);
    add(&f, part(PP_TOPIC_PIN, 1, 5000, "a"));
    /* A late record keeps its own stamp: its ttl and timeout run from
     * there, exactly, even though the queues are no longer sorted. */
    add(&f, part(PP_TOPIC_PIN, 2, 3500, "b"));
    ck_assert(pp_stream_time(f.stream) == 5000);
    add(&f, part(PP_TOPIC_GEO, 9, 5501, "x"));
    ck_assert(!add(&f, part(PP_TOPIC_GEO, 2, 5501, "g")));
    ck_assert_uint_eq(c->orphans[PP_TOPIC_PIN], 1);
    ck_assert(!add(&f, part(PP_TOPIC_PIN, 2, 5502, "b2")));
    ck_assert_uint_eq(c->input.duplicates[PP_TOPIC_PIN], 0);
    /* A record older than stream time - timeout: its queue entry sits
     * behind later stamps, but the next lookup of its key is exact. */
    add(&f, part(PP_TOPIC_USER, 7, 1000, "u"));
    ck_assert(!add(&f, part(PP_TOPIC_GEO, 7, 5502, "g")));
    ck_assert_uint_eq(c->orphans[PP_TOPIC_USER], 1);
    /* The queues catch up once their heads expire. */
    pp_stream_advance(f.stream, 6503);
    ck_assert_uint_eq(c->orphans[PP_TOPIC_PIN], 3);
    ck_assert_uint_eq(c->orphans[PP_TOPIC_GEO], 3);
    ck_assert_uint_eq(pp_stream_pending_count(f.stream), 0);
    fixture_cleanup(&f);
}
END_TEST

START_TEST(test_no_timestamp)
{
    struct fixture f;
    const struct pp_stream_counts *c;

    fixture_init(&f, 2000, 1000, 0);
    c = pp_stream_counts(f.stream);
    /* Before any timestamp: stamped with the first one that comes. */
    add(&f, part(PP_TOPIC_PIN, 1, PP_BATCH_NO_TIMESTAMP, "a"));
    ck_assert(pp_stream_time(f.stream) == INT64_MIN);
    add(&f, part(PP_TOPIC_GEO, 1, -1, "g"));
    add(&f, part(PP_TOPIC_PIN, 5, 10000, "b"));
    ck_assert(pp_stream_time(f.stream) == 10000);
    ck_assert(add(&f, part(PP_TOPIC_USER, 1, PP_BATCH_NO_TIMESTAMP, "u")));
    ck_assert(f.last.time_ms == 10000);
    /* Later: the current stream time; it does not move time. */
    add(&f, part(PP_TOPIC_GEO, 2, 10500, "g"));
    add(&f, part(PP_TOPIC_PIN, 2, PP_BATCH_NO_TIMESTAMP, "p"));
    ck_assert(pp_stream_time(f.stream) == 10500);
    ck_assert(add(&f, part(PP_TOPIC_USER, 2, -5, "u")));
    ck_assert(f.last.time_ms == 10500);
    ck_assert_uint_eq(c->no_timestamp, 5);
    /* The pin stamped 10500 times out from there. */
    add(&f, part(PP_TOPIC_PIN, 3, PP_BATCH_NO_TIMESTAMP, "p"));
    pp_stream_advance(f.stream, 11500);
    ck_assert_uint_eq(c->orphans[PP_TOPIC_PIN], 1); /* key 5, stamped 10000 */
    pp_stream_advance(f.stream, 11501);
    ck_assert_uint_eq(c->orphans[PP_TOPIC_PIN], 2);
    /* Every key goes once the ttl has passed its stamps. */
    pp_stream_advance(f.stream, 100000);
    ck_assert_uint_eq(pp_stream_key_count(f.stream), 0);
    fixture_cleanup(&f);
}
END_TEST

/* A stamp that comes out of order before the first timestamp is earlier
 * than the NO_TIME stamp of a part before it, which counts as the first
 * timestamp: the key is reclaimed once the ttl has passed that one (a
 * regression: the post's dedup event was queued at 9000 and, when it
 * popped, left the key with its pin and no event, for good). */
START_TEST(test_no_timestamp_reclaimed)
{
    struct fixture f;

    fixture_init(&f, 2000, 1000, 0);
    add(&f, part(PP_TOPIC_PIN, 1, PP_BATCH_NO_TIMESTAMP, "a"));
    add(&f, part(PP_TOPIC_PIN, 5, 10000, "b"));
    add(&f, part(PP_TOPIC_GEO, 1, 9000, "g"));
    ck_assert(add(&f, part(PP_TOPIC_USER, 1, 9000, "u")));
    pp_stream_advance(f.stream, 11001); /* geo and user past the ttl, the pin not */
    ck_assert_uint_eq(pp_stream_key_count(f.stream), 2);
    pp_stream_advance(f.stream, 12001);
    ck_assert_uint_eq(pp_stream_key_count(f.stream), 0);
    fixture_cleanup(&f);
}
END_TEST

START_TEST(test_no_time_at_all)
{
    struct fixture f;

    /* A stream without timestamps (a lake replay) never expires anything:
     * it behaves like the batch job; post time is unknown (-1). */
    fixture_init(&f, 1, 1, 0);
    add(&f, part(PP_TOPIC_PIN, 1, PP_BATCH_NO_TIMESTAMP, "a"));
    add(&f, part(PP_TOPIC_GEO, 1, PP_BATCH_NO_TIMESTAMP, "g"));
    ck_assert(!add(&f, part(PP_TOPIC_GEO, 1, PP_BATCH_NO_TIMESTAMP, "g2")));
    ck_assert(add(&f, part(PP_TOPIC_USER, 1, PP_BATCH_NO_TIMESTAMP, "u")));
    ck_assert(f.last.time_ms == -1);
    ck_assert_uint_eq(pp_stream_counts(f.stream)->input.duplicates[PP_TOPIC_GEO], 1);
    fixture_cleanup(&f);
}
END_TEST

START_TEST(test_budget)
{
    struct fixture f;
    const struct pp_stream_counts *c;
    struct pp_clean_item it;
    struct pp_stream_post out;
    bool is_joined = true;
    int64_t k;

    fixture_init(&f, 1000, 500, 3);
    c = pp_stream_counts(f.stream);
    for (k = 0; k < 3; k++)
        add(&f, part(PP_TOPIC_PIN, k, 0, "p"));
    /* Known keys, duplicates and rejects still go through at the budget. */
    add(&f, part(PP_TOPIC_GEO, 0, 10, "g"));
    add(&f, part(PP_TOPIC_GEO, 0, 10, "g"));
    add(&f, reject_item(PP_TOPIC_USER, 10, PP_REJECT_INVALID_JSON));
    /* A new key does not: PP_AGAIN, nothing applied or counted. */
    it = part(PP_TOPIC_PIN, 3, 20, "p");
    ck_assert_int_eq(pp_stream_add(f.stream, &it, &out, &is_joined), PP_AGAIN);
    ck_assert(!is_joined);
    ck_assert_uint_eq(c->input.records[PP_TOPIC_PIN], 3);
    ck_assert_uint_eq(pp_stream_key_count(f.stream), 3);
    /* Retrying the same item is harmless and still full... */
    ck_assert_int_eq(pp_stream_add(f.stream, &it, &out, &is_joined), PP_AGAIN);
    /* ...until time frees keys: past the ttl every key goes. */
    pp_stream_advance(f.stream, 1011);
    ck_assert_uint_eq(pp_stream_key_count(f.stream), 0);
    ck_assert_uint_eq(c->orphans[PP_TOPIC_PIN], 3);
    ck_assert_uint_eq(c->orphans[PP_TOPIC_GEO], 1);
    ck_assert_int_eq(pp_stream_add(f.stream, &it, &out, &is_joined), PP_OK);
    ck_assert_uint_eq(c->input.records[PP_TOPIC_PIN], 4);
    ck_assert_uint_eq(pp_stream_key_count(f.stream), 1);
    fixture_cleanup(&f);
}
END_TEST

START_TEST(test_rejects_counted)
{
    struct fixture f;
    const struct pp_stream_counts *c;
    struct pp_clean_item bad = reject_item(PP_TOPIC_PIN, 5, PP_REJECT_BAD_KEY);

    fixture_init(&f, 1000, 500, 0);
    c = pp_stream_counts(f.stream);
    bad.rec.ind = 5;
    add(&f, bad);
    add(&f, reject_item(PP_TOPIC_GEO, 6, PP_REJECT_NOT_OBJECT));
    add(&f, reject_item(PP_TOPIC_GEO, 7, PP_REJECT_NOT_OBJECT));
    add(&f, reject_item(PP_TOPIC_USER, PP_BATCH_NO_TIMESTAMP, PP_REJECT_TOO_LARGE));
    /* A reject claims no key, but its timestamp moves stream time. */
    ck_assert_uint_eq(pp_stream_key_count(f.stream), 0);
    ck_assert(pp_stream_time(f.stream) == 7);
    add(&f, part(PP_TOPIC_PIN, 5, 8, "good"));
    ck_assert_uint_eq(c->input.duplicates[PP_TOPIC_PIN], 0);
    ck_assert_uint_eq(c->input.rejected[PP_TOPIC_PIN][PP_REJECT_BAD_KEY], 1);
    ck_assert_uint_eq(c->input.rejected[PP_TOPIC_GEO][PP_REJECT_NOT_OBJECT], 2);
    ck_assert_uint_eq(c->input.rejected[PP_TOPIC_USER][PP_REJECT_TOO_LARGE], 1);
    ck_assert_uint_eq(c->input.records[PP_TOPIC_PIN], 2);
    ck_assert_uint_eq(c->input.records[PP_TOPIC_GEO], 2);
    ck_assert_uint_eq(c->input.records[PP_TOPIC_USER], 1);
    ck_assert_uint_eq(c->no_timestamp, 1);
    fixture_cleanup(&f);
}
END_TEST

START_TEST(test_many_keys_churn)
{
    struct fixture f;
    const struct pp_stream_counts *c;
    int64_t k;

    /* Keys spread over int64 come and go through growth and backward-shift
     * deletion; live keys stay near ttl / spacing (100), plus the orphans'
     * (a quarter) reclaimed up to join.timeout (100) late. */
    fixture_init(&f, 1000, 100, 200);
    c = pp_stream_counts(f.stream);
    for (k = 0; k < 20000; k++) {
        int64_t ind = k == 1 ? INT64_MIN : k == 2 ? INT64_MAX : (k % 2 ? -k : k) * 1000003;
        int64_t ts = k * 10;
        add(&f, part(PP_TOPIC_GEO, ind, ts, "g"));
        add(&f, part(PP_TOPIC_PIN, ind, ts + 5, "p"));
        if (k % 4)
            ck_assert(add(&f, part(PP_TOPIC_USER, ind, ts + 9, "u")));
        ck_assert_uint_le(pp_stream_key_count(f.stream), 112);
    }
    ck_assert_uint_eq(c->posts, 15000);
    ck_assert_uint_ge(c->orphans[PP_TOPIC_GEO], 4990);
    pp_stream_advance(f.stream, 1000000);
    ck_assert_uint_eq(c->orphans[PP_TOPIC_GEO], 5000);
    ck_assert_uint_eq(c->orphans[PP_TOPIC_PIN], 5000);
    ck_assert_uint_eq(pp_stream_key_count(f.stream), 0);
    fixture_cleanup(&f);
}
END_TEST

START_TEST(test_pending_posts_reused)
{
    struct fixture f;
    const struct pp_stream_counts *c;
    char tag[32];
    uint64_t rng = 7;
    int64_t k, round;
    int t;

    /* Pending posts live apart from the key table and their entries are
     * reused: rounds of 64 posts pending at once, completed in a shuffled
     * order or left to time out, must each come out with their own parts
     * only (each part's text names its key). */
    fixture_init(&f, 10, 50, 0);
    c = pp_stream_counts(f.stream);
    for (round = 0; round < 20; round++) {
        int64_t base = round * 1000, ts = round * 100;
        int64_t order[64];

        for (k = 0; k < 64; k++) {
            snprintf(tag, sizeof tag, "g%lld", (long long)(base + k));
            ck_assert(!add(&f, part(PP_TOPIC_GEO, base + k, ts, tag)));
            snprintf(tag, sizeof tag, "p%lld", (long long)(base + k));
            ck_assert(!add(&f, part(PP_TOPIC_PIN, base + k, ts, tag)));
            order[k] = k;
        }
        ck_assert_uint_eq(pp_stream_pending_count(f.stream), 64);
        for (k = 63; k > 0; k--) {
            int64_t j = (int64_t)(rng_next(&rng) % (uint64_t)(k + 1)), tmp = order[k];
            order[k] = order[j];
            order[j] = tmp;
        }
        /* Every fourth is never completed: an orphan of the next round. */
        for (k = 0; k < 64; k++) {
            int64_t ind = base + order[k];

            if (order[k] % 4 == 0)
                continue;
            snprintf(tag, sizeof tag, "u%lld", (long long)ind);
            ck_assert(add(&f, part(PP_TOPIC_USER, ind, ts + 1, tag)));
            snprintf(tag, sizeof tag, "g%lld", (long long)ind);
            ck_assert_str_eq(str_of(&f, f.last.post.country), tag);
            snprintf(tag, sizeof tag, "p%lld", (long long)ind);
            ck_assert_str_eq(str_of(&f, f.last.post.category), tag);
            snprintf(tag, sizeof tag, "u%lld", (long long)ind);
            ck_assert_str_eq(str_of(&f, f.last.post.user_name), tag);
            ck_assert_int_eq(f.last.time_ms, ts + 1);
        }
        ck_assert_uint_eq(pp_stream_pending_count(f.stream), 16);
    }
    pp_stream_advance(f.stream, 1000000);
    ck_assert_uint_eq(c->posts, 20 * 48);
    for (t = 0; t < PP_TOPIC_COUNT; t++)
        ck_assert_uint_eq(c->orphans[t], t == PP_TOPIC_USER ? 0 : 20 * 16);
    ck_assert_uint_eq(pp_stream_pending_count(f.stream), 0);
    ck_assert_uint_eq(pp_stream_key_count(f.stream), 0);
    fixture_cleanup(&f);
}
END_TEST

static Suite *stream_suite(void)
{
    Suite *s = suite_create("stream");

    PP_CHECK_TCASE(s, test_matches_batch);
    PP_CHECK_TCASE(s, test_join_any_order);
    PP_CHECK_TCASE(s, test_duplicates_within_ttl);
    PP_CHECK_TCASE(s, test_new_post_after_ttl);
    PP_CHECK_TCASE(s, test_orphans_after_timeout);
    PP_CHECK_TCASE(s, test_pending_part_outlives_ttl);
    PP_CHECK_TCASE(s, test_eviction_order);
    PP_CHECK_TCASE(s, test_out_of_order_stamps);
    PP_CHECK_TCASE(s, test_no_timestamp);
    PP_CHECK_TCASE(s, test_no_timestamp_reclaimed);
    PP_CHECK_TCASE(s, test_no_time_at_all);
    PP_CHECK_TCASE(s, test_budget);
    PP_CHECK_TCASE(s, test_rejects_counted);
    PP_CHECK_TCASE(s, test_many_keys_churn);
    PP_CHECK_TCASE(s, test_pending_posts_reused);
    return s;
}

PP_CHECK_MAIN(stream_suite)
