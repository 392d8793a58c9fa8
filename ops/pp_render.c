#include "pp_render.h"

#include <stdlib.h>
#include <string.h>

#include "pp_clean.h"

#define RENDER_TRY(expr)                                                                           \
    do {                                                                                           \
        if ((err = (expr)))                                                                        \
            return err;                                                                            \
    } while (0)

enum pp_err pp_render_parse_format(const char *name, enum pp_render_format *format)
{
    if (strcmp(name, "table") == 0)
        *format = PP_RENDER_TABLE;
    else if (strcmp(name, "csv") == 0)
        *format = PP_RENDER_CSV;
    else if (strcmp(name, "json") == 0)
        *format = PP_RENDER_JSON;
    else
        return PP_ERR_NOTFOUND;
    return PP_OK;
}

enum pp_err pp_render_number(const struct pp_cell *c, struct pp_buf *out)
{
    if (c->type == PP_CELL_MEDIAN && c->is_half) {
        /* The value is i + 0.5; for negative i that is -(|i| - 1).5. */
        if (c->i >= 0)
            return pp_buf_printf(out, "%lld.5", (long long)c->i);
        return pp_buf_printf(out, "-%lld.5", -((long long)c->i + 1));
    }
    return pp_buf_append_int(out, c->i);
}

static enum pp_err render_cell_text(const struct pp_cell *c, struct pp_buf *out)
{
    if (c->type == PP_CELL_TEXT)
        return pp_buf_append(out, c->text.ptr, c->text.len);
    return pp_render_number(c, out);
}

/* ---- JSON ----------------------------------------------------------------- */

static enum pp_err render_json_counts(struct pp_buf *out, const char *name,
                                      const uint64_t per_topic[PP_TOPIC_COUNT])
{
    enum pp_err err;
    int t;

    RENDER_TRY(pp_buf_printf(out, "\"%s\":{", name));
    for (t = 0; t < PP_TOPIC_COUNT; t++)
        RENDER_TRY(pp_buf_printf(out, "%s\"%s\":%llu", t ? "," : "",
                                 pp_topic_name((enum pp_topic)t),
                                 (unsigned long long)per_topic[t]));
    return pp_buf_append(out, "}", 1);
}

enum pp_err pp_render_queries_json(const struct pp_table *tables, size_t n, struct pp_buf *out)
{
    enum pp_err err;
    size_t q;
    size_t r;
    size_t c;

    RENDER_TRY(pp_buf_append_str(out, "{"));
    for (q = 0; q < n; q++) {
        const struct pp_table *tb = &tables[q];
        RENDER_TRY(pp_buf_printf(out, "%s\n\"%s\":{\"columns\":[", q ? "," : "", tb->name));
        for (c = 0; c < tb->n_cols; c++)
            RENDER_TRY(pp_buf_printf(out, "%s\"%s\"", c ? "," : "", tb->columns[c]));
        RENDER_TRY(pp_buf_append_str(out, "],\"rows\":["));
        for (r = 0; r < tb->n_rows; r++) {
            RENDER_TRY(pp_buf_append_str(out, r ? ",[" : "["));
            for (c = 0; c < tb->n_cols; c++) {
                const struct pp_cell *cell = &tb->cells[r * tb->n_cols + c];
                if (c)
                    RENDER_TRY(pp_buf_append(out, ",", 1));
                if (cell->type == PP_CELL_TEXT)
                    RENDER_TRY(pp_clean_json_string(out, cell->text));
                else
                    RENDER_TRY(pp_render_number(cell, out));
            }
            RENDER_TRY(pp_buf_append(out, "]", 1));
        }
        RENDER_TRY(pp_buf_append_str(out, "]}"));
    }
    return pp_buf_append_str(out, "}");
}

enum pp_err pp_render_input_json(const struct pp_render_input *in, struct pp_buf *out)
{
    enum pp_err err;
    int t;
    int k;

