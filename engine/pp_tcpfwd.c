/*
 * pp_tcpfwd: see pp_tcpfwd.h.
 *
 * Each connection has two directions; each direction has an output buffer
 * of bytes ready for its destination socket. Reads from a source happen
 * only while its direction's output holds less than FWD_HIGH_WATER bytes,
 * so memory per connection is bounded by the high-water mark plus one read
 * plus the largest captured frame.
 */
#include "pp_tcpfwd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "pp_log.h"
#include "pp_net.h"

#define FWD_READ_CHUNK (64u << 10)
#define FWD_HIGH_WATER (256u << 10)
#define FWD_HEAD_BYTES 12u
#define FWD_DEFAULT_MAX_FRAME (16u << 20)

struct fwd_dir {
    struct pp_tcpfwd_frame out; /* bytes for the destination */
    size_t out_off;             /* already written */
    uint8_t head[FWD_HEAD_BYTES];
    size_t head_len;
    uint64_t skip; /* bytes of a streamed frame still to copy */
    bool is_capturing;
    struct pp_tcpfwd_frame frame; /* captured frame */
    size_t frame_need;
    bool is_eof; /* source closed: shut down after out drains */
};

struct fwd_conn {
    int fd[2]; /* [0] client, [1] upstream */
    bool is_connecting;
    void *filter_conn;
    struct fwd_dir dir[2]; /* indexed by enum pp_tcpfwd_dir */
    struct fwd_conn *next;
};

struct pp_tcpfwd {
    int listen_fd;
    int wake_fd;
    pthread_t thread;
    bool has_thread;
    struct sockaddr_storage upstream;
    socklen_t upstream_len;
    struct pp_tcpfwd_filter filter;
    bool has_filter;
    size_t max_frame;
    struct fwd_conn *conns;
    size_t n_conns;
    char host[INET6_ADDRSTRLEN];
    uint16_t port;
    char address[INET6_ADDRSTRLEN + 16];
};

enum pp_err pp_tcpfwd_parse_addr(const char *addr, bool is_loopback_only,
                                 struct sockaddr_storage *ss, socklen_t *ss_len, char *msg,
                                 size_t msg_len)
{
    enum pp_err err = pp_net_parse_addr(addr, ss, ss_len);

    if (err == PP_ERR_NOTFOUND) {
        snprintf(msg, msg_len, "cannot resolve '%s'", addr);
        return PP_ERR_USAGE;
    }
    if (err != PP_OK || pp_net_port(ss) == 0) {
        snprintf(msg, msg_len, "'%s' is not host:port (port 1..65535)", addr);
        return PP_ERR_USAGE;
    }
    if (is_loopback_only && !pp_net_is_loopback(ss)) {
        snprintf(msg, msg_len,
                 "'%s' is not a loopback address (the development broker listens on "
                 "127.0.0.0/8 or ::1 only)",
                 addr);
        return PP_ERR_USAGE;
    }
    return PP_OK;
}

static enum pp_err fwd_append(struct pp_tcpfwd_frame *b, const uint8_t *p, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        uint8_t *data;
        while (cap < b->len + n)
            cap *= 2;
        data = realloc(b->data, cap);
        if (data == NULL)
            return PP_ERR_NOMEM;
        b->data = data;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return PP_OK;
}

static void fwd_conn_free(struct pp_tcpfwd *fwd, struct fwd_conn *conn)
{
    int d;

    for (d = 0; d < 2; d++) {
        if (conn->fd[d] >= 0)
            close(conn->fd[d]);
        free(conn->dir[d].out.data);
        free(conn->dir[d].frame.data);
    }
    if (fwd->has_filter && conn->filter_conn != NULL)
        fwd->filter.conn_free(fwd->filter.arg, conn->filter_conn);
    free(conn);
}

/* Runs bytes read from one side through the framing state machine into
 * that direction's output. Returns non-zero to close the connection. */
