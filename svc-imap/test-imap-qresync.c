/* Unit tests of VANISHED (EARLIER) without expunge history
 * (imap-qresync.c): the known UIDs not in the mailbox, as ranges, and the
 * RFC 7162 3.2.5.2 sequence match data. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "imap-qresync.h"

static struct imap_seq_range *set(const char *s, size_t *n, struct imap_pool *p)
{
	struct imap_seq_range *r;
	const char *error;
	assert_int_equal(imap_seqset_parse(s, p, &r, n, &error), 0);
	return r;
}

static void expect_missing(const char *known, uint32_t lo, uint32_t hi,
			   const uint32_t *uids, size_t n_uids,
			   const char *want)
{
	struct imap_pool pool = { 0 };
	size_t n = 0;
	struct imap_seq_range *r = known != NULL ? set(known, &n, &pool) : NULL;
	struct buf out = BUF_INIT;
	bool any = imap_qresync_missing(&out, r, n, lo, hi, uids, n_uids);
	assert_int_equal(any, want != NULL);
	assert_string_equal(out.data != NULL ? out.data : "",
			    want != NULL ? want : "");
	buf_free(&out);
	imap_pool_clear(&pool);
}

/* RFC 7162 3.2.5.1's example: known UIDs 41:211,214:541, of which 42,
 * 117, 119 and 541 remain (and others outside the set). */
static void test_rfc_example(void **state)
{
	(void)state;
	uint32_t uids[] = { 1, 2, 40, 42, 117, 119, 212, 213, 541, 600 };
	expect_missing("41:211,214:541", 1, 700, uids, 10,
		       "41,43:116,118,120:211,214:540");
	/* the set given in another order and overlapping */
	expect_missing("214:541,41:100,90:211", 1, 700, uids, 10,
		       "41,43:116,118,120:211,214:540");
}

static void test_missing_edges(void **state)
{
	(void)state;
	uint32_t uids[] = { 2, 3, 7 };
	expect_missing(NULL, 1, 10, uids, 3, "1,4:6,8:10");
	expect_missing(NULL, 1, 7, uids, 3, "1,4:6");
	expect_missing(NULL, 4, 6, uids, 3, "4:6");
	expect_missing("2:3,7", 1, 10, uids, 3, NULL);
	expect_missing("1:*", 1, 10, uids, 3, "1,4:6,8:10");
	expect_missing("5:4294967295", 1, 10, uids, 3, "5:6,8:10");
	expect_missing(NULL, 8, 7, uids, 3, NULL);
	expect_missing(NULL, 1, 10, NULL, 0, "1:10");
	/* 4294967295 is '*' to the parser: no UID gets past 4294967294 */
	uint32_t top[] = { 4294967294u };
	expect_missing("4294967290:*", 1, 4294967294u, top, 1,
		       "4294967290:4294967293");
	expect_missing("1:4294967295", 1, 4294967294u, top, 1,
		       "1:4294967293");
}

static uint32_t floor_of(const char *seqs, const char *uidset,
			 const uint32_t *uids, size_t n, int want_ret)
{
	struct imap_pool pool = { 0 };
	size_t ns, nu;
	struct imap_seq_range *s = set(seqs, &ns, &pool);
	struct imap_seq_range *u = set(uidset, &nu, &pool);
	uint32_t floor = 77;
	assert_int_equal(imap_qresync_match_floor(s, ns, u, nu, uids, n,
						  &floor), want_ret);
	imap_pool_clear(&pool);
	return floor;
}

/* RFC 7162 3.2.5.2's example data: UIDs every third number, so sequence
 * 5000 is UID 15000 ... 9999 is 29997. */
static void test_seq_match(void **state)
{
	(void)state;
	uint32_t *uids = xcalloc(9999, sizeof(uint32_t));
	for (uint32_t i = 0; i < 9999; i++)
		uids[i] = 3 * (i + 1);
	const char *seqs = "5000,7500,9000,9990:9999";
	const char *us = "15000,22500,27000,29970,29973,29976,29979,29982,"
		"29985,29988,29991,29994,29997";
	assert_int_equal(floor_of(seqs, us, uids, 9999, 0), 29997);
	/* 29994 expunged since: sequence 9998 is 29997 now, 9999 gone */
	memmove(&uids[9997], &uids[9998], sizeof(uint32_t));
	assert_int_equal(floor_of(seqs, us, uids, 9998, 0), 29991);
	struct buf out = BUF_INIT;
	assert_true(imap_qresync_missing(&out, NULL, 0, 29991 + 1, 29997,
					 uids, 9998));
	assert_string_equal(out.data, "29992:29996");
	buf_free(&out);
	/* nothing matches: no floor */
	assert_int_equal(floor_of("1:3", "4:6", uids, 9998, 0), 0);
	/* sizes differ, or too many pairs: ignored */
	floor_of("1:3", "3:6", uids, 9998, -1);
	floor_of("1:4294967295", "1:4294967295", uids, 9998, -1);
	/* '*' is the last sequence number and the highest UID */
	assert_int_equal(floor_of("*", "*", uids, 9998, 0), 29997);
	free(uids);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc_example),
		cmocka_unit_test(test_missing_edges),
		cmocka_unit_test(test_seq_match),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
