/*
 * pp_config: schema, properties parser, validation. See pp_config.h and
 * docs/config.md.
 *
 * Every value is parsed once, when it is set, into a slot (text plus a
 * number or a window list); the defaults go through the same parser when
 * the config is created, so a default can never disagree with the rules.
 * All strings live in the config's arena; a key set twice leaves its old
 * text there until destroy, which is harmless at configuration sizes.
 */
#include "pp_config.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pp_str.h"

#define KIB ((int64_t)1024)
#define MIB (KIB * 1024)
#define GIB (MIB * 1024)
#define MS_S ((int64_t)1000)
#define MS_M (MS_S * 60)
#define MS_H (MS_M * 60)
#define MS_D (MS_H * 24)

/* A config file larger than this is certainly a mistake (a log, /dev/zero). */
#define CONFIG_MAX_FILE (4 * 1024 * 1024)

enum config_type {
    T_STRING,
    T_SECRET, /* a string never printed */
    T_INT,
    T_BYTES,
    T_DURATION,
    T_BOOL,
    T_ENUM,
    T_HOSTPORT,
    T_LAKE_URL, /* file:///abs, plain path, s3://bucket/prefix */
    T_HTTP_URL,
    T_WINDOWS,
    T_TIMEZONE,
};

#define F_OFF 1u     /* -1 means "off" besides min..max */
#define F_IGNORED 2u /* accepted for MSK Connect compatibility, with a notice */
#define F_TOPIC 4u   /* a Kafka topic name (or prefix) */

struct config_choice {
    const char *name;  /* canonical spelling */
    const char *alias; /* short name, or NULL */
};

struct config_key {
    const char *name;
    enum config_type type;
    unsigned flags;
    const char *def; /* default as text, NULL for none */
    int64_t min, max;
    const struct config_choice *choices; /* T_ENUM, ended by {NULL} */
    const char *expect;                  /* overrides the type's "expected ..." */
    const char *notice;                  /* F_IGNORED: why, NULL for the usual text */
    const char *help;
};

#define PARTITIONER_DEFAULT "io.confluent.connect.storage.partitioner.DefaultPartitioner"
#define PARTITIONER_TIME "io.confluent.connect.storage.partitioner.TimeBasedPartitioner"

static const struct config_choice partitioner_choices[] = {
    {PARTITIONER_DEFAULT, "default"},
    {PARTITIONER_TIME, "time"},
    {NULL, NULL},
};

static const struct config_choice extractor_choices[] = {
    {"Record", NULL},
    {"RecordField", NULL},
    {"Wallclock", NULL},
    {NULL, NULL},
};
static const struct config_choice compression_choices[] = {
    {"zstd", NULL},
    {"none", NULL},
    {NULL, NULL},
};
static const struct config_choice auth_choices[] = {
    {"token", NULL},
    {"none", NULL},
    {NULL, NULL},
};
static const struct config_choice format_choices[] = {
    {"io.confluent.connect.s3.format.json.JsonFormat", NULL},
    {NULL, NULL},
};

