/* The mail_log plugin in svc-pop3 (`mail_plugins = ... mail_log` for
 * protocol pop3): QUIT's expunge of DELE'd messages writes one
 * "expunge: box=INBOX, uid=.., msgid=.., size=.." line per message, with
 * plugin/mail_log_fields, in the format IMAP uses (lib/mail/mail-log). */
#ifndef POP3_MAIL_LOG_H
#define POP3_MAIL_LOG_H

#include "pop3-rpc.h"

/* Whether expunges are logged (read once from the configuration; a bad
 * mail_log_events/fields is logged and turns the plugin off). */
bool pop3_mail_log_expunge_enabled(const struct config *cfg);

/* The headers the lines need, fetched from svc-index before the expunge;
 * done(ctx) runs once (also when the fetch failed: lines then lack the
 * header fields). */
struct pop3_mail_log;
struct pop3_mail_log *pop3_mail_log_prefetch(struct pop3_rpc_backend *be,
					     struct pop3_client *client,
					     const uint32_t *uids,
					     unsigned int n,
					     void (*done)(void *ctx),
					     void *ctx);
/* Logs the expunged ones and frees ml. */
void pop3_mail_log_expunged(struct pop3_mail_log *ml,
			    const uint32_t *expunged, size_t n);
void pop3_mail_log_free(struct pop3_mail_log **ml);

#endif
