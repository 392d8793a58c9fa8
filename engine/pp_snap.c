#include "pp_snap.h"

#include <stdlib.h>
#include <string.h>

void pp_snap_writer_init(struct pp_snap_writer *w, struct pp_buf *out)
{
    memset(w, 0, sizeof *w);
    w->out = out;
}

void pp_snap_writer_init_drain(struct pp_snap_writer *w, struct pp_buf *scratch, size_t drain_at,
                               pp_snap_drain_fn drain, void *arg)
{
    pp_snap_writer_init(w, scratch);
    w->drain = drain;
    w->drain_arg = arg;
    w->drain_at = drain_at > 0 ? drain_at : 1;
}

enum pp_err pp_snap_writer_finish(struct pp_snap_writer *w)
{
    if (w->err == PP_OK && w->drain != NULL && w->out->len > 0) {
        w->err = w->drain(w->drain_arg, w->out->data, w->out->len);
        w->out->len = 0;
    }
    return w->err;
}

void pp_snap_put(struct pp_snap_writer *w, const void *ptr, size_t len)
{
    if (w->err != PP_OK || len == 0)
        return;
    if (w->drain != NULL && len >= w->drain_at) {
        /* In order: what is buffered, then the block without a copy. */
        if (pp_snap_writer_finish(w) == PP_OK)
            w->err = w->drain(w->drain_arg, ptr, len);
        return;
    }
    w->err = pp_buf_append(w->out, ptr, len);
    if (w->err == PP_OK && w->drain != NULL && w->out->len >= w->drain_at)
        pp_snap_writer_finish(w);
}

void pp_snap_put_u64(struct pp_snap_writer *w, uint64_t v)
{
    pp_snap_put(w, &v, sizeof v);
}

void pp_snap_put_i64(struct pp_snap_writer *w, int64_t v)
{
    pp_snap_put(w, &v, sizeof v);
}

void pp_snap_put_bytes(struct pp_snap_writer *w, const void *ptr, size_t len)
{
    pp_snap_put_u64(w, len);
    pp_snap_put(w, ptr, len);
}

void pp_snap_reader_init(struct pp_snap_reader *rd, const void *data, size_t len)
{
    rd->data = data;
    rd->len = len;
    rd->pos = 0;
    rd->err = PP_OK;
}

void pp_snap_fail(struct pp_snap_reader *rd, enum pp_err err)
{
    if (rd->err == PP_OK)
        rd->err = err != PP_OK ? err : PP_ERR_CORRUPT;
}

void pp_snap_get(struct pp_snap_reader *rd, void *ptr, size_t len)
{
    if (rd->err == PP_OK && len > rd->len - rd->pos)
        pp_snap_fail(rd, PP_ERR_CORRUPT);
    if (rd->err != PP_OK) {
        if (len > 0)
            memset(ptr, 0, len);
        return;
    }
    if (len > 0)
        memcpy(ptr, rd->data + rd->pos, len);
    rd->pos += len;
}

uint64_t pp_snap_get_u64(struct pp_snap_reader *rd)
{
    uint64_t v;

    pp_snap_get(rd, &v, sizeof v);
    return v;
}

int64_t pp_snap_get_i64(struct pp_snap_reader *rd)
{
    int64_t v;

    pp_snap_get(rd, &v, sizeof v);
    return v;
}

size_t pp_snap_get_count(struct pp_snap_reader *rd, size_t elem_size)
{
    uint64_t n = pp_snap_get_u64(rd);

    if (rd->err != PP_OK)
        return 0;
    if (elem_size > 0 && n > (rd->len - rd->pos) / elem_size) {
        pp_snap_fail(rd, PP_ERR_CORRUPT);
        return 0;
    }
    return (size_t)n;
}

const char *pp_snap_get_bytes(struct pp_snap_reader *rd, size_t *len)
{
    size_t n = pp_snap_get_count(rd, 1);
    const char *p;

    *len = 0;
    if (rd->err != PP_OK)
        return NULL;
    p = rd->data + rd->pos;
    rd->pos += n;
    *len = n;
    return p;
}

void pp_snap_put_slots(struct pp_snap_writer *w, const void *slots, size_t cap, size_t elem_size)
{
    pp_snap_put_u64(w, cap);
    pp_snap_put(w, slots, cap * elem_size);
}

void *pp_snap_get_slots(struct pp_snap_reader *rd, size_t *cap, size_t elem_size)
{
    size_t n = pp_snap_get_count(rd, elem_size);
    void *slots;

    *cap = 0;
    if (rd->err != PP_OK || n == 0)
        return NULL;
    if ((n & (n - 1)) != 0) {
        pp_snap_fail(rd, PP_ERR_CORRUPT);
        return NULL;
    }
    if ((slots = malloc(n * elem_size)) == NULL) {
        pp_snap_fail(rd, PP_ERR_NOMEM);
        return NULL;
    }
    pp_snap_get(rd, slots, n * elem_size);
    *cap = n;
    return slots;
}
