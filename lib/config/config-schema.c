/* The schemas: every Dovecot setting Stratus knows, per section type, with
 * Dovecot 2.3's defaults, the service that owns it, and whether that
 * service honours it yet (CONFIG_NOT_YET settings are accepted and
 * reported at start-up). Later work flips NOT_YET to IMPLEMENTED here. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* glibc: POSIX and GNU interfaces */
#endif
#include "config-private.h"

#include <string.h>

#define STR CONFIG_TYPE_STR
#define BOOL CONFIG_TYPE_BOOL
#define UINT CONFIG_TYPE_UINT
#define SIZE CONFIG_TYPE_SIZE
#define TIME CONFIG_TYPE_TIME
#define OCTAL CONFIG_TYPE_OCTAL
#define IMPL CONFIG_IMPLEMENTED
#define TODO CONFIG_NOT_YET

const struct config_setting_def config_main_schema[] = {
	/* what the generic service fabric honours today */
	{ "protocols", STR, "imap pop3 lmtp", IMPL, "all" },
	{ "listen", STR, "*, ::", IMPL, "all" },
	{ "base_dir", STR, "/var/run/dovecot", IMPL, "all" },
	{ "log_path", STR, "syslog", IMPL, "all" },
	{ "mail_log_prefix", STR, "%s(%u)<%{pid}><%{session}>: ", IMPL,
	  "all" },
	{ "verbose_proctitle", BOOL, "no", IMPL, "all" },
	/* mail_plugins is checked here; each plugin name is reported on its
	   own ("mail_plugins: NAME") until its feature exists */
	{ "mail_plugins", STR, "", IMPL, "all" },

	/* logging and process settings */
	{ "instance_name", STR, "dovecot", TODO, "all" },
	{ "info_log_path", STR, "", TODO, "all" },
	{ "debug_log_path", STR, "", TODO, "all" },
	{ "syslog_facility", STR, "mail", TODO, "all" },
	{ "log_timestamp", STR, "%b %d %H:%M:%S ", TODO, "all" },
	{ "mail_debug", BOOL, "no", TODO, "all" },
	{ "hostname", STR, "", TODO, "all" },
	{ "import_environment", STR,
	  "TZ CORE_OUTOFMEM CORE_ERROR LISTEN_PID LISTEN_FDS", TODO, "all" },
	{ "shutdown_clients", BOOL, "yes", TODO, "all" },
	{ "state_dir", STR, "/var/lib/dovecot", TODO, "all" },
	{ "default_process_limit", UINT, "100", TODO, "all" },
	{ "default_client_limit", UINT, "1000", TODO, "all" },
	{ "default_vsz_limit", SIZE, "256M", TODO, "all" },
	{ "default_idle_kill", TIME, "1 min", TODO, "all" },
	{ "default_login_user", STR, "dovenull", TODO, "all" },
	{ "default_internal_user", STR, "dovecot", IMPL, "all" },
	{ "login_greeting", STR, "Dovecot ready.", TODO, "all" },
	{ "login_log_format_elements", STR,
	  "user=<%u> method=%m rip=%r lip=%l mpid=%e %c session=<%{session}>",
	  TODO, "all" },
	{ "login_log_format", STR, "%$: %s", TODO, "all" },
	{ "ssl", STR, "yes", IMPL, "all" },
	{ "ssl_cert", STR, "", IMPL, "all" },
	{ "ssl_key", STR, "", IMPL, "all" },
	{ "ssl_key_password", STR, "", IMPL, "all" },
	{ "ssl_ca", STR, "", IMPL, "all" },
	{ "ssl_dh", STR, "", IMPL, "all" },
	{ "ssl_min_protocol", STR, "TLSv1.2", IMPL, "all" },
	{ "ssl_cipher_list", STR,
	  "ALL:!kRSA:!SRP:!kDHd:!DSS:!aNULL:!eNULL:!EXPORT:!DES:!3DES:!MD5:"
	  "!PSK:!RC4:!ADH:!LOW@STRENGTH", IMPL, "all" },
	{ "ssl_prefer_server_ciphers", BOOL, "no", IMPL, "all" },
	{ "ssl_client_ca_dir", STR, "", TODO, "all" },
	{ "ssl_client_ca_file", STR, "", TODO, "all" },
	{ "verbose_ssl", BOOL, "no", IMPL, "all" },
	{ "ssl_verify_client_cert", BOOL, "no", IMPL, "all" },
	{ "ssl_require_crl", BOOL, "yes", IMPL, "all" },

	/* authentication */
	{ "auth_mechanisms", STR, "plain", TODO, "auth" },
	{ "auth_cache_size", SIZE, "0", TODO, "auth" },
	{ "auth_cache_ttl", TIME, "1 hour", TODO, "auth" },
	{ "auth_cache_negative_ttl", TIME, "1 hour", TODO, "auth" },
	{ "auth_cache_verify_password_with_worker", BOOL, "no", TODO,
	  "auth" },
	{ "auth_failure_delay", TIME, "2 secs", TODO, "auth" },
	{ "auth_username_format", STR, "%Lu", TODO, "auth" },
	{ "auth_username_chars", STR,
	  "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01234567890.-_@",
	  TODO, "auth" },
	{ "auth_username_translation", STR, "", TODO, "auth" },
	{ "auth_default_realm", STR, "", TODO, "auth" },
	{ "auth_realms", STR, "", TODO, "auth" },
	{ "auth_master_user_separator", STR, "", TODO, "auth" },
	{ "auth_anonymous_username", STR, "anonymous", TODO, "auth" },
	{ "auth_debug", BOOL, "no", TODO, "auth" },
	{ "auth_debug_passwords", BOOL, "no", TODO, "auth" },
	{ "auth_verbose", BOOL, "no", TODO, "auth" },
	{ "auth_verbose_passwords", STR, "no", TODO, "auth" },
	{ "auth_worker_max_count", UINT, "30", TODO, "auth" },
	{ "auth_ssl_require_client_cert", BOOL, "no", IMPL, "auth" },
	{ "login_trusted_networks", STR, "", TODO, "auth" },
	{ "mail_max_userip_connections", UINT, "10", TODO, "auth" },
	{ "disable_plaintext_auth", BOOL, "yes", TODO, "auth" },

	/* mail storage */
	{ "mail_home", STR, "", TODO, "index" },
	{ "mail_location", STR, "", TODO, "index" },
	{ "mail_uid", STR, "", IMPL, "index" },
	{ "mail_gid", STR, "", IMPL, "index" },
	{ "mail_privileged_group", STR, "", TODO, "index" },
	{ "mail_access_groups", STR, "", TODO, "index" },
	{ "first_valid_uid", UINT, "500", TODO, "index" },
	{ "last_valid_uid", UINT, "0", TODO, "index" },
	{ "first_valid_gid", UINT, "1", TODO, "index" },
	{ "last_valid_gid", UINT, "0", TODO, "index" },
	{ "mail_fsync", STR, "optimized", TODO, "index" },
	{ "mail_temp_dir", STR, "/tmp", TODO, "blob" },
	{ "mailbox_list_index", BOOL, "no", TODO, "index" },
	{ "mail_prefetch_count", UINT, "0", TODO, "blob" },
	{ "mail_attribute_dict", STR, "", TODO, "index" },
	{ "mail_cache_fields", STR, "flags", TODO, "index" },
	{ "mail_always_cache_fields", STR, "", TODO, "index" },
	{ "mail_never_cache_fields", STR, "imap.envelope", TODO, "index" },
	{ "mail_cache_min_mail_count", UINT, "0", TODO, "index" },
	{ "mail_save_crlf", BOOL, "no", TODO, "blob" },
	{ "mail_nfs_index", BOOL, "no", TODO, "index" },
	{ "mail_nfs_storage", BOOL, "no", TODO, "index" },
	{ "mmap_disable", BOOL, "no", TODO, "index" },
	{ "mail_full_filesystem_access", BOOL, "no", TODO, "index" },
	{ "mail_shared_explicit_inbox", BOOL, "no", TODO, "imap" },
	{ "mail_sort_max_read_count", UINT, "0", TODO, "imap" },
	{ "mail_server_comment", STR, "", TODO, "imap" },
	{ "mail_server_admin", STR, "", TODO, "imap" },
	{ "mailbox_idle_check_interval", TIME, "30 secs", TODO, "imap" },

	/* IMAP */
	{ "imap_client_workarounds", STR, "", TODO, "imap" },
	{ "imap_capability", STR, "", TODO, "imap" },
	{ "imap_idle_notify_interval", TIME, "2 mins", TODO, "imap" },
	{ "imap_max_line_length", SIZE, "64k", TODO, "imap" },
	{ "imap_id_send", STR, "name *", TODO, "imap" },
	{ "imap_id_log", STR, "", TODO, "imap" },
	{ "imap_logout_format", STR,
	  "in=%i out=%o deleted=%{deleted} expunged=%{expunged} "
	  "trashed=%{trashed} hdr_count=%{fetch_hdr_count} "
	  "hdr_bytes=%{fetch_hdr_bytes} body_count=%{fetch_body_count} "
	  "body_bytes=%{fetch_body_bytes}", TODO, "imap" },
	{ "imap_literal_minus", BOOL, "no", TODO, "imap" },
	{ "imap_fetch_failure", STR, "disconnect-immediately", TODO,
	  "imap" },
	{ "imap_metadata", BOOL, "no", TODO, "imap" },
	{ "imap_hibernate_timeout", TIME, "0", TODO, "imap" },
	{ "imap_urlauth_host", STR, "", IMPL, "imap" },
	{ "imap_urlauth_submit_user", STR, "", IMPL, "imap" },

	/* POP3 */
	{ "pop3_no_flag_updates", BOOL, "no", TODO, "pop3" },
	{ "pop3_client_workarounds", STR, "", TODO, "pop3" },
	{ "pop3_uidl_format", STR, "%08Xu%08Xv", TODO, "pop3" },
	{ "pop3_logout_format", STR,
	  "top=%t/%p, retr=%r/%b, del=%d/%m, size=%s", TODO, "pop3" },
	{ "pop3_enable_last", BOOL, "no", TODO, "pop3" },
	{ "pop3_reuse_xuidl", BOOL, "no", TODO, "pop3" },
	{ "pop3_lock_session", BOOL, "no", TODO, "pop3" },
	{ "pop3_fast_size_lookups", BOOL, "no", TODO, "pop3" },
	{ "pop3_save_uidl", BOOL, "no", TODO, "pop3" },
	{ "pop3_uidl_duplicates", STR, "allow", TODO, "pop3" },
	{ "pop3_deleted_flag", STR, "", TODO, "pop3" },
	{ "pop3_delete_type", STR, "default", TODO, "pop3" },

	/* LMTP, LDA and outgoing mail. Dovecot 2.3's postmaster_address
	   default uses %{if;...}, which var_expand does not implement. */
	{ "postmaster_address", STR, "postmaster@%d", TODO, "lmtp" },
	{ "submission_host", STR, "", TODO, "lmtp" },
	{ "sendmail_path", STR, "/usr/sbin/sendmail", TODO, "lmtp" },
	{ "submission_timeout", TIME, "30 secs", TODO, "lmtp" },
	{ "lmtp_save_to_detail_mailbox", BOOL, "no", TODO, "lmtp" },
	{ "lmtp_proxy", BOOL, "no", TODO, "lmtp" },
	{ "lmtp_rcpt_check_quota", BOOL, "no", TODO, "lmtp" },
	{ "lmtp_hdr_delivery_address", STR, "final", TODO, "lmtp" },
	{ "lmtp_user_concurrency_limit", UINT, "0", TODO, "lmtp" },
	{ "lmtp_client_workarounds", STR, "", TODO, "lmtp" },
	{ "recipient_delimiter", STR, "+", TODO, "lmtp" },
	{ "lda_mailbox_autocreate", BOOL, "no", TODO, "lmtp" },
	{ "lda_mailbox_autosubscribe", BOOL, "no", TODO, "lmtp" },
	{ "lda_original_recipient_header", STR, "", TODO, "lmtp" },
	{ "deliver_log_format", STR, "msgid=%m: %$", TODO, "lmtp" },
	{ "rejection_subject", STR, "Rejected: %s", TODO, "lmtp" },
	{ "rejection_reason", STR,
	  "Your message to <%t> was automatically rejected:%n%r", TODO,
	  "lmtp" },
	{ "quota_full_tempfail", BOOL, "no", TODO, "quota" },

	/* ManageSieve */
	{ "managesieve_max_line_length", SIZE, "64k", TODO, "managesieve" },
	{ "managesieve_implementation_string", STR, "Dovecot Pigeonhole",
	  TODO, "managesieve" },
	{ "managesieve_sieve_capability", STR, "", TODO, "managesieve" },
	{ "managesieve_notify_capability", STR, "", TODO, "managesieve" },
	{ "managesieve_max_compile_errors", UINT, "5", TODO, "managesieve" },
	{ "managesieve_logout_format", STR, "bytes=%i/%o", TODO,
	  "managesieve" },

	/* doveadm */
	{ "doveadm_port", UINT, "0", TODO, "all" },
	{ "doveadm_password", STR, "", TODO, "all" },
	{ NULL, 0, NULL, 0, NULL }
};

