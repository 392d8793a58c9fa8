#include "pp_uring.h"

#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "pp_arena.h"
#include "pp_clock.h"

/* An operation in flight: its address is the SQE's user_data. user_data 0
 * marks completions nobody waits for (the removal of a poll). */
struct pp_uring_op {
    pp_uring_done_fn done;
    void *arg;
    /* A poll's watch; NULL once the watch moved on (modified or stopped),
     * so that the late completion of this poll is dropped. */
    struct pp_uring_watch *watch;
    bool is_poll;
    struct pp_uring_op *next_free;
};

struct pp_uring_watch {
    int fd;
    unsigned events;
    pp_uring_ready_fn ready;
    void *arg;
    struct pp_uring_op *armed; /* the poll in the kernel, or NULL */
    /* In the loop's due list: reported, to be re-armed by the next run. */
    bool is_due;
    struct pp_uring_watch *due_prev;
    struct pp_uring_watch *due_next;
};

struct pp_uring {
    struct io_uring ring;
    unsigned entries;
    size_t pending;           /* SQEs queued or running, each owed one CQE */
    struct pp_arena op_arena; /* every op ever allocated; reused via free_ops */
    struct pp_uring_op *free_ops;
    size_t n_free_ops;
    struct pp_uring_watch *due; /* watches to re-arm at the next run */
    int64_t timer_deadline_ms;  /* CLOCK_MONOTONIC ms; -1: no timer */
    pp_uring_timer_fn timer_fire;
    void *timer_arg;
};

/* CQEs taken from the ring at a time. */
#define PP_URING_BATCH 64

static enum pp_err pp_uring_err_from_errno(int err_no)
{
    switch (err_no) {
    case ENOENT: return PP_ERR_NOTFOUND;
    case ENOMEM: return PP_ERR_NOMEM;
    default: return PP_ERR_IO;
    }
}

enum pp_err pp_uring_new(unsigned entries, unsigned n_slots, struct pp_uring **loop, int *errno_out)
{
    struct pp_uring *new_loop = NULL;
    struct io_uring_params params;
    enum pp_err err = PP_OK;
    int ret;

    *loop = NULL;
    *errno_out = 0;
    if (entries == 0)
        entries = 256;
    new_loop = calloc(1, sizeof *new_loop);
    if (new_loop == NULL)
        return PP_ERR_NOMEM;
    new_loop->entries = entries;
    new_loop->timer_deadline_ms = -1;
    pp_arena_init(&new_loop->op_arena, 0);

    /* Cooperative task running (no interrupt of the thread to post a
     * completion) where the kernel has it (5.19), plain rings elsewhere. */
    memset(&params, 0, sizeof params);
    params.flags = IORING_SETUP_COOP_TASKRUN;
    ret = io_uring_queue_init_params(entries, &new_loop->ring, &params);
    if (ret == -EINVAL) {
        memset(&params, 0, sizeof params);
        ret = io_uring_queue_init_params(entries, &new_loop->ring, &params);
    }
    if (ret < 0) {
        *errno_out = -ret;
        err = ret == -ENOMEM ? PP_ERR_NOMEM : PP_ERR_IO;
        goto out;
    }
    if (n_slots > 0) {
        ret = io_uring_register_files_sparse(&new_loop->ring, n_slots);
        if (ret < 0) {
            io_uring_queue_exit(&new_loop->ring);
            *errno_out = -ret;
            err = PP_ERR_IO;
            goto out;
        }
    }
    *loop = new_loop;
    new_loop = NULL;
out:
    if (new_loop != NULL) {
        pp_arena_cleanup(&new_loop->op_arena);
        free(new_loop);
    }
    return err;
}

static struct pp_uring_op *pp_uring_op_get(struct pp_uring *loop)
{
    struct pp_uring_op *op = loop->free_ops;

    if (op != NULL) {
        loop->free_ops = op->next_free;
        loop->n_free_ops--;
    } else {
        op = pp_arena_alloc(&loop->op_arena, sizeof *op);
    }
    if (op != NULL)
        memset(op, 0, sizeof *op);
    return op;
}

static void pp_uring_op_put(struct pp_uring *loop, struct pp_uring_op *op)
{
    op->next_free = loop->free_ops;
    loop->free_ops = op;
    loop->n_free_ops++;
}

