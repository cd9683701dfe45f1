/* Per-user quota state: the user's rules (config rules overridden by the
 * userdb's quota_rule fields, e.g. the spec's prefetched
 * quota_rule=*:storage=%{ldap:messageQuotaHard}k), the usage summed from
 * svc-index's mailbox sizes, and the reservations of saves in flight.
 * Requests for a user that is loading wait for that one load. */
#include "quota-common.h"
#include "auth.pb-c.h"
#include "buf.h"
#include "index.pb-c.h"
#include "log.h"
#include "rpc-versions.h"

#include <stdlib.h>
#include <string.h>

/* Usage older than this is read again from svc-index before an answer:
 * IMAP expunges change it without telling us. */
#define QUOTA_USAGE_TTL_MS 1000
#define QUOTA_RULES_TTL_MS 60000
#define QUOTA_RPC_TIMEOUT_MS 10000
#define QUOTA_RESERVATION_TTL_MS 120000

struct quota_waiter {
	quota_user_ready_fn *cb;
	void *ctx;
	struct quota_waiter *next;
};

struct quota_reservation {
	uint64_t id, bytes, messages, expires;
	bool stored;
	uint64_t stored_at;	/* load generation when it was stored */
	struct quota_reservation *next;
};

struct quota_user {
	struct quota_ctx *q;
	char *name;
	struct quota_rules rules;
	bool have_rules, loading;
	uint64_t rules_at, usage_at, used_at, generation;
	uint64_t bytes, messages;
	uint64_t last_bytes, last_messages;
	bool have_last;
	struct quota_reservation *reservations;
	struct quota_waiter *waiters;
	struct quota_user *next;
};

const struct quota_rules *quota_user_rules(const struct quota_user *u)
{
	return &u->rules;
}

const char *quota_user_name(const struct quota_user *u)
{
	return u->name;
}

void quota_user_usage(const struct quota_user *u, bool with_reserved,
		      uint64_t *bytes_r, uint64_t *messages_r)
{
	*bytes_r = u->bytes;
	*messages_r = u->messages;
	if (!with_reserved)
		return;
	for (const struct quota_reservation *r = u->reservations; r; r = r->next) {
		*bytes_r += r->bytes;
		*messages_r += r->messages;
	}
}

uint64_t quota_user_reserve(struct quota_user *u, uint64_t bytes,
			    uint64_t messages)
{
	struct quota_reservation *r = xcalloc(1, sizeof(*r));
	r->id = ++u->q->next_reservation;
	r->bytes = bytes;
	r->messages = messages;
	r->expires = monotonic_ms() + QUOTA_RESERVATION_TTL_MS;
	r->next = u->reservations;
	u->reservations = r;
	return r->id;
}

bool quota_user_commit(struct quota_user *u, uint64_t id, bool stored)
{
	for (struct quota_reservation **p = &u->reservations; *p; p = &(*p)->next) {
		struct quota_reservation *r = *p;
		if (r->id != id)
			continue;
		if (stored && !r->stored) {
			/* Counted by svc-index from the next load on. */
			r->stored = true;
			r->stored_at = u->generation;
			return true;
		}
		*p = r->next;
		free(r);
		return true;
	}
	return false;
}

void quota_user_last_usage(struct quota_user *u, uint64_t **bytes_r,
			   uint64_t **messages_r)
{
	*bytes_r = &u->last_bytes;
	*messages_r = &u->last_messages;
}

/* Drops reservations that the finished load already counted, and those
 * whose saver vanished without a Commit. */
static void quota_user_prune(struct quota_user *u, uint64_t load_generation)
{
	uint64_t now = monotonic_ms();
	for (struct quota_reservation **p = &u->reservations; *p;) {
		struct quota_reservation *r = *p;
		if ((r->stored && r->stored_at < load_generation) ||
		    r->expires < now) {
			*p = r->next;
			free(r);
		} else {
			p = &r->next;
		}
	}
}

static void quota_user_finish(struct quota_user *u, const char *error)
{
	struct quota_waiter *w = u->waiters;
	u->waiters = NULL;
	u->loading = false;
	while (w != NULL) {
		struct quota_waiter *next = w->next;
		w->cb(u, error, w->ctx);
		free(w);
		w = next;
	}
}

static void quota_user_list_done(const struct rpc_reply *reply, void *ctx)
{
	struct quota_user *u = ctx;
	if (reply->status != STRATUS__STATUS__STATUS_OK) {
		log_error(&(struct log_ctx){ .user = u->name },
			  "quota: mailbox sizes from svc-index: %s",
			  reply->error);
		quota_user_finish(u, "mailbox sizes unavailable");
		return;
	}
	const Stratus__IndexListReply *r = (const void *)reply->msg;
	uint64_t bytes = 0, messages = 0;
	for (size_t i = 0; i < r->n_entries; i++) {
		const Stratus__IndexListEntry *e = r->entries[i];
		if (e->nonexistent || e->status == NULL ||
		    quota_rules_mailbox_ignored(&u->rules, e->name))
			continue;
		bytes += u->q->set.vsizes ? e->status->vsize :
					    e->status->psize;
		messages += e->status->messages;
	}
	uint64_t generation = u->generation++;
	u->bytes = bytes;
	u->messages = messages;
	u->usage_at = monotonic_ms();
	if (!u->have_last) {
		/* Warnings compare later usage with this first reading. */
		u->last_bytes = bytes;
		u->last_messages = messages;
		u->have_last = true;
	}
	quota_user_prune(u, generation + 1);
	quota_user_finish(u, NULL);
}

