/*
 * pp_store_s3: the S3 backend of pp_store (docs/s3.md, "The client").
 *
 * Each put is a small state machine of S3 requests, all in flight at once
 * on the store's thread through pp_httpc's multi client (libcurl's
 * multi-socket API driven by a pp_uring loop):
 *   below part_size:  PutObject;
 *   from part_size:   CreateMultipartUpload, UploadPart for each part in
 *                     turn (a slice of the put's bytes, its own SHA-256),
 *                     CompleteMultipartUpload; AbortMultipartUpload when a
 *                     step fails for good.
 * Every request is signed with pp_sigv4 (the body's SHA-256 in
 * x-amz-content-sha256) with credentials from pp_awscred (or the two
 * discouraged config keys).
 *
 * A step that fails transiently (transport errors worth retrying, 5xx, 429,
 * 408, RequestTimeout, SlowDown, ExpiredToken) is repeated after an
 * exponential backoff with full jitter: a delay drawn uniformly from
 * [0, min(30 s, 100 ms * 2^attempt)), without limit in count. Anything else
 * (403, 404 NoSuchBucket, 400, ...) fails the put with "HTTP <status>
 * <Code>: <Message>". Waiting steps sit in a list sorted by nothing (it is
 * short: at most max_in_flight); poll waits until the earliest is due.
 *
 * XML answers (UploadId, an error's Code and Message) are read with
 * libexpat, here only.
 */
#include <errno.h>
#include <expat.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pp_awscred.h"
#include "pp_clock.h"
#include "pp_httpc.h"
#include "pp_log.h"
#include "pp_sigv4.h"
#include "pp_store_int.h"
#include "pp_uring.h"

#define S3_DEFAULT_PART_SIZE (25u << 20)
#define S3_MIN_PART_SIZE (5u << 20)
/* S3's limit on the parts of one upload. */
#define S3_MAX_PARTS 10000
#define S3_BACKOFF_BASE_MS 100
#define S3_BACKOFF_CAP_MS 30000
/* A request's time limit: 30 s (s3.request.timeout.ms) plus 1 ms per KiB
 * of body (1 MiB/s). */
#define S3_TIMEOUT_BASE_MS 30000L
/* The preflight probe's time limit (pp_store_open blocks that long at
 * most, when an endpoint accepts connections and never answers). */
#define S3_PROBE_TIMEOUT_MS 10000L
/* A download's request is tried this many times at most (a batch command
 * should end); its first listing page once (a preflight). */
#define S3_DOWNLOAD_MAX_ATTEMPTS 8
/* Enough for AWS's upload ids, error codes and messages. */
#define S3_XML_TEXT_MAX 1024

struct pp_store_s3 {
    struct pp_uring *loop; /* NULL: libcurl polls (io_uring unavailable or off) */
    struct pp_httpc_multi *multi;
    struct pp_awscred *cred; /* NULL when the keys come from the options */
    char *access_key_id;     /* the options' keys, wiped at destroy */
    char *secret_access_key;
    char *bucket;
    char *prefix;   /* "" or "dir/sub/" (with its '/') */
    char *base_url; /* "http://host:port" or "https://bucket.s3.region.amazonaws.com" */
    char *host;     /* the Host header: base_url's authority */
    bool is_path_style;
    char *region;
    size_t part_size;
    long timeout_ms;         /* a request's time limit, before its body's share */
    struct s3_put *retrying; /* steps waiting for their backoff */
    uint64_t rng;
};

enum s3_step {
    S3_PUT_OBJECT,
    S3_CREATE,
    S3_PART,
    S3_COMPLETE,
    S3_ABORT,
    S3_PROBE_PUT,
    S3_PROBE_DELETE,
    S3_LIST, /* ListObjectsV2, one page (pp_store_download) */
    S3_GET,  /* GetObject (pp_store_download) */
};

struct s3_download;

/* A put in flight (put->impl), the preflight probe, or a request of a
 * download (put NULL). */
struct s3_put {
    struct pp_store *store;
    struct pp_store_put *put;
    struct s3_download *dl; /* a download's request: told at the end */
    struct s3_put *dl_prev; /* in the download's list of live requests */
    struct s3_put *dl_next;
    enum s3_step step;
    unsigned attempt;     /* of this step; 0 the first time */
    int64_t due_ms;       /* when a retry starts */
    bool is_conn_failure; /* the retry is after a transport failure */
    struct s3_put *next_retry;
    char *key; /* the object key in the bucket (prefix included) */
    const char *body;
    size_t body_len;
    char sha[PP_SIGV4_SHA256_HEX_LEN]; /* body's, "" until computed */
    /* Multipart. */
    char *upload_id;
    size_t n_parts;
    size_t part;            /* the part being sent, from 0 */
    struct pp_buf complete; /* CompleteMultipartUpload's body, built part by part */
    /* The failure an abort reports once done. */
    enum pp_err fail_err;
    char fail_msg[512];
    const char *dl_prefix; /* S3_LIST: the prefix listed */
    /* The probe's outcome. */
    bool is_done;
    /* The answer of the request in flight. */
    struct pp_buf resp_headers;
    struct pp_httpc_response resp;
};

static void s3_step_start(struct s3_put *sp);
static void s3_on_done(void *arg, const struct pp_httpc_result *result);

static const char *s3_step_method(enum s3_step step)
{
    switch (step) {
    case S3_PUT_OBJECT:
    case S3_PART:
    case S3_PROBE_PUT: return "PUT";
    case S3_CREATE:
    case S3_COMPLETE: return "POST";
    case S3_ABORT:
    case S3_PROBE_DELETE: return "DELETE";
    case S3_LIST:
    case S3_GET: return "GET";
    }
    return "GET";
}

/* xorshift64*: jitter and probe names need no more. */
static uint64_t s3_random(struct pp_store_s3 *s3)
{
    s3->rng ^= s3->rng >> 12;
    s3->rng ^= s3->rng << 25;
    s3->rng ^= s3->rng >> 27;
    return s3->rng * 2685821657736338717ull;
}

/* --- XML (libexpat) --- */

/* Collects the text of the first element named want. */
struct s3_xml {
    const char *want;
    bool is_in;
    bool is_found;
    char *text;
    size_t len;
    size_t cap;
};

static void XMLCALL s3_xml_start(void *arg, const XML_Char *name, const XML_Char **attrs)
{
    struct s3_xml *x = arg;

    (void)attrs;
    if (!x->is_found && strcmp(name, x->want) == 0)
        x->is_in = true;
}

