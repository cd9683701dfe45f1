/* Unit tests for the POP3 engine over a socketpair with a fake backend
 * (SASL PLAIN/LOGIN, a three-message maildrop, bodies from memfds). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "pop3-common.h"

static const char *bodies[] = {
	"Subject: one\r\n\r\nbody one\r\n",
	"Subject: two\n\n.dot\nbare lf\n",
	"Subject: three\r\n\r\nl1\r\nl2\r\nl3\r\n",
};

struct fixture {
	struct loop *loop;
	struct config *cfg;
	struct pop3_server server;
	int fd;
	struct buf got;
	uint32_t expunged[8];
	unsigned int n_expunged;
	uint32_t seen[8];
	unsigned int n_seen;
};

static struct fixture *fx_current;

static void fake_sasl(struct pop3_server *server, struct pop3_client *c,
		      const char *mech, uint64_t sasl_id, const void *resp,
		      size_t len, bool has_resp, bool abort, pop3_auth_cb *cb)
{
	(void)server;
	(void)has_resp;
	if (abort) {
		cb(c, POP3_AUTH_FAILED, NULL, 0, NULL);
		return;
	}
	if (strcmp(mech, "PLAIN") == 0) {
		if (len == 12 && memcmp(resp, "\0user1\0pass1", 12) == 0)
			cb(c, POP3_AUTH_OK, NULL, 0, "user1@example.com");
		else if (len > 5 && memcmp(resp, "\0temp", 5) == 0)
			cb(c, POP3_AUTH_TEMPFAIL, NULL, 0, NULL);
		else
			cb(c, POP3_AUTH_FAILED, NULL, 0, NULL);
		return;
	}
	/* LOGIN */
	c->sasl_id = sasl_id + 1;
	if (sasl_id == 0)
		cb(c, POP3_AUTH_CONTINUE, "Username:", 9, NULL);
	else if (sasl_id == 1)
		cb(c, POP3_AUTH_CONTINUE, "Password:", 9, NULL);
	else if (len == 5 && memcmp(resp, "pass1", 5) == 0)
		cb(c, POP3_AUTH_OK, NULL, 0, "user1@example.com");
	else
		cb(c, POP3_AUTH_FAILED, NULL, 0, NULL);
}

static void fake_maildrop(struct pop3_server *server, struct pop3_client *c,
			  pop3_maildrop_cb *cb)
{
	(void)server;
	struct pop3_message *m = xcalloc(3, sizeof(*m));
	for (unsigned int i = 0; i < 3; i++) {
		m[i].uid = i + 10;
		m[i].guid = xasprintf("guid%u", i);
		m[i].size = pop3_wire_size(bodies[i], strlen(bodies[i]));
	}
	cb(c, POP3_MAILDROP_OK, m, 3, 1234);
}

static void fake_body(struct pop3_server *server, struct pop3_client *c,
		      const struct pop3_message *msg, pop3_body_cb *cb)
{
	(void)server;
	int fd = memfd_create("b", 0);
	const char *b = bodies[msg->uid - 10];
	assert_int_equal(write(fd, b, strlen(b)), (ssize_t)strlen(b));
	cb(c, fd);
}

static void fake_update(struct pop3_server *server, struct pop3_client *c,
			const uint32_t *expunge, unsigned int n_expunge,
			const uint32_t *seen, unsigned int n_seen,
			pop3_update_cb *cb)
{
	(void)server;
	memcpy(fx_current->expunged, expunge, n_expunge * sizeof(uint32_t));
	fx_current->n_expunged = n_expunge;
	memcpy(fx_current->seen, seen, n_seen * sizeof(uint32_t));
	fx_current->n_seen = n_seen;
	cb(c, true);
}

static const struct pop3_backend fake_backend = {
	.sasl = fake_sasl,
	.maildrop = fake_maildrop,
	.body = fake_body,
	.update = fake_update,
};

