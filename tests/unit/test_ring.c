/*
 * Unit tests of pp_ring: the SPSC ring, alone and between two threads.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "pp_check.h"
#include "pp_ring.h"

#define ITEM(i) ((void *)(uintptr_t)(i))

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

START_TEST(test_push_pop_order)
{
    struct pp_ring *ring = pp_ring_new(4);
    void *item = NULL;
    uintptr_t i;

    ck_assert_ptr_nonnull(ring);
    ck_assert_uint_eq(pp_ring_occupancy(ring), 0);
    for (i = 1; i <= 4; i++) {
        ck_assert_int_eq(pp_ring_push(ring, ITEM(i)), PP_OK);
        ck_assert_uint_eq(pp_ring_occupancy(ring), i);
    }
    for (i = 1; i <= 4; i++) {
        ck_assert_int_eq(pp_ring_pop(ring, &item), PP_OK);
        ck_assert_ptr_eq(item, ITEM(i));
    }
    ck_assert_uint_eq(pp_ring_occupancy(ring), 0);
    /* NULL is an item like any other. */
    ck_assert_int_eq(pp_ring_push(ring, NULL), PP_OK);
    item = ITEM(7);
    ck_assert_int_eq(pp_ring_pop(ring, &item), PP_OK);
    ck_assert_ptr_null(item);
    pp_ring_destroy(ring);
}
END_TEST

START_TEST(test_again_when_full)
{
    struct pp_ring *ring = pp_ring_new(4);
    void *item = NULL;
    uintptr_t i;

    for (i = 1; i <= 4; i++)
        ck_assert_int_eq(pp_ring_push(ring, ITEM(i)), PP_OK);
    ck_assert_int_eq(pp_ring_push(ring, ITEM(5)), PP_AGAIN);
    ck_assert_int_eq(pp_ring_push(ring, ITEM(5)), PP_AGAIN);
    ck_assert_uint_eq(pp_ring_occupancy(ring), 4);
    /* One pop makes room for exactly one push. */
    ck_assert_int_eq(pp_ring_pop(ring, &item), PP_OK);
    ck_assert_ptr_eq(item, ITEM(1));
    ck_assert_int_eq(pp_ring_push(ring, ITEM(5)), PP_OK);
    ck_assert_int_eq(pp_ring_push(ring, ITEM(6)), PP_AGAIN);
    for (i = 2; i <= 5; i++) {
        ck_assert_int_eq(pp_ring_pop(ring, &item), PP_OK);
        ck_assert_ptr_eq(item, ITEM(i));
    }
    pp_ring_destroy(ring);
}
END_TEST

START_TEST(test_again_when_empty)
{
    struct pp_ring *ring = pp_ring_new(2);
    void *item = ITEM(99);

    ck_assert_int_eq(pp_ring_pop(ring, &item), PP_AGAIN);
    ck_assert_ptr_eq(item, ITEM(99));
    ck_assert_int_eq(pp_ring_push(ring, ITEM(1)), PP_OK);
    ck_assert_int_eq(pp_ring_pop(ring, &item), PP_OK);
    ck_assert_int_eq(pp_ring_pop(ring, &item), PP_AGAIN);
    ck_assert_ptr_eq(item, ITEM(1));
    pp_ring_destroy(ring);
}
END_TEST

/* Pushes ITEM(7) after a short sleep, from another thread. */
static void *push_later(void *arg)
{
    struct timespec ts = {0, 30 * 1000000L};

    nanosleep(&ts, NULL);
    ck_assert_int_eq(pp_ring_push(arg, ITEM(7)), PP_OK);
    return NULL;
}

START_TEST(test_pop_timed)
{
    struct pp_ring *ring = pp_ring_new(2);
    void *item = ITEM(99);
    struct timespec t0;
    struct timespec t1;
    pthread_t thread;
    double secs;

    /* Empty: gives up after about the timeout, item untouched. */
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ck_assert_int_eq(pp_ring_pop_timed(ring, &item, 40), PP_AGAIN);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    ck_assert_msg(secs >= 0.039 && secs < 5.0, "waited %.3f s for a 40 ms timeout", secs);
    ck_assert_ptr_eq(item, ITEM(99));
    /* Woken by a push well before the timeout. */
    ck_assert_int_eq(pthread_create(&thread, NULL, push_later, ring), 0);
    ck_assert_int_eq(pp_ring_pop_timed(ring, &item, 10000), PP_OK);
    ck_assert_ptr_eq(item, ITEM(7));
    pthread_join(thread, NULL);
    /* Zero timeout: a plain try; closed and empty: PP_END. */
    ck_assert_int_eq(pp_ring_pop_timed(ring, &item, 0), PP_AGAIN);
    pp_ring_close(ring);
    ck_assert_int_eq(pp_ring_pop_timed(ring, &item, 1000), PP_END);
    pp_ring_destroy(ring);
}
END_TEST

