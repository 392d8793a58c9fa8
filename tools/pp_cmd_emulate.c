/*
 * pinpipe emulate: posts from pp_emulate written as the raw topics of a
 * lake, as the Confluent S3 sink would have stored them after a keyed
 * producer sent them to Kafka, or produced to Kafka itself (--to
 * kafka://, docs/kafka.md), or posted to a Confluent REST Proxy v2
 * endpoint such as pinpipe run's (--to http://, docs/http.md).
 *
 * Each record goes to the partition Kafka's default partitioner picks for
 * its key (the decimal ind) and gets that partition's next offset. A lake
 * is written by the lake sink (docs/sink.md), as `pinpipe run` writes one:
 * objects of flush-size records (raw, and the cleaned and dlq tables next
 * to them), named by their first offset, fsynced and renamed into place;
 * the open objects are written at the end (or on SIGINT/SIGTERM), so object
 * names depend only on the records.
 *
 * Main thread only.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pp_arena.h"
#include "pp_cli.h"
#include "pp_cmd.h"
#include "pp_emulate.h"
#include "pp_httpc.h"
#include "pp_kafka.h"
#include "pp_batch.h"
#include "pp_clean.h"
#include "pp_lake.h"
#include "pp_log.h"
#include "pp_sink.h"
#include "pp_store.h"
#include "pp_topic.h"

#define EMULATE_MAX_PARTITIONS 4096
/* Records encoded at a time for --to <lake>. */
#define EMULATE_BATCH_BYTES (1024 * 1024)
#define EMULATE_PREFIX_MAX 200
/* Posts between checks of the clock (progress) and of pending signals. */
#define EMULATE_CHECK_EVERY 4096
/* How long the final flush waits: beyond message.timeout.ms (30 s), so
 * undelivered messages end as failed deliveries, not as a timeout. */
#define EMULATE_FLUSH_TIMEOUT_MS 60000
#define EMULATE_MAX_RATE 100000000
/* --to http://: tries per record when the answer says "try again" (a
 * transport error, 5xx, a retriable record error), with a backoff that
 * doubles from EMULATE_HTTP_BACKOFF_MS. */
#define EMULATE_HTTP_ATTEMPTS 5
#define EMULATE_HTTP_BACKOFF_MS 100
#define EMULATE_HTTP_TIMEOUT_MS 30000
#define EMULATE_URL_MAX 1024

static const char emulate_usage[] =
    "usage: pinpipe emulate --to <lake dir>|kafka://<host:port>[,<host:port>]|\n"
    "                        http://<host:port>[/<path>] [options]\n"
    "\n"
    "Writes emulated posts (a pin, a geo and a user record per post, keyed by\n"
    "ind) as raw topic objects of a lake, in the Confluent S3 sink layout:\n"
    "<dir>/topics/<prefix>.<pin|geo|user>/partition=<p>/<topic>+<p>+<offset>.json.zst\n"
    "or produces them to the Kafka topics <prefix>.pin, .geo and .user, keyed\n"
    "by the decimal ind (the Java client's partitioner places them; idempotent\n"
    "producer; exit 1 when a delivery fails), or posts them one record per\n"
    "request to a Confluent REST Proxy v2 (POST <url>/topics/<topic>, as the\n"
    "original posting emulator did; the proxy keys them by index/ind; retried\n"
    "on 5xx and connection errors, exit 1 on any other answer). Keys are drawn\n"
    "from [0, ind-space), so some posts repeat exactly; records depend only on\n"
    "the seed and the key.\n"
    "\n"
    "options:\n"
    "  --to <dir>|kafka://<bootstrap>|http://<host:port>[/<path>]\n"
    "                          the lake's root directory (created), the Kafka\n"
    "                          bootstrap servers or the REST proxy (required)\n"
    "  --rate <n>              posts per second, on average (default: as fast as possible)\n"
    "  --count <n>             posts to write (default 1000)\n"
    "  --seed <n>              random seed (default 100)\n"
    "  --partitions <n>        lake: partitions per topic (default 4, at most 4096)\n"
    "  --prefix <prefix>       topic prefix (default pinterest)\n"
    "  --topics-dir <dir>      lake: directory of the raw topics (default topics)\n"
    "  --flush-size <n>        lake: records per object (default 20000)\n"
    "  --compression zstd|none lake: object compression (default zstd)\n"
    "  --zstd-level <n>        lake: 1..19 (default 3)\n"
    "  --malformed <permille>  records replaced by malformed ones, 0..1000 (default 0)\n"
    "  --ind-space <n>         keys are drawn from [0, n) (default count + count/10)\n"
    "  --token <token>         http://: the Bearer token (default: the\n"
    "                          PINPIPE_HTTP_TOKEN environment variable)\n"
    "  --quiet                 no summary or progress on stderr\n"
    "  --help                  this text\n"
    "exit status: 0 ok, 1 runtime failure, 2 usage error\n";

