#include "pp_post.h"

#include <stdlib.h>
#include <string.h>

#include "pp_time.h"

void pp_post_table_init(struct pp_post_table *table)
{
    memset(table, 0, sizeof *table);
    pp_hmap_init(&table->index);
    pp_intern_init(&table->strings);
}

void pp_post_table_cleanup(struct pp_post_table *table)
{
    if (table == NULL)
        return;
    pp_hmap_cleanup(&table->index);
    pp_intern_cleanup(&table->strings);
    free(table->posts);
    table->posts = NULL;
    table->n_posts = table->cap = 0;
}

static enum pp_err post_slot(struct pp_post_table *table, int64_t ind, struct pp_post **post)
{
    bool is_new;
    uint64_t *pos = pp_hmap_upsert(&table->index, (uint64_t)ind, 0, &is_new);

    if (pos == NULL)
        return PP_ERR_NOMEM;
    if (!is_new) {
        *post = &table->posts[*pos];
        return PP_OK;
    }
    if (table->n_posts == table->cap) {
        size_t cap = table->cap ? table->cap * 2 : 1024;
        struct pp_post *posts = realloc(table->posts, cap * sizeof *posts);
        if (posts == NULL)
            return PP_ERR_NOMEM;
        table->posts = posts;
        table->cap = cap;
    }
    *pos = table->n_posts;
    *post = &table->posts[table->n_posts++];
    memset(*post, 0, sizeof **post);
    (*post)->ind = ind;
    return PP_OK;
}

enum pp_err pp_post_table_add(struct pp_post_table *table, const struct pp_clean_item *item)
{
    const struct pp_clean_record *rec = &item->rec;
    struct pp_intern *strings = &table->strings;
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
    if (post->parts & bit) {
        table->counts.duplicates[item->topic]++;
        return PP_OK;
    }
    post->parts |= (uint8_t)bit;
    switch (rec->topic) {
    case PP_TOPIC_PIN:
        post->has_follower_count = rec->u.pin.has_follower_count;
        post->follower_count = rec->u.pin.follower_count;
        if ((err = pp_intern_id(strings, rec->u.pin.category, &post->category)))
            return err;
        return pp_intern_id(strings, rec->u.pin.poster_name, &post->poster_name);
    case PP_TOPIC_GEO:
        post->post_year = rec->u.geo.has_timestamp ? pp_time_year(rec->u.geo.timestamp) : 0;
        return pp_intern_id(strings, rec->u.geo.country, &post->country);
    case PP_TOPIC_USER:
        post->has_age = rec->u.user.has_age;
        post->age = rec->u.user.age;
        post->has_date_joined = rec->u.user.has_date_joined;
        post->date_joined = rec->u.user.date_joined;
        post->join_year =
            rec->u.user.has_date_joined ? pp_time_year(rec->u.user.date_joined) : 0;
        return pp_intern_id(strings, rec->u.user.user_name, &post->user_name);
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
    for (i = 0; i < table->n_posts; i++) {
        unsigned parts = table->posts[i].parts;
        if (parts == PP_POST_ALL_PARTS) {
            (*posts)++;
            continue;
        }
        for (t = 0; t < PP_TOPIC_COUNT; t++)
            orphans[t] += (parts >> t) & 1u;
    }
}
