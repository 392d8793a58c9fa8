/*
 * pp_kafka: the Kafka module, the only place that includes librdkafka.
 *
 * It holds the development broker (`pinpipe broker`, `pinpipe demo`):
 * librdkafka's in-memory mock cluster behind a TCP forwarder on a loopback
 * address, and the producer of `pinpipe emulate` and `pinpipe replay`
 * (docs/kafka.md), and the consumer of `pinpipe run`, a pp_pipeline source
 * (docs/kafka.md, "Consumer").
 * librdkafka's error codes are translated here into enum pp_err; its
 * identifiers never appear in this header.
 */
#ifndef PP_KAFKA_H
#define PP_KAFKA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pp_err.h"
#include "pp_topic.h"

#define PP_KAFKA_BROKER_DEFAULT_LISTEN "127.0.0.1:9092"
#define PP_KAFKA_BROKER_DEFAULT_PARTITIONS 64
#define PP_KAFKA_BROKER_MAX_PARTITIONS 10000
#define PP_KAFKA_BROKER_MAX_BROKERS 16
/* Longest control command line (pp_kafka_broker_control), without the
 * newline. */
#define PP_KAFKA_CONTROL_MAX_LINE 1024

struct pp_kafka_broker_options {
    const char *listen; /* "host:port", loopback only; NULL = the default */
    int partitions;     /* partitions of topics created on first use; 0 = 64 */
    int brokers;        /* mock brokers, 1..PP_KAFKA_BROKER_MAX_BROKERS; 0 = 1 */
};

struct pp_kafka_broker;

/*
 * Starts a development broker: an in-memory librdkafka mock cluster of
 * options->brokers brokers (ids 1..n), each behind its own forwarder:
 * broker 1 on options->listen, the others on free ports of the same host.
 * All client traffic flows through the forwarders. Topics are created on
 * first use (a Metadata request that allows auto-creation) with
 * options->partitions partitions, replication factor min(brokers, 3),
 * leaders spread over the brokers. Data is in memory only and each
 * partition keeps only its newest ~5 MiB / 100,000 batches (fixed inside
 * librdkafka).
 *
 * On success *broker_out is set; the caller frees it with
 * pp_kafka_broker_destroy. Errors: PP_ERR_USAGE (bad or non-loopback
 * address, bad partition or broker count), PP_ERR_IO (address in use),
 * PP_ERR_INTERNAL (librdkafka failed), PP_ERR_NOMEM; msg gets one line.
 * Main thread; the broker runs on librdkafka's and the forwarders' threads.
 */
enum pp_err pp_kafka_broker_new(const struct pp_kafka_broker_options *options,
                                struct pp_kafka_broker **broker_out, char *msg, size_t msg_len);

/* The address clients bootstrap from: broker 1's ("127.0.0.1:9092").
 * Borrowed, valid until destroy. */
const char *pp_kafka_broker_bootstraps(const struct pp_kafka_broker *broker);

/* Every broker's address in id order, comma-separated (a bootstrap list
 * that survives broker 1 being down). Borrowed, valid until destroy. */
const char *pp_kafka_broker_addresses(const struct pp_kafka_broker *broker);

/* The mock cluster's own broker list (ephemeral loopback ports), for
 * diagnostics. Borrowed, valid until destroy. */
const char *pp_kafka_broker_mock_bootstraps(const struct pp_kafka_broker *broker);

/* Partitions given to topics created on first use. */
int pp_kafka_broker_partitions(const struct pp_kafka_broker *broker);

/* Number of mock brokers (ids 1..n). */
int pp_kafka_broker_count(const struct pp_kafka_broker *broker);

/*
 * Fault injection (docs/broker.md, "Fault injection"). These wrap the mock
 * cluster's controls; any thread, while the broker lives. A broker_id of
 * -1 means every broker.
 *
 * The next count requests of the Kafka API api_key (0 Produce, 1 Fetch,
 * ...), to any broker, from any client, fail with the Kafka error code
 * error (librdkafka's codes: the protocol's, and -195 "_TRANSPORT", which
 * makes the broker drop the connection instead of answering). Errors
 * queue up behind earlier ones of the same API. Returns PP_OK,
 * PP_ERR_INVALID (count 0 or above 100000, api_key negative).
 */
