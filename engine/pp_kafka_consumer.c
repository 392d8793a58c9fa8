/*
 * pp_kafka_consumer: the consumer, a pipeline source (see pp_kafka.h,
 * docs/kafka.md).
 *
 * rd_kafka_poll_set_consumer routes the main queue (rebalance, errors)
 * into the consumer queue, so every callback except logging runs inside
 * rd_kafka_consumer_poll on the source thread. The assignment is copied
 * under a mutex in the rebalance callback, so commit (on another thread)
 * can skip partitions this member no longer owns.
 */
#include "pp_kafka.h"

#include <assert.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pp_batch.h"
#include "pp_clock.h"
#include "pp_hmap.h"
#include "pp_kafka_int.h"
#include "pp_log.h"
#include "pp_pipeline.h"

/* Most spans one fill writes (tombstones take no bytes). */
#define KAFKA_FILL_MAX_SPANS 65536
#define KAFKA_POLL_TIMEOUT_DEFAULT_MS 100
/* How long the pipeline may be blocked before the partitions are paused,
 * by default (pp_kafka_consumer_blocked): a hash table doubling or a
 * checkpoint stalls the loop for a few hundred ms, and a pause then made
 * the whole prefetch be fetched again from a broker already busy. */
#define KAFKA_PAUSE_AFTER_DEFAULT_MS 1000

struct pp_kafka_consumer {
    rd_kafka_t *rk;
    char *topics[PP_TOPIC_COUNT];
    int poll_timeout_ms;
    atomic_bool is_stopped;
    atomic_bool is_failed; /* a fatal error was raised */
    bool is_revoke_held;   /* options.is_revoke_held */
    /* A revocation waiting for pp_kafka_consumer_unassign(): set in the
     * rebalance callback (source thread), cleared by the unassign (the
     * state owner's thread). */
    atomic_bool is_revoking;
    atomic_uint_fast64_t assignments; /* assignments made so far */
    rd_kafka_message_t *pending;      /* did not fit in the last batch */
    bool is_paused;                   /* by backpressure (source thread) */
    int64_t blocked_since;            /* pp_clock_ms() of a stall not yet paused; 0: none */
    int pause_after_ms;               /* options.pause_after_ms */
    atomic_bool is_paused_seen;       /* the same, for other threads */
    atomic_uint_fast64_t pauses;      /* backpressure pauses so far */
    pthread_mutex_t lock;             /* guards assignment and committed */
    rd_kafka_topic_partition_list_t *assignment;
    /* (topic, partition) -> the committed offset + 1 (0: none) of the
     * current assignment, from pp_kafka_consumer_learn_committed(): where a
     * partition nothing was delivered from yet starts. */
    struct pp_hmap committed;
    /* Partitions assigned whose first record has not been delivered yet
     * (source thread only): that record's span is marked is_resumed. */
    struct pp_hmap fresh; /* (topic, partition) -> 1 while fresh */
    size_t n_fresh;
};

static void kafka_consumer_error_cb(rd_kafka_t *rk, int rerr, const char *reason, void *opaque)
{
    struct pp_kafka_consumer *consumer = opaque;
    char fatal[512];

    if (rerr == RD_KAFKA_RESP_ERR__FATAL) {
        rd_kafka_fatal_error(rk, fatal, sizeof fatal);
        pp_log_error("kafka: fatal consumer error: %s", fatal);
        atomic_store(&consumer->is_failed, true);
        return;
    }
    pp_kafka_log_error(rerr, reason);
}

/* Logs an assignment change as partitions per topic (a line per partition
 * would be hundreds of entries with 64-partition topics); the full list
 * goes to the debug log. */
static void kafka_consumer_log_partitions(const char *what,
                                          const rd_kafka_topic_partition_list_t *parts)
{
    char line[512];
    size_t len = 0;
    int i;
    int j;

    line[0] = '\0';
    for (i = 0; i < parts->cnt && len < sizeof line - 1; i++) {
        const char *topic = parts->elems[i].topic;
        int count = 0;
        for (j = 0; j < i; j++)
            if (strcmp(parts->elems[j].topic, topic) == 0)
                break;
        if (j < i)
            continue; /* counted with its first partition */
        for (j = i; j < parts->cnt; j++)
            count += strcmp(parts->elems[j].topic, topic) == 0;
        int n = snprintf(line + len, sizeof line - len, "%s%s: %d", len ? ", " : "", topic, count);
        if (n < 0)
            break;
        len += (size_t)n;
    }
    pp_log_info("kafka: %s %d partitions (%s)", what, parts->cnt, line);
    for (i = 0; i < parts->cnt; i++)
        pp_log_debug("kafka: %s %s[%" PRId32 "]", what, parts->elems[i].topic,
                     parts->elems[i].partition);
}

