/* TLS stream over a socketpair, driven by hand in one thread: a real
 * OpenSSL client against the server stream, with a certificate made by
 * the openssl command for this run. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>
#include <openssl/ssl.h>

#include "tls-stream.h"

static char dir[] = "/tmp/tls-test-XXXXXX";
static char cert[128], key[128];
static char *cert_pem, *key_pem;

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return NULL;
	static char data[2][16384];
	static int which;
	char *buf = data[which++ % 2];
	size_t n = fread(buf, 1, sizeof(data[0]) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static int setup(void **state)
{
	(void)state;
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
	snprintf(key, sizeof(key), "%s/key.pem", dir);
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "openssl req -x509 -newkey rsa:2048 "
		 "-nodes -subj /CN=localhost -days 1 -keyout %s -out %s "
		 ">/dev/null 2>&1", key, cert);
	if (system(cmd) != 0)
		return -1;
	cert_pem = slurp(cert);
	key_pem = slurp(key);
	return cert_pem != NULL && key_pem != NULL ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	unlink(cert);
	unlink(key);
	rmdir(dir);
	return 0;
}

static struct tls_ctx *server_ctx(void)
{
	struct tls_server_settings set = {
		.cert_pem = cert_pem, .key_pem = key_pem,
		.min_protocol = "TLSv1.2", .prefer_server_ciphers = true,
	};
	const char *error = NULL;
	struct tls_ctx *ctx = tls_ctx_new(&set, &error);
	assert_non_null(ctx);
	return ctx;
}

static void pair(int fds[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
	fcntl(fds[0], F_SETFL, O_NONBLOCK);
	fcntl(fds[1], F_SETFL, O_NONBLOCK);
}

static void test_roundtrip(void **state)
{
	(void)state;
	struct tls_ctx *ctx = server_ctx();
	int fds[2];
	pair(fds);
	struct stream *s = stream_plain_new(fds[0]);
	assert_int_equal(tls_stream_start(ctx, &s), 0);

	SSL_CTX *cc = SSL_CTX_new(TLS_client_method());
	SSL *cl = SSL_new(cc);
	SSL_set_fd(cl, fds[1]);
	SSL_set_connect_state(cl);
	char buf[64];
	int i;
	/* The server reads "hello" while the handshake completes. */
	ssize_t n = -1;
	for (i = 0; i < 100 && n < 0; i++) {
		(void)SSL_write(cl, "hello", 5);
		n = stream_read(s, buf, sizeof(buf));
		if (n < 0)
			assert_int_equal(errno, EAGAIN);
	}
	assert_int_equal(n, 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(stream_write(s, "world", 5), 5);
	int r = SSL_read(cl, buf, sizeof(buf));
	assert_int_equal(r, 5);
	assert_memory_equal(buf, "world", 5);
	SSL_free(cl);
	SSL_CTX_free(cc);
	close(fds[1]);
	stream_destroy(&s);
	tls_ctx_free(&ctx);
}

/* Output queued before the handshake (an implicit-TLS greeting) waits
 * for the client's hello: the stream says it needs EPOLLIN, not EPOLLOUT,
 * so an owner does not spin on a writable socket. */
static void test_write_before_handshake_wants_read(void **state)
{
	(void)state;
	struct tls_ctx *ctx = server_ctx();
	int fds[2];
	pair(fds);
	struct stream *s = stream_plain_new(fds[0]);
	assert_int_equal(tls_stream_start(ctx, &s), 0);
	assert_int_equal(stream_write(s, "* OK\r\n", 6), -1);
	assert_int_equal(errno, EAGAIN);
	assert_true(s->want_read);
	assert_int_equal(stream_events(s, false, true), EPOLLIN);
	close(fds[1]);
	stream_destroy(&s);
	tls_ctx_free(&ctx);
}

/* One record read in small pieces: the rest is reported as pending,
 * since epoll will not signal bytes OpenSSL already holds. */
static void test_pending_after_partial_read(void **state)
{
	(void)state;
	struct tls_ctx *ctx = server_ctx();
	int fds[2];
	pair(fds);
	struct stream *s = stream_plain_new(fds[0]);
	assert_int_equal(tls_stream_start(ctx, &s), 0);
	SSL_CTX *cc = SSL_CTX_new(TLS_client_method());
	SSL *cl = SSL_new(cc);
	SSL_set_fd(cl, fds[1]);
	SSL_set_connect_state(cl);
	char big[1000];
	memset(big, 'x', sizeof(big));
	char buf[100];
	ssize_t n = -1;
	for (int i = 0; i < 100 && n < 0; i++) {
		(void)SSL_write(cl, big, sizeof(big));
		n = stream_read(s, buf, sizeof(buf));
	}
	assert_int_equal(n, 100);
	assert_true(stream_pending(s) >= 900);
	size_t total = (size_t)n;
	while (stream_pending(s) > 0) {
		n = stream_read(s, buf, sizeof(buf));
		assert_true(n > 0);
		total += (size_t)n;
	}
	assert_int_equal(total, sizeof(big));
	SSL_free(cl);
	SSL_CTX_free(cc);
	close(fds[1]);
	stream_destroy(&s);
	tls_ctx_free(&ctx);
}

