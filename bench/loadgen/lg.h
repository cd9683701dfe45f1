/* stratus-loadgen: shared declarations of the load generator.
 *
 * One process, one lib/core loop, N client connections to a server on
 * loopback. Each mode (lg-imap.c, lg-lmtp.c, lg-pop3.c) drives its own
 * session state machines over struct lg_conn and records results in
 * struct lg_stat (lg-stats.h). Everything is bounded: input per
 * connection, line lengths, the run's duration, the grace period for
 * in-flight work and the number of errors before giving up. */
#ifndef BENCH_LG_H
#define BENCH_LG_H

#include "buf.h"
#include "lg-stats.h"
#include "loop.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Largest message we expect (corpus tops out at 5 MB) plus headroom. */
#define LG_MAX_LITERAL (64u * 1024 * 1024)
/* A SEARCH answer on a 100,000-message mailbox is ~600 KB of numbers. */
#define LG_MAX_LINE (4u * 1024 * 1024)
#define LG_MAX_INPUT (LG_MAX_LITERAL + LG_MAX_LINE)
#define LG_MAX_CLIENTS 20000
#define LG_MAX_USERS 100000
#define LG_MAX_FILES 100000
#define LG_MAX_FILE (32u * 1024 * 1024)

enum lg_mode {
	LG_MODE_IMAP_SESSIONS,
	LG_MODE_IMAP_COMMANDS,
	LG_MODE_IMAP_IDLE,
	LG_MODE_IMAP_APPEND,
	LG_MODE_LMTP,
	LG_MODE_POP3,
};

/* The IMAP mix: how often each command appears in one round. */
struct lg_mix {
	unsigned int fetch_flags, fetch_headers, fetch_body, store, search;
	unsigned int append, idle, select;
};

struct lg_opts {
	enum lg_mode mode;
	const char *mode_name;
	const char *label;	/* free text copied to every output line */
	char host[64];
	unsigned int port;
	unsigned int clients;
	double duration_s;	/* measured window (0 = until count done) */
	double grace_s;		/* in-flight work after the window */
	uint64_t max_errors;	/* give up after this many */
	unsigned int timeout_ms;	/* per command */
	uint64_t seed;

	const char *user_fmt;	/* printf format with one %u */
	unsigned int users, user_first;
	const char *password;
	unsigned int expect_messages;	/* 0 = do not check */

	struct lg_mix mix;
	unsigned int new_mail;	/* headers fetched as "new mail" */
	unsigned int idle_ms;	/* IDLE hold in the mix */
	unsigned int fixed_msg;	/* FETCH BODY[] always this one */
	uint64_t max_rounds;	/* imap-commands: stop after (0 = no) */
	double hold_s;		/* imap-idle: hold after all are idling */
	unsigned int connect_parallel;	/* imap-idle: logins in flight */

	unsigned int rcpts;	/* lmtp: recipients per message */
	unsigned int msg_size;	/* lmtp: generated message size */
	const char *files_dir;	/* lmtp/imap-append: these files (preload) */
	bool any_order;		/* lmtp --files: shared job queue */
	uint64_t max_messages;	/* lmtp: stop after (0 = duration);
				   imap-append without files: per user */

	uint64_t max_sessions;	/* pop3/imap-sessions: stop after */
};

struct lg;
struct lg_conn;

/* Called with new input (conn->in from conn->in_off on) or on failure. */
typedef void lg_conn_input_cb(struct lg_conn *conn);
typedef void lg_conn_fail_cb(struct lg_conn *conn, const char *why);

struct lg_conn {
	struct lg *lg;
	int fd;
	bool connected;
	struct loop_io *io;
	struct loop_timer *timer;
	struct buf in, out;
	size_t in_off;		/* consumed prefix of in */
	lg_conn_input_cb *on_input;
	lg_conn_fail_cb *on_fail;
	void *ctx;
};

struct lg {
	struct lg_opts opts;
	struct loop *loop;
	uint64_t start_us, end_us;	/* the measured window */
	bool window_closed;		/* no new work after this */
	bool aborted;
	struct loop_timer *window_timer, *grace_timer;
	uint64_t errors;
	unsigned int errors_printed;
	unsigned int active;		/* sessions not finished */
	uint64_t rng;
	char **files;			/* lmtp preload files */
	size_t n_files;
	void *mode_ctx;			/* the running mode's state */
};

/* lg-conn.c */
int lg_conn_open(struct lg_conn *conn, struct lg *lg, void *ctx,
		 lg_conn_input_cb *on_input, lg_conn_fail_cb *on_fail);
void lg_conn_close(struct lg_conn *conn);
void lg_conn_send(struct lg_conn *conn, const void *data, size_t len);
void lg_conn_printf(struct lg_conn *conn, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void lg_conn_consume(struct lg_conn *conn, size_t n);
/* (Re)arms the per-command timeout; 0 disarms. */
void lg_conn_timeout(struct lg_conn *conn, unsigned int msecs);

/* main.c */
/* Counts an error, prints the first few; aborts the run past max_errors. */
void lg_error(struct lg *lg, struct lg_stat *st, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
uint64_t lg_rand(uint64_t *state);
/* "user 7" -> "bench007@example.com" per user_fmt, into a fixed buffer */
void lg_user_name(const struct lg *lg, unsigned int idx, char *out,
		  size_t size);
bool lg_in_window(struct lg *lg);
/* Ends the measured window: no new work, in-flight work gets grace_s. */
void lg_close_window(struct lg *lg);
void lg_session_done(struct lg *lg);
/* Reads a whole file (at most out->max bytes) with LF turned into CRLF;
 * 0 or -1. */
int lg_read_file(const char *path, struct buf *out);
/* Builds an RFC 5322 message of about size bytes (seeded, plain text). */
void lg_make_message(struct buf *out, uint64_t *rng, size_t size,
		     const char *to);

/* modes */
int lg_imap_run(struct lg *lg);
void lg_imap_report(struct lg *lg, FILE *out, double secs);
/* imap-idle: ends the hold now (DONE, LOGOUT on every idling client). */
void lg_imap_release(struct lg *lg);
int lg_lmtp_run(struct lg *lg);
void lg_lmtp_report(struct lg *lg, FILE *out, double secs);
int lg_pop3_run(struct lg *lg);
void lg_pop3_report(struct lg *lg, FILE *out, double secs);

#endif