/* The schema: docs/config.md mirrors this table, in this order. */
static const struct config_key config_keys[] = {
    {.name = "topics.prefix",
     .type = T_STRING,
     .flags = F_TOPIC,
     .def = "pinterest",
     .help = "the three topics are <prefix>.pin, <prefix>.geo, <prefix>.user"},
    {.name = "topics.dir",
     .type = T_STRING,
     .def = "topics",
     .help = "lake folder of the raw topics"},
    {.name = "topics.regex",
     .type = T_STRING,
     .help = "informational only: the topics come from topics.prefix"},
    {.name = "lake.url",
     .type = T_LAKE_URL,
     .def = "./lake",
     .help = "file:///abs/path, a plain path, or s3://bucket/prefix"},
    {.name = "store.url",
     .type = T_HTTP_URL,
     .help = "http(s) endpoint of an S3-compatible store (default: AWS S3)"},
    {.name = "s3.bucket.name",
     .type = T_STRING,
     .help = "S3 bucket; builds lake.url=s3://<bucket> when lake.url is unset"},
    {.name = "s3.region", .type = T_STRING, .def = "us-east-1", .help = "AWS region"},
    {.name = "s3.part.size",
     .type = T_BYTES,
     .def = "25MiB",
     .min = 5 * MIB,
     .max = 5 * GIB,
     .help = "part size of S3 multipart uploads"},
    {.name = "s3.request.timeout.ms",
     .type = T_INT,
     .def = "30000",
     .min = 1000,
     .max = INT32_MAX,
     .help = "time limit of one S3 request (plus 1 ms per KiB of its body); then it is retried"},
    {.name = "aws.access.key.id",
     .type = T_SECRET,
     .help = "discouraged: prefer the AWS environment, profile or instance role"},
    {.name = "aws.secret.access.key",
     .type = T_SECRET,
     .help = "discouraged: prefer the AWS environment, profile or instance role"},
    {.name = "flush.size",
     .type = T_INT,
     .def = "10000",
     .min = 1,
     .max = INT32_MAX,
     .help = "records per object"},
    {.name = "rotate.interval.ms",
     .type = T_INT,
     .flags = F_OFF,
     .def = "-1",
     .min = 1,
     .max = INT64_MAX,
     .help = "close an object after this span of record time (-1 = off)"},
    {.name = "rotate.schedule.interval.ms",
     .type = T_INT,
     .flags = F_OFF,
     .def = "-1",
     .min = 1,
     .max = INT64_MAX,
     .help = "close an object after this wall-clock time (-1 = off)"},
    {.name = "partitioner.class",
     .type = T_ENUM,
     .def = PARTITIONER_DEFAULT,
     .choices = partitioner_choices,
     .help = "DefaultPartitioner or TimeBasedPartitioner"},
    {.name = "path.format",
     .type = T_STRING,
     .help = "TimeBasedPartitioner path, e.g. 'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH"},
    {.name = "partition.duration.ms",
     .type = T_INT,
     .min = 1,
     .max = INT64_MAX,
     .help = "TimeBasedPartitioner bucket length"},
    {.name = "timezone",
     .type = T_TIMEZONE,
     .def = "UTC",
     .help = "UTC or a fixed offset such as +02:00"},
    {.name = "locale",
     .type = T_STRING,
     .flags = F_IGNORED,
     .notice = "paths are formatted without a locale",
     .help = "accepted and ignored"},
    {.name = "timestamp.extractor",
     .type = T_ENUM,
     .def = "Record",
     .choices = extractor_choices,
     .help = "record time: Kafka timestamp, a record field, or the wall clock"},
    {.name = "timestamp.field", .type = T_STRING, .help = "field read by RecordField"},
    {.name = "filename.offset.zero.pad.width",
     .type = T_INT,
     .def = "10",
     .min = 1,
     .max = 19,
     .help = "digits of the start offset in object names"},
    {.name = "errors.deadletterqueue.topic.name",
     .type = T_STRING,
     .flags = F_TOPIC,
     .help = "Kafka topic that also receives rejects"},
    {.name = "sink.compression",
     .type = T_ENUM,
     .def = "zstd",
     .choices = compression_choices,
     .help = "object compression"},
    {.name = "sink.zstd.level",
     .type = T_INT,
     .def = "3",
     .min = 1,
     .max = 19,
     .help = "zstd level"},
    {.name = "sink.max.buffered.bytes",
     .type = T_BYTES,
     .def = "256MiB",
     .min = MIB,
     .max = INT64_MAX,
     .help = "memory of open objects before backpressure"},
    {.name = "sink.spool.dir",
     .type = T_STRING,
     .help =
         "where open objects wait on disk: a directory, or none to keep them in memory (default: "
         "the lake's directory, or $TMPDIR or /tmp for S3)"},
    {.name = "sink.shutdown.timeout.ms",
     .type = T_INT,
     .def = "20000",
     .min = 0,
     .max = INT32_MAX,
     .help = "how long a stop waits for objects to become durable before abandoning them"},
    {.name = "input.max.record.bytes",
     .type = T_BYTES,
     .def = "1MiB",
     .min = KIB,
     .max = 64 * MIB,
     .help = "largest accepted record"},
    {.name = "dedup.ttl",
     .type = T_DURATION,
     .def = "24h",
     .min = 1,
     .max = INT64_MAX,
     .help = "how long a key is remembered (record time)"},
    {.name = "join.timeout",
     .type = T_DURATION,
     .def = "10m",
     .min = 1,
     .max = INT64_MAX,
     .help = "how long parts wait for the rest of their post (record time)"},
    {.name = "analytics.windows",
     .type = T_WINDOWS,
     .def = "all",
     .help = "all, tumbling:<dur>, hopping:<size>/<slide>, comma-separated"},
    {.name = "analytics.allowed.lateness",
     .type = T_DURATION,
     .def = "5s",
     .min = 0,
     .max = INT64_MAX,
     .help = "watermark lag behind the largest post time"},
    {.name = "analytics.retention",
     .type = T_DURATION,
     .def = "24h",
     .min = 0,
     .max = INT64_MAX,
     .help = "how long closed windows stay readable"},
    {.name = "state.checkpoint.interval",
     .type = T_DURATION,
     .def = "10s",
     .min = 0,
     .max = INT64_MAX,
     .help = "how often the analytics state is checkpointed to the lake (0 = never)"},
    {.name = "backpressure.pause.after",
     .type = T_DURATION,
     .def = "1s",
     .min = 0,
     .max = 60000,
     .help = "how long the pipeline may stay behind before the Kafka partitions are paused"},
    {.name = "http.listen",
     .type = T_HOSTPORT,
     .def = "127.0.0.1:8080",
     .help = "HTTP API address"},
    {.name = "http.auth",
     .type = T_ENUM,
     .def = "token",
     .choices = auth_choices,
     .help = "token: Bearer http.auth.token when set; none: no authentication"},
    {.name = "http.auth.token", .type = T_SECRET, .help = "Bearer token of the HTTP API"},
    {.name = "http.max.body.bytes",
     .type = T_BYTES,
     .def = "1MiB",
     .min = KIB,
     .max = GIB,
     .help = "largest accepted request body"},

    /* MSK Connect / Confluent S3 sink keys without meaning here. */
    {.name = "connector.class", .type = T_STRING, .flags = F_IGNORED, .help = "ignored"},
    {.name = "tasks.max",
     .type = T_INT,
     .flags = F_IGNORED,
     .min = 1,
     .max = INT32_MAX,
     .help = "ignored"},
    {.name = "topics",
     .type = T_STRING,
     .flags = F_IGNORED,
     .notice = "the topics are <topics.prefix>.pin, .geo and .user",
     .help = "ignored"},
    {.name = "key.converter", .type = T_STRING, .flags = F_IGNORED, .help = "ignored"},
    {.name = "value.converter", .type = T_STRING, .flags = F_IGNORED, .help = "ignored"},
    {.name = "key.converter.schemas.enable", .type = T_BOOL, .flags = F_IGNORED, .help = "ignored"},
    {.name = "value.converter.schemas.enable",
     .type = T_BOOL,
     .flags = F_IGNORED,
     .help = "ignored"},
    {.name = "format.class",
     .type = T_ENUM,
     .flags = F_IGNORED,
     .choices = format_choices,
     .expect = "io.confluent.connect.s3.format.json.JsonFormat (pinpipe writes JSON)",
     .help = "ignored; only JsonFormat is accepted"},
    {.name = "storage.class", .type = T_STRING, .flags = F_IGNORED, .help = "ignored"},
    {.name = "schema.compatibility", .type = T_STRING, .flags = F_IGNORED, .help = "ignored"},
    {.name = "name", .type = T_STRING, .flags = F_IGNORED, .help = "ignored"},
    {.name = "s3.compression.type",
     .type = T_STRING,
     .flags = F_IGNORED,
     .notice = "sink.compression decides the compression",
     .help = "ignored"},
    {.name = "behavior.on.null.values", .type = T_STRING, .flags = F_IGNORED, .help = "ignored"},
};

#define KEY_COUNT (sizeof config_keys / sizeof config_keys[0])
#define KAFKA_PREFIX "kafka."

/* Where a value came from: file and line, or --set when file is NULL. */
struct config_where {
    const char *file;
    long line; /* 0 with file NULL: --set; -1: the default */
};

struct config_slot {
    const char *text; /* canonical text; NULL when unset without default */
    int64_t num;      /* int, bytes, duration, bool, enum index, tz offset */
    struct pp_config_window *windows;
    size_t window_count;
    struct config_where where;
    bool is_set;
    bool is_noticed; /* the ignored-key notice was already issued */
};

struct config_kafka {
    const char *name; /* without "kafka." */
    const char *value;
};

struct pp_config {
    struct pp_arena arena;
    struct config_slot slots[KEY_COUNT];
    struct config_kafka *kafka;
    size_t kafka_count, kafka_cap;
    const char **notices;
    size_t notice_count, notice_cap;
};

/* ---- small helpers ---------------------------------------------------- */

