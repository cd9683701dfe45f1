/* svc-pop3 inside: settings, server and client state, and the backend
 * through which the engine reaches svc-auth (SASL), svc-index (the
 * maildrop, expunge, \Seen) and svc-blob (bodies). The engine does no RPC
 * itself, so unit tests drive it with a fake backend. */
#ifndef POP3_COMMON_H
#define POP3_COMMON_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "config.h"
#include "log.h"
#include "loop.h"
#include "pop3-parser.h"
#include "text-conn.h"
#include "text-line.h"

#define POP3_IDLE_MSECS_AUTH (60 * 1000)	/* before login */
#define POP3_IDLE_MSECS (10 * 60 * 1000)	/* RFC 1939: at least 10 min */
#define POP3_MAX_BAD_COMMANDS 20
/* One pread of a body: most messages in one call (a short read ends the
 * body); a static buffer of the process, svc-pop3 is single-threaded. */
#define POP3_XFER_CHUNK (128 * 1024)
/* The RPC backend's read-ahead of bodies (pop3-maildrop.c): at most this
 * many messages per session are asked for or held as open fds; the
 * window starts at one message and doubles with every RETR/TOP that asks
 * for the next one (any other drops it back to one), so a client that
 * reads one message costs one extra Get, not sixteen. */
#define POP3_AHEAD_MAX 16

struct pop3_settings {
	char *login_greeting;
	char *uidl_format;
	bool no_flag_updates;
	bool outlook_no_nuls;
	bool oe_ns_eoh;
	char *auth_mechanisms;	/* "PLAIN LOGIN" upper-cased */
};

/* 0, or -1 with *error_r (malloc'd) for an unknown workaround. */
int pop3_settings_read(struct pop3_settings *set, const struct config *cfg,
		       char **error_r);
void pop3_settings_free(struct pop3_settings *set);

struct pop3_message {
	uint32_t uid;
	char *guid;
	char *object_id;	/* svc-blob object id; NULL in unit tests */
	uint64_t size;		/* CRLF size, what LIST reports */
	bool deleted;
	bool seen_set;		/* RETR'd: set \Seen at QUIT */
};

enum pop3_auth_result {
	POP3_AUTH_CONTINUE,
	POP3_AUTH_OK,
	POP3_AUTH_FAILED,
	POP3_AUTH_TEMPFAIL,
	POP3_AUTH_LIMIT,	/* mail_max_userip_connections */
};

struct pop3_client;
struct pop3_server;

typedef void pop3_auth_cb(struct pop3_client *client,
			  enum pop3_auth_result result,
			  const void *challenge, size_t challenge_len,
			  const char *user);
enum pop3_maildrop_result {
	POP3_MAILDROP_OK,
	POP3_MAILDROP_TEMPFAIL,	/* -ERR [SYS/TEMP] */
	POP3_MAILDROP_IN_USE,	/* mail_max_userip_connections: [IN-USE] */
};

/* messages: malloc'd array (ownership passes) or NULL on failure */
typedef void pop3_maildrop_cb(struct pop3_client *client,
			      enum pop3_maildrop_result result,
			      struct pop3_message *messages,
			      unsigned int count, uint32_t uidvalidity);
typedef void pop3_body_cb(struct pop3_client *client, int fd);
typedef void pop3_update_cb(struct pop3_client *client, bool ok);

struct pop3_backend {
	/* One SASL step. sasl_id 0 starts an exchange. */
	void (*sasl)(struct pop3_server *server, struct pop3_client *client,
		     const char *mech, uint64_t sasl_id, const void *resp,
		     size_t resp_len, bool has_resp, bool abort,
		     pop3_auth_cb *cb);
	void (*maildrop)(struct pop3_server *server,
			 struct pop3_client *client, pop3_maildrop_cb *cb);
	/* fd: the stored message, read from offset 0; -1 on failure. */
	void (*body)(struct pop3_server *server, struct pop3_client *client,
		     const struct pop3_message *msg, pop3_body_cb *cb);
	/* At QUIT: expunge deleted, set \Seen on seen (unless
	 * pop3_no_flag_updates). */
	void (*update)(struct pop3_server *server, struct pop3_client *client,
		       const uint32_t *expunge, unsigned int n_expunge,
		       const uint32_t *seen, unsigned int n_seen,
		       pop3_update_cb *cb);
	/* Ends the mail_max_userip_connections count of a logged-in user. */
	void (*logout)(struct pop3_server *server, struct pop3_client *client);
};

