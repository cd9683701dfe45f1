/* svc-index: the mailbox list view: LIST/LSUB pattern matching with
 * \HasChildren/\HasNoChildren, \NonExistent parents and subscriptions,
 * special-use selection, and the namespace's auto=create|subscribe
 * mailboxes created on a user's first access. */
#include "index-list.h"
#include "index-mailbox.h"
#include "buf.h"

#include <stdlib.h>
#include <string.h>

int index_user_autocreate(struct index_user *user, const char **error_r)
{
	const struct index_settings *set = &user->svc->set;
	if (index_user_find_box(user, "INBOX") == NULL &&
	    index_mailbox_create(user, "INBOX", NULL, 0, NULL, error_r) != 0)
		return -1;
	for (size_t i = 0; i < set->n_autoboxes; i++) {
		const struct index_autobox *ab = &set->autoboxes[i];
		if (index_user_find_box(user, ab->name) == NULL &&
		    index_mailbox_create(user, ab->name, ab->special_use,
					 ab->n_special_use, NULL,
					 error_r) != 0)
			return -1;
		if (ab->subscribe &&
		    index_mailbox_subscribe(user, ab->name, true, error_r) != 0)
			return -1;
	}
	return 0;
}

static bool index_is_subscribed(const struct index_user *user,
				const char *name)
{
	for (size_t i = 0; i < user->n_subs; i++) {
		if (strcmp(user->subs[i], name) == 0)
			return true;
	}
	return false;
}

static bool index_list_matches(const Stratus__IndexListRequest *req,
			       const char *name, char sep)
{
	if (req->n_patterns == 0)
		return index_pattern_match("*", name, sep);
	for (size_t i = 0; i < req->n_patterns; i++) {
		if (index_pattern_match(req->patterns[i], name, sep))
			return true;
	}
	return false;
}

/* Whether any mailbox (or, for LSUB, subscription) lies below name. */
static bool index_name_has_children(const struct index_user *user,
				    const char *name, bool subs)
{
	size_t len = strlen(name);
	char sep = user->svc->set.sep;
	size_t n = subs ? user->n_subs : user->n_boxes;
	for (size_t i = 0; i < n; i++) {
		const char *b = subs ? user->subs[i] : user->boxes[i]->name;
		if (strncmp(b, name, len) == 0 && b[len] == sep)
			return true;
	}
	return false;
}

struct index_list_builder {
	Stratus__IndexListReply *reply;
	size_t cap;
	char **seen;	/* names already emitted */
	size_t n_seen;
};

static bool index_list_seen(struct index_list_builder *b, const char *name)
{
	for (size_t i = 0; i < b->n_seen; i++) {
		if (strcmp(b->seen[i], name) == 0)
			return true;
	}
	return false;
}

static Stratus__IndexListEntry *index_list_add(struct index_list_builder *b,
					       const char *name)
{
	if (b->reply->n_entries == b->cap) {
		b->cap = b->cap == 0 ? 16 : b->cap * 2;
		b->reply->entries = xreallocarray(b->reply->entries, b->cap,
						  sizeof(*b->reply->entries));
		b->seen = xreallocarray(b->seen, b->cap, sizeof(*b->seen));
	}
	Stratus__IndexListEntry *e = xcalloc(1, sizeof(*e));
	stratus__index_list_entry__init(e);
	e->name = xstrdup(name);
	b->seen[b->n_seen++] = e->name;
	b->reply->entries[b->reply->n_entries++] = e;
	return e;
}

static void index_list_box(struct index_user *user,
			   struct index_list_builder *b,
			   const Stratus__IndexListRequest *req,
			   struct index_mailbox *box)
{
	Stratus__IndexListEntry *e = index_list_add(b, box->name);
	e->guid = box->guid;
	e->special_use = box->special_use;
	e->n_special_use = box->n_special_use;
	e->subscribed = index_is_subscribed(user, box->name);
	e->has_children = index_name_has_children(user, box->name, false);
	if (req->with_status) {
		e->status = xcalloc(1, sizeof(*e->status));
		index_status_fill(box, e->status);
	}
}

/* A name that is not a mailbox but matches: a subscription to a missing
 * mailbox, or a parent level of existing mailboxes (for '%'). */
static void index_list_virtual(struct index_user *user,
			       struct index_list_builder *b, const char *name,
			       bool subscribed)
{
	if (index_list_seen(b, name))
		return;
	Stratus__IndexListEntry *e = index_list_add(b, name);
	e->guid = (char *)"";
	e->nonexistent = true;
	e->subscribed = subscribed;
	e->has_children = index_name_has_children(user, name, false);
}

/* Parents of `name` that match a pattern where `name` itself does not
 * ("a/b" exists, LIST "" "%" shows "a" as \NonExistent \HasChildren). */
static void index_list_parents(struct index_user *user,
			       struct index_list_builder *b,
			       const Stratus__IndexListRequest *req,
			       const char *name, bool subscribed_only)
{
	char sep = user->svc->set.sep;
	char *copy = xstrdup(name);
	for (char *p = strrchr(copy, sep); p != NULL; p = strrchr(copy, sep)) {
		*p = '\0';
		if (index_user_find_box(user, copy) != NULL)
			continue;
		/* LSUB shows unsubscribed parents as \Noselect too. */
		(void)subscribed_only;
		if (index_list_matches(req, copy, sep))
			index_list_virtual(user, b, copy,
					   index_is_subscribed(user, copy));
	}
	free(copy);
}

void index_list_build(struct index_user *user,
		      const Stratus__IndexListRequest *req,
		      Stratus__IndexListReply *reply)
{
	char sep = user->svc->set.sep;
	struct index_list_builder b = { .reply = reply };
	if (req->subscribed_only) {
		for (size_t i = 0; i < user->n_subs; i++) {
			const char *name = user->subs[i];
			struct index_mailbox *box =
				index_user_find_box(user, name);
			if (!index_list_matches(req, name, sep)) {
				index_list_parents(user, &b, req, name, true);
				continue;
			}
			if (req->special_use_only &&
			    (box == NULL || box->n_special_use == 0))
				continue;
			if (box != NULL)
				index_list_box(user, &b, req, box);
			else
				index_list_virtual(user, &b, name, true);
		}
	} else {
		for (size_t i = 0; i < user->n_boxes; i++) {
			struct index_mailbox *box = user->boxes[i];
			if (!index_list_matches(req, box->name, sep)) {
				if (!req->special_use_only)
					index_list_parents(user, &b, req,
							   box->name, false);
				continue;
			}
			if (req->special_use_only && box->n_special_use == 0)
				continue;
			index_list_box(user, &b, req, box);
		}
	}
	free(b.seen);
	reply->separator = xstrndup(&sep, 1);
}

void index_list_reply_clear(Stratus__IndexListReply *reply)
{
	for (size_t i = 0; i < reply->n_entries; i++) {
		free(reply->entries[i]->name);
		free(reply->entries[i]->status);
		free(reply->entries[i]);
	}
	free(reply->entries);
	free(reply->separator);
}
