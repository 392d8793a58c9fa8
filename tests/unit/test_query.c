/*
 * Unit tests of pp_query: the nine queries of SPEC 5 over hand-built
 * joined posts.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pp_check.h"
#include "pp_check_query.h"
#include "pp_clean.h"
#include "pp_json.h"
#include "pp_post.h"
#include "pp_query.h"
#include "pp_snap.h"

/* ---- building posts ----------------------------------------------------------------- */

/* A post's query-relevant values; NULL text and 0 years are null. */
struct spec {
    const char *country;
    const char *category;
    const char *poster;
    bool has_fc;
    int64_t fc;
    int post_year;
    const char *user;
    bool has_age;
    int64_t age;
    int join_year;
    int64_t date_joined; /* with join_year != 0 */
};

struct qctx {
    struct pp_post_table table; /* for its strings */
    struct pp_query_state q;
    int64_t next_ind;
};

static void qctx_init(struct qctx *c)
{
    pp_post_table_init(&c->table);
    pp_query_init(&c->q);
    c->next_ind = 1;
}

static void qctx_cleanup(struct qctx *c)
{
    pp_query_cleanup(&c->q);
    pp_post_table_cleanup(&c->table);
}

static uint32_t intern(struct qctx *c, const char *s)
{
    uint32_t id = 99;

    ck_assert_int_eq(
        pp_intern_id(&c->table.strings, s ? pp_str_make(s, strlen(s)) : PP_STR_NULL, &id), PP_OK);
    return id;
}

/* Adds the post to q, a state sharing c's strings. */
static void qadd_to(struct qctx *c, struct pp_query_state *q, struct spec s)
{
    struct pp_post p;

    memset(&p, 0, sizeof p);
    p.ind = c->next_ind++;
    p.parts = PP_POST_ALL_PARTS;
    p.country = intern(c, s.country);
    p.category = intern(c, s.category);
    p.poster_name = intern(c, s.poster);
    p.has_follower_count = s.has_fc;
    p.follower_count = s.fc;
    p.post_year = s.post_year;
    p.user_name = intern(c, s.user);
    p.has_age = s.has_age;
    p.age = s.age;
    p.join_year = s.join_year;
    p.has_date_joined = s.join_year != 0;
    p.date_joined = s.date_joined;
    ck_assert_int_eq(pp_query_add(q, &p, &c->table.strings), PP_OK);
}

#define ADD(c, ...) qadd_to((c), &(c)->q, (struct spec){__VA_ARGS__})
#define ADD_TO(c, q, ...) qadd_to((c), (q), (struct spec){__VA_ARGS__})

/* ---- checking tables ------------------------------------------------------------------ */

/*
 * Computes query id and checks its rows against want (row-major cell
 * texts) and its column types against types ('T' text, 'I' int, 'M'
 * median), one letter per column.
 */
static void expect_rows(struct qctx *c, enum pp_query_id id, const char *types, size_t n_rows,
                        const char *const *want)
{
    struct pp_table t;
    size_t n_cols = strlen(types);
    size_t r;
    size_t k;

    ck_assert_int_eq(pp_query_result(&c->q, &c->table.strings, id, &t), PP_OK);
    ck_assert_int_eq(t.id, id);
    ck_assert_str_eq(t.name, pp_query_name(id));
    ck_assert_uint_eq(t.n_cols, n_cols);
    for (r = 0; r < t.n_rows && r < n_rows; r++) {
        for (k = 0; k < n_cols; k++) {
            const struct pp_cell *cell = &t.cells[r * n_cols + k];
            char got[64];
            pp_check_cell_text(cell, got, sizeof got);
            ck_assert_msg(strcmp(got, want[r * n_cols + k]) == 0,
                          "%s row %zu col %zu: got \"%s\", want \"%s\"", t.name, r, k, got,
                          want[r * n_cols + k]);
            ck_assert_msg(cell->type == (types[k] == 'T'   ? PP_CELL_TEXT
                                         : types[k] == 'I' ? PP_CELL_INT
                                                           : PP_CELL_MEDIAN),
                          "%s row %zu col %zu: cell type %d", t.name, r, k, (int)cell->type);
        }
    }
    ck_assert_msg(t.n_rows == n_rows, "%s: %zu rows, want %zu", t.name, t.n_rows, n_rows);
    pp_table_cleanup(&t);
}

#define ROWS(...) ((const char *const[]){__VA_ARGS__})
#define EXPECT(c, id, types, n, ...) expect_rows((c), (id), (types), (n), ROWS(__VA_ARGS__))
#define EXPECT_EMPTY(c, id, types) expect_rows((c), (id), (types), 0, NULL)

/* ---- most popular ------------------------------------------------------------------ */

START_TEST(test_most_popular_ties)
{
    struct qctx c;

    qctx_init(&c);
    /* X: a tie between "alpha" and "Zeta": 'Z' < 'a' in byte order. */
    ADD(&c, .country = "X", .category = "alpha");
    ADD(&c, .country = "X", .category = "Zeta");
    ADD(&c, .country = "X", .category = "alpha");
    ADD(&c, .country = "X", .category = "Zeta");
    /* Y: "a" and "B" tie: "B" wins. */
    ADD(&c, .country = "Y", .category = "a");
    ADD(&c, .country = "Y", .category = "B");
    /* Z: the highest count beats the smaller name. */
    ADD(&c, .country = "Z", .category = "a");
    ADD(&c, .country = "Z", .category = "b");
    ADD(&c, .country = "Z", .category = "b");
    ADD(&c, .country = "Z", .category = "a");
    ADD(&c, .country = "Z", .category = "b");
    /* W: one category; also a prefix tie: "art" < "arts". */
    ADD(&c, .country = "W", .category = "arts");
    ADD(&c, .country = "W", .category = "art");
    EXPECT(&c, PP_QUERY_CATEGORY_BY_COUNTRY, "TTI", 4, "W", "art", "1", "X", "Zeta", "2", "Y", "B",
           "1", "Z", "b", "3");
    qctx_cleanup(&c);
}
END_TEST

