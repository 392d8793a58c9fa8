// The one C++ file of pinpipe: a C wrapper around simdjson's On-Demand API.
// simdjson errors are translated to enum pp_json_status here and nowhere else.
//
// On-Demand is compiled into the caller, so its SIMD kernel is chosen by the
// compiler flags. This file is therefore built several times: once per
// kernel with PP_JSON_KERNEL_<NAME> set (HASWELL, built with AVX2 flags, and
// GENERIC, the compiler's default target), each exporting pp_json_<kernel>_* functions, and
// once with PP_JSON_DISPATCH, which defines the public API and picks the
// best kernel the CPU supports at run time.

#include "pp_json.h"

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <new>
#include <string_view>
#include <utility>

#ifdef PP_JSON_DISPATCH

#ifdef PP_JSON_HAVE_HASWELL
#include <cpuid.h>
#endif

#define PP_JSON_DECLARE_KERNEL(k)                                                                  \
    extern "C" void *pp_json_##k##_new(size_t max_doc_bytes);                                      \
    extern "C" void pp_json_##k##_destroy(void *impl);                                             \
    extern "C" enum pp_json_status pp_json_##k##_parse(                                            \
        void *impl, const char *buf, size_t len, size_t capacity, const struct pp_str *names,      \
        size_t n_names, struct pp_json_value *values, struct pp_arena *arena);                     \
    extern "C" enum pp_json_status pp_json_##k##_parse_produce(                                    \
        void *impl, const char *buf, size_t len, size_t capacity, struct pp_arena *arena,          \
        struct pp_json_produce_record **records, size_t *n_records, char *msg, size_t msg_len);

PP_JSON_DECLARE_KERNEL(generic)
#ifdef PP_JSON_HAVE_HASWELL
PP_JSON_DECLARE_KERNEL(haswell)
#endif

struct pp_json_kernel {
    void *(*new_fn)(size_t);
    void (*destroy_fn)(void *);
    enum pp_json_status (*parse_fn)(void *, const char *, size_t, size_t, const struct pp_str *,
                                    size_t, struct pp_json_value *, struct pp_arena *);
    enum pp_json_status (*parse_produce_fn)(void *, const char *, size_t, size_t, struct pp_arena *,
                                            struct pp_json_produce_record **, size_t *, char *,
                                            size_t);
};

struct pp_json_parser {
    const struct pp_json_kernel *kernel;
    void *impl;
};

static const struct pp_json_kernel json_generic = {pp_json_generic_new, pp_json_generic_destroy,
                                                   pp_json_generic_parse,
                                                   pp_json_generic_parse_produce};
#ifdef PP_JSON_HAVE_HASWELL
static const struct pp_json_kernel json_haswell = {pp_json_haswell_new, pp_json_haswell_destroy,
                                                   pp_json_haswell_parse,
                                                   pp_json_haswell_parse_produce};
#endif

#ifdef PP_JSON_HAVE_HASWELL
// LZCNT (CPUID 0x80000001, ECX bit 5): asked of cpuid directly, because
// clang's __builtin_cpu_supports does not know the name.
static bool json_has_lzcnt(void)
{
    unsigned a, b, c, d;

    return __get_cpuid(0x80000001u, &a, &b, &c, &d) && (c & (1u << 5)) != 0;
}
#endif

static const struct pp_json_kernel *json_pick_kernel(void)
{
#ifdef PP_JSON_HAVE_HASWELL
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi") &&
        __builtin_cpu_supports("bmi2") && __builtin_cpu_supports("pclmul") && json_has_lzcnt())
        return &json_haswell;
#endif
    return &json_generic;
}

extern "C" struct pp_json_parser *pp_json_parser_new(size_t max_doc_bytes)
{
    auto *p = new (std::nothrow) pp_json_parser;
    if (p == nullptr)
        return nullptr;
    p->kernel = json_pick_kernel();
    p->impl = p->kernel->new_fn(max_doc_bytes);
    if (p->impl == nullptr) {
        delete p;
        return nullptr;
    }
    return p;
}

extern "C" void pp_json_parser_destroy(struct pp_json_parser *parser)
{
    if (parser == nullptr)
        return;
    parser->kernel->destroy_fn(parser->impl);
    delete parser;
}

