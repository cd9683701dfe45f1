/* Unit tests for the metacache file formats and crash safety: torn log
 * tails at every byte, corrupt and newer-version snapshots and bundles,
 * and a crash at each step of compaction. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "index-test.h"
#include "index-file.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static uint8_t *read_file(const char *path, size_t *len_r)
{
	uint8_t *data = NULL;
	const char *err;
	assert_int_equal(index_file_read_all(path, 1 << 30, &data, len_r,
					     &err), 1);
	return data;
}

static void write_file(const char *path, const uint8_t *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

/* Cutting the log at any byte loads a prefix of the transactions and
 * drops the torn rest; nothing crashes and the service goes on. */
static void test_torn_tail_every_byte(void **state)
{
	(void)state;
	struct index_test *t = index_test_new("");
	struct index_user *u = index_test_user(t, "alice");
	for (int i = 0; i < 5; i++)
		index_test_append(u, "INBOX", "\\Seen");
	char *log_path = xasprintf("%s/index.log", u->dir);
	char *snap_path = xasprintf("%s/index.snap", u->dir);
	size_t len;
	uint8_t *full = read_file(log_path, &len);
	index_test_restart(t);
	for (size_t cut = 0; cut <= len; cut += (cut < 64 ? 1 : 7)) {
		/* only the log: no snapshot from the previous round */
		unlink(snap_path);
		write_file(log_path, full, cut);
		u = index_test_user(t, "alice");
		struct index_mailbox *box = index_user_find_box(u, "INBOX");
		assert_non_null(box);	/* autocreated if the log lost it */
		assert_true(box->n_recs <= 5);
		index_test_restart(t);
	}
	unlink(snap_path);
	write_file(log_path, full, len);
	u = index_test_user(t, "alice");
	assert_int_equal(index_user_find_box(u, "INBOX")->n_recs, 5);
	assert_int_equal(t->svc->n_torn_tails, 0);
	/* A torn tail after good records keeps the good ones. */
	index_test_free(t);
	t = index_test_new("");
	u = index_test_user(t, "alice");
	index_test_restart(t);
	unlink(snap_path);
	free(snap_path);
	snap_path = NULL;
	free(log_path);
	log_path = xasprintf("%s/home/alice/stratus-index/index.log", t->dir);
	snap_path = xasprintf("%s/home/alice/stratus-index/index.snap", t->dir);
	unlink(snap_path);
	write_file(log_path, full, len - 3);
	u = index_test_user(t, "alice");
	assert_int_equal(index_user_find_box(u, "INBOX")->n_recs, 4);
	assert_int_equal(t->svc->n_torn_tails, 1);
	/* ...and the file was cut back so appends continue cleanly. */
	index_test_append(u, "INBOX", "");
	index_test_restart(t);
	u = index_test_user(t, "alice");
	assert_int_equal(index_user_find_box(u, "INBOX")->n_recs, 5);
	free(full);
	free(log_path);
	free(snap_path);
	index_test_free(t);
}

/* A crash at each step of compaction loses nothing committed. */
static void test_crash_during_compaction(void **state)
{
	(void)state;
	for (int crash = 1; crash <= 3; crash++) {
		struct index_test *t = index_test_new("");
		struct index_user *u = index_test_user(t, "bob");
		for (int i = 0; i < 3; i++)
			index_test_append(u, "INBOX", "");
		assert_int_equal(index_user_compact(u, crash == 3 ? 0 : crash),
				 0);
		for (int i = 0; i < 2; i++)
			index_test_append(u, "INBOX", "\\Flagged");
		if (crash == 2)	/* crashed before the new log: more ops */
			assert_int_equal(index_user_compact(u, 2), 0);
		index_test_restart(t);
		u = index_test_user(t, "bob");
		struct index_mailbox *box = index_user_find_box(u, "INBOX");
		assert_int_equal(box->n_recs, 5);
		assert_int_equal(box->recs[4].sysflags, INDEX_FLAG_FLAGGED);
		assert_int_equal(box->uidnext, 6);
		index_test_free(t);
	}
}

