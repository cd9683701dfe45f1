/* svc-index: the pure half of a rebuild (see index-rebuild.h): merge
 * the objects and markers found in storage into a user's state. No I/O;
 * unit-tested in test-index-rebuild.c. */
#include "index-rebuild.h"
#include "buf.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int index_rebuild_key_kind(const char *key, char guid_r[INDEX_GUID_LEN + 1])
{
	if (strlen(key) < INDEX_GUID_LEN + 2 || key[INDEX_GUID_LEN] != '/')
		return 0;
	for (size_t i = 0; i < INDEX_GUID_LEN; i++) {
		if (!isxdigit((unsigned char)key[i]))
			return 0;
	}
	const char *rest = key + INDEX_GUID_LEN + 1;
	if (strchr(rest, '/') != NULL)
		return 0;
	memcpy(guid_r, key, INDEX_GUID_LEN);
	guid_r[INDEX_GUID_LEN] = '\0';
	if (strcmp(rest, INDEX_MARKER_KEY_NAME) == 0)
		return 2;
	return rest[0] == '.' ? 0 : 1;
}

static int index_cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool index_sorted_has(char **arr, size_t n, const char *s)
{
	return n > 0 && bsearch(&s, arr, n, sizeof(*arr),
				index_cmp_strp) != NULL;
}

static Stratus__Indexfile__Mailbox *
index_rb_find_guid(const Stratus__Indexfile__State *st, const char *guid)
{
	for (size_t i = 0; i < st->n_mailboxes; i++) {
		if (strcasecmp(st->mailboxes[i]->guid, guid) == 0)
			return st->mailboxes[i];
	}
	return NULL;
}

static bool index_rb_name_taken(const Stratus__Indexfile__State *st,
				const char *name)
{
	for (size_t i = 0; i < st->n_mailboxes; i++) {
		if (strcmp(st->mailboxes[i]->name, name) == 0)
			return true;
	}
	return false;
}

static Stratus__Indexfile__Mailbox *
index_rb_add_box(Stratus__Indexfile__State *st, const char *name,
		 const char *guid, struct index_user *user, uint32_t floor,
		 const struct index_marker *m)
{
	Stratus__Indexfile__Mailbox *mb = xcalloc(1, sizeof(*mb));
	stratus__indexfile__mailbox__init(mb);
	mb->name = xstrdup(name);
	mb->guid = xstrdup(guid);
	/* UIDs are assigned anew: the UIDVALIDITY must change so that
	 * clients drop what they cached under the old one. */
	if (floor > user->last_uidvalidity)
		user->last_uidvalidity = floor;
	mb->uidvalidity = index_user_new_uidvalidity(user);
	mb->uidnext = 1;
	mb->highest_modseq = 1;
	mb->first_recent_uid = 1;
	if (m != NULL && m->n_special_use > 0) {
		mb->special_use = xcalloc(m->n_special_use, sizeof(char *));
		for (size_t i = 0; i < m->n_special_use; i++)
			mb->special_use[i] = xstrdup(m->special_use[i]);
		mb->n_special_use = m->n_special_use;
	}
	st->mailboxes = xreallocarray(st->mailboxes, st->n_mailboxes + 1,
				      sizeof(*st->mailboxes));
	st->mailboxes[st->n_mailboxes++] = mb;
	return mb;
}

/* A free name for a mailbox whose own name is taken or unknown. */
static char *index_rb_free_name(const Stratus__Indexfile__State *st,
				const char *want, const char *guid, char sep)
{
	char *name = want != NULL ? xstrdup(want) :
		xasprintf("Recovered%c%s", sep, guid);
	if (!index_rb_name_taken(st, name))
		return name;
	free(name);
	name = xasprintf("%s-%.8s", want != NULL ? want : "Recovered", guid);
	if (!index_rb_name_taken(st, name))
		return name;
	free(name);
	return xasprintf("Recovered%c%s", sep, guid);
}

static void index_rb_tombstone(Stratus__Indexfile__Mailbox *mb, uint32_t uid)
{
	mb->highest_modseq++;
	if (mb->n_expunged >= INDEX_MAX_TOMBSTONES) {
		/* Too much history: Waits from before now answer resync. */
		for (size_t i = 0; i < mb->n_expunged; i++)
			stratus__indexfile__tombstone__free_unpacked(
				mb->expunged[i], NULL);
		mb->n_expunged = 0;
		mb->tombstone_floor = mb->highest_modseq;
		return;
	}
	Stratus__Indexfile__Tombstone *t = xcalloc(1, sizeof(*t));
	stratus__indexfile__tombstone__init(t);
	t->uid = uid;
	t->modseq = mb->highest_modseq;
	mb->expunged = xreallocarray(mb->expunged, mb->n_expunged + 1,
				     sizeof(*mb->expunged));
	mb->expunged[mb->n_expunged++] = t;
}

/* Keeps the records whose message has an object; expunges the rest. */
static void index_rb_filter_box(Stratus__Indexfile__Mailbox *mb,
				char **present, size_t n_present,
				struct index_rebuild_stats *stats)
{
	size_t out = 0;
	for (size_t i = 0; i < mb->n_records; i++) {
		Stratus__Indexfile__Record *r = mb->records[i];
		if (r->guid[0] == '\0' ||
		    index_sorted_has(present, n_present, r->guid)) {
			mb->records[out++] = r;
			continue;
		}
		index_rb_tombstone(mb, r->uid);
		stratus__indexfile__record__free_unpacked(r, NULL);
		stats->dropped++;
	}
	mb->n_records = out;
}

