/*
 * pinpipe broker: a development Kafka broker on a loopback address.
 *
 * librdkafka's in-memory mock cluster behind a forwarder (see pp_kafka.h
 * and docs/broker.md). Runs until SIGINT or SIGTERM, which this thread
 * waits for with sigwait(2) after blocking them in every thread.
 */
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pp_cli.h"
#include "pp_cmd.h"
#include "pp_kafka.h"
#include "pp_log.h"
#include "pp_tcpfwd.h"

static const char broker_usage[] =
    "usage: pinpipe broker [--listen 127.0.0.1:9092] [--partitions N]\n"
    "\n"
    "Runs a development Kafka broker: librdkafka's mock cluster, speaking the real\n"
    "Kafka protocol, for trying pinpipe and for tests. Any Kafka client (kcat, the\n"
    "Java client, pinpipe) can produce to it and consume from it at the --listen\n"
    "address. Topics are created on first use with --partitions partitions.\n"
    "\n"
    "It is NOT a real broker: everything is in memory and NOT durable (lost when it\n"
    "stops), and each partition keeps only its newest 5 MiB or 100,000 batches\n"
    "(a limit fixed inside librdkafka); older records are dropped. With 64\n"
    "partitions a topic holds about 300,000 posts. For development and tests only.\n"
    "\n"
    "options:\n"
    "  --listen host:port   loopback address to listen on (default 127.0.0.1:9092)\n"
    "  --partitions N       partitions of topics created on first use, 1..10000\n"
    "                       (default 64)\n"
    "  --quiet              no ready line or topic notices on stderr\n"
    "  --help               this text\n"
    "\n"
    "When ready it prints one line on stderr ('pinpipe: broker: listening on ...').\n"
    "SIGINT or SIGTERM stops it (exit 0).\n"
    "exit status: 0 ok, 1 runtime failure (e.g. address in use), 2 usage error\n";

struct broker_opts {
    const char *listen;
    int partitions;
    bool is_quiet;
};

static int broker_parse_args(int argc, char **argv, struct broker_opts *o)
{
    enum { OPT_LISTEN = 256, OPT_PARTITIONS, OPT_QUIET };
    static const struct option longopts[] = {
        {"listen", required_argument, NULL, OPT_LISTEN},
        {"partitions", required_argument, NULL, OPT_PARTITIONS},
        {"quiet", no_argument, NULL, OPT_QUIET},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct sockaddr_storage ss;
    socklen_t ss_len;
    char msg[512];
    int c;

    memset(o, 0, sizeof *o);
    o->listen = PP_KAFKA_BROKER_DEFAULT_LISTEN;
    o->partitions = PP_KAFKA_BROKER_DEFAULT_PARTITIONS;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_LISTEN:
            if (pp_tcpfwd_parse_addr(optarg, true, &ss, &ss_len, msg, sizeof msg))
                return pp_cli_usage_error("broker", "--listen: %s", msg);
            o->listen = optarg;
            break;
        case OPT_PARTITIONS: {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*optarg < '0' || *optarg > '9' || *end != '\0' || v < 1 ||
                v > PP_KAFKA_BROKER_MAX_PARTITIONS)
                return pp_cli_usage_error("broker",
                                          "--partitions must be an integer from 1 to %d, "
                                          "not '%s'",
                                          PP_KAFKA_BROKER_MAX_PARTITIONS, optarg);
            o->partitions = (int)v;
            break;
        }
        case OPT_QUIET: o->is_quiet = true; break;
        case 'h': fputs(broker_usage, stdout); return -1;
        case ':': return pp_cli_usage_error("broker", "option %s needs a value", argv[optind - 1]);
        default: return pp_cli_usage_error("broker", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return pp_cli_usage_error("broker", "unexpected argument '%s'", argv[optind]);
    return 0;
}

int pp_cmd_broker(int argc, char **argv)
{
    struct broker_opts o;
    struct pp_kafka_broker *broker = NULL;
    sigset_t set;
    sigset_t old_set;
    char msg[1024];
    enum pp_err err;
    int sig = 0;
    int rc;

    rc = broker_parse_args(argc, argv, &o);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    if (o.is_quiet)
        pp_log_set_level(PP_LOG_WARN);
    /* Block the stop signals before any thread starts, so librdkafka's and
     * the forwarder's threads inherit the mask and only sigwait sees them. */
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, &old_set);

    struct pp_kafka_broker_options options = {.listen = o.listen, .partitions = o.partitions};
    err = pp_kafka_broker_new(&options, &broker, msg, sizeof msg);
    if (err) {
        fprintf(stderr, "pinpipe: broker: %s\n", msg[0] ? msg : pp_err_str(err));
        rc = err == PP_ERR_USAGE ? 2 : 1;
        goto out;
    }
    if (!o.is_quiet) {
        fprintf(stderr,
                "pinpipe: broker: listening on %s (mock cluster brokers %s; topics get %d "
                "partitions; in memory, not durable)\n",
                pp_kafka_broker_bootstraps(broker), pp_kafka_broker_mock_bootstraps(broker),
                pp_kafka_broker_partitions(broker));
        fflush(stderr);
    }
    while (sigwait(&set, &sig) != 0)
        ;
    if (!o.is_quiet)
        fprintf(stderr, "pinpipe: broker: %s, stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    rc = 0;
out:
    pp_kafka_broker_destroy(broker);
    pthread_sigmask(SIG_SETMASK, &old_set, NULL);
    return rc;
}
