/*
 * pinpipe run: the streaming deployment. Reads the configuration (a
 * properties file, then --set overrides) and runs the engine of pp_run.
 * SIGINT and SIGTERM are blocked in every thread and polled by the loop:
 * the consumer stops, the pipeline drains, the applied offsets are
 * committed, exit 0. Lake objects still not durable sink.shutdown.timeout.ms
 * after the signal (S3 down) are abandoned uncommitted: one line, exit 1.
 */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pp_cli.h"
#include "pp_cmd.h"
#include "pp_config.h"
#include "pp_log.h"
#include "pp_run.h"

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
    "  POST /topics/<prefix>.<pin|geo|user>  Confluent REST Proxy v2 (JSON\n"
    "                                        embedded format): produces the\n"
    "                                        records, keyed by index/ind\n"
    "Keys are documented in docs/config.md. SIGINT or SIGTERM stops cleanly:\n"
    "lake objects still not written sink.shutdown.timeout.ms (20 s) later are\n"
    "abandoned, their offsets not committed (a restart writes them), exit 1.\n"
    "\n"
    "options:\n"
    "  -c, --config <file>   a Java-properties file\n"
    "  --set <key=value>     overrides the file (repeatable)\n"
    "  --quiet               warnings and errors only on stderr\n"
    "  --help                this text\n"
    "exit status: 0 ok, 1 runtime failure, 2 usage or configuration error\n";

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

int pp_cmd_run(int argc, char **argv)
{
    struct pp_run_options options = {.is_signal_stop = true};
    struct pp_config *cfg = pp_config_new();
    struct pp_run *run = NULL;
    bool is_quiet = false;
    sigset_t stop_signals;
    char msg[1024];
    enum pp_err err;
    int rc = 1;

    if (cfg == NULL)
        goto out;
    rc = run_parse_args(argc, argv, cfg, &is_quiet);
    if (rc != 0) {
        rc = rc < 0 ? 0 : rc;
        goto out;
    }
    rc = 1;
    if (is_quiet)
        pp_log_set_level(PP_LOG_WARN);
    options.has_status_line = !is_quiet;
    /* Blocked before any thread starts, so every thread inherits the mask
     * and the signals stay pending for the loop to see. */
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    if ((err = pp_run_new(cfg, &options, &run, msg, sizeof msg)) ||
        (err = pp_run_start(run, msg, sizeof msg))) {
        fprintf(stderr, "pinpipe: run: %s\n", msg);
        rc = err == PP_ERR_USAGE ? 2 : 1;
        goto out;
    }
    if ((err = pp_run_loop(run))) {
        fprintf(stderr, "pinpipe: run: %s\n",
                pp_run_error(run)[0] != '\0' ? pp_run_error(run) : pp_err_str(err));
        goto out;
    }
    rc = 0;
out:
    pp_run_destroy(run);
    pp_config_destroy(cfg);
    return rc;
}