static void XMLCALL s3_xml_end(void *arg, const XML_Char *name)
{
    struct s3_xml *x = arg;

    if (x->is_in && strcmp(name, x->want) == 0) {
        x->is_in = false;
        x->is_found = true;
    }
}

static void XMLCALL s3_xml_chars(void *arg, const XML_Char *s, int len)
{
    struct s3_xml *x = arg;
    size_t n;

    if (!x->is_in || len <= 0)
        return;
    n = (size_t)len < x->cap - 1 - x->len ? (size_t)len : x->cap - 1 - x->len;
    memcpy(x->text + x->len, s, n);
    x->len += n;
    x->text[x->len] = '\0';
}

/*
 * The text of the first element `name` of the XML document xml[0..len)
 * into text (cap bytes, truncated). false when the document is not XML or
 * holds no such element (text is then "").
 */
static bool s3_xml_text(const char *xml, size_t len, const char *name, char *text, size_t cap)
{
    struct s3_xml x = {.want = name, .text = text, .cap = cap};
    XML_Parser parser;
    bool is_ok;

    text[0] = '\0';
    if (len == 0 || len > INT32_MAX)
        return false;
    parser = XML_ParserCreate(NULL);
    if (parser == NULL)
        return false;
    XML_SetUserData(parser, &x);
    XML_SetElementHandler(parser, s3_xml_start, s3_xml_end);
    XML_SetCharacterDataHandler(parser, s3_xml_chars);
    is_ok = XML_Parse(parser, xml, (int)len, 1) == XML_STATUS_OK;
    XML_ParserFree(parser);
    return is_ok && x.is_found;
}

/* --- requests --- */

static enum pp_err s3_creds(struct pp_store_s3 *s3, struct pp_sigv4_creds *creds, char *msg,
                            size_t msg_len)
{
    if (s3->cred == NULL) {
        creds->access_key_id = s3->access_key_id;
        creds->secret_access_key = s3->secret_access_key;
        creds->session_token = NULL;
        return PP_OK;
    }
    return pp_awscred_get(s3->cred, (int64_t)time(NULL), creds, msg, msg_len);
}

/*
 * Signs and starts one request for sp's key: method, query params (plain
 * text), body sp->body[0..body_len) whose hash is sp->sha (computed when
 * ""). The answer goes to sp->resp; s3_on_done follows.
 */
static enum pp_err s3_send(struct s3_put *sp, const char *method,
                           const struct pp_sigv4_param *params, size_t n_params, long timeout_ms,
                           char *msg, size_t msg_len)
{
    struct pp_store_s3 *s3 = sp->store->state;
    struct pp_sigv4_signature sig;
    struct pp_sigv4_creds creds;
    struct pp_sigv4_header host = {"host", s3->host};
    struct pp_sigv4_request sreq;
    struct pp_httpc_request req;
    struct pp_buf path;
    struct pp_buf url;
    struct pp_buf host_line;
    const char *lines[8];
    size_t n_lines = 0;
    enum pp_err err;

    pp_sigv4_signature_init(&sig);
    pp_buf_init(&path);
    pp_buf_init(&url);
    pp_buf_init(&host_line);
    if (sp->sha[0] == '\0' && (err = pp_sigv4_sha256_hex(sp->body, sp->body_len, sp->sha)) != PP_OK)
        goto out;
    /* A bucket-level request (ListObjectsV2) has no key: "/bucket" or "/". */
    if (sp->key[0] == '\0')
        err = s3->is_path_style ? pp_buf_printf(&path, "/%s", s3->bucket)
                                : pp_buf_append_str(&path, "/");
    else
        err = s3->is_path_style ? pp_buf_printf(&path, "/%s/%s", s3->bucket, sp->key)
                                : pp_buf_printf(&path, "/%s", sp->key);
    if (err == PP_OK)
        err = pp_buf_append_str(&url, s3->base_url);
    if (err == PP_OK)
        err = pp_sigv4_uri_encode(&url, path.data, path.len, true);
    for (size_t i = 0; err == PP_OK && i < n_params; i++) {
        err = pp_buf_append_str(&url, i == 0 ? "?" : "&");
        if (err == PP_OK)
            err = pp_sigv4_uri_encode(&url, params[i].name, strlen(params[i].name), false);
        if (err == PP_OK && params[i].value != NULL) {
            err = pp_buf_append_str(&url, "=");
            if (err == PP_OK)
                err = pp_sigv4_uri_encode(&url, params[i].value, strlen(params[i].value), false);
        }
    }
    if (err == PP_OK)
        err = pp_buf_append(&url, "", 1);
    if (err == PP_OK)
        err = pp_buf_printf(&host_line, "Host: %s", s3->host);
    if (err == PP_OK)
        err = pp_buf_append(&path, "", 1);
    if (err != PP_OK)
        goto out;
    if ((err = s3_creds(s3, &creds, msg, msg_len)) != PP_OK)
        goto out;
    memset(&sreq, 0, sizeof sreq);
    sreq.method = method;
    sreq.path = path.data;
    sreq.params = params;
    sreq.n_params = n_params;
    sreq.headers = &host;
    sreq.n_headers = 1;
    sreq.payload_sha256 = sp->sha;
    sreq.region = s3->region;
    sreq.time = (int64_t)time(NULL);
    if ((err = pp_sigv4_sign(&sreq, &creds, &sig, msg, msg_len)) != PP_OK)
        goto out;
    lines[n_lines++] = host_line.data;
    for (size_t i = 0; sig.header_lines[i] != NULL; i++)
        lines[n_lines++] = sig.header_lines[i];
    lines[n_lines] = NULL;
    memset(&req, 0, sizeof req);
    req.method = method;
    req.url = url.data;
    req.headers = lines;
    req.body = sp->body;
    req.body_len = sp->body_len;
    req.timeout_ms = timeout_ms > 0 ? timeout_ms : s3->timeout_ms + (long)(sp->body_len / 1024);
    sp->resp.body.len = 0;
    sp->resp_headers.len = 0;
    err = pp_httpc_multi_start(s3->multi, &req, &sp->resp, s3_on_done, sp);
    if (err != PP_OK)
        snprintf(msg, msg_len, "%s: cannot start the request: %s", method, pp_err_str(err));
out:
    /* The signature holds the session token: wiped with the buffer. */
    if (sig.text.data != NULL)
        explicit_bzero(sig.text.data, sig.text.cap);
    pp_sigv4_signature_cleanup(&sig);
    pp_buf_cleanup(&path);
    pp_buf_cleanup(&url);
    pp_buf_cleanup(&host_line);
    return err;
}

