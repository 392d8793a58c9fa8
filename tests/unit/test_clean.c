/*
 * Unit tests of pp_clean: the cleaning rules of SPEC 2, the rejects of
 * SPEC 3 and docs/semantics.md, the cleaned-record JSON and the clean stage.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pp_batch.h"
#include "pp_check.h"
#include "pp_clean.h"
#include "pp_json.h"
#include "pp_time.h"

/* ---- helpers --------------------------------------------------------------- */

#define MAX_INPUTS 64

/* A cleaner plus the inputs it was given: cleaned records are views into
 * them, so they stay alive until cctx_cleanup(). */
struct cctx {
    struct pp_clean *clean;
    struct pp_arena arena;
    char *inputs[MAX_INPUTS];
    size_t n_inputs;
};

static void cctx_init_max(struct cctx *c, size_t max_record_bytes)
{
    memset(c, 0, sizeof *c);
    c->clean = pp_clean_new(max_record_bytes);
    ck_assert_ptr_nonnull(c->clean);
    pp_arena_init(&c->arena, 0);
}

static void cctx_init(struct cctx *c)
{
    cctx_init_max(c, PP_CLEAN_DEFAULT_MAX_RECORD_BYTES);
}

static void cctx_cleanup(struct cctx *c)
{
    size_t i;

    for (i = 0; i < c->n_inputs; i++)
        free(c->inputs[i]);
    pp_clean_destroy(c->clean);
    pp_arena_cleanup(&c->arena);
}

static enum pp_reject clean_len(struct cctx *c, enum pp_topic topic, const char *text, size_t len,
                                struct pp_clean_record *rec)
{
    enum pp_err err = PP_ERR_INTERNAL;
    enum pp_reject reason;
    char *buf;

    ck_assert(c->n_inputs < MAX_INPUTS);
    buf = pp_check_copy(text, len, PP_JSON_PADDING, ' ');
    c->inputs[c->n_inputs++] = buf;
    memset(rec, 0, sizeof *rec);
    reason =
        pp_clean_record(c->clean, topic, buf, len, len + PP_JSON_PADDING, &c->arena, rec, &err);
    ck_assert_int_eq(err, PP_OK);
    return reason;
}

static enum pp_reject clean_one(struct cctx *c, enum pp_topic topic, const char *text,
                                struct pp_clean_record *rec)
{
    return clean_len(c, topic, text, strlen(text), rec);
}

/* Cleans a record that must be accepted. */
static void clean_ok(struct cctx *c, enum pp_topic topic, const char *text,
                     struct pp_clean_record *rec)
{
    enum pp_reject reason = clean_one(c, topic, text, rec);

    ck_assert_msg(reason == PP_REJECT_NONE, "%s: rejected as %s", text, pp_reject_name(reason));
    ck_assert_int_eq(rec->topic, topic);
}

static void expect_text(struct pp_str s, const char *want)
{
    if (want == NULL) {
        ck_assert_msg(s.ptr == NULL, "want null, got \"%.*s\"", (int)s.len, s.ptr);
        return;
    }
    ck_assert_msg(s.ptr != NULL, "want \"%s\", got null", want);
    ck_assert_msg(pp_str_eq_cstr(s, want), "want \"%s\", got \"%.*s\"", want, (int)s.len, s.ptr);
}

/*
 * Records from a field table: every field has a default raw JSON value; a
 * non-NULL override replaces it, and the override "" leaves the field out.
 */
struct field {
    const char *name;
    const char *dflt;
};

static char *obj_json(const struct field *fields, const char *const *values, size_t n)
{
    struct pp_buf b;
    bool is_first = true;
    size_t i;

    pp_buf_init(&b);
    ck_assert_int_eq(pp_buf_append_str(&b, "{"), PP_OK);
    for (i = 0; i < n; i++) {
        const char *v = values[i] ? values[i] : fields[i].dflt;
        if (v[0] == '\0')
            continue;
        ck_assert_int_eq(pp_buf_printf(&b, "%s\"%s\":%s", is_first ? "" : ",", fields[i].name, v),
                         PP_OK);
        is_first = false;
    }
    ck_assert_int_eq(pp_buf_append_str(&b, "}"), PP_OK);
    return b.data;
}

struct pin_fields {
    const char *index, *unique_id, *title, *description, *poster_name, *follower_count, *tag_list,
        *is_image_or_video, *image_src, *downloaded, *save_location, *category;
};

static const struct field pin_table[] = {
    {"index", "1"},
    {"unique_id", "\"u-1\""},
    {"title", "\"A title\""},
    {"description", "\"A description\""},
    {"poster_name", "\"Poster\""},
    {"follower_count", "\"437\""},
    {"tag_list", "\"a,b\""},
    {"is_image_or_video", "\"image\""},
    {"image_src", "\"https://x/y.jpg\""},
    {"downloaded", "1"},
    {"save_location", "\"Local save in /data/art\""},
    {"category", "\"art\""},
};

static char *pin_json(struct pin_fields f)
{
    const char *const v[] = {f.index,       f.unique_id,      f.title,         f.description,
                             f.poster_name, f.follower_count, f.tag_list,      f.is_image_or_video,
                             f.image_src,   f.downloaded,     f.save_location, f.category};
    return obj_json(pin_table, v, sizeof pin_table / sizeof pin_table[0]);
}

struct geo_fields {
    const char *ind, *timestamp, *latitude, *longitude, *country;
};

static const struct field geo_table[] = {
    {"ind", "1"},
    {"timestamp", "\"2020-03-04 05:06:07\""},
    {"latitude", "10.5"},
    {"longitude", "-20.25"},
    {"country", "\"Albania\""},
};

static char *geo_json(struct geo_fields f)
{
    const char *const v[] = {f.ind, f.timestamp, f.latitude, f.longitude, f.country};
    return obj_json(geo_table, v, sizeof geo_table / sizeof geo_table[0]);
}

struct user_fields {
    const char *ind, *first_name, *last_name, *age, *date_joined;
};

static const struct field user_table[] = {
    {"ind", "1"},
    {"first_name", "\"Ann\""},
    {"last_name", "\"Lee\""},
    {"age", "30"},
    {"date_joined", "\"2016-05-06 07:08:09\""},
};

static char *user_json(struct user_fields f)
{
    const char *const v[] = {f.ind, f.first_name, f.last_name, f.age, f.date_joined};
    return obj_json(user_table, v, sizeof user_table / sizeof user_table[0]);
}

/* Cleans a generated (heap) record that must be accepted, then frees the
 * text (the clean context keeps its own copy). */
static void clean_gen(struct cctx *c, enum pp_topic topic, char *json, struct pp_clean_record *rec)
{
    clean_ok(c, topic, json, rec);
    free(json);
}

#define PIN(...) pin_json((struct pin_fields){__VA_ARGS__})
#define GEO(...) geo_json((struct geo_fields){__VA_ARGS__})
#define USER(...) user_json((struct user_fields){__VA_ARGS__})

static struct pp_json_value jv_string(const char *s)
{
    struct pp_json_value v;

    memset(&v, 0, sizeof v);
    v.type = PP_JSON_STRING;
    v.str = pp_str_make(s, strlen(s));
    return v;
}

static struct pp_json_value jv_int(int64_t i)
{
    struct pp_json_value v;

    memset(&v, 0, sizeof v);
    v.type = PP_JSON_INT;
    v.i64 = i;
    return v;
}

static struct pp_json_value jv_double(double d)
{
    struct pp_json_value v;

    memset(&v, 0, sizeof v);
    v.type = PP_JSON_DOUBLE;
    v.f64 = d;
    return v;
}

static struct pp_json_value jv_type(enum pp_json_type type)
{
    struct pp_json_value v;

    memset(&v, 0, sizeof v);
    v.type = type;
    return v;
}

/* ---- text columns ------------------------------------------------------------ */

START_TEST(test_placeholders_nulled)
{
    struct cctx c;
    struct pp_clean_record r;

    cctx_init(&c);
    clean_gen(&c, PP_TOPIC_PIN,
              PIN(.title = "\"No Title Data Available\"",
                  .description = "\"No description available Story format\"",
                  .poster_name = "\"User Info Error\"", .follower_count = "\"User Info Error\"",
                  .tag_list = "\"N,o, ,T,a,g,s, ,A,v,a,i,l,a,b,l,e\"",
                  .image_src = "\"Image src error.\""),
              &r);
    expect_text(r.u.pin.title, NULL);
    expect_text(r.u.pin.description, NULL);
    expect_text(r.u.pin.poster_name, NULL);
    ck_assert(!r.u.pin.has_follower_count);
    expect_text(r.u.pin.tag_list, NULL);
    expect_text(r.u.pin.image_src, NULL);
    /* The other columns are untouched. */
    expect_text(r.u.pin.unique_id, "u-1");
    expect_text(r.u.pin.is_image_or_video, "image");
    expect_text(r.u.pin.save_location, "/data/art");
    expect_text(r.u.pin.category, "art");

    clean_gen(&c, PP_TOPIC_PIN, PIN(.description = "\"No description available\""), &r);
    expect_text(r.u.pin.description, NULL);
    /* A placeholder spelled with escapes is the same value once unescaped. */
    clean_gen(&c, PP_TOPIC_PIN, PIN(.title = "\"No Title Data \\u0041vailable\""), &r);
    expect_text(r.u.pin.title, NULL);
    cctx_cleanup(&c);
}
END_TEST

