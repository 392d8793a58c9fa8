/*
 * fuzz_windows: loading the window state of a checkpoint that is not what
 * was written (pp_intern_load, then pp_window_set_load: every window and
 * pane, frozen closed windows included). A reference state is made once:
 * generated posts through windows of every kind (tumbling, hopping with
 * panes and user links, hopping whose windows are their own panes), so
 * that windows open, close, freeze and are freed, and its encoding kept.
 * Each input edits a copy of that encoding:
 *
 *   byte 0          below 32: the copy is cut to len * byte / 32 first
 *   then 5 bytes    a 32-bit little-endian position (modulo the length)
 *   at a time       and the byte to put there
 *
 * Whatever the load says, nothing may crash or leak; a state it accepts
 * must answer every query over every window (as one set, and as a shard
 * into a reader's own strings, as pp_run answers), take another post and
 * be saved again.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_edit.h"
#include "pp_log.h"
#include "pp_snap.h"
#include "pp_window.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_SEC 1000
#define FUZZ_POSTS 300

static const struct pp_config_window fuzz_specs[] = {
    {PP_CONFIG_WINDOW_TUMBLING, 7 * FUZZ_SEC, 7 * FUZZ_SEC},
    {PP_CONFIG_WINDOW_HOPPING, 20 * FUZZ_SEC, 5 * FUZZ_SEC},
    {PP_CONFIG_WINDOW_HOPPING, 10 * FUZZ_SEC, 10 * FUZZ_SEC},
};
#define FUZZ_N_SPECS (sizeof fuzz_specs / sizeof fuzz_specs[0])
#define FUZZ_LATENESS (2 * FUZZ_SEC)
#define FUZZ_RETENTION (60 * FUZZ_SEC)

static struct pp_buf fuzz_ref; /* the reference encoding: strings, then windows */

static uint32_t fuzz_intern(struct pp_intern *strings, const char *s)
{
    uint32_t id = 0;

    if (pp_intern_id(strings, pp_str_make(s, strlen(s)), &id) != PP_OK)
        abort();
    return id;
}

/* Post number i: a few countries, categories and names, some fields
 * missing, times mostly increasing with some late ones. */
static void fuzz_post(struct pp_intern *strings, uint64_t i, struct pp_post *p, int64_t *t)
{
    static const char *const names[] = {"ann", "bob", "cy", "dee", "eve", "fay", "gus"};
    static const char *const cats[] = {"art", "diy", "travel", "quotes"};
    static const char *const countries[] = {"Chad", "Peru", "Fiji"};
    uint64_t x = (i + 1) * 0x9E3779B97F4A7C15ULL;

    x ^= x >> 29;
    memset(p, 0, sizeof *p);
    p->ind = (int64_t)i;
    p->parts = PP_POST_ALL_PARTS;
    p->category = x % 9 ? fuzz_intern(strings, cats[x % 4]) : 0;
    p->country = fuzz_intern(strings, countries[(x >> 8) % 3]);
    p->poster_name = fuzz_intern(strings, names[(x >> 12) % 7]);
    p->user_name = fuzz_intern(strings, names[(x >> 16) % 7]);
    p->has_follower_count = x % 5 != 0;
    p->follower_count = (int64_t)((x >> 20) % 1000);
    p->post_year = 2018 + (int32_t)((x >> 30) % 5);
    p->join_year = 2015 + (int32_t)((x >> 34) % 6);
    p->has_age = x % 7 != 0;
    p->age = 16 + (int64_t)((x >> 38) % 60);
    p->has_date_joined = true;
    p->date_joined = 1420070400 + (int64_t)((x >> 40) % 1000) * 86400;
    *t = (int64_t)i * 400 - ((x >> 50) % 11 == 0 ? 5 * FUZZ_SEC : 0);
}

