/* Sequence and UID sets against the session's view (see imap-msgset.h).
 * Work is O(ranges * log(messages) + messages), never per number in a
 * range, so "1:4294967295" costs no more than "1". */
#include "imap-msgset.h"

#include <stdlib.h>
#include <string.h>

uint32_t imap_client_seq(const struct imap_client *client, uint32_t uid)
{
	size_t lo = 0, hi = client->n_uids;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (client->uids[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < client->n_uids && client->uids[lo] == uid ?
		(uint32_t)lo + 1 : 0;
}

/* Index of the first uid >= v. */
static size_t lower_bound(const uint32_t *uids, size_t n, uint32_t v)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (uids[mid] < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* "$" (RFC 5182): the saved search result, less what was expunged since;
 * the same for sequence and UID commands. */
static int saved_set(struct imap_cmd *cmd, struct imap_msgset *ms)
{
	const struct imap_client *client = cmd->client;
	size_t n = client->n_saved_uids;
	ms->uids = imap_pool_alloc(&cmd->pool, (n + 1) * sizeof(uint32_t));
	ms->ranges = imap_pool_alloc(&cmd->pool, (n + 1) * sizeof(*ms->ranges));
	Stratus__IndexUidRange *cur = NULL;
	uint32_t prev_seq = 0;
	for (size_t i = 0; i < n; i++) {
		uint32_t uid = client->saved_uids[i];
		uint32_t seq = imap_client_seq(client, uid);
		if (seq == 0)
			continue;
		ms->uids[ms->n_uids++] = uid;
		if (cur == NULL || seq != prev_seq + 1) {
			cur = imap_pool_alloc(&cmd->pool, sizeof(*cur));
			stratus__index_uid_range__init(cur);
			cur->first = uid;
			ms->ranges[ms->n_ranges++] = cur;
		}
		cur->last = uid;
		prev_seq = seq;
	}
	return 0;
}

int imap_msgset_parse(struct imap_cmd *cmd, const char *set, bool uid,
		      struct imap_msgset *ms, const char **error_r)
{
	const struct imap_client *client = cmd->client;
	size_t n = client->n_uids;
	struct imap_seq_range *r;
	size_t nr;

	memset(ms, 0, sizeof(*ms));
	if (strcmp(set, "$") == 0)
		return saved_set(cmd, ms);
	if (imap_seqset_parse(set, &cmd->pool, &r, &nr, error_r) < 0)
		return -1;
	/* Mark the session's messages the set names: a difference array
	 * over sequence positions. */
	int *mark = xcalloc(n + 1, sizeof(int));
	for (size_t i = 0; i < nr; i++) {
		uint32_t lo = r[i].lo, hi = r[i].hi;
		size_t from, to;	/* [from, to) positions */
		if (uid) {
			/* '*' is the highest UID in use; "n:*" with n above
			 * it still means that one message (RFC 3501 6.4.8). */
			uint32_t max = n > 0 ? client->uids[n - 1] : 0;
			if (hi == IMAP_SEQ_STAR)
				hi = max;
			if (lo == IMAP_SEQ_STAR)
				lo = max;
			if (lo > hi) {
				uint32_t t = lo;
				lo = hi;
				hi = t;
			}
			from = lower_bound(client->uids, n, lo);
			to = hi == UINT32_MAX ? n :
				lower_bound(client->uids, n, hi + 1);
		} else {
			if (lo == IMAP_SEQ_STAR)
				lo = (uint32_t)n;
			if (hi == IMAP_SEQ_STAR)
				hi = (uint32_t)n;
			if (lo > hi) {
				uint32_t t = lo;
				lo = hi;
				hi = t;
			}
			if (lo == 0 || hi > n) {
				free(mark);
				*error_r = "Invalid messageset";
				return -1;
			}
			from = lo - 1;
			to = hi;
		}
		if (from < to) {
			mark[from]++;
			mark[to]--;
		}
	}
	size_t count = 0, runs = 0;
	int level = 0;
	bool prev = false;
	for (size_t i = 0; i < n; i++) {
		level += mark[i];
		bool in = level > 0;
		count += in;
		runs += in && !prev;
		prev = in;
	}
	ms->uids = imap_pool_alloc(&cmd->pool, (count + 1) * sizeof(uint32_t));
	ms->ranges = imap_pool_alloc(&cmd->pool,
				     (runs + 1) * sizeof(*ms->ranges));
	level = 0;
	prev = false;
	Stratus__IndexUidRange *cur = NULL;
	for (size_t i = 0; i < n; i++) {
		level += mark[i];
		bool in = level > 0;
		if (in) {
			ms->uids[ms->n_uids++] = client->uids[i];
			if (!prev) {
				cur = imap_pool_alloc(&cmd->pool, sizeof(*cur));
				stratus__index_uid_range__init(cur);
				cur->first = client->uids[i];
				ms->ranges[ms->n_ranges++] = cur;
			}
			cur->last = client->uids[i];
		}
		prev = in;
	}
	free(mark);
	return 0;
}
