/* Unit tests for the configuration library: every syntax feature, the
 * shipped etc/ files, lookups, dump, the not-yet report and every error
 * with its FILE:LINE. STRATUS_SRCDIR points at the source root. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* glibc: POSIX and GNU interfaces */
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"

static const char *srcdir(void)
{
	const char *dir = getenv("STRATUS_SRCDIR");
	return dir != NULL && dir[0] != '\0' ? dir : ".";
}

static char *src_path(const char *rel)
{
	return xasprintf("%s/%s", srcdir(), rel);
}

static struct config *load_ok(const char *text)
{
	struct config *cfg = NULL;
	char *error = NULL;

	if (config_load_string(text, strlen(text), "t.conf", &cfg,
			       &error) < 0)
		fail_msg("unexpected error: %s", error);
	assert_non_null(cfg);
	return cfg;
}

/* Loading must fail with exactly `expected_error`. */
static void load_err(const char *text, const char *expected_error)
{
	struct config *cfg = NULL;
	char *error = NULL;

	if (config_load_string(text, strlen(text), "t.conf", &cfg,
			       &error) == 0) {
		config_free(&cfg);
		fail_msg("loaded, expected: %s", expected_error);
	}
	assert_null(cfg);
	assert_non_null(error);
	assert_string_equal(error, expected_error);
	free(error);
}

static char *dump_to_string(const struct config *cfg, bool all)
{
	char *data = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&data, &size);

	assert_non_null(f);
	config_dump(cfg, all, f);
	assert_int_equal(fclose(f), 0);
	return data;
}

static size_t count_sections(const struct config_section *parent,
			     const char *type)
{
	size_t n = 0;
	for (size_t i = 0; i < parent->n_children; i++) {
		if (strcmp(parent->children[i]->type, type) == 0)
			n++;
	}
	return n;
}

/* A scratch directory for include and <file tests. */
static char *make_tmpdir(void)
{
	char *dir = xstrdup("/tmp/stratus-test-config-XXXXXX");
	assert_non_null(mkdtemp(dir));
	return dir;
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char *path = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	free(path);
}