static int kafka_consumer_topic(const struct pp_kafka_consumer *consumer, const char *name);

/* Replaces the copy of the assignment that other threads read (takes
 * copy, which may be NULL: nothing assigned). */
static void kafka_consumer_set_assignment(struct pp_kafka_consumer *consumer,
                                          rd_kafka_topic_partition_list_t *copy)
{
    rd_kafka_topic_partition_list_t *old;

    pthread_mutex_lock(&consumer->lock);
    old = consumer->assignment;
    consumer->assignment = copy;
    pp_hmap_clear(&consumer->committed); /* the new one's: learned again */
    pthread_mutex_unlock(&consumer->lock);
    if (old != NULL)
        rd_kafka_topic_partition_list_destroy(old);
}

/* Eager (range) rebalancing: each event replaces the whole assignment. */
static void kafka_consumer_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t rerr,
                                        rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    struct pp_kafka_consumer *consumer = opaque;
    rd_kafka_topic_partition_list_t *copy = NULL;
    rd_kafka_resp_err_t aerr;

    /* A held-over message belongs to an earlier assignment, whatever the
     * event: its partition's next owner (maybe this member again, from
     * the committed offset) reads it. */
    if (consumer->pending != NULL) {
        rd_kafka_message_destroy(consumer->pending);
        consumer->pending = NULL;
    }
    if (rerr == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        kafka_consumer_log_partitions("assigned", parts);
        copy = rd_kafka_topic_partition_list_copy(parts);
        pp_hmap_clear(&consumer->fresh);
        consumer->n_fresh = 0;
        for (int i = 0; i < parts->cnt; i++) {
            int t = kafka_consumer_topic(consumer, parts->elems[i].topic);
            uint64_t *slot;

            if (t < 0 || (slot = pp_hmap_upsert(&consumer->fresh, (uint64_t)t,
                                                (uint64_t)parts->elems[i].partition, NULL)) == NULL)
                continue; /* out of memory: its first record goes unmarked */
            *slot = 1;
            consumer->n_fresh++;
        }
        aerr = rd_kafka_assign(rk, parts);
        /* Partitions assigned while the pipeline is blocked start paused
         * too; pp_kafka_consumer_blocked(false) resumes the whole
         * assignment. */
        if (aerr == RD_KAFKA_RESP_ERR_NO_ERROR && consumer->is_paused)
            rd_kafka_pause_partitions(rk, parts);
    } else {
        if (rerr == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS)
            kafka_consumer_log_partitions("revoked", parts);
        else
            pp_log_warn("kafka: rebalance error: %s", rd_kafka_err2str(rerr));
        /* librdkafka waits for the unassign call, which need not come from
         * the callback (within the rebalance timeout): the owner of the
         * partitions' state makes it once that state is handed over. A
         * consumer stopping or closing gives them up at once. */
        if (rerr == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS && consumer->is_revoke_held &&
            !atomic_load(&consumer->is_stopped)) {
            atomic_store(&consumer->is_revoking, true);
            return;
        }
        aerr = rd_kafka_assign(rk, NULL);
    }
    if (aerr != RD_KAFKA_RESP_ERR_NO_ERROR)
        pp_log_warn("kafka: assign: %s", rd_kafka_err2str(aerr));
    kafka_consumer_set_assignment(consumer, copy);
    /* After the copy: a thread that sees the count sees the list. */
    if (rerr == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS)
        atomic_fetch_add(&consumer->assignments, 1);
}

/* Properties the offset contract and co-partitioning depend on. */
static bool kafka_consumer_is_forbidden(const char *name, const char *value)
{
    if (strcmp(name, "enable.auto.commit") == 0 || strcmp(name, "enable.auto.offset.store") == 0)
        return strcmp(value, "false") != 0;
    if (strcmp(name, "partition.assignment.strategy") == 0)
        return strcmp(value, "range") != 0;
    return false;
}

enum pp_err pp_kafka_consumer_new(const struct pp_kafka_consumer_options *opt,
                                  struct pp_kafka_consumer **out, char *msg, size_t msg_len)
{
    /* Why each value: docs/kafka.md, "Consumer". */
    static const char *const defaults[][2] = {
        {"enable.auto.commit", "false"},
        {"enable.auto.offset.store", "false"},
        {"auto.offset.reset", "earliest"},
        {"partition.assignment.strategy", "range"},
        {"allow.auto.create.topics", "true"},
        {"enable.partition.eof", "false"},
        {"socket.connection.setup.timeout.ms", "10000"},
    };
    struct pp_kafka_consumer *consumer;
    rd_kafka_conf_t *conf = NULL;
    rd_kafka_topic_partition_list_t *subscription = NULL;
    bool has_bootstrap = opt->bootstrap != NULL && opt->bootstrap[0] != '\0';
    bool has_group = opt->group_id != NULL && opt->group_id[0] != '\0';
    rd_kafka_resp_err_t rerr;
    enum pp_err err;

