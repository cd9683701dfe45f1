/* Unit tests for privdrop.c: which setting names each service's user (in
 * privdrop.h's order), the errors, and the drop itself in a child process
 * (as root; skipped otherwise). Uses users every Debian system has:
 * daemon (1:1), bin (2:2), nobody (65534), group sys (3). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* glibc: POSIX and GNU interfaces */
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <grp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "privdrop.h"

static struct config *load(const char *text)
{
	struct config *cfg = NULL;
	char *error = NULL;
	if (config_load_string(text, strlen(text), "t.conf", &cfg,
			       &error) < 0)
		fail_msg("unexpected error: %s", error);
	return cfg;
}

/* The identity of service under text: configured, uid, gid, setting. */
static void expect_identity(const char *text, const char *service,
			    bool configured, long uid, long gid,
			    const char *setting)
{
	struct config *cfg = load(text);
	struct service_identity id;
	char *error = NULL;
	if (service_identity_get(cfg, service, &id, &error) < 0)
		fail_msg("%s: %s", service, error);
	assert_int_equal(id.configured, configured);
	if (configured) {
		assert_int_equal(id.uid, uid);
		assert_int_equal(id.gid, gid);
		assert_string_equal(id.setting, setting);
	}
	service_identity_free(&id);
	config_free(&cfg);
}

static void expect_error(const char *text, const char *service,
			 const char *expected)
{
	struct config *cfg = load(text);
	struct service_identity id;
	char *error = NULL;
	assert_int_equal(service_identity_get(cfg, service, &id, &error), -1);
	assert_string_equal(error, expected);
	free(error);
	service_identity_free(&id);
	config_free(&cfg);
}

static void test_nothing_configured(void **state)
{
	(void)state;
	/* The schema's default_internal_user (dovecot) is not a setting
	 * anyone made: it must not move a process. */
	expect_identity("", "imap", false, 0, 0, NULL);
	expect_identity("mail_uid = bin\n", "imap", false, 0, 0, NULL);
}

static void test_order(void **state)
{
	(void)state;
	static const char conf[] =
		"default_internal_user = daemon\n"
		"mail_uid = bin\n"
		"mail_gid = sys\n"
		"service auth {\n  user = nobody\n  group = sys\n}\n"
		"service index {\n  user = nobody\n}\n";
	expect_identity(conf, "imap", true, 1, 1, "default_internal_user");
	expect_identity(conf, "quota", true, 1, 1, "default_internal_user");
	expect_identity(conf, "blob", true, 2, 3, "mail_uid");
	expect_identity(conf, "auth", true, 65534, 3, "service { user }");
	/* service NAME { user } wins over mail_uid; group = its own. */
	expect_identity(conf, "index", true, 65534, 65534,
			"service { user }");
	/* mail_gid left out: mail_uid's primary group. */
	expect_identity("mail_uid = bin\n", "blob", true, 2, 2, "mail_uid");
	/* numbers */
	expect_identity("mail_uid = 4242\nmail_gid = 4343\n", "index", true,
			4242, 4343, "mail_uid");
}

static void test_internal_group(void **state)
{
	(void)state;
	struct config *cfg = load("default_internal_user = daemon\n"
				  "mail_uid = bin\n");
	struct service_identity id;
	char *error = NULL;
	assert_int_equal(service_identity_get(cfg, "index", &id, &error), 0);
	assert_true(id.has_internal_gid);
	assert_int_equal(id.internal_gid, 1);
	service_identity_free(&id);
	config_free(&cfg);
}

static void test_errors(void **state)
{
	(void)state;
	expect_error("default_internal_user = no-such-user-x\n", "imap",
		     "user no-such-user-x does not exist");
	expect_error("mail_uid = bin\nmail_gid = no-such-group-x\n", "index",
		     "group no-such-group-x does not exist");
	expect_error("mail_uid = 4242\n", "index",
		     "mail_uid = 4242: a uid not in passwd needs its group "
		     "set too");
}

/* As root: the drop in a child, which reports what it became. */
static void test_drop(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	struct config *cfg = load("default_internal_user = daemon\n"
				  "mail_uid = bin\n");
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char *error = NULL;
		if (service_privileges_drop(cfg, "index", &error) < 0)
			_exit(10);
		gid_t groups[16];
		int n = getgroups(16, groups);
		bool internal = false;
		for (int i = 0; i < n; i++)
			internal = internal || groups[i] == 1;
		uid_t r, e, s;
		if (getresuid(&r, &e, &s) < 0 || r != 2 || e != 2 || s != 2)
			_exit(11);
		if (getgid() != 2 || getegid() != 2 || !internal)
			_exit(12);
		if (setuid(0) == 0 || seteuid(0) == 0)
			_exit(13);
		_exit(0);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	config_free(&cfg);
}

/* As root: an RPC socket goes to the service's user and the internal
 * group, 0660. */
static void test_socket_give(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	char dir[] = "/tmp/stratus-privdrop-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char *path = xasprintf("%s/stratus-index", dir);
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	strcpy(sun.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	struct config *cfg = load("default_internal_user = daemon\n"
				  "mail_uid = bin\n");
	char *error = NULL;
	assert_int_equal(service_rpc_socket_give(cfg, "index", path, &error),
			 0);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_uid, 2);
	assert_int_equal(st.st_gid, 1);
	assert_int_equal(st.st_mode & 0777, 0660);
	close(fd);
	unlink(path);
	rmdir(dir);
	free(path);
	config_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nothing_configured),
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_internal_group),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_drop),
		cmocka_unit_test(test_socket_give),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
