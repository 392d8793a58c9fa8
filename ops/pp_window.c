#include "pp_window.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pp_window {
    int64_t start_ms;
    int64_t end_ms;
    uint64_t posts;
    struct pp_query_state q;
};

/*
 * The windows of one spec, sorted by start. Every window of a spec has the
 * same size, so end order is start order: windows close and are freed from
 * the front, and new ones are almost always appended at the back. A post
 * within the allowed lateness may still open a window before the newest
 * one; it is inserted in place (binary search, then a memmove of pointers,
 * cheap at the few hundred windows retention keeps).
 */
struct window_spec {
    struct pp_config_window spec;
    struct pp_window **windows; /* n, sorted by start_ms */
    size_t n;
    size_t cap;
};

struct pp_window_set {
    struct window_spec *specs; /* n_specs; specs[0] is `all` */
    size_t n_specs;
    int64_t lateness_ms;
    int64_t retention_ms;
    int64_t max_time_ms; /* INT64_MIN before the first on-time post */
    int64_t watermark_ms;
    uint64_t late_posts;
};

static int64_t window_sat_add(int64_t a, int64_t b)
{
    assert(b >= 0);
    return a > INT64_MAX - b ? INT64_MAX : a + b;
}

static bool window_spec_is_valid(const struct pp_config_window *w)
{
    switch (w->kind) {
    case PP_CONFIG_WINDOW_ALL: return true;
    case PP_CONFIG_WINDOW_TUMBLING: return w->size_ms > 0 && w->slide_ms == w->size_ms;
    case PP_CONFIG_WINDOW_HOPPING:
        return w->size_ms > 0 && w->slide_ms > 0 && w->slide_ms <= w->size_ms &&
               w->size_ms % w->slide_ms == 0;
    }
    return false;
}

static bool window_spec_eq(const struct pp_config_window *a, const struct pp_config_window *b)
{
    if (a->kind != b->kind)
        return false;
    return a->kind == PP_CONFIG_WINDOW_ALL ||
           (a->size_ms == b->size_ms && a->slide_ms == b->slide_ms);
}

static struct pp_window *window_new(int64_t start_ms, int64_t end_ms)
{
    struct pp_window *w = malloc(sizeof *w);

    if (w == NULL)
        return NULL;
    w->start_ms = start_ms;
    w->end_ms = end_ms;
    w->posts = 0;
    pp_query_init(&w->q);
    return w;
}

static void window_destroy(struct pp_window *w)
{
    if (w == NULL)
        return;
    pp_query_cleanup(&w->q);
    free(w);
}

struct pp_window_set *pp_window_set_new(const struct pp_config_window *specs, size_t n,
                                        int64_t allowed_lateness_ms, int64_t retention_ms)
{
    struct pp_window_set *set;
    size_t i, j;

    assert(allowed_lateness_ms >= 0 && retention_ms >= 0);
    assert(specs != NULL || n == 0);
    set = calloc(1, sizeof *set);
    if (set == NULL)
        return NULL;
    set->specs = calloc(n + 1, sizeof *set->specs);
    if (set->specs == NULL)
        goto fail;
    set->lateness_ms = allowed_lateness_ms;
    set->retention_ms = retention_ms;
    set->max_time_ms = INT64_MIN;
    set->watermark_ms = INT64_MIN;

    set->specs[0].spec = (struct pp_config_window){PP_CONFIG_WINDOW_ALL, 0, 0};
    set->n_specs = 1;
    for (i = 0; i < n; i++) {
        assert(window_spec_is_valid(&specs[i]));
        for (j = 0; j < set->n_specs; j++)
            if (window_spec_eq(&set->specs[j].spec, &specs[i]))
                break;
        if (j == set->n_specs)
            set->specs[set->n_specs++].spec = specs[i];
    }

    /* `all` has its one window from the start, so it is listed even before
     * the first post, like an empty batch result. */
    set->specs[0].windows = malloc(sizeof *set->specs[0].windows);
    if (set->specs[0].windows == NULL)
        goto fail;
    set->specs[0].cap = 1;
    set->specs[0].windows[0] = window_new(INT64_MIN, INT64_MAX);
    if (set->specs[0].windows[0] == NULL)
        goto fail;
    set->specs[0].n = 1;
    return set;
fail:
    pp_window_set_destroy(set);
    return NULL;
}

void pp_window_set_destroy(struct pp_window_set *set)
{
    size_t s, i;

    if (set == NULL)
        return;
    for (s = 0; set->specs != NULL && s < set->n_specs; s++) {
        for (i = 0; i < set->specs[s].n; i++)
            window_destroy(set->specs[s].windows[i]);
        free(set->specs[s].windows);
    }
    free(set->specs);
    free(set);
}

/* The index of the first window whose start is >= start_ms. */
static size_t window_lower_bound(const struct window_spec *ws, int64_t start_ms)
{
    size_t lo = 0, hi = ws->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ws->windows[mid]->start_ms < start_ms)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The window of ws starting at start_ms, created in place when absent. */
static struct pp_window *window_get(struct window_spec *ws, int64_t start_ms)
{
    size_t pos;
    struct pp_window **grown;
    struct pp_window *w;

    /* The common case: the newest window, or one after it. */
    if (ws->n > 0 && ws->windows[ws->n - 1]->start_ms == start_ms)
        return ws->windows[ws->n - 1];
    pos = ws->n > 0 && ws->windows[ws->n - 1]->start_ms < start_ms
              ? ws->n
              : window_lower_bound(ws, start_ms);
    if (pos < ws->n && ws->windows[pos]->start_ms == start_ms)
        return ws->windows[pos];