static const struct config_setting_def authdb_schema[] = {
	{ "driver", STR, "", TODO, "auth" },
	{ "args", STR, "", TODO, "auth" },
	{ "default_fields", STR, "", TODO, "auth" },
	{ "override_fields", STR, "", TODO, "auth" },
	{ "deny", BOOL, "no", TODO, "auth" },
	{ "master", BOOL, "no", TODO, "auth" },
	{ "pass", BOOL, "no", TODO, "auth" },
	{ "skip", STR, "never", TODO, "auth" },
	{ "result_success", STR, "return-ok", TODO, "auth" },
	{ "result_failure", STR, "continue", TODO, "auth" },
	{ "result_internalfailure", STR, "continue", TODO, "auth" },
	{ "auth_verbose", STR, "default", TODO, "auth" },
	{ "name", STR, "", TODO, "auth" },
	{ "mechanisms", STR, "", TODO, "auth" },
	{ "username_filter", STR, "", TODO, "auth" },
	{ NULL, 0, NULL, 0, NULL }
};

static const struct config_setting_def service_schema[] = {
	{ "executable", STR, "", TODO, "all" },
	/* lib/service/privdrop.c */
	{ "user", STR, "", IMPL, "all" },
	{ "group", STR, "", IMPL, "all" },
	{ "privileged_group", STR, "", TODO, "all" },
	{ "extra_groups", STR, "", TODO, "all" },
	{ "chroot", STR, "", TODO, "all" },
	{ "drop_priv_before_exec", BOOL, "no", TODO, "all" },
	{ "process_min_avail", UINT, "0", TODO, "all" },
	{ "process_limit", UINT, NULL, TODO, "all" },
	{ "client_limit", UINT, NULL, TODO, "all" },
	{ "service_count", UINT, "0", TODO, "all" },
	{ "idle_kill", TIME, NULL, TODO, "all" },
	{ "vsz_limit", SIZE, NULL, TODO, "all" },
	{ "protocol", STR, "", TODO, "all" },
	{ "type", STR, "", TODO, "all" },
	{ NULL, 0, NULL, 0, NULL }
};

