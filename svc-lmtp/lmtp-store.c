/* Stores one recipient's copy of a delivered message. The steps, each an
 * asynchronous RPC answered from the loop:
 *   1. svc-index MailboxStatus of the target (the detail folder with
 *      lmtp_save_to_detail_mailbox; created with lda_mailbox_autocreate,
 *      else INBOX): its GUID names the object.
 *      Started already when the recipient was accepted (RCPT), so that
 *      its answer usually waits for the message rather than the other
 *      way round (lmtp_store_prefetch).
 *   2. svc-quota Check (only when quota is enabled): reserves the size.
 *   3. svc-blob Put of "<mailbox-guid>/<message-guid>" with BlobMeta.
 *   4. svc-index Append of the object id; then svc-quota Commit.
 * The recipient's 250 comes only after 3 and 4 succeeded. When the append
 * is refused the object is deleted again, so nothing half-done remains;
 * when svc-index went away without answering, the append may have
 * happened, and deleting the object could leave a visible message without
 * a body, so the object is left for a rebuild to find (logged).
 * With several recipients the message is one shared object instead
 * (lmtp-share.c): step 3 is one PUT for all of them, and a refused
 * append gives the recipient's reference back rather than deleting. */
#include "lmtp-rpc.h"
#include "lmtp-message.h"
#include "lmtp-cache.h"
#include "lmtp-share.h"
#include "guid.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "blob.pb-c.h"
#include "index.pb-c.h"
#include "quota.pb-c.h"

#define LMTP_GUID_LEN GUID_HEX_LEN

struct lmtp_store {
	struct lmtp_server *server;
	struct lmtp_rpc_backend *be;
	struct lmtp_client *client;
	struct lmtp_rcpt *rcpt;
	lmtp_deliver_cb *cb;
	struct log_ctx log;	/* the recipient as the user */
	char *mailbox;
	char *mailbox_guid;
	char guid[LMTP_GUID_LEN + 1];
	char *key;
	char *object_id;
	int64_t received_time;
	struct lmtp_message msg;	/* this recipient's own copy, or */
	struct lmtp_share *share;	/* the transaction's shared one */
	const struct lmtp_message *m;	/* &msg or &share->msg */
	uint64_t reservation;
	bool created;
	bool force_create;	/* Sieve fileinto :create */
	char **flags;		/* Sieve imap4flags */
	size_t n_flags;
	lmtp_store_done_fn *done;	/* instead of cb when set */
	void *done_ctx;
};

static void lmtp_store_status(struct lmtp_store *st);
static void lmtp_store_check(struct lmtp_store *st);

/* A MailboxStatus of the recipient's mailbox started at RCPT. Owned by
 * the recipient (backend_data) and by the call in flight. */
struct lmtp_prefetch {
	int refcount;
	struct lmtp_rpc_backend *be;
	struct lmtp_prefetch *prev, *next;	/* be->prefetches: in flight */
	bool done;
	char *mailbox;
	char *guid;		/* NULL: no usable answer; ask again */
	struct lmtp_store *waiter;	/* a store waiting for the answer */
	struct lmtp_share *share;	/* the transaction's shared message */
};

static void lmtp_store_context(const struct lmtp_store *st,
			       Stratus__Context *ctx)
{
	lmtp_rpc_context(st->client, st->rcpt->user, ctx);
}

static void lmtp_store_finish(struct lmtp_store *st, enum lmtp_result result,
			      const char *error)
{
	if (st->done != NULL)
		st->done(st->done_ctx, result, error);
	else
		st->cb(st->client, st->rcpt, result, error);
	for (size_t i = 0; i < st->n_flags; i++)
		free(st->flags[i]);
	free(st->flags);
	lmtp_message_free(&st->msg);
	lmtp_share_unref(&st->share);
	free(st->mailbox);
	free(st->mailbox_guid);
	free(st->key);
	free(st->object_id);
	free(st);
}

/* Releases or confirms the quota reservation (no answer awaited: a lost
 * Commit only delays svc-quota's view until its next recount). */
