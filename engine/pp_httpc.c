/*
 * pp_httpc: see pp_httpc.h.
 *
 * One CURL easy handle per client: libcurl keeps its connection cache in
 * the handle, so consecutive requests to one host reuse the connection.
 * Options are reset before every request (curl_easy_reset keeps the
 * connection cache), so nothing of a previous request leaks into the next.
 * libcurl's error codes are translated here into enum pp_err.
 */
#include "pp_httpc.h"

#include <curl/curl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pp_uring.h"

#define HTTPC_DEFAULT_TIMEOUT_MS 30000L
#define HTTPC_CONNECT_TIMEOUT_MS 10000L
/* The longest wait of pp_httpc_multi_run without a loop when told "no
 * limit" (curl_multi_poll needs a number; the caller loops). */
#define HTTPC_POLL_MAX_MS 60000

struct pp_httpc {
    CURL *curl;
    char errbuf[CURL_ERROR_SIZE];
};

static pthread_once_t httpc_once = PTHREAD_ONCE_INIT;
static CURLcode httpc_global_rc = CURLE_FAILED_INIT;

/* curl_global_init is not thread-safe in every libcurl build: once. */
static void httpc_global_init(void)
{
    httpc_global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static enum pp_err httpc_err(CURLcode rc)
{
    switch ((int)rc) {
    case CURLE_OK: return PP_OK;
    case CURLE_OUT_OF_MEMORY: return PP_ERR_NOMEM;
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT: return PP_ERR_USAGE;
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR: return PP_ERR_IO;
    default: return PP_ERR_INTERNAL;
    }
}

enum pp_err pp_httpc_new(struct pp_httpc **out)
{
    struct pp_httpc *client;

    *out = NULL;
    pthread_once(&httpc_once, httpc_global_init);
    if (httpc_global_rc != CURLE_OK)
        return PP_ERR_INTERNAL;
    client = calloc(1, sizeof *client);
    if (client == NULL)
        return PP_ERR_NOMEM;
    client->curl = curl_easy_init();
    if (client->curl == NULL) {
        free(client);
        return PP_ERR_INTERNAL;
    }
    *out = client;
    return PP_OK;
}

void pp_httpc_destroy(struct pp_httpc *client)
{
    if (client == NULL)
        return;
    curl_easy_cleanup(client->curl);
    free(client);
}

/* libcurl's write callbacks: append to a pp_buf; a short count makes
 * libcurl fail the transfer with CURLE_WRITE_ERROR (out of memory). */
static size_t httpc_on_data(char *ptr, size_t size, size_t n, void *arg)
{
    struct pp_buf *buf = arg;

    return pp_buf_append(buf, ptr, size * n) == PP_OK ? size * n : 0;
}

/* The URL without its query string, for messages (a query may carry
 * credentials, e.g. a presigned URL's signature). */
static int httpc_url_len(const char *url)
{
    size_t n = strcspn(url, "?#");

    return n > 200 ? 200 : (int)n;
}

/*
 * Sets curl's options for req (after a reset or on a new handle): headers
 * go into *headers (the caller frees the list once the transfer ended),
 * the answer into resp. PP_OK, or the error with msg (may be NULL) naming
 * the URL.
 */
static enum pp_err httpc_setup(CURL *curl, const struct pp_httpc_request *req,
                               struct pp_httpc_response *resp, char *errbuf,
                               struct curl_slist **headers, char *msg, size_t msg_len)
{
    const char *method = req->method != NULL ? req->method : "GET";
    CURLcode rc;
    enum pp_err err;

    for (size_t i = 0; req->headers != NULL && req->headers[i] != NULL; i++) {
        struct curl_slist *next = curl_slist_append(*headers, req->headers[i]);

        if (next == NULL)
            return PP_ERR_NOMEM;
        *headers = next;
    }
    /* No "Expect: 100-continue" round trip before a body. */
    if (req->body_len > 0) {
        struct curl_slist *next = curl_slist_append(*headers, "Expect:");

        if (next == NULL)
            return PP_ERR_NOMEM;
        *headers = next;
    }
    rc = CURLE_OK;
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(curl, CURLOPT_URL, req->url);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
                              req->timeout_ms > 0 ? req->timeout_ms : HTTPC_DEFAULT_TIMEOUT_MS);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, HTTPC_CONNECT_TIMEOUT_MS);
    if (rc == CURLE_OK && req->is_direct)
        rc = curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(curl, CURLOPT_HTTPHEADER, *headers);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, httpc_on_data);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(curl, CURLOPT_WRITEDATA, &resp->body);
    if (rc == CURLE_OK && resp->headers != NULL)
        rc = curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, httpc_on_data);
    if (rc == CURLE_OK && resp->headers != NULL)
        rc = curl_easy_setopt(curl, CURLOPT_HEADERDATA, resp->headers);
    if (rc == CURLE_OK && strcmp(method, "GET") != 0)
        rc = curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    if (rc == CURLE_OK && strcmp(method, "HEAD") == 0)
        rc = curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    if (rc == CURLE_OK &&
        (req->body != NULL || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0)) {
        /* POSTFIELDS sends the bytes as they are, with Content-Length. */
        rc = curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        if (rc == CURLE_OK)
            rc = curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req->body != NULL ? req->body : "");
    }
    if (rc == CURLE_OK)
        return PP_OK;
    err = httpc_err(rc);
    if (err == PP_OK)
        err = PP_ERR_INTERNAL;
    if (msg != NULL)
        snprintf(msg, msg_len, "%.*s: %s", httpc_url_len(req->url), req->url,
                 curl_easy_strerror(rc));
    return err;
}

