/*
 * pp_sink: see pp_sink.h for the contract and docs/sink.md for the design
 * (runs, keys, the commit rule and what restarts rewrite).
 */
#include "pp_sink.h"

#include <assert.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pp_clock.h"
#include "pp_hmap.h"
#include "pp_lake.h"
#include "pp_log.h"
#include "pp_spool.h"
#include "pp_time.h"
#include "pp_zstd.h"

#define SINK_MS_PER_DAY INT64_C(86400000)
/* 9999-12-31T00:00:00Z: the latest record time kept as it is. */
#define SINK_MS_MAX INT64_C(253402214400000)

const char *pp_sink_kind_name(enum pp_sink_kind kind)
{
    static const char *const names[PP_SINK_KIND_COUNT] = {"raw", "cleaned", "dlq"};
    return names[kind];
}

static int64_t sink_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int64_t sink_wallclock_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- path.format ------------------------------------------------------------ */

/* Walks a Joda-style path.format: calls emit for every literal run and
 * every field. Returns false on a pattern letter we do not format, with
 * *bad pointing at it. */
enum sink_field {
    SINK_LITERAL,
    SINK_YEAR,
    SINK_MONTH,
    SINK_DAY,
    SINK_HOUR,
    SINK_MINUTE,
    SINK_SECOND
};

struct sink_civil {
    int year, month, day, hour, minute, second;
};

static bool sink_path_walk(const char *fmt, const struct sink_civil *t, struct pp_buf *out,
                           const char **bad)
{
    const char *p = fmt;

    while (*p) {
        if (*p == '\'') {
            /* 'quoted literal'; '' is a quote, inside or outside */
            p++;
            if (*p == '\'') {
                if (out && pp_buf_append(out, "'", 1))
                    return false;
                p++;
                continue;
            }
            while (*p && !(*p == '\'' && p[1] != '\'')) {
                if (*p == '\'')
                    p++;
                if (out && pp_buf_append(out, p, 1))
                    return false;
                p++;
            }
            if (*p != '\'') {
                *bad = p;
                return false;
            }
            p++;
            continue;
        }
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')) {
            char c = *p;
            int count = 0;
            int value;
            int width;

            while (*p == c) {
                p++;
                count++;
            }
            switch (c) {
            case 'y':
            case 'Y':
                value = t ? t->year : 0;
                width = count == 2 ? 2 : 4;
                break;
            case 'M':
                value = t ? t->month : 0;
                width = count;
                break;
            case 'd':
                value = t ? t->day : 0;
                width = count;
                break;
            case 'H':
                value = t ? t->hour : 0;
                width = count;
                break;
            case 'm':
                value = t ? t->minute : 0;
                width = count;
                break;
            case 's':
                value = t ? t->second : 0;
                width = count;
                break;
            default: *bad = p - count; return false;
            }
            if ((c == 'y' || c == 'Y') ? (count != 2 && count != 4) : count > 2) {
                *bad = p - count;
                return false;
            }
            if (width == 2 && (c == 'y' || c == 'Y'))
                value %= 100;
            if (out && pp_buf_printf(out, "%0*d", width, value))
                return false;
            continue;
        }
        if (!(*p == '/' || *p == '=' || *p == '-' || *p == '_' || *p == '.' ||
              (*p >= '0' && *p <= '9'))) {
            *bad = p;
            return false;
        }
        if (out && pp_buf_append(out, p, 1))
            return false;
        p++;
    }
    return true;
}

static enum pp_err sink_path_format(const struct pp_sink_layout *layout, int64_t bucket_ms,
                                    struct pp_buf *out)
{
    int64_t local = bucket_ms + layout->timezone_offset_ms;
    int64_t days = sink_floor_div(local, SINK_MS_PER_DAY);
    int64_t in_day = (local - days * SINK_MS_PER_DAY) / 1000;
    struct sink_civil t;
    const char *bad = NULL;
    size_t len = out->len;

    pp_time_civil_from_days(days, &t.year, &t.month, &t.day);
    t.hour = (int)(in_day / 3600);
    t.minute = (int)(in_day / 60 % 60);
    t.second = (int)(in_day % 60);
    if (!sink_path_walk(layout->path_format, &t, out, &bad)) {
        /* checked by pp_sink_layout_check(): only memory can fail here */
        out->len = len;
        return PP_ERR_NOMEM;
    }
    return PP_OK;
}

/* True when every '/'-separated part of s[0..len) can be a folder name of
 * an object key: not empty, not "." or ".." (pp_store_put's rule), at
 * most NAME_MAX bytes (local file systems), and, unless is_hidden_ok, not
 * starting with '.': the lake reader skips hidden names, as writers'
 * temporary files are hidden (pp_lake.c). */
static bool sink_parts_are_names(const char *s, size_t len, bool is_hidden_ok)
{
    size_t start = 0;

    for (size_t i = 0; i <= len; i++) {
        size_t n = i - start;

        if (i < len && s[i] != '/')
            continue;
        if (n == 0 || n > NAME_MAX || (n == 1 && s[start] == '.') ||
            (n == 2 && s[start] == '.' && s[start + 1] == '.') ||
            (!is_hidden_ok && s[start] == '.'))
            return false;
        start = i + 1;
    }
    return true;
}

/* The longest key sink_key() makes with a partition path of path_len
 * bytes: the longest first folder ("cleaned", "dlq" or topics.dir), the
 * longest topic twice, the widest partition and offset. */
static size_t sink_key_max_len(const struct pp_sink_layout *layout, size_t path_len)
{
    size_t first = strlen(layout->topics_dir);
    size_t topic = 0;
    size_t offset = layout->offset_pad_width > 19 ? (size_t)layout->offset_pad_width : 19;

    for (int t = 0; t < PP_TOPIC_COUNT; t++)
        if (strlen(layout->topic_name[t]) > topic)
            topic = strlen(layout->topic_name[t]);
    if (first < sizeof "cleaned" - 1)
        first = sizeof "cleaned" - 1;
    /* <first>/<topic>/<path>/<topic>+<partition>+<offset>.json.zst */
    return first + 1 + topic + 1 + path_len + 1 + topic + 1 + 10 + 1 + offset + sizeof ".json.zst" -
           1;
}

enum pp_err pp_sink_layout_check(const struct pp_sink_layout *layout, char *msg, size_t msg_len)
{
    /* The widest time a path shows (record times end in 9999): a field
     * of one letter takes one or two digits. */
    static const struct sink_civil widest = {9999, 12, 31, 23, 59, 59};
    const char *bad = NULL;

