/*
 * Unit tests of pp_checkpoint (and the pp_snap codecs under it): a state
 * saved at any point and loaded into fresh objects answers exactly like
 * the state that was never interrupted, after both take the same further
 * records; checkpoints of another configuration, cut short or garbled are
 * refused without a crash; keys are safe for any group id.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pp_check.h"
#include "pp_check_items.h"
#include "pp_check_query.h"
#include "pp_checkpoint.h"

#define N_POSTS 2500
#define CONFIG "analytics.windows=tumbling:1m,hopping:5m/1m"

static const char *const categories[] = {"travel", "quotes", "finance", "art", "diy"};
static const char *const countries[] = {"Chad", "Peru", "Laos", "Fiji", "Togo", "Oman", NULL};
static const char *const users[] = {"ann", "bob", "cy", "dee", "eve", "fay", "gus", "hal", NULL};

/* The items of N_POSTS posts, a post's parts a few seconds apart and
 * posts a second apart, with what a stream meets: duplicates, rejects,
 * parts out of order, late posts, orphans (a post missing a part), so that
 * windows open, close, freeze and are freed along the way. Deterministic. */
static struct pp_clean_item *make_items(size_t *n)
{
    struct pp_clean_item *items = calloc(N_POSTS * 4 + 16, sizeof *items);
    uint64_t x = 88172645463325252ULL;
    size_t k = 0;

    ck_assert_ptr_nonnull(items);
    for (int64_t p = 0; p < N_POSTS; p++) {
        int64_t ts = 1700000000000LL + p * 1000;
        int64_t ind = p % 1900; /* later posts reuse keys: dedup and ttl */
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        if (x % 53 == 0)
            ts -= 20000; /* late, within join.timeout */
        items[k++] =
            pin_item(ind, ts, categories[x % 5], users[x % 9], x % 7 != 0, (int64_t)(x % 5000));
        if (x % 29 != 0) /* else an orphan */
            items[k++] = geo_item(ind, ts + (int64_t)(x % 3000), countries[x % 7], true,
                                  1500000000 + (int64_t)(x % 200000000));
        items[k++] = user_item(ind, ts + (int64_t)(x % 4000), users[(x >> 8) % 9], x % 11 != 0,
                               (int64_t)(15 + x % 60), true, 1420070400 + (int64_t)(x % 190000000));
        if (x % 13 == 0)
            items[k++] = pin_item(ind, ts + 10, "dup", "dup", true, 1);
        if (x % 17 == 0)
            items[k++] = reject_item(PP_TOPIC_GEO, ts, PP_REJECT_INVALID_JSON);
    }
    *n = k;
    return items;
}

struct state {
    struct pp_intern strings;
    struct pp_stream *stream;
    struct pp_window_set *windows;
    struct pp_hmap offsets;
    struct pp_hmap resume;
};

static void state_init(struct state *s)
{
    static const struct pp_config_window specs[] = {
        {PP_CONFIG_WINDOW_TUMBLING, 60000, 60000},
        {PP_CONFIG_WINDOW_HOPPING, 300000, 60000},
    };
    struct pp_stream_options opt = {60000, 30000, 0};

    pp_intern_init(&s->strings);
    pp_hmap_init(&s->offsets);
    pp_hmap_init(&s->resume);
    s->stream = pp_stream_new(&opt, &s->strings);
    s->windows = pp_window_set_new(specs, 2, 5000, 600000);
    ck_assert_ptr_nonnull(s->stream);
    ck_assert_ptr_nonnull(s->windows);
}

static void state_cleanup(struct state *s)
{
    pp_window_set_destroy(s->windows);
    pp_stream_destroy(s->stream);
    pp_hmap_cleanup(&s->offsets);
    pp_hmap_cleanup(&s->resume);
    pp_intern_cleanup(&s->strings);
}

static struct pp_checkpoint_state view(struct state *s, const char *config)
{
    return (struct pp_checkpoint_state){.strings = &s->strings,
                                        .stream = s->stream,
                                        .windows = s->windows,
                                        .offsets = &s->offsets,
                                        .resume = &s->resume,
                                        .config = config,
                                        .cluster_id = "mockCluster1"};
}

/* What pp_run's loop does with an item: stream, then windows; the item's
 * index stands for its offset. */
