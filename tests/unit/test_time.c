/*
 * Unit tests of pp_time: the timestamp rules of SPEC 1 and docs/semantics.md.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pp_check.h"
#include "pp_time.h"

#define T_2020_03_04_050607 INT64_C(1583298367)

/* Parses s from an exact-size heap copy (no NUL after it), so a read past
 * the given length is an ASan error. */
static bool parse_len(const char *s, size_t len, int64_t *t)
{
    char *buf = pp_check_copy(s, len, 0, 0);
    bool ok = pp_time_parse(buf, len, t);

    free(buf);
    return ok;
}

static bool parse(const char *s, int64_t *t)
{
    return parse_len(s, strlen(s), t);
}

static void expect_time(const char *s, int64_t want)
{
    int64_t t = INT64_MIN;

    ck_assert_msg(parse(s, &t), "\"%s\" should parse", s);
    ck_assert_msg(t == want, "\"%s\": got %lld, want %lld", s, (long long)t, (long long)want);
}

static void expect_null(const char *s)
{
    int64_t t = 0;

    ck_assert_msg(!parse(s, &t), "\"%s\" should be null, parsed as %lld", s, (long long)t);
}

START_TEST(test_three_shapes)
{
    expect_time("2020-03-04 05:06:07", T_2020_03_04_050607);
    expect_time("2020-03-04T05:06:07", T_2020_03_04_050607);
    expect_time("2020:03:04 05:06:07", T_2020_03_04_050607);
    expect_time("1970-01-01 00:00:00", 0);
    expect_time("1969-12-31 23:59:59", -1);
    expect_time("0001-01-01 00:00:00", INT64_C(-62135596800));
    expect_time("9999-12-31T23:59:59", INT64_C(253402300799));
}
END_TEST

START_TEST(test_fraction_truncated)
{
    expect_time("2020-03-04 05:06:07.9", T_2020_03_04_050607);
    expect_time("2020-03-04T05:06:07.999999999", T_2020_03_04_050607);
    expect_time("2020:03:04 05:06:07.000", T_2020_03_04_050607);
    expect_time("2020-03-04 05:06:07.5Z", T_2020_03_04_050607);
    expect_time("2020-03-04 05:06:07.5+01:00", T_2020_03_04_050607 - 3600);
    /* 59.9 seconds stays in the same minute. */
    expect_time("2020-03-04 05:06:59.99", T_2020_03_04_050607 + 52);
    expect_null("2020-03-04 05:06:07.");
    expect_null("2020-03-04 05:06:07.Z");
    expect_null("2020-03-04 05:06:07,5");
    expect_null("2020-03-04 05:06:07.5a");
    expect_null("2020-03-04 05:06:07..5");
}
END_TEST

START_TEST(test_zone_z)
{
    expect_time("2020-03-04 05:06:07Z", T_2020_03_04_050607);
    expect_time("2020-03-04T05:06:07Z", T_2020_03_04_050607);
    expect_time("2020:03:04 05:06:07Z", T_2020_03_04_050607);
    expect_null("2020-03-04 05:06:07z");
    expect_null("2020-03-04 05:06:07ZZ");
    expect_null("2020-03-04 05:06:07 Z");
    expect_null("2020-03-04 05:06:07Z+01:00");
}
END_TEST

START_TEST(test_zone_offsets)
{
    expect_time("2020-03-04 05:06:07+00:00", T_2020_03_04_050607);
    expect_time("2020-03-04 05:06:07-00:00", T_2020_03_04_050607);
    expect_time("2020-03-04 05:06:07+02:00", T_2020_03_04_050607 - 7200);
    expect_time("2020-03-04T05:06:07-05:30", T_2020_03_04_050607 + 5 * 3600 + 30 * 60);
    expect_time("2020:03:04 05:06:07+23:59", T_2020_03_04_050607 - 23 * 3600 - 59 * 60);
    /* 2019-01-01 00:30 at +01:00 is 2018-12-31 23:30 UTC. */
    expect_time("2019-01-01 00:30:00+01:00", INT64_C(1546299000));
    /* And back across the year the other way. */
    expect_time("2018-12-31 23:30:00-01:00", INT64_C(1546300800) + 30 * 60);
    expect_null("2020-03-04 05:06:07+24:00");
    expect_null("2020-03-04 05:06:07+05:60");
    expect_null("2020-03-04 05:06:07+0500");
    expect_null("2020-03-04 05:06:07+05");
    expect_null("2020-03-04 05:06:07+5:00");
    expect_null("2020-03-04 05:06:07+05:00Z");
    expect_null("2020-03-04 05:06:07+05:00:00");
    expect_null("2020-03-04 05:06:07 +05:00");
    expect_null("2020-03-04 05:06:07+05-00");
    expect_null("2020-03-04 05:06:07UTC");
}
END_TEST

