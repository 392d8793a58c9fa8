/*
 * pp_ring: a bounded, lock-free, single-producer single-consumer ring of
 * pointers: the only thing that crosses threads in pinpipe.
 *
 * Exactly one thread pushes and exactly one thread pops. A full ring on
 * push, or an empty one on pop, is the status PP_AGAIN, never a failure; the
 * _wait variants sleep (futex) instead of spinning, so idle stages give
 * their core away. Handing an item over transfers its ownership to the
 * consumer.
 *
 * pp_ring_close() may be called by either side, once or more: pushes then
 * return PP_END, pops drain what is left and then return PP_END, and every
 * sleeper wakes.
 */
#ifndef PP_RING_H
#define PP_RING_H

#include <stddef.h>

#include "pp_err.h"

struct pp_ring;

/* capacity is rounded up to a power of two (at least 2). NULL on OOM.
 * Any thread, before the ring is shared. */
struct pp_ring *pp_ring_new(size_t capacity);
/* Accepts NULL. Items still inside are not freed: the owner drains first.
 * Call when neither side uses the ring any more. */
void pp_ring_destroy(struct pp_ring *ring);

/* Producer thread. PP_OK (ownership of item passes to the consumer),
 * PP_AGAIN when full, PP_END when closed. */
enum pp_err pp_ring_push(struct pp_ring *ring, void *item);
/* Producer thread: like pp_ring_push but sleeps while the ring is full. */
enum pp_err pp_ring_push_wait(struct pp_ring *ring, void *item);

/* Consumer thread. PP_OK with *item (the caller now owns it), PP_AGAIN when
 * empty, PP_END when closed and drained. */
enum pp_err pp_ring_pop(struct pp_ring *ring, void **item);
/* Consumer thread: like pp_ring_pop but sleeps while the ring is empty. */
enum pp_err pp_ring_pop_wait(struct pp_ring *ring, void **item);
/* Consumer thread: like pp_ring_pop_wait but gives up with PP_AGAIN after
 * timeout_ms (>= 0) milliseconds. */
enum pp_err pp_ring_pop_timed(struct pp_ring *ring, void **item, int timeout_ms);

/* Either side, any number of times. */
void pp_ring_close(struct pp_ring *ring);

/* Items inside now; approximate when read from a third thread (metrics). */
size_t pp_ring_occupancy(const struct pp_ring *ring);
size_t pp_ring_capacity(const struct pp_ring *ring);

#endif
