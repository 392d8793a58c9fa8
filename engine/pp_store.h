/*
 * pp_store: where lake objects go, a local directory or an S3 bucket.
 *
 * The sink hands over whole objects (a key and its bytes); the store writes
 * each so that it appears only complete, under exactly that key:
 *   local: a hidden temporary file in the key's directory, written, fsynced,
 *          renamed into place, the directory fsynced (through io_uring, or
 *          plain system calls where io_uring is unavailable);
 *   S3:    PutObject, or a multipart upload from s3.part.size.
 * Writing the same key twice leaves one object with the last bytes (the
 * sink rewrites the same keys after a crash, SPEC 7).
 *
 * Puts are asynchronous. The store retries transient failures itself
 * (exponential backoff with jitter) and reports each put exactly once,
 * through its callback, from inside pp_store_poll(): PP_OK once the object
 * is durable, an error when it never will be (the caller stops).
 *
 * Threads: a store belongs to the thread that opened it (the sink's); every
 * call, and every callback, happens on that thread.
 */
#ifndef PP_STORE_H
#define PP_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pp_arena.h"
#include "pp_err.h"

struct pp_store;

/* The longest key pp_store_put accepts, in bytes (S3's limit; the local
 * backend adds the root and a temporary suffix and must stay below
 * PATH_MAX). */
#define PP_STORE_MAX_KEY 1024

struct pp_store_options {
    /* "file:///abs/path", a plain path, or "s3://bucket[/prefix]". */
    const char *url;
    /* false: plain system calls even where io_uring works (tests, and the
     * fallback's own coverage). */
    bool is_uring_off;
    /* Objects written at the same time, at most (0: a default). */
    size_t max_in_flight;
    /* S3 only (docs/s3.md). endpoint: "http(s)://host[:port]" of an
     * S3-compatible store (store.url), addressed path-style; NULL or "":
     * AWS, virtual-hosted style. region: NULL or "": "us-east-1".
     * part_size: objects of this size or more go as multipart uploads in
     * parts of this size (s3.part.size; 0: 25 MiB; at least 5 MiB).
     * access_key_id and secret_access_key (discouraged config keys): both
     * or neither; neither: the AWS credential chain (pp_awscred).
     * request_timeout_ms: one request's time limit, plus 1 ms per KiB of
     * its body (s3.request.timeout.ms; 0: 30 s); the preflight's is 10 s. */
    const char *endpoint;
    const char *region;
    uint64_t part_size;
    const char *access_key_id;
    const char *secret_access_key;
    int64_t request_timeout_ms;
};

/* Fills options from a validated configuration's lake keys (lake.url,
 * store.url, s3.region, s3.part.size, s3.request.timeout.ms,
 * aws.access.key.id and aws.secret.access.key); the other fields are
 * zeroed. The strings are the
 * configuration's (it must outlive the store's opening). */
struct pp_config;
void pp_store_options_from_config(struct pp_store_options *options, const struct pp_config *cfg);

/* The directory of a local lake URL (a plain path or file:///dir) in
 * *path (a pointer into url), or NULL for s3://. PP_ERR_USAGE with msg
 * for a URL that cannot work. */
enum pp_err pp_store_local_path(const char *url, const char **path, char *msg, size_t msg_len);

/* Called once per put, on the store's thread, from pp_store_poll() (or
 * pp_store_close()). err: PP_OK when the object is durable; otherwise a
 * permanent failure, with pp_store_error() naming key and cause. */
typedef void (*pp_store_done_fn)(void *arg, enum pp_err err);

/*
 * Opens the store at options->url and checks it can write there (local: the
 * root is created and a probe file written and removed). Errors:
 * PP_ERR_USAGE (a URL that cannot work), PP_ERR_IO (cannot write there);
 * msg (msg_len bytes) gets one line naming the URL and the cause. Logs one
 * line saying whether io_uring or plain system calls write the objects.
 * S3: the options are checked, and a probe object is written and deleted
 * (<prefix>/_pinpipe/probe-<random>), so that a missing bucket, refused
 * credentials or an endpoint that does not answer stop the start
 * (PP_ERR_IO, or PP_ERR_NOTFOUND/PP_ERR_USAGE from the credential chain);
 * blocks up to about 10 s.
 */
enum pp_err pp_store_open(const struct pp_store_options *options, struct pp_store **store,
                          char *msg, size_t msg_len);

/*
 * Starts writing object `key` (relative, '/'-separated, no "..", no leading
 * '/') with the bytes of data. Takes ownership of data's memory (data is
 * left empty; the store frees it once written). done(arg, ...) is called
 * later from pp_store_poll(). PP_AGAIN: max_in_flight puts are running;
 * nothing was taken, poll and retry. PP_ERR_INVALID: a bad key.
 */
