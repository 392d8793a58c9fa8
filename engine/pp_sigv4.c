/*
 * pp_sigv4: see pp_sigv4.h and docs/s3.md.
 *
 * Signing follows botocore's S3SigV4Auth step by step:
 *
 *   canonical request = method \n encoded path \n sorted encoded query \n
 *                       lowercased sorted folded headers, each + \n \n
 *                       signed header names joined by ';' \n payload hash
 *   string to sign    = "AWS4-HMAC-SHA256" \n amz date \n
 *                       date/region/s3/aws4_request \n hex(sha256(canonical))
 *   signing key       = HMAC chain "AWS4"+secret -> date -> region -> "s3"
 *                       -> "aws4_request"
 *   signature         = hex(HMAC(signing key, string to sign))
 *
 * The signing key is derived again for every request: four HMACs cost a
 * few microseconds, against milliseconds for the request itself, and a
 * cache would keep a secret-derived key in memory for no gain. The
 * derived keys and "AWS4"+secret are wiped (OPENSSL_cleanse) after use.
 * libcrypto's failures become PP_ERR_INTERNAL here.
 */
#include "pp_sigv4.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
#define SIGV4_SERVICE "s3"
#define SIGV4_DIGEST_LEN 32
/* 10000-01-01T00:00:00Z: the amz date has four year digits. */
#define SIGV4_TIME_MAX INT64_C(253402300800)

static const char sigv4_hex_upper[] = "0123456789ABCDEF";
static const char sigv4_hex_lower[] = "0123456789abcdef";

/* ---- SHA-256 ---- */

struct pp_sigv4_sha256 {
    EVP_MD_CTX *ctx;
    bool is_failed; /* an update failed: the next _final reports it */
};

static void sigv4_hex(const unsigned char *digest, size_t len, char *hex)
{
    for (size_t i = 0; i < len; i++) {
        hex[2 * i] = sigv4_hex_lower[digest[i] >> 4];
        hex[2 * i + 1] = sigv4_hex_lower[digest[i] & 15];
    }
    hex[2 * len] = '\0';
}

enum pp_err pp_sigv4_sha256_hex(const void *bytes, size_t len, char *hex)
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_len = 0;

    hex[0] = '\0';
    if (EVP_Digest(len > 0 ? bytes : "", len, digest, &digest_len, EVP_sha256(), NULL) != 1 ||
        digest_len != SIGV4_DIGEST_LEN)
        return PP_ERR_INTERNAL;
    sigv4_hex(digest, digest_len, hex);
    return PP_OK;
}

enum pp_err pp_sigv4_sha256_new(struct pp_sigv4_sha256 **out)
{
    struct pp_sigv4_sha256 *hasher;

    *out = NULL;
    hasher = calloc(1, sizeof *hasher);
    if (hasher == NULL)
        return PP_ERR_NOMEM;
    hasher->ctx = EVP_MD_CTX_new();
    if (hasher->ctx == NULL) {
        free(hasher);
        return PP_ERR_NOMEM;
    }
    if (EVP_DigestInit_ex(hasher->ctx, EVP_sha256(), NULL) != 1) {
        pp_sigv4_sha256_destroy(hasher);
        return PP_ERR_INTERNAL;
    }
    *out = hasher;
    return PP_OK;
}

void pp_sigv4_sha256_update(struct pp_sigv4_sha256 *hasher, const void *bytes, size_t len)
{
    if (len > 0 && !hasher->is_failed && EVP_DigestUpdate(hasher->ctx, bytes, len) != 1)
        hasher->is_failed = true;
}

