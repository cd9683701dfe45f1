/* Unit tests for the lazy bundle load (index-bundle-lazy.c): a state
 * loaded from a bundle with a directory, its cached fields inflated on
 * use, answers exactly as the same bundle loaded whole (records, flags,
 * keywords, modseqs, dates, sizes, cached fields, tombstones), and so do
 * bundles of the older layouts (version 1, and version 2 without a
 * directory, as objects already in buckets are). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "index-test.h"
#include "index-file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define N_INBOX (5 * INDEX_BUNDLE_CHUNK_UIDS + 17)

/* Appends n records from first_uid with per-record cached fields (some
 * records without any), keywords and flags, as a commit applies them. */
static void append_records(struct index_user *u, struct index_mailbox *box,
			   uint32_t first_uid, uint32_t n)
{
	Stratus__Indexfile__Op op = STRATUS__INDEXFILE__OP__INIT;
	Stratus__Indexfile__Record *recs = calloc(n, sizeof(*recs));
	Stratus__Indexfile__Record **ptrs = calloc(n, sizeof(*ptrs));
	Stratus__Indexfile__Cached *cs = calloc(3 * (size_t)n, sizeof(*cs));
	Stratus__Indexfile__Cached **cps = calloc(3 * (size_t)n, sizeof(*cps));
	char (*vals)[64] = calloc(3 * (size_t)n, sizeof(*vals));
	char (*guids)[INDEX_GUID_LEN + 1] = calloc(n, sizeof(*guids));
	static const char *const names[] = { "hdr.subject", "envelope",
					      "threadid" };
	char *kws[] = { (char *)"$Important", (char *)"Work" };
	for (uint32_t i = 0; i < n; i++) {
		uint32_t uid = first_uid + i;
		Stratus__Indexfile__Record *r = &recs[i];
		stratus__indexfile__record__init(r);
		r->uid = uid;
		snprintf(guids[i], sizeof(guids[i]), "%032x", uid * 7919u);
		r->guid = guids[i];
		r->object_id = guids[i];
		r->sysflags = uid % 3 == 0 ? INDEX_FLAG_SEEN : 0;
		r->keywords = uid % 5 == 0 ? 2 : 0;
		r->modseq = box->highest_modseq + 1 + uid % 4;
		r->internal_date = 1700000000 + uid;
		r->save_date = 1700000100 + uid;
		r->psize = 1000 + uid;
		r->vsize = 1010 + uid;
		size_t nc = uid % 7 == 0 ? 0 : 1 + uid % 3;
		r->cached = &cps[3 * i];
		r->n_cached = nc;
		for (size_t c = 0; c < nc; c++) {
			Stratus__Indexfile__Cached *f = &cs[3 * i + c];
			stratus__indexfile__cached__init(f);
			f->name = (char *)names[c];
			int len = snprintf(vals[3 * i + c], 64, "%s of %u",
					   names[c], uid);
			f->value.data = (uint8_t *)vals[3 * i + c];
			f->value.len = (size_t)len;
			cps[3 * i + c] = f;
		}
		ptrs[i] = r;
	}
	op.kind = STRATUS__INDEXFILE__OP_KIND__OP_APPEND;
	op.mailbox_guid = box->guid;
	op.records = ptrs;
	op.n_records = n;
	op.keywords = kws;
	op.n_keywords = 2;
	const char *err = NULL;
	assert_int_equal(index_apply_op(u, &op, &err), 0);
	free(guids);
	free(vals);
	free(cps);
	free(cs);
	free(ptrs);
	free(recs);
}

