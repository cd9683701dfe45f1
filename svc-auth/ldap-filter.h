/* Building LDAP search filters from templates safely, and the attribute
 * maps of dovecot-ldap.conf.ext (pass_attrs, user_attrs, iterate_attrs).
 * Every value substituted into a filter is escaped per RFC 4515, so a
 * user name like "*)(uid=*" can never change the filter's structure. */
#ifndef LDAP_FILTER_H
#define LDAP_FILTER_H

#include "auth-common.h"

/* Appends value to out with RFC 4515 escaping (\2a \28 \29 \5c \00). */
int ldap_escape_filter_value(struct buf *out, const char *value);

/* Expands a filter template (%u %n %d %s ...) for user with every
 * substituted value escaped. -1 with *error_r on a bad template. */
int ldap_filter_expand(const char *tmpl, const char *user,
		       const char *service, struct buf *out,
		       const char **error_r);

/* One item of an *_attrs list: "ldapAttr=field", "ldapAttr=field=tmpl"
 * or "=field=tmpl" (tmpl may use %{ldap:attr}). */
struct ldap_attr_map {
	char *ldap_attr;	/* NULL for "=field=tmpl" */
	char *field;
	char *tmpl;		/* NULL: the attribute's value as is */
};

struct ldap_attr_list {
	struct ldap_attr_map *v;
	size_t n;
	char **request_attrs;	/* NULL-terminated, for ldap_search */
	size_t n_request;
};

/* Parses "a=b, =c=%{ldap:d}k, ..." (entries separated by commas). */
int ldap_attr_list_parse(const char *text, struct ldap_attr_list *l,
			 char **error_r);
void ldap_attr_list_free(struct ldap_attr_list *l);

/* Applies the map to an entry's attributes (ldap attr name -> first
 * value) and sets the resulting fields. A templated field whose
 * %{ldap:...} attributes are all missing is left out. */
void ldap_attr_list_apply(const struct ldap_attr_list *l,
			  const struct auth_fields *entry,
			  const struct auth_request *req,
			  struct auth_fields *out);

#endif
