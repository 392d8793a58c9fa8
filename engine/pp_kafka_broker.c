/*
 * pp_kafka_broker: the development broker of pp_kafka (see pp_kafka.h,
 * docs/broker.md).
 *
 * librdkafka 2.0's mock cluster listens on ephemeral loopback ports,
 * advertises those in its Metadata responses, and auto-creates unknown
 * topics with a fixed 4 partitions (its defaults.partition_cnt, which no
 * public API changes). So the broker is a mock cluster whose every broker
 * sits behind its own pp_tcpfwd (broker 1 on the listen address, the
 * others on free ports of the same host), with one Kafka-aware frame
 * filter:
 *   - Metadata requests (v0..v8): every named topic that may be
 *     auto-created is first created with rd_kafka_mock_topic_create and the
 *     configured partition count (TOPIC_ALREADY_EXISTS is fine), so the
 *     mock's own auto-creation never runs for them;
 *   - Metadata responses (broker list) and FindCoordinator responses
 *     (v0..v2) are rewritten to advertise each broker's forwarder (found
 *     by the mock broker's port), so clients keep talking through the
 *     forwarders and every request passes the filter above;
 *   - Metadata responses (v2+) carry a cluster id drawn at random when the
 *     broker starts: the mock's own is made from its heap address, which
 *     two runs can share (under ASan they do), and a broker started again
 *     is another cluster (checkpoints compare the id, docs/checkpoints.md).
 * Fault injection (pp_kafka_broker_push_errors, _set_up, ...) wraps the
 * mock's controls; pp_kafka_broker_control is their text interface.
 * Metadata v9+ (flexible encoding) is not rewritten; librdkafka 2.0.2's
 * mock answers ApiVersions with Metadata v2 at most, so clients never send
 * it.
 */
#include "pp_kafka.h"

#include <errno.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <netdb.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "pp_clock.h"
#include "pp_kafka_int.h"
#include "pp_log.h"
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
    char cluster_id[32]; /* "pinpipe-<16 hex digits>", drawn at start */
};

/* Per forwarded connection: the Metadata and FindCoordinator requests
 * awaiting an answer. */
struct kafka_conn {
    int32_t corr_id[KAFKA_PENDING_MAX];
    int16_t api_key[KAFKA_PENDING_MAX];
    int16_t version[KAFKA_PENDING_MAX];
    size_t n_pending;
};

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
                            pp_err_str(pp_kafka_err_from_rd(rerr)));
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
    const uint8_t *cluster = NULL;
    size_t cluster_len = 0;
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
    /* v2+: the cluster id (a nullable string) follows the brokers. */
    if (version >= 2) {
        int16_t n;
        if (end - p < 2)
            return PP_ERR_CORRUPT;
        n = (int16_t)kafka_rd16(p);
        if (n > 0 && end - p < 2 + n)
            return PP_ERR_CORRUPT;
        cluster = p;
        cluster_len = 2 + (size_t)(n > 0 ? n : 0);
        new_len += 2 + strlen(broker->cluster_id);
        p += cluster_len;
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
    if (cluster != NULL) {
        size_t id_len = strlen(broker->cluster_id);
        *o++ = (uint8_t)(id_len >> 8);
        *o++ = (uint8_t)id_len;
        memcpy(o, broker->cluster_id, id_len);
        o += id_len;
        p = cluster + cluster_len;
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
    snprintf(broker->cluster_id, sizeof broker->cluster_id, "pinpipe-%016" PRIx64, pp_clock_seed());
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
    if ((err = pp_kafka_handle_new(RD_KAFKA_PRODUCER, &conf, &broker->rk, msg, msg_len))) {
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
        return pp_kafka_err_from_rd(rerr);
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
    return pp_kafka_err_from_rd(rd_kafka_mock_broker_set_rtt(broker->mcluster, broker_id, rtt_ms));
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
        return pp_kafka_err_from_rd(rerr);
    for (p = partition < 0 ? 0 : partition;
         p < (partition < 0 ? broker->partitions : partition + 1); p++) {
        rerr = rd_kafka_mock_partition_set_leader(broker->mcluster, topic, p, broker_id);
        if (rerr != RD_KAFKA_RESP_ERR_NO_ERROR)
            return pp_kafka_err_from_rd(rerr);
    }
    return PP_OK;
}

enum pp_err pp_kafka_broker_set_coordinator(struct pp_kafka_broker *broker, const char *group,
                                            int32_t broker_id)
{
    if (!kafka_broker_has(broker, broker_id) || broker_id == -1 || group[0] == '\0')
        return PP_ERR_NOTFOUND;
    return pp_kafka_err_from_rd(
        rd_kafka_mock_coordinator_set(broker->mcluster, "group", group, broker_id));
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