static int setup_with(void **state, const char *conf)
{
	struct fixture *fx = xcalloc(1, sizeof(*fx));
	char *error = NULL;
	if (config_load_string(conf, strlen(conf), "test.conf", &fx->cfg,
			       &error) < 0) {
		fprintf(stderr, "%s\n", error);
		return -1;
	}
	fx->loop = loop_new();
	pop3_server_init(&fx->server, fx->loop, fx->cfg, &fake_backend, NULL);
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	fx->fd = sv[0];
	buf_init(&fx->got, 0);
	pop3_client_create(&fx->server, sv[1], "127.0.0.1", 1);
	fx_current = fx;
	*state = fx;
	return 0;
}

static int setup(void **state)
{
	return setup_with(state, "auth_mechanisms = plain login\n"
			  "pop3_uidl_format = %g\n");
}

static int setup_flags(void **state)
{
	return setup_with(state, "pop3_no_flag_updates = yes\n"
			  "pop3_client_workarounds = outlook-no-nuls "
			  "oe-ns-eoh\n");
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	close(fx->fd);
	for (int i = 0; i < 10; i++)
		loop_run_once(fx->loop, 2);
	pop3_server_deinit(&fx->server);
	loop_free(&fx->loop);
	config_free(&fx->cfg);
	buf_free(&fx->got);
	free(fx);
	return 0;
}

