/* Secrets in dovecot.conf and the services that use them. Every service
 * parses the whole file, so without this an S3 key in obox_fs or the TLS
 * private key would sit in the memory of services that never touch them
 * (a core dump or a memory-reading bug in svc-imap would give them away).
 * config_scrub_secrets() wipes them from such a service's copy right
 * after the load, and again after every reload's load. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* glibc: explicit_bzero */
#endif
#include "config-private.h"
#include "buf.h"

#include <stdlib.h>
#include <string.h>

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

static void scrub_section(struct config_section *sec, const char *service)
{
	for (size_t i = 0; i < sec->n_entries; i++) {
		struct config_entry *e = &sec->entries[i];
		for (size_t s = 0; s < sizeof(config_secrets) /
					sizeof(config_secrets[0]); s++) {
			const struct config_secret *secret = &config_secrets[s];
			if (strcmp(e->key, secret->key) != 0 ||
			    !secret_section_matches(secret, sec) ||
			    secret_kept(secret, service))
				continue;
			/* An empty value stays empty: "not set" is not a
			   secret, and svc-index decides on it. */
			if (e->value[0] != '\0') {
				config_secure_free(e->value);
				e->value = xstrdup(CONFIG_SECRET_WITHHELD);
			}
			break;
		}
	}
	for (size_t i = 0; i < sec->n_children; i++)
		scrub_section(sec->children[i], service);
}

void config_scrub_secrets(struct config *cfg, const char *service)
{
	scrub_section(cfg->root, service);
}
