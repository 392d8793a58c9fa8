/*
 * Unit tests of pp_http: servers on 127.0.0.1 port 0, spoken to with raw
 * sockets (every read and write has a timeout, so no test can hang).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "pp_check.h"
#include "pp_http.h"

#define TOKEN "s3cret-token"
#define IO_TIMEOUT_MS 5000

/* ---- client helpers ---- */

struct reply {
    unsigned status;
    char *text; /* whole response, NUL-terminated; caller frees */
    const char *body;
    size_t body_len;
};

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

static int client_connect(unsigned port)
{
    struct sockaddr_in addr;
    struct timeval tv = {IO_TIMEOUT_MS / 1000, 0};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    ck_assert_int_ge(fd, 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&addr, sizeof addr), 0);
    return fd;
}

static bool send_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);

        if (n <= 0)
            return false;
        data += n;
        len -= (size_t)n;
    }
    return true;
}

/* Reads until the server closes (requests say Connection: close) and
 * splits the response. */
static struct reply read_reply(int fd)
{
    struct reply reply = {0, NULL, NULL, 0};
    size_t len = 0, cap = 4096;
    char *text = malloc(cap);
    const char *end;

    ck_assert_ptr_nonnull(text);
    for (;;) {
        ssize_t n;

        if (cap - len < 2048) {
            cap *= 2;
            text = realloc(text, cap);
            ck_assert_ptr_nonnull(text);
        }
        n = recv(fd, text + len, cap - len - 1, 0);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    text[len] = '\0';
    reply.text = text;
    if (len >= 12 && strncmp(text, "HTTP/1.", 7) == 0)
        reply.status = (unsigned)atoi(text + 9);
    end = strstr(text, "\r\n\r\n");
    if (end != NULL) {
        reply.body = end + 4;
        reply.body_len = len - (size_t)(reply.body - text);
    }
    return reply;
}

static struct reply request_raw(unsigned port, const char *raw, size_t raw_len)
{
    int fd = client_connect(port);
    struct reply reply;

    send_all(fd, raw, raw_len); /* the server may answer and close early */
    reply = read_reply(fd);
    close(fd);
    return reply;
}

/* method path with optional extra header lines ("Name: v\r\n...") and body. */
static struct reply request(unsigned port, const char *method, const char *path,
                            const char *headers, const char *body)
{
    char head[2048];
    struct reply reply;
    char *raw;
    size_t body_len = body != NULL ? strlen(body) : 0;
    int n;

    n = snprintf(head, sizeof head, "%s %s HTTP/1.1\r\nHost: test\r\nConnection: close\r\n%s",
                 method, path, headers != NULL ? headers : "");
    ck_assert_int_lt(n, (int)sizeof head - 64);
    if (body != NULL)
        n += snprintf(head + n, sizeof head - (size_t)n, "Content-Length: %zu\r\n", body_len);
    n += snprintf(head + n, sizeof head - (size_t)n, "\r\n");
    raw = malloc((size_t)n + body_len + 1);
    ck_assert_ptr_nonnull(raw);
    memcpy(raw, head, (size_t)n);
    if (body_len)
        memcpy(raw + n, body, body_len);
    reply = request_raw(port, raw, (size_t)n + body_len);
    free(raw);
    return reply;
}

static bool reply_has_header(const struct reply *reply, const char *line)
{
    const char *end = reply->body != NULL ? reply->body : reply->text + strlen(reply->text);
    const char *hit = strcasestr(reply->text, line);

    return hit != NULL && hit < end;
}

static bool body_is(const struct reply *reply, const char *expected)
{
    return reply->body != NULL && reply->body_len == strlen(expected) &&
           memcmp(reply->body, expected, reply->body_len) == 0;
}

/* ---- handlers ---- */

static enum pp_err on_hello(void *arg, const struct pp_http_request *req,
                            struct pp_http_response *resp)
{
    (void)arg;
    (void)req;
    resp->content_type = "text/plain";
    return pp_buf_append_str(&resp->body, "hello");
}

/* Echoes the method, the matched tail, the body length and the body. */
static enum pp_err on_echo(void *arg, const struct pp_http_request *req,
                           struct pp_http_response *resp)
{
    enum pp_err err;