START_TEST(test_placeholder_near_misses_kept)
{
    struct cctx c;
    struct pp_clean_record r;

    cctx_init(&c);
    clean_gen(&c, PP_TOPIC_PIN,
              PIN(.title = "\"No Title Data Available \"",
                  .description = "\"No description available Story format.\"",
                  .poster_name = "\" User Info Error\"",
                  .tag_list = "\"N,o, ,T,a,g,s, ,A,v,a,i,l,a,b,l,e \"",
                  .image_src = "\"Image src error\""),
              &r);
    expect_text(r.u.pin.title, "No Title Data Available ");
    expect_text(r.u.pin.description, "No description available Story format.");
    expect_text(r.u.pin.poster_name, " User Info Error");
    expect_text(r.u.pin.tag_list, "N,o, ,T,a,g,s, ,A,v,a,i,l,a,b,l,e ");
    expect_text(r.u.pin.image_src, "Image src error");

    /* Case matters. */
    clean_gen(&c, PP_TOPIC_PIN,
              PIN(.title = "\"no title data available\"",
                  .description = "\"No Description Available\"",
                  .poster_name = "\"User info error\"", .image_src = "\"image src error.\""),
              &r);
    expect_text(r.u.pin.title, "no title data available");
    expect_text(r.u.pin.description, "No Description Available");
    expect_text(r.u.pin.poster_name, "User info error");
    expect_text(r.u.pin.image_src, "image src error.");

    /* A placeholder belongs to its column only; NBSP is not a space. */
    clean_gen(&c, PP_TOPIC_PIN,
              PIN(.title = "\"User Info Error\"", .poster_name = "\"No Title Data Available\"",
                  .description = "\"No description available \"",
                  .category = "\"Image src error.\"",
                  .tag_list = "\"No\\u00a0Title Data Available\""),
              &r);
    expect_text(r.u.pin.title, "User Info Error");
    expect_text(r.u.pin.poster_name, "No Title Data Available");
    expect_text(r.u.pin.description, "No description available ");
    expect_text(r.u.pin.category, "Image src error.");
    expect_text(r.u.pin.tag_list, "No\xc2\xa0Title Data Available");

    /* Geo and user text has no placeholders. */
    clean_gen(&c, PP_TOPIC_GEO, GEO(.country = "\"User Info Error\""), &r);
    expect_text(r.u.geo.country, "User Info Error");
    clean_gen(&c, PP_TOPIC_USER,
              USER(.first_name = "\"User Info Error\"", .last_name = "\"Image src error.\""), &r);
    expect_text(r.u.user.user_name, "User Info Error Image src error.");
    cctx_cleanup(&c);
}
END_TEST

START_TEST(test_empty_strings_null)
{
    struct cctx c;
    struct pp_clean_record r;

    cctx_init(&c);
    clean_gen(&c, PP_TOPIC_PIN,
              PIN(.unique_id = "\"\"", .title = "\"\"", .description = "\"\"",
                  .poster_name = "\"\"", .follower_count = "\"\"", .tag_list = "\"\"",
                  .is_image_or_video = "\"\"", .image_src = "\"\"", .save_location = "\"\"",
                  .category = "\"\""),
              &r);
    expect_text(r.u.pin.unique_id, NULL);
    expect_text(r.u.pin.title, NULL);
    expect_text(r.u.pin.description, NULL);
    expect_text(r.u.pin.poster_name, NULL);
    ck_assert(!r.u.pin.has_follower_count);
    expect_text(r.u.pin.tag_list, NULL);
    expect_text(r.u.pin.is_image_or_video, NULL);
    expect_text(r.u.pin.image_src, NULL);
    expect_text(r.u.pin.save_location, NULL);
    expect_text(r.u.pin.category, NULL);

    clean_gen(&c, PP_TOPIC_GEO, GEO(.country = "\"\"", .timestamp = "\"\""), &r);
    expect_text(r.u.geo.country, NULL);
    ck_assert(!r.u.geo.has_timestamp);
    clean_gen(&c, PP_TOPIC_USER,
              USER(.first_name = "\"\"", .last_name = "\"\"", .age = "\"\"", .date_joined = "\"\""),
              &r);
    expect_text(r.u.user.user_name, NULL);
    ck_assert(!r.u.user.has_age);
    ck_assert(!r.u.user.has_date_joined);

    /* Spaces are not trimmed: a blank string is a value. */
    clean_gen(&c, PP_TOPIC_PIN, PIN(.title = "\" \""), &r);
    expect_text(r.u.pin.title, " ");
    cctx_cleanup(&c);
}
END_TEST

START_TEST(test_non_string_text_null)
{
    struct cctx c;
    struct pp_clean_record r;

    cctx_init(&c);
    clean_gen(&c, PP_TOPIC_PIN,
              PIN(.unique_id = "1.5", .title = "5", .description = "true", .poster_name = "null",
                  .tag_list = "[\"a\",\"b\"]", .is_image_or_video = "{\"a\":1}",
                  .image_src = "false", .save_location = "0", .category = "[]"),
              &r);
    expect_text(r.u.pin.unique_id, NULL);
    expect_text(r.u.pin.title, NULL);
    expect_text(r.u.pin.description, NULL);
    expect_text(r.u.pin.poster_name, NULL);
    expect_text(r.u.pin.tag_list, NULL);
    expect_text(r.u.pin.is_image_or_video, NULL);
    expect_text(r.u.pin.image_src, NULL);
    expect_text(r.u.pin.save_location, NULL);
    expect_text(r.u.pin.category, NULL);

    clean_gen(&c, PP_TOPIC_GEO, GEO(.country = "42", .timestamp = "1583298367"), &r);
    expect_text(r.u.geo.country, NULL);
    ck_assert(!r.u.geo.has_timestamp);
    clean_gen(&c, PP_TOPIC_USER, USER(.first_name = "1", .last_name = "{}", .date_joined = "null"),
              &r);
    expect_text(r.u.user.user_name, NULL);
    ck_assert(!r.u.user.has_date_joined);

    /* Missing fields are null too. */
    clean_ok(&c, PP_TOPIC_PIN, "{\"index\":3}", &r);
    ck_assert(r.ind == 3);
    expect_text(r.u.pin.unique_id, NULL);
    expect_text(r.u.pin.title, NULL);
    ck_assert(!r.u.pin.has_follower_count);
    expect_text(r.u.pin.category, NULL);
    clean_ok(&c, PP_TOPIC_GEO, "{\"ind\":3,\"extra\":[1,{\"x\":null}]}", &r);
    expect_text(r.u.geo.country, NULL);
    ck_assert(!r.u.geo.has_coordinates);
    ck_assert(!r.u.geo.has_timestamp);
    clean_ok(&c, PP_TOPIC_USER, "{\"ind\":3}", &r);
    expect_text(r.u.user.user_name, NULL);
    ck_assert(!r.u.user.has_age);
    cctx_cleanup(&c);
}
END_TEST

START_TEST(test_text_pp_clean_text)
{
    static const char *const ph[] = {"X", "YY"};
    struct pp_json_value v;

    v = jv_string("X");
    expect_text(pp_clean_text(&v, ph, 2), NULL);
    v = jv_string("YY");
    expect_text(pp_clean_text(&v, ph, 2), NULL);
    v = jv_string("Y");
    expect_text(pp_clean_text(&v, ph, 2), "Y");
    v = jv_string("XX");
    expect_text(pp_clean_text(&v, ph, 2), "XX");
    v = jv_string("X");
    expect_text(pp_clean_text(&v, NULL, 0), "X");
    v = jv_string("");
    expect_text(pp_clean_text(&v, NULL, 0), NULL);
    v = jv_int(1);
    expect_text(pp_clean_text(&v, NULL, 0), NULL);
    v = jv_type(PP_JSON_ABSENT);
    expect_text(pp_clean_text(&v, NULL, 0), NULL);
}
END_TEST

/* ---- follower_count --------------------------------------------------------------- */

static void expect_fc(struct pp_json_value v, int64_t want)
{
    int64_t got = INT64_MIN + 1;

    ck_assert_msg(pp_clean_follower_count(&v, &got), "\"%.*s\" should give %lld", (int)v.str.len,
                  v.str.ptr ? v.str.ptr : "", (long long)want);
    ck_assert_msg(got == want, "\"%.*s\": got %lld, want %lld", (int)v.str.len,
                  v.str.ptr ? v.str.ptr : "", (long long)got, (long long)want);
}

