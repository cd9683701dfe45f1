#ifndef STRATUS_TLS_STREAM_H
#define STRATUS_TLS_STREAM_H

#include <stdbool.h>

#include "stream.h"

/* Server-side TLS over a struct stream, OpenSSL, non-blocking: the
 * handshake runs inside the first reads/writes, so the owner's epoll
 * loop drives it like any other I/O (see stream.h's want_read and
 * want_write). Bad input from the peer (garbage handshake, a truncated
 * or forged record, a renegotiation attempt) makes that stream's read
 * fail with EPROTO; nothing else is affected. */
struct tls_server_settings {
	/* PEM text, as Dovecot's `ssl_cert = </file` reads it: the
	 * certificate followed by its chain, and the private key. */
	const char *cert_pem;
	const char *key_pem;
	const char *min_protocol;	/* "TLSv1.2", "TLSv1.3" or NULL */
	const char *cipher_list;	/* OpenSSL cipher string or NULL */
	bool prefer_server_ciphers;
	/* ssl_key_password: the passphrase of an encrypted ssl_key (NULL
	 * or "" = the key is not encrypted; an encrypted one is refused). */
	const char *key_password;
	/* ssl_dh: PEM DH parameters for the DHE ciphers; NULL or "" =
	 * OpenSSL's built-in groups sized to the certificate's key. */
	const char *dh_pem;
	/* ssl_verify_client_cert: ask the client for a certificate; one
	 * that does not verify against ca_pem (ssl_ca: CA certificates,
	 * then CRLs) fails the handshake, none at all is let through
	 * (auth_ssl_require_client_cert decides at login). */
	bool verify_client_cert;
	const char *ca_pem;
	bool require_crl;	/* ssl_require_crl: a CRL for every CA */
	/* verbose_ssl: handshake steps, alerts and OpenSSL's reason for a
	 * failed handshake go to the log. */
	bool verbose;
};

struct tls_ctx;

/* NULL with *error set (static text) on a bad certificate/key/setting. */
struct tls_ctx *tls_ctx_new(const struct tls_server_settings *set,
			    const char **error);
/* Sessions already started keep their own reference to the OpenSSL
 * context, so a context may be freed (a reload) while they run. */
void tls_ctx_free(struct tls_ctx **ctxp);

/* Wraps *sp (a plain stream; its fd becomes the TLS session's) in a
 * server TLS stream. On failure *sp is untouched and -1 is returned. */
int tls_stream_start(struct tls_ctx *ctx, struct stream **sp);

/* Whether the peer presented a certificate that verified against
 * ssl_ca (only asked for with verify_client_cert). */
bool tls_stream_has_valid_client_cert(struct stream *s);

/* "TLSv1.3 TLS_AES_256_GCM_SHA384" once the handshake is done, else
 * NULL; for the log. Valid while the stream lives. */
const char *tls_stream_describe(struct stream *s, char *buf, size_t size);

#endif
