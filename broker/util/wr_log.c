#include "broker/util/wr_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static enum wr_log_level log_threshold = WR_LOG_INFO;

void wr_log_set_level(enum wr_log_level lvl)
{
    log_threshold = lvl;
}

int wr_log_parse_level(const char *s)
{
    if (!strcmp(s, "debug")) return WR_LOG_DEBUG;
    if (!strcmp(s, "info")) return WR_LOG_INFO;
    if (!strcmp(s, "warning")) return WR_LOG_WARNING;
    if (!strcmp(s, "error") || !strcmp(s, "critical")) return WR_LOG_ERROR;
    if (!strcmp(s, "none")) return WR_LOG_NONE;
    return -1;
}

void wr_log(enum wr_log_level lvl, const char *fmt, ...)
{
    static const char *names[] = {"debug", "info", "warning", "error"};
    char line[2048];
    struct timeval tv;
    struct tm tm;
    size_t n;
    va_list ap;
    int r;

    if (lvl < log_threshold || lvl >= WR_LOG_NONE) return;
    gettimeofday(&tv, NULL);
    localtime_r(&tv.tv_sec, &tm);
    n = strftime(line, sizeof(line), "%Y-%m-%d %H:%M:%S", &tm);
    r = snprintf(line + n, sizeof(line) - n, ".%03d [%s] <0.0.0> ", (int)(tv.tv_usec / 1000),
                 names[lvl]);
    if (r > 0) n += (size_t)r;
    va_start(ap, fmt);
    r = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
    va_end(ap);
    if (r > 0) n += (size_t)r;
    if (n > sizeof(line) - 2) n = sizeof(line) - 2;
    line[n++] = '\n';
    (void)!write(STDERR_FILENO, line, n);
}
