/*
 * Unit tests of the pp_kafka consumer against an in-process development
 * broker (librdkafka's mock cluster behind pp_tcpfwd on a free loopback
 * port): records produced with pp_kafka_produce come back through
 * pp_kafka_consumer_fill as single-record spans, exactly once; committed
 * offsets survive a new member of the group; pause/resume; stop; the whole
 * path through pp_pipeline with pp_clean_stage. Every wait is bounded.
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

static struct pp_kafka_consumer *start_consumer(struct pp_kafka_broker *broker, const char *prefix,
                                                const char *group)
{
    static const struct pp_kafka_property props[] = {
        {"session.timeout.ms", "6000"},
        {"heartbeat.interval.ms", "500"},
    };
    static char names[PP_TOPIC_COUNT][64];
    struct pp_kafka_consumer_options opt = {
        .bootstrap = pp_kafka_broker_bootstraps(broker),
        .group_id = group,
        .properties = props,
        .n_properties = sizeof props / sizeof props[0],
    };
    struct pp_kafka_consumer *consumer;
    char msg[256];

    for (int t = 0; t < PP_TOPIC_COUNT; t++) {
        snprintf(names[t], sizeof names[t], "%s.%s", prefix, pp_topic_name((enum pp_topic)t));
        opt.topics[t] = names[t];
    }
    ck_assert_msg(pp_kafka_consumer_new(&opt, &consumer, msg, sizeof msg) == PP_OK, "%s", msg);
    return consumer;
}

/* Fills batches until n_got reaches want or seconds pass; appends to got. */
static void drain(struct pp_kafka_consumer *consumer, struct pp_batch *batch, size_t want,
                  double seconds)
{
    double deadline = now_s() + seconds;

    while (n_got < want && now_s() < deadline) {
        pp_batch_reset(batch);
        ck_assert_int_eq(pp_kafka_consumer_fill(consumer, batch), PP_OK);
        for (size_t i = 0; i < batch->n_spans; i++) {
            const struct pp_batch_span *span = &batch->spans[i];
            struct got *g = &got[n_got++];

            ck_assert_uint_lt(n_got, MAX_GOT);
            ck_assert(span->is_single);
            ck_assert_uint_le(span->end - span->begin, VALUE_MAX);
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
    }
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

static Suite *kafka_suite(void)
{
    Suite *s = suite_create("kafka");

    PP_CHECK_TCASE(s, test_read_all_commit_resume);
    PP_CHECK_TCASE(s, test_pause_resume_oversized);
    PP_CHECK_TCASE(s, test_idle_and_stop);
    PP_CHECK_TCASE(s, test_options_rejected);
    PP_CHECK_TCASE(s, test_pipeline_clean);
    return s;
}

PP_CHECK_MAIN(kafka_suite)