struct emulate_opts {
    const char *to;
    const char *prefix;
    const char *topics_dir;
    int64_t count;
    uint64_t seed;
    int32_t partitions;
    int64_t flush_size;
    int zstd_level;
    bool is_zstd;
    unsigned malformed_permille;
    int64_t ind_space; /* 0: derived from count */
    bool is_quiet;
    int64_t rate;          /* posts per second; 0: unthrottled */
    const char *bootstrap; /* set for kafka://: the part after the scheme */
    bool is_http;          /* --to http:// or https:// */
    const char *token;     /* http: the Bearer token, or NULL; never logged */
};

/* --to <lake>: the records go through the lake sink (ops/pp_sink), as the
 * streaming engine's do: the encode stage (cleaning, chunks) runs here on
 * this thread, the sink hands objects to the store. */
struct emulate_writer {
    const struct emulate_opts *o;
    char *root; /* --to without a file:// scheme or trailing '/' */
    char topic[PP_TOPIC_COUNT][EMULATE_PREFIX_MAX + 8];
    int64_t *next_offset; /* [topic * partitions + partition] */
    struct pp_sink_layout layout;
    struct pp_sink_stage_arg arg;
    void *encoder; /* the encode stage's state */
    struct pp_store *store;
    struct pp_sink *sink;
    struct pp_batch *batch; /* records not yet encoded */
    struct pp_buf path;
};

static bool emulate_parse_u64(const char *s, uint64_t *value)
{
    char *end;
    unsigned long long v;

    if (*s < '0' || *s > '9')
        return false;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return false;
    *value = v;
    return true;
}