/* The outcome of a finished transfer: the status, and for a failure the
 * error and msg "<METHOD> <url>: <cause>". */
static enum pp_err httpc_outcome(CURL *curl, CURLcode rc, const struct pp_httpc_request *req,
                                 const char *errbuf, unsigned *status_out, char *msg,
                                 size_t msg_len)
{
    const char *method = req->method != NULL ? req->method : "GET";
    long status = 0;
    enum pp_err err;

    if (rc == CURLE_OK || rc == CURLE_WRITE_ERROR)
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    *status_out = status > 0 && status < 1000 ? (unsigned)status : 0;
    if (rc == CURLE_OK)
        return PP_OK;
    /* A short count from our write callback: out of memory. */
    err = rc == CURLE_WRITE_ERROR ? PP_ERR_NOMEM : httpc_err(rc);
    if (msg != NULL)
        snprintf(msg, msg_len, "%s %.*s: %s", method, httpc_url_len(req->url), req->url,
                 errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc));
    return err;
}

enum pp_err pp_httpc_send(struct pp_httpc *client, const struct pp_httpc_request *req,
                          struct pp_httpc_response *resp, char *msg, size_t msg_len)
{
    CURL *curl = client->curl;
    struct curl_slist *headers = NULL;
    enum pp_err err;

    resp->status = 0;
    if (msg != NULL && msg_len > 0)
        msg[0] = '\0';
    curl_easy_reset(curl);
    client->errbuf[0] = '\0';
    err = httpc_setup(curl, req, resp, client->errbuf, &headers, msg, msg_len);
    if (err == PP_OK)
        err = httpc_outcome(curl, curl_easy_perform(curl), req, client->errbuf, &resp->status, msg,
                            msg_len);
    /* The handle keeps pointers to the list and errbuf: drop them. */
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(headers);
    return err;
}

/*
 * The multi client. libcurl's multi-socket API tells us, through two
 * callbacks, which sockets to watch for what (CURLMOPT_SOCKETFUNCTION) and
 * when to wake it up (CURLMOPT_TIMERFUNCTION); we tell it what happened
 * with curl_multi_socket_action, and collect finished transfers with
 * curl_multi_info_read after each pp_uring_run. Each request is its own
 * easy handle, freed when it ends; connections stay in the multi's cache.
 */

