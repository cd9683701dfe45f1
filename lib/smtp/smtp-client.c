/* SMTP to submission_host (RFC 5321): connect (each resolved address in
 * turn), EHLO (HELO when EHLO is refused), MAIL FROM, one RCPT TO per
 * recipient, DATA with the body dot-stuffed and sent with CRLF line ends,
 * QUIT. Every step has the submitter's timeout. Any refused recipient
 * fails the whole submission: the caller keeps the message instead, so a
 * partial send is never reported as done. */
#include "smtp-private.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const smtp_step_names[] = {
	[SMTP_STATE_CONNECT] = "connect",
	[SMTP_STATE_GREETING] = "greeting",
	[SMTP_STATE_EHLO] = "EHLO",
	[SMTP_STATE_HELO] = "HELO",
	[SMTP_STATE_MAIL] = "MAIL FROM",
	[SMTP_STATE_RCPT] = "RCPT TO",
	[SMTP_STATE_DATA] = "DATA",
	[SMTP_STATE_BODY] = "end of DATA",
};

static void smtp_client_fail(struct smtp_submit *s, enum smtp_status status,
			     const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void smtp_client_fail(struct smtp_submit *s, enum smtp_status status,
			     const char *fmt, ...)
{
	va_list ap;
	struct buf msg = BUF_INIT;
	buf_printf(&msg, "%s: ", s->sub->description);
	va_start(ap, fmt);
	buf_vprintf(&msg, fmt, ap);
	va_end(ap);
	smtp_submit_finish(s, status, msg.data);
	buf_free(&msg);
}

static void smtp_client_timeout(struct loop_timer *t, void *ctx)
{
	struct smtp_submit *s = ctx;
	(void)t;
	smtp_client_fail(s, SMTP_STATUS_TEMPFAIL, "timed out waiting for %s",
			 smtp_step_names[s->state]);
}

/* Every step (and all progress while writing the body) restarts it. */
static void smtp_client_progress(struct smtp_submit *s)
{
	if (s->timer == NULL)
		s->timer = loop_timer_add(s->sub->loop, s->sub->timeout_msecs,
					  false, smtp_client_timeout, s);
	else
		loop_timer_reset(s->timer);
}

static void smtp_client_send(struct smtp_submit *s, enum smtp_state next,
			     const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void smtp_client_send(struct smtp_submit *s, enum smtp_state next,
			     const char *fmt, ...)
{
	va_list ap;
	struct buf *out = text_conn_out(s->conn);
	va_start(ap, fmt);
	buf_vprintf(out, fmt, ap);
	va_end(ap);
	buf_append(out, "\r\n", 2);
	s->state = next;
	smtp_reply_reset(&s->reply);
	text_conn_flush(s->conn);
}

/* Appends body lines until the output is above its high mark. Lines end
 * with CRLF whatever the input used; a leading dot is doubled. */
static void smtp_client_write_body(struct smtp_submit *s)
{
	struct buf *out = text_conn_out(s->conn);
	while (!s->body_done && out->len < TEXT_CONN_OUT_HIGH) {
		if (s->msg_off >= s->len) {
			buf_append(out, ".\r\n", 3);
			s->body_done = true;
			break;
		}
		const char *line = s->msg + s->msg_off;
		size_t rest = s->len - s->msg_off;
		const char *nl = memchr(line, '\n', rest);
		size_t n = nl != NULL ? (size_t)(nl - line) : rest;
		s->msg_off += nl != NULL ? n + 1 : n;
		if (n > 0 && line[n - 1] == '\r')
			n--;
		if (n > 0 && line[0] == '.')
			buf_append(out, ".", 1);
		buf_append(out, line, n);
		buf_append(out, "\r\n", 2);
	}
	text_conn_flush(s->conn);
}

static void smtp_client_mail(struct smtp_submit *s)
{
	smtp_client_send(s, SMTP_STATE_MAIL, "MAIL FROM:<%s>%s", s->mail_from,
			 s->msg_8bit && s->reply.ehlo_8bitmime ?
			 " BODY=8BITMIME" : "");
}

static void smtp_client_success(struct smtp_submit *s)
{
	/* QUIT is a courtesy: the message is accepted already, so neither
	 * its reply nor a failure to write it matters. */
	int fd = text_conn_fd(s->conn);
	if (fd >= 0 && send(fd, "QUIT\r\n", 6, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		errno = 0;
	smtp_submit_finish(s, SMTP_STATUS_OK, NULL);
}

static void smtp_client_reply(struct smtp_submit *s)
{
	unsigned int code = s->reply.code;
	bool ok = code >= 200 && code < 300;
	switch (s->state) {
	case SMTP_STATE_GREETING:
		if (ok) {
			smtp_client_send(s, SMTP_STATE_EHLO, "EHLO %s",
					 s->sub->helo_name);
			return;
		}
		break;
	case SMTP_STATE_EHLO:
		if (ok) {
			smtp_client_mail(s);
			return;
		}
		if (code >= 500 && code != 554) {
			smtp_client_send(s, SMTP_STATE_HELO, "HELO %s",
					 s->sub->helo_name);
			return;
		}
		break;
	case SMTP_STATE_HELO:
		if (ok) {
			smtp_client_mail(s);
			return;
		}
		break;
	case SMTP_STATE_MAIL:
	case SMTP_STATE_RCPT:
		if (!ok)
			break;
		if (s->state == SMTP_STATE_RCPT)
			s->rcpt_idx++;
		if (s->rcpt_idx < s->n_rcpts)
			smtp_client_send(s, SMTP_STATE_RCPT, "RCPT TO:<%s>",
					 s->rcpts[s->rcpt_idx]);
		else
			smtp_client_send(s, SMTP_STATE_DATA, "DATA");
		return;
	case SMTP_STATE_DATA:
		if (code == 354) {
			s->state = SMTP_STATE_BODY;
			smtp_reply_reset(&s->reply);
			smtp_client_write_body(s);
			return;
		}
		break;
	case SMTP_STATE_BODY:
		if (ok) {
			smtp_client_success(s);
			return;
		}
		break;
	case SMTP_STATE_CONNECT:
		break;
	}
	char *text = smtp_reply_describe(&s->reply);
	if (s->state == SMTP_STATE_RCPT)
		smtp_client_fail(s, code >= 500 ? SMTP_STATUS_PERMFAIL :
				 SMTP_STATUS_TEMPFAIL, "RCPT TO:<%s> refused: %s",
				 s->rcpts[s->rcpt_idx], text);
	else
		smtp_client_fail(s, code >= 500 ? SMTP_STATUS_PERMFAIL :
				 SMTP_STATUS_TEMPFAIL, "%s refused: %s",
				 smtp_step_names[s->state], text);
	free(text);
}

static void smtp_client_input(void *ctx, struct buf *in)
{
	struct smtp_submit *s = ctx;
	smtp_client_progress(s);
	while (in->len > 0) {
		char *nl = memchr(in->data, '\n', in->len);
		if (nl == NULL) {
			if (in->len >= SMTP_IN_MAX)
				smtp_client_fail(s, SMTP_STATUS_TEMPFAIL,
						 "reply line too long during %s",
						 smtp_step_names[s->state]);
			return;
		}
		size_t n = (size_t)(nl - in->data);
		size_t len = n > 0 && in->data[n - 1] == '\r' ? n - 1 : n;
		int ret = s->state == SMTP_STATE_BODY && !s->body_done ? -2 :
			smtp_reply_line(&s->reply, in->data, len);
		buf_consume(in, n + 1);
		if (ret < 0) {
			smtp_client_fail(s, SMTP_STATUS_TEMPFAIL, "%s during %s",
					 ret == -2 ? "reply before the end of "
					 "the body" : "invalid reply line",
					 smtp_step_names[s->state]);
			return;
		}
		if (ret == 1) {
			/* the reply's handler may finish (and free) s */
			smtp_client_reply(s);
			return;
		}
	}
}

static void smtp_client_drained(void *ctx)
{
	struct smtp_submit *s = ctx;
	if (s->state == SMTP_STATE_BODY && !s->body_done) {
		smtp_client_progress(s);
		smtp_client_write_body(s);
	}
}

static void smtp_client_closed(void *ctx, const char *reason)
{
	struct smtp_submit *s = ctx;
	smtp_client_fail(s, SMTP_STATUS_TEMPFAIL, "connection %s during %s",
			 reason, smtp_step_names[s->state]);
}

static const struct text_conn_ops smtp_client_conn_ops = {
	.input = smtp_client_input,
	.output_drained = smtp_client_drained,
	.closed = smtp_client_closed,
};

static void smtp_client_connect_next(struct smtp_submit *s);

static void smtp_client_connected(struct loop_io *io, uint32_t events,
				  void *ctx)
{
	struct smtp_submit *s = ctx;
	int err = 0;
	socklen_t len = sizeof(err);
	(void)io;
	(void)events;
	loop_io_remove(&s->connect_io);
	if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err != 0) {
		free(s->connect_error);
		s->connect_error = xstrdup(strerror(err));
		close(s->fd);
		s->fd = -1;
		s->addr_idx++;
		smtp_client_connect_next(s);
		return;
	}
	int fd = s->fd;
	s->fd = -1;
	s->state = SMTP_STATE_GREETING;
	smtp_client_progress(s);
	s->conn = text_conn_new(s->sub->loop, fd, SMTP_IN_MAX, 0,
				&smtp_client_conn_ops, s);
}

static void smtp_client_connect_next(struct smtp_submit *s)
{
	struct smtp_submitter *sub = s->sub;
	while (s->addr_idx < sub->n_addrs) {
		const struct sockaddr *sa =
			(const struct sockaddr *)&sub->addrs[s->addr_idx];
		int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK |
				SOCK_CLOEXEC, 0);
		if (fd >= 0 && (connect(fd, sa, sub->addr_lens[s->addr_idx]) == 0 ||
				errno == EINPROGRESS)) {
			s->fd = fd;
			s->connect_io = loop_io_add(sub->loop, fd, EPOLLOUT,
						    smtp_client_connected, s);
			return;
		}
		free(s->connect_error);
		s->connect_error = xstrdup(strerror(errno));
		if (fd >= 0)
			close(fd);
		s->addr_idx++;
	}
	smtp_client_fail(s, SMTP_STATUS_TEMPFAIL, "connect failed: %s",
			 s->connect_error != NULL ? s->connect_error :
			 "no address");
}

void smtp_client_start(struct smtp_submit *s)
{
	s->state = SMTP_STATE_CONNECT;
	smtp_client_progress(s);
	smtp_client_connect_next(s);
}

void smtp_client_cleanup(struct smtp_submit *s)
{
	loop_io_remove(&s->connect_io);
	if (s->fd >= 0) {
		close(s->fd);
		s->fd = -1;
	}
	text_conn_free(&s->conn);
}