START_TEST(test_most_popular_ties_by_year_and_age)
{
    struct qctx c;

    qctx_init(&c);
    ADD(&c, .category = "beta", .post_year = 2019);
    ADD(&c, .category = "Alpha", .post_year = 2019);
    ADD(&c, .category = "c", .post_year = 2020);
    ADD(&c, .category = "d", .post_year = 2020);
    ADD(&c, .category = "d", .post_year = 2020);
    ADD(&c, .category = "yoga", .has_age = true, .age = 30);
    ADD(&c, .category = "Yoga", .has_age = true, .age = 31);
    ADD(&c, .category = "x", .has_age = true, .age = 60);
    ADD(&c, .category = "w", .has_age = true, .age = 70);
    ADD(&c, .category = "x", .has_age = true, .age = 80);
    EXPECT(&c, PP_QUERY_CATEGORY_BY_YEAR, "ITI", 2, "2019", "Alpha", "1", "2020", "d", "2");
    EXPECT(&c, PP_QUERY_CATEGORY_BY_AGE_GROUP, "TTI", 2, "+50", "x", "2", "25-35", "Yoga", "1");
    qctx_cleanup(&c);
}
END_TEST

/* ---- top users and countries ---------------------------------------------------------- */

START_TEST(test_top_user_by_country_ties)
{
    struct qctx c;

    qctx_init(&c);
    ADD(&c, .country = "C", .poster = "bob", .has_fc = true, .fc = 100);
    ADD(&c, .country = "C", .poster = "Alice", .has_fc = true, .fc = 100);
    ADD(&c, .country = "C", .poster = "carl", .has_fc = true, .fc = 50);
    /* The smaller name comes second this time. */
    ADD(&c, .country = "D", .poster = "zed", .has_fc = true, .fc = 5);
    ADD(&c, .country = "D", .poster = "amy", .has_fc = true, .fc = 5);
    /* Byte order: "Bob" < "alice". */
    ADD(&c, .country = "E", .poster = "alice", .has_fc = true, .fc = 7);
    ADD(&c, .country = "E", .poster = "Bob", .has_fc = true, .fc = 7);
    /* Higher beats smaller name, whichever comes first. */
    ADD(&c, .country = "F", .poster = "a", .has_fc = true, .fc = 9);
    ADD(&c, .country = "F", .poster = "b", .has_fc = true, .fc = 10);
    ADD(&c, .country = "G", .poster = "b", .has_fc = true, .fc = 10);
    ADD(&c, .country = "G", .poster = "a", .has_fc = true, .fc = 9);
    /* Negative counts. */
    ADD(&c, .country = "H", .poster = "y", .has_fc = true, .fc = -5);
    ADD(&c, .country = "H", .poster = "x", .has_fc = true, .fc = -3);
    EXPECT(&c, PP_QUERY_TOP_USER_BY_COUNTRY, "TTI", 6, "C", "Alice", "100", "D", "amy", "5", "E",
           "Bob", "7", "F", "b", "10", "G", "b", "10", "H", "x", "-3");
    EXPECT(&c, PP_QUERY_TOP_COUNTRY_BY_FOLLOWERS, "TI", 1, "C", "100");
    qctx_cleanup(&c);
}
END_TEST

START_TEST(test_top_country_ties)
{
    struct qctx c;

    qctx_init(&c);
    ADD(&c, .country = "Brazil", .poster = "p", .has_fc = true, .fc = 100);
    ADD(&c, .country = "Argentina", .poster = "q", .has_fc = true, .fc = 100);
    ADD(&c, .country = "Chile", .poster = "r", .has_fc = true, .fc = 50);
    EXPECT(&c, PP_QUERY_TOP_COUNTRY_BY_FOLLOWERS, "TI", 1, "Argentina", "100");
    qctx_cleanup(&c);

    qctx_init(&c);
    ADD(&c, .country = "argentina", .poster = "p", .has_fc = true, .fc = 100);
    ADD(&c, .country = "Zambia", .poster = "q", .has_fc = true, .fc = 100);
    EXPECT(&c, PP_QUERY_TOP_COUNTRY_BY_FOLLOWERS, "TI", 1, "Zambia", "100");
    ADD(&c, .country = "Zz", .poster = "q", .has_fc = true, .fc = 101);
    EXPECT(&c, PP_QUERY_TOP_COUNTRY_BY_FOLLOWERS, "TI", 1, "Zz", "101");
    qctx_cleanup(&c);

    qctx_init(&c);
    ADD(&c, .country = "Neg", .poster = "p", .has_fc = true, .fc = -10);
    ADD(&c, .country = "Ative", .poster = "p", .has_fc = true, .fc = -20);
    EXPECT(&c, PP_QUERY_TOP_COUNTRY_BY_FOLLOWERS, "TI", 1, "Neg", "-10");
    qctx_cleanup(&c);
}
END_TEST

START_TEST(test_top_country_empty)
{
    struct qctx c;

    qctx_init(&c);
    EXPECT_EMPTY(&c, PP_QUERY_TOP_USER_BY_COUNTRY, "TTI");
    EXPECT_EMPTY(&c, PP_QUERY_TOP_COUNTRY_BY_FOLLOWERS, "TI");
    /* Posts that miss a country, a poster or a follower count do not
     * count. */
    ADD(&c, .poster = "p", .has_fc = true, .fc = 5, .category = "c");
    ADD(&c, .country = "X", .has_fc = true, .fc = 5);
    ADD(&c, .country = "X", .poster = "p");
    EXPECT_EMPTY(&c, PP_QUERY_TOP_USER_BY_COUNTRY, "TTI");
    EXPECT_EMPTY(&c, PP_QUERY_TOP_COUNTRY_BY_FOLLOWERS, "TI");
    qctx_cleanup(&c);
}
END_TEST

/* ---- medians ---------------------------------------------------------------------------- */

START_TEST(test_medians)
{
    static const int64_t odd[] = {3, 1, 2};
    static const int64_t even[] = {4, 1, 3, 2};
    static const int64_t half[] = {5501, 5500};
    static const int64_t neg[] = {-2, -3};
    struct qctx c;
    size_t i;

    qctx_init(&c);
    for (i = 0; i < 3; i++)
        ADD(&c, .has_age = true, .age = 20, .has_fc = true, .fc = odd[i]);
    for (i = 0; i < 4; i++)
        ADD(&c, .has_age = true, .age = 30, .has_fc = true, .fc = even[i]);
    for (i = 0; i < 2; i++)
        ADD(&c, .has_age = true, .age = 40, .has_fc = true, .fc = half[i]);
    for (i = 0; i < 2; i++)
        ADD(&c, .has_age = true, .age = 60, .has_fc = true, .fc = neg[i]);
    EXPECT(&c, PP_QUERY_MEDIAN_FOLLOWERS_BY_AGE_GROUP, "TM", 4, "+50", "-2.5", "18-24", "2",
           "25-35", "2.5", "36-50", "5500.5");
    qctx_cleanup(&c);
}
END_TEST

