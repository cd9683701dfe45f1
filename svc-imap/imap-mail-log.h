/* The mail_log plugin in svc-imap: with `mail_plugins = ... mail_log`,
 * one log line per event of plugin/mail_log_events (delete, undelete,
 * expunge, copy, save, flag_change, mailbox_create/delete/rename) with the
 * fields of mail_log_fields, in lib/mail/mail-log's (Dovecot's) format and
 * with the session's mail_log_prefix. Lines are written only once the
 * index confirmed the change. */
#ifndef IMAP_MAIL_LOG_H
#define IMAP_MAIL_LOG_H

#include "imap-index.h"

/* Reads the plugin settings. Returns 0, or -1 with *error_r (heap) for an
 * unknown event or field name, as Dovecot refuses to start then. */
int imap_mail_log_init(const struct config *cfg, char **error_r);

/* imap_index_call() for the calls that make mail_log events: Append,
 * Store, Expunge, Copy, MailboxCreate/Delete/Rename. When an event of the
 * call is logged and its lines need what the index knows of the messages
 * before the change (old flags, headers, sizes), those are fetched first;
 * the call then goes out unchanged, the lines are logged from its reply
 * (only when it succeeded) and cb gets the reply as usual. Any other call,
 * or none of its events logged: exactly imap_index_call(). */
void imap_mail_log_index_call(struct imap_cmd *cmd,
			      enum imap_index_method method,
			      const ProtobufCMessage *req, imap_index_cb *cb);

#endif