enum pp_err pp_kafka_broker_push_errors(struct pp_kafka_broker *broker, int16_t api_key,
                                        size_t count, int error);

/* The same on one broker (1..n) only: its own queue, served before the
 * cluster's. PP_OK, PP_ERR_INVALID, PP_ERR_NOTFOUND (no such broker). */
enum pp_err pp_kafka_broker_push_broker_errors(struct pp_kafka_broker *broker, int32_t broker_id,
                                               int16_t api_key, size_t count, int error);

/* How many errors pushed on one broker (1..n) for api_key have not fired
 * yet; the cluster's queue cannot be counted (librdkafka 2.0.2 has no
 * call for it). PP_OK, PP_ERR_INVALID, PP_ERR_NOTFOUND. */
enum pp_err pp_kafka_broker_pending_errors(struct pp_kafka_broker *broker, int32_t broker_id,
                                           int16_t api_key, size_t *count);

/* Forgets the cluster's queued errors of api_key (not the per-broker
 * ones). PP_OK, PP_ERR_INVALID. */
enum pp_err pp_kafka_broker_clear_errors(struct pp_kafka_broker *broker, int16_t api_key);

/* Takes a broker down (drops its connections and closes every new one at
 * once, so clients see disconnects; partition leaders stay where they are)
 * or brings it back up. PP_OK, PP_ERR_NOTFOUND (no such broker). */
enum pp_err pp_kafka_broker_set_up(struct pp_kafka_broker *broker, int32_t broker_id, bool is_up);

/* Delays every answer of a broker by rtt_ms (0: none). PP_OK,
 * PP_ERR_NOTFOUND, PP_ERR_INVALID (rtt_ms < 0). */
enum pp_err pp_kafka_broker_set_rtt(struct pp_kafka_broker *broker, int32_t broker_id, int rtt_ms);

/* Moves the leadership of a partition (-1: every partition of the topic)
 * to broker_id (-1: no leader). PP_OK, PP_ERR_NOTFOUND (no such topic,
 * partition or broker). */
enum pp_err pp_kafka_broker_set_leader(struct pp_kafka_broker *broker, const char *topic,
                                       int32_t partition, int32_t broker_id);

/* Makes broker_id the coordinator of consumer group `group` (a group
 * that already has members moves: they see NOT_COORDINATOR and look it up
 * again). PP_OK, PP_ERR_NOTFOUND (no such broker, empty group). */
enum pp_err pp_kafka_broker_set_coordinator(struct pp_kafka_broker *broker, const char *group,
                                            int32_t broker_id);

/* A Kafka API by name ("Produce", "OffsetCommit", case-insensitive) or
 * number (0..32767). PP_OK or PP_ERR_NOTFOUND. Any thread. */
enum pp_err pp_kafka_api_parse(const char *text, int16_t *api_key);

/* The API's name ("Produce"), or "?" for a number without one. */
const char *pp_kafka_api_name(int16_t api_key);

/* A Kafka error by librdkafka's name ("NOT_LEADER_FOR_PARTITION",
 * "_TRANSPORT"; case-insensitive, an "RD_KAFKA_RESP_ERR_" prefix allowed)
 * or code. PP_OK or PP_ERR_NOTFOUND. Any thread. */
enum pp_err pp_kafka_error_parse(const char *text, int *error);

/* The error's name ("NOT_LEADER_FOR_PARTITION"). Static string. */
const char *pp_kafka_error_name(int error);

/*
 * Runs one control command, a line of text without its newline (syntax:
 * docs/broker.md; "help" lists the commands), and writes the answer, one
 * line without newline, to answer: "ok ..." on success, "error ..."
 * otherwise. Returns PP_OK, or the failure (PP_ERR_USAGE for a malformed
 * command, else the fault function's error); a failed command changes
 * nothing. Blank lines and lines starting with '#' do nothing and leave
 * answer empty. Any thread, one caller at a time.
 */
