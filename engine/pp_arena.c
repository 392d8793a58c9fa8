#include "pp_arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pp_arena_chunk {
    struct pp_arena_chunk *next;
    size_t size; /* usable bytes in data[] */
    size_t used;
    max_align_t data[];
};

#define ARENA_DEFAULT_CHUNK (64 * 1024)

void pp_arena_init(struct pp_arena *arena, size_t chunk_size)
{
    arena->head = NULL;
    arena->cur = NULL;
    arena->big = NULL;
    arena->chunk_size = chunk_size ? chunk_size : ARENA_DEFAULT_CHUNK;
}

static void arena_free_list(struct pp_arena_chunk *c)
{
    struct pp_arena_chunk *next;

    for (; c != NULL; c = next) {
        next = c->next;
        free(c);
    }
}

void pp_arena_cleanup(struct pp_arena *arena)
{
    if (arena == NULL)
        return;
    arena_free_list(arena->head);
    arena_free_list(arena->big);
    pp_arena_init(arena, arena->chunk_size);
}

void pp_arena_reset(struct pp_arena *arena)
{
    arena_free_list(arena->big);
    arena->big = NULL;
    arena->cur = arena->head;
    if (arena->cur != NULL)
        arena->cur->used = 0;
}

static struct pp_arena_chunk *arena_chunk_new(size_t size)
{
    struct pp_arena_chunk *c = malloc(sizeof *c + size);

    if (c == NULL)
        return NULL;
    c->next = NULL;
    c->size = size;
    c->used = 0;
    return c;
}

void *pp_arena_alloc(struct pp_arena *arena, size_t len)
{
    size_t need = (len + 7) & ~(size_t)7;
    struct pp_arena_chunk *c = arena->cur;
    void *p;

    if (need > arena->chunk_size / 4) {
        /* Big requests get a chunk of their own, freed at reset. */
        c = arena_chunk_new(need);
        if (c == NULL)
            return NULL;
        c->next = arena->big;
        arena->big = c;
        return c->data;
    }
    if (c == NULL || c->size - c->used < need) {
        if (c != NULL && c->next != NULL) {
            c = c->next; /* a spare chunk kept by an earlier reset */
            c->used = 0;
        } else {
            struct pp_arena_chunk *fresh = arena_chunk_new(arena->chunk_size);
            if (fresh == NULL)
                return NULL;
            if (c != NULL)
                c->next = fresh;
            else
                arena->head = fresh;
            c = fresh;
        }
        arena->cur = c;
    }
    p = (char *)c->data + c->used;
    c->used += need;
    return p;
}

struct pp_str pp_arena_strdup(struct pp_arena *arena, const char *ptr, size_t len)
{
    char *p = pp_arena_alloc(arena, len ? len : 1);

    if (p == NULL)
        return PP_STR_NULL;
    if (len)
        memcpy(p, ptr, len);
    return pp_str_make(p, len);
}

void *pp_array_reserve(void *items, size_t *cap, size_t n, size_t elem_size, size_t first_cap)
{
    size_t want;
    void *grown;

    if (n < *cap)
        return items;
    want = *cap ? *cap * 2 : first_cap;
    if (want > SIZE_MAX / elem_size)
        return NULL;
    grown = realloc(items, want * elem_size);
    if (grown != NULL)
        *cap = want;
    return grown;
}

void pp_buf_init(struct pp_buf *buf)
{
    buf->data = NULL;
    buf->len = 0;
    buf->cap = 0;
}

void pp_buf_cleanup(struct pp_buf *buf)
{
    if (buf == NULL)
        return;
    free(buf->data);
    pp_buf_init(buf);
}

enum pp_err pp_buf_reserve(struct pp_buf *buf, size_t extra)
{
    size_t cap = buf->cap ? buf->cap : 256;
    char *p;

    if (buf->cap - buf->len >= extra)
        return PP_OK;
    while (cap - buf->len < extra)
        cap *= 2;
    p = realloc(buf->data, cap);
    if (p == NULL)
        return PP_ERR_NOMEM;
    buf->data = p;
    buf->cap = cap;
    return PP_OK;
}

enum pp_err pp_buf_append(struct pp_buf *buf, const void *ptr, size_t len)
{
    enum pp_err err = pp_buf_reserve(buf, len + 1);

    if (err)
        return err;
    if (len)
        memcpy(buf->data + buf->len, ptr, len);
    buf->len += len;
    buf->data[buf->len] = '\0';
    return PP_OK;
}

enum pp_err pp_buf_append_str(struct pp_buf *buf, const char *s)
{
    return pp_buf_append(buf, s, strlen(s));
}

/* Formats into the room the buffer has, and again only when that was not
 * enough: one vsnprintf in the common case instead of a measuring one
 * first. */
