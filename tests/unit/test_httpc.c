/*
 * pp_httpc's asynchronous client (pp_httpc_multi_*) and header lookup.
 * The multi client runs against a tiny HTTP/1.1 server on a loopback port
 * (a thread here: keep-alive, Content-Length bodies, answers with the body's
 * length and an ETag), with its sockets on io_uring and on libcurl's own
 * poll; and against a port where nothing listens (retriable failure).
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pp_httpc.h"
#include "pp_uring.h"

/* --- the test server --- */

struct server {
    int fd;
    int port;
    pthread_t thread;
};

/* Serves one connection until the client closes it. */
static void *server_conn(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[1 << 16];
    size_t len = 0;

    for (;;) {
        char *end = NULL;
        size_t head_len;
        size_t body_len = 0;
        const char *cl;
        char answer[256];
        ssize_t n;

        while ((end = memmem(buf, len, "\r\n\r\n", 4)) == NULL) {
            n = read(fd, buf + len, sizeof buf - len);
            if (n <= 0)
                goto out;
            len += (size_t)n;
        }
        head_len = (size_t)(end - buf) + 4;
        buf[head_len - 1] = '\0';
        cl = strcasestr(buf, "content-length:");
        if (cl != NULL)
            body_len = strtoul(cl + 15, NULL, 10);
        /* Consume the body (may be larger than the buffer). */
        {
            size_t have = len - head_len;
            size_t left = body_len > have ? body_len - have : 0;

            len = have > body_len ? have - body_len : 0;
            memmove(buf, buf + head_len + (have - len), len);
            while (left > 0) {
                char sink[8192];

                n = read(fd, sink, left < sizeof sink ? left : sizeof sink);
                if (n <= 0)
                    goto out;
                left -= (size_t)n;
            }
        }
        {
            char body[64];
            int body_n = snprintf(body, sizeof body, "len=%zu", body_len);
            int answer_n =
                snprintf(answer, sizeof answer,
                         "HTTP/1.1 200 OK\r\nETag: \"e%zu\"\r\nContent-Length: %d\r\n\r\n%s",
                         body_len, body_n, body);

            if (write(fd, answer, (size_t)answer_n) != answer_n)
                goto out;
        }
    }
out:
    close(fd);
    return NULL;
}

static void *server_main(void *arg)
{
    struct server *srv = arg;

    for (;;) {
        pthread_t t;
        int fd = accept(srv->fd, NULL, NULL);

        if (fd < 0)
            return NULL;
        pthread_create(&t, NULL, server_conn, (void *)(intptr_t)fd);
        pthread_detach(t);
    }
}

static void server_start(struct server *srv)
{
    struct sockaddr_in addr = {.sin_family = AF_INET};
    socklen_t addr_len = sizeof addr;

    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    srv->fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(srv->fd, 0);
    ck_assert_int_eq(bind(srv->fd, (struct sockaddr *)&addr, sizeof addr), 0);
    ck_assert_int_eq(listen(srv->fd, 64), 0);
    ck_assert_int_eq(getsockname(srv->fd, (struct sockaddr *)&addr, &addr_len), 0);
    srv->port = ntohs(addr.sin_port);
    pthread_create(&srv->thread, NULL, server_main, srv);
    pthread_detach(srv->thread);
}

/* A loopback port where nothing listens (bound, then closed). */
static int dead_port(void)
{
    struct sockaddr_in addr = {.sin_family = AF_INET};
    socklen_t addr_len = sizeof addr;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&addr, sizeof addr), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&addr, &addr_len), 0);
    close(fd);
    return ntohs(addr.sin_port);
}

/* --- requests --- */

#define N_REQUESTS 64

struct call {
    struct pp_httpc_response resp;
    struct pp_buf headers;
    char *body;
    size_t body_len;
    int n_done;
    struct pp_httpc_result result;
    char msg[512];
};

static void on_done(void *arg, const struct pp_httpc_result *result)
{
    struct call *c = arg;

    c->n_done++;
    c->result = *result;
    snprintf(c->msg, sizeof c->msg, "%s", result->msg);
    c->result.msg = c->msg;
}

