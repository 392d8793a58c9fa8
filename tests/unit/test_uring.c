/*
 * Unit tests of pp_uring: each file operation, linked chains through the
 * file table, fd readiness on a socketpair, the timer, errors. Exits 77
 * (skipped) where the kernel refuses io_uring.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pp_check.h"
#include "pp_clock.h"
#include "pp_uring.h"

struct result {
    int calls;
    enum pp_err err;
    int res;
};

static void on_done(void *arg, enum pp_err err, int res)
{
    struct result *r = arg;

    r->calls++;
    r->err = err;
    r->res = res;
}

static struct pp_uring *loop_new(unsigned n_slots)
{
    struct pp_uring *loop = NULL;
    int err_no = 0;

    ck_assert_int_eq(pp_uring_new(0, n_slots, &loop, &err_no), PP_OK);
    ck_assert_ptr_nonnull(loop);
    return loop;
}

/* Runs the loop until nothing is pending (bounded). */
static void drain(struct pp_uring *loop)
{
    int i;

    for (i = 0; i < 100 && pp_uring_pending(loop) > 0; i++)
        ck_assert_int_eq(pp_uring_run(loop, 1000, NULL), PP_OK);
    ck_assert_uint_eq(pp_uring_pending(loop), 0);
}

static char *tmp_dir(void)
{
    char tmpl[] = "/tmp/pp_uring_XXXXXX";
    char *dir = mkdtemp(tmpl);

    ck_assert_ptr_nonnull(dir);
    return strdup(dir);
}

static void read_file(int dirfd, const char *path, char *buf, size_t cap, ssize_t *len)
{
    int fd = openat(dirfd, path, O_RDONLY);

    ck_assert_int_ge(fd, 0);
    *len = read(fd, buf, cap);
    close(fd);
}

START_TEST(test_file_ops)
{
    struct pp_uring *loop = loop_new(0);
    char *dir = tmp_dir();
    int dirfd = open(dir, O_RDONLY | O_DIRECTORY);
    struct result open_r = {0}, w1 = {0}, w2 = {0}, sync_r = {0}, close_r = {0};
    struct result mkdir_r = {0}, rename_r = {0}, unlink_r = {0};
    char buf[64];
    ssize_t len;
    struct stat st;

    ck_assert_int_ge(dirfd, 0);
    ck_assert_int_eq(pp_uring_openat(loop, dirfd, "a", O_WRONLY | O_CREAT | O_TRUNC, 0644, -1, 0,
                                     on_done, &open_r),
                     PP_OK);
    ck_assert_int_eq(pp_uring_run(loop, 1000, NULL), PP_OK);
    drain(loop);
    ck_assert_int_eq(open_r.calls, 1);
    ck_assert_int_eq(open_r.err, PP_OK);
    ck_assert_int_ge(open_r.res, 0);
    /* Writes at offsets, in any order. */
    ck_assert_int_eq(pp_uring_write(loop, open_r.res, "world", 5, 6, 0, on_done, &w2), PP_OK);
    ck_assert_int_eq(pp_uring_write(loop, open_r.res, "hello ", 6, 0, 0, on_done, &w1), PP_OK);
    drain(loop);
    ck_assert_int_eq(w1.calls, 1);
    ck_assert_int_eq(w1.res, 6);
    ck_assert_int_eq(w2.res, 5);
    ck_assert_int_eq(pp_uring_fsync(loop, open_r.res, false, 0, on_done, &sync_r), PP_OK);
    drain(loop);
    ck_assert_int_eq(sync_r.calls, 1);
    ck_assert_int_eq(sync_r.err, PP_OK);
    ck_assert_int_eq(pp_uring_close(loop, open_r.res, 0, on_done, &close_r), PP_OK);
    drain(loop);
    ck_assert_int_eq(close_r.calls, 1);
    ck_assert_int_eq(close_r.err, PP_OK);
    read_file(dirfd, "a", buf, sizeof buf, &len);
    ck_assert_int_eq(len, 11);
    ck_assert_int_eq(memcmp(buf, "hello world", 11), 0);

    ck_assert_int_eq(pp_uring_mkdirat(loop, dirfd, "d", 0755, 0, on_done, &mkdir_r), PP_OK);
    drain(loop);
    ck_assert_int_eq(mkdir_r.err, PP_OK);
    ck_assert_int_eq(fstatat(dirfd, "d", &st, 0), 0);
    ck_assert(S_ISDIR(st.st_mode));
    ck_assert_int_eq(pp_uring_renameat(loop, dirfd, "a", dirfd, "d/b", 0, on_done, &rename_r),
                     PP_OK);
    drain(loop);
    ck_assert_int_eq(rename_r.err, PP_OK);
    read_file(dirfd, "d/b", buf, sizeof buf, &len);
    ck_assert_int_eq(len, 11);
    ck_assert_int_eq(pp_uring_unlinkat(loop, dirfd, "d/b", 0, 0, on_done, &unlink_r), PP_OK);
    drain(loop);
    ck_assert_int_eq(unlink_r.err, PP_OK);
    ck_assert_int_eq(fstatat(dirfd, "d/b", &st, 0), -1);
    ck_assert_int_eq(unlinkat(dirfd, "d", AT_REMOVEDIR), 0);
    close(dirfd);
    rmdir(dir);
    free(dir);
    pp_uring_destroy(loop);
}
END_TEST