static void msg_set(char *msg, size_t msg_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void msg_set(char *msg, size_t msg_len, const char *fmt, ...)
{
    va_list ap;

    if (msg == NULL || msg_len == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, msg_len, fmt, ap);
    va_end(ap);
}

/* "file:7: " or "--set " (or "" for a default), the start of every message. */
static void where_str(const struct config_where *w, char *out, size_t out_len)
{
    if (w->file != NULL)
        snprintf(out, out_len, "%s:%ld: ", w->file, w->line);
    else if (w->line == 0)
        snprintf(out, out_len, "--set ");
    else
        out[0] = '\0';
}

/*
 * A copy of untrusted text fit for a one-line message: control bytes
 * become '?', and long text is cut with "...".
 */
static void quote_str(const char *s, char *out, size_t out_len)
{
    size_t i, n = 0;

    for (i = 0; s[i] != '\0' && n + 4 < out_len; i++)
        out[n++] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
    if (s[i] != '\0' && out_len >= 4) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
}

static const char *arena_dup(struct pp_config *cfg, const char *s, size_t len)
{
    struct pp_str copy = pp_arena_strdup(&cfg->arena, s, len + 1);
    char *p = (char *)(uintptr_t)copy.ptr;

    if (p == NULL)
        return NULL;
    p[len] = '\0';
    return p;
}

static int key_index(const char *name)
{
    size_t i;

    for (i = 0; i < KEY_COUNT; i++)
        if (strcmp(config_keys[i].name, name) == 0)
            return (int)i;
    return -1;
}

static const struct config_slot *slot_get(const struct pp_config *cfg, const char *key)
{
    int i = key_index(key);

    assert(i >= 0 && "pp_config: unknown key name in a getter");
    return &cfg->slots[i];
}

/* Levenshtein distance, case-insensitive; SIZE_MAX when a side is too long
 * for the fixed rows (no suggestion for such keys). */
static size_t edit_distance(const char *a, const char *b)
{
    size_t row[128], la = strlen(a), lb = strlen(b), i, j;

    if (lb >= sizeof row / sizeof row[0] || la >= 1024)
        return SIZE_MAX;
    for (j = 0; j <= lb; j++)
        row[j] = j;
    for (i = 1; i <= la; i++) {
        size_t diag = row[0];

        row[0] = i;
        for (j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
            size_t best = diag + cost;

            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* The known key closest to name, when close enough to be a likely typo. */
static const char *suggest_key(const char *name)
{
    size_t len = strlen(name), limit = len / 3 > 2 ? len / 3 : 2, best = SIZE_MAX, i;
    const char *found = NULL;

    for (i = 0; i < KEY_COUNT; i++) {
        size_t d = edit_distance(name, config_keys[i].name);

        if (d < best) {
            best = d;
            found = config_keys[i].name;
        }
    }
    return best <= limit ? found : NULL;
}

static enum pp_err add_notice(struct pp_config *cfg, const char *text)
{
    const char **grown;
    const char *copy = arena_dup(cfg, text, strlen(text));

    if (copy == NULL)
        return PP_ERR_NOMEM;
    grown = pp_array_reserve(cfg->notices, &cfg->notice_cap, cfg->notice_count,
                             sizeof *cfg->notices, 8);
    if (grown == NULL)
        return PP_ERR_NOMEM;
    cfg->notices = grown;
    cfg->notices[cfg->notice_count++] = copy;
    return PP_OK;
}

/* ---- value parsers ---------------------------------------------------- */

/* Each parser fills slot->num (and windows) from text, or writes the reason
 * ("expected ..., not 'x'" or a range) into why and returns false. */

static void why_expected(const struct config_key *k, const char *expect, const char *text,
                         char *why, size_t why_len)
{
    char quoted[128];

    quote_str(text, quoted, sizeof quoted);
    snprintf(why, why_len, "expected %s, not '%s'", k->expect ? k->expect : expect,
             k->type == T_SECRET ? "***" : quoted);
}

/* Strict decimal integer (optional sign), no spaces; false on overflow. */
static bool parse_i64(const char *s, size_t len, int64_t *out)
{
    bool is_neg = false;
    uint64_t v = 0, lim;
    size_t i = 0;

    if (len > 0 && (s[0] == '-' || s[0] == '+')) {
        is_neg = s[0] == '-';
        i = 1;
    }
    if (i == len)
        return false;
    lim = is_neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        if (v > (lim - (uint64_t)(s[i] - '0')) / 10)
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = is_neg ? (v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v) : (int64_t)v;
    return true;
}

/* "<n>ms|s|m|h|d" to milliseconds; false when malformed or too large. */
static bool parse_duration(const char *s, size_t len, int64_t *ms)
{
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {{"ms", 1}, {"s", MS_S}, {"m", MS_M}, {"h", MS_H}, {"d", MS_D}};
    size_t digits = 0, i;
    int64_t n;

    while (digits < len && s[digits] >= '0' && s[digits] <= '9')
        digits++;
    if (digits == 0 || !parse_i64(s, digits, &n))
        return false;
    for (i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strlen(units[i].unit) == len - digits &&
            memcmp(units[i].unit, s + digits, len - digits) == 0) {
            if (n > INT64_MAX / units[i].ms)
                return false;
            *ms = n * units[i].ms;
            return true;
        }
    }
    return false;
}

/* A human spelling of a byte count ("5MiB") for range messages. */
static void fmt_bytes(int64_t n, char *out, size_t out_len)
{
    if (n >= GIB && n % GIB == 0)
        snprintf(out, out_len, "%lldGiB", (long long)(n / GIB));
    else if (n >= MIB && n % MIB == 0)
        snprintf(out, out_len, "%lldMiB", (long long)(n / MIB));
    else if (n >= KIB && n % KIB == 0)
        snprintf(out, out_len, "%lldKiB", (long long)(n / KIB));
    else
        snprintf(out, out_len, "%lld", (long long)n);
}

static void fmt_ms(int64_t n, char *out, size_t out_len)
{
    if (n >= MS_D && n % MS_D == 0)
        snprintf(out, out_len, "%lldd", (long long)(n / MS_D));
    else if (n >= MS_H && n % MS_H == 0)
        snprintf(out, out_len, "%lldh", (long long)(n / MS_H));
    else if (n >= MS_M && n % MS_M == 0)
        snprintf(out, out_len, "%lldm", (long long)(n / MS_M));
    else if (n >= MS_S && n % MS_S == 0)
        snprintf(out, out_len, "%llds", (long long)(n / MS_S));
    else
        snprintf(out, out_len, "%lldms", (long long)n);
}

/* min/max check shared by int, bytes and duration; fmt spells the bounds. */
static bool check_range(const struct config_key *k, int64_t v, const char *text,
                        void (*fmt)(int64_t, char *, size_t), char *why, size_t why_len)
{
    char lo[32], hi[32], quoted[128];

    if (v >= k->min && v <= k->max)
        return true;
    if ((k->flags & F_OFF) && v == -1)
        return true;
    fmt(k->min, lo, sizeof lo);
    fmt(k->max, hi, sizeof hi);
    quote_str(text, quoted, sizeof quoted);
    if (k->flags & F_OFF)
        snprintf(why, why_len, "expected -1 (off) or at least %s, not '%s'", lo, quoted);
    else if (k->max == INT64_MAX)
        snprintf(why, why_len, "must be at least %s, not '%s'", lo, quoted);
    else
        snprintf(why, why_len, "must be between %s and %s, not '%s'", lo, hi, quoted);
    return false;
}

static void fmt_int(int64_t n, char *out, size_t out_len)
{
    snprintf(out, out_len, "%lld", (long long)n);
}

static bool parse_bytes(const char *s, size_t len, int64_t *out)
{
    static const struct {
        const char *unit;
        int64_t mul;
    } units[] = {{"", 1}, {"KiB", KIB}, {"MiB", MIB}, {"GiB", GIB}};
    size_t digits = 0, rest, i;
    int64_t n;

    while (digits < len && s[digits] >= '0' && s[digits] <= '9')
        digits++;
    if (digits == 0 || !parse_i64(s, digits, &n))
        return false;
    rest = digits;
    while (rest < len && s[rest] == ' ')
        rest++;
    for (i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strlen(units[i].unit) == len - rest &&
            strncasecmp(units[i].unit, s + rest, len - rest) == 0) {
            if (n > INT64_MAX / units[i].mul)
                return false;
            *out = n * units[i].mul;
            return true;
        }
    }
    return false;
}

static bool is_topic_name(const char *s)
{
    size_t i;

    for (i = 0; s[i] != '\0'; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-')
            return false;
    return i > 0 && i <= 200;
}

/* host:port with host a name, an IPv4 address or a bracketed IPv6 one. */
static bool parse_hostport(const char *s)
{
    const char *colon = strrchr(s, ':');
    size_t hlen, i;
    int64_t port;

    if (colon == NULL || colon == s)
        return false;
    if (!parse_i64(colon + 1, strlen(colon + 1), &port) || colon[1] == '-' || colon[1] == '+' ||
        port < 0 || port > 65535)
        return false;
    hlen = (size_t)(colon - s);
    if (s[0] == '[') {
        if (hlen < 3 || s[hlen - 1] != ']')
            return false;
        for (i = 1; i + 1 < hlen; i++)
            if (!isxdigit((unsigned char)s[i]) && s[i] != ':' && s[i] != '.')
                return false;
        return true;
    }
    for (i = 0; i < hlen; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '.' && s[i] != '-')
            return false;
    return true;
}

static bool is_loopback(const char *hostport)
{
    return strncmp(hostport, "127.", 4) == 0 || strncmp(hostport, "localhost:", 10) == 0 ||
           strncmp(hostport, "[::1]:", 6) == 0;
}

static bool is_bucket_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
}

/* Length of the bucket of "s3://bucket[/prefix]", 0 when malformed. */
static size_t s3_bucket_len(const char *url)
{
    const char *b = url + 5;
    size_t n = 0;

    while (is_bucket_char(b[n]))
        n++;
    if (n < 3 || n > 63 || (b[n] != '\0' && b[n] != '/'))
        return 0;
    return n;
}

static bool parse_lake_url(const char *s)
{
    if (strstr(s, "://") == NULL)
        return true; /* a plain path */
    if (strncmp(s, "file:///", 8) == 0)
        return true;
    if (strncmp(s, "s3://", 5) == 0)
        return s3_bucket_len(s) > 0;
    return false;
}

static bool parse_http_url(const char *s)
{
    const char *host;

    if (strncasecmp(s, "http://", 7) == 0)
        host = s + 7;
    else if (strncasecmp(s, "https://", 8) == 0)
        host = s + 8;
    else
        return false;
    return host[0] != '\0' && host[0] != '/' && host[0] != ':' && strchr(host, ' ') == NULL;
}

/* "UTC" or "+HH:MM" / "-HH:MM" to an offset in milliseconds. */
static bool parse_timezone(const char *s, int64_t *ms)
{
    int h, m;

    if (strcmp(s, "UTC") == 0) {
        *ms = 0;
        return true;
    }
    if ((s[0] != '+' && s[0] != '-') || strlen(s) != 6 || !isdigit((unsigned char)s[1]) ||
        !isdigit((unsigned char)s[2]) || s[3] != ':' || !isdigit((unsigned char)s[4]) ||
        !isdigit((unsigned char)s[5]))
        return false;
    h = (s[1] - '0') * 10 + (s[2] - '0');
    m = (s[4] - '0') * 10 + (s[5] - '0');
    if (h > 18 || m > 59)
        return false;
    *ms = (s[0] == '-' ? -1 : 1) * ((int64_t)h * MS_H + (int64_t)m * MS_M);
    return true;
}

static bool parse_window_dur(const char *s, size_t len, int64_t *ms)
{
    return parse_duration(s, len, ms) && *ms > 0;
}

enum pp_err pp_config_window_parse(const char *text, size_t len, struct pp_config_window *window,
                                   const char **why)
{
    struct pp_config_window w = {PP_CONFIG_WINDOW_ALL, 0, 0};

    if (why != NULL)
        *why = NULL;
    if (len == 3 && memcmp(text, "all", 3) == 0) {
        /* w is `all` */
    } else if (len > 9 && memcmp(text, "tumbling:", 9) == 0) {
        w.kind = PP_CONFIG_WINDOW_TUMBLING;
        if (!parse_window_dur(text + 9, len - 9, &w.size_ms))
            return PP_ERR_INVALID;
        w.slide_ms = w.size_ms;
    } else if (len > 8 && memcmp(text, "hopping:", 8) == 0) {
        const char *slash = memchr(text + 8, '/', len - 8);

        w.kind = PP_CONFIG_WINDOW_HOPPING;
        if (slash == NULL ||
            !parse_window_dur(text + 8, (size_t)(slash - (text + 8)), &w.size_ms) ||
            !parse_window_dur(slash + 1, (size_t)(text + len - (slash + 1)), &w.slide_ms))
            return PP_ERR_INVALID;
        if (w.slide_ms > w.size_ms || w.size_ms % w.slide_ms != 0) {
            if (why != NULL)
                *why = w.slide_ms > w.size_ms ? "the slide must not exceed the size"
                                              : "the size must be a multiple of the slide";
            return PP_ERR_INVALID;
        }
    } else {
        return PP_ERR_INVALID;
    }
    *window = w;
    return PP_OK;
}

size_t pp_config_window_format(const struct pp_config_window *window, char *out, size_t cap)
{
    char size[32];
    char slide[32];
    int n = 0;

    switch (window->kind) {
    case PP_CONFIG_WINDOW_ALL: n = snprintf(out, cap, "all"); break;
    case PP_CONFIG_WINDOW_TUMBLING:
        fmt_ms(window->size_ms, size, sizeof size);
        n = snprintf(out, cap, "tumbling:%s", size);
        break;
    case PP_CONFIG_WINDOW_HOPPING:
        fmt_ms(window->size_ms, size, sizeof size);
        fmt_ms(window->slide_ms, slide, sizeof slide);
        n = snprintf(out, cap, "hopping:%s/%s", size, slide);
        break;
    }
    return n > 0 ? (size_t)n : 0;
}

static bool parse_windows(struct pp_config *cfg, const char *text, struct config_slot *slot,
                          char *why, size_t why_len, enum pp_err *err)
{
    static const char expect[] =
        "a comma-separated list of all, tumbling:<duration> and hopping:<size>/<slide>";
    size_t cap = 2, n = 0, i;
    const char *p;
    struct pp_config_window *w;

    for (p = text; *p; p++)
        cap += *p == ',';
    w = pp_arena_alloc(&cfg->arena, cap * sizeof *w);
    if (w == NULL) {
        *err = PP_ERR_NOMEM;
        return false;
    }
    w[n++] = (struct pp_config_window){PP_CONFIG_WINDOW_ALL, 0, 0};
    p = text;
    for (;;) {
        const char *end = strchr(p, ','), *e;
        struct pp_config_window cur = {PP_CONFIG_WINDOW_ALL, 0, 0};
        const char *rule;
        char item[128], full[256];
        size_t len;

        if (end == NULL)
            end = p + strlen(p);
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        e = end;
        while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        len = (size_t)(e - p);
        snprintf(full, sizeof full, "%.*s", (int)len, p);
        quote_str(full, item, sizeof item);
        if (pp_config_window_parse(p, len, &cur, &rule) != PP_OK) {
            if (rule != NULL) {
                snprintf(why, why_len, "'%s': %s", item, rule);
                return false;
            }
            goto bad;
        }
        for (i = 0; i < n; i++)
            if (w[i].kind == cur.kind && w[i].size_ms == cur.size_ms &&
                w[i].slide_ms == cur.slide_ms)
                break;
        if (i == n)
            w[n++] = cur;
        if (*end == '\0')
            break;
        p = end + 1;
        continue;
    bad:
        snprintf(why, why_len, "expected %s (durations such as 30s, 5m, 1h or 1d), not '%s'",
                 expect, item);
        return false;
    }
    slot->windows = w;
    slot->window_count = n;
    return true;
}

/*
 * Parses text for key k into slot. On a bad value returns PP_ERR_USAGE with
 * the reason in why; PP_ERR_NOMEM when out of memory.
 */
static enum pp_err parse_value(struct pp_config *cfg, const struct config_key *k, const char *text,
                               struct config_slot *slot, char *why, size_t why_len)
{
    size_t len = strlen(text), i;
    enum pp_err err = PP_ERR_USAGE;
    char expect[512];

    slot->text = text;
    slot->num = 0;
    slot->windows = NULL;
    slot->window_count = 0;
    switch (k->type) {
    case T_STRING:
    case T_SECRET:
        if ((k->flags & F_TOPIC) && !is_topic_name(text)) {
            why_expected(k, "a Kafka topic name (letters, digits, '.', '_' and '-')", text, why,
                         why_len);
            return PP_ERR_USAGE;
        }
        return PP_OK;
    case T_INT:
        if (!parse_i64(text, len, &slot->num)) {
            why_expected(k, "an integer", text, why, why_len);
            return PP_ERR_USAGE;
        }
        return check_range(k, slot->num, text, fmt_int, why, why_len) ? PP_OK : PP_ERR_USAGE;
    case T_BYTES:
        if (!parse_bytes(text, len, &slot->num)) {
            why_expected(k, "a size such as 1048576, 512KiB, 25MiB or 1GiB", text, why, why_len);
            return PP_ERR_USAGE;
        }
        return check_range(k, slot->num, text, fmt_bytes, why, why_len) ? PP_OK : PP_ERR_USAGE;
    case T_DURATION:
        if (!parse_duration(text, len, &slot->num)) {
            why_expected(k, "a duration such as 30s, 5m, 1h or 1d", text, why, why_len);
            return PP_ERR_USAGE;
        }
        return check_range(k, slot->num, text, fmt_ms, why, why_len) ? PP_OK : PP_ERR_USAGE;
    case T_BOOL:
        if (strcasecmp(text, "true") == 0) {
            slot->num = 1;
            slot->text = "true";
        } else if (strcasecmp(text, "false") == 0) {
            slot->text = "false";
        } else {
            why_expected(k, "true or false", text, why, why_len);
            return PP_ERR_USAGE;
        }
        return PP_OK;
    case T_ENUM:
        expect[0] = '\0';
        for (i = 0; k->choices[i].name != NULL; i++) {
            size_t used = strlen(expect);

            if (strcasecmp(text, k->choices[i].name) == 0 ||
                (k->choices[i].alias && strcasecmp(text, k->choices[i].alias) == 0)) {
                slot->num = (int64_t)i;
                slot->text = k->choices[i].name;
                return PP_OK;
            }
            snprintf(expect + used, sizeof expect - used, "%s%s%s%s%s",
                     i == 0 ? "" : (k->choices[i + 1].name ? ", " : " or "), k->choices[i].name,
                     k->choices[i].alias ? " (or " : "",
                     k->choices[i].alias ? k->choices[i].alias : "",
                     k->choices[i].alias ? ")" : "");
        }
        why_expected(k, expect, text, why, why_len);
        return PP_ERR_USAGE;
    case T_HOSTPORT:
        if (!parse_hostport(text)) {
            why_expected(k, "host:port such as 127.0.0.1:8080 or [::1]:8080", text, why, why_len);
            return PP_ERR_USAGE;
        }
        return PP_OK;
    case T_LAKE_URL:
        if (!parse_lake_url(text)) {
            why_expected(k, "file:///absolute/path, a plain path or s3://bucket/prefix", text, why,
                         why_len);
            return PP_ERR_USAGE;
        }
        return PP_OK;
    case T_HTTP_URL:
        if (!parse_http_url(text)) {
            why_expected(k, "an http:// or https:// URL such as https://s3.eu-west-1.amazonaws.com",
                         text, why, why_len);
            return PP_ERR_USAGE;
        }
        return PP_OK;
    case T_TIMEZONE:
        if (!parse_timezone(text, &slot->num)) {
            why_expected(k,
                         "UTC or a fixed offset such as +02:00 (named zones are not supported yet)",
                         text, why, why_len);
            return PP_ERR_USAGE;
        }
        return PP_OK;
    case T_WINDOWS: return parse_windows(cfg, text, slot, why, why_len, &err) ? PP_OK : err;
    }
    assert(0 && "pp_config: unhandled type");
    return PP_ERR_INTERNAL;
}

/* Resets slot i to the key's default. Defaults are part of the program, so
 * a default that fails to parse is a bug. */
static enum pp_err slot_default(struct pp_config *cfg, size_t i)
{
    const struct config_key *k = &config_keys[i];
    struct config_slot *slot = &cfg->slots[i];
    char why[256];
    enum pp_err err = PP_OK;
    bool is_noticed = slot->is_noticed;

    memset(slot, 0, sizeof *slot);
    slot->text = NULL;
    slot->windows = NULL;
    slot->where.file = NULL;
    slot->where.line = -1;
    slot->is_noticed = is_noticed;
    if (k->def != NULL) {
        err = parse_value(cfg, k, k->def, slot, why, sizeof why);
        assert(err != PP_ERR_USAGE && "pp_config: a default does not parse");
    }
    return err;
}

/* ---- applying one key ------------------------------------------------- */

static enum pp_err kafka_set(struct pp_config *cfg, const char *name, const char *value)
{
    struct config_kafka *grown;
    const char *copy = arena_dup(cfg, value, strlen(value));
    size_t i;

    if (copy == NULL)
        return PP_ERR_NOMEM;
    for (i = 0; i < cfg->kafka_count; i++) {
        if (strcmp(cfg->kafka[i].name, name) == 0) {
            cfg->kafka[i].value = copy;
            return PP_OK;
        }
    }
    grown = pp_array_reserve(cfg->kafka, &cfg->kafka_cap, cfg->kafka_count, sizeof *cfg->kafka, 8);
    if (grown == NULL)
        return PP_ERR_NOMEM;
    cfg->kafka = grown;
    cfg->kafka[cfg->kafka_count].name = arena_dup(cfg, name, strlen(name));
    if (cfg->kafka[cfg->kafka_count].name == NULL)
        return PP_ERR_NOMEM;
    cfg->kafka[cfg->kafka_count++].value = copy;
    return PP_OK;
}

/*
 * Sets key to value (both unescaped, value trimmed). An empty value resets
 * the key to its default (Kafka Connect writes "" for "not set").
 */
static enum pp_err config_apply(struct pp_config *cfg, const struct config_where *w,
                                const char *key, const char *value, char *msg, size_t msg_len)
{
    char where[1100], quoted[128], why[1024];
    const struct config_key *k;
    struct config_slot next;
    const char *copy, *near;
    enum pp_err err;
    int i;

    where_str(w, where, sizeof where);
    quote_str(key, quoted, sizeof quoted);
    if (strncmp(key, KAFKA_PREFIX, strlen(KAFKA_PREFIX)) == 0) {
        if (key[strlen(KAFKA_PREFIX)] == '\0') {
            msg_set(msg, msg_len, "%s%s: a librdkafka property name must follow 'kafka.'", where,
                    quoted);
            return PP_ERR_USAGE;
        }
        err = kafka_set(cfg, key + strlen(KAFKA_PREFIX), value);
        if (err != PP_OK)
            msg_set(msg, msg_len, "%s%s: out of memory", where, quoted);
        return err;
    }
    i = key_index(key);
    if (i < 0) {
        if (w->file == NULL)
            snprintf(where, sizeof where, "--set: ");
        near = suggest_key(key);
        if (near != NULL)
            msg_set(msg, msg_len, "%sunknown key '%s' (did you mean '%s'?)", where, quoted, near);
        else
            msg_set(msg, msg_len, "%sunknown key '%s'", where, quoted);
        return PP_ERR_USAGE;
    }
    k = &config_keys[i];
    if (value[0] == '\0') {
        err = slot_default(cfg, (size_t)i);
    } else {
        copy = arena_dup(cfg, value, strlen(value));
        if (copy == NULL) {
            err = PP_ERR_NOMEM;
            goto out;
        }
        next = cfg->slots[i];
        err = parse_value(cfg, k, copy, &next, why, sizeof why);
        if (err == PP_ERR_USAGE) {
            msg_set(msg, msg_len, "%s%s: %s", where, k->name, why);
            return err;
        }
        if (err != PP_OK)
            goto out;
        next.is_set = true;
        cfg->slots[i] = next;
    }
    cfg->slots[i].where = *w;
    if ((k->flags & F_IGNORED) && !cfg->slots[i].is_noticed) {
        char notice[256];

        if (k->notice != NULL)
            snprintf(notice, sizeof notice, "notice: key '%s' is ignored: %s", k->name, k->notice);
        else
            snprintf(notice, sizeof notice,
                     "notice: key '%s' has no meaning for pinpipe and is ignored", k->name);
        err = add_notice(cfg, notice);
        cfg->slots[i].is_noticed = true;
    }
out:
    if (err == PP_ERR_NOMEM)
        msg_set(msg, msg_len, "%s%s: out of memory", where, k->name);
    return err;
}

/* ---- properties syntax ------------------------------------------------ */

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\f';
}

static bool read_u4(const char *s, size_t len, size_t i, unsigned *cp)
{
    size_t j;

    *cp = 0;
    if (i + 4 > len)
        return false;
    for (j = 0; j < 4; j++) {
        int h = pp_hex_digit(s[i + j]);

        if (h < 0)
            return false;
        *cp = *cp * 16 + (unsigned)h;
    }
    return true;
}

static size_t utf8_put(unsigned cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/*
 * Properties.load's loadConvert: \t \n \r \f, \uXXXX (surrogate pairs
 * combined, lone surrogates rejected), and a backslash before any other
 * character stands for that character (\\ \= \: \# \! \ ). out holds at
 * least len + 1 bytes: no escape grows. With trim, trailing unescaped
 * whitespace is dropped. Returns NULL or the reason of a failure.
 */
static const char *unescape(const char *s, size_t len, bool is_trim, char *out)
{
    size_t i = 0, n = 0, keep = 0;

    while (i < len) {
        char c = s[i++];
        bool is_escaped = false;

        if (c == '\0')
            return "a NUL byte is not allowed";
        if (c == '\\' && i < len) {
            is_escaped = true;
            c = s[i++];
            if (c == 'u') {
                unsigned cp, lo;

                if (!read_u4(s, len, i, &cp))
                    return "malformed \\uXXXX escape";
                i += 4;
                if (cp >= 0xdc00 && cp <= 0xdfff)
                    return "lone UTF-16 surrogate in a \\uXXXX escape";
                if (cp >= 0xd800 && cp <= 0xdbff) {
                    if (i + 6 > len || s[i] != '\\' || s[i + 1] != 'u' ||
                        !read_u4(s, len, i + 2, &lo) || lo < 0xdc00 || lo > 0xdfff)
                        return "lone UTF-16 surrogate in a \\uXXXX escape";
                    i += 6;
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                }
                if (cp == 0)
                    return "\\u0000 is not allowed";
                n += utf8_put(cp, out + n);
                keep = n;
                continue;
            }
            c = c == 't' ? '\t' : c == 'n' ? '\n' : c == 'r' ? '\r' : c == 'f' ? '\f' : c;
        }
        out[n++] = c;
        if (!is_trim || is_escaped || !is_ws(c))
            keep = n;
    }
    out[keep] = '\0';
    return NULL;
}

/*
 * One logical line (continuations already joined): splits key and value
 * like Properties.load (the key ends at the first unescaped '=', ':' or
 * whitespace; whitespace and one '=' or ':' are skipped after it), then
 * unescapes both and applies them. A --set argument needs a separator.
 */
static enum pp_err apply_line(struct pp_config *cfg, const struct config_where *w, const char *s,
                              size_t len, char *msg, size_t msg_len)
{
    size_t key_len = 0, value_start = len;
    bool has_sep = false, is_backslash = false;
    char where[1100], *key = NULL, *value = NULL;
    const char *why;
    enum pp_err err = PP_ERR_USAGE;

    where_str(w, where, sizeof where);
    while (key_len < len) {
        char c = s[key_len];

        if ((c == '=' || c == ':') && !is_backslash) {
            value_start = key_len + 1;
            has_sep = true;
            break;
        }
        if (is_ws(c) && !is_backslash) {
            value_start = key_len + 1;
            break;
        }
        is_backslash = c == '\\' ? !is_backslash : false;
        key_len++;
    }
    while (value_start < len) {
        char c = s[value_start];

        if (!is_ws(c)) {
            if (!has_sep && (c == '=' || c == ':'))
                has_sep = true;
            else
                break;
        }
        value_start++;
    }
    if (w->file == NULL && key_len == len) {
        char quoted[128], full[256];

        snprintf(full, sizeof full, "%.*s", (int)(len < 200 ? len : 200), s);
        quote_str(full, quoted, sizeof quoted);
        msg_set(msg, msg_len, "--set: expected key=value, not '%s'", quoted);
        return PP_ERR_USAGE;
    }
    key = malloc(key_len + 1);
    value = malloc(len - value_start + 1);
    if (key == NULL || value == NULL) {
        err = PP_ERR_NOMEM;
        msg_set(msg, msg_len, "%sout of memory", where);
        goto out;
    }
    why = unescape(s, key_len, false, key);
    if (why != NULL) {
        msg_set(msg, msg_len, "%sbad key: %s", where, why);
        goto out;
    }
    if (key[0] == '\0') {
        msg_set(msg, msg_len, "%sempty key", where);
        goto out;
    }
    why = unescape(s + value_start, len - value_start, true, value);
    if (why != NULL) {
        char quoted[128];

        quote_str(key, quoted, sizeof quoted);
        msg_set(msg, msg_len, "%s%s: bad value: %s", where, quoted, why);
        goto out;
    }
    err = config_apply(cfg, w, key, value, msg, msg_len);
out:
    free(key);
    free(value);
    return err;
}

enum pp_err pp_config_load_text(struct pp_config *cfg, const char *name, const char *text,
                                size_t len, char *msg, size_t msg_len)
{
    struct pp_buf line;
    struct config_where w;
    size_t pos = 0;
    long line_no = 1;
    enum pp_err err = PP_OK;

    pp_buf_init(&line);
    w.file = arena_dup(cfg, name, strlen(name));
    if (w.file == NULL) {
        msg_set(msg, msg_len, "%s: out of memory", name);
        return PP_ERR_NOMEM;
    }
    while (pos < len) {
        /* Start of a natural line: blank and comment lines are skipped
         * whole (a comment never continues onto the next line). */
        while (pos < len && is_ws(text[pos]))
            pos++;
        if (pos == len)
            break;
        if (text[pos] == '\n' || text[pos] == '\r' || text[pos] == '#' || text[pos] == '!') {
            while (pos < len && text[pos] != '\n' && text[pos] != '\r')
                pos++;
            if (pos < len && text[pos] == '\r' && pos + 1 < len && text[pos + 1] == '\n')
                pos++;
            pos++;
            line_no++;
            continue;
        }
        w.line = line_no;
        line.len = 0;
        for (;;) {
            size_t start = pos, slashes = 0;

            while (pos < len && text[pos] != '\n' && text[pos] != '\r')
                pos++;
            err = pp_buf_append(&line, text + start, pos - start);
            if (err != PP_OK) {
                msg_set(msg, msg_len, "%s:%ld: out of memory", name, w.line);
                goto out;
            }
            if (pos < len) {
                if (text[pos] == '\r' && pos + 1 < len && text[pos + 1] == '\n')
                    pos++;
                pos++;
                line_no++;
            }
            while (slashes < line.len && line.data[line.len - 1 - slashes] == '\\')
                slashes++;
            if (slashes % 2 == 0)
                break;
            /* An odd number of trailing backslashes: the line continues,
             * minus the backslash and the next line's leading whitespace. */
            line.len--;
            if (pos == len)
                break;
            while (pos < len && is_ws(text[pos]))
                pos++;
        }
        err = apply_line(cfg, &w, line.data ? line.data : "", line.len, msg, msg_len);
        if (err != PP_OK)
            goto out;
    }
out:
    pp_buf_cleanup(&line);
    return err;
}

enum pp_err pp_config_load_file(struct pp_config *cfg, const char *path, char *msg, size_t msg_len)
{
    struct pp_buf text;
    FILE *f;
    enum pp_err err = PP_OK;

    pp_buf_init(&text);
    f = fopen(path, "rb");
    if (f == NULL) {
        int saved = errno;

        msg_set(msg, msg_len, "cannot open config file '%s': %s", path, strerror(saved));
        return saved == ENOENT ? PP_ERR_NOTFOUND : PP_ERR_IO;
    }
    err = pp_buf_append_file(&text, f, CONFIG_MAX_FILE);
    if (err == PP_ERR_NOMEM) {
        msg_set(msg, msg_len, "%s: out of memory", path);
        goto out;
    }
    if (err == PP_ERR_TOOBIG) {
        msg_set(msg, msg_len, "%s: config file larger than %d MiB", path,
                CONFIG_MAX_FILE / (1024 * 1024));
        err = PP_ERR_USAGE;
        goto out;
    }
    if (err != PP_OK) {
        msg_set(msg, msg_len, "cannot read config file '%s': %s", path, strerror(errno));
        goto out;
    }
    err = pp_config_load_text(cfg, path, text.data ? text.data : "", text.len, msg, msg_len);
out:
    fclose(f);
    pp_buf_cleanup(&text);
    return err;
}

enum pp_err pp_config_set_arg(struct pp_config *cfg, const char *key_eq_value, char *msg,
                              size_t msg_len)
{
    struct config_where w = {NULL, 0};

    while (is_ws(*key_eq_value))
        key_eq_value++;
    return apply_line(cfg, &w, key_eq_value, strlen(key_eq_value), msg, msg_len);
}

/* ---- cross-key validation --------------------------------------------- */

static const struct config_slot *slot_of(const struct pp_config *cfg, const char *key, char *where,
                                         size_t where_len)
{
    const struct config_slot *slot = slot_get(cfg, key);

    where_str(&slot->where, where, where_len);
    return slot;
}

enum pp_err pp_config_validate(struct pp_config *cfg, char *msg, size_t msg_len)
{
    char where[1100];
    const struct config_slot *slot;
    const char *lake = pp_config_str(cfg, "lake.url");
    const char *bucket = pp_config_str(cfg, "s3.bucket.name");

    slot = slot_of(cfg, "partitioner.class", where, sizeof where);
    if (strcmp(slot->text, PARTITIONER_TIME) == 0) {
        if (!pp_config_is_set(cfg, "path.format")) {
            msg_set(msg, msg_len,
                    "%spartitioner.class: TimeBasedPartitioner needs path.format (such as "
                    "'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH)",
                    where);
            return PP_ERR_USAGE;
        }
        if (!pp_config_is_set(cfg, "partition.duration.ms")) {
            msg_set(msg, msg_len,
                    "%spartitioner.class: TimeBasedPartitioner needs partition.duration.ms", where);
            return PP_ERR_USAGE;
        }
    }
    slot = slot_of(cfg, "timestamp.extractor", where, sizeof where);
    if (strcmp(slot->text, "RecordField") == 0 && !pp_config_is_set(cfg, "timestamp.field")) {
        msg_set(msg, msg_len, "%stimestamp.extractor: RecordField needs timestamp.field", where);
        return PP_ERR_USAGE;
    }
    /* s3.bucket.name alone (the MSK Connect way) builds the lake URL; next
     * to an s3:// lake.url it must name the same bucket; next to a local
     * lake.url it is a contradiction. */
    if (bucket != NULL) {
        char quoted_lake[128], quoted_bucket[128];

        slot = slot_of(cfg, "s3.bucket.name", where, sizeof where);
        if (!pp_config_is_set(cfg, "lake.url")) {
            struct config_where w = slot->where;
            char url[512];

            snprintf(url, sizeof url, "s3://%s", bucket);
            if (strlen(bucket) + 5 >= sizeof url || !parse_lake_url(url)) {
                char quoted[128];

                quote_str(bucket, quoted, sizeof quoted);
                msg_set(msg, msg_len, "%ss3.bucket.name: '%s' is not a valid S3 bucket name", where,
                        quoted);
                return PP_ERR_USAGE;
            }
            return config_apply(cfg, &w, "lake.url", url, msg, msg_len);
        }
        /* Both values are quoted: a --set value may hold a newline (found
         * by tests/fuzz/fuzz_config.c: a two-line message). */
        quote_str(lake, quoted_lake, sizeof quoted_lake);
        if (strncmp(lake, "s3://", 5) != 0) {
            msg_set(msg, msg_len,
                    "%ss3.bucket.name: set, but lake.url '%s' is not an s3:// URL (set "
                    "lake.url=s3://bucket/prefix and drop s3.bucket.name)",
                    where, quoted_lake);
            return PP_ERR_USAGE;
        }
        if (strlen(bucket) != s3_bucket_len(lake) || memcmp(bucket, lake + 5, strlen(bucket))) {
            quote_str(bucket, quoted_bucket, sizeof quoted_bucket);
            msg_set(msg, msg_len, "%ss3.bucket.name: '%s' differs from the bucket of lake.url '%s'",
                    where, quoted_bucket, quoted_lake);
            return PP_ERR_USAGE;
        }
    }
    slot = slot_of(cfg, "http.listen", where, sizeof where);
    if (!is_loopback(slot->text) && strcmp(pp_config_str(cfg, "http.auth"), "token") == 0 &&
        !pp_config_is_set(cfg, "http.auth.token")) {
        msg_set(msg, msg_len,
                "%shttp.listen: %s is not a loopback address: set http.auth.token, or "
                "http.auth=none to serve without authentication",
                where, slot->text);
        return PP_ERR_USAGE;
    }
    return PP_OK;
}

/* ---- lifecycle and getters -------------------------------------------- */

struct pp_config *pp_config_new(void)
{
    struct pp_config *cfg = calloc(1, sizeof *cfg);
    size_t i;

    if (cfg == NULL)
        return NULL;
    pp_arena_init(&cfg->arena, 4096);
    for (i = 0; i < KEY_COUNT; i++) {
        if (slot_default(cfg, i) != PP_OK) {
            pp_config_destroy(cfg);
            return NULL;
        }
    }
    return cfg;
}

void pp_config_destroy(struct pp_config *cfg)
{
    if (cfg == NULL)
        return;
    pp_arena_cleanup(&cfg->arena);
    free(cfg->kafka);
    free(cfg->notices);
    free(cfg);
}

bool pp_config_is_set(const struct pp_config *cfg, const char *key)
{
    return slot_get(cfg, key)->is_set;
}

const char *pp_config_str(const struct pp_config *cfg, const char *key)
{
    return slot_get(cfg, key)->text;
}

int64_t pp_config_int(const struct pp_config *cfg, const char *key)
{
    int i = key_index(key);

    assert(i >= 0 && config_keys[i].type == T_INT);
    return cfg->slots[i].num;
}

int64_t pp_config_ms(const struct pp_config *cfg, const char *key)
{
    int i = key_index(key);

    assert(i >= 0 && (config_keys[i].type == T_DURATION || config_keys[i].type == T_TIMEZONE));
    return cfg->slots[i].num;
}

uint64_t pp_config_bytes(const struct pp_config *cfg, const char *key)
{
    int i = key_index(key);

    assert(i >= 0 && config_keys[i].type == T_BYTES);
    return (uint64_t)cfg->slots[i].num;
}

bool pp_config_bool(const struct pp_config *cfg, const char *key)
{
    int i = key_index(key);

    assert(i >= 0 && config_keys[i].type == T_BOOL);
    return cfg->slots[i].num != 0;
}

const struct pp_config_window *pp_config_windows(const struct pp_config *cfg, size_t *n)
{
    const struct config_slot *slot = slot_get(cfg, "analytics.windows");

    *n = slot->window_count;
    return slot->windows;
}

size_t pp_config_kafka_count(const struct pp_config *cfg)
{
    return cfg->kafka_count;
}

void pp_config_kafka_at(const struct pp_config *cfg, size_t i, const char **name,
                        const char **value)
{
    assert(i < cfg->kafka_count);
    *name = cfg->kafka[i].name;
    *value = cfg->kafka[i].value;
}

size_t pp_config_notice_count(const struct pp_config *cfg)
{
    return cfg->notice_count;
}

const char *pp_config_notice_at(const struct pp_config *cfg, size_t i)
{
    assert(i < cfg->notice_count);
    return cfg->notices[i];
}

/* Appends text escaped so that Properties.load reads it back unchanged. */
static enum pp_err dump_escaped(struct pp_buf *out, const char *s, bool is_key)
{
    enum pp_err err = PP_OK;
    size_t i;

    for (i = 0; s[i] != '\0' && err == PP_OK; i++) {
        char c = s[i];

        switch (c) {
        case '\\': err = pp_buf_append(out, "\\\\", 2); break;
        case '\t': err = pp_buf_append(out, "\\t", 2); break;
        case '\n': err = pp_buf_append(out, "\\n", 2); break;
        case '\r': err = pp_buf_append(out, "\\r", 2); break;
        case '\f': err = pp_buf_append(out, "\\f", 2); break;
        case '=':
        case ':':
        case '#':
        case '!':
            err = is_key || i == 0 ? pp_buf_printf(out, "\\%c", c) : pp_buf_append(out, &c, 1);
            break;
        case ' ':
            err = is_key || i == 0 || s[i + 1] == '\0' ? pp_buf_append(out, "\\ ", 2)
                                                       : pp_buf_append(out, &c, 1);
            break;
        default: err = pp_buf_append(out, &c, 1); break;
        }
    }
    return err;
}

static bool is_secret_kafka(const char *name)
{
    return strstr(name, "password") != NULL || strstr(name, "secret") != NULL;
}

enum pp_err pp_config_dump(const struct pp_config *cfg, struct pp_buf *out)
{
    enum pp_err err = PP_OK;
    size_t i;

    for (i = 0; i < KEY_COUNT && err == PP_OK; i++) {
        const struct config_key *k = &config_keys[i];
        const char *text = cfg->slots[i].text;

        if (k->flags & F_IGNORED)
            continue;
        err = pp_buf_printf(out, "%s=", k->name);
        if (err == PP_OK && text != NULL)
            err = k->type == T_SECRET ? pp_buf_append_str(out, "***")
                                      : dump_escaped(out, text, false);
        if (err == PP_OK)
            err = pp_buf_append(out, "\n", 1);
    }
    for (i = 0; i < cfg->kafka_count && err == PP_OK; i++) {
        err = pp_buf_append_str(out, KAFKA_PREFIX);
        if (err == PP_OK)
            err = dump_escaped(out, cfg->kafka[i].name, true);
        if (err == PP_OK)
            err = pp_buf_append(out, "=", 1);
        if (err == PP_OK)
            err = is_secret_kafka(cfg->kafka[i].name)
                      ? pp_buf_append_str(out, "***")
                      : dump_escaped(out, cfg->kafka[i].value, false);
        if (err == PP_OK)
            err = pp_buf_append(out, "\n", 1);
    }
    return err;
}
