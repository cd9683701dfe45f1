/* svc-imap's RPC clients (svc-index, svc-blob, svc-quota) and the one way
 * a command calls them: the reply comes back from the loop to cb with the
 * command still in progress, never after the client is gone. Calls that
 * no command waits for (releasing a quota reservation, deleting objects
 * nobody references) go through imap_rpc_send(), which only logs. */
#ifndef IMAP_RPC_H
#define IMAP_RPC_H

#include "imap-common.h"
#include "rpc.h"

#define IMAP_RPC_TIMEOUT_MS 60000

typedef void imap_rpc_cb(struct imap_cmd *cmd, const struct rpc_reply *reply);

void imap_rpc_init(struct imap_ctx *ctx);
void imap_rpc_deinit(struct imap_ctx *ctx);

/* The command waits for the reply (the client holds a reference). fds
 * are duplicated by lib/rpc; the caller keeps its own. */
void imap_rpc_call(struct imap_cmd *cmd, struct rpc_client *rc,
		   int method, const ProtobufCMessage *req, const int *fds,
		   size_t n_fds, imap_rpc_cb *cb);
/* A call the command needed failed: logs "CMD: what failed: why", sends
 * the tagged NO [UNAVAILABLE] and ends the command. */
void imap_rpc_fail(struct imap_cmd *cmd, const char *what,
		   const struct rpc_reply *reply);
/* A call no command waits for but whose reply matters (NOTIFY's
 * watchers): cb gets it while the client lives, whatever command runs
 * then; arg tells the caller's stale replies apart. */
typedef void imap_rpc_client_cb(struct imap_client *client,
				const struct rpc_reply *reply, uint64_t arg);
void imap_rpc_call_client(struct imap_client *client, struct rpc_client *rc,
			  int method, const ProtobufCMessage *req,
			  imap_rpc_client_cb *cb, uint64_t arg);
/* Fire and forget: a failure is logged with the client's session. */
void imap_rpc_send(struct imap_client *client, struct rpc_client *rc,
		   int method, const ProtobufCMessage *req, const char *what);

/* The svc-blob key of a message object ("<mailbox-guid>/<message-guid>")
 * from the object id Put returned (the key under the user's prefix). */
const char *imap_object_key(const char *object_id);

#endif
