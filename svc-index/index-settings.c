/* svc-index: reads the settings svc-index honours into a typed struct
 * once at start-up: mail_home, mail_fsync, the inbox namespace's
 * separator and auto=create|subscribe mailboxes, obox_fs/obox_index_fs
 * and the metacache_* upload and eviction policy. */
#include "index-service.h"
#include "buf.h"

#include <stdlib.h>
#include <string.h>

/* Space-separated words of a setting value (special_use = \Sent \Foo). */
static char **index_split_words(const char *value, size_t *n_r)
{
	char *copy = xstrdup(value != NULL ? value : "");
	char **words = NULL;
	size_t n = 0;
	for (char *save = NULL, *w = strtok_r(copy, " \t", &save); w != NULL;
	     w = strtok_r(NULL, " \t", &save)) {
		words = xreallocarray(words, n + 1, sizeof(*words));
		words[n++] = xstrdup(w);
	}
	free(copy);
	*n_r = n;
	return words;
}

/* The namespace holding INBOX: `inbox = yes`, else the first one. */
static const struct config_section *index_inbox_namespace(
	const struct config *cfg)
{
	const struct config_section *root = config_root(cfg);
	const struct config_section *first = NULL;
	for (size_t i = 0; i < root->n_children; i++) {
		const struct config_section *s = root->children[i];
		if (strcmp(s->type, "namespace") != 0)
			continue;
		if (first == NULL)
			first = s;
		const char *inbox = config_section_get(s, "inbox");
		if (inbox != NULL && strcmp(inbox, "yes") == 0)
			return s;
	}
	return first;
}

static int index_read_namespace(struct index_settings *set,
				const struct config *cfg, char **error_r)
{
	const struct config_section *ns = index_inbox_namespace(cfg);
	set->sep = '/';
	if (ns == NULL)
		return 0;
	const char *sep = config_section_get(ns, "separator");
	if (sep != NULL && sep[0] != '\0') {
		if (strlen(sep) != 1 || sep[0] == '&' || sep[0] == '*' ||
		    sep[0] == '%') {
			*error_r = xasprintf("namespace separator '%s' is not "
					     "one usable character", sep);
			return -1;
		}
		set->sep = sep[0];
	}
	for (size_t i = 0; i < ns->n_children; i++) {
		const struct config_section *mb = ns->children[i];
		if (strcmp(mb->type, "mailbox") != 0)
			continue;
		const char *autov = config_section_get(mb, "auto");
		if (autov == NULL || strcmp(autov, "no") == 0)
			continue;
		set->autoboxes = xreallocarray(set->autoboxes,
					       set->n_autoboxes + 1,
					       sizeof(*set->autoboxes));
		struct index_autobox *ab = &set->autoboxes[set->n_autoboxes++];
		memset(ab, 0, sizeof(*ab));
		ab->name = xstrdup(mb->name);
		ab->subscribe = strcmp(autov, "subscribe") == 0;
		ab->special_use = index_split_words(
			config_section_get(mb, "special_use"),
			&ab->n_special_use);
		const char *err;
		char *check = xstrdup(ab->name);
		if (index_name_check(check, set->sep, &err) < 0) {
			*error_r = xasprintf("namespace mailbox '%s': %s",
					     ab->name, err);
			free(check);
			return -1;
		}
		free(check);
	}
	return 0;
}

/* Plugin settings were validated at load; a NULL means unset. */
static const char *index_plugin(const struct config *cfg, const char *key,
				const char *def)
{
	const char *v = config_plugin_get(cfg, NULL, key);
	return v != NULL && v[0] != '\0' ? v : def;
}

static int index_plugin_size(const struct config *cfg, const char *key,
			     const char *def, uint64_t *r, char **error_r)
{
	if (config_parse_size(index_plugin(cfg, key, def), r) < 0) {
		*error_r = xasprintf("%s: bad size", key);
		return -1;
	}
	return 0;
}

static int index_plugin_msecs(const struct config *cfg, const char *key,
			      const char *def, uint64_t *r, char **error_r)
{
	if (config_parse_msecs(index_plugin(cfg, key, def), r) < 0) {
		*error_r = xasprintf("%s: bad time", key);
		return -1;
	}
	return 0;
}

static int index_plugin_bool(const struct config *cfg, const char *key,
			     const char *def, bool *r, char **error_r)
{
	if (config_parse_bool(index_plugin(cfg, key, def), r) < 0) {
		*error_r = xasprintf("%s: bad boolean", key);
		return -1;
	}
	return 0;
}

int index_settings_read(struct index_settings *set, const struct config *cfg,
			char **error_r)
{
	memset(set, 0, sizeof(*set));
	const char *home = config_get(cfg, NULL, "mail_home");
	set->mail_home = xstrdup(home != NULL ? home : "");
	const char *fsync = config_get(cfg, NULL, "mail_fsync");
	set->fsync = fsync == NULL ? INDEX_FSYNC_OPTIMIZED :
		strcmp(fsync, "never") == 0 ? INDEX_FSYNC_NEVER :
		strcmp(fsync, "always") == 0 ? INDEX_FSYNC_ALWAYS :
		INDEX_FSYNC_OPTIMIZED;
	const char *ifs = config_plugin_get(cfg, NULL, "obox_index_fs");
	const char *mfs = config_plugin_get(cfg, NULL, "obox_fs");
	set->bundles = ifs != NULL && ifs[0] != '\0';
	set->rebuild_from_objects = mfs != NULL && mfs[0] != '\0';
	if (index_plugin_size(cfg, "metacache_max_space", "0",
			      &set->max_space, error_r) < 0 ||
	    index_plugin_bool(cfg, "metacache_delay_uploads", "no",
			      &set->delay_uploads, error_r) < 0 ||
	    index_plugin_msecs(cfg, "metacache_upload_interval", "5 mins",
			       &set->upload_interval_ms, error_r) < 0 ||
	    index_plugin_msecs(cfg, "metacache_close_delay", "2 secs",
			       &set->close_delay_ms, error_r) < 0 ||
	    index_plugin_bool(cfg, "obox_autofix_storage", "no",
			      &set->autofix, error_r) < 0)
		return -1;
	uint64_t rescan;
	const char *v = config_plugin_get(cfg, NULL,
					  "obox_max_rescan_mail_count");
	if (config_parse_uint(v != NULL ? v : "10", &rescan) < 0) {
		*error_r = xasprintf("obox_max_rescan_mail_count: bad value");
		return -1;
	}
	set->rescan_mail_count = (unsigned int)rescan;
	set->compress_level = 6;
	set->compact_min_bytes = 1024 * 1024;
	return index_read_namespace(set, cfg, error_r);
}

void index_settings_free(struct index_settings *set)
{
	for (size_t i = 0; i < set->n_autoboxes; i++) {
		struct index_autobox *ab = &set->autoboxes[i];
		for (size_t j = 0; j < ab->n_special_use; j++)
			free(ab->special_use[j]);
		free(ab->special_use);
		free(ab->name);
	}
	free(set->autoboxes);
	free(set->mail_home);
	memset(set, 0, sizeof(*set));
}
