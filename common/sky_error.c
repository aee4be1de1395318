#include "sky_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void sky_error_clear(struct sky_error *err)
{
	if (!err)
		return;
	err->message[0] = '\0';
	err->sqlstate[0] = '\0';
	err->retryable = false;
}

int sky_error_set(struct sky_error *err, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	err->sqlstate[0] = '\0';
	err->retryable = false;
	return -1;
}

int sky_error_prefix(struct sky_error *err, const char *fmt, ...)
{
	char old[SKY_ERROR_MSG_LEN];
	va_list ap;
	int n;

	if (!err)
		return -1;
	memcpy(old, err->message, sizeof(old));
	va_start(ap, fmt);
	n = vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(err->message) - 2)
		return -1;
	/* append ": old" after the prefix, truncated to what is left */
	err->message[n] = ':';
	err->message[n + 1] = ' ';
	memcpy(err->message + n + 2, old, sizeof(err->message) - (size_t)n - 2);
	err->message[sizeof(err->message) - 1] = '\0';
	return -1;
}

bool sky_sqlstate_is_retryable(const char *sqlstate)
{
	if (!sqlstate || !sqlstate[0])
		return false;
	/* class 08: connection exception; 40001 serialization; 40P01 deadlock;
	 * 57P01..57P03: admin shutdown, crash shutdown, cannot connect now; 53: resources */
	return strncmp(sqlstate, "08", 2) == 0 || strcmp(sqlstate, "40001") == 0 ||
	       strcmp(sqlstate, "40P01") == 0 || strncmp(sqlstate, "57P0", 4) == 0 ||
	       strncmp(sqlstate, "53", 2) == 0 || strcmp(sqlstate, "55P03") == 0;
}