enum pp_err pp_sigv4_sha256_final(struct pp_sigv4_sha256 *hasher, char *hex)
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_len = 0;
    enum pp_err err = PP_OK;

    hex[0] = '\0';
    if (hasher->is_failed || EVP_DigestFinal_ex(hasher->ctx, digest, &digest_len) != 1 ||
        digest_len != SIGV4_DIGEST_LEN)
        err = PP_ERR_INTERNAL;
    else
        sigv4_hex(digest, digest_len, hex);
    /* Ready for the next message whatever happened to this one. */
    hasher->is_failed = EVP_DigestInit_ex(hasher->ctx, EVP_sha256(), NULL) != 1;
    return err;
}

void pp_sigv4_sha256_destroy(struct pp_sigv4_sha256 *hasher)
{
    if (hasher == NULL)
        return;
    EVP_MD_CTX_free(hasher->ctx);
    free(hasher);
}

/* ---- URI encoding ---- */

static bool sigv4_is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '~';
}

static size_t sigv4_encoded_len(const char *bytes, size_t len, bool is_path)
{
    size_t n = 0;

    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)bytes[i];

        n += sigv4_is_unreserved(c) || (is_path && c == '/') ? 1 : 3;
    }
    return n;
}

/* Writes the encoding (sigv4_encoded_len bytes, no NUL) to dst. */
static void sigv4_encode_to(char *dst, const char *bytes, size_t len, bool is_path)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)bytes[i];

        if (sigv4_is_unreserved(c) || (is_path && c == '/')) {
            *dst++ = (char)c;
        } else {
            *dst++ = '%';
            *dst++ = sigv4_hex_upper[c >> 4];
            *dst++ = sigv4_hex_upper[c & 15];
        }
    }
}

enum pp_err pp_sigv4_uri_encode(struct pp_buf *buf, const char *bytes, size_t len, bool is_path)
{
    size_t n = sigv4_encoded_len(bytes, len, is_path);
    enum pp_err err = pp_buf_reserve(buf, n);

    /* n == 0: an empty buffer may still have no data to point into. */
    if (err != PP_OK || n == 0)
        return err;
    sigv4_encode_to(buf->data + buf->len, bytes, len, is_path);
    buf->len += n;
    return PP_OK;
}

/* ---- canonical request ---- */

/* A query parameter or a header in canonical form, in the arena. */
struct sigv4_item {
    struct pp_str name;
    struct pp_str value;
    size_t index; /* given order: a header's repeated values keep it */
};

/* The encoding of bytes[0..len) as a view into the arena. */
static enum pp_err sigv4_encode_dup(struct pp_arena *arena, const char *bytes, size_t len,
                                    struct pp_str *out)
{
    size_t n = sigv4_encoded_len(bytes, len, false);
    char *dst = pp_arena_alloc(arena, n + 1);

    if (dst == NULL)
        return PP_ERR_NOMEM;
    sigv4_encode_to(dst, bytes, len, false);
    *out = pp_str_make(dst, n);
    return PP_OK;
}

static int sigv4_item_cmp(const void *a, const void *b)
{
    const struct sigv4_item *x = a;
    const struct sigv4_item *y = b;
    int c = pp_str_cmp(x->name, y->name);

    if (c == 0)
        c = pp_str_cmp(x->value, y->value);
    return c;
}

/* Headers sort by name only; equal names keep the given order. */
static int sigv4_header_cmp(const void *a, const void *b)
{
    const struct sigv4_item *x = a;
    const struct sigv4_item *y = b;
    int c = pp_str_cmp(x->name, y->name);

    if (c == 0)
        c = (x->index > y->index) - (x->index < y->index);
    return c;
}

/* Appends the sorted, encoded query ("a=1&b=&c=x%20y"): sorted by encoded
 * name, then encoded value, as botocore sorts (name, value) pairs. */
static enum pp_err sigv4_query(struct pp_buf *cr, const struct pp_sigv4_request *req,
                               struct pp_arena *arena, char *msg, size_t msg_len)
{
    struct sigv4_item *items;
    enum pp_err err = PP_OK;

