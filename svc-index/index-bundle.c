/* svc-index: index bundles on object storage through svc-blob
 * (CHAIN_INDEX = obox_index_fs). A bundle is the user's whole state
 * in independently deflated sections (index-file.h), built from the
 * per-chunk cache of index-bundle-cache.c so that an upload compresses
 * only what changed, with a generation number that grows with each
 * upload.
 *
 * Load: a local cache younger than metacache_close_delay is used as is;
 * otherwise the bundle is fetched and wins when its generation is newer
 * (another backend served the user meanwhile). svc-blob down: the local
 * cache is used if there is one, else the load fails with TEMPFAIL.
 *
 * Upload policy: metacache_delay_uploads = no uploads soon after each
 * change (batched per loop iteration); = yes uploads every
 * metacache_upload_interval, or once obox_max_rescan_mail_count mails
 * were saved, and always before eviction (index-admin/index-evict).
 * A fleet moves users safely with = no: the bundle is current when the
 * last session ends; with = yes a moved user's changes reach the next
 * backend at the interval (or `stratusctl metacache flush`). */
#include "index-bundle.h"
#include "index-file.h"
#include "index-evict.h"
#include "index-notify.h"
#include "index-blob.h"
#include "index-rebuild.h"
#include "buf.h"
#include "log.h"
#include "rpc.h"
#include "rpc-versions.h"
#include "service.h"
#include "blob.pb-c.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void index_bundle_get(struct index_service *svc, const char *user,
		      rpc_reply_cb *cb, void *ctx)
{
	Stratus__BlobGetRequest req = STRATUS__BLOB_GET_REQUEST__INIT;
	req.chain = STRATUS__BLOB_CHAIN__CHAIN_INDEX;
	req.user = (char *)user;
	req.key = (char *)INDEX_BUNDLE_KEY;
	rpc_client_call(svc->blob->client, svc->blob->m_get, NULL, &req.base,
			NULL, 0, INDEX_BLOB_TIMEOUT_MS, cb, ctx);
}

void index_bundle_head(struct index_service *svc, const char *user,
		       rpc_reply_cb *cb, void *ctx)
{
	Stratus__BlobHeadRequest req = STRATUS__BLOB_HEAD_REQUEST__INIT;
	req.chain = STRATUS__BLOB_CHAIN__CHAIN_INDEX;
	req.user = (char *)user;
	req.key = (char *)INDEX_BUNDLE_KEY;
	rpc_client_call(svc->blob->client, svc->blob->m_head, NULL, &req.base,
			NULL, 0, INDEX_BLOB_TIMEOUT_MS, cb, ctx);
}

#define INDEX_UPLOAD_TICK_MS 1000

static bool index_bundle_enabled(const struct index_service *svc)
{
	return svc->blob != NULL && svc->set.bundles;
}

/* ---- load ---- */

struct index_fetch {
	struct index_blob_op op;
	struct index_service *svc;
	int local;
	uint64_t start_us;	/* of the Get: the load's phases are logged */
};

static uint64_t index_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* A downloaded bundle, loaded lazily (index-bundle-lazy.c) into t, a
 * user struct of its own, so that a bundle that turns out unusable
 * leaves user as it was. -1 with *error_r. */
static int index_bundle_load_temp(struct index_user *user,
				  struct index_user *t, const uint8_t *data,
				  size_t len, const char **error_r)
{
	*t = (struct index_user){ .svc = user->svc, .name = user->name,
				  .log_fd = -1 };
	if (len < INDEX_MAGIC_LEN ||
	    memcmp(data, INDEX_BUNDLE_MAGIC, INDEX_MAGIC_LEN) != 0) {
		*error_r = "bad magic or truncated header";
		return -1;
	}
	return index_state_load_file(t, data, len, error_r);
}