/* Returns 0 to run, -1 after --help, or the exit status of a usage error. */
static int emulate_parse_args(int argc, char **argv, struct emulate_opts *o)
{
    enum {
        OPT_TO = 256,
        OPT_COUNT,
        OPT_SEED,
        OPT_PARTITIONS,
        OPT_PREFIX,
        OPT_TOPICS_DIR,
        OPT_FLUSH_SIZE,
        OPT_ZSTD_LEVEL,
        OPT_COMPRESSION,
        OPT_MALFORMED,
        OPT_IND_SPACE,
        OPT_QUIET,
        OPT_RATE,
        OPT_TOKEN,
        OPT_HELP,
    };
    static const struct option longopts[] = {
        {"to", required_argument, NULL, OPT_TO},
        {"count", required_argument, NULL, OPT_COUNT},
        {"seed", required_argument, NULL, OPT_SEED},
        {"partitions", required_argument, NULL, OPT_PARTITIONS},
        {"prefix", required_argument, NULL, OPT_PREFIX},
        {"topics-dir", required_argument, NULL, OPT_TOPICS_DIR},
        {"flush-size", required_argument, NULL, OPT_FLUSH_SIZE},
        {"zstd-level", required_argument, NULL, OPT_ZSTD_LEVEL},
        {"compression", required_argument, NULL, OPT_COMPRESSION},
        {"malformed", required_argument, NULL, OPT_MALFORMED},
        {"ind-space", required_argument, NULL, OPT_IND_SPACE},
        {"quiet", no_argument, NULL, OPT_QUIET},
        {"rate", required_argument, NULL, OPT_RATE},
        {"token", required_argument, NULL, OPT_TOKEN},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    int64_t v;
    int c;

    memset(o, 0, sizeof *o);
    o->prefix = "pinterest";
    o->topics_dir = PP_LAKE_TOPICS_DIR;
    o->count = 1000;
    o->seed = 100;
    o->partitions = 4;
    o->flush_size = 20000;
    o->zstd_level = 3;
    o->is_zstd = true;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_TO: o->to = optarg; break;
        case OPT_COUNT:
            if (!pp_cli_parse_int(optarg, 0, INT64_MAX / 4, &o->count))
                return pp_cli_usage_error("emulate", "--count must be an integer >= 0, not '%s'",
                                          optarg);
            break;
        case OPT_SEED:
            if (!emulate_parse_u64(optarg, &o->seed))
                return pp_cli_usage_error(
                    "emulate", "--seed must be an integer in 0..2^64-1, not '%s'", optarg);
            break;
        case OPT_PARTITIONS:
            if (!pp_cli_parse_int(optarg, 1, EMULATE_MAX_PARTITIONS, &v))
                return pp_cli_usage_error("emulate",
                                          "--partitions must be an integer in 1..%d, not '%s'",
                                          EMULATE_MAX_PARTITIONS, optarg);
            o->partitions = (int32_t)v;
            break;
        case OPT_PREFIX:
            if (!pp_cli_is_topic_text(optarg, EMULATE_PREFIX_MAX))
                return pp_cli_usage_error("emulate",
                                          "--prefix must be 1..%d characters of "
                                          "[a-zA-Z0-9._-], not '%s'",
                                          EMULATE_PREFIX_MAX, optarg);
            o->prefix = optarg;
            break;
        case OPT_TOPICS_DIR:
            if (*optarg == '\0' || *optarg == '/')
                return pp_cli_usage_error("emulate",
                                          "--topics-dir must be a relative path, not '%s'", optarg);
            o->topics_dir = optarg;
            break;
        case OPT_FLUSH_SIZE:
            if (!pp_cli_parse_int(optarg, 1, INT64_MAX / 4, &o->flush_size))
                return pp_cli_usage_error("emulate",
                                          "--flush-size must be an integer >= 1, not '%s'", optarg);
            break;
        case OPT_ZSTD_LEVEL:
            if (!pp_cli_parse_int(optarg, 1, 19, &v))
                return pp_cli_usage_error(
                    "emulate", "--zstd-level must be an integer in 1..19, not '%s'", optarg);
            o->zstd_level = (int)v;
            break;
        case OPT_COMPRESSION:
            if (strcmp(optarg, "zstd") == 0)
                o->is_zstd = true;
            else if (strcmp(optarg, "none") == 0)
                o->is_zstd = false;
            else
                return pp_cli_usage_error("emulate", "--compression must be zstd or none, not '%s'",
                                          optarg);
            break;
        case OPT_MALFORMED:
            if (!pp_cli_parse_int(optarg, 0, 1000, &v))
                return pp_cli_usage_error(
                    "emulate", "--malformed must be a permille in 0..1000, not '%s'", optarg);
            o->malformed_permille = (unsigned)v;
            break;
        case OPT_IND_SPACE:
            if (!pp_cli_parse_int(optarg, 1, INT64_MAX / 4, &o->ind_space))
                return pp_cli_usage_error("emulate",
                                          "--ind-space must be an integer >= 1, not '%s'", optarg);
            break;
        case OPT_QUIET: o->is_quiet = true; break;
        case OPT_RATE:
            if (!pp_cli_parse_int(optarg, 1, EMULATE_MAX_RATE, &o->rate))
                return pp_cli_usage_error("emulate",
                                          "--rate must be an integer in 1..%d posts/s, not '%s'",
                                          EMULATE_MAX_RATE, optarg);
            break;
        case OPT_TOKEN: o->token = optarg; break;
        case 'h':
        case OPT_HELP: fputs(emulate_usage, stdout); return -1;
        case ':': return pp_cli_usage_error("emulate", "%s needs a value", argv[optind - 1]);
        default:
            /* getopt_long reports a long option given a value it does not
             * take with that option's code in optopt */
            if (optopt >= OPT_TO)
                return pp_cli_usage_error("emulate", "'%s': the option takes no value",
                                          argv[optind - 1]);
            if (optopt != 0)
                return pp_cli_usage_error("emulate", "unknown option '-%c'", optopt);
            return pp_cli_usage_error("emulate", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return pp_cli_usage_error("emulate", "unexpected argument '%s'", argv[optind]);
    if (o->to == NULL)
        return pp_cli_usage_error("emulate", "--to <lake dir>, --to kafka://<bootstrap> or "
                                             "--to http://<host:port> is required");
    o->is_http = strncmp(o->to, "http://", 7) == 0 || strncmp(o->to, "https://", 8) == 0;
    if (o->is_http) {
        const char *host = o->to + (o->to[4] == 's' ? 8 : 7);

        if (*host == '\0' || *host == '/' || strpbrk(o->to, "?#") != NULL ||
            strlen(o->to) > EMULATE_URL_MAX / 2)
            return pp_cli_usage_error(
                "emulate", "--to http:// needs http://<host:port>[/<path>], not '%s'", o->to);
        /* The REST proxy takes JSON values only: most malformed kinds
         * (truncated, invalid UTF-8, empty) cannot be embedded in a body. */
        if (o->malformed_permille > 0)
            return pp_cli_usage_error("emulate", "--malformed cannot be used with --to http:// "
                                                 "(the REST proxy takes JSON values only)");
        if (o->token == NULL)
            o->token = getenv("PINPIPE_HTTP_TOKEN");
        if (o->token != NULL && (o->token[0] == '\0' || strpbrk(o->token, "\r\n") != NULL))
            return pp_cli_usage_error("emulate", "--token must be a non-empty single line");
    } else if (o->token != NULL) {
        return pp_cli_usage_error("emulate", "--token is for --to http:// only");
    } else if (strncmp(o->to, "kafka://", 8) == 0) {
        o->bootstrap = o->to + 8;
        if (o->bootstrap[0] == '\0' || strchr(o->bootstrap, '/') != NULL)
            return pp_cli_usage_error("emulate",
                                      "--to kafka:// needs host:port[,host:port], not '%s'", o->to);
    } else if (strstr(o->to, "://") != NULL && strncmp(o->to, "file://", 7) != 0)
        return pp_cli_usage_error("emulate",
                                  "--to must be a lake directory (a path or file://), "
                                  "kafka://<bootstrap> or http://<host:port>, not '%s'",
                                  o->to);
    if (o->to[0] == '\0' || strcmp(o->to, "file://") == 0)
        return pp_cli_usage_error("emulate", "--to must not be empty");
    if (o->ind_space == 0)
        o->ind_space = o->count + o->count / 10 > 0 ? o->count + o->count / 10 : 1;
    return 0;
}

/* mkdir -p: creates path and its missing parents. On failure path is cut
 * after the component that could not be created, and errno says why. */
static enum pp_err emulate_mkdirs(char *path)
{
    size_t len = strlen(path);

    for (size_t i = 1; i <= len; i++) {
        if (path[i] != '/' && path[i] != '\0')
            continue;
        path[i] = '\0';
        if (mkdir(path, 0777) != 0 && errno != EEXIST)
            return PP_ERR_IO;
        if (i < len)
            path[i] = '/';
    }
    return PP_OK;
}

/* Encodes the pending records and hands them to the sink. */
static enum pp_err emulate_encode(struct emulate_writer *w)
{
    enum pp_err err;

    if (w->batch->n_spans == 0)
        return PP_OK;
    err = pp_sink_stage.process(w->encoder, w->batch);
    if (!err)
        err = pp_sink_add(w->sink, w->batch);
    if (!err)
        err = pp_sink_poll(w->sink, 0);
    pp_batch_reset(w->batch);
    return err;
}

/* One record (without its newline) of (topic, partition by key). */
static enum pp_err emulate_append(struct emulate_writer *w, int topic, int64_t ind,
                                  const struct pp_buf *record)
{
    int32_t partition = pp_emulate_partition(ind, w->o->partitions);
    int64_t *next = &w->next_offset[(size_t)topic * (size_t)w->o->partitions + (size_t)partition];
    struct pp_batch *b = w->batch;
    struct pp_batch_span span = {
        .first_offset = (*next)++,
        .timestamp_ms = PP_BATCH_NO_TIMESTAMP,
        .partition = partition,
        .topic = (uint16_t)topic,
        .is_single = true,
    };
    enum pp_err err;

    if (b->len + record->len > b->cap && (err = emulate_encode(w)))
        return err;
    if (record->len > b->cap)
        return PP_ERR_TOOBIG; /* the emulator's records are a few KB */
    span.begin = (uint32_t)b->len;
    memcpy(b->data + b->len, record->data, record->len);
    b->len += record->len;
    span.end = (uint32_t)b->len;
    return pp_batch_add_span(b, &span);
}

/* Objects written, of every kind. */
static uint64_t emulate_objects(const struct emulate_writer *w)
{
    struct pp_sink_stats st;

    pp_sink_get_stats(w->sink, &st);
    return st.objects[PP_SINK_RAW] + st.objects[PP_SINK_CLEANED] + st.objects[PP_SINK_DLQ];
}

/* Writes every object and waits until all are durable. */
static enum pp_err emulate_flush_all(struct emulate_writer *w)
{
    enum pp_err err = emulate_encode(w);

    if (!err)
        err = pp_sink_flush(w->sink);
    while (!err && pp_sink_pending_objects(w->sink) > 0)
        err = pp_sink_poll(w->sink, 100);
    if (err)
        pp_log_error("emulate: %s",
                     pp_sink_error(w->sink)[0] ? pp_sink_error(w->sink) : pp_err_str(err));
    return err ? PP_ERR_IO : PP_OK;
}

static enum pp_err emulate_writer_init(struct emulate_writer *w, const struct emulate_opts *o)
{
    struct pp_store_options sopt;
    char msg[512];
    size_t len;
    enum pp_err err;

    memset(w, 0, sizeof *w);
    w->o = o;
    pp_buf_init(&w->path);
    for (int t = 0; t < PP_TOPIC_COUNT; t++) {
        snprintf(w->topic[t], sizeof w->topic[t], "%s.%s", o->prefix,
                 pp_topic_name((enum pp_topic)t));
        w->layout.topic_name[t] = w->topic[t];
    }
    w->root = strdup(strncmp(o->to, "file://", 7) == 0 ? o->to + 7 : o->to);
    w->next_offset = calloc((size_t)o->partitions * PP_TOPIC_COUNT, sizeof *w->next_offset);
    w->batch = pp_batch_new(EMULATE_BATCH_BYTES);
    if (w->root == NULL || w->next_offset == NULL || w->batch == NULL)
        return PP_ERR_NOMEM;
    len = strlen(w->root);
    while (len > 1 && w->root[len - 1] == '/')
        w->root[--len] = '\0';
    w->layout.topics_dir = o->topics_dir;
    w->layout.flush_size = o->flush_size;
    w->layout.path_format = "";
    w->layout.timestamp_field = "";
    w->layout.is_zstd = o->is_zstd;
    w->layout.zstd_level = o->zstd_level;
    w->layout.offset_pad_width = PP_LAKE_OFFSET_PAD;
    w->arg.clean.max_record_bytes = PP_CLEAN_DEFAULT_MAX_RECORD_BYTES;
    w->arg.layout = &w->layout;
    memset(&sopt, 0, sizeof sopt);
    sopt.url = w->root;
    if ((err = pp_store_open(&sopt, &w->store, msg, sizeof msg))) {
        pp_log_error("emulate: %s", msg);
        return err == PP_ERR_NOMEM ? err : PP_ERR_IO;
    }
    w->sink = pp_sink_new(&w->layout, w->store);
    w->encoder = pp_sink_stage.create(&w->arg);
    if (w->sink == NULL || w->encoder == NULL)
        return PP_ERR_NOMEM;
    return PP_OK;
}

static void emulate_writer_cleanup(struct emulate_writer *w)
{
    pp_sink_destroy(w->sink); /* before its store */
    pp_store_close(w->store);
    if (w->encoder != NULL)
        pp_sink_stage.destroy(w->encoder);
    pp_batch_destroy(w->batch);
    free(w->next_offset);
    free(w->root);
    pp_buf_cleanup(&w->path);
}

/* Warns when a topic directory already holds files: same-named objects are
 * replaced, but objects of a longer earlier run would stay and mix in. */
static void emulate_warn_existing(const struct emulate_writer *w)
{
    for (int t = 0; t < PP_TOPIC_COUNT; t++) {
        char dir[4096];
        DIR *d;
        struct dirent *e;
        bool is_used = false;

        snprintf(dir, sizeof dir, "%s/%s/%s", w->root, w->o->topics_dir, w->topic[t]);
        d = opendir(dir);
        if (d == NULL)
            continue;
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
                is_used = true;
                break;
            }
        }
        closedir(d);
        if (is_used)
            pp_log_warn("emulate: %s already holds objects; objects of the same name are "
                        "replaced, others are kept",
                        dir);
    }
}

