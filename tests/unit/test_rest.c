/*
 * Unit tests of the REST proxy: pp_json_parse_produce on produce bodies
 * (value kinds, escapes, keys, partitions, errors), and pp_rest end to end
 * against an in-process development broker, through pp_http on a loopback
 * port 0, spoken to with pp_httpc (libcurl): status codes 200, 401, 404,
 * 413, 415, 422 and the Confluent answer shapes, keying by index/ind,
 * explicit partitions, concurrent posts, delivery timeouts, counters.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pp_arena.h"
#include "pp_check.h"
#include "pp_emulate.h"
#include "pp_http.h"
#include "pp_httpc.h"
#include "pp_json.h"
#include "pp_kafka.h"
#include "pp_rest.h"

#define PARTITIONS 4
#define TOKEN "rest-test-token"
#define V2_JSON "application/vnd.kafka.json.v2+json"

/* ---- pp_json_parse_produce ---- */

struct pctx {
    struct pp_json_parser *parser;
    struct pp_arena arena;
    char *buf;
    size_t len;
    struct pp_json_produce_record *recs;
    size_t n;
    char msg[256];
};

static void pctx_init(struct pctx *c)
{
    memset(c, 0, sizeof *c);
    c->parser = pp_json_parser_new(1 << 20);
    ck_assert_ptr_nonnull(c->parser);
    pp_arena_init(&c->arena, 0);
}

static void pctx_cleanup(struct pctx *c)
{
    pp_json_parser_destroy(c->parser);
    pp_arena_cleanup(&c->arena);
    free(c->buf);
}

static enum pp_json_status pparse_len(struct pctx *c, const char *text, size_t len)
{
    free(c->buf);
    c->buf = pp_check_copy(text, len, PP_JSON_PADDING, ' ');
    c->len = len;
    c->msg[0] = '\0';
    return pp_json_parse_produce(c->parser, c->buf, len, len + PP_JSON_PADDING, &c->arena, &c->recs,
                                 &c->n, c->msg, sizeof c->msg);
}

static enum pp_json_status pparse(struct pctx *c, const char *text)
{
    return pparse_len(c, text, strlen(text));
}

static void expect_str(struct pp_str s, const char *want)
{
    ck_assert_msg(s.ptr != NULL, "NULL view, want '%s'", want);
    ck_assert_msg(pp_str_eq_cstr(s, want), "got '%.*s', want '%s'", (int)s.len, s.ptr, want);
}

START_TEST(test_parse_simple)
{
    struct pctx c;

    pctx_init(&c);
    ck_assert_int_eq(pparse(&c, "{\"records\": [{\"value\": {\"index\": 7, \"title\": \"a b\", "
                                "\"n\": [1, 2]}}]}"),
                     PP_JSON_OK);
    ck_assert_uint_eq(c.n, 1);
    expect_str(c.recs[0].value, "{\"index\":7,\"title\":\"a b\",\"n\":[1,2]}");
    ck_assert_int_eq(c.recs[0].index.type, PP_JSON_INT);
    ck_assert_int_eq(c.recs[0].index.i64, 7);
    ck_assert_int_eq(c.recs[0].ind.type, PP_JSON_ABSENT);
    ck_assert_ptr_null(c.recs[0].key.ptr);
    ck_assert_int_eq(c.recs[0].partition.type, PP_JSON_ABSENT);

    /* Without whitespace the value is borrowed from the body. */
    ck_assert_int_eq(pparse(&c, "{\"records\":[{\"value\":{\"ind\":3,\"x\":\"y z\"}}]}"),
                     PP_JSON_OK);
    expect_str(c.recs[0].value, "{\"ind\":3,\"x\":\"y z\"}");
    ck_assert(c.recs[0].value.ptr >= c.buf && c.recs[0].value.ptr < c.buf + c.len);
    ck_assert_int_eq(c.recs[0].ind.type, PP_JSON_INT);
    ck_assert_int_eq(c.recs[0].ind.i64, 3);
    pctx_cleanup(&c);
}
END_TEST

START_TEST(test_parse_value_kinds)
{
    static const struct {
        const char *value;
        const char *want; /* NULL: a NULL view (JSON null) */
    } cases[] = {
        {"{\"a\" : {\"b\" : [ 1 , {\"c\" : \"d \\\" e\"} ] } }",
         "{\"a\":{\"b\":[1,{\"c\":\"d \\\" e\"}]}}"},
        {"\"x y\"", "\"x y\""},
        {" 12.5e3 ", "12.5e3"},
        {"-0", "-0"},
        {"true", "true"},
        {"false", "false"},
        {"null", NULL},
        {"[ ]", "[]"},
        {"{ }", "{}"},
        {"[\"]\", \"[\", \"}\\\\\", {}]", "[\"]\",\"[\",\"}\\\\\",{}]"},
        {"\n\t{\"k\":\r\n\"v\\t\\n\"}\n", "{\"k\":\"v\\t\\n\"}"},
        {"123456789012345678901234567890", "123456789012345678901234567890"},
    };
    struct pctx c;
    char body[512];

    pctx_init(&c);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(body, sizeof body, "{\"records\":[{\"value\":%s}]}", cases[i].value);
        ck_assert_msg(pparse(&c, body) == PP_JSON_OK, "%s: %s", body, c.msg);
        ck_assert_uint_eq(c.n, 1);
        if (cases[i].want == NULL)
            ck_assert_ptr_null(c.recs[0].value.ptr);
        else
            expect_str(c.recs[0].value, cases[i].want);
    }
    pctx_cleanup(&c);
}
END_TEST

