#include "pp_pipeline.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "pp_log.h"
#include "pp_ring.h"

struct pipeline_worker {
    struct pp_pipeline *pipeline;
    struct pp_ring *in;  /* source -> worker */
    struct pp_ring *out; /* worker -> consumer */
    pthread_t thread;
    bool is_started;
};

struct pp_pipeline {
    struct pp_pipeline_config config;
    struct pipeline_worker *workers;
    struct pp_ring *free_ring; /* consumer -> source */
    struct pp_batch **pool;
    size_t pool_size;
    pthread_t source_thread;
    bool is_source_started;
    uint64_t next_seq; /* consumer: seq of the next batch to hand out */
    _Atomic int first_error;
};

static void pipeline_fail(struct pp_pipeline *p, enum pp_err err)
{
    int expected = PP_OK;
    size_t i;

    atomic_compare_exchange_strong(&p->first_error, &expected, (int)err);
    /* Closing every ring wakes every thread; each then winds down. */
    pp_ring_close(p->free_ring);
    for (i = 0; i < p->config.workers; i++) {
        pp_ring_close(p->workers[i].in);
        pp_ring_close(p->workers[i].out);
    }
}

/* The next free batch for the source: PP_OK, PP_END when stopped, or the
 * blocked callback's error. */
static enum pp_err pipeline_take_free(struct pp_pipeline *p, void **item)
{
    bool is_blocked = false;
    enum pp_err err;

    if (p->config.blocked == NULL)
        return pp_ring_pop_wait(p->free_ring, item);
    while ((err = pp_ring_pop_timed(p->free_ring, item, PP_PIPELINE_BLOCKED_MS)) == PP_AGAIN) {
        if ((err = p->config.blocked(p->config.source, true)))
            return err;
        is_blocked = true;
    }
    if (is_blocked && err == PP_OK)
        err = p->config.blocked(p->config.source, false);
    return err;
}

static void *pipeline_source_main(void *arg)
{
    struct pp_pipeline *p = arg;
    uint64_t seq = 0;
    enum pp_err err;
    void *item;
    size_t i;

    pthread_setname_np(pthread_self(), "pp-source");
    for (;;) {
        err = pipeline_take_free(p, &item);
        if (err == PP_END)
            break; /* stopped early */
        if (err != PP_OK) {
            pipeline_fail(p, err);
            break;
        }
        struct pp_batch *batch = item;
        pp_batch_reset(batch);
        err = p->config.fill(p->config.source, batch);
        if (err == PP_END)
            break;
        if (err != PP_OK) {
            pipeline_fail(p, err);
            break;
        }
        batch->seq = seq;
        /* The worker now owns the batch. */
        if (pp_ring_push_wait(p->workers[seq % p->config.workers].in, batch) != PP_OK)
            break;
        seq++;
    }
    for (i = 0; i < p->config.workers; i++)
        pp_ring_close(p->workers[i].in);
    return NULL;
}

static void *pipeline_worker_main(void *arg)
{
    struct pipeline_worker *w = arg;
    struct pp_pipeline *p = w->pipeline;
    void *state;
    enum pp_err err;
    void *item;
    char name[16];

    /* Thread names show up in perf, top and gdb. */
    snprintf(name, sizeof name, "pp-%.6s-%zu", p->config.stage->name, (size_t)(w - p->workers));
    pthread_setname_np(pthread_self(), name);
    state = p->config.stage->create(p->config.stage_arg);
    if (state == NULL) {
        pp_log_error("%s stage: cannot start", p->config.stage->name);
        pipeline_fail(p, PP_ERR_NOMEM);
        goto out;
    }
    while (pp_ring_pop_wait(w->in, &item) == PP_OK) {
        err = p->config.stage->process(state, item);
        if (err != PP_OK) {
            pipeline_fail(p, err);
            break;
        }
        /* The consumer now owns the batch. */
        if (pp_ring_push_wait(w->out, item) != PP_OK)
            break;
    }
out:
    pp_ring_close(w->out);
    p->config.stage->destroy(state);
    return NULL;
}

