/*
 * pp_json: the C face of simdjson's On-Demand parser, and the only module
 * that includes simdjson.
 *
 * pp_json_parse_object() parses one record, validates all of it (structure,
 * UTF-8, escapes, numbers, nesting depth, trailing content), and returns the
 * values of the top-level fields the caller asks for by name. Unknown fields
 * are validated and skipped. When a name occurs twice, the first occurrence
 * wins.
 *
 * String values are views: into the input buffer when the string holds no
 * escape (the common case), otherwise into the caller's arena after
 * unescaping. Either way they live as long as both the input buffer and the
 * arena do.
 *
 * A parser belongs to one thread.
 */
#ifndef PP_JSON_H
#define PP_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pp_arena.h"
#include "pp_str.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Readable bytes the parser needs after the end of a document. */
#define PP_JSON_PADDING 64
/* Deepest nesting accepted; deeper documents are invalid. */
#define PP_JSON_MAX_DEPTH 1024

enum pp_json_type {
    PP_JSON_ABSENT = 0, /* the field is not in the object */
    PP_JSON_NULL,
    PP_JSON_BOOL,
    PP_JSON_INT,    /* integer in int64 range: i64 */
    PP_JSON_BIGINT, /* number out of range, valid JSON: an integer outside int64, or a
                       number beyond a double (1e400); no value kept */
    PP_JSON_DOUBLE, /* number with a fraction or exponent: f64 */
    PP_JSON_STRING, /* str (never a NULL view) */
    PP_JSON_ARRAY,
    PP_JSON_OBJECT,
};

struct pp_json_value {
    enum pp_json_type type;
    bool b;
    int64_t i64;
    double f64;
    struct pp_str str;
};

enum pp_json_status {
    PP_JSON_OK = 0,
    PP_JSON_INVALID,      /* not one valid JSON value */
    PP_JSON_INVALID_UTF8, /* bytes are not UTF-8 */
    PP_JSON_NOT_OBJECT,   /* valid JSON, not an object */
    PP_JSON_NOMEM,
};

struct pp_json_parser;

/* max_doc_bytes: the largest document it will parse. NULL on OOM. */
struct pp_json_parser *pp_json_parser_new(size_t max_doc_bytes);
/* Accepts NULL. */
void pp_json_parser_destroy(struct pp_json_parser *parser);

/*
 * Parses buf[0..len) as one JSON object. capacity >= len + PP_JSON_PADDING
 * readable bytes must start at buf (the bytes past len are not modified and
 * may be anything). names[0..n_names) are the wanted top-level fields;
 * values[i] receives the first occurrence of names[i] (type PP_JSON_ABSENT
 * when missing). values are valid only when PP_JSON_OK is returned.
 */
enum pp_json_status pp_json_parse_object(struct pp_json_parser *parser, const char *buf, size_t len,
                                         size_t capacity, const struct pp_str *names,
                                         size_t n_names, struct pp_json_value *values,
                                         struct pp_arena *arena);

/*
 * One record of a Confluent REST Proxy v2 produce request in the JSON
 * embedded format: {"records":[{"value":<JSON>,"key":<JSON>,
 * "partition":<int>}, ...]}. Views: into the body or into the arena, like
 * pp_json_parse_object's strings.
 */
struct pp_json_produce_record {
    /* The value's JSON text with the whitespace outside its strings
     * removed (strings, escapes and numbers are kept byte for byte); a
     * NULL view when the value is JSON null (a tombstone). */
    struct pp_str value;
    /* The key's JSON text, likewise; a NULL view when absent or null. */
    struct pp_str key;
    /* "partition" as given (PP_JSON_ABSENT, PP_JSON_NULL, PP_JSON_INT,
     * ...): the caller checks its type and range. */
    struct pp_json_value partition;
    /* The value's top-level "index" and "ind" fields (the join keys of pin
     * and of geo/user), first occurrence; PP_JSON_ABSENT when the value is
     * not an object or has none. */
    struct pp_json_value index;
    struct pp_json_value ind;
};

/*
 * Parses and validates a whole REST Proxy v2 produce body buf[0..len)
 * (capacity as for pp_json_parse_object). On PP_JSON_OK, *records (in
 * arena) holds *n_records records in body order; *n_records may be 0 (an
 * empty "records" array). Unknown fields of the body and of a record are
 * validated and ignored; a repeated field keeps its first occurrence.
 * Errors: PP_JSON_INVALID (not JSON, trailing content, no "records"
 * array, a record that is not an object or has no "value", nesting deeper
 * than PP_JSON_MAX_DEPTH), PP_JSON_INVALID_UTF8, PP_JSON_NOT_OBJECT (valid
 * JSON, not an object), PP_JSON_NOMEM; msg (may be NULL when msg_len is
 * 0) then gets one line naming the record at fault ("records[2]: ...").
 */
enum pp_json_status pp_json_parse_produce(struct pp_json_parser *parser, const char *buf,
                                          size_t len, size_t capacity, struct pp_arena *arena,
                                          struct pp_json_produce_record **records,
                                          size_t *n_records, char *msg, size_t msg_len);

#ifdef __cplusplus
}
#endif

#endif
