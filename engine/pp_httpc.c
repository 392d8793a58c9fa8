/*
 * pp_httpc: see pp_httpc.h.
 *
 * One CURL easy handle per client: libcurl keeps its connection cache in
 * the handle, so consecutive requests to one host reuse the connection.
 * Options are reset before every request (curl_easy_reset keeps the
 * connection cache), so nothing of a previous request leaks into the next.
 * libcurl's error codes are translated here into enum pp_err.
 */
#include "pp_httpc.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HTTPC_DEFAULT_TIMEOUT_MS 30000L
#define HTTPC_CONNECT_TIMEOUT_MS 10000L

struct pp_httpc {
    CURL *curl;
    char errbuf[CURL_ERROR_SIZE];
};

static pthread_once_t httpc_once = PTHREAD_ONCE_INIT;
static CURLcode httpc_global_rc = CURLE_FAILED_INIT;

/* curl_global_init is not thread-safe in every libcurl build: once. */
static void httpc_global_init(void)
{
    httpc_global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static enum pp_err httpc_err(CURLcode rc)
{
    switch ((int)rc) {
    case CURLE_OK: return PP_OK;
    case CURLE_OUT_OF_MEMORY: return PP_ERR_NOMEM;
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT: return PP_ERR_USAGE;
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR: return PP_ERR_IO;
    default: return PP_ERR_INTERNAL;
    }
}

enum pp_err pp_httpc_new(struct pp_httpc **out)
{
    struct pp_httpc *client;

    *out = NULL;
    pthread_once(&httpc_once, httpc_global_init);
    if (httpc_global_rc != CURLE_OK)
        return PP_ERR_INTERNAL;
    client = calloc(1, sizeof *client);
    if (client == NULL)
        return PP_ERR_NOMEM;
    client->curl = curl_easy_init();
    if (client->curl == NULL) {
        free(client);
        return PP_ERR_INTERNAL;
    }
    *out = client;
    return PP_OK;
}

void pp_httpc_destroy(struct pp_httpc *client)
{
    if (client == NULL)
        return;
    curl_easy_cleanup(client->curl);
    free(client);
}

/* libcurl's write callbacks: append to a pp_buf; a short count makes
 * libcurl fail the transfer with CURLE_WRITE_ERROR (out of memory). */
static size_t httpc_on_data(char *ptr, size_t size, size_t n, void *arg)
{
    struct pp_buf *buf = arg;

    return pp_buf_append(buf, ptr, size * n) == PP_OK ? size * n : 0;
}

/* The URL without its query string, for messages (a query may carry
 * credentials, e.g. a presigned URL's signature). */
static int httpc_url_len(const char *url)
{
    size_t n = strcspn(url, "?#");

    return n > 200 ? 200 : (int)n;
}

enum pp_err pp_httpc_send(struct pp_httpc *client, const struct pp_httpc_request *req,
                          struct pp_httpc_response *resp, char *msg, size_t msg_len)
{
    CURL *curl = client->curl;
    struct curl_slist *headers = NULL;
    const char *method = req->method != NULL ? req->method : "GET";
    long status = 0;
    CURLcode rc;
    enum pp_err err = PP_OK;
    bool is_oom = false;

    resp->status = 0;
    if (msg != NULL && msg_len > 0)
        msg[0] = '\0';
    curl_easy_reset(curl);
    client->errbuf[0] = '\0';
    for (size_t i = 0; req->headers != NULL && req->headers[i] != NULL; i++) {
        struct curl_slist *next = curl_slist_append(headers, req->headers[i]);

        if (next == NULL) {
            err = PP_ERR_NOMEM;
            goto out;
        }
        headers = next;
    }
    /* No "Expect: 100-continue" round trip before a body. */
    if (req->body_len > 0) {
        struct curl_slist *next = curl_slist_append(headers, "Expect:");

        if (next == NULL) {
            err = PP_ERR_NOMEM;
            goto out;
        }
        headers = next;
    }
    rc = CURLE_OK;
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(curl, CURLOPT_URL, req->url);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, client->errbuf);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
                              req->timeout_ms > 0 ? req->timeout_ms : HTTPC_DEFAULT_TIMEOUT_MS);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, HTTPC_CONNECT_TIMEOUT_MS);
    if (rc == CURLE_OK && req->is_direct)
        rc = curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, httpc_on_data);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(curl, CURLOPT_WRITEDATA, &resp->body);
    if (rc == CURLE_OK && resp->headers != NULL)
        rc = curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, httpc_on_data);
    if (rc == CURLE_OK && resp->headers != NULL)
        rc = curl_easy_setopt(curl, CURLOPT_HEADERDATA, resp->headers);
    if (rc == CURLE_OK && strcmp(method, "GET") != 0)
        rc = curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    if (rc == CURLE_OK && strcmp(method, "HEAD") == 0)
        rc = curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    if (rc == CURLE_OK &&
        (req->body != NULL || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0)) {
        /* POSTFIELDS sends the bytes as they are, with Content-Length. */
        rc = curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        if (rc == CURLE_OK)
            rc = curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req->body != NULL ? req->body : "");
    }
    if (rc != CURLE_OK) {
        err = httpc_err(rc);
        if (err == PP_OK)
            err = PP_ERR_INTERNAL;
        if (msg != NULL)
            snprintf(msg, msg_len, "%.*s: %s", httpc_url_len(req->url), req->url,
                     curl_easy_strerror(rc));
        goto out;
    }
    rc = curl_easy_perform(curl);
    is_oom = rc == CURLE_WRITE_ERROR;
    if (rc == CURLE_OK || rc == CURLE_WRITE_ERROR)
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    resp->status = status > 0 && status < 1000 ? (unsigned)status : 0;
    if (rc != CURLE_OK) {
        err = is_oom ? PP_ERR_NOMEM : httpc_err(rc);
        if (msg != NULL)
            snprintf(msg, msg_len, "%s %.*s: %s", method, httpc_url_len(req->url), req->url,
                     client->errbuf[0] != '\0' ? client->errbuf : curl_easy_strerror(rc));
    }
out:
    /* The handle keeps pointers to the list and errbuf: drop them. */
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(headers);
    return err;
}
