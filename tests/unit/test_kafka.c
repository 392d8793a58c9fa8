/*
 * Unit tests of the pp_kafka consumer against an in-process development
 * broker (librdkafka's mock cluster behind pp_tcpfwd on a free loopback
 * port): records produced with pp_kafka_produce come back through
 * pp_kafka_consumer_fill as single-record spans, exactly once; committed
 * offsets survive a new member of the group; pause/resume; stop; the whole
 * path through pp_pipeline with pp_clean_stage; held and immediate
 * revocations between two members of a group. Every wait is bounded.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "pp_batch.h"
#include "pp_check.h"
#include "pp_clean.h"
#include "pp_kafka.h"
#include "pp_pipeline.h"
#include "pp_topic.h"

#define PARTITIONS 4
#define MAX_GOT 4096
#define VALUE_MAX 4096

struct got {
    const struct pp_kafka_consumer *by; /* the member whose fill delivered it */
    int topic;
    int32_t partition;
    int64_t offset;
    int64_t timestamp_ms;
    bool is_oversized;
    size_t batch_cap; /* the cap of the batch that carried it */
    size_t len;
    char value[VALUE_MAX];
};

static struct got got[MAX_GOT];
static size_t n_got;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct pp_kafka_producer *start_producer(struct pp_kafka_broker *broker)
{
    struct pp_kafka_producer *producer;
    char msg[256];

    ck_assert_msg(pp_kafka_producer_new(pp_kafka_broker_bootstraps(broker), NULL, msg, sizeof msg,
                                        &producer) == PP_OK,
                  "%s", msg);
    return producer;
}

static void produce(struct pp_kafka_producer *producer, const char *topic, int32_t partition,
                    const char *key, const char *value, size_t len)
{
    ck_assert_int_eq(
        pp_kafka_produce(producer, topic, partition, key, key ? strlen(key) : 0, value, len),
        PP_OK);
}

static void produce_str(struct pp_kafka_producer *producer, const char *topic, const char *key,
                        const char *value)
{
    produce(producer, topic, PP_KAFKA_PARTITION_ANY, key, value, strlen(value));
}

static void flush(struct pp_kafka_producer *producer)
{
    char msg[256];
    ck_assert_msg(pp_kafka_producer_flush(producer, 15000, msg, sizeof msg) == PP_OK, "%s", msg);
}

/* Session settings of the first tests. */
static const struct pp_kafka_property session_props[] = {
    {"session.timeout.ms", "6000"},
    {"heartbeat.interval.ms", "500"},
};

/*
 * Short sessions for the rebalance tests: the mock coordinator waits
 * session.timeout.ms - 1000 for members to rejoin after a member joins, and
 * drops a member that has not been heard of for session.timeout.ms; 3 s keeps
 * the tests short and a 1 s hold well within both.
 */
static const struct pp_kafka_property rebalance_props[] = {
    {"session.timeout.ms", "3000"},
    {"heartbeat.interval.ms", "200"},
};

/* A consumer of <prefix>.pin, .geo and .user in `group`; opt carries the
 * rest. */
static struct pp_kafka_consumer *consumer_new(struct pp_kafka_broker *broker, const char *prefix,
                                              const char *group,
                                              struct pp_kafka_consumer_options *opt)
{
    static char names[PP_TOPIC_COUNT][64];
    struct pp_kafka_consumer *consumer;
    char msg[256];

    opt->bootstrap = pp_kafka_broker_bootstraps(broker);
    opt->group_id = group;
    for (int t = 0; t < PP_TOPIC_COUNT; t++) {
        snprintf(names[t], sizeof names[t], "%s.%s", prefix, pp_topic_name((enum pp_topic)t));
        opt->topics[t] = names[t];
    }
    ck_assert_msg(pp_kafka_consumer_new(opt, &consumer, msg, sizeof msg) == PP_OK, "%s", msg);
    return consumer;
}

static struct pp_kafka_consumer *start_consumer(struct pp_kafka_broker *broker, const char *prefix,
                                                const char *group)
{
    struct pp_kafka_consumer_options opt = {
        .properties = session_props,
        .n_properties = sizeof session_props / sizeof session_props[0],
    };

    return consumer_new(broker, prefix, group, &opt);
}

/* A member for the rebalance tests: short sessions, short fills (the test
 * drives two members in turn on its thread). */
static struct pp_kafka_consumer *start_member(struct pp_kafka_broker *broker, const char *prefix,
                                              const char *group, bool is_revoke_held)
{
    struct pp_kafka_consumer_options opt = {
        .properties = rebalance_props,
        .n_properties = sizeof rebalance_props / sizeof rebalance_props[0],
        .poll_timeout_ms = 50,
        .is_revoke_held = is_revoke_held,
    };

    return consumer_new(broker, prefix, group, &opt);
}

/* One fill; appends its records to got. Returns how many it delivered. */
static size_t fill_once(struct pp_kafka_consumer *consumer, struct pp_batch *batch)
{
    pp_batch_reset(batch);
    ck_assert_int_eq(pp_kafka_consumer_fill(consumer, batch), PP_OK);
    for (size_t i = 0; i < batch->n_spans; i++) {
        const struct pp_batch_span *span = &batch->spans[i];
        struct got *g = &got[n_got++];

        ck_assert_uint_lt(n_got, MAX_GOT);
        ck_assert(span->is_single);
        ck_assert_uint_le(span->end - span->begin, VALUE_MAX);
        g->by = consumer;
        g->topic = span->topic;
        g->partition = span->partition;
        g->offset = span->first_offset;
        g->timestamp_ms = span->timestamp_ms;
        g->is_oversized = span->is_oversized;
        g->len = span->end - span->begin;
        memcpy(g->value, batch->data + span->begin, g->len);
        if (span->is_oversized)
            ck_assert_uint_eq(g->len, 0);
        g->batch_cap = batch->cap;
    }
    return batch->n_spans;
}

/* Fills batches until n_got reaches want or seconds pass; appends to got. */
static void drain(struct pp_kafka_consumer *consumer, struct pp_batch *batch, size_t want,
                  double seconds)
{
    double deadline = now_s() + seconds;

    while (n_got < want && now_s() < deadline)
        fill_once(consumer, batch);
}

/* Index in got of the record (topic, value); -1 when absent; fails when
 * it occurs twice. */
