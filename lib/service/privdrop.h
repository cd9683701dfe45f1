/* Privilege separation: which user each service runs as, and the drop to
 * it once the listening sockets exist. Under systemd the units' User=
 * already did this; the code here is for a service started as root by
 * `stratusctl run` or by hand. A service that is not root stays as it was
 * started. */
#ifndef STRATUS_PRIVDROP_H
#define STRATUS_PRIVDROP_H

#include <stdbool.h>
#include <sys/types.h>
#include "config.h"

/* The user a service is configured to run as, first match wins:
 *   service NAME { user; group }	(NAME: auth, imap, index, ...)
 *   mail_uid / mail_gid		(index and blob: the local mail
 *					 cache and object files)
 *   default_internal_user		(everything else)
 * A group left out is the user's primary group. default_internal_user's
 * group is the internal group every service joins, so that services
 * running as different users reach each other's RPC sockets (0660). */
struct service_identity {
	bool configured;	/* false: no setting names a user */
	char *user;		/* as configured; "" when given as a number */
	uid_t uid;
	gid_t gid;
	bool has_internal_gid;
	gid_t internal_gid;
	const char *setting;	/* which setting named the user, for logs */
};

int service_identity_get(const struct config *cfg, const char *service,
			 struct service_identity *id_r, char **error_r);
void service_identity_free(struct service_identity *id);

/* When root and a user is configured: joins its groups (and the internal
 * group), sets real, effective and saved ids, checks root cannot be taken
 * back. Not root: warns if the configured user is not the one running. */
int service_privileges_drop(const struct config *cfg, const char *service,
			    char **error_r);

/* When root: gives service's RPC socket at path to its user, with the
 * internal group and mode 0660 when there is one (as the units'
 * SocketUser=/SocketGroup=/SocketMode= do). */
int service_rpc_socket_give(const struct config *cfg, const char *service,
			    const char *path, char **error_r);

/* Whether the service reads local mail files (mail_uid applies). */
bool service_touches_mail_files(const char *service);

#endif