START_TEST(test_wraparound)
{
    struct pp_ring *ring = pp_ring_new(2);
    uintptr_t next_push = 1;
    uintptr_t next_pop = 1;
    void *item;
    int round;

    /* Uneven pushes and pops move head and tail across the slots many
     * times. */
    for (round = 0; round < 10000; round++) {
        int n_push = 1 + round % 2;
        int n_pop = 1 + (round / 2) % 2;
        int k;
        for (k = 0; k < n_push; k++) {
            enum pp_err err = pp_ring_push(ring, ITEM(next_push));
            if (err == PP_AGAIN)
                break;
            ck_assert_int_eq(err, PP_OK);
            next_push++;
        }
        for (k = 0; k < n_pop; k++) {
            enum pp_err err = pp_ring_pop(ring, &item);
            if (err == PP_AGAIN)
                break;
            ck_assert_int_eq(err, PP_OK);
            ck_assert_ptr_eq(item, ITEM(next_pop));
            next_pop++;
        }
        ck_assert_uint_eq(pp_ring_occupancy(ring), next_push - next_pop);
        ck_assert_uint_le(pp_ring_occupancy(ring), 2);
    }
    ck_assert_uint_gt(next_pop, 5000);
    pp_ring_destroy(ring);
}
END_TEST

START_TEST(test_capacity_rounding)
{
    static const struct {
        size_t asked;
        size_t got;
    } cases[] = {{0, 2}, {1, 2}, {2, 2},  {3, 4},       {4, 4},
                 {5, 8}, {8, 8}, {9, 16}, {1000, 1024}, {1024, 1024}};
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct pp_ring *ring = pp_ring_new(cases[i].asked);
        uintptr_t k;
        ck_assert_ptr_nonnull(ring);
        ck_assert_uint_eq(pp_ring_capacity(ring), cases[i].got);
        /* It holds exactly that many items. */
        for (k = 0; k < cases[i].got; k++)
            ck_assert_int_eq(pp_ring_push(ring, ITEM(k + 1)), PP_OK);
        ck_assert_int_eq(pp_ring_push(ring, ITEM(k + 1)), PP_AGAIN);
        pp_ring_destroy(ring);
    }
    pp_ring_destroy(NULL);
}
END_TEST

START_TEST(test_close_semantics)
{
    struct pp_ring *ring = pp_ring_new(4);
    void *item = NULL;

    ck_assert_int_eq(pp_ring_push(ring, ITEM(1)), PP_OK);
    ck_assert_int_eq(pp_ring_push(ring, ITEM(2)), PP_OK);
    pp_ring_close(ring);
    /* Pushes end; pops drain, then end. */
    ck_assert_int_eq(pp_ring_push(ring, ITEM(3)), PP_END);
    ck_assert_int_eq(pp_ring_push_wait(ring, ITEM(3)), PP_END);
    ck_assert_int_eq(pp_ring_pop(ring, &item), PP_OK);
    ck_assert_ptr_eq(item, ITEM(1));
    ck_assert_int_eq(pp_ring_pop_wait(ring, &item), PP_OK);
    ck_assert_ptr_eq(item, ITEM(2));
    ck_assert_int_eq(pp_ring_pop(ring, &item), PP_END);
    ck_assert_int_eq(pp_ring_pop_wait(ring, &item), PP_END);
    /* Closing again changes nothing. */
    pp_ring_close(ring);
    ck_assert_int_eq(pp_ring_pop(ring, &item), PP_END);
    ck_assert_int_eq(pp_ring_push(ring, ITEM(4)), PP_END);
    pp_ring_destroy(ring);

    /* A full ring closed by the consumer side still drains. */
    ring = pp_ring_new(2);
    ck_assert_int_eq(pp_ring_push(ring, ITEM(1)), PP_OK);
    ck_assert_int_eq(pp_ring_push(ring, ITEM(2)), PP_OK);
    pp_ring_close(ring);
    ck_assert_int_eq(pp_ring_push_wait(ring, ITEM(3)), PP_END);
    ck_assert_int_eq(pp_ring_pop(ring, &item), PP_OK);
    ck_assert_ptr_eq(item, ITEM(1));
    ck_assert_int_eq(pp_ring_pop(ring, &item), PP_OK);
    ck_assert_ptr_eq(item, ITEM(2));
    ck_assert_int_eq(pp_ring_pop_wait(ring, &item), PP_END);
    pp_ring_destroy(ring);

    /* An empty ring closed before any use ends at once. */
    ring = pp_ring_new(8);
    pp_ring_close(ring);
    ck_assert_int_eq(pp_ring_pop_wait(ring, &item), PP_END);
    pp_ring_destroy(ring);
}
END_TEST

/* ---- two threads ---------------------------------------------------------------- */

struct producer {
    struct pp_ring *ring;
    uint64_t n;       /* items to push; UINT64_MAX: until the ring ends */
    uint64_t pushed;  /* items pushed */
    enum pp_err last; /* what the last push returned */
    bool close_when_done;
};

static void *producer_main(void *arg)
{
    struct producer *p = arg;
    uint64_t i;

    p->last = PP_OK;
    for (i = 0; i < p->n; i++) {
        p->last = pp_ring_push_wait(p->ring, ITEM(i + 1));
        if (p->last != PP_OK)
            break;
        p->pushed++;
    }
    if (p->close_when_done)
        pp_ring_close(p->ring);
    return NULL;
}

