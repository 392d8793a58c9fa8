/*
 * pinpipe broker: a development Kafka broker on a loopback address.
 *
 * librdkafka's in-memory mock cluster behind forwarders (see pp_kafka.h
 * and docs/broker.md). Runs until SIGINT or SIGTERM. The stop signals are
 * blocked in every thread and read from a signalfd, which this thread
 * polls together with the control input (--control): fault-injection
 * commands, one per line, each answered with one line on stdout.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pp_cli.h"
#include "pp_cmd.h"
#include "pp_kafka.h"
#include "pp_log.h"
#include "pp_tcpfwd.h"

static const char broker_usage[] =
    "usage: pinpipe broker [--listen 127.0.0.1:9092] [--partitions N] [--brokers N]\n"
    "                      [--control stdin|PATH]\n"
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
    "  --listen host:port   loopback address to listen on (default 127.0.0.1:9092);\n"
    "                       broker 1 answers there, the others on free ports\n"
    "  --partitions N       partitions of topics created on first use, 1..10000\n"
    "                       (default 64)\n"
    "  --brokers N          brokers in the mock cluster, 1..16 (default 1); topics\n"
    "                       get replication factor min(N, 3), leaders spread out\n"
    "  --control stdin|PATH read fault-injection commands, one per line, from stdin\n"
    "                       or from PATH (a FIFO, created if missing, kept open\n"
    "                       across writers; or a file read once); each is answered\n"
    "                       with one line on stdout, 'ok ...' or 'error ...'.\n"
    "                       Commands: errors, pending, clear, down, up, rtt, leader,\n"
    "                       coordinator, status, help (docs/broker.md)\n"
    "  --quiet              no ready line or topic notices on stderr\n"
    "  --help               this text\n"
    "\n"
    "When ready it prints one line on stderr ('pinpipe: broker: listening on ...').\n"
    "SIGINT or SIGTERM stops it (exit 0).\n"
    "exit status: 0 ok, 1 runtime failure (e.g. address in use), 2 usage error\n";

struct broker_opts {
    const char *listen;
    int partitions;
    int brokers;
    const char *control; /* NULL, "stdin" or a path */
    bool is_quiet;
};

