/* The Kick RPC's matching and reply (see session-kick.h). */
#include "session-kick.h"
#include "buf.h"
#include "net-match.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

bool session_kick_init(struct session_kick *k, struct rpc_call *call,
		       const Stratus__KickRequest *req)
{
	memset(k, 0, sizeof(*k));
	k->req = req;
	stratus__kick_reply__init(&k->reply);
	if (req->n_nets == 0)
		return true;
	/* One list, so "10.0.0.0/8,::1" and separate arguments both work. */
	struct buf text = BUF_INIT;
	for (size_t i = 0; i < req->n_nets; i++)
		buf_printf(&text, "%s%s", i > 0 ? " " : "", req->nets[i]);
	char *error = NULL;
	k->nets = net_list_parse(text.data, &error);
	buf_free(&text);
	if (k->nets == NULL) {
		rpc_call_fail(call, STRATUS__STATUS__STATUS_INVALID, "%s", error);
		free(error);
		return false;
	}
	return true;
}

bool session_kick_matches(const struct session_kick *k, const char *user,
			  const char *ip)
{
	if (user == NULL)
		return false;
	for (size_t i = 0; i < k->req->n_user_masks; i++) {
		if (fnmatch(k->req->user_masks[i], user, 0) == 0)
			return true;
	}
	return k->nets != NULL && ip != NULL && net_list_match(k->nets, ip);
}

const char *session_kick_reason(const struct session_kick *k)
{
	return k->req->reason[0] != '\0' ? k->req->reason : "Kicked by admin";
}

void session_kick_add(struct session_kick *k, const char *user,
		      const char *ip, const char *session)
{
	Stratus__KickReply *r = &k->reply;
	if (r->n_kicked == k->cap) {
		k->cap = k->cap * 2 + 8;
		r->kicked = xreallocarray(r->kicked, k->cap, sizeof(*r->kicked));
	}
	Stratus__KickedSession *s = xmalloc(sizeof(*s));
	stratus__kicked_session__init(s);
	s->user = xstrdup(user);
	s->ip = xstrdup(ip != NULL ? ip : "");
	s->session = xstrdup(session != NULL ? session : "");
	r->kicked[r->n_kicked++] = s;
}

void session_kick_reply(struct session_kick *k, struct rpc_call *call)
{
	Stratus__KickReply *r = &k->reply;
	rpc_call_reply(call, &r->base, NULL, 0);
	for (size_t i = 0; i < r->n_kicked; i++) {
		free(r->kicked[i]->user);
		free(r->kicked[i]->ip);
		free(r->kicked[i]->session);
		free(r->kicked[i]);
	}
	free(r->kicked);
	net_list_free(&k->nets);
	memset(k, 0, sizeof(*k));
}