/* The topic directories exist even when no record reaches them, so that a
 * lake of zero posts reads as empty rather than missing. */
static enum pp_err emulate_create_topic_dirs(struct emulate_writer *w)
{
    enum pp_err err;

    for (int t = 0; t < PP_TOPIC_COUNT; t++) {
        w->path.len = 0;
        err = pp_buf_printf(&w->path, "%s/%s/%s", w->root, w->o->topics_dir, w->topic[t]);
        if (err)
            return err;
        err = emulate_mkdirs(w->path.data);
        if (err) {
            pp_log_error("emulate: cannot create directory %s: %s", w->path.data, strerror(errno));
            return err;
        }
    }
    return PP_OK;
}

static void emulate_progress(int64_t done, int64_t count, double started, bool is_final)
{
    double secs = pp_cli_now() - started;

    fprintf(stderr, "\rpinpipe: emulate: %" PRId64 "/%" PRId64 " posts, %.0f posts/s\033[K", done,
            count, secs > 0 ? (double)done / secs : 0.0);
    if (is_final)
        fputs("\r\033[K", stderr);
    fflush(stderr);
}

/* --to kafka:// and --to http://: where the records go. */
struct emulate_remote {
    const struct emulate_opts *o;
    char topic[PP_TOPIC_COUNT][EMULATE_PREFIX_MAX + 8];
    struct pp_kafka_producer *producer; /* kafka:// */
    struct pp_httpc *client;            /* http:// */
    char url[PP_TOPIC_COUNT][EMULATE_URL_MAX];
    char auth[EMULATE_URL_MAX];
    const char *headers[3];
    struct pp_buf body;
    struct pp_httpc_response resp;
    uint64_t posted;  /* http: records acknowledged by the proxy */
    uint64_t retries; /* http: requests sent again */
    char msg[512];    /* why it failed, one line */
};

