/* The shared object of a multi-recipient transaction (see lmtp-share.h):
 * one PUT, whose answer every waiting recipient's store continues from,
 * and the releases of the users left without a reference at the end. */
#include "lmtp-share.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blob.pb-c.h"

struct lmtp_share_waiter {
	struct lmtp_share_waiter *next;
	lmtp_share_stored_fn *done;
	void *ctx;
};

struct lmtp_share *lmtp_share_new(struct lmtp_rpc_backend *be,
				  const struct lmtp_client *client,
				  const struct buf *headers, int body_fd,
				  uint64_t body_size, char *const *users,
				  size_t n_users, char **error_r)
{
	struct lmtp_share *share = xcalloc(1, sizeof(*share));
	share->refcount = 1;
	share->be = be;
	if (lmtp_message_build(headers, body_fd, body_size, &share->msg,
			       error_r) < 0) {
		free(share);
		return NULL;
	}
	share->session = xstrdup(client->session);
	share->client_ip = xstrdup(client->client_ip);
	share->client_port = client->client_port;
	guid_generate(share->guid);
	share->users = xcalloc(n_users + 1, sizeof(*share->users));
	share->referenced = xcalloc(n_users + 1, sizeof(*share->referenced));
	for (size_t i = 0; i < n_users; i++) {
		bool seen = false;
		for (size_t j = 0; j < share->n_users && !seen; j++)
			seen = strcmp(share->users[j], users[i]) == 0;
		if (!seen)
			share->users[share->n_users++] = xstrdup(users[i]);
	}
	return share;
}

void lmtp_share_ref(struct lmtp_share *share)
{
	share->refcount++;
}

static void lmtp_share_context(const struct lmtp_share *share,
			       const char *user, Stratus__Context *ctx)
{
	storage_context(ctx, share->session, user, share->client_ip,
			share->client_port, "lmtp");
}

/* Users that hold no reference give theirs back, so that the N releases
 * svc-blob waits for can all happen. */
static void lmtp_share_release_unreferenced(struct lmtp_share *share)
{
	if (share->state != LMTP_SHARE_STORED)
		return;
	for (size_t i = 0; i < share->n_users; i++) {
		if (share->referenced[i])
			continue;
		Stratus__Context ctx;
		lmtp_share_context(share, share->users[i], &ctx);
		storage_blob_delete(&share->be->sc, &ctx, share->users[i],
				    &share->key, 1);
	}
}

void lmtp_share_unref(struct lmtp_share **_share)
{
	struct lmtp_share *share = *_share;
	*_share = NULL;
	if (share == NULL || --share->refcount > 0)
		return;
	lmtp_share_release_unreferenced(share);
	for (size_t i = 0; i < share->n_users; i++)
		free(share->users[i]);
	free(share->users);
	free(share->referenced);
	if (share->cached_built)
		lmtp_cached_free(&share->cached);
	lmtp_message_free(&share->msg);
	free(share->session);
	free(share->client_ip);
	free(share->key);
	free(share->object_id);
	free(share->error);
	free(share);
}

static void lmtp_share_wake(struct lmtp_share *share)
{
	struct lmtp_share_waiter *w = share->waiters;
	share->waiters = NULL;
	/* the waiters hold references: share stays valid meanwhile */
	while (w != NULL) {
		struct lmtp_share_waiter *next = w->next;
		if (share->state == LMTP_SHARE_STORED)
			w->done(w->ctx, share->object_id, NULL);
		else
			w->done(w->ctx, NULL, share->error);
		free(w);
		w = next;
	}
}

static void lmtp_share_put_reply(const struct rpc_reply *reply, void *ctx)
{
	struct lmtp_share *share = ctx;
	if (reply->status != STRATUS__STATUS__STATUS_OK) {
		share->be->n_put_failures++;
		share->state = LMTP_SHARE_FAILED;
		share->error = xasprintf("svc-blob put %s: %s", share->key,
					 reply->error != NULL ? reply->error :
					 rpc_status_name(reply->status));
	} else {
		const Stratus__BlobPutReply *r = (const void *)reply->msg;
		share->state = LMTP_SHARE_STORED;
		share->object_id = xstrdup(*r->object_id != '\0' ?
					   r->object_id : share->key);
	}
	lmtp_share_wake(share);
	lmtp_share_unref(&share);	/* the call's */
}

static void lmtp_share_put(struct lmtp_share *share, const char *user,
			   const char *mailbox_guid, int64_t received_time)
{
	Stratus__BlobPutRequest req = STRATUS__BLOB_PUT_REQUEST__INIT;
	Stratus__BlobMeta meta = STRATUS__BLOB_META__INIT;
	Stratus__Context ctx;
	lmtp_share_context(share, user, &ctx);
	share->state = LMTP_SHARE_PUTTING;
	/* svc-blob's single-instance key: owner and number of users */
	share->key = xasprintf("%s/%s.sis%zu.%s", mailbox_guid, share->guid,
			       share->n_users, user);
	meta.mailbox_guid = (char *)mailbox_guid;
	meta.received_date = received_time;
	meta.physical_size = share->msg.physical_size;
	meta.virtual_size = share->msg.virtual_size;
	meta.message_guid = share->guid;
	req.chain = STRATUS__BLOB_CHAIN__CHAIN_MAIL;
	req.user = (char *)user;
	req.key = share->key;
	req.meta = &meta;
	share->be->n_puts++;
	lmtp_share_ref(share);
	rpc_client_call(share->be->sc.blob, share->be->sc.m.blob_put, &ctx,
			&req.base, &share->msg.fd, 1, RPC_DEFAULT_TIMEOUT_MS,
			lmtp_share_put_reply, share);
}

void lmtp_share_store(struct lmtp_share *share, const char *user,
		      const char *mailbox_guid, int64_t received_time,
		      lmtp_share_stored_fn *done, void *ctx)
{
	if (share->state == LMTP_SHARE_STORED) {
		done(ctx, share->object_id, NULL);
		return;
	}
	if (share->state == LMTP_SHARE_FAILED) {
		done(ctx, NULL, share->error);
		return;
	}
	struct lmtp_share_waiter *w = xcalloc(1, sizeof(*w));
	w->done = done;
	w->ctx = ctx;
	w->next = share->waiters;
	share->waiters = w;
	if (share->state == LMTP_SHARE_NEW)
		lmtp_share_put(share, user, mailbox_guid, received_time);
}

void lmtp_share_referenced(struct lmtp_share *share, const char *user)
{
	for (size_t i = 0; i < share->n_users; i++) {
		if (strcmp(share->users[i], user) == 0)
			share->referenced[i] = true;
	}
}

const struct lmtp_cached *lmtp_share_cached(struct lmtp_share *share)
{
	if (!share->cached_built) {
		share->cached_built = true;
		share->cached_ok = lmtp_cached_build(share->msg.fd,
			(size_t)share->msg.physical_size, &share->cached) == 0;
	}
	return share->cached_ok ? &share->cached : NULL;
}