/* Listener user/group/address have no default: unset means "the
   service's own" and "`listen`", which callers tell apart by NULL. */
static const struct config_setting_def unix_listener_schema[] = {
	{ "mode", OCTAL, "0600", IMPL, "all" },
	{ "user", STR, NULL, IMPL, "all" },
	{ "group", STR, NULL, IMPL, "all" },
	{ NULL, 0, NULL, 0, NULL }
};

static const struct config_setting_def inet_listener_schema[] = {
	{ "address", STR, NULL, IMPL, "all" },
	{ "port", UINT, "0", IMPL, "all" },
	{ "ssl", BOOL, "no", IMPL, "all" },
	{ "haproxy", BOOL, "no", TODO, "all" },
	{ "reuse_port", BOOL, "no", TODO, "all" },
	{ NULL, 0, NULL, 0, NULL }
};

static const struct config_setting_def namespace_schema[] = {
	{ "type", STR, "private", TODO, "imap" },
	{ "separator", STR, "", TODO, "imap" },
	{ "prefix", STR, "", TODO, "imap" },
	{ "location", STR, "", TODO, "imap" },
	{ "inbox", BOOL, "no", TODO, "imap" },
	{ "hidden", BOOL, "no", TODO, "imap" },
	{ "list", STR, "yes", TODO, "imap" },
	{ "subscriptions", BOOL, "yes", TODO, "imap" },
	{ "ignore_on_failure", BOOL, "no", TODO, "imap" },
	{ "disabled", BOOL, "no", TODO, "imap" },
	{ "alias_for", STR, "", TODO, "imap" },
	{ "order", UINT, "0", TODO, "imap" },
	{ NULL, 0, NULL, 0, NULL }
};