    *out = NULL;
    msg[0] = '\0';
    consumer = calloc(1, sizeof *consumer);
    if (consumer == NULL)
        return PP_ERR_NOMEM;
    pthread_mutex_init(&consumer->lock, NULL);
    atomic_init(&consumer->is_stopped, false);
    atomic_init(&consumer->is_failed, false);
    atomic_init(&consumer->is_revoking, false);
    atomic_init(&consumer->assignments, 0);
    consumer->is_revoke_held = opt->is_revoke_held;
    atomic_init(&consumer->is_paused_seen, false);
    atomic_init(&consumer->pauses, 0);
    consumer->poll_timeout_ms =
        opt->poll_timeout_ms > 0 ? opt->poll_timeout_ms : KAFKA_POLL_TIMEOUT_DEFAULT_MS;
    consumer->pause_after_ms =
        opt->pause_after_ms > 0 ? opt->pause_after_ms : KAFKA_PAUSE_AFTER_DEFAULT_MS;
    conf = rd_kafka_conf_new();
    subscription = rd_kafka_topic_partition_list_new(PP_TOPIC_COUNT);
    if (conf == NULL || subscription == NULL) {
        err = PP_ERR_NOMEM;
        goto fail;
    }
    for (int t = 0; t < PP_TOPIC_COUNT; t++) {
        if (opt->topics[t] == NULL || opt->topics[t][0] == '\0')
            continue;
        consumer->topics[t] = strdup(opt->topics[t]);
        if (consumer->topics[t] == NULL) {
            err = PP_ERR_NOMEM;
            goto fail;
        }
        rd_kafka_topic_partition_list_add(subscription, opt->topics[t], RD_KAFKA_PARTITION_UA);
    }
    if (subscription->cnt == 0) {
        snprintf(msg, msg_len, "kafka consumer: no topic to consume");
        err = PP_ERR_USAGE;
        goto fail;
    }
    for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++)
        if ((err = pp_kafka_conf_set(conf, defaults[i][0], defaults[i][1], msg, msg_len)))
            goto fail;
    if (has_bootstrap &&
        (err = pp_kafka_conf_set(conf, "bootstrap.servers", opt->bootstrap, msg, msg_len)))
        goto fail;
    if (has_group && (err = pp_kafka_conf_set(conf, "group.id", opt->group_id, msg, msg_len)))
        goto fail;
    for (size_t i = 0; i < opt->n_properties; i++) {
        const struct pp_kafka_property *prop = &opt->properties[i];

        if (kafka_consumer_is_forbidden(prop->name, prop->value)) {
            snprintf(msg, msg_len,
                     "kafka property %s=%s is not allowed: pinpipe commits offsets itself, "
                     "after the records are applied, and needs range assignment",
                     prop->name, prop->value);
            err = PP_ERR_USAGE;
            goto fail;
        }
        if ((err = pp_kafka_conf_set(conf, prop->name, prop->value, msg, msg_len)))
            goto fail;
        has_bootstrap |= strcmp(prop->name, "bootstrap.servers") == 0 && prop->value[0] != '\0';
        has_group |= strcmp(prop->name, "group.id") == 0 && prop->value[0] != '\0';
    }
    if (!has_bootstrap || !has_group) {
        snprintf(msg, msg_len, "kafka consumer: no %s given",
                 has_bootstrap ? "group.id" : "bootstrap servers");
        err = PP_ERR_USAGE;
        goto fail;
    }
    rd_kafka_conf_set_log_cb(conf, pp_kafka_client_log_cb);
    rd_kafka_conf_set_error_cb(conf, kafka_consumer_error_cb);
    rd_kafka_conf_set_rebalance_cb(conf, kafka_consumer_rebalance_cb);
    rd_kafka_conf_set_opaque(conf, consumer);
    if ((err = pp_kafka_handle_new(RD_KAFKA_CONSUMER, &conf, &consumer->rk, msg, msg_len)))
        goto fail;
    rd_kafka_poll_set_consumer(consumer->rk);
    rerr = rd_kafka_subscribe(consumer->rk, subscription);
    if (rerr != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(msg, msg_len, "kafka subscribe: %s", rd_kafka_err2str(rerr));
        err = pp_kafka_err_from_rd(rerr) == PP_ERR_INVALID ? PP_ERR_USAGE : PP_ERR_INTERNAL;
        goto fail;
    }
    rd_kafka_topic_partition_list_destroy(subscription);
    *out = consumer;
    return PP_OK;
