/*
 * pp_tcpfwd: a small TCP forwarder for loopback development services.
 *
 * One thread runs a poll(2) loop over nonblocking sockets: it accepts on a
 * listen address and connects each client to a fixed upstream address,
 * copying bytes both ways through bounded per-connection buffers (a side
 * that cannot keep up stops the other side's reads: backpressure).
 *
 * Optionally the stream is read as length-prefixed frames (a 4-byte
 * big-endian size, as in the Kafka protocol) and a filter may capture whole
 * frames, inspect them and rewrite them; all other frames stream through
 * without being buffered whole. pp_kafka uses this to pre-create topics and
 * to advertise the listen address instead of the mock broker's own port.
 */
#ifndef PP_TCPFWD_H
#define PP_TCPFWD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "pp_err.h"

/* A frame's direction. */
enum pp_tcpfwd_dir { PP_TCPFWD_TO_UPSTREAM = 0, PP_TCPFWD_TO_CLIENT = 1 };

/* A growable frame a filter may rewrite in place or resize (realloc'able
 * with free()/realloc()). */
struct pp_tcpfwd_frame {
    uint8_t *data;
    size_t len;
    size_t cap;
};

/* Frame filter. All callbacks run on the forwarder thread. */
struct pp_tcpfwd_filter {
    void *arg;
    /* Per-connection state; may return NULL (then the connection is
     * closed). */
    void *(*conn_new)(void *arg);
    void (*conn_free)(void *arg, void *conn);
    /* Sees the first min(12, frame length) bytes of a frame, the size
     * prefix included; returns true to capture the whole frame. */
    bool (*wants)(void *arg, void *conn, enum pp_tcpfwd_dir dir, const uint8_t *head,
                  size_t head_len);
    /* Inspects or rewrites a captured frame (size prefix included; the
     * filter keeps the prefix right). Non-zero closes the connection. */
    enum pp_err (*rewrite)(void *arg, void *conn, enum pp_tcpfwd_dir dir,
                           struct pp_tcpfwd_frame *frame);
};

struct pp_tcpfwd_options {
    const char *listen;                    /* "host:port" or "[v6]:port"; loopback only */
    const char *upstream;                  /* "host:port" */
    const struct pp_tcpfwd_filter *filter; /* may be NULL: plain bytes */
    size_t max_frame_bytes;                /* captured frames above this close the
                                              connection; 0 = 16 MiB */
    bool is_any_port;                      /* ignore listen's port (it may be 0): the kernel picks a
                                              free one; pp_tcpfwd_port tells which */
};

struct pp_tcpfwd;

/*
 * Parses "host:port" (host a name or address, "[addr]:port" for IPv6) into
 * a socket address. With is_loopback_only, a non-loopback address is
 * PP_ERR_USAGE. Errors write one line to msg.
 */
enum pp_err pp_tcpfwd_parse_addr(const char *addr, bool is_loopback_only,
                                 struct sockaddr_storage *ss, socklen_t *ss_len, char *msg,
                                 size_t msg_len);

/*
 * Binds the listen address and starts the forwarder thread. On success
 * *fwd_out is set (the caller frees it with pp_tcpfwd_destroy). Errors:
 * PP_ERR_USAGE (bad or non-loopback address), PP_ERR_IO (address in use,
 * ...), PP_ERR_NOMEM; msg names the address. Main thread.
 */
enum pp_err pp_tcpfwd_new(const struct pp_tcpfwd_options *options, struct pp_tcpfwd **fwd_out,
                          char *msg, size_t msg_len);

/* The bound listen address as "host:port" (numeric). Borrowed, valid until
 * destroy. */
const char *pp_tcpfwd_address(const struct pp_tcpfwd *fwd);

/* Numeric host and port of the listen address. */
const char *pp_tcpfwd_host(const struct pp_tcpfwd *fwd);
uint16_t pp_tcpfwd_port(const struct pp_tcpfwd *fwd);

/* Stops the thread (wakes it through an eventfd), closes every connection
 * and frees. Accepts NULL. Not from the forwarder thread. */
void pp_tcpfwd_destroy(struct pp_tcpfwd *fwd);

#endif
