/*
 * pp_emulate: a deterministic generator of posts shaped like the original
 * Pinterest pipeline's data.
 *
 * Each post is three JSON records (pin, geo, user) sharing one key. Keys are
 * drawn uniformly from [0, ind_space), so repeated draws post the same key
 * again, as the original posting emulator did with random.randint(0, 11000).
 * A record is a pure function of (seed, key, topic): a repeated key repeats
 * its records byte for byte, and the malformed choice does not change the
 * records it leaves alone.
 *
 * The records carry the real data's dirty-value mix: the placeholders of
 * SPEC 2, follower counts such as "79k", digit-string keys and ages, the
 * three timestamp shapes with fractions and zone suffixes, impossible dates,
 * shuffled key order, unknown extra fields, \uXXXX escapes (surrogate pairs,
 * NBSP) and JSON-special characters in names. Output is ASCII except in
 * malformed records of the invalid-UTF-8 kind.
 *
 * One generator belongs to one thread.
 */
#ifndef PP_EMULATE_H
#define PP_EMULATE_H

#include <stddef.h>
#include <stdint.h>

#include "pp_arena.h"
#include "pp_err.h"
#include "pp_topic.h"

struct pp_emulate_options {
    uint64_t seed;
    int64_t ind_space;           /* keys are drawn from [0, ind_space); >= 1 */
    unsigned malformed_permille; /* 0..1000: records replaced by malformed ones */
};

struct pp_emulate;

/* Copies the options. Returns NULL when out of memory. */
struct pp_emulate *pp_emulate_new(const struct pp_emulate_options *opt);

/* Accepts NULL. */
void pp_emulate_destroy(struct pp_emulate *em);

/*
 * Draws the next post's key into *ind and appends its pin, geo and user
 * records to out[PP_TOPIC_PIN], out[PP_TOPIC_GEO] and out[PP_TOPIC_USER]
 * (the buffers are not cleared). A record has no trailing newline and never
 * contains a '\n' byte; a malformed record may be empty.
 *
 * Malformed records (malformed_permille of them, chosen per record from
 * (seed, key, topic)) are of seven kinds, equally often: truncated JSON, a
 * raw 0xff byte inside a string, a JSON array, a missing key field, the key
 * "abc", the key as a float (ind.5) and an empty record. They map to the
 * reject reasons invalid_json, invalid_utf8, not_object, missing_key and
 * bad_key of docs/semantics.md.
 *
 * Returns PP_OK, or PP_ERR_NOMEM (the buffers may then hold a partial
 * record); PP_ERR_INTERNAL would mean a record outgrew its bound (a bug).
 */
enum pp_err pp_emulate_next(struct pp_emulate *em, int64_t *ind, struct pp_buf out[PP_TOPIC_COUNT]);

/*
 * Kafka's murmur2 hash (the Java client's Utils.murmur2) of len bytes.
 */
uint32_t pp_emulate_murmur2(const void *key, size_t len);

/*
 * The partition Kafka's default partitioner gives a record keyed by the
 * decimal string of ind: toPositive(murmur2(key)) % partitions.
 * partitions >= 1.
 */
int32_t pp_emulate_partition(int64_t ind, int32_t partitions);

#endif