static void expect_fc_null(struct pp_json_value v)
{
    int64_t got = 0;

    ck_assert_msg(!pp_clean_follower_count(&v, &got), "\"%.*s\" should be null, got %lld",
                  (int)v.str.len, v.str.ptr ? v.str.ptr : "", (long long)got);
}

START_TEST(test_follower_count_strings)
{
    expect_fc(jv_string("437"), 437);
    expect_fc(jv_string("0"), 0);
    expect_fc(jv_string("007"), 7);
    expect_fc(jv_string("79k"), 79000);
    expect_fc(jv_string("79K"), 79000);
    expect_fc(jv_string("2M"), 2000000);
    expect_fc(jv_string("2m"), 2000000);
    expect_fc(jv_string("3B"), INT64_C(3000000000));
    expect_fc(jv_string("3b"), INT64_C(3000000000));
    expect_fc(jv_string("1.5k"), 1500);
    expect_fc(jv_string("1.2345k"), 1234);
    expect_fc(jv_string("1.9999k"), 1999);
    expect_fc(jv_string("0.5k"), 500);
    expect_fc(jv_string("2.5M"), 2500000);
    expect_fc(jv_string("1.000000001B"), INT64_C(1000000001));
    expect_fc(jv_string("1.0000000019B"), INT64_C(1000000001));
    expect_fc(jv_string(" 12 k "), 12000);
    expect_fc(jv_string("12k "), 12000);
    expect_fc(jv_string("  12"), 12);
    expect_fc(jv_string("12 "), 12);
    expect_fc(jv_string("12.9"), 12);
    expect_fc(jv_string("12.0"), 12);
    expect_fc(jv_string("9223372036854775807"), INT64_MAX);
    expect_fc(jv_string("9223372036854.775807M"), INT64_MAX);
    expect_fc(jv_string("9223372036.854775807B"), INT64_MAX);
}
END_TEST

START_TEST(test_follower_count_strings_null)
{
    static const char *const bad[] = {
        "1,000",  "-5",          "+5",   "1.5e3", "k",
        "1.k",    ".5k",         "",     " ",     "12kk",
        "12 k k", "1 2",         "12\t", "\t12",  "User Info Error",
        "12x",    "1.5.5",       "1..5", "12k.",  "0x10",
        "NaN",    "12\xc2\xa0k", "k12",  "12 kb", "1e3",
    };
    size_t i;

    for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_fc_null(jv_string(bad[i]));
}
END_TEST

START_TEST(test_follower_count_json_values)
{
    expect_fc(jv_int(437), 437);
    expect_fc(jv_int(0), 0);
    expect_fc(jv_int(-5), -5);
    expect_fc(jv_int(INT64_MAX), INT64_MAX);
    expect_fc(jv_int(INT64_MIN), INT64_MIN);
    expect_fc_null(jv_double(1500.0));
    expect_fc_null(jv_double(1.5));
    expect_fc_null(jv_type(PP_JSON_BIGINT));
    expect_fc_null(jv_type(PP_JSON_NULL));
    expect_fc_null(jv_type(PP_JSON_ABSENT));
    expect_fc_null(jv_type(PP_JSON_BOOL));
    expect_fc_null(jv_type(PP_JSON_ARRAY));
    expect_fc_null(jv_type(PP_JSON_OBJECT));
}
END_TEST

START_TEST(test_follower_count_above_int64_null)
{
    expect_fc_null(jv_string("9223372036854775808"));
    expect_fc_null(jv_string("99999999999999999999"));
    expect_fc_null(jv_string("9223372036854775.808k"));
    expect_fc_null(jv_string("9223372036855M"));
    expect_fc_null(jv_string("9300000000B"));
    expect_fc_null(jv_string("10000000000000M"));
}
END_TEST

START_TEST(test_follower_count_in_records)
{
    struct cctx c;
    struct pp_clean_record r;

    cctx_init(&c);
    clean_gen(&c, PP_TOPIC_PIN, PIN(.follower_count = "\"79k\""), &r);
    ck_assert(r.u.pin.has_follower_count);
    ck_assert(r.u.pin.follower_count == 79000);
    clean_gen(&c, PP_TOPIC_PIN, PIN(.follower_count = "-5"), &r);
    ck_assert(r.u.pin.has_follower_count);
    ck_assert(r.u.pin.follower_count == -5);
    clean_gen(&c, PP_TOPIC_PIN, PIN(.follower_count = "1500.0"), &r);
    ck_assert(!r.u.pin.has_follower_count);
    clean_gen(&c, PP_TOPIC_PIN, PIN(.follower_count = "9223372036854775808"), &r);
    ck_assert(!r.u.pin.has_follower_count);
    clean_gen(&c, PP_TOPIC_PIN, PIN(.follower_count = "\"1.2345k\""), &r);
    ck_assert(r.u.pin.follower_count == 1234);
    cctx_cleanup(&c);
}
END_TEST

/* ---- integers, numbers ------------------------------------------------------------ */

static void expect_int(struct pp_json_value v, bool ok, int64_t want)
{
    int64_t got = 12345;

    ck_assert_msg(pp_clean_integer(&v, &got) == ok, "\"%.*s\" (type %d): want %s", (int)v.str.len,
                  v.str.ptr ? v.str.ptr : "", (int)v.type, ok ? "ok" : "null");
    if (ok)
        ck_assert_msg(got == want, "got %lld, want %lld", (long long)got, (long long)want);
}

START_TEST(test_integer_rules)
{
    expect_int(jv_int(25), true, 25);
    expect_int(jv_int(-3), true, -3);
    expect_int(jv_string("25"), true, 25);
    expect_int(jv_string("0"), true, 0);
    expect_int(jv_string("007"), true, 7);
    expect_int(jv_string("9223372036854775807"), true, INT64_MAX);
    expect_int(jv_string("9223372036854775808"), false, 0);
    expect_int(jv_string("-3"), false, 0);
    expect_int(jv_string("+3"), false, 0);
    expect_int(jv_string("3.0"), false, 0);
    expect_int(jv_string(" 3"), false, 0);
    expect_int(jv_string("3 "), false, 0);
    expect_int(jv_string(""), false, 0);
    expect_int(jv_string("3a"), false, 0);
    expect_int(jv_string("\xd9\xa3"), false, 0); /* ARABIC-INDIC DIGIT THREE */
    expect_int(jv_double(3.0), false, 0);
    expect_int(jv_type(PP_JSON_BIGINT), false, 0);
    expect_int(jv_type(PP_JSON_BOOL), false, 0);
    expect_int(jv_type(PP_JSON_NULL), false, 0);
    expect_int(jv_type(PP_JSON_ABSENT), false, 0);
}
END_TEST

START_TEST(test_age_in_records)
{
    struct cctx c;
    struct pp_clean_record r;

    cctx_init(&c);
    clean_gen(&c, PP_TOPIC_USER, USER(.age = "25"), &r);
    ck_assert(r.u.user.has_age);
    ck_assert(r.u.user.age == 25);
    clean_gen(&c, PP_TOPIC_USER, USER(.age = "\"40\""), &r);
    ck_assert(r.u.user.has_age);
    ck_assert(r.u.user.age == 40);
    clean_gen(&c, PP_TOPIC_USER, USER(.age = "-3"), &r);
    ck_assert(r.u.user.has_age);
    ck_assert(r.u.user.age == -3);
    clean_gen(&c, PP_TOPIC_USER, USER(.age = "\"-3\""), &r);
    ck_assert(!r.u.user.has_age);
    clean_gen(&c, PP_TOPIC_USER, USER(.age = "\"3.0\""), &r);
    ck_assert(!r.u.user.has_age);
    clean_gen(&c, PP_TOPIC_USER, USER(.age = "\" 3\""), &r);
    ck_assert(!r.u.user.has_age);
    clean_gen(&c, PP_TOPIC_USER, USER(.age = "3.0"), &r);
    ck_assert(!r.u.user.has_age);
    clean_gen(&c, PP_TOPIC_USER, USER(.age = "true"), &r);
    ck_assert(!r.u.user.has_age);
    clean_gen(&c, PP_TOPIC_USER, USER(.age = "99999999999999999999"), &r);
    ck_assert(!r.u.user.has_age);
    cctx_cleanup(&c);
}
END_TEST

static void expect_num(struct pp_json_value v, bool ok, double want)
{
    double got = 12345.0;

    ck_assert_msg(pp_clean_number(&v, &got) == ok, "\"%.*s\" (type %d): want %s", (int)v.str.len,
                  v.str.ptr ? v.str.ptr : "", (int)v.type, ok ? "ok" : "null");
    if (ok)
        ck_assert_msg(got == want, "got %.17g, want %.17g", got, want);
}