START_TEST(test_medians_by_join_year)
{
    struct qctx c;

    qctx_init(&c);
    /* 2015: one value. */
    ADD(&c, .join_year = 2015, .has_fc = true, .fc = 42);
    /* 2016: -5 and 5 -> 0. */
    ADD(&c, .join_year = 2016, .has_fc = true, .fc = -5);
    ADD(&c, .join_year = 2016, .has_fc = true, .fc = 5);
    /* 2017: repeated values. */
    ADD(&c, .join_year = 2017, .has_fc = true, .fc = 7);
    ADD(&c, .join_year = 2017, .has_fc = true, .fc = 100);
    ADD(&c, .join_year = 2017, .has_fc = true, .fc = 7);
    ADD(&c, .join_year = 2017, .has_fc = true, .fc = 7);
    /* 2018: 1, 1, 100, 100 -> 50.5. */
    ADD(&c, .join_year = 2018, .has_fc = true, .fc = 1);
    ADD(&c, .join_year = 2018, .has_fc = true, .fc = 100);
    ADD(&c, .join_year = 2018, .has_fc = true, .fc = 100);
    ADD(&c, .join_year = 2018, .has_fc = true, .fc = 1);
    /* 2019: huge values do not overflow. */
    ADD(&c, .join_year = 2019, .has_fc = true, .fc = INT64_MAX);
    ADD(&c, .join_year = 2019, .has_fc = true, .fc = INT64_MAX - 1);
    /* 2020: negatives, odd count. */
    ADD(&c, .join_year = 2020, .has_fc = true, .fc = -30);
    ADD(&c, .join_year = 2020, .has_fc = true, .fc = -10);
    ADD(&c, .join_year = 2020, .has_fc = true, .fc = -20);
    EXPECT(&c, PP_QUERY_MEDIAN_FOLLOWERS_BY_JOIN_YEAR, "IM", 6, "2015", "42", "2016", "0", "2017",
           "7", "2018", "50.5", "2019", "9223372036854775806.5", "2020", "-20");
    qctx_cleanup(&c);
}
END_TEST

START_TEST(test_medians_by_age_group_and_join_year)
{
    struct qctx c;

    qctx_init(&c);
    ADD(&c, .has_age = true, .age = 19, .join_year = 2016, .has_fc = true, .fc = 1);
    ADD(&c, .has_age = true, .age = 22, .join_year = 2016, .has_fc = true, .fc = 4);
    ADD(&c, .has_age = true, .age = 22, .join_year = 2015, .has_fc = true, .fc = 9);
    ADD(&c, .has_age = true, .age = 55, .join_year = 2020, .has_fc = true, .fc = -1);
    ADD(&c, .has_age = true, .age = 55, .join_year = 2020, .has_fc = true, .fc = 0);
    ADD(&c, .has_age = true, .age = 40, .join_year = 2018, .has_fc = true, .fc = 8);
    /* Out of the year range, without an age group, or without a count. */
    ADD(&c, .has_age = true, .age = 40, .join_year = 2021, .has_fc = true, .fc = 8);
    ADD(&c, .has_age = true, .age = 17, .join_year = 2018, .has_fc = true, .fc = 8);
    ADD(&c, .join_year = 2018, .has_fc = true, .fc = 8);
    ADD(&c, .has_age = true, .age = 40, .join_year = 2018);
    EXPECT(&c, PP_QUERY_MEDIAN_FOLLOWERS_BY_AGE_GROUP_AND_JOIN_YEAR, "TIM", 4, "+50", "2020",
           "-0.5", "18-24", "2015", "9", "18-24", "2016", "2.5", "36-50", "2018", "8");
    qctx_cleanup(&c);
}
END_TEST

/* The three medians read one histogram of (age group, join year) cells: a
 * median per age group adds up the join years, those without one or out
 * of range too, and a median per join year the age groups, none included. */
static void expect_shared_medians(struct qctx *c)
{
    EXPECT(c, PP_QUERY_MEDIAN_FOLLOWERS_BY_AGE_GROUP, "TM", 2, "18-24", "2", "25-35", "1");
    EXPECT(c, PP_QUERY_MEDIAN_FOLLOWERS_BY_JOIN_YEAR, "IM", 2, "2015", "3", "2016", "1");
    EXPECT(c, PP_QUERY_MEDIAN_FOLLOWERS_BY_AGE_GROUP_AND_JOIN_YEAR, "TIM", 3, "18-24", "2015", "1",
           "18-24", "2016", "1", "25-35", "2015", "1");
}

/* Loads buf (pp_query_save()'s) into c's state, then checks it as a
 * checkpoint's loader does. */
static enum pp_err qload(struct qctx *c, const struct pp_buf *buf)
{
    struct pp_snap_reader rd;
    enum pp_err err;

    pp_query_cleanup(&c->q);
    pp_query_init(&c->q);
    pp_snap_reader_init(&rd, buf->data, buf->len);
    if ((err = pp_query_load(&c->q, &rd)) == PP_OK)
        err = pp_query_check(&c->q, c->table.strings.count);
    return err;
}

