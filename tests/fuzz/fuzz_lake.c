/*
 * fuzz_lake: the names and paths of lake objects (the Confluent S3 sink
 * layout, <topics.dir>/<topic>/<partition path>/<topic>+<p>+<offset>.json[.zst]).
 * Byte 0 % 3 chooses what the rest of the input is:
 *
 *  0  lines, each an object key: pp_lake_parse_name() of its last part with
 *     the topic that part starts with; a name it accepts is written again with
 *     pp_lake_format_key() and must parse back to the same partition,
 *     offset and compression.
 *  1  lines, each an object key as an S3 listing returns it: the keys
 *     pp_store_key_is_valid() accepts (the rule `query --from s3://` uses
 *     before writing a key below its download directory) become empty
 *     files under a fresh directory, which pp_lake_list() then lists (topic
 *     prefix discovery, partition paths of any depth). Every object listed
 *     must be one of those files, inside the directory, named so that it
 *     parses, and in (partition, offset) order.
 *  2  a TimeBasedPartitioner: byte 1 the time zone and partition duration,
 *     then path.format up to a '\n', then 8-byte record timestamps (any
 *     int64, as Kafka's). When
 *     pp_sink_layout_check() accepts the layout, the sink must write every
 *     object (its keys are valid store keys) and pp_lake_list() must find
 *     each raw object it wrote.
 */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pp_batch.h"
#include "pp_lake.h"
#include "pp_log.h"
#include "pp_sink.h"
#include "pp_store.h"
#include "pp_store_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_RECORDS 64

/* The directory each input's lake goes to (emptied after the input). */
static char fuzz_root[256];

static int fuzz_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void fuzz_cleanup(void)
{
    nftw(fuzz_root, fuzz_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void fuzz_setup(void)
{
    const char *tmp = getenv("TMPDIR");

    if (fuzz_root[0] != '\0')
        return;
    snprintf(fuzz_root, sizeof fuzz_root, "%s/fuzz_lake.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (mkdtemp(fuzz_root) == NULL)
        abort();
    atexit(fuzz_cleanup);
    pp_log_set_level(PP_LOG_ERROR);
}

/* A fresh, empty lake directory for this input. */
static const char *fuzz_lake_dir(void)
{
    static char dir[300];

    snprintf(dir, sizeof dir, "%s/lake", fuzz_root);
    nftw(dir, fuzz_rm_one, 16, FTW_DEPTH | FTW_PHYS);
    if (mkdir(dir, 0755) != 0)
        abort();
    return dir;
}

/* Mode 0. */
static void fuzz_names(char *text)
{
    for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        char *plus;

        /* a key's last part; the topic is what the name starts with */
        if (strrchr(line, '/') != NULL)
            line = strrchr(line, '/') + 1;
        plus = strchr(line, '+');
        char topic[256];
        char key[1024];
        int32_t partition, partition2;
        int64_t offset, offset2;
        bool is_zstd, is_zstd2;
        const char *name;
        int len;

        if (plus == NULL || (size_t)(plus - line) >= sizeof topic)
            continue;
        memcpy(topic, line, (size_t)(plus - line));
        topic[plus - line] = '\0';
        if (pp_lake_parse_name(line, topic, &partition, &offset, &is_zstd) != PP_OK)
            continue;
        if (partition < 0 || offset < 0)
            abort();
        len = pp_lake_format_key(key, sizeof key, "topics", topic, partition, offset,
                                 PP_LAKE_OFFSET_PAD, is_zstd);
        if (len < 0 || (size_t)len >= sizeof key)
            continue;
        name = strrchr(key, '/') + 1;
        if (pp_lake_parse_name(name, topic, &partition2, &offset2, &is_zstd2) != PP_OK ||
            partition2 != partition || offset2 != offset || is_zstd2 != is_zstd)
            abort();
    }
}

/* mkdir -p of path's directory. false when the file system refuses (a
 * name too long, a file where a directory should be). */
static bool fuzz_mkdirs(char *path)
{
    for (char *p = path + strlen(fuzz_root) + 1; (p = strchr(p, '/')) != NULL; p++) {
        *p = '\0';
        int rc = mkdir(path, 0755);
        *p = '/';
        if (rc != 0 && errno != EEXIST)
            return false;
    }
    return true;
}

static void fuzz_check_listing(const struct pp_lake_listing *listing, const char *dir)
{
    for (int t = 0; t < PP_TOPIC_COUNT; t++) {
        for (size_t i = 0; i < listing->object_count[t]; i++) {
            const struct pp_lake_object *obj = &listing->objects[t][i];
            const char *name = strrchr(obj->path, '/');
            struct stat st;
            int32_t partition;
            int64_t offset;
            bool is_zstd;

            if (strncmp(obj->path, dir, strlen(dir)) != 0 || obj->path[strlen(dir)] != '/' ||
                strstr(obj->path, "/../") != NULL || name == NULL)
                abort();
            if (stat(obj->path, &st) != 0 || !S_ISREG(st.st_mode))
                abort();
            if (pp_lake_parse_name(name + 1, listing->topic_name[t], &partition, &offset,
                                   &is_zstd) != PP_OK ||
                partition != obj->partition || offset != obj->start_offset ||
                is_zstd != obj->is_zstd)
                abort();
            if (i > 0) {
                const struct pp_lake_object *prev = &listing->objects[t][i - 1];
                if (prev->partition > obj->partition ||
                    (prev->partition == obj->partition && prev->start_offset > obj->start_offset))
                    abort();
            }
        }
    }
}

/* Mode 1. */
static void fuzz_keys(char *text)
{
    const char *dir = fuzz_lake_dir();
    struct pp_lake_listing listing;
    char msg[512];
    enum pp_err err;

    for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        char path[2048];
        FILE *f;

        if (!pp_store_key_is_valid(line))
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, line);
        if (!fuzz_mkdirs(path))
            continue;
        if ((f = fopen(path, "wb")) != NULL)
            fclose(f);
    }
    err = pp_lake_list(dir, "topics", NULL, &listing, msg, sizeof msg);
    if (err == PP_OK) {
        fuzz_check_listing(&listing, dir);
        pp_lake_listing_cleanup(&listing);
    } else if (msg[0] == '\0' && err != PP_ERR_NOMEM) {
        abort(); /* every refusal names its reason */
    }
}

