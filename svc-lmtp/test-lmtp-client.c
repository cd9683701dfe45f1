/* Unit tests for the LMTP engine: a real client connection over a
 * socketpair, driven through the loop, with a fake backend that answers
 * asynchronously. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "lmtp-common.h"
#include "tls-service.h"

struct fake_op {
	struct lmtp_client *client;
	struct lmtp_rcpt *rcpt;
	lmtp_lookup_cb *lookup_cb;
	lmtp_deliver_cb *deliver_cb;
	enum lmtp_result result;
	struct loop_timer *timer;
};

struct fixture {
	struct loop *loop;
	struct config *cfg;
	struct lmtp_server server;
	int fd;			/* the test's end */
	struct buf got;		/* bytes received */
	struct buf bodies;	/* delivered bodies, "<rcpt>\n<body>" */
	unsigned int delivered;
};

static struct fixture *fx_current;

static void fake_fire(struct loop_timer *t, void *ctx)
{
	struct fake_op *op = ctx;
	(void)t;
	loop_timer_remove(&op->timer);
	if (op->lookup_cb != NULL) {
		if (op->result == LMTP_RESULT_OK)
			op->rcpt->user = xstrdup(op->rcpt->lookup_user);
		op->lookup_cb(op->client, op->rcpt, op->result);
	} else {
		op->deliver_cb(op->client, op->rcpt, op->result, "fake");
	}
	free(op);
}

static void fake_lookup(struct lmtp_server *server, struct lmtp_client *c,
			struct lmtp_rcpt *rcpt, lmtp_lookup_cb *cb)
{
	struct fake_op *op = xcalloc(1, sizeof(*op));
	op->client = c;
	op->rcpt = rcpt;
	op->lookup_cb = cb;
	op->result = strncmp(rcpt->lookup_user, "unknown", 7) == 0 ?
		LMTP_RESULT_NOT_FOUND :
		strncmp(rcpt->lookup_user, "temp", 4) == 0 ?
		LMTP_RESULT_TEMPFAIL : LMTP_RESULT_OK;
	op->timer = loop_timer_add(server->loop, 1, false, fake_fire, op);
}

static void fake_deliver(struct lmtp_server *server, struct lmtp_client *c,
			 const struct lmtp_txn *txn, struct lmtp_rcpt *rcpt,
			 lmtp_deliver_cb *cb)
{
	struct fake_op *op = xcalloc(1, sizeof(*op));
	op->client = c;
	op->rcpt = rcpt;
	op->deliver_cb = cb;
	op->result = strncmp(rcpt->address, "fail", 4) == 0 ?
		LMTP_RESULT_TEMPFAIL : LMTP_RESULT_OK;
	if (op->result == LMTP_RESULT_OK) {
		char tmp[4096];
		ssize_t n = pread(txn->body_fd, tmp, sizeof(tmp), 0);
		assert_true(n >= 0);
		assert_int_equal((uint64_t)n, txn->body_size);
		buf_printf(&fx_current->bodies, "<%s:%s>\n", rcpt->address,
			   rcpt->mailbox);
		buf_append(&fx_current->bodies, tmp, (size_t)n);
		fx_current->delivered++;
	}
	/* later recipients answer first: replies must stay in order */
	op->timer = loop_timer_add(server->loop,
				   strchr(rcpt->address, '2') ? 1 : 5, false,
				   fake_fire, op);
}

static const struct lmtp_backend fake_backend = {
	.rcpt_lookup = fake_lookup,
	.deliver = fake_deliver,
};

static int setup(void **state)
{
	struct fixture *fx = xcalloc(1, sizeof(*fx));
	char *error = NULL;
	const char *conf = "hostname = mx.test\nlmtp_save_to_detail_mailbox"
			   " = yes\n";
	if (config_load_string(conf, strlen(conf), "test.conf", &fx->cfg,
			       &error) < 0) {
		fprintf(stderr, "%s\n", error);
		return -1;
	}
	fx->loop = loop_new();
	lmtp_server_init(&fx->server, fx->loop, fx->cfg, &fake_backend, NULL);
	fx->server.set.max_message_size = 1000;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	fx->fd = sv[0];
	buf_init(&fx->got, 0);
	buf_init(&fx->bodies, 0);
	lmtp_client_create(&fx->server, sv[1], "192.0.2.1", 1234);
	fx_current = fx;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	close(fx->fd);
	for (int i = 0; i < 20; i++)
		loop_run_once(fx->loop, 5);
	lmtp_server_deinit(&fx->server);
	loop_free(&fx->loop);
	config_free(&fx->cfg);
	buf_free(&fx->got);
	buf_free(&fx->bodies);
	free(fx);
	return 0;
}

