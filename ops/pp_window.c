#include "pp_window.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pp_zstd.h"

/*
 * A window as listed, or a pane. A window that is its own pane (`all`,
 * tumbling, hopping with size == slide) keeps its query state in q; a
 * window made of panes (hopping with size > slide) leaves q empty and
 * only counts its posts while it is open, and when it closes q becomes the
 * merge of its panes (is_merged), so that the panes can go; a pane keeps
 * q. A closed window keeps a state, not answers, so that the windows of
 * several shards (pp_window_shards_result()) still merge, and keeps it
 * frozen (window_freeze()).
 */
struct pp_window {
    int64_t start_ms;
    int64_t end_ms;
    uint64_t posts;
    struct pp_query_state q;
    bool is_merged; /* a window of panes that has closed: q holds them merged */
    /* A pane of a spec with user links: [year * size/slide + d], its
     * distinct users whose nearest earlier pane holding them is d slides
     * back (d = 0: none within size/slide - 1). See window_users_link(). */
    uint64_t *user_dist;
    /* A closed window's state, frozen: pp_query_save()'s encoding in one
     * zstd frame, q then empty. Closed windows are final and retention
     * keeps many of them (per shard, spec and window), most never read
     * again; frozen they take about a tenth of the memory, and a read
     * thaws a copy (window_thaw()). Empty while q holds the state. */
    struct pp_buf frozen;
};

/* Frozen states are written once and kept long. On states, level 3
 * compresses at about 500 MB/s (2 ms a MB), hardly slower than the
 * checkpoints' level 1, and 6% smaller. */
#define WINDOW_FROZEN_LEVEL 3

/*
 * Windows or panes, sorted by start. All have the same length, so end
 * order is start order: they close and are freed from the front, and new
 * ones are almost always appended at the back. A post within the allowed
 * lateness may still open one before the newest; it is inserted in place
 * (binary search, then a memmove of pointers, cheap at the few hundred
 * windows retention keeps).
 */
struct window_list {
    struct pp_window **items; /* n, sorted by start_ms */
    size_t n;
    size_t cap;
};

/*
 * One spec. A hopping:S/L spec with S > L keeps panes, the tumbling:L
 * windows: a post goes into one pane, and window [k*L, k*L + S) is the
 * merge of its S/L panes, done when it is read while open, and once when
 * it closes. Closed windows are a prefix of the list (same length: end
 * order is start order); windows[0 .. n_closed) have been closed (merged,
 * with panes).
 */
struct window_spec {
    struct pp_config_window spec;
    bool has_panes;
    bool has_user_links; /* panes keep user_dist (size/slide <= WINDOW_LINK_MAX) */
    struct window_list windows;
    struct window_list panes;
    size_t n_closed;
};

/*
 * Up to this many panes per window, panes count their distinct users by the
 * distance to the previous pane holding them, so that users_joined_by_year
 * over a window is a sum of counters instead of a union of the panes' user
 * sets (one upsert per distinct user of each pane, seconds for an hour at
 * thousands of posts per second). Beyond it (e.g. hopping:1d/1s) the
 * counters would take size/slide * 6 words per pane, and windows are
 * merged instead.
 */
#define WINDOW_LINK_MAX 1024

struct pp_window_set {
    struct window_spec *specs; /* n_specs; specs[0] is `all` */
    size_t n_specs;
    int64_t lateness_ms;
    int64_t retention_ms;
    int64_t max_time_ms; /* INT64_MIN before the first on-time post */
    int64_t watermark_ms;
    uint64_t late_posts;
    /* The table the posts' text ids refer to, from the last add or load:
     * closing a window of panes merges them, and the merge's tie rule
     * compares names; pp_window_set_advance() gets no table. */
    const struct pp_intern *strings;
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
    w->is_merged = false;
    w->user_dist = NULL;
    pp_query_init(&w->q);
    pp_buf_init(&w->frozen);
    return w;
}

static void window_destroy(struct pp_window *w)
{
    if (w == NULL)
        return;
    pp_query_cleanup(&w->q);
    free(w->user_dist);
    pp_buf_cleanup(&w->frozen);
    free(w);
}

/* Frees the first k of the list. */
static void window_list_drop(struct window_list *list, size_t k)
{
    size_t i;

    if (k == 0)
        return;
    for (i = 0; i < k; i++)
        window_destroy(list->items[i]);
    memmove(&list->items[0], &list->items[k], (list->n - k) * sizeof *list->items);
    list->n -= k;
}

static void window_list_cleanup(struct window_list *list)
{
    window_list_drop(list, list->n);
    free(list->items);
}

