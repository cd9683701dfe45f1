/* Lookups on a loaded configuration: effective values with protocol
 * filters and defaults, section helpers, the not-yet-implemented report,
 * and freeing. Nothing here can fail: values were checked at load time. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* glibc: POSIX and GNU interfaces */
#endif
#include "config-private.h"
#include "buf.h"

#include <stdlib.h>
#include <string.h>

void config_section_free(struct config_section *sec)
{
	if (sec == NULL)
		return;
	for (size_t i = 0; i < sec->n_entries; i++) {
		free(sec->entries[i].key);
		config_secure_free(sec->entries[i].value);
		free(sec->entries[i].file);
	}
	free(sec->entries);
	for (size_t i = 0; i < sec->n_children; i++)
		config_section_free(sec->children[i]);
	free(sec->children);
	free(sec->type);
	free(sec->name);
	free(sec->file);
	free(sec);
}

void config_free(struct config **cfg)
{
	if (*cfg == NULL)
		return;
	config_section_free((*cfg)->root);
	free(*cfg);
	*cfg = NULL;
}

const struct config_section *config_root(const struct config *cfg)
{
	return cfg->root;
}

const struct config_entry *
config_section_entry(const struct config_section *sec, const char *key)
{
	/* keys are unique per section: a later assignment replaces */
	for (size_t i = 0; i < sec->n_entries; i++) {
		if (strcmp(sec->entries[i].key, key) == 0)
			return &sec->entries[i];
	}
	return NULL;
}

const struct config_section *
config_section_find(const struct config_section *parent, const char *type,
		    const char *name)
{
	for (size_t i = 0; i < parent->n_children; i++) {
		const struct config_section *c = parent->children[i];
		if (strcmp(c->type, type) == 0 &&
		    (name == NULL || strcmp(c->name, name) == 0))
			return c;
	}
	return NULL;
}

static const char *schema_default(const struct config_setting_def *schema,
				  const char *key)
{
	const struct config_setting_def *def;

	if (schema == NULL)
		return NULL;
	def = config_setting_find(schema, key);
	return def != NULL ? def->default_value : NULL;
}

const char *config_section_get(const struct config_section *sec,
			       const char *key)
{
	const struct config_entry *e = config_section_entry(sec, key);
	const struct config_section_def *def;

	if (e != NULL)
		return e->value;
	if (sec->parent == NULL)
		return NULL;
	def = config_section_def_find(sec->type);
	return def != NULL ? schema_default(def->settings, key) : NULL;
}

/* Does `protocol NAME { }` apply to protocol? NAME is the protocol, or
 * "!OTHER" (Dovecot's negated filter: every protocol but OTHER). */
static bool protocol_section_applies(const struct config_section *c,
				     const char *protocol, bool negated)
{
	if (strcmp(c->type, "protocol") != 0)
		return false;
	if (!negated)
		return strcmp(c->name, protocol) == 0;
	return c->name[0] == '!' && strcmp(c->name + 1, protocol) != 0;
}

/* The protocol section that sets key for protocol: `protocol imap { }`
 * first, then a negated one such as `protocol !lmtp { }`. With child
 * set, the key is looked up in that child section of it (`plugin`). */
static const struct config_entry *
protocol_entry(const struct config *cfg, const char *protocol,
	       const char *child, const char *key)
{
	for (int negated = 0; negated < 2; negated++) {
		for (size_t i = 0; i < cfg->root->n_children; i++) {
			const struct config_section *c =
				cfg->root->children[i];
			if (!protocol_section_applies(c, protocol, negated))
				continue;
			if (child != NULL)
				c = config_section_find(c, child, NULL);
			const struct config_entry *e = c != NULL ?
				config_section_entry(c, key) : NULL;
			if (e != NULL)
				return e;
		}
	}
	return NULL;
}

const char *config_get(const struct config *cfg, const char *protocol,
		       const char *key)
{
	const struct config_entry *e;

	if (protocol != NULL && !cfg->flat &&
	    (e = protocol_entry(cfg, protocol, NULL, key)) != NULL)
		return e->value;
	if ((e = config_section_entry(cfg->root, key)) != NULL)
		return e->value;
	return schema_default(cfg->schema, key);
}

bool config_list_has(const char *list, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = list != NULL ? list : ""; *p != '\0';) {
		p += strspn(p, " \t,");
		size_t len = strcspn(p, " \t,");
		if (len == n && strncmp(p, word, n) == 0)
			return true;
		p += len;
	}
	return false;
}

bool config_mail_plugin_enabled(const struct config *cfg,
				const char *protocol, const char *plugin)
{
	return config_list_has(config_get(cfg, protocol, "mail_plugins"),
			       plugin);
}

bool config_get_bool(const struct config *cfg, const char *protocol,
		     const char *key)
{
	const char *v = config_get(cfg, protocol, key);
	bool b = false;

	if (v != NULL && config_parse_bool(v, &b) < 0)
		b = false;
	return b;
}

