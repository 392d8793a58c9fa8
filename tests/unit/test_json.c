/*
 * Unit tests of pp_json: pp_json_parse_object over one record.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pp_arena.h"
#include "pp_check.h"
#include "pp_json.h"

#define MAX_FIELDS 16

/* One parse: the padded input copy stays alive with the values, since
 * unescaped strings are borrowed from it. */
struct jctx {
    struct pp_json_parser *parser;
    struct pp_arena arena;
    char *buf;
    size_t len;
    struct pp_str names[MAX_FIELDS];
    size_t n_names;
    struct pp_json_value v[MAX_FIELDS];
};

static void jctx_init(struct jctx *c, const char *names)
{
    const char *p = names;

    memset(c, 0, sizeof *c);
    c->parser = pp_json_parser_new(1 << 20);
    ck_assert_ptr_nonnull(c->parser);
    pp_arena_init(&c->arena, 0);
    /* names: space-separated field names. */
    while (*p) {
        size_t n = strcspn(p, " ");
        ck_assert(c->n_names < MAX_FIELDS);
        c->names[c->n_names++] = pp_str_make(p, n);
        p += n;
        p += *p == ' ';
    }
}

static void jctx_cleanup(struct jctx *c)
{
    pp_json_parser_destroy(c->parser);
    pp_arena_cleanup(&c->arena);
    free(c->buf);
    c->buf = NULL;
}

/* Parses text[0..len) from a copy followed by PP_JSON_PADDING bytes of
 * `fill`. */
static enum pp_json_status jparse_fill(struct jctx *c, const char *text, size_t len, char fill)
{
    free(c->buf);
    c->buf = pp_check_copy(text, len, PP_JSON_PADDING, fill);
    c->len = len;
    return pp_json_parse_object(c->parser, c->buf, len, len + PP_JSON_PADDING, c->names, c->n_names,
                                c->v, &c->arena);
}

static enum pp_json_status jparse_len(struct jctx *c, const char *text, size_t len)
{
    return jparse_fill(c, text, len, ' ');
}

static enum pp_json_status jparse(struct jctx *c, const char *text)
{
    return jparse_len(c, text, strlen(text));
}

static bool jctx_in_input(const struct jctx *c, const char *p)
{
    return p >= c->buf && p < c->buf + c->len;
}

static void expect_status(const char *text, size_t len, enum pp_json_status want)
{
    struct jctx c;
    enum pp_json_status st;

    jctx_init(&c, "a s");
    st = jparse_len(&c, text, len);
    ck_assert_msg(st == want, "%.*s: status %d, want %d", (int)len, text, (int)st, (int)want);
    jctx_cleanup(&c);
}

#define EXPECT_STATUS(lit, want) expect_status((lit), sizeof(lit) - 1, (want))

static void expect_str(const struct pp_json_value *v, const char *want, size_t len)
{
    ck_assert_int_eq(v->type, PP_JSON_STRING);
    ck_assert_ptr_nonnull(v->str.ptr);
    ck_assert_uint_eq(v->str.len, len);
    ck_assert_mem_eq(v->str.ptr, want, len);
}

#define EXPECT_STR(v, lit) expect_str((v), (lit), sizeof(lit) - 1)