static void apply_uids(struct index_user *u, struct index_mailbox *box,
		       Stratus__Indexfile__OpKind kind, const uint32_t *uids,
		       size_t n)
{
	Stratus__Indexfile__Op op = STRATUS__INDEXFILE__OP__INIT;
	const char *err = NULL;
	op.kind = kind;
	op.mailbox_guid = box->guid;
	op.modseq = box->highest_modseq + 1;
	if (kind == STRATUS__INDEXFILE__OP_KIND__OP_EXPUNGE) {
		op.uids = (uint32_t *)uids;
		op.n_uids = n;
		assert_int_equal(index_apply_op(u, &op, &err), 0);
		return;
	}
	Stratus__Indexfile__Record *recs = calloc(n, sizeof(*recs));
	Stratus__Indexfile__Record **ptrs = calloc(n, sizeof(*ptrs));
	for (size_t i = 0; i < n; i++) {
		stratus__indexfile__record__init(&recs[i]);
		recs[i].uid = uids[i];
		recs[i].sysflags = INDEX_FLAG_FLAGGED | INDEX_FLAG_DELETED;
		recs[i].keywords = 1;
		recs[i].modseq = op.modseq;
		ptrs[i] = &recs[i];
	}
	op.records = ptrs;
	op.n_records = n;
	assert_int_equal(index_apply_op(u, &op, &err), 0);
	free(ptrs);
	free(recs);
}

/* The test user: INBOX over several chunks with expunges and flag
 * changes, and a record in Sent. */
static struct index_user *make_user(struct index_test *t)
{
	struct index_user *u = index_test_user(t, "lazy");
	struct index_mailbox *inbox = index_user_find_box(u, "INBOX");
	struct index_mailbox *sent = index_user_find_box(u, "Sent");
	append_records(u, inbox, 1, N_INBOX);
	append_records(u, sent, 1, 3);
	uint32_t gone[] = { 2, 65, 66, 200 };
	apply_uids(u, inbox, STRATUS__INDEXFILE__OP_KIND__OP_EXPUNGE, gone, 4);
	uint32_t flagged[] = { 1, 64, 130, N_INBOX };
	apply_uids(u, inbox, STRATUS__INDEXFILE__OP_KIND__OP_FLAGS, flagged, 4);
	return u;
}

static uint8_t *read_fd(int fd, size_t *len_r)
{
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	uint8_t *data = malloc((size_t)st.st_size + 1);
	assert_int_equal(pread(fd, data, (size_t)st.st_size, 0), st.st_size);
	close(fd);
	*len_r = (size_t)st.st_size;
	return data;
}

static uint8_t *build_bundle(struct index_user *u, size_t *len_r,
			     size_t *encoded_r)
{
	int fd = index_bundle_build(u, 6, encoded_r);
	assert_true(fd >= 0);
	return read_fd(fd, len_r);
}

static void temp_user(struct index_test *t, struct index_user *tu)
{
	*tu = (struct index_user){ .svc = t->svc, .name = (char *)"temp",
				   .log_fd = -1 };
}

static void assert_same_cached(const struct index_record *a,
			       const struct index_record *b)
{
	assert_int_equal(a->n_cached, b->n_cached);
	for (size_t c = 0; c < a->n_cached; c++) {
		assert_string_equal(a->cached[c].name, b->cached[c].name);
		assert_int_equal(a->cached[c].len, b->cached[c].len);
		assert_memory_equal(a->cached[c].data, b->cached[c].data,
				    a->cached[c].len);
		assert_int_equal(a->cached[c].data[a->cached[c].len], 0);
	}
}

