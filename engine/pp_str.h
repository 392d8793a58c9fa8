/*
 * pp_str: a borrowed byte-string view, the hot-path representation of every
 * text value. ptr == NULL means SQL NULL; a non-NULL view may have len 0 only
 * transiently (cleaning turns empty strings into NULL). Views never own
 * their bytes: the owner is named wherever a view is handed over.
 */
#ifndef PP_STR_H
#define PP_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

struct pp_str {
    const char *ptr;
    size_t len;
};

#define PP_STR_NULL ((struct pp_str){NULL, 0})
#define PP_STR_LIT(s) ((struct pp_str){(s), sizeof(s) - 1})
/* The same, for static initializers. */
#define PP_STR_INIT(s)                                                                             \
    {                                                                                              \
        (s), sizeof(s) - 1                                                                         \
    }

/* 16 bytes as one vector (GCC and clang vector extensions; SSE2 on any
 * x86-64), for scans of byte strings 16 at a time. A comparison with a
 * scalar compares every byte with it and yields -1 or 0 per byte. */
typedef unsigned char pp_v16 __attribute__((vector_size(16)));

static inline struct pp_str pp_str_make(const char *ptr, size_t len)
{
    struct pp_str s = {ptr, len};
    return s;
}

/* The value of a hexadecimal digit (either case), or -1. */
static inline int pp_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static inline bool pp_str_is_null(struct pp_str s)
{
    return s.ptr == NULL;
}

static inline bool pp_str_eq(struct pp_str a, struct pp_str b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static inline bool pp_str_eq_cstr(struct pp_str a, const char *b)
{
    return pp_str_eq(a, pp_str_make(b, strlen(b)));
}

/* Byte-order comparison (memcmp, shorter prefix first): the order of every
 * sorted output. NULL sorts first. */
static inline int pp_str_cmp(struct pp_str a, struct pp_str b)
{
    size_t n = a.len < b.len ? a.len : b.len;
    int c;

    if (a.ptr == NULL || b.ptr == NULL)
        return (a.ptr != NULL) - (b.ptr != NULL);
    c = n ? memcmp(a.ptr, b.ptr, n) : 0;
    if (c != 0)
        return c;
    return (a.len > b.len) - (a.len < b.len);
}

/* 64-bit hash of a byte string; not cryptographic, stable across runs. */
uint64_t pp_str_hash(struct pp_str s);

#ifdef __cplusplus
}
#endif

#endif
