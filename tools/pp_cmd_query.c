/*
 * pinpipe query: the batch job. Reads a recorded lake, cleans, deduplicates
 * and joins the records, and prints the nine answers.
 *
 * Threads: the lake reader (decompression) and the clean workers run inside
 * a pp_pipeline; this thread is the consumer that owns the post table.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pp_clean.h"
#include "pp_cli.h"
#include "pp_cmd.h"
#include "pp_lake.h"
#include "pp_log.h"
#include "pp_pipeline.h"
#include "pp_post.h"
#include "pp_query.h"
#include "pp_render.h"
#include "pp_store.h"

#define QUERY_BATCH_MIN (4u << 20)
#define QUERY_PREFETCH 8

static const char query_usage[] =
    "usage: pinpipe query --from <lake> [options]\n"
    "\n"
    "Answers the nine analytics queries over a recorded lake (the Confluent S3\n"
    "sink layout: <lake>/topics/<topic>/.../<topic>+<partition>+<offset>.json[.zst]).\n"
    "\n"
    "options:\n"
    "  --from <dir>|s3://bucket[/prefix]\n"
    "                          the lake: its root directory, or an S3 lake\n"
    "                          (copied to a temporary directory first; AWS\n"
    "                          credentials from the environment, profile or role)\n"
    "  --store-url <url>       http(s)://host:port of an S3-compatible store\n"
    "  --region <region>       the S3 region (default us-east-1)\n"
    "  --format table|csv|json output format (default table)\n"
    "  --query <name>          print only this query (repeatable)\n"
    "  --prefix <prefix>       topic prefix, when the lake holds several\n"
    "  --topics-dir <dir>      directory of the raw topics (default topics)\n"
    "  --skip-corrupt          count and skip corrupt or unreadable objects\n"
    "  --max-record-bytes <n>  longer records are rejected (default 1048576)\n"
    "  --workers <n>           parse/clean threads (default: one per core)\n"
    "  --quiet                 no progress on stderr\n"
    "  --help                  this text\n"
    "\n"
    "queries: category_by_country, category_by_year, top_user_by_country,\n"
    "  top_country_by_followers, category_by_age_group, median_followers_by_age_group,\n"
    "  users_joined_by_year, median_followers_by_join_year,\n"
    "  median_followers_by_age_group_and_join_year\n"
    "exit status: 0 ok, 1 runtime failure, 2 usage error\n";

struct query_opts {
    const char *from;
    const char *store_url;
    const char *region;
    const char *prefix;
    const char *topics_dir;
    enum pp_render_format format;
    bool is_selected[PP_QUERY_COUNT];
    bool has_selection;
    bool skip_corrupt;
    bool is_quiet;
    size_t max_record_bytes;
    size_t workers;
};

static int query_parse_args(int argc, char **argv, struct query_opts *o)
{
    enum {
        OPT_PREFIX = 256,
        OPT_TOPICS_DIR,
        OPT_SKIP,
        OPT_MAX,
        OPT_WORKERS,
        OPT_QUIET,
        OPT_STORE_URL,
        OPT_REGION
    };
    static const struct option longopts[] = {
        {"from", required_argument, NULL, 'f'},
        {"format", required_argument, NULL, 'F'},
        {"query", required_argument, NULL, 'q'},
        {"prefix", required_argument, NULL, OPT_PREFIX},
        {"topics-dir", required_argument, NULL, OPT_TOPICS_DIR},
        {"skip-corrupt", no_argument, NULL, OPT_SKIP},
        {"max-record-bytes", required_argument, NULL, OPT_MAX},
        {"workers", required_argument, NULL, OPT_WORKERS},
        {"quiet", no_argument, NULL, OPT_QUIET},
        {"store-url", required_argument, NULL, OPT_STORE_URL},
        {"region", required_argument, NULL, OPT_REGION},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    enum pp_query_id id;
    int c;

    memset(o, 0, sizeof *o);
    o->format = PP_RENDER_TABLE;
    o->topics_dir = "topics";
    o->max_record_bytes = PP_CLEAN_DEFAULT_MAX_RECORD_BYTES;
    o->workers = ncpu > 0 ? (size_t)ncpu : 1;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
        switch (c) {
        case 'f': o->from = optarg; break;
        case 'F':
            if (pp_render_parse_format(optarg, &o->format))
                return pp_cli_usage_error("query", "--format must be table, csv or json, not '%s'",
                                          optarg);
            break;
        case 'q':
            if (pp_query_lookup(optarg, &id))
                return pp_cli_usage_error("query", "unknown query '%s'", optarg);
            o->is_selected[id] = true;
            o->has_selection = true;
            break;
        case OPT_PREFIX: o->prefix = optarg; break;
        case OPT_TOPICS_DIR: o->topics_dir = optarg; break;
        case OPT_SKIP: o->skip_corrupt = true; break;
        case OPT_MAX:
        case OPT_WORKERS: {
            char *end;
            unsigned long long v = strtoull(optarg, &end, 10);
            if (*optarg < '0' || *optarg > '9' || *end != '\0' || v == 0 ||
                (c == OPT_WORKERS && v > 64) || (c == OPT_MAX && v > (1ull << 30)))
                return c == OPT_WORKERS
                           ? pp_cli_usage_error("query",
                                                "--workers must be an integer from 1 to 64, "
                                                "not '%s'",
                                                optarg)
                           : pp_cli_usage_error("query",
                                                "--max-record-bytes must be an integer from 1 "
                                                "to 1073741824, not '%s'",
                                                optarg);
            if (c == OPT_WORKERS)
                o->workers = (size_t)v;
            else
                o->max_record_bytes = (size_t)v;
            break;
        }
        case OPT_QUIET: o->is_quiet = true; break;
        case OPT_STORE_URL: o->store_url = optarg; break;
        case OPT_REGION: o->region = optarg; break;
        case 'h': fputs(query_usage, stdout); return -1;
        case ':': return pp_cli_usage_error("query", "option %s needs a value", argv[optind - 1]);
        default: return pp_cli_usage_error("query", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return pp_cli_usage_error("query", "unexpected argument '%s'", argv[optind]);
    if (o->from == NULL)
        return pp_cli_usage_error("query", "%s", "--from <lake> is required");
    return 0;
}

static void query_progress(const struct pp_post_table *table, double started, bool is_final)
{
    uint64_t n = 0;
    double secs = pp_cli_now() - started;
    int t;

    for (t = 0; t < PP_TOPIC_COUNT; t++)
        n += table->counts.records[t];
    fprintf(stderr, "\rpinpipe: query: %llu records, %zu keys, %.0f records/s%s",
            (unsigned long long)n, table->n_posts, secs > 0 ? (double)n / secs : 0.0,
            is_final ? "\n" : "");
}

/* Streams every batch of the pipeline into the post table. */
static enum pp_err query_consume(struct pp_pipeline *pipeline, struct pp_post_table *table,
                                 bool show_progress)
{
    struct pp_batch *batch;
    enum pp_err err = PP_OK;
    double started = pp_cli_now();
    double last = started;
    size_t i;

    while (pp_pipeline_next(pipeline, &batch) == PP_OK) {
        const struct pp_clean_item *items = pp_clean_items(batch);
        for (i = 0; i < batch->n_out && !err; i++) {
            /* Ask for the slot of a later item now: its cache miss then
             * overlaps with this item's work. */
            if (i + QUERY_PREFETCH < batch->n_out)
                pp_post_table_prefetch(table, &items[i + QUERY_PREFETCH]);
            err = pp_post_table_add(table, &items[i]);
        }
        pp_pipeline_release(pipeline, batch);
        if (err)
            return err;
        if (show_progress && pp_cli_now() - last > 0.25) {
            last = pp_cli_now();
            query_progress(table, started, false);
        }
    }
    if (show_progress)
        query_progress(table, started, true);
    return PP_OK;
}

