/* lib/smtp's submitter against real receivers: Postfix's smtp-sink on
 * loopback (accepting and dumping mail, refusing RCPT with 5xx, slow to
 * answer DATA), a closed port, and sendmail_path programs written by the
 * test (exit 0, EX_TEMPFAIL, a failure with stderr). Skipped (77) when
 * smtp-sink is not installed. */
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "smtp-client.h"

#define SMTP_SINK "/usr/sbin/smtp-sink"

struct sink {
	pid_t pid;
	unsigned int port;
	char dir[128];
};

struct result {
	bool done;
	enum smtp_status status;
	char error[1024];
};

static char tmpdir[64];

static unsigned int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	close(fd);
	return ntohs(sin.sin_port);
}

static bool port_open(unsigned int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sin = { .sin_family = AF_INET };
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)port);
	bool ok = connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
	close(fd);
	return ok;
}

/* smtp-sink [extra options] dumping each message into its own file. */
static void sink_start(struct sink *s, const char *opt1, const char *opt2)
{
	static unsigned int n;
	snprintf(s->dir, sizeof(s->dir), "%s/sink%u", tmpdir, n++);
	assert_int_equal(mkdir(s->dir, 0777), 0);
	chmod(s->dir, 0777);	/* smtp-sink writes as nobody */
	s->port = free_port();
	char listen[64], dump[160];
	snprintf(listen, sizeof(listen), "127.0.0.1:%u", s->port);
	snprintf(dump, sizeof(dump), "%s/msg.", s->dir);
	const char *argv[16];
	int argc = 0;
	argv[argc++] = SMTP_SINK;
	if (geteuid() == 0) {
		argv[argc++] = "-u";
		argv[argc++] = "nobody";
	}
	argv[argc++] = "-d";
	argv[argc++] = dump;
	if (opt1 != NULL)
		argv[argc++] = opt1;
	if (opt2 != NULL)
		argv[argc++] = opt2;
	argv[argc++] = listen;
	argv[argc++] = "10";
	argv[argc] = NULL;
	s->pid = fork();
	assert_true(s->pid >= 0);
	if (s->pid == 0) {
		execv(SMTP_SINK, (char *const *)argv);
		_exit(127);
	}
	for (int i = 0; i < 200 && !port_open(s->port); i++)
		usleep(10000);
	assert_true(port_open(s->port));
}

static void sink_stop(struct sink *s)
{
	kill(s->pid, SIGTERM);
	waitpid(s->pid, NULL, 0);
}

/* The one dumped message (NULL when none), malloc'd. */
static char *sink_message(struct sink *s)
{
	DIR *d = opendir(s->dir);
	struct dirent *e;
	char *text = NULL;
	while ((e = readdir(d)) != NULL && text == NULL) {
		if (strncmp(e->d_name, "msg.", 4) != 0)
			continue;
		char path[512];
		snprintf(path, sizeof(path), "%s/%s", s->dir, e->d_name);
		FILE *f = fopen(path, "r");
		text = calloc(1, 65536);
		size_t n = fread(text, 1, 65535, f);
		text[n] = '\0';
		fclose(f);
	}
	closedir(d);
	return text;
}

static void on_done(void *ctx, enum smtp_status status, const char *error)
{
	struct result *r = ctx;
	assert_false(r->done);
	r->done = true;
	r->status = status;
	snprintf(r->error, sizeof(r->error), "%s", error != NULL ? error : "");
}

static void run_until_done(struct loop *loop, struct result *r)
{
	for (int i = 0; i < 1000 && !r->done; i++)
		loop_run_once(loop, 50);
	assert_true(r->done);
}

static struct smtp_submitter *submitter(struct loop *loop, const char *host,
					const char *sendmail,
					uint64_t timeout_msecs)
{
	struct smtp_submit_settings set = {
		.submission_host = host,
		.sendmail_path = sendmail,
		.helo_name = "lmtp.example.com",
		.timeout_msecs = timeout_msecs,
	};
	char *error = NULL;
	struct smtp_submitter *sub = smtp_submitter_new(loop, &set, &error);
	assert_non_null(sub);
	return sub;
}

