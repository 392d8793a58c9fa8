#include "pp_query.h"

#include <stdlib.h>
#include <string.h>

struct pp_query_top {
    uint32_t country;
    uint32_t poster_name;
    int64_t follower_count;
};

/* A slot of users or hist (pp_query.h); tag 0: a free slot. */
struct pp_query_pair {
    uint64_t tag;
    int64_t value;
};

/* hist's tag: the cell in the high byte, the posts below it. */
#define QUERY_CELL_SHIFT 56
#define QUERY_CELL_KEY (~(uint64_t)0 << QUERY_CELL_SHIFT)
/* A cell: age group * QUERY_CELL_GROUP + join year index (1 for 2015, ...;
 * 0: none). */
#define QUERY_CELL_GROUP 8u

/* Year ranges of SPEC 5. */
#define QUERY_POST_YEAR_MIN 2018
#define QUERY_POST_YEAR_MAX 2022
#define QUERY_JOIN_YEAR_MIN 2015
#define QUERY_JOIN_YEAR_MAX 2020
_Static_assert(QUERY_JOIN_YEAR_MAX - QUERY_JOIN_YEAR_MIN + 1 == PP_QUERY_JOIN_YEARS,
               "PP_QUERY_JOIN_YEARS counts the join years of SPEC 5");

static const char *const query_names[PP_QUERY_COUNT] = {
    "category_by_country",
    "category_by_year",
    "top_user_by_country",
    "top_country_by_followers",
    "category_by_age_group",
    "median_followers_by_age_group",
    "users_joined_by_year",
    "median_followers_by_join_year",
    "median_followers_by_age_group_and_join_year",
};

static const char *const cols_category_by_country[] = {"country", "category", "category_count"};
static const char *const cols_category_by_year[] = {"post_year", "category", "category_count"};
static const char *const cols_top_user[] = {"country", "poster_name", "follower_count"};
static const char *const cols_top_country[] = {"country", "follower_count"};
static const char *const cols_category_by_age[] = {"age_group", "category", "category_count"};
static const char *const cols_median_age[] = {"age_group", "median_follower_count"};
static const char *const cols_users_joined[] = {"post_year", "number_users_joined"};
static const char *const cols_median_join[] = {"post_year", "median_follower_count"};
static const char *const cols_median_age_join[] = {"age_group", "post_year",
                                                   "median_follower_count"};

/* Index 0 is "no group". */
static const char *const query_age_groups[] = {NULL, "18-24", "25-35", "36-50", "+50"};

const char *pp_query_name(enum pp_query_id id)
{
    return (unsigned)id < PP_QUERY_COUNT ? query_names[id] : NULL;
}

enum pp_err pp_query_lookup(const char *name, enum pp_query_id *id)
{
    int i;

    for (i = 0; i < PP_QUERY_COUNT; i++) {
        if (strcmp(name, query_names[i]) == 0) {
            *id = (enum pp_query_id)i;
            return PP_OK;
        }
    }
    return PP_ERR_NOTFOUND;
}

static unsigned query_age_group_id(bool has_age, int64_t age)
{
    if (!has_age || age < 18)
        return 0;
    if (age <= 24)
        return 1;
    if (age <= 35)
        return 2;
    if (age <= 50)
        return 3;
    return 4;
}

const char *pp_query_age_group(bool has_age, int64_t age)
{
    return query_age_groups[query_age_group_id(has_age, age)];
}

void pp_query_init(struct pp_query_state *q)
{
    memset(q, 0, sizeof *q);
}

void pp_query_cleanup(struct pp_query_state *q)
{
    if (q == NULL)
        return;
    pp_hmap_cleanup(&q->cat_country);
    pp_hmap_cleanup(&q->cat_year);
    pp_hmap_cleanup(&q->cat_age);
    pp_hmap_cleanup(&q->top_user);
    free(q->users.slots);
    free(q->hist.slots);
    free(q->top);
    memset(q, 0, sizeof *q);
}

static enum pp_err query_inc(struct pp_hmap *map, uint64_t k1, uint64_t k2)
{
    uint64_t *count = pp_hmap_upsert(map, k1, k2, NULL);

    if (count == NULL)
        return PP_ERR_NOMEM;
    (*count)++;
    return PP_OK;
}

/* ---- users and hist: pairs -------------------------------------------------------- */

/*
 * A pair's key is (tag & mask, value): the whole tag for users, the cell
 * for hist (whose tag holds the posts below it).
 */
static size_t query_pair_home(uint64_t tag_key, int64_t value, size_t cap)
{
    return (size_t)pp_hash_u64(tag_key ^ pp_hash_u64((uint64_t)value)) & (cap - 1);
}

/* Doubles the table (64 slots at first); at most 3/4 full, as pp_hmap. */
static enum pp_err query_pairs_grow(struct pp_query_pairs *set, uint64_t mask)
{
    size_t cap = set->cap ? set->cap * 2 : 64;
    struct pp_query_pair *slots = pp_table_alloc(cap * sizeof *slots);
    size_t i, j;

