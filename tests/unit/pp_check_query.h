/*
 * pp_check_query: what the tests of pp_query and pp_window share to compare
 * query answers and to move posts between string tables (test_query.c,
 * test_window.c).
 */
#ifndef PP_CHECK_QUERY_H
#define PP_CHECK_QUERY_H

#include <check.h>
#include <inttypes.h>
#include <stdio.h>

#include "pp_post.h"
#include "pp_query.h"

/* A cell as text: medians of i + 0.5 printed from 2i + 1. */
static inline void pp_check_cell_text(const struct pp_cell *cell, char *out, size_t cap)
{
    switch (cell->type) {
    case PP_CELL_TEXT: snprintf(out, cap, "%.*s", (int)cell->text.len, cell->text.ptr); return;
    case PP_CELL_INT: snprintf(out, cap, "%" PRId64, cell->i); return;
    case PP_CELL_MEDIAN:
        if (!cell->is_half) {
            snprintf(out, cap, "%" PRId64, cell->i);
        } else {
            long double twice = 2.0L * (long double)cell->i + 1.0L;
            snprintf(out, cap, "%s%.0Lf.5", twice < 0 ? "-" : "",
                     ((twice < 0 ? -twice : twice) - 1.0L) / 2.0L);
        }
        return;
    }
    snprintf(out, cap, "?");
}

/* Two tables of the same query, cell by cell (type, value, text). */
static inline void pp_check_tables_equal(const struct pp_table *got, const struct pp_table *want,
                                         const char *where)
{
    size_t k;

    ck_assert_int_eq(got->id, want->id);
    ck_assert_uint_eq(got->n_cols, want->n_cols);
    ck_assert_msg(got->n_rows == want->n_rows, "%s %s: %zu rows, want %zu", where, want->name,
                  got->n_rows, want->n_rows);
    for (k = 0; k < got->n_rows * got->n_cols; k++) {
        const struct pp_cell *a = &got->cells[k], *b = &want->cells[k];
        char ga[64], wb[64];

        pp_check_cell_text(a, ga, sizeof ga);
        pp_check_cell_text(b, wb, sizeof wb);
        ck_assert_msg(a->type == b->type && a->i == b->i && a->is_half == b->is_half &&
                          pp_str_eq(a->text, b->text),
                      "%s %s: cell %zu is \"%s\", want \"%s\"", where, want->name, k, ga, wb);
    }
}

/* The post with its text ids taken from one string table to another (as a
 * shard with strings of its own would intern them). */
static inline struct pp_post pp_check_post_into(const struct pp_post *p,
                                                const struct pp_intern *from, struct pp_intern *to)
{
    struct pp_post q = *p;
    uint32_t *ids[] = {&q.category, &q.poster_name, &q.country, &q.user_name};
    size_t i;

    for (i = 0; i < sizeof ids / sizeof ids[0]; i++)
        ck_assert_int_eq(pp_intern_id(to, pp_intern_str(from, *ids[i]), ids[i]), PP_OK);
    return q;
}

#endif