START_TEST(test_two_threads_million)
{
    const uint64_t n = 1000000;
    struct producer prod = {pp_ring_new(8), n, 0, PP_OK, true};
    pthread_t thread;
    uint64_t expected = 1;
    void *item;
    enum pp_err err;

    ck_assert_ptr_nonnull(prod.ring);
    ck_assert_int_eq(pthread_create(&thread, NULL, producer_main, &prod), 0);
    while ((err = pp_ring_pop_wait(prod.ring, &item)) == PP_OK) {
        /* Every number exactly once, in order: a gap, a repeat or a swap
         * fails here. */
        if ((uintptr_t)item != expected)
            ck_abort_msg("popped %ju, want %ju", (uintmax_t)(uintptr_t)item, (uintmax_t)expected);
        expected++;
    }
    ck_assert_int_eq(err, PP_END);
    ck_assert_int_eq(pthread_join(thread, NULL), 0);
    ck_assert_uint_eq(expected - 1, n);
    ck_assert_uint_eq(prod.pushed, n);
    ck_assert_int_eq(prod.last, PP_OK);
    pp_ring_destroy(prod.ring);
}
END_TEST

START_TEST(test_consumer_closes_early)
{
    struct producer prod = {pp_ring_new(8), UINT64_MAX, 0, PP_OK, false};
    pthread_t thread;
    void *item;
    uint64_t popped = 0;
    uint64_t drained = 0;
    int spins = 0;

    ck_assert_ptr_nonnull(prod.ring);
    ck_assert_int_eq(pthread_create(&thread, NULL, producer_main, &prod), 0);
    while (popped < 100) {
        ck_assert_int_eq(pp_ring_pop_wait(prod.ring, &item), PP_OK);
        ck_assert_ptr_eq(item, ITEM(popped + 1));
        popped++;
    }
    /* Let the producer fill the ring and fall asleep in push_wait. */
    while (pp_ring_occupancy(prod.ring) < pp_ring_capacity(prod.ring) && spins++ < 5000)
        sleep_ms(1);
    ck_assert_uint_eq(pp_ring_occupancy(prod.ring), 8);
    sleep_ms(50);
    pp_ring_close(prod.ring);
    /* The producer wakes with PP_END (a hang here is the test's timeout). */
    ck_assert_int_eq(pthread_join(thread, NULL), 0);
    ck_assert_int_eq(prod.last, PP_END);
    ck_assert_uint_eq(prod.pushed, popped + 8);
    /* What was pushed before the close still drains, in order. */
    while (pp_ring_pop(prod.ring, &item) == PP_OK) {
        ck_assert_ptr_eq(item, ITEM(popped + drained + 1));
        drained++;
    }
    ck_assert_uint_eq(drained, 8);
    ck_assert_int_eq(pp_ring_pop_wait(prod.ring, &item), PP_END);
    pp_ring_destroy(prod.ring);
}
END_TEST

struct consumer {
    struct pp_ring *ring;
    uint64_t popped;
    enum pp_err last;
};

static void *consumer_main(void *arg)
{
    struct consumer *c = arg;
    void *item;

    while ((c->last = pp_ring_pop_wait(c->ring, &item)) == PP_OK)
        c->popped++;
    return NULL;
}

START_TEST(test_producer_closes_sleeping_consumer)
{
    struct consumer cons = {pp_ring_new(4), 0, PP_OK};
    pthread_t thread;

    ck_assert_ptr_nonnull(cons.ring);
    ck_assert_int_eq(pthread_create(&thread, NULL, consumer_main, &cons), 0);
    ck_assert_int_eq(pp_ring_push_wait(cons.ring, ITEM(1)), PP_OK);
    ck_assert_int_eq(pp_ring_push_wait(cons.ring, ITEM(2)), PP_OK);
    /* The consumer empties the ring and sleeps in pop_wait. */
    sleep_ms(50);
    pp_ring_close(cons.ring);
    ck_assert_int_eq(pthread_join(thread, NULL), 0);
    ck_assert_int_eq(cons.last, PP_END);
    ck_assert_uint_eq(cons.popped, 2);
    pp_ring_destroy(cons.ring);
}
END_TEST

static Suite *ring_suite(void)
{
    Suite *s = suite_create("ring");

    PP_CHECK_TCASE(s, test_push_pop_order);
    PP_CHECK_TCASE(s, test_again_when_full);
    PP_CHECK_TCASE(s, test_again_when_empty);
    PP_CHECK_TCASE(s, test_pop_timed);
    PP_CHECK_TCASE(s, test_wraparound);
    PP_CHECK_TCASE(s, test_capacity_rounding);
    PP_CHECK_TCASE(s, test_close_semantics);
    PP_CHECK_TCASE(s, test_two_threads_million);
    PP_CHECK_TCASE(s, test_consumer_closes_early);
    PP_CHECK_TCASE(s, test_producer_closes_sleeping_consumer);
    return s;
}

PP_CHECK_MAIN(ring_suite)
