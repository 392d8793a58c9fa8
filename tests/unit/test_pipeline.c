/*
 * Unit tests of pp_pipeline: source -> N workers -> consumer, with a fake
 * source and a stage that tags each batch's output.
 */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pp_batch.h"
#include "pp_check.h"
#include "pp_pipeline.h"

#define RECORDS_PER_BATCH 10

/* Produces n_batches batches, each one span of RECORDS_PER_BATCH records
 * "r<number>\n" numbered from 0 across the stream; returns fail_err
 * instead of the batch numbered fail_at. Source thread only. */
struct fake_source {
    uint64_t n_batches;
    uint64_t fail_at; /* UINT64_MAX: never */
    enum pp_err fail_err;
    uint64_t produced;
    uint64_t calls_after_end;
};

static enum pp_err fake_fill(void *arg, struct pp_batch *batch)
{
    struct fake_source *src = arg;
    struct pp_batch_span span;
    uint64_t first = src->produced * RECORDS_PER_BATCH;
    int i;

    if (src->produced == src->n_batches) {
        src->calls_after_end++;
        return PP_END;
    }
    if (src->produced == src->fail_at)
        return src->fail_err;
    /* A batch handed to fill is empty. */
    if (batch->len != 0 || batch->n_spans != 0 || batch->n_out != 0 || batch->out.len != 0)
        return PP_ERR_INTERNAL;
    for (i = 0; i < RECORDS_PER_BATCH; i++) {
        int n = snprintf(batch->data + batch->len, batch->cap - batch->len, "r%" PRIu64 "\n",
                         first + (uint64_t)i);
        if (n < 0 || (size_t)n >= batch->cap - batch->len)
            return PP_ERR_TOOBIG;
        batch->len += (size_t)n;
    }
    memset(&span, 0, sizeof span);
    span.begin = 0;
    span.end = (uint32_t)batch->len;
    span.first_offset = (int64_t)first;
    span.partition = 7;
    if (pp_batch_add_span(batch, &span) != PP_OK)
        return PP_ERR_NOMEM;
    src->produced++;
    return PP_OK;
}

/* The tag stage: parses each record's number into batch->out (one int64
 * per record) and records which worker state did it. */
struct tag_arg {
    _Atomic int creates;
    _Atomic int destroys;
    int fail_create_number;    /* 1-based create call that fails; 0: none */
    uint64_t fail_process_seq; /* batch seq whose process fails; UINT64_MAX: none */
    bool is_slow;              /* sleep on some batches to shuffle worker speed */
};

struct tag_state {
    struct tag_arg *arg;
    int id;
};

static void *tag_create(void *arg)
{
    struct tag_arg *a = arg;
    int number = atomic_fetch_add(&a->creates, 1) + 1;
    struct tag_state *st;

    if (number == a->fail_create_number)
        return NULL;
    st = malloc(sizeof *st);
    if (st != NULL) {
        st->arg = a;
        st->id = number;
    }
    return st;
}

static enum pp_err tag_process(void *state, struct pp_batch *batch)
{
    struct tag_state *st = state;
    size_t s;

    if (batch->seq == st->arg->fail_process_seq)
        return PP_ERR_CORRUPT;
    if (st->arg->is_slow && batch->seq % 3 == (uint64_t)st->id % 3) {
        struct timespec ts = {0, 200000};
        nanosleep(&ts, NULL);
    }
    for (s = 0; s < batch->n_spans; s++) {
        const char *p = batch->data + batch->spans[s].begin;
        const char *end = batch->data + batch->spans[s].end;
        while (p < end) {
            int64_t v = 0;
            enum pp_err err;
            if (*p++ != 'r')
                return PP_ERR_INVALID;
            while (p < end && *p != '\n')
                v = v * 10 + (*p++ - '0');
            p++;
            if ((err = pp_buf_append(&batch->out, &v, sizeof v)))
                return err;
            batch->n_out++;
        }
    }
    /* A last item names the worker. */
    {
        int64_t tag = -(int64_t)st->id;
        batch->n_out++;
        return pp_buf_append(&batch->out, &tag, sizeof tag);
    }
}