START_TEST(test_medians_share_one_histogram)
{
    /* The slot of 18-24, 2015, follower count 1: one post. */
    const uint64_t slot[2] = {(uint64_t)(1 * 8 + 1) << 56 | 1, 1};
    const uint64_t bad_tags[] = {
        1,                               /* no age group nor join year */
        (uint64_t)(5 * 8 + 1) << 56 | 1, /* an age group the queries do not name */
        (uint64_t)(1 * 8 + 7) << 56 | 1, /* a join year out of 2015..2020 */
        (uint64_t)(1 * 8 + 1) << 56,     /* no post */
    };
    struct pp_snap_writer w;
    struct pp_buf buf;
    struct qctx c;
    char *at;

    qctx_init(&c);
    ADD(&c, .has_age = true, .age = 20, .join_year = 2015, .has_fc = true, .fc = 1);
    ADD(&c, .has_age = true, .age = 20, .join_year = 2016, .has_fc = true, .fc = 1);
    ADD(&c, .has_age = true, .age = 20, .has_fc = true, .fc = 3);
    ADD(&c, .has_age = true, .age = 20, .join_year = 2021, .has_fc = true, .fc = 10);
    ADD(&c, .has_age = true, .age = 17, .join_year = 2015, .has_fc = true, .fc = 5);
    ADD(&c, .join_year = 2015, .has_fc = true, .fc = 7);
    ADD(&c, .has_age = true, .age = 30, .join_year = 2015, .has_fc = true, .fc = 1);
    ADD(&c, .has_age = true, .age = 30, .join_year = 2015); /* no count */
    expect_shared_medians(&c);

    pp_buf_init(&buf);
    pp_snap_writer_init(&w, &buf);
    pp_query_save(&c.q, &w);
    ck_assert_int_eq(pp_snap_writer_finish(&w), PP_OK);
    ck_assert_int_eq(qload(&c, &buf), PP_OK);
    expect_shared_medians(&c);

    at = memmem(buf.data, buf.len, slot, sizeof slot);
    ck_assert_ptr_nonnull(at);
    for (size_t k = 0; k < sizeof bad_tags / sizeof bad_tags[0]; k++) {
        memcpy(at, &bad_tags[k], sizeof bad_tags[k]);
        ck_assert_msg(qload(&c, &buf) == PP_ERR_CORRUPT, "tag %zu loaded", k);
    }
    memcpy(at, slot, sizeof slot[0]);
    ck_assert_int_eq(qload(&c, &buf), PP_OK);
    expect_shared_medians(&c);

    /* Posts saturate below the cell: merged twice, the most a slot holds
     * stays in 18-24, 2015 instead of carrying into another cell. */
    {
        const uint64_t most = (uint64_t)(1 * 8 + 1) << 56 | ((UINT64_C(1) << 56) - 1);
        struct pp_query_state twice;

        memcpy(at, &most, sizeof most);
        ck_assert_int_eq(qload(&c, &buf), PP_OK);
        pp_query_init(&twice);
        ck_assert_int_eq(pp_query_merge(&twice, &c.q, &c.table.strings), PP_OK);
        ck_assert_int_eq(pp_query_merge(&twice, &c.q, &c.table.strings), PP_OK);
        ck_assert_int_eq(pp_query_check(&twice, c.table.strings.count), PP_OK);
        pp_query_cleanup(&c.q);
        c.q = twice;
        EXPECT(&c, PP_QUERY_MEDIAN_FOLLOWERS_BY_AGE_GROUP_AND_JOIN_YEAR, "TIM", 3, "18-24", "2015",
               "1", "18-24", "2016", "1", "25-35", "2015", "1");
    }
    pp_buf_cleanup(&buf);
    qctx_cleanup(&c);
}
END_TEST

/* ---- age groups and years ---------------------------------------------------------- */

START_TEST(test_age_group_boundaries)
{
    static const struct {
        int64_t age;
        const char *group;
    } cases[] = {{-1, NULL},    {0, NULL},          {17, NULL},       {18, "18-24"}, {24, "18-24"},
                 {25, "25-35"}, {35, "25-35"},      {36, "36-50"},    {50, "36-50"}, {51, "+50"},
                 {120, "+50"},  {INT64_MAX, "+50"}, {INT64_MIN, NULL}};
    struct qctx c;
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *g = pp_query_age_group(true, cases[i].age);
        if (cases[i].group == NULL)
            ck_assert_msg(g == NULL, "age %" PRId64 ": group %s", cases[i].age, g);
        else
            ck_assert_msg(g != NULL && strcmp(g, cases[i].group) == 0,
                          "age %" PRId64 ": group %s, want %s", cases[i].age, g ? g : "(none)",
                          cases[i].group);
    }
    ck_assert_ptr_null(pp_query_age_group(false, 30));

    /* Through a query: the follower count is the age, so each median
     * shows which ages landed in the group. */
    qctx_init(&c);
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (cases[i].age >= 0 && cases[i].age <= 51)
            ADD(&c, .has_age = true, .age = cases[i].age, .has_fc = true, .fc = cases[i].age);
    ADD(&c, .has_age = false, .age = 30, .has_fc = true, .fc = 1000);
    EXPECT(&c, PP_QUERY_MEDIAN_FOLLOWERS_BY_AGE_GROUP, "TM", 4, "+50", "51", "18-24", "21", "25-35",
           "30", "36-50", "43");
    qctx_cleanup(&c);
}
END_TEST

START_TEST(test_post_year_filter)
{
    struct qctx c;

    qctx_init(&c);
    ADD(&c, .category = "y2017", .post_year = 2017);
    ADD(&c, .category = "y2018", .post_year = 2018);
    ADD(&c, .category = "y2022", .post_year = 2022);
    ADD(&c, .category = "y2023", .post_year = 2023);
    ADD(&c, .category = "null year", .post_year = 0);
    EXPECT(&c, PP_QUERY_CATEGORY_BY_YEAR, "ITI", 2, "2018", "y2018", "1", "2022", "y2022", "1");
    qctx_cleanup(&c);
}
END_TEST

START_TEST(test_join_year_filter)
{
    static const int years[] = {2014, 2015, 2020, 2021, 0};
    struct qctx c;
    size_t i;

    qctx_init(&c);
    for (i = 0; i < 5; i++)
        ADD(&c, .user = "u", .join_year = years[i], .date_joined = years[i], .has_age = true,
            .age = 20, .has_fc = true, .fc = years[i]);
    EXPECT(&c, PP_QUERY_USERS_JOINED_BY_YEAR, "II", 2, "2015", "1", "2020", "1");
    EXPECT(&c, PP_QUERY_MEDIAN_FOLLOWERS_BY_JOIN_YEAR, "IM", 2, "2015", "2015", "2020", "2020");
    EXPECT(&c, PP_QUERY_MEDIAN_FOLLOWERS_BY_AGE_GROUP_AND_JOIN_YEAR, "TIM", 2, "18-24", "2015",
           "2015", "18-24", "2020", "2020");
    qctx_cleanup(&c);
}
END_TEST

START_TEST(test_users_joined_distinct)
{
    struct qctx c;

    qctx_init(&c);
    /* 2016: (Ann, d1) twice is one user; (Ann, d2) and (Bob, d1) are two
     * more. */
    ADD(&c, .user = "Ann", .join_year = 2016, .date_joined = 1000);
    ADD(&c, .user = "Ann", .join_year = 2016, .date_joined = 1000);
    ADD(&c, .user = "Ann", .join_year = 2016, .date_joined = 2000);
    ADD(&c, .user = "Bob", .join_year = 2016, .date_joined = 1000);
    /* A post without a user name does not count. */
    ADD(&c, .user = NULL, .join_year = 2016, .date_joined = 3000);
    /* 2017: the same name again, another year. */
    ADD(&c, .user = "Ann", .join_year = 2017, .date_joined = 5000);
    /* No join date: no join year. */
    ADD(&c, .user = "Cy");
    EXPECT(&c, PP_QUERY_USERS_JOINED_BY_YEAR, "II", 2, "2016", "3", "2017", "1");
    qctx_cleanup(&c);
}
END_TEST