/* The index of the first item whose start is >= start_ms. */
static size_t window_lower_bound(const struct window_list *list, int64_t start_ms)
{
    size_t lo = 0, hi = list->n;

    /* The common case: at or after the newest. */
    if (hi > 0 && list->items[hi - 1]->start_ms < start_ms)
        return hi;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (list->items[mid]->start_ms < start_ms)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The item at pos (found by window_lower_bound()) when it starts at
 * start_ms, else a new one of length len inserted there. NULL on OOM. */
static struct pp_window *window_list_get_at(struct window_list *list, size_t pos, int64_t start_ms,
                                            int64_t len)
{
    struct pp_window **grown;
    struct pp_window *w;

    if (pos < list->n && list->items[pos]->start_ms == start_ms)
        return list->items[pos];
    grown = pp_array_reserve(list->items, &list->cap, list->n, sizeof *list->items, 16);
    if (grown == NULL)
        return NULL;
    list->items = grown;
    w = window_new(start_ms, window_sat_add(start_ms, len));
    if (w == NULL)
        return NULL;
    memmove(&list->items[pos + 1], &list->items[pos], (list->n - pos) * sizeof *list->items);
    list->items[pos] = w;
    list->n++;
    return w;
}

static struct pp_window *window_list_get(struct window_list *list, int64_t start_ms, int64_t len)
{
    /* The newest first: an in-order stream only ever adds to it. */
    if (list->n > 0 && list->items[list->n - 1]->start_ms == start_ms)
        return list->items[list->n - 1];
    return window_list_get_at(list, window_lower_bound(list, start_ms), start_ms, len);
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
        if (j == set->n_specs) {
            set->specs[set->n_specs].spec = specs[i];
            set->specs[set->n_specs].has_panes = specs[i].size_ms > specs[i].slide_ms;
            set->specs[set->n_specs].has_user_links =
                specs[i].size_ms > specs[i].slide_ms &&
                specs[i].size_ms / specs[i].slide_ms <= WINDOW_LINK_MAX;
            set->n_specs++;
        }
    }

    /* `all` has its one window from the start, so it is listed even before
     * the first post, like an empty batch result. */
    if (window_list_get(&set->specs[0].windows, INT64_MIN, 0) == NULL)
        goto fail;
    set->specs[0].windows.items[0]->end_ms = INT64_MAX;
    return set;
fail:
    pp_window_set_destroy(set);
    return NULL;
}

