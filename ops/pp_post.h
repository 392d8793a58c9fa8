/*
 * pp_post: deduplication and the join of pin, geo and user records into
 * posts (SPEC 4).
 *
 * Records are added in stream order (per topic: partition, then offset);
 * the first valid record of a key in each topic wins and later ones are
 * counted as duplicates. A post is joined when all three parts are there.
 * The table keeps only what the queries need, with text interned, so its
 * memory grows with the number of distinct keys, not with the input.
 *
 * One thread (the consumer of the pipeline) owns a table.
 */
#ifndef PP_POST_H
#define PP_POST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pp_clean.h"
#include "pp_hmap.h"

#define PP_POST_ALL_PARTS ((1u << PP_TOPIC_PIN) | (1u << PP_TOPIC_GEO) | (1u << PP_TOPIC_USER))

struct pp_post {
    int64_t ind;
    uint8_t parts; /* 1 << topic for each winning record */
    bool has_follower_count;
    bool has_age;
    bool has_date_joined;
    /* pin */
    uint32_t category;    /* interned; 0 is null */
    uint32_t poster_name; /* interned; 0 is null */
    int64_t follower_count;
    /* geo */
    uint32_t country;  /* interned; 0 is null */
    int32_t post_year; /* 0 is null */
    /* user */
    uint32_t user_name; /* interned; 0 is null */
    int32_t join_year;  /* 0 is null */
    int64_t age;
    int64_t date_joined;
};

struct pp_post_counts {
    uint64_t records[PP_TOPIC_COUNT];
    uint64_t rejected[PP_TOPIC_COUNT][PP_REJECT_COUNT];
    uint64_t duplicates[PP_TOPIC_COUNT];
};

/* An open-addressing table of posts keyed by ind: a slot is in use when
 * its parts != 0. Posts live in the slots themselves (one cache line each),
 * so a lookup costs one cache miss, which pp_post_table_prefetch() can hide.
 * Iterate with: for (i = 0; i < cap; i++) if (posts[i].parts) ... */
struct pp_post_table {
    struct pp_post *posts; /* cap slots */
    size_t cap;            /* a power of two, or 0 */
    size_t n_posts;        /* slots in use */
    struct pp_intern strings;
    struct pp_post_counts counts;
};

void pp_post_table_init(struct pp_post_table *table);
/* Accepts NULL. */
void pp_post_table_cleanup(struct pp_post_table *table);

/* Hints the CPU to load the slot of an item about to be added. */
void pp_post_table_prefetch(const struct pp_post_table *table, const struct pp_clean_item *item);

/* Counts the record and, when valid and first for its key, stores it. */
enum pp_err pp_post_table_add(struct pp_post_table *table, const struct pp_clean_item *item);

/* Copies the query columns of a valid record into its part of post (the
 * caller sets the part bit), interning text into strings. Shared by the
 * batch table and the streaming join (pp_stream). */
enum pp_err pp_post_fill(struct pp_post *post, const struct pp_clean_item *item,
                         struct pp_intern *strings);

/* Joined posts and orphans (winning records whose key lacks a part). */
void pp_post_table_join_counts(const struct pp_post_table *table, uint64_t *posts,
                               uint64_t orphans[PP_TOPIC_COUNT]);

#endif