/* A socket libcurl asked us to watch (curl_multi_assign'ed to it). */
struct httpc_sock {
    struct httpc_sock *prev;
    struct httpc_sock *next;
    struct pp_httpc_multi *multi;
    struct pp_uring_watch *watch;
};

/* A request in flight. */
struct httpc_xfer {
    struct httpc_xfer *prev;
    struct httpc_xfer *next;
    CURL *curl;
    struct curl_slist *headers;
    struct pp_httpc_request req; /* method and url point at the copies below */
    char *method;
    char *url;
    struct pp_httpc_response *resp;
    pp_httpc_done_fn done;
    void *arg;
    char errbuf[CURL_ERROR_SIZE];
};

struct pp_httpc_multi {
    CURLM *curlm;
    struct pp_uring *loop; /* NULL: curl_multi_poll */
    struct httpc_sock *socks;
    struct httpc_xfer *xfers;
    size_t n_running;
    CURLMcode failure; /* the first error of curl_multi_socket_action */
};

static void httpc_socket_action(struct pp_httpc_multi *multi, curl_socket_t fd, int flags)
{
    int running;
    CURLMcode rc = curl_multi_socket_action(multi->curlm, fd, flags, &running);

    if (rc != CURLM_OK && multi->failure == CURLM_OK)
        multi->failure = rc;
}

static void httpc_on_ready(void *arg, int fd, unsigned revents)
{
    struct httpc_sock *sock = arg;
    int flags = 0;

    /* A hang-up may still have bytes to read: curl finds out reading. */
    if (revents & (POLLIN | POLLHUP))
        flags |= CURL_CSELECT_IN;
    if (revents & POLLOUT)
        flags |= CURL_CSELECT_OUT;
    if (revents & POLLERR)
        flags |= CURL_CSELECT_ERR;
    /* sock may be freed inside (CURL_POLL_REMOVE). */
    httpc_socket_action(sock->multi, fd, flags);
}

static void httpc_sock_free(struct pp_httpc_multi *multi, struct httpc_sock *sock)
{
    if (sock->prev != NULL)
        sock->prev->next = sock->next;
    else
        multi->socks = sock->next;
    if (sock->next != NULL)
        sock->next->prev = sock->prev;
    pp_uring_watch_stop(multi->loop, sock->watch);
    free(sock);
}

/* CURLMOPT_SOCKETFUNCTION: start, change or stop watching s. */
static int httpc_on_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    struct pp_httpc_multi *multi = userp;
    struct httpc_sock *sock = socketp;
    unsigned events = 0;

    (void)easy;
    if (what == CURL_POLL_REMOVE) {
        if (sock != NULL) {
            curl_multi_assign(multi->curlm, s, NULL);
            httpc_sock_free(multi, sock);
        }
        return 0;
    }
    if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
        events |= POLLIN;
    if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
        events |= POLLOUT;
    if (sock != NULL)
        return pp_uring_watch_modify(multi->loop, sock->watch, events) == PP_OK ? 0 : -1;
    sock = calloc(1, sizeof *sock);
    if (sock == NULL)
        return -1;
    sock->multi = multi;
    if (pp_uring_watch_start(multi->loop, s, events, httpc_on_ready, sock, &sock->watch) != PP_OK) {
        free(sock);
        return -1;
    }
    sock->next = multi->socks;
    if (multi->socks != NULL)
        multi->socks->prev = sock;
    multi->socks = sock;
    curl_multi_assign(multi->curlm, s, sock);
    return 0;
}

static void httpc_on_timeout(void *arg)
{
    httpc_socket_action(arg, CURL_SOCKET_TIMEOUT, 0);
}