START_TEST(test_valid_object)
{
    struct jctx c;

    jctx_init(&c, "a b c d e f g h i zz");
    ck_assert_int_eq(jparse(&c, "{\"a\":1,\"b\":\"x\",\"c\":true,\"d\":null,\"e\":[1,[2],{}],"
                                "\"f\":{\"g\":1},\"g\":1.5,\"h\":false,\"i\":\"\"}"),
                     PP_JSON_OK);
    ck_assert_int_eq(c.v[0].type, PP_JSON_INT);
    ck_assert_int_eq(c.v[0].i64, 1);
    EXPECT_STR(&c.v[1], "x");
    ck_assert_int_eq(c.v[2].type, PP_JSON_BOOL);
    ck_assert(c.v[2].b);
    ck_assert_int_eq(c.v[3].type, PP_JSON_NULL);
    ck_assert_int_eq(c.v[4].type, PP_JSON_ARRAY);
    ck_assert_int_eq(c.v[5].type, PP_JSON_OBJECT);
    ck_assert_int_eq(c.v[6].type, PP_JSON_DOUBLE);
    ck_assert(c.v[6].f64 == 1.5);
    ck_assert_int_eq(c.v[7].type, PP_JSON_BOOL);
    ck_assert(!c.v[7].b);
    EXPECT_STR(&c.v[8], "");
    ck_assert_int_eq(c.v[9].type, PP_JSON_ABSENT);

    /* Whitespace anywhere between tokens, and an empty object. */
    ck_assert_int_eq(jparse(&c, " \t\r\n{ \"a\" : 7 ,\n\"b\"\t:\"y\" } \n"), PP_JSON_OK);
    ck_assert_int_eq(c.v[0].i64, 7);
    EXPECT_STR(&c.v[1], "y");
    ck_assert_int_eq(jparse(&c, "{}"), PP_JSON_OK);
    for (size_t i = 0; i < c.n_names; i++)
        ck_assert_int_eq(c.v[i].type, PP_JSON_ABSENT);

    /* Nested fields with a wanted name are not top-level fields. */
    ck_assert_int_eq(jparse(&c, "{\"f\":{\"a\":5},\"e\":[{\"a\":6}]}"), PP_JSON_OK);
    ck_assert_int_eq(c.v[0].type, PP_JSON_ABSENT);
    jctx_cleanup(&c);
}
END_TEST

START_TEST(test_field_order_independent)
{
    static const char *const docs[] = {
        "{\"a\":1,\"b\":\"two\",\"c\":3.5}",
        "{\"c\":3.5,\"b\":\"two\",\"a\":1}",
        "{\"b\":\"two\",\"x\":[1,2],\"a\":1,\"c\":3.5}",
        "{\"zz\":{\"a\":9},\"c\":3.5,\"a\":1,\"y\":null,\"b\":\"two\"}",
    };
    struct jctx c;
    size_t i;

    jctx_init(&c, "a b c");
    for (i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        ck_assert_int_eq(jparse(&c, docs[i]), PP_JSON_OK);
        ck_assert_int_eq(c.v[0].type, PP_JSON_INT);
        ck_assert_int_eq(c.v[0].i64, 1);
        EXPECT_STR(&c.v[1], "two");
        ck_assert_int_eq(c.v[2].type, PP_JSON_DOUBLE);
        ck_assert(c.v[2].f64 == 3.5);
    }
    jctx_cleanup(&c);
}
END_TEST

START_TEST(test_duplicate_first_wins)
{
    struct jctx c;

    jctx_init(&c, "a b");
    ck_assert_int_eq(jparse(&c, "{\"a\":1,\"a\":2}"), PP_JSON_OK);
    ck_assert_int_eq(c.v[0].i64, 1);
    ck_assert_int_eq(jparse(&c, "{\"a\":\"x\",\"b\":0,\"a\":5}"), PP_JSON_OK);
    EXPECT_STR(&c.v[0], "x");
    ck_assert_int_eq(jparse(&c, "{\"a\":null,\"a\":1}"), PP_JSON_OK);
    ck_assert_int_eq(c.v[0].type, PP_JSON_NULL);
    /* An escaped spelling of the same name is the same name. */
    ck_assert_int_eq(jparse(&c, "{\"\\u0061\":3,\"a\":4}"), PP_JSON_OK);
    ck_assert_int_eq(c.v[0].i64, 3);
    /* The later duplicate is still validated. */
    ck_assert_int_eq(jparse(&c, "{\"a\":1,\"a\":\"\\ud800\"}"), PP_JSON_INVALID);
    jctx_cleanup(&c);
}
END_TEST