static void s3_put_free(struct s3_put *sp)
{
    if (sp == NULL)
        return;
    pp_buf_cleanup(&sp->complete);
    pp_buf_cleanup(&sp->resp.body);
    pp_buf_cleanup(&sp->resp_headers);
    free(sp->upload_id);
    free(sp->key);
    free(sp);
}

static void s3_download_done(struct s3_put *sp, enum pp_err err, const char *msg);

static bool s3_is_probe(const struct s3_put *sp)
{
    return sp->step == S3_PROBE_PUT || sp->step == S3_PROBE_DELETE;
}

/* A transient failure of sp's step may be retried: puts always (the lake
 * must not lose records), not the probe nor an abort, a download's
 * requests a few times, its first page never (bad endpoints, missing
 * buckets and refused credentials end the command at once). */
static bool s3_may_retry(const struct s3_put *sp)
{
    if (s3_is_probe(sp) || sp->step == S3_ABORT)
        return false;
    if (sp->dl == NULL)
        return true;
    if (sp->step == S3_LIST && sp->upload_id == NULL)
        return false;
    return sp->attempt + 1 < S3_DOWNLOAD_MAX_ATTEMPTS;
}

/* The put (or probe) ends: err PP_OK or its failure with msg. */
static void s3_end(struct s3_put *sp, enum pp_err err, const char *msg)
{
    if (sp->dl != NULL) {
        s3_download_done(sp, err, msg);
        return;
    }
    if (sp->put == NULL) {
        sp->fail_err = err;
        if (err != PP_OK && msg != sp->fail_msg)
            snprintf(sp->fail_msg, sizeof sp->fail_msg, "%s", msg);
        sp->is_done = true;
        return;
    }
    sp->put->impl = NULL;
    pp_store_finish(sp->store, sp->put, err, err == PP_OK ? NULL : msg);
    s3_put_free(sp);
}

/* A step failed for good: a multipart upload is aborted first (so its
 * parts are not kept and billed), then the put fails with msg. */
static void s3_fail(struct s3_put *sp, enum pp_err err, const char *msg)
{
    if (sp->upload_id != NULL && sp->step != S3_ABORT) {
        sp->fail_err = err;
        snprintf(sp->fail_msg, sizeof sp->fail_msg, "%s", msg);
        sp->step = S3_ABORT;
        sp->attempt = 0;
        sp->body = NULL;
        sp->body_len = 0;
        sp->sha[0] = '\0';
        s3_step_start(sp);
        return;
    }
    if (sp->step == S3_ABORT) {
        /* The upload stays (a bucket lifecycle rule removes it); the put
         * reports what failed first. */
        pp_log_warn("store %s: %s: AbortMultipartUpload failed: %s", sp->store->url, sp->key, msg);
        s3_end(sp, sp->fail_err, sp->fail_msg);
        return;
    }
    s3_end(sp, err, msg);
}

/* Schedules the step again after its backoff. is_conn_failure: the
 * failure was the connection's (refused, reset, timed out), not an answer
 * (5xx, throttling). */
static void s3_retry(struct s3_put *sp, const char *why, bool is_conn_failure)
{
    struct pp_store_s3 *s3 = sp->store->state;
    unsigned shift = sp->attempt < 20 ? sp->attempt : 20;
    int64_t ceiling = (int64_t)S3_BACKOFF_BASE_MS << shift;
    int64_t delay;

    if (ceiling > S3_BACKOFF_CAP_MS)
        ceiling = S3_BACKOFF_CAP_MS;
    delay = (int64_t)(s3_random(s3) % (uint64_t)ceiling);
    sp->attempt++;
    sp->store->stats.retries++;
    /* The first retry of a step, then every power of two: S3 down for
     * minutes does not flood the log. */
    if ((sp->attempt & (sp->attempt - 1)) == 0)
        pp_log_warn("store %s: %s: %s; retry %u in %lld ms", sp->store->url,
                    sp->key[0] != '\0' ? sp->key : "(the bucket)", why, sp->attempt,
                    (long long)delay);
    sp->due_ms = pp_clock_ms() + delay;
    sp->is_conn_failure = is_conn_failure;
    sp->next_retry = s3->retrying;
    s3->retrying = sp;
}

/*
 * S3 answered: the steps waiting after a connection failure (S3 was
 * unreachable, most likely the same outage) are due now, rather than after
 * a backoff that grew with the outage's length. Those waiting after an
 * answer (5xx, SlowDown) keep their backoff: S3 asked for less load.
 */
static void s3_kick(struct pp_store_s3 *s3)
{
    int64_t now = pp_clock_ms();

    for (struct s3_put *sp = s3->retrying; sp != NULL; sp = sp->next_retry)
        if (sp->is_conn_failure && sp->due_ms > now)
            sp->due_ms = now;
}

/* An error answer is worth repeating. */
static bool s3_is_transient(unsigned status, const char *code)
{
    return status >= 500 || status == 429 || status == 408 || strcmp(code, "RequestTimeout") == 0 ||
           strcmp(code, "SlowDown") == 0 || strcmp(code, "ExpiredToken") == 0 ||
           strcmp(code, "InternalError") == 0;
}

/* Appends part number n's entry to CompleteMultipartUpload's body. */
static enum pp_err s3_complete_add(struct s3_put *sp, size_t n, const char *etag, size_t etag_len)
{
    if (sp->complete.len == 0 &&
        pp_buf_append_str(&sp->complete, "<CompleteMultipartUpload>") != PP_OK)
        return PP_ERR_NOMEM;
    return pp_buf_printf(&sp->complete,
                         "<Part><PartNumber>%zu</PartNumber><ETag>%.*s</ETag></Part>", n,
                         (int)etag_len, etag);
}

/* Points the body at part sp->part: a slice of the put's bytes, parts of
 * equal size but the last. */
static void s3_part_select(struct s3_put *sp)
{
    size_t part_size = (sp->put->len + sp->n_parts - 1) / sp->n_parts;
    size_t off = sp->part * part_size;

    sp->body = sp->put->data.data + off;
    sp->body_len = sp->put->len - off < part_size ? sp->put->len - off : part_size;
    sp->sha[0] = '\0';
}

