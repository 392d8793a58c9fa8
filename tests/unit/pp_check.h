/*
 * pp_check: the few helpers every unit-test program shares.
 *
 * Each tests/unit/test_<module>.c builds one Check suite (one test case per
 * behaviour) and ends with PP_CHECK_MAIN(<suite constructor>).
 */
#ifndef PP_CHECK_H
#define PP_CHECK_H

#include <check.h>
#include <stdlib.h>
#include <string.h>

/* Runs the suite (taking ownership of it) and returns the exit status. */
static inline int pp_check_run(Suite *suite)
{
    SRunner *runner = srunner_create(suite);
    int failed;

    srunner_run_all(runner, CK_NORMAL);
    failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#define PP_CHECK_MAIN(make_suite)                                                                  \
    int main(void)                                                                                 \
    {                                                                                              \
        return pp_check_run(make_suite());                                                         \
    }

/* Adds a test case holding one test function, named after the function. */
#define PP_CHECK_TCASE(suite, fn)                                                                  \
    do {                                                                                           \
        TCase *tc_ = tcase_create(#fn);                                                            \
        tcase_add_test(tc_, fn);                                                                   \
        suite_add_tcase((suite), tc_);                                                             \
    } while (0)

/*
 * A copy of text[0..len) in a fresh heap block with `padding` readable
 * bytes after it, filled with `fill` (so that nothing past len can be
 * mistaken for content). Exact-size blocks (padding 0) let ASan catch
 * reads past the end. The caller frees it.
 */
static inline char *pp_check_copy(const char *text, size_t len, size_t padding, char fill)
{
    char *buf = malloc(len + padding + (len + padding == 0));

    ck_assert_ptr_nonnull(buf);
    if (len)
        memcpy(buf, text, len);
    memset(buf + len, fill, padding);
    return buf;
}

#endif
