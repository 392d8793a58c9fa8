/*
 * pp_awscred: see pp_awscred.h and docs/s3.md.
 *
 * Secrets live in heap strings owned by the provider; every copy this
 * module makes (the file's bytes, the metadata answers, the held strings)
 * is wiped with explicit_bzero before it is freed. Messages and log lines
 * are built from names only (variables, files, profiles, roles, URLs,
 * HTTP statuses), never from a value read from a source.
 */
#include "pp_awscred.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "pp_arena.h"
#include "pp_httpc.h"
#include "pp_json.h"
#include "pp_log.h"
#include "pp_str.h"

#define AWSCRED_IMDS_DEFAULT "http://169.254.169.254"
/* The IMDSv2 session token's lifetime asked for, in seconds (the SDKs'
 * value); a token is asked for at each fetch, so any lifetime would do. */
#define AWSCRED_IMDS_TOKEN_TTL "21600"
/* Larger credentials files and metadata answers are refused. */
#define AWSCRED_FILE_MAX (1 << 20)
#define AWSCRED_IMDS_MAX (64 << 10)

struct pp_awscred {
    enum pp_awscred_source source;
    char *access_key_id;
    char *secret_access_key;
    char *session_token;  /* NULL when none */
    int64_t expiration;   /* 0: does not expire */
    int64_t last_attempt; /* when the instance role was last asked */
    char describe[512];
    struct pp_httpc *http;       /* made at the first metadata request */
    struct pp_json_parser *json; /* likewise */
};

/* What a source found, before it replaces the held credentials. Views
 * into the source's own (wiped afterwards) bytes. */
struct awscred_found {
    struct pp_str access_key_id;
    struct pp_str secret_access_key;
    struct pp_str session_token; /* NULL view when none */
    int64_t expiration;
};

static void awscred_wipe(const char *ptr, size_t len)
{
    /* The views are const for their readers; the bytes are ours. */
    if (ptr != NULL && len > 0)
        explicit_bzero((char *)(uintptr_t)ptr, len);
}

static void awscred_free_secret(char *s)
{
    if (s == NULL)
        return;
    explicit_bzero(s, strlen(s));
    free(s);
}

static char *awscred_strndup(struct pp_str s)
{
    char *copy = malloc(s.len + 1);

    if (copy == NULL)
        return NULL;
    if (s.len > 0)
        memcpy(copy, s.ptr, s.len);
    copy[s.len] = '\0';
    return copy;
}

static void awscred_forget(struct pp_awscred *cred)
{
    awscred_free_secret(cred->access_key_id);
    awscred_free_secret(cred->secret_access_key);
    awscred_free_secret(cred->session_token);
    cred->access_key_id = cred->secret_access_key = cred->session_token = NULL;
    cred->source = PP_AWSCRED_NONE;
    cred->expiration = 0;
    snprintf(cred->describe, sizeof cred->describe, "none");
}

/* Replaces the held credentials with found (copied); describe is the log
 * line. On PP_ERR_NOMEM the held ones stay. */
static enum pp_err awscred_hold(struct pp_awscred *cred, enum pp_awscred_source source,
                                const struct awscred_found *found, const char *describe)
{
    char *key_id = awscred_strndup(found->access_key_id);
    char *secret = awscred_strndup(found->secret_access_key);
    char *token = found->session_token.ptr != NULL && found->session_token.len > 0
                      ? awscred_strndup(found->session_token)
                      : NULL;

    if (key_id == NULL || secret == NULL ||
        (token == NULL && found->session_token.ptr != NULL && found->session_token.len > 0)) {
        awscred_free_secret(key_id);
        awscred_free_secret(secret);
        awscred_free_secret(token);
        return PP_ERR_NOMEM;
    }
    awscred_forget(cred);
    cred->source = source;
    cred->access_key_id = key_id;
    cred->secret_access_key = secret;
    cred->session_token = token;
    cred->expiration = found->expiration;
    snprintf(cred->describe, sizeof cred->describe, "%s", describe);
    return PP_OK;
}

