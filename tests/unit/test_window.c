/*
 * Unit tests of pp_window: the queries per time window (SPEC 6), the
 * watermark, late posts, retention and the window spec syntax.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pp_check.h"
#include "pp_check_query.h"
#include "pp_post.h"
#include "pp_query.h"
#include "pp_window.h"

#define SEC 1000LL
#define MIN (60 * SEC)

/* ---- building posts ----------------------------------------------------------------- */

struct wctx {
    struct pp_intern strings;
    struct pp_window_set *set;
    int64_t next_ind;
};

static void wctx_init(struct wctx *c, const struct pp_config_window *specs, size_t n,
                      int64_t lateness_ms, int64_t retention_ms)
{
    pp_intern_init(&c->strings);
    c->set = pp_window_set_new(specs, n, lateness_ms, retention_ms);
    ck_assert_ptr_nonnull(c->set);
    c->next_ind = 1;
}

static void wctx_cleanup(struct wctx *c)
{
    pp_window_set_destroy(c->set);
    pp_intern_cleanup(&c->strings);
}

static uint32_t intern(struct pp_intern *strings, const char *s)
{
    uint32_t id = 99;

    ck_assert_int_eq(pp_intern_id(strings, s ? pp_str_make(s, strlen(s)) : PP_STR_NULL, &id),
                     PP_OK);
    return id;
}

/* A post in country X with the given category (enough for most tests). */
static struct pp_post simple_post(struct wctx *c, const char *category)
{
    struct pp_post p;

    memset(&p, 0, sizeof p);
    p.ind = c->next_ind++;
    p.parts = PP_POST_ALL_PARTS;
    p.country = intern(&c->strings, "X");
    p.category = intern(&c->strings, category);
    return p;
}

static void add_at(struct wctx *c, int64_t t)
{
    struct pp_post p = simple_post(c, "art");

    ck_assert_int_eq(pp_window_set_add(c->set, &p, &c->strings, t), PP_OK);
}

static struct pp_window_info info_of(const struct wctx *c, size_t spec, size_t i)
{
    struct pp_window_info info;

    memset(&info, 0xa5, sizeof info);
    pp_window_set_info(c->set, spec, i, &info);
    return info;
}

/* Checks the windows of a spec: starts[] and posts[] in order. */
static void expect_windows(const struct wctx *c, size_t spec, size_t n, const int64_t *starts,
                           const uint64_t *posts)
{
    size_t i;

    ck_assert_uint_eq(pp_window_set_count(c->set, spec), n);
    for (i = 0; i < n; i++) {
        struct pp_window_info info = info_of(c, spec, i);
        ck_assert_msg(info.start_ms == starts[i], "window %zu starts at %" PRId64 ", want %" PRId64,
                      i, info.start_ms, starts[i]);
        ck_assert_msg(info.posts == posts[i], "window %zu has %" PRIu64 " posts, want %" PRIu64, i,
                      info.posts, posts[i]);
    }
}

#define STARTS(...) ((const int64_t[]){__VA_ARGS__})
#define POSTS(...) ((const uint64_t[]){__VA_ARGS__})

static uint64_t all_posts(const struct wctx *c)
{
    return info_of(c, 0, 0).posts;
}

static const struct pp_config_window tumbling_10s = {PP_CONFIG_WINDOW_TUMBLING, 10 * SEC, 10 * SEC};

/* ---- membership --------------------------------------------------------------------- */

START_TEST(test_tumbling_boundaries)
{
    struct wctx c;
    struct pp_window_info info;

    wctx_init(&c, &tumbling_10s, 1, 60 * SEC, 0);
    add_at(&c, 0);
    add_at(&c, 10 * SEC - 1);
    add_at(&c, 10 * SEC); /* exactly the boundary: the later window */
    add_at(&c, 20 * SEC - 1);
    add_at(&c, 20 * SEC);
    expect_windows(&c, 1, 3, STARTS(0, 10 * SEC, 20 * SEC), POSTS(2, 2, 1));
    info = info_of(&c, 1, 1);
    ck_assert_int_eq(info.end_ms, 20 * SEC);
    ck_assert(info.is_open);
    ck_assert_uint_eq(all_posts(&c), 5);
    wctx_cleanup(&c);
}
END_TEST

START_TEST(test_hopping_membership)
{
    const struct pp_config_window hop = {PP_CONFIG_WINDOW_HOPPING, 30 * SEC, 10 * SEC};
    struct wctx c;
    size_t i;

    wctx_init(&c, &hop, 1, 10 * MIN, 0);
    /* 25s is in [0,30), [10,40), [20,50): size/slide = 3 windows. */
    add_at(&c, 25 * SEC);
    expect_windows(&c, 1, 3, STARTS(0, 10 * SEC, 20 * SEC), POSTS(1, 1, 1));
    for (i = 0; i < 3; i++)
        ck_assert_int_eq(info_of(&c, 1, i).end_ms, info_of(&c, 1, i).start_ms + 30 * SEC);
    /* 30s (a boundary) is in [10,40), [20,50), [30,60), not in [0,30). */
    add_at(&c, 30 * SEC);
    expect_windows(&c, 1, 4, STARTS(0, 10 * SEC, 20 * SEC, 30 * SEC), POSTS(1, 2, 2, 1));
    wctx_cleanup(&c);

    /* Near time 0 the windows that hold a post may start before 0. */
    wctx_init(&c, &hop, 1, 10 * MIN, 0);
    add_at(&c, 5 * SEC);
    expect_windows(&c, 1, 3, STARTS(-20 * SEC, -10 * SEC, 0), POSTS(1, 1, 1));
    wctx_cleanup(&c);
}
END_TEST

START_TEST(test_all_window)
{
    struct wctx c;
    struct pp_window_info info;

    wctx_init(&c, &tumbling_10s, 1, 0, 0);
    ck_assert_uint_eq(pp_window_set_spec_count(c.set), 2);
    ck_assert_int_eq(pp_window_set_spec(c.set, 0)->kind, PP_CONFIG_WINDOW_ALL);
    ck_assert_uint_eq(pp_window_set_count(c.set, 0), 1);
    info = info_of(&c, 0, 0);
    ck_assert_int_eq(info.start_ms, INT64_MIN);
    ck_assert_int_eq(info.end_ms, INT64_MAX);
    ck_assert(info.is_open);
    ck_assert_uint_eq(info.posts, 0);
    ck_assert_uint_eq(pp_window_set_count(c.set, 1), 0);
    add_at(&c, 5 * SEC);
    add_at(&c, 100 * SEC);
    info = info_of(&c, 0, 0);
    ck_assert(info.is_open);
    ck_assert_uint_eq(info.posts, 2);
    wctx_cleanup(&c);
}
END_TEST

START_TEST(test_specs_deduplicated)
{
    const struct pp_config_window specs[] = {
        {PP_CONFIG_WINDOW_ALL, 0, 0},
        {PP_CONFIG_WINDOW_TUMBLING, MIN, MIN},
        {PP_CONFIG_WINDOW_HOPPING, MIN, MIN}, /* not the same spec as tumbling:1m */
        {PP_CONFIG_WINDOW_TUMBLING, MIN, MIN},
        {PP_CONFIG_WINDOW_ALL, 0, 0},
        {PP_CONFIG_WINDOW_HOPPING, 60 * MIN, 5 * MIN},
    };
    const struct pp_config_window absent = {PP_CONFIG_WINDOW_TUMBLING, 2 * MIN, 2 * MIN};
    struct pp_window_set *set = pp_window_set_new(specs, 6, 0, 0);
    size_t spec = 99;

    ck_assert_ptr_nonnull(set);
    ck_assert_uint_eq(pp_window_set_spec_count(set), 4);
    ck_assert_int_eq(pp_window_set_spec(set, 0)->kind, PP_CONFIG_WINDOW_ALL);
    ck_assert_int_eq(pp_window_set_spec(set, 1)->kind, PP_CONFIG_WINDOW_TUMBLING);
    ck_assert_int_eq(pp_window_set_spec(set, 2)->kind, PP_CONFIG_WINDOW_HOPPING);
    ck_assert_int_eq(pp_window_set_spec(set, 3)->size_ms, 60 * MIN);
    ck_assert_int_eq(pp_window_set_lookup(set, &specs[5], &spec), PP_OK);
    ck_assert_uint_eq(spec, 3);
    ck_assert_int_eq(pp_window_set_lookup(set, &specs[0], &spec), PP_OK);
    ck_assert_uint_eq(spec, 0);
    ck_assert_int_eq(pp_window_set_lookup(set, &specs[2], &spec), PP_OK);
    ck_assert_uint_eq(spec, 2);
    ck_assert_int_eq(pp_window_set_lookup(set, &absent, &spec), PP_ERR_NOTFOUND);
    pp_window_set_destroy(set);

    /* No specs at all: `all` alone. */
    set = pp_window_set_new(NULL, 0, 0, 0);
    ck_assert_ptr_nonnull(set);
    ck_assert_uint_eq(pp_window_set_spec_count(set), 1);
    pp_window_set_destroy(set);
    pp_window_set_destroy(NULL);
}
END_TEST