static void tag_destroy(void *state)
{
    struct tag_state *st = state;

    if (st == NULL)
        return;
    atomic_fetch_add(&st->arg->destroys, 1);
    free(st);
}

static const struct pp_stage_ops tag_stage = {
    .name = "tag",
    .create = tag_create,
    .process = tag_process,
    .destroy = tag_destroy,
};

static void tag_arg_init(struct tag_arg *a)
{
    atomic_init(&a->creates, 0);
    atomic_init(&a->destroys, 0);
    a->fail_create_number = 0;
    a->fail_process_seq = UINT64_MAX;
    a->is_slow = false;
}

static struct pp_pipeline_config config_make(size_t workers, struct fake_source *src,
                                             struct tag_arg *arg)
{
    struct pp_pipeline_config c;

    memset(&c, 0, sizeof c);
    c.workers = workers;
    c.batches_per_worker = 2;
    c.batch_bytes = 256;
    c.fill = fake_fill;
    c.source = src;
    c.stage = &tag_stage;
    c.stage_arg = arg;
    return c;
}

/* Consumes every batch from the one numbered first on, checking order and
 * content; returns the number of batches seen. */
static uint64_t consume_checked_from(struct pp_pipeline *p, uint64_t first, uint64_t limit)
{
    struct pp_batch *batch;
    uint64_t seen = first;

    while (seen - first < limit && pp_pipeline_next(p, &batch) == PP_OK) {
        const int64_t *out = (const int64_t *)(const void *)batch->out.data;
        size_t i;
        /* Source order, whatever the workers' speed. */
        ck_assert_uint_eq(batch->seq, seen);
        ck_assert_uint_eq(batch->n_spans, 1);
        ck_assert(batch->spans[0].first_offset == (int64_t)(seen * RECORDS_PER_BATCH));
        ck_assert_int_eq(batch->spans[0].partition, 7);
        /* Every record, processed by the stage. */
        ck_assert_uint_eq(batch->n_out, RECORDS_PER_BATCH + 1);
        ck_assert_uint_eq(batch->out.len, (RECORDS_PER_BATCH + 1) * sizeof(int64_t));
        for (i = 0; i < RECORDS_PER_BATCH; i++)
            ck_assert(out[i] == (int64_t)(seen * RECORDS_PER_BATCH + i));
        /* The last item is the tag of a worker state. */
        ck_assert(out[RECORDS_PER_BATCH] < 0);
        pp_pipeline_release(p, batch);
        seen++;
    }
    return seen - first;
}

static uint64_t consume_checked(struct pp_pipeline *p, uint64_t limit)
{
    return consume_checked_from(p, 0, limit);
}

static void run_in_order(size_t workers, bool is_slow)
{
    struct fake_source src = {300, UINT64_MAX, PP_OK, 0, 0};
    struct tag_arg arg;
    struct pp_pipeline_config cfg;
    struct pp_pipeline *p = NULL;
    struct pp_batch *batch;

    tag_arg_init(&arg);
    arg.is_slow = is_slow;
    cfg = config_make(workers, &src, &arg);
    ck_assert_int_eq(pp_pipeline_start(&cfg, &p), PP_OK);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(consume_checked(p, UINT64_MAX), 300);
    ck_assert_int_eq(pp_pipeline_next(p, &batch), PP_END);
    ck_assert_int_eq(pp_pipeline_stop(p), PP_OK);
    ck_assert_uint_eq(src.produced, 300);
    ck_assert_int_eq(atomic_load(&arg.creates), (int)workers);
    ck_assert_int_eq(atomic_load(&arg.destroys), (int)workers);
}

START_TEST(test_one_worker_in_order)
{
    run_in_order(1, false);
}
END_TEST

START_TEST(test_two_workers_in_order)
{
    run_in_order(2, false);
    run_in_order(2, true);
}
END_TEST