static void fuzz_make_reference(void)
{
    struct pp_intern strings;
    struct pp_window_set *set;
    struct pp_snap_writer w;

    pp_intern_init(&strings);
    set = pp_window_set_new(fuzz_specs, FUZZ_N_SPECS, FUZZ_LATENESS, FUZZ_RETENTION);
    if (set == NULL)
        abort();
    for (uint64_t i = 0; i < FUZZ_POSTS; i++) {
        struct pp_post p;
        int64_t t;
        fuzz_post(&strings, i, &p, &t);
        if (pp_window_set_add(set, &p, &strings, t) != PP_OK)
            abort();
    }
    pp_buf_init(&fuzz_ref);
    pp_snap_writer_init(&w, &fuzz_ref);
    pp_intern_save(&strings, &w);
    pp_window_set_save(set, &w);
    if (pp_snap_writer_finish(&w) != PP_OK)
        abort();
    pp_window_set_destroy(set);
    pp_intern_cleanup(&strings);
}

/* What a reader and the loop do with a loaded state. */
static void fuzz_use(struct pp_window_set *set, struct pp_intern *strings)
{
    const struct pp_window_shard shard = {set, strings};
    struct pp_intern reader; /* a reader's own table, empty: as pp_run answers */
    struct pp_snap_writer w;
    struct pp_buf again;
    struct pp_post p;
    int64_t t;

    for (size_t s = 0; s < pp_window_set_spec_count(set); s++) {
        for (size_t i = 0; i < pp_window_set_count(set, s); i++) {
            struct pp_query_state merged;
            struct pp_window_info info;
            pp_window_set_info(set, s, i, &info);
            for (int id = 0; id < PP_QUERY_COUNT; id++) {
                struct pp_table table;
                if (pp_window_set_result(set, s, i, strings, (enum pp_query_id)id, &table) == PP_OK)
                    pp_table_cleanup(&table);
                pp_intern_init(&reader);
                if (pp_window_shards_result(&shard, 1, s, info.start_ms, (enum pp_query_id)id,
                                            &reader, &table) == PP_OK)
                    pp_table_cleanup(&table);
                pp_intern_cleanup(&reader);
            }
            pp_intern_init(&reader);
            pp_query_init(&merged);
            if (pp_window_shards_merge(&shard, 1, s, info.start_ms, &reader, &merged) == PP_OK) {
                for (int id = 0; id < PP_QUERY_COUNT; id++) {
                    struct pp_table table;
                    if (pp_query_result(&merged, &reader, (enum pp_query_id)id, &table) == PP_OK)
                        pp_table_cleanup(&table);
                }
            }
            pp_query_cleanup(&merged);
            pp_intern_cleanup(&reader);
        }
    }
    /* A loaded clock may be anywhere in int64. */
    t = pp_window_set_max_time(set) < 0 ? 0 : pp_window_set_max_time(set);
    if (t < INT64_MAX - 60 * FUZZ_SEC) {
        int64_t now = t;
        fuzz_post(strings, FUZZ_POSTS, &p, &t);
        (void)pp_window_set_add(set, &p, strings, now + 1);
        /* and the same user out of order, within the lateness: the panes
         * after it move the user's distance (window_users_link()) */
        if (now + 1 >= FUZZ_LATENESS / 2)
            (void)pp_window_set_add(set, &p, strings, now + 1 - FUZZ_LATENESS / 2);
        (void)pp_window_set_advance(set, now + 30 * FUZZ_SEC);
    }
    pp_buf_init(&again);
    pp_snap_writer_init(&w, &again);
    pp_window_set_save(set, &w);
    (void)pp_snap_writer_finish(&w);
    pp_buf_cleanup(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pp_snap_reader rd;
    struct pp_window_set *set;
    struct pp_intern strings;
    char *copy;
    size_t len;

    if (fuzz_ref.data == NULL) {
        pp_log_set_level(PP_LOG_ERROR);
        fuzz_make_reference();
    }
    if ((copy = fuzz_edit(&fuzz_ref, data, size, &len)) == NULL)
        return 0;
    pp_intern_init(&strings);
    set = pp_window_set_new(fuzz_specs, FUZZ_N_SPECS, FUZZ_LATENESS, FUZZ_RETENTION);
    if (set != NULL) {
        pp_snap_reader_init(&rd, copy, len);
        if (pp_intern_load(&strings, &rd) == PP_OK &&
            pp_window_set_load(set, &strings, &rd) == PP_OK)
            fuzz_use(set, &strings);
    }
    pp_window_set_destroy(set);
    pp_intern_cleanup(&strings);
    free(copy);
    return 0;
}