struct pop3_server {
	struct loop *loop;
	const struct config *cfg;
	struct pop3_settings set;
	const struct pop3_backend *backend;
	void *backend_ctx;
	void (*clients_changed)(struct pop3_server *server);
	/* TLS, set by main.c (lib/tls); NULL: STLS is not offered and
	 * plaintext login follows only the loopback rule. */
	bool (*tls_available)(struct pop3_server *server);
	int (*tls_start)(struct pop3_server *server, struct stream **sp);
	bool (*plaintext_allowed)(struct pop3_server *server, bool secured);
	struct tls_service *tls;	/* main.c's, for the three above */
	void *svc;
	unsigned int n_clients;
	struct pop3_client *clients;
	/* fds the read-ahead holds or has asked for, all sessions; it asks
	 * for no more than ahead_fds_max (a quarter of RLIMIT_NOFILE) */
	unsigned int ahead_fds, ahead_fds_max;
	uint64_t n_logins, n_login_failures, n_retr, n_expunged;
};

enum pop3_state {
	POP3_STATE_AUTH,
	POP3_STATE_TRANS,
	POP3_STATE_UPDATE,
};

struct pop3_client {
	struct pop3_server *server;
	struct pop3_client *prev, *next;
	struct text_conn *conn;
	bool tls;		/* STLS done, or a pop3s connection */
	struct stream *tls_stream;	/* then: the TLS layer, owned by conn */
	char local_ip[64];	/* our end: same-address counts as secured */
	int refcount;
	bool disconnected;
	char session[24];
	char *client_ip;
	unsigned int client_port;
	struct log_ctx log;
	enum pop3_state state;
	bool busy;
	struct text_line_reader lines;	/* command lines, bounded */
	unsigned int bad_commands;
	/* AUTHORIZATION */
	char *user_cmd;		/* USER argument */
	char *sasl_mech;	/* non-NULL during AUTH: reading responses */
	uint64_t sasl_id;
	char *user;		/* logged in */
	bool counted;		/* Connect() counted this session */
	/* TRANSACTION */
	struct pop3_message *msgs;
	unsigned int n_msgs;
	uint32_t uidvalidity;
	uint64_t retr_count, retr_bytes, top_count, top_bytes;
	/* a RETR/TOP in progress */
	int xfer_fd;
	uint64_t xfer_offset;
	struct pop3_xfer xfer;
	struct pop3_message *xfer_msg;
	/* The backend's read-ahead (pop3-maildrop.c): the messages after the
	 * one read last, in message order, each a Get in flight or its fd. */
	struct pop3_ahead {
		unsigned int idx;	/* in msgs */
		uint32_t seq;		/* names its Get's answer */
		int fd;			/* -1: in flight, or its Get failed */
		bool busy;		/* Get in flight */
		pop3_body_cb *cb;	/* a RETR/TOP waiting for it */
	} ahead[POP3_AHEAD_MAX];
	unsigned int n_ahead;
	unsigned int ahead_depth;	/* window size now, 1..POP3_AHEAD_MAX */
	uint32_t ahead_seq;
	int ahead_next;		/* msgs index a sequential reader reads next */
};

/* pop3-client.c */
void pop3_server_init(struct pop3_server *server, struct loop *loop,
		      const struct config *cfg,
		      const struct pop3_backend *backend, void *backend_ctx);
void pop3_server_deinit(struct pop3_server *server);
struct stream;
struct tls_service;
struct pop3_client *pop3_client_create(struct pop3_server *server, int fd,
				       const char *client_ip,
				       unsigned int client_port);
/* The same on a pop3s listener: TLS from the first byte. */
struct pop3_client *pop3_client_create_tls(struct pop3_server *server, int fd,
					   const char *client_ip,
					   unsigned int client_port);
/* STLS: TLS starts once the reply queued now is written. */
void pop3_client_starttls(struct pop3_client *client);
/* TLS is on, or the peer is loopback / our own address (Dovecot's
 * "secured"); and whether USER/PASS and AUTH PLAIN/LOGIN may run. */
bool pop3_client_secured(const struct pop3_client *client);
bool pop3_client_plaintext_allowed(const struct pop3_client *client);
void pop3_client_ref(struct pop3_client *client);
void pop3_client_unref(struct pop3_client **client);
void pop3_client_reply(struct pop3_client *client, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void pop3_client_continue(struct pop3_client *client);
/* Starts streaming the open body fd as RETR/TOP output. */
void pop3_client_xfer_start(struct pop3_client *client, int fd);

/* Frees an array of n messages and their strings. */
void pop3_messages_free(struct pop3_message *msgs, unsigned int n);

/* pop3-commands.c */
void pop3_client_command(struct pop3_client *client, char *line, size_t len);
void pop3_client_sasl_response(struct pop3_client *client, char *line,
			       size_t len);
/* The UIDL of a message by pop3_uidl_format; appends to out. */
int pop3_uidl(const struct pop3_client *client, const struct pop3_message *m,
	      struct buf *out);

#endif
