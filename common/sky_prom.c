/*
 * sky_prom: the Prometheus text format (see sky_prom.h).
 */
#include "sky_prom.h"

void sky_prom_header(struct sky_buf *b, const char *name, const char *type, const char *help)
{
	sky_buf_addf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void sky_prom_sample(struct sky_buf *b, const char *name, double v)
{
	sky_buf_addf(b, "%s %.17g\n", name, v);
}

void sky_prom_label_escape(struct sky_buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			sky_buf_adds(b, "\\\\");
		else if (*s == '"')
			sky_buf_adds(b, "\\\"");
		else if (*s == '\n')
			sky_buf_adds(b, "\\n");
		else
			sky_buf_addch(b, *s);
	}
}
