/* Per-user/IP connection counting (see auth-anvil.h). Counts live in
 * one table keyed "protocol\tip\tuser"; each RPC connection keeps its
 * own table of what it holds, values being counts cast to pointers. */
#include "auth-anvil.h"
#include "auth-hash.h"
#include "buf.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>

struct auth_anvil {
	struct auth_hash *counts;	/* key -> count */
	struct auth_hash *conns;	/* "conn_id" -> auth_hash key -> count */
	unsigned int total;
};

struct auth_anvil *auth_anvil_new(void)
{
	struct auth_anvil *a = xcalloc(1, sizeof(*a));
	a->counts = auth_hash_new();
	a->conns = auth_hash_new();
	return a;
}

static void conn_table_free(void *value)
{
	struct auth_hash *h = value;
	auth_hash_free(&h, NULL);
}

void auth_anvil_free(struct auth_anvil **_a)
{
	struct auth_anvil *a = *_a;
	if (a == NULL)
		return;
	*_a = NULL;
	auth_hash_free(&a->counts, NULL);
	auth_hash_free(&a->conns, conn_table_free);
	free(a);
}

static unsigned int get_count(struct auth_hash *h, const char *key)
{
	return (unsigned int)(uintptr_t)auth_hash_get(h, key);
}

static void set_count(struct auth_hash *h, const char *key, unsigned int n)
{
	if (n == 0)
		auth_hash_remove(h, key);
	else
		auth_hash_set(h, key, (void *)(uintptr_t)n);
}

bool auth_anvil_connect(struct auth_anvil *a, uint64_t conn_id,
			const char *protocol, const char *ip,
			const char *user, unsigned int limit,
			unsigned int *count_r)
{
	char *key = xasprintf("%s\t%s\t%s", protocol, ip, user);
	unsigned int n = get_count(a->counts, key);
	if (limit > 0 && n >= limit) {
		*count_r = n;
		free(key);
		return false;
	}
	set_count(a->counts, key, n + 1);
	char id[32];
	snprintf(id, sizeof(id), "%llu", (unsigned long long)conn_id);
	struct auth_hash *held = auth_hash_get(a->conns, id);
	if (held == NULL) {
		held = auth_hash_new();
		auth_hash_set(a->conns, id, held);
	}
	set_count(held, key, get_count(held, key) + 1);
	a->total++;
	*count_r = n + 1;
	free(key);
	return true;
}

void auth_anvil_release(struct auth_anvil *a, uint64_t conn_id,
			const char *protocol, const char *ip,
			const char *user, unsigned int *count_r)
{
	char *key = xasprintf("%s\t%s\t%s", protocol, ip, user);
	char id[32];
	snprintf(id, sizeof(id), "%llu", (unsigned long long)conn_id);
	struct auth_hash *held = auth_hash_get(a->conns, id);
	unsigned int h = held != NULL ? get_count(held, key) : 0;
	unsigned int n = get_count(a->counts, key);
	if (h > 0 && n > 0) {
		set_count(held, key, h - 1);
		set_count(a->counts, key, n - 1);
		a->total--;
		n--;
	}
	*count_r = n;
	free(key);
}

struct release_ctx {
	struct auth_anvil *a;
};

static int release_all(const char *key, void *value, void *ctx)
{
	struct release_ctx *rc = ctx;
	unsigned int h = (unsigned int)(uintptr_t)value;
	unsigned int n = get_count(rc->a->counts, key);
	unsigned int drop = h < n ? h : n;
	set_count(rc->a->counts, key, n - drop);
	rc->a->total -= drop;
	return 1;
}

void auth_anvil_conn_closed(struct auth_anvil *a, uint64_t conn_id)
{
	char id[32];
	snprintf(id, sizeof(id), "%llu", (unsigned long long)conn_id);
	struct auth_hash *held = auth_hash_remove(a->conns, id);
	if (held == NULL)
		return;
	struct release_ctx rc = { a };
	auth_hash_foreach(held, release_all, &rc);
	auth_hash_free(&held, NULL);
}

unsigned int auth_anvil_total(const struct auth_anvil *a)
{
	return a->total;
}

struct foreach_ctx {
	auth_anvil_entry_cb *cb;
	void *ctx;
};

static int foreach_entry(const char *key, void *value, void *ctx)
{
	struct foreach_ctx *fc = ctx;
	/* key is "protocol\tip\tuser" (auth_anvil_connect) */
	const char *t1 = strchr(key, '\t');
	const char *t2 = t1 != NULL ? strchr(t1 + 1, '\t') : NULL;
	if (t2 == NULL)
		return 0;
	char *protocol = xstrndup(key, (size_t)(t1 - key));
	char *ip = xstrndup(t1 + 1, (size_t)(t2 - t1 - 1));
	fc->cb(protocol, ip, t2 + 1, (unsigned int)(uintptr_t)value, fc->ctx);
	free(protocol);
	free(ip);
	return 0;
}

void auth_anvil_foreach(struct auth_anvil *a, auth_anvil_entry_cb *cb,
			void *ctx)
{
	struct foreach_ctx fc = { cb, ctx };
	auth_hash_foreach(a->counts, foreach_entry, &fc);
}
