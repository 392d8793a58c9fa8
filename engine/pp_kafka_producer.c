/*
 * pp_kafka_producer: the producer and its delivery trackers (see
 * pp_kafka.h, docs/kafka.md).
 *
 * Delivery reports arrive through librdkafka's queue and are served by
 * whichever thread calls rd_kafka_poll/rd_kafka_flush: the producing
 * thread (emulate, replay) or a poller thread (the REST proxy, whose HTTP
 * threads produce at the same time). So the counters and the topic cache
 * sit under one mutex, held only for a few loads and stores, never across
 * a librdkafka call that can block.
 *
 * Topic handles are cached: rd_kafka_producev with a topic name would look
 * the handle up under librdkafka's lock on every message. Cached handles
 * live until the producer is destroyed, so a handle found under the mutex
 * stays valid after it is released; past the cache's size a handle is made
 * for one call and dropped after it.
 *
 * A tracked message carries a pointer to its tracker slot as librdkafka's
 * per-message opaque; the delivery report fills the slot and wakes the
 * tracker's waiter. A tracker is reference-counted (its owner plus each
 * message not yet reported), so a waiter that gives up on a timeout can
 * free its side while late reports still land safely.
 */
#include "pp_kafka.h"

#include <assert.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pp_clock.h"
#include "pp_kafka_int.h"

#define KAFKA_PRODUCER_TOPICS_MAX 16
/* How long pp_kafka_produce waits for deliveries when the queue is full. */
#define KAFKA_QUEUE_FULL_WAIT_MS 50

struct pp_kafka_producer {
    rd_kafka_t *rk;
    pthread_mutex_t lock; /* guards rkt, n_topics and stats */
    rd_kafka_topic_t *rkt[KAFKA_PRODUCER_TOPICS_MAX];
    size_t n_topics;
    struct pp_kafka_producer_stats stats;
};

struct kafka_slot {
    struct pp_kafka_tracker *tracker;
    struct pp_kafka_delivery delivery;
};

struct pp_kafka_tracker {
    pthread_mutex_t lock;
    pthread_cond_t cond; /* signalled when the last queued message is reported */
    size_t n;            /* slots */
    size_t queued;       /* messages queued through this tracker */
    size_t reported;     /* of them, delivery reports received */
    size_t refs;         /* the owner (until destroy) + queued - reported */
    struct kafka_slot slots[];
};

static void kafka_producer_error_cb(rd_kafka_t *rk, int rerr, const char *reason, void *opaque)
{
    (void)rk;
    (void)opaque;
    pp_kafka_log_error(rerr, reason);
}

/* Drops one reference; the last one frees the tracker. Takes and
 * releases tracker->lock. */
static void kafka_tracker_unref(struct pp_kafka_tracker *tracker)
{
    bool is_last;

    pthread_mutex_lock(&tracker->lock);
    is_last = --tracker->refs == 0;
    pthread_mutex_unlock(&tracker->lock);
    if (!is_last)
        return;
    pthread_cond_destroy(&tracker->cond);
    pthread_mutex_destroy(&tracker->lock);
    free(tracker);
}

/* Fills a tracked message's slot from its delivery report. */
static void kafka_tracker_report(struct kafka_slot *slot, const rd_kafka_message_t *m)
{
    struct pp_kafka_tracker *tracker = slot->tracker;
    struct pp_kafka_delivery *d = &slot->delivery;

    pthread_mutex_lock(&tracker->lock);
    d->partition = m->partition;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        d->err = PP_OK;
        d->offset = m->offset;
        d->error = NULL;
    } else {
        d->err = pp_kafka_err_from_rd(m->err);
        if (d->err == PP_OK)
            d->err = PP_ERR_INTERNAL;
        d->offset = -1;
        d->error = rd_kafka_err2str(m->err);
    }
    if (++tracker->reported == tracker->queued)
        pthread_cond_broadcast(&tracker->cond);
    pthread_mutex_unlock(&tracker->lock);
    kafka_tracker_unref(tracker);
}

static void kafka_producer_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    struct pp_kafka_producer *producer = opaque;

    (void)rk;
    pthread_mutex_lock(&producer->lock);
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        producer->stats.delivered++;
    } else if (producer->stats.failed++ == 0) {
        producer->stats.first_error = pp_kafka_err_from_rd(m->err);
        if (producer->stats.first_error == PP_OK)
            producer->stats.first_error = PP_ERR_INTERNAL;
        snprintf(producer->stats.first_error_msg, sizeof producer->stats.first_error_msg,
                 "%s [%" PRId32 "]: %s", rd_kafka_topic_name(m->rkt), m->partition,
                 rd_kafka_err2str(m->err));
    }
    pthread_mutex_unlock(&producer->lock);
    if (m->_private != NULL)
        kafka_tracker_report(m->_private, m);
}