    if (slots == NULL)
        return PP_ERR_NOMEM;
    for (i = 0; i < set->cap; i++) {
        const struct pp_query_pair *u = &set->slots[i];
        if (u->tag == 0)
            continue;
        for (j = query_pair_home(u->tag & mask, u->value, cap); slots[j].tag;
             j = (j + 1) & (cap - 1))
            ;
        slots[j] = *u;
    }
    free(set->slots);
    set->slots = slots;
    set->cap = cap;
    return PP_OK;
}

/* The slot of key (tag_key, value), or the free slot that ends its probe
 * sequence. set->cap > 0. */
static struct pp_query_pair *query_pairs_slot(const struct pp_query_pairs *set, uint64_t mask,
                                              uint64_t tag_key, int64_t value)
{
    size_t i;

    for (i = query_pair_home(tag_key, value, set->cap);; i = (i + 1) & (set->cap - 1)) {
        struct pp_query_pair *u = &set->slots[i];
        if (u->tag == 0 || ((u->tag & mask) == tag_key && u->value == value))
            return u;
    }
}

/* The slot of the key, made when absent (tag 0 then: the caller sets it). */
static struct pp_query_pair *query_pairs_upsert(struct pp_query_pairs *set, uint64_t mask,
                                                uint64_t tag_key, int64_t value)
{
    struct pp_query_pair *u;

    if ((set->count + 1) * 4 > set->cap * 3 && query_pairs_grow(set, mask))
        return NULL;
    u = query_pairs_slot(set, mask, tag_key, value);
    if (u->tag == 0) {
        u->value = value;
        set->count++;
    }
    return u;
}

/* Adds the user when absent. year_name != 0. */
static enum pp_err query_users_add(struct pp_query_pairs *set, uint64_t year_name,
                                   int64_t date_joined)
{
    struct pp_query_pair *u = query_pairs_upsert(set, ~(uint64_t)0, year_name, date_joined);

    if (u == NULL)
        return PP_ERR_NOMEM;
    u->tag = year_name;
    return PP_OK;
}

/* Adds posts posts of follower count value to cell (not 0). The posts
 * saturate below the cell (2^56 - 1, centuries at any rate; a forged
 * checkpoint's counts must not carry into the cell, which results read as
 * an index). */
static enum pp_err query_hist_add(struct pp_query_pairs *hist, uint64_t cell, int64_t value,
                                  uint64_t posts)
{
    const uint64_t max = ~QUERY_CELL_KEY;
    uint64_t key = cell << QUERY_CELL_SHIFT;
    struct pp_query_pair *u = query_pairs_upsert(hist, QUERY_CELL_KEY, key, value);
    uint64_t have;

    if (u == NULL)
        return PP_ERR_NOMEM;
    have = u->tag & max;
    u->tag = key | (posts > max - have ? max : have + posts);
    return PP_OK;
}

/*
 * Keeps, per country, the poster with the highest follower_count (ties:
 * the smaller poster_name in byte order). The order of the offers does not
 * matter, which is what makes two states mergeable.
 */
static enum pp_err query_top_offer(struct pp_query_state *q, const struct pp_query_top *offer,
                                   const struct pp_intern *strings)
{
    bool is_new;
    uint64_t *pos = pp_hmap_upsert(&q->top_user, offer->country, 0, &is_new);
    struct pp_query_top *top;

    if (pos == NULL)
        return PP_ERR_NOMEM;
    if (is_new) {
        struct pp_query_top *top_all =
            pp_array_reserve(q->top, &q->top_cap, q->n_top, sizeof *top_all, 64);
        if (top_all == NULL)
            return PP_ERR_NOMEM;
        q->top = top_all;
        *pos = q->n_top++;
        q->top[*pos] = *offer;
        return PP_OK;
    }
    top = &q->top[*pos];
    if (offer->follower_count > top->follower_count ||
        (offer->follower_count == top->follower_count &&
         pp_str_cmp(pp_intern_str(strings, offer->poster_name),
                    pp_intern_str(strings, top->poster_name)) < 0)) {
        top->poster_name = offer->poster_name;
        top->follower_count = offer->follower_count;
    }
    return PP_OK;
}

static enum pp_err query_top_user(struct pp_query_state *q, const struct pp_post *post,
                                  const struct pp_intern *strings)
{
    struct pp_query_top offer = {post->country, post->poster_name, post->follower_count};

    return query_top_offer(q, &offer, strings);
}

int pp_query_user_year(const struct pp_post *post)
{
    if (post->join_year < QUERY_JOIN_YEAR_MIN || post->join_year > QUERY_JOIN_YEAR_MAX ||
        !post->user_name || !post->has_date_joined)
        return -1;
    return post->join_year - QUERY_JOIN_YEAR_MIN;
}

bool pp_query_has_user(const struct pp_query_state *q, const struct pp_post *post)
{
    if (q->users.cap == 0 || pp_query_user_year(post) < 0)
        return false;
    return query_pairs_slot(&q->users, ~(uint64_t)0,
                            (uint64_t)post->join_year << 32 | post->user_name, post->date_joined)
               ->tag != 0;
}

