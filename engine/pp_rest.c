/*
 * pp_rest: see pp_rest.h and docs/http.md, "REST proxy".
 *
 * A request goes through, in this order (Confluent's order: the media type
 * is checked before the resource, the body last): content type (415),
 * topic (404 40401), body (422), partitions (422 42202, 404 40402); only a
 * request that passed all of them produces anything, so a bad record never
 * leaves the records before it half-sent. Then every record is produced
 * with a tracker slot, and the handler waits on the tracker: the reports
 * are served by this module's poller thread, which does nothing but
 * rd_kafka_poll (through pp_kafka_producer_poll). The wait is bounded by
 * message.timeout.ms plus a margin, so librdkafka normally reports a
 * timeout itself (a record error 50003) before the request gives up (500
 * 50003).
 *
 * simdjson parsers are per thread and sized for the largest body, so a
 * small pool of them is shared by the server threads under a mutex.
 */
#include "pp_rest.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "pp_clock.h"
#include "pp_json.h"
#include "pp_log.h"

#define REST_DEFAULT_MAX_BODY ((size_t)1 << 20)
/* The request outwaits librdkafka's own message timeout by this much. */
#define REST_WAIT_MARGIN_MS 2000
/* Parsers kept for reuse; more may exist while more requests run. */
#define REST_PARSERS_MAX 16
/* How often the poller thread looks at its stop flag. */
#define REST_POLL_MS 100
/* A partition count older than this is refreshed before a 404 40402. */
#define REST_PARTITIONS_TTL_MS 1000
#define REST_METADATA_TIMEOUT_MS 5000
#define REST_TOPIC_MAX 256
#define REST_PROPERTIES_MAX 256

/* Confluent REST Proxy error codes (kafka-rest Errors.java). */
#define REST_CODE_TOPIC_NOT_FOUND 40401
#define REST_CODE_PARTITION_NOT_FOUND 40402
#define REST_CODE_UNSUPPORTED_MEDIA 41501
#define REST_CODE_UNPROCESSABLE 42201
#define REST_CODE_BAD_PARTITION 42202
#define REST_CODE_KAFKA 50002
#define REST_CODE_KAFKA_RETRIABLE 50003

struct rest_topic {
    char name[REST_TOPIC_MAX];
    /* Partition count from the last metadata request; under rest.lock. */
    int32_t partitions;
    uint64_t partitions_ms; /* when it was fetched; 0: never */
};

struct pp_rest {
    struct pp_kafka_producer *producer;
    struct rest_topic topics[PP_TOPIC_COUNT];
    size_t max_body;
    int timeout_ms;

    pthread_t poller;
    bool is_poller_running;
    atomic_bool is_stopping;

    pthread_mutex_t lock; /* guards parsers and topics[].partitions* */
    struct pp_json_parser *parsers[REST_PARSERS_MAX];
    size_t n_parsers;

    _Atomic uint64_t requests[PP_REST_OUTCOME_COUNT];
    _Atomic uint64_t records[PP_REST_OUTCOME_COUNT];
    _Atomic uint64_t records_delivered;
    _Atomic uint64_t records_failed;
};

unsigned pp_rest_outcome_status(enum pp_rest_outcome outcome)
{
    switch (outcome) {
    case PP_REST_OUTCOME_OK: return 200;
    case PP_REST_OUTCOME_NOT_FOUND: return 404;
    case PP_REST_OUTCOME_UNSUPPORTED: return 415;
    case PP_REST_OUTCOME_UNPROCESSABLE: return 422;
    case PP_REST_OUTCOME_FAILED: return 500;
    }
    return 500;
}

/* The delivery-report thread: reports fill the requests' trackers. */
static void *rest_poller_main(void *arg)
{
    struct pp_rest *rest = arg;

    while (!atomic_load(&rest->is_stopping))
        pp_kafka_producer_poll(rest->producer, REST_POLL_MS);
    return NULL;
}

/* ---- parser pool ---- */