void pp_window_set_destroy(struct pp_window_set *set)
{
    size_t s;

    if (set == NULL)
        return;
    for (s = 0; set->specs != NULL && s < set->n_specs; s++) {
        window_list_cleanup(&set->specs[s].windows);
        window_list_cleanup(&set->specs[s].panes);
    }
    free(set->specs);
    free(set);
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
 * The post's user (join year index year) has just entered pane pos of ws.
 * Every pane keeps, per join year, its distinct users by the distance d in
 * slides to the nearest earlier pane that holds them (d = 0: none within
 * n - 1, n = size/slide): a window starting at a counts the users of its
 * pane a + k whose d is 0 or more than k, each user exactly once (in its
 * first pane of the window). So the user is counted here under its
 * distance to the nearest earlier pane holding it, and the nearest later
 * pane holding it (there is one only when the post came out of order:
 * later panes are then still open) moves it from its distance to that
 * earlier pane to its distance to this one. Panes within n - 1 slides of an
 * open pane are never freed (they share an open window), so the search
 * sees every pane that matters.
 */
static void window_users_link(struct window_spec *ws, size_t pos, const struct pp_post *post,
                              int year)
{
    const struct window_list *panes = &ws->panes;
    struct pp_window *pane = panes->items[pos];
    int64_t slide = ws->spec.slide_ms;
    int64_t n = ws->spec.size_ms / slide;
    int64_t prev_ms = 0, d;
    bool has_prev = false;
    size_t k;

    for (k = pos; k-- > 0;) {
        const struct pp_window *e = panes->items[k];
        if ((pane->start_ms - e->start_ms) / slide >= n)
            break;
        if (pp_query_has_user(&e->q, post)) {
            prev_ms = e->start_ms;
            has_prev = true;
            break;
        }
    }
    pane->user_dist[year * n + (has_prev ? (pane->start_ms - prev_ms) / slide : 0)]++;
    for (k = pos + 1; k < panes->n; k++) {
        struct pp_window *e = panes->items[k];
        if ((e->start_ms - pane->start_ms) / slide >= n)
            break;
        if (!pp_query_has_user(&e->q, post))
            continue;
        d = has_prev ? (e->start_ms - prev_ms) / slide : n;
        e->user_dist[year * n + (d < n ? d : 0)]--;
        e->user_dist[year * n + (e->start_ms - pane->start_ms) / slide]++;
        break;
    }
}

/*
 * Adds the post at time t (t >= 0) to ws. Without panes: into its one
 * window, [t - t % size, + size). With panes: into its pane, and the
 * size/slide windows that contain it count it. p0, the pane's start, is
 * the multiple of the slide at or just below t; the windows start 0 ..
 * size/slide - 1 slides earlier. None of these starts can underflow: the
 * earliest is p0 - size + slide > -size.
 */
static enum pp_err window_spec_add(struct window_spec *ws, const struct pp_post *post,
                                   const struct pp_intern *strings, int64_t t)
{
    int64_t slide = ws->spec.slide_ms;
    int64_t p0 = t - t % slide;
    int64_t n = ws->spec.size_ms / slide, j;
    struct pp_window *w;
    size_t pos;
    int year;
    bool is_new_user;

    if (!ws->has_panes) {
        w = window_list_get(&ws->windows, p0, ws->spec.size_ms);
        return w == NULL ? PP_ERR_NOMEM : window_fold(w, post, strings);
    }
    pos = window_lower_bound(&ws->panes, p0);
    w = window_list_get_at(&ws->panes, pos, p0, slide);
    if (w == NULL)
        return PP_ERR_NOMEM;
    year = ws->has_user_links ? pp_query_user_year(post) : -1;
    if (year >= 0 && w->user_dist == NULL &&
        (w->user_dist = calloc((size_t)(PP_QUERY_JOIN_YEARS * n), sizeof *w->user_dist)) == NULL)
        return PP_ERR_NOMEM;
    is_new_user = year >= 0 && !pp_query_has_user(&w->q, post);
    if (window_fold(w, post, strings) != PP_OK)
        return PP_ERR_NOMEM;
    if (is_new_user)
        window_users_link(ws, pos, post, year);
    /* Oldest first, walking the list once: an in-order stream finds them
     * all but the newest, which it appends. */
    pos = window_lower_bound(&ws->windows, p0 - (n - 1) * slide);
    for (j = n - 1; j >= 0; j--, pos++) {
        w = window_list_get_at(&ws->windows, pos, p0 - j * slide, ws->spec.size_ms);
        if (w == NULL)
            return PP_ERR_NOMEM;
        w->posts++;
    }
    return PP_OK;
}

/* The panes of window w: panes[*first .. *last). */
static void window_panes_of(const struct window_spec *ws, const struct pp_window *w, size_t *first,
                            size_t *last)
{
    size_t i = window_lower_bound(&ws->panes, w->start_ms);

    *first = i;
    while (i < ws->panes.n && ws->panes.items[i]->start_ms < w->end_ms)
        i++;
    *last = i;
}

/* users_joined_by_year over window w (panes[first .. last)) from the
 * panes' user_dist counters (see window_users_link()). */
static enum pp_err window_users_count(const struct window_spec *ws, const struct pp_window *w,
                                      size_t first, size_t last, struct pp_table *table)
{
    uint64_t per_year[PP_QUERY_JOIN_YEARS] = {0};
    int64_t n = ws->spec.size_ms / ws->spec.slide_ms, k, d;
    size_t i;
    int y;

    for (i = first; i < last; i++) {
        const struct pp_window *pane = ws->panes.items[i];
        if (pane->user_dist == NULL)
            continue;
        k = (pane->start_ms - w->start_ms) / ws->spec.slide_ms;
        for (y = 0; y < PP_QUERY_JOIN_YEARS; y++) {
            const uint64_t *dist = &pane->user_dist[y * n];
            per_year[y] += dist[0];
            for (d = k + 1; d < n; d++)
                per_year[y] += dist[d];
        }
    }
    return pp_query_users_table(per_year, table);
}

/*
 * Freezes closed window w (see struct pp_window): its state goes into
 * w->frozen and q is freed. Freezing only saves memory, so when it fails
 * (out of memory) w stays as it was, its state in q.
 */
static void window_freeze(struct pp_window *w)
{
    struct pp_snap_writer wr;
    struct pp_zstd_enc *enc;
    struct pp_buf raw, packed;
    enum pp_err err;
    char *fit;

    if (w->frozen.len > 0)
        return;
    pp_buf_init(&raw);
    pp_buf_init(&packed);
    pp_snap_writer_init(&wr, &raw);
    pp_query_save(&w->q, &wr);
    if (pp_snap_writer_finish(&wr) != PP_OK || (enc = pp_zstd_enc_new(WINDOW_FROZEN_LEVEL)) == NULL)
        goto out;
    err = pp_zstd_compress(enc, raw.data, raw.len, &packed);
    pp_zstd_enc_destroy(enc);
    if (err != PP_OK)
        goto out;
    /* pp_zstd_compress() made room for the worst case. */
    if ((fit = realloc(packed.data, packed.len)) != NULL) {
        packed.data = fit;
        packed.cap = packed.len;
    }
    w->frozen = packed;
    pp_buf_init(&packed);
    pp_query_cleanup(&w->q);
    pp_query_init(&w->q);
out:
    pp_buf_cleanup(&raw);
    pp_buf_cleanup(&packed);
}

/* A copy of the state frozen in bytes (w->frozen) in q, which is
 * initialised here and which the caller cleans up. PP_OK, PP_ERR_NOMEM,
 * PP_ERR_CORRUPT (bytes that are not such a state). */
static enum pp_err window_thaw(const struct pp_buf *frozen, struct pp_query_state *q)
{
    struct pp_snap_reader rd;
    struct pp_buf raw;
    enum pp_err err;

    pp_query_init(q);
    pp_buf_init(&raw);
    err = pp_zstd_decompress(frozen->data, frozen->len, &raw);
    if (err == PP_OK) {
        pp_snap_reader_init(&rd, raw.data, raw.len);
        err = pp_query_load(q, &rd);
        if (err == PP_OK && rd.pos != rd.len)
            err = PP_ERR_CORRUPT;
    }
    pp_buf_cleanup(&raw);
    return err;
}

/* The state of a window that has one (not an open window of panes): w->q,
 * or for a frozen window a copy thawed into tmp, which the caller cleans
 * up (window_thaw() initialises it). */
static enum pp_err window_state(const struct pp_window *w, struct pp_query_state *tmp,
                                const struct pp_query_state **q)
{
    if (w->frozen.len == 0) {
        *q = &w->q;
        return PP_OK;
    }
    *q = tmp;
    return window_thaw(&w->frozen, tmp);
}

/* Merges one state into dst: through into, the table of dst's text ids,
 * when that is not from, src's (NULL: the same table). id < 0: every
 * query. */
static enum pp_err window_merge_state(struct pp_query_state *dst, struct pp_intern *into,
                                      const struct pp_query_state *src,
                                      const struct pp_intern *from, int id)
{
    if (into != NULL)
        return pp_query_merge_mapped(dst, into, src, from, id);
    if (id < 0)
        return pp_query_merge(dst, src, from);
    return pp_query_merge_for(dst, src, from, (enum pp_query_id)id);
}

/* Merges window w into dst (see window_merge_state()): its state, or, for
 * a window of panes still open, each of its panes. */
static enum pp_err window_merge_into(struct pp_query_state *dst, struct pp_intern *into,
                                     const struct window_spec *ws, const struct pp_window *w,
                                     const struct pp_intern *from, int id)
{
    const struct pp_query_state *q;
    struct pp_query_state tmp;
    enum pp_err err = PP_OK;
    size_t first, last, i;

    if (!ws->has_panes || w->is_merged) {
        pp_query_init(&tmp);
        if ((err = window_state(w, &tmp, &q)) == PP_OK)
            err = window_merge_state(dst, into, q, from, id);
        pp_query_cleanup(&tmp);
        return err;
    }
    window_panes_of(ws, w, &first, &last);
    for (i = first; i < last && !err; i++)
        err = window_merge_state(dst, into, &ws->panes.items[i]->q, from, id);
    return err;
}

/* Query id's table over w. */
static enum pp_err window_compute(const struct window_spec *ws, const struct pp_window *w,
                                  const struct pp_intern *strings, enum pp_query_id id,
                                  struct pp_table *table)
{
    const struct pp_query_state *q;
    struct pp_query_state merged;
    enum pp_err err;
    size_t first, last;

    memset(table, 0, sizeof *table);
    if (!ws->has_panes || w->is_merged) {
        pp_query_init(&merged);
        if ((err = window_state(w, &merged, &q)) == PP_OK)
            err = pp_query_result(q, strings, id, table);
        pp_query_cleanup(&merged);
        return err;
    }
    window_panes_of(ws, w, &first, &last);
    if (id == PP_QUERY_USERS_JOINED_BY_YEAR && ws->has_user_links)
        return window_users_count(ws, w, first, last, table);
    /* A window with posts has at least one pane; one alone needs no copy. */
    if (last - first == 1)
        return pp_query_result(&ws->panes.items[first]->q, strings, id, table);
    pp_query_init(&merged);
    err = window_merge_into(&merged, NULL, ws, w, strings, (int)id);
    if (!err)
        err = pp_query_result(&merged, strings, id, table);
    pp_query_cleanup(&merged);
    return err;
}

/*
 * A window of panes that has closed: its panes merged into its own state,
 * once, before the panes no open window shares are freed. A closed window
 * is final (every post for it is late). It keeps a state rather than its
 * nine answers because answers of shards do not merge (medians, distinct
 * users) and states do. Other windows are their own state already.
 */
static enum pp_err window_close(const struct window_spec *ws, struct pp_window *w,
                                const struct pp_intern *strings)
{
    enum pp_err err;

    if (!ws->has_panes)
        return PP_OK;
    assert(strings != NULL); /* panes exist only after an add or a load */
    if ((err = window_merge_into(&w->q, NULL, ws, w, strings, -1))) {
        pp_query_cleanup(&w->q);
        return err;
    }
    w->is_merged = true;
    return PP_OK;
}

/*
 * After the watermark moved: frees, from the front, the closed windows
 * whose retention has passed; closes the others that have closed; frees
 * the panes no open window needs any more (pane p is in the windows that
 * start in (p - size, p], which have all closed once watermark >= p +
 * size, and were merged just before).
 */
static enum pp_err window_spec_advance(struct window_spec *ws, int64_t watermark_ms,
                                       int64_t retention_ms, const struct pp_intern *strings)
{
    struct window_list *list = &ws->windows;
    size_t k = 0;
    enum pp_err err;

    while (k < list->n && watermark_ms >= window_sat_add(list->items[k]->end_ms, retention_ms))
        k++;
    window_list_drop(list, k);
    ws->n_closed = ws->n_closed > k ? ws->n_closed - k : 0;
    while (ws->n_closed < list->n && watermark_ms >= list->items[ws->n_closed]->end_ms) {
        if ((err = window_close(ws, list->items[ws->n_closed], strings)))
            return err;
        window_freeze(list->items[ws->n_closed]);
        ws->n_closed++;
    }
    for (k = 0; k < ws->panes.n; k++)
        if (watermark_ms < window_sat_add(ws->panes.items[k]->start_ms, ws->spec.size_ms))
            break;
    window_list_drop(&ws->panes, k);
    return PP_OK;
}

/* The largest post time becomes time_ms if that is larger: the watermark
 * follows, and the windows and panes it passes close or go. */
static enum pp_err window_set_move(struct pp_window_set *set, int64_t time_ms)
{
    enum pp_err err;
    size_t s;

    if (time_ms <= set->max_time_ms)
        return PP_OK;
    set->max_time_ms = time_ms;
    set->watermark_ms = time_ms - set->lateness_ms; /* time >= 0 >= -lateness: no underflow */
    for (s = 1; s < set->n_specs; s++) {
        err =
            window_spec_advance(&set->specs[s], set->watermark_ms, set->retention_ms, set->strings);
        if (err != PP_OK)
            return err;
    }
    return PP_OK;
}

enum pp_err pp_window_set_add(struct pp_window_set *set, const struct pp_post *post,
                              const struct pp_intern *strings, int64_t post_time_ms)
{
    enum pp_err err;
    size_t s;

    set->strings = strings;
    err = window_fold(set->specs[0].windows.items[0], post, strings);
    if (err != PP_OK)
        return err;
    if (post_time_ms < 0 || post_time_ms == INT64_MAX || post_time_ms < set->watermark_ms) {
        set->late_posts++;
        return PP_OK;
    }
    /*
     * On time: every window holding the post ends after post_time_ms >=
     * watermark, so it is open (neither closed nor freed, and so are its
     * panes). Moving the watermark first or afterwards is the same: the
     * new watermark is at most the post's time.
     */
    for (s = 1; s < set->n_specs; s++) {
        err = window_spec_add(&set->specs[s], post, strings, post_time_ms);
        if (err != PP_OK)
            return err;
    }
    return window_set_move(set, post_time_ms);
}

enum pp_err pp_window_set_advance(struct pp_window_set *set, int64_t time_ms)
{
    if (time_ms < 0 || time_ms == INT64_MAX)
        return PP_OK;
    return window_set_move(set, time_ms);
}

int64_t pp_window_set_max_time(const struct pp_window_set *set)
{
    return set->max_time_ms;
}

int64_t pp_window_set_watermark(const struct pp_window_set *set)
{
    return set->watermark_ms;
}

uint64_t pp_window_set_late_posts(const struct pp_window_set *set)
{
    return set->late_posts;
}

void pp_window_set_stats(const struct pp_window_set *set, struct pp_window_stats *stats)
{
    size_t s, i;

    for (s = 0; s < set->n_specs; s++) {
        const struct window_spec *ws = &set->specs[s];
        for (i = 0; i < ws->windows.n; i++) {
            const struct pp_window *w = ws->windows.items[i];
            if (w->frozen.len > 0) {
                stats->frozen++;
                stats->frozen_bytes += w->frozen.len;
            } else if (!ws->has_panes || w->is_merged) {
                stats->states++;
            }
        }
        stats->states += ws->panes.n;
    }
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
    return set->specs[spec].windows.n;
}

void pp_window_set_info(const struct pp_window_set *set, size_t spec, size_t i,
                        struct pp_window_info *info)
{
    const struct pp_window *w;

    assert(spec < set->n_specs && i < set->specs[spec].windows.n);
    w = set->specs[spec].windows.items[i];
    info->start_ms = w->start_ms;
    info->end_ms = w->end_ms;
    info->is_open = spec == 0 || set->watermark_ms < w->end_ms;
    info->posts = w->posts;
}

enum pp_err pp_window_set_result(const struct pp_window_set *set, size_t spec, size_t i,
                                 const struct pp_intern *strings, enum pp_query_id id,
                                 struct pp_table *table)
{
    const struct window_spec *ws;
    const struct pp_window *w;

    assert(spec < set->n_specs && i < set->specs[spec].windows.n);
    ws = &set->specs[spec];
    w = ws->windows.items[i];
    return window_compute(ws, w, strings, id, table);
}

/* ---- shards ------------------------------------------------------------------ */

static int window_info_cmp(const void *a, const void *b)
{
    const struct pp_window_info *x = a, *y = b;

    return (x->start_ms > y->start_ms) - (x->start_ms < y->start_ms);
}

enum pp_err pp_window_shards_list(const struct pp_window_shard *shards, size_t n, size_t spec,
                                  struct pp_window_info **infos, size_t *count)
{
    struct pp_window_info *all;
    int64_t watermark_ms = INT64_MIN;
    size_t total = 0, m = 0, k, i;

    *infos = NULL;
    *count = 0;
    for (k = 0; k < n; k++) {
        assert(spec < shards[k].set->n_specs);
        total += shards[k].set->specs[spec].windows.n;
        /* Advanced to the same time, the shards have one watermark. */
        if (shards[k].set->watermark_ms > watermark_ms)
            watermark_ms = shards[k].set->watermark_ms;
    }
    if (total == 0)
        return PP_OK;
    if ((all = malloc(total * sizeof *all)) == NULL)
        return PP_ERR_NOMEM;
    for (k = 0; k < n; k++)
        for (i = 0; i < shards[k].set->specs[spec].windows.n; i++)
            pp_window_set_info(shards[k].set, spec, i, &all[m++]);
    /* Each shard's list is in start order already. */
    if (n > 1)
        qsort(all, total, sizeof *all, window_info_cmp);
    for (i = 0, m = 0; i < total; i++) {
        if (m > 0 && all[m - 1].start_ms == all[i].start_ms) {
            all[m - 1].posts += all[i].posts;
            continue;
        }
        all[m] = all[i];
        all[m].is_open = spec == 0 || watermark_ms < all[m].end_ms;
        m++;
    }
    *infos = all;
    *count = m;
    return PP_OK;
}

/* The window of ws starting at start_ms, or NULL. */
static const struct pp_window *window_find(const struct window_spec *ws, int64_t start_ms)
{
    size_t i = window_lower_bound(&ws->windows, start_ms);

    return i < ws->windows.n && ws->windows.items[i]->start_ms == start_ms ? ws->windows.items[i]
                                                                           : NULL;
}

/* Points the text cells of table, which point into another table (or at
 * constants such as the age group names), into strings. */
static enum pp_err window_table_reintern(struct pp_table *table, struct pp_intern *strings)
{
    size_t i;
    uint32_t id;
    enum pp_err err;

    for (i = 0; i < table->n_rows * table->n_cols; i++) {
        struct pp_cell *cell = &table->cells[i];
        if (cell->type != PP_CELL_TEXT || cell->text.ptr == NULL)
            continue;
        if ((err = pp_intern_id(strings, cell->text, &id)))
            return err;
        cell->text = pp_intern_str(strings, id);
    }
    return PP_OK;
}

/* Merges the window of spec starting at start_ms of every shard holding it
 * into merged over strings (see window_merge_into(); id < 0: the whole
 * state). *found gets the number of shards holding it, *only one of them. */
static enum pp_err window_shards_merge(const struct pp_window_shard *shards, size_t n, size_t spec,
                                       int64_t start_ms, struct pp_intern *strings, int id,
                                       struct pp_query_state *merged, size_t *found, size_t *only)
{
    const struct pp_window *w;
    enum pp_err err = PP_OK;
    size_t k;

    *found = 0;
    *only = 0;
    for (k = 0; k < n && !err; k++) {
        const struct window_spec *ws;
        assert(spec < shards[k].set->n_specs);
        ws = &shards[k].set->specs[spec];
        if ((w = window_find(ws, start_ms)) == NULL)
            continue;
        ++*found;
        *only = k;
        if (merged != NULL)
            err = window_merge_into(merged, strings, ws, w, shards[k].strings, id);
    }
    return err;
}

/*
 * Answers do not merge, states do: the windows' states (or open windows'
 * panes) of every shard holding the window are merged into one state over
 * strings, whose answer is the answer. A window only one shard holds (n ==
 * 1, or all its posts came through one partition) is answered as
 * pp_window_set_result() does, which for users_joined_by_year over an open
 * hopping window sums the panes' counters instead of uniting their users.
 */
enum pp_err pp_window_shards_result(const struct pp_window_shard *shards, size_t n, size_t spec,
                                    int64_t start_ms, enum pp_query_id id,
                                    struct pp_intern *strings, struct pp_table *table)
{
    struct pp_query_state merged;
    size_t found, only;
    enum pp_err err;

    memset(table, 0, sizeof *table);
    if ((unsigned)id >= PP_QUERY_COUNT)
        return PP_ERR_INVALID;
    window_shards_merge(shards, n, spec, start_ms, strings, (int)id, NULL, &found, &only);
    if (found == 0)
        return PP_ERR_NOTFOUND;
    if (found == 1) {
        const struct window_spec *ws = &shards[only].set->specs[spec];
        err = window_compute(ws, window_find(ws, start_ms), shards[only].strings, id, table);
        if (!err && shards[only].strings != strings)
            err = window_table_reintern(table, strings);
        if (err)
            pp_table_cleanup(table);
        return err;
    }
    pp_query_init(&merged);
    err = window_shards_merge(shards, n, spec, start_ms, strings, (int)id, &merged, &found, &only);
    if (!err)
        err = pp_query_result(&merged, strings, id, table);
    pp_query_cleanup(&merged);
    return err;
}

enum pp_err pp_window_shards_merge(const struct pp_window_shard *shards, size_t n, size_t spec,
                                   int64_t start_ms, struct pp_intern *strings,
                                   struct pp_query_state *merged)
{
    size_t found, only;
    enum pp_err err;

    err = window_shards_merge(shards, n, spec, start_ms, strings, -1, merged, &found, &only);
    return err == PP_OK && found == 0 ? PP_ERR_NOTFOUND : err;
}

/* ---- checkpoints ------------------------------------------------------------- */

/* A window's flags. Bit 0 once meant "closed, kept as nine tables": a
 * checkpoint with it is refused rather than read as states. */
#define WINDOW_SAVED_USER_DIST 2u
#define WINDOW_SAVED_MERGED 4u
#define WINDOW_SAVED_FROZEN 8u /* the frozen bytes as they are, not a state */

static void window_save(const struct window_spec *ws, const struct pp_window *w,
                        struct pp_snap_writer *wr)
{
    pp_snap_put_i64(wr, w->start_ms);
    pp_snap_put_i64(wr, w->end_ms);
    pp_snap_put_u64(wr, w->posts);
    pp_snap_put_u64(wr, (w->user_dist != NULL ? WINDOW_SAVED_USER_DIST : 0) |
                            (w->is_merged ? WINDOW_SAVED_MERGED : 0) |
                            (w->frozen.len > 0 ? WINDOW_SAVED_FROZEN : 0));
    if (w->frozen.len > 0)
        pp_snap_put_bytes(wr, w->frozen.data, w->frozen.len);
    else
        pp_query_save(&w->q, wr);
    if (w->user_dist != NULL)
        pp_snap_put(wr, w->user_dist,
                    (size_t)(PP_QUERY_JOIN_YEARS * (ws->spec.size_ms / ws->spec.slide_ms)) *
                        sizeof *w->user_dist);
}

static void window_list_save(const struct window_spec *ws, const struct window_list *list,
                             struct pp_snap_writer *wr)
{
    size_t i;

    pp_snap_put_u64(wr, list->n);
    for (i = 0; i < list->n; i++)
        window_save(ws, list->items[i], wr);
}

void pp_window_set_save(const struct pp_window_set *set, struct pp_snap_writer *w)
{
    size_t s;

    pp_snap_put_u64(w, set->n_specs);
    pp_snap_put_i64(w, set->lateness_ms);
    pp_snap_put_i64(w, set->retention_ms);
    pp_snap_put_i64(w, set->max_time_ms);
    pp_snap_put_i64(w, set->watermark_ms);
    pp_snap_put_u64(w, set->late_posts);
    for (s = 0; s < set->n_specs; s++) {
        const struct window_spec *ws = &set->specs[s];
        pp_snap_put(w, &ws->spec, sizeof ws->spec);
        pp_snap_put_u64(w, ws->n_closed);
        window_list_save(ws, &ws->windows, w);
        window_list_save(ws, &ws->panes, w);
    }
}

/* Frozen bytes, checked by thawing them once: a checkpoint that does not
 * hold a state there (with text ids below n_ids) is refused when it is
 * loaded, not when the window is read. */
static void window_load_frozen(struct pp_window *w, struct pp_snap_reader *rd, size_t n_ids)
{
    struct pp_query_state q;
    const char *bytes;
    size_t len;
    enum pp_err err;

    if ((bytes = pp_snap_get_bytes(rd, &len)) == NULL)
        return;
    if (len == 0) {
        pp_snap_fail(rd, PP_ERR_CORRUPT);
        return;
    }
    /* Exactly len, as window_freeze() leaves it. */
    if ((w->frozen.data = malloc(len)) == NULL) {
        pp_snap_fail(rd, PP_ERR_NOMEM);
        return;
    }
    memcpy(w->frozen.data, bytes, len);
    w->frozen.len = w->frozen.cap = len;
    err = window_thaw(&w->frozen, &q);
    if (err == PP_OK)
        err = pp_query_check(&q, n_ids);
    pp_query_cleanup(&q);
    if (err != PP_OK)
        pp_snap_fail(rd, err);
}

static struct pp_window *window_load(const struct window_spec *ws, struct pp_snap_reader *rd,
                                     size_t n_ids)
{
    int64_t start_ms = pp_snap_get_i64(rd);
    int64_t end_ms = pp_snap_get_i64(rd);
    uint64_t posts = pp_snap_get_u64(rd);
    uint64_t flags = pp_snap_get_u64(rd);
    struct pp_window *w;
    size_t n_dist;

    if (rd->err != PP_OK)
        return NULL;
    if ((flags & ~(uint64_t)(WINDOW_SAVED_USER_DIST | WINDOW_SAVED_MERGED | WINDOW_SAVED_FROZEN)) !=
            0 ||
        ((flags & WINDOW_SAVED_USER_DIST) && !ws->has_user_links) ||
        ((flags & WINDOW_SAVED_MERGED) && !ws->has_panes)) {
        pp_snap_fail(rd, PP_ERR_CORRUPT);
        return NULL;
    }
    if ((w = window_new(start_ms, end_ms)) == NULL) {
        pp_snap_fail(rd, PP_ERR_NOMEM);
        return NULL;
    }
    w->posts = posts;
    w->is_merged = (flags & WINDOW_SAVED_MERGED) != 0;
    if (flags & WINDOW_SAVED_FROZEN)
        window_load_frozen(w, rd, n_ids);
    else if (pp_query_load(&w->q, rd) == PP_OK && pp_query_check(&w->q, n_ids) != PP_OK)
        pp_snap_fail(rd, PP_ERR_CORRUPT);
    if ((flags & WINDOW_SAVED_USER_DIST) && rd->err == PP_OK) {
        /* has_user_links: a hopping spec, slide > 0 */
        n_dist = (size_t)(PP_QUERY_JOIN_YEARS * (ws->spec.size_ms / ws->spec.slide_ms));
        if ((w->user_dist = calloc(n_dist, sizeof *w->user_dist)) == NULL)
            pp_snap_fail(rd, PP_ERR_NOMEM);
        else
            pp_snap_get(rd, w->user_dist, n_dist * sizeof *w->user_dist);
    }
    if (rd->err != PP_OK) {
        window_destroy(w);
        return NULL;
    }
    return w;
}

/* Windows in start order, as the list needs them (window_lower_bound). */
static void window_list_load(const struct window_spec *ws, struct window_list *list,
                             struct pp_snap_reader *rd, size_t n_ids)
{
    size_t n = pp_snap_get_count(rd, 4 * sizeof(uint64_t));
    size_t i;

    if (rd->err != PP_OK)
        return;
    if (n > 0 && (list->items = calloc(n, sizeof *list->items)) == NULL) {
        pp_snap_fail(rd, PP_ERR_NOMEM);
        return;
    }
    list->cap = n;
    for (i = 0; i < n && rd->err == PP_OK; i++) {
        struct pp_window *w = window_load(ws, rd, n_ids);
        if (w == NULL)
            break;
        list->items[list->n++] = w;
        if (i > 0 && list->items[i - 1]->start_ms >= w->start_ms)
            pp_snap_fail(rd, PP_ERR_CORRUPT);
    }
}

/* What window_spec_add() makes: `all` unbounded; otherwise len long and
 * starting at a multiple of the slide after -size (the earliest window of
 * a post at time 0), so that the distances in slides between windows and
 * panes do not overflow. */
static bool window_bounds_are_valid(const struct window_spec *ws, const struct pp_window *w,
                                    int64_t len)
{
    if (ws->spec.kind == PP_CONFIG_WINDOW_ALL)
        return w->start_ms == INT64_MIN && w->end_ms == INT64_MAX;
    return w->start_ms > -ws->spec.size_ms && w->start_ms % ws->spec.slide_ms == 0 &&
           w->end_ms == window_sat_add(w->start_ms, len);
}

enum pp_err pp_window_set_load(struct pp_window_set *set, struct pp_intern *strings,
                               struct pp_snap_reader *rd)
{
    size_t s, i;

    set->strings = strings;
    if (pp_snap_get_u64(rd) != set->n_specs || pp_snap_get_i64(rd) != set->lateness_ms ||
        pp_snap_get_i64(rd) != set->retention_ms)
        pp_snap_fail(rd, PP_ERR_CORRUPT);
    set->max_time_ms = pp_snap_get_i64(rd);
    set->watermark_ms = pp_snap_get_i64(rd);
    set->late_posts = pp_snap_get_u64(rd);
    for (s = 0; s < set->n_specs && rd->err == PP_OK; s++) {
        struct window_spec *ws = &set->specs[s];
        struct pp_config_window spec;

        pp_snap_get(rd, &spec, sizeof spec);
        if (!window_spec_eq(&spec, &ws->spec))
            pp_snap_fail(rd, PP_ERR_CORRUPT);
        ws->n_closed = (size_t)pp_snap_get_u64(rd);
        window_list_cleanup(&ws->windows);
        window_list_cleanup(&ws->panes);
        memset(&ws->windows, 0, sizeof ws->windows);
        memset(&ws->panes, 0, sizeof ws->panes);
        window_list_load(ws, &ws->windows, rd, strings->count);
        window_list_load(ws, &ws->panes, rd, strings->count);
        if (ws->n_closed > ws->windows.n || (s == 0 && ws->windows.n != 1))
            pp_snap_fail(rd, PP_ERR_CORRUPT);
        /* With panes, exactly the closed windows are merged; panes never.
         * Only closed windows are frozen; one whose freezing failed (out
         * of memory: it was saved as a state) is frozen now. */
        for (i = 0; i < ws->windows.n && rd->err == PP_OK; i++) {
            struct pp_window *w = ws->windows.items[i];
            /* Closed means watermark >= end: what is frozen must be. */
            if (!window_bounds_are_valid(ws, w, ws->spec.size_ms) ||
                w->is_merged != (ws->has_panes && i < ws->n_closed) ||
                (i < ws->n_closed) != (s > 0 && set->watermark_ms >= w->end_ms) ||
                (w->frozen.len > 0 && i >= ws->n_closed))
                pp_snap_fail(rd, PP_ERR_CORRUPT);
            else if (i < ws->n_closed)
                window_freeze(w);
        }
        /* A pane holding users has their distances when the spec keeps
         * them (window_users_link() writes them). */
        for (i = 0; i < ws->panes.n && rd->err == PP_OK; i++) {
            const struct pp_window *pane = ws->panes.items[i];
            if (!window_bounds_are_valid(ws, pane, ws->spec.slide_ms) || pane->is_merged ||
                pane->frozen.len > 0 ||
                (ws->has_user_links && pane->q.users.count > 0 && pane->user_dist == NULL))
                pp_snap_fail(rd, PP_ERR_CORRUPT);
        }
    }
    return rd->err;
}

/* ---- spec text ------------------------------------------------------------ */