/* ---- nulls and order ------------------------------------------------------------------- */

START_TEST(test_nulls_left_out)
{
    struct qctx c;

    qctx_init(&c);
    /* Group key or measured value null: left out of that query only. */
    ADD(&c, .country = "X", .category = NULL, .poster = "p", .has_fc = true, .fc = 5,
        .post_year = 2019, .has_age = true, .age = 30);
    ADD(&c, .country = NULL, .category = "c", .poster = "p", .has_fc = true, .fc = 7,
        .post_year = 0, .has_age = false);
    ADD(&c, .country = "X", .category = "c", .poster = NULL, .has_fc = false, .post_year = 2019,
        .has_age = true, .age = 30);
    EXPECT(&c, PP_QUERY_CATEGORY_BY_COUNTRY, "TTI", 1, "X", "c", "1");
    EXPECT(&c, PP_QUERY_CATEGORY_BY_YEAR, "ITI", 1, "2019", "c", "1");
    EXPECT(&c, PP_QUERY_CATEGORY_BY_AGE_GROUP, "TTI", 1, "25-35", "c", "1");
    EXPECT(&c, PP_QUERY_TOP_USER_BY_COUNTRY, "TTI", 1, "X", "p", "5");
    EXPECT(&c, PP_QUERY_MEDIAN_FOLLOWERS_BY_AGE_GROUP, "TM", 1, "25-35", "5");
    EXPECT_EMPTY(&c, PP_QUERY_USERS_JOINED_BY_YEAR, "II");
    EXPECT_EMPTY(&c, PP_QUERY_MEDIAN_FOLLOWERS_BY_JOIN_YEAR, "IM");
    qctx_cleanup(&c);
}
END_TEST

START_TEST(test_rows_sorted)
{
    struct qctx c;

    qctx_init(&c);
    /* Inserted in an order unlike the byte order. */
    ADD(&c, .country = "\xc3\x84gypten", .category = "k", .poster = "p", .has_fc = true, .fc = 1,
        .has_age = true, .age = 20, .post_year = 2020, .join_year = 2019, .user = "u");
    ADD(&c, .country = "albania", .category = "k", .poster = "p", .has_fc = true, .fc = 1,
        .has_age = true, .age = 60, .post_year = 2018, .join_year = 2017, .user = "u");
    ADD(&c, .country = "Zimbabwe", .category = "k", .poster = "p", .has_fc = true, .fc = 1,
        .has_age = true, .age = 40, .post_year = 2022, .join_year = 2019, .user = "u");
    ADD(&c, .country = "Albania", .category = "k", .poster = "p", .has_fc = true, .fc = 1,
        .has_age = true, .age = 30, .post_year = 2019, .join_year = 2015, .user = "u");
    ADD(&c, .country = "Alb", .category = "k", .poster = "p", .has_fc = true, .fc = 1,
        .has_age = true, .age = 60, .post_year = 2021, .join_year = 2015, .user = "u");
    EXPECT(&c, PP_QUERY_CATEGORY_BY_COUNTRY, "TTI", 5, "Alb", "k", "1", "Albania", "k", "1",
           "Zimbabwe", "k", "1", "albania", "k", "1", "\xc3\x84gypten", "k", "1");
    EXPECT(&c, PP_QUERY_TOP_USER_BY_COUNTRY, "TTI", 5, "Alb", "p", "1", "Albania", "p", "1",
           "Zimbabwe", "p", "1", "albania", "p", "1", "\xc3\x84gypten", "p", "1");
    EXPECT(&c, PP_QUERY_CATEGORY_BY_YEAR, "ITI", 5, "2018", "k", "1", "2019", "k", "1", "2020", "k",
           "1", "2021", "k", "1", "2022", "k", "1");
    /* "+50" sorts before "18-24". */
    EXPECT(&c, PP_QUERY_CATEGORY_BY_AGE_GROUP, "TTI", 4, "+50", "k", "2", "18-24", "k", "1",
           "25-35", "k", "1", "36-50", "k", "1");
    EXPECT(&c, PP_QUERY_MEDIAN_FOLLOWERS_BY_AGE_GROUP, "TM", 4, "+50", "1", "18-24", "1", "25-35",
           "1", "36-50", "1");
    EXPECT(&c, PP_QUERY_USERS_JOINED_BY_YEAR, "II", 3, "2015", "1", "2017", "1", "2019", "1");
    EXPECT(&c, PP_QUERY_MEDIAN_FOLLOWERS_BY_JOIN_YEAR, "IM", 3, "2015", "1", "2017", "1", "2019",
           "1");
    EXPECT(&c, PP_QUERY_MEDIAN_FOLLOWERS_BY_AGE_GROUP_AND_JOIN_YEAR, "TIM", 5, "+50", "2015", "1",
           "+50", "2017", "1", "18-24", "2019", "1", "25-35", "2015", "1", "36-50", "2019", "1");
    qctx_cleanup(&c);
}
END_TEST

START_TEST(test_empty_state)
{
    static const char *const types[PP_QUERY_COUNT] = {"TTI", "ITI", "TTI", "TI", "TTI",
                                                      "TM",  "II",  "IM",  "TIM"};
    struct qctx c;
    int id;

    qctx_init(&c);
    for (id = 0; id < PP_QUERY_COUNT; id++)
        EXPECT_EMPTY(&c, (enum pp_query_id)id, types[id]);
    qctx_cleanup(&c);
    pp_query_cleanup(NULL);
}
END_TEST

START_TEST(test_names_and_columns)
{
    static const struct {
        const char *name;
        const char *columns;
    } spec[PP_QUERY_COUNT] = {
        {"category_by_country", "country,category,category_count"},
        {"category_by_year", "post_year,category,category_count"},
        {"top_user_by_country", "country,poster_name,follower_count"},
        {"top_country_by_followers", "country,follower_count"},
        {"category_by_age_group", "age_group,category,category_count"},
        {"median_followers_by_age_group", "age_group,median_follower_count"},
        {"users_joined_by_year", "post_year,number_users_joined"},
        {"median_followers_by_join_year", "post_year,median_follower_count"},
        {"median_followers_by_age_group_and_join_year",
         "age_group,post_year,median_follower_count"},
    };
    struct qctx c;
    enum pp_query_id found;
    int id;

    qctx_init(&c);
    for (id = 0; id < PP_QUERY_COUNT; id++) {
        struct pp_table t;
        char cols[128] = "";
        size_t k;
        ck_assert_str_eq(pp_query_name((enum pp_query_id)id), spec[id].name);
        ck_assert_int_eq(pp_query_lookup(spec[id].name, &found), PP_OK);
        ck_assert_int_eq(found, id);
        ck_assert_int_eq(pp_query_result(&c.q, &c.table.strings, (enum pp_query_id)id, &t), PP_OK);
        for (k = 0; k < t.n_cols; k++) {
            if (k)
                strcat(cols, ",");
            strcat(cols, t.columns[k]);
        }
        ck_assert_str_eq(cols, spec[id].columns);
        pp_table_cleanup(&t);
    }
    ck_assert_int_eq(pp_query_lookup("category_by_countries", &found), PP_ERR_NOTFOUND);
    ck_assert_int_eq(pp_query_lookup("", &found), PP_ERR_NOTFOUND);
    ck_assert_ptr_null(pp_query_name((enum pp_query_id)PP_QUERY_COUNT));
    qctx_cleanup(&c);
}
END_TEST