    if (req->n_params == 0)
        return PP_OK;
    items = pp_arena_alloc(arena, req->n_params * sizeof *items);
    if (items == NULL)
        return PP_ERR_NOMEM;
    for (size_t i = 0; i < req->n_params && err == PP_OK; i++) {
        const struct pp_sigv4_param *param = &req->params[i];
        const char *value = param->value != NULL ? param->value : "";

        if (param->name == NULL || param->name[0] == '\0') {
            snprintf(msg, msg_len, "sigv4: query parameter %zu has no name", i);
            return PP_ERR_INVALID;
        }
        items[i].index = i;
        err = sigv4_encode_dup(arena, param->name, strlen(param->name), &items[i].name);
        if (err == PP_OK)
            err = sigv4_encode_dup(arena, value, strlen(value), &items[i].value);
    }
    if (err != PP_OK)
        return err;
    qsort(items, req->n_params, sizeof *items, sigv4_item_cmp);
    for (size_t i = 0; i < req->n_params && err == PP_OK; i++) {
        if (i > 0)
            err = pp_buf_append(cr, "&", 1);
        if (err == PP_OK)
            err = pp_buf_append(cr, items[i].name.ptr, items[i].name.len);
        if (err == PP_OK)
            err = pp_buf_append(cr, "=", 1);
        if (err == PP_OK)
            err = pp_buf_append(cr, items[i].value.ptr, items[i].value.len);
    }
    return err;
}

/* RFC 9110 token characters: what a header name may hold. */
static bool sigv4_is_tchar(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static bool sigv4_is_space(unsigned char c)
{
    return c == ' ' || c == '\t';
}

/* Header names the signer sets itself. */
static const char *const sigv4_own_headers[] = {
    "authorization",
    "x-amz-date",
    "x-amz-content-sha256",
    "x-amz-security-token",
};
/* Header names botocore leaves unsigned (SIGNED_HEADERS_BLACKLIST). */
static const char *const sigv4_unsigned_headers[] = {"expect", "user-agent", "x-amzn-trace-id"};

static bool sigv4_name_in(struct pp_str name, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (pp_str_eq_cstr(name, list[i]))
            return true;
    return false;
}

/* One header in canonical form: the name lowercased, the value trimmed
 * with inner runs of spaces and tabs folded to one space (botocore's
 * ' '.join(value.split()) for header values that are valid HTTP). */
static enum pp_err sigv4_header_item(struct pp_arena *arena, const char *name, const char *value,
                                     size_t index, struct sigv4_item *item)
{
    size_t name_len = strlen(name);
    size_t value_len = strlen(value);
    char *lname = pp_arena_alloc(arena, name_len + 1);
    char *folded = pp_arena_alloc(arena, value_len + 1);
    size_t n = 0;

    if (lname == NULL || folded == NULL)
        return PP_ERR_NOMEM;
    for (size_t i = 0; i < name_len; i++)
        lname[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] - 'A' + 'a' : name[i]);
    for (size_t i = 0; i < value_len; i++) {
        if (!sigv4_is_space((unsigned char)value[i])) {
            folded[n++] = value[i];
        } else if (n > 0 && i + 1 < value_len && !sigv4_is_space((unsigned char)value[i + 1])) {
            /* The last space of an inner run: one space stands for it. */
            folded[n++] = ' ';
        }
    }
    lname[name_len] = '\0';
    folded[n] = '\0';
    item->name = pp_str_make(lname, name_len);
    item->value = pp_str_make(folded, n);
    item->index = index;
    return PP_OK;
}

/* Checks the caller's header i; PP_ERR_INVALID names it (never its value,
 * which may be secret). */
