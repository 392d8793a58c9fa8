/*
 * pp_arena: a bump allocator of stable memory.
 *
 * Memory handed out stays at the same address until pp_arena_reset() or
 * pp_arena_destroy(); this is what lets record views point into it. One
 * arena belongs to one thread at a time (it travels inside a batch).
 *
 * pp_buf: a growable byte buffer for building output text. Its bytes move
 * when it grows, so never keep pointers into it across appends.
 */
#ifndef PP_ARENA_H
#define PP_ARENA_H

#include <stddef.h>
#include <stdio.h>

#include "pp_err.h"
#include "pp_str.h"

#ifdef __cplusplus
extern "C" {
#endif

struct pp_arena_chunk;

struct pp_arena {
    struct pp_arena_chunk *head; /* first regular chunk */
    struct pp_arena_chunk *cur;  /* chunk being filled; later ones are spare */
    struct pp_arena_chunk *big;  /* oversized allocations, one chunk each */
    size_t chunk_size;           /* size of a regular chunk */
};

/* chunk_size 0 picks a default (64 KiB). */
void pp_arena_init(struct pp_arena *arena, size_t chunk_size);
/* Frees all chunks; accepts an arena that was never used. */
void pp_arena_cleanup(struct pp_arena *arena);
/* Forgets every allocation but keeps the regular chunks for reuse, so a
 * reused arena allocates (and page-faults) nothing new. */
void pp_arena_reset(struct pp_arena *arena);

/* Returns len bytes aligned to 8, or NULL when out of memory. */
void *pp_arena_alloc(struct pp_arena *arena, size_t len);
/* Copies bytes into the arena; returns a view of the copy (NULL ptr on
 * out-of-memory). */
struct pp_str pp_arena_strdup(struct pp_arena *arena, const char *ptr, size_t len);

/*
 * Makes room for element n of a growable array of *cap elements: when n ==
 * *cap it is reallocated to twice the capacity (first_cap when empty).
 * Returns the array, perhaps moved (*cap updated), or NULL when out of
 * memory (the old array and *cap are then unchanged and still owned by the
 * caller).
 */
void *pp_array_reserve(void *items, size_t *cap, size_t n, size_t elem_size, size_t first_cap);

struct pp_buf {
    char *data;
    size_t len;
    size_t cap;
};

void pp_buf_init(struct pp_buf *buf);
void pp_buf_cleanup(struct pp_buf *buf);
/* Makes room for extra more bytes. */
enum pp_err pp_buf_reserve(struct pp_buf *buf, size_t extra);
enum pp_err pp_buf_append(struct pp_buf *buf, const void *ptr, size_t len);
enum pp_err pp_buf_append_str(struct pp_buf *buf, const char *s);
enum pp_err pp_buf_printf(struct pp_buf *buf, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Numbers as JSON text, without printf (they are on the encode stage's
 * path, several per record). pp_buf_append_int: the decimal, as "%lld".
 * pp_buf_append_double: the shortest of "%.15g", "%.16g", "%.17g" that
 * reads back as d (strtod), byte for byte what that loop prints; d must be
 * finite. Decimals of up to 15 significant digits in [1e-4, 1e15), which
 * is what coordinates and most measured values are, take a fast path
 * (exact: docs/performance.md); others go through snprintf.
 */
#define PP_FMT_INT_MAX 21 /* "-9223372036854775808" and its NUL */
size_t pp_fmt_int(char out[PP_FMT_INT_MAX], int64_t v);
enum pp_err pp_buf_append_int(struct pp_buf *buf, int64_t v);
enum pp_err pp_buf_append_double(struct pp_buf *buf, double d);
/*
 * Appends everything f still holds (read to its end). PP_ERR_TOOBIG once
 * buf would pass max_len bytes (what was read stays in buf), PP_ERR_IO on a
 * read error (errno tells), PP_ERR_NOMEM. f stays open: the caller closes it.
 */
enum pp_err pp_buf_append_file(struct pp_buf *buf, FILE *f, size_t max_len);

#ifdef __cplusplus
}
#endif

#endif