START_TEST(test_parse_unicode_escapes)
{
    /* Escapes and raw UTF-8 are kept byte for byte, minified or not. */
    static const char body[] = "{\"records\":[{\"value\":{\"t\":\"caf\\u00e9 \\ud83d\\ude00 "
                               "\xc2\xa0 \\\\ \\\" \\/\",\"ind\":\"\\u0034\\u0032\"}}]}";
    static const char spaced[] = "{ \"records\" : [ { \"value\" : { \"t\" : \"caf\\u00e9 "
                                 "\\ud83d\\ude00 \xc2\xa0 \\\\ \\\" \\/\" } } ] }";
    struct pctx c;

    pctx_init(&c);
    ck_assert_int_eq(pparse(&c, body), PP_JSON_OK);
    expect_str(c.recs[0].value, "{\"t\":\"caf\\u00e9 \\ud83d\\ude00 \xc2\xa0 \\\\ \\\" \\/\","
                                "\"ind\":\"\\u0034\\u0032\"}");
    /* The join key is unescaped: "42". */
    ck_assert_int_eq(c.recs[0].ind.type, PP_JSON_STRING);
    expect_str(c.recs[0].ind.str, "42");
    ck_assert_int_eq(pparse(&c, spaced), PP_JSON_OK);
    expect_str(c.recs[0].value, "{\"t\":\"caf\\u00e9 \\ud83d\\ude00 \xc2\xa0 \\\\ \\\" \\/\"}");
    /* A field name written with an escape is still "index". */
    ck_assert_int_eq(pparse(&c, "{\"records\":[{\"value\":{\"\\u0069ndex\":5}}]}"), PP_JSON_OK);
    ck_assert_int_eq(c.recs[0].index.type, PP_JSON_INT);
    ck_assert_int_eq(c.recs[0].index.i64, 5);
    pctx_cleanup(&c);
}
END_TEST

START_TEST(test_parse_keys)
{
    static const struct {
        const char *key;
        const char *want;
    } cases[] = {
        {"\"abc\"", "\"abc\""},      {"42", "42"},        {"-1.5", "-1.5"}, {"null", NULL},
        {"{\"a\": 1}", "{\"a\":1}"}, {"[1, 2]", "[1,2]"}, {"true", "true"}, {"\"\"", "\"\""},
    };
    struct pctx c;
    char body[256];

    pctx_init(&c);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(body, sizeof body, "{\"records\":[{\"key\": %s, \"value\":1}]}", cases[i].key);
        ck_assert_msg(pparse(&c, body) == PP_JSON_OK, "%s: %s", body, c.msg);
        if (cases[i].want == NULL)
            ck_assert_ptr_null(c.recs[0].key.ptr);
        else
            expect_str(c.recs[0].key, cases[i].want);
        expect_str(c.recs[0].value, "1");
    }
    pctx_cleanup(&c);
}
END_TEST

START_TEST(test_parse_partition_and_order)
{
    struct pctx c;

    pctx_init(&c);
    ck_assert_int_eq(pparse(&c, "{\"value_schema_id\":null,\"records\":[{\"partition\":3,"
                                "\"value\":{\"index\":\"12\"},\"extra\":[1,{}]},"
                                "{\"value\":[1],\"partition\":null},"
                                "{\"partition\":-1,\"value\":\"s\"},"
                                "{\"partition\":\"2\",\"value\":2,\"value\":3}],"
                                "\"records\":5}"),
                     PP_JSON_OK);
    ck_assert_uint_eq(c.n, 4);
    ck_assert_int_eq(c.recs[0].partition.type, PP_JSON_INT);
    ck_assert_int_eq(c.recs[0].partition.i64, 3);
    ck_assert_int_eq(c.recs[0].index.type, PP_JSON_STRING);
    expect_str(c.recs[0].index.str, "12");
    ck_assert_int_eq(c.recs[1].partition.type, PP_JSON_NULL);
    ck_assert_int_eq(c.recs[1].index.type, PP_JSON_ABSENT); /* not an object */
    ck_assert_int_eq(c.recs[2].partition.type, PP_JSON_INT);
    ck_assert_int_eq(c.recs[2].partition.i64, -1);
    ck_assert_int_eq(c.recs[3].partition.type, PP_JSON_STRING);
    expect_str(c.recs[3].value, "2"); /* the first "value" wins */
    /* A nested "ind" is not the join key. */
    ck_assert_int_eq(pparse(&c, "{\"records\":[{\"value\":{\"meta\":{\"ind\":1}}}]}"), PP_JSON_OK);
    ck_assert_int_eq(c.recs[0].ind.type, PP_JSON_ABSENT);
    ck_assert_int_eq(pparse(&c, "{\"records\":[]}"), PP_JSON_OK);
    ck_assert_uint_eq(c.n, 0);
    pctx_cleanup(&c);
}
END_TEST