START_TEST(test_year_moved_by_offset)
{
    int64_t t;

    ck_assert(parse("2019-01-01 00:30:00+01:00", &t));
    ck_assert_int_eq(pp_time_year(t), 2018);
    ck_assert(parse("2018-12-31 23:30:00-01:00", &t));
    ck_assert_int_eq(pp_time_year(t), 2019);
    ck_assert(parse("2019-01-01 00:30:00Z", &t));
    ck_assert_int_eq(pp_time_year(t), 2019);
}
END_TEST

START_TEST(test_leap_years)
{
    expect_time("2020-02-29 00:00:00", INT64_C(1582934400));
    expect_time("2000-02-29 12:00:00", INT64_C(951825600));
    expect_time("2000:02:29 12:00:00", INT64_C(951825600));
    expect_null("2019-02-29 00:00:00");
    expect_null("1900-02-29 00:00:00");
    expect_null("2100-02-29 00:00:00");
    expect_null("2020-02-30 00:00:00");
    /* The day after 2020-02-29 is March 1st. */
    expect_time("2020-03-01 00:00:00", INT64_C(1582934400) + 86400);
    expect_time("1900-03-01 00:00:00", INT64_C(-2203891200));
}
END_TEST

START_TEST(test_impossible_values)
{
    expect_null("2020-13-01 00:00:00");
    expect_null("2020-00-01 00:00:00");
    expect_null("2020-01-32 00:00:00");
    expect_null("2020-01-00 00:00:00");
    expect_null("2020-04-31 00:00:00");
    expect_null("2020-06-31 00:00:00");
    expect_null("2020-09-31 00:00:00");
    expect_null("2020-11-31 00:00:00");
    expect_null("2020-01-01 24:00:00");
    expect_null("2020-01-01 00:60:00");
    expect_null("2020-01-01 00:00:60");
    expect_null("2020-01-01 99:99:99");
    expect_null("0000-01-01 00:00:00");
    expect_null("2020:13:01 00:00:00");
    expect_null("2020-01-01T24:00:00Z");
    /* Every month's last day is fine. */
    expect_time("2020-01-31 00:00:00", INT64_C(1580428800));
    expect_time("2020-04-30 23:59:59", INT64_C(1588291199));
    expect_time("2020-12-31 23:59:59", INT64_C(1609459199));
}
END_TEST

START_TEST(test_wrong_separators)
{
    expect_null("2020/03/04 05:06:07");
    expect_null("2020.03.04 05:06:07");
    expect_null("2020-03:04 05:06:07");
    expect_null("2020:03-04 05:06:07");
    expect_null("2020-03-04_05:06:07");
    expect_null("2020-03-04t05:06:07");
    expect_null("2020-03-04  05:06:07");
    expect_null("2020-03-04 05-06-07");
    expect_null("2020-03-04 05:06.07");
    expect_null("2020-03-04 05.06:07");
    expect_null("20200304 050607");
    expect_null("2020-3-4 5:6:7");
    expect_null("2020-03-04 5:06:07");
    expect_null("+020-03-04 05:06:07");
    expect_null("2020-+3-04 05:06:07");
    expect_null("2020-03-04 05:06:0x");
    expect_null("202a-03-04 05:06:07");
}
END_TEST

START_TEST(test_colon_shape_takes_space_only)
{
    expect_null("2020:03:04T05:06:07");
    expect_null("2020:03:04T05:06:07Z");
    expect_null("2020:03:04_05:06:07");
}
END_TEST

START_TEST(test_spaces_rejected)
{
    expect_null(" 2020-03-04 05:06:07");
    expect_null("2020-03-04 05:06:07 ");
    expect_null("2020-03-04 05:06:07Z ");
    expect_null("2020-03-04 05:06:07.5 ");
    expect_null("\t2020-03-04 05:06:07");
    expect_null("2020-03-04 05:06:07\n");
}
END_TEST

START_TEST(test_other_shapes)
{
    int64_t t;

    expect_null("");
    expect_null("2020-03-04");
    expect_null("2020-03-04 05:06");
    expect_null("05:06:07");
    expect_null("2020-03-04 05:06:0");
    expect_null("not a timestamp at all");
    expect_null("1583298367");
    /* The length given is what counts, not a NUL. */
    ck_assert(parse_len("2020-03-04 05:06:07Z", 19, &t));
    ck_assert(t == T_2020_03_04_050607);
    ck_assert(!parse_len("2020-03-04 05:06:07", 18, &t));
    ck_assert(!parse_len("2020-03-04 05:06:07+01:00", 22, &t));
    ck_assert(!parse_len("2020-03-04 05:06:07\0", 20, &t));
}
END_TEST

