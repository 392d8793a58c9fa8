/*
 * fuzz_stream: loading the stream state of a checkpoint that is not what
 * was written (pp_intern_load, then pp_stream_load: the dedup keys with
 * their stamps, the pending posts, the expiry queues, the counts). A
 * reference is made once: generated records through a stream (keys
 * repeated within and after the ttl, posts missing parts, stamps out of
 * order, records without a timestamp, rejects), stopped while posts are
 * pending and keys wait in both queues; its encoding is kept. Each input
 * edits a copy of that encoding, as fuzz_windows does:
 *
 *   byte 0          below 32: the copy is cut to len * byte / 32 first
 *   then 5 bytes    a 32-bit little-endian position (modulo the length)
 *   at a time       and the byte to put there
 *
 * Whatever the load says, nothing may crash or leak; a stream it accepts
 * must take more records (keys it holds, duplicates, new keys), expire
 * everything (both queues popped, pending posts orphaned, keys deleted)
 * and be saved again.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_edit.h"
#include "pp_log.h"
#include "pp_snap.h"
#include "pp_stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_SEC 1000
#define FUZZ_RECORDS 600
#define FUZZ_TTL (20 * FUZZ_SEC)
#define FUZZ_TIMEOUT (5 * FUZZ_SEC)

static const struct pp_stream_options fuzz_opt = {FUZZ_TTL, FUZZ_TIMEOUT, 0};

static struct pp_buf fuzz_ref; /* the reference encoding: strings, then the stream */

static struct pp_str fuzz_text(const char *s)
{
    return pp_str_make(s, strlen(s));
}

/* Record number i: about 1 in 3 keys new, the rest repeats of recent keys
 * (the other parts of a post, or duplicates), a second a record, some out
 * of order, a few without a timestamp or rejected. */
static struct pp_clean_item fuzz_item(uint64_t i)
{
    static const char *const names[] = {"ann", "bob", "cy", "dee", "eve"};
    uint64_t x = (i + 1) * 0x9E3779B97F4A7C15ULL;
    struct pp_clean_item it;
    const char *name;

    x ^= x >> 31;
    name = names[(x >> 8) % 5];
    memset(&it, 0, sizeof it);
    it.topic = (enum pp_topic)(x % PP_TOPIC_COUNT);
    it.reject = x % 23 == 0 ? PP_REJECT_INVALID_JSON : PP_REJECT_NONE;
    it.timestamp_ms =
        x % 19 == 0 ? -1 : (int64_t)i * FUZZ_SEC - (int64_t)((x >> 40) % 4) * FUZZ_SEC;
    it.rec.topic = it.topic;
    it.rec.ind = (int64_t)(i / 3 - (x >> 20) % 4);
    switch (it.topic) {
    case PP_TOPIC_PIN:
        it.rec.u.pin.category = fuzz_text(name);
        it.rec.u.pin.poster_name = fuzz_text(names[(x >> 12) % 5]);
        it.rec.u.pin.has_follower_count = true;
        it.rec.u.pin.follower_count = (int64_t)(x >> 48);
        it.text_hash[0] = pp_str_hash(it.rec.u.pin.category);
        it.text_hash[1] = pp_str_hash(it.rec.u.pin.poster_name);
        break;
    case PP_TOPIC_GEO:
        it.rec.u.geo.country = fuzz_text(name);
        it.text_hash[0] = pp_str_hash(it.rec.u.geo.country);
        break;
    case PP_TOPIC_USER:
        it.rec.u.user.user_name = fuzz_text(name);
        it.rec.u.user.has_age = true;
        it.rec.u.user.age = 20 + (int64_t)((x >> 16) % 40);
        it.text_hash[0] = pp_str_hash(it.rec.u.user.user_name);
        break;
    }
    return it;
}

/* Feeds records from .. to - 1; a full table (PP_AGAIN) or a failure ends
 * the feed, as it stops pp_run's loop. */
static void fuzz_feed(struct pp_stream *stream, uint64_t from, uint64_t to)
{
    for (uint64_t i = from; i < to; i++) {
        struct pp_clean_item it = fuzz_item(i);
        struct pp_stream_post post;
        bool is_joined;

        if (pp_stream_add(stream, &it, &post, &is_joined) != PP_OK)
            return;
    }
}

static void fuzz_make_reference(void)
{
    struct pp_intern strings;
    struct pp_stream *stream;
    struct pp_snap_writer w;

    pp_intern_init(&strings);
    if ((stream = pp_stream_new(&fuzz_opt, &strings)) == NULL)
        abort();
    fuzz_feed(stream, 0, FUZZ_RECORDS);
    if (pp_stream_pending_count(stream) == 0)
        abort(); /* the reference must hold pending posts */
    pp_buf_init(&fuzz_ref);
    pp_snap_writer_init(&w, &fuzz_ref);
    pp_intern_save(&strings, &w);
    pp_stream_save(stream, &w);
    if (pp_snap_writer_finish(&w) != PP_OK)
        abort();
    pp_stream_destroy(stream);
    pp_intern_cleanup(&strings);
}

/* What the loop does with a loaded stream. */
static void fuzz_use(struct pp_stream *stream)
{
    struct pp_snap_writer w;
    struct pp_buf again;
    int64_t now = pp_stream_time(stream);

    /* The records around the reference's end hold its keys again. */
    fuzz_feed(stream, FUZZ_RECORDS - 30, FUZZ_RECORDS + 30);
    /* A loaded clock may be anywhere in int64: expire everything when
     * that can be said without overflow. */
    if (now < INT64_MAX / 2)
        pp_stream_advance(stream, (now < 0 ? 0 : now) + FUZZ_TTL + FUZZ_TIMEOUT + 10 * FUZZ_SEC);
    pp_buf_init(&again);
    pp_snap_writer_init(&w, &again);
    pp_stream_save(stream, &w);
    (void)pp_snap_writer_finish(&w);
    pp_buf_cleanup(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pp_snap_reader rd;
    struct pp_stream *stream;
    struct pp_intern strings;
    char *copy;
    size_t len;

    if (fuzz_ref.data == NULL) {
        pp_log_set_level(PP_LOG_ERROR);
        fuzz_make_reference();
    }
    if ((copy = fuzz_edit(&fuzz_ref, data, size, &len)) == NULL)
        return 0;
    pp_intern_init(&strings);
    stream = pp_stream_new(&fuzz_opt, &strings);
    if (stream != NULL) {
        pp_snap_reader_init(&rd, copy, len);
        if (pp_intern_load(&strings, &rd) == PP_OK && pp_stream_load(stream, &rd) == PP_OK)
            fuzz_use(stream);
    }
    pp_stream_destroy(stream);
    pp_intern_cleanup(&strings);
    free(copy);
    return 0;
}
