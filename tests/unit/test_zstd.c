/*
 * Unit tests of pp_zstd's whole-frame decompression: a frame whose header
 * gives its size (pp_zstd_compress) and a streamed one (pp_zstd_enc_write)
 * both come back whole, appended to what the buffer held; bytes that are
 * not one whole frame are refused.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pp_check.h"
#include "pp_zstd.h"

#define N_INPUT (3u << 20)

/* Bytes that compress somewhat, like a state: runs of zeros and counters. */
static unsigned char *make_input(void)
{
    unsigned char *in = malloc(N_INPUT);
    uint64_t x = 42;

    ck_assert_ptr_nonnull(in);
    for (size_t i = 0; i < N_INPUT; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        in[i] = (i / 4096) % 3 == 0 ? 0 : (unsigned char)(x >> 60);
    }
    return in;
}

static void expect_round_trip(const struct pp_buf *frame, const unsigned char *in, size_t len)
{
    struct pp_buf out;

    pp_buf_init(&out);
    ck_assert_int_eq(pp_buf_append(&out, "ab", 2), PP_OK);
    ck_assert_int_eq(pp_zstd_decompress(frame->data, frame->len, &out), PP_OK);
    ck_assert_uint_eq(out.len, 2 + len);
    ck_assert_int_eq(memcmp(out.data, "ab", 2), 0);
    ck_assert_int_eq(memcmp(out.data + 2, in, len), 0);
    pp_buf_cleanup(&out);
}

static void expect_refused(const void *data, size_t len)
{
    struct pp_buf out;

    pp_buf_init(&out);
    ck_assert_int_eq(pp_zstd_decompress(data, len, &out), PP_ERR_CORRUPT);
    pp_buf_cleanup(&out);
}

START_TEST(test_sized_frame)
{
    unsigned char *in = make_input();
    struct pp_zstd_enc *enc = pp_zstd_enc_new(3);
    struct pp_buf frame;

    ck_assert_ptr_nonnull(enc);
    pp_buf_init(&frame);
    ck_assert_int_eq(pp_zstd_compress(enc, in, N_INPUT, &frame), PP_OK);
    ck_assert_uint_lt(frame.len, N_INPUT);
    expect_round_trip(&frame, in, N_INPUT);
    /* An empty input is a frame too. */
    frame.len = 0;
    ck_assert_int_eq(pp_zstd_compress(enc, in, 0, &frame), PP_OK);
    expect_round_trip(&frame, in, 0);
    pp_buf_cleanup(&frame);
    pp_zstd_enc_destroy(enc);
    free(in);
}
END_TEST

START_TEST(test_streamed_frame)
{
    unsigned char *in = make_input();
    struct pp_zstd_enc *enc = pp_zstd_enc_new(1);
    struct pp_buf frame;

    ck_assert_ptr_nonnull(enc);
    pp_buf_init(&frame);
    for (size_t at = 0; at < N_INPUT; at += 100000)
        ck_assert_int_eq(
            pp_zstd_enc_write(enc, in + at, N_INPUT - at < 100000 ? N_INPUT - at : 100000, &frame),
            PP_OK);
    ck_assert_int_eq(pp_zstd_enc_end(enc, &frame), PP_OK);
    expect_round_trip(&frame, in, N_INPUT);
    pp_buf_cleanup(&frame);
    pp_zstd_enc_destroy(enc);
    free(in);
}
END_TEST

START_TEST(test_not_a_whole_frame)
{
    unsigned char *in = make_input();
    struct pp_zstd_enc *enc = pp_zstd_enc_new(3);
    struct pp_buf frame;

    ck_assert_ptr_nonnull(enc);
    pp_buf_init(&frame);
    ck_assert_int_eq(pp_zstd_compress(enc, in, 100000, &frame), PP_OK);
    expect_refused("plain text, no frame", 20);
    expect_refused(frame.data, 0);
    expect_refused(frame.data, frame.len - 1); /* cut */
    expect_refused(frame.data, frame.len / 2);
    frame.data[0] ^= 1; /* magic */
    expect_refused(frame.data, frame.len);
    frame.data[0] ^= 1;
    ck_assert_int_eq(pp_buf_append(&frame, "xyz", 3), PP_OK); /* trailing bytes */
    expect_refused(frame.data, frame.len);
    pp_buf_cleanup(&frame);
    pp_zstd_enc_destroy(enc);
    free(in);
}
END_TEST

static Suite *zstd_suite(void)
{
    Suite *s = suite_create("zstd");

    PP_CHECK_TCASE(s, test_sized_frame);
    PP_CHECK_TCASE(s, test_streamed_frame);
    PP_CHECK_TCASE(s, test_not_a_whole_frame);
    return s;
}

PP_CHECK_MAIN(zstd_suite)
