/* Unit tests of the pure halves of a rebuild: which listed keys are
 * messages or name markers, the marker parser on good and hostile
 * bytes, and the merge of found objects into a user's state (kept
 * records keep UIDs, flags and ids; missing ones become tombstones;
 * unknown objects are appended with svc-blob's object id; lost
 * mailboxes come back under their marker's name or a Recovered name). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "index-test.h"
#include "index-rebuild.h"
#include "index-marker.h"

#include <stdlib.h>
#include <string.h>

#define G_BOX1 "0123456789abcdef0123456789abcdef"
#define G_BOX2 "fedcba9876543210fedcba9876543210"
#define G_BOX3 "00000000000000000000000000000003"
#define G_BOX4 "00000000000000000000000000000004"
#define PREFIX "ab/abc/alice/"

static void test_key_kind(void **state)
{
	(void)state;
	char g[INDEX_GUID_LEN + 1];
	assert_int_equal(index_rebuild_key_kind(G_BOX1 "/m1", g), 1);
	assert_string_equal(g, G_BOX1);
	assert_int_equal(index_rebuild_key_kind(G_BOX2 "/_mailbox", g), 2);
	assert_string_equal(g, G_BOX2);
	assert_int_equal(index_rebuild_key_kind("index.bundle", g), 0);
	assert_int_equal(index_rebuild_key_kind(G_BOX1 "/.hidden", g), 0);
	assert_int_equal(index_rebuild_key_kind(G_BOX1 "/a/b", g), 0);
	assert_int_equal(index_rebuild_key_kind(G_BOX1 "/", g), 0);
	assert_int_equal(index_rebuild_key_kind(G_BOX1, g), 0);
	assert_int_equal(index_rebuild_key_kind("0123/m1", g), 0);
	assert_int_equal(index_rebuild_key_kind(
		"0123456789abcdef0123456789abcdeX/m1", g), 0);
	assert_int_equal(index_rebuild_key_kind("sieve/" G_BOX1, g), 0);
}

static int parse(const char *text, struct index_marker *m,
		 const char **error)
{
	return index_marker_parse((const uint8_t *)text, strlen(text), '/', m,
				  error);
}

static void test_marker_roundtrip(void **state)
{
	(void)state;
	struct index_mailbox box = { 0 };
	char *su[] = { (char *)"\\Sent", (char *)"\\Archive" };
	box.name = (char *)"Work/Projets &AOk-t&AOk-";
	box.uidvalidity = 4000000000u;
	box.special_use = su;
	box.n_special_use = 2;
	size_t len;
	char *text = index_marker_encode(&box, &len);
	struct index_marker m;
	const char *error = NULL;
	assert_int_equal(index_marker_parse((uint8_t *)text, len, '/', &m,
					    &error), 0);
	assert_string_equal(m.name, box.name);
	assert_int_equal(m.uidvalidity, 4000000000u);
	assert_int_equal(m.n_special_use, 2);
	assert_string_equal(m.special_use[0], "\\Sent");
	assert_string_equal(m.special_use[1], "\\Archive");
	index_marker_clear(&m);
	free(text);

	/* A newer writer's keys are skipped; the order does not matter. */
	assert_int_equal(parse("STXMBOX1\nname=INBOX\nfuture=1\n"
			       "uidvalidity=7\n", &m, &error), 0);
	assert_string_equal(m.name, "INBOX");
	assert_int_equal(m.uidvalidity, 7);
	index_marker_clear(&m);
}

static void test_marker_hostile(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"",
		"STXMBOX",
		"STXMBOX2\nname=a\n",
		"STXMBOX1\nname=a",			/* unterminated */
		"STXMBOX1\nname\n",			/* no '=' */
		"STXMBOX1\nname=\n",			/* empty name */
		"STXMBOX1\nname=a\nname=b\n",		/* twice */
		"STXMBOX1\nname=a/../b\n",
		"STXMBOX1\nname=/a\n",
		"STXMBOX1\nname=a//b\n",
		"STXMBOX1\nname=&AOk\n",		/* bad mUTF-7 */
		"STXMBOX1\nname=a\nuidvalidity=4294967296\n",
		"STXMBOX1\nname=a\nuidvalidity=12a\n",
		"STXMBOX1\nname=a\nuidvalidity=\n",
		"STXMBOX1\nname=a\nuidvalidity=99999999999999999999\n",
		"STXMBOX1\nname=a\nspecial_use=Sent\n",	/* no backslash */
		"STXMBOX1\nuidvalidity=1\n",		/* no name */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct index_marker m;
		const char *error = NULL;
		assert_int_equal(parse(bad[i], &m, &error), -1);
		assert_non_null(error);
		assert_null(m.name);	/* nothing left to free */
		index_marker_clear(&m);
	}
	/* NUL inside a line, and a marker over the size bound */
	struct index_marker m;
	const char *error;
	static const uint8_t nul[] = "STXMBOX1\nname=a\0b\n";
	assert_int_equal(index_marker_parse(nul, sizeof(nul) - 1, '/', &m,
					    &error), -1);
	size_t big = INDEX_MARKER_MAX + 1;
	uint8_t *huge = xcalloc(1, big);
	memcpy(huge, "STXMBOX1\n", 9);
	memset(huge + 9, '\n', big - 9);
	assert_int_equal(index_marker_parse(huge, big, '/', &m, &error), -1);
	free(huge);
}

