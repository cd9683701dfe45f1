/* IMAP modes of the load generator.
 *
 * imap-sessions: each client loops connect → LOGIN → SELECT → one round
 *   of the mix → LOGOUT, like a phone client that polls.
 * imap-commands: each client logs in once and repeats rounds of the mix
 *   until the window closes, like a desktop client that stays connected.
 * imap-idle: K clients log in, SELECT INBOX and enter IDLE; once all are
 *   idling a "ready" line is printed and they are held for hold_s, so the
 *   harness can measure the server's memory per idle connection.
 * imap-append: a preload; each client LOGINs as its user and APPENDs
 *   every --files file (or --max-messages generated ones), then LOGOUT.
 *
 * Client slot i always uses user i mod users, so no two concurrent
 * sessions share a mailbox and the checks below are exact: FETCH 1:*
 * answers once per message, FETCH BODY[] returns RFC822.SIZE octets with a
 * header/body separator, STORE's FETCH (if any) has \Seen, SEARCH UNSEEN does not
 * list the message just marked seen and names only existing messages,
 * APPEND (of a message flagged \Deleted) is followed by an EXPUNGE that
 * reports it gone, so the mailbox stays the same size. Any other answer
 * is an error for that command and the session starts again. */
#include "imap-resp.h"
#include "lg.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

enum imap_step {
	ST_GREETING,
	ST_LOGIN,
	ST_SELECT,
	ST_FETCH_FLAGS,
	ST_FETCH_HEADERS,
	ST_FETCH_BODY,
	ST_STORE,
	ST_SEARCH,
	ST_APPEND,
	ST_EXPUNGE,
	ST_IDLE,
	ST_LOGOUT,
	ST_SESSION,	/* whole session: connect to LOGOUT's OK */
	ST_COUNT
};

static const char *const step_names[ST_COUNT] = {
	"GREETING", "LOGIN", "SELECT", "FETCH_FLAGS", "FETCH_HEADERS",
	"FETCH_BODY", "STORE", "SEARCH", "APPEND", "EXPUNGE", "IDLE",
	"LOGOUT", "SESSION",
};

#define IMAP_MAX_ROUND 256
#define IMAP_RETRY_MS 100
#define IMAP_APPEND_SIZE 2048

struct imap_bench;

struct imap_sess {
	struct imap_bench *b;
	struct lg_conn conn;
	unsigned int slot, user;
	bool open, started, in_round;
	enum imap_step step;
	size_t round_pos;
	uint64_t rounds;
	unsigned int tagn;
	char tag[16];
	uint64_t cmd_start, sess_start;
	struct imap_resp resp;
	uint32_t exists;
	uint64_t rng;
	uint64_t appended;	/* imap-append: messages stored so far */

	/* what the current command's answer contained */
	const char *bad;		/* first problem seen */
	uint32_t n_fetch, want_fetch;
	uint32_t body_msn, seen_msn;
	uint32_t n_expunge;
	bool got_cont, got_bye, got_search;
	bool idling;
	struct loop_timer *idle_timer, *retry_timer;
	struct buf msg;
};

struct imap_bench {
	struct lg *lg;
	struct imap_sess *sess;
	unsigned int n_sess, next_to_start, idling, idle_failed;
	bool idle_ready;
	struct loop_timer *hold_timer, *setup_timer;
	enum imap_step round[IMAP_MAX_ROUND];
	size_t round_len;
	struct lg_stat st[ST_COUNT];
};

static void sess_start(struct imap_sess *s);
static void sess_next(struct imap_sess *s);

static void sess_close(struct imap_sess *s)
{
	if (s->idle_timer != NULL)
		loop_timer_remove(&s->idle_timer);
	if (s->open)
		lg_conn_close(&s->conn);
	s->open = false;
	s->idling = false;
}

static void retry_cb(struct loop_timer *t, void *ctx)
{
	struct imap_sess *s = ctx;
	(void)t;
	s->retry_timer = NULL;
	if (lg_in_window(s->b->lg))
		sess_start(s);
	else
		lg_session_done(s->b->lg);
}

