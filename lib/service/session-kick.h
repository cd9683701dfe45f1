/* What svc-imap and svc-pop3 share of the Session Kick RPC
 * (session.proto, `stratusctl kick`): which logged-in clients a request
 * names (a user mask, or an IP inside one of its nets), the reply that
 * lists the sessions kicked, and the reason text. Each service walks its
 * own clients and closes a matching one its own way (IMAP "* BYE",
 * POP3 "-ERR"). Built into each of those services with svc-auth's
 * net-match.c, so that nets match as login_trusted_networks do. */
#ifndef SESSION_KICK_H
#define SESSION_KICK_H

#include <stdbool.h>
#include <stddef.h>

#include "rpc.h"
#include "session.pb-c.h"

struct net_list;

struct session_kick {
	const Stratus__KickRequest *req;
	struct net_list *nets;		/* NULL when the request has none */
	Stratus__KickReply reply;
	size_t cap;
};

/* Parses the request's nets. False when one is malformed: the call has
 * then been answered with STATUS_INVALID and nothing is to be freed. */
bool session_kick_init(struct session_kick *k, struct rpc_call *call,
		       const Stratus__KickRequest *req);
/* Whether a client (user NULL = not logged in) is named by the request. */
bool session_kick_matches(const struct session_kick *k, const char *user,
			  const char *ip);
/* "Kicked by admin" unless the request gives a reason. */
const char *session_kick_reason(const struct session_kick *k);
/* Lists a kicked session in the reply (the strings are copied). */
void session_kick_add(struct session_kick *k, const char *user,
		      const char *ip, const char *session);
/* Answers the call with the list and frees everything. */
void session_kick_reply(struct session_kick *k, struct rpc_call *call);

#endif