/* CURLMOPT_TIMERFUNCTION: -1 cancels, otherwise wake curl after
 * timeout_ms. */
static int httpc_on_timer(CURLM *curlm, long timeout_ms, void *userp)
{
    struct pp_httpc_multi *multi = userp;

    (void)curlm;
    if (timeout_ms < 0)
        pp_uring_timer_cancel(multi->loop);
    else
        pp_uring_timer_set(multi->loop, timeout_ms, httpc_on_timeout, multi);
    return 0;
}

enum pp_err pp_httpc_multi_new(struct pp_uring *loop, struct pp_httpc_multi **out)
{
    struct pp_httpc_multi *multi;
    CURLMcode rc = CURLM_OK;

    *out = NULL;
    pthread_once(&httpc_once, httpc_global_init);
    if (httpc_global_rc != CURLE_OK)
        return PP_ERR_INTERNAL;
    multi = calloc(1, sizeof *multi);
    if (multi == NULL)
        return PP_ERR_NOMEM;
    multi->loop = loop;
    multi->curlm = curl_multi_init();
    if (multi->curlm == NULL) {
        free(multi);
        return PP_ERR_INTERNAL;
    }
    if (loop != NULL) {
        rc = curl_multi_setopt(multi->curlm, CURLMOPT_SOCKETFUNCTION, httpc_on_socket);
        if (rc == CURLM_OK)
            rc = curl_multi_setopt(multi->curlm, CURLMOPT_SOCKETDATA, multi);
        if (rc == CURLM_OK)
            rc = curl_multi_setopt(multi->curlm, CURLMOPT_TIMERFUNCTION, httpc_on_timer);
        if (rc == CURLM_OK)
            rc = curl_multi_setopt(multi->curlm, CURLMOPT_TIMERDATA, multi);
    }
    if (rc != CURLM_OK) {
        curl_multi_cleanup(multi->curlm);
        free(multi);
        return PP_ERR_INTERNAL;
    }
    *out = multi;
    return PP_OK;
}

static void httpc_xfer_free(struct pp_httpc_multi *multi, struct httpc_xfer *x)
{
    if (x->prev != NULL)
        x->prev->next = x->next;
    else if (multi->xfers == x)
        multi->xfers = x->next;
    if (x->next != NULL)
        x->next->prev = x->prev;
    if (x->curl != NULL)
        curl_easy_cleanup(x->curl);
    curl_slist_free_all(x->headers);
    free(x->method);
    free(x->url);
    free(x);
}

void pp_httpc_multi_destroy(struct pp_httpc_multi *multi)
{
    if (multi == NULL)
        return;
    while (multi->xfers != NULL) {
        curl_multi_remove_handle(multi->curlm, multi->xfers->curl);
        httpc_xfer_free(multi, multi->xfers);
    }
    curl_multi_cleanup(multi->curlm);
    /* Sockets curl did not report removed while cleaning up. */
    while (multi->socks != NULL)
        httpc_sock_free(multi, multi->socks);
    if (multi->loop != NULL)
        pp_uring_timer_cancel(multi->loop);
    free(multi);
}

enum pp_err pp_httpc_multi_start(struct pp_httpc_multi *multi, const struct pp_httpc_request *req,
                                 struct pp_httpc_response *resp, pp_httpc_done_fn done, void *arg)
{
    struct httpc_xfer *x = calloc(1, sizeof *x);
    enum pp_err err;

