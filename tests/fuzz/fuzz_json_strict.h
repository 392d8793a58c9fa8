/*
 * A plain recursive-descent JSON checker (RFC 8259), written for the
 * fuzz targets as an independent second opinion on pp_json's verdicts:
 * simdjson's On-Demand API validates only what it is made to visit, so
 * pp_json must visit everything, and the fuzzers compare the two.
 *
 * Where pp_json's documented rules differ from the RFC, or where the
 * RFC leaves room, the checker answers FUZZ_JSON_UNSURE instead of a
 * verdict: \u escapes of UTF-16 surrogates, numbers with a fraction or
 * exponent that overflow a double or an exponent of more than 18 digits
 * (simdjson refuses both: the semantics of numbers out of range are
 * docs/semantics.md's, not this checker's), nesting deeper than about
 * PP_JSON_MAX_DEPTH, a leading byte order mark.
 */
#ifndef FUZZ_JSON_STRICT_H
#define FUZZ_JSON_STRICT_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

enum fuzz_json {
    FUZZ_JSON_INVALID,
    FUZZ_JSON_OBJECT, /* valid, an object */
    FUZZ_JSON_OTHER,  /* valid, not an object */
    FUZZ_JSON_UNSURE,
};

struct fuzz_json_scan {
    const unsigned char *p;
    const unsigned char *end;
    int depth;
    bool is_unsure;
};

/* Length of the UTF-8 sequence at p (1..4), 0 when it is not valid
 * UTF-8: overlong forms, surrogates and code points above U+10FFFF are
 * invalid, as in simdjson's validator. */
static size_t fuzz_utf8_len(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0];
    size_t n;
    unsigned cp;

    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF)
        n = 3, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4)
        n = 4, cp = c & 0x07;
    else
        return 0;
    if ((size_t)(end - p) < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

static bool fuzz_utf8_valid(const unsigned char *p, size_t len)
{
    const unsigned char *end = p + len;

    while (p < end) {
        size_t n = fuzz_utf8_len(p, end);
        if (n == 0)
            return false;
        p += n;
    }
    return true;
}

static void fuzz_json_ws(struct fuzz_json_scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

static int fuzz_json_hex(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static bool fuzz_json_string(struct fuzz_json_scan *s)
{
    s->p++; /* the opening quote */
    while (s->p < s->end) {
        unsigned char c = *s->p;

        if (c == '"') {
            s->p++;
            return true;
        }
        if (c < 0x20)
            return false;
        if (c == '\\') {
            if (++s->p >= s->end)
                return false;
            switch (*s->p) {
            case '"':
            case '\\':
            case '/':
            case 'b':
            case 'f':
            case 'n':
            case 'r':
            case 't': s->p++; break;
            case 'u': {
                unsigned cp = 0;

                if (s->end - s->p < 5)
                    return false;
                for (int i = 1; i <= 4; i++) {
                    int h = fuzz_json_hex(s->p[i]);
                    if (h < 0)
                        return false;
                    cp = cp << 4 | (unsigned)h;
                }
                if (cp >= 0xD800 && cp <= 0xDFFF)
                    s->is_unsure = true; /* pairing rules differ between parsers */
                s->p += 5;
                break;
            }
            default: return false;
            }
            continue;
        }
        {
            size_t n = fuzz_utf8_len(s->p, s->end);
            if (n == 0)
                return false;
            s->p += n;
        }
    }
    return false;
}

static bool fuzz_json_digits(struct fuzz_json_scan *s)
{
    const unsigned char *start = s->p;

    while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
        s->p++;
    return s->p > start;
}

static bool fuzz_json_number(struct fuzz_json_scan *s)
{
    const unsigned char *start = s->p;
    bool is_integer = true;

    if (*s->p == '-')
        s->p++;
    if (s->p < s->end && *s->p == '0')
        s->p++;
    else if (!fuzz_json_digits(s))
        return false;
    if (s->p < s->end && *s->p == '.') {
        s->p++;
        is_integer = false;
        if (!fuzz_json_digits(s))
            return false;
    }
    if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
        const unsigned char *digits;

        s->p++;
        is_integer = false;
        if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
            s->p++;
        digits = s->p;
        if (!fuzz_json_digits(s))
            return false;
        if (s->p - digits > 18)
            s->is_unsure = true; /* simdjson refuses exponents of 19+ digits */
    }
    if (!is_integer) {
        size_t len = (size_t)(s->p - start);
        char *tmp = malloc(len + 1);

        if (tmp == NULL)
            abort();
        memcpy(tmp, start, len);
        tmp[len] = '\0';
        if (!isfinite(strtod(tmp, NULL)))
            s->is_unsure = true;
        free(tmp);
    }
    return true;
}

static bool fuzz_json_literal(struct fuzz_json_scan *s, const char *word)
{
    size_t n = strlen(word);

    if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
        return false;
    s->p += n;
    return true;
}

static bool fuzz_json_value(struct fuzz_json_scan *s);

static bool fuzz_json_container(struct fuzz_json_scan *s, bool is_object)
{
    unsigned char close = is_object ? '}' : ']';

    if (++s->depth > 1000)
        s->is_unsure = true;
    s->p++;
    fuzz_json_ws(s);
    if (s->p < s->end && *s->p == close) {
        s->p++;
        s->depth--;
        return true;
    }
    for (;;) {
        if (is_object) {
            if (s->p >= s->end || *s->p != '"' || !fuzz_json_string(s))
                return false;
            fuzz_json_ws(s);
            if (s->p >= s->end || *s->p != ':')
                return false;
            s->p++;
        }
        if (!fuzz_json_value(s))
            return false;
        fuzz_json_ws(s);
        if (s->p >= s->end)
            return false;
        if (*s->p == close) {
            s->p++;
            s->depth--;
            return true;
        }
        if (*s->p != ',')
            return false;
        s->p++;
        fuzz_json_ws(s);
    }
}

static bool fuzz_json_value(struct fuzz_json_scan *s)
{
    fuzz_json_ws(s);
    if (s->p >= s->end)
        return false;
    switch (*s->p) {
    case '{': return fuzz_json_container(s, true);
    case '[': return fuzz_json_container(s, false);
    case '"': return fuzz_json_string(s);
    case 't': return fuzz_json_literal(s, "true");
    case 'f': return fuzz_json_literal(s, "false");
    case 'n': return fuzz_json_literal(s, "null");
    default:
        if (*s->p == '-' || (*s->p >= '0' && *s->p <= '9'))
            return fuzz_json_number(s);
        return false;
    }
}

/* The verdict on text[0..len) as one JSON document. */
static enum fuzz_json fuzz_json_check(const void *text, size_t len)
{
    struct fuzz_json_scan s = {text, (const unsigned char *)text + len, 0, false};
    bool is_object;
    bool is_valid;

    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        return FUZZ_JSON_UNSURE;
    fuzz_json_ws(&s);
    is_object = s.p < s.end && *s.p == '{';
    is_valid = fuzz_json_value(&s);
    if (is_valid) {
        fuzz_json_ws(&s);
        is_valid = s.p == s.end;
    }
    if (s.is_unsure)
        return FUZZ_JSON_UNSURE;
    if (!is_valid)
        return FUZZ_JSON_INVALID;
    return is_object ? FUZZ_JSON_OBJECT : FUZZ_JSON_OTHER;
}

#endif
