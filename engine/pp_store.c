/*
 * pp_store: the backend-independent half of the object store (see
 * pp_store_int.h for the split). docs/store.md describes the design.
 */
#include "pp_store.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pp_clock.h"
#include "pp_config.h"
#include "pp_store_int.h"

/* Puts in flight when the options say 0. */
#define PP_STORE_DEFAULT_IN_FLIGHT 16

static void pp_store_list_push(struct pp_store_list *list, struct pp_store_put *put)
{
    put->next = NULL;
    put->prev = list->tail;
    if (list->tail != NULL)
        list->tail->next = put;
    else
        list->head = put;
    list->tail = put;
}

static void pp_store_list_remove(struct pp_store_list *list, struct pp_store_put *put)
{
    if (put->prev != NULL)
        put->prev->next = put->next;
    else
        list->head = put->next;
    if (put->next != NULL)
        put->next->prev = put->prev;
    else
        list->tail = put->prev;
    put->prev = NULL;
    put->next = NULL;
}

static bool pp_store_list_has_key(const struct pp_store_list *list, const struct pp_store_put *put)
{
    const struct pp_store_put *p;

    for (p = list->head; p != NULL; p = p->next)
        if (p->key_len == put->key_len && memcmp(p->key, put->key, put->key_len) == 0)
            return true;
    return false;
}

bool pp_store_key_is_valid(const char *key)
{
    const char *seg = key;
    size_t len;

    if (key == NULL || key[0] == '\0' || strlen(key) > PP_STORE_MAX_KEY)
        return false;
    for (;;) {
        const char *slash = strchr(seg, '/');

        len = slash != NULL ? (size_t)(slash - seg) : strlen(seg);
        if (len == 0 || (len == 1 && seg[0] == '.') || (len == 2 && seg[0] == '.' && seg[1] == '.'))
            return false;
        if (slash == NULL)
            return true;
        seg = slash + 1;
    }
}

static void pp_store_put_free(struct pp_store_put *put)
{
    if (put == NULL)
        return;
    pp_buf_cleanup(&put->data);
    free(put->key);
    free(put);
}

void pp_store_finish(struct pp_store *store, struct pp_store_put *put, enum pp_err err,
                     const char *cause)
{
    pp_store_list_remove(&store->running, put);
    put->err = err;
    pp_buf_cleanup(&put->data);
    if (err != PP_OK)
        snprintf(store->error, sizeof store->error, "%s: %s", put->key,
                 cause != NULL ? cause : pp_err_str(err));
    pp_store_list_push(&store->finished, put);
}

/* Hands a put to the backend; a failure to start finishes it at once. */
static void pp_store_start(struct pp_store *store, struct pp_store_put *put)
{
    char msg[256];
    enum pp_err err;

    pp_store_list_push(&store->running, put);
    msg[0] = '\0';
    err = store->backend->start(store, put, msg, sizeof msg);
    if (err != PP_OK)
        pp_store_finish(store, put, err, msg);
}

/* Starts the waiting puts whose key no longer runs, oldest first. */
static void pp_store_start_waiting(struct pp_store *store)
{
    struct pp_store_put *put = store->waiting.head;

    while (put != NULL) {
        struct pp_store_put *next = put->next;

        if (!pp_store_list_has_key(&store->running, put)) {
            pp_store_list_remove(&store->waiting, put);
            pp_store_start(store, put);
        }
        put = next;
    }
}

enum pp_err pp_store_local_path(const char *url, const char **path, char *msg, size_t msg_len)
{
    *path = url;
    if (strncmp(url, "s3://", 5) == 0) {
        *path = NULL;
    } else if (strncmp(url, "file://", 7) == 0) {
        *path = url + 7;
        if (strncmp(*path, "localhost/", 10) == 0)
            *path += 9;
        if ((*path)[0] != '/') {
            snprintf(msg, msg_len, "store %s: a file:// URL needs an absolute path (file:///dir)",
                     url);
            return PP_ERR_USAGE;
        }
    } else if (strstr(url, "://") != NULL) {
        snprintf(msg, msg_len, "store %s: unknown scheme (file:// or s3://)", url);
        return PP_ERR_USAGE;
    }
    return PP_OK;
}

