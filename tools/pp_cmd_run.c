/*
 * pinpipe run: the streaming engine. Kafka in (a consumer group on the three
 * topics), the parse/clean pipeline, the streaming dedup and join, the
 * nine queries per window spec, and the HTTP API that serves them.
 *
 * Threads: the pipeline's source (the Kafka consumer) and clean workers; this
 * thread, the pipeline's consumer, owns the stream, the windows and the
 * offsets; libmicrohttpd's threads answer requests from snapshots that this
 * thread renders (they never touch the state itself). SIGINT and SIGTERM are
 * blocked in every thread and polled here: the consumer stops, the pipeline
 * drains, the applied offsets are committed, exit 0.
 *
 * Not yet: the lake sink (issue 4: offsets are committed once records are
 * applied to the analytics, and will be once they are durable in the lake),
 * state checkpoints (issue 5), the REST proxy, /metrics and the dashboard.
 */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pp_clean.h"
#include "pp_cli.h"
#include "pp_cmd.h"
#include "pp_config.h"
#include "pp_hmap.h"
#include "pp_http.h"
#include "pp_kafka.h"
#include "pp_log.h"
#include "pp_pipeline.h"
#include "pp_query.h"
#include "pp_render.h"
#include "pp_stream.h"
#include "pp_window.h"

#define RUN_BATCH_MIN (1u << 20)
#define RUN_SNAPSHOT_EVERY_S 0.2
#define RUN_COMMIT_EVERY_S 1.0
#define RUN_MAX_SETS 64
#define RUN_GROUP_DEFAULT "pinpipe"

static const char run_usage[] =
    "usage: pinpipe run [-c pinpipe.properties] [--set key=value]...\n"
    "\n"
    "The streaming engine: consumes <topics.prefix>.pin/.geo/.user from Kafka\n"
    "(kafka.bootstrap.servers; consumer group kafka.group.id, default pinpipe),\n"
    "cleans, deduplicates and joins the records, keeps the nine queries for every\n"
    "window spec of analytics.windows, and serves them on http.listen:\n"
    "  GET /v1/queries?window=<spec>         all nine queries (default window all)\n"
    "  GET /v1/queries/<name>?window=<spec>  one query\n"
    "  GET /v1/status, /metrics (Prometheus), /healthz, /readyz\n"
    "Keys are documented in docs/config.md. SIGINT or SIGTERM stops cleanly.\n"
    "\n"
    "options:\n"
    "  -c, --config <file>   a Java-properties file\n"
    "  --set <key=value>     overrides the file (repeatable)\n"
    "  --quiet               warnings and errors only on stderr\n"
    "  --help                this text\n"
    "exit status: 0 ok, 1 runtime failure, 2 usage or configuration error\n";

/* What the HTTP threads serve: documents rendered by the consumer thread. */
struct run_snapshot {
    pthread_mutex_t lock;
    bool is_ready;
    size_t n_specs;
    char spec_text[RUN_MAX_SETS][PP_CONFIG_WINDOW_TEXT_MAX];
    struct pp_buf all[RUN_MAX_SETS];                 /* per spec: nine queries */
    struct pp_buf one[RUN_MAX_SETS][PP_QUERY_COUNT]; /* per spec and query */
    struct pp_buf status;
    struct pp_buf metrics;
};

/* pinpipe_post_visible_seconds: from a post's last record timestamp to the
 * snapshot that makes it visible in the answers. */
static const double run_visible_bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                            0.5,   1,    2.5,   5,    10};
#define RUN_VISIBLE_BUCKETS (sizeof run_visible_bounds / sizeof run_visible_bounds[0])

struct run_visible {
    int64_t *pending; /* times (ms) of posts joined since the last snapshot */
    size_t n_pending;
    size_t cap_pending;
    uint64_t buckets[RUN_VISIBLE_BUCKETS]; /* cumulative counts are derived */
    uint64_t count;
    double sum;
};

struct run {
    struct pp_config *cfg;
    struct pp_kafka_consumer *consumer;
    struct pp_pipeline *pipeline;
    struct pp_http *http;
    struct pp_intern strings;
    struct pp_stream *stream;
    struct pp_window_set *windows;
    struct pp_hmap offsets; /* (topic, partition) -> next offset to read */
    uint64_t records;
    char topic_names[PP_TOPIC_COUNT][256];
    struct run_snapshot snap;
    struct run_visible visible;
    /* Documents being rendered; swapped with the snapshot's when done. */
    struct pp_buf next_all[RUN_MAX_SETS];
    struct pp_buf next_one[RUN_MAX_SETS][PP_QUERY_COUNT];
};