static const char test_msg[] =
	"From: a@example.org\nTo: b@example.com\nSubject: dots\n\n"
	".leading dot\r\n..two dots\n.\nlast line without newline";

static void submit(struct smtp_submitter *sub, const char *from,
		   struct result *r)
{
	const char *rcpts[] = { "b@example.com", "c@example.net" };
	struct smtp_submit *s = smtp_submit(sub, from, rcpts, 2, test_msg,
					    strlen(test_msg), on_done, r);
	assert_non_null(s);
	assert_false(r->done);	/* never inside the call */
}

static void test_smtp_two_rcpts_dot_stuffed(void **state)
{
	(void)state;
	struct sink sink;
	struct result r = { 0 };
	struct loop *loop = loop_new();
	sink_start(&sink, NULL, NULL);
	char host[64];
	snprintf(host, sizeof(host), "127.0.0.1:%u", sink.port);
	struct smtp_submitter *sub = submitter(loop, host, NULL, 0);
	submit(sub, "sender@example.org", &r);
	run_until_done(loop, &r);
	assert_int_equal(r.status, SMTP_STATUS_OK);
	char *m = NULL;
	for (int i = 0; i < 100 && m == NULL; i++) {
		usleep(20000);
		m = sink_message(&sink);
	}
	sink_stop(&sink);
	assert_non_null(m);
	assert_non_null(strstr(m, "X-Helo-Args: lmtp.example.com\n"));
	assert_non_null(strstr(m, "X-Mail-Args: <sender@example.org>\n"));
	assert_non_null(strstr(m, "X-Rcpt-Args: <b@example.com>\n"
			       "X-Rcpt-Args: <c@example.net>\n"));
	/* smtp-sink removes the stuffing: the dump shows the original */
	if (strstr(m, "Subject: dots\n\n.leading dot\n..two dots\n.\n"
		   "last line without newline\n") == NULL)
		fail_msg("dumped message: %s", m);
	free(m);
	smtp_submitter_free(&sub);
	loop_free(&loop);
}

static void test_smtp_null_sender(void **state)
{
	(void)state;
	struct sink sink;
	struct result r = { 0 };
	struct loop *loop = loop_new();
	sink_start(&sink, NULL, NULL);
	char host[64];
	snprintf(host, sizeof(host), "127.0.0.1:%u", sink.port);
	struct smtp_submitter *sub = submitter(loop, host, NULL, 0);
	submit(sub, "", &r);
	run_until_done(loop, &r);
	assert_int_equal(r.status, SMTP_STATUS_OK);
	char *m = NULL;
	for (int i = 0; i < 100 && m == NULL; i++) {
		usleep(20000);
		m = sink_message(&sink);
	}
	sink_stop(&sink);
	assert_non_null(m);
	assert_non_null(strstr(m, "X-Mail-Args: <>\n"));
	free(m);
	smtp_submitter_free(&sub);
	loop_free(&loop);
}

static void test_smtp_rcpt_refused(void **state)
{
	(void)state;
	struct sink sink;
	struct result r = { 0 };
	struct loop *loop = loop_new();
	sink_start(&sink, "-f", "RCPT");
	char host[64];
	snprintf(host, sizeof(host), "127.0.0.1:%u", sink.port);
	struct smtp_submitter *sub = submitter(loop, host, NULL, 0);
	submit(sub, "sender@example.org", &r);
	run_until_done(loop, &r);
	assert_int_equal(r.status, SMTP_STATUS_PERMFAIL);
	assert_non_null(strstr(r.error, "RCPT TO:<b@example.com> refused: "
			       "500 5.3.0"));
	usleep(100000);
	char *m = sink_message(&sink);
	assert_null(m);
	sink_stop(&sink);
	smtp_submitter_free(&sub);
	loop_free(&loop);
}

