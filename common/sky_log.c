#include "sky_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static enum sky_log_level log_level = SKY_LOG_INFO;
static const char *log_program = "sky";

void sky_log_set_level(enum sky_log_level level)
{
	log_level = level;
}

enum sky_log_level sky_log_get_level(void)
{
	return log_level;
}

void sky_log_set_program(const char *name)
{
	log_program = name;
}

void sky_log(enum sky_log_level level, const char *fmt, ...)
{
	static const char *names[] = {"debug", "info", "warning", "error"};
	char stamp[32];
	struct timeval tv;
	struct tm tm;
	va_list ap;

	if (level < log_level)
		return;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
	fprintf(stderr, "%s.%03d %s[%d] %s: ", stamp, (int)(tv.tv_usec / 1000), log_program,
	        (int)getpid(), names[level]);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
