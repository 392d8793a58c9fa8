/*
 * Unit tests of pp_config: properties syntax, typed keys, --set, the
 * MSK Connect keys, windows, cross-key validation and secrecy.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pp_check.h"
#include "pp_config.h"

#define MIB (1024ULL * 1024)

static char msg[1024];

/* Loads text as the file "pinpipe.properties" into a fresh config. */
static enum pp_err load(struct pp_config **cfg, const char *text)
{
    *cfg = pp_config_new();
    ck_assert_ptr_nonnull(*cfg);
    msg[0] = '\0';
    return pp_config_load_text(*cfg, "pinpipe.properties", text, strlen(text), msg, sizeof msg);
}

/* Loads text that must be accepted. */
static struct pp_config *load_ok(const char *text)
{
    struct pp_config *cfg;
    enum pp_err err = load(&cfg, text);

    ck_assert_msg(err == PP_OK, "unexpected error: %s", msg);
    return cfg;
}

/* Loads text that must fail with PP_ERR_USAGE and the message want. */
static void load_fails(const char *text, const char *want)
{
    struct pp_config *cfg;

    ck_assert_int_eq(load(&cfg, text), PP_ERR_USAGE);
    ck_assert_str_eq(msg, want);
    pp_config_destroy(cfg);
}

/* Loads text that must fail with PP_ERR_USAGE, the message holding want. */
static void load_fails_with(const char *text, const char *want)
{
    struct pp_config *cfg;

    ck_assert_int_eq(load(&cfg, text), PP_ERR_USAGE);
    ck_assert_msg(strstr(msg, want) != NULL, "'%s' not in '%s'", want, msg);
    pp_config_destroy(cfg);
}

static enum pp_err validate(struct pp_config *cfg)
{
    msg[0] = '\0';
    return pp_config_validate(cfg, msg, sizeof msg);
}

START_TEST(test_defaults)
{
    struct pp_config *cfg = pp_config_new();
    size_t n;

    ck_assert_ptr_nonnull(cfg);
    ck_assert_str_eq(pp_config_str(cfg, "topics.prefix"), "pinterest");
    ck_assert_str_eq(pp_config_str(cfg, "lake.url"), "./lake");
    ck_assert_str_eq(pp_config_str(cfg, "topics.dir"), "topics");
    ck_assert_ptr_null(pp_config_str(cfg, "store.url"));
    ck_assert_ptr_null(pp_config_str(cfg, "http.auth.token"));
    ck_assert(!pp_config_is_set(cfg, "topics.prefix"));
    ck_assert_str_eq(pp_config_str(cfg, "s3.region"), "us-east-1");
    ck_assert_uint_eq(pp_config_bytes(cfg, "s3.part.size"), 25 * MIB);
    ck_assert_int_eq(pp_config_int(cfg, "flush.size"), 10000);
    ck_assert_int_eq(pp_config_int(cfg, "rotate.interval.ms"), -1);
    ck_assert_int_eq(pp_config_int(cfg, "rotate.schedule.interval.ms"), -1);
    ck_assert_str_eq(pp_config_str(cfg, "partitioner.class"),
                     "io.confluent.connect.storage.partitioner.DefaultPartitioner");
    ck_assert_int_eq(pp_config_ms(cfg, "timezone"), 0);
    ck_assert_str_eq(pp_config_str(cfg, "timestamp.extractor"), "Record");
    ck_assert_int_eq(pp_config_int(cfg, "filename.offset.zero.pad.width"), 10);
    ck_assert_str_eq(pp_config_str(cfg, "sink.compression"), "zstd");
    ck_assert_int_eq(pp_config_int(cfg, "sink.zstd.level"), 3);
    ck_assert_uint_eq(pp_config_bytes(cfg, "sink.max.buffered.bytes"), 256 * MIB);
    ck_assert_int_eq(pp_config_int(cfg, "sink.shutdown.timeout.ms"), 20000);
    ck_assert_int_eq(pp_config_int(cfg, "s3.request.timeout.ms"), 30000);
    ck_assert_uint_eq(pp_config_bytes(cfg, "input.max.record.bytes"), MIB);
    ck_assert_int_eq(pp_config_ms(cfg, "dedup.ttl"), 24LL * 3600 * 1000);
    ck_assert_int_eq(pp_config_ms(cfg, "join.timeout"), 600000);
    ck_assert_int_eq(pp_config_ms(cfg, "analytics.allowed.lateness"), 5000);
    ck_assert_int_eq(pp_config_ms(cfg, "analytics.retention"), 24LL * 3600 * 1000);
    ck_assert_str_eq(pp_config_str(cfg, "http.listen"), "127.0.0.1:8080");
    ck_assert_str_eq(pp_config_str(cfg, "http.auth"), "token");
    ck_assert_uint_eq(pp_config_bytes(cfg, "http.max.body.bytes"), MIB);
    ck_assert_ptr_nonnull(pp_config_windows(cfg, &n));
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(pp_config_windows(cfg, &n)[0].kind, PP_CONFIG_WINDOW_ALL);
    ck_assert_uint_eq(pp_config_kafka_count(cfg), 0);
    ck_assert_uint_eq(pp_config_notice_count(cfg), 0);
    ck_assert_int_eq(validate(cfg), PP_OK);
    pp_config_destroy(cfg);
    pp_config_destroy(NULL);
}
END_TEST

START_TEST(test_syntax_comments_and_separators)
{
    struct pp_config *cfg = load_ok("# a comment\n"
                                    "! another comment\n"
                                    "\n"
                                    "   \t\n"
                                    "topics.prefix=alpha\n"
                                    "  topics.dir : beta  \n"
                                    "s3.region   gamma\n"
                                    "store.url=  https://minio:9000\r\n"
                                    "path.format:'year'=YYYY\r"
                                    "timestamp.field = a=b:c#d!e\n"
                                    "   # indented comment\n"
                                    "flush.size\t=\t7");

    ck_assert_str_eq(pp_config_str(cfg, "topics.prefix"), "alpha");
    ck_assert_str_eq(pp_config_str(cfg, "topics.dir"), "beta");
    ck_assert_str_eq(pp_config_str(cfg, "s3.region"), "gamma");
    ck_assert_str_eq(pp_config_str(cfg, "store.url"), "https://minio:9000");
    ck_assert_str_eq(pp_config_str(cfg, "path.format"), "'year'=YYYY");
    ck_assert_str_eq(pp_config_str(cfg, "timestamp.field"), "a=b:c#d!e");
    ck_assert_int_eq(pp_config_int(cfg, "flush.size"), 7);
    ck_assert(pp_config_is_set(cfg, "flush.size"));
    pp_config_destroy(cfg);
}
END_TEST