/* Every answer but the cached fields (with_cached: those too). */
static void assert_same_box(const struct index_mailbox *a,
			    const struct index_mailbox *b, bool with_cached)
{
	assert_string_equal(a->name, b->name);
	assert_string_equal(a->guid, b->guid);
	assert_int_equal(a->uidvalidity, b->uidvalidity);
	assert_int_equal(a->uidnext, b->uidnext);
	assert_int_equal(a->highest_modseq, b->highest_modseq);
	assert_int_equal(a->first_recent_uid, b->first_recent_uid);
	assert_int_equal(a->n_keywords, b->n_keywords);
	for (size_t k = 0; k < a->n_keywords; k++)
		assert_string_equal(a->keywords[k], b->keywords[k]);
	assert_int_equal(a->n_tombs, b->n_tombs);
	for (size_t k = 0; k < a->n_tombs; k++) {
		assert_int_equal(a->tombs[k].uid, b->tombs[k].uid);
		assert_int_equal(a->tombs[k].modseq, b->tombs[k].modseq);
	}
	assert_int_equal(a->n_recs, b->n_recs);
	for (size_t i = 0; i < a->n_recs; i++) {
		const struct index_record *x = &a->recs[i], *y = &b->recs[i];
		assert_int_equal(x->uid, y->uid);
		assert_string_equal(x->guid, y->guid);
		assert_string_equal(x->object_id, y->object_id);
		assert_int_equal(x->sysflags, y->sysflags);
		assert_int_equal(x->keywords, y->keywords);
		assert_int_equal(x->modseq, y->modseq);
		assert_int_equal(x->internal_date, y->internal_date);
		assert_int_equal(x->save_date, y->save_date);
		assert_int_equal(x->psize, y->psize);
		assert_int_equal(x->vsize, y->vsize);
		if (with_cached)
			assert_same_cached(x, y);
	}
}

static void assert_same_user(const struct index_user *a,
			     const struct index_user *b, bool with_cached)
{
	assert_int_equal(a->n_boxes, b->n_boxes);
	for (size_t i = 0; i < a->n_boxes; i++)
		assert_same_box(a->boxes[i], b->boxes[i], with_cached);
	assert_int_equal(a->n_subs, b->n_subs);
	assert_int_equal(a->seq, b->seq);
	assert_int_equal(a->generation, b->generation);
	assert_int_equal(a->last_uidvalidity, b->last_uidvalidity);
}

/* A bundle loaded lazily answers as the user it was built from and as
 * the same bundle decoded whole; cached fields load per chunk on use. */
static void test_lazy_same_answers(void **state)
{
	(void)state;
	struct index_test *t = index_test_new("");
	struct index_user *u = make_user(t);
	size_t len, encoded;
	uint8_t *bundle = build_bundle(u, &len, &encoded);
	const char *err = NULL;

	struct index_user full, lazy;
	temp_user(t, &full);
	temp_user(t, &lazy);
	Stratus__Indexfile__State *st = index_bundle_decode(bundle, len, &err);
	assert_non_null(st);
	assert_int_equal(index_state_load(&full, st, &err), 0);
	stratus__indexfile__state__free_unpacked(st, NULL);
	assert_int_equal(index_state_load_file(&lazy, bundle, len, &err), 0);

	struct index_mailbox *inbox = index_user_find_box(&lazy, "INBOX");
	assert_non_null(inbox);
	/* nothing of the cached fields is loaded yet */
	assert_int_equal(inbox->n_lazy, inbox->n_chunks);
	for (size_t i = 0; i < inbox->n_recs; i++)
		assert_int_equal(inbox->recs[i].n_cached, 0);
	assert_same_user(&lazy, &full, false);
	assert_same_user(&lazy, u, false);

	/* one record's fields load its chunk only */
	long k = index_mailbox_find_uid(inbox, 130);
	assert_true(k >= 0);
	index_box_cached_load(inbox, (size_t)k, (size_t)k + 1);
	assert_int_equal(inbox->n_lazy, inbox->n_chunks - 1);
	assert_same_cached(&inbox->recs[k],
			   &index_user_find_box(u, "INBOX")->recs[k]);
	assert_int_equal(inbox->recs[0].n_cached, 0);	/* chunk 0: lazy */

	index_user_cached_load_all(&lazy);
	assert_int_equal(inbox->n_lazy, 0);
	assert_same_user(&lazy, &full, true);
	assert_same_user(&lazy, u, true);

	index_user_clear_state(&full);
	index_user_clear_state(&lazy);
	free(bundle);
	index_test_free(t);
}

/* After a lazy load the next upload sends the downloaded sections again
 * (nothing re-encoded), a flag change re-encodes only records, and
 * appends and expunges in lazy chunks keep every cached field. */