    (void)arg;
    resp->content_type = "text/plain";
    err = pp_buf_printf(&resp->body, "%s tail=[%.*s] len=%zu body=", req->method,
                        (int)req->tail.len, req->tail.ptr, req->body_len);
    if (err == PP_OK)
        err = pp_buf_append(&resp->body, req->body, req->body_len);
    return err;
}

static enum pp_err on_params(void *arg, const struct pp_http_request *req,
                             struct pp_http_response *resp)
{
    const char *window = pp_http_query(req, "window");
    const char *other = pp_http_query(req, "absent");
    const char *header = pp_http_header(req, "x-pinpipe-test");
    enum pp_err err;

    (void)arg;
    resp->status = 202;
    err = pp_http_response_header(resp, "X-Reply", "yes");
    if (err == PP_OK)
        err =
            pp_buf_printf(&resp->body, "window=%s absent=%s header=%s", window ? window : "(null)",
                          other ? other : "(null)", header ? header : "(null)");
    return err;
}

static enum pp_err on_fail(void *arg, const struct pp_http_request *req,
                           struct pp_http_response *resp)
{
    (void)arg;
    (void)req;
    (void)pp_buf_append_str(&resp->body, "partial");
    return PP_ERR_IO;
}

static enum pp_err on_unprocessable(void *arg, const struct pp_http_request *req,
                                    struct pp_http_response *resp)
{
    (void)arg;
    (void)req;
    return pp_http_response_error(resp, 422, 42201, "bad \"value\"\n\xff");
}

/* ---- server setup ---- */

static struct pp_http_options default_options(void)
{
    struct pp_http_options opts;

    memset(&opts, 0, sizeof opts);
    opts.listen = "127.0.0.1:0";
    opts.max_body_bytes = 1000;
    opts.connection_timeout_s = 10;
    return opts;
}

static struct pp_http *start_server(const struct pp_http_options *opts)
{
    struct pp_http *http = NULL;
    char msg[256] = "";

    ck_assert_msg(pp_http_new(opts, &http, msg, sizeof msg) == PP_OK, "%s", msg);
    ck_assert_int_eq(pp_http_route(http, "GET", "/hello", on_hello, NULL, 0), PP_OK);
    ck_assert_int_eq(pp_http_route(http, "GET", "/healthz", on_hello, NULL, PP_HTTP_PUBLIC), PP_OK);
    ck_assert_int_eq(pp_http_route(http, "GET", "/topics/*", on_echo, NULL, 0), PP_OK);
    ck_assert_int_eq(pp_http_route(http, "POST", "/topics/*", on_echo, NULL, PP_HTTP_BODY), PP_OK);
    ck_assert_int_eq(pp_http_route(http, "GET", "/topics/special", on_hello, NULL, 0), PP_OK);
    ck_assert_int_eq(pp_http_route(http, "POST", "/echo", on_echo, NULL, PP_HTTP_BODY), PP_OK);
    ck_assert_int_eq(pp_http_route(http, "GET", "/params", on_params, NULL, 0), PP_OK);
    ck_assert_int_eq(pp_http_route(http, "GET", "/fail", on_fail, NULL, 0), PP_OK);
    ck_assert_int_eq(pp_http_route(http, "GET", "/bad", on_unprocessable, NULL, 0), PP_OK);
    ck_assert_msg(pp_http_start(http, msg, sizeof msg) == PP_OK, "%s", msg);
    ck_assert_uint_ne(pp_http_port(http), 0);
    return http;
}

static struct pp_http *start_default(void)
{
    struct pp_http_options opts = default_options();