/* ---- time ----------------------------------------------------------------------------- */

START_TEST(test_watermark_and_lateness)
{
    struct wctx c;

    wctx_init(&c, &tumbling_10s, 1, 5 * SEC, MIN);
    ck_assert_int_eq(pp_window_set_watermark(c.set), INT64_MIN);
    add_at(&c, 100 * SEC);
    ck_assert_int_eq(pp_window_set_watermark(c.set), 95 * SEC);
    add_at(&c, 97 * SEC); /* older than the newest, not late: the watermark stays */
    ck_assert_int_eq(pp_window_set_watermark(c.set), 95 * SEC);
    add_at(&c, 95 * SEC); /* exactly the watermark: on time */
    ck_assert_uint_eq(pp_window_set_late_posts(c.set), 0);
    add_at(&c, 95 * SEC - 1); /* just under it: late */
    ck_assert_uint_eq(pp_window_set_late_posts(c.set), 1);
    ck_assert_int_eq(pp_window_set_watermark(c.set), 95 * SEC);
    add_at(&c, 103 * SEC);
    ck_assert_int_eq(pp_window_set_watermark(c.set), 98 * SEC);
    expect_windows(&c, 1, 2, STARTS(90 * SEC, 100 * SEC), POSTS(2, 2));
    wctx_cleanup(&c);

    /* Lateness 0: the watermark is the newest post time. */
    wctx_init(&c, &tumbling_10s, 1, 0, MIN);
    add_at(&c, 7 * SEC);
    ck_assert_int_eq(pp_window_set_watermark(c.set), 7 * SEC);
    add_at(&c, 7 * SEC);
    add_at(&c, 7 * SEC - 1);
    ck_assert_uint_eq(pp_window_set_late_posts(c.set), 1);
    wctx_cleanup(&c);
}
END_TEST

START_TEST(test_window_closes_and_stays_final)
{
    struct wctx c;
    struct pp_table t;

    wctx_init(&c, &tumbling_10s, 1, 2 * SEC, MIN);
    add_at(&c, 1 * SEC);
    add_at(&c, 12 * SEC - 1); /* watermark 10s - 1ms: [0,10s) still open */
    ck_assert(info_of(&c, 1, 0).is_open);
    add_at(&c, 12 * SEC); /* watermark 10s = end: closed */
    ck_assert_int_eq(pp_window_set_watermark(c.set), 10 * SEC);
    ck_assert(!info_of(&c, 1, 0).is_open);
    ck_assert(info_of(&c, 1, 1).is_open);
    /* A post for the closed window is necessarily late (9.999s < 10s):
     * `all` and the late counter only. */
    add_at(&c, 10 * SEC - 1);
    ck_assert_uint_eq(pp_window_set_late_posts(c.set), 1);
    ck_assert(!info_of(&c, 1, 0).is_open);
    expect_windows(&c, 1, 2, STARTS(0, 10 * SEC), POSTS(1, 2));
    ck_assert_uint_eq(all_posts(&c), 4);
    ck_assert_int_eq(
        pp_window_set_result(c.set, 1, 0, &c.strings, PP_QUERY_CATEGORY_BY_COUNTRY, &t), PP_OK);
    ck_assert_uint_eq(t.n_rows, 1);
    ck_assert_int_eq(t.cells[2].i, 1);
    pp_table_cleanup(&t);
    wctx_cleanup(&c);
}
END_TEST

/* Saves strings and a set as a checkpoint does; the caller frees buf. */
static void set_save(const struct pp_intern *strings, const struct pp_window_set *set,
                     struct pp_buf *buf)
{
    struct pp_snap_writer w;

    pp_buf_init(buf);
    pp_snap_writer_init(&w, buf);
    pp_intern_save(strings, &w);
    pp_window_set_save(set, &w);
    ck_assert_int_eq(pp_snap_writer_finish(&w), PP_OK);
}

/* Loads what set_save() wrote into fresh strings and a set made with the
 * same specs; all of it is read when the load succeeds. */
static enum pp_err set_load(struct pp_intern *strings, struct pp_window_set *set,
                            const struct pp_buf *buf)
{
    struct pp_snap_reader rd;
    enum pp_err err;

    pp_snap_reader_init(&rd, buf->data, buf->len);
    ck_assert_int_eq(pp_intern_load(strings, &rd), PP_OK);
    err = pp_window_set_load(set, strings, &rd);
    ck_assert(err != PP_OK || rd.pos == rd.len);
    return err;
}

/* Loads buf (set_save() of a tumbling_10s set, lateness 0, retention a
 * minute) into a fresh set: want is what the load says. */
static void expect_load(const struct pp_buf *buf, enum pp_err want)
{
    struct wctx back;

    wctx_init(&back, &tumbling_10s, 1, 0, MIN);
    ck_assert_int_eq(set_load(&back.strings, back.set, buf), want);
    wctx_cleanup(&back);
}

/* A closed window is frozen (its state compressed, no state left in
 * memory), answers from the frozen state, goes into a checkpoint as it
 * is, and frozen bytes that are not a state make the load fail. */
START_TEST(test_closed_window_frozen)
{
    static const unsigned char magic[4] = {0x28, 0xB5, 0x2F, 0xFD}; /* a zstd frame */
    struct wctx c, back;
    struct pp_window_stats stats = {0};
    struct pp_table t;
    struct pp_buf buf;
    char *at;

    wctx_init(&c, &tumbling_10s, 1, 0, MIN);
    add_at(&c, 1 * SEC);
    add_at(&c, 2 * SEC);
    add_at(&c, 15 * SEC); /* closes [0, 10s) */
    pp_window_set_stats(c.set, &stats);
    ck_assert_uint_eq(stats.frozen, 1);
    ck_assert_uint_gt(stats.frozen_bytes, 0);
    ck_assert_uint_eq(stats.states, 2); /* `all` and [10s, 20s) */
    ck_assert_int_eq(
        pp_window_set_result(c.set, 1, 0, &c.strings, PP_QUERY_CATEGORY_BY_COUNTRY, &t), PP_OK);
    ck_assert_uint_eq(t.n_rows, 1);
    ck_assert_int_eq(t.cells[2].i, 2);
    pp_table_cleanup(&t);

    set_save(&c.strings, c.set, &buf);
    wctx_init(&back, &tumbling_10s, 1, 0, MIN);
    ck_assert_int_eq(set_load(&back.strings, back.set, &buf), PP_OK);
    memset(&stats, 0, sizeof stats);
    pp_window_set_stats(back.set, &stats);
    ck_assert_uint_eq(stats.frozen, 1);
    ck_assert_int_eq(
        pp_window_set_result(back.set, 1, 0, &back.strings, PP_QUERY_CATEGORY_BY_COUNTRY, &t),
        PP_OK);
    ck_assert_uint_eq(t.n_rows, 1);
    ck_assert_int_eq(t.cells[2].i, 2);
    pp_table_cleanup(&t);
    wctx_cleanup(&back);

    at = memmem(buf.data, buf.len, magic, sizeof magic);
    ck_assert_ptr_nonnull(at);
    at[0] = 0;
    expect_load(&buf, PP_ERR_CORRUPT);
    at[0] = magic[0];

    /* `all` never closes: a checkpoint that says it did would freeze it. */
    {
        struct pp_buf strings_only;
        struct pp_snap_writer w;
        uint64_t one = 1;
        size_t n_closed_at;

        pp_buf_init(&strings_only);
        pp_snap_writer_init(&w, &strings_only);
        pp_intern_save(&c.strings, &w);
        ck_assert_int_eq(pp_snap_writer_finish(&w), PP_OK);
        /* n_specs, lateness, retention, max time, watermark, late posts,
         * then spec 0 and its n_closed */
        n_closed_at = strings_only.len + 6 * sizeof(uint64_t) + sizeof(struct pp_config_window);
        pp_buf_cleanup(&strings_only);
        ck_assert_uint_lt(n_closed_at + sizeof one, buf.len);
        memcpy(buf.data + n_closed_at, &one, sizeof one);
        expect_load(&buf, PP_ERR_CORRUPT);
        one = 0;
        memcpy(buf.data + n_closed_at, &one, sizeof one);
        expect_load(&buf, PP_OK);
    }
    pp_buf_cleanup(&buf);
    wctx_cleanup(&c);
}
END_TEST