fail:
    if (subscription != NULL)
        rd_kafka_topic_partition_list_destroy(subscription);
    if (conf != NULL)
        rd_kafka_conf_destroy(conf);
    pp_kafka_consumer_destroy(consumer);
    return err;
}

/* The pp_topic of a message's topic; -1 when not one of ours. */
static int kafka_consumer_topic(const struct pp_kafka_consumer *consumer, const char *name)
{
    for (int t = 0; t < PP_TOPIC_COUNT; t++)
        if (consumer->topics[t] != NULL && strcmp(consumer->topics[t], name) == 0)
            return t;
    return -1;
}

/* A message carrying an error instead of a record. Returns PP_OK to go on. */
static enum pp_err kafka_consumer_message_error(struct pp_kafka_consumer *consumer,
                                                const rd_kafka_message_t *m)
{
    char fatal[512];

    switch ((int)m->err) {
    case RD_KAFKA_RESP_ERR__PARTITION_EOF: return PP_OK;
    case RD_KAFKA_RESP_ERR__FATAL:
        rd_kafka_fatal_error(consumer->rk, fatal, sizeof fatal);
        pp_log_error("kafka: fatal consumer error: %s", fatal);
        return PP_ERR_INTERNAL;
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
        pp_log_debug("kafka: consumer: %s", rd_kafka_err2str(m->err));
        return PP_OK;
    default:
        if (m->rkt != NULL)
            pp_log_warn("kafka: consumer: %s [%" PRId32 "]: %s", rd_kafka_topic_name(m->rkt),
                        m->partition, rd_kafka_err2str(m->err));
        else
            pp_log_warn("kafka: consumer: %s", rd_kafka_err2str(m->err));
        return PP_OK;
    }
}

enum pp_err pp_kafka_consumer_fill(void *vconsumer, struct pp_batch *batch)
{
    struct pp_kafka_consumer *consumer = vconsumer;
    int64_t deadline = pp_clock_ms() + consumer->poll_timeout_ms;
    enum pp_err err = PP_OK;

    if (atomic_load(&consumer->is_stopped))
        return PP_END;
    /* Revoked but not unassigned yet: what would arrive is the revoked
     * partitions', which their next owner reads. Idle ticks keep the
     * pipeline's consumer thread turning until it unassigns. */
    if (atomic_load(&consumer->is_revoking)) {
        struct timespec idle = {0, 10 * 1000 * 1000};
        nanosleep(&idle, NULL);
        return PP_OK;
    }
    while (batch->n_spans < KAFKA_FILL_MAX_SPANS) {
        rd_kafka_message_t *m = consumer->pending;
        struct pp_batch_span span;
        int64_t timestamp;
        int topic;

        if (atomic_load(&consumer->is_failed))
            return PP_ERR_INTERNAL;
        if (m != NULL) {
            consumer->pending = NULL;
        } else {
            int64_t wait = 0;
            if (batch->n_spans == 0 && !atomic_load(&consumer->is_stopped))
                wait = deadline - pp_clock_ms();
            m = rd_kafka_consumer_poll(consumer->rk, wait > 0 ? (int)wait : 0);
            if (m == NULL) {
                if (batch->n_spans == 0 && wait > 0 && !atomic_load(&consumer->is_revoking))
                    continue; /* woken by a callback: wait out the rest */
                break;
            }
        }
        if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            err = kafka_consumer_message_error(consumer, m);
            rd_kafka_message_destroy(m);
            if (err)
                return err;
            continue;
        }
        topic = kafka_consumer_topic(consumer, rd_kafka_topic_name(m->rkt));
        if (topic < 0) {
            pp_log_debug("kafka: consumer: message of unexpected topic %s",
                         rd_kafka_topic_name(m->rkt));
            rd_kafka_message_destroy(m);
            continue;
        }
        if (m->len > batch->cap - batch->len) {
            if (batch->len > 0) {
                consumer->pending = m; /* the next batch takes it */
                break;
            }
            /* Larger than a whole batch: the empty batch grows to carry it,
             * so that the record (too_large for the cleaner) keeps its bytes
             * in the raw lake and the dlq (SPEC 3); Kafka may not hold it
             * anywhere else for long. Only out of memory is it passed on
             * without them. */
            (void)pp_batch_grow(batch, m->len);
        }
        timestamp = rd_kafka_message_timestamp(m, NULL);
        span = (struct pp_batch_span){
            .begin = (uint32_t)batch->len,
            .end = (uint32_t)batch->len,
            .first_offset = m->offset,
            .timestamp_ms = timestamp >= 0 ? timestamp : PP_BATCH_NO_TIMESTAMP,
            .partition = m->partition,
            .topic = (uint16_t)topic,
            .is_oversized = m->len > batch->cap,
            .is_single = true,
        };
        if (consumer->n_fresh > 0) {
            uint64_t *slot =
                pp_hmap_find(&consumer->fresh, (uint64_t)topic, (uint64_t)m->partition);
            if (slot != NULL && *slot != 0) {
                *slot = 0;
                consumer->n_fresh--;
                span.is_resumed = true;
            }
        }
        if (!span.is_oversized && m->len > 0) {
            memcpy(batch->data + batch->len, m->payload, m->len);
            batch->len += m->len;
            span.end = (uint32_t)batch->len;
        }
        rd_kafka_message_destroy(m);
        if ((err = pp_batch_add_span(batch, &span)))
            return err;
    }
    return PP_OK;
}