START_TEST(test_strings_borrowed_or_unescaped)
{
    struct jctx c;

    jctx_init(&c, "s t u");
    ck_assert_int_eq(jparse(&c, "{\"s\":\"plain text\" , \"t\":\"a\\\"b\\\\c\\nd\\u00e9\\/\","
                                "\"u\":\"caf\xc3\xa9\"}"),
                     PP_JSON_OK);
    /* No escape: a view into the input buffer. */
    EXPECT_STR(&c.v[0], "plain text");
    ck_assert(jctx_in_input(&c, c.v[0].str.ptr));
    ck_assert(jctx_in_input(&c, c.v[0].str.ptr + c.v[0].str.len - 1));
    ck_assert_ptr_eq(c.v[0].str.ptr, memmem(c.buf, c.len, "plain text", 10));
    /* Escapes: unescaped into the arena, outside the input. */
    EXPECT_STR(&c.v[1], "a\"b\\c\nd\xc3\xa9/");
    ck_assert(!jctx_in_input(&c, c.v[1].str.ptr));
    /* Raw UTF-8 needs no unescaping. */
    EXPECT_STR(&c.v[2], "caf\xc3\xa9");
    ck_assert(jctx_in_input(&c, c.v[2].str.ptr));

    ck_assert_int_eq(jparse(&c, "{\"s\":\"\\b\\f\\r\\t\\u0000x\"}"), PP_JSON_OK);
    expect_str(&c.v[0], "\b\f\r\t\0x", 6);
    jctx_cleanup(&c);
}
END_TEST

START_TEST(test_surrogate_pairs)
{
    struct jctx c;

    jctx_init(&c, "s");
    ck_assert_int_eq(jparse(&c, "{\"s\":\"\\ud83d\\ude00\"}"), PP_JSON_OK);
    EXPECT_STR(&c.v[0], "\xf0\x9f\x98\x80");
    ck_assert_int_eq(jparse(&c, "{\"s\":\"x\\uD834\\uDD1Ey\"}"), PP_JSON_OK);
    EXPECT_STR(&c.v[0], "x\xf0\x9d\x84\x9ey");
    /* The same character raw. */
    ck_assert_int_eq(jparse(&c, "{\"s\":\"\xf0\x9f\x98\x80\"}"), PP_JSON_OK);
    EXPECT_STR(&c.v[0], "\xf0\x9f\x98\x80");
    jctx_cleanup(&c);
}
END_TEST

START_TEST(test_invalid_utf8)
{
    EXPECT_STATUS("{\"s\":\"\xff\"}", PP_JSON_INVALID_UTF8);
    EXPECT_STATUS("{\"s\":\"\xc0\xaf\"}", PP_JSON_INVALID_UTF8);         /* overlong */
    EXPECT_STATUS("{\"s\":\"\xe2\x82\"}", PP_JSON_INVALID_UTF8);         /* truncated */
    EXPECT_STATUS("{\"s\":\"\xed\xa0\x80\"}", PP_JSON_INVALID_UTF8);     /* surrogate */
    EXPECT_STATUS("{\"s\":\"\xf4\x90\x80\x80\"}", PP_JSON_INVALID_UTF8); /* > U+10FFFF */
    EXPECT_STATUS("{\"\xff\":1}", PP_JSON_INVALID_UTF8);                 /* in a key */
    EXPECT_STATUS("{\"zz\":\"\x80\",\"a\":1}", PP_JSON_INVALID_UTF8);    /* unwanted field */
    /* Bad bytes also break the structure: UTF-8 is still the reason. */
    EXPECT_STATUS("{\"a\":\xff}", PP_JSON_INVALID_UTF8);
    EXPECT_STATUS("\xff", PP_JSON_INVALID_UTF8);
    EXPECT_STATUS("[\"\xfe\"]", PP_JSON_INVALID_UTF8);
}
END_TEST