/* The step succeeded (2xx): the next one. */
static void s3_advance(struct s3_put *sp)
{
    char text[S3_XML_TEXT_MAX];
    char msg[S3_XML_TEXT_MAX + 128];
    const char *etag;
    size_t etag_len;

    sp->attempt = 0;
    switch (sp->step) {
    case S3_PUT_OBJECT:
    case S3_COMPLETE: s3_end(sp, PP_OK, NULL); return;
    case S3_ABORT: s3_end(sp, sp->fail_err, sp->fail_msg); return;
    case S3_PROBE_PUT:
        sp->step = S3_PROBE_DELETE;
        sp->body = NULL;
        sp->body_len = 0;
        sp->sha[0] = '\0';
        s3_step_start(sp);
        return;
    case S3_PROBE_DELETE:
    case S3_LIST:
    case S3_GET: s3_end(sp, PP_OK, NULL); return;
    case S3_CREATE:
        if (!s3_xml_text(sp->resp.body.data, sp->resp.body.len, "UploadId", text, sizeof text) ||
            text[0] == '\0') {
            s3_fail(sp, PP_ERR_CORRUPT, "CreateMultipartUpload: no UploadId in the answer");
            return;
        }
        sp->upload_id = strdup(text);
        if (sp->upload_id == NULL) {
            s3_fail(sp, PP_ERR_NOMEM, "out of memory");
            return;
        }
        sp->step = S3_PART;
        sp->part = 0;
        break;
    case S3_PART:
        if (!pp_httpc_header_find(&sp->resp_headers, "ETag", &etag, &etag_len) || etag_len == 0) {
            snprintf(msg, sizeof msg, "UploadPart %zu: no ETag in the answer", sp->part + 1);
            s3_fail(sp, PP_ERR_CORRUPT, msg);
            return;
        }
        if (s3_complete_add(sp, sp->part + 1, etag, etag_len) != PP_OK) {
            s3_fail(sp, PP_ERR_NOMEM, "out of memory");
            return;
        }
        sp->part++;
        if (sp->part == sp->n_parts) {
            sp->step = S3_COMPLETE;
            if (pp_buf_append_str(&sp->complete, "</CompleteMultipartUpload>") != PP_OK) {
                s3_fail(sp, PP_ERR_NOMEM, "out of memory");
                return;
            }
            sp->body = sp->complete.data;
            sp->body_len = sp->complete.len;
            sp->sha[0] = '\0';
            s3_step_start(sp);
            return;
        }
        break;
    }
    s3_part_select(sp);
    s3_step_start(sp);
}

static void s3_on_done(void *arg, const struct pp_httpc_result *result)
{
    struct s3_put *sp = arg;
    char code[128];
    char text[S3_XML_TEXT_MAX];
    char msg[S3_XML_TEXT_MAX + 256];
    const char *method = s3_step_method(sp->step);
    bool is_probe = s3_is_probe(sp);

    if (result->err != PP_OK) {
        if (result->is_retriable && s3_may_retry(sp)) {
            s3_retry(sp, result->msg, true);
            return;
        }
        snprintf(msg, sizeof msg, "%s%s", is_probe ? "preflight " : "", result->msg);
        s3_fail(sp, result->err, msg);
        return;
    }
    s3_xml_text(sp->resp.body.data, sp->resp.body.len, "Code", code, sizeof code);
    /* CompleteMultipartUpload may answer 200 and fail in the body. */
    if (result->status >= 200 && result->status < 300 &&
        !(sp->step == S3_COMPLETE && code[0] != '\0')) {
        s3_kick(sp->store->state);
        s3_advance(sp);
        return;
    }
    /* A Complete repeated after its connection failed: S3 most likely
     * completed the upload then (the id is gone). Only a bucket lifecycle
     * rule aborting the upload in between could also explain it, and those
     * act after days. */
    if (sp->step == S3_COMPLETE && sp->attempt > 0 && sp->is_conn_failure &&
        strcmp(code, "NoSuchUpload") == 0) {
        pp_log_warn("store %s: %s: CompleteMultipartUpload repeated after a lost answer: "
                    "NoSuchUpload, taken as completed",
                    sp->store->url, sp->key);
        s3_advance(sp);
        return;
    }
    if (sp->step == S3_PROBE_DELETE && result->status == 404) {
        s3_advance(sp); /* gone already: the write was what mattered */
        return;
    }
    s3_xml_text(sp->resp.body.data, sp->resp.body.len, "Message", text, sizeof text);
    snprintf(msg, sizeof msg, "%s%s: HTTP %u %s%s%s", is_probe ? "preflight " : "", method,
             result->status, code[0] != '\0' ? code : "(no error code)",
             text[0] != '\0' ? ": " : "", text);
    if (s3_may_retry(sp) && s3_is_transient(result->status, code)) {
        struct pp_store_s3 *s3 = sp->store->state;

        if (strcmp(code, "ExpiredToken") == 0 && s3->cred != NULL)
            pp_awscred_invalidate(s3->cred);
        s3_retry(sp, msg, false);
        return;
    }
    s3_fail(sp, PP_ERR_IO, msg);
}

/* Starts (or starts again) sp's current step. */
static void s3_step_start(struct s3_put *sp)
{
    struct pp_sigv4_param params[3];
    size_t n_params = 0;
    char part_number[24];
    char msg[512] = "";
    long timeout_ms = 0;
    enum pp_err err;

    switch (sp->step) {
    case S3_CREATE: params[n_params++] = (struct pp_sigv4_param){"uploads", NULL}; break;
    case S3_PART:
        snprintf(part_number, sizeof part_number, "%zu", sp->part + 1);
        params[n_params++] = (struct pp_sigv4_param){"partNumber", part_number};
        params[n_params++] = (struct pp_sigv4_param){"uploadId", sp->upload_id};
        break;
    case S3_COMPLETE:
    case S3_ABORT: params[n_params++] = (struct pp_sigv4_param){"uploadId", sp->upload_id}; break;
    case S3_PROBE_PUT:
    case S3_PROBE_DELETE: timeout_ms = S3_PROBE_TIMEOUT_MS; break;
    case S3_LIST:
        params[n_params++] = (struct pp_sigv4_param){"list-type", "2"};
        params[n_params++] = (struct pp_sigv4_param){"prefix", sp->dl_prefix};
        if (sp->upload_id != NULL) /* the continuation token */
            params[n_params++] = (struct pp_sigv4_param){"continuation-token", sp->upload_id};
        else /* the first page is the download's preflight */
            timeout_ms = S3_PROBE_TIMEOUT_MS;
        break;
    case S3_PUT_OBJECT:
    case S3_GET: break;
    }
    err = s3_send(sp, s3_step_method(sp->step), params, n_params, timeout_ms, msg, sizeof msg);
    if (err == PP_OK)
        return;
    /* Credentials that could not be refreshed may come back. */
    if (err == PP_ERR_IO && s3_may_retry(sp)) {
        s3_retry(sp, msg, false);
        return;
    }
    s3_fail(sp, err, msg);
}

