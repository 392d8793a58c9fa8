/*
 * pinpipe replay: the raw topics of a lake produced back into Kafka
 * (docs/kafka.md), or passed through the pipeline into another lake
 * (docs/sink.md: re-compressed raw objects, cleaned tables, rejects).
 *
 * One thread reads the lake with pp_lake_reader (topics in pin, geo, user
 * order; each topic's objects in (partition, start offset) order) and
 * produces every record, in offset order, to the topic of the same name
 * (or under --to-prefix). A record goes to the partition it had in the
 * lake when the destination topic has enough partitions, so each lake
 * partition's records land in one Kafka partition in offset order (the
 * idempotent producer keeps that order across retries); otherwise the
 * key's murmur2 hash places it. The key is the decimal ind (pin `index`,
 * geo/user `ind`) as the cleaning rules of docs/semantics.md read it; a
 * record those rules reject gets no key.
 *
 * Main thread only.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pp_arena.h"
#include "pp_batch.h"
#include "pp_clean.h"
#include "pp_cli.h"
#include "pp_config.h"
#include "pp_cmd.h"
#include "pp_kafka.h"
#include "pp_lake.h"
#include "pp_log.h"
#include "pp_pipeline.h"
#include "pp_sink.h"
#include "pp_store.h"
#include "pp_topic.h"

#define REPLAY_PREFIX_MAX 200
/* Batch input bytes: whole records up to this size travel; a longer one is
 * an oversized span, skipped. Kafka's default message.max.bytes is 1 MB. */
#define REPLAY_BATCH_BYTES (2 * 1024 * 1024)
#define REPLAY_MAX_RATE 1000000000
#define REPLAY_DEFAULT_TIMEOUT_S 30
#define REPLAY_MAX_TIMEOUT_S 3600
/* Records between checks of pending signals and progress. */
#define REPLAY_CHECK_EVERY 1024
#define REPLAY_MAX_SETS 64

static const char replay_usage[] =
    "usage: pinpipe replay --from <lake> --to kafka://<host:port>[,<host:port>] [options]\n"
    "       pinpipe replay --from <lake> --to <lake dir>|file://<dir>|s3://<bucket>[/prefix]\n"
    "                      [--set key=value]...\n"
    "\n"
    "Produces the recorded raw topics of a lake (<prefix>.pin, .geo, .user) back\n"
    "into Kafka, in offset order per partition. Each record goes to the topic of\n"
    "the same name (or under --to-prefix), keyed by its ind (pin index, geo/user\n"
    "ind; a record whose key the cleaning rules reject is sent without a key),\n"
    "into the partition it had in the lake when the topic has that many\n"
    "partitions, else where the key's hash puts it. Idempotent producer; exit 1\n"
    "when a delivery fails.\n"
    "\n"
    "With a lake as --to, the records go through the streaming pipeline's\n"
    "cleaning and lake sink instead: raw objects, cleaned tables and rejects\n"
    "in the sink's layout, under the source's topic names (or --to-prefix);\n"
    "--set takes the sink's configuration keys (flush.size, sink.zstd.level,\n"
    "partitioner.class, ...; docs/config.md). After SIGINT or SIGTERM, objects\n"
    "not written within sink.shutdown.timeout.ms (20 s) are abandoned: exit 1.\n"
    "\n"
    "options:\n"
    "  --from <lake>           the lake's root directory, or s3://bucket[/prefix]\n"
    "                          (copied to a temporary directory first) (required)\n"
    "  --from-store-url <url>  http(s)://host:port of the S3-compatible store of\n"
    "                          an s3:// --from (default: AWS)\n"
    "  --from-region <region>  its region (default us-east-1)\n"
    "  --to kafka://<bootstrap> the Kafka bootstrap servers (required)\n"
    "  --rate <n>|max          records per second, on average (default max)\n"
    "  --prefix <prefix>       the lake's topic prefix, when it holds several\n"
    "  --to-prefix <prefix>    prefix of the destination topics (default: the lake's)\n"
    "  --topics-dir <dir>      directory of the raw topics (default topics)\n"
    "  --timeout <s>           seconds a message or the broker lookup may take\n"
    "                          before the replay fails (default 30)\n"
    "  --set <key=value>       lake target: a configuration key (repeatable)\n"
    "  --quiet                 no summary or progress on stderr\n"
    "  --help                  this text\n"
    "\n"
    "exit status: 0 ok, 1 runtime failure, 2 usage error\n";