enum pp_err pp_store_put(struct pp_store *store, const char *key, struct pp_buf *data,
                         pp_store_done_fn done, void *arg);

/*
 * Makes progress: submits, reaps completions, retries, and calls the done
 * callbacks of finished puts. Waits up to timeout_ms (0: does not wait,
 * -1: until something completes) when nothing is ready. *completed (may
 * be NULL) gets the number of callbacks made. An error is the store's own
 * (its io_uring failed), not one put's.
 */
enum pp_err pp_store_poll(struct pp_store *store, int timeout_ms, size_t *completed);

/* Puts started and not yet reported. */
size_t pp_store_in_flight(const struct pp_store *store);

/* Whether a put now would get PP_AGAIN: for a caller whose data is costly
 * to make, to ask before making it. */
bool pp_store_is_full(const struct pp_store *store);

/* Bytes handed to puts not yet reported. */
uint64_t pp_store_buffered_bytes(const struct pp_store *store);

/* "io_uring" or "syscalls" (local), "s3". Never NULL. */
const char *pp_store_backend(const struct pp_store *store);

/* The message of the last failed put ("<key>: <cause>"), or "". */
const char *pp_store_error(const struct pp_store *store);

/* Counters, for /metrics. */
struct pp_store_stats {
    uint64_t objects; /* puts reported durable */
    uint64_t bytes;   /* their bytes */
    uint64_t retries; /* attempts repeated after a transient failure */
};
void pp_store_get_stats(const struct pp_store *store, struct pp_store_stats *stats);

/*
 * Gives up on every put not yet reported, without waiting: each one's
 * callback is called now with PP_ERR_IO (pp_store_error(): "<key>:
 * abandoned ..."), and the store takes no more puts (PP_ERR_IO); close it
 * next. The bounded shutdown's last step (docs/sink.md): S3 may still
 * store an object whose request was under way, which is harmless, since
 * the caller commits nothing of an abandoned object and a restart writes
 * the same key again. Returns how many puts were abandoned.
 */
size_t pp_store_abandon(struct pp_store *store);

/*
 * Waits for every put still running (calling their callbacks), then frees
 * the store. Accepts NULL. While S3 is unreachable this waits until it
 * comes back (puts are retried without limit): pp_store_abandon() first to
 * stop in bounded time.
 */
void pp_store_close(struct pp_store *store);

/*
 * Reading an S3 lake: copies every object under options->url (s3:// only;
 * the endpoint, region and credential options as for pp_store_open) into
 * a new temporary directory (under $TMPDIR, else /tmp), each at its key's
 * path below the prefix, so that the local lake reader reads it
 * (`pinpipe query` and `pinpipe replay --from s3://...`). Lists with
 * ListObjectsV2 and fetches with up to max_in_flight parallel GETs,
 * retried like puts. No preflight probe: read-only credentials work.
 * *dir gets the directory (the caller removes it and frees the string
 * with pp_store_download_remove). *n_objects, *n_bytes (may be NULL): what
 * was copied. Errors: PP_ERR_USAGE (not an s3:// URL, a malformed one),
 * PP_ERR_IO (unreachable, refused, a missing bucket, a local write), ...;
 * msg gets one line. Blocks; any thread (it uses a client of its own).
 */
enum pp_err pp_store_download(const struct pp_store_options *options, char **dir,
                              uint64_t *n_objects, uint64_t *n_bytes, char *msg, size_t msg_len);

/*
 * Reads whole objects of one folder of the store at options->url: the n
 * objects folder/names[i] (folder as pp_store_put() takes a key, names
 * without '/'), each appended to out[i], with found[i] PP_OK or
 * PP_ERR_NOTFOUND. Local: the files; S3: one listing of the folder and the
 * GETs of its own objects (not those of its subfolders). Returns PP_OK, PP_ERR_INVALID (a bad
 * folder or name), or an error reading the store (as pp_store_download()), with msg. Blocks; any
 * thread. For small objects (state checkpoints).
 */
enum pp_err pp_store_get(const struct pp_store_options *options, const char *folder,
                         const char *const *names, size_t n, struct pp_buf *out, enum pp_err *found,
                         char *msg, size_t msg_len);

/* Where temporary files go: $TMPDIR when set and not empty, else /tmp
 * (pp_store_download's copies, the spool of an S3 lake's open objects). */
const char *pp_store_tmp_dir(void);

/* Removes the directory pp_store_download made, with everything in it,
 * and frees the string. Accepts NULL. */
void pp_store_download_remove(char *dir);

/* Removes path and, for a directory, everything in it: depth first,
 * without following links or leaving its file system; best effort (what
 * cannot be removed stays). */
void pp_store_remove_tree(const char *path);

#endif
