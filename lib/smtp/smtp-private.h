/* Inside lib/smtp's submitter: what smtp-submit.c (the front),
 * smtp-client.c (SMTP to submission_host) and smtp-sendmail.c
 * (sendmail_path) share. Not for other callers. */
#ifndef STRATUS_SMTP_PRIVATE_H
#define STRATUS_SMTP_PRIVATE_H

#include <sys/socket.h>
#include <sys/types.h>

#include "smtp-client.h"
#include "smtp-reply.h"
#include "text-conn.h"

#define SMTP_MAX_ADDRS 8
#define SMTP_IN_MAX 8192	/* one reply line must fit */
#define SMTP_SENDMAIL_ERR_MAX 512

struct smtp_submitter {
	struct loop *loop;
	bool use_smtp;
	struct sockaddr_storage addrs[SMTP_MAX_ADDRS];
	socklen_t addr_lens[SMTP_MAX_ADDRS];
	size_t n_addrs;
	char *sendmail_path;
	char *helo_name;
	uint64_t timeout_msecs;
	char *description;
};

enum smtp_state {
	SMTP_STATE_CONNECT,
	SMTP_STATE_GREETING,
	SMTP_STATE_EHLO,
	SMTP_STATE_HELO,
	SMTP_STATE_MAIL,
	SMTP_STATE_RCPT,
	SMTP_STATE_DATA,
	SMTP_STATE_BODY,
};

struct smtp_submit {
	struct smtp_submitter *sub;
	smtp_submit_cb *cb;
	void *ctx;
	char *mail_from;
	char **rcpts;
	size_t n_rcpts;
	char *msg;
	size_t len;
	bool msg_8bit;
	struct loop_timer *timer;	/* step timeout, or the deferred start */
	/* SMTP */
	enum smtp_state state;
	int fd;			/* while connecting; then the conn owns it */
	struct loop_io *connect_io;
	size_t addr_idx;
	char *connect_error;
	struct text_conn *conn;
	struct smtp_reply reply;
	size_t rcpt_idx;
	size_t msg_off;
	bool body_done;
	/* sendmail */
	pid_t pid;
	int pidfd, in_fd, err_fd;
	struct loop_io *pid_io, *in_io, *err_io;
	struct buf err;
};

/* Reports the result once and frees everything (the conn's free is
 * deferred when called from inside one of its ops). */
void smtp_submit_finish(struct smtp_submit *s, enum smtp_status status,
			const char *error);
/* Frees without reporting (abort, or after finish). */
void smtp_submit_destroy(struct smtp_submit *s);

/* smtp-client.c */
void smtp_client_start(struct smtp_submit *s);
void smtp_client_cleanup(struct smtp_submit *s);
/* smtp-sendmail.c */
void smtp_sendmail_start(struct smtp_submit *s);
void smtp_sendmail_cleanup(struct smtp_submit *s);

#endif