static enum pp_err fwd_process(struct pp_tcpfwd *fwd, struct fwd_conn *conn, enum pp_tcpfwd_dir d,
                               const uint8_t *p, size_t n)
{
    struct fwd_dir *dir = &conn->dir[d];
    enum pp_err err;

    if (!fwd->has_filter)
        return fwd_append(&dir->out, p, n);
    while (n > 0) {
        if (dir->skip > 0) {
            size_t take = n < dir->skip ? n : (size_t)dir->skip;
            if ((err = fwd_append(&dir->out, p, take)))
                return err;
            dir->skip -= take;
            p += take;
            n -= take;
        } else if (dir->is_capturing) {
            size_t take = dir->frame_need - dir->frame.len;
            if (take > n)
                take = n;
            if ((err = fwd_append(&dir->frame, p, take)))
                return err;
            p += take;
            n -= take;
            if (dir->frame.len == dir->frame_need) {
                if ((err = fwd->filter.rewrite(fwd->filter.arg, conn->filter_conn, d, &dir->frame)))
                    return err;
                if ((err = fwd_append(&dir->out, dir->frame.data, dir->frame.len)))
                    return err;
                dir->frame.len = 0;
                dir->is_capturing = false;
            }
        } else {
            uint64_t total;
            size_t want = FWD_HEAD_BYTES;
            dir->head[dir->head_len++] = *p++;
            n--;
            if (dir->head_len < 4)
                continue;
            total = 4 + (uint64_t)((uint32_t)dir->head[0] << 24 | (uint32_t)dir->head[1] << 16 |
                                   (uint32_t)dir->head[2] << 8 | dir->head[3]);
            if (total > ((uint64_t)1 << 31))
                return PP_ERR_CORRUPT;
            if (total < want)
                want = (size_t)total;
            if (dir->head_len < want)
                continue;
            if (fwd->filter.wants(fwd->filter.arg, conn->filter_conn, d, dir->head,
                                  dir->head_len)) {
                if (total > fwd->max_frame)
                    return PP_ERR_TOOBIG;
                dir->frame.len = 0;
                if ((err = fwd_append(&dir->frame, dir->head, dir->head_len)))
                    return err;
                dir->frame_need = (size_t)total;
                dir->is_capturing = dir->frame.len < dir->frame_need;
                if (!dir->is_capturing) {
                    if ((err = fwd->filter.rewrite(fwd->filter.arg, conn->filter_conn, d,
                                                   &dir->frame)) ||
                        (err = fwd_append(&dir->out, dir->frame.data, dir->frame.len)))
                        return err;
                }
            } else {
                if ((err = fwd_append(&dir->out, dir->head, dir->head_len)))
                    return err;
                dir->skip = total - dir->head_len;
            }
            dir->head_len = 0;
        }
    }
    return PP_OK;
}