START_TEST(test_incremental_results)
{
    struct qctx c;

    /* Results can be read at any time and reflect everything added. */
    qctx_init(&c);
    ADD(&c, .country = "X", .category = "a");
    EXPECT(&c, PP_QUERY_CATEGORY_BY_COUNTRY, "TTI", 1, "X", "a", "1");
    ADD(&c, .country = "X", .category = "b");
    ADD(&c, .country = "X", .category = "b");
    EXPECT(&c, PP_QUERY_CATEGORY_BY_COUNTRY, "TTI", 1, "X", "b", "2");
    qctx_cleanup(&c);
}
END_TEST

/* ---- merging ------------------------------------------------------------------------- */

static uint64_t rng_next(uint64_t *state)
{
    *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
    return *state >> 33;
}

static int64_t rng_range(uint64_t *state, int64_t lo, int64_t hi)
{
    return lo + (int64_t)(rng_next(state) % (uint64_t)(hi - lo + 1));
}

/* A post with values from small pools (so that groups, values, users and
 * top-user ties collide across the parts of a split), nulls included. */
static struct pp_post random_post(struct qctx *c, uint64_t *rng)
{
    static const char *const countries[] = {NULL, "Albania", "Chad", "Peru", "Yemen", "chad"};
    static const char *const categories[] = {NULL, "art", "diy", "food", "Food", "travel"};
    static const char *const names[] = {NULL, "ann", "Ann", "bob", "cy", "dee", "eve"};
    struct pp_post p;

    memset(&p, 0, sizeof p);
    p.ind = c->next_ind++;
    p.parts = PP_POST_ALL_PARTS;
    p.country = intern(c, countries[rng_range(rng, 0, 5)]);
    p.category = intern(c, categories[rng_range(rng, 0, 5)]);
    p.poster_name = intern(c, names[rng_range(rng, 0, 6)]);
    p.has_follower_count = rng_range(rng, 0, 9) != 0;
    p.follower_count = p.has_follower_count ? rng_range(rng, -3, 40) : 0;
    p.post_year = (int32_t)rng_range(rng, 2016, 2023);
    p.user_name = intern(c, names[rng_range(rng, 0, 6)]);
    p.has_age = rng_range(rng, 0, 9) != 0;
    p.age = p.has_age ? rng_range(rng, 12, 70) : 0;
    p.has_date_joined = rng_range(rng, 0, 9) != 0;
    p.join_year = p.has_date_joined ? (int32_t)rng_range(rng, 2014, 2021) : 0;
    p.date_joined = p.has_date_joined ? rng_range(rng, 0, 3) : 0;
    return p;
}

/* The nine tables of got (text ids in got_strings) against want's (in
 * want_strings), text compared by content; id < 0: all nine. */
static void expect_mapped_equal(const struct pp_query_state *got,
                                const struct pp_intern *got_strings,
                                const struct pp_query_state *want,
                                const struct pp_intern *want_strings, int id, const char *where)
{
    int first = id < 0 ? 0 : id, last = id < 0 ? PP_QUERY_COUNT - 1 : id, q;

    for (q = first; q <= last; q++) {
        struct pp_table tg, tw;

        ck_assert_int_eq(pp_query_result(got, got_strings, (enum pp_query_id)q, &tg), PP_OK);
        ck_assert_int_eq(pp_query_result(want, want_strings, (enum pp_query_id)q, &tw), PP_OK);
        pp_check_tables_equal(&tg, &tw, where);
        pp_table_cleanup(&tg);
        pp_table_cleanup(&tw);
    }
}

/* The same within one table. */
static void expect_states_equal(const struct pp_query_state *got, const struct pp_query_state *want,
                                const struct pp_intern *strings, int id, const char *where)
{
    expect_mapped_equal(got, strings, want, strings, id, where);
}

#define MERGE_PARTS 4

/*
 * Splits posts[0..n) at random into MERGE_PARTS states (some may stay
 * empty) and checks that merging them, in a rotated order, into an empty
 * state, and into the first part's state, gives the answers of one state
 * fed every post; the same per query with pp_query_merge_for(); and that
 * merging leaves the sources as they were.
 */
static void check_merge(const struct pp_post *posts, size_t n, const struct pp_intern *strings,
                        uint64_t seed, const char *what)
{
    struct pp_query_state whole, parts[MERGE_PARTS], copy, dst;
    size_t i, k, n_parts = (size_t)rng_range(&seed, 1, MERGE_PARTS);
    size_t rot = (size_t)rng_range(&seed, 0, MERGE_PARTS - 1);
    char where[96];
    int id;

    pp_query_init(&whole);
    for (k = 0; k < MERGE_PARTS; k++)
        pp_query_init(&parts[k]);
    for (i = 0; i < n; i++) {
        ck_assert_int_eq(pp_query_add(&whole, &posts[i], strings), PP_OK);
        ck_assert_int_eq(pp_query_add(&parts[(size_t)rng_range(&seed, 0, (int64_t)n_parts - 1)],
                                      &posts[i], strings),
                         PP_OK);
    }

    /* Into an empty state; part 0 is copied first to check it later. */
    pp_query_init(&copy);
    ck_assert_int_eq(pp_query_merge(&copy, &parts[0], strings), PP_OK);
    pp_query_init(&dst);
    for (k = 0; k < MERGE_PARTS; k++)
        ck_assert_int_eq(pp_query_merge(&dst, &parts[(k + rot) % MERGE_PARTS], strings), PP_OK);
    snprintf(where, sizeof where, "%s seed %llu, %zu parts", what, (unsigned long long)seed,
             n_parts);
    expect_states_equal(&dst, &whole, strings, -1, where);
    expect_states_equal(&parts[0], &copy, strings, -1, "source after merging");
    pp_query_cleanup(&dst);

    /* Into a state that already holds posts. */
    for (k = 1; k < MERGE_PARTS; k++)
        ck_assert_int_eq(pp_query_merge(&parts[0], &parts[k], strings), PP_OK);
    expect_states_equal(&parts[0], &whole, strings, -1, where);

    /* One query at a time. */
    for (id = 0; id < PP_QUERY_COUNT; id++) {
        pp_query_init(&dst);
        ck_assert_int_eq(pp_query_merge_for(&dst, &copy, strings, (enum pp_query_id)id), PP_OK);
        for (k = 1; k < MERGE_PARTS; k++)
            ck_assert_int_eq(pp_query_merge_for(&dst, &parts[k], strings, (enum pp_query_id)id),
                             PP_OK);
        expect_states_equal(&dst, &whole, strings, id, where);
        pp_query_cleanup(&dst);
    }

    pp_query_cleanup(&copy);
    for (k = 0; k < MERGE_PARTS; k++)
        pp_query_cleanup(&parts[k]);
    pp_query_cleanup(&whole);
}