static int index_rb_cmp_msg(const void *a, const void *b)
{
	const struct index_rebuild_msg *x = *(const void *const *)a;
	const struct index_rebuild_msg *y = *(const void *const *)b;
	int c = strcasecmp(x->box_guid, y->box_guid);
	if (c != 0)
		return c;
	if (x->save_date != y->save_date)
		return x->save_date < y->save_date ? -1 : 1;
	if (x->received_date != y->received_date)
		return x->received_date < y->received_date ? -1 : 1;
	return strcmp(x->key, y->key);
}

static void index_rb_append(Stratus__Indexfile__Mailbox *mb,
			    const struct index_rebuild_msg *m)
{
	Stratus__Indexfile__Record *r = xcalloc(1, sizeof(*r));
	stratus__indexfile__record__init(r);
	r->uid = mb->uidnext++;
	r->guid = xstrdup(m->message_guid);
	r->object_id = xstrdup(m->object_id != NULL ? m->object_id : m->key);
	r->modseq = ++mb->highest_modseq;
	r->save_date = m->save_date != 0 ? m->save_date : m->received_date;
	r->internal_date = m->received_date != 0 ? m->received_date :
		m->save_date;
	r->psize = m->psize;
	/* Without the stored CRLF size the physical one is the best
	 * guess (RFC822.SIZE of a CRLF message is its physical size). */
	r->vsize = m->vsize != 0 ? m->vsize : m->psize;
	mb->records = xreallocarray(mb->records, mb->n_records + 1,
				    sizeof(*mb->records));
	mb->records[mb->n_records++] = r;
}

static int index_rb_cmp_box(const void *a, const void *b)
{
	const struct index_rebuild_box *x = a, *y = b;
	return strcmp(x->marker.name != NULL ? x->marker.name : "",
		      y->marker.name != NULL ? y->marker.name : "");
}

static void index_rb_add_guid(char ***list, size_t *n, const char *guid)
{
	*list = xreallocarray(*list, *n + 2, sizeof(char *));
	(*list)[(*n)++] = xstrdup(guid);
	(*list)[*n] = NULL;
}

char **index_rebuild_merge(Stratus__Indexfile__State *st,
			   struct index_rebuild_msg *msgs, size_t n_msgs,
			   struct index_rebuild_box *boxes, size_t n_boxes,
			   struct index_user *user,
			   struct index_rebuild_stats *stats_r)
{
	char sep = user->svc != NULL ? user->svc->set.sep : '/';
	char **created = xcalloc(1, sizeof(char *));
	size_t n_created = 0;
	memset(stats_r, 0, sizeof(*stats_r));
	/* The messages present in storage and those the index knows. */
	char **present = xcalloc(n_msgs + 1, sizeof(char *));
	size_t n_present = 0;
	for (size_t i = 0; i < n_msgs; i++) {
		if (msgs[i].found)
			present[n_present++] = msgs[i].message_guid;
	}
	qsort(present, n_present, sizeof(char *), index_cmp_strp);
	size_t n_known = 0;
	for (size_t i = 0; i < st->n_mailboxes; i++)
		n_known += st->mailboxes[i]->n_records;
	char **known = xcalloc(n_known + 1, sizeof(char *));
	n_known = 0;
	for (size_t i = 0; i < st->n_mailboxes; i++) {
		Stratus__Indexfile__Mailbox *mb = st->mailboxes[i];
		index_rb_filter_box(mb, present, n_present, stats_r);
		for (size_t j = 0; j < mb->n_records; j++)
			known[n_known++] = mb->records[j]->guid;
	}
	qsort(known, n_known, sizeof(char *), index_cmp_strp);

	/* Mailboxes the index lost, named by their markers. */
	if (n_boxes > 0)
		qsort(boxes, n_boxes, sizeof(*boxes), index_rb_cmp_box);
	for (size_t i = 0; i < n_boxes; i++) {
		struct index_rebuild_box *b = &boxes[i];
		if (!b->found || index_rb_find_guid(st, b->guid) != NULL)
			continue;
		char *name = index_rb_free_name(st, b->marker.name, b->guid,
						sep);
		index_rb_add_box(st, name, b->guid, user,
				 b->marker.uidvalidity, &b->marker);
		free(name);
		index_rb_add_guid(&created, &n_created, b->guid);
		stats_r->boxes_created++;
	}

	/* Objects the index does not know, in save order per mailbox. */
	struct index_rebuild_msg **add = xcalloc(n_msgs + 1, sizeof(*add));
	size_t n_add = 0;
	for (size_t i = 0; i < n_msgs; i++) {
		if (msgs[i].found &&
		    !index_sorted_has(known, n_known, msgs[i].message_guid))
			add[n_add++] = &msgs[i];
	}
	qsort(add, n_add, sizeof(*add), index_rb_cmp_msg);
	Stratus__Indexfile__Mailbox *mb = NULL;
	for (size_t i = 0; i < n_add; i++) {
		if (mb == NULL || strcasecmp(mb->guid, add[i]->box_guid) != 0) {
			mb = index_rb_find_guid(st, add[i]->box_guid);
			if (mb == NULL) {
				char *name = index_rb_free_name(
					st, NULL, add[i]->box_guid, sep);
				mb = index_rb_add_box(st, name,
						      add[i]->box_guid, user,
						      0, NULL);
				free(name);
				index_rb_add_guid(&created, &n_created,
						  add[i]->box_guid);
				stats_r->boxes_created++;
			}
		}
		index_rb_append(mb, add[i]);
		stats_r->added++;
	}
	for (size_t i = 0; i < st->n_mailboxes; i++)
		stats_r->messages += st->mailboxes[i]->n_records;
	if (user->last_uidvalidity > st->last_uidvalidity)
		st->last_uidvalidity = user->last_uidvalidity;
	free(add);
	free(known);
	free(present);
	return created;
}
