#include "tls-stream.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

struct tls_ctx {
	SSL_CTX *ssl_ctx;
};

struct tls_stream {
	struct stream s;	/* first: a struct stream * is a tls_stream */
	struct stream *inner;
	SSL *ssl;
};

static int tls_min_version(const char *name)
{
	if (name == NULL || *name == '\0')
		return TLS1_2_VERSION;
	if (strcmp(name, "TLSv1.2") == 0)
		return TLS1_2_VERSION;
	if (strcmp(name, "TLSv1.3") == 0)
		return TLS1_3_VERSION;
	return -1;
}

struct tls_ctx *tls_ctx_new(const struct tls_server_settings *set,
			    const char **error)
{
	int minv = tls_min_version(set->min_protocol);
	if (minv < 0) {
		*error = "ssl_min_protocol must be TLSv1.2 or TLSv1.3";
		return NULL;
	}
	/* OpenSSL's socket BIO writes with write(), not send(MSG_NOSIGNAL):
	 * a peer that went away must cost its connection, not the process. */
	signal(SIGPIPE, SIG_IGN);
	SSL_CTX *c = SSL_CTX_new(TLS_server_method());
	if (c == NULL) {
		*error = "SSL_CTX_new failed";
		return NULL;
	}
	/* Client renegotiation is refused: a cheap way to burn our CPU. */
	SSL_CTX_set_options(c, SSL_OP_NO_RENEGOTIATION |
			    SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE |
			 SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (set->prefer_server_ciphers)
		SSL_CTX_set_options(c, SSL_OP_CIPHER_SERVER_PREFERENCE);
	if (SSL_CTX_set_min_proto_version(c, minv) != 1) {
		*error = "ssl_min_protocol not supported";
	} else if (set->cipher_list != NULL && *set->cipher_list != '\0' &&
		   SSL_CTX_set_cipher_list(c, set->cipher_list) != 1) {
		*error = "ssl_cipher_list matches no cipher";
	} else if (SSL_CTX_use_certificate_chain_file(c, set->cert_file)
		   != 1) {
		*error = "cannot load ssl_cert";
	} else if (SSL_CTX_use_PrivateKey_file(c, set->key_file,
					       SSL_FILETYPE_PEM) != 1) {
		*error = "cannot load ssl_key";
	} else if (SSL_CTX_check_private_key(c) != 1) {
		*error = "ssl_key does not match ssl_cert";
	} else {
		struct tls_ctx *ctx = calloc(1, sizeof(*ctx));
		if (ctx != NULL) {
			ctx->ssl_ctx = c;
			return ctx;
		}
		*error = "out of memory";
	}
	ERR_clear_error();
	SSL_CTX_free(c);
	return NULL;
}

void tls_ctx_free(struct tls_ctx **ctxp)
{
	if (*ctxp == NULL)
		return;
	SSL_CTX_free((*ctxp)->ssl_ctx);
	free(*ctxp);
	*ctxp = NULL;
}

/* Maps an SSL_read/SSL_write result to the stream contract. */
static ssize_t tls_result(struct tls_stream *t, int ret)
{
	int err = SSL_get_error(t->ssl, ret);
	t->s.want_write = false;
	switch (err) {
	case SSL_ERROR_WANT_READ:
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_WANT_WRITE:
		t->s.want_write = true;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_SYSCALL:
		ERR_clear_error();
		if (errno == 0)
			return 0;	/* peer closed without close_notify */
		return -1;
	default:
		/* Garbage handshake, bad record: this connection only. */
		ERR_clear_error();
		errno = EPROTO;
		return -1;
	}
}

static ssize_t tls_read(struct stream *s, void *buf, size_t len)
{
	struct tls_stream *t = (struct tls_stream *)s;
	size_t got = 0;
	errno = 0;
	int ret = SSL_read_ex(t->ssl, buf, len, &got);
	if (ret == 1) {
		t->s.want_write = false;
		return (ssize_t)got;
	}
	return tls_result(t, ret);
}

static ssize_t tls_write(struct stream *s, const void *buf, size_t len)
{
	struct tls_stream *t = (struct tls_stream *)s;
	size_t put = 0;
	errno = 0;
	int ret = SSL_write_ex(t->ssl, buf, len, &put);
	if (ret == 1) {
		t->s.want_write = false;
		return (ssize_t)put;
	}
	ssize_t r = tls_result(t, ret);
	if (r == 0) {
		errno = EPIPE;
		r = -1;
	}
	return r;
}

static size_t tls_pending(struct stream *s)
{
	struct tls_stream *t = (struct tls_stream *)s;
	return (size_t)SSL_pending(t->ssl);
}

static void tls_destroy(struct stream *s)
{
	struct tls_stream *t = (struct tls_stream *)s;
	/* One best-effort close_notify; never wait for the peer's. */
	if (SSL_is_init_finished(t->ssl))
		(void)SSL_shutdown(t->ssl);
	ERR_clear_error();
	SSL_free(t->ssl);
	stream_destroy(&t->inner);
	free(t);
}

static const struct stream_ops tls_ops = {
	.read = tls_read,
	.write = tls_write,
	.pending = tls_pending,
	.destroy = tls_destroy,
};

int tls_stream_start(struct tls_ctx *ctx, struct stream **sp)
{
	struct tls_stream *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return -1;
	t->ssl = SSL_new(ctx->ssl_ctx);
	if (t->ssl == NULL || SSL_set_fd(t->ssl, (*sp)->fd) != 1) {
		SSL_free(t->ssl);
		free(t);
		ERR_clear_error();
		return -1;
	}
	SSL_set_accept_state(t->ssl);
	t->s.ops = &tls_ops;
	t->s.fd = (*sp)->fd;
	t->inner = *sp;
	*sp = &t->s;
	return 0;
}