/* A merge needs the bundle whole, cached fields included. */
static void index_bundle_merge_bytes(struct index_user *user,
				     const struct log_ctx *lctx,
				     const uint8_t *data, size_t len)
{
	const char *error = NULL;
	Stratus__Indexfile__State *st = index_bundle_decode(data, len, &error);
	if (st == NULL || index_bundle_merge(user, st, &error) < 0)
		log_error(lctx, "index bundle merge failed (%s); keeping the "
			  "local index", error);
	if (st != NULL)
		stratus__indexfile__state__free_unpacked(st, NULL);
}

static void index_fetch_done(const struct rpc_reply *reply, void *ctx)
{
	struct index_fetch *f = ctx;
	struct index_user *user = index_user_lookup(f->svc, f->op.user);
	struct log_ctx lctx = { .user = f->op.user };
	int status = 0;
	const char *error = NULL;
	if (user == NULL || user->state != INDEX_USER_LOADING)
		goto out;
	if (reply->status == STRATUS__STATUS__STATUS_NOT_FOUND) {
		/* No bundle: the local cache, or what the objects say. */
		if (f->local != 1 && f->svc->set.rebuild_from_objects)
			goto rebuild;
		goto done;
	}
	if (reply->status != STRATUS__STATUS__STATUS_OK ||
	    reply->n_fds < 1) {
		log_warning(&lctx, "index bundle download failed: %s %s",
			    rpc_status_name(reply->status),
			    reply->error != NULL ? reply->error : "");
		if (f->local != 1) {
			status = STRATUS__STATUS__STATUS_TEMPFAIL;
			error = "object storage unavailable and no local index";
		}
		goto done;
	}
	uint8_t *data;
	size_t len;
	uint64_t t_got = index_now_us();
	if (index_blob_read_fd(reply->fds[0], INDEX_STATE_MAX, &data, &len) < 0) {
		status = STRATUS__STATUS__STATUS_TEMPFAIL;
		error = "cannot read the downloaded bundle";
		goto done;
	}
	f->svc->n_downloads++;
	struct index_user t;
	uint64_t t_read = index_now_us();
	int lret = index_bundle_load_temp(user, &t, data, len, &error);
	uint64_t t_decoded = index_now_us();
	if (lret < 0) {
		free(data);
		log_error(&lctx, "index bundle unusable (%s); keeping %s",
			  error, f->local == 1 ? "the local index" :
			  "what the objects say");
		error = NULL;
		if (f->local != 1 && f->svc->set.rebuild_from_objects)
			goto rebuild;
		goto done;
	}
	if (f->local == 1 && user->dirty && t.generation > user->generation) {
		/* Local changes no bundle holds meet another backend's newer
		 * bundle: keep both (index-bundle-merge.c). */
		index_bundle_merge_bytes(user, &lctx, data, len);
	} else if (f->local != 1 || t.generation > user->generation) {
		const char *rerr = NULL;
		uint64_t old = index_user_disk_bytes(user);
		uint64_t gen = t.generation;
		if (index_user_take_state(user, &t, data, len, &rerr) < 0) {
			log_error(&lctx, "index bundle rejected: %s", rerr);
			index_user_clear_state(user);
		} else {
			index_bundle_set_base(user);
			/* bench/index reads the phases of a cold open here */
			log_info(&lctx, "index loaded from bundle generation "
				 "%llu (%zu bytes; ms: fetch %.1f, read %.1f, "
				 "decode %.1f, install %.1f)",
				 (unsigned long long)gen, len,
				 (double)(t_got - f->start_us) / 1000.0,
				 (double)(t_read - t_got) / 1000.0,
				 (double)(t_decoded - t_read) / 1000.0,
				 (double)(index_now_us() - t_decoded) /
				 1000.0);
		}
		f->svc->total_bytes += index_user_disk_bytes(user);
		f->svc->total_bytes -= old;
	}
	index_user_clear_state(&t);
	free(data);
done:
	if (status == 0 && !user->dirty)
		index_bundle_set_base(user);	/* = the stored bundle */
	index_user_load_done(user, status, error);
	goto out;
rebuild:
	index_rebuild_load(user);
out:
	index_blob_op_unlink(f->svc->blob, &f->op);
	free(f->op.user);
	free(f);
}

