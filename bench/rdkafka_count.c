/*
 * rdkafka_count: the "bare librdkafka consumer" of bench/stream_bench.sh, a
 * peer for `pinpipe run`, not part of pinpipe (which reaches librdkafka only
 * through engine/pp_kafka.c).
 *
 *   rdkafka_count <bootstrap> <topic>...
 *
 * Assigns every partition of the topics from the beginning (no group
 * membership, no commits, librdkafka's default fetch settings, as kcat),
 * reads batches of messages from the consumer queue
 * (rd_kafka_consume_batch_queue) and counts them, touching no payload byte,
 * until every partition has reported its end. Prints one line on stdout:
 *
 *   <records> <value bytes> <s from start to the end> <s from the first message to the last>
 *
 * (the end of every partition is known only a fetch round after its last
 * message, so the second figure leaves that wait out)
 *
 * Exit 0, or 1 with one line on stderr (unknown topic, broker unreachable,
 * a consumer error, no end within 120 s).
 */
#define _POSIX_C_SOURCE 200809L
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define COUNT_BATCH 10000
#define COUNT_TIMEOUT_S 120.0

static double count_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int count_fail(const char *what, const char *detail)
{
    fprintf(stderr, "rdkafka_count: %s: %s\n", what, detail);
    return 1;
}

/* Adds every partition of topic to parts, from the beginning. */
static int count_add_topic(rd_kafka_t *rk, const char *topic,
                           rd_kafka_topic_partition_list_t *parts)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t rerr;
    int rc = 1;
    int i;

    if (rkt == NULL)
        return count_fail(topic, rd_kafka_err2str(rd_kafka_last_error()));
    rerr = rd_kafka_metadata(rk, 0, rkt, &md, 10000);
    if (rerr) {
        count_fail(topic, rd_kafka_err2str(rerr));
        goto out;
    }
    if (md->topic_cnt != 1 || md->topics[0].err || md->topics[0].partition_cnt == 0) {
        count_fail(topic, md->topic_cnt == 1 && md->topics[0].err
                              ? rd_kafka_err2str(md->topics[0].err)
                              : "no partitions");
        goto out;
    }
    for (i = 0; i < md->topics[0].partition_cnt; i++)
        rd_kafka_topic_partition_list_add(parts, topic, md->topics[0].partitions[i].id)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
    rc = 0;
out:
    if (md != NULL)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    return rc;
}

/* Marks (topic, partition) ended; returns 1 the first time only. */
static int count_mark_end(rd_kafka_topic_partition_list_t *parts, const char *topic,
                          int32_t partition)
{
    rd_kafka_topic_partition_t *p = rd_kafka_topic_partition_list_find(parts, topic, partition);

    if (p == NULL || p->opaque != NULL)
        return 0;
    p->opaque = parts; /* any non-NULL pointer: "ended" */
    return 1;
}

int main(int argc, char **argv)
{
    static rd_kafka_message_t *msgs[COUNT_BATCH];
    rd_kafka_topic_partition_list_t *parts = NULL;
    rd_kafka_queue_t *queue = NULL;
    rd_kafka_conf_t *conf;
    rd_kafka_t *rk = NULL;
    char errstr[512];
    unsigned long long records = 0;
    unsigned long long bytes = 0;
    double start = count_now();
    double first = 0;
    double last = 0;
    int ended = 0;
    int rc = 1;
    int i;

    if (argc < 3) {
        fputs("usage: rdkafka_count <bootstrap> <topic>...\n", stderr);
        return 2;
    }
    conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", argv[1], errstr, sizeof errstr) ||
        rd_kafka_conf_set(conf, "group.id", "rdkafka-count", errstr, sizeof errstr) ||
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr, sizeof errstr) ||
        rd_kafka_conf_set(conf, "enable.partition.eof", "true", errstr, sizeof errstr)) {
        rd_kafka_conf_destroy(conf);
        return count_fail("configuration", errstr);
    }
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    if (rk == NULL) {
        rd_kafka_conf_destroy(conf);
        return count_fail("rd_kafka_new", errstr);
    }
    rd_kafka_poll_set_consumer(rk);
    parts = rd_kafka_topic_partition_list_new(256);
    for (i = 2; i < argc; i++)
        if (count_add_topic(rk, argv[i], parts))
            goto out;
    if (rd_kafka_assign(rk, parts)) {
        count_fail("assign", "failed");
        goto out;
    }
    queue = rd_kafka_queue_get_consumer(rk);
    while (ended < parts->cnt) {
        ssize_t n = rd_kafka_consume_batch_queue(queue, 100, msgs, COUNT_BATCH);
        ssize_t k;

        if (n < 0) {
            count_fail("consume", rd_kafka_err2str(rd_kafka_last_error()));
            goto out;
        }
        for (k = 0; k < n; k++) {
            rd_kafka_message_t *m = msgs[k];

            if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                ended += count_mark_end(parts, rd_kafka_topic_name(m->rkt), m->partition);
            } else if (m->err) {
                count_fail("consume", rd_kafka_message_errstr(m));
                rd_kafka_message_destroy(m);
                goto out;
            } else {
                last = count_now();
                if (records++ == 0)
                    first = last;
                bytes += m->len;
            }
            rd_kafka_message_destroy(m);
        }
        if (count_now() - start > COUNT_TIMEOUT_S) {
            count_fail("consume", "no end of every partition within 120 s");
            goto out;
        }
    }
    printf("%llu %llu %.6f %.6f\n", records, bytes, count_now() - start, last - first);
    rc = 0;
out:
    if (queue != NULL)
        rd_kafka_queue_destroy(queue);
    if (parts != NULL)
        rd_kafka_topic_partition_list_destroy(parts);
    if (rk != NULL) {
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
    }
    return rc;
}
