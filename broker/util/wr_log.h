/* Logging: one line per event on stderr, in RabbitMQ's shape
 * "2026-11-26 19:35:48.123 [info] <0.0.0> message". Thread-safe (one
 * write(2) per line). The level threshold is process-wide. */
#ifndef WR_LOG_H
#define WR_LOG_H

enum wr_log_level { WR_LOG_DEBUG = 0, WR_LOG_INFO, WR_LOG_WARNING, WR_LOG_ERROR, WR_LOG_NONE };

/* Sets the threshold; messages below it are dropped. */
void wr_log_set_level(enum wr_log_level lvl);

/* Parses "debug|info|warning|error|none" (RabbitMQ's log.console.level
 * values; "critical" maps to error). Returns the level, or -1 if unknown. */
int wr_log_parse_level(const char *s);

/* Formats and writes one log line. */
void wr_log(enum wr_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define wr_debug(...) wr_log(WR_LOG_DEBUG, __VA_ARGS__)
#define wr_info(...)  wr_log(WR_LOG_INFO, __VA_ARGS__)
#define wr_warn(...)  wr_log(WR_LOG_WARNING, __VA_ARGS__)
#define wr_error(...) wr_log(WR_LOG_ERROR, __VA_ARGS__)

#endif
