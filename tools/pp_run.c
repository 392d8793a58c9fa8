/*
 * pp_run: the streaming engine (see pp_run.h; docs/run.md).
 *
 * Documents are rendered on demand. An HTTP thread that wants the answers,
 * the status or the metrics queues a request on the desk and waits; the
 * loop thread, which owns the state, serves the desk between two batches
 * (and at least every poll timeout when Kafka is idle), so an answer
 * includes every batch applied before the request arrived and costs nothing
 * when nobody asks. A post is therefore visible as soon as its batch is
 * applied, which is when pinpipe_post_visible_seconds observes it.
 *
 * The lake sink's chunks are encoded by the clean workers (pp_sink_stage)
 * and appended by the loop thread, which also drives the object store. A
 * partition's offset is committed once its records are applied to the
 * analytics and durable in the lake (docs/sink.md), and, with checkpoints
 * on, once a checkpoint holding their effects is durable too
 * (docs/checkpoints.md): a restart loads the checkpoint and skips, for the
 * analytics, the records it already holds.
 *
 * The analytics are kept per partition number (struct run_shard), so that
 * a partition's state moves with it between the members of a group: loaded
 * at each assignment, checkpointed by its owner only, handed over at a
 * revocation, which the consumer holds until then (run_handover()).
 */
#include "pp_run.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pp_clean.h"
#include "pp_checkpoint.h"
#include "pp_cli.h"
#include "pp_dashboard.h"
#include "pp_hmap.h"
#include "pp_http.h"
#include "pp_kafka.h"
#include "pp_log.h"
#include "pp_pipeline.h"
#include "pp_query.h"
#include "pp_render.h"
#include "pp_rest.h"
#include "pp_sink.h"
#include "pp_spool.h"
#include "pp_store.h"
#include "pp_stream.h"
#include "pp_window.h"

#define RUN_BATCH_MIN (1u << 20)
#define RUN_COMMIT_EVERY_S 1.0
/* How long a commit waits for the dead-letter topic's deliveries. */
#define RUN_DLQ_FLUSH_MS 10000
#define RUN_MAX_SPECS 64
#define RUN_GROUP_DEFAULT "pinpipe"
/* How long the loop thread may sit in one fill when Kafka is idle: the
 * worst wait of a request then. */
#define RUN_POLL_TIMEOUT_MS 20
/* The checkpoint object's key, with the group id %-encoded. */
#define RUN_CHECKPOINT_KEY_MAX 512
/* The share of the loop thread's time a round of checkpoints may take: a
 * shard is encoded on the loop thread, so a round is paced shard by shard
 * (run_checkpoint) rather than stalling every partition's records. */
#define RUN_CHECKPOINT_SHARE 0.1
/* Topic-partitions the lag is shown for, at most. */
#define RUN_ASSIGNED_MAX 3072
/* How long a new assignment waits for its committed offsets (the lag). */
#define RUN_COMMITTED_WAIT_MS 5000
/* Reads of a partition's checkpoints before a store failure stops the run. */
#define RUN_LOAD_ATTEMPTS 5
/* How long a start with a checkpoint waits for the cluster's id. */
#define RUN_CLUSTER_ID_WAIT_MS 10000
/* A request not served in this time answers 503 (the loop is stuck). */
#define RUN_REQUEST_TIMEOUT_S 5
/* The answers of closed windows kept rendered (struct run_answers): the
 * dashboard's 120 windows of each of a few specs, with room to spare. */
#define RUN_ANSWERS_MAX 1024
#define RUN_ANSWERS_MAX_BYTES (32u << 20)

enum run_doc {
    RUN_DOC_QUERIES,
    RUN_DOC_STATUS,
    RUN_DOC_METRICS,
};

/* One HTTP request waiting for the loop thread. Lives on the HTTP
 * thread's stack; linked into the desk while queued. */
struct run_request {
    enum run_doc doc;
    size_t spec; /* RUN_DOC_QUERIES: the window spec's number */
    int query;   /* RUN_DOC_QUERIES: a pp_query_id, or -1 for all nine */
    size_t last; /* RUN_DOC_QUERIES: only the newest windows; 0: all */
    /* RUN_DOC_QUERIES: answers for only the newest of those; the others
     * are listed without their queries (the dashboard's trend needs only
     * their posts). 0: all. */
    size_t answers;
    struct pp_buf *out;
    enum pp_err err;
    bool is_done;
    struct run_request *next;
};

/* Where HTTP threads hand requests to the loop thread. */
struct run_desk {
    pthread_mutex_t lock;
    pthread_cond_t served;
    struct run_request *head; /* queued, not yet served */
    atomic_bool has_work;     /* head != NULL, read without the lock */
    bool is_open;             /* the loop serves requests */
    /* Written before the server starts, then read-only. */
    size_t n_specs;
    char spec_text[RUN_MAX_SPECS][PP_CONFIG_WINDOW_TEXT_MAX];
};

/* pinpipe_post_visible_seconds: from a post's last record timestamp to the
 * end of the batch that applies it. */
static const double run_visible_bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                            0.5,   1,    2.5,   5,    10};
#define RUN_VISIBLE_BUCKETS (sizeof run_visible_bounds / sizeof run_visible_bounds[0])

struct run_visible {
    int64_t *pending; /* times (ms) of the posts joined by the current batch */
    size_t n_pending;
    size_t cap_pending;
    uint64_t buckets[RUN_VISIBLE_BUCKETS]; /* cumulative counts are derived */
    uint64_t count;
    double sum;
};

/* State checkpoints (docs/checkpoints.md), on the loop thread: what the
 * shards share. */
struct run_checkpoint {
    int64_t interval_ms; /* state.checkpoint.interval; 0: off */
    char config[1024];   /* the keys the state depends on */
    enum pp_err err;     /* a checkpoint that failed for good stops the run */
    double last;         /* when the last round was due */
    bool is_due;         /* a round is due: the shards changed since their last are written */
    size_t cursor;       /* the shard the round in progress goes on from */
    double next_at;      /* a paced round encodes its next shard from then */
    double round_s;      /* how long the last paced round took, start to last shard started */
    size_t n_writing;    /* shards whose checkpoint is being written */
    size_t n_given_up;   /* of those, shards of partitions given up: freed when written */
    size_t n_unchecked;  /* shards loaded before the cluster's id was known */
    bool is_cluster_warned;
    uint64_t written;
    uint64_t last_bytes; /* of the last shard checkpoint encoded */
    double last_encode_s;
    uint64_t restored_posts; /* posts in the shards loaded from checkpoints */
    char cluster_id[128];    /* the Kafka cluster's id, "" until known */
    bool is_cluster_asked;   /* the first load waited for it */
    struct pp_hmap scratch;  /* one shard's applied offsets, encoding or loading */
};

/*
 * The analytics of one partition number (docs/checkpoints.md): the topics
 * are co-partitioned by ind, so partition p of pin, geo and user carries
 * whole posts, and its state (strings, dedup keys, pending joins, windows)
 * can be saved, loaded and moved to another member alone. The member keeps
 * one clock (pp_run's clock_ms and post_clock_ms): a shard is advanced to it
 * before it takes a record, so lateness, expiry and window closing are
 * decided as by one state fed every record. Loop thread.
 */
struct run_shard {
    int32_t partition;
    struct pp_intern strings;
    struct pp_stream *stream;
    struct pp_window_set *windows;
    /* Loaded for a new assignment: a topic's records are taken from its
     * first record of that assignment (marked is_resumed) on; one
     * fetched before is stale. */
    bool is_awaiting[PP_TOPIC_COUNT];
    uint64_t seq; /* the next checkpoint's number; it goes to generation seq % 2 */
    /* The resume points (committable offsets when it was taken) of the
     * newest durable checkpoint (a partition absent there is not
     * committed), and of the one being written. */
    struct pp_hmap durable;
    struct pp_hmap writing;
    bool is_writing;
    /* Given up at a revocation while being written: no longer in
     * pp_run's shards, freed by run_checkpoint_done(). */
    bool is_given_up;
    bool has_durable;         /* one is in the lake (written or loaded) */
    uint64_t records;         /* records applied to it by this process */
    uint64_t records_at;      /* records when its last checkpoint was started */
    uint64_t records_durable; /* records when its newest durable one was started */
    /* The cluster of the checkpoint loaded while the run's own was not
     * known yet: checked once it is (run_checkpoint_check_cluster). */
    char unchecked_cluster[128];
    struct pp_run *run;
};

/* The member's answers and counts over its shards, as of the last
 * run_view_update() (loop thread). */
struct run_view {
    /* An empty window set: the answers of a member without shards (its
     * `all` window, with no posts). */
    struct pp_window_set *blank;
    struct pp_intern blank_strings;
    struct pp_window_shard *shards;
    size_t n_shards;
    size_t cap_shards;
    struct pp_stream_counts counts;
    struct pp_window_stats windows;
    uint64_t late_posts;
    int64_t watermark; /* INT64_MIN before the first post */
};

/*
 * One closed window's JSON object in a /v1/queries document: all nine
 * queries (query -1) or one.
 */
struct run_answer {
    size_t spec;
    int64_t start_ms;
    int query;
    char *text; /* malloc'd, len bytes */
    size_t len;
};

/*
 * The answers of closed windows, rendered once. A closed window is final,
 * but answering it merges its state in every shard (thawing each frozen
 * one), and the dashboard asks for the newest 120 windows of a spec every
 * 2 s. Valid while the member keeps the same shards: a shard loaded again
 * from its checkpoint, or one given up, changes the answers, and then
 * shards_epoch moves and everything here goes. The oldest go first beyond
 * RUN_ANSWERS_MAX answers or RUN_ANSWERS_MAX_BYTES. Loop thread.
 */
struct run_answers {
    struct run_answer *items; /* oldest first */
    size_t n;
    size_t cap;
    size_t bytes;
    uint64_t epoch; /* the shards_epoch they were rendered at */
};

/* The live status line. */
struct run_status_line {
    double last;
    uint64_t last_records;
    uint64_t last_posts;
};

struct pp_run {
    const struct pp_config *cfg;
    struct pp_run_options options;
    struct pp_kafka_consumer *consumer;
    struct pp_pipeline *pipeline;
    struct pp_http *http;
    struct pp_rest *rest; /* POST /topics/{topic}, producing to the three topics */
    struct pp_clean_options clean;
    /* The shards by partition number (NULL: none here), and what makes one. */
    struct run_shard **shards;
    size_t cap_shards;
    struct pp_stream_options stream_opt;
    const struct pp_config_window *specs;
    size_t n_specs;
    int64_t lateness_ms;
    int64_t retention_ms;
    uint64_t assignments;  /* the consumer's assignments whose shards are loaded */
    int64_t clock_ms;      /* the largest record timestamp applied: stream time */
    int64_t post_clock_ms; /* the largest post time applied: the windows' clock */
    struct run_view view;
    uint64_t shards_epoch; /* moves whenever a shard is made or given up */
    struct run_answers answers;
    struct pp_hmap offsets; /* (topic, partition) -> next offset to apply */
    struct pp_store *store;
    struct pp_sink *sink;
    struct pp_spool *spool; /* the sink's open objects; NULL: in memory */
    struct pp_sink_layout layout;
    struct pp_sink_stage_arg sink_arg;
    uint64_t max_buffered;       /* sink.max.buffered.bytes */
    int64_t shutdown_timeout_ms; /* sink.shutdown.timeout.ms */
    /* errors.deadletterqueue.topic.name: rejects also go there */
    struct pp_kafka_producer *dlq;
    const char *dlq_topic;
    struct pp_buf dlq_line;
    uint64_t dlq_sent;
    uint64_t sink_waits; /* times the loop waited for the store */
    /* Records applied by this process whose effects it holds (a shard given
     * up takes back those after its newest durable checkpoint). */
    uint64_t records;
    uint64_t
        redelivered; /* records skipped: applied before a rebalance or held by the checkpoint */
    uint64_t stale;  /* records skipped: of a partition given up, fetched before its revocation */
    struct run_checkpoint ckpt;
    char group_id[RUN_CHECKPOINT_KEY_MAX]; /* kafka.group.id, for the checkpoints' keys */
    atomic_bool is_stopped;
    char topic_names[PP_TOPIC_COUNT][256];
    char url[300];   /* http://<host as configured>:<port as bound> */
    char error[600]; /* pp_run_error() */
    struct run_desk desk;
    struct run_visible visible;
    struct run_status_line line;
};

/* ---- documents (loop thread) ------------------------------------------------ */

static void run_answers_clear(struct run_answers *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->items[i].text);
    a->n = 0;
    a->bytes = 0;
}

/* The answer kept for a closed window, or NULL. */
static const struct run_answer *run_answers_find(struct pp_run *r, size_t spec, int64_t start_ms,
                                                 int query)
{
    struct run_answers *a = &r->answers;

    if (a->epoch != r->shards_epoch) {
        run_answers_clear(a);
        a->epoch = r->shards_epoch;
    }
    for (size_t i = a->n; i-- > 0;)
        if (a->items[i].spec == spec && a->items[i].start_ms == start_ms &&
            a->items[i].query == query)
            return &a->items[i];
    return NULL;
}