START_TEST(test_number_rules)
{
    expect_num(jv_int(10), true, 10.0);
    expect_num(jv_int(-7), true, -7.0);
    expect_num(jv_double(-45.5), true, -45.5);
    expect_num(jv_string("12.5"), true, 12.5);
    expect_num(jv_string("-0.5"), true, -0.5);
    expect_num(jv_string("0"), true, 0.0);
    expect_num(jv_string("1e2"), true, 100.0);
    expect_num(jv_string("-1.5E-1"), true, -0.15);
    expect_num(jv_string("40.7128"), true, 40.7128);
    expect_num(jv_string(" 12"), false, 0);
    expect_num(jv_string("12 "), false, 0);
    expect_num(jv_string(""), false, 0);
    expect_num(jv_string("abc"), false, 0);
    expect_num(jv_string("0x10"), false, 0);
    expect_num(jv_string("1."), false, 0);
    expect_num(jv_string(".5"), false, 0);
    expect_num(jv_string("01"), false, 0);
    expect_num(jv_string("+1"), false, 0);
    expect_num(jv_string("NaN"), false, 0);
    expect_num(jv_string("inf"), false, 0);
    expect_num(jv_string("1e999"), false, 0);
    expect_num(jv_string("1,5"), false, 0);
    expect_num(jv_type(PP_JSON_BOOL), false, 0);
    expect_num(jv_type(PP_JSON_NULL), false, 0);
    expect_num(jv_type(PP_JSON_ABSENT), false, 0);
    expect_num(jv_type(PP_JSON_ARRAY), false, 0);
}
END_TEST

START_TEST(test_coordinates)
{
    struct cctx c;
    struct pp_clean_record r;

    cctx_init(&c);
    clean_gen(&c, PP_TOPIC_GEO, GEO(.latitude = "-45.5", .longitude = "\"12.25\""), &r);
    ck_assert(r.u.geo.has_coordinates);
    ck_assert(r.u.geo.latitude == -45.5);
    ck_assert(r.u.geo.longitude == 12.25);
    clean_gen(&c, PP_TOPIC_GEO, GEO(.latitude = "10", .longitude = "-20"), &r);
    ck_assert(r.u.geo.has_coordinates);
    ck_assert(r.u.geo.latitude == 10.0);
    ck_assert(r.u.geo.longitude == -20.0);
    /* Either one null makes the pair null. */
    clean_gen(&c, PP_TOPIC_GEO, GEO(.latitude = "null"), &r);
    ck_assert(!r.u.geo.has_coordinates);
    clean_gen(&c, PP_TOPIC_GEO, GEO(.longitude = "\"abc\""), &r);
    ck_assert(!r.u.geo.has_coordinates);
    clean_gen(&c, PP_TOPIC_GEO, GEO(.latitude = ""), &r);
    ck_assert(!r.u.geo.has_coordinates);
    clean_gen(&c, PP_TOPIC_GEO, GEO(.longitude = ""), &r);
    ck_assert(!r.u.geo.has_coordinates);
    clean_gen(&c, PP_TOPIC_GEO, GEO(.latitude = "\" 1\""), &r);
    ck_assert(!r.u.geo.has_coordinates);
    clean_gen(&c, PP_TOPIC_GEO, GEO(.longitude = "true"), &r);
    ck_assert(!r.u.geo.has_coordinates);
    cctx_cleanup(&c);
}
END_TEST

START_TEST(test_timestamps_in_records)
{
    struct cctx c;
    struct pp_clean_record r;

    cctx_init(&c);
    clean_gen(&c, PP_TOPIC_GEO, GEO(.timestamp = "\"2019-01-01 00:30:00+01:00\""), &r);
    ck_assert(r.u.geo.has_timestamp);
    ck_assert(r.u.geo.timestamp == INT64_C(1546299000));
    clean_gen(&c, PP_TOPIC_GEO, GEO(.timestamp = "\"2019-02-29 00:00:00\""), &r);
    ck_assert(!r.u.geo.has_timestamp);
    clean_gen(&c, PP_TOPIC_USER, USER(.date_joined = "\"2016:05:06 07:08:09.9Z\""), &r);
    ck_assert(r.u.user.has_date_joined);
    ck_assert(r.u.user.date_joined == INT64_C(1462518489));
    clean_gen(&c, PP_TOPIC_USER, USER(.date_joined = "\" 2016-05-06 07:08:09\""), &r);
    ck_assert(!r.u.user.has_date_joined);
    cctx_cleanup(&c);
}
END_TEST

/* ---- save_location, user_name, ind ---------------------------------------------------- */

START_TEST(test_save_location_prefix)
{
    struct cctx c;
    struct pp_clean_record r;

    cctx_init(&c);
    clean_gen(&c, PP_TOPIC_PIN, PIN(.save_location = "\"Local save in /data/art\""), &r);
    expect_text(r.u.pin.save_location, "/data/art");
    clean_gen(&c, PP_TOPIC_PIN, PIN(.save_location = "\"Local save in \""), &r);
    expect_text(r.u.pin.save_location, NULL);
    clean_gen(&c, PP_TOPIC_PIN, PIN(.save_location = "\"Local save in\""), &r);
    expect_text(r.u.pin.save_location, "Local save in");
    clean_gen(&c, PP_TOPIC_PIN, PIN(.save_location = "\"/data/x\""), &r);
    expect_text(r.u.pin.save_location, "/data/x");
    clean_gen(&c, PP_TOPIC_PIN, PIN(.save_location = "\"local save in /x\""), &r);
    expect_text(r.u.pin.save_location, "local save in /x");
    clean_gen(&c, PP_TOPIC_PIN, PIN(.save_location = "\" Local save in /x\""), &r);
    expect_text(r.u.pin.save_location, " Local save in /x");
    /* Only one leading prefix is dropped. */
    clean_gen(&c, PP_TOPIC_PIN, PIN(.save_location = "\"Local save in Local save in /x\""), &r);
    expect_text(r.u.pin.save_location, "Local save in /x");
    clean_gen(&c, PP_TOPIC_PIN, PIN(.save_location = "\"Local save in  \""), &r);
    expect_text(r.u.pin.save_location, " ");
    cctx_cleanup(&c);
}
END_TEST

START_TEST(test_user_name_join)
{
    struct cctx c;
    struct pp_clean_record r;

    cctx_init(&c);
    clean_gen(&c, PP_TOPIC_USER, USER(.first_name = "\"Ann\"", .last_name = "\"Lee\""), &r);
    expect_text(r.u.user.user_name, "Ann Lee");
    clean_gen(&c, PP_TOPIC_USER, USER(.first_name = "null", .last_name = "\"Lee\""), &r);
    expect_text(r.u.user.user_name, "Lee");
    clean_gen(&c, PP_TOPIC_USER, USER(.first_name = "", .last_name = "\"Lee\""), &r);
    expect_text(r.u.user.user_name, "Lee");
    clean_gen(&c, PP_TOPIC_USER, USER(.first_name = "\"Ann\"", .last_name = "\"\""), &r);
    expect_text(r.u.user.user_name, "Ann");
    clean_gen(&c, PP_TOPIC_USER, USER(.first_name = "\"Ann\"", .last_name = "7"), &r);
    expect_text(r.u.user.user_name, "Ann");
    clean_gen(&c, PP_TOPIC_USER, USER(.first_name = "null", .last_name = ""), &r);
    expect_text(r.u.user.user_name, NULL);
    clean_gen(&c, PP_TOPIC_USER, USER(.first_name = "\"Jos\\u00e9\"", .last_name = "\"O\\\"Neil\""),
              &r);
    expect_text(r.u.user.user_name, "Jos\xc3\xa9 O\"Neil");
    /* Nothing is trimmed: inner spaces stay. */
    clean_gen(&c, PP_TOPIC_USER, USER(.first_name = "\"Ann \"", .last_name = "\" Lee\""), &r);
    expect_text(r.u.user.user_name, "Ann   Lee");
    cctx_cleanup(&c);
}
END_TEST

START_TEST(test_index_renamed_ind)
{
    struct cctx c;
    struct pp_clean_record r;
    struct pp_buf out;

    cctx_init(&c);
    clean_gen(&c, PP_TOPIC_PIN, PIN(.index = "7528"), &r);
    ck_assert(r.ind == 7528);
    pp_buf_init(&out);
    ck_assert_int_eq(pp_clean_render_json(&r, &out), PP_OK);
    ck_assert_int_eq(strncmp(out.data, "{\"ind\":7528,", 12), 0);
    ck_assert_ptr_null(strstr(out.data, "\"index\""));
    ck_assert_ptr_null(strstr(out.data, "downloaded"));
    pp_buf_cleanup(&out);
    /* pin's key is "index" only; geo and user use "ind" only. */
    ck_assert_int_eq(clean_one(&c, PP_TOPIC_PIN, "{\"ind\":1}", &r), PP_REJECT_MISSING_KEY);
    ck_assert_int_eq(clean_one(&c, PP_TOPIC_GEO, "{\"index\":1}", &r), PP_REJECT_MISSING_KEY);
    ck_assert_int_eq(clean_one(&c, PP_TOPIC_USER, "{\"index\":1}", &r), PP_REJECT_MISSING_KEY);
    cctx_cleanup(&c);
}
END_TEST

