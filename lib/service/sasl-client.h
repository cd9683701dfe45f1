/* The login half that svc-imap (LOGIN, AUTHENTICATE), svc-pop3 (USER/PASS,
 * AUTH) and svc-managesieve (AUTHENTICATE) share: every SASL step goes to
 * svc-auth's Sasl RPC and comes back as one decoded answer; after a
 * success, svc-auth's Connect counts the session for
 * mail_max_userip_connections. Also the strict base64 of SASL lines and
 * wiping buffers that held a password. The protocol services keep their
 * own wording and state; nothing here writes to a client. */
#ifndef STRATUS_SASL_CLIENT_H
#define STRATUS_SASL_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "rpc.h"

enum sasl_client_result {
	SASL_CLIENT_CONTINUE,	/* send the challenge, read a response */
	SASL_CLIENT_OK,		/* user is set (never empty) */
	SASL_CLIENT_FAILED,	/* wrong credentials; reason for logs */
	SASL_CLIENT_LIMIT,	/* mail_max_userip_connections */
	SASL_CLIENT_TEMPFAIL,	/* svc-auth or its backends cannot answer */
};

/* One step of an exchange. Strings are borrowed for the call. */
struct sasl_client_step {
	const char *mechanism;	/* "PLAIN" or "LOGIN" */
	uint64_t sasl_id;	/* 0 at the first step */
	const void *response;	/* decoded, not base64 */
	size_t response_len;
	bool has_response;	/* initial or continuation response given */
	bool abort;		/* the client gave up ("*") */
	const char *protocol;	/* "imap", "pop3", "managesieve" */
	const char *local_ip;	/* NULL = "" */
	unsigned int local_port;
	const char *remote_ip;	/* the TCP peer; NULL = the Context's */
	bool secured;		/* see sasl_client_secured() */
	bool valid_client_cert;	/* tls_stream_has_valid_client_cert() */
};

struct sasl_client_answer {
	enum sasl_client_result result;
	uint64_t sasl_id;	/* for the next step */
	const void *challenge;	/* CONTINUE: raw bytes to base64 */
	size_t challenge_len;
	const char *user;	/* OK: the normalised user */
	const char *reason;	/* FAILED: for logs, never for clients */
	const char *error;	/* TEMPFAIL from the RPC itself, else NULL */
};

/* Valid only during the call. */
typedef void sasl_client_cb(const struct sasl_client_answer *answer,
			    void *ctx);

/* Sends one step; cb runs once from the loop. With step->abort nobody
 * waits: cb must be NULL. */
void sasl_client_send(struct rpc_client *auth, const Stratus__Context *ctx,
		      const struct sasl_client_step *step,
		      uint32_t timeout_ms, sasl_client_cb *cb, void *cb_ctx);

/* Connect's answer: allowed, or refused at `limit`. When counting failed
 * (error set) the caller lets the login through, as Dovecot does when its
 * anvil is down. */
struct sasl_client_connect_answer {
	bool allowed;
	unsigned int limit;
	const char *error;	/* the count could not be made */
};
typedef void sasl_client_connect_cb(
	const struct sasl_client_connect_answer *answer, void *ctx);

/* Counts (release = false) or releases a session of user from ip for
 * mail_max_userip_connections of protocol. cb NULL: not awaited. */
void sasl_client_connect(struct rpc_client *auth, const Stratus__Context *ctx,
			 const char *user, const char *protocol,
			 const char *ip, bool release, uint32_t timeout_ms,
			 sasl_client_connect_cb *cb, void *cb_ctx);

/* Plaintext from loopback counts as secured (ssl = no on a backend), as
 * Dovecot treats it: 127.0.0.0/8, ::1, and "local" (a UNIX socket). */
bool sasl_client_secured(const char *peer_ip);

/* RFC 4648 base64 of SASL lines. Decoding is strict: length a multiple of
 * 4, padding only at the end; -1 on anything else, or when out's max
 * is reached. */
void sasl_base64_encode(const void *in, size_t len, struct buf *out);
int sasl_base64_decode(const char *in, size_t len, struct buf *out);

/* Zeroes everything b ever held, then frees it. */
void sasl_buf_wipe_free(struct buf *b);

#endif