static int run_parse_args(int argc, char **argv, struct pp_config *cfg, bool *is_quiet)
{
    enum { OPT_SET = 256, OPT_QUIET };
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"set", required_argument, NULL, OPT_SET},
        {"quiet", no_argument, NULL, OPT_QUIET},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *sets[256];
    size_t n_sets = 0;
    const char *file = NULL;
    char msg[1024];
    size_t i;
    int c;

    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":c:", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': file = optarg; break;
        case OPT_SET:
            if (n_sets == sizeof sets / sizeof sets[0])
                return pp_cli_usage_error("run", "too many --set options");
            sets[n_sets++] = optarg;
            break;
        case OPT_QUIET: *is_quiet = true; break;
        case 'h': fputs(run_usage, stdout); return -1;
        case ':': return pp_cli_usage_error("run", "option %s needs a value", argv[optind - 1]);
        default: return pp_cli_usage_error("run", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return pp_cli_usage_error("run", "unexpected argument '%s'", argv[optind]);
    /* The file first, then each --set in order: the last value wins. */
    if (file != NULL && pp_config_load_file(cfg, file, msg, sizeof msg) != PP_OK) {
        fprintf(stderr, "pinpipe: run: %s\n", msg);
        return 2;
    }
    for (i = 0; i < n_sets; i++) {
        if (pp_config_set_arg(cfg, sets[i], msg, sizeof msg) != PP_OK) {
            fprintf(stderr, "pinpipe: run: %s\n", msg);
            return 2;
        }
    }
    if (pp_config_validate(cfg, msg, sizeof msg) != PP_OK) {
        fprintf(stderr, "pinpipe: run: %s\n", msg);
        return 2;
    }
    for (i = 0; i < pp_config_notice_count(cfg); i++)
        pp_log_info("%s", pp_config_notice_at(cfg, i));
    return 0;
}

/* ---- snapshots (consumer thread) ------------------------------------------- */

static enum pp_err run_render_window(const struct run *r, size_t spec, size_t w, struct pp_buf *all,
                                     struct pp_buf one[PP_QUERY_COUNT])
{
    struct pp_table tables[PP_QUERY_COUNT];
    struct pp_window_info info;
    struct pp_buf head;
    size_t n_tables = 0;
    enum pp_err err = PP_OK;
    int q;

    pp_buf_init(&head);
    pp_window_set_info(r->windows, spec, w, &info);
    if (info.start_ms == INT64_MIN)
        err = pp_buf_printf(&head, "{\"start_ms\":null,\"end_ms\":null,\"open\":true,");
    else
        err = pp_buf_printf(&head, "{\"start_ms\":%lld,\"end_ms\":%lld,\"open\":%s,",
                            (long long)info.start_ms, (long long)info.end_ms,
                            info.is_open ? "true" : "false");
    if (!err)
        err = pp_buf_printf(&head, "\"posts\":%llu,\"queries\":", (unsigned long long)info.posts);
    for (q = 0; q < PP_QUERY_COUNT && !err; q++) {
        err =
            pp_window_set_result(r->windows, spec, w, &r->strings, (enum pp_query_id)q, &tables[q]);
        if (!err)
            n_tables++;
    }
    if (!err)
        err = pp_buf_append(all, head.data, head.len);
    if (!err)
        err = pp_render_queries_json(tables, n_tables, all);
    if (!err)
        err = pp_buf_append(all, "}", 1);
    for (q = 0; q < PP_QUERY_COUNT && !err; q++) {
        err = pp_buf_append(&one[q], head.data, head.len);
        if (!err)
            err = pp_render_queries_json(&tables[q], 1, &one[q]);
        if (!err)
            err = pp_buf_append(&one[q], "}", 1);
    }
    for (q = 0; q < (int)n_tables; q++)
        pp_table_cleanup(&tables[q]);
    pp_buf_cleanup(&head);
    return err;
}

/* Folds the posts joined since the last snapshot into the visibility
 * histogram: they become visible now. */