    /* Keys the store would refuse, and objects the lake reader would not
     * see, must stop the start, not the first write or a later read
     * (found by tests/fuzz/fuzz_lake.c). topics.dir is joined to the
     * lake's root, not walked: it may be hidden. */
    for (int t = 0; t < PP_TOPIC_COUNT; t++) {
        if (layout->topic_name[t][0] == '.') {
            snprintf(msg, msg_len,
                     "topics.prefix: the topic '%s' starts with '.': its objects would be hidden "
                     "from lake readers",
                     layout->topic_name[t]);
            return PP_ERR_USAGE;
        }
    }
    if (!sink_parts_are_names(layout->topics_dir, strlen(layout->topics_dir), true)) {
        snprintf(
            msg, msg_len,
            "topics.dir: '%.120s' is not a relative folder path (no leading, trailing or double "
            "'/', no '.' or '..' folder, folder names of at most %d bytes)",
            layout->topics_dir, NAME_MAX);
        return PP_ERR_USAGE;
    }
    if (!layout->is_time_partitioner &&
        sink_key_max_len(layout, sizeof "partition=2147483647" - 1) > PP_STORE_MAX_KEY) {
        snprintf(msg, msg_len, "topics.dir: '%.120s' makes object keys longer than %d bytes",
                 layout->topics_dir, PP_STORE_MAX_KEY);
        return PP_ERR_USAGE;
    }
    if (layout->is_time_partitioner) {
        struct pp_buf path;
        size_t path_len;
        size_t depth = 1; /* folders: one more than the '/' */
        bool is_ok;

        if (!sink_path_walk(layout->path_format, NULL, NULL, &bad)) {
            snprintf(msg, msg_len,
                     "path.format: cannot format '%s' at '%s' (use quoted 'literals' and YYYY, "
                     "MM, dd, HH, mm, ss)",
                     layout->path_format, bad);
            return PP_ERR_USAGE;
        }
        /* Only literals make empty or hidden folder names, and the widest
         * time makes the longest ones. */
        pp_buf_init(&path);
        if (!sink_path_walk(layout->path_format, &widest, &path, &bad)) {
            pp_buf_cleanup(&path);
            return PP_ERR_NOMEM;
        }
        is_ok = sink_parts_are_names(path.data ? path.data : "", path.len, false);
        path_len = path.len;
        for (size_t i = 0; i < path.len; i++)
            depth += path.data[i] == '/';
        pp_buf_cleanup(&path);
        if (!is_ok) {
            snprintf(
                msg, msg_len,
                "path.format: '%.120s' makes an empty folder name, one that starts with '.' or "
                "one longer than %d bytes (no leading, trailing or double '/', no '.' after a "
                "'/')",
                layout->path_format, NAME_MAX);
            return PP_ERR_USAGE;
        }
        if (depth > PP_LAKE_MAX_DEPTH) {
            snprintf(msg, msg_len,
                     "path.format: '%.120s' makes %zu folders; the lake reader walks %d at most",
                     layout->path_format, depth, PP_LAKE_MAX_DEPTH);
            return PP_ERR_USAGE;
        }
        if (sink_key_max_len(layout, path_len) > PP_STORE_MAX_KEY) {
            snprintf(
                msg, msg_len,
                "path.format: '%.120s' (with topics.dir) makes object keys longer than %d bytes",
                layout->path_format, PP_STORE_MAX_KEY);
            return PP_ERR_USAGE;
        }
    }
    if (layout->extractor == PP_SINK_TIME_RECORD_FIELD &&
        strcmp(layout->timestamp_field, "timestamp") != 0 &&
        strcmp(layout->timestamp_field, "date_joined") != 0) {
        snprintf(msg, msg_len,
                 "timestamp.field: '%s' is not a time column (timestamp of geo records, "
                 "date_joined of user records)",
                 layout->timestamp_field);
        return PP_ERR_USAGE;
    }
    return PP_OK;
}

enum pp_err pp_sink_layout_init(struct pp_sink_layout *l, const struct pp_config *cfg,
                                const char *const topic_name[PP_TOPIC_COUNT], char *msg,
                                size_t msg_len)
{
    const char *extractor = pp_config_str(cfg, "timestamp.extractor");

    memset(l, 0, sizeof *l);
    for (int t = 0; t < PP_TOPIC_COUNT; t++)
        l->topic_name[t] = topic_name[t];
    l->topics_dir = pp_config_str(cfg, "topics.dir");
    l->flush_size = pp_config_int(cfg, "flush.size");
    l->rotate_interval_ms = pp_config_int(cfg, "rotate.interval.ms");
    l->rotate_schedule_ms = pp_config_int(cfg, "rotate.schedule.interval.ms");
    l->is_time_partitioner = strstr(pp_config_str(cfg, "partitioner.class"), "TimeBased") != NULL;
    l->path_format = pp_config_str(cfg, "path.format");
    if (l->is_time_partitioner)
        l->partition_duration_ms = pp_config_int(cfg, "partition.duration.ms");
    l->timezone_offset_ms = pp_config_ms(cfg, "timezone");
    l->extractor = strcmp(extractor, "Wallclock") == 0     ? PP_SINK_TIME_WALLCLOCK
                   : strcmp(extractor, "RecordField") == 0 ? PP_SINK_TIME_RECORD_FIELD
                                                           : PP_SINK_TIME_RECORD;
    l->timestamp_field = pp_config_str(cfg, "timestamp.field");
    l->is_zstd = strcmp(pp_config_str(cfg, "sink.compression"), "zstd") == 0;
    l->zstd_level = (int)pp_config_int(cfg, "sink.zstd.level");
    l->offset_pad_width = (int)pp_config_int(cfg, "filename.offset.zero.pad.width");
    return pp_sink_layout_check(l, msg, msg_len);
}

/* ---- the encode stage (worker threads) ----------------------------------- */

/* One chunk: consecutive records of one partition, run, kind and time
 * partition, in offset order. Written by a worker, read by the sink. */
struct sink_chunk {
    enum pp_sink_kind kind;
    enum pp_topic topic;
    int32_t partition;
    uint32_t records;
    int64_t first_offset; /* of the first record in the chunk */
    int64_t last_offset;
    int64_t run[2];      /* offset / flush.size; time slot (0 when off) */
    int64_t bucket_ms;   /* TimeBasedPartitioner: start of its time partition */
    bool is_group_first; /* the first chunk of its partition's run in this batch */
    bool is_resumed;     /* ... and it starts with a record marked is_resumed */
    bool is_plain;       /* not compressed: left to the sink (SINK_FRAME_MIN) */
    size_t begin;        /* bytes: batch->aux_bytes.data[begin .. begin + len) */
    size_t len;
    size_t plain_len; /* bytes before compression */
};

/*
 * Frame sizes. A chunk is one batch's lines of one partition, run and kind:
 * a few hundred KiB when the consumer catches up, but only a few records
 * when it keeps up with a steady stream (64 partitions at 5,000 posts/s:
 * about 1.4 KiB), and zstd compresses such small frames 2.3x where a whole
 * object would give 6.7x. So the encode stage compresses only chunks of at
 * least SINK_FRAME_MIN bytes and hands smaller ones over plain; the sink
 * gathers the plain chunks of an open object and compresses them as one
 * frame once they reach SINK_FRAME_TARGET bytes, before a compressed chunk
 * (offset order), or when the object closes. Small chunks come at low
 * rates, so the loop thread's share of compression stays small; at high
 * rates chunks are large and compression stays on the workers.
 */
#define SINK_FRAME_MIN (16 * 1024)
#define SINK_FRAME_TARGET (256 * 1024)

static const struct sink_chunk *sink_chunks(const struct pp_batch *batch)
{
    return (const struct sink_chunk *)(const void *)batch->aux.data;
}