START_TEST(test_bad_escapes_invalid)
{
    EXPECT_STATUS("{\"s\":\"\\ud800\"}", PP_JSON_INVALID);        /* lone high */
    EXPECT_STATUS("{\"s\":\"\\udc00\"}", PP_JSON_INVALID);        /* lone low */
    EXPECT_STATUS("{\"s\":\"\\ud800\\u0041\"}", PP_JSON_INVALID); /* high + non-low */
    EXPECT_STATUS("{\"s\":\"\\ud800x\"}", PP_JSON_INVALID);
    EXPECT_STATUS("{\"s\":\"\\x41\"}", PP_JSON_INVALID);
    EXPECT_STATUS("{\"s\":\"\\a\"}", PP_JSON_INVALID);
    EXPECT_STATUS("{\"s\":\"\\u12\"}", PP_JSON_INVALID);
    EXPECT_STATUS("{\"s\":\"\\u12G4\"}", PP_JSON_INVALID);
    EXPECT_STATUS("{\"s\":\"\\\"}", PP_JSON_INVALID);
    /* In a field nobody asked for, and in a key. */
    EXPECT_STATUS("{\"zz\":\"\\ud800\",\"a\":1}", PP_JSON_INVALID);
    EXPECT_STATUS("{\"zz\":[\"\\q\"],\"a\":1}", PP_JSON_INVALID);
    EXPECT_STATUS("{\"\\ud800\":1}", PP_JSON_INVALID);
}
END_TEST

START_TEST(test_trailing_garbage_invalid)
{
    EXPECT_STATUS("{\"a\":1} x", PP_JSON_INVALID);
    EXPECT_STATUS("{\"a\":1}{}", PP_JSON_INVALID);
    EXPECT_STATUS("{\"a\":1},", PP_JSON_INVALID);
    EXPECT_STATUS("{\"a\":1}}", PP_JSON_INVALID);
    EXPECT_STATUS("{\"a\":1}\"", PP_JSON_INVALID);
    EXPECT_STATUS("{\"a\":1} 2", PP_JSON_INVALID);
    EXPECT_STATUS("[1] x", PP_JSON_INVALID);
    EXPECT_STATUS("1 2", PP_JSON_INVALID);
    EXPECT_STATUS("true x", PP_JSON_INVALID);
    EXPECT_STATUS("null x", PP_JSON_INVALID);
    /* Trailing whitespace is fine. */
    EXPECT_STATUS("{\"a\":1} \t\r\n", PP_JSON_OK);
    EXPECT_STATUS("[1] \n", PP_JSON_NOT_OBJECT);
    EXPECT_STATUS("\"s\" \n", PP_JSON_NOT_OBJECT);
}
END_TEST

/* A string at the root followed by more content is not one JSON value. */
START_TEST(test_root_string_trailing_garbage_invalid)
{
    EXPECT_STATUS("\"s\" x", PP_JSON_INVALID);
    EXPECT_STATUS("\"s\" \"t\"", PP_JSON_INVALID);
    EXPECT_STATUS("\"s\"}", PP_JSON_INVALID);
    EXPECT_STATUS("\"s\",", PP_JSON_INVALID);
}
END_TEST

START_TEST(test_truncated_and_malformed_invalid)
{
    EXPECT_STATUS("{\"a\":1", PP_JSON_INVALID);
    EXPECT_STATUS("{\"a\":", PP_JSON_INVALID);
    EXPECT_STATUS("{\"a\"", PP_JSON_INVALID);
    EXPECT_STATUS("{\"a", PP_JSON_INVALID);
    EXPECT_STATUS("{", PP_JSON_INVALID);
    EXPECT_STATUS("{\"s\":\"abc", PP_JSON_INVALID);
    EXPECT_STATUS("{\"a\":[1,2", PP_JSON_INVALID);
    EXPECT_STATUS("{a:1}", PP_JSON_INVALID);
    EXPECT_STATUS("{'a':1}", PP_JSON_INVALID);
    EXPECT_STATUS("{\"a\":1,}", PP_JSON_INVALID);
    EXPECT_STATUS("{\"a\" 1}", PP_JSON_INVALID);
    EXPECT_STATUS("{\"a\":1 \"b\":2}", PP_JSON_INVALID);
    EXPECT_STATUS("{\"a\":01}", PP_JSON_INVALID);
    EXPECT_STATUS("{\"a\":1.}", PP_JSON_INVALID);
    EXPECT_STATUS("{\"a\":.5}", PP_JSON_INVALID);
    EXPECT_STATUS("{\"a\":-}", PP_JSON_INVALID);
    EXPECT_STATUS("{\"a\":+1}", PP_JSON_INVALID);
    EXPECT_STATUS("{\"a\":1e}", PP_JSON_INVALID);
    EXPECT_STATUS("{\"a\":tru}", PP_JSON_INVALID);
    EXPECT_STATUS("{\"a\":nul}", PP_JSON_INVALID);
    EXPECT_STATUS("{\"a\":NaN}", PP_JSON_INVALID);
    EXPECT_STATUS("{\"zz\":[1,,2],\"a\":1}", PP_JSON_INVALID);
    EXPECT_STATUS("{\"zz\":01,\"a\":1}", PP_JSON_INVALID);
    EXPECT_STATUS("{\"zz\":truth,\"a\":1}", PP_JSON_INVALID);
}
END_TEST