/* Keeps a copy of a closed window's answer; out of memory, it is simply
 * not kept. */
static void run_answers_keep(struct pp_run *r, size_t spec, int64_t start_ms, int query,
                             const char *text, size_t len)
{
    struct run_answers *a = &r->answers;
    struct run_answer *grown;
    size_t k = 0;
    char *copy;

    if (len > RUN_ANSWERS_MAX_BYTES / 4)
        return;
    while (k < a->n && (a->n - k >= RUN_ANSWERS_MAX || a->bytes + len > RUN_ANSWERS_MAX_BYTES)) {
        a->bytes -= a->items[k].len;
        free(a->items[k++].text);
    }
    if (k > 0) {
        memmove(&a->items[0], &a->items[k], (a->n - k) * sizeof *a->items);
        a->n -= k;
    }
    /* pp_array_reserve() may have moved the array: it is ours from here. */
    if ((grown = pp_array_reserve(a->items, &a->cap, a->n, sizeof *a->items, 64)) == NULL)
        return;
    a->items = grown;
    if ((copy = malloc(len)) == NULL)
        return;
    memcpy(copy, text, len);
    a->items[a->n++] = (struct run_answer){spec, start_ms, query, copy, len};
    a->bytes += len;
}

/* The tables of queries first .. last over a closed window: its whole
 * state merged across the shards once (each frozen state thawed once),
 * then every query answered from it. */
static enum pp_err run_closed_tables(const struct pp_run *r, size_t spec, int64_t start_ms,
                                     int first, int last, struct pp_intern *strings,
                                     struct pp_table *tables, size_t *n_tables)
{
    struct pp_query_state merged;
    enum pp_err err;

    pp_query_init(&merged);
    err =
        pp_window_shards_merge(r->view.shards, r->view.n_shards, spec, start_ms, strings, &merged);
    for (int q = first; q <= last && !err; q++) {
        err = pp_query_result(&merged, strings, (enum pp_query_id)q, &tables[*n_tables]);
        if (!err)
            ++*n_tables;
    }
    pp_query_cleanup(&merged);
    return err;
}

/* A window's object up to its posts, what every listed window starts
 * with, then then: "}" for a window listed without its answers, or what
 * leads into them. */
static enum pp_err run_render_bounds(const struct pp_window_info *info, const char *then,
                                     struct pp_buf *out)
{
    if (info->start_ms == INT64_MIN)
        return pp_buf_printf(out,
                             "{\"start_ms\":null,\"end_ms\":null,\"open\":true,\"posts\":%llu%s",
                             (unsigned long long)info->posts, then);
    return pp_buf_printf(out, "{\"start_ms\":%lld,\"end_ms\":%lld,\"open\":%s,\"posts\":%llu%s",
                         (long long)info->start_ms, (long long)info->end_ms,
                         info->is_open ? "true" : "false", (unsigned long long)info->posts, then);
}

static enum pp_err run_render_window(struct pp_run *r, size_t spec,
                                     const struct pp_window_info *info, int query,
                                     struct pp_buf *out)
{
    const struct run_answer *kept = NULL;
    struct pp_table tables[PP_QUERY_COUNT];
    struct pp_intern strings; /* the merged answers' text */
    size_t n_tables = 0;
    size_t at = out->len;
    enum pp_err err = PP_OK;
    int first = query < 0 ? 0 : query;
    int last = query < 0 ? PP_QUERY_COUNT - 1 : query;
    int q;

    if (!info->is_open && (kept = run_answers_find(r, spec, info->start_ms, query)) != NULL)
        return pp_buf_append(out, kept->text, kept->len);
    pp_intern_init(&strings);
    err = run_render_bounds(info, ",\"queries\":", out);
    if (!err && !info->is_open) {
        err = run_closed_tables(r, spec, info->start_ms, first, last, &strings, tables, &n_tables);
    } else {
        for (q = first; q <= last && !err; q++) {
            err = pp_window_shards_result(r->view.shards, r->view.n_shards, spec, info->start_ms,
                                          (enum pp_query_id)q, &strings, &tables[n_tables]);
            if (!err)
                n_tables++;
        }
    }
    if (!err)
        err = pp_render_queries_json(tables, n_tables, out);
    if (!err)
        err = pp_buf_append(out, "}", 1);
    if (!err && !info->is_open)
        run_answers_keep(r, spec, info->start_ms, query, out->data + at, out->len - at);
    for (size_t i = 0; i < n_tables; i++)
        pp_table_cleanup(&tables[i]);
    pp_intern_cleanup(&strings);
    return err;
}

/* {"window":..., "watermark_ms":..., "late_posts":..., "windows":[...],
 * "input":{...}}: the windows of one spec over the member's shards (the
 * newest `last`, or all when last is 0), all nine queries or one, for the
 * newest `answers` of them (all when 0; the others with their bounds and
 * posts only). */
static enum pp_err run_render_queries(struct pp_run *r, size_t spec, int query, size_t last,
                                      size_t answers, struct pp_buf *out)
{
    const struct pp_stream_counts *counts = &r->view.counts;
    int64_t watermark = r->view.watermark;
    struct pp_window_info *infos = NULL;
    struct pp_render_input input;
    size_t count = 0;
    size_t first, answered;
    enum pp_err err;
    size_t w;

    err = pp_window_shards_list(r->view.shards, r->view.n_shards, spec, &infos, &count);
    first = last > 0 && count > last ? count - last : 0;
    answered = answers > 0 && count - first > answers ? count - answers : first;
    if (!err)
        err = pp_buf_printf(out, "{\"window\":\"%s\",", r->desk.spec_text[spec]);
    if (!err)
        err = watermark == INT64_MIN
                  ? pp_buf_append_str(out, "\"watermark_ms\":null,")
                  : pp_buf_printf(out, "\"watermark_ms\":%lld,", (long long)watermark);
    if (!err)
        err = pp_buf_printf(out, "\"late_posts\":%llu,\"windows\":[",
                            (unsigned long long)r->view.late_posts);
    for (w = first; w < count && !err; w++) {
        if (w > first)
            err = pp_buf_append(out, ",", 1);
        if (!err)
            err = w < answered ? run_render_bounds(&infos[w], "}", out)
                               : run_render_window(r, spec, &infos[w], query, out);
    }
    free(infos);
    memset(&input, 0, sizeof input);
    input.counts = &counts->input;
    input.posts = counts->posts;
    memcpy(input.orphans, counts->orphans, sizeof input.orphans);
    if (!err)
        err = pp_buf_append_str(out, "],\"input\":");
    if (!err)
        err = pp_render_input_json(&input, out);
    if (!err)
        err = pp_buf_append_str(out, "}\n");
    return err;
}

static uint64_t run_rejected(const struct pp_stream_counts *c)
{
    uint64_t n = 0;

    for (int t = 0; t < PP_TOPIC_COUNT; t++)
        for (int k = 1; k < PP_REJECT_COUNT; k++)
            n += c->input.rejected[t][k];
    return n;
}

/* The topic-partitions assigned now, at most cap (the consumer's
 * partition numbers times the topics assigned of each). */
static size_t run_assigned(const struct pp_run *r, struct pp_kafka_offset *out, size_t cap)
{
    int32_t parts[1024];
    size_t n = pp_kafka_consumer_partitions(r->consumer, parts, sizeof parts / sizeof parts[0]);
    size_t count = 0;

    for (size_t i = 0; i < n && i < sizeof parts / sizeof parts[0]; i++)
        for (int t = 0; t < PP_TOPIC_COUNT && count < cap; t++)
            if (pp_kafka_consumer_is_assigned(r->consumer, (enum pp_topic)t, parts[i]))
                out[count++] = (struct pp_kafka_offset){(enum pp_topic)t, parts[i], -1};
    return count;
}

/* Consumer lag summed over the partitions assigned, those nothing was read
 * from yet included; -1 when none is known yet. */
static int64_t run_total_lag(const struct pp_run *r)
{
    struct pp_kafka_offset parts[RUN_ASSIGNED_MAX];
    size_t n = run_assigned(r, parts, RUN_ASSIGNED_MAX);
    int64_t total = -1;

    for (size_t i = 0; i < n; i++) {
        int64_t lag;
        if (pp_kafka_consumer_lag(r->consumer, parts[i].topic, parts[i].partition, &lag) == PP_OK)
            total = (total < 0 ? 0 : total) + lag;
    }
    return total;
}

static enum pp_err run_render_status(const struct pp_run *r, struct pp_buf *out)
{
    const struct pp_stream_counts *c = &r->view.counts;
    struct pp_sink_stats sink;
    int64_t watermark = r->view.watermark;
    uint64_t pauses;
    bool is_paused;
    enum pp_err err;
    size_t i;
    bool is_first = true;

    pp_kafka_consumer_backpressure(r->consumer, &is_paused, &pauses);
    pp_sink_get_stats(r->sink, &sink);
    err = pp_buf_printf(out,
                        "{\"records\":%llu,\"posts\":%llu,\"rejected\":%llu,\"late_posts\":%llu,"
                        "\"lag\":%lld,\"paused\":%s,\"pauses\":%llu,\"assigned_partitions\":%zu,",
                        (unsigned long long)r->records, (unsigned long long)c->posts,
                        (unsigned long long)run_rejected(c), (unsigned long long)r->view.late_posts,
                        (long long)run_total_lag(r), is_paused ? "true" : "false",
                        (unsigned long long)pauses, pp_kafka_consumer_assigned(r->consumer));
    if (!err)
        err = watermark == INT64_MIN
                  ? pp_buf_append_str(out, "\"watermark_ms\":null,\"windows\":[")
                  : pp_buf_printf(out, "\"watermark_ms\":%lld,\"windows\":[", (long long)watermark);
    for (i = 0; i < r->desk.n_specs && !err; i++)
        err = pp_buf_printf(out, "%s\"%s\"", i ? "," : "", r->desk.spec_text[i]);
    if (!err)
        err = pp_buf_append_str(out, "],\"objects\":{");
    for (i = 0; i < PP_SINK_KIND_COUNT && !err; i++)
        err = pp_buf_printf(out, "%s\"%s\":%llu", i ? "," : "",
                            pp_sink_kind_name((enum pp_sink_kind)i),
                            (unsigned long long)sink.objects[i]);
    if (!err)
        err = pp_buf_printf(
            out,
            "},\"lake\":{\"url\":\"%s\",\"writer\":\"%s\",\"pending_objects\":%zu,"
            "\"buffered_bytes\":%llu,\"spooled_bytes\":%llu},\"checkpoints\":{"
            "\"interval_ms\":%lld,\"written\":%llu,\"restored_posts\":%llu},"
            "\"offsets\":[",
            pp_config_str(r->cfg, "lake.url"), pp_store_backend(r->store),
            pp_sink_pending_objects(r->sink), (unsigned long long)pp_sink_buffered_bytes(r->sink),
            (unsigned long long)sink.spooled_bytes, (long long)r->ckpt.interval_ms,
            (unsigned long long)r->ckpt.written, (unsigned long long)r->ckpt.restored_posts);
    for (i = 0; i < r->offsets.cap && !err; i++) {
        const struct pp_hmap_slot *slot = &r->offsets.slots[i];
        if (!slot->is_used)
            continue;
        err = pp_buf_printf(out, "%s{\"topic\":\"%s\",\"partition\":%llu,\"next_offset\":%llu}",
                            is_first ? "" : ",", r->topic_names[slot->k1],
                            (unsigned long long)slot->k2, (unsigned long long)slot->value);
        is_first = false;
    }
    if (!err)
        err = pp_buf_append_str(out, "]}\n");
    return err;
}