int pp_cmd_query(int argc, char **argv)
{
    struct query_opts o;
    struct pp_lake_listing listing;
    struct pp_lake_reader *reader = NULL;
    struct pp_pipeline *pipeline = NULL;
    struct pp_post_table table;
    struct pp_query_state q;
    struct pp_table tables[PP_QUERY_COUNT];
    struct pp_lake_reader_stats stats;
    struct pp_render_input input;
    struct pp_buf out;
    size_t n_tables = 0;
    char msg[1024];
    char *copy = NULL; /* the local copy of an S3 lake */
    enum pp_err err;
    enum pp_err consume_err;
    int rc = 1;
    size_t i;
    int t;

    rc = query_parse_args(argc, argv, &o);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    rc = 1;
    pp_post_table_init(&table);
    pp_query_init(&q);
    pp_buf_init(&out);
    memset(&listing, 0, sizeof listing);
    if (strncmp(o.from, "s3://", 5) == 0) {
        struct pp_store_options sopt = {.url = o.from, .endpoint = o.store_url, .region = o.region};

        if ((err = pp_store_download(&sopt, &copy, NULL, NULL, msg, sizeof msg))) {
            fprintf(stderr, "pinpipe: query: %s\n", msg);
            rc = err == PP_ERR_USAGE ? 2 : 1;
            goto out;
        }
        o.from = copy;
    }
    err = pp_lake_list(o.from, o.topics_dir, o.prefix, &listing, msg, sizeof msg);
    if (err) {
        fprintf(stderr, "pinpipe: query: %s\n", msg[0] ? msg : pp_err_str(err));
        rc = err == PP_ERR_IO || err == PP_ERR_NOMEM ? 1 : 2;
        goto out;
    }
    struct pp_clean_options clean_opt = {o.max_record_bytes, true};

    reader = pp_lake_reader_new(&listing, o.skip_corrupt);
    if (reader == NULL) {
        err = PP_ERR_NOMEM;
        goto fail;
    }
    struct pp_pipeline_config config = {
        .workers = o.workers,
        .batches_per_worker = 4,
        .batch_bytes = o.max_record_bytes + 4096 > QUERY_BATCH_MIN ? o.max_record_bytes + 4096
                                                                   : QUERY_BATCH_MIN,
        .fill = pp_lake_reader_fill,
        .source = reader,
        .stage = &pp_clean_stage,
        .stage_arg = &clean_opt,
    };
    if ((err = pp_pipeline_start(&config, &pipeline)))
        goto fail;
    consume_err = query_consume(pipeline, &table, !o.is_quiet && isatty(STDERR_FILENO));
    err = pp_pipeline_stop(pipeline);
    pipeline = NULL;
    if (err == PP_OK)
        err = consume_err;
    if (err) {
        if (pp_lake_reader_error(reader)[0] != '\0') {
            fprintf(stderr, "pinpipe: query: %s\n", pp_lake_reader_error(reader));
            goto out;
        }
        goto fail;
    }

    for (i = 0; i < table.cap; i++) {
        if (table.posts[i].parts != PP_POST_ALL_PARTS)
            continue;
        if ((err = pp_query_add(&q, &table.posts[i], &table.strings)))
            goto fail;
    }
    for (t = 0; t < PP_QUERY_COUNT; t++) {
        if (o.has_selection && !o.is_selected[t])
            continue;
        if ((err = pp_query_result(&q, &table.strings, (enum pp_query_id)t, &tables[n_tables])))
            goto fail;
        n_tables++;
    }
    pp_lake_reader_get_stats(reader, &stats);
    memset(&input, 0, sizeof input);
    input.objects = stats.objects;
    input.corrupt_objects = stats.corrupt_objects;
    input.ignored_files = listing.ignored_files;
    input.bytes = stats.bytes_out;
    input.counts = &table.counts;
    pp_post_table_join_counts(&table, &input.posts, input.orphans);
    if ((err = pp_render(o.format, tables, n_tables, &input, &out)))
        goto fail;
    if (fwrite(out.data, 1, out.len, stdout) != out.len || fflush(stdout) != 0) {
        fprintf(stderr, "pinpipe: query: cannot write the answers to stdout\n");
        goto out;
    }
    rc = 0;
    goto out;
fail:
    fprintf(stderr, "pinpipe: query: %s\n", pp_err_str(err));
out:
    pp_pipeline_stop(pipeline);
    for (i = 0; i < n_tables; i++)
        pp_table_cleanup(&tables[i]);
    pp_buf_cleanup(&out);
    pp_query_cleanup(&q);
    pp_post_table_cleanup(&table);
    pp_lake_reader_destroy(reader);
    pp_lake_listing_cleanup(&listing);
    pp_store_download_remove(copy);
    return rc;
}
