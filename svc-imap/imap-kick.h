/* svc-imap's own RPC (session.proto): Kick closes the sessions of a user
 * or an IP for `stratusctl kick`. */
#ifndef IMAP_KICK_H
#define IMAP_KICK_H

#include "rpc.h"

#define IMAP_SESSION_N_HANDLERS 1
extern rpc_handler_fn *const imap_session_handlers[IMAP_SESSION_N_HANDLERS];

#endif