    grown = pp_array_reserve(ws->windows, &ws->cap, ws->n, sizeof *ws->windows, 16);
    if (grown == NULL)
        return NULL;
    ws->windows = grown;
    w = window_new(start_ms, window_sat_add(start_ms, ws->spec.size_ms));
    if (w == NULL)
        return NULL;
    memmove(&ws->windows[pos + 1], &ws->windows[pos], (ws->n - pos) * sizeof *ws->windows);
    ws->windows[pos] = w;
    ws->n++;
    return w;
}

static enum pp_err window_fold(struct pp_window *w, const struct pp_post *post,
                               const struct pp_intern *strings)
{
    enum pp_err err = pp_query_add(&w->q, post, strings);

    if (err == PP_OK)
        w->posts++;
    return err;
}

/*
 * Adds the post to the size/slide windows of ws that contain t (t >= 0).
 * s0, the start of the newest one, is the multiple of the slide at or just
 * below t; the others start 1 .. size/slide - 1 slides earlier. None of
 * these starts can underflow: the earliest is s0 - size + slide > -size.
 */
static enum pp_err window_spec_add(struct window_spec *ws, const struct pp_post *post,
                                   const struct pp_intern *strings, int64_t t)
{
    int64_t slide = ws->spec.slide_ms;
    int64_t s0 = t - t % slide;
    int64_t n = ws->spec.size_ms / slide, j;

    /* Oldest first, so that an in-order stream only ever appends. */
    for (j = n - 1; j >= 0; j--) {
        struct pp_window *w = window_get(ws, s0 - j * slide);
        enum pp_err err;

        if (w == NULL)
            return PP_ERR_NOMEM;
        err = window_fold(w, post, strings);
        if (err != PP_OK)
            return err;
    }
    return PP_OK;
}

/* Frees, from the front, the closed windows whose retention has passed. */
static void window_spec_expire(struct window_spec *ws, int64_t watermark_ms, int64_t retention_ms)
{
    size_t k = 0, i;

    while (k < ws->n && watermark_ms >= window_sat_add(ws->windows[k]->end_ms, retention_ms))
        k++;
    if (k == 0)
        return;
    for (i = 0; i < k; i++)
        window_destroy(ws->windows[i]);
    memmove(&ws->windows[0], &ws->windows[k], (ws->n - k) * sizeof *ws->windows);
    ws->n -= k;
}

enum pp_err pp_window_set_add(struct pp_window_set *set, const struct pp_post *post,
                              const struct pp_intern *strings, int64_t post_time_ms)
{
    enum pp_err err;
    size_t s;

    err = window_fold(set->specs[0].windows[0], post, strings);
    if (err != PP_OK)
        return err;
    if (post_time_ms < 0 || post_time_ms == INT64_MAX || post_time_ms < set->watermark_ms) {
        set->late_posts++;
        return PP_OK;
    }
    /*
     * On time: every window holding the post ends after post_time_ms >=
     * watermark, so it is open (and was never freed). Moving the watermark
     * first or afterwards is the same: the new watermark is at most the
     * post's time.
     */
    for (s = 1; s < set->n_specs; s++) {
        err = window_spec_add(&set->specs[s], post, strings, post_time_ms);
        if (err != PP_OK)
            return err;
    }
    if (post_time_ms > set->max_time_ms) {
        set->max_time_ms = post_time_ms;
        set->watermark_ms = post_time_ms - set->lateness_ms; /* >= -lateness: no underflow */
        for (s = 1; s < set->n_specs; s++)
            window_spec_expire(&set->specs[s], set->watermark_ms, set->retention_ms);
    }
    return PP_OK;
}

int64_t pp_window_set_watermark(const struct pp_window_set *set)
{
    return set->watermark_ms;
}

uint64_t pp_window_set_late_posts(const struct pp_window_set *set)
{
    return set->late_posts;
}

size_t pp_window_set_spec_count(const struct pp_window_set *set)
{
    return set->n_specs;
}

const struct pp_config_window *pp_window_set_spec(const struct pp_window_set *set, size_t spec)
{
    assert(spec < set->n_specs);
    return &set->specs[spec].spec;
}

enum pp_err pp_window_set_lookup(const struct pp_window_set *set,
                                 const struct pp_config_window *window, size_t *spec)
{
    size_t s;

    for (s = 0; s < set->n_specs; s++) {
        if (window_spec_eq(&set->specs[s].spec, window)) {
            *spec = s;
            return PP_OK;
        }
    }
    return PP_ERR_NOTFOUND;
}

size_t pp_window_set_count(const struct pp_window_set *set, size_t spec)
{
    assert(spec < set->n_specs);
    return set->specs[spec].n;
}

void pp_window_set_info(const struct pp_window_set *set, size_t spec, size_t i,
                        struct pp_window_info *info)
{
    const struct pp_window *w;

    assert(spec < set->n_specs && i < set->specs[spec].n);
    w = set->specs[spec].windows[i];
    info->start_ms = w->start_ms;
    info->end_ms = w->end_ms;
    info->is_open = spec == 0 || set->watermark_ms < w->end_ms;
    info->posts = w->posts;
}

enum pp_err pp_window_set_result(const struct pp_window_set *set, size_t spec, size_t i,
                                 const struct pp_intern *strings, enum pp_query_id id,
                                 struct pp_table *table)
{
    assert(spec < set->n_specs && i < set->specs[spec].n);
    return pp_query_result(&set->specs[spec].windows[i]->q, strings, id, table);
}

/* ---- spec text ------------------------------------------------------------ */