static const struct config_setting_def mailbox_schema[] = {
	{ "auto", STR, "no", TODO, "imap" },
	{ "special_use", STR, "", TODO, "imap" },
	{ "driver", STR, "", TODO, "imap" },
	{ "comment", STR, "", TODO, "imap" },
	{ "autoexpunge", TIME, "0", TODO, "index" },
	{ "autoexpunge_max_mails", UINT, "0", TODO, "index" },
	{ NULL, 0, NULL, 0, NULL }
};

/* plugin { } is free-form in Dovecot; Stratus checks it against the
   plugins it knows so a typo is caught. Numbered keys use patterns. */
static const struct config_setting_def plugin_schema[] = {
	{ "obox_fs", STR, "", TODO, "blob" },
	{ "obox_index_fs", STR, "", TODO, "index" },
	{ "obox_use_object_ids", BOOL, "no", TODO, "index" },
	{ "obox_max_parallel_writes", UINT, NULL, TODO, "blob" },
	{ "obox_max_parallel_copies", UINT, NULL, TODO, "blob" },
	{ "obox_max_parallel_deletes", UINT, NULL, TODO, "blob" },
	{ "obox_max_rescan_mail_count", UINT, "10", TODO, "index" },
	{ "obox_autofix_storage", BOOL, "no", TODO, "index" },
	{ "metacache_max_space", SIZE, NULL, TODO, "index" },
	{ "metacache_delay_uploads", BOOL, "no", TODO, "index" },
	{ "metacache_upload_interval", TIME, "5 mins", TODO, "index" },
	{ "metacache_close_delay", TIME, "2 secs", TODO, "index" },
	{ "zlib_save", STR, "", TODO, "blob" },
	{ "zlib_save_level", UINT, "6", TODO, "blob" },
	{ "mail_log_events", STR, "", TODO, "imap" },
	{ "mail_log_fields", STR, "uid box msgid size", TODO, "imap" },
	{ "quota", STR, "", TODO, "quota" },
	{ "quota2", STR, "", TODO, "quota" },
	{ "quota3", STR, "", TODO, "quota" },
	{ "quota4", STR, "", TODO, "quota" },
	{ "quota5", STR, "", TODO, "quota" },
	{ "quota6", STR, "", TODO, "quota" },
	{ "quota7", STR, "", TODO, "quota" },
	{ "quota8", STR, "", TODO, "quota" },
	{ "quota9", STR, "", TODO, "quota" },
	{ "quota_rule*", STR, NULL, TODO, "quota" },
	{ "quota_warning*", STR, NULL, TODO, "quota" },
	{ "quota_vsizes", BOOL, "no", TODO, "quota" },
	{ "quota_grace", STR, "10%%", TODO, "quota" },
	{ "quota_exceeded_message", STR, "", TODO, "quota" },
	{ "quota_max_mail_size", SIZE, "0", TODO, "quota" },
	{ "quota_clone_dict", STR, "", TODO, "quota" },
	{ "sieve*", STR, NULL, TODO, "lmtp" },
	{ "acl*", STR, NULL, TODO, "imap" },
	{ "fts*", STR, NULL, TODO, "index" },
	{ "last_login_dict", STR, "", TODO, "auth" },
	{ "last_login_key", STR, "", TODO, "auth" },
	{ "welcome_script", STR, "", TODO, "imap" },
	{ "welcome_wait", BOOL, "no", TODO, "imap" },
	{ "listescape_char", STR, "\\", TODO, "imap" },
	{ "lazy_expunge", STR, "", TODO, "index" },
	{ "trash", STR, "", TODO, "quota" },
	{ NULL, 0, NULL, 0, NULL }
};