/* A request state for key (under the store's prefix when is_prefixed). */
static struct s3_put *s3_req_new(struct pp_store *store, const char *key, bool is_prefixed)
{
    struct pp_store_s3 *s3 = store->state;
    struct s3_put *sp = calloc(1, sizeof *sp);
    size_t prefix_len = is_prefixed ? strlen(s3->prefix) : 0;
    size_t key_len = strlen(key);

    if (sp == NULL)
        return NULL;
    sp->store = store;
    sp->key = malloc(prefix_len + key_len + 1);
    if (sp->key == NULL) {
        free(sp);
        return NULL;
    }
    memcpy(sp->key, s3->prefix, prefix_len);
    memcpy(sp->key + prefix_len, key, key_len + 1);
    pp_buf_init(&sp->complete);
    pp_buf_init(&sp->resp_headers);
    pp_buf_init(&sp->resp.body);
    sp->resp.headers = &sp->resp_headers;
    return sp;
}

static struct s3_put *s3_put_new(struct pp_store *store, const char *key)
{
    return s3_req_new(store, key, true);
}

static enum pp_err s3_start(struct pp_store *store, struct pp_store_put *put, char *msg,
                            size_t msg_len)
{
    struct pp_store_s3 *s3 = store->state;
    struct s3_put *sp = s3_put_new(store, put->key);

    (void)msg;
    (void)msg_len;
    if (sp == NULL)
        return PP_ERR_NOMEM;
    sp->put = put;
    put->impl = sp;
    if (put->len < s3->part_size) {
        sp->step = S3_PUT_OBJECT;
        sp->body = put->data.data;
        sp->body_len = put->len;
    } else {
        size_t part_size = s3->part_size;

        sp->step = S3_CREATE;
        if ((put->len + part_size - 1) / part_size > S3_MAX_PARTS)
            part_size = (put->len + S3_MAX_PARTS - 1) / S3_MAX_PARTS;
        sp->n_parts = (put->len + part_size - 1) / part_size;
    }
    /* Failures from here on are reported through the put. */
    s3_step_start(sp);
    return PP_OK;
}

/* Starts the retries that are due; the wait until the next one (-1: none). */
static int64_t s3_start_due(struct pp_store_s3 *s3)
{
    int64_t now = pp_clock_ms();
    int64_t next = -1;
    struct s3_put **link = &s3->retrying;
    struct s3_put *due = NULL;

    while (*link != NULL) {
        struct s3_put *sp = *link;

        if (sp->due_ms <= now) {
            *link = sp->next_retry;
            sp->next_retry = due;
            due = sp;
            continue;
        }
        if (next < 0 || sp->due_ms - now < next)
            next = sp->due_ms - now;
        link = &sp->next_retry;
    }
    while (due != NULL) {
        struct s3_put *sp = due;

        due = sp->next_retry;
        sp->next_retry = NULL;
        s3_step_start(sp);
    }
    return s3->retrying != NULL && next < 0 ? 0 : next;
}

static enum pp_err s3_poll(struct pp_store *store, int timeout_ms)
{
    struct pp_store_s3 *s3 = store->state;
    int64_t next = s3_start_due(s3);
    int64_t wait = timeout_ms;
    enum pp_err err;

    if (next >= 0 && (wait < 0 || next < wait))
        wait = next;
    if (pp_httpc_multi_running(s3->multi) == 0 && s3->retrying == NULL)
        return PP_OK;
    err = pp_httpc_multi_run(s3->multi, (int)wait);
    s3_start_due(s3);
    return err;
}

static void s3_destroy(struct pp_store *store)
{
    struct pp_store_s3 *s3 = store->state;
    struct pp_store_put *put;

    if (s3 == NULL)
        return;
    /* Abandons the requests still running: their puts are failed by
     * pp_store_close after this. */
    pp_httpc_multi_destroy(s3->multi);
    for (put = store->running.head; put != NULL; put = put->next) {
        s3_put_free(put->impl);
        put->impl = NULL;
    }
    pp_uring_destroy(s3->loop);
    pp_awscred_destroy(s3->cred);
    if (s3->secret_access_key != NULL)
        explicit_bzero(s3->secret_access_key, strlen(s3->secret_access_key));
    free(s3->secret_access_key);
    free(s3->access_key_id);
    free(s3->bucket);
    free(s3->prefix);
    free(s3->base_url);
    free(s3->host);
    free(s3->region);
    free(s3);
    store->state = NULL;
}

static const struct pp_store_backend pp_store_s3_backend = {
    .name = "s3",
    .start = s3_start,
    .poll = s3_poll,
    .destroy = s3_destroy,
};

/* S3's bucket naming rules (the common subset): 3 to 63 of a-z 0-9 . -,
 * starting and ending with a letter or digit. */
static bool s3_bucket_is_valid(const char *bucket, size_t len)
{
    if (len < 3 || len > 63)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = bucket[i];
        bool is_alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');

        if (!is_alnum && ((c != '.' && c != '-') || i == 0 || i == len - 1))
            return false;
    }
    return true;
}

/* Bucket and prefix from "s3://bucket[/prefix]". */
static enum pp_err s3_parse_url(struct pp_store_s3 *s3, const char *url, char *msg, size_t msg_len)
{
    const char *bucket = url + 5;
    const char *slash = strchr(bucket, '/');
    size_t bucket_len = slash != NULL ? (size_t)(slash - bucket) : strlen(bucket);
    const char *prefix = slash != NULL ? slash + 1 : "";
    size_t prefix_len = strlen(prefix);

    if (!s3_bucket_is_valid(bucket, bucket_len)) {
        snprintf(msg, msg_len,
                 "store %s: '%.*s' is not a valid bucket name (3-63 of a-z 0-9 . -): "
                 "s3://bucket[/prefix]",
                 url, (int)bucket_len, bucket);
        return PP_ERR_USAGE;
    }
    while (prefix_len > 0 && prefix[prefix_len - 1] == '/')
        prefix_len--;
    if (strstr(prefix, "//") != NULL && (size_t)(strstr(prefix, "//") - prefix) < prefix_len) {
        snprintf(msg, msg_len, "store %s: the prefix has an empty segment", url);
        return PP_ERR_USAGE;
    }
    s3->bucket = strndup(bucket, bucket_len);
    s3->prefix = malloc(prefix_len + 2);
    if (s3->bucket == NULL || s3->prefix == NULL)
        return PP_ERR_NOMEM;
    memcpy(s3->prefix, prefix, prefix_len);
    if (prefix_len > 0)
        s3->prefix[prefix_len++] = '/';
    s3->prefix[prefix_len] = '\0';
    return PP_OK;
}

