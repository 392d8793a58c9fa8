/*
 * The edits fuzz_windows and fuzz_stream make to a reference encoding:
 *
 *   byte 0          below 32: the copy is cut to len * byte / 32 first
 *   then 5 bytes    a 32-bit little-endian position (modulo the length)
 *   at a time       and the byte to put there
 *
 * Returns the edited copy (the caller frees it) and its length in *len;
 * NULL when out of memory.
 */
#ifndef FUZZ_EDIT_H
#define FUZZ_EDIT_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pp_arena.h"

static inline char *fuzz_edit(const struct pp_buf *ref, const uint8_t *data, size_t size,
                              size_t *len)
{
    char *copy = malloc(ref->len ? ref->len : 1);

    if (copy == NULL)
        return NULL;
    memcpy(copy, ref->data, ref->len);
    *len = ref->len;
    if (size > 0 && data[0] < 32)
        *len = ref->len * data[0] / 32;
    for (size_t k = 1; *len > 0 && k + 5 <= size; k += 5) {
        uint32_t pos = (uint32_t)data[k] | (uint32_t)data[k + 1] << 8 |
                       (uint32_t)data[k + 2] << 16 | (uint32_t)data[k + 3] << 24;
        copy[pos % *len] = (char)data[k + 4];
    }
    return copy;
}

#endif