static long find_got(int topic, const char *value, size_t len)
{
    long found = -1;

    for (size_t i = 0; i < n_got; i++) {
        if (got[i].topic != topic || got[i].len != len || memcmp(got[i].value, value, len) != 0)
            continue;
        ck_assert_msg(found < 0, "record '%.*s' delivered twice", (int)len, value);
        found = (long)i;
    }
    return found;
}

/* Per (topic, partition): offsets in delivery order are 0, 1, 2, ... */
static void check_offsets_contiguous(int64_t first)
{
    for (int t = 0; t < PP_TOPIC_COUNT; t++)
        for (int32_t p = 0; p < PARTITIONS; p++) {
            int64_t next = first;
            for (size_t i = 0; i < n_got; i++)
                if (got[i].topic == t && got[i].partition == p) {
                    ck_assert_int_ge(got[i].offset, first);
                    if (first == 0)
                        ck_assert_int_eq(got[i].offset, next);
                    else
                        ck_assert_int_ge(got[i].offset, next);
                    next = got[i].offset + 1;
                }
        }
}

#define N_POSTS 50

START_TEST(test_read_all_commit_resume)
{
    struct pp_kafka_broker *broker = pp_check_broker_start(PARTITIONS);
    struct pp_kafka_producer *producer = start_producer(broker);
    struct pp_batch *batch = pp_batch_new(1 << 20);
    struct pp_kafka_consumer *consumer;
    struct pp_kafka_offset offsets[PP_TOPIC_COUNT * PARTITIONS];
    static const char nl_value[] = "{\"index\": 1000,\n \"title\": \"x\"}";
    size_t n_offsets = 0;
    char key[32];
    char value[128];
    int64_t before = wall_ms();
    int64_t after;

    ck_assert_ptr_nonnull(batch);
    for (int i = 0; i < N_POSTS; i++) {
        snprintf(key, sizeof key, "%d", i);
        snprintf(value, sizeof value, "{\"index\": %d, \"title\": \"t\"}", i);
        produce_str(producer, "a.pin", key, value);
        snprintf(value, sizeof value, "{\"ind\": %d, \"country\": \"c\"}", i);
        produce_str(producer, "a.geo", key, value);
        snprintf(value, sizeof value, "{\"ind\": %d, \"user_name\": \"u\"}", i);
        produce_str(producer, "a.user", key, value);
    }
    produce_str(producer, "a.pin", "nl", nl_value);
    produce(producer, "a.pin", PP_KAFKA_PARTITION_ANY, "empty", "", 0);
    produce(producer, "a.pin", PP_KAFKA_PARTITION_ANY, "tomb", NULL, 0);
    flush(producer);
    after = wall_ms();

    consumer = start_consumer(broker, "a", "g1");
    n_got = 0;
    drain(consumer, batch, 3 * N_POSTS + 3, 30);
    ck_assert_uint_eq(n_got, 3 * N_POSTS + 3);
    drain(consumer, batch, SIZE_MAX, 0.5); /* nothing more */
    ck_assert_uint_eq(n_got, 3 * N_POSTS + 3);

    for (int i = 0; i < N_POSTS; i++) {
        snprintf(value, sizeof value, "{\"index\": %d, \"title\": \"t\"}", i);
        ck_assert_int_ge(find_got(PP_TOPIC_PIN, value, strlen(value)), 0);
        snprintf(value, sizeof value, "{\"ind\": %d, \"country\": \"c\"}", i);
        ck_assert_int_ge(find_got(PP_TOPIC_GEO, value, strlen(value)), 0);
        snprintf(value, sizeof value, "{\"ind\": %d, \"user_name\": \"u\"}", i);
        ck_assert_int_ge(find_got(PP_TOPIC_USER, value, strlen(value)), 0);
    }
    ck_assert_int_ge(find_got(PP_TOPIC_PIN, nl_value, strlen(nl_value)), 0);
    size_t n_empty = 0;
    for (size_t i = 0; i < n_got; i++) {
        ck_assert_int_ge(got[i].partition, 0);
        ck_assert_int_lt(got[i].partition, PARTITIONS);
        ck_assert_int_ge(got[i].timestamp_ms, before - 1000);
        ck_assert_int_le(got[i].timestamp_ms, after + 1000);
        ck_assert(!got[i].is_oversized);
        if (got[i].len == 0) {
            ck_assert_int_eq(got[i].topic, PP_TOPIC_PIN);
            n_empty++;
        }
    }
    ck_assert_uint_eq(n_empty, 2); /* the empty value and the tombstone */
    check_offsets_contiguous(0);

    /* Commit everything: next offset to read per (topic, partition). */
    for (int t = 0; t < PP_TOPIC_COUNT; t++)
        for (int32_t p = 0; p < PARTITIONS; p++) {
            int64_t next = -1;
            for (size_t i = 0; i < n_got; i++)
                if (got[i].topic == t && got[i].partition == p && got[i].offset + 1 > next)
                    next = got[i].offset + 1;
            if (next < 0)
                continue;
            offsets[n_offsets++] = (struct pp_kafka_offset){(enum pp_topic)t, p, next};
            int64_t lag = -2;
            ck_assert_int_eq(pp_kafka_consumer_lag(consumer, (enum pp_topic)t, p, &lag), PP_OK);
            ck_assert_int_eq(lag, 0);
        }
    ck_assert_uint_eq(pp_kafka_consumer_assigned(consumer), PP_TOPIC_COUNT * PARTITIONS);
    ck_assert_int_eq(pp_kafka_consumer_commit(consumer, offsets, n_offsets), PP_OK);
    ck_assert_int_eq(pp_kafka_consumer_commit(consumer, NULL, 0), PP_OK);
    pp_kafka_consumer_destroy(consumer);

    /* A new member of the group resumes after the committed offsets. */
    for (int i = 100; i < 110; i++) {
        snprintf(key, sizeof key, "%d", i);
        snprintf(value, sizeof value, "{\"index\": %d, \"title\": \"t\"}", i);
        produce_str(producer, "a.pin", key, value);
    }
    flush(producer);
    consumer = start_consumer(broker, "a", "g1");
    n_got = 0;
    drain(consumer, batch, 10, 30);
    drain(consumer, batch, SIZE_MAX, 1.0);
    ck_assert_uint_eq(n_got, 10);
    for (int i = 100; i < 110; i++) {
        snprintf(value, sizeof value, "{\"index\": %d, \"title\": \"t\"}", i);
        ck_assert_int_ge(find_got(PP_TOPIC_PIN, value, strlen(value)), 0);
    }
    check_offsets_contiguous(1);
    pp_kafka_consumer_stop(consumer);
    ck_assert_int_eq(pp_kafka_consumer_fill(consumer, batch), PP_END);
    ck_assert_int_eq(pp_kafka_consumer_fill(consumer, batch), PP_END);
    pp_kafka_consumer_destroy(consumer);
    pp_kafka_consumer_destroy(NULL);
    pp_batch_destroy(batch);
    pp_kafka_producer_destroy(producer);
    pp_kafka_broker_destroy(broker);
}
END_TEST