static void lmtp_store_quota_commit(struct lmtp_store *st, bool stored)
{
	if (!st->server->set.quota_enabled || st->reservation == 0)
		return;
	Stratus__QuotaCommitRequest req = STRATUS__QUOTA_COMMIT_REQUEST__INIT;
	Stratus__Context ctx;
	lmtp_store_context(st, &ctx);
	req.user = st->rcpt->user;
	req.reservation = st->reservation;
	req.stored = stored;
	rpc_client_call(st->be->sc.quota, st->be->sc.m.quota_commit, &ctx,
			&req.base, NULL, 0, RPC_DEFAULT_TIMEOUT_MS,
			storage_ignore_reply, NULL);
	st->reservation = 0;
}

static void lmtp_store_delete_object(struct lmtp_store *st)
{
	Stratus__Context ctx;
	lmtp_store_context(st, &ctx);
	storage_blob_delete(&st->be->sc, &ctx, st->rcpt->user, &st->key, 1);
}

/* mail_log's line for the save (lib/mail/mail-log.c, Dovecot's format). */
static void lmtp_store_log_saved(struct lmtp_store *st, uint32_t uid)
{
	log_info(&st->log, "msgid=%s: saved mail to %s",
		 st->m->msgid != NULL ? st->m->msgid : "<unspecified>",
		 st->mailbox);
	if (!st->server->set.mail_log_save)
		return;
	struct mail_log_mail mail = {
		.box = st->mailbox,
		.uid = uid,
		.msgid = st->m->msgid,
		.from = st->m->from,
		.subject = st->m->subject,
		.size = st->m->physical_size,
		.vsize = st->m->virtual_size,
		.flags = (const char *const *)st->flags,
		.n_flags = st->n_flags,
	};
	struct buf line = BUF_INIT;
	mail_log_format(&st->be->mail_log, "saved", &mail, &line);
	log_info(&st->log, "%s", line.data != NULL ? line.data : "saved");
	buf_free(&line);
}

/* ---- 4. Append ---- */

static void lmtp_store_append_reply(const struct rpc_reply *reply, void *ctx)
{
	struct lmtp_store *st = ctx;
	if (reply->status != STRATUS__STATUS__STATUS_OK) {
		st->be->n_append_failures++;
		bool uncertain =
			reply->status == STRATUS__STATUS__STATUS_UNAVAILABLE ||
			reply->status == STRATUS__STATUS__STATUS_TIMEOUT;
		if (uncertain) {
			log_warning(&st->log, "append of %s to %s: no answer "
				    "(%s); the object is kept for a rebuild",
				    st->key, st->mailbox,
				    rpc_status_name(reply->status));
			/* it may be referenced: never give it back */
			if (st->share != NULL)
				lmtp_share_referenced(st->share,
						      st->rcpt->user);
		} else if (st->share == NULL) {
			lmtp_store_delete_object(st);
		}
		lmtp_store_quota_commit(st, false);
		char *error = xasprintf("svc-index append to %s: %s", st->mailbox,
					reply->error != NULL ? reply->error :
					rpc_status_name(reply->status));
		lmtp_store_finish(st, LMTP_RESULT_TEMPFAIL, error);
		free(error);
		return;
	}
	const Stratus__IndexAppendReply *r = (const void *)reply->msg;
	uint32_t uid = r->n_uids > 0 ? r->uids[0] : 0;
	if (st->share != NULL)
		lmtp_share_referenced(st->share, st->rcpt->user);
	lmtp_store_quota_commit(st, true);
	lmtp_store_log_saved(st, uid);
	lmtp_store_finish(st, LMTP_RESULT_OK, NULL);
}