enum pp_err pp_kafka_broker_control(struct pp_kafka_broker *broker, const char *line, char *answer,
                                    size_t answer_len);

/* Stops the forwarders, then the mock cluster (all data is lost). Accepts
 * NULL. Main thread. */
void pp_kafka_broker_destroy(struct pp_kafka_broker *broker);

/*
 * The producer: an idempotent librdkafka producer (enable.idempotence=true,
 * so acks=all and no duplicates or reordering within a partition from
 * retries), linger.ms=5, lz4 batches, and the murmur2_random partitioner so
 * a key lands in the partition the Java client picks (and
 * pp_emulate_partition computes). Settings and why: docs/kafka.md.
 *
 * Threads: pp_kafka_produce, pp_kafka_produce_tracked, _poll,
 * _partitions and _get_stats may be called from any number of threads at
 * once (a mutex guards the counters and the topic-handle cache);
 * librdkafka's own threads send in the background. Delivery reports are
 * served on whichever thread calls pp_kafka_produce*, _poll or _flush: a
 * single producing thread (emulate, replay), or a poller thread that calls
 * pp_kafka_producer_poll in a loop while other threads produce and wait
 * (the REST proxy). _new, _flush and _destroy: the owner's thread, destroy
 * only once no other thread uses the producer.
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

/*
 * pp_kafka_produce, called again while it says PP_AGAIN, until the message
 * is queued or a delivery has failed (then that failure's error: the
 * producer's run fails anyway). For producers that must not drop a record
 * and have nothing else to do meanwhile (emulate, replay).
 */
enum pp_err pp_kafka_produce_retry(struct pp_kafka_producer *producer, const char *topic,
                                   int32_t partition, const void *key, size_t key_len,
                                   const void *value, size_t value_len);

/*
 * Delivery tracking: learn each message's partition and offset, or its
 * error, so one caller (an HTTP request of the REST proxy) can wait for the
 * reports of its own messages while other threads produce too.
 *
 *   pp_kafka_tracker_new(n, &tracker);                 one slot per message
 *   pp_kafka_produce_tracked(producer, ..., tracker, i);   for each i
 *   pp_kafka_tracker_wait(tracker, timeout_ms);        someone must poll
 *   pp_kafka_tracker_get(tracker, i, &delivery);       for each i
 *   pp_kafka_tracker_destroy(tracker);
 *
 * A tracker is used by one thread (its owner) plus the threads serving
 * delivery reports; all its functions may run concurrently with those.
 */
struct pp_kafka_tracker;

/* One message's delivery result. */
struct pp_kafka_delivery {
    enum pp_err err;   /* PP_OK: delivered; PP_AGAIN: no report (yet), or the
                          message was never queued; else why it failed:
                          PP_ERR_IO (timed out or purged, may pass),
                          PP_ERR_TOOBIG, PP_ERR_NOTFOUND, PP_ERR_INTERNAL */
    int32_t partition; /* the partition it was (or was to be) written to; -1 */
    int64_t offset;    /* its offset when delivered, else -1 */
    const char *error; /* when failed: a static description, else NULL */
};

/*
 * A tracker for n messages (slots 0..n-1). On success *out is set; the
 * caller frees it with pp_kafka_tracker_destroy. PP_ERR_NOMEM. Any thread.
 */
enum pp_err pp_kafka_tracker_new(size_t n, struct pp_kafka_tracker **out);

/*
 * pp_kafka_produce, with the message's delivery report recorded in slot
 * (< n, each slot used at most once) of tracker. Same returns; when it
 * does not return PP_OK the message was not queued and the slot stays
 * PP_AGAIN. Any thread.
 */