enum pp_err pp_buf_printf(struct pp_buf *buf, const char *fmt, ...)
{
    va_list ap;
    size_t room = buf->cap - buf->len;
    int n;
    enum pp_err err;

    va_start(ap, fmt);
    n = vsnprintf(room > 0 ? buf->data + buf->len : NULL, room, fmt, ap);
    va_end(ap);
    if (n < 0)
        return PP_ERR_INVALID;
    if ((size_t)n >= room) {
        if ((err = pp_buf_reserve(buf, (size_t)n + 1)))
            return err;
        va_start(ap, fmt);
        vsnprintf(buf->data + buf->len, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    buf->len += (size_t)n;
    return PP_OK;
}

size_t pp_fmt_int(char out[PP_FMT_INT_MAX], int64_t v)
{
    char tmp[PP_FMT_INT_MAX];
    uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    size_t n = 0, len = 0;

    do {
        tmp[sizeof tmp - 1 - n++] = (char)('0' + mag % 10);
        mag /= 10;
    } while (mag != 0);
    if (v < 0)
        out[len++] = '-';
    memcpy(out + len, tmp + sizeof tmp - n, n);
    len += n;
    out[len] = '\0';
    return len;
}

enum pp_err pp_buf_append_int(struct pp_buf *buf, int64_t v)
{
    char tmp[PP_FMT_INT_MAX];

    return pp_buf_append(buf, tmp, pp_fmt_int(tmp, v));
}

/*
 * The fast path of pp_buf_append_double: |d| = m / 10^k with m < 10^15,
 * for the smallest such k, when one exists. Then m / 10^k is what "%.15g"
 * prints: d lies within half an ulp (2^-53 |d|) of it, nearer than to any
 * other number of 15 significant digits (those are at least 10^-15 |d|
 * apart), so rounding d to 15 digits gives m / 10^k, and "%g" drops the
 * trailing zeros, which the smallest k has none of; it prints fixed
 * notation for exponents -4 to 14. And it reads back as d: m and 10^k
 * (k <= 22) are exact doubles, so m / 10^k divides correctly rounded, as
 * strtod rounds the decimal. Writes the text to out; 0 when there is no
 * such m (the caller falls back to snprintf).
 */
static size_t buf_short_decimal(double d, char out[40])
{
    static const double p10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,
                                 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19};
    static const uint64_t u10[] = {1ULL,
                                   10ULL,
                                   100ULL,
                                   1000ULL,
                                   10000ULL,
                                   100000ULL,
                                   1000000ULL,
                                   10000000ULL,
                                   100000000ULL,
                                   1000000000ULL,
                                   10000000000ULL,
                                   100000000000ULL,
                                   1000000000000ULL,
                                   10000000000000ULL,
                                   100000000000000ULL,
                                   1000000000000000ULL,
                                   10000000000000000ULL,
                                   100000000000000000ULL,
                                   1000000000000000000ULL,
                                   10000000000000000000ULL};
    double a = d < 0 ? -d : d;
    size_t len = 0, k;

    if (!(a >= 1e-4 && a < 1e15))
        return 0; /* also 0, -0, NaN: snprintf's */
    for (k = 0; k < sizeof p10 / sizeof p10[0]; k++) {
        double scaled = a * p10[k];
        uint64_t m, whole, frac;

        if (scaled >= 1e15)
            return 0;
        m = (uint64_t)(scaled + 0.5);
        if ((double)m / p10[k] != a)
            continue;
        if (d < 0)
            out[len++] = '-';
        whole = m / u10[k];
        frac = m % u10[k];
        len += pp_fmt_int(out + len, (int64_t)whole);
        if (k > 0) {
            out[len++] = '.';
            for (size_t i = k; i > 0; i--) {
                out[len + i - 1] = (char)('0' + frac % 10);
                frac /= 10;
            }
            len += k;
        }
        out[len] = '\0';
        return len;
    }
    return 0;
}

enum pp_err pp_buf_append_double(struct pp_buf *buf, double d)
{
    char tmp[40];
    size_t len = buf_short_decimal(d, tmp);

    if (len == 0) {
        for (int prec = 15; prec <= 17; prec++) {
            snprintf(tmp, sizeof tmp, "%.*g", prec, d);
            if (strtod(tmp, NULL) == d)
                break;
        }
        len = strlen(tmp);
    }
    return pp_buf_append(buf, tmp, len);
}

enum pp_err pp_buf_append_file(struct pp_buf *buf, FILE *f, size_t max_len)
{
    enum pp_err err;
    size_t got;

    do {
        if ((err = pp_buf_reserve(buf, 64 * 1024)) != PP_OK)
            return err;
        got = fread(buf->data + buf->len, 1, buf->cap - buf->len, f);
        buf->len += got;
        if (buf->len > max_len)
            return PP_ERR_TOOBIG;
    } while (got > 0);
    return ferror(f) ? PP_ERR_IO : PP_OK;
}
