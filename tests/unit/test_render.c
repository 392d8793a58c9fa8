/*
 * Unit tests of pp_render: the JSON document, CSV and the aligned table,
 * each checked against an exact expected text.
 */
#include <stdint.h>
#include <string.h>

#include "pp_check.h"
#include "pp_json.h"
#include "pp_render.h"

#define TEXT(s)                                                                                    \
    {                                                                                              \
        PP_CELL_TEXT, false, 0, PP_STR_INIT(s)                                                     \
    }
#define INT(v)                                                                                     \
    {                                                                                              \
        PP_CELL_INT, false, (v),                                                                   \
        {                                                                                          \
            NULL, 0                                                                                \
        }                                                                                          \
    }
#define MEDIAN(v, is_half)                                                                         \
    {                                                                                              \
        PP_CELL_MEDIAN, (is_half), (v),                                                            \
        {                                                                                          \
            NULL, 0                                                                                \
        }                                                                                          \
    }

static const char *const cols_country[] = {"country", "category", "category_count"};
static const char *const cols_median[] = {"age_group", "median_follower_count"};
static const char *const cols_top_country[] = {"country", "follower_count"};
static const char *const cols_top_user[] = {"country", "poster_name", "follower_count"};

static const struct pp_cell cells_country[] = {
    TEXT("Albania"), TEXT("art"), INT(12), TEXT("Say \"hi\""), TEXT("a,b"), INT(3),
};
static const struct pp_cell cells_median[] = {
    TEXT("+50"),      MEDIAN(5500, true), TEXT("18-24"),
    MEDIAN(-3, true), TEXT("25-35"),      MEDIAN(7, false),
};
static const struct pp_cell cells_csv[] = {
    TEXT("x, y"), TEXT(" lead"), INT(1),  TEXT("trail "), TEXT("line\nbreak"), INT(2),
    TEXT(""),     TEXT("plain"), INT(-3), TEXT("cr\r"),   TEXT("q\"uote"),     INT(4),
};
static const struct pp_cell cells_utf8[] = {
    TEXT("C\xc3\xb4te d'Ivoire"),
    INT(5),
    TEXT("Chad"),
    INT(10),
};

/* The tables of a test, with their own copies of the cells (a table's
 * cells are not const). */
struct fixture {
    struct pp_table t[4];
    struct pp_cell country[sizeof cells_country / sizeof cells_country[0]];
    struct pp_cell median[sizeof cells_median / sizeof cells_median[0]];
    struct pp_cell csv[sizeof cells_csv / sizeof cells_csv[0]];
    struct pp_cell utf8[sizeof cells_utf8 / sizeof cells_utf8[0]];
};

/* t[0..3): two tables with rows and an empty one; t[3]: the CSV quoting
 * cases. */
static void fixture_init(struct fixture *f)
{
    memset(f, 0, sizeof *f);
    memcpy(f->country, cells_country, sizeof f->country);
    memcpy(f->median, cells_median, sizeof f->median);
    memcpy(f->csv, cells_csv, sizeof f->csv);
    memcpy(f->utf8, cells_utf8, sizeof f->utf8);
    f->t[0].id = PP_QUERY_CATEGORY_BY_COUNTRY;
    f->t[0].name = "category_by_country";
    f->t[0].columns = cols_country;
    f->t[0].n_cols = 3;
    f->t[0].n_rows = 2;
    f->t[0].cells = f->country;
    f->t[1].id = PP_QUERY_MEDIAN_FOLLOWERS_BY_AGE_GROUP;
    f->t[1].name = "median_followers_by_age_group";
    f->t[1].columns = cols_median;
    f->t[1].n_cols = 2;
    f->t[1].n_rows = 3;
    f->t[1].cells = f->median;
    f->t[2].id = PP_QUERY_TOP_COUNTRY_BY_FOLLOWERS;
    f->t[2].name = "top_country_by_followers";
    f->t[2].columns = cols_top_country;
    f->t[2].n_cols = 2;
    f->t[2].n_rows = 0;
    f->t[2].cells = NULL;
    f->t[3].id = PP_QUERY_TOP_USER_BY_COUNTRY;
    f->t[3].name = "top_user_by_country";
    f->t[3].columns = cols_top_user;
    f->t[3].n_cols = 3;
    f->t[3].n_rows = 4;
    f->t[3].cells = f->csv;
}

static void expect_render(enum pp_render_format format, const struct pp_table *tables, size_t n,
                          const struct pp_render_input *input, const char *want)
{
    struct pp_buf out;

    pp_buf_init(&out);
    ck_assert_int_eq(pp_render(format, tables, n, input, &out), PP_OK);
    ck_assert_ptr_nonnull(out.data);
    ck_assert_msg(out.len == strlen(want) && memcmp(out.data, want, out.len) == 0,
                  "got:\n%.*s\nwant:\n%s", (int)out.len, out.data, want);
    pp_buf_cleanup(&out);
}

