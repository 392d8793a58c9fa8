#include "pp_clean.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pp_time.h"

struct pp_clean {
    struct pp_json_parser *parser;
    struct pp_clean_options opt;
};

const char *pp_reject_name(enum pp_reject reason)
{
    switch (reason) {
    case PP_REJECT_NONE: return "none";
    case PP_REJECT_TOO_LARGE: return "too_large";
    case PP_REJECT_INVALID_UTF8: return "invalid_utf8";
    case PP_REJECT_INVALID_JSON: return "invalid_json";
    case PP_REJECT_NOT_OBJECT: return "not_object";
    case PP_REJECT_MISSING_KEY: return "missing_key";
    case PP_REJECT_BAD_KEY: return "bad_key";
    }
    return "unknown";
}

/* Field tables: index 0 is the key of each topic, then the columns the
 * queries use (the first *_QUERY_FIELDS), then the rest. */
enum {
    PIN_INDEX,
    PIN_CATEGORY,
    PIN_POSTER_NAME,
    PIN_FOLLOWER_COUNT,
    PIN_QUERY_FIELDS,
    PIN_UNIQUE_ID = PIN_QUERY_FIELDS,
    PIN_TITLE,
    PIN_DESCRIPTION,
    PIN_TAG_LIST,
    PIN_IS_IMAGE_OR_VIDEO,
    PIN_IMAGE_SRC,
    PIN_SAVE_LOCATION,
    PIN_FIELDS
};
enum {
    GEO_IND,
    GEO_TIMESTAMP,
    GEO_COUNTRY,
    GEO_QUERY_FIELDS,
    GEO_LATITUDE = GEO_QUERY_FIELDS,
    GEO_LONGITUDE,
    GEO_FIELDS
};
enum {
    USER_IND,
    USER_FIRST_NAME,
    USER_LAST_NAME,
    USER_AGE,
    USER_DATE_JOINED,
    USER_FIELDS,
    USER_QUERY_FIELDS = USER_FIELDS
};

static const struct pp_str clean_pin_names[PIN_FIELDS] = {
    PP_STR_INIT("index"),          PP_STR_INIT("category"),      PP_STR_INIT("poster_name"),
    PP_STR_INIT("follower_count"), PP_STR_INIT("unique_id"),     PP_STR_INIT("title"),
    PP_STR_INIT("description"),    PP_STR_INIT("tag_list"),      PP_STR_INIT("is_image_or_video"),
    PP_STR_INIT("image_src"),      PP_STR_INIT("save_location"),
};
static const struct pp_str clean_geo_names[GEO_FIELDS] = {
    PP_STR_INIT("ind"),      PP_STR_INIT("timestamp"), PP_STR_INIT("country"),
    PP_STR_INIT("latitude"), PP_STR_INIT("longitude"),
};
static const struct pp_str clean_user_names[USER_FIELDS] = {
    PP_STR_INIT("ind"), PP_STR_INIT("first_name"),  PP_STR_INIT("last_name"),
    PP_STR_INIT("age"), PP_STR_INIT("date_joined"),
};

/* Placeholders of SPEC 2: exact, whole-value matches become NULL. */
static const char *const clean_title_ph[] = {"No Title Data Available"};
static const char *const clean_description_ph[] = {"No description available Story format",
                                                   "No description available"};
static const char *const clean_user_info_ph[] = {"User Info Error"};
static const char *const clean_tag_list_ph[] = {"N,o, ,T,a,g,s, ,A,v,a,i,l,a,b,l,e"};
static const char *const clean_image_src_ph[] = {"Image src error."};

#define CLEAN_N(a) (sizeof(a) / sizeof((a)[0]))
#define CLEAN_SAVE_PREFIX "Local save in "

struct pp_clean *pp_clean_new(size_t max_record_bytes)
{
    struct pp_clean_options opt = {max_record_bytes, false};

    return pp_clean_new_opts(&opt);
}

struct pp_clean *pp_clean_new_opts(const struct pp_clean_options *opt)
{
    struct pp_clean *clean = calloc(1, sizeof *clean);

    if (clean == NULL)
        return NULL;
    clean->opt = *opt;
    clean->parser = pp_json_parser_new(opt->max_record_bytes);
    if (clean->parser == NULL) {
        free(clean);
        return NULL;
    }
    return clean;
}

