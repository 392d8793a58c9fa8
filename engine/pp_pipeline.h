/*
 * pp_pipeline: source -> N workers -> consumer, joined by SPSC rings.
 *
 *   source thread --ring--> worker i (i = seq mod N) --ring--> consumer
 *        ^                                                        |
 *        +-------------------- free ring -------------------------+
 *
 * A fixed pool of batches circulates, so the number of batches in flight
 * (and the memory) is bounded. The source deals batches to the workers
 * round-robin and the consumer collects them round-robin, so the consumer
 * sees batches in source order whatever the workers' speed.
 *
 * Threads: the source and each worker run on threads the pipeline creates;
 * pp_pipeline_next/release/stop run on one consumer thread (the caller).
 */
#ifndef PP_PIPELINE_H
#define PP_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>

#include "pp_batch.h"
#include "pp_err.h"

/* A worker stage: one instance per worker thread, created and destroyed on
 * that thread; its state is private to it. */
struct pp_stage_ops {
    const char *name;
    /* Returns the stage state, NULL on failure. */
    void *(*create)(void *arg);
    /* Fills batch->out from batch's input. An error stops the pipeline. */
    enum pp_err (*process)(void *state, struct pp_batch *batch);
    /* Accepts NULL. */
    void (*destroy)(void *state);
};

/* Fills an empty batch with input; PP_OK (batch has spans), PP_END when the
 * input is exhausted, or an error, which stops the pipeline. Runs on the
 * source thread. */
typedef enum pp_err (*pp_source_fill_fn)(void *source, struct pp_batch *batch);

/*
 * Optional: tells the source that the downstream stages are behind. When
 * every batch of the pool has been in flight for PP_PIPELINE_BLOCKED_MS,
 * the source thread calls it with is_blocked true, again every
 * PP_PIPELINE_BLOCKED_MS while that lasts, and once with false when a batch
 * is free again. A Kafka source pauses its partitions and keeps serving its
 * group meanwhile (backpressure, SPEC 9); short stalls, which happen all the
 * time at full speed, never reach it. Source thread. An error stops the
 * pipeline like a fill error.
 */
typedef enum pp_err (*pp_source_blocked_fn)(void *source, bool is_blocked);
#define PP_PIPELINE_BLOCKED_MS 50

struct pp_pipeline_config {
    size_t workers;            /* worker threads, >= 1 */
    size_t batches_per_worker; /* in-flight bound per worker, >= 2 */
    size_t batch_bytes;        /* input capacity of each batch */
    pp_source_fill_fn fill;
    pp_source_blocked_fn blocked; /* may be NULL */
    void *source;
    const struct pp_stage_ops *stage;
    void *stage_arg;
};

struct pp_pipeline;

/* Starts the threads. The config's pointers must outlive the pipeline. */
enum pp_err pp_pipeline_start(const struct pp_pipeline_config *config,
                              struct pp_pipeline **pipeline);

/* Blocks for the next processed batch, in source order. PP_OK: the caller
 * borrows *batch until pp_pipeline_release(). PP_END: no more batches (or
 * a stage failed: pp_pipeline_stop() tells). */
enum pp_err pp_pipeline_next(struct pp_pipeline *pipeline, struct pp_batch **batch);

/* Hands a batch from pp_pipeline_next() back to the pool. */
void pp_pipeline_release(struct pp_pipeline *pipeline, struct pp_batch *batch);

/* Stops early if still running, joins the threads and frees everything.
 * Returns the first error of the source or a worker, else PP_OK. Accepts
 * NULL. */
enum pp_err pp_pipeline_stop(struct pp_pipeline *pipeline);

/* Occupancy of the ring into worker i, for progress and metrics. */
size_t pp_pipeline_backlog(const struct pp_pipeline *pipeline);

#endif