static void test_lazy_changes(void **state)
{
	(void)state;
	struct index_test *t = index_test_new("");
	struct index_user *u = make_user(t);
	size_t len, len2, encoded;
	uint8_t *bundle = build_bundle(u, &len, &encoded);
	const char *err = NULL;
	struct index_user lazy;
	temp_user(t, &lazy);
	assert_int_equal(index_state_load_file(&lazy, bundle, len, &err), 0);
	struct index_mailbox *inbox = index_user_find_box(&lazy, "INBOX");
	struct index_mailbox *uinbox = index_user_find_box(u, "INBOX");

	uint8_t *again = build_bundle(&lazy, &len2, &encoded);
	assert_int_equal(encoded, 0);
	assert_int_equal(len2, len);
	assert_memory_equal(again, bundle, len);
	free(again);
	assert_int_equal(inbox->n_lazy, inbox->n_chunks);

	/* the same changes on both sides */
	struct index_user *sides[] = { u, &lazy };
	for (size_t s = 0; s < 2; s++) {
		struct index_mailbox *b = index_user_find_box(sides[s],
							      "INBOX");
		uint32_t fl[] = { 3, 4 };
		apply_uids(sides[s], b, STRATUS__INDEXFILE__OP_KIND__OP_FLAGS,
			   fl, 2);
		uint32_t ex[] = { 5, 70, 71 };
		apply_uids(sides[s], b,
			   STRATUS__INDEXFILE__OP_KIND__OP_EXPUNGE, ex, 3);
		append_records(sides[s], b, b->uidnext, 5);
	}
	again = build_bundle(&lazy, &len2, &encoded);
	/* chunk 0 (flags + expunge), chunk 1 (expunges), the last (append) */
	assert_int_equal(encoded, 3);
	free(again);
	/* chunks only flagged or untouched stay lazy until asked */
	assert_true(inbox->n_lazy > 0);
	assert_same_user(&lazy, u, false);
	index_user_cached_load_all(&lazy);
	assert_same_user(&lazy, u, true);
	assert_int_equal(inbox->n_recs, uinbox->n_recs);

	index_user_clear_state(&lazy);
	free(bundle);
	index_test_free(t);
}

/* A bundle as an older Stratus wrote it: version 2 with each chunk's
 * records and their cached fields in one section and no directory. */
static uint8_t *old_layout_bundle(struct index_user *u, size_t *len_r)
{
	size_t slen;
	uint8_t *raw = index_state_pack(u, &slen);
	Stratus__Indexfile__State *st =
		stratus__indexfile__state__unpack(NULL, slen, raw);
	free(raw);
	assert_non_null(st);
	uint8_t *sections[256];
	size_t lens[256], n = 0;
	size_t *saved = calloc(st->n_mailboxes + 1, sizeof(*saved));
	for (size_t b = 0; b < st->n_mailboxes; b++) {
		Stratus__Indexfile__Mailbox *mb = st->mailboxes[b];
		for (size_t i = 0; i < mb->n_records;
		     i += INDEX_BUNDLE_CHUNK_UIDS) {
			Stratus__Indexfile__Mailbox chunk =
				STRATUS__INDEXFILE__MAILBOX__INIT;
			chunk.guid = mb->guid;
			chunk.records = mb->records + i;
			chunk.n_records = mb->n_records - i <
				INDEX_BUNDLE_CHUNK_UIDS ? mb->n_records - i :
				INDEX_BUNDLE_CHUNK_UIDS;
			size_t clen =
				stratus__indexfile__mailbox__get_packed_size(&chunk);
			uint8_t *c = malloc(clen + 1);
			stratus__indexfile__mailbox__pack(&chunk, c);
			assert_true(n < 255);
			n++;
			sections[n] = index_bundle_section(c, clen, 6,
							   &lens[n]);
			free(c);
		}
		saved[b] = mb->n_records;
		mb->n_records = 0;	/* the first section: no records */
	}
	size_t mlen = stratus__indexfile__state__get_packed_size(st);
	uint8_t *meta = malloc(mlen + 1);
	stratus__indexfile__state__pack(st, meta);
	for (size_t b = 0; b < st->n_mailboxes; b++)
		st->mailboxes[b]->n_records = saved[b];
	free(saved);
	stratus__indexfile__state__free_unpacked(st, NULL);
	sections[0] = index_bundle_section(meta, mlen, 6, &lens[0]);
	free(meta);
	size_t body = 0;
	for (size_t i = 0; i <= n; i++)
		body += lens[i];
	uint8_t *out = malloc(INDEX_FILE_HDR + body);
	index_bundle_header(out, (uint32_t)n + 1, body);
	size_t pos = INDEX_FILE_HDR;
	for (size_t i = 0; i <= n; i++) {
		memcpy(out + pos, sections[i], lens[i]);
		pos += lens[i];
		free(sections[i]);
	}
	*len_r = pos;
	return out;
}