static const char want_json[] =
    "{\"queries\":{\n"
    "\"category_by_country\":{\"columns\":[\"country\",\"category\",\"category_count\"],"
    "\"rows\":[[\"Albania\",\"art\",12],[\"Say \\\"hi\\\"\",\"a,b\",3]]},\n"
    "\"median_followers_by_age_group\":{\"columns\":[\"age_group\",\"median_follower_count\"],"
    "\"rows\":[[\"+50\",5500.5],[\"18-24\",-2.5],[\"25-35\",7]]},\n"
    "\"top_country_by_followers\":{\"columns\":[\"country\",\"follower_count\"],\"rows\":[]}},\n"
    "\"input\":{\"objects\":3,\"corrupt_objects\":2,\"ignored_files\":1,\"bytes\":1234,"
    "\"records\":{\"pin\":5,\"geo\":4,\"user\":4},"
    "\"rejected\":{\"pin\":{\"invalid_json\":1,\"bad_key\":2},\"geo\":{},\"user\":{\"too_large\":1}"
    "},"
    "\"duplicates\":{\"pin\":1,\"geo\":0,\"user\":0},"
    "\"posts\":2,"
    "\"orphans\":{\"pin\":1,\"geo\":0,\"user\":2}}}\n";

static void make_input(struct pp_render_input *in, struct pp_post_counts *counts)
{
    memset(counts, 0, sizeof *counts);
    counts->records[PP_TOPIC_PIN] = 5;
    counts->records[PP_TOPIC_GEO] = 4;
    counts->records[PP_TOPIC_USER] = 4;
    counts->rejected[PP_TOPIC_PIN][PP_REJECT_INVALID_JSON] = 1;
    counts->rejected[PP_TOPIC_PIN][PP_REJECT_BAD_KEY] = 2;
    counts->rejected[PP_TOPIC_USER][PP_REJECT_TOO_LARGE] = 1;
    counts->duplicates[PP_TOPIC_PIN] = 1;
    memset(in, 0, sizeof *in);
    in->objects = 3;
    in->corrupt_objects = 2;
    in->ignored_files = 1;
    in->bytes = 1234;
    in->counts = counts;
    in->posts = 2;
    in->orphans[PP_TOPIC_PIN] = 1;
    in->orphans[PP_TOPIC_USER] = 2;
}

START_TEST(test_json_exact)
{
    struct fixture f;
    struct pp_render_input in;
    struct pp_post_counts counts;

    fixture_init(&f);
    make_input(&in, &counts);
    expect_render(PP_RENDER_JSON, f.t, 3, &in, want_json);
}
END_TEST

START_TEST(test_json_parses)
{
    struct fixture f;
    struct pp_render_input in;
    struct pp_post_counts counts;
    struct pp_buf out;
    struct pp_json_parser *parser = pp_json_parser_new(1 << 16);
    struct pp_arena arena;
    static const struct pp_str names[] = {PP_STR_INIT("queries"), PP_STR_INIT("input")};
    struct pp_json_value v[2];
    char *copy;

    ck_assert_ptr_nonnull(parser);
    pp_arena_init(&arena, 0);
    fixture_init(&f);
    make_input(&in, &counts);
    pp_buf_init(&out);
    ck_assert_int_eq(pp_render(PP_RENDER_JSON, f.t, 3, &in, &out), PP_OK);
    copy = pp_check_copy(out.data, out.len, PP_JSON_PADDING, ' ');
    ck_assert_int_eq(
        pp_json_parse_object(parser, copy, out.len, out.len + PP_JSON_PADDING, names, 2, v, &arena),
        PP_JSON_OK);
    ck_assert_int_eq(v[0].type, PP_JSON_OBJECT);
    ck_assert_int_eq(v[1].type, PP_JSON_OBJECT);
    free(copy);
    pp_buf_cleanup(&out);
    pp_arena_cleanup(&arena);
    pp_json_parser_destroy(parser);
}
END_TEST

START_TEST(test_json_no_tables)
{
    struct pp_render_input in;
    struct pp_post_counts counts;

    make_input(&in, &counts);
    expect_render(
        PP_RENDER_JSON, NULL, 0, &in,
        "{\"queries\":{},\n"
        "\"input\":{\"objects\":3,\"corrupt_objects\":2,\"ignored_files\":1,\"bytes\":1234,"
        "\"records\":{\"pin\":5,\"geo\":4,\"user\":4},"
        "\"rejected\":{\"pin\":{\"invalid_json\":1,\"bad_key\":2},\"geo\":{},"
        "\"user\":{\"too_large\":1}},"
        "\"duplicates\":{\"pin\":1,\"geo\":0,\"user\":0},\"posts\":2,"
        "\"orphans\":{\"pin\":1,\"geo\":0,\"user\":2}}}\n");
}
END_TEST

static void expect_number(struct pp_cell cell, const char *want)
{
    struct pp_buf out;

    pp_buf_init(&out);
    ck_assert_int_eq(pp_render_number(&cell, &out), PP_OK);
    ck_assert_str_eq(out.data, want);
    pp_buf_cleanup(&out);
}