/* An SQE, submitting what is queued when the submission queue is full. */
static struct io_uring_sqe *pp_uring_sqe(struct pp_uring *loop)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&loop->ring);

    if (sqe == NULL && io_uring_submit(&loop->ring) >= 0)
        sqe = io_uring_get_sqe(&loop->ring);
    return sqe;
}

enum pp_err pp_uring_reserve(struct pp_uring *loop, unsigned n)
{
    /* The ops first, so that queueing cannot fail for want of memory. */
    while (loop->n_free_ops < n) {
        struct pp_uring_op *op = pp_arena_alloc(&loop->op_arena, sizeof *op);

        if (op == NULL)
            return PP_ERR_NOMEM;
        pp_uring_op_put(loop, op);
    }
    if (io_uring_sq_space_left(&loop->ring) >= n)
        return PP_OK;
    return io_uring_submit(&loop->ring) < 0 ? PP_ERR_IO : PP_OK;
}

/*
 * The two halves of queueing an operation, around the io_uring_prep_* call
 * (which clears the SQE): an op and an SQE, then the flags and user_data.
 */
static enum pp_err pp_uring_begin(struct pp_uring *loop, pp_uring_done_fn done, void *arg,
                                  struct pp_uring_op **op, struct io_uring_sqe **sqe)
{
    *op = pp_uring_op_get(loop);
    if (*op == NULL)
        return PP_ERR_NOMEM;
    *sqe = pp_uring_sqe(loop);
    if (*sqe == NULL) {
        pp_uring_op_put(loop, *op);
        return PP_ERR_IO;
    }
    (*op)->done = done;
    (*op)->arg = arg;
    return PP_OK;
}

static void pp_uring_end(struct pp_uring *loop, struct io_uring_sqe *sqe, struct pp_uring_op *op,
                         unsigned flags)
{
    unsigned sqe_flags = 0;

    if (flags & PP_URING_LINK)
        sqe_flags |= IOSQE_IO_LINK;
    if (flags & PP_URING_HARDLINK)
        sqe_flags |= IOSQE_IO_HARDLINK;
    if (flags & PP_URING_FIXED)
        sqe_flags |= IOSQE_FIXED_FILE;
    sqe->flags |= (uint8_t)sqe_flags;
    io_uring_sqe_set_data(sqe, op);
    loop->pending++;
}

enum pp_err pp_uring_openat(struct pp_uring *loop, int dirfd, const char *path, int open_flags,
                            mode_t mode, int slot, unsigned flags, pp_uring_done_fn done, void *arg)
{
    struct pp_uring_op *op;
    struct io_uring_sqe *sqe;
    enum pp_err err = pp_uring_begin(loop, done, arg, &op, &sqe);

    if (err != PP_OK)
        return err;
    if (slot >= 0)
        io_uring_prep_openat_direct(sqe, dirfd, path, open_flags, mode, (unsigned)slot);
    else
        io_uring_prep_openat(sqe, dirfd, path, open_flags, mode);
    pp_uring_end(loop, sqe, op, flags);
    return PP_OK;
}

enum pp_err pp_uring_write(struct pp_uring *loop, int fd, const void *buf, unsigned len,
                           uint64_t offset, unsigned flags, pp_uring_done_fn done, void *arg)
{
    struct pp_uring_op *op;
    struct io_uring_sqe *sqe;
    enum pp_err err = pp_uring_begin(loop, done, arg, &op, &sqe);

    if (err != PP_OK)
        return err;
    io_uring_prep_write(sqe, fd, buf, len, offset);
    pp_uring_end(loop, sqe, op, flags);
    return PP_OK;
}

enum pp_err pp_uring_fsync(struct pp_uring *loop, int fd, bool is_data_only, unsigned flags,
                           pp_uring_done_fn done, void *arg)
{
    struct pp_uring_op *op;
    struct io_uring_sqe *sqe;
    enum pp_err err = pp_uring_begin(loop, done, arg, &op, &sqe);

    if (err != PP_OK)
        return err;
    io_uring_prep_fsync(sqe, fd, is_data_only ? IORING_FSYNC_DATASYNC : 0);
    pp_uring_end(loop, sqe, op, flags);
    return PP_OK;
}

