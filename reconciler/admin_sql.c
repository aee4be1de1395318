/*
 * admin_sql: what skyreconcile knows about the pgq_set install script it carries (see
 * admin_sql.h). Part of the plan engine: no I/O.
 */
#include "admin_sql.h"

#include <string.h>

#include "sky_mem.h"

char *admin_sql_digest(const char *script)
{
	unsigned long long h = 14695981039346656037ULL;

	for (const unsigned char *p = (const unsigned char *)script; *p; p++) {
		h ^= *p;
		h *= 1099511628211ULL;
	}
	return sky_asprintf("%016llx", h);
}

int admin_sql_version(char **out, const char *script, struct sky_error *err)
{
	static const char marker[] = "-- file: schema/";
	const char *p = script;
	long best = -1;

	while ((p = strstr(p, marker)) != NULL) {
		const char *d = p + sizeof(marker) - 1;
		long v = 0;
		int digits = 0;

		/* the marker must start a line */
		if (p != script && p[-1] != '\n') {
			p = d;
			continue;
		}
		while (*d >= '0' && *d <= '9' && digits < 9) {
			v = v * 10 + (*d - '0');
			d++;
			digits++;
		}
		if (digits > 0 && *d == '_' && v > best)
			best = v;
		p = d;
	}
	if (best < 0)
		return sky_error_set(err,
		                     "the embedded install script has no numbered schema step");
	*out = sky_asprintf("%ld", best);
	return 0;
}
