/*
 * sigv4_sign: a test-only driver of pp_sigv4 for sigv4_diff.py.
 *
 * Reads requests as JSON lines on stdin, one flat object each (pp_json
 * reads top-level fields only):
 *   {"method": "PUT", "path": "/bucket/a b", "region": "eu-west-1",
 *    "time": 1369353600, "akid": "...", "secret": "...", "token": "...",
 *    "body": "...", "unsigned": false,
 *    "np": 2, "p0n": "prefix", "p0v": "x/y", "p1n": "uploads",
 *    "nh": 1, "h0n": "Host", "h0v": "h.example"}
 * ("token" and "pNv" may be absent or null; "body" is hashed with the
 * streaming hasher in uneven chunks, checked against the one-shot hash,
 * unless "unsigned" is true). Prints one JSON line per request:
 *   {"authorization": ..., "amz_date": ..., "content_sha256": ...,
 *    "token_line": true|false, "canonical_request": ..., "string_to_sign": ...}
 * or {"error": "<message>"}. Exit 0, or 1 on a malformed input line.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pp_arena.h"
#include "pp_http.h"
#include "pp_json.h"
#include "pp_sigv4.h"

#define MAX_PARAMS 16
#define MAX_HEADERS 16
#define MAX_LINE (1 << 20)

enum {
    F_METHOD,
    F_PATH,
    F_REGION,
    F_TIME,
    F_AKID,
    F_SECRET,
    F_TOKEN,
    F_BODY,
    F_UNSIGNED,
    F_NP,
    F_NH,
    F_PARAMS,
    F_HEADERS = F_PARAMS + 2 * MAX_PARAMS,
    F_COUNT = F_HEADERS + 2 * MAX_HEADERS,
};

static char field_names[F_COUNT][16];
static struct pp_str names[F_COUNT];

static void make_names(void)
{
    static const char *const fixed[] = {"method", "path", "region",   "time", "akid", "secret",
                                        "token",  "body", "unsigned", "np",   "nh"};

    for (int i = 0; i < F_PARAMS; i++)
        snprintf(field_names[i], sizeof field_names[i], "%s", fixed[i]);
    for (int i = 0; i < MAX_PARAMS; i++) {
        snprintf(field_names[F_PARAMS + 2 * i], sizeof field_names[0], "p%dn", i);
        snprintf(field_names[F_PARAMS + 2 * i + 1], sizeof field_names[0], "p%dv", i);
    }
    for (int i = 0; i < MAX_HEADERS; i++) {
        snprintf(field_names[F_HEADERS + 2 * i], sizeof field_names[0], "h%dn", i);
        snprintf(field_names[F_HEADERS + 2 * i + 1], sizeof field_names[0], "h%dv", i);
    }
    for (int i = 0; i < F_COUNT; i++)
        names[i] = pp_str_make(field_names[i], strlen(field_names[i]));
}

/* A NUL-terminated copy of a string value in the arena, or NULL when the
 * field is absent or null. */
static const char *cstr(struct pp_arena *arena, const struct pp_json_value *v)
{
    char *s;

    if (v->type != PP_JSON_STRING)
        return NULL;
    s = pp_arena_alloc(arena, v->str.len + 1);
    if (s == NULL)
        return NULL;
    memcpy(s, v->str.ptr, v->str.len);
    s[v->str.len] = '\0';
    return s;
}

/* The body's hash, streamed in chunks of 1, 2, 3, ... bytes and checked
 * against the one-shot hash. */
static enum pp_err hash_body(struct pp_sigv4_sha256 *hasher, struct pp_str body, char *hex)
{
    char one_shot[PP_SIGV4_SHA256_HEX_LEN];
    size_t off = 0;
    enum pp_err err;

    for (size_t step = 1; off < body.len; step++) {
        size_t n = body.len - off < step ? body.len - off : step;

        pp_sigv4_sha256_update(hasher, body.ptr + off, n);
        off += n;
    }
    err = pp_sigv4_sha256_final(hasher, hex);
    if (err == PP_OK)
        err = pp_sigv4_sha256_hex(body.ptr, body.len, one_shot);
    if (err == PP_OK && strcmp(hex, one_shot) != 0)
        err = PP_ERR_INTERNAL;
    return err;
}

static enum pp_err put_field(struct pp_buf *out, const char *name, const char *value, bool is_last)
{
    enum pp_err err = pp_buf_printf(out, "\"%s\":\"", name);

    if (err == PP_OK)
        err = pp_http_json_escape_append(out, value, strlen(value));
    if (err == PP_OK)
        err = pp_buf_append_str(out, is_last ? "\"}\n" : "\",");
    return err;
}

/* Signs one request line; appends the answer line to out. PP_ERR_INVALID
 * when the line is not a request. */