static void run_visible_observe(struct run_visible *v)
{
    struct timespec ts;
    int64_t now_ms;
    size_t i;
    size_t b;

    clock_gettime(CLOCK_REALTIME, &ts);
    now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    for (i = 0; i < v->n_pending; i++) {
        double secs = (double)(now_ms - v->pending[i]) / 1000.0;
        if (secs < 0)
            secs = 0; /* a producer clock ahead of ours */
        for (b = 0; b < RUN_VISIBLE_BUCKETS && secs > run_visible_bounds[b]; b++)
            ;
        if (b < RUN_VISIBLE_BUCKETS)
            v->buckets[b]++;
        v->count++;
        v->sum += secs;
    }
    v->n_pending = 0;
}

/* The Prometheus text of SPEC 8's metrics that exist so far (the sink's
 * come with the sink). */
static enum pp_err run_render_metrics(struct run *r, struct pp_buf *out)
{
    const struct pp_stream_counts *c = pp_stream_counts(r->stream);
    uint64_t cumulative = 0;
    enum pp_err err = PP_OK;
    size_t i;
    int t;
    int k;

#define RUN_METRIC(name, type, help)                                                               \
    if (!err)                                                                                      \
    err = pp_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type)
    RUN_METRIC("pinpipe_records_total", "counter", "Records consumed.");
    for (t = 0; t < PP_TOPIC_COUNT && !err; t++)
        err = pp_buf_printf(out, "pinpipe_records_total{topic=\"%s\"} %llu\n", r->topic_names[t],
                            (unsigned long long)c->input.records[t]);
    RUN_METRIC("pinpipe_rejected_total", "counter", "Records rejected, by reason.");
    for (t = 0; t < PP_TOPIC_COUNT && !err; t++)
        for (k = 1; k < PP_REJECT_COUNT && !err; k++)
            err = pp_buf_printf(out, "pinpipe_rejected_total{topic=\"%s\",reason=\"%s\"} %llu\n",
                                r->topic_names[t], pp_reject_name((enum pp_reject)k),
                                (unsigned long long)c->input.rejected[t][k]);
    RUN_METRIC("pinpipe_duplicates_total", "counter", "Records that lost to an earlier one.");
    for (t = 0; t < PP_TOPIC_COUNT && !err; t++)
        err = pp_buf_printf(out, "pinpipe_duplicates_total{topic=\"%s\"} %llu\n", r->topic_names[t],
                            (unsigned long long)c->input.duplicates[t]);
    RUN_METRIC("pinpipe_orphans_total", "counter", "Parts evicted after join.timeout.");
    for (t = 0; t < PP_TOPIC_COUNT && !err; t++)
        err = pp_buf_printf(out, "pinpipe_orphans_total{topic=\"%s\"} %llu\n", r->topic_names[t],
                            (unsigned long long)c->orphans[t]);
    RUN_METRIC("pinpipe_late_posts_total", "counter", "Posts behind the watermark.");
    if (!err)
        err = pp_buf_printf(out, "pinpipe_late_posts_total %llu\n",
                            (unsigned long long)pp_window_set_late_posts(r->windows));
    RUN_METRIC("pinpipe_posts_joined_total", "counter", "Posts joined.");
    if (!err)
        err = pp_buf_printf(out, "pinpipe_posts_joined_total %llu\n", (unsigned long long)c->posts);
    RUN_METRIC("pinpipe_consumer_lag", "gauge", "Records behind the partition's end.");
    for (i = 0; i < r->offsets.cap && !err; i++) {
        const struct pp_hmap_slot *slot = &r->offsets.slots[i];
        int64_t lag;
        if (!slot->is_used || pp_kafka_consumer_lag(r->consumer, (enum pp_topic)slot->k1,
                                                    (int32_t)slot->k2, &lag) != PP_OK)
            continue;
        err = pp_buf_printf(out, "pinpipe_consumer_lag{topic=\"%s\",partition=\"%llu\"} %lld\n",
                            r->topic_names[slot->k1], (unsigned long long)slot->k2, (long long)lag);
    }
    RUN_METRIC("pinpipe_ring_occupancy", "gauge", "Batches waiting in the pipeline's rings.");
    if (!err)
        err = pp_buf_printf(out, "pinpipe_ring_occupancy{ring=\"pipeline\"} %zu\n",
                            pp_pipeline_backlog(r->pipeline));
    RUN_METRIC("pinpipe_post_visible_seconds", "histogram",
               "From a post's last record timestamp to the post being visible in the answers.");
    for (i = 0; i < RUN_VISIBLE_BUCKETS && !err; i++) {
        cumulative += r->visible.buckets[i];
        err = pp_buf_printf(out, "pinpipe_post_visible_seconds_bucket{le=\"%g\"} %llu\n",
                            run_visible_bounds[i], (unsigned long long)cumulative);
    }
    if (!err)
        err = pp_buf_printf(out,
                            "pinpipe_post_visible_seconds_bucket{le=\"+Inf\"} %llu\n"
                            "pinpipe_post_visible_seconds_sum %.6f\n"
                            "pinpipe_post_visible_seconds_count %llu\n",
                            (unsigned long long)r->visible.count, r->visible.sum,
                            (unsigned long long)r->visible.count);