/* Pauses or resumes every partition of the current assignment. */
static void kafka_consumer_pause_all(struct pp_kafka_consumer *consumer, bool is_pause)
{
    rd_kafka_topic_partition_list_t *parts = NULL;
    rd_kafka_resp_err_t rerr;

    rerr = rd_kafka_assignment(consumer->rk, &parts);
    if (rerr == RD_KAFKA_RESP_ERR_NO_ERROR)
        rerr = is_pause ? rd_kafka_pause_partitions(consumer->rk, parts)
                        : rd_kafka_resume_partitions(consumer->rk, parts);
    if (rerr != RD_KAFKA_RESP_ERR_NO_ERROR)
        pp_log_warn("kafka: %s partitions: %s", is_pause ? "pause" : "resume",
                    rd_kafka_err2str(rerr));
    if (parts != NULL)
        rd_kafka_topic_partition_list_destroy(parts);
}

/*
 * While paused, librdkafka discards what it had prefetched for those
 * partitions (a pause bumps their op version) and fetches again from the
 * position after the last message fill delivered when resumed, so nothing
 * is lost and its queue stays empty. Polling here serves rebalances and
 * keeps the member within max.poll.interval.ms however long the stall
 * lasts once paused (before, nothing is polled: pause_after_ms is kept
 * well below max.poll.interval.ms).
 * A stall shorter than pause_after_ms pauses nothing: the
 * prefetch queue (bounded by queued.max.messages.kbytes) holds what comes
 * meanwhile, where a pause would throw it away and fetch it all again.
 */
enum pp_err pp_kafka_consumer_blocked(void *vconsumer, bool is_blocked)
{
    struct pp_kafka_consumer *consumer = vconsumer;
    rd_kafka_message_t *m;
    enum pp_err err;

    if (atomic_load(&consumer->is_failed))
        return PP_ERR_INTERNAL;
    if (!is_blocked) {
        consumer->blocked_since = 0;
        if (consumer->is_paused) {
            kafka_consumer_pause_all(consumer, false);
            consumer->is_paused = false;
            atomic_store(&consumer->is_paused_seen, false);
            pp_log_debug("kafka: pipeline caught up; partitions resumed");
        }
        return PP_OK;
    }
    if (!consumer->is_paused) {
        int64_t now = pp_clock_ms();
        /* The pipeline calls after PP_PIPELINE_BLOCKED_MS of stall. */
        if (consumer->blocked_since == 0)
            consumer->blocked_since = now - PP_PIPELINE_BLOCKED_MS;
        if (now - consumer->blocked_since < consumer->pause_after_ms)
            return PP_OK;
        kafka_consumer_pause_all(consumer, true);
        consumer->is_paused = true;
        atomic_store(&consumer->is_paused_seen, true);
        atomic_fetch_add(&consumer->pauses, 1);
        pp_log_debug("kafka: pipeline behind; partitions paused");
    }
    while (!atomic_load(&consumer->is_revoking) &&
           (m = rd_kafka_consumer_poll(consumer->rk, 0)) != NULL) {
        if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            err = kafka_consumer_message_error(consumer, m);
            rd_kafka_message_destroy(m);
            if (err)
                return err;
            continue;
        }
        if (consumer->pending == NULL) {
            consumer->pending = m; /* the next fill takes it first */
            continue;
        }
        /* Not expected (the pause discarded the prefetched messages);
         * should one come, read it again after the resume rather than
         * hold an unbounded list. */
        rd_kafka_topic_partition_list_t *back = rd_kafka_topic_partition_list_new(1);
        if (back == NULL) {
            rd_kafka_message_destroy(m);
            return PP_ERR_NOMEM;
        }
        rd_kafka_topic_partition_list_add(back, rd_kafka_topic_name(m->rkt), m->partition)->offset =
            m->offset;
        rd_kafka_error_t *serr = rd_kafka_seek_partitions(consumer->rk, back, 1000);
        if (serr != NULL) {
            pp_log_warn("kafka: seek back after a pause: %s", rd_kafka_error_string(serr));
            rd_kafka_error_destroy(serr);
        }
        rd_kafka_topic_partition_list_destroy(back);
        rd_kafka_message_destroy(m);
    }
    return PP_OK;
}

