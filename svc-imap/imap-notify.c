/* NOTIFY's watchers and what they send (see imap-notify.h). */
#include "imap-notify.h"
#include "imap-date.h"
#include "imap-index.h"
#include "imap-objectid.h"
#include "imap-sync.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define NOTIFY_WAIT_MS 30000	/* one Wait / WaitUser; then another */
#define NOTIFY_RETRY_MS 1000	/* after a failed call */

static void notify_arm(struct imap_client *client);

static void notify_boxes_free(struct imap_notify_box *boxes, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(boxes[i].name);
		free(boxes[i].guid);
	}
	free(boxes);
}

void imap_notify_free(struct imap_notify **np)
{
	struct imap_notify *n = *np;
	if (n == NULL)
		return;
	*np = NULL;
	for (size_t i = 0; i < n->n_groups; i++) {
		for (size_t k = 0; k < n->groups[i].n_names; k++)
			free(n->groups[i].names[k]);
		free(n->groups[i].names);
	}
	free(n->groups);
	notify_boxes_free(n->boxes, n->n_boxes);
	buf_free(&n->queued);
	loop_timer_remove(&n->retry);
	free(n);
}

/* Output may go out now: no command runs, or IDLE (RFC 5465 4). */
static bool notify_may_send(const struct imap_client *client)
{
	if (client->destroyed || client->disconnecting ||
	    client->state == IMAP_STATE_LOGOUT ||
	    client->state == IMAP_STATE_NOT_AUTH)
		return false;
	return client->cmd == NULL ||
		(client->cmd->line_fn != NULL &&
		 strcasecmp(client->cmd->c.name, "IDLE") == 0);
}

static bool name_in_subtree(const char *name, const char *top, char sep)
{
	size_t len = strlen(top);
	if (strcasecmp(top, "INBOX") == 0 && strncasecmp(name, "INBOX", 5) == 0)
		return name[5] == '\0' || name[5] == sep;
	return strncmp(name, top, len) == 0 &&
		(name[len] == '\0' || name[len] == sep);
}

static bool name_is(const char *name, const char *other)
{
	if (strcasecmp(name, "INBOX") == 0)
		return strcasecmp(other, "INBOX") == 0;
	return strcmp(name, other) == 0;
}

const struct imap_notify_group *
imap_notify_group_for(const struct imap_notify *n, const char *name,
		      bool subscribed)
{
	for (size_t i = 0; i < n->n_groups; i++) {
		const struct imap_notify_group *g = &n->groups[i];
		bool match = false;
		switch (g->filter) {
		case IMAP_NOTIFY_SELECTED:
		case IMAP_NOTIFY_SELECTED_DELAYED:
			break;
		case IMAP_NOTIFY_INBOXES:
			match = strcasecmp(name, "INBOX") == 0;
			break;
		case IMAP_NOTIFY_PERSONAL:
			match = true;
			break;
		case IMAP_NOTIFY_SUBSCRIBED:
			match = subscribed;
			break;
		case IMAP_NOTIFY_SUBTREE:
		case IMAP_NOTIFY_MAILBOXES:
			for (size_t k = 0; k < g->n_names && !match; k++)
				match = g->filter == IMAP_NOTIFY_SUBTREE ?
					name_in_subtree(name, g->names[k],
							n->sep) :
					name_is(name, g->names[k]);
			break;
		}
		if (match)
			return g;
	}
	return NULL;
}

static unsigned int events_for(const struct imap_notify *n, const char *name,
			       bool subscribed)
{
	const struct imap_notify_group *g =
		imap_notify_group_for(n, name, subscribed);
	return g != NULL ? g->events : 0;
}

void imap_notify_snapshot(struct imap_notify *n,
			  const Stratus__IndexListReply *r)
{
	notify_boxes_free(n->boxes, n->n_boxes);
	n->boxes = xcalloc(r->n_entries + 1, sizeof(*n->boxes));
	n->n_boxes = 0;
	if (r->separator != NULL && r->separator[0] != '\0')
		n->sep = r->separator[0];
	for (size_t i = 0; i < r->n_entries; i++) {
		const Stratus__IndexListEntry *e = r->entries[i];
		if (e->nonexistent || e->guid == NULL || e->guid[0] == '\0')
			continue;
		struct imap_notify_box *b = &n->boxes[n->n_boxes++];
		b->name = xstrdup(e->name);
		b->guid = xstrdup(e->guid);
		b->subscribed = e->subscribed;
		if (e->status != NULL) {
			b->messages = e->status->messages;
			b->uidnext = e->status->uidnext;
			b->unseen = e->status->unseen;
			b->uidvalidity = e->status->uidvalidity;
			b->highest_modseq = e->status->highest_modseq;
		}
	}
}