static void quota_user_load_usage(struct quota_user *u)
{
	static char *all[] = { "*" };
	Stratus__IndexListRequest req = STRATUS__INDEX_LIST_REQUEST__INIT;
	req.user = u->name;
	req.patterns = all;
	req.n_patterns = 1;
	req.with_status = true;
	/* Loads started after a Commit count that message: remember which
	 * reservations were stored before this load began. */
	u->generation++;
	rpc_client_call(u->q->index, (uint32_t)rpc_method_index(
			&stratus__index__descriptor, "MailboxList"), NULL,
			&req.base, NULL, 0, QUOTA_RPC_TIMEOUT_MS,
			quota_user_list_done, u);
}

static void quota_user_userdb_done(const struct rpc_reply *reply, void *ctx)
{
	struct quota_user *u = ctx;
	if (reply->status != STRATUS__STATUS__STATUS_OK) {
		log_error(&(struct log_ctx){ .user = u->name },
			  "quota: userdb lookup: %s", reply->error);
		quota_user_finish(u, "userdb lookup failed");
		return;
	}
	const Stratus__UserdbReply *r = (const void *)reply->msg;
	quota_rules_free(&u->rules);
	quota_rules_copy(&u->rules, &u->q->set.rules);
	for (size_t i = 0; r->found && i < r->n_fields; i++) {
		const char *key = r->fields[i]->key;
		if (strncmp(key, "quota_rule", 10) != 0)
			continue;
		char *error = NULL;
		if (quota_rule_parse(&u->rules, r->fields[i]->value, &error) < 0) {
			/* A bad per-user rule must not lock the user out. */
			log_error(&(struct log_ctx){ .user = u->name },
				  "quota: userdb %s: %s", key, error);
			free(error);
		}
	}
	u->have_rules = true;
	u->rules_at = monotonic_ms();
	quota_user_load_usage(u);
}

static void quota_user_load(struct quota_user *u)
{
	u->loading = true;
	if (u->have_rules && monotonic_ms() - u->rules_at < QUOTA_RULES_TTL_MS) {
		quota_user_load_usage(u);
		return;
	}
	Stratus__UserdbRequest req = STRATUS__USERDB_REQUEST__INIT;
	req.user = u->name;
	req.protocol = "quota";
	rpc_client_call(u->q->auth, (uint32_t)rpc_method_index(
			&stratus__auth__descriptor, "UserdbLookup"), NULL,
			&req.base, NULL, 0, QUOTA_RPC_TIMEOUT_MS,
			quota_user_userdb_done, u);
}

static struct quota_user *quota_user_lookup(struct quota_ctx *q,
					    const char *name);

static struct quota_user *quota_user_find(struct quota_ctx *q,
					  const char *name)
{
	struct quota_user *u = quota_user_lookup(q, name);
	if (u != NULL)
		return u;
	u = xcalloc(1, sizeof(*u));
	u->q = q;
	u->name = xstrdup(name);
	u->next = q->users;
	q->users = u;
	return u;
}

static void quota_user_deferred(void *ctx)
{
	quota_user_finish(ctx, NULL);
}

static void quota_user_finish_later(struct quota_user *u)
{
	loop_defer(u->q->svc->loop, quota_user_deferred, u);
}

static void quota_user_free(struct quota_user *u)
{
	while (u->reservations != NULL) {
		struct quota_reservation *r = u->reservations;
		u->reservations = r->next;
		free(r);
	}
	while (u->waiters != NULL) {
		struct quota_waiter *w = u->waiters;
		u->waiters = w->next;
		free(w);
	}
	quota_rules_free(&u->rules);
	free(u->name);
	free(u);
}

/* Forgets users nobody asked about for a while; their usage is read
 * again from svc-index when they come back. */
void quota_users_expire(struct quota_ctx *q, uint64_t idle_ms)
{
	uint64_t now = monotonic_ms();
	for (struct quota_user **p = &q->users; *p;) {
		struct quota_user *u = *p;
		if (!u->loading && u->waiters == NULL &&
		    u->reservations == NULL && now - u->used_at > idle_ms) {
			*p = u->next;
			quota_user_free(u);
		} else {
			p = &u->next;
		}
	}
}

void quota_users_free(struct quota_ctx *q)
{
	while (q->users != NULL) {
		struct quota_user *u = q->users;
		q->users = u->next;
		quota_user_free(u);
	}
}

void quota_user_get(struct quota_ctx *q, const char *name, bool force,
		    quota_user_ready_fn *cb, void *cb_ctx)
{
	struct quota_user *u = quota_user_find(q, name);
	u->used_at = monotonic_ms();
	struct quota_waiter *w = xcalloc(1, sizeof(*w));
	w->cb = cb;
	w->ctx = cb_ctx;
	w->next = u->waiters;
	u->waiters = w;
	if (u->loading)
		return;
	if (!force && u->usage_at != 0 &&
	    monotonic_ms() - u->usage_at < QUOTA_USAGE_TTL_MS) {
		/* Fresh enough: answer from the loop, never re-entrantly. */
		u->loading = true;
		quota_user_finish_later(u);
		return;
	}
	quota_user_load(u);
}

static struct quota_user *quota_user_lookup(struct quota_ctx *q,
					    const char *name)
{
	for (struct quota_user *u = q->users; u != NULL; u = u->next) {
		if (strcmp(u->name, name) == 0)
			return u;
	}
	return NULL;
}

bool quota_users_commit(struct quota_ctx *q, const char *name, uint64_t id,
			bool stored)
{
	struct quota_user *u = quota_user_lookup(q, name);
	return u != NULL && quota_user_commit(u, id, stored);
}

bool quota_users_cached_usage(struct quota_ctx *q, const char *name,
			      uint64_t *bytes_r, uint64_t *messages_r)
{
	struct quota_user *u = quota_user_lookup(q, name);
	if (u == NULL || u->usage_at == 0)
		return false;
	quota_user_usage(u, false, bytes_r, messages_r);
	return true;
}