/* Runs the loop until `n` more CRLF-terminated lines arrived (or 2 s). */
static char *fx_lines(struct fixture *fx, unsigned int n)
{
	buf_reset(&fx->got);
	for (int iter = 0; iter < 400; iter++) {
		unsigned int lines = 0;
		for (size_t i = 0; i + 1 < fx->got.len; i++)
			if (fx->got.data[i] == '\r' && fx->got.data[i + 1] == '\n')
				lines++;
		if (lines >= n)
			break;
		loop_run_once(fx->loop, 5);
		char tmp[4096];
		ssize_t r = recv(fx->fd, tmp, sizeof(tmp), MSG_DONTWAIT);
		if (r > 0)
			buf_append(&fx->got, tmp, (size_t)r);
		else if (r == 0)
			break;
	}
	return fx->got.data != NULL ? fx->got.data : "";
}

static void fx_send(struct fixture *fx, const char *s)
{
	assert_int_equal(send(fx->fd, s, strlen(s), 0), (ssize_t)strlen(s));
}

static void test_greeting_and_lhlo(void **state)
{
	struct fixture *fx = *state;
	assert_string_equal(fx_lines(fx, 1), "220 mx.test Dovecot ready.\r\n");
	fx_send(fx, "LHLO mta.test\r\n");
	char *r = fx_lines(fx, 7);
	assert_non_null(strstr(r, "250-mx.test\r\n"));
	assert_non_null(strstr(r, "250-PIPELINING\r\n"));
	assert_non_null(strstr(r, "250-CHUNKING\r\n"));
	assert_non_null(strstr(r, "250-ENHANCEDSTATUSCODES\r\n"));
	assert_non_null(strstr(r, "250-SIZE 1000\r\n"));
	assert_null(strstr(r, "XCLIENT"));
	assert_non_null(strstr(r, "250 SMTPUTF8\r\n"));
}

static void test_sequence_errors(void **state)
{
	struct fixture *fx = *state;
	fx_lines(fx, 1);
	fx_send(fx, "MAIL FROM:<a@b>\r\n");
	assert_string_equal(fx_lines(fx, 1), "503 5.5.1 Send LHLO first\r\n");
	fx_send(fx, "HELO x\r\n");
	assert_string_equal(fx_lines(fx, 1), "500 5.5.1 Use LHLO with LMTP\r\n");
	fx_send(fx, "LHLO x\r\n");
	fx_lines(fx, 7);
	fx_send(fx, "RCPT TO:<user1@example.com>\r\n");
	assert_string_equal(fx_lines(fx, 1), "503 5.5.1 MAIL needed first\r\n");
	fx_send(fx, "DATA\r\n");
	assert_string_equal(fx_lines(fx, 1), "503 5.5.1 MAIL needed first\r\n");
	fx_send(fx, "MAIL FROM:<a@b>\r\n");
	assert_string_equal(fx_lines(fx, 1), "250 2.1.0 OK\r\n");
	fx_send(fx, "MAIL FROM:<a@b>\r\n");
	assert_string_equal(fx_lines(fx, 1), "503 5.5.1 MAIL already given\r\n");
	fx_send(fx, "DATA\r\n");
	assert_string_equal(fx_lines(fx, 1), "503 5.5.1 No valid recipients\r\n");
	fx_send(fx, "XCLIENT ADDR=1.2.3.4\r\n");
	assert_string_equal(fx_lines(fx, 1),
			    "550 5.7.14 You are not from trusted IP\r\n");
	fx_send(fx, "FOO\r\nNOOP\r\nRSET\r\nVRFY x\r\nQUIT\r\n");
	assert_string_equal(fx_lines(fx, 5), "500 5.5.1 Unknown command\r\n"
			    "250 2.0.0 OK\r\n250 2.0.0 OK\r\n"
			    "252 2.3.3 Try RCPT instead\r\n"
			    "221 2.0.0 mx.test Bye\r\n");
}

/* STARTTLS without a loaded certificate (lmtp-tls.c): never offered;
 * ssl = no is "not enabled", ssl = yes without a certificate a
 * temporary failure; arguments are a syntax error either way. */
