/*
 * sky_log: diagnostics to stderr, one line each, with a level and the context the caller gives.
 * Results (plans, status, JSON) never go through here: they go to stdout.
 */
#ifndef SKY_LOG_H
#define SKY_LOG_H

enum sky_log_level { SKY_LOG_DEBUG = 0, SKY_LOG_INFO, SKY_LOG_WARNING, SKY_LOG_ERROR };

/* Process-wide threshold; messages below it are dropped. Default: SKY_LOG_INFO. */
void sky_log_set_level(enum sky_log_level level);
enum sky_log_level sky_log_get_level(void);

/* Program name shown at the start of every line ("skyworker", "skyreconcile"). Borrowed. */
void sky_log_set_program(const char *name);

void sky_log(enum sky_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define sky_debug(...) sky_log(SKY_LOG_DEBUG, __VA_ARGS__)
#define sky_info(...) sky_log(SKY_LOG_INFO, __VA_ARGS__)
#define sky_warning(...) sky_log(SKY_LOG_WARNING, __VA_ARGS__)
#define sky_errorlog(...) sky_log(SKY_LOG_ERROR, __VA_ARGS__)

#endif
