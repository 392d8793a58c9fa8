/*
 * Unit tests of pp_arena's growable buffer: pp_buf_printf (formatting into
 * the room there is, again when it was not enough) and the number
 * formatters, each against printf itself as the oracle: pp_buf_append_int
 * against "%lld", pp_buf_append_double against the loop it replaces (the
 * shortest of "%.15g".."%.17g" that strtod reads back), on edge values,
 * decimals of every magnitude and precision, and random bit patterns.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pp_arena.h"
#include "pp_check.h"

/* The text the renderer printed before pp_buf_append_double. */
static void oracle_double(double d, char out[40])
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(out, 40, "%.*g", prec, d);
        if (strtod(out, NULL) == d)
            return;
    }
}

static void check_double(double d)
{
    struct pp_buf b;
    char want[40];

    pp_buf_init(&b);
    oracle_double(d, want);
    ck_assert_int_eq(pp_buf_append_double(&b, d), PP_OK);
    ck_assert_msg(strcmp(b.data, want) == 0, "%.17g: got '%s', want '%s'", d, b.data, want);
    ck_assert_uint_eq(b.len, strlen(want));
    pp_buf_cleanup(&b);
}

static void check_int(int64_t v)
{
    struct pp_buf b;
    char want[32];
    char got[PP_FMT_INT_MAX];

    snprintf(want, sizeof want, "%lld", (long long)v);
    ck_assert_uint_eq(pp_fmt_int(got, v), strlen(want));
    ck_assert_str_eq(got, want);
    pp_buf_init(&b);
    ck_assert_int_eq(pp_buf_append(&b, "x", 1), PP_OK);
    ck_assert_int_eq(pp_buf_append_int(&b, v), PP_OK);
    ck_assert_uint_eq(b.len, strlen(want) + 1);
    ck_assert_str_eq(b.data + 1, want);
    pp_buf_cleanup(&b);
}

/* A deterministic 64-bit generator (splitmix64). */
static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

START_TEST(test_int)
{
    static const int64_t edges[] = {0,       1,       -1,  9,         10,
                                    -10,     99,      100, INT64_MAX, INT64_MIN,
                                    -999999, 1000000, 42,  INT32_MAX, INT32_MIN};
    uint64_t state = 7;

    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++)
        check_int(edges[i]);
    for (int i = 0; i < 100000; i++) {
        uint64_t r = next_random(&state);
        check_int((int64_t)(r >> (r % 64)) * ((r & 1) ? -1 : 1));
    }
}
END_TEST

START_TEST(test_double_edges)
{
    static const double edges[] = {0.0,
                                   -0.0,
                                   1.0,
                                   -1.0,
                                   12.0,
                                   0.1,
                                   0.2,
                                   0.1 + 0.2,
                                   1e-4,
                                   9.9999e-5,
                                   1.00000000000001e-4,
                                   1e15,
                                   999999999999999.0,
                                   999999999999999.9,
                                   1e15 - 0.5,
                                   123456789012345.0,
                                   1234567890123456.0,
                                   0.000123456789012345,
                                   -88.8298,
                                   -179.9999999,
                                   90.0,
                                   5e-324,
                                   DBL_MIN,
                                   DBL_MAX,
                                   -DBL_MAX,
                                   1.0 / 3.0,
                                   2.0 / 3.0,
                                   M_PI,
                                   1e22,
                                   1e21,
                                   4.35,
                                   0.30000000000000004,
                                   9007199254740993.0};

    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++)
        check_double(edges[i]);
}
END_TEST

/* Decimals as text, read with strtod: every precision up to 17 digits at
 * magnitudes across the fast path's bounds and past them. */
START_TEST(test_double_decimals)
{
    uint64_t state = 11;

    for (int i = 0; i < 100000; i++) {
        uint64_t r = next_random(&state);
        int digits = 1 + (int)(r % 17);
        int exp10 = (int)((r >> 8) % 26) - 8; /* 1e-8 .. 1e17 */
        uint64_t mant = next_random(&state);
        char text[64];
        uint64_t lim = 1;

        for (int k = 0; k < digits; k++)
            lim *= 10;
        snprintf(text, sizeof text, "%s%llue%d", (r >> 40) & 1 ? "-" : "",
                 (unsigned long long)(mant % lim), exp10 - digits + 1);
        check_double(strtod(text, NULL));
    }
}
END_TEST

START_TEST(test_double_bits)
{
    uint64_t state = 13;

    for (int i = 0; i < 100000; i++) {
        uint64_t r = next_random(&state);
        double d;

        memcpy(&d, &r, sizeof d);
        if (isfinite(d))
            check_double(d);
    }
}
END_TEST

/* Coordinates as the emulator and the seed data write them. */
START_TEST(test_double_coordinates)
{
    uint64_t state = 17;

    for (int i = 0; i < 100000; i++) {
        uint64_t r = next_random(&state);
        int scale = 1 + (int)(r % 10);
        double unit = pow(10.0, scale);
        int64_t scaled = (int64_t)((r >> 8) % (uint64_t)(180 * unit)) - (int64_t)(90 * unit);
        char text[40];

        snprintf(text, sizeof text, "%.*f", scale, (double)scaled / unit);
        check_double(strtod(text, NULL));
    }
}
END_TEST

START_TEST(test_printf_growth)
{
    struct pp_buf b;
    char big[300];

    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    pp_buf_init(&b);
    ck_assert_int_eq(pp_buf_printf(&b, "%d-%s", 7, "x"), PP_OK);
    ck_assert_str_eq(b.data, "7-x");
    /* Longer than the room left: formatted again after growing. */
    for (int i = 0; i < 20; i++)
        ck_assert_int_eq(pp_buf_printf(&b, "[%s]", big), PP_OK);
    ck_assert_uint_eq(b.len, 3 + 20 * (sizeof big + 1));
    ck_assert_uint_eq(strlen(b.data), b.len);
    for (int i = 0; i < 20; i++) {
        const char *p = b.data + 3 + (size_t)i * (sizeof big + 1);
        ck_assert_int_eq(p[0], '[');
        ck_assert_int_eq(p[sizeof big], ']');
        ck_assert_int_eq(memcmp(p + 1, big, sizeof big - 1), 0);
    }
    /* Nothing to format. */
    ck_assert_int_eq(pp_buf_printf(&b, "%s", ""), PP_OK);
    ck_assert_uint_eq(strlen(b.data), b.len);
    pp_buf_cleanup(&b);
}
END_TEST

static Suite *arena_suite(void)
{
    Suite *s = suite_create("arena");
    TCase *tc = tcase_create("numbers");

    tcase_add_test(tc, test_int);
    tcase_add_test(tc, test_double_edges);
    tcase_add_test(tc, test_double_decimals);
    tcase_add_test(tc, test_double_bits);
    tcase_add_test(tc, test_double_coordinates);
    tcase_add_test(tc, test_printf_growth);
    suite_add_tcase(s, tc);
    return s;
}

PP_CHECK_MAIN(arena_suite)
