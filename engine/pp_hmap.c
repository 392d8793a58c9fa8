#include "pp_hmap.h"

#include <stdlib.h>
#include <string.h>

#define hmap_mix pp_hash_u64

uint64_t pp_str_hash(struct pp_str s)
{
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ s.len;
    const unsigned char *p = (const unsigned char *)s.ptr;
    size_t n = s.len;
    uint64_t w;

    while (n >= 8) {
        memcpy(&w, p, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdULL;
        h ^= h >> 29;
        p += 8;
        n -= 8;
    }
    w = 0;
    if (n)
        memcpy(&w, p, n);
    return hmap_mix(h ^ w);
}

static inline size_t hmap_index(uint64_t k1, uint64_t k2, size_t mask)
{
    return (size_t)hmap_mix(k1 ^ hmap_mix(k2 + 0x632be59bd9b4e019ULL)) & mask;
}

void *pp_table_alloc(size_t n)
{
    void *p = malloc(n ? n : 1);

    if (p != NULL)
        memset(p, 0, n);
    return p;
}

void pp_hmap_init(struct pp_hmap *map)
{
    map->slots = NULL;
    map->cap = 0;
    map->count = 0;
}

void pp_hmap_cleanup(struct pp_hmap *map)
{
    if (map == NULL)
        return;
    free(map->slots);
    pp_hmap_init(map);
}

void pp_hmap_clear(struct pp_hmap *map)
{
    if (map->count == 0)
        return;
    memset(map->slots, 0, map->cap * sizeof *map->slots);
    map->count = 0;
}

uint64_t *pp_hmap_find(const struct pp_hmap *map, uint64_t k1, uint64_t k2)
{
    size_t mask = map->cap - 1;
    size_t i;

    if (map->cap == 0)
        return NULL;
    for (i = hmap_index(k1, k2, mask);; i = (i + 1) & mask) {
        struct pp_hmap_slot *s = &map->slots[i];
        if (!s->is_used)
            return NULL;
        if (s->k1 == k1 && s->k2 == k2)
            return &s->value;
    }
}

static enum pp_err hmap_grow(struct pp_hmap *map)
{
    size_t cap = map->cap ? map->cap * 2 : 64;
    struct pp_hmap_slot *slots = pp_table_alloc(cap * sizeof *slots);
    size_t i;
    size_t j;

    if (slots == NULL)
        return PP_ERR_NOMEM;
    for (i = 0; i < map->cap; i++) {
        struct pp_hmap_slot *s = &map->slots[i];
        if (!s->is_used)
            continue;
        for (j = hmap_index(s->k1, s->k2, cap - 1); slots[j].is_used; j = (j + 1) & (cap - 1))
            ;
        slots[j] = *s;
    }
    free(map->slots);
    map->slots = slots;
    map->cap = cap;
    return PP_OK;
}

uint64_t *pp_hmap_upsert(struct pp_hmap *map, uint64_t k1, uint64_t k2, bool *is_new)
{
    size_t mask;
    size_t i;

    /* Load factor at most 1/2 keeps linear probes short. */
    if ((map->count + 1) * 2 > map->cap && hmap_grow(map) != PP_OK)
        return NULL;
    mask = map->cap - 1;
    for (i = hmap_index(k1, k2, mask);; i = (i + 1) & mask) {
        struct pp_hmap_slot *s = &map->slots[i];
        if (!s->is_used) {
            s->is_used = 1;
            s->k1 = k1;
            s->k2 = k2;
            s->value = 0;
            map->count++;
            if (is_new)
                *is_new = true;
            return &s->value;
        }
        if (s->k1 == k1 && s->k2 == k2) {
            if (is_new)
                *is_new = false;
            return &s->value;
        }
    }
}

void pp_intern_init(struct pp_intern *in)
{
    memset(in, 0, sizeof *in);
    pp_arena_init(&in->arena, 0);
}

void pp_intern_cleanup(struct pp_intern *in)
{
    if (in == NULL)
        return;
    free(in->slots);
    free(in->strs);
    pp_arena_cleanup(&in->arena);
    memset(in, 0, sizeof *in);
}

enum pp_err pp_intern_id(struct pp_intern *in, struct pp_str s, uint32_t *id)
{
    return pp_intern_id_hashed(in, s, s.ptr ? pp_str_hash(s) : 0, id);
}

void pp_hmap_prefetch(const struct pp_hmap *map, uint64_t k1, uint64_t k2)
{
    if (map->cap)
        __builtin_prefetch(&map->slots[hmap_index(k1, k2, map->cap - 1)]);
}

static enum pp_err intern_grow(struct pp_intern *in)
{
    size_t cap = in->cap ? in->cap * 2 : 256;
    struct pp_intern_slot *slots = pp_table_alloc(cap * sizeof *slots);
    size_t i;
    size_t j;

    if (slots == NULL)
        return PP_ERR_NOMEM;
    for (i = 0; i < in->cap; i++) {
        if (in->slots[i].id == 0)
            continue;
        for (j = in->slots[i].hash & (cap - 1); slots[j].id; j = (j + 1) & (cap - 1))
            ;
        slots[j] = in->slots[i];
    }
    free(in->slots);
    in->slots = slots;
    in->cap = cap;
    return PP_OK;
}

enum pp_err pp_intern_id_hashed(struct pp_intern *in, struct pp_str s, uint64_t h, uint32_t *id)
{
    struct pp_intern_slot *slot;
    enum pp_err err;
    size_t i;

    if (s.ptr == NULL) {
        *id = 0;
        return PP_OK;
    }
    if (s.len > UINT32_MAX)
        return PP_ERR_TOOBIG;
    /* Load factor at most 1/2. */
    if ((in->count + 1) * 2 > in->cap && (err = intern_grow(in)))
        return err;
    for (i = h & (in->cap - 1);; i = (i + 1) & (in->cap - 1)) {
        slot = &in->slots[i];
        if (slot->id == 0)
            break;
        if (slot->hash == h && slot->len == s.len &&
            memcmp(s.len <= PP_INTERN_INLINE ? slot->u.bytes : slot->u.ptr, s.ptr, s.len) == 0) {
            *id = slot->id;
            return PP_OK;
        }
    }
    struct pp_str *strs =
        pp_array_reserve(in->strs, &in->strs_cap, in->count ? in->count : 1, sizeof *strs, 64);
    if (strs == NULL)
        return PP_ERR_NOMEM;
    in->strs = strs;
    if (in->count == 0) {
        in->strs[0] = PP_STR_NULL; /* id 0 */
        in->count = 1;
    }
    struct pp_str copy = pp_arena_strdup(&in->arena, s.ptr, s.len);
    if (copy.ptr == NULL)
        return PP_ERR_NOMEM;
    in->strs[in->count] = copy;
    slot->hash = h;
    slot->len = (uint32_t)s.len;
    if (s.len <= PP_INTERN_INLINE)
        memcpy(slot->u.bytes, s.ptr, s.len);
    else
        slot->u.ptr = copy.ptr;
    slot->id = (uint32_t)in->count;
    *id = (uint32_t)in->count++;
    return PP_OK;
}

void pp_hmap_save(const struct pp_hmap *map, struct pp_snap_writer *w)
{
    pp_snap_put_u64(w, map->count);
    pp_snap_put_slots(w, map->slots, map->cap, sizeof *map->slots);
}

enum pp_err pp_hmap_load(struct pp_hmap *map, struct pp_snap_reader *rd)
{
    size_t count = (size_t)pp_snap_get_u64(rd);
    size_t used = 0;
    size_t i;

    map->slots = pp_snap_get_slots(rd, &map->cap, sizeof *map->slots);
    for (i = 0; i < map->cap; i++)
        used += map->slots[i].is_used != 0;
    /* A full table would make a probe for an absent key loop forever. */
    if (rd->err == PP_OK && (used != count || (map->cap > 0 && count >= map->cap)))
        pp_snap_fail(rd, PP_ERR_CORRUPT);
    if (rd->err != PP_OK) {
        pp_hmap_cleanup(map);
        return rd->err;
    }
    map->count = count;
    return PP_OK;
}

void pp_intern_save(const struct pp_intern *in, struct pp_snap_writer *w)
{
    size_t id;

    pp_snap_put_u64(w, in->count > 0 ? in->count - 1 : 0);
    for (id = 1; id < in->count; id++)
        pp_snap_put_bytes(w, in->strs[id].ptr, in->strs[id].len);
}

enum pp_err pp_intern_load(struct pp_intern *in, struct pp_snap_reader *rd)
{
    size_t n = pp_snap_get_count(rd, sizeof(uint64_t));
    size_t i;

    for (i = 0; i < n && rd->err == PP_OK; i++) {
        size_t len;
        const char *bytes = pp_snap_get_bytes(rd, &len);
        uint32_t id;
        enum pp_err err;

        if (rd->err != PP_OK)
            break;
        /* Saved strings are distinct, so each gets the next id. */
        if ((err = pp_intern_id(in, (struct pp_str){bytes, len}, &id)) != PP_OK)
            pp_snap_fail(rd, err);
        else if (id != i + 1)
            pp_snap_fail(rd, PP_ERR_CORRUPT);
    }
    return rd->err;
}