void pp_kafka_consumer_backpressure(struct pp_kafka_consumer *consumer, bool *is_paused,
                                    uint64_t *pauses)
{
    *is_paused = atomic_load(&consumer->is_paused_seen);
    *pauses = atomic_load(&consumer->pauses);
}

void pp_kafka_consumer_stop(struct pp_kafka_consumer *consumer)
{
    atomic_store(&consumer->is_stopped, true);
}

uint64_t pp_kafka_consumer_assignments(struct pp_kafka_consumer *consumer)
{
    return atomic_load(&consumer->assignments);
}

bool pp_kafka_consumer_is_revoking(struct pp_kafka_consumer *consumer)
{
    return atomic_load(&consumer->is_revoking);
}

void pp_kafka_consumer_unassign(struct pp_kafka_consumer *consumer)
{
    rd_kafka_resp_err_t aerr;

    if (!atomic_load(&consumer->is_revoking))
        return;
    /* The copy first: no fill polls while the revocation is held, so the
     * next assignment's callback comes after this. */
    kafka_consumer_set_assignment(consumer, NULL);
    if ((aerr = rd_kafka_assign(consumer->rk, NULL)) != RD_KAFKA_RESP_ERR_NO_ERROR)
        pp_log_warn("kafka: unassign: %s", rd_kafka_err2str(aerr));
    atomic_store(&consumer->is_revoking, false);
}

/* Whether (topic, partition) is in the current assignment. Caller holds
 * the lock. */
static bool kafka_consumer_is_assigned(const struct pp_kafka_consumer *consumer, const char *topic,
                                       int32_t partition)
{
    return consumer->assignment != NULL &&
           rd_kafka_topic_partition_list_find(consumer->assignment, topic, partition) != NULL;
}

/* The name of a consumed topic when (topic, partition) is assigned to this
 * member now, else NULL. Takes the assignment lock. */
static const char *kafka_consumer_assigned_name(struct pp_kafka_consumer *consumer,
                                                enum pp_topic topic, int32_t partition)
{
    const char *name = consumer->topics[topic];
    bool is_assigned;

    if (name == NULL)
        return NULL;
    pthread_mutex_lock(&consumer->lock);
    is_assigned = kafka_consumer_is_assigned(consumer, name, partition);
    pthread_mutex_unlock(&consumer->lock);
    return is_assigned ? name : NULL;
}

bool pp_kafka_consumer_is_assigned(struct pp_kafka_consumer *consumer, enum pp_topic topic,
                                   int32_t partition)
{
    return kafka_consumer_assigned_name(consumer, topic, partition) != NULL;
}

static bool kafka_is_retriable_commit(rd_kafka_resp_err_t rerr)
{
    switch ((int)rerr) {
    case RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION:
    case RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID:
    case RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_COORDINATOR:
    case RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR__WAIT_COORD:
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__STATE: return true;
    default: return false;
    }
}

enum pp_err pp_kafka_consumer_commit(struct pp_kafka_consumer *consumer,
                                     const struct pp_kafka_offset *offsets, size_t n)
{
    rd_kafka_topic_partition_list_t *list;
    rd_kafka_resp_err_t rerr;
    enum pp_err err = PP_OK;

    list = rd_kafka_topic_partition_list_new(n > 0 ? (int)n : 1);
    if (list == NULL)
        return PP_ERR_NOMEM;
    pthread_mutex_lock(&consumer->lock);
    for (size_t i = 0; i < n; i++) {
        const char *topic = consumer->topics[offsets[i].topic];

        assert(offsets[i].topic < PP_TOPIC_COUNT && offsets[i].offset >= 0);
        if (topic == NULL || !kafka_consumer_is_assigned(consumer, topic, offsets[i].partition))
            continue;
        rd_kafka_topic_partition_list_add(list, topic, offsets[i].partition)->offset =
            offsets[i].offset;
    }
    pthread_mutex_unlock(&consumer->lock);
    if (list->cnt == 0)
        goto out;
    rerr = rd_kafka_commit(consumer->rk, list, 0);
    for (int i = 0; rerr == RD_KAFKA_RESP_ERR_NO_ERROR && i < list->cnt; i++)
        rerr = list->elems[i].err;
    if (rerr != RD_KAFKA_RESP_ERR_NO_ERROR && rerr != RD_KAFKA_RESP_ERR__NO_OFFSET) {
        err = kafka_is_retriable_commit(rerr) ? PP_ERR_IO : PP_ERR_INTERNAL;
        pp_log_warn("kafka: commit of %d partitions failed: %s", list->cnt, rd_kafka_err2str(rerr));
    }
out:
    rd_kafka_topic_partition_list_destroy(list);
    return err;
}

