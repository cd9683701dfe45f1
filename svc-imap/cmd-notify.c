/* NOTIFY SET [STATUS] (filter events) ... / NOTIFY NONE (RFC 5465 3.1):
 * the event groups are parsed and checked in full before anything
 * changes; with groups for other mailboxes their current state is read
 * first (and told as STATUS with the STATUS option), so later changes
 * are differences from it. The watching is imap-notify.c's. */
#include "imap-index.h"
#include "imap-notify.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define NOTIFY_MAX_GROUPS 64
#define NOTIFY_MAX_NAMES 256
#define NOTIFY_BADEVENT "NO [BADEVENT (MessageNew MessageExpunge " \
	"FlagChange MailboxName SubscriptionChange MailboxMetadataChange " \
	"ServerMetadataChange)]"

static const struct {
	const char *name;
	unsigned int bit;
} notify_events[] = {
	{ "MessageNew", IMAP_NOTIFY_MESSAGE_NEW },
	{ "MessageExpunge", IMAP_NOTIFY_MESSAGE_EXPUNGE },
	{ "FlagChange", IMAP_NOTIFY_FLAG_CHANGE },
	{ "MailboxName", IMAP_NOTIFY_MAILBOX_NAME },
	{ "SubscriptionChange", IMAP_NOTIFY_SUBSCRIPTION },
	{ "MailboxMetadataChange", IMAP_NOTIFY_MAILBOX_METADATA },
	{ "ServerMetadataChange", IMAP_NOTIFY_SERVER_METADATA },
};

static const struct {
	const char *name;
	unsigned int bit;
} notify_atts[] = {
	{ "UID", IMAP_NOTIFY_ATT_UID },
	{ "FLAGS", IMAP_NOTIFY_ATT_FLAGS },
	{ "INTERNALDATE", IMAP_NOTIFY_ATT_INTERNALDATE },
	{ "RFC822.SIZE", IMAP_NOTIFY_ATT_SIZE },
	{ "MODSEQ", IMAP_NOTIFY_ATT_MODSEQ },
	{ "EMAILID", IMAP_NOTIFY_ATT_EMAILID },
	{ "SAVEDATE", IMAP_NOTIFY_ATT_SAVEDATE },
};

static bool is_atom(const struct imap_arg *a)
{
	return a->type == IMAP_ARG_ATOM;
}

/* Returns 0, or -1 with a reply sent. */
static int parse_atts(struct imap_cmd *cmd, const struct imap_arg *list,
		      unsigned int *atts_r)
{
	for (size_t i = 0; i < list->list_count; i++) {
		const struct imap_arg *a = &list->list[i];
		size_t k = 0;
		while (k < sizeof(notify_atts) / sizeof(notify_atts[0]) &&
		       !(is_atom(a) && strcasecmp(a->str,
						   notify_atts[k].name) == 0))
			k++;
		if (k == sizeof(notify_atts) / sizeof(notify_atts[0])) {
			imap_cmd_reply(cmd, "NO", "MessageNew fetch attributes "
				       "other than UID FLAGS INTERNALDATE "
				       "RFC822.SIZE MODSEQ EMAILID SAVEDATE "
				       "are not supported.");
			return -1;
		}
		*atts_r |= notify_atts[k].bit;
	}
	return 0;
}