/* Text ids are read as indices into the strings: a load refuses states
 * whose ids the strings loaded before them do not have. */
START_TEST(test_load_checks_text_ids)
{
    struct wctx c;
    struct pp_intern fewer;
    struct pp_snap_writer w;
    struct pp_buf buf;

    wctx_init(&c, &tumbling_10s, 1, 0, MIN);
    add_at(&c, 1 * SEC);
    add_at(&c, 15 * SEC); /* [0, 10s) closed and frozen, [10s, 20s) open */
    /* The set after strings that lack "art", which its posts use. */
    pp_intern_init(&fewer);
    intern(&fewer, "X");
    pp_buf_init(&buf);
    pp_snap_writer_init(&w, &buf);
    pp_intern_save(&fewer, &w);
    pp_window_set_save(c.set, &w);
    ck_assert_int_eq(pp_snap_writer_finish(&w), PP_OK);
    expect_load(&buf, PP_ERR_CORRUPT);
    pp_buf_cleanup(&buf);
    pp_intern_cleanup(&fewer);
    wctx_cleanup(&c);
}
END_TEST

/* A window's bounds are what the windows make (aligned to the slide, of
 * the spec's length): a checkpoint with others is refused, since the
 * distances in slides between panes are computed from them. */
START_TEST(test_load_checks_bounds)
{
    const int64_t bounds[2] = {10 * SEC, 20 * SEC};
    const int64_t edits[][2] = {{10 * SEC + 1, 20 * SEC + 1}, {10 * SEC, 25 * SEC}};
    struct wctx c;
    struct pp_buf buf;
    char *at;

    wctx_init(&c, &tumbling_10s, 1, 0, MIN);
    add_at(&c, 1 * SEC);
    add_at(&c, 15 * SEC);
    set_save(&c.strings, c.set, &buf);
    at = memmem(buf.data, buf.len, bounds, sizeof bounds); /* [10s, 20s) */
    ck_assert_ptr_nonnull(at);
    for (size_t k = 0; k < sizeof edits / sizeof edits[0]; k++) {
        memcpy(at, edits[k], sizeof edits[k]);
        expect_load(&buf, PP_ERR_CORRUPT);
    }
    memcpy(at, bounds, sizeof bounds);
    expect_load(&buf, PP_OK);
    pp_buf_cleanup(&buf);
    wctx_cleanup(&c);
}
END_TEST

START_TEST(test_late_posts_count_in_all_only)
{
    const struct pp_config_window specs[] = {tumbling_10s,
                                             {PP_CONFIG_WINDOW_HOPPING, 20 * SEC, 5 * SEC}};
    struct wctx c;
    struct pp_post p;
    struct pp_table t;
    size_t n1, n2;

    wctx_init(&c, specs, 2, 1 * SEC, 10 * MIN);
    add_at(&c, 50 * SEC);
    n1 = pp_window_set_count(c.set, 1);
    n2 = pp_window_set_count(c.set, 2);
    /* Late (48s < 49s), although [30s,50s) of the hopping spec is still
     * open: late posts join no time window. */
    p = simple_post(&c, "late");
    ck_assert_int_eq(pp_window_set_add(c.set, &p, &c.strings, 48 * SEC), PP_OK);
    p = simple_post(&c, "late");
    ck_assert_int_eq(pp_window_set_add(c.set, &p, &c.strings, 1 * SEC), PP_OK);
    /* No timestamp (-1): the same as late, and the watermark stays. */
    p = simple_post(&c, "late");
    ck_assert_int_eq(pp_window_set_add(c.set, &p, &c.strings, -1), PP_OK);
    ck_assert_uint_eq(pp_window_set_late_posts(c.set), 3);
    ck_assert_int_eq(pp_window_set_watermark(c.set), 49 * SEC);
    ck_assert_uint_eq(pp_window_set_count(c.set, 1), n1);
    ck_assert_uint_eq(pp_window_set_count(c.set, 2), n2);
    expect_windows(&c, 1, 1, STARTS(50 * SEC), POSTS(1));
    ck_assert_uint_eq(all_posts(&c), 4);
    /* `all` has them: "late" is the most popular category there. */
    ck_assert_int_eq(
        pp_window_set_result(c.set, 0, 0, &c.strings, PP_QUERY_CATEGORY_BY_COUNTRY, &t), PP_OK);
    ck_assert_uint_eq(t.n_rows, 1);
    ck_assert(pp_str_eq_cstr(t.cells[1].text, "late"));
    ck_assert_int_eq(t.cells[2].i, 3);
    pp_table_cleanup(&t);
    /* A negative time before any post is late too, and sets no watermark. */
    wctx_cleanup(&c);
    wctx_init(&c, specs, 2, 0, 0);
    add_at(&c, -5);
    ck_assert_int_eq(pp_window_set_watermark(c.set), INT64_MIN);
    ck_assert_uint_eq(pp_window_set_late_posts(c.set), 1);
    ck_assert_uint_eq(pp_window_set_count(c.set, 1), 0);
    wctx_cleanup(&c);
}
END_TEST

START_TEST(test_out_of_order_within_lateness)
{
    const struct pp_config_window hop = {PP_CONFIG_WINDOW_HOPPING, 20 * SEC, 10 * SEC};
    struct wctx c;

    wctx_init(&c, &tumbling_10s, 1, 30 * SEC, MIN);
    add_at(&c, 25 * SEC);
    add_at(&c, 5 * SEC);  /* before the newest window: inserted in front */
    add_at(&c, 15 * SEC); /* between two windows */
    add_at(&c, 6 * SEC);
    add_at(&c, 26 * SEC);
    expect_windows(&c, 1, 3, STARTS(0, 10 * SEC, 20 * SEC), POSTS(2, 1, 2));
    ck_assert_uint_eq(pp_window_set_late_posts(c.set), 0);
    wctx_cleanup(&c);

    wctx_init(&c, &hop, 1, 30 * SEC, MIN);
    add_at(&c, 45 * SEC); /* [30,50) [40,60) */
    add_at(&c, 22 * SEC); /* [10,30) [20,40) */
    expect_windows(&c, 1, 4, STARTS(10 * SEC, 20 * SEC, 30 * SEC, 40 * SEC), POSTS(1, 1, 1, 1));
    add_at(&c, 31 * SEC); /* [20,40) [30,50) */
    expect_windows(&c, 1, 4, STARTS(10 * SEC, 20 * SEC, 30 * SEC, 40 * SEC), POSTS(1, 2, 2, 1));
    wctx_cleanup(&c);
}
END_TEST

START_TEST(test_retention_frees_closed_windows)
{
    struct wctx c;

    wctx_init(&c, &tumbling_10s, 1, 0, 20 * SEC);
    add_at(&c, 0);
    add_at(&c, 10 * SEC); /* [0,10s) closes */
    expect_windows(&c, 1, 2, STARTS(0, 10 * SEC), POSTS(1, 1));
    ck_assert(!info_of(&c, 1, 0).is_open);
    add_at(&c, 30 * SEC - 1); /* watermark < end + retention = 30s: kept */
    ck_assert_uint_eq(pp_window_set_count(c.set, 1), 3);
    add_at(&c, 30 * SEC); /* now freed */
    expect_windows(&c, 1, 3, STARTS(10 * SEC, 20 * SEC, 30 * SEC), POSTS(1, 1, 1));
    add_at(&c, 100 * SEC); /* frees every window that ends by 80s */
    expect_windows(&c, 1, 1, STARTS(100 * SEC), POSTS(1));
    ck_assert_uint_eq(all_posts(&c), 5);
    wctx_cleanup(&c);

    /* Retention 0: a window is freed as soon as it closes. */
    wctx_init(&c, &tumbling_10s, 1, 0, 0);
    add_at(&c, 0);
    add_at(&c, 10 * SEC - 1);
    ck_assert_uint_eq(pp_window_set_count(c.set, 1), 1);
    add_at(&c, 10 * SEC);
    expect_windows(&c, 1, 1, STARTS(10 * SEC), POSTS(1));
    wctx_cleanup(&c);
}
END_TEST

