#include "pp_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

static enum pp_log_level log_level = PP_LOG_INFO;
/* -1: not known yet; then whether stderr is a terminal. */
static int log_is_tty = -1;

void pp_log_set_level(enum pp_log_level level)
{
    log_level = level;
}

void pp_log(enum pp_log_level level, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    int n;
    int off;

    if (level > log_level)
        return;
    if (log_is_tty < 0)
        log_is_tty = isatty(STDERR_FILENO);
    /* On a terminal a command may keep a status line (no newline) at the
     * bottom: start by clearing it, so the message gets a line of its own;
     * the status line is drawn again at its next update. */
    off = snprintf(line, sizeof line, "%spinpipe: %s", log_is_tty ? "\r\033[K" : "",
                   level == PP_LOG_ERROR  ? ""
                   : level == PP_LOG_WARN ? "warning: "
                                          : "");
    va_start(ap, fmt);
    n = vsnprintf(line + off, sizeof line - (size_t)off - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    n += off;
    if ((size_t)n > sizeof line - 2)
        n = (int)sizeof line - 2;
    line[n++] = '\n';
    /* One write(2) per line, so lines from different threads never mix. */
    if (write(STDERR_FILENO, line, (size_t)n) < 0)
        return;
}
