/* svc-index: publishing a user's bundle when several backends may write
 * it at once (README "Fleet"). Object stores differ in what they offer:
 * S3 has conditional PUTs only since 2024 and the tests' s3rver ignores
 * If-Match/If-None-Match on PUT (it answers 200 and overwrites), CDMI and
 * a shared posix folder have none. So the check is made of plain PUT,
 * LIST, HEAD and DELETE, which every driver has, and relies only on the
 * store being read-after-write consistent (S3 is since 2020):
 *
 *   1. PUT  index.claim.<N>.<ms>.<writer>  (N = base generation + 1)
 *   2. LIST index.claim.<N>.   another live claim: lost (contended)
 *   3. HEAD index.bundle       its generation > base: lost (newer)
 *   4. PUT  index.bundle       with generation N in its metadata, and
 *                              If-Match: <3's ETag> (If-None-Match: *
 *                              when there was none) for stores that
 *                              honour them
 *   5. DELETE the claim
 *
 * Two writers cannot both pass 2 for the same N: each PUTs before it
 * LISTs, so the later LIST sees the earlier claim. A writer that passes
 * 2 after the winner deleted its claim fails 3, because the winner's
 * bundle PUT came before that delete. A contended writer backs off and
 * tries again (both may lose; random delays separate them); a writer
 * that finds a newer bundle downloads it, merges its own changes into it
 * (index-bundle-merge.c) and tries again with the next generation.
 * Limits: a claim older than INDEX_CLAIM_STALE_MS is taken for a crashed
 * writer's and deleted, and a writer gives up a claim it has held for
 * half of that, so backends need clocks within a few seconds and a
 * bundle PUT must not take longer than that. */
#include "index-bundle.h"
#include "index-blob.h"
#include "index-file.h"
#include "buf.h"
#include "log.h"
#include "rpc.h"
#include "blob.pb-c.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define INDEX_CLAIM_PREFIX "index.claim."
#define INDEX_CLAIM_STALE_MS 30000
#define INDEX_PUBLISH_MAX_ATTEMPTS 40
#define INDEX_PUBLISH_BACKOFF_MS 40

struct index_upload {
	struct index_blob_op op;
	struct index_service *svc;
	uint64_t seq;		/* state uploaded */
	/* the user's saved_since_upload that this state covers */
	unsigned int saved;
	uint64_t base;		/* generation the state was built on */
	uint64_t generation;	/* base + 1, the one claimed */
	char *claim;		/* our claim's key while it is stored */
	int fd;			/* the bundle being published */
	uint64_t claimed_ms;	/* loop clock when the claim was stored */
	/* the stored bundle at step 3: its ETag, or none stored */
	char *etag;
	bool absent;
	unsigned int attempt;
	struct loop_timer *retry;
	/* per mailbox uidnext/modseq at build time: the base on success */
	struct index_upload_base *bases;
	size_t n_bases;
	index_bundle_done_cb *cb;
	void *ctx;
};

struct index_upload_base {
	char guid[INDEX_GUID_LEN + 1];
	uint32_t uidnext;
	uint64_t modseq;
};

static void index_upload_attempt(struct index_upload *up);

static uint64_t index_realtime_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void index_upload_free(struct index_upload *up)
{
	loop_timer_remove(&up->retry);
	if (up->fd >= 0)
		close(up->fd);
	free(up->claim);
	free(up->etag);
	free(up->bases);
	free(up->op.user);
	free(up);
}

static void index_upload_destroy(struct index_blob_op *op)
{
	index_upload_free((struct index_upload *)op);
}

static void index_upload_finish(struct index_upload *up, int ret,
				const char *error)
{
	struct index_service *svc = up->svc;
	struct index_user *user = index_user_lookup(svc, up->op.user);
	if (ret < 0) {
		svc->n_upload_failures++;
		log_error(&(struct log_ctx){ .user = up->op.user },
			  "index bundle upload failed: %s", error);
	} else {
		svc->n_uploads++;
	}
	if (user != NULL) {
		user->uploading = false;
		if (ret == 0) {
			if (up->generation > user->generation)
				user->generation = up->generation;
			for (size_t i = 0; i < up->n_bases; i++) {
				struct index_mailbox *box = index_user_find_guid(
					user, up->bases[i].guid);
				if (box == NULL)
					continue;
				box->base_uidnext = up->bases[i].uidnext;
				box->base_modseq = up->bases[i].modseq;
			}
			if (user->seq == up->seq)
				index_user_mark_clean(user);
			else
				/* Saves made while this upload was in flight
				 * count toward the next one; without this
				 * every later commit started another upload
				 * at once (5,518 uploads in 8 s for 10 busy
				 * users). */
				user->saved_since_upload -=
					up->saved < user->saved_since_upload ?
					up->saved : user->saved_since_upload;
		}
	}
	index_blob_op_unlink(svc->blob, &up->op);
	if (up->cb != NULL)
		up->cb(up->ctx, ret);
	index_upload_free(up);
}

