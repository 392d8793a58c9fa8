/*
 * pp_clean: parsing and cleaning of one record (SPEC 2 and 3,
 * docs/semantics.md), the one rule set of batch and stream.
 *
 * A cleaned record is a hot-path view: its strings point into the input
 * buffer or into the arena given to pp_clean_record(), and live as long as
 * both (for a pipeline batch: until the batch is released).
 *
 * A struct pp_clean belongs to one thread (it owns a JSON parser).
 */
#ifndef PP_CLEAN_H
#define PP_CLEAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pp_arena.h"
#include "pp_batch.h"
#include "pp_err.h"
#include "pp_json.h"
#include "pp_pipeline.h"
#include "pp_str.h"
#include "pp_topic.h"

#define PP_CLEAN_DEFAULT_MAX_RECORD_BYTES (1024 * 1024)

/* Reject reasons, in the order the checks run. */
enum pp_reject {
    PP_REJECT_NONE = 0,
    PP_REJECT_TOO_LARGE,
    PP_REJECT_INVALID_UTF8,
    PP_REJECT_INVALID_JSON,
    PP_REJECT_NOT_OBJECT,
    PP_REJECT_MISSING_KEY,
    PP_REJECT_BAD_KEY,
};
#define PP_REJECT_COUNT 7

/* "too_large", "invalid_utf8", ...; "none" for PP_REJECT_NONE. */
const char *pp_reject_name(enum pp_reject reason);

struct pp_clean_pin {
    struct pp_str unique_id;
    struct pp_str title;
    struct pp_str description;
    bool has_follower_count;
    int64_t follower_count;
    struct pp_str poster_name;
    struct pp_str tag_list;
    struct pp_str is_image_or_video;
    struct pp_str image_src;
    struct pp_str save_location;
    struct pp_str category;
};

struct pp_clean_geo {
    struct pp_str country;
    bool has_coordinates;
    double latitude;
    double longitude;
    bool has_timestamp;
    int64_t timestamp; /* UTC epoch seconds */
};

struct pp_clean_user {
    struct pp_str user_name;
    bool has_age;
    int64_t age;
    bool has_date_joined;
    int64_t date_joined; /* UTC epoch seconds */
};

struct pp_clean_record {
    enum pp_topic topic;
    int64_t ind;
    union {
        struct pp_clean_pin pin;
        struct pp_clean_geo geo;
        struct pp_clean_user user;
    } u;
};

struct pp_clean;

struct pp_clean_options {
    size_t max_record_bytes; /* longer records are rejected as too_large */
    /* Read only the key and the columns the nine queries use (pin
     * category, poster_name, follower_count; geo timestamp, country; all of
     * user); the other columns come out NULL. Every record is still
     * validated whole, so rejects do not change. */
    bool is_query_only;
};

/* All columns. NULL on OOM. */
struct pp_clean *pp_clean_new(size_t max_record_bytes);
/* NULL on OOM. */
struct pp_clean *pp_clean_new_opts(const struct pp_clean_options *opt);
/* Accepts NULL. */
void pp_clean_destroy(struct pp_clean *clean);

/*
 * Parses and cleans one record of the topic from buf[0..len); capacity >=
 * len + PP_JSON_PADDING readable bytes start at buf. Returns
 * PP_REJECT_NONE with *out filled, or the reject reason (out is then
 * unspecified). *err is set to PP_ERR_NOMEM when the arena runs out (the
 * record is then reported as invalid_json and the caller must stop).
 */
enum pp_reject pp_clean_record(struct pp_clean *clean, enum pp_topic topic, const char *buf,
                               size_t len, size_t capacity, struct pp_arena *arena,
                               struct pp_clean_record *out, enum pp_err *err);

/* Appends the cleaned record as one JSON object (SPEC 2 column order,
 * correctly escaped), without a newline. */
enum pp_err pp_clean_render_json(const struct pp_clean_record *rec, struct pp_buf *out);

/* Appends s as a JSON string literal (quotes included, escaped), or null. */
enum pp_err pp_clean_json_string(struct pp_buf *out, struct pp_str s);

/* The value rules, exposed for the tests. */
bool pp_clean_follower_count(const struct pp_json_value *v, int64_t *count);
bool pp_clean_integer(const struct pp_json_value *v, int64_t *out);
bool pp_clean_number(const struct pp_json_value *v, double *out);
/* A text column: NULL view for non-strings, empty strings and placeholders
 * (placeholders: n of them, may be NULL when n is 0). */
struct pp_str pp_clean_text(const struct pp_json_value *v, const char *const *placeholders,
                            size_t n);

/*
 * The clean stage: a pipeline worker stage that cleans every record of a
 * batch's spans and writes one struct pp_clean_item per record into
 * batch->out, in input order (batch->n_out items). stage_arg points to a
 * struct pp_clean_options.
 */
struct pp_clean_item {
    enum pp_topic topic;
    enum pp_reject reject;
    int32_t partition;
    int64_t offset;
    int64_t timestamp_ms;       /* the span's (PP_BATCH_NO_TIMESTAMP for lakes) */
    bool is_resumed;            /* the span's (pp_batch.h) */
    struct pp_str raw;          /* the record's bytes (empty for oversized records) */
    struct pp_clean_record rec; /* valid when reject == PP_REJECT_NONE */
    /* pp_str_hash() of the record's text group keys (pin: category,
     * poster_name; geo: country; user: user_name; 0 for NULL), computed
     * by the worker so that the single consumer thread only probes. */
    uint64_t text_hash[2];
};

extern const struct pp_stage_ops pp_clean_stage;

/* The items of a processed batch. */
static inline const struct pp_clean_item *pp_clean_items(const struct pp_batch *batch)
{
    return (const struct pp_clean_item *)(const void *)batch->out.data;
}

#endif