static bool index_local_fresh(struct index_user *user)
{
	char *path = xasprintf("%s/index.log", user->dir);
	struct stat st;
	bool fresh = false;
	if (stat(path, &st) == 0) {
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		int64_t age_ms = (int64_t)(now.tv_sec - st.st_mtim.tv_sec) *
			1000 + (now.tv_nsec - st.st_mtim.tv_nsec) / 1000000;
		fresh = age_ms >= 0 &&
			(uint64_t)age_ms < user->svc->set.close_delay_ms;
	}
	free(path);
	return fresh;
}

void index_bundle_load(struct index_user *user, int local)
{
	struct index_service *svc = user->svc;
	if (!index_bundle_enabled(svc) && local != 1 && svc->blob != NULL &&
	    svc->set.rebuild_from_objects) {
		index_rebuild_load(user);
		return;
	}
	if (!index_bundle_enabled(svc) ||
	    (local == 1 && index_local_fresh(user))) {
		if (!user->dirty)
			index_bundle_set_base(user);
		index_user_load_done(user, 0, NULL);
		return;
	}
	struct index_fetch *f = xcalloc(1, sizeof(*f));
	f->svc = svc;
	f->op.user = xstrdup(user->name);
	f->local = local;
	f->start_us = index_now_us();
	index_blob_op_link(svc->blob, &f->op);
	index_bundle_get(svc, user->name, index_fetch_done, f);
}

/* ---- refresh (metacache_close_delay) ---- */

/* A user not accessed for metacache_close_delay may have been served by
 * another backend meanwhile: a HEAD of the bundle tells (its generation
 * in the metadata), and only a newer one is downloaded. The user stays
 * in LOADING meanwhile, so calls queue as during a load. */
struct index_refresh {
	struct index_blob_op op;
	struct index_service *svc;
};

static void index_refresh_end(struct index_refresh *r)
{
	struct index_user *user = index_user_lookup(r->svc, r->op.user);
	if (user != NULL && user->state == INDEX_USER_LOADING)
		index_user_load_done(user, 0, NULL);	/* never fails it */
	index_blob_op_unlink(r->svc->blob, &r->op);
	free(r->op.user);
	free(r);
}

static void index_refresh_fetched(const struct rpc_reply *reply, void *ctx)
{
	struct index_refresh *r = ctx;
	struct index_user *user = index_user_lookup(r->svc, r->op.user);
	struct log_ctx lctx = { .user = r->op.user };
	uint8_t *data;
	size_t len;
	const char *error = NULL;
	if (user == NULL || reply->status != STRATUS__STATUS__STATUS_OK ||
	    reply->n_fds < 1 ||
	    index_blob_read_fd(reply->fds[0], INDEX_STATE_MAX, &data,
			       &len) < 0) {
		index_refresh_end(r);
		return;
	}
	r->svc->n_downloads++;
	struct index_user t;
	if (index_bundle_load_temp(user, &t, data, len, &error) < 0) {
		log_error(&lctx, "index bundle unusable (%s); keeping the "
			  "local index", error);
	} else if (t.generation > user->generation && user->dirty) {
		index_bundle_merge_bytes(user, &lctx, data, len);
	} else if (t.generation > user->generation) {
		uint64_t old = index_user_disk_bytes(user);
		uint64_t gen = t.generation;
		/* Sessions in IDLE look again instead of seeing GONE. */
		for (size_t i = 0; i < user->n_boxes; i++)
			index_notify_changed(r->svc, user->boxes[i]);
		if (index_user_take_state(user, &t, data, len, &error) < 0) {
			log_error(&lctx, "index bundle rejected: %s", error);
		} else {
			index_bundle_set_base(user);
			log_info(&lctx, "index refreshed from bundle "
				 "generation %llu", (unsigned long long)gen);
		}
		r->svc->total_bytes += index_user_disk_bytes(user);
		r->svc->total_bytes -= old;
	}
	index_user_clear_state(&t);
	free(data);
	index_refresh_end(r);
}