enum pp_err pp_uring_close(struct pp_uring *loop, int fd, unsigned flags, pp_uring_done_fn done,
                           void *arg)
{
    struct pp_uring_op *op;
    struct io_uring_sqe *sqe;
    enum pp_err err = pp_uring_begin(loop, done, arg, &op, &sqe);

    if (err != PP_OK)
        return err;
    /* A direct close names its slot in file_index; IOSQE_FIXED_FILE is not
     * allowed on it. */
    if (flags & PP_URING_FIXED)
        io_uring_prep_close_direct(sqe, (unsigned)fd);
    else
        io_uring_prep_close(sqe, fd);
    pp_uring_end(loop, sqe, op, flags & ~(unsigned)PP_URING_FIXED);
    return PP_OK;
}

enum pp_err pp_uring_renameat(struct pp_uring *loop, int old_dirfd, const char *old_path,
                              int new_dirfd, const char *new_path, unsigned flags,
                              pp_uring_done_fn done, void *arg)
{
    struct pp_uring_op *op;
    struct io_uring_sqe *sqe;
    enum pp_err err = pp_uring_begin(loop, done, arg, &op, &sqe);

    if (err != PP_OK)
        return err;
    io_uring_prep_renameat(sqe, old_dirfd, old_path, new_dirfd, new_path, 0);
    pp_uring_end(loop, sqe, op, flags);
    return PP_OK;
}

enum pp_err pp_uring_mkdirat(struct pp_uring *loop, int dirfd, const char *path, mode_t mode,
                             unsigned flags, pp_uring_done_fn done, void *arg)
{
    struct pp_uring_op *op;
    struct io_uring_sqe *sqe;
    enum pp_err err = pp_uring_begin(loop, done, arg, &op, &sqe);

    if (err != PP_OK)
        return err;
    io_uring_prep_mkdirat(sqe, dirfd, path, mode);
    pp_uring_end(loop, sqe, op, flags);
    return PP_OK;
}

enum pp_err pp_uring_unlinkat(struct pp_uring *loop, int dirfd, const char *path, int unlink_flags,
                              unsigned flags, pp_uring_done_fn done, void *arg)
{
    struct pp_uring_op *op;
    struct io_uring_sqe *sqe;
    enum pp_err err = pp_uring_begin(loop, done, arg, &op, &sqe);

    if (err != PP_OK)
        return err;
    io_uring_prep_unlinkat(sqe, dirfd, path, unlink_flags);
    pp_uring_end(loop, sqe, op, flags);
    return PP_OK;
}

/* Puts the watch's one-shot poll in the submission queue. */
static enum pp_err pp_uring_watch_arm(struct pp_uring *loop, struct pp_uring_watch *watch)
{
    struct pp_uring_op *op;
    struct io_uring_sqe *sqe;
    enum pp_err err = pp_uring_begin(loop, NULL, NULL, &op, &sqe);

    if (err != PP_OK)
        return err;
    op->is_poll = true;
    op->watch = watch;
    io_uring_prep_poll_add(sqe, watch->fd, watch->events);
    pp_uring_end(loop, sqe, op, 0);
    watch->armed = op;
    return PP_OK;
}

static void pp_uring_watch_due(struct pp_uring *loop, struct pp_uring_watch *watch)
{
    watch->is_due = true;
    watch->due_prev = NULL;
    watch->due_next = loop->due;
    if (loop->due != NULL)
        loop->due->due_prev = watch;
    loop->due = watch;
}

static void pp_uring_watch_undue(struct pp_uring *loop, struct pp_uring_watch *watch)
{
    if (!watch->is_due)
        return;
    if (watch->due_prev != NULL)
        watch->due_prev->due_next = watch->due_next;
    else
        loop->due = watch->due_next;
    if (watch->due_next != NULL)
        watch->due_next->due_prev = watch->due_prev;
    watch->is_due = false;
    watch->due_prev = NULL;
    watch->due_next = NULL;
}

/* Cancels the watch's poll, if any; its completion will be dropped. */
static enum pp_err pp_uring_watch_disarm(struct pp_uring *loop, struct pp_uring_watch *watch)
{
    struct io_uring_sqe *sqe;
    struct pp_uring_op *op = watch->armed;