/* The lag summed over the three topics' partitions; false when one's is
 * not known yet. */
static bool lag_sum(struct pp_kafka_consumer *consumer, int64_t *sum)
{
    *sum = 0;
    for (int t = 0; t < PP_TOPIC_COUNT; t++)
        for (int32_t p = 0; p < PARTITIONS; p++) {
            int64_t lag;
            if (pp_kafka_consumer_lag(consumer, (enum pp_topic)t, p, &lag) != PP_OK)
                return false;
            *sum += lag;
        }
    return true;
}

/* Waits up to seconds (the fetchers fill the watermarks in the
 * background) for the lag over the assignment to be known and to be left:
 * the records not delivered, or one less when fill holds one over for the
 * next batch (librdkafka counts it read). */
static void expect_lag(struct pp_kafka_consumer *consumer, int64_t left, double seconds)
{
    double deadline = now_s() + seconds;
    int64_t sum = -1;
    bool is_known = false;

    while (now_s() < deadline) {
        if ((is_known = lag_sum(consumer, &sum)) && (sum == left || sum == left - 1))
            return;
        usleep(50 * 1000);
    }
    ck_abort_msg("lag %s %lld, want %lld records left", is_known ? "summed to" : "not known, last",
                 (long long)sum, (long long)left);
}

/* Produces "{"index": i}" keyed by i to l.pin for i in [from, to). */
static void produce_indexes(struct pp_kafka_producer *producer, int from, int to)
{
    char key[32];
    char value[64];

    for (int i = from; i < to; i++) {
        snprintf(key, sizeof key, "%d", i);
        snprintf(value, sizeof value, "{\"index\": %d}", i);
        produce_str(producer, "l.pin", key, value);
    }
    flush(producer);
}

/* A member of group g-lag that has delivered its first record or two. */
static struct pp_kafka_consumer *start_lag_member(struct pp_kafka_broker *broker,
                                                  struct pp_batch *tiny)
{
    struct pp_kafka_consumer *consumer = start_consumer(broker, "l", "g-lag");

    n_got = 0;
    for (double deadline = now_s() + 30; n_got == 0 && now_s() < deadline;)
        fill_once(consumer, tiny);
    ck_assert_uint_gt(n_got, 0);
    return consumer;
}

/* The lag of partitions nothing was delivered from yet counts from where
 * they start: the oldest record in a new group, the committed offset in a
 * group that committed (pp_kafka_consumer_learn_committed()). Before, it
 * was unknown until a first record, and /v1/status left them out. */
START_TEST(test_lag_before_delivery)
{
    struct pp_kafka_broker *broker = pp_check_broker_start(PARTITIONS);
    struct pp_kafka_producer *producer = start_producer(broker);
    struct pp_batch *tiny = pp_batch_new(64); /* a record or two per fill */
    struct pp_batch *batch = pp_batch_new(1 << 20);
    struct pp_kafka_offset offsets[PP_TOPIC_COUNT * PARTITIONS];
    struct pp_kafka_consumer *consumer;
    size_t n_offsets = 0;

    ck_assert_ptr_nonnull(tiny);
    ck_assert_ptr_nonnull(batch);
    produce_indexes(producer, 0, 40);
    consumer = start_lag_member(broker, tiny);
    ck_assert_uint_lt(n_got, 40);
    expect_lag(consumer, 40 - (int64_t)n_got, 10);
    ck_assert_int_eq(pp_kafka_consumer_learn_committed(consumer, 5000), PP_OK); /* none */
    expect_lag(consumer, 40 - (int64_t)n_got, 5);

    drain(consumer, batch, 40, 30);
    ck_assert_uint_eq(n_got, 40);
    for (int32_t p = 0; p < PARTITIONS; p++) {
        int64_t next = -1;
        for (size_t i = 0; i < n_got; i++)
            if (got[i].partition == p && got[i].offset + 1 > next)
                next = got[i].offset + 1;
        if (next >= 0)
            offsets[n_offsets++] = (struct pp_kafka_offset){PP_TOPIC_PIN, p, next};
    }
    ck_assert_int_eq(pp_kafka_consumer_commit(consumer, offsets, n_offsets), PP_OK);
    pp_kafka_consumer_destroy(consumer);

    /* A member that starts from the commits: 10 records left, not 50. */
    produce_indexes(producer, 100, 110);
    consumer = start_lag_member(broker, tiny);
    ck_assert_int_eq(pp_kafka_consumer_learn_committed(consumer, 5000), PP_OK);
    expect_lag(consumer, 10 - (int64_t)n_got, 10);

    pp_kafka_consumer_destroy(consumer);
    pp_batch_destroy(tiny);
    pp_batch_destroy(batch);
    pp_kafka_producer_destroy(producer);
    pp_kafka_broker_destroy(broker);
}
END_TEST