static void test_starttls_without_certificate(void **state)
{
	struct fixture *fx = *state;
	fx_lines(fx, 1);
	fx_send(fx, "LHLO x\r\n");
	assert_null(strstr(fx_lines(fx, 7), "STARTTLS"));
	fx_send(fx, "STARTTLS x\r\nSTARTTLS\r\n");
	assert_string_equal(fx_lines(fx, 2),
		"501 5.5.4 Syntax error (no parameters allowed)\r\n"
		"502 5.5.1 TLS support isn't enabled\r\n");
	struct tls_service tls = { .mode = TLS_SSL_YES };
	fx->server.tls = &tls;
	fx_send(fx, "LHLO x\r\n");
	assert_null(strstr(fx_lines(fx, 7), "STARTTLS"));
	fx_send(fx, "STARTTLS\r\nNOOP\r\n");
	assert_string_equal(fx_lines(fx, 2), "454 4.7.0 TLS not available due "
			    "to temporary reason\r\n250 2.0.0 OK\r\n");
	fx->server.tls = NULL;
}

static void test_pipelined_delivery_replies_in_order(void **state)
{
	struct fixture *fx = *state;
	fx_lines(fx, 1);
	fx_send(fx, "LHLO x\r\nMAIL FROM:<s@x> BODY=8BITMIME\r\n"
		"RCPT TO:<user1+Work@example.com>\r\n"
		"RCPT TO:<unknown@example.com>\r\n"
		"RCPT TO:<temp@example.com>\r\n"
		"RCPT TO:<user2@example.com>\r\n"
		"RCPT TO:<failme@example.com>\r\nDATA\r\n"
		"Subject: hi\r\n\r\n..dotted\r\n.\r\nNOOP\r\n");
	char *r = fx_lines(fx, 7 + 1 + 5 + 1 + 3 + 1);
	const char *expect =
		"250 2.1.0 OK\r\n"
		"250 2.1.5 OK\r\n"
		"550 5.1.1 <unknown@example.com> User doesn't exist: "
		"unknown@example.com\r\n"
		"451 4.3.0 <temp@example.com> Temporary internal error\r\n"
		"250 2.1.5 OK\r\n"
		"250 2.1.5 OK\r\n"
		"354 OK\r\n";
	const char *p = strstr(r, "250 2.1.0 OK");
	assert_non_null(p);
	assert_memory_equal(p, expect, strlen(expect));
	p += strlen(expect);
	assert_true(strncmp(p, "250 2.0.0 <user1+Work@example.com> ", 35) == 0);
	p = strchr(p, '\n') + 1;
	assert_true(strncmp(p, "250 2.0.0 <user2@example.com> ", 30) == 0);
	p = strchr(p, '\n') + 1;
	assert_string_equal(p, "451 4.3.0 <failme@example.com> Temporary "
			    "internal error\r\n250 2.0.0 OK\r\n");
	assert_string_equal(fx->bodies.data,
		"<user1+Work@example.com:Work>\nSubject: hi\r\n\r\n.dotted\r\n"
		"<user2@example.com:INBOX>\nSubject: hi\r\n\r\n.dotted\r\n");
}

static void test_bdat_chunks(void **state)
{
	struct fixture *fx = *state;
	fx_lines(fx, 1);
	fx_send(fx, "LHLO x\r\nMAIL FROM:<>\r\nRCPT TO:<user1@example.com>\r\n"
		"BDAT 5\r\nab\r\ncBDAT 3 LAST\r\nd\r\n");
	char *r = fx_lines(fx, 7 + 4);
	assert_non_null(strstr(r, "250 2.1.5 OK\r\n250 2.0.0 5 octets "
			       "received\r\n250 2.0.0 <user1@example.com> "));
	assert_string_equal(fx->bodies.data,
			    "<user1@example.com:INBOX>\nab\r\ncd\r\n");
}

static void test_bdat_without_rcpt_skips_chunk(void **state)
{
	struct fixture *fx = *state;
	fx_lines(fx, 1);
	fx_send(fx, "LHLO x\r\nBDAT 6 LAST\r\nNOOP\r\nNOOP\r\n");
	char *r = fx_lines(fx, 7 + 2);
	assert_non_null(strstr(r, "503 5.5.1 MAIL needed first\r\n"
			       "250 2.0.0 OK\r\n"));
}

