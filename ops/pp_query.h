/*
 * pp_query: the nine analytics queries of SPEC 5 over joined posts.
 *
 * The state is incremental: pp_query_add() folds one joined post into
 * counters, per-group value histograms (exact medians) and distinct sets,
 * so the same state serves the batch job and, per window, the stream.
 * pp_query_result() turns it into sorted tables at any time.
 *
 * A state belongs to one thread. Text in results points into the post
 * table's interned strings: valid while both live.
 */
#ifndef PP_QUERY_H
#define PP_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pp_hmap.h"
#include "pp_post.h"
#include "pp_snap.h"

enum pp_query_id {
    PP_QUERY_CATEGORY_BY_COUNTRY,
    PP_QUERY_CATEGORY_BY_YEAR,
    PP_QUERY_TOP_USER_BY_COUNTRY,
    PP_QUERY_TOP_COUNTRY_BY_FOLLOWERS,
    PP_QUERY_CATEGORY_BY_AGE_GROUP,
    PP_QUERY_MEDIAN_FOLLOWERS_BY_AGE_GROUP,
    PP_QUERY_USERS_JOINED_BY_YEAR,
    PP_QUERY_MEDIAN_FOLLOWERS_BY_JOIN_YEAR,
    PP_QUERY_MEDIAN_FOLLOWERS_BY_AGE_GROUP_AND_JOIN_YEAR,
};
#define PP_QUERY_COUNT 9

/* "category_by_country", ...; NULL for an unknown id. */
const char *pp_query_name(enum pp_query_id id);
/* PP_OK and *id, or PP_ERR_NOTFOUND. */
enum pp_err pp_query_lookup(const char *name, enum pp_query_id *id);

enum pp_cell_type { PP_CELL_TEXT, PP_CELL_INT, PP_CELL_MEDIAN };

/* A result value. A median is i, or i + 0.5 when is_half. */
struct pp_cell {
    enum pp_cell_type type;
    bool is_half;
    int64_t i;
    struct pp_str text;
};

struct pp_table {
    enum pp_query_id id;
    const char *name;
    const char *const *columns;
    size_t n_cols;
    size_t n_rows;
    struct pp_cell *cells; /* n_rows * n_cols, row-major */
};

/*
 * The two parts of a state that grow with the posts have their own table
 * type, 16 bytes a slot (a pp_hmap slot is 32), open addressing: a slot is
 * free when its tag is 0.
 *
 * - users, the distinct users of users_joined_by_year: tag = join year << 32
 *   | user_name, value = date_joined (a user per post, for posters who post
 *   once).
 * - hist, the follower counts of the three medians in one histogram: tag =
 *   cell << 56 | posts, value = follower_count, where the cell is the post's
 *   age group (0: none) and join year (0: none or out of 2015..2020). The
 *   medians per age group add the join years' cells up, those per join year
 *   the age groups'; a post in neither is not kept. One histogram instead of
 *   one per median: the two marginals cost no entries of their own.
 */
struct pp_query_pair;
struct pp_query_pairs {
    struct pp_query_pair *slots;
    size_t cap; /* a power of two, or 0 */
    size_t count;
};

struct pp_query_state {
    struct pp_hmap cat_country;  /* (country, category) -> count */
    struct pp_hmap cat_year;     /* (post year, category) -> count */
    struct pp_hmap cat_age;      /* (age group, category) -> count */
    struct pp_hmap top_user;     /* (country, 0) -> index into top[] */
    struct pp_query_pairs users; /* (join year << 32 | user_name, date_joined) */
    struct pp_query_pairs hist;  /* (cell << 56 | posts, follower_count) */
    struct pp_query_top *top;
    size_t n_top;
    size_t top_cap;
};

void pp_query_init(struct pp_query_state *q);
/* Accepts NULL. */
void pp_query_cleanup(struct pp_query_state *q);

/* Folds one joined post in. strings: the table that interned its text. */
enum pp_err pp_query_add(struct pp_query_state *q, const struct pp_post *post,
                         const struct pp_intern *strings);