static void apply(struct state *s, const struct pp_clean_item *items, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++) {
        struct pp_stream_post post;
        bool is_joined;
        uint64_t *next = pp_hmap_upsert(&s->offsets, (uint64_t)items[i].topic, 0, NULL);

        ck_assert_ptr_nonnull(next);
        *next = i + 1;
        ck_assert_int_eq(pp_stream_add(s->stream, &items[i], &post, &is_joined), PP_OK);
        if (is_joined)
            ck_assert_int_eq(pp_window_set_add(s->windows, &post.post, &s->strings, post.time_ms),
                             PP_OK);
    }
}

/* Everything a reader can see of the two states is the same. */
static void check_same(struct state *got, struct state *want, const char *where)
{
    char at[160];

    ck_assert_msg(memcmp(pp_stream_counts(got->stream), pp_stream_counts(want->stream),
                         sizeof(struct pp_stream_counts)) == 0,
                  "%s: stream counts differ", where);
    ck_assert_uint_eq(pp_stream_key_count(got->stream), pp_stream_key_count(want->stream));
    ck_assert_uint_eq(pp_stream_pending_count(got->stream), pp_stream_pending_count(want->stream));
    ck_assert_int_eq(pp_stream_time(got->stream), pp_stream_time(want->stream));
    ck_assert_int_eq(pp_window_set_watermark(got->windows), pp_window_set_watermark(want->windows));
    ck_assert_uint_eq(pp_window_set_late_posts(got->windows),
                      pp_window_set_late_posts(want->windows));
    for (size_t spec = 0; spec < pp_window_set_spec_count(want->windows); spec++) {
        size_t n = pp_window_set_count(want->windows, spec);
        ck_assert_uint_eq(pp_window_set_count(got->windows, spec), n);
        for (size_t w = 0; w < n; w++) {
            struct pp_window_info a, b;
            pp_window_set_info(got->windows, spec, w, &a);
            pp_window_set_info(want->windows, spec, w, &b);
            ck_assert(a.start_ms == b.start_ms && a.end_ms == b.end_ms && a.is_open == b.is_open &&
                      a.posts == b.posts);
            for (int q = 0; q < PP_QUERY_COUNT; q++) {
                struct pp_table tg, tw;
                ck_assert_int_eq(pp_window_set_result(got->windows, spec, w, &got->strings,
                                                      (enum pp_query_id)q, &tg),
                                 PP_OK);
                ck_assert_int_eq(pp_window_set_result(want->windows, spec, w, &want->strings,
                                                      (enum pp_query_id)q, &tw),
                                 PP_OK);
                snprintf(at, sizeof at, "%s, spec %zu window %zu", where, spec, w);
                pp_check_tables_equal(&tg, &tw, at);
                pp_table_cleanup(&tg);
                pp_table_cleanup(&tw);
            }
        }
    }
}

/* Interrupted at k of the items: saved, loaded into a fresh state, and
 * both fed the rest. */
START_TEST(test_round_trip_any_point)
{
    size_t n, cuts[6];
    struct pp_clean_item *items = make_items(&n);

    cuts[0] = 0, cuts[1] = 7, cuts[2] = n / 3, cuts[3] = n / 2, cuts[4] = n - 5, cuts[5] = n;
    for (size_t c = 0; c < 6; c++) {
        struct state a, b;
        struct pp_checkpoint_state va, vb;
        struct pp_buf data;
        struct pp_buf raw;
        uint64_t seq = 0;
        char msg[256] = "";
        char where[64];

        state_init(&a);
        state_init(&b);
        va = view(&a, CONFIG);
        vb = view(&b, CONFIG);
        apply(&a, items, 0, cuts[c]);
        ck_assert_ptr_nonnull(pp_hmap_upsert(&a.resume, 1, 0, NULL));
        pp_buf_init(&data);
        pp_buf_init(&raw);
        ck_assert_int_eq(pp_checkpoint_encode(&va, 41 + c, &data), PP_OK);
        /* Loaded as pp_run does: from the bytes the check decompressed. */
        ck_assert_int_eq(pp_checkpoint_check(data.data, data.len, &seq, &raw), PP_OK);
        ck_assert_uint_eq(seq, 41 + c);
        ck_assert_msg(pp_checkpoint_decode_raw(&vb, raw.data, raw.len, msg, sizeof msg) == PP_OK,
                      "decode at %zu: %s", cuts[c], msg);
        ck_assert_uint_eq(b.offsets.count, a.offsets.count);
        ck_assert_uint_eq(b.resume.count, 1);
        snprintf(where, sizeof where, "loaded at item %zu", cuts[c]);
        check_same(&b, &a, where);
        apply(&a, items, cuts[c], n);
        apply(&b, items, cuts[c], n);
        snprintf(where, sizeof where, "cut at item %zu, then all", cuts[c]);
        check_same(&b, &a, where);
        pp_buf_cleanup(&data);
        pp_buf_cleanup(&raw);
        state_cleanup(&a);
        state_cleanup(&b);
    }
    free(items);
}
END_TEST

