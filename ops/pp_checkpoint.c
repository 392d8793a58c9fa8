#include "pp_checkpoint.h"

#include <stdio.h>
#include <string.h>

#include "pp_snap.h"
#include "pp_zstd.h"

#define CHECKPOINT_MAGIC 0x3130544b43505050ULL /* "PPPCKT01" */
/* Bumped whenever what a codec writes changes. */
/* 2: the Kafka cluster id after the configuration; 3: one per partition;
 * 4: closed windows frozen, one follower-count histogram per state */
#define CHECKPOINT_FORMAT 4
#define CHECKPOINT_END 0x444e45ULL /* "END" */
/* The level of the frame: checkpoints are written often and read once. */
#define CHECKPOINT_ZSTD_LEVEL 1

/* The codecs copy structs as they lie in memory: a checkpoint is only read
 * by a build with the same layout. */
static uint64_t checkpoint_layout(void)
{
    return (uint64_t)sizeof(void *) | (uint64_t)sizeof(struct pp_post) << 8 |
           (uint64_t)sizeof(struct pp_hmap_slot) << 16 |
           (uint64_t)sizeof(struct pp_stream_counts) << 24 |
           (uint64_t)sizeof(struct pp_config_window) << 40;
}

/* The streaming writer's drain: into the frame. */
struct checkpoint_frame {
    struct pp_zstd_enc *enc;
    struct pp_buf *out;
};

static enum pp_err checkpoint_compress(void *arg, const void *ptr, size_t len)
{
    struct checkpoint_frame *frame = arg;

    return pp_zstd_enc_write(frame->enc, ptr, len, frame->out);
}

/* The encoding goes through zstd as it is written (in 1 MiB pieces, and
 * the large tables straight from where they lie), so a checkpoint costs
 * the memory of its compressed object, not a copy of the state. */
enum pp_err pp_checkpoint_encode(const struct pp_checkpoint_state *state, uint64_t seq,
                                 struct pp_buf *out)
{
    struct checkpoint_frame frame = {NULL, out};
    struct pp_snap_writer w;
    struct pp_buf scratch;
    enum pp_err err;

    pp_buf_init(&scratch);
    if ((frame.enc = pp_zstd_enc_new(CHECKPOINT_ZSTD_LEVEL)) == NULL) {
        err = PP_ERR_NOMEM;
        goto out;
    }
    pp_snap_writer_init_drain(&w, &scratch, 1u << 20, checkpoint_compress, &frame);
    pp_snap_put_u64(&w, CHECKPOINT_MAGIC);
    pp_snap_put_u64(&w, CHECKPOINT_FORMAT);
    pp_snap_put_u64(&w, checkpoint_layout());
    pp_snap_put_u64(&w, seq);
    pp_snap_put_bytes(&w, state->config, strlen(state->config));
    pp_snap_put_bytes(&w, state->cluster_id, strlen(state->cluster_id));
    pp_hmap_save(state->offsets, &w);
    pp_hmap_save(state->resume, &w);
    pp_intern_save(state->strings, &w);
    pp_stream_save(state->stream, &w);
    pp_window_set_save(state->windows, &w);
    pp_snap_put_u64(&w, CHECKPOINT_END);
    if ((err = pp_snap_writer_finish(&w)) == PP_OK)
        err = pp_zstd_enc_end(frame.enc, out);
out:
    pp_zstd_enc_destroy(frame.enc);
    pp_buf_cleanup(&scratch);
    return err;
}

/* Reads the header; msg gets why it is refused. */
static enum pp_err checkpoint_header(struct pp_snap_reader *rd, uint64_t *seq, char *msg,
                                     size_t msg_len)
{
    if (pp_snap_get_u64(rd) != CHECKPOINT_MAGIC) {
        snprintf(msg, msg_len, "not a pinpipe checkpoint");
        return PP_ERR_CORRUPT;
    }
    if (pp_snap_get_u64(rd) != CHECKPOINT_FORMAT || pp_snap_get_u64(rd) != checkpoint_layout()) {
        snprintf(msg, msg_len, "written by another version of pinpipe (format %d expected)",
                 CHECKPOINT_FORMAT);
        return PP_ERR_INVALID;
    }
    *seq = pp_snap_get_u64(rd);
    return rd->err;
}

enum pp_err pp_checkpoint_check(const void *data, size_t len, uint64_t *seq, struct pp_buf *raw)
{
    struct pp_snap_reader rd;
    struct pp_buf own;
    uint64_t end = 0;
    char why[128];
    enum pp_err err;