static int rm_entry(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void remove_tmpdir(char *dir)
{
	assert_int_equal(nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
	free(dir);
}

static struct config *load_file_ok(const char *path)
{
	struct config *cfg = NULL;
	char *error = NULL;

	if (config_load(path, &cfg, &error) < 0)
		fail_msg("unexpected error: %s", error);
	return cfg;
}

static char *load_file_err(const char *path)
{
	struct config *cfg = NULL;
	char *error = NULL;

	if (config_load(path, &cfg, &error) == 0) {
		config_free(&cfg);
		fail_msg("%s loaded, expected an error", path);
	}
	assert_null(cfg);
	return error;
}

/* ---- the shipped configuration ---- */

static void test_backend_conf_loads(void **state)
{
	char *path = src_path("etc/backend.conf");
	struct config *cfg = load_file_ok(path);
	const struct config_section *root = config_root(cfg), *ns, *mb, *sec;

	(void)state;
	assert_string_equal(config_get(cfg, NULL, "protocols"),
			    "imap pop3 lmtp sieve");
	assert_true(config_get_bool(cfg, NULL, "verbose_proctitle"));
	assert_string_equal(config_get(cfg, NULL, "mail_log_prefix"),
			    "%s(%u)<%{session}>: ");
	assert_string_equal(config_get(cfg, NULL, "auth_mechanisms"),
			    "plain login");
	assert_int_equal(config_get_size(cfg, NULL, "auth_cache_size"),
			 100ULL * 1024 * 1024);
	assert_string_equal(config_get(cfg, NULL, "login_trusted_networks"),
			    "10.0.0.0/24");
	assert_int_equal(config_get_uint(cfg, NULL,
					 "mail_max_userip_connections"), 10);
	assert_string_equal(config_get(cfg, NULL, "ssl"), "no");
	assert_false(config_get_bool(cfg, NULL, "disable_plaintext_auth"));
	assert_string_equal(config_get(cfg, NULL, "mail_home"),
			    "/var/vmail/%2Mu/%u");
	assert_string_equal(config_get(cfg, NULL, "mail_location"),
			    "obox:%2Mu/%2.3Mu/%u:INDEX=~/:CONTROL=~/");
	assert_string_equal(config_get(cfg, NULL, "mail_uid"), "email");
	assert_string_equal(config_get(cfg, NULL, "mail_fsync"), "never");
	assert_true(config_get_bool(cfg, NULL, "mailbox_list_index"));
	assert_int_equal(config_get_uint(cfg, NULL, "mail_prefetch_count"), 10);
	assert_string_equal(config_get(cfg, NULL, "pop3_uidl_format"), "%g");
	assert_string_equal(config_get(cfg, NULL, "submission_host"),
			    "smtp-out.example.com:25");

	/* mail_plugins built up with $mail_plugins, per protocol */
	assert_string_equal(config_get(cfg, NULL, "mail_plugins"),
			    "obox zlib notify mail_log quota");
	assert_string_equal(config_get(cfg, "imap", "mail_plugins"),
			    "obox zlib notify mail_log quota imap_quota");
	assert_string_equal(config_get(cfg, "lmtp", "mail_plugins"),
			    "obox zlib notify mail_log quota sieve");
	assert_string_equal(config_get(cfg, "pop3", "mail_plugins"),
			    "obox zlib notify mail_log quota");

	/* plugin blocks merge */
	assert_int_equal(count_sections(root, "plugin"), 1);
	assert_string_equal(config_plugin_get(cfg, NULL, "metacache_max_space"),
			    "200G");
	assert_string_equal(config_plugin_get(cfg, NULL, "obox_index_fs"),
			    "compress:gz:6:s3:https://ACCESSKEY:SECRET@"
			    "BUCKETNAME.s3.amazonaws.com/");
	assert_string_equal(config_plugin_get(cfg, "imap", "quota"),
			    "count:User quota");
	assert_string_equal(config_plugin_get(cfg, NULL, "quota_warning2"),
			    "storage=95%% quota-warning 95 %u");
	assert_string_equal(config_plugin_get(cfg, NULL, "zlib_save_level"),
			    "6");
	/* commented out: the default */
	assert_string_equal(config_plugin_get(cfg, NULL,
					      "metacache_upload_interval"),
			    "5 mins");

	/* passdb once, userdb twice, in order */
	assert_int_equal(count_sections(root, "passdb"), 1);
	assert_int_equal(count_sections(root, "userdb"), 2);
	sec = config_section_find(root, "passdb", NULL);
	assert_string_equal(config_section_get(sec, "driver"), "ldap");
	assert_string_equal(config_section_get(sec, "args"),
			    "/etc/dovecot/dovecot-ldap.conf.ext");
	sec = config_section_find(root, "userdb", NULL);
	assert_string_equal(config_section_get(sec, "driver"), "prefetch");

	/* both namespace inbox blocks are one namespace */
	assert_int_equal(count_sections(root, "namespace"), 1);
	ns = config_section_find(root, "namespace", "inbox");
	assert_non_null(ns);
	assert_string_equal(config_section_get(ns, "separator"), "/");
	assert_string_equal(config_section_get(ns, "prefix"), "");
	assert_int_equal(count_sections(ns, "mailbox"), 4);
	/* `auto = create }` closed Junk; Trash is its sibling */
	mb = config_section_find(ns, "mailbox", "Junk");
	assert_non_null(mb);
	assert_int_equal(mb->n_children, 0);
	assert_string_equal(config_section_get(mb, "auto"), "create");
	mb = config_section_find(ns, "mailbox", "Trash");
	assert_non_null(mb);
	assert_ptr_equal(mb->parent, ns);
	assert_string_equal(config_section_get(mb, "special_use"), "\\Trash");

	sec = config_section_find(root, "service", "anvil");
	sec = config_section_find(sec, "unix_listener", "anvil-auth-penalty");
	assert_string_equal(config_section_get(sec, "mode"), "0");
	sec = config_section_find(root, "service", "quota-warning");
	assert_string_equal(config_section_get(sec, "executable"),
			    "script /usr/local/bin/quota-warning.sh");
	assert_non_null(config_section_find(sec, "unix_listener",
					    "quota-warning"));
	config_free(&cfg);
	assert_null(cfg);
	free(path);
}

static void test_backend_conf_dump(void **state)
{
	char *path = src_path("etc/backend.conf");
	struct config *cfg = load_file_ok(path), *cfg2;
	char *dump = dump_to_string(cfg, false);
	static const char *const expected[] = {
		"protocols = imap pop3 lmtp sieve\n",
		"verbose_proctitle = yes\n",
		"mail_log_prefix = \"%s(%u)<%{session}>: \"\n",
		"auth_mechanisms = plain login\n",
		"auth_cache_size = 100M\n",
		"login_trusted_networks = 10.0.0.0/24\n",
		"ssl = no\n",
		"disable_plaintext_auth = no\n",
		"mail_home = /var/vmail/%2Mu/%u\n",
		"mail_uid = email\n",
		"mail_gid = email\n",
		"mail_fsync = never\n",
		"mailbox_list_index = yes\n",
		"mail_plugins = obox zlib notify mail_log quota\n",
		"mail_prefetch_count = 10\n",
		"mail_location = obox:%2Mu/%2.3Mu/%u:INDEX=~/:CONTROL=~/\n",
		"imap_client_workarounds = tb-extra-mailbox-sep tb-lsub-flags\n",
		"pop3_no_flag_updates = yes\n",
		"pop3_client_workarounds = outlook-no-nuls oe-ns-eoh\n",
		"pop3_uidl_format = %g\n",
		"submission_host = smtp-out.example.com:25\n",
		"service anvil {\n  unix_listener anvil-auth-penalty {\n"
		"    mode = 0\n  }\n}\n",
		"passdb {\n  args = /etc/dovecot/dovecot-ldap.conf.ext\n"
		"  driver = ldap\n}\n",
		"userdb {\n  driver = prefetch\n}\n",
		"namespace inbox {\n  separator = /\n  inbox = yes\n"
		"  mailbox Drafts {\n    special_use = \\Drafts\n"
		"    auto = create\n  }\n  mailbox Junk {\n",
		"  mailbox Sent {\n    special_use = \\Sent\n"
		"    auto = create\n  }\n}\n",
		"plugin {\n  obox_use_object_ids = yes\n"
		"  metacache_max_space = 200G\n",
		"  metacache_close_delay = 2s\n",
		"  zlib_save = gz\n",
		"  mail_log_events = delete undelete expunge copy "
		"mailbox_delete mailbox_rename\n",
		"  quota = count:User quota\n  quota_vsizes = yes\n"
		"  quota_warning = storage=100%% quota-warning 100 %u\n",
		"  quota_warning3 = -storage=100%% quota-warning below %u\n}\n",
		"protocol imap {\n  mail_plugins = obox zlib notify mail_log "
		"quota imap_quota\n}\n",
		"protocol lmtp {\n  mail_plugins = obox zlib notify mail_log "
		"quota sieve\n}\n",
		"service quota-warning {\n  executable = script "
		"/usr/local/bin/quota-warning.sh\n  user = email\n"
		"  unix_listener quota-warning {\n  }\n}\n",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
		if (strstr(dump, expected[i]) == NULL)
			fail_msg("dump lacks:\n%s\n--- dump:\n%s", expected[i],
				 dump);
	}
	/* defaults are left out */
	assert_null(strstr(dump, "zlib_save_level"));
	assert_null(strstr(dump, "mail_max_userip_connections"));

	/* and the dump reads back to the same configuration */
	cfg2 = load_ok(dump);
	char *dump2 = dump_to_string(cfg2, false);
	assert_string_equal(dump, dump2);
	assert_string_equal(config_get(cfg2, "imap", "mail_plugins"),
			    config_get(cfg, "imap", "mail_plugins"));
	free(dump2);
	config_free(&cfg2);
	free(dump);
	config_free(&cfg);
	free(path);
}

static void test_dump_all(void **state)
{
	struct config *cfg = load_ok("auth_cache_ttl = 5 mins\n"
				     "service imap-login {\n"
				     "  inet_listener imap {\n"
				     "    port = 143\n"
				     "  }\n"
				     "}\n");
	char *dump = dump_to_string(cfg, true);

	(void)state;
	assert_non_null(strstr(dump, "auth_cache_ttl = 5 mins\n"));
	assert_non_null(strstr(dump, "auth_failure_delay = 2 secs\n"));
	assert_non_null(strstr(dump, "mail_log_prefix = "
			       "\"%s(%u)<%{pid}><%{session}>: \"\n"));
	assert_non_null(strstr(dump, "mail_max_userip_connections = 10\n"));
	assert_non_null(strstr(dump, "    port = 143\n    ssl = no\n"));
	free(dump);
	config_free(&cfg);
}

static void test_dev_conf_loads(void **state)
{
	char *path = src_path("etc/dev.conf");
	struct config *cfg = load_file_ok(path);
	const struct config_section *root = config_root(cfg), *svc, *l;
	static const struct {
		const char *service, *listener, *port;
	} listeners[] = {
		{ "imap-login", "imap", "10143" },
		{ "pop3-login", "pop3", "10110" },
		{ "lmtp", "lmtp", "10024" },
		{ "managesieve-login", "sieve", "14190" },
	};

	(void)state;
	assert_string_equal(config_get(cfg, NULL, "listen"), "127.0.0.1");
	assert_string_equal(config_get(cfg, NULL, "base_dir"),
			    "/var/tmp/stratus-dev/run");
	assert_string_equal(config_get(cfg, NULL, "log_path"), "");
	assert_string_equal(config_get(cfg, NULL, "mail_plugins"),
			    "obox zlib quota notify mail_log");
	assert_string_equal(config_plugin_get(cfg, NULL, "obox_fs"),
			    "posix:prefix=/var/tmp/stratus-dev/objects/");
	assert_string_equal(config_plugin_get(cfg, NULL, "quota_rule"),
			    "*:storage=1G");
	for (size_t i = 0; i < sizeof(listeners) / sizeof(listeners[0]);
	     i++) {
		svc = config_section_find(root, "service",
					  listeners[i].service);
		assert_non_null(svc);
		l = config_section_find(svc, "inet_listener",
					listeners[i].listener);
		assert_non_null(l);
		assert_string_equal(config_section_get(l, "port"),
				    listeners[i].port);
		assert_string_equal(config_section_get(l, "address"),
				    "127.0.0.1");
	}
	svc = config_section_find(root, "passdb", NULL);
	assert_string_equal(config_section_get(svc, "driver"), "passwd-file");
	assert_int_equal(count_sections(config_section_find(root, "namespace",
							    "inbox"),
					"mailbox"), 4);
	config_free(&cfg);
	free(path);
}

static void test_ldap_ext_loads(void **state)
{
	char *path = src_path("etc/dovecot-ldap.conf.ext");
	struct config *cfg = NULL;
	char *error = NULL;

	(void)state;
	if (config_load_flat(path, config_ldap_schema, &cfg, &error) < 0)
		fail_msg("%s", error);
	assert_string_equal(config_get(cfg, NULL, "hosts"), "ldap.example.com");
	assert_string_equal(config_get(cfg, NULL, "dn"),
			    "cn=admin,dc=example,dc=com");
	assert_string_equal(config_get(cfg, NULL, "dnpass"), "secret");
	assert_string_equal(config_get(cfg, NULL, "base"), "dc=example,dc=com");
	assert_true(config_get_bool(cfg, NULL, "auth_bind"));
	assert_true(config_get_bool(cfg, NULL, "blocking"));
	/* the `\` continuation lines join into one value */
	assert_string_equal(config_get(cfg, NULL, "pass_attrs"),
			    "=user=%{ldap:mailRoutingAddress}, "
			    "=password=%{ldap:userPassword}, "
			    "=userdb_quota_rule=*:storage="
			    "%{ldap:messageQuotaHard}k");
	assert_string_equal(config_get(cfg, NULL, "user_attrs"),
			    "=user=%{ldap:mailRoutingAddress}, "
			    "=quota_rule=*:storage=%{ldap:messageQuotaHard}");
	assert_string_equal(config_get(cfg, NULL, "pass_filter"),
			    "(mailRoutingAddress=%u)");
	assert_string_equal(config_get(cfg, NULL, "iterate_attrs"),
			    "mailRoutingAddress=user");
	assert_string_equal(config_get(cfg, NULL, "iterate_filter"),
			    "(objectClass= smiMessageRecipient)");
	/* defaults of the LDAP schema */
	assert_int_equal(config_get_uint(cfg, NULL, "ldap_version"), 3);
	assert_string_equal(config_get(cfg, NULL, "scope"), "subtree");
	config_free(&cfg);
	free(path);
}

static void test_ldap_ext_errors(void **state)
{
	char *dir = make_tmpdir(), *path, *error = NULL;
	struct config *cfg = NULL;

	(void)state;
	write_file(dir, "a.ext", "hosts = x\npassdb {\n}\n");
	path = xasprintf("%s/a.ext", dir);
	assert_int_equal(config_load_flat(path, config_ldap_schema, &cfg,
					  &error), -1);
	char *expected = xasprintf("%s:2: sections are not allowed in this "
				   "file", path);
	assert_string_equal(error, expected);
	free(expected);
	free(error);
	free(path);

	write_file(dir, "b.ext", "hosts = x\nmail_home = /x\n");
	path = xasprintf("%s/b.ext", dir);
	assert_int_equal(config_load_flat(path, config_ldap_schema, &cfg,
					  &error), -1);
	expected = xasprintf("%s:2: unknown setting 'mail_home'", path);
	assert_string_equal(error, expected);
	free(expected);
	free(error);
	free(path);

	write_file(dir, "c.ext", "scope = everywhere\n");
	path = xasprintf("%s/c.ext", dir);
	assert_int_equal(config_load_flat(path, config_ldap_schema, &cfg,
					  &error), -1);
	expected = xasprintf("%s:1: scope: invalid value 'everywhere' "
			     "(allowed: base onelevel subtree)", path);
	assert_string_equal(error, expected);
	free(expected);
	free(error);
	free(path);
	assert_null(cfg);
	remove_tmpdir(dir);
}

/* The spec's typing errors, as typed there, are each refused. */
static void test_spec_typos_rejected(void **state)
{
	(void)state;
	load_err("passed {\n  driver = ldap\n}\n",
		 "t.conf:1: unknown section type 'passed'");
	load_err("protocol map {\n  mail_plugins = $mail_plugins map_quota\n}\n",
		 "t.conf:1: unknown protocol 'map'");
	load_err("protocol imap {\n  mail_plugins = $mail_plugins map_quota\n}\n",
		 "t.conf:2: mail_plugins: unknown plugin 'map_quota'");
	load_err("mail_plugins = $mail_plugins box\n",
		 "t.conf:1: mail_plugins: unknown plugin 'box'");
	load_err("\n\nmail_plugins = $mail_plugins lib\n",
		 "t.conf:3: mail_plugins: unknown plugin 'lib'");
	load_err("protocols = imap pop3 smtp sieve\n",
		 "t.conf:1: protocols: unknown protocol 'smtp'");
	load_err("protocol smtp {\n}\n", "t.conf:1: unknown protocol 'smtp'");
	load_err("'auth_mechanisms = plain login\n",
		 "t.conf:1: unknown setting ''auth_mechanisms'");
	load_err("plugin {\n  quota = count:User quota\n}\n}\n",
		 "t.conf:4: unexpected '}' (no open section)");
}

/* `protocol !NAME { }` (Dovecot's negated filter, in the stock
 * 10-mail.conf as `protocol !indexer-worker`) applies to every protocol
 * but NAME; a section for the protocol itself comes first. */
static void test_protocol_negated_filter(void **state)
{
	(void)state;
	struct config *cfg = load_ok(
		"mail_max_userip_connections = 10\n"
		"protocol !lmtp {\n  mail_max_userip_connections = 20\n"
		"  plugin {\n    quota_grace = 10M\n  }\n}\n"
		"protocol imap {\n  mail_max_userip_connections = 30\n}\n"
		"protocol !indexer-worker {\n}\n");
	assert_string_equal(config_get(cfg, "imap",
				       "mail_max_userip_connections"), "30");
	assert_string_equal(config_get(cfg, "pop3",
				       "mail_max_userip_connections"), "20");
	assert_string_equal(config_get(cfg, "lmtp",
				       "mail_max_userip_connections"), "10");
	assert_string_equal(config_plugin_get(cfg, "imap", "quota_grace"),
			    "10M");
	const char *lmtp_grace = config_plugin_get(cfg, "lmtp", "quota_grace");
	assert_true(lmtp_grace == NULL || strcmp(lmtp_grace, "10M") != 0);
	config_free(&cfg);
	load_err("protocol !smtp {\n}\n", "t.conf:1: unknown protocol '!smtp'");
}

/* ---- syntax ---- */

static void test_comments(void **state)
{
	struct config *cfg = load_ok(
		"# a comment line\n"
		"   # indented comment\n"
		"hostname = mx1 # trailing comment\n"
		"login_greeting = \"Hi # not a comment\" # but this is\n"
		"imap_id_log = 'a#b'\n"
		"\n\t\n");

	(void)state;
	assert_string_equal(config_get(cfg, NULL, "hostname"), "mx1");
	assert_string_equal(config_get(cfg, NULL, "login_greeting"),
			    "Hi # not a comment");
	assert_string_equal(config_get(cfg, NULL, "imap_id_log"), "a#b");
	config_free(&cfg);
}

static void test_quoted_values(void **state)
{
	struct config *cfg = load_ok(
		"login_greeting = \"say \\\"hi\\\" \\\\ there\\n\"\n"
		"imap_id_log = 'single \\ \"quotes\"'\n"
		"hostname = \"\"\n"
		"mail_log_prefix = \"  spaced  \"\n"
		"mail_temp_dir=/var/tmp\n"
		"namespace \"Shared Folders\" {\n"
		"  prefix = \"shared/\"\n"
		"}\n");
	const struct config_section *ns;

	(void)state;
	assert_string_equal(config_get(cfg, NULL, "login_greeting"),
			    "say \"hi\" \\ there\n");
	assert_string_equal(config_get(cfg, NULL, "imap_id_log"),
			    "single \\ \"quotes\"");
	assert_string_equal(config_get(cfg, NULL, "hostname"), "");
	assert_string_equal(config_get(cfg, NULL, "mail_log_prefix"),
			    "  spaced  ");
	assert_string_equal(config_get(cfg, NULL, "mail_temp_dir"), "/var/tmp");
	ns = config_section_find(config_root(cfg), "namespace",
				 "Shared Folders");
	assert_non_null(ns);
	assert_string_equal(config_section_get(ns, "prefix"), "shared/");

	/* quoting survives a dump and reload */
	char *dump = dump_to_string(cfg, false);
	struct config *cfg2 = load_ok(dump);
	assert_string_equal(config_get(cfg2, NULL, "login_greeting"),
			    "say \"hi\" \\ there\n");
	assert_string_equal(config_get(cfg2, NULL, "mail_log_prefix"),
			    "  spaced  ");
	assert_non_null(config_section_find(config_root(cfg2), "namespace",
					    "Shared Folders"));
	free(dump);
	config_free(&cfg2);
	config_free(&cfg);
}

/* Values and names that only read back right when the dump quotes them. */
static void test_dump_roundtrip_tricky(void **state)
{
	struct config *cfg = load_ok(
		"hostname = it's # not a comment\n"
		"login_greeting = \"$mail_plugins\"\n"
		"imap_id_log = \"<notafile\"\n"
		"imap_capability = \"ends with }\"\n"
		"login_trusted_networks = \"tab\\there\\r\"\n"
		"mail_server_comment = \"back\\\\\"\n"
		"service \"=odd name\" {\n}\n"
		"service \"two\\nlines\" {\n}\n"
		"namespace \"\" {\n  prefix = a\n}\n"
		"namespace \"\" {\n  prefix = b\n}\n");
	char *dump = dump_to_string(cfg, false), *dump2;
	struct config *cfg2 = load_ok(dump);
	const struct config_section *root;

	(void)state;
	dump2 = dump_to_string(cfg2, false);
	assert_string_equal(dump, dump2);
	assert_string_equal(config_get(cfg2, NULL, "hostname"),
			    "it's # not a comment");
	assert_string_equal(config_get(cfg2, NULL, "login_greeting"),
			    "$mail_plugins");
	assert_string_equal(config_get(cfg2, NULL, "imap_id_log"),
			    "<notafile");
	assert_string_equal(config_get(cfg2, NULL, "imap_capability"),
			    "ends with }");
	assert_string_equal(config_get(cfg2, NULL, "login_trusted_networks"),
			    "tab\there\r");
	assert_string_equal(config_get(cfg2, NULL, "mail_server_comment"),
			    "back\\");
	root = config_root(cfg2);
	assert_non_null(config_section_find(root, "service", "=odd name"));
	assert_non_null(config_section_find(root, "service", "two\nlines"));
	/* unnamed namespaces stay apart */
	assert_int_equal(count_sections(root, "namespace"), 2);
	free(dump);
	free(dump2);
	config_free(&cfg2);
	config_free(&cfg);
}

static void test_continuation(void **state)
{
	struct config *cfg = load_ok(
		"imap_capability = IMAP4rev1 \\\n"
		"    IDLE \\\n"
		"# a comment inside\n"
		"    NAMESPACE\n"
		"hostname = after\n"
		"login_greeting = ends \\\n");

	(void)state;
	assert_string_equal(config_get(cfg, NULL, "imap_capability"),
			    "IMAP4rev1 IDLE NAMESPACE");
	assert_string_equal(config_get(cfg, NULL, "hostname"), "after");
	/* a continuation at end of file ends the value */
	assert_string_equal(config_get(cfg, NULL, "login_greeting"), "ends");
	config_free(&cfg);
	/* errors in a continued line name its first line */
	load_err("hostname = a\nnosuch = a \\\n b\n",
		 "t.conf:2: unknown setting 'nosuch'");
}

static void test_sections_nested(void **state)
{
	struct config *cfg = load_ok(
		"service anvil {\n"
		"  unix_listener anvil-auth-penalty {\n"
		"    mode = 0\n"
		"  }\n"
		"}\n"
		"service lmtp {\n"
		"  inet_listener lmtp {\n"
		"    port = 24\n"
		"  }\n"
		"  unix_listener lmtp {\n"
		"    mode = 0660\n"
		"    user = postfix\n"
		"  }\n"
		"}\n"
		"service lmtp {\n"
		"  process_min_avail = 2\n"
		"}\n"
		"plugin{\n"
		"}\n"
		"namespace inbox {\n"
		"  mailbox Drafts {\n"
		"    special_use = \\Drafts\n"
		"  }\n"
		"  mailbox Drafts {\n"
		"    auto = subscribe\n"
		"  }\n"
		"}\n"
		"passdb {\n  driver = static\n}\n"
		"passdb {\n  driver = passwd-file\n}\n"
		"userdb { }\n"
		"service empty {}\n");
	const struct config_section *root = config_root(cfg), *s, *l;

	(void)state;
	assert_int_equal(count_sections(root, "service"), 3);
	s = config_section_find(root, "service", "lmtp");
	assert_string_equal(config_section_get(s, "process_min_avail"), "2");
	l = config_section_find(s, "unix_listener", "lmtp");
	assert_string_equal(config_section_get(l, "mode"), "0660");
	assert_string_equal(config_section_get(l, "user"), "postfix");
	assert_int_equal(l->line, 10);
	assert_string_equal(l->file, "t.conf");
	l = config_section_find(s, "inet_listener", "lmtp");
	assert_string_equal(config_section_get(l, "port"), "24");
	/* unset: the schema default; address has none (= `listen`) */
	assert_string_equal(config_section_get(l, "ssl"), "no");
	assert_null(config_section_get(l, "address"));
	assert_null(config_section_get(l, "nosuch"));
	s = config_section_find(root, "namespace", "inbox");
	assert_int_equal(count_sections(s, "mailbox"), 1);
	l = config_section_find(s, "mailbox", "Drafts");
	assert_string_equal(config_section_get(l, "special_use"), "\\Drafts");
	assert_string_equal(config_section_get(l, "auto"), "subscribe");
	assert_int_equal(count_sections(root, "passdb"), 2);
	assert_int_equal(count_sections(root, "userdb"), 1);
	assert_int_equal(count_sections(root, "plugin"), 1);
	config_free(&cfg);
}

static void test_close_after_value(void **state)
{
	struct config *cfg = load_ok(
		"namespace inbox {\n"
		"  mailbox Junk {\n"
		"    auto = create }\n"
		"  mailbox Sent {\n"
		"    special_use = \"\\\\Sent\" }\n"
		"  prefix = }\n"
		"}\n");
	const struct config_section *ns;

	(void)state;
	ns = config_section_find(config_root(cfg), "namespace", "inbox");
	assert_int_equal(count_sections(ns, "mailbox"), 2);
	assert_string_equal(config_section_get(config_section_find(ns,
			"mailbox", "Junk"), "auto"), "create");
	assert_string_equal(config_section_get(config_section_find(ns,
			"mailbox", "Sent"), "special_use"), "\\Sent");
	/* a lone `}` value is a value */
	assert_string_equal(config_section_get(ns, "prefix"), "}");
	config_free(&cfg);
}

static void test_references(void **state)
{
	struct config *cfg = load_ok(
		"mail_plugins = $mail_plugins quota\n"
		"mail_prefetch_count = 7\n"
		"protocol imap {\n"
		"  mail_plugins = $mail_plugins imap_quota\n"
		"}\n"
		"protocol imap {\n"
		"  mail_plugins = $mail_plugins acl imap_acl\n"
		"}\n"
		"mail_plugins = $mail_plugins zlib\n"
		"plugin {\n"
		"  obox_max_parallel_writes = $mail_prefetch_count\n"
		"}\n"
		"login_greeting = cost $5 and '$x'\n"
		"imap_id_log = \"$mail_plugins\"\n"
		"hostname = $auth_cache_ttl\n");

	(void)state;
	assert_string_equal(config_get(cfg, NULL, "mail_plugins"),
			    "quota zlib");
	/* the protocol block saw the global value of its time */
	assert_string_equal(config_get(cfg, "imap", "mail_plugins"),
			    "quota imap_quota acl imap_acl");
	assert_string_equal(config_plugin_get(cfg, NULL,
					      "obox_max_parallel_writes"), "7");
	/* `$5` is no setting name: literal */
	assert_string_equal(config_get(cfg, NULL, "login_greeting"),
			    "cost $5 and '$x'");
	/* quoted values are not expanded */
	assert_string_equal(config_get(cfg, NULL, "imap_id_log"),
			    "$mail_plugins");
	/* an unset setting with a default expands to the default */
	assert_string_equal(config_get(cfg, NULL, "hostname"), "1 hour");
	config_free(&cfg);

	load_err("mail_plugins = $nosuch quota\n",
		 "t.conf:1: $nosuch: reference to an unknown or unset setting");
	load_err("plugin {\n  quota = $quota_rule\n}\n",
		 "t.conf:2: $quota_rule: reference to an unknown or unset "
		 "setting");
}

static void test_size_values(void **state)
{
	static const struct {
		const char *in;
		uint64_t out;
	} ok[] = {
		{ "0", 0 }, { "100", 100 }, { "100b", 100 }, { "4k", 4096 },
		{ "4K", 4096 }, { "4kb", 4096 }, { "4KiB", 4096 },
		{ "100M", 100ULL << 20 }, { "100 MB", 100ULL << 20 },
		{ "1G", 1ULL << 30 }, { "2T", 2ULL << 40 },
	};
	static const char *const bad[] = {
		"", "M", "1X", "-1", "1.5G", "1 G B", "99999999999999999999",
		"16777216T", "1Mx",
	};
	uint64_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		if (config_parse_size(ok[i].in, &n) < 0)
			fail_msg("size '%s' refused", ok[i].in);
		assert_int_equal(n, ok[i].out);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (config_parse_size(bad[i], &n) == 0)
			fail_msg("size '%s' accepted", bad[i]);
	}
}

static void test_time_values(void **state)
{
	static const struct {
		const char *in;
		uint64_t out;
	} ok[] = {
		{ "0", 0 }, { "30", 30000 }, { "100ms", 100 },
		{ "100 msecs", 100 }, { "2s", 2000 }, { "2 secs", 2000 },
		{ "1sec", 1000 }, { "5min", 300000 }, { "5 mins", 300000 },
		{ "1 hour", 3600000 }, { "2h", 7200000 }, { "3hours", 10800000 },
		{ "1d", 86400000 }, { "2 days", 172800000 },
		{ "1w", 604800000 }, { "2 weeks", 1209600000 },
	};
	static const char *const bad[] = {
		"", "s", "5 lightyears", "-1s", "1.5s", "5minutes ago",
		"99999999999999999999 weeks",
	};
	uint64_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		if (config_parse_msecs(ok[i].in, &n) < 0)
			fail_msg("time '%s' refused", ok[i].in);
		assert_int_equal(n, ok[i].out);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (config_parse_msecs(bad[i], &n) == 0)
			fail_msg("time '%s' accepted", bad[i]);
	}
}