START_TEST(test_docs_example)
{
    /* The timeline of docs/windows.md. */
    struct wctx c;

    wctx_init(&c, &tumbling_10s, 1, 5 * SEC, 30 * SEC);
    add_at(&c, 2 * SEC);
    ck_assert_int_eq(pp_window_set_watermark(c.set), -3 * SEC);
    add_at(&c, 12 * SEC);
    ck_assert(info_of(&c, 1, 0).is_open);
    add_at(&c, 8 * SEC);
    expect_windows(&c, 1, 2, STARTS(0, 10 * SEC), POSTS(2, 1));
    add_at(&c, 16 * SEC);
    ck_assert(!info_of(&c, 1, 0).is_open);
    add_at(&c, 9 * SEC);
    ck_assert_uint_eq(pp_window_set_late_posts(c.set), 1);
    expect_windows(&c, 1, 2, STARTS(0, 10 * SEC), POSTS(2, 2));
    add_at(&c, 45 * SEC);
    ck_assert_int_eq(pp_window_set_watermark(c.set), 40 * SEC);
    expect_windows(&c, 1, 2, STARTS(10 * SEC, 40 * SEC), POSTS(2, 1));
    ck_assert(!info_of(&c, 1, 0).is_open);
    ck_assert(info_of(&c, 1, 1).is_open);
    ck_assert_uint_eq(all_posts(&c), 6);
    wctx_cleanup(&c);
}
END_TEST

/* ---- results against a plain state ------------------------------------------------- */

struct gen_post {
    struct pp_post post;
    int64_t t;
    bool is_late;
};

static uint64_t rng_next(uint64_t *state)
{
    *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
    return *state >> 33;
}

static int64_t rng_range(uint64_t *state, int64_t lo, int64_t hi)
{
    return lo + (int64_t)(rng_next(state) % (uint64_t)(hi - lo + 1));
}

/* n posts with values from small pools (so that groups collide) and times
 * that mostly advance with jitter, some behind the watermark. */
static struct gen_post *gen_posts(struct pp_intern *strings, size_t n, uint64_t seed,
                                  int64_t lateness_ms)
{
    static const char *const countries[] = {NULL, "Albania", "Chad", "Peru", "Yemen"};
    static const char *const categories[] = {NULL, "art", "diy", "food", "travel", "vehicles"};
    static const char *const names[] = {NULL, "ann", "bob", "cy", "dee", "eve", "fay"};
    struct gen_post *posts = calloc(n, sizeof *posts);
    int64_t now = 10 * MIN, max_t = INT64_MIN;
    size_t i;

    ck_assert_ptr_nonnull(posts);
    for (i = 0; i < n; i++) {
        struct pp_post *p = &posts[i].post;
        int64_t t;

        now += rng_range(&seed, 0, 1500);
        t = now - rng_range(&seed, 0, 8 * SEC);
        p->ind = (int64_t)i + 1;
        p->parts = PP_POST_ALL_PARTS;
        p->country = intern(strings, countries[rng_range(&seed, 0, 4)]);
        p->category = intern(strings, categories[rng_range(&seed, 0, 5)]);
        p->poster_name = intern(strings, names[rng_range(&seed, 0, 6)]);
        p->has_follower_count = rng_range(&seed, 0, 9) != 0;
        p->follower_count = p->has_follower_count ? rng_range(&seed, 0, 30) : 0;
        p->post_year = (int32_t)rng_range(&seed, 2016, 2023);
        p->user_name = intern(strings, names[rng_range(&seed, 0, 6)]);
        p->has_age = rng_range(&seed, 0, 9) != 0;
        p->age = p->has_age ? rng_range(&seed, 12, 70) : 0;
        p->has_date_joined = rng_range(&seed, 0, 9) != 0;
        p->join_year = p->has_date_joined ? (int32_t)rng_range(&seed, 2014, 2021) : 0;
        p->date_joined = p->has_date_joined ? rng_range(&seed, 0, 3) : 0;
        posts[i].t = t;
        /* The reference watermark, computed independently. */
        posts[i].is_late = max_t != INT64_MIN && t < max_t - lateness_ms;
        if (!posts[i].is_late && t > max_t)
            max_t = t;
    }
    return posts;
}

/* The nine tables of window i of spec against a plain state. */
static void expect_window_equals(const struct pp_window_set *set, size_t spec, size_t i,
                                 const struct pp_query_state *plain,
                                 const struct pp_intern *strings, const char *where)
{
    int id;

    for (id = 0; id < PP_QUERY_COUNT; id++) {
        struct pp_table got, want;

        ck_assert_int_eq(pp_window_set_result(set, spec, i, strings, (enum pp_query_id)id, &got),
                         PP_OK);
        ck_assert_int_eq(pp_query_result(plain, strings, (enum pp_query_id)id, &want), PP_OK);
        pp_check_tables_equal(&got, &want, where);
        pp_table_cleanup(&got);
        pp_table_cleanup(&want);
    }
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return x < y ? -1 : x > y;
}

#define N_GEN 600

/*
 * Feeds N_GEN generated posts and checks, for every spec, that the windows
 * that exist are exactly those an independent computation expects (every
 * window some on-time post falls into, minus those past retention), and
 * that each equals a plain pp_query_state fed only its posts.
 */
static void check_property(uint64_t seed, int64_t lateness_ms, int64_t retention_ms)
{
    const struct pp_config_window specs[] = {
        {PP_CONFIG_WINDOW_TUMBLING, 7 * SEC, 7 * SEC},
        {PP_CONFIG_WINDOW_HOPPING, 20 * SEC, 5 * SEC},
        {PP_CONFIG_WINDOW_TUMBLING, MIN, MIN},
        {PP_CONFIG_WINDOW_HOPPING, 3 * SEC, 1 * SEC},
    };
    struct wctx c;
    struct gen_post *posts;
    struct pp_window_stats stats = {0};
    int64_t max_t = INT64_MIN, wm;
    uint64_t n_late = 0, n_closed = 0;
    size_t i, s;

    wctx_init(&c, specs, 4, lateness_ms, retention_ms);
    posts = gen_posts(&c.strings, N_GEN, seed, lateness_ms);
    for (i = 0; i < N_GEN; i++) {
        ck_assert_int_eq(pp_window_set_add(c.set, &posts[i].post, &c.strings, posts[i].t), PP_OK);
        n_late += posts[i].is_late;
        if (!posts[i].is_late && posts[i].t > max_t)
            max_t = posts[i].t;
    }
    wm = max_t - lateness_ms;
    ck_assert_int_eq(pp_window_set_watermark(c.set), wm);
    ck_assert_uint_eq(pp_window_set_late_posts(c.set), n_late);
    ck_assert_uint_gt(n_late, 0); /* the generator does produce late posts */

    pp_window_set_stats(c.set, &stats);
    for (s = 1; s < pp_window_set_spec_count(c.set); s++)
        for (i = 0; i < pp_window_set_count(c.set, s); i++)
            n_closed += !info_of(&c, s, i).is_open;
    /* Every closed window is frozen, and answers below as before. */
    ck_assert_uint_eq(stats.frozen, n_closed);
    ck_assert(n_closed == 0 || stats.frozen_bytes > 0);
    ck_assert(retention_ms == 0 || n_closed > 0);

    for (s = 1; s < pp_window_set_spec_count(c.set); s++) {
        const struct pp_config_window *w = pp_window_set_spec(c.set, s);
        int64_t per = w->size_ms / w->slide_ms;
        int64_t *starts = malloc(sizeof *starts * N_GEN * (size_t)per);
        size_t n_starts = 0, n_want = 0, j;

        ck_assert_ptr_nonnull(starts);
        for (i = 0; i < N_GEN; i++) {
            int64_t k;
            if (posts[i].is_late)
                continue;
            for (k = 0; k < per; k++)
                starts[n_starts++] = posts[i].t - posts[i].t % w->slide_ms - k * w->slide_ms;
        }
        qsort(starts, n_starts, sizeof *starts, cmp_i64);
        for (j = 0; j < n_starts; j++) {
            if ((n_want == 0 || starts[j] != starts[n_want - 1]) &&
                wm - retention_ms < starts[j] + w->size_ms)
                starts[n_want++] = starts[j];
        }
        ck_assert_uint_eq(pp_window_set_count(c.set, s), n_want);
        for (j = 0; j < n_want; j++) {
            struct pp_window_info info = info_of(&c, s, j);
            struct pp_query_state plain;
            uint64_t n_in = 0;
            char where[64];

            ck_assert_int_eq(info.start_ms, starts[j]);
            ck_assert_int_eq(info.end_ms, starts[j] + w->size_ms);
            ck_assert(info.is_open == (wm < info.end_ms));
            pp_query_init(&plain);
            for (i = 0; i < N_GEN; i++) {
                if (!posts[i].is_late && posts[i].t >= info.start_ms && posts[i].t < info.end_ms) {
                    ck_assert_int_eq(pp_query_add(&plain, &posts[i].post, &c.strings), PP_OK);
                    n_in++;
                }
            }
            ck_assert_uint_eq(info.posts, n_in);
            snprintf(where, sizeof where, "spec %zu window %zu", s, j);
            expect_window_equals(c.set, s, j, &plain, &c.strings, where);
            pp_query_cleanup(&plain);
        }
        free(starts);
    }
    free(posts);
    wctx_cleanup(&c);
}