struct sink_builder {
    struct sink_chunk chunk; /* begin/len filled when encoded */
    uint32_t group;          /* the partition's run number in the batch */
    struct pp_buf text;      /* the chunk's lines, before compression */
};

struct sink_group {
    int64_t run[2];
    uint32_t number; /* runs of this partition seen in the batch, minus 1 */
};

struct sink_encoder {
    void *clean;
    const struct pp_sink_layout *layout;
    struct pp_zstd_enc *zstd;      /* NULL without compression */
    struct sink_builder *builders; /* [0, n_builders) in use, in creation order */
    size_t n_builders;
    size_t cap_builders;
    struct pp_hmap builder_of; /* chunk identity -> builder index + 1 */
    struct sink_group *groups;
    size_t n_groups;
    size_t cap_groups;
    struct pp_hmap group_of; /* (topic, partition) -> group index + 1 */
};

static void sink_stage_destroy(void *state)
{
    struct sink_encoder *enc = state;
    size_t i;

    if (enc == NULL)
        return;
    pp_clean_stage.destroy(enc->clean);
    pp_zstd_enc_destroy(enc->zstd);
    for (i = 0; i < enc->cap_builders; i++)
        pp_buf_cleanup(&enc->builders[i].text);
    free(enc->builders);
    free(enc->groups);
    pp_hmap_cleanup(&enc->builder_of);
    pp_hmap_cleanup(&enc->group_of);
    free(enc);
}

static void *sink_stage_create(void *arg)
{
    const struct pp_sink_stage_arg *sarg = arg;
    struct pp_clean_options clean = sarg->clean;
    struct sink_encoder *enc = calloc(1, sizeof *enc);

    if (enc == NULL)
        return NULL;
    enc->layout = sarg->layout;
    pp_hmap_init(&enc->builder_of);
    pp_hmap_init(&enc->group_of);
    clean.is_query_only = false; /* the cleaned objects carry every column */
    enc->clean = pp_clean_stage.create(&clean);
    if (enc->clean == NULL)
        goto fail;
    if (enc->layout->is_zstd && (enc->zstd = pp_zstd_enc_new(enc->layout->zstd_level)) == NULL)
        goto fail;
    return enc;
fail:
    sink_stage_destroy(enc);
    return NULL;
}

/* The record's time for the time partition and the rotation slot. */
static int64_t sink_record_time(const struct pp_sink_layout *layout,
                                const struct pp_clean_item *item, int64_t now_ms)
{
    int64_t ms = item->timestamp_ms;

    switch (layout->extractor) {
    case PP_SINK_TIME_RECORD: break;
    case PP_SINK_TIME_WALLCLOCK: ms = now_ms; break;
    case PP_SINK_TIME_RECORD_FIELD:
        if (item->reject != PP_REJECT_NONE)
            break;
        if (item->topic == PP_TOPIC_GEO && item->rec.u.geo.has_timestamp &&
            strcmp(layout->timestamp_field, "timestamp") == 0)
            ms = item->rec.u.geo.timestamp * 1000;
        else if (item->topic == PP_TOPIC_USER && item->rec.u.user.has_date_joined &&
                 strcmp(layout->timestamp_field, "date_joined") == 0)
            ms = item->rec.u.user.date_joined * 1000;
        break;
    }
    /* No timestamp (-1 from librdkafka) and times before 1970 file under 0.
     * A producer may set any int64 timestamp: times after SINK_MS_MAX file
     * under it, so that a time zone cannot overflow the local time and
     * years keep their four digits in paths (found by tests/fuzz). */
    return ms < 0 ? 0 : ms > SINK_MS_MAX ? SINK_MS_MAX : ms;
}

static struct sink_builder *sink_builder_get(struct sink_encoder *enc,
                                             const struct sink_chunk *want, uint32_t group)
{
    uint64_t k1 = ((uint64_t)want->kind << 62) | ((uint64_t)want->topic << 60) |
                  ((uint64_t)(group & 0x3ffffff) << 32) | (uint32_t)want->partition;
    uint64_t k2 = (uint64_t)want->bucket_ms;
    bool is_new;
    uint64_t *slot = pp_hmap_upsert(&enc->builder_of, k1, k2, &is_new);
    struct sink_builder *b;

    if (slot == NULL)
        return NULL;
    if (!is_new) {
        b = &enc->builders[*slot - 1];
        /* k1 packs the group number lossily: a clash starts a new builder */
        if (b->group == group)
            return b;
    }
    if (enc->n_builders == enc->cap_builders) {
        size_t cap = enc->cap_builders;
        struct sink_builder *grown =
            pp_array_reserve(enc->builders, &cap, enc->n_builders, sizeof *grown, 64);
        if (grown == NULL)
            return NULL;
        for (size_t i = enc->cap_builders; i < cap; i++)
            pp_buf_init(&grown[i].text);
        enc->builders = grown;
        enc->cap_builders = cap;
    }
    b = &enc->builders[enc->n_builders++];
    b->chunk = *want;
    b->chunk.records = 0;
    b->group = group;
    b->text.len = 0;
    *slot = enc->n_builders;
    return b;
}

static enum pp_err sink_base64(struct pp_buf *out, const unsigned char *in, size_t len)
{
    static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    enum pp_err err = pp_buf_reserve(out, (len + 2) / 3 * 4);
    size_t i;

    if (err)
        return err;
    for (i = 0; i + 2 < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        char q[4] = {digits[v >> 18], digits[v >> 12 & 63], digits[v >> 6 & 63], digits[v & 63]};
        memcpy(out->data + out->len, q, 4);
        out->len += 4;
    }
    if (i < len) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0);
        char q[4] = {digits[v >> 18], digits[v >> 12 & 63], i + 1 < len ? digits[v >> 6 & 63] : '=',
                     '='};
        memcpy(out->data + out->len, q, 4);
        out->len += 4;
    }
    return PP_OK;
}

/* A reject's line: {"topic","partition","offset","timestamp","reason","raw"}.
 * Bytes that are not UTF-8 cannot be a JSON string: those records (and
 * too_large ones, never checked) carry "raw":null and "raw_base64". */
enum pp_err pp_sink_render_dlq(const struct pp_sink_layout *layout,
                               const struct pp_clean_item *item, bool is_raw_omitted,
                               struct pp_buf *out)
{
    enum pp_err err;
    bool is_text = item->reject != PP_REJECT_INVALID_UTF8 && item->reject != PP_REJECT_TOO_LARGE;

    err = pp_buf_printf(out, "{\"topic\":\"%s\",\"partition\":%d,\"offset\":%lld,\"timestamp\":",
                        layout->topic_name[item->topic], (int)item->partition,
                        (long long)item->offset);
    if (!err)
        err = item->timestamp_ms == PP_BATCH_NO_TIMESTAMP
                  ? pp_buf_append_str(out, "null")
                  : pp_buf_append_int(out, item->timestamp_ms);
    if (!err)
        err = pp_buf_printf(out, ",\"reason\":\"%s\",\"raw\":", pp_reject_name(item->reject));
    if (err)
        return err;
    if (is_raw_omitted)
        err = pp_buf_printf(out, "null,\"raw_omitted_bytes\":%zu", item->raw.len);
    else if (is_text)
        err = pp_clean_json_string(out, item->raw);
    else if (!(err = pp_buf_append_str(out, "null,\"raw_base64\":\"")) &&
             !(err = sink_base64(out, (const unsigned char *)item->raw.ptr, item->raw.len)))
        err = pp_buf_append(out, "\"", 1);
    return err ? err : pp_buf_append(out, "}", 1);
}

