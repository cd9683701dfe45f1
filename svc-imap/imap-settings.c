/* Reads svc-imap's settings (see imap-settings.h). Namespaces follow
 * Dovecot: sections with the same name merge, later assignments win; with
 * no namespace configured there is one private namespace with prefix ""
 * holding INBOX. A bad value is a start-up error naming the setting. */
#include "imap-settings.h"
#include "buf.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct {
	const char *name;
	enum imap_workaround flag;
} workarounds[] = {
	{ "delay-newmail", IMAP_WA_DELAY_NEWMAIL },
	{ "tb-extra-mailbox-sep", IMAP_WA_TB_EXTRA_MAILBOX_SEP },
	{ "tb-lsub-flags", IMAP_WA_TB_LSUB_FLAGS },
};

static int parse_workarounds(const char *value, unsigned int *flags_r,
			     char **error_r)
{
	*flags_r = 0;
	for (const char *s = value; *s != '\0';) {
		size_t n = strcspn(s, " \t,");
		if (n > 0) {
			size_t i;
			for (i = 0; i < sizeof(workarounds) / sizeof(workarounds[0]); i++) {
				if (strlen(workarounds[i].name) == n &&
				    strncmp(workarounds[i].name, s, n) == 0)
					break;
			}
			if (i == sizeof(workarounds) / sizeof(workarounds[0])) {
				*error_r = xasprintf("imap_client_workarounds: "
						     "Unknown workaround: %.*s",
						     (int)n, s);
				return -1;
			}
			*flags_r |= workarounds[i].flag;
		}
		s += n;
		s += strspn(s, " \t,");
	}
	return 0;
}

/* The value of key in the merged sections (last one set wins), else the
 * schema default through the first section. */
static const char *merged_get(const struct config_section *const *secs,
			      size_t n, const char *key)
{
	for (size_t i = n; i-- > 0;) {
		for (size_t j = secs[i]->n_entries; j-- > 0;) {
			if (strcmp(secs[i]->entries[j].key, key) == 0)
				return secs[i]->entries[j].value;
		}
	}
	const char *v = config_section_get(secs[0], key);
	return v != NULL ? v : "";
}

static bool merged_bool(const struct config_section *const *secs, size_t n,
			const char *key)
{
	bool b = false;
	(void)config_parse_bool(merged_get(secs, n, key), &b);
	return b;
}

static int read_mailboxes(const struct config_section *const *secs,
			  size_t n, struct imap_namespace *ns, char **error_r)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < secs[i]->n_children; j++) {
			const struct config_section *m = secs[i]->children[j];
			if (strcmp(m->type, "mailbox") != 0)
				continue;
			struct imap_mailbox_set *box = NULL;
			for (size_t k = 0; k < ns->n_mailboxes; k++) {
				if (strcmp(ns->mailboxes[k].name, m->name) == 0)
					box = &ns->mailboxes[k];
			}
			if (box == NULL) {
				ns->mailboxes = xreallocarray(ns->mailboxes,
					ns->n_mailboxes + 1,
					sizeof(*ns->mailboxes));
				box = &ns->mailboxes[ns->n_mailboxes++];
				memset(box, 0, sizeof(*box));
				box->name = xstrdup(m->name);
				box->special_use = xstrdup("");
			}
			for (size_t k = 0; k < m->n_entries; k++) {
				const struct config_entry *e = &m->entries[k];
				if (strcmp(e->key, "special_use") == 0) {
					free(box->special_use);
					box->special_use = xstrdup(e->value);
				} else if (strcmp(e->key, "auto") == 0) {
					if (strcmp(e->value, "no") == 0)
						box->autocreate = IMAP_AUTO_NO;
					else if (strcmp(e->value, "create") == 0)
						box->autocreate = IMAP_AUTO_CREATE;
					else if (strcmp(e->value, "subscribe") == 0)
						box->autocreate = IMAP_AUTO_SUBSCRIBE;
					else {
						*error_r = xasprintf("%s:%u: "
							"mailbox %s: auto: "
							"invalid value '%s' "
							"(create, subscribe or "
							"no)", e->file, e->line,
							m->name, e->value);
						return -1;
					}
				}
			}
		}
	}
	return 0;
}