/* The user as it is now, or NULL after finishing the upload. */
static struct index_user *index_upload_user(struct index_upload *up)
{
	struct index_user *user = index_user_lookup(up->svc, up->op.user);
	if (user == NULL || user->state != INDEX_USER_READY) {
		index_upload_finish(up, -1, "user closed during the upload");
		return NULL;
	}
	return user;
}

static const char *index_reply_error(const struct rpc_reply *reply)
{
	return reply->error != NULL ? reply->error :
		rpc_status_name(reply->status);
}

static void index_ignore_reply(const struct rpc_reply *reply, void *ctx)
{
	(void)reply;
	(void)ctx;
}

static void index_delete_key(struct index_service *svc, const char *user,
			     const char *key)
{
	Stratus__BlobDeleteRequest req = STRATUS__BLOB_DELETE_REQUEST__INIT;
	char *keys[1] = { (char *)key };
	req.chain = STRATUS__BLOB_CHAIN__CHAIN_INDEX;
	req.user = (char *)user;
	req.keys = keys;
	req.n_keys = 1;
	rpc_client_call(svc->blob->client, svc->blob->m_delete, NULL,
			&req.base, NULL, 0, INDEX_BLOB_TIMEOUT_MS,
			index_ignore_reply, NULL);
}

static void index_upload_drop_claim(struct index_upload *up)
{
	if (up->claim == NULL)
		return;
	index_delete_key(up->svc, up->op.user, up->claim);
	free(up->claim);
	up->claim = NULL;
}

/* ---- losing: back off, or merge into the newer bundle ---- */

static void index_upload_retry_timer(struct loop_timer *timer, void *ctx)
{
	struct index_upload *up = ctx;
	(void)timer;
	loop_timer_remove(&up->retry);
	index_upload_attempt(up);
}

static void index_upload_backoff(struct index_upload *up)
{
	uint32_t r = 0;
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
		r = (uint32_t)getpid() * 2654435761u + up->attempt;
	uint64_t span = (uint64_t)INDEX_PUBLISH_BACKOFF_MS *
		(up->attempt < 8 ? up->attempt : 8);
	up->retry = loop_timer_add(up->svc->loop, 5 + r % (span + 1), false,
				   index_upload_retry_timer, up);
}

static void index_upload_fetched(const struct rpc_reply *reply, void *ctx)
{
	struct index_upload *up = ctx;
	struct index_user *user = index_upload_user(up);
	if (user == NULL)
		return;
	if (reply->status != STRATUS__STATUS__STATUS_OK || reply->n_fds < 1) {
		index_upload_finish(up, -1, index_reply_error(reply));
		return;
	}
	uint8_t *data;
	size_t len;
	const char *error = NULL;
	if (index_blob_read_fd(reply->fds[0], INDEX_STATE_MAX, &data,
			       &len) < 0) {
		index_upload_finish(up, -1, "cannot read the newer bundle");
		return;
	}
	up->svc->n_downloads++;
	Stratus__Indexfile__State *st = index_bundle_decode(data, len, &error);
	free(data);
	if (st == NULL) {
		index_upload_finish(up, -1, error);
		return;
	}
	int ret = 0;
	if (st->generation > user->generation)
		ret = index_bundle_merge(user, st, &error);
	stratus__indexfile__state__free_unpacked(st, NULL);
	if (ret < 0) {
		index_upload_finish(up, -1, error);
		return;
	}
	/* The merged state goes out as the next generation. */
	index_upload_attempt(up);
}

static void index_upload_lost(struct index_upload *up, bool newer)
{
	index_upload_drop_claim(up);
	up->svc->n_publish_conflicts++;
	if (++up->attempt > INDEX_PUBLISH_MAX_ATTEMPTS) {
		index_upload_finish(up, -1, "generation still contended");
		return;
	}
	if (!newer) {
		index_upload_backoff(up);
		return;
	}
	index_bundle_get(up->svc, up->op.user, index_upload_fetched, up);
}

/* ---- steps 4-5: publish ---- */

static void index_upload_released(const struct rpc_reply *reply, void *ctx)
{
	(void)reply;	/* a claim left behind is deleted as stale later */
	index_upload_finish(ctx, 0, NULL);
}