struct replay_opts {
    const char *from;
    const char *from_store_url; /* an s3:// --from's endpoint */
    const char *from_region;
    const char *to;
    const char *bootstrap; /* the part of --to after kafka:// */
    const char *prefix;    /* NULL: discovered */
    const char *to_prefix; /* NULL: the lake's */
    const char *topics_dir;
    int64_t rate; /* records per second; 0: max */
    int64_t timeout_s;
    bool is_quiet;
    bool is_lake;         /* --to is a lake, not kafka:// */
    bool has_kafka_flags; /* --rate or --timeout given */
    const char *sets[REPLAY_MAX_SETS];
    size_t n_sets;
};

struct replay_counts {
    uint64_t records[PP_TOPIC_COUNT];
    uint64_t keyless;
    uint64_t skipped; /* oversized or too large for Kafka */
};

/* Returns 0 to run, -1 after --help, or the exit status of a usage error. */
static int replay_parse_args(int argc, char **argv, struct replay_opts *o)
{
    enum {
        OPT_FROM = 256,
        OPT_TO,
        OPT_RATE,
        OPT_PREFIX,
        OPT_TO_PREFIX,
        OPT_TOPICS_DIR,
        OPT_TIMEOUT,
        OPT_QUIET,
        OPT_HELP,
        OPT_SET,
        OPT_FROM_STORE_URL,
        OPT_FROM_REGION,
    };
    static const struct option longopts[] = {
        {"from", required_argument, NULL, OPT_FROM},
        {"to", required_argument, NULL, OPT_TO},
        {"rate", required_argument, NULL, OPT_RATE},
        {"prefix", required_argument, NULL, OPT_PREFIX},
        {"to-prefix", required_argument, NULL, OPT_TO_PREFIX},
        {"topics-dir", required_argument, NULL, OPT_TOPICS_DIR},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"quiet", no_argument, NULL, OPT_QUIET},
        {"help", no_argument, NULL, OPT_HELP},
        {"set", required_argument, NULL, OPT_SET},
        {"from-store-url", required_argument, NULL, OPT_FROM_STORE_URL},
        {"from-region", required_argument, NULL, OPT_FROM_REGION},
        {NULL, 0, NULL, 0},
    };
    int c;

    memset(o, 0, sizeof *o);
    o->topics_dir = PP_LAKE_TOPICS_DIR;
    o->timeout_s = REPLAY_DEFAULT_TIMEOUT_S;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_FROM: o->from = optarg; break;
        case OPT_FROM_STORE_URL: o->from_store_url = optarg; break;
        case OPT_FROM_REGION: o->from_region = optarg; break;
        case OPT_TO: o->to = optarg; break;
        case OPT_RATE:
            o->has_kafka_flags = true;
            if (strcmp(optarg, "max") == 0)
                o->rate = 0;
            else if (!pp_cli_parse_int(optarg, 1, REPLAY_MAX_RATE, &o->rate))
                return pp_cli_usage_error("replay",
                                          "--rate must be max or an integer in 1..%d records/s, "
                                          "not '%s'",
                                          REPLAY_MAX_RATE, optarg);
            break;
        case OPT_PREFIX:
        case OPT_TO_PREFIX:
            if (!pp_cli_is_topic_text(optarg, REPLAY_PREFIX_MAX))
                return pp_cli_usage_error("replay",
                                          "%s must be 1..%d characters of [a-zA-Z0-9._-], "
                                          "not '%s'",
                                          c == OPT_PREFIX ? "--prefix" : "--to-prefix",
                                          REPLAY_PREFIX_MAX, optarg);
            if (c == OPT_PREFIX)
                o->prefix = optarg;
            else
                o->to_prefix = optarg;
            break;
        case OPT_TOPICS_DIR:
            if (*optarg == '\0' || *optarg == '/')
                return pp_cli_usage_error("replay",
                                          "--topics-dir must be a relative path, not '%s'", optarg);
            o->topics_dir = optarg;
            break;
        case OPT_TIMEOUT:
            o->has_kafka_flags = true;
            if (!pp_cli_parse_int(optarg, 1, REPLAY_MAX_TIMEOUT_S, &o->timeout_s))
                return pp_cli_usage_error("replay",
                                          "--timeout must be an integer in 1..%d seconds, "
                                          "not '%s'",
                                          REPLAY_MAX_TIMEOUT_S, optarg);
            break;
        case OPT_QUIET: o->is_quiet = true; break;
        case OPT_SET:
            if (o->n_sets == REPLAY_MAX_SETS)
                return pp_cli_usage_error("replay", "at most %d --set options", REPLAY_MAX_SETS);
            o->sets[o->n_sets++] = optarg;
            break;
        case 'h':
        case OPT_HELP: fputs(replay_usage, stdout); return -1;
        case ':': return pp_cli_usage_error("replay", "%s needs a value", argv[optind - 1]);
        default:
            if (optopt >= OPT_FROM)
                return pp_cli_usage_error("replay", "'%s': the option takes no value",
                                          argv[optind - 1]);
            if (optopt != 0)
                return pp_cli_usage_error("replay", "unknown option '-%c'", optopt);
            return pp_cli_usage_error("replay", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return pp_cli_usage_error("replay", "unexpected argument '%s'", argv[optind]);
    if (o->from == NULL)
        return pp_cli_usage_error("replay", "--from <lake> is required");
    if (o->to == NULL)
        return pp_cli_usage_error("replay", "--to kafka://<bootstrap> or --to <lake> is required");
    if (strncmp(o->from, "file://", 7) == 0)
        o->from += 7;
    if (o->from[0] == '\0')
        return pp_cli_usage_error("replay", "--from must not be empty");
    if (strncmp(o->to, "kafka://", 8) != 0) {
        if (strstr(o->to, "://") != NULL && strncmp(o->to, "file://", 7) != 0 &&
            strncmp(o->to, "s3://", 5) != 0)
            return pp_cli_usage_error("replay",
                                      "--to must be kafka://<host:port>[,<host:port>] or a lake "
                                      "(a directory, file://<dir>, s3://<bucket>), not '%s'",
                                      o->to);
        if (o->has_kafka_flags)
            return pp_cli_usage_error("replay", "--rate and --timeout go with --to kafka://");
        o->is_lake = true;
        return 0;
    }
    if (o->n_sets > 0)
        return pp_cli_usage_error("replay", "--set goes with a lake as --to, not kafka://");
    o->bootstrap = o->to + 8;
    if (o->bootstrap[0] == '\0' || strchr(o->bootstrap, '/') != NULL)
        return pp_cli_usage_error("replay", "--to kafka:// needs host:port[,host:port], not '%s'",
                                  o->to);
    return 0;
}