/* The Prometheus text of SPEC 8's metrics, and a few more. */
static enum pp_err run_render_metrics(const struct pp_run *r, struct pp_buf *out)
{
    const struct pp_stream_counts *c = &r->view.counts;
    struct pp_kafka_offset parts[RUN_ASSIGNED_MAX];
    size_t n_parts;
    struct pp_sink_stats sink;
    uint64_t cumulative = 0;
    uint64_t pauses;
    bool is_paused;
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
    RUN_METRIC("pinpipe_redelivered_total", "counter",
               "Records read again after a rebalance and skipped (already applied).");
    if (!err)
        err = pp_buf_printf(out, "pinpipe_redelivered_total %llu\n",
                            (unsigned long long)r->redelivered);
    RUN_METRIC("pinpipe_stale_records_total", "counter",
               "Records not applied: fetched for a partition before it was given up at a "
               "revocation, or before its assignment.");
    if (!err)
        err =
            pp_buf_printf(out, "pinpipe_stale_records_total %llu\n", (unsigned long long)r->stale);
    RUN_METRIC("pinpipe_late_posts_total", "counter", "Posts behind the watermark.");
    if (!err)
        err = pp_buf_printf(out, "pinpipe_late_posts_total %llu\n",
                            (unsigned long long)r->view.late_posts);
    RUN_METRIC("pinpipe_posts_joined_total", "counter", "Posts joined.");
    if (!err)
        err = pp_buf_printf(out, "pinpipe_posts_joined_total %llu\n", (unsigned long long)c->posts);
    RUN_METRIC("pinpipe_window_states", "gauge",
               "Windows and panes whose query state is in memory, over the shards.");
    if (!err)
        err = pp_buf_printf(out, "pinpipe_window_states %llu\n",
                            (unsigned long long)r->view.windows.states);
    RUN_METRIC("pinpipe_window_frozen", "gauge",
               "Closed windows kept within analytics.retention, frozen (compressed), over the "
               "shards.");
    if (!err)
        err = pp_buf_printf(out, "pinpipe_window_frozen %llu\n",
                            (unsigned long long)r->view.windows.frozen);
    RUN_METRIC("pinpipe_window_frozen_bytes", "gauge", "Bytes of the frozen windows' states.");
    if (!err)
        err = pp_buf_printf(out, "pinpipe_window_frozen_bytes %llu\n",
                            (unsigned long long)r->view.windows.frozen_bytes);
    RUN_METRIC("pinpipe_consumer_lag", "gauge", "Records behind the partition's end.");
    n_parts = run_assigned(r, parts, RUN_ASSIGNED_MAX);
    for (i = 0; i < n_parts && !err; i++) {
        int64_t lag;
        if (pp_kafka_consumer_lag(r->consumer, parts[i].topic, parts[i].partition, &lag) != PP_OK)
            continue;
        err =
            pp_buf_printf(out, "pinpipe_consumer_lag{topic=\"%s\",partition=\"%ld\"} %lld\n",
                          r->topic_names[parts[i].topic], (long)parts[i].partition, (long long)lag);
    }
    pp_kafka_consumer_backpressure(r->consumer, &is_paused, &pauses);
    RUN_METRIC("pinpipe_consumer_paused", "gauge",
               "1 while the partitions are paused because the pipeline is behind.");
    if (!err)
        err = pp_buf_printf(out, "pinpipe_consumer_paused %d\n", is_paused ? 1 : 0);
    RUN_METRIC("pinpipe_backpressure_pauses_total", "counter",
               "Times the partitions were paused because the pipeline was behind.");
    if (!err)
        err = pp_buf_printf(out, "pinpipe_backpressure_pauses_total %llu\n",
                            (unsigned long long)pauses);
    pp_sink_get_stats(r->sink, &sink);
    RUN_METRIC("pinpipe_objects_written_total", "counter", "Lake objects durable, by kind.");
    for (k = 0; k < PP_SINK_KIND_COUNT && !err; k++)
        err = pp_buf_printf(out, "pinpipe_objects_written_total{kind=\"%s\"} %llu\n",
                            pp_sink_kind_name((enum pp_sink_kind)k),
                            (unsigned long long)sink.objects[k]);
    RUN_METRIC("pinpipe_bytes_written_total", "counter",
               "Bytes of the durable lake objects (compressed), by kind.");
    for (k = 0; k < PP_SINK_KIND_COUNT && !err; k++)
        err = pp_buf_printf(out, "pinpipe_bytes_written_total{kind=\"%s\"} %llu\n",
                            pp_sink_kind_name((enum pp_sink_kind)k),
                            (unsigned long long)sink.bytes[k]);
    RUN_METRIC("pinpipe_sink_retries_total", "counter",
               "Object writes repeated after a transient failure.");
    if (!err)
        err = pp_buf_printf(out, "pinpipe_sink_retries_total %llu\n",
                            (unsigned long long)sink.retries);
    RUN_METRIC("pinpipe_sink_buffered_bytes", "gauge",
               "Bytes of lake objects not yet durable (open, queued, being written) in memory.");
    if (!err)
        err = pp_buf_printf(out, "pinpipe_sink_buffered_bytes %llu\n",
                            (unsigned long long)pp_sink_buffered_bytes(r->sink));
    RUN_METRIC("pinpipe_sink_spooled_bytes", "gauge",
               "Bytes of lake objects (open, or waiting for the store) in the spool file "
               "(sink.spool.dir).");
    if (!err)
        err = pp_buf_printf(out, "pinpipe_sink_spooled_bytes %llu\n",
                            (unsigned long long)sink.spooled_bytes);
    RUN_METRIC(
        "pinpipe_sink_waits_total", "counter",
        "Times the loop stopped taking batches because sink.max.buffered.bytes was reached.");
    if (!err)
        err = pp_buf_printf(out, "pinpipe_sink_waits_total %llu\n",
                            (unsigned long long)r->sink_waits);
    RUN_METRIC("pinpipe_dlq_produced_total", "counter",
               "Rejects produced to errors.deadletterqueue.topic.name.");
    if (!err)
        err = pp_buf_printf(out, "pinpipe_dlq_produced_total %llu\n",
                            (unsigned long long)r->dlq_sent);
    RUN_METRIC("pinpipe_checkpoints_written_total", "counter",
               "Partition state checkpoints durable in the lake since start.");
    if (!err)
        err = pp_buf_printf(out, "pinpipe_checkpoints_written_total %llu\n",
                            (unsigned long long)r->ckpt.written);
    RUN_METRIC("pinpipe_checkpoint_bytes", "gauge",
               "Size of the last partition state checkpoint (zstd).");
    if (!err)
        err = pp_buf_printf(out, "pinpipe_checkpoint_bytes %llu\n",
                            (unsigned long long)r->ckpt.last_bytes);
    RUN_METRIC("pinpipe_checkpoint_encode_seconds", "gauge",
               "Time the loop spent encoding the last partition state checkpoint.");
    if (!err)
        err = pp_buf_printf(out, "pinpipe_checkpoint_encode_seconds %.6f\n", r->ckpt.last_encode_s);
    RUN_METRIC("pinpipe_checkpoint_round_seconds", "gauge",
               "How long the last round of checkpoints took, paced to a tenth of the loop's time.");
    if (!err)
        err = pp_buf_printf(out, "pinpipe_checkpoint_round_seconds %.3f\n", r->ckpt.round_s);
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
    if (!err)
        err = pp_rest_metrics_append(r->rest, out);
    return err;
}

static enum pp_err run_view_update(struct pp_run *r);

/* Serves every queued request. Rendering happens under the desk's lock:
 * the requesters are waiting for it anyway, and a request is therefore
 * either queued or done, never half taken. */
static void run_desk_serve(struct pp_run *r)
{
    struct run_desk *desk = &r->desk;
    struct run_request *req;
    enum pp_err req_err;

    if (!atomic_load_explicit(&desk->has_work, memory_order_acquire))
        return;
    if ((req_err = run_view_update(r)) != PP_OK)
        pp_log_warn("run: answers: %s", pp_err_str(req_err));
    pthread_mutex_lock(&desk->lock);
    while ((req = desk->head) != NULL) {
        desk->head = req->next;
        if (req_err != PP_OK) {
            req->err = req_err;
            req->is_done = true;
            continue;
        }
        switch (req->doc) {
        case RUN_DOC_QUERIES:
            req->err =
                run_render_queries(r, req->spec, req->query, req->last, req->answers, req->out);
            break;
        case RUN_DOC_STATUS: req->err = run_render_status(r, req->out); break;
        case RUN_DOC_METRICS: req->err = run_render_metrics(r, req->out); break;
        }
        req->is_done = true;
    }
    atomic_store_explicit(&desk->has_work, false, memory_order_release);
    pthread_cond_broadcast(&desk->served);
    pthread_mutex_unlock(&desk->lock);
}

/* Opens or closes the desk; closing answers every queued request 503. */
static void run_desk_set_open(struct run_desk *desk, bool is_open)
{
    struct run_request *req;

    pthread_mutex_lock(&desk->lock);
    desk->is_open = is_open;
    if (!is_open) {
        while ((req = desk->head) != NULL) {
            desk->head = req->next;
            req->err = PP_END;
            req->is_done = true;
        }
        atomic_store(&desk->has_work, false);
        pthread_cond_broadcast(&desk->served);
    }
    pthread_mutex_unlock(&desk->lock);
}

/* ---- HTTP handlers (server threads: the desk only) -------------------------- */

/* Queues req and waits until the loop thread has rendered it. */
static enum pp_err run_ask(struct run_desk *desk, struct run_request *req,
                           struct pp_http_response *resp)
{
    struct timespec deadline;
    int rc = 0;

    req->out = &resp->body;
    req->err = PP_OK;
    req->is_done = false;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += RUN_REQUEST_TIMEOUT_S;
    pthread_mutex_lock(&desk->lock);
    if (!desk->is_open) {
        pthread_mutex_unlock(&desk->lock);
        return pp_http_response_error(resp, 503, 50301, "not consuming (starting or stopping)");
    }
    req->next = desk->head;
    desk->head = req;
    atomic_store_explicit(&desk->has_work, true, memory_order_release);
    while (!req->is_done && rc == 0)
        rc = pthread_cond_timedwait(&desk->served, &desk->lock, &deadline);
    if (!req->is_done) {
        struct run_request **p = &desk->head;
        while (*p != NULL && *p != req)
            p = &(*p)->next;
        if (*p == req)
            *p = req->next;
        pthread_mutex_unlock(&desk->lock);
        return pp_http_response_error(resp, 503, 50302, "the engine did not answer in %d s",
                                      RUN_REQUEST_TIMEOUT_S);
    }
    pthread_mutex_unlock(&desk->lock);
    if (req->err == PP_END) {
        resp->body.len = 0;
        return pp_http_response_error(resp, 503, 50301, "not consuming (starting or stopping)");
    }
    return req->err;
}

static enum pp_err run_get_queries(void *arg, const struct pp_http_request *req,
                                   struct pp_http_response *resp)
{
    struct run_desk *desk = arg;
    const char *window = pp_http_query(req, "window");
    const char *last = pp_http_query(req, "last");
    const char *answers = pp_http_query(req, "answers");
    struct run_request ask = {.doc = RUN_DOC_QUERIES, .query = -1};
    struct pp_config_window spec;
    char text[PP_CONFIG_WINDOW_TEXT_MAX];
    enum pp_query_id id;
    char name[128];

    if (req->tail.len > 0) {
        snprintf(name, sizeof name, "%.*s", (int)req->tail.len, req->tail.ptr);
        if (req->tail.len >= sizeof name || pp_query_lookup(name, &id) != PP_OK)
            return pp_http_response_error(resp, 404, 40401, "unknown query '%s'", name);
        ask.query = (int)id;
    }
    if (last != NULL) {
        int64_t n;
        if (!pp_cli_parse_int(last, 1, INT32_MAX, &n))
            return pp_http_response_error(resp, 400, 40003,
                                          "last must be a number of windows >= 1, not '%s'", last);
        ask.last = (size_t)n;
    }
    if (answers != NULL) {
        int64_t n;
        if (!pp_cli_parse_int(answers, 1, INT32_MAX, &n))
            return pp_http_response_error(
                resp, 400, 40004, "answers must be a number of windows >= 1, not '%s'", answers);
        ask.answers = (size_t)n;
    }
    if (window == NULL || window[0] == '\0')
        window = "all";
    if (pp_config_window_parse(window, strlen(window), &spec, NULL) != PP_OK)
        return pp_http_response_error(
            resp, 400, 40001, "window must be all, tumbling:<dur> or hopping:<size>/<slide>");
    pp_config_window_format(&spec, text, sizeof text);
    for (ask.spec = 0; ask.spec < desk->n_specs; ask.spec++)
        if (strcmp(desk->spec_text[ask.spec], text) == 0)
            return run_ask(desk, &ask, resp);
    return pp_http_response_error(resp, 404, 40402,
                                  "window '%s' is not kept (see analytics.windows)", text);
}

static enum pp_err run_get_status(void *arg, const struct pp_http_request *req,
                                  struct pp_http_response *resp)
{
    struct run_request ask = {.doc = RUN_DOC_STATUS};

    (void)req;
    return run_ask(arg, &ask, resp);
}

static enum pp_err run_get_metrics(void *arg, const struct pp_http_request *req,
                                   struct pp_http_response *resp)
{
    struct run_request ask = {.doc = RUN_DOC_METRICS};

    (void)req;
    resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
    return run_ask(arg, &ask, resp);
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
    struct run_desk *desk = arg;
    bool is_open;

    (void)req;
    pthread_mutex_lock(&desk->lock);
    is_open = desk->is_open;
    pthread_mutex_unlock(&desk->lock);
    if (!is_open)
        return pp_http_response_error(resp, 503, 50301, "not consuming (starting or stopping)");
    return pp_buf_append_str(&resp->body, "{\"status\":\"ready\"}\n");
}

/* ---- the loop --------------------------------------------------------------- */

/* Where partition slot (of r->offsets) may resume: applied to the
 * analytics and durable in the lake, the smaller of the two (the sink's is
 * a run start). False when the sink does not know the partition. */