START_TEST(test_windows_equal_plain_state)
{
    check_property(1, 3 * SEC, INT64_MAX); /* every window kept */
    check_property(2, 5 * SEC, INT64_MAX);
}
END_TEST

START_TEST(test_windows_equal_plain_state_with_retention)
{
    check_property(3, 3 * SEC, 30 * SEC);
    check_property(4, 0, 0);
}
END_TEST

START_TEST(test_all_equals_plain_state)
{
    const struct pp_config_window hop = {PP_CONFIG_WINDOW_HOPPING, 20 * SEC, 5 * SEC};
    struct wctx c;
    struct gen_post *posts;
    struct pp_query_state plain;
    size_t i;

    wctx_init(&c, &hop, 1, 2 * SEC, 10 * SEC);
    posts = gen_posts(&c.strings, N_GEN, 5, 2 * SEC);
    pp_query_init(&plain);
    for (i = 0; i < N_GEN; i++) {
        ck_assert_int_eq(pp_window_set_add(c.set, &posts[i].post, &c.strings, posts[i].t), PP_OK);
        ck_assert_int_eq(pp_query_add(&plain, &posts[i].post, &c.strings), PP_OK);
    }
    ck_assert_uint_gt(pp_window_set_late_posts(c.set), 0);
    ck_assert_uint_eq(all_posts(&c), N_GEN);
    expect_window_equals(c.set, 0, 0, &plain, &c.strings, "all");
    pp_query_cleanup(&plain);
    free(posts);
    wctx_cleanup(&c);
}
END_TEST

/* ---- panes ------------------------------------------------------------------------------ */

/* Posts added with their times, and a plain state per window to check
 * against: the reference is recomputed from the list. */
#define PANE_MAX 64

struct pane_log {
    struct pp_post posts[PANE_MAX];
    int64_t t[PANE_MAX];
    bool is_late[PANE_MAX];
    size_t n;
};

/* Adds a post with distinct values (category, user, follower count by
 * index) so that answers tell windows apart. */
static void pane_add_as(struct wctx *c, struct pane_log *log, int64_t t, bool is_late,
                        const char *user);

static void pane_add(struct wctx *c, struct pane_log *log, int64_t t, bool is_late)
{
    pane_add_as(c, log, t, is_late, NULL);
}

/* The same with the user (user_name) given: joined 2017, date_joined 1. */
static void pane_add_as(struct wctx *c, struct pane_log *log, int64_t t, bool is_late,
                        const char *user)
{
    static const char *const cats[] = {"art", "diy", "food", "travel"};
    static const char *const users[] = {"ann", "bob", "cy", "dee", "eve"};
    struct pp_post p = simple_post(c, cats[log->n % 4]);
    uint64_t late = 0;
    size_t k;

    ck_assert_uint_lt(log->n, PANE_MAX);
    p.poster_name = intern(&c->strings, users[log->n % 5]);
    p.has_follower_count = true;
    p.follower_count = (int64_t)(log->n * 7 % 11);
    p.has_age = true;
    p.age = 20 + (int64_t)(log->n % 3) * 15;
    p.user_name = intern(&c->strings, users[(log->n + 1) % 5]);
    p.has_date_joined = true;
    p.join_year = 2016 + (int32_t)(log->n % 3);
    p.date_joined = (int64_t)(log->n % 4);
    p.post_year = 2019;
    if (user != NULL) {
        p.user_name = intern(&c->strings, user);
        p.join_year = 2017;
        p.date_joined = 1;
    }
    ck_assert_int_eq(pp_window_set_add(c->set, &p, &c->strings, t), PP_OK);
    log->posts[log->n] = p;
    log->t[log->n] = t;
    log->is_late[log->n] = is_late;
    log->n++;
    for (k = 0; k < log->n; k++)
        late += log->is_late[k];
    ck_assert_uint_eq(pp_window_set_late_posts(c->set), late);
}

/* Window i of spec against a plain state of the logged on-time posts in
 * its bounds; also its bounds, posts and open flag. */
static void expect_pane_window(const struct wctx *c, const struct pane_log *log, size_t spec,
                               size_t i, int64_t start, int64_t end, bool is_open)
{
    struct pp_window_info info = info_of(c, spec, i);
    struct pp_query_state plain;
    uint64_t n_in = 0;
    size_t k;
    char where[64];

    ck_assert_int_eq(info.start_ms, start);
    ck_assert_int_eq(info.end_ms, end);
    ck_assert(info.is_open == is_open);
    pp_query_init(&plain);
    for (k = 0; k < log->n; k++) {
        if (!log->is_late[k] && log->t[k] >= start && log->t[k] < end) {
            ck_assert_int_eq(pp_query_add(&plain, &log->posts[k], &c->strings), PP_OK);
            n_in++;
        }
    }
    ck_assert_uint_eq(info.posts, n_in);
    snprintf(where, sizeof where, "window [%" PRId64 ", %" PRId64 ")", start, end);
    expect_window_equals(c->set, spec, i, &plain, &c->strings, where);
    pp_query_cleanup(&plain);
}

START_TEST(test_pane_boundaries)
{
    const struct pp_config_window hop = {PP_CONFIG_WINDOW_HOPPING, 30 * SEC, 10 * SEC};
    struct wctx c;
    struct pane_log log = {0};

    wctx_init(&c, &hop, 1, 10 * MIN, 0);
    /* Panes [0,10) [10,20) [20,30) [30,40), each edge on both sides. */
    pane_add(&c, &log, 0, false);
    pane_add(&c, &log, 10 * SEC - 1, false);
    pane_add(&c, &log, 10 * SEC, false);
    pane_add(&c, &log, 20 * SEC - 1, false);
    pane_add(&c, &log, 20 * SEC, false);
    pane_add(&c, &log, 30 * SEC - 1, false);
    pane_add(&c, &log, 30 * SEC, false);
    expect_windows(&c, 1, 6, STARTS(-20 * SEC, -10 * SEC, 0, 10 * SEC, 20 * SEC, 30 * SEC),
                   POSTS(2, 4, 6, 5, 3, 1));
    expect_pane_window(&c, &log, 1, 0, -20 * SEC, 10 * SEC, true);
    expect_pane_window(&c, &log, 1, 1, -10 * SEC, 20 * SEC, true);
    expect_pane_window(&c, &log, 1, 2, 0, 30 * SEC, true);
    expect_pane_window(&c, &log, 1, 3, 10 * SEC, 40 * SEC, true);
    expect_pane_window(&c, &log, 1, 4, 20 * SEC, 50 * SEC, true);
    expect_pane_window(&c, &log, 1, 5, 30 * SEC, 60 * SEC, true);
    /* A gap: a pane no post fell into leaves the windows around it whole,
     * and windows made only of empty panes are not listed. */
    pane_add(&c, &log, 75 * SEC, false);
    expect_windows(
        &c, 1, 9,
        STARTS(-20 * SEC, -10 * SEC, 0, 10 * SEC, 20 * SEC, 30 * SEC, 50 * SEC, 60 * SEC, 70 * SEC),
        POSTS(2, 4, 6, 5, 3, 1, 1, 1, 1));
    expect_pane_window(&c, &log, 1, 5, 30 * SEC, 60 * SEC, true);
    expect_pane_window(&c, &log, 1, 6, 50 * SEC, 80 * SEC, true);
    wctx_cleanup(&c);
}
END_TEST