enum pp_err pp_kafka_producer_new(const char *bootstrap, const char *const *properties, char *msg,
                                  size_t msg_len, struct pp_kafka_producer **out)
{
    /* Why each value: docs/kafka.md. */
    static const char *const defaults[][2] = {
        {"enable.idempotence", "true"},
        {"linger.ms", "5"},
        {"batch.num.messages", "10000"},
        {"batch.size", "1000000"},
        {"compression.codec", "lz4"},
        {"queue.buffering.max.messages", "200000"},
        {"queue.buffering.max.kbytes", "262144"},
        {"partitioner", "murmur2_random"},
        {"message.timeout.ms", "30000"},
        {"socket.connection.setup.timeout.ms", "10000"},
    };
    struct pp_kafka_producer *producer;
    rd_kafka_conf_t *conf = NULL;
    enum pp_err err;

    *out = NULL;
    msg[0] = '\0';
    if (bootstrap == NULL || bootstrap[0] == '\0') {
        snprintf(msg, msg_len, "no bootstrap servers given");
        return PP_ERR_USAGE;
    }
    producer = calloc(1, sizeof *producer);
    if (producer == NULL)
        return PP_ERR_NOMEM;
    pthread_mutex_init(&producer->lock, NULL);
    conf = rd_kafka_conf_new();
    if (conf == NULL) {
        err = PP_ERR_NOMEM;
        goto fail;
    }
    if ((err = pp_kafka_conf_set(conf, "bootstrap.servers", bootstrap, msg, msg_len)))
        goto fail;
    for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++)
        if ((err = pp_kafka_conf_set(conf, defaults[i][0], defaults[i][1], msg, msg_len)))
            goto fail;
    for (size_t i = 0; properties != NULL && properties[i] != NULL; i++) {
        const char *eq = strchr(properties[i], '=');
        char key[256];

        if (eq == NULL || eq == properties[i] || (size_t)(eq - properties[i]) >= sizeof key) {
            snprintf(msg, msg_len, "kafka property '%s' is not key=value", properties[i]);
            err = PP_ERR_USAGE;
            goto fail;
        }
        memcpy(key, properties[i], (size_t)(eq - properties[i]));
        key[eq - properties[i]] = '\0';
        if ((err = pp_kafka_conf_set(conf, key, eq + 1, msg, msg_len)))
            goto fail;
    }
    rd_kafka_conf_set_log_cb(conf, pp_kafka_client_log_cb);
    rd_kafka_conf_set_error_cb(conf, kafka_producer_error_cb);
    rd_kafka_conf_set_dr_msg_cb(conf, kafka_producer_dr_cb);
    rd_kafka_conf_set_opaque(conf, producer);
    if ((err = pp_kafka_handle_new(RD_KAFKA_PRODUCER, &conf, &producer->rk, msg, msg_len)))
        goto fail;
    *out = producer;
    return PP_OK;
fail:
    if (conf != NULL)
        rd_kafka_conf_destroy(conf);
    pp_kafka_producer_destroy(producer);
    return err;
}

/* The handle of topic: the cached one, created and cached on first use.
 * When the cache is full, a handle of its own that the caller drops with
 * rd_kafka_topic_destroy (*is_temporary is then true). NULL when creation
 * failed (rd_kafka_last_error says why). Any thread. */
static rd_kafka_topic_t *kafka_producer_topic(struct pp_kafka_producer *producer, const char *topic,
                                              bool *is_temporary)
{
    rd_kafka_topic_t *rkt = NULL;

    *is_temporary = false;
    pthread_mutex_lock(&producer->lock);
    for (size_t i = 0; i < producer->n_topics; i++) {
        if (strcmp(rd_kafka_topic_name(producer->rkt[i]), topic) == 0) {
            rkt = producer->rkt[i];
            break;
        }
    }
    if (rkt == NULL && producer->n_topics < KAFKA_PRODUCER_TOPICS_MAX) {
        /* rd_kafka_topic_new does not block (metadata is fetched later). */
        rkt = rd_kafka_topic_new(producer->rk, topic, NULL);
        if (rkt != NULL)
            producer->rkt[producer->n_topics++] = rkt;
    } else if (rkt == NULL) {
        /* More than 16 topics: a handle for this call only (librdkafka
         * keeps its own reference while messages are queued). */
        rkt = rd_kafka_topic_new(producer->rk, topic, NULL);
        *is_temporary = rkt != NULL;
    }
    pthread_mutex_unlock(&producer->lock);
    return rkt;
}

/* pp_kafka_produce and pp_kafka_produce_tracked: opaque is the tracker
 * slot or NULL. */
