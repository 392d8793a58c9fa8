/*
 * Unit tests of pp_lake: object names and keys, listing a lake directory,
 * and the lake reader driven directly with small batches. Every test
 * builds its own lake in a fresh temporary directory.
 */
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pp_batch.h"
#include "pp_check.h"
#include "pp_lake.h"
#include "pp_log.h"
#include "pp_zstd.h"

/* ---- building lakes --------------------------------------------------------------- */

/* A record as the reader should deliver it. */
struct rec {
    int topic;
    int32_t partition;
    int64_t offset;
    bool is_oversized;
    char *bytes;
    size_t len;
};

struct recs {
    struct rec *v;
    size_t n;
    size_t cap;
};

static void recs_add(struct recs *rs, int topic, int32_t partition, int64_t offset,
                     bool is_oversized, const char *bytes, size_t len)
{
    struct rec *r;

    if (rs->n == rs->cap) {
        rs->cap = rs->cap ? rs->cap * 2 : 64;
        rs->v = realloc(rs->v, rs->cap * sizeof *rs->v);
        ck_assert_ptr_nonnull(rs->v);
    }
    r = &rs->v[rs->n++];
    r->topic = topic;
    r->partition = partition;
    r->offset = offset;
    r->is_oversized = is_oversized;
    r->len = is_oversized ? 0 : len;
    r->bytes = malloc(r->len + 1);
    ck_assert_ptr_nonnull(r->bytes);
    if (r->len)
        memcpy(r->bytes, bytes, r->len);
}

static void recs_cleanup(struct recs *rs)
{
    size_t i;

    for (i = 0; i < rs->n; i++)
        free(rs->v[i].bytes);
    free(rs->v);
    memset(rs, 0, sizeof *rs);
}

static int rec_cmp(const void *a, const void *b)
{
    const struct rec *x = a;
    const struct rec *y = b;

    if (x->topic != y->topic)
        return x->topic - y->topic;
    if (x->partition != y->partition)
        return x->partition < y->partition ? -1 : 1;
    return (x->offset > y->offset) - (x->offset < y->offset);
}

/* Reader order: topic (pin, geo, user), partition, offset. */
static void recs_sort(struct recs *rs)
{
    qsort(rs->v, rs->n, sizeof *rs->v, rec_cmp);
}

static void rec_assert_eq(const struct rec *got, const struct rec *want, size_t i)
{
    ck_assert_msg(got->topic == want->topic && got->partition == want->partition &&
                      got->offset == want->offset && got->is_oversized == want->is_oversized,
                  "record %zu: got topic %d p%d @%" PRId64 "%s, want topic %d p%d @%" PRId64 "%s",
                  i, got->topic, got->partition, got->offset,
                  got->is_oversized ? " (oversized)" : "", want->topic, want->partition,
                  want->offset, want->is_oversized ? " (oversized)" : "");
    ck_assert_msg(
        got->len == want->len && (got->len == 0 || memcmp(got->bytes, want->bytes, got->len) == 0),
        "record %zu @%" PRId64 ": got \"%.*s\" (%zu bytes), want \"%.*s\" (%zu bytes)", i,
        want->offset, (int)got->len, got->bytes, got->len, (int)want->len, want->bytes, want->len);
}

static void recs_assert_eq(const struct recs *got, const struct recs *want)
{
    size_t i;

    for (i = 0; i < got->n && i < want->n; i++)
        rec_assert_eq(&got->v[i], &want->v[i], i);
    ck_assert_msg(got->n == want->n, "got %zu records, want %zu", got->n, want->n);
}

struct lake {
    char root[512];
    const char *prefix;
};

static void lake_init(struct lake *l, const char *prefix)
{
    const char *tmp = getenv("TMPDIR");

    snprintf(l->root, sizeof l->root, "%s/pp_test_lake_XXXXXX", tmp && *tmp ? tmp : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(l->root));
    l->prefix = prefix;
}