/* open into a slot, write, fsync, close: one linked chain. */
START_TEST(test_fixed_chain)
{
    struct pp_uring *loop = loop_new(4);
    char *dir = tmp_dir();
    int dirfd = open(dir, O_RDONLY | O_DIRECTORY);
    struct result r[4] = {{0}};
    const unsigned link = PP_URING_LINK;
    const unsigned fixed = PP_URING_LINK | PP_URING_FIXED;
    size_t n_calls = 0;
    char buf[64];
    ssize_t len;
    int i;

    ck_assert_int_eq(pp_uring_reserve(loop, 4), PP_OK);
    ck_assert_int_eq(pp_uring_openat(loop, dirfd, "f", O_WRONLY | O_CREAT | O_TRUNC, 0600, 3, link,
                                     on_done, &r[0]),
                     PP_OK);
    ck_assert_int_eq(pp_uring_write(loop, 3, "chained", 7, 0, fixed, on_done, &r[1]), PP_OK);
    ck_assert_int_eq(pp_uring_fsync(loop, 3, true, fixed, on_done, &r[2]), PP_OK);
    ck_assert_int_eq(pp_uring_close(loop, 3, PP_URING_FIXED, on_done, &r[3]), PP_OK);
    ck_assert_uint_eq(pp_uring_pending(loop), 4);
    while (pp_uring_pending(loop) > 0) {
        size_t n = 0;

        ck_assert_int_eq(pp_uring_run(loop, 1000, &n), PP_OK);
        n_calls += n;
    }
    ck_assert_uint_eq(n_calls, 4);
    for (i = 0; i < 4; i++) {
        ck_assert_int_eq(r[i].calls, 1);
        ck_assert_int_eq(r[i].err, PP_OK);
    }
    ck_assert_int_eq(r[1].res, 7);
    read_file(dirfd, "f", buf, sizeof buf, &len);
    ck_assert_int_eq(len, 7);
    ck_assert_int_eq(memcmp(buf, "chained", 7), 0);
    unlinkat(dirfd, "f", 0);
    close(dirfd);
    rmdir(dir);
    free(dir);
    pp_uring_destroy(loop);
}
END_TEST

/* A failed step cancels the rest of its chain; a hard link does not. */
START_TEST(test_chain_failure)
{
    struct pp_uring *loop = loop_new(2);
    char *dir = tmp_dir();
    int dirfd = open(dir, O_RDONLY | O_DIRECTORY);
    struct result r[3] = {{0}};
    struct result hard[2] = {{0}};
    struct stat st;

    ck_assert_int_eq(pp_uring_reserve(loop, 3), PP_OK);
    ck_assert_int_eq(pp_uring_openat(loop, dirfd, "missing/f", O_WRONLY | O_CREAT, 0600, 0,
                                     PP_URING_LINK, on_done, &r[0]),
                     PP_OK);
    ck_assert_int_eq(
        pp_uring_write(loop, 0, "x", 1, 0, PP_URING_LINK | PP_URING_FIXED, on_done, &r[1]), PP_OK);
    ck_assert_int_eq(pp_uring_close(loop, 0, PP_URING_FIXED, on_done, &r[2]), PP_OK);
    drain(loop);
    ck_assert_int_eq(r[0].err, PP_ERR_NOTFOUND);
    ck_assert_int_eq(r[0].res, ENOENT);
    ck_assert_int_eq(r[1].err, PP_ERR_IO);
    ck_assert_int_eq(r[1].res, ECANCELED);
    ck_assert_int_eq(r[2].res, ECANCELED);

    /* HARDLINK: the mkdir runs although the unlink before it failed. */
    ck_assert_int_eq(
        pp_uring_unlinkat(loop, dirfd, "nothing", 0, PP_URING_HARDLINK, on_done, &hard[0]), PP_OK);
    ck_assert_int_eq(pp_uring_mkdirat(loop, dirfd, "made", 0700, 0, on_done, &hard[1]), PP_OK);
    drain(loop);
    ck_assert_int_eq(hard[0].err, PP_ERR_NOTFOUND);
    ck_assert_int_eq(hard[1].err, PP_OK);
    ck_assert_int_eq(fstatat(dirfd, "made", &st, 0), 0);
    rmdir(dir); /* fails: not empty; cleaned below */
    unlinkat(dirfd, "made", AT_REMOVEDIR);
    close(dirfd);
    rmdir(dir);
    free(dir);
    pp_uring_destroy(loop);
}
END_TEST

