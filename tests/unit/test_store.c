/*
 * Unit tests of pp_store on local directories. Every case runs twice: _i 0
 * through io_uring, _i 1 through plain system calls (is_uring_off), and
 * both must behave the same. Where the kernel refuses io_uring the first
 * run falls back (open_store expects that then); test_fallback_without_uring
 * makes the kernel refuse it (seccomp) and checks the fallback works.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "pp_check.h"
#include "pp_store.h"
#include "pp_uring.h"

struct done_log {
    int calls;
    int ok;
    int failed;
    enum pp_err last;
};

static void on_done(void *arg, enum pp_err err)
{
    struct done_log *log = arg;

    log->calls++;
    if (err == PP_OK)
        log->ok++;
    else
        log->failed++;
    log->last = err;
}

static char *make_root(void)
{
    char tmpl[] = "/tmp/pp_store_XXXXXX";

    ck_assert_ptr_nonnull(mkdtemp(tmpl));
    return strdup(tmpl);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void rm_root(char *root)
{
    nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(root);
}

static int n_tmp_files;

static int count_tmp(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    size_t len = strlen(path);

    (void)st;
    (void)ftw;
    if (flag == FTW_F && len > 4 && strcmp(path + len - 4, ".tmp") == 0)
        n_tmp_files++;
    return 0;
}

/* Temporary files left anywhere under root. */
static int tmp_files(const char *root)
{
    n_tmp_files = 0;
    ck_assert_int_eq(nftw(root, count_tmp, 16, FTW_PHYS), 0);
    return n_tmp_files;
}

/* Whether the kernel lets this process use io_uring (else the first run of
 * each case falls back, as the store must). */
static bool is_uring_available(void)
{
    struct pp_uring *loop = NULL;
    int err_no = 0;

    if (pp_uring_new(0, 0, &loop, &err_no) != PP_OK)
        return false;
    pp_uring_destroy(loop);
    return true;
}

static struct pp_store *open_store(const char *url, bool is_uring_off, size_t max_in_flight)
{
    struct pp_store_options options = {url, is_uring_off, max_in_flight};
    struct pp_store *store = NULL;
    char msg[512] = "";

    ck_assert_msg(pp_store_open(&options, &store, msg, sizeof msg) == PP_OK, "%s", msg);
    if (is_uring_off || !is_uring_available())
        ck_assert_str_eq(pp_store_backend(store), "syscalls");
    else
        ck_assert_str_eq(pp_store_backend(store), "io_uring");
    return store;
}

static void fill(struct pp_buf *buf, size_t len, unsigned seed)
{
    size_t i;

    pp_buf_init(buf);
    ck_assert_int_eq(pp_buf_reserve(buf, len), PP_OK);
    for (i = 0; i < len; i++)
        buf->data[i] = (char)((i * 31 + seed * 7 + i / 251) & 0xff);
    buf->len = len;
}

/* The file holds exactly the bytes fill(len, seed) makes. */
static void expect_file(const char *root, const char *key, size_t len, unsigned seed)
{
    char path[4096];
    struct pp_buf want;
    char *got = malloc(len + 1);
    ssize_t n;
    int fd;

    snprintf(path, sizeof path, "%s/%s", root, key);
    fd = open(path, O_RDONLY);
    ck_assert_msg(fd >= 0, "%s: %s", path, strerror(errno));
    n = read(fd, got, len + 1);
    close(fd);
    ck_assert_int_eq(n, (ssize_t)len);
    fill(&want, len, seed);
    ck_assert(len == 0 || memcmp(got, want.data, len) == 0);
    pp_buf_cleanup(&want);
    free(got);
}

static void poll_all(struct pp_store *store)
{
    int i;

    for (i = 0; i < 10000 && pp_store_in_flight(store) > 0; i++)
        ck_assert_int_eq(pp_store_poll(store, 1000, NULL), PP_OK);
    ck_assert_uint_eq(pp_store_in_flight(store), 0);
}

/* One put of fill(len, seed) under key, waited for; the file must hold it. */
static void put_and_expect(struct pp_store *store, const char *root, const char *key, size_t len,
                           unsigned seed)
{
    struct done_log log = {0};
    struct pp_buf data;

    fill(&data, len, seed);
    ck_assert_int_eq(pp_store_put(store, key, &data, on_done, &log), PP_OK);
    poll_all(store);
    ck_assert_int_eq(log.ok, 1);
    expect_file(root, key, len, seed);
}

