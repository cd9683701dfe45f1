/* pop3 mode: a download-everything client. Each session is USER, PASS,
 * STAT, RETR 1..n, QUIT, the way fetchmail or a phone does a full
 * download; it measures seconds per session and RETR throughput (MB/s).
 *
 * Checks: every reply starts with +OK; STAT reports expect_messages when
 * given; each RETR is a complete multi-line answer (ended by CRLF.CRLF)
 * holding a header/body separator. Sessions repeat until the window
 * closes or max_sessions sessions are done. */
#include "lg.h"

#include <stdlib.h>
#include <string.h>

#define POP3_MAX_LINE 4096
#define POP3_RETRY_MS 100

enum pop3_state { P_GREETING, P_USER, P_PASS, P_STAT, P_RETR, P_QUIT };

struct pop3_bench;

struct pop3_sess {
	struct pop3_bench *b;
	struct lg_conn conn;
	bool open, started;
	enum pop3_state state;
	uint64_t cmd_start, sess_start;
	uint32_t count, next;
	size_t scan;		/* RETR: searched for the end up to here */
	struct loop_timer *retry_timer;
};

struct pop3_bench {
	struct lg *lg;
	struct pop3_sess *sess;
	unsigned int n_sess;
	uint64_t sessions_started;
	struct lg_stat retr, session, login;
};

static void pop3_start(struct pop3_sess *s);

static void retry_cb(struct loop_timer *t, void *ctx)
{
	struct pop3_sess *s = ctx;
	(void)t;
	s->retry_timer = NULL;
	if (lg_in_window(s->b->lg) && !s->b->lg->aborted &&
	    (s->b->lg->opts.max_sessions == 0 ||
	     s->b->sessions_started < s->b->lg->opts.max_sessions))
		pop3_start(s);
	else
		lg_session_done(s->b->lg);
}

static void pop3_finish(struct pop3_sess *s, bool failed)
{
	if (s->open)
		lg_conn_close(&s->conn);
	s->open = false;
	s->retry_timer = loop_timer_add(s->b->lg->loop,
					failed ? POP3_RETRY_MS : 0, false,
					retry_cb, s);
}

static void pop3_fail(struct pop3_sess *s, const char *why, const char *line,
		      size_t len)
{
	lg_error(s->b->lg, s->state == P_RETR ? &s->b->retr : &s->b->session,
		 "pop3: %s: %.*s", why, (int)(len > 200 ? 200 : len),
		 line != NULL ? line : "");
	pop3_finish(s, true);
}

static void conn_fail_cb(struct lg_conn *conn, const char *why)
{
	pop3_fail(conn->ctx, why, "", 0);
}

/* Sends one command line (already formatted, with CRLF). */
static void pop3_send(struct pop3_sess *s, enum pop3_state st,
		      const char *line)
{
	s->state = st;
	s->cmd_start = lg_now_us();
	s->scan = 0;
	lg_conn_timeout(&s->conn, s->b->lg->opts.timeout_ms);
	lg_conn_send(&s->conn, line, strlen(line));
}

/* RETR: a status line then data ended by CRLF "." CRLF. Returns the
 * answer's length, 0 if incomplete. */
static size_t retr_complete(struct pop3_sess *s, const char *d, size_t len,
			    size_t status_end)
{
	size_t from = s->scan > status_end ? s->scan : status_end - 2;
	if (len < from + 5)
		return 0;
	const char *hit = memmem(d + from, len - from, "\r\n.\r\n", 5);
	if (hit == NULL) {
		s->scan = len - 4;
		return 0;
	}
	return (size_t)(hit - d) + 5;
}

static void next_retr_or_quit(struct pop3_sess *s)
{
	char line[32];
	if (s->next <= s->count && lg_in_window(s->b->lg)) {
		snprintf(line, sizeof(line), "RETR %u\r\n", s->next++);
		pop3_send(s, P_RETR, line);
	} else {
		pop3_send(s, P_QUIT, "QUIT\r\n");
	}
}