static enum pp_err kafka_produce(struct pp_kafka_producer *producer, const char *topic,
                                 int32_t partition, const void *key, size_t key_len,
                                 const void *value, size_t value_len, void *opaque)
{
    bool is_temporary;
    rd_kafka_topic_t *rkt = kafka_producer_topic(producer, topic, &is_temporary);
    rd_kafka_resp_err_t rerr;
    enum pp_err err = PP_AGAIN;

    if (rkt == NULL)
        return pp_kafka_err_from_rd(rd_kafka_last_error());
    rd_kafka_poll(producer->rk, 0);
    for (int attempt = 0; attempt < 2; attempt++) {
        if (rd_kafka_produce(rkt, partition, RD_KAFKA_MSG_F_COPY, (void *)(uintptr_t)value,
                             value_len, key, key_len, opaque) == 0) {
            pthread_mutex_lock(&producer->lock);
            producer->stats.produced++;
            pthread_mutex_unlock(&producer->lock);
            err = PP_OK;
            break;
        }
        rerr = rd_kafka_last_error();
        if (rerr != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            err = pp_kafka_err_from_rd(rerr);
            if (err == PP_OK)
                err = PP_ERR_INTERNAL;
            break;
        }
        /* Full: serve deliveries, which frees queue space, then retry. */
        rd_kafka_poll(producer->rk, KAFKA_QUEUE_FULL_WAIT_MS);
    }
    if (is_temporary)
        rd_kafka_topic_destroy(rkt);
    return err;
}

enum pp_err pp_kafka_produce(struct pp_kafka_producer *producer, const char *topic,
                             int32_t partition, const void *key, size_t key_len, const void *value,
                             size_t value_len)
{
    return kafka_produce(producer, topic, partition, key, key_len, value, value_len, NULL);
}

enum pp_err pp_kafka_produce_retry(struct pp_kafka_producer *producer, const char *topic,
                                   int32_t partition, const void *key, size_t key_len,
                                   const void *value, size_t value_len)
{
    struct pp_kafka_producer_stats st;
    enum pp_err err;

    for (;;) {
        err = pp_kafka_produce(producer, topic, partition, key, key_len, value, value_len);
        if (err != PP_AGAIN)
            return err;
        pp_kafka_producer_get_stats(producer, &st);
        if (st.failed > 0)
            return st.first_error;
    }
}

enum pp_err pp_kafka_tracker_new(size_t n, struct pp_kafka_tracker **out)
{
    struct pp_kafka_tracker *tracker;
    pthread_condattr_t attr;

    *out = NULL;
    if (n > (SIZE_MAX - sizeof *tracker) / sizeof tracker->slots[0])
        return PP_ERR_NOMEM;
    tracker = malloc(sizeof *tracker + n * sizeof tracker->slots[0]);
    if (tracker == NULL)
        return PP_ERR_NOMEM;
    pthread_mutex_init(&tracker->lock, NULL);
    /* The wait's deadline is on the monotonic clock: a wall-clock step
     * must not stretch or cut it. */
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&tracker->cond, &attr);
    pthread_condattr_destroy(&attr);
    tracker->n = n;
    tracker->queued = 0;
    tracker->reported = 0;
    tracker->refs = 1;
    for (size_t i = 0; i < n; i++) {
        tracker->slots[i].tracker = tracker;
        tracker->slots[i].delivery.err = PP_AGAIN;
        tracker->slots[i].delivery.partition = -1;
        tracker->slots[i].delivery.offset = -1;
        tracker->slots[i].delivery.error = NULL;
    }
    *out = tracker;
    return PP_OK;
}

enum pp_err pp_kafka_produce_tracked(struct pp_kafka_producer *producer, const char *topic,
                                     int32_t partition, const void *key, size_t key_len,
                                     const void *value, size_t value_len,
                                     struct pp_kafka_tracker *tracker, size_t slot)
{
    enum pp_err err;

    assert(slot < tracker->n);
    assert(tracker->slots[slot].delivery.err == PP_AGAIN);
    /* Counted before the message can be reported, undone if it was not
     * queued. */
    pthread_mutex_lock(&tracker->lock);
    tracker->queued++;
    tracker->refs++;
    pthread_mutex_unlock(&tracker->lock);
    err = kafka_produce(producer, topic, partition, key, key_len, value, value_len,
                        &tracker->slots[slot]);
    if (err != PP_OK) {
        pthread_mutex_lock(&tracker->lock);
        tracker->queued--;
        tracker->refs--;
        pthread_mutex_unlock(&tracker->lock);
    }
    return err;
}

enum pp_err pp_kafka_tracker_wait(struct pp_kafka_tracker *tracker, int timeout_ms)
{
    struct timespec deadline;
    enum pp_err err = PP_OK;

    pp_clock_deadline(&deadline, timeout_ms);
    pthread_mutex_lock(&tracker->lock);
    while (tracker->reported < tracker->queued) {
        if (pthread_cond_timedwait(&tracker->cond, &tracker->lock, &deadline) != 0 &&
            tracker->reported < tracker->queued) {
            err = PP_ERR_IO;
            break;
        }
    }
    pthread_mutex_unlock(&tracker->lock);
    return err;
}