static enum pp_err sigv4_check_header(const struct pp_sigv4_header *header, size_t i, char *msg,
                                      size_t msg_len)
{
    if (header->name == NULL || header->name[0] == '\0' || header->value == NULL) {
        snprintf(msg, msg_len, "sigv4: header %zu has no name or no value", i);
        return PP_ERR_INVALID;
    }
    for (const char *p = header->name; *p != '\0'; p++) {
        if (!sigv4_is_tchar((unsigned char)*p)) {
            snprintf(msg, msg_len, "sigv4: header %zu: the name holds a character not allowed", i);
            return PP_ERR_INVALID;
        }
    }
    for (const char *p = header->value; *p != '\0'; p++) {
        unsigned char c = (unsigned char)*p;

        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            snprintf(msg, msg_len, "sigv4: header %.64s: the value holds a control character",
                     header->name);
            return PP_ERR_INVALID;
        }
    }
    return PP_OK;
}

/* Appends the canonical headers ("name:value\n" each, then "\n") to cr
 * and the signed header names ("a;b;c") to signed_names. The signer's own
 * headers (own_values, NULL when absent) join the caller's. */
static enum pp_err sigv4_headers(struct pp_buf *cr, struct pp_buf *signed_names,
                                 const struct pp_sigv4_request *req, const char *const *own_values,
                                 struct pp_arena *arena, char *msg, size_t msg_len)
{
    size_t n_own = sizeof sigv4_own_headers / sizeof sigv4_own_headers[0];
    size_t n_items = 0;
    struct sigv4_item *items;
    bool has_host = false;
    enum pp_err err = PP_OK;

    items = pp_arena_alloc(arena, (req->n_headers + n_own) * sizeof *items);
    if (items == NULL)
        return PP_ERR_NOMEM;
    for (size_t i = 0; i < req->n_headers; i++) {
        struct sigv4_item *item = &items[n_items];

        err = sigv4_check_header(&req->headers[i], i, msg, msg_len);
        if (err == PP_OK)
            err = sigv4_header_item(arena, req->headers[i].name, req->headers[i].value, i, item);
        if (err != PP_OK)
            return err;
        if (sigv4_name_in(item->name, sigv4_own_headers, n_own)) {
            snprintf(msg, msg_len, "sigv4: header %.64s is set by the signer", item->name.ptr);
            return PP_ERR_INVALID;
        }
        if (sigv4_name_in(item->name, sigv4_unsigned_headers,
                          sizeof sigv4_unsigned_headers / sizeof sigv4_unsigned_headers[0]))
            continue;
        has_host = has_host || pp_str_eq_cstr(item->name, "host");
        n_items++;
    }
    if (!has_host) {
        snprintf(msg, msg_len, "sigv4: no host header");
        return PP_ERR_INVALID;
    }
    for (size_t i = 0; i < n_own; i++) {
        if (own_values[i] == NULL)
            continue;
        items[n_items].name = pp_str_make(sigv4_own_headers[i], strlen(sigv4_own_headers[i]));
        items[n_items].value = pp_str_make(own_values[i], strlen(own_values[i]));
        items[n_items].index = req->n_headers + i;
        n_items++;
    }
    qsort(items, n_items, sizeof *items, sigv4_header_cmp);
    for (size_t i = 0; i < n_items && err == PP_OK; i++) {
        bool is_repeat = i > 0 && pp_str_eq(items[i].name, items[i - 1].name);

        if (is_repeat) {
            err = pp_buf_append(cr, ",", 1);
        } else {
            if (i > 0)
                err = pp_buf_append(cr, "\n", 1);
            if (err == PP_OK && i > 0)
                err = pp_buf_append(signed_names, ";", 1);
            if (err == PP_OK)
                err = pp_buf_append(signed_names, items[i].name.ptr, items[i].name.len);
            if (err == PP_OK)
                err = pp_buf_append(cr, items[i].name.ptr, items[i].name.len);
            if (err == PP_OK)
                err = pp_buf_append(cr, ":", 1);
        }
        if (err == PP_OK)
            err = pp_buf_append(cr, items[i].value.ptr, items[i].value.len);
    }
    if (err == PP_OK)
        err = pp_buf_append(cr, "\n\n", 2);
    return err;
}

