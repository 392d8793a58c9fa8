/*
 * rdkafka_count: the "bare librdkafka consumer" of bench/stream_bench.sh, a
 * peer for `pinpipe run`, not part of pinpipe (which reaches librdkafka only
 * through engine/pp_kafka*.c).
 *
 *   rdkafka_count [-X prop=value]... <bootstrap> <topic>...
 *   rdkafka_count --follow <seconds> [--warmup <seconds>] [-X prop=value]... <bootstrap> <topic>...
 *
 * Assigns every partition of the topics itself (no group membership, no
 * commits; librdkafka's default fetch settings, as kcat, unless -X changes
 * them) and touches no payload byte. Count mode reads batches of messages
 * from the consumer queue (rd_kafka_consume_batch_queue); follow mode polls
 * them one by one (rd_kafka_consumer_poll), so each is timed on arrival.
 *
 * Count mode: from the beginning until every partition has reported its end;
 * prints one line on stdout:
 *
 *   <records> <value bytes> <s from start to the end> <s from the first message to the last>
 *
 * (the end of a partition is known only one fetch round after its last
 * message, so the second figure leaves that wait out).
 *
 * Follow mode: from the end, for <seconds>; for every message that arrives
 * after the warm-up (default 0; the first fetches after the assignment
 * deliver what was produced while the offsets were being looked up), its
 * latency from its Kafka timestamp (the producer's create time) to its
 * arrival here, in 1 ms steps; prints one line:
 *
 *   <records timed> <seconds timed> <p50 ms> <p99 ms> <p99.9 ms> <max ms> <mean ms>
 *
 * Exit 0, or 1 with one line on stderr (unknown topic, broker unreachable,
 * a consumer error, no end within 120 s), 2 for a usage error.
 */
#define _POSIX_C_SOURCE 200809L
#include <librdkafka/rdkafka.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define COUNT_BATCH 10000
#define COUNT_TIMEOUT_S 120.0
#define COUNT_LATENCY_MS 60000 /* the last 1 ms step holds everything slower */
/* Follow mode also times posts: a post (the three records of one key) is
 * complete when its third record arrives; its delay is that arrival minus
 * the largest timestamp of the three, as pinpipe_post_visible_seconds
 * measures it. Open addressing over the keys in flight; a slot is freed
 * when the post completes. */
#define COUNT_POSTS_SLOTS (1u << 22)

struct count_post {
    uint64_t key_hash; /* 0: free */
    int64_t max_ts;
    int parts;
};

static double count_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t count_wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int count_fail(const char *what, const char *detail)
{
    fprintf(stderr, "rdkafka_count: %s: %s\n", what, detail);
    return 1;
}

