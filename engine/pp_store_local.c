/*
 * pp_store_local: the local-directory backends of pp_store, one through
 * io_uring and one through plain system calls, with the same steps:
 *
 *   open .<name>.tmp in the key's directory (O_TRUNC: a leftover of a crash
 *   is overwritten), write all bytes, fsync, close, rename onto the key,
 *   fsync the directory (the rename itself is durable only then).
 *
 * io_uring: each put takes a slot of the loop's file table and queues its
 * steps as one linked chain (openat into the slot, writes, fsync, close,
 * renameat, openat of the directory into the same slot, fsync, close), so
 * the kernel runs them in order and a failed step cancels the rest; up to
 * max_in_flight chains run at once. Plain calls: a put is written when the
 * store is polled, step by step.
 *
 * Directories: created on demand (mkdir -p, each new one's parent fsynced
 * so the new entry is durable), remembered in a set so each is created
 * once. That is synchronous in both backends: it happens once per directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pp_hmap.h"
#include "pp_log.h"
#include "pp_store_int.h"
#include "pp_uring.h"

/* The largest write queued at once (the kernel caps one write just below
 * 2 GiB). */
#define PP_STORE_LOCAL_CHUNK (1u << 30)
/* Steps of a chain besides its writes. */
#define PP_STORE_LOCAL_STEPS 7
/* Directories remembered; the set is emptied when it grows past this (a
 * forgotten directory costs one mkdir that finds it existing). */
#define PP_STORE_LOCAL_MAX_DIRS 65536

struct pp_store_local {
    int root_fd;
    char *root;            /* as given, for messages */
    struct pp_hmap dirs;   /* 128-bit hashes of directories known to exist */
    struct pp_uring *loop; /* NULL: plain system calls */
    unsigned entries;      /* the loop's queue size */
    int *free_slots;       /* the loop's file-table slots not in use */
    size_t n_free_slots;
};

struct pp_store_local_put;

/* One step of a chain: its callback's argument. */
struct pp_store_local_step {
    struct pp_store_local_put *lput;
    const char *what; /* "open", "write", ... and the path, for the message */
    const char *path;
    unsigned len; /* a write's length; 0 for other steps */
};

/* A put in flight through io_uring. */
struct pp_store_local_put {
    struct pp_store *store;
    struct pp_store_put *put;
    char tmp[PATH_MAX]; /* the temporary file, relative to the root */
    char dir[PATH_MAX]; /* the key's directory, relative to the root, or "." */
    int slot;
    unsigned n_steps;
    unsigned n_ended;
    /* The first failure: its step and errno (0 while none; -1 for a short
     * write, of short_len bytes). */
    const struct pp_store_local_step *failed;
    int err_no;
    int short_len;
    struct pp_store_local_step steps[];
};

/* The key's directory and temporary file. PP_ERR_INVALID when too long. */
static enum pp_err pp_store_local_paths(const char *key, char *dir, char *tmp)
{
    const char *slash = strrchr(key, '/');
    int n;

    if (slash == NULL) {
        strcpy(dir, ".");
        n = snprintf(tmp, PATH_MAX, ".%s.tmp", key);
    } else {
        int dir_len = (int)(slash - key);

        if (dir_len >= PATH_MAX)
            return PP_ERR_INVALID;
        memcpy(dir, key, (size_t)dir_len);
        dir[dir_len] = '\0';
        n = snprintf(tmp, PATH_MAX, "%.*s/.%s.tmp", dir_len, key, slash + 1);
    }
    return n > 0 && n < PATH_MAX ? PP_OK : PP_ERR_INVALID;
}