static void index_refresh_headed(const struct rpc_reply *reply, void *ctx)
{
	struct index_refresh *r = ctx;
	struct index_user *user = index_user_lookup(r->svc, r->op.user);
	uint64_t stored = 0;
	if (reply->status == STRATUS__STATUS__STATUS_OK) {
		const Stratus__BlobHeadReply *h = (const void *)reply->msg;
		stored = h->meta != NULL ? h->meta->generation : 0;
	}
	if (user == NULL || stored <= user->generation) {
		index_refresh_end(r);
		return;
	}
	index_bundle_get(r->svc, r->op.user, index_refresh_fetched, r);
}

bool index_bundle_refresh_due(const struct index_user *user)
{
	const struct index_service *svc = user->svc;
	return index_bundle_enabled(svc) && svc->set.close_delay_ms > 0 &&
		user->state == INDEX_USER_READY && !user->uploading &&
		!user->rebuilding && user->pending == NULL &&
		loop_now_ms(svc->loop) - user->last_access_ms >=
		svc->set.close_delay_ms;
}

void index_bundle_refresh(struct index_user *user)
{
	struct index_service *svc = user->svc;
	struct index_refresh *r = xcalloc(1, sizeof(*r));
	r->svc = svc;
	r->op.user = xstrdup(user->name);
	user->state = INDEX_USER_LOADING;
	index_user_touch(user);
	index_blob_op_link(svc->blob, &r->op);
	index_bundle_head(svc, user->name, index_refresh_headed, r);
}

/* ---- policy ---- */

static void index_bundle_upload_quiet(struct index_user *user)
{
	if (!user->uploading && user->dirty &&
	    user->state == INDEX_USER_READY)
		index_bundle_upload(user, NULL, NULL);
}

static void index_bundle_tick(struct loop_timer *timer, void *ctx)
{
	struct index_service *svc = ctx;
	(void)timer;
	uint64_t now = loop_now_ms(svc->loop);
	for (struct index_user *u = svc->lru_head; u != NULL; u = u->lru_next) {
		if (!u->dirty)
			continue;
		if (!svc->set.delay_uploads ||
		    now - u->dirty_since_ms >= svc->set.upload_interval_ms)
			index_bundle_upload_quiet(u);
	}
	index_evict_check(svc);
}

void index_bundle_changed(struct index_user *user)
{
	struct index_service *svc = user->svc;
	if (!index_bundle_enabled(svc) || user->state != INDEX_USER_READY)
		return;
	if (!svc->set.delay_uploads ||
	    (svc->set.rescan_mail_count > 0 &&
	     user->saved_since_upload >= svc->set.rescan_mail_count))
		index_bundle_upload_quiet(user);
}

void index_bundle_user_dropped(struct index_user *user)
{
	(void)user;	/* callbacks look users up by name */
}

void index_bundle_init(struct index_service *svc)
{
	index_blob_init(svc);
	if (!svc->set.bundles)
		return;
	uint64_t tick = svc->set.delay_uploads &&
		svc->set.upload_interval_ms < INDEX_UPLOAD_TICK_MS ?
		svc->set.upload_interval_ms : INDEX_UPLOAD_TICK_MS;
	svc->upload_timer = loop_timer_add(svc->loop, tick == 0 ? 1 : tick,
					   true, index_bundle_tick, svc);
}

void index_bundle_deinit(struct index_service *svc)
{
	loop_timer_remove(&svc->upload_timer);
	index_blob_deinit(svc);
	index_file_deinit();
}