/* A raw line: the value as received. A '\n' in a record would split it in
 * two lines; in valid JSON it can only be whitespace between tokens, so it
 * becomes a space (the exact bytes of invalid records are in the dlq). */
static enum pp_err sink_raw_line(struct pp_str raw, struct pp_buf *out)
{
    size_t start = out->len;
    enum pp_err err = pp_buf_append(out, raw.ptr ? raw.ptr : "", raw.len);
    char *p;

    if (err)
        return err;
    while ((p = memchr(out->data + start, '\n', out->len - start)) != NULL) {
        *p = ' ';
        start = (size_t)(p - out->data) + 1;
    }
    return PP_OK;
}

static enum pp_err sink_append(struct sink_encoder *enc, struct sink_chunk *want, uint32_t group,
                               enum pp_sink_kind kind, const struct pp_clean_item *item)
{
    struct sink_builder *b;
    enum pp_err err;

    want->kind = kind;
    if ((b = sink_builder_get(enc, want, group)) == NULL)
        return PP_ERR_NOMEM;
    switch (kind) {
    case PP_SINK_RAW: err = sink_raw_line(item->raw, &b->text); break;
    case PP_SINK_CLEANED: err = pp_clean_render_json(&item->rec, &b->text); break;
    case PP_SINK_DLQ: err = pp_sink_render_dlq(enc->layout, item, false, &b->text); break;
    default: err = PP_ERR_INTERNAL; break;
    }
    if (!err)
        err = pp_buf_append(&b->text, "\n", 1);
    if (err)
        return err;
    if (b->chunk.records == 0)
        b->chunk.first_offset = item->offset;
    b->chunk.last_offset = item->offset;
    b->chunk.records++;
    want->is_group_first = false; /* only the group's first chunk */
    want->is_resumed = false;
    return PP_OK;
}

/* The run of a record and whether it starts a new group (run) of its
 * partition within this batch. */
static enum pp_err sink_group(struct sink_encoder *enc, const struct pp_clean_item *item,
                              const int64_t run[2], bool *is_first, uint32_t *number)
{
    bool is_new;
    uint64_t *slot = pp_hmap_upsert(&enc->group_of, (uint64_t)item->topic,
                                    (uint64_t)(uint32_t)item->partition, &is_new);
    struct sink_group *g;

    if (slot == NULL)
        return PP_ERR_NOMEM;
    if (is_new) {
        struct sink_group *grown =
            pp_array_reserve(enc->groups, &enc->cap_groups, enc->n_groups, sizeof *grown, 64);
        if (grown == NULL)
            return PP_ERR_NOMEM;
        enc->groups = grown;
        g = &enc->groups[enc->n_groups++];
        *slot = enc->n_groups;
        g->run[0] = run[0];
        g->run[1] = run[1];
        g->number = 0;
        *is_first = true;
        *number = 0;
        return PP_OK;
    }
    g = &enc->groups[*slot - 1];
    *is_first = g->run[0] != run[0] || g->run[1] != run[1] || item->is_resumed;
    if (*is_first) {
        g->run[0] = run[0];
        g->run[1] = run[1];
        g->number++;
    }
    *number = g->number;
    return PP_OK;
}

/*
 * What an encoder's builders keep between batches. A builder's buffer grows
 * to the largest chunk it has held: kept whole, a batch after a pause
 * (thousands of records of one partition) or with a few records of every
 * partition (two builders for each of 192 at 64 partitions a topic) would
 * leave the sum of them all held for good (150 MB over the two workers
 * after 6 minutes at 5,000 posts/s on 64 partitions). Beyond a budget a
 * buffer is freed once its chunk is encoded: SINK_BUILDERS_KEEP, or, for
 * larger batches, four times a batch's records (a batch's lines, raw and
 * cleaned, are about twice its records), so that the large chunks of a
 * fast stream are kept from one batch to the next.
 */
#define SINK_BUILDERS_KEEP (4u << 20)

static void sink_builders_trim(struct sink_encoder *enc, const struct pp_batch *batch)
{
    size_t keep =
        batch->base_cap * 4 > SINK_BUILDERS_KEEP ? batch->base_cap * 4 : SINK_BUILDERS_KEEP;
    size_t kept = 0;

    /* The builders of this batch first: they are the front of the array. */
    for (size_t i = 0; i < enc->cap_builders; i++) {
        struct pp_buf *text = &enc->builders[i].text;
        if (kept + text->cap <= keep)
            kept += text->cap;
        else
            pp_buf_cleanup(text);
    }
}

static enum pp_err sink_stage_process(void *state, struct pp_batch *batch)
{
    struct sink_encoder *enc = state;
    const struct pp_sink_layout *layout = enc->layout;
    const struct pp_clean_item *items;
    int64_t now_ms = sink_wallclock_ms();
    enum pp_err err;
    size_t i;

    if ((err = pp_clean_stage.process(enc->clean, batch)))
        return err;
    items = pp_clean_items(batch);
    enc->n_builders = 0;
    enc->n_groups = 0;
    pp_hmap_clear(&enc->builder_of);
    pp_hmap_clear(&enc->group_of);

    for (i = 0; i < batch->n_out; i++) {
        const struct pp_clean_item *item = &items[i];
        int64_t ms = sink_record_time(layout, item, now_ms);
        struct sink_chunk want = {.topic = item->topic, .partition = item->partition};
        uint32_t group;

        want.run[0] = item->offset / layout->flush_size;
        want.run[1] = layout->rotate_interval_ms > 0 ? ms / layout->rotate_interval_ms : 0;
        if (layout->is_time_partitioner)
            want.bucket_ms = ms / layout->partition_duration_ms * layout->partition_duration_ms;
        if ((err = sink_group(enc, item, want.run, &want.is_group_first, &group)))
            return err;
        want.is_resumed = item->is_resumed;
        /* Raw first: the group's first chunk is its raw one, which holds
         * the group's first record. */
        if ((err = sink_append(enc, &want, group, PP_SINK_RAW, item)))
            return err;
        err = sink_append(enc, &want, group,
                          item->reject == PP_REJECT_NONE ? PP_SINK_CLEANED : PP_SINK_DLQ, item);
        if (err)
            return err;
    }

    /* Encode every chunk, in creation order (offset order per partition). */
    for (i = 0; i < enc->n_builders; i++) {
        struct sink_builder *b = &enc->builders[i];
        struct sink_chunk *chunk;

        if ((err = pp_buf_reserve(&batch->aux, sizeof *chunk)))
            return err;
        chunk = (struct sink_chunk *)(void *)(batch->aux.data + batch->aux.len);
        *chunk = b->chunk;
        chunk->begin = batch->aux_bytes.len;
        chunk->plain_len = b->text.len;
        chunk->is_plain = enc->zstd == NULL || b->text.len < SINK_FRAME_MIN;
        if (!chunk->is_plain) {
            err = pp_zstd_compress(enc->zstd, b->text.data, b->text.len, &batch->aux_bytes);
        } else {
            err = pp_buf_append(&batch->aux_bytes, b->text.data, b->text.len);
        }
        if (err)
            return err;
        chunk->len = batch->aux_bytes.len - chunk->begin;
        batch->aux.len += sizeof *chunk;
        batch->n_aux++;
    }
    sink_builders_trim(enc, batch);
    return PP_OK;
}