enum pp_err pp_kafka_produce_tracked(struct pp_kafka_producer *producer, const char *topic,
                                     int32_t partition, const void *key, size_t key_len,
                                     const void *value, size_t value_len,
                                     struct pp_kafka_tracker *tracker, size_t slot);

/*
 * Waits until every message queued through tracker has its delivery report,
 * at most timeout_ms (it does not serve reports itself: another thread
 * must poll, see above). Returns PP_OK, or PP_ERR_IO when the time ran out
 * first (the slots already reported are valid; the others stay PP_AGAIN
 * and may still be delivered). Owner's thread.
 */
enum pp_err pp_kafka_tracker_wait(struct pp_kafka_tracker *tracker, int timeout_ms);

/* Copies slot's result into *delivery. Owner's thread. */
void pp_kafka_tracker_get(struct pp_kafka_tracker *tracker, size_t slot,
                          struct pp_kafka_delivery *delivery);

/* Releases the owner's side. Reports of messages still in flight remain
 * safe: the memory is freed when the last of them arrives (or when the
 * producer is destroyed, which purges and reports them). Accepts NULL.
 * Owner's thread. */
void pp_kafka_tracker_destroy(struct pp_kafka_tracker *tracker);

/* Serves delivery reports, waiting up to timeout_ms (0: do not wait).
 * Any thread. */
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

/* Counters so far (delivery reports served up to the last poll). Any
 * thread. */
void pp_kafka_producer_get_stats(struct pp_kafka_producer *producer,
                                 struct pp_kafka_producer_stats *stats);

/* Destroys the producer without waiting: messages not yet delivered are
 * dropped (flush first). Accepts NULL. */
void pp_kafka_producer_destroy(struct pp_kafka_producer *producer);

/*
 * The consumer: one member of a consumer group subscribed to the three
 * topics (index = enum pp_topic), range assignment (co-partitioned topics,
 * SPEC 9), no automatic commit: offsets are committed only by
 * pp_kafka_consumer_commit, after the records' effects are applied.
 * Settings and why: docs/kafka.md, "Consumer".
 *
 * Threads (librdkafka's handle is thread-safe for the calls used here;
 * what this module relies on besides):
 *   - pp_kafka_consumer_fill: one thread only, the pipeline's source
 *     thread (it polls; the rebalance callback runs inside it);
 *   - pp_kafka_consumer_commit, _pause, _resume, _lag: any thread,
 *     normally the pipeline's consumer thread (a mutex guards the copy of
 *     the assignment they read);
 *   - pp_kafka_consumer_stop: any thread, also a signal handler (one
 *     atomic store);
 *   - _new and _destroy: the owner's thread, destroy only after the
 *     pipeline stopped (no fill running).
 */
struct pp_kafka_consumer;
struct pp_batch;

/* A librdkafka property, "kafka.<name>=<value>" of the configuration
 * without the "kafka." prefix. */
struct pp_kafka_property {
    const char *name;
    const char *value;
};

struct pp_kafka_consumer_options {
    const char *bootstrap;                      /* "host:port[,...]"; NULL: from properties */
    const char *group_id;                       /* NULL: from properties (required) */
    const char *topics[PP_TOPIC_COUNT];         /* index = enum pp_topic; NULL: not consumed */
    const struct pp_kafka_property *properties; /* applied after the defaults; may be NULL */
    size_t n_properties;
    int poll_timeout_ms; /* fill's wait for a first message; 0 = 100 */
    /* How long the pipeline may stay blocked before the partitions are
     * paused (pp_kafka_consumer_blocked); 0 = 1000. */
    int pause_after_ms;
    /* Hold revocations until pp_kafka_consumer_unassign(): for an owner
     * that hands partitions' state over first (docs/checkpoints.md). */
    bool is_revoke_held;
};

/* Offset to commit: the next offset to read of (topic, partition), i.e.
 * the last applied record's offset + 1. */
struct pp_kafka_offset {
    enum pp_topic topic;
    int32_t partition;
    int64_t offset;
};