void imap_notify_send_status(struct imap_client *client,
			     const struct imap_notify_box *b)
{
	struct buf out = BUF_INIT;
	buf_append_str(&out, "* STATUS ");
	imap_append_mailbox(client, &out, b->name);
	buf_printf(&out, " (MESSAGES %u UIDNEXT %u UIDVALIDITY %u UNSEEN %u",
		   b->messages, b->uidnext, b->uidvalidity, b->unseen);
	if (client->condstore)
		buf_printf(&out, " HIGHESTMODSEQ %llu",
			   (unsigned long long)b->highest_modseq);
	buf_append_c(&out, ')');
	imap_client_send(client, "%s", out.data);
	buf_free(&out);
}

static void send_list(struct imap_client *client, const char *attrs,
		      const char *name, const char *oldname)
{
	const struct imap_notify *n = client->notify;
	struct buf out = BUF_INIT;
	buf_printf(&out, "* LIST (%s) \"%c\" ", attrs, n->sep);
	imap_append_mailbox(client, &out, name);
	if (oldname != NULL) {
		buf_append_str(&out, " (\"OLDNAME\" (");
		imap_append_mailbox(client, &out, oldname);
		buf_append_str(&out, "))");
	}
	imap_client_send(client, "%s", out.data);
	buf_free(&out);
}

static bool is_selected(const struct imap_client *client, const char *guid)
{
	return client->state == IMAP_STATE_SELECTED &&
		client->selected_guid != NULL &&
		strcmp(client->selected_guid, guid) == 0;
}

static const struct imap_notify_box *
find_guid(const struct imap_notify_box *boxes, size_t n, const char *guid)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(boxes[i].guid, guid) == 0)
			return &boxes[i];
	}
	return NULL;
}

/* One mailbox that exists now, against how it was (old, or NULL). */
static void diff_box(struct imap_client *client,
		     const struct imap_notify_box *old,
		     const struct imap_notify_box *b)
{
	const struct imap_notify *n = client->notify;
	unsigned int ev = events_for(n, b->name, b->subscribed);
	if (old == NULL || strcmp(old->name, b->name) != 0) {
		if (old != NULL)
			ev |= events_for(n, old->name, old->subscribed);
		if ((ev & IMAP_NOTIFY_MAILBOX_NAME) != 0)
			send_list(client, b->subscribed ? "\\Subscribed" : "",
				  b->name, old != NULL ? old->name : NULL);
	}
	if (old != NULL && old->subscribed != b->subscribed) {
		ev |= events_for(n, b->name, old->subscribed);
		if ((ev & IMAP_NOTIFY_SUBSCRIPTION) != 0)
			send_list(client, b->subscribed ? "\\Subscribed" : "",
				  b->name, NULL);
	}
	if (old == NULL || is_selected(client, b->guid))
		return;
	bool messages = old->messages != b->messages ||
		old->uidnext != b->uidnext || old->uidvalidity != b->uidvalidity;
	bool flags = old->unseen != b->unseen ||
		old->highest_modseq != b->highest_modseq;
	if ((messages && (ev & (IMAP_NOTIFY_MESSAGE_NEW |
				IMAP_NOTIFY_MESSAGE_EXPUNGE)) != 0) ||
	    (flags && (ev & IMAP_NOTIFY_FLAG_CHANGE) != 0))
		imap_notify_send_status(client, b);
}

