/*
 * pp_config: the configuration of `pinpipe run`.
 *
 * A Java-properties file (Properties.load syntax) plus `--set key=value`
 * overrides, applied in the order the caller loads them (file first, then
 * each --set: the last value of a key wins). Every key is known: a const
 * schema table in pp_config.c gives its type, default, constraints and a
 * one-line description (docs/config.md is the reference). Values are parsed
 * and checked when they are set; pp_config_validate() then checks the rules
 * that involve several keys.
 *
 * Errors are one line in msg naming the file and line (or "--set") and the
 * key at fault, e.g.
 *   pinpipe.properties:12: unknown key 'flush.sise' (did you mean 'flush.size'?)
 * Secret values (http.auth.token, aws.*) never appear in a message or a
 * dump. Bad configuration is PP_ERR_USAGE (exit code 2); a file that cannot
 * be read is PP_ERR_NOTFOUND or PP_ERR_IO; PP_ERR_NOMEM is out of memory.
 * After an error the config may hold the keys applied before it: the
 * caller is expected to stop.
 *
 * Threads: build and validate on one thread; afterwards the config is
 * read-only and every getter may be called from any thread.
 *
 * Getters take a key name from the schema; an unknown name or a getter of
 * the wrong type for the key is a programming error (assert).
 */
#ifndef PP_CONFIG_H
#define PP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pp_arena.h"
#include "pp_err.h"

#ifdef __cplusplus
extern "C" {
#endif

struct pp_config;

enum pp_config_window_kind {
    PP_CONFIG_WINDOW_ALL,      /* the whole stream; always present, first */
    PP_CONFIG_WINDOW_TUMBLING, /* size_ms == slide_ms */
    PP_CONFIG_WINDOW_HOPPING,  /* size_ms a multiple of slide_ms */
};

struct pp_config_window {
    enum pp_config_window_kind kind;
    int64_t size_ms;  /* 0 for ALL */
    int64_t slide_ms; /* 0 for ALL; size_ms for TUMBLING */
};

/* The longest text pp_config_window_format() writes, NUL included. */
#define PP_CONFIG_WINDOW_TEXT_MAX 64

/*
 * Parses one window spec, text[0..len): "all", "tumbling:<dur>" or
 * "hopping:<size>/<slide>" with durations <n>ms|s|m|h|d (n > 0), the slide
 * no larger than the size and dividing it; no spaces. PP_OK or
 * PP_ERR_INVALID; *why (may be NULL) then gets a reason when a rule other
 * than the syntax failed, else NULL. Any thread.
 */
enum pp_err pp_config_window_parse(const char *text, size_t len, struct pp_config_window *window,
                                   const char **why);
/*
 * Writes the canonical spelling of a valid spec (durations in their largest
 * whole unit: "tumbling:60s" comes out "tumbling:1m"), like snprintf:
 * returns the length it needs; the output is truncated when that is >= cap.
 * Any thread.
 */
size_t pp_config_window_format(const struct pp_config_window *window, char *out, size_t cap);

/* A config holding every default. Returns NULL when out of memory. The
 * caller frees it with pp_config_destroy(). */
struct pp_config *pp_config_new(void);
/* Frees the config and everything handed out by its getters. Accepts NULL. */
void pp_config_destroy(struct pp_config *cfg);

/*
 * Reads a properties file and applies its keys in file order. msg (may be
 * NULL when msg_len is 0) receives one line on failure; it names the path.
 */
enum pp_err pp_config_load_file(struct pp_config *cfg, const char *path, char *msg, size_t msg_len);
/*
 * The same for text already in memory (len bytes, need not be
 * NUL-terminated); name stands for the file in messages. Used by
 * pp_config_load_file, the tests and the fuzzer.
 */
enum pp_err pp_config_load_text(struct pp_config *cfg, const char *name, const char *text,
                                size_t len, char *msg, size_t msg_len);
/*
 * Applies one `--set` argument, "key=value" (also "key: value" or
 * "key value", with the file's escapes). Messages start with "--set".
 */
enum pp_err pp_config_set_arg(struct pp_config *cfg, const char *key_eq_value, char *msg,
                              size_t msg_len);
/*
 * Checks the rules between keys (see docs/config.md). May fill in lake.url
 * from s3.bucket.name. Call once everything is loaded, before the getters.
 */
enum pp_err pp_config_validate(struct pp_config *cfg, char *msg, size_t msg_len);

/* True when the key was given a non-empty value (file or --set). */
bool pp_config_is_set(const struct pp_config *cfg, const char *key);
/*
 * The effective value of any key as text (enum values in their canonical
 * spelling, e.g. the full partitioner class name), the default when unset,
 * NULL when unset without a default. Secrets are returned in clear: never
 * log them. Borrowed: valid until the key is set again or the config is
 * destroyed.
 */
const char *pp_config_str(const struct pp_config *cfg, const char *key);
/* An int key (flush.size, rotate.interval.ms (-1 = off), ...); 0 when unset
 * without a default (check pp_config_is_set). */
int64_t pp_config_int(const struct pp_config *cfg, const char *key);
/* A duration key, in milliseconds. For `timezone`, its UTC offset in
 * milliseconds (UTC = 0, +02:00 = 7200000). */
int64_t pp_config_ms(const struct pp_config *cfg, const char *key);
/* A bytes key (s3.part.size, ...), in bytes. */
uint64_t pp_config_bytes(const struct pp_config *cfg, const char *key);
/* A bool key. */
bool pp_config_bool(const struct pp_config *cfg, const char *key);
/*
 * analytics.windows as *n specs: ALL first, then the listed specs in order,
 * duplicates removed. Borrowed like pp_config_str.
 */
const struct pp_config_window *pp_config_windows(const struct pp_config *cfg, size_t *n);

/* The kafka.<name> keys, in order of first appearance (a repeated name
 * keeps its place and takes the last value). name is without "kafka.".
 * Borrowed until the config is destroyed. */
size_t pp_config_kafka_count(const struct pp_config *cfg);
void pp_config_kafka_at(const struct pp_config *cfg, size_t i, const char **name,
                        const char **value);

/* Notices about accepted but ignored keys ("notice: key 'tasks.max' has no
 * meaning for pinpipe and is ignored"), one per key, for the caller to log.
 * Borrowed until the config is destroyed. */
size_t pp_config_notice_count(const struct pp_config *cfg);
const char *pp_config_notice_at(const struct pp_config *cfg, size_t i);

/*
 * Appends every effective key as a properties line "key=value\n" (schema
 * order, then kafka.* in order; unset keys as "key="). Secrets, and kafka.*
 * values whose name holds "password" or "secret", are written as ***.
 * Ignored keys are left out.
 */
enum pp_err pp_config_dump(const struct pp_config *cfg, struct pp_buf *out);

#ifdef __cplusplus
}
#endif

#endif
