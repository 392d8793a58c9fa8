/*
 * pinpipe demo: the whole pipeline on one machine with nothing else
 * running (SPEC 8): the development broker in-process, the emulator
 * producing posts at a modest rate, the streaming engine of pp_run and its
 * HTTP API with the dashboard. It prints the URL, then a live status line;
 * SIGINT or SIGTERM stops it cleanly.
 *
 * Threads: the main thread runs the engine's loop; one emulator thread
 * produces; the broker and librdkafka have their own. SIGINT and SIGTERM are
 * blocked in all of them and polled by the loop; the emulator stops when the
 * loop has finished.
 */
#include <dirent.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pp_cli.h"
#include "pp_cmd.h"
#include "pp_config.h"
#include "pp_emulate.h"
#include "pp_kafka.h"
#include "pp_log.h"
#include "pp_run.h"
#include "pp_store.h"

#define DEMO_RATE_DEFAULT 200
#define DEMO_RATE_MAX 100000
#define DEMO_PARTITIONS_DEFAULT 8
#define DEMO_LISTEN_DEFAULT "127.0.0.1:8080"
/* Keys are practically unique: repeats come from the emulator's own exact
 * duplicates, and dedup.ttl bounds what the engine remembers. */
#define DEMO_IND_SPACE 1000000000

static const char demo_usage[] =
    "usage: pinpipe demo [options]\n"
    "\n"
    "Everything on one machine: an in-memory development Kafka broker, the\n"
    "post emulator producing to it, the streaming engine (pinpipe run) and the\n"
    "HTTP API with a live dashboard. Prints the dashboard's URL and a status\n"
    "line; Ctrl-C stops it cleanly. Nothing is kept: the broker is in memory.\n"
    "\n"
    "options:\n"
    "  --listen <host:port>   the HTTP API and dashboard (default " DEMO_LISTEN_DEFAULT ")\n"
    "  --broker <host:port>   the broker's bootstrap address "
    "(default " PP_KAFKA_BROKER_DEFAULT_LISTEN ")\n"
    "  --rate <n>             emulated posts per second (default 200, at most 100000)\n"
    "  --partitions <n>       partitions per topic (default 8)\n"
    "  --seed <n>             the emulator's seed (default 100)\n"
    "  --malformed <permille> records replaced by malformed ones (default 5)\n"
    "  --duration <s>         stop by itself after s seconds (default: at Ctrl-C)\n"
    "  --set <key=value>      any `pinpipe run` key (repeatable; docs/config.md)\n"
    "  --quiet                warnings and errors only, no status line\n"
    "  --help                 this text\n"
    "exit status: 0 ok, 1 runtime failure, 2 usage or configuration error\n";

#define DEMO_LAKE_DEFAULT "./demo-lake"

/* The demo's engine settings, before the user's --set. */
static const char *const demo_defaults[] = {
    "analytics.windows=all,tumbling:1m,hopping:10m/1m",
    "analytics.retention=1h",
    "dedup.ttl=10m",
    "join.timeout=1m",
    /* The development broker holds an empty fetch for the whole wait, even
     * when records arrive meanwhile (docs/broker.md). */
    "kafka.fetch.wait.max.ms=10",
    /* Lake objects close every minute of record time (exactly once still,
     * docs/sink.md), so the lake fills while one watches. */
    "rotate.interval.ms=60000",
};

struct demo_opts {
    const char *listen;
    const char *broker;
    int64_t rate;
    int64_t partitions;
    int64_t seed;
    int64_t malformed;
    int64_t duration_s; /* 0: until a signal */
    bool is_quiet;
    const char *sets[256];
    size_t n_sets;
};

/* The emulator thread's state. */
struct demo_emulator {
    pthread_t thread;
    struct pp_kafka_producer *producer;
    struct pp_emulate *em;
    char topics[PP_TOPIC_COUNT][256];
    int64_t rate;
    int64_t duration_s;
    struct pp_run *run; /* stopped after duration_s */
    atomic_bool is_stopped;
    enum pp_err err; /* read after the join */
    uint64_t posts;
};