START_TEST(test_three_workers_in_order)
{
    run_in_order(3, false);
    run_in_order(3, true);
}
END_TEST

START_TEST(test_worker_assignment)
{
    struct fake_source src = {60, UINT64_MAX, PP_OK, 0, 0};
    struct tag_arg arg;
    struct pp_pipeline_config cfg;
    struct pp_pipeline *p = NULL;
    struct pp_batch *batch;
    int64_t tag_of_class[3] = {0, 0, 0};
    uint64_t seen = 0;

    /* The source deals batch k to worker k mod N: one worker state per
     * residue class. */
    tag_arg_init(&arg);
    cfg = config_make(3, &src, &arg);
    ck_assert_int_eq(pp_pipeline_start(&cfg, &p), PP_OK);
    while (pp_pipeline_next(p, &batch) == PP_OK) {
        const int64_t *out = (const int64_t *)(const void *)batch->out.data;
        int64_t tag = out[batch->n_out - 1];
        size_t k = batch->seq % 3;
        if (tag_of_class[k] == 0)
            tag_of_class[k] = tag;
        ck_assert(tag_of_class[k] == tag);
        pp_pipeline_release(p, batch);
        seen++;
    }
    ck_assert_uint_eq(seen, 60);
    ck_assert(tag_of_class[0] != tag_of_class[1] && tag_of_class[1] != tag_of_class[2] &&
              tag_of_class[0] != tag_of_class[2]);
    ck_assert_int_eq(pp_pipeline_stop(p), PP_OK);
}
END_TEST

START_TEST(test_empty_source)
{
    struct fake_source src = {0, UINT64_MAX, PP_OK, 0, 0};
    struct tag_arg arg;
    struct pp_pipeline_config cfg;
    struct pp_pipeline *p = NULL;
    struct pp_batch *batch;

    tag_arg_init(&arg);
    cfg = config_make(2, &src, &arg);
    ck_assert_int_eq(pp_pipeline_start(&cfg, &p), PP_OK);
    ck_assert_int_eq(pp_pipeline_next(p, &batch), PP_END);
    ck_assert_int_eq(pp_pipeline_stop(p), PP_OK);
    ck_assert_uint_eq(src.calls_after_end, 1);
}
END_TEST

static void run_source_failure(size_t workers)
{
    struct fake_source src = {1000, 50, PP_ERR_IO, 0, 0};
    struct tag_arg arg;
    struct pp_pipeline_config cfg;
    struct pp_pipeline *p = NULL;
    struct pp_batch *batch;
    uint64_t seen;

    tag_arg_init(&arg);
    cfg = config_make(workers, &src, &arg);
    ck_assert_int_eq(pp_pipeline_start(&cfg, &p), PP_OK);
    /* Whatever arrives before the failure arrives in order; then the end
     * (a hang here is the test's timeout). */
    seen = consume_checked(p, UINT64_MAX);
    ck_assert_uint_le(seen, 50);
    ck_assert_int_eq(pp_pipeline_next(p, &batch), PP_END);
    ck_assert_int_eq(pp_pipeline_stop(p), PP_ERR_IO);
    ck_assert_uint_eq(src.produced, 50);
    ck_assert_int_eq(atomic_load(&arg.destroys), atomic_load(&arg.creates));
}

START_TEST(test_source_fails_midway)
{
    run_source_failure(1);
    run_source_failure(2);
    run_source_failure(3);
}
END_TEST

START_TEST(test_source_fails_first)
{
    struct fake_source src = {10, 0, PP_ERR_CORRUPT, 0, 0};
    struct tag_arg arg;
    struct pp_pipeline_config cfg;
    struct pp_pipeline *p = NULL;
    struct pp_batch *batch;

    tag_arg_init(&arg);
    cfg = config_make(3, &src, &arg);
    ck_assert_int_eq(pp_pipeline_start(&cfg, &p), PP_OK);
    ck_assert_int_eq(pp_pipeline_next(p, &batch), PP_END);
    ck_assert_int_eq(pp_pipeline_stop(p), PP_ERR_CORRUPT);
}
END_TEST