START_TEST(test_pause_resume_oversized)
{
    struct pp_kafka_broker *broker = pp_check_broker_start(PARTITIONS);
    struct pp_kafka_producer *producer = start_producer(broker);
    struct pp_batch *batch = pp_batch_new(1 << 20);
    struct pp_batch *small = pp_batch_new(1024);
    struct pp_kafka_consumer *consumer;
    char big[2000];
    char mid[600];

    ck_assert_ptr_nonnull(batch);
    ck_assert_ptr_nonnull(small);
    produce_str(producer, "b.pin", "x", "{}"); /* creates the topics' partitions */
    produce(producer, "b.pin", 0, "p0", "p0-0", 4);
    produce(producer, "b.pin", 1, "p1", "p1-0", 4);
    flush(producer);
    consumer = start_consumer(broker, "b", "g2");
    n_got = 0;
    drain(consumer, batch, 3, 30);
    ck_assert_uint_eq(n_got, 3);

    ck_assert_int_eq(pp_kafka_consumer_pause(consumer, PP_TOPIC_PIN, 99), PP_ERR_NOTFOUND);
    ck_assert_int_eq(pp_kafka_consumer_pause(consumer, PP_TOPIC_PIN, 0), PP_OK);
    for (int i = 1; i <= 5; i++) {
        produce(producer, "b.pin", 0, "p0", "p0-x", 4);
        produce(producer, "b.pin", 1, "p1", "p1-x", 4);
    }
    flush(producer);
    n_got = 0;
    drain(consumer, batch, 5, 20);
    drain(consumer, batch, SIZE_MAX, 1.0);
    ck_assert_uint_eq(n_got, 5);
    for (size_t i = 0; i < n_got; i++)
        ck_assert_int_eq(got[i].partition, 1);

    ck_assert_int_eq(pp_kafka_consumer_resume(consumer, PP_TOPIC_PIN, 0), PP_OK);
    n_got = 0;
    drain(consumer, batch, 5, 20);
    ck_assert_uint_eq(n_got, 5);
    for (size_t i = 0; i < n_got; i++) {
        ck_assert_int_eq(got[i].partition, 0);
        ck_assert_int_eq(got[i].offset, (int64_t)i + 1);
    }

    /* A value larger than the batch: the batch grows to carry it whole
     * (and shrinks back at the next reset); two that fit one at a time:
     * one per fill, the second held over. */
    memset(big, 'b', sizeof big);
    memset(mid, 'm', sizeof mid);
    produce(producer, "b.pin", 1, "big", big, sizeof big);
    produce(producer, "b.pin", 1, "m1", mid, sizeof mid);
    produce(producer, "b.pin", 1, "m2", mid, sizeof mid);
    flush(producer);
    n_got = 0;
    double deadline = now_s() + 20;
    size_t fills_with_data = 0;
    while (n_got < 3 && now_s() < deadline) {
        size_t before = n_got;
        drain(consumer, small, n_got + 1, 0.01);
        if (n_got > before)
            fills_with_data++;
        ck_assert_uint_le(small->len, small->cap);
    }
    ck_assert_uint_eq(n_got, 3);
    ck_assert(!got[0].is_oversized);
    ck_assert_int_eq(got[0].offset, 6);
    ck_assert_uint_eq(got[0].len, sizeof big);
    ck_assert(memcmp(got[0].value, big, sizeof big) == 0);
    ck_assert_uint_eq(got[0].batch_cap, sizeof big);
    ck_assert_uint_eq(got[1].batch_cap, 1024);
    pp_batch_reset(small);
    ck_assert_uint_eq(small->cap, 1024);
    ck_assert_uint_eq(got[1].len, sizeof mid);
    ck_assert_uint_eq(got[2].len, sizeof mid);
    ck_assert_int_eq(got[2].offset, 8);

    pp_kafka_consumer_destroy(consumer);
    pp_batch_destroy(small);
    pp_batch_destroy(batch);
    pp_kafka_producer_destroy(producer);
    pp_kafka_broker_destroy(broker);
}
END_TEST

START_TEST(test_idle_and_stop)
{
    struct pp_kafka_consumer_options opt = {
        .bootstrap = "127.0.0.1:1",
        .group_id = "g",
        .topics = {"x.pin", "x.geo", "x.user"},
        .poll_timeout_ms = 50,
    };
    struct pp_kafka_consumer *consumer;
    struct pp_batch *batch = pp_batch_new(4096);
    char msg[256];
    double t0;

    ck_assert_int_eq(pp_kafka_consumer_new(&opt, &consumer, msg, sizeof msg), PP_OK);
    t0 = now_s();
    ck_assert_int_eq(pp_kafka_consumer_fill(consumer, batch), PP_OK);
    ck_assert_uint_eq(batch->n_spans, 0);
    ck_assert(now_s() - t0 >= 0.04 && now_s() - t0 < 2.0); /* waited, did not spin */
    int64_t lag;
    ck_assert_int_eq(pp_kafka_consumer_lag(consumer, PP_TOPIC_PIN, 0, &lag), PP_ERR_NOTFOUND);
    ck_assert_int_eq(lag, -1);
    pp_kafka_consumer_stop(consumer);
    ck_assert_int_eq(pp_kafka_consumer_fill(consumer, batch), PP_END);
    t0 = now_s();
    pp_kafka_consumer_destroy(consumer);
    ck_assert(now_s() - t0 < 15.0);
    pp_batch_destroy(batch);
}
END_TEST

/* The pipeline's blocked callback pauses only a stall of pause_after_ms:
 * a shorter one keeps librdkafka's prefetch (a pause throws it away). */
START_TEST(test_blocked_pauses_after)
{
    struct pp_kafka_consumer_options opt = {
        .bootstrap = "127.0.0.1:1",
        .group_id = "g",
        .topics = {"x.pin", "x.geo", "x.user"},
        .pause_after_ms = 1500,
    };
    struct pp_kafka_consumer *consumer;
    char msg[256];
    uint64_t pauses;
    bool is_paused;

    ck_assert_int_eq(pp_kafka_consumer_new(&opt, &consumer, msg, sizeof msg), PP_OK);
    ck_assert_int_eq(pp_kafka_consumer_blocked(consumer, true), PP_OK);
    ck_assert_int_eq(pp_kafka_consumer_blocked(consumer, true), PP_OK);
    pp_kafka_consumer_backpressure(consumer, &is_paused, &pauses);
    ck_assert(!is_paused);
    ck_assert_uint_eq(pauses, 0);

    usleep(1600 * 1000);
    ck_assert_int_eq(pp_kafka_consumer_blocked(consumer, true), PP_OK);
    pp_kafka_consumer_backpressure(consumer, &is_paused, &pauses);
    ck_assert(is_paused);
    ck_assert_uint_eq(pauses, 1);

    /* Caught up: resumed, and the next stall is timed from its start. */
    ck_assert_int_eq(pp_kafka_consumer_blocked(consumer, false), PP_OK);
    pp_kafka_consumer_backpressure(consumer, &is_paused, &pauses);
    ck_assert(!is_paused);
    ck_assert_int_eq(pp_kafka_consumer_blocked(consumer, true), PP_OK);
    pp_kafka_consumer_backpressure(consumer, &is_paused, &pauses);
    ck_assert(!is_paused);
    ck_assert_uint_eq(pauses, 1);
    pp_kafka_consumer_stop(consumer);
    pp_kafka_consumer_destroy(consumer);
}
END_TEST