#undef RUN_METRIC
    return err;
}

/* Renders every document into fresh buffers, then swaps them in under the
 * lock, so a request never waits for rendering. */
static enum pp_err run_publish(struct run *r)
{
    struct pp_buf *all = r->next_all;
    struct pp_buf(*one)[PP_QUERY_COUNT] = r->next_one;
    const struct pp_stream_counts *counts = pp_stream_counts(r->stream);
    size_t n_specs = pp_window_set_spec_count(r->windows);
    struct pp_render_input input;
    struct pp_buf tail;
    struct pp_buf status;
    struct pp_buf metrics;
    int64_t watermark = pp_window_set_watermark(r->windows);
    enum pp_err err = PP_OK;
    size_t s;
    size_t w;
    size_t i;
    int q;

    memset(&input, 0, sizeof input);
    input.counts = &counts->input;
    input.posts = counts->posts;
    memcpy(input.orphans, counts->orphans, sizeof input.orphans);
    pp_buf_init(&tail);
    pp_buf_init(&status);
    pp_buf_init(&metrics);
    run_visible_observe(&r->visible);
    err = pp_buf_append_str(&tail, "],\"input\":");
    if (!err)
        err = pp_render_input_json(&input, &tail);
    if (!err)
        err = pp_buf_append_str(&tail, "}\n");
    for (s = 0; s < n_specs && !err; s++) {
        char head[256];
        pp_config_window_format(pp_window_set_spec(r->windows, s), r->snap.spec_text[s],
                                sizeof r->snap.spec_text[s]);
        if (watermark == INT64_MIN)
            snprintf(head, sizeof head, "{\"window\":\"%s\",\"watermark_ms\":null,",
                     r->snap.spec_text[s]);
        else
            snprintf(head, sizeof head, "{\"window\":\"%s\",\"watermark_ms\":%lld,",
                     r->snap.spec_text[s], (long long)watermark);
        all[s].len = 0;
        err = pp_buf_printf(&all[s], "%s\"late_posts\":%llu,\"windows\":[", head,
                            (unsigned long long)pp_window_set_late_posts(r->windows));
        for (q = 0; q < PP_QUERY_COUNT && !err; q++) {
            one[s][q].len = 0;
            err = pp_buf_append(&one[s][q], all[s].data, all[s].len);
        }
        for (w = 0; w < pp_window_set_count(r->windows, s) && !err; w++) {
            if (w > 0) {
                err = pp_buf_append(&all[s], ",", 1);
                for (q = 0; q < PP_QUERY_COUNT && !err; q++)
                    err = pp_buf_append(&one[s][q], ",", 1);
            }
            if (!err)
                err = run_render_window(r, s, w, &all[s], one[s]);
        }
        if (!err)
            err = pp_buf_append(&all[s], tail.data, tail.len);
        for (q = 0; q < PP_QUERY_COUNT && !err; q++)
            err = pp_buf_append(&one[s][q], tail.data, tail.len);
    }
    if (!err)
        err = pp_buf_printf(&status,
                            "{\"records\":%llu,\"posts\":%llu,\"late_posts\":%llu,"
                            "\"assigned_partitions\":%zu,\"offsets\":[",
                            (unsigned long long)r->records, (unsigned long long)counts->posts,
                            (unsigned long long)pp_window_set_late_posts(r->windows),
                            pp_kafka_consumer_assigned(r->consumer));
    for (i = 0; i < r->offsets.cap && !err; i++) {
        const struct pp_hmap_slot *slot = &r->offsets.slots[i];
        if (!slot->is_used)
            continue;
        err = pp_buf_printf(&status, "%s{\"topic\":\"%s\",\"partition\":%llu,\"next_offset\":%llu}",
                            status.len > 0 && status.data[status.len - 1] != '[' ? "," : "",
                            r->topic_names[slot->k1], (unsigned long long)slot->k2,
                            (unsigned long long)slot->value);
    }
    if (!err)
        err = pp_buf_append_str(&status, "]}\n");
    if (!err)
        err = run_render_metrics(r, &metrics);
    if (!err) {
        pthread_mutex_lock(&r->snap.lock);
        for (s = 0; s < n_specs; s++) {
            struct pp_buf tmp = r->snap.all[s];
            r->snap.all[s] = all[s];
            all[s] = tmp;
            for (q = 0; q < PP_QUERY_COUNT; q++) {
                tmp = r->snap.one[s][q];
                r->snap.one[s][q] = one[s][q];
                one[s][q] = tmp;
            }
        }
        pp_buf_cleanup(&r->snap.status);
        r->snap.status = status;
        pp_buf_init(&status);
        pp_buf_cleanup(&r->snap.metrics);
        r->snap.metrics = metrics;
        pp_buf_init(&metrics);
        r->snap.n_specs = n_specs;
        r->snap.is_ready = true;
        pthread_mutex_unlock(&r->snap.lock);
    }
    pp_buf_cleanup(&tail);
    pp_buf_cleanup(&status);
    pp_buf_cleanup(&metrics);
    return err;
}

