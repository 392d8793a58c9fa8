/*
 * pp_hmap: an open-addressing hash map from a 128-bit key (two uint64) to a
 * uint64 value, the one map type of pinpipe (post tables, group counters,
 * distinct sets, value histograms).
 *
 * pp_intern: byte strings to small dense ids (1, 2, ...; 0 stands for NULL),
 * with the bytes copied into its own arena.
 *
 * Neither is thread-safe: each belongs to the stage that owns it.
 */
#ifndef PP_HMAP_H
#define PP_HMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pp_arena.h"
#include "pp_err.h"
#include "pp_snap.h"
#include "pp_str.h"

struct pp_hmap_slot {
    uint64_t k1;
    uint64_t k2;
    uint64_t value;
    uint64_t is_used;
};

struct pp_hmap {
    struct pp_hmap_slot *slots;
    size_t cap; /* power of two, or 0 */
    size_t count;
};

/* A full-avalanche mix of a 64-bit value (the splitmix64 finalizer): the
 * hash of integer keys. */
static inline uint64_t pp_hash_u64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

/*
 * Allocates n zeroed bytes for a table that will be probed (read) before it
 * is written. Unlike calloc, whose large blocks are fresh zero pages that
 * the first read maps copy-on-write, so that the first write then faults
 * again and flushes the TLB of every core running a thread of ours, this
 * writes the zeros up front: one fault per page. NULL on OOM; free().
 */
void *pp_table_alloc(size_t n);

void pp_hmap_init(struct pp_hmap *map);
/* Accepts NULL and a map that was never used. */
void pp_hmap_cleanup(struct pp_hmap *map);
/* Removes every key, keeping the table for reuse. */
void pp_hmap_clear(struct pp_hmap *map);

/* Returns the value slot of the key, or NULL when absent. The pointer is
 * valid until the next insertion. */
uint64_t *pp_hmap_find(const struct pp_hmap *map, uint64_t k1, uint64_t k2);

/* Returns the value slot of the key, inserting it with value 0 when absent
 * (*is_new tells which; is_new may be NULL). NULL when out of memory. The
 * pointer is valid until the next insertion. */
uint64_t *pp_hmap_upsert(struct pp_hmap *map, uint64_t k1, uint64_t k2, bool *is_new);

/* Checkpoints (pp_snap): the table as it lies in memory. Load into a map
 * just initialised (pp_hmap_init); PP_OK, or the reader's error
 * (PP_ERR_CORRUPT when the slots are inconsistent), the map then empty. */
void pp_hmap_save(const struct pp_hmap *map, struct pp_snap_writer *w);
enum pp_err pp_hmap_load(struct pp_hmap *map, struct pp_snap_reader *rd);

/* Iteration: for (i = 0; i < map->cap; i++) if (map->slots[i].is_used) ... */

/* A slot of the intern table holds what a lookup compares, so that a hit
 * costs one cache line: the hash, the length and the bytes themselves when
 * they fit (PP_INTERN_INLINE), else a pointer to them. id 0: free slot. */
#define PP_INTERN_INLINE 16

struct pp_intern_slot {
    uint64_t hash;
    uint32_t len;
    uint32_t id;
    union {
        char bytes[PP_INTERN_INLINE];
        const char *ptr;
    } u;
};

struct pp_intern {
    struct pp_intern_slot *slots;
    size_t cap;          /* slots: a power of two, or 0 */
    struct pp_str *strs; /* id -> bytes; strs[0] is the NULL view */
    size_t count;        /* ids in use, including 0 */
    size_t strs_cap;
    struct pp_arena arena;
};

void pp_intern_init(struct pp_intern *in);
void pp_intern_cleanup(struct pp_intern *in);
/* Returns the id of s (0 for a NULL view), adding it when new; *id stays
 * unset on PP_ERR_NOMEM. */
enum pp_err pp_intern_id(struct pp_intern *in, struct pp_str s, uint32_t *id);
/* The same, with hash == pp_str_hash(s) computed by the caller (perhaps on
 * another thread). */
enum pp_err pp_intern_id_hashed(struct pp_intern *in, struct pp_str s, uint64_t hash, uint32_t *id);
/* Checkpoints: the strings in id order. Load into a table just
 * initialised (pp_intern_init), each string getting its old id back, so
 * that ids kept elsewhere in the checkpoint stay valid. PP_OK or the
 * reader's error. */
void pp_intern_save(const struct pp_intern *in, struct pp_snap_writer *w);
enum pp_err pp_intern_load(struct pp_intern *in, struct pp_snap_reader *rd);
/* Hints the CPU to load the map slot of a key that is about to be used. */
void pp_hmap_prefetch(const struct pp_hmap *map, uint64_t k1, uint64_t k2);
/* The bytes of an id; valid until pp_intern_cleanup(). */
static inline struct pp_str pp_intern_str(const struct pp_intern *in, uint32_t id)
{
    return in->strs[id];
}

#endif
