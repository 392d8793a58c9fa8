/*
 * pp_store_int: what pp_store.c shares with its backends (private to the
 * store: include only from pp_store*.c).
 *
 * pp_store.c does what every backend needs the same way: key checks, the
 * in-flight bound, one put per key at a time (a second put of a key waits
 * for the first, so the last bytes handed over are the ones that stay),
 * the queue of finished puts and their callbacks, counters and the error
 * message. A backend is a const table of functions plus private state (like
 * curl's connection filters): it starts puts and reports each one once,
 * through pp_store_finish(), from inside its poll function.
 *
 * Threads: everything on the store's thread.
 */
#ifndef PP_STORE_INT_H
#define PP_STORE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pp_arena.h"
#include "pp_err.h"
#include "pp_store.h"

/* One object being written: created by pp_store_put, freed after its
 * callback. */
struct pp_store_put {
    struct pp_store_put *prev; /* in the running list */
    struct pp_store_put *next; /* in the running, waiting or done list */
    char *key;                 /* owned copy */
    size_t key_len;
    struct pp_buf data; /* owned; freed at pp_store_finish */
    size_t len;         /* data's length, kept for the counters */
    pp_store_done_fn done;
    void *arg;
    enum pp_err err;
    void *impl; /* the backend's own per-put state */
};

struct pp_store_backend {
    const char *name; /* pp_store_backend()'s answer */
    /* Starts writing put (its key is valid, no other put of the key runs).
     * An error means nothing started; the put then fails with it, with
     * msg naming the cause. */
    enum pp_err (*start)(struct pp_store *store, struct pp_store_put *put, char *msg,
                         size_t msg_len);
    /* Makes progress, waiting up to timeout_ms (0: no wait, -1: until
     * something happens) when nothing is ready; finishes puts with
     * pp_store_finish(). An error is the backend's own failure. */
    enum pp_err (*poll)(struct pp_store *store, int timeout_ms);
    /* Frees the backend's state once nothing runs. */
    void (*destroy)(struct pp_store *store);
};

struct pp_store_list {
    struct pp_store_put *head;
    struct pp_store_put *tail;
};

struct pp_store {
    const struct pp_store_backend *backend;
    void *state; /* the backend's */
    char *url;
    size_t max_in_flight;
    size_t in_flight;              /* accepted, not yet reported */
    uint64_t buffered_bytes;       /* their bytes */
    struct pp_store_list running;  /* handed to the backend */
    struct pp_store_list waiting;  /* behind a running put of the same key */
    struct pp_store_list finished; /* callbacks due */
    struct pp_store_stats stats;
    bool is_abandoned; /* pp_store_abandon: the backend is destroyed */
    char error[1600];  /* a key (at most 1024 bytes) and a cause */
};

/* A key pp_store_put accepts: relative, '/'-separated, no empty, "." or
 * ".." segment, at most 1024 bytes. */
bool pp_store_key_is_valid(const char *key);

/* The backend reports a put's end: err PP_OK (durable) or the failure, with
 * cause (NULL when err is PP_OK) saying what failed; pp_store_error() then
 * gives "<key>: <cause>". Frees the put's data. */
void pp_store_finish(struct pp_store *store, struct pp_store_put *put, enum pp_err err,
                     const char *cause);

/* The local backends (pp_store_local.c). Open the directory at path, check
 * it can be written (mkdir -p, a probe file), and pick io_uring or plain
 * system calls (is_uring_off, or io_uring unavailable: logged). */
enum pp_err pp_store_local_open(struct pp_store *store, const char *path, bool is_uring_off,
                                char *msg, size_t msg_len);

/* The S3 backend (pp_store_s3.c). Checks the URL (s3://bucket[/prefix])
 * and options, sets up the client and runs the preflight probe. */
enum pp_err pp_store_s3_open(struct pp_store *store, const struct pp_store_options *options,
                             char *msg, size_t msg_len);

/* pp_store_download for s3:// URLs, with a store struct of its own (url and
 * max_in_flight set) whose backend state it creates and destroys. is_flat:
 * only the objects directly under the prefix, not those of its "folders"
 * (pp_store_get()). */
enum pp_err pp_store_s3_download(struct pp_store *store, const struct pp_store_options *options,
                                 const char *dir, bool is_flat, uint64_t *n_objects,
                                 uint64_t *n_bytes, char *msg, size_t msg_len);

#endif
