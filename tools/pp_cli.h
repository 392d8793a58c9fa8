/*
 * pp_cli: what the command entry points share: the one-line usage error of
 * SPEC 8, flag value parsing, pacing to a rate, and the SIGINT/SIGTERM check
 * of commands that block those signals while they run. Main thread.
 */
#ifndef PP_CLI_H
#define PP_CLI_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "pp_log.h"

/* Prints "pinpipe: <cmd>: <problem> (see pinpipe <cmd> --help)" on stderr;
 * returns 2, the exit status of a usage error. */
int pp_cli_usage_error(const char *cmd, const char *fmt, ...) PP_PRINTF(2, 3);

/* A decimal integer in [min, max], the whole string; no sign allowed when
 * min >= 0. */
bool pp_cli_parse_int(const char *s, int64_t min, int64_t max, int64_t *value);

/* A Kafka topic name part: 1..max_len bytes of [a-zA-Z0-9._-]. */
bool pp_cli_is_topic_text(const char *s, size_t max_len);

/* Monotonic seconds, for rates and progress. */
double pp_cli_now(void);

/* Sleeps until item n is due: start + n / rate (rate > 0). Pacing against
 * the start time, not the previous item, keeps the average rate exact
 * whatever each sleep overshoots. */
void pp_cli_pace(const struct timespec *start, uint64_t n, int64_t rate);

/* True when SIGINT or SIGTERM is pending; is_masked tells whether the
 * caller has blocked them (otherwise they act as usual and this is false). */
bool pp_cli_is_stopped(bool is_masked);

/* SIGINT and SIGTERM held pending while a command works, so that it polls
 * them (pp_cli_is_stopped(mask.is_masked)) and stops between two units of
 * work with what it did still written. A zeroed mask is "not begun". */
struct pp_cli_stop_mask {
    sigset_t signals;
    sigset_t old;
    bool is_masked;
};

/* Blocks the two signals in the calling thread (and the threads it creates
 * afterwards); mask->is_masked says whether that worked. */
void pp_cli_stop_mask_begin(struct pp_cli_stop_mask *mask);

/* Consumes the stop signals still pending, so that unblocking does not
 * deliver one the command already acted on and kill it after a clean stop,
 * and restores the old mask. Nothing when the mask was not begun. */
void pp_cli_stop_mask_end(struct pp_cli_stop_mask *mask);

#endif