enum pp_err pp_pipeline_start(const struct pp_pipeline_config *config,
                              struct pp_pipeline **pipeline)
{
    struct pp_pipeline *p;
    size_t per = config->batches_per_worker < 2 ? 2 : config->batches_per_worker;
    enum pp_err err = PP_ERR_NOMEM;
    size_t i;

    *pipeline = NULL;
    if (config->workers < 1)
        return PP_ERR_INVALID;
    p = calloc(1, sizeof *p);
    if (p == NULL)
        return PP_ERR_NOMEM;
    p->config = *config;
    atomic_init(&p->first_error, PP_OK);
    p->pool_size = per * config->workers;
    p->workers = calloc(config->workers, sizeof *p->workers);
    p->pool = calloc(p->pool_size, sizeof *p->pool);
    p->free_ring = pp_ring_new(p->pool_size);
    if (p->workers == NULL || p->pool == NULL || p->free_ring == NULL)
        goto fail;
    for (i = 0; i < config->workers; i++) {
        p->workers[i].pipeline = p;
        p->workers[i].in = pp_ring_new(per);
        p->workers[i].out = pp_ring_new(per);
        if (p->workers[i].in == NULL || p->workers[i].out == NULL)
            goto fail;
    }
    for (i = 0; i < p->pool_size; i++) {
        p->pool[i] = pp_batch_new(config->batch_bytes);
        if (p->pool[i] == NULL)
            goto fail;
        pp_ring_push(p->free_ring, p->pool[i]);
    }
    err = PP_ERR_INTERNAL;
    for (i = 0; i < config->workers; i++) {
        if (pthread_create(&p->workers[i].thread, NULL, pipeline_worker_main, &p->workers[i]))
            goto fail;
        p->workers[i].is_started = true;
    }
    if (pthread_create(&p->source_thread, NULL, pipeline_source_main, p))
        goto fail;
    p->is_source_started = true;
    *pipeline = p;
    return PP_OK;
fail:
    pp_pipeline_stop(p);
    return err;
}

enum pp_err pp_pipeline_next(struct pp_pipeline *p, struct pp_batch **batch)
{
    void *item;
    enum pp_err err;

    err = pp_ring_pop_wait(p->workers[p->next_seq % p->config.workers].out, &item);
    if (err != PP_OK)
        return PP_END;
    p->next_seq++;
    *batch = item;
    return PP_OK;
}

void pp_pipeline_release(struct pp_pipeline *p, struct pp_batch *batch)
{
    /* The free ring holds the whole pool, so this never waits; after a
     * stop it is closed and the pool frees the batch anyway. */
    pp_ring_push(p->free_ring, batch);
}

enum pp_err pp_pipeline_stop(struct pp_pipeline *p)
{
    enum pp_err err;
    size_t i;

    if (p == NULL)
        return PP_OK;
    pp_ring_close(p->free_ring);
    for (i = 0; p->workers && i < p->config.workers; i++) {
        if (p->workers[i].in)
            pp_ring_close(p->workers[i].in);
        if (p->workers[i].out)
            pp_ring_close(p->workers[i].out);
    }
    if (p->is_source_started)
        pthread_join(p->source_thread, NULL);
    for (i = 0; p->workers && i < p->config.workers; i++)
        if (p->workers[i].is_started)
            pthread_join(p->workers[i].thread, NULL);
    /* Only once every worker has returned: a failing worker closes all the
     * rings (pipeline_fail), also those of workers already joined. */
    for (i = 0; p->workers && i < p->config.workers; i++) {
        pp_ring_destroy(p->workers[i].in);
        pp_ring_destroy(p->workers[i].out);
    }
    for (i = 0; p->pool && i < p->pool_size; i++)
        pp_batch_destroy(p->pool[i]);
    pp_ring_destroy(p->free_ring);
    err = (enum pp_err)atomic_load(&p->first_error);
    free(p->pool);
    free(p->workers);
    free(p);
    return err;
}

size_t pp_pipeline_backlog(const struct pp_pipeline *p)
{
    size_t n = 0;
    size_t i;

    for (i = 0; i < p->config.workers; i++)
        n += pp_ring_occupancy(p->workers[i].in) + pp_ring_occupancy(p->workers[i].out);
    return n;
}