START_TEST(test_parse_many)
{
    struct pp_buf body;
    struct pctx c;
    char want[64];

    pctx_init(&c);
    pp_buf_init(&body);
    ck_assert_int_eq(pp_buf_append_str(&body, "{\"records\":["), PP_OK);
    for (int i = 0; i < 1000; i++)
        ck_assert_int_eq(pp_buf_printf(&body, "%s{\"value\": {\"index\": %d}}", i ? "," : "", i),
                         PP_OK);
    ck_assert_int_eq(pp_buf_append_str(&body, "]}"), PP_OK);
    ck_assert_int_eq(pparse_len(&c, body.data, body.len), PP_JSON_OK);
    ck_assert_uint_eq(c.n, 1000);
    for (int i = 0; i < 1000; i++) {
        snprintf(want, sizeof want, "{\"index\":%d}", i);
        expect_str(c.recs[i].value, want);
        ck_assert_int_eq(c.recs[i].index.i64, i);
    }
    pp_buf_cleanup(&body);
    pctx_cleanup(&c);
}
END_TEST

START_TEST(test_parse_errors)
{
    static const struct {
        const char *body;
        enum pp_json_status want;
        const char *msg; /* a part of the message */
    } cases[] = {
        {"{\"records\":[{\"value\":1},{\"key\":\"k\"}]}", PP_JSON_INVALID,
         "records[1] has no \"value\""},
        {"{\"records\":[{\"value\":1}]} x", PP_JSON_INVALID, "not valid JSON"},
        {"{\"records\":[{\"value\":1}]} 1", PP_JSON_INVALID, "not valid JSON"},
        {"{\"records\":[{\"value\":1}]}{}", PP_JSON_INVALID, "not valid JSON"},
        {"[{\"value\":1}]", PP_JSON_NOT_OBJECT, "not a JSON object"},
        {"\"records\"", PP_JSON_NOT_OBJECT, "not a JSON object"},
        {"42", PP_JSON_NOT_OBJECT, "not a JSON object"},
        {"nullx", PP_JSON_INVALID, "not valid JSON"}, /* found by tests/fuzz */
        {"[1,", PP_JSON_INVALID, "not valid JSON"},
        {"", PP_JSON_INVALID, "not valid JSON"},
        {"   ", PP_JSON_INVALID, "not valid JSON"},
        {"{\"records\":{}}", PP_JSON_INVALID, "must be an array"},
        {"{\"records\":\"x\"}", PP_JSON_INVALID, "must be an array"},
        {"{\"records\":[1]}", PP_JSON_INVALID, "records[0] is not an object"},
        {"{\"records\":[{\"value\":1},null]}", PP_JSON_INVALID, "records[1] is not an object"},
        {"{}", PP_JSON_INVALID, "no \"records\""},
        {"{\"record\":[{\"value\":1}]}", PP_JSON_INVALID, "no \"records\""},
        {"{\"records\":[{\"value\":{\"a\":1,}}]}", PP_JSON_INVALID, "records[0]"},
        {"{\"records\":[{\"value\":tru}]}", PP_JSON_INVALID, "records[0]"},
        {"{\"records\":[{\"value\":1,\"key\":[1,}]}", PP_JSON_INVALID, "records[0]"},
        {"{\"records\":[{\"value\":\"\\x\"}]}", PP_JSON_INVALID, "records[0]"},
        {"{\"records\":[{\"value\":\"\xff\"}]}", PP_JSON_INVALID_UTF8, "UTF-8"},
        {"{\"records\":[{\"value\":1}],\"other\":[}", PP_JSON_INVALID, "not valid JSON"},
        /* a string then ':' where no key can be (found by tests/fuzz) */
        {"{\"records\":[{\"value\":[\"\":}]}]}", PP_JSON_INVALID, "records[0]"},
        {"{\"records\":[{\"value\":{\"ind\":\"x\":{}}}]}]}", PP_JSON_INVALID, "records[0]"},
        {"{\"records\":[{\"value\":1,\"key\":[\"k\":}]}]}", PP_JSON_INVALID, "records[0]"},
    };
    struct pctx c;

    pctx_init(&c);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        enum pp_json_status st = pparse(&c, cases[i].body);

        ck_assert_msg(st == cases[i].want, "%s: status %d, want %d (%s)", cases[i].body, st,
                      cases[i].want, c.msg);
        ck_assert_msg(strstr(c.msg, cases[i].msg) != NULL, "%s: message '%s' lacks '%s'",
                      cases[i].body, c.msg, cases[i].msg);
    }
    pctx_cleanup(&c);
}
END_TEST