/*
 * Folds src into dst, so that dst answers every query as a state fed with
 * the posts of both would: counters and the value histograms of the
 * medians add, the distinct users unite, per country the better top user
 * stays (pp_query_add's tie rule, which does not depend on order). Both
 * states' text ids refer to strings. src is not changed. Costs one hash
 * upsert per entry of src (the distinct users dominate: one entry per
 * distinct user). PP_OK, or PP_ERR_NOMEM: dst then holds part of src and
 * is only good for pp_query_cleanup().
 */
enum pp_err pp_query_merge(struct pp_query_state *dst, const struct pp_query_state *src,
                           const struct pp_intern *strings);
/* The same for only the part of the state that query id reads (the top
 * users serve two queries): what answering one query over merged states
 * needs. dst then answers that id only: the three medians share one
 * histogram, of which each merges the cells it reads, so merging two of
 * them into one dst would count the cells they share twice.
 * PP_ERR_INVALID for an unknown id. */
enum pp_err pp_query_merge_for(struct pp_query_state *dst, const struct pp_query_state *src,
                               const struct pp_intern *strings, enum pp_query_id id);
/*
 * Like pp_query_merge_for() (id >= 0) or pp_query_merge() (id < 0, as
 * (enum pp_query_id)-1), but src's text ids refer to src_strings and dst's
 * to dst_strings: each text src uses is interned into dst_strings and its
 * id translated (country, category, poster and user names; the other key
 * parts are numbers). What merging the states of shards that keep their
 * own strings (one per Kafka partition) needs; one intern lookup more per
 * text of each entry of src. The same table on both sides is a plain
 * merge. PP_OK or PP_ERR_NOMEM (dst as above), PP_ERR_INVALID for an
 * unknown id.
 */
enum pp_err pp_query_merge_mapped(struct pp_query_state *dst, struct pp_intern *dst_strings,
                                  const struct pp_query_state *src,
                                  const struct pp_intern *src_strings, int id);

/*
 * The distinct users of users_joined_by_year, for a caller that counts
 * them over several states without merging (pp_window's panes): a post
 * counts there under join year index pp_query_user_year() (0 for 2015 ..
 * PP_QUERY_JOIN_YEARS - 1), or not at all (-1); pp_query_has_user() tells
 * whether q already holds the post's user; pp_query_users_table() builds
 * the query's table from distinct counts per join year index (the caller
 * frees it with pp_table_cleanup(); PP_OK or PP_ERR_NOMEM).
 */
#define PP_QUERY_JOIN_YEARS 6
int pp_query_user_year(const struct pp_post *post);
bool pp_query_has_user(const struct pp_query_state *q, const struct pp_post *post);
enum pp_err pp_query_users_table(const uint64_t per_year[PP_QUERY_JOIN_YEARS],
                                 struct pp_table *table);

/* Computes one query's table; the caller frees it with pp_table_cleanup(). */
enum pp_err pp_query_result(const struct pp_query_state *q, const struct pp_intern *strings,
                            enum pp_query_id id, struct pp_table *table);
void pp_table_cleanup(struct pp_table *table);

/*
 * Checkpoints (pp_snap, docs/checkpoints.md). A state's text ids refer to
 * strings, which the checkpoint saves first and loads first, with the same
 * ids. pp_query_load() fills a state just initialised (pp_query_init).
 * PP_OK or the reader's error (PP_ERR_CORRUPT for inconsistent input), the
 * state then only good for cleanup.
 */
void pp_query_save(const struct pp_query_state *q, struct pp_snap_writer *w);
enum pp_err pp_query_load(struct pp_query_state *q, struct pp_snap_reader *rd);
/* PP_OK when what the results read as indices is in range: every text id
 * q holds (countries, categories, poster and user names) non-zero and below
 * n_ids, the ids of the strings table it was loaded against, every age group and
 * join year one the queries name; else PP_ERR_CORRUPT. What a loader
 * checks before answering from a state it did not build. */
enum pp_err pp_query_check(const struct pp_query_state *q, size_t n_ids);

/* The age group name of an age ("18-24", ...), or NULL when in none. */
const char *pp_query_age_group(bool has_age, int64_t age);

#endif