/* ---- merge ---- */

static Stratus__Indexfile__Record *rec(uint32_t uid, const char *guid,
				       uint32_t sysflags)
{
	Stratus__Indexfile__Record *r = xcalloc(1, sizeof(*r));
	stratus__indexfile__record__init(r);
	r->uid = uid;
	r->guid = xstrdup(guid);
	r->object_id = xasprintf(PREFIX G_BOX1 "/%s", guid);
	r->sysflags = sysflags;
	r->modseq = uid;
	return r;
}

static Stratus__Indexfile__Mailbox *box_new(const char *name,
					    const char *guid)
{
	Stratus__Indexfile__Mailbox *mb = xcalloc(1, sizeof(*mb));
	stratus__indexfile__mailbox__init(mb);
	mb->name = xstrdup(name);
	mb->guid = xstrdup(guid);
	mb->uidvalidity = 1000;
	mb->uidnext = 1;
	mb->highest_modseq = 1;
	return mb;
}

static void box_add(Stratus__Indexfile__Mailbox *mb,
		    Stratus__Indexfile__Record *r)
{
	mb->records = xreallocarray(mb->records, mb->n_records + 1,
				    sizeof(*mb->records));
	mb->records[mb->n_records++] = r;
	mb->uidnext = r->uid + 1;
	mb->highest_modseq = r->modseq;
}

static void msg(struct index_rebuild_msg *m, const char *box,
		const char *guid, int64_t save_date)
{
	memset(m, 0, sizeof(*m));
	m->key = xasprintf("%s/%s", box, guid);
	m->object_id = xasprintf(PREFIX "%s", m->key);
	memcpy(m->box_guid, box, INDEX_GUID_LEN + 1);
	m->message_guid = xstrdup(guid);
	m->save_date = save_date;
	m->received_date = save_date - 5;
	m->psize = 100;
	m->found = true;
}

static Stratus__Indexfile__Mailbox *
find(Stratus__Indexfile__State *st, const char *name)
{
	for (size_t i = 0; i < st->n_mailboxes; i++) {
		if (strcmp(st->mailboxes[i]->name, name) == 0)
			return st->mailboxes[i];
	}
	return NULL;
}