/* base_url and host: the endpoint (path-style) or AWS (virtual-hosted). */
static enum pp_err s3_parse_endpoint(struct pp_store_s3 *s3, const char *url, const char *endpoint,
                                     char *msg, size_t msg_len)
{
    struct pp_buf buf;
    const char *authority;
    size_t len;

    pp_buf_init(&buf);
    if (endpoint == NULL || endpoint[0] == '\0') {
        s3->is_path_style = false;
        if (pp_buf_printf(&buf, "%s.s3.%s.amazonaws.com", s3->bucket, s3->region) != PP_OK)
            return PP_ERR_NOMEM;
        s3->host = buf.data;
        pp_buf_init(&buf);
        if (pp_buf_printf(&buf, "https://%s", s3->host) != PP_OK)
            return PP_ERR_NOMEM;
        s3->base_url = buf.data;
        return PP_OK;
    }
    s3->is_path_style = true;
    if (strncmp(endpoint, "http://", 7) == 0)
        authority = endpoint + 7;
    else if (strncmp(endpoint, "https://", 8) == 0)
        authority = endpoint + 8;
    else
        authority = NULL;
    len = authority != NULL ? strcspn(authority, "/?#") : 0;
    if (authority == NULL || len == 0 || strspn(authority + len, "/") != strlen(authority + len) ||
        memchr(authority, '@', len) != NULL) {
        snprintf(msg, msg_len, "store %s: store.url '%s' is not http(s)://host[:port]", url,
                 endpoint);
        return PP_ERR_USAGE;
    }
    s3->host = strndup(authority, len);
    s3->base_url = strndup(endpoint, (size_t)(authority - endpoint) + len);
    return s3->host != NULL && s3->base_url != NULL ? PP_OK : PP_ERR_NOMEM;
}

/* Writes and deletes <prefix>_pinpipe/probe-<random>, waiting for both. */
static enum pp_err s3_preflight(struct pp_store *store, char *msg, size_t msg_len)
{
    struct pp_store_s3 *s3 = store->state;
    struct s3_put *sp;
    char key[64];
    enum pp_err err = PP_OK;

    snprintf(key, sizeof key, "_pinpipe/probe-%016llx", (unsigned long long)s3_random(s3));
    sp = s3_put_new(store, key);
    if (sp == NULL)
        return PP_ERR_NOMEM;
    sp->step = S3_PROBE_PUT;
    sp->body = "pinpipe preflight\n";
    sp->body_len = strlen(sp->body);
    s3_step_start(sp);
    while (!sp->is_done) {
        if ((err = pp_httpc_multi_run(s3->multi, 1000)) != PP_OK) {
            snprintf(msg, msg_len, "store %s: preflight: the HTTP client failed (%s)", store->url,
                     pp_err_str(err));
            goto out;
        }
    }
    if (sp->fail_err != PP_OK) {
        err = sp->fail_err == PP_ERR_NOMEM || sp->fail_err == PP_ERR_NOTFOUND ||
                      sp->fail_err == PP_ERR_USAGE
                  ? sp->fail_err
                  : PP_ERR_IO;
        snprintf(msg, msg_len, "store %s: %s", store->url, sp->fail_msg);
    }
out:
    /* An unfinished probe's transfer (the client failed) is never run
     * again: the caller destroys the client next. */
    s3_put_free(sp);
    return err;
}

/* Everything of pp_store_s3_open but the probe and the log line. On error
 * the caller calls s3_destroy. */
static enum pp_err s3_setup(struct pp_store *store, const struct pp_store_options *options,
                            char *msg, size_t msg_len)
{
    struct pp_store_s3 *s3 = calloc(1, sizeof *s3);
    const char *url = store->url;
    int err_no = 0;
    enum pp_err err;

    if (s3 == NULL)
        return PP_ERR_NOMEM;
    store->state = s3;
    store->backend = &pp_store_s3_backend;
    s3->rng = pp_clock_seed() | 1;
    s3->region = strdup(options->region != NULL && options->region[0] != '\0' ? options->region
                                                                              : "us-east-1");
    if (s3->region == NULL) {
        err = PP_ERR_NOMEM;
        goto out;
    }
    if ((err = s3_parse_url(s3, url, msg, msg_len)) != PP_OK)
        goto out;
    if ((err = s3_parse_endpoint(s3, url, options->endpoint, msg, msg_len)) != PP_OK)
        goto out;
    s3->part_size = options->part_size > 0 ? (size_t)options->part_size : S3_DEFAULT_PART_SIZE;
    s3->timeout_ms =
        options->request_timeout_ms > 0 ? (long)options->request_timeout_ms : S3_TIMEOUT_BASE_MS;
    if (s3->part_size < S3_MIN_PART_SIZE) {
        snprintf(msg, msg_len, "store %s: s3.part.size %zu is below S3's minimum of 5 MiB", url,
                 s3->part_size);
        err = PP_ERR_USAGE;
        goto out;
    }
    if ((options->access_key_id != NULL && options->access_key_id[0] != '\0') !=
        (options->secret_access_key != NULL && options->secret_access_key[0] != '\0')) {
        snprintf(msg, msg_len, "store %s: aws.access.key.id and aws.secret.access.key go together",
                 url);
        err = PP_ERR_USAGE;
        goto out;
    }
    if (options->access_key_id != NULL && options->access_key_id[0] != '\0') {
        s3->access_key_id = strdup(options->access_key_id);
        s3->secret_access_key = strdup(options->secret_access_key);
        if (s3->access_key_id == NULL || s3->secret_access_key == NULL) {
            err = PP_ERR_NOMEM;
            goto out;
        }
    } else if ((err = pp_awscred_new(&s3->cred)) != PP_OK) {
        goto out;
    } else {
        struct pp_sigv4_creds creds;
        char cause[512] = "";

        /* Walks the chain now: no credentials is a start-up error. */
        err = pp_awscred_get(s3->cred, (int64_t)time(NULL), &creds, cause, sizeof cause);
        if (err != PP_OK) {
            snprintf(msg, msg_len, "store %s: %s", url, cause);
            goto out;
        }
    }
    if (!options->is_uring_off && pp_uring_new(0, 0, &s3->loop, &err_no) != PP_OK) {
        s3->loop = NULL;
        pp_log_warn("store %s: io_uring unavailable (%s), libcurl polls its sockets itself", url,
                    strerror(err_no));
    }
    if ((err = pp_httpc_multi_new(s3->loop, &s3->multi)) != PP_OK) {
        snprintf(msg, msg_len, "store %s: cannot create the HTTP client: %s", url, pp_err_str(err));
        goto out;
    }
out:
    return err;
}

