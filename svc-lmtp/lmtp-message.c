/* Builds the stored form of a delivered message (see lmtp-message.h).
 * The body is copied once per recipient because Delivered-To differs per
 * recipient; the copy is a memory-to-memory pread/write of a memfd. */
#include "lmtp-message.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static void rfc5322_date(int64_t t, char *out, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;
	localtime_r(&tt, &tm);
	/* The C locale gives English day and month names. */
	if (strftime(out, size, "%a, %d %b %Y %H:%M:%S %z", &tm) == 0)
		out[0] = '\0';
}

void lmtp_trace_headers(const struct lmtp_trace_info *info, struct buf *out)
{
	buf_printf(out, "Return-Path: <%s>\r\n", info->mail_from);
	if (info->delivered_to != NULL)
		buf_printf(out, "Delivered-To: %s\r\n", info->delivered_to);
	const char *helo = info->helo != NULL && *info->helo != '\0' ?
			   info->helo : NULL;
	const char *ip = info->client_ip != NULL && *info->client_ip != '\0' ?
			 info->client_ip : NULL;
	buf_append_str(out, "Received: from ");
	if (helo != NULL && ip != NULL)
		buf_printf(out, "%s ([%s])", helo, ip);
	else if (ip != NULL)
		buf_printf(out, "[%s]", ip);
	else
		buf_append_str(out, helo != NULL ? helo : "localhost");
	buf_printf(out, "\r\n\tby %s with LMTP\r\n\tid %s\r\n",
		   info->hostname, info->session);
	buf_printf(out, "\t(envelope-from <%s>)\r\n", info->mail_from);
	char date[64];
	rfc5322_date(info->time, date, sizeof(date));
	if (info->for_rcpt != NULL)
		buf_printf(out, "\tfor <%s>; %s\r\n", info->for_rcpt, date);
	else
		buf_printf(out, "\t; %s\r\n", date);
}

void lmtp_count_vsize(const char *data, size_t size, uint64_t *vsize,
		      int *last_cr)
{
	/* Jumps from LF to LF (memchr) rather than testing every byte: a
	 * bare LF counts one more octet, as it goes out as CRLF. */
	uint64_t v = size;
	const char *p = data, *end = data + size;
	while (p < end) {
		const char *lf = memchr(p, '\n', (size_t)(end - p));
		if (lf == NULL)
			break;
		if (!(lf == data ? *last_cr : lf[-1] == '\r'))
			v++;
		p = lf + 1;
	}
	if (size > 0)
		*last_cr = data[size - 1] == '\r';
	*vsize += v;
}

/* Whether the line at p starts a field called name (case-insensitive). */
static bool field_is(const char *p, const char *end, const char *name)
{
	size_t n = strlen(name);
	if ((size_t)(end - p) <= n || strncasecmp(p, name, n) != 0)
		return false;
	const char *q = p + n;
	while (q < end && (*q == ' ' || *q == '\t'))
		q++;
	return q < end && *q == ':';
}

char *lmtp_find_header(const char *data, size_t size, const char *name)
{
	const char *p = data, *end = data + size;
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *line_end = eol != NULL ? eol : end;
		size_t len = (size_t)(line_end - p);
		if (len > 0 && p[len - 1] == '\r')
			len--;
		if (len == 0)
			return NULL;	/* end of header */
		if (field_is(p, line_end, name)) {
			struct buf v = BUF_INIT;
			const char *q = memchr(p, ':', len) + 1;
			/* the value and its continuation lines, unfolded */
			for (;;) {
				for (; q < line_end; q++) {
					if (*q != '\r' && *q != '\n')
						buf_append_c(&v, *q == '\t' ? ' ' : *q);
				}
				if (eol == NULL || eol + 1 >= end ||
				    (eol[1] != ' ' && eol[1] != '\t'))
					break;
				q = eol + 1;
				eol = memchr(q, '\n', (size_t)(end - q));
				line_end = eol != NULL ? eol : end;
			}
			char *s = v.data != NULL ? v.data : xstrdup("");
			size_t a = 0, b = strlen(s);
			while (a < b && isspace((unsigned char)s[a]))
				a++;
			while (b > a && isspace((unsigned char)s[b - 1]))
				b--;
			if (b - a > LMTP_MSGID_LOG_MAX)
				b = a + LMTP_MSGID_LOG_MAX;
			char *r = xstrndup(s + a, b - a);
			free(s);
			return r;
		}
		if (eol == NULL)
			break;
		p = eol + 1;
	}
	return NULL;
}

static int write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

int lmtp_message_build(const struct buf *headers, int body_fd,
		       uint64_t body_size, struct lmtp_message *msg_r,
		       char **error_r)
{
	memset(msg_r, 0, sizeof(*msg_r));
	msg_r->fd = memfd_create("lmtp-msg", MFD_CLOEXEC);
	if (msg_r->fd < 0) {
		*error_r = xasprintf("memfd_create: %s", strerror(errno));
		return -1;
	}
	int last_cr = 0;
	if (write_all(msg_r->fd, headers->data, headers->len) < 0)
		goto fail;
	lmtp_count_vsize(headers->data, headers->len, &msg_r->virtual_size,
			 &last_cr);
	char *chunk = xmalloc(65536);
	uint64_t off = 0;
	while (off < body_size) {
		size_t want = body_size - off < 65536 ? (size_t)(body_size - off) :
			      65536;
		ssize_t n = pread(body_fd, chunk, want, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(chunk);
			if (n == 0)
				errno = EIO;	/* the body shrank */
			goto fail;
		}
		if (off == 0) {
			msg_r->msgid = lmtp_find_header(chunk, (size_t)n,
							"Message-ID");
			msg_r->from = lmtp_find_header(chunk, (size_t)n, "From");
			msg_r->subject = lmtp_find_header(chunk, (size_t)n,
							  "Subject");
		}
		lmtp_count_vsize(chunk, (size_t)n, &msg_r->virtual_size,
				 &last_cr);
		if (write_all(msg_r->fd, chunk, (size_t)n) < 0) {
			free(chunk);
			goto fail;
		}
		off += (uint64_t)n;
	}
	free(chunk);
	msg_r->physical_size = headers->len + body_size;
	return 0;
fail:
	*error_r = xasprintf("building the message: %s", strerror(errno));
	lmtp_message_free(msg_r);
	return -1;
}

void lmtp_message_free(struct lmtp_message *msg)
{
	if (msg->fd >= 0)
		close(msg->fd);
	free(msg->msgid);
	free(msg->from);
	free(msg->subject);
	memset(msg, 0, sizeof(*msg));
	msg->fd = -1;
}