/* A string followed by ':' where no key can be: simdjson's skip of an
 * unread value takes such a string for a key, so the string must be read
 * (found by tests/fuzz: {"records":[{"value":["":}]}]} was accepted). */
START_TEST(test_string_then_colon_invalid)
{
    EXPECT_STATUS("{\"zz\":[\"\":}]}", PP_JSON_INVALID);
    EXPECT_STATUS("{\"zz\":[[\"x\":}]]}", PP_JSON_INVALID);
    EXPECT_STATUS("{\"zz\":[0,\"x\":}]}", PP_JSON_INVALID);
    EXPECT_STATUS("{\"a\":[\"x\":}],\"s\":\"y\"}", PP_JSON_INVALID);
    EXPECT_STATUS("{\"s\":\"x\":{}}}", PP_JSON_INVALID);
    EXPECT_STATUS("{\"s\":\"x\":{},\"b\":2}}", PP_JSON_INVALID);
    EXPECT_STATUS("{\"zz\":\"x\":{}}}", PP_JSON_INVALID);
    EXPECT_STATUS("{\"zz\":[\"x\",\"y\\n\"],\"s\":\"x\"}", PP_JSON_OK);
}
END_TEST

START_TEST(test_empty_input_invalid)
{
    EXPECT_STATUS("", PP_JSON_INVALID);
    EXPECT_STATUS(" ", PP_JSON_INVALID);
    EXPECT_STATUS("\n", PP_JSON_INVALID);
    /* Padding bytes that look like JSON are not content. */
    {
        struct jctx c;

        jctx_init(&c, "a");
        ck_assert_int_eq(jparse_fill(&c, "", 0, '1'), PP_JSON_INVALID);
        ck_assert_int_eq(jparse_fill(&c, "{\"a\":1", 6, '}'), PP_JSON_INVALID);
        ck_assert_int_eq(jparse_fill(&c, "{\"a\":1}", 7, '1'), PP_JSON_OK);
        ck_assert_int_eq(c.v[0].i64, 1);
        jctx_cleanup(&c);
    }
}
END_TEST

START_TEST(test_root_not_object)
{
    EXPECT_STATUS("[1,2]", PP_JSON_NOT_OBJECT);
    EXPECT_STATUS("[]", PP_JSON_NOT_OBJECT);
    EXPECT_STATUS("[{\"a\":1}]", PP_JSON_NOT_OBJECT);
    EXPECT_STATUS("\"str\"", PP_JSON_NOT_OBJECT);
    EXPECT_STATUS("\"\"", PP_JSON_NOT_OBJECT);
    EXPECT_STATUS("42", PP_JSON_NOT_OBJECT);
    EXPECT_STATUS("-1.5e3", PP_JSON_NOT_OBJECT);
    EXPECT_STATUS("123456789012345678901234567890", PP_JSON_NOT_OBJECT);
    EXPECT_STATUS("null", PP_JSON_NOT_OBJECT);
    EXPECT_STATUS("true", PP_JSON_NOT_OBJECT);
    EXPECT_STATUS("false", PP_JSON_NOT_OBJECT);
    EXPECT_STATUS(" [ 1 ] \n", PP_JSON_NOT_OBJECT);
    /* ...but only when the root value itself is valid. */
    EXPECT_STATUS("[1,]", PP_JSON_INVALID);
    EXPECT_STATUS("[\"\\ud800\"]", PP_JSON_INVALID);
    EXPECT_STATUS("\"\\ud800\"", PP_JSON_INVALID);
    EXPECT_STATUS("\"abc", PP_JSON_INVALID);
    EXPECT_STATUS("nul", PP_JSON_INVALID);
    EXPECT_STATUS("01", PP_JSON_INVALID);
}
END_TEST