const struct pp_stage_ops pp_sink_stage = {
    .name = "sink-encode",
    .create = sink_stage_create,
    .process = sink_stage_process,
    .destroy = sink_stage_destroy,
};

/* ---- the sink (the consumer thread) -------------------------------------- */

/* An open object's first bytes, spooled (pp_sink_set_spool): whole
 * blocks, in order; they move to its put when it closes. */
struct sink_blocks {
    uint32_t *ids;
    size_t n;
    size_t cap;
};

struct sink_object {
    enum pp_sink_kind kind;
    int64_t bucket_ms;
    int64_t start; /* offset of its first record: the key */
    uint64_t records;
    struct sink_blocks spooled;      /* the first bytes */
    struct pp_buf data;              /* the frames after the spooled ones */
    struct sink_blocks tail_spooled; /* the tail's first bytes */
    struct pp_buf tail;              /* plain chunks not yet compressed (SINK_FRAME_TARGET) */
};

struct sink_part;

/* A closed run whose objects are being written. */
struct sink_run {
    struct pp_sink *sink;
    int64_t start;
    size_t puts_left;
    struct sink_run *next;
};

struct sink_part {
    enum pp_topic topic;
    int32_t partition;
    bool has_run;
    int64_t run[2];
    int64_t run_start;
    int64_t next; /* offset after the last record seen */
    struct sink_object *open;
    size_t n_open;
    size_t cap_open;
    struct sink_run *runs; /* closed, not yet durable */
};

/* An object handed to (or waiting for) the store. */
struct sink_put {
    struct sink_run *run;
    enum pp_sink_kind kind;
    uint64_t records;
    uint64_t bytes;             /* the object's: spooled and in memory */
    struct sink_blocks spooled; /* read back in front of data just before the put */
    struct pp_buf data;         /* moved to the store by pp_store_put() */
    char *key;
};

struct pp_sink {
    const struct pp_sink_layout *layout;
    struct pp_store *store;
    struct sink_part *parts;
    size_t n_parts;
    size_t cap_parts;
    struct pp_hmap part_of;   /* (topic, partition) -> index + 1 */
    struct pp_zstd_enc *zstd; /* the tails' frames; NULL without compression */
    struct sink_put **queue;  /* waiting for a store slot, oldest first */
    size_t n_queue;
    size_t cap_queue;
    size_t queue_head;
    uint64_t open_bytes;
    uint64_t queued_bytes; /* in memory: the objects waiting for a store slot */
    uint64_t queued_total; /* their whole size, spooled bytes included (the budget's) */
    size_t open_objects;
    size_t in_store;        /* puts handed over, not yet reported */
    uint64_t store_bytes;   /* their bytes (the store also holds checkpoints) */
    struct pp_buf scratch;  /* a tail's frame before it joins its object */
    struct pp_spool *spool; /* borrowed; NULL: open objects stay in memory */
    bool is_spool_failed;   /* a write failed: no more spooling */
    int64_t next_schedule_ms;
    pp_sink_owned_fn is_owned;
    void *owned_arg;
    struct pp_sink_stats stats;
    enum pp_err failed;
    char error[512];
};

struct pp_sink *pp_sink_new(const struct pp_sink_layout *layout, struct pp_store *store)
{
    struct pp_sink *sink = calloc(1, sizeof *sink);

    if (sink == NULL)
        return NULL;
    sink->layout = layout;
    sink->store = store;
    pp_hmap_init(&sink->part_of);
    if (layout->is_zstd && (sink->zstd = pp_zstd_enc_new(layout->zstd_level)) == NULL) {
        free(sink);
        return NULL;
    }
    return sink;
}

static struct sink_part *sink_part_get(struct pp_sink *sink, enum pp_topic topic, int32_t partition)
{
    bool is_new;
    uint64_t *slot =
        pp_hmap_upsert(&sink->part_of, (uint64_t)topic, (uint64_t)(uint32_t)partition, &is_new);
    struct sink_part *part;

    if (slot == NULL)
        return NULL;
    if (!is_new)
        return &sink->parts[*slot - 1];
    part = pp_array_reserve(sink->parts, &sink->cap_parts, sink->n_parts, sizeof *part, 64);
    if (part == NULL) {
        *slot = 0; /* a key without a part: sink_part_get() is not called again */
        return NULL;
    }
    sink->parts = part;
    part = &sink->parts[sink->n_parts++];
    memset(part, 0, sizeof *part);
    part->topic = topic;
    part->partition = partition;
    part->next = -1;
    *slot = sink->n_parts;
    return part;
}

static enum pp_err sink_key(const struct pp_sink *sink, const struct sink_part *part,
                            const struct sink_object *obj, struct pp_buf *key)
{
    const struct pp_sink_layout *layout = sink->layout;
    const char *topic = layout->topic_name[part->topic];
    enum pp_err err;

    switch (obj->kind) {
    case PP_SINK_RAW: err = pp_buf_printf(key, "%s/%s/", layout->topics_dir, topic); break;
    case PP_SINK_CLEANED:
        err = pp_buf_printf(key, "cleaned/%s/", pp_topic_name(part->topic));
        break;
    case PP_SINK_DLQ: err = pp_buf_printf(key, "dlq/%s/", topic); break;
    default: err = PP_ERR_INTERNAL; break;
    }
    if (err)
        return err;
    if (layout->is_time_partitioner)
        err = sink_path_format(layout, obj->bucket_ms, key);
    else
        err = pp_buf_printf(key, "partition=%d", (int)part->partition);
    if (err)
        return err;
    err = pp_buf_printf(key, "/%s+%d+%0*lld.json%s%c", topic, (int)part->partition,
                        layout->offset_pad_width, (long long)obj->start,
                        layout->is_zstd ? ".zst" : "", '\0');
    return err;
}

static void sink_fail(struct pp_sink *sink, enum pp_err err, const char *what)
{
    if (sink->failed)
        return;
    sink->failed = err;
    snprintf(sink->error, sizeof sink->error, "%s", what);
}

static void sink_run_unlink(struct sink_part *part, struct sink_run *run)
{
    struct sink_run **p = &part->runs;

    while (*p != run)
        p = &(*p)->next;
    *p = run->next;
}

/* Finds the part a run belongs to: runs are few and short-lived. */
static struct sink_part *sink_part_of_run(struct pp_sink *sink, const struct sink_run *run)
{
    for (size_t i = 0; i < sink->n_parts; i++)
        for (const struct sink_run *r = sink->parts[i].runs; r; r = r->next)
            if (r == run)
                return &sink->parts[i];
    return NULL;
}

