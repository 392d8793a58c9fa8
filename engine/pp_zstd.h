/*
 * pp_zstd: the only module that talks to libzstd.
 *
 * Streaming decompression for the lake reader and streaming compression for
 * lake writers. Each context belongs to one thread. zstd errors become
 * PP_ERR_CORRUPT (bad input) or PP_ERR_NOMEM / PP_ERR_INTERNAL.
 */
#ifndef PP_ZSTD_H
#define PP_ZSTD_H

#include <stdbool.h>
#include <stddef.h>

#include "pp_arena.h"
#include "pp_err.h"

struct pp_zstd_dec;
struct pp_zstd_enc;

/* Returns NULL when out of memory. */
struct pp_zstd_dec *pp_zstd_dec_new(void);
/* Accepts NULL. */
void pp_zstd_dec_destroy(struct pp_zstd_dec *dec);
/* Starts a new stream (a new object). */
void pp_zstd_dec_reset(struct pp_zstd_dec *dec);

/*
 * Decompresses in[*in_pos..in_len) into out[*out_pos..out_cap), advancing both
 * positions. Stops when the input is used up or the output is full.
 * *is_frame_end is set when the last call ended exactly at a frame boundary
 * (so a stream that ends with it false is truncated).
 * Returns PP_OK or PP_ERR_CORRUPT.
 */
enum pp_err pp_zstd_dec_stream(struct pp_zstd_dec *dec, const void *in, size_t in_len,
                               size_t *in_pos, void *out, size_t out_cap, size_t *out_pos,
                               bool *is_frame_end);

/* level: 1..19 (0 = zstd default 3). Returns NULL when out of memory. */
struct pp_zstd_enc *pp_zstd_enc_new(int level);
/* Accepts NULL. */
void pp_zstd_enc_destroy(struct pp_zstd_enc *enc);

/* Compresses len bytes, appending compressed output to out. */
enum pp_err pp_zstd_enc_write(struct pp_zstd_enc *enc, const void *in, size_t len,
                              struct pp_buf *out);
/* Ends the frame, appending the rest to out; enc is then ready for a new
 * frame. */
enum pp_err pp_zstd_enc_end(struct pp_zstd_enc *enc, struct pp_buf *out);

/* Compresses len bytes as one whole frame, appending it to out. Knowing
 * the size up front lets zstd size its tables to the input, which makes
 * small frames much cheaper than through pp_zstd_enc_write/_end. enc must
 * be between frames. */
enum pp_err pp_zstd_compress(struct pp_zstd_enc *enc, const void *in, size_t len,
                             struct pp_buf *out);

/* Decompresses the zstd frame data[0 .. len), whole, appending it to out.
 * PP_OK; PP_ERR_CORRUPT for bytes that are not a frame or a cut one;
 * PP_ERR_NOMEM. */
enum pp_err pp_zstd_decompress(const void *data, size_t len, struct pp_buf *out);

/* True when the bytes start with the zstd frame magic number. */
bool pp_zstd_is_frame(const void *buf, size_t len);

/* The number of whole zstd frames buf[0 .. len) holds, one after the
 * other; -1 when it is not such a sequence (a cut or foreign byte). */
long pp_zstd_frame_count(const void *buf, size_t len);

#endif