START_TEST(test_syntax_continuation)
{
    /* A trailing backslash joins the next line minus its leading
     * whitespace; an even number of backslashes does not continue; a
     * comment line never continues. */
    struct pp_config *cfg = load_ok("analytics.windows = tumbling:1m,\\\n"
                                    "      hopping:1h/5m\n"
                                    "timestamp.field = a\\\\\n"
                                    "# comment \\\n"
                                    "topics.dir = t\\\n"
                                    "\\\n"
                                    "  u\n"
                                    "flush.size = 5\n");
    size_t n;
    const struct pp_config_window *w = pp_config_windows(cfg, &n);

    ck_assert_uint_eq(n, 3);
    ck_assert_int_eq(w[2].kind, PP_CONFIG_WINDOW_HOPPING);
    ck_assert_str_eq(pp_config_str(cfg, "timestamp.field"), "a\\");
    ck_assert_str_eq(pp_config_str(cfg, "topics.dir"), "tu");
    ck_assert_int_eq(pp_config_int(cfg, "flush.size"), 5);
    pp_config_destroy(cfg);
}
END_TEST

START_TEST(test_syntax_line_numbers)
{
    /* The line of an entry is the line it starts on, continuations count. */
    load_fails("a.b.c.d.e.f.g.h=1\\\n  2\n\n# c\nflush.size=x\n",
               "pinpipe.properties:1: unknown key 'a.b.c.d.e.f.g.h'");
    load_fails("topics.dir=a\\\n  b\n\n# c\nflush.size=x\n",
               "pinpipe.properties:5: flush.size: expected an integer, not 'x'");
}
END_TEST

START_TEST(test_syntax_escapes)
{
    struct pp_config *cfg = load_ok("timestamp.field = a\\tb\\nc\\rd\\fe\\\\f\\=g\\:h\\#i\\!j\n"
                                    "path.format = \\ lead and trail\\ \n"
                                    "topics.dir = x\\qy\n"
                                    "t\\opics.prefix = keyescape\n"
                                    "kafka.client\\=id\\ x = v\n");
    const char *name, *value;

    ck_assert_str_eq(pp_config_str(cfg, "timestamp.field"), "a\tb\nc\rd\fe\\f=g:h#i!j");
    ck_assert_str_eq(pp_config_str(cfg, "path.format"), " lead and trail ");
    /* Like Java, a backslash before any other character is dropped. */
    ck_assert_str_eq(pp_config_str(cfg, "topics.dir"), "xqy");
    ck_assert_str_eq(pp_config_str(cfg, "topics.prefix"), "keyescape");
    pp_config_kafka_at(cfg, 0, &name, &value);
    ck_assert_str_eq(name, "client=id x");
    ck_assert_str_eq(value, "v");
    pp_config_destroy(cfg);
}
END_TEST