/* The state of one run. */
struct replay {
    const struct replay_opts *o;
    struct pp_kafka_producer *producer;
    struct pp_clean *clean;
    struct pp_arena arena;
    char topic[PP_TOPIC_COUNT][REPLAY_PREFIX_MAX + 8]; /* destination names */
    bool is_same_partition[PP_TOPIC_COUNT];
    struct replay_counts counts;
    uint64_t total; /* records produced, for pacing */
    struct timespec start;
    struct pp_cli_stop_mask stop; /* zeroed: not begun */
    bool is_stopped;
};

/* Decides, per topic, whether records keep their lake partition: only when
 * the destination has at least as many partitions as the lake uses. The
 * Metadata request also creates the topic where the broker auto-creates. */
static enum pp_err replay_plan(struct replay *r, const struct pp_lake_listing *listing, char *msg,
                               size_t msg_len)
{
    for (int t = 0; t < PP_TOPIC_COUNT; t++) {
        int32_t lake_partitions = 0;
        int32_t count;
        enum pp_err err;

        for (size_t i = 0; i < listing->object_count[t]; i++)
            if (listing->objects[t][i].partition + 1 > lake_partitions)
                lake_partitions = listing->objects[t][i].partition + 1;
        if (lake_partitions == 0)
            continue; /* nothing to send */
        err = pp_kafka_producer_partitions(r->producer, r->topic[t], (int)r->o->timeout_s * 1000,
                                           &count, msg, msg_len);
        if (err == PP_ERR_NOTFOUND) {
            /* No auto-creation: let delivery report it, or a topic
             * created meanwhile take the records by key. */
            if (!r->o->is_quiet)
                pp_log_warn("replay: %s; records will be placed by key", msg);
            msg[0] = '\0';
            continue;
        }
        if (err)
            return err;
        r->is_same_partition[t] = count >= lake_partitions;
        if (!r->is_same_partition[t] && !r->o->is_quiet)
            pp_log_warn("replay: %s has %" PRId32 " partitions, the lake %" PRId32
                        "; records are placed by key hash, so per-partition order is not kept",
                        r->topic[t], count, lake_partitions);
    }
    return PP_OK;
}