static void lmtp_store_append(struct lmtp_store *st)
{
	Stratus__IndexAppendRequest req = STRATUS__INDEX_APPEND_REQUEST__INIT;
	Stratus__IndexMessage m = STRATUS__INDEX_MESSAGE__INIT;
	Stratus__IndexMessage *msgs[] = { &m };
	Stratus__Context ctx;
	lmtp_store_context(st, &ctx);
	m.guid = st->guid;
	m.object_id = st->object_id;
	m.internal_date = st->received_time;
	m.physical_size = st->m->physical_size;
	m.virtual_size = st->m->virtual_size;
	m.flags = st->flags;
	m.n_flags = st->n_flags;
	/* Without a cache IMAP still works: it reads the body instead. */
	struct lmtp_cached cached = { 0 };
	const struct lmtp_cached *shared = st->share != NULL ?
		lmtp_share_cached(st->share) : NULL;
	if (shared != NULL) {
		m.cached = shared->fields;
		m.n_cached = shared->n_fields;
	} else if (st->share == NULL &&
		   lmtp_cached_build(st->msg.fd, (size_t)st->msg.physical_size,
				     &cached) == 0) {
		m.cached = cached.fields;
		m.n_cached = cached.n_fields;
	}
	req.user = st->rcpt->user;
	req.mailbox = st->mailbox;
	req.messages = msgs;
	req.n_messages = 1;
	rpc_client_call(st->be->sc.index, st->be->sc.m.index_append, &ctx,
			&req.base, NULL, 0, RPC_DEFAULT_TIMEOUT_MS,
			lmtp_store_append_reply, st);
	lmtp_cached_free(&cached);
}

/* ---- 3. Put ---- */

static void lmtp_store_put_reply(const struct rpc_reply *reply, void *ctx)
{
	struct lmtp_store *st = ctx;
	if (reply->status != STRATUS__STATUS__STATUS_OK) {
		st->be->n_put_failures++;
		lmtp_store_quota_commit(st, false);
		char *error = xasprintf("svc-blob put %s: %s", st->key,
					reply->error != NULL ? reply->error :
					rpc_status_name(reply->status));
		lmtp_store_finish(st, LMTP_RESULT_TEMPFAIL, error);
		free(error);
		return;
	}
	const Stratus__BlobPutReply *r = (const void *)reply->msg;
	st->object_id = xstrdup(*r->object_id != '\0' ? r->object_id :
				st->key);
	lmtp_store_append(st);
}

static void lmtp_store_shared(void *ctx, const char *object_id,
			      const char *error)
{
	struct lmtp_store *st = ctx;
	if (object_id == NULL) {
		lmtp_store_quota_commit(st, false);
		lmtp_store_finish(st, LMTP_RESULT_TEMPFAIL, error);
		return;
	}
	st->key = xstrdup(st->share->key);
	st->object_id = xstrdup(object_id);
	lmtp_store_append(st);
}

static void lmtp_store_put(struct lmtp_store *st)
{
	if (st->share != NULL) {
		lmtp_share_store(st->share, st->rcpt->user, st->mailbox_guid,
				 st->received_time, lmtp_store_shared, st);
		return;
	}
	Stratus__BlobPutRequest req = STRATUS__BLOB_PUT_REQUEST__INIT;
	Stratus__BlobMeta meta = STRATUS__BLOB_META__INIT;
	Stratus__Context ctx;
	lmtp_store_context(st, &ctx);
	meta.mailbox_guid = st->mailbox_guid;
	meta.received_date = st->received_time;
	meta.physical_size = st->msg.physical_size;
	meta.virtual_size = st->msg.virtual_size;
	meta.message_guid = st->guid;
	st->key = xasprintf("%s/%s", st->mailbox_guid, st->guid);
	req.chain = STRATUS__BLOB_CHAIN__CHAIN_MAIL;
	req.user = st->rcpt->user;
	req.key = st->key;
	req.meta = &meta;
	st->be->n_puts++;
	rpc_client_call(st->be->sc.blob, st->be->sc.m.blob_put, &ctx, &req.base,
			&st->msg.fd, 1, RPC_DEFAULT_TIMEOUT_MS,
			lmtp_store_put_reply, st);
}

/* ---- 2. Quota ---- */

