/* Per-user quota state: the user's rules (config rules overridden by the
 * userdb's quota_rule fields, e.g. the spec's prefetched
 * quota_rule=*:storage=%{ldap:messageQuotaHard}k), the usage summed from
 * svc-index's mailbox sizes, and the reservations of saves in flight.
 * Once a user's usage is known, answers come from memory (the loaded
 * usage plus the saves committed since: exact), and a stale usage is
 * read again in the background, so a delivery never waits for svc-index.
 * Only the first request, forced ones (a change we were told about:
 * Changed, Recalc) and requests that come after a forced one wait for a
 * load. */
#include "quota-common.h"
#include "auth.pb-c.h"
#include "buf.h"
#include "index.pb-c.h"
#include "log.h"
#include "rpc-versions.h"

#include <stdlib.h>
#include <string.h>

/* Usage older than this is read again from svc-index, in the background:
 * savers and expungers tell us (Commit, Changed), but a mailbox DELETE or
 * an admin's change does not. */
#define QUOTA_USAGE_TTL_MS 5000
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
	bool load_forced;	/* the running load follows a reported change */
	uint64_t rules_at, usage_at, used_at, generation;
	uint64_t load_generation;	/* generation the running load began */
	uint64_t bytes, messages;
	uint64_t last_bytes, last_messages;
	bool have_last;
	struct quota_reservation *reservations;
	struct quota_waiter *waiters;	/* wait for the running load */
	struct quota_waiter *next_waiters;	/* for a load begun after it */
	struct quota_waiter *ready;	/* answered from memory, from the loop */
	bool ready_queued;
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
	for (const struct quota_reservation *r = u->reservations; r; r = r->next) {
		if (!with_reserved && !r->stored)
			continue;
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

/* Drops reservations that the finished load already counted (stored
 * before it began: the saver's index append was done by then), and those
 * whose saver vanished without a Commit. One stored while the load ran
 * may or may not be in its result, so it stays until the next load. */
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

static void quota_waiters_call(struct quota_user *u, struct quota_waiter *w,
			       const char *error)
{
	while (w != NULL) {
		struct quota_waiter *next = w->next;
		w->cb(u, error, w->ctx);
		free(w);
		w = next;
	}
}

static void quota_user_load(struct quota_user *u);

/* The load ended: answer its waiters, then start the one that requests
 * forced while it ran are waiting for. */
static void quota_user_finish(struct quota_user *u, const char *error)
{
	struct quota_waiter *w = u->waiters;
	u->waiters = NULL;
	u->loading = false;
	quota_waiters_call(u, w, error);
	if (u->next_waiters == NULL)
		return;
	struct quota_waiter **tail = &u->waiters;
	while (*tail != NULL)
		tail = &(*tail)->next;
	*tail = u->next_waiters;
	u->next_waiters = NULL;
	if (!u->loading) {
		u->load_forced = true;
		quota_user_load(u);
	}
}

/* A reservation stored while the load ran may be in its result too:
 * counted twice (never too little) until the next load. Background loads
 * wait until no save is in flight (quota_user_saving), which makes this
 * rare; forced loads cannot wait. */
static bool quota_user_ambiguous(const struct quota_user *u)
{
	for (const struct quota_reservation *r = u->reservations; r; r = r->next) {
		if (r->stored && r->stored_at >= u->load_generation)
			return true;
	}
	return false;
}

static bool quota_user_saving(const struct quota_user *u)
{
	for (const struct quota_reservation *r = u->reservations; r; r = r->next) {
		if (!r->stored)
			return true;
	}
	return false;
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
	u->bytes = bytes;
	u->messages = messages;
	u->usage_at = monotonic_ms();
	quota_user_prune(u, u->load_generation);
	if (quota_user_ambiguous(u))
		u->usage_at -= QUOTA_USAGE_TTL_MS;	/* read again soon */
	if (!u->have_last) {
		/* Warnings compare later usage with this first reading. */
		quota_user_usage(u, false, &u->last_bytes, &u->last_messages);
		u->have_last = true;
	}
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
	u->load_generation = ++u->generation;
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

static void quota_user_ready(void *ctx)
{
	struct quota_user *u = ctx;
	struct quota_waiter *w = u->ready;
	u->ready = NULL;
	u->ready_queued = false;
	quota_waiters_call(u, w, NULL);
}

static void quota_waiters_free(struct quota_waiter *w)
{
	while (w != NULL) {
		struct quota_waiter *next = w->next;
		free(w);
		w = next;
	}
}

static void quota_user_free(struct quota_user *u)
{
	while (u->reservations != NULL) {
		struct quota_reservation *r = u->reservations;
		u->reservations = r->next;
		free(r);
	}
	quota_waiters_free(u->waiters);
	quota_waiters_free(u->next_waiters);
	quota_waiters_free(u->ready);
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
		if (!u->loading && u->waiters == NULL && !u->ready_queued &&
		    u->next_waiters == NULL && u->reservations == NULL &&
		    now - u->used_at > idle_ms) {
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
	uint64_t now = monotonic_ms();
	u->used_at = now;
	struct quota_waiter *w = xcalloc(1, sizeof(*w));
	w->cb = cb;
	w->ctx = cb_ctx;
	if (!force && u->next_waiters != NULL) {
		/* After a reported change: answer with what it changed. */
		w->next = u->next_waiters;
		u->next_waiters = w;
		return;
	}
	if (!force && u->usage_at != 0 && !(u->loading && u->load_forced)) {
		/* Known: answer from the loop, never re-entrantly. */
		w->next = u->ready;
		u->ready = w;
		if (!u->ready_queued) {
			u->ready_queued = true;
			loop_defer(q->svc->loop, quota_user_ready, u);
		}
		if (!u->loading && now - u->usage_at >= QUOTA_USAGE_TTL_MS &&
		    !quota_user_saving(u)) {
			u->load_forced = false;
			quota_user_load(u);
		}
		return;
	}
	if (force && u->loading) {
		/* The running load may have begun before the change. */
		w->next = u->next_waiters;
		u->next_waiters = w;
		return;
	}
	w->next = u->waiters;
	u->waiters = w;
	if (!u->loading) {
		u->load_forced = force;
		quota_user_load(u);
	}
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

struct quota_user *quota_users_commit(struct quota_ctx *q, const char *name,
				      uint64_t id, bool stored)
{
	struct quota_user *u = quota_user_lookup(q, name);
	return u != NULL && quota_user_commit(u, id, stored) ? u : NULL;
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

/* After a reload changed the config's rules: a user not loading now is
 * loaded again (rules from the config and the userdb, usage from
 * svc-index) by its next request, which waits for it, so the new rules
 * answer at once; one loading now re-reads its rules at its next load. */
void quota_users_rules_changed(struct quota_ctx *q)
{
	for (struct quota_user *u = q->users; u != NULL; u = u->next) {
		u->rules_at = 0;
		if (!u->loading) {
			u->have_rules = false;
			u->usage_at = 0;
		}
	}
}