static int parse_events(struct imap_cmd *cmd, struct imap_notify *n,
			struct imap_notify_group *g, const struct imap_arg *a)
{
	bool selected = g->filter == IMAP_NOTIFY_SELECTED ||
		g->filter == IMAP_NOTIFY_SELECTED_DELAYED;
	if (is_atom(a) && strcasecmp(a->str, "NONE") == 0)
		return 0;
	if (a->type != IMAP_ARG_LIST || a->list_count == 0) {
		imap_cmd_bad(cmd, "Invalid events.");
		return -1;
	}
	for (size_t i = 0; i < a->list_count; i++) {
		const struct imap_arg *e = &a->list[i];
		size_t k = 0;
		while (k < sizeof(notify_events) / sizeof(notify_events[0]) &&
		       !(is_atom(e) && strcasecmp(e->str,
						   notify_events[k].name) == 0))
			k++;
		if (k == sizeof(notify_events) / sizeof(notify_events[0])) {
			imap_cmd_reply(cmd, NOTIFY_BADEVENT, "Unsupported "
				       "event.");
			return -1;
		}
		g->events |= notify_events[k].bit;
		if (notify_events[k].bit == IMAP_NOTIFY_MESSAGE_NEW &&
		    i + 1 < a->list_count &&
		    a->list[i + 1].type == IMAP_ARG_LIST) {
			if (!selected) {
				imap_cmd_bad(cmd, "MessageNew fetch attributes "
					     "only for the selected mailbox.");
				return -1;
			}
			if (parse_atts(cmd, &a->list[++i], &n->new_atts) < 0)
				return -1;
		}
	}
	/* RFC 5465 5: MessageNew and MessageExpunge go together, and
	 * FlagChange needs both; selected takes message events only. */
	unsigned int msg = g->events & (IMAP_NOTIFY_MESSAGE_NEW |
					IMAP_NOTIFY_MESSAGE_EXPUNGE);
	if ((msg != 0 && msg != (IMAP_NOTIFY_MESSAGE_NEW |
				 IMAP_NOTIFY_MESSAGE_EXPUNGE)) ||
	    ((g->events & IMAP_NOTIFY_FLAG_CHANGE) != 0 && msg == 0)) {
		imap_cmd_bad(cmd, "MessageNew and MessageExpunge must be "
			     "given together (and with FlagChange).");
		return -1;
	}
	if (selected && (g->events & ~IMAP_NOTIFY_MESSAGE_EVENTS) != 0) {
		imap_cmd_bad(cmd, "Only message events for the selected "
			     "mailbox.");
		return -1;
	}
	return 0;
}

static int parse_names(struct imap_cmd *cmd, struct imap_notify_group *g,
		       const struct imap_arg *a)
{
	const struct imap_arg *list = a->type == IMAP_ARG_LIST ? a->list : a;
	size_t count = a->type == IMAP_ARG_LIST ? a->list_count : 1;
	if (count == 0 || count > NOTIFY_MAX_NAMES) {
		imap_cmd_bad(cmd, "Invalid mailbox list.");
		return -1;
	}
	g->names = xcalloc(count, sizeof(char *));
	for (size_t i = 0; i < count; i++) {
		if (list[i].type == IMAP_ARG_LIST ||
		    list[i].type == IMAP_ARG_NIL) {
			imap_cmd_bad(cmd, "Invalid mailbox name.");
			return -1;
		}
		const char *name = imap_mailbox_arg(cmd, &list[i], true);
		if (name == NULL)
			return -1;
		g->names[g->n_names++] = xstrdup(name);
	}
	return 0;
}

static int parse_group(struct imap_cmd *cmd, struct imap_notify *n,
		       const struct imap_arg *a)
{
	static const struct {
		const char *name;
		enum imap_notify_filter filter;
	} filters[] = {
		{ "selected", IMAP_NOTIFY_SELECTED },
		{ "selected-delayed", IMAP_NOTIFY_SELECTED_DELAYED },
		{ "inboxes", IMAP_NOTIFY_INBOXES },
		{ "personal", IMAP_NOTIFY_PERSONAL },
		{ "subscribed", IMAP_NOTIFY_SUBSCRIBED },
		{ "subtree", IMAP_NOTIFY_SUBTREE },
		{ "mailboxes", IMAP_NOTIFY_MAILBOXES },
	};
	if (a->type != IMAP_ARG_LIST || a->list_count < 2 ||
	    !is_atom(&a->list[0])) {
		imap_cmd_bad(cmd, "Invalid event group.");
		return -1;
	}
	size_t k = 0;
	while (k < sizeof(filters) / sizeof(filters[0]) &&
	       strcasecmp(a->list[0].str, filters[k].name) != 0)
		k++;
	if (k == sizeof(filters) / sizeof(filters[0])) {
		imap_cmd_bad(cmd, "Unknown mailbox filter.");
		return -1;
	}
	struct imap_notify_group *g = &n->groups[n->n_groups++];
	g->filter = filters[k].filter;
	size_t next = 1;
	if (g->filter == IMAP_NOTIFY_SUBTREE ||
	    g->filter == IMAP_NOTIFY_MAILBOXES) {
		if (a->list_count != 3 || parse_names(cmd, g, &a->list[1]) < 0) {
			if (a->list_count != 3)
				imap_cmd_bad(cmd, "Invalid event group.");
			return -1;
		}
		next = 2;
	} else if (a->list_count != 2) {
		imap_cmd_bad(cmd, "Invalid event group.");
		return -1;
	}
	if (parse_events(cmd, n, g, &a->list[next]) < 0)
		return -1;
	if (g->filter == IMAP_NOTIFY_SELECTED ||
	    g->filter == IMAP_NOTIFY_SELECTED_DELAYED) {
		if (n->has_selected) {
			imap_cmd_bad(cmd, "The selected mailbox given twice.");
			return -1;
		}
		n->has_selected = true;
		n->selected_delayed =
			g->filter == IMAP_NOTIFY_SELECTED_DELAYED;
		n->selected_events = g->events;
	} else if (g->events != 0) {
		n->has_other = true;
	}
	return 0;
}