static bool run_committable(const struct pp_run *r, const struct pp_hmap_slot *slot, int64_t *at)
{
    int64_t durable;

    *at = (int64_t)slot->value;
    if (r->sink == NULL)
        return true;
    if (!pp_sink_committable(r->sink, (enum pp_topic)slot->k1, (int32_t)slot->k2, &durable))
        return false;
    if (durable < *at)
        *at = durable;
    return true;
}

/* Milliseconds left of sink.shutdown.timeout.ms after a stop at stopped_at
 * (pp_cli_now() time); 0 once it has passed. */
static int64_t run_left_ms(const struct pp_run *r, double stopped_at)
{
    int64_t left = r->shutdown_timeout_ms - (int64_t)((pp_cli_now() - stopped_at) * 1000);

    return left > 0 ? left : 0;
}

/* Sets pp_run_error()'s one line. */
PP_PRINTF(2, 3) static void run_set_error(struct pp_run *r, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(r->error, sizeof r->error, fmt, ap);
    va_end(ap);
}

/* Whether a stop was asked (pp_run_stop() or a signal). */
static bool run_is_stopping(const struct pp_run *r)
{
    return atomic_load(&r->is_stopped) || (r->options.is_signal_stop && pp_cli_is_stopped(true));
}

/* The shard of partition p, or NULL. */
static struct run_shard *run_shard_find(const struct pp_run *r, int32_t p)
{
    return p >= 0 && (size_t)p < r->cap_shards ? r->shards[p] : NULL;
}

static enum pp_err run_commit(struct pp_run *r)
{
    struct pp_kafka_offset offsets[512];
    size_t n = 0;
    size_t i;
    enum pp_err err;

    /* Rejects sent to the dead-letter topic are delivered before their
     * offsets are committed (at least once there, as Kafka Connect's). */
    if (r->dlq != NULL &&
        (err = pp_kafka_producer_flush(r->dlq, RUN_DLQ_FLUSH_MS, NULL, 0)) != PP_OK)
        return err;

    /* Committable now (run_committable()) and no further than the newest
     * durable checkpoint of the partition's shard: both are starts of the
     * sink's runs, where a restart rewrites the same objects, and the
     * second is at or below the checkpoint's applied offsets, from where
     * the analytics resume, here or on the member the partition moves to. */
    for (i = 0; i < r->offsets.cap && n < sizeof offsets / sizeof offsets[0]; i++) {
        const struct pp_hmap_slot *slot = &r->offsets.slots[i];
        int64_t at;
        if (!slot->is_used || !run_committable(r, slot, &at))
            continue;
        if (r->ckpt.interval_ms > 0) {
            const struct run_shard *shard = run_shard_find(r, (int32_t)slot->k2);
            const uint64_t *held = shard != NULL && shard->unchecked_cluster[0] == '\0'
                                       ? pp_hmap_find(&shard->durable, slot->k1, slot->k2)
                                       : NULL;
            if (held == NULL)
                continue;
            if ((int64_t)*held < at)
                at = (int64_t)*held;
        }
        offsets[n++] = (struct pp_kafka_offset){(enum pp_topic)slot->k1, (int32_t)slot->k2, at};
    }
    return n ? pp_kafka_consumer_commit(r->consumer, offsets, n) : PP_OK;
}

/* ---- shards ----------------------------------------------------------------- */

static void run_shard_destroy(struct run_shard *shard)
{
    if (shard == NULL)
        return;
    pp_window_set_destroy(shard->windows);
    pp_stream_destroy(shard->stream);
    pp_intern_cleanup(&shard->strings);
    pp_hmap_cleanup(&shard->durable);
    pp_hmap_cleanup(&shard->writing);
    free(shard);
}

/* An empty shard for partition p, in r->shards. PP_OK or PP_ERR_NOMEM. */
static enum pp_err run_shard_new(struct pp_run *r, int32_t p, struct run_shard **out)
{
    struct run_shard *shard;

    if ((size_t)p >= r->cap_shards) {
        size_t cap = r->cap_shards ? r->cap_shards : 64;
        struct run_shard **grown;
        while (cap <= (size_t)p)
            cap *= 2;
        if ((grown = realloc(r->shards, cap * sizeof *grown)) == NULL)
            return PP_ERR_NOMEM;
        memset(grown + r->cap_shards, 0, (cap - r->cap_shards) * sizeof *grown);
        r->shards = grown;
        r->cap_shards = cap;
    }
    if ((shard = calloc(1, sizeof *shard)) == NULL)
        return PP_ERR_NOMEM;
    shard->partition = p;
    shard->run = r;
    pp_intern_init(&shard->strings);
    pp_hmap_init(&shard->durable);
    pp_hmap_init(&shard->writing);
    shard->stream = pp_stream_new(&r->stream_opt, &shard->strings);
    shard->windows = pp_window_set_new(r->specs, r->n_specs, r->lateness_ms, r->retention_ms);
    if (shard->stream == NULL || shard->windows == NULL) {
        run_shard_destroy(shard);
        return PP_ERR_NOMEM;
    }
    r->shards[p] = shard;
    r->shards_epoch++;
    *out = shard;
    return PP_OK;
}

/* Forgets the applied offsets of the partitions without a shard: their
 * records are another member's now, or read again from the committed
 * offsets when they come back (and their shards loaded). */
static enum pp_err run_offsets_prune(struct pp_run *r)
{
    struct pp_hmap kept;

    pp_hmap_init(&kept);
    for (size_t i = 0; i < r->offsets.cap; i++) {
        const struct pp_hmap_slot *slot = &r->offsets.slots[i];
        uint64_t *value;
        if (!slot->is_used || run_shard_find(r, (int32_t)slot->k2) == NULL)
            continue;
        if ((value = pp_hmap_upsert(&kept, slot->k1, slot->k2, NULL)) == NULL) {
            pp_hmap_cleanup(&kept);
            return PP_ERR_NOMEM;
        }
        *value = slot->value;
    }
    pp_hmap_cleanup(&r->offsets);
    r->offsets = kept;
    return PP_OK;
}

/* Moves a shard to the member's clock (see struct run_shard). */
static enum pp_err run_shard_advance(const struct pp_run *r, struct run_shard *shard)
{
    pp_stream_advance(shard->stream, r->clock_ms);
    return pp_window_set_advance(shard->windows, r->post_clock_ms);
}

/* Takes a shard's clocks into the member's (after loading it). */
static void run_clock_take(struct pp_run *r, const struct run_shard *shard)
{
    int64_t t = pp_stream_time(shard->stream);
    int64_t post = pp_window_set_max_time(shard->windows);

    if (t > r->clock_ms)
        r->clock_ms = t;
    if (post > r->post_clock_ms)
        r->post_clock_ms = post;
}

/* Appends a window set to the view's shards. PP_OK or PP_ERR_NOMEM. */
static enum pp_err run_view_push(struct run_view *v, const struct pp_window_set *set,
                                 const struct pp_intern *strings)
{
    struct pp_window_shard *grown =
        pp_array_reserve(v->shards, &v->cap_shards, v->n_shards, sizeof *grown, 64);

    if (grown == NULL)
        return PP_ERR_NOMEM;
    v->shards = grown;
    v->shards[v->n_shards++] = (struct pp_window_shard){.set = set, .strings = strings};
    return PP_OK;
}

/* Advances every shard to the member's clock and sums what the documents
 * show over them (a member without shards shows the blank set's). */
static enum pp_err run_view_update(struct pp_run *r)
{
    struct run_view *v = &r->view;
    enum pp_err err;

    memset(&v->counts, 0, sizeof v->counts);
    memset(&v->windows, 0, sizeof v->windows);
    v->late_posts = 0;
    v->watermark = INT64_MIN;
    v->n_shards = 0;
    for (size_t p = 0; p < r->cap_shards; p++) {
        struct run_shard *shard = r->shards[p];
        if (shard == NULL)
            continue;
        if ((err = run_shard_advance(r, shard)) != PP_OK ||
            (err = run_view_push(v, shard->windows, &shard->strings)) != PP_OK)
            return err;
        pp_stream_counts_add(&v->counts, pp_stream_counts(shard->stream));
        v->late_posts += pp_window_set_late_posts(shard->windows);
        pp_window_set_stats(shard->windows, &v->windows);
        if (pp_window_set_watermark(shard->windows) > v->watermark)
            v->watermark = pp_window_set_watermark(shard->windows);
    }
    return v->n_shards > 0 ? PP_OK : run_view_push(v, v->blank, &v->blank_strings);
}

/* ---- checkpoints ------------------------------------------------------------ */

static void run_checkpoint_done(void *arg, enum pp_err err)
{
    struct run_shard *shard = arg;
    struct pp_run *r = shard->run;
    struct pp_hmap swap;

    shard->is_writing = false;
    r->ckpt.n_writing--;
    if (shard->is_given_up) {
        /* Its partition is another member's, or loaded again: the object
         * is what the next owner may load, whether it landed or not. */
        r->ckpt.n_given_up--;
        run_shard_destroy(shard);
        return;
    }
    if (err != PP_OK) {
        r->ckpt.err = err;
        return;
    }
    swap = shard->durable;
    shard->durable = shard->writing;
    shard->writing = swap;
    pp_hmap_clear(&shard->writing);
    shard->records_durable = shard->records_at;
    r->ckpt.written++;
    shard->seq++;
    shard->has_durable = true;
}

/* A shard's state as pp_checkpoint sees it; its applied offsets are
 * copied into (encoding) or read from (loading) r->ckpt.scratch. */
static struct pp_checkpoint_state run_checkpoint_state(struct pp_run *r, struct run_shard *shard)
{
    return (struct pp_checkpoint_state){.strings = &shard->strings,
                                        .stream = shard->stream,
                                        .windows = shard->windows,
                                        .offsets = &r->ckpt.scratch,
                                        .resume = &shard->writing,
                                        .config = r->ckpt.config,
                                        .cluster_id = r->ckpt.cluster_id};
}

/* The applied and committable offsets of the shard's partition (of each
 * topic read), into r->ckpt.scratch and shard->writing. */
static enum pp_err run_checkpoint_offsets(struct pp_run *r, struct run_shard *shard)
{
    pp_hmap_clear(&r->ckpt.scratch);
    pp_hmap_clear(&shard->writing);
    for (int t = 0; t < PP_TOPIC_COUNT; t++) {
        const uint64_t *next = pp_hmap_find(&r->offsets, (uint64_t)t, (uint64_t)shard->partition);
        struct pp_hmap_slot slot = {.k1 = (uint64_t)t, .k2 = (uint64_t)shard->partition};
        uint64_t *value;
        int64_t at;
        if (next == NULL)
            continue;
        if ((value = pp_hmap_upsert(&r->ckpt.scratch, slot.k1, slot.k2, NULL)) == NULL)
            return PP_ERR_NOMEM;
        *value = *next;
        slot.value = *next;
        if (!run_committable(r, &slot, &at))
            continue;
        if ((value = pp_hmap_upsert(&shard->writing, slot.k1, slot.k2, NULL)) == NULL)
            return PP_ERR_NOMEM;
        *value = (uint64_t)at;
    }
    return PP_OK;
}

/* Learns the cluster's id when the load could not (Kafka down then), and
 * then checks a shard loaded unchecked: the same cluster clears it; another
 * one stops the run, which must not commit or write on a state whose
 * offsets are other records. Until then the shard is neither committed nor
 * checkpointed. */
static enum pp_err run_checkpoint_check_cluster(struct pp_run *r, struct run_shard *shard)
{
    if (shard->unchecked_cluster[0] == '\0')
        return PP_OK;
    if (r->ckpt.cluster_id[0] == '\0')
        (void)pp_kafka_consumer_cluster_id(r->consumer, 0, r->ckpt.cluster_id,
                                           sizeof r->ckpt.cluster_id);
    if (r->ckpt.cluster_id[0] == '\0')
        return PP_OK;
    if (strcmp(shard->unchecked_cluster, r->ckpt.cluster_id) == 0) {
        shard->unchecked_cluster[0] = '\0';
        r->ckpt.n_unchecked--;
        return PP_OK;
    }
    run_set_error(r,
                  "the checkpoint of partition %ld loaded at the assignment was taken on Kafka "
                  "cluster %s; this run reads cluster %s (a development broker started again, or "
                  "another Kafka): stopping without writing on it",
                  (long)shard->partition, shard->unchecked_cluster, r->ckpt.cluster_id);
    return PP_ERR_INVALID;
}

/* Whether a shard needs a checkpoint: it has applied records its durable
 * checkpoint (if any) does not hold, its cluster is checked
 * (run_checkpoint_check_cluster()), and its partition is still this
 * member's (a partition given up is the next owner's to write). */
