/* Secrets in dovecot.conf and the services that use them. Every service
 * parses the whole file, so without this an S3 key in obox_fs or the TLS
 * private key would sit in the memory of services that never touch them
 * (a core dump or a memory-reading bug in svc-imap would give them away).
 * config_scrub_secrets() wipes them from such a service's copy right
 * after the load, and again after every reload's load.
 *
 * Dict URIs are secrets too when they carry a password (redis:...:
 * password=P, a connect= string with password=): such a value is kept
 * only by the services that talk to that dict themselves
 * (config_dict_users), and a dict { NAME = URI } by the services whose
 * settings name it as proxy::NAME. A dict setting Stratus accepts but
 * does not implement (mail_attribute_dict, last_login_dict) has no user,
 * so its password is wiped everywhere. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* glibc: explicit_bzero */
#endif
#include "config-private.h"
#include "buf.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct config_secret {
	const char *section;	/* section type; "" = a global setting,
				   at the root or in a protocol block */
	const char *key;
	const char *kept_by;	/* services that use it; NULL = none */
};

/* passdb/userdb args: a file path for ldap (only svc-auth opens it, so
 * its dnpass never reaches another service) or, for other drivers, the
 * options themselves, which may hold a password. */
static const struct config_secret config_secrets[] = {
	{ "plugin", "obox_fs", "blob" },
	{ "plugin", "obox_index_fs", "blob" },
	{ "passdb", "args", "auth" },
	{ "userdb", "args", "auth" },
	{ "", "ssl_key", "imap pop3 lmtp managesieve" },
	{ "", "ssl_key_password", "imap pop3 lmtp managesieve" },
	{ "", "doveadm_password", NULL },
};

/* Dict settings a service implements by talking to the dict itself. */
static const struct config_secret config_dict_users[] = {
	{ "plugin", "quota_clone_dict", "quota" },
};

/* How a dict URI starts (Dovecot's dict drivers). */
static const char *const dict_drivers[] = {
	"proxy:", "redis:", "sql:", "mysql:", "pgsql:", "sqlite:",
	"cassandra:", "ldap:", "memcached:", "memcached_ascii:", "dict:",
};

void config_secure_free(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

static bool secret_section_matches(const struct config_secret *secret,
				   const struct config_section *sec)
{
	if (secret->section[0] != '\0')
		return strcmp(sec->type, secret->section) == 0;
	return sec->parent == NULL || strcmp(sec->type, "protocol") == 0;
}

static bool secret_kept(const struct config_secret *secret,
			const char *service)
{
	return secret->kept_by != NULL &&
	       config_list_has(secret->kept_by, service);
}

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* An empty value stays empty: "not set" is not a secret, and svc-index
 * decides on it. */
static void withhold(struct config_entry *e)
{
	if (e->value[0] == '\0')
		return;
	config_secure_free(e->value);
	e->value = xstrdup(CONFIG_SECRET_WITHHELD);
}

/* The row of table that names e in sec, or NULL. */
static const struct config_secret *
secret_find(const struct config_secret *table, size_t n,
	    const struct config_section *sec, const struct config_entry *e)
{
	for (size_t s = 0; s < n; s++) {
		if (strcmp(e->key, table[s].key) == 0 &&
		    secret_section_matches(&table[s], sec))
			return &table[s];
	}
	return NULL;
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Whether e is a dict URI (or a connect= string) with a password in it. */
static bool dict_value_has_password(const struct config_section *sec,
				    const struct config_entry *e)
{
	if (strcasestr(e->value, "password=") == NULL)
		return false;
	if (strcmp(sec->type, "dict") == 0 || has_suffix(e->key, "_dict") ||
	    strstr(e->value, "connect=") != NULL)
		return true;
	for (size_t i = 0; i < N_ELEMS(dict_drivers); i++) {
		if (strncmp(e->value, dict_drivers[i],
			    strlen(dict_drivers[i])) == 0)
			return true;
	}
	return false;
}

/* Whether a setting outside dict { } that service implements names dict
 * `name` (proxy:[SOCKET]:NAME). */
static bool dict_used_by(const struct config_section *sec, const char *name,
			 const char *service)
{
	size_t nlen = strlen(name);
	if (strcmp(sec->type, "dict") == 0)
		return false;
	for (size_t i = 0; i < sec->n_entries; i++) {
		const struct config_entry *e = &sec->entries[i];
		const struct config_secret *user = secret_find(
			config_dict_users, N_ELEMS(config_dict_users), sec, e);
		size_t len;
		if (user == NULL || !secret_kept(user, service))
			continue;
		for (const char *v = e->value;
		     (v = config_dict_proxy_name(v, &len)) != NULL; v += len) {
			if (len == nlen && strncmp(v, name, len) == 0)
				return true;
		}
	}
	for (size_t i = 0; i < sec->n_children; i++) {
		if (dict_used_by(sec->children[i], name, service))
			return true;
	}
	return false;
}

/* dict { NAME = URI-with-password }: kept where a setting names it. Runs
 * before scrub_section, which may withhold the naming settings. */
static void scrub_dicts(struct config_section *root, const char *service)
{
	for (size_t c = 0; c < root->n_children; c++) {
		struct config_section *sec = root->children[c];
		if (strcmp(sec->type, "dict") != 0)
			continue;
		for (size_t i = 0; i < sec->n_entries; i++) {
			struct config_entry *e = &sec->entries[i];
			if (dict_value_has_password(sec, e) &&
			    !dict_used_by(root, e->key, service))
				withhold(e);
		}
	}
}

static void scrub_section(struct config_section *sec, const char *service)
{
	for (size_t i = 0; i < sec->n_entries; i++) {
		struct config_entry *e = &sec->entries[i];
		const struct config_secret *secret = secret_find(
			config_secrets, N_ELEMS(config_secrets), sec, e);
		if (secret != NULL) {
			if (!secret_kept(secret, service))
				withhold(e);
			continue;
		}
		if (strcmp(sec->type, "dict") == 0 ||
		    !dict_value_has_password(sec, e))
			continue;
		secret = secret_find(config_dict_users,
				     N_ELEMS(config_dict_users), sec, e);
		if (secret == NULL || !secret_kept(secret, service))
			withhold(e);
	}
	for (size_t i = 0; i < sec->n_children; i++)
		scrub_section(sec->children[i], service);
}

void config_scrub_secrets(struct config *cfg, const char *service)
{
	scrub_dicts(cfg->root, service);
	scrub_section(cfg->root, service);
}
