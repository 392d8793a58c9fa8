#include "pp_post.h"

#include <stdlib.h>
#include <string.h>

#include "pp_time.h"

void pp_post_table_init(struct pp_post_table *table)
{
    memset(table, 0, sizeof *table);
    pp_intern_init(&table->strings);
}

void pp_post_table_cleanup(struct pp_post_table *table)
{
    if (table == NULL)
        return;
    pp_intern_cleanup(&table->strings);
    free(table->posts);
    table->posts = NULL;
    table->n_posts = table->cap = 0;
}

static inline size_t post_home(int64_t ind, size_t cap)
{
    return (size_t)pp_hash_u64((uint64_t)ind) & (cap - 1);
}

static enum pp_err post_grow(struct pp_post_table *table)
{
    size_t cap = table->cap ? table->cap * 2 : 1024;
    struct pp_post *posts = pp_table_alloc(cap * sizeof *posts);
    size_t i;
    size_t j;

    if (posts == NULL)
        return PP_ERR_NOMEM;
    for (i = 0; i < table->cap; i++) {
        if (!table->posts[i].parts)
            continue;
        for (j = post_home(table->posts[i].ind, cap); posts[j].parts; j = (j + 1) & (cap - 1))
            ;
        posts[j] = table->posts[i];
    }
    free(table->posts);
    table->posts = posts;
    table->cap = cap;
    return PP_OK;
}

void pp_post_table_prefetch(const struct pp_post_table *table, const struct pp_clean_item *item)
{
    if (table->cap && item->reject == PP_REJECT_NONE)
        __builtin_prefetch(&table->posts[post_home(item->rec.ind, table->cap)], 1);
}

/* The slot of ind: the post, or a free slot (parts == 0) to claim. */
static enum pp_err post_slot(struct pp_post_table *table, int64_t ind, struct pp_post **post)
{
    enum pp_err err;
    size_t i;

    /* Load factor at most 3/4: linear probes stay short, and a slot is a
     * cache line, so a probe sequence rarely leaves it. */
    if ((table->n_posts + 1) * 4 > table->cap * 3 && (err = post_grow(table)))
        return err;
    for (i = post_home(ind, table->cap);; i = (i + 1) & (table->cap - 1)) {
        struct pp_post *p = &table->posts[i];
        if (p->parts == 0 || p->ind == ind) {
            *post = p;
            return PP_OK;
        }
    }
}

enum pp_err pp_post_table_add(struct pp_post_table *table, const struct pp_clean_item *item)
{
    const struct pp_clean_record *rec = &item->rec;
    struct pp_post *post;
    enum pp_err err;
    unsigned bit = 1u << item->topic;

    table->counts.records[item->topic]++;
    if (item->reject != PP_REJECT_NONE) {
        table->counts.rejected[item->topic][item->reject]++;
        return PP_OK;
    }
    if ((err = post_slot(table, rec->ind, &post)))
        return err;
    if (post->parts == 0) {
        table->n_posts++;
        post->ind = rec->ind;
    }
    if (post->parts & bit) {
        table->counts.duplicates[item->topic]++;
        return PP_OK;
    }
    post->parts |= (uint8_t)bit;
    return pp_post_fill(post, item, &table->strings);
}

enum pp_err pp_post_fill(struct pp_post *post, const struct pp_clean_item *item,
                         struct pp_intern *strings)
{
    const struct pp_clean_record *rec = &item->rec;
    enum pp_err err;

    switch (item->topic) {
    case PP_TOPIC_PIN:
        post->has_follower_count = rec->u.pin.has_follower_count;
        post->follower_count = rec->u.pin.follower_count;
        if ((err = pp_intern_id_hashed(strings, rec->u.pin.category, item->text_hash[0],
                                       &post->category)))
            return err;
        return pp_intern_id_hashed(strings, rec->u.pin.poster_name, item->text_hash[1],
                                   &post->poster_name);
    case PP_TOPIC_GEO:
        post->post_year = rec->u.geo.has_timestamp ? pp_time_year(rec->u.geo.timestamp) : 0;
        return pp_intern_id_hashed(strings, rec->u.geo.country, item->text_hash[0], &post->country);
    case PP_TOPIC_USER:
        post->has_age = rec->u.user.has_age;
        post->age = rec->u.user.age;
        post->has_date_joined = rec->u.user.has_date_joined;
        post->date_joined = rec->u.user.date_joined;
        post->join_year = rec->u.user.has_date_joined ? pp_time_year(rec->u.user.date_joined) : 0;
        return pp_intern_id_hashed(strings, rec->u.user.user_name, item->text_hash[0],
                                   &post->user_name);
    }
    return PP_OK;
}

void pp_post_table_join_counts(const struct pp_post_table *table, uint64_t *posts,
                               uint64_t orphans[PP_TOPIC_COUNT])
{
    size_t i;
    int t;

    *posts = 0;
    memset(orphans, 0, PP_TOPIC_COUNT * sizeof *orphans);
    for (i = 0; i < table->cap; i++) {
        unsigned parts = table->posts[i].parts;
        if (parts == 0)
            continue;
        if (parts == PP_POST_ALL_PARTS) {
            (*posts)++;
            continue;
        }
        for (t = 0; t < PP_TOPIC_COUNT; t++)
            orphans[t] += (parts >> t) & 1u;
    }
}