static void lmtp_store_check_reply(const struct rpc_reply *reply, void *ctx)
{
	struct lmtp_store *st = ctx;
	if (reply->status != STRATUS__STATUS__STATUS_OK) {
		char *error = xasprintf("svc-quota check: %s",
					reply->error != NULL ? reply->error :
					rpc_status_name(reply->status));
		lmtp_store_finish(st, LMTP_RESULT_TEMPFAIL, error);
		free(error);
		return;
	}
	const Stratus__QuotaCheckReply *r = (const void *)reply->msg;
	if (!r->allowed) {
		log_info(&st->log, "msgid=%s: save failed to %s: %s",
			 st->m->msgid != NULL ? st->m->msgid :
			 "<unspecified>", st->mailbox, r->message);
		lmtp_store_finish(st, r->tempfail ? LMTP_RESULT_OVER_QUOTA_TEMP :
				  LMTP_RESULT_OVER_QUOTA,
				  *r->message != '\0' ? r->message : NULL);
		return;
	}
	st->reservation = r->reservation;
	lmtp_store_put(st);
}

static void lmtp_store_check(struct lmtp_store *st)
{
	if (!st->server->set.quota_enabled) {
		lmtp_store_put(st);
		return;
	}
	Stratus__QuotaCheckRequest req = STRATUS__QUOTA_CHECK_REQUEST__INIT;
	Stratus__Context ctx;
	lmtp_store_context(st, &ctx);
	req.user = st->rcpt->user;
	req.mailbox = st->mailbox;
	req.bytes = st->m->physical_size;
	req.messages = 1;
	req.delivery = true;
	rpc_client_call(st->be->sc.quota, st->be->sc.m.quota_check, &ctx,
			&req.base, NULL, 0, RPC_DEFAULT_TIMEOUT_MS,
			lmtp_store_check_reply, st);
}

/* ---- 1. The target mailbox ---- */

static void lmtp_store_fallback_inbox(struct lmtp_store *st)
{
	if (st->done != NULL)	/* Sieve: Pigeonhole logs the fallback */
		log_info(&st->log, "mailbox %s does not exist: saving to "
			 "INBOX instead", st->mailbox);
	free(st->mailbox);
	st->mailbox = xstrdup("INBOX");
	lmtp_store_status(st);
}

static void lmtp_store_create_reply(const struct rpc_reply *reply, void *ctx)
{
	struct lmtp_store *st = ctx;
	if (reply->status == STRATUS__STATUS__STATUS_EXISTS) {
		/* created meanwhile by another delivery */
		lmtp_store_status(st);
		return;
	}
	if (reply->status != STRATUS__STATUS__STATUS_OK) {
		/* an invalid name: deliver to INBOX, as Dovecot does */
		log_info(&st->log, "cannot create mailbox %s (%s): saving to "
			 "INBOX", st->mailbox, reply->error != NULL ?
			 reply->error : rpc_status_name(reply->status));
		lmtp_store_fallback_inbox(st);
		return;
	}
	const Stratus__IndexMailboxStatusReply *r = (const void *)reply->msg;
	st->mailbox_guid = xstrdup(r->status != NULL ? r->status->guid : "");
	if (st->server->set.mailbox_autosubscribe) {
		Stratus__IndexSubscribeRequest sreq =
			STRATUS__INDEX_SUBSCRIBE_REQUEST__INIT;
		Stratus__Context c;
		lmtp_store_context(st, &c);
		sreq.user = st->rcpt->user;
		sreq.mailbox = st->mailbox;
		sreq.subscribe = true;
		rpc_client_call(st->be->sc.index, st->be->sc.m.index_subscribe,
				&c, &sreq.base, NULL, 0, RPC_DEFAULT_TIMEOUT_MS,
				storage_ignore_reply, NULL);
	}
	lmtp_store_check(st);
}

