/* Dovecot %-variable expansion: %u %n %d %s %p %r %l %g %{session},
 * modifiers (%Mu = MD5 hex, %2Mu = first 2 chars, %2.3Mu = 3 chars from
 * offset 2, %Lu lowercase, %Uu uppercase), %{name:data} functions such as
 * %{ldap:attr} resolved by the caller, and %% for a literal %. */
#ifndef STRATUS_VAR_EXPAND_H
#define STRATUS_VAR_EXPAND_H

#include "buf.h"

struct var_expand_entry {
	char key;		/* 'u', or '\0' when only long_key applies */
	const char *long_key;	/* "user", "session", or NULL */
	const char *value;	/* NULL = known but empty */
};

/* `name` is "ldap" for %{ldap:attr}; `data` is "attr". Returns the value
 * (owned by the callee, valid until the expansion returns) or NULL when
 * the caller does not know it (expands to ""). */
struct var_expand_func {
	const char *name;
	const char *(*func)(const char *data, void *ctx);
};

/* Expands `tmpl` into `out` (appending). The table ends with an entry
 * whose key is '\0' and long_key NULL; funcs (may be NULL) ends with a
 * NULL name. Returns 0, or -1 with *error_r set (static string) for an
 * unknown variable, a malformed %{, or output over out->max. */
int var_expand(struct buf *out, const char *tmpl,
	       const struct var_expand_entry *table,
	       const struct var_expand_func *funcs, void *ctx,
	       const char **error_r);

/* Syntax accepted by var_expand, as Dovecot 2.3 spells it:
 *   %[-][0][offset.][0][-][width][modifiers](key | {long_key} | {func:data})
 * %2Mu is width 2 (first 2 chars), %2.3Mu is offset 2 width 3, a negative
 * offset counts from the end, a leading 0 on the width pads with zeros.
 * Modifiers, applied left to right: L lowercase, U uppercase, M MD5 hex,
 * R reverse, T trim trailing whitespace, D "a.b" -> "a,dc=b", E backslash
 * escape of \ ' ", X decimal -> hex. %{env:NAME} reads the environment.
 * Up to VAR_EXPAND_MAX_MODIFIERS modifiers per variable. */
#define VAR_EXPAND_MAX_MODIFIERS 10

/* Helper for the common user table: u/user (the full name), n/username
 * (the part before the first '@', or all of it), d/domain (after the '@',
 * empty without one), s/service, {session}, p/pid (this process).
 * `user`, `service` and `session` are borrowed (service and session may be
 * NULL = empty) and must outlive the table; var_expand_user_deinit() frees
 * what init allocated. Pass vu->table to var_expand(). */
#define VAR_EXPAND_USER_TABLE_SIZE 8
struct var_expand_user {
	char *username;
	char pid[24];
	struct var_expand_entry table[VAR_EXPAND_USER_TABLE_SIZE];
};
void var_expand_user_init(struct var_expand_user *vu, const char *user,
			  const char *service, const char *session);
void var_expand_user_deinit(struct var_expand_user *vu);

#endif