enum pp_err pp_query_add(struct pp_query_state *q, const struct pp_post *post,
                         const struct pp_intern *strings)
{
    unsigned group = query_age_group_id(post->has_age, post->age);
    int32_t jy = post->join_year >= QUERY_JOIN_YEAR_MIN && post->join_year <= QUERY_JOIN_YEAR_MAX
                     ? post->join_year
                     : 0;
    uint64_t cell = group * QUERY_CELL_GROUP + (jy ? (uint64_t)(jy - QUERY_JOIN_YEAR_MIN + 1) : 0);
    enum pp_err err = PP_OK;

    if (post->category && post->country)
        err = query_inc(&q->cat_country, post->country, post->category);
    if (!err && post->category && post->post_year >= QUERY_POST_YEAR_MIN &&
        post->post_year <= QUERY_POST_YEAR_MAX)
        err = query_inc(&q->cat_year, (uint64_t)post->post_year, post->category);
    if (!err && post->category && group)
        err = query_inc(&q->cat_age, group, post->category);
    if (!err && post->country && post->poster_name && post->has_follower_count)
        err = query_top_user(q, post, strings);
    if (!err && jy && post->user_name && post->has_date_joined)
        err = query_users_add(&q->users, (uint64_t)jy << 32 | post->user_name, post->date_joined);
    if (!err && cell && post->has_follower_count)
        err = query_hist_add(&q->hist, cell, post->follower_count, 1);
    return err;
}

/* ---- merging ------------------------------------------------------------------ */

/*
 * Where a merge takes src's text ids: NULL when src and dst share one
 * string table, else each text id of src is interned into dst's table by
 * its bytes (pp_query_merge_mapped()). Id 0 (null) stays 0.
 */
struct query_xlat {
    struct pp_intern *dst;
    const struct pp_intern *src;
};

static enum pp_err query_xlat_id(const struct query_xlat *x, uint64_t *id)
{
    uint32_t out;
    enum pp_err err;

    if (x == NULL || *id == 0)
        return PP_OK;
    if ((err = pp_intern_id(x->dst, pp_intern_str(x->src, (uint32_t)*id), &out)))
        return err;
    *id = out;
    return PP_OK;
}

/* Which parts of a map's key are text ids. */
#define QUERY_TEXT_K1 1u
#define QUERY_TEXT_K2 2u

/* Adds every (key, count) of src to dst: counters and value histograms
 * add. text: the key parts that x translates. */
static enum pp_err query_merge_map(struct pp_hmap *dst, const struct pp_hmap *src,
                                   const struct query_xlat *x, unsigned text)
{
    size_t i;
    enum pp_err err;

    for (i = 0; i < src->cap; i++) {
        const struct pp_hmap_slot *slot = &src->slots[i];
        uint64_t k1 = slot->k1, k2 = slot->k2, *count;

        if (!slot->is_used)
            continue;
        if (((text & QUERY_TEXT_K1) && (err = query_xlat_id(x, &k1))) ||
            ((text & QUERY_TEXT_K2) && (err = query_xlat_id(x, &k2))))
            return err;
        if ((count = pp_hmap_upsert(dst, k1, k2, NULL)) == NULL)
            return PP_ERR_NOMEM;
        *count += slot->value;
    }
    return PP_OK;
}

/* The user name is the low half of the tag, the join year the high. */
static enum pp_err query_merge_users(struct pp_query_pairs *dst, const struct pp_query_pairs *src,
                                     const struct query_xlat *x)
{
    enum pp_err err = PP_OK;
    size_t i;

    for (i = 0; i < src->cap && !err; i++) {
        const struct pp_query_pair *u = &src->slots[i];
        uint64_t name = u->tag & 0xffffffffu;

        if (u->tag == 0)
            continue;
        if (!(err = query_xlat_id(x, &name)))
            err = query_users_add(dst, (u->tag & ~(uint64_t)0xffffffffu) | name, u->value);
    }
    return err;
}

/* Whether query id is one of the three medians, which read hist. */
static bool query_reads_hist(int id)
{
    return id == PP_QUERY_MEDIAN_FOLLOWERS_BY_AGE_GROUP ||
           id == PP_QUERY_MEDIAN_FOLLOWERS_BY_JOIN_YEAR ||
           id == PP_QUERY_MEDIAN_FOLLOWERS_BY_AGE_GROUP_AND_JOIN_YEAR;
}

/* Whether the median query id reads the cell (every cell for any other
 * id: a whole merge). */
static bool query_cell_is_read(uint64_t cell, int id)
{
    uint64_t group = cell / QUERY_CELL_GROUP, year = cell % QUERY_CELL_GROUP;

    switch (id) {
    case PP_QUERY_MEDIAN_FOLLOWERS_BY_AGE_GROUP: return group != 0;
    case PP_QUERY_MEDIAN_FOLLOWERS_BY_JOIN_YEAR: return year != 0;
    case PP_QUERY_MEDIAN_FOLLOWERS_BY_AGE_GROUP_AND_JOIN_YEAR: return group != 0 && year != 0;
    default: return true;
    }
}