START_TEST(test_pane_retention)
{
    const struct pp_config_window hop = {PP_CONFIG_WINDOW_HOPPING, 30 * SEC, 10 * SEC};
    struct wctx c;
    struct pane_log log = {0};
    size_t i;

    /* Lateness 0, retention 25s. */
    wctx_init(&c, &hop, 1, 0, 25 * SEC);
    pane_add(&c, &log, 5 * SEC, false);
    pane_add(&c, &log, 15 * SEC, false);
    pane_add(&c, &log, 25 * SEC, false);
    expect_windows(&c, 1, 5, STARTS(-20 * SEC, -10 * SEC, 0, 10 * SEC, 20 * SEC),
                   POSTS(1, 2, 3, 2, 1));
    /* Watermark 32s: [-20,10) [-10,20) [0,30) closed, their answers kept;
     * pane [0,10) is in closed windows only, [10,20) and [20,30) are
     * still needed by the open [10,40) and [20,50). */
    pane_add(&c, &log, 32 * SEC, false);
    expect_windows(&c, 1, 6, STARTS(-20 * SEC, -10 * SEC, 0, 10 * SEC, 20 * SEC, 30 * SEC),
                   POSTS(1, 2, 3, 3, 2, 1));
    expect_pane_window(&c, &log, 1, 0, -20 * SEC, 10 * SEC, false);
    expect_pane_window(&c, &log, 1, 1, -10 * SEC, 20 * SEC, false);
    expect_pane_window(&c, &log, 1, 2, 0, 30 * SEC, false);
    expect_pane_window(&c, &log, 1, 3, 10 * SEC, 40 * SEC, true);
    expect_pane_window(&c, &log, 1, 4, 20 * SEC, 50 * SEC, true);
    expect_pane_window(&c, &log, 1, 5, 30 * SEC, 60 * SEC, true);
    /* Watermark 47s: [-20,10) and [-10,20) are past retention (10 + 25 <=
     * 47, 20 + 25 <= 47); [0,30) and [10,40) are closed and kept, and
     * read twice give the same answers; pane [10,20) is gone, the open
     * [20,50) still has its panes. */
    pane_add(&c, &log, 47 * SEC, false);
    expect_windows(&c, 1, 5, STARTS(0, 10 * SEC, 20 * SEC, 30 * SEC, 40 * SEC),
                   POSTS(3, 3, 3, 2, 1));
    for (i = 0; i < 2; i++) {
        expect_pane_window(&c, &log, 1, 0, 0, 30 * SEC, false);
        expect_pane_window(&c, &log, 1, 1, 10 * SEC, 40 * SEC, false);
    }
    expect_pane_window(&c, &log, 1, 2, 20 * SEC, 50 * SEC, true);
    expect_pane_window(&c, &log, 1, 3, 30 * SEC, 60 * SEC, true);
    expect_pane_window(&c, &log, 1, 4, 40 * SEC, 70 * SEC, true);
    /* Far ahead: everything before is past retention. */
    pane_add(&c, &log, 10 * MIN, false);
    expect_windows(&c, 1, 3, STARTS(10 * MIN - 20 * SEC, 10 * MIN - 10 * SEC, 10 * MIN),
                   POSTS(1, 1, 1));
    expect_pane_window(&c, &log, 1, 0, 10 * MIN - 20 * SEC, 10 * MIN + 10 * SEC, true);
    wctx_cleanup(&c);
}
END_TEST

START_TEST(test_pane_late_post)
{
    const struct pp_config_window specs[] = {{PP_CONFIG_WINDOW_HOPPING, 30 * SEC, 10 * SEC},
                                             {PP_CONFIG_WINDOW_TUMBLING, 10 * SEC, 10 * SEC}};
    struct wctx c;
    struct pane_log log = {0};

    wctx_init(&c, specs, 2, 2 * SEC, MIN);
    pane_add(&c, &log, 15 * SEC, false);
    pane_add(&c, &log, 25 * SEC, false); /* watermark 23s */
    /* 19s is late: pane [10,20) still exists for the open [0,30) and
     * [10,40), but the post must not reach it (nor the tumbling window). */
    pane_add(&c, &log, 19 * SEC, true);
    /* 23s (the watermark) is on time. */
    pane_add(&c, &log, 23 * SEC, false);
    expect_windows(&c, 1, 4, STARTS(-10 * SEC, 0, 10 * SEC, 20 * SEC), POSTS(1, 3, 3, 2));
    expect_pane_window(&c, &log, 1, 0, -10 * SEC, 20 * SEC, false);
    expect_pane_window(&c, &log, 1, 1, 0, 30 * SEC, true);
    expect_pane_window(&c, &log, 1, 2, 10 * SEC, 40 * SEC, true);
    expect_pane_window(&c, &log, 1, 3, 20 * SEC, 50 * SEC, true);
    expect_windows(&c, 2, 2, STARTS(10 * SEC, 20 * SEC), POSTS(1, 2));
    ck_assert_uint_eq(all_posts(&c), 4);
    wctx_cleanup(&c);
}
END_TEST

START_TEST(test_pane_users_out_of_order)
{
    const struct pp_config_window hop = {PP_CONFIG_WINDOW_HOPPING, 30 * SEC, 10 * SEC};
    struct wctx c;
    struct pane_log log = {0};
    size_t i;

    /* Distinct users over panes: "u" in panes [0,10) and [20,30), then, out
     * of order but on time, in [10,20) between them: [10,40) and [0,30)
     * must count "u" once. "v" first in a later pane, then in an earlier
     * one; "w" only in panes 3 slides apart (no window holds both). */
    wctx_init(&c, &hop, 1, 30 * SEC, MIN);
    pane_add_as(&c, &log, 5 * SEC, false, "u");
    pane_add_as(&c, &log, 25 * SEC, false, "u");
    pane_add_as(&c, &log, 28 * SEC, false, "v");
    pane_add_as(&c, &log, 15 * SEC, false, "u");
    pane_add_as(&c, &log, 12 * SEC, false, "v");
    pane_add_as(&c, &log, 1 * SEC, false, "v");
    pane_add_as(&c, &log, 2 * SEC, false, "w");
    pane_add_as(&c, &log, 33 * SEC, false, "w");
    pane_add_as(&c, &log, 24 * SEC, false, "u");
    ck_assert_uint_eq(pp_window_set_count(c.set, 1), 6);
    for (i = 0; i < 6; i++) {
        struct pp_window_info info = info_of(&c, 1, i);
        expect_pane_window(&c, &log, 1, i, info.start_ms, info.end_ms, true);
    }
    /* Closing the windows keeps the same answers. */
    pane_add_as(&c, &log, 95 * SEC, false, "u");
    for (i = 0; i < 4; i++) {
        struct pp_window_info info = info_of(&c, 1, i);
        expect_pane_window(&c, &log, 1, i, info.start_ms, info.end_ms, false);
    }
    wctx_cleanup(&c);
}
END_TEST

/* ---- shards ------------------------------------------------------------------------------ */

START_TEST(test_advance_moves_the_clock_only)
{
    const struct pp_config_window specs[] = {{PP_CONFIG_WINDOW_TUMBLING, 10 * SEC, 10 * SEC},
                                             {PP_CONFIG_WINDOW_HOPPING, 20 * SEC, 10 * SEC}};
    struct wctx c;

    wctx_init(&c, specs, 2, 2 * SEC, 15 * SEC);
    ck_assert_int_eq(pp_window_set_max_time(c.set), INT64_MIN);
    /* Invalid times are ignored, as a post's would be (it would be late). */
    ck_assert_int_eq(pp_window_set_advance(c.set, -1), PP_OK);
    ck_assert_int_eq(pp_window_set_advance(c.set, INT64_MAX), PP_OK);
    ck_assert_int_eq(pp_window_set_max_time(c.set), INT64_MIN);
    ck_assert_int_eq(pp_window_set_watermark(c.set), INT64_MIN);
    add_at(&c, 5 * SEC);
    ck_assert_int_eq(pp_window_set_max_time(c.set), 5 * SEC);
    /* 12s: watermark 10s closes [0,10) (and the hopping [-10,10)); nothing
     * is counted. */
    ck_assert_int_eq(pp_window_set_advance(c.set, 12 * SEC), PP_OK);
    ck_assert_int_eq(pp_window_set_max_time(c.set), 12 * SEC);
    ck_assert_int_eq(pp_window_set_watermark(c.set), 10 * SEC);
    expect_windows(&c, 1, 1, STARTS(0), POSTS(1));
    ck_assert(!info_of(&c, 1, 0).is_open);
    expect_windows(&c, 2, 2, STARTS(-10 * SEC, 0), POSTS(1, 1));
    ck_assert(!info_of(&c, 2, 0).is_open);
    ck_assert(info_of(&c, 2, 1).is_open);
    ck_assert_uint_eq(all_posts(&c), 1);
    ck_assert_uint_eq(pp_window_set_late_posts(c.set), 0);
    /* Backwards does nothing; a post behind the new watermark is late. */
    ck_assert_int_eq(pp_window_set_advance(c.set, 3 * SEC), PP_OK);
    ck_assert_int_eq(pp_window_set_watermark(c.set), 10 * SEC);
    add_at(&c, 9 * SEC);
    ck_assert_uint_eq(pp_window_set_late_posts(c.set), 1);
    /* Retention: [0,10) goes once watermark >= 25s, [-10,10) too. */
    ck_assert_int_eq(pp_window_set_advance(c.set, 27 * SEC), PP_OK);
    ck_assert_uint_eq(pp_window_set_count(c.set, 1), 0);
    expect_windows(&c, 2, 1, STARTS(0), POSTS(1));
    ck_assert(!info_of(&c, 2, 0).is_open);
    wctx_cleanup(&c);
}
END_TEST

#define SHARDS_MAX 4

struct shard {
    struct pp_intern strings;
    struct pp_window_set *set;
};