enum pp_err pp_store_s3_open(struct pp_store *store, const struct pp_store_options *options,
                             char *msg, size_t msg_len)
{
    struct pp_store_s3 *s3;
    enum pp_err err;

    if ((err = s3_setup(store, options, msg, msg_len)) != PP_OK)
        goto out;
    if ((err = s3_preflight(store, msg, msg_len)) != PP_OK)
        goto out;
    s3 = store->state;
    pp_log_info("store %s: S3 at %s (%s), region %s, credentials: %s, multipart from %zu bytes, "
                "%s, %zu objects in flight",
                store->url, s3->base_url, s3->is_path_style ? "path-style" : "virtual-hosted",
                s3->region, s3->cred != NULL ? pp_awscred_describe(s3->cred) : "configuration keys",
                s3->part_size,
                s3->loop != NULL ? "sockets on io_uring" : "sockets polled by libcurl",
                store->max_in_flight);
out:
    if (err != PP_OK)
        s3_destroy(store);
    return err;
}

/* --- downloads (pp_store_download) --- */

/*
 * A download lists the prefix with ListObjectsV2 (one page at a time,
 * following NextContinuationToken) and fetches each key with GetObject as
 * soon as it is listed, max_in_flight at a time, through the same client,
 * signing, retries and backoff as the puts. Each object is written to a
 * file under the directory at its key's path below the prefix.
 */
struct s3_download {
    struct pp_store *store;
    const char *dir;
    char **keys; /* listed, full keys */
    size_t n_keys;
    size_t cap_keys;
    size_t next;         /* the next key to fetch */
    size_t running;      /* GETs started, not ended */
    bool is_listing;     /* a page is being listed */
    struct s3_put *live; /* every request not yet ended */
    uint64_t objects;
    uint64_t bytes;
    enum pp_err err; /* the first failure */
    char msg[1200];
    bool is_flat; /* only the keys directly under the prefix */
};

/* Collects the keys of a ListObjectsV2 page (Contents/Key). */
struct s3_list_xml {
    struct s3_download *dl;
    bool is_in_contents;
    bool is_in_key;
    struct pp_buf key;
    bool is_oom;
};

static void XMLCALL s3_list_start(void *arg, const XML_Char *name, const XML_Char **attrs)
{
    struct s3_list_xml *x = arg;

    (void)attrs;
    if (strcmp(name, "Contents") == 0)
        x->is_in_contents = true;
    else if (x->is_in_contents && strcmp(name, "Key") == 0) {
        x->is_in_key = true;
        x->key.len = 0;
    }
}

static void XMLCALL s3_list_end(void *arg, const XML_Char *name)
{
    struct s3_list_xml *x = arg;
    struct s3_download *dl = x->dl;
    char **keys;

    if (strcmp(name, "Contents") == 0) {
        x->is_in_contents = false;
        return;
    }
    if (!x->is_in_key || strcmp(name, "Key") != 0)
        return;
    x->is_in_key = false;
    keys = pp_array_reserve(dl->keys, &dl->cap_keys, dl->n_keys, sizeof *keys, 64);
    if (keys == NULL ||
        (keys[dl->n_keys] = strndup(x->key.data != NULL ? x->key.data : "", x->key.len)) == NULL) {
        if (keys != NULL)
            dl->keys = keys;
        x->is_oom = true;
        return;
    }
    dl->keys = keys;
    dl->n_keys++;
}

static void XMLCALL s3_list_chars(void *arg, const XML_Char *text, int len)
{
    struct s3_list_xml *x = arg;

    if (x->is_in_key && len > 0 && pp_buf_append(&x->key, text, (size_t)len) != PP_OK)
        x->is_oom = true;
}

/* Adds the keys of one page; *token gets NextContinuationToken ("" on the
 * last page). */
static enum pp_err s3_list_page(struct s3_download *dl, const struct pp_buf *body, char *token,
                                size_t token_cap)
{
    struct s3_list_xml x = {.dl = dl};
    char truncated[16];
    XML_Parser parser;
    bool is_ok;

    pp_buf_init(&x.key);
    if (body->len == 0 || body->len > INT32_MAX || (parser = XML_ParserCreate(NULL)) == NULL)
        return PP_ERR_CORRUPT;
    XML_SetUserData(parser, &x);
    XML_SetElementHandler(parser, s3_list_start, s3_list_end);
    XML_SetCharacterDataHandler(parser, s3_list_chars);
    is_ok = XML_Parse(parser, body->data, (int)body->len, 1) == XML_STATUS_OK;
    XML_ParserFree(parser);
    pp_buf_cleanup(&x.key);
    if (x.is_oom)
        return PP_ERR_NOMEM;
    if (!is_ok)
        return PP_ERR_CORRUPT;
    token[0] = '\0';
    if (s3_xml_text(body->data, body->len, "IsTruncated", truncated, sizeof truncated) &&
        strcmp(truncated, "true") == 0 &&
        (!s3_xml_text(body->data, body->len, "NextContinuationToken", token, token_cap) ||
         token[0] == '\0'))
        return PP_ERR_CORRUPT;
    return PP_OK;
}

/* mkdir -p of path's parent directories (path is dir/relative). */
static int s3_make_parents(char *path, size_t from)
{
    for (char *p = path + from; (p = strchr(p, '/')) != NULL; p++) {
        *p = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST) {
            *p = '/';
            return -1;
        }
        *p = '/';
    }
    return 0;
}