static void notify_diff(struct imap_client *client,
			const Stratus__IndexListReply *r)
{
	struct imap_notify *n = client->notify;
	struct imap_notify_box *old = n->boxes;
	size_t n_old = n->n_boxes;
	n->boxes = NULL;
	n->n_boxes = 0;
	imap_notify_snapshot(n, r);
	for (size_t i = 0; i < n_old; i++) {
		if (find_guid(n->boxes, n->n_boxes, old[i].guid) == NULL &&
		    (events_for(n, old[i].name, old[i].subscribed) &
		     IMAP_NOTIFY_MAILBOX_NAME) != 0)
			send_list(client, "\\NonExistent", old[i].name, NULL);
	}
	for (size_t i = 0; i < n->n_boxes; i++)
		diff_box(client, find_guid(old, n_old, n->boxes[i].guid),
			 &n->boxes[i]);
	notify_boxes_free(old, n_old);
}

static void notify_retry(struct loop_timer *timer, void *ctx)
{
	struct imap_client *client = ctx;
	(void)timer;
	loop_timer_remove(&client->notify->retry);
	notify_arm(client);
}

static void notify_failed(struct imap_client *client, const char *what,
			  const struct rpc_reply *reply)
{
	log_warning(&client->log, "NOTIFY: index %s failed: %s", what,
		    reply->error != NULL ? reply->error :
		    rpc_status_name(reply->status));
	if (client->notify->retry == NULL)
		client->notify->retry = loop_timer_add(client->ctx->svc->loop,
						       NOTIFY_RETRY_MS, false,
						       notify_retry, client);
}

static bool notify_current(struct imap_client *client, uint64_t gen)
{
	return !client->destroyed && client->notify != NULL &&
		client->notify->gen == gen;
}

/* ---- other mailboxes ---- */

static void list_reply(struct imap_client *client,
		       const struct rpc_reply *reply, uint64_t gen)
{
	if (!notify_current(client, gen))
		return;
	struct imap_notify *n = client->notify;
	n->list_pending = false;
	if (reply->status != STRATUS__STATUS__STATUS_OK) {
		notify_failed(client, "MailboxList", reply);
		return;
	}
	/* A command started meanwhile: ask again once it ends. */
	if (!notify_may_send(client))
		return;
	n->other_dirty = false;
	notify_diff(client, (const Stratus__IndexListReply *)reply->msg);
	notify_arm(client);
}

static void notify_flush_other(struct imap_client *client)
{
	struct imap_notify *n = client->notify;
	if (!n->other_dirty || n->list_pending || !notify_may_send(client))
		return;
	char *patterns[] = { (char *)"*" };
	Stratus__IndexListRequest req = STRATUS__INDEX_LIST_REQUEST__INIT;
	req.user = client->user;
	req.patterns = patterns;
	req.n_patterns = 1;
	req.with_status = true;
	n->list_pending = true;
	imap_rpc_call_client(client, client->ctx->index, IMAP_INDEX_LIST,
			     &req.base, list_reply, n->gen);
}

static void wait_user_reply(struct imap_client *client,
			    const struct rpc_reply *reply, uint64_t gen)
{
	if (!notify_current(client, gen))
		return;
	struct imap_notify *n = client->notify;
	n->user_wait_pending = false;
	if (reply->status != STRATUS__STATUS__STATUS_OK) {
		notify_failed(client, "WaitUser", reply);
		return;
	}
	const Stratus__IndexWaitUserReply *r = (const void *)reply->msg;
	if (r->change != n->change) {
		n->change = r->change;
		n->other_dirty = true;
	}
	notify_flush_other(client);
	notify_arm(client);
}

/* ---- the selected mailbox ---- */

