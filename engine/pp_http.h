/*
 * pp_http: the HTTP server of pinpipe's API (SPEC 8), the only user of
 * libmicrohttpd. Nothing of libmicrohttpd appears in this header.
 *
 * Life cycle (main thread): pp_http_new() parses and binds the listen
 * address (port 0 picks a free port, see pp_http_port()); pp_http_route()
 * registers the endpoints; pp_http_start() starts serving; pp_http_stop()
 * stops; pp_http_destroy() frees. Routes cannot be added once started.
 *
 * Done here once for every route (docs/http.md): the Bearer token check
 * (401), the request body limit (413), unknown paths (404), wrong methods
 * (405, with Allow), HEAD for GET routes, the connection limit and the
 * request timeout. Every error answer is JSON in the Confluent shape
 * {"error_code":NNNNN,"message":"..."}.
 *
 * Threads: handlers are called on the server's own threads (a small fixed
 * pool, each thread running an epoll loop over its share of the
 * connections), several at a time, never on the caller's thread. A handler
 * must therefore touch only thread-safe state (atomics, snapshots under a
 * lock, ...) and must return quickly: while it runs, the other connections
 * of its thread wait.
 */
#ifndef PP_HTTP_H
#define PP_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "pp_arena.h"
#include "pp_err.h"
#include "pp_log.h"
#include "pp_str.h"