/* simdjson 3.0.1 read one byte too far after a root null or false and took
 * "nullx" and "falsex" for them, and refused a root scalar followed by more
 * whitespace than its small copy buffer holds ("true" and three spaces)
 * (found by tests/fuzz/fuzz_record.c). */
START_TEST(test_root_atom_whole_token)
{
    static const char *const invalid[] = {"nullx", "falsex", "false0", "truex",     "null0",
                                          "nully", "falsey", "null x", "true false"};
    static const char *const valid[] = {"null",    "false",          "true",
                                        "null ",   "false\n",        " true\r\n",
                                        "true   ", "\ttrue\t\t\t\t", "null \n \n "};
    char spaced[1200];
    struct jctx c;

    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++)
        expect_status(invalid[i], strlen(invalid[i]), PP_JSON_INVALID);
    for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++)
        expect_status(valid[i], strlen(valid[i]), PP_JSON_NOT_OBJECT);
    memset(spaced, ' ', sizeof spaced);
    spaced[0] = '1';
    expect_status(spaced, sizeof spaced, PP_JSON_NOT_OBJECT);
    memcpy(spaced, "-1.5", 4);
    expect_status(spaced, sizeof spaced, PP_JSON_NOT_OBJECT);
    /* Whatever follows in memory (the next record of a batch) is not the
     * document's. */
    jctx_init(&c, "a");
    ck_assert_int_eq(jparse_fill(&c, "null", 4, 'x'), PP_JSON_NOT_OBJECT);
    ck_assert_int_eq(jparse_fill(&c, "false", 5, '0'), PP_JSON_NOT_OBJECT);
    ck_assert_int_eq(jparse_fill(&c, "nul", 3, 'l'), PP_JSON_INVALID);
    jctx_cleanup(&c);
}
END_TEST

START_TEST(test_int64_range)
{
    struct jctx c;

    jctx_init(&c, "a b c d");
    ck_assert_int_eq(
        jparse(&c, "{\"a\":9223372036854775807,\"b\":-9223372036854775808,\"c\":0,\"d\":-0}"),
        PP_JSON_OK);
    ck_assert_int_eq(c.v[0].type, PP_JSON_INT);
    ck_assert(c.v[0].i64 == INT64_MAX);
    ck_assert_int_eq(c.v[1].type, PP_JSON_INT);
    ck_assert(c.v[1].i64 == INT64_MIN);
    ck_assert_int_eq(c.v[2].type, PP_JSON_INT);
    ck_assert(c.v[2].i64 == 0);
    ck_assert_int_eq(c.v[3].type, PP_JSON_INT);
    ck_assert(c.v[3].i64 == 0);
    jctx_cleanup(&c);
}
END_TEST