extern "C" enum pp_json_status pp_json_parse_object(struct pp_json_parser *parser, const char *buf,
                                                    size_t len, size_t capacity,
                                                    const struct pp_str *names, size_t n_names,
                                                    struct pp_json_value *values,
                                                    struct pp_arena *arena)
{
    return parser->kernel->parse_fn(parser->impl, buf, len, capacity, names, n_names, values,
                                    arena);
}

extern "C" enum pp_json_status pp_json_parse_produce(struct pp_json_parser *parser, const char *buf,
                                                     size_t len, size_t capacity,
                                                     struct pp_arena *arena,
                                                     struct pp_json_produce_record **records,
                                                     size_t *n_records, char *msg, size_t msg_len)
{
    return parser->kernel->parse_produce_fn(parser->impl, buf, len, capacity, arena, records,
                                            n_records, msg, msg_len);
}

#else /* a kernel */

#include <simdjson.h>

#if defined(PP_JSON_KERNEL_HASWELL)
#define PP_JSON_FN(name) pp_json_haswell_##name
#elif defined(PP_JSON_KERNEL_GENERIC)
#define PP_JSON_FN(name) pp_json_generic_##name
#else
#error "build pp_json.cpp with PP_JSON_DISPATCH or a PP_JSON_KERNEL_* macro"
#endif

using namespace simdjson;
using namespace simdjson::builtin;

