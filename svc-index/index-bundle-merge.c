/* svc-index: merging this backend's state of a user into a newer bundle
 * that another backend published (a fleet, README "Fleet"). Called when
 * an upload lost its generation (index-bundle.c) and when a refresh or a
 * load finds a newer bundle while local changes were not uploaded yet.
 *
 * The bundle is the base and keeps its UIDs, flags and expunges. On top
 * of it go the local changes made since the bundle both sides started
 * from, which each mailbox remembers as base_uidnext/base_modseq:
 * - a message saved locally (uid >= base_uidnext) keeps its UID when the
 *   bundle never gave it out (>= its uidnext), else gets a new one after
 *   the bundle's, so no UID collides with the winner's;
 * - a flag change made locally (modseq > base_modseq) is applied to the
 *   bundle's record with a new modseq;
 * - a base message expunged locally is expunged (with a tombstone);
 * - a mailbox created locally is added (by name into the bundle's when
 *   both created it, e.g. both auto-created INBOX for a new user).
 * When the base is unknown (0, e.g. a restart with changes not uploaded,
 * against this backend's own older upload) nothing local is dropped:
 * every local message the bundle does not hold under the same UID and
 * GUID is added, the newer modseq's flags win, and a bundle record is
 * expunged only when a local tombstone is newer than it.
 * Mail objects are keyed by GUIDs, never by UID, so new UIDs need no
 * object to move. */
#include "index-bundle.h"
#include "index-notify.h"
#include "buf.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>

static struct index_record *index_merge_push(struct index_mailbox *box)
{
	if (box->n_recs == box->cap_recs) {
		box->cap_recs = box->cap_recs < 16 ? 16 : box->cap_recs * 2;
		box->recs = xreallocarray(box->recs, box->cap_recs,
					  sizeof(*box->recs));
	}
	struct index_record *rec = &box->recs[box->n_recs++];
	memset(rec, 0, sizeof(*rec));
	return rec;
}

static void index_merge_tombstone(struct index_mailbox *box, uint32_t uid,
				  uint64_t modseq)
{
	if (box->n_tombs >= INDEX_MAX_TOMBSTONES)
		return;		/* a Wait from before then resyncs anyway */
	if (box->n_tombs == box->cap_tombs) {
		box->cap_tombs = box->cap_tombs < 16 ? 16 : box->cap_tombs * 2;
		box->tombs = xreallocarray(box->tombs, box->cap_tombs,
					   sizeof(*box->tombs));
	}
	box->tombs[box->n_tombs].uid = uid;
	box->tombs[box->n_tombs++].modseq = modseq;
}

/* rec's flags (keywords by name from `from`'s table) in `to`'s terms. */
static void index_merge_flags(struct index_mailbox *to,
			      const struct index_mailbox *from,
			      const struct index_record *rec, uint8_t *sys_r,
			      uint64_t *kw_r)
{
	size_t n;
	const char *error;
	const char **names = index_flags_names(from, rec->sysflags,
					       rec->keywords, &n);
	if (index_flags_parse(to, (char *const *)names, n, true, sys_r, kw_r,
			      &error) < 0) {
		/* a full keyword table: the system flags still count */
		*sys_r = rec->sysflags;
		*kw_r = 0;
	}
	free(names);
}

/* Adds the local record to the bundle's mailbox with a new UID, taking
 * its strings (rec is left empty). */
static void index_merge_add(struct index_mailbox *tb,
			    struct index_mailbox *lb, struct index_record *rec)
{
	uint8_t sys;
	uint64_t kw;
	index_merge_flags(tb, lb, rec, &sys, &kw);
	struct index_record *added = index_merge_push(tb);
	*added = *rec;
	memset(rec, 0, sizeof(*rec));
	added->uid = tb->uidnext++;
	added->sysflags = sys;
	added->keywords = kw;
	added->modseq = ++tb->highest_modseq;
}

static bool index_merge_same(const struct index_record *a,
			     const struct index_record *b)
{
	return a->guid != NULL && b->guid != NULL &&
		strcmp(a->guid, b->guid) == 0;
}

