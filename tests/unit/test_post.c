/*
 * Unit tests of pp_post: deduplication per topic, reject and duplicate
 * counters, and the join of pin, geo and user into posts.
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

/* ---- helpers -------------------------------------------------------------------- */

static void add(struct pp_post_table *t, struct pp_clean_item it)
{
    pp_post_table_prefetch(t, &it);
    ck_assert_int_eq(pp_post_table_add(t, &it), PP_OK);
}

/* The post of ind (NULL when absent). */
static const struct pp_post *find_post(const struct pp_post_table *t, int64_t ind)
{
    size_t i;

    for (i = 0; i < t->cap; i++)
        if (t->posts[i].parts && t->posts[i].ind == ind)
            return &t->posts[i];
    return NULL;
}

static void expect_interned(const struct pp_post_table *t, uint32_t id, const char *want)
{
    if (want == NULL) {
        ck_assert_uint_eq(id, 0);
        return;
    }
    ck_assert_uint_ne(id, 0);
    ck_assert_msg(pp_str_eq_cstr(pp_intern_str(&t->strings, id), want), "id %u is not \"%s\"", id,
                  want);
}

/* ---- tests --------------------------------------------------------------------------- */

START_TEST(test_first_record_wins)
{
    struct pp_post_table t;
    const struct pp_post *p;

    pp_post_table_init(&t);
    add(&t, pin_item(1, 0, "art", "P1", true, 10));
    add(&t, pin_item(1, 0, "travel", "P2", true, 20));
    add(&t, pin_item(1, 0, NULL, NULL, false, 0));
    add(&t, geo_item(1, 0, "Chad", true, text_time("2019-05-06 07:08:09")));
    add(&t, geo_item(1, 0, "Peru", true, text_time("2020-05-06 07:08:09")));
    add(&t, user_item(1, 0, "Ann Lee", true, 30, true, text_time("2016-01-02 03:04:05")));
    add(&t, user_item(1, 0, "Bob Roe", true, 60, true, text_time("2017-01-02 03:04:05")));
    p = find_post(&t, 1);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(p->parts, PP_POST_ALL_PARTS);
    expect_interned(&t, p->category, "art");
    expect_interned(&t, p->poster_name, "P1");
    ck_assert(p->has_follower_count);
    ck_assert(p->follower_count == 10);
    expect_interned(&t, p->country, "Chad");
    ck_assert_int_eq(p->post_year, 2019);
    expect_interned(&t, p->user_name, "Ann Lee");
    ck_assert(p->age == 30);
    ck_assert_int_eq(p->join_year, 2016);
    ck_assert_uint_eq(t.n_posts, 1);
    pp_post_table_cleanup(&t);
}
END_TEST

START_TEST(test_duplicates_counted_per_topic)
{
    struct pp_post_table t;

    pp_post_table_init(&t);
    add(&t, pin_item(1, 0, "a", "p", true, 1));
    add(&t, pin_item(1, 0, "a", "p", true, 1));
    add(&t, pin_item(1, 0, "b", "p", true, 1));
    add(&t, geo_item(1, 0, "X", false, 0));
    add(&t, user_item(2, 0, "U", false, 0, false, 0));
    add(&t, user_item(2, 0, "V", false, 0, false, 0));
    /* The same key in another topic is not a duplicate. */
    add(&t, geo_item(2, 0, "Y", false, 0));
    add(&t, pin_item(2, 0, "c", "q", false, 0));
    ck_assert_uint_eq(t.counts.duplicates[PP_TOPIC_PIN], 2);
    ck_assert_uint_eq(t.counts.duplicates[PP_TOPIC_GEO], 0);
    ck_assert_uint_eq(t.counts.duplicates[PP_TOPIC_USER], 1);
    ck_assert_uint_eq(t.counts.records[PP_TOPIC_PIN], 4);
    ck_assert_uint_eq(t.counts.records[PP_TOPIC_GEO], 2);
    ck_assert_uint_eq(t.counts.records[PP_TOPIC_USER], 2);
    ck_assert_uint_eq(t.n_posts, 2);
    pp_post_table_cleanup(&t);
}
END_TEST

