#include "pp_lake.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pp_arena.h"
#include "pp_log.h"
#include "pp_zstd.h"

#define LAKE_READ_CHUNK (256 * 1024)

/* ---- names and keys ---------------------------------------------------- */

static bool lake_parse_digits(const char **p, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    const char *s = *p;

    if (*s < '0' || *s > '9')
        return false;
    while (*s >= '0' && *s <= '9') {
        unsigned d = (unsigned)(*s - '0');
        if (v > (max - d) / 10)
            return false;
        v = v * 10 + d;
        s++;
    }
    *p = s;
    *out = v;
    return true;
}

enum pp_err pp_lake_parse_name(const char *name, const char *topic, int32_t *partition,
                               int64_t *start_offset, bool *is_zstd)
{
    size_t tlen = strlen(topic);
    const char *p = name;
    uint64_t part;
    uint64_t off;

    if (strncmp(p, topic, tlen) != 0 || p[tlen] != '+')
        return PP_ERR_INVALID;
    p += tlen + 1;
    if (!lake_parse_digits(&p, INT32_MAX, &part) || *p++ != '+')
        return PP_ERR_INVALID;
    if (!lake_parse_digits(&p, INT64_MAX, &off))
        return PP_ERR_INVALID;
    if (strcmp(p, ".json") == 0)
        *is_zstd = false;
    else if (strcmp(p, ".json.zst") == 0)
        *is_zstd = true;
    else
        return PP_ERR_INVALID;
    *partition = (int32_t)part;
    *start_offset = (int64_t)off;
    return PP_OK;
}

int pp_lake_format_key(char *out, size_t cap, const char *topics_dir, const char *topic,
                       int32_t partition, int64_t start_offset, int pad_width, bool is_zstd)
{
    return snprintf(out, cap, "%s/%s/partition=%" PRId32 "/%s+%" PRId32 "+%0*" PRId64 "%s",
                    topics_dir, topic, partition, topic, partition, pad_width, start_offset,
                    is_zstd ? ".json.zst" : ".json");
}

/* ---- listing ------------------------------------------------------------ */

struct lake_objects {
    struct pp_lake_object *items;
    size_t n;
    size_t cap;
};

static char *lake_join(const char *a, const char *b)
{
    size_t la = strlen(a);
    size_t lb = strlen(b);
    char *s = malloc(la + lb + 2);

    if (s == NULL)
        return NULL;
    memcpy(s, a, la);
    s[la] = '/';
    memcpy(s + la + 1, b, lb + 1);
    return s;
}

/* Collects the objects of topic under dir, recursively: the partition path
 * may be partition=<p> or the directories of a TimeBasedPartitioner. */
static enum pp_err lake_walk(const char *dir, const char *topic, struct lake_objects *objs,
                             size_t *ignored, int depth, char *msg, size_t msg_len)
{
    DIR *d;
    struct dirent *de;
    enum pp_err err = PP_OK;

    if (depth > PP_LAKE_MAX_DEPTH) {
        snprintf(msg, msg_len, "%s: directories nested too deeply", dir);
        return PP_ERR_INVALID;
    }
    d = opendir(dir);
    if (d == NULL) {
        snprintf(msg, msg_len, "%s: %s", dir, strerror(errno));
        return PP_ERR_IO;
    }
    while ((de = readdir(d)) != NULL) {
        struct pp_lake_object obj;
        struct stat st;
        char *path;

        if (de->d_name[0] == '.')
            continue; /* ., .., and hidden temp files of writers */
        path = lake_join(dir, de->d_name);
        if (path == NULL) {
            err = PP_ERR_NOMEM;
            break;
        }
        if (stat(path, &st) != 0) {
            snprintf(msg, msg_len, "%s: %s", path, strerror(errno));
            free(path);
            err = PP_ERR_IO;
            break;
        }
        if (S_ISDIR(st.st_mode)) {
            err = lake_walk(path, topic, objs, ignored, depth + 1, msg, msg_len);
            free(path);
            if (err)
                break;
            continue;
        }
        if (!S_ISREG(st.st_mode) || pp_lake_parse_name(de->d_name, topic, &obj.partition,
                                                       &obj.start_offset, &obj.is_zstd)) {
            (*ignored)++;
            free(path);
            continue;
        }
        struct pp_lake_object *items =
            pp_array_reserve(objs->items, &objs->cap, objs->n, sizeof *items, 64);
        if (items == NULL) {
            free(path);
            err = PP_ERR_NOMEM;
            break;
        }
        objs->items = items;
        obj.path = path;
        obj.size = (uint64_t)st.st_size;
        objs->items[objs->n++] = obj;
    }
    closedir(d);
    return err;
}