static int read_namespaces(const struct config *cfg,
			   struct imap_settings *set, char **error_r)
{
	const struct config_section *root = config_root(cfg);
	for (size_t i = 0; i < root->n_children; i++) {
		const struct config_section *sec = root->children[i];
		if (strcmp(sec->type, "namespace") != 0)
			continue;
		bool seen = false;
		for (size_t k = 0; k < set->n_namespaces; k++)
			seen |= strcmp(set->namespaces[k].name, sec->name) == 0;
		if (seen)
			continue;
		/* All sections of this name, in file order. */
		const struct config_section **secs = NULL;
		size_t n = 0;
		for (size_t j = i; j < root->n_children; j++) {
			const struct config_section *s = root->children[j];
			if (strcmp(s->type, "namespace") == 0 &&
			    strcmp(s->name, sec->name) == 0) {
				secs = xreallocarray(secs, n + 1, sizeof(*secs));
				secs[n++] = s;
			}
		}
		set->namespaces = xreallocarray(set->namespaces,
						set->n_namespaces + 1,
						sizeof(*set->namespaces));
		struct imap_namespace *ns = &set->namespaces[set->n_namespaces++];
		memset(ns, 0, sizeof(*ns));
		ns->name = xstrdup(sec->name);
		ns->type = xstrdup(merged_get(secs, n, "type"));
		ns->prefix = xstrdup(merged_get(secs, n, "prefix"));
		const char *sep = merged_get(secs, n, "separator");
		ns->inbox = merged_bool(secs, n, "inbox");
		ns->hidden = merged_bool(secs, n, "hidden");
		ns->list = strcmp(merged_get(secs, n, "list"), "no") != 0;
		ns->subscriptions = merged_bool(secs, n, "subscriptions");
		int ret = 0;
		if (strlen(sep) > 1) {
			*error_r = xasprintf("%s:%u: namespace %s: separator "
					     "must be one character", sec->file,
					     sec->line, sec->name);
			ret = -1;
		}
		ns->sep = sep[0] != '\0' ? sep[0] : '/';
		if (ret == 0)
			ret = read_mailboxes(secs, n, ns, error_r);
		free(secs);
		if (ret < 0)
			return -1;
	}
	size_t inboxes = 0;
	for (size_t i = 0; i < set->n_namespaces; i++)
		inboxes += set->namespaces[i].inbox;
	if (inboxes > 1) {
		*error_r = xstrdup("namespace configuration error: "
				   "There can be only one namespace with "
				   "inbox=yes");
		return -1;
	}
	if (set->n_namespaces == 0 || inboxes == 0) {
		/* Dovecot's implicit default: a private namespace, prefix "",
		 * with INBOX (or the one with prefix "" gets it). */
		struct imap_namespace *ns = NULL;
		for (size_t i = 0; i < set->n_namespaces; i++) {
			if (set->namespaces[i].prefix[0] == '\0')
				ns = &set->namespaces[i];
		}
		if (ns == NULL) {
			set->namespaces = xreallocarray(set->namespaces,
				set->n_namespaces + 1, sizeof(*set->namespaces));
			ns = &set->namespaces[set->n_namespaces++];
			memset(ns, 0, sizeof(*ns));
			ns->name = xstrdup("inbox");
			ns->type = xstrdup("private");
			ns->prefix = xstrdup("");
			ns->sep = '/';
			ns->list = true;
			ns->subscriptions = true;
		}
		ns->inbox = true;
	}
	return 0;
}

int imap_settings_read(const struct config *cfg, struct imap_settings *set,
		       char **error_r)
{
	memset(set, 0, sizeof(*set));
	uint64_t max_line = config_get_size(cfg, "imap", "imap_max_line_length");
	if (max_line < IMAP_MIN_LINE_LENGTH)
		max_line = IMAP_MIN_LINE_LENGTH;
	if (max_line > SIZE_MAX / 4)
		max_line = SIZE_MAX / 4;
	set->max_line_length = (size_t)max_line;
	set->max_append = IMAP_DEFAULT_APPEND_MAX;
	set->literal_minus = config_get_bool(cfg, "imap", "imap_literal_minus");
	const char *v = config_get(cfg, "imap", "imap_capability");
	set->capability = xstrdup(v != NULL ? v : "");
	v = config_get(cfg, "imap", "imap_id_send");
	set->id_send = xstrdup(v != NULL ? v : "");
	v = config_get(cfg, "imap", "imap_id_log");
	set->id_log = xstrdup(v != NULL ? v : "");
	v = config_get(cfg, "imap", "login_greeting");
	set->login_greeting = xstrdup(v != NULL ? v : "Dovecot ready.");
	v = config_get(cfg, "imap", "imap_urlauth_host");
	set->urlauth_host = xstrdup(v != NULL ? v : "");
	v = config_get(cfg, "imap", "imap_urlauth_submit_user");
	set->urlauth_submit_user = xstrdup(v != NULL ? v : "");
	v = config_get(cfg, "imap", "auth_mechanisms");
	for (const char *s = v != NULL ? v : "plain"; *s != '\0';) {
		size_t n = strcspn(s, " \t,");
		if (n == 5 && strncasecmp(s, "plain", 5) == 0)
			set->auth_plain = true;
		else if (n == 5 && strncasecmp(s, "login", 5) == 0)
			set->auth_login = true;
		s += n;
		s += strspn(s, " \t,");
	}
	/* protocol imap { mail_plugins = $mail_plugins imap_quota } */
	set->quota = config_mail_plugin_enabled(cfg, "imap", "quota");
	set->imap_quota = set->quota &&
			  config_mail_plugin_enabled(cfg, "imap", "imap_quota");
	v = config_get(cfg, "imap", "imap_client_workarounds");
	if (parse_workarounds(v != NULL ? v : "", &set->workarounds,
			      error_r) < 0 ||
	    read_namespaces(cfg, set, error_r) < 0) {
		imap_settings_free(set);
		return -1;
	}
	return 0;
}

void imap_settings_free(struct imap_settings *set)
{
	for (size_t i = 0; i < set->n_namespaces; i++) {
		struct imap_namespace *ns = &set->namespaces[i];
		for (size_t j = 0; j < ns->n_mailboxes; j++) {
			free(ns->mailboxes[j].name);
			free(ns->mailboxes[j].special_use);
		}
		free(ns->mailboxes);
		free(ns->name);
		free(ns->type);
		free(ns->prefix);
	}
	free(set->namespaces);
	free(set->capability);
	free(set->id_send);
	free(set->id_log);
	free(set->login_greeting);
	free(set->urlauth_host);
	free(set->urlauth_submit_user);
	memset(set, 0, sizeof(*set));
}

const struct imap_namespace *
imap_settings_inbox_ns(const struct imap_settings *set)
{
	for (size_t i = 0; i < set->n_namespaces; i++) {
		if (set->namespaces[i].inbox)
			return &set->namespaces[i];
	}
	return &set->namespaces[0];
}
