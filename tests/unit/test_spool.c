/*
 * Unit tests of pp_spool: blocks read back as written, released blocks
 * reused (the file grows only to the most blocks held at once, and
 * shrinks to nothing when none is held), a file nobody sees in the
 * directory, and a directory that cannot hold one.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pp_check.h"
#include "pp_spool.h"

/* A block whose every byte says which block and which round wrote it. */
static void fill(unsigned char *block, unsigned tag)
{
    for (size_t i = 0; i < PP_SPOOL_BLOCK; i++)
        block[i] = (unsigned char)(tag * 31u + i * 7u + (i >> 12));
}

static void expect_block(struct pp_spool *spool, uint32_t block, unsigned tag)
{
    static unsigned char want[PP_SPOOL_BLOCK];
    struct pp_buf out;

    fill(want, tag);
    pp_buf_init(&out);
    ck_assert_int_eq(pp_buf_append(&out, "x", 1), PP_OK); /* reads append */
    ck_assert_int_eq(pp_spool_read(spool, block, &out), PP_OK);
    ck_assert_uint_eq(out.len, 1 + PP_SPOOL_BLOCK);
    ck_assert_int_eq(out.data[0], 'x');
    ck_assert_int_eq(memcmp(out.data + 1, want, PP_SPOOL_BLOCK), 0);
    pp_buf_cleanup(&out);
}

/* The entries of dir other than "." and "..". */
static int dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d)) != NULL)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

START_TEST(test_blocks_round_trip_and_reuse)
{
    static unsigned char data[PP_SPOOL_BLOCK];
    char dir[] = "/tmp/pp_test_spool.XXXXXX";
    struct pp_spool *spool;
    uint32_t b[8];
    char msg[256];

    ck_assert_ptr_nonnull(mkdtemp(dir));
    ck_assert_int_eq(pp_spool_open(dir, &spool, msg, sizeof msg), PP_OK);
    ck_assert_str_eq(pp_spool_dir(spool), dir);
    for (unsigned i = 0; i < 8; i++) {
        fill(data, i);
        ck_assert_int_eq(pp_spool_write(spool, data, &b[i]), PP_OK);
        ck_assert_uint_eq(b[i], i); /* a new file: blocks in order */
    }
    ck_assert_uint_eq(pp_spool_blocks(spool), 8);
    ck_assert_int_eq(dir_entries(dir), 0); /* the file has no name */
    for (unsigned i = 0; i < 8; i++)
        expect_block(spool, b[i], i);

    /* Released blocks are written again before the file grows. */
    pp_spool_release(spool, b[2]);
    pp_spool_release(spool, b[5]);
    ck_assert_uint_eq(pp_spool_blocks(spool), 6);
    fill(data, 100);
    ck_assert_int_eq(pp_spool_write(spool, data, &b[5]), PP_OK);
    fill(data, 102);
    ck_assert_int_eq(pp_spool_write(spool, data, &b[2]), PP_OK);
    ck_assert(b[5] < 8 && b[2] < 8 && b[5] != b[2]);
    ck_assert(b[5] == 2 || b[5] == 5);
    ck_assert(b[2] == 2 || b[2] == 5);
    expect_block(spool, b[5], 100);
    expect_block(spool, b[2], 102);
    for (unsigned i = 0; i < 8; i++)
        if (i != 2 && i != 5)
            expect_block(spool, b[i], i);

    /* Nothing held: the file starts over from block 0. */
    for (unsigned i = 0; i < 8; i++)
        pp_spool_release(spool, b[i]);
    ck_assert_uint_eq(pp_spool_blocks(spool), 0);
    fill(data, 7);
    ck_assert_int_eq(pp_spool_write(spool, data, &b[0]), PP_OK);
    ck_assert_uint_eq(b[0], 0);
    expect_block(spool, b[0], 7);
    pp_spool_close(spool);
    ck_assert_int_eq(dir_entries(dir), 0);
    ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

START_TEST(test_open_fails_clearly)
{
    struct pp_spool *spool = (struct pp_spool *)1;
    char msg[256] = "";

    ck_assert_int_eq(pp_spool_open("/nonexistent/pp_spool", &spool, msg, sizeof msg), PP_ERR_IO);
    ck_assert_ptr_null(spool);
    ck_assert_ptr_nonnull(strstr(msg, "/nonexistent/pp_spool"));
    ck_assert_ptr_nonnull(strstr(msg, "No such file"));
    pp_spool_close(NULL);
}
END_TEST

static Suite *spool_suite(void)
{
    Suite *s = suite_create("spool");
    TCase *tc = tcase_create("spool");

    tcase_add_test(tc, test_blocks_round_trip_and_reuse);
    tcase_add_test(tc, test_open_fails_clearly);
    suite_add_tcase(s, tc);
    return s;
}

PP_CHECK_MAIN(spool_suite)
