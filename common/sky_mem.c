#include "sky_mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void oom(size_t size)
{
	fprintf(stderr, "out of memory (allocating %zu bytes)\n", size);
	abort();
}

void *sky_malloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (!p)
		oom(size);
	return p;
}

void *sky_calloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p)
		oom(n * size);
	return p;
}

void *sky_realloc(void *ptr, size_t size)
{
	void *p = realloc(ptr, size ? size : 1);

	if (!p)
		oom(size);
	return p;
}

char *sky_strdup(const char *s)
{
	return sky_strndup(s, strlen(s));
}

char *sky_strndup(const char *s, size_t n)
{
	char *p = sky_malloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *sky_asprintf(const char *fmt, ...)
{
	struct sky_buf b;
	va_list ap;

	sky_buf_init(&b);
	va_start(ap, fmt);
	sky_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	return sky_buf_detach(&b);
}

void sky_buf_init(struct sky_buf *b)
{
	b->cap = 64;
	b->len = 0;
	b->data = sky_malloc(b->cap);
	b->data[0] = '\0';
}

void sky_buf_release(struct sky_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void sky_buf_reset(struct sky_buf *b)
{
	b->len = 0;
	b->data[0] = '\0';
}

void sky_buf_grow(struct sky_buf *b, size_t extra)
{
	size_t need = b->len + extra + 1;

	if (need <= b->cap)
		return;
	while (b->cap < need)
		b->cap *= 2;
	b->data = sky_realloc(b->data, b->cap);
}

void sky_buf_add(struct sky_buf *b, const void *data, size_t len)
{
	sky_buf_grow(b, len);
	memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void sky_buf_adds(struct sky_buf *b, const char *s)
{
	sky_buf_add(b, s, strlen(s));
}

void sky_buf_addch(struct sky_buf *b, char c)
{
	sky_buf_grow(b, 1);
	b->data[b->len++] = c;
	b->data[b->len] = '\0';
}

void sky_buf_vaddf(struct sky_buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n;

	va_copy(cp, ap);
	n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, cp);
	va_end(cp);
	if (n < 0)
		return;
	if ((size_t)n >= b->cap - b->len) {
		sky_buf_grow(b, (size_t)n);
		vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	}
	b->len += (size_t)n;
}

void sky_buf_addf(struct sky_buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sky_buf_vaddf(b, fmt, ap);
	va_end(ap);
}

char *sky_buf_detach(struct sky_buf *b)
{
	char *p = b->data;

	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}
