#include "pp_ring.h"

#include <limits.h>
#include <linux/futex.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "pp_clock.h"

#define RING_CACHELINE 64
#define RING_SPINS 256

/*
 * head and tail count pops and pushes since creation; they live on their own
 * cache lines so the two threads do not share a line on the fast path. Each
 * side keeps a stale copy of the other's counter and rereads it only when
 * the ring looks full (or empty).
 *
 * Sleeping uses an event count per direction: a sleeper registers in
 * *_waiters, reads the *_seq word, rechecks the ring, and futex-waits on the
 * seq it read. The other side bumps seq after every operation and wakes
 * only when someone is registered. Both sides use sequentially consistent
 * operations on waiters/seq, so a wake can never fall between the recheck
 * and the wait.
 */
struct pp_ring {
    alignas(RING_CACHELINE) _Atomic size_t tail; /* written by the producer */
    size_t head_cache;                           /* producer's copy of head */
    alignas(RING_CACHELINE) _Atomic size_t head; /* written by the consumer */
    size_t tail_cache;                           /* consumer's copy of tail */
    alignas(RING_CACHELINE) _Atomic uint32_t push_seq;
    _Atomic uint32_t pop_waiters;
    _Atomic uint32_t pop_seq;
    _Atomic uint32_t push_waiters;
    _Atomic bool is_closed;
    size_t mask;
    void *slots[];
};

/* Sleeps while *word == seen, at most until deadline (CLOCK_MONOTONIC;
 * NULL: no limit). */
static void ring_futex_wait(_Atomic uint32_t *word, uint32_t seen, const struct timespec *deadline)
{
    struct timespec now;
    struct timespec left;

    if (deadline != NULL) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        left.tv_sec = deadline->tv_sec - now.tv_sec;
        left.tv_nsec = deadline->tv_nsec - now.tv_nsec;
        if (left.tv_nsec < 0) {
            left.tv_sec--;
            left.tv_nsec += 1000000000L;
        }
        if (left.tv_sec < 0)
            return;
    }
    /* syscall() is variadic: the atomic word's address passes as is. */
    syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, seen, deadline != NULL ? &left : NULL, NULL, 0);
}

static bool ring_is_past(const struct timespec *deadline)
{
    struct timespec now;

    if (deadline == NULL)
        return false;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec > deadline->tv_sec ||
           (now.tv_sec == deadline->tv_sec && now.tv_nsec >= deadline->tv_nsec);
}