START_TEST(test_parse_depth)
{
    struct pp_buf body;
    struct pctx c;

    pctx_init(&c);
    for (int depth = 1000; depth <= 2000; depth += 1000) {
        pp_buf_init(&body);
        ck_assert_int_eq(pp_buf_append_str(&body, "{\"records\":[{\"value\":"), PP_OK);
        for (int i = 0; i < depth; i++)
            ck_assert_int_eq(pp_buf_append_str(&body, "["), PP_OK);
        for (int i = 0; i < depth; i++)
            ck_assert_int_eq(pp_buf_append_str(&body, "]"), PP_OK);
        ck_assert_int_eq(pp_buf_append_str(&body, "}]}"), PP_OK);
        if (depth == 1000) {
            ck_assert_int_eq(pparse_len(&c, body.data, body.len), PP_JSON_OK);
            ck_assert_uint_eq(c.recs[0].value.len, 2000);
        } else {
            ck_assert_int_eq(pparse_len(&c, body.data, body.len), PP_JSON_INVALID);
        }
        pp_buf_cleanup(&body);
    }
    pctx_cleanup(&c);
}
END_TEST

/* ---- the endpoint ---- */

struct fixture {
    struct pp_kafka_broker *broker;
    struct pp_rest *rest;
    struct pp_http *http;
    struct pp_httpc *client;
    char base[64];
};

/* bootstrap NULL: an in-process broker. */
static void fixture_start(struct fixture *f, const char *bootstrap, const char *token,
                          size_t max_body, int timeout_ms)
{
    struct pp_kafka_property props[] = {{"bootstrap.servers", bootstrap}};
    struct pp_rest_options ropt = {
        .topics = {"t.pin", "t.geo", "t.user"},
        .max_body_bytes = max_body,
        .timeout_ms = timeout_ms,
    };
    struct pp_http_options hopt = {
        .listen = "127.0.0.1:0",
        .auth_token = token,
        .max_body_bytes = max_body,
    };
    char msg[256];

    memset(f, 0, sizeof *f);
    if (bootstrap == NULL) {
        f->broker = pp_check_broker_start(PARTITIONS);
        ropt.bootstrap = pp_kafka_broker_bootstraps(f->broker);
    } else {
        /* Given as a property, as `pinpipe run` passes kafka.* keys. */
        ropt.properties = props;
        ropt.n_properties = 1;
    }
    ck_assert_msg(pp_rest_new(&ropt, &f->rest, msg, sizeof msg) == PP_OK, "%s", msg);
    ck_assert_msg(pp_http_new(&hopt, &f->http, msg, sizeof msg) == PP_OK, "%s", msg);
    ck_assert_int_eq(pp_rest_route(f->rest, f->http), PP_OK);
    ck_assert_msg(pp_http_start(f->http, msg, sizeof msg) == PP_OK, "%s", msg);
    snprintf(f->base, sizeof f->base, "http://127.0.0.1:%u", pp_http_port(f->http));
    ck_assert_int_eq(pp_httpc_new(&f->client), PP_OK);
}

static void fixture_stop(struct fixture *f)
{
    pp_httpc_destroy(f->client);
    pp_http_stop(f->http);
    pp_rest_destroy(f->rest);
    pp_http_destroy(f->http);
    pp_kafka_broker_destroy(f->broker);
}

struct answer {
    unsigned status;
    char body[16384];
};

/* POSTs body to base + path; content_type and auth NULL: header left out. */
static void post_with(struct pp_httpc *client, const char *base, const char *path,
                      const char *content_type, const char *auth, const char *body, size_t len,
                      struct answer *a)
{
    char url[256];
    char ct[256];
    char au[256];
    const char *headers[3] = {NULL, NULL, NULL};
    size_t n = 0;
    struct pp_httpc_response resp = {0};
    struct pp_httpc_request req = {
        .method = "POST",
        .url = url,
        .headers = headers,
        .body = body,
        .body_len = len,
        .timeout_ms = 20000,
    };
    char msg[256];

    snprintf(url, sizeof url, "%s%s", base, path);
    if (content_type != NULL) {
        snprintf(ct, sizeof ct, "Content-Type: %s", content_type);
        headers[n++] = ct;
    }
    if (auth != NULL) {
        snprintf(au, sizeof au, "Authorization: %s", auth);
        headers[n++] = au;
    }
    pp_buf_init(&resp.body);
    ck_assert_msg(pp_httpc_send(client, &req, &resp, msg, sizeof msg) == PP_OK, "%s", msg);
    a->status = resp.status;
    snprintf(a->body, sizeof a->body, "%.*s", (int)resp.body.len,
             resp.body.data != NULL ? resp.body.data : "");
    pp_buf_cleanup(&resp.body);
}

static void post(struct fixture *f, const char *path, const char *content_type, const char *body,
                 struct answer *a)
{
    post_with(f->client, f->base, path, content_type, NULL, body, strlen(body), a);
}

/* Checks a Confluent error answer. */
static void expect_error(const struct answer *a, unsigned status, unsigned code)
{
    char want[64];

    ck_assert_msg(a->status == status, "status %u, want %u: %s", a->status, status, a->body);
    snprintf(want, sizeof want, "{\"error_code\":%u,\"message\":\"", code);
    ck_assert_msg(strncmp(a->body, want, strlen(want)) == 0, "body %s, want %s...", a->body, want);
}

