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
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>
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

/* A free loopback port below the kernel's ephemeral range (32768-60999),
 * where the outgoing connections of tests running alongside cannot take it
 * between the probe and the bind; checked free by binding it. A server
 * started on it may still find it taken: callers retry on PP_ERR_IO. */
static inline int pp_check_free_port(void)
{
    static unsigned seed;

    if (seed == 0)
        seed = (unsigned)getpid() ^ (unsigned)time(NULL);
    for (int attempt = 0; attempt < 200; attempt++) {
        int port = 20000 + rand_r(&seed) % 12768;
        struct sockaddr_in sa = {.sin_family = AF_INET,
                                 .sin_port = htons((uint16_t)port),
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        int rc;

        ck_assert_int_ge(fd, 0);
        rc = bind(fd, (struct sockaddr *)&sa, sizeof sa);
        close(fd);
        if (rc == 0)
            return port;
    }
    ck_abort_msg("no free loopback port in 20000-32767");
    return -1;
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