START_TEST(test_rejects_counted)
{
    struct pp_post_table t;
    int topic;
    int reason;

    pp_post_table_init(&t);
    add(&t, reject_item(PP_TOPIC_PIN, 0, PP_REJECT_INVALID_JSON));
    add(&t, reject_item(PP_TOPIC_PIN, 0, PP_REJECT_INVALID_JSON));
    add(&t, reject_item(PP_TOPIC_PIN, 0, PP_REJECT_TOO_LARGE));
    add(&t, reject_item(PP_TOPIC_GEO, 0, PP_REJECT_NOT_OBJECT));
    add(&t, reject_item(PP_TOPIC_USER, 0, PP_REJECT_MISSING_KEY));
    add(&t, reject_item(PP_TOPIC_USER, 0, PP_REJECT_MISSING_KEY));
    add(&t, reject_item(PP_TOPIC_USER, 0, PP_REJECT_MISSING_KEY));
    add(&t, reject_item(PP_TOPIC_USER, 0, PP_REJECT_BAD_KEY));
    add(&t, reject_item(PP_TOPIC_GEO, 0, PP_REJECT_INVALID_UTF8));
    for (topic = 0; topic < PP_TOPIC_COUNT; topic++) {
        for (reason = 0; reason < PP_REJECT_COUNT; reason++) {
            uint64_t want = 0;
            if (topic == PP_TOPIC_PIN && reason == PP_REJECT_INVALID_JSON)
                want = 2;
            else if (topic == PP_TOPIC_PIN && reason == PP_REJECT_TOO_LARGE)
                want = 1;
            else if (topic == PP_TOPIC_GEO &&
                     (reason == PP_REJECT_NOT_OBJECT || reason == PP_REJECT_INVALID_UTF8))
                want = 1;
            else if (topic == PP_TOPIC_USER && reason == PP_REJECT_MISSING_KEY)
                want = 3;
            else if (topic == PP_TOPIC_USER && reason == PP_REJECT_BAD_KEY)
                want = 1;
            ck_assert_msg(t.counts.rejected[topic][reason] == want, "topic %d reason %s: %ju",
                          topic, pp_reject_name((enum pp_reject)reason),
                          (uintmax_t)t.counts.rejected[topic][reason]);
        }
        ck_assert_uint_eq(t.counts.duplicates[topic], 0);
    }
    /* Every record read is counted, valid or not. */
    ck_assert_uint_eq(t.counts.records[PP_TOPIC_PIN], 3);
    ck_assert_uint_eq(t.counts.records[PP_TOPIC_GEO], 2);
    ck_assert_uint_eq(t.counts.records[PP_TOPIC_USER], 4);
    ck_assert_uint_eq(t.n_posts, 0);
    pp_post_table_cleanup(&t);
}
END_TEST

START_TEST(test_reject_does_not_claim_key)
{
    struct pp_post_table t;
    struct pp_clean_item bad = reject_item(PP_TOPIC_PIN, 0, PP_REJECT_BAD_KEY);
    const struct pp_post *p;

    pp_post_table_init(&t);
    /* A rejected record that happens to carry ind 5 in its (unspecified)
     * record is still not stored. */
    bad.rec.ind = 5;
    add(&t, bad);
    add(&t, pin_item(5, 0, "good", "p", true, 3));
    p = find_post(&t, 5);
    ck_assert_ptr_nonnull(p);
    expect_interned(&t, p->category, "good");
    ck_assert_uint_eq(t.counts.duplicates[PP_TOPIC_PIN], 0);
    ck_assert_uint_eq(t.counts.records[PP_TOPIC_PIN], 2);
    ck_assert_uint_eq(t.counts.rejected[PP_TOPIC_PIN][PP_REJECT_BAD_KEY], 1);
    pp_post_table_cleanup(&t);
}
END_TEST