START_TEST(test_bigint)
{
    struct jctx c;

    jctx_init(&c, "a b c d e");
    ck_assert_int_eq(jparse(&c, "{\"a\":9223372036854775808,\"b\":-9223372036854775809,"
                                "\"c\":18446744073709551616,"
                                "\"d\":123456789012345678901234567890,"
                                "\"e\":-123456789012345678901234567890}"),
                     PP_JSON_OK);
    for (size_t i = 0; i < 5; i++)
        ck_assert_msg(c.v[i].type == PP_JSON_BIGINT, "field %zu: type %d, want BIGINT", i,
                      (int)c.v[i].type);
    /* 2^64 - 1 fits uint64 but not int64. */
    ck_assert_int_eq(jparse(&c, "{\"a\":18446744073709551615}"), PP_JSON_OK);
    ck_assert_int_eq(c.v[0].type, PP_JSON_BIGINT);
    /* A huge integer in a field nobody asked for is valid too. */
    ck_assert_int_eq(jparse(&c, "{\"zz\":1234567890123456789012345678901234567890,\"a\":1}"),
                     PP_JSON_OK);
    ck_assert_int_eq(c.v[0].type, PP_JSON_INT);
    /* Numbers beyond a double are valid JSON (RFC 8259's grammar) out of
     * range too, read or not; a malformed number stays invalid. */
    ck_assert_int_eq(jparse(&c, "{\"a\":1e400,\"b\":-1E+999,\"c\":1.5e400 ,\"d\":1e-400,"
                                "\"zz\":[1e400,-2.5e99999]}"),
                     PP_JSON_OK);
    for (size_t i = 0; i < 3; i++)
        ck_assert_msg(c.v[i].type == PP_JSON_BIGINT, "field %zu: type %d, want BIGINT", i,
                      (int)c.v[i].type);
    ck_assert_int_eq(c.v[3].type, PP_JSON_DOUBLE);
    ck_assert(c.v[3].f64 == 0.0);
    ck_assert_int_eq(jparse(&c, "{\"zz\":1e400x}"), PP_JSON_INVALID);
    ck_assert_int_eq(jparse(&c, "{\"a\":1.e400}"), PP_JSON_INVALID);
    ck_assert_int_eq(jparse(&c, "{\"a\":01e400}"), PP_JSON_INVALID);
    ck_assert_int_eq(jparse(&c, "{\"zz\":1e}"), PP_JSON_INVALID);
    ck_assert_int_eq(jparse(&c, "{\"zz\":-}"), PP_JSON_INVALID);
    jctx_cleanup(&c);
}
END_TEST

START_TEST(test_doubles)
{
    struct jctx c;

    jctx_init(&c, "a b c d e f");
    ck_assert_int_eq(
        jparse(&c, "{\"a\":1.5,\"b\":-0.25,\"c\":1e3,\"d\":1E-2,\"e\":2.5e+2,\"f\":1.0}"),
        PP_JSON_OK);
    for (size_t i = 0; i < 6; i++)
        ck_assert_msg(c.v[i].type == PP_JSON_DOUBLE, "field %zu: type %d, want DOUBLE", i,
                      (int)c.v[i].type);
    ck_assert(c.v[0].f64 == 1.5);
    ck_assert(c.v[1].f64 == -0.25);
    ck_assert(c.v[2].f64 == 1000.0);
    ck_assert(c.v[3].f64 == 0.01);
    ck_assert(c.v[4].f64 == 250.0);
    ck_assert(c.v[5].f64 == 1.0);
    jctx_cleanup(&c);
}
END_TEST

/* depth nested arrays ("[[...]]") or objects ("{"a":{"a":...1}}"), inside
 * {"a": ...} when is_in_object, else at the root. */
static char *nested(size_t depth, bool is_in_object, bool is_objects, size_t *len)
{
    char *s = malloc(6 * depth + 16);
    size_t n = 0;
    size_t i;

    ck_assert_ptr_nonnull(s);
    if (is_in_object) {
        memcpy(s, "{\"a\":", 5);
        n = 5;
    }
    for (i = 0; i < depth; i++) {
        if (is_objects) {
            memcpy(s + n, "{\"a\":", 5);
            n += 5;
        } else {
            s[n++] = '[';
        }
    }
    if (is_objects)
        s[n++] = '1';
    for (i = 0; i < depth; i++)
        s[n++] = is_objects ? '}' : ']';
    if (is_in_object)
        s[n++] = '}';
    *len = n;
    return s;
}

START_TEST(test_deep_nesting)
{
    struct jctx c;
    size_t len;
    char *s;

    jctx_init(&c, "a");
    /* Wanted field, unwanted field, the root, and nested objects. */
    s = nested(10000, true, false, &len);
    ck_assert_int_eq(jparse_len(&c, s, len), PP_JSON_INVALID);
    free(s);
    s = nested(10000, false, false, &len);
    ck_assert_int_eq(jparse_len(&c, s, len), PP_JSON_INVALID);
    free(s);
    s = nested(10000, true, true, &len);
    ck_assert_int_eq(jparse_len(&c, s, len), PP_JSON_INVALID);
    free(s);
    jctx_cleanup(&c);

    jctx_init(&c, "zz");
    s = nested(10000, true, false, &len);
    ck_assert_int_eq(jparse_len(&c, s, len), PP_JSON_INVALID);
    free(s);
    /* Moderate nesting is fine. */
    s = nested(100, true, false, &len);
    ck_assert_int_eq(jparse_len(&c, s, len), PP_JSON_OK);
    free(s);
    s = nested(100, false, false, &len);
    ck_assert_int_eq(jparse_len(&c, s, len), PP_JSON_NOT_OBJECT);
    free(s);
    jctx_cleanup(&c);
}
END_TEST