static const struct pp_config_window shard_specs[] = {
    {PP_CONFIG_WINDOW_TUMBLING, 7 * SEC, 7 * SEC},  {PP_CONFIG_WINDOW_HOPPING, 20 * SEC, 5 * SEC},
    {PP_CONFIG_WINDOW_TUMBLING, MIN, MIN},          {PP_CONFIG_WINDOW_HOPPING, 3 * SEC, 1 * SEC},
    {PP_CONFIG_WINDOW_HOPPING, 10 * SEC, 10 * SEC},
};
#define N_SHARD_SPECS (sizeof shard_specs / sizeof shard_specs[0])

/* A shard whose strings get ids in an order of its own: a few texts the
 * generator uses (and one it does not) interned first, by shard. */
static void shard_init(struct shard *sh, size_t j, int64_t lateness_ms, int64_t retention_ms)
{
    static const char *const first[] = {"Yemen", "travel", "fay", "not a post's", "art", "Chad"};
    size_t i;

    pp_intern_init(&sh->strings);
    for (i = 0; i < j + 1 && i < sizeof first / sizeof first[0]; i++)
        intern(&sh->strings, first[(i + 2 * j) % (sizeof first / sizeof first[0])]);
    sh->set = pp_window_set_new(shard_specs, N_SHARD_SPECS, lateness_ms, retention_ms);
    ck_assert_ptr_nonnull(sh->set);
}

static void shard_cleanup(struct shard *sh)
{
    pp_window_set_destroy(sh->set);
    pp_intern_cleanup(&sh->strings);
}

/* Saves each shard (strings, then windows, as a checkpoint does) and
 * loads it back into a fresh shard in the same place. */
static void shards_reload(struct shard *shards, size_t k, int64_t lateness_ms, int64_t retention_ms)
{
    size_t j;

    for (j = 0; j < k; j++) {
        struct pp_buf buf;

        set_save(&shards[j].strings, shards[j].set, &buf);
        shard_cleanup(&shards[j]);
        pp_intern_init(&shards[j].strings);
        shards[j].set = pp_window_set_new(shard_specs, N_SHARD_SPECS, lateness_ms, retention_ms);
        ck_assert_ptr_nonnull(shards[j].set);
        ck_assert_int_eq(set_load(&shards[j].strings, shards[j].set, &buf), PP_OK);
        pp_buf_cleanup(&buf);
    }
}

/* The text cells of table point into strings (an age group may point at
 * its constant name). */
static void expect_text_in(const struct pp_table *table, struct pp_intern *strings,
                           const char *where)
{
    size_t r, k;
    uint32_t id;

    for (r = 0; r < table->n_rows; r++) {
        for (k = 0; k < table->n_cols; k++) {
            const struct pp_cell *cell = &table->cells[r * table->n_cols + k];
            if (cell->type != PP_CELL_TEXT || strcmp(table->columns[k], "age_group") == 0)
                continue;
            ck_assert_int_eq(pp_intern_id(strings, cell->text, &id), PP_OK);
            ck_assert_msg(pp_intern_str(strings, id).ptr == cell->text.ptr,
                          "%s %s: row %zu column %zu points elsewhere", where, table->name, r, k);
        }
    }
}

/*
 * Everything a reader sees of the k shards equals the single set: per
 * spec the windows (start, end, open, posts) and every query's table of
 * each, read into a table of strings of the reader's own; the late posts
 * add up. The shards are first advanced to the single set's time, as the
 * member does before reading.
 */
static void expect_shards_equal(const struct wctx *c, struct shard *shards, size_t k,
                                const char *when)
{
    struct pp_window_shard view[SHARDS_MAX];
    struct pp_query_state merged;
    struct pp_intern reader;
    uint64_t late = 0;
    size_t s, i, j;
    int id;

    pp_intern_init(&reader);
    intern(&reader, "reader's own first string");
    for (j = 0; j < k; j++) {
        ck_assert_int_eq(pp_window_set_advance(shards[j].set, pp_window_set_max_time(c->set)),
                         PP_OK);
        ck_assert_int_eq(pp_window_set_watermark(shards[j].set), pp_window_set_watermark(c->set));
        late += pp_window_set_late_posts(shards[j].set);
        view[j] = (struct pp_window_shard){shards[j].set, &shards[j].strings};
    }
    ck_assert_uint_eq(late, pp_window_set_late_posts(c->set));
    for (s = 0; s < pp_window_set_spec_count(c->set); s++) {
        struct pp_window_info *infos;
        size_t count;

        ck_assert_int_eq(pp_window_shards_list(view, k, s, &infos, &count), PP_OK);
        ck_assert_msg(count == pp_window_set_count(c->set, s), "%s spec %zu: %zu windows, want %zu",
                      when, s, count, pp_window_set_count(c->set, s));
        ck_assert(count > 0 || infos == NULL);
        for (i = 0; i < count; i++) {
            struct pp_window_info want = info_of(c, s, i);
            char where[96];

            snprintf(where, sizeof where, "%s spec %zu window %zu", when, s, i);
            ck_assert_msg(infos[i].start_ms == want.start_ms && infos[i].end_ms == want.end_ms &&
                              infos[i].is_open == want.is_open && infos[i].posts == want.posts,
                          "%s: [%" PRId64 ", %" PRId64 ") open %d posts %" PRIu64 ", want [%" PRId64
                          ", %" PRId64 ") open %d posts %" PRIu64,
                          where, infos[i].start_ms, infos[i].end_ms, infos[i].is_open,
                          infos[i].posts, want.start_ms, want.end_ms, want.is_open, want.posts);
            /* The whole window merged answers every query alike. */
            pp_query_init(&merged);
            ck_assert_int_eq(pp_window_shards_merge(view, k, s, want.start_ms, &reader, &merged),
                             PP_OK);
            for (id = 0; id < PP_QUERY_COUNT; id++) {
                struct pp_table got, table, whole;

                ck_assert_int_eq(pp_window_shards_result(view, k, s, want.start_ms,
                                                         (enum pp_query_id)id, &reader, &got),
                                 PP_OK);
                ck_assert_int_eq(
                    pp_window_set_result(c->set, s, i, &c->strings, (enum pp_query_id)id, &table),
                    PP_OK);
                ck_assert_int_eq(pp_query_result(&merged, &reader, (enum pp_query_id)id, &whole),
                                 PP_OK);
                pp_check_tables_equal(&got, &table, where);
                pp_check_tables_equal(&whole, &table, where);
                expect_text_in(&got, &reader, where);
                expect_text_in(&whole, &reader, where);
                pp_table_cleanup(&got);
                pp_table_cleanup(&table);
                pp_table_cleanup(&whole);
            }
            pp_query_cleanup(&merged);
        }
        free(infos);
    }
    {
        struct pp_table t;
        struct pp_query_state none;
        ck_assert_int_eq(
            pp_window_shards_result(view, k, 1, 3, PP_QUERY_CATEGORY_BY_COUNTRY, &reader, &t),
            PP_ERR_NOTFOUND);
        pp_query_init(&none);
        ck_assert_int_eq(pp_window_shards_merge(view, k, 1, 3, &reader, &none), PP_ERR_NOTFOUND);
        pp_query_cleanup(&none);
    }
    pp_intern_cleanup(&reader);
}

/*
 * The property per-partition state rests on: the posts of one stream split
 * by a key into k shard sets, each with its own strings and advanced to
 * the single set's largest post time before each post it takes, answer, by
 * pp_window_shards_list() and pp_window_shards_result(), exactly as one set
 * fed every post; also after the shards are saved and loaded midway.
 */
