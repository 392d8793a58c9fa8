#include "pp_batch.h"

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
    batch->cap = cap;
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

void pp_batch_reset(struct pp_batch *batch)
{
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