static void ring_futex_wake(_Atomic uint32_t *word)
{
    syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

static inline void ring_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

struct pp_ring *pp_ring_new(size_t capacity)
{
    struct pp_ring *ring;
    size_t cap = 2;

    while (cap < capacity)
        cap *= 2;
    ring =
        aligned_alloc(RING_CACHELINE, (sizeof *ring + cap * sizeof(void *) + RING_CACHELINE - 1) &
                                          ~(size_t)(RING_CACHELINE - 1));
    if (ring == NULL)
        return NULL;
    atomic_init(&ring->tail, 0);
    atomic_init(&ring->head, 0);
    ring->head_cache = 0;
    ring->tail_cache = 0;
    atomic_init(&ring->push_seq, 0);
    atomic_init(&ring->pop_seq, 0);
    atomic_init(&ring->pop_waiters, 0);
    atomic_init(&ring->push_waiters, 0);
    atomic_init(&ring->is_closed, false);
    ring->mask = cap - 1;
    return ring;
}

void pp_ring_destroy(struct pp_ring *ring)
{
    free(ring);
}

enum pp_err pp_ring_push(struct pp_ring *ring, void *item)
{
    size_t tail = atomic_load_explicit(&ring->tail, memory_order_relaxed);

    if (atomic_load_explicit(&ring->is_closed, memory_order_acquire))
        return PP_END;
    if (tail - ring->head_cache > ring->mask) {
        ring->head_cache = atomic_load_explicit(&ring->head, memory_order_acquire);
        if (tail - ring->head_cache > ring->mask)
            return PP_AGAIN;
    }
    ring->slots[tail & ring->mask] = item;
    atomic_store_explicit(&ring->tail, tail + 1, memory_order_release);
    atomic_fetch_add(&ring->push_seq, 1);
    if (atomic_load(&ring->pop_waiters))
        ring_futex_wake(&ring->push_seq);
    return PP_OK;
}

enum pp_err pp_ring_pop(struct pp_ring *ring, void **item)
{
    size_t head = atomic_load_explicit(&ring->head, memory_order_relaxed);

    if (head == ring->tail_cache) {
        ring->tail_cache = atomic_load_explicit(&ring->tail, memory_order_acquire);
        if (head == ring->tail_cache)
            return atomic_load_explicit(&ring->is_closed, memory_order_acquire) &&
                           head == atomic_load_explicit(&ring->tail, memory_order_acquire)
                       ? PP_END
                       : PP_AGAIN;
    }
    *item = ring->slots[head & ring->mask];
    atomic_store_explicit(&ring->head, head + 1, memory_order_release);
    atomic_fetch_add(&ring->pop_seq, 1);
    if (atomic_load(&ring->push_waiters))
        ring_futex_wake(&ring->pop_seq);
    return PP_OK;
}

/* Runs op until it stops saying PP_AGAIN or the deadline (NULL: none)
 * passes: spins briefly, then sleeps on seq (bumped by the other side) with
 * waiters registered. */
static enum pp_err ring_wait(struct pp_ring *ring, _Atomic uint32_t *seq, _Atomic uint32_t *waiters,
                             bool is_push, void **item, const struct timespec *deadline)
{
    enum pp_err err;
    uint32_t seen;
    int spins = 0;

    for (;;) {
        err = is_push ? pp_ring_push(ring, *item) : pp_ring_pop(ring, item);
        if (err != PP_AGAIN)
            return err;
        if (spins++ < RING_SPINS) {
            ring_cpu_relax();
            continue;
        }
        atomic_fetch_add(waiters, 1);
        seen = atomic_load(seq);
        err = is_push ? pp_ring_push(ring, *item) : pp_ring_pop(ring, item);
        if (err == PP_AGAIN)
            ring_futex_wait(seq, seen, deadline);
        atomic_fetch_sub(waiters, 1);
        if (err != PP_AGAIN)
            return err;
        if (ring_is_past(deadline)) {
            err = is_push ? pp_ring_push(ring, *item) : pp_ring_pop(ring, item);
            return err;
        }
    }
}

enum pp_err pp_ring_push_wait(struct pp_ring *ring, void *item)
{
    return ring_wait(ring, &ring->pop_seq, &ring->push_waiters, true, &item, NULL);
}

enum pp_err pp_ring_pop_wait(struct pp_ring *ring, void **item)
{
    return ring_wait(ring, &ring->push_seq, &ring->pop_waiters, false, item, NULL);
}

enum pp_err pp_ring_pop_timed(struct pp_ring *ring, void **item, int timeout_ms)
{
    struct timespec deadline;

    pp_clock_deadline(&deadline, timeout_ms);
    return ring_wait(ring, &ring->push_seq, &ring->pop_waiters, false, item, &deadline);
}

void pp_ring_close(struct pp_ring *ring)
{
    atomic_store(&ring->is_closed, true);
    atomic_fetch_add(&ring->push_seq, 1);
    atomic_fetch_add(&ring->pop_seq, 1);
    ring_futex_wake(&ring->push_seq);
    ring_futex_wake(&ring->pop_seq);
}

size_t pp_ring_occupancy(const struct pp_ring *ring)
{
    size_t tail = atomic_load_explicit(&ring->tail, memory_order_acquire);
    size_t head = atomic_load_explicit(&ring->head, memory_order_acquire);

    return tail >= head ? tail - head : 0;
}

size_t pp_ring_capacity(const struct pp_ring *ring)
{
    return ring->mask + 1;
}
