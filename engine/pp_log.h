/*
 * pp_log: diagnostics on stderr.
 *
 * One line per message, prefixed "pinpipe: ". Thread-safe (each message is
 * written with a single write(2)). Never pass credentials or tokens.
 */
#ifndef PP_LOG_H
#define PP_LOG_H

#if defined(__GNUC__)
#define PP_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define PP_PRINTF(a, b)
#endif

enum pp_log_level { PP_LOG_ERROR, PP_LOG_WARN, PP_LOG_INFO, PP_LOG_DEBUG };

/* Messages above this level are dropped. Default PP_LOG_INFO. Main thread,
 * before other threads start. */
void pp_log_set_level(enum pp_log_level level);

void pp_log(enum pp_log_level level, const char *fmt, ...) PP_PRINTF(2, 3);

#define pp_log_error(...) pp_log(PP_LOG_ERROR, __VA_ARGS__)
#define pp_log_warn(...) pp_log(PP_LOG_WARN, __VA_ARGS__)
#define pp_log_info(...) pp_log(PP_LOG_INFO, __VA_ARGS__)
#define pp_log_debug(...) pp_log(PP_LOG_DEBUG, __VA_ARGS__)

#endif