/* Reads the offsets of a 200 answer; returns how many (at most max). */
static size_t answer_offsets(const struct answer *a, int32_t *partitions, int64_t *offsets,
                             size_t max)
{
    static const char tail[] = "],\"key_schema_id\":null,\"value_schema_id\":null}";
    const char *p = a->body;
    size_t n = 0;

    ck_assert_msg(a->status == 200, "status %u: %s", a->status, a->body);
    ck_assert_msg(strncmp(p, "{\"offsets\":[", 12) == 0, "%s", a->body);
    ck_assert_msg(strlen(p) > strlen(tail) && strcmp(p + strlen(p) - strlen(tail), tail) == 0, "%s",
                  a->body);
    while ((p = strstr(p, "{\"partition\":")) != NULL && n < max) {
        int consumed = 0;

        ck_assert_msg(sscanf(p,
                             "{\"partition\":%" SCNd32 ",\"offset\":%" SCNd64
                             ",\"error_code\":null,\"error\":null}%n",
                             &partitions[n], &offsets[n], &consumed) == 2 &&
                          consumed > 0,
                      "record %zu not delivered: %s", n, a->body);
        p += consumed;
        n++;
    }
    return n;
}

START_TEST(test_post_ok_keyed_by_index)
{
    struct fixture f;
    struct answer a;
    int32_t parts[8];
    int64_t offs[8];
    int32_t first_part[3];
    int64_t first_off[3];

    fixture_start(&f, NULL, NULL, 0, 0);
    /* Written like the original emulator: json.dumps spacing, no key. */
    post(&f, "/topics/t.pin", V2_JSON,
         "{\"records\": [{\"value\": {\"index\": 1, \"unique_id\": \"a\"}}, "
         "{\"value\": {\"index\": \"2\"}}, {\"value\": {\"index\": 3}}]}",
         &a);
    ck_assert_uint_eq(answer_offsets(&a, first_part, first_off, 3), 3);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(first_part[i], pp_emulate_partition(i + 1, PARTITIONS));
    /* The same keys again: same partitions, later offsets. */
    post(&f, "/topics/t.pin", V2_JSON,
         "{\"records\":[{\"value\":{\"index\":1}},{\"value\":{\"index\":2}},"
         "{\"value\":{\"index\":3}}]}",
         &a);
    ck_assert_uint_eq(answer_offsets(&a, parts, offs, 3), 3);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(parts[i], first_part[i]);
        ck_assert_int_gt(offs[i], first_off[i]);
    }
    /* geo and user are keyed by ind, co-partitioned with the pin. */
    post(&f, "/topics/t.geo", "application/json",
         "{\"records\":[{\"value\":{\"ind\":2,\"country\":\"X\"}}]}", &a);
    ck_assert_uint_eq(answer_offsets(&a, parts, offs, 1), 1);
    ck_assert_int_eq(parts[0], first_part[1]);
    post(&f, "/topics/t.user", V2_JSON, "{\"records\":[{\"value\":{\"ind\":3}}]}", &a);
    ck_assert_uint_eq(answer_offsets(&a, parts, offs, 1), 1);
    ck_assert_int_eq(parts[0], first_part[2]);
    /* An explicit key wins: its JSON text "3" hashes like the ind 3. */
    post(&f, "/topics/t.pin", V2_JSON, "{\"records\":[{\"key\":3,\"value\":{\"index\":1}}]}", &a);
    ck_assert_uint_eq(answer_offsets(&a, parts, offs, 1), 1);
    ck_assert_int_eq(parts[0], first_part[2]);
    /* A tombstone and a scalar value are produced too. */
    post(&f, "/topics/t.pin", V2_JSON, "{\"records\":[{\"value\":null},{\"value\":\"x\"}]}", &a);
    ck_assert_uint_eq(answer_offsets(&a, parts, offs, 2), 2);
    fixture_stop(&f);
}
END_TEST

START_TEST(test_post_partitions)
{
    struct fixture f;
    struct answer a;
    int32_t parts[4];
    int64_t offs[4];

    fixture_start(&f, NULL, NULL, 0, 0);
    post(&f, "/topics/t.geo", V2_JSON,
         "{\"records\":[{\"partition\":2,\"value\":{\"ind\":1}},"
         "{\"partition\":0,\"value\":{\"ind\":1}},{\"partition\":null,\"value\":1}]}",
         &a);
    ck_assert_uint_eq(answer_offsets(&a, parts, offs, 4), 3);
    ck_assert_int_eq(parts[0], 2);
    ck_assert_int_eq(parts[1], 0);
    post(&f, "/topics/t.geo", V2_JSON, "{\"records\":[{\"partition\":4,\"value\":1}]}", &a);
    expect_error(&a, 404, 40402);
    ck_assert(strstr(a.body, "partition 4") != NULL);
    post(&f, "/topics/t.geo", V2_JSON,
         "{\"records\":[{\"value\":1},{\"partition\":-1,\"value\":1}]}", &a);
    expect_error(&a, 422, 42202);
    ck_assert(strstr(a.body, "records[1].partition") != NULL);
    post(&f, "/topics/t.geo", V2_JSON, "{\"records\":[{\"partition\":\"1\",\"value\":1}]}", &a);
    expect_error(&a, 422, 42202);
    post(&f, "/topics/t.geo", V2_JSON, "{\"records\":[{\"partition\":1.0,\"value\":1}]}", &a);
    expect_error(&a, 422, 42202);
    fixture_stop(&f);
}
END_TEST

