#include "pp_spool.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct pp_spool {
    int fd;
    char *dir;
    uint32_t n_made;    /* blocks the file has room for: 0 .. n_made - 1 */
    uint32_t *released; /* blocks given back, reused last in, first out */
    size_t n_released;
    size_t cap_released;
};

/* A file without a name in dir: O_TMPFILE, else a unique name unlinked at
 * once (tmpfs before Linux 3.11, some network file systems). */
static int spool_file(const char *dir)
{
    char path[PATH_MAX];
    int fd = -1;

#ifdef O_TMPFILE
    fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
        return fd;
#endif
    if (snprintf(path, sizeof path, "%s/.pinpipe-spool-XXXXXX", dir) >= (int)sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    if ((fd = mkostemp(path, O_CLOEXEC)) >= 0)
        (void)unlink(path);
    return fd;
}

enum pp_err pp_spool_open(const char *dir, struct pp_spool **spool, char *msg, size_t msg_len)
{
    struct pp_spool *s = calloc(1, sizeof *s);

    *spool = NULL;
    if (s == NULL || (s->dir = strdup(dir)) == NULL) {
        free(s);
        return PP_ERR_NOMEM;
    }
    if ((s->fd = spool_file(dir)) < 0) {
        snprintf(msg, msg_len, "spool: cannot make a file in %s: %s", dir, strerror(errno));
        free(s->dir);
        free(s);
        return PP_ERR_IO;
    }
    *spool = s;
    return PP_OK;
}

/* Writes (is_write) or reads block b whole, from or into buf. */
static enum pp_err spool_io(const struct pp_spool *spool, uint32_t b, char *buf, bool is_write)
{
    size_t done = 0;

    while (done < PP_SPOOL_BLOCK) {
        off_t at = (off_t)b * PP_SPOOL_BLOCK + (off_t)done;
        ssize_t n = is_write ? pwrite(spool->fd, buf + done, PP_SPOOL_BLOCK - done, at)
                             : pread(spool->fd, buf + done, PP_SPOOL_BLOCK - done, at);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return PP_ERR_IO;
        done += (size_t)n;
    }
    return PP_OK;
}

enum pp_err pp_spool_write(struct pp_spool *spool, const void *data, uint32_t *block)
{
    enum pp_err err;
    uint32_t b;

    if (spool->n_released > 0) {
        b = spool->released[spool->n_released - 1];
    } else {
        if (spool->n_made == UINT32_MAX)
            return PP_ERR_IO;
        /* Room on the released list for every block made, so release never
         * fails. */
        uint32_t *list = pp_array_reserve(spool->released, &spool->cap_released, spool->n_made,
                                          sizeof *spool->released, 64);
        if (list == NULL)
            return PP_ERR_NOMEM;
        spool->released = list;
        b = spool->n_made;
    }
    /* pwrite only reads the bytes: the cast drops const for spool_io's
     * one buffer type. */
    if ((err = spool_io(spool, b, (char *)(uintptr_t)data, true)))
        return err;
    if (spool->n_released > 0)
        spool->n_released--;
    else
        spool->n_made++;
    *block = b;
    return PP_OK;
}

enum pp_err pp_spool_read(struct pp_spool *spool, uint32_t block, struct pp_buf *out)
{
    enum pp_err err;

    assert(block < spool->n_made);
    if ((err = pp_buf_reserve(out, PP_SPOOL_BLOCK)) ||
        (err = spool_io(spool, block, out->data + out->len, false)))
        return err;
    out->len += PP_SPOOL_BLOCK;
    return PP_OK;
}

void pp_spool_release(struct pp_spool *spool, uint32_t block)
{
    assert(block < spool->n_made && spool->n_released < spool->n_made);
    spool->released[spool->n_released++] = block;
    /* Nothing held: the file shrinks back to nothing (a burst's blocks do
     * not stay on disk). */
    if (spool->n_released == spool->n_made && ftruncate(spool->fd, 0) == 0)
        spool->n_made = (uint32_t)(spool->n_released = 0);
}

size_t pp_spool_blocks(const struct pp_spool *spool)
{
    return spool->n_made - spool->n_released;
}

const char *pp_spool_dir(const struct pp_spool *spool)
{
    return spool->dir;
}

void pp_spool_close(struct pp_spool *spool)
{
    if (spool == NULL)
        return;
    close(spool->fd);
    free(spool->released);
    free(spool->dir);
    free(spool);
}
