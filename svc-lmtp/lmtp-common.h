/* svc-lmtp inside: settings, the server and client state, and the backend
 * interface through which the protocol engine reaches svc-auth, svc-blob
 * and svc-index. The engine (lmtp-client.c, lmtp-commands.c) never does
 * RPC itself, so unit tests drive it with a fake backend. */
#ifndef LMTP_COMMON_H
#define LMTP_COMMON_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "config.h"
#include "log.h"
#include "loop.h"
#include "lmtp-parser.h"
#include "text-conn.h"
#include "text-line.h"

/* Named bounds. */
#define LMTP_MAX_RECIPIENTS 1000	/* per transaction: 452 4.5.3 */
#define LMTP_DEFAULT_MAX_MESSAGE_SIZE (64ULL * 1024 * 1024)
#define LMTP_IDLE_MSECS (5 * 60 * 1000)
#define LMTP_MAX_HELO 255

struct lmtp_settings {
	char *hostname;
	char *login_greeting;
	char *recipient_delimiter;
	bool save_to_detail_mailbox;
	char *hdr_delivery_address;	/* final | original | none */
	bool trusted_networks_set;	/* login_trusted_networks non-empty */
	uint64_t max_message_size;
	uint64_t idle_msecs;
	char *postmaster_address;
	char *submission_host;
	char *sendmail_path;
	bool mailbox_autocreate;	/* lda_mailbox_autocreate */
	bool mailbox_autosubscribe;	/* lda_mailbox_autosubscribe */
	bool quota_enabled;	/* quota in mail_plugins + plugin/quota */
	bool mail_log_save;	/* mail_log plugin logs "saved" lines */
	bool sieve_enabled;	/* sieve in mail_plugins (lmtp-sieve.c) */
};

void lmtp_settings_read(struct lmtp_settings *set, const struct config *cfg);
void lmtp_settings_free(struct lmtp_settings *set);

enum lmtp_result {
	LMTP_RESULT_OK,
	LMTP_RESULT_NOT_FOUND,		/* 550 5.1.1 */
	LMTP_RESULT_TEMPFAIL,		/* 451 4.3.0 */
	LMTP_RESULT_OVER_QUOTA,		/* 552 5.2.2 */
	LMTP_RESULT_OVER_QUOTA_TEMP,	/* 452 4.2.2 (quota_full_tempfail) */
	LMTP_RESULT_REJECTED,		/* 550 5.7.1 <reason>: Sieve reject */
};

struct lmtp_rcpt {
	char *address;		/* as given in RCPT TO */
	char *lookup_user;	/* address without the detail */
	char *detail;		/* "" when none */
	char *orcpt;		/* ORCPT address or NULL */
	char *user;		/* the userdb's normalised user */
	char *mailbox;		/* where to save: INBOX or the detail */
	/* after DATA */
	bool done;
	char *reply;		/* full reply line without CRLF */
	/* The backend's state for this recipient (e.g. a mailbox lookup
	 * started at RCPT), released with the recipient. */
	void *backend_data;
	void (*backend_data_free)(void *data);
};

/* Frees a recipient and its backend data. */
void lmtp_rcpt_free(struct lmtp_rcpt *rcpt);

struct lmtp_client;
struct lmtp_server;

typedef void lmtp_lookup_cb(struct lmtp_client *client,
			    struct lmtp_rcpt *rcpt, enum lmtp_result result);
typedef void lmtp_deliver_cb(struct lmtp_client *client,
			     struct lmtp_rcpt *rcpt, enum lmtp_result result,
			     const char *error);
typedef void lmtp_trust_cb(struct lmtp_client *client, bool trusted);

/* The transaction as the backend sees it. */
struct lmtp_txn {
	char *mail_from;	/* "" for <> */
	bool body_8bit, smtputf8;
	int body_fd;		/* memfd, unstuffed body, -1 before data */
	uint64_t body_size;
	struct lmtp_rcpt **rcpts;	/* accepted recipients */
	unsigned int n_rcpts;
	int64_t received_time;
};

/* Every callback runs exactly once, from the loop or before the call
 * returns; the client stays valid until then (it is referenced). */
