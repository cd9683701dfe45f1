/* The tracking store's in-memory form and its text encoding (see
 * lmtp-sieve-tracking.h). A user has few entries (one per vacation sender
 * per period), so a flat array searched linearly is enough. */
#include "lmtp-sieve-tracking.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct lmtp_sieve_tracking_entry {
	char *key;
	time_t expires;
};

struct lmtp_sieve_tracking {
	struct lmtp_sieve_tracking_entry *entries;
	size_t n;
	char **skip;
	size_t n_skip;
	bool dirty;
};

struct lmtp_sieve_tracking *lmtp_sieve_tracking_new(void)
{
	return xcalloc(1, sizeof(struct lmtp_sieve_tracking));
}

void lmtp_sieve_tracking_free(struct lmtp_sieve_tracking **_tr)
{
	struct lmtp_sieve_tracking *tr = *_tr;
	if (tr == NULL)
		return;
	*_tr = NULL;
	for (size_t i = 0; i < tr->n; i++)
		free(tr->entries[i].key);
	for (size_t i = 0; i < tr->n_skip; i++)
		free(tr->skip[i]);
	free(tr->entries);
	free(tr->skip);
	free(tr);
}

static struct lmtp_sieve_tracking_entry *
lmtp_sieve_tracking_find(struct lmtp_sieve_tracking *tr, const char *key)
{
	for (size_t i = 0; i < tr->n; i++) {
		if (strcmp(tr->entries[i].key, key) == 0)
			return &tr->entries[i];
	}
	return NULL;
}

static void lmtp_sieve_tracking_set(struct lmtp_sieve_tracking *tr,
				    const char *key, size_t key_len,
				    time_t expires)
{
	char *k = xstrndup(key, key_len);
	struct lmtp_sieve_tracking_entry *e = lmtp_sieve_tracking_find(tr, k);
	if (e != NULL) {
		free(k);
		if (expires > e->expires)
			e->expires = expires;
		return;
	}
	tr->entries = xreallocarray(tr->entries, tr->n + 1,
				    sizeof(*tr->entries));
	tr->entries[tr->n].key = k;
	tr->entries[tr->n++].expires = expires;
}

void lmtp_sieve_tracking_load(struct lmtp_sieve_tracking *tr,
			      const char *data, size_t len, time_t now)
{
	const char *p = data, *end = data + len;
	while (p < end && tr->n < LMTP_SIEVE_TRACKING_MAX_ENTRIES) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *line_end = nl != NULL ? nl : end;
		char *sp;
		long long exp = strtoll(p, &sp, 10);
		if (sp < line_end && *sp == ' ' && sp + 1 < line_end &&
		    line_end - (sp + 1) <= LMTP_SIEVE_TRACKING_MAX_KEY &&
		    exp > (long long)now && memchr(sp + 1, '\0',
				(size_t)(line_end - sp - 1)) == NULL)
			lmtp_sieve_tracking_set(tr, sp + 1,
						(size_t)(line_end - sp - 1),
						(time_t)exp);
		p = line_end + 1;
	}
}

void lmtp_sieve_tracking_skip(struct lmtp_sieve_tracking *tr,
			      const char *prefix, const char *suffix)
{
	tr->skip = xreallocarray(tr->skip, tr->n_skip + 2, sizeof(*tr->skip));
	tr->skip[tr->n_skip++] = xstrdup(prefix);
	tr->skip[tr->n_skip++] = xstrdup(suffix);
}

static bool lmtp_sieve_tracking_skipped(const struct lmtp_sieve_tracking *tr,
					const char *key, size_t len)
{
	for (size_t i = 0; i + 1 < tr->n_skip; i += 2) {
		size_t pl = strlen(tr->skip[i]), sl = strlen(tr->skip[i + 1]);
		if (len >= pl + sl && strncmp(key, tr->skip[i], pl) == 0 &&
		    strcasecmp(key + len - sl, tr->skip[i + 1]) == 0)
			return true;
	}
	return false;
}

bool lmtp_sieve_tracking_dirty(const struct lmtp_sieve_tracking *tr)
{
	return tr->dirty;
}

static int lmtp_sieve_tracking_cmp(const void *a, const void *b)
{
	const struct lmtp_sieve_tracking_entry *x = a, *y = b;
	return x->expires < y->expires ? 1 : x->expires > y->expires ? -1 : 0;
}

void lmtp_sieve_tracking_save(struct lmtp_sieve_tracking *tr, time_t now,
			      struct buf *out)
{
	qsort(tr->entries, tr->n, sizeof(*tr->entries),
	      lmtp_sieve_tracking_cmp);
	size_t kept = 0;
	for (size_t i = 0; i < tr->n; i++) {
		if (tr->entries[i].expires <= now ||
		    kept >= LMTP_SIEVE_TRACKING_MAX_ENTRIES)
			continue;
		buf_printf(out, "%" PRId64 " %s\n",
			   (int64_t)tr->entries[i].expires, tr->entries[i].key);
		kept++;
	}
}

static bool lmtp_sieve_tracking_seen(void *ctx, const char *key, time_t now)
{
	struct lmtp_sieve_tracking_entry *e = lmtp_sieve_tracking_find(ctx, key);
	return e != NULL && e->expires > now;
}

static void lmtp_sieve_tracking_mark(void *ctx, const char *key,
				     time_t expires)
{
	struct lmtp_sieve_tracking *tr = ctx;
	size_t len = strlen(key);
	if (len == 0 || len > LMTP_SIEVE_TRACKING_MAX_KEY ||
	    strchr(key, '\n') != NULL)
		return;
	if (lmtp_sieve_tracking_skipped(tr, key, len))
		return;
	lmtp_sieve_tracking_set(tr, key, len, expires);
	tr->dirty = true;
}

const struct sieve_tracking_ops lmtp_sieve_tracking_ops = {
	.seen = lmtp_sieve_tracking_seen,
	.mark = lmtp_sieve_tracking_mark,
};