static void run_docs_cleanup(struct pp_buf all[RUN_MAX_SETS],
                             struct pp_buf one[RUN_MAX_SETS][PP_QUERY_COUNT])
{
    size_t s;
    int q;

    for (s = 0; s < RUN_MAX_SETS; s++) {
        pp_buf_cleanup(&all[s]);
        for (q = 0; q < PP_QUERY_COUNT; q++)
            pp_buf_cleanup(&one[s][q]);
    }
}

/* ---- HTTP handlers (server threads: snapshots only) ----------------------- */

static enum pp_err run_copy_locked(struct run_snapshot *snap, const struct pp_buf *doc,
                                   struct pp_http_response *resp)
{
    enum pp_err err = pp_buf_append(&resp->body, doc->data ? doc->data : "", doc->len);

    pthread_mutex_unlock(&snap->lock);
    return err;
}

static enum pp_err run_get_queries(void *arg, const struct pp_http_request *req,
                                   struct pp_http_response *resp)
{
    struct run_snapshot *snap = arg;
    const char *window = pp_http_query(req, "window");
    struct pp_config_window spec;
    char text[PP_CONFIG_WINDOW_TEXT_MAX];
    enum pp_query_id id = PP_QUERY_CATEGORY_BY_COUNTRY;
    bool is_one = req->tail.len > 0;
    char name[128];
    size_t s;

    if (is_one) {
        snprintf(name, sizeof name, "%.*s", (int)req->tail.len, req->tail.ptr);
        if (req->tail.len >= sizeof name || pp_query_lookup(name, &id) != PP_OK)
            return pp_http_response_error(resp, 404, 40401, "unknown query '%s'", name);
    }
    if (window == NULL || window[0] == '\0')
        window = "all";
    if (pp_config_window_parse(window, strlen(window), &spec, NULL) != PP_OK)
        return pp_http_response_error(
            resp, 400, 40001, "window must be all, tumbling:<dur> or hopping:<size>/<slide>");
    pp_config_window_format(&spec, text, sizeof text);
    pthread_mutex_lock(&snap->lock);
    if (!snap->is_ready) {
        pthread_mutex_unlock(&snap->lock);
        return pp_http_response_error(resp, 503, 50301, "starting up");
    }
    for (s = 0; s < snap->n_specs; s++)
        if (strcmp(snap->spec_text[s], text) == 0)
            return run_copy_locked(snap, is_one ? &snap->one[s][id] : &snap->all[s], resp);
    pthread_mutex_unlock(&snap->lock);
    return pp_http_response_error(resp, 404, 40402,
                                  "window '%s' is not kept (see analytics.windows)", text);
}