/* One record of a span: data[0..len) with capacity readable bytes. */
static enum pp_err replay_record(struct replay *r, const struct pp_batch_span *span, int64_t offset,
                                 const char *data, size_t len, size_t capacity)
{
    struct pp_clean_record rec;
    enum pp_err err = PP_OK;
    char key[24];
    int key_len = 0;
    int32_t partition =
        r->is_same_partition[span->topic] ? span->partition : PP_KAFKA_PARTITION_ANY;

    pp_arena_reset(&r->arena);
    if (pp_clean_record(r->clean, (enum pp_topic)span->topic, data, len, capacity, &r->arena, &rec,
                        &err) == PP_REJECT_NONE)
        key_len = snprintf(key, sizeof key, "%" PRId64, rec.ind);
    if (err)
        return err;
    if (r->o->rate > 0)
        pp_cli_pace(&r->start, r->total, r->o->rate);
    err = pp_kafka_produce_retry(r->producer, r->topic[span->topic], partition,
                                 key_len > 0 ? key : NULL, (size_t)key_len, data, len);
    if (err == PP_ERR_TOOBIG) {
        pp_log_warn("replay: %s [%" PRId32 "] offset %" PRId64
                    ": record of %zu bytes is larger than the producer's message.max.bytes; "
                    "skipped",
                    r->topic[span->topic], span->partition, offset, len);
        r->counts.skipped++;
        return PP_OK;
    }
    if (err)
        return err;
    r->counts.records[span->topic]++;
    r->counts.keyless += key_len == 0;
    r->total++;
    if (r->total % REPLAY_CHECK_EVERY == 0 || r->o->rate > 0)
        r->is_stopped = pp_cli_is_stopped(r->stop.is_masked);
    return PP_OK;
}