static struct pp_json_parser *rest_parser_get(struct pp_rest *rest)
{
    struct pp_json_parser *parser = NULL;

    pthread_mutex_lock(&rest->lock);
    if (rest->n_parsers > 0)
        parser = rest->parsers[--rest->n_parsers];
    pthread_mutex_unlock(&rest->lock);
    return parser != NULL ? parser : pp_json_parser_new(rest->max_body);
}

static void rest_parser_put(struct pp_rest *rest, struct pp_json_parser *parser)
{
    if (parser == NULL)
        return;
    pthread_mutex_lock(&rest->lock);
    if (rest->n_parsers < REST_PARSERS_MAX) {
        rest->parsers[rest->n_parsers++] = parser;
        parser = NULL;
    }
    pthread_mutex_unlock(&rest->lock);
    pp_json_parser_destroy(parser);
}

/* ---- request checks ---- */

/*
 * True for the media types of the JSON embedded format:
 * application/vnd.kafka.json.v2+json and application/json, case-insensitive,
 * with optional parameters of which only charset=utf-8 is allowed (JSON is
 * UTF-8).
 */
static bool rest_is_json_media_type(const char *content_type)
{
    static const char *const types[] = {"application/vnd.kafka.json.v2+json", "application/json"};
    const char *p = content_type;
    size_t len;
    bool is_known = false;

    if (p == NULL)
        return false;
    while (*p == ' ' || *p == '\t')
        p++;
    len = strcspn(p, ";");
    while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
        len--;
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (len == strlen(types[i]) && strncasecmp(p, types[i], len) == 0)
            is_known = true;
    if (!is_known)
        return false;
    p += strcspn(p, ";");
    while (*p == ';') {
        const char *name;
        size_t name_len;
        const char *value;
        size_t value_len;

        p++;
        while (*p == ' ' || *p == '\t')
            p++;
        name = p;
        name_len = strcspn(p, "=;");
        if (p[name_len] != '=') {
            p += name_len;
            if (name_len == 0)
                continue; /* "type;" or "type; ;" */
            return false;
        }
        value = p + name_len + 1;
        value_len = strcspn(value, ";");
        p = value + value_len;
        while (name_len > 0 && (name[name_len - 1] == ' ' || name[name_len - 1] == '\t'))
            name_len--;
        while (value_len > 0 && (value[value_len - 1] == ' ' || value[value_len - 1] == '\t'))
            value_len--;
        if (value_len >= 2 && value[0] == '"' && value[value_len - 1] == '"') {
            value++;
            value_len -= 2;
        }
        if (name_len != 7 || strncasecmp(name, "charset", 7) != 0)
            continue; /* other parameters change nothing */
        if (!((value_len == 5 && strncasecmp(value, "utf-8", 5) == 0) ||
              (value_len == 4 && strncasecmp(value, "utf8", 4) == 0)))
            return false;
    }
    return true;
}

/* The topic a request's tail names, or -1. */
static int rest_topic_index(const struct pp_rest *rest, struct pp_str tail)
{
    for (int t = 0; t < PP_TOPIC_COUNT; t++)
        if (pp_str_eq_cstr(tail, rest->topics[t].name))
            return t;
    return -1;
}

/*
 * The partition count of topic t: the cached one, refreshed when unknown or
 * when at_least is not below it and the cache is older than
 * REST_PARTITIONS_TTL_MS (a topic may have grown). Blocks on a metadata
 * request at most REST_METADATA_TIMEOUT_MS. Returns PP_OK with *count, or
 * the metadata request's error (msg says why).
 */