    return start_server(&opts);
}

/* ---- tests ---- */

START_TEST(test_get_route)
{
    struct pp_http *http = start_default();
    struct reply reply = request(pp_http_port(http), "GET", "/hello", NULL, NULL);

    ck_assert_uint_eq(reply.status, 200);
    ck_assert(body_is(&reply, "hello"));
    ck_assert(reply_has_header(&reply, "Content-Type: text/plain"));
    ck_assert(reply_has_header(&reply, "Content-Length: 5"));
    free(reply.text);
    pp_http_destroy(http);
}
END_TEST

START_TEST(test_prefix_route_tail)
{
    struct pp_http *http = start_default();
    unsigned port = pp_http_port(http);
    struct reply reply = request(port, "GET", "/topics/pin.events", NULL, NULL);

    ck_assert_uint_eq(reply.status, 200);
    ck_assert(body_is(&reply, "GET tail=[pin.events] len=0 body="));
    free(reply.text);
    /* Percent-decoded; the query string is not part of the tail. */
    reply = request(port, "GET", "/topics/a%20b?x=1", NULL, NULL);
    ck_assert(body_is(&reply, "GET tail=[a b] len=0 body="));
    free(reply.text);
    /* Except %00, kept as it is: a NUL would cut the path short. Bad
     * escapes stay too. */
    reply = request(port, "GET", "/topics/a%00b%4%zz%2F%2f%41", NULL, NULL);
    ck_assert(body_is(&reply, "GET tail=[a%00b%4%zz//A] len=0 body="));
    free(reply.text);
    reply = request(port, "GET", "/topics%00/x", NULL, NULL);
    ck_assert_uint_eq(reply.status, 404);
    free(reply.text);
    /* An exact route wins over the prefix. */
    reply = request(port, "GET", "/topics/special", NULL, NULL);
    ck_assert(body_is(&reply, "hello"));
    free(reply.text);
    /* The prefix needs its slash. */
    reply = request(port, "GET", "/topics", NULL, NULL);
    ck_assert_uint_eq(reply.status, 404);
    free(reply.text);
    pp_http_destroy(http);
}
END_TEST

START_TEST(test_query_and_headers)
{
    struct pp_http *http = start_default();
    struct reply reply = request(pp_http_port(http), "GET", "/params?window=tumbling%3A1m&x=2",
                                 "X-PinPipe-TEST: Value 1\r\n", NULL);

    ck_assert_uint_eq(reply.status, 202);
    ck_assert(body_is(&reply, "window=tumbling:1m absent=(null) header=Value 1"));
    ck_assert(reply_has_header(&reply, "X-Reply: yes"));
    ck_assert(reply_has_header(&reply, "Content-Type: application/json"));
    free(reply.text);
    reply = request(pp_http_port(http), "GET", "/params?window=all%00x", NULL, NULL);
    ck_assert(body_is(&reply, "window=all%00x absent=(null) header=(null)"));
    free(reply.text);
    pp_http_destroy(http);
}
END_TEST

START_TEST(test_post_body_whole)
{
    struct pp_http_options opts = default_options();
    struct pp_http *http;
    char body[20001];
    char expected[20100];
    struct reply reply;
    char head[256];
    int fd, n, i;

    opts.max_body_bytes = 20000;
    http = start_server(&opts);
    for (i = 0; i < 20000; i++)
        body[i] = (char)('a' + i % 26);
    body[20000] = '\0';
    snprintf(expected, sizeof expected, "POST tail=[t1] len=20000 body=%s", body);
    /* Sent in pieces with pauses: the handler still sees it whole, once. */
    fd = client_connect(pp_http_port(http));
    n = snprintf(
        head, sizeof head,
        "POST /topics/t1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        "Content-Type: application/vnd.kafka.json.v2+json\r\nContent-Length: 20000\r\n\r\n");
    ck_assert(send_all(fd, head, (size_t)n));
    for (i = 0; i < 4; i++) {
        ck_assert(send_all(fd, body + i * 5000, 5000));
        sleep_ms(20);
    }
    reply = read_reply(fd);
    close(fd);
    ck_assert_uint_eq(reply.status, 200);
    ck_assert(body_is(&reply, expected));
    free(reply.text);
    /* Chunked transfer encoding is reassembled too. */
    reply = request_raw(
        pp_http_port(http),
        "POST /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
        strlen("POST /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
               "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"));
    ck_assert_uint_eq(reply.status, 200);
    ck_assert(body_is(&reply, "POST tail=[] len=11 body=hello world"));
    free(reply.text);
    pp_http_destroy(http);
}
END_TEST

START_TEST(test_413_content_length)
{
    struct pp_http *http = start_default();
    unsigned port = pp_http_port(http);
    const char *head = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\n";
    struct reply reply;
    double t0 = now_s();
    int fd;

    /* Answered from the headers alone: no body is ever sent. */
    fd = client_connect(port);
    ck_assert(send_all(fd, head, strlen(head)));
    reply = read_reply(fd);
    close(fd);
    ck_assert_uint_eq(reply.status, 413);
    ck_assert_ptr_nonnull(strstr(reply.body, "{\"error_code\":41301,\"message\":\""));
    ck_assert(reply_has_header(&reply, "Content-Type: application/json"));
    ck_assert(now_s() - t0 < 3.0);
    free(reply.text);
    /* At the limit exactly is fine. */
    {
        char body[1001];

        memset(body, 'x', 1000);
        body[1000] = '\0';
        reply = request(port, "POST", "/echo", NULL, body);
        ck_assert_uint_eq(reply.status, 200);
        free(reply.text);
    }
    pp_http_destroy(http);
}
END_TEST

START_TEST(test_413_chunked)
{
    struct pp_http *http = start_default();
    const char *head = "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    char chunk[600];
    struct reply reply;
    int fd, n, i;

    fd = client_connect(pp_http_port(http));
    ck_assert(send_all(fd, head, strlen(head)));
    /* Two chunks of 400 bytes fit; the third crosses the 1000-byte limit.
     * The client then keeps the connection open, sending nothing more: the
     * 413 must come without the end of the body. */
    for (i = 0; i < 3; i++) {
        n = snprintf(chunk, sizeof chunk, "190\r\n");
        memset(chunk + n, 'c', 400);
        memcpy(chunk + n + 400, "\r\n", 2);
        ck_assert(send_all(fd, chunk, (size_t)n + 402));
        sleep_ms(20);
    }
    reply = read_reply(fd);
    close(fd);
    ck_assert_uint_eq(reply.status, 413);
    ck_assert_ptr_nonnull(strstr(reply.body, "{\"error_code\":41301,"));
    free(reply.text);
    pp_http_destroy(http);
}
END_TEST

START_TEST(test_auth)
{
    struct pp_http_options opts = default_options();
    struct pp_http *http;
    struct reply reply;
    unsigned port;

    opts.auth_token = TOKEN;
    http = start_server(&opts);
    port = pp_http_port(http);

    reply = request(port, "GET", "/hello", NULL, NULL);
    ck_assert_uint_eq(reply.status, 401);
    ck_assert(reply_has_header(&reply, "WWW-Authenticate: Bearer"));
    ck_assert_ptr_nonnull(strstr(reply.body, "{\"error_code\":40101,\"message\":\""));
    free(reply.text);

    reply = request(port, "GET", "/hello", "Authorization: Bearer wrong-token!\r\n", NULL);
    ck_assert_uint_eq(reply.status, 401);
    free(reply.text);
    /* A prefix of the token, and the token with extra bytes, are wrong. */
    reply = request(port, "GET", "/hello", "Authorization: Bearer s3cret\r\n", NULL);
    ck_assert_uint_eq(reply.status, 401);
    free(reply.text);
    reply = request(port, "GET", "/hello", "Authorization: Bearer " TOKEN "x\r\n", NULL);
    ck_assert_uint_eq(reply.status, 401);
    free(reply.text);
    reply = request(port, "GET", "/hello", "Authorization: Basic " TOKEN "\r\n", NULL);
    ck_assert_uint_eq(reply.status, 401);
    free(reply.text);

    reply = request(port, "GET", "/hello", "authorization: bearer " TOKEN "\r\n", NULL);
    ck_assert_uint_eq(reply.status, 200);
    ck_assert(body_is(&reply, "hello"));
    free(reply.text);

    /* Public routes need no token. */
    reply = request(port, "GET", "/healthz", NULL, NULL);
    ck_assert_uint_eq(reply.status, 200);
    free(reply.text);
    /* An unknown path reveals nothing without a token. */
    reply = request(port, "GET", "/nope", NULL, NULL);
    ck_assert_uint_eq(reply.status, 401);
    free(reply.text);
    /* Auth comes before the body limit. */
    reply = request_raw(port, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 99999\r\n\r\n",
                        strlen("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 99999\r\n\r\n"));
    ck_assert_uint_eq(reply.status, 401);
    free(reply.text);
    pp_http_destroy(http);
}
END_TEST

START_TEST(test_auth_none_ignores_token)
{
    struct pp_http_options opts = default_options();
    struct pp_http *http;
    struct reply reply;

    opts.auth_token = TOKEN;
    opts.is_auth_none = true;
    http = start_server(&opts);
    reply = request(pp_http_port(http), "GET", "/hello", NULL, NULL);
    ck_assert_uint_eq(reply.status, 200);
    free(reply.text);
    pp_http_destroy(http);
}
END_TEST

START_TEST(test_404_405)
{
    struct pp_http *http = start_default();
    unsigned port = pp_http_port(http);
    struct reply reply;

    reply = request(port, "GET", "/nope\"", NULL, NULL);
    ck_assert_uint_eq(reply.status, 404);
    ck_assert_ptr_nonnull(strstr(reply.body, "{\"error_code\":40401,\"message\":\""));
    ck_assert_ptr_nonnull(strstr(reply.body, "/nope\\\""));
    free(reply.text);

    reply = request(port, "DELETE", "/hello", NULL, NULL);
    ck_assert_uint_eq(reply.status, 405);
    ck_assert(reply_has_header(&reply, "Allow: GET, HEAD\r\n"));
    ck_assert_ptr_nonnull(strstr(reply.body, "{\"error_code\":40501,"));
    free(reply.text);

    reply = request(port, "PUT", "/topics/x", NULL, "{}");
    ck_assert_uint_eq(reply.status, 405);
    ck_assert(reply_has_header(&reply, "Allow: GET, HEAD, POST\r\n"));
    free(reply.text);
    pp_http_destroy(http);
}
END_TEST

START_TEST(test_head)
{
    struct pp_http *http = start_default();
    struct reply reply = request(pp_http_port(http), "HEAD", "/hello", NULL, NULL);

    ck_assert_uint_eq(reply.status, 200);
    ck_assert(reply_has_header(&reply, "Content-Length: 5"));
    ck_assert_uint_eq(reply.body_len, 0);
    free(reply.text);
    pp_http_destroy(http);
}
END_TEST

START_TEST(test_handler_errors)
{
    struct pp_http *http = start_default();
    unsigned port = pp_http_port(http);
    struct reply reply;

    reply = request(port, "GET", "/fail", NULL, NULL);
    ck_assert_uint_eq(reply.status, 500);
    ck_assert_ptr_nonnull(strstr(reply.body, "{\"error_code\":50001,"));
    ck_assert_ptr_null(strstr(reply.body, "partial"));
    free(reply.text);
    /* pp_http_response_error escapes the message into valid JSON. */
    reply = request(port, "GET", "/bad", NULL, NULL);
    ck_assert_uint_eq(reply.status, 422);
    ck_assert(
        body_is(&reply, "{\"error_code\":42201,\"message\":\"bad \\\"value\\\"\\u000a\\ufffd\"}"));
    free(reply.text);
    pp_http_destroy(http);
}
END_TEST

START_TEST(test_non_loopback_needs_token)
{
    struct pp_http_options opts = default_options();
    struct pp_http *http = NULL;
    char msg[256] = "";

    opts.listen = "0.0.0.0:0";
    ck_assert_int_eq(pp_http_new(&opts, &http, msg, sizeof msg), PP_ERR_USAGE);
    ck_assert_ptr_null(http);
    ck_assert_ptr_nonnull(strstr(msg, "0.0.0.0:0 is not a loopback address"));

    opts.is_auth_none = true;
    ck_assert_int_eq(pp_http_new(&opts, &http, msg, sizeof msg), PP_OK);
    pp_http_destroy(http);
    http = NULL;

    opts.is_auth_none = false;
    opts.auth_token = TOKEN;
    ck_assert_int_eq(pp_http_new(&opts, &http, msg, sizeof msg), PP_OK);
    pp_http_destroy(http);
    http = NULL;

    /* Loopback spellings need nothing. */
    opts.auth_token = NULL;
    opts.listen = "localhost:0";
    ck_assert_int_eq(pp_http_new(&opts, &http, msg, sizeof msg), PP_OK);
    pp_http_destroy(http);
    http = NULL;
    opts.listen = "127.0.0.2:0";
    ck_assert_int_eq(pp_http_new(&opts, &http, msg, sizeof msg), PP_OK);
    pp_http_destroy(http);
    http = NULL;
}
END_TEST

START_TEST(test_bad_listen)
{
    static const char *const bad[] = {"",           "8080",        ":8080",           "127.0.0.1",
                                      "127.0.0.1:", "127.0.0.1:x", "127.0.0.1:65536", "::1:80",
                                      "[::1]80",    "[nothost]:80"};
    struct pp_http_options opts = default_options();
    struct pp_http *http = NULL;
    char msg[256];
    size_t i;

    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        opts.listen = bad[i];
        msg[0] = '\0';
        ck_assert_msg(pp_http_new(&opts, &http, msg, sizeof msg) == PP_ERR_USAGE, "%s", bad[i]);
        ck_assert_ptr_nonnull(strstr(msg, "http.listen"));
        ck_assert_ptr_null(http);
    }
    /* IPv6 loopback, when the machine has it. */
    opts.listen = "[::1]:0";
    if (pp_http_new(&opts, &http, msg, sizeof msg) == PP_OK) {
        ck_assert_uint_ne(pp_http_port(http), 0);
        pp_http_destroy(http);
    } else {
        ck_assert_ptr_nonnull(strstr(msg, "[::1]:0"));
    }
}
END_TEST

START_TEST(test_port_in_use)
{
    struct pp_http *http = start_default();
    struct pp_http_options opts = default_options();
    struct pp_http *second = NULL;
    char listen[64], msg[256] = "";

    snprintf(listen, sizeof listen, "127.0.0.1:%u", pp_http_port(http));
    opts.listen = listen;
    ck_assert_int_eq(pp_http_new(&opts, &second, msg, sizeof msg), PP_ERR_IO);
    ck_assert_ptr_null(second);
    ck_assert_msg(strstr(msg, listen) != NULL && strstr(msg, "in use") != NULL, "%s", msg);
    pp_http_destroy(http);
}
END_TEST

START_TEST(test_route_errors)
{
    struct pp_http_options opts = default_options();
    struct pp_http *http = NULL;
    char msg[128];

    ck_assert_int_eq(pp_http_new(&opts, &http, msg, sizeof msg), PP_OK);
    ck_assert_int_eq(pp_http_route(http, "GET", "/a", on_hello, NULL, 0), PP_OK);
    ck_assert_int_eq(pp_http_route(http, "GET", "/a", on_hello, NULL, 0), PP_ERR_INVALID);
    ck_assert_int_eq(pp_http_route(http, "POST", "/a", on_hello, NULL, 0), PP_OK);
    ck_assert_int_eq(pp_http_route(http, "GET", "a", on_hello, NULL, 0), PP_ERR_INVALID);
    ck_assert_int_eq(pp_http_route(http, "GET", "/a*", on_hello, NULL, 0), PP_ERR_INVALID);
    ck_assert_int_eq(pp_http_route(http, "GET", "/*/b", on_hello, NULL, 0), PP_ERR_INVALID);
    ck_assert_int_eq(pp_http_route(http, "GET", "/*", on_hello, NULL, 0), PP_OK);
    ck_assert_int_eq(pp_http_route(http, "GET", "/b", on_hello, NULL, 1u << 7), PP_ERR_INVALID);
    ck_assert_int_eq(pp_http_start(http, msg, sizeof msg), PP_OK);
    ck_assert_int_eq(pp_http_route(http, "GET", "/c", on_hello, NULL, 0), PP_ERR_INVALID);
    pp_http_stop(http);
    pp_http_stop(http);
    pp_http_destroy(http);
    pp_http_destroy(NULL);
    pp_http_stop(NULL);
}
END_TEST

START_TEST(test_slow_client_cut)
{
    struct pp_http_options opts = default_options();
    const char *head = "GET /hello HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    struct pp_http *http;
    double t0, elapsed = -1;
    size_t i;
    int fd;

    opts.connection_timeout_s = 2;
    http = start_server(&opts);
    fd = client_connect(pp_http_port(http));
    t0 = now_s();
    /* One byte a second: never idle for 2 s, but never done either. */
    for (i = 0; i < strlen(head) && now_s() - t0 < 8.0; i++) {
        struct pollfd pfd = {fd, POLLIN, 0};
        char c;

        if (!send_all(fd, head + i, 1) ||
            (poll(&pfd, 1, 1000) == 1 && recv(fd, &c, 1, MSG_DONTWAIT) <= 0)) {
            elapsed = now_s() - t0;
            break;
        }
    }
    close(fd);
    ck_assert_msg(elapsed >= 1.5 && elapsed < 4.5, "cut after %.2f s", elapsed);
    pp_http_destroy(http);
}
END_TEST

#define N_CONCURRENT 100

START_TEST(test_concurrent_connections)
{
    struct pp_http *http = start_default();
    const char *req = "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    int fds[N_CONCURRENT];
    double t0 = now_s();
    int i;

    /* All open at once before any request is sent. */
    for (i = 0; i < N_CONCURRENT; i++)
        fds[i] = client_connect(pp_http_port(http));
    for (i = 0; i < N_CONCURRENT; i++)
        ck_assert(send_all(fds[i], req, strlen(req)));
    for (i = 0; i < N_CONCURRENT; i++) {
        struct reply reply = read_reply(fds[i]);

        ck_assert_msg(reply.status == 200 && body_is(&reply, "hello"), "connection %d: %u", i,
                      reply.status);
        free(reply.text);
        close(fds[i]);
    }
    ck_assert(now_s() - t0 < 10.0);
    pp_http_destroy(http);
}
END_TEST

START_TEST(test_keep_alive)
{
    struct pp_http *http = start_default();
    const char *req = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
    char buf[512];
    int fd = client_connect(pp_http_port(http));
    int i;

    for (i = 0; i < 3; i++) {
        ssize_t n;

        ck_assert(send_all(fd, req, strlen(req)));
        n = recv(fd, buf, sizeof buf - 1, 0);
        ck_assert_int_gt(n, 0);
        buf[n] = '\0';
        ck_assert_ptr_nonnull(strstr(buf, "200"));
        ck_assert_ptr_nonnull(strstr(buf, "\r\n\r\nhello"));
    }
    close(fd);
    pp_http_destroy(http);
}
END_TEST

START_TEST(test_stop_with_open_connections)
{
    struct pp_http *http = start_default();
    unsigned port = pp_http_port(http);
    const char *partial_head = "GET /hello HTTP/1.1\r\nHost: x\r\n";
    const char *partial_body = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc";
    int fds[3];
    double t0;
    char c;

    fds[0] = client_connect(port); /* idle */
    fds[1] = client_connect(port);
    ck_assert(send_all(fds[1], partial_head, strlen(partial_head)));
    fds[2] = client_connect(port);
    ck_assert(send_all(fds[2], partial_body, strlen(partial_body)));
    sleep_ms(200);
    t0 = now_s();
    pp_http_destroy(http);
    ck_assert(now_s() - t0 < 3.0);
    /* The server closed them. */
    ck_assert_int_le(recv(fds[0], &c, 1, 0), 0);
    ck_assert_int_le(recv(fds[2], &c, 1, 0), 0);
    close(fds[0]);
    close(fds[1]);
    close(fds[2]);
}
END_TEST

static Suite *http_suite(void)
{
    Suite *suite = suite_create("http");

    PP_CHECK_TCASE(suite, test_get_route);
    PP_CHECK_TCASE(suite, test_prefix_route_tail);
    PP_CHECK_TCASE(suite, test_query_and_headers);
    PP_CHECK_TCASE(suite, test_post_body_whole);
    PP_CHECK_TCASE(suite, test_413_content_length);
    PP_CHECK_TCASE(suite, test_413_chunked);
    PP_CHECK_TCASE(suite, test_auth);
    PP_CHECK_TCASE(suite, test_auth_none_ignores_token);
    PP_CHECK_TCASE(suite, test_404_405);
    PP_CHECK_TCASE(suite, test_head);
    PP_CHECK_TCASE(suite, test_handler_errors);
    PP_CHECK_TCASE(suite, test_non_loopback_needs_token);
    PP_CHECK_TCASE(suite, test_bad_listen);
    PP_CHECK_TCASE(suite, test_port_in_use);
    PP_CHECK_TCASE(suite, test_route_errors);
    PP_CHECK_TCASE(suite, test_slow_client_cut);
    PP_CHECK_TCASE(suite, test_concurrent_connections);
    PP_CHECK_TCASE(suite, test_keep_alive);
    PP_CHECK_TCASE(suite, test_stop_with_open_connections);
    return suite;
}

PP_CHECK_MAIN(http_suite)