static enum pp_err kafka_consumer_pause_resume(struct pp_kafka_consumer *consumer,
                                               enum pp_topic topic, int32_t partition,
                                               bool is_pause)
{
    rd_kafka_topic_partition_list_t *list;
    rd_kafka_resp_err_t rerr;
    const char *name = kafka_consumer_assigned_name(consumer, topic, partition);

    if (name == NULL)
        return PP_ERR_NOTFOUND;
    list = rd_kafka_topic_partition_list_new(1);
    if (list == NULL)
        return PP_ERR_NOMEM;
    rd_kafka_topic_partition_list_add(list, name, partition);
    rerr = is_pause ? rd_kafka_pause_partitions(consumer->rk, list)
                    : rd_kafka_resume_partitions(consumer->rk, list);
    if (rerr == RD_KAFKA_RESP_ERR_NO_ERROR)
        rerr = list->elems[0].err;
    rd_kafka_topic_partition_list_destroy(list);
    if (rerr == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION)
        return PP_ERR_NOTFOUND;
    return rerr == RD_KAFKA_RESP_ERR_NO_ERROR ? PP_OK : PP_ERR_INTERNAL;
}

enum pp_err pp_kafka_consumer_pause(struct pp_kafka_consumer *consumer, enum pp_topic topic,
                                    int32_t partition)
{
    return kafka_consumer_pause_resume(consumer, topic, partition, true);
}

enum pp_err pp_kafka_consumer_resume(struct pp_kafka_consumer *consumer, enum pp_topic topic,
                                     int32_t partition)
{
    return kafka_consumer_pause_resume(consumer, topic, partition, false);
}

enum pp_err pp_kafka_consumer_lag(struct pp_kafka_consumer *consumer, enum pp_topic topic,
                                  int32_t partition, int64_t *lag)
{
    rd_kafka_topic_partition_list_t *list;
    const char *name = kafka_consumer_assigned_name(consumer, topic, partition);
    int64_t low = RD_KAFKA_OFFSET_INVALID;
    int64_t high = RD_KAFKA_OFFSET_INVALID;
    int64_t position = RD_KAFKA_OFFSET_INVALID;

    *lag = -1;
    if (name == NULL)
        return PP_ERR_NOTFOUND;
    if (rd_kafka_get_watermark_offsets(consumer->rk, name, partition, &low, &high) !=
            RD_KAFKA_RESP_ERR_NO_ERROR ||
        high < 0)
        return PP_ERR_NOTFOUND;
    list = rd_kafka_topic_partition_list_new(1);
    if (list == NULL)
        return PP_ERR_NOMEM;
    rd_kafka_topic_partition_list_add(list, name, partition);
    if (rd_kafka_position(consumer->rk, list) == RD_KAFKA_RESP_ERR_NO_ERROR)
        position = list->elems[0].offset;
    rd_kafka_topic_partition_list_destroy(list);
    if (position < 0) {
        /* Nothing delivered yet: the partition starts at its committed
         * offset, or, without one, at the oldest record
         * (auto.offset.reset=earliest, the default). */
        const uint64_t *next;
        pthread_mutex_lock(&consumer->lock);
        next = pp_hmap_find(&consumer->committed, (uint64_t)topic, (uint64_t)partition);
        position = next != NULL && *next > 0 ? (int64_t)*next - 1 : low;
        pthread_mutex_unlock(&consumer->lock);
        if (position < 0)
            return PP_ERR_NOTFOUND;
    }
    *lag = high > position ? high - position : 0;
    return PP_OK;
}

enum pp_err pp_kafka_consumer_learn_committed(struct pp_kafka_consumer *consumer, int timeout_ms)
{
    rd_kafka_topic_partition_list_t *list = NULL;
    rd_kafka_resp_err_t rerr;
    enum pp_err err = PP_OK;