static enum pp_err rest_partitions(struct pp_rest *rest, int t, int32_t at_least, int32_t *count,
                                   char *msg, size_t msg_len)
{
    struct rest_topic *topic = &rest->topics[t];
    uint64_t now = (uint64_t)pp_clock_ms();
    bool is_fresh;
    enum pp_err err;

    pthread_mutex_lock(&rest->lock);
    *count = topic->partitions;
    is_fresh = topic->partitions_ms != 0 && (at_least < topic->partitions ||
                                             now - topic->partitions_ms < REST_PARTITIONS_TTL_MS);
    pthread_mutex_unlock(&rest->lock);
    if (is_fresh)
        return PP_OK;
    err = pp_kafka_producer_partitions(rest->producer, topic->name, REST_METADATA_TIMEOUT_MS, count,
                                       msg, msg_len);
    if (err)
        return err;
    pthread_mutex_lock(&rest->lock);
    topic->partitions = *count;
    topic->partitions_ms = (uint64_t)pp_clock_ms();
    pthread_mutex_unlock(&rest->lock);
    return PP_OK;
}

/*
 * The default key of a record without one: its join key (pin: index, geo
 * and user: ind) as decimal text, exactly as `pinpipe emulate --to
 * kafka://` keys records, so both land in the same partition. A JSON
 * integer or a string of ASCII digits (SPEC 2) qualifies; anything else
 * gives no key. Returns the key's length (0: none).
 */
static size_t rest_default_key(const struct pp_json_produce_record *rec, int t, char *key,
                               size_t key_cap)
{
    const struct pp_json_value *v = t == PP_TOPIC_PIN ? &rec->index : &rec->ind;
    uint64_t n = 0;
    int len;

    if (v->type == PP_JSON_INT) {
        len = snprintf(key, key_cap, "%" PRId64, v->i64);
        return len > 0 && (size_t)len < key_cap ? (size_t)len : 0;
    }
    if (v->type != PP_JSON_STRING || v->str.len == 0)
        return 0;
    for (size_t i = 0; i < v->str.len; i++) {
        unsigned d = (unsigned)(unsigned char)v->str.ptr[i] - '0';

        if (d > 9 || n > ((uint64_t)INT64_MAX - d) / 10)
            return 0;
        n = n * 10 + d;
    }
    len = snprintf(key, key_cap, "%" PRIu64, n);
    return len > 0 && (size_t)len < key_cap ? (size_t)len : 0;
}

static void rest_count(struct pp_rest *rest, enum pp_rest_outcome outcome, size_t n_records)
{
    atomic_fetch_add(&rest->requests[outcome], 1);
    atomic_fetch_add(&rest->records[outcome], n_records);
}

/* ---- the handler ---- */

/* The per-request state the handler cleans up. */
struct rest_req {
    struct pp_arena arena;
    struct pp_json_parser *parser;
    struct pp_kafka_tracker *tracker;
};

/*
 * Produces the records and waits for their reports. *outcome is OK or
 * FAILED (timeout); resp is filled either way. Returns PP_OK or an
 * internal error (NOMEM).
 */
static enum pp_err rest_produce(struct pp_rest *rest, struct rest_req *rr, int t,
                                const struct pp_json_produce_record *recs, size_t n,
                                struct pp_http_response *resp, enum pp_rest_outcome *outcome)
{
    const char *topic = rest->topics[t].name;
    enum pp_err *queue_err;
    uint64_t deadline = (uint64_t)pp_clock_ms() + (uint64_t)rest->timeout_ms;
    size_t n_delivered = 0;
    size_t n_failed = 0;
    enum pp_err err;

