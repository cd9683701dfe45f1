/* Reads the quota plugin settings: the root (`quota = count:NAME`), the
 * rules and warnings (quota_rule, quota_rule2, ... quota_warning, ...),
 * quota_grace, quota_exceeded_message, quota_full_tempfail and
 * quota_clone_dict. Numbered settings are read in Dovecot's order: the
 * bare name, then 2, 3, ... until the first missing one. */
#include "quota-common.h"
#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QUOTA_DEFAULT_MESSAGE "Quota exceeded (mailbox for user is full)"

static bool mail_plugin_enabled(const struct config *cfg, const char *name)
{
	/* LMTP and IMAP may add plugins in protocol blocks; quota itself
	 * is enabled when any of them lists it. */
	static const char *const protocols[] = { NULL, "lmtp", "imap", "pop3" };
	for (size_t i = 0; i < N_ELEMENTS(protocols); i++) {
		if (config_mail_plugin_enabled(cfg, protocols[i], name))
			return true;
	}
	return false;
}

typedef int quota_parse_fn(struct quota_rules *r, const char *v, char **e);

static int quota_settings_numbered(struct quota_settings *set,
				   const struct config *cfg, const char *key,
				   quota_parse_fn *parse, char **error_r)
{
	for (unsigned int i = 1;; i++) {
		char name[64];
		if (i == 1)
			snprintf(name, sizeof(name), "%s", key);
		else
			snprintf(name, sizeof(name), "%s%u", key, i);
		const char *value = config_plugin_get(cfg, NULL, name);
		if (value == NULL || *value == '\0')
			return 0;
		/* %% in the config stands for a literal %. */
		struct buf b = BUF_INIT;
		for (const char *p = value; *p != '\0'; p++) {
			if (p[0] == '%' && p[1] == '%')
				p++;
			buf_append_c(&b, *p);
		}
		char *error = NULL;
		int r = parse(&set->rules, b.data, &error);
		buf_free(&b);
		if (r < 0) {
			*error_r = xasprintf("plugin/%s: %s", name, error);
			free(error);
			return -1;
		}
	}
}

static int quota_grace_parse(struct quota_settings *set, const char *value,
			     char **error_r)
{
	size_t len = strlen(value);
	if (len > 0 && value[len - 1] == '%') {
		char *end;
		unsigned long pct = strtoul(value, &end, 10);
		if (end != value + len - 1 || pct > 1000)
			goto bad;
		set->grace_percent = (unsigned int)pct;
		return 0;
	}
	if (config_parse_size(value, &set->grace_bytes) < 0)
		goto bad;
	return 0;
bad:
	*error_r = xasprintf("plugin/quota_grace: invalid value '%s'", value);
	return -1;
}

int quota_settings_load(struct quota_settings *set, const struct config *cfg,
			char **error_r)
{
	memset(set, 0, sizeof(*set));
	set->grace_percent = 10;	/* Dovecot's default: 10%% */
	const char *root = config_plugin_get(cfg, NULL, "quota");
	set->enabled = mail_plugin_enabled(cfg, "quota") && root != NULL &&
		       *root != '\0';
	const char *msg = config_plugin_get(cfg, NULL, "quota_exceeded_message");
	set->exceeded_message = xstrdup(msg != NULL && *msg != '\0' ? msg :
					QUOTA_DEFAULT_MESSAGE);
	if (!set->enabled)
		return 0;
	/* "count:User quota[:args]" */
	const char *colon = strchr(root, ':');
	size_t blen = colon != NULL ? (size_t)(colon - root) : strlen(root);
	if (blen != 5 || strncmp(root, "count", 5) != 0) {
		*error_r = xasprintf("plugin/quota = %s: only the count backend "
				     "is supported", root);
		return -1;
	}
	const char *name = colon != NULL ? colon + 1 : "";
	set->root_name = xstrndup(name, strcspn(name, ":"));
	const char *grace = config_plugin_get(cfg, NULL, "quota_grace");
	if (grace != NULL && *grace != '\0') {
		char *g = xstrdup(grace);
		/* quota_grace = 10%% is written with a doubled %. */
		size_t n = strlen(g);
		if (n >= 2 && g[n - 1] == '%' && g[n - 2] == '%')
			g[n - 1] = '\0';
		int r = quota_grace_parse(set, g, error_r);
		free(g);
		if (r < 0)
			return -1;
	}
	set->full_tempfail = config_get_bool(cfg, "lmtp", "quota_full_tempfail");
	const char *vsizes = config_plugin_get(cfg, NULL, "quota_vsizes");
	set->vsizes = vsizes != NULL && config_parse_bool(vsizes, &set->vsizes) == 0 &&
		      set->vsizes;
	if (mail_plugin_enabled(cfg, "quota_clone")) {
		const char *dict = config_plugin_get(cfg, NULL, "quota_clone_dict");
		/* proxy::NAME is dict { NAME = URI } of the same file */
		if (dict != NULL && *dict != '\0')
			set->clone_dict = config_dict_resolve(cfg, dict);
	}
	if (quota_settings_numbered(set, cfg, "quota_rule", quota_rule_parse,
				    error_r) < 0 ||
	    quota_settings_numbered(set, cfg, "quota_warning",
				    quota_warning_parse, error_r) < 0)
		return -1;
	return 0;
}

void quota_settings_free(struct quota_settings *set)
{
	quota_rules_free(&set->rules);
	free(set->root_name);
	free(set->exceeded_message);
	free(set->clone_dict);
	memset(set, 0, sizeof(*set));
}
