/*
 * pp_render: query results as text: an aligned table for people, CSV, and
 * the JSON document of SPEC 8 / docs/semantics.md. Pure functions.
 */
#ifndef PP_RENDER_H
#define PP_RENDER_H

#include <stddef.h>
#include <stdint.h>

#include "pp_arena.h"
#include "pp_post.h"
#include "pp_query.h"

enum pp_render_format { PP_RENDER_TABLE, PP_RENDER_CSV, PP_RENDER_JSON };

/* The "input" object of the JSON output. */
struct pp_render_input {
    uint64_t objects;
    uint64_t corrupt_objects; /* skipped with --skip-corrupt */
    uint64_t ignored_files;
    uint64_t bytes; /* bytes of records, after decompression */
    const struct pp_post_counts *counts;
    uint64_t posts;
    uint64_t orphans[PP_TOPIC_COUNT];
};

/* PP_OK and *format, or PP_ERR_NOTFOUND for an unknown name. */
enum pp_err pp_render_parse_format(const char *name, enum pp_render_format *format);

/* Appends the tables (and, for JSON, the input counts; input may be NULL
 * for the other formats) to out. */
enum pp_err pp_render(enum pp_render_format format, const struct pp_table *tables, size_t n,
                      const struct pp_render_input *input, struct pp_buf *out);

/* The pieces of the JSON document, for other documents (the HTTP API):
 * the "queries" object {name: {"columns": [...], "rows": [...]}, ...} and
 * the "input" object of counts. */
enum pp_err pp_render_queries_json(const struct pp_table *tables, size_t n, struct pp_buf *out);
enum pp_err pp_render_input_json(const struct pp_render_input *input, struct pp_buf *out);

/* Appends one cell's text as JSON would show it (medians "5500.5"). */
enum pp_err pp_render_number(const struct pp_cell *cell, struct pp_buf *out);

#endif