void pp_clean_destroy(struct pp_clean *clean)
{
    if (clean == NULL)
        return;
    pp_json_parser_destroy(clean->parser);
    free(clean);
}

/* value = value * 10 + d, false when that leaves int64 range. */
static bool clean_mul10_add(uint64_t *value, unsigned d)
{
    if (*value > ((uint64_t)INT64_MAX - d) / 10)
        return false;
    *value = *value * 10 + d;
    return true;
}

/* Parses ASCII digits (at least one, nothing else) into a non-negative
 * int64. */
static bool clean_digits(struct pp_str s, int64_t *out)
{
    uint64_t v = 0;
    size_t i;

    if (s.len == 0)
        return false;
    for (i = 0; i < s.len; i++) {
        unsigned d = (unsigned)(unsigned char)s.ptr[i] - '0';
        if (d > 9 || !clean_mul10_add(&v, d))
            return false;
    }
    *out = (int64_t)v;
    return true;
}

bool pp_clean_integer(const struct pp_json_value *v, int64_t *out)
{
    if (v->type == PP_JSON_INT) {
        *out = v->i64;
        return true;
    }
    return v->type == PP_JSON_STRING && clean_digits(v->str, out);
}

bool pp_clean_follower_count(const struct pp_json_value *v, int64_t *count)
{
    const char *p;
    const char *end;
    const char *frac = NULL;
    size_t n_frac = 0;
    unsigned scale = 0; /* the multiplier is 10^scale */
    uint64_t value = 0;
    unsigned i;

    if (v->type == PP_JSON_INT) {
        *count = v->i64;
        return true;
    }
    if (v->type != PP_JSON_STRING)
        return false;
    p = v->str.ptr;
    end = p + v->str.len;
    while (p < end && *p == ' ')
        p++;
    if (p == end || *p < '0' || *p > '9')
        return false;
    for (; p < end && *p >= '0' && *p <= '9'; p++) {
        if (!clean_mul10_add(&value, (unsigned)(*p - '0')))
            return false;
    }
    if (p < end && *p == '.') {
        frac = ++p;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
        n_frac = (size_t)(p - frac);
        if (n_frac == 0)
            return false;
    }
    while (p < end && *p == ' ')
        p++;
    if (p < end) {
        switch (*p) {
        case 'k':
        case 'K': scale = 3; break;
        case 'm':
        case 'M': scale = 6; break;
        case 'b':
        case 'B': scale = 9; break;
        default: return false;
        }
        p++;
    }
    while (p < end && *p == ' ')
        p++;
    if (p != end)
        return false;
    /* number x 10^scale, truncated: the integer part scaled, plus the first
     * `scale` fraction digits (zero-padded). */
    for (i = 0; i < scale; i++) {
        if (!clean_mul10_add(&value, i < n_frac ? (unsigned)(frac[i] - '0') : 0))
            return false;
    }
    *count = (int64_t)value;
    return true;
}

