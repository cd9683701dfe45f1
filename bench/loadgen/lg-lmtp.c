/* lmtp mode: deliveries per second over N connections, R recipients per
 * message, with the multi-recipient LMTP exchange written out here
 * (after DATA, LMTP answers once per accepted recipient, RFC 2033 4.2,
 * which is exactly what smtplib gets wrong).
 *
 * Two variants:
 *  - benchmark (default): generated messages of msg_size bytes to R
 *    users picked at random, until the window closes or max_messages;
 *  - preload (--files DIR): every file of DIR is delivered to every
 *    user, R users per transaction, then the run ends. Both servers get
 *    the same mailboxes this way. With N connections each connection
 *    owns whole batches of users and delivers the files to them in
 *    order: every mailbox gets the same messages in the same order
 *    (UIDs match across servers), and no two connections race to
 *    create a new user's INBOX.
 * A reply other than 250 to MAIL/RCPT, 354 to DATA or 2xx per recipient
 * after the data is an error; the session then reconnects. Commands are
 * pipelined when the server announces PIPELINING, as MTAs do. */
#include "lg.h"
#include "smtp-reply.h"

#include <stdlib.h>
#include <string.h>

#define LMTP_MAX_REPLY (64u * 1024)
#define LMTP_RETRY_MS 100

enum lmtp_state { LM_GREETING, LM_LHLO, LM_TRANSACTION, LM_DATA, LM_QUIT };

struct lmtp_bench;

struct lmtp_sess {
	struct lmtp_bench *b;
	struct lg_conn conn;
	bool open, started, pipelining;
	enum lmtp_state state;
	uint64_t rng, cmd_start;
	struct buf cmds;	/* MAIL, RCPT..., DATA lines of this message */
	size_t cmd_lines, lines_sent, replies;
	unsigned int nrcpt;
	unsigned int index;	/* of this connection, 0..n_sess-1 */
	uint64_t next_job, n_jobs;	/* preload: jobs of this connection */
	struct buf msg;
	struct loop_timer *retry_timer;
};

struct lmtp_bench {
	struct lg *lg;
	struct lmtp_sess *sess;
	unsigned int n_sess;
	uint64_t batches;	/* preload: groups of up to R users */
	uint64_t next_job, n_jobs;	/* preload --any-order: shared queue */
	uint64_t messages_started;
	struct lg_stat delivery, rcpt, connect;
};

static void lmtp_start(struct lmtp_sess *s);

static void retry_cb(struct loop_timer *t, void *ctx)
{
	struct lmtp_sess *s = ctx;
	(void)t;
	s->retry_timer = NULL;
	if (lg_in_window(s->b->lg))
		lmtp_start(s);
	else
		lg_session_done(s->b->lg);
}

static void lmtp_finish(struct lmtp_sess *s, bool failed)
{
	if (s->open)
		lg_conn_close(&s->conn);
	s->open = false;
	if (!failed || !lg_in_window(s->b->lg) || s->b->lg->aborted) {
		lg_session_done(s->b->lg);
		return;
	}
	s->retry_timer = loop_timer_add(s->b->lg->loop, LMTP_RETRY_MS, false,
					retry_cb, s);
}

static void lmtp_fail(struct lmtp_sess *s, struct lg_stat *st,
		      const char *why, const char *reply, size_t len)
{
	while (len > 0 && (reply[len - 1] == '\n' || reply[len - 1] == '\r'))
		len--;
	lg_error(s->b->lg, st, "lmtp: %s: %.*s", why,
		 (int)(len > 200 ? 200 : len), reply != NULL ? reply : "");
	lmtp_finish(s, true);
}

static void conn_fail_cb(struct lg_conn *conn, const char *why)
{
	struct lmtp_sess *s = conn->ctx;
	lmtp_fail(s, &s->b->delivery, why, "", 0);
}

/* Appends data to out with SMTP dot-stuffing and LF → CRLF, then the
 * terminating ".". */
static void dot_stuff(struct buf *out, const char *data, size_t len)
{
	bool bol = true;
	for (size_t i = 0; i < len; i++) {
		char c = data[i];
		if (bol && c == '.')
			buf_append_c(out, '.');
		if (c == '\n' && (i == 0 || data[i - 1] != '\r'))
			buf_append_c(out, '\r');
		buf_append_c(out, c);
		bol = c == '\n';
	}
	if (!bol)
		buf_append_str(out, "\r\n");
	buf_append_str(out, ".\r\n");
}

static int read_file(const char *path, struct buf *out)
{
	struct buf raw;
	buf_init(&raw, LG_MAX_FILE);
	int ret = lg_read_file(path, &raw);
	if (ret == 0)
		dot_stuff(out, raw.data != NULL ? raw.data : "", raw.len);
	buf_free(&raw);
	return ret;
}