static void index_upload_put_done(const struct rpc_reply *reply, void *ctx)
{
	struct index_upload *up = ctx;
	if (reply->status == STRATUS__STATUS__STATUS_EXISTS) {
		/* the store's condition: another backend published first */
		index_upload_lost(up, true);
		return;
	}
	if (reply->status != STRATUS__STATUS__STATUS_OK) {
		index_upload_drop_claim(up);
		index_upload_finish(up, -1, index_reply_error(reply));
		return;
	}
	/* Waited for, so that a stopping service leaves no claim. */
	Stratus__BlobDeleteRequest req = STRATUS__BLOB_DELETE_REQUEST__INIT;
	char *keys[1] = { up->claim };
	req.chain = STRATUS__BLOB_CHAIN__CHAIN_INDEX;
	req.user = up->op.user;
	req.keys = keys;
	req.n_keys = 1;
	rpc_client_call(up->svc->blob->client, up->svc->blob->m_delete, NULL,
			&req.base, NULL, 0, INDEX_BLOB_TIMEOUT_MS,
			index_upload_released, up);
}

static void index_upload_publish(struct index_upload *up)
{
	Stratus__BlobPutRequest req = STRATUS__BLOB_PUT_REQUEST__INIT;
	Stratus__BlobMeta meta = STRATUS__BLOB_META__INIT;
	meta.generation = up->generation;
	req.chain = STRATUS__BLOB_CHAIN__CHAIN_INDEX;
	req.user = up->op.user;
	req.key = (char *)INDEX_BUNDLE_KEY;
	req.meta = &meta;
	req.compressed = true;	/* its sections are deflated */
	/* Where the store has conditional writes (S3 since 2024, posix),
	 * they close what the claim leaves open: a writer that held its
	 * claim too long or whose claim was taken for a dead one. */
	req.if_match = up->etag != NULL ? up->etag : (char *)"";
	req.if_none_match = up->absent;
	rpc_client_call(up->svc->blob->client, up->svc->blob->m_put, NULL,
			&req.base, &up->fd, 1, INDEX_BLOB_TIMEOUT_MS,
			index_upload_put_done, up);
	close(up->fd);
	up->fd = -1;
}

/* ---- step 3: is the stored bundle still our base? ---- */

static void index_upload_headed(const struct rpc_reply *reply, void *ctx)
{
	struct index_upload *up = ctx;
	uint64_t stored = 0;
	free(up->etag);
	up->etag = NULL;
	up->absent = reply->status == STRATUS__STATUS__STATUS_NOT_FOUND;
	if (reply->status == STRATUS__STATUS__STATUS_OK) {
		const Stratus__BlobHeadReply *r = (const void *)reply->msg;
		stored = r->meta != NULL ? r->meta->generation : 0;
		if (r->etag[0] != '\0')
			up->etag = xstrdup(r->etag);
	} else if (reply->status != STRATUS__STATUS__STATUS_NOT_FOUND) {
		index_upload_drop_claim(up);
		index_upload_finish(up, -1, index_reply_error(reply));
		return;
	}
	if (stored > up->base) {
		index_upload_lost(up, true);
		return;
	}
	if (loop_now_ms(up->svc->loop) - up->claimed_ms >
	    INDEX_CLAIM_STALE_MS / 2) {
		/* Others may take our claim for a dead one by now. */
		index_upload_lost(up, false);
		return;
	}
	index_upload_publish(up);
}

/* ---- step 2: is our claim the only live one? ---- */

static bool index_claim_parse_ms(const char *key, uint64_t gen,
				 uint64_t *ms_r)
{
	char head[64];
	snprintf(head, sizeof(head), INDEX_CLAIM_PREFIX "%" PRIu64 ".", gen);
	size_t hlen = strlen(head);
	if (strncmp(key, head, hlen) != 0)
		return false;
	char *end;
	unsigned long long ms = strtoull(key + hlen, &end, 10);
	if (end == key + hlen || *end != '.')
		return false;
	*ms_r = ms;
	return true;
}

static void index_upload_listed(const struct rpc_reply *reply, void *ctx)
{
	struct index_upload *up = ctx;
	if (reply->status != STRATUS__STATUS__STATUS_OK) {
		index_upload_drop_claim(up);
		index_upload_finish(up, -1, index_reply_error(reply));
		return;
	}
	const Stratus__BlobListReply *r = (const void *)reply->msg;
	uint64_t now = index_realtime_ms();
	bool contended = false, seen_own = false;
	for (size_t i = 0; i < r->n_entries; i++) {
		const char *key = r->entries[i]->key;
		uint64_t ms;
		if (strcmp(key, up->claim) == 0) {
			seen_own = true;
		} else if (!index_claim_parse_ms(key, up->generation, &ms)) {
			continue;
		} else if (now > ms && now - ms > INDEX_CLAIM_STALE_MS) {
			log_warning(&(struct log_ctx){ .user = up->op.user },
				    "deleting a stale bundle claim %s", key);
			index_delete_key(up->svc, up->op.user, key);
		} else {
			contended = true;
		}
	}
	if (!seen_own) {
		/* The store does not show what was just written: nothing
		 * here can be trusted, try again later. */
		index_upload_lost(up, false);
		return;
	}
	if (contended) {
		index_upload_lost(up, false);
		return;
	}
	index_bundle_head(up->svc, up->op.user, index_upload_headed, up);
}