/* ---- rejects --------------------------------------------------------------------------- */

static void expect_reject_len(struct cctx *c, enum pp_topic topic, const char *text, size_t len,
                              enum pp_reject want)
{
    struct pp_clean_record r;
    enum pp_reject got = clean_len(c, topic, text, len, &r);

    ck_assert_msg(got == want, "%.*s: %s, want %s", (int)len, text, pp_reject_name(got),
                  pp_reject_name(want));
}

static void expect_reject(struct cctx *c, enum pp_topic topic, const char *text,
                          enum pp_reject want)
{
    expect_reject_len(c, topic, text, strlen(text), want);
}

START_TEST(test_reject_too_large)
{
    struct cctx c;
    char rec[128];
    int n;

    cctx_init_max(&c, 64);
    /* Exactly at the limit is fine; one byte over is too large. */
    n = snprintf(rec, sizeof rec, "{\"index\":1,\"title\":\"%0*d\"}", 64 - 22, 0);
    ck_assert_int_eq(n, 64);
    expect_reject(&c, PP_TOPIC_PIN, rec, PP_REJECT_NONE);
    n = snprintf(rec, sizeof rec, "{\"index\":1,\"title\":\"%0*d\"}", 65 - 22, 0);
    ck_assert_int_eq(n, 65);
    expect_reject(&c, PP_TOPIC_PIN, rec, PP_REJECT_TOO_LARGE);
    /* Size is checked first: the later checks would fail too. */
    memset(rec, 0xff, 100);
    expect_reject_len(&c, PP_TOPIC_PIN, rec, 100, PP_REJECT_TOO_LARGE);
    memset(rec, '[', 100);
    expect_reject_len(&c, PP_TOPIC_GEO, rec, 100, PP_REJECT_TOO_LARGE);
    cctx_cleanup(&c);
}
END_TEST

START_TEST(test_reject_invalid_utf8)
{
    struct cctx c;

    cctx_init(&c);
    expect_reject(&c, PP_TOPIC_PIN, "{\"index\":1,\"title\":\"\xff\"}", PP_REJECT_INVALID_UTF8);
    expect_reject(&c, PP_TOPIC_GEO, "{\"ind\":1,\"country\":\"C\xc3\"}", PP_REJECT_INVALID_UTF8);
    /* Before invalid_json, not_object and the key checks. */
    expect_reject(&c, PP_TOPIC_PIN, "{\"index\":\xff", PP_REJECT_INVALID_UTF8);
    expect_reject(&c, PP_TOPIC_PIN, "[\"\xff\"]", PP_REJECT_INVALID_UTF8);
    expect_reject(&c, PP_TOPIC_USER, "{\"x\":\"\xc0\xaf\"}", PP_REJECT_INVALID_UTF8);
    expect_reject(&c, PP_TOPIC_USER, "{\"ind\":1.5,\"x\":\"\xed\xa0\x80\"}",
                  PP_REJECT_INVALID_UTF8);
    cctx_cleanup(&c);
}
END_TEST

START_TEST(test_reject_invalid_json)
{
    struct cctx c;

    cctx_init(&c);
    expect_reject(&c, PP_TOPIC_PIN, "", PP_REJECT_INVALID_JSON);
    expect_reject(&c, PP_TOPIC_PIN, "   ", PP_REJECT_INVALID_JSON);
    expect_reject(&c, PP_TOPIC_PIN, "{\"index\":1", PP_REJECT_INVALID_JSON);
    expect_reject(&c, PP_TOPIC_PIN, "{\"index\":1} x", PP_REJECT_INVALID_JSON);
    expect_reject(&c, PP_TOPIC_PIN, "{\"index\":1,}", PP_REJECT_INVALID_JSON);
    expect_reject(&c, PP_TOPIC_GEO, "{\"ind\":1,\"country\":\"\\ud800\"}", PP_REJECT_INVALID_JSON);
    expect_reject(&c, PP_TOPIC_USER, "{\"ind\":1,\"age\":01}", PP_REJECT_INVALID_JSON);
    /* Before not_object and the key checks. */
    expect_reject(&c, PP_TOPIC_PIN, "[1,]", PP_REJECT_INVALID_JSON);
    expect_reject(&c, PP_TOPIC_PIN, "{\"title\":\"x\"", PP_REJECT_INVALID_JSON);
    cctx_cleanup(&c);
}
END_TEST

/* A string at the root with trailing content is not one JSON value:
 * invalid_json, not not_object. */
START_TEST(test_reject_root_string_with_garbage)
{
    struct cctx c;

    cctx_init(&c);
    expect_reject(&c, PP_TOPIC_PIN, "\"s\" x", PP_REJECT_INVALID_JSON);
    expect_reject(&c, PP_TOPIC_GEO, "\"a\",\"b\"", PP_REJECT_INVALID_JSON);
    cctx_cleanup(&c);
}
END_TEST

START_TEST(test_reject_not_object)
{
    struct cctx c;

    cctx_init(&c);
    expect_reject(&c, PP_TOPIC_PIN, "[1]", PP_REJECT_NOT_OBJECT);
    expect_reject(&c, PP_TOPIC_PIN, "[{\"index\":1}]", PP_REJECT_NOT_OBJECT);
    expect_reject(&c, PP_TOPIC_GEO, "\"s\"", PP_REJECT_NOT_OBJECT);
    expect_reject(&c, PP_TOPIC_GEO, "5", PP_REJECT_NOT_OBJECT);
    expect_reject(&c, PP_TOPIC_USER, "null", PP_REJECT_NOT_OBJECT);
    expect_reject(&c, PP_TOPIC_USER, "true", PP_REJECT_NOT_OBJECT);
    cctx_cleanup(&c);
}
END_TEST

START_TEST(test_reject_missing_key)
{
    struct cctx c;

    cctx_init(&c);
    expect_reject(&c, PP_TOPIC_PIN, "{}", PP_REJECT_MISSING_KEY);
    expect_reject(&c, PP_TOPIC_PIN, "{\"index\":null}", PP_REJECT_MISSING_KEY);
    expect_reject(&c, PP_TOPIC_PIN, "{\"Index\":1}", PP_REJECT_MISSING_KEY);
    expect_reject(&c, PP_TOPIC_PIN, "{\"title\":5,\"follower_count\":[]}", PP_REJECT_MISSING_KEY);
    expect_reject(&c, PP_TOPIC_GEO, "{\"ind\":null,\"country\":\"A\"}", PP_REJECT_MISSING_KEY);
    expect_reject(&c, PP_TOPIC_USER, "{\"x\":{\"ind\":1}}", PP_REJECT_MISSING_KEY);
    /* The first occurrence decides: null first is missing. */
    expect_reject(&c, PP_TOPIC_USER, "{\"ind\":null,\"ind\":1}", PP_REJECT_MISSING_KEY);
    cctx_cleanup(&c);
}
END_TEST

START_TEST(test_reject_bad_key)
{
    static const char *const bad[] = {
        "1.0",
        "1e2",
        "\"-5\"",
        "true",
        "false",
        "\"12a\"",
        "9223372036854775808",
        "-9223372036854775809",
        "\"9223372036854775808\"",
        "\"\"",
        "\" 12\"",
        "\"12 \"",
        "\"+12\"",
        "[1]",
        "{}",
        "\"1.0\"",
        "\"0x1\"",
    };
    struct cctx c;
    size_t i;

    cctx_init(&c);
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char rec[96];
        snprintf(rec, sizeof rec, "{\"index\":%s,\"title\":\"t\"}", bad[i]);
        expect_reject(&c, PP_TOPIC_PIN, rec, PP_REJECT_BAD_KEY);
        snprintf(rec, sizeof rec, "{\"country\":\"c\",\"ind\":%s}", bad[i]);
        expect_reject(&c, PP_TOPIC_GEO, rec, PP_REJECT_BAD_KEY);
    }
    cctx_cleanup(&c);
}
END_TEST

START_TEST(test_keys_accepted)
{
    struct cctx c;
    struct pp_clean_record r;

    cctx_init(&c);
    clean_ok(&c, PP_TOPIC_PIN, "{\"index\":\"123\"}", &r);
    ck_assert(r.ind == 123);
    clean_ok(&c, PP_TOPIC_PIN, "{\"index\":-5}", &r);
    ck_assert(r.ind == -5);
    clean_ok(&c, PP_TOPIC_GEO, "{\"ind\":\"0\"}", &r);
    ck_assert(r.ind == 0);
    clean_ok(&c, PP_TOPIC_GEO, "{\"ind\":\"007\"}", &r);
    ck_assert(r.ind == 7);
    clean_ok(&c, PP_TOPIC_USER, "{\"ind\":9223372036854775807}", &r);
    ck_assert(r.ind == INT64_MAX);
    clean_ok(&c, PP_TOPIC_USER, "{\"ind\":-9223372036854775808}", &r);
    ck_assert(r.ind == INT64_MIN);
    clean_ok(&c, PP_TOPIC_USER, "{\"ind\":\"9223372036854775807\"}", &r);
    ck_assert(r.ind == INT64_MAX);
    /* First occurrence wins for the key too. */
    clean_ok(&c, PP_TOPIC_PIN, "{\"index\":4,\"index\":\"x\"}", &r);
    ck_assert(r.ind == 4);
    cctx_cleanup(&c);
}
END_TEST