    queue_err = pp_arena_alloc(&rr->arena, n * sizeof *queue_err);
    if (queue_err == NULL)
        return PP_ERR_NOMEM;
    if ((err = pp_kafka_tracker_new(n, &rr->tracker)))
        return err;
    for (size_t i = 0; i < n; i++) {
        const struct pp_json_produce_record *rec = &recs[i];
        int32_t partition = rec->partition.type == PP_JSON_INT ? (int32_t)rec->partition.i64
                                                               : PP_KAFKA_PARTITION_ANY;
        char default_key[24];
        const char *key = rec->key.ptr;
        size_t key_len = rec->key.len;

        if (key == NULL) {
            key_len = rest_default_key(rec, t, default_key, sizeof default_key);
            key = key_len > 0 ? default_key : NULL;
        }
        do {
            /* PP_AGAIN: librdkafka's queue is full even after waiting
             * 50 ms for deliveries; keep trying until the deadline. */
            queue_err[i] = pp_kafka_produce_tracked(rest->producer, topic, partition, key, key_len,
                                                    rec->value.ptr, rec->value.len, rr->tracker, i);
        } while (queue_err[i] == PP_AGAIN && (uint64_t)pp_clock_ms() < deadline);
    }
    err = pp_kafka_tracker_wait(rr->tracker, rest->timeout_ms + REST_WAIT_MARGIN_MS);
    if (err == PP_ERR_IO) {
        size_t n_pending = 0;

        for (size_t i = 0; i < n; i++) {
            struct pp_kafka_delivery d;

            pp_kafka_tracker_get(rr->tracker, i, &d);
            n_pending += queue_err[i] == PP_OK && d.err == PP_AGAIN;
        }
        atomic_fetch_add(&rest->records_failed, n);
        *outcome = PP_REST_OUTCOME_FAILED;
        return pp_http_response_error(resp, 500, REST_CODE_KAFKA_RETRIABLE,
                                      "no delivery report for %zu of %zu records within %d ms; "
                                      "they may still be written",
                                      n_pending, n, rest->timeout_ms + REST_WAIT_MARGIN_MS);
    }
    if ((err = pp_buf_append_str(&resp->body, "{\"offsets\":[")))
        return err;
    for (size_t i = 0; i < n; i++) {
        struct pp_kafka_delivery d;
        const char *why;
        unsigned code;

        pp_kafka_tracker_get(rr->tracker, i, &d);
        if (i > 0 && (err = pp_buf_append(&resp->body, ",", 1)))
            return err;
        if (queue_err[i] == PP_OK && d.err == PP_OK) {
            n_delivered++;
            err = pp_buf_printf(&resp->body,
                                "{\"partition\":%" PRId32 ",\"offset\":%" PRId64
                                ",\"error_code\":null,\"error\":null}",
                                d.partition, d.offset);
        } else {
            /* Not queued (queue_err), or a failed report. */
            enum pp_err why_err = queue_err[i] != PP_OK ? queue_err[i] : d.err;

            n_failed++;
            why = queue_err[i] != PP_OK ? pp_err_str(queue_err[i]) : d.error;
            if (why == NULL)
                why = "not delivered";
            code = why_err == PP_ERR_IO || why_err == PP_AGAIN ? REST_CODE_KAFKA_RETRIABLE
                                                               : REST_CODE_KAFKA;
            err = pp_buf_printf(&resp->body,
                                "{\"partition\":null,\"offset\":null,\"error_code\":%u,"
                                "\"error\":\"",
                                code);
            if (!err)
                err = pp_http_json_escape_append(&resp->body, why, strlen(why));
            if (!err)
                err = pp_buf_append(&resp->body, "\"}", 2);
        }
        if (err)
            return err;
    }
    atomic_fetch_add(&rest->records_delivered, n_delivered);
    atomic_fetch_add(&rest->records_failed, n_failed);
    *outcome = PP_REST_OUTCOME_OK;
    return pp_buf_append_str(&resp->body, "],\"key_schema_id\":null,\"value_schema_id\":null}");
}

static enum pp_err rest_handle(struct pp_rest *rest, struct rest_req *rr,
                               const struct pp_http_request *req, struct pp_http_response *resp,
                               enum pp_rest_outcome *outcome, size_t *n_out)
{
    const char *content_type = pp_http_header(req, "Content-Type");
    struct pp_json_produce_record *recs;
    char *copy;
    char msg[256] = "";
    size_t n;
    int t;