/* True when s is exactly a JSON number. */
static bool clean_is_json_number(struct pp_str s)
{
    size_t i = 0;
    size_t start;

    if (i < s.len && s.ptr[i] == '-')
        i++;
    start = i;
    while (i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9')
        i++;
    if (i == start || (s.ptr[start] == '0' && i - start > 1))
        return false;
    if (i < s.len && s.ptr[i] == '.') {
        start = ++i;
        while (i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9')
            i++;
        if (i == start)
            return false;
    }
    if (i < s.len && (s.ptr[i] == 'e' || s.ptr[i] == 'E')) {
        i++;
        if (i < s.len && (s.ptr[i] == '+' || s.ptr[i] == '-'))
            i++;
        start = i;
        while (i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9')
            i++;
        if (i == start)
            return false;
    }
    return i == s.len;
}

bool pp_clean_number(const struct pp_json_value *v, double *out)
{
    char tmp[64];

    switch (v->type) {
    case PP_JSON_INT: *out = (double)v->i64; return true;
    case PP_JSON_DOUBLE: *out = v->f64; return true;
    case PP_JSON_STRING:
        if (v->str.len >= sizeof tmp || !clean_is_json_number(v->str))
            return false;
        memcpy(tmp, v->str.ptr, v->str.len);
        tmp[v->str.len] = '\0';
        *out = strtod(tmp, NULL);
        return isfinite(*out);
    case PP_JSON_ABSENT:
    case PP_JSON_NULL:
    case PP_JSON_BOOL:
    case PP_JSON_BIGINT:
    case PP_JSON_ARRAY:
    case PP_JSON_OBJECT: break;
    }
    return false;
}

struct pp_str pp_clean_text(const struct pp_json_value *v, const char *const *placeholders,
                            size_t n)
{
    size_t i;

    if (v->type != PP_JSON_STRING || v->str.len == 0)
        return PP_STR_NULL;
    for (i = 0; i < n; i++)
        if (pp_str_eq_cstr(v->str, placeholders[i]))
            return PP_STR_NULL;
    return v->str;
}

static bool clean_time(const struct pp_json_value *v, int64_t *t)
{
    return v->type == PP_JSON_STRING && pp_time_parse(v->str.ptr, v->str.len, t);
}

static void clean_pin(const struct pp_json_value *v, struct pp_clean_pin *pin)
{
    struct pp_str save;

    pin->unique_id = pp_clean_text(&v[PIN_UNIQUE_ID], NULL, 0);
    pin->title = pp_clean_text(&v[PIN_TITLE], clean_title_ph, CLEAN_N(clean_title_ph));
    pin->description =
        pp_clean_text(&v[PIN_DESCRIPTION], clean_description_ph, CLEAN_N(clean_description_ph));
    pin->poster_name =
        pp_clean_text(&v[PIN_POSTER_NAME], clean_user_info_ph, CLEAN_N(clean_user_info_ph));
    pin->has_follower_count = pp_clean_follower_count(&v[PIN_FOLLOWER_COUNT], &pin->follower_count);
    pin->tag_list = pp_clean_text(&v[PIN_TAG_LIST], clean_tag_list_ph, CLEAN_N(clean_tag_list_ph));
    pin->is_image_or_video = pp_clean_text(&v[PIN_IS_IMAGE_OR_VIDEO], NULL, 0);
    pin->image_src =
        pp_clean_text(&v[PIN_IMAGE_SRC], clean_image_src_ph, CLEAN_N(clean_image_src_ph));
    save = pp_clean_text(&v[PIN_SAVE_LOCATION], NULL, 0);
    if (save.ptr != NULL && save.len >= sizeof CLEAN_SAVE_PREFIX - 1 &&
        memcmp(save.ptr, CLEAN_SAVE_PREFIX, sizeof CLEAN_SAVE_PREFIX - 1) == 0) {
        save.ptr += sizeof CLEAN_SAVE_PREFIX - 1;
        save.len -= sizeof CLEAN_SAVE_PREFIX - 1;
        if (save.len == 0)
            save = PP_STR_NULL;
    }
    pin->save_location = save;
    pin->category = pp_clean_text(&v[PIN_CATEGORY], NULL, 0);
}

static void clean_geo(const struct pp_json_value *v, struct pp_clean_geo *geo)
{
    geo->country = pp_clean_text(&v[GEO_COUNTRY], NULL, 0);
    geo->has_coordinates = pp_clean_number(&v[GEO_LATITUDE], &geo->latitude) &&
                           pp_clean_number(&v[GEO_LONGITUDE], &geo->longitude);
    geo->has_timestamp = clean_time(&v[GEO_TIMESTAMP], &geo->timestamp);
}

static enum pp_err clean_user(const struct pp_json_value *v, struct pp_arena *arena,
                              struct pp_clean_user *user)
{
    struct pp_str first = pp_clean_text(&v[USER_FIRST_NAME], NULL, 0);
    struct pp_str last = pp_clean_text(&v[USER_LAST_NAME], NULL, 0);

    if (first.ptr != NULL && last.ptr != NULL) {
        char *p = pp_arena_alloc(arena, first.len + 1 + last.len);
        if (p == NULL)
            return PP_ERR_NOMEM;
        memcpy(p, first.ptr, first.len);
        p[first.len] = ' ';
        memcpy(p + first.len + 1, last.ptr, last.len);
        user->user_name = pp_str_make(p, first.len + 1 + last.len);
    } else {
        user->user_name = first.ptr != NULL ? first : last;
    }
    user->has_age = pp_clean_integer(&v[USER_AGE], &user->age);
    user->has_date_joined = clean_time(&v[USER_DATE_JOINED], &user->date_joined);
    return PP_OK;
}

enum pp_reject pp_clean_record(struct pp_clean *clean, enum pp_topic topic, const char *buf,
                               size_t len, size_t capacity, struct pp_arena *arena,
                               struct pp_clean_record *out, enum pp_err *err)
{
    struct pp_json_value v[PIN_FIELDS];
    const struct pp_str *names;
    size_t n_names;

    *err = PP_OK;
    if (len > clean->opt.max_record_bytes)
        return PP_REJECT_TOO_LARGE;
    switch (topic) {
    case PP_TOPIC_PIN:
        names = clean_pin_names;
        n_names = clean->opt.is_query_only ? PIN_QUERY_FIELDS : PIN_FIELDS;
        break;
    case PP_TOPIC_GEO:
        names = clean_geo_names;
        n_names = clean->opt.is_query_only ? GEO_QUERY_FIELDS : GEO_FIELDS;
        break;
    case PP_TOPIC_USER:
        names = clean_user_names;
        n_names = clean->opt.is_query_only ? USER_QUERY_FIELDS : USER_FIELDS;
        break;
    default: return PP_REJECT_INVALID_JSON;
    }
    switch (pp_json_parse_object(clean->parser, buf, len, capacity, names, n_names, v, arena)) {
    case PP_JSON_OK: break;
    case PP_JSON_INVALID_UTF8: return PP_REJECT_INVALID_UTF8;
    case PP_JSON_NOT_OBJECT: return PP_REJECT_NOT_OBJECT;
    case PP_JSON_NOMEM: *err = PP_ERR_NOMEM; return PP_REJECT_INVALID_JSON;
    case PP_JSON_INVALID: return PP_REJECT_INVALID_JSON;
    }
    /* The key is field 0 of every table. */
    if (v[0].type == PP_JSON_ABSENT || v[0].type == PP_JSON_NULL)
        return PP_REJECT_MISSING_KEY;
    if (!pp_clean_integer(&v[0], &out->ind))
        return PP_REJECT_BAD_KEY;
    out->topic = topic;
    switch (topic) {
    case PP_TOPIC_PIN: clean_pin(v, &out->u.pin); break;
    case PP_TOPIC_GEO: clean_geo(v, &out->u.geo); break;
    case PP_TOPIC_USER:
        *err = clean_user(v, arena, &out->u.user);
        if (*err)
            return PP_REJECT_INVALID_JSON;
        break;
    }
    return PP_REJECT_NONE;
}

/* ---- rendering ----------------------------------------------------------- */

/* The index of the first byte from i on that JSON must escape (a control
 * character, '"' or '\\'), or n: 16 bytes a step, the bytes of most text
 * needing none. */
static size_t clean_next_escape(const char *p, size_t i, size_t n)
{
    for (; n - i >= 16; i += 16) {
        pp_v16 v, hit;
        uint64_t half[2];

        memcpy(&v, p + i, 16);
        hit = (pp_v16)((v < 0x20) | (v == '"') | (v == '\\'));
        memcpy(half, &hit, sizeof half);
        if ((half[0] | half[1]) != 0)
            break;
    }
    for (; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c < 0x20 || c == '"' || c == '\\')
            return i;
    }
    return n;
}

enum pp_err pp_clean_json_string(struct pp_buf *out, struct pp_str s)
{
    static const char hex[] = "0123456789abcdef";
    enum pp_err err;
    size_t i;
    size_t run = 0; /* start of the bytes not yet copied */

    if (s.ptr == NULL)
        return pp_buf_append(out, "null", 4);
    if ((err = pp_buf_reserve(out, s.len + 3)))
        return err;
    out->data[out->len++] = '"';
    for (i = clean_next_escape(s.ptr, 0, s.len); i < s.len;
         i = clean_next_escape(s.ptr, i + 1, s.len)) {
        unsigned char c = (unsigned char)s.ptr[i];
        char esc[6];
        size_t n = 2;
        if ((err = pp_buf_append(out, s.ptr + run, i - run)))
            return err;
        run = i + 1;
        esc[0] = '\\';
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            n = 6;
        }
        if ((err = pp_buf_append(out, esc, n)))
            return err;
    }
    if ((err = pp_buf_append(out, s.ptr + run, s.len - run)))
        return err;
    return pp_buf_append(out, "\"", 1);
}

static enum pp_err clean_json_int(struct pp_buf *out, bool is_set, int64_t v)
{
    return is_set ? pp_buf_append_int(out, v) : pp_buf_append(out, "null", 4);
}

static enum pp_err clean_json_time(struct pp_buf *out, bool is_set, int64_t t)
{
    char ts[21];

    if (!is_set)
        return pp_buf_append(out, "null", 4);
    ts[0] = '"';
    pp_time_format(t, ts + 1);
    ts[20] = '"';
    return pp_buf_append(out, ts, sizeof ts);
}

/* A field's opening, a string literal (",\"name\":"). */
#define CLEAN_FIELD(out, lit) pp_buf_append((out), (lit), sizeof(lit) - 1)

#define CLEAN_TRY(expr)                                                                            \
    do {                                                                                           \
        if ((err = (expr)))                                                                        \
            return err;                                                                            \
    } while (0)

enum pp_err pp_clean_render_json(const struct pp_clean_record *rec, struct pp_buf *out)
{
    enum pp_err err;

    CLEAN_TRY(CLEAN_FIELD(out, "{\"ind\":"));
    CLEAN_TRY(clean_json_int(out, true, rec->ind));
    switch (rec->topic) {
    case PP_TOPIC_PIN: {
        const struct pp_clean_pin *p = &rec->u.pin;
        CLEAN_TRY(CLEAN_FIELD(out, ",\"unique_id\":"));
        CLEAN_TRY(pp_clean_json_string(out, p->unique_id));
        CLEAN_TRY(CLEAN_FIELD(out, ",\"title\":"));
        CLEAN_TRY(pp_clean_json_string(out, p->title));
        CLEAN_TRY(CLEAN_FIELD(out, ",\"description\":"));
        CLEAN_TRY(pp_clean_json_string(out, p->description));
        CLEAN_TRY(CLEAN_FIELD(out, ",\"follower_count\":"));
        CLEAN_TRY(clean_json_int(out, p->has_follower_count, p->follower_count));
        CLEAN_TRY(CLEAN_FIELD(out, ",\"poster_name\":"));
        CLEAN_TRY(pp_clean_json_string(out, p->poster_name));
        CLEAN_TRY(CLEAN_FIELD(out, ",\"tag_list\":"));
        CLEAN_TRY(pp_clean_json_string(out, p->tag_list));
        CLEAN_TRY(CLEAN_FIELD(out, ",\"is_image_or_video\":"));
        CLEAN_TRY(pp_clean_json_string(out, p->is_image_or_video));
        CLEAN_TRY(CLEAN_FIELD(out, ",\"image_src\":"));
        CLEAN_TRY(pp_clean_json_string(out, p->image_src));
        CLEAN_TRY(CLEAN_FIELD(out, ",\"save_location\":"));
        CLEAN_TRY(pp_clean_json_string(out, p->save_location));
        CLEAN_TRY(CLEAN_FIELD(out, ",\"category\":"));
        CLEAN_TRY(pp_clean_json_string(out, p->category));
        break;
    }
    case PP_TOPIC_GEO: {
        const struct pp_clean_geo *g = &rec->u.geo;
        CLEAN_TRY(CLEAN_FIELD(out, ",\"country\":"));
        CLEAN_TRY(pp_clean_json_string(out, g->country));
        CLEAN_TRY(CLEAN_FIELD(out, ",\"coordinates\":"));
        if (g->has_coordinates) {
            CLEAN_TRY(pp_buf_append(out, "[", 1));
            CLEAN_TRY(pp_buf_append_double(out, g->latitude));
            CLEAN_TRY(pp_buf_append(out, ",", 1));
            CLEAN_TRY(pp_buf_append_double(out, g->longitude));
            CLEAN_TRY(pp_buf_append(out, "]", 1));
        } else {
            CLEAN_TRY(pp_buf_append(out, "null", 4));
        }
        CLEAN_TRY(CLEAN_FIELD(out, ",\"timestamp\":"));
        CLEAN_TRY(clean_json_time(out, g->has_timestamp, g->timestamp));
        break;
    }
    case PP_TOPIC_USER: {
        const struct pp_clean_user *u = &rec->u.user;
        CLEAN_TRY(CLEAN_FIELD(out, ",\"user_name\":"));
        CLEAN_TRY(pp_clean_json_string(out, u->user_name));
        CLEAN_TRY(CLEAN_FIELD(out, ",\"age\":"));
        CLEAN_TRY(clean_json_int(out, u->has_age, u->age));
        CLEAN_TRY(CLEAN_FIELD(out, ",\"date_joined\":"));
        CLEAN_TRY(clean_json_time(out, u->has_date_joined, u->date_joined));
        break;
    }
    }
    return pp_buf_append(out, "}", 1);
}

/* ---- the clean stage ------------------------------------------------------ */

static void *clean_stage_create(void *arg)
{
    return pp_clean_new_opts(arg);
}

static void clean_stage_destroy(void *state)
{
    pp_clean_destroy(state);
}

static uint64_t clean_hash(struct pp_str s)
{
    return s.ptr ? pp_str_hash(s) : 0;
}

static void clean_hash_keys(struct pp_clean_item *item)
{
    const struct pp_clean_record *rec = &item->rec;

    item->text_hash[0] = item->text_hash[1] = 0;
    switch (rec->topic) {
    case PP_TOPIC_PIN:
        item->text_hash[0] = clean_hash(rec->u.pin.category);
        item->text_hash[1] = clean_hash(rec->u.pin.poster_name);
        break;
    case PP_TOPIC_GEO: item->text_hash[0] = clean_hash(rec->u.geo.country); break;
    case PP_TOPIC_USER: item->text_hash[0] = clean_hash(rec->u.user.user_name); break;
    }
}

static enum pp_err clean_stage_item(struct pp_clean *clean, struct pp_batch *batch,
                                    const struct pp_batch_span *span, int64_t offset,
                                    const char *rec, size_t len)
{
    struct pp_clean_item *item;
    enum pp_err err;

    if ((err = pp_buf_reserve(&batch->out, sizeof *item)))
        return err;
    item = (struct pp_clean_item *)(void *)(batch->out.data + batch->out.len);
    item->topic = (enum pp_topic)span->topic;
    item->partition = span->partition;
    item->timestamp_ms = span->timestamp_ms;
    item->is_resumed = span->is_resumed && offset == span->first_offset;
    item->offset = offset;
    item->raw = pp_str_make(rec, len);
    if (span->is_oversized) {
        item->reject = PP_REJECT_TOO_LARGE;
    } else {
        /* Everything after the record up to the batch's padding is
         * readable, which is what the parser needs. */
        size_t capacity = (size_t)(batch->data + batch->cap + PP_BATCH_PADDING - rec);
        item->reject = pp_clean_record(clean, (enum pp_topic)span->topic, rec, len, capacity,
                                       &batch->arena, &item->rec, &err);
        if (err)
            return err;
        if (item->reject == PP_REJECT_NONE)
            clean_hash_keys(item);
    }
    batch->out.len += sizeof *item;
    batch->n_out++;
    return PP_OK;
}

static enum pp_err clean_stage_process(void *state, struct pp_batch *batch)
{
    struct pp_clean *clean = state;
    enum pp_err err;
    size_t s;

    for (s = 0; s < batch->n_spans; s++) {
        const struct pp_batch_span *span = &batch->spans[s];
        const char *p = batch->data + span->begin;
        const char *end = batch->data + span->end;
        int64_t offset = span->first_offset;

        if (span->is_oversized || span->is_single) {
            if ((err = clean_stage_item(clean, batch, span, offset, p,
                                        span->is_oversized ? 0 : (size_t)(end - p))))
                return err;
            continue;
        }
        /* Every '\n'-terminated line is a record, and so is a final line
         * without one (docs/semantics.md). */
        while (p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            const char *stop = nl ? nl : end;
            if ((err = clean_stage_item(clean, batch, span, offset++, p, (size_t)(stop - p))))
                return err;
            p = nl ? nl + 1 : end;
        }
    }
    return PP_OK;
}

const struct pp_stage_ops pp_clean_stage = {
    .name = "clean",
    .create = clean_stage_create,
    .process = clean_stage_process,
    .destroy = clean_stage_destroy,
};