START_TEST(test_reject_names)
{
    ck_assert_str_eq(pp_reject_name(PP_REJECT_NONE), "none");
    ck_assert_str_eq(pp_reject_name(PP_REJECT_TOO_LARGE), "too_large");
    ck_assert_str_eq(pp_reject_name(PP_REJECT_INVALID_UTF8), "invalid_utf8");
    ck_assert_str_eq(pp_reject_name(PP_REJECT_INVALID_JSON), "invalid_json");
    ck_assert_str_eq(pp_reject_name(PP_REJECT_NOT_OBJECT), "not_object");
    ck_assert_str_eq(pp_reject_name(PP_REJECT_MISSING_KEY), "missing_key");
    ck_assert_str_eq(pp_reject_name(PP_REJECT_BAD_KEY), "bad_key");
}
END_TEST

/* ---- query-only mode ------------------------------------------------------------------ */

START_TEST(test_query_only_mode)
{
    struct pp_clean_options opt = {PP_CLEAN_DEFAULT_MAX_RECORD_BYTES, true};
    struct cctx c;
    struct pp_clean_record r;
    char *json;

    cctx_init(&c);
    pp_clean_destroy(c.clean);
    c.clean = pp_clean_new_opts(&opt);
    ck_assert_ptr_nonnull(c.clean);

    /* The query columns are read; the others come out null. */
    clean_gen(&c, PP_TOPIC_PIN,
              PIN(.index = "\"42\"", .category = "\"art\"", .poster_name = "\"P\"",
                  .follower_count = "\"2M\""),
              &r);
    ck_assert(r.ind == 42);
    expect_text(r.u.pin.category, "art");
    expect_text(r.u.pin.poster_name, "P");
    ck_assert(r.u.pin.has_follower_count);
    ck_assert(r.u.pin.follower_count == 2000000);
    expect_text(r.u.pin.unique_id, NULL);
    expect_text(r.u.pin.title, NULL);
    expect_text(r.u.pin.save_location, NULL);
    clean_gen(&c, PP_TOPIC_GEO, GEO(.country = "\"Chad\""), &r);
    expect_text(r.u.geo.country, "Chad");
    ck_assert(r.u.geo.has_timestamp);
    ck_assert(r.u.geo.timestamp == INT64_C(1583298367));
    ck_assert(!r.u.geo.has_coordinates);
    clean_gen(&c, PP_TOPIC_USER, USER(.age = "\"51\""), &r);
    expect_text(r.u.user.user_name, "Ann Lee");
    ck_assert(r.u.user.has_age);
    ck_assert(r.u.user.age == 51);
    ck_assert(r.u.user.has_date_joined);

    /* Rejects do not change: unread columns are still validated. */
    json = PIN(.title = "\"\\ud800\"");
    expect_reject(&c, PP_TOPIC_PIN, json, PP_REJECT_INVALID_JSON);
    free(json);
    json = PIN(.description = "\"\xff\"");
    expect_reject(&c, PP_TOPIC_PIN, json, PP_REJECT_INVALID_UTF8);
    free(json);
    json = GEO(.latitude = "01");
    expect_reject(&c, PP_TOPIC_GEO, json, PP_REJECT_INVALID_JSON);
    free(json);
    json = GEO(.longitude = "\"a\x01\"");
    expect_reject(&c, PP_TOPIC_GEO, json, PP_REJECT_INVALID_JSON);
    free(json);
    json = PIN(.index = "1.5");
    expect_reject(&c, PP_TOPIC_PIN, json, PP_REJECT_BAD_KEY);
    free(json);
    expect_reject(&c, PP_TOPIC_GEO, "{\"country\":\"x\"}", PP_REJECT_MISSING_KEY);
    cctx_cleanup(&c);
}
END_TEST

/* ---- rendering ---------------------------------------------------------------------- */

static void expect_render(const struct pp_clean_record *r, const char *want)
{
    struct pp_buf out;

    pp_buf_init(&out);
    ck_assert_int_eq(pp_clean_render_json(r, &out), PP_OK);
    ck_assert_uint_eq(out.len, strlen(want));
    ck_assert_str_eq(out.data, want);
    pp_buf_cleanup(&out);
}

/* Renders r and parses the output back with the project's JSON parser. */
static void parse_back(const struct pp_clean_record *r, const char *names_sp,
                       struct pp_json_value *v, size_t n, struct pp_arena *arena, char **keep)
{
    struct pp_json_parser *parser = pp_json_parser_new(1 << 16);
    struct pp_str names[16];
    size_t n_names = 0;
    const char *p = names_sp;
    struct pp_buf out;

    ck_assert_ptr_nonnull(parser);
    while (*p) {
        size_t k = strcspn(p, " ");
        names[n_names++] = pp_str_make(p, k);
        p += k;
        p += *p == ' ';
    }
    ck_assert_uint_eq(n_names, n);
    pp_buf_init(&out);
    ck_assert_int_eq(pp_clean_render_json(r, &out), PP_OK);
    *keep = pp_check_copy(out.data, out.len, PP_JSON_PADDING, ' ');
    ck_assert_int_eq(pp_json_parse_object(parser, *keep, out.len, out.len + PP_JSON_PADDING, names,
                                          n_names, v, arena),
                     PP_JSON_OK);
    pp_buf_cleanup(&out);
    pp_json_parser_destroy(parser);
}

START_TEST(test_render_pin)
{
    struct cctx c;
    struct pp_clean_record r;
    struct pp_json_value v[11];
    char *keep;

    cctx_init(&c);
    clean_gen(&c, PP_TOPIC_PIN,
              PIN(.index = "7528", .unique_id = "\"fbe53c66-3442-4773-b19e-d3ec6f54dddf\"",
                  .title = "\"No Title Data Available\"",
                  .description = "\"Say \\\"hi\\\"\\\\ now\\nline\\u0001end\\ttab\\r\\u001f\"",
                  .poster_name = "\"Ana M\xc3\xbcller \xf0\x9f\x98\x80\"",
                  .follower_count = "\"1.5k\"", .tag_list = "\"a,b\"",
                  .is_image_or_video = "\"multi-video(story page format)\"",
                  .image_src = "\"https://i.pinimg.com/x.jpg\"",
                  .save_location = "\"Local save in /data/art\"", .category = "\"art\""),
              &r);
    expect_render(&r, "{\"ind\":7528,\"unique_id\":\"fbe53c66-3442-4773-b19e-d3ec6f54dddf\","
                      "\"title\":null,"
                      "\"description\":\"Say \\\"hi\\\"\\\\ now\\nline\\u0001end\\ttab\\r\\u001f\","
                      "\"follower_count\":1500,"
                      "\"poster_name\":\"Ana M\xc3\xbcller \xf0\x9f\x98\x80\","
                      "\"tag_list\":\"a,b\","
                      "\"is_image_or_video\":\"multi-video(story page format)\","
                      "\"image_src\":\"https://i.pinimg.com/x.jpg\","
                      "\"save_location\":\"/data/art\",\"category\":\"art\"}");

    parse_back(&r,
               "ind unique_id title description follower_count poster_name tag_list "
               "is_image_or_video image_src save_location category",
               v, 11, &c.arena, &keep);
    ck_assert_int_eq(v[0].type, PP_JSON_INT);
    ck_assert(v[0].i64 == 7528);
    ck_assert_int_eq(v[2].type, PP_JSON_NULL);
    ck_assert_int_eq(v[3].type, PP_JSON_STRING);
    ck_assert(pp_str_eq(v[3].str, r.u.pin.description));
    ck_assert_int_eq(v[4].type, PP_JSON_INT);
    ck_assert(v[4].i64 == 1500);
    ck_assert(pp_str_eq(v[5].str, r.u.pin.poster_name));
    ck_assert(pp_str_eq(v[9].str, r.u.pin.save_location));
    free(keep);

    /* Every column null. */
    clean_ok(&c, PP_TOPIC_PIN, "{\"index\":-1}", &r);
    expect_render(&r, "{\"ind\":-1,\"unique_id\":null,\"title\":null,\"description\":null,"
                      "\"follower_count\":null,\"poster_name\":null,\"tag_list\":null,"
                      "\"is_image_or_video\":null,\"image_src\":null,\"save_location\":null,"
                      "\"category\":null}");
    cctx_cleanup(&c);
}
END_TEST