    *outcome = PP_REST_OUTCOME_UNSUPPORTED;
    if (!rest_is_json_media_type(content_type))
        return pp_http_response_error(
            resp, 415, REST_CODE_UNSUPPORTED_MEDIA,
            "unsupported Content-Type '%s': only the JSON embedded format is supported "
            "(application/vnd.kafka.json.v2+json or application/json)",
            content_type != NULL ? content_type : "");
    *outcome = PP_REST_OUTCOME_NOT_FOUND;
    t = rest_topic_index(rest, req->tail);
    if (t < 0)
        return pp_http_response_error(resp, 404, REST_CODE_TOPIC_NOT_FOUND,
                                      "topic '%.*s' not found (this proxy accepts %s, %s and %s)",
                                      (int)req->tail.len, req->tail.ptr, rest->topics[0].name,
                                      rest->topics[1].name, rest->topics[2].name);

    /* simdjson reads up to PP_JSON_PADDING bytes past the end. */
    *outcome = PP_REST_OUTCOME_FAILED;
    copy = pp_arena_alloc(&rr->arena, req->body_len + PP_JSON_PADDING);
    rr->parser = rest_parser_get(rest);
    if (copy == NULL || rr->parser == NULL)
        return PP_ERR_NOMEM;
    memcpy(copy, req->body, req->body_len);
    memset(copy + req->body_len, ' ', PP_JSON_PADDING);
    *outcome = PP_REST_OUTCOME_UNPROCESSABLE;
    switch (pp_json_parse_produce(rr->parser, copy, req->body_len, req->body_len + PP_JSON_PADDING,
                                  &rr->arena, &recs, &n, msg, sizeof msg)) {
    case PP_JSON_OK: break;
    case PP_JSON_NOMEM: *outcome = PP_REST_OUTCOME_FAILED; return PP_ERR_NOMEM;
    case PP_JSON_INVALID:
    case PP_JSON_INVALID_UTF8:
    case PP_JSON_NOT_OBJECT:
        return pp_http_response_error(resp, 422, REST_CODE_UNPROCESSABLE, "%s", msg);
    }
    *n_out = n;
    if (n == 0)
        return pp_http_response_error(resp, 422, REST_CODE_UNPROCESSABLE,
                                      "\"records\" is empty: nothing to produce");
    for (size_t i = 0; i < n; i++) {
        const struct pp_json_value *p = &recs[i].partition;
        int32_t count;
        enum pp_err err;

        if (p->type == PP_JSON_ABSENT || p->type == PP_JSON_NULL)
            continue;
        if (p->type != PP_JSON_INT || p->i64 < 0 || p->i64 > INT32_MAX)
            return pp_http_response_error(resp, 422, REST_CODE_BAD_PARTITION,
                                          "records[%zu].partition must be an integer >= 0", i);
        err = rest_partitions(rest, t, (int32_t)p->i64, &count, msg, sizeof msg);
        if (err == PP_ERR_NOTFOUND) {
            *outcome = PP_REST_OUTCOME_NOT_FOUND;
            return pp_http_response_error(resp, 404, REST_CODE_TOPIC_NOT_FOUND, "%s", msg);
        }
        if (err) {
            *outcome = PP_REST_OUTCOME_FAILED;
            return pp_http_response_error(resp, 500, REST_CODE_KAFKA_RETRIABLE, "%s", msg);
        }
        if (p->i64 >= count) {
            *outcome = PP_REST_OUTCOME_NOT_FOUND;
            return pp_http_response_error(resp, 404, REST_CODE_PARTITION_NOT_FOUND,
                                          "records[%zu]: partition %" PRId64
                                          " of topic %s not found (it has %" PRId32 ")",
                                          i, p->i64, rest->topics[t].name, count);
        }
    }
    *outcome = PP_REST_OUTCOME_FAILED;
    return rest_produce(rest, rr, t, recs, n, resp, outcome);
}

static enum pp_err rest_on_post(void *arg, const struct pp_http_request *req,
                                struct pp_http_response *resp)
{
    struct pp_rest *rest = arg;
    struct rest_req rr;
    enum pp_rest_outcome outcome;
    size_t n = 0;
    enum pp_err err;

