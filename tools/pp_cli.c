#include "pp_cli.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

int pp_cli_usage_error(const char *cmd, const char *fmt, ...)
{
    char line[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "pinpipe: %s: %s (see pinpipe %s --help)\n", cmd, line, cmd);
    return 2;
}

bool pp_cli_parse_int(const char *s, int64_t min, int64_t max, int64_t *value)
{
    char *end;
    long long v;

    if (*s == '\0' || (min >= 0 && (*s < '0' || *s > '9')))
        return false;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return false;
    *value = v;
    return true;
}

bool pp_cli_is_topic_text(const char *s, size_t max_len)
{
    size_t n = 0;

    for (; *s != '\0'; s++, n++) {
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '.' || *s == '_' || *s == '-'))
            return false;
    }
    return n > 0 && n <= max_len;
}

double pp_cli_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void pp_cli_pace(const struct timespec *start, uint64_t n, int64_t rate)
{
    struct timespec due;
    int64_t ns = (int64_t)((long double)n * 1e9L / (long double)rate);

    due.tv_sec = start->tv_sec + (time_t)(ns / 1000000000);
    due.tv_nsec = start->tv_nsec + (long)(ns % 1000000000);
    if (due.tv_nsec >= 1000000000) {
        due.tv_sec++;
        due.tv_nsec -= 1000000000;
    }
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &due, NULL) == EINTR)
        ;
}

bool pp_cli_is_stopped(bool is_masked)
{
    sigset_t pending;

    return is_masked && sigpending(&pending) == 0 &&
           (sigismember(&pending, SIGINT) == 1 || sigismember(&pending, SIGTERM) == 1);
}

void pp_cli_stop_mask_begin(struct pp_cli_stop_mask *mask)
{
    sigemptyset(&mask->signals);
    sigaddset(&mask->signals, SIGINT);
    sigaddset(&mask->signals, SIGTERM);
    mask->is_masked = sigprocmask(SIG_BLOCK, &mask->signals, &mask->old) == 0;
}

void pp_cli_stop_mask_end(struct pp_cli_stop_mask *mask)
{
    struct timespec zero = {0, 0};

    if (!mask->is_masked)
        return;
    while (sigtimedwait(&mask->signals, NULL, &zero) > 0)
        ;
    sigprocmask(SIG_SETMASK, &mask->old, NULL);
    mask->is_masked = false;
}