/* Handles one complete answer of len bytes; false if the session ended. */
static bool pop3_answer(struct pop3_sess *s, const char *d, size_t len,
			size_t status_len)
{
	struct pop3_bench *b = s->b;
	struct lg *lg = b->lg;
	char user[128], line[256];
	if (status_len < 3 || memcmp(d, "+OK", 3) != 0) {
		pop3_fail(s, "not +OK", d, status_len);
		return false;
	}
	uint64_t us = lg_now_us() - s->cmd_start;
	switch (s->state) {
	case P_GREETING:
		lg_user_name(lg, lg->opts.user_first, user, sizeof(user));
		snprintf(line, sizeof(line), "USER %s\r\n", user);
		pop3_send(s, P_USER, line);
		return true;
	case P_USER:
		snprintf(line, sizeof(line), "PASS %s\r\n", lg->opts.password);
		pop3_send(s, P_PASS, line);
		return true;
	case P_PASS:
		if (lg_in_window(lg))
			lg_stat_ok(&b->login, us);
		pop3_send(s, P_STAT, "STAT\r\n");
		return true;
	case P_STAT: {
		unsigned long n = strtoul(d + 3, NULL, 10);
		if (lg->opts.expect_messages > 0 &&
		    n != lg->opts.expect_messages) {
			pop3_fail(s, "STAT count differs from the preload", d,
				  status_len);
			return false;
		}
		s->count = (uint32_t)n;
		s->next = 1;
		next_retr_or_quit(s);
		return true;
	}
	case P_RETR:
		if (memmem(d + status_len, len - status_len, "\r\n\r\n", 4) ==
		    NULL) {
			pop3_fail(s, "RETR without header/body separator", d,
				  status_len);
			return false;
		}
		if (lg_in_window(lg)) {
			lg_stat_ok(&b->retr, us);
			b->retr.bytes += len - status_len;
		}
		next_retr_or_quit(s);
		return true;
	case P_QUIT:
		/* a session cut short by the window is not a whole session */
		if (lg_in_window(lg) && s->next > s->count)
			lg_stat_ok(&b->session, lg_now_us() - s->sess_start);
		pop3_finish(s, false);
		return false;
	}
	return false;
}

static void pop3_input(struct lg_conn *conn)
{
	struct pop3_sess *s = conn->ctx;
	while (s->open) {
		const char *d = conn->in.data + conn->in_off;
		size_t len = conn->in.len - conn->in_off;
		const char *crlf = memmem(d, len, "\r\n", 2);
		if (crlf == NULL) {
			if (len > POP3_MAX_LINE)
				pop3_fail(s, "status line too long", d, 200);
			return;
		}
		size_t status_len = (size_t)(crlf - d) + 2;
		size_t total = status_len;
		if (s->state == P_RETR && len >= 3 && memcmp(d, "+OK", 3) == 0) {
			total = retr_complete(s, d, len, status_len);
			if (total == 0)
				return;
		}
		if (!pop3_answer(s, d, total, status_len))
			return;
		lg_conn_consume(conn, total);
	}
}

static void pop3_start(struct pop3_sess *s)
{
	struct lg *lg = s->b->lg;
	if (!s->started) {
		s->started = true;
		lg->active++;
	}
	s->b->sessions_started++;
	s->state = P_GREETING;
	s->sess_start = s->cmd_start = lg_now_us();
	if (lg_conn_open(&s->conn, lg, s, pop3_input, conn_fail_cb) < 0) {
		lg_error(lg, &s->b->session, "pop3: cannot connect");
		s->retry_timer = loop_timer_add(lg->loop, POP3_RETRY_MS, false,
						retry_cb, s);
		return;
	}
	s->open = true;
}

int lg_pop3_run(struct lg *lg)
{
	struct pop3_bench *b = xcalloc(1, sizeof(*b));
	lg->mode_ctx = b;
	b->lg = lg;
	lg_stat_init(&b->retr, "RETR");
	lg_stat_init(&b->session, "SESSION");
	lg_stat_init(&b->login, "LOGIN");
	b->n_sess = lg->opts.clients;
	b->sess = xcalloc(b->n_sess, sizeof(*b->sess));
	for (unsigned int i = 0; i < b->n_sess; i++) {
		b->sess[i].b = b;
		pop3_start(&b->sess[i]);
	}
	return 0;
}

void lg_pop3_report(struct lg *lg, FILE *out, double secs)
{
	struct pop3_bench *b = lg->mode_ctx;
	lg_stat_print(out, &b->login, lg->opts.mode_name, lg->opts.label, secs);
	lg_stat_print(out, &b->retr, lg->opts.mode_name, lg->opts.label, secs);
	lg_stat_print(out, &b->session, lg->opts.mode_name, lg->opts.label,
		      secs);
	fprintf(out, "summary mode=%s label=%s clients=%u seconds=%.3f "
		"sessions=%llu seconds_per_session=%.3f retr=%llu "
		"mb_per_s=%.2f errors=%llu\n",
		lg->opts.mode_name, lg->opts.label, lg->opts.clients, secs,
		(unsigned long long)b->session.count,
		b->session.count > 0 ?
		lg_stat_quantile_ms(&b->session, 0.5) / 1000.0 : 0.0,
		(unsigned long long)b->retr.count,
		secs > 0 ? (double)b->retr.bytes / 1e6 / secs : 0.0,
		(unsigned long long)lg->errors);
	for (unsigned int i = 0; i < b->n_sess; i++) {
		if (b->sess[i].open)
			lg_conn_close(&b->sess[i].conn);
		if (b->sess[i].retry_timer != NULL)
			loop_timer_remove(&b->sess[i].retry_timer);
	}
	free(b->sess);
	free(b);
	lg->mode_ctx = NULL;
}