START_TEST(test_join_counts_and_orphans)
{
    struct pp_post_table t;
    uint64_t posts = 99;
    uint64_t orphans[PP_TOPIC_COUNT] = {9, 9, 9};

    pp_post_table_init(&t);
    pp_post_table_join_counts(&t, &posts, orphans);
    ck_assert_uint_eq(posts, 0);
    ck_assert_uint_eq(orphans[0] + orphans[1] + orphans[2], 0);

    /* 1: all three; 2: pin + geo; 3: user only; 4: all three, user
     * first; 5: geo only. */
    add(&t, pin_item(1, 0, "a", "p", true, 1));
    add(&t, geo_item(1, 0, "X", false, 0));
    add(&t, user_item(1, 0, "U", false, 0, false, 0));
    add(&t, pin_item(2, 0, "a", "p", true, 1));
    add(&t, geo_item(2, 0, "X", false, 0));
    add(&t, user_item(3, 0, "U", false, 0, false, 0));
    add(&t, user_item(4, 0, "U", false, 0, false, 0));
    add(&t, geo_item(4, 0, "X", false, 0));
    add(&t, pin_item(4, 0, "a", "p", true, 1));
    add(&t, geo_item(5, 0, "X", false, 0));
    /* Duplicates and rejects change nothing. */
    add(&t, pin_item(2, 0, "b", "q", true, 2));
    add(&t, geo_item(5, 0, "Y", false, 0));
    add(&t, reject_item(PP_TOPIC_USER, 0, PP_REJECT_INVALID_JSON));
    pp_post_table_join_counts(&t, &posts, orphans);
    ck_assert_uint_eq(posts, 2);
    ck_assert_uint_eq(orphans[PP_TOPIC_PIN], 1);
    ck_assert_uint_eq(orphans[PP_TOPIC_GEO], 2);
    ck_assert_uint_eq(orphans[PP_TOPIC_USER], 1);
    ck_assert_uint_eq(t.n_posts, 5);
    ck_assert_uint_eq(find_post(&t, 2)->parts, (1u << PP_TOPIC_PIN) | (1u << PP_TOPIC_GEO));
    ck_assert_uint_eq(find_post(&t, 3)->parts, 1u << PP_TOPIC_USER);
    ck_assert_uint_eq(find_post(&t, 4)->parts, PP_POST_ALL_PARTS);
    pp_post_table_cleanup(&t);
    pp_post_table_cleanup(NULL);
}
END_TEST

START_TEST(test_stored_fields)
{
    struct pp_post_table t;
    const struct pp_post *p;
    const struct pp_post *q;

    pp_post_table_init(&t);
    add(&t, pin_item(7, 0, "art", NULL, false, 0));
    add(&t, geo_item(7, 0, NULL, true, text_time("2019-01-01 00:30:00+01:00")));
    add(&t, user_item(7, 0, NULL, false, 0, true, text_time("2015-01-01 00:00:00-00:30")));
    add(&t, pin_item(8, 0, "art", "Poster", true, -4));
    add(&t, geo_item(8, 0, "art", false, 0));
    add(&t, user_item(8, 0, "Ann", true, 17, false, 0));
    p = find_post(&t, 7);
    q = find_post(&t, 8);
    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_nonnull(q);
    /* Null text is id 0; equal text is one id, across columns too. */
    expect_interned(&t, p->category, "art");
    expect_interned(&t, p->poster_name, NULL);
    expect_interned(&t, p->country, NULL);
    expect_interned(&t, p->user_name, NULL);
    ck_assert_uint_eq(p->category, q->category);
    ck_assert_uint_eq(q->country, q->category);
    expect_interned(&t, q->poster_name, "Poster");
    expect_interned(&t, q->user_name, "Ann");
    /* Years are UTC years of the parsed times; null is 0. */
    ck_assert_int_eq(p->post_year, 2018);
    ck_assert_int_eq(p->join_year, 2015);
    ck_assert(p->has_date_joined);
    ck_assert(!p->has_age);
    ck_assert(!p->has_follower_count);
    ck_assert_int_eq(q->post_year, 0);
    ck_assert_int_eq(q->join_year, 0);
    ck_assert(!q->has_date_joined);
    ck_assert(q->has_age);
    ck_assert(q->age == 17);
    ck_assert(q->has_follower_count);
    ck_assert(q->follower_count == -4);
    pp_post_table_cleanup(&t);
}
END_TEST

