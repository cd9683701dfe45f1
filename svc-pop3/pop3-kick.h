/* svc-pop3's own RPC (session.proto): Kick closes the sessions of a user
 * or an IP for `stratusctl kick`. */
#ifndef POP3_KICK_H
#define POP3_KICK_H

#include "rpc.h"

#define POP3_SESSION_N_HANDLERS 1
extern rpc_handler_fn *const pop3_session_handlers[POP3_SESSION_N_HANDLERS];

#endif
