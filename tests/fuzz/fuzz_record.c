/*
 * fuzz_record: one input is one record (or, in lake mode, several lines of
 * one object) of a topic, run through the stage `pinpipe run` uses: the
 * lake sink's encode stage (pp_sink_stage = pp_clean_stage, then the raw,
 * cleaned and dlq lines, compressed or not, per time partition).
 *
 * Input: byte 0 chooses the topic and the layout (bits below), the rest is
 * the record. Checked beyond "no crash": every cleaned line and every dlq
 * line is one valid JSON object (the oracle and DuckDB read them back), a
 * reject carries a known reason, and the reason agrees with an independent
 * JSON checker (fuzz_json_strict.h): invalid_utf8 exactly when the bytes
 * are not UTF-8, invalid_json exactly when they are not JSON, not_object
 * exactly for valid JSON that is not an object.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_json_strict.h"
#include "pp_batch.h"
#include "pp_clean.h"
#include "pp_json.h"
#include "pp_sink.h"

#define FUZZ_TOPIC_MASK 0x03   /* % 3: pin, geo, user */
#define FUZZ_LAKE_LINES 0x04   /* lines of a lake object, not one Kafka record */
#define FUZZ_ZSTD 0x08         /* sink.compression=zstd */
#define FUZZ_RECORD_FIELD 0x10 /* timestamp.extractor=RecordField */
#define FUZZ_TIME_BASED 0x20   /* TimeBasedPartitioner */
#define FUZZ_ROTATE 0x40       /* rotate.interval.ms */
#define FUZZ_SMALL_MAX 0x80    /* a small max record size: too_large rejects */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct pp_json_parser *fuzz_checker;
/* The stages, made once (a parser is costly to make): [zstd][small max]. */
static void *fuzz_stages[2][2];
/* The layout the stages borrow; set for each input. */
static struct pp_sink_layout fuzz_layout;
static struct pp_sink_stage_arg fuzz_arg;

/* One line the sink writes must be one JSON object. */
static void fuzz_check_json(const struct pp_buf *line)
{
    struct pp_arena arena;
    char *copy = malloc(line->len + PP_JSON_PADDING);

    if (copy == NULL)
        abort();
    memcpy(copy, line->data, line->len);
    memset(copy + line->len, ' ', PP_JSON_PADDING);
    pp_arena_init(&arena, 0);
    if (pp_json_parse_object(fuzz_checker, copy, line->len, line->len + PP_JSON_PADDING, NULL, 0,
                             NULL, &arena) != PP_JSON_OK)
        abort();
    pp_arena_cleanup(&arena);
    free(copy);
}

/* The reject reason against the independent checker's verdict. */
static void fuzz_check_reason(const struct pp_clean_item *item)
{
    bool is_bad_json = item->reject == PP_REJECT_INVALID_JSON ||
                       item->reject == PP_REJECT_INVALID_UTF8 ||
                       item->reject == PP_REJECT_NOT_OBJECT;

    if (item->reject == PP_REJECT_TOO_LARGE)
        return;
    if (!fuzz_utf8_valid((const unsigned char *)item->raw.ptr, item->raw.len)) {
        if (item->reject != PP_REJECT_INVALID_UTF8)
            abort();
        return;
    }
    switch (fuzz_json_check(item->raw.ptr, item->raw.len)) {
    case FUZZ_JSON_INVALID:
        if (item->reject != PP_REJECT_INVALID_JSON)
            abort();
        break;
    case FUZZ_JSON_OBJECT:
        if (is_bad_json)
            abort();
        break;
    case FUZZ_JSON_OTHER:
        if (item->reject != PP_REJECT_NOT_OBJECT)
            abort();
        break;
    case FUZZ_JSON_UNSURE: break;
    }
}

static void fuzz_check_items(const struct pp_sink_layout *layout, const struct pp_batch *batch)
{
    const struct pp_clean_item *items = pp_clean_items(batch);
    struct pp_buf line;

    pp_buf_init(&line);
    for (size_t i = 0; i < batch->n_out; i++) {
        const struct pp_clean_item *item = &items[i];

        line.len = 0;
        fuzz_check_reason(item);
        if (item->reject == PP_REJECT_NONE) {
            if (pp_clean_render_json(&item->rec, &line) != PP_OK)
                abort();
        } else {
            if (strcmp(pp_reject_name(item->reject), "unknown") == 0)
                abort();
            if (pp_sink_render_dlq(layout, item, false, &line) != PP_OK)
                abort();
        }
        fuzz_check_json(&line);
    }
    pp_buf_cleanup(&line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const path_format = "'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH";
    struct pp_sink_layout *layout = &fuzz_layout;
    struct pp_batch_span span;
    struct pp_batch *batch;
    void **stage;
    uint8_t flags;
    size_t len;

    if (size == 0)
        return 0;
    if (fuzz_checker == NULL && (fuzz_checker = pp_json_parser_new(1 << 20)) == NULL)
        abort();
    flags = data[0];
    data++;
    len = size - 1;

    memset(layout, 0, sizeof *layout);
    layout->topic_name[PP_TOPIC_PIN] = "pinterest.pin";
    layout->topic_name[PP_TOPIC_GEO] = "pinterest.geo";
    layout->topic_name[PP_TOPIC_USER] = "pinterest.user";
    layout->topics_dir = "topics";
    layout->flush_size = 2;
    layout->rotate_interval_ms = flags & FUZZ_ROTATE ? 3600000 : -1;
    layout->is_time_partitioner = (flags & FUZZ_TIME_BASED) != 0;
    layout->path_format = path_format;
    layout->partition_duration_ms = 3600000;
    layout->extractor = flags & FUZZ_RECORD_FIELD ? PP_SINK_TIME_RECORD_FIELD : PP_SINK_TIME_RECORD;
    layout->timestamp_field =
        (flags & FUZZ_TOPIC_MASK) % 3 == PP_TOPIC_USER ? "date_joined" : "timestamp";
    layout->is_zstd = (flags & FUZZ_ZSTD) != 0;
    layout->zstd_level = 1;
    layout->offset_pad_width = 10;

    stage = &fuzz_stages[(flags & FUZZ_ZSTD) != 0][(flags & FUZZ_SMALL_MAX) != 0];
    if (*stage == NULL) {
        fuzz_arg.clean.max_record_bytes =
            flags & FUZZ_SMALL_MAX ? 64 : PP_CLEAN_DEFAULT_MAX_RECORD_BYTES;
        fuzz_arg.layout = layout;
        if ((*stage = pp_sink_stage.create(&fuzz_arg)) == NULL)
            abort();
    }

    /* The batch holds exactly the input, so that the parser's padding is
     * the batch's own and a read past it is ASan's to see. */
    if ((batch = pp_batch_new(len)) == NULL)
        abort();
    memcpy(batch->data, data, len);
    batch->len = len;
    memset(&span, 0, sizeof span);
    span.begin = 0;
    span.end = (uint32_t)len;
    span.first_offset = 41;
    span.partition = 3;
    span.topic = (uint16_t)((flags & FUZZ_TOPIC_MASK) % 3);
    if (flags & FUZZ_LAKE_LINES) {
        span.timestamp_ms = PP_BATCH_NO_TIMESTAMP;
    } else {
        span.is_single = true;
        span.is_resumed = true;
        span.timestamp_ms = 1657152000000; /* 2022-07-07 */
    }
    if (pp_batch_add_span(batch, &span) != PP_OK)
        abort();
    if (pp_sink_stage.process(*stage, batch) != PP_OK)
        abort();
    fuzz_check_items(layout, batch);
    pp_batch_destroy(batch);
    return 0;
}
