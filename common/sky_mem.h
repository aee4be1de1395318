/*
 * sky_mem: allocation that never returns NULL (out-of-memory aborts the process) and a
 * growable byte buffer.
 */
#ifndef SKY_MEM_H
#define SKY_MEM_H

#include <stdarg.h>
#include <stddef.h>

void *sky_malloc(size_t size);
void *sky_calloc(size_t n, size_t size);
void *sky_realloc(void *ptr, size_t size);
char *sky_strdup(const char *s);
char *sky_strndup(const char *s, size_t n);
/* printf into a new string; caller frees with free(). */
char *sky_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * struct sky_buf: a growable buffer, always NUL-terminated after sky_buf_init.
 * Release with sky_buf_release (frees the memory; the struct may be re-initialised).
 */
struct sky_buf {
	char *data;
	size_t len;
	size_t cap;
};

void sky_buf_init(struct sky_buf *b);
void sky_buf_release(struct sky_buf *b);
void sky_buf_reset(struct sky_buf *b); /* len = 0, keeps memory */
void sky_buf_grow(struct sky_buf *b, size_t extra);
void sky_buf_add(struct sky_buf *b, const void *data, size_t len);
void sky_buf_adds(struct sky_buf *b, const char *s);
void sky_buf_addch(struct sky_buf *b, char c);
void sky_buf_addf(struct sky_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sky_buf_vaddf(struct sky_buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Give the data to the caller (free with free()); b is left empty and must be
 * initialised again before reuse. */
char *sky_buf_detach(struct sky_buf *b);

#endif