START_TEST(test_bytes_land)
{
    char *root = make_root();
    struct pp_store *store = open_store(root, _i, 0);
    struct done_log log = {0};
    struct pp_store_stats stats;
    struct pp_buf data;
    size_t completed = 0;

    fill(&data, 300000, 1);
    ck_assert_int_eq(pp_store_put(store, "one.json", &data, on_done, &log), PP_OK);
    /* Ownership moved: the caller's buffer is empty. */
    ck_assert_ptr_null(data.data);
    ck_assert_uint_eq(data.len, 0);
    ck_assert_uint_eq(pp_store_in_flight(store), 1);
    ck_assert_uint_eq(pp_store_buffered_bytes(store), 300000);
    /* No callback before a poll. */
    ck_assert_int_eq(log.calls, 0);
    pp_buf_init(&data);
    ck_assert_int_eq(pp_store_put(store, "empty.json", &data, on_done, &log), PP_OK);
    while (pp_store_in_flight(store) > 0) {
        size_t n = 0;

        ck_assert_int_eq(pp_store_poll(store, -1, &n), PP_OK);
        completed += n;
    }
    ck_assert_uint_eq(completed, 2);
    ck_assert_int_eq(log.ok, 2);
    ck_assert_uint_eq(pp_store_buffered_bytes(store), 0);
    expect_file(root, "one.json", 300000, 1);
    expect_file(root, "empty.json", 0, 0);
    pp_store_get_stats(store, &stats);
    ck_assert_uint_eq(stats.objects, 2);
    ck_assert_uint_eq(stats.bytes, 300000);
    ck_assert_str_eq(pp_store_error(store), "");
    ck_assert_int_eq(tmp_files(root), 0);
    pp_store_close(store);
    rm_root(root);
}
END_TEST

START_TEST(test_overwrite_last_wins)
{
    char *root = make_root();
    struct pp_store *store = open_store(root, _i, 8);
    struct done_log log = {0};
    struct pp_buf data;
    unsigned seed;

    /* Sequentially. */
    fill(&data, 5000, 1);
    ck_assert_int_eq(pp_store_put(store, "k/x.json", &data, on_done, &log), PP_OK);
    poll_all(store);
    fill(&data, 1000, 2);
    ck_assert_int_eq(pp_store_put(store, "k/x.json", &data, on_done, &log), PP_OK);
    poll_all(store);
    expect_file(root, "k/x.json", 1000, 2);
    /* Several puts of one key in flight together: the last handed over
     * stays. */
    for (seed = 3; seed < 8; seed++) {
        fill(&data, 20000 - seed * 1000, seed);
        ck_assert_int_eq(pp_store_put(store, "k/x.json", &data, on_done, &log), PP_OK);
    }
    poll_all(store);
    ck_assert_int_eq(log.ok, 7);
    expect_file(root, "k/x.json", 20000 - 7 * 1000, 7);
    ck_assert_int_eq(tmp_files(root), 0);
    pp_store_close(store);
    rm_root(root);
}
END_TEST

#define N_MANY 1000

static int many_calls[N_MANY];

static void on_many(void *arg, enum pp_err err)
{
    ck_assert_int_eq(err, PP_OK);
    many_calls[(intptr_t)arg]++;
}

START_TEST(test_many_small_in_flight)
{
    char *root = make_root();
    struct pp_store *store = open_store(root, _i, 4);
    struct pp_buf data;
    char key[64];
    int n_again = 0;
    intptr_t i;

    memset(many_calls, 0, sizeof many_calls);
    for (i = 0; i < N_MANY; i++) {
        enum pp_err err;

        snprintf(key, sizeof key, "p%d/obj-%05d.json", (int)(i % 3), (int)i);
        fill(&data, 100 + (size_t)i, (unsigned)i);
        while ((err = pp_store_put(store, key, &data, on_many, (void *)i)) == PP_AGAIN) {
            /* Nothing was taken. */
            ck_assert_uint_eq(data.len, 100 + (size_t)i);
            ck_assert_uint_eq(pp_store_in_flight(store), 4);
            n_again++;
            ck_assert_int_eq(pp_store_poll(store, -1, NULL), PP_OK);
        }
        ck_assert_int_eq(err, PP_OK);
        ck_assert_uint_le(pp_store_in_flight(store), 4);
    }
    poll_all(store);
    ck_assert_int_gt(n_again, 0);
    for (i = 0; i < N_MANY; i++) {
        ck_assert_int_eq(many_calls[i], 1);
        if (i % 97 == 0) {
            snprintf(key, sizeof key, "p%d/obj-%05d.json", (int)(i % 3), (int)i);
            expect_file(root, key, 100 + (size_t)i, (unsigned)i);
        }
    }
    ck_assert_int_eq(tmp_files(root), 0);
    pp_store_close(store);
    rm_root(root);
}
END_TEST