/* Base messages the local side expunged leave the bundle's mailbox. */
static void index_merge_expunges(struct index_mailbox *tb,
				 const struct index_mailbox *lb)
{
	size_t keep = 0;
	for (size_t i = 0; i < tb->n_recs; i++) {
		struct index_record *rec = &tb->recs[i];
		if (rec->uid < lb->base_uidnext &&
		    index_mailbox_find_uid(lb, rec->uid) < 0) {
			index_merge_tombstone(tb, rec->uid,
					      ++tb->highest_modseq);
			index_record_clear(rec);
			continue;
		}
		tb->recs[keep++] = *rec;
	}
	tb->n_recs = keep;
}

/* The local tombstone of uid, or NULL. */
static const struct index_tombstone *
index_merge_find_tomb(const struct index_mailbox *box, uint32_t uid)
{
	for (size_t i = box->n_tombs; i > 0; i--) {
		if (box->tombs[i - 1].uid == uid)
			return &box->tombs[i - 1];
	}
	return NULL;
}

/* Without a known base: a bundle record the local side expunged later
 * than the bundle last changed it (the usual case, an older upload of
 * this same backend after a restart) is expunged. */
static void index_merge_tomb_expunges(struct index_mailbox *tb,
				      const struct index_mailbox *lb)
{
	size_t keep = 0;
	for (size_t i = 0; i < tb->n_recs; i++) {
		struct index_record *rec = &tb->recs[i];
		const struct index_tombstone *t;
		if (index_mailbox_find_uid(lb, rec->uid) < 0 &&
		    (t = index_merge_find_tomb(lb, rec->uid)) != NULL &&
		    t->modseq > rec->modseq) {
			index_merge_tombstone(tb, rec->uid,
					      ++tb->highest_modseq);
			index_record_clear(rec);
			continue;
		}
		tb->recs[keep++] = *rec;
	}
	tb->n_recs = keep;
}

/* A local record the bundle lacks: kept under its UID when the bundle
 * never gave that UID out (at or above its uidnext), else added with a
 * new one. Two passes keep the records in ascending UID order. */
static void index_merge_add_missing(struct index_mailbox *tb,
				    struct index_mailbox *lb, bool *missing,
				    unsigned int *added_r)
{
	uint32_t first_free = tb->uidnext;
	for (size_t i = 0; i < lb->n_recs; i++) {
		struct index_record *rec = &lb->recs[i];
		if (!missing[i] || rec->uid < first_free)
			continue;
		uint32_t uid = rec->uid;
		index_merge_add(tb, lb, rec);
		tb->recs[tb->n_recs - 1].uid = uid;
		tb->uidnext = uid + 1;
		missing[i] = false;
		(*added_r)++;
	}
	for (size_t i = 0; i < lb->n_recs; i++) {
		if (!missing[i])
			continue;
		index_merge_add(tb, lb, &lb->recs[i]);
		(*added_r)++;
	}
}

static void index_merge_box(struct index_mailbox *tb,
			    struct index_mailbox *lb, unsigned int *added_r)
{
	uint32_t base = lb->base_uidnext;
	if (base != 0)
		index_merge_expunges(tb, lb);
	else
		index_merge_tomb_expunges(tb, lb);
	bool *missing = xcalloc(lb->n_recs + 1, sizeof(*missing));
	for (size_t i = 0; i < lb->n_recs; i++) {
		struct index_record *rec = &lb->recs[i];
		long k = index_mailbox_find_uid(tb, rec->uid);
		bool same = k >= 0 && index_merge_same(&tb->recs[k], rec);
		bool changed = base != 0 ? rec->modseq > lb->base_modseq :
			same && rec->modseq > tb->recs[k].modseq;
		if (same) {
			if (changed) {
				struct index_record *t = &tb->recs[k];
				index_merge_flags(tb, lb, rec, &t->sysflags,
						  &t->keywords);
				t->modseq = ++tb->highest_modseq;
			}
			continue;
		}
		if (base != 0 && rec->uid < base && k < 0)
			continue;	/* the other backend expunged it */
		missing[i] = true;
	}
	index_merge_add_missing(tb, lb, missing, added_r);
	free(missing);
}