/* Prepares the next message; false when there is nothing left to do. */
static bool lmtp_prepare(struct lmtp_sess *s)
{
	struct lmtp_bench *b = s->b;
	struct lg *lg = b->lg;
	char user[128];
	unsigned int first, n;

	buf_reset(&s->cmds);
	buf_reset(&s->msg);
	if (lg->n_files > 0) {
		size_t file;
		uint64_t batch;
		if (lg->opts.any_order) {
			if (b->next_job >= b->n_jobs)
				return false;
			uint64_t job = b->next_job++;
			file = (size_t)(job / b->batches);
			batch = job % b->batches;
		} else {
			if (s->next_job >= s->n_jobs)
				return false;
			uint64_t job = s->next_job++;
			uint64_t owned = s->n_jobs / lg->n_files;
			file = (size_t)(job / owned);
			batch = s->index + (job % owned) * b->n_sess;
		}
		first = (unsigned int)batch * lg->opts.rcpts;
		n = lg->opts.users - first < lg->opts.rcpts ?
			lg->opts.users - first : lg->opts.rcpts;
		if (read_file(lg->files[file], &s->msg) < 0) {
			lg_error(lg, &b->delivery, "lmtp: cannot read %s",
				 lg->files[file]);
			return false;
		}
	} else {
		if (!lg_in_window(lg) || (lg->opts.max_messages > 0 &&
		    b->messages_started >= lg->opts.max_messages))
			return false;
		first = (unsigned int)(lg_rand(&s->rng) % lg->opts.users);
		n = lg->opts.rcpts < lg->opts.users ? lg->opts.rcpts :
			lg->opts.users;
		struct buf raw = BUF_INIT;
		lg_user_name(lg, lg->opts.user_first + first, user,
			     sizeof(user));
		lg_make_message(&raw, &s->rng, lg->opts.msg_size, user);
		dot_stuff(&s->msg, raw.data, raw.len);
		buf_free(&raw);
	}
	b->messages_started++;
	buf_printf(&s->cmds, "MAIL FROM:<sender@example.org>\r\n");
	for (unsigned int i = 0; i < n; i++) {
		lg_user_name(lg, lg->opts.user_first +
			     (first + i) % lg->opts.users, user, sizeof(user));
		buf_printf(&s->cmds, "RCPT TO:<%s>\r\n", user);
	}
	buf_printf(&s->cmds, "DATA\r\n");
	s->nrcpt = n;
	s->cmd_lines = n + 2;
	return true;
}

/* Sends command lines [lines_sent, upto) of s->cmds. */
static void send_lines(struct lmtp_sess *s, size_t upto)
{
	const char *p = s->cmds.data;
	size_t line = 0;
	while (line < upto) {
		const char *eol = strstr(p, "\r\n");
		if (line >= s->lines_sent)
			lg_conn_send(&s->conn, p, (size_t)(eol + 2 - p));
		p = eol + 2;
		line++;
	}
	s->lines_sent = upto;
}

static void lmtp_next_message(struct lmtp_sess *s)
{
	if (!lmtp_prepare(s)) {
		s->state = LM_QUIT;
		lg_conn_timeout(&s->conn, s->b->lg->opts.timeout_ms);
		lg_conn_printf(&s->conn, "QUIT\r\n");
		return;
	}
	s->state = LM_TRANSACTION;
	s->replies = 0;
	s->lines_sent = 0;
	s->cmd_start = lg_now_us();
	lg_conn_timeout(&s->conn, s->b->lg->opts.timeout_ms);
	send_lines(s, s->pipelining ? s->cmd_lines : 1);
}

/* One reply; returns false when the session ended. */
static bool lmtp_reply(struct lmtp_sess *s, int code, const char *r,
		       size_t len)
{
	struct lmtp_bench *b = s->b;
	struct lg *lg = b->lg;
	switch (s->state) {
	case LM_GREETING:
		if (code != 220) {
			lmtp_fail(s, &b->connect, "greeting", r, len);
			return false;
		}
		if (lg_in_window(lg))
			lg_stat_ok(&b->connect, lg_now_us() - s->cmd_start);
		s->state = LM_LHLO;
		lg_conn_printf(&s->conn, "LHLO loadgen.example.org\r\n");
		return true;
	case LM_LHLO:
		if (code != 250) {
			lmtp_fail(s, &b->connect, "LHLO", r, len);
			return false;
		}
		s->pipelining = smtp_reply_has_keyword(r, len, "PIPELINING");
		lmtp_next_message(s);
		return true;
	case LM_TRANSACTION:
		s->replies++;
		if (s->replies < s->cmd_lines ? code != 250 && code != 251 :
		    code != 354) {
			lmtp_fail(s, &b->delivery, s->replies == 1 ? "MAIL" :
				  s->replies < s->cmd_lines ? "RCPT" : "DATA",
				  r, len);
			return false;
		}
		if (s->replies < s->cmd_lines) {
			if (!s->pipelining)
				send_lines(s, s->replies + 1);
			return true;
		}
		s->state = LM_DATA;
		s->replies = 0;
		lg_conn_send(&s->conn, s->msg.data, s->msg.len);
		return true;
	case LM_DATA:
		if (code / 100 != 2) {
			lmtp_fail(s, &b->delivery, "recipient after DATA", r,
				  len);
			return false;
		}
		if (++s->replies < s->nrcpt)
			return true;
		if (lg_in_window(lg) || lg->n_files > 0) {
			uint64_t us = lg_now_us() - s->cmd_start;
			lg_stat_ok(&b->delivery, us);
			for (unsigned int i = 0; i < s->nrcpt; i++)
				lg_stat_ok(&b->rcpt, us);
			b->delivery.bytes += s->msg.len;
		}
		lmtp_next_message(s);
		return true;
	case LM_QUIT:
		lmtp_finish(s, false);
		return false;
	}
	return false;
}