static void test_size_limits(void **state)
{
	struct fixture *fx = *state;
	fx_lines(fx, 1);
	fx_send(fx, "LHLO x\r\nMAIL FROM:<a@b> SIZE=1001\r\n"
		"MAIL FROM:<a@b> FOO=1\r\nMAIL FROM:<a@b>\r\n"
		"RCPT TO:<user1@example.com>\r\nRCPT TO:<user2@example.com>\r\n"
		"DATA\r\n");
	char *r = fx_lines(fx, 7 + 6);
	assert_non_null(strstr(r, "552 5.3.4 Message size exceeds fixed "
			       "maximum message size\r\n555 5.5.4 Unsupported "
			       "parameter FOO\r\n250 2.1.0 OK\r\n"));
	struct buf big;
	buf_init(&big, 0);
	for (int i = 0; i < 30; i++)
		buf_append_str(&big, "0123456789012345678901234567890123456789"
			       "\r\n");
	buf_append_str(&big, ".\r\n");
	fx_send(fx, big.data);
	buf_free(&big);
	r = fx_lines(fx, 2);
	assert_string_equal(r, "552 5.3.4 Message size exceeds fixed maximum "
			    "message size\r\n552 5.3.4 Message size exceeds "
			    "fixed maximum message size\r\n");
	assert_int_equal(fx->delivered, 0);
}

static void test_long_line_and_nul(void **state)
{
	struct fixture *fx = *state;
	fx_lines(fx, 1);
	char line[LMTP_MAX_COMMAND_LINE * 2 + 3];
	memset(line, 'x', sizeof(line) - 3);
	memcpy(line + sizeof(line) - 3, "\r\n", 3);
	fx_send(fx, line);
	fx_send(fx, "NOOP\r\n");
	assert_string_equal(fx_lines(fx, 2), "500 5.5.2 Line too long\r\n"
			    "250 2.0.0 OK\r\n");
	assert_int_equal(send(fx->fd, "NO\0OP\r\n", 7, 0), 7);
	assert_string_equal(fx_lines(fx, 1),
			    "500 5.5.2 Invalid character in command\r\n");
}

static void test_too_many_recipients(void **state)
{
	struct fixture *fx = *state;
	fx_lines(fx, 1);
	fx_send(fx, "LHLO x\r\nMAIL FROM:<a@b>\r\n");
	fx_lines(fx, 8);
	struct buf cmds;
	buf_init(&cmds, 0);
	for (int i = 0; i < LMTP_MAX_RECIPIENTS + 1; i++)
		buf_printf(&cmds, "RCPT TO:<unknown%d@example.com>\r\n", i);
	size_t off = 0;
	unsigned int seen = 0;
	struct buf all;
	buf_init(&all, 0);
	/* Write as the socket allows while reading replies. */
	while (seen < LMTP_MAX_RECIPIENTS + 1) {
		if (off < cmds.len) {
			ssize_t n = send(fx->fd, cmds.data + off,
					 cmds.len - off, MSG_DONTWAIT);
			if (n > 0)
				off += (size_t)n;
		}
		char *r = fx_lines(fx, 1);
		buf_append_str(&all, r);
		seen = 0;
		for (size_t i = 0; i < all.len; i++)
			seen += all.data[i] == '\n';
	}
	assert_non_null(strstr(all.data, "452 4.5.3 Too many recipients\r\n"));
	buf_free(&all);
	buf_free(&cmds);
}

static void test_disconnect_mid_data_delivers_nothing(void **state)
{
	struct fixture *fx = *state;
	fx_lines(fx, 1);
	fx_send(fx, "LHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<user1@example.com>\r\n"
		"DATA\r\nSubject: cut\r\n\r\nhalf");
	fx_lines(fx, 7 + 3);
	shutdown(fx->fd, SHUT_WR);
	for (int i = 0; i < 20; i++)
		loop_run_once(fx->loop, 5);
	assert_int_equal(fx->delivered, 0);
	assert_int_equal(fx->server.n_clients, 0);
}

int main(void)
{
	log_init("lmtp", NULL, NULL);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_greeting_and_lhlo, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_sequence_errors, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_starttls_without_certificate, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_pipelined_delivery_replies_in_order, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_bdat_chunks, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_bdat_without_rcpt_skips_chunk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_size_limits, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_long_line_and_nul, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_too_many_recipients,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_disconnect_mid_data_delivers_nothing, setup,
			teardown),
	};
	int ret = cmocka_run_group_tests(tests, NULL, NULL);
	log_deinit();
	return ret;
}