/*
 * Creates a consumer and subscribes it to the topics; the group is joined
 * in the background, during the first fills. Properties may override the
 * defaults except enable.auto.commit, enable.auto.offset.store (must stay
 * false) and partition.assignment.strategy (must stay range). On success
 * *out is set; the caller frees it with pp_kafka_consumer_destroy.
 * Errors: PP_ERR_USAGE (no bootstrap, no group.id, no topic, a bad or
 * forbidden property: msg names it), PP_ERR_INTERNAL (librdkafka failed),
 * PP_ERR_NOMEM; msg gets one line.
 */
enum pp_err pp_kafka_consumer_new(const struct pp_kafka_consumer_options *opt,
                                  struct pp_kafka_consumer **out, char *msg, size_t msg_len);

/*
 * A pp_source_fill_fn (consumer is a struct pp_kafka_consumer *). Waits up
 * to poll_timeout_ms for a first message, then takes what is ready without
 * waiting, until the batch is full or nothing is ready. Each message
 * becomes one span: is_single, topic, partition, first_offset = its offset,
 * timestamp_ms = its timestamp (create or log-append time;
 * PP_BATCH_NO_TIMESTAMP when it has none), the value's bytes. A value
 * larger than the batch capacity becomes an oversized span (no bytes); a
 * NULL value (tombstone) a zero-length span. A message that does not fit
 * in what is left of the batch is kept for the next fill.
 *
 * Returns PP_OK, possibly with zero spans (nothing arrived within the wait:
 * an idle tick, about every poll_timeout_ms); PP_END once
 * pp_kafka_consumer_stop was called; PP_ERR_INTERNAL on a fatal librdkafka
 * error (logged), PP_ERR_NOMEM. Partition EOF is ignored; other errors
 * (transport, unknown topic) are logged and consumption goes on.
 * Source thread only.
 */
enum pp_err pp_kafka_consumer_fill(void *consumer, struct pp_batch *batch);

/*
 * The pipeline's blocked callback (pp_source_blocked_fn, consumer is the
 * struct pp_kafka_consumer): pauses every assigned partition when the
 * downstream stages have been behind for pause_after_ms and keeps serving
 * the group while they are; resumes them with is_blocked false. Nothing is
 * lost: a paused partition is read again from the position after the last
 * message fill delivered. Source thread.
 */
enum pp_err pp_kafka_consumer_blocked(void *consumer, bool is_blocked);

/* Backpressure state for metrics: paused now, and pauses so far. Any
 * thread. */
void pp_kafka_consumer_backpressure(struct pp_kafka_consumer *consumer, bool *is_paused,
                                    uint64_t *pauses);

/* Makes the next fill (and any fill after it) return PP_END; a fill that
 * is waiting returns within poll_timeout_ms. Any thread; async-signal-safe. */
void pp_kafka_consumer_stop(struct pp_kafka_consumer *consumer);

/*
 * Commits offsets[0..n) (next offset to read per topic and partition)
 * synchronously: returns when the group coordinator answered. Call it only
 * for records whose effects are applied (written and durable). Offsets of
 * partitions not currently assigned to this member are skipped (another
 * member owns them since a rebalance). Returns PP_OK; PP_ERR_IO when the
 * commit failed for a reason that may pass (rebalance in progress,
 * coordinator moving, timeout): nothing is lost, the next commit covers
 * the same records; PP_ERR_INTERNAL otherwise. Failures are logged.
 * Any thread (normally the pipeline's consumer thread); blocks.
 */
enum pp_err pp_kafka_consumer_commit(struct pp_kafka_consumer *consumer,
                                     const struct pp_kafka_offset *offsets, size_t n);

/*
 * Pauses / resumes fetching from one assigned partition (backpressure,
 * SPEC 9). After pause returns, fill delivers no message of the partition
 * except at most one held over from a full batch; resume continues after
 * the last message fill delivered. A rebalance forgets pauses: the
 * partitions a new assignment brings are fetched. Returns PP_OK,
 * PP_ERR_NOTFOUND (not assigned), PP_ERR_INTERNAL. Any thread.
 */