static int broker_parse_args(int argc, char **argv, struct broker_opts *o)
{
    enum { OPT_LISTEN = 256, OPT_PARTITIONS, OPT_BROKERS, OPT_CONTROL, OPT_QUIET };
    static const struct option longopts[] = {
        {"listen", required_argument, NULL, OPT_LISTEN},
        {"partitions", required_argument, NULL, OPT_PARTITIONS},
        {"brokers", required_argument, NULL, OPT_BROKERS},
        {"control", required_argument, NULL, OPT_CONTROL},
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
    o->brokers = 1;
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
        case OPT_BROKERS: {
            int64_t v;
            if (!pp_cli_parse_int(optarg, 1, PP_KAFKA_BROKER_MAX_BROKERS, &v))
                return pp_cli_usage_error("broker",
                                          "--brokers must be an integer from 1 to %d, not '%s'",
                                          PP_KAFKA_BROKER_MAX_BROKERS, optarg);
            o->brokers = (int)v;
            break;
        }
        case OPT_CONTROL:
            if (optarg[0] == '\0')
                return pp_cli_usage_error("broker", "--control needs stdin or a path");
            o->control = optarg;
            break;
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

/*
 * The control input: fault-injection commands, one per line. A FIFO is
 * opened read-write, so it never reports end of file when a writer closes
 * (each `echo cmd > fifo` is a new writer); a missing path becomes a FIFO.
 * Returns the descriptor, or -1 with msg set.
 */
static int broker_control_open(const char *path, bool *is_created, char *msg, size_t msg_len)
{
    struct stat st;
    int fd;

    *is_created = false;
    if (strcmp(path, "stdin") == 0 || strcmp(path, "-") == 0)
        return STDIN_FILENO;
    if (stat(path, &st) < 0) {
        if (errno != ENOENT || mkfifo(path, 0600) < 0) {
            snprintf(msg, msg_len, "--control %s: %s", path, strerror(errno));
            return -1;
        }
        *is_created = true;
        st.st_mode = S_IFIFO;
    }
    fd = open(path, (S_ISFIFO(st.st_mode) ? O_RDWR : O_RDONLY) | O_CLOEXEC);
    if (fd < 0) {
        snprintf(msg, msg_len, "--control %s: %s", path, strerror(errno));
        if (*is_created)
            unlink(path);
        return -1;
    }
    return fd;
}

/* The control input's line buffer: bytes read but not yet a whole line. A
 * line longer than PP_KAFKA_CONTROL_MAX_LINE is answered with one error
 * and skipped up to its newline. */
struct broker_control {
    char buf[PP_KAFKA_CONTROL_MAX_LINE + 2];
    size_t len;
    bool is_skipping;
};

static void broker_control_answer(const char *answer)
{
    if (answer[0] == '\0')
        return;
    fprintf(stdout, "%s\n", answer);
    fflush(stdout);
}

/* Reads what is available and runs every complete line. Returns false at
 * end of input (the broker keeps running, without control). */
static bool broker_control_read(struct pp_kafka_broker *broker, struct broker_control *ctl, int fd)
{
    char answer[2048];
    ssize_t r;
    char *nl;

    r = read(fd, ctl->buf + ctl->len, sizeof ctl->buf - 1 - ctl->len);
    if (r < 0)
        return errno == EINTR || errno == EAGAIN;
    if (r == 0) {
        if (ctl->len > 0 && !ctl->is_skipping) { /* a last line without newline */
            ctl->buf[ctl->len] = '\0';
            pp_kafka_broker_control(broker, ctl->buf, answer, sizeof answer);
            broker_control_answer(answer);
        }
        ctl->len = 0;
        return false;
    }
    ctl->len += (size_t)r;
    ctl->buf[ctl->len] = '\0';
    while ((nl = memchr(ctl->buf, '\n', ctl->len)) != NULL) {
        size_t line_len = (size_t)(nl - ctl->buf);
        *nl = '\0';
        if (!ctl->is_skipping) {
            pp_kafka_broker_control(broker, ctl->buf, answer, sizeof answer);
            broker_control_answer(answer);
        }
        ctl->is_skipping = false;
        memmove(ctl->buf, nl + 1, ctl->len - line_len - 1);
        ctl->len -= line_len + 1;
    }
    if (ctl->len == sizeof ctl->buf - 1) {
        if (!ctl->is_skipping) {
            snprintf(answer, sizeof answer, "error line longer than %d bytes",
                     PP_KAFKA_CONTROL_MAX_LINE);
            broker_control_answer(answer);
        }
        ctl->is_skipping = true;
        ctl->len = 0;
    }
    return true;
}

int pp_cmd_broker(int argc, char **argv)
{
    struct broker_opts o;
    struct pp_kafka_broker *broker = NULL;
    struct broker_control *ctl = NULL;
    sigset_t set;
    sigset_t old_set;
    char msg[1024];
    enum pp_err err;
    bool is_created = false;
    int control_fd = -1;
    int sig_fd = -1;
    int sig = 0;
    int rc;

    rc = broker_parse_args(argc, argv, &o);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    if (o.is_quiet)
        pp_log_set_level(PP_LOG_WARN);
    /* Block the stop signals before any thread starts, so librdkafka's and
     * the forwarders' threads inherit the mask and only the signalfd sees
     * them. */
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, &old_set);
    sig_fd = signalfd(-1, &set, SFD_CLOEXEC);
    if (sig_fd < 0) {
        fprintf(stderr, "pinpipe: broker: signalfd: %s\n", strerror(errno));
        rc = 1;
        goto out;
    }
    if (o.control != NULL) {
        /* A reader of the answers that went away must not kill the broker. */
        signal(SIGPIPE, SIG_IGN);
        ctl = calloc(1, sizeof *ctl);
        if (ctl == NULL) {
            fprintf(stderr, "pinpipe: broker: out of memory\n");
            rc = 1;
            goto out;
        }
        control_fd = broker_control_open(o.control, &is_created, msg, sizeof msg);
        if (control_fd < 0) {
            fprintf(stderr, "pinpipe: broker: %s\n", msg);
            rc = 2;
            goto out;
        }
    }

    struct pp_kafka_broker_options options = {
        .listen = o.listen, .partitions = o.partitions, .brokers = o.brokers};
    err = pp_kafka_broker_new(&options, &broker, msg, sizeof msg);
    if (err) {
        fprintf(stderr, "pinpipe: broker: %s\n", msg[0] ? msg : pp_err_str(err));
        rc = err == PP_ERR_USAGE ? 2 : 1;
        goto out;
    }
    if (!o.is_quiet) {
        if (pp_kafka_broker_count(broker) == 1)
            fprintf(stderr,
                    "pinpipe: broker: listening on %s (mock cluster brokers %s; topics get %d "
                    "partitions; in memory, not durable%s)\n",
                    pp_kafka_broker_bootstraps(broker), pp_kafka_broker_mock_bootstraps(broker),
                    pp_kafka_broker_partitions(broker), o.control ? "; control commands read" : "");
        else
            fprintf(stderr,
                    "pinpipe: broker: listening on %s (%d brokers at %s; mock cluster brokers "
                    "%s; topics get %d partitions, replication factor %d; in memory, not "
                    "durable%s)\n",
                    pp_kafka_broker_bootstraps(broker), pp_kafka_broker_count(broker),
                    pp_kafka_broker_addresses(broker), pp_kafka_broker_mock_bootstraps(broker),
                    pp_kafka_broker_partitions(broker),
                    pp_kafka_broker_count(broker) < 3 ? pp_kafka_broker_count(broker) : 3,
                    o.control ? "; control commands read" : "");
        fflush(stderr);
    }
    for (;;) {
        struct pollfd pfd[2] = {{.fd = sig_fd, .events = POLLIN},
                                {.fd = control_fd, .events = POLLIN}};
        struct signalfd_siginfo si;

        if (poll(pfd, control_fd >= 0 ? 2 : 1, -1) < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "pinpipe: broker: poll: %s\n", strerror(errno));
            rc = 1;
            goto out;
        }
        if (pfd[0].revents & POLLIN) {
            if (read(sig_fd, &si, sizeof si) == (ssize_t)sizeof si) {
                sig = (int)si.ssi_signo;
                break;
            }
        }
        if (control_fd >= 0 && (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)) &&
            !broker_control_read(broker, ctl, control_fd)) {
            /* End of the control input: keep serving without it. */
            if (control_fd != STDIN_FILENO)
                close(control_fd);
            control_fd = -1;
        }
    }
    if (!o.is_quiet)
        fprintf(stderr, "pinpipe: broker: %s, stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    rc = 0;
out:
    pp_kafka_broker_destroy(broker);
    if (control_fd > STDIN_FILENO)
        close(control_fd);
    if (is_created)
        unlink(o.control);
    free(ctl);
    if (sig_fd >= 0)
        close(sig_fd);
    pthread_sigmask(SIG_SETMASK, &old_set, NULL);
    return rc;
}