START_TEST(test_nested_dirs_and_url)
{
    char *root = make_root();
    char url[512];
    struct pp_store *store;
    struct done_log log = {0};
    struct pp_buf data;

    /* file:// with a root that does not exist yet, two levels deep. */
    snprintf(url, sizeof url, "file://%s/lake/x", root);
    store = open_store(url, _i, 0);
    fill(&data, 10, 1);
    ck_assert_int_eq(pp_store_put(store, "a/b/c/d/e.json", &data, on_done, &log), PP_OK);
    fill(&data, 11, 2);
    ck_assert_int_eq(pp_store_put(store, "a/b/f/g.json", &data, on_done, &log), PP_OK);
    fill(&data, 12, 3);
    ck_assert_int_eq(pp_store_put(store, "top.json", &data, on_done, &log), PP_OK);
    poll_all(store);
    ck_assert_int_eq(log.ok, 3);
    snprintf(url, sizeof url, "%s/lake/x", root);
    expect_file(url, "a/b/c/d/e.json", 10, 1);
    expect_file(url, "a/b/f/g.json", 11, 2);
    expect_file(url, "top.json", 12, 3);
    ck_assert_int_eq(tmp_files(root), 0);
    pp_store_close(store);
    rm_root(root);
}
END_TEST

START_TEST(test_bad_keys)
{
    static const char *const bad[] = {
        "", "/abs.json", "a//b.json", "a/../b.json", "..", "../x", "a/", "./a", "a/./b", "a/..",
    };
    char *root = make_root();
    struct pp_store *store = open_store(root, _i, 0);
    struct done_log log = {0};
    struct pp_buf data;
    size_t i;

    fill(&data, 10, 1);
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_msg(pp_store_put(store, bad[i], &data, on_done, &log) == PP_ERR_INVALID, "%s",
                      bad[i]);
        /* Nothing was taken. */
        ck_assert_uint_eq(data.len, 10);
    }
    ck_assert_int_eq(pp_store_put(store, NULL, &data, on_done, &log), PP_ERR_INVALID);
    ck_assert_uint_eq(pp_store_in_flight(store), 0);
    ck_assert_int_eq(pp_store_poll(store, 0, NULL), PP_OK);
    ck_assert_int_eq(log.calls, 0);
    pp_buf_cleanup(&data);
    /* Dots inside a name are fine. */
    put_and_expect(store, root, "a..b/.c.json", 10, 1);
    pp_store_close(store);
    rm_root(root);
}
END_TEST

START_TEST(test_unusable_root)
{
    char *root = make_root();
    char path[512];
    struct pp_store_options options = {path, _i, 0};
    struct pp_store *store = (struct pp_store *)&options;
    char msg[512] = "";
    int fd;

    /* Under a regular file: ENOTDIR, even as root. */
    snprintf(path, sizeof path, "%s/file", root);
    fd = open(path, O_WRONLY | O_CREAT, 0644);
    ck_assert_int_ge(fd, 0);
    close(fd);
    snprintf(path, sizeof path, "%s/file/lake", root);
    ck_assert_int_eq(pp_store_open(&options, &store, msg, sizeof msg), PP_ERR_IO);
    ck_assert_ptr_null(store);
    ck_assert_msg(strstr(msg, path) != NULL, "%s", msg);
    ck_assert_msg(strstr(msg, strerror(ENOTDIR)) != NULL, "%s", msg);
    ck_assert_ptr_null(strchr(msg, '\n'));

    /* A malformed S3 URL is refused before any request (test_s3.sh covers
     * the S3 backend against s3rver). */
    snprintf(path, sizeof path, "s3://Not_A_Bucket/prefix");
    ck_assert_int_eq(pp_store_open(&options, &store, msg, sizeof msg), PP_ERR_USAGE);
    ck_assert_msg(strstr(msg, "not a valid bucket name") != NULL, "%s", msg);
    snprintf(path, sizeof path, "http://host/x");
    ck_assert_int_eq(pp_store_open(&options, &store, msg, sizeof msg), PP_ERR_USAGE);
    snprintf(path, sizeof path, "file://relative");
    ck_assert_int_eq(pp_store_open(&options, &store, msg, sizeof msg), PP_ERR_USAGE);
    ck_assert_ptr_null(store);
    pp_store_close(NULL);
    rm_root(root);
}
END_TEST