static int demo_parse_args(int argc, char **argv, struct demo_opts *o)
{
    enum {
        OPT_LISTEN = 256,
        OPT_BROKER,
        OPT_RATE,
        OPT_PARTITIONS,
        OPT_SEED,
        OPT_MALFORMED,
        OPT_DURATION,
        OPT_SET,
        OPT_QUIET
    };
    static const struct option longopts[] = {
        {"listen", required_argument, NULL, OPT_LISTEN},
        {"broker", required_argument, NULL, OPT_BROKER},
        {"rate", required_argument, NULL, OPT_RATE},
        {"partitions", required_argument, NULL, OPT_PARTITIONS},
        {"seed", required_argument, NULL, OPT_SEED},
        {"malformed", required_argument, NULL, OPT_MALFORMED},
        {"duration", required_argument, NULL, OPT_DURATION},
        {"set", required_argument, NULL, OPT_SET},
        {"quiet", no_argument, NULL, OPT_QUIET},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;

    o->listen = DEMO_LISTEN_DEFAULT;
    o->broker = PP_KAFKA_BROKER_DEFAULT_LISTEN;
    o->rate = DEMO_RATE_DEFAULT;
    o->partitions = DEMO_PARTITIONS_DEFAULT;
    o->seed = 100;
    o->malformed = 5;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_LISTEN: o->listen = optarg; break;
        case OPT_BROKER: o->broker = optarg; break;
        case OPT_RATE:
            if (!pp_cli_parse_int(optarg, 1, DEMO_RATE_MAX, &o->rate))
                return pp_cli_usage_error("demo", "--rate must be 1..%d, not '%s'", DEMO_RATE_MAX,
                                          optarg);
            break;
        case OPT_PARTITIONS:
            if (!pp_cli_parse_int(optarg, 1, PP_KAFKA_BROKER_MAX_PARTITIONS, &o->partitions))
                return pp_cli_usage_error("demo", "--partitions must be 1..%d, not '%s'",
                                          PP_KAFKA_BROKER_MAX_PARTITIONS, optarg);
            break;
        case OPT_SEED:
            if (!pp_cli_parse_int(optarg, 0, INT64_MAX, &o->seed))
                return pp_cli_usage_error("demo", "--seed must be a non-negative integer, not '%s'",
                                          optarg);
            break;
        case OPT_MALFORMED:
            if (!pp_cli_parse_int(optarg, 0, 1000, &o->malformed))
                return pp_cli_usage_error("demo", "--malformed must be 0..1000, not '%s'", optarg);
            break;
        case OPT_DURATION:
            if (!pp_cli_parse_int(optarg, 1, INT32_MAX, &o->duration_s))
                return pp_cli_usage_error("demo",
                                          "--duration must be a number of seconds >= 1, "
                                          "not '%s'",
                                          optarg);
            break;
        case OPT_SET:
            if (o->n_sets == sizeof o->sets / sizeof o->sets[0])
                return pp_cli_usage_error("demo", "too many --set options");
            o->sets[o->n_sets++] = optarg;
            break;
        case OPT_QUIET: o->is_quiet = true; break;
        case 'h': fputs(demo_usage, stdout); return -1;
        case ':': return pp_cli_usage_error("demo", "option %s needs a value", argv[optind - 1]);
        default: return pp_cli_usage_error("demo", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return pp_cli_usage_error("demo", "unexpected argument '%s'", argv[optind]);
    return 0;
}

/* The engine's configuration: the demo's defaults, the broker and the
 * listen address, then the user's --set (the last value wins). */
static int demo_config(const struct demo_opts *o, const char *bootstrap, struct pp_config *cfg)
{
    char line[512];
    char msg[1024];
    size_t i;

    for (i = 0; i < sizeof demo_defaults / sizeof demo_defaults[0]; i++)
        if (pp_config_set_arg(cfg, demo_defaults[i], msg, sizeof msg) != PP_OK)
            goto bad;
    /* A group of its own per demo: the broker starts empty each time, so a
     * checkpoint of an earlier demo (in an s3:// lake, which the demo does
     * not empty) describes records that no longer exist. */
    snprintf(line, sizeof line, "kafka.group.id=pinpipe-demo-%lld-%ld", (long long)time(NULL),
             (long)getpid());
    if (pp_config_set_arg(cfg, line, msg, sizeof msg) != PP_OK)
        goto bad;
    /* Its own directory, which each demo empties (demo_fresh_lake): not
     * ./lake, where `pinpipe emulate` and `query` keep recorded lakes;
     * unless the user names a lake (s3.bucket.name builds one). */
    for (i = 0; i < o->n_sets; i++)
        if (strncmp(o->sets[i], "lake.url=", 9) == 0 ||
            strncmp(o->sets[i], "s3.bucket.name=", 15) == 0)
            break;
    if (i == o->n_sets && pp_config_set_arg(cfg, "lake.url=" DEMO_LAKE_DEFAULT, msg, sizeof msg))
        goto bad;
    snprintf(line, sizeof line, "kafka.bootstrap.servers=%s", bootstrap);
    if (pp_config_set_arg(cfg, line, msg, sizeof msg) != PP_OK)
        goto bad;
    snprintf(line, sizeof line, "http.listen=%s", o->listen);
    if (pp_config_set_arg(cfg, line, msg, sizeof msg) != PP_OK)
        goto bad;
    for (i = 0; i < o->n_sets; i++)
        if (pp_config_set_arg(cfg, o->sets[i], msg, sizeof msg) != PP_OK)
            goto bad;
    if (pp_config_validate(cfg, msg, sizeof msg) != PP_OK)
        goto bad;
    return 0;
bad:
    fprintf(stderr, "pinpipe: demo: %s\n", msg);
    return 2;
}

/*
 * The demo starts with an empty local lake. Its broker lives in memory and
 * starts empty, so the objects (and state checkpoints) of an earlier demo
 * belong to records that no longer exist: left in place, the new records
 * would replace some of them by offset and a query over the lake would mix
 * both. A lake that holds DEMO_LAKE_MARK (an earlier demo wrote it) and
 * nothing but what a demo writes (the folders of demo_folders) has those
 * folders removed; any other non-empty directory is refused (it may be a
 * lake the user recorded, or their work) with exit 2. The lake is resolved
 * first (realpath), so a symbolic link is followed once and nothing below
 * crosses another link or file system. An s3:// lake is left as it is
 * (docs/demo.md).
 */
#define DEMO_LAKE_MARK "_pinpipe/demo"

/* The folders a demo writes in its lake: the raw topics (topics.dir), the
 * cleaned tables, the rejects, and pinpipe's own (state, the mark). */
static bool demo_is_own(const struct pp_config *cfg, const char *name)
{
    return strcmp(name, pp_config_str(cfg, "topics.dir")) == 0 || strcmp(name, "cleaned") == 0 ||
           strcmp(name, "dlq") == 0 || strcmp(name, "_pinpipe") == 0;
}

static int demo_refuse_lake(const char *dir, const char *why)
{
    fprintf(stderr,
            "pinpipe: demo: lake %s %s (a demo starts with an empty lake); choose another with "
            "--set lake.url=<dir>\n",
            dir, why);
    return 2;
}

static int demo_fresh_lake(const struct pp_config *cfg)
{
    const char *dir = NULL;
    char real[PATH_MAX];
    char path[PATH_MAX];
    char msg[512];
    struct dirent *e;
    bool is_empty = true, is_demos = true;
    DIR *d;

    if (pp_store_local_path(pp_config_str(cfg, "lake.url"), &dir, msg, sizeof msg) != PP_OK ||
        dir == NULL)
        return 0; /* s3://, or a URL that pp_run_new() reports */
    if (realpath(dir, real) == NULL || (d = opendir(real)) == NULL)
        return 0; /* missing: the store creates it */
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        is_empty = false;
        if (!demo_is_own(cfg, e->d_name))
            is_demos = false;
    }
    closedir(d);
    if (is_empty)
        return 0;
    if ((size_t)snprintf(path, sizeof path, "%s/%s", real, DEMO_LAKE_MARK) >= sizeof path)
        return demo_refuse_lake(dir, "has a path too long to check");
    if (access(path, F_OK) != 0)
        return demo_refuse_lake(dir, "is not empty and no earlier demo wrote it");
    if (!is_demos)
        return demo_refuse_lake(dir, "holds files besides an earlier demo's");
    pp_log_info("demo: emptying %s, the lake of an earlier demo", dir);
    if ((d = opendir(real)) == NULL)
        return 0;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
            (size_t)snprintf(path, sizeof path, "%s/%s", real, e->d_name) >= sizeof path)
            continue;
        pp_store_remove_tree(path);
    }
    closedir(d);
    return 0;
}

