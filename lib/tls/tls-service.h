/* The TLS side of a protocol service: Dovecot's ssl, ssl_cert, ssl_key,
 * ssl_key_password, ssl_dh, ssl_ca, ssl_verify_client_cert,
 * ssl_require_crl, verbose_ssl, ssl_min_protocol, ssl_cipher_list,
 * ssl_prefer_server_ciphers and disable_plaintext_auth, read for one
 * protocol, turned into a TLS
 * context, and swapped on reload. Used by svc-imap, svc-pop3, svc-lmtp
 * and svc-managesieve alike, so all four offer and refuse the same. */
#ifndef STRATUS_TLS_SERVICE_H
#define STRATUS_TLS_SERVICE_H

#include <stdbool.h>

#include "config.h"
#include "tls-stream.h"

enum tls_ssl_mode {
	TLS_SSL_NO,		/* ssl = no: no TLS at all */
	TLS_SSL_YES,		/* offered; plaintext auth per
				   disable_plaintext_auth */
	TLS_SSL_REQUIRED,	/* no authentication before TLS */
};

struct tls_service {
	char *protocol;		/* "imap", "pop3", "lmtp", "sieve" */
	enum tls_ssl_mode mode;
	bool disable_plaintext_auth;
	/* NULL when ssl = no, or ssl != no without ssl_cert (then a
	 * start-up warning says STARTTLS is not offered). */
	struct tls_ctx *ctx;
};

/* Reads the settings as seen from `protocol`. A set but unusable
 * certificate or key is an error (-1, *error_r malloc'd): a service must
 * not start believing it offers TLS when it cannot, as Dovecot refuses. */
int tls_service_init(struct tls_service *ts, const struct config *cfg,
		     const char *protocol, char **error_r);
/* SIGHUP: builds a context from cfg (the freshly loaded file) for new
 * connections; sessions already in TLS keep theirs. A context that does
 * not build is logged and the running one is kept. */
void tls_service_reload(struct tls_service *ts, const struct config *cfg);
void tls_service_deinit(struct tls_service *ts);

/* Whether a peer counts as secured without TLS, as in Dovecot: a
 * loopback address, a UNIX socket, or the same address as our end. */
bool tls_peer_secured(const char *peer_ip, const char *local_ip);

/* STARTTLS (STLS) may be offered: a context is loaded. */
static inline bool tls_service_available(const struct tls_service *ts)
{
	return ts->ctx != NULL;
}

/* Plaintext SASL (IMAP LOGIN, AUTH PLAIN/LOGIN, POP3 USER/PASS) may run
 * on a connection: `secured` is TLS on it, or tls_peer_secured(). */
static inline bool tls_service_plaintext_allowed(const struct tls_service *ts,
						 bool secured)
{
	return secured || (!ts->disable_plaintext_auth &&
			   ts->mode != TLS_SSL_REQUIRED);
}

/* Starts TLS on *sp with the current context; -1 when there is none
 * or OpenSSL failed (the caller closes that connection). */
int tls_service_start(struct tls_service *ts, struct stream **sp);

#endif
