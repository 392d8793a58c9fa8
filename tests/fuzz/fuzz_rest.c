/*
 * fuzz_rest: one input is the body of a REST Proxy v2 produce request
 * (POST /topics/{topic}), parsed the way pp_rest's handler does: copied
 * with PP_JSON_PADDING spaces after it, then pp_json_parse_produce().
 *
 * Checked beyond "no crash":
 *  - an accepted body is JSON for an independent checker
 *    (fuzz_json_strict.h), and a body that is not UTF-8 is refused as
 *    such;
 *  - a refused body gets one line of message that pp_rest answers in a
 *    422 error body, and that body is valid JSON;
 *  - an accepted body's records re-read the same: each value and key is
 *    JSON text that, put back in a body, parses to the same text (the
 *    whitespace removal is idempotent and keeps the value valid), and the
 *    "index"/"ind" join keys come out with a type the value can hold.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_json_strict.h"
#include "pp_arena.h"
#include "pp_http.h"
#include "pp_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct pp_json_parser *fuzz_parser;

/* A copy of body[0..len) followed by exactly PP_JSON_PADDING spaces, in
 * its own allocation so that ASan sees a read past the padding. */
static char *fuzz_padded(const void *body, size_t len)
{
    char *copy = malloc(len + PP_JSON_PADDING);

    if (copy == NULL)
        abort();
    memcpy(copy, body, len);
    memset(copy + len, ' ', PP_JSON_PADDING);
    return copy;
}

static bool fuzz_is_json_object(const char *text, size_t len)
{
    char *copy = fuzz_padded(text, len);
    struct pp_arena arena;
    enum pp_json_status st;

    pp_arena_init(&arena, 0);
    st = pp_json_parse_object(fuzz_parser, copy, len, len + PP_JSON_PADDING, NULL, 0, NULL, &arena);
    pp_arena_cleanup(&arena);
    free(copy);
    return st == PP_JSON_OK;
}

/* The answer pp_rest gives a refused body. */
static void fuzz_check_refusal(const char *msg)
{
    struct pp_http_response resp;

    if (strlen(msg) == 0 || strchr(msg, '\n') != NULL)
        abort();
    memset(&resp, 0, sizeof resp);
    pp_buf_init(&resp.body);
    pp_buf_init(&resp.headers);
    if (pp_http_response_error(&resp, 422, 42201, "%s", msg) != PP_OK)
        abort();
    if (!fuzz_is_json_object(resp.body.data, resp.body.len))
        abort();
    pp_buf_cleanup(&resp.body);
    pp_buf_cleanup(&resp.headers);
}

static void fuzz_check_join_key(const struct pp_json_value *v)
{
    switch (v->type) {
    case PP_JSON_ABSENT:
    case PP_JSON_NULL:
    case PP_JSON_BOOL:
    case PP_JSON_INT:
    case PP_JSON_BIGINT:
    case PP_JSON_DOUBLE:
    case PP_JSON_ARRAY:
    case PP_JSON_OBJECT: return;
    case PP_JSON_STRING:
        if (v->str.ptr == NULL)
            abort();
        return;
    }
    abort();
}

static bool fuzz_same(struct pp_str a, struct pp_str b)
{
    if (a.ptr == NULL || b.ptr == NULL)
        return a.ptr == b.ptr;
    return a.len == b.len && memcmp(a.ptr, b.ptr, a.len) == 0;
}

/* Puts one record back in a body and parses it again. */
static void fuzz_check_reparse(const struct pp_json_produce_record *rec)
{
    struct pp_json_produce_record *again;
    struct pp_arena arena;
    struct pp_buf body;
    size_t n;
    char msg[256];
    char *copy;

    pp_buf_init(&body);
    pp_arena_init(&arena, 0);
    if (pp_buf_append_str(&body, "{\"records\":[{\"value\":") ||
        (rec->value.ptr != NULL ? pp_buf_append(&body, rec->value.ptr, rec->value.len)
                                : pp_buf_append_str(&body, "null")))
        abort();
    if (rec->key.ptr != NULL &&
        (pp_buf_append_str(&body, ",\"key\":") || pp_buf_append(&body, rec->key.ptr, rec->key.len)))
        abort();
    if (pp_buf_append_str(&body, "}]}"))
        abort();
    copy = fuzz_padded(body.data, body.len);
    if (pp_json_parse_produce(fuzz_parser, copy, body.len, body.len + PP_JSON_PADDING, &arena,
                              &again, &n, msg, sizeof msg) != PP_JSON_OK ||
        n != 1)
        abort();
    if (!fuzz_same(again->value, rec->value) || !fuzz_same(again->key, rec->key))
        abort();
    if (again->index.type != rec->index.type || again->ind.type != rec->ind.type)
        abort();
    free(copy);
    pp_arena_cleanup(&arena);
    pp_buf_cleanup(&body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pp_json_produce_record *recs;
    struct pp_arena arena;
    enum pp_json_status st;
    char msg[256] = "";
    size_t n = 0;
    char *copy;

    if (fuzz_parser == NULL && (fuzz_parser = pp_json_parser_new(1 << 20)) == NULL)
        abort();
    copy = fuzz_padded(data, size);
    pp_arena_init(&arena, 0);
    st = pp_json_parse_produce(fuzz_parser, copy, size, size + PP_JSON_PADDING, &arena, &recs, &n,
                               msg, sizeof msg);
    if (!fuzz_utf8_valid(data, size) && st != PP_JSON_INVALID_UTF8 && st != PP_JSON_NOMEM)
        abort();
    switch (st) {
    case PP_JSON_OK:
        if (fuzz_json_check(data, size) == FUZZ_JSON_INVALID)
            abort();
        for (size_t i = 0; i < n; i++) {
            if (recs[i].value.ptr != NULL && recs[i].value.len == 0)
                abort();
            fuzz_check_join_key(&recs[i].index);
            fuzz_check_join_key(&recs[i].ind);
            fuzz_check_join_key(&recs[i].partition);
            fuzz_check_reparse(&recs[i]);
        }
        break;
    case PP_JSON_INVALID:
    case PP_JSON_INVALID_UTF8:
    case PP_JSON_NOT_OBJECT: fuzz_check_refusal(msg); break;
    case PP_JSON_NOMEM: break;
    default: abort();
    }
    pp_arena_cleanup(&arena);
    free(copy);
    return 0;
}