static bool run_shard_is_dirty(struct pp_run *r, const struct run_shard *shard)
{
    bool is_owned = false;

    if ((shard->has_durable && shard->records == shard->records_at) ||
        shard->unchecked_cluster[0] != '\0')
        return false;
    for (int t = 0; t < PP_TOPIC_COUNT && !is_owned; t++)
        is_owned = pp_kafka_consumer_is_assigned(r->consumer, (enum pp_topic)t, shard->partition);
    return is_owned;
}

/*
 * Starts writing a checkpoint of one shard as it is now (between two
 * batches: exactly the effects of the records below its applied offsets),
 * unless one is being written, nothing was applied to it since its last,
 * or its partition is not this member's any more (the next owner loads the
 * newest durable one). The caller has checked that the store takes a put
 * (pp_store_is_full()); were it full, nothing would start and the shard
 * would stay dirty for the next round.
 */
static enum pp_err run_checkpoint_shard(struct pp_run *r, struct run_shard *shard)
{
    struct pp_checkpoint_state state = run_checkpoint_state(r, shard);
    struct pp_buf data;
    char key[RUN_CHECKPOINT_KEY_MAX];
    double start = pp_cli_now();
    enum pp_err err;

    if (shard->is_writing || !run_shard_is_dirty(r, shard))
        return PP_OK;
    if ((err = run_shard_advance(r, shard)) != PP_OK)
        return err;
    pp_buf_init(&data);
    if ((err = run_checkpoint_offsets(r, shard)) != PP_OK ||
        (err = pp_checkpoint_encode(&state, shard->seq, &data)) != PP_OK)
        goto out;
    r->ckpt.last_bytes = data.len;
    r->ckpt.last_encode_s = pp_cli_now() - start;
    pp_checkpoint_key(r->group_id, shard->partition, (unsigned)(shard->seq % 2), key, sizeof key);
    err = pp_store_put(r->store, key, &data, run_checkpoint_done, shard);
    if (err == PP_OK) {
        shard->is_writing = true;
        shard->records_at = shard->records;
        r->ckpt.n_writing++;
    } else if (err == PP_AGAIN) {
        err = PP_OK;
    }
out:
    pp_buf_cleanup(&data);
    return err;
}

/*
 * A round of checkpoints, or the next part of it: every shard changed
 * since its last and not being written, in partition order from
 * r->ckpt.cursor. Rejects already produced to the dead-letter topic are
 * delivered first: the checkpoints' records are not read again. Paced (the
 * loop's rounds), it encodes at most one shard, and none before
 * r->ckpt.next_at, which it sets so that encoding takes at most
 * RUN_CHECKPOINT_SHARE of the time: a state too large for the interval
 * lengthens the round instead of stalling the records of every partition
 * for the whole encoding (the cause of a run falling behind at 5,000
 * posts/s, docs/checkpoints.md). Not paced (a stop, a hand-over), it
 * starts every shard it can. *is_done tells whether the round is over;
 * the store may also take only part of it now (the loop calls again).
 */
static enum pp_err run_checkpoint(struct pp_run *r, bool is_paced, bool *is_done)
{
    bool is_flushed = false;
    enum pp_err err = PP_OK;

    *is_done = false;
    for (; r->ckpt.cursor < r->cap_shards; r->ckpt.cursor++) {
        struct run_shard *shard = r->shards[r->ckpt.cursor];
        double start, now;
        if (shard == NULL || shard->is_writing || !run_shard_is_dirty(r, shard))
            continue;
        if (is_paced && (is_flushed || pp_cli_now() < r->ckpt.next_at))
            return PP_OK;
        /* A full store would refuse the put: nothing flushed or encoded
         * for nothing; this shard and the rest next time. */
        if (pp_store_is_full(r->store))
            return PP_OK;
        start = pp_cli_now(); /* the flush is part of the cost */
        if (!is_flushed && r->dlq != NULL &&
            (err = pp_kafka_producer_flush(r->dlq, RUN_DLQ_FLUSH_MS, NULL, 0)) != PP_OK) {
            run_set_error(r, "%s: rejects not delivered within %d ms before a checkpoint: %s",
                          r->dlq_topic, RUN_DLQ_FLUSH_MS, pp_err_str(err));
            return err;
        }
        is_flushed = true;
        if ((err = run_checkpoint_shard(r, shard)) != PP_OK)
            return err;
        now = pp_cli_now();
        r->ckpt.next_at = now + (now - start) * (1 - RUN_CHECKPOINT_SHARE) / RUN_CHECKPOINT_SHARE;
    }
    r->ckpt.cursor = 0;
    *is_done = true;
    return PP_OK;
}

/*
 * A last checkpoint of every shard changed since its last (after the one
 * being written, if any), waited for until sink.shutdown.timeout.ms after
 * since: at a stop and at a hand-over. PP_OK once every shard's is
 * durable, PP_AGAIN at the deadline, or an error.
 */
static enum pp_err run_checkpoint_all(struct pp_run *r, double since)
{
    enum pp_err err;

    while (r->ckpt.err == PP_OK) {
        bool is_done;
        bool is_clean = r->ckpt.n_writing == 0;
        for (size_t p = 0; p < r->cap_shards && is_clean; p++)
            is_clean = r->shards[p] == NULL || !run_shard_is_dirty(r, r->shards[p]);
        if (is_clean)
            return PP_OK;
        if (run_left_ms(r, since) <= 0)
            return PP_AGAIN;
        if ((err = run_checkpoint(r, false, &is_done)) != PP_OK)
            return err;
        if (pp_store_in_flight(r->store) == 0 && r->ckpt.n_writing == 0)
            return is_done ? PP_OK : PP_AGAIN; /* nothing to wait for */
        if ((err = pp_store_poll(r->store, 100, NULL)) != PP_OK)
            return err;
    }
    return r->ckpt.err;
}

/*
 * Reads both generations of a partition's checkpoints (partition -1: the
 * group's one object of format 2) into data[g] (initialised by the
 * caller), with found[g] PP_OK or PP_ERR_NOTFOUND and key[g] their keys.
 * A store failure is tried again up to attempts times in all (0.2, 0.4,
 * ... s apart, not once a stop is asked); then msg says why.
 */
static enum pp_err run_checkpoint_read(const struct pp_run *r, int32_t partition, int attempts,
                                       char key[2][RUN_CHECKPOINT_KEY_MAX], struct pp_buf data[2],
                                       enum pp_err found[2], char *msg, size_t msg_len)
{
    struct pp_store_options sopt;
    char folder[RUN_CHECKPOINT_KEY_MAX];
    const char *names[2];
    char why[512];
    enum pp_err err;

    pp_store_options_from_config(&sopt, r->cfg);
    for (int g = 0; g < 2; g++) {
        pp_checkpoint_key(r->group_id, partition, (unsigned)g, key[g], RUN_CHECKPOINT_KEY_MAX);
        /* Both generations live in one folder: "<folder>/<name>". */
        names[g] = strrchr(key[g], '/') + 1;
    }
    snprintf(folder, sizeof folder, "%.*s", (int)(names[0] - 1 - key[0]), key[0]);
    for (int attempt = 1;; attempt++) {
        why[0] = '\0';
        if ((err = pp_store_get(&sopt, folder, names, 2, data, found, why, sizeof why)) == PP_OK ||
            err == PP_ERR_INVALID || attempt >= attempts || run_is_stopping(r))
            break;
        for (int g = 0; g < 2; g++)
            data[g].len = 0;
        struct timespec pause = {0, (long)(200 * 1000 * 1000) << (attempt - 1)};
        if (pause.tv_nsec >= 1000 * 1000 * 1000) {
            pause.tv_sec = pause.tv_nsec / (1000 * 1000 * 1000);
            pause.tv_nsec %= 1000 * 1000 * 1000;
        }
        nanosleep(&pause, NULL);
    }
    if (err != PP_OK)
        snprintf(msg, msg_len, "checkpoint %s/%s: %s", sopt.url, folder,
                 why[0] ? why : pp_err_str(err));
    return err;
}

/*
 * Loads the newest whole checkpoint of a shard just made, when there is
 * one. Of the two generations, one may be cut short (a store that keeps
 * part of an upload whose writer was killed): it was never reported
 * durable, so nothing was committed on it, and the other one is used.
 * Errors go to r->error.
 */
static enum pp_err run_shard_load(struct pp_run *r, struct run_shard *shard)
{
    struct pp_checkpoint_state state = run_checkpoint_state(r, shard);
    struct pp_buf data[2];
    struct pp_buf raw[2]; /* data[g] as its check decompressed it, for the decode */
    enum pp_err found[2];
    uint64_t seq[2] = {0, 0};
    char key[2][RUN_CHECKPOINT_KEY_MAX];
    const char *url = pp_config_str(r->cfg, "lake.url");
    char why[512];
    int g, best = -1;
    bool is_unchecked = false;
    enum pp_err err = PP_OK;

    for (g = 0; g < 2; g++) {
        pp_buf_init(&data[g]);
        pp_buf_init(&raw[g]);
    }
    /* An assignment comes at any time: a store's passing failure is
     * retried before it stops the run. */
    if ((err = run_checkpoint_read(r, shard->partition, RUN_LOAD_ATTEMPTS, key, data, found,
                                   r->error, sizeof r->error)) != PP_OK)
        goto out;
    why[0] = '\0';
    for (g = 0; g < 2; g++) {
        if (found[g] == PP_ERR_NOTFOUND)
            continue;
        found[g] = pp_checkpoint_check(data[g].data, data[g].len, &seq[g], &raw[g]);
        if (found[g] == PP_OK && (best < 0 || seq[g] > seq[best]))
            best = g;
        else if (found[g] == PP_ERR_CORRUPT)
            pp_log_warn("run: checkpoint %s/%s is incomplete (an upload cut short); not used", url,
                        key[g]);
    }
    if (best < 0) {
        for (g = 0; g < 2; g++) {
            if (found[g] != PP_ERR_NOTFOUND) {
                err = found[g] == PP_ERR_INVALID ? PP_ERR_INVALID : PP_ERR_CORRUPT;
                run_set_error(r,
                              "checkpoint %s/%s: %s (state.checkpoint.interval=0 runs without "
                              "checkpoints; another kafka.group.id starts afresh)",
                              url, key[g],
                              err == PP_ERR_INVALID ? "written by another version of pinpipe"
                                                    : "incomplete, and no other generation");
                goto out;
            }
        }
        goto out; /* a partition new to the group: its analytics start empty */
    }
    pp_buf_cleanup(&raw[1 - best]); /* only the chosen generation is decoded */
    /* The checkpoint's offsets are of one Kafka cluster: a development
     * broker started again is another one (its offsets are other records),
     * which the decode refuses. A cluster that does not answer in time is
     * not checked (a restart while Kafka is down must still work); the
     * first load waits for it once. */
    if (r->ckpt.cluster_id[0] == '\0' &&
        pp_kafka_consumer_cluster_id(r->consumer,
                                     r->ckpt.is_cluster_asked ? 0 : RUN_CLUSTER_ID_WAIT_MS,
                                     r->ckpt.cluster_id, sizeof r->ckpt.cluster_id) != PP_OK) {
        if (!r->ckpt.is_cluster_warned)
            pp_log_warn("run: the Kafka cluster did not say its id within %d ms: checkpoints are "
                        "loaded, and checked against the cluster once it answers (until then "
                        "their partitions are not committed)",
                        RUN_CLUSTER_ID_WAIT_MS);
        r->ckpt.is_cluster_warned = true;
        state.taken_on = shard->unchecked_cluster;
        state.taken_on_cap = sizeof shard->unchecked_cluster;
        is_unchecked = true;
    }
    r->ckpt.is_cluster_asked = true;
    /* The decode fills maps just initialised. */
    pp_hmap_cleanup(&r->ckpt.scratch);
    pp_hmap_init(&r->ckpt.scratch);
    if ((err = pp_checkpoint_decode_raw(&state, raw[best].data, raw[best].len, why, sizeof why))) {
        run_set_error(r,
                      "checkpoint %s/%s: %s (state.checkpoint.interval=0 runs without checkpoints; "
                      "another kafka.group.id starts afresh)",
                      url, key[best], why[0] ? why : pp_err_str(err));
        goto out;
    }
    for (size_t i = 0; i < r->ckpt.scratch.cap; i++) {
        const struct pp_hmap_slot *slot = &r->ckpt.scratch.slots[i];
        uint64_t *next;
        if (!slot->is_used || (int32_t)slot->k2 != shard->partition)
            continue; /* not this shard's: a damaged checkpoint would have failed */
        if ((next = pp_hmap_upsert(&r->offsets, slot->k1, slot->k2, NULL)) == NULL) {
            err = PP_ERR_NOMEM;
            goto out;
        }
        *next = slot->value;
    }
    /* The loaded resume points are the durable checkpoint's. */
    {
        struct pp_hmap swap = shard->durable;
        shard->durable = shard->writing;
        shard->writing = swap;
        pp_hmap_clear(&shard->writing);
    }
    shard->seq = seq[best] + 1;
    shard->has_durable = true;
    r->ckpt.n_unchecked += is_unchecked && shard->unchecked_cluster[0] != '\0';
    r->ckpt.restored_posts += pp_stream_counts(shard->stream)->posts;
    run_clock_take(r, shard);
    pp_log_debug("run: loaded the state of partition %ld: %llu posts (%s, %zu bytes)",
                 (long)shard->partition, (unsigned long long)pp_stream_counts(shard->stream)->posts,
                 key[best], data[best].len);
out:
    for (g = 0; g < 2; g++) {
        pp_buf_cleanup(&data[g]);
        pp_buf_cleanup(&raw[g]);
    }
    return err;
}

