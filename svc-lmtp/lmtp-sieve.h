/* Sieve at LMTP delivery (mail_plugins contains "sieve"): runs the
 * recipient's active script (lib/sieve/sieve.h explains the contract) and
 * performs its actions through lmtp-store.c. Without sieve in
 * mail_plugins, or without an active script, delivery is lmtp_store. */
#ifndef LMTP_SIEVE_H
#define LMTP_SIEVE_H

#include "lmtp-common.h"

struct lmtp_sieve_settings;

/* Reads sieve_max_actions, sieve_max_redirects, sieve_max_cpu_time and
 * sieve_vacation_{min,max,default}_period from plugin { }. */
struct lmtp_sieve_settings *lmtp_sieve_settings_new(const struct config *cfg);
void lmtp_sieve_settings_free(struct lmtp_sieve_settings **set);

/* The backend's deliver: same contract as lmtp_store. */
void lmtp_sieve_deliver(struct lmtp_server *server,
			struct lmtp_client *client, const struct lmtp_txn *txn,
			struct lmtp_rcpt *rcpt, lmtp_deliver_cb *cb);

#endif