static enum pp_err run_get_status(void *arg, const struct pp_http_request *req,
                                  struct pp_http_response *resp)
{
    struct run_snapshot *snap = arg;

    (void)req;
    pthread_mutex_lock(&snap->lock);
    return run_copy_locked(snap, &snap->status, resp);
}

static enum pp_err run_get_metrics(void *arg, const struct pp_http_request *req,
                                   struct pp_http_response *resp)
{
    struct run_snapshot *snap = arg;

    (void)req;
    resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
    pthread_mutex_lock(&snap->lock);
    return run_copy_locked(snap, &snap->metrics, resp);
}

static enum pp_err run_get_health(void *arg, const struct pp_http_request *req,
                                  struct pp_http_response *resp)
{
    (void)arg;
    (void)req;
    return pp_buf_append_str(&resp->body, "{\"status\":\"ok\"}\n");
}

static enum pp_err run_get_ready(void *arg, const struct pp_http_request *req,
                                 struct pp_http_response *resp)
{
    struct run_snapshot *snap = arg;
    bool is_ready;

    (void)req;
    pthread_mutex_lock(&snap->lock);
    is_ready = snap->is_ready;
    pthread_mutex_unlock(&snap->lock);
    if (!is_ready)
        return pp_http_response_error(resp, 503, 50301, "starting up");
    return pp_buf_append_str(&resp->body, "{\"status\":\"ready\"}\n");
}

/* ---- the consumer loop ------------------------------------------------------ */

static enum pp_err run_commit(struct run *r)
{
    struct pp_kafka_offset offsets[512];
    size_t n = 0;
    size_t i;

    for (i = 0; i < r->offsets.cap && n < sizeof offsets / sizeof offsets[0]; i++) {
        const struct pp_hmap_slot *slot = &r->offsets.slots[i];
        if (slot->is_used)
            offsets[n++] = (struct pp_kafka_offset){(enum pp_topic)slot->k1, (int32_t)slot->k2,
                                                    (int64_t)slot->value};
    }
    return n ? pp_kafka_consumer_commit(r->consumer, offsets, n) : PP_OK;
}

/* Applies one batch: every record to the stream, joined posts to the
 * windows, and the next offset of each partition. */
static enum pp_err run_apply(struct run *r, const struct pp_batch *batch)
{
    const struct pp_clean_item *items = pp_clean_items(batch);
    struct pp_stream_post post;
    bool is_joined;
    enum pp_err err;
    size_t i;

    for (i = 0; i < batch->n_out; i++) {
        uint64_t *next;
        /* The budget is off (max_keys 0) until backpressure arrives with
         * the sink, so PP_AGAIN cannot happen here. */
        if ((err = pp_stream_add(r->stream, &items[i], &post, &is_joined)))
            return err;
        if (is_joined) {
            struct run_visible *v = &r->visible;
            if ((err = pp_window_set_add(r->windows, &post.post, &r->strings, post.time_ms)))
                return err;
            if (post.time_ms >= 0) {
                int64_t *grown = pp_array_reserve(v->pending, &v->cap_pending, v->n_pending,
                                                  sizeof *grown, 1024);
                if (grown == NULL)
                    return PP_ERR_NOMEM;
                v->pending = grown;
                v->pending[v->n_pending++] = post.time_ms;
            }
        }
        next = pp_hmap_upsert(&r->offsets, (uint64_t)items[i].topic, (uint64_t)items[i].partition,
                              NULL);
        if (next == NULL)
            return PP_ERR_NOMEM;
        if ((uint64_t)items[i].offset + 1 > *next)
            *next = (uint64_t)items[i].offset + 1;
        r->records++;
    }
    return PP_OK;
}

static enum pp_err run_loop(struct run *r, bool is_quiet)
{
    struct pp_batch *batch;
    double last_snapshot = 0;
    double last_commit = pp_cli_now();
    double last_status = pp_cli_now();
    bool is_stopping = false;
    enum pp_err err = PP_OK;

