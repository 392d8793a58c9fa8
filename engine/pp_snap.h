/*
 * pp_snap: the byte codec of state checkpoints (docs/checkpoints.md).
 *
 * A writer appends values to a pp_buf; a reader takes them back in the same
 * order. Values are in host byte order and structs are copied as they lie
 * in memory: a checkpoint is read back by the same build of pinpipe on the
 * same architecture (the checkpoint header carries a format version and a
 * layout fingerprint that the reader checks first). Both sides keep a
 * sticky error, so a codec function writes or reads everything and checks
 * once at the end: a short or inconsistent input is PP_ERR_CORRUPT, never
 * a read past its end.
 *
 * Threads: a writer or reader belongs to the thread that made it.
 */
#ifndef PP_SNAP_H
#define PP_SNAP_H

#include <stddef.h>
#include <stdint.h>

#include "pp_arena.h"
#include "pp_err.h"

/* Where a streaming writer hands its bytes (a compressor): consumes
 * ptr[0..len) or fails. */
typedef enum pp_err (*pp_snap_drain_fn)(void *arg, const void *ptr, size_t len);

struct pp_snap_writer {
    struct pp_buf *out; /* borrowed */
    enum pp_err err;    /* the first failure; later puts do nothing */
    /* Streaming (pp_snap_writer_init_drain): out is a scratch buffer
     * drained once it holds drain_at bytes, and puts of drain_at bytes or
     * more go to drain directly, so that the encoding of a large state
     * never exists whole in memory. NULL: everything stays in out. */
    pp_snap_drain_fn drain;
    void *drain_arg;
    size_t drain_at;
};

struct pp_snap_reader {
    const char *data; /* borrowed: must outlive the reader */
    size_t len;
    size_t pos;
    enum pp_err err; /* the first failure; later gets return zeros */
};

void pp_snap_writer_init(struct pp_snap_writer *w, struct pp_buf *out);
/* A streaming writer (see above); pp_snap_writer_finish() drains the rest. */
void pp_snap_writer_init_drain(struct pp_snap_writer *w, struct pp_buf *scratch, size_t drain_at,
                               pp_snap_drain_fn drain, void *arg);
/* Drains what out still holds (streaming writers); returns w->err. */
enum pp_err pp_snap_writer_finish(struct pp_snap_writer *w);
void pp_snap_put(struct pp_snap_writer *w, const void *ptr, size_t len);
void pp_snap_put_u64(struct pp_snap_writer *w, uint64_t v);
void pp_snap_put_i64(struct pp_snap_writer *w, int64_t v);
/* A length, then the bytes. */
void pp_snap_put_bytes(struct pp_snap_writer *w, const void *ptr, size_t len);

void pp_snap_reader_init(struct pp_snap_reader *rd, const void *data, size_t len);
/* Fails the reader (PP_ERR_CORRUPT unless err says otherwise) and keeps the
 * first error: what a decoder calls when a value it read is inconsistent. */
void pp_snap_fail(struct pp_snap_reader *rd, enum pp_err err);
/* Copies len bytes to ptr; on a short input, zeros and PP_ERR_CORRUPT. */
void pp_snap_get(struct pp_snap_reader *rd, void *ptr, size_t len);
uint64_t pp_snap_get_u64(struct pp_snap_reader *rd);
int64_t pp_snap_get_i64(struct pp_snap_reader *rd);
/* A count of elements of elem_size bytes each that must still fit in the
 * input (so that a corrupt count cannot make the caller allocate wildly);
 * 0 and PP_ERR_CORRUPT otherwise. */
size_t pp_snap_get_count(struct pp_snap_reader *rd, size_t elem_size);
/* What pp_snap_put_bytes() wrote, as a view into the input (borrowed);
 * *len gets its length. NULL (and *len 0) on a failed reader. */
const char *pp_snap_get_bytes(struct pp_snap_reader *rd, size_t *len);

/* The slot array of an open-addressing table: cap slots of elem_size
 * bytes (cap 0, or a power of two), as they lie in memory, so that loading
 * costs a copy, not a rehash (same build, same hash functions). */
void pp_snap_put_slots(struct pp_snap_writer *w, const void *slots, size_t cap, size_t elem_size);
/* Reads one back into a new array (the caller frees it with free()) and
 * *cap; NULL and *cap 0 for an empty table, or on error (the reader then
 * failed: PP_ERR_CORRUPT for a cap that is not a power of two or does not
 * fit, PP_ERR_NOMEM). The caller checks the slots' contents. */
void *pp_snap_get_slots(struct pp_snap_reader *rd, size_t *cap, size_t elem_size);

#endif
