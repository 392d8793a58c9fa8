/*
 * pp_kafka: see pp_kafka.h. The module is four files:
 *   pp_kafka.c           what the others share (declared in pp_kafka_int.h):
 *                        librdkafka's errors as enum pp_err, client handles
 *                        and properties, client logging;
 *   pp_kafka_broker.c    the development broker: librdkafka's mock cluster
 *                        behind pp_tcpfwd forwarders, fault injection and its
 *                        text controls (docs/broker.md);
 *   pp_kafka_producer.c  the producer and its delivery trackers
 *                        (docs/kafka.md);
 *   pp_kafka_consumer.c  the consumer, a pipeline source (docs/kafka.md).
 * They are the only files that include librdkafka.
 */
#include "pp_kafka_int.h"

#include <librdkafka/rdkafka.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>

#include "pp_log.h"

/* Translates a librdkafka error code into the project's result type. */
enum pp_err pp_kafka_err_from_rd(rd_kafka_resp_err_t rerr)
{
    /* On int: librdkafka's enum has hundreds of values; most map to
     * PP_ERR_INTERNAL. */
    switch ((int)rerr) {
    case RD_KAFKA_RESP_ERR_NO_ERROR: return PP_OK;
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
    case RD_KAFKA_RESP_ERR_INVALID_PARTITIONS:
    case RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR:
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION: return PP_ERR_INVALID;
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART: return PP_ERR_NOTFOUND;
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE: return PP_ERR_TOOBIG;
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR__PURGE_QUEUE:
    case RD_KAFKA_RESP_ERR__PURGE_INFLIGHT: return PP_ERR_IO;
    default: return PP_ERR_INTERNAL;
    }
}

/* Creates a client handle. On success rd_kafka_new owns *conf and it is set
 * to NULL; on failure *conf stays the caller's. */
enum pp_err pp_kafka_handle_new(rd_kafka_type_t type, rd_kafka_conf_t **conf, rd_kafka_t **rk,
                                char *msg, size_t msg_len)
{
    char errstr[512];

    *rk = rd_kafka_new(type, *conf, errstr, sizeof errstr);
    if (*rk == NULL) {
        snprintf(msg, msg_len, "librdkafka: %s", errstr);
        return PP_ERR_INTERNAL;
    }
    *conf = NULL;
    return PP_OK;
}

enum pp_err pp_kafka_conf_set(rd_kafka_conf_t *conf, const char *key, const char *value, char *msg,
                              size_t msg_len)
{
    char errstr[512];

    if (rd_kafka_conf_set(conf, key, value, errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
        snprintf(msg, msg_len, "kafka property %s=%s: %s", key, value, errstr);
        return PP_ERR_USAGE;
    }
    return PP_OK;
}

/* Client-side (producer and consumer) librdkafka logs go to debug: connection failures repeat
 * every reconnect, and what matters reaches the caller as a failed
 * delivery or metadata request, reported once. */
void pp_kafka_client_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    (void)level;
    pp_log_debug("kafka: %s: %s", fac, buf);
}

/* Client errors repeat at every reconnect: debug. Except the first
 * authentication or TLS failure of the process, a warning: nothing else
 * would say why no record arrives (a wrong kafka.sasl.password), and
 * librdkafka's reason never holds the secret. */
void pp_kafka_log_error(int rerr, const char *reason)
{
    static atomic_bool is_warned;
    const char *name = rd_kafka_err2name((rd_kafka_resp_err_t)rerr);

    if ((rerr == RD_KAFKA_RESP_ERR__AUTHENTICATION || rerr == RD_KAFKA_RESP_ERR__SSL) &&
        !atomic_exchange(&is_warned, true))
        pp_log_warn("kafka: %s: %s (retrying; later ones at debug level)", name, reason);
    else
        pp_log_debug("kafka: error: %s: %s", name, reason);
}