static void fwd_accept(struct pp_tcpfwd *fwd)
{
    for (;;) {
        struct fwd_conn *conn;
        int one = 1;
        int fd = accept4(fwd->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        int up;

        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                pp_log_warn("broker: accept on %s: %s", fwd->address, strerror(errno));
            return;
        }
        up = socket(fwd->upstream.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        conn = calloc(1, sizeof *conn);
        if (up < 0 || conn == NULL) {
            if (up >= 0)
                close(up);
            free(conn);
            close(fd);
            continue;
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        setsockopt(up, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        conn->fd[0] = fd;
        conn->fd[1] = up;
        if (connect(up, (const struct sockaddr *)&fwd->upstream, fwd->upstream_len) < 0) {
            if (errno != EINPROGRESS) {
                conn->fd[1] = -1;
                close(up);
                conn->fd[0] = -1;
                close(fd);
                free(conn);
                continue;
            }
            conn->is_connecting = true;
        }
        if (fwd->has_filter) {
            conn->filter_conn = fwd->filter.conn_new(fwd->filter.arg);
            if (conn->filter_conn == NULL) {
                fwd_conn_free(fwd, conn);
                continue;
            }
        }
        conn->next = fwd->conns;
        fwd->conns = conn;
        fwd->n_conns++;
    }
}

/* Moves data for one connection after poll; returns false to close it. */
static bool fwd_conn_io(struct pp_tcpfwd *fwd, struct fwd_conn *conn, const struct pollfd *pfd,
                        uint8_t *chunk)
{
    int d;

    if (conn->is_connecting) {
        int so_err = 0;
        socklen_t len = sizeof so_err;
        if (!(pfd[1].revents & (POLLOUT | POLLERR | POLLHUP)))
            return true;
        if (getsockopt(conn->fd[1], SOL_SOCKET, SO_ERROR, &so_err, &len) < 0 || so_err != 0)
            return false;
        conn->is_connecting = false;
    }
    /* Direction d reads from fd[d] and writes to fd[1 - d]. */
    for (d = 0; d < 2; d++) {
        struct fwd_dir *dir = &conn->dir[d];
        int src = conn->fd[d];
        int dst = conn->fd[1 - d];

        if (!dir->is_eof && (pfd[d].revents & (POLLIN | POLLHUP | POLLERR)) &&
            dir->out.len - dir->out_off < FWD_HIGH_WATER) {
            ssize_t r = read(src, chunk, FWD_READ_CHUNK);
            if (r > 0) {
                if (fwd_process(fwd, conn, (enum pp_tcpfwd_dir)d, chunk, (size_t)r))
                    return false;
            } else if (r == 0) {
                dir->is_eof = true;
            } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                return false;
            }
        }
        while (dir->out_off < dir->out.len) {
            ssize_t w =
                send(dst, dir->out.data + dir->out_off, dir->out.len - dir->out_off, MSG_NOSIGNAL);
            if (w < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK)
                    break;
                if (errno == EINTR)
                    continue;
                return false;
            }
            dir->out_off += (size_t)w;
        }
        if (dir->out_off == dir->out.len) {
            dir->out.len = 0;
            dir->out_off = 0;
            /* A short-lived peer: once one side closed and its bytes are
             * delivered, the connection is done (Kafka has no half-close). */
            if (dir->is_eof)
                return false;
        }
    }
    return true;
}

static void *fwd_main(void *arg)
{
    struct pp_tcpfwd *fwd = arg;
    struct pollfd *pfds = NULL;
    size_t pfds_cap = 0;
    uint8_t *chunk = malloc(FWD_READ_CHUNK);

    if (chunk == NULL) {
        pp_log_error("broker: forwarder: out of memory");
        return NULL;
    }
    for (;;) {
        struct fwd_conn *conn;
        struct fwd_conn **link;
        size_t n = 2;
        size_t i;

        if (pfds_cap < 2 + 2 * fwd->n_conns) {
            size_t cap = 2 * (2 + 2 * fwd->n_conns);
            struct pollfd *p = realloc(pfds, cap * sizeof *p);
            if (p == NULL) {
                pp_log_error("broker: forwarder: out of memory");
                break;
            }
            pfds = p;
            pfds_cap = cap;
        }
        pfds[0] = (struct pollfd){.fd = fwd->wake_fd, .events = POLLIN};
        pfds[1] = (struct pollfd){.fd = fwd->listen_fd, .events = POLLIN};
        for (conn = fwd->conns; conn != NULL; conn = conn->next) {
            int d;
            for (d = 0; d < 2; d++) {
                short ev = 0;
                /* Read while this side's output has room; write while the
                 * other side's output has bytes. */
                if (!conn->dir[d].is_eof && !conn->is_connecting &&
                    conn->dir[d].out.len - conn->dir[d].out_off < FWD_HIGH_WATER)
                    ev |= POLLIN;
                if (conn->dir[1 - d].out_off < conn->dir[1 - d].out.len)
                    ev |= POLLOUT;
                if (d == 1 && conn->is_connecting)
                    ev = POLLOUT;
                pfds[n++] = (struct pollfd){.fd = conn->fd[d], .events = ev};
            }
        }
        if (poll(pfds, (nfds_t)n, -1) < 0) {
            if (errno == EINTR)
                continue;
            pp_log_error("broker: forwarder: poll: %s", strerror(errno));
            break;
        }
        if (pfds[0].revents & POLLIN)
            break;
        i = 2;
        link = &fwd->conns;
        while ((conn = *link) != NULL) {
            if (!fwd_conn_io(fwd, conn, &pfds[i], chunk)) {
                *link = conn->next;
                fwd_conn_free(fwd, conn);
                fwd->n_conns--;
            } else {
                link = &conn->next;
            }
            i += 2;
        }
        if (pfds[1].revents & POLLIN)
            fwd_accept(fwd);
    }
    free(chunk);
    free(pfds);
    return NULL;
}

enum pp_err pp_tcpfwd_new(const struct pp_tcpfwd_options *options, struct pp_tcpfwd **fwd_out,
                          char *msg, size_t msg_len)
{
    struct pp_tcpfwd *fwd;
    struct sockaddr_storage ss;
    socklen_t ss_len;
    enum pp_err err;
    int one = 1;

    *fwd_out = NULL;
    fwd = calloc(1, sizeof *fwd);
    if (fwd == NULL)
        return PP_ERR_NOMEM;
    fwd->listen_fd = -1;
    fwd->wake_fd = -1;
    fwd->max_frame = options->max_frame_bytes ? options->max_frame_bytes : FWD_DEFAULT_MAX_FRAME;
    if (options->filter != NULL) {
        fwd->filter = *options->filter;
        fwd->has_filter = true;
    }
    if ((err = pp_tcpfwd_parse_addr(options->upstream, false, &fwd->upstream, &fwd->upstream_len,
                                    msg, msg_len)))
        goto fail;
    if (options->is_any_port) {
        /* Only the host matters; the port (possibly 0) is the kernel's
         * choice. */
        err = pp_net_parse_addr(options->listen, &ss, &ss_len);
        if (err == PP_OK && !pp_net_is_loopback(&ss))
            err = PP_ERR_INVALID;
        if (err) {
            snprintf(msg, msg_len, "'%s' is not a loopback host:port", options->listen);
            err = PP_ERR_USAGE;
            goto fail;
        }
        if (ss.ss_family == AF_INET6)
            ((struct sockaddr_in6 *)&ss)->sin6_port = 0;
        else
            ((struct sockaddr_in *)&ss)->sin_port = 0;
    } else if ((err = pp_tcpfwd_parse_addr(options->listen, true, &ss, &ss_len, msg, msg_len))) {
        goto fail;
    }
    if (getnameinfo((struct sockaddr *)&ss, ss_len, fwd->host, sizeof fwd->host, NULL, 0,
                    NI_NUMERICHOST) != 0)
        snprintf(fwd->host, sizeof fwd->host, "?");
    fwd->listen_fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fwd->listen_fd < 0) {
        snprintf(msg, msg_len, "cannot listen on %s: %s", options->listen, strerror(errno));
        err = PP_ERR_IO;
        goto fail;
    }
    setsockopt(fwd->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fwd->listen_fd, (struct sockaddr *)&ss, ss_len) < 0 ||
        listen(fwd->listen_fd, 128) < 0) {
        snprintf(msg, msg_len, "cannot listen on %s: %s", options->listen,
                 errno == EADDRINUSE ? "address already in use" : strerror(errno));
        err = PP_ERR_IO;
        goto fail;
    }
    /* The bound port: the requested one, or the kernel's choice. */
    ss_len = sizeof ss;
    if (getsockname(fwd->listen_fd, (struct sockaddr *)&ss, &ss_len) < 0) {
        snprintf(msg, msg_len, "cannot listen on %s: %s", options->listen, strerror(errno));
        err = PP_ERR_IO;
        goto fail;
    }
    fwd->port = pp_net_port(&ss);
    snprintf(fwd->address, sizeof fwd->address, ss.ss_family == AF_INET6 ? "[%s]:%u" : "%s:%u",
             fwd->host, (unsigned)fwd->port);
    fwd->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (fwd->wake_fd < 0) {
        snprintf(msg, msg_len, "eventfd: %s", strerror(errno));
        err = PP_ERR_IO;
        goto fail;
    }
    if (pthread_create(&fwd->thread, NULL, fwd_main, fwd) != 0) {
        snprintf(msg, msg_len, "cannot start the forwarder thread");
        err = PP_ERR_IO;
        goto fail;
    }
    fwd->has_thread = true;
    *fwd_out = fwd;
    return PP_OK;
fail:
    pp_tcpfwd_destroy(fwd);
    return err;
}

const char *pp_tcpfwd_address(const struct pp_tcpfwd *fwd)
{
    return fwd->address;
}

const char *pp_tcpfwd_host(const struct pp_tcpfwd *fwd)
{
    return fwd->host;
}

uint16_t pp_tcpfwd_port(const struct pp_tcpfwd *fwd)
{
    return fwd->port;
}

void pp_tcpfwd_destroy(struct pp_tcpfwd *fwd)
{
    struct fwd_conn *conn;

    if (fwd == NULL)
        return;
    if (fwd->has_thread) {
        uint64_t one = 1;
        while (write(fwd->wake_fd, &one, sizeof one) < 0 && errno == EINTR)
            ;
        pthread_join(fwd->thread, NULL);
    }
    while ((conn = fwd->conns) != NULL) {
        fwd->conns = conn->next;
        fwd_conn_free(fwd, conn);
    }
    if (fwd->listen_fd >= 0)
        close(fwd->listen_fd);
    if (fwd->wake_fd >= 0)
        close(fwd->wake_fd);
    free(fwd);
}