struct notify_set {
	struct imap_notify *n;
	bool status;
};

static void notify_set_free(void *p)
{
	struct notify_set *s = p;
	imap_notify_free(&s->n);
	free(s);
}

static void notify_list_reply(struct imap_cmd *cmd,
			      const struct rpc_reply *reply)
{
	struct notify_set *s = cmd->ctx;
	struct imap_client *client = cmd->client;
	if (reply->status != STRATUS__STATUS__STATUS_OK) {
		imap_index_fail(cmd, reply, NULL);
		return;
	}
	struct imap_notify *n = s->n;
	s->n = NULL;
	imap_notify_snapshot(n, (const Stratus__IndexListReply *)reply->msg);
	if (s->status) {
		for (size_t i = 0; i < n->n_boxes; i++) {
			const struct imap_notify_box *b = &n->boxes[i];
			const struct imap_notify_group *g =
				imap_notify_group_for(n, b->name,
						      b->subscribed);
			bool selected = client->state == IMAP_STATE_SELECTED &&
				client->selected_guid != NULL &&
				strcmp(client->selected_guid, b->guid) == 0;
			if (g != NULL && !selected &&
			    (g->events & IMAP_NOTIFY_MESSAGE_NEW) != 0)
				imap_notify_send_status(client, b);
		}
	}
	imap_notify_install(client, n);
	imap_cmd_reply(cmd, "OK", "NOTIFY completed.");
	imap_cmd_done(cmd);
}

bool cmd_notify(struct imap_cmd *cmd)
{
	const struct imap_command *c = &cmd->c;
	if (c->n_args == 1 && imap_arg_atom_equals(&c->args[0], "NONE")) {
		imap_notify_install(cmd->client, NULL);
		imap_cmd_reply(cmd, "OK", "NOTIFY completed.");
		return true;
	}
	if (c->n_args < 2 || !imap_arg_atom_equals(&c->args[0], "SET")) {
		imap_cmd_bad(cmd, "Expected SET or NONE.");
		return true;
	}
	size_t first = 1;
	struct notify_set *s = xcalloc(1, sizeof(*s));
	cmd->ctx = s;
	cmd->ctx_free = notify_set_free;
	if (imap_arg_atom_equals(&c->args[1], "STATUS")) {
		s->status = true;
		first = 2;
	}
	if (first >= c->n_args || c->n_args - first > NOTIFY_MAX_GROUPS) {
		imap_cmd_bad(cmd, "Expected event groups.");
		return true;
	}
	s->n = xcalloc(1, sizeof(*s->n));
	s->n->sep = '/';
	s->n->groups = xcalloc(c->n_args - first, sizeof(*s->n->groups));
	for (size_t i = first; i < c->n_args; i++) {
		if (parse_group(cmd, s->n, &c->args[i]) < 0)
			return true;
	}
	if (!s->n->has_other) {
		struct imap_notify *n = s->n;
		s->n = NULL;
		imap_notify_install(cmd->client, n);
		imap_cmd_reply(cmd, "OK", "NOTIFY completed.");
		return true;
	}
	char *patterns[] = { (char *)"*" };
	Stratus__IndexListRequest req = STRATUS__INDEX_LIST_REQUEST__INIT;
	req.user = cmd->client->user;
	req.patterns = patterns;
	req.n_patterns = 1;
	req.with_status = true;
	imap_index_call(cmd, IMAP_INDEX_LIST, &req.base, notify_list_reply);
	return false;
}