START_TEST(test_numbers)
{
    expect_number((struct pp_cell)MEDIAN(5500, true), "5500.5");
    expect_number((struct pp_cell)MEDIAN(-3, true), "-2.5");
    expect_number((struct pp_cell)MEDIAN(-1, true), "-0.5");
    expect_number((struct pp_cell)MEDIAN(0, true), "0.5");
    expect_number((struct pp_cell)MEDIAN(7, false), "7");
    expect_number((struct pp_cell)MEDIAN(-7, false), "-7");
    expect_number((struct pp_cell)MEDIAN(INT64_MAX, true), "9223372036854775807.5");
    expect_number((struct pp_cell)MEDIAN(INT64_MIN, true), "-9223372036854775807.5");
    expect_number((struct pp_cell)INT(-3), "-3");
    expect_number((struct pp_cell)INT(0), "0");
    expect_number((struct pp_cell)INT(INT64_MIN), "-9223372036854775808");
}
END_TEST

START_TEST(test_csv_exact)
{
    struct fixture f;

    fixture_init(&f);
    expect_render(PP_RENDER_CSV, f.t, 4, NULL,
                  "# category_by_country\n"
                  "country,category,category_count\n"
                  "Albania,art,12\n"
                  "\"Say \"\"hi\"\"\",\"a,b\",3\n"
                  "\n"
                  "# median_followers_by_age_group\n"
                  "age_group,median_follower_count\n"
                  "+50,5500.5\n"
                  "18-24,-2.5\n"
                  "25-35,7\n"
                  "\n"
                  "# top_country_by_followers\n"
                  "country,follower_count\n"
                  "\n"
                  "# top_user_by_country\n"
                  "country,poster_name,follower_count\n"
                  "\"x, y\",\" lead\",1\n"
                  "\"trail \",\"line\nbreak\",2\n"
                  ",plain,-3\n"
                  "\"cr\r\",\"q\"\"uote\",4\n");
}
END_TEST

START_TEST(test_table_exact)
{
    struct fixture f;

    fixture_init(&f);
    expect_render(PP_RENDER_TABLE, f.t, 3, NULL,
                  "category_by_country\n"
                  "country   category  category_count\n"
                  "--------  --------  --------------\n"
                  "Albania   art                   12\n"
                  "Say \"hi\"  a,b                    3\n"
                  "(2 rows)\n"
                  "\n"
                  "median_followers_by_age_group\n"
                  "age_group  median_follower_count\n"
                  "---------  ---------------------\n"
                  "+50                       5500.5\n"
                  "18-24                       -2.5\n"
                  "25-35                          7\n"
                  "(3 rows)\n"
                  "\n"
                  "top_country_by_followers\n"
                  "country  follower_count\n"
                  "-------  --------------\n"
                  "(0 rows)\n");
}
END_TEST

START_TEST(test_table_utf8_width)
{
    struct fixture f;
    struct pp_table t;

    fixture_init(&f);
    t = f.t[2];
    t.n_rows = 2;
    t.cells = f.utf8;
    /* "Côte d'Ivoire" is 13 characters in 14 bytes. */
    expect_render(PP_RENDER_TABLE, &t, 1, NULL,
                  "top_country_by_followers\n"
                  "country        follower_count\n"
                  "-------------  --------------\n"
                  "C\xc3\xb4te d'Ivoire               5\n"
                  "Chad                       10\n"
                  "(2 rows)\n");
    /* One row says "row". */
    t.n_rows = 1;
    expect_render(PP_RENDER_TABLE, &t, 1, NULL,
                  "top_country_by_followers\n"
                  "country        follower_count\n"
                  "-------------  --------------\n"
                  "C\xc3\xb4te d'Ivoire               5\n"
                  "(1 row)\n");
}
END_TEST

START_TEST(test_parse_format)
{
    enum pp_render_format f = PP_RENDER_JSON;

    ck_assert_int_eq(pp_render_parse_format("table", &f), PP_OK);
    ck_assert_int_eq(f, PP_RENDER_TABLE);
    ck_assert_int_eq(pp_render_parse_format("csv", &f), PP_OK);
    ck_assert_int_eq(f, PP_RENDER_CSV);
    ck_assert_int_eq(pp_render_parse_format("json", &f), PP_OK);
    ck_assert_int_eq(f, PP_RENDER_JSON);
    ck_assert_int_eq(pp_render_parse_format("JSON", &f), PP_ERR_NOTFOUND);
    ck_assert_int_eq(pp_render_parse_format("xml", &f), PP_ERR_NOTFOUND);
    ck_assert_int_eq(pp_render_parse_format("", &f), PP_ERR_NOTFOUND);
    ck_assert_int_eq(f, PP_RENDER_JSON);
}
END_TEST

static Suite *render_suite(void)
{
    Suite *s = suite_create("render");

    PP_CHECK_TCASE(s, test_json_exact);
    PP_CHECK_TCASE(s, test_json_parses);
    PP_CHECK_TCASE(s, test_json_no_tables);
    PP_CHECK_TCASE(s, test_numbers);
    PP_CHECK_TCASE(s, test_csv_exact);
    PP_CHECK_TCASE(s, test_table_exact);
    PP_CHECK_TCASE(s, test_table_utf8_width);
    PP_CHECK_TCASE(s, test_parse_format);
    return s;
}

PP_CHECK_MAIN(render_suite)
