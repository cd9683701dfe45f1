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
 * were saved, and always before eviction (index-admin/index-evict). */
#include "index-bundle.h"
#include "index-file.h"
#include "index-evict.h"
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

#define INDEX_UPLOAD_TICK_MS 1000

struct index_upload {
	struct index_blob_op op;
	struct index_service *svc;
	uint64_t seq;		/* state uploaded */
	uint64_t generation;
	index_bundle_done_cb *cb;
	void *ctx;
};

static bool index_bundle_enabled(const struct index_service *svc)
{
	return svc->blob != NULL && svc->set.bundles;
}

static void index_upload_done(const struct rpc_reply *reply, void *ctx)
{
	struct index_upload *up = ctx;
	struct index_user *user = index_user_lookup(up->svc, up->op.user);
	int ret = reply->status == STRATUS__STATUS__STATUS_OK ? 0 : -1;
	if (ret < 0) {
		up->svc->n_upload_failures++;
		log_error(&(struct log_ctx){ .user = up->op.user },
			  "index bundle upload failed: %s %s",
			  rpc_status_name(reply->status),
			  reply->error != NULL ? reply->error : "");
	} else {
		up->svc->n_uploads++;
	}
	if (user != NULL) {
		user->uploading = false;
		if (ret == 0) {
			if (up->generation > user->generation)
				user->generation = up->generation;
			if (user->seq == up->seq)
				index_user_mark_clean(user);
		}
	}
	index_blob_op_unlink(up->svc->blob, &up->op);
	if (up->cb != NULL)
		up->cb(up->ctx, ret);
	free(up->op.user);
	free(up);
}

void index_bundle_upload(struct index_user *user, index_bundle_done_cb *cb,
			 void *ctx)
{
	struct index_service *svc = user->svc;
	if (!index_bundle_enabled(svc) || !user->dirty) {
		/* Nothing to upload: done, from the loop like an upload. */
		struct rpc_reply ok = { .status = STRATUS__STATUS__STATUS_OK };
		struct index_upload *up = xcalloc(1, sizeof(*up));
		up->svc = svc;
		up->op.user = xstrdup(user->name);
		up->seq = user->seq;
		up->generation = user->generation;
		up->cb = cb;
		up->ctx = ctx;
		svc->n_uploads--;	/* not a real upload */
		index_upload_done(&ok, up);
		return;
	}
	uint64_t old_gen = user->generation;
	user->generation = old_gen + 1;
	size_t encoded;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int fd = index_bundle_build(user, svc->set.compress_level, &encoded);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	user->generation = old_gen;
	svc->n_upload_chunks += encoded;
	svc->upload_encode_us += (uint64_t)((t1.tv_sec - t0.tv_sec) * 1000000 +
					    (t1.tv_nsec - t0.tv_nsec) / 1000);
	struct index_upload *up = xcalloc(1, sizeof(*up));
	up->svc = svc;
	up->op.user = xstrdup(user->name);
	up->seq = user->seq;
	up->generation = old_gen + 1;
	up->cb = cb;
	up->ctx = ctx;
	if (fd < 0) {
		struct rpc_reply fail = {
			.status = STRATUS__STATUS__STATUS_ERROR,
			.error = "cannot build the bundle",
		};
		index_upload_done(&fail, up);
		return;
	}
	user->uploading = true;
	index_blob_op_link(svc->blob, &up->op);
	Stratus__BlobPutRequest req = STRATUS__BLOB_PUT_REQUEST__INIT;
	req.chain = STRATUS__BLOB_CHAIN__CHAIN_INDEX;
	req.user = user->name;
	req.key = (char *)INDEX_BUNDLE_KEY;
	req.compressed = true;	/* its sections are deflated */
	rpc_client_call(svc->blob->client, svc->blob->m_put, NULL, &req.base,
			&fd, 1, INDEX_BLOB_TIMEOUT_MS, index_upload_done, up);
	close(fd);
}

/* ---- load ---- */

struct index_fetch {
	struct index_blob_op op;
	struct index_service *svc;
	int local;
};

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
	if (index_blob_read_fd(reply->fds[0], INDEX_STATE_MAX, &data, &len) < 0) {
		status = STRATUS__STATUS__STATUS_TEMPFAIL;
		error = "cannot read the downloaded bundle";
		goto done;
	}
	f->svc->n_downloads++;
	Stratus__Indexfile__State *st = index_bundle_decode(data, len, &error);
	if (st == NULL) {
		free(data);
		log_error(&lctx, "index bundle unusable (%s); keeping %s",
			  error, f->local == 1 ? "the local index" :
			  "what the objects say");
		error = NULL;
		if (f->local != 1 && f->svc->set.rebuild_from_objects)
			goto rebuild;
		goto done;
	}
	if (f->local != 1 || st->generation > user->generation) {
		const char *rerr = NULL;
		uint64_t old = index_user_disk_bytes(user);
		if (index_user_replace_state(user, st, data, len, &rerr) < 0) {
			log_error(&lctx, "index bundle rejected: %s", rerr);
			index_user_clear_state(user);
		} else {
			log_info(&lctx, "index loaded from bundle generation "
				 "%llu", (unsigned long long)st->generation);
		}
		f->svc->total_bytes += index_user_disk_bytes(user);
		f->svc->total_bytes -= old;
	}
	stratus__indexfile__state__free_unpacked(st, NULL);
	free(data);
done:
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
		index_user_load_done(user, 0, NULL);
		return;
	}
	struct index_fetch *f = xcalloc(1, sizeof(*f));
	f->svc = svc;
	f->op.user = xstrdup(user->name);
	f->local = local;
	index_blob_op_link(svc->blob, &f->op);
	Stratus__BlobGetRequest req = STRATUS__BLOB_GET_REQUEST__INIT;
	req.chain = STRATUS__BLOB_CHAIN__CHAIN_INDEX;
	req.user = user->name;
	req.key = (char *)INDEX_BUNDLE_KEY;
	rpc_client_call(svc->blob->client, svc->blob->m_get, NULL, &req.base,
			NULL, 0, INDEX_BLOB_TIMEOUT_MS, index_fetch_done, f);
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