START_TEST(test_write_closed_fd)
{
    struct pp_uring *loop = loop_new(0);
    struct result r = {0};
    int fds[2];

    ck_assert_int_eq(pipe(fds), 0);
    close(fds[0]);
    close(fds[1]);
    ck_assert_int_eq(pp_uring_write(loop, fds[1], "x", 1, 0, 0, on_done, &r), PP_OK);
    drain(loop);
    ck_assert_int_eq(r.calls, 1);
    ck_assert_int_eq(r.err, PP_ERR_IO);
    ck_assert_int_eq(r.res, EBADF);
    pp_uring_destroy(loop);
}
END_TEST

struct ready {
    int calls;
    unsigned revents;
    int fd;
    struct pp_uring *loop;
    struct pp_uring_watch *watch;
    bool is_stop_in_callback;
};

static void on_ready(void *arg, int fd, unsigned revents)
{
    struct ready *r = arg;

    r->calls++;
    r->revents = revents;
    r->fd = fd;
    if (r->is_stop_in_callback) {
        pp_uring_watch_stop(r->loop, r->watch);
        r->watch = NULL;
    }
}

START_TEST(test_watch_socketpair)
{
    struct pp_uring *loop = loop_new(0);
    struct ready in = {0};
    struct ready out = {0};
    int sv[2];
    char c;

    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    ck_assert_int_eq(pp_uring_watch_start(loop, sv[0], POLLIN, on_ready, &in, &in.watch), PP_OK);
    ck_assert_int_eq(pp_uring_run(loop, 30, NULL), PP_OK);
    ck_assert_int_eq(in.calls, 0);

    ck_assert_int_eq(write(sv[1], "a", 1), 1);
    ck_assert_int_eq(pp_uring_run(loop, 1000, NULL), PP_OK);
    ck_assert_int_eq(in.calls, 1);
    ck_assert_int_eq(in.fd, sv[0]);
    ck_assert(in.revents & POLLIN);
    /* Level-triggered: the byte is still there, so it is reported again. */
    ck_assert_int_eq(pp_uring_run(loop, 1000, NULL), PP_OK);
    ck_assert_int_eq(in.calls, 2);
    ck_assert_int_eq(read(sv[0], &c, 1), 1);
    ck_assert_int_eq(pp_uring_run(loop, 30, NULL), PP_OK);
    ck_assert_int_eq(pp_uring_run(loop, 30, NULL), PP_OK);
    ck_assert_int_eq(in.calls, 2);

    /* The other direction: writable at once. */
    ck_assert_int_eq(pp_uring_watch_start(loop, sv[1], POLLOUT, on_ready, &out, &out.watch), PP_OK);
    ck_assert_int_eq(pp_uring_run(loop, 1000, NULL), PP_OK);
    ck_assert_int_ge(out.calls, 1);
    ck_assert(out.revents & POLLOUT);
    /* Modified to nothing: no more reports. */
    ck_assert_int_eq(pp_uring_watch_modify(loop, out.watch, 0), PP_OK);
    out.calls = 0;
    ck_assert_int_eq(pp_uring_run(loop, 30, NULL), PP_OK);
    ck_assert_int_eq(pp_uring_run(loop, 30, NULL), PP_OK);
    ck_assert_int_eq(out.calls, 0);
    /* Modified to POLLIN on sv[1]: reported once sv[0] writes. */
    ck_assert_int_eq(pp_uring_watch_modify(loop, out.watch, POLLIN), PP_OK);
    ck_assert_int_eq(pp_uring_run(loop, 30, NULL), PP_OK);
    ck_assert_int_eq(out.calls, 0);
    ck_assert_int_eq(write(sv[0], "b", 1), 1);
    ck_assert_int_eq(pp_uring_run(loop, 1000, NULL), PP_OK);
    ck_assert_int_eq(out.calls, 1);
    ck_assert(out.revents & POLLIN);

    /* Stopped from inside its own callback: called once, never again. */
    in.is_stop_in_callback = true;
    in.loop = loop;
    in.calls = 0;
    ck_assert_int_eq(write(sv[1], "c", 1), 1);
    ck_assert_int_eq(pp_uring_run(loop, 1000, NULL), PP_OK);
    ck_assert_int_eq(in.calls, 1);
    ck_assert_ptr_null(in.watch);
    ck_assert_int_eq(pp_uring_run(loop, 30, NULL), PP_OK);
    ck_assert_int_eq(in.calls, 1);

    pp_uring_watch_stop(loop, out.watch);
    pp_uring_watch_stop(loop, NULL);
    drain(loop);
    close(sv[0]);
    close(sv[1]);
    pp_uring_destroy(loop);
}
END_TEST