/* Writes a fetched object under dl->dir. msg on failure. */
static enum pp_err s3_download_write(struct s3_download *dl, const char *rel,
                                     const struct pp_buf *body, char *msg, size_t msg_len)
{
    struct pp_buf path;
    size_t off = 0;
    int fd = -1;
    enum pp_err err;

    pp_buf_init(&path);
    err = pp_buf_printf(&path, "%s/%s", dl->dir, rel);
    if (err != PP_OK)
        return err;
    if (s3_make_parents(path.data, strlen(dl->dir) + 1) != 0 ||
        (fd = open(path.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
        goto fail;
    while (off < body->len) {
        ssize_t n = write(fd, body->data + off, body->len - off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            goto fail;
        off += (size_t)n;
    }
    if (close(fd) != 0) {
        fd = -1;
        goto fail;
    }
    pp_buf_cleanup(&path);
    return PP_OK;
fail:
    snprintf(msg, msg_len, "write %s: %s", path.data, strerror(errno));
    if (fd >= 0)
        close(fd);
    pp_buf_cleanup(&path);
    return PP_ERR_IO;
}

static void s3_download_unlink(struct s3_download *dl, struct s3_put *sp)
{
    if (sp->dl_prev != NULL)
        sp->dl_prev->dl_next = sp->dl_next;
    else
        dl->live = sp->dl_next;
    if (sp->dl_next != NULL)
        sp->dl_next->dl_prev = sp->dl_prev;
    sp->dl_prev = NULL;
    sp->dl_next = NULL;
}

static struct s3_put *s3_download_req(struct s3_download *dl, const char *key, enum s3_step step)
{
    struct s3_put *sp = s3_req_new(dl->store, key, false);

    if (sp == NULL)
        return NULL;
    sp->dl = dl;
    sp->step = step;
    sp->dl_next = dl->live;
    if (dl->live != NULL)
        dl->live->dl_prev = sp;
    dl->live = sp;
    return sp;
}

static void s3_download_fail(struct s3_download *dl, enum pp_err err, const char *key,
                             const char *msg)
{
    if (dl->err != PP_OK)
        return;
    dl->err = err;
    snprintf(dl->msg, sizeof dl->msg, "store %s: %s: %s", dl->store->url,
             key[0] != '\0' ? key : "ListObjectsV2", msg);
}

/* A request of the download ended (s3_end). */
static void s3_download_done(struct s3_put *sp, enum pp_err err, const char *msg)
{
    struct s3_download *dl = sp->dl;
    struct pp_store_s3 *s3 = dl->store->state;
    char token[S3_XML_TEXT_MAX];
    char cause[512];

    if (sp->step == S3_LIST)
        dl->is_listing = false;
    else
        dl->running--;
    if (err != PP_OK) {
        s3_download_fail(dl, err, sp->key, msg);
    } else if (sp->step == S3_GET) {
        err = s3_download_write(dl, sp->key + strlen(s3->prefix), &sp->resp.body, cause,
                                sizeof cause);
        if (err != PP_OK) {
            s3_download_fail(dl, err, sp->key, cause);
        } else {
            dl->objects++;
            dl->bytes += sp->resp.body.len;
        }
    } else if ((err = s3_list_page(dl, &sp->resp.body, token, sizeof token)) != PP_OK) {
        s3_download_fail(dl, err, "",
                         err == PP_ERR_NOMEM ? "out of memory"
                                             : "a malformed ListObjectsV2 answer");
    } else if (token[0] != '\0') {
        /* The next page, with the same request state. */
        free(sp->upload_id);
        sp->upload_id = strdup(token);
        if (sp->upload_id == NULL) {
            s3_download_fail(dl, PP_ERR_NOMEM, "", "out of memory");
        } else {
            dl->is_listing = true;
            sp->attempt = 0;
            s3_step_start(sp);
            return;
        }
    }
    s3_download_unlink(dl, sp);
    s3_put_free(sp);
}

/* A listed key worth fetching: under the prefix (directly when is_flat),
 * not the preflight's, not a "directory" marker, no segment that would
 * leave the directory. */
static bool s3_download_wants(const struct pp_store_s3 *s3, const char *key, bool is_flat)
{
    size_t prefix_len = strlen(s3->prefix);

    if (strncmp(key, s3->prefix, prefix_len) != 0)
        return false;
    return strncmp(key + prefix_len, "_pinpipe/", 9) != 0 &&
           pp_store_key_is_valid(key + prefix_len) &&
           !(is_flat && strchr(key + prefix_len, '/') != NULL);
}

enum pp_err pp_store_s3_download(struct pp_store *store, const struct pp_store_options *options,
                                 const char *dir, bool is_flat, uint64_t *n_objects,
                                 uint64_t *n_bytes, char *msg, size_t msg_len)
{
    struct s3_download dl;
    struct pp_store_s3 *s3;
    struct s3_put *sp;
    enum pp_err err;

    memset(&dl, 0, sizeof dl);
    dl.store = store;
    dl.dir = dir;
    dl.is_flat = is_flat;
    if ((err = s3_setup(store, options, msg, msg_len)) != PP_OK)
        goto out;
    s3 = store->state;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        snprintf(msg, msg_len, "store %s: mkdir %s: %s", store->url, dir, strerror(errno));
        err = PP_ERR_IO;
        goto out;
    }
    sp = s3_download_req(&dl, "", S3_LIST);
    if (sp == NULL) {
        err = PP_ERR_NOMEM;
        goto out;
    }
    sp->dl_prefix = s3->prefix;
    dl.is_listing = true;
    s3_step_start(sp);
    while (dl.err == PP_OK && (dl.is_listing || dl.running > 0 || dl.next < dl.n_keys)) {
        while (dl.err == PP_OK && dl.running < store->max_in_flight && dl.next < dl.n_keys) {
            const char *key = dl.keys[dl.next++];

            if (!s3_download_wants(s3, key, dl.is_flat))
                continue;
            if ((sp = s3_download_req(&dl, key, S3_GET)) == NULL) {
                s3_download_fail(&dl, PP_ERR_NOMEM, key, "out of memory");
                break;
            }
            dl.running++;
            s3_step_start(sp);
        }
        if (dl.err == PP_OK && (err = s3_poll(store, 1000)) != PP_OK)
            s3_download_fail(&dl, err, "", "the HTTP client failed");
    }
    err = dl.err;
    if (err != PP_OK)
        snprintf(msg, msg_len, "%s", dl.msg);
    else
        pp_log_info("store %s: %llu objects, %llu bytes downloaded into %s (%llu retries)",
                    store->url, (unsigned long long)dl.objects, (unsigned long long)dl.bytes, dir,
                    (unsigned long long)store->stats.retries);
    *n_objects = dl.objects;
    *n_bytes = dl.bytes;
out:
    /* Requests still running (after a failure) are abandoned with the
     * client, then freed. */
    s3_destroy(store);
    while (dl.live != NULL) {
        sp = dl.live;
        s3_download_unlink(&dl, sp);
        s3_put_free(sp);
    }
    for (size_t i = 0; i < dl.n_keys; i++)
        free(dl.keys[i]);
    free(dl.keys);
    return err;
}