enum pp_err pp_store_open(const struct pp_store_options *options, struct pp_store **store,
                          char *msg, size_t msg_len)
{
    struct pp_store *new_store = NULL;
    const char *url = options->url;
    const char *path = url;
    enum pp_err err = PP_OK;

    *store = NULL;
    if (url == NULL || url[0] == '\0') {
        snprintf(msg, msg_len, "store: no URL given");
        return PP_ERR_USAGE;
    }
    if ((err = pp_store_local_path(url, &path, msg, msg_len)) != PP_OK)
        return err;
    new_store = calloc(1, sizeof *new_store);
    if (new_store == NULL)
        return PP_ERR_NOMEM;
    new_store->url = strdup(url);
    if (new_store->url == NULL) {
        err = PP_ERR_NOMEM;
        goto out;
    }
    new_store->max_in_flight =
        options->max_in_flight ? options->max_in_flight : PP_STORE_DEFAULT_IN_FLIGHT;
    if (path == NULL)
        err = pp_store_s3_open(new_store, options, msg, msg_len);
    else
        err = pp_store_local_open(new_store, path, options->is_uring_off, msg, msg_len);
    if (err != PP_OK)
        goto out;
    *store = new_store;
    new_store = NULL;
out:
    if (new_store != NULL) {
        free(new_store->url);
        free(new_store);
    }
    return err;
}

enum pp_err pp_store_put(struct pp_store *store, const char *key, struct pp_buf *data,
                         pp_store_done_fn done, void *arg)
{
    struct pp_store_put *put;

    if (!pp_store_key_is_valid(key))
        return PP_ERR_INVALID;
    if (store->is_abandoned)
        return PP_ERR_IO;
    if (store->in_flight >= store->max_in_flight)
        return PP_AGAIN;
    put = calloc(1, sizeof *put);
    if (put == NULL)
        return PP_ERR_NOMEM;
    put->key_len = strlen(key);
    put->key = malloc(put->key_len + 1);
    if (put->key == NULL) {
        free(put);
        return PP_ERR_NOMEM;
    }
    memcpy(put->key, key, put->key_len + 1);
    put->data = *data;
    pp_buf_init(data);
    put->len = put->data.len;
    put->done = done;
    put->arg = arg;
    store->in_flight++;
    store->buffered_bytes += put->len;
    if (pp_store_list_has_key(&store->running, put) || pp_store_list_has_key(&store->waiting, put))
        pp_store_list_push(&store->waiting, put);
    else
        pp_store_start(store, put);
    return PP_OK;
}

/* Calls the callbacks of finished puts. A callback may put again. */
static size_t pp_store_report(struct pp_store *store)
{
    struct pp_store_put *put;
    size_t n = 0;

    while ((put = store->finished.head) != NULL) {
        pp_store_list_remove(&store->finished, put);
        store->in_flight--;
        store->buffered_bytes -= put->len;
        if (put->err == PP_OK) {
            store->stats.objects++;
            store->stats.bytes += put->len;
        }
        if (put->done != NULL)
            put->done(put->arg, put->err);
        pp_store_put_free(put);
        n++;
    }
    return n;
}

enum pp_err pp_store_poll(struct pp_store *store, int timeout_ms, size_t *completed)
{
    int64_t deadline = timeout_ms > 0 ? pp_clock_ms() + timeout_ms : 0;
    int wait_ms = store->finished.head != NULL ? 0 : timeout_ms;
    enum pp_err err = PP_OK;
    size_t n;

    for (; !store->is_abandoned;) {
        err = store->backend->poll(store, wait_ms);
        if (err != PP_OK)
            break;
        pp_store_start_waiting(store);
        if (store->finished.head != NULL || wait_ms == 0 || store->running.head == NULL)
            break;
        if (wait_ms > 0) {
            int64_t left = deadline - pp_clock_ms();

            if (left <= 0)
                break;
            wait_ms = (int)left;
        }
    }
    n = pp_store_report(store);
    if (completed != NULL)
        *completed = n;
    return err;
}

size_t pp_store_in_flight(const struct pp_store *store)
{
    return store->in_flight;
}

bool pp_store_is_full(const struct pp_store *store)
{
    return store->in_flight >= store->max_in_flight;
}

uint64_t pp_store_buffered_bytes(const struct pp_store *store)
{
    return store->buffered_bytes;
}

const char *pp_store_backend(const struct pp_store *store)
{
    return store->backend->name;
}

const char *pp_store_error(const struct pp_store *store)
{
    return store->error;
}