uint64_t config_get_uint(const struct config *cfg, const char *protocol,
			 const char *key)
{
	const char *v = config_get(cfg, protocol, key);
	uint64_t n = 0;

	if (v == NULL || config_parse_uint(v, &n) < 0)
		return 0;
	return n;
}

uint64_t config_get_size(const struct config *cfg, const char *protocol,
			 const char *key)
{
	const char *v = config_get(cfg, protocol, key);
	uint64_t n = 0;

	if (v == NULL || config_parse_size(v, &n) < 0)
		return 0;
	return n;
}

uint64_t config_get_msecs(const struct config *cfg, const char *protocol,
			  const char *key)
{
	const char *v = config_get(cfg, protocol, key);
	uint64_t n = 0;

	if (v == NULL || config_parse_msecs(v, &n) < 0)
		return 0;
	return n;
}

const char *config_plugin_get(const struct config *cfg, const char *protocol,
			      const char *key)
{
	const struct config_section *sec;
	const struct config_entry *e;

	if (protocol != NULL &&
	    (e = protocol_entry(cfg, protocol, "plugin", key)) != NULL)
		return e->value;
	sec = config_section_find(cfg->root, "plugin", NULL);
	if (sec != NULL && (e = config_section_entry(sec, key)) != NULL)
		return e->value;
	const struct config_section_def *def = config_section_def_find("plugin");
	return schema_default(def->settings, key);
}

/* The not-yet report: a list of keys already reported. */
struct not_yet_ctx {
	const char *owner;
	void (*cb)(const char *key, const char *file, unsigned int line,
		   void *ctx);
	void *cb_ctx;
	char **seen;
	size_t n_seen;
};

static bool owner_matches(const char *filter, const char *owner)
{
	return filter == NULL || strcmp(owner, filter) == 0 ||
	       strcmp(owner, "all") == 0;
}

static void report_once(struct not_yet_ctx *ctx, char *key,
			const struct config_entry *e)
{
	for (size_t i = 0; i < ctx->n_seen; i++) {
		if (strcmp(ctx->seen[i], key) == 0) {
			free(key);
			return;
		}
	}
	ctx->seen = xreallocarray(ctx->seen, ctx->n_seen + 1,
				  sizeof(*ctx->seen));
	ctx->seen[ctx->n_seen++] = key;
	ctx->cb(key, e->file, e->line, ctx->cb_ctx);
}

static void report_plugins(struct not_yet_ctx *ctx,
			   const struct config_entry *e)
{
	const char *s = e->value;

	while (*s != '\0') {
		size_t n = strcspn(s, " \t,");
		if (n > 0) {
			char *name = xstrndup(s, n);
			const struct config_mail_plugin *pl =
				config_mail_plugin_find(name);
			if (pl != NULL && pl->support == CONFIG_NOT_YET &&
			    owner_matches(ctx->owner, pl->owner))
				report_once(ctx, xasprintf("mail_plugins: %s",
							   name), e);
			free(name);
		}
		s += n;
		s += strspn(s, " \t,");
	}
}

static void not_yet_section(const struct config *cfg,
			    const struct config_section *sec,
			    const char *path, struct not_yet_ctx *ctx)
{
	const struct config_setting_def *schema = config_section_schema(cfg,
									sec);
	bool global = sec->parent == NULL || strcmp(sec->type, "protocol") == 0;

	for (size_t i = 0; i < sec->n_entries && schema != NULL; i++) {
		const struct config_entry *e = &sec->entries[i];
		const struct config_setting_def *def =
			config_setting_find(schema, e->key);

		if (def == NULL)
			continue;
		if (!cfg->flat && schema == config_main_schema &&
		    strcmp(e->key, "mail_plugins") == 0)
			report_plugins(ctx, e);
		if (def->support != CONFIG_NOT_YET ||
		    !owner_matches(ctx->owner, def->owner))
			continue;
		/* a dict a setting refers to is as implemented as that
		   setting, which is reported on its own */
		if (strcmp(sec->type, "dict") == 0 &&
		    config_dict_is_used(cfg, e->key))
			continue;
		report_once(ctx, global ? xstrdup(e->key) :
				  xasprintf("%s/%s", path, e->key), e);
	}
	for (size_t i = 0; i < sec->n_children; i++) {
		const struct config_section *c = sec->children[i];
		char *child_path = sec->parent == NULL ||
			strcmp(sec->type, "protocol") == 0 ?
			xstrdup(c->type) : xasprintf("%s/%s", path, c->type);
		not_yet_section(cfg, c, child_path, ctx);
		free(child_path);
	}
}

void config_foreach_not_yet(const struct config *cfg, const char *owner,
			    void (*cb)(const char *key, const char *file,
				       unsigned int line, void *ctx),
			    void *ctx)
{
	struct not_yet_ctx nctx = {
		.owner = owner, .cb = cb, .cb_ctx = ctx,
	};

	not_yet_section(cfg, cfg->root, "", &nctx);
	for (size_t i = 0; i < nctx.n_seen; i++)
		free(nctx.seen[i]);
	free(nctx.seen);
}