static void emulate_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* True when the last answer's body contains text. */
static bool emulate_answer_has(const struct emulate_remote *r, const char *text)
{
    return r->resp.body.len > 0 &&
           memmem(r->resp.body.data, r->resp.body.len, text, strlen(text)) != NULL;
}

/*
 * Posts one record as {"records":[{"value":<record>}]}, without a key:
 * the proxy keys it by its index/ind, as it did for the original emulator.
 * A transport error, a 5xx answer or a retriable record error (50003) is
 * tried again (the record may then be written twice: an exact duplicate,
 * which the engine counts as such); any other answer stops the run.
 */
static enum pp_err emulate_post(struct emulate_remote *r, int topic, const struct pp_buf *record)
{
    struct pp_httpc_request req = {
        .method = "POST",
        .url = r->url[topic],
        .headers = r->headers,
        .timeout_ms = EMULATE_HTTP_TIMEOUT_MS,
    };
    long backoff = EMULATE_HTTP_BACKOFF_MS;
    enum pp_err err;

    r->body.len = 0;
    err = pp_buf_append_str(&r->body, "{\"records\":[{\"value\":");
    if (!err)
        err = pp_buf_append(&r->body, record->data, record->len);
    if (!err)
        err = pp_buf_append_str(&r->body, "}]}");
    if (err)
        return err;
    req.body = r->body.data;
    req.body_len = r->body.len;
    for (int attempt = 1;; attempt++) {
        bool is_retriable;

        r->resp.body.len = 0;
        err = pp_httpc_send(r->client, &req, &r->resp, r->msg, sizeof r->msg);
        if (err == PP_OK && r->resp.status == 200 && emulate_answer_has(r, "\"error_code\":null")) {
            r->posted++;
            return PP_OK;
        }
        if (err == PP_OK) {
            /* One line: the status and the start of the answer. */
            int n = (int)(r->resp.body.len < 300 ? r->resp.body.len : 300);

            for (int i = 0; i < n; i++)
                if (r->resp.body.data[i] == '\n' || r->resp.body.data[i] == '\r')
                    r->resp.body.data[i] = ' ';
            snprintf(r->msg, sizeof r->msg, "POST %s: %u %.*s", r->url[topic], r->resp.status, n,
                     r->resp.body.data != NULL ? r->resp.body.data : "");
        }
        is_retriable = err == PP_ERR_IO ||
                       (err == PP_OK &&
                        (r->resp.status >= 500 ||
                         (r->resp.status == 200 && emulate_answer_has(r, "\"error_code\":50003"))));
        if (!is_retriable || attempt == EMULATE_HTTP_ATTEMPTS)
            return err != PP_OK ? err : PP_ERR_IO;
        r->retries++;
        emulate_sleep_ms(backoff);
        backoff *= 2;
    }
}