static void test_bool_values(void **state)
{
	bool b;

	(void)state;
	assert_int_equal(config_parse_bool("yes", &b), 0);
	assert_true(b);
	assert_int_equal(config_parse_bool("YES", &b), 0);
	assert_true(b);
	assert_int_equal(config_parse_bool("no", &b), 0);
	assert_false(b);
	assert_int_equal(config_parse_bool("No", &b), 0);
	assert_false(b);
	assert_int_equal(config_parse_bool("true", &b), -1);
	assert_int_equal(config_parse_bool("", &b), -1);
}

static void test_typed_getters(void **state)
{
	struct config *cfg = load_ok("auth_cache_ttl = 90\n"
				     "auth_failure_delay = 500ms\n"
				     "imap_max_line_length = 1M\n"
				     "mail_debug = yes\n");

	(void)state;
	assert_int_equal(config_get_msecs(cfg, NULL, "auth_cache_ttl"), 90000);
	assert_int_equal(config_get_msecs(cfg, NULL, "auth_failure_delay"),
			 500);
	assert_int_equal(config_get_msecs(cfg, NULL,
					  "auth_cache_negative_ttl"), 3600000);
	assert_int_equal(config_get_size(cfg, NULL, "imap_max_line_length"),
			 1024 * 1024);
	assert_true(config_get_bool(cfg, NULL, "mail_debug"));
	assert_false(config_get_bool(cfg, NULL, "auth_debug"));
	assert_int_equal(config_get_uint(cfg, NULL,
					 "mail_max_userip_connections"), 10);
	assert_string_equal(config_get(cfg, NULL, "mail_log_prefix"),
			    "%s(%u)<%{pid}><%{session}>: ");
	assert_null(config_get(cfg, NULL, "no_such_setting"));
	config_free(&cfg);
}