namespace
{

enum pp_json_status json_status(error_code e)
{
    switch (e) {
    case SUCCESS: return PP_JSON_OK;
    case UTF8_ERROR: return PP_JSON_INVALID_UTF8;
    case MEMALLOC: return PP_JSON_NOMEM;
    default: return PP_JSON_INVALID;
    }
}

// Digits of tok from i on; returns how many.
size_t json_digits(std::string_view tok, size_t &i)
{
    size_t start = i;

    while (i < tok.size() && tok[i] >= '0' && tok[i] <= '9')
        i++;
    return i - start;
}

// True when tok (possibly followed by whitespace) is a JSON number (RFC
// 8259): -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?.
bool json_is_number_token(std::string_view tok)
{
    size_t i = 0;
    size_t start;

    if (i < tok.size() && tok[i] == '-')
        i++;
    start = i;
    if (json_digits(tok, i) == 0 || (tok[start] == '0' && i - start > 1))
        return false;
    if (i < tok.size() && tok[i] == '.' && (++i, json_digits(tok, i) == 0))
        return false;
    if (i < tok.size() && (tok[i] == 'e' || tok[i] == 'E')) {
        i++;
        if (i < tok.size() && (tok[i] == '+' || tok[i] == '-'))
            i++;
        if (json_digits(tok, i) == 0)
            return false;
    }
    while (i < tok.size()) {
        char c = tok[i++];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            return false;
    }
    return true;
}

// The field an object iteration is at, and its unescaped name.
error_code json_field(simdjson_result<ondemand::field> field_result, ondemand::field &field,
                      std::string_view &key)
{
    error_code e = std::move(field_result).get(field);

    return e ? e : field.unescaped_key().get(key);
}

// Walks a value to its end so that everything in it is validated: On-Demand
// only checks what it is asked to read.
error_code json_validate(ondemand::value val, int depth)
{
    if (depth > PP_JSON_MAX_DEPTH)
        return DEPTH_ERROR;
    ondemand::json_type t;
    error_code e = val.type().get(t);
    if (e)
        return e;
    switch (t) {
    case ondemand::json_type::object: {
        ondemand::object obj;
        if ((e = val.get_object().get(obj)))
            return e;
        for (auto field_result : obj) {
            ondemand::field field;
            std::string_view key;
            if ((e = json_field(std::move(field_result), field, key)))
                return e;
            if ((e = json_validate(field.value(), depth + 1)))
                return e;
        }
        return SUCCESS;
    }
    case ondemand::json_type::array: {
        ondemand::array arr;
        if ((e = val.get_array().get(arr)))
            return e;
        for (auto elem : arr) {
            ondemand::value v;
            if ((e = elem.get(v)))
                return e;
            if ((e = json_validate(v, depth + 1)))
                return e;
        }
        return SUCCESS;
    }
    case ondemand::json_type::string: {
        // Stage 1 has checked the UTF-8, the quotes and the control
        // characters of every string; only escapes remain to be checked,
        // and only a string with a backslash has any. Either way the string
        // is consumed: left for the array iterator to skip, a string
        // followed by ':' passes for an object key (simdjson 3.0's
        // skip_child), and ["a":}] would be accepted.
        std::string_view s;
        if (val.raw_json_token().find('\\') == std::string_view::npos) {
            ondemand::raw_json_string raw;
            return val.get_raw_json_string().get(raw);
        }
        return val.get_string().get(s);
    }
    case ondemand::json_type::number: {
        double d;
        e = val.get_double().get(d);
        if (e && json_is_number_token(val.raw_json_token()))
            return SUCCESS; // valid JSON beyond a double's range (1e400)
        return e;
    }
    case ondemand::json_type::boolean: {
        bool b;
        return val.get_bool().get(b);
    }
    case ondemand::json_type::null: {
        bool is_null;
        if ((e = val.is_null().get(is_null)))
            return e;
        return is_null ? SUCCESS : TAPE_ERROR;
    }
    }
    return TAPE_ERROR;
}

// Reads a wanted field's value into out, validating it fully.
error_code json_read_value(ondemand::value val, struct pp_json_value *out, struct pp_arena *arena)
{
    ondemand::json_type t;
    error_code e = val.type().get(t);
    if (e)
        return e;
    switch (t) {
    case ondemand::json_type::string: {
        std::string_view tok = val.raw_json_token();
        std::string_view s;
        // A string without a backslash needs no unescaping: borrow it from
        // the input. The token may carry trailing whitespace after the quote.
        if (tok.find('\\') == std::string_view::npos) {
            // Stage 1 has validated it (see json_validate): borrow it,
            // consumed for the reason json_validate gives.
            ondemand::raw_json_string raw;
            size_t end = tok.rfind('"');
            if (end == std::string_view::npos || end == 0)
                return TAPE_ERROR;
            if ((e = val.get_raw_json_string().get(raw)))
                return e;
            out->type = PP_JSON_STRING;
            out->str = pp_str_make(tok.data() + 1, end - 1);
            return SUCCESS;
        }
        if ((e = val.get_string().get(s)))
            return e;
        out->type = PP_JSON_STRING;
        out->str = pp_arena_strdup(arena, s.data(), s.size());
        return out->str.ptr == nullptr ? MEMALLOC : SUCCESS;
    }
    case ondemand::json_type::number: {
        ondemand::number_type nt;
        bool is_float;
        e = val.get_number_type().get(nt);
        is_float = e == SUCCESS && nt == ondemand::number_type::floating_point_number;
        if (is_float) {
            out->type = PP_JSON_DOUBLE;
            e = val.get_double().get(out->f64);
        } else if (e == SUCCESS) {
            out->type = PP_JSON_INT;
            e = val.get_int64().get(out->i64);
        }
        if (e == SUCCESS)
            return e;
        // A valid JSON number out of range: an integer outside int64 or a
        // number beyond a double (1e400), for which simdjson reports
        // several different errors. Valid JSON (RFC 8259's grammar, as
        // the oracle's DuckDB reads it): keep its type, not its value.
        if (!json_is_number_token(val.raw_json_token()))
            return e;
        out->type = PP_JSON_BIGINT;
        return SUCCESS;
    }
    case ondemand::json_type::boolean: out->type = PP_JSON_BOOL; return val.get_bool().get(out->b);
    case ondemand::json_type::null: out->type = PP_JSON_NULL; return json_validate(val, 2);
    case ondemand::json_type::array: out->type = PP_JSON_ARRAY; return json_validate(val, 2);
    case ondemand::json_type::object: out->type = PP_JSON_OBJECT; return json_validate(val, 2);
    }
    return TAPE_ERROR;
}

// True when nothing but whitespace follows the value just read: simdjson
// 3.0's document has no public at_end(), but its location is out of bounds
// exactly there.
bool json_at_end(ondemand::document &doc)
{
    return doc.current_location().error() == OUT_OF_BOUNDS;
}

} // namespace