/* ---- checks of the scalar fields ---- */

static bool sigv4_is_payload_hash(const char *s)
{
    size_t n = 0;

    if (strcmp(s, PP_SIGV4_UNSIGNED_PAYLOAD) == 0)
        return true;
    for (; s[n] != '\0'; n++)
        if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
            return false;
    return n == 2 * SIGV4_DIGEST_LEN;
}

static enum pp_err sigv4_check(const struct pp_sigv4_request *req,
                               const struct pp_sigv4_creds *creds, char *msg, size_t msg_len)
{
    const char *field = NULL;

    if (req->method == NULL || req->method[0] == '\0' ||
        req->method[strspn(req->method, "ABCDEFGHIJKLMNOPQRSTUVWXYZ")] != '\0')
        field = "the method";
    else if (req->path == NULL || (req->path[0] != '\0' && req->path[0] != '/'))
        field = "the path";
    else if (req->n_params > 0 && req->params == NULL)
        field = "the query";
    else if (req->n_headers > 0 && req->headers == NULL)
        field = "the headers";
    else if (req->payload_sha256 == NULL || !sigv4_is_payload_hash(req->payload_sha256))
        field = "the payload hash";
    else if (req->region == NULL || req->region[0] == '\0' ||
             req->region[strspn(req->region, "abcdefghijklmnopqrstuvwxyz"
                                             "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")] != '\0')
        field = "the region";
    else if (req->time < 0 || req->time >= SIGV4_TIME_MAX)
        field = "the time";
    else if (creds->access_key_id == NULL || creds->access_key_id[0] == '\0')
        field = "the access key id";
    else if (creds->secret_access_key == NULL || creds->secret_access_key[0] == '\0')
        field = "the secret access key";
    if (field == NULL) {
        for (const char *p = creds->access_key_id; *p != '\0' && field == NULL; p++)
            if ((unsigned char)*p <= ' ' || *p == '/' || *p == ',' || (unsigned char)*p >= 0x7f)
                field = "the access key id";
    }
    if (field == NULL && creds->session_token != NULL) {
        for (const char *p = creds->session_token; *p != '\0' && field == NULL; p++)
            if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
                field = "the session token";
    }
    if (field == NULL)
        return PP_OK;
    snprintf(msg, msg_len, "sigv4: %s is missing or malformed", field);
    return PP_ERR_INVALID;
}

/* ---- signing ---- */

static enum pp_err sigv4_hmac(const unsigned char *key, size_t key_len, const char *data,
                              size_t data_len, unsigned char *out)
{
    unsigned int out_len = 0;

    if (HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)data, data_len, out,
             &out_len) == NULL ||
        out_len != SIGV4_DIGEST_LEN)
        return PP_ERR_INTERNAL;
    return PP_OK;
}

/* hex receives HMAC(signing key, string_to_sign) for the secret, the date
 * (YYYYMMDD) and the region. */
static enum pp_err sigv4_signature_hex(const char *secret, const char *date, const char *region,
                                       const char *string_to_sign, char *hex)
{
    size_t secret_len = strlen(secret);
    /* Each step reads one buffer and writes the other. */
    unsigned char key[2][SIGV4_DIGEST_LEN];
    unsigned char *k_secret = malloc(secret_len + 4);
    enum pp_err err;

    if (k_secret == NULL)
        return PP_ERR_NOMEM;
    memcpy(k_secret, "AWS4", 4);
    memcpy(k_secret + 4, secret, secret_len);
    err = sigv4_hmac(k_secret, secret_len + 4, date, strlen(date), key[0]);
    if (err == PP_OK)
        err = sigv4_hmac(key[0], SIGV4_DIGEST_LEN, region, strlen(region), key[1]);
    if (err == PP_OK)
        err = sigv4_hmac(key[1], SIGV4_DIGEST_LEN, SIGV4_SERVICE, strlen(SIGV4_SERVICE), key[0]);
    if (err == PP_OK)
        err = sigv4_hmac(key[0], SIGV4_DIGEST_LEN, "aws4_request", strlen("aws4_request"), key[1]);
    if (err == PP_OK)
        err = sigv4_hmac(key[1], SIGV4_DIGEST_LEN, string_to_sign, strlen(string_to_sign), key[0]);
    if (err == PP_OK)
        sigv4_hex(key[0], SIGV4_DIGEST_LEN, hex);
    OPENSSL_cleanse(k_secret, secret_len + 4);
    OPENSSL_cleanse(key, sizeof key);
    free(k_secret);
    return err;
}