    pp_buf_init(&own);
    if (raw == NULL)
        raw = &own;
    raw->len = 0;
    if ((err = pp_zstd_decompress(data, len, raw)) != PP_OK)
        goto out;
    pp_snap_reader_init(&rd, raw->data, raw->len);
    if ((err = checkpoint_header(&rd, seq, why, sizeof why)) != PP_OK)
        goto out;
    if (raw->len < rd.pos + sizeof end) {
        err = PP_ERR_CORRUPT;
        goto out;
    }
    memcpy(&end, raw->data + raw->len - sizeof end, sizeof end);
    err = end == CHECKPOINT_END ? PP_OK : PP_ERR_CORRUPT;
out:
    pp_buf_cleanup(&own);
    return err;
}

enum pp_err pp_checkpoint_decode(const struct pp_checkpoint_state *state, const void *data,
                                 size_t len, char *msg, size_t msg_len)
{
    struct pp_buf raw;
    enum pp_err err;

    pp_buf_init(&raw);
    if ((err = pp_zstd_decompress(data, len, &raw)) != PP_OK)
        snprintf(msg, msg_len, "not a complete zstd frame (%s)", pp_err_str(err));
    else
        err = pp_checkpoint_decode_raw(state, raw.data, raw.len, msg, msg_len);
    pp_buf_cleanup(&raw);
    return err;
}

enum pp_err pp_checkpoint_decode_raw(const struct pp_checkpoint_state *state, const void *raw,
                                     size_t raw_len, char *msg, size_t msg_len)
{
    struct pp_snap_reader rd;
    const char *config;
    const char *cluster;
    size_t config_len;
    size_t cluster_len;
    uint64_t seq;
    enum pp_err err;

    pp_snap_reader_init(&rd, raw, raw_len);
    if ((err = checkpoint_header(&rd, &seq, msg, msg_len)) != PP_OK)
        return err;
    config = pp_snap_get_bytes(&rd, &config_len);
    if (rd.err == PP_OK &&
        (config_len != strlen(state->config) || memcmp(config, state->config, config_len) != 0)) {
        /* One line: the keys are separated by spaces in the text. */
        snprintf(msg, msg_len, "taken with %.*s; this run has %s", (int)config_len, config,
                 state->config);
        return PP_ERR_INVALID;
    }
    cluster = pp_snap_get_bytes(&rd, &cluster_len);
    if (rd.err == PP_OK && state->taken_on != NULL && state->taken_on_cap > 0)
        snprintf(state->taken_on, state->taken_on_cap, "%.*s", (int)cluster_len, cluster);
    if (rd.err == PP_OK && cluster_len > 0 && state->cluster_id[0] != '\0' &&
        (cluster_len != strlen(state->cluster_id) ||
         memcmp(cluster, state->cluster_id, cluster_len) != 0)) {
        snprintf(msg, msg_len,
                 "taken on Kafka cluster %.*s; this run reads cluster %s (a development broker "
                 "started again, or another Kafka: its offsets are not the same records)",
                 (int)cluster_len, cluster, state->cluster_id);
        return PP_ERR_INVALID;
    }
    pp_hmap_load(state->offsets, &rd);
    pp_hmap_load(state->resume, &rd);
    pp_intern_load(state->strings, &rd);
    pp_stream_load(state->stream, &rd);
    pp_window_set_load(state->windows, state->strings, &rd);
    if (pp_snap_get_u64(&rd) != CHECKPOINT_END || rd.pos != rd.len)
        pp_snap_fail(&rd, PP_ERR_CORRUPT);
    if ((err = rd.err) != PP_OK)
        snprintf(msg, msg_len, "%s", err == PP_ERR_NOMEM ? "out of memory" : "inconsistent state");
    return err;
}

enum pp_err pp_checkpoint_key(const char *group_id, int32_t partition, unsigned generation,
                              char *key, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    const unsigned char *p;
    int len;

    len = snprintf(key, cap, "_pinpipe/state/");
    if (len < 0 || (size_t)len >= cap)
        return PP_ERR_TOOBIG;
    n = (size_t)len;
    /* A group id may hold anything; a key segment may not ('/', "..",
     * spaces that some tools mangle). */
    for (p = (const unsigned char *)group_id; *p != '\0'; p++) {
        bool is_plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                        (*p >= '0' && *p <= '9') || *p == '-' || *p == '_';
        if (n + 4 >= cap)
            return PP_ERR_TOOBIG;
        if (is_plain) {
            key[n++] = (char)*p;
        } else {
            key[n++] = '%';
            key[n++] = hex[*p >> 4];
            key[n++] = hex[*p & 15];
        }
    }
    if (partition >= 0)
        len = snprintf(key + n, cap - n, "/p%ld/checkpoint-%u.bin.zst", (long)partition,
                       generation % 2);
    else
        len = snprintf(key + n, cap - n, "/checkpoint-%u.bin.zst", generation % 2);
    if (len < 0 || (size_t)len >= cap - n)
        return PP_ERR_TOOBIG;
    return PP_OK;
}