static void lmtp_store_status_reply(const struct rpc_reply *reply, void *ctx)
{
	struct lmtp_store *st = ctx;
	bool inbox = strcasecmp(st->mailbox, "INBOX") == 0;
	if ((reply->status == STRATUS__STATUS__STATUS_NOT_FOUND ||
	     reply->status == STRATUS__STATUS__STATUS_INVALID) && !inbox) {
		if ((st->server->set.mailbox_autocreate ||
		     st->force_create) && !st->created &&
		    reply->status == STRATUS__STATUS__STATUS_NOT_FOUND) {
			st->created = true;
			Stratus__IndexMailboxCreateRequest req =
				STRATUS__INDEX_MAILBOX_CREATE_REQUEST__INIT;
			Stratus__Context c;
			lmtp_store_context(st, &c);
			req.user = st->rcpt->user;
			req.mailbox = st->mailbox;
			rpc_client_call(st->be->sc.index,
					st->be->sc.m.index_create, &c,
					&req.base, NULL, 0,
					RPC_DEFAULT_TIMEOUT_MS,
					lmtp_store_create_reply, st);
			return;
		}
		lmtp_store_fallback_inbox(st);
		return;
	}
	if (reply->status != STRATUS__STATUS__STATUS_OK) {
		char *error = xasprintf("svc-index status of %s: %s",
					st->mailbox, reply->error != NULL ?
					reply->error :
					rpc_status_name(reply->status));
		lmtp_store_finish(st, LMTP_RESULT_TEMPFAIL, error);
		free(error);
		return;
	}
	const Stratus__IndexMailboxStatusReply *r = (const void *)reply->msg;
	if (r->status == NULL || *r->status->guid == '\0' ||
	    strchr(r->status->guid, '/') != NULL) {
		lmtp_store_finish(st, LMTP_RESULT_TEMPFAIL,
				  "svc-index returned no mailbox GUID");
		return;
	}
	free(st->mailbox_guid);
	st->mailbox_guid = xstrdup(r->status->guid);
	lmtp_store_check(st);
}

static void lmtp_store_status(struct lmtp_store *st)
{
	Stratus__IndexMailboxRequest req = STRATUS__INDEX_MAILBOX_REQUEST__INIT;
	Stratus__Context ctx;
	lmtp_store_context(st, &ctx);
	req.user = st->rcpt->user;
	req.mailbox = st->mailbox;
	rpc_client_call(st->be->sc.index, st->be->sc.m.index_status, &ctx,
			&req.base, NULL, 0, RPC_DEFAULT_TIMEOUT_MS,
			lmtp_store_status_reply, st);
}

/* ---- 1a. The target mailbox, asked at RCPT ---- */

static void lmtp_prefetch_unref(struct lmtp_prefetch *pf)
{
	if (--pf->refcount > 0)
		return;
	lmtp_share_unref(&pf->share);
	free(pf->mailbox);
	free(pf->guid);
	free(pf);
}

static void lmtp_prefetch_release(void *data)
{
	lmtp_prefetch_unref(data);
}

static void lmtp_store_prefetched(struct lmtp_store *st,
				  const struct lmtp_prefetch *pf)
{
	if (pf->guid == NULL) {
		lmtp_store_status(st);	/* the usual path and its errors */
		return;
	}
	free(st->mailbox_guid);
	st->mailbox_guid = xstrdup(pf->guid);
	lmtp_store_check(st);
}

static void lmtp_prefetch_unlink(struct lmtp_prefetch *pf)
{
	if (pf->prev != NULL)
		pf->prev->next = pf->next;
	else
		pf->be->prefetches = pf->next;
	if (pf->next != NULL)
		pf->next->prev = pf->prev;
	pf->prev = pf->next = NULL;
}

void lmtp_store_prefetch_drop_all(struct lmtp_rpc_backend *be)
{
	while (be->prefetches != NULL) {
		struct lmtp_prefetch *pf = be->prefetches;
		lmtp_prefetch_unlink(pf);
		lmtp_prefetch_unref(pf);
	}
}

static void lmtp_prefetch_reply(const struct rpc_reply *reply, void *ctx)
{
	struct lmtp_prefetch *pf = ctx;
	lmtp_prefetch_unlink(pf);
	pf->done = true;
	if (reply->status == STRATUS__STATUS__STATUS_OK) {
		const Stratus__IndexMailboxStatusReply *r =
			(const void *)reply->msg;
		if (r->status != NULL && *r->status->guid != '\0' &&
		    strchr(r->status->guid, '/') == NULL)
			pf->guid = xstrdup(r->status->guid);
	}
	struct lmtp_store *st = pf->waiter;
	pf->waiter = NULL;
	if (st != NULL)
		lmtp_store_prefetched(st, pf);
	lmtp_prefetch_unref(pf);
}