/* Puts that fail report an error once each, name the key, leave no
 * temporary file, and do not stop the others. */
START_TEST(test_failed_puts)
{
    char *root = make_root();
    struct pp_store *store = open_store(root, _i, 4);
    struct done_log log = {0};
    struct done_log good = {0};
    struct pp_buf data;
    char path[512];
    int fd;

    snprintf(path, sizeof path, "%s/plain", root);
    fd = open(path, O_WRONLY | O_CREAT, 0644);
    ck_assert_int_ge(fd, 0);
    close(fd);
    snprintf(path, sizeof path, "%s/adir", root);
    ck_assert_int_eq(mkdir(path, 0755), 0);
    snprintf(path, sizeof path, "%s/adir/x.json", root);
    ck_assert_int_eq(mkdir(path, 0755), 0);

    /* A directory component is a regular file. */
    fill(&data, 10, 1);
    ck_assert_int_eq(pp_store_put(store, "plain/x.json", &data, on_done, &log), PP_OK);
    poll_all(store);
    ck_assert_int_eq(log.calls, 1);
    ck_assert_int_eq(log.last, PP_ERR_IO);
    ck_assert_msg(strncmp(pp_store_error(store), "plain/x.json: ", 14) == 0, "%s",
                  pp_store_error(store));
    ck_assert_msg(strstr(pp_store_error(store), strerror(ENOTDIR)) != NULL, "%s",
                  pp_store_error(store));

    /* The key is a directory: written, then the rename fails; the
     * temporary file goes. */
    fill(&data, 10, 1);
    ck_assert_int_eq(pp_store_put(store, "adir/x.json", &data, on_done, &log), PP_OK);
    fill(&data, 10, 2);
    ck_assert_int_eq(pp_store_put(store, "adir/y.json", &data, on_done, &good), PP_OK);
    poll_all(store);
    ck_assert_int_eq(log.calls, 2);
    ck_assert_int_eq(log.failed, 2);
    ck_assert_int_eq(good.ok, 1);
    ck_assert_msg(strstr(pp_store_error(store), "adir/x.json: rename") == pp_store_error(store),
                  "%s", pp_store_error(store));
    expect_file(root, "adir/y.json", 10, 2);
    ck_assert_int_eq(tmp_files(root), 0);
    pp_store_close(store);
    rm_root(root);
}
END_TEST

/* A write that cannot complete (here: past the file size limit, as with a
 * full disk) fails its put, leaves nothing behind, and the next put works. */
START_TEST(test_write_fails)
{
    char *root = make_root();
    struct pp_store *store = open_store(root, _i, 4);
    struct done_log big = {0};
    struct done_log small = {0};
    struct rlimit saved;
    struct rlimit lim;
    struct pp_buf data;
    char path[512];

    ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &saved), 0);
    lim = saved;
    lim.rlim_cur = 60000;
    signal(SIGXFSZ, SIG_IGN);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    fill(&data, 100000, 1);
    ck_assert_int_eq(pp_store_put(store, "d/big.json", &data, on_done, &big), PP_OK);
    fill(&data, 1000, 2);
    ck_assert_int_eq(pp_store_put(store, "d/small.json", &data, on_done, &small), PP_OK);
    poll_all(store);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &saved), 0);
    ck_assert_int_eq(big.calls, 1);
    ck_assert_int_eq(big.last, PP_ERR_IO);
    ck_assert_msg(strncmp(pp_store_error(store), "d/big.json: write d/.big.json.tmp: ", 35) == 0,
                  "%s", pp_store_error(store));
    ck_assert_int_eq(small.ok, 1);
    expect_file(root, "d/small.json", 1000, 2);
    snprintf(path, sizeof path, "%s/d/big.json", root);
    ck_assert_int_eq(access(path, F_OK), -1);
    ck_assert_int_eq(tmp_files(root), 0);
    pp_store_close(store);
    rm_root(root);
}
END_TEST