/*
 * A new assignment: the shards of every partition assigned and not here
 * are made and loaded from their checkpoints before any record of them is
 * applied, all at once so that the member's clock is the newest of theirs
 * (a member that restarts goes on with the clock it had). Records fetched
 * for a topic before its first record of this assignment are stale.
 */
static enum pp_err run_shards_load_assigned(struct pp_run *r)
{
    int32_t parts[4096];
    size_t n = pp_kafka_consumer_partitions(r->consumer, parts, sizeof parts / sizeof parts[0]);
    size_t loaded = 0;
    uint64_t posts = r->ckpt.restored_posts;
    enum pp_err err;

    if (n > sizeof parts / sizeof parts[0])
        n = sizeof parts / sizeof parts[0];
    /* A checkpoint this member gave up while writing it must have landed
     * (or failed) before a partition's newest one is read: landing later,
     * it would replace what this member writes next. */
    for (double since = pp_cli_now();
         r->ckpt.n_given_up > 0 && run_left_ms(r, since) > 0 && !run_is_stopping(r);)
        if ((err = pp_store_poll(r->store, 100, NULL)) != PP_OK)
            return err;
    if (r->ckpt.n_given_up > 0)
        pp_log_warn("run: %zu checkpoints given up at the last revocation are still not "
                    "durable; loading the assigned partitions' newest ones anyway "
                    "(docs/checkpoints.md, Limits)",
                    r->ckpt.n_given_up);
    for (size_t i = 0; i < n; i++) {
        struct run_shard *shard;
        int missing = -1;
        for (int t = 0; t < PP_TOPIC_COUNT && missing < 0; t++)
            if (!pp_kafka_consumer_is_assigned(r->consumer, (enum pp_topic)t, parts[i]))
                missing = t;
        if (missing >= 0) {
            /* A shard is a partition of all three topics: with unequal
             * partition counts (or a topic not created yet) range
             * assignment splits them, and two members would write one
             * partition's checkpoints. Its records are not applied here. */
            pp_log_warn("run: partition %ld of %s is not assigned with the others of that number: "
                        "the three topics must have the same number of partitions "
                        "(co-partitioned, SPEC 9); its records are not applied",
                        (long)parts[i], r->topic_names[missing]);
            continue;
        }
        if (run_shard_find(r, parts[i]) != NULL)
            continue;
        if ((err = run_shard_new(r, parts[i], &shard)) != PP_OK)
            return err;
        for (int t = 0; t < PP_TOPIC_COUNT; t++)
            shard->is_awaiting[t] = true;
        if ((err = run_shard_load(r, shard)) != PP_OK)
            return err;
        loaded += shard->has_durable;
    }
    if (loaded > 0)
        pp_log_info("run: loaded the state of %zu partitions of group %s: %llu posts", loaded,
                    r->group_id, (unsigned long long)(r->ckpt.restored_posts - posts));
    return PP_OK;
}

/* The shard an item is applied to, or NULL when it is not applied here:
 * a record of a partition given up, or fetched for it before its
 * assignment (see run_shards_load_assigned()). */
static enum pp_err run_shard_for(struct pp_run *r, const struct pp_clean_item *item,
                                 struct run_shard **out)
{
    struct run_shard *shard = run_shard_find(r, item->partition);
    enum pp_err err;

    *out = NULL;
    if (r->ckpt.interval_ms <= 0) {
        /* Without checkpoints the state stays with this member. */
        if (shard == NULL && (err = run_shard_new(r, item->partition, &shard)) != PP_OK)
            return err;
        *out = shard;
        return PP_OK;
    }
    if (shard == NULL)
        return PP_OK;
    if (shard->is_awaiting[item->topic]) {
        if (!item->is_resumed)
            return PP_OK;
        shard->is_awaiting[item->topic] = false;
    }
    *out = shard;
    return PP_OK;
}

/*
 * A revocation the consumer holds (docs/checkpoints.md): the partitions'
 * next owner loads their newest durable checkpoints, so none of this
 * member's may still be landing then (it could replace one the next owner
 * wrote). Waits for the checkpoints being written (until
 * sink.shutdown.timeout.ms), commits what they cover, drops every shard
 * (an eager rebalance revokes the whole assignment; the shards of
 * partitions assigned back are loaded again) and lets the rebalance go
 * on.
 */
static enum pp_err run_handover(struct pp_run *r)
{
    enum pp_err err = PP_OK;

    if (r->ckpt.err == PP_OK && (err = run_checkpoint_all(r, pp_cli_now())) != PP_OK &&
        err != PP_AGAIN)
        return err;
    if (r->ckpt.n_writing > 0)
        pp_log_warn("run: %zu partition checkpoints still not durable at the revocation, %lld "
                    "ms after it; giving the partitions up (docs/checkpoints.md, Limits)",
                    r->ckpt.n_writing, (long long)r->shutdown_timeout_ms);
    if (run_commit(r) != PP_OK)
        pp_log_warn("run: the offset commit at the revocation failed; the next owner reads "
                    "from the last one");
    for (size_t p = 0; p < r->cap_shards; p++) {
        struct run_shard *shard = r->shards[p];
        if (shard == NULL)
            continue;
        r->shards[p] = NULL;
        r->shards_epoch++;
        /* What it applied after its newest durable checkpoint is the next
         * owner's to apply again: not this process's any more. */
        r->records -= shard->records - shard->records_durable;
        r->ckpt.n_unchecked -= shard->unchecked_cluster[0] != '\0';
        if (shard->is_writing) {
            shard->is_given_up = true;
            r->ckpt.n_given_up++;
        } else {
            run_shard_destroy(shard);
        }
    }
    /* The next assignment's shards bring their clocks (run_clock_take()). */
    r->clock_ms = INT64_MIN;
    r->post_clock_ms = INT64_MIN;
    err = run_offsets_prune(r);
    pp_kafka_consumer_unassign(r->consumer);
    return err;
}

/* Folds the posts joined by the batch just applied into the visibility
 * histogram: any request from now on sees them. */
