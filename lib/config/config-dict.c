/* dict { NAME = URI } (see config.h): what Dovecot's dict process would
 * serve under NAME to a setting that says proxy:[SOCKET]:NAME. Stratus has
 * no dict process; a service that implements such a setting resolves the
 * reference here and talks to the URI itself. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* glibc: POSIX and GNU interfaces */
#endif
#include "config-private.h"
#include "buf.h"

#include <stdlib.h>
#include <string.h>

const char *config_dict_uri(const struct config *cfg, const char *name)
{
	const char *uri = NULL;
	/* dict blocks merge, so the last assignment anywhere wins */
	for (size_t i = 0; i < cfg->root->n_children; i++) {
		const struct config_section *c = cfg->root->children[i];
		if (strcmp(c->type, "dict") != 0)
			continue;
		const struct config_entry *e = config_section_entry(c, name);
		if (e != NULL)
			uri = e->value;
	}
	return uri;
}

const char *config_dict_proxy_name(const char *value, size_t *len_r)
{
	const char *p = strstr(value, "proxy:");
	if (p == NULL)
		return NULL;
	p += strlen("proxy:");
	const char *colon = strchr(p, ':');
	if (colon == NULL)
		return NULL;
	p = colon + 1;
	*len_r = strcspn(p, ":; \t");
	return *len_r > 0 ? p : NULL;
}

char *config_dict_resolve(const struct config *cfg, const char *value)
{
	size_t len;
	const char *name = config_dict_proxy_name(value, &len);
	if (name == NULL || strncmp(value, "proxy:", 6) != 0)
		return xstrdup(value);
	char *key = xstrndup(name, len);
	const char *uri = config_dict_uri(cfg, key);
	free(key);
	return xstrdup(uri != NULL ? uri : value);
}

static bool dict_used_in(const struct config_section *sec, const char *name)
{
	if (strcmp(sec->type, "dict") == 0)
		return false;
	size_t nlen = strlen(name);
	for (size_t i = 0; i < sec->n_entries; i++) {
		size_t len;
		for (const char *v = sec->entries[i].value;
		     (v = config_dict_proxy_name(v, &len)) != NULL; v += len) {
			if (len == nlen && strncmp(v, name, len) == 0)
				return true;
		}
	}
	for (size_t i = 0; i < sec->n_children; i++) {
		if (dict_used_in(sec->children[i], name))
			return true;
	}
	return false;
}

bool config_dict_is_used(const struct config *cfg, const char *name)
{
	return dict_used_in(cfg->root, name);
}