    while (pp_pipeline_next(r->pipeline, &batch) == PP_OK) {
        err = run_apply(r, batch);
        pp_pipeline_release(r->pipeline, batch);
        if (err)
            return err;
        if (pp_cli_now() - last_snapshot >= RUN_SNAPSHOT_EVERY_S) {
            if ((err = run_publish(r)))
                return err;
            last_snapshot = pp_cli_now();
        }
        if (pp_cli_now() - last_commit >= RUN_COMMIT_EVERY_S) {
            /* A failed commit is retried by the next one, which covers the
             * same records: log it and go on. */
            if (run_commit(r) != PP_OK)
                pp_log_warn("run: offset commit failed; retrying with the next one");
            last_commit = pp_cli_now();
        }
        if (!is_quiet && isatty(STDERR_FILENO) && pp_cli_now() - last_status >= 1.0) {
            fprintf(stderr, "\rpinpipe: run: %llu records, %llu posts, %llu late\033[K",
                    (unsigned long long)r->records,
                    (unsigned long long)pp_stream_counts(r->stream)->posts,
                    (unsigned long long)pp_window_set_late_posts(r->windows));
            last_status = pp_cli_now();
        }
        if (!is_stopping && pp_cli_is_stopped(true)) {
            pp_log_info("run: stopping");
            pp_kafka_consumer_stop(r->consumer);
            is_stopping = true;
        }
    }
    if (!is_quiet && isatty(STDERR_FILENO))
        fputs("\n", stderr);
    return run_publish(r);
}