static void idle_mode_progress(struct imap_bench *b);

/* The session is over, cleanly or not; start another one if the mode
 * and the window say so. */
static void sess_finish(struct imap_sess *s, bool failed)
{
	struct imap_bench *b = s->b;
	struct lg *lg = b->lg;
	sess_close(s);
	if (lg->opts.mode == LG_MODE_IMAP_IDLE) {
		if (failed && !b->idle_ready)
			b->idle_failed++;
		lg_session_done(lg);
		idle_mode_progress(b);
		return;
	}
	bool again = lg_in_window(lg) && !lg->aborted &&
		(lg->opts.mode == LG_MODE_IMAP_SESSIONS || failed);
	/* a preload that failed part-way would append twice: no retry */
	if (lg->opts.mode == LG_MODE_IMAP_APPEND)
		again = false;
	if (lg->opts.max_sessions > 0 &&
	    b->st[ST_SESSION].count >= lg->opts.max_sessions)
		again = false;
	if (!again) {
		lg_session_done(lg);
		return;
	}
	/* never restart inline: the caller may still be reading the old
	 * connection's input */
	s->retry_timer = loop_timer_add(lg->loop, failed ? IMAP_RETRY_MS : 0,
					false, retry_cb, s);
}

static void sess_fail(struct imap_sess *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void sess_fail(struct imap_sess *s, const char *fmt, ...)
{
	char why[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	char user[128];
	lg_user_name(s->b->lg, s->user, user, sizeof(user));
	lg_error(s->b->lg, &s->b->st[s->step], "imap %s %s: %s", user,
		 step_names[s->step], why);
	sess_finish(s, true);
}

static void conn_fail_cb(struct lg_conn *conn, const char *why)
{
	sess_fail(conn->ctx, "%s", why);
}

static void step_ok(struct imap_sess *s, enum imap_step step)
{
	if (lg_in_window(s->b->lg))
		lg_stat_ok(&s->b->st[step], lg_now_us() - s->cmd_start);
}

static uint32_t rand_msn(struct imap_sess *s)
{
	return 1 + (uint32_t)(lg_rand(&s->rng) % s->exists);
}

static bool step_needs_messages(enum imap_step step)
{
	return step == ST_FETCH_FLAGS || step == ST_FETCH_HEADERS ||
		step == ST_FETCH_BODY || step == ST_STORE;
}

static void send_cmd(struct imap_sess *s, enum imap_step step)
{
	struct lg *lg = s->b->lg;
	struct lg_conn *c = &s->conn;
	char user[128];

	s->step = step;
	snprintf(s->tag, sizeof(s->tag), "a%u", ++s->tagn);
	s->cmd_start = lg_now_us();
	s->bad = NULL;
	s->n_fetch = s->want_fetch = 0;
	s->n_expunge = 0;
	s->got_cont = s->got_bye = s->got_search = false;
	lg_conn_timeout(c, lg->opts.timeout_ms);

	switch (step) {
	case ST_LOGIN:
		lg_user_name(lg, s->user, user, sizeof(user));
		lg_conn_printf(c, "%s LOGIN \"%s\" \"%s\"\r\n", s->tag, user,
			       lg->opts.password);
		break;
	case ST_SELECT:
		lg_conn_printf(c, "%s SELECT INBOX\r\n", s->tag);
		break;
	case ST_FETCH_FLAGS:
		s->want_fetch = s->exists;
		lg_conn_printf(c, "%s FETCH 1:* (UID FLAGS)\r\n", s->tag);
		break;
	case ST_FETCH_HEADERS: {
		uint32_t first = s->exists > lg->opts.new_mail ?
			s->exists - lg->opts.new_mail + 1 : 1;
		s->want_fetch = s->exists - first + 1;
		lg_conn_printf(c, "%s FETCH %" PRIu32 ":* (UID RFC822.SIZE "
			       "BODY.PEEK[HEADER.FIELDS (FROM TO CC SUBJECT "
			       "DATE MESSAGE-ID CONTENT-TYPE)])\r\n",
			       s->tag, first);
		break;
	}
	case ST_FETCH_BODY:
		s->body_msn = lg->opts.fixed_msg > 0 &&
			lg->opts.fixed_msg <= s->exists ?
			lg->opts.fixed_msg : rand_msn(s);
		s->want_fetch = 1;
		lg_conn_printf(c, "%s FETCH %" PRIu32
			       " (RFC822.SIZE BODY.PEEK[])\r\n",
			       s->tag, s->body_msn);
		break;
	case ST_STORE:
		s->seen_msn = rand_msn(s);
		lg_conn_printf(c, "%s STORE %" PRIu32 " +FLAGS (\\Seen)\r\n",
			       s->tag, s->seen_msn);
		break;
	case ST_SEARCH:
		lg_conn_printf(c, "%s SEARCH UNSEEN\r\n", s->tag);
		break;
	case ST_APPEND:
		lg_user_name(lg, s->user, user, sizeof(user));
		buf_reset(&s->msg);
		if (lg->opts.mode != LG_MODE_IMAP_APPEND) {
			lg_make_message(&s->msg, &s->rng, IMAP_APPEND_SIZE,
					user);
			lg_conn_printf(c, "%s APPEND INBOX (\\Seen \\Deleted) "
				       "{%zu}\r\n", s->tag, s->msg.len);
			break;
		}
		if (lg->n_files > 0 &&
		    lg_read_file(lg->files[s->appended], &s->msg) < 0)
			lg_error(lg, &s->b->st[ST_APPEND], "cannot read %s",
				 lg->files[s->appended]);
		if (lg->n_files == 0)
			lg_make_message(&s->msg, &s->rng, lg->opts.msg_size,
					user);
		lg_conn_printf(c, "%s APPEND INBOX () {%zu}\r\n", s->tag,
			       s->msg.len);
		break;
	case ST_EXPUNGE:
		lg_conn_printf(c, "%s EXPUNGE\r\n", s->tag);
		break;
	case ST_IDLE:
		lg_conn_printf(c, "%s IDLE\r\n", s->tag);
		break;
	case ST_LOGOUT:
		lg_conn_printf(c, "%s LOGOUT\r\n", s->tag);
		break;
	case ST_GREETING:
	case ST_SESSION:
	case ST_COUNT:
		break;
	}
}

static void idle_done_cb(struct loop_timer *t, void *ctx)
{
	struct imap_sess *s = ctx;
	(void)t;
	s->idle_timer = NULL;
	s->idling = false;
	lg_conn_timeout(&s->conn, s->b->lg->opts.timeout_ms);
	lg_conn_printf(&s->conn, "DONE\r\n");
}

/* Decides and sends the next command after a completed one. */
static void sess_next(struct imap_sess *s)
{
	struct imap_bench *b = s->b;
	struct lg *lg = b->lg;
	/* an APPENDed \Deleted message is always EXPUNGEd, even when the
	 * window closes in between, so mailboxes keep their size for the
	 * next run */
	bool logout = (!lg_in_window(lg) || lg->aborted) &&
		!(s->step == ST_APPEND && s->in_round);

	if (s->step == ST_LOGIN) {
		send_cmd(s, ST_SELECT);
		return;
	}
	if (lg->opts.mode == LG_MODE_IMAP_APPEND) {
		if (s->step == ST_APPEND)
			s->appended++;
		uint64_t total = lg->n_files > 0 ? lg->n_files :
			lg->opts.max_messages;
		send_cmd(s, s->appended < total ? ST_APPEND : ST_LOGOUT);
		return;
	}
	if (s->step == ST_SELECT && !s->in_round) {
		if (lg->opts.mode == LG_MODE_IMAP_IDLE) {
			send_cmd(s, ST_IDLE);
			return;
		}
		s->in_round = true;
		s->round_pos = 0;
	} else if (s->step == ST_IDLE && lg->opts.mode == LG_MODE_IMAP_IDLE) {
		send_cmd(s, ST_LOGOUT);
		return;
	} else if (++s->round_pos >= b->round_len) {
		s->rounds++;
		s->round_pos = 0;
		if (lg->opts.mode == LG_MODE_IMAP_SESSIONS)
			logout = true;
		if (lg->opts.max_rounds > 0 &&
		    s->rounds >= lg->opts.max_rounds)
			logout = true;
	}
	/* the SELECT in the mix re-opens the mailbox like a folder switch */
	while (!logout && step_needs_messages(b->round[s->round_pos]) &&
	       s->exists == 0 && s->round_pos + 1 < b->round_len)
		s->round_pos++;
	if (logout || b->round_len == 0)
		send_cmd(s, ST_LOGOUT);
	else
		send_cmd(s, b->round[s->round_pos]);
}

/* SEARCH numbers must name existing messages and not the one just
 * marked \Seen. */
static void check_search(struct imap_sess *s, const char *d,
			 const struct imap_resp *r)
{
	s->got_search = true;
	const char *p = d + r->word.off + r->word.len;
	const char *end = d + r->text[0].off + r->text[0].len;
	while (p < end) {
		while (p < end && *p == ' ')
			p++;
		if (p >= end)
			break;
		uint64_t n = 0;
		const char *start = p;
		while (p < end && *p >= '0' && *p <= '9' && n <= UINT32_MAX)
			n = n * 10 + (unsigned)(*p++ - '0');
		if (p == start || n == 0 || n > s->exists) {
			s->bad = "SEARCH returned a number outside the mailbox";
			return;
		}
		if (n == s->seen_msn && s->seen_msn != 0)
			s->bad = "SEARCH UNSEEN lists a message just set \\Seen";
	}
}

static void check_fetch(struct imap_sess *s, const char *d,
			const struct imap_resp *r)
{
	struct imap_bench *b = s->b;
	uint64_t size;
	switch (s->step) {
	case ST_FETCH_FLAGS:
		s->n_fetch++;
		if (imap_resp_text_find(r, d, "UID ") == NULL ||
		    imap_resp_text_find(r, d, "FLAGS (") == NULL)
			s->bad = "FETCH without UID or FLAGS";
		break;
	case ST_FETCH_HEADERS:
		if (r->n_literals == 0)
			break;	/* a flag update, not our answer */
		s->n_fetch++;
		if (r->n_literals != 1 ||
		    imap_resp_text_find(r, d, "UID ") == NULL)
			s->bad = "header FETCH without UID or literal";
		break;
	case ST_FETCH_BODY:
		if (r->n_literals == 0)
			break;
		s->n_fetch++;
		if (r->number != s->body_msn) {
			s->bad = "body FETCH for another message";
			break;
		}
		if (imap_resp_text_number(r, d, "RFC822.SIZE", &size) < 0 ||
		    r->n_literals != 1 || size != r->lit[0].len) {
			s->bad = "BODY[] length differs from RFC822.SIZE";
			break;
		}
		if (memmem(d + r->lit[0].off, r->lit[0].len, "\r\n\r\n", 4) ==
		    NULL)
			s->bad = "BODY[] without header/body separator";
		if (lg_in_window(b->lg))
			b->st[ST_FETCH_BODY].bytes += r->lit[0].len;
		break;
	case ST_STORE:
		if (r->number == s->seen_msn) {
			s->n_fetch++;
			if (imap_resp_text_find(r, d, "\\Seen") == NULL)
				s->bad = "STORE answer without \\Seen";
		}
		break;
	default:
		break;
	}
}

static void handle_untagged(struct imap_sess *s, const char *d,
			    const struct imap_resp *r)
{
	if (r->has_number && imap_resp_word_is(r, d, "EXISTS")) {
		s->exists = r->number;
	} else if (r->has_number && imap_resp_word_is(r, d, "EXPUNGE")) {
		if (s->exists > 0)
			s->exists--;
		s->n_expunge++;
	} else if (r->has_number && imap_resp_word_is(r, d, "FETCH")) {
		if (r->number == 0 || r->number > s->exists)
			s->bad = "FETCH for a message number outside the mailbox";
		else
			check_fetch(s, d, r);
	} else if (imap_resp_word_is(r, d, "SEARCH")) {
		if (s->step == ST_SEARCH)
			check_search(s, d, r);
	} else if (imap_resp_word_is(r, d, "BYE")) {
		s->got_bye = true;
	}
}

/* All answers of the command are in: is it the right answer? */
static const char *check_complete(struct imap_sess *s)
{
	struct lg *lg = s->b->lg;
	if (s->bad != NULL)
		return s->bad;
	switch (s->step) {
	case ST_SELECT:
		if (lg->opts.mode != LG_MODE_IMAP_APPEND &&
		    lg->opts.expect_messages > 0 &&
		    s->exists != lg->opts.expect_messages)
			return "SELECT: EXISTS differs from the preloaded count";
		return NULL;
	case ST_FETCH_FLAGS:
	case ST_FETCH_HEADERS:
	case ST_FETCH_BODY:
		return s->n_fetch == s->want_fetch ? NULL :
			"FETCH answered a different number of messages";
	case ST_STORE:
		/* a server may stay silent when the flag was already set
		 * (Dovecot does); SEARCH UNSEEN then checks the effect */
		return s->n_fetch <= 1 ? NULL : "STORE answered twice";
	case ST_SEARCH:
		return s->got_search ? NULL : "no SEARCH answer";
	case ST_APPEND:
		return s->got_cont ? NULL : "APPEND OK without continuation";
	case ST_EXPUNGE:
		return s->n_expunge >= 1 ? NULL :
			"EXPUNGE did not remove the appended \\Deleted message";
	case ST_LOGOUT:
		return s->got_bye ? NULL : "LOGOUT without BYE";
	default:
		return NULL;
	}
}

static void handle_tagged(struct imap_sess *s, const char *d,
			  const struct imap_resp *r)
{
	if (r->tag.len != strlen(s->tag) ||
	    memcmp(d + r->tag.off, s->tag, r->tag.len) != 0) {
		sess_fail(s, "answer for an unknown tag: %.*s", (int)r->tag.len,
			  d + r->tag.off);
		return;
	}
	if (!imap_resp_word_is(r, d, "OK")) {
		sess_fail(s, "%.*s", (int)(r->text[0].len > 200 ? 200 :
			  r->text[0].len), d + r->text[0].off);
		return;
	}
	const char *why = check_complete(s);
	if (why != NULL) {
		sess_fail(s, "%s", why);
		return;
	}
	lg_conn_timeout(&s->conn, 0);
	if (s->step != ST_IDLE)
		step_ok(s, s->step);
	if (s->step == ST_LOGOUT) {
		if (lg_in_window(s->b->lg))
			lg_stat_ok(&s->b->st[ST_SESSION],
				   lg_now_us() - s->sess_start);
		sess_finish(s, false);
		return;
	}
	sess_next(s);
}

static void handle_continuation(struct imap_sess *s)
{
	struct imap_bench *b = s->b;
	struct lg *lg = b->lg;
	if (s->step == ST_APPEND && !s->got_cont) {
		s->got_cont = true;
		lg_conn_send(&s->conn, s->msg.data, s->msg.len);
		lg_conn_send(&s->conn, "\r\n", 2);
		return;
	}
	if (s->step != ST_IDLE || s->got_cont) {
		sess_fail(s, "unexpected continuation request");
		return;
	}
	s->got_cont = true;
	s->idling = true;
	lg_conn_timeout(&s->conn, 0);
	step_ok(s, ST_IDLE);
	if (lg->opts.mode == LG_MODE_IMAP_IDLE) {
		b->idling++;
		idle_mode_progress(b);
		return;
	}
	s->idle_timer = loop_timer_add(lg->loop, lg->opts.idle_ms, false,
				       idle_done_cb, s);
}

static void sess_input(struct lg_conn *conn)
{
	struct imap_sess *s = conn->ctx;
	while (s->open) {
		const char *d = conn->in.data + conn->in_off;
		size_t len = conn->in.len - conn->in_off;
		enum imap_parse_result pr = imap_resp_parse(&s->resp, d, len,
			LG_MAX_LINE, LG_MAX_LITERAL);
		if (pr == IMAP_PARSE_MORE)
			return;
		if (pr == IMAP_PARSE_ERROR) {
			sess_fail(s, "%s", s->resp.error);
			return;
		}
		struct imap_resp r = s->resp;
		imap_resp_reset(&s->resp);
		if (s->step == ST_GREETING) {
			if (r.kind != IMAP_RESP_UNTAGGED ||
			    !imap_resp_word_is(&r, d, "OK")) {
				sess_fail(s, "greeting: %.*s",
					  (int)(r.text[0].len > 200 ? 200 :
						r.text[0].len),
					  d + r.text[0].off);
				return;
			}
			step_ok(s, ST_GREETING);
			lg_conn_consume(conn, r.total);
			send_cmd(s, ST_LOGIN);
			continue;
		}
		switch (r.kind) {
		case IMAP_RESP_UNTAGGED:
			handle_untagged(s, d, &r);
			break;
		case IMAP_RESP_CONTINUATION:
			handle_continuation(s);
			break;
		case IMAP_RESP_TAGGED:
			handle_tagged(s, d, &r);
			break;
		}
		/* handlers may have closed the session (and freed in) */
		if (!s->open)
			return;
		lg_conn_consume(conn, r.total);
	}
}

static void sess_start(struct imap_sess *s)
{
	struct lg *lg = s->b->lg;
	imap_resp_reset(&s->resp);
	s->step = ST_GREETING;
	s->exists = 0;
	s->seen_msn = 0;
	s->idling = false;
	s->in_round = false;
	s->sess_start = s->cmd_start = lg_now_us();
	if (!s->started) {
		s->started = true;
		lg->active++;
	}
	if (lg_conn_open(&s->conn, lg, s, sess_input, conn_fail_cb) < 0) {
		s->open = false;
		lg_error(lg, &s->b->st[ST_GREETING], "imap: cannot connect");
		s->retry_timer = loop_timer_add(lg->loop, IMAP_RETRY_MS, false,
						retry_cb, s);
		return;
	}
	s->open = true;
}

/* imap-idle: keep connect_parallel logins in flight; once every client
 * is idling (or failed), say so and hold. */
static void hold_done_cb(struct loop_timer *t, void *ctx)
{
	struct imap_bench *b = ctx;
	(void)t;
	b->hold_timer = NULL;
	lg_imap_release(b->lg);
}

void lg_imap_release(struct lg *lg)
{
	struct imap_bench *b = lg->mode_ctx;
	if (b == NULL)
		return;
	if (b->hold_timer != NULL)
		loop_timer_remove(&b->hold_timer);
	lg_close_window(b->lg);
	for (unsigned int i = 0; i < b->n_sess; i++) {
		struct imap_sess *s = &b->sess[i];
		if (s->open && s->idling) {
			s->idling = false;
			lg_conn_timeout(&s->conn, b->lg->opts.timeout_ms);
			lg_conn_printf(&s->conn, "DONE\r\n");
		}
	}
}

static void idle_mode_ready(struct imap_bench *b);

static void setup_timeout_cb(struct loop_timer *t, void *ctx)
{
	struct imap_bench *b = ctx;
	(void)t;
	b->setup_timer = NULL;
	if (!b->idle_ready)
		idle_mode_ready(b);
}

static void idle_mode_progress(struct imap_bench *b)
{
	struct lg *lg = b->lg;
	while (!b->idle_ready && b->next_to_start < b->n_sess &&
	       b->next_to_start - b->idling - b->idle_failed <
	       lg->opts.connect_parallel)
		sess_start(&b->sess[b->next_to_start++]);
	if (b->idle_ready || b->idling + b->idle_failed < b->n_sess)
		return;
	idle_mode_ready(b);
}

/* Prints the ready line and starts the hold (also when setup ran out of
 * time: the line then says how many made it). */
static void idle_mode_ready(struct imap_bench *b)
{
	struct lg *lg = b->lg;
	b->idle_ready = true;
	if (b->setup_timer != NULL)
		loop_timer_remove(&b->setup_timer);
	printf("idle ready=%u failed=%u setup_s=%.3f\n", b->idling,
	       b->idle_failed, (double)(lg_now_us() - lg->start_us) / 1e6);
	fflush(stdout);
	b->hold_timer = loop_timer_add(lg->loop,
		(uint64_t)(lg->opts.hold_s * 1000), false, hold_done_cb, b);
}

static void build_round(struct imap_bench *b, const struct lg_mix *m)
{
	/* interleave so that a short round still has every command */
	unsigned int left[8] = { m->select, m->fetch_flags, m->fetch_headers,
				 m->fetch_body, m->store, m->search,
				 m->append, m->idle };
	bool any = true;
	while (any && b->round_len < IMAP_MAX_ROUND - 2) {
		any = false;
		for (int k = 0; k < 8; k++) {
			if (left[k] == 0)
				continue;
			left[k]--;
			any = true;
			static const enum imap_step map[8] = {
				ST_SELECT, ST_FETCH_FLAGS, ST_FETCH_HEADERS,
				ST_FETCH_BODY, ST_STORE, ST_SEARCH, ST_APPEND,
				ST_IDLE };
			b->round[b->round_len++] = map[k];
			if (map[k] == ST_APPEND)
				b->round[b->round_len++] = ST_EXPUNGE;
		}
	}
}

int lg_imap_run(struct lg *lg)
{
	struct imap_bench *b = xcalloc(1, sizeof(*b));
	lg->mode_ctx = b;
	b->lg = lg;
	for (int i = 0; i < ST_COUNT; i++)
		lg_stat_init(&b->st[i], step_names[i]);
	build_round(b, &lg->opts.mix);
	b->n_sess = lg->opts.clients;
	b->sess = xcalloc(b->n_sess, sizeof(*b->sess));
	for (unsigned int i = 0; i < b->n_sess; i++) {
		struct imap_sess *s = &b->sess[i];
		s->b = b;
		s->slot = i;
		s->user = lg->opts.user_first + i % lg->opts.users;
		s->rng = lg->opts.seed * 1000003u + i + 1;
		buf_init(&s->msg, 0);
	}
	if (lg->opts.mode == LG_MODE_IMAP_IDLE) {
		b->setup_timer = loop_timer_add(lg->loop,
			(uint64_t)(lg->opts.duration_s * 1000), false,
			setup_timeout_cb, b);
		idle_mode_progress(b);
	} else {
		for (unsigned int i = 0; i < b->n_sess; i++)
			sess_start(&b->sess[i]);
	}
	return 0;
}

void lg_imap_report(struct lg *lg, FILE *out, double secs)
{
	struct imap_bench *b = lg->mode_ctx;
	uint64_t commands = 0, errors = 0;
	for (int i = 0; i < ST_COUNT; i++) {
		lg_stat_print(out, &b->st[i], lg->opts.mode_name,
			      lg->opts.label, secs);
		if (i != ST_GREETING && i != ST_SESSION)
			commands += b->st[i].count;
		errors += b->st[i].errors;
	}
	fprintf(out, "summary mode=%s label=%s clients=%u seconds=%.3f "
		"sessions=%llu sessions_per_s=%.2f commands=%llu "
		"commands_per_s=%.2f idling=%u errors=%llu\n",
		lg->opts.mode_name, lg->opts.label, lg->opts.clients, secs,
		(unsigned long long)b->st[ST_SESSION].count,
		secs > 0 ? (double)b->st[ST_SESSION].count / secs : 0.0,
		(unsigned long long)commands,
		secs > 0 ? (double)commands / secs : 0.0, b->idling,
		(unsigned long long)errors);
	for (unsigned int i = 0; i < b->n_sess; i++) {
		sess_close(&b->sess[i]);
		if (b->sess[i].retry_timer != NULL)
			loop_timer_remove(&b->sess[i].retry_timer);
		buf_free(&b->sess[i].msg);
	}
	if (b->hold_timer != NULL)
		loop_timer_remove(&b->hold_timer);
	if (b->setup_timer != NULL)
		loop_timer_remove(&b->setup_timer);
	free(b->sess);
	free(b);
	lg->mode_ctx = NULL;
}