    memset(&rr, 0, sizeof rr);
    pp_arena_init(&rr.arena, 0);
    err = rest_handle(rest, &rr, req, resp, &outcome, &n);
    if (err)
        outcome = PP_REST_OUTCOME_FAILED; /* pp_http answers 500 50001 */
    rest_count(rest, outcome, n);
    pp_kafka_tracker_destroy(rr.tracker);
    rest_parser_put(rest, rr.parser);
    pp_arena_cleanup(&rr.arena);
    return err;
}

/* ---- life cycle ---- */

/* "key=value" strings for pp_kafka_producer_new: the REST defaults, then
 * the caller's properties (bootstrap.servers left out: it is passed on its
 * own). Each is allocated in arena. */
static enum pp_err rest_properties(const struct pp_rest_options *o, int timeout_ms,
                                   struct pp_arena *arena, const char **props, size_t cap,
                                   const char **bootstrap, char *msg, size_t msg_len)
{
    size_t n = 0;
    char *kv;
    int len;

    /* linger.ms=1: a request waits for its own records, so batching
     * longer only adds latency; message.timeout.ms: see the top. */
    props[n++] = "linger.ms=1";
    len = snprintf(NULL, 0, "message.timeout.ms=%d", timeout_ms);
    kv = pp_arena_alloc(arena, (size_t)len + 1);
    if (kv == NULL)
        return PP_ERR_NOMEM;
    snprintf(kv, (size_t)len + 1, "message.timeout.ms=%d", timeout_ms);
    props[n++] = kv;
    for (size_t i = 0; i < o->n_properties; i++) {
        const struct pp_kafka_property *p = &o->properties[i];

        if (strcmp(p->name, "bootstrap.servers") == 0) {
            if (*bootstrap == NULL)
                *bootstrap = p->value;
            continue;
        }
        if (n + 1 >= cap) {
            snprintf(msg, msg_len, "more than %zu kafka properties", cap - 3);
            return PP_ERR_USAGE;
        }
        len = snprintf(NULL, 0, "%s=%s", p->name, p->value);
        kv = pp_arena_alloc(arena, (size_t)len + 1);
        if (kv == NULL)
            return PP_ERR_NOMEM;
        snprintf(kv, (size_t)len + 1, "%s=%s", p->name, p->value);
        props[n++] = kv;
    }
    props[n] = NULL;
    return PP_OK;
}

enum pp_err pp_rest_new(const struct pp_rest_options *options, struct pp_rest **rest_out, char *msg,
                        size_t msg_len)
{
    struct pp_rest *rest;
    struct pp_arena arena;
    const char *props[REST_PROPERTIES_MAX];
    const char *bootstrap = options->bootstrap;
    enum pp_err err;
    int rc;

    *rest_out = NULL;
    msg[0] = '\0';
    pp_arena_init(&arena, 0);
    rest = calloc(1, sizeof *rest);
    if (rest == NULL)
        return PP_ERR_NOMEM;
    pthread_mutex_init(&rest->lock, NULL);
    atomic_init(&rest->is_stopping, false);
    rest->max_body = options->max_body_bytes != 0 ? options->max_body_bytes : REST_DEFAULT_MAX_BODY;
    rest->timeout_ms = options->timeout_ms > 0 ? options->timeout_ms : PP_REST_DEFAULT_TIMEOUT_MS;
    for (int t = 0; t < PP_TOPIC_COUNT; t++) {
        const char *name = options->topics[t];

        if (name == NULL || name[0] == '\0' || strlen(name) >= REST_TOPIC_MAX) {
            snprintf(msg, msg_len, "REST proxy: no valid topic name for %s records",
                     pp_topic_name((enum pp_topic)t));
            err = PP_ERR_USAGE;
            goto fail;
        }
        snprintf(rest->topics[t].name, sizeof rest->topics[t].name, "%s", name);
    }
    err = rest_properties(options, rest->timeout_ms, &arena, props, REST_PROPERTIES_MAX, &bootstrap,
                          msg, msg_len);
    if (err)
        goto fail;
    err = pp_kafka_producer_new(bootstrap, props, msg, msg_len, &rest->producer);
    if (err)
        goto fail;
    rc = pthread_create(&rest->poller, NULL, rest_poller_main, rest);
    if (rc != 0) {
        snprintf(msg, msg_len, "REST proxy: cannot start its delivery thread: %s", strerror(rc));
        err = PP_ERR_INTERNAL;
        goto fail;
    }
    rest->is_poller_running = true;
    pp_arena_cleanup(&arena);
    *rest_out = rest;
    return PP_OK;
fail:
    pp_arena_cleanup(&arena);
    pp_rest_destroy(rest);
    return err;
}