/* Adds the cells of src that query id reads to dst. */
static enum pp_err query_merge_hist(struct pp_query_pairs *dst, const struct pp_query_pairs *src,
                                    int id)
{
    enum pp_err err = PP_OK;
    size_t i;

    for (i = 0; i < src->cap && !err; i++) {
        const struct pp_query_pair *u = &src->slots[i];
        uint64_t cell = u->tag >> QUERY_CELL_SHIFT;

        if (u->tag != 0 && query_cell_is_read(cell, id))
            err = query_hist_add(dst, cell, u->value, u->tag & ~QUERY_CELL_KEY);
    }
    return err;
}

/* strings: dst's, which the tie rule compares names in. */
static enum pp_err query_merge_top(struct pp_query_state *dst, const struct pp_query_state *src,
                                   const struct pp_intern *strings, const struct query_xlat *x)
{
    enum pp_err err = PP_OK;
    size_t i;

    for (i = 0; i < src->n_top && !err; i++) {
        uint64_t country = src->top[i].country, name = src->top[i].poster_name;
        struct pp_query_top offer;

        if ((err = query_xlat_id(x, &country)) || (err = query_xlat_id(x, &name)))
            break;
        offer =
            (struct pp_query_top){(uint32_t)country, (uint32_t)name, src->top[i].follower_count};
        err = query_top_offer(dst, &offer, strings);
    }
    return err;
}

/* pp_query_merge_for() with src's text ids taken through x. */
static enum pp_err query_merge_one(struct pp_query_state *dst, const struct pp_query_state *src,
                                   const struct pp_intern *strings, const struct query_xlat *x,
                                   enum pp_query_id id)
{
    switch (id) {
    case PP_QUERY_CATEGORY_BY_COUNTRY:
        return query_merge_map(&dst->cat_country, &src->cat_country, x,
                               QUERY_TEXT_K1 | QUERY_TEXT_K2);
    case PP_QUERY_CATEGORY_BY_YEAR:
        return query_merge_map(&dst->cat_year, &src->cat_year, x, QUERY_TEXT_K2);
    case PP_QUERY_TOP_USER_BY_COUNTRY:
    case PP_QUERY_TOP_COUNTRY_BY_FOLLOWERS: return query_merge_top(dst, src, strings, x);
    case PP_QUERY_CATEGORY_BY_AGE_GROUP:
        return query_merge_map(&dst->cat_age, &src->cat_age, x, QUERY_TEXT_K2);
    case PP_QUERY_USERS_JOINED_BY_YEAR: return query_merge_users(&dst->users, &src->users, x);
    case PP_QUERY_MEDIAN_FOLLOWERS_BY_AGE_GROUP:
    case PP_QUERY_MEDIAN_FOLLOWERS_BY_JOIN_YEAR:
    case PP_QUERY_MEDIAN_FOLLOWERS_BY_AGE_GROUP_AND_JOIN_YEAR:
        return query_merge_hist(&dst->hist, &src->hist, id);
    }
    return PP_ERR_INVALID;
}

/* Every query (id < 0) or query id. */
static enum pp_err query_merge_ids(struct pp_query_state *dst, const struct pp_query_state *src,
                                   const struct pp_intern *strings, const struct query_xlat *x,
                                   int id)
{
    enum pp_err err = PP_OK;
    int q;

    if (id >= 0)
        return query_merge_one(dst, src, strings, x, (enum pp_query_id)id);
    /* top_country_by_followers reads what top_user_by_country does; the
     * medians read one histogram, merged whole once. */
    for (q = 0; q < PP_QUERY_COUNT && !err; q++)
        if (q != PP_QUERY_TOP_COUNTRY_BY_FOLLOWERS && !query_reads_hist(q))
            err = query_merge_one(dst, src, strings, x, (enum pp_query_id)q);
    return err ? err : query_merge_hist(&dst->hist, &src->hist, -1);
}

enum pp_err pp_query_merge_for(struct pp_query_state *dst, const struct pp_query_state *src,
                               const struct pp_intern *strings, enum pp_query_id id)
{
    return query_merge_one(dst, src, strings, NULL, id);
}

enum pp_err pp_query_merge(struct pp_query_state *dst, const struct pp_query_state *src,
                           const struct pp_intern *strings)
{
    return query_merge_ids(dst, src, strings, NULL, -1);
}

enum pp_err pp_query_merge_mapped(struct pp_query_state *dst, struct pp_intern *dst_strings,
                                  const struct pp_query_state *src,
                                  const struct pp_intern *src_strings, int id)
{
    struct query_xlat x = {dst_strings, src_strings};

    return query_merge_ids(dst, src, dst_strings, dst_strings == src_strings ? NULL : &x, id);
}

/* ---- results -------------------------------------------------------------- */

struct query_entry {
    uint64_t k1;
    uint64_t k2;
    uint64_t count;
};

struct query_sort_ctx {
    size_t n_cols;
    size_t n_keys;
};

/* The map's entries as an array (caller frees), sorted by k1 then by k2 as
 * signed (histogram values). */