static void test_garbage_handshake(void **state)
{
	(void)state;
	struct tls_ctx *ctx = server_ctx();
	int fds[2];
	pair(fds);
	struct stream *s = stream_plain_new(fds[0]);
	assert_int_equal(tls_stream_start(ctx, &s), 0);
	const char junk[] = "a1 LOGIN user pass\r\n";
	assert_int_equal(write(fds[1], junk, sizeof(junk) - 1),
			 (ssize_t)sizeof(junk) - 1);
	char buf[64];
	ssize_t n = stream_read(s, buf, sizeof(buf));
	assert_int_equal(n, -1);
	assert_int_equal(errno, EPROTO);
	close(fds[1]);
	stream_destroy(&s);
	tls_ctx_free(&ctx);
}

static void test_bad_settings(void **state)
{
	(void)state;
	struct tls_server_settings set = {
		.cert_pem = "/path/without/less-than", .key_pem = key_pem,
	};
	const char *error = NULL;
	assert_null(tls_ctx_new(&set, &error));
	assert_non_null(strstr(error, "cannot load ssl_cert"));
	/* the key of another certificate */
	set.cert_pem = cert_pem;
	set.key_pem = "-----BEGIN PRIVATE KEY-----\nAAAA\n"
		      "-----END PRIVATE KEY-----\n";
	assert_null(tls_ctx_new(&set, &error));
	assert_non_null(strstr(error, "cannot load ssl_key"));
	set.key_pem = key_pem;
	set.min_protocol = "SSLv3";
	assert_null(tls_ctx_new(&set, &error));
	set.min_protocol = NULL;
	set.cipher_list = "NO-SUCH-CIPHER";
	assert_null(tls_ctx_new(&set, &error));
}

/* ssl_key_password, ssl_dh, ssl_ca and ssl_verify_client_cert: what
 * loads and the reason given for what does not. */
static void test_pem_settings(void **state)
{
	(void)state;
	char enc[160], cmd[512];
	snprintf(enc, sizeof(enc), "%s/enc.pem", dir);
	snprintf(cmd, sizeof(cmd), "openssl pkey -in %s -aes256 -passout "
		 "pass:right -out %s >/dev/null 2>&1", key, enc);
	assert_int_equal(system(cmd), 0);
	FILE *f = fopen(enc, "r");
	assert_non_null(f);
	static char enc_pem[16384];
	enc_pem[fread(enc_pem, 1, sizeof(enc_pem) - 1, f)] = '\0';
	fclose(f);
	unlink(enc);

	struct tls_server_settings set = {
		.cert_pem = cert_pem, .key_pem = enc_pem,
	};
	const char *error = NULL;
	assert_null(tls_ctx_new(&set, &error));
	assert_string_equal(error, "ssl_key is encrypted: set ssl_key_password");
	set.key_password = "wrong";
	assert_null(tls_ctx_new(&set, &error));
	assert_string_equal(error, "cannot decrypt ssl_key: wrong "
			    "ssl_key_password");
	set.key_password = "right";
	struct tls_ctx *ctx = tls_ctx_new(&set, &error);
	assert_non_null(ctx);
	tls_ctx_free(&ctx);

	set.dh_pem = "-----BEGIN DH PARAMETERS-----\nAAAA\n"
		     "-----END DH PARAMETERS-----\n";
	assert_null(tls_ctx_new(&set, &error));
	assert_non_null(strstr(error, "cannot load ssl_dh"));
	set.dh_pem = NULL;
	set.verify_client_cert = true;
	assert_null(tls_ctx_new(&set, &error));
	assert_non_null(strstr(error, "needs ssl_ca"));
	set.ca_pem = key_pem;	/* no certificate in it */
	assert_null(tls_ctx_new(&set, &error));
	assert_non_null(strstr(error, "cannot load ssl_ca"));
	set.ca_pem = cert_pem;
	ctx = tls_ctx_new(&set, &error);
	assert_non_null(ctx);
	tls_ctx_free(&ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_garbage_handshake),
		cmocka_unit_test(test_write_before_handshake_wants_read),
		cmocka_unit_test(test_pending_after_partial_read),
		cmocka_unit_test(test_bad_settings),
		cmocka_unit_test(test_pem_settings),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