START_TEST(test_control_chars_invalid)
{
    EXPECT_STATUS("{\"s\":\"a\x01"
                  "b\"}",
                  PP_JSON_INVALID);
    EXPECT_STATUS("{\"s\":\"a\tb\"}", PP_JSON_INVALID);
    EXPECT_STATUS("{\"s\":\"a\nb\"}", PP_JSON_INVALID);
    EXPECT_STATUS("{\"s\":\"a\x1f\"}", PP_JSON_INVALID);
    EXPECT_STATUS("{\"zz\":\"a\x02\",\"a\":1}", PP_JSON_INVALID);
    EXPECT_STATUS("{\"a\x03\":1}", PP_JSON_INVALID);
    EXPECT_STATUS("\"a\x01\"", PP_JSON_INVALID);
    /* NUL inside a string. */
    expect_status("{\"s\":\"a\0b\"}", 11, PP_JSON_INVALID);
    /* DEL (0x7f) needs no escape. */
    EXPECT_STATUS("{\"s\":\"a\x7f\"}", PP_JSON_OK);
}
END_TEST

START_TEST(test_parser_reuse)
{
    struct jctx c;
    int i;

    /* Failures leave the parser usable for the next record. */
    jctx_init(&c, "a");
    for (i = 0; i < 100; i++) {
        char doc[64];
        int n = snprintf(doc, sizeof doc, "{\"a\":%d}", i);
        ck_assert_int_eq(jparse_len(&c, doc, (size_t)n), PP_JSON_OK);
        ck_assert_int_eq(c.v[0].i64, i);
        ck_assert_int_eq(jparse(&c, "{\"a\":"), PP_JSON_INVALID);
        ck_assert_int_eq(jparse(&c, "[1]"), PP_JSON_NOT_OBJECT);
        ck_assert_int_eq(jparse(&c, "{\"a\":\"\xff\"}"), PP_JSON_INVALID_UTF8);
    }
    jctx_cleanup(&c);
}
END_TEST

static Suite *json_suite(void)
{
    Suite *s = suite_create("json");

    PP_CHECK_TCASE(s, test_valid_object);
    PP_CHECK_TCASE(s, test_field_order_independent);
    PP_CHECK_TCASE(s, test_duplicate_first_wins);
    PP_CHECK_TCASE(s, test_strings_borrowed_or_unescaped);
    PP_CHECK_TCASE(s, test_surrogate_pairs);
    PP_CHECK_TCASE(s, test_invalid_utf8);
    PP_CHECK_TCASE(s, test_bad_escapes_invalid);
    PP_CHECK_TCASE(s, test_trailing_garbage_invalid);
    PP_CHECK_TCASE(s, test_root_string_trailing_garbage_invalid);
    PP_CHECK_TCASE(s, test_truncated_and_malformed_invalid);
    PP_CHECK_TCASE(s, test_string_then_colon_invalid);
    PP_CHECK_TCASE(s, test_empty_input_invalid);
    PP_CHECK_TCASE(s, test_root_not_object);
    PP_CHECK_TCASE(s, test_root_atom_whole_token);
    PP_CHECK_TCASE(s, test_int64_range);
    PP_CHECK_TCASE(s, test_bigint);
    PP_CHECK_TCASE(s, test_doubles);
    PP_CHECK_TCASE(s, test_deep_nesting);
    PP_CHECK_TCASE(s, test_control_chars_invalid);
    PP_CHECK_TCASE(s, test_parser_reuse);
    return s;
}

PP_CHECK_MAIN(json_suite)
