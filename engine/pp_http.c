/*
 * pp_http: the API's HTTP server on libmicrohttpd (MHD). See pp_http.h and
 * docs/http.md.
 *
 * Threads: MHD runs a pool of internal threads, each an epoll loop over its
 * share of the connections (MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL
 * with MHD_OPTION_THREAD_POOL_SIZE). A pool rather than a thread per
 * connection: memory and thread count stay fixed whatever the number of
 * clients (100 idle dashboards cost no threads), and our handlers only read
 * snapshots, so they are short. One more thread of ours, the reaper, cuts
 * connections whose request is not complete within the timeout: MHD's own
 * timeout is an idle timeout, which a client sending one byte a second
 * never triggers.
 *
 * Per request MHD calls http_on_request() several times: once when the
 * headers are in (routing, auth and Content-Length are decided there, so
 * errors go out before any body is read), once per piece of body, and once
 * at the end (the handler runs then).
 */
#include "pp_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "pp_clock.h"
#include "pp_net.h"

#define HTTP_DEFAULT_MAX_BODY ((size_t)1 << 20)
#define HTTP_DEFAULT_TIMEOUT_S 30u
#define HTTP_DEFAULT_MAX_CONNECTIONS 256u
#define HTTP_DEFAULT_THREADS 4u
#define HTTP_REAPER_PERIOD_MS 100

struct http_route {
    char *method;
    char *pattern;
    size_t prefix_len; /* prefix routes: length up to and with the last '/' */
    bool is_prefix;
    pp_http_handler_fn handler;
    void *arg;
    unsigned flags;
};

/* One open connection, for the reaper. Linked in pp_http.conns under
 * pp_http.lock. deadline_ms 0: no deadline (a request is being answered). */
struct http_conn {
    struct http_conn *prev;
    struct http_conn *next;
    int fd;
    uint64_t deadline_ms;
};

/* One request in progress (MHD's per-request context). */
struct http_req {
    const struct http_route *route;
    struct pp_buf body;
    size_t body_seen; /* bytes received, <= max_body */
    bool is_answered; /* a response is queued; ignore the rest */
};

struct pp_http {
    struct MHD_Daemon *daemon;
    int listen_fd; /* ours until started, then MHD's */
    int family;
    unsigned port;
    char listen[128];
    char *token;
    size_t token_len;
    bool is_auth;
    size_t max_body;
    unsigned timeout_s;
    unsigned max_connections;
    unsigned threads;
    struct http_route *routes;
    size_t n_routes;
    size_t cap_routes;
    bool is_started;

    pthread_mutex_t lock;
    pthread_cond_t cond;
    pthread_t reaper;
    bool is_reaper_running;
    bool is_stopping;
    struct http_conn conns; /* list head */
};

static void set_msg(char *msg, size_t msg_len, const char *fmt, ...) PP_PRINTF(3, 4);

static void set_msg(char *msg, size_t msg_len, const char *fmt, ...)
{
    va_list ap;

    if (msg == NULL || msg_len == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, msg_len, fmt, ap);
    va_end(ap);
}

/* ---- JSON error bodies ---- */

/* Length of the well-formed UTF-8 sequence at s (at most n bytes), 0 if
 * it is not one. */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
    size_t len, i;
    unsigned char lo = 0x80, hi = 0xBF;

    if (s[0] >= 0xC2 && s[0] <= 0xDF)
        len = 2;
    else if (s[0] >= 0xE0 && s[0] <= 0xEF)
        len = 3;
    else if (s[0] >= 0xF0 && s[0] <= 0xF4)
        len = 4;
    else
        return 0;
    if (len > n)
        return 0;
    /* Overlong forms, surrogates and code points past U+10FFFF. */
    if (s[0] == 0xE0)
        lo = 0xA0;
    else if (s[0] == 0xED)
        hi = 0x9F;
    else if (s[0] == 0xF0)
        lo = 0x90;
    else if (s[0] == 0xF4)
        hi = 0x8F;
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return len;
}

/* Appends text as the inside of a JSON string; invalid UTF-8 becomes
 * U+FFFD, so the body is always valid JSON whatever a path contained. */
static enum pp_err json_escape_append(struct pp_buf *buf, const char *text, size_t len)
{
    const unsigned char *s = (const unsigned char *)text;
    enum pp_err err = PP_OK;
    size_t i = 0;

