/* Unit tests for index-bundle-merge.c: two services stand for two
 * backends holding the same user; one's state is "the newer bundle" the
 * other merges into, as after a lost upload (a known base) and after a
 * restart with changes not uploaded (no base). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "index-test.h"
#include "index-bundle.h"

#include <stdlib.h>
#include <string.h>

static Stratus__Indexfile__State *state_of(struct index_user *u,
					   uint64_t generation)
{
	size_t len;
	uint8_t *packed = index_state_pack(u, &len);
	Stratus__Indexfile__State *st =
		stratus__indexfile__state__unpack(NULL, len, packed);
	free(packed);
	assert_non_null(st);
	st->generation = generation;
	return st;
}

/* Makes u hold st, as a download of that bundle does. */
static void take_state(struct index_user *u, Stratus__Indexfile__State *st)
{
	const char *error = NULL;
	assert_int_equal(index_user_replace_state(u, st, NULL, 0, &error), 0);
	index_bundle_set_base(u);
}

static void commit_op(struct index_user *u, Stratus__Indexfile__Op *op)
{
	const char *error = NULL;
	Stratus__Indexfile__Op *ops[1] = { op };
	assert_int_equal(index_user_commit(u, ops, 1, &error), 0);
}

static void set_flags(struct index_user *u, uint32_t uid, uint32_t sysflags)
{
	struct index_mailbox *box = index_user_find_box(u, "INBOX");
	Stratus__Indexfile__Record rec = STRATUS__INDEXFILE__RECORD__INIT;
	Stratus__Indexfile__Record *recp = &rec;
	Stratus__Indexfile__Op op = STRATUS__INDEXFILE__OP__INIT;
	rec.uid = uid;
	rec.sysflags = sysflags;
	rec.modseq = box->highest_modseq + 1;
	op.kind = STRATUS__INDEXFILE__OP_KIND__OP_FLAGS;
	op.mailbox_guid = box->guid;
	op.records = &recp;
	op.n_records = 1;
	commit_op(u, &op);
}

static void expunge(struct index_user *u, uint32_t uid)
{
	struct index_mailbox *box = index_user_find_box(u, "INBOX");
	Stratus__Indexfile__Op op = STRATUS__INDEXFILE__OP__INIT;
	op.kind = STRATUS__INDEXFILE__OP_KIND__OP_EXPUNGE;
	op.mailbox_guid = box->guid;
	op.uids = &uid;
	op.n_uids = 1;
	op.modseq = box->highest_modseq + 1;
	commit_op(u, &op);
}

static const struct index_record *rec_of(struct index_user *u, uint32_t uid)
{
	struct index_mailbox *box = index_user_find_box(u, "INBOX");
	long i = index_mailbox_find_uid(box, uid);
	return i < 0 ? NULL : &box->recs[i];
}

static char *guid_of(struct index_user *u, uint32_t uid)
{
	const struct index_record *r = rec_of(u, uid);
	assert_non_null(r);
	return xstrdup(r->guid);
}

/* Both backends start from generation 1 (3 messages); the winner adds
 * UIDs 4-5 and flags 1, the loser adds two of its own (also 4-5 there),
 * flags 2 and expunges 3. Merged: the winner's UIDs stay, the loser's
 * new messages become 6-7, both flag changes and the expunge hold. */
static void test_merge_after_lost_upload(void **state)
{
	(void)state;
	struct index_test *ta = index_test_new(""), *tb = index_test_new("");
	struct index_user *a = index_test_user(ta, "alice");
	struct index_user *b = index_test_user(tb, "alice");
	for (int i = 0; i < 3; i++)
		index_test_append(a, "INBOX", "");
	Stratus__Indexfile__State *g1 = state_of(a, 1);
	take_state(a, g1);
	take_state(b, g1);
	stratus__indexfile__state__free_unpacked(g1, NULL);

	assert_int_equal(index_test_append(a, "INBOX", ""), 4);
	assert_int_equal(index_test_append(a, "INBOX", ""), 5);
	set_flags(a, 1, INDEX_FLAG_FLAGGED);
	assert_int_equal(index_test_append(b, "INBOX", "\\Draft"), 4);
	assert_int_equal(index_test_append(b, "INBOX", ""), 5);
	set_flags(b, 2, INDEX_FLAG_SEEN);
	expunge(b, 3);
	char *a4 = guid_of(a, 4), *a5 = guid_of(a, 5);
	char *b4 = guid_of(b, 4), *b5 = guid_of(b, 5);

	Stratus__Indexfile__State *g2 = state_of(a, 2);
	const char *error = NULL;
	assert_int_equal(index_bundle_merge(b, g2, &error), 0);
	stratus__indexfile__state__free_unpacked(g2, NULL);
	assert_int_equal(b->generation, 2);
	assert_true(b->dirty);
	struct index_mailbox *box = index_user_find_box(b, "INBOX");
	assert_int_equal(box->n_recs, 6);
	assert_int_equal(box->uidnext, 8);
	assert_null(rec_of(b, 3));
	assert_int_equal(rec_of(b, 1)->sysflags, INDEX_FLAG_FLAGGED);
	assert_int_equal(rec_of(b, 2)->sysflags, INDEX_FLAG_SEEN);
	assert_string_equal(rec_of(b, 4)->guid, a4);
	assert_string_equal(rec_of(b, 5)->guid, a5);
	assert_string_equal(rec_of(b, 6)->guid, b4);
	assert_int_equal(rec_of(b, 6)->sysflags, INDEX_FLAG_DRAFT);
	assert_string_equal(rec_of(b, 7)->guid, b5);
	/* the next upload's base: the bundle merged into */
	assert_int_equal(box->base_uidnext, 6);
	free(a4);
	free(a5);
	free(b4);
	free(b5);
	index_test_free(ta);
	index_test_free(tb);
}

/* No base (a restart with changes not uploaded) against this backend's
 * own older upload: nothing comes back, no UID moves. */
static void test_merge_without_base_into_own_older_bundle(void **state)
{
	(void)state;
	struct index_test *t = index_test_new("");
	struct index_user *u = index_test_user(t, "bob");
	for (int i = 0; i < 4; i++)
		index_test_append(u, "INBOX", "");
	Stratus__Indexfile__State *old = state_of(u, 5);
	expunge(u, 2);
	set_flags(u, 3, INDEX_FLAG_ANSWERED);
	assert_int_equal(index_test_append(u, "INBOX", ""), 5);
	char *g5 = guid_of(u, 5);
	struct index_mailbox *box = index_user_find_box(u, "INBOX");
	box->base_uidnext = 0;
	box->base_modseq = 0;
	const char *error = NULL;
	assert_int_equal(index_bundle_merge(u, old, &error), 0);
	stratus__indexfile__state__free_unpacked(old, NULL);
	box = index_user_find_box(u, "INBOX");
	assert_int_equal(box->n_recs, 4);
	assert_null(rec_of(u, 2));
	assert_int_equal(rec_of(u, 3)->sysflags, INDEX_FLAG_ANSWERED);
	assert_string_equal(rec_of(u, 5)->guid, g5);
	assert_int_equal(box->uidnext, 6);
	free(g5);
	index_test_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_merge_after_lost_upload),
		cmocka_unit_test(test_merge_without_base_into_own_older_bundle),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