/* The posts are really there: the uninterrupted state has closed,
 * frozen and open windows, pending posts and late ones. */
START_TEST(test_fixture_covers_the_state)
{
    size_t n;
    struct pp_clean_item *items = make_items(&n);
    struct state a;
    struct pp_window_info first, last;

    state_init(&a);
    apply(&a, items, 0, n / 2);
    ck_assert_uint_gt(pp_stream_counts(a.stream)->posts, 1000);
    ck_assert_uint_gt(pp_stream_counts(a.stream)->input.duplicates[PP_TOPIC_PIN], 0);
    ck_assert_uint_gt(pp_stream_pending_count(a.stream), 0);
    ck_assert_uint_gt(pp_window_set_late_posts(a.windows), 0);
    ck_assert_uint_gt(pp_window_set_count(a.windows, 2), 5);
    pp_window_set_info(a.windows, 2, 0, &first);
    pp_window_set_info(a.windows, 2, pp_window_set_count(a.windows, 2) - 1, &last);
    ck_assert(!first.is_open && last.is_open);
    state_cleanup(&a);
    free(items);
}
END_TEST

START_TEST(test_refuses_other_config)
{
    size_t n;
    struct pp_clean_item *items = make_items(&n);
    struct state a, b;
    struct pp_checkpoint_state va, vb;
    struct pp_buf data;
    char msg[512] = "";

    state_init(&a);
    state_init(&b);
    va = view(&a, CONFIG);
    vb = view(&b, "analytics.windows=tumbling:5m");
    apply(&a, items, 0, 300);
    pp_buf_init(&data);
    ck_assert_int_eq(pp_checkpoint_encode(&va, 1, &data), PP_OK);
    ck_assert_int_eq(pp_checkpoint_decode(&vb, data.data, data.len, msg, sizeof msg),
                     PP_ERR_INVALID);
    ck_assert_msg(strstr(msg, CONFIG) != NULL && strstr(msg, "tumbling:5m") != NULL, "%s", msg);
    ck_assert_ptr_null(strchr(msg, '\n'));
    pp_buf_cleanup(&data);
    state_cleanup(&a);
    state_cleanup(&b);
    free(items);
}
END_TEST

/* A checkpoint of another Kafka cluster (a development broker started
 * again: its offsets are other records) is refused, naming both; one
 * whose cluster either side does not know is not checked. */
START_TEST(test_refuses_other_cluster)
{
    char taken_on[64];
    size_t n;
    struct pp_clean_item *items = make_items(&n);
    struct state a;
    struct pp_checkpoint_state va;
    struct pp_buf data;
    char msg[512] = "";

    state_init(&a);
    va = view(&a, CONFIG);
    apply(&a, items, 0, 300);
    pp_buf_init(&data);
    ck_assert_int_eq(pp_checkpoint_encode(&va, 1, &data), PP_OK);
    for (int k = 0; k < 3; k++) {
        static const char *const clusters[] = {"mockCluster2", "", "mockCluster1"};
        struct state b;
        struct pp_checkpoint_state vb;

        state_init(&b);
        vb = view(&b, CONFIG);
        vb.cluster_id = clusters[k];
        vb.taken_on = taken_on;
        vb.taken_on_cap = sizeof taken_on;
        taken_on[0] = '\0';
        msg[0] = '\0';
        if (k == 0) {
            ck_assert_int_eq(pp_checkpoint_decode(&vb, data.data, data.len, msg, sizeof msg),
                             PP_ERR_INVALID);
            ck_assert_msg(strstr(msg, "mockCluster1") != NULL &&
                              strstr(msg, "mockCluster2") != NULL,
                          "%s", msg);
        } else {
            ck_assert_int_eq(pp_checkpoint_decode(&vb, data.data, data.len, msg, sizeof msg),
                             PP_OK);
            ck_assert_uint_eq(pp_stream_counts(b.stream)->posts, pp_stream_counts(a.stream)->posts);
            ck_assert_str_eq(taken_on, "mockCluster1");
        }
        state_cleanup(&b);
    }
    /* Taken without a known cluster: loads anywhere. */
    va.cluster_id = "";
    pp_buf_cleanup(&data);
    pp_buf_init(&data);
    ck_assert_int_eq(pp_checkpoint_encode(&va, 2, &data), PP_OK);
    {
        struct state b;
        struct pp_checkpoint_state vb;

        state_init(&b);
        vb = view(&b, CONFIG);
        vb.cluster_id = "mockCluster9";
        ck_assert_int_eq(pp_checkpoint_decode(&vb, data.data, data.len, msg, sizeof msg), PP_OK);
        state_cleanup(&b);
    }
    pp_buf_cleanup(&data);
    state_cleanup(&a);
    free(items);
}
END_TEST