    while (i < len && err == PP_OK) {
        unsigned char c = s[i];
        size_t n;

        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            err = pp_buf_append(buf, esc, 2);
            i++;
        } else if (c < 0x20 || c == 0x7F) {
            err = pp_buf_printf(buf, "\\u%04x", c);
            i++;
        } else if (c < 0x80) {
            err = pp_buf_append(buf, &s[i], 1);
            i++;
        } else if ((n = utf8_seq_len(&s[i], len - i)) != 0) {
            err = pp_buf_append(buf, &s[i], n);
            i += n;
        } else {
            err = pp_buf_append_str(buf, "\\ufffd");
            i++;
        }
    }
    return err;
}

enum pp_err pp_http_json_escape_append(struct pp_buf *buf, const char *text, size_t len)
{
    return json_escape_append(buf, text, len);
}

static enum pp_err error_body(struct pp_buf *buf, unsigned error_code, const char *fmt, va_list ap)
{
    struct pp_buf text;
    enum pp_err err;
    va_list ap2;
    int n;

    pp_buf_init(&text);
    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0) {
        err = PP_ERR_INVALID;
        goto out;
    }
    err = pp_buf_reserve(&text, (size_t)n + 1);
    if (err != PP_OK)
        goto out;
    vsnprintf(text.data, (size_t)n + 1, fmt, ap);
    text.len = (size_t)n;
    buf->len = 0;
    err = pp_buf_printf(buf, "{\"error_code\":%u,\"message\":\"", error_code);
    if (err == PP_OK)
        err = json_escape_append(buf, text.data, text.len);
    if (err == PP_OK)
        err = pp_buf_append_str(buf, "\"}");
out:
    pp_buf_cleanup(&text);
    return err;
}

enum pp_err pp_http_response_error(struct pp_http_response *resp, unsigned status,
                                   unsigned error_code, const char *fmt, ...)
{
    enum pp_err err;
    va_list ap;

    va_start(ap, fmt);
    err = error_body(&resp->body, error_code, fmt, ap);
    va_end(ap);
    resp->status = status;
    resp->content_type = "application/json";
    return err;
}

enum pp_err pp_http_response_header(struct pp_http_response *resp, const char *name,
                                    const char *value)
{
    enum pp_err err;

    /* Stored as name\0value\0 pairs. */
    err = pp_buf_append(&resp->headers, name, strlen(name) + 1);
    if (err == PP_OK)
        err = pp_buf_append(&resp->headers, value, strlen(value) + 1);
    return err;
}

/* ---- sending ---- */

/* Queues status with body (taking its bytes) and the headers of resp_headers
 * (may be NULL). */