/* Runs the loop until the received text ends with `end` (or 2 s). */
static char *fx_until(struct fixture *fx, const char *end)
{
	buf_reset(&fx->got);
	size_t elen = strlen(end);
	for (int iter = 0; iter < 400; iter++) {
		if (fx->got.len >= elen &&
		    memcmp(fx->got.data + fx->got.len - elen, end, elen) == 0)
			break;
		loop_run_once(fx->loop, 5);
		char tmp[65536];
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

static void fx_login(struct fixture *fx)
{
	fx_until(fx, "\r\n");
	fx_send(fx, "USER user1\r\nPASS pass1\r\n");
	assert_string_equal(fx_until(fx, "Logged in.\r\n"),
			    "+OK\r\n+OK Logged in.\r\n");
}

static void test_greeting_capa(void **state)
{
	struct fixture *fx = *state;
	assert_string_equal(fx_until(fx, "\r\n"), "+OK Dovecot ready.\r\n");
	fx_send(fx, "CAPA\r\n");
	assert_string_equal(fx_until(fx, ".\r\n"),
		"+OK\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\n"
		"AUTH-RESP-CODE\r\nUSER\r\nSASL PLAIN LOGIN\r\n.\r\n");
}

static void test_auth_failures_and_state(void **state)
{
	struct fixture *fx = *state;
	fx_until(fx, "\r\n");
	fx_send(fx, "STAT\r\nPASS x\r\nUSER user1\r\nPASS wrong\r\n"
		"USER temp\r\nPASS x\r\nAUTH CRAM-MD5\r\nAUTH PLAIN !!!!\r\n");
	assert_string_equal(fx_until(fx, "response.\r\n"),
		"-ERR Unknown command.\r\n-ERR No username given.\r\n+OK\r\n"
		"-ERR [AUTH] Authentication failed.\r\n+OK\r\n"
		"-ERR [SYS/TEMP] Temporary authentication failure.\r\n"
		"-ERR Unsupported authentication mechanism.\r\n"
		"-ERR Invalid base64 data in initial response.\r\n");
}

static void test_auth_plain_ir_and_login(void **state)
{
	struct fixture *fx = *state;
	fx_until(fx, "\r\n");
	fx_send(fx, "AUTH LOGIN\r\n");
	assert_string_equal(fx_until(fx, "\r\n"), "+ VXNlcm5hbWU6\r\n");
	fx_send(fx, "dXNlcjE=\r\n");
	assert_string_equal(fx_until(fx, "\r\n"), "+ UGFzc3dvcmQ6\r\n");
	fx_send(fx, "*\r\n");
	assert_string_equal(fx_until(fx, "\r\n"),
			    "-ERR Authentication aborted.\r\n");
	fx_send(fx, "AUTH PLAIN AHVzZXIxAHBhc3Mx\r\nSTAT\r\n");
	assert_string_equal(fx_until(fx, "\r\n+OK 3 87\r\n"),
			    "+OK Logged in.\r\n+OK 3 87\r\n");
}

static void test_list_uidl_retr_top(void **state)
{
	struct fixture *fx = *state;
	fx_login(fx);
	fx_send(fx, "LIST\r\n");
	assert_string_equal(fx_until(fx, ".\r\n"),
		"+OK 3 messages:\r\n1 26\r\n2 31\r\n3 30\r\n.\r\n");
	fx_send(fx, "UIDL\r\nUIDL 2\r\n");
	assert_string_equal(fx_until(fx, "guid1\r\n"),
		"+OK\r\n1 guid0\r\n2 guid1\r\n3 guid2\r\n.\r\n+OK 2 guid1\r\n");
	fx_send(fx, "RETR 2\r\n");
	assert_string_equal(fx_until(fx, "\r\n.\r\n"),
		"+OK 31 octets\r\nSubject: two\r\n\r\n..dot\r\nbare lf\r\n"
		".\r\n");
	fx_send(fx, "TOP 3 1\r\n");
	assert_string_equal(fx_until(fx, "\r\n.\r\n"),
		"+OK\r\nSubject: three\r\n\r\nl1\r\n.\r\n");
	fx_send(fx, "RETR 4\r\nRETR 0\r\nLIST x\r\nTOP 1\r\nRETR\r\n");
	assert_string_equal(fx_until(fx, "number.\r\n"),
		"-ERR There's no message 4.\r\n-ERR There's no message 0.\r\n"
		"-ERR There's no message x.\r\n-ERR Missing line count.\r\n"
		"-ERR Missing message number.\r\n");
}

static void test_dele_rset_quit_update(void **state)
{
	struct fixture *fx = *state;
	fx_login(fx);
	fx_send(fx, "DELE 1\r\nDELE 1\r\nRETR 1\r\nSTAT\r\nRSET\r\nSTAT\r\n"
		"DELE 3\r\nRETR 2\r\nQUIT\r\n");
	char *r = fx_until(fx, "deleted.\r\n");
	assert_non_null(strstr(r, "+OK Marked to be deleted.\r\n"
			       "-ERR Message is deleted.\r\n"
			       "-ERR Message is deleted.\r\n+OK 2 61\r\n"
			       "+OK\r\n+OK 3 87\r\n"));
	assert_non_null(strstr(r, "+OK Logging out, messages deleted.\r\n"));
	assert_int_equal(fx->n_expunged, 1);
	assert_int_equal(fx->expunged[0], 12);
	/* pop3_no_flag_updates = no: RETR sets \Seen at QUIT */
	assert_int_equal(fx->n_seen, 1);
	assert_int_equal(fx->seen[0], 11);
}

static void test_no_flag_updates_and_default_uidl(void **state)
{
	struct fixture *fx = *state;
	fx_until(fx, "\r\n");
	fx_send(fx, "USER user1\r\nPASS pass1\r\nUIDL 1\r\nRETR 1\r\nQUIT\r\n");
	char *r = fx_until(fx, "Logging out.\r\n");
	/* %08Xu%08Xv: uid 10, uidvalidity 1234 */
	assert_non_null(strstr(r, "+OK 1 0000000a000004d2\r\n"));
	assert_int_equal(fx->n_seen, 0);
}

static void test_long_line(void **state)
{
	struct fixture *fx = *state;
	fx_until(fx, "\r\n");
	char *line = xmalloc(POP3_MAX_LINE * 2 + 3);
	memset(line, 'x', POP3_MAX_LINE * 2);
	memcpy(line + POP3_MAX_LINE * 2, "\r\n", 3);
	fx_send(fx, line);
	free(line);
	fx_send(fx, "CAPA\r\n");
	char *r = fx_until(fx, "\r\n.\r\n");
	assert_true(strncmp(r, "-ERR Input line too long.\r\n+OK\r\nCAPA", 36)
		    == 0);
}

int main(void)
{
	log_init("pop3", NULL, NULL);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_greeting_capa, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_auth_failures_and_state,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_auth_plain_ir_and_login,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_uidl_retr_top, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_dele_rset_quit_update,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_no_flag_updates_and_default_uidl, setup_flags,
			teardown),
		cmocka_unit_test_setup_teardown(test_long_line, setup,
						teardown),
	};
	int ret = cmocka_run_group_tests(tests, NULL, NULL);
	log_deinit();
	return ret;
}