static int lake_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void lake_cleanup(struct lake *l)
{
    nftw(l->root, lake_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* mkdir -p of every directory in root/rel's path (not the last part). */
static void lake_mkdirs(const char *root, const char *rel)
{
    char path[1024];
    char *p;
    int n = snprintf(path, sizeof path, "%s/%s", root, rel);

    ck_assert(n > 0 && (size_t)n < sizeof path);
    for (p = path + strlen(root) + 1; (p = strchr(p, '/')) != NULL; p++) {
        *p = '\0';
        if (mkdir(path, 0755) != 0)
            ck_assert_msg(errno == EEXIST, "mkdir %s: %s", path, strerror(errno));
        *p = '/';
    }
}

static void lake_write(const struct lake *l, const char *rel, const void *data, size_t len)
{
    char path[1024];
    FILE *f;

    lake_mkdirs(l->root, rel);
    snprintf(path, sizeof path, "%s/%s", l->root, rel);
    f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
    if (len)
        ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
}

static void lake_mkdir(const struct lake *l, const char *rel)
{
    char slash[1024];

    snprintf(slash, sizeof slash, "%s/", rel);
    lake_mkdirs(l->root, slash);
}

/* zstd frames of data, split at the given byte positions (each piece its
 * own frame). */
static void zstd_frames(const char *data, size_t len, const size_t *cuts, size_t n_cuts,
                        struct pp_buf *out)
{
    struct pp_zstd_enc *enc = pp_zstd_enc_new(3);
    size_t from = 0;
    size_t i;

    ck_assert_ptr_nonnull(enc);
    for (i = 0; i <= n_cuts; i++) {
        size_t to = i < n_cuts ? cuts[i] : len;
        ck_assert_int_eq(pp_zstd_enc_write(enc, data + from, to - from, out), PP_OK);
        ck_assert_int_eq(pp_zstd_enc_end(enc, out), PP_OK);
        from = to;
    }
    pp_zstd_enc_destroy(enc);
}

enum obj_kind { OBJ_PLAIN, OBJ_ZSTD, OBJ_ZSTD_MULTI };

struct obj_opts {
    enum obj_kind kind;
    bool no_trailing_newline;
    const char *dir; /* partition path; NULL: "partition=<p>" */
};

/* Writes an object of records[0..n) (lens[i] bytes each, or strlen when
 * lens is NULL) and adds them to want. Returns the object's path relative
 * to the root. */
static void lake_object(const struct lake *l, struct recs *want, int topic, int32_t partition,
                        int64_t start, const char *const *records, const size_t *lens, size_t n,
                        struct obj_opts o, size_t oversized_above, char *rel_out, size_t rel_cap)
{
    static const char *const suffix[] = {"pin", "geo", "user"};
    struct pp_buf content;
    struct pp_buf z;
    char dir[256];
    char rel[1024];
    size_t i;

    pp_buf_init(&content);
    pp_buf_init(&z);
    for (i = 0; i < n; i++) {
        size_t len = lens ? lens[i] : strlen(records[i]);
        ck_assert_int_eq(pp_buf_append(&content, records[i], len), PP_OK);
        if (i + 1 < n || !o.no_trailing_newline)
            ck_assert_int_eq(pp_buf_append(&content, "\n", 1), PP_OK);
        if (want != NULL)
            recs_add(want, topic, partition, start + (int64_t)i, len > oversized_above, records[i],
                     len);
    }
    if (o.dir)
        snprintf(dir, sizeof dir, "%s", o.dir);
    else
        snprintf(dir, sizeof dir, "partition=%" PRId32, partition);
    snprintf(rel, sizeof rel, "topics/%s.%s/%s/%s.%s+%" PRId32 "+%010" PRId64 ".json%s", l->prefix,
             suffix[topic], dir, l->prefix, suffix[topic], partition, start,
             o.kind == OBJ_PLAIN ? "" : ".zst");
    if (o.kind == OBJ_PLAIN) {
        lake_write(l, rel, content.data, content.len);
    } else {
        size_t cuts[2] = {content.len / 3, content.len / 3 + content.len / 4};
        zstd_frames(content.data ? content.data : "", content.len, cuts,
                    o.kind == OBJ_ZSTD_MULTI ? 2 : 0, &z);
        lake_write(l, rel, z.data, z.len);
    }
    if (rel_out)
        snprintf(rel_out, rel_cap, "%s", rel);
    pp_buf_cleanup(&content);
    pp_buf_cleanup(&z);
}

/* An object of plain records (NULL-terminated list). */
#define RECORDS(...) ((const char *const[]){__VA_ARGS__})
#define N_RECORDS(...) (sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))
#define OBJECT(l, want, topic, p, start, o, ...)                                                   \
    lake_object((l), (want), (topic), (p), (start), RECORDS(__VA_ARGS__), NULL,                    \
                N_RECORDS(__VA_ARGS__), (o), SIZE_MAX, NULL, 0)

static const struct obj_opts PLAIN = {OBJ_PLAIN, false, NULL};

/* Empty topic directories so that a lake with only some topics lists. */
static void lake_topics(const struct lake *l)
{
    char rel[256];

    snprintf(rel, sizeof rel, "topics/%s.pin", l->prefix);
    lake_mkdir(l, rel);
    snprintf(rel, sizeof rel, "topics/%s.geo", l->prefix);
    lake_mkdir(l, rel);
    snprintf(rel, sizeof rel, "topics/%s.user", l->prefix);
    lake_mkdir(l, rel);
}

/* A record of exactly len bytes that tells its number. */
static char *gen_record(size_t number, size_t len)
{
    char *s = malloc(len + 1);
    int n;

    ck_assert_ptr_nonnull(s);
    n = snprintf(s, len + 1, "{\"i\":%zu,\"p\":\"", number);
    ck_assert(n > 0 && (size_t)n + 2 <= len);
    memset(s + n, 'a' + (char)(number % 26), len - (size_t)n - 2);
    s[len - 2] = '"';
    s[len - 1] = '}';
    s[len] = '\0';
    return s;
}

/* ---- reading ---------------------------------------------------------------------- */

struct read_result {
    enum pp_err err; /* PP_OK when the reader reached PP_END */
    size_t fills;
    struct pp_lake_reader_stats stats;
    char error[512];
};

/* Reads the whole listing with batches of cap bytes, splitting spans into
 * records by the rule of docs/semantics.md, and checks each batch's
 * invariants. */
static struct read_result read_all(const struct pp_lake_listing *listing, bool skip_corrupt,
                                   size_t cap, struct recs *got)
{
    struct pp_lake_reader *r = pp_lake_reader_new(listing, skip_corrupt);
    struct pp_batch *b = pp_batch_new(cap);
    struct read_result res;
    size_t s;

    memset(&res, 0, sizeof res);
    ck_assert_ptr_nonnull(r);
    ck_assert_ptr_nonnull(b);
    for (;;) {
        enum pp_err err;
        pp_batch_reset(b);
        err = pp_lake_reader_fill(r, b);
        if (err == PP_END)
            break;
        if (err != PP_OK) {
            res.err = err;
            break;
        }
        res.fills++;
        ck_assert_uint_gt(b->n_spans, 0);
        ck_assert_uint_le(b->len, b->cap);
        for (s = 0; s < b->n_spans; s++) {
            const struct pp_batch_span *sp = &b->spans[s];
            const char *p = b->data + sp->begin;
            const char *end = b->data + sp->end;
            int64_t offset = sp->first_offset;
            ck_assert_uint_le(sp->begin, sp->end);
            ck_assert_uint_le(sp->end, b->len);
            if (sp->is_oversized) {
                ck_assert_uint_eq(sp->begin, sp->end);
                recs_add(got, sp->topic, sp->partition, offset, true, NULL, 0);
                continue;
            }
            ck_assert_uint_lt(sp->begin, sp->end);
            while (p < end) {
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                const char *stop = nl ? nl : end;
                recs_add(got, sp->topic, sp->partition, offset++, false, p, (size_t)(stop - p));
                p = nl ? nl + 1 : end;
            }
        }
    }
    /* The end is sticky. */
    if (res.err == PP_OK) {
        pp_batch_reset(b);
        ck_assert_int_eq(pp_lake_reader_fill(r, b), PP_END);
    }
    snprintf(res.error, sizeof res.error, "%s", pp_lake_reader_error(r));
    pp_lake_reader_get_stats(r, &res.stats);
    pp_batch_destroy(b);
    pp_lake_reader_destroy(r);
    return res;
}

static void list_ok(const struct lake *l, const char *prefix, struct pp_lake_listing *listing)
{
    char msg[512];
    enum pp_err err = pp_lake_list(l->root, NULL, prefix, listing, msg, sizeof msg);

    ck_assert_msg(err == PP_OK, "pp_lake_list: %s: %s", pp_err_str(err), msg);
}

/* Reads the lake with every batch capacity in caps and expects want. */
static void expect_read(const struct lake *l, const struct recs *want, const size_t *caps,
                        size_t n_caps, uint64_t n_objects)
{
    struct pp_lake_listing listing;
    size_t i;

    list_ok(l, NULL, &listing);
    for (i = 0; i < n_caps; i++) {
        struct recs got = {0};
        struct read_result res = read_all(&listing, false, caps[i], &got);
        ck_assert_msg(res.err == PP_OK, "cap %zu: %s (%s)", caps[i], pp_err_str(res.err),
                      res.error);
        recs_assert_eq(&got, want);
        ck_assert_uint_eq(res.stats.objects, n_objects);
        ck_assert_uint_eq(res.stats.corrupt_objects, 0);
        recs_cleanup(&got);
    }
    pp_lake_listing_cleanup(&listing);
}

static const size_t small_caps[] = {64, 65, 100, 128, 200, 4096};
#define N_SMALL_CAPS (sizeof small_caps / sizeof small_caps[0])

/* ---- names and keys ----------------------------------------------------------------- */

START_TEST(test_parse_name_good)
{
    int32_t p = -1;
    int64_t off = -1;
    bool is_zstd = true;

    ck_assert_int_eq(pp_lake_parse_name("t.pin+0+0000000000.json", "t.pin", &p, &off, &is_zstd),
                     PP_OK);
    ck_assert_int_eq(p, 0);
    ck_assert(off == 0);
    ck_assert(!is_zstd);
    ck_assert_int_eq(
        pp_lake_parse_name("t.pin+12+0000000345.json.zst", "t.pin", &p, &off, &is_zstd), PP_OK);
    ck_assert_int_eq(p, 12);
    ck_assert(off == 345);
    ck_assert(is_zstd);
    /* Unpadded offsets and the extremes of the ranges. */
    ck_assert_int_eq(pp_lake_parse_name("t.pin+3+7.json", "t.pin", &p, &off, &is_zstd), PP_OK);
    ck_assert_int_eq(p, 3);
    ck_assert(off == 7);
    ck_assert_int_eq(pp_lake_parse_name("a1b2c3d4e5f6.user+2147483647+9223372036854775807.json",
                                        "a1b2c3d4e5f6.user", &p, &off, &is_zstd),
                     PP_OK);
    ck_assert_int_eq(p, INT32_MAX);
    ck_assert(off == INT64_MAX);
}
END_TEST

START_TEST(test_parse_name_bad)
{
    static const char *const bad[] = {
        "t.pin+2147483648+0.json",          /* partition over int32 */
        "t.pin+-1+0.json",                  /* negative partition */
        "t.pin++0.json",                    /* no partition */
        "t.pin+a+0.json",                   /* not a number */
        "t.pin+0+.json",                    /* no offset */
        "t.pin+0+-5.json",                  /* negative offset */
        "t.pin+0+9223372036854775808.json", /* offset over int64 */
        "t.pin+0+0x1.json",
        "t.pin+0+1 .json",
        "t.pin+0+1", /* no suffix */
        "t.pin+0+1.json.gz",
        "t.pin+0+1.jsonl",
        "t.pin+0+1.JSON",
        "t.pin+0+1.json.zst.tmp",
        "t.pin+0+1.json.tmp",
        "t.pin+0+1.zst",
        "t.pin+0+1+2.json",
        "t.pin+0.json",
        "t.geo+0+1.json", /* another topic */
        "t.pinx+0+1.json",
        "x.t.pin+0+1.json",
        "T.pin+0+1.json",
        "t.pin",
        "",
    };
    size_t i;

    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int32_t p;
        int64_t off;
        bool is_zstd;
        ck_assert_msg(pp_lake_parse_name(bad[i], "t.pin", &p, &off, &is_zstd) == PP_ERR_INVALID,
                      "\"%s\" should be invalid", bad[i]);
    }
}
END_TEST

START_TEST(test_format_key)
{
    char key[256];
    int n;

    n = pp_lake_format_key(key, sizeof key, "topics", "pinterest.pin", 3, 42, 10, true);
    ck_assert_str_eq(key, "topics/pinterest.pin/partition=3/pinterest.pin+3+0000000042.json.zst");
    ck_assert_int_eq(n, (int)strlen(key));
    n = pp_lake_format_key(key, sizeof key, "raw", "p.geo", 0, 0, 10, false);
    ck_assert_str_eq(key, "raw/p.geo/partition=0/p.geo+0+0000000000.json");
    ck_assert_int_eq(n, (int)strlen(key));
    n = pp_lake_format_key(key, sizeof key, "topics", "p.user", 1, 42, 0, false);
    ck_assert_str_eq(key, "topics/p.user/partition=1/p.user+1+42.json");
    /* Wider than the padding: all digits stay. */
    pp_lake_format_key(key, sizeof key, "topics", "p.pin", 0, INT64_C(12345678901), 10, false);
    ck_assert_str_eq(key, "topics/p.pin/partition=0/p.pin+0+12345678901.json");
    /* A key's name parses back. */
    {
        int32_t p;
        int64_t off;
        bool is_zstd;
        pp_lake_format_key(key, sizeof key, "topics", "p.pin", 7, 99, PP_LAKE_OFFSET_PAD, true);
        ck_assert_int_eq(pp_lake_parse_name(strrchr(key, '/') + 1, "p.pin", &p, &off, &is_zstd),
                         PP_OK);
        ck_assert_int_eq(p, 7);
        ck_assert(off == 99);
        ck_assert(is_zstd);
    }
    /* Truncation reports the length needed, like snprintf. */
    memset(key, '#', sizeof key);
    n = pp_lake_format_key(key, 10, "topics", "p.pin", 0, 1, 10, false);
    ck_assert_int_eq(n, (int)strlen("topics/p.pin/partition=0/p.pin+0+0000000001.json"));
    ck_assert_str_eq(key, "topics/p.");
}
END_TEST

/* ---- listing ---------------------------------------------------------------------- */

START_TEST(test_list_discovers_prefix)
{
    struct lake l;
    struct pp_lake_listing listing;

    lake_init(&l, "0a1b2c3d4e5f");
    OBJECT(&l, NULL, 0, 0, 0, PLAIN, "{}");
    OBJECT(&l, NULL, 1, 0, 0, PLAIN, "{}");
    OBJECT(&l, NULL, 2, 0, 0, PLAIN, "{}");
    list_ok(&l, NULL, &listing);
    ck_assert_str_eq(listing.prefix, "0a1b2c3d4e5f");
    ck_assert_str_eq(listing.topic_name[PP_TOPIC_PIN], "0a1b2c3d4e5f.pin");
    ck_assert_str_eq(listing.topic_name[PP_TOPIC_GEO], "0a1b2c3d4e5f.geo");
    ck_assert_str_eq(listing.topic_name[PP_TOPIC_USER], "0a1b2c3d4e5f.user");
    ck_assert_uint_eq(listing.object_count[0], 1);
    ck_assert_uint_eq(listing.object_count[1], 1);
    ck_assert_uint_eq(listing.object_count[2], 1);
    ck_assert_uint_eq(listing.ignored_files, 0);
    pp_lake_listing_cleanup(&listing);
    /* The same prefix given explicitly. */
    list_ok(&l, "0a1b2c3d4e5f", &listing);
    ck_assert_uint_eq(listing.object_count[0], 1);
    pp_lake_listing_cleanup(&listing);
    lake_cleanup(&l);
}
END_TEST

START_TEST(test_list_object_fields)
{
    struct lake l;
    struct pp_lake_listing listing;
    char rel[1024];
    char path[1600];
    const struct pp_lake_object *o;

    lake_init(&l, "p");
    lake_topics(&l);
    lake_object(&l, NULL, PP_TOPIC_GEO, 4, 17, RECORDS("abc", "de"), NULL, 2, PLAIN, SIZE_MAX, rel,
                sizeof rel);
    list_ok(&l, NULL, &listing);
    ck_assert_uint_eq(listing.object_count[PP_TOPIC_PIN], 0);
    ck_assert_uint_eq(listing.object_count[PP_TOPIC_USER], 0);
    ck_assert_uint_eq(listing.object_count[PP_TOPIC_GEO], 1);
    o = &listing.objects[PP_TOPIC_GEO][0];
    snprintf(path, sizeof path, "%s/%s", l.root, rel);
    ck_assert_str_eq(o->path, path);
    ck_assert_int_eq(o->partition, 4);
    ck_assert(o->start_offset == 17);
    ck_assert_uint_eq(o->size, 7);
    ck_assert(!o->is_zstd);
    pp_lake_listing_cleanup(&listing);
    lake_cleanup(&l);
}
END_TEST

START_TEST(test_list_sorted)
{
    static const struct {
        int32_t p;
        int64_t start;
    } order[] = {{2, 0}, {2, 9}, {2, 10}, {2, 100}, {10, 0}, {10, 5}, {11, 3}};
    struct lake l;
    struct pp_lake_listing listing;
    char rel[256];
    size_t i;

    lake_init(&l, "p");
    lake_topics(&l);
    /* Created in an order unlike the sorted one, with unpadded names whose
     * byte order differs from the numeric order. */
    static const int create[] = {6, 3, 0, 5, 2, 4, 1};
    for (i = 0; i < 7; i++) {
        int k = create[i];
        snprintf(rel, sizeof rel, "topics/p.pin/partition=%d/p.pin+%d+%" PRId64 ".json",
                 (int)order[k].p, (int)order[k].p, order[k].start);
        lake_write(&l, rel, "x\n", 2);
    }
    list_ok(&l, NULL, &listing);
    ck_assert_uint_eq(listing.object_count[PP_TOPIC_PIN], 7);
    for (i = 0; i < 7; i++) {
        ck_assert_int_eq(listing.objects[PP_TOPIC_PIN][i].partition, order[i].p);
        ck_assert(listing.objects[PP_TOPIC_PIN][i].start_offset == order[i].start);
    }
    pp_lake_listing_cleanup(&listing);
    lake_cleanup(&l);
}
END_TEST

START_TEST(test_list_time_based_dirs)
{
    struct lake l;
    struct pp_lake_listing listing;
    struct obj_opts o = PLAIN;

    lake_init(&l, "p");
    lake_topics(&l);
    o.dir = "year=2021/month=03/day=04/hour=05";
    OBJECT(&l, NULL, PP_TOPIC_GEO, 1, 20, o, "b");
    o.dir = "year=2020/month=12/day=31/hour=23";
    OBJECT(&l, NULL, PP_TOPIC_GEO, 1, 10, o, "a");
    o.dir = "year=2021/month=03/day=04/hour=06";
    OBJECT(&l, NULL, PP_TOPIC_GEO, 0, 99, o, "c");
    OBJECT(&l, NULL, PP_TOPIC_GEO, 0, 5, PLAIN, "d");
    list_ok(&l, NULL, &listing);
    ck_assert_uint_eq(listing.object_count[PP_TOPIC_GEO], 4);
    ck_assert_int_eq(listing.objects[PP_TOPIC_GEO][0].partition, 0);
    ck_assert(listing.objects[PP_TOPIC_GEO][0].start_offset == 5);
    ck_assert(listing.objects[PP_TOPIC_GEO][1].start_offset == 99);
    ck_assert_int_eq(listing.objects[PP_TOPIC_GEO][2].partition, 1);
    ck_assert(listing.objects[PP_TOPIC_GEO][2].start_offset == 10);
    ck_assert(listing.objects[PP_TOPIC_GEO][3].start_offset == 20);
    ck_assert_ptr_nonnull(strstr(listing.objects[PP_TOPIC_GEO][3].path, "hour=05/p.geo+1+"));
    pp_lake_listing_cleanup(&listing);
    lake_cleanup(&l);
}
END_TEST

START_TEST(test_list_ignored_files)
{
    struct lake l;
    struct pp_lake_listing listing;

    lake_init(&l, "p");
    lake_topics(&l);
    OBJECT(&l, NULL, PP_TOPIC_PIN, 0, 0, PLAIN, "x");
    lake_write(&l, "topics/p.pin/partition=0/README", "hi", 2);
    lake_write(&l, "topics/p.pin/partition=0/p.pin+0+0000000001.json.tmp", "x", 1);
    lake_write(&l, "topics/p.pin/partition=0/p.geo+0+0000000002.json", "x", 1);
    lake_write(&l, "topics/p.pin/partition=0/p.pin+0+12a.json", "x", 1);
    lake_write(&l, "topics/p.user/notes.txt", "x", 1);
    list_ok(&l, NULL, &listing);
    ck_assert_uint_eq(listing.object_count[PP_TOPIC_PIN], 1);
    ck_assert_uint_eq(listing.object_count[PP_TOPIC_GEO], 0);
    ck_assert_uint_eq(listing.object_count[PP_TOPIC_USER], 0);
    ck_assert_uint_eq(listing.ignored_files, 5);
    pp_lake_listing_cleanup(&listing);
    lake_cleanup(&l);
}
END_TEST

START_TEST(test_list_several_prefixes)
{
    struct lake l;
    struct pp_lake_listing listing;
    char msg[512] = "";

    lake_init(&l, "aaa");
    lake_topics(&l);
    OBJECT(&l, NULL, PP_TOPIC_PIN, 0, 0, PLAIN, "a");
    l.prefix = "bbb";
    lake_topics(&l);
    OBJECT(&l, NULL, PP_TOPIC_PIN, 0, 0, PLAIN, "b1", "b2");
    ck_assert_int_eq(pp_lake_list(l.root, NULL, NULL, &listing, msg, sizeof msg), PP_ERR_USAGE);
    ck_assert_ptr_nonnull(strstr(msg, "aaa"));
    ck_assert_ptr_nonnull(strstr(msg, "bbb"));
    /* A failed listing is clean to free. */
    pp_lake_listing_cleanup(&listing);
    list_ok(&l, "bbb", &listing);
    ck_assert_str_eq(listing.topic_name[PP_TOPIC_PIN], "bbb.pin");
    ck_assert_uint_eq(listing.object_count[PP_TOPIC_PIN], 1);
    ck_assert_ptr_nonnull(strstr(listing.objects[PP_TOPIC_PIN][0].path, "bbb.pin+0+"));
    pp_lake_listing_cleanup(&listing);
    list_ok(&l, "aaa", &listing);
    ck_assert_ptr_nonnull(strstr(listing.objects[PP_TOPIC_PIN][0].path, "aaa.pin+0+"));
    pp_lake_listing_cleanup(&listing);
    lake_cleanup(&l);
}
END_TEST

static size_t count_substr(const char *hay, const char *needle)
{
    size_t n = 0;

    while ((hay = strstr(hay, needle)) != NULL) {
        n++;
        hay += strlen(needle);
    }
    return n;
}

/* The usage error names each candidate prefix once. */
START_TEST(test_list_several_prefixes_message)
{
    struct lake l;
    struct pp_lake_listing listing;
    char msg[512] = "";

    lake_init(&l, "aaa");
    lake_topics(&l);
    l.prefix = "bbb";
    lake_topics(&l);
    l.prefix = "ccc";
    lake_topics(&l);
    ck_assert_int_eq(pp_lake_list(l.root, NULL, NULL, &listing, msg, sizeof msg), PP_ERR_USAGE);
    ck_assert_msg(count_substr(msg, "aaa") == 1 && count_substr(msg, "bbb") == 1 &&
                      count_substr(msg, "ccc") == 1,
                  "candidates repeated: %s", msg);
    lake_cleanup(&l);
}
END_TEST

/* pp_lake.h: "exactly one prefix must have all three": a stray topic
 * directory of another prefix does not make discovery ambiguous. */
START_TEST(test_list_one_complete_prefix)
{
    struct lake l;
    struct pp_lake_listing listing;
    char msg[512] = "";
    enum pp_err err;

    lake_init(&l, "good");
    lake_topics(&l);
    OBJECT(&l, NULL, PP_TOPIC_PIN, 0, 0, PLAIN, "a");
    lake_mkdir(&l, "topics/stray.pin");
    err = pp_lake_list(l.root, NULL, NULL, &listing, msg, sizeof msg);
    ck_assert_msg(err == PP_OK, "%s: %s", pp_err_str(err), msg);
    ck_assert_str_eq(listing.prefix, "good");
    pp_lake_listing_cleanup(&listing);
    lake_cleanup(&l);
}
END_TEST

START_TEST(test_list_missing_topic)
{
    struct lake l;
    struct pp_lake_listing listing;
    char msg[512] = "";

    lake_init(&l, "p");
    OBJECT(&l, NULL, PP_TOPIC_PIN, 0, 0, PLAIN, "a");
    OBJECT(&l, NULL, PP_TOPIC_GEO, 0, 0, PLAIN, "a");
    ck_assert_int_eq(pp_lake_list(l.root, NULL, NULL, &listing, msg, sizeof msg), PP_ERR_NOTFOUND);
    ck_assert_ptr_nonnull(strstr(msg, "p.user"));
    pp_lake_listing_cleanup(&listing);
    /* An explicit prefix with no directories at all. */
    ck_assert_int_eq(pp_lake_list(l.root, NULL, "zzz", &listing, msg, sizeof msg), PP_ERR_NOTFOUND);
    ck_assert_ptr_nonnull(strstr(msg, "zzz.pin"));
    lake_cleanup(&l);
}
END_TEST

START_TEST(test_list_missing_dirs)
{
    struct lake l;
    struct pp_lake_listing listing;
    char msg[512] = "";
    char missing[600];

    lake_init(&l, "p");
    /* No topics directory. */
    ck_assert_int_eq(pp_lake_list(l.root, NULL, NULL, &listing, msg, sizeof msg), PP_ERR_NOTFOUND);
    ck_assert(msg[0] != '\0');
    /* A topics directory with no topic in it. */
    lake_mkdir(&l, "topics/unrelated");
    ck_assert_int_eq(pp_lake_list(l.root, NULL, NULL, &listing, msg, sizeof msg), PP_ERR_NOTFOUND);
    /* No lake at all. */
    snprintf(missing, sizeof missing, "%s/nope", l.root);
    ck_assert_int_eq(pp_lake_list(missing, NULL, NULL, &listing, msg, sizeof msg), PP_ERR_NOTFOUND);
    ck_assert_ptr_nonnull(strstr(msg, "nope"));
    /* Another topics directory name. */
    lake_mkdir(&l, "raw/p.pin");
    lake_mkdir(&l, "raw/p.geo");
    lake_mkdir(&l, "raw/p.user");
    lake_write(&l, "raw/p.pin/partition=0/p.pin+0+0000000000.json", "{}\n", 3);
    ck_assert_int_eq(pp_lake_list(l.root, "raw", NULL, &listing, msg, sizeof msg), PP_OK);
    ck_assert_uint_eq(listing.object_count[PP_TOPIC_PIN], 1);
    pp_lake_listing_cleanup(&listing);
    lake_cleanup(&l);
}
END_TEST

/* ---- the reader ------------------------------------------------------------------- */

/* Objects of generated records of varied lengths (6..58 bytes) over two
 * partitions of pin and one of geo and user. */
static void build_varied_lake(const struct lake *l, struct recs *want, enum obj_kind kind)
{
    static const struct {
        int topic;
        int32_t p;
        int64_t start;
        size_t n;
    } objs[] = {{0, 0, 0, 20}, {0, 0, 20, 7}, {0, 1, 5, 13}, {1, 0, 0, 9}, {2, 0, 100, 11}};
    struct obj_opts o = {kind, false, NULL};
    size_t number = 0;
    size_t i;

    lake_topics(l);
    for (i = 0; i < sizeof objs / sizeof objs[0]; i++) {
        char *records[32];
        size_t k;
        for (k = 0; k < objs[i].n; k++, number++)
            records[k] = gen_record(number, 20 + (number * 37) % 39);
        lake_object(l, want, objs[i].topic, objs[i].p, objs[i].start, (const char *const *)records,
                    NULL, objs[i].n, o, SIZE_MAX, NULL, 0);
        for (k = 0; k < objs[i].n; k++)
            free(records[k]);
    }
    recs_sort(want);
}

START_TEST(test_reader_split_across_batches)
{
    struct lake l;
    struct recs want = {0};
    struct pp_lake_listing listing;
    struct recs got = {0};
    struct read_result res;
    size_t bytes = 0;
    size_t i;

    lake_init(&l, "p");
    build_varied_lake(&l, &want, OBJ_PLAIN);
    expect_read(&l, &want, small_caps, N_SMALL_CAPS, 5);
    /* Byte counts: plain objects are read as they are. */
    for (i = 0; i < want.n; i++)
        bytes += want.v[i].len + 1;
    list_ok(&l, NULL, &listing);
    res = read_all(&listing, false, 64, &got);
    ck_assert_int_eq(res.err, PP_OK);
    ck_assert_uint_eq(res.stats.bytes_out, bytes);
    ck_assert_uint_eq(res.stats.bytes_in, bytes);
    /* Small batches really were used. */
    ck_assert_uint_gt(res.fills, bytes / 64);
    recs_cleanup(&got);
    pp_lake_listing_cleanup(&listing);
    recs_cleanup(&want);
    lake_cleanup(&l);
}
END_TEST

START_TEST(test_reader_no_trailing_newline)
{
    struct lake l;
    struct recs want = {0};
    struct obj_opts o = {OBJ_PLAIN, true, NULL};
    int64_t i;

    lake_init(&l, "p");
    lake_topics(&l);
    OBJECT(&l, &want, PP_TOPIC_PIN, 0, 0, o, "{\"r\":0}", "{\"r\":1}");
    OBJECT(&l, &want, PP_TOPIC_PIN, 0, 2, PLAIN, "{\"r\":2}");
    /* One-record objects of flush.size=1, back to back: their records
     * must not run together. */
    for (i = 0; i < 6; i++) {
        char rec[32];
        snprintf(rec, sizeof rec, "{\"one\":%d}", (int)i);
        OBJECT(&l, &want, PP_TOPIC_GEO, 0, i, o, rec);
    }
    OBJECT(&l, &want, PP_TOPIC_USER, 3, 7, o, "{\"last\":true}");
    recs_sort(&want);
    expect_read(&l, &want, small_caps, N_SMALL_CAPS, 9);
    recs_cleanup(&want);
    lake_cleanup(&l);
}
END_TEST

START_TEST(test_reader_empty_lines)
{
    struct lake l;
    struct recs want = {0};
    struct obj_opts no_nl = {OBJ_PLAIN, true, NULL};

    lake_init(&l, "p");
    lake_topics(&l);
    /* "a\n\nb\n": the empty line is a record at offset 1. */
    OBJECT(&l, &want, PP_TOPIC_PIN, 0, 0, PLAIN, "a", "", "b");
    /* "\n": one empty record. */
    OBJECT(&l, &want, PP_TOPIC_PIN, 0, 3, PLAIN, "");
    /* "c\n\n": two records, the second empty. */
    OBJECT(&l, &want, PP_TOPIC_PIN, 0, 4, PLAIN, "c", "");
    /* "\n\nd": three. */
    OBJECT(&l, &want, PP_TOPIC_PIN, 0, 6, no_nl, "", "", "d");
    /* An empty file holds no record. */
    lake_write(&l, "topics/p.geo/partition=0/p.geo+0+0000000000.json", "", 0);
    OBJECT(&l, &want, PP_TOPIC_GEO, 0, 1, PLAIN, "e");
    recs_sort(&want);
    ck_assert_uint_eq(want.n, 10);
    expect_read(&l, &want, small_caps, N_SMALL_CAPS, 6);
    recs_cleanup(&want);
    lake_cleanup(&l);
}
END_TEST

START_TEST(test_reader_zstd)
{
    struct lake l;
    struct recs want = {0};
    struct pp_lake_listing listing;
    struct recs got = {0};
    struct read_result res;
    size_t raw = 0;
    size_t on_disk = 0;
    size_t i;
    int t;

    lake_init(&l, "p");
    build_varied_lake(&l, &want, OBJ_ZSTD);
    expect_read(&l, &want, small_caps, N_SMALL_CAPS, 5);
    list_ok(&l, NULL, &listing);
    for (t = 0; t < PP_TOPIC_COUNT; t++)
        for (i = 0; i < listing.object_count[t]; i++) {
            ck_assert(listing.objects[t][i].is_zstd);
            on_disk += listing.objects[t][i].size;
        }
    for (i = 0; i < want.n; i++)
        raw += want.v[i].len + 1;
    res = read_all(&listing, false, 100, &got);
    ck_assert_int_eq(res.err, PP_OK);
    ck_assert_uint_eq(res.stats.bytes_out, raw);
    ck_assert_uint_eq(res.stats.bytes_in, on_disk);
    recs_cleanup(&got);
    pp_lake_listing_cleanup(&listing);
    recs_cleanup(&want);
    lake_cleanup(&l);
}
END_TEST

START_TEST(test_reader_zstd_multi_frame)
{
    struct lake l;
    struct recs want = {0};
    struct obj_opts o = {OBJ_ZSTD_MULTI, true, NULL};

    lake_init(&l, "p");
    build_varied_lake(&l, &want, OBJ_ZSTD_MULTI);
    /* Frames cut mid-record, and a last record without a newline. */
    OBJECT(&l, &want, PP_TOPIC_USER, 5, 0, o, "{\"x\":\"first record\"}",
           "{\"x\":\"second record, cut by a frame boundary\"}", "{\"x\":\"third\"}");
    recs_sort(&want);
    expect_read(&l, &want, small_caps, N_SMALL_CAPS, 6);
    recs_cleanup(&want);
    lake_cleanup(&l);
}
END_TEST

/* Writes a bad .zst object as pin partition 0 at offset 5; returns its
 * relative path. kind: 0 truncated, 1 not zstd, 2 empty, 3 garbage after a
 * good frame. */
static void write_bad_zstd(const struct lake *l, int kind, char *rel, size_t rel_cap)
{
    static const char content[] = "{\"b\":0}\n{\"b\":1}\n{\"b\":2}\n{\"b\":3}\n";
    struct pp_buf z;

    pp_buf_init(&z);
    zstd_frames(content, sizeof content - 1, NULL, 0, &z);
    snprintf(rel, rel_cap, "topics/%s.pin/partition=0/%s.pin+0+0000000005.json.zst", l->prefix,
             l->prefix);
    switch (kind) {
    case 0: lake_write(l, rel, z.data, z.len - 3); break;
    case 1: lake_write(l, rel, content, sizeof content - 1); break;
    case 2: lake_write(l, rel, "", 0); break;
    default:
        ck_assert_int_eq(pp_buf_append(&z, "garbage!", 8), PP_OK);
        lake_write(l, rel, z.data, z.len);
        break;
    }
    pp_buf_cleanup(&z);
}

START_TEST(test_reader_corrupt_zstd_fails)
{
    int kind;

    for (kind = 0; kind < 4; kind++) {
        struct lake l;
        struct recs got = {0};
        struct pp_lake_listing listing;
        struct read_result res;
        char rel[512];
        size_t cap;

        lake_init(&l, "p");
        lake_topics(&l);
        OBJECT(&l, NULL, PP_TOPIC_PIN, 0, 0, PLAIN, "{\"a\":0}");
        write_bad_zstd(&l, kind, rel, sizeof rel);
        OBJECT(&l, NULL, PP_TOPIC_PIN, 1, 0, PLAIN, "{\"c\":0}");
        list_ok(&l, NULL, &listing);
        for (cap = 64; cap <= 4096; cap *= 4) {
            res = read_all(&listing, false, cap, &got);
            ck_assert_msg(res.err == PP_ERR_CORRUPT, "kind %d cap %zu: %s", kind, cap,
                          pp_err_str(res.err));
            /* The message names the object. */
            ck_assert_msg(strstr(res.error, rel) != NULL, "kind %d: error \"%s\" lacks %s", kind,
                          res.error, rel);
            /* Nothing of the objects after it was handed out. */
            for (size_t i = 0; i < got.n; i++)
                ck_assert_int_eq(got.v[i].partition, 0);
            recs_cleanup(&got);
        }
        pp_lake_listing_cleanup(&listing);
        lake_cleanup(&l);
    }
}
END_TEST

START_TEST(test_reader_skip_corrupt)
{
    int kind;

    pp_log_set_level(PP_LOG_ERROR); /* no "skipping" warnings */
    for (kind = 0; kind < 4; kind++) {
        static const size_t caps[] = {64, 4096};
        struct lake l;
        struct recs want = {0};
        struct pp_lake_listing listing;
        char rel[512];
        size_t c;

        lake_init(&l, "p");
        lake_topics(&l);
        OBJECT(&l, &want, PP_TOPIC_PIN, 0, 0, PLAIN, "{\"a\":0}", "{\"a\":1}", "{\"a\":2}",
               "{\"a\":3}", "{\"a\":4}");
        write_bad_zstd(&l, kind, rel, sizeof rel);
        OBJECT(&l, &want, PP_TOPIC_PIN, 1, 0, PLAIN, "{\"c\":0}", "{\"c\":1}", "{\"c\":2}");
        OBJECT(&l, &want, PP_TOPIC_GEO, 0, 0, PLAIN, "{\"d\":0}");
        list_ok(&l, NULL, &listing);
        for (c = 0; c < 2; c++) {
            struct recs got = {0};
            struct read_result res = read_all(&listing, true, caps[c], &got);
            size_t i;
            size_t j;
            ck_assert_msg(res.err == PP_OK, "kind %d: %s", kind, pp_err_str(res.err));
            ck_assert_uint_eq(res.stats.corrupt_objects, 1);
            ck_assert_uint_eq(res.stats.objects, 4);
            /* The good objects whole; of the bad one at most some of its
             * first records (those handed out before the damage). */
            for (i = 0; i < 5; i++)
                rec_assert_eq(&got.v[i], &want.v[i], i);
            for (j = i; j < got.n && got.v[j].partition == 0 && got.v[j].topic == 0; j++) {
                char b[32];
                snprintf(b, sizeof b, "{\"b\":%zu}", j - i);
                ck_assert(got.v[j].offset == (int64_t)(5 + j - i));
                ck_assert(got.v[j].len == strlen(b) &&
                          memcmp(got.v[j].bytes, b, got.v[j].len) == 0);
            }
            if (caps[c] == 4096)
                ck_assert_uint_eq(j, i);
            ck_assert_uint_eq(got.n - j, want.n - 5);
            for (i = 5; i < want.n; i++)
                rec_assert_eq(&got.v[j + i - 5], &want.v[i], i);
            recs_cleanup(&got);
        }
        pp_lake_listing_cleanup(&listing);
        recs_cleanup(&want);
        lake_cleanup(&l);
    }
}
END_TEST

START_TEST(test_reader_unreadable_object)
{
    struct lake l;
    struct recs want = {0};
    struct recs got = {0};
    struct pp_lake_listing listing;
    struct read_result res;
    char rel[512];
    char path[1100];

    lake_init(&l, "p");
    lake_topics(&l);
    OBJECT(&l, &want, PP_TOPIC_PIN, 0, 0, PLAIN, "{\"a\":0}");
    lake_object(&l, NULL, PP_TOPIC_PIN, 0, 1, RECORDS("{\"gone\":1}"), NULL, 1, PLAIN, SIZE_MAX,
                rel, sizeof rel);
    OBJECT(&l, &want, PP_TOPIC_GEO, 0, 0, PLAIN, "{\"d\":0}");
    list_ok(&l, NULL, &listing);
    /* Removed between listing and reading. */
    snprintf(path, sizeof path, "%s/%s", l.root, rel);
    ck_assert_int_eq(unlink(path), 0);
    res = read_all(&listing, false, 4096, &got);
    ck_assert_int_eq(res.err, PP_ERR_IO);
    ck_assert_ptr_nonnull(strstr(res.error, rel));
    recs_cleanup(&got);
    pp_log_set_level(PP_LOG_ERROR);
    res = read_all(&listing, true, 4096, &got);
    ck_assert_int_eq(res.err, PP_OK);
    ck_assert_uint_eq(res.stats.corrupt_objects, 1);
    recs_assert_eq(&got, &want);
    recs_cleanup(&got);
    pp_lake_listing_cleanup(&listing);
    recs_cleanup(&want);
    lake_cleanup(&l);
}
END_TEST

/* Records with the given lengths (generated) in one object; lengths above
 * cap are oversized (pp_lake.h: only a record longer than the batch
 * capacity is; one of exactly cap bytes fits, whatever follows it). */
static void oversized_lake(enum obj_kind kind, bool no_trailing_newline, const size_t *lens,
                           size_t n, size_t cap)
{
    struct lake l;
    struct recs want = {0};
    struct obj_opts o = {kind, no_trailing_newline, NULL};
    char *records[32];
    size_t i;

    ck_assert(n <= 32);
    lake_init(&l, "p");
    lake_topics(&l);
    for (i = 0; i < n; i++)
        records[i] = gen_record(i, lens[i]);
    lake_object(&l, &want, PP_TOPIC_PIN, 2, 40, (const char *const *)records, lens, n, o, cap, NULL,
                0);
    /* A normal object after it. */
    OBJECT(&l, &want, PP_TOPIC_GEO, 0, 0, PLAIN, "{\"after\":1}", "{\"after\":2}");
    recs_sort(&want);
    expect_read(&l, &want, &cap, 1, 2);
    for (i = 0; i < n; i++)
        free(records[i]);
    recs_cleanup(&want);
    lake_cleanup(&l);
}

START_TEST(test_reader_oversized)
{
    /* 64-byte batches: 63 and 64 bytes fit (with or without their
     * newline); 200 and 1000 do not; two oversized in a row; short records
     * around them. */
    static const size_t lens[] = {20, 200, 21, 1000, 100, 22, 63, 64, 23, 150};
    static const size_t first[] = {300, 20, 21};
    static const size_t only[] = {500};

    oversized_lake(OBJ_PLAIN, false, lens, 10, 64);
    oversized_lake(OBJ_PLAIN, true, lens, 10, 64);
    oversized_lake(OBJ_ZSTD, false, lens, 10, 64);
    oversized_lake(OBJ_ZSTD_MULTI, true, lens, 10, 64);
    oversized_lake(OBJ_PLAIN, false, first, 3, 64);
    oversized_lake(OBJ_PLAIN, true, only, 1, 64);
    oversized_lake(OBJ_PLAIN, false, lens, 10, 128);
    oversized_lake(OBJ_ZSTD, true, lens, 10, 200);
}
END_TEST

/* A record of exactly the batch capacity, ending its object without a
 * newline, fits: it is not "longer than the batch capacity". */
START_TEST(test_reader_record_of_batch_capacity)
{
    static const size_t lens[] = {20, 64};

    oversized_lake(OBJ_PLAIN, true, lens, 2, 65);
    oversized_lake(OBJ_PLAIN, true, lens + 1, 1, 65);
    /* ...and with 64-byte batches. */
    {
        struct lake l;
        struct recs want = {0};
        struct obj_opts o = {OBJ_PLAIN, true, NULL};
        char *rec = gen_record(0, 64);
        size_t cap = 64;

        lake_init(&l, "p");
        lake_topics(&l);
        lake_object(&l, &want, PP_TOPIC_PIN, 0, 0, (const char *const *)&rec, NULL, 1, o, SIZE_MAX,
                    NULL, 0);
        expect_read(&l, &want, &cap, 1, 1);
        free(rec);
        recs_cleanup(&want);
        lake_cleanup(&l);
    }
}
END_TEST

START_TEST(test_reader_empty_lake)
{
    struct lake l;
    struct recs got = {0};
    struct pp_lake_listing listing;
    struct read_result res;

    lake_init(&l, "p");
    lake_topics(&l);
    list_ok(&l, NULL, &listing);
    res = read_all(&listing, false, 64, &got);
    ck_assert_int_eq(res.err, PP_OK);
    ck_assert_uint_eq(res.fills, 0);
    ck_assert_uint_eq(got.n, 0);
    ck_assert_uint_eq(res.stats.objects, 0);
    pp_lake_listing_cleanup(&listing);
    lake_cleanup(&l);
    pp_lake_reader_destroy(NULL);
}
END_TEST

static Suite *lake_suite(void)
{
    Suite *s = suite_create("lake");

    PP_CHECK_TCASE(s, test_parse_name_good);
    PP_CHECK_TCASE(s, test_parse_name_bad);
    PP_CHECK_TCASE(s, test_format_key);
    PP_CHECK_TCASE(s, test_list_discovers_prefix);
    PP_CHECK_TCASE(s, test_list_object_fields);
    PP_CHECK_TCASE(s, test_list_sorted);
    PP_CHECK_TCASE(s, test_list_time_based_dirs);
    PP_CHECK_TCASE(s, test_list_ignored_files);
    PP_CHECK_TCASE(s, test_list_several_prefixes);
    PP_CHECK_TCASE(s, test_list_several_prefixes_message);
    PP_CHECK_TCASE(s, test_list_one_complete_prefix);
    PP_CHECK_TCASE(s, test_list_missing_topic);
    PP_CHECK_TCASE(s, test_list_missing_dirs);
    PP_CHECK_TCASE(s, test_reader_split_across_batches);
    PP_CHECK_TCASE(s, test_reader_no_trailing_newline);
    PP_CHECK_TCASE(s, test_reader_empty_lines);
    PP_CHECK_TCASE(s, test_reader_zstd);
    PP_CHECK_TCASE(s, test_reader_zstd_multi_frame);
    PP_CHECK_TCASE(s, test_reader_corrupt_zstd_fails);
    PP_CHECK_TCASE(s, test_reader_skip_corrupt);
    PP_CHECK_TCASE(s, test_reader_unreadable_object);
    PP_CHECK_TCASE(s, test_reader_oversized);
    PP_CHECK_TCASE(s, test_reader_record_of_batch_capacity);
    PP_CHECK_TCASE(s, test_reader_empty_lake);
    return s;
}

/* Every test's lake lives under one directory made here, so that even the
 * lakes of failed tests (which stop before their cleanup) are removed. */
int main(void)
{
    const char *tmp = getenv("TMPDIR");
    char base[512];
    int status;

    snprintf(base, sizeof base, "%s/pp_test_lake_run_XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (mkdtemp(base) == NULL || setenv("TMPDIR", base, 1) != 0) {
        perror("pp_test_lake: temporary directory");
        return EXIT_FAILURE;
    }
    status = pp_check_run(lake_suite());
    nftw(base, lake_rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return status;
}