static void run_create_failure(size_t workers, int fail_number)
{
    struct fake_source src = {1000, UINT64_MAX, PP_OK, 0, 0};
    struct tag_arg arg;
    struct pp_pipeline_config cfg;
    struct pp_pipeline *p = NULL;
    struct pp_batch *batch;
    enum pp_err err;

    tag_arg_init(&arg);
    arg.fail_create_number = fail_number;
    cfg = config_make(workers, &src, &arg);
    ck_assert_int_eq(pp_pipeline_start(&cfg, &p), PP_OK);
    /* The consumer may see a few batches from the healthy workers, then
     * the end; never all of them. */
    while (pp_pipeline_next(p, &batch) == PP_OK)
        pp_pipeline_release(p, batch);
    err = pp_pipeline_stop(p);
    ck_assert_int_ne(err, PP_OK);
    ck_assert_int_ne(err, PP_END);
    ck_assert_uint_lt(src.produced, 1000);
    /* Every state that was created was destroyed. */
    ck_assert_int_eq(atomic_load(&arg.destroys), atomic_load(&arg.creates) - 1);
}

START_TEST(test_stage_create_fails)
{
    run_create_failure(1, 1);
    run_create_failure(3, 1);
    run_create_failure(3, 3);
}
END_TEST

START_TEST(test_stage_process_fails)
{
    struct fake_source src = {1000, UINT64_MAX, PP_OK, 0, 0};
    struct tag_arg arg;
    struct pp_pipeline_config cfg;
    struct pp_pipeline *p = NULL;
    struct pp_batch *batch;
    uint64_t seen = 0;

    tag_arg_init(&arg);
    arg.fail_process_seq = 20;
    cfg = config_make(2, &src, &arg);
    ck_assert_int_eq(pp_pipeline_start(&cfg, &p), PP_OK);
    while (pp_pipeline_next(p, &batch) == PP_OK) {
        ck_assert_uint_eq(batch->seq, seen);
        ck_assert_uint_lt(batch->seq, 20);
        pp_pipeline_release(p, batch);
        seen++;
    }
    ck_assert_int_eq(pp_pipeline_stop(p), PP_ERR_CORRUPT);
}
END_TEST

START_TEST(test_consumer_stops_early)
{
    struct fake_source src = {100000, UINT64_MAX, PP_OK, 0, 0};
    struct tag_arg arg;
    struct pp_pipeline_config cfg;
    struct pp_pipeline *p = NULL;

    /* Stopping with batches in flight (one even still borrowed by the
     * consumer) joins every thread and reports no error. */
    tag_arg_init(&arg);
    cfg = config_make(3, &src, &arg);
    ck_assert_int_eq(pp_pipeline_start(&cfg, &p), PP_OK);
    ck_assert_uint_eq(consume_checked(p, 5), 5);
    {
        struct pp_batch *batch;
        ck_assert_int_eq(pp_pipeline_next(p, &batch), PP_OK);
        ck_assert_uint_eq(batch->seq, 5);
    }
    ck_assert_int_eq(pp_pipeline_stop(p), PP_OK);
    ck_assert_uint_lt(src.produced, 100000);
    ck_assert_int_eq(atomic_load(&arg.destroys), 3);
}
END_TEST

/* A source that records the blocked callback's calls. */
struct blocked_source {
    struct fake_source fake;
    _Atomic int blocked_true;
    _Atomic int blocked_false;
    _Atomic bool is_blocked;
};

static enum pp_err blocked_fill(void *arg, struct pp_batch *batch)
{
    struct blocked_source *src = arg;

    /* A fill while blocked would mean the source got a batch without the
     * callback being told the stall is over. */
    if (atomic_load(&src->is_blocked))
        return PP_ERR_INTERNAL;
    return fake_fill(&src->fake, batch);
}

static enum pp_err blocked_cb(void *arg, bool is_blocked)
{
    struct blocked_source *src = arg;