/* Every record of the batch's spans, in order. */
static enum pp_err replay_batch(struct replay *r, const struct pp_batch *batch)
{
    for (size_t s = 0; s < batch->n_spans && !r->is_stopped; s++) {
        const struct pp_batch_span *span = &batch->spans[s];
        const char *p = batch->data + span->begin;
        const char *end = batch->data + span->end;
        int64_t offset = span->first_offset;

        if (span->is_oversized) {
            pp_log_warn(
                "replay: %s [%" PRId32 "] offset %" PRId64 ": record longer than %d bytes; skipped",
                r->topic[span->topic], span->partition, span->first_offset, REPLAY_BATCH_BYTES);
            r->counts.skipped++;
            continue;
        }
        /* Records are '\n'-separated; the last may lack its newline. An
         * empty line is an (empty, malformed) record. */
        while (p < end && !r->is_stopped) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t len = (size_t)((nl != NULL ? nl : end) - p);
            size_t capacity = batch->cap + PP_BATCH_PADDING - (size_t)(p - batch->data);
            enum pp_err err = replay_record(r, span, offset, p, len, capacity);

            if (err)
                return err;
            offset++;
            p += len + (nl != NULL);
        }
    }
    return PP_OK;
}

/* ---- into a lake ------------------------------------------------------------ */

/* The pipeline's consumer for replay --to <lake>: every batch to the sink,
 * which the loop drives between batches; past sink.max.buffered.bytes it
 * waits for the store, until an interrupt (S3 down would hold it there). */
static enum pp_err replay_lake_loop(struct pp_pipeline *pipeline, struct pp_sink *sink,
                                    uint64_t max_buffered, bool is_masked, bool *is_stopped)
{
    struct pp_batch *batch;
    enum pp_err err = PP_OK;

    while (!err && pp_pipeline_next(pipeline, &batch) == PP_OK) {
        err = pp_sink_add(sink, batch);
        pp_pipeline_release(pipeline, batch);
        if (!err)
            err = pp_sink_poll(sink, 0);
        while (!err && !*is_stopped && pp_sink_is_over_budget(sink, max_buffered)) {
            err = pp_sink_poll(sink, 20);
            *is_stopped = pp_cli_is_stopped(is_masked);
        }
        if (*is_stopped || pp_cli_is_stopped(is_masked)) {
            *is_stopped = true;
            break;
        }
    }
    return err;
}

/* Writes every object. Without an interrupt it waits as long as the store
 * needs (puts are retried without limit); after one, before or during the
 * wait, at most timeout_ms more (sink.shutdown.timeout.ms): the caller then
 * finds objects pending. */
static enum pp_err replay_lake_drain(struct pp_sink *sink, int64_t timeout_ms, bool is_masked,
                                     bool *is_stopped)
{
    enum pp_err err = PP_OK;

    while (!err && !*is_stopped && pp_sink_pending_objects(sink) > 0) {
        err = pp_sink_drain(sink, 200);
        *is_stopped = pp_cli_is_stopped(is_masked);
    }
    if (!err && *is_stopped)
        err = pp_sink_drain(sink, timeout_ms);
    return err;
}

/* replay --to <lake>: the lake reader as the pipeline's source, the encode
 * stage on the workers, the sink on this thread. Returns the exit status. */
