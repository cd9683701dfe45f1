/* Builds svc-auth's state from the configuration: the global auth_*
 * settings, the penalty switch (service anvil { unix_listener
 * anvil-auth-penalty { mode = 0 } } turns it off, as in Dovecot), the
 * trusted networks and the passdb/userdb chains in file order. */
#ifndef AUTH_SETTINGS_H
#define AUTH_SETTINGS_H

#include "auth-common.h"

/* 0, or -1 with *error_r (malloc'd). auth_deinit undoes a partial init. */
int auth_init(struct auth *auth, const struct config *cfg,
	      struct loop *loop, char **error_r);
void auth_deinit(struct auth *auth);
bool auth_mechanism_enabled(const struct auth *auth, const char *mech);

#endif