static enum pp_err emulate_remote_init(struct emulate_remote *r, const struct emulate_opts *o)
{
    size_t base_len = strlen(o->to);
    size_t n = 0;
    enum pp_err err;

    memset(r, 0, sizeof *r);
    r->o = o;
    pp_buf_init(&r->body);
    pp_buf_init(&r->resp.body);
    for (int t = 0; t < PP_TOPIC_COUNT; t++)
        snprintf(r->topic[t], sizeof r->topic[t], "%s.%s", o->prefix,
                 pp_topic_name((enum pp_topic)t));
    if (!o->is_http) {
        err = pp_kafka_producer_new(o->bootstrap, NULL, r->msg, sizeof r->msg, &r->producer);
        return err;
    }
    while (base_len > 0 && o->to[base_len - 1] == '/')
        base_len--;
    for (int t = 0; t < PP_TOPIC_COUNT; t++)
        snprintf(r->url[t], sizeof r->url[t], "%.*s/topics/%s", (int)base_len, o->to, r->topic[t]);
    r->headers[n++] = "Content-Type: application/vnd.kafka.json.v2+json";
    if (o->token != NULL) {
        snprintf(r->auth, sizeof r->auth, "Authorization: Bearer %s", o->token);
        r->headers[n++] = r->auth;
    }
    err = pp_httpc_new(&r->client);
    if (err)
        snprintf(r->msg, sizeof r->msg, "cannot start the HTTP client: %s", pp_err_str(err));
    return err;
}