START_TEST(test_syntax_unicode_escapes)
{
    struct pp_config *cfg = load_ok("timestamp.field = \\u0041\\u00e9\\u20AC\\uD83D\\uDE00\n");

    ck_assert_str_eq(pp_config_str(cfg, "timestamp.field"),
                     "A\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
    pp_config_destroy(cfg);
    load_fails("timestamp.field = \\u00g1\n",
               "pinpipe.properties:1: timestamp.field: bad value: malformed \\uXXXX escape");
    load_fails("timestamp.field = ab\\u12\n",
               "pinpipe.properties:1: timestamp.field: bad value: malformed \\uXXXX escape");
    load_fails("timestamp.field = \\uD83D\n",
               "pinpipe.properties:1: timestamp.field: bad value: lone UTF-16 surrogate in a "
               "\\uXXXX escape");
    load_fails("timestamp.field = \\uDE00\\uD83D\n",
               "pinpipe.properties:1: timestamp.field: bad value: lone UTF-16 surrogate in a "
               "\\uXXXX escape");
    load_fails("timestamp.field = \\uD83Dx\n",
               "pinpipe.properties:1: timestamp.field: bad value: lone UTF-16 surrogate in a "
               "\\uXXXX escape");
    load_fails("timestamp.field = \\u0000\n",
               "pinpipe.properties:1: timestamp.field: bad value: \\u0000 is not allowed");
}
END_TEST

START_TEST(test_syntax_duplicate_key_last_wins)
{
    struct pp_config *cfg = load_ok("flush.size=1\nflush.size=2\nflush.size=3\n");

    ck_assert_int_eq(pp_config_int(cfg, "flush.size"), 3);
    pp_config_destroy(cfg);
}
END_TEST

START_TEST(test_empty_value_means_default)
{
    struct pp_config *cfg = load_ok("flush.size=5\nflush.size=\ntopics.prefix\n");

    ck_assert_int_eq(pp_config_int(cfg, "flush.size"), 10000);
    ck_assert(!pp_config_is_set(cfg, "flush.size"));
    ck_assert_str_eq(pp_config_str(cfg, "topics.prefix"), "pinterest");
    pp_config_destroy(cfg);
    load_fails("=5\n", "pinpipe.properties:1: empty key");
}
END_TEST

START_TEST(test_type_int)
{
    struct pp_config *cfg = load_ok("flush.size=1\nrotate.interval.ms=60000\n"
                                    "rotate.schedule.interval.ms=-1\n"
                                    "filename.offset.zero.pad.width=19\n"
                                    "sink.shutdown.timeout.ms=0\ns3.request.timeout.ms=2000\n");

    ck_assert_int_eq(pp_config_int(cfg, "flush.size"), 1);
    ck_assert_int_eq(pp_config_int(cfg, "sink.shutdown.timeout.ms"), 0);
    ck_assert_int_eq(pp_config_int(cfg, "s3.request.timeout.ms"), 2000);
    ck_assert_int_eq(pp_config_int(cfg, "rotate.interval.ms"), 60000);
    ck_assert_int_eq(pp_config_int(cfg, "filename.offset.zero.pad.width"), 19);
    pp_config_destroy(cfg);
    load_fails("flush.size=ten\n",
               "pinpipe.properties:1: flush.size: expected an integer, not 'ten'");
    load_fails("flush.size=0\n", "pinpipe.properties:1: flush.size: must be between 1 and "
                                 "2147483647, not '0'");
    load_fails("flush.size=1.5\n",
               "pinpipe.properties:1: flush.size: expected an integer, not '1.5'");
    load_fails("flush.size=99999999999999999999\n",
               "pinpipe.properties:1: flush.size: expected an integer, not "
               "'99999999999999999999'");
    load_fails("rotate.interval.ms=0\n", "pinpipe.properties:1: rotate.interval.ms: expected -1 "
                                         "(off) or at least 1, not '0'");
    load_fails("rotate.interval.ms=-2\n", "pinpipe.properties:1: rotate.interval.ms: expected -1 "
                                          "(off) or at least 1, not '-2'");
    load_fails("filename.offset.zero.pad.width=20\n",
               "pinpipe.properties:1: filename.offset.zero.pad.width: must be between 1 and 19, "
               "not '20'");
    load_fails("sink.zstd.level=0\n",
               "pinpipe.properties:1: sink.zstd.level: must be between 1 and 19, not '0'");
    load_fails("sink.shutdown.timeout.ms=-1\n",
               "pinpipe.properties:1: sink.shutdown.timeout.ms: must be between 0 and "
               "2147483647, not '-1'");
    load_fails("s3.request.timeout.ms=999\n",
               "pinpipe.properties:1: s3.request.timeout.ms: must be between 1000 and "
               "2147483647, not '999'");
    load_fails("partition.duration.ms=0\n",
               "pinpipe.properties:1: partition.duration.ms: must be at least 1, not '0'");
}
END_TEST

START_TEST(test_type_bytes)
{
    struct pp_config *cfg = load_ok("s3.part.size=5MiB\nsink.max.buffered.bytes=1GiB\n"
                                    "input.max.record.bytes=2048\nhttp.max.body.bytes=64 KiB\n");

    ck_assert_uint_eq(pp_config_bytes(cfg, "s3.part.size"), 5 * MIB);
    ck_assert_uint_eq(pp_config_bytes(cfg, "sink.max.buffered.bytes"), 1024 * MIB);
    ck_assert_uint_eq(pp_config_bytes(cfg, "input.max.record.bytes"), 2048);
    ck_assert_uint_eq(pp_config_bytes(cfg, "http.max.body.bytes"), 64 * 1024);
    pp_config_destroy(cfg);
    load_fails("s3.part.size=4MiB\n", "pinpipe.properties:1: s3.part.size: must be between 5MiB "
                                      "and 5GiB, not '4MiB'");
    load_fails("input.max.record.bytes=128MiB\n",
               "pinpipe.properties:1: input.max.record.bytes: must be between 1KiB and 64MiB, "
               "not '128MiB'");
    load_fails("input.max.record.bytes=1023\n",
               "pinpipe.properties:1: input.max.record.bytes: must be between 1KiB and 64MiB, "
               "not '1023'");
    load_fails("s3.part.size=25MB\n",
               "pinpipe.properties:1: s3.part.size: expected a size such as 1048576, 512KiB, "
               "25MiB or 1GiB, not '25MB'");
    load_fails_with("sink.max.buffered.bytes=-1\n", "expected a size");
}
END_TEST

START_TEST(test_type_duration)
{
    struct pp_config *cfg = load_ok("dedup.ttl=1d\njoin.timeout=30s\nanalytics.retention=2h\n"
                                    "analytics.allowed.lateness=0ms\n");

    ck_assert_int_eq(pp_config_ms(cfg, "dedup.ttl"), 86400000);
    ck_assert_int_eq(pp_config_ms(cfg, "join.timeout"), 30000);
    ck_assert_int_eq(pp_config_ms(cfg, "analytics.retention"), 7200000);
    ck_assert_int_eq(pp_config_ms(cfg, "analytics.allowed.lateness"), 0);
    pp_config_destroy(cfg);
    load_fails("\n\n\n\n\n\njoin.timeout=ten\n",
               "pinpipe.properties:7: join.timeout: expected a duration such as 30s, 5m, 1h or "
               "1d, not 'ten'");
    load_fails_with("join.timeout=10\n", "expected a duration");
    load_fails_with("join.timeout=10 m\n", "expected a duration");
    load_fails_with("join.timeout=1w\n", "expected a duration");
    load_fails_with("join.timeout=99999999999999999d\n", "expected a duration");
    load_fails("join.timeout=0s\n",
               "pinpipe.properties:1: join.timeout: must be at least 1ms, not '0s'");
}
END_TEST

START_TEST(test_type_bool)
{
    struct pp_config *cfg = load_ok("value.converter.schemas.enable=False\n"
                                    "key.converter.schemas.enable=true\n");

    ck_assert(!pp_config_bool(cfg, "value.converter.schemas.enable"));
    ck_assert(pp_config_bool(cfg, "key.converter.schemas.enable"));
    pp_config_destroy(cfg);
    load_fails("key.converter.schemas.enable=yes\n",
               "pinpipe.properties:1: key.converter.schemas.enable: expected true or false, not "
               "'yes'");
}
END_TEST

START_TEST(test_type_enum)
{
    struct pp_config *cfg = load_ok("partitioner.class=time\ntimestamp.extractor=wallclock\n"
                                    "sink.compression=none\nhttp.auth=none\n");

    ck_assert_str_eq(pp_config_str(cfg, "partitioner.class"),
                     "io.confluent.connect.storage.partitioner.TimeBasedPartitioner");
    ck_assert_str_eq(pp_config_str(cfg, "timestamp.extractor"), "Wallclock");
    ck_assert_str_eq(pp_config_str(cfg, "sink.compression"), "none");
    ck_assert_str_eq(pp_config_str(cfg, "http.auth"), "none");
    pp_config_destroy(cfg);
    cfg = load_ok("partitioner.class=io.confluent.connect.storage.partitioner.DefaultPartitioner");
    ck_assert_str_eq(pp_config_str(cfg, "partitioner.class"),
                     "io.confluent.connect.storage.partitioner.DefaultPartitioner");
    pp_config_destroy(cfg);
    load_fails("timestamp.extractor=Header\n",
               "pinpipe.properties:1: timestamp.extractor: expected Record, RecordField or "
               "Wallclock, not 'Header'");
    load_fails("sink.compression=gzip\n",
               "pinpipe.properties:1: sink.compression: expected zstd or none, not 'gzip'");
    load_fails_with("partitioner.class=hourly\n", "TimeBasedPartitioner (or time)");
}
END_TEST

START_TEST(test_type_hostport)
{
    struct pp_config *cfg = load_ok("http.listen=[::1]:0\n");

    ck_assert_str_eq(pp_config_str(cfg, "http.listen"), "[::1]:0");
    pp_config_destroy(cfg);
    cfg = load_ok("http.listen=localhost:9000\n");
    pp_config_destroy(cfg);
    load_fails("http.listen=8080\n", "pinpipe.properties:1: http.listen: expected host:port such "
                                     "as 127.0.0.1:8080 or [::1]:8080, not '8080'");
    load_fails_with("http.listen=host:65536\n", "expected host:port");
    load_fails_with("http.listen=:8080\n", "expected host:port");
    load_fails_with("http.listen=a b:80\n", "expected host:port");
    load_fails_with("http.listen=[::1:80\n", "expected host:port");
}
END_TEST

START_TEST(test_type_urls)
{
    struct pp_config *cfg = load_ok("lake.url=s3://my-bucket/some/prefix\n"
                                    "store.url=http://127.0.0.1:9000\n");

    ck_assert_str_eq(pp_config_str(cfg, "lake.url"), "s3://my-bucket/some/prefix");
    pp_config_destroy(cfg);
    cfg = load_ok("lake.url=file:///var/lib/lake\n");
    pp_config_destroy(cfg);
    cfg = load_ok("lake.url=relative/dir\n");
    pp_config_destroy(cfg);
    load_fails("lake.url=gs://bucket\n", "pinpipe.properties:1: lake.url: expected "
                                         "file:///absolute/path, a plain path or "
                                         "s3://bucket/prefix, not 'gs://bucket'");
    load_fails_with("lake.url=file://host/path\n", "expected file:///absolute/path");
    load_fails_with("lake.url=s3://Bad_Bucket/x\n", "expected file:///absolute/path");
    load_fails_with("lake.url=s3://\n", "expected file:///absolute/path");
    load_fails("store.url=minio:9000\n", "pinpipe.properties:1: store.url: expected an http:// "
                                         "or https:// URL such as "
                                         "https://s3.eu-west-1.amazonaws.com, not 'minio:9000'");
    load_fails_with("store.url=https://\n", "expected an http://");
}
END_TEST

START_TEST(test_type_timezone)
{
    struct pp_config *cfg = load_ok("timezone=+02:00\n");

    ck_assert_int_eq(pp_config_ms(cfg, "timezone"), 2 * 3600 * 1000);
    pp_config_destroy(cfg);
    cfg = load_ok("timezone=-05:30\n");
    ck_assert_int_eq(pp_config_ms(cfg, "timezone"), -(5 * 3600 + 30 * 60) * 1000);
    pp_config_destroy(cfg);
    load_fails("timezone=Europe/Paris\n",
               "pinpipe.properties:1: timezone: expected UTC or a fixed offset such as +02:00 "
               "(named zones are not supported yet), not 'Europe/Paris'");
    load_fails_with("timezone=+2:00\n", "expected UTC");
    load_fails_with("timezone=+02:60\n", "expected UTC");
}
END_TEST

START_TEST(test_type_topic_name)
{
    struct pp_config *cfg = load_ok("topics.prefix=0a1b2c3d4e5f\n"
                                    "errors.deadletterqueue.topic.name=dlq-topic_1\n");

    ck_assert_str_eq(pp_config_str(cfg, "topics.prefix"), "0a1b2c3d4e5f");
    pp_config_destroy(cfg);
    load_fails_with("topics.prefix=a/b\n", "topics.prefix: expected a Kafka topic name");
}
END_TEST

START_TEST(test_set_overrides_file)
{
    struct pp_config *cfg = load_ok("flush.size=5\njoin.timeout=1m\n");

    ck_assert_int_eq(pp_config_set_arg(cfg, "flush.size=9", msg, sizeof msg), PP_OK);
    ck_assert_int_eq(pp_config_set_arg(cfg, "join.timeout : 2m", msg, sizeof msg), PP_OK);
    ck_assert_int_eq(pp_config_set_arg(cfg, "s3.region eu-west-1", msg, sizeof msg), PP_OK);
    ck_assert_int_eq(pp_config_int(cfg, "flush.size"), 9);
    ck_assert_int_eq(pp_config_ms(cfg, "join.timeout"), 120000);
    ck_assert_str_eq(pp_config_str(cfg, "s3.region"), "eu-west-1");
    ck_assert_int_eq(pp_config_set_arg(cfg, "join.timeout=ten", msg, sizeof msg), PP_ERR_USAGE);
    ck_assert_str_eq(msg, "--set join.timeout: expected a duration such as 30s, 5m, 1h or 1d, not "
                          "'ten'");
    ck_assert_int_eq(pp_config_set_arg(cfg, "flush.size", msg, sizeof msg), PP_ERR_USAGE);
    ck_assert_str_eq(msg, "--set: expected key=value, not 'flush.size'");
    ck_assert_int_eq(pp_config_set_arg(cfg, "flush.sise=3", msg, sizeof msg), PP_ERR_USAGE);
    ck_assert_str_eq(msg, "--set: unknown key 'flush.sise' (did you mean 'flush.size'?)");
    /* The failed --set left the previous value. */
    ck_assert_int_eq(pp_config_ms(cfg, "join.timeout"), 120000);
    /* An empty value goes back to the default. */
    ck_assert_int_eq(pp_config_set_arg(cfg, "flush.size=", msg, sizeof msg), PP_OK);
    ck_assert_int_eq(pp_config_int(cfg, "flush.size"), 10000);
    pp_config_destroy(cfg);
}
END_TEST

START_TEST(test_unknown_key_suggestion)
{
    load_fails("\n\n\n\n\n\n\n\n\n\n\nflush.sise=1\n",
               "pinpipe.properties:12: unknown key 'flush.sise' (did you mean 'flush.size'?)");
    load_fails("Flush.Size=1\n",
               "pinpipe.properties:1: unknown key 'Flush.Size' (did you mean 'flush.size'?)");
    load_fails("analytics.window=all\n", "pinpipe.properties:1: unknown key 'analytics.window' "
                                         "(did you mean 'analytics.windows'?)");
    load_fails("http.auth.tokn=abc\n", "pinpipe.properties:1: unknown key 'http.auth.tokn' (did "
                                       "you mean 'http.auth.token'?)");
}
END_TEST

START_TEST(test_unknown_key_no_suggestion)
{
    load_fails("banana=1\n", "pinpipe.properties:1: unknown key 'banana'");
    load_fails("completely.unrelated.setting=1\n",
               "pinpipe.properties:1: unknown key 'completely.unrelated.setting'");
    load_fails("kafka.=x\n",
               "pinpipe.properties:1: kafka.: a librdkafka property name must follow 'kafka.'");
}
END_TEST

START_TEST(test_kafka_passthrough_in_order)
{
    struct pp_config *cfg = load_ok("kafka.bootstrap.servers=b1:9092,b2:9092\n"
                                    "kafka.security.protocol=SASL_SSL\n"
                                    "kafka.sasl.mechanism=AWS_MSK_IAM\n"
                                    "kafka.bootstrap.servers=b3:9092\n");
    const char *name, *value;

    ck_assert_int_eq(pp_config_set_arg(cfg, "kafka.client.id=pp", msg, sizeof msg), PP_OK);
    ck_assert_uint_eq(pp_config_kafka_count(cfg), 4);
    pp_config_kafka_at(cfg, 0, &name, &value);
    ck_assert_str_eq(name, "bootstrap.servers");
    ck_assert_str_eq(value, "b3:9092");
    pp_config_kafka_at(cfg, 1, &name, &value);
    ck_assert_str_eq(name, "security.protocol");
    ck_assert_str_eq(value, "SASL_SSL");
    pp_config_kafka_at(cfg, 2, &name, &value);
    ck_assert_str_eq(name, "sasl.mechanism");
    ck_assert_str_eq(value, "AWS_MSK_IAM");
    pp_config_kafka_at(cfg, 3, &name, &value);
    ck_assert_str_eq(name, "client.id");
    ck_assert_str_eq(value, "pp");
    pp_config_destroy(cfg);
}
END_TEST

START_TEST(test_ignored_keys_notices)
{
    struct pp_config *cfg = load_ok("tasks.max=1\nconnector.class=x\ntasks.max=2\n"
                                    "s3.compression.type=gzip\nlocale=en_US\n");

    ck_assert_uint_eq(pp_config_notice_count(cfg), 4);
    ck_assert_str_eq(pp_config_notice_at(cfg, 0),
                     "notice: key 'tasks.max' has no meaning for pinpipe and is ignored");
    ck_assert_str_eq(pp_config_notice_at(cfg, 1),
                     "notice: key 'connector.class' has no meaning for pinpipe and is ignored");
    ck_assert_str_eq(pp_config_notice_at(cfg, 2),
                     "notice: key 's3.compression.type' is ignored: sink.compression decides the "
                     "compression");
    ck_assert_str_eq(pp_config_notice_at(cfg, 3),
                     "notice: key 'locale' is ignored: paths are formatted without a locale");
    /* Still the default compression. */
    ck_assert_str_eq(pp_config_str(cfg, "sink.compression"), "zstd");
    pp_config_destroy(cfg);
}
END_TEST

START_TEST(test_format_class)
{
    struct pp_config *cfg =
        load_ok("format.class=io.confluent.connect.s3.format.json.JsonFormat\n");

    ck_assert_uint_eq(pp_config_notice_count(cfg), 1);
    pp_config_destroy(cfg);
    load_fails("format.class=io.confluent.connect.s3.format.avro.AvroFormat\n",
               "pinpipe.properties:1: format.class: expected "
               "io.confluent.connect.s3.format.json.JsonFormat (pinpipe writes JSON), not "
               "'io.confluent.connect.s3.format.avro.AvroFormat'");
}
END_TEST

START_TEST(test_windows_valid)
{
    struct pp_config *cfg = load_ok("analytics.windows = tumbling:1m , hopping:1h/5m,all,"
                                    "tumbling:60s,hopping:1d/1d\n");
    size_t n;
    const struct pp_config_window *w = pp_config_windows(cfg, &n);

    ck_assert_uint_eq(n, 4); /* all first, tumbling:60s is tumbling:1m */
    ck_assert_int_eq(w[0].kind, PP_CONFIG_WINDOW_ALL);
    ck_assert_int_eq(w[1].kind, PP_CONFIG_WINDOW_TUMBLING);
    ck_assert_int_eq(w[1].size_ms, 60000);
    ck_assert_int_eq(w[1].slide_ms, 60000);
    ck_assert_int_eq(w[2].kind, PP_CONFIG_WINDOW_HOPPING);
    ck_assert_int_eq(w[2].size_ms, 3600000);
    ck_assert_int_eq(w[2].slide_ms, 300000);
    ck_assert_int_eq(w[3].kind, PP_CONFIG_WINDOW_HOPPING);
    ck_assert_int_eq(w[3].size_ms, 86400000);
    pp_config_destroy(cfg);
}
END_TEST

START_TEST(test_windows_all_implied)
{
    struct pp_config *cfg = load_ok("analytics.windows=tumbling:5m\n");
    size_t n;
    const struct pp_config_window *w = pp_config_windows(cfg, &n);

    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(w[0].kind, PP_CONFIG_WINDOW_ALL);
    ck_assert_int_eq(w[1].kind, PP_CONFIG_WINDOW_TUMBLING);
    ck_assert_int_eq(w[1].size_ms, 300000);
    pp_config_destroy(cfg);
}
END_TEST

START_TEST(test_windows_invalid)
{
    load_fails("analytics.windows=sliding:5m\n",
               "pinpipe.properties:1: analytics.windows: expected a comma-separated list of all, "
               "tumbling:<duration> and hopping:<size>/<slide> (durations such as 30s, 5m, 1h "
               "or 1d), not 'sliding:5m'");
    load_fails_with("analytics.windows=all,,tumbling:1m\n", "not ''");
    load_fails_with("analytics.windows=tumbling:0s\n", "not 'tumbling:0s'");
    load_fails_with("analytics.windows=tumbling:\n", "not 'tumbling:'");
    load_fails_with("analytics.windows=hopping:1h\n", "not 'hopping:1h'");
    load_fails_with("analytics.windows=all,\n", "not ''");
}
END_TEST

START_TEST(test_windows_hopping_constraints)
{
    load_fails("analytics.windows=hopping:5m/10m\n",
               "pinpipe.properties:1: analytics.windows: 'hopping:5m/10m': the slide must not "
               "exceed the size");
    load_fails("analytics.windows=hopping:10m/3m\n",
               "pinpipe.properties:1: analytics.windows: 'hopping:10m/3m': the size must be a "
               "multiple of the slide");
}
END_TEST

START_TEST(test_validate_time_based_partitioner)
{
    struct pp_config *cfg = load_ok("partitioner.class=time\n");

    ck_assert_int_eq(validate(cfg), PP_ERR_USAGE);
    ck_assert_str_eq(msg, "pinpipe.properties:1: partitioner.class: TimeBasedPartitioner needs "
                          "path.format (such as 'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH)");
    ck_assert_int_eq(pp_config_set_arg(cfg, "path.format='year'=YYYY", msg, sizeof msg), PP_OK);
    ck_assert_int_eq(validate(cfg), PP_ERR_USAGE);
    ck_assert_str_eq(msg, "pinpipe.properties:1: partitioner.class: TimeBasedPartitioner needs "
                          "partition.duration.ms");
    ck_assert_int_eq(pp_config_set_arg(cfg, "partition.duration.ms=3600000", msg, sizeof msg),
                     PP_OK);
    ck_assert_int_eq(validate(cfg), PP_OK);
    ck_assert_int_eq(pp_config_int(cfg, "partition.duration.ms"), 3600000);
    pp_config_destroy(cfg);
}
END_TEST

START_TEST(test_validate_record_field)
{
    struct pp_config *cfg = load_ok("flush.size=1\ntimestamp.extractor=RecordField\n");

    ck_assert_int_eq(validate(cfg), PP_ERR_USAGE);
    ck_assert_str_eq(msg, "pinpipe.properties:2: timestamp.extractor: RecordField needs "
                          "timestamp.field");
    ck_assert_int_eq(pp_config_set_arg(cfg, "timestamp.field=timestamp", msg, sizeof msg), PP_OK);
    ck_assert_int_eq(validate(cfg), PP_OK);
    pp_config_destroy(cfg);
}
END_TEST

START_TEST(test_validate_http_listen_needs_token)
{
    struct pp_config *cfg = load_ok("http.listen=0.0.0.0:8080\n");

    ck_assert_int_eq(validate(cfg), PP_ERR_USAGE);
    ck_assert_str_eq(msg, "pinpipe.properties:1: http.listen: 0.0.0.0:8080 is not a loopback "
                          "address: set http.auth.token, or http.auth=none to serve without "
                          "authentication");
    ck_assert_int_eq(pp_config_set_arg(cfg, "http.auth.token=s3cr3t-t0ken", msg, sizeof msg),
                     PP_OK);
    ck_assert_int_eq(validate(cfg), PP_OK);
    ck_assert_str_eq(pp_config_str(cfg, "http.auth.token"), "s3cr3t-t0ken");
    pp_config_destroy(cfg);
    /* Loopback needs nothing. */
    cfg = load_ok("http.listen=127.0.0.1:9999\n");
    ck_assert_int_eq(validate(cfg), PP_OK);
    pp_config_destroy(cfg);
}
END_TEST

START_TEST(test_validate_http_auth_none)
{
    struct pp_config *cfg = load_ok("http.listen=0.0.0.0:8080\nhttp.auth=none\n");

    ck_assert_int_eq(validate(cfg), PP_OK);
    pp_config_destroy(cfg);
}
END_TEST

START_TEST(test_validate_bucket_and_lake)
{
    struct pp_config *cfg = load_ok("s3.bucket.name=my-bucket\n");

    /* The MSK Connect way: the bucket builds the lake URL. */
    ck_assert_int_eq(validate(cfg), PP_OK);
    ck_assert_str_eq(pp_config_str(cfg, "lake.url"), "s3://my-bucket");
    ck_assert_int_eq(validate(cfg), PP_OK);
    pp_config_destroy(cfg);
    cfg = load_ok("lake.url=s3://my-bucket/p\ns3.bucket.name=my-bucket\n");
    ck_assert_int_eq(validate(cfg), PP_OK);
    pp_config_destroy(cfg);
    cfg = load_ok("lake.url=s3://my-bucket/p\ns3.bucket.name=other-bucket\n");
    ck_assert_int_eq(validate(cfg), PP_ERR_USAGE);
    ck_assert_str_eq(msg, "pinpipe.properties:2: s3.bucket.name: 'other-bucket' differs from the "
                          "bucket of lake.url 's3://my-bucket/p'");
    pp_config_destroy(cfg);
    cfg = load_ok("lake.url=/data/lake\ns3.bucket.name=my-bucket\n");
    ck_assert_int_eq(validate(cfg), PP_ERR_USAGE);
    ck_assert_msg(strstr(msg, "is not an s3:// URL") != NULL, "%s", msg);
    pp_config_destroy(cfg);
    /* An s3:// lake.url alone needs nothing else. */
    cfg = load_ok("lake.url=s3://my-bucket\n");
    ck_assert_int_eq(validate(cfg), PP_OK);
    pp_config_destroy(cfg);
    /* A --set value may hold a raw newline: the message stays one line
     * (found by tests/fuzz/fuzz_config.c). */
    cfg = load_ok("s3.bucket.name=my-bucket\n");
    ck_assert_int_eq(pp_config_set_arg(cfg, "lake.url=a\nb", msg, sizeof msg), PP_OK);
    ck_assert_int_eq(validate(cfg), PP_ERR_USAGE);
    ck_assert_msg(strchr(msg, '\n') == NULL && strstr(msg, "lake.url 'a?b'") != NULL, "%s", msg);
    ck_assert_int_eq(pp_config_set_arg(cfg, "lake.url=s3://my-bucket/p", msg, sizeof msg), PP_OK);
    ck_assert_int_eq(pp_config_set_arg(cfg, "s3.bucket.name=my\nbucket", msg, sizeof msg), PP_OK);
    ck_assert_int_eq(validate(cfg), PP_ERR_USAGE);
    ck_assert_msg(strchr(msg, '\n') == NULL && strstr(msg, "'my?bucket' differs") != NULL, "%s",
                  msg);
    pp_config_destroy(cfg);
}
END_TEST

START_TEST(test_secrets_never_shown)
{
    static const char secret[] = "wJalrXUtnFEMI-K7MDENG";
    struct pp_config *cfg = load_ok("http.auth.token=wJalrXUtnFEMI-K7MDENG\n"
                                    "aws.access.key.id=wJalrXUtnFEMI-K7MDENG\n"
                                    "aws.secret.access.key=wJalrXUtnFEMI-K7MDENG\n"
                                    "kafka.sasl.password=wJalrXUtnFEMI-K7MDENG\n"
                                    "kafka.client.id=visible\n");
    struct pp_buf out;

    pp_buf_init(&out);
    ck_assert_int_eq(pp_config_dump(cfg, &out), PP_OK);
    ck_assert_int_eq(pp_buf_append(&out, "", 1), PP_OK);
    ck_assert_ptr_null(strstr(out.data, secret));
    ck_assert_ptr_nonnull(strstr(out.data, "\nhttp.auth.token=***\n"));
    ck_assert_ptr_nonnull(strstr(out.data, "\naws.secret.access.key=***\n"));
    ck_assert_ptr_nonnull(strstr(out.data, "\nkafka.sasl.password=***\n"));
    ck_assert_ptr_nonnull(strstr(out.data, "\nkafka.client.id=visible\n"));
    ck_assert_str_eq(pp_config_str(cfg, "http.auth.token"), secret);
    pp_buf_cleanup(&out);
    /* Bad escapes in a secret do not echo it. */
    ck_assert_int_eq(
        pp_config_set_arg(cfg, "http.auth.token=wJalrXUtnFEMI-K7MDENG\\u12", msg, sizeof msg),
        PP_ERR_USAGE);
    ck_assert_ptr_null(strstr(msg, secret));
    ck_assert_ptr_null(strstr(msg, "wJalr"));
    /* Neither does a misspelled secret key. */
    ck_assert_int_eq(
        pp_config_set_arg(cfg, "http.auth.tokn=wJalrXUtnFEMI-K7MDENG", msg, sizeof msg),
        PP_ERR_USAGE);
    ck_assert_ptr_null(strstr(msg, secret));
    /* Nor validation. */
    ck_assert_int_eq(pp_config_set_arg(cfg, "http.listen=0.0.0.0:1", msg, sizeof msg), PP_OK);
    ck_assert_int_eq(pp_config_set_arg(cfg, "lake.url=/x", msg, sizeof msg), PP_OK);
    ck_assert_int_eq(pp_config_set_arg(cfg, "s3.bucket.name=b-b-b", msg, sizeof msg), PP_OK);
    ck_assert_int_eq(validate(cfg), PP_ERR_USAGE);
    ck_assert_ptr_null(strstr(msg, secret));
    pp_config_destroy(cfg);
}
END_TEST

START_TEST(test_dump_every_key)
{
    struct pp_config *cfg = load_ok("flush.size=1\ntopics.dir= spaced \\ \ntasks.max=1\n"
                                    "path.format='year'=YYYY\n");
    struct pp_config *again;
    struct pp_buf out;

    pp_buf_init(&out);
    ck_assert_int_eq(pp_config_dump(cfg, &out), PP_OK);
    ck_assert_int_eq(pp_buf_append(&out, "", 1), PP_OK);
    ck_assert_ptr_nonnull(strstr(out.data, "topics.prefix=pinterest\n"));
    ck_assert_ptr_nonnull(strstr(out.data, "\nflush.size=1\n"));
    ck_assert_ptr_nonnull(strstr(out.data, "\nstore.url=\n"));
    ck_assert_ptr_nonnull(strstr(out.data, "\nanalytics.windows=all\n"));
    ck_assert_ptr_null(strstr(out.data, "tasks.max"));
    /* The dump reads back to the same values. */
    again = pp_config_new();
    ck_assert_int_eq(pp_config_load_text(again, "dump", out.data, out.len - 1, msg, sizeof msg),
                     PP_OK);
    ck_assert_str_eq(pp_config_str(again, "topics.dir"), "spaced  ");
    ck_assert_str_eq(pp_config_str(again, "path.format"), "'year'=YYYY");
    ck_assert_int_eq(pp_config_int(again, "flush.size"), 1);
    pp_config_destroy(again);
    pp_buf_cleanup(&out);
    pp_config_destroy(cfg);
}
END_TEST

START_TEST(test_missing_file)
{
    struct pp_config *cfg = pp_config_new();

    ck_assert_int_eq(
        pp_config_load_file(cfg, "/nonexistent/dir/pinpipe.properties", msg, sizeof msg),
        PP_ERR_NOTFOUND);
    ck_assert_str_eq(msg, "cannot open config file '/nonexistent/dir/pinpipe.properties': No such "
                          "file or directory");
    pp_config_destroy(cfg);
}
END_TEST

START_TEST(test_msk_connect_config)
{
    static const char text[] =
        "# MSK Connect S3 sink, as exported from the console\n"
        "connector.class=io.confluent.connect.s3.S3SinkConnector\n"
        "s3.region=us-east-1\n"
        "flush.size=1\n"
        "schema.compatibility=NONE\n"
        "tasks.max=1\n"
        "topics.regex=0a1b2c3d4e5f.*\n"
        "topics=0a1b2c3d4e5f.pin,0a1b2c3d4e5f.geo,0a1b2c3d4e5f.user\n"
        "format.class=io.confluent.connect.s3.format.json.JsonFormat\n"
        "partitioner.class=io.confluent.connect.storage.partitioner.DefaultPartitioner\n"
        "value.converter.schemas.enable=false\n"
        "value.converter=org.apache.kafka.connect.json.JsonConverter\n"
        "storage.class=io.confluent.connect.s3.storage.S3Storage\n"
        "key.converter=org.apache.kafka.connect.storage.StringConverter\n"
        "s3.bucket.name=user-0a1b2c3d4e5f-bucket\n"
        "topics.dir=topics\n";
    char path[] = "/tmp/test_config_XXXXXX";
    int fd = mkstemp(path);
    FILE *f;
    struct pp_config *cfg = pp_config_new();

    ck_assert_int_ne(fd, -1);
    f = fdopen(fd, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(text, 1, sizeof text - 1, f), sizeof text - 1);
    ck_assert_int_eq(fclose(f), 0);
    ck_assert_int_eq(pp_config_load_file(cfg, path, msg, sizeof msg), PP_OK);
    unlink(path);
    ck_assert_int_eq(validate(cfg), PP_OK);
    ck_assert_uint_eq(pp_config_notice_count(cfg), 9);
    ck_assert_str_eq(pp_config_notice_at(cfg, 0), "notice: key 'connector.class' has no meaning "
                                                  "for pinpipe and is ignored");
    ck_assert_int_eq(pp_config_int(cfg, "flush.size"), 1);
    ck_assert_str_eq(pp_config_str(cfg, "lake.url"), "s3://user-0a1b2c3d4e5f-bucket");
    ck_assert_str_eq(pp_config_str(cfg, "topics.dir"), "topics");
    ck_assert_str_eq(pp_config_str(cfg, "s3.region"), "us-east-1");
    pp_config_destroy(cfg);
}
END_TEST

/* The example shipped in tools/ for the streaming deployment loads and
 * validates as it is: MSK over TLS, an S3 lake, the time-based layout. */
START_TEST(test_shipped_example)
{
    const char *root = getenv("PP_SOURCE_ROOT");
    char path[4096];
    struct pp_config *cfg = pp_config_new();
    size_t n;

    ck_assert_msg(root != NULL, "PP_SOURCE_ROOT is not set (meson test sets it)");
    ck_assert_int_lt(snprintf(path, sizeof path, "%s/tools/pinpipe.properties", root),
                     (int)sizeof path);
    ck_assert_msg(pp_config_load_file(cfg, path, msg, sizeof msg) == PP_OK, "%s", msg);
    ck_assert_msg(validate(cfg) == PP_OK, "%s", msg);
    ck_assert_uint_eq(pp_config_notice_count(cfg), 0);
    ck_assert_str_eq(pp_config_str(cfg, "lake.url"), "s3://example-pinterest-lake/pinpipe");
    ck_assert_int_eq(pp_config_ms(cfg, "analytics.retention"), 6 * 3600 * 1000);
    ck_assert_ptr_nonnull(pp_config_windows(cfg, &n));
    ck_assert_uint_eq(n, 3);
    pp_config_destroy(cfg);
}
END_TEST

static Suite *config_suite(void)
{
    Suite *s = suite_create("config");

    PP_CHECK_TCASE(s, test_defaults);
    PP_CHECK_TCASE(s, test_syntax_comments_and_separators);
    PP_CHECK_TCASE(s, test_syntax_continuation);
    PP_CHECK_TCASE(s, test_syntax_line_numbers);
    PP_CHECK_TCASE(s, test_syntax_escapes);
    PP_CHECK_TCASE(s, test_syntax_unicode_escapes);
    PP_CHECK_TCASE(s, test_syntax_duplicate_key_last_wins);
    PP_CHECK_TCASE(s, test_empty_value_means_default);
    PP_CHECK_TCASE(s, test_type_int);
    PP_CHECK_TCASE(s, test_type_bytes);
    PP_CHECK_TCASE(s, test_type_duration);
    PP_CHECK_TCASE(s, test_type_bool);
    PP_CHECK_TCASE(s, test_type_enum);
    PP_CHECK_TCASE(s, test_type_hostport);
    PP_CHECK_TCASE(s, test_type_urls);
    PP_CHECK_TCASE(s, test_type_timezone);
    PP_CHECK_TCASE(s, test_type_topic_name);
    PP_CHECK_TCASE(s, test_set_overrides_file);
    PP_CHECK_TCASE(s, test_unknown_key_suggestion);
    PP_CHECK_TCASE(s, test_unknown_key_no_suggestion);
    PP_CHECK_TCASE(s, test_kafka_passthrough_in_order);
    PP_CHECK_TCASE(s, test_ignored_keys_notices);
    PP_CHECK_TCASE(s, test_format_class);
    PP_CHECK_TCASE(s, test_windows_valid);
    PP_CHECK_TCASE(s, test_windows_all_implied);
    PP_CHECK_TCASE(s, test_windows_invalid);
    PP_CHECK_TCASE(s, test_windows_hopping_constraints);
    PP_CHECK_TCASE(s, test_validate_time_based_partitioner);
    PP_CHECK_TCASE(s, test_validate_record_field);
    PP_CHECK_TCASE(s, test_validate_http_listen_needs_token);
    PP_CHECK_TCASE(s, test_validate_http_auth_none);
    PP_CHECK_TCASE(s, test_validate_bucket_and_lake);
    PP_CHECK_TCASE(s, test_secrets_never_shown);
    PP_CHECK_TCASE(s, test_dump_every_key);
    PP_CHECK_TCASE(s, test_missing_file);
    PP_CHECK_TCASE(s, test_msk_connect_config);
    PP_CHECK_TCASE(s, test_shipped_example);
    return s;
}

PP_CHECK_MAIN(config_suite)