static int query_entry_cmp(const void *a, const void *b)
{
    const struct query_entry *x = a;
    const struct query_entry *y = b;

    if (x->k1 != y->k1)
        return x->k1 < y->k1 ? -1 : 1;
    if (x->k2 != y->k2)
        return (int64_t)x->k2 < (int64_t)y->k2 ? -1 : 1;
    return 0;
}

static enum pp_err query_entries(const struct pp_hmap *map, struct query_entry **out, size_t *n)
{
    struct query_entry *e = malloc((map->count ? map->count : 1) * sizeof *e);
    size_t i;
    size_t k = 0;

    if (e == NULL)
        return PP_ERR_NOMEM;
    for (i = 0; i < map->cap; i++) {
        if (map->slots[i].is_used)
            e[k++] = (struct query_entry){map->slots[i].k1, map->slots[i].k2, map->slots[i].value};
    }
    qsort(e, k, sizeof *e, query_entry_cmp);
    *out = e;
    *n = k;
    return PP_OK;
}

static int query_cell_cmp(const struct pp_cell *a, const struct pp_cell *b)
{
    if (a->type == PP_CELL_TEXT)
        return pp_str_cmp(a->text, b->text);
    return (a->i > b->i) - (a->i < b->i);
}

static int query_row_cmp(const void *a, const void *b, void *arg)
{
    const struct query_sort_ctx *ctx = arg;
    const struct pp_cell *x = a;
    const struct pp_cell *y = b;
    size_t c;
    int r;

    for (c = 0; c < ctx->n_keys; c++)
        if ((r = query_cell_cmp(&x[c], &y[c])) != 0)
            return r;
    return 0;
}

static enum pp_err query_table_alloc(struct pp_table *t, enum pp_query_id id,
                                     const char *const *columns, size_t n_cols, size_t rows)
{
    t->id = id;
    t->name = query_names[id];
    t->columns = columns;
    t->n_cols = n_cols;
    t->n_rows = 0;
    t->cells = calloc(rows ? rows * n_cols : 1, sizeof *t->cells);
    return t->cells ? PP_OK : PP_ERR_NOMEM;
}

static struct pp_cell *query_row(struct pp_table *t)
{
    return &t->cells[t->n_rows++ * t->n_cols];
}

static struct pp_cell query_text(struct pp_str s)
{
    struct pp_cell c = {PP_CELL_TEXT, false, 0, s};
    return c;
}

static struct pp_cell query_int(int64_t i)
{
    struct pp_cell c = {PP_CELL_INT, false, i, PP_STR_NULL};
    return c;
}

static struct pp_cell query_group(uint64_t k)
{
    const char *name = query_age_groups[k];
    return query_text(pp_str_make(name, strlen(name)));
}

static void query_sort(struct pp_table *t, size_t n_keys)
{
    struct query_sort_ctx ctx = {t->n_cols, n_keys};

    qsort_r(t->cells, t->n_rows, t->n_cols * sizeof *t->cells, query_row_cmp, &ctx);
}

/* The most popular k2 (a category) per k1: highest count, ties to the
 * smaller name. The key column comes from key_cell(k1). */
static enum pp_err
query_most_popular(const struct pp_hmap *map, const struct pp_intern *strings, struct pp_table *t,
                   enum pp_query_id id, const char *const *columns,
                   struct pp_cell (*key_cell)(const struct pp_intern *, uint64_t))
{
    struct query_entry *e;
    size_t n;
    size_t i;
    size_t j;
    enum pp_err err;

    if ((err = query_entries(map, &e, &n)))
        return err;
    if ((err = query_table_alloc(t, id, columns, 3, n)))
        goto out;
    for (i = 0; i < n; i = j) {
        size_t best = i;
        for (j = i + 1; j < n && e[j].k1 == e[i].k1; j++) {
            if (e[j].count > e[best].count ||
                (e[j].count == e[best].count &&
                 pp_str_cmp(pp_intern_str(strings, (uint32_t)e[j].k2),
                            pp_intern_str(strings, (uint32_t)e[best].k2)) < 0))
                best = j;
        }
        struct pp_cell *row = query_row(t);
        row[0] = key_cell(strings, e[best].k1);
        row[1] = query_text(pp_intern_str(strings, (uint32_t)e[best].k2));
        row[2] = query_int((int64_t)e[best].count);
    }
    query_sort(t, 1);
out:
    free(e);
    return err;
}

static struct pp_cell query_key_country(const struct pp_intern *strings, uint64_t k1)
{
    return query_text(pp_intern_str(strings, (uint32_t)k1));
}

static struct pp_cell query_key_year(const struct pp_intern *strings, uint64_t k1)
{
    (void)strings;
    return query_int((int64_t)k1);
}

static struct pp_cell query_key_group(const struct pp_intern *strings, uint64_t k1)
{
    (void)strings;
    return query_group(k1);
}

