/*
 * pp_cli: what the command entry points share: the one-line usage error of
 * SPEC 8, flag value parsing, pacing to a rate, and the SIGINT/SIGTERM check
 * of commands that block those signals while they run. Main thread.
 */
#ifndef PP_CLI_H
#define PP_CLI_H

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

#endif