static void test_protocol_filter(void **state)
{
	struct config *cfg = load_ok(
		"protocol imap {\n"
		"  mail_max_userip_connections = 20\n"
		"  plugin {\n"
		"    quota = count:IMAP quota\n"
		"  }\n"
		"}\n"
		"mail_max_userip_connections = 15\n"
		"protocol imap {\n"
		"  mail_max_userip_connections = 30\n"
		"}\n"
		"plugin {\n"
		"  quota = count:User quota\n"
		"}\n");

	(void)state;
	assert_int_equal(config_get_uint(cfg, "imap",
					 "mail_max_userip_connections"), 30);
	assert_int_equal(config_get_uint(cfg, "pop3",
					 "mail_max_userip_connections"), 15);
	assert_int_equal(config_get_uint(cfg, NULL,
					 "mail_max_userip_connections"), 15);
	assert_string_equal(config_plugin_get(cfg, "imap", "quota"),
			    "count:IMAP quota");
	assert_string_equal(config_plugin_get(cfg, "lmtp", "quota"),
			    "count:User quota");
	assert_string_equal(config_plugin_get(cfg, NULL, "quota"),
			    "count:User quota");
	/* default when set nowhere */
	assert_string_equal(config_get(cfg, "imap", "auth_cache_ttl"),
			    "1 hour");
	config_free(&cfg);
}