/* Runs until every call is done (10 s at most). */
static void run_all(struct pp_httpc_multi *multi, struct call *calls, size_t n)
{
    for (int i = 0; i < 1000 && pp_httpc_multi_running(multi) > 0; i++)
        ck_assert_int_eq(pp_httpc_multi_run(multi, 10), PP_OK);
    ck_assert_uint_eq(pp_httpc_multi_running(multi), 0);
    for (size_t i = 0; i < n; i++)
        ck_assert_int_eq(calls[i].n_done, 1);
}

/* Many PUTs with bodies of different sizes in flight at once on one
 * connection cache: each gets its own answer and headers. */
static void many_requests(bool is_uring)
{
    struct server srv;
    struct pp_uring *loop = NULL;
    struct pp_httpc_multi *multi;
    struct call *calls = calloc(N_REQUESTS, sizeof *calls);
    char url[64];
    int err_no;

    server_start(&srv);
    if (is_uring && pp_uring_new(0, 0, &loop, &err_no) != PP_OK)
        loop = NULL; /* io_uring refused here: the poll path twice */
    ck_assert_int_eq(pp_httpc_multi_new(loop, &multi), PP_OK);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/obj", srv.port);
    for (size_t i = 0; i < N_REQUESTS; i++) {
        struct call *c = &calls[i];
        const char *headers[] = {"X-Test: yes", NULL};
        struct pp_httpc_request req = {.method = "PUT", .url = url, .headers = headers};

        c->body_len = i * 997 + (i % 3 == 0 ? 200000 : 0);
        c->body = malloc(c->body_len + 1);
        memset(c->body, 'a' + (int)(i % 26), c->body_len);
        pp_buf_init(&c->resp.body);
        pp_buf_init(&c->headers);
        c->resp.headers = &c->headers;
        req.body = c->body;
        req.body_len = c->body_len;
        ck_assert_int_eq(pp_httpc_multi_start(multi, &req, &c->resp, on_done, c), PP_OK);
    }
    ck_assert_uint_eq(pp_httpc_multi_running(multi), N_REQUESTS);
    run_all(multi, calls, N_REQUESTS);
    for (size_t i = 0; i < N_REQUESTS; i++) {
        struct call *c = &calls[i];
        char want[64];
        const char *etag;
        size_t etag_len;

        ck_assert_msg(c->result.err == PP_OK, "%zu: %s", i, c->msg);
        ck_assert_uint_eq(c->result.status, 200);
        ck_assert_uint_eq(c->resp.status, 200);
        snprintf(want, sizeof want, "len=%zu", c->body_len);
        ck_assert_uint_eq(c->resp.body.len, strlen(want));
        ck_assert(memcmp(c->resp.body.data, want, strlen(want)) == 0);
        ck_assert(pp_httpc_header_find(&c->headers, "etag", &etag, &etag_len));
        snprintf(want, sizeof want, "\"e%zu\"", c->body_len);
        ck_assert_uint_eq(etag_len, strlen(want));
        ck_assert(memcmp(etag, want, etag_len) == 0);
        pp_buf_cleanup(&c->resp.body);
        pp_buf_cleanup(&c->headers);
        free(c->body);
    }
    pp_httpc_multi_destroy(multi);
    pp_uring_destroy(loop);
    free(calls);
}

START_TEST(test_multi_many_uring)
{
    many_requests(true);
}
END_TEST

START_TEST(test_multi_many_polled)
{
    many_requests(false);
}
END_TEST

/* Nothing listens: a transport failure flagged retriable, status 0, a
 * message naming the method and URL without its query. */
