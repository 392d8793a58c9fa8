/*
 * pp_dashboard: serves the embedded dashboard files (see pp_dashboard.h and
 * docs/dashboard.md).
 */
#include "pp_dashboard.h"

#include <string.h>

#include "dashboard/pp_dashboard_files.h"

/* The page may load only its own assets and talk only to its own origin:
 * no inline script, nothing from elsewhere, no framing. */
#define DASHBOARD_CSP                                                                              \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "              \
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

static const struct pp_dashboard_file *dashboard_find(struct pp_str name)
{
    size_t i;

    for (i = 0; i < pp_dashboard_file_count; i++)
        if (pp_str_eq_cstr(name, pp_dashboard_files[i].name))
            return &pp_dashboard_files[i];
    return NULL;
}

/* If-None-Match holds the ETag (in a list, weak or not) or "*". The ETag is
 * quoted, so finding it as a substring cannot match part of another tag. */
static bool dashboard_is_fresh(const struct pp_http_request *req, const char *etag)
{
    const char *inm = pp_http_header(req, "if-none-match");

    return inm != NULL && (strcmp(inm, "*") == 0 || strstr(inm, etag) != NULL);
}

/* Answers with file: 304 without a body when the client's copy is current,
 * else 200 with the bytes (copied: the response owns its body). */
static enum pp_err dashboard_send(const struct pp_dashboard_file *file,
                                  const struct pp_http_request *req, struct pp_http_response *resp,
                                  const char *cache_control)
{
    enum pp_err err;

    resp->content_type = file->content_type;
    if ((err = pp_http_response_header(resp, "ETag", file->etag)) ||
        (err = pp_http_response_header(resp, "Cache-Control", cache_control)) ||
        (err = pp_http_response_header(resp, "X-Content-Type-Options", "nosniff")))
        return err;
    if (dashboard_is_fresh(req, file->etag)) {
        resp->status = 304;
        return PP_OK;
    }
    return pp_buf_append(&resp->body, file->data, file->len);
}

static enum pp_err dashboard_get_page(void *arg, const struct pp_http_request *req,
                                      struct pp_http_response *resp)
{
    const struct pp_dashboard_file *file = dashboard_find(PP_STR_LIT("index.html"));
    enum pp_err err;

    (void)arg;
    if (file == NULL) /* the build embeds it: a missing page is a build bug */
        return PP_ERR_INTERNAL;
    /* no-cache: the browser revalidates the page (a cheap 304) on every
     * load, so a new binary's page is seen at once. */
    if ((err = pp_http_response_header(resp, "Content-Security-Policy", DASHBOARD_CSP)) ||
        (err = pp_http_response_header(resp, "Referrer-Policy", "no-referrer")))
        return err;
    return dashboard_send(file, req, resp, "no-cache");
}

static enum pp_err dashboard_get_asset(void *arg, const struct pp_http_request *req,
                                       struct pp_http_response *resp)
{
    const struct pp_dashboard_file *file = dashboard_find(req->tail);

    (void)arg;
    /* The page is served at / only, so that relative URLs resolve one way. */
    if (file == NULL || pp_str_eq_cstr(req->tail, "index.html"))
        return pp_http_response_error(resp, 404, 40401, "no dashboard asset '%.*s'",
                                      (int)(req->tail.len > 200 ? 200 : req->tail.len),
                                      req->tail.ptr);
    /* An hour, then a revalidation that costs a 304: the asset URLs carry
     * no version, so "immutable" would pin an old copy after an upgrade. */
    return dashboard_send(file, req, resp, "public, max-age=3600");
}

enum pp_err pp_dashboard_route(struct pp_http *http)
{
    enum pp_err err;

    if ((err = pp_http_route(http, "GET", "/", dashboard_get_page, NULL, PP_HTTP_PUBLIC)))
        return err;
    return pp_http_route(http, "GET", "/assets/*", dashboard_get_asset, NULL, PP_HTTP_PUBLIC);
}
