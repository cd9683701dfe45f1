/* svc-imap's settings, read once from the configuration into a typed
 * struct; handlers read fields, never strings. */
#ifndef IMAP_SETTINGS_H
#define IMAP_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "config.h"

/* imap_client_workarounds, as Dovecot documents them. */
enum imap_workaround {
	IMAP_WA_DELAY_NEWMAIL = 0x01,
	IMAP_WA_TB_EXTRA_MAILBOX_SEP = 0x02,
	IMAP_WA_TB_LSUB_FLAGS = 0x04,
};

enum imap_autocreate {
	IMAP_AUTO_NO,
	IMAP_AUTO_CREATE,
	IMAP_AUTO_SUBSCRIBE,
};

struct imap_mailbox_set {
	char *name;
	char *special_use;	/* "\Drafts", "" */
	enum imap_autocreate autocreate;
};

struct imap_namespace {
	char *name;		/* the section name */
	char *type;		/* private, shared, public */
	char *prefix;
	char sep;
	bool inbox, hidden, list, subscriptions;
	struct imap_mailbox_set *mailboxes;
	size_t n_mailboxes;
};

/* APPEND's literal bound when nothing smaller is configured. */
#define IMAP_DEFAULT_APPEND_MAX (256ULL * 1024 * 1024)
#define IMAP_MIN_LINE_LENGTH 1024

struct imap_settings {
	size_t max_line_length;
	uint64_t max_append;
	bool literal_minus;
	char *capability;	/* imap_capability, "" = ours */
	unsigned int workarounds;
	char *id_send;
	char *id_log;
	char *login_greeting;
	bool auth_plain, auth_login;
	bool quota;		/* mail_plugins has quota: Check before saving */
	bool imap_quota;	/* mail_plugins has imap_quota: GETQUOTA* */
	/* URLAUTH (cmd-urlauth.c): "" = off, "*" = any host */
	char *urlauth_host;
	char *urlauth_submit_user;	/* who may fetch submit+ URLs */
	struct imap_namespace *namespaces;
	size_t n_namespaces;
};

int imap_settings_read(const struct config *cfg, struct imap_settings *set,
		       char **error_r);
void imap_settings_free(struct imap_settings *set);
/* The namespace with inbox = yes (there is always one). */
const struct imap_namespace *
imap_settings_inbox_ns(const struct imap_settings *set);

#endif