struct lmtp_backend {
	void (*rcpt_lookup)(struct lmtp_server *server,
			    struct lmtp_client *client,
			    struct lmtp_rcpt *rcpt, lmtp_lookup_cb *cb);
	void (*deliver)(struct lmtp_server *server, struct lmtp_client *client,
			const struct lmtp_txn *txn, struct lmtp_rcpt *rcpt,
			lmtp_deliver_cb *cb);
	/* login_trusted_networks: may this peer use XCLIENT? */
	void (*trust)(struct lmtp_server *server, struct lmtp_client *client,
		      lmtp_trust_cb *cb);
};

struct lmtp_server {
	struct loop *loop;
	const struct config *cfg;
	struct lmtp_settings set;
	const struct lmtp_backend *backend;
	void *backend_ctx;
	void (*clients_changed)(struct lmtp_server *server);
	void *svc;		/* struct service *, NULL in unit tests */
	/* main.c's TLS settings and certificate (lib/tls); NULL: STARTTLS
	 * is refused as not enabled (unit tests without TLS) */
	struct tls_service *tls;
	unsigned int n_clients;
	struct lmtp_client *clients;
	uint64_t n_connections, n_delivered, n_failed, n_rejected_rcpts;
};

enum lmtp_state {
	LMTP_STATE_CMD,		/* reading command lines */
	LMTP_STATE_DATA,	/* reading a DATA body */
	LMTP_STATE_BDAT,	/* reading a BDAT chunk */
};

struct lmtp_client {
	struct lmtp_server *server;
	struct lmtp_client *prev, *next;
	struct text_conn *conn;
	int refcount;
	bool disconnected;
	char *disconnect_reason;
	char session[24];
	char *client_ip;	/* "" on a UNIX socket */
	unsigned int client_port;
	char *login;		/* XCLIENT LOGIN */
	bool tls;		/* STARTTLS done, or an ssl = yes listener */
	struct log_ctx log;
	enum lmtp_state state;
	bool lhlo_done;
	char *helo;
	bool trusted;
	bool busy;		/* waiting for the backend: no input */
	struct text_line_reader lines;	/* command lines, bounded */
	/* the transaction */
	bool mail_given;
	struct lmtp_txn txn;
	unsigned int n_rcpt_cmds;
	struct lmtp_rcpt *pending_rcpt;
	bool too_big;
	bool write_failed;
	struct lmtp_data_parser data;
	struct buf chunk;	/* scratch for unstuffed bytes */
	uint64_t bdat_remaining;
	bool bdat_last;
	bool bdat_started;
	const char *bdat_error;	/* reply after the chunk was skipped */
	unsigned int replies_sent;	/* per-recipient DATA replies */
};

/* lmtp-client.c */
void lmtp_server_init(struct lmtp_server *server, struct loop *loop,
		      const struct config *cfg,
		      const struct lmtp_backend *backend, void *backend_ctx);
void lmtp_server_deinit(struct lmtp_server *server);
/* Takes ownership of an accepted fd. client_ip "" for UNIX sockets. */
struct lmtp_client *lmtp_client_create(struct lmtp_server *server, int fd,
				       const char *client_ip,
				       unsigned int client_port);
/* The same on an ssl = yes listener: TLS from the first byte; NULL
 * when TLS could not start (the fd is closed). */
struct lmtp_client *lmtp_client_create_tls(struct lmtp_server *server,
					   int fd, const char *client_ip,
					   unsigned int client_port);
void lmtp_client_ref(struct lmtp_client *client);
void lmtp_client_unref(struct lmtp_client **client);
void lmtp_client_reply(struct lmtp_client *client, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* After an async step: take the next command. */
void lmtp_client_continue(struct lmtp_client *client);
void lmtp_client_txn_reset(struct lmtp_client *client);

/* lmtp-commands.c */
void lmtp_client_command(struct lmtp_client *client, char *line, size_t len);
void lmtp_client_body_done(struct lmtp_client *client);
void lmtp_client_greet(struct lmtp_client *client);

/* lmtp-tls.c */
struct tls_service;
/* STARTTLS goes in LHLO's reply: not yet in TLS, a certificate loaded. */
bool lmtp_client_starttls_offered(const struct lmtp_client *client);
void lmtp_cmd_starttls(struct lmtp_client *client, const char *args);
/* Implicit TLS on a new client, before anything is written. */
int lmtp_client_tls_wrap(struct lmtp_client *client);

#endif