static void check_shards(uint64_t seed, size_t k, int64_t lateness_ms, int64_t retention_ms)
{
    struct shard shards[SHARDS_MAX];
    struct wctx c;
    struct gen_post *posts;
    uint64_t rng = seed * 977 + k;
    size_t i, j;
    char when[64];

    ck_assert_uint_le(k, SHARDS_MAX);
    wctx_init(&c, shard_specs, N_SHARD_SPECS, lateness_ms, retention_ms);
    for (j = 0; j < k; j++)
        shard_init(&shards[j], j, lateness_ms, retention_ms);
    posts = gen_posts(&c.strings, N_GEN, seed, lateness_ms);
    for (i = 0; i < N_GEN; i++) {
        struct pp_post p;

        /* A post without a usable time now and then. */
        if (rng_range(&rng, 0, 49) == 0)
            posts[i].t = -1;
        /* The key: the user, as if users were partitioned, but 1 in 4 at
         * random so that a user's posts also land on several shards. */
        j = rng_range(&rng, 0, 3) == 0 ? (size_t)rng_range(&rng, 0, (int64_t)k - 1)
                                       : posts[i].post.user_name % k;
        ck_assert_int_eq(pp_window_set_advance(shards[j].set, pp_window_set_max_time(c.set)),
                         PP_OK);
        p = pp_check_post_into(&posts[i].post, &c.strings, &shards[j].strings);
        ck_assert_int_eq(pp_window_set_add(shards[j].set, &p, &shards[j].strings, posts[i].t),
                         PP_OK);
        ck_assert_int_eq(pp_window_set_add(c.set, &posts[i].post, &c.strings, posts[i].t), PP_OK);
        if (i == N_GEN / 3 || i == N_GEN / 2) {
            snprintf(when, sizeof when, "seed %llu, %zu shards, after %zu posts",
                     (unsigned long long)seed, k, i + 1);
            expect_shards_equal(&c, shards, k, when);
        }
        if (i == N_GEN / 2) {
            shards_reload(shards, k, lateness_ms, retention_ms);
            snprintf(when, sizeof when, "seed %llu, %zu shards, reloaded", (unsigned long long)seed,
                     k);
            expect_shards_equal(&c, shards, k, when);
        }
    }
    ck_assert_uint_gt(pp_window_set_late_posts(c.set), 0);
    snprintf(when, sizeof when, "seed %llu, %zu shards, at the end", (unsigned long long)seed, k);
    expect_shards_equal(&c, shards, k, when);
    free(posts);
    for (j = 0; j < k; j++)
        shard_cleanup(&shards[j]);
    wctx_cleanup(&c);
}

START_TEST(test_shards_equal_one_set)
{
    check_shards(11, 1, 3 * SEC, 30 * SEC);
    check_shards(12, 2, 3 * SEC, 30 * SEC);
    check_shards(13, 3, 2 * SEC, 10 * SEC);
    check_shards(14, 4, 0, 0);
    check_shards(15, 3, 5 * SEC, INT64_MAX);
}
END_TEST

/* ---- spec text ------------------------------------------------------------------------ */

static struct pp_config_window parse_ok(const char *text)
{
    struct pp_config_window w;

    memset(&w, 0x5a, sizeof w);
    ck_assert_msg(pp_config_window_parse(text, strlen(text), &w, NULL) == PP_OK, "'%s' rejected",
                  text);
    return w;
}

static void expect_format(const struct pp_config_window *w, const char *want)
{
    char out[PP_CONFIG_WINDOW_TEXT_MAX];
    size_t len = pp_config_window_format(w, out, sizeof out);

    ck_assert_str_eq(out, want);
    ck_assert_uint_eq(len, strlen(want));
}

START_TEST(test_spec_parse_and_format)
{
    static const char *const canonical[] = {
        "all",          "tumbling:5m",   "hopping:1h/5m",
        "tumbling:30s", "tumbling:1d",   "tumbling:1500ms",
        "tumbling:90s", "hopping:1d/1h", "hopping:10s/10s",
        "tumbling:25h", "hopping:3s/1s", "tumbling:9223372036854775807ms",
    };
    static const struct {
        const char *text;
        const char *canonical;
    } aliases[] = {
        {"tumbling:60s", "tumbling:1m"},       {"tumbling:60000ms", "tumbling:1m"},
        {"hopping:60m/300s", "hopping:1h/5m"}, {"tumbling:24h", "tumbling:1d"},
        {"tumbling:007s", "tumbling:7s"},
    };
    struct pp_config_window w;
    char small[8];
    size_t i;

    w = parse_ok("all");
    ck_assert_int_eq(w.kind, PP_CONFIG_WINDOW_ALL);
    ck_assert_int_eq(w.size_ms, 0);
    ck_assert_int_eq(w.slide_ms, 0);
    w = parse_ok("tumbling:5m");
    ck_assert_int_eq(w.kind, PP_CONFIG_WINDOW_TUMBLING);
    ck_assert_int_eq(w.size_ms, 5 * MIN);
    ck_assert_int_eq(w.slide_ms, 5 * MIN);
    w = parse_ok("hopping:1h/5m");
    ck_assert_int_eq(w.kind, PP_CONFIG_WINDOW_HOPPING);
    ck_assert_int_eq(w.size_ms, 60 * MIN);
    ck_assert_int_eq(w.slide_ms, 5 * MIN);

    for (i = 0; i < sizeof canonical / sizeof canonical[0]; i++) {
        struct pp_config_window again;
        char out[PP_CONFIG_WINDOW_TEXT_MAX];

        w = parse_ok(canonical[i]);
        expect_format(&w, canonical[i]);
        pp_config_window_format(&w, out, sizeof out);
        again = parse_ok(out);
        ck_assert(again.kind == w.kind && again.size_ms == w.size_ms &&
                  again.slide_ms == w.slide_ms);
    }
    for (i = 0; i < sizeof aliases / sizeof aliases[0]; i++) {
        w = parse_ok(aliases[i].text);
        expect_format(&w, aliases[i].canonical);
    }

    /* The text need not be NUL-terminated: only len bytes are read. */
    ck_assert_int_eq(pp_config_window_parse("tumbling:5mXYZ", 11, &w, NULL), PP_OK);
    ck_assert_int_eq(w.size_ms, 5 * MIN);

    /* Truncated like snprintf: the full length is returned. */
    w = parse_ok("hopping:1h/5m");
    ck_assert_uint_eq(pp_config_window_format(&w, small, sizeof small), 13);
    ck_assert_str_eq(small, "hopping");
}
END_TEST

START_TEST(test_spec_parse_errors)
{
    static const char *const bad[] = {
        "",
        "ALL",
        "all ",
        " all",
        "al",
        "tumbling",
        "tumbling:",
        "tumbling:5",
        "tumbling:m",
        "tumbling:0s",
        "tumbling:-5s",
        "tumbling:+5s",
        "tumbling:5 m",
        "tumbling: 5m",
        "tumbling:5M",
        "tumbling:5w",
        "tumbling:1.5s",
        "tumbling:5m/5m",
        "tumbling:99999999999999999999ms",
        "tumbling:9223372036854775807s",
        "hopping:5m",
        "hopping:5m/",
        "hopping:/5m",
        "hopping:5m/10m", /* slide > size */
        "hopping:10m/3m", /* size not a multiple of the slide */
        "hopping:1h/0m",
        "hopping:1h/5m/5m",
        "all,tumbling:5m",
        "sliding:5m",
        "tumbling:5mall",
    };
    struct pp_config_window w = {PP_CONFIG_WINDOW_HOPPING, 123, 7};
    size_t i;

    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_msg(pp_config_window_parse(bad[i], strlen(bad[i]), &w, NULL) == PP_ERR_INVALID,
                      "'%s' accepted", bad[i]);
        /* Untouched on error. */
        ck_assert(w.kind == PP_CONFIG_WINDOW_HOPPING && w.size_ms == 123 && w.slide_ms == 7);
    }
}
END_TEST

static Suite *window_suite(void)
{
    Suite *s = suite_create("window");

    PP_CHECK_TCASE(s, test_tumbling_boundaries);
    PP_CHECK_TCASE(s, test_hopping_membership);
    PP_CHECK_TCASE(s, test_all_window);
    PP_CHECK_TCASE(s, test_specs_deduplicated);
    PP_CHECK_TCASE(s, test_watermark_and_lateness);
    PP_CHECK_TCASE(s, test_window_closes_and_stays_final);
    PP_CHECK_TCASE(s, test_late_posts_count_in_all_only);
    PP_CHECK_TCASE(s, test_closed_window_frozen);
    PP_CHECK_TCASE(s, test_load_checks_text_ids);
    PP_CHECK_TCASE(s, test_load_checks_bounds);
    PP_CHECK_TCASE(s, test_out_of_order_within_lateness);
    PP_CHECK_TCASE(s, test_retention_frees_closed_windows);
    PP_CHECK_TCASE(s, test_docs_example);
    PP_CHECK_TCASE(s, test_windows_equal_plain_state);
    PP_CHECK_TCASE(s, test_windows_equal_plain_state_with_retention);
    PP_CHECK_TCASE(s, test_all_equals_plain_state);
    PP_CHECK_TCASE(s, test_pane_boundaries);
    PP_CHECK_TCASE(s, test_pane_retention);
    PP_CHECK_TCASE(s, test_pane_late_post);
    PP_CHECK_TCASE(s, test_pane_users_out_of_order);
    PP_CHECK_TCASE(s, test_advance_moves_the_clock_only);
    PP_CHECK_TCASE(s, test_shards_equal_one_set);
    PP_CHECK_TCASE(s, test_spec_parse_and_format);
    PP_CHECK_TCASE(s, test_spec_parse_errors);
    return s;
}

PP_CHECK_MAIN(window_suite)
