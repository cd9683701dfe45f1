/* NOTIFY (RFC 5465): what a session asked to hear about, and the two
 * watchers that tell it as things happen, also between commands.
 *
 * The selected mailbox (filters selected / selected-delayed): while no
 * command runs, a svc-index Wait is pending on it, the same call IDLE
 * parks; its reply goes out as EXISTS / EXPUNGE / FETCH at once. What
 * the client did not ask for, and expunges under selected-delayed, stay
 * for the next command's own sync (then the watcher waits again).
 *
 * Other mailboxes (inboxes, personal, subscribed, subtree, mailboxes):
 * a svc-index WaitUser is pending; when the user's change counter moves,
 * one MailboxList with status is compared with the last one and the
 * differences go out as STATUS (MessageNew / MessageExpunge /
 * FlagChange), LIST (MailboxName: created, \NonExistent, OLDNAME) and
 * LIST \Subscribed (SubscriptionChange). METADATA changes are told by
 * svc-imap itself (one process holds every session): SETMETADATA calls
 * imap_notify_metadata_changed(). Nothing is sent while a command other
 * than IDLE runs: it goes out when the command ends. */
#ifndef IMAP_NOTIFY_H
#define IMAP_NOTIFY_H

#include "imap-common.h"
#include "index.pb-c.h"

#define IMAP_NOTIFY_MESSAGE_NEW		0x01
#define IMAP_NOTIFY_MESSAGE_EXPUNGE	0x02
#define IMAP_NOTIFY_FLAG_CHANGE		0x04
#define IMAP_NOTIFY_MAILBOX_NAME	0x08
#define IMAP_NOTIFY_SUBSCRIPTION	0x10
#define IMAP_NOTIFY_MAILBOX_METADATA	0x20
#define IMAP_NOTIFY_SERVER_METADATA	0x40
#define IMAP_NOTIFY_MESSAGE_EVENTS	0x07

/* MessageNew's fetch attributes that a Wait reply answers. */
#define IMAP_NOTIFY_ATT_UID		0x01
#define IMAP_NOTIFY_ATT_FLAGS		0x02
#define IMAP_NOTIFY_ATT_INTERNALDATE	0x04
#define IMAP_NOTIFY_ATT_SIZE		0x08
#define IMAP_NOTIFY_ATT_MODSEQ		0x10
#define IMAP_NOTIFY_ATT_EMAILID		0x20
#define IMAP_NOTIFY_ATT_SAVEDATE	0x40

enum imap_notify_filter {
	IMAP_NOTIFY_SELECTED,
	IMAP_NOTIFY_SELECTED_DELAYED,
	IMAP_NOTIFY_INBOXES,
	IMAP_NOTIFY_PERSONAL,
	IMAP_NOTIFY_SUBSCRIBED,
	IMAP_NOTIFY_SUBTREE,
	IMAP_NOTIFY_MAILBOXES,
};

struct imap_notify_group {
	enum imap_notify_filter filter;
	char **names;		/* subtree / mailboxes: index names */
	size_t n_names;
	unsigned int events;	/* 0 = NONE */
};

struct imap_notify_box {
	char *name, *guid;
	bool subscribed;
	uint32_t messages, uidnext, unseen, uidvalidity;
	uint64_t highest_modseq;
};

struct imap_notify {
	struct imap_notify_group *groups;	/* in the command's order */
	size_t n_groups;
	bool has_selected, selected_delayed;
	unsigned int selected_events, new_atts;
	bool has_other;		/* a non-selected group with events */
	char sep;		/* hierarchy separator from MailboxList */
	/* the other mailboxes as last told */
	struct imap_notify_box *boxes;
	size_t n_boxes;
	uint64_t change;	/* WaitUser's counter for them */
	bool user_wait_pending, list_pending, other_dirty;
	/* the selected mailbox's watcher */
	bool sel_wait_pending, sel_held;
	uint64_t sel_since_modseq;
	uint32_t sel_since_uidnext;
	char sel_guid[64];	/* the mailbox it waits on */
	struct buf queued;	/* METADATA lines held during a command */
	struct loop_timer *retry;
	uint64_t gen;		/* replies of an older NOTIFY are dropped */
};

bool cmd_notify(struct imap_cmd *cmd);

/* Replaces the session's NOTIFY state (NULL: NOTIFY NONE) and starts
 * the watchers; boxes is the first listing (taken). */
void imap_notify_install(struct imap_client *client, struct imap_notify *n);
void imap_notify_free(struct imap_notify **np);
/* The group whose filter covers a non-selected mailbox, or NULL. */
const struct imap_notify_group *
imap_notify_group_for(const struct imap_notify *n, const char *name,
		      bool subscribed);
/* Takes a MailboxList reply as the known state (no output). */
void imap_notify_snapshot(struct imap_notify *n,
			  const Stratus__IndexListReply *r);
/* "* STATUS ..." of a box (the items NOTIFY tells). */
void imap_notify_send_status(struct imap_client *client,
			     const struct imap_notify_box *b);

/* imap-client.c: the command in progress ended (or none runs). */
void imap_notify_command_done(struct imap_client *client);
/* cmd-metadata.c: entries of mailbox ("" = server) changed by client. */
void imap_notify_metadata_changed(struct imap_client *client,
				  const char *mailbox,
				  const char *const *entries, size_t n);

#endif