    if (op == NULL)
        return PP_OK;
    op->watch = NULL;
    watch->armed = NULL;
    sqe = pp_uring_sqe(loop);
    if (sqe == NULL)
        return PP_ERR_IO;
    io_uring_prep_poll_remove(sqe, (uint64_t)(uintptr_t)op);
    io_uring_sqe_set_data64(sqe, 0);
    loop->pending++;
    return PP_OK;
}

enum pp_err pp_uring_watch_start(struct pp_uring *loop, int fd, unsigned events,
                                 pp_uring_ready_fn ready, void *arg, struct pp_uring_watch **watch)
{
    struct pp_uring_watch *new_watch = calloc(1, sizeof *new_watch);
    enum pp_err err = PP_OK;

    *watch = NULL;
    if (new_watch == NULL)
        return PP_ERR_NOMEM;
    new_watch->fd = fd;
    new_watch->events = events;
    new_watch->ready = ready;
    new_watch->arg = arg;
    if (events != 0) {
        err = pp_uring_watch_arm(loop, new_watch);
        if (err != PP_OK) {
            free(new_watch);
            return err;
        }
    }
    *watch = new_watch;
    return PP_OK;
}

enum pp_err pp_uring_watch_modify(struct pp_uring *loop, struct pp_uring_watch *watch,
                                  unsigned events)
{
    enum pp_err err;

    if (watch->is_due) {
        /* Re-armed by the next run with these events. */
        watch->events = events;
        if (events == 0)
            pp_uring_watch_undue(loop, watch);
        return PP_OK;
    }
    if (events == watch->events && (watch->armed != NULL || events == 0))
        return PP_OK;
    err = pp_uring_watch_disarm(loop, watch);
    watch->events = events;
    if (err == PP_OK && events != 0)
        err = pp_uring_watch_arm(loop, watch);
    return err;
}

void pp_uring_watch_stop(struct pp_uring *loop, struct pp_uring_watch *watch)
{
    if (watch == NULL)
        return;
    /* Even when the removal cannot be queued, the poll's op no longer
     * points at the watch, so freeing it is safe. */
    pp_uring_watch_undue(loop, watch);
    (void)pp_uring_watch_disarm(loop, watch);
    free(watch);
}

void pp_uring_timer_set(struct pp_uring *loop, int64_t timeout_ms, pp_uring_timer_fn fire,
                        void *arg)
{
    loop->timer_deadline_ms = pp_clock_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    loop->timer_fire = fire;
    loop->timer_arg = arg;
}

void pp_uring_timer_cancel(struct pp_uring *loop)
{
    loop->timer_deadline_ms = -1;
}

/* Calls the callback of one completion. */
static void pp_uring_dispatch(struct pp_uring *loop, struct pp_uring_op *op, int res,
                              size_t *n_callbacks)
{
    struct pp_uring_watch *watch = op->watch;

    if (!op->is_poll) {
        pp_uring_done_fn done = op->done;
        void *arg = op->arg;

        pp_uring_op_put(loop, op);
        if (done != NULL) {
            if (res >= 0)
                done(arg, PP_OK, res);
            else
                done(arg, pp_uring_err_from_errno(-res), -res);
            (*n_callbacks)++;
        }
        return;
    }
    pp_uring_op_put(loop, op);
    if (watch == NULL)
        return; /* modified or stopped since: a stale report */
    watch->armed = NULL;
    if (res < 0) {
        /* A poll that fails (a closed fd) would fail again at once: it is
         * reported once and not re-armed; watch_modify arms it again. */
        watch->ready(watch->arg, watch->fd, POLLERR);
        (*n_callbacks)++;
        return;
    }
    /* Re-armed by the next run, just before it waits: the kernel then
     * checks readiness after whatever the caller consumed in between, as a
     * level-triggered epoll_wait would. The callback may modify or stop the
     * watch. */
    if (watch->events != 0)
        pp_uring_watch_due(loop, watch);
    watch->ready(watch->arg, watch->fd, (unsigned)res);
    (*n_callbacks)++;
}

/* Waits for a completion at most wait_ms (-1: no limit), after submitting.
 * PP_ERR_IO when the ring failed. */
static enum pp_err pp_uring_wait(struct pp_uring *loop, int64_t wait_ms)
{
    struct io_uring_cqe *cqe = NULL;
    struct __kernel_timespec ts;
    int ret;

