/* LDAP filter escaping and attribute maps (see ldap-filter.h). */
#include "ldap-filter.h"
#include "var-expand.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

int ldap_escape_filter_value(struct buf *out, const char *value)
{
	for (const char *p = value; *p != '\0'; p++) {
		int r;
		switch (*p) {
		case '*':
		case '(':
		case ')':
		case '\\':
			r = buf_printf(out, "\\%02x", (unsigned char)*p);
			break;
		default:
			r = buf_append_c(out, *p);
		}
		if (r < 0)
			return -1;
	}
	return 0;
}

int ldap_filter_expand(const char *tmpl, const char *user,
		       const char *service, struct buf *out,
		       const char **error_r)
{
	/* Escape first: %n and %d are then cut from the escaped name,
	 * which keeps them escaped as well ('@' is never escaped). */
	struct buf esc;
	buf_init(&esc, 0);
	ldap_escape_filter_value(&esc, user);
	struct buf svc;
	buf_init(&svc, 0);
	ldap_escape_filter_value(&svc, service != NULL ? service : "");
	struct var_expand_user vu;
	var_expand_user_init(&vu, esc.data != NULL ? esc.data : "", svc.data,
			     NULL);
	int r = var_expand(out, tmpl, vu.table, NULL, NULL, error_r);
	var_expand_user_deinit(&vu);
	buf_free(&esc);
	buf_free(&svc);
	return r;
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t' || *s == '\n')
		s++;
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' ||
			 s[n - 1] == '\n'))
		s[--n] = '\0';
	return s;
}

static void add_request_attr(struct ldap_attr_list *l, const char *name,
			     size_t len)
{
	for (size_t i = 0; i < l->n_request; i++) {
		if (strlen(l->request_attrs[i]) == len &&
		    strncasecmp(l->request_attrs[i], name, len) == 0)
			return;
	}
	l->request_attrs = xreallocarray(l->request_attrs, l->n_request + 2,
					 sizeof(char *));
	l->request_attrs[l->n_request++] = xstrndup(name, len);
	l->request_attrs[l->n_request] = NULL;
}

/* Every %{ldap:NAME} in tmpl becomes a requested attribute. */
static void add_template_attrs(struct ldap_attr_list *l, const char *tmpl)
{
	const char *p = tmpl;
	while ((p = strstr(p, "%{ldap:")) != NULL) {
		p += 7;
		const char *end = strchr(p, '}');
		if (end == NULL)
			return;
		/* %{ldap:attr:default} names attr only. */
		const char *colon = memchr(p, ':', (size_t)(end - p));
		add_request_attr(l, p, (size_t)((colon != NULL ? colon : end)
						 - p));
		p = end + 1;
	}
}

int ldap_attr_list_parse(const char *text, struct ldap_attr_list *l,
			 char **error_r)
{
	memset(l, 0, sizeof(*l));
	char *copy = xstrdup(text), *save = NULL;
	for (char *item = strtok_r(copy, ",", &save); item != NULL;
	     item = strtok_r(NULL, ",", &save)) {
		item = trim(item);
		if (*item == '\0')
			continue;
		char *eq = strchr(item, '=');
		if (eq == NULL) {
			*error_r = xasprintf("attribute map item '%s' has "
					     "no '='", item);
			free(copy);
			ldap_attr_list_free(l);
			return -1;
		}
		*eq = '\0';
		char *field = eq + 1, *tmpl = strchr(field, '=');
		if (tmpl != NULL)
			*tmpl++ = '\0';
		if (*field == '\0') {
			*error_r = xstrdup("attribute map item with an "
					   "empty field name");
			free(copy);
			ldap_attr_list_free(l);
			return -1;
		}
		l->v = xreallocarray(l->v, l->n + 1, sizeof(*l->v));
		struct ldap_attr_map *m = &l->v[l->n++];
		m->ldap_attr = *item != '\0' ? xstrdup(item) : NULL;
		m->field = xstrdup(field);
		m->tmpl = tmpl != NULL ? xstrdup(tmpl) : NULL;
		if (m->ldap_attr != NULL)
			add_request_attr(l, m->ldap_attr,
					 strlen(m->ldap_attr));
		if (m->tmpl != NULL)
			add_template_attrs(l, m->tmpl);
	}
	free(copy);
	return 0;
}

void ldap_attr_list_free(struct ldap_attr_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].ldap_attr);
		free(l->v[i].field);
		free(l->v[i].tmpl);
	}
	free(l->v);
	for (size_t i = 0; i < l->n_request; i++)
		free(l->request_attrs[i]);
	free(l->request_attrs);
	memset(l, 0, sizeof(*l));
}

/* LDAP attribute names are case-insensitive. */
static const char *entry_get(const struct auth_fields *entry,
			     const char *name)
{
	for (size_t i = 0; i < entry->n; i++) {
		if (strcasecmp(entry->v[i].key, name) == 0)
			return entry->v[i].value;
	}
	return NULL;
}

struct ldap_expand_ctx {
	const struct auth_fields *entry;
	unsigned int found, missing;
};

static const char *ldap_var(const char *data, void *ctx)
{
	struct ldap_expand_ctx *ec = ctx;
	char name[256];
	const char *colon = strchr(data, ':');
	size_t n = colon != NULL ? (size_t)(colon - data) : strlen(data);
	if (n >= sizeof(name))
		return NULL;
	memcpy(name, data, n);
	name[n] = '\0';
	const char *v = entry_get(ec->entry, name);
	if (v != NULL)
		ec->found++;
	else
		ec->missing++;
	return v != NULL ? v : colon != NULL ? colon + 1 : NULL;
}

void ldap_attr_list_apply(const struct ldap_attr_list *l,
			  const struct auth_fields *entry,
			  const struct auth_request *req,
			  struct auth_fields *out)
{
	static const struct var_expand_func funcs[] = {
		{ "ldap", ldap_var }, { NULL, NULL }
	};
	for (size_t i = 0; i < l->n; i++) {
		const struct ldap_attr_map *m = &l->v[i];
		const char *value = m->ldap_attr != NULL ?
				    entry_get(entry, m->ldap_attr) : NULL;
		if (m->tmpl == NULL) {
			if (value != NULL)
				auth_fields_set(out, m->field, value);
			continue;
		}
		if (m->ldap_attr != NULL && value == NULL)
			continue;
		struct ldap_expand_ctx ec = { .entry = entry };
		struct var_expand_user vu;
		struct buf v;
		const char *error;
		buf_init(&v, 64 * 1024);
		var_expand_user_init(&vu, req->user, req->service,
				     req->session);
		int r = var_expand(&v, m->tmpl, vu.table, funcs, &ec, &error);
		var_expand_user_deinit(&vu);
		if (r < 0)
			log_error(&req->log, "ldap: %s template: %s",
				  m->field, error);
		else if (ec.found > 0 || ec.missing == 0)
			auth_fields_set(out, m->field, v.data != NULL ?
					v.data : "");
		buf_free(&v);
	}
}