static void index_merge_subscriptions(struct index_user *t,
				      const struct index_user *user)
{
	for (size_t i = 0; i < user->n_subs; i++) {
		bool have = false;
		for (size_t j = 0; j < t->n_subs && !have; j++)
			have = strcmp(t->subs[j], user->subs[i]) == 0;
		if (have)
			continue;
		t->subs = xreallocarray(t->subs, t->n_subs + 1,
					sizeof(*t->subs));
		t->subs[t->n_subs++] = xstrdup(user->subs[i]);
	}
}

/* Merges user's mailboxes into t (the bundle's state); a mailbox only
 * the local side has moves into t (user->boxes[i] becomes NULL). */
static void index_merge_boxes(struct index_user *t, struct index_user *user,
			      unsigned int *added_r)
{
	for (size_t i = 0; i < user->n_boxes; i++) {
		struct index_mailbox *lb = user->boxes[i];
		struct index_mailbox *tb = index_user_find_guid(t, lb->guid);
		if (tb == NULL && lb->base_uidnext != 0)
			continue;	/* deleted by the other backend */
		if (tb == NULL) {
			tb = index_user_find_box(t, lb->name);
			if (tb != NULL)	/* created on both sides */
				lb->base_uidnext = 0;
		}
		if (tb != NULL) {
			index_merge_box(tb, lb, added_r);
			continue;
		}
		t->boxes = xreallocarray(t->boxes, t->n_boxes + 1,
					 sizeof(*t->boxes));
		t->boxes[t->n_boxes++] = lb;
		if (lb->uidvalidity > t->last_uidvalidity)
			t->last_uidvalidity = lb->uidvalidity;
		*added_r += (unsigned int)lb->n_recs;
		user->boxes[i] = NULL;
	}
}

void index_bundle_set_base(struct index_user *user)
{
	for (size_t i = 0; i < user->n_boxes; i++) {
		user->boxes[i]->base_uidnext = user->boxes[i]->uidnext;
		user->boxes[i]->base_modseq = user->boxes[i]->highest_modseq;
	}
}

int index_bundle_merge(struct index_user *user,
		       const Stratus__Indexfile__State *newer,
		       const char **error_r)
{
	struct index_user t = { .svc = user->svc, .name = user->name,
				.log_fd = -1 };
	if (index_state_load(&t, newer, error_r) < 0)
		return -1;
	/* Local records move into t with their cached fields. */
	index_user_cached_load_all(user);
	/* Sessions waiting in IDLE look again at the merged state. */
	for (size_t i = 0; i < user->n_boxes; i++)
		index_notify_changed(user->svc, user->boxes[i]);
	unsigned int added = 0;
	index_merge_boxes(&t, user, &added);
	index_merge_subscriptions(&t, user);
	if (user->last_uidvalidity > t.last_uidvalidity)
		t.last_uidvalidity = user->last_uidvalidity;
	size_t len;
	uint8_t *packed = index_state_pack(&t, &len);
	index_user_clear_state(&t);
	Stratus__Indexfile__State *merged =
		stratus__indexfile__state__unpack(NULL, len, packed);
	free(packed);
	if (merged == NULL) {
		*error_r = "merged state does not pack";
		return -1;
	}
	int ret = index_user_replace_state(user, merged, NULL, 0, error_r);
	stratus__indexfile__state__free_unpacked(merged, NULL);
	if (ret < 0)
		return -1;
	/* The base is now the bundle merged into: what was added on top of
	 * it is what the next upload publishes. */
	for (size_t i = 0; i < user->n_boxes; i++) {
		struct index_mailbox *box = user->boxes[i];
		box->base_uidnext = 0;
		box->base_modseq = 0;
		for (size_t j = 0; j < newer->n_mailboxes; j++) {
			const Stratus__Indexfile__Mailbox *mb =
				newer->mailboxes[j];
			if (strcmp(mb->guid, box->guid) == 0) {
				box->base_uidnext = mb->uidnext;
				box->base_modseq = mb->highest_modseq;
			}
		}
	}
	user->svc->n_merges++;
	log_info(NULL, "index(%s): merged into bundle generation %llu (%u "
		 "local message(s) added)", user->name,
		 (unsigned long long)newer->generation, added);
	index_user_mark_dirty(user);
	return 0;
}
