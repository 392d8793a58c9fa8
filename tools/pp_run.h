/*
 * pp_run: the streaming engine that `pinpipe run` and `pinpipe demo` share.
 * Kafka in (a consumer group on the three topics), the parse/clean
 * pipeline, the streaming dedup and join, the nine queries per window spec,
 * and the HTTP API that serves them (SPEC 4, 6, 8).
 *
 * Life cycle, main thread: pp_run_new() (everything is created and the
 * HTTP port bound, nothing runs yet), pp_run_start(), pp_run_loop() (the
 * pipeline's consumer: returns once stopped and drained, the applied
 * offsets committed), pp_run_destroy().
 *
 * Threads: the pipeline's source (the Kafka consumer) and clean workers;
 * the thread in pp_run_loop(), which alone owns the stream, the windows and
 * the offsets; libmicrohttpd's threads, which never touch that state: they
 * hand a request to the loop thread and wait for the document it renders
 * between two batches (see pp_run.c).
 */
#ifndef PP_RUN_H
#define PP_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pp_config.h"
#include "pp_err.h"

struct pp_run;

struct pp_run_options {
    /* Stop on SIGINT/SIGTERM, which the caller has blocked in every
     * thread (pp_cli_is_stopped(true)). */
    bool is_signal_stop;
    /* A live status line on stderr when stderr is a terminal: records,
     * posts and their rates, lag, windows, rejects. */
    bool has_status_line;
};

/*
 * Creates the engine from a validated configuration (borrowed: it must
 * outlive the run). Nothing is consumed before pp_run_start(). Errors:
 * PP_ERR_USAGE (the configuration cannot work: exit 2), PP_ERR_IO (the
 * HTTP address cannot be bound), PP_ERR_NOMEM, PP_ERR_INTERNAL; msg
 * receives one line naming the key at fault. Main thread.
 */
enum pp_err pp_run_new(const struct pp_config *cfg, const struct pp_run_options *options,
                       struct pp_run **out, char *msg, size_t msg_len);

/* The API's base URL, "http://<host of http.listen>:<bound port>" (the
 * port may have been 0). Borrowed: valid until pp_run_destroy(). */
const char *pp_run_url(const struct pp_run *run);

/* Starts the pipeline and the HTTP server. Main thread, once. */
enum pp_err pp_run_start(struct pp_run *run, char *msg, size_t msg_len);

/*
 * Consumes until stopped (pp_run_stop(), or a signal when
 * options.is_signal_stop), then drains the pipeline, waits for the lake
 * objects and commits the applied offsets. Returns the first error of the
 * pipeline or of applying a batch, or PP_ERR_IO when objects were still
 * not durable sink.shutdown.timeout.ms after the stop (abandoned, their
 * offsets not committed); pp_run_error() then says what happened. Main
 * thread (the pipeline's consumer).
 */
enum pp_err pp_run_loop(struct pp_run *run);

/* One line on pp_run_loop()'s failure ("lake: ..."), or "" when it has
 * nothing to add to the error code. */
const char *pp_run_error(const struct pp_run *run);

/* Asks pp_run_loop() to stop. Any thread; async-signal-safe. */
void pp_run_stop(struct pp_run *run);

/* Stops the HTTP server and frees everything. Accepts NULL. Main thread. */
void pp_run_destroy(struct pp_run *run);

#endif