START_TEST(test_merge_equals_union)
{
    struct qctx c;
    struct pp_post *posts;
    uint64_t seed;
    size_t i, n;

    for (seed = 1; seed <= 40; seed++) {
        uint64_t rng = seed * 7919;

        qctx_init(&c);
        n = (size_t)rng_range(&rng, 0, 400);
        posts = calloc(n + 1, sizeof *posts);
        ck_assert_ptr_nonnull(posts);
        for (i = 0; i < n; i++)
            posts[i] = random_post(&c, &rng);
        check_merge(posts, n, &c.table.strings, seed, "random posts");
        free(posts);
        qctx_cleanup(&c);
    }
}
END_TEST

START_TEST(test_merge_top_user_ties)
{
    struct qctx c;
    struct pp_query_state b;

    /* The smaller name with the same count is in the merged-in state, or in
     * the state merged into: it wins either way; so does a higher count. */
    qctx_init(&c);
    pp_query_init(&b);
    ADD(&c, .country = "C", .poster = "bob", .has_fc = true, .fc = 100);
    ADD(&c, .country = "D", .poster = "Alice", .has_fc = true, .fc = 7);
    ADD(&c, .country = "E", .poster = "x", .has_fc = true, .fc = 1);
    ADD_TO(&c, &b, .country = "C", .poster = "Alice", .has_fc = true, .fc = 100);
    ADD_TO(&c, &b, .country = "D", .poster = "bob", .has_fc = true, .fc = 7);
    ADD_TO(&c, &b, .country = "E", .poster = "a", .has_fc = true, .fc = 0);
    ADD_TO(&c, &b, .country = "F", .poster = "f", .has_fc = true, .fc = 100);
    ck_assert_int_eq(pp_query_merge(&c.q, &b, &c.table.strings), PP_OK);
    EXPECT(&c, PP_QUERY_TOP_USER_BY_COUNTRY, "TTI", 4, "C", "Alice", "100", "D", "Alice", "7", "E",
           "x", "1", "F", "f", "100");
    EXPECT(&c, PP_QUERY_TOP_COUNTRY_BY_FOLLOWERS, "TI", 1, "C", "100");
    ck_assert_int_eq(pp_query_merge_for(&c.q, &b, &c.table.strings, (enum pp_query_id)99),
                     PP_ERR_INVALID);
    pp_query_cleanup(&b);
    qctx_cleanup(&c);
}
END_TEST

/*
 * Two states over string tables of their own (the same texts interned in
 * other orders, as two shards meet them), merged by pp_query_merge_mapped()
 * into a third state over a third table, answer like one state fed every
 * post; so does each query merged alone; and a merge within one table is
 * the plain merge.
 */
START_TEST(test_merge_mapped_equals_union)
{
    static const char *const decoys[] = {"zz", "Peru", "eve", "travel", "Ann", "Food"};
    struct qctx c;
    struct pp_intern part_strings[2], dst_strings;
    struct pp_query_state whole, parts[2], dst;
    uint64_t seed, rng;
    size_t i, k, n;
    char where[64];
    int id;

    for (seed = 1; seed <= 20; seed++) {
        rng = seed * 104729;
        qctx_init(&c);
        pp_query_init(&whole);
        pp_intern_init(&dst_strings);
        for (k = 0; k < 2; k++) {
            pp_query_init(&parts[k]);
            pp_intern_init(&part_strings[k]);
        }
        /* Different first ids in each table; the destination already holds
         * texts the parts use, under other ids. */
        for (i = 0; i < 6; i++) {
            const char *d = decoys[(i + seed) % 6];
            ck_assert_int_eq(
                pp_intern_id(&part_strings[0], pp_str_make(d, strlen(d)), &(uint32_t){0}), PP_OK);
            d = decoys[5 - i];
            ck_assert_int_eq(pp_intern_id(&dst_strings, pp_str_make(d, strlen(d)), &(uint32_t){0}),
                             PP_OK);
        }
        n = (size_t)rng_range(&rng, 0, 300);
        for (i = 0; i < n; i++) {
            struct pp_post p = random_post(&c, &rng), q;

            k = (size_t)rng_range(&rng, 0, 1);
            q = pp_check_post_into(&p, &c.table.strings, &part_strings[k]);
            ck_assert_int_eq(pp_query_add(&whole, &p, &c.table.strings), PP_OK);
            ck_assert_int_eq(pp_query_add(&parts[k], &q, &part_strings[k]), PP_OK);
        }
        snprintf(where, sizeof where, "mapped seed %llu, %zu posts", (unsigned long long)seed, n);

        pp_query_init(&dst);
        for (k = 0; k < 2; k++)
            ck_assert_int_eq(pp_query_merge_mapped(&dst, &dst_strings, &parts[(k + seed) % 2],
                                                   &part_strings[(k + seed) % 2], -1),
                             PP_OK);
        expect_mapped_equal(&dst, &dst_strings, &whole, &c.table.strings, -1, where);
        pp_query_cleanup(&dst);

        for (id = 0; id < PP_QUERY_COUNT; id++) {
            pp_query_init(&dst);
            for (k = 0; k < 2; k++)
                ck_assert_int_eq(
                    pp_query_merge_mapped(&dst, &dst_strings, &parts[k], &part_strings[k], id),
                    PP_OK);
            expect_mapped_equal(&dst, &dst_strings, &whole, &c.table.strings, id, where);
            pp_query_cleanup(&dst);
        }

        /* Within one table it is the plain merge (part 0 twice). */
        {
            struct pp_query_state plain, mapped;
            pp_query_init(&plain);
            pp_query_init(&mapped);
            for (k = 0; k < 2; k++) {
                ck_assert_int_eq(pp_query_merge(&plain, &parts[0], &part_strings[0]), PP_OK);
                ck_assert_int_eq(pp_query_merge_mapped(&mapped, &part_strings[0], &parts[0],
                                                       &part_strings[0], -1),
                                 PP_OK);
            }
            expect_mapped_equal(&mapped, &part_strings[0], &plain, &part_strings[0], -1,
                                "same table");
            pp_query_cleanup(&plain);
            pp_query_cleanup(&mapped);
        }
        ck_assert_int_eq(
            pp_query_merge_mapped(&dst, &dst_strings, &parts[0], &part_strings[0], PP_QUERY_COUNT),
            PP_ERR_INVALID);

        pp_query_cleanup(&dst);
        for (k = 0; k < 2; k++) {
            pp_query_cleanup(&parts[k]);
            pp_intern_cleanup(&part_strings[k]);
        }
        pp_intern_cleanup(&dst_strings);
        pp_query_cleanup(&whole);
        qctx_cleanup(&c);
    }
}
END_TEST