static void test_merge(void **state)
{
	(void)state;
	struct index_test *t = index_test_new("");
	struct index_user *u = index_test_user(t, "alice");
	Stratus__Indexfile__State *st = xcalloc(1, sizeof(*st));
	stratus__indexfile__state__init(st);
	st->mailboxes = xcalloc(2, sizeof(*st->mailboxes));
	Stratus__Indexfile__Mailbox *inbox = box_new("INBOX", G_BOX1);
	box_add(inbox, rec(1, "kept", INDEX_FLAG_SEEN));
	box_add(inbox, rec(2, "lost", 0));
	box_add(inbox, rec(3, "kept2", INDEX_FLAG_FLAGGED));
	st->mailboxes[st->n_mailboxes++] = inbox;
	st->mailboxes[st->n_mailboxes++] = box_new("Work", G_BOX4);

	struct index_rebuild_msg msgs[6];
	msg(&msgs[0], G_BOX1, "kept", 100);
	msg(&msgs[1], G_BOX1, "kept2", 101);
	msg(&msgs[2], G_BOX1, "new-b", 300);	/* saved after new-a */
	msg(&msgs[3], G_BOX1, "new-a", 200);
	msg(&msgs[4], G_BOX2, "in-lost-box", 50);
	msg(&msgs[5], G_BOX3, "no-marker", 60);
	free(msgs[5].object_id);
	msgs[5].object_id = NULL;	/* an older svc-blob: no prefix */
	struct index_rebuild_box boxes[2] = { 0 };
	memcpy(boxes[0].guid, G_BOX2, sizeof(boxes[0].guid));
	boxes[0].found = true;
	boxes[0].marker.name = xstrdup("Work");	/* name taken by G_BOX4 */
	boxes[0].marker.uidvalidity = 4242;
	memcpy(boxes[1].guid, G_BOX4, sizeof(boxes[1].guid));
	boxes[1].found = true;
	boxes[1].marker.name = xstrdup("Work");	/* the index has it */

	struct index_rebuild_stats stats;
	char **created = index_rebuild_merge(st, msgs, 6, boxes, 2, u,
					     &stats);
	assert_int_equal(stats.dropped, 1);
	assert_int_equal(stats.added, 4);
	assert_int_equal(stats.boxes_created, 2);
	assert_int_equal(stats.messages, 6);

	/* INBOX: kept records as they were, the lost one tombstoned, new
	 * ones after the old UIDs in save order with svc-blob's ids. */
	assert_int_equal(inbox->n_records, 4);
	assert_int_equal(inbox->records[0]->uid, 1);
	assert_int_equal(inbox->records[0]->sysflags, INDEX_FLAG_SEEN);
	assert_string_equal(inbox->records[0]->object_id,
			    PREFIX G_BOX1 "/kept");
	assert_int_equal(inbox->records[1]->uid, 3);
	assert_int_equal(inbox->records[1]->sysflags, INDEX_FLAG_FLAGGED);
	assert_string_equal(inbox->records[2]->guid, "new-a");
	assert_int_equal(inbox->records[2]->uid, 4);
	assert_string_equal(inbox->records[2]->object_id,
			    PREFIX G_BOX1 "/new-a");
	assert_int_equal(inbox->records[2]->save_date, 200);
	assert_int_equal(inbox->records[2]->internal_date, 195);
	assert_int_equal(inbox->records[2]->vsize, 100);
	assert_string_equal(inbox->records[3]->guid, "new-b");
	assert_int_equal(inbox->records[3]->uid, 5);
	assert_int_equal(inbox->uidnext, 6);
	assert_int_equal(inbox->n_expunged, 1);
	assert_int_equal(inbox->expunged[0]->uid, 2);
	assert_true(inbox->records[3]->modseq <= inbox->highest_modseq);

	/* The lost mailbox's name is taken: a suffixed name, a new
	 * UIDVALIDITY above the marker's. */
	Stratus__Indexfile__Mailbox *w = find(st, "Work-fedcba98");
	assert_non_null(w);
	assert_string_equal(w->guid, G_BOX2);
	assert_true(w->uidvalidity > 4242);
	assert_int_equal(w->n_records, 1);
	assert_int_equal(w->records[0]->uid, 1);
	/* No marker: Recovered/<guid>, and the key as the id. */
	Stratus__Indexfile__Mailbox *r = find(st, "Recovered/" G_BOX3);
	assert_non_null(r);
	assert_int_equal(r->n_records, 1);
	assert_string_equal(r->records[0]->object_id, G_BOX3 "/no-marker");
	assert_int_equal(find(st, "Work")->n_records, 0);
	assert_true(st->last_uidvalidity >= w->uidvalidity);

	size_t n = 0;
	for (char **g = created; *g != NULL; g++, n++)
		free(*g);
	assert_int_equal(n, 2);
	free(created);
	for (size_t i = 0; i < 6; i++) {
		free(msgs[i].key);
		free(msgs[i].object_id);
		free(msgs[i].message_guid);
	}
	index_marker_clear(&boxes[0].marker);
	index_marker_clear(&boxes[1].marker);
	stratus__indexfile__state__free_unpacked(st, NULL);
	index_test_free(t);
}

/* Nothing found in storage: every record goes, the mailboxes stay. */
static void test_merge_empty_storage(void **state)
{
	(void)state;
	struct index_test *t = index_test_new("");
	struct index_user *u = index_test_user(t, "alice");
	Stratus__Indexfile__State *st = xcalloc(1, sizeof(*st));
	stratus__indexfile__state__init(st);
	st->mailboxes = xcalloc(1, sizeof(*st->mailboxes));
	Stratus__Indexfile__Mailbox *inbox = box_new("INBOX", G_BOX1);
	box_add(inbox, rec(1, "a", 0));
	box_add(inbox, rec(2, "b", 0));
	st->mailboxes[st->n_mailboxes++] = inbox;
	struct index_rebuild_stats stats;
	char **created = index_rebuild_merge(st, NULL, 0, NULL, 0, u, &stats);
	assert_null(created[0]);
	free(created);
	assert_int_equal(stats.dropped, 2);
	assert_int_equal(stats.messages, 0);
	assert_int_equal(inbox->n_records, 0);
	assert_int_equal(inbox->uidnext, 3);	/* UIDs are never reused */
	stratus__indexfile__state__free_unpacked(st, NULL);
	index_test_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_kind),
		cmocka_unit_test(test_marker_roundtrip),
		cmocka_unit_test(test_marker_hostile),
		cmocka_unit_test(test_merge),
		cmocka_unit_test(test_merge_empty_storage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
