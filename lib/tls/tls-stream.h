#ifndef STRATUS_TLS_STREAM_H
#define STRATUS_TLS_STREAM_H

#include <stdbool.h>

#include "stream.h"

/* Server-side TLS over a struct stream, OpenSSL, non-blocking: the
 * handshake runs inside the first reads/writes, so the owner's epoll
 * loop drives it like any other I/O (see stream.h's want_write). */
struct tls_server_settings {
	const char *cert_file;		/* PEM chain */
	const char *key_file;		/* PEM key */
	const char *min_protocol;	/* "TLSv1.2", "TLSv1.3" or NULL */
	const char *cipher_list;	/* OpenSSL cipher string or NULL */
	bool prefer_server_ciphers;
};

struct tls_ctx;

/* NULL with *error set (static text) on a bad certificate/key/setting. */
struct tls_ctx *tls_ctx_new(const struct tls_server_settings *set,
			    const char **error);
void tls_ctx_free(struct tls_ctx **ctxp);

/* Wraps *sp (a plain stream; its fd becomes the TLS session's) in a
 * server TLS stream. On failure *sp is untouched and -1 is returned. */
int tls_stream_start(struct tls_ctx *ctx, struct stream **sp);

#endif