START_TEST(test_options_rejected)
{
    static const struct pp_kafka_property auto_commit[] = {{"enable.auto.commit", "true"}};
    static const struct pp_kafka_property sticky[] = {
        {"partition.assignment.strategy", "cooperative-sticky"}};
    static const struct pp_kafka_property bad[] = {{"no.such.property", "1"}};
    static const struct pp_kafka_property ok[] = {{"group.id", "from-props"},
                                                  {"auto.offset.reset", "latest"}};
    struct pp_kafka_consumer_options opt = {
        .bootstrap = "127.0.0.1:1",
        .topics = {"x.pin", NULL, NULL},
    };
    struct pp_kafka_consumer *consumer = (struct pp_kafka_consumer *)&opt;
    char msg[256];

    ck_assert_int_eq(pp_kafka_consumer_new(&opt, &consumer, msg, sizeof msg), PP_ERR_USAGE);
    ck_assert_ptr_null(consumer);
    ck_assert_ptr_nonnull(strstr(msg, "group.id"));
    opt.group_id = "g";
    opt.properties = auto_commit;
    opt.n_properties = 1;
    ck_assert_int_eq(pp_kafka_consumer_new(&opt, &consumer, msg, sizeof msg), PP_ERR_USAGE);
    ck_assert_ptr_nonnull(strstr(msg, "enable.auto.commit"));
    opt.properties = sticky;
    ck_assert_int_eq(pp_kafka_consumer_new(&opt, &consumer, msg, sizeof msg), PP_ERR_USAGE);
    opt.properties = bad;
    ck_assert_int_eq(pp_kafka_consumer_new(&opt, &consumer, msg, sizeof msg), PP_ERR_USAGE);
    ck_assert_ptr_nonnull(strstr(msg, "no.such.property"));
    opt.properties = NULL;
    opt.n_properties = 0;
    opt.topics[0] = NULL;
    ck_assert_int_eq(pp_kafka_consumer_new(&opt, &consumer, msg, sizeof msg), PP_ERR_USAGE);
    opt.topics[0] = "x.pin";
    opt.group_id = NULL;
    opt.properties = ok;
    opt.n_properties = 2;
    ck_assert_int_eq(pp_kafka_consumer_new(&opt, &consumer, msg, sizeof msg), PP_OK);
    pp_kafka_consumer_destroy(consumer);
}
END_TEST

START_TEST(test_pipeline_clean)
{
    struct pp_kafka_broker *broker = pp_check_broker_start(PARTITIONS);
    struct pp_kafka_producer *producer = start_producer(broker);
    struct pp_kafka_consumer *consumer;
    struct pp_clean_options clean_options = {.max_record_bytes = PP_CLEAN_DEFAULT_MAX_RECORD_BYTES};
    struct pp_pipeline_config config = {
        .workers = 2,
        .batches_per_worker = 2,
        .batch_bytes = 64 * 1024,
        .fill = pp_kafka_consumer_fill,
        .stage = &pp_clean_stage,
        .stage_arg = &clean_options,
    };
    struct pp_pipeline *pipeline;
    struct pp_batch *batch;
    bool seen[PP_TOPIC_COUNT][20] = {{false}};
    size_t rejects[PP_TOPIC_COUNT][PP_REJECT_COUNT] = {{0}};
    size_t n_items = 0;
    char key[32];
    char value[128];
    enum pp_err err;

    for (int i = 0; i < 20; i++) {
        snprintf(key, sizeof key, "%d", i);
        snprintf(value, sizeof value, "{\"index\": %d, \"category\": \"art\"}", i);
        produce_str(producer, "c.pin", key, value);
        snprintf(value, sizeof value, "{\"ind\": \"%d\", \"country\": \"Chad\"}", i);
        produce_str(producer, "c.geo", key, value);
        snprintf(value, sizeof value, "{\"ind\": %d,\n\"user_name\": \"u\"}", i);
        produce_str(producer, "c.user", key, value);
    }
    produce_str(producer, "c.pin", "bad", "{\"index\": \"x\"}");
    produce_str(producer, "c.geo", "missing", "{\"country\": \"Chad\"}");
    produce(producer, "c.user", PP_KAFKA_PARTITION_ANY, "tomb", NULL, 0);
    flush(producer);

    consumer = start_consumer(broker, "c", "g3");
    config.source = consumer;
    ck_assert_int_eq(pp_pipeline_start(&config, &pipeline), PP_OK);
    double deadline = now_s() + 30;
    while (n_items < 63 && now_s() < deadline) {
        ck_assert_int_eq(pp_pipeline_next(pipeline, &batch), PP_OK);
        const struct pp_clean_item *items = pp_clean_items(batch);
        for (size_t i = 0; i < batch->n_out; i++) {
            const struct pp_clean_item *item = &items[i];
            ck_assert_int_lt(item->topic, PP_TOPIC_COUNT);
            ck_assert_int_ge(item->offset, 0);
            ck_assert_int_ne(item->timestamp_ms, PP_BATCH_NO_TIMESTAMP);
            rejects[item->topic][item->reject]++;
            if (item->reject == PP_REJECT_NONE) {
                ck_assert_int_eq(item->rec.topic, item->topic);
                ck_assert_int_ge(item->rec.ind, 0);
                ck_assert_int_lt(item->rec.ind, 20);
                ck_assert(!seen[item->topic][item->rec.ind]);
                seen[item->topic][item->rec.ind] = true;
            }
            n_items++;
        }
        pp_pipeline_release(pipeline, batch);
    }
    ck_assert_uint_eq(n_items, 63);
    for (int t = 0; t < PP_TOPIC_COUNT; t++) {
        ck_assert_uint_eq(rejects[t][PP_REJECT_NONE], 20);
        for (int i = 0; i < 20; i++)
            ck_assert(seen[t][i]);
    }
    ck_assert_uint_eq(rejects[PP_TOPIC_PIN][PP_REJECT_BAD_KEY], 1);
    ck_assert_uint_eq(rejects[PP_TOPIC_GEO][PP_REJECT_MISSING_KEY], 1);
    ck_assert_uint_eq(rejects[PP_TOPIC_USER][PP_REJECT_INVALID_JSON], 1);

    /* Stop: the source ends, the pipeline drains (empty ticks) and ends. */
    pp_kafka_consumer_stop(consumer);
    deadline = now_s() + 10;
    while ((err = pp_pipeline_next(pipeline, &batch)) == PP_OK && now_s() < deadline) {
        ck_assert_uint_eq(batch->n_out, 0);
        pp_pipeline_release(pipeline, batch);
    }
    ck_assert_int_eq(err, PP_END);
    ck_assert_int_eq(pp_pipeline_stop(pipeline), PP_OK);
    pp_kafka_consumer_destroy(consumer);
    pp_kafka_producer_destroy(producer);
    pp_kafka_broker_destroy(broker);
}
END_TEST