static int replay_to_lake(const struct replay_opts *o)
{
    struct pp_config *cfg = pp_config_new();
    struct pp_lake_listing listing;
    struct pp_lake_reader *reader = NULL;
    struct pp_lake_reader_stats rst;
    struct pp_store *store = NULL;
    struct pp_sink *sink = NULL;
    struct pp_pipeline *pipeline = NULL;
    struct pp_sink_layout layout;
    struct pp_sink_stage_arg arg;
    struct pp_sink_stats st;
    struct pp_store_options sopt;
    char names[PP_TOPIC_COUNT][REPLAY_PREFIX_MAX + 8];
    const char *name_of[PP_TOPIC_COUNT];
    char msg[512] = "";
    char url[4200];
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    bool is_stopped = false;
    struct pp_cli_stop_mask stop = {.is_masked = false};
    double started = pp_cli_now();
    enum pp_err err;
    int rc = 2;

    memset(&listing, 0, sizeof listing);
    if (cfg == NULL) {
        err = PP_ERR_NOMEM;
        goto fail;
    }
    snprintf(url, sizeof url, "lake.url=%s", o->to);
    err = pp_config_set_arg(cfg, url, msg, sizeof msg);
    for (size_t i = 0; !err && i < o->n_sets; i++)
        err = pp_config_set_arg(cfg, o->sets[i], msg, sizeof msg);
    if (!err)
        err = pp_config_validate(cfg, msg, sizeof msg);
    if (err)
        goto fail;
    if ((err = pp_lake_list(o->from, o->topics_dir, o->prefix, &listing, msg, sizeof msg))) {
        rc = err == PP_ERR_IO || err == PP_ERR_NOMEM ? 1 : 2;
        goto fail;
    }
    for (int t = 0; t < PP_TOPIC_COUNT; t++) {
        snprintf(names[t], sizeof names[t], "%s.%s",
                 o->to_prefix != NULL ? o->to_prefix : listing.prefix,
                 pp_topic_name((enum pp_topic)t));
        name_of[t] = names[t];
    }
    if ((err = pp_sink_layout_init(&layout, cfg, name_of, msg, sizeof msg)))
        goto fail;
    rc = 1;
    pp_store_options_from_config(&sopt, cfg);
    if ((err = pp_store_open(&sopt, &store, msg, sizeof msg))) {
        rc = err == PP_ERR_USAGE ? 2 : 1;
        goto fail;
    }
    sink = pp_sink_new(&layout, store);
    reader = pp_lake_reader_new(&listing, false);
    if (sink == NULL || reader == NULL) {
        err = PP_ERR_NOMEM;
        goto fail;
    }
    memset(&arg, 0, sizeof arg);
    arg.clean.max_record_bytes = (size_t)pp_config_bytes(cfg, "input.max.record.bytes");
    arg.layout = &layout;
    struct pp_pipeline_config pcfg = {
        .workers = ncpu > 0 ? (size_t)ncpu : 1,
        .batches_per_worker = 4,
        .batch_bytes = REPLAY_BATCH_BYTES,
        .fill = pp_lake_reader_fill,
        .source = reader,
        .stage = &pp_sink_stage,
        .stage_arg = &arg,
    };
    /* SIGINT/SIGTERM stay pending (in every thread, which inherit the
     * mask) while the loop polls for them: an interrupt stops between
     * batches, and what was read is still written. */
    pp_cli_stop_mask_begin(&stop);
    if ((err = pp_pipeline_start(&pcfg, &pipeline)))
        goto fail;
    err = replay_lake_loop(pipeline, sink, pp_config_bytes(cfg, "sink.max.buffered.bytes"),
                           stop.is_masked, &is_stopped);
    {
        enum pp_err stop_err = pp_pipeline_stop(pipeline);
        if (!err)
            err = stop_err;
    }
    if (err) {
        if (pp_lake_reader_error(reader)[0] != '\0')
            snprintf(msg, sizeof msg, "%s", pp_lake_reader_error(reader));
        else if (pp_sink_error(sink)[0] != '\0')
            snprintf(msg, sizeof msg, "%s", pp_sink_error(sink));
        goto fail;
    }
    err = replay_lake_drain(sink, pp_config_int(cfg, "sink.shutdown.timeout.ms"), stop.is_masked,
                            &is_stopped);
    if (err) {
        snprintf(msg, sizeof msg, "%s", pp_sink_error(sink));
        goto fail;
    }
    if (pp_sink_pending_objects(sink) > 0) {
        size_t n = pp_sink_abandon(sink);

        snprintf(msg, sizeof msg,
                 "%s: %zu objects still not written %lld ms after the interrupt "
                 "(sink.shutdown.timeout.ms): abandoned; the lake lacks them, replay again",
                 o->to, n, (long long)pp_config_int(cfg, "sink.shutdown.timeout.ms"));
        err = PP_ERR_IO;
        goto fail;
    }
    pp_sink_get_stats(sink, &st);
    pp_lake_reader_get_stats(reader, &rst);
    if (!o->is_quiet) {
        double secs = pp_cli_now() - started;
        pp_log_info("replay: %" PRIu64 " records (%.1f MB) -> %s in %.2f s (%.1f MB/s): %" PRIu64
                    " raw, %" PRIu64 " cleaned, %" PRIu64 " dlq objects, %.1f MB%s",
                    st.records[PP_SINK_RAW], (double)rst.bytes_out / 1e6, o->to, secs,
                    secs > 0 ? (double)rst.bytes_out / 1e6 / secs : 0.0, st.objects[PP_SINK_RAW],
                    st.objects[PP_SINK_CLEANED], st.objects[PP_SINK_DLQ],
                    (double)(st.bytes[0] + st.bytes[1] + st.bytes[2]) / 1e6,
                    is_stopped ? " (interrupted)" : "");
    }
    rc = 0;
    err = PP_OK;
fail:
    if (rc != 0)
        fprintf(stderr, "pinpipe: replay: %s\n", msg[0] ? msg : pp_err_str(err));
    pp_cli_stop_mask_end(&stop);
    pp_sink_destroy(sink);
    pp_store_close(store);
    pp_lake_reader_destroy(reader);
    pp_lake_listing_cleanup(&listing);
    pp_config_destroy(cfg);
    return rc;
}

