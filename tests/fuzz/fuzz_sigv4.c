/*
 * fuzz_sigv4: one input is an S3 request to sign, as lines:
 *   method, path, query ("a=1&b&c=" : b has no value), region, payload
 *   hash, time (decimal seconds), access key id, secret, session token,
 *   then one "name:value" header per line.
 * pp_sigv4_sign() canonicalises it (encoding, header folding and sorting)
 * and signs it.
 *
 * Checked beyond "no crash":
 *  - signing is deterministic: the same request signed again, into a
 *    fresh signature and into the used one, gives the same bytes;
 *  - the secret reaches nothing but the signature: signed with another
 *    secret of the same length, the canonical request, the string to sign
 *    and every header line but Authorization's signature are the same;
 *  - a request it accepts gives header lines without CR or LF (no header
 *    injection), an Authorization that names the access key, a 16
 *    character x-amz-date;
 *  - pp_sigv4_uri_encode() of the path and of each query name and value
 *    writes only unreserved bytes, %XX and (paths only) '/', and decodes
 *    back to its input.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pp_arena.h"
#include "pp_sigv4.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_PARAMS 16
#define FUZZ_MAX_HEADERS 16
#define FUZZ_SIGNATURE ", Signature="

static bool fuzz_is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '~';
}

static int fuzz_hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1; /* upper-case only, by contract */
}

static void fuzz_check_encode(const char *s, bool is_path)
{
    size_t len = strlen(s);
    struct pp_buf buf;
    size_t j = 0;

    pp_buf_init(&buf);
    if (pp_sigv4_uri_encode(&buf, s, len, is_path) != PP_OK)
        abort();
    for (size_t i = 0; i < buf.len; j++) {
        unsigned char c = (unsigned char)buf.data[i];
        int hi, lo;

        if (fuzz_is_unreserved(c) || (is_path && c == '/')) {
            if (j >= len || s[j] != (char)c)
                abort();
            i++;
            continue;
        }
        if (c != '%' || i + 2 >= buf.len)
            abort();
        hi = fuzz_hex(buf.data[i + 1]);
        lo = fuzz_hex(buf.data[i + 2]);
        if (hi < 0 || lo < 0 || j >= len || (unsigned char)s[j] != (unsigned)(hi * 16 + lo))
            abort();
        if (fuzz_is_unreserved((unsigned char)s[j]) || (is_path && s[j] == '/'))
            abort(); /* encoded what must stay as it is */
        i += 3;
    }
    if (j != len)
        abort();
    pp_buf_cleanup(&buf);
}

static bool fuzz_str_eq(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(a, b) == 0;
}

static void fuzz_check_same(const struct pp_sigv4_signature *a, const struct pp_sigv4_signature *b,
                            bool is_same_secret)
{
    const char *sa, *sb;

    if (!fuzz_str_eq(a->canonical_request, b->canonical_request) ||
        !fuzz_str_eq(a->string_to_sign, b->string_to_sign) ||
        !fuzz_str_eq(a->amz_date, b->amz_date))
        abort();
    for (int i = 1; i < 5; i++)
        if (!fuzz_str_eq(a->header_lines[i], b->header_lines[i]))
            abort();
    if (is_same_secret) {
        if (!fuzz_str_eq(a->header_lines[0], b->header_lines[0]) ||
            !fuzz_str_eq(a->authorization, b->authorization))
            abort();
        return;
    }
    /* Up to the signature, the last 64 hex digits, which must differ. */
    if (strlen(a->authorization) != strlen(b->authorization) ||
        strlen(a->authorization) < sizeof FUZZ_SIGNATURE - 1 + 64)
        abort();
    sa = a->authorization + strlen(a->authorization) - 64 - (sizeof FUZZ_SIGNATURE - 1);
    sb = b->authorization + (sa - a->authorization);
    if (memcmp(sa, FUZZ_SIGNATURE, sizeof FUZZ_SIGNATURE - 1) != 0 ||
        memcmp(a->authorization, b->authorization, (size_t)(sa - a->authorization)) != 0 ||
        strcmp(sa, sb) == 0)
        abort();
}