START_TEST(test_post_unknown_topic)
{
    struct fixture f;
    struct answer a;
    const char *body = "{\"records\":[{\"value\":1}]}";

    fixture_start(&f, NULL, NULL, 0, 0);
    post(&f, "/topics/t.misc", V2_JSON, body, &a);
    expect_error(&a, 404, 40401);
    ck_assert(strstr(a.body, "t.misc") != NULL);
    post(&f, "/topics/", V2_JSON, body, &a);
    expect_error(&a, 404, 40401);
    post(&f, "/topics/t.pin/partitions/0", V2_JSON, body, &a);
    expect_error(&a, 404, 40401);
    post(&f, "/topics/T.PIN", V2_JSON, body, &a);
    expect_error(&a, 404, 40401);
    fixture_stop(&f);
}
END_TEST

START_TEST(test_post_content_types)
{
    static const struct {
        const char *type; /* NULL: no Content-Type header */
        unsigned status;
    } cases[] = {
        {V2_JSON, 200},
        {"application/json", 200},
        {"Application/Vnd.Kafka.JSON.v2+JSON", 200},
        {"application/json; charset=UTF-8", 200},
        {"application/vnd.kafka.json.v2+json;charset=\"utf-8\"", 200},
        {"application/json; version=2", 200},
        {NULL, 415},
        {"text/plain", 415},
        {"application/vnd.kafka.binary.v2+json", 415},
        {"application/vnd.kafka.avro.v2+json", 415},
        {"application/vnd.kafka.v2+json", 415},
        {"application/json; charset=latin1", 415},
        {"application/jsonx", 415},
        {"application/x-www-form-urlencoded", 415},
    };
    struct fixture f;
    struct answer a;
    const char *body = "{\"records\":[{\"value\":{\"index\":1}}]}";

    fixture_start(&f, NULL, NULL, 0, 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        post(&f, "/topics/t.pin", cases[i].type, body, &a);
        if (cases[i].status == 200) {
            int32_t p;
            int64_t o;
            ck_assert_msg(a.status == 200, "%s: %u %s", cases[i].type, a.status, a.body);
            ck_assert_uint_eq(answer_offsets(&a, &p, &o, 1), 1);
        } else {
            expect_error(&a, 415, 41501);
        }
    }
    fixture_stop(&f);
}
END_TEST

START_TEST(test_post_malformed)
{
    static const char *const bodies[] = {
        "{\"records\":[{\"value\":1},{\"key\":1}]}",
        "{\"records\":[{\"value\":1}]} trailing",
        "not json",
        "[{\"value\":1}]",
        "{}",
        "{\"records\":[]}",
        "{\"records\":[{\"value\":\"\xff\"}]}",
        "",
    };
    struct fixture f;
    struct answer a;
    struct pp_rest_stats st;

    fixture_start(&f, NULL, NULL, 0, 0);
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        post(&f, "/topics/t.user", V2_JSON, bodies[i], &a);
        expect_error(&a, 422, 42201);
    }
    pp_rest_get_stats(f.rest, &st);
    ck_assert_uint_eq(st.requests[PP_REST_OUTCOME_UNPROCESSABLE], 8);
    ck_assert_uint_eq(st.requests[PP_REST_OUTCOME_OK], 0);
    ck_assert_uint_eq(st.records_delivered, 0);
    fixture_stop(&f);
}
END_TEST

START_TEST(test_post_auth_and_size)
{
    struct fixture f;
    struct answer a;
    char big[600];
    const char *body = "{\"records\":[{\"value\":{\"ind\":9}}]}";
    int32_t p;
    int64_t o;

    fixture_start(&f, NULL, TOKEN, 512, 0);
    post_with(f.client, f.base, "/topics/t.geo", V2_JSON, NULL, body, strlen(body), &a);
    expect_error(&a, 401, 40101);
    post_with(f.client, f.base, "/topics/t.geo", V2_JSON, "Bearer wrong", body, strlen(body), &a);
    expect_error(&a, 401, 40101);
    post_with(f.client, f.base, "/topics/t.geo", V2_JSON, "Bearer " TOKEN, body, strlen(body), &a);
    ck_assert_uint_eq(answer_offsets(&a, &p, &o, 1), 1);
    /* A body just over http.max.body.bytes: 413, nothing produced. */
    memset(big, ' ', sizeof big);
    memcpy(big, body, strlen(body));
    post_with(f.client, f.base, "/topics/t.geo", V2_JSON, "Bearer " TOKEN, big, 513, &a);
    expect_error(&a, 413, 41301);
    post_with(f.client, f.base, "/topics/t.geo", V2_JSON, "Bearer " TOKEN, big, 512, &a);
    ck_assert_uint_eq(answer_offsets(&a, &p, &o, 1), 1);
    fixture_stop(&f);
}
END_TEST

#define POSTERS 6
#define POSTS_EACH 15