static void test_snapshot_corrupt_and_newer(void **state)
{
	(void)state;
	struct index_test *t = index_test_new("");
	struct index_user *u = index_test_user(t, "carol");
	index_test_append(u, "INBOX", "");
	assert_int_equal(index_user_compact(u, 0), 0);
	char *snap = xasprintf("%s/index.snap", u->dir);
	size_t len;
	uint8_t *data = read_file(snap, &len);
	const char *err = NULL;
	Stratus__Indexfile__State *st = index_snapshot_decode(data, len, &err);
	assert_non_null(st);
	stratus__indexfile__state__free_unpacked(st, NULL);
	/* newer format version */
	data[INDEX_MAGIC_LEN] = 9;
	assert_null(index_snapshot_decode(data, len, &err));
	assert_non_null(strstr(err, "newer"));
	data[INDEX_MAGIC_LEN] = 1;
	/* a flipped payload byte */
	data[len - 1] ^= 0x55;
	assert_null(index_snapshot_decode(data, len, &err));
	write_file(snap, data, len);
	/* Loading moves the bad files aside and starts over. */
	index_test_restart(t);
	u = index_test_user(t, "carol");
	assert_non_null(index_user_find_box(u, "INBOX"));
	assert_int_equal(t->svc->n_corrupt, 1);
	free(data);
	free(snap);
	index_test_free(t);
}

static void test_bundle_roundtrip(void **state)
{
	(void)state;
	struct index_test *t = index_test_new("");
	struct index_user *u = index_test_user(t, "dave");
	for (int i = 0; i < 50; i++)
		index_test_append(u, "INBOX", "$Important");
	size_t slen, blen;
	uint8_t *raw = index_state_pack(u, &slen);
	uint8_t *bundle = index_bundle_encode(raw, slen, 6, &blen);
	assert_non_null(bundle);
	assert_true(blen < slen);
	const char *err = NULL;
	Stratus__Indexfile__State *st = index_bundle_decode(bundle, blen, &err);
	assert_non_null(st);
	assert_int_equal(st->n_mailboxes, 3);	/* INBOX, Sent, Trash */
	assert_string_equal(st->mailboxes[0]->name, "INBOX");
	assert_int_equal(st->mailboxes[0]->n_records, 50);
	stratus__indexfile__state__free_unpacked(st, NULL);
	/* truncated, garbage, newer */
	assert_null(index_bundle_decode(bundle, blen / 2, &err));
	bundle[INDEX_FILE_HDR + 3] ^= 0xff;
	assert_null(index_bundle_decode(bundle, blen, &err));
	bundle[INDEX_MAGIC_LEN] = INDEX_BUNDLE_VERSION + 1;
	assert_null(index_bundle_decode(bundle, blen, &err));
	assert_null(index_bundle_decode((const uint8_t *)"x", 1, &err));
	free(raw);
	free(bundle);
	index_test_free(t);
}

/* n records appended to box in one op, as a commit would apply them. */
static void apply_records(struct index_user *u, struct index_mailbox *box,
			  uint32_t n, Stratus__Indexfile__OpKind kind,
			  uint32_t first_uid)
{
	Stratus__Indexfile__Op op = STRATUS__INDEXFILE__OP__INIT;
	Stratus__Indexfile__Record *recs = calloc(n, sizeof(*recs));
	Stratus__Indexfile__Record **ptrs = calloc(n, sizeof(*ptrs));
	for (uint32_t i = 0; i < n; i++) {
		stratus__indexfile__record__init(&recs[i]);
		recs[i].uid = first_uid + i;
		recs[i].guid = "0123456789abcdef0123456789abcdef";
		recs[i].object_id = "obj";
		recs[i].modseq = box->highest_modseq + 1;
		recs[i].sysflags = kind == STRATUS__INDEXFILE__OP_KIND__OP_FLAGS ?
			INDEX_FLAG_SEEN : 0;
		ptrs[i] = &recs[i];
	}
	op.kind = kind;
	op.mailbox_guid = box->guid;
	op.records = ptrs;
	op.n_records = n;
	const char *err = NULL;
	assert_int_equal(index_apply_op(u, &op, &err), 0);
	free(ptrs);
	free(recs);
}