/* Exact median of a value histogram run e[0..n) (sorted by value). */
static struct pp_cell query_median(const struct query_entry *e, size_t n)
{
    uint64_t total = 0;
    uint64_t seen = 0;
    uint64_t lo_rank;
    uint64_t hi_rank;
    int64_t lo = 0;
    int64_t hi = 0;
    bool is_lo_set = false;
    struct pp_cell c = {PP_CELL_MEDIAN, false, 0, PP_STR_NULL};
    size_t i;

    for (i = 0; i < n; i++)
        total += e[i].count;
    /* 1-based ranks of the middle value(s). */
    lo_rank = (total + 1) / 2;
    hi_rank = total / 2 + 1;
    for (i = 0; i < n; i++) {
        seen += e[i].count;
        if (!is_lo_set && seen >= lo_rank) {
            lo = (int64_t)e[i].k2;
            is_lo_set = true;
        }
        if (seen >= hi_rank) {
            hi = (int64_t)e[i].k2;
            break;
        }
    }
    /* floor((lo + hi) / 2) without overflow; the value is that + 0.5 when
     * lo + hi is odd. */
    c.is_half = ((lo ^ hi) & 1) != 0;
    c.i = (lo >> 1) + (hi >> 1) + (lo & hi & 1);
    return c;
}

/*
 * The histogram of median query id as entries (k1, follower_count, posts),
 * sorted (caller frees): k1 the age group, the join year, or the age group
 * << 32 | the join year. A value's posts may come in several entries (one
 * per cell of the other dimension), next to each other, which the median's
 * walk over ranks takes as they come.
 */
static enum pp_err query_hist_entries(const struct pp_query_pairs *hist, enum pp_query_id id,
                                      struct query_entry **out, size_t *n)
{
    struct query_entry *e = malloc((hist->count ? hist->count : 1) * sizeof *e);
    size_t i, k = 0;

    if (e == NULL)
        return PP_ERR_NOMEM;
    for (i = 0; i < hist->cap; i++) {
        const struct pp_query_pair *u = &hist->slots[i];
        uint64_t cell = u->tag >> QUERY_CELL_SHIFT, k1;
        uint64_t group = cell / QUERY_CELL_GROUP;
        uint64_t year = cell % QUERY_CELL_GROUP + QUERY_JOIN_YEAR_MIN - 1;

        if (u->tag == 0 || !query_cell_is_read(cell, id))
            continue;
        k1 = id == PP_QUERY_MEDIAN_FOLLOWERS_BY_AGE_GROUP   ? group
             : id == PP_QUERY_MEDIAN_FOLLOWERS_BY_JOIN_YEAR ? year
                                                            : group << 32 | year;
        e[k++] = (struct query_entry){k1, (uint64_t)u->value, u->tag & ~QUERY_CELL_KEY};
    }
    qsort(e, k, sizeof *e, query_entry_cmp);
    *out = e;
    *n = k;
    return PP_OK;
}

/* Medians per k1 of query id's histogram; add_keys writes the key columns
 * of a row. */
static enum pp_err query_medians(const struct pp_query_pairs *hist, struct pp_table *t,
                                 enum pp_query_id id, const char *const *columns, size_t n_cols,
                                 void (*add_keys)(struct pp_cell *row, uint64_t k1))
{
    struct query_entry *e;
    size_t n;
    size_t i;
    size_t j;
    enum pp_err err;

    if ((err = query_hist_entries(hist, id, &e, &n)))
        return err;
    if ((err = query_table_alloc(t, id, columns, n_cols, n)))
        goto out;
    for (i = 0; i < n; i = j) {
        for (j = i + 1; j < n && e[j].k1 == e[i].k1; j++)
            ;
        struct pp_cell *row = query_row(t);
        add_keys(row, e[i].k1);
        row[n_cols - 1] = query_median(&e[i], j - i);
    }
    query_sort(t, n_cols - 1);
out:
    free(e);
    return err;
}

static void query_keys_group(struct pp_cell *row, uint64_t k1)
{
    row[0] = query_group(k1);
}

static void query_keys_year(struct pp_cell *row, uint64_t k1)
{
    row[0] = query_int((int64_t)k1);
}

static void query_keys_group_year(struct pp_cell *row, uint64_t k1)
{
    row[0] = query_group(k1 >> 32);
    row[1] = query_int((int64_t)(k1 & 0xffffffffu));
}

static enum pp_err query_top_users(const struct pp_query_state *q, const struct pp_intern *strings,
                                   struct pp_table *t)
{
    enum pp_err err =
        query_table_alloc(t, PP_QUERY_TOP_USER_BY_COUNTRY, cols_top_user, 3, q->n_top);
    size_t i;

    if (err)
        return err;
    for (i = 0; i < q->n_top; i++) {
        struct pp_cell *row = query_row(t);
        row[0] = query_text(pp_intern_str(strings, q->top[i].country));
        row[1] = query_text(pp_intern_str(strings, q->top[i].poster_name));
        row[2] = query_int(q->top[i].follower_count);
    }
    query_sort(t, 1);
    return PP_OK;
}