static enum pp_err sign_line(struct pp_json_parser *parser, struct pp_sigv4_sha256 *hasher,
                             const char *line, size_t len, size_t capacity, struct pp_buf *out)
{
    struct pp_json_value v[F_COUNT];
    struct pp_sigv4_param params[MAX_PARAMS];
    struct pp_sigv4_header headers[MAX_HEADERS];
    struct pp_sigv4_request req = {0};
    struct pp_sigv4_creds creds = {0};
    struct pp_sigv4_signature sig;
    struct pp_arena arena;
    char payload[PP_SIGV4_SHA256_HEX_LEN];
    char msg[256];
    enum pp_err err = PP_OK;

    pp_arena_init(&arena, 0);
    pp_sigv4_signature_init(&sig);
    if (pp_json_parse_object(parser, line, len, capacity, names, F_COUNT, v, &arena) !=
            PP_JSON_OK ||
        v[F_TIME].type != PP_JSON_INT || v[F_NP].type != PP_JSON_INT ||
        v[F_NH].type != PP_JSON_INT || v[F_NP].i64 < 0 || v[F_NP].i64 > MAX_PARAMS ||
        v[F_NH].i64 < 0 || v[F_NH].i64 > MAX_HEADERS || v[F_BODY].type != PP_JSON_STRING) {
        err = PP_ERR_INVALID;
        goto out;
    }
    req.method = cstr(&arena, &v[F_METHOD]);
    req.path = cstr(&arena, &v[F_PATH]);
    req.region = cstr(&arena, &v[F_REGION]);
    req.time = v[F_TIME].i64;
    creds.access_key_id = cstr(&arena, &v[F_AKID]);
    creds.secret_access_key = cstr(&arena, &v[F_SECRET]);
    creds.session_token = cstr(&arena, &v[F_TOKEN]);
    req.n_params = (size_t)v[F_NP].i64;
    req.n_headers = (size_t)v[F_NH].i64;
    for (size_t i = 0; i < req.n_params; i++) {
        params[i].name = cstr(&arena, &v[F_PARAMS + 2 * i]);
        params[i].value = cstr(&arena, &v[F_PARAMS + 2 * i + 1]);
    }
    for (size_t i = 0; i < req.n_headers; i++) {
        headers[i].name = cstr(&arena, &v[F_HEADERS + 2 * i]);
        headers[i].value = cstr(&arena, &v[F_HEADERS + 2 * i + 1]);
    }
    req.params = params;
    req.headers = headers;
    if (v[F_UNSIGNED].type == PP_JSON_BOOL && v[F_UNSIGNED].b) {
        req.payload_sha256 = PP_SIGV4_UNSIGNED_PAYLOAD;
    } else {
        err = hash_body(hasher, v[F_BODY].str, payload);
        if (err != PP_OK)
            goto out;
        req.payload_sha256 = payload;
    }
    err = pp_sigv4_sign(&req, &creds, &sig, msg, sizeof msg);
    if (err != PP_OK) {
        err = pp_buf_append_str(out, "{");
        if (err == PP_OK)
            err = put_field(out, "error", msg, true);
        goto out;
    }
    err = pp_buf_append_str(out, "{");
    if (err == PP_OK)
        err = put_field(out, "authorization", sig.authorization, false);
    if (err == PP_OK)
        err = put_field(out, "amz_date", sig.amz_date, false);
    if (err == PP_OK)
        err = put_field(out, "content_sha256",
                        sig.header_lines[2] + strlen("x-amz-content-sha256: "), false);
    if (err == PP_OK)
        err = pp_buf_printf(out, "\"token_line\":%s,",
                            sig.header_lines[3] != NULL ? "true" : "false");
    if (err == PP_OK)
        err = put_field(out, "canonical_request", sig.canonical_request, false);
    if (err == PP_OK)
        err = put_field(out, "string_to_sign", sig.string_to_sign, true);
out:
    pp_sigv4_signature_cleanup(&sig);
    pp_arena_cleanup(&arena);
    return err;
}

int main(void)
{
    struct pp_json_parser *parser = pp_json_parser_new(MAX_LINE);
    struct pp_sigv4_sha256 *hasher = NULL;
    struct pp_buf out;
    char *line = NULL;
    char *padded = NULL;
    size_t line_cap = 0;
    ssize_t n;
    int rc = 0;

    make_names();
    pp_buf_init(&out);
    padded = malloc(MAX_LINE + PP_JSON_PADDING);
    if (parser == NULL || padded == NULL || pp_sigv4_sha256_new(&hasher) != PP_OK) {
        fprintf(stderr, "sigv4_sign: out of memory\n");
        return 1;
    }
    for (unsigned line_no = 1; (n = getline(&line, &line_cap, stdin)) > 0; line_no++) {
        size_t len = (size_t)n;
        enum pp_err err;

        if (line[len - 1] == '\n')
            len--;
        if (len > MAX_LINE) {
            fprintf(stderr, "sigv4_sign: line %u is too long\n", line_no);
            rc = 1;
            break;
        }
        memcpy(padded, line, len);
        out.len = 0;
        err = sign_line(parser, hasher, padded, len, len + PP_JSON_PADDING, &out);
        if (err != PP_OK) {
            fprintf(stderr, "sigv4_sign: line %u: %s\n", line_no, pp_err_str(err));
            rc = 1;
            break;
        }
        fwrite(out.data, 1, out.len, stdout);
    }
    fflush(stdout);
    pp_buf_cleanup(&out);
    pp_sigv4_sha256_destroy(hasher);
    pp_json_parser_destroy(parser);
    free(padded);
    free(line);
    return rc;
}
