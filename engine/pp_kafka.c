/*
 * pp_kafka: see pp_kafka.h.
 *
 * The development broker. librdkafka 2.0's mock cluster listens on
 * ephemeral loopback ports, advertises those in its Metadata responses, and
 * auto-creates unknown topics with a fixed 4 partitions (its
 * defaults.partition_cnt, which no public API changes). So the broker is a
 * mock cluster whose every broker sits behind its own pp_tcpfwd (broker 1
 * on the listen address, the others on free ports of the same host), with
 * one Kafka-aware frame filter:
 *   - Metadata requests (v0..v8): every named topic that may be
 *     auto-created is first created with rd_kafka_mock_topic_create and the
 *     configured partition count (TOPIC_ALREADY_EXISTS is fine), so the
 *     mock's own auto-creation never runs for them;
 *   - Metadata responses (broker list) and FindCoordinator responses
 *     (v0..v2) are rewritten to advertise each broker's forwarder (found
 *     by the mock broker's port), so clients keep talking through the
 *     forwarders and every request passes the filter above.
 * Fault injection (pp_kafka_broker_push_errors, _set_up, ...) wraps the
 * mock's controls; pp_kafka_broker_control is their text interface.
 * Metadata v9+ (flexible encoding) is not rewritten; librdkafka 2.0.2's
 * mock answers ApiVersions with Metadata v2 at most, so clients never send
 * it.
 */
#include "pp_kafka.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "pp_batch.h"
#include "pp_clock.h"
#include "pp_hmap.h"
#include "pp_log.h"
#include "pp_net.h"
#include "pp_tcpfwd.h"

#define KAFKA_API_METADATA 3
#define KAFKA_API_FIND_COORDINATOR 10
#define KAFKA_METADATA_MAX_VERSION 8
#define KAFKA_FIND_COORDINATOR_MAX_VERSION 2
#define KAFKA_PENDING_MAX 64
#define KAFKA_TOPIC_MAX_LEN 249

/* One mock broker and its forwarder. */
struct kafka_node {
    int32_t mock_port; /* the mock broker's own (ephemeral) port */
    struct pp_tcpfwd *fwd;
    /* The forwarder's port, 0 until it listens. Atomic: forwarder threads
     * read every node's port while later forwarders are being started. */
    _Atomic int32_t port;
    bool is_up; /* as last set by pp_kafka_broker_set_up (control thread) */
};

struct pp_kafka_broker {
    rd_kafka_t *rk;
    rd_kafka_mock_cluster_t *mcluster;
    struct kafka_node nodes[PP_KAFKA_BROKER_MAX_BROKERS]; /* [id - 1] */
    int n_nodes;
    int partitions;
    int replication;
    char host[64];   /* advertised host (numeric listen address) */
    char listen[80]; /* host:port of broker 1 */
    char *addresses; /* every forwarder, comma-separated */
    char *mock_bootstraps;
};

/* Per forwarded connection: the Metadata and FindCoordinator requests
 * awaiting an answer. */
struct kafka_conn {
    int32_t corr_id[KAFKA_PENDING_MAX];
    int16_t api_key[KAFKA_PENDING_MAX];
    int16_t version[KAFKA_PENDING_MAX];
    size_t n_pending;
};

/* Translates a librdkafka error code into the project's result type. */
static enum pp_err kafka_err(rd_kafka_resp_err_t rerr)
{
    /* On int: librdkafka's enum has hundreds of values; most map to
     * PP_ERR_INTERNAL. */
    switch ((int)rerr) {
    case RD_KAFKA_RESP_ERR_NO_ERROR: return PP_OK;
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
    case RD_KAFKA_RESP_ERR_INVALID_PARTITIONS:
    case RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR:
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION: return PP_ERR_INVALID;
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART: return PP_ERR_NOTFOUND;
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE: return PP_ERR_TOOBIG;
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR__PURGE_QUEUE:
    case RD_KAFKA_RESP_ERR__PURGE_INFLIGHT: return PP_ERR_IO;
    default: return PP_ERR_INTERNAL;
    }
}

static void kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    if (level <= 3)
        pp_log_warn("kafka: %s: %s", fac, buf);
    else
        pp_log_debug("kafka: %s: %s", fac, buf);
}

