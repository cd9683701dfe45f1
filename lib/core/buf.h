/* Length-carrying byte/text buffers with an optional hard cap.
 * Every append checks the cap; the data is always NUL-terminated so text
 * can be passed to C APIs, but the length is what counts. */
#ifndef STRATUS_BUF_H
#define STRATUS_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

struct buf {
	char *data;	/* NUL-terminated, owned by the buffer */
	size_t len;
	size_t cap;	/* allocated bytes, excluding the NUL */
	size_t max;	/* 0 = unbounded (trusted data only) */
};

#define BUF_INIT { NULL, 0, 0, 0 }

void buf_init(struct buf *b, size_t max);
void buf_free(struct buf *b);
void buf_reset(struct buf *b);	/* len = 0, keeps memory */
/* Each append returns 0, or -1 when the result would exceed b->max (the
 * buffer is then unchanged). Allocation failure aborts. Callers that
 * cannot hit the cap (unbounded buffers) may ignore the result. */
int buf_append(struct buf *b, const void *data, size_t len);
int buf_append_str(struct buf *b, const char *s);
int buf_append_c(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* Extends the buffer by len bytes and returns where they start (NULL when
 * over max); the caller fills them. */
void *buf_append_space(struct buf *b, size_t len)
	__attribute__((warn_unused_result));
/* Drops the first n bytes (consumed input). */
void buf_consume(struct buf *b, size_t n);
/* Hands the data to the caller (free() it); the buffer becomes empty. */
char *buf_steal(struct buf *b);

/* Never-NULL allocation wrappers: abort on failure, checked arithmetic. */
void *xmalloc(size_t size) __attribute__((malloc));
void *xcalloc(size_t n, size_t size) __attribute__((malloc));
void *xrealloc(void *p, size_t size);
void *xreallocarray(void *p, size_t n, size_t size);
char *xstrdup(const char *s) __attribute__((malloc));
char *xstrndup(const char *s, size_t n) __attribute__((malloc));
char *xasprintf(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), malloc));

#endif
