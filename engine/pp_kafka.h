/*
 * pp_kafka: the Kafka module, the only place that includes librdkafka.
 *
 * It holds the development broker (`pinpipe broker`, `pinpipe demo`):
 * librdkafka's in-memory mock cluster behind a TCP forwarder on a loopback
 * address, and the producer of `pinpipe emulate` and `pinpipe replay`
 * (docs/kafka.md). The consumer of `pinpipe run` will live here too.
 * librdkafka's error codes are translated here into enum pp_err; its
 * identifiers never appear in this header.
 */
#ifndef PP_KAFKA_H
#define PP_KAFKA_H

#include <stddef.h>
#include <stdint.h>

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

/*
 * The producer: an idempotent librdkafka producer (enable.idempotence=true,
 * so acks=all and no duplicates or reordering within a partition from
 * retries), linger.ms=5, lz4 batches, and the murmur2_random partitioner so
 * a key lands in the partition the Java client picks (and
 * pp_emulate_partition computes). Settings and why: docs/kafka.md.
 *
 * One producer belongs to one thread (the caller's); librdkafka's own
 * threads send in the background. Delivery reports are served by
 * pp_kafka_produce and pp_kafka_producer_flush on the caller's thread.
 */
struct pp_kafka_producer;

/* Let librdkafka's partitioner choose (murmur2 of the key; random for a
 * NULL key). */
#define PP_KAFKA_PARTITION_ANY (-1)

struct pp_kafka_producer_stats {
    uint64_t produced;         /* messages accepted by pp_kafka_produce */
    uint64_t delivered;        /* delivery reports: acknowledged by the broker */
    uint64_t failed;           /* delivery reports: failed permanently */
    enum pp_err first_error;   /* of the first failed delivery; PP_OK when none */
    char first_error_msg[256]; /* librdkafka's text of it, or "" */
};

/*
 * Creates a producer for bootstrap ("host:port[,host:port]"). properties:
 * NULL, or a NULL-terminated array of "key=value" librdkafka settings
 * applied after the defaults (so they override them, e.g.
 * "message.timeout.ms=5000"). On success *out is set; the caller frees it
 * with pp_kafka_producer_destroy. Errors: PP_ERR_USAGE (a bad bootstrap or
 * property; msg names it), PP_ERR_INTERNAL (librdkafka failed),
 * PP_ERR_NOMEM; msg gets one line. No connection is made yet: an
 * unreachable broker shows as failed deliveries (after message.timeout.ms)
 * or as a failed pp_kafka_producer_partitions.
 */
enum pp_err pp_kafka_producer_new(const char *bootstrap, const char *const *properties, char *msg,
                                  size_t msg_len, struct pp_kafka_producer **out);

/*
 * Queues one message. Copies key and value (key may be NULL with
 * key_len 0: no key). partition: a partition number, or
 * PP_KAFKA_PARTITION_ANY. Serves pending delivery reports first.
 * Returns PP_OK; PP_AGAIN when the local queue is still full after
 * waiting briefly for deliveries (a status: call again); PP_ERR_TOOBIG
 * (message larger than message.max.bytes), PP_ERR_NOTFOUND (unknown
 * topic or partition), PP_ERR_INVALID, PP_ERR_INTERNAL: the message was
 * not queued. A queued message can still fail later: see
 * pp_kafka_producer_get_stats and pp_kafka_producer_flush.
 */
enum pp_err pp_kafka_produce(struct pp_kafka_producer *producer, const char *topic,
                             int32_t partition, const void *key, size_t key_len, const void *value,
                             size_t value_len);

/* Serves delivery reports, waiting up to timeout_ms (0: do not wait). */
void pp_kafka_producer_poll(struct pp_kafka_producer *producer, int timeout_ms);

/*
 * Waits up to timeout_ms for every queued message to be delivered or to
 * fail. Returns PP_OK when all messages produced so far were delivered;
 * PP_ERR_IO when the wait timed out with messages outstanding; otherwise
 * the first failed delivery's error. msg (may be NULL) gets one line.
 */
enum pp_err pp_kafka_producer_flush(struct pp_kafka_producer *producer, int timeout_ms, char *msg,
                                    size_t msg_len);

/*
 * The partition count of topic, from a Metadata request (which lets the
 * broker auto-create the topic, where it allows that), waiting up to
 * timeout_ms. Errors: PP_ERR_NOTFOUND (the topic does not exist),
 * PP_ERR_IO (no broker answered in time), PP_ERR_INTERNAL; msg gets one
 * line.
 */
enum pp_err pp_kafka_producer_partitions(struct pp_kafka_producer *producer, const char *topic,
                                         int timeout_ms, int32_t *count, char *msg, size_t msg_len);

/* Counters so far (delivery reports served up to the last poll). */
void pp_kafka_producer_get_stats(const struct pp_kafka_producer *producer,
                                 struct pp_kafka_producer_stats *stats);

/* Destroys the producer without waiting: messages not yet delivered are
 * dropped (flush first). Accepts NULL. */
void pp_kafka_producer_destroy(struct pp_kafka_producer *producer);

#endif