    pthread_mutex_lock(&consumer->lock);
    if (consumer->assignment != NULL)
        list = rd_kafka_topic_partition_list_copy(consumer->assignment);
    pthread_mutex_unlock(&consumer->lock);
    if (list == NULL)
        return PP_OK;
    rerr = rd_kafka_committed(consumer->rk, list, timeout_ms);
    pthread_mutex_lock(&consumer->lock);
    pp_hmap_clear(&consumer->committed);
    for (int i = 0; rerr == RD_KAFKA_RESP_ERR_NO_ERROR && i < list->cnt; i++) {
        int t = kafka_consumer_topic(consumer, list->elems[i].topic);
        uint64_t *next;
        if (t < 0 || list->elems[i].err != RD_KAFKA_RESP_ERR_NO_ERROR || list->elems[i].offset < 0)
            continue;
        next = pp_hmap_upsert(&consumer->committed, (uint64_t)t, (uint64_t)list->elems[i].partition,
                              NULL);
        if (next == NULL) {
            err = PP_ERR_NOMEM;
            break;
        }
        *next = (uint64_t)list->elems[i].offset + 1;
    }
    pthread_mutex_unlock(&consumer->lock);
    if (rerr != RD_KAFKA_RESP_ERR_NO_ERROR) {
        pp_log_debug("kafka: committed offsets: %s", rd_kafka_err2str(rerr));
        err = PP_ERR_IO;
    }
    rd_kafka_topic_partition_list_destroy(list);
    return err;
}

size_t pp_kafka_consumer_assigned(struct pp_kafka_consumer *consumer)
{
    size_t n;

    pthread_mutex_lock(&consumer->lock);
    n = consumer->assignment != NULL ? (size_t)consumer->assignment->cnt : 0;
    pthread_mutex_unlock(&consumer->lock);
    return n;
}

static int kafka_consumer_int32_cmp(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a;
    int32_t y = *(const int32_t *)b;

    return (x > y) - (x < y);
}

size_t pp_kafka_consumer_partitions(struct pp_kafka_consumer *consumer, int32_t *out, size_t cap)
{
    size_t n = 0;

    pthread_mutex_lock(&consumer->lock);
    for (int i = 0; consumer->assignment != NULL && i < consumer->assignment->cnt; i++) {
        const rd_kafka_topic_partition_t *elems = consumer->assignment->elems;
        int j;
        for (j = 0; j < i && elems[j].partition != elems[i].partition; j++)
            ;
        if (j < i)
            continue; /* another topic's, listed already */
        if (n < cap)
            out[n] = elems[i].partition;
        n++;
    }
    pthread_mutex_unlock(&consumer->lock);
    qsort(out, n < cap ? n : cap, sizeof *out, kafka_consumer_int32_cmp);
    return n;
}

enum pp_err pp_kafka_consumer_cluster_id(struct pp_kafka_consumer *consumer, int timeout_ms,
                                         char *out, size_t cap)
{
    char *id = rd_kafka_clusterid(consumer->rk, timeout_ms);

    if (cap > 0)
        out[0] = '\0';
    if (id == NULL)
        return PP_ERR_NOTFOUND;
    snprintf(out, cap, "%s", id);
    rd_kafka_mem_free(consumer->rk, id);
    return PP_OK;
}

void pp_kafka_consumer_destroy(struct pp_kafka_consumer *consumer)
{
    if (consumer == NULL)
        return;
    if (consumer->pending != NULL) {
        rd_kafka_message_destroy(consumer->pending);
        consumer->pending = NULL; /* close runs the rebalance callback */
    }
    if (consumer->rk != NULL) {
        rd_kafka_resp_err_t rerr;
        /* A revocation still held would hold the close's leave too, and
         * the close's own is not held. */
        atomic_store(&consumer->is_stopped, true);
        pp_kafka_consumer_unassign(consumer);
        rerr = rd_kafka_consumer_close(consumer->rk);
        if (rerr != RD_KAFKA_RESP_ERR_NO_ERROR)
            pp_log_debug("kafka: consumer close: %s", rd_kafka_err2str(rerr));
        rd_kafka_destroy(consumer->rk);
    }
    if (consumer->assignment != NULL)
        rd_kafka_topic_partition_list_destroy(consumer->assignment);
    pp_hmap_cleanup(&consumer->fresh);
    pp_hmap_cleanup(&consumer->committed);
    for (int t = 0; t < PP_TOPIC_COUNT; t++)
        free(consumer->topics[t]);
    pthread_mutex_destroy(&consumer->lock);
    free(consumer);
}