static void expect_format(int64_t t, const char *want)
{
    char out[20];

    memset(out, '#', sizeof out);
    pp_time_format(t, out);
    ck_assert_msg(out[19] == '#', "pp_time_format wrote past 19 bytes");
    out[19] = '\0';
    ck_assert_str_eq(out, want);
}

START_TEST(test_format)
{
    expect_format(0, "1970-01-01T00:00:00");
    expect_format(-1, "1969-12-31T23:59:59");
    expect_format(-86400, "1969-12-31T00:00:00");
    expect_format(T_2020_03_04_050607, "2020-03-04T05:06:07");
    expect_format(INT64_C(1582934400) + 86399, "2020-02-29T23:59:59");
    expect_format(INT64_C(1546299000), "2018-12-31T23:30:00");
    expect_format(INT64_C(-62135596800), "0001-01-01T00:00:00");
    expect_format(INT64_C(253402300799), "9999-12-31T23:59:59");
    expect_format(INT64_C(-2203891200), "1900-03-01T00:00:00");
}
END_TEST

START_TEST(test_format_round_trip)
{
    static const char *const inputs[] = {
        "1970-01-01 00:00:00", "2020-02-29 23:59:59", "2000-02-29 00:00:01", "1969-07-20 20:17:40",
        "0001-01-01 00:00:00", "9999-12-31 23:59:59", "2016-05-06 07:08:09", "1899-12-31 23:59:59",
        "2038-01-19 03:14:08", "2019-10-20 11:12:13",
    };
    size_t i;

    for (i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
        int64_t t;
        int64_t back;
        char out[20];

        ck_assert(parse(inputs[i], &t));
        pp_time_format(t, out);
        out[19] = '\0';
        /* Same text with the T separator... */
        ck_assert_int_eq(strncmp(out, inputs[i], 10), 0);
        ck_assert_int_eq(out[10], 'T');
        ck_assert_str_eq(out + 11, inputs[i] + 11);
        /* ...which parses back to the same time. */
        ck_assert(parse_len(out, 19, &back));
        ck_assert(back == t);
    }
    /* Every day over several years, including three leap days. */
    for (int64_t day = -400; day < 3 * 366 + 400; day++) {
        int64_t t = INT64_C(1577836800) + day * 86400 + (day * 7919 % 86400 + 86400) % 86400;
        int64_t back;
        char out[19];

        pp_time_format(t, out);
        ck_assert(parse_len(out, 19, &back));
        ck_assert(back == t);
    }
}
END_TEST

START_TEST(test_year)
{
    ck_assert_int_eq(pp_time_year(0), 1970);
    ck_assert_int_eq(pp_time_year(-1), 1969);
    ck_assert_int_eq(pp_time_year(INT64_C(1609459199)), 2020);
    ck_assert_int_eq(pp_time_year(INT64_C(1609459200)), 2021);
    ck_assert_int_eq(pp_time_year(INT64_C(1546300800)), 2019);
    ck_assert_int_eq(pp_time_year(INT64_C(1546300799)), 2018);
    ck_assert_int_eq(pp_time_year(INT64_C(1582934400)), 2020);
    ck_assert_int_eq(pp_time_year(INT64_C(-2203891200)), 1900);
    ck_assert_int_eq(pp_time_year(INT64_C(-62135596800)), 1);
    ck_assert_int_eq(pp_time_year(INT64_C(253402300799)), 9999);
}
END_TEST

static Suite *time_suite(void)
{
    Suite *s = suite_create("time");

    PP_CHECK_TCASE(s, test_three_shapes);
    PP_CHECK_TCASE(s, test_fraction_truncated);
    PP_CHECK_TCASE(s, test_zone_z);
    PP_CHECK_TCASE(s, test_zone_offsets);
    PP_CHECK_TCASE(s, test_year_moved_by_offset);
    PP_CHECK_TCASE(s, test_leap_years);
    PP_CHECK_TCASE(s, test_impossible_values);
    PP_CHECK_TCASE(s, test_wrong_separators);
    PP_CHECK_TCASE(s, test_colon_shape_takes_space_only);
    PP_CHECK_TCASE(s, test_spaces_rejected);
    PP_CHECK_TCASE(s, test_other_shapes);
    PP_CHECK_TCASE(s, test_format);
    PP_CHECK_TCASE(s, test_format_round_trip);
    PP_CHECK_TCASE(s, test_year);
    return s;
}

PP_CHECK_MAIN(time_suite)