/* Marks the lake as the demo's, once the store has created it. */
static void demo_mark_lake(const struct pp_config *cfg)
{
    const char *dir = NULL;
    char path[PATH_MAX];
    char msg[512];
    FILE *f;

    if (pp_store_local_path(pp_config_str(cfg, "lake.url"), &dir, msg, sizeof msg) != PP_OK ||
        dir == NULL)
        return;
    if ((size_t)snprintf(path, sizeof path, "%s/_pinpipe", dir) >= sizeof path)
        return; /* unmarked: the next demo refuses it rather than empty it */
    (void)mkdir(path, 0755);
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, DEMO_LAKE_MARK) >= sizeof path)
        return;
    if ((f = fopen(path, "w")) != NULL) {
        fputs("Written by pinpipe demo: the next demo empties this lake.\n", f);
        fclose(f);
    }
}

/* Produces posts at the rate until stopped: pin, geo and user, keyed by
 * the decimal ind like `pinpipe emulate --to kafka://`. */
static void *demo_emulator_main(void *arg)
{
    struct demo_emulator *e = arg;
    struct pp_buf rec[PP_TOPIC_COUNT];
    struct timespec start;
    enum pp_err err = PP_OK;
    uint64_t n;

    pthread_setname_np(pthread_self(), "pp-emulate");
    for (int t = 0; t < PP_TOPIC_COUNT; t++)
        pp_buf_init(&rec[t]);
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (n = 0; !atomic_load(&e->is_stopped); n++) {
        char key[24];
        int key_len;
        int64_t ind;

        pp_cli_pace(&start, n, e->rate);
        if (e->duration_s > 0 && (int64_t)(n / (uint64_t)e->rate) >= e->duration_s) {
            pp_run_stop(e->run); /* then keep producing until the engine is done */
            e->duration_s = 0;
        }
        for (int t = 0; t < PP_TOPIC_COUNT; t++)
            rec[t].len = 0;
        if ((err = pp_emulate_next(e->em, &ind, rec)))
            break;
        key_len = snprintf(key, sizeof key, "%" PRId64, ind);
        for (int t = 0; t < PP_TOPIC_COUNT && !err; t++) {
            /* A full queue means the broker is behind (pp_kafka_produce has
             * waited briefly for deliveries): try again, unless stopping.
             * Unlike pp_kafka_produce_retry, a stop must not wait for it. */
            do {
                err = pp_kafka_produce(e->producer, e->topics[t], PP_KAFKA_PARTITION_ANY, key,
                                       (size_t)key_len, rec[t].data, rec[t].len);
            } while (err == PP_AGAIN && !atomic_load(&e->is_stopped));
        }
        if (err == PP_AGAIN)
            err = PP_OK; /* stopped while waiting */
        if (err)
            break;
        pp_kafka_producer_poll(e->producer, 0);
        e->posts = n + 1;
    }
    if (err)
        pp_log_error("demo: emulator: %s", pp_err_str(err));
    e->err = err;
    for (int t = 0; t < PP_TOPIC_COUNT; t++)
        pp_buf_cleanup(&rec[t]);
    return NULL;
}