    if (wait_ms == 0 || (wait_ms < 0 && loop->pending == 0)) {
        ret = io_uring_submit(&loop->ring);
    } else if (wait_ms < 0) {
        ret = io_uring_submit_and_wait(&loop->ring, 1);
    } else {
        ts.tv_sec = wait_ms / 1000;
        ts.tv_nsec = (wait_ms % 1000) * 1000000;
        ret = io_uring_submit_and_wait_timeout(&loop->ring, &cqe, 1, &ts, NULL);
    }
    if (ret >= 0 || ret == -ETIME || ret == -EINTR || ret == -EAGAIN || ret == -EBUSY)
        return PP_OK;
    return PP_ERR_IO;
}

enum pp_err pp_uring_run(struct pp_uring *loop, int timeout_ms, size_t *n_callbacks)
{
    struct io_uring_cqe *cqes[PP_URING_BATCH];
    size_t n_calls = 0;
    int64_t wait_ms = timeout_ms < 0 ? -1 : timeout_ms;
    enum pp_err err;
    unsigned n;
    unsigned i;
    unsigned rounds;

    if (loop->timer_deadline_ms >= 0) {
        int64_t left = loop->timer_deadline_ms - pp_clock_ms();

        if (left < 0)
            left = 0;
        if (wait_ms < 0 || left < wait_ms)
            wait_ms = left;
    }
    while (loop->due != NULL) {
        struct pp_uring_watch *watch = loop->due;

        pp_uring_watch_undue(loop, watch);
        err = pp_uring_watch_arm(loop, watch);
        if (err != PP_OK)
            goto out;
    }
    if (io_uring_cq_ready(&loop->ring) > 0)
        wait_ms = 0;
    err = pp_uring_wait(loop, wait_ms);
    if (err != PP_OK)
        goto out;
    /* At most four batches per run, so that a busy ring cannot starve the
     * timer or the caller. */
    for (rounds = 0; rounds < 4; rounds++) {
        struct {
            struct pp_uring_op *op;
            int res;
        } done[PP_URING_BATCH];

        n = io_uring_peek_batch_cqe(&loop->ring, cqes, PP_URING_BATCH);
        if (n == 0)
            break;
        for (i = 0; i < n; i++) {
            done[i].op = io_uring_cqe_get_data(cqes[i]);
            done[i].res = cqes[i]->res;
        }
        /* The CQEs go back before the callbacks run: they queue new
         * operations, which must find room. */
        io_uring_cq_advance(&loop->ring, n);
        loop->pending -= n;
        for (i = 0; i < n; i++)
            if (done[i].op != NULL)
                pp_uring_dispatch(loop, done[i].op, done[i].res, &n_calls);
    }
    if (loop->timer_deadline_ms >= 0 && pp_clock_ms() >= loop->timer_deadline_ms) {
        loop->timer_deadline_ms = -1;
        loop->timer_fire(loop->timer_arg);
        n_calls++;
    }
    if (io_uring_sq_ready(&loop->ring) > 0 && io_uring_submit(&loop->ring) < 0)
        err = PP_ERR_IO;
out:
    if (n_callbacks != NULL)
        *n_callbacks = n_calls;
    return err;
}

size_t pp_uring_pending(const struct pp_uring *loop)
{
    return loop->pending;
}

void pp_uring_destroy(struct pp_uring *loop)
{
    struct io_uring_cqe *cqe;
    struct io_uring_sqe *sqe;

    if (loop == NULL)
        return;
    /* Polls never end by themselves: cancel everything, then wait until the
     * kernel returned every operation, whose memory is borrowed. */
    sqe = pp_uring_sqe(loop);
    if (sqe != NULL) {
        io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
        io_uring_sqe_set_data64(sqe, 0);
        loop->pending++;
    }
    while (loop->pending > 0) {
        if (io_uring_submit_and_wait(&loop->ring, 1) < 0 && io_uring_cq_ready(&loop->ring) == 0)
            break;
        while (io_uring_peek_cqe(&loop->ring, &cqe) == 0) {
            io_uring_cqe_seen(&loop->ring, cqe);
            loop->pending--;
        }
    }
    io_uring_queue_exit(&loop->ring);
    pp_arena_cleanup(&loop->op_arena);
    free(loop);
}