extern "C" void *PP_JSON_FN(new)(size_t max_doc_bytes)
{
    auto *od = new (std::nothrow) ondemand::parser(max_doc_bytes + PP_JSON_PADDING);
    if (od == nullptr)
        return nullptr;
    if (od->allocate(max_doc_bytes + PP_JSON_PADDING, PP_JSON_MAX_DEPTH) != SUCCESS) {
        delete od;
        return nullptr;
    }
    return od;
}

extern "C" void PP_JSON_FN(destroy)(void *impl)
{
    delete static_cast<ondemand::parser *>(impl);
}

namespace
{

bool json_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// A root true, false or null must be the whole token (trailing whitespace
// aside): simdjson 3.0.1's root getters check the byte after the word one
// place too far and take "nullx" for null and "falsex" for false (found by
// tests/fuzz/fuzz_record.c).
error_code json_root_atom_check(ondemand::document &doc)
{
    std::string_view tok;
    error_code e = doc.raw_json_token().get(tok);
    size_t n;

    if (e)
        return e;
    n = tok.size();
    while (n > 0 && json_is_space(tok[n - 1]))
        n--;
    tok = tok.substr(0, n);
    return tok == "true" || tok == "false" || tok == "null" ? SUCCESS : TAPE_ERROR;
}

enum pp_json_status json_parse(ondemand::parser *od, const char *buf, size_t len, size_t capacity,
                               const struct pp_str *names, size_t n_names,
                               struct pp_json_value *values, struct pp_arena *arena)
{
    ondemand::document doc;
    ondemand::object obj;
    ondemand::json_type t;
    error_code e;

    for (size_t i = 0; i < n_names; i++)
        values[i].type = PP_JSON_ABSENT;

    // Trailing whitespace means nothing, but simdjson 3.0.1's root scalar
    // getters copy the token with it into a small buffer and fail when it
    // does not fit ("true" and three spaces was invalid): it is left out.
    while (len > 0 && json_is_space(buf[len - 1]))
        len--;
    e = od->iterate(buf, len, capacity).get(doc);
    if (e)
        return json_status(e);
    if ((e = doc.type().get(t)))
        return json_status(e);
    if (t != ondemand::json_type::object) {
        // Tell "valid but not an object" from "not JSON at all".
        if (t == ondemand::json_type::array || t == ondemand::json_type::object) {
            ondemand::value root;
            e = doc.get_value().get(root);
            if (!e)
                e = json_validate(root, 1);
        } else {
            // Scalars at the root cannot be read through get_value(): the
            // document's own getters read them; what follows is checked
            // below (not every getter checks it).
            switch (t) {
            case ondemand::json_type::string: {
                std::string_view s;
                e = doc.get_string().get(s);
                break;
            }
            case ondemand::json_type::number: {
                double d;
                e = doc.get_double().get(d);
                break;
            }
            case ondemand::json_type::boolean: {
                bool b;
                e = json_root_atom_check(doc);
                if (!e)
                    e = doc.get_bool().get(b);
                break;
            }
            case ondemand::json_type::null: {
                bool is_null;
                e = json_root_atom_check(doc);
                if (!e)
                    e = doc.is_null().get(is_null);
                if (!e && !is_null)
                    e = TAPE_ERROR;
                break;
            }
            case ondemand::json_type::array:
            case ondemand::json_type::object: break;
            }
            if (!e)
                return json_at_end(doc) ? PP_JSON_NOT_OBJECT : PP_JSON_INVALID;
            return json_status(e);
        }
        if (e)
            return json_status(e);
        return json_at_end(doc) ? PP_JSON_NOT_OBJECT : PP_JSON_INVALID;
    }
    if ((e = doc.get_object().get(obj)))
        return json_status(e);
    for (auto field_result : obj) {
        ondemand::field field;
        std::string_view key;
        size_t i;
        if ((e = std::move(field_result).get(field)))
            return json_status(e);
        // Match the key's raw bytes (stage 1 has validated them and found
        // its closing quote); only a key with an escape needs unescaping.
        const char *raw = field.key().raw();
        const char *quote = static_cast<const char *>(memchr(raw, '"', buf + len - raw));
        if (quote != nullptr && memchr(raw, '\\', quote - raw) == nullptr) {
            key = std::string_view(raw, quote - raw);
        } else if ((e = field.unescaped_key().get(key))) {
            return json_status(e);
        }
        for (i = 0; i < n_names; i++) {
            if (names[i].len == key.size() && names[i].ptr[0] == key[0] &&
                memcmp(names[i].ptr, key.data(), key.size()) == 0)
                break;
        }
        if (i < n_names && values[i].type == PP_JSON_ABSENT)
            e = json_read_value(field.value(), &values[i], arena);
        else
            e = json_validate(field.value(), 2);
        if (e)
            return json_status(e);
    }
    return json_at_end(doc) ? PP_JSON_OK : PP_JSON_INVALID;
}

} // namespace