static void fuzz_check_signed(const struct pp_sigv4_signature *sig,
                              const struct pp_sigv4_creds *creds)
{
    const char *cred;

    for (int i = 0; i < 5 && sig->header_lines[i] != NULL; i++)
        if (strpbrk(sig->header_lines[i], "\r\n") != NULL)
            abort();
    if (sig->amz_date == NULL || strlen(sig->amz_date) != 16)
        abort();
    cred = strstr(sig->authorization, "Credential=");
    if (cred == NULL ||
        strncmp(cred + strlen("Credential="), creds->access_key_id, strlen(creds->access_key_id)) !=
            0 ||
        cred[strlen("Credential=") + strlen(creds->access_key_id)] != '/')
        abort();
}

/* The next line of text (NUL-terminated in place), or "" at the end. */
static char *fuzz_line(char **p)
{
    char *line = *p;
    char *nl = strchr(line, '\n');

    if (nl != NULL) {
        *nl = '\0';
        *p = nl + 1;
    } else {
        *p = line + strlen(line);
    }
    return line;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pp_sigv4_param params[FUZZ_MAX_PARAMS];
    struct pp_sigv4_header headers[FUZZ_MAX_HEADERS];
    struct pp_sigv4_signature sig, again, other;
    struct pp_sigv4_request req;
    struct pp_sigv4_creds creds, creds2;
    char *text = strndup((const char *)data, size);
    char *p = text;
    char *query, *time_text, *secret2;
    char msg[256];
    enum pp_err err;

    if (text == NULL)
        abort();
    memset(&req, 0, sizeof req);
    memset(&creds, 0, sizeof creds);
    req.method = fuzz_line(&p);
    req.path = fuzz_line(&p);
    query = fuzz_line(&p);
    req.region = fuzz_line(&p);
    req.payload_sha256 = fuzz_line(&p);
    time_text = fuzz_line(&p);
    req.time = strtoll(time_text, NULL, 10);
    creds.access_key_id = fuzz_line(&p);
    creds.secret_access_key = fuzz_line(&p);
    creds.session_token = fuzz_line(&p);
    while (*p != '\0' && req.n_headers < FUZZ_MAX_HEADERS) {
        char *line = fuzz_line(&p);
        char *colon = strchr(line, ':');

        if (colon == NULL)
            continue;
        *colon = '\0';
        headers[req.n_headers].name = line;
        headers[req.n_headers].value = colon + 1;
        req.n_headers++;
    }
    req.headers = headers;
    for (char *q = query; *q != '\0' && req.n_params < FUZZ_MAX_PARAMS;) {
        char *amp = strchr(q, '&');
        char *eq;

        if (amp != NULL)
            *amp = '\0';
        eq = strchr(q, '=');
        if (eq != NULL)
            *eq = '\0';
        params[req.n_params].name = q;
        params[req.n_params].value = eq != NULL ? eq + 1 : NULL;
        req.n_params++;
        q = amp != NULL ? amp + 1 : q + strlen(q);
    }
    req.params = params;

    fuzz_check_encode(req.path, true);
    for (size_t i = 0; i < req.n_params; i++) {
        fuzz_check_encode(params[i].name, false);
        if (params[i].value != NULL)
            fuzz_check_encode(params[i].value, false);
    }

    pp_sigv4_signature_init(&sig);
    pp_sigv4_signature_init(&again);
    pp_sigv4_signature_init(&other);
    err = pp_sigv4_sign(&req, &creds, &sig, msg, sizeof msg);
    if (err == PP_OK) {
        fuzz_check_signed(&sig, &creds);
        /* Deterministic, into a fresh signature and into a used one. */
        if (pp_sigv4_sign(&req, &creds, &again, msg, sizeof msg) != PP_OK)
            abort();
        fuzz_check_same(&sig, &again, true);
        if (pp_sigv4_sign(&req, &creds, &again, msg, sizeof msg) != PP_OK)
            abort();
        fuzz_check_same(&sig, &again, true);
        /* Another secret of the same length changes only the signature. */
        secret2 = strdup(creds.secret_access_key);
        if (secret2 == NULL)
            abort();
        for (char *s = secret2; *s != '\0'; s++)
            *s = *s == 'x' ? 'y' : 'x';
        creds2 = creds;
        creds2.secret_access_key = secret2;
        if (pp_sigv4_sign(&req, &creds2, &other, msg, sizeof msg) != PP_OK)
            abort();
        fuzz_check_same(&sig, &other, false);
        free(secret2);
    } else if (err != PP_ERR_INVALID && err != PP_ERR_NOMEM) {
        abort();
    }
    pp_sigv4_signature_cleanup(&sig);
    pp_sigv4_signature_cleanup(&again);
    pp_sigv4_signature_cleanup(&other);
    free(text);
    return 0;
}