struct poster {
    const struct fixture *f;
    int id;
    int32_t partitions[POSTS_EACH * 2];
    int64_t offsets[POSTS_EACH * 2];
    size_t n;
    bool is_ok;
};

static void *poster_main(void *arg)
{
    struct poster *p = arg;
    struct pp_httpc *client;
    struct answer *a = malloc(sizeof *a);
    char body[256];

    if (a == NULL || pp_httpc_new(&client) != PP_OK)
        return NULL;
    p->is_ok = true;
    for (int i = 0; i < POSTS_EACH && p->is_ok; i++) {
        snprintf(body, sizeof body,
                 "{\"records\":[{\"value\":{\"index\":%d}},{\"value\":{\"index\":%d}}]}",
                 p->id * 100 + i, p->id * 100 + i + 50);
        post_with(client, p->f->base, "/topics/t.pin", V2_JSON, NULL, body, strlen(body), a);
        if (a->status != 200) {
            p->is_ok = false;
            break;
        }
        p->n += answer_offsets(a, &p->partitions[p->n], &p->offsets[p->n], 2);
    }
    pp_httpc_destroy(client);
    free(a);
    return NULL;
}

START_TEST(test_post_concurrent)
{
    static struct poster posters[POSTERS];
    pthread_t threads[POSTERS];
    struct fixture f;
    struct pp_rest_stats st;
    size_t total = 0;

    fixture_start(&f, NULL, NULL, 0, 0);
    for (int i = 0; i < POSTERS; i++) {
        memset(&posters[i], 0, sizeof posters[i]);
        posters[i].f = &f;
        posters[i].id = i;
        ck_assert_int_eq(pthread_create(&threads[i], NULL, poster_main, &posters[i]), 0);
    }
    for (int i = 0; i < POSTERS; i++)
        pthread_join(threads[i], NULL);
    /* Every (partition, offset) answered once: no request saw another's
     * delivery report. */
    for (int i = 0; i < POSTERS; i++) {
        ck_assert_msg(posters[i].is_ok, "poster %d failed", i);
        ck_assert_uint_eq(posters[i].n, POSTS_EACH * 2);
        for (size_t k = 0; k < posters[i].n; k++) {
            for (int j = i; j < POSTERS; j++)
                for (size_t m = j == i ? k + 1 : 0; m < posters[j].n; m++)
                    ck_assert(posters[i].partitions[k] != posters[j].partitions[m] ||
                              posters[i].offsets[k] != posters[j].offsets[m]);
        }
        total += posters[i].n;
    }
    pp_rest_get_stats(f.rest, &st);
    ck_assert_uint_eq(st.records_delivered, total);
    ck_assert_uint_eq(st.requests[PP_REST_OUTCOME_OK], POSTERS * POSTS_EACH);
    ck_assert_uint_eq(st.records[PP_REST_OUTCOME_OK], total);
    ck_assert_uint_eq(st.records_failed, 0);
    fixture_stop(&f);
}
END_TEST

START_TEST(test_post_broker_down)
{
    struct fixture f;
    struct answer a;
    struct pp_rest_stats st;
    char bootstrap[64];

    /* Nothing listens there: librdkafka times the messages out after
     * timeout_ms, and the request reports it per record (retriable). */
    snprintf(bootstrap, sizeof bootstrap, "127.0.0.1:%d", pp_check_free_port());
    fixture_start(&f, bootstrap, NULL, 0, 500);
    post(&f, "/topics/t.pin", V2_JSON, "{\"records\":[{\"value\":{\"index\":1}},{\"value\":2}]}",
         &a);
    ck_assert_msg(a.status == 200, "%u %s", a.status, a.body);
    ck_assert_msg(strncmp(a.body,
                          "{\"offsets\":[{\"partition\":null,\"offset\":null,\"error_code\":50003,"
                          "\"error\":\"",
                          70) == 0,
                  "%s", a.body);
    ck_assert_int_eq(strstr(strstr(a.body, "50003") + 1, "50003") != NULL, 1);
    pp_rest_get_stats(f.rest, &st);
    ck_assert_uint_eq(st.records_failed, 2);
    ck_assert_uint_eq(st.records_delivered, 0);
    /* A partition check needs metadata, which cannot come: 500. */
    post(&f, "/topics/t.pin", V2_JSON, "{\"records\":[{\"partition\":0,\"value\":1}]}", &a);
    expect_error(&a, 500, 50003);
    fixture_stop(&f);
}
END_TEST