/* Ends the string in buf with its NUL, then starts prefix + value there,
 * *offset receiving where it starts. */
static enum pp_err sigv4_append_nul(struct pp_buf *buf, size_t *offset, const char *prefix,
                                    const char *value)
{
    enum pp_err err = pp_buf_append(buf, "", 1);

    *offset = buf->len;
    if (err == PP_OK)
        err = pp_buf_append_str(buf, prefix);
    if (err == PP_OK)
        err = pp_buf_append_str(buf, value);
    return err;
}

void pp_sigv4_signature_init(struct pp_sigv4_signature *sig)
{
    memset(sig, 0, sizeof *sig);
    pp_buf_init(&sig->text);
}

void pp_sigv4_signature_cleanup(struct pp_sigv4_signature *sig)
{
    pp_buf_cleanup(&sig->text);
    pp_sigv4_signature_init(sig);
}

enum pp_err pp_sigv4_sign(const struct pp_sigv4_request *req, const struct pp_sigv4_creds *creds,
                          struct pp_sigv4_signature *sig, char *msg, size_t msg_len)
{
    char scratch[1];
    const char *token = creds->session_token != NULL && creds->session_token[0] != '\0'
                            ? creds->session_token
                            : NULL;
    char amz_date[17];
    char date[9];
    char cr_hash[PP_SIGV4_SHA256_HEX_LEN];
    char signature[PP_SIGV4_SHA256_HEX_LEN];
    const char *own_values[4];
    struct pp_arena arena;
    struct pp_buf cr;
    struct pp_buf signed_names;
    struct pp_buf sts;
    struct pp_buf *text = &sig->text;
    size_t offsets[7];
    size_t n_lines = 0;
    struct tm tm;
    time_t t;
    enum pp_err err;

    /* msg is always writable below (snprintf into a 1-byte scratch). */
    if (msg == NULL || msg_len == 0) {
        msg = scratch;
        msg_len = sizeof scratch;
    }
    msg[0] = '\0';
    pp_arena_init(&arena, 4096);
    pp_buf_init(&cr);
    pp_buf_init(&signed_names);
    pp_buf_init(&sts);
    text->len = 0;
    err = sigv4_check(req, creds, msg, msg_len);
    if (err != PP_OK)
        goto out;
    t = (time_t)req->time;
    if (gmtime_r(&t, &tm) == NULL) {
        snprintf(msg, msg_len, "sigv4: the time is out of range");
        err = PP_ERR_INVALID;
        goto out;
    }
    /* The time is checked below year 10000: 16 characters. */
    if (strftime(amz_date, sizeof amz_date, "%Y%m%dT%H%M%SZ", &tm) != 16) {
        snprintf(msg, msg_len, "sigv4: the time is out of range");
        err = PP_ERR_INVALID;
        goto out;
    }
    memcpy(date, amz_date, 8);
    date[8] = '\0';
    /* In the order of sigv4_own_headers. */
    own_values[0] = NULL;
    own_values[1] = amz_date;
    own_values[2] = req->payload_sha256;
    own_values[3] = token;