int pp_cmd_replay(int argc, char **argv)
{
    struct replay_opts o;
    struct replay r;
    struct pp_lake_listing listing;
    struct pp_lake_reader *reader = NULL;
    struct pp_batch *batch = NULL;
    struct pp_kafka_producer_stats st;
    char msg[512] = "";
    char *copy = NULL; /* the local copy of an s3:// --from */
    char timeout_prop[64];
    const char *props[2];
    double started;
    double secs;
    enum pp_err err = PP_OK;
    int rc;

    rc = replay_parse_args(argc, argv, &o);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    if (strncmp(o.from, "s3://", 5) == 0) {
        struct pp_store_options sopt = {
            .url = o.from, .endpoint = o.from_store_url, .region = o.from_region};

        if ((err = pp_store_download(&sopt, &copy, NULL, NULL, msg, sizeof msg))) {
            fprintf(stderr, "pinpipe: replay: %s\n", msg);
            return err == PP_ERR_USAGE ? 2 : 1;
        }
        o.from = copy;
    }
    if (o.is_lake) {
        rc = replay_to_lake(&o);
        pp_store_download_remove(copy);
        return rc;
    }
    rc = 1;
    memset(&listing, 0, sizeof listing);
    memset(&r, 0, sizeof r);
    r.o = &o;
    pp_arena_init(&r.arena, 64 * 1024);

    err = pp_lake_list(o.from, o.topics_dir, o.prefix, &listing, msg, sizeof msg);
    if (err) {
        fprintf(stderr, "pinpipe: replay: %s\n", msg[0] ? msg : pp_err_str(err));
        rc = err == PP_ERR_IO || err == PP_ERR_NOMEM ? 1 : 2;
        err = PP_OK; /* reported */
        goto out;
    }
    for (int t = 0; t < PP_TOPIC_COUNT; t++)
        snprintf(r.topic[t], sizeof r.topic[t], "%s.%s",
                 o.to_prefix != NULL ? o.to_prefix : listing.prefix,
                 pp_topic_name((enum pp_topic)t));

    /* The delivery timeout bounds how long an unreachable broker can hold
     * the run: messages fail after it, and so does the Metadata lookup. */
    snprintf(timeout_prop, sizeof timeout_prop, "message.timeout.ms=%" PRId64, o.timeout_s * 1000);
    props[0] = timeout_prop;
    props[1] = NULL;
    err = pp_kafka_producer_new(o.bootstrap, props, msg, sizeof msg, &r.producer);
    if (err) {
        fprintf(stderr, "pinpipe: replay: %s: %s\n", o.to, msg[0] ? msg : pp_err_str(err));
        rc = err == PP_ERR_USAGE ? 2 : 1;
        err = PP_OK;
        goto out;
    }
    {
        struct pp_clean_options clean_opt = {PP_CLEAN_DEFAULT_MAX_RECORD_BYTES, true};

        r.clean = pp_clean_new_opts(&clean_opt);
    }
    reader = pp_lake_reader_new(&listing, false);
    batch = pp_batch_new(REPLAY_BATCH_BYTES);
    if (r.clean == NULL || reader == NULL || batch == NULL) {
        err = PP_ERR_NOMEM;
        goto out;
    }
    err = replay_plan(&r, &listing, msg, sizeof msg);
    if (err) {
        fprintf(stderr, "pinpipe: replay: %s: %s\n", o.to, msg[0] ? msg : pp_err_str(err));
        err = PP_OK;
        goto out;
    }

    /* SIGINT/SIGTERM stay pending while we poll for them, so an interrupt
     * stops between records and what was produced is still flushed. */
    pp_cli_stop_mask_begin(&r.stop);

    clock_gettime(CLOCK_MONOTONIC, &r.start);
    started = pp_cli_now();
    while (!r.is_stopped) {
        pp_batch_reset(batch);
        err = pp_lake_reader_fill(reader, batch);
        if (err == PP_END) {
            err = PP_OK;
            break;
        }
        if (err) {
            if (pp_lake_reader_error(reader)[0] != '\0') {
                fprintf(stderr, "pinpipe: replay: %s\n", pp_lake_reader_error(reader));
                err = PP_OK;
            }
            goto out;
        }
        err = replay_batch(&r, batch);
        if (err)
            goto out;
    }
    err = pp_kafka_producer_flush(r.producer, (int)o.timeout_s * 1000 + 30000, msg, sizeof msg);
    if (err) {
        fprintf(stderr, "pinpipe: replay: %s: %s\n", o.to, msg);
        err = PP_OK;
        goto out;
    }
    secs = pp_cli_now() - started;
    pp_kafka_producer_get_stats(r.producer, &st);
    if (!o.is_quiet)
        pp_log_info("replay: %" PRIu64 " records (pin %" PRIu64 ", geo %" PRIu64 ", user %" PRIu64
                    "; %" PRIu64 " without key, %" PRIu64 " skipped) -> %s in %.2f s "
                    "(%.0f records/s)%s",
                    st.delivered, r.counts.records[PP_TOPIC_PIN], r.counts.records[PP_TOPIC_GEO],
                    r.counts.records[PP_TOPIC_USER], r.counts.keyless, r.counts.skipped, o.to, secs,
                    secs > 0 ? (double)st.delivered / secs : 0.0,
                    r.is_stopped ? " (interrupted)" : "");
    rc = 0;

out:
    if (err) {
        /* A produce call failed, or a delivery failed while producing. */
        msg[0] = '\0';
        if (r.producer != NULL) {
            pp_kafka_producer_get_stats(r.producer, &st);
            if (st.failed > 0)
                snprintf(msg, sizeof msg, "delivery failed: %s", st.first_error_msg);
        }
        fprintf(stderr, "pinpipe: replay: %s: %s\n", o.to, msg[0] ? msg : pp_err_str(err));
    }
    pp_cli_stop_mask_end(&r.stop);
    pp_kafka_producer_destroy(r.producer);
    pp_clean_destroy(r.clean);
    pp_arena_cleanup(&r.arena);
    pp_batch_destroy(batch);
    pp_lake_reader_destroy(reader);
    pp_lake_listing_cleanup(&listing);
    pp_store_download_remove(copy);
    return rc;
}
