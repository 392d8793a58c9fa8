/*
 * pp_dashboard_files: the dashboard's files embedded in the binary, private
 * to pp_dashboard. The table is generated at build time by
 * tools/dashboard/embed.py (pp_dashboard_files.c in the build directory)
 * from tools/dashboard/ and Debian's libjs-chart.js; see docs/dashboard.md.
 */
#ifndef PP_DASHBOARD_FILES_H
#define PP_DASHBOARD_FILES_H

#include <stddef.h>

struct pp_dashboard_file {
    const char *name;         /* "index.html", "chart.min.js", ... */
    const char *content_type; /* from the extension, with charset */
    const unsigned char *data;
    size_t len;
    const char *etag; /* a quoted hash of the bytes: "\"0123abcd...\"" */
};

/* Read-only, static storage: safe to read from any thread. */
extern const struct pp_dashboard_file pp_dashboard_files[];
extern const size_t pp_dashboard_file_count;

#endif