/* dict { NAME = URI }: any name. Dovecot's dict process serves these to
 * settings that say proxy:[SOCKET]:NAME; Stratus reads them in place
 * (config_dict_resolve). A name no setting refers to is reported as
 * accepted but unused (config-lookup.c). */
static const struct config_setting_def dict_schema[] = {
	{ "*", STR, NULL, TODO, "all" },
	{ NULL, 0, NULL, 0, NULL }
};

const struct config_setting_def config_ldap_schema[] = {
	{ "hosts", STR, "", TODO, "auth" },
	{ "uris", STR, "", TODO, "auth" },
	{ "dn", STR, "", TODO, "auth" },
	{ "dnpass", STR, "", TODO, "auth" },
	{ "sasl_bind", BOOL, "no", TODO, "auth" },
	{ "sasl_mech", STR, "", TODO, "auth" },
	{ "sasl_realm", STR, "", TODO, "auth" },
	{ "sasl_authz_id", STR, "", TODO, "auth" },
	{ "tls", BOOL, "no", TODO, "auth" },
	{ "tls_ca_cert_file", STR, "", TODO, "auth" },
	{ "tls_ca_cert_dir", STR, "", TODO, "auth" },
	{ "tls_cipher_suite", STR, "", TODO, "auth" },
	{ "tls_cert_file", STR, "", TODO, "auth" },
	{ "tls_key_file", STR, "", TODO, "auth" },
	{ "tls_require_cert", STR, "", TODO, "auth" },
	{ "ldaprc_path", STR, "", TODO, "auth" },
	{ "debug_level", STR, "0", TODO, "auth" },
	{ "ldap_version", UINT, "3", TODO, "auth" },
	{ "base", STR, "", TODO, "auth" },
	{ "deref", STR, "never", TODO, "auth" },
	{ "scope", STR, "subtree", TODO, "auth" },
	{ "auth_bind", BOOL, "no", TODO, "auth" },
	{ "auth_bind_userdn", STR, "", TODO, "auth" },
	{ "blocking", BOOL, "no", TODO, "auth" },
	{ "user_attrs", STR, "homeDirectory=home,uidNumber=uid,gidNumber=gid",
	  TODO, "auth" },
	{ "user_filter", STR, "(&(objectClass=posixAccount)(uid=%u))", TODO,
	  "auth" },
	{ "pass_attrs", STR, "uid=user,userPassword=password", TODO, "auth" },
	{ "pass_filter", STR, "(&(objectClass=posixAccount)(uid=%u))", TODO,
	  "auth" },
	{ "iterate_attrs", STR, "uid=user", TODO, "auth" },
	{ "iterate_filter", STR, "(objectClass=posixAccount)", TODO, "auth" },
	{ "default_pass_scheme", STR, "CRYPT", TODO, "auth" },
	{ NULL, 0, NULL, 0, NULL }
};