START_TEST(test_metrics)
{
    struct fixture f;
    struct answer a;
    struct pp_buf out;

    fixture_start(&f, NULL, NULL, 0, 0);
    post(&f, "/topics/t.pin", V2_JSON, "{\"records\":[{\"value\":1},{\"value\":2}]}", &a);
    ck_assert_uint_eq(a.status, 200);
    post(&f, "/topics/t.pin", "text/plain", "{}", &a);
    post(&f, "/topics/nope", V2_JSON, "{}", &a);
    post(&f, "/topics/t.pin", V2_JSON, "{", &a);
    pp_buf_init(&out);
    ck_assert_int_eq(pp_rest_metrics_append(f.rest, &out), PP_OK);
    ck_assert_int_eq(pp_buf_append(&out, "", 1), PP_OK);
    ck_assert(strstr(out.data, "# TYPE pinpipe_rest_requests_total counter\n") != NULL);
    ck_assert(strstr(out.data, "pinpipe_rest_requests_total{status=\"200\"} 1\n") != NULL);
    ck_assert(strstr(out.data, "pinpipe_rest_requests_total{status=\"404\"} 1\n") != NULL);
    ck_assert(strstr(out.data, "pinpipe_rest_requests_total{status=\"415\"} 1\n") != NULL);
    ck_assert(strstr(out.data, "pinpipe_rest_requests_total{status=\"422\"} 1\n") != NULL);
    ck_assert(strstr(out.data, "pinpipe_rest_requests_total{status=\"500\"} 0\n") != NULL);
    ck_assert(strstr(out.data, "pinpipe_rest_records_total{status=\"200\"} 2\n") != NULL);
    ck_assert(strstr(out.data, "pinpipe_rest_records_delivered_total 2\n") != NULL);
    ck_assert(strstr(out.data, "pinpipe_rest_records_failed_total 0\n") != NULL);
    pp_buf_cleanup(&out);
    fixture_stop(&f);
}
END_TEST

START_TEST(test_rest_new_errors)
{
    struct pp_rest_options ropt = {.topics = {"a.pin", "a.geo", NULL}, .bootstrap = "x:1"};
    struct pp_kafka_property bad[] = {{"no.such.property", "1"}};
    struct pp_rest *rest = NULL;
    char msg[256];

    ck_assert_int_eq(pp_rest_new(&ropt, &rest, msg, sizeof msg), PP_ERR_USAGE);
    ck_assert_ptr_null(rest);
    ck_assert(strstr(msg, "user") != NULL);
    ropt.topics[2] = "a.user";
    ropt.bootstrap = NULL;
    ck_assert_int_eq(pp_rest_new(&ropt, &rest, msg, sizeof msg), PP_ERR_USAGE);
    ck_assert(strstr(msg, "bootstrap") != NULL);
    ropt.bootstrap = "127.0.0.1:1";
    ropt.properties = bad;
    ropt.n_properties = 1;
    ck_assert_int_eq(pp_rest_new(&ropt, &rest, msg, sizeof msg), PP_ERR_USAGE);
    ck_assert(strstr(msg, "no.such.property") != NULL);
    pp_rest_destroy(NULL);
}
END_TEST

/* ---- pp_httpc on its own ---- */

START_TEST(test_httpc_errors)
{
    struct pp_httpc *client;
    struct pp_httpc_response resp = {0};
    struct pp_httpc_request req = {.url = NULL, .timeout_ms = 5000};
    char url[64];
    char msg[256];

    ck_assert_int_eq(pp_httpc_new(&client), PP_OK);
    pp_buf_init(&resp.body);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/x?secret=1", pp_check_free_port());
    req.url = url;
    ck_assert_int_eq(pp_httpc_send(client, &req, &resp, msg, sizeof msg), PP_ERR_IO);
    ck_assert_uint_eq(resp.status, 0);
    ck_assert(strstr(msg, "127.0.0.1") != NULL);
    ck_assert(strstr(msg, "secret") == NULL);
    req.url = "ftp://127.0.0.1/x";
    ck_assert_int_eq(pp_httpc_send(client, &req, &resp, msg, sizeof msg), PP_ERR_USAGE);
    req.url = "http://[::1";
    ck_assert_int_eq(pp_httpc_send(client, &req, &resp, msg, sizeof msg), PP_ERR_USAGE);
    pp_buf_cleanup(&resp.body);
    pp_httpc_destroy(client);
    pp_httpc_destroy(NULL);
}
END_TEST

static Suite *rest_suite(void)
{
    Suite *s = suite_create("rest");

    PP_CHECK_TCASE(s, test_parse_simple);
    PP_CHECK_TCASE(s, test_parse_value_kinds);
    PP_CHECK_TCASE(s, test_parse_unicode_escapes);
    PP_CHECK_TCASE(s, test_parse_keys);
    PP_CHECK_TCASE(s, test_parse_partition_and_order);
    PP_CHECK_TCASE(s, test_parse_many);
    PP_CHECK_TCASE(s, test_parse_errors);
    PP_CHECK_TCASE(s, test_parse_depth);
    PP_CHECK_TCASE(s, test_post_ok_keyed_by_index);
    PP_CHECK_TCASE(s, test_post_partitions);
    PP_CHECK_TCASE(s, test_post_unknown_topic);
    PP_CHECK_TCASE(s, test_post_content_types);
    PP_CHECK_TCASE(s, test_post_malformed);
    PP_CHECK_TCASE(s, test_post_auth_and_size);
    PP_CHECK_TCASE(s, test_post_concurrent);
    PP_CHECK_TCASE(s, test_post_broker_down);
    PP_CHECK_TCASE(s, test_metrics);
    PP_CHECK_TCASE(s, test_rest_new_errors);
    PP_CHECK_TCASE(s, test_httpc_errors);
    return s;
}

PP_CHECK_MAIN(rest_suite)
