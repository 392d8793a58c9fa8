/*
 * pp_rest: the Confluent REST Proxy v2 produce endpoint, POST
 * /topics/{topic} (SPEC 8), so that clients written for the original
 * pipeline's REST proxy post to pinpipe unchanged (docs/http.md, "REST
 * proxy").
 *
 * It owns an idempotent Kafka producer and a thread that serves its
 * delivery reports. A request is parsed and checked in full before any
 * record is produced; then its records are produced and the request waits
 * (bounded) for their delivery reports, and answers
 *   {"offsets":[{"partition":p,"offset":o,"error_code":null,"error":null}],
 *    "key_schema_id":null,"value_schema_id":null}
 * Only the JSON embedded format is supported (no binary, Avro, schemas).
 *
 * Threads: pp_rest_new, pp_rest_route and pp_rest_destroy on the main
 * thread; the handler runs on pp_http's server threads, several at once;
 * pp_rest_get_stats and pp_rest_metrics_append on any thread.
 */
#ifndef PP_REST_H
#define PP_REST_H

#include <stddef.h>
#include <stdint.h>

#include "pp_arena.h"
#include "pp_err.h"
#include "pp_http.h"
#include "pp_kafka.h"
#include "pp_topic.h"

/* How long a request waits for its delivery reports by default. */
#define PP_REST_DEFAULT_TIMEOUT_MS 10000

struct pp_rest_options {
    /* Kafka bootstrap servers; NULL: the "bootstrap.servers" property. */
    const char *bootstrap;
    /* librdkafka properties (the config's kafka.* keys), applied after the
     * REST producer's defaults; may be NULL. Borrowed during _new. */
    const struct pp_kafka_property *properties;
    size_t n_properties;
    /* The topics it accepts, index = enum pp_topic (the config's
     * <topics.prefix>.pin/.geo/.user); every other name is 404. Copied. */
    const char *topics[PP_TOPIC_COUNT];
    /* The largest request body (http.max.body.bytes); 0 means 1 MiB. */
    size_t max_body_bytes;
    /* Kafka's delivery timeout for its messages (message.timeout.ms) and,
     * plus a margin, the longest a request waits; 0 means
     * PP_REST_DEFAULT_TIMEOUT_MS. */
    int timeout_ms;
};

/* What the handler answered, for the counters. 401 and 413 are answered by
 * pp_http before the handler runs and are not counted here. */
enum pp_rest_outcome {
    PP_REST_OUTCOME_OK,            /* 200 (records may still carry errors) */
    PP_REST_OUTCOME_NOT_FOUND,     /* 404: unknown topic or partition */
    PP_REST_OUTCOME_UNSUPPORTED,   /* 415: content type */
    PP_REST_OUTCOME_UNPROCESSABLE, /* 422: malformed body */
    PP_REST_OUTCOME_FAILED,        /* 500: delivery timed out, or internal */
};
#define PP_REST_OUTCOME_COUNT 5

/* The HTTP status of an outcome (200, 404, 415, 422, 500). */
unsigned pp_rest_outcome_status(enum pp_rest_outcome outcome);

struct pp_rest_stats {
    uint64_t requests[PP_REST_OUTCOME_COUNT]; /* requests, by answer */
    uint64_t records[PP_REST_OUTCOME_COUNT];  /* records in those requests */
    uint64_t records_delivered;               /* acknowledged by Kafka (offset answered) */
    uint64_t records_failed;                  /* in a 200 answer with an error, or timed out */
};

struct pp_rest;

/*
 * Creates the proxy and its producer (no connection is made yet) and
 * starts the delivery-report thread. On success *rest_out is set; the
 * caller frees it with pp_rest_destroy. Errors: PP_ERR_USAGE (no bootstrap
 * servers, a bad property, a missing topic name: msg names it),
 * PP_ERR_INTERNAL, PP_ERR_NOMEM; msg gets one line. Main thread.
 */
enum pp_err pp_rest_new(const struct pp_rest_options *options, struct pp_rest **rest_out, char *msg,
                        size_t msg_len);

/*
 * Registers POST /topics/{topic} (with PP_HTTP_BODY) on http, before
 * pp_http_start. The route's argument is rest, so pp_http_stop must run
 * before pp_rest_destroy. Returns pp_http_route's errors. Main thread.
 */
enum pp_err pp_rest_route(struct pp_rest *rest, struct pp_http *http);

/* Counters so far. Any thread. */
void pp_rest_get_stats(struct pp_rest *rest, struct pp_rest_stats *stats);

/*
 * Appends the counters in Prometheus text format:
 *   pinpipe_rest_requests_total{status="200"} ...
 *   pinpipe_rest_records_total{status="200"} ...
 *   pinpipe_rest_records_delivered_total, pinpipe_rest_records_failed_total
 * with their HELP and TYPE lines. PP_ERR_NOMEM. Any thread.
 */
enum pp_err pp_rest_metrics_append(struct pp_rest *rest, struct pp_buf *out);

/*
 * Waits up to a few seconds for messages still queued, stops the report
 * thread and frees everything. Call after pp_http_stop (no handler may be
 * running). Accepts NULL. Main thread.
 */
void pp_rest_destroy(struct pp_rest *rest);

#endif