/* Bundles already in buckets, of both older layouts, still load, whole,
 * and a corrupt cached section costs only its chunk's cached fields. */
static void test_old_bundles_and_corrupt_cached(void **state)
{
	(void)state;
	struct index_test *t = index_test_new("");
	struct index_user *u = make_user(t);
	const char *err = NULL;
	struct index_user got;

	size_t len;
	uint8_t *old = old_layout_bundle(u, &len);
	temp_user(t, &got);
	assert_int_equal(index_state_load_file(&got, old, len, &err), 0);
	assert_int_equal(index_user_find_box(&got, "INBOX")->n_lazy, 0);
	assert_same_user(&got, u, true);
	index_user_clear_state(&got);
	free(old);

	size_t slen, blen;
	uint8_t *raw = index_state_pack(u, &slen);
	uint8_t *v1 = index_bundle_encode(raw, slen, 6, &blen);
	free(raw);
	temp_user(t, &got);
	assert_int_equal(index_state_load_file(&got, v1, blen, &err), 0);
	assert_same_user(&got, u, true);
	index_user_clear_state(&got);
	free(v1);

	/* the cached section of INBOX's first chunk is the third section */
	size_t encoded;
	uint8_t *bundle = build_bundle(u, &len, &encoded);
	struct index_section_ref *refs;
	uint32_t n;
	assert_int_equal(index_bundle_frames(bundle, len, &refs, &n, &err), 1);
	bundle[refs[2].offset + refs[2].len - 3] ^= 0x55;
	free(refs);
	temp_user(t, &got);
	assert_int_equal(index_state_load_file(&got, bundle, len, &err), 0);
	index_user_cached_load_all(&got);
	struct index_mailbox *inbox = index_user_find_box(&got, "INBOX");
	struct index_mailbox *uinbox = index_user_find_box(u, "INBOX");
	assert_same_box(inbox, uinbox, false);
	for (size_t i = 0; i < inbox->n_recs; i++) {
		if (inbox->recs[i].uid < INDEX_BUNDLE_CHUNK_UIDS)
			assert_int_equal(inbox->recs[i].n_cached, 0);
		else
			assert_same_cached(&inbox->recs[i], &uinbox->recs[i]);
	}
	/* and it is encoded again from what is left, not sent again */
	uint8_t *again = build_bundle(&got, &blen, &encoded);
	free(again);
	assert_false(inbox->chunks[0].cached_stale);
	index_user_clear_state(&got);

	/* a corrupt records section refuses the whole bundle */
	assert_int_equal(index_bundle_frames(bundle, len, &refs, &n, &err), 1);
	bundle[refs[1].offset + refs[1].len - 3] ^= 0x55;
	free(refs);
	temp_user(t, &got);
	assert_int_equal(index_state_load_file(&got, bundle, len, &err), -1);
	assert_int_equal(got.n_boxes, 0);
	free(bundle);
	index_test_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lazy_same_answers),
		cmocka_unit_test(test_lazy_changes),
		cmocka_unit_test(test_old_bundles_and_corrupt_cached),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