/*
 * The real records (../shared/data/aicore, when present): cleaned, deduped
 * and joined as `pinpipe query` does, then split and merged.
 */
static const char *aicore_path(void)
{
    static char path[1024];
    const char *env = getenv("PP_AICORE_DIR");
    const char *file = __FILE__;
    const char *slash = strrchr(file, '/');

    if (env != NULL && *env != '\0') {
        snprintf(path, sizeof path, "%s/sample_records.jsonl", env);
        return path;
    }
    /* tests/unit/ of the source tree, then the repository's sibling
     * shared/data/aicore (SPEC 1's "../shared/data/aicore"). */
    snprintf(path, sizeof path, "%.*s/../../../shared/data/aicore/sample_records.jsonl",
             slash ? (int)(slash - file) : 1, slash ? file : ".");
    return path;
}

START_TEST(test_merge_real_records)
{
    struct pp_post_table table;
    struct pp_clean *clean = pp_clean_new(1 << 20);
    struct pp_arena arena;
    struct pp_post *posts;
    FILE *f = fopen(aicore_path(), "r");
    char *line = NULL;
    size_t cap = 0, n = 0, i;
    ssize_t len;
    uint64_t seed;

    if (f == NULL) {
        fprintf(stderr, "test_merge_real_records: %s not found, only generated posts checked\n",
                aicore_path());
        pp_clean_destroy(clean);
        return;
    }
    ck_assert_ptr_nonnull(clean);
    pp_post_table_init(&table);
    pp_arena_init(&arena, 1 << 16);
    while ((len = getline(&line, &cap, f)) > 0) {
        struct pp_clean_item item;
        enum pp_err err = PP_OK;
        char *buf;

        memset(&item, 0, sizeof item);
        item.topic = strstr(line, "\"topic\": \"pin\"")   ? PP_TOPIC_PIN
                     : strstr(line, "\"topic\": \"geo\"") ? PP_TOPIC_GEO
                                                          : PP_TOPIC_USER;
        buf = pp_check_copy(line, (size_t)len, PP_JSON_PADDING, ' ');
        item.reject = pp_clean_record(clean, item.topic, buf, (size_t)len,
                                      (size_t)len + PP_JSON_PADDING, &arena, &item.rec, &err);
        ck_assert_int_eq(err, PP_OK);
        ck_assert_int_eq(item.reject, PP_REJECT_NONE);
        switch (item.topic) {
        case PP_TOPIC_PIN:
            item.text_hash[0] = pp_str_hash(item.rec.u.pin.category);
            item.text_hash[1] = pp_str_hash(item.rec.u.pin.poster_name);
            break;
        case PP_TOPIC_GEO: item.text_hash[0] = pp_str_hash(item.rec.u.geo.country); break;
        case PP_TOPIC_USER: item.text_hash[0] = pp_str_hash(item.rec.u.user.user_name); break;
        }
        ck_assert_int_eq(pp_post_table_add(&table, &item), PP_OK);
        free(buf);
        pp_arena_reset(&arena);
    }
    free(line);
    fclose(f);

    posts = calloc(table.n_posts + 1, sizeof *posts);
    ck_assert_ptr_nonnull(posts);
    for (i = 0; i < table.cap; i++)
        if (table.posts[i].parts == PP_POST_ALL_PARTS)
            posts[n++] = table.posts[i];
    ck_assert_uint_ge(n, 2000); /* 2,019 keys have all three records */
    for (seed = 1; seed <= 8; seed++)
        check_merge(posts, n, &table.strings, seed, "real records");
    free(posts);
    pp_arena_cleanup(&arena);
    pp_post_table_cleanup(&table);
    pp_clean_destroy(clean);
}
END_TEST

static Suite *query_suite(void)
{
    Suite *s = suite_create("query");

    PP_CHECK_TCASE(s, test_most_popular_ties);
    PP_CHECK_TCASE(s, test_most_popular_ties_by_year_and_age);
    PP_CHECK_TCASE(s, test_top_user_by_country_ties);
    PP_CHECK_TCASE(s, test_top_country_ties);
    PP_CHECK_TCASE(s, test_top_country_empty);
    PP_CHECK_TCASE(s, test_medians);
    PP_CHECK_TCASE(s, test_medians_by_join_year);
    PP_CHECK_TCASE(s, test_medians_by_age_group_and_join_year);
    PP_CHECK_TCASE(s, test_medians_share_one_histogram);
    PP_CHECK_TCASE(s, test_age_group_boundaries);
    PP_CHECK_TCASE(s, test_post_year_filter);
    PP_CHECK_TCASE(s, test_join_year_filter);
    PP_CHECK_TCASE(s, test_users_joined_distinct);
    PP_CHECK_TCASE(s, test_nulls_left_out);
    PP_CHECK_TCASE(s, test_rows_sorted);
    PP_CHECK_TCASE(s, test_empty_state);
    PP_CHECK_TCASE(s, test_names_and_columns);
    PP_CHECK_TCASE(s, test_incremental_results);
    PP_CHECK_TCASE(s, test_merge_equals_union);
    PP_CHECK_TCASE(s, test_merge_top_user_ties);
    PP_CHECK_TCASE(s, test_merge_mapped_equals_union);
    PP_CHECK_TCASE(s, test_merge_real_records);
    return s;
}

PP_CHECK_MAIN(query_suite)