static void test_file_value(void **state)
{
	char *dir = make_tmpdir(), *path, *error;
	struct config *cfg;

	(void)state;
	write_file(dir, "greeting.txt", "Welcome here\n\n");
	write_file(dir, "main.conf", "login_greeting = <greeting.txt\n"
		   "ssl_cert = <missing.pem\n");
	path = xasprintf("%s/main.conf", dir);
	error = load_file_err(path);
	char *expected = xasprintf("%s:2: <%s/missing.pem: No such file or "
				   "directory", path, dir);
	assert_string_equal(error, expected);
	free(expected);
	free(error);

	write_file(dir, "main.conf", "login_greeting = <greeting.txt\n");
	cfg = load_file_ok(path);
	assert_string_equal(config_get(cfg, NULL, "login_greeting"),
			    "Welcome here");
	config_free(&cfg);
	free(path);
	remove_tmpdir(dir);
}

static void test_include(void **state)
{
	char *dir = make_tmpdir(), *path, *sub, *error, *expected;
	struct config *cfg;
	const struct config_section *ns;

	(void)state;
	sub = xasprintf("%s/conf.d", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	free(sub);
	sub = xasprintf("%s/sub", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	free(sub);
	write_file(dir, "conf.d/10-a.conf", "hostname = from-a\n");
	write_file(dir, "conf.d/20-b.conf", "mail_uid = vmail\n"
		   "hostname = from-b\n");
	write_file(dir, "conf.d/README", "this is not a config file\n");
	write_file(dir, "sub/inner.conf", "plugin {\n  quota = count:x\n}\n");
	write_file(dir, "sub/ns.conf", "prefix = INBOX/\n");
	write_file(dir, "main.conf",
		   "!include conf.d/*.conf\n"
		   "!include_try missing.conf\n"
		   "!include_try nomatch/*.conf\n"
		   "!include \"sub/inner.conf\"\n"
		   "namespace inbox {\n"
		   "  !include sub/ns.conf\n"
		   "}\n"
		   "mail_gid = vmail\n");
	path = xasprintf("%s/main.conf", dir);
	cfg = load_file_ok(path);
	/* globs expand sorted: 20-b comes last */
	assert_string_equal(config_get(cfg, NULL, "hostname"), "from-b");
	assert_string_equal(config_get(cfg, NULL, "mail_uid"), "vmail");
	assert_string_equal(config_get(cfg, NULL, "mail_gid"), "vmail");
	assert_string_equal(config_plugin_get(cfg, NULL, "quota"), "count:x");
	ns = config_section_find(config_root(cfg), "namespace", "inbox");
	assert_string_equal(config_section_get(ns, "prefix"), "INBOX/");
	/* entries remember the file they came from */
	const struct config_entry *e = &ns->entries[0];
	expected = xasprintf("%s/sub/ns.conf", dir);
	assert_string_equal(e->file, expected);
	assert_int_equal(e->line, 1);
	free(expected);
	config_free(&cfg);
	free(path);

	/* a missing !include */
	write_file(dir, "m2.conf", "hostname = x\n!include nothere.conf\n");
	path = xasprintf("%s/m2.conf", dir);
	error = load_file_err(path);
	expected = xasprintf("%s:2: !include %s/nothere.conf: No such file or "
			     "directory", path, dir);
	assert_string_equal(error, expected);
	free(expected);
	free(error);
	free(path);

	/* a pattern that matches nothing */
	write_file(dir, "m3.conf", "!include none/*.conf\n");
	path = xasprintf("%s/m3.conf", dir);
	error = load_file_err(path);
	expected = xasprintf("%s:1: !include %s/none/*.conf: no matching "
			     "files", path, dir);
	assert_string_equal(error, expected);
	free(expected);
	free(error);
	free(path);

	/* a loop */
	write_file(dir, "loop-a.conf", "!include loop-b.conf\n");
	write_file(dir, "loop-b.conf", "\n!include loop-a.conf\n");
	path = xasprintf("%s/loop-a.conf", dir);
	error = load_file_err(path);
	expected = xasprintf("%s/loop-b.conf:2: !include %s/loop-a.conf: "
			     "include loop", dir, dir);
	assert_string_equal(error, expected);
	free(expected);
	free(error);
	free(path);

	/* errors inside an included file name that file */
	write_file(dir, "bad.conf", "\n\nnosuch = 1\n");
	write_file(dir, "m4.conf", "!include bad.conf\n");
	path = xasprintf("%s/m4.conf", dir);
	error = load_file_err(path);
	expected = xasprintf("%s/bad.conf:3: unknown setting 'nosuch'", dir);
	assert_string_equal(error, expected);
	free(expected);
	free(error);
	free(path);

	/* each file keeps its braces balanced */
	write_file(dir, "open.conf", "plugin {\n");
	write_file(dir, "m5.conf", "!include open.conf\n}\n");
	path = xasprintf("%s/m5.conf", dir);
	error = load_file_err(path);
	expected = xasprintf("%s/open.conf:1: section 'plugin' is not closed "
			     "(missing '}')", dir);
	assert_string_equal(error, expected);
	free(expected);
	free(error);
	free(path);
	write_file(dir, "close.conf", "}\n");
	write_file(dir, "m6.conf", "plugin {\n!include close.conf\n");
	path = xasprintf("%s/m6.conf", dir);
	error = load_file_err(path);
	expected = xasprintf("%s/close.conf:1: unexpected '}' (no open "
			     "section)", dir);
	assert_string_equal(error, expected);
	free(expected);
	free(error);
	free(path);
	remove_tmpdir(dir);
}

static void test_include_depth_limit(void **state)
{
	char *dir = make_tmpdir(), *path, *error, *expected;

	(void)state;
	for (int i = 0; i <= CONFIG_MAX_INCLUDE_DEPTH + 2; i++) {
		char name[32], text[64];
		(void)snprintf(name, sizeof(name), "d%d.conf", i);
		(void)snprintf(text, sizeof(text), "!include d%d.conf\n", i + 1);
		write_file(dir, name, text);
	}
	path = xasprintf("%s/d0.conf", dir);
	error = load_file_err(path);
	expected = xasprintf("%s/d%d.conf:1: !include nested too deeply "
			     "(max %d)", dir, CONFIG_MAX_INCLUDE_DEPTH,
			     CONFIG_MAX_INCLUDE_DEPTH);
	assert_string_equal(error, expected);
	free(expected);
	free(error);
	free(path);
	remove_tmpdir(dir);
}

/* ---- errors ---- */

static void test_errors_file_line(void **state)
{
	static const struct {
		const char *text, *error;
	} cases[] = {
		{ "hostname = a\nfoo = b\n", "t.conf:2: unknown setting 'foo'" },
		{ "plugin {\n  nosuch = 1\n}\n",
		  "t.conf:2: unknown setting 'nosuch' in section 'plugin'" },
		{ "service imap {\n  port = 1\n}\n",
		  "t.conf:2: unknown setting 'port' in section 'service imap'" },
		{ "\nfrobnicate {\n}\n",
		  "t.conf:2: unknown section type 'frobnicate'" },
		{ "mailbox Sent {\n}\n",
		  "t.conf:1: section 'mailbox' is not allowed at the top level" },
		{ "service x {\n  mailbox y {\n  }\n}\n",
		  "t.conf:2: section 'mailbox' is not allowed inside 'service'" },
		{ "auth_cache_size = 100X\n",
		  "t.conf:1: auth_cache_size: invalid size (use e.g. 100M, 1G, "
		  "4k) '100X'" },
		{ "\nauth_cache_ttl = soon\n",
		  "t.conf:2: auth_cache_ttl: invalid time (use e.g. 2s, 5min, "
		  "100ms) 'soon'" },
		{ "verbose_proctitle = sure\n",
		  "t.conf:1: verbose_proctitle: invalid boolean (use yes or no) "
		  "'sure'" },
		{ "ssl = maybe\n",
		  "t.conf:1: ssl: invalid value 'maybe' (allowed: no yes "
		  "required)" },
		{ "service x {\n  unix_listener y {\n    mode = 0698\n  }\n}\n",
		  "t.conf:3: mode: invalid octal mode '0698'" },
		{ "mail_max_userip_connections = ten\n",
		  "t.conf:1: mail_max_userip_connections: invalid number 'ten'" },
		{ "service x {\n  inet_listener y {\n    port =\n  }\n}\n",
		  "t.conf:3: port: invalid number ''" },
		{ "hostname = a\nnamespace inbox {\n  prefix = x\n",
		  "t.conf:2: section 'namespace inbox' is not closed "
		  "(missing '}')" },
		{ "service a {\n  unix_listener b {\n  }\n",
		  "t.conf:1: section 'service a' is not closed (missing '}')" },
		{ "hostname = a\n}\n",
		  "t.conf:2: unexpected '}' (no open section)" },
		{ "plugin {\n}}\n", "t.conf:2: unexpected '}' (no open section)" },
		{ "!include /nonexistent/stratus.conf\n",
		  "t.conf:1: !include /nonexistent/stratus.conf: No such file or "
		  "directory" },
		{ "\n!include /nonexistent/*.conf\n",
		  "t.conf:2: !include /nonexistent/*.conf: no matching files" },
		{ "mail_plugins = $mail_plugin quota\n",
		  "t.conf:1: $mail_plugin: reference to an unknown or unset "
		  "setting" },
		{ "namespace inbox\n{\n}\n",
		  "t.conf:1: expected '{' after 'namespace inbox'" },
		{ "namespace inbox {\n  mailbox Drafts foo {\n  }\n}\n",
		  "t.conf:2: expected '{' after 'mailbox Drafts'" },
		{ "hostname\n", "t.conf:1: expected '=' or '{' after 'hostname'" },
		{ "= x\n", "t.conf:1: expected a setting or section name" },
		{ "hostname = \"abc\n", "t.conf:1: hostname: missing closing quote" },
		{ "hostname = \"a\" b\n",
		  "t.conf:1: hostname: garbage after quoted value" },
		{ "!exec foo\n", "t.conf:1: unknown directive '!exec'" },
		{ "!include\n", "t.conf:1: !include needs a file name" },
		{ "plugin foo {\n}\n", "t.conf:1: section 'plugin' takes no name" },
		{ "service {\n}\n", "t.conf:1: section 'service' needs a name" },
		{ "plugin { quota = x\n", "t.conf:1: unexpected text after '{'" },
		{ "plugin {\n} x\n", "t.conf:2: unexpected text after '}'" },
		{ "namespace \"inbox {\n}\n",
		  "t.conf:1: section 'namespace': missing closing quote in its "
		  "name" },
		{ "ssl_cert = <\n", "t.conf:1: '<' without a file name" },
		{ "namespace x {\n  type = global\n}\n",
		  "t.conf:2: type: invalid value 'global' (allowed: private "
		  "shared public)" },
		{ "mail_plugins = quota,nosuch\n",
		  "t.conf:1: mail_plugins: unknown plugin 'nosuch'" },
		{ "protocol imap {\n  plugin {\n    obox_fs = x\n    bad = 1\n"
		  "  }\n}\n",
		  "t.conf:4: unknown setting 'bad' in section 'plugin'" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		load_err(cases[i].text, cases[i].error);
}

static void test_error_nul_byte(void **state)
{
	static const char text[] = "hostname = a\nb\0c\n";
	struct config *cfg = NULL;
	char *error = NULL;

	(void)state;
	assert_int_equal(config_load_string(text, sizeof(text) - 1, "n.conf",
					    &cfg, &error), -1);
	assert_null(cfg);
	assert_string_equal(error, "n.conf:2: NUL byte in line");
	free(error);
}

static void test_error_line_too_long(void **state)
{
	struct buf b = BUF_INIT;

	(void)state;
	assert_int_equal(buf_append_str(&b, "hostname = a\nhostname = "), 0);
	for (int i = 0; i < CONFIG_MAX_LINE_LENGTH; i++)
		assert_int_equal(buf_append_c(&b, 'x'), 0);
	assert_int_equal(buf_append_c(&b, '\n'), 0);
	load_err(b.data, "t.conf:2: line too long (max 65536 bytes)");

	/* the same bound holds for a line built from continuations */
	buf_reset(&b);
	assert_int_equal(buf_append_str(&b, "\nimap_capability = \\\n"), 0);
	for (int i = 0; i < 100; i++) {
		for (int j = 0; j < 1000; j++)
			assert_int_equal(buf_append_c(&b, 'y'), 0);
		assert_int_equal(buf_append_str(&b, " \\\n"), 0);
	}
	load_err(b.data, "t.conf:2: line too long (max 65536 bytes)");
	buf_free(&b);
}

static void test_error_too_many_settings(void **state)
{
	struct buf b = BUF_INIT;

	(void)state;
	for (int i = 0; i <= CONFIG_MAX_ENTRIES; i++)
		assert_int_equal(buf_append_str(&b, "hostname = a\n"), 0);
	load_err(b.data, "t.conf:100001: too many settings (max 100000)");
	buf_free(&b);
}

static void test_error_file_too_large(void **state)
{
	size_t len = CONFIG_MAX_FILE_SIZE + 1;
	char *text = xmalloc(len), *error = NULL;
	struct config *cfg = NULL;

	(void)state;
	memset(text, '#', len);
	for (size_t i = 99; i < len; i += 100)
		text[i] = '\n';
	assert_int_equal(config_load_string(text, len, "big.conf", &cfg,
					    &error), -1);
	assert_string_equal(error, "big.conf: file too large");
	assert_null(cfg);
	free(error);
	/* exactly at the bound is fine */
	assert_int_equal(config_load_string(text, len - 1, "big.conf", &cfg,
					    &error), 0);
	config_free(&cfg);
	free(text);
}

static void test_error_load_path(void **state)
{
	struct config *cfg = NULL;
	char *error = NULL;

	(void)state;
	assert_int_equal(config_load("/nonexistent/stratus.conf", &cfg,
				     &error), -1);
	assert_string_equal(error, "/nonexistent/stratus.conf: No such file or "
			    "directory");
	free(error);
	assert_int_equal(config_load("/tmp", &cfg, &error), -1);
	assert_string_equal(error, "/tmp: Is a directory");
	free(error);
	assert_null(cfg);
}

/* ---- not-yet report ---- */

static void collect(const char *key, const char *file, unsigned int line,
		    void *ctx)
{
	struct buf *b = ctx;
	assert_string_equal(file, "t.conf");
	assert_int_equal(buf_printf(b, "%s@%u;", key, line), 0);
}

static void test_not_yet_report(void **state)
{
	struct config *cfg = load_ok(
		"listen = 127.0.0.1\n"
		"auth_cache_size = 1M\n"
		"mail_plugins = obox quota\n"
		"protocol imap {\n"
		"  mail_plugins = $mail_plugins imap_quota\n"
		"  auth_cache_size = 2M\n"
		"}\n"
		"plugin {\n"
		"  obox_fs = posix:\n"
		"}\n"
		"service imap-login {\n"
		"  inet_listener imap {\n"
		"    port = 1\n"
		"    ssl = yes\n"
		"  }\n"
		"  process_limit = 5\n"
		"}\n"
		"namespace inbox {\n"
		"  mailbox Sent {\n"
		"    auto = create\n"
		"  }\n"
		"}\n");
	struct buf b = BUF_INIT;

	(void)state;
	config_foreach_not_yet(cfg, NULL, collect, &b);
	assert_string_equal(b.data,
			    "auth_cache_size@2;mail_plugins: obox@3;"
			    "mail_plugins: quota@3;mail_plugins: imap_quota@5;"
			    "plugin/obox_fs@9;service/process_limit@16;"
			    ""
			    "namespace/mailbox/auto@20;");
	buf_reset(&b);
	config_foreach_not_yet(cfg, "imap", collect, &b);
	assert_string_equal(b.data,
			    "mail_plugins: imap_quota@5;"
			    "service/process_limit@16;"
			    ""
			    "namespace/mailbox/auto@20;");
	buf_reset(&b);
	config_foreach_not_yet(cfg, "blob", collect, &b);
	assert_string_equal(b.data,
			    "mail_plugins: obox@3;plugin/obox_fs@9;"
			    "service/process_limit@16;"
			    "");
	buf_free(&b);
	config_free(&cfg);

	/* only implemented settings: nothing to report */
	cfg = load_ok("listen = *\nbase_dir = /run/x\nlog_path =\n"
		      "service lmtp {\n  unix_listener lmtp {\n"
		      "    mode = 0600\n  }\n}\n");
	buf_init(&b, 0);
	config_foreach_not_yet(cfg, NULL, collect, &b);
	assert_int_equal(b.len, 0);
	buf_free(&b);
	config_free(&cfg);
}

/* dict { NAME = URI } as in the stock dovecot.conf: the names are kept,
 * a proxy::NAME reference resolves to the URI, and only the names no
 * setting refers to are reported. */
static void test_dict_section(void **state)
{
	(void)state;
	struct config *cfg = load_ok("dict {\n}\n");
	config_free(&cfg);
	cfg = load_ok(
		"dict {\n"
		"  quota = redis:host=127.0.0.1:port=6379\n"
		"  #acl = pgsql:/etc/dovecot/dovecot-dict-sql.conf.ext\n"
		"  lastlogin = mysql:/etc/dovecot/dovecot-dict-sql.conf.ext\n"
		"}\n"
		"dict {\n"
		"  expire = sqlite:/etc/dovecot/dovecot-dict-sql.conf.ext\n"
		"}\n"
		"plugin {\n"
		"  quota_clone_dict = proxy::quota\n"
		"  last_login_dict = proxy:/run/dovecot/dict:lastlogin\n"
		"}\n");
	assert_string_equal(config_dict_uri(cfg, "quota"),
			    "redis:host=127.0.0.1:port=6379");
	assert_string_equal(config_dict_uri(cfg, "expire"),
			    "sqlite:/etc/dovecot/dovecot-dict-sql.conf.ext");
	assert_null(config_dict_uri(cfg, "acl"));
	char *v = config_dict_resolve(cfg, config_plugin_get(cfg, NULL,
		"quota_clone_dict"));
	assert_string_equal(v, "redis:host=127.0.0.1:port=6379");
	free(v);
	v = config_dict_resolve(cfg, "proxy::nosuch");
	assert_string_equal(v, "proxy::nosuch");
	free(v);
	v = config_dict_resolve(cfg, "file:/tmp/x");
	assert_string_equal(v, "file:/tmp/x");
	free(v);
	struct buf b = BUF_INIT;
	config_foreach_not_yet(cfg, "quota", collect, &b);
	assert_string_equal(b.data, "dict/expire@7;plugin/quota_clone_dict@10;");
	buf_free(&b);
	char *dump = dump_to_string(cfg, false);
	assert_non_null(strstr(dump, "quota = redis:host=127.0.0.1:port=6379"));
	free(dump);
	config_free(&cfg);
	load_err("dict quota {\n}\n",
		 "t.conf:1: section 'dict' takes no name");
	load_err("plugin {\n  dict {\n  }\n}\n",
		 "t.conf:2: section 'dict' is not allowed inside 'plugin'");
}

/* ---- regressions found by fuzz-config ---- */

static void test_fuzz_regressions(void **state)
{
	static const struct {
		const char *text, *error;
	} cases[] = {
		{ "\\", NULL },
		{ "}", "t.conf:1: unexpected '}' (no open section)" },
		{ "\"", "t.conf:1: expected '=' or '{' after '\"'" },
		{ "a=\"\\", "t.conf:1: a: missing closing quote" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (cases[i].error == NULL) {
			struct config *cfg = load_ok(cases[i].text);
			config_free(&cfg);
		} else {
			load_err(cases[i].text, cases[i].error);
		}
	}
}

/* Issue 19: each service keeps only the secrets it uses. */
static void test_scrub_secrets(void **state)
{
	(void)state;
	const char *text =
		"ssl_key = KEYTEXT\n"
		"doveadm_password = ADMPW\n"
		"passdb {\n  driver = ldap\n  args = /etc/ldap.ext\n}\n"
		"userdb {\n  driver = static\n  args = uid=1 pw=X\n}\n"
		"protocol imap {\n  ssl_key = IMAPKEY\n"
		"  plugin {\n    obox_fs = s3:https://AK:SK@h/b\n  }\n}\n"
		"plugin {\n  obox_fs = s3:https://AK:SK@h/b\n"
		"  obox_index_fs =\n  metacache_close_delay = 1s\n}\n";
	struct config *cfg = load_ok(text);
	config_scrub_secrets(cfg, "imap");
	assert_string_equal(config_plugin_get(cfg, NULL, "obox_fs"),
			    CONFIG_SECRET_WITHHELD);
	assert_string_equal(config_plugin_get(cfg, "imap", "obox_fs"),
			    CONFIG_SECRET_WITHHELD);
	assert_string_equal(config_plugin_get(cfg, NULL, "obox_index_fs"), "");
	assert_string_equal(config_plugin_get(cfg, NULL,
					      "metacache_close_delay"), "1s");
	assert_string_equal(config_get(cfg, "imap", "ssl_key"), "IMAPKEY");
	assert_string_equal(config_get(cfg, NULL, "ssl_key"), "KEYTEXT");
	assert_string_equal(config_get(cfg, NULL, "doveadm_password"),
			    CONFIG_SECRET_WITHHELD);
	const struct config_section *db =
		config_section_find(config_root(cfg), "userdb", NULL);
	assert_string_equal(config_section_get(db, "args"),
			    CONFIG_SECRET_WITHHELD);
	config_free(&cfg);

	cfg = load_ok(text);
	config_scrub_secrets(cfg, "blob");
	assert_string_equal(config_plugin_get(cfg, NULL, "obox_fs"),
			    "s3:https://AK:SK@h/b");
	assert_string_equal(config_get(cfg, NULL, "ssl_key"),
			    CONFIG_SECRET_WITHHELD);
	config_free(&cfg);

	cfg = load_ok(text);
	config_scrub_secrets(cfg, "auth");
	db = config_section_find(config_root(cfg), "passdb", NULL);
	assert_string_equal(config_section_get(db, "args"), "/etc/ldap.ext");
	assert_string_equal(config_plugin_get(cfg, NULL, "obox_fs"),
			    CONFIG_SECRET_WITHHELD);
	config_free(&cfg);
}

/* Issue 19: a dict URI's password stays in the services that use the
 * dict: quota_clone_dict's (and the dict { } it names) in svc-quota only,
 * one named by a setting nobody implements nowhere. */
static void test_scrub_dict_secrets(void **state)
{
	(void)state;
	const char *text =
		"mail_attribute_dict = proxy::attrs\n"
		"dict {\n  clone = redis:host=h:port=1:password=CLONEPW\n"
		"  attrs = redis:host=h:Password=ATTRPW\n"
		"  nopw = redis:host=h\n"
		"  sqlx = pgsql:connect=host=h password=SQLPW\n}\n"
		"plugin {\n  quota_clone_dict = proxy::clone\n"
		"  last_login_dict = redis:host=h:password=LASTPW\n}\n";
	const char *inline_text =
		"plugin {\n  quota_clone_dict = redis:host=h:password=INLPW\n"
		"}\n";
	static const char *const services[] = { "imap", "index", "auth",
						"ctl" };
	for (size_t i = 0; i < sizeof(services) / sizeof(*services); i++) {
		struct config *cfg = load_ok(text);
		config_scrub_secrets(cfg, services[i]);
		assert_string_equal(config_dict_uri(cfg, "clone"),
				    CONFIG_SECRET_WITHHELD);
		assert_string_equal(config_dict_uri(cfg, "attrs"),
				    CONFIG_SECRET_WITHHELD);
		assert_string_equal(config_dict_uri(cfg, "sqlx"),
				    CONFIG_SECRET_WITHHELD);
		assert_string_equal(config_dict_uri(cfg, "nopw"),
				    "redis:host=h");
		assert_string_equal(config_plugin_get(cfg, NULL,
						      "last_login_dict"),
				    CONFIG_SECRET_WITHHELD);
		assert_string_equal(config_plugin_get(cfg, NULL,
						      "quota_clone_dict"),
				    "proxy::clone");
		config_free(&cfg);
		cfg = load_ok(inline_text);
		config_scrub_secrets(cfg, services[i]);
		assert_string_equal(config_plugin_get(cfg, NULL,
						      "quota_clone_dict"),
				    CONFIG_SECRET_WITHHELD);
		config_free(&cfg);
	}
	struct config *cfg = load_ok(text);
	config_scrub_secrets(cfg, "quota");
	assert_string_equal(config_dict_uri(cfg, "clone"),
			    "redis:host=h:port=1:password=CLONEPW");
	assert_string_equal(config_dict_uri(cfg, "attrs"),
			    CONFIG_SECRET_WITHHELD);
	assert_string_equal(config_dict_uri(cfg, "sqlx"),
			    CONFIG_SECRET_WITHHELD);
	assert_string_equal(config_plugin_get(cfg, NULL,
						      "last_login_dict"),
			    CONFIG_SECRET_WITHHELD);
	char *v = config_dict_resolve(cfg, config_plugin_get(cfg, NULL,
							  "quota_clone_dict"));
	assert_string_equal(v, "redis:host=h:port=1:password=CLONEPW");
	free(v);
	config_free(&cfg);
	cfg = load_ok(inline_text);
	config_scrub_secrets(cfg, "quota");
	assert_string_equal(config_plugin_get(cfg, NULL, "quota_clone_dict"),
			    "redis:host=h:password=INLPW");
	config_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backend_conf_loads),
		cmocka_unit_test(test_backend_conf_dump),
		cmocka_unit_test(test_dump_all),
		cmocka_unit_test(test_dev_conf_loads),
		cmocka_unit_test(test_ldap_ext_loads),
		cmocka_unit_test(test_ldap_ext_errors),
		cmocka_unit_test(test_spec_typos_rejected),
		cmocka_unit_test(test_protocol_negated_filter),
		cmocka_unit_test(test_comments),
		cmocka_unit_test(test_quoted_values),
		cmocka_unit_test(test_dump_roundtrip_tricky),
		cmocka_unit_test(test_continuation),
		cmocka_unit_test(test_sections_nested),
		cmocka_unit_test(test_close_after_value),
		cmocka_unit_test(test_references),
		cmocka_unit_test(test_size_values),
		cmocka_unit_test(test_time_values),
		cmocka_unit_test(test_bool_values),
		cmocka_unit_test(test_typed_getters),
		cmocka_unit_test(test_protocol_filter),
		cmocka_unit_test(test_file_value),
		cmocka_unit_test(test_include),
		cmocka_unit_test(test_include_depth_limit),
		cmocka_unit_test(test_errors_file_line),
		cmocka_unit_test(test_error_nul_byte),
		cmocka_unit_test(test_error_line_too_long),
		cmocka_unit_test(test_error_too_many_settings),
		cmocka_unit_test(test_error_file_too_large),
		cmocka_unit_test(test_error_load_path),
		cmocka_unit_test(test_not_yet_report),
		cmocka_unit_test(test_dict_section),
		cmocka_unit_test(test_fuzz_regressions),
		cmocka_unit_test(test_scrub_secrets),
		cmocka_unit_test(test_scrub_dict_secrets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