static void send_new_atts(struct imap_client *client,
			  const Stratus__IndexWaitReply *r, size_t old_n)
{
	unsigned int atts = client->notify->new_atts;
	struct buf out = BUF_INIT;
	for (size_t s = old_n; atts != 0 && s < client->n_uids; s++) {
		const Stratus__IndexMessage *m = NULL;
		for (size_t i = 0; i < r->n_appended && m == NULL; i++) {
			if (r->appended[i]->uid == client->uids[s])
				m = r->appended[i];
		}
		if (m == NULL)
			continue;
		buf_reset(&out);
		buf_printf(&out, "* %zu FETCH (", s + 1);
		size_t start = out.len;
		if ((atts & IMAP_NOTIFY_ATT_UID) != 0)
			buf_printf(&out, "UID %u ", m->uid);
		if ((atts & IMAP_NOTIFY_ATT_FLAGS) != 0) {
			imap_append_flags(&out, m->flags, m->n_flags,
					  imap_client_is_recent(client,
								m->uid));
			buf_append_c(&out, ' ');
		}
		if ((atts & IMAP_NOTIFY_ATT_INTERNALDATE) != 0) {
			char date[32];
			imap_datetime_format((time_t)m->internal_date, date);
			buf_printf(&out, "INTERNALDATE \"%s\" ", date);
		}
		if ((atts & IMAP_NOTIFY_ATT_SIZE) != 0)
			buf_printf(&out, "RFC822.SIZE %llu ",
				   (unsigned long long)m->virtual_size);
		if ((atts & IMAP_NOTIFY_ATT_MODSEQ) != 0)
			buf_printf(&out, "MODSEQ (%llu) ",
				   (unsigned long long)m->modseq);
		if ((atts & IMAP_NOTIFY_ATT_EMAILID) != 0) {
			buf_append_str(&out, "EMAILID ");
			imap_objectid_append(&out, IMAP_EMAILID_PREFIX,
					     m->guid);
			buf_append_c(&out, ' ');
		}
		if ((atts & IMAP_NOTIFY_ATT_SAVEDATE) != 0) {
			char date[32];
			imap_datetime_format((time_t)m->save_date, date);
			buf_printf(&out, "SAVEDATE \"%s\" ", date);
		}
		if (out.len > start)
			out.data[--out.len] = '\0';
		buf_append_c(&out, ')');
		imap_client_send(client, "%s", out.data);
	}
	buf_free(&out);
}

static void sel_wait_reply(struct imap_client *client,
			   const struct rpc_reply *reply, uint64_t gen)
{
	if (!notify_current(client, gen))
		return;
	struct imap_notify *n = client->notify;
	n->sel_wait_pending = false;
	if (reply->status != STRATUS__STATUS__STATUS_OK) {
		notify_failed(client, "Wait", reply);
		return;
	}
	/* The view moved (a command synced, another mailbox selected) or
	 * moves now: this answer is for an older state. */
	const Stratus__IndexWaitReply *r = (const void *)reply->msg;
	if (client->cmd != NULL || client->state != IMAP_STATE_SELECTED ||
	    client->highest_modseq != n->sel_since_modseq ||
	    client->uidnext != n->sel_since_uidnext) {
		/* What this Wait claimed as \Recent stays this session's
		 * when it is still the same mailbox. */
		for (size_t i = 0; i < r->n_appended; i++) {
			if (r->appended[i]->recent && !client->selected_readonly &&
			    client->state == IMAP_STATE_SELECTED &&
			    client->selected_guid != NULL &&
			    strcmp(client->selected_guid, n->sel_guid) == 0)
				imap_client_claimed_recent(client,
							   r->appended[i]->uid);
		}
		notify_arm(client);
		return;
	}
	unsigned int ev = n->selected_events;
	bool hold = (r->n_expunged > 0 &&
		     (n->selected_delayed ||
		      (ev & IMAP_NOTIFY_MESSAGE_EXPUNGE) == 0)) ||
		(r->n_flag_changes > 0 && (ev & IMAP_NOTIFY_FLAG_CHANGE) == 0) ||
		(r->n_appended > 0 && (ev & IMAP_NOTIFY_MESSAGE_NEW) == 0);
	size_t old_n = client->n_uids;
	if (!hold) {
		if (!imap_sync_apply(client, r))
			return;
	} else {
		/* Only the new messages now, and only if asked for; the
		 * modseq stays, so the next command's sync still reports
		 * the rest. Until then this watcher rests. */
		Stratus__IndexWaitReply part = STRATUS__INDEX_WAIT_REPLY__INIT;
		if ((ev & IMAP_NOTIFY_MESSAGE_NEW) != 0) {
			part.appended = r->appended;
			part.n_appended = r->n_appended;
			part.uidnext = r->uidnext;
		}
		for (size_t i = 0; part.n_appended == 0 &&
		     i < r->n_appended; i++) {
			if (r->appended[i]->recent && !client->selected_readonly)
				imap_client_claimed_recent(client,
							   r->appended[i]->uid);
		}
		if (!imap_sync_apply(client, &part))
			return;
		n->sel_held = true;
	}
	send_new_atts(client, r, old_n);
	notify_arm(client);
}