void pp_store_get_stats(const struct pp_store *store, struct pp_store_stats *stats)
{
    *stats = store->stats;
}

/* Fails every put the backend no longer runs (destroyed): each is
 * reported with PP_ERR_IO and cause. */
static void pp_store_fail_all(struct pp_store *store, const char *cause)
{
    struct pp_store_put *put;

    while ((put = store->waiting.head) != NULL) {
        pp_store_list_remove(&store->waiting, put);
        pp_store_list_push(&store->running, put);
        pp_store_finish(store, put, PP_ERR_IO, cause);
    }
    while ((put = store->running.head) != NULL)
        pp_store_finish(store, put, PP_ERR_IO, cause);
    pp_store_report(store);
}

size_t pp_store_abandon(struct pp_store *store)
{
    size_t n;

    if (store->is_abandoned)
        return 0;
    pp_store_report(store); /* the finished ones keep their outcome */
    n = store->in_flight;
    if (n == 0)
        return 0;
    /* Abandons what the backend runs (S3: the transfers and the retries
     * waiting for their backoff; local: the kernel's operations). */
    store->backend->destroy(store);
    store->is_abandoned = true;
    pp_store_fail_all(store, "abandoned before it was durable");
    return n;
}

void pp_store_close(struct pp_store *store)
{
    if (store == NULL)
        return;
    /* Callbacks may put more; those are waited for too. A backend that
     * fails can finish nothing more: what it still holds is reported
     * failed, so every put still gets its one callback. */
    while (!store->is_abandoned && store->in_flight > 0) {
        if (pp_store_poll(store, -1, NULL) != PP_OK)
            break;
    }
    if (!store->is_abandoned)
        store->backend->destroy(store);
    pp_store_fail_all(store, "the store failed before it was written");
    free(store->url);
    free(store);
}

const char *pp_store_tmp_dir(void)
{
    const char *dir = getenv("TMPDIR");

    return dir != NULL && dir[0] != '\0' ? dir : "/tmp";
}

/* pp_store_download(), or with is_flat only the objects directly under the
 * URL's prefix (pp_store_get(): a folder's objects, not those of its
 * subfolders, such as every partition's checkpoints under a group's). */
static enum pp_err store_download(const struct pp_store_options *options, bool is_flat, char **dir,
                                  uint64_t *n_objects, uint64_t *n_bytes, char *msg, size_t msg_len)
{
    struct pp_store *store = NULL;
    const char *tmpdir = pp_store_tmp_dir();
    uint64_t objects = 0;
    uint64_t bytes = 0;
    char *path = NULL;
    enum pp_err err = PP_OK;

    *dir = NULL;
    if (options->url == NULL || strncmp(options->url, "s3://", 5) != 0) {
        snprintf(msg, msg_len, "store %s: only s3:// lakes are downloaded",
                 options->url != NULL ? options->url : "");
        return PP_ERR_USAGE;
    }
    store = calloc(1, sizeof *store);
    path = malloc(strlen(tmpdir) + sizeof "/pinpipe-lake-XXXXXX");
    if (store == NULL || path == NULL || (store->url = strdup(options->url)) == NULL) {
        err = PP_ERR_NOMEM;
        goto out;
    }
    sprintf(path, "%s/pinpipe-lake-XXXXXX", tmpdir);
    if (mkdtemp(path) == NULL) {
        snprintf(msg, msg_len, "store %s: cannot make a directory in %s", options->url, tmpdir);
        free(path);
        path = NULL;
        err = PP_ERR_IO;
        goto out;
    }
    store->max_in_flight =
        options->max_in_flight ? options->max_in_flight : PP_STORE_DEFAULT_IN_FLIGHT;
    err = pp_store_s3_download(store, options, path, is_flat, &objects, &bytes, msg, msg_len);
out:
    if (err != PP_OK) {
        pp_store_download_remove(path);
        path = NULL;
    }
    if (store != NULL)
        free(store->url);
    free(store);
    *dir = path;
    if (n_objects != NULL)
        *n_objects = objects;
    if (n_bytes != NULL)
        *n_bytes = bytes;
    return err;
}

enum pp_err pp_store_download(const struct pp_store_options *options, char **dir,
                              uint64_t *n_objects, uint64_t *n_bytes, char *msg, size_t msg_len)
{
    return store_download(options, false, dir, n_objects, n_bytes, msg, msg_len);
}