static Stratus__Indexfile__State *build_and_decode(struct index_user *u,
						   size_t *encoded_r)
{
	int fd = index_bundle_build(u, 6, encoded_r);
	assert_true(fd >= 0);
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	uint8_t *data = malloc((size_t)st.st_size);
	assert_int_equal(pread(fd, data, (size_t)st.st_size, 0), st.st_size);
	close(fd);
	const char *err = NULL;
	Stratus__Indexfile__State *s = index_bundle_decode(data,
		(size_t)st.st_size, &err);
	assert_non_null(s);
	/* every truncation is refused cleanly */
	for (off_t cut = 0; cut < st.st_size; cut += 997)
		assert_null(index_bundle_decode(data, (size_t)cut, &err));
	free(data);
	return s;
}

/* Version-2 bundles: chunks of INDEX_BUNDLE_CHUNK_UIDS, only changed
 * chunks re-encoded, and the decoded state is the whole state. */
static void test_bundle_chunks(void **state)
{
	(void)state;
	struct index_test *t = index_test_new("");
	struct index_user *u = index_test_user(t, "erin");
	index_test_append(u, "Sent", "");
	struct index_mailbox *inbox = index_user_find_box(u, "INBOX");
	uint32_t n = 2 * INDEX_BUNDLE_CHUNK_UIDS + INDEX_BUNDLE_CHUNK_UIDS / 4; /* 3 chunks */
	apply_records(u, inbox, n, STRATUS__INDEXFILE__OP_KIND__OP_APPEND, 1);
	size_t encoded;
	Stratus__Indexfile__State *s = build_and_decode(u, &encoded);
	assert_int_equal(encoded, 4);	/* INBOX 3 + Sent 1 */
	assert_int_equal(s->n_mailboxes, 3);
	assert_string_equal(s->mailboxes[0]->name, "INBOX");
	assert_int_equal(s->mailboxes[0]->n_records, n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(s->mailboxes[0]->records[i]->uid, i + 1);
	assert_int_equal(s->mailboxes[1]->n_records, 1);
	stratus__indexfile__state__free_unpacked(s, NULL);
	/* nothing changed: nothing re-encoded */
	s = build_and_decode(u, &encoded);
	assert_int_equal(encoded, 0);
	stratus__indexfile__state__free_unpacked(s, NULL);
	/* a flag in the first chunk, an append to the last */
	apply_records(u, inbox, 1, STRATUS__INDEXFILE__OP_KIND__OP_FLAGS, 7);
	apply_records(u, inbox, 1, STRATUS__INDEXFILE__OP_KIND__OP_APPEND,
		      n + 1);
	s = build_and_decode(u, &encoded);
	assert_int_equal(encoded, 2);
	assert_int_equal(s->mailboxes[0]->n_records, n + 1);
	assert_int_equal(s->mailboxes[0]->records[6]->sysflags,
			 INDEX_FLAG_SEEN);
	stratus__indexfile__state__free_unpacked(s, NULL);
	/* expunging a whole chunk drops its section */
	Stratus__Indexfile__Op op = STRATUS__INDEXFILE__OP__INIT;
	uint32_t *uids = calloc(INDEX_BUNDLE_CHUNK_UIDS, sizeof(*uids));
	for (uint32_t i = 0; i < INDEX_BUNDLE_CHUNK_UIDS; i++)
		uids[i] = INDEX_BUNDLE_CHUNK_UIDS + i;
	op.kind = STRATUS__INDEXFILE__OP_KIND__OP_EXPUNGE;
	op.mailbox_guid = inbox->guid;
	op.uids = uids;
	op.n_uids = INDEX_BUNDLE_CHUNK_UIDS;
	op.modseq = inbox->highest_modseq + 1;
	const char *err = NULL;
	assert_int_equal(index_apply_op(u, &op, &err), 0);
	free(uids);
	s = build_and_decode(u, &encoded);
	assert_int_equal(encoded, 0);
	assert_int_equal(inbox->n_chunks, 2);
	assert_int_equal(s->mailboxes[0]->n_records,
			 n + 1 - INDEX_BUNDLE_CHUNK_UIDS);
	stratus__indexfile__state__free_unpacked(s, NULL);
	index_test_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_torn_tail_every_byte),
		cmocka_unit_test(test_crash_during_compaction),
		cmocka_unit_test(test_snapshot_corrupt_and_newer),
		cmocka_unit_test(test_bundle_roundtrip),
		cmocka_unit_test(test_bundle_chunks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