void pp_kafka_tracker_get(struct pp_kafka_tracker *tracker, size_t slot,
                          struct pp_kafka_delivery *delivery)
{
    assert(slot < tracker->n);
    pthread_mutex_lock(&tracker->lock);
    *delivery = tracker->slots[slot].delivery;
    pthread_mutex_unlock(&tracker->lock);
}

void pp_kafka_tracker_destroy(struct pp_kafka_tracker *tracker)
{
    if (tracker != NULL)
        kafka_tracker_unref(tracker);
}

void pp_kafka_producer_poll(struct pp_kafka_producer *producer, int timeout_ms)
{
    rd_kafka_poll(producer->rk, timeout_ms);
}

enum pp_err pp_kafka_producer_flush(struct pp_kafka_producer *producer, int timeout_ms, char *msg,
                                    size_t msg_len)
{
    rd_kafka_resp_err_t rerr = rd_kafka_flush(producer->rk, timeout_ms);
    struct pp_kafka_producer_stats st;

    pp_kafka_producer_get_stats(producer, &st);
    if (st.failed > 0) {
        if (msg != NULL)
            snprintf(msg, msg_len, "%" PRIu64 " of %" PRIu64 " messages not delivered; first: %s",
                     st.failed, st.produced, st.first_error_msg);
        return st.first_error;
    }
    if (rerr != RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (msg != NULL)
            snprintf(msg, msg_len, "%d messages still undelivered after %d ms",
                     rd_kafka_outq_len(producer->rk), timeout_ms);
        return PP_ERR_IO;
    }
    return PP_OK;
}

enum pp_err pp_kafka_producer_partitions(struct pp_kafka_producer *producer, const char *topic,
                                         int timeout_ms, int32_t *count, char *msg, size_t msg_len)
{
    bool is_temporary;
    rd_kafka_topic_t *rkt = kafka_producer_topic(producer, topic, &is_temporary);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t rerr;
    enum pp_err err;

    *count = 0;
    msg[0] = '\0';
    if (rkt == NULL) {
        snprintf(msg, msg_len, "topic %s: %s", topic, rd_kafka_err2str(rd_kafka_last_error()));
        return pp_kafka_err_from_rd(rd_kafka_last_error());
    }
    rerr = rd_kafka_metadata(producer->rk, 0, rkt, &md, timeout_ms);
    if (is_temporary)
        rd_kafka_topic_destroy(rkt);
    if (rerr != RD_KAFKA_RESP_ERR_NO_ERROR) {
        err = pp_kafka_err_from_rd(rerr);
        if (err == PP_ERR_IO)
            snprintf(msg, msg_len, "no broker answered a metadata request for %s within %d ms (%s)",
                     topic, timeout_ms, rd_kafka_err2str(rerr));
        else
            snprintf(msg, msg_len, "metadata of %s: %s", topic, rd_kafka_err2str(rerr));
        return err == PP_OK ? PP_ERR_INTERNAL : err;
    }
    err = PP_ERR_NOTFOUND;
    snprintf(msg, msg_len, "topic %s: not in the broker's metadata", topic);
    for (int i = 0; i < md->topic_cnt; i++) {
        if (strcmp(md->topics[i].topic, topic) != 0)
            continue;
        if (md->topics[i].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            snprintf(msg, msg_len, "topic %s: %s", topic, rd_kafka_err2str(md->topics[i].err));
            err = pp_kafka_err_from_rd(md->topics[i].err);
            if (err == PP_OK)
                err = PP_ERR_INTERNAL;
            break;
        }
        *count = md->topics[i].partition_cnt;
        msg[0] = '\0';
        err = PP_OK;
        break;
    }
    rd_kafka_metadata_destroy(md);
    return err;
}

void pp_kafka_producer_get_stats(struct pp_kafka_producer *producer,
                                 struct pp_kafka_producer_stats *stats)
{
    pthread_mutex_lock(&producer->lock);
    *stats = producer->stats;
    pthread_mutex_unlock(&producer->lock);
}

void pp_kafka_producer_destroy(struct pp_kafka_producer *producer)
{
    if (producer == NULL)
        return;
    for (size_t i = 0; i < producer->n_topics; i++)
        rd_kafka_topic_destroy(producer->rkt[i]);
    if (producer->rk != NULL) {
        /* Drop what is still queued or in flight, so destroy does not wait
         * for an unreachable broker; their reports are served here. */
        rd_kafka_purge(producer->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_poll(producer->rk, 0);
        rd_kafka_destroy(producer->rk);
    }
    pthread_mutex_destroy(&producer->lock);
    free(producer);
}
