/*
 * pp_check: the few helpers every unit-test program shares.
 *
 * Each tests/unit/test_<module>.c builds one Check suite (one test case per
 * behaviour) and ends with PP_CHECK_MAIN(<suite constructor>).
 */
#ifndef PP_CHECK_H
#define PP_CHECK_H

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pp_kafka.h"

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

/* A loopback port that was free a moment ago (bind to port 0, read back
 * the kernel's choice, close). A server started on it may still find it
 * taken: callers retry on PP_ERR_IO. */
static inline int pp_check_free_port(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int port;

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

/* An in-process development broker whose topics get `partitions`
 * partitions, on a free loopback port; retried, since another process may
 * take the port between the probe and the bind. */
static inline struct pp_kafka_broker *pp_check_broker_start(int partitions)
{
    struct pp_kafka_broker *broker = NULL;
    char msg[256];
    char listen[64];

    for (int attempt = 0; attempt < 10 && broker == NULL; attempt++) {
        struct pp_kafka_broker_options opt = {.listen = listen, .partitions = partitions};
        snprintf(listen, sizeof listen, "127.0.0.1:%d", pp_check_free_port());
        enum pp_err err = pp_kafka_broker_new(&opt, &broker, msg, sizeof msg);
        ck_assert_msg(err == PP_OK || err == PP_ERR_IO, "broker: %s", msg);
    }
    ck_assert_ptr_nonnull(broker);
    return broker;
}

#endif