START_TEST(test_multi_refused)
{
    struct pp_uring *loop = NULL;
    struct pp_httpc_multi *multi;
    struct call c;
    char url[96];
    int err_no;

    memset(&c, 0, sizeof c);
    if (_i == 0 && pp_uring_new(0, 0, &loop, &err_no) != PP_OK)
        loop = NULL;
    ck_assert_int_eq(pp_httpc_multi_new(loop, &multi), PP_OK);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/k?uploadId=secret", dead_port());
    pp_buf_init(&c.resp.body);
    ck_assert_int_eq(
        pp_httpc_multi_start(multi, &(struct pp_httpc_request){.method = "DELETE", .url = url},
                             &c.resp, on_done, &c),
        PP_OK);
    run_all(multi, &c, 1);
    ck_assert_int_eq(c.result.err, PP_ERR_IO);
    ck_assert(c.result.is_retriable);
    ck_assert_uint_eq(c.result.status, 0);
    ck_assert_msg(strstr(c.msg, "DELETE http://127.0.0.1:") != NULL, "%s", c.msg);
    ck_assert_msg(strstr(c.msg, "secret") == NULL, "%s", c.msg);
    pp_buf_cleanup(&c.resp.body);
    pp_httpc_multi_destroy(multi);
    pp_uring_destroy(loop);
}
END_TEST

/* A request abandoned by destroy: its callback is never called, nothing
 * leaks (ASan). */
START_TEST(test_multi_destroy_running)
{
    struct server srv;
    struct pp_uring *loop = NULL;
    struct pp_httpc_multi *multi;
    struct call c;
    char url[64];
    int err_no;

    memset(&c, 0, sizeof c);
    server_start(&srv);
    if (pp_uring_new(0, 0, &loop, &err_no) != PP_OK)
        loop = NULL;
    ck_assert_int_eq(pp_httpc_multi_new(loop, &multi), PP_OK);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/x", srv.port);
    pp_buf_init(&c.resp.body);
    ck_assert_int_eq(
        pp_httpc_multi_start(multi, &(struct pp_httpc_request){.url = url}, &c.resp, on_done, &c),
        PP_OK);
    ck_assert_int_eq(pp_httpc_multi_run(multi, 0), PP_OK);
    pp_httpc_multi_destroy(multi);
    pp_uring_destroy(loop);
    ck_assert_int_eq(c.n_done, 0);
    pp_buf_cleanup(&c.resp.body);
}
END_TEST

static bool find(const char *headers, const char *name, const char *want)
{
    struct pp_buf buf;
    const char *value = NULL;
    size_t len = 0;
    bool is_found;

    pp_buf_init(&buf);
    pp_buf_append_str(&buf, headers);
    is_found = pp_httpc_header_find(&buf, name, &value, &len);
    if (is_found && want != NULL)
        is_found = len == strlen(want) && memcmp(value, want, len) == 0;
    pp_buf_cleanup(&buf);
    return is_found;
}

START_TEST(test_header_find)
{
    struct pp_buf empty;
    const char *value;
    size_t len;

    ck_assert(find("HTTP/1.1 200 OK\r\nETag: \"abc\"\r\n\r\n", "etag", "\"abc\""));
    ck_assert(find("HTTP/1.1 200 OK\r\netag:\t  x y \t\r\n\r\n", "ETag", "x y"));
    /* The last response's header wins (100 Continue, redirects before). */
    ck_assert(find("HTTP/1.1 100 Continue\r\nETag: old\r\n\r\nHTTP/1.1 200 OK\r\nETag: new\r\n\r\n",
                   "ETag", "new"));
    ck_assert(find("HTTP/1.1 200 OK\r\nETag:\r\n\r\n", "ETag", ""));
    ck_assert(!find("HTTP/1.1 200 OK\r\nETags: x\r\nX-ETag: y\r\n\r\n", "ETag", NULL));
    ck_assert(!find("HTTP/1.1 200 OK\r\n\r\n", "ETag", NULL));
    ck_assert(find("ETag: no newline", "etag", "no newline"));
    pp_buf_init(&empty);
    ck_assert(!pp_httpc_header_find(&empty, "ETag", &value, &len));
}
END_TEST

static Suite *httpc_suite(void)
{
    Suite *s = suite_create("httpc");
    TCase *tc = tcase_create("multi");

    tcase_add_test(tc, test_multi_many_uring);
    tcase_add_test(tc, test_multi_many_polled);
    tcase_add_loop_test(tc, test_multi_refused, 0, 2);
    tcase_add_test(tc, test_multi_destroy_running);
    tcase_add_test(tc, test_header_find);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(httpc_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