static enum MHD_Result queue_answer(struct MHD_Connection *mconn, unsigned status,
                                    const char *content_type, struct pp_buf *body,
                                    const struct pp_buf *resp_headers)
{
    struct MHD_Response *mresp;
    enum MHD_Result ret;

    if (body->data != NULL) {
        mresp = MHD_create_response_from_buffer(body->len, body->data, MHD_RESPMEM_MUST_FREE);
        if (mresp != NULL)
            pp_buf_init(body); /* MHD frees the bytes now */
    } else {
        mresp = MHD_create_response_from_buffer(0, (void *)(uintptr_t) "", MHD_RESPMEM_PERSISTENT);
    }
    if (mresp == NULL)
        return MHD_NO;
    if (content_type != NULL)
        MHD_add_response_header(mresp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    if (resp_headers != NULL) {
        size_t off = 0;

        while (off < resp_headers->len) {
            const char *name = resp_headers->data + off;
            const char *value = name + strlen(name) + 1;

            off = (size_t)(value - resp_headers->data) + strlen(value) + 1;
            if (MHD_add_response_header(mresp, name, value) != MHD_YES)
                pp_log_warn("http: response header '%s' refused", name);
        }
    }
    ret = MHD_queue_response(mconn, status, mresp);
    MHD_destroy_response(mresp);
    return ret;
}

static enum MHD_Result queue_error(struct MHD_Connection *mconn, unsigned status,
                                   unsigned error_code, const struct pp_buf *extra_headers,
                                   const char *fmt, ...) PP_PRINTF(5, 6);

static enum MHD_Result queue_error(struct MHD_Connection *mconn, unsigned status,
                                   unsigned error_code, const struct pp_buf *extra_headers,
                                   const char *fmt, ...)
{
    struct pp_buf body;
    enum MHD_Result ret;
    enum pp_err err;
    va_list ap;

    pp_buf_init(&body);
    va_start(ap, fmt);
    err = error_body(&body, error_code, fmt, ap);
    va_end(ap);
    ret = err == PP_OK ? queue_answer(mconn, status, "application/json", &body, extra_headers)
                       : MHD_NO;
    pp_buf_cleanup(&body);
    return ret;
}

/*
 * The body grew past the limit while arriving (chunked, or more bytes than
 * announced). libmicrohttpd 0.9.x refuses to queue a response while a body
 * is being received, and reading the rest only to answer afterwards is what
 * the limit is there to prevent. So the 413 is written straight to the
 * socket, from MHD's own thread, at a moment MHD has nothing of this
 * connection to send (one request at a time, and this one has no response
 * yet); then the caller returns MHD_NO and MHD closes the connection.
 */
static void send_too_big(const struct pp_http *http, struct MHD_Connection *mconn)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(mconn, MHD_CONNECTION_INFO_CONNECTION_FD);
    struct pp_buf body, text;
    size_t off = 0;

    if (info == NULL)
        return;
    pp_buf_init(&body);
    pp_buf_init(&text);
    if (pp_buf_printf(&body,
                      "{\"error_code\":41301,\"message\":\"request body larger than %zu bytes\"}",
                      http->max_body) != PP_OK ||
        pp_buf_printf(&text,
                      "HTTP/1.1 413 Content Too Large\r\nConnection: close\r\n"
                      "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                      body.len, body.data) != PP_OK)
        goto out;
    while (off < text.len) {
        ssize_t n =
            send(info->connect_fd, text.data + off, text.len - off, MSG_NOSIGNAL | MSG_DONTWAIT);

        if (n <= 0)
            break; /* the client is gone or not reading: nothing more to do */
        off += (size_t)n;
    }
    /* FIN after the answer, so the client reads it before the close. */
    shutdown(info->connect_fd, SHUT_WR);
out:
    pp_buf_cleanup(&body);
    pp_buf_cleanup(&text);
}

/* ---- routing and auth ---- */

static bool is_method_match(const struct http_route *route, const char *method)
{
    return strcmp(route->method, method) == 0 ||
           (strcmp(method, "HEAD") == 0 && strcmp(route->method, "GET") == 0);
}

static bool is_path_match(const struct http_route *route, const char *path)
{
    if (route->is_prefix)
        return strncmp(path, route->pattern, route->prefix_len) == 0;
    return strcmp(path, route->pattern) == 0;
}

/* Exact beats any prefix; a longer prefix beats a shorter one. */
static size_t route_rank(const struct http_route *route)
{
    return route->is_prefix ? route->prefix_len : SIZE_MAX;
}

/* The best route for (method, path), or NULL; *is_path_known says whether
 * some route has the path under another method. */
static const struct http_route *route_find(const struct pp_http *http, const char *method,
                                           const char *path, bool *is_path_known)
{
    const struct http_route *best = NULL;
    size_t i;

    *is_path_known = false;
    for (i = 0; i < http->n_routes; i++) {
        const struct http_route *route = &http->routes[i];

        if (!is_path_match(route, path))
            continue;
        *is_path_known = true;
        if (is_method_match(route, method) &&
            (best == NULL || route_rank(route) > route_rank(best)))
            best = route;
    }
    return best;
}

/* "Allow: GET, HEAD, POST" for a 405: the methods of the routes that match path. */
static enum pp_err allow_header(const struct pp_http *http, const char *path, struct pp_buf *out)
{
    struct pp_buf list;
    enum pp_err err = PP_OK;
    size_t i;

    pp_buf_init(&list);
    for (i = 0; i < http->n_routes && err == PP_OK; i++) {
        const struct http_route *route = &http->routes[i];
        const char *methods[2] = {route->method, strcmp(route->method, "GET") == 0 ? "HEAD" : NULL};
        size_t m;

        if (!is_path_match(route, path))
            continue;
        for (m = 0; m < 2 && methods[m] != NULL && err == PP_OK; m++) {
            /* Skip a method already listed (the list is ", "-separated). */
            size_t mlen = strlen(methods[m]);
            const char *hit = list.data;
            bool is_listed = false;

            while (hit != NULL && (hit = strstr(hit, methods[m])) != NULL) {
                if ((hit == list.data || hit[-1] == ' ') &&
                    (hit[mlen] == ',' || hit[mlen] == '\0')) {
                    is_listed = true;
                    break;
                }
                hit += mlen;
            }
            if (is_listed)
                continue;
            if (list.len > 0)
                err = pp_buf_append_str(&list, ", ");
            if (err == PP_OK)
                err = pp_buf_append_str(&list, methods[m]);
        }
    }
    if (err == PP_OK)
        err = pp_buf_append(out, "Allow", sizeof "Allow");
    if (err == PP_OK)
        err = pp_buf_append(out, list.len ? list.data : "", list.len + 1);
    pp_buf_cleanup(&list);
    return err;
}

/* Constant time in the secret: every byte of the presented value is
 * compared with the token (cyclically), and the length difference is
 * folded into the result, so timing tells nothing about how much matched. */
static bool is_token_equal(const struct pp_http *http, const char *given, size_t given_len)
{
    unsigned diff = (unsigned)(given_len != http->token_len);
    size_t i;

    for (i = 0; i < given_len; i++)
        diff |= (unsigned char)given[i] ^ (unsigned char)http->token[i % http->token_len];
    return diff == 0;
}

static bool is_authorized(const struct pp_http *http, struct MHD_Connection *mconn)
{
    const char *value;
    size_t len;

    if (!http->is_auth)
        return true;
    value = MHD_lookup_connection_value(mconn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (value == NULL || strncasecmp(value, "Bearer ", 7) != 0)
        return false;
    value += 7;
    while (*value == ' ')
        value++;
    len = strlen(value);
    while (len > 0 && (value[len - 1] == ' ' || value[len - 1] == '\t'))
        len--;
    return is_token_equal(http, value, len);
}

/* ---- the reaper ---- */

static void conn_set_deadline(struct pp_http *http, struct MHD_Connection *mconn, bool is_on)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(mconn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    struct http_conn *conn = info != NULL ? info->socket_context : NULL;

    if (conn == NULL)
        return;
    pthread_mutex_lock(&http->lock);
    conn->deadline_ms = is_on ? (uint64_t)pp_clock_ms() + (uint64_t)http->timeout_s * 1000u : 0;
    pthread_mutex_unlock(&http->lock);
}

/* MHD calls this before it closes the socket of a connection (so the
 * reaper, holding the lock, never shuts down a reused descriptor). */
static void http_on_connection(void *cls, struct MHD_Connection *mconn, void **socket_context,
                               enum MHD_ConnectionNotificationCode code)
{
    struct pp_http *http = cls;
    struct http_conn *conn = *socket_context;

    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *info =
            MHD_get_connection_info(mconn, MHD_CONNECTION_INFO_CONNECTION_FD);

        conn = calloc(1, sizeof *conn);
        if (conn == NULL || info == NULL) {
            free(conn); /* no deadline for this one; MHD's idle timeout still applies */
            return;
        }
        conn->fd = info->connect_fd;
        pthread_mutex_lock(&http->lock);
        conn->deadline_ms = (uint64_t)pp_clock_ms() + (uint64_t)http->timeout_s * 1000u;
        conn->next = http->conns.next;
        conn->prev = &http->conns;
        http->conns.next->prev = conn;
        http->conns.next = conn;
        pthread_mutex_unlock(&http->lock);
        *socket_context = conn;
    } else if (conn != NULL) {
        pthread_mutex_lock(&http->lock);
        conn->prev->next = conn->next;
        conn->next->prev = conn->prev;
        pthread_mutex_unlock(&http->lock);
        free(conn);
        *socket_context = NULL;
    }
}

static void *http_reaper_main(void *cls)
{
    struct pp_http *http = cls;

    pthread_mutex_lock(&http->lock);
    while (!http->is_stopping) {
        struct timespec until;
        struct http_conn *conn;
        uint64_t now;

        pp_clock_deadline(&until, HTTP_REAPER_PERIOD_MS);
        pthread_cond_timedwait(&http->cond, &http->lock, &until);
        now = (uint64_t)pp_clock_ms();
        for (conn = http->conns.next; conn != &http->conns; conn = conn->next) {
            if (conn->deadline_ms != 0 && now >= conn->deadline_ms) {
                /* MHD sees end of file and closes the connection itself. */
                shutdown(conn->fd, SHUT_RDWR);
                conn->deadline_ms = 0;
            }
        }
    }
    pthread_mutex_unlock(&http->lock);
    return NULL;
}

/* ---- requests ---- */

/* The first call of a request: headers are in, no body yet. */
static enum MHD_Result http_begin(struct pp_http *http, struct MHD_Connection *mconn,
                                  const char *path, const char *method, struct http_req *hreq)
{
    const struct http_route *route;
    bool is_path_known;
    const char *value;

    route = route_find(http, method, path, &is_path_known);
    if ((route == NULL || !(route->flags & PP_HTTP_PUBLIC)) && !is_authorized(http, mconn)) {
        struct pp_buf headers;
        enum MHD_Result ret;

        pp_buf_init(&headers);
        if (pp_buf_append(&headers, "WWW-Authenticate\0Bearer",
                          sizeof "WWW-Authenticate\0Bearer") != PP_OK)
            return MHD_NO;
        hreq->is_answered = true;
        ret = queue_error(mconn, MHD_HTTP_UNAUTHORIZED, 40101, &headers,
                          "authentication required: send Authorization: Bearer <token>");
        pp_buf_cleanup(&headers);
        return ret;
    }
    if (route == NULL && is_path_known) {
        struct pp_buf headers;
        enum MHD_Result ret = MHD_NO;

        pp_buf_init(&headers);
        hreq->is_answered = true;
        if (allow_header(http, path, &headers) == PP_OK)
            ret = queue_error(mconn, MHD_HTTP_METHOD_NOT_ALLOWED, 40501, &headers,
                              "method %s is not allowed on %s", method, path);
        pp_buf_cleanup(&headers);
        return ret;
    }
    if (route == NULL) {
        hreq->is_answered = true;
        return queue_error(mconn, MHD_HTTP_NOT_FOUND, 40401, NULL, "no endpoint %s", path);
    }
    hreq->route = route;
    value = MHD_lookup_connection_value(mconn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (value != NULL) {
        char *end;
        unsigned long long declared;

        errno = 0;
        declared = strtoull(value, &end, 10);
        /* A malformed value is answered 400 by MHD before we are called. */
        if (end != value && (errno == ERANGE || declared > http->max_body)) {
            hreq->is_answered = true;
            return queue_error(mconn, 413 /* Content Too Large */, 41301, NULL,
                               "request body larger than %zu bytes", http->max_body);
        }
        if (end != value && (route->flags & PP_HTTP_BODY) &&
            pp_buf_reserve(&hreq->body, (size_t)declared + 1) != PP_OK)
            return MHD_NO;
    }
    return MHD_YES;
}

/* The last call: the whole request is in. */
static enum MHD_Result http_dispatch(struct pp_http *http, struct MHD_Connection *mconn,
                                     const char *path, const char *method, struct http_req *hreq)
{
    const struct http_route *route = hreq->route;
    struct pp_http_request req;
    struct pp_http_response resp;
    enum MHD_Result ret;
    enum pp_err err;

    (void)http;
    memset(&req, 0, sizeof req);
    req.method = method;
    req.path = path;
    req.tail = route->is_prefix
                   ? pp_str_make(path + route->prefix_len, strlen(path) - route->prefix_len)
                   : pp_str_make(path + strlen(path), 0);
    req.body = hreq->body.data != NULL ? hreq->body.data : "";
    req.body_len = hreq->body.len;
    req.priv = mconn;

    resp.status = MHD_HTTP_OK;
    resp.content_type = "application/json";
    pp_buf_init(&resp.body);
    pp_buf_init(&resp.headers);
    err = route->handler(route->arg, &req, &resp);
    if (err != PP_OK) {
        pp_log_warn("http: %s %s failed: %s", method, path, pp_err_str(err));
        ret = queue_error(mconn, MHD_HTTP_INTERNAL_SERVER_ERROR, 50001, NULL, "internal error: %s",
                          pp_err_str(err));
    } else {
        ret = queue_answer(mconn, resp.status, resp.content_type, &resp.body, &resp.headers);
    }
    pp_buf_cleanup(&resp.body);
    pp_buf_cleanup(&resp.headers);
    return ret;
}

static enum MHD_Result http_on_request(void *cls, struct MHD_Connection *mconn, const char *url,
                                       const char *method, const char *version,
                                       const char *upload_data, size_t *upload_data_size,
                                       void **req_cls)
{
    struct pp_http *http = cls;
    struct http_req *hreq = *req_cls;
    size_t n;

    (void)version;
    if (hreq == NULL) {
        hreq = calloc(1, sizeof *hreq);
        if (hreq == NULL)
            return MHD_NO;
        pp_buf_init(&hreq->body);
        *req_cls = hreq;
        return http_begin(http, mconn, url, method, hreq);
    }
    n = *upload_data_size;
    if (n > 0) {
        *upload_data_size = 0; /* consumed, or dropped */
        if (hreq->is_answered)
            return MHD_YES;
        if (n > http->max_body - hreq->body_seen) {
            hreq->is_answered = true;
            pp_buf_cleanup(&hreq->body);
            send_too_big(http, mconn);
            return MHD_NO; /* MHD closes the connection; the rest is never read */
        }
        hreq->body_seen += n;
        if ((hreq->route->flags & PP_HTTP_BODY) &&
            pp_buf_append(&hreq->body, upload_data, n) != PP_OK)
            return MHD_NO;
        return MHD_YES;
    }
    if (hreq->is_answered)
        return MHD_YES;
    hreq->is_answered = true;
    conn_set_deadline(http, mconn, false);
    return http_dispatch(http, mconn, url, method, hreq);
}

static void http_on_completed(void *cls, struct MHD_Connection *mconn, void **req_cls,
                              enum MHD_RequestTerminationCode code)
{
    struct http_req *hreq = *req_cls;

    (void)code;
    /* The next request on this keep-alive connection gets a fresh deadline. */
    conn_set_deadline(cls, mconn, true);
    if (hreq != NULL) {
        pp_buf_cleanup(&hreq->body);
        free(hreq);
        *req_cls = NULL;
    }
}

/* MHD's unescaping of paths and query arguments, except that "%00" stays
 * as it is: MHD hands both on as C strings, so a decoded NUL would cut them
 * short and "/v1/status%00.json" would be served as /v1/status. */
static size_t http_unescape(void *cls, struct MHD_Connection *mconn, char *s)
{
    char *out = s;
    const char *in = s;

    (void)cls;
    (void)mconn;
    while (*in != '\0') {
        int hi = in[0] == '%' ? pp_hex_digit(in[1]) : -1;
        int lo = hi >= 0 ? pp_hex_digit(in[2]) : -1;
        if (lo >= 0 && (hi | lo) != 0) {
            *out++ = (char)(hi << 4 | lo);
            in += 3;
        } else {
            *out++ = *in++;
        }
    }
    *out = '\0';
    return (size_t)(out - s);
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static void http_on_log(void *cls, const char *fmt, va_list ap)
{
    char line[256];
    size_t len;

    (void)cls;
    vsnprintf(line, sizeof line, fmt, ap);
    len = strlen(line);
    while (len > 0 && line[len - 1] == '\n')
        line[--len] = '\0';
    pp_log_debug("http: %s", line);
}
#pragma GCC diagnostic pop

/* ---- life cycle ---- */

/* Parses http.listen into a socket address (pp_net). */
static enum pp_err parse_listen(const char *listen, struct sockaddr_storage *addr,
                                socklen_t *addr_len, bool *is_loopback, char *msg, size_t msg_len)
{
    enum pp_err err = pp_net_parse_addr(listen, addr, addr_len);

    if (err == PP_ERR_NOTFOUND) {
        set_msg(msg, msg_len, "http.listen: cannot resolve '%s'", listen);
        return PP_ERR_USAGE;
    }
    if (err != PP_OK) {
        set_msg(msg, msg_len, "http.listen: expected host:port or [ipv6]:port, not '%s'", listen);
        return PP_ERR_USAGE;
    }
    *is_loopback = pp_net_is_loopback(addr);
    return PP_OK;
}

enum pp_err pp_http_new(const struct pp_http_options *opts, struct pp_http **http_out, char *msg,
                        size_t msg_len)
{
    struct pp_http *http = NULL;
    struct sockaddr_storage addr;
    socklen_t addr_len = 0;
    bool is_loopback = false;
    bool has_token = opts->auth_token != NULL && opts->auth_token[0] != '\0';
    enum pp_err err;
    int one = 1;

    *http_out = NULL;
    if (opts->listen == NULL) {
        set_msg(msg, msg_len, "http.listen: not set");
        return PP_ERR_USAGE;
    }
    err = parse_listen(opts->listen, &addr, &addr_len, &is_loopback, msg, msg_len);
    if (err != PP_OK)
        return err;
    if (!is_loopback && !has_token && !opts->is_auth_none) {
        set_msg(msg, msg_len,
                "http.listen: %s is not a loopback address: set http.auth.token, or "
                "http.auth=none to serve without authentication",
                opts->listen);
        return PP_ERR_USAGE;
    }
    http = calloc(1, sizeof *http);
    if (http == NULL)
        return PP_ERR_NOMEM;
    http->listen_fd = -1;
    http->conns.next = http->conns.prev = &http->conns;
    pthread_mutex_init(&http->lock, NULL);
    {
        pthread_condattr_t attr;

        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        pthread_cond_init(&http->cond, &attr);
        pthread_condattr_destroy(&attr);
    }
    snprintf(http->listen, sizeof http->listen, "%s", opts->listen);
    http->is_auth = has_token && !opts->is_auth_none;
    if (http->is_auth) {
        http->token = strdup(opts->auth_token);
        if (http->token == NULL) {
            err = PP_ERR_NOMEM;
            goto out;
        }
        http->token_len = strlen(http->token);
    }
    http->max_body = opts->max_body_bytes ? opts->max_body_bytes : HTTP_DEFAULT_MAX_BODY;
    http->timeout_s =
        opts->connection_timeout_s ? opts->connection_timeout_s : HTTP_DEFAULT_TIMEOUT_S;
    http->max_connections =
        opts->max_connections ? opts->max_connections : HTTP_DEFAULT_MAX_CONNECTIONS;
    http->threads = opts->threads ? opts->threads : HTTP_DEFAULT_THREADS;
    if (http->max_connections < http->threads) {
        set_msg(msg, msg_len, "http: max_connections (%u) must be at least the threads (%u)",
                http->max_connections, http->threads);
        err = PP_ERR_USAGE;
        goto out;
    }

    http->family = addr.ss_family;
    http->listen_fd = socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (http->listen_fd < 0) {
        set_msg(msg, msg_len, "http.listen: %s: socket: %s", opts->listen, strerror(errno));
        err = PP_ERR_IO;
        goto out;
    }
    setsockopt(http->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (addr.ss_family == AF_INET6)
        setsockopt(http->listen_fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(http->listen_fd, (struct sockaddr *)&addr, addr_len) != 0 ||
        listen(http->listen_fd, SOMAXCONN) != 0) {
        set_msg(msg, msg_len, "http.listen: cannot listen on %s: %s", opts->listen,
                strerror(errno));
        err = PP_ERR_IO;
        goto out;
    }
    addr_len = sizeof addr;
    if (getsockname(http->listen_fd, (struct sockaddr *)&addr, &addr_len) != 0) {
        set_msg(msg, msg_len, "http.listen: %s: getsockname: %s", opts->listen, strerror(errno));
        err = PP_ERR_IO;
        goto out;
    }
    http->port = ntohs(addr.ss_family == AF_INET ? ((struct sockaddr_in *)&addr)->sin_port
                                                 : ((struct sockaddr_in6 *)&addr)->sin6_port);
    *http_out = http;
    http = NULL;
    err = PP_OK;
out:
    pp_http_destroy(http);
    return err;
}

enum pp_err pp_http_route(struct pp_http *http, const char *method, const char *path_pattern,
                          pp_http_handler_fn handler, void *arg, unsigned flags)
{
    struct http_route *routes, *route;
    size_t len = strlen(path_pattern);
    size_t i;

    if (http->is_started || handler == NULL || method[0] == '\0' || path_pattern[0] != '/' ||
        (flags & ~(unsigned)(PP_HTTP_PUBLIC | PP_HTTP_BODY)) != 0)
        return PP_ERR_INVALID;
    /* A '*' only as the whole last segment. */
    if (strchr(path_pattern, '*') != NULL &&
        (len < 2 || strchr(path_pattern, '*') != path_pattern + len - 1 ||
         path_pattern[len - 2] != '/'))
        return PP_ERR_INVALID;
    for (i = 0; i < http->n_routes; i++)
        if (strcmp(http->routes[i].method, method) == 0 &&
            strcmp(http->routes[i].pattern, path_pattern) == 0)
            return PP_ERR_INVALID;
    routes = pp_array_reserve(http->routes, &http->cap_routes, http->n_routes, sizeof *routes, 8);
    if (routes == NULL)
        return PP_ERR_NOMEM;
    http->routes = routes;
    route = &routes[http->n_routes];
    memset(route, 0, sizeof *route);
    route->method = strdup(method);
    route->pattern = strdup(path_pattern);
    if (route->method == NULL || route->pattern == NULL) {
        free(route->method);
        free(route->pattern);
        return PP_ERR_NOMEM;
    }
    route->is_prefix = path_pattern[len - 1] == '*';
    route->prefix_len = route->is_prefix ? len - 1 : 0;
    route->handler = handler;
    route->arg = arg;
    route->flags = flags;
    http->n_routes++;
    return PP_OK;
}

enum pp_err pp_http_start(struct pp_http *http, char *msg, size_t msg_len)
{
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
    int err;

    if (http->is_started || http->listen_fd < 0) {
        set_msg(msg, msg_len, "http: server already started");
        return PP_ERR_INVALID;
    }
    if (http->family == AF_INET6)
        flags |= MHD_USE_IPv6;
    http->is_stopping = false;
    err = pthread_create(&http->reaper, NULL, http_reaper_main, http);
    if (err != 0) {
        set_msg(msg, msg_len, "http: cannot start a thread: %s", strerror(err));
        return PP_ERR_INTERNAL;
    }
    http->is_reaper_running = true;
    http->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, http_on_request, http, MHD_OPTION_LISTEN_SOCKET, http->listen_fd,
        MHD_OPTION_THREAD_POOL_SIZE, http->threads, MHD_OPTION_CONNECTION_LIMIT,
        http->max_connections, MHD_OPTION_CONNECTION_TIMEOUT, http->timeout_s,
        MHD_OPTION_NOTIFY_COMPLETED, http_on_completed, http, MHD_OPTION_NOTIFY_CONNECTION,
        http_on_connection, http, MHD_OPTION_EXTERNAL_LOGGER, http_on_log, http,
        MHD_OPTION_UNESCAPE_CALLBACK, http_unescape, NULL, MHD_OPTION_END);
    if (http->daemon == NULL) {
        /* Whether MHD closed the socket on failure is not documented: keep
         * it ours (closed by pp_http_destroy); a double close is worse than
         * nothing. */
        set_msg(msg, msg_len, "http: cannot start the server on %s", http->listen);
        pp_http_stop(http);
        return PP_ERR_INTERNAL;
    }
    http->listen_fd = -1; /* MHD closes it on stop */
    http->is_started = true;
    pp_log_info("http: listening on %s (port %u)", http->listen, http->port);
    return PP_OK;
}

void pp_http_stop(struct pp_http *http)
{
    if (http == NULL)
        return;
    /* The reaper first, so that it never races MHD closing sockets. */
    if (http->is_reaper_running) {
        pthread_mutex_lock(&http->lock);
        http->is_stopping = true;
        pthread_cond_signal(&http->cond);
        pthread_mutex_unlock(&http->lock);
        pthread_join(http->reaper, NULL);
        http->is_reaper_running = false;
    }
    if (http->daemon != NULL) {
        MHD_stop_daemon(http->daemon);
        http->daemon = NULL;
    }
}

void pp_http_destroy(struct pp_http *http)
{
    size_t i;

    if (http == NULL)
        return;
    pp_http_stop(http);
    if (http->listen_fd >= 0)
        close(http->listen_fd);
    for (i = 0; i < http->n_routes; i++) {
        free(http->routes[i].method);
        free(http->routes[i].pattern);
    }
    free(http->routes);
    if (http->token != NULL) {
        /* Do not leave the secret in freed memory. */
        volatile char *p = http->token;

        for (i = 0; i < http->token_len; i++)
            p[i] = 0;
        free(http->token);
    }
    pthread_cond_destroy(&http->cond);
    pthread_mutex_destroy(&http->lock);
    free(http);
}

unsigned pp_http_port(const struct pp_http *http)
{
    return http->port;
}

const char *pp_http_query(const struct pp_http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->priv, MHD_GET_ARGUMENT_KIND, name);
}

const char *pp_http_header(const struct pp_http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->priv, MHD_HEADER_KIND, name);
}