static int pp_store_remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)type;
    (void)ftw;
    remove(path);
    return 0;
}

void pp_store_remove_tree(const char *path)
{
    nftw(path, pp_store_remove_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

void pp_store_download_remove(char *dir)
{
    if (dir == NULL)
        return;
    pp_store_remove_tree(dir);
    free(dir);
}

void pp_store_options_from_config(struct pp_store_options *o, const struct pp_config *cfg)
{
    memset(o, 0, sizeof *o);
    o->url = pp_config_str(cfg, "lake.url");
    o->endpoint = pp_config_str(cfg, "store.url");
    o->region = pp_config_str(cfg, "s3.region");
    o->part_size = pp_config_bytes(cfg, "s3.part.size");
    o->request_timeout_ms = pp_config_int(cfg, "s3.request.timeout.ms");
    o->access_key_id = pp_config_str(cfg, "aws.access.key.id");
    o->secret_access_key = pp_config_str(cfg, "aws.secret.access.key");
}

/* Appends the whole file dir/name to out: PP_OK, PP_ERR_NOTFOUND when
 * absent, else an error with msg. */
static enum pp_err pp_store_read_file(const char *dir, const char *name, struct pp_buf *out,
                                      char *msg, size_t msg_len)
{
    char *path = malloc(strlen(dir) + strlen(name) + 2);
    FILE *f;
    enum pp_err err;

    if (path == NULL)
        return PP_ERR_NOMEM;
    sprintf(path, "%s/%s", dir, name);
    if ((f = fopen(path, "rb")) == NULL) {
        err = errno == ENOENT ? PP_ERR_NOTFOUND : PP_ERR_IO;
        if (err == PP_ERR_IO)
            snprintf(msg, msg_len, "%s: %s", path, strerror(errno));
        goto out;
    }
    if ((err = pp_buf_append_file(out, f, SIZE_MAX)) == PP_ERR_IO)
        snprintf(msg, msg_len, "%s: read failed", path);
    fclose(f);
out:
    free(path);
    return err;
}

enum pp_err pp_store_get(const struct pp_store_options *options, const char *folder,
                         const char *const *names, size_t n, struct pp_buf *out, enum pp_err *found,
                         char *msg, size_t msg_len)
{
    struct pp_store_options dir_options;
    const char *root = NULL;
    char *local = NULL;
    char *dir = NULL;
    char *url = NULL;
    enum pp_err err;
    size_t i;

    if (!pp_store_key_is_valid(folder)) {
        snprintf(msg, msg_len, "store: bad folder %s", folder);
        return PP_ERR_INVALID;
    }
    for (i = 0; i < n; i++) {
        if (!pp_store_key_is_valid(names[i]) || strchr(names[i], '/') != NULL) {
            snprintf(msg, msg_len, "store: bad object name %s", names[i]);
            return PP_ERR_INVALID;
        }
    }
    if (options->url == NULL) {
        snprintf(msg, msg_len, "store: no URL given");
        return PP_ERR_USAGE;
    }
    if ((err = pp_store_local_path(options->url, &root, msg, msg_len)) != PP_OK)
        return err;
    if (root != NULL) {
        if ((local = malloc(strlen(root) + strlen(folder) + 2)) == NULL)
            return PP_ERR_NOMEM;
        sprintf(local, "%s/%s", root, folder);
    } else {
        /* S3: the folder's own objects in one listing and their GETs
         * (the download path), then the files. */
        dir_options = *options;
        if ((url = malloc(strlen(options->url) + strlen(folder) + 2)) == NULL)
            return PP_ERR_NOMEM;
        sprintf(url, "%s%s%s", options->url,
                options->url[strlen(options->url) - 1] == '/' ? "" : "/", folder);
        dir_options.url = url;
        if ((err = store_download(&dir_options, true, &dir, NULL, NULL, msg, msg_len)) != PP_OK)
            goto out;
    }
    for (i = 0; i < n && err == PP_OK; i++) {
        found[i] = pp_store_read_file(root != NULL ? local : dir, names[i], &out[i], msg, msg_len);
        if (found[i] != PP_OK && found[i] != PP_ERR_NOTFOUND)
            err = found[i];
    }
out:
    pp_store_download_remove(dir);
    free(local);
    free(url);
    return err;
}
