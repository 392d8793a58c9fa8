#include "pp_batch.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct pp_batch *pp_batch_new(size_t cap)
{
    struct pp_batch *batch = calloc(1, sizeof *batch);

    if (batch == NULL)
        return NULL;
    batch->data = malloc(cap + PP_BATCH_PADDING);
    if (batch->data == NULL) {
        free(batch);
        return NULL;
    }
    /* The padding is read by SIMD loads past the last record: keep it
     * initialised so sanitizers and valgrind see defined bytes. */
    memset(batch->data + cap, ' ', PP_BATCH_PADDING);
    batch->cap = batch->base_cap = cap;
    pp_buf_init(&batch->out);
    pp_arena_init(&batch->arena, 0);
    pp_buf_init(&batch->aux);
    pp_buf_init(&batch->aux_bytes);
    return batch;
}

void pp_batch_destroy(struct pp_batch *batch)
{
    if (batch == NULL)
        return;
    free(batch->data);
    free(batch->spans);
    pp_buf_cleanup(&batch->out);
    pp_arena_cleanup(&batch->arena);
    pp_buf_cleanup(&batch->aux);
    pp_buf_cleanup(&batch->aux_bytes);
    free(batch);
}

/* data resized to cap bytes plus the padding, initialised as pp_batch_new
 * does. */
static enum pp_err batch_resize(struct pp_batch *batch, size_t cap)
{
    char *data = realloc(batch->data, cap + PP_BATCH_PADDING);

    if (data == NULL)
        return PP_ERR_NOMEM;
    batch->data = data;
    batch->cap = cap;
    memset(batch->data + cap, ' ', PP_BATCH_PADDING);
    return PP_OK;
}

enum pp_err pp_batch_grow(struct pp_batch *batch, size_t cap)
{
    if (cap <= batch->cap)
        return PP_OK;
    if (cap > SIZE_MAX - PP_BATCH_PADDING)
        return PP_ERR_NOMEM;
    return batch_resize(batch, cap);
}

void pp_batch_reset(struct pp_batch *batch)
{
    /* A grown batch gives its memory back (a shrink that fails keeps the
     * larger buffer, which is still correct). */
    if (batch->cap != batch->base_cap)
        (void)batch_resize(batch, batch->base_cap);
    batch->len = 0;
    batch->n_spans = 0;
    batch->out.len = 0;
    batch->n_out = 0;
    pp_arena_reset(&batch->arena);
    batch->aux.len = 0;
    batch->n_aux = 0;
    batch->aux_bytes.len = 0;
}

enum pp_err pp_batch_add_span(struct pp_batch *batch, const struct pp_batch_span *span)
{
    struct pp_batch_span *spans =
        pp_array_reserve(batch->spans, &batch->spans_cap, batch->n_spans, sizeof *spans, 16);

    if (spans == NULL)
        return PP_ERR_NOMEM;
    batch->spans = spans;
    batch->spans[batch->n_spans++] = *span;
    return PP_OK;
}