extern "C" enum pp_json_status PP_JSON_FN(parse)(void *impl, const char *buf, size_t len,
                                                 size_t capacity, const struct pp_str *names,
                                                 size_t n_names, struct pp_json_value *values,
                                                 struct pp_arena *arena)
{
    enum pp_json_status st = json_parse(static_cast<ondemand::parser *>(impl), buf, len, capacity,
                                        names, n_names, values, arena);

    // simdjson may report a structural error before it sees bad UTF-8;
    // invalid UTF-8 is the documented reason whenever both apply.
    if (st == PP_JSON_INVALID && !simdjson::validate_utf8(buf, len))
        st = PP_JSON_INVALID_UTF8;
    return st;
}

// ---- REST Proxy v2 produce bodies ----

namespace
{

// Where the valid JSON value starting at p ends (one past its last byte),
// and whether whitespace occurs outside its strings. The value has been
// validated, so a bracket-and-quote scan suffices.
const char *json_value_end(const char *p, const char *end, bool *has_space)
{
    int depth = 0;
    bool is_in_string = false;

    *has_space = false;
    for (; p < end; p++) {
        char c = *p;
        if (is_in_string) {
            if (c == '\\')
                p++;
            else if (c == '"') {
                is_in_string = false;
                if (depth == 0)
                    return p + 1;
            }
            continue;
        }
        switch (c) {
        case '"': is_in_string = true; break;
        case '{':
        case '[': depth++; break;
        case '}':
        case ']':
            if (depth == 0)
                return p; // a scalar, ended by its parent's bracket
            if (--depth == 0)
                return p + 1;
            break;
        case ',':
            if (depth == 0)
                return p;
            break;
        case ' ':
        case '\t':
        case '\n':
        case '\r':
            if (depth == 0)
                return p;
            *has_space = true;
            break;
        default: break;
        }
    }
    return end;
}

// The JSON text of the value that starts at start: borrowed when it holds
// no whitespace outside strings, else a copy without it in the arena.
error_code json_minified(const char *start, const char *end, struct pp_arena *arena,
                         struct pp_str *out)
{
    bool has_space;
    const char *stop = json_value_end(start, end, &has_space);
    char *copy;
    size_t n = 0;
    bool is_in_string = false;

    if (!has_space) {
        *out = pp_str_make(start, (size_t)(stop - start));
        return SUCCESS;
    }
    copy = static_cast<char *>(pp_arena_alloc(arena, (size_t)(stop - start)));
    if (copy == nullptr)
        return MEMALLOC;
    for (const char *p = start; p < stop; p++) {
        char c = *p;
        if (is_in_string) {
            copy[n++] = c;
            if (c == '\\')
                copy[n++] = *++p;
            else if (c == '"')
                is_in_string = false;
        } else if (c == '"') {
            is_in_string = true;
            copy[n++] = c;
        } else if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
            copy[n++] = c;
        }
    }
    *out = pp_str_make(copy, n);
    return SUCCESS;
}

// A record's "value": validated in full, its text kept, and its top-level
// "index" / "ind" read when it is an object.
error_code json_read_produce_value(ondemand::value val, const char *end, int depth,
                                   struct pp_json_produce_record *rec, struct pp_arena *arena)
{
    ondemand::json_type t;
    std::string_view tok;
    error_code e;