START_TEST(test_render_geo)
{
    struct cctx c;
    struct pp_clean_record r;
    struct pp_json_value v[4];
    char *keep;

    cctx_init(&c);
    clean_gen(&c, PP_TOPIC_GEO,
              GEO(.ind = "1", .timestamp = "\"2019-01-01 00:30:00+01:00\"", .latitude = "-45.5",
                  .longitude = "\"12.25\"", .country = "\"C\\u00f4te d'Ivoire\""),
              &r);
    expect_render(&r, "{\"ind\":1,\"country\":\"C\xc3\xb4te d'Ivoire\","
                      "\"coordinates\":[-45.5,12.25],\"timestamp\":\"2018-12-31T23:30:00\"}");
    parse_back(&r, "ind country coordinates timestamp", v, 4, &c.arena, &keep);
    ck_assert_int_eq(v[2].type, PP_JSON_ARRAY);
    ck_assert_int_eq(v[3].type, PP_JSON_STRING);
    free(keep);

    clean_gen(&c, PP_TOPIC_GEO,
              GEO(.ind = "2", .timestamp = "\"2020-03-04T05:06:07.75Z\"", .latitude = "0.1",
                  .longitude = "-179.99999", .country = "\"A\\\\B\""),
              &r);
    expect_render(&r, "{\"ind\":2,\"country\":\"A\\\\B\",\"coordinates\":[0.1,-179.99999],"
                      "\"timestamp\":\"2020-03-04T05:06:07\"}");

    clean_gen(&c, PP_TOPIC_GEO,
              GEO(.ind = "3", .timestamp = "\"2019-02-29 00:00:00\"", .latitude = "null",
                  .longitude = "1", .country = "\"\""),
              &r);
    expect_render(&r, "{\"ind\":3,\"country\":null,\"coordinates\":null,\"timestamp\":null}");
    parse_back(&r, "ind country coordinates timestamp", v, 4, &c.arena, &keep);
    ck_assert_int_eq(v[1].type, PP_JSON_NULL);
    ck_assert_int_eq(v[2].type, PP_JSON_NULL);
    ck_assert_int_eq(v[3].type, PP_JSON_NULL);
    free(keep);
    cctx_cleanup(&c);
}
END_TEST

START_TEST(test_render_user)
{
    struct cctx c;
    struct pp_clean_record r;
    struct pp_json_value v[4];
    char *keep;

    cctx_init(&c);
    clean_gen(&c, PP_TOPIC_USER,
              USER(.ind = "3", .first_name = "\"Ann\"", .last_name = "\"O'Neil \\\"Jr\\\"\"",
                   .age = "\"40\"", .date_joined = "\"2016:05:06 07:08:09.123Z\""),
              &r);
    expect_render(&r, "{\"ind\":3,\"user_name\":\"Ann O'Neil \\\"Jr\\\"\",\"age\":40,"
                      "\"date_joined\":\"2016-05-06T07:08:09\"}");
    parse_back(&r, "ind user_name age date_joined", v, 4, &c.arena, &keep);
    ck_assert(pp_str_eq(v[1].str, r.u.user.user_name));
    ck_assert(v[2].i64 == 40);
    ck_assert(pp_str_eq_cstr(v[3].str, "2016-05-06T07:08:09"));
    free(keep);

    clean_gen(&c, PP_TOPIC_USER,
              USER(.ind = "4", .first_name = "null", .last_name = "\"\"", .age = "\"forty\"",
                   .date_joined = "\"\""),
              &r);
    expect_render(&r, "{\"ind\":4,\"user_name\":null,\"age\":null,\"date_joined\":null}");
    cctx_cleanup(&c);
}
END_TEST

START_TEST(test_json_string_escaping)
{
    static const struct {
        const char *in;
        size_t len;
        const char *want;
    } cases[] = {
        {"plain", 5, "\"plain\""},
        {"", 0, "\"\""},
        {"a\"b", 3, "\"a\\\"b\""},
        {"a\\b", 3, "\"a\\\\b\""},
        {"\n\r\t\b\f", 5, "\"\\n\\r\\t\\b\\f\""},
        {"\x01\x1f", 2, "\"\\u0001\\u001f\""},
        {"a\0b", 3, "\"a\\u0000b\""},
        {"\x7f/", 2, "\"\x7f/\""},
        {"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9, "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\""},
    };
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct pp_buf out;
        pp_buf_init(&out);
        ck_assert_int_eq(pp_clean_json_string(&out, pp_str_make(cases[i].in, cases[i].len)), PP_OK);
        ck_assert_uint_eq(out.len, strlen(cases[i].want));
        ck_assert_mem_eq(out.data, cases[i].want, out.len);
        pp_buf_cleanup(&out);
    }
    {
        struct pp_buf out;
        pp_buf_init(&out);
        ck_assert_int_eq(pp_buf_append_str(&out, "x="), PP_OK);
        ck_assert_int_eq(pp_clean_json_string(&out, PP_STR_NULL), PP_OK);
        ck_assert_str_eq(out.data, "x=null");
        pp_buf_cleanup(&out);
    }
}
END_TEST

/* The escaper scans 16 bytes a step: every byte that needs escaping, at
 * every position of strings of 0-40 bytes (around the block edges),
 * against a byte-at-a-time escaper. */
static void escape_oracle(const unsigned char *in, size_t len, struct pp_buf *out)
{
    ck_assert_int_eq(pp_buf_append(out, "\"", 1), PP_OK);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = in[i];
        if (c == '"' || c == '\\')
            ck_assert_int_eq(pp_buf_printf(out, "\\%c", c), PP_OK);
        else if (c == '\n' || c == '\r' || c == '\t' || c == '\b' || c == '\f')
            ck_assert_int_eq(
                pp_buf_printf(out, "\\%c", "nrtbf"[strchr("\n\r\t\b\f", c) - "\n\r\t\b\f"]), PP_OK);
        else if (c < 0x20)
            ck_assert_int_eq(pp_buf_printf(out, "\\u%04x", c), PP_OK);
        else
            ck_assert_int_eq(pp_buf_append(out, &in[i], 1), PP_OK);
    }
    ck_assert_int_eq(pp_buf_append(out, "\"", 1), PP_OK);
}

START_TEST(test_json_string_escaping_positions)
{
    static const unsigned char specials[] = {'"', '\\', '\n', 0x00, 0x1f, 0x01, '\t'};
    static const unsigned char fillers[] = {'a', 0x20, 0x7f, 0x80, 0xff, '!', '#', ']', '^'};
    unsigned char in[40];

    for (size_t len = 0; len <= sizeof in; len++) {
        for (size_t pos = 0; pos <= len; pos++) {
            for (size_t k = 0; k < sizeof specials; k++) {
                struct pp_buf got, want;

                for (size_t i = 0; i < len; i++)
                    in[i] = fillers[(i + k + len) % sizeof fillers];
                if (pos < len)
                    in[pos] = specials[k];
                if (pos + 17 < len)
                    in[pos + 17] = specials[(k + 1) % sizeof specials];
                pp_buf_init(&got);
                pp_buf_init(&want);
                escape_oracle(in, len, &want);
                ck_assert_int_eq(pp_clean_json_string(&got, pp_str_make((const char *)in, len)),
                                 PP_OK);
                ck_assert_uint_eq(got.len, want.len);
                ck_assert_mem_eq(got.data, want.data, got.len);
                pp_buf_cleanup(&got);
                pp_buf_cleanup(&want);
            }
        }
    }
}
END_TEST

/* A single-record span (as a Kafka source writes them) is one record even
 * when it holds newlines, and its record timestamp reaches the item. */
START_TEST(test_clean_stage_single_record_spans)
{
    static const char data[] = "{\"ind\": 7,\n \"country\": \"Chad\"}{\"ind\":8}\n{\"ind\":9}";
    struct pp_clean_options opt = {1024, false};
    struct pp_batch *b = pp_batch_new(256);
    const struct pp_clean_item *it;
    struct pp_batch_span span;
    size_t first_len = strlen("{\"ind\": 7,\n \"country\": \"Chad\"}");
    void *state;

    ck_assert_ptr_nonnull(b);
    memcpy(b->data, data, sizeof data - 1);
    b->len = sizeof data - 1;
    memset(&span, 0, sizeof span);
    span.end = (uint32_t)first_len;
    span.first_offset = 41;
    span.timestamp_ms = 1700000000123;
    span.topic = PP_TOPIC_GEO;
    span.is_single = true;
    ck_assert_int_eq(pp_batch_add_span(b, &span), PP_OK);
    /* Two records with a newline between them in one single-record span:
     * not one JSON value, so one invalid_json record, not two. */
    span.begin = span.end;
    span.end = (uint32_t)(sizeof data - 1);
    span.first_offset = 42;
    span.timestamp_ms = 1700000000456;
    ck_assert_int_eq(pp_batch_add_span(b, &span), PP_OK);

    state = pp_clean_stage.create(&opt);
    ck_assert_ptr_nonnull(state);
    ck_assert_int_eq(pp_clean_stage.process(state, b), PP_OK);
    ck_assert_uint_eq(b->n_out, 2);
    it = pp_clean_items(b);
    ck_assert_int_eq(it[0].reject, PP_REJECT_NONE);
    ck_assert_int_eq(it[0].rec.ind, 7);
    ck_assert_int_eq(it[0].offset, 41);
    ck_assert_int_eq(it[0].timestamp_ms, 1700000000123);
    ck_assert(pp_str_eq_cstr(it[0].rec.u.geo.country, "Chad"));
    ck_assert_uint_eq(it[0].raw.len, first_len);
    ck_assert_int_eq(it[1].reject, PP_REJECT_INVALID_JSON);
    ck_assert_int_eq(it[1].offset, 42);
    ck_assert_int_eq(it[1].timestamp_ms, 1700000000456);
    pp_clean_stage.destroy(state);
    pp_batch_destroy(b);
}
END_TEST