/* fsyncs directory path (relative to base_fd). */
static int pp_store_local_sync_dir(int base_fd, const char *path)
{
    int fd = openat(base_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int ret;

    if (fd < 0)
        return -1;
    ret = fsync(fd);
    close(fd);
    return ret;
}

/*
 * mkdir -p of path relative to base_fd (an absolute path ignores it); the
 * parent of each directory created is fsynced, so the new entry survives a
 * crash. msg gets "<step> <dir>: <cause>" on failure.
 */
static enum pp_err pp_store_local_mkdirs(int base_fd, const char *path, char *msg, size_t msg_len)
{
    char prefix[PATH_MAX];
    size_t len = strlen(path);
    size_t i;

    if (len >= sizeof prefix) {
        snprintf(msg, msg_len, "mkdir %s: %s", path, strerror(ENAMETOOLONG));
        return PP_ERR_IO;
    }
    memcpy(prefix, path, len + 1);
    for (i = 1; i <= len; i++) {
        if (i < len && prefix[i] != '/')
            continue;
        prefix[i] = '\0';
        if (mkdirat(base_fd, prefix, 0755) == 0) {
            char *slash = strrchr(prefix, '/');
            int ret;

            if (slash == NULL) {
                ret = pp_store_local_sync_dir(base_fd, ".");
            } else if (slash == prefix) {
                ret = pp_store_local_sync_dir(base_fd, "/");
            } else {
                *slash = '\0';
                ret = pp_store_local_sync_dir(base_fd, prefix);
                *slash = '/';
            }
            if (ret != 0) {
                snprintf(msg, msg_len, "fsync the parent of %s: %s", prefix, strerror(errno));
                return PP_ERR_IO;
            }
        } else if (errno != EEXIST) {
            snprintf(msg, msg_len, "mkdir %s: %s", prefix, strerror(errno));
            return PP_ERR_IO;
        }
        if (i < len)
            prefix[i] = '/';
    }
    return PP_OK;
}

/* FNV-1a, the second half of a directory's 128-bit key. */
static uint64_t pp_store_local_fnv(const char *s, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    size_t i;

    for (i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* Makes sure the key's directory exists (created once, then remembered). */
static enum pp_err pp_store_local_dir(struct pp_store_local *local, const char *dir, char *msg,
                                      size_t msg_len)
{
    size_t len = strlen(dir);
    uint64_t k1;
    uint64_t k2;
    enum pp_err err;

    if (strcmp(dir, ".") == 0)
        return PP_OK;
    k1 = pp_str_hash(pp_str_make(dir, len));
    k2 = pp_store_local_fnv(dir, len);
    if (pp_hmap_find(&local->dirs, k1, k2) != NULL)
        return PP_OK;
    err = pp_store_local_mkdirs(local->root_fd, dir, msg, msg_len);
    if (err != PP_OK)
        return err;
    if (local->dirs.count >= PP_STORE_LOCAL_MAX_DIRS) {
        pp_hmap_cleanup(&local->dirs);
        pp_hmap_init(&local->dirs);
    }
    /* Out of memory only means the directory is not remembered. */
    (void)pp_hmap_upsert(&local->dirs, k1, k2, NULL);
    return PP_OK;
}

/* ---- plain system calls ---- */

static enum pp_err pp_store_local_sys_start(struct pp_store *store, struct pp_store_put *put,
                                            char *msg, size_t msg_len)
{
    /* Written at the next poll, in order. */
    (void)store;
    (void)put;
    (void)msg;
    (void)msg_len;
    return PP_OK;
}

/* Writes one object up to its rename (steps 2-6); msg names the failed
 * step. The directory is fsynced by the caller, once for all the objects
 * renamed into it. */
static enum pp_err pp_store_local_sys_write(struct pp_store_local *local, struct pp_store_put *put,
                                            char *msg, size_t msg_len)
{
    char dir[PATH_MAX];
    char tmp[PATH_MAX];
    const char *what = "open";
    size_t off = 0;
    int fd = -1;
    enum pp_err err;

    if (pp_store_local_paths(put->key, dir, tmp) != PP_OK) {
        snprintf(msg, msg_len, "%s", strerror(ENAMETOOLONG));
        return PP_ERR_IO;
    }
    err = pp_store_local_dir(local, dir, msg, msg_len);
    if (err != PP_OK)
        return err;
    fd = openat(local->root_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        goto fail;
    what = "write";
    while (off < put->data.len) {
        ssize_t n = pwrite(fd, put->data.data + off, put->data.len - off, (off_t)off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = ENOSPC;
            goto fail;
        }
        off += (size_t)n;
    }
    what = "fsync";
    if (fsync(fd) != 0)
        goto fail;
    what = "close";
    if (close(fd) != 0) {
        fd = -1;
        goto fail;
    }
    fd = -1;
    what = "rename";
    if (renameat(local->root_fd, tmp, local->root_fd, put->key) != 0)
        goto fail;
    return PP_OK;
fail:
    snprintf(msg, msg_len, "%s %.400s: %s", what, tmp, strerror(errno));
    if (fd >= 0)
        close(fd);
    unlinkat(local->root_fd, tmp, 0);
    return PP_ERR_IO;
}

/* Marks a put renamed and waiting for its directory's fsync. */
static char pp_store_local_renamed;

/* The directory of a renamed put's key ("." for the root). */
static void pp_store_local_key_dir(const struct pp_store_put *put, char *dir, size_t dir_len)
{
    const char *slash = strrchr(put->key, '/');

    if (slash == NULL)
        snprintf(dir, dir_len, ".");
    else
        snprintf(dir, dir_len, "%.*s", (int)(slash - put->key), put->key);
}

static enum pp_err pp_store_local_sys_poll(struct pp_store *store, int timeout_ms)
{
    struct pp_store_local *local = store->state;
    struct pp_store_put *put;
    struct pp_store_put *next;
    char msg[512];
    char dir[PATH_MAX];
    char other[PATH_MAX];

    /* Nothing happens by itself here: there is never a reason to wait. */
    (void)timeout_ms;
    for (put = store->running.head; put != NULL; put = next) {
        enum pp_err err = pp_store_local_sys_write(local, put, msg, sizeof msg);

        next = put->next;
        if (err != PP_OK)
            pp_store_finish(store, put, err, msg);
        else
            put->impl = &pp_store_local_renamed;
    }
    /* Step 7 once per directory: one fsync makes every rename before it
     * durable, so the objects renamed into a directory share it (group
     * commit; half the flushes when objects come in bursts). */
    while ((put = store->running.head) != NULL) {
        enum pp_err err = PP_OK;

        pp_store_local_key_dir(put, dir, sizeof dir);
        if (pp_store_local_sync_dir(local->root_fd, dir) != 0) {
            snprintf(msg, sizeof msg, "fsync directory %.400s: %s", dir, strerror(errno));
            err = PP_ERR_IO;
        }
        for (; put != NULL; put = next) {
            next = put->next;
            pp_store_local_key_dir(put, other, sizeof other);
            if (strcmp(dir, other) != 0)
                continue;
            put->impl = NULL;
            pp_store_finish(store, put, err, err == PP_OK ? NULL : msg);
        }
    }
    return PP_OK;
}

/* ---- io_uring ---- */

/* The chain ended: the put is reported, and on failure its temporary file
 * removed. */
static void pp_store_local_uring_end(struct pp_store_local_put *lput)
{
    struct pp_store *store = lput->store;
    struct pp_store_local *local = store->state;
    struct pp_store_put *put = lput->put;
    char msg[512];

    local->free_slots[local->n_free_slots++] = lput->slot;
    put->impl = NULL;
    if (lput->err_no == 0) {
        free(lput);
        pp_store_finish(store, put, PP_OK, NULL);
        return;
    }
    /* The rare path, so a plain call: the slot may still hold the file,
     * which the next open into the slot replaces. */
    unlinkat(local->root_fd, lput->tmp, 0);
    if (lput->err_no < 0)
        snprintf(msg, sizeof msg, "%s %.400s: short write (%d of %u bytes)", lput->failed->what,
                 lput->failed->path, lput->short_len, lput->failed->len);
    else
        snprintf(msg, sizeof msg, "%s %.400s: %s", lput->failed->what, lput->failed->path,
                 strerror(lput->err_no));
    free(lput);
    pp_store_finish(store, put, PP_ERR_IO, msg);
}

static void pp_store_local_step_done(void *arg, enum pp_err err, int res)
{
    struct pp_store_local_step *step = arg;
    struct pp_store_local_put *lput = step->lput;
    int err_no = 0;

    if (err != PP_OK)
        err_no = res;
    else if (step->len > 0 && (unsigned)res != step->len)
        err_no = -1; /* short (disk full, file size limit): cancels the rest */
    /* The cause is the first failure that is not a cancellation (the
     * steps after a failure end with ECANCELED, perhaps reported first). */
    if (err_no != 0 && (lput->err_no == 0 || lput->err_no == ECANCELED)) {
        lput->err_no = err_no;
        lput->short_len = res;
        lput->failed = step;
    }
    if (++lput->n_ended == lput->n_steps)
        pp_store_local_uring_end(lput);
}

/* The next step of lput's chain. */
static struct pp_store_local_step *pp_store_local_step(struct pp_store_local_put *lput,
                                                       const char *what, const char *path,
                                                       unsigned len)
{
    struct pp_store_local_step *step = &lput->steps[lput->n_steps++];

    step->lput = lput;
    step->what = what;
    step->path = path;
    step->len = len;
    return step;
}

static enum pp_err pp_store_local_uring_start(struct pp_store *store, struct pp_store_put *put,
                                              char *msg, size_t msg_len)
{
    struct pp_store_local *local = store->state;
    struct pp_store_local_put *lput = NULL;
    struct pp_uring *loop = local->loop;
    size_t n_writes = (put->data.len + PP_STORE_LOCAL_CHUNK - 1) / PP_STORE_LOCAL_CHUNK;
    size_t n_steps = n_writes + PP_STORE_LOCAL_STEPS;
    const unsigned link = PP_URING_LINK;
    const unsigned fixed = PP_URING_LINK | PP_URING_FIXED;
    const int wr = O_WRONLY | O_CREAT | O_TRUNC;
    size_t off;
    int slot;
    enum pp_err err;

    if (n_steps > local->entries) {
        snprintf(msg, msg_len, "%zu bytes: more than one object can hold", put->data.len);
        return PP_ERR_TOOBIG;
    }
    lput = calloc(1, sizeof *lput + n_steps * sizeof lput->steps[0]);
    if (lput == NULL)
        return PP_ERR_NOMEM;
    lput->store = store;
    lput->put = put;
    if (pp_store_local_paths(put->key, lput->dir, lput->tmp) != PP_OK) {
        snprintf(msg, msg_len, "%s", strerror(ENAMETOOLONG));
        err = PP_ERR_IO;
        goto out;
    }
    err = pp_store_local_dir(local, lput->dir, msg, msg_len);
    if (err != PP_OK)
        goto out;
    err = pp_uring_reserve(loop, (unsigned)n_steps);
    if (err != PP_OK) {
        snprintf(msg, msg_len, "io_uring: %s", pp_err_str(err));
        goto out;
    }
    /* pp_store.c never runs more puts than there are slots. */
    slot = local->free_slots[--local->n_free_slots];
    lput->slot = slot;
    put->impl = lput;
    /* After the reservation none of these can fail. Direct opens take no
     * O_CLOEXEC: the file never becomes a descriptor of the process. */
    (void)pp_uring_openat(loop, local->root_fd, lput->tmp, wr, 0644, slot, link,
                          pp_store_local_step_done,
                          pp_store_local_step(lput, "open", lput->tmp, 0));
    for (off = 0; off < put->data.len; off += PP_STORE_LOCAL_CHUNK) {
        size_t len = put->data.len - off;

        if (len > PP_STORE_LOCAL_CHUNK)
            len = PP_STORE_LOCAL_CHUNK;
        (void)pp_uring_write(loop, slot, put->data.data + off, (unsigned)len, off, fixed,
                             pp_store_local_step_done,
                             pp_store_local_step(lput, "write", lput->tmp, (unsigned)len));
    }
    (void)pp_uring_fsync(loop, slot, false, fixed, pp_store_local_step_done,
                         pp_store_local_step(lput, "fsync", lput->tmp, 0));
    (void)pp_uring_close(loop, slot, fixed, pp_store_local_step_done,
                         pp_store_local_step(lput, "close", lput->tmp, 0));
    (void)pp_uring_renameat(loop, local->root_fd, lput->tmp, local->root_fd, put->key, link,
                            pp_store_local_step_done,
                            pp_store_local_step(lput, "rename", lput->tmp, 0));
    (void)pp_uring_openat(loop, local->root_fd, lput->dir, O_RDONLY | O_DIRECTORY, 0, slot, link,
                          pp_store_local_step_done,
                          pp_store_local_step(lput, "fsync directory", lput->dir, 0));
    (void)pp_uring_fsync(loop, slot, false, fixed, pp_store_local_step_done,
                         pp_store_local_step(lput, "fsync directory", lput->dir, 0));
    (void)pp_uring_close(loop, slot, PP_URING_FIXED, pp_store_local_step_done,
                         pp_store_local_step(lput, "fsync directory", lput->dir, 0));
    lput = NULL;
out:
    free(lput);
    return err;
}

static enum pp_err pp_store_local_uring_poll(struct pp_store *store, int timeout_ms)
{
    struct pp_store_local *local = store->state;

    return pp_uring_run(local->loop, timeout_ms, NULL);
}

static void pp_store_local_destroy(struct pp_store *store)
{
    struct pp_store_local *local = store->state;
    struct pp_store_put *put;

    if (local == NULL)
        return;
    /* Waits for the kernel to give back what it still runs; the puts stay
     * in the running list for pp_store_close to report. */
    pp_uring_destroy(local->loop);
    for (put = store->running.head; put != NULL; put = put->next) {
        if (local->loop != NULL)
            free(put->impl);
        put->impl = NULL;
    }
    if (local->root_fd >= 0)
        close(local->root_fd);
    pp_hmap_cleanup(&local->dirs);
    free(local->free_slots);
    free(local->root);
    free(local);
    store->state = NULL;
}

static const struct pp_store_backend pp_store_local_uring = {
    "io_uring",
    pp_store_local_uring_start,
    pp_store_local_uring_poll,
    pp_store_local_destroy,
};

static const struct pp_store_backend pp_store_local_sys = {
    "syscalls",
    pp_store_local_sys_start,
    pp_store_local_sys_poll,
    pp_store_local_destroy,
};

/* Writes and removes a probe file in the root. */
static int pp_store_local_probe(int root_fd)
{
    char name[64];
    int fd;
    int ret = 0;

    snprintf(name, sizeof name, ".pinpipe-probe-%ld.tmp", (long)getpid());
    fd = openat(root_fd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    if (write(fd, "probe\n", 6) != 6) {
        if (errno == 0)
            errno = ENOSPC;
        ret = -1;
    }
    if (close(fd) != 0)
        ret = -1;
    if (unlinkat(root_fd, name, 0) != 0)
        ret = -1;
    return ret;
}

/* Chooses io_uring when it works; logs the choice. */
static void pp_store_local_pick(struct pp_store *store, struct pp_store_local *local,
                                bool is_uring_off)
{
    unsigned entries = 256;
    size_t i;
    int err_no = 0;
    enum pp_err err;

    store->backend = &pp_store_local_sys;
    if (is_uring_off) {
        pp_log_info("store %s: writing with plain system calls (io_uring off)", store->url);
        return;
    }
    while (entries < 4096 && entries < store->max_in_flight * (PP_STORE_LOCAL_STEPS + 1))
        entries *= 2;
    local->free_slots = malloc(store->max_in_flight * sizeof *local->free_slots);
    if (local->free_slots == NULL || store->max_in_flight > INT_MAX) {
        err_no = ENOMEM;
        goto fallback;
    }
    err = pp_uring_new(entries, (unsigned)store->max_in_flight, &local->loop, &err_no);
    if (err != PP_OK)
        goto fallback;
    for (i = 0; i < store->max_in_flight; i++)
        local->free_slots[i] = (int)i;
    local->n_free_slots = store->max_in_flight;
    local->entries = entries;
    store->backend = &pp_store_local_uring;
    pp_log_info("store %s: writing through io_uring (%zu objects in flight)", store->url,
                store->max_in_flight);
    return;
fallback:
    free(local->free_slots);
    local->free_slots = NULL;
    pp_log_warn("store %s: io_uring unavailable (%s), writing with plain system calls", store->url,
                strerror(err_no));
}

enum pp_err pp_store_local_open(struct pp_store *store, const char *path, bool is_uring_off,
                                char *msg, size_t msg_len)
{
    struct pp_store_local *local = calloc(1, sizeof *local);
    char cause[PATH_MAX + 64];
    enum pp_err err = PP_OK;

    if (local == NULL)
        return PP_ERR_NOMEM;
    local->root_fd = -1;
    pp_hmap_init(&local->dirs);
    store->state = local;
    local->root = strdup(path);
    if (local->root == NULL) {
        err = PP_ERR_NOMEM;
        goto out;
    }
    err = pp_store_local_mkdirs(AT_FDCWD, path, cause, sizeof cause);
    if (err != PP_OK) {
        snprintf(msg, msg_len, "store %s: cannot create the directory: %s", store->url, cause);
        goto out;
    }
    local->root_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (local->root_fd < 0 || pp_store_local_probe(local->root_fd) != 0) {
        snprintf(msg, msg_len, "store %s: cannot write in %s: %s", store->url, path,
                 strerror(errno));
        err = PP_ERR_IO;
        goto out;
    }
    pp_store_local_pick(store, local, is_uring_off);
out:
    if (err != PP_OK)
        pp_store_local_destroy(store);
    return err;
}
