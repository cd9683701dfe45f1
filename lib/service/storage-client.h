/* What the mail protocol services (svc-lmtp, svc-pop3) share to reach the
 * storage services: one RPC client each to svc-auth, svc-index, svc-blob
 * and svc-quota, the method numbers they call (looked up by name once),
 * the request Context, object keys, and the calls whose answer nobody
 * waits for (blob deletes of unreferenced objects). */
#ifndef STRATUS_STORAGE_CLIENT_H
#define STRATUS_STORAGE_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "loop.h"
#include "rpc.h"

struct storage_methods {
	uint32_t auth_userdb;	/* Sasl and Connect: sasl-client.h */
	uint32_t index_status, index_create, index_subscribe, index_append;
	uint32_t index_open, index_fetch, index_store, index_expunge;
	uint32_t blob_put, blob_get, blob_delete;
	uint32_t quota_check, quota_commit, quota_changed;
};

struct storage_client {
	struct rpc_client *auth, *index, *blob, *quota;
	struct storage_methods m;
	uint64_t n_blob_deletes;	/* keys sent to svc-blob Delete */
};

/* Connects lazily (rpc_client_new) to the four services' sockets. */
void storage_client_open(struct storage_client *sc, struct loop *loop,
			 const struct config *cfg);
void storage_client_close(struct storage_client *sc);

/* The Context every request carries, pointing at the caller's strings
 * (user NULL is sent as ""). */
void storage_context(Stratus__Context *ctx, const char *session,
		     const char *user, const char *client_ip,
		     unsigned int client_port, const char *service);

/* An object id ("ab/cde/user/<mailbox-guid>/<message-guid>") as the key
 * relative to the user's prefix that svc-blob wants: its last two parts.
 * Points into object_id. */
const char *storage_object_key(const char *object_id);

/* svc-blob Delete of n mail object keys of user; the answer is not
 * awaited (a lost delete leaves an object for the next rebuild). */
void storage_blob_delete(struct storage_client *sc,
			 const Stratus__Context *ctx, const char *user,
			 char *const *keys, size_t n);

/* A reply callback for calls whose answer nobody needs. */
void storage_ignore_reply(const struct rpc_reply *reply, void *ctx);

/* The quota plugin is on for protocol: quota in its mail_plugins and
 * plugin/quota set (Dovecot needs both). */
bool storage_quota_enabled(const struct config *cfg, const char *protocol);

#endif
