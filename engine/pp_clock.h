/*
 * pp_clock: the monotonic clock as the engine uses it: milliseconds for
 * timeouts and rates, and absolute deadlines for timed waits
 * (pthread_cond_timedwait on a CLOCK_MONOTONIC condition, futex waits).
 * Any thread.
 */
#ifndef PP_CLOCK_H
#define PP_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Milliseconds of CLOCK_MONOTONIC. */
static inline int64_t pp_clock_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* *deadline = now (CLOCK_MONOTONIC) + timeout_ms (>= 0). */
static inline void pp_clock_deadline(struct timespec *deadline, int64_t timeout_ms)
{
    clock_gettime(CLOCK_MONOTONIC, deadline);
    deadline->tv_sec += (time_t)(timeout_ms / 1000);
    deadline->tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (deadline->tv_nsec >= 1000000000L) {
        deadline->tv_sec++;
        deadline->tv_nsec -= 1000000000L;
    }
}

#endif
