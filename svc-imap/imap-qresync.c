/* VANISHED (EARLIER) from the mailbox's present UIDs when the expunge
 * history is too short (see imap-qresync.h). Everything works on ranges:
 * a client may name 1:4294967295 as its known UIDs, and the answer is a
 * handful of ranges between the UIDs that exist. */
#include "imap-qresync.h"

#include <stdlib.h>

static int range_cmp(const void *a, const void *b)
{
	const struct imap_seq_range *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* known clipped to [lo, hi], sorted and merged, into a new array. */
static struct imap_seq_range *
known_normalise(const struct imap_seq_range *known, size_t n_known,
		uint32_t lo, uint32_t hi, size_t *n_r)
{
	struct imap_seq_range all = { 1, hi };
	if (known == NULL) {
		known = &all;
		n_known = 1;
	}
	struct imap_seq_range *r = xcalloc(n_known + 1, sizeof(*r));
	size_t n = 0;
	for (size_t i = 0; i < n_known; i++) {
		uint32_t a = known[i].lo == IMAP_SEQ_STAR ? hi : known[i].lo;
		uint32_t b = known[i].hi == IMAP_SEQ_STAR ? hi : known[i].hi;
		if (a > b) {
			uint32_t t = a;
			a = b;
			b = t;
		}
		if (a < lo)
			a = lo;
		if (b > hi)
			b = hi;
		if (a <= b)
			r[n++] = (struct imap_seq_range){ a, b };
	}
	qsort(r, n, sizeof(*r), range_cmp);
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		if (m > 0 && (uint64_t)r[m - 1].hi + 1 >= r[i].lo) {
			if (r[i].hi > r[m - 1].hi)
				r[m - 1].hi = r[i].hi;
		} else {
			r[m++] = r[i];
		}
	}
	*n_r = m;
	return r;
}

static void emit(struct buf *out, bool *any, uint64_t a, uint64_t b)
{
	if (*any)
		buf_append_c(out, ',');
	if (a == b)
		buf_printf(out, "%llu", (unsigned long long)a);
	else
		buf_printf(out, "%llu:%llu", (unsigned long long)a,
			   (unsigned long long)b);
	*any = true;
}

bool imap_qresync_missing(struct buf *out, const struct imap_seq_range *known,
			  size_t n_known, uint32_t lo, uint32_t hi,
			  const uint32_t *uids, size_t n_uids)
{
	bool any = false;
	if (lo == 0)
		lo = 1;
	if (lo > hi)
		return false;
	size_t n;
	struct imap_seq_range *r = known_normalise(known, n_known, lo, hi, &n);
	size_t j = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t cur = r[i].lo, end = r[i].hi;
		while (j < n_uids && uids[j] < cur)
			j++;
		while (cur <= end) {
			if (j < n_uids && uids[j] <= end) {
				if (uids[j] > cur)
					emit(out, &any, cur, uids[j] - 1);
				cur = (uint64_t)uids[j] + 1;
				j++;
			} else {
				emit(out, &any, cur, end);
				break;
			}
		}
	}
	free(r);
	return any;
}

static uint64_t set_size(const struct imap_seq_range *r, size_t n,
			 uint32_t star)
{
	uint64_t total = 0;
	for (size_t i = 0; i < n; i++) {
		uint32_t a = r[i].lo == IMAP_SEQ_STAR ? star : r[i].lo;
		uint32_t b = r[i].hi == IMAP_SEQ_STAR ? star : r[i].hi;
		total += (a > b ? a - b : b - a) + 1ull;
	}
	return total;
}

/* Walks a set in the client's order, one number at a time. */
struct set_walk {
	const struct imap_seq_range *r;
	size_t n, i;
	uint64_t next;
	uint32_t star;
};

static bool walk_next(struct set_walk *w, uint32_t *v)
{
	while (w->i < w->n) {
		uint32_t a = w->r[w->i].lo == IMAP_SEQ_STAR ? w->star :
			w->r[w->i].lo;
		uint32_t b = w->r[w->i].hi == IMAP_SEQ_STAR ? w->star :
			w->r[w->i].hi;
		if (a > b) {
			uint32_t t = a;
			a = b;
			b = t;
		}
		if (w->next < a)
			w->next = a;
		if (w->next <= b) {
			*v = (uint32_t)w->next++;
			return true;
		}
		w->i++;
		w->next = 0;
	}
	return false;
}

int imap_qresync_match_floor(const struct imap_seq_range *seqs, size_t n_seqs,
			     const struct imap_seq_range *uidr, size_t n_uidr,
			     const uint32_t *uids, size_t n_uids,
			     uint32_t *floor_r)
{
	uint32_t last_uid = n_uids > 0 ? uids[n_uids - 1] : 0;
	uint64_t ns = set_size(seqs, n_seqs, (uint32_t)n_uids);
	uint64_t nu = set_size(uidr, n_uidr, last_uid);
	*floor_r = 0;
	if (ns != nu || ns > IMAP_QRESYNC_MAX_PAIRS)
		return -1;
	struct set_walk ws = { seqs, n_seqs, 0, 0, (uint32_t)n_uids };
	struct set_walk wu = { uidr, n_uidr, 0, 0, last_uid };
	uint32_t seq, uid;
	while (walk_next(&ws, &seq) && walk_next(&wu, &uid)) {
		if (seq >= 1 && seq <= n_uids && uids[seq - 1] == uid &&
		    uid > *floor_r)
			*floor_r = uid;
	}
	return 0;
}