#ifdef __cplusplus
extern "C" {
#endif

struct pp_http;

struct pp_http_options {
    /* "host:port" or "[v6addr]:port"; port 0 picks a free port. Required. */
    const char *listen;
    /* Bearer token (http.auth.token); NULL or "" means none. Borrowed:
     * pp_http_new() copies it. Never logged. */
    const char *auth_token;
    /* http.auth=none: no authentication even when a token is set, and
     * non-loopback addresses are allowed without a token. */
    bool is_auth_none;
    /* Largest request body; 0 means 1 MiB. */
    size_t max_body_bytes;
    /* Seconds a client has to send a whole request (from connection open,
     * or from the end of its previous response), and the longest a
     * connection may stay idle; 0 means 30. */
    unsigned connection_timeout_s;
    /* Open connections at most; more are closed at once. The limit is
     * shared out evenly between the threads. 0 means 256; at least threads. */
    unsigned max_connections;
    /* Server threads; 0 means 4. */
    unsigned threads;
};

/* Route flags. */
enum {
    PP_HTTP_PUBLIC = 1u << 0, /* no token needed (/healthz, /readyz) */
    PP_HTTP_BODY = 1u << 1,   /* the handler receives the request body */
};

/*
 * One request, as a handler sees it. Borrowed: valid only during the
 * handler call. Strings are NUL-terminated; path and tail are
 * percent-decoded.
 */
struct pp_http_request {
    const char *method; /* "GET", "HEAD", "POST", ... */
    const char *path;   /* without the query string */
    struct pp_str tail; /* the part matched by "*" of a prefix route
                           (may be empty); empty for exact routes */
    const char *body;   /* PP_HTTP_BODY routes: the whole body
                           (NUL-terminated, may contain NULs); else "" */
    size_t body_len;
    void *priv; /* the module's own; do not touch */
};

/*
 * The answer a handler fills. On entry: status 200, content type
 * "application/json", empty body and no extra headers. For HEAD requests
 * the body is measured (Content-Length) but not sent.
 */
struct pp_http_response {
    unsigned status;
    const char *content_type; /* must outlive the handler call (a literal) */
    struct pp_buf body;
    struct pp_buf headers; /* private: use pp_http_response_header() */
};

/*
 * A request handler: fills resp from req. Called on a server thread (see
 * the top of this file); arg is the pointer given to pp_http_route().
 * Returns PP_OK when resp is the answer; any other value discards resp and
 * answers 500 {"error_code":50001,...}.
 */
typedef enum pp_err (*pp_http_handler_fn)(void *arg, const struct pp_http_request *req,
                                          struct pp_http_response *resp);

/*
 * Creates a server: checks the options and binds and listens on
 * opts->listen (connections wait in the backlog until pp_http_start()).
 * Refuses (PP_ERR_USAGE) a non-loopback address (anything but 127.x.x.x,
 * localhost, ::1) without a token unless opts->is_auth_none. Errors:
 * PP_ERR_USAGE (bad address or options), PP_ERR_IO (cannot bind, e.g. the
 * port is in use; the message names the address), PP_ERR_NOMEM. msg
 * (may be NULL) receives one line naming the key at fault. Main thread.
 */
enum pp_err pp_http_new(const struct pp_http_options *opts, struct pp_http **http_out, char *msg,
                        size_t msg_len);

/*
 * Registers handler for method ("GET", "POST", ...; a GET route also
 * answers HEAD) on path_pattern: an exact path ("/v1/status") or a prefix
 * pattern, a path ending in a slash and a star, e.g. "/topics/" "*" (that
 * matches "/topics/x" and "/topics/", not "/topics"). When several routes
 * match, an exact one wins over prefixes and a longer prefix over a shorter
 * one. flags: PP_HTTP_PUBLIC, PP_HTTP_BODY (without it a body is read and
 * dropped, still within the limit). method and path_pattern are copied; arg is passed to the
 * handler as is and must stay valid until pp_http_stop(). Before
 * pp_http_start() only, main thread. Returns PP_ERR_INVALID for a bad
 * pattern or a duplicate (method, pattern), PP_ERR_NOMEM.
 */
enum pp_err pp_http_route(struct pp_http *http, const char *method, const char *path_pattern,
                          pp_http_handler_fn handler, void *arg, unsigned flags);

/* Starts serving on the server threads. PP_ERR_INTERNAL when libmicrohttpd
 * cannot start (msg says so). Main thread, once. */
enum pp_err pp_http_start(struct pp_http *http, char *msg, size_t msg_len);

/* Stops serving: closes every connection (open requests are cut) and joins
 * the server threads; returns once no handler runs. Accepts NULL and a
 * server never started or already stopped. Main thread. */
void pp_http_stop(struct pp_http *http);

/* Stops (if needed) and frees. Accepts NULL. Main thread. */
void pp_http_destroy(struct pp_http *http);

/* The bound port (the actual one when the listen port was 0). */
unsigned pp_http_port(const struct pp_http *http);

/* Value of query parameter name (percent-decoded), or NULL when absent (or
 * given without "="). Borrowed: valid during the handler call. */
const char *pp_http_query(const struct pp_http_request *req, const char *name);

/* Value of request header name, compared case-insensitively, or NULL.
 * Borrowed: valid during the handler call. */
const char *pp_http_header(const struct pp_http_request *req, const char *name);

/* Adds a response header (both strings are copied). Content-Type and
 * Content-Length are set by the module: use content_type instead. */
enum pp_err pp_http_response_header(struct pp_http_response *resp, const char *name,
                                    const char *value);

/*
 * Replaces resp with an error answer in the Confluent shape:
 * status, body {"error_code":error_code,"message":"<fmt..., JSON-escaped>"}
 * and content type application/json. For handlers' own errors (422, 415,
 * 404 unknown topic, ...) so that every error looks the same.
 */
enum pp_err pp_http_response_error(struct pp_http_response *resp, unsigned status,
                                   unsigned error_code, const char *fmt, ...) PP_PRINTF(4, 5);

/*
 * Appends text[0..len) as the inside of a JSON string (without the
 * quotes): quotes, backslashes and control characters escaped, invalid
 * UTF-8 as U+FFFD, so the result is always valid JSON. For handlers that
 * write their own JSON answers. PP_ERR_NOMEM. Any thread.
 */
enum pp_err pp_http_json_escape_append(struct pp_buf *buf, const char *text, size_t len);

#ifdef __cplusplus
}
#endif

#endif