    if ((e = val.type().get(t)))
        return e;
    tok = val.raw_json_token();
    if (t == ondemand::json_type::null) {
        rec->value = pp_str_make(nullptr, 0);
        return json_validate(val, depth);
    }
    if (t != ondemand::json_type::object) {
        if ((e = json_validate(val, depth)))
            return e;
        return json_minified(tok.data(), end, arena, &rec->value);
    }
    ondemand::object obj;
    if ((e = val.get_object().get(obj)))
        return e;
    for (auto field_result : obj) {
        ondemand::field field;
        std::string_view key;
        struct pp_json_value *want = nullptr;
        if ((e = json_field(std::move(field_result), field, key)))
            return e;
        if (key == "index")
            want = &rec->index;
        else if (key == "ind")
            want = &rec->ind;
        if (want != nullptr && want->type == PP_JSON_ABSENT)
            e = json_read_value(field.value(), want, arena);
        else
            e = json_validate(field.value(), depth + 1);
        if (e)
            return e;
    }
    return json_minified(tok.data(), end, arena, &rec->value);
}

// One element of "records".
error_code json_read_produce_record(ondemand::value val, const char *end,
                                    struct pp_json_produce_record *rec, struct pp_arena *arena,
                                    const char **why)
{
    ondemand::json_type t;
    ondemand::object obj;
    bool has_value = false;
    error_code e;

    rec->value = pp_str_make(nullptr, 0);
    rec->key = pp_str_make(nullptr, 0);
    rec->partition.type = PP_JSON_ABSENT;
    rec->index.type = PP_JSON_ABSENT;
    rec->ind.type = PP_JSON_ABSENT;
    if ((e = val.type().get(t)))
        return e;
    if (t != ondemand::json_type::object) {
        *why = "is not an object";
        e = json_validate(val, 3);
        return e ? e : INCORRECT_TYPE;
    }
    if ((e = val.get_object().get(obj)))
        return e;
    for (auto field_result : obj) {
        ondemand::field field;
        std::string_view key;
        if ((e = json_field(std::move(field_result), field, key)))
            return e;
        if (key == "value" && !has_value) {
            has_value = true;
            e = json_read_produce_value(field.value(), end, 4, rec, arena);
        } else if (key == "key" && rec->key.ptr == nullptr) {
            ondemand::value kv = field.value();
            ondemand::json_type kt;
            std::string_view ktok = kv.raw_json_token();
            if ((e = kv.type().get(kt)))
                return e;
            e = json_validate(kv, 4);
            if (!e && kt != ondemand::json_type::null)
                e = json_minified(ktok.data(), end, arena, &rec->key);
        } else if (key == "partition" && rec->partition.type == PP_JSON_ABSENT) {
            e = json_read_value(field.value(), &rec->partition, arena);
        } else {
            e = json_validate(field.value(), 4);
        }
        if (e)
            return e;
    }
    if (!has_value) {
        *why = "has no \"value\"";
        return INCORRECT_TYPE;
    }
    return SUCCESS;
}