/* ---- step 1: claim the generation ---- */

static void index_upload_claimed(const struct rpc_reply *reply, void *ctx)
{
	struct index_upload *up = ctx;
	if (reply->status != STRATUS__STATUS__STATUS_OK) {
		free(up->claim);
		up->claim = NULL;
		index_upload_finish(up, -1, index_reply_error(reply));
		return;
	}
	up->claimed_ms = loop_now_ms(up->svc->loop);
	char *prefix = xasprintf(INDEX_CLAIM_PREFIX "%" PRIu64 ".",
				 up->generation);
	Stratus__BlobListRequest req = STRATUS__BLOB_LIST_REQUEST__INIT;
	req.chain = STRATUS__BLOB_CHAIN__CHAIN_INDEX;
	req.user = up->op.user;
	req.prefix = prefix;
	req.continuation = (char *)"";
	rpc_client_call(up->svc->blob->client, up->svc->blob->m_list, NULL,
			&req.base, NULL, 0, INDEX_BLOB_TIMEOUT_MS,
			index_upload_listed, up);
	free(prefix);
}

static void index_upload_claim(struct index_upload *up)
{
	struct index_blob *b = up->svc->blob;
	up->claim = xasprintf(INDEX_CLAIM_PREFIX "%" PRIu64 ".%" PRIu64 ".%s",
			      up->generation, index_realtime_ms(),
			      b->writer_id);
	int fd = index_blob_memfd((const uint8_t *)b->writer_id,
				  strlen(b->writer_id));
	if (fd < 0) {
		free(up->claim);
		up->claim = NULL;
		index_upload_finish(up, -1, "cannot create the claim body");
		return;
	}
	Stratus__BlobPutRequest req = STRATUS__BLOB_PUT_REQUEST__INIT;
	req.chain = STRATUS__BLOB_CHAIN__CHAIN_INDEX;
	req.user = up->op.user;
	req.key = up->claim;
	rpc_client_call(b->client, b->m_put, NULL, &req.base, &fd, 1,
			INDEX_BLOB_TIMEOUT_MS, index_upload_claimed, up);
	close(fd);
}

/* Builds the bundle of the state as it is now and starts claiming. */
static void index_upload_attempt(struct index_upload *up)
{
	struct index_service *svc = up->svc;
	struct index_user *user = index_upload_user(up);
	if (user == NULL)
		return;
	if (up->fd >= 0) {
		close(up->fd);
		up->fd = -1;
	}
	up->base = user->generation;
	up->generation = user->generation + 1;
	up->seq = user->seq;
	up->saved = user->saved_since_upload;
	free(up->bases);
	up->n_bases = user->n_boxes;
	up->bases = xcalloc(up->n_bases + 1, sizeof(*up->bases));
	for (size_t i = 0; i < user->n_boxes; i++) {
		memcpy(up->bases[i].guid, user->boxes[i]->guid,
		       sizeof(up->bases[i].guid));
		up->bases[i].uidnext = user->boxes[i]->uidnext;
		up->bases[i].modseq = user->boxes[i]->highest_modseq;
	}
	size_t encoded;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	user->generation = up->generation;	/* written into the bundle */
	up->fd = index_bundle_build(user, svc->set.compress_level, &encoded);
	user->generation = up->base;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	svc->n_upload_chunks += encoded;
	svc->upload_encode_us += (uint64_t)((t1.tv_sec - t0.tv_sec) * 1000000 +
					    (t1.tv_nsec - t0.tv_nsec) / 1000);
	if (up->fd < 0) {
		index_upload_finish(up, -1, "cannot build the bundle");
		return;
	}
	index_upload_claim(up);
}

void index_bundle_upload(struct index_user *user, index_bundle_done_cb *cb,
			 void *ctx)
{
	struct index_service *svc = user->svc;
	struct index_upload *up = xcalloc(1, sizeof(*up));
	up->svc = svc;
	up->op.user = xstrdup(user->name);
	up->op.destroy = index_upload_destroy;
	up->fd = -1;
	up->cb = cb;
	up->ctx = ctx;
	if (svc->blob == NULL || !svc->set.bundles || !user->dirty) {
		/* Nothing to upload: done, from here like an upload. */
		up->generation = user->generation;
		up->seq = user->seq;
		svc->n_uploads--;	/* not a real upload */
		index_upload_finish(up, 0, NULL);
		return;
	}
	user->uploading = true;
	index_blob_op_link(svc->blob, &up->op);
	index_upload_attempt(up);
}
