/*
 * pp_kafka_int: what pp_kafka.c shares with the broker, the producer and
 * the consumer (private to pp_kafka: include only from pp_kafka*.c).
 *
 * Threads: all of it may be called from any thread (librdkafka calls the
 * callbacks from its own threads).
 */
#ifndef PP_KAFKA_INT_H
#define PP_KAFKA_INT_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>

#include "pp_err.h"

/* librdkafka's error code as the project's result type (PP_OK for
 * NO_ERROR, PP_ERR_INTERNAL for codes with no closer match). */
enum pp_err pp_kafka_err_from_rd(rd_kafka_resp_err_t rerr);

/* Creates a client handle of type from *conf. On success rd_kafka_new owns
 * *conf and it is set to NULL; on failure *conf stays the caller's and msg
 * says why. */
enum pp_err pp_kafka_handle_new(rd_kafka_type_t type, rd_kafka_conf_t **conf, rd_kafka_t **rk,
                                char *msg, size_t msg_len);

/* Sets one property; one librdkafka rejects is PP_ERR_USAGE, with msg
 * naming it. */
enum pp_err pp_kafka_conf_set(rd_kafka_conf_t *conf, const char *key, const char *value, char *msg,
                              size_t msg_len);

/* The producer's and the consumer's log callback: everything at debug. */
void pp_kafka_client_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf);

/* Logs an error a client's error callback reports: at debug, except the
 * process's first authentication or TLS failure, a warning. */
void pp_kafka_log_error(int rerr, const char *reason);

#endif