static void test_smtp_soft_refusal_is_temporary(void **state)
{
	(void)state;
	struct sink sink;
	struct result r = { 0 };
	struct loop *loop = loop_new();
	sink_start(&sink, "-r", "MAIL");
	char host[64];
	snprintf(host, sizeof(host), "127.0.0.1:%u", sink.port);
	struct smtp_submitter *sub = submitter(loop, host, NULL, 0);
	submit(sub, "sender@example.org", &r);
	run_until_done(loop, &r);
	assert_int_equal(r.status, SMTP_STATUS_TEMPFAIL);
	assert_non_null(strstr(r.error, "MAIL FROM refused: 450 4.3.0"));
	sink_stop(&sink);
	smtp_submitter_free(&sub);
	loop_free(&loop);
}

static void test_smtp_connect_refused(void **state)
{
	(void)state;
	struct result r = { 0 };
	struct loop *loop = loop_new();
	char host[64];
	snprintf(host, sizeof(host), "127.0.0.1:%u", free_port());
	struct smtp_submitter *sub = submitter(loop, host, NULL, 0);
	submit(sub, "sender@example.org", &r);
	run_until_done(loop, &r);
	assert_int_equal(r.status, SMTP_STATUS_TEMPFAIL);
	assert_non_null(strstr(r.error, "connect failed: Connection refused"));
	smtp_submitter_free(&sub);
	loop_free(&loop);
}

static void test_smtp_slow_receiver_times_out(void **state)
{
	(void)state;
	struct sink sink;
	struct result r = { 0 };
	struct loop *loop = loop_new();
	sink_start(&sink, "-w", "5");	/* waits 5 s before answering DATA */
	char host[64];
	snprintf(host, sizeof(host), "127.0.0.1:%u", sink.port);
	struct smtp_submitter *sub = submitter(loop, host, NULL, 300);
	submit(sub, "sender@example.org", &r);
	run_until_done(loop, &r);
	assert_int_equal(r.status, SMTP_STATUS_TEMPFAIL);
	assert_non_null(strstr(r.error, "timed out waiting for DATA"));
	sink_stop(&sink);
	smtp_submitter_free(&sub);
	loop_free(&loop);
}

static void test_smtp_abort_before_done(void **state)
{
	(void)state;
	struct sink sink;
	struct result r = { 0 };
	struct loop *loop = loop_new();
	sink_start(&sink, "-w", "5");
	char host[64];
	snprintf(host, sizeof(host), "127.0.0.1:%u", sink.port);
	struct smtp_submitter *sub = submitter(loop, host, NULL, 0);
	const char *rcpt = "b@example.com";
	struct smtp_submit *s = smtp_submit(sub, "a@example.org", &rcpt, 1,
					    "x\n", 2, on_done, &r);
	for (int i = 0; i < 10; i++)
		loop_run_once(loop, 20);
	smtp_submit_abort(&s);
	assert_null(s);
	for (int i = 0; i < 5; i++)
		loop_run_once(loop, 10);
	assert_false(r.done);
	sink_stop(&sink);
	smtp_submitter_free(&sub);
	loop_free(&loop);
}

/* A sendmail stand-in: records its arguments and stdin, then exits
 * with `code` after printing `err` on stderr. */
static char *fake_sendmail(const char *name, int code, const char *err)
{
	char *path = NULL;
	assert_true(asprintf(&path, "%s/%s", tmpdir, name) > 0);
	FILE *f = fopen(path, "w");
	fprintf(f, "#!/bin/sh\nprintf '%%s\\n' \"$@\" > %s.args\n"
		"cat > %s.stdin\necho '%s' >&2\nexit %d\n", path, path, err,
		code);
	fclose(f);
	chmod(path, 0755);
	return path;
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return NULL;
	char *text = calloc(1, 65536);
	size_t n = fread(text, 1, 65535, f);
	text[n] = '\0';
	fclose(f);
	return text;
}

