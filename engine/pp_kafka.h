/*
 * pp_kafka: the Kafka module, the only place that includes librdkafka.
 *
 * Today it holds the development broker (`pinpipe broker`, `pinpipe demo`):
 * librdkafka's in-memory mock cluster behind a TCP forwarder on a loopback
 * address. The consumer and producer of `pinpipe run` will live here too.
 * librdkafka's error codes are translated here into enum pp_err; its
 * identifiers never appear in this header.
 */
#ifndef PP_KAFKA_H
#define PP_KAFKA_H

#include <stddef.h>

#include "pp_err.h"

#define PP_KAFKA_BROKER_DEFAULT_LISTEN "127.0.0.1:9092"
#define PP_KAFKA_BROKER_DEFAULT_PARTITIONS 64
#define PP_KAFKA_BROKER_MAX_PARTITIONS 10000

struct pp_kafka_broker_options {
    const char *listen; /* "host:port", loopback only; NULL = the default */
    int partitions;     /* partitions of topics created on first use; 0 = 64 */
};

struct pp_kafka_broker;

/*
 * Starts a development broker: an in-memory librdkafka mock cluster (one
 * broker) and a forwarder on options->listen through which all client
 * traffic flows. Topics are created on first use (a Metadata request that
 * allows auto-creation) with options->partitions partitions. Data is in
 * memory only and each partition keeps only its newest ~5 MiB / 100,000
 * batches (fixed inside librdkafka).
 *
 * On success *broker_out is set; the caller frees it with
 * pp_kafka_broker_destroy. Errors: PP_ERR_USAGE (bad or non-loopback
 * address, bad partition count), PP_ERR_IO (address in use),
 * PP_ERR_INTERNAL (librdkafka failed), PP_ERR_NOMEM; msg gets one line.
 * Main thread; the broker runs on librdkafka's and the forwarder's threads.
 */
enum pp_err pp_kafka_broker_new(const struct pp_kafka_broker_options *options,
                                struct pp_kafka_broker **broker_out, char *msg, size_t msg_len);

/* The address clients bootstrap from ("127.0.0.1:9092"). Borrowed, valid
 * until destroy. */
const char *pp_kafka_broker_bootstraps(const struct pp_kafka_broker *broker);

/* The mock cluster's own broker list (ephemeral loopback ports), for
 * diagnostics. Borrowed, valid until destroy. */
const char *pp_kafka_broker_mock_bootstraps(const struct pp_kafka_broker *broker);

/* Partitions given to topics created on first use. */
int pp_kafka_broker_partitions(const struct pp_kafka_broker *broker);

/* Stops the forwarder, then the mock cluster (all data is lost). Accepts
 * NULL. Main thread. */
void pp_kafka_broker_destroy(struct pp_kafka_broker *broker);

#endif
