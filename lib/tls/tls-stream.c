/* Server TLS as a struct stream (see tls-stream.h). OpenSSL reads and
 * writes the socket itself; this file maps its WANT_READ/WANT_WRITE
 * answers onto the stream contract so one epoll loop drives everything. */
#include "tls-stream.h"
#include "tls-private.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
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
	if (strcmp(name, "TLSv1.3") == 0 || strcmp(name, "LATEST") == 0)
		return TLS1_3_VERSION;
	return -1;
}

static bool tls_set(const char *value)
{
	return value != NULL && *value != '\0';
}

/* ssl_key with ssl_key_password; NULL, or why it did not load. */
static const char *tls_ctx_load_key(SSL_CTX *c,
				    const struct tls_server_settings *set)
{
	if (set->key_pem == NULL)
		return "cannot load ssl_key (expected PEM text: "
		       "ssl_key = </path/to/key.pem)";
	if (tls_use_key_pem(c, set->key_pem, set->key_password) == 0)
		return NULL;
	if (!tls_pem_encrypted(set->key_pem))
		return "cannot load ssl_key (expected a PEM key: "
		       "ssl_key = </path/to/key.pem)";
	return tls_set(set->key_password) ?
		"cannot decrypt ssl_key: wrong ssl_key_password" :
		"ssl_key is encrypted: set ssl_key_password";
}

/* ssl_ca and ssl_verify_client_cert; NULL, or why not. */
static const char *tls_ctx_client_verify(SSL_CTX *c,
					 const struct tls_server_settings *set)
{
	if (set->verify_client_cert && !tls_set(set->ca_pem))
		return "ssl_verify_client_cert = yes needs ssl_ca "
		       "(the CAs client certificates are checked against)";
	if (tls_set(set->ca_pem) &&
	    tls_use_ca_pem(c, set->ca_pem, set->require_crl) < 0)
		return "cannot load ssl_ca (expected PEM CA certificates, "
		       "then CRLs: ssl_ca = </path/to/ca.pem)";
	if (set->verify_client_cert) {
		SSL_CTX_set_verify(c, SSL_VERIFY_PEER | SSL_VERIFY_CLIENT_ONCE,
				   tls_verify_client_cb);
		/* a session resumed under SSL_VERIFY_PEER needs one */
		static const unsigned char sid_ctx[] = "stratus";
		SSL_CTX_set_session_id_context(c, sid_ctx,
					       sizeof(sid_ctx) - 1);
	}
	return NULL;
}

static SSL_CTX *tls_ssl_ctx_new(const struct tls_server_settings *set,
				const char **error)
{
	int minv = tls_min_version(set->min_protocol);
	if (minv < 0) {
		*error = "ssl_min_protocol must be TLSv1.2, TLSv1.3 or LATEST "
			 "(older protocols are not offered)";
		return NULL;
	}
	SSL_CTX *c = SSL_CTX_new(TLS_server_method());
	if (c == NULL) {
		*error = "SSL_CTX_new failed";
		return NULL;
	}
	/* Client renegotiation is refused: a cheap way to burn our CPU. */
	SSL_CTX_set_options(c, SSL_OP_NO_RENEGOTIATION |
			    SSL_OP_NO_COMPRESSION);
	/* Partial writes: the owner's output buffer moves as the socket
	 * takes bytes, so a retried SSL_write sees a moved pointer. */
	SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE |
			 SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
			 SSL_MODE_RELEASE_BUFFERS);
	if (set->prefer_server_ciphers)
		SSL_CTX_set_options(c, SSL_OP_CIPHER_SERVER_PREFERENCE);
	if (SSL_CTX_set_min_proto_version(c, minv) != 1) {
		*error = "ssl_min_protocol not supported";
	} else if (set->cipher_list != NULL && *set->cipher_list != '\0' &&
		   SSL_CTX_set_cipher_list(c, set->cipher_list) != 1) {
		*error = "ssl_cipher_list matches no cipher";
	} else if (set->cert_pem == NULL ||
		   tls_use_cert_pem(c, set->cert_pem) < 0) {
		*error = "cannot load ssl_cert (expected PEM text: "
			 "ssl_cert = </path/to/cert.pem)";
	} else if ((*error = tls_ctx_load_key(c, set)) != NULL) {
		/* *error says why */
	} else if (SSL_CTX_check_private_key(c) != 1) {
		*error = "ssl_key does not match ssl_cert";
	} else if (tls_use_dh_pem(c, set->dh_pem) < 0) {
		*error = "cannot load ssl_dh (expected PEM DH parameters: "
			 "ssl_dh = </path/to/dh.pem)";
	} else if ((*error = tls_ctx_client_verify(c, set)) != NULL) {
		/* *error says why */
	} else {
		if (set->verbose)
			tls_verbose_enable(c);
		return c;
	}
	ERR_clear_error();
	SSL_CTX_free(c);
	return NULL;
}