/* Every prefix of a checkpoint (an upload cut short) and garbled copies
 * are refused, and decoding them into a state leaves it destroyable. */
START_TEST(test_refuses_cut_and_garbled)
{
    size_t n;
    struct pp_clean_item *items = make_items(&n);
    struct state a;
    struct pp_checkpoint_state va;
    struct pp_buf data;
    uint64_t seq;
    uint64_t x = 12345;

    state_init(&a);
    va = view(&a, CONFIG);
    apply(&a, items, 0, n / 2);
    pp_buf_init(&data);
    ck_assert_int_eq(pp_checkpoint_encode(&va, 7, &data), PP_OK);
    for (size_t len = 0; len < data.len; len += 1 + len / 8) {
        struct state b;
        struct pp_checkpoint_state vb;
        char msg[256];

        ck_assert_int_ne(pp_checkpoint_check(data.data, len, &seq, NULL), PP_OK);
        state_init(&b);
        vb = view(&b, CONFIG);
        ck_assert_int_ne(pp_checkpoint_decode(&vb, data.data, len, msg, sizeof msg), PP_OK);
        state_cleanup(&b);
    }
    for (int round = 0; round < 50; round++) {
        struct state b;
        struct pp_checkpoint_state vb;
        char *copy = pp_check_copy(data.data, data.len, 0, 0);
        char msg[256];

        for (int flips = 0; flips < 1 + round % 4; flips++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            copy[x % data.len] ^= (char)(1 + x % 255);
        }
        state_init(&b);
        vb = view(&b, CONFIG);
        /* zstd's checksum-less frames may decode garbled bytes: the codecs'
         * checks must then refuse them, or the state must be usable. */
        (void)pp_checkpoint_decode(&vb, copy, data.len, msg, sizeof msg);
        state_cleanup(&b);
        free(copy);
    }
    pp_buf_cleanup(&data);
    state_cleanup(&a);
    free(items);
}
END_TEST

/* Loads strings and a stream saved one after the other into a fresh
 * state: what pp_stream_load() says. */
static enum pp_err stream_reload(const struct pp_buf *buf)
{
    struct pp_snap_reader rd;
    struct state back;
    enum pp_err err;

    state_init(&back);
    pp_snap_reader_init(&rd, buf->data, buf->len);
    ck_assert_int_eq(pp_intern_load(&back.strings, &rd), PP_OK);
    err = pp_stream_load(back.stream, &rd);
    state_cleanup(&back);
    return err;
}

/* A pending post's text ids go to the windows when it joins, which read
 * them as indices: a stream whose pending posts use ids its strings lack
 * is refused. */
START_TEST(test_refuses_pending_text_ids)
{
    struct pp_clean_item *items;
    struct pp_snap_writer w;
    struct state s;
    struct pp_intern fewer;
    struct pp_buf buf;
    size_t n;

    items = make_items(&n);
    state_init(&s);
    apply(&s, items, 0, 40);
    ck_assert_uint_gt(pp_stream_pending_count(s.stream), 0);
    for (int is_whole = 0; is_whole < 2; is_whole++) {
        pp_intern_init(&fewer);
        pp_buf_init(&buf);
        pp_snap_writer_init(&w, &buf);
        pp_intern_save(is_whole ? &s.strings : &fewer, &w);
        pp_stream_save(s.stream, &w);
        ck_assert_int_eq(pp_snap_writer_finish(&w), PP_OK);
        ck_assert_int_eq(stream_reload(&buf), is_whole ? PP_OK : PP_ERR_CORRUPT);
        pp_buf_cleanup(&buf);
        pp_intern_cleanup(&fewer);
    }
    state_cleanup(&s);
    free(items);
}
END_TEST