int pp_cmd_run(int argc, char **argv)
{
    struct run r;
    struct pp_kafka_property props[256];
    struct pp_kafka_consumer_options kopt;
    struct pp_http_options hopt;
    struct pp_stream_options sopt;
    struct pp_clean_options copt;
    const struct pp_config_window *specs;
    size_t n_specs;
    size_t n_props;
    bool is_quiet = false;
    sigset_t stop_signals;
    char msg[1024];
    enum pp_err err = PP_OK;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int rc;
    size_t i;
    int t;

    memset(&r, 0, sizeof r);
    pthread_mutex_init(&r.snap.lock, NULL);
    pp_intern_init(&r.strings);
    pp_hmap_init(&r.offsets);
    r.cfg = pp_config_new();
    if (r.cfg == NULL) {
        rc = 1;
        goto out;
    }
    rc = run_parse_args(argc, argv, r.cfg, &is_quiet);
    if (rc != 0) {
        rc = rc < 0 ? 0 : rc;
        goto out;
    }
    rc = 1;
    if (is_quiet)
        pp_log_set_level(PP_LOG_WARN);
    /* Blocked before any thread starts, so every thread inherits the mask
     * and the signals stay pending for run_loop to see. */
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);

    specs = pp_config_windows(r.cfg, &n_specs);
    if (n_specs > RUN_MAX_SETS) {
        fprintf(stderr, "pinpipe: run: analytics.windows: at most %d window specs\n",
                RUN_MAX_SETS - 1);
        rc = 2;
        goto out;
    }
    sopt.dedup_ttl_ms = pp_config_ms(r.cfg, "dedup.ttl");
    sopt.join_timeout_ms = pp_config_ms(r.cfg, "join.timeout");
    sopt.max_keys = 0;
    r.stream = pp_stream_new(&sopt, &r.strings);
    r.windows = pp_window_set_new(specs, n_specs, pp_config_ms(r.cfg, "analytics.allowed.lateness"),
                                  pp_config_ms(r.cfg, "analytics.retention"));
    if (r.stream == NULL || r.windows == NULL) {
        err = PP_ERR_NOMEM;
        goto fail;
    }

    memset(&kopt, 0, sizeof kopt);
    n_props = pp_config_kafka_count(r.cfg);
    if (n_props > sizeof props / sizeof props[0])
        n_props = sizeof props / sizeof props[0];
    kopt.group_id = RUN_GROUP_DEFAULT;
    for (i = 0; i < n_props; i++) {
        pp_config_kafka_at(r.cfg, i, &props[i].name, &props[i].value);
        if (strcmp(props[i].name, "group.id") == 0)
            kopt.group_id = NULL; /* the property decides */
    }
    kopt.properties = props;
    kopt.n_properties = n_props;
    for (t = 0; t < PP_TOPIC_COUNT; t++) {
        snprintf(r.topic_names[t], sizeof r.topic_names[t], "%s.%s",
                 pp_config_str(r.cfg, "topics.prefix"), pp_topic_name((enum pp_topic)t));
        kopt.topics[t] = r.topic_names[t];
    }
    if ((err = pp_kafka_consumer_new(&kopt, &r.consumer, msg, sizeof msg))) {
        fprintf(stderr, "pinpipe: run: %s\n", msg);
        rc = err == PP_ERR_USAGE ? 2 : 1;
        goto out;
    }

    memset(&hopt, 0, sizeof hopt);
    hopt.listen = pp_config_str(r.cfg, "http.listen");
    hopt.auth_token = pp_config_str(r.cfg, "http.auth.token");
    hopt.is_auth_none = strcmp(pp_config_str(r.cfg, "http.auth"), "none") == 0;
    hopt.max_body_bytes = (size_t)pp_config_bytes(r.cfg, "http.max.body.bytes");
    if ((err = pp_http_new(&hopt, &r.http, msg, sizeof msg))) {
        fprintf(stderr, "pinpipe: run: %s\n", msg);
        rc = err == PP_ERR_USAGE ? 2 : 1;
        goto out;
    }
    if ((err = pp_http_route(r.http, "GET", "/healthz", run_get_health, &r.snap, PP_HTTP_PUBLIC)) ||
        (err = pp_http_route(r.http, "GET", "/readyz", run_get_ready, &r.snap, PP_HTTP_PUBLIC)) ||
        (err = pp_http_route(r.http, "GET", "/v1/queries", run_get_queries, &r.snap, 0)) ||
        (err = pp_http_route(r.http, "GET", "/v1/queries/*", run_get_queries, &r.snap, 0)) ||
        (err = pp_http_route(r.http, "GET", "/v1/status", run_get_status, &r.snap, 0)) ||
        (err = pp_http_route(r.http, "GET", "/metrics", run_get_metrics, &r.snap, 0)))
        goto fail;

    copt.max_record_bytes = (size_t)pp_config_bytes(r.cfg, "input.max.record.bytes");
    copt.is_query_only = true; /* until the cleaned lake (issue 4) needs every column */
    struct pp_pipeline_config pcfg = {
        .workers = ncpu > 0 ? (size_t)ncpu : 1,
        .batches_per_worker = 4,
        .batch_bytes = copt.max_record_bytes + 4096 > RUN_BATCH_MIN ? copt.max_record_bytes + 4096
                                                                    : RUN_BATCH_MIN,
        .fill = pp_kafka_consumer_fill,
        .source = r.consumer,
        .stage = &pp_clean_stage,
        .stage_arg = &copt,
    };
    if ((err = pp_pipeline_start(&pcfg, &r.pipeline)))
        goto fail;
    if ((err = run_publish(&r)))
        goto fail;
    if ((err = pp_http_start(r.http, msg, sizeof msg))) {
        fprintf(stderr, "pinpipe: run: %s\n", msg);
        goto out;
    }
    if (!is_quiet)
        pp_log_info("run: consuming %s, %s, %s; API on http://%s", r.topic_names[0],
                    r.topic_names[1], r.topic_names[2], hopt.listen);
    err = run_loop(&r, is_quiet);
    if (err == PP_OK)
        err = pp_pipeline_stop(r.pipeline);
    else
        pp_pipeline_stop(r.pipeline);
    r.pipeline = NULL;
    if (err)
        goto fail;
    if (run_commit(&r) != PP_OK)
        pp_log_warn("run: the final offset commit failed; a restart re-reads those records");
    if (!is_quiet)
        pp_log_info("run: stopped after %llu records, %llu posts", (unsigned long long)r.records,
                    (unsigned long long)pp_stream_counts(r.stream)->posts);
    rc = 0;
    goto out;
fail:
    fprintf(stderr, "pinpipe: run: %s\n", pp_err_str(err));
    rc = 1;
out:
    pp_http_stop(r.http);
    pp_pipeline_stop(r.pipeline);
    pp_http_destroy(r.http);
    pp_kafka_consumer_destroy(r.consumer);
    pp_window_set_destroy(r.windows);
    pp_stream_destroy(r.stream);
    pp_hmap_cleanup(&r.offsets);
    pp_intern_cleanup(&r.strings);
    run_docs_cleanup(r.snap.all, r.snap.one);
    run_docs_cleanup(r.next_all, r.next_one);
    pp_buf_cleanup(&r.snap.status);
    pp_buf_cleanup(&r.snap.metrics);
    free(r.visible.pending);
    pthread_mutex_destroy(&r.snap.lock);
    pp_config_destroy(r.cfg);
    return rc;
}