/* Gives the blocks back to the spool, bytes and all. */
static void sink_blocks_release(struct pp_sink *sink, struct sink_blocks *blocks)
{
    for (size_t i = 0; i < blocks->n; i++)
        pp_spool_release(sink->spool, blocks->ids[i]);
    sink->stats.spooled_bytes -= (uint64_t)blocks->n * PP_SPOOL_BLOCK;
    free(blocks->ids);
    memset(blocks, 0, sizeof *blocks);
}

/* Reads the blocks back in front of data, then releases them. PP_ERR_IO
 * (the spool cannot be read: the sink fails), PP_ERR_NOMEM: nothing
 * changed. */
static enum pp_err sink_blocks_unspool(struct pp_sink *sink, struct sink_blocks *blocks,
                                       struct pp_buf *data)
{
    struct pp_buf all;
    enum pp_err err;
    size_t i;

    if (blocks->n == 0)
        return PP_OK;
    pp_buf_init(&all);
    err = pp_buf_reserve(&all, blocks->n * PP_SPOOL_BLOCK + data->len);
    for (i = 0; i < blocks->n && !err; i++)
        err = pp_spool_read(sink->spool, blocks->ids[i], &all);
    if (!err && data->len > 0)
        err = pp_buf_append(&all, data->data, data->len);
    if (err) {
        if (err == PP_ERR_IO)
            sink_fail(sink, err, "reading the spool (sink.spool.dir) failed");
        pp_buf_cleanup(&all);
        return err;
    }
    sink_blocks_release(sink, blocks);
    pp_buf_cleanup(data);
    *data = all;
    return PP_OK;
}

static void sink_put_free(struct sink_put *put)
{
    if (put == NULL)
        return;
    pp_buf_cleanup(&put->data);
    free(put->key);
    free(put);
}

/* One object reported by the store (or dropped unwritten): the run is
 * durable once all of its objects are. */
static void sink_put_finish(struct pp_sink *sink, struct sink_put *put, enum pp_err err)
{
    struct sink_run *run = put->run;

    sink_blocks_release(sink, &put->spooled);
    if (err) {
        char what[512];
        snprintf(what, sizeof what, "%s", pp_store_error(sink->store));
        sink_fail(sink, err, what[0] ? what : put->key);
    } else {
        sink->stats.objects[put->kind]++;
        sink->stats.bytes[put->kind] += put->bytes;
        sink->stats.records[put->kind] += put->records;
    }
    if (--run->puts_left == 0) {
        struct sink_part *part = sink_part_of_run(sink, run);
        if (part != NULL)
            sink_run_unlink(part, run);
        free(run);
    }
    sink_put_free(put);
}

static void sink_put_done(void *arg, enum pp_err err)
{
    struct sink_put *put = arg;
    struct pp_sink *sink = put->run->sink;

    sink->in_store--;
    sink->store_bytes -= put->bytes;
    sink_put_finish(sink, put, err);
}

/* Hands queued objects to the store while it takes them. */
static enum pp_err sink_pump(struct pp_sink *sink)
{
    while (sink->queue_head < sink->n_queue) {
        struct sink_put *put = sink->queue[sink->queue_head];
        uint64_t len = put->data.len;
        enum pp_err err = PP_OK;

        /* A spooled object comes back into memory only when the store
         * takes it, so that closing many objects at once (a shutdown's
         * flush) does not bring them all back together. */
        if (put->spooled.n > 0) {
            if (pp_store_is_full(sink->store))
                break;
            if ((err = sink_blocks_unspool(sink, &put->spooled, &put->data)) == PP_OK) {
                sink->queued_bytes += put->data.len - len;
                len = put->data.len;
            }
        }
        if (!err)
            err = pp_store_put(sink->store, put->key, &put->data, sink_put_done, put);
        if (err == PP_AGAIN)
            break;
        sink->queue_head++;
        sink->queued_bytes -= len;
        sink->queued_total -= put->bytes;
        if (err) {
            sink_fail(sink, err, put->key);
            sink_put_finish(sink, put, err);
            continue;
        }
        sink->in_store++;
        sink->store_bytes += put->bytes;
    }
    if (sink->queue_head == sink->n_queue)
        sink->queue_head = sink->n_queue = 0;
    return sink->failed;
}

static enum pp_err sink_enqueue(struct pp_sink *sink, struct sink_put *put)
{
    if (sink->queue_head > 0 && sink->n_queue == sink->cap_queue) {
        memmove(sink->queue, sink->queue + sink->queue_head,
                (sink->n_queue - sink->queue_head) * sizeof *sink->queue);
        sink->n_queue -= sink->queue_head;
        sink->queue_head = 0;
    }
    struct sink_put **grown =
        pp_array_reserve(sink->queue, &sink->cap_queue, sink->n_queue, sizeof *grown, 64);
    if (grown == NULL)
        return PP_ERR_NOMEM;
    sink->queue = grown;
    sink->queue[sink->n_queue++] = put;
    sink->queued_bytes += put->data.len;
    sink->queued_total += put->bytes;
    return PP_OK;
}

/* Moves buf's bytes but its last partial block to the end of blocks, in
 * the spool. A spool that cannot be written is given up (logged once): the
 * bytes stay in memory, as without a spool. */
static enum pp_err sink_spill(struct pp_sink *sink, struct sink_blocks *blocks, struct pp_buf *buf)
{
    enum pp_err err = PP_OK;
    size_t done = 0;

    if (sink->spool == NULL || sink->is_spool_failed || buf->len < PP_SPOOL_BLOCK)
        return PP_OK;
    while (buf->len - done >= PP_SPOOL_BLOCK) {
        uint32_t *ids =
            pp_array_reserve(blocks->ids, &blocks->cap, blocks->n, sizeof *blocks->ids, 16);

        if (ids == NULL) {
            err = PP_ERR_NOMEM; /* after the blocks written so far leave buf */
            break;
        }
        blocks->ids = ids;
        if ((err = pp_spool_write(sink->spool, buf->data + done, &ids[blocks->n]))) {
            if (err == PP_ERR_NOMEM)
                break;
            err = PP_OK;
            pp_log_warn("sink: writing the spool in %s failed: open objects stay in memory from "
                        "now on",
                        pp_spool_dir(sink->spool));
            sink->is_spool_failed = true;
            break;
        }
        blocks->n++;
        done += PP_SPOOL_BLOCK;
    }
    if (done == 0)
        return err;
    memmove(buf->data, buf->data + done, buf->len - done);
    buf->len -= done;
    sink->open_bytes -= done;
    sink->stats.spooled_bytes += done;
    /* A large chunk grew the buffer: give back what the next block does
     * not need, since most objects fill slowly. */
    if (buf->cap > 2 * PP_SPOOL_BLOCK) {
        struct pp_buf rest;

        pp_buf_init(&rest);
        if (buf->len > 0 && pp_buf_append(&rest, buf->data, buf->len) != PP_OK)
            return err; /* keeps the larger buffer */
        pp_buf_cleanup(buf);
        *buf = rest;
    }
    return err;
}

/* The object's plain tail becomes one frame at the end of its data. */
static enum pp_err sink_tail_flush(struct pp_sink *sink, struct sink_object *obj)
{
    enum pp_err err;

