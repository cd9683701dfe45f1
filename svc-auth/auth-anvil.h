/* mail_max_userip_connections: one counter per (protocol, client IP,
 * user) across every process of a protocol. Each count is also recorded
 * under the RPC connection that took it, so when a protocol process dies
 * (its RPC connection closes) everything it held is released. */
#ifndef AUTH_ANVIL_H
#define AUTH_ANVIL_H

#include <stdbool.h>
#include <stdint.h>

struct auth_anvil;

struct auth_anvil *auth_anvil_new(void);
void auth_anvil_free(struct auth_anvil **a);
/* Counts one more session unless limit (0 = none) is reached. Returns
 * true when counted; *count_r is the count afterwards (or now). */
bool auth_anvil_connect(struct auth_anvil *a, uint64_t conn_id,
			const char *protocol, const char *ip,
			const char *user, unsigned int limit,
			unsigned int *count_r);
/* Ends one session taken by conn_id; ignored when it holds none. */
void auth_anvil_release(struct auth_anvil *a, uint64_t conn_id,
			const char *protocol, const char *ip,
			const char *user, unsigned int *count_r);
/* The RPC connection closed: releases everything it held. */
void auth_anvil_conn_closed(struct auth_anvil *a, uint64_t conn_id);
unsigned int auth_anvil_total(const struct auth_anvil *a);
/* Calls cb for each protocol/IP/user that holds sessions now. */
typedef void auth_anvil_entry_cb(const char *protocol, const char *ip,
				 const char *user, unsigned int count,
				 void *ctx);
void auth_anvil_foreach(struct auth_anvil *a, auth_anvil_entry_cb *cb,
			void *ctx);

#endif