static void test_sendmail_ok(void **state)
{
	(void)state;
	struct result r = { 0 };
	struct loop *loop = loop_new();
	char *path = fake_sendmail("sendmail-ok", 0, "");
	struct smtp_submitter *sub = submitter(loop, "", path, 0);
	assert_non_null(strstr(smtp_submitter_describe(sub), "sendmail "));
	submit(sub, "", &r);
	run_until_done(loop, &r);
	assert_int_equal(r.status, SMTP_STATUS_OK);
	char *p = NULL;
	assert_true(asprintf(&p, "%s.args", path) > 0);
	char *args = read_file(p);
	assert_string_equal(args, "-i\n-f\n<>\n--\nb@example.com\n"
			    "c@example.net\n");
	free(p);
	assert_true(asprintf(&p, "%s.stdin", path) > 0);
	char *in = read_file(p);
	/* LF line ends, not dot-stuffed */
	assert_string_equal(in, "From: a@example.org\nTo: b@example.com\n"
			    "Subject: dots\n\n.leading dot\n..two dots\n.\n"
			    "last line without newline");
	free(p);
	free(args);
	free(in);
	free(path);
	smtp_submitter_free(&sub);
	loop_free(&loop);
}

static void test_sendmail_exit_status(void **state)
{
	(void)state;
	struct loop *loop = loop_new();
	char *temp = fake_sendmail("sendmail-temp", 75, "queue full");
	char *perm = fake_sendmail("sendmail-perm", 67, "no such user");
	struct smtp_submitter *sub = submitter(loop, "", temp, 0);
	struct result r = { 0 };
	submit(sub, "a@example.org", &r);
	run_until_done(loop, &r);
	assert_int_equal(r.status, SMTP_STATUS_TEMPFAIL);
	assert_non_null(strstr(r.error, "exited with status 75: queue full"));
	smtp_submitter_free(&sub);
	sub = submitter(loop, "", perm, 0);
	memset(&r, 0, sizeof(r));
	submit(sub, "a@example.org", &r);
	run_until_done(loop, &r);
	assert_int_equal(r.status, SMTP_STATUS_PERMFAIL);
	assert_non_null(strstr(r.error, "exited with status 67: no such user"));
	smtp_submitter_free(&sub);
	/* submission_host wins over sendmail_path */
	char host[64];
	snprintf(host, sizeof(host), "127.0.0.1:%u", free_port());
	sub = submitter(loop, host, temp, 0);
	assert_non_null(strstr(smtp_submitter_describe(sub), "smtp "));
	smtp_submitter_free(&sub);
	free(temp);
	free(perm);
	loop_free(&loop);
}

static void test_bad_settings(void **state)
{
	(void)state;
	struct loop *loop = loop_new();
	char *error = NULL;
	struct smtp_submit_settings set = { .submission_host = "",
					     .sendmail_path = "" };
	assert_null(smtp_submitter_new(loop, &set, &error));
	assert_non_null(error);
	free(error);
	error = NULL;
	set.submission_host = "[::1";
	assert_null(smtp_submitter_new(loop, &set, &error));
	assert_non_null(strstr(error, "invalid host"));
	free(error);
	loop_free(&loop);
}

int main(void)
{
	if (access(SMTP_SINK, X_OK) < 0) {
		fprintf(stderr, "%s not installed: skipped\n", SMTP_SINK);
		return 77;
	}
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test-smtp-client.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return 1;
	chmod(tmpdir, 0755);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_smtp_two_rcpts_dot_stuffed),
		cmocka_unit_test(test_smtp_null_sender),
		cmocka_unit_test(test_smtp_rcpt_refused),
		cmocka_unit_test(test_smtp_soft_refusal_is_temporary),
		cmocka_unit_test(test_smtp_connect_refused),
		cmocka_unit_test(test_smtp_slow_receiver_times_out),
		cmocka_unit_test(test_smtp_abort_before_done),
		cmocka_unit_test(test_sendmail_ok),
		cmocka_unit_test(test_sendmail_exit_status),
		cmocka_unit_test(test_bad_settings),
	};
	int ret = cmocka_run_group_tests(tests, NULL, NULL);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		ret = 1;
	return ret;
}