/* Enum-like string settings: the words Dovecot accepts. */
struct config_enum {
	const struct config_setting_def *schema;
	const char *key;
	const char *const *values;
};

static const char *const ssl_values[] = { "no", "yes", "required", NULL };
static const char *const fsync_values[] = { "optimized", "always", "never",
					    NULL };
static const char *const ns_type_values[] = { "private", "shared", "public",
					      NULL };
static const char *const ns_list_values[] = { "yes", "no", "children", NULL };
static const char *const auto_values[] = { "no", "create", "subscribe",
					   NULL };
static const char *const skip_values[] = { "never", "authenticated",
					   "unauthenticated", NULL };
static const char *const result_values[] = { "return-ok", "return",
					     "return-fail", "continue",
					     "continue-ok", "continue-fail",
					     NULL };
static const char *const authdb_verbose_values[] = { "default", "yes", "no",
						     NULL };
static const char *const deref_values[] = { "never", "searching", "finding",
					    "always", NULL };
static const char *const scope_values[] = { "base", "onelevel", "subtree",
					    NULL };
static const char *const tls_req_values[] = { "", "never", "hard", "demand",
					      "allow", "try", NULL };

static const struct config_enum config_enums[] = {
	{ config_main_schema, "ssl", ssl_values },
	{ config_main_schema, "mail_fsync", fsync_values },
	{ namespace_schema, "type", ns_type_values },
	{ namespace_schema, "list", ns_list_values },
	{ mailbox_schema, "auto", auto_values },
	{ authdb_schema, "skip", skip_values },
	{ authdb_schema, "result_success", result_values },
	{ authdb_schema, "result_failure", result_values },
	{ authdb_schema, "result_internalfailure", result_values },
	{ authdb_schema, "auth_verbose", authdb_verbose_values },
	{ config_ldap_schema, "deref", deref_values },
	{ config_ldap_schema, "scope", scope_values },
	{ config_ldap_schema, "tls_require_cert", tls_req_values },
	{ NULL, NULL, NULL }
};