void lmtp_store_prefetch(struct lmtp_server *server,
			 struct lmtp_client *client, struct lmtp_rcpt *rcpt)
{
	struct lmtp_rpc_backend *be = server->backend_ctx;
	if (rcpt->backend_data != NULL || rcpt->user == NULL)
		return;
	struct lmtp_prefetch *pf = xcalloc(1, sizeof(*pf));
	pf->refcount = 2;	/* the recipient and the call */
	pf->be = be;
	pf->next = be->prefetches;
	if (be->prefetches != NULL)
		be->prefetches->prev = pf;
	be->prefetches = pf;
	pf->mailbox = xstrdup(rcpt->mailbox);
	rcpt->backend_data = pf;
	rcpt->backend_data_free = lmtp_prefetch_release;
	Stratus__IndexMailboxRequest req = STRATUS__INDEX_MAILBOX_REQUEST__INIT;
	Stratus__Context ctx;
	lmtp_rpc_context(client, rcpt->user, &ctx);
	req.user = rcpt->user;
	req.mailbox = rcpt->mailbox;
	rpc_client_call(be->sc.index, be->sc.m.index_status, &ctx, &req.base,
			NULL, 0, RPC_DEFAULT_TIMEOUT_MS, lmtp_prefetch_reply,
			pf);
}

/* Step 1 from the RCPT-time answer when it is for this mailbox. */
static void lmtp_store_target(struct lmtp_store *st)
{
	struct lmtp_prefetch *pf =
		st->rcpt->backend_data_free == lmtp_prefetch_release ?
		st->rcpt->backend_data : NULL;
	if (pf == NULL || strcmp(pf->mailbox, st->mailbox) != 0 ||
	    (!pf->done && pf->waiter != NULL)) {
		lmtp_store_status(st);
		return;
	}
	if (!pf->done) {
		pf->waiter = st;
		return;
	}
	lmtp_store_prefetched(st, pf);
}

/* ---- start ---- */

static const char *lmtp_delivered_to(const struct lmtp_settings *set,
				     const struct lmtp_rcpt *rcpt)
{
	if (strcmp(set->hdr_delivery_address, "none") == 0)
		return NULL;
	if (strcmp(set->hdr_delivery_address, "original") == 0 &&
	    rcpt->orcpt != NULL)
		return rcpt->orcpt;
	return rcpt->address;
}

static struct lmtp_store *
lmtp_store_new(struct lmtp_server *server, struct lmtp_client *client,
	       const struct lmtp_txn *txn, struct lmtp_rcpt *rcpt)
{
	struct lmtp_store *st = xcalloc(1, sizeof(*st));
	st->server = server;
	st->be = server->backend_ctx;
	st->client = client;
	st->rcpt = rcpt;
	st->msg.fd = -1;
	st->m = &st->msg;
	st->log = client->log;
	st->log.user = rcpt->user;
	st->mailbox = xstrdup(rcpt->mailbox != NULL ? rcpt->mailbox :
			      "INBOX");
	st->received_time = txn->received_time;
	return st;
}

/* The recipient's RCPT-time state, when it has one. */
static struct lmtp_prefetch *lmtp_rcpt_prefetch(const struct lmtp_rcpt *rcpt)
{
	return rcpt->backend_data_free == lmtp_prefetch_release ?
		rcpt->backend_data : NULL;
}

/* The transaction's shared message (lmtp-share.h), built by the first of
 * its recipients to get here and kept by every recipient's RCPT-time
 * state; NULL when some recipient has none (then each stores its own). */