/* An environment variable's value, NULL when unset or empty. */
static const char *awscred_env(const char *name)
{
    const char *value = getenv(name);

    return value != NULL && value[0] != '\0' ? value : NULL;
}

/* ---- 1. the environment ---- */

static enum pp_err awscred_from_env(struct pp_awscred *cred, bool *is_found, char *why,
                                    size_t why_len, char *msg, size_t msg_len)
{
    const char *key_id = awscred_env("AWS_ACCESS_KEY_ID");
    const char *secret = awscred_env("AWS_SECRET_ACCESS_KEY");
    const char *token = awscred_env("AWS_SESSION_TOKEN");
    struct awscred_found found = {0};

    *is_found = false;
    if (key_id == NULL && secret == NULL) {
        snprintf(why, why_len, "AWS_ACCESS_KEY_ID is not set");
        return PP_OK;
    }
    if (key_id == NULL || secret == NULL) {
        snprintf(msg, msg_len, "%s is set but %s is not",
                 key_id != NULL ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
                 key_id != NULL ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
        return PP_ERR_USAGE;
    }
    found.access_key_id = pp_str_make(key_id, strlen(key_id));
    found.secret_access_key = pp_str_make(secret, strlen(secret));
    if (token != NULL)
        found.session_token = pp_str_make(token, strlen(token));
    *is_found = true;
    return awscred_hold(cred, PP_AWSCRED_ENV, &found,
                        token != NULL ? "environment (with a session token)" : "environment");
}

/* ---- 2. the shared credentials file ---- */

static struct pp_str awscred_trim(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
        end--;
    return pp_str_make(p, (size_t)(end - p));
}

static bool awscred_key_is(struct pp_str key, const char *name)
{
    return key.len == strlen(name) && strncasecmp(key.ptr, name, key.len) == 0;
}

/*
 * Parses the INI text[0..len) the way botocore's configparser reads it:
 * "[profile]" sections (the name as written), "key = value" or "key: value"
 * lines (key case-insensitive, both sides trimmed), full-line comments
 * starting with '#' or ';', blank lines, indented continuation lines
 * (ignored: no key we read spans lines). A later value of a key in the
 * same profile replaces an earlier one. Fills found from the section
 * named profile; *has_profile tells whether that section exists.
 */
static enum pp_err awscred_parse_ini(const char *text, size_t len, const char *path,
                                     const char *profile, struct awscred_found *found,
                                     bool *has_profile, char *msg, size_t msg_len)
{
    const char *end = text + len;
    bool is_in_section = false;
    bool is_in_profile = false;
    bool is_after_key = false;
    unsigned line_no = 0;

    *has_profile = false;
    for (const char *line = text; line < end; line_no++) {
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        struct pp_str s;

        if (eol == NULL)
            eol = end;
        s = awscred_trim(line, eol);
        if (s.len == 0 || s.ptr[0] == '#' || s.ptr[0] == ';') {
            /* blank or comment */
        } else if ((line[0] == ' ' || line[0] == '\t') && is_after_key) {
            /* a continuation line */
        } else if (s.ptr[0] == '[') {
            struct pp_str name;

            if (s.ptr[s.len - 1] != ']' || s.len < 3) {
                snprintf(msg, msg_len, "%s:%u: a section header must be [name]", path, line_no + 1);
                return PP_ERR_USAGE;
            }
            /* Not trimmed: botocore looks the profile up by the exact
             * text between the brackets. */
            name = pp_str_make(s.ptr + 1, s.len - 2);
            is_in_section = true;
            is_in_profile = pp_str_eq_cstr(name, profile);
            *has_profile = *has_profile || is_in_profile;
            is_after_key = false;
        } else {
            size_t at = 0;
            struct pp_str key;
            struct pp_str value;

            /* The first '=' or ':' ends the key (configparser's rule). */
            while (at < s.len && s.ptr[at] != '=' && s.ptr[at] != ':')
                at++;
            key = awscred_trim(s.ptr, s.ptr + at);
            if (at == s.len || key.len == 0 || !is_in_section) {
                snprintf(msg, msg_len, "%s:%u: %s", path, line_no + 1,
                         !is_in_section ? "a key before the first [profile] section"
                                        : "not a [section], key = value or comment");
                return PP_ERR_USAGE;
            }
            value = awscred_trim(s.ptr + at + 1, s.ptr + s.len);
            is_after_key = true;
            if (is_in_profile && awscred_key_is(key, "aws_access_key_id"))
                found->access_key_id = value;
            else if (is_in_profile && awscred_key_is(key, "aws_secret_access_key"))
                found->secret_access_key = value;
            else if (is_in_profile && awscred_key_is(key, "aws_session_token"))
                found->session_token = value;
        }
        line = eol < end ? eol + 1 : end;
    }
    return PP_OK;
}

/* Reads the whole file into a NUL-terminated heap buffer (*len bytes).
 * *is_missing when it does not exist. */
static enum pp_err awscred_read_file(const char *path, char **out, size_t *len, bool *is_missing,
                                     char *msg, size_t msg_len)
{
    FILE *f;
    char *buf = NULL;
    size_t n = 0;
    enum pp_err err = PP_OK;

    *out = NULL;
    *is_missing = false;
    f = fopen(path, "rb");
    if (f == NULL) {
        if (errno == ENOENT || errno == ENOTDIR) {
            *is_missing = true;
            return PP_OK;
        }
        snprintf(msg, msg_len, "%s: %s", path, strerror(errno));
        return PP_ERR_IO;
    }
    /* Unbuffered: no copy of the secrets in stdio's buffer. */
    setvbuf(f, NULL, _IONBF, 0);
    buf = malloc(AWSCRED_FILE_MAX + 1);
    if (buf == NULL) {
        err = PP_ERR_NOMEM;
        goto out;
    }
    n = fread(buf, 1, AWSCRED_FILE_MAX + 1, f);
    if (ferror(f)) {
        snprintf(msg, msg_len, "%s: read error", path);
        err = PP_ERR_IO;
        goto out;
    }
    if (n > AWSCRED_FILE_MAX) {
        snprintf(msg, msg_len, "%s: larger than %d bytes", path, AWSCRED_FILE_MAX);
        err = PP_ERR_USAGE;
        goto out;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    buf = NULL;
out:
    if (buf != NULL) {
        explicit_bzero(buf, n);
        free(buf);
    }
    fclose(f);
    return err;
}

static enum pp_err awscred_from_file(struct pp_awscred *cred, bool *is_found, char *why,
                                     size_t why_len, char *msg, size_t msg_len)
{
    const char *home = awscred_env("HOME");
    const char *given = awscred_env("AWS_SHARED_CREDENTIALS_FILE");
    const char *profile = awscred_env("AWS_PROFILE");
    bool is_profile_given = profile != NULL;
    struct awscred_found found = {0};
    struct pp_buf path;
    struct pp_buf describe;
    char *text = NULL;
    size_t len = 0;
    bool is_missing = false;
    bool has_profile = false;
    enum pp_err err = PP_OK;

    *is_found = false;
    pp_buf_init(&path);
    pp_buf_init(&describe);
    if (profile == NULL)
        profile = "default";
    if (given != NULL && strncmp(given, "~/", 2) != 0) {
        err = pp_buf_append_str(&path, given);
    } else if (home == NULL) {
        snprintf(why, why_len, "HOME is not set (for %s)",
                 given != NULL ? given : "~/.aws/credentials");
        goto out;
    } else {
        err = pp_buf_printf(&path, "%s/%s", home, given != NULL ? given + 2 : ".aws/credentials");
    }
    if (err == PP_OK)
        err = awscred_read_file(path.data, &text, &len, &is_missing, msg, msg_len);
    if (err != PP_OK)
        goto out;
    if (is_missing) {
        if (given != NULL) {
            /* Named explicitly: its absence is a mistake, not a choice. */
            snprintf(msg, msg_len, "AWS_SHARED_CREDENTIALS_FILE: %s does not exist", path.data);
            err = PP_ERR_USAGE;
        } else {
            snprintf(why, why_len, "%s does not exist", path.data);
        }
        goto out;
    }
    err = awscred_parse_ini(text, len, path.data, profile, &found, &has_profile, msg, msg_len);
    if (err != PP_OK)
        goto out;
    if (!has_profile) {
        if (is_profile_given) {
            snprintf(msg, msg_len, "AWS_PROFILE: %s has no profile [%.128s]", path.data, profile);
            err = PP_ERR_USAGE;
        } else {
            snprintf(why, why_len, "%s has no profile [%.128s]", path.data, profile);
        }
        goto out;
    }
    if ((found.access_key_id.len == 0) != (found.secret_access_key.len == 0)) {
        snprintf(msg, msg_len, "%s, profile [%.128s]: %s without %s", path.data, profile,
                 found.access_key_id.len > 0 ? "aws_access_key_id" : "aws_secret_access_key",
                 found.access_key_id.len > 0 ? "aws_secret_access_key" : "aws_access_key_id");
        err = PP_ERR_USAGE;
        goto out;
    }
    if (found.access_key_id.len == 0) {
        snprintf(why, why_len, "%s, profile [%.128s] has no aws_access_key_id", path.data, profile);
        goto out;
    }
    err = pp_buf_printf(&describe, "shared credentials file %s, profile %s%s", path.data, profile,
                        found.session_token.len > 0 ? " (with a session token)" : "");
    if (err == PP_OK)
        err = awscred_hold(cred, PP_AWSCRED_FILE, &found, describe.data);
    *is_found = err == PP_OK;
out:
    if (text != NULL) {
        explicit_bzero(text, len);
        free(text);
    }
    pp_buf_cleanup(&describe);
    pp_buf_cleanup(&path);
    return err;
}

/* ---- 3. the instance role (IMDSv2) ---- */

/* "YYYY-MM-DDTHH:MM:SS[.fraction]Z" as seconds since the epoch. */
static bool awscred_parse_time(struct pp_str s, int64_t *out)
{
    struct tm tm = {0};
    int v[6];
    size_t i = 0;
    static const char seps[] = "--T::";

    for (int f = 0; f < 6; f++) {
        size_t digits = f == 0 ? 4 : 2;

        v[f] = 0;
        for (size_t d = 0; d < digits; d++, i++) {
            if (i >= s.len || s.ptr[i] < '0' || s.ptr[i] > '9')
                return false;
            v[f] = v[f] * 10 + (s.ptr[i] - '0');
        }
        if (f < 5 && (i >= s.len || s.ptr[i++] != seps[f]))
            return false;
    }
    if (i < s.len && s.ptr[i] == '.') {
        for (i++; i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9'; i++)
            ;
    }
    if (i + 1 != s.len || s.ptr[i] != 'Z' || v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31 ||
        v[3] > 23 || v[4] > 59 || v[5] > 60)
        return false;
    tm.tm_year = v[0] - 1900;
    tm.tm_mon = v[1] - 1;
    tm.tm_mday = v[2];
    tm.tm_hour = v[3];
    tm.tm_min = v[4];
    tm.tm_sec = v[5];
    *out = (int64_t)timegm(&tm);
    return true;
}

static void awscred_format_time(int64_t t, char *out, size_t out_len)
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (gmtime_r(&tt, &tm) == NULL || strftime(out, out_len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, out_len, "%lld", (long long)t);
}

/* One metadata request; *status is the HTTP status. The body is appended
 * to resp_body (the caller wipes it). Transport errors: PP_ERR_NOTFOUND
 * with the reason in msg (no metadata service here), or PP_ERR_NOMEM. */
static enum pp_err awscred_imds_send(struct pp_awscred *cred, const char *method, const char *url,
                                     const char *header, struct pp_buf *resp_body, unsigned *status,
                                     char *msg, size_t msg_len)
{
    const char *headers[] = {header, NULL};
    struct pp_httpc_request req = {
        .method = method,
        .url = url,
        .headers = headers,
        .timeout_ms = PP_AWSCRED_IMDS_TIMEOUT_MS,
        .is_direct = true,
    };
    struct pp_httpc_response resp = {0};
    char why[256];
    enum pp_err err;

    pp_buf_init(&resp.body);
    err = pp_httpc_send(cred->http, &req, &resp, why, sizeof why);
    *status = resp.status;
    if (err == PP_OK && resp.body.len > AWSCRED_IMDS_MAX) {
        snprintf(why, sizeof why, "%s %s: an answer larger than %d bytes", method, url,
                 AWSCRED_IMDS_MAX);
        err = PP_ERR_CORRUPT;
    }
    if (err == PP_OK)
        err = pp_buf_append(resp_body, resp.body.data, resp.body.len);
    awscred_wipe(resp.body.data, resp.body.len);
    pp_buf_cleanup(&resp.body);
    if (err == PP_ERR_NOMEM)
        return err;
    if (err != PP_OK) {
        snprintf(msg, msg_len, "instance metadata %s", why);
        return err == PP_ERR_CORRUPT ? err : PP_ERR_NOTFOUND;
    }
    return PP_OK;
}

static bool awscred_is_role_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("+=,.@_-", c) != NULL);
}

/* The role's credentials from the JSON answer body[0..len) (padded). */
static enum pp_err awscred_imds_parse(struct pp_awscred *cred, struct pp_buf *body,
                                      const char *role, struct awscred_found *found,
                                      struct pp_arena *arena, char *msg, size_t msg_len)
{
    static const struct pp_str names[] = {
        PP_STR_INIT("Code"),  PP_STR_INIT("AccessKeyId"), PP_STR_INIT("SecretAccessKey"),
        PP_STR_INIT("Token"), PP_STR_INIT("Expiration"),
    };
    struct pp_json_value values[5];
    enum pp_err err = pp_buf_reserve(body, PP_JSON_PADDING);

    if (err != PP_OK)
        return err;
    memset(body->data + body->len, 0, PP_JSON_PADDING);
    switch (pp_json_parse_object(cred->json, body->data, body->len, body->len + PP_JSON_PADDING,
                                 names, 5, values, arena)) {
    case PP_JSON_OK: break;
    case PP_JSON_NOMEM: return PP_ERR_NOMEM;
    case PP_JSON_INVALID:
    case PP_JSON_INVALID_UTF8:
    case PP_JSON_NOT_OBJECT:
    default:
        snprintf(msg, msg_len, "instance role %s: the credentials are not a JSON object", role);
        return PP_ERR_CORRUPT;
    }
    if (values[0].type == PP_JSON_STRING && !pp_str_eq_cstr(values[0].str, "Success")) {
        snprintf(msg, msg_len, "instance role %s: Code is not Success", role);
        err = PP_ERR_NOTFOUND;
    }
    for (size_t i = 1; i < 5 && err == PP_OK; i++) {
        if (values[i].type != PP_JSON_STRING || values[i].str.len == 0) {
            snprintf(msg, msg_len, "instance role %s: the credentials lack %.*s", role,
                     (int)names[i].len, names[i].ptr);
            err = PP_ERR_CORRUPT;
        }
    }
    if (err == PP_OK && !awscred_parse_time(values[4].str, &found->expiration)) {
        snprintf(msg, msg_len, "instance role %s: Expiration is not YYYY-MM-DDTHH:MM:SSZ", role);
        err = PP_ERR_CORRUPT;
    }
    found->access_key_id = values[1].str;
    found->secret_access_key = values[2].str;
    found->session_token = values[3].str;
    return err;
}

/* Fetches the instance role's credentials into cred. PP_ERR_NOTFOUND (no
 * metadata service, no role, a refusal), PP_ERR_CORRUPT (a malformed
 * answer), PP_ERR_NOMEM; msg says which request. */
static enum pp_err awscred_from_imds(struct pp_awscred *cred, int64_t now, char *msg,
                                     size_t msg_len)
{
    const char *endpoint = awscred_env("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    struct pp_buf url;
    struct pp_buf token_header;
    struct pp_buf body;
    struct pp_buf describe;
    struct pp_arena arena;
    struct awscred_found found = {0};
    char role[129];
    char expires[32];
    size_t endpoint_len;
    size_t role_len;
    unsigned status = 0;
    enum pp_err err = PP_OK;

    if (endpoint == NULL)
        endpoint = AWSCRED_IMDS_DEFAULT;
    endpoint_len = strlen(endpoint);
    while (endpoint_len > 0 && endpoint[endpoint_len - 1] == '/')
        endpoint_len--;
    pp_buf_init(&url);
    pp_buf_init(&token_header);
    pp_buf_init(&body);
    pp_buf_init(&describe);
    pp_arena_init(&arena, 4096);
    if (cred->http == NULL)
        err = pp_httpc_new(&cred->http);
    if (err == PP_OK && cred->json == NULL) {
        cred->json = pp_json_parser_new(AWSCRED_IMDS_MAX);
        if (cred->json == NULL)
            err = PP_ERR_NOMEM;
    }
    if (err != PP_OK) {
        snprintf(msg, msg_len, "instance metadata: cannot set up the HTTP client");
        goto out;
    }

    /* The session token. */
    err = pp_buf_printf(&url, "%.*s/latest/api/token", (int)endpoint_len, endpoint);
    if (err == PP_OK)
        err = awscred_imds_send(cred, "PUT", url.data,
                                "X-aws-ec2-metadata-token-ttl-seconds: " AWSCRED_IMDS_TOKEN_TTL,
                                &body, &status, msg, msg_len);
    if (err == PP_OK && status != 200) {
        snprintf(msg, msg_len, "instance metadata %s: HTTP %u", url.data, status);
        err = PP_ERR_NOTFOUND;
    }
    if (err == PP_OK &&
        (body.len == 0 || body.len > 1024 || memchr(body.data, '\n', body.len) != NULL ||
         memchr(body.data, '\r', body.len) != NULL)) {
        snprintf(msg, msg_len, "instance metadata %s: not a token", url.data);
        err = PP_ERR_CORRUPT;
    }
    if (err == PP_OK)
        err = pp_buf_printf(&token_header, "X-aws-ec2-metadata-token: %.*s", (int)body.len,
                            body.data);
    if (err != PP_OK)
        goto out;

    /* The role's name: the first line of the listing. */
    awscred_wipe(body.data, body.len);
    body.len = 0;
    url.len = 0;
    err = pp_buf_printf(&url, "%.*s/latest/meta-data/iam/security-credentials/", (int)endpoint_len,
                        endpoint);
    if (err == PP_OK)
        err = awscred_imds_send(cred, "GET", url.data, token_header.data, &body, &status, msg,
                                msg_len);
    if (err == PP_OK && status != 200) {
        snprintf(msg, msg_len, "instance metadata %s: HTTP %u%s", url.data, status,
                 status == 404 ? " (no instance role)" : "");
        err = PP_ERR_NOTFOUND;
    }
    if (err != PP_OK)
        goto out;
    role_len = 0;
    while (role_len < body.len && body.data[role_len] != '\n' && body.data[role_len] != '\r')
        role_len++;
    for (size_t i = 0; i < role_len && err == PP_OK; i++)
        if (!awscred_is_role_char(body.data[i]))
            err = PP_ERR_CORRUPT;
    if (err != PP_OK || role_len == 0 || role_len >= sizeof role) {
        snprintf(msg, msg_len, "instance metadata %s: not a role name", url.data);
        err = PP_ERR_CORRUPT;
        goto out;
    }
    memcpy(role, body.data, role_len);
    role[role_len] = '\0';

    /* The role's credentials. */
    body.len = 0;
    url.len = 0;
    err = pp_buf_printf(&url, "%.*s/latest/meta-data/iam/security-credentials/%s",
                        (int)endpoint_len, endpoint, role);
    if (err == PP_OK)
        err = awscred_imds_send(cred, "GET", url.data, token_header.data, &body, &status, msg,
                                msg_len);
    if (err == PP_OK && status != 200) {
        snprintf(msg, msg_len, "instance metadata %s: HTTP %u", url.data, status);
        err = PP_ERR_NOTFOUND;
    }
    if (err == PP_OK)
        err = awscred_imds_parse(cred, &body, role, &found, &arena, msg, msg_len);
    if (err == PP_OK && now >= found.expiration - PP_AWSCRED_USABLE_MARGIN_S) {
        awscred_format_time(found.expiration, expires, sizeof expires);
        snprintf(msg, msg_len, "instance role %s: the credentials expire at %s already", role,
                 expires);
        err = PP_ERR_NOTFOUND;
    }
    if (err != PP_OK)
        goto out;
    awscred_format_time(found.expiration, expires, sizeof expires);
    err = pp_buf_printf(&describe, "instance role %s at %.*s, expires %s", role, (int)endpoint_len,
                        endpoint, expires);
    if (err == PP_OK)
        err = awscred_hold(cred, PP_AWSCRED_IMDS, &found, describe.data);
out:
    /* The values may have been unescaped into the arena: wipe them where
     * they are, then the body they came from. */
    awscred_wipe(found.secret_access_key.ptr, found.secret_access_key.len);
    awscred_wipe(found.session_token.ptr, found.session_token.len);
    awscred_wipe(body.data, body.len);
    awscred_wipe(token_header.data, token_header.len);
    pp_arena_cleanup(&arena);
    pp_buf_cleanup(&describe);
    pp_buf_cleanup(&body);
    pp_buf_cleanup(&token_header);
    pp_buf_cleanup(&url);
    if (err == PP_ERR_NOMEM)
        snprintf(msg, msg_len, "instance metadata: out of memory");
    return err;
}

/* ---- the chain ---- */

static bool awscred_imds_is_disabled(void)
{
    const char *v = awscred_env("AWS_EC2_METADATA_DISABLED");

    return v != NULL && strcasecmp(v, "true") == 0;
}

static enum pp_err awscred_resolve(struct pp_awscred *cred, int64_t now, char *msg, size_t msg_len)
{
    char why_env[128] = "";
    char why_file[320] = "";
    char why_imds[320] = "";
    bool is_found = false;
    enum pp_err err;

    err = awscred_from_env(cred, &is_found, why_env, sizeof why_env, msg, msg_len);
    if (err != PP_OK || is_found)
        return err;
    err = awscred_from_file(cred, &is_found, why_file, sizeof why_file, msg, msg_len);
    if (err != PP_OK || is_found)
        return err;
    if (awscred_imds_is_disabled()) {
        snprintf(why_imds, sizeof why_imds, "AWS_EC2_METADATA_DISABLED=true");
    } else {
        cred->last_attempt = now;
        err = awscred_from_imds(cred, now, why_imds, sizeof why_imds);
        if (err == PP_OK || err == PP_ERR_NOMEM)
            return err;
        if (err != PP_ERR_NOTFOUND) {
            snprintf(msg, msg_len, "%s", why_imds);
            return err;
        }
    }
    snprintf(msg, msg_len, "no AWS credentials: %s; %s; %s", why_env, why_file, why_imds);
    return PP_ERR_NOTFOUND;
}

/* Instance-role credentials within PP_AWSCRED_REFRESH_BEFORE_S of their
 * expiry: fetched again, at most every PP_AWSCRED_RETRY_S while the held
 * ones stay usable. */
static enum pp_err awscred_refresh(struct pp_awscred *cred, int64_t now, char *msg, size_t msg_len)
{
    bool is_usable = now < cred->expiration - PP_AWSCRED_USABLE_MARGIN_S;
    char why[320] = "";
    char expires[32];
    enum pp_err err;

    if (now < cred->expiration - PP_AWSCRED_REFRESH_BEFORE_S ||
        (is_usable && now - cred->last_attempt < PP_AWSCRED_RETRY_S))
        return PP_OK;
    cred->last_attempt = now;
    err = awscred_from_imds(cred, now, why, sizeof why);
    if (err == PP_OK)
        return PP_OK;
    awscred_format_time(cred->expiration, expires, sizeof expires);
    if (is_usable && err != PP_ERR_NOMEM) {
        pp_log_warn("AWS credentials: refreshing the instance role's failed (%s); the held ones "
                    "expire at %s, retrying in %d s",
                    why, expires, PP_AWSCRED_RETRY_S);
        return PP_OK;
    }
    snprintf(msg, msg_len, "AWS credentials expired at %s and could not be fetched again: %s",
             expires, why);
    return err == PP_ERR_NOMEM ? err : PP_ERR_IO;
}

enum pp_err pp_awscred_new(struct pp_awscred **out)
{
    struct pp_awscred *cred = calloc(1, sizeof *cred);

    *out = cred;
    if (cred == NULL)
        return PP_ERR_NOMEM;
    awscred_forget(cred);
    return PP_OK;
}

void pp_awscred_destroy(struct pp_awscred *cred)
{
    if (cred == NULL)
        return;
    awscred_forget(cred);
    pp_httpc_destroy(cred->http);
    pp_json_parser_destroy(cred->json);
    free(cred);
}

enum pp_err pp_awscred_get(struct pp_awscred *cred, int64_t now, struct pp_sigv4_creds *creds,
                           char *msg, size_t msg_len)
{
    char scratch[1];
    enum pp_err err = PP_OK;

    /* msg is always writable below (a 1-byte scratch when not given). */
    if (msg == NULL || msg_len == 0) {
        msg = scratch;
        msg_len = sizeof scratch;
    }
    msg[0] = '\0';
    memset(creds, 0, sizeof *creds);
    if (cred->source == PP_AWSCRED_NONE)
        err = awscred_resolve(cred, now, msg, msg_len);
    else if (cred->source == PP_AWSCRED_IMDS)
        err = awscred_refresh(cred, now, msg, msg_len);
    if (err != PP_OK)
        return err;
    creds->access_key_id = cred->access_key_id;
    creds->secret_access_key = cred->secret_access_key;
    creds->session_token = cred->session_token;
    return PP_OK;
}

void pp_awscred_invalidate(struct pp_awscred *cred)
{
    awscred_forget(cred);
}

enum pp_awscred_source pp_awscred_source(const struct pp_awscred *cred)
{
    return cred->source;
}

const char *pp_awscred_source_name(enum pp_awscred_source source)
{
    switch (source) {
    case PP_AWSCRED_NONE: return "none";
    case PP_AWSCRED_ENV: return "environment";
    case PP_AWSCRED_FILE: return "shared credentials file";
    case PP_AWSCRED_IMDS: return "instance role";
    }
    return "none";
}

const char *pp_awscred_describe(const struct pp_awscred *cred)
{
    return cred->describe;
}

int64_t pp_awscred_expiration(const struct pp_awscred *cred)
{
    return cred->expiration;
}