/* Two keys that share one pending post, in a damaged checkpoint whose
 * counts still add up (the post of the other key then lost), would free
 * it twice: refused. The test knows the key slot of ops/pp_stream.c: 40
 * bytes, the pending index (uint32) at 32, the topics seen (a byte) at 36. */
START_TEST(test_refuses_shared_pending_post)
{
    enum { SLOT = 40, PENDING_AT = 32, SEEN_AT = 36 };
    struct pp_clean_item *items;
    struct pp_snap_writer w;
    struct state s;
    struct pp_buf strings_only, buf;
    size_t n, keys_at, found = 0, used = 0, at[2] = {0, 0};
    uint64_t cap;

    items = make_items(&n);
    state_init(&s);
    for (size_t k = 0; k < n && pp_stream_pending_count(s.stream) < 2; k++)
        apply(&s, items, k, k + 1);
    ck_assert_uint_ge(pp_stream_pending_count(s.stream), 2);
    pp_buf_init(&strings_only);
    pp_snap_writer_init(&w, &strings_only);
    pp_intern_save(&s.strings, &w);
    ck_assert_int_eq(pp_snap_writer_finish(&w), PP_OK);
    pp_buf_init(&buf);
    pp_snap_writer_init(&w, &buf);
    pp_intern_save(&s.strings, &w);
    pp_stream_save(s.stream, &w);
    ck_assert_int_eq(pp_snap_writer_finish(&w), PP_OK);
    /* ttl, timeout, stream time, first time, key count, then the slots */
    keys_at = strings_only.len + 5 * sizeof(uint64_t);
    memcpy(&cap, buf.data + keys_at, sizeof cap);
    keys_at += sizeof cap;
    ck_assert_uint_le(keys_at + cap * SLOT, buf.len);
    for (size_t i = 0; i < cap; i++) {
        const char *slot = buf.data + keys_at + i * SLOT;
        uint32_t pending;
        memcpy(&pending, slot + PENDING_AT, sizeof pending);
        used += slot[SEEN_AT] != 0;
        if (slot[SEEN_AT] != 0 && pending != 0 && found < 2)
            at[found++] = keys_at + i * SLOT + PENDING_AT;
    }
    ck_assert_uint_eq(used, pp_stream_key_count(s.stream)); /* the layout is as above */
    ck_assert_uint_eq(found, 2);
    for (int is_shared = 0; is_shared < 2; is_shared++) {
        if (is_shared)
            memcpy(buf.data + at[1], buf.data + at[0], sizeof(uint32_t));
        ck_assert_int_eq(stream_reload(&buf), is_shared ? PP_ERR_CORRUPT : PP_OK);
    }
    pp_buf_cleanup(&buf);
    pp_buf_cleanup(&strings_only);
    state_cleanup(&s);
    free(items);
}
END_TEST

START_TEST(test_key)
{
    char key[128];

    ck_assert_int_eq(pp_checkpoint_key("pinpipe", 7, 0, key, sizeof key), PP_OK);
    ck_assert_str_eq(key, "_pinpipe/state/pinpipe/p7/checkpoint-0.bin.zst");
    ck_assert_int_eq(pp_checkpoint_key("a b/../c.d", 0, 3, key, sizeof key), PP_OK);
    ck_assert_str_eq(key, "_pinpipe/state/a%20b%2F%2E%2E%2Fc%2Ed/p0/checkpoint-1.bin.zst");
    ck_assert_int_eq(pp_checkpoint_key("pinpipe", -1, 1, key, sizeof key), PP_OK);
    ck_assert_str_eq(key, "_pinpipe/state/pinpipe/checkpoint-1.bin.zst");
    ck_assert_int_eq(pp_checkpoint_key("a-very-long-group-id", 0, 0, key, 30), PP_ERR_TOOBIG);
}
END_TEST

static Suite *checkpoint_suite(void)
{
    Suite *s = suite_create("checkpoint");

    PP_CHECK_TCASE(s, test_round_trip_any_point);
    PP_CHECK_TCASE(s, test_fixture_covers_the_state);
    PP_CHECK_TCASE(s, test_refuses_other_config);
    PP_CHECK_TCASE(s, test_refuses_other_cluster);
    PP_CHECK_TCASE(s, test_refuses_cut_and_garbled);
    PP_CHECK_TCASE(s, test_refuses_pending_text_ids);
    PP_CHECK_TCASE(s, test_refuses_shared_pending_post);
    PP_CHECK_TCASE(s, test_key);
    return s;
}

PP_CHECK_MAIN(checkpoint_suite)
