/* Kick (session.proto): every logged-in client whose user matches a mask
 * or whose IP is in a net gets "* BYE" and is closed, as doveadm kick
 * ends a user's imap processes. The RPC socket accepts only root and our
 * own uid, so this is an administrator's act. */
#include "imap-kick.h"
#include "imap-common.h"
#include "session-kick.h"

#include <stdlib.h>
#include <string.h>

static void imap_kick_handle(struct rpc_call *call,
			     const ProtobufCMessage *msg)
{
	struct service *svc = rpc_call_handler_ctx(call);
	struct imap_ctx *ctx = svc->ctx;
	struct session_kick kick;
	if (!session_kick_init(&kick, call, (const void *)msg))
		return;
	const char *reason = session_kick_reason(&kick);
	struct imap_client *next;
	for (struct imap_client *c = ctx != NULL ? ctx->clients : NULL;
	     c != NULL; c = next) {
		next = c->next;
		if (c->destroyed || !session_kick_matches(&kick, c->user, c->ip))
			continue;
		session_kick_add(&kick, c->user, c->ip, c->session);
		/* Best effort, as at shutdown: the socket is non-blocking. */
		char *bye = xasprintf("* BYE %s.\r\n", reason);
		ssize_t n = stream_write(c->stream, bye, strlen(bye));
		(void)n;
		free(bye);
		imap_client_destroy(c, reason);
	}
	session_kick_reply(&kick, call);
}

rpc_handler_fn *const imap_session_handlers[IMAP_SESSION_N_HANDLERS] = {
	imap_kick_handle,
};
