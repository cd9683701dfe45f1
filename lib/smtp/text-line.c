/* Command lines, replies and session ids for text-conn servers (see
 * text-line.h). */
#include "text-line.h"

#include <string.h>
#include <sys/random.h>

enum text_line_result text_line_next(struct text_line_reader *r,
				     struct buf *in, char **line_r,
				     size_t *len_r)
{
	for (;;) {
		char *lf = in->len == 0 ? NULL : memchr(in->data, '\n', in->len);
		if (lf == NULL) {
			if (in->len < in->max || in->max == 0)
				return TEXT_LINE_NONE;
			buf_reset(in);
			if (r->discarding)
				return TEXT_LINE_NONE;
			r->discarding = true;
			return TEXT_LINE_TOO_LONG;
		}
		size_t line_len = (size_t)(lf - in->data);
		if (r->discarding) {
			r->discarding = false;
			buf_consume(in, line_len + 1);
			continue;
		}
		size_t len = line_len;
		if (len > 0 && in->data[len - 1] == '\r')
			len--;
		in->data[len] = '\0';
		r->used = line_len + 1;
		*line_r = in->data;
		*len_r = len;
		return TEXT_LINE_OK;
	}
}

void text_line_consume(struct text_line_reader *r, struct buf *in)
{
	buf_consume(in, r->used);
	r->used = 0;
}

void text_conn_vreply(struct text_conn *conn, const char *fmt, va_list ap)
{
	if (conn == NULL)
		return;
	struct buf *out = text_conn_out(conn);
	buf_vprintf(out, fmt, ap);
	buf_append(out, "\r\n", 2);
	text_conn_flush(conn);
}

void text_session_id(char *out, size_t size)
{
	static const char chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklm"
				    "nopqrstuvwxyz0123456789+/";
	unsigned char rnd[16];
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		memset(rnd, 0, sizeof(rnd));
	size_t n = size - 1 < sizeof(rnd) ? size - 1 : sizeof(rnd);
	for (size_t i = 0; i < n; i++)
		out[i] = chars[rnd[i] % 64];
	out[n] = '\0';
}