    RENDER_TRY(pp_buf_append_str(out, "{"));
    {
        const struct pp_post_counts *cnt = in->counts;
        RENDER_TRY(
            pp_buf_printf(out,
                          "\"objects\":%llu,\"corrupt_objects\":%llu,"
                          "\"ignored_files\":%llu,\"bytes\":%llu,",
                          (unsigned long long)in->objects, (unsigned long long)in->corrupt_objects,
                          (unsigned long long)in->ignored_files, (unsigned long long)in->bytes));
        RENDER_TRY(render_json_counts(out, "records", cnt->records));
        RENDER_TRY(pp_buf_append_str(out, ",\"rejected\":{"));
        for (t = 0; t < PP_TOPIC_COUNT; t++) {
            bool is_first = true;
            RENDER_TRY(
                pp_buf_printf(out, "%s\"%s\":{", t ? "," : "", pp_topic_name((enum pp_topic)t)));
            for (k = 1; k < PP_REJECT_COUNT; k++) {
                if (cnt->rejected[t][k] == 0)
                    continue;
                RENDER_TRY(pp_buf_printf(out, "%s\"%s\":%llu", is_first ? "" : ",",
                                         pp_reject_name((enum pp_reject)k),
                                         (unsigned long long)cnt->rejected[t][k]));
                is_first = false;
            }
            RENDER_TRY(pp_buf_append(out, "}", 1));
        }
        RENDER_TRY(pp_buf_append_str(out, "},"));
        RENDER_TRY(render_json_counts(out, "duplicates", cnt->duplicates));
        RENDER_TRY(pp_buf_printf(out, ",\"posts\":%llu,", (unsigned long long)in->posts));
        RENDER_TRY(render_json_counts(out, "orphans", in->orphans));
    }
    return pp_buf_append_str(out, "}");
}

static enum pp_err render_json(const struct pp_table *tables, size_t n,
                               const struct pp_render_input *in, struct pp_buf *out)
{
    enum pp_err err;

    RENDER_TRY(pp_buf_append_str(out, "{\"queries\":"));
    RENDER_TRY(pp_render_queries_json(tables, n, out));
    RENDER_TRY(pp_buf_append_str(out, ",\n\"input\":"));
    if (in != NULL)
        RENDER_TRY(pp_render_input_json(in, out));
    else
        RENDER_TRY(pp_buf_append_str(out, "{}"));
    return pp_buf_append_str(out, "}\n");
}

/* ---- CSV ------------------------------------------------------------------ */

static enum pp_err render_csv_field(struct pp_buf *out, const char *s, size_t len)
{
    enum pp_err err;
    size_t i;

    if (len == 0 || (strcspn(s, ",\"\r\n") >= len && s[0] != ' ' && s[len - 1] != ' '))
        return pp_buf_append(out, s, len);
    RENDER_TRY(pp_buf_append(out, "\"", 1));
    for (i = 0; i < len; i++) {
        if (s[i] == '"')
            RENDER_TRY(pp_buf_append(out, "\"\"", 2));
        else
            RENDER_TRY(pp_buf_append(out, &s[i], 1));
    }
    return pp_buf_append(out, "\"", 1);
}

static enum pp_err render_csv(const struct pp_table *tables, size_t n, struct pp_buf *out)
{
    struct pp_buf tmp;
    enum pp_err err = PP_OK;
    size_t q;
    size_t r;
    size_t c;

    pp_buf_init(&tmp);
    for (q = 0; q < n && !err; q++) {
        const struct pp_table *tb = &tables[q];
        err = pp_buf_printf(out, "%s# %s\n", q ? "\n" : "", tb->name);
        for (c = 0; c < tb->n_cols && !err; c++)
            err = pp_buf_printf(out, "%s%s", c ? "," : "", tb->columns[c]);
        if (!err)
            err = pp_buf_append(out, "\n", 1);
        for (r = 0; r < tb->n_rows && !err; r++) {
            for (c = 0; c < tb->n_cols && !err; c++) {
                tmp.len = 0;
                if (c)
                    err = pp_buf_append(out, ",", 1);
                if (!err)
                    err = render_cell_text(&tb->cells[r * tb->n_cols + c], &tmp);
                if (!err)
                    err = render_csv_field(out, tmp.data ? tmp.data : "", tmp.len);
            }
            if (!err)
                err = pp_buf_append(out, "\n", 1);
        }
    }
    pp_buf_cleanup(&tmp);
    return err;
}