enum pp_err pp_kafka_consumer_pause(struct pp_kafka_consumer *consumer, enum pp_topic topic,
                                    int32_t partition);
enum pp_err pp_kafka_consumer_resume(struct pp_kafka_consumer *consumer, enum pp_topic topic,
                                     int32_t partition);

/*
 * The lag of an assigned partition, for /metrics: the cached high
 * watermark (updated by every fetch response, no request is sent) minus
 * the position (the offset after the last message fill delivered). When
 * nothing was delivered yet, the position is where the partition starts:
 * its committed offset as pp_kafka_consumer_learn_committed() last read
 * it, or without one the low watermark (auto.offset.reset=earliest).
 * Returns PP_OK with *lag >= 0, or PP_ERR_NOTFOUND (not assigned, or not
 * known yet: no fetch response) with *lag = -1. Does not block. Any
 * thread.
 */
enum pp_err pp_kafka_consumer_lag(struct pp_kafka_consumer *consumer, enum pp_topic topic,
                                  int32_t partition, int64_t *lag);

/*
 * Reads the committed offsets of the current assignment from the group
 * coordinator (one request, waiting up to timeout_ms), for
 * pp_kafka_consumer_lag(). Call it after each new assignment
 * (pp_kafka_consumer_assignments()). PP_OK, PP_ERR_IO (not answered: the
 * lag of a partition without a delivery stays its low watermark's),
 * PP_ERR_NOMEM. Any thread; blocks.
 */
enum pp_err pp_kafka_consumer_learn_committed(struct pp_kafka_consumer *consumer, int timeout_ms);

/* Whether (topic, partition) is assigned to this member now. Any thread. */
bool pp_kafka_consumer_is_assigned(struct pp_kafka_consumer *consumer, enum pp_topic topic,
                                   int32_t partition);

/* Number of partitions currently assigned to this member (all topics). */
size_t pp_kafka_consumer_assigned(struct pp_kafka_consumer *consumer);

/*
 * The distinct partition numbers assigned now (of any topic), ascending:
 * the first cap into out; returns how many there are. Any thread.
 */
size_t pp_kafka_consumer_partitions(struct pp_kafka_consumer *consumer, int32_t *out, size_t cap);

/* How many assignments the group gave this member so far: a change tells a
 * new one, whose partitions pp_kafka_consumer_partitions() lists already;
 * every record of it is delivered by fills that start after the change.
 * Any thread. */
uint64_t pp_kafka_consumer_assignments(struct pp_kafka_consumer *consumer);

/*
 * Held revocations (options.is_revoke_held). A rebalance's revocation
 * leaves the partitions assigned, commits for them allowed, and stops
 * fetching (fills return idle ticks) until the owner of their state calls
 * pp_kafka_consumer_unassign(), which gives them up and lets the
 * rebalance go on; it must come within the group's rebalance timeout
 * (max.poll.interval.ms). pp_kafka_consumer_is_revoking() tells whether
 * one is held. A stopped consumer does not hold. Any thread.
 */
bool pp_kafka_consumer_is_revoking(struct pp_kafka_consumer *consumer);
void pp_kafka_consumer_unassign(struct pp_kafka_consumer *consumer);

/* The id of the Kafka cluster the consumer reads (Metadata's ClusterId;
 * a `pinpipe broker` gets a new one at each start) into out, waiting up
 * to timeout_ms for the first metadata. PP_ERR_NOTFOUND (out "") when the
 * cluster has not answered by then or has no id. Any thread. */
enum pp_err pp_kafka_consumer_cluster_id(struct pp_kafka_consumer *consumer, int timeout_ms,
                                         char *out, size_t cap);

/* Leaves the group cleanly (rd_kafka_consumer_close: the revocation is
 * logged; nothing is committed) and frees. Accepts NULL. Owner's thread,
 * after the pipeline stopped. */
void pp_kafka_consumer_destroy(struct pp_kafka_consumer *consumer);

#endif