const char *const *config_enum_values(const struct config_setting_def *schema,
				      const char *key)
{
	for (const struct config_enum *e = config_enums; e->schema != NULL;
	     e++) {
		if (e->schema == schema && strcmp(e->key, key) == 0)
			return e->values;
	}
	return NULL;
}

const struct config_mail_plugin config_mail_plugins[] = {
	{ "obox", TODO, "blob" },
	{ "zlib", TODO, "blob" },
	{ "notify", TODO, "index" },
	{ "mail_log", TODO, "imap" },
	{ "quota", TODO, "quota" },
	{ "imap_quota", TODO, "imap" },
	{ "quota_clone", TODO, "quota" },
	{ "sieve", TODO, "lmtp" },
	{ "acl", TODO, "imap" },
	{ "imap_acl", TODO, "imap" },
	{ "fts", TODO, "index" },
	{ "listescape", TODO, "imap" },
	{ "last_login", TODO, "auth" },
	{ "welcome", TODO, "imap" },
	{ "lazy_expunge", TODO, "index" },
	{ "trash", TODO, "quota" },
	{ "imap_sieve", TODO, "imap" },
	{ "mail_crypt", TODO, "blob" },
	{ "push_notification", TODO, "index" },
	{ "virtual", TODO, "index" },
	{ NULL, 0, NULL }
};

const struct config_mail_plugin *config_mail_plugin_find(const char *name)
{
	for (const struct config_mail_plugin *p = config_mail_plugins;
	     p->name != NULL; p++) {
		if (strcmp(p->name, name) == 0)
			return p;
	}
	return NULL;
}

const struct config_setting_def *
config_setting_find(const struct config_setting_def *schema, const char *key)
{
	for (const struct config_setting_def *d = schema; d->name != NULL;
	     d++) {
		if (strcmp(d->name, key) == 0)
			return d;
	}
	for (const struct config_setting_def *d = schema; d->name != NULL;
	     d++) {
		size_t len = strlen(d->name);
		if (len > 0 && d->name[len - 1] == '*' &&
		    strncmp(d->name, key, len - 1) == 0)
			return d;
	}
	return NULL;
}