    /* The canonical request. */
    err = pp_buf_printf(&cr, "%s\n", req->method);
    if (err == PP_OK)
        err = req->path[0] == '\0' ? pp_buf_append(&cr, "/", 1)
                                   : pp_sigv4_uri_encode(&cr, req->path, strlen(req->path), true);
    if (err == PP_OK)
        err = pp_buf_append(&cr, "\n", 1);
    if (err == PP_OK)
        err = sigv4_query(&cr, req, &arena, msg, msg_len);
    if (err == PP_OK)
        err = pp_buf_append(&cr, "\n", 1);
    if (err == PP_OK)
        err = sigv4_headers(&cr, &signed_names, req, own_values, &arena, msg, msg_len);
    if (err == PP_OK)
        err = pp_buf_append(&cr, signed_names.data, signed_names.len);
    if (err == PP_OK)
        err = pp_buf_printf(&cr, "\n%s", req->payload_sha256);
    if (err != PP_OK)
        goto out;

    /* The string to sign and the signature. */
    err = pp_sigv4_sha256_hex(cr.data, cr.len, cr_hash);
    if (err == PP_OK)
        err = pp_buf_printf(&sts, "%s\n%s\n%s/%s/%s/aws4_request\n%s", SIGV4_ALGORITHM, amz_date,
                            date, req->region, SIGV4_SERVICE, cr_hash);
    if (err == PP_OK)
        err = sigv4_signature_hex(creds->secret_access_key, date, req->region, sts.data, signature);
    if (err != PP_OK) {
        if (err == PP_ERR_INTERNAL)
            snprintf(msg, msg_len, "sigv4: libcrypto failed");
        goto out;
    }

    /* Everything into sig->text, each string followed by its NUL; the
     * pointers are set at the end because the buffer moves as it grows. */
    offsets[n_lines++] = text->len;
    err = pp_buf_printf(text,
                        "Authorization: %s Credential=%s/%s/%s/%s/aws4_request, "
                        "SignedHeaders=%.*s, Signature=%s",
                        SIGV4_ALGORITHM, creds->access_key_id, date, req->region, SIGV4_SERVICE,
                        (int)signed_names.len, signed_names.data, signature);
    if (err == PP_OK)
        err = sigv4_append_nul(text, &offsets[n_lines++], "x-amz-date: ", amz_date);
    if (err == PP_OK)
        err = sigv4_append_nul(text, &offsets[n_lines++],
                               "x-amz-content-sha256: ", req->payload_sha256);
    if (err == PP_OK && token != NULL)
        err = sigv4_append_nul(text, &offsets[n_lines++], "x-amz-security-token: ", token);
    if (err == PP_OK)
        err = sigv4_append_nul(text, &offsets[n_lines], "", cr.data);
    if (err == PP_OK)
        err = sigv4_append_nul(text, &offsets[n_lines + 1], "", sts.data);
    if (err == PP_OK)
        err = pp_buf_append(text, "", 1);
    if (err != PP_OK)
        goto out;
    for (size_t i = 0; i < n_lines; i++)
        sig->header_lines[i] = text->data + offsets[i];
    sig->header_lines[n_lines] = NULL;
    sig->authorization = sig->header_lines[0] + strlen("Authorization: ");
    sig->amz_date = sig->header_lines[1] + strlen("x-amz-date: ");
    sig->canonical_request = text->data + offsets[n_lines];
    sig->string_to_sign = text->data + offsets[n_lines + 1];
out:
    if (err != PP_OK) {
        memset(sig->header_lines, 0, sizeof sig->header_lines);
        sig->authorization = sig->amz_date = sig->canonical_request = sig->string_to_sign = NULL;
        text->len = 0;
        if (err == PP_ERR_NOMEM && msg[0] == '\0')
            snprintf(msg, msg_len, "sigv4: out of memory");
    }
    pp_buf_cleanup(&sts);
    pp_buf_cleanup(&signed_names);
    pp_buf_cleanup(&cr);
    pp_arena_cleanup(&arena);
    return err;
}
