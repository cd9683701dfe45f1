/* Kick (session.proto): every logged-in client whose user matches a mask
 * or whose IP is in a net gets "-ERR" and is closed without entering the
 * UPDATE state (messages marked with DELE stay, as on a dropped
 * connection; RFC 1939 section 6). Only root and our own uid reach the
 * RPC socket. */
#include "pop3-kick.h"
#include "pop3-common.h"
#include "session-kick.h"
#include "service.h"

static void pop3_kick_handle(struct rpc_call *call,
			     const ProtobufCMessage *msg)
{
	struct service *svc = rpc_call_handler_ctx(call);
	struct pop3_server *server = svc->ctx;
	struct session_kick kick;
	if (!session_kick_init(&kick, call, (const void *)msg))
		return;
	const char *reason = session_kick_reason(&kick);
	for (struct pop3_client *c = server != NULL ? server->clients : NULL;
	     c != NULL; c = c->next) {
		if (c->disconnected || c->conn == NULL ||
		    text_conn_closing(c->conn) ||
		    !session_kick_matches(&kick, c->user, c->client_ip))
			continue;
		session_kick_add(&kick, c->user, c->client_ip, c->session);
		log_info(&c->log, "%s", reason);
		/* closed() runs later from the loop, so the list stays
		 * intact while we walk it. */
		pop3_client_reply(c, "-ERR %s.", reason);
		text_conn_close_after_flush(c->conn);
	}
	session_kick_reply(&kick, call);
}

rpc_handler_fn *const pop3_session_handlers[POP3_SESSION_N_HANDLERS] = {
	pop3_kick_handle,
};
