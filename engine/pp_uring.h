/*
 * pp_uring: a small event loop on io_uring, the only user of liburing.
 *
 * One loop belongs to one thread: every call below, and every callback, is
 * made on that thread. It offers three things:
 *   - file operations (openat, write at an offset, fsync, close, renameat,
 *     mkdirat, unlinkat), each reported once through its callback;
 *     operations can be linked so that the next one starts only when the
 *     previous one succeeded (PP_URING_LINK), or whatever its result
 *     (PP_URING_HARDLINK), and can name a slot of the loop's own file table
 *     instead of a descriptor (PP_URING_FIXED, pp_uring_openat's slot), so a
 *     whole open-write-fsync-close chain is submitted at once;
 *   - fd readiness (pp_uring_watch_*), what a libcurl CURLMOPT_SOCKETFUNCTION
 *     needs: level-triggered, as curl expects;
 *   - one timer (pp_uring_timer_*), what CURLMOPT_TIMERFUNCTION needs.
 * Operations are queued by the calls and handed to the kernel in batches by
 * pp_uring_run(), which also waits and dispatches the callbacks.
 *
 * Buffers and paths given to an operation are borrowed until its callback.
 */
#ifndef PP_URING_H
#define PP_URING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "pp_err.h"

struct pp_uring;
struct pp_uring_watch;

/*
 * The result of one operation. err PP_OK: res is the operation's result (a
 * descriptor for openat without a slot, bytes written, 0). Otherwise res is
 * the errno: PP_ERR_NOTFOUND for ENOENT, PP_ERR_NOMEM for ENOMEM, PP_ERR_IO
 * for the rest, including ECANCELED for a linked operation that never ran
 * because an earlier one of its chain failed. A write may succeed short
 * (res below its length); in a chain that also cancels what follows.
 */
typedef void (*pp_uring_done_fn)(void *arg, enum pp_err err, int res);

/* fd readiness: revents are POLLIN / POLLOUT / POLLERR / POLLHUP bits. */
typedef void (*pp_uring_ready_fn)(void *arg, int fd, unsigned revents);

/* The timer fired. */
typedef void (*pp_uring_timer_fn)(void *arg);

/* Flags of an operation. */
enum {
    /* The next operation queued starts only when this one succeeds (a write
     * succeeds only when complete); otherwise it ends with ECANCELED. */
    PP_URING_LINK = 1u << 0,
    /* The next operation starts when this one ends, whatever its result. */
    PP_URING_HARDLINK = 1u << 1,
    /* fd is a slot of the loop's file table, not a descriptor. */
    PP_URING_FIXED = 1u << 2,
};

/*
 * Creates a loop with room for `entries` queued operations (0: 256) and a
 * file table of n_slots slots (0: none). Any thread; the loop then belongs
 * to it. PP_ERR_IO where io_uring is unavailable (kernel too old, seccomp
 * in a container, io_uring_disabled): *errno_out gets the errno (ENOSYS,
 * EPERM, ...) so the caller can say why it falls back; PP_ERR_NOMEM.
 */
enum pp_err pp_uring_new(unsigned entries, unsigned n_slots, struct pp_uring **loop,
                         int *errno_out);

/*
 * Frees the loop. Operations still running are cancelled where they can be
 * and waited for (their memory is borrowed); their callbacks are not
 * called. Stop every watch first (a watch's memory is the caller's to
 * release through pp_uring_watch_stop). Accepts NULL.
 */
void pp_uring_destroy(struct pp_uring *loop);

/* Makes sure the next n operations queue without a submission in between
 * and without failing, so that a chain of n linked operations reaches the
 * kernel whole. n at most the loop's entries. PP_ERR_NOMEM; PP_ERR_IO when
 * submitting failed. */
enum pp_err pp_uring_reserve(struct pp_uring *loop, unsigned n);

/*
 * The operations. Each returns PP_OK once queued (done(arg, ...) is then
 * called exactly once, from pp_uring_run), or an error when it could not be
 * queued (done is then never called). flags: PP_URING_* above.
 */
/* slot >= 0: the file goes into that slot of the file table (res 0), to be
 * used with PP_URING_FIXED; -1: a descriptor is returned in res. */
enum pp_err pp_uring_openat(struct pp_uring *loop, int dirfd, const char *path, int open_flags,
                            mode_t mode, int slot, unsigned flags, pp_uring_done_fn done,
                            void *arg);
enum pp_err pp_uring_write(struct pp_uring *loop, int fd, const void *buf, unsigned len,
                           uint64_t offset, unsigned flags, pp_uring_done_fn done, void *arg);
/* fdatasync when is_data_only. */
enum pp_err pp_uring_fsync(struct pp_uring *loop, int fd, bool is_data_only, unsigned flags,
                           pp_uring_done_fn done, void *arg);
/* With PP_URING_FIXED, empties the slot. */
enum pp_err pp_uring_close(struct pp_uring *loop, int fd, unsigned flags, pp_uring_done_fn done,
                           void *arg);
enum pp_err pp_uring_renameat(struct pp_uring *loop, int old_dirfd, const char *old_path,
                              int new_dirfd, const char *new_path, unsigned flags,
                              pp_uring_done_fn done, void *arg);
enum pp_err pp_uring_mkdirat(struct pp_uring *loop, int dirfd, const char *path, mode_t mode,
                             unsigned flags, pp_uring_done_fn done, void *arg);
enum pp_err pp_uring_unlinkat(struct pp_uring *loop, int dirfd, const char *path, int unlink_flags,
                              unsigned flags, pp_uring_done_fn done, void *arg);

/*
 * Watches fd for events (POLLIN and/or POLLOUT; 0 watches nothing until
 * modified). ready(arg, fd, revents) is called from pp_uring_run each time
 * the fd is ready, level-triggered like epoll without EPOLLET: a one-shot
 * poll, re-armed by the next run just before it waits, so readiness still
 * there then (whoever left it unconsumed) is reported again. *watch is
 * freed by pp_uring_watch_stop (which the callback itself may call).
 * PP_ERR_NOMEM, PP_ERR_IO.
 */
enum pp_err pp_uring_watch_start(struct pp_uring *loop, int fd, unsigned events,
                                 pp_uring_ready_fn ready, void *arg, struct pp_uring_watch **watch);
/* Changes the events watched (0: none for now). */
enum pp_err pp_uring_watch_modify(struct pp_uring *loop, struct pp_uring_watch *watch,
                                  unsigned events);
/* Stops watching and frees the watch: its callback is not called again.
 * Accepts NULL. */
void pp_uring_watch_stop(struct pp_uring *loop, struct pp_uring_watch *watch);

/* Sets the loop's one timer to fire once after timeout_ms (>= 0; 0: on the
 * next run), replacing any earlier setting. */
void pp_uring_timer_set(struct pp_uring *loop, int64_t timeout_ms, pp_uring_timer_fn fire,
                        void *arg);
/* Cancels the timer (a no-op when it is not set). */
void pp_uring_timer_cancel(struct pp_uring *loop);

/*
 * Submits what is queued, waits up to timeout_ms (0: does not wait; -1: no
 * limit) for a completion or the timer, then calls the callbacks of every
 * completion ready and the timer's if due. Operations queued by callbacks
 * are submitted before it returns. *n_callbacks (may be NULL) gets the
 * number of callbacks made. PP_ERR_IO when the ring itself failed.
 */
enum pp_err pp_uring_run(struct pp_uring *loop, int timeout_ms, size_t *n_callbacks);

/* Operations and polls queued or running (the kernel has not reported). */
size_t pp_uring_pending(const struct pp_uring *loop);

#endif