static int lake_object_cmp(const void *a, const void *b)
{
    const struct pp_lake_object *x = a;
    const struct pp_lake_object *y = b;

    if (x->partition != y->partition)
        return x->partition < y->partition ? -1 : 1;
    if (x->start_offset != y->start_offset)
        return x->start_offset < y->start_offset ? -1 : 1;
    /* The same start offset twice (.json beside .json.zst): keep a stable,
     * documented order rather than the directory's. */
    return strcmp(x->path, y->path);
}

struct lake_prefix {
    char *name;
    unsigned topics; /* 1 << topic for each topic directory found */
};

static void lake_prefixes_free(struct lake_prefix *p, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        free(p[i].name);
    free(p);
}

/* Lists "a, b, c" of the prefixes whose topics match mask (all when 0). */
static void lake_prefix_names(const struct lake_prefix *p, size_t n, unsigned mask, char *out,
                              size_t out_len)
{
    size_t used = 0;
    size_t i;

    out[0] = '\0';
    for (i = 0; i < n && used < out_len; i++) {
        if (mask && p[i].topics != mask)
            continue;
        int w = snprintf(out + used, out_len - used, "%s%s", used ? ", " : "", p[i].name);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

static int lake_prefix_cmp(const void *a, const void *b)
{
    return strcmp(((const struct lake_prefix *)a)->name, ((const struct lake_prefix *)b)->name);
}

/*
 * Finds the topic prefix in topics_path: directories named <prefix>.pin,
 * .geo and .user. The one prefix that has all three wins; with none
 * complete, a single prefix is taken (its missing topic is reported later);
 * anything else is ambiguous and a usage error listing the candidates.
 */
static enum pp_err lake_discover_prefix(const char *topics_path, char **prefix, char *msg,
                                        size_t msg_len)
{
    const unsigned all = (1u << PP_TOPIC_COUNT) - 1;
    DIR *d = opendir(topics_path);
    struct lake_prefix *found = NULL;
    size_t n = 0;
    size_t cap = 0;
    size_t n_complete = 0;
    struct dirent *de;
    enum pp_err err = PP_OK;
    char names[512];
    size_t i;

    if (d == NULL) {
        snprintf(msg, msg_len, "%s: %s", topics_path, strerror(errno));
        return errno == ENOENT ? PP_ERR_NOTFOUND : PP_ERR_IO;
    }
    while ((de = readdir(d)) != NULL) {
        const char *dot = strrchr(de->d_name, '.');
        size_t plen;
        int t;

        if (dot == NULL || dot == de->d_name)
            continue;
        for (t = 0; t < PP_TOPIC_COUNT; t++)
            if (strcmp(dot + 1, pp_topic_name((enum pp_topic)t)) == 0)
                break;
        if (t == PP_TOPIC_COUNT)
            continue;
        plen = (size_t)(dot - de->d_name);
        for (i = 0; i < n; i++)
            if (strlen(found[i].name) == plen && strncmp(found[i].name, de->d_name, plen) == 0)
                break;
        if (i == n) {
            struct lake_prefix *grown = pp_array_reserve(found, &cap, n, sizeof *found, 8);
            if (grown == NULL || (grown[n].name = strndup(de->d_name, plen)) == NULL) {
                found = grown ? grown : found;
                err = PP_ERR_NOMEM;
                break;
            }
            found = grown;
            found[n++].topics = 0;
        }
        found[i].topics |= 1u << t;
    }
    closedir(d);
    if (err)
        goto out;
    if (n == 0) {
        snprintf(msg, msg_len, "%s: no topic directory ending in .pin, .geo or .user", topics_path);
        err = PP_ERR_NOTFOUND;
        goto out;
    }
    qsort(found, n, sizeof *found, lake_prefix_cmp); /* stable messages */
    for (i = 0; i < n; i++)
        n_complete += found[i].topics == all;
    if (n_complete > 1 || (n_complete == 0 && n > 1)) {
        lake_prefix_names(found, n, n_complete ? all : 0, names, sizeof names);
        snprintf(msg, msg_len, "%s holds several topic prefixes (%s): choose one with --prefix",
                 topics_path, names);
        err = PP_ERR_USAGE;
        goto out;
    }
    for (i = 0; i < n; i++) {
        if (n_complete == 0 || found[i].topics == all) {
            *prefix = found[i].name;
            found[i].name = NULL;
            break;
        }
    }
out:
    lake_prefixes_free(found, n);
    return err;
}

enum pp_err pp_lake_list(const char *root, const char *topics_dir, const char *prefix,
                         struct pp_lake_listing *listing, char *msg, size_t msg_len)
{
    struct stat st;
    char *topics_path = NULL;
    enum pp_err err;
    int t;

    memset(listing, 0, sizeof *listing);
    msg[0] = '\0';
    if (stat(root, &st) != 0) {
        snprintf(msg, msg_len, "lake %s: %s", root, strerror(errno));
        return PP_ERR_NOTFOUND;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(msg, msg_len, "lake %s: not a directory", root);
        return PP_ERR_NOTFOUND;
    }
    topics_path = lake_join(root, topics_dir ? topics_dir : PP_LAKE_TOPICS_DIR);
    if (topics_path == NULL)
        return PP_ERR_NOMEM;
    if (prefix != NULL) {
        listing->prefix = strdup(prefix);
        err = listing->prefix ? PP_OK : PP_ERR_NOMEM;
    } else {
        err = lake_discover_prefix(topics_path, &listing->prefix, msg, msg_len);
    }
    if (err)
        goto out;
    for (t = 0; t < PP_TOPIC_COUNT; t++) {
        struct lake_objects objs = {NULL, 0, 0};
        size_t len = strlen(listing->prefix) + 6;
        char *dir;

        listing->topic_name[t] = malloc(len);
        if (listing->topic_name[t] == NULL) {
            err = PP_ERR_NOMEM;
            goto out;
        }
        snprintf(listing->topic_name[t], len, "%s.%s", listing->prefix,
                 pp_topic_name((enum pp_topic)t));
        dir = lake_join(topics_path, listing->topic_name[t]);
        if (dir == NULL) {
            err = PP_ERR_NOMEM;
            goto out;
        }
        if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
            snprintf(msg, msg_len, "lake %s: no topic directory %s/%s", root,
                     topics_dir ? topics_dir : PP_LAKE_TOPICS_DIR, listing->topic_name[t]);
            free(dir);
            err = PP_ERR_NOTFOUND;
            goto out;
        }
        err =
            lake_walk(dir, listing->topic_name[t], &objs, &listing->ignored_files, 0, msg, msg_len);
        free(dir);
        listing->objects[t] = objs.items;
        listing->object_count[t] = objs.n;
        if (err)
            goto out;
        if (objs.n > 1)
            qsort(objs.items, objs.n, sizeof *objs.items, lake_object_cmp);
    }
out:
    free(topics_path);
    if (err)
        pp_lake_listing_cleanup(listing);
    return err;
}

void pp_lake_listing_cleanup(struct pp_lake_listing *listing)
{
    size_t i;
    int t;

    if (listing == NULL)
        return;
    for (t = 0; t < PP_TOPIC_COUNT; t++) {
        for (i = 0; i < listing->object_count[t]; i++)
            free(listing->objects[t][i].path);
        free(listing->objects[t]);
        free(listing->topic_name[t]);
    }
    free(listing->prefix);
    memset(listing, 0, sizeof *listing);
}

/* ---- reader ------------------------------------------------------------- */

struct pp_lake_reader {
    const struct pp_lake_listing *listing;
    bool skip_corrupt;
    int topic;   /* current topic */
    size_t next; /* index of the next object to open in that topic */

    /* The open object. */
    const struct pp_lake_object *obj;
    int fd;
    bool is_file_eof;
    struct pp_zstd_dec *dec;
    bool is_frame_end;
    uint64_t obj_bytes_in;
    char *in;
    size_t in_pos;
    size_t in_len;
    int64_t next_offset; /* offset of the next record not yet in a span */

    /* Bytes of a partial record carried into the next batch. */
    char *carry;
    size_t carry_len;
    size_t carry_cap;

    struct pp_lake_reader_stats stats;
    char error[512];
};

struct pp_lake_reader *pp_lake_reader_new(const struct pp_lake_listing *listing, bool skip_corrupt)
{
    struct pp_lake_reader *r = calloc(1, sizeof *r);

    if (r == NULL)
        return NULL;
    r->listing = listing;
    r->skip_corrupt = skip_corrupt;
    r->fd = -1;
    r->in = malloc(LAKE_READ_CHUNK);
    r->dec = pp_zstd_dec_new();
    if (r->in == NULL || r->dec == NULL) {
        pp_lake_reader_destroy(r);
        return NULL;
    }
    return r;
}

void pp_lake_reader_destroy(struct pp_lake_reader *r)
{
    if (r == NULL)
        return;
    if (r->fd >= 0)
        close(r->fd);
    pp_zstd_dec_destroy(r->dec);
    free(r->in);
    free(r->carry);
    free(r);
}

const char *pp_lake_reader_error(const struct pp_lake_reader *r)
{
    return r->error;
}

void pp_lake_reader_get_stats(const struct pp_lake_reader *r, struct pp_lake_reader_stats *stats)
{
    *stats = r->stats;
}

static void lake_close_object(struct pp_lake_reader *r)
{
    if (r->fd >= 0)
        close(r->fd);
    r->fd = -1;
    r->obj = NULL;
}

/* Opens the next object; PP_END when every topic is done. */
static enum pp_err lake_open_next(struct pp_lake_reader *r)
{
    while (r->topic < PP_TOPIC_COUNT && r->next >= r->listing->object_count[r->topic]) {
        r->topic++;
        r->next = 0;
    }
    if (r->topic >= PP_TOPIC_COUNT)
        return PP_END;
    r->obj = &r->listing->objects[r->topic][r->next++];
    r->stats.objects++;
    r->next_offset = r->obj->start_offset;
    r->is_file_eof = false;
    r->is_frame_end = false;
    r->obj_bytes_in = 0;
    r->in_pos = r->in_len = 0;
    pp_zstd_dec_reset(r->dec);
    r->fd = open(r->obj->path, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0) {
        snprintf(r->error, sizeof r->error, "%s: %s", r->obj->path, strerror(errno));
        return PP_ERR_IO;
    }
#ifdef POSIX_FADV_SEQUENTIAL
    posix_fadvise(r->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
    return PP_OK;
}

static enum pp_err lake_read(struct pp_lake_reader *r, char *dst, size_t cap, size_t *n)
{
    ssize_t got;

    do {
        got = read(r->fd, dst, cap);
    } while (got < 0 && errno == EINTR);
    if (got < 0) {
        snprintf(r->error, sizeof r->error, "%s: %s", r->obj->path, strerror(errno));
        return PP_ERR_IO;
    }
    *n = (size_t)got;
    r->stats.bytes_in += (size_t)got;
    r->obj_bytes_in += (size_t)got;
    return PP_OK;
}

/* Produces up to cap bytes of the open object's content into dst. *n == 0
 * means the object is complete. */
static enum pp_err lake_produce(struct pp_lake_reader *r, char *dst, size_t cap, size_t *n)
{
    enum pp_err err;
    size_t out = 0;

    if (!r->obj->is_zstd) {
        err = lake_read(r, dst, cap, n);
        r->stats.bytes_out += *n;
        return err;
    }
    while (out == 0) {
        if (r->in_pos == r->in_len && !r->is_file_eof) {
            err = lake_read(r, r->in, LAKE_READ_CHUNK, &r->in_len);
            if (err)
                return err;
            r->in_pos = 0;
            r->is_file_eof = r->in_len == 0;
        }
        if (r->in_pos == r->in_len && r->is_file_eof) {
            if (!r->is_frame_end) {
                snprintf(r->error, sizeof r->error, "%s: %s", r->obj->path,
                         r->obj_bytes_in ? "truncated zstd data" : "empty file, not zstd");
                return PP_ERR_CORRUPT;
            }
            break;
        }
        err = pp_zstd_dec_stream(r->dec, r->in, r->in_len, &r->in_pos, dst, cap, &out,
                                 &r->is_frame_end);
        if (err) {
            snprintf(r->error, sizeof r->error, "%s: %s", r->obj->path,
                     err == PP_ERR_CORRUPT ? "corrupt zstd data" : pp_err_str(err));
            return err;
        }
    }
    *n = out;
    r->stats.bytes_out += out;
    return PP_OK;
}

/* Counts newlines 16 bytes at a time (pp_v16): each byte compare yields
 * -1 or 0, subtracted into byte counters that are summed before they can
 * overflow (255 rounds). This is several times faster than a memchr call
 * per record. */
static size_t lake_count_lines(const char *p, size_t n)
{
    size_t lines = 0;
    size_t i = 0;
    int k;

    while (n - i >= 16) {
        pp_v16 acc = {0};
        size_t rounds = (n - i) / 16;
        unsigned char sum[16];

        if (rounds > 255)
            rounds = 255;
        for (; rounds > 0; rounds--, i += 16) {
            pp_v16 v;
            memcpy(&v, p + i, 16);
            acc -= (pp_v16)(v == '\n');
        }
        memcpy(sum, &acc, sizeof sum);
        for (k = 0; k < 16; k++)
            lines += sum[k];
    }
    for (; i < n; i++)
        lines += p[i] == '\n';
    return lines;
}

static enum pp_err lake_emit(struct pp_lake_reader *r, struct pp_batch *b, size_t begin, size_t end,
                             size_t lines)
{
    struct pp_batch_span span = {
        .begin = (uint32_t)begin,
        .end = (uint32_t)end,
        .first_offset = r->next_offset,
        .timestamp_ms = PP_BATCH_NO_TIMESTAMP,
        .partition = r->obj->partition,
        .topic = (uint16_t)r->topic,
        .is_oversized = begin == end,
    };

    r->next_offset += (int64_t)lines;
    return pp_batch_add_span(b, &span);
}

/* Discards the rest of a record that does not fit a batch; the bytes of the
 * following records are left at the start of the batch. */
static enum pp_err lake_skip_oversized(struct pp_lake_reader *r, struct pp_batch *b,
                                       bool *is_obj_done)
{
    enum pp_err err;
    size_t n;
    char *nl;

    *is_obj_done = false;
    for (;;) {
        err = lake_produce(r, b->data, b->cap, &n);
        if (err)
            return err;
        if (n == 0) {
            *is_obj_done = true;
            b->len = 0;
            return lake_emit(r, b, 0, 0, 1);
        }
        nl = memchr(b->data, '\n', n);
        if (nl != NULL) {
            size_t rest = n - (size_t)(nl + 1 - b->data);
            memmove(b->data, nl + 1, rest);
            b->len = rest;
            return lake_emit(r, b, 0, 0, 1);
        }
    }
}

enum pp_err pp_lake_reader_fill(void *reader, struct pp_batch *b)
{
    struct pp_lake_reader *r = reader;
    size_t span_begin = 0;
    bool is_span_open = false;
    enum pp_err err;
    size_t n;

    if (r->carry_len > 0) {
        memcpy(b->data, r->carry, r->carry_len);
        b->len = r->carry_len;
        r->carry_len = 0;
        is_span_open = true;
    }
    for (;;) {
        if (r->obj == NULL) {
            err = lake_open_next(r);
            if (err == PP_END)
                break;
            if (err)
                goto obj_failed;
        }
        if (!is_span_open) {
            span_begin = b->len;
            is_span_open = true;
        }
        if (b->len == b->cap) {
            /* Full: hand out the complete records, carry the partial one. */
            char *last = memrchr(b->data + span_begin, '\n', b->len - span_begin);
            size_t keep_from;
            if (last != NULL) {
                keep_from = (size_t)(last + 1 - b->data);
                err = lake_emit(r, b, span_begin, keep_from,
                                lake_count_lines(b->data + span_begin, keep_from - span_begin));
                if (err)
                    return err;
            } else if (span_begin > 0) {
                keep_from = span_begin;
            } else {
                /* One record fills the whole batch. Peek one byte: at the
                 * end of the object or at its newline, the record is
                 * exactly the batch's size and fits. */
                char next;
                bool is_obj_done;
                err = lake_produce(r, &next, 1, &n);
                if (err)
                    goto obj_failed;
                if (n == 0 || next == '\n') {
                    err = lake_emit(r, b, 0, b->len, 1);
                    if (err)
                        return err;
                    if (n == 0)
                        lake_close_object(r);
                    return PP_OK;
                }
                err = lake_skip_oversized(r, b, &is_obj_done);
                if (err)
                    goto obj_failed;
                if (is_obj_done)
                    lake_close_object(r);
                is_span_open = !is_obj_done;
                span_begin = 0;
                continue;
            }
            if (r->carry_cap < b->len - keep_from) {
                free(r->carry);
                r->carry_cap = b->cap;
                r->carry = malloc(r->carry_cap);
                if (r->carry == NULL)
                    return PP_ERR_NOMEM;
            }
            r->carry_len = b->len - keep_from;
            if (r->carry_len > 0)
                memcpy(r->carry, b->data + keep_from, r->carry_len);
            b->len = keep_from;
            return PP_OK;
        }
        err = lake_produce(r, b->data + b->len, b->cap - b->len, &n);
        if (err)
            goto obj_failed;
        if (n > 0) {
            b->len += n;
            continue;
        }
        /* The object is complete: its last record may lack a newline. */
        if (b->len > span_begin) {
            size_t lines = lake_count_lines(b->data + span_begin, b->len - span_begin);
            lines += b->data[b->len - 1] != '\n';
            err = lake_emit(r, b, span_begin, b->len, lines);
            if (err)
                return err;
        }
        lake_close_object(r);
        is_span_open = false;
        continue;
    obj_failed:
        if (!r->skip_corrupt || err == PP_ERR_NOMEM)
            return err;
        pp_log_warn("skipping %s", r->error);
        r->stats.corrupt_objects++;
        /* Drop what this object put in the batch; its earlier batches stay. */
        if (is_span_open)
            b->len = span_begin;
        r->carry_len = 0;
        lake_close_object(r);
        is_span_open = false;
        r->error[0] = '\0';
    }
    return b->n_spans > 0 ? PP_OK : PP_END;
}