enum pp_err pp_rest_route(struct pp_rest *rest, struct pp_http *http)
{
    return pp_http_route(http, "POST", "/topics/*", rest_on_post, rest, PP_HTTP_BODY);
}

void pp_rest_get_stats(struct pp_rest *rest, struct pp_rest_stats *stats)
{
    for (int i = 0; i < PP_REST_OUTCOME_COUNT; i++) {
        stats->requests[i] = atomic_load(&rest->requests[i]);
        stats->records[i] = atomic_load(&rest->records[i]);
    }
    stats->records_delivered = atomic_load(&rest->records_delivered);
    stats->records_failed = atomic_load(&rest->records_failed);
}

enum pp_err pp_rest_metrics_append(struct pp_rest *rest, struct pp_buf *out)
{
    struct pp_rest_stats st;
    enum pp_err err;

    pp_rest_get_stats(rest, &st);
    err = pp_buf_append_str(out, "# HELP pinpipe_rest_requests_total REST proxy produce requests, "
                                 "by answer status.\n"
                                 "# TYPE pinpipe_rest_requests_total counter\n");
    for (int i = 0; i < PP_REST_OUTCOME_COUNT && !err; i++)
        err = pp_buf_printf(out, "pinpipe_rest_requests_total{status=\"%u\"} %" PRIu64 "\n",
                            pp_rest_outcome_status((enum pp_rest_outcome)i), st.requests[i]);
    if (!err)
        err = pp_buf_append_str(out, "# HELP pinpipe_rest_records_total Records in REST proxy "
                                     "produce requests, by answer status.\n"
                                     "# TYPE pinpipe_rest_records_total counter\n");
    for (int i = 0; i < PP_REST_OUTCOME_COUNT && !err; i++)
        err = pp_buf_printf(out, "pinpipe_rest_records_total{status=\"%u\"} %" PRIu64 "\n",
                            pp_rest_outcome_status((enum pp_rest_outcome)i), st.records[i]);
    if (!err)
        err = pp_buf_printf(out,
                            "# HELP pinpipe_rest_records_delivered_total REST proxy records "
                            "acknowledged by Kafka.\n"
                            "# TYPE pinpipe_rest_records_delivered_total counter\n"
                            "pinpipe_rest_records_delivered_total %" PRIu64 "\n"
                            "# HELP pinpipe_rest_records_failed_total REST proxy records not "
                            "delivered (answered with an error).\n"
                            "# TYPE pinpipe_rest_records_failed_total counter\n"
                            "pinpipe_rest_records_failed_total %" PRIu64 "\n",
                            st.records_delivered, st.records_failed);
    return err;
}

void pp_rest_destroy(struct pp_rest *rest)
{
    if (rest == NULL)
        return;
    /* Requests that timed out may have left messages queued: give them a
     * moment (flush serves their reports); what is left is dropped. */
    if (rest->producer != NULL)
        pp_kafka_producer_flush(rest->producer, 3000, NULL, 0);
    if (rest->is_poller_running) {
        atomic_store(&rest->is_stopping, true);
        pthread_join(rest->poller, NULL);
    }
    pp_kafka_producer_destroy(rest->producer);
    for (size_t i = 0; i < rest->n_parsers; i++)
        pp_json_parser_destroy(rest->parsers[i]);
    pthread_mutex_destroy(&rest->lock);
    free(rest);
}