int pp_cmd_demo(int argc, char **argv)
{
    struct demo_opts o;
    struct pp_kafka_broker_options bopt;
    struct pp_kafka_broker *broker = NULL;
    struct pp_emulate_options eopt;
    struct demo_emulator emu;
    struct pp_run_options ropt;
    struct pp_config *cfg = NULL;
    struct pp_run *run = NULL;
    bool is_emulating = false;
    sigset_t stop_signals;
    char msg[1024];
    enum pp_err err;
    int rc;

    memset(&o, 0, sizeof o);
    memset(&emu, 0, sizeof emu);
    atomic_init(&emu.is_stopped, false);
    rc = demo_parse_args(argc, argv, &o);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    rc = 1;
    if (o.is_quiet)
        pp_log_set_level(PP_LOG_WARN);
    cfg = pp_config_new();
    if (cfg == NULL)
        goto out;
    if ((rc = demo_config(&o, o.broker, cfg)) != 0)
        goto out;
    rc = 1;
    /* Blocked before any thread starts, so every thread inherits the mask
     * and the engine's loop sees the signals. */
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);

    memset(&bopt, 0, sizeof bopt);
    bopt.listen = o.broker;
    bopt.partitions = (int)o.partitions;
    if ((err = pp_kafka_broker_new(&bopt, &broker, msg, sizeof msg))) {
        fprintf(stderr, "pinpipe: demo: broker: %s\n", msg);
        rc = err == PP_ERR_USAGE ? 2 : 1;
        goto out;
    }
    /* Once the demo can start: a busy port leaves the last demo's lake. */
    if ((rc = demo_fresh_lake(cfg)) != 0)
        goto out;
    rc = 1;
    ropt.is_signal_stop = true;
    ropt.has_status_line = !o.is_quiet;
    if ((err = pp_run_new(cfg, &ropt, &run, msg, sizeof msg))) {
        fprintf(stderr, "pinpipe: demo: %s\n", msg);
        rc = err == PP_ERR_USAGE ? 2 : 1;
        goto out;
    }
    demo_mark_lake(cfg);

    eopt.seed = (uint64_t)o.seed;
    eopt.ind_space = DEMO_IND_SPACE;
    eopt.malformed_permille = (unsigned)o.malformed;
    emu.rate = o.rate;
    emu.duration_s = o.duration_s;
    emu.run = run;
    for (int t = 0; t < PP_TOPIC_COUNT; t++)
        snprintf(emu.topics[t], sizeof emu.topics[t], "%s.%s", pp_config_str(cfg, "topics.prefix"),
                 pp_topic_name((enum pp_topic)t));
    emu.em = pp_emulate_new(&eopt);
    if (emu.em == NULL) {
        fprintf(stderr, "pinpipe: demo: %s\n", pp_err_str(PP_ERR_NOMEM));
        goto out;
    }
    if ((err = pp_kafka_producer_new(pp_kafka_broker_bootstraps(broker), NULL, msg, sizeof msg,
                                     &emu.producer))) {
        fprintf(stderr, "pinpipe: demo: producer: %s\n", msg);
        goto out;
    }
    /* Topics exist before the engine subscribes, so its group forms at once
     * instead of after a metadata refresh. */
    for (int t = 0; t < PP_TOPIC_COUNT; t++) {
        int32_t partitions;
        if ((err = pp_kafka_producer_partitions(emu.producer, emu.topics[t], 10000, &partitions,
                                                msg, sizeof msg))) {
            fprintf(stderr, "pinpipe: demo: topic %s: %s\n", emu.topics[t], msg);
            goto out;
        }
    }
    if ((err = pp_run_start(run, msg, sizeof msg))) {
        fprintf(stderr, "pinpipe: demo: %s\n", msg);
        goto out;
    }
    if (pthread_create(&emu.thread, NULL, demo_emulator_main, &emu) != 0) {
        fprintf(stderr, "pinpipe: demo: cannot start the emulator thread\n");
        goto out;
    }
    is_emulating = true;
    if (!o.is_quiet)
        fprintf(stderr,
                "pinpipe demo: dashboard on %s/ (broker %s, %" PRId64 " posts/s); Ctrl-C stops\n",
                pp_run_url(run), pp_kafka_broker_bootstraps(broker), o.rate);
    if ((err = pp_run_loop(run))) {
        fprintf(stderr, "pinpipe: demo: %s\n",
                pp_run_error(run)[0] != '\0' ? pp_run_error(run) : pp_err_str(err));
        goto out;
    }
    rc = 0;
out:
    if (is_emulating) {
        atomic_store(&emu.is_stopped, true);
        pthread_join(emu.thread, NULL);
        if (emu.err != PP_OK)
            rc = 1;
        if (!o.is_quiet)
            pp_log_info("demo: the emulator produced %" PRIu64 " posts", emu.posts);
    }
    pp_run_destroy(run);
    pp_kafka_producer_destroy(emu.producer);
    pp_emulate_destroy(emu.em);
    pp_kafka_broker_destroy(broker);
    pp_config_destroy(cfg);
    return rc;
}