static void fuzz_sink_failed(const struct pp_sink *sink)
{
    fprintf(stderr, "fuzz_lake: the sink failed: %s\n", pp_sink_error(sink));
    abort();
}

/* Mode 2. */
static void fuzz_time_based(const uint8_t *data, size_t size)
{
    static const char *const topics[PP_TOPIC_COUNT] = {"p.pin", "p.geo", "p.user"};
    static const char record[] = "{\"index\":1}";
    struct pp_sink_stage_arg arg;
    struct pp_sink_layout layout;
    struct pp_store_options sopt;
    struct pp_lake_listing listing;
    struct pp_sink_stats stats;
    struct pp_store *store = NULL;
    struct pp_sink *sink = NULL;
    struct pp_batch *batch = NULL;
    void *enc = NULL;
    const uint8_t *nl;
    char *format;
    char msg[512];
    size_t n = 0;
    const char *dir;
    int hours;

    if (size < 1)
        return;
    nl = memchr(data + 1, '\n', size - 1);
    if (nl == NULL)
        return;
    format = strndup((const char *)data + 1, (size_t)(nl - data - 1));
    if (format == NULL)
        abort();
    memset(&layout, 0, sizeof layout);
    for (int t = 0; t < PP_TOPIC_COUNT; t++)
        layout.topic_name[t] = topics[t];
    layout.topics_dir = "topics";
    layout.flush_size = 3;
    layout.rotate_interval_ms = -1;
    layout.is_time_partitioner = true;
    layout.path_format = format;
    /* the config's range: time zones -18:59..+18:59, durations >= 1 ms */
    hours = data[0] % 37 - 18;
    layout.timezone_offset_ms =
        (int64_t)hours * 3600000 + (hours < 0 ? -1 : 1) * (data[0] & 0x40 ? 59 : 0) * 60000;
    layout.partition_duration_ms = data[0] & 0x80 ? 60000 : 86400000;
    layout.extractor = PP_SINK_TIME_RECORD;
    layout.timestamp_field = "";
    layout.offset_pad_width = 10;
    if (pp_sink_layout_check(&layout, msg, sizeof msg) != PP_OK)
        goto out;

    dir = fuzz_lake_dir();
    memset(&sopt, 0, sizeof sopt);
    sopt.url = dir;
    sopt.is_uring_off = true;
    if (pp_store_open(&sopt, &store, msg, sizeof msg) != PP_OK)
        abort();
    if ((sink = pp_sink_new(&layout, store)) == NULL)
        abort();
    memset(&arg, 0, sizeof arg);
    arg.clean.max_record_bytes = 1 << 10;
    arg.layout = &layout;
    if ((enc = pp_sink_stage.create(&arg)) == NULL)
        abort();
    if ((batch = pp_batch_new(FUZZ_MAX_RECORDS * sizeof record)) == NULL)
        abort();
    for (const uint8_t *p = nl + 1; p + 8 <= data + size && n < FUZZ_MAX_RECORDS; p += 8, n++) {
        struct pp_batch_span span;
        int64_t ts;

        memcpy(&ts, p, sizeof ts);
        memset(&span, 0, sizeof span);
        span.begin = (uint32_t)batch->len;
        span.end = (uint32_t)(batch->len + sizeof record - 1);
        span.first_offset = (int64_t)n;
        span.timestamp_ms = ts;
        span.topic = PP_TOPIC_PIN;
        span.is_single = true;
        memcpy(batch->data + batch->len, record, sizeof record - 1);
        batch->len += sizeof record - 1;
        if (pp_batch_add_span(batch, &span) != PP_OK)
            abort();
    }
    if (n == 0)
        goto out;
    if (pp_sink_stage.process(enc, batch) != PP_OK || pp_sink_add(sink, batch) != PP_OK)
        abort();
    /* A layout that passed its check writes every object: no key of it
     * may be refused. */
    if (pp_sink_flush(sink) != PP_OK)
        fuzz_sink_failed(sink);
    for (int i = 0; i < 1000 && pp_sink_pending_objects(sink) > 0; i++)
        if (pp_sink_poll(sink, 10) != PP_OK)
            fuzz_sink_failed(sink);
    if (pp_sink_pending_objects(sink) > 0)
        abort();
    pp_sink_get_stats(sink, &stats);
    /* The lake has a pin topic only; pp_lake_list wants all three. */
    for (int t = -1; t < PP_TOPIC_COUNT; t++) {
        char path[400];

        snprintf(path, sizeof path, "%s/topics%s%s", dir, t < 0 ? "" : "/", t < 0 ? "" : topics[t]);
        if (mkdir(path, 0755) != 0 && errno != EEXIST)
            abort();
    }
    if (pp_lake_list(dir, "topics", "p", &listing, msg, sizeof msg) != PP_OK) {
        fprintf(stderr, "fuzz_lake: cannot list what the sink wrote: %s\n", msg);
        abort();
    }
    fuzz_check_listing(&listing, dir);
    if (listing.object_count[PP_TOPIC_PIN] != stats.objects[PP_SINK_RAW])
        abort();
    pp_lake_listing_cleanup(&listing);
out:
    pp_batch_destroy(batch);
    pp_sink_stage.destroy(enc);
    pp_sink_destroy(sink);
    pp_store_close(store);
    free(format);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text;

    if (size == 0)
        return 0;
    fuzz_setup();
    switch (data[0] % 3) {
    case 0:
    case 1:
        if ((text = strndup((const char *)data + 1, size - 1)) == NULL)
            abort();
        if (data[0] % 3 == 0)
            fuzz_names(text);
        else
            fuzz_keys(text);
        free(text);
        break;
    default: fuzz_time_based(data + 1, size - 1); break;
    }
    return 0;
}