static void emulate_remote_cleanup(struct emulate_remote *r)
{
    pp_kafka_producer_destroy(r->producer);
    pp_httpc_destroy(r->client);
    pp_buf_cleanup(&r->body);
    pp_buf_cleanup(&r->resp.body);
    /* the token was copied into the header */
    memset(r->auth, 0, sizeof r->auth);
}

/* Sends one record of post ind: kafka:// keyed by the decimal ind, http://
 * unkeyed (see emulate_post). */
static enum pp_err emulate_remote_send(struct emulate_remote *r, int topic, int64_t ind,
                                       const struct pp_buf *record)
{
    char key[24];
    int key_len;

    if (r->client != NULL)
        return emulate_post(r, topic, record);
    key_len = snprintf(key, sizeof key, "%" PRId64, ind);
    return pp_kafka_produce_retry(r->producer, r->topic[topic], PP_KAFKA_PARTITION_ANY, key,
                                  (size_t)key_len, record->data, record->len);
}

/* --to kafka:// or http://: every post's three records to
 * <prefix>.pin/.geo/.user; Kafka's default partitioner (murmur2 of the
 * decimal ind, which the REST proxy uses as the key) places them where
 * pp_emulate_partition would. */
static int emulate_run_remote(const struct emulate_opts *o)
{
    struct pp_emulate_options eopt;
    struct pp_emulate *em = NULL;
    struct emulate_remote r;
    struct pp_kafka_producer_stats st;
    struct pp_buf rec[PP_TOPIC_COUNT];
    struct pp_cli_stop_mask stop = {.is_masked = false};
    bool show_progress;
    struct timespec start;
    double started;
    double secs;
    double last = 0;
    int64_t done = 0;
    uint64_t delivered;
    enum pp_err err;
    int rc = 1;

    for (int t = 0; t < PP_TOPIC_COUNT; t++)
        pp_buf_init(&rec[t]);
    err = emulate_remote_init(&r, o);
    if (err) {
        if (err == PP_ERR_USAGE)
            rc = 2;
        goto out;
    }
    eopt.seed = o->seed;
    eopt.ind_space = o->ind_space;
    eopt.malformed_permille = o->malformed_permille;
    em = pp_emulate_new(&eopt);
    if (em == NULL) {
        err = PP_ERR_NOMEM;
        goto out;
    }

    pp_cli_stop_mask_begin(&stop);

    show_progress = !o->is_quiet && isatty(STDERR_FILENO);
    clock_gettime(CLOCK_MONOTONIC, &start);
    started = pp_cli_now();
    for (done = 0; done < o->count; done++) {
        int64_t ind;

        if ((done % EMULATE_CHECK_EVERY == 0 || o->rate > 0 || o->is_http) && done > 0) {
            if (pp_cli_is_stopped(stop.is_masked))
                break;
            if (show_progress && pp_cli_now() - last > 0.25) {
                last = pp_cli_now();
                emulate_progress(done, o->count, started, false);
            }
        }
        if (o->rate > 0)
            pp_cli_pace(&start, done, o->rate);
        for (int t = 0; t < PP_TOPIC_COUNT; t++)
            rec[t].len = 0;
        err = pp_emulate_next(em, &ind, rec);
        if (err)
            goto out;
        for (int t = 0; t < PP_TOPIC_COUNT; t++) {
            err = emulate_remote_send(&r, t, ind, &rec[t]);
            if (err)
                goto out;
        }
    }
    if (r.producer != NULL)
        err = pp_kafka_producer_flush(r.producer, EMULATE_FLUSH_TIMEOUT_MS, r.msg, sizeof r.msg);
    if (show_progress)
        emulate_progress(done, o->count, started, true);
    if (err)
        goto out;
    secs = pp_cli_now() - started;
    delivered = r.posted;
    if (r.producer != NULL) {
        pp_kafka_producer_get_stats(r.producer, &st);
        delivered = st.delivered;
    }
    if (!o->is_quiet)
        pp_log_info("emulate: %" PRId64 " posts (%" PRIu64 " records delivered%s) -> %s in "
                    "%.2f s (%.0f posts/s)%s",
                    done, delivered, r.retries > 0 ? ", some after retries" : "", o->to, secs,
                    secs > 0 ? (double)done / secs : 0.0, done < o->count ? " (interrupted)" : "");
    rc = 0;

out:
    if (rc != 0 && err != PP_OK) {
        if (r.msg[0] == '\0' && r.producer != NULL) {
            /* a produce call failed, or a delivery failed while producing */
            pp_kafka_producer_get_stats(r.producer, &st);
            if (st.failed > 0)
                snprintf(r.msg, sizeof r.msg, "delivery failed: %s", st.first_error_msg);
        }
        if (r.msg[0] != '\0')
            pp_log_error("emulate: %s: %s", o->to, r.msg);
        else
            pp_log_error("emulate: %s: %s", o->to, pp_err_str(err));
    }
    pp_cli_stop_mask_end(&stop);
    emulate_remote_cleanup(&r);
    pp_emulate_destroy(em);
    for (int t = 0; t < PP_TOPIC_COUNT; t++)
        pp_buf_cleanup(&rec[t]);
    return rc;
}