static void on_timer(void *arg)
{
    (*(int *)arg)++;
}

START_TEST(test_timer)
{
    struct pp_uring *loop = loop_new(0);
    int fired = 0;
    int64_t start = pp_clock_ms();
    size_t n = 0;

    /* Nothing to wait for: -1 returns at once. */
    ck_assert_int_eq(pp_uring_run(loop, -1, &n), PP_OK);
    ck_assert_uint_eq(n, 0);

    pp_uring_timer_set(loop, 50, on_timer, &fired);
    ck_assert_int_eq(pp_uring_run(loop, -1, &n), PP_OK);
    ck_assert_int_eq(fired, 1);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_ge(pp_clock_ms() - start, 50);
    ck_assert_int_lt(pp_clock_ms() - start, 1000);
    /* One-shot. */
    ck_assert_int_eq(pp_uring_run(loop, 30, NULL), PP_OK);
    ck_assert_int_eq(fired, 1);

    /* A run shorter than the timer returns without firing it. */
    pp_uring_timer_set(loop, 200, on_timer, &fired);
    ck_assert_int_eq(pp_uring_run(loop, 10, NULL), PP_OK);
    ck_assert_int_eq(fired, 1);
    /* Replaced by a shorter one. */
    pp_uring_timer_set(loop, 0, on_timer, &fired);
    ck_assert_int_eq(pp_uring_run(loop, 1000, NULL), PP_OK);
    ck_assert_int_eq(fired, 2);

    /* Cancelled. */
    pp_uring_timer_set(loop, 20, on_timer, &fired);
    pp_uring_timer_cancel(loop);
    start = pp_clock_ms();
    ck_assert_int_eq(pp_uring_run(loop, 60, NULL), PP_OK);
    ck_assert_int_eq(fired, 2);
    ck_assert_int_ge(pp_clock_ms() - start, 50);
    pp_uring_timer_cancel(loop);
    pp_uring_destroy(loop);
}
END_TEST

/* Destroy with a poll in the kernel and operations never submitted. */
START_TEST(test_destroy_pending)
{
    struct pp_uring *loop = loop_new(0);
    struct ready in = {0};
    struct result r = {0};
    struct pp_uring_watch *watch = NULL;
    int sv[2];

    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    ck_assert_int_eq(pp_uring_watch_start(loop, sv[0], POLLIN, on_ready, &in, &watch), PP_OK);
    ck_assert_int_eq(pp_uring_run(loop, 0, NULL), PP_OK);
    ck_assert_int_eq(pp_uring_fsync(loop, sv[1], false, 0, on_done, &r), PP_OK);
    pp_uring_watch_stop(loop, watch);
    pp_uring_destroy(loop);
    ck_assert_int_eq(in.calls, 0);
    close(sv[0]);
    close(sv[1]);
    pp_uring_destroy(NULL);
}
END_TEST

/* Many operations: more than the queue holds, all reported once. */
START_TEST(test_many)
{
    struct pp_uring *loop = NULL;
    struct result *r = calloc(1000, sizeof *r);
    int err_no = 0;
    int fd = open("/dev/null", O_WRONLY);
    int i;

    ck_assert_int_eq(pp_uring_new(16, 0, &loop, &err_no), PP_OK);
    for (i = 0; i < 1000; i++)
        ck_assert_int_eq(pp_uring_write(loop, fd, "x", 1, 0, 0, on_done, &r[i]), PP_OK);
    drain(loop);
    for (i = 0; i < 1000; i++) {
        ck_assert_int_eq(r[i].calls, 1);
        ck_assert_int_eq(r[i].res, 1);
    }
    close(fd);
    free(r);
    pp_uring_destroy(loop);
}
END_TEST

static Suite *uring_suite(void)
{
    Suite *s = suite_create("uring");

    PP_CHECK_TCASE(s, test_file_ops);
    PP_CHECK_TCASE(s, test_fixed_chain);
    PP_CHECK_TCASE(s, test_chain_failure);
    PP_CHECK_TCASE(s, test_write_closed_fd);
    PP_CHECK_TCASE(s, test_watch_socketpair);
    PP_CHECK_TCASE(s, test_timer);
    PP_CHECK_TCASE(s, test_destroy_pending);
    PP_CHECK_TCASE(s, test_many);
    return s;
}

int main(void)
{
    struct pp_uring *loop = NULL;
    int err_no = 0;

    if (pp_uring_new(0, 0, &loop, &err_no) != PP_OK) {
        fprintf(stderr, "io_uring unavailable here (%s): skipped\n", strerror(err_no));
        return 77;
    }
    pp_uring_destroy(loop);
    return pp_check_run(uring_suite());
}