/*
 * Held revocations (docs/kafka.md). Each test: member a of a group joins
 * alone, gets every partition of the three topics and reads and commits
 * round 0 (one record per topic and partition); then member b joins.
 */
#define N_PARTS (PP_TOPIC_COUNT * PARTITIONS) /* topic-partitions */
#define REVOKE_HOLD_S 1.0

static void round_value(char *out, size_t cap, int round, int topic, int32_t partition)
{
    snprintf(out, cap, "{\"round\": %d, \"topic\": %d, \"partition\": %d}", round, topic,
             (int)partition);
}

/* One record per topic and partition, at the next offset of each. */
static void produce_round(struct pp_kafka_producer *producer, const char *prefix, int round)
{
    char topic[64];
    char value[128];

    for (int t = 0; t < PP_TOPIC_COUNT; t++)
        for (int32_t p = 0; p < PARTITIONS; p++) {
            snprintf(topic, sizeof topic, "%s.%s", prefix, pp_topic_name((enum pp_topic)t));
            round_value(value, sizeof value, round, t, p);
            produce(producer, topic, p, NULL, value, strlen(value));
        }
    flush(producer);
}

/*
 * Every record of round is in got, at offset, delivered by the member whose
 * partitions (owner[p]) hold it: exactly once, or with is_exact false at
 * least once by that member (a member that had the partition in a round of
 * the rebalance between read it too, and nothing of it was committed).
 */
static void check_round(int round, int64_t offset,
                        struct pp_kafka_consumer *const owner[PARTITIONS], bool is_exact)
{
    char value[128];

    for (int t = 0; t < PP_TOPIC_COUNT; t++)
        for (int32_t p = 0; p < PARTITIONS; p++) {
            size_t n = 0;
            size_t n_by_owner = 0;

            round_value(value, sizeof value, round, t, p);
            for (size_t i = 0; i < n_got; i++) {
                if (got[i].topic != t || got[i].len != strlen(value) ||
                    memcmp(got[i].value, value, got[i].len) != 0)
                    continue;
                ck_assert_int_eq(got[i].partition, p);
                ck_assert_int_eq(got[i].offset, offset);
                n++;
                n_by_owner += got[i].by == owner[p];
            }
            ck_assert_msg(n_by_owner >= 1, "record %s not delivered by the partition's owner",
                          value);
            if (is_exact)
                ck_assert_msg(n == 1, "record %s delivered %zu times", value, n);
        }
}

/* The partition numbers assigned to consumer into out, checked ascending
 * and distinct; returns how many. */
static size_t partitions_of(struct pp_kafka_consumer *consumer, int32_t out[PARTITIONS])
{
    int32_t all[PARTITIONS + 1];
    size_t n = pp_kafka_consumer_partitions(consumer, all, PARTITIONS + 1);

    ck_assert_uint_le(n, PARTITIONS);
    for (size_t i = 0; i < n; i++) {
        ck_assert_int_ge(all[i], 0);
        ck_assert_int_lt(all[i], PARTITIONS);
        if (i > 0)
            ck_assert_int_lt(all[i - 1], all[i]);
        out[i] = all[i];
    }
    return n;
}

/* Member a: alone in the group, every partition, round 0 read and
 * committed. Empties got first. */
static struct pp_kafka_consumer *start_first(struct pp_kafka_broker *broker,
                                             struct pp_kafka_producer *producer, const char *prefix,
                                             const char *group, bool is_revoke_held,
                                             struct pp_batch *batch)
{
    struct pp_kafka_offset offsets[N_PARTS];
    struct pp_kafka_consumer *owner[PARTITIONS];
    struct pp_kafka_consumer *a;
    int32_t parts[PARTITIONS];
    int32_t two[2];
    double deadline = now_s() + 15;

    produce_round(producer, prefix, 0);
    a = start_member(broker, prefix, group, is_revoke_held);
    n_got = 0;
    while ((n_got < N_PARTS || pp_kafka_consumer_assignments(a) == 0) && now_s() < deadline)
        fill_once(a, batch);
    ck_assert_uint_eq(n_got, N_PARTS);
    ck_assert_uint_eq(pp_kafka_consumer_assignments(a), 1);
    ck_assert(!pp_kafka_consumer_is_revoking(a));
    ck_assert_uint_eq(pp_kafka_consumer_assigned(a), N_PARTS);
    /* The three topics' partitions 0..3, each number once. */
    ck_assert_uint_eq(partitions_of(a, parts), PARTITIONS);
    for (int32_t p = 0; p < PARTITIONS; p++) {
        ck_assert_int_eq(parts[p], p);
        owner[p] = a;
    }
    /* A short out: the count still, and the lowest numbers. */
    ck_assert_uint_eq(pp_kafka_consumer_partitions(a, two, 2), PARTITIONS);
    ck_assert_int_eq(two[0], 0);
    ck_assert_int_eq(two[1], 1);
    check_round(0, 0, owner, true);
    for (int t = 0; t < PP_TOPIC_COUNT; t++)
        for (int32_t p = 0; p < PARTITIONS; p++)
            offsets[t * PARTITIONS + p] = (struct pp_kafka_offset){(enum pp_topic)t, p, 1};
    ck_assert_int_eq(pp_kafka_consumer_commit(a, offsets, N_PARTS), PP_OK);
    return a;
}