/* Section types and where they may appear. */
static const char *const root_children[] = {
	"service", "passdb", "userdb", "namespace", "plugin", "protocol", "dict",
	NULL
};
static const char *const protocol_children[] = {
	"plugin", "passdb", "userdb", "namespace", NULL
};
static const char *const service_children[] = {
	"unix_listener", "fifo_listener", "inet_listener", NULL
};
static const char *const namespace_children[] = { "mailbox", NULL };
static const char *const no_children[] = { NULL };

const struct config_section_def config_root_def = {
	"", CONFIG_NAME_NONE, false, config_main_schema, root_children
};

static const struct config_section_def section_defs[] = {
	{ "service", CONFIG_NAME_REQUIRED, true, service_schema,
	  service_children },
	{ "unix_listener", CONFIG_NAME_REQUIRED, true, unix_listener_schema,
	  no_children },
	{ "fifo_listener", CONFIG_NAME_REQUIRED, true, unix_listener_schema,
	  no_children },
	{ "inet_listener", CONFIG_NAME_OPTIONAL, true, inet_listener_schema,
	  no_children },
	{ "passdb", CONFIG_NAME_OPTIONAL, false, authdb_schema, no_children },
	{ "userdb", CONFIG_NAME_OPTIONAL, false, authdb_schema, no_children },
	{ "namespace", CONFIG_NAME_OPTIONAL, true, namespace_schema,
	  namespace_children },
	{ "mailbox", CONFIG_NAME_REQUIRED, true, mailbox_schema, no_children },
	{ "plugin", CONFIG_NAME_NONE, true, plugin_schema, no_children },
	{ "dict", CONFIG_NAME_NONE, true, dict_schema, no_children },
	{ "protocol", CONFIG_NAME_REQUIRED, true, config_main_schema,
	  protocol_children },
	{ NULL, 0, false, NULL, NULL }
};

const struct config_section_def *config_section_def_find(const char *type)
{
	for (const struct config_section_def *d = section_defs; d->type != NULL;
	     d++) {
		if (strcmp(d->type, type) == 0)
			return d;
	}
	return NULL;
}

const struct config_section_def *
config_section_def_child(const struct config_section_def *parent,
			 const char *type)
{
	for (unsigned int i = 0; parent->children[i] != NULL; i++) {
		if (strcmp(parent->children[i], type) == 0)
			return config_section_def_find(type);
	}
	return NULL;
}

const struct config_setting_def *
config_section_schema(const struct config *cfg,
		      const struct config_section *sec)
{
	if (sec->parent == NULL)
		return cfg->schema;
	const struct config_section_def *def = config_section_def_find(sec->type);
	return def != NULL ? def->settings : NULL;
}

/* `protocol NAME { }` filters. */
static const char *const protocol_names[] = {
	"imap", "pop3", "lmtp", "sieve", "managesieve", "lda", "doveadm",
	"submission", NULL
};
/* Words allowed in `protocols`: what can listen ("sieve" = ManageSieve,
   as in Dovecot). */
static const char *const listen_protocols[] = {
	"imap", "pop3", "lmtp", "sieve", "submission", "none", NULL
};

static bool in_list(const char *const *list, const char *name)
{
	for (unsigned int i = 0; list[i] != NULL; i++) {
		if (strcmp(list[i], name) == 0)
			return true;
	}
	return false;
}

/* "!NAME" is Dovecot's negated filter; its NAME may also be one of
 * Dovecot's own processes (the stock 10-mail.conf has
 * `protocol !indexer-worker`), which Stratus does not have: such a
 * section applies to every Stratus protocol. */
bool config_protocol_name_valid(const char *name)
{
	if (name[0] == '!')
		return in_list(protocol_names, name + 1) ||
		       strcmp(name + 1, "indexer-worker") == 0;
	return in_list(protocol_names, name);
}

bool config_protocols_value_valid(const char *name)
{
	return in_list(listen_protocols, name);
}