struct tls_ctx *tls_ctx_new(const struct tls_server_settings *set,
			    const char **error)
{
	/* OpenSSL's socket BIO writes with write(), not send(MSG_NOSIGNAL):
	 * a peer that went away must cost its connection, not the process. */
	signal(SIGPIPE, SIG_IGN);
	SSL_CTX *c = tls_ssl_ctx_new(set, error);
	if (c == NULL)
		return NULL;
	struct tls_ctx *ctx = calloc(1, sizeof(*ctx));
	if (ctx == NULL) {
		SSL_CTX_free(c);
		*error = "out of memory";
		return NULL;
	}
	ctx->ssl_ctx = c;
	return ctx;
}

void tls_ctx_free(struct tls_ctx **ctxp)
{
	if (*ctxp == NULL)
		return;
	SSL_CTX_free((*ctxp)->ssl_ctx);
	free(*ctxp);
	*ctxp = NULL;
}

/* Maps an SSL_read/SSL_write failure to the stream contract. A read
 * that waits for input, or a write that waits for room, is the normal
 * case; the other need (a handshake step) sets the flag that tells the
 * owner to watch the other epoll event. */
static ssize_t tls_result(struct tls_stream *t, int ret, bool writing)
{
	int err = SSL_get_error(t->ssl, ret);
	bool *cross = writing ? &t->s.want_read : &t->s.want_write;
	*cross = false;
	switch (err) {
	case SSL_ERROR_WANT_READ:
		*cross = writing;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_WANT_WRITE:
		*cross = !writing;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_SYSCALL: {
		int saved = errno;
		if (!SSL_is_init_finished(t->ssl))
			tls_verbose_failure(t->ssl, "handshake");
		ERR_clear_error();
		errno = saved;
		if (errno == 0)
			return 0;	/* TCP closed between records */
		return -1;
	}
	default:
		/* Garbage handshake, bad or truncated record, a refused
		 * renegotiation, a client certificate that does not
		 * verify: this connection only. */
		tls_verbose_failure(t->ssl, SSL_is_init_finished(t->ssl) ?
				    "read/write" : "handshake");
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
	return tls_result(t, ret, false);
}

static ssize_t tls_write(struct stream *s, const void *buf, size_t len)
{
	struct tls_stream *t = (struct tls_stream *)s;
	size_t put = 0;
	errno = 0;
	int ret = SSL_write_ex(t->ssl, buf, len, &put);
	if (ret == 1) {
		t->s.want_read = false;
		return (ssize_t)put;
	}
	ssize_t r = tls_result(t, ret, true);
	if (r == 0) {
		errno = EPIPE;
		r = -1;
	}
	return r;
}

/* Decrypted bytes not read yet, or a whole record OpenSSL already took
 * from the socket: either way epoll will not say so. */
static size_t tls_pending(struct stream *s)
{
	struct tls_stream *t = (struct tls_stream *)s;
	int n = SSL_pending(t->ssl);
	if (n > 0)
		return (size_t)n;
	return SSL_has_pending(t->ssl) ? 1 : 0;
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

bool tls_stream_has_valid_client_cert(struct stream *s)
{
	if (s == NULL || s->ops != &tls_ops)
		return false;
	struct tls_stream *t = (struct tls_stream *)s;
	return SSL_is_init_finished(t->ssl) &&
	       SSL_get0_peer_certificate(t->ssl) != NULL &&
	       SSL_get_verify_result(t->ssl) == X509_V_OK;
}

const char *tls_stream_describe(struct stream *s, char *buf, size_t size)
{
	if (s == NULL || s->ops != &tls_ops)
		return NULL;
	struct tls_stream *t = (struct tls_stream *)s;
	if (!SSL_is_init_finished(t->ssl))
		return NULL;
	snprintf(buf, size, "%s %s", SSL_get_version(t->ssl),
		 SSL_get_cipher_name(t->ssl));
	return buf;
}