    if (obj->tail.len == 0 && obj->tail_spooled.n == 0)
        return PP_OK;
    /* The whole tail in memory for its frame, for a moment. */
    if (obj->tail_spooled.n > 0) {
        size_t len = obj->tail.len;

        if ((err = sink_blocks_unspool(sink, &obj->tail_spooled, &obj->tail)))
            return err;
        sink->open_bytes += obj->tail.len - len;
    }
    /* Through the scratch buffer: pp_zstd_compress() reserves the worst
     * case, which would double the object's buffer beyond what it holds
     * and what the budget counts. */
    sink->scratch.len = 0;
    if ((err = pp_zstd_compress(sink->zstd, obj->tail.data, obj->tail.len, &sink->scratch)) ||
        (err = pp_buf_append(&obj->data, sink->scratch.data, sink->scratch.len)))
        return err;
    sink->open_bytes += sink->scratch.len;
    sink->open_bytes -= obj->tail.len;
    pp_buf_cleanup(&obj->tail); /* its memory too: most objects fill slowly */
    return sink_spill(sink, &obj->spooled, &obj->data);
}

/* An open object given up (an error, a re-read): its bytes go. The caller
 * takes it out of its part's list. */
static void sink_object_drop(struct pp_sink *sink, struct sink_object *obj)
{
    sink->open_bytes -= obj->data.len + obj->tail.len;
    pp_buf_cleanup(&obj->data);
    pp_buf_cleanup(&obj->tail);
    sink_blocks_release(sink, &obj->spooled);
    sink_blocks_release(sink, &obj->tail_spooled);
    sink->open_objects--;
}

/* Ends the partition's run: its objects go to the store. */
static enum pp_err sink_close_run(struct pp_sink *sink, struct sink_part *part)
{
    struct sink_run *run;
    struct pp_buf key;
    enum pp_err err = PP_OK;
    size_t i;

    part->has_run = false;
    if (part->n_open == 0)
        return PP_OK;
    run = calloc(1, sizeof *run);
    if (run == NULL)
        return PP_ERR_NOMEM;
    run->sink = sink;
    run->start = part->run_start;
    run->next = part->runs;
    part->runs = run;
    pp_buf_init(&key);
    for (i = 0; i < part->n_open; i++) {
        struct sink_object *obj = &part->open[i];
        struct sink_put *put = calloc(1, sizeof *put);

        if (put == NULL) {
            err = PP_ERR_NOMEM;
            break;
        }
        key.len = 0;
        if ((err = sink_tail_flush(sink, obj)) || (err = sink_key(sink, part, obj, &key))) {
            free(put);
            break;
        }
        put->key = strdup(key.data);
        if (put->key == NULL) {
            free(put);
            err = PP_ERR_NOMEM;
            break;
        }
        put->run = run;
        put->kind = obj->kind;
        put->records = obj->records;
        put->bytes = obj->spooled.n * PP_SPOOL_BLOCK + obj->data.len;
        put->spooled = obj->spooled; /* moved */
        put->data = obj->data;       /* moved */
        memset(&obj->spooled, 0, sizeof obj->spooled);
        pp_buf_init(&obj->data);
        sink->open_bytes -= put->data.len;
        sink->open_objects--;
        run->puts_left++;
        if ((err = sink_enqueue(sink, put))) {
            sink->open_bytes += put->data.len; /* freed below with the object */
            sink->open_objects++;
            obj->spooled = put->spooled;
            obj->data = put->data;
            run->puts_left--;
            memset(&put->spooled, 0, sizeof put->spooled);
            put->data.data = NULL;
            sink_put_free(put);
            break;
        }
    }
    /* After an error, the objects not handed over go, with their bytes. */
    for (; i < part->n_open; i++)
        sink_object_drop(sink, &part->open[i]);
    part->n_open = 0;
    pp_buf_cleanup(&key);
    if (run->puts_left == 0) {
        sink_run_unlink(part, run);
        free(run);
    }
    if (err)
        sink_fail(sink, err, "out of memory closing objects"); /* unless failed already */
    return err;
}

static void sink_drop_open(struct pp_sink *sink, struct sink_part *part)
{
    for (size_t i = 0; i < part->n_open; i++)
        sink_object_drop(sink, &part->open[i]);
    part->n_open = 0;
    part->has_run = false;
}

static struct sink_object *sink_object_get(struct pp_sink *sink, struct sink_part *part,
                                           const struct sink_chunk *chunk)
{
    struct sink_object *obj;
    size_t i;

    for (i = 0; i < part->n_open; i++) {
        obj = &part->open[i];
        if (obj->kind == chunk->kind && obj->bucket_ms == chunk->bucket_ms)
            return obj;
    }
    obj = pp_array_reserve(part->open, &part->cap_open, part->n_open, sizeof *obj, 4);
    if (obj == NULL)
        return NULL;
    part->open = obj;
    obj = &part->open[part->n_open++];
    obj->kind = chunk->kind;
    obj->bucket_ms = chunk->bucket_ms;
    obj->start = chunk->first_offset;
    obj->records = 0;
    pp_buf_init(&obj->data);
    pp_buf_init(&obj->tail);
    memset(&obj->spooled, 0, sizeof obj->spooled);
    memset(&obj->tail_spooled, 0, sizeof obj->tail_spooled);
    sink->open_objects++;
    return obj;
}

/* Appends a chunk's bytes to its open object, in offset order: a plain
 * chunk to the tail (compressed once it is large enough), a compressed one
 * after the tail's frame. */
static enum pp_err sink_object_append(struct pp_sink *sink, struct sink_object *obj,
                                      const struct sink_chunk *chunk, const char *bytes)
{
    enum pp_err err;

    if (sink->zstd != NULL && chunk->is_plain) {
        if ((err = pp_buf_append(&obj->tail, bytes, chunk->len)))
            return err;
        sink->open_bytes += chunk->len;
        if (obj->tail_spooled.n * PP_SPOOL_BLOCK + obj->tail.len >= SINK_FRAME_TARGET)
            return sink_tail_flush(sink, obj);
        return sink_spill(sink, &obj->tail_spooled, &obj->tail);
    }
    if ((err = sink_tail_flush(sink, obj)) || (err = pp_buf_append(&obj->data, bytes, chunk->len)))
        return err;
    sink->open_bytes += chunk->len;
    return sink_spill(sink, &obj->spooled, &obj->data);
}

enum pp_err pp_sink_add(struct pp_sink *sink, const struct pp_batch *batch)
{
    const struct sink_chunk *chunks = sink_chunks(batch);
    enum pp_err err;
    size_t i;