/* Adds every partition of topic to parts, starting at offset. */
static int count_add_topic(rd_kafka_t *rk, const char *topic, int64_t offset,
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
            offset;
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

/* The smallest latency (ms) with at least q of the n messages at or below. */
static long count_quantile(const uint64_t *hist, uint64_t n, double q)
{
    uint64_t rank = (uint64_t)(q * (double)n + 0.999999);
    uint64_t seen = 0;
    long ms;

    for (ms = 0; ms < COUNT_LATENCY_MS; ms++) {
        seen += hist[ms];
        if (seen >= rank && seen > 0)
            return ms;
    }
    return COUNT_LATENCY_MS - 1;
}

static uint64_t count_hash(const void *key, size_t len)
{
    const unsigned char *p = key;
    uint64_t h = 1469598103934665603ull; /* FNV-1a */

    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h ? h : 1;
}

/* Notes one timed record of a keyed post; returns the post's delay (ms)
 * when this record completes it, else -1. */
static long count_post_add(struct count_post *posts, const rd_kafka_message_t *m, int64_t ts,
                           int64_t now_ms)
{
    uint64_t h;
    size_t i;

    if (m->key == NULL || m->key_len == 0)
        return -1;
    h = count_hash(m->key, m->key_len);
    for (i = h & (COUNT_POSTS_SLOTS - 1); posts[i].key_hash != 0 && posts[i].key_hash != h;
         i = (i + 1) & (COUNT_POSTS_SLOTS - 1))
        ;
    if (posts[i].key_hash == 0) {
        posts[i].key_hash = h;
        posts[i].max_ts = ts;
        posts[i].parts = 0;
    }
    if (ts > posts[i].max_ts)
        posts[i].max_ts = ts;
    if (++posts[i].parts < 3)
        return -1;
    ts = posts[i].max_ts;
    /* Backward-shift deletion keeps the probe chains whole. */
    for (size_t j = (i + 1) & (COUNT_POSTS_SLOTS - 1); posts[j].key_hash != 0;
         j = (j + 1) & (COUNT_POSTS_SLOTS - 1)) {
        size_t home = posts[j].key_hash & (COUNT_POSTS_SLOTS - 1);
        if (((j - home) & (COUNT_POSTS_SLOTS - 1)) >= ((j - i) & (COUNT_POSTS_SLOTS - 1))) {
            posts[i] = posts[j];
            i = j;
        }
    }
    posts[i].key_hash = 0;
    return ts > 0 && now_ms > ts ? (long)(now_ms - ts) : 0;
}

int main(int argc, char **argv)
{
    static uint64_t post_hist[COUNT_LATENCY_MS];
    struct count_post *posts = NULL;
    unsigned long long posts_timed = 0;
    static rd_kafka_message_t *msgs[COUNT_BATCH];
    static uint64_t hist[COUNT_LATENCY_MS];
    rd_kafka_topic_partition_list_t *parts = NULL;
    rd_kafka_queue_t *queue = NULL;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *rk = NULL;
    char errstr[512];
    unsigned long long records = 0;
    unsigned long long bytes = 0;
    double follow_s = 0;
    double warmup_s = 0;
    unsigned long long timed = 0;
    double latency_sum = 0;
    long latency_max = 0;
    double start = count_now();
    double first = 0;
    double last = 0;
    int ended = 0;
    int rc = 1;
    int i = 1;

    if (argc > 2 && strcmp(argv[1], "--follow") == 0) {
        follow_s = atof(argv[2]);
        i = 3;
        if (follow_s <= 0)
            argc = 0; /* a usage error below */
        if (i + 1 < argc && strcmp(argv[i], "--warmup") == 0) {
            warmup_s = atof(argv[i + 1]);
            i += 2;
        }
    }
    for (; i + 1 < argc && strcmp(argv[i], "-X") == 0; i += 2) {
        char *eq = strchr(argv[i + 1], '=');
        if (eq == NULL) {
            rd_kafka_conf_destroy(conf);
            fputs("rdkafka_count: -X needs prop=value\n", stderr);
            return 2;
        }
        *eq = '\0';
        if (rd_kafka_conf_set(conf, argv[i + 1], eq + 1, errstr, sizeof errstr)) {
            rd_kafka_conf_destroy(conf);
            return count_fail("configuration", errstr);
        }
    }
    if (argc - i < 2 || argv[i][0] == '-') {
        rd_kafka_conf_destroy(conf);
        fputs("usage: rdkafka_count [--follow <seconds> [--warmup <seconds>]] [-X prop=value]... "
              "<bootstrap> <topic>...\n",
              stderr);
        return 2;
    }
    if (rd_kafka_conf_set(conf, "bootstrap.servers", argv[i], errstr, sizeof errstr) ||
        rd_kafka_conf_set(conf, "group.id", "rdkafka-count", errstr, sizeof errstr) ||
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr, sizeof errstr) ||
        rd_kafka_conf_set(conf, "enable.partition.eof", follow_s > 0 ? "false" : "true", errstr,
                          sizeof errstr)) {
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
    for (i++; i < argc; i++)
        if (count_add_topic(rk, argv[i],
                            follow_s > 0 ? RD_KAFKA_OFFSET_END : RD_KAFKA_OFFSET_BEGINNING, parts))
            goto out;
    if (rd_kafka_assign(rk, parts)) {
        count_fail("assign", "failed");
        goto out;
    }
    queue = rd_kafka_queue_get_consumer(rk);
    if (follow_s > 0 && (posts = calloc(COUNT_POSTS_SLOTS, sizeof *posts)) == NULL) {
        count_fail("follow", "out of memory");
        goto out;
    }
    if (follow_s > 0)
        start = count_now(); /* follow for that long once assigned */
    while (follow_s > 0 ? count_now() - start < follow_s : ended < parts->cnt) {
        int64_t now_ms = 0;
        ssize_t n = 0;
        ssize_t k;

        if (follow_s > 0) {
            /* consume_batch_queue returns when the batch is full or its
             * timeout expires: poll one message at a time instead, so each
             * is timed when it arrives. */
            while (n < COUNT_BATCH && (msgs[n] = rd_kafka_consumer_poll(rk, n ? 0 : 100)) != NULL)
                n++;
            now_ms = count_wall_ms();
        } else {
            n = rd_kafka_consume_batch_queue(queue, 10, msgs, COUNT_BATCH);
        }

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
                if (follow_s > 0 && last - start >= warmup_s) {
                    int64_t ts = rd_kafka_message_timestamp(m, NULL);
                    long ms = ts > 0 && now_ms > ts ? (long)(now_ms - ts) : 0;
                    latency_sum += (double)ms;
                    if (ms > latency_max)
                        latency_max = ms;
                    hist[ms < COUNT_LATENCY_MS ? ms : COUNT_LATENCY_MS - 1]++;
                    timed++;
                    long post_ms = count_post_add(posts, m, ts, now_ms);
                    if (post_ms >= 0) {
                        post_hist[post_ms < COUNT_LATENCY_MS ? post_ms : COUNT_LATENCY_MS - 1]++;
                        posts_timed++;
                    }
                }
            }
            rd_kafka_message_destroy(m);
        }
        if (follow_s <= 0 && count_now() - start > COUNT_TIMEOUT_S) {
            count_fail("consume", "no end of every partition within 120 s");
            goto out;
        }
    }
    if (follow_s > 0)
        printf("%llu %.3f %ld %ld %ld %ld %.1f %llu %ld %ld\n", timed,
               count_now() - start - warmup_s, count_quantile(hist, timed, 0.5),
               count_quantile(hist, timed, 0.99), count_quantile(hist, timed, 0.999), latency_max,
               timed ? latency_sum / (double)timed : 0.0, posts_timed,
               count_quantile(post_hist, posts_timed, 0.5),
               count_quantile(post_hist, posts_timed, 0.99));
    else
        printf("%llu %llu %.6f %.6f\n", records, bytes, count_now() - start, last - first);
    rc = 0;
out:
    free(posts);
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