START_TEST(test_close_waits)
{
    char *root = make_root();
    struct pp_store *store = open_store(root, _i, 32);
    struct done_log log = {0};
    struct pp_buf data;
    char key[64];
    int i;

    for (i = 0; i < 20; i++) {
        snprintf(key, sizeof key, "c/%02d.json", i);
        fill(&data, 70000, (unsigned)i);
        ck_assert_int_eq(pp_store_put(store, key, &data, on_done, &log), PP_OK);
    }
    pp_store_close(store);
    ck_assert_int_eq(log.calls, 20);
    ck_assert_int_eq(log.ok, 20);
    for (i = 0; i < 20; i++) {
        snprintf(key, sizeof key, "c/%02d.json", i);
        expect_file(root, key, 70000, (unsigned)i);
    }
    ck_assert_int_eq(tmp_files(root), 0);
    rm_root(root);
}
END_TEST

struct chain {
    struct pp_store *store;
    int left;
    int calls;
};

/* A callback that puts the next object. */
static void on_chain(void *arg, enum pp_err err)
{
    struct chain *chain = arg;
    struct pp_buf data;
    char key[32];

    ck_assert_int_eq(err, PP_OK);
    chain->calls++;
    if (chain->left == 0)
        return;
    snprintf(key, sizeof key, "chain/%d", chain->left);
    fill(&data, 1000, (unsigned)chain->left);
    chain->left--;
    ck_assert_int_eq(pp_store_put(chain->store, key, &data, on_chain, chain), PP_OK);
}

START_TEST(test_put_from_callback)
{
    char *root = make_root();
    struct pp_store *store = open_store(root, _i, 1);
    struct chain chain = {store, 5, 0};
    struct pp_buf data;

    fill(&data, 1000, 0);
    ck_assert_int_eq(pp_store_put(store, "chain/0", &data, on_chain, &chain), PP_OK);
    poll_all(store);
    ck_assert_int_eq(chain.calls, 6);
    expect_file(root, "chain/3", 1000, 3);
    pp_store_close(store);
    ck_assert_int_eq(chain.calls, 6);
    rm_root(root);
}
END_TEST

/* Blocks io_uring_setup in this (forked) test process, as a container's
 * seccomp profile does. */
static void block_io_uring(void)
{
    struct sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {sizeof filter / sizeof filter[0], filter};

    ck_assert_int_eq(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
    ck_assert_int_eq(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog), 0);
}

/* Where io_uring is refused the store falls back to plain calls and works. */
START_TEST(test_fallback_without_uring)
{
    const char *fork_mode = getenv("CK_FORK");
    struct pp_store_options options = {NULL, false, 0};
    struct pp_store *store = NULL;
    struct pp_uring *loop = NULL;
    char msg[512] = "";
    char *root;
    int err_no = 0;

    /* The filter cannot be removed: only in a forked test process. */
    if (fork_mode != NULL && strcmp(fork_mode, "no") == 0)
        return;
    root = make_root();
    block_io_uring();
    ck_assert_int_eq(pp_uring_new(0, 0, &loop, &err_no), PP_ERR_IO);
    ck_assert_int_eq(err_no, EPERM);
    ck_assert_ptr_null(loop);
    options.url = root;
    ck_assert_msg(pp_store_open(&options, &store, msg, sizeof msg) == PP_OK, "%s", msg);
    ck_assert_str_eq(pp_store_backend(store), "syscalls");
    put_and_expect(store, root, "x/y.json", 5000, 4);
    pp_store_close(store);
    rm_root(root);
}
END_TEST

static Suite *store_suite(void)
{
    Suite *s = suite_create("store");
    TCase *tc;

#define PP_STORE_TCASE(fn)                                                                         \
    do {                                                                                           \
        tc = tcase_create(#fn);                                                                    \
        tcase_add_loop_test(tc, fn, 0, 2);                                                         \
        suite_add_tcase(s, tc);                                                                    \
    } while (0)

    PP_STORE_TCASE(test_bytes_land);
    PP_STORE_TCASE(test_overwrite_last_wins);
    PP_STORE_TCASE(test_many_small_in_flight);
    PP_STORE_TCASE(test_nested_dirs_and_url);
    PP_STORE_TCASE(test_bad_keys);
    PP_STORE_TCASE(test_unusable_root);
    PP_STORE_TCASE(test_failed_puts);
    PP_STORE_TCASE(test_write_fails);
    PP_STORE_TCASE(test_close_waits);
    PP_STORE_TCASE(test_put_from_callback);
    PP_CHECK_TCASE(s, test_fallback_without_uring);
    return s;
}

PP_CHECK_MAIN(store_suite)
