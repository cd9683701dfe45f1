/* Kick (session.proto): every logged-in client whose user matches a mask
 * or whose IP is in a net gets "* BYE" and is closed, as doveadm kick
 * ends a user's imap processes. The RPC socket accepts only root and our
 * own uid, so this is an administrator's act. */
#include "imap-kick.h"
#include "imap-common.h"
#include "net-match.h"
#include "session.pb-c.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

static bool kick_matches(const struct imap_client *c,
			 const Stratus__KickRequest *req,
			 const struct net_list *nets)
{
	if (c->user == NULL || c->destroyed)
		return false;
	for (size_t i = 0; i < req->n_user_masks; i++) {
		if (fnmatch(req->user_masks[i], c->user, 0) == 0)
			return true;
	}
	return nets != NULL && net_list_match(nets, c->ip);
}

/* The nets as one list; NULL (and a failed call) on a malformed one. */
static bool kick_parse_nets(struct rpc_call *call,
			    const Stratus__KickRequest *req,
			    struct net_list **nets_r)
{
	struct buf text = BUF_INIT;
	char *error = NULL;
	*nets_r = NULL;
	if (req->n_nets == 0)
		return true;
	for (size_t i = 0; i < req->n_nets; i++)
		buf_printf(&text, "%s%s", i > 0 ? " " : "", req->nets[i]);
	*nets_r = net_list_parse(text.data, &error);
	buf_free(&text);
	if (*nets_r == NULL) {
		rpc_call_fail(call, STRATUS__STATUS__STATUS_INVALID, "%s", error);
		free(error);
		return false;
	}
	return true;
}

static void imap_kick_handle(struct rpc_call *call,
			     const ProtobufCMessage *msg)
{
	const Stratus__KickRequest *req = (const void *)msg;
	struct service *svc = rpc_call_handler_ctx(call);
	struct imap_ctx *ctx = svc->ctx;
	struct net_list *nets;
	if (!kick_parse_nets(call, req, &nets))
		return;
	const char *reason = req->reason[0] != '\0' ? req->reason :
		"Kicked by admin";
	Stratus__KickReply reply = STRATUS__KICK_REPLY__INIT;
	size_t cap = 0;
	struct imap_client *next;
	for (struct imap_client *c = ctx != NULL ? ctx->clients : NULL;
	     c != NULL; c = next) {
		next = c->next;
		if (!kick_matches(c, req, nets))
			continue;
		if (reply.n_kicked == cap) {
			cap = cap * 2 + 8;
			reply.kicked = xrealloc(reply.kicked,
						cap * sizeof(*reply.kicked));
		}
		Stratus__KickedSession *k = xmalloc(sizeof(*k));
		stratus__kicked_session__init(k);
		k->user = xstrdup(c->user);
		k->ip = xstrdup(c->ip);
		k->session = xstrdup(c->session != NULL ? c->session : "");
		reply.kicked[reply.n_kicked++] = k;
		/* Best effort, as at shutdown: the socket is non-blocking. */
		char *bye = xasprintf("* BYE %s.\r\n", reason);
		ssize_t n = stream_write(c->stream, bye, strlen(bye));
		(void)n;
		free(bye);
		imap_client_destroy(c, reason);
	}
	rpc_call_reply(call, &reply.base, NULL, 0);
	for (size_t i = 0; i < reply.n_kicked; i++) {
		free(reply.kicked[i]->user);
		free(reply.kicked[i]->ip);
		free(reply.kicked[i]->session);
		free(reply.kicked[i]);
	}
	free(reply.kicked);
	net_list_free(&nets);
}

rpc_handler_fn *const imap_session_handlers[IMAP_SESSION_N_HANDLERS] = {
	imap_kick_handle,
};