static void lmtp_input(struct lg_conn *conn)
{
	struct lmtp_sess *s = conn->ctx;
	while (s->open) {
		const char *d = conn->in.data + conn->in_off;
		size_t len = conn->in.len - conn->in_off;
		int code = 0;
		long n = smtp_reply_next(d, len, LMTP_MAX_REPLY, &code);
		if (n == 0)
			return;
		if (n < 0) {
			lmtp_fail(s, &s->b->delivery, "malformed reply", d,
				  len > 200 ? 200 : len);
			return;
		}
		if (!lmtp_reply(s, code, d, (size_t)n))
			return;
		lg_conn_consume(conn, (size_t)n);
	}
}

static void lmtp_start(struct lmtp_sess *s)
{
	struct lg *lg = s->b->lg;
	if (!s->started) {
		s->started = true;
		lg->active++;
	}
	s->state = LM_GREETING;
	s->cmd_start = lg_now_us();
	if (lg_conn_open(&s->conn, lg, s, lmtp_input, conn_fail_cb) < 0) {
		lg_error(lg, &s->b->connect, "lmtp: cannot connect");
		s->retry_timer = loop_timer_add(lg->loop, LMTP_RETRY_MS, false,
						retry_cb, s);
		return;
	}
	s->open = true;
}

int lg_lmtp_run(struct lg *lg)
{
	struct lmtp_bench *b = xcalloc(1, sizeof(*b));
	lg->mode_ctx = b;
	b->lg = lg;
	lg_stat_init(&b->delivery, "DELIVERY");
	lg_stat_init(&b->rcpt, "RCPT_DELIVERED");
	lg_stat_init(&b->connect, "CONNECT");
	b->batches = (lg->opts.users + lg->opts.rcpts - 1) / lg->opts.rcpts;
	if (lg->n_files > 0 && lg->opts.any_order)
		b->n_jobs = (uint64_t)lg->n_files * b->batches;
	b->n_sess = lg->opts.clients;
	b->sess = xcalloc(b->n_sess, sizeof(*b->sess));
	for (unsigned int i = 0; i < b->n_sess; i++) {
		b->sess[i].b = b;
		b->sess[i].index = i;
		if (lg->n_files > 0 && !lg->opts.any_order && i < b->batches)
			b->sess[i].n_jobs = (uint64_t)lg->n_files *
				((b->batches - i + b->n_sess - 1) / b->n_sess);
		b->sess[i].rng = lg->opts.seed * 7919u + i + 1;
		buf_init(&b->sess[i].cmds, 0);
		buf_init(&b->sess[i].msg, 0);
		lmtp_start(&b->sess[i]);
	}
	return 0;
}

void lg_lmtp_report(struct lg *lg, FILE *out, double secs)
{
	struct lmtp_bench *b = lg->mode_ctx;
	lg_stat_print(out, &b->connect, lg->opts.mode_name, lg->opts.label,
		      secs);
	lg_stat_print(out, &b->delivery, lg->opts.mode_name, lg->opts.label,
		      secs);
	lg_stat_print(out, &b->rcpt, lg->opts.mode_name, lg->opts.label, secs);
	fprintf(out, "summary mode=%s label=%s clients=%u rcpts=%u "
		"seconds=%.3f messages=%llu messages_per_s=%.2f "
		"deliveries=%llu deliveries_per_s=%.2f errors=%llu\n",
		lg->opts.mode_name, lg->opts.label, lg->opts.clients,
		lg->opts.rcpts, secs,
		(unsigned long long)b->delivery.count,
		secs > 0 ? (double)b->delivery.count / secs : 0.0,
		(unsigned long long)b->rcpt.count,
		secs > 0 ? (double)b->rcpt.count / secs : 0.0,
		(unsigned long long)lg->errors);
	for (unsigned int i = 0; i < b->n_sess; i++) {
		if (b->sess[i].open)
			lg_conn_close(&b->sess[i].conn);
		if (b->sess[i].retry_timer != NULL)
			loop_timer_remove(&b->sess[i].retry_timer);
		buf_free(&b->sess[i].cmds);
		buf_free(&b->sess[i].msg);
	}
	free(b->sess);
	free(b);
	lg->mode_ctx = NULL;
}