static void notify_arm_selected(struct imap_client *client)
{
	struct imap_notify *n = client->notify;
	if (!n->has_selected || n->selected_events == 0 || n->sel_held ||
	    n->sel_wait_pending || client->cmd != NULL ||
	    client->state != IMAP_STATE_SELECTED || client->selected == NULL)
		return;
	Stratus__IndexWaitRequest req;
	imap_sync_wait_request(client, &req, NOTIFY_WAIT_MS);
	n->sel_since_modseq = client->highest_modseq;
	n->sel_since_uidnext = client->uidnext;
	snprintf(n->sel_guid, sizeof(n->sel_guid), "%s",
		 client->selected_guid != NULL ? client->selected_guid : "");
	n->sel_wait_pending = true;
	imap_rpc_call_client(client, client->ctx->index, IMAP_INDEX_WAIT,
			     &req.base, sel_wait_reply, n->gen);
}

static void notify_arm(struct imap_client *client)
{
	struct imap_notify *n = client->notify;
	if (n == NULL || client->destroyed || client->disconnecting ||
	    client->state == IMAP_STATE_LOGOUT || n->retry != NULL)
		return;
	if (n->has_other && !n->user_wait_pending) {
		Stratus__IndexWaitUserRequest req =
			STRATUS__INDEX_WAIT_USER_REQUEST__INIT;
		req.user = client->user;
		req.since_change = n->change;
		req.timeout_ms = NOTIFY_WAIT_MS;
		n->user_wait_pending = true;
		imap_rpc_call_client(client, client->ctx->index,
				     IMAP_INDEX_WAIT_USER, &req.base,
				     wait_user_reply, n->gen);
	}
	notify_arm_selected(client);
}

void imap_notify_install(struct imap_client *client, struct imap_notify *n)
{
	uint64_t gen = client->notify != NULL ? client->notify->gen + 1 : 1;
	imap_notify_free(&client->notify);
	client->notify = n;
	if (n == NULL)
		return;
	n->gen = gen;
	notify_arm(client);
}

void imap_notify_command_done(struct imap_client *client)
{
	struct imap_notify *n = client->notify;
	if (n == NULL || !notify_may_send(client))
		return;
	n->sel_held = false;
	if (n->queued.len > 0) {
		imap_client_send_raw(client, n->queued.data, n->queued.len);
		buf_reset(&n->queued);
	}
	notify_flush_other(client);
	notify_arm(client);
}

/* ---- METADATA (told inside svc-imap) ---- */

void imap_notify_metadata_changed(struct imap_client *client,
				  const char *mailbox,
				  const char *const *entries, size_t n_entries)
{
	bool server = mailbox[0] == '\0';
	for (struct imap_client *c = client->ctx->clients; c != NULL;
	     c = c->next) {
		struct imap_notify *n = c->notify;
		if (c == client || n == NULL || c->destroyed ||
		    c->user == NULL || strcmp(c->user, client->user) != 0)
			continue;
		unsigned int want = 0;
		if (server) {
			for (size_t i = 0; i < n->n_groups; i++)
				want |= n->groups[i].events;
			want &= IMAP_NOTIFY_SERVER_METADATA;
		} else {
			want = events_for(n, mailbox, false) &
				IMAP_NOTIFY_MAILBOX_METADATA;
		}
		if (want == 0)
			continue;
		/* RFC 5464 4.4.2: the entries' names, no values. */
		struct buf line = BUF_INIT;
		buf_append_str(&line, "* METADATA ");
		if (server)
			buf_append_str(&line, "\"\"");
		else
			imap_append_mailbox(c, &line, mailbox);
		for (size_t i = 0; i < n_entries; i++) {
			buf_append_c(&line, ' ');
			imap_append_astring(&line, entries[i]);
		}
		if (notify_may_send(c)) {
			imap_client_send(c, "%s", line.data);
		} else {
			buf_append(&n->queued, line.data, line.len);
			buf_append_str(&n->queued, "\r\n");
		}
		buf_free(&line);
	}
}
