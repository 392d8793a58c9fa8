/*
 * pp_dashboard: the live dashboard of pinpipe run (SPEC 8, GET /), a page
 * that charts the windowed answers of GET /v1/queries and the counters of
 * GET /v1/status and /metrics, refreshing itself every 2 s in the browser.
 *
 * The page (tools/dashboard/) and Chart.js (Debian's libjs-chart.js) are
 * embedded in the binary at build time and served from memory: nothing is
 * read from disk or fetched from the network at run time. They hold no
 * data, so they need no token; the data requests the page makes carry the
 * token itself (docs/dashboard.md).
 */
#ifndef PP_DASHBOARD_H
#define PP_DASHBOARD_H

#include "pp_err.h"
#include "pp_http.h"

/*
 * Registers on http, as public routes (PP_HTTP_PUBLIC):
 *   GET /           the page (Cache-Control: no-cache, ETag)
 *   GET /assets/<f> dashboard.js, dashboard.css, chart.min.js
 *                   (Cache-Control: max-age=3600, ETag; If-None-Match
 *                   answers 304); any other name is 404.
 * The handlers touch only static read-only data, so any number may run at
 * once. Returns what pp_http_route() returns (PP_ERR_INVALID when a route
 * is taken already, PP_ERR_NOMEM). Before pp_http_start(), main thread.
 */
enum pp_err pp_dashboard_route(struct pp_http *http);

#endif