START_TEST(test_many_keys)
{
    struct pp_post_table t;
    uint64_t posts;
    uint64_t orphans[PP_TOPIC_COUNT];
    int64_t i;
    const int64_t n = 5000;

    pp_post_table_init(&t);
    /* Keys spread over int64, including 0, negatives and the extremes;
     * the table grows several times. */
    for (i = 0; i < n; i++) {
        int64_t ind = i == 1 ? INT64_MIN : i == 2 ? INT64_MAX : (i % 2 ? -i : i) * 1000003;
        char cat[32];
        snprintf(cat, sizeof cat, "cat%d", (int)(i % 13));
        add(&t, user_item(ind, 0, "u", true, i, false, 0));
        add(&t, pin_item(ind, 0, cat, "p", true, i));
        add(&t, geo_item(ind, 0, "c", false, 0));
    }
    pp_post_table_join_counts(&t, &posts, orphans);
    ck_assert_uint_eq(posts, (uint64_t)n);
    ck_assert_uint_eq(t.n_posts, (size_t)n);
    for (i = 0; i < n; i++) {
        int64_t ind = i == 1 ? INT64_MIN : i == 2 ? INT64_MAX : (i % 2 ? -i : i) * 1000003;
        const struct pp_post *p = find_post(&t, ind);
        char cat[32];
        snprintf(cat, sizeof cat, "cat%d", (int)(i % 13));
        ck_assert_ptr_nonnull(p);
        ck_assert(p->follower_count == i);
        ck_assert(p->age == i);
        expect_interned(&t, p->category, cat);
    }
    /* 13 categories + "u", "p", "c" were interned once each. */
    ck_assert_uint_eq(t.strings.count, 1 + 13 + 3);
    pp_post_table_cleanup(&t);
}
END_TEST

START_TEST(test_items_from_clean_stage)
{
    static const char data[] = "{\"index\":1,\"category\":\"art\",\"poster_name\":\"P\","
                               "\"follower_count\":\"2k\"}\n"
                               "{\"index\":1,\"category\":\"other\"}\n"
                               "[]\n"
                               "{\"index\":2,\"category\":\"art\"}\n";
    struct pp_clean_options opt = {1024, true};
    struct pp_batch *b = pp_batch_new(512);
    struct pp_batch_span span;
    struct pp_post_table t;
    const struct pp_clean_item *items;
    const struct pp_post *p;
    void *state;
    size_t i;

    ck_assert_ptr_nonnull(b);
    memcpy(b->data, data, sizeof data - 1);
    b->len = sizeof data - 1;
    memset(&span, 0, sizeof span);
    span.end = (uint32_t)b->len;
    span.topic = PP_TOPIC_PIN;
    ck_assert_int_eq(pp_batch_add_span(b, &span), PP_OK);
    state = pp_clean_stage.create(&opt);
    ck_assert_ptr_nonnull(state);
    ck_assert_int_eq(pp_clean_stage.process(state, b), PP_OK);
    ck_assert_uint_eq(b->n_out, 4);
    pp_post_table_init(&t);
    items = pp_clean_items(b);
    for (i = 0; i < b->n_out; i++)
        ck_assert_int_eq(pp_post_table_add(&t, &items[i]), PP_OK);
    p = find_post(&t, 1);
    ck_assert_ptr_nonnull(p);
    expect_interned(&t, p->category, "art");
    expect_interned(&t, p->poster_name, "P");
    ck_assert(p->follower_count == 2000);
    ck_assert_uint_eq(find_post(&t, 2)->category, p->category);
    ck_assert_uint_eq(t.counts.records[PP_TOPIC_PIN], 4);
    ck_assert_uint_eq(t.counts.duplicates[PP_TOPIC_PIN], 1);
    ck_assert_uint_eq(t.counts.rejected[PP_TOPIC_PIN][PP_REJECT_NOT_OBJECT], 1);
    pp_post_table_cleanup(&t);
    pp_clean_stage.destroy(state);
    pp_batch_destroy(b);
}
END_TEST

static Suite *post_suite(void)
{
    Suite *s = suite_create("post");

    PP_CHECK_TCASE(s, test_first_record_wins);
    PP_CHECK_TCASE(s, test_duplicates_counted_per_topic);
    PP_CHECK_TCASE(s, test_rejects_counted);
    PP_CHECK_TCASE(s, test_reject_does_not_claim_key);
    PP_CHECK_TCASE(s, test_join_counts_and_orphans);
    PP_CHECK_TCASE(s, test_stored_fields);
    PP_CHECK_TCASE(s, test_many_keys);
    PP_CHECK_TCASE(s, test_items_from_clean_stage);
    return s;
}

PP_CHECK_MAIN(post_suite)