    if (x == NULL)
        return PP_ERR_NOMEM;
    x->method = strdup(req->method != NULL ? req->method : "GET");
    x->url = strdup(req->url);
    x->curl = curl_easy_init();
    if (x->method == NULL || x->url == NULL || x->curl == NULL) {
        err = x->curl == NULL ? PP_ERR_INTERNAL : PP_ERR_NOMEM;
        goto fail;
    }
    x->req = *req;
    x->req.method = x->method;
    x->req.url = x->url;
    x->req.headers = NULL;
    x->req.body = NULL;
    x->resp = resp;
    x->done = done;
    x->arg = arg;
    resp->status = 0;
    err = httpc_setup(x->curl, req, resp, x->errbuf, &x->headers, NULL, 0);
    if (err == PP_OK && curl_easy_setopt(x->curl, CURLOPT_PRIVATE, x) != CURLE_OK)
        err = PP_ERR_INTERNAL;
    if (err == PP_OK && curl_multi_add_handle(multi->curlm, x->curl) != CURLM_OK)
        err = PP_ERR_INTERNAL;
    if (err != PP_OK)
        goto fail;
    x->next = multi->xfers;
    if (multi->xfers != NULL)
        multi->xfers->prev = x;
    multi->xfers = x;
    multi->n_running++;
    return PP_OK;
fail:
    httpc_xfer_free(multi, x);
    return err;
}

/* Reports the transfers that ended. */
static void httpc_reap(struct pp_httpc_multi *multi)
{
    CURLMsg *m;
    int left;

    while ((m = curl_multi_info_read(multi->curlm, &left)) != NULL) {
        CURL *curl = m->easy_handle;
        CURLcode rc = m->data.result;
        struct httpc_xfer *x = NULL;
        struct pp_httpc_result result;
        pp_httpc_done_fn done;
        void *arg;
        char msg[512] = "";

        if (m->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(curl, CURLINFO_PRIVATE, (char **)&x);
        result.err = httpc_outcome(curl, rc, &x->req, x->errbuf, &x->resp->status, msg, sizeof msg);
        result.is_retriable = result.err == PP_ERR_IO;
        result.status = x->resp->status;
        result.msg = msg;
        curl_multi_remove_handle(multi->curlm, curl);
        done = x->done;
        arg = x->arg;
        httpc_xfer_free(multi, x);
        multi->n_running--;
        done(arg, &result);
    }
}

enum pp_err pp_httpc_multi_run(struct pp_httpc_multi *multi, int timeout_ms)
{
    int running;

    if (multi->loop != NULL) {
        if (pp_uring_run(multi->loop, timeout_ms, NULL) != PP_OK)
            return PP_ERR_IO;
    } else {
        CURLMcode rc = curl_multi_perform(multi->curlm, &running);

        if (rc == CURLM_OK && timeout_ms != 0)
            rc = curl_multi_poll(multi->curlm, NULL, 0,
                                 timeout_ms < 0 ? HTTPC_POLL_MAX_MS : timeout_ms, NULL);
        if (rc == CURLM_OK)
            rc = curl_multi_perform(multi->curlm, &running);
        if (rc != CURLM_OK && multi->failure == CURLM_OK)
            multi->failure = rc;
    }
    httpc_reap(multi);
    return multi->failure == CURLM_OK ? PP_OK : PP_ERR_INTERNAL;
}

size_t pp_httpc_multi_running(const struct pp_httpc_multi *multi)
{
    return multi->n_running;
}

bool pp_httpc_header_find(const struct pp_buf *headers, const char *name, const char **value,
                          size_t *value_len)
{
    size_t name_len = strlen(name);
    const char *p = headers->data;
    const char *end = p + headers->len;
    bool is_found = false;

    while (p != NULL && p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *line_end = eol != NULL ? eol : end;

        /* The last one wins: an earlier response's (100, 3xx) come first. */
        if ((size_t)(line_end - p) > name_len && p[name_len] == ':' &&
            strncasecmp(p, name, name_len) == 0) {
            const char *v = p + name_len + 1;
            const char *e = line_end;

            while (v < e && (*v == ' ' || *v == '\t'))
                v++;
            while (e > v && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
                e--;
            *value = v;
            *value_len = (size_t)(e - v);
            is_found = true;
        }
        p = eol != NULL ? eol + 1 : end;
    }
    return is_found;
}
