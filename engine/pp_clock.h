/*
 * pp_clock: the monotonic clock as the engine uses it: milliseconds for
 * timeouts and rates, and absolute deadlines for timed waits
 * (pthread_cond_timedwait on a CLOCK_MONOTONIC condition, futex waits).
 * Any thread.
 */
#ifndef PP_CLOCK_H
#define PP_CLOCK_H

#include <stdint.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

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

/* A seed for randomness that need not be secret (jitter, ids that must
 * differ between runs): getrandom(2), or the clock and the pid when it
 * is unavailable. */
static inline uint64_t pp_clock_seed(void)
{
    uint64_t seed;

    if (getrandom(&seed, sizeof seed, 0) != (ssize_t)sizeof seed)
        seed = (uint64_t)pp_clock_ms() ^ ((uint64_t)getpid() << 32);
    return seed;
}

#endif