/* ---- the clean stage ---------------------------------------------------------------- */

START_TEST(test_clean_stage)
{
    static const char data[] = "{\"index\":1,\"title\":\"t\",\"category\":\"art\"}\n[1]\n\n"
                               "{\"index\":\"2\"}{\"ind\":9,\"first_name\":\"A\"}\n";
    struct pp_clean_options opt = {1024, false};
    struct pp_batch *b = pp_batch_new(256);
    const struct pp_clean_item *it;
    struct pp_batch_span span;
    size_t first_len = sizeof data - 1 - strlen("{\"ind\":9,\"first_name\":\"A\"}\n");
    void *state;

    ck_assert_ptr_nonnull(b);
    memcpy(b->data, data, sizeof data - 1);
    b->len = sizeof data - 1;
    /* Span 1: four pin records, the last without a newline. */
    memset(&span, 0, sizeof span);
    span.begin = 0;
    span.end = (uint32_t)first_len;
    span.first_offset = 10;
    span.partition = 3;
    span.topic = PP_TOPIC_PIN;
    ck_assert_int_eq(pp_batch_add_span(b, &span), PP_OK);
    /* Span 2: an oversized geo record. */
    span.begin = span.end = (uint32_t)first_len;
    span.first_offset = 99;
    span.partition = 0;
    span.topic = PP_TOPIC_GEO;
    span.is_oversized = true;
    ck_assert_int_eq(pp_batch_add_span(b, &span), PP_OK);
    /* Span 3: one user record. */
    span.begin = (uint32_t)first_len;
    span.end = (uint32_t)(sizeof data - 1);
    span.first_offset = 5;
    span.partition = 1;
    span.topic = PP_TOPIC_USER;
    span.is_oversized = false;
    ck_assert_int_eq(pp_batch_add_span(b, &span), PP_OK);

    state = pp_clean_stage.create(&opt);
    ck_assert_ptr_nonnull(state);
    ck_assert_int_eq(pp_clean_stage.process(state, b), PP_OK);
    ck_assert_uint_eq(b->n_out, 6);
    it = pp_clean_items(b);

    ck_assert_int_eq(it[0].topic, PP_TOPIC_PIN);
    ck_assert_int_eq(it[0].partition, 3);
    ck_assert(it[0].offset == 10);
    ck_assert_int_eq(it[0].reject, PP_REJECT_NONE);
    ck_assert(it[0].rec.ind == 1);
    expect_text(it[0].rec.u.pin.title, "t");
    expect_text(it[0].rec.u.pin.category, "art");
    ck_assert(pp_str_eq_cstr(it[0].raw, "{\"index\":1,\"title\":\"t\",\"category\":\"art\"}"));
    /* The workers hash the text group keys (0 for null). */
    ck_assert(it[0].text_hash[0] == pp_str_hash(pp_str_make("art", 3)));
    ck_assert(it[0].text_hash[1] == 0);

    ck_assert(it[1].offset == 11);
    ck_assert_int_eq(it[1].reject, PP_REJECT_NOT_OBJECT);
    ck_assert(pp_str_eq_cstr(it[1].raw, "[1]"));
    /* The empty line is a record, rejected as invalid JSON. */
    ck_assert(it[2].offset == 12);
    ck_assert_int_eq(it[2].reject, PP_REJECT_INVALID_JSON);
    ck_assert_uint_eq(it[2].raw.len, 0);
    ck_assert(it[3].offset == 13);
    ck_assert_int_eq(it[3].reject, PP_REJECT_NONE);
    ck_assert(it[3].rec.ind == 2);
    ck_assert(pp_str_eq_cstr(it[3].raw, "{\"index\":\"2\"}"));

    ck_assert_int_eq(it[4].topic, PP_TOPIC_GEO);
    ck_assert(it[4].offset == 99);
    ck_assert_int_eq(it[4].partition, 0);
    ck_assert_int_eq(it[4].reject, PP_REJECT_TOO_LARGE);
    ck_assert_uint_eq(it[4].raw.len, 0);

    ck_assert_int_eq(it[5].topic, PP_TOPIC_USER);
    ck_assert_int_eq(it[5].partition, 1);
    ck_assert(it[5].offset == 5);
    ck_assert_int_eq(it[5].reject, PP_REJECT_NONE);
    ck_assert(it[5].rec.ind == 9);
    expect_text(it[5].rec.u.user.user_name, "A");
    ck_assert(it[5].text_hash[0] == pp_str_hash(pp_str_make("A", 1)));
    ck_assert(pp_str_eq_cstr(it[5].raw, "{\"ind\":9,\"first_name\":\"A\"}"));

    /* The stage's own too_large limit applies to ordinary records. */
    pp_clean_stage.destroy(state);
    opt.max_record_bytes = 8;
    state = pp_clean_stage.create(&opt);
    ck_assert_ptr_nonnull(state);
    b->out.len = 0;
    b->n_out = 0;
    ck_assert_int_eq(pp_clean_stage.process(state, b), PP_OK);
    ck_assert_uint_eq(b->n_out, 6);
    it = pp_clean_items(b);
    ck_assert_int_eq(it[0].reject, PP_REJECT_TOO_LARGE);
    ck_assert_int_eq(it[1].reject, PP_REJECT_NOT_OBJECT);
    pp_clean_stage.destroy(state);
    pp_clean_stage.destroy(NULL);
    pp_batch_destroy(b);
}
END_TEST

static Suite *clean_suite(void)
{
    Suite *s = suite_create("clean");

    PP_CHECK_TCASE(s, test_placeholders_nulled);
    PP_CHECK_TCASE(s, test_placeholder_near_misses_kept);
    PP_CHECK_TCASE(s, test_empty_strings_null);
    PP_CHECK_TCASE(s, test_non_string_text_null);
    PP_CHECK_TCASE(s, test_text_pp_clean_text);
    PP_CHECK_TCASE(s, test_follower_count_strings);
    PP_CHECK_TCASE(s, test_follower_count_strings_null);
    PP_CHECK_TCASE(s, test_follower_count_json_values);
    PP_CHECK_TCASE(s, test_follower_count_above_int64_null);
    PP_CHECK_TCASE(s, test_follower_count_in_records);
    PP_CHECK_TCASE(s, test_integer_rules);
    PP_CHECK_TCASE(s, test_age_in_records);
    PP_CHECK_TCASE(s, test_number_rules);
    PP_CHECK_TCASE(s, test_coordinates);
    PP_CHECK_TCASE(s, test_timestamps_in_records);
    PP_CHECK_TCASE(s, test_save_location_prefix);
    PP_CHECK_TCASE(s, test_user_name_join);
    PP_CHECK_TCASE(s, test_index_renamed_ind);
    PP_CHECK_TCASE(s, test_reject_too_large);
    PP_CHECK_TCASE(s, test_reject_invalid_utf8);
    PP_CHECK_TCASE(s, test_reject_invalid_json);
    PP_CHECK_TCASE(s, test_reject_not_object);
    PP_CHECK_TCASE(s, test_reject_root_string_with_garbage);
    PP_CHECK_TCASE(s, test_reject_missing_key);
    PP_CHECK_TCASE(s, test_reject_bad_key);
    PP_CHECK_TCASE(s, test_keys_accepted);
    PP_CHECK_TCASE(s, test_reject_names);
    PP_CHECK_TCASE(s, test_query_only_mode);
    PP_CHECK_TCASE(s, test_render_pin);
    PP_CHECK_TCASE(s, test_render_geo);
    PP_CHECK_TCASE(s, test_render_user);
    PP_CHECK_TCASE(s, test_json_string_escaping);
    PP_CHECK_TCASE(s, test_json_string_escaping_positions);
    PP_CHECK_TCASE(s, test_clean_stage);
    PP_CHECK_TCASE(s, test_clean_stage_single_record_spans);
    return s;
}

PP_CHECK_MAIN(clean_suite)