static uint16_t kafka_rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t kafka_rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void kafka_wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* A Kafka topic name: 1..249 of [a-zA-Z0-9._-]. */
static bool kafka_is_topic_name(const uint8_t *name, size_t len)
{
    size_t i;

    if (len == 0 || len > KAFKA_TOPIC_MAX_LEN)
        return false;
    for (i = 0; i < len; i++) {
        uint8_t c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

static void *kafka_conn_new(void *arg)
{
    (void)arg;
    return calloc(1, sizeof(struct kafka_conn));
}

static void kafka_conn_free(void *arg, void *conn)
{
    (void)arg;
    free(conn);
}

static bool kafka_wants(void *arg, void *vconn, enum pp_tcpfwd_dir dir, const uint8_t *head,
                        size_t head_len)
{
    struct kafka_conn *conn = vconn;
    size_t i;

    (void)arg;
    if (dir == PP_TCPFWD_TO_UPSTREAM) {
        if (head_len < 12)
            return false;
        return (kafka_rd16(head + 4) == KAFKA_API_METADATA &&
                kafka_rd16(head + 6) <= KAFKA_METADATA_MAX_VERSION) ||
               (kafka_rd16(head + 4) == KAFKA_API_FIND_COORDINATOR &&
                kafka_rd16(head + 6) <= KAFKA_FIND_COORDINATOR_MAX_VERSION);
    }
    if (head_len < 8)
        return false;
    for (i = 0; i < conn->n_pending; i++)
        if (conn->corr_id[i] == (int32_t)kafka_rd32(head + 4))
            return true;
    return false;
}

/* Reads a Metadata request's topics and creates each one that does not
 * exist yet, when the request allows auto-creation. Malformed requests are
 * forwarded unchanged: the mock answers them. */
static void kafka_metadata_request(struct pp_kafka_broker *broker, const uint8_t *p, size_t len,
                                   int16_t version)
{
    const uint8_t *end = p + len;
    const uint8_t *topics;
    int32_t n_topics;
    int32_t i;
    int16_t client_len;

    p += 12;
    if (end - p < 2)
        return;
    client_len = (int16_t)kafka_rd16(p);
    p += 2;
    if (client_len > 0) {
        if (end - p < client_len)
            return;
        p += client_len;
    }
    if (end - p < 4)
        return;
    n_topics = (int32_t)kafka_rd32(p);
    p += 4;
    if (n_topics <= 0)
        return;
    topics = p;
    /* Find allow_auto_topic_creation (v4+) after the topic array. */
    for (i = 0; i < n_topics; i++) {
        if (end - p < 2)
            return;
        int16_t n = (int16_t)kafka_rd16(p);
        p += 2;
        if (n < 0 || end - p < n)
            return;
        p += n;
    }
    if (version >= 4 && (end - p < 1 || p[0] == 0))
        return;
    p = topics;
    for (i = 0; i < n_topics; i++) {
        size_t n = kafka_rd16(p);
        char name[KAFKA_TOPIC_MAX_LEN + 1];
        rd_kafka_resp_err_t rerr;

        p += 2;
        if (kafka_is_topic_name(p, n)) {
            memcpy(name, p, n);
            name[n] = '\0';
            rerr = rd_kafka_mock_topic_create(broker->mcluster, name, broker->partitions,
                                              broker->replication);
            if (rerr == RD_KAFKA_RESP_ERR_NO_ERROR)
                pp_log_info("broker: created topic %s with %d partitions", name,
                            broker->partitions);
            else if (rerr != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
                pp_log_warn("broker: cannot create topic %s: %s (%s)", name, rd_kafka_err2str(rerr),
                            pp_err_str(kafka_err(rerr)));
        }
        p += n;
    }
}

/* The port that advertises the mock broker listening on mock_port: its
 * forwarder's. False for a port that is no broker's (or whose forwarder is
 * not listening yet): the answer then keeps the mock's own address, which
 * still works, without the forwarder. Forwarder threads. */
static bool kafka_forwarder_port(const struct pp_kafka_broker *broker, int32_t mock_port,
                                 int32_t *port)
{
    int i;

    for (i = 0; i < broker->n_nodes; i++) {
        if (broker->nodes[i].mock_port == mock_port) {
            *port = atomic_load_explicit(&broker->nodes[i].port, memory_order_relaxed);
            return *port != 0;
        }
    }
    return false;
}

/* Writes a Kafka string (int16 length, bytes) and a port. */
static uint8_t *kafka_put_address(uint8_t *o, const char *host, size_t host_len, int32_t port)
{
    o[0] = (uint8_t)(host_len >> 8);
    o[1] = (uint8_t)host_len;
    memcpy(o + 2, host, host_len);
    o += 2 + host_len;
    kafka_wr32(o, (uint32_t)port);
    return o + 4;
}

/* Makes out (new_len bytes, allocated with at least frame->cap) the
 * frame, fixing its size prefix; the old bytes are freed. */
static void kafka_frame_replace(struct pp_tcpfwd_frame *frame, uint8_t *out, size_t new_len)
{
    kafka_wr32(out, (uint32_t)(new_len - 4));
    free(frame->data);
    frame->data = out;
    frame->len = new_len;
    if (frame->cap < new_len)
        frame->cap = new_len;
}

/* Rewrites the broker list of a Metadata response to advertise each
 * broker's forwarder. Returns non-zero when the frame cannot be parsed. */
static enum pp_err kafka_metadata_response(struct pp_kafka_broker *broker,
                                           struct pp_tcpfwd_frame *frame, int16_t version)
{
    const uint8_t *p = frame->data + 8;
    const uint8_t *end = frame->data + frame->len;
    const uint8_t *brokers;
    size_t host_len = strlen(broker->host);
    size_t new_len;
    int32_t n_brokers;
    int32_t i;
    uint8_t *out;
    uint8_t *o;

    if (version >= 3)
        p += 4;
    if (end - p < 4)
        return PP_ERR_CORRUPT;
    n_brokers = (int32_t)kafka_rd32(p);
    p += 4;
    if (n_brokers < 0 || n_brokers > 1000)
        return PP_ERR_CORRUPT;
    brokers = p;
    new_len = (size_t)(brokers - frame->data);
    for (i = 0; i < n_brokers; i++) {
        int16_t n;
        int32_t port;
        if (end - p < 6)
            return PP_ERR_CORRUPT;
        p += 4;
        n = (int16_t)kafka_rd16(p);
        if (n < 0 || end - p < 2 + n + 4)
            return PP_ERR_CORRUPT;
        new_len += 4 + 2 + 4;
        new_len += kafka_forwarder_port(broker, (int32_t)kafka_rd32(p + 2 + n), &port) ? host_len
                                                                                       : (size_t)n;
        p += 2 + n + 4;
        if (version >= 1) {
            if (end - p < 2)
                return PP_ERR_CORRUPT;
            n = (int16_t)kafka_rd16(p);
            if (n > 0 && end - p < 2 + n)
                return PP_ERR_CORRUPT;
            new_len += 2 + (size_t)(n > 0 ? n : 0);
            p += 2 + (n > 0 ? n : 0);
        }
    }
    new_len += (size_t)(end - p);
    out = malloc(new_len > frame->cap ? new_len : frame->cap);
    if (out == NULL)
        return PP_ERR_NOMEM;
    memcpy(out, frame->data, (size_t)(brokers - frame->data));
    o = out + (brokers - frame->data);
    p = brokers;
    for (i = 0; i < n_brokers; i++) {
        int16_t n;
        int32_t port;
        memcpy(o, p, 4); /* node_id */
        o += 4;
        p += 4;
        n = (int16_t)kafka_rd16(p);
        if (kafka_forwarder_port(broker, (int32_t)kafka_rd32(p + 2 + n), &port)) {
            o = kafka_put_address(o, broker->host, host_len, port);
        } else {
            memcpy(o, p, 2 + (size_t)n + 4);
            o += 2 + n + 4;
        }
        p += 2 + n + 4;
        if (version >= 1) {
            n = (int16_t)kafka_rd16(p);
            memcpy(o, p, 2 + (size_t)(n > 0 ? n : 0));
            o += 2 + (n > 0 ? n : 0);
            p += 2 + (n > 0 ? n : 0);
        }
    }
    memcpy(o, p, (size_t)(end - p));
    kafka_frame_replace(frame, out, new_len);
    return PP_OK;
}

/* Rewrites a FindCoordinator response (v0..v2) to name the coordinator's
 * forwarder: otherwise librdkafka renames that broker to the mock's own
 * port and leaves the forwarder. An error answer (node -1, no address) is
 * left as it is. */
static enum pp_err kafka_coordinator_response(struct pp_kafka_broker *broker,
                                              struct pp_tcpfwd_frame *frame, int16_t version)
{
    const uint8_t *p = frame->data + 8;
    const uint8_t *end = frame->data + frame->len;
    size_t host_len = strlen(broker->host);
    size_t head_len;
    size_t new_len;
    uint8_t *out;
    uint8_t *o;
    int32_t port;
    int16_t n;

    if (version >= 1)
        p += 4; /* throttle_time_ms */
    p += 2;     /* error_code */
    if (version >= 1) {
        if (end - p < 2)
            return PP_ERR_CORRUPT;
        n = (int16_t)kafka_rd16(p);
        p += 2 + (n > 0 ? n : 0);
    }
    p += 4; /* node_id */
    if (end - p < 2)
        return PP_ERR_CORRUPT;
    n = (int16_t)kafka_rd16(p);
    if (n < 0 || end - p < 2 + n + 4)
        return PP_ERR_CORRUPT;
    if (!kafka_forwarder_port(broker, (int32_t)kafka_rd32(p + 2 + n), &port))
        return PP_OK;
    head_len = (size_t)(p - frame->data);
    p += 2 + n + 4;
    new_len = head_len + 2 + host_len + 4 + (size_t)(end - p);
    out = malloc(new_len > frame->cap ? new_len : frame->cap);
    if (out == NULL)
        return PP_ERR_NOMEM;
    memcpy(out, frame->data, head_len);
    o = kafka_put_address(out + head_len, broker->host, host_len, port);
    memcpy(o, p, (size_t)(end - p));
    kafka_frame_replace(frame, out, new_len);
    return PP_OK;
}

static enum pp_err kafka_rewrite(void *arg, void *vconn, enum pp_tcpfwd_dir dir,
                                 struct pp_tcpfwd_frame *frame)
{
    struct pp_kafka_broker *broker = arg;
    struct kafka_conn *conn = vconn;
    int32_t corr_id;
    int16_t api_key;
    int16_t version;
    size_t i;

    if (dir == PP_TCPFWD_TO_UPSTREAM) {
        api_key = (int16_t)kafka_rd16(frame->data + 4);
        version = (int16_t)kafka_rd16(frame->data + 6);
        corr_id = (int32_t)kafka_rd32(frame->data + 8);
        if (api_key == KAFKA_API_METADATA)
            kafka_metadata_request(broker, frame->data, frame->len, version);
        if (conn->n_pending == KAFKA_PENDING_MAX) {
            /* Too many in flight: forget the oldest; its answer then keeps
             * the mock's own address, which still works. */
            memmove(conn->corr_id, conn->corr_id + 1, (KAFKA_PENDING_MAX - 1) * sizeof(int32_t));
            memmove(conn->version, conn->version + 1, (KAFKA_PENDING_MAX - 1) * sizeof(int16_t));
            memmove(conn->api_key, conn->api_key + 1, (KAFKA_PENDING_MAX - 1) * sizeof(int16_t));
            conn->n_pending--;
        }
        conn->corr_id[conn->n_pending] = corr_id;
        conn->api_key[conn->n_pending] = api_key;
        conn->version[conn->n_pending] = version;
        conn->n_pending++;
        return PP_OK;
    }
    corr_id = (int32_t)kafka_rd32(frame->data + 4);
    for (i = 0; i < conn->n_pending && conn->corr_id[i] != corr_id; i++)
        ;
    if (i == conn->n_pending)
        return PP_OK;
    api_key = conn->api_key[i];
    version = conn->version[i];
    memmove(conn->corr_id + i, conn->corr_id + i + 1, (conn->n_pending - i - 1) * sizeof(int32_t));
    memmove(conn->api_key + i, conn->api_key + i + 1, (conn->n_pending - i - 1) * sizeof(int16_t));
    memmove(conn->version + i, conn->version + i + 1, (conn->n_pending - i - 1) * sizeof(int16_t));
    conn->n_pending--;
    if (api_key == KAFKA_API_FIND_COORDINATOR)
        return kafka_coordinator_response(broker, frame, version);
    return kafka_metadata_response(broker, frame, version);
}

/* Creates a client handle. On success rd_kafka_new owns *conf and it is set
 * to NULL; on failure *conf stays the caller's. */
static enum pp_err kafka_handle_new(rd_kafka_type_t type, rd_kafka_conf_t **conf, rd_kafka_t **rk,
                                    char *msg, size_t msg_len)
{
    char errstr[512];

    *rk = rd_kafka_new(type, *conf, errstr, sizeof errstr);
    if (*rk == NULL) {
        snprintf(msg, msg_len, "librdkafka: %s", errstr);
        return PP_ERR_INTERNAL;
    }
    *conf = NULL;
    return PP_OK;
}

/* Reads the mock cluster's broker list ("127.0.0.1:port,...", in broker
 * id order: the mock creates brokers 1..n in order and lists them so) into
 * the nodes' mock ports. */
static enum pp_err kafka_broker_mock_ports(struct pp_kafka_broker *broker, char *msg,
                                           size_t msg_len)
{
    const char *p = broker->mock_bootstraps;
    int i;

    for (i = 0; i < broker->n_nodes; i++) {
        const char *comma = strchr(p, ',');
        const char *end = comma ? comma : p + strlen(p);
        const char *colon = NULL;
        const char *q;
        long port;

        for (q = p; q < end; q++)
            if (*q == ':')
                colon = q;
        port = colon ? strtol(colon + 1, NULL, 10) : 0;
        if (port <= 0 || port > 65535) {
            snprintf(msg, msg_len, "librdkafka: unexpected mock broker list '%s'",
                     broker->mock_bootstraps);
            return PP_ERR_INTERNAL;
        }
        broker->nodes[i].mock_port = (int32_t)port;
        broker->nodes[i].is_up = true;
        if (comma == NULL && i + 1 < broker->n_nodes) {
            snprintf(msg, msg_len, "librdkafka: %d brokers expected in '%s'", broker->n_nodes,
                     broker->mock_bootstraps);
            return PP_ERR_INTERNAL;
        }
        p = end + (comma ? 1 : 0);
    }
    return PP_OK;
}

/* Starts the forwarder of each node: broker 1 on listen, the others on
 * free ports of the same host. The last ones first, so that when clients
 * can bootstrap (broker 1 listens) every address they learn is live. */
static enum pp_err kafka_broker_forwarders(struct pp_kafka_broker *broker, const char *listen,
                                           char *msg, size_t msg_len)
{
    struct pp_tcpfwd_filter filter = {
        .arg = broker,
        .conn_new = kafka_conn_new,
        .conn_free = kafka_conn_free,
        .wants = kafka_wants,
        .rewrite = kafka_rewrite,
    };
    size_t len = 0;
    enum pp_err err;
    int i;

    for (i = broker->n_nodes - 1; i >= 0; i--) {
        struct kafka_node *node = &broker->nodes[i];
        char upstream[32];
        struct pp_tcpfwd_options fwd_options = {
            .listen = listen,
            .upstream = upstream,
            .filter = &filter,
            .is_any_port = i > 0,
        };

        snprintf(upstream, sizeof upstream, "127.0.0.1:%d", (int)node->mock_port);
        /* pp_tcpfwd_new parses the same address as pp_kafka_broker_new, so
         * it listens where the rewritten answers point. */
        if ((err = pp_tcpfwd_new(&fwd_options, &node->fwd, msg, msg_len)))
            return err;
        atomic_store(&node->port, (int32_t)pp_tcpfwd_port(node->fwd));
        len += strlen(pp_tcpfwd_address(node->fwd)) + 1;
    }
    snprintf(broker->listen, sizeof broker->listen, "%s", pp_tcpfwd_address(broker->nodes[0].fwd));
    broker->addresses = malloc(len);
    if (broker->addresses == NULL)
        return PP_ERR_NOMEM;
    broker->addresses[0] = '\0';
    for (i = 0; i < broker->n_nodes; i++) {
        if (i > 0)
            strcat(broker->addresses, ",");
        strcat(broker->addresses, pp_tcpfwd_address(broker->nodes[i].fwd));
    }
    return PP_OK;
}

enum pp_err pp_kafka_broker_new(const struct pp_kafka_broker_options *options,
                                struct pp_kafka_broker **broker_out, char *msg, size_t msg_len)
{
    struct pp_kafka_broker *broker;
    rd_kafka_conf_t *conf;
    const char *listen = options->listen ? options->listen : PP_KAFKA_BROKER_DEFAULT_LISTEN;
    struct sockaddr_storage ss;
    socklen_t ss_len;
    enum pp_err err;

    *broker_out = NULL;
    msg[0] = '\0';
    broker = calloc(1, sizeof *broker);
    if (broker == NULL)
        return PP_ERR_NOMEM;
    broker->partitions =
        options->partitions ? options->partitions : PP_KAFKA_BROKER_DEFAULT_PARTITIONS;
    if (broker->partitions < 1 || broker->partitions > PP_KAFKA_BROKER_MAX_PARTITIONS) {
        snprintf(msg, msg_len, "partitions must be 1..%d, not %d", PP_KAFKA_BROKER_MAX_PARTITIONS,
                 broker->partitions);
        err = PP_ERR_USAGE;
        goto fail;
    }
    /* Checked before n_nodes is set: destroy walks nodes[0, n_nodes). */
    if (options->brokers < 0 || options->brokers > PP_KAFKA_BROKER_MAX_BROKERS) {
        snprintf(msg, msg_len, "brokers must be 1..%d, not %d", PP_KAFKA_BROKER_MAX_BROKERS,
                 options->brokers);
        err = PP_ERR_USAGE;
        goto fail;
    }
    broker->n_nodes = options->brokers ? options->brokers : 1;
    /* Kafka's usual replication factor, never more than there are
     * brokers. */
    broker->replication = broker->n_nodes < 3 ? broker->n_nodes : 3;
    /* The advertised host is the numeric listen address, known before the
     * forwarder threads start filtering. */
    if ((err = pp_tcpfwd_parse_addr(listen, true, &ss, &ss_len, msg, msg_len)))
        goto fail;
    if (getnameinfo((struct sockaddr *)&ss, ss_len, broker->host, sizeof broker->host, NULL, 0,
                    NI_NUMERICHOST) != 0) {
        snprintf(msg, msg_len, "cannot use '%s'", listen);
        err = PP_ERR_USAGE;
        goto fail;
    }

    conf = rd_kafka_conf_new();
    rd_kafka_conf_set_log_cb(conf, kafka_log_cb);
    if ((err = kafka_handle_new(RD_KAFKA_PRODUCER, &conf, &broker->rk, msg, msg_len))) {
        rd_kafka_conf_destroy(conf);
        goto fail;
    }
    broker->mcluster = rd_kafka_mock_cluster_new(broker->rk, broker->n_nodes);
    if (broker->mcluster == NULL) {
        snprintf(msg, msg_len, "librdkafka: cannot create the mock cluster");
        err = PP_ERR_INTERNAL;
        goto fail;
    }
    broker->mock_bootstraps = strdup(rd_kafka_mock_cluster_bootstraps(broker->mcluster));
    if (broker->mock_bootstraps == NULL) {
        err = PP_ERR_NOMEM;
        goto fail;
    }
    if ((err = kafka_broker_mock_ports(broker, msg, msg_len)) ||
        (err = kafka_broker_forwarders(broker, listen, msg, msg_len)))
        goto fail;
    *broker_out = broker;
    return PP_OK;
fail:
    pp_kafka_broker_destroy(broker);
    return err;
}

const char *pp_kafka_broker_bootstraps(const struct pp_kafka_broker *broker)
{
    return broker->listen;
}

const char *pp_kafka_broker_addresses(const struct pp_kafka_broker *broker)
{
    return broker->addresses;
}

const char *pp_kafka_broker_mock_bootstraps(const struct pp_kafka_broker *broker)
{
    return broker->mock_bootstraps;
}

int pp_kafka_broker_partitions(const struct pp_kafka_broker *broker)
{
    return broker->partitions;
}

int pp_kafka_broker_count(const struct pp_kafka_broker *broker)
{
    return broker->n_nodes;
}

/*
 * Fault injection.
 */

/* The Kafka protocol's API names, by key (those librdkafka 2.0.2's mock
 * answers are listed in docs/broker.md). */
static const char *const kafka_api_names[] = {
    "Produce",
    "Fetch",
    "ListOffsets",
    "Metadata",
    "LeaderAndIsr",
    "StopReplica",
    "UpdateMetadata",
    "ControlledShutdown",
    "OffsetCommit",
    "OffsetFetch",
    "FindCoordinator",
    "JoinGroup",
    "Heartbeat",
    "LeaveGroup",
    "SyncGroup",
    "DescribeGroups",
    "ListGroups",
    "SaslHandshake",
    "ApiVersions",
    "CreateTopics",
    "DeleteTopics",
    "DeleteRecords",
    "InitProducerId",
    "OffsetForLeaderEpoch",
    "AddPartitionsToTxn",
    "AddOffsetsToTxn",
    "EndTxn",
    "WriteTxnMarkers",
    "TxnOffsetCommit",
    "DescribeAcls",
    "CreateAcls",
    "DeleteAcls",
    "DescribeConfigs",
    "AlterConfigs",
    "AlterReplicaLogDirs",
    "DescribeLogDirs",
    "SaslAuthenticate",
    "CreatePartitions",
    "CreateDelegationToken",
    "RenewDelegationToken",
    "ExpireDelegationToken",
    "DescribeDelegationToken",
    "DeleteGroups",
    "ElectLeaders",
    "IncrementalAlterConfigs",
    "AlterPartitionReassignments",
    "ListPartitionReassignments",
    "OffsetDelete",
};

#define KAFKA_N_API_NAMES (sizeof kafka_api_names / sizeof kafka_api_names[0])
#define KAFKA_MAX_PUSHED_ERRORS 100000

/* A decimal integer in [lo, hi], the whole text. */
static bool kafka_parse_long(const char *text, long lo, long hi, long *v)
{
    char *end;

    if (*text == '\0' || (*text != '-' && (*text < '0' || *text > '9')))
        return false;
    errno = 0;
    *v = strtol(text, &end, 10);
    return errno == 0 && *end == '\0' && *v >= lo && *v <= hi;
}

enum pp_err pp_kafka_api_parse(const char *text, int16_t *api_key)
{
    long v;
    size_t i;

    if (kafka_parse_long(text, 0, INT16_MAX, &v)) {
        *api_key = (int16_t)v;
        return PP_OK;
    }
    for (i = 0; i < KAFKA_N_API_NAMES; i++) {
        if (strcasecmp(text, kafka_api_names[i]) == 0) {
            *api_key = (int16_t)i;
            return PP_OK;
        }
    }
    return PP_ERR_NOTFOUND;
}

const char *pp_kafka_api_name(int16_t api_key)
{
    return api_key >= 0 && (size_t)api_key < KAFKA_N_API_NAMES ? kafka_api_names[api_key] : "?";
}

enum pp_err pp_kafka_error_parse(const char *text, int *error)
{
    const struct rd_kafka_err_desc *descs;
    size_t n;
    size_t i;
    long v;

    if (kafka_parse_long(text, INT32_MIN, INT32_MAX, &v)) {
        *error = (int)v;
        return PP_OK;
    }
    if (strncasecmp(text, "RD_KAFKA_RESP_ERR_", 18) == 0)
        text += 18;
    rd_kafka_get_err_descs(&descs, &n);
    for (i = 0; i < n; i++) {
        if (descs[i].name != NULL && strcasecmp(text, descs[i].name) == 0) {
            *error = descs[i].code;
            return PP_OK;
        }
    }
    return PP_ERR_NOTFOUND;
}

const char *pp_kafka_error_name(int error)
{
    return rd_kafka_err2name((rd_kafka_resp_err_t)error);
}

/* True for -1 (every broker) and for the id of a broker. */
static bool kafka_broker_has(const struct pp_kafka_broker *broker, int32_t broker_id)
{
    return broker_id == -1 || (broker_id >= 1 && broker_id <= broker->n_nodes);
}

enum pp_err pp_kafka_broker_push_errors(struct pp_kafka_broker *broker, int16_t api_key,
                                        size_t count, int error)
{
    rd_kafka_resp_err_t *errors;
    size_t i;

    if (api_key < 0 || count == 0 || count > KAFKA_MAX_PUSHED_ERRORS)
        return PP_ERR_INVALID;
    errors = malloc(count * sizeof *errors);
    if (errors == NULL)
        return PP_ERR_NOMEM;
    for (i = 0; i < count; i++)
        errors[i] = (rd_kafka_resp_err_t)error;
    rd_kafka_mock_push_request_errors_array(broker->mcluster, api_key, count, errors);
    free(errors);
    return PP_OK;
}

enum pp_err pp_kafka_broker_push_broker_errors(struct pp_kafka_broker *broker, int32_t broker_id,
                                               int16_t api_key, size_t count, int error)
{
    rd_kafka_resp_err_t rerr = RD_KAFKA_RESP_ERR_NO_ERROR;
    size_t i;

    if (api_key < 0 || count == 0 || count > KAFKA_MAX_PUSHED_ERRORS)
        return PP_ERR_INVALID;
    if (broker_id == -1 || !kafka_broker_has(broker, broker_id))
        return PP_ERR_NOTFOUND;
    /* The call is variadic in (error, rtt) pairs: one pair at a time. */
    for (i = 0; i < count && rerr == RD_KAFKA_RESP_ERR_NO_ERROR; i++)
        rerr = rd_kafka_mock_broker_push_request_error_rtts(broker->mcluster, broker_id, api_key, 1,
                                                            (rd_kafka_resp_err_t)error, 0);
    return rerr == RD_KAFKA_RESP_ERR_NO_ERROR ? PP_OK : PP_ERR_INTERNAL;
}

enum pp_err pp_kafka_broker_pending_errors(struct pp_kafka_broker *broker, int32_t broker_id,
                                           int16_t api_key, size_t *count)
{
    if (api_key < 0)
        return PP_ERR_INVALID;
    if (broker_id == -1 || !kafka_broker_has(broker, broker_id))
        return PP_ERR_NOTFOUND;
    return rd_kafka_mock_broker_error_stack_cnt(broker->mcluster, broker_id, api_key, count) ==
                   RD_KAFKA_RESP_ERR_NO_ERROR
               ? PP_OK
               : PP_ERR_INTERNAL;
}

enum pp_err pp_kafka_broker_clear_errors(struct pp_kafka_broker *broker, int16_t api_key)
{
    if (api_key < 0)
        return PP_ERR_INVALID;
    rd_kafka_mock_clear_request_errors(broker->mcluster, api_key);
    return PP_OK;
}

enum pp_err pp_kafka_broker_set_up(struct pp_kafka_broker *broker, int32_t broker_id, bool is_up)
{
    rd_kafka_resp_err_t rerr;
    int i;

    if (!kafka_broker_has(broker, broker_id))
        return PP_ERR_NOTFOUND;
    rerr = is_up ? rd_kafka_mock_broker_set_up(broker->mcluster, broker_id)
                 : rd_kafka_mock_broker_set_down(broker->mcluster, broker_id);
    if (rerr != RD_KAFKA_RESP_ERR_NO_ERROR)
        return kafka_err(rerr);
    for (i = 0; i < broker->n_nodes; i++)
        if (broker_id == -1 || broker_id == i + 1)
            broker->nodes[i].is_up = is_up;
    return PP_OK;
}

enum pp_err pp_kafka_broker_set_rtt(struct pp_kafka_broker *broker, int32_t broker_id, int rtt_ms)
{
    if (rtt_ms < 0)
        return PP_ERR_INVALID;
    if (!kafka_broker_has(broker, broker_id))
        return PP_ERR_NOTFOUND;
    return kafka_err(rd_kafka_mock_broker_set_rtt(broker->mcluster, broker_id, rtt_ms));
}

enum pp_err pp_kafka_broker_set_leader(struct pp_kafka_broker *broker, const char *topic,
                                       int32_t partition, int32_t broker_id)
{
    rd_kafka_resp_err_t rerr;
    int32_t p;

    if (!kafka_is_topic_name((const uint8_t *)topic, strlen(topic)) ||
        (broker_id != -1 && !kafka_broker_has(broker, broker_id)) || partition < -1 ||
        partition >= broker->partitions)
        return PP_ERR_NOTFOUND;
    /* The mock would create an unknown topic with its own 4 partitions:
     * create it as a client's first use would. */
    rerr = rd_kafka_mock_topic_create(broker->mcluster, topic, broker->partitions,
                                      broker->replication);
    if (rerr != RD_KAFKA_RESP_ERR_NO_ERROR && rerr != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
        return kafka_err(rerr);
    for (p = partition < 0 ? 0 : partition;
         p < (partition < 0 ? broker->partitions : partition + 1); p++) {
        rerr = rd_kafka_mock_partition_set_leader(broker->mcluster, topic, p, broker_id);
        if (rerr != RD_KAFKA_RESP_ERR_NO_ERROR)
            return kafka_err(rerr);
    }
    return PP_OK;
}

enum pp_err pp_kafka_broker_set_coordinator(struct pp_kafka_broker *broker, const char *group,
                                            int32_t broker_id)
{
    if (!kafka_broker_has(broker, broker_id) || broker_id == -1 || group[0] == '\0')
        return PP_ERR_NOTFOUND;
    return kafka_err(rd_kafka_mock_coordinator_set(broker->mcluster, "group", group, broker_id));
}

/*
 * The control interface: one command per line, words separated by blanks,
 * one answer line each. The grammar is in docs/broker.md and in the help
 * answer below.
 */

#define KAFKA_CONTROL_MAX_WORDS 8

static const char kafka_control_help[] =
    "commands: errors <api> <count> <error> [broker <id>]; pending <api> <broker id>; "
    "clear <api>; down <broker id|all>; up <broker id|all>; rtt <broker id|all> <ms>; "
    "leader <topic> <partition|all> <broker id|none>; coordinator <group> <broker id>; "
    "status; help";

/* A broker id word: an id 1..n, or with is_all "all" (-1), or with
 * is_none "none" (-1). On failure the answer names the word. */
static enum pp_err kafka_control_broker_id(const struct pp_kafka_broker *broker, const char *text,
                                           bool is_all, bool is_none, int32_t *broker_id,
                                           char *answer, size_t answer_len)
{
    long v;

    if ((is_all && strcmp(text, "all") == 0) || (is_none && strcmp(text, "none") == 0)) {
        *broker_id = -1;
        return PP_OK;
    }
    if (kafka_parse_long(text, 1, broker->n_nodes, &v)) {
        *broker_id = (int32_t)v;
        return PP_OK;
    }
    snprintf(answer, answer_len, "error no broker '%s' (ids 1..%d%s)", text, broker->n_nodes,
             is_all    ? ", or all"
             : is_none ? ", or none"
                       : "");
    return PP_ERR_NOTFOUND;
}

static enum pp_err kafka_control_api(const char *text, int16_t *api_key, char *answer,
                                     size_t answer_len)
{
    if (pp_kafka_api_parse(text, api_key) == PP_OK)
        return PP_OK;
    snprintf(answer, answer_len,
             "error unknown Kafka API '%s' (a name such as Produce, Fetch, OffsetCommit, or a "
             "number)",
             text);
    return PP_ERR_USAGE;
}

/* A number word in [lo, hi]; on failure the answer names it. */
static enum pp_err kafka_control_number(const char *what, const char *text, long lo, long hi,
                                        long *v, char *answer, size_t answer_len)
{
    if (kafka_parse_long(text, lo, hi, v))
        return PP_OK;
    snprintf(answer, answer_len, "error %s must be %ld..%ld, not '%s'", what, lo, hi, text);
    return PP_ERR_USAGE;
}

/* errors <api> <count> <error> [broker <id>] */
static enum pp_err kafka_control_errors(struct pp_kafka_broker *broker, char **w, int n,
                                        char *answer, size_t answer_len)
{
    int32_t broker_id = -1;
    int16_t api_key;
    enum pp_err err;
    long count;
    int error;

    if (n != 4 && !(n == 6 && strcmp(w[4], "broker") == 0)) {
        snprintf(answer, answer_len, "error usage: errors <api> <count> <error> [broker <id>]");
        return PP_ERR_USAGE;
    }
    if ((err = kafka_control_api(w[1], &api_key, answer, answer_len)) ||
        (err = kafka_control_number("count", w[2], 1, KAFKA_MAX_PUSHED_ERRORS, &count, answer,
                                    answer_len)) ||
        (n == 6 && (err = kafka_control_broker_id(broker, w[5], false, false, &broker_id, answer,
                                                  answer_len))))
        return err;
    if (pp_kafka_error_parse(w[3], &error) != PP_OK) {
        snprintf(answer, answer_len,
                 "error unknown Kafka error '%s' (a name such as NOT_LEADER_FOR_PARTITION or "
                 "_TRANSPORT, or a code)",
                 w[3]);
        return PP_ERR_USAGE;
    }
    err = n == 6
              ? pp_kafka_broker_push_broker_errors(broker, broker_id, api_key, (size_t)count, error)
              : pp_kafka_broker_push_errors(broker, api_key, (size_t)count, error);
    if (err == PP_OK)
        snprintf(answer, answer_len, "ok errors %s %ld %s%s%s", pp_kafka_api_name(api_key), count,
                 pp_kafka_error_name(error), n == 6 ? " broker " : "", n == 6 ? w[5] : "");
    return err;
}

static void kafka_control_status(const struct pp_kafka_broker *broker, char *answer,
                                 size_t answer_len)
{
    size_t len;
    int i;

    snprintf(answer, answer_len,
             "ok status: %d brokers, topics get %d partitions, replication %d:", broker->n_nodes,
             broker->partitions, broker->replication);
    for (i = 0; i < broker->n_nodes; i++) {
        len = strlen(answer);
        snprintf(answer + len, answer_len - len, "%s broker %d %s %s", i > 0 ? "," : "", i + 1,
                 pp_tcpfwd_address(broker->nodes[i].fwd), broker->nodes[i].is_up ? "up" : "down");
    }
}

/* Runs one command of n words; on success writes the "ok" answer, on
 * failure may leave the answer empty (the caller then names the error). */
static enum pp_err kafka_control_run(struct pp_kafka_broker *broker, char **w, int n, char *answer,
                                     size_t answer_len)
{
    const char *cmd = w[0];
    int32_t broker_id;
    int32_t partition = -1;
    int16_t api_key;
    size_t count = 0;
    enum pp_err err;
    long v = 0;

    if (strcmp(cmd, "help") == 0 && n == 1) {
        snprintf(answer, answer_len, "ok %s", kafka_control_help);
        return PP_OK;
    }
    if (strcmp(cmd, "status") == 0 && n == 1) {
        kafka_control_status(broker, answer, answer_len);
        return PP_OK;
    }
    if (strcmp(cmd, "errors") == 0)
        return kafka_control_errors(broker, w, n, answer, answer_len);
    if (strcmp(cmd, "pending") == 0 && n == 3) {
        if ((err = kafka_control_api(w[1], &api_key, answer, answer_len)) ||
            (err = kafka_control_broker_id(broker, w[2], false, false, &broker_id, answer,
                                           answer_len)) ||
            (err = pp_kafka_broker_pending_errors(broker, broker_id, api_key, &count)))
            return err;
        snprintf(answer, answer_len, "ok pending %s broker %d %zu", pp_kafka_api_name(api_key),
                 (int)broker_id, count);
        return PP_OK;
    }
    if (strcmp(cmd, "clear") == 0 && n == 2) {
        if ((err = kafka_control_api(w[1], &api_key, answer, answer_len)) ||
            (err = pp_kafka_broker_clear_errors(broker, api_key)))
            return err;
        snprintf(answer, answer_len, "ok clear %s", pp_kafka_api_name(api_key));
        return PP_OK;
    }
    if ((strcmp(cmd, "down") == 0 || strcmp(cmd, "up") == 0) && n == 2) {
        if ((err = kafka_control_broker_id(broker, w[1], true, false, &broker_id, answer,
                                           answer_len)) ||
            (err = pp_kafka_broker_set_up(broker, broker_id, cmd[0] == 'u')))
            return err;
    } else if (strcmp(cmd, "rtt") == 0 && n == 3) {
        if ((err = kafka_control_broker_id(broker, w[1], true, false, &broker_id, answer,
                                           answer_len)) ||
            (err = kafka_control_number("rtt", w[2], 0, 3600000, &v, answer, answer_len)) ||
            (err = pp_kafka_broker_set_rtt(broker, broker_id, (int)v)))
            return err;
    } else if (strcmp(cmd, "leader") == 0 && n == 4) {
        if ((strcmp(w[2], "all") != 0 &&
             (err = kafka_control_number("partition", w[2], 0, broker->partitions - 1, &v, answer,
                                         answer_len))) ||
            (err = kafka_control_broker_id(broker, w[3], false, true, &broker_id, answer,
                                           answer_len)))
            return err;
        if (strcmp(w[2], "all") != 0)
            partition = (int32_t)v;
        if ((err = pp_kafka_broker_set_leader(broker, w[1], partition, broker_id))) {
            snprintf(answer, answer_len, "error cannot set the leader of %s [%s]: %s", w[1], w[2],
                     pp_err_str(err));
            return err;
        }
    } else if (strcmp(cmd, "coordinator") == 0 && n == 3) {
        if ((err = kafka_control_broker_id(broker, w[2], false, false, &broker_id, answer,
                                           answer_len)) ||
            (err = pp_kafka_broker_set_coordinator(broker, w[1], broker_id)))
            return err;
    } else {
        snprintf(answer, answer_len, "error unknown command or wrong arguments: '%s' (%s)", cmd,
                 kafka_control_help);
        return PP_ERR_USAGE;
    }
    /* down, up, rtt, leader, coordinator: the answer repeats the words. */
    snprintf(answer, answer_len, "ok %s %s%s%s%s%s", cmd, w[1], n > 2 ? " " : "", n > 2 ? w[2] : "",
             n > 3 ? " " : "", n > 3 ? w[3] : "");
    return PP_OK;
}

enum pp_err pp_kafka_broker_control(struct pp_kafka_broker *broker, const char *line, char *answer,
                                    size_t answer_len)
{
    char buf[PP_KAFKA_CONTROL_MAX_LINE + 1];
    char *w[KAFKA_CONTROL_MAX_WORDS];
    char *save = NULL;
    char *tok;
    enum pp_err err;
    int n = 0;

    answer[0] = '\0';
    if (strlen(line) > PP_KAFKA_CONTROL_MAX_LINE) {
        snprintf(answer, answer_len, "error line longer than %d bytes", PP_KAFKA_CONTROL_MAX_LINE);
        return PP_ERR_USAGE;
    }
    snprintf(buf, sizeof buf, "%s", line);
    for (tok = strtok_r(buf, " \t\r", &save); tok != NULL; tok = strtok_r(NULL, " \t\r", &save)) {
        if (n == KAFKA_CONTROL_MAX_WORDS) {
            snprintf(answer, answer_len, "error too many words");
            return PP_ERR_USAGE;
        }
        w[n++] = tok;
    }
    if (n == 0 || w[0][0] == '#')
        return PP_OK;
    err = kafka_control_run(broker, w, n, answer, answer_len);
    if (err && answer[0] == '\0')
        snprintf(answer, answer_len, "error %s: %s", w[0], pp_err_str(err));
    return err;
}

void pp_kafka_broker_destroy(struct pp_kafka_broker *broker)
{
    int i;

    if (broker == NULL)
        return;
    /* The forwarders call into the mock cluster: stop them first. */
    for (i = 0; i < broker->n_nodes; i++)
        pp_tcpfwd_destroy(broker->nodes[i].fwd);
    if (broker->mcluster != NULL)
        rd_kafka_mock_cluster_destroy(broker->mcluster);
    if (broker->rk != NULL)
        rd_kafka_destroy(broker->rk);
    free(broker->addresses);
    free(broker->mock_bootstraps);
    free(broker);
}

/*
 * The producer.
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

/* Producer-side librdkafka logs go to debug: connection failures repeat
 * every reconnect, and what matters reaches the caller as a failed
 * delivery or metadata request, reported once. */
static void kafka_producer_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    (void)level;
    pp_log_debug("kafka: %s: %s", fac, buf);
}

/* Client errors repeat at every reconnect: debug. Except the first
 * authentication or TLS failure of the process, a warning: nothing else
 * would say why no record arrives (a wrong kafka.sasl.password), and
 * librdkafka's reason never holds the secret. */
static void kafka_log_error(int rerr, const char *reason)
{
    static atomic_bool is_warned;
    const char *name = rd_kafka_err2name((rd_kafka_resp_err_t)rerr);

    if ((rerr == RD_KAFKA_RESP_ERR__AUTHENTICATION || rerr == RD_KAFKA_RESP_ERR__SSL) &&
        !atomic_exchange(&is_warned, true))
        pp_log_warn("kafka: %s: %s (retrying; later ones at debug level)", name, reason);
    else
        pp_log_debug("kafka: error: %s: %s", name, reason);
}

static void kafka_producer_error_cb(rd_kafka_t *rk, int rerr, const char *reason, void *opaque)
{
    (void)rk;
    (void)opaque;
    kafka_log_error(rerr, reason);
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
        d->err = kafka_err(m->err);
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
        producer->stats.first_error = kafka_err(m->err);
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

static enum pp_err kafka_conf_set(rd_kafka_conf_t *conf, const char *key, const char *value,
                                  char *msg, size_t msg_len)
{
    char errstr[512];

    if (rd_kafka_conf_set(conf, key, value, errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
        snprintf(msg, msg_len, "kafka property %s=%s: %s", key, value, errstr);
        return PP_ERR_USAGE;
    }
    return PP_OK;
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
    if ((err = kafka_conf_set(conf, "bootstrap.servers", bootstrap, msg, msg_len)))
        goto fail;
    for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++)
        if ((err = kafka_conf_set(conf, defaults[i][0], defaults[i][1], msg, msg_len)))
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
        if ((err = kafka_conf_set(conf, key, eq + 1, msg, msg_len)))
            goto fail;
    }
    rd_kafka_conf_set_log_cb(conf, kafka_producer_log_cb);
    rd_kafka_conf_set_error_cb(conf, kafka_producer_error_cb);
    rd_kafka_conf_set_dr_msg_cb(conf, kafka_producer_dr_cb);
    rd_kafka_conf_set_opaque(conf, producer);
    if ((err = kafka_handle_new(RD_KAFKA_PRODUCER, &conf, &producer->rk, msg, msg_len)))
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
        return kafka_err(rd_kafka_last_error());
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
            err = kafka_err(rerr);
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
        return kafka_err(rd_kafka_last_error());
    }
    rerr = rd_kafka_metadata(producer->rk, 0, rkt, &md, timeout_ms);
    if (is_temporary)
        rd_kafka_topic_destroy(rkt);
    if (rerr != RD_KAFKA_RESP_ERR_NO_ERROR) {
        err = kafka_err(rerr);
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
            err = kafka_err(md->topics[i].err);
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

/*
 * The consumer.
 *
 * rd_kafka_poll_set_consumer routes the main queue (rebalance, errors)
 * into the consumer queue, so every callback except logging runs inside
 * rd_kafka_consumer_poll on the source thread. The assignment is copied
 * under a mutex in the rebalance callback, so commit (on another thread)
 * can skip partitions this member no longer owns.
 */

/* Most spans one fill writes (tombstones take no bytes). */
#define KAFKA_FILL_MAX_SPANS 65536
#define KAFKA_POLL_TIMEOUT_DEFAULT_MS 100

struct pp_kafka_consumer {
    rd_kafka_t *rk;
    char *topics[PP_TOPIC_COUNT];
    int poll_timeout_ms;
    atomic_bool is_stopped;
    atomic_bool is_failed;       /* a fatal error was raised */
    rd_kafka_message_t *pending; /* did not fit in the last batch */
    bool is_paused;              /* by backpressure (source thread) */
    atomic_bool is_paused_seen;  /* the same, for other threads */
    atomic_uint_fast64_t pauses; /* backpressure pauses so far */
    pthread_mutex_t lock;        /* guards assignment */
    rd_kafka_topic_partition_list_t *assignment;
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
    kafka_log_error(rerr, reason);
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

/* Eager (range) rebalancing: each event replaces the whole assignment. */
static void kafka_consumer_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t rerr,
                                        rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    struct pp_kafka_consumer *consumer = opaque;
    rd_kafka_topic_partition_list_t *copy = NULL;
    rd_kafka_topic_partition_list_t *old;
    rd_kafka_resp_err_t aerr;

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
        /* A held-over message of a revoked partition now belongs to
         * another member. */
        if (consumer->pending != NULL) {
            rd_kafka_message_destroy(consumer->pending);
            consumer->pending = NULL;
        }
        aerr = rd_kafka_assign(rk, NULL);
    }
    if (aerr != RD_KAFKA_RESP_ERR_NO_ERROR)
        pp_log_warn("kafka: assign: %s", rd_kafka_err2str(aerr));
    pthread_mutex_lock(&consumer->lock);
    old = consumer->assignment;
    consumer->assignment = copy;
    pthread_mutex_unlock(&consumer->lock);
    if (old != NULL)
        rd_kafka_topic_partition_list_destroy(old);
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
    atomic_init(&consumer->is_paused_seen, false);
    atomic_init(&consumer->pauses, 0);
    consumer->poll_timeout_ms =
        opt->poll_timeout_ms > 0 ? opt->poll_timeout_ms : KAFKA_POLL_TIMEOUT_DEFAULT_MS;
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
        if ((err = kafka_conf_set(conf, defaults[i][0], defaults[i][1], msg, msg_len)))
            goto fail;
    if (has_bootstrap &&
        (err = kafka_conf_set(conf, "bootstrap.servers", opt->bootstrap, msg, msg_len)))
        goto fail;
    if (has_group && (err = kafka_conf_set(conf, "group.id", opt->group_id, msg, msg_len)))
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
        if ((err = kafka_conf_set(conf, prop->name, prop->value, msg, msg_len)))
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
    rd_kafka_conf_set_log_cb(conf, kafka_producer_log_cb);
    rd_kafka_conf_set_error_cb(conf, kafka_consumer_error_cb);
    rd_kafka_conf_set_rebalance_cb(conf, kafka_consumer_rebalance_cb);
    rd_kafka_conf_set_opaque(conf, consumer);
    if ((err = kafka_handle_new(RD_KAFKA_CONSUMER, &conf, &consumer->rk, msg, msg_len)))
        goto fail;
    rd_kafka_poll_set_consumer(consumer->rk);
    rerr = rd_kafka_subscribe(consumer->rk, subscription);
    if (rerr != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(msg, msg_len, "kafka subscribe: %s", rd_kafka_err2str(rerr));
        err = kafka_err(rerr) == PP_ERR_INVALID ? PP_ERR_USAGE : PP_ERR_INTERNAL;
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
                if (batch->n_spans == 0 && wait > 0)
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
 * keeps the member within max.poll.interval.ms however long the stall.
 */
enum pp_err pp_kafka_consumer_blocked(void *vconsumer, bool is_blocked)
{
    struct pp_kafka_consumer *consumer = vconsumer;
    rd_kafka_message_t *m;
    enum pp_err err;

    if (atomic_load(&consumer->is_failed))
        return PP_ERR_INTERNAL;
    if (!is_blocked) {
        if (consumer->is_paused) {
            kafka_consumer_pause_all(consumer, false);
            consumer->is_paused = false;
            atomic_store(&consumer->is_paused_seen, false);
            pp_log_debug("kafka: pipeline caught up; partitions resumed");
        }
        return PP_OK;
    }
    if (!consumer->is_paused) {
        kafka_consumer_pause_all(consumer, true);
        consumer->is_paused = true;
        atomic_store(&consumer->is_paused_seen, true);
        atomic_fetch_add(&consumer->pauses, 1);
        pp_log_debug("kafka: pipeline behind; partitions paused");
    }
    while ((m = rd_kafka_consumer_poll(consumer->rk, 0)) != NULL) {
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
        if (low >= 0 && low == high) {
            *lag = 0;
            return PP_OK;
        }
        return PP_ERR_NOTFOUND;
    }
    *lag = high > position ? high - position : 0;
    return PP_OK;
}

size_t pp_kafka_consumer_assigned(struct pp_kafka_consumer *consumer)
{
    size_t n;

    pthread_mutex_lock(&consumer->lock);
    n = consumer->assignment != NULL ? (size_t)consumer->assignment->cnt : 0;
    pthread_mutex_unlock(&consumer->lock);
    return n;
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
        rd_kafka_resp_err_t rerr = rd_kafka_consumer_close(consumer->rk);
        if (rerr != RD_KAFKA_RESP_ERR_NO_ERROR)
            pp_log_debug("kafka: consumer close: %s", rd_kafka_err2str(rerr));
        rd_kafka_destroy(consumer->rk);
    }
    if (consumer->assignment != NULL)
        rd_kafka_topic_partition_list_destroy(consumer->assignment);
    pp_hmap_cleanup(&consumer->fresh);
    for (int t = 0; t < PP_TOPIC_COUNT; t++)
        free(consumer->topics[t]);
    pthread_mutex_destroy(&consumer->lock);
    free(consumer);
}
