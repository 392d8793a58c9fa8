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

#endif