    atomic_fetch_add(is_blocked ? &src->blocked_true : &src->blocked_false, 1);
    atomic_store(&src->is_blocked, is_blocked);
    return PP_OK;
}

START_TEST(test_blocked_callback)
{
    struct blocked_source src = {.fake = {1000, UINT64_MAX, PP_OK, 0, 0}};
    struct tag_arg arg;
    struct pp_pipeline_config cfg;
    struct pp_pipeline *p = NULL;
    struct pp_batch *held[8];
    struct timespec pause = {0, 200 * 1000000L};
    size_t n_held = 0;

    /* The consumer keeps every batch of the pool (1 worker x 2) for 200 ms
     * or more: the source is told it is blocked (again every 50 ms), then, once a
     * batch is back, that it is not; nothing is lost or reordered. */
    tag_arg_init(&arg);
    cfg = config_make(1, &src.fake, &arg);
    cfg.fill = blocked_fill;
    cfg.blocked = blocked_cb;
    cfg.source = &src;
    ck_assert_int_eq(pp_pipeline_start(&cfg, &p), PP_OK);
    while (n_held < 2 && pp_pipeline_next(p, &held[n_held]) == PP_OK)
        n_held++;
    ck_assert_uint_eq(n_held, 2);
    /* At least 200 ms, and until the second call (a loaded machine may not
     * run the source thread for a while). */
    nanosleep(&pause, NULL);
    for (int i = 0; i < 100 && atomic_load(&src.blocked_true) < 2; i++)
        nanosleep(&pause, NULL);
    ck_assert_int_ge(atomic_load(&src.blocked_true), 2);
    ck_assert_int_eq(atomic_load(&src.blocked_false), 0);
    ck_assert(atomic_load(&src.is_blocked));
    ck_assert_uint_eq(held[0]->seq, 0);
    ck_assert_uint_eq(held[1]->seq, 1);
    pp_pipeline_release(p, held[0]);
    pp_pipeline_release(p, held[1]);
    ck_assert_uint_eq(consume_checked_from(p, 2, UINT64_MAX), 1000 - 2);
    ck_assert_int_eq(pp_pipeline_stop(p), PP_OK);
    ck_assert_int_eq(atomic_load(&src.blocked_false), 1);
    ck_assert(!atomic_load(&src.is_blocked));
}
END_TEST

START_TEST(test_zero_workers_rejected)
{
    struct fake_source src = {1, UINT64_MAX, PP_OK, 0, 0};
    struct tag_arg arg;
    struct pp_pipeline_config cfg;
    struct pp_pipeline *p = (struct pp_pipeline *)&src;

    tag_arg_init(&arg);
    cfg = config_make(0, &src, &arg);
    ck_assert_int_eq(pp_pipeline_start(&cfg, &p), PP_ERR_INVALID);
    ck_assert_ptr_null(p);
    ck_assert_int_eq(pp_pipeline_stop(NULL), PP_OK);
}
END_TEST

static Suite *pipeline_suite(void)
{
    Suite *s = suite_create("pipeline");

    PP_CHECK_TCASE(s, test_one_worker_in_order);
    PP_CHECK_TCASE(s, test_two_workers_in_order);
    PP_CHECK_TCASE(s, test_three_workers_in_order);
    PP_CHECK_TCASE(s, test_worker_assignment);
    PP_CHECK_TCASE(s, test_empty_source);
    PP_CHECK_TCASE(s, test_source_fails_midway);
    PP_CHECK_TCASE(s, test_source_fails_first);
    PP_CHECK_TCASE(s, test_stage_create_fails);
    PP_CHECK_TCASE(s, test_stage_process_fails);
    PP_CHECK_TCASE(s, test_consumer_stops_early);
    PP_CHECK_TCASE(s, test_zero_workers_rejected);
    PP_CHECK_TCASE(s, test_blocked_callback);
    return s;
}

PP_CHECK_MAIN(pipeline_suite)