static enum pp_err query_top_country(const struct pp_query_state *q,
                                     const struct pp_intern *strings, struct pp_table *t)
{
    enum pp_err err =
        query_table_alloc(t, PP_QUERY_TOP_COUNTRY_BY_FOLLOWERS, cols_top_country, 2, 1);
    const struct pp_query_top *best = NULL;
    size_t i;

    if (err)
        return err;
    for (i = 0; i < q->n_top; i++) {
        const struct pp_query_top *top = &q->top[i];
        if (best == NULL || top->follower_count > best->follower_count ||
            (top->follower_count == best->follower_count &&
             pp_str_cmp(pp_intern_str(strings, top->country),
                        pp_intern_str(strings, best->country)) < 0))
            best = top;
    }
    if (best != NULL) {
        struct pp_cell *row = query_row(t);
        row[0] = query_text(pp_intern_str(strings, best->country));
        row[1] = query_int(best->follower_count);
    }
    return PP_OK;
}

enum pp_err pp_query_users_table(const uint64_t per_year[PP_QUERY_JOIN_YEARS],
                                 struct pp_table *table)
{
    enum pp_err err;
    int y;

    memset(table, 0, sizeof *table);
    if ((err = query_table_alloc(table, PP_QUERY_USERS_JOINED_BY_YEAR, cols_users_joined, 2,
                                 PP_QUERY_JOIN_YEARS)))
        return err;
    for (y = 0; y < PP_QUERY_JOIN_YEARS; y++) {
        if (per_year[y] == 0)
            continue;
        struct pp_cell *row = query_row(table);
        row[0] = query_int(QUERY_JOIN_YEAR_MIN + y);
        row[1] = query_int((int64_t)per_year[y]);
    }
    return PP_OK;
}

static enum pp_err query_users_joined(const struct pp_query_state *q, struct pp_table *t)
{
    uint64_t per_year[PP_QUERY_JOIN_YEARS] = {0};
    size_t i;

    /* One pass over the distinct (year, user) set: counting needs no sort.
     * pp_query_add keeps only join years in range. */
    for (i = 0; i < q->users.cap; i++)
        if (q->users.slots[i].tag != 0)
            per_year[(q->users.slots[i].tag >> 32) - QUERY_JOIN_YEAR_MIN]++;
    return pp_query_users_table(per_year, t);
}

enum pp_err pp_query_result(const struct pp_query_state *q, const struct pp_intern *strings,
                            enum pp_query_id id, struct pp_table *table)
{
    memset(table, 0, sizeof *table);
    switch (id) {
    case PP_QUERY_CATEGORY_BY_COUNTRY:
        return query_most_popular(&q->cat_country, strings, table, id, cols_category_by_country,
                                  query_key_country);
    case PP_QUERY_CATEGORY_BY_YEAR:
        return query_most_popular(&q->cat_year, strings, table, id, cols_category_by_year,
                                  query_key_year);
    case PP_QUERY_TOP_USER_BY_COUNTRY: return query_top_users(q, strings, table);
    case PP_QUERY_TOP_COUNTRY_BY_FOLLOWERS: return query_top_country(q, strings, table);
    case PP_QUERY_CATEGORY_BY_AGE_GROUP:
        return query_most_popular(&q->cat_age, strings, table, id, cols_category_by_age,
                                  query_key_group);
    case PP_QUERY_MEDIAN_FOLLOWERS_BY_AGE_GROUP:
        return query_medians(&q->hist, table, id, cols_median_age, 2, query_keys_group);
    case PP_QUERY_USERS_JOINED_BY_YEAR: return query_users_joined(q, table);
    case PP_QUERY_MEDIAN_FOLLOWERS_BY_JOIN_YEAR:
        return query_medians(&q->hist, table, id, cols_median_join, 2, query_keys_year);
    case PP_QUERY_MEDIAN_FOLLOWERS_BY_AGE_GROUP_AND_JOIN_YEAR:
        return query_medians(&q->hist, table, id, cols_median_age_join, 3, query_keys_group_year);
    }
    return PP_ERR_INVALID;
}

void pp_table_cleanup(struct pp_table *table)
{
    if (table == NULL)
        return;
    free(table->cells);
    table->cells = NULL;
    table->n_rows = 0;
}

/* ---- checkpoints -------------------------------------------------------------- */

static void query_pairs_save(const struct pp_query_pairs *set, struct pp_snap_writer *w)
{
    pp_snap_put_u64(w, set->count);
    pp_snap_put_slots(w, set->slots, set->cap, sizeof *set->slots);
}

/* A table's slots, the count of those in use checked: a probe must end at
 * a free slot. */
static void query_pairs_load(struct pp_query_pairs *set, struct pp_snap_reader *rd)
{
    size_t used = 0, i;

    set->count = (size_t)pp_snap_get_u64(rd);
    set->slots = pp_snap_get_slots(rd, &set->cap, sizeof *set->slots);
    for (i = 0; i < set->cap; i++)
        used += set->slots[i].tag != 0;
    if (used != set->count || (set->cap > 0 && used >= set->cap))
        pp_snap_fail(rd, PP_ERR_CORRUPT);
}