static void run_visible_observe(struct run_visible *v)
{
    struct timespec ts;
    int64_t now_ms;
    size_t i;
    size_t b;

    if (v->n_pending == 0)
        return;
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

/* A reject's line to errors.deadletterqueue.topic.name. A line larger than
 * the producer's message.max.bytes (1,000,000 bytes by default, while a
 * reject holds up to input.max.record.bytes, 4/3 of that in base64) goes
 * without the record's bytes ("raw_omitted_bytes"); the lake's dlq object
 * has them. Failing instead stopped the run at that record, and again at
 * every restart. */
static enum pp_err run_dlq_produce(struct pp_run *r, const struct pp_clean_item *item)
{
    enum pp_err err = PP_ERR_TOOBIG;

    for (int omit = 0; omit < 2 && err == PP_ERR_TOOBIG; omit++) {
        r->dlq_line.len = 0;
        if ((err = pp_sink_render_dlq(&r->layout, item, omit > 0, &r->dlq_line)))
            return err;
        err = pp_kafka_produce_retry(r->dlq, r->dlq_topic, PP_KAFKA_PARTITION_ANY, NULL, 0,
                                     r->dlq_line.data, r->dlq_line.len);
    }
    if (!err)
        r->dlq_sent++;
    return err;
}

/* Applies one batch: every record to its partition's shard, joined posts
 * to the shard's windows, and the next offset of each partition.
 *
 * A record below its partition's next offset has been applied already: a
 * shard loaded from its checkpoint holds the records below the
 * checkpoint's applied offsets, which the consumer, starting from the
 * committed ones, reads again for the lake; and after a rebalance without
 * checkpoints librdkafka restarts a partition this member keeps at the
 * last committed offset. */
static enum pp_err run_apply(struct pp_run *r, const struct pp_batch *batch)
{
    const struct pp_clean_item *items = pp_clean_items(batch);
    struct run_visible *v = &r->visible;
    struct pp_stream_post post;
    bool is_joined;
    enum pp_err err;
    size_t i;

    for (i = 0; i < batch->n_out; i++) {
        struct run_shard *shard;
        uint64_t *next;
        if ((err = run_shard_for(r, &items[i], &shard)) != PP_OK)
            return err;
        if (shard == NULL) {
            r->stale++;
            continue;
        }
        next = pp_hmap_upsert(&r->offsets, (uint64_t)items[i].topic, (uint64_t)items[i].partition,
                              NULL);
        if (next == NULL)
            return PP_ERR_NOMEM;
        if ((uint64_t)items[i].offset < *next) {
            r->redelivered++;
            continue;
        }
        *next = (uint64_t)items[i].offset + 1;
        r->records++;
        shard->records++;
        if (r->dlq != NULL && items[i].reject != PP_REJECT_NONE &&
            (err = run_dlq_produce(r, &items[i])))
            return err;
        /* The stream's key budget is off (max_keys 0): its memory is bounded
         * by dedup.ttl and join.timeout (docs/stream.md), so PP_AGAIN cannot
         * happen here; the pipeline's bounded pool is the backpressure. */
        if ((err = run_shard_advance(r, shard)) != PP_OK ||
            (err = pp_stream_add(shard->stream, &items[i], &post, &is_joined)) != PP_OK)
            return err;
        if (pp_stream_time(shard->stream) > r->clock_ms)
            r->clock_ms = pp_stream_time(shard->stream);
        if (!is_joined)
            continue;
        if ((err = pp_window_set_add(shard->windows, &post.post, &shard->strings, post.time_ms)))
            return err;
        if (pp_window_set_max_time(shard->windows) > r->post_clock_ms)
            r->post_clock_ms = pp_window_set_max_time(shard->windows);
        if (post.time_ms >= 0) {
            int64_t *grown =
                pp_array_reserve(v->pending, &v->cap_pending, v->n_pending, sizeof *grown, 1024);
            if (grown == NULL)
                return PP_ERR_NOMEM;
            v->pending = grown;
            v->pending[v->n_pending++] = post.time_ms;
        }
    }
    run_visible_observe(v);
    return PP_OK;
}

static void run_status_line(struct pp_run *r)
{
    const struct pp_stream_counts *c = &r->view.counts;
    struct run_status_line *line = &r->line;
    double now = pp_cli_now();
    double secs = now - line->last;
    int64_t lag;
    uint64_t pauses;
    bool is_paused;
    char lag_text[32];

    if (secs < 1.0 || run_view_update(r) != PP_OK)
        return;
    lag = run_total_lag(r);
    if (lag < 0)
        snprintf(lag_text, sizeof lag_text, "-");
    else
        snprintf(lag_text, sizeof lag_text, "%lld", (long long)lag);
    pp_kafka_consumer_backpressure(r->consumer, &is_paused, &pauses);
    fprintf(stderr,
            "\rpinpipe: %llu records (%.0f/s), %llu posts (%.0f/s), lag %s, %zu window specs, "
            "%llu rejected, %llu late%s\033[K",
            (unsigned long long)r->records,
            (r->records > line->last_records ? (double)(r->records - line->last_records) : 0.0) /
                secs,
            (unsigned long long)c->posts, (double)(c->posts - line->last_posts) / secs, lag_text,
            r->desk.n_specs, (unsigned long long)run_rejected(c),
            (unsigned long long)r->view.late_posts, is_paused ? ", paused" : "");
    line->last = now;
    line->last_records = r->records;
    line->last_posts = c->posts;
}

/*
 * The stop's deadline passed with lake objects or the last state
 * checkpoint still not durable (S3 unreachable or too slow): what is
 * durable is committed, the rest abandoned. The commit comes first, while
 * the sink still counts the abandoned runs as pending and the checkpoint
 * being written is not the durable one, so no offset of theirs is
 * committed; a restart re-reads those records, writes the same keys and
 * resumes the analytics from the last durable checkpoint (SPEC 7 holds).
 */
static enum pp_err run_abandon(struct pp_run *r)
{
    uint64_t bytes = pp_sink_buffered_bytes(r->sink);
    bool is_checkpoint = r->ckpt.n_writing > 0;
    bool is_committed = run_commit(r) == PP_OK;
    size_t n = pp_sink_abandon(r->sink); /* and every other put: the checkpoint's */

    snprintf(r->error, sizeof r->error,
             "lake: %zu objects (%llu bytes)%s still not durable %lld ms after the stop "
             "(sink.shutdown.timeout.ms): abandoned; their records' offsets are not committed%s, "
             "a restart writes them again",
             n, (unsigned long long)bytes, is_checkpoint ? " and state checkpoints" : "",
             (long long)r->shutdown_timeout_ms,
             is_committed ? "" : " (nor, as the last commit failed, those of the durable ones)");
    return PP_ERR_IO;
}

enum pp_err pp_run_loop(struct pp_run *r)
{
    bool has_line = r->options.has_status_line && isatty(STDERR_FILENO);
    double last_commit = pp_cli_now();
    double stopped_at = 0;
    bool is_stopping = false;
    struct pp_batch *batch;
    enum pp_err err = PP_OK;

    r->line.last = pp_cli_now();
    run_desk_set_open(&r->desk, true);
    while (pp_pipeline_next(r->pipeline, &batch) == PP_OK) {
        /* A new assignment's records come in batches filled after it. */
        if (pp_kafka_consumer_assignments(r->consumer) != r->assignments) {
            r->assignments = pp_kafka_consumer_assignments(r->consumer);
            /* Where the new partitions start, for their lag before a
             * first record (not answered: the lag uses the oldest record). */
            (void)pp_kafka_consumer_learn_committed(r->consumer, RUN_COMMITTED_WAIT_MS);
            if (r->ckpt.interval_ms > 0)
                err = run_shards_load_assigned(r);
        }
        if (!err)
            err = run_apply(r, batch);
        if (!err)
            err = pp_sink_add(r->sink, batch);
        pp_pipeline_release(r->pipeline, batch);
        if (!err)
            err = pp_sink_poll(r->sink, 0);
        /* The sink polls the store only for its own objects. */
        if (!err && r->ckpt.n_writing > 0)
            err = pp_store_poll(r->store, 0, NULL);
        /* Backpressure from the lake (SPEC 9): past sink.max.buffered.bytes
         * no batch is taken until the store has written enough; the
         * pipeline fills up and the source pauses its partitions. */
        while (!err && pp_sink_is_over_budget(r->sink, r->max_buffered)) {
            r->sink_waits++;
            err = pp_sink_poll(r->sink, RUN_POLL_TIMEOUT_MS);
            run_desk_serve(r);
            if (has_line)
                run_status_line(r);
            if (run_is_stopping(r) ||
                (r->ckpt.interval_ms > 0 && pp_kafka_consumer_is_revoking(r->consumer)))
                break; /* a held revocation is handed over below */
        }
        if (err)
            break;
        run_desk_serve(r);
        if (r->ckpt.interval_ms > 0 && pp_kafka_consumer_is_revoking(r->consumer) &&
            (err = run_handover(r)) != PP_OK)
            break;
        for (size_t p = 0; r->ckpt.n_unchecked > 0 && p < r->cap_shards && !err; p++)
            if (r->shards[p] != NULL)
                err = run_checkpoint_check_cluster(r, r->shards[p]);
        if (err)
            break;
        /* A round longer than the interval: the next starts when it ends. */
        if (r->ckpt.interval_ms > 0 && !r->ckpt.is_due &&
            (pp_cli_now() - r->ckpt.last) * 1000.0 >= (double)r->ckpt.interval_ms) {
            r->ckpt.is_due = true;
            r->ckpt.last = pp_cli_now();
        }
        if (r->ckpt.is_due && r->ckpt.err == PP_OK) {
            bool is_done;
            if ((err = run_checkpoint(r, true, &is_done)) != PP_OK) {
                if (r->error[0] == '\0')
                    pp_log_error("run: checkpoint: %s", pp_err_str(err));
                break;
            }
            r->ckpt.is_due = !is_done;
            if (is_done)
                r->ckpt.round_s = pp_cli_now() - r->ckpt.last;
        }
        if (r->ckpt.err != PP_OK) {
            err = r->ckpt.err;
            pp_log_error("run: checkpoint: %s", pp_store_error(r->store));
            break;
        }
        if (pp_cli_now() - last_commit >= RUN_COMMIT_EVERY_S) {
            /* A failed commit is retried by the next one, which covers the
             * same records: log it and go on. */
            if (run_commit(r) != PP_OK)
                pp_log_warn("run: offset commit failed; retrying with the next one");
            last_commit = pp_cli_now();
        }
        if (has_line)
            run_status_line(r);
        if (!is_stopping && (atomic_load(&r->is_stopped) ||
                             (r->options.is_signal_stop && pp_cli_is_stopped(true)))) {
            pp_log_info("run: stopping");
            pp_kafka_consumer_stop(r->consumer);
            is_stopping = true;
            stopped_at = pp_cli_now();
        }
    }
    if (!is_stopping)
        stopped_at = pp_cli_now();
    run_desk_set_open(&r->desk, false);
    if (has_line)
        fputs("\n", stderr);
    if (err) {
        if (pp_sink_error(r->sink)[0])
            snprintf(r->error, sizeof r->error, "lake: %s", pp_sink_error(r->sink));
        pp_pipeline_stop(r->pipeline);
        r->pipeline = NULL;
        return err;
    }
    err = pp_pipeline_stop(r->pipeline);
    r->pipeline = NULL;
    if (err)
        return err;
    /* Everything applied is flushed and must be durable before the last
     * commit, within sink.shutdown.timeout.ms of the stop: S3 down must not
     * hold the process forever (puts are retried without limit). */
    err = pp_sink_drain(r->sink, run_left_ms(r, stopped_at));
    if (err) {
        snprintf(r->error, sizeof r->error, "lake: %s", pp_sink_error(r->sink));
        return err;
    }
    /* And the state, so that the last commit covers everything applied:
     * a last checkpoint of every shard changed since its last (after the
     * one being written, if any), by the same deadline. */
    if (r->ckpt.interval_ms > 0 && r->ckpt.err == PP_OK && pp_sink_pending_objects(r->sink) == 0 &&
        (err = run_checkpoint_all(r, stopped_at)) == PP_AGAIN)
        err = PP_OK; /* the deadline: run_abandon() below */
    if (!err && r->ckpt.err != PP_OK)
        err = r->ckpt.err;
    if (err) {
        if (r->error[0] == '\0')
            pp_log_error("run: checkpoint: %s", pp_store_error(r->store));
        return err;
    }
    if (pp_sink_pending_objects(r->sink) > 0 || r->ckpt.n_writing > 0)
        return run_abandon(r);
    if (run_commit(r) != PP_OK)
        pp_log_warn("run: the final offset commit failed; a restart re-reads those records");
    if (run_view_update(r) == PP_OK)
        pp_log_info("run: stopped after %llu records, %llu posts", (unsigned long long)r->records,
                    (unsigned long long)r->view.counts.posts);
    return PP_OK;
}

const char *pp_run_error(const struct pp_run *r)
{
    return r->error;
}

void pp_run_stop(struct pp_run *r)
{
    atomic_store(&r->is_stopped, true);
}

/* ---- life cycle ------------------------------------------------------------- */

static enum pp_err run_consumer_new(struct pp_run *r, char *msg, size_t msg_len)
{
    struct pp_kafka_property props[256];
    struct pp_kafka_consumer_options kopt;
    size_t n_props = pp_config_kafka_count(r->cfg);
    size_t i;

    memset(&kopt, 0, sizeof kopt);
    if (n_props > sizeof props / sizeof props[0]) {
        snprintf(msg, msg_len, "at most %zu kafka.* keys", sizeof props / sizeof props[0]);
        return PP_ERR_USAGE;
    }
    kopt.group_id = RUN_GROUP_DEFAULT;
    for (i = 0; i < n_props; i++) {
        pp_config_kafka_at(r->cfg, i, &props[i].name, &props[i].value);
        if (strcmp(props[i].name, "group.id") == 0)
            kopt.group_id = NULL; /* the property decides */
    }
    kopt.properties = props;
    kopt.n_properties = n_props;
    kopt.poll_timeout_ms = RUN_POLL_TIMEOUT_MS;
    /* 0 pauses at the pipeline's first signal (PP_PIPELINE_BLOCKED_MS);
     * at most 1 min, so the member stays within max.poll.interval.ms
     * (librdkafka's default 5 min) while it polls nothing. */
    kopt.pause_after_ms = (int)pp_config_ms(r->cfg, "backpressure.pause.after");
    if (kopt.pause_after_ms == 0)
        kopt.pause_after_ms = 1;
    /* With checkpoints a revoked partition's state is handed over first. */
    kopt.is_revoke_held = r->ckpt.interval_ms > 0;
    for (int t = 0; t < PP_TOPIC_COUNT; t++)
        kopt.topics[t] = r->topic_names[t];
    return pp_kafka_consumer_new(&kopt, &r->consumer, msg, msg_len);
}

/* The REST proxy: a producer to the three topics with the same kafka.*
 * properties as the consumer (librdkafka ignores the consumer's own). */
static enum pp_err run_rest_new(struct pp_run *r, char *msg, size_t msg_len)
{
    struct pp_kafka_property props[256];
    struct pp_rest_options ropt;
    size_t n_props = pp_config_kafka_count(r->cfg);

    memset(&ropt, 0, sizeof ropt);
    if (n_props > sizeof props / sizeof props[0]) {
        snprintf(msg, msg_len, "at most %zu kafka.* keys", sizeof props / sizeof props[0]);
        return PP_ERR_USAGE;
    }
    for (size_t i = 0; i < n_props; i++)
        pp_config_kafka_at(r->cfg, i, &props[i].name, &props[i].value);
    ropt.properties = props;
    ropt.n_properties = n_props;
    for (int t = 0; t < PP_TOPIC_COUNT; t++)
        ropt.topics[t] = r->topic_names[t];
    ropt.max_body_bytes = (size_t)pp_config_bytes(r->cfg, "http.max.body.bytes");
    return pp_rest_new(&ropt, &r->rest, msg, msg_len);
}

static enum pp_err run_http_new(struct pp_run *r, char *msg, size_t msg_len)
{
    struct pp_http_options hopt;
    enum pp_err err;

    memset(&hopt, 0, sizeof hopt);
    hopt.listen = pp_config_str(r->cfg, "http.listen");
    hopt.auth_token = pp_config_str(r->cfg, "http.auth.token");
    hopt.is_auth_none = strcmp(pp_config_str(r->cfg, "http.auth"), "none") == 0;
    hopt.max_body_bytes = (size_t)pp_config_bytes(r->cfg, "http.max.body.bytes");
    if ((err = pp_http_new(&hopt, &r->http, msg, msg_len)))
        return err;
    if ((err =
             pp_http_route(r->http, "GET", "/healthz", run_get_health, &r->desk, PP_HTTP_PUBLIC)) ||
        (err = pp_http_route(r->http, "GET", "/readyz", run_get_ready, &r->desk, PP_HTTP_PUBLIC)) ||
        (err = pp_http_route(r->http, "GET", "/v1/queries", run_get_queries, &r->desk, 0)) ||
        (err = pp_http_route(r->http, "GET", "/v1/queries/*", run_get_queries, &r->desk, 0)) ||
        (err = pp_http_route(r->http, "GET", "/v1/status", run_get_status, &r->desk, 0)) ||
        (err = pp_http_route(r->http, "GET", "/metrics", run_get_metrics, &r->desk, 0)))
        goto fail;
    /* REST proxy routes */
    if ((err = run_rest_new(r, msg, msg_len)))
        return err;
    if ((err = pp_rest_route(r->rest, r->http)))
        goto fail;
    /* dashboard routes */
    if ((err = pp_dashboard_route(r->http)))
        goto fail;
    return PP_OK;
fail:
    snprintf(msg, msg_len, "http routes: %s", pp_err_str(err));
    return err;
}

/* The sink's ownership check: the consumer's current assignment. */
static bool run_is_owned(void *arg, enum pp_topic topic, int32_t partition)
{
    struct pp_run *r = arg;

    return pp_kafka_consumer_is_assigned(r->consumer, topic, partition);
}

/* The dead-letter topic's producer, with the kafka.* properties. */
static enum pp_err run_dlq_new(struct pp_run *r, char *msg, size_t msg_len)
{
    const char *props[258];
    struct pp_arena arena;
    const char *bootstrap = NULL;
    size_t n = 0;
    enum pp_err err = PP_OK;

    pp_arena_init(&arena, 0);
    for (size_t i = 0; i < pp_config_kafka_count(r->cfg) && n + 1 < 258; i++) {
        const char *name;
        const char *value;

        pp_config_kafka_at(r->cfg, i, &name, &value);
        if (strcmp(name, "bootstrap.servers") == 0) {
            bootstrap = value;
            continue;
        }
        size_t len = strlen(name) + strlen(value) + 2;
        char *kv = pp_arena_alloc(&arena, len);
        if (kv == NULL) {
            err = PP_ERR_NOMEM;
            goto out;
        }
        snprintf(kv, len, "%s=%s", name, value);
        props[n++] = kv;
    }
    props[n] = NULL;
    err = pp_kafka_producer_new(bootstrap != NULL ? bootstrap : "", props, msg, msg_len, &r->dlq);
out:
    pp_arena_cleanup(&arena);
    return err;
}

/*
 * The spool of the open objects (docs/sink.md): sink.spool.dir, by default
 * the local lake's own directory (the same disk, which the store has just
 * shown writable) or, for S3, $TMPDIR or /tmp; "none": in memory. Called
 * before the store opens, for a directory given (so that a bad one is the
 * start's only line), and after it, for the default.
 */
static enum pp_err run_spool_open(struct pp_run *r, bool is_store_open, char *msg, size_t msg_len)
{
    const char *dir = pp_config_str(r->cfg, "sink.spool.dir");
    enum pp_err err;

    if (r->spool != NULL || (dir != NULL && strcmp(dir, "none") == 0))
        return PP_OK;
    if (dir == NULL || dir[0] == '\0') {
        if (!is_store_open)
            return PP_OK;
        if (pp_store_local_path(pp_config_str(r->cfg, "lake.url"), &dir, msg, msg_len) != PP_OK ||
            dir == NULL)
            dir = pp_store_tmp_dir();
    }
    if ((err = pp_spool_open(dir, &r->spool, msg, msg_len)) != PP_OK) {
        if (err == PP_ERR_IO) /* names the directory and the cause */
            snprintf(msg + strlen(msg), msg_len - strlen(msg), " (sink.spool.dir)");
        return err;
    }
    return PP_OK;
}

/* The lake: the layout from the sink keys (SPEC 8), the store at lake.url,
 * opened (and probed) now so that a lake that cannot work stops the start. */
static enum pp_err run_sink_new(struct pp_run *r, char *msg, size_t msg_len)
{
    const struct pp_config *cfg = r->cfg;
    const char *names[PP_TOPIC_COUNT];
    struct pp_store_options sopt;
    enum pp_err err;

    for (int t = 0; t < PP_TOPIC_COUNT; t++)
        names[t] = r->topic_names[t];
    if ((err = pp_sink_layout_init(&r->layout, cfg, names, msg, msg_len)))
        return err;
    r->sink_arg.clean = r->clean;
    r->sink_arg.layout = &r->layout;
    r->max_buffered = pp_config_bytes(cfg, "sink.max.buffered.bytes");
    r->shutdown_timeout_ms = pp_config_int(cfg, "sink.shutdown.timeout.ms");

    if ((err = run_spool_open(r, false, msg, msg_len)))
        return err;
    pp_store_options_from_config(&sopt, cfg);
    if ((err = pp_store_open(&sopt, &r->store, msg, msg_len)) ||
        (err = run_spool_open(r, true, msg, msg_len)))
        return err;
    if ((r->sink = pp_sink_new(&r->layout, r->store)) == NULL)
        return PP_ERR_NOMEM;
    pp_sink_set_owner(r->sink, run_is_owned, r);
    if (r->spool != NULL)
        pp_sink_set_spool(r->sink, r->spool);
    if ((r->dlq_topic = pp_config_str(cfg, "errors.deadletterqueue.topic.name")) != NULL)
        return run_dlq_new(r, msg, msg_len);
    return PP_OK;
}

/*
 * A group whose state a pinpipe before per-partition checkpoints saved
 * (format 2, one object for the group) would start with empty analytics
 * and its committed offsets: refused, as checkpoints of another version
 * are. The shards' own are loaded at each assignment
 * (run_shards_load_assigned()).
 */
static enum pp_err run_checkpoint_refuse_old(struct pp_run *r, char *msg, size_t msg_len)
{
    struct pp_buf data[2];
    enum pp_err found[2] = {PP_ERR_NOTFOUND, PP_ERR_NOTFOUND};
    char key[2][RUN_CHECKPOINT_KEY_MAX];
    enum pp_err err;

    for (int g = 0; g < 2; g++)
        pp_buf_init(&data[g]);
    err = run_checkpoint_read(r, -1, 1, key, data, found, msg, msg_len);
    for (int g = 0; g < 2 && !err; g++) {
        if (found[g] != PP_ERR_NOTFOUND) {
            snprintf(msg, msg_len,
                     "checkpoint %s/%s: written by another version of pinpipe (one state for the "
                     "group; this one keeps one per partition) (state.checkpoint.interval=0 runs "
                     "without checkpoints; another kafka.group.id starts afresh)",
                     pp_config_str(r->cfg, "lake.url"), key[g]);
            err = PP_ERR_INVALID;
        }
    }
    for (int g = 0; g < 2; g++)
        pp_buf_cleanup(&data[g]);
    return err;
}

/* Checkpoints: the group's keys, the configuration the state depends on,
 * and no state of an older format. */
static enum pp_err run_checkpoint_new(struct pp_run *r, char *msg, size_t msg_len)
{
    char key[RUN_CHECKPOINT_KEY_MAX];
    const char *group_id = RUN_GROUP_DEFAULT;
    size_t n = 0;

    if (r->ckpt.interval_ms <= 0)
        return PP_OK;
    for (size_t i = 0; i < pp_config_kafka_count(r->cfg); i++) {
        const char *name;
        const char *value;
        pp_config_kafka_at(r->cfg, i, &name, &value);
        if (strcmp(name, "group.id") == 0)
            group_id = value;
    }
    /* r->group_id holds any id whose key fits (the key is at least as
     * long), so the keys made from it later are those of the whole id. */
    snprintf(r->group_id, sizeof r->group_id, "%s", group_id);
    if (pp_checkpoint_key(group_id, INT32_MAX, 0, key, sizeof key) != PP_OK) {
        snprintf(msg, msg_len, "kafka.group.id: too long for a checkpoint key");
        return PP_ERR_USAGE;
    }
    /* What the state means: windows, their lateness and retention, the
     * dedup and join spans, and the topics its offsets are of. */
    n = (size_t)snprintf(r->ckpt.config, sizeof r->ckpt.config, "analytics.windows=");
    for (size_t s = 1; s < r->desk.n_specs && n < sizeof r->ckpt.config; s++)
        n += (size_t)snprintf(r->ckpt.config + n, sizeof r->ckpt.config - n, "%s%s",
                              s > 1 ? "," : "", r->desk.spec_text[s]);
    if (n < sizeof r->ckpt.config)
        snprintf(r->ckpt.config + n, sizeof r->ckpt.config - n,
                 " analytics.allowed.lateness=%lldms analytics.retention=%lldms dedup.ttl=%lldms "
                 "join.timeout=%lldms topics.prefix=%s",
                 (long long)pp_config_ms(r->cfg, "analytics.allowed.lateness"),
                 (long long)pp_config_ms(r->cfg, "analytics.retention"),
                 (long long)pp_config_ms(r->cfg, "dedup.ttl"),
                 (long long)pp_config_ms(r->cfg, "join.timeout"),
                 pp_config_str(r->cfg, "topics.prefix"));
    r->ckpt.last = pp_cli_now();
    return run_checkpoint_refuse_old(r, msg, msg_len);
}

enum pp_err pp_run_new(const struct pp_config *cfg, const struct pp_run_options *options,
                       struct pp_run **out, char *msg, size_t msg_len)
{
    const struct pp_config_window *specs;
    struct pp_window_set *windows;
    struct pp_run *r;
    size_t n_specs;
    enum pp_err err;

    *out = NULL;
    msg[0] = '\0';
    r = calloc(1, sizeof *r);
    if (r == NULL)
        return PP_ERR_NOMEM;
    r->cfg = cfg;
    r->options = *options;
    atomic_init(&r->is_stopped, false);
    pthread_mutex_init(&r->desk.lock, NULL);
    pthread_cond_init(&r->desk.served, NULL);
    atomic_init(&r->desk.has_work, false);
    pp_hmap_init(&r->offsets);
    pp_hmap_init(&r->ckpt.scratch);
    pp_intern_init(&r->view.blank_strings);
    r->clock_ms = INT64_MIN;
    r->post_clock_ms = INT64_MIN;

    specs = pp_config_windows(cfg, &n_specs);
    if (n_specs >= RUN_MAX_SPECS) {
        snprintf(msg, msg_len, "analytics.windows: at most %d window specs", RUN_MAX_SPECS - 1);
        err = PP_ERR_USAGE;
        goto fail;
    }
    r->stream_opt.dedup_ttl_ms = pp_config_ms(cfg, "dedup.ttl");
    r->stream_opt.join_timeout_ms = pp_config_ms(cfg, "join.timeout");
    r->stream_opt.max_keys = 0;
    r->specs = specs;
    r->n_specs = n_specs;
    r->lateness_ms = pp_config_ms(cfg, "analytics.allowed.lateness");
    r->retention_ms = pp_config_ms(cfg, "analytics.retention");
    /* The specs as every shard's window set numbers them, and the blank
     * answers (run_view). */
    if ((windows = pp_window_set_new(specs, n_specs, r->lateness_ms, r->retention_ms)) == NULL) {
        err = PP_ERR_NOMEM;
        goto fail;
    }
    r->desk.n_specs = pp_window_set_spec_count(windows);
    for (size_t s = 0; s < r->desk.n_specs; s++)
        pp_config_window_format(pp_window_set_spec(windows, s), r->desk.spec_text[s],
                                sizeof r->desk.spec_text[s]);
    r->view.blank = windows;
    r->ckpt.interval_ms = pp_config_ms(cfg, "state.checkpoint.interval");
    for (int t = 0; t < PP_TOPIC_COUNT; t++)
        snprintf(r->topic_names[t], sizeof r->topic_names[t], "%s.%s",
                 pp_config_str(cfg, "topics.prefix"), pp_topic_name((enum pp_topic)t));
    if ((err = run_consumer_new(r, msg, msg_len)) || (err = run_http_new(r, msg, msg_len)))
        goto fail;
    /* The host as configured, the port as bound (http.listen may ask for
     * port 0). */
    const char *listen = pp_config_str(cfg, "http.listen");
    const char *colon = strrchr(listen, ':');
    snprintf(r->url, sizeof r->url, "http://%.*s:%u",
             colon != NULL ? (int)(colon - listen) : (int)strlen(listen), listen,
             pp_http_port(r->http));
    r->clean.max_record_bytes = (size_t)pp_config_bytes(cfg, "input.max.record.bytes");
    if ((err = run_sink_new(r, msg, msg_len)))
        goto fail;
    if ((err = run_checkpoint_new(r, msg, msg_len)))
        goto fail;
    *out = r;
    return PP_OK;
fail:
    if (msg[0] == '\0')
        snprintf(msg, msg_len, "%s", pp_err_str(err));
    pp_run_destroy(r);
    return err;
}

const char *pp_run_url(const struct pp_run *r)
{
    return r->url;
}

enum pp_err pp_run_start(struct pp_run *r, char *msg, size_t msg_len)
{
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    size_t batch_bytes = r->clean.max_record_bytes + 4096;
    enum pp_err err;

    if (batch_bytes < RUN_BATCH_MIN)
        batch_bytes = RUN_BATCH_MIN;
    struct pp_pipeline_config pcfg = {
        .workers = ncpu > 0 ? (size_t)ncpu : 1,
        .batches_per_worker = 4,
        .batch_bytes = batch_bytes,
        .fill = pp_kafka_consumer_fill,
        .blocked = pp_kafka_consumer_blocked,
        .source = r->consumer,
        .stage = &pp_sink_stage,
        .stage_arg = &r->sink_arg,
    };
    if ((err = pp_pipeline_start(&pcfg, &r->pipeline))) {
        snprintf(msg, msg_len, "pipeline: %s", pp_err_str(err));
        return err;
    }
    if ((err = pp_http_start(r->http, msg, msg_len)))
        return err;
    pp_log_info("run: consuming %s, %s, %s; API on %s", r->topic_names[0], r->topic_names[1],
                r->topic_names[2], r->url);
    return PP_OK;
}

void pp_run_destroy(struct pp_run *r)
{
    if (r == NULL)
        return;
    run_desk_set_open(&r->desk, false);
    pp_http_stop(r->http);
    pp_pipeline_stop(r->pipeline);
    pp_rest_destroy(r->rest); /* after pp_http_stop: no handler runs */
    pp_http_destroy(r->http);
    /* The store's puts end (abandoned on an error path) before the group
     * is left: no checkpoint of this member lands after the partitions'
     * next owner loaded theirs. */
    pp_sink_destroy(r->sink); /* before its store and its spool */
    pp_spool_close(r->spool);
    pp_store_close(r->store);
    pp_kafka_consumer_destroy(r->consumer);
    pp_kafka_producer_destroy(r->dlq);
    pp_buf_cleanup(&r->dlq_line);
    for (size_t p = 0; p < r->cap_shards; p++)
        run_shard_destroy(r->shards[p]);
    free(r->shards);
    free(r->view.shards);
    run_answers_clear(&r->answers);
    free(r->answers.items);
    pp_window_set_destroy(r->view.blank);
    pp_intern_cleanup(&r->view.blank_strings);
    pp_hmap_cleanup(&r->offsets);
    pp_hmap_cleanup(&r->ckpt.scratch);
    free(r->visible.pending);
    pthread_cond_destroy(&r->desk.served);
    pthread_mutex_destroy(&r->desk.lock);
    free(r);
}