/*
 * One fill of a member with is_revoke_held: nothing while a revocation is
 * held; otherwise records of partitions assigned to it only (its assignment
 * changes between fills: held until an unassign, then a new one).
 */
static size_t fill_held(struct pp_kafka_consumer *consumer, struct pp_batch *batch)
{
    bool is_revoking = pp_kafka_consumer_is_revoking(consumer);
    size_t before = n_got;
    size_t n = fill_once(consumer, batch);

    if (is_revoking)
        ck_assert_uint_eq(n, 0);
    for (size_t i = before; i < n_got; i++)
        ck_assert_msg(
            pp_kafka_consumer_is_assigned(consumer, (enum pp_topic)got[i].topic, got[i].partition),
            "record of %d[%d] delivered by a member not assigned it", got[i].topic,
            (int)got[i].partition);
    return n;
}

/* Fills a and b in turn until a holds a revocation (b's join) or seconds
 * pass: b gets no assignment meanwhile, and nothing is delivered. */
static void wait_revoking(struct pp_kafka_consumer *a, struct pp_kafka_consumer *b,
                          struct pp_batch *batch, double seconds)
{
    double deadline = now_s() + seconds;
    size_t before = n_got;

    while (!pp_kafka_consumer_is_revoking(a) && now_s() < deadline) {
        fill_held(a, batch);
        fill_held(b, batch);
        ck_assert_uint_eq(pp_kafka_consumer_assignments(b), 0);
    }
    ck_assert_msg(pp_kafka_consumer_is_revoking(a), "no revocation held within %.0f s", seconds);
    ck_assert_uint_eq(n_got, before);
}

/*
 * Fills a and b in turn until each has partitions of its own, together all
 * of them, and neither holds a revocation; or seconds pass. Under load the
 * mock coordinator may take the group through more rounds (a follower's
 * SyncGroup arriving after the leader's is refused, and it rejoins): with
 * is_held a revocation held meanwhile is let go at once, as the owner of
 * the partitions' state would; without, none may be held ever. Returns
 * whether a was seen without partitions before its second assignment, i.e.
 * gave them up with no unassign call.
 */
static bool wait_split(struct pp_kafka_consumer *a, struct pp_kafka_consumer *b, bool is_held,
                       struct pp_batch *batch, double seconds)
{
    double deadline = now_s() + seconds;
    bool is_seen_empty = false;

    for (;;) {
        size_t na = pp_kafka_consumer_assigned(a);
        size_t nb = pp_kafka_consumer_assigned(b);

        if (!pp_kafka_consumer_is_revoking(a) && !pp_kafka_consumer_is_revoking(b) && na > 0 &&
            nb > 0 && na + nb == N_PARTS)
            break;
        ck_assert_msg(now_s() < deadline, "no split within %.0f s (a %zu, b %zu partitions)",
                      seconds, na, nb);
        if (is_held) {
            fill_held(a, batch);
            fill_held(b, batch);
            pp_kafka_consumer_unassign(a);
            pp_kafka_consumer_unassign(b);
            continue;
        }
        fill_once(a, batch);
        fill_once(b, batch);
        ck_assert(!pp_kafka_consumer_is_revoking(a));
        ck_assert(!pp_kafka_consumer_is_revoking(b));
        if (pp_kafka_consumer_assignments(a) == 1 && pp_kafka_consumer_assigned(a) == 0)
            is_seen_empty = true;
    }
    ck_assert_uint_ge(pp_kafka_consumer_assignments(a), 2);
    ck_assert_uint_ge(pp_kafka_consumer_assignments(b), 1);
    return is_seen_empty;
}

/* a and b share the partitions: each some, none both, all between them;
 * owner[p] is the one holding partition p. */
static void check_split(struct pp_kafka_consumer *a, struct pp_kafka_consumer *b,
                        struct pp_kafka_consumer *owner[PARTITIONS])
{
    int32_t pa[PARTITIONS];
    int32_t pb[PARTITIONS];
    size_t na = partitions_of(a, pa);
    size_t nb = partitions_of(b, pb);

    ck_assert_uint_gt(na, 0);
    ck_assert_uint_gt(nb, 0);
    ck_assert_uint_eq(na + nb, PARTITIONS);
    for (int32_t p = 0; p < PARTITIONS; p++)
        owner[p] = NULL;
    for (size_t i = 0; i < na; i++)
        owner[pa[i]] = a;
    for (size_t i = 0; i < nb; i++) {
        ck_assert_msg(owner[pb[i]] == NULL, "partition %d assigned to both members", (int)pb[i]);
        owner[pb[i]] = b;
    }
    ck_assert_uint_eq(pp_kafka_consumer_assigned(a), PP_TOPIC_COUNT * na);
    ck_assert_uint_eq(pp_kafka_consumer_assigned(b), PP_TOPIC_COUNT * nb);
}

/* A group of two members: a, alone first (start_first), then b. */
struct pair {
    struct pp_kafka_broker *broker;
    struct pp_kafka_producer *producer;
    struct pp_batch *batch;
    struct pp_kafka_consumer *a;
    struct pp_kafka_consumer *b;
};

static void pair_start(struct pair *pair, const char *prefix, const char *group,
                       bool is_revoke_held)
{
    pair->broker = pp_check_broker_start(PARTITIONS);
    pair->producer = start_producer(pair->broker);
    pair->batch = pp_batch_new(1 << 20);
    ck_assert_ptr_nonnull(pair->batch);
    pair->a = start_first(pair->broker, pair->producer, prefix, group, is_revoke_held, pair->batch);
    pair->b = start_member(pair->broker, prefix, group, is_revoke_held);
}

static void pair_stop(struct pair *pair)
{
    pp_kafka_consumer_destroy(pair->a);
    pp_kafka_consumer_destroy(pair->b);
    pp_batch_destroy(pair->batch);
    pp_kafka_producer_destroy(pair->producer);
    pp_kafka_broker_destroy(pair->broker);
}