void json_set_msg(char *msg, size_t msg_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

void json_set_msg(char *msg, size_t msg_len, const char *fmt, ...)
{
    va_list ap;

    if (msg == nullptr || msg_len == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, msg_len, fmt, ap);
    va_end(ap);
}

enum pp_json_status json_parse_produce(ondemand::parser *od, const char *buf, size_t len,
                                       size_t capacity, struct pp_arena *arena,
                                       struct pp_json_produce_record **records, size_t *n_records,
                                       char *msg, size_t msg_len)
{
    ondemand::document doc;
    ondemand::object obj;
    ondemand::json_type t;
    struct pp_json_produce_record *recs = nullptr;
    size_t n = 0;
    size_t cap = 0;
    bool has_records = false;
    const char *end = buf + len;
    error_code e;

    *records = nullptr;
    *n_records = 0;
    e = od->iterate(buf, len, capacity).get(doc);
    if (!e)
        e = doc.type().get(t);
    if (!e && t != ondemand::json_type::object) {
        // Tell "valid but not an object" from "not JSON at all".
        enum pp_json_status st = json_parse(od, buf, len, capacity, nullptr, 0, nullptr, arena);
        if (st == PP_JSON_NOT_OBJECT)
            json_set_msg(msg, msg_len, "the body is not a JSON object");
        else
            json_set_msg(msg, msg_len, "the body is not valid JSON");
        return st;
    }
    if (!e)
        e = doc.get_object().get(obj);
    if (e) {
        json_set_msg(msg, msg_len, "the body is not valid JSON: %s", error_message(e));
        return json_status(e);
    }
    for (auto field_result : obj) {
        ondemand::field field;
        std::string_view key;
        if ((e = json_field(std::move(field_result), field, key))) {
            json_set_msg(msg, msg_len, "the body is not valid JSON: %s", error_message(e));
            return json_status(e);
        }
        if (key != "records" || has_records) {
            if ((e = json_validate(field.value(), 2))) {
                json_set_msg(msg, msg_len, "the body is not valid JSON: %s", error_message(e));
                return json_status(e);
            }
            continue;
        }
        has_records = true;
        ondemand::value rv = field.value();
        ondemand::array arr;
        if ((e = rv.type().get(t))) {
            json_set_msg(msg, msg_len, "\"records\": %s", error_message(e));
            return json_status(e);
        }
        if (t != ondemand::json_type::array) {
            e = json_validate(rv, 2);
            json_set_msg(msg, msg_len, "\"records\" %s",
                         e ? "is not valid JSON" : "must be an array of records");
            return e ? json_status(e) : PP_JSON_INVALID;
        }
        if ((e = rv.get_array().get(arr))) {
            json_set_msg(msg, msg_len, "\"records\": %s", error_message(e));
            return json_status(e);
        }
        for (auto elem : arr) {
            ondemand::value v;
            const char *why = nullptr;
            if (n == cap) {
                // Grown in the arena: the old array is left behind, at
                // most as much again as the final one.
                size_t new_cap = cap == 0 ? 16 : cap * 2;
                auto *grown = static_cast<struct pp_json_produce_record *>(
                    pp_arena_alloc(arena, new_cap * sizeof(struct pp_json_produce_record)));
                if (grown == nullptr) {
                    json_set_msg(msg, msg_len, "out of memory");
                    return PP_JSON_NOMEM;
                }
                if (n > 0)
                    memcpy(grown, recs, n * sizeof *grown);
                recs = grown;
                cap = new_cap;
            }
            if (!(e = elem.get(v)))
                e = json_read_produce_record(v, end, &recs[n], arena, &why);
            if (e) {
                if (why != nullptr && e == INCORRECT_TYPE)
                    json_set_msg(msg, msg_len, "records[%zu] %s", n, why);
                else
                    json_set_msg(msg, msg_len, "records[%zu]: not valid JSON: %s", n,
                                 error_message(e));
                return e == INCORRECT_TYPE ? PP_JSON_INVALID : json_status(e);
            }
            n++;
        }
    }
    if (!json_at_end(doc)) {
        json_set_msg(msg, msg_len, "the body is not valid JSON: content after the object");
        return PP_JSON_INVALID;
    }
    if (!has_records) {
        json_set_msg(msg, msg_len, "the body has no \"records\" array");
        return PP_JSON_INVALID;
    }
    *records = recs;
    *n_records = n;
    return PP_JSON_OK;
}

} // namespace

extern "C" enum pp_json_status PP_JSON_FN(parse_produce)(void *impl, const char *buf, size_t len,
                                                         size_t capacity, struct pp_arena *arena,
                                                         struct pp_json_produce_record **records,
                                                         size_t *n_records, char *msg,
                                                         size_t msg_len)
{
    enum pp_json_status st = json_parse_produce(static_cast<ondemand::parser *>(impl), buf, len,
                                                capacity, arena, records, n_records, msg, msg_len);

    if (st == PP_JSON_INVALID && !simdjson::validate_utf8(buf, len)) {
        st = PP_JSON_INVALID_UTF8;
        json_set_msg(msg, msg_len, "the body is not valid UTF-8");
    }
    return st;
}

#endif /* PP_JSON_DISPATCH */