int pp_cmd_emulate(int argc, char **argv)
{
    struct emulate_opts o;
    struct emulate_writer w;
    struct pp_emulate_options eopt;
    struct pp_emulate *em = NULL;
    struct pp_buf rec[PP_TOPIC_COUNT];
    struct pp_cli_stop_mask stop = {.is_masked = false};
    bool show_progress;
    struct timespec start;
    double started;
    double last = 0;
    int64_t done = 0;
    enum pp_err err;
    int rc;

    rc = emulate_parse_args(argc, argv, &o);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    if (o.bootstrap != NULL || o.is_http)
        return emulate_run_remote(&o);
    rc = 1;
    for (int t = 0; t < PP_TOPIC_COUNT; t++)
        pp_buf_init(&rec[t]);
    err = emulate_writer_init(&w, &o);
    if (err)
        goto out;
    eopt.seed = o.seed;
    eopt.ind_space = o.ind_space;
    eopt.malformed_permille = o.malformed_permille;
    em = pp_emulate_new(&eopt);
    if (em == NULL) {
        err = PP_ERR_NOMEM;
        goto out;
    }
    emulate_warn_existing(&w);
    err = emulate_create_topic_dirs(&w);
    if (err)
        goto out;

    /* SIGINT/SIGTERM stay pending while we poll for them, so an interrupt
     * stops between posts and the open objects are still written. */
    pp_cli_stop_mask_begin(&stop);

    show_progress = !o.is_quiet && isatty(STDERR_FILENO);
    clock_gettime(CLOCK_MONOTONIC, &start);
    started = pp_cli_now();
    for (done = 0; done < o.count; done++) {
        int64_t ind;

        if ((done % EMULATE_CHECK_EVERY == 0 || o.rate > 0) && done > 0) {
            if (pp_cli_is_stopped(stop.is_masked))
                break;
            if (show_progress && pp_cli_now() - last > 0.25) {
                last = pp_cli_now();
                emulate_progress(done, o.count, started, false);
            }
        }
        if (o.rate > 0)
            pp_cli_pace(&start, done, o.rate);
        for (int t = 0; t < PP_TOPIC_COUNT; t++)
            rec[t].len = 0;
        err = pp_emulate_next(em, &ind, rec);
        if (err)
            goto out;
        for (int t = 0; t < PP_TOPIC_COUNT; t++) {
            err = emulate_append(&w, t, ind, &rec[t]);
            if (err)
                goto out;
        }
    }
    err = emulate_flush_all(&w);
    if (show_progress)
        emulate_progress(done, o.count, started, true);
    if (err)
        goto out;
    if (!o.is_quiet)
        pp_log_info("emulate: %" PRId64 " posts (%" PRId64 " records) -> %" PRIu64
                    " objects in %s%s",
                    done, done * PP_TOPIC_COUNT, emulate_objects(&w), o.to,
                    done < o.count ? " (interrupted)" : "");
    rc = 0;

out:
    if (err == PP_ERR_NOMEM)
        pp_log_error("emulate: out of memory");
    else if (err && err != PP_ERR_IO)
        pp_log_error("emulate: %s", pp_err_str(err));
    pp_cli_stop_mask_end(&stop);
    pp_emulate_destroy(em);
    emulate_writer_cleanup(&w);
    for (int t = 0; t < PP_TOPIC_COUNT; t++)
        pp_buf_cleanup(&rec[t]);
    return rc;
}