/* ---- table ---------------------------------------------------------------- */

/* Display width: UTF-8 code points (continuation bytes do not count). */
static size_t render_width(const char *s, size_t len)
{
    size_t w = 0;
    size_t i;

    for (i = 0; i < len; i++)
        w += ((unsigned char)s[i] & 0xC0) != 0x80;
    return w;
}

static enum pp_err render_pad(struct pp_buf *out, size_t n)
{
    enum pp_err err;

    while (n--)
        RENDER_TRY(pp_buf_append(out, " ", 1));
    return PP_OK;
}

static enum pp_err render_table_one(const struct pp_table *tb, struct pp_buf *out)
{
    struct pp_buf tmp;
    size_t *width = calloc(tb->n_cols, sizeof *width);
    enum pp_err err = PP_OK;
    size_t r;
    size_t c;

    if (width == NULL)
        return PP_ERR_NOMEM;
    pp_buf_init(&tmp);
    for (c = 0; c < tb->n_cols; c++)
        width[c] = strlen(tb->columns[c]);
    for (r = 0; r < tb->n_rows && !err; r++) {
        for (c = 0; c < tb->n_cols && !err; c++) {
            tmp.len = 0;
            err = render_cell_text(&tb->cells[r * tb->n_cols + c], &tmp);
            size_t w = render_width(tmp.data ? tmp.data : "", tmp.len);
            if (w > width[c])
                width[c] = w;
        }
    }
    if (!err)
        err = pp_buf_printf(out, "%s\n", tb->name);
    for (c = 0; c < tb->n_cols && !err; c++) {
        err = pp_buf_printf(out, "%s%s", c ? "  " : "", tb->columns[c]);
        if (!err && c + 1 < tb->n_cols)
            err = render_pad(out, width[c] - strlen(tb->columns[c]));
    }
    if (!err)
        err = pp_buf_append(out, "\n", 1);
    for (c = 0; c < tb->n_cols && !err; c++) {
        size_t i;
        err = pp_buf_append_str(out, c ? "  " : "");
        for (i = 0; i < width[c] && !err; i++)
            err = pp_buf_append(out, "-", 1);
    }
    if (!err)
        err = pp_buf_append(out, "\n", 1);
    for (r = 0; r < tb->n_rows && !err; r++) {
        for (c = 0; c < tb->n_cols && !err; c++) {
            const struct pp_cell *cell = &tb->cells[r * tb->n_cols + c];
            tmp.len = 0;
            err = render_cell_text(cell, &tmp);
            size_t w = render_width(tmp.data ? tmp.data : "", tmp.len);
            if (!err && c)
                err = pp_buf_append(out, "  ", 2);
            /* Numbers align right, text left (the last column unpadded). */
            if (!err && cell->type != PP_CELL_TEXT)
                err = render_pad(out, width[c] - w);
            if (!err)
                err = pp_buf_append(out, tmp.data ? tmp.data : "", tmp.len);
            if (!err && cell->type == PP_CELL_TEXT && c + 1 < tb->n_cols)
                err = render_pad(out, width[c] - w);
        }
        if (!err)
            err = pp_buf_append(out, "\n", 1);
    }
    if (!err)
        err = pp_buf_printf(out, "(%zu row%s)\n", tb->n_rows, tb->n_rows == 1 ? "" : "s");
    pp_buf_cleanup(&tmp);
    free(width);
    return err;
}

enum pp_err pp_render(enum pp_render_format format, const struct pp_table *tables, size_t n,
                      const struct pp_render_input *input, struct pp_buf *out)
{
    enum pp_err err;
    size_t q;

    switch (format) {
    case PP_RENDER_JSON: return render_json(tables, n, input, out);
    case PP_RENDER_CSV: return render_csv(tables, n, out);
    case PP_RENDER_TABLE:
        for (q = 0; q < n; q++) {
            if (q)
                RENDER_TRY(pp_buf_append(out, "\n", 1));
            RENDER_TRY(render_table_one(&tables[q], out));
        }
        return PP_OK;
    }
    return PP_ERR_INVALID;
}