static struct lmtp_share *
lmtp_store_share_get(struct lmtp_store *st, const struct lmtp_txn *txn,
		     const struct buf *headers)
{
	for (unsigned int i = 0; i < txn->n_rcpts; i++) {
		struct lmtp_prefetch *pf = lmtp_rcpt_prefetch(txn->rcpts[i]);
		if (pf == NULL || txn->rcpts[i]->user == NULL)
			return NULL;
		if (pf->share != NULL) {
			lmtp_share_ref(pf->share);
			return pf->share;
		}
	}
	char **users = xcalloc(txn->n_rcpts, sizeof(*users));
	for (unsigned int i = 0; i < txn->n_rcpts; i++)
		users[i] = txn->rcpts[i]->user;
	char *error = NULL;
	struct lmtp_share *share = lmtp_share_new(st->be, st->client, headers,
						  txn->body_fd, txn->body_size,
						  users, txn->n_rcpts, &error);
	free(users);
	if (share == NULL) {
		log_error(&st->log, "shared message: %s; storing a copy per "
			  "recipient", error);
		free(error);
		return NULL;
	}
	for (unsigned int i = 0; i < txn->n_rcpts; i++) {
		lmtp_share_ref(share);
		lmtp_rcpt_prefetch(txn->rcpts[i])->share = share;
	}
	return share;	/* the caller's reference */
}

static void lmtp_store_start(struct lmtp_store *st, const struct lmtp_txn *txn,
			     int body_fd, uint64_t body_size)
{
	struct lmtp_server *server = st->server;
	struct lmtp_client *client = st->client;
	struct lmtp_rcpt *rcpt = st->rcpt;
	guid_generate(st->guid);

	/* Delivered-To only with a single recipient, as Dovecot: then every
	 * recipient's copy is the same message and can be one object */
	const char *delivered_to = txn->n_rcpts == 1 ?
		lmtp_delivered_to(&server->set, rcpt) : NULL;
	struct lmtp_trace_info info = {
		.mail_from = txn->mail_from,
		.delivered_to = delivered_to,
		/* "for" names the recipient only when it is the only one */
		.for_rcpt = txn->n_rcpts == 1 ? delivered_to : NULL,
		.helo = client->helo,
		.client_ip = client->client_ip,
		.hostname = server->set.hostname,
		.session = client->session,
		.time = txn->received_time,
	};
	struct buf headers = BUF_INIT;
	lmtp_trace_headers(&info, &headers);
	if (txn->n_rcpts > 1 && body_fd == txn->body_fd)
		st->share = lmtp_store_share_get(st, txn, &headers);
	if (st->share != NULL) {
		buf_free(&headers);
		st->m = &st->share->msg;
		memcpy(st->guid, st->share->guid, sizeof(st->guid));
		lmtp_store_target(st);
		return;
	}
	char *error = NULL;
	int r = lmtp_message_build(&headers, body_fd, body_size, &st->msg,
				   &error);
	buf_free(&headers);
	if (r < 0) {
		/* the engine allows an answer before the call returns */
		lmtp_store_finish(st, LMTP_RESULT_TEMPFAIL, error);
		free(error);
		return;
	}
	lmtp_store_target(st);
}

void lmtp_store(struct lmtp_server *server, struct lmtp_client *client,
		const struct lmtp_txn *txn, struct lmtp_rcpt *rcpt,
		lmtp_deliver_cb *cb)
{
	struct lmtp_store *st = lmtp_store_new(server, client, txn, rcpt);
	st->cb = cb;
	lmtp_store_start(st, txn, txn->body_fd, txn->body_size);
}

void lmtp_store_with(struct lmtp_server *server, struct lmtp_client *client,
		     const struct lmtp_txn *txn, struct lmtp_rcpt *rcpt,
		     const struct lmtp_store_opts *opts,
		     lmtp_store_done_fn *done, void *done_ctx)
{
	struct lmtp_store *st = lmtp_store_new(server, client, txn, rcpt);
	st->done = done;
	st->done_ctx = done_ctx;
	st->force_create = opts->create;
	if (opts->mailbox != NULL) {
		free(st->mailbox);
		st->mailbox = xstrdup(opts->mailbox);
	}
	if (opts->n_flags > 0) {
		st->flags = xreallocarray(NULL, opts->n_flags,
					  sizeof(*st->flags));
		for (size_t i = 0; i < opts->n_flags; i++)
			st->flags[i] = xstrdup(opts->flags[i]);
		st->n_flags = opts->n_flags;
	}
	if (opts->body_fd >= 0)
		lmtp_store_start(st, txn, opts->body_fd, opts->body_size);
	else
		lmtp_store_start(st, txn, txn->body_fd, txn->body_size);
}