START_TEST(test_revoke_held)
{
    struct pair pair;
    struct pp_kafka_consumer *owner[PARTITIONS];
    struct pp_kafka_consumer *owner_a[PARTITIONS];
    int32_t parts[PARTITIONS];
    size_t fills = 0;
    bool is_one_round;
    double deadline;

    pair_start(&pair, "h", "gh", true);
    for (int32_t p = 0; p < PARTITIONS; p++)
        owner_a[p] = pair.a;
    wait_revoking(pair.a, pair.b, pair.batch, 10);

    /* Held: a keeps its assignment but delivers nothing, although round 1
     * is there to fetch for partitions librdkafka still has assigned; b
     * gets nothing until a lets go. */
    produce_round(pair.producer, "h", 1);
    deadline = now_s() + REVOKE_HOLD_S;
    while (now_s() < deadline) {
        ck_assert_uint_eq(fill_held(pair.a, pair.batch), 0);
        ck_assert(pp_kafka_consumer_is_revoking(pair.a));
        ck_assert_uint_eq(pp_kafka_consumer_assignments(pair.a), 1);
        ck_assert_uint_eq(pp_kafka_consumer_assigned(pair.a), N_PARTS);
        ck_assert_uint_eq(partitions_of(pair.a, parts), PARTITIONS);
        for (int t = 0; t < PP_TOPIC_COUNT; t++) /* what commit checks */
            for (int32_t p = 0; p < PARTITIONS; p++)
                ck_assert(pp_kafka_consumer_is_assigned(pair.a, (enum pp_topic)t, p));
        ck_assert_uint_eq(fill_held(pair.b, pair.batch), 0);
        ck_assert_uint_eq(pp_kafka_consumer_assignments(pair.b), 0);
        ck_assert_uint_eq(pp_kafka_consumer_assigned(pair.b), 0);
        fills++;
    }
    ck_assert_uint_gt(fills, 5);
    ck_assert_uint_eq(n_got, N_PARTS);

    pp_kafka_consumer_unassign(pair.a);
    ck_assert(!pp_kafka_consumer_is_revoking(pair.a));
    ck_assert_uint_eq(pp_kafka_consumer_assigned(pair.a), 0);
    ck_assert_uint_eq(partitions_of(pair.a, parts), 0);
    pp_kafka_consumer_unassign(pair.a); /* none held: nothing to do */

    /* The rebalance goes on: b gets partitions, a the rest. */
    (void)wait_split(pair.a, pair.b, true, pair.batch, 40);
    check_split(pair.a, pair.b, owner);
    is_one_round =
        pp_kafka_consumer_assignments(pair.a) == 2 && pp_kafka_consumer_assignments(pair.b) == 1;

    /* Round 1, not read while held, is read by the new owners from the
     * offsets a committed (once, unless the group went through more
     * rounds); round 0 is not read again. */
    deadline = now_s() + 10;
    while (n_got < 2 * N_PARTS && now_s() < deadline) {
        fill_held(pair.a, pair.batch);
        fill_held(pair.b, pair.batch);
    }
    deadline = now_s() + 0.5;
    while (now_s() < deadline) {
        fill_held(pair.a, pair.batch);
        fill_held(pair.b, pair.batch);
    }
    ck_assert_uint_ge(n_got, 2 * N_PARTS);
    if (is_one_round)
        ck_assert_uint_eq(n_got, 2 * N_PARTS);
    check_round(0, 0, owner_a, true);
    check_round(1, 1, owner, is_one_round);
    pair_stop(&pair);
}
END_TEST

/* Without is_revoke_held the rebalance callback gives the partitions up
 * itself: no hold, no unassign call, the rebalance completes. */
START_TEST(test_revoke_immediate)
{
    struct pair pair;
    struct pp_kafka_consumer *owner[PARTITIONS];

    pair_start(&pair, "i", "gi", false);
    ck_assert_msg(wait_split(pair.a, pair.b, false, pair.batch, 40),
                  "a kept its partitions after the revocation");
    check_split(pair.a, pair.b, owner);
    ck_assert_uint_eq(n_got, N_PARTS);
    pair_stop(&pair);
}
END_TEST

/* A member destroyed while it holds a revocation leaves the group at once;
 * the other member then gets every partition. */
START_TEST(test_revoke_held_destroy)
{
    struct pair pair;
    int32_t parts[PARTITIONS];
    double t0;
    double deadline;

    pair_start(&pair, "d", "gd", true);
    wait_revoking(pair.a, pair.b, pair.batch, 10);
    t0 = now_s();
    pp_kafka_consumer_destroy(pair.a);
    pair.a = NULL;
    ck_assert_msg(now_s() - t0 < 5.0, "destroy took %.1f s", now_s() - t0);

    /* Should the group take another round under load (wait_split), b
     * holds that revocation: let go of it as its owner would. */
    deadline = now_s() + 30;
    while (
        (pp_kafka_consumer_assigned(pair.b) < N_PARTS || pp_kafka_consumer_is_revoking(pair.b)) &&
        now_s() < deadline) {
        fill_held(pair.b, pair.batch);
        pp_kafka_consumer_unassign(pair.b);
    }
    ck_assert(!pp_kafka_consumer_is_revoking(pair.b));
    ck_assert_uint_ge(pp_kafka_consumer_assignments(pair.b), 1);
    ck_assert_uint_eq(pp_kafka_consumer_assigned(pair.b), N_PARTS);
    ck_assert_uint_eq(partitions_of(pair.b, parts), PARTITIONS);
    pair_stop(&pair);
}
END_TEST

static Suite *kafka_suite(void)
{
    Suite *s = suite_create("kafka");

    PP_CHECK_TCASE(s, test_read_all_commit_resume);
    PP_CHECK_TCASE(s, test_lag_before_delivery);
    PP_CHECK_TCASE(s, test_pause_resume_oversized);
    PP_CHECK_TCASE(s, test_idle_and_stop);
    PP_CHECK_TCASE(s, test_blocked_pauses_after);
    PP_CHECK_TCASE(s, test_options_rejected);
    PP_CHECK_TCASE(s, test_pipeline_clean);
    PP_CHECK_TCASE(s, test_revoke_held);
    PP_CHECK_TCASE(s, test_revoke_immediate);
    PP_CHECK_TCASE(s, test_revoke_held_destroy);
    return s;
}

PP_CHECK_MAIN(kafka_suite)