void pp_query_save(const struct pp_query_state *q, struct pp_snap_writer *w)
{
    pp_hmap_save(&q->cat_country, w);
    pp_hmap_save(&q->cat_year, w);
    pp_hmap_save(&q->cat_age, w);
    pp_hmap_save(&q->top_user, w);
    query_pairs_save(&q->users, w);
    query_pairs_save(&q->hist, w);
    pp_snap_put_u64(w, q->n_top);
    pp_snap_put(w, q->top, q->n_top * sizeof *q->top);
}

/* A text id a state can hold: never 0 (null texts are not counted), and
 * one of the strings it was loaded against. */
static bool query_id_is_valid(uint64_t id, size_t n_ids)
{
    return id != 0 && id < n_ids;
}

/* k1 is an age group (0: none) of the results, with QUERY_TEXT_K1 and
 * QUERY_TEXT_K2 what a map's key holds. */
#define QUERY_GROUP_K1 4u
#define QUERY_N_GROUPS (sizeof query_age_groups / sizeof query_age_groups[0])

/* Whether the keys of map's entries are what kinds says: valid text ids,
 * age groups the results can name. */
static bool query_map_keys_valid(const struct pp_hmap *map, unsigned kinds, size_t n_ids)
{
    for (size_t i = 0; i < map->cap; i++) {
        const struct pp_hmap_slot *slot = &map->slots[i];
        if (!slot->is_used)
            continue;
        if (((kinds & QUERY_TEXT_K1) && !query_id_is_valid(slot->k1, n_ids)) ||
            ((kinds & QUERY_TEXT_K2) && !query_id_is_valid(slot->k2, n_ids)) ||
            ((kinds & QUERY_GROUP_K1) && (slot->k1 == 0 || slot->k1 >= QUERY_N_GROUPS)))
            return false;
    }
    return true;
}

enum pp_err pp_query_check(const struct pp_query_state *q, size_t n_ids)
{
    size_t i;

    if (!query_map_keys_valid(&q->cat_country, QUERY_TEXT_K1 | QUERY_TEXT_K2, n_ids) ||
        !query_map_keys_valid(&q->cat_year, QUERY_TEXT_K2, n_ids) ||
        !query_map_keys_valid(&q->cat_age, QUERY_GROUP_K1 | QUERY_TEXT_K2, n_ids) ||
        !query_map_keys_valid(&q->top_user, QUERY_TEXT_K1, n_ids))
        return PP_ERR_CORRUPT;
    for (i = 0; i < q->n_top; i++)
        if (!query_id_is_valid(q->top[i].country, n_ids) ||
            !query_id_is_valid(q->top[i].poster_name, n_ids))
            return PP_ERR_CORRUPT;
    for (i = 0; i < q->users.cap; i++) {
        uint64_t year_name = q->users.slots[i].tag;
        if (year_name != 0 &&
            (!query_id_is_valid(year_name & 0xffffffffu, n_ids) ||
             (year_name >> 32) < QUERY_JOIN_YEAR_MIN || (year_name >> 32) > QUERY_JOIN_YEAR_MAX))
            return PP_ERR_CORRUPT;
    }
    /* A cell of an age group and a join year the queries name, not both
     * none, and at least one post. */
    for (i = 0; i < q->hist.cap; i++) {
        uint64_t tag = q->hist.slots[i].tag, cell = tag >> QUERY_CELL_SHIFT;
        if (tag != 0 &&
            (cell == 0 || cell / QUERY_CELL_GROUP >= QUERY_N_GROUPS ||
             cell % QUERY_CELL_GROUP > PP_QUERY_JOIN_YEARS || (tag & ~QUERY_CELL_KEY) == 0))
            return PP_ERR_CORRUPT;
    }
    return PP_OK;
}

enum pp_err pp_query_load(struct pp_query_state *q, struct pp_snap_reader *rd)
{
    size_t i;

    pp_hmap_load(&q->cat_country, rd);
    pp_hmap_load(&q->cat_year, rd);
    pp_hmap_load(&q->cat_age, rd);
    pp_hmap_load(&q->top_user, rd);
    query_pairs_load(&q->users, rd);
    query_pairs_load(&q->hist, rd);
    q->n_top = pp_snap_get_count(rd, sizeof *q->top);
    if (rd->err == PP_OK && q->n_top > 0) {
        q->top = malloc(q->n_top * sizeof *q->top);
        if (q->top == NULL)
            pp_snap_fail(rd, PP_ERR_NOMEM);
        else
            q->top_cap = q->n_top;
    }
    if (q->top != NULL)
        pp_snap_get(rd, q->top, q->n_top * sizeof *q->top);
    /* top_user maps each country to an index into top[]. */
    for (i = 0; rd->err == PP_OK && i < q->top_user.cap; i++)
        if (q->top_user.slots[i].is_used && q->top_user.slots[i].value >= q->n_top)
            pp_snap_fail(rd, PP_ERR_CORRUPT);
    if (rd->err == PP_OK && q->top_user.count != q->n_top)
        pp_snap_fail(rd, PP_ERR_CORRUPT);
    return rd->err;
}
