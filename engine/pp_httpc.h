/*
 * pp_httpc: a small HTTP client, the only user of libcurl. Nothing of
 * libcurl appears in this header.
 *
 * One client is one connection cache (libcurl's easy handle): requests to
 * the same host reuse the open connection (HTTP/1.1 keep-alive). A request
 * sends a method, a URL, header lines and an optional body, and gives back
 * the status, the response body and (optionally) the response headers.
 *
 * Threads: a client belongs to one thread at a time. Clients on different
 * threads are independent (libcurl's global state is set up once, thread
 * safely, by the first pp_httpc_new).
 */
#ifndef PP_HTTPC_H
#define PP_HTTPC_H

#include <stdbool.h>
#include <stddef.h>

#include "pp_arena.h"
#include "pp_err.h"

struct pp_httpc;

struct pp_httpc_request {
    const char *method; /* "GET", "POST", "PUT", ...; NULL means GET */
    const char *url;    /* "http://host:port/path?query" (http or https) */
    /* Extra header lines "Name: value", NULL-terminated; may be NULL. The
     * values are never logged (they may carry credentials). */
    const char *const *headers;
    const void *body; /* may be NULL with body_len 0 */
    size_t body_len;
    long timeout_ms; /* whole request, connection included; 0 means 30 s */
    /* Connect directly, ignoring any proxy the environment names
     * (http_proxy, ...): for the EC2 instance metadata service, which only
     * answers on the instance itself and hands out credentials. */
    bool is_direct;
};

struct pp_httpc_response {
    unsigned status;        /* e.g. 200; 0 when no answer arrived */
    struct pp_buf body;     /* the response body (appended to) */
    struct pp_buf *headers; /* NULL, or receives the header lines as sent */
};

/* Creates a client. PP_ERR_NOMEM, or PP_ERR_INTERNAL when libcurl cannot
 * be initialised. The caller frees it with pp_httpc_destroy. */
enum pp_err pp_httpc_new(struct pp_httpc **out);

/* Closes its connections and frees it. Accepts NULL. */
void pp_httpc_destroy(struct pp_httpc *client);

/*
 * Sends one request and waits for the whole answer. Any status is PP_OK
 * (the caller judges resp->status); errors are the transport's:
 * PP_ERR_IO (cannot connect, connection lost, timed out: retriable),
 * PP_ERR_USAGE (a malformed or unsupported URL), PP_ERR_NOMEM,
 * PP_ERR_INTERNAL. msg (may be NULL) gets one line naming the URL without
 * its query string. resp->body (and *resp->headers) must be initialised
 * pp_bufs; their contents are appended to, the caller cleans them up.
 */
enum pp_err pp_httpc_send(struct pp_httpc *client, const struct pp_httpc_request *req,
                          struct pp_httpc_response *resp, char *msg, size_t msg_len);

/*
 * The asynchronous client: many requests in flight on one thread, over
 * libcurl's multi-socket API. With an io_uring loop, libcurl's sockets are
 * watched by pp_uring (level-triggered fd watches) and its timeout is the
 * loop's one timer: the loop is then the multi's alone to drive through
 * pp_httpc_multi_run. Without one (io_uring unavailable), libcurl polls its
 * sockets itself inside pp_httpc_multi_run.
 *
 * Connections are kept and reused across requests to the same host.
 *
 * Threads: a multi, its loop and every callback belong to one thread.
 */
struct pp_httpc_multi;
struct pp_uring;

/* How a request ended. */
struct pp_httpc_result {
    /* PP_OK: an answer arrived (any status, judged by the caller); else the
     * transport failed: PP_ERR_IO (connect, send, receive, timeout, TLS),
     * PP_ERR_USAGE (a malformed or unsupported URL), PP_ERR_NOMEM,
     * PP_ERR_INTERNAL. */
    enum pp_err err;
    /* The failure is worth retrying later (refused or reset connection,
     * timeout, name resolution, nothing received). */
    bool is_retriable;
    unsigned status; /* the HTTP status; 0 when no answer arrived */
    /* One line naming the method and URL (without query) and the cause;
     * "" when err is PP_OK. Valid during the callback. */
    const char *msg;
};

/* A request ended; called from pp_httpc_multi_run (never from
 * pp_httpc_multi_start), once per request. It may start new requests. */
typedef void (*pp_httpc_done_fn)(void *arg, const struct pp_httpc_result *result);

/* Creates a multi client driven by loop (borrowed, may be NULL: see
 * above; the loop's timer then belongs to the multi). PP_ERR_NOMEM,
 * PP_ERR_INTERNAL. The caller frees it with pp_httpc_multi_destroy,
 * before the loop. */
enum pp_err pp_httpc_multi_new(struct pp_uring *loop, struct pp_httpc_multi **out);

/* Abandons the requests still running (their callbacks are not called),
 * closes the connections, stops every watch and the timer, frees it.
 * Accepts NULL. */
void pp_httpc_multi_destroy(struct pp_httpc_multi *multi);

/*
 * Starts req. req's strings and header lines are copied; req->body is
 * borrowed until done is called; resp (its body initialised, headers
 * NULL or an initialised pp_buf) is filled in before done is called and
 * borrowed until then. is_direct and timeout_ms as for pp_httpc_send.
 * PP_ERR_NOMEM, PP_ERR_INTERNAL: nothing started, done is never called.
 */
enum pp_err pp_httpc_multi_start(struct pp_httpc_multi *multi, const struct pp_httpc_request *req,
                                 struct pp_httpc_response *resp, pp_httpc_done_fn done, void *arg);

/*
 * Drives the transfers: waits up to timeout_ms (0: does not wait; -1: until
 * something happens) for socket readiness or libcurl's timeout, lets libcurl
 * work, then calls the callbacks of the requests that ended. PP_ERR_IO when
 * the loop itself failed, PP_ERR_INTERNAL when libcurl did.
 */
enum pp_err pp_httpc_multi_run(struct pp_httpc_multi *multi, int timeout_ms);

/* Requests started and not yet reported. */
size_t pp_httpc_multi_running(const struct pp_httpc_multi *multi);

/*
 * Finds header `name` (case-insensitive) in header lines as received
 * (resp->headers: "Name: value\r\n" lines; of the last response when
 * redirects or 100-continue added earlier ones). value/value_len get the
 * value without surrounding blanks, borrowed from headers. false when
 * absent.
 */
bool pp_httpc_header_find(const struct pp_buf *headers, const char *name, const char **value,
                          size_t *value_len);

#endif
