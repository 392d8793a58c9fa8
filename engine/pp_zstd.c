#include "pp_zstd.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>
#include <zstd_errors.h>

struct pp_zstd_dec {
    ZSTD_DCtx *dctx;
};

struct pp_zstd_enc {
    ZSTD_CCtx *cctx;
};

struct pp_zstd_dec *pp_zstd_dec_new(void)
{
    struct pp_zstd_dec *dec = calloc(1, sizeof *dec);

    if (dec == NULL)
        return NULL;
    dec->dctx = ZSTD_createDCtx();
    if (dec->dctx == NULL) {
        free(dec);
        return NULL;
    }
    return dec;
}

void pp_zstd_dec_destroy(struct pp_zstd_dec *dec)
{
    if (dec == NULL)
        return;
    ZSTD_freeDCtx(dec->dctx);
    free(dec);
}

void pp_zstd_dec_reset(struct pp_zstd_dec *dec)
{
    ZSTD_DCtx_reset(dec->dctx, ZSTD_reset_session_only);
}

enum pp_err pp_zstd_dec_stream(struct pp_zstd_dec *dec, const void *in, size_t in_len,
                               size_t *in_pos, void *out, size_t out_cap, size_t *out_pos,
                               bool *is_frame_end)
{
    ZSTD_inBuffer ib = {in, in_len, *in_pos};
    ZSTD_outBuffer ob = {out, out_cap, *out_pos};
    size_t ret = ZSTD_decompressStream(dec->dctx, &ob, &ib);

    *in_pos = ib.pos;
    *out_pos = ob.pos;
    if (ZSTD_isError(ret))
        return ZSTD_getErrorCode(ret) == ZSTD_error_memory_allocation ? PP_ERR_NOMEM
                                                                      : PP_ERR_CORRUPT;
    *is_frame_end = ret == 0;
    return PP_OK;
}

struct pp_zstd_enc *pp_zstd_enc_new(int level)
{
    struct pp_zstd_enc *enc = calloc(1, sizeof *enc);

    if (enc == NULL)
        return NULL;
    enc->cctx = ZSTD_createCCtx();
    if (enc->cctx == NULL) {
        free(enc);
        return NULL;
    }
    ZSTD_CCtx_setParameter(enc->cctx, ZSTD_c_compressionLevel, level);
    return enc;
}

void pp_zstd_enc_destroy(struct pp_zstd_enc *enc)
{
    if (enc == NULL)
        return;
    ZSTD_freeCCtx(enc->cctx);
    free(enc);
}

static enum pp_err zstd_enc_run(struct pp_zstd_enc *enc, const void *in, size_t len,
                                struct pp_buf *out, ZSTD_EndDirective mode)
{
    ZSTD_inBuffer ib = {in, len, 0};
    size_t ret;
    enum pp_err err;

    do {
        err = pp_buf_reserve(out, ZSTD_CStreamOutSize());
        if (err)
            return err;
        ZSTD_outBuffer ob = {out->data + out->len, out->cap - out->len, 0};
        ret = ZSTD_compressStream2(enc->cctx, &ob, &ib, mode);
        if (ZSTD_isError(ret))
            return ZSTD_getErrorCode(ret) == ZSTD_error_memory_allocation ? PP_ERR_NOMEM
                                                                          : PP_ERR_INTERNAL;
        out->len += ob.pos;
    } while (mode == ZSTD_e_end ? ret != 0 : ib.pos < ib.size);
    return PP_OK;
}

enum pp_err pp_zstd_enc_write(struct pp_zstd_enc *enc, const void *in, size_t len,
                              struct pp_buf *out)
{
    return zstd_enc_run(enc, in, len, out, ZSTD_e_continue);
}

enum pp_err pp_zstd_enc_end(struct pp_zstd_enc *enc, struct pp_buf *out)
{
    return zstd_enc_run(enc, NULL, 0, out, ZSTD_e_end);
}

enum pp_err pp_zstd_compress(struct pp_zstd_enc *enc, const void *in, size_t len,
                             struct pp_buf *out)
{
    size_t bound = ZSTD_compressBound(len);
    size_t ret;
    enum pp_err err = pp_buf_reserve(out, bound);

    if (err)
        return err;
    ret = ZSTD_compress2(enc->cctx, out->data + out->len, bound, in, len);
    if (ZSTD_isError(ret))
        return ZSTD_getErrorCode(ret) == ZSTD_error_memory_allocation ? PP_ERR_NOMEM
                                                                      : PP_ERR_INTERNAL;
    out->len += ret;
    return PP_OK;
}

/* One frame whose size its header gives (what pp_zstd_compress() writes),
 * in one call, into room made for exactly that. */
static enum pp_err zstd_decompress_sized(const void *data, size_t len, unsigned long long size,
                                         struct pp_buf *out)
{
    enum pp_err err;
    size_t ret;

    if ((err = pp_buf_reserve(out, (size_t)size)) != PP_OK)
        return err;
    ret = ZSTD_decompress(out->data + out->len, (size_t)size, data, len);
    if (ZSTD_isError(ret))
        return ZSTD_getErrorCode(ret) == ZSTD_error_memory_allocation ? PP_ERR_NOMEM
                                                                      : PP_ERR_CORRUPT;
    if (ret != size)
        return PP_ERR_CORRUPT;
    out->len += ret;
    return PP_OK;
}

enum pp_err pp_zstd_decompress(const void *data, size_t len, struct pp_buf *out)
{
    struct pp_zstd_dec *dec;
    size_t in_pos = 0;
    bool is_end = false;
    enum pp_err err = PP_OK;
    unsigned long long size;

    if (!pp_zstd_is_frame(data, len))
        return PP_ERR_CORRUPT;
    /* A size beyond what the bytes could plausibly hold is left to the
     * stream below, which makes room as the output comes. */
    size = ZSTD_getFrameContentSize(data, len);
    if (size != ZSTD_CONTENTSIZE_UNKNOWN && size != ZSTD_CONTENTSIZE_ERROR &&
        size <= (unsigned long long)len * 1024 && ZSTD_findFrameCompressedSize(data, len) == len)
        return zstd_decompress_sized(data, len, size, out);
    if ((dec = pp_zstd_dec_new()) == NULL)
        return PP_ERR_NOMEM;
    while (err == PP_OK && in_pos < len) {
        if ((err = pp_buf_reserve(out, len * 4 + (1 << 16))) != PP_OK)
            break;
        err = pp_zstd_dec_stream(dec, data, len, &in_pos, out->data, out->cap, &out->len, &is_end);
    }
    /* Output may still be buffered inside zstd with the input used up. */
    while (err == PP_OK && !is_end) {
        size_t before = out->len;
        if ((err = pp_buf_reserve(out, 1 << 20)) != PP_OK)
            break;
        err = pp_zstd_dec_stream(dec, data, len, &in_pos, out->data, out->cap, &out->len, &is_end);
        if (err == PP_OK && !is_end && out->len == before)
            err = PP_ERR_CORRUPT; /* truncated */
    }
    pp_zstd_dec_destroy(dec);
    return err;
}

bool pp_zstd_is_frame(const void *buf, size_t len)
{
    static const unsigned char magic[4] = {0x28, 0xB5, 0x2F, 0xFD};

    return len >= 4 && memcmp(buf, magic, 4) == 0;
}

long pp_zstd_frame_count(const void *buf, size_t len)
{
    const char *p = buf;
    long n = 0;

    while (len > 0) {
        size_t size = ZSTD_findFrameCompressedSize(p, len);
        if (ZSTD_isError(size))
            return -1;
        p += size;
        len -= size;
        n++;
    }
    return n;
}