    if (sink->failed)
        return sink->failed;
    for (i = 0; i < batch->n_aux; i++) {
        const struct sink_chunk *chunk = &chunks[i];
        struct sink_part *part = sink_part_get(sink, chunk->topic, chunk->partition);
        struct sink_object *obj;

        if (part == NULL)
            return PP_ERR_NOMEM;
        if (chunk->is_group_first) {
            if (chunk->is_resumed || (part->next >= 0 && chunk->first_offset < part->next)) {
                /* Re-read from an earlier offset (a rebalance): the open
                 * objects are rebuilt from the records coming again. */
                sink_drop_open(sink, part);
                part->next = chunk->first_offset; /* where the records start again */
                sink->stats.restarts++;
            }
            if (part->has_run && (part->run[0] != chunk->run[0] || part->run[1] != chunk->run[1])) {
                if ((err = sink_close_run(sink, part)))
                    return err;
            }
            if (!part->has_run) {
                part->has_run = true;
                part->run[0] = chunk->run[0];
                part->run[1] = chunk->run[1];
                part->run_start = chunk->first_offset;
            }
        }
        assert(part->has_run);
        if ((obj = sink_object_get(sink, part, chunk)) == NULL)
            return PP_ERR_NOMEM;
        if ((err = sink_object_append(sink, obj, chunk, batch->aux_bytes.data + chunk->begin)))
            return err;
        obj->records += chunk->records;
        if (chunk->last_offset + 1 > part->next)
            part->next = chunk->last_offset + 1;
    }
    return sink_pump(sink);
}

void pp_sink_set_spool(struct pp_sink *sink, struct pp_spool *spool)
{
    assert(sink->open_objects == 0);
    sink->spool = spool;
}

void pp_sink_set_owner(struct pp_sink *sink, pp_sink_owned_fn is_owned, void *arg)
{
    sink->is_owned = is_owned;
    sink->owned_arg = arg;
}

enum pp_err pp_sink_flush(struct pp_sink *sink)
{
    enum pp_err err;

    for (size_t i = 0; i < sink->n_parts; i++) {
        struct sink_part *part = &sink->parts[i];

        /* A partition gone to another member: its open objects would be
         * partial versions of objects the new owner writes in full. */
        if (part->n_open > 0 && sink->is_owned != NULL &&
            !sink->is_owned(sink->owned_arg, part->topic, part->partition)) {
            sink_drop_open(sink, part);
            part->next = -1; /* nothing of it is known to be durable */
            continue;
        }
        if ((err = sink_close_run(sink, part)))
            return err;
    }
    return sink_pump(sink);
}

enum pp_err pp_sink_poll(struct pp_sink *sink, int timeout_ms)
{
    const struct pp_sink_layout *layout = sink->layout;
    enum pp_err err;

    if (layout->rotate_schedule_ms > 0) {
        int64_t now = sink_wallclock_ms();
        if (sink->next_schedule_ms == 0 || now >= sink->next_schedule_ms) {
            /* aligned to the interval in the configured time zone, like
             * Confluent's rotate.schedule.interval.ms */
            int64_t local = now + layout->timezone_offset_ms;
            if (sink->next_schedule_ms != 0 && (err = pp_sink_flush(sink)))
                return err;
            sink->next_schedule_ms = (sink_floor_div(local, layout->rotate_schedule_ms) + 1) *
                                         layout->rotate_schedule_ms -
                                     layout->timezone_offset_ms;
        }
    }
    if ((err = sink_pump(sink)))
        return err;
    if (sink->in_store > 0 || timeout_ms > 0) {
        if ((err = pp_store_poll(sink->store, timeout_ms, NULL)))
            sink_fail(sink, err, "the object store failed");
    }
    if ((err = sink_pump(sink)))
        return err;
    return sink->failed;
}

bool pp_sink_committable(const struct pp_sink *sink, enum pp_topic topic, int32_t partition,
                         int64_t *offset)
{
    const uint64_t *slot =
        pp_hmap_find(&sink->part_of, (uint64_t)topic, (uint64_t)(uint32_t)partition);
    const struct sink_part *part;
    int64_t at;

    /* A failed or abandoned object's run is gone from part->runs: nothing
     * may be committed any more. */
    if (slot == NULL || *slot == 0 || sink->failed)
        return false;
    part = &sink->parts[*slot - 1];
    if (part->next < 0)
        return false;
    at = part->has_run ? part->run_start : part->next;
    for (const struct sink_run *run = part->runs; run; run = run->next)
        if (run->start < at)
            at = run->start;
    *offset = at;
    return true;
}

uint64_t pp_sink_buffered_bytes(const struct pp_sink *sink)
{
    return sink->open_bytes + sink->queued_bytes + pp_store_buffered_bytes(sink->store);
}

bool pp_sink_is_over_budget(const struct pp_sink *sink, uint64_t budget)
{
    /* Whole objects, spooled or not: with the store slow or down, the
     * objects waiting pile up in the spool, which the budget bounds too. */
    uint64_t waiting = sink->queued_total + sink->store_bytes;
    uint64_t room = budget > sink->open_bytes ? budget - sink->open_bytes : 0;

    if (room < budget / 4)
        room = budget / 4;
    return waiting > room && pp_sink_writing_objects(sink) > 0;
}

size_t pp_sink_pending_objects(const struct pp_sink *sink)
{
    return sink->open_objects + (sink->n_queue - sink->queue_head) + sink->in_store;
}

size_t pp_sink_writing_objects(const struct pp_sink *sink)
{
    return (sink->n_queue - sink->queue_head) + sink->in_store;
}

void pp_sink_get_stats(const struct pp_sink *sink, struct pp_sink_stats *stats)
{
    struct pp_store_stats store;

    *stats = sink->stats;
    pp_store_get_stats(sink->store, &store);
    stats->retries = store.retries;
}

const char *pp_sink_error(const struct pp_sink *sink)
{
    return sink->error;
}

enum pp_err pp_sink_drain(struct pp_sink *sink, int64_t timeout_ms)
{
    int64_t deadline = pp_clock_ms() + timeout_ms;
    enum pp_err err = pp_sink_flush(sink);

    while (!err && pp_sink_pending_objects(sink) > 0) {
        int64_t left = deadline - pp_clock_ms();

        if (left <= 0)
            break;
        err = pp_sink_poll(sink, left < 100 ? (int)left : 100);
    }
    return err;
}

size_t pp_sink_abandon(struct pp_sink *sink)
{
    size_t n = pp_sink_pending_objects(sink);
    size_t i;

    sink_fail(sink, PP_ERR_IO, "abandoned before its objects were durable");
    /* The store's callbacks come back here (sink_put_done), now. */
    pp_store_abandon(sink->store);
    for (i = sink->queue_head; i < sink->n_queue; i++)
        sink_put_finish(sink, sink->queue[i], PP_ERR_IO);
    sink->queue_head = sink->n_queue = 0;
    sink->queued_bytes = sink->queued_total = 0;
    for (i = 0; i < sink->n_parts; i++)
        sink_drop_open(sink, &sink->parts[i]);
    return n;
}

void pp_sink_destroy(struct pp_sink *sink)
{
    if (sink == NULL)
        return;
    pp_sink_abandon(sink);
    for (size_t i = 0; i < sink->n_parts; i++) {
        struct sink_part *part = &sink->parts[i];
        free(part->open);
        while (part->runs) {
            struct sink_run *run = part->runs;
            part->runs = run->next;
            free(run);
        }
    }
    free(sink->parts);
    free(sink->queue);
    pp_hmap_cleanup(&sink->part_of);
    pp_zstd_enc_destroy(sink->zstd);
    pp_buf_cleanup(&sink->scratch);
    free(sink);
}
